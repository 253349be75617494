//! Lookup order, key spellings, config errors and secret masking, without an
//! engine or a helper (those are in tests/engine_creds.rs).
use super::*;
use serde_json::json;

fn config(value: Value) -> Config {
    parse_config(Path::new("/cfg/config.json"), &value.to_string()).unwrap()
}

fn password(user: &str, pass: &str) -> Option<Credentials> {
    Some(Credentials::Password {
        username: user.into(),
        password: Secret(pass.into()),
    })
}

fn helper(name: &str, key: HelperKey) -> Plan {
    Plan::Helper {
        name: name.into(),
        key,
    }
}

#[test]
fn registries_of_references() {
    assert_eq!(registry_of("busybox"), "docker.io");
    assert_eq!(registry_of("mcp/fetch"), "docker.io");
    assert_eq!(registry_of("index.docker.io/mcp/fetch"), "docker.io");
    assert_eq!(registry_of("ghcr.io/github/github-mcp-server"), "ghcr.io");
    assert_eq!(registry_of("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000");
    assert_eq!(registry_of("localhost/x"), "localhost");
    assert_eq!(config_key("docker.io"), "https://index.docker.io/v1/");
    assert_eq!(config_key("127.0.0.1:5001"), "127.0.0.1:5001");
    assert_eq!(login_command("docker.io"), "docker login");
    assert_eq!(login_command("ghcr.io"), "docker login ghcr.io");
}

#[test]
fn cred_helpers_come_before_creds_store_before_auths() {
    let c = config(json!({
        "credsStore": "desktop",
        "credHelpers": {"127.0.0.1:5001": "test", "https://index.docker.io/v1/": "hub"},
        "auths": {"127.0.0.1:5001": {"auth": "dTpw"}, "ghcr.io": {"auth": "dTpw"}}
    }));
    assert_eq!(
        c.plan("127.0.0.1:5001"),
        helper("test", HelperKey::CredHelpers("127.0.0.1:5001".into()))
    );
    // Docker Hub's credHelpers key is the legacy URL, not `docker.io`.
    assert_eq!(
        c.plan("docker.io"),
        helper("hub", HelperKey::CredHelpers(HUB_KEY.into()))
    );
    // credsStore covers every other registry, even one with an auths entry.
    assert_eq!(c.plan("ghcr.io"), helper("desktop", HelperKey::CredsStore));
    assert_eq!(c.plan("quay.io"), helper("desktop", HelperKey::CredsStore));
}

#[test]
fn an_empty_cred_helper_turns_the_store_off_for_its_registry() {
    let c = config(json!({
        "credsStore": "desktop",
        "credHelpers": {"ghcr.io": ""},
        "auths": {"ghcr.io": {"auth": "dXNlcjpwYTpzcw=="}}
    }));
    assert_eq!(
        c.plan("ghcr.io"),
        Plan::Auths {
            key: Some("ghcr.io".into()),
            credentials: password("user", "pa:ss"),
        }
    );
    // `"credsStore": ""` is no store.
    let c = config(json!({"credsStore": "", "auths": {}}));
    assert_eq!(
        c.plan("ghcr.io"),
        Plan::Auths {
            key: None,
            credentials: None
        }
    );
}

#[test]
fn auths_keys_as_docker_login_writes_them_and_legacy_ones() {
    let c = config(json!({"auths": {
        "https://index.docker.io/v1/": {"auth": "aHViOnRva2Vu"},
        "https://legacy.example.com/v1/": {"auth": "bGVnOnB3"},
        "http://127.0.0.1:5001": {"auth": "dTpw"},
        "quay.io": {"identitytoken": "tok"},
        "empty.example.com": {},
        "docker.io": {"auth": "bm90OnVzZWQ="}
    }}));
    assert_eq!(
        c.plan("docker.io"),
        Plan::Auths {
            key: Some(HUB_KEY.into()),
            credentials: password("hub", "token"),
        }
    );
    assert_eq!(
        c.plan("legacy.example.com"),
        Plan::Auths {
            key: Some("https://legacy.example.com/v1/".into()),
            credentials: password("leg", "pw"),
        }
    );
    assert_eq!(
        c.plan("127.0.0.1:5001"),
        Plan::Auths {
            key: Some("http://127.0.0.1:5001".into()),
            credentials: password("u", "p"),
        }
    );
    assert_eq!(
        c.plan("quay.io"),
        Plan::Auths {
            key: Some("quay.io".into()),
            credentials: Some(Credentials::IdentityToken(Secret("tok".into()))),
        }
    );
    // What a helper-backed `docker login` leaves behind: an entry, no secret.
    assert_eq!(
        c.plan("empty.example.com"),
        Plan::Auths {
            key: Some("empty.example.com".into()),
            credentials: None,
        }
    );
    // Only Hub's `docker.io` key is not how docker spells it: not used.
    let c = config(json!({"auths": {"docker.io": {"auth": "bm90OnVzZWQ="}}}));
    assert_eq!(
        c.plan("docker.io"),
        Plan::Auths {
            key: None,
            credentials: None
        }
    );
    // The exact key wins over a legacy one.
    let c = config(json!({"auths": {
        "https://ghcr.io/v1/": {"auth": "b2xkOnB3"},
        "ghcr.io": {"auth": "bmV3OnB3"}
    }}));
    assert_eq!(
        c.plan("ghcr.io"),
        Plan::Auths {
            key: Some("ghcr.io".into()),
            credentials: password("new", "pw"),
        }
    );
}

#[test]
fn hosts_of_keys() {
    assert_eq!(host_of("https://index.docker.io/v1/"), "index.docker.io");
    assert_eq!(host_of("http://127.0.0.1:5001"), "127.0.0.1:5001");
    assert_eq!(host_of("ghcr.io/v2"), "ghcr.io");
    assert_eq!(host_of("ghcr.io"), "ghcr.io");
}

#[test]
fn helper_answers() {
    assert_eq!(
        parse_helper_answer(r#"{"ServerURL":"x","Username":"u","Secret":"s"}"#).unwrap(),
        password("u", "s")
    );
    assert_eq!(
        parse_helper_answer(r#"{"ServerURL":"x","Username":"<token>","Secret":"t"}"#).unwrap(),
        Some(Credentials::IdentityToken(Secret("t".into())))
    );
    assert_eq!(
        parse_helper_answer(r#"{"ServerURL":"x","Username":"","Secret":""}"#).unwrap(),
        None
    );
    let err = parse_helper_answer("user hunter2").unwrap_err();
    assert!(!err.contains("hunter2"), "{err}");
    assert!(parse_helper_answer("[1]").is_err());
    assert!(parse_helper_answer(r#"{"Username":1}"#).is_err());
}

#[test]
fn invalid_configs_name_the_file_line_and_column_and_no_value() {
    let path = Path::new("/cfg/config.json");
    let err = parse_config(
        path,
        "{\n  \"auths\": {\n    \"x\": {\"auth\": \"c2VjcmV0\"}\n  }\n  \"credsStore\": \"x\"\n}",
    )
    .unwrap_err();
    assert!(
        err.message
            .starts_with("invalid docker config /cfg/config.json:5:3: expected"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("c2VjcmV0"), "{}", err.message);
    assert!(err.hint.is_some());
    for (text, field) in [
        (r#"{"credsStore": 1}"#, "`credsStore`"),
        (r#"{"credHelpers": {"a": 1}}"#, "`credHelpers[\"a\"]`"),
        (r#"{"credHelpers": []}"#, "`credHelpers`"),
        (r#"{"auths": []}"#, "`auths`"),
        (
            r#"{"auths": {"a": {"auth": "***hunter2"}}}"#,
            "not valid base64",
        ),
        (
            r#"{"auths": {"a": {"auth": "aHVudGVyMg=="}}}"#,
            "`user:password`",
        ),
        (r#"[]"#, "top level"),
    ] {
        let err = parse_config(path, text).unwrap_err();
        assert!(err.message.contains(field), "{text}: {}", err.message);
        assert!(err.message.contains("/cfg/config.json"), "{}", err.message);
        assert!(!err.message.contains("hunter2"), "{}", err.message);
    }
}

#[test]
fn secrets_never_show_in_debug_or_descriptions() {
    let secret = "hunter2-secret";
    for credentials in [
        password("alice", secret).unwrap(),
        Credentials::IdentityToken(Secret(secret.into())),
    ] {
        let lookup = Lookup {
            registry: "127.0.0.1:5001".into(),
            config: "/cfg/config.json".into(),
            origin: Origin::Helper {
                name: "test".into(),
                key: HelperKey::CredHelpers("127.0.0.1:5001".into()),
            },
            credentials: Some(credentials),
        };
        for text in [
            format!("{lookup:?}"),
            format!("{lookup:#?}"),
            lookup.describe(),
            lookup.refusal_note("the pull"),
        ] {
            assert!(!text.contains(secret), "{text}");
        }
        // It is sent to the engine, though.
        let sent = lookup.docker().unwrap();
        assert!(
            sent.password.as_deref() == Some(secret)
                || sent.identitytoken.as_deref() == Some(secret)
        );
        assert_eq!(sent.serveraddress.as_deref(), Some("127.0.0.1:5001"));
    }
}

#[test]
fn descriptions_say_where_credentials_came_from() {
    let mut lookup = Lookup {
        registry: "127.0.0.1:5001".into(),
        config: "/cfg/config.json".into(),
        origin: Origin::Helper {
            name: "test".into(),
            key: HelperKey::CredsStore,
        },
        credentials: password("u", "p"),
    };
    assert_eq!(
        lookup.describe(),
        "credentials were sent, from helper docker-credential-test (credsStore in /cfg/config.json)"
    );
    assert!(
        lookup
            .refusal_note("the pull")
            .contains("docker login 127.0.0.1:5001")
    );
    assert!(lookup.refusal_note("the pull").contains("wrong or expired"));
    lookup.credentials = None;
    assert!(lookup.describe().contains("has none for 127.0.0.1:5001"));
    lookup.origin = Origin::Auths { key: None };
    assert_eq!(
        lookup.describe(),
        "no credentials were sent: /cfg/config.json has no credential helper or auths entry for 127.0.0.1:5001"
    );
    lookup.registry = "docker.io".into();
    lookup.origin = Origin::NoConfig;
    assert!(
        lookup.refusal_note("the pull").contains("`docker login`"),
        "{}",
        lookup.refusal_note("the pull")
    );
}

#[test]
fn refusals_are_recognised() {
    assert!(is_auth_refusal(
        "Head \"http://127.0.0.1:5001/v2/a/manifests/latest\": no basic auth credentials"
    ));
    assert!(is_auth_refusal("unauthorized: authentication required"));
    assert!(is_auth_refusal(
        "pull access denied for x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
    ));
    assert!(!is_auth_refusal(
        "manifest for x:latest not found: manifest unknown"
    ));
}

#[test]
fn base64() {
    assert_eq!(decode_base64("dXNlcjpwYXNz").as_deref(), Some("user:pass"));
    assert_eq!(decode_base64("YQ").as_deref(), Some("a"));
    assert_eq!(decode_base64("!!"), None);
}
