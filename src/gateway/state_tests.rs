use std::os::unix::fs::PermissionsExt;

use super::*;

fn config() -> (tempfile::TempDir, ConfigDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigDir::resolve(Some(dir.path().join("config")));
    (dir, config)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn sample(config: &ConfigDir, pid: u32, socket: PathBuf) -> GatewayState {
    GatewayState {
        pid,
        project: "mcp-dev".into(),
        listen: "127.0.0.1:41234".into(),
        url: "http://127.0.0.1:41234".into(),
        socket,
        token_file: token_path(config),
        compose_file: "/srv/compose.yaml".into(),
        started_at: 1_800_000_000,
        version: "0.1.0".into(),
    }
}

#[test]
fn the_token_is_made_once_private_and_random() {
    let (_dir, config) = config();
    let first = token(&config).unwrap();
    assert!(is_token(&first), "{first}");
    assert_eq!(token(&config).unwrap(), first, "reused, not regenerated");
    assert_eq!(mode(&token_path(&config)), 0o600);
    assert_eq!(mode(&root(&config)), 0o700);
    let (_other_dir, other) = self::config();
    assert_ne!(
        token(&other).unwrap(),
        first,
        "each config dir gets its own"
    );
}

#[test]
fn a_damaged_token_file_is_an_error_not_a_new_token() {
    let (_dir, config) = config();
    fs::create_dir_all(root(&config)).unwrap();
    fs::write(token_path(&config), "not a token\n").unwrap();
    let err = token(&config).unwrap_err();
    assert!(err.message.contains("does not hold a gateway token"));
    assert!(err.hint.unwrap().contains("delete the file"));
    assert_eq!(
        fs::read_to_string(token_path(&config)).unwrap(),
        "not a token\n"
    );
}

#[test]
fn tokens_made_by_racing_processes_agree() {
    let (_dir, config) = config();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let config = config.clone();
            std::thread::spawn(move || token(&config).unwrap())
        })
        .collect();
    let tokens: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(tokens.windows(2).all(|w| w[0] == w[1]), "{tokens:?}");
}

#[test]
fn the_socket_lives_in_the_runtime_dir_else_a_per_user_temp_dir() {
    assert_eq!(
        socket_dir_from(Some("/run/user/1000".into())),
        PathBuf::from("/run/user/1000/mcpm")
    );
    let fallback = socket_dir_from(None);
    assert!(fallback.starts_with(std::env::temp_dir()));
    assert_eq!(
        fallback.file_name().unwrap().to_string_lossy(),
        format!("mcpm-{}", current_uid())
    );
    // A relative XDG_RUNTIME_DIR is invalid per the XDG spec: ignored.
    assert_eq!(socket_dir_from(Some("relative".into())), fallback);
}

#[test]
fn a_socket_dir_open_to_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sockets = dir.path().join("mcpm");
    private_dir(&sockets).unwrap();
    assert_eq!(mode(&sockets), 0o700);
    check_private(&sockets).unwrap();
    fs::set_permissions(&sockets, fs::Permissions::from_mode(0o755)).unwrap();
    let err = check_private(&sockets).unwrap_err();
    assert!(
        err.message.contains("is open to other users"),
        "{}",
        err.message
    );
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(dir.path(), &link).unwrap();
    let err = check_private(&link).unwrap_err();
    assert!(err.message.contains("is not a directory"));
}

#[test]
fn state_is_written_read_and_removed_only_by_its_own_gateway() {
    let (_dir, config) = config();
    assert_eq!(read(&config, "mcp-dev"), None);
    let state = sample(&config, 4242, "/nonexistent.sock".into());
    write(&config, &state).unwrap();
    assert_eq!(read(&config, "mcp-dev"), Some(state.clone()));
    assert_eq!(mode(&dir(&config, "mcp-dev")), 0o700);
    remove(&config, "mcp-dev", 4243);
    assert!(
        read(&config, "mcp-dev").is_some(),
        "another pid's state stays"
    );
    remove(&config, "mcp-dev", 4242);
    assert_eq!(read(&config, "mcp-dev"), None);
    // A torn file is no gateway.
    fs::write(state_path(&config, "mcp-dev"), "{\"pid\": 1").unwrap();
    assert_eq!(read(&config, "mcp-dev"), None);
}

#[test]
fn the_port_sticks() {
    let (_dir, config) = config();
    assert_eq!(sticky_port(&config, "mcp-dev"), None);
    record_port(&config, "mcp-dev", 41234).unwrap();
    assert_eq!(sticky_port(&config, "mcp-dev"), Some(41234));
    assert_eq!(sticky_port(&config, "other"), None);
    fs::write(dir(&config, "mcp-dev").join("port"), "garbage").unwrap();
    assert_eq!(sticky_port(&config, "mcp-dev"), None);
}

#[test]
fn liveness_needs_both_the_process_and_the_socket() {
    let (_dir, config) = config();
    let state = sample(&config, 7, "/s.sock".into());
    assert_eq!(liveness(&state, |_| true, |_| true), Liveness::Live);
    assert_eq!(liveness(&state, |_| false, |_| true), Liveness::Stale);
    assert_eq!(liveness(&state, |_| true, |_| false), Liveness::Stale);
}

#[test]
fn running_probes_the_real_pid_and_socket() {
    let (dir, config) = config();
    let socket = dir.path().join("gateway-mcp-dev.sock");
    let me = std::process::id();
    write(&config, &sample(&config, me, socket.clone())).unwrap();
    assert_eq!(running(&config, "mcp-dev"), None, "no socket: stale");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    assert_eq!(running(&config, "mcp-dev").map(|s| s.pid), Some(me));
    drop(listener);
    assert_eq!(running(&config, "mcp-dev"), None, "socket refuses: stale");

    // A pid that is certainly gone: a child we waited for.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    assert!(!pid_alive(dead));
    assert!(pid_alive(me));
    assert!(!pid_alive(0), "pid 0 would mean our process group");
    assert!(!pid_alive(u32::MAX), "-1 would mean every process");
}
