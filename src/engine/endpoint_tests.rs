//! The docker CLI's order of engine sources, on temp docker config
//! directories: no engine needed.
use super::*;

/// A docker config directory with contexts, written as `docker context
/// create` writes them.
struct Store(tempfile::TempDir);

impl Store {
    fn new() -> Self {
        Store(tempfile::tempdir().unwrap())
    }

    fn dir(&self) -> PathBuf {
        self.0.path().to_path_buf()
    }

    fn context(&self, name: &str, host: &str, tls: bool) -> &Self {
        let id = context_id(name);
        let meta = self.0.path().join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        let json = serde_json::json!({
            "Name": name,
            "Metadata": {"Description": "test"},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
        });
        std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
        if tls {
            let dir = self.0.path().join("contexts/tls").join(&id).join("docker");
            std::fs::create_dir_all(&dir).unwrap();
            for file in ["ca.pem", "cert.pem", "key.pem"] {
                std::fs::write(dir.join(file), "pem").unwrap();
            }
        }
        self
    }

    fn current(&self, name: &str) -> &Self {
        std::fs::write(
            self.0.path().join("config.json"),
            serde_json::json!({"auths": {}, "currentContext": name}).to_string(),
        )
        .unwrap();
        self
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            config_dir: self.dir(),
            ..Inputs::default()
        }
    }
}

fn some(value: &str) -> Option<String> {
    Some(value.to_string())
}

#[test]
fn the_context_id_is_the_sha256_of_the_name() {
    // Checked with `printf NAME | sha256sum`.
    assert_eq!(
        context_id("dind"),
        "2a8c227a0a7b0a51085cc500f33f757f2914b554a13497f86c55a9519e2012e6"
    );
    assert_eq!(
        context_id("default"),
        "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f"
    );
}

#[test]
fn nothing_set_is_the_default_socket() {
    let store = Store::new();
    let endpoint = resolve(&store.inputs()).unwrap();
    assert_eq!(endpoint.host, DEFAULT_HOST);
    assert_eq!(endpoint.source, Source::Default { context_via: None });
    assert_eq!(endpoint.tls, None);
    let chosen: Vec<&str> = endpoint
        .chain
        .iter()
        .filter(|step| step.chosen)
        .map(|step| step.source.as_str())
        .collect();
    assert_eq!(chosen, ["default"]);
}

#[test]
fn current_context_picks_the_stored_context_with_its_tls_files() {
    let store = Store::new();
    store
        .context("dind", "tcp://10.9.0.2:2376", true)
        .current("dind");
    let endpoint = resolve(&store.inputs()).unwrap();
    assert_eq!(endpoint.host, "tcp://10.9.0.2:2376");
    assert_eq!(
        endpoint.source,
        Source::Context {
            name: "dind".into(),
            via: ContextVia::Config
        }
    );
    let tls = endpoint.tls.clone().unwrap();
    let dir = store
        .dir()
        .join("contexts/tls")
        .join(context_id("dind"))
        .join("docker");
    assert_eq!(tls.dir, dir);
    assert_eq!(tls.ca, dir.join("ca.pem"));
    assert_eq!(tls.from, "context `dind`");
    assert_eq!(
        endpoint.describe(),
        "tcp://10.9.0.2:2376 (context `dind` from currentContext in config.json)"
    );
}

#[test]
fn docker_context_beats_current_context() {
    let store = Store::new();
    store
        .context("a", "unix:///tmp/a.sock", false)
        .context("b", "unix:///tmp/b.sock", false)
        .current("a");
    let mut inputs = store.inputs();
    inputs.docker_context = some("b");
    let endpoint = resolve(&inputs).unwrap();
    assert_eq!(endpoint.host, "unix:///tmp/b.sock");
    assert_eq!(
        endpoint.source,
        Source::Context {
            name: "b".into(),
            via: ContextVia::Env
        }
    );
}

#[test]
fn docker_host_beats_docker_context_and_current_context() {
    // As in the docker CLI: DOCKER_HOST selects the `default` context, so
    // DOCKER_CONTEXT and currentContext are not consulted (a broken
    // config.json does not matter then).
    let store = Store::new();
    std::fs::write(store.dir().join("config.json"), "{ not json").unwrap();
    let mut inputs = store.inputs();
    inputs.docker_host = some("tcp://127.0.0.1:2375");
    inputs.docker_context = some("missing");
    let endpoint = resolve(&inputs).unwrap();
    assert_eq!(endpoint.host, "tcp://127.0.0.1:2375");
    assert_eq!(endpoint.source, Source::DockerHost);
    assert!(endpoint.tls.is_none());
    // The chain still shows what DOCKER_CONTEXT said, unused.
    let context = endpoint
        .chain
        .iter()
        .find(|s| s.source == "DOCKER_CONTEXT")
        .unwrap();
    assert_eq!(
        (context.value.as_deref(), context.chosen),
        (Some("missing"), false)
    );
}

#[test]
fn the_chain_shows_a_current_context_that_did_not_decide() {
    let store = Store::new();
    store.context("b", "unix:///tmp/b.sock", false).current("b");
    let mut inputs = store.inputs();
    inputs.docker_host = some("unix:///tmp/env.sock");
    let endpoint = resolve(&inputs).unwrap();
    let current = endpoint
        .chain
        .iter()
        .find(|s| s.source == "currentContext")
        .unwrap();
    assert_eq!(
        (current.value.as_deref(), current.chosen),
        (Some("b"), false)
    );
}

#[test]
fn the_missing_default_socket_hint_lists_the_sockets_that_exist() {
    let home = tempfile::tempdir().unwrap();
    let runtime = home.path().join("run/user/1000");
    std::fs::create_dir_all(runtime.join("podman")).unwrap();
    std::fs::create_dir_all(home.path().join(".colima/default")).unwrap();
    // Real sockets, as the engines make them.
    let _rootless = std::os::unix::net::UnixListener::bind(runtime.join("docker.sock")).unwrap();
    let _colima =
        std::os::unix::net::UnixListener::bind(home.path().join(".colima/default/docker.sock"))
            .unwrap();
    let found = other_sockets_in(home.path(), Some(&runtime));
    assert_eq!(
        found,
        [
            runtime.join("docker.sock"),
            home.path().join(".colima/default/docker.sock")
        ]
    );
    let hint = default_socket_hint(&found);
    let rootless = format!("unix://{}", runtime.join("docker.sock").display());
    assert!(hint.contains(&format!("DOCKER_HOST={rootless}")), "{hint}");
    assert!(hint.contains(".colima/default/docker.sock"), "{hint}");
    assert!(hint.contains("docker context use"), "{hint}");
    assert!(other_sockets_in(home.path(), None).len() == 1);
    assert!(default_socket_hint(&[]).contains("start the Docker Engine"));
}

#[test]
fn the_host_flag_beats_the_environment() {
    let store = Store::new();
    store.context("b", "unix:///tmp/b.sock", false).current("b");
    let mut inputs = store.inputs();
    inputs.flag_host = some("unix:///tmp/flag.sock");
    inputs.docker_host = some("tcp://127.0.0.1:2375");
    inputs.docker_context = some("b");
    let endpoint = resolve(&inputs).unwrap();
    assert_eq!(endpoint.host, "unix:///tmp/flag.sock");
    assert_eq!(endpoint.source, Source::Flag);
    assert_eq!(endpoint.describe(), "unix:///tmp/flag.sock (set by --host)");
}

#[test]
fn the_context_flag_beats_docker_host() {
    let store = Store::new();
    store.context("b", "unix:///tmp/b.sock", false);
    let mut inputs = store.inputs();
    inputs.flag_context = some("b");
    inputs.docker_host = some("tcp://127.0.0.1:2375");
    let endpoint = resolve(&inputs).unwrap();
    assert_eq!(endpoint.host, "unix:///tmp/b.sock");
    assert_eq!(
        endpoint.source,
        Source::Context {
            name: "b".into(),
            via: ContextVia::Flag
        }
    );
}

#[test]
fn host_and_context_flags_together_are_a_usage_error() {
    let store = Store::new();
    let mut inputs = store.inputs();
    inputs.flag_host = some("unix:///tmp/x.sock");
    inputs.flag_context = some("b");
    let err = resolve(&inputs).unwrap_err();
    assert_eq!(err.status, crate::error::ExitStatus::Invalid);
    assert!(
        err.message.contains("conflicting options"),
        "{}",
        err.message
    );
}

#[test]
fn the_default_context_is_the_environment_or_the_default_socket() {
    let store = Store::new();
    store.current("default");
    let endpoint = resolve(&store.inputs()).unwrap();
    assert_eq!(endpoint.host, DEFAULT_HOST);
    assert_eq!(
        endpoint.source,
        Source::Default {
            context_via: Some(ContextVia::Config)
        }
    );
    let mut inputs = store.inputs();
    inputs.flag_context = some("default");
    assert_eq!(resolve(&inputs).unwrap().host, DEFAULT_HOST);
}

#[test]
fn a_missing_context_is_an_error_naming_it_and_its_source() {
    let store = Store::new();
    store.current("gone");
    let err = resolve(&store.inputs()).unwrap_err();
    assert!(err.message.contains("context `gone`"), "{}", err.message);
    assert!(err.message.contains("currentContext"), "{}", err.message);
    assert!(err.message.contains(&context_id("gone")), "{}", err.message);
    let mut inputs = store.inputs();
    inputs.docker_context = some("nope");
    let err = resolve(&inputs).unwrap_err();
    assert!(
        err.message.contains("context `nope` (from DOCKER_CONTEXT)"),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().contains("unset DOCKER_CONTEXT"));
}

#[test]
fn docker_tls_verify_takes_the_files_from_docker_cert_path_or_the_config_dir() {
    let store = Store::new();
    let mut inputs = store.inputs();
    inputs.docker_host = some("tcp://10.9.0.2:2376");
    inputs.docker_tls_verify = some("1");
    let endpoint = resolve(&inputs).unwrap();
    let tls = endpoint.tls.unwrap();
    assert_eq!(tls.dir, store.dir());
    assert_eq!(tls.key, store.dir().join("key.pem"));
    inputs.docker_cert_path = some("/certs");
    let tls = resolve(&inputs).unwrap().tls.unwrap();
    assert_eq!(tls.cert, PathBuf::from("/certs/cert.pem"));
    assert!(tls.from.contains("DOCKER_CERT_PATH"), "{}", tls.from);
    // A unix socket takes no TLS.
    inputs.docker_host = some("unix:///tmp/x.sock");
    assert!(resolve(&inputs).unwrap().tls.is_none());
}

#[test]
fn a_context_without_tls_files_speaks_plain_tcp() {
    let store = Store::new();
    store.context("plain", "tcp://10.9.0.2:2375", false);
    let mut inputs = store.inputs();
    inputs.docker_context = some("plain");
    // DOCKER_TLS_VERIFY belongs to the default context only.
    inputs.docker_tls_verify = some("1");
    assert!(resolve(&inputs).unwrap().tls.is_none());
}

#[test]
fn missing_tls_files_are_named_with_what_asked_for_tls() {
    let store = Store::new();
    let mut inputs = store.inputs();
    inputs.docker_host = some("tcp://10.9.0.2:2376");
    inputs.docker_tls_verify = some("1");
    inputs.docker_cert_path = some(store.dir().join("certs").to_str().unwrap());
    let endpoint = resolve(&inputs).unwrap();
    let err = check_tls_files(&endpoint).unwrap_err();
    assert!(
        err.message
            .contains("tcp://10.9.0.2:2376 (set by DOCKER_HOST)"),
        "{}",
        err.message
    );
    assert!(err.message.contains("certs/ca.pem"), "{}", err.message);
    assert!(err.message.contains("DOCKER_CERT_PATH"), "{}", err.message);
}

#[test]
fn ssh_and_unknown_schemes_are_refused_with_a_hint() {
    let store = Store::new();
    let mut inputs = store.inputs();
    inputs.docker_host = some("ssh://me@build-box");
    let err = resolve(&inputs).unwrap_err();
    assert_eq!(err.status, crate::error::ExitStatus::Invalid);
    assert!(
        err.message
            .contains("ssh://me@build-box (set by DOCKER_HOST)"),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().contains("ssh -nNT -L"));
    inputs.docker_host = some("fd://");
    assert!(
        resolve(&inputs)
            .unwrap_err()
            .message
            .contains("no scheme mcpm supports")
    );
    #[cfg(not(windows))]
    {
        inputs.docker_host = some("npipe:////./pipe/docker_engine");
        assert!(
            resolve(&inputs)
                .unwrap_err()
                .message
                .contains("Windows named pipe")
        );
    }
}

#[test]
fn skip_tls_verify_is_refused() {
    let store = Store::new();
    let id = context_id("insecure");
    let meta = store.dir().join("contexts/meta").join(&id);
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        r#"{"Name":"insecure","Endpoints":{"docker":{"Host":"tcp://10.9.0.2:2376","SkipTLSVerify":true}}}"#,
    )
    .unwrap();
    let mut inputs = store.inputs();
    inputs.docker_context = some("insecure");
    let err = resolve(&inputs).unwrap_err();
    assert!(err.message.contains("SkipTLSVerify"), "{}", err.message);
}

#[test]
fn a_broken_meta_json_names_the_file() {
    let store = Store::new();
    let meta = store.dir().join("contexts/meta").join(context_id("bad"));
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(meta.join("meta.json"), r#"{"Name":"bad","Endpoints":{}}"#).unwrap();
    let mut inputs = store.inputs();
    inputs.flag_context = some("bad");
    let err = resolve(&inputs).unwrap_err();
    assert!(
        err.message.contains("has no docker endpoint"),
        "{}",
        err.message
    );
    assert!(err.message.contains("meta.json"), "{}", err.message);
}

#[test]
fn child_args_carry_the_flags() {
    // FLAGS is process-wide and no other unit test sets it.
    set_flags(Flags {
        host: None,
        context: Some("dind".into()),
    });
    assert_eq!(child_args(), ["--context", "dind"]);
}
