use std::os::unix::fs::PermissionsExt;

use super::*;

#[test]
fn create_verify_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let file = path(dir.path());
    let mut store = TokenStore::load(&file).unwrap();
    assert!(store.tokens.is_empty());
    let ci = store.create("ci", Role::Operate, false).unwrap();
    let bot = store.create("bot", Role::Read, false).unwrap();
    assert!(ci.starts_with("mcpm_") && ci.len() == 5 + 64);
    assert_ne!(ci, bot);
    store.save(&file).unwrap();

    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&ci[5..]), "the secret is never stored");

    let store = TokenStore::load(&file).unwrap();
    assert_eq!(
        store.verify(&ci),
        Some(Caller {
            name: "ci".into(),
            role: "operate".into()
        })
    );
    assert_eq!(store.verify(&bot).unwrap().role, "read");
    assert_eq!(store.verify("mcpm_nope"), None);
    assert_eq!(store.verify(""), None);
    let listed = store.list();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].name, "bot");
    assert!(listed[0].created.ends_with('Z'));

    let mut store = store;
    let err = store.create("ci", Role::Admin, false).unwrap_err();
    assert_eq!(err.status, ExitStatus::Invalid);
    assert!(err.hint.unwrap().contains("--force"));
    let replaced = store.create("ci", Role::Admin, true).unwrap();
    assert_eq!(store.verify(&ci), None, "the replaced secret is dead");
    assert_eq!(store.verify(&replaced).unwrap().role, "admin");

    store.revoke("ci").unwrap();
    assert_eq!(store.verify(&replaced), None);
    let err = store.revoke("ci").unwrap_err();
    assert!(err.hint.unwrap().contains("bot"));
}

#[test]
fn names_are_plain() {
    let mut store = TokenStore::default();
    for bad in ["", "a b", "x/y", "é", &"n".repeat(65)] {
        assert!(store.create(bad, Role::Read, false).is_err(), "{bad:?}");
    }
    store.create("ci-1.prod_x", Role::Read, false).unwrap();
}

#[test]
fn an_invalid_file_is_an_error_at_its_place_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = path(dir.path());
    let text = "[tokens.ci]\nrole = \"operate\"\ncreated = \"yesterday\"\nsha256 = \"00\"\n";
    std::fs::write(&file, text).unwrap();
    let err = TokenStore::load(&file).unwrap_err();
    assert_eq!(err.status, ExitStatus::Invalid);
    let location = err.location.as_ref().expect("a line and column");
    assert_eq!(location.line, 3);
    assert!(err.render().contains("mcp-tokens.toml"));

    std::fs::write(
        &file,
        "[tokens.ci]\nrole = \"root\"\ncreated = 1\nsha256 = \"00\"\n",
    )
    .unwrap();
    let err = TokenStore::load(&file).unwrap_err();
    assert!(err.message.contains("root"), "{}", err.message);
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 4);

    // The verifier refuses to start on it, and refuses every token while it
    // stays invalid.
    assert!(TokenVerifier::new(file.clone()).is_err());
}

#[test]
fn the_verifier_sees_revocation_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = path(dir.path());
    let mut store = TokenStore::default();
    let secret = store.create("ci", Role::Operate, false).unwrap();
    store.save(&file).unwrap();
    let verifier = TokenVerifier::new(file.clone()).unwrap();
    assert_eq!(verifier.verify(&secret).unwrap().name, "ci");
    assert_eq!(verifier.count(), 1);

    let mut store = TokenStore::load(&file).unwrap();
    store.revoke("ci").unwrap();
    store.save(&file).unwrap();
    assert_eq!(verifier.verify(&secret), None);

    // A file broken while serving refuses everyone; fixed, it works again.
    let mut store = TokenStore::default();
    let again = store.create("ci", Role::Read, false).unwrap();
    std::fs::write(&file, "not toml [").unwrap();
    assert_eq!(verifier.verify(&again), None);
    store.save(&file).unwrap();
    assert_eq!(verifier.verify(&again).unwrap().role, "read");
}
