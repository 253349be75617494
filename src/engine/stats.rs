//! `stats`: what `docker stats` shows (CPU %, memory without page cache,
//! network and block I/O, pids) for a project's containers, read from the
//! engine's stats API with the docker CLI's formulas, and `--alert`
//! thresholds checked against it.
//!
//! [`snapshot`] reads every running container once, concurrently (the engine
//! takes two samples a second apart so CPU % has a delta); [`watch`] keeps one
//! stats stream open per running container, follows containers that appear
//! or go away, and hands the caller a [`StatsReport`] per tick. The formulas
//! ([`measure`]) are pure and unit-tested with the engine's JSON.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptions;
use futures_util::StreamExt;
use futures_util::future::join_all;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

use super::connect::{Engine, describe, is_not_found};
use super::observe::{self, ContainerState, ObservedContainer};

/// What one container uses, or only its state when it is not running.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerStats {
    pub service: String,
    pub container: String,
    pub id: String,
    /// The engine's state: `running`, `paused`, `exited`, `created`, …
    pub state: String,
    /// Whether numbers are due (running or paused); the fields below are
    /// `null` when not, and also for a running container whose first sample
    /// has not arrived yet while streaming.
    pub running: bool,
    pub cpu_percent: Option<f64>,
    pub memory: Option<Memory>,
    pub network: Option<NetworkIo>,
    pub block_io: Option<BlockIo>,
    pub pids: Option<Pids>,
}

/// Memory in use without the page cache the kernel can drop, as `docker
/// stats` counts it, against the container's limit (the host's memory when
/// it has none).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Memory {
    pub used_bytes: u64,
    pub limit_bytes: u64,
    /// `null` when the engine reports no limit at all.
    pub percent: Option<f64>,
}

/// Bytes received and sent, summed over the container's interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NetworkIo {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// Bytes read from and written to block devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BlockIo {
    pub read_bytes: u64,
    pub write_bytes: u64,
}

/// Processes (threads included) against the container's `pids_limit`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pids {
    pub current: u64,
    /// `null` when unlimited.
    pub limit: Option<u64>,
    pub percent: Option<f64>,
}

/// The numbers of one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub cpu_percent: Option<f64>,
    pub memory: Memory,
    pub network: NetworkIo,
    pub block_io: BlockIo,
    pub pids: Pids,
}

/// The report of one read (or one tick of a watch), with a stable JSON schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    pub project: String,
    /// Sorted by service, then container name.
    pub containers: Vec<ContainerStats>,
    /// Thresholds crossed in this report (empty without `--alert`).
    pub alerts: Vec<Alert>,
}

/// Computes what `docker stats` shows from one sample of the stats API.
/// `None` when the sample holds no numbers (the engine's answer for a
/// container that is not running).
pub fn measure(sample: &ContainerStatsResponse) -> Option<Measured> {
    let memory_stats = sample.memory_stats.as_ref()?;
    let usage = memory_stats.usage?;
    sample.cpu_stats.as_ref()?;
    let used = memory_used(usage, memory_stats.stats.as_ref());
    let limit = memory_stats.limit.unwrap_or(0);
    let memory = Memory {
        used_bytes: used,
        limit_bytes: limit,
        percent: percent_of(used, limit),
    };
    let network = sample
        .networks
        .iter()
        .flat_map(|networks| networks.values())
        .fold(
            NetworkIo {
                rx_bytes: 0,
                tx_bytes: 0,
            },
            |sum, n| NetworkIo {
                rx_bytes: sum.rx_bytes.saturating_add(n.rx_bytes.unwrap_or(0)),
                tx_bytes: sum.tx_bytes.saturating_add(n.tx_bytes.unwrap_or(0)),
            },
        );
    let mut block_io = BlockIo {
        read_bytes: 0,
        write_bytes: 0,
    };
    for entry in sample
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref())
        .into_iter()
        .flatten()
    {
        let value = entry.value.unwrap_or(0);
        match entry.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => block_io.read_bytes = block_io.read_bytes.saturating_add(value),
            Some("write") => block_io.write_bytes = block_io.write_bytes.saturating_add(value),
            _ => {}
        }
    }
    let pids_stats = sample.pids_stats.as_ref();
    let current = pids_stats.and_then(|p| p.current).unwrap_or(0);
    // The engine leaves `limit` out when there is none; cgroup v2's "max"
    // can also come through as 0 or as the largest u64.
    let limit = pids_stats
        .and_then(|p| p.limit)
        .filter(|&l| l > 0 && l < u64::MAX);
    let pids = Pids {
        current,
        limit,
        percent: limit.and_then(|l| percent_of(current, l)),
    };
    Some(Measured {
        cpu_percent: cpu_percent(sample),
        memory,
        network,
        block_io,
        pids,
    })
}

/// Memory used without the inactive page cache: cgroup v1 reports it as
/// `total_inactive_file`, v2 as `inactive_file`; usage as is when neither
/// is there (or it is not below the usage).
fn memory_used(usage: u64, stats: Option<&HashMap<String, u64>>) -> u64 {
    let stats = match stats {
        Some(stats) => stats,
        None => return usage,
    };
    if let Some(&inactive) = stats.get("total_inactive_file") {
        if inactive < usage {
            return usage - inactive;
        }
    } else if let Some(&inactive) = stats.get("inactive_file")
        && inactive < usage
    {
        return usage - inactive;
    }
    usage
}

/// The container's share of the host's CPU time between the previous sample
/// (`precpu_stats`) and this one, times the online CPUs: 100 % is one CPU
/// busy. `None` without a previous sample (the first frame of a stream),
/// where the delta would be the container's whole life.
fn cpu_percent(sample: &ContainerStatsResponse) -> Option<f64> {
    let now = sample.cpu_stats.as_ref()?;
    let before = sample.precpu_stats.as_ref()?;
    let before_system = before.system_cpu_usage.filter(|&s| s > 0)?;
    let total = |stats: &bollard::models::ContainerCpuStats| {
        stats
            .cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0) as f64
    };
    let cpu_delta = total(now) - total(before);
    let system_delta = now.system_cpu_usage.unwrap_or(0) as f64 - before_system as f64;
    let online = match now.online_cpus.filter(|&n| n > 0) {
        Some(n) => f64::from(n),
        None => now
            .cpu_usage
            .as_ref()
            .and_then(|u| u.percpu_usage.as_ref())
            .map_or(0, Vec::len) as f64,
    };
    Some(if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    })
}

fn percent_of(value: u64, limit: u64) -> Option<f64> {
    (limit > 0).then(|| value as f64 / limit as f64 * 100.0)
}

impl ContainerStats {
    /// The row of `container` with the numbers of `measured`, when any.
    pub fn new(container: &ObservedContainer, measured: Option<&Measured>) -> Self {
        Self {
            service: container.service.clone(),
            container: container.name.clone(),
            id: container.id.clone(),
            state: container.state.as_str().to_string(),
            running: is_measurable(container.state),
            cpu_percent: measured.and_then(|m| m.cpu_percent),
            memory: measured.map(|m| m.memory),
            network: measured.map(|m| m.network),
            block_io: measured.map(|m| m.block_io),
            pids: measured.map(|m| m.pids),
        }
    }
}

/// Whether the engine has numbers for a container in `state`.
fn is_measurable(state: ContainerState) -> bool {
    matches!(state, ContainerState::Running | ContainerState::Paused)
}

/// The project's containers, only those of `services` when some are named.
/// A named service with no container is an error (exit 2) naming the
/// services the project has: `known` when the compose file lists them
/// (a service of the file that is not deployed yet is named as such), else
/// the engine's.
pub async fn containers(
    engine: &Engine,
    project: &str,
    services: &[String],
    known: Option<&[String]>,
) -> Result<Vec<ObservedContainer>> {
    let by_service = observe::containers(engine, project).await?;
    for name in services {
        if by_service.contains_key(name) {
            continue;
        }
        if known.is_some_and(|known| known.contains(name)) {
            return Err(Error::invalid(format!(
                "`{name}` has no container in project `{project}`"
            ))
            .hint(format!("deploy it first: mcpm docker deploy {name}")));
        }
        let names: BTreeSet<&str> = match known {
            Some(known) => known.iter().map(String::as_str).collect(),
            None => by_service.keys().map(String::as_str).collect(),
        };
        let listed = if names.is_empty() {
            "none".to_string()
        } else {
            names.into_iter().collect::<Vec<_>>().join(", ")
        };
        return Err(
            Error::invalid(format!("no service `{name}` in project `{project}`"))
                .hint(format!("services there: {listed}")),
        );
    }
    Ok(selected(by_service, services))
}

fn selected(
    by_service: BTreeMap<String, Vec<ObservedContainer>>,
    services: &[String],
) -> Vec<ObservedContainer> {
    by_service
        .into_iter()
        .filter(|(service, _)| services.is_empty() || services.contains(service))
        .flat_map(|(_, list)| list)
        .collect()
}

/// Reads every running one of `containers` once, concurrently. The engine
/// answers after its second sample (about a second) so CPU % has a delta.
pub async fn read_all(
    engine: &Engine,
    containers: &[ObservedContainer],
) -> Result<Vec<ContainerStats>> {
    let reads = containers.iter().map(|container| async move {
        if !is_measurable(container.state) {
            return Ok(ContainerStats::new(container, None));
        }
        let measured = read_once(engine, &container.id).await.map_err(|err| {
            Error::runtime(format!(
                "cannot read the stats of {}: {}",
                container.name,
                describe(&err)
            ))
        });
        match measured {
            Ok(Some(measured)) => Ok(ContainerStats::new(container, Some(&measured))),
            // Stopped or removed between the listing and the read.
            Ok(None) => Ok(stopped_meanwhile(container)),
            Err(_) if gone(engine, &container.id).await => Ok(stopped_meanwhile(container)),
            Err(err) => Err(err),
        }
    });
    join_all(reads).await.into_iter().collect()
}

async fn read_once(
    engine: &Engine,
    id: &str,
) -> std::result::Result<Option<Measured>, bollard::errors::Error> {
    // stream=false without one-shot: the engine waits for a second sample,
    // so `precpu_stats` is filled and CPU % is the last second's.
    let options = StatsOptions {
        stream: false,
        one_shot: false,
    };
    let mut stream = engine.docker.stats(id, Some(options));
    match stream.next().await {
        Some(Ok(sample)) => Ok(measure(&sample)),
        Some(Err(err)) => Err(err),
        None => Ok(None),
    }
}

/// Whether `id` no longer exists or no longer runs.
async fn gone(engine: &Engine, id: &str) -> bool {
    match engine.docker.inspect_container(id, None).await {
        Ok(details) => !details.state.and_then(|s| s.running).unwrap_or(false),
        Err(err) => is_not_found(&err),
    }
}

fn stopped_meanwhile(container: &ObservedContainer) -> ContainerStats {
    let mut row = ContainerStats::new(container, None);
    row.state = "exited".into();
    row.running = false;
    row
}

/// What a read or a watch looks at.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    pub project: &'a str,
    /// Only these services; all when empty.
    pub services: &'a [String],
    /// The services of the compose file, when it was read (for the error on
    /// a service that has no container).
    pub known: Option<&'a [String]>,
    pub thresholds: &'a Thresholds,
}

/// Reads the stats of the selected containers once.
pub async fn snapshot(engine: &Engine, selection: Selection<'_>) -> Result<StatsReport> {
    let list = containers(
        engine,
        selection.project,
        selection.services,
        selection.known,
    )
    .await?;
    let rows = read_all(engine, &list).await?;
    Ok(report(selection.project, rows, selection.thresholds))
}

fn report(project: &str, mut rows: Vec<ContainerStats>, thresholds: &Thresholds) -> StatsReport {
    rows.sort_by(|a, b| (&a.service, &a.container).cmp(&(&b.service, &b.container)));
    let alerts = thresholds.check(&rows);
    StatsReport {
        project: project.to_string(),
        containers: rows,
        alerts,
    }
}

/// How long the first reports of a watch wait for every running container's
/// first sample.
const FIRST_SAMPLES: Duration = Duration::from_secs(4);

/// What a container's stream task reports.
enum Frame {
    Sample(String, Measured),
    /// The stream ended or failed (the container stopped or went away); the
    /// next listing decides what the container is now.
    Ended(String),
}

/// Streams the stats of the selected containers: one stats stream
/// per running container, read concurrently; the container list is read
/// again each `interval`, so containers that start, stop or appear are
/// followed. `emit` gets a report per `interval` once a sample arrived; the
/// watch ends when `stop` resolves (Ctrl-C) or `emit` fails.
pub async fn watch(
    engine: &Engine,
    selection: Selection<'_>,
    interval: Duration,
    stop: impl Future<Output = ()>,
    mut emit: impl FnMut(&StatsReport) -> Result<()>,
) -> Result<()> {
    let Selection {
        project,
        services,
        known,
        thresholds,
    } = selection;
    // The names are checked once, at the start; a service whose containers
    // go away later is shown as gone, not an error.
    let mut list = containers(engine, project, services, known).await?;
    let (sender, mut frames) = mpsc::unbounded_channel::<Frame>();
    let mut streams: HashMap<String, JoinHandle<()>> = HashMap::new();
    let mut latest: HashMap<String, Measured> = HashMap::new();
    // Streams that ended since the last listing: reopened only once a new
    // listing still shows the container running, not in a tight loop.
    let mut ended: BTreeSet<String> = BTreeSet::new();
    let started = std::time::Instant::now();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    let result = loop {
        follow(engine, &list, &ended, &mut streams, &mut latest, &sender);
        tokio::select! {
            () = &mut stop => break Ok(()),
            Some(frame) = frames.recv() => match frame {
                Frame::Sample(id, measured) => {
                    latest.insert(id, measured);
                }
                Frame::Ended(id) => {
                    latest.remove(&id);
                    ended.insert(id);
                }
            },
            _ = ticker.tick() => {
                let rows: Vec<ContainerStats> = list
                    .iter()
                    .map(|c| ContainerStats::new(c, latest.get(&c.id)))
                    .collect();
                // A stream's first sample comes a second or two after it
                // opens: the first reports wait for them (a while at most)
                // rather than show every container without numbers.
                let waiting = rows.iter().any(|r| r.running && r.memory.is_none());
                if (!waiting || started.elapsed() >= FIRST_SAMPLES)
                    && let Err(err) = emit(&report(project, rows, thresholds))
                {
                    break Err(err);
                }
                match observe::containers(engine, project).await {
                    Ok(by_service) => {
                        list = selected(by_service, services);
                        ended.clear();
                    }
                    Err(err) => break Err(err),
                }
            }
        }
    };
    for (_, task) in streams {
        task.abort();
    }
    result
}

/// Opens a stream for each running container that has none (or whose stream
/// ended before the last listing) and closes the streams of containers no
/// longer running.
fn follow(
    engine: &Engine,
    list: &[ObservedContainer],
    ended: &BTreeSet<String>,
    streams: &mut HashMap<String, JoinHandle<()>>,
    latest: &mut HashMap<String, Measured>,
    sender: &mpsc::UnboundedSender<Frame>,
) {
    let running: BTreeSet<&str> = list
        .iter()
        .filter(|c| is_measurable(c.state))
        .map(|c| c.id.as_str())
        .collect();
    streams.retain(|id, task| {
        let keep = running.contains(id.as_str()) && !task.is_finished();
        if !keep {
            task.abort();
        }
        keep
    });
    latest.retain(|id, _| running.contains(id.as_str()));
    for id in running {
        if streams.contains_key(id) || ended.contains(id) {
            continue;
        }
        let docker = engine.docker.clone();
        let sender = sender.clone();
        let id = id.to_string();
        let task_id = id.clone();
        let task = tokio::spawn(async move {
            let options = StatsOptions {
                stream: true,
                one_shot: false,
            };
            let mut stream = docker.stats(&task_id, Some(options));
            while let Some(Ok(sample)) = stream.next().await {
                // The first frame of a stream has no previous sample: its
                // CPU % would be meaningless, and the next comes in a second.
                let Some(measured) = measure(&sample).filter(|m| m.cpu_percent.is_some()) else {
                    continue;
                };
                if sender
                    .send(Frame::Sample(task_id.clone(), measured))
                    .is_err()
                {
                    return;
                }
            }
            let _ = sender.send(Frame::Ended(task_id));
        });
        streams.insert(id, task);
    }
}

/// A monitored metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Memory used, % of the limit.
    Memory,
    /// CPU %, 100 per busy CPU.
    Cpu,
    /// Processes, % of the pids limit.
    Pids,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Cpu => "cpu",
            Self::Pids => "pids",
        }
    }
}

/// `--alert memory=90%,cpu=80%,pids=90%`: percentages a metric must not reach.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Thresholds {
    pub memory: Option<f64>,
    pub cpu: Option<f64>,
    pub pids: Option<f64>,
}

/// A threshold a container reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub service: String,
    pub container: String,
    pub metric: Metric,
    /// The metric's value, in %.
    pub value: f64,
    /// The threshold, in %.
    pub threshold: f64,
}

impl Alert {
    /// `p-a-1: memory 93.10% >= 90%`.
    pub fn describe(&self) -> String {
        format!(
            "{}: {} {:.2}% >= {}%",
            self.container,
            self.metric.as_str(),
            self.value,
            self.threshold
        )
    }
}

impl Thresholds {
    /// Parses `memory=90%,cpu=80%,pids=90%` (any of the three, each once;
    /// the `%` may be left out). Memory and pids are shares of a limit, so
    /// at most 100; CPU may exceed 100 on a host with several CPUs.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut thresholds = Self::default();
        let form =
            "write METRIC=PERCENT[,…] with METRIC memory, cpu or pids, e.g. memory=90%,cpu=80%";
        if text.trim().is_empty() {
            return Err(format!("--alert is empty: {form}"));
        }
        for part in text.split(',') {
            let part = part.trim();
            let Some((name, value)) = part.split_once('=') else {
                return Err(format!("`{part}` in --alert has no `=`: {form}"));
            };
            let (metric, slot) = match name.trim().to_ascii_lowercase().as_str() {
                "memory" | "mem" => (Metric::Memory, &mut thresholds.memory),
                "cpu" => (Metric::Cpu, &mut thresholds.cpu),
                "pids" => (Metric::Pids, &mut thresholds.pids),
                other => {
                    return Err(format!("unknown metric `{other}` in --alert: {form}"));
                }
            };
            let number = value.trim().trim_end_matches('%').trim();
            let percent: f64 = number
                .parse()
                .ok()
                .filter(|p: &f64| p.is_finite())
                .ok_or_else(|| {
                    format!(
                        "`{}` in --alert is not a percentage (write e.g. {}=90%)",
                        value.trim(),
                        metric.as_str()
                    )
                })?;
            let in_range = match metric {
                Metric::Cpu => percent > 0.0,
                Metric::Memory | Metric::Pids => percent > 0.0 && percent <= 100.0,
            };
            if !in_range {
                let range = match metric {
                    Metric::Cpu => "above 0%",
                    Metric::Memory | Metric::Pids => {
                        "above 0% and at most 100% (a share of the limit)"
                    }
                };
                return Err(format!(
                    "{}={percent}% in --alert is out of range: write a value {range}",
                    metric.as_str()
                ));
            }
            if slot.replace(percent).is_some() {
                return Err(format!("{} is given twice in --alert", metric.as_str()));
            }
        }
        Ok(thresholds)
    }

    pub fn is_empty(&self) -> bool {
        self.memory.is_none() && self.cpu.is_none() && self.pids.is_none()
    }

    /// The thresholds `rows` reach (value >= threshold), in row order. A
    /// container without the number (not running, pids unlimited) reaches
    /// nothing.
    pub fn check(&self, rows: &[ContainerStats]) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for row in rows {
            let values = [
                (
                    Metric::Memory,
                    self.memory,
                    row.memory.and_then(|m| m.percent),
                ),
                (Metric::Cpu, self.cpu, row.cpu_percent),
                (Metric::Pids, self.pids, row.pids.and_then(|p| p.percent)),
            ];
            for (metric, threshold, value) in values {
                if let (Some(threshold), Some(value)) = (threshold, value)
                    && value >= threshold
                {
                    alerts.push(Alert {
                        service: row.service.clone(),
                        container: row.container.clone(),
                        metric,
                        value,
                        threshold,
                    });
                }
            }
        }
        alerts
    }
}

/// Which thresholds are crossed right now, so a watch reports each crossing
/// once: an alert is new when its container and metric were below the
/// threshold in the previous report.
#[derive(Debug, Default)]
pub struct Crossings {
    active: BTreeSet<(String, Metric)>,
}

impl Crossings {
    /// The alerts of `report` that were not active in the previous one.
    pub fn update<'a>(&mut self, report: &'a StatsReport) -> Vec<&'a Alert> {
        let now: BTreeSet<(String, Metric)> = report
            .alerts
            .iter()
            .map(|a| (a.container.clone(), a.metric))
            .collect();
        let fresh = report
            .alerts
            .iter()
            .filter(|a| !self.active.contains(&(a.container.clone(), a.metric)))
            .collect();
        self.active = now;
        fresh
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
