use super::*;

#[test]
fn listen_defaults_to_loopback_on_the_sticky_port() {
    assert_eq!(
        listen_addr(None, Some(41234)),
        "127.0.0.1:41234".parse().unwrap()
    );
    assert_eq!(listen_addr(None, None), "127.0.0.1:0".parse().unwrap());
    let explicit: SocketAddr = "0.0.0.0:9000".parse().unwrap();
    assert_eq!(listen_addr(Some(explicit), Some(41234)), explicit);
}

#[test]
fn an_unspecified_address_is_reached_on_loopback() {
    assert_eq!(
        display_addr("0.0.0.0:9000".parse().unwrap()),
        "127.0.0.1:9000".parse().unwrap()
    );
    assert_eq!(
        display_addr("[::]:9000".parse().unwrap()),
        "[::1]:9000".parse().unwrap()
    );
    let lan: SocketAddr = "192.168.1.5:9000".parse().unwrap();
    assert_eq!(display_addr(lan), lan);
}

#[test]
fn a_taken_port_names_the_port_and_its_holder() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    let err = bind_tcp(addr, true).unwrap_err();
    assert_eq!(err.status, crate::error::ExitStatus::Runtime);
    assert!(
        err.message
            .starts_with(&format!("port {} is already in use", addr.port())),
        "{}",
        err.message
    );
    #[cfg(target_os = "linux")]
    assert!(
        err.message
            .contains(&format!("by process {}", std::process::id())),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().contains("client configs stay valid"));
}

#[test]
fn target_args_are_passed_on_with_absolute_paths() {
    let args = TargetArgs {
        compose_file: Some("compose.yaml".into()),
        profile: Some("dev".into()),
        project: Some("mcp-dev".into()),
    };
    let args: Vec<String> = args
        .to_args()
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(args[0], "-f");
    assert!(Path::new(&args[1]).is_absolute() && args[1].ends_with("compose.yaml"));
    assert_eq!(args[2..], ["--profile", "dev", "-p", "mcp-dev"]);
}

#[test]
fn the_log_tail_keeps_the_last_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gateway.log");
    let text: String = (1..=40).map(|n| format!("line {n}\n")).collect();
    std::fs::write(&log, text).unwrap();
    let tail = log_tail(&log);
    assert!(
        tail.contains("line 40") && tail.contains("line 26"),
        "{tail}"
    );
    assert!(!tail.contains("line 25\n"), "{tail}");
    std::fs::write(&log, "").unwrap();
    assert!(log_tail(&log).contains("is empty"));
}

#[test]
fn stopping_a_project_without_a_gateway_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigDir::resolve(Some(dir.path().to_path_buf()));
    assert_eq!(stop(&config, "mcp-none").unwrap(), Stopped::NotRunning);
    // A stale state (its socket does not answer) is cleaned, and its pid
    // (here: ours) is never signalled.
    let stale = GatewayState {
        pid: std::process::id(),
        project: "mcp-stale".into(),
        listen: "127.0.0.1:1".into(),
        url: "http://127.0.0.1:1".into(),
        socket: dir.path().join("none.sock"),
        token_file: dir.path().join("token"),
        compose_file: dir.path().join("compose.yaml"),
        started_at: 0,
        version: "0".into(),
    };
    state::write(&config, &stale).unwrap();
    assert_eq!(stop(&config, "mcp-stale").unwrap(), Stopped::NotRunning);
    assert_eq!(state::read(&config, "mcp-stale"), None);
}
