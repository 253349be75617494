//! The `docker stats` formulas on samples shaped like the engine's JSON
//! (cgroup v1 as Docker 20.10 here sends it, and cgroup v2), and `--alert`.
use super::*;
use serde_json::json;

/// A cgroup v1 sample: 2 CPUs, 64 MiB limit, 3 MiB used of which 1 MiB is
/// inactive page cache, two interfaces, a block device, 3 of 50 pids.
fn v1_sample() -> serde_json::Value {
    json!({
        "read": "2026-11-29T15:45:31.517929288Z",
        "preread": "2026-11-29T15:45:30.51439748Z",
        "pids_stats": {"current": 3, "limit": 50},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 8, "minor": 0, "op": "Read", "value": 4096},
            {"major": 8, "minor": 0, "op": "Write", "value": 1000},
            {"major": 8, "minor": 0, "op": "Sync", "value": 5096},
            {"major": 8, "minor": 0, "op": "Total", "value": 5096},
            {"major": 8, "minor": 16, "op": "read", "value": 4}
        ]},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": {
            "cpu_usage": {"total_usage": 3_000_000_000u64, "percpu_usage": [1, 2],
                          "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "system_cpu_usage": 120_000_000_000u64,
            "online_cpus": 2,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}
        },
        "precpu_stats": {
            "cpu_usage": {"total_usage": 2_500_000_000u64, "percpu_usage": [1, 2],
                          "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "system_cpu_usage": 118_000_000_000u64,
            "online_cpus": 2,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}
        },
        "memory_stats": {
            "usage": 3 * 1024 * 1024,
            "max_usage": 4 * 1024 * 1024,
            "stats": {
                "cache": 1024 * 1024,
                "inactive_file": 2 * 1024 * 1024,
                "total_inactive_file": 1024 * 1024,
                "hierarchical_memory_limit": 64 * 1024 * 1024
            },
            "limit": 64 * 1024 * 1024
        },
        "name": "/p-a-1",
        "id": "abc",
        "networks": {
            "eth0": {"rx_bytes": 1000, "rx_packets": 1, "rx_errors": 0, "rx_dropped": 0,
                     "tx_bytes": 200, "tx_packets": 1, "tx_errors": 0, "tx_dropped": 0},
            "eth1": {"rx_bytes": 24, "rx_packets": 1, "rx_errors": 0, "rx_dropped": 0,
                     "tx_bytes": 6, "tx_packets": 1, "tx_errors": 0, "tx_dropped": 0}
        }
    })
}

fn parse(value: serde_json::Value) -> ContainerStatsResponse {
    serde_json::from_value(value).expect("the engine's stats JSON parses")
}

fn measured(value: serde_json::Value) -> Measured {
    measure(&parse(value)).expect("a running container's sample has numbers")
}

#[test]
fn cgroup_v1_sample() {
    let m = measured(v1_sample());
    // (0.5e9 / 2e9) * 2 CPUs * 100
    assert!((m.cpu_percent.unwrap() - 50.0).abs() < 1e-9, "{m:?}");
    // total_inactive_file (v1) wins over inactive_file.
    assert_eq!(m.memory.used_bytes, 2 * 1024 * 1024);
    assert_eq!(m.memory.limit_bytes, 64 * 1024 * 1024);
    assert!((m.memory.percent.unwrap() - 3.125).abs() < 1e-9);
    assert_eq!(
        m.network,
        NetworkIo {
            rx_bytes: 1024,
            tx_bytes: 206
        }
    );
    // Read and Write entries of every device, whatever their case; Sync
    // and Total are not counted again.
    assert_eq!(
        m.block_io,
        BlockIo {
            read_bytes: 4100,
            write_bytes: 1000
        }
    );
    assert_eq!(m.pids.current, 3);
    assert_eq!(m.pids.limit, Some(50));
    assert!((m.pids.percent.unwrap() - 6.0).abs() < 1e-9);
}

#[test]
fn cgroup_v2_sample() {
    let mut sample = v1_sample();
    sample["memory_stats"]["stats"] = json!({
        "anon": 1024 * 1024,
        "file": 3 * 1024 * 1024,
        "inactive_file": 512 * 1024,
        "active_file": 0
    });
    // v2 has no per-CPU list; online_cpus says how many.
    sample["cpu_stats"]["cpu_usage"]
        .as_object_mut()
        .unwrap()
        .remove("percpu_usage");
    let m = measured(sample);
    assert_eq!(m.memory.used_bytes, 3 * 1024 * 1024 - 512 * 1024);
    assert!((m.cpu_percent.unwrap() - 50.0).abs() < 1e-9);
}

#[test]
fn page_cache_above_usage_is_not_subtracted() {
    let mut sample = v1_sample();
    sample["memory_stats"]["stats"]["total_inactive_file"] = json!(10 * 1024 * 1024);
    assert_eq!(measured(sample).memory.used_bytes, 3 * 1024 * 1024);
    let mut sample = v1_sample();
    sample["memory_stats"]
        .as_object_mut()
        .unwrap()
        .remove("stats");
    assert_eq!(measured(sample).memory.used_bytes, 3 * 1024 * 1024);
}

#[test]
fn online_cpus_missing_counts_the_per_cpu_list() {
    let mut sample = v1_sample();
    sample["cpu_stats"]
        .as_object_mut()
        .unwrap()
        .remove("online_cpus");
    sample["cpu_stats"]["cpu_usage"]["percpu_usage"] = json!([1, 2, 3, 4]);
    // (0.5e9 / 2e9) * 4 * 100
    assert!((measured(sample).cpu_percent.unwrap() - 100.0).abs() < 1e-9);
}

#[test]
fn cpu_needs_a_previous_sample_and_a_positive_delta() {
    // The first frame of a stream: precpu is empty.
    let mut sample = v1_sample();
    sample["precpu_stats"] = json!({"cpu_usage": {"total_usage": 0}, "throttling_data": {}});
    assert_eq!(measured(sample).cpu_percent, None);
    // An idle container: no CPU time spent, 0 %.
    let mut sample = v1_sample();
    sample["precpu_stats"]["cpu_usage"]["total_usage"] = json!(3_000_000_000u64);
    assert_eq!(measured(sample).cpu_percent, Some(0.0));
}

#[test]
fn unlimited_pids_and_no_network() {
    let mut sample = v1_sample();
    sample["pids_stats"] = json!({"current": 1});
    sample.as_object_mut().unwrap().remove("networks");
    let m = measured(sample);
    assert_eq!(
        (m.pids.current, m.pids.limit, m.pids.percent),
        (1, None, None)
    );
    assert_eq!(
        m.network,
        NetworkIo {
            rx_bytes: 0,
            tx_bytes: 0
        }
    );
    let mut sample = v1_sample();
    sample["pids_stats"] = json!({"current": 1, "limit": u64::MAX});
    assert_eq!(measured(sample).pids.limit, None);
}

/// What the engine sends for a container that is not running.
#[test]
fn a_stopped_containers_sample_has_no_numbers() {
    let sample = json!({
        "read": "0001-01-01T00:00:00Z",
        "preread": "0001-01-01T00:00:00Z",
        "pids_stats": {},
        "blkio_stats": {},
        "cpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
        "precpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
        "memory_stats": {},
        "name": "/p-a-1",
        "id": "abc"
    });
    assert_eq!(measure(&parse(sample)), None);
}

fn container(service: &str, state: ContainerState) -> ObservedContainer {
    ObservedContainer {
        id: format!("id-{service}"),
        name: format!("p-{service}-1"),
        service: service.into(),
        server: service.into(),
        number: 1,
        state,
        health: None,
        image: "img".into(),
        image_id: None,
        config_hash: None,
        mcpm_hash: None,
        inherited_volumes: vec![],
        networks: Default::default(),
        ports: vec![],
    }
}

#[test]
fn rows_and_the_json_schema() {
    let m = measured(v1_sample());
    let running = ContainerStats::new(&container("a", ContainerState::Running), Some(&m));
    let exited = ContainerStats::new(&container("b", ContainerState::Exited), None);
    let report = report("p", vec![exited, running], &Thresholds::default());
    assert_eq!(report.containers[0].service, "a", "sorted by service");
    let json = serde_json::to_value(&report).unwrap();
    let a = &json["containers"][0];
    assert_eq!(a["running"], true);
    assert_eq!(a["memory"]["used_bytes"], 2 * 1024 * 1024);
    assert_eq!(a["memory"]["limit_bytes"], 64 * 1024 * 1024);
    assert_eq!(a["network"]["rx_bytes"], 1024);
    assert_eq!(a["block_io"]["write_bytes"], 1000);
    assert_eq!(a["pids"]["limit"], 50);
    let b = &json["containers"][1];
    assert_eq!(
        (b["state"].as_str(), b["running"].as_bool()),
        (Some("exited"), Some(false))
    );
    for field in ["cpu_percent", "memory", "network", "block_io", "pids"] {
        assert!(b[field].is_null(), "{field}: {b}");
    }
    assert_eq!(json["alerts"], json!([]));
}

#[test]
fn alert_syntax() {
    let t = Thresholds::parse("memory=90%,cpu=80%,pids=90%").unwrap();
    assert_eq!(
        t,
        Thresholds {
            memory: Some(90.0),
            cpu: Some(80.0),
            pids: Some(90.0)
        }
    );
    let t = Thresholds::parse(" CPU = 150 , mem=12.5% ").unwrap();
    assert_eq!((t.cpu, t.memory, t.pids), (Some(150.0), Some(12.5), None));
    let error = |text: &str| Thresholds::parse(text).unwrap_err();
    assert!(error("").contains("empty"), "{}", error(""));
    assert!(error("memory").contains("no `=`"), "{}", error("memory"));
    assert!(error("disk=50%").contains("unknown metric `disk`"));
    assert!(error("memory=lots").contains("not a percentage"));
    assert!(error("memory=").contains("not a percentage"));
    assert!(error("memory=NaN%").contains("not a percentage"));
    assert!(error("memory=120%").contains("at most 100%"));
    assert!(error("pids=0").contains("out of range"));
    assert!(error("cpu=-5%").contains("above 0%"));
    assert!(error("cpu=10%,cpu=20%").contains("twice"));
    assert!(error("memory=90%,").contains("no `=`"));
}

#[test]
fn alerts_are_reached_at_the_threshold_and_need_the_number() {
    let m = measured(v1_sample()); // cpu 50 %, memory 3.125 %, pids 6 %
    let mut unlimited = m;
    unlimited.pids.limit = None;
    unlimited.pids.percent = None;
    let rows = vec![
        ContainerStats::new(&container("a", ContainerState::Running), Some(&m)),
        ContainerStats::new(&container("b", ContainerState::Running), Some(&unlimited)),
        ContainerStats::new(&container("c", ContainerState::Exited), None),
    ];
    let t = Thresholds::parse("cpu=50%,memory=3.2%,pids=6%").unwrap();
    let alerts = t.check(&rows);
    let got: Vec<(&str, Metric)> = alerts
        .iter()
        .map(|a| (a.container.as_str(), a.metric))
        .collect();
    assert_eq!(
        got,
        [
            ("p-a-1", Metric::Cpu),
            ("p-a-1", Metric::Pids),
            ("p-b-1", Metric::Cpu)
        ]
    );
    assert_eq!(alerts[0].describe(), "p-a-1: cpu 50.00% >= 50%");
    let json = serde_json::to_value(&alerts[1]).unwrap();
    assert_eq!(json["metric"], "pids");
    assert_eq!(json["threshold"], 6.0);
    assert!(Thresholds::default().check(&rows).is_empty());
}

#[test]
fn a_crossing_is_reported_once_until_it_clears() {
    let m = measured(v1_sample());
    let rows = |cpu: f64| {
        let mut m = m;
        m.cpu_percent = Some(cpu);
        vec![ContainerStats::new(
            &container("a", ContainerState::Running),
            Some(&m),
        )]
    };
    let t = Thresholds::parse("cpu=80").unwrap();
    let mut crossings = Crossings::default();
    let fresh = |c: &mut Crossings, cpu| c.update(&report("p", rows(cpu), &t)).len();
    assert_eq!(fresh(&mut crossings, 10.0), 0);
    assert_eq!(fresh(&mut crossings, 90.0), 1, "crossed");
    assert_eq!(
        fresh(&mut crossings, 95.0),
        0,
        "still crossed: said already"
    );
    assert_eq!(fresh(&mut crossings, 20.0), 0, "cleared");
    assert_eq!(fresh(&mut crossings, 85.0), 1, "crossed again");
}
