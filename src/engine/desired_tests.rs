//! Tests of compose file loading (kept beside `desired.rs`, which is long enough).
use super::*;

fn load_with(text: &str, env: &[(&str, &str)]) -> Result<Desired> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_text(&file, text, &LoadOptions::default(), &|name| {
        env.get(name).cloned()
    })
}

#[test]
fn loads_services_networks_and_names() {
    let desired = load_with(
        "name: demo\nservices:\n  b:\n    image: x\n    networks: [mcp-network]\n  a:\n    image: y\n    network_mode: none\n    profiles: [on-demand]\nnetworks:\n  mcp-network:\n    driver: bridge\n",
        &[],
    )
    .unwrap();
    assert_eq!(desired.project, "demo");
    assert_eq!(desired.services.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(desired.services["b"].container_name, "demo-b-1");
    assert_eq!(desired.services["a"].activation, Activation::CreateOnly);
    assert_eq!(desired.networks["mcp-network"].name, "demo_mcp-network");
    assert!(!desired.networks.contains_key("default"));
}

#[test]
fn a_service_without_networks_uses_default() {
    let desired = load_with("name: demo\nservices:\n  a:\n    image: x\n", &[]).unwrap();
    assert_eq!(desired.networks["default"].name, "demo_default");
}

#[test]
fn all_missing_required_variables_in_one_error() {
    let err = load_with(
        "name: demo\nservices:\n  a:\n    image: ${IMAGE:?set the image}\n    environment:\n      T: ${TOKEN?}\n      U: ${SET:?}\n",
        &[("SET", "1")],
    )
    .unwrap_err();
    assert!(err.message.contains("IMAGE"), "{}", err.message);
    assert!(err.message.contains("TOKEN"), "{}", err.message);
    assert!(err.message.contains("set the image"));
    assert!(!err.message.contains("SET ("));
}

#[test]
fn dotenv_fills_in_and_process_env_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "TAG=fromfile\nOTHER=o\n").unwrap();
    let file = dir.path().join("compose.yaml");
    let text =
        "name: demo\nservices:\n  a:\n    image: img:${TAG}\n    environment: ['X=${OTHER}']\n";
    let env = |name: &str| (name == "TAG").then(|| "fromenv".to_string());
    let desired = load_text(&file, text, &LoadOptions::default(), &env).unwrap();
    let a = &desired.services["a"].config;
    assert_eq!(a.image.as_deref(), Some("img:fromenv"));
    assert_eq!(a.environment["X"].as_deref(), Some("o"));
}

#[test]
fn unset_variables_warn_once() {
    let desired = load_with(
        "name: demo\nservices:\n  a:\n    image: x\n    environment: ['A=${NOPE}', 'B=${NOPE}']\n",
        &[],
    )
    .unwrap();
    assert_eq!(desired.warnings.len(), 1);
    assert!(desired.warnings[0].contains("NOPE"));
}

#[test]
fn hash_ignores_spelling_and_profile_labels() {
    let a = load_with(
        "name: d\nservices:\n  s:\n    image: x\n    environment: {A: '1'}\n    labels: {io.mcpm.profile-hash: one}\n",
        &[],
    )
    .unwrap();
    let b = load_with(
        "name: d\nservices:\n  s:\n    environment: [A=1]\n    image: x\n    labels: {io.mcpm.profile-hash: two}\n",
        &[],
    )
    .unwrap();
    assert_eq!(a.services["s"].hash, b.services["s"].hash);
    let c = load_with(
        "name: d\nservices:\n  s:\n    image: x\n    environment: [A=2]\n",
        &[],
    )
    .unwrap();
    assert_ne!(a.services["s"].hash, c.services["s"].hash);
}

#[test]
fn errors_point_at_the_field() {
    let err = load_with(
        "name: d\nservices:\n  s:\n    image: x\n    build: .\n",
        &[],
    )
    .unwrap_err();
    assert!(
        err.message.contains("`build` is not supported"),
        "{}",
        err.message
    );
    assert_eq!(err.location.unwrap().line, 5);
    let err = load_with(
        "name: d\nservices:\n  s:\n    image: x\n    networks: [nope]\n",
        &[],
    )
    .unwrap_err();
    assert!(err.message.contains("network `nope`"));
    let err = load_with(
        "name: d\nservices:\n  s:\n    image: x\n    volumes: [data:/d]\n",
        &[],
    )
    .unwrap_err();
    assert!(err.message.contains("volume `data`"));
    let err = load_with("name: Bad\nservices:\n  s:\n    image: x\n", &[]).unwrap_err();
    assert!(err.message.contains("project name"));
    let err = load_with("name: d\nsecrets: {}\nservices:\n  s:\n    image: x\n", &[]).unwrap_err();
    assert!(err.message.contains("top-level `secrets`"));
}

#[test]
fn bind_paths_become_absolute() {
    let desired = load_with(
        "name: d\nservices:\n  s:\n    image: x\n    volumes: ['./data:/data:ro', 'logs:/logs']\nvolumes:\n  logs:\n",
        &[],
    )
    .unwrap();
    let s = &desired.services["s"].config;
    match &s.volumes[0] {
        Mount::Bind { source, .. } => {
            assert!(Path::new(source).is_absolute() && source.ends_with("/data"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(desired.volumes["logs"].name, "d_logs");
}
