//! The text edits of `profile add|rm`: lossless, verified, refusing what a
//! profile cannot hold.
use std::path::Path;

use super::*;

const PROFILE: &str = "# team profile\nname = \"dev\"\n\n# the fetcher\n[servers.fetch]\ncommand = \"uvx\" # runner\nargs = [\"mcp-server-fetch\"]\n\n# the clock\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"] # keep UTC\n# trailing words\n";

fn request(name: &str, spec: ServerSpec, force: bool) -> AddServer {
    AddServer {
        name: name.into(),
        spec,
        force,
    }
}

fn stdio(command: &str, args: &[&str]) -> ServerSpec {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    server_from_flags(Some(command), &args, &[], None, &[]).unwrap()
}

#[test]
fn adding_appends_and_keeps_every_byte_before() {
    let path = Path::new("dev.toml");
    let spec = server_from_flags(
        Some("npx"),
        &["-y".into(), "@scope/srv".into()],
        &[
            "K=a=b".into(),
            "EMPTY=".into(),
            "UNI=caf\u{e9} \u{202e}\u{1f600}".into(),
        ],
        None,
        &[],
    )
    .unwrap();
    let (text, action, loaded) =
        add_to_text(path, PROFILE, &request("new.one", spec.clone(), false)).unwrap();
    assert_eq!(action, EditAction::Added);
    assert!(text.starts_with(PROFILE), "{text}");
    assert_eq!(
        &text[PROFILE.len()..],
        "\n[servers.\"new.one\"]\ncommand = \"npx\"\nargs = [\"-y\", \"@scope/srv\"]\nenv = { K = \"a=b\", EMPTY = \"\", UNI = \"caf\u{e9} \u{202e}\u{1f600}\" }\n"
    );
    assert_eq!(
        serde_json::to_value(&loaded.profile.servers["new.one"]).unwrap(),
        serde_json::to_value(&spec).unwrap()
    );
}

#[test]
fn crlf_files_get_crlf_and_a_missing_final_newline_is_supplied() {
    let path = Path::new("dev.toml");
    let crlf = "name = \"dev\"\r\n[servers.a]\r\ncommand = \"x\"";
    let (text, ..) = add_to_text(path, crlf, &request("b", stdio("y", &[]), false)).unwrap();
    assert!(text.starts_with(crlf));
    assert!(!text.replace("\r\n", "").contains('\n'), "{text:?}");
}

#[test]
fn an_existing_name_is_refused_unless_forced_and_forcing_keeps_place_and_comments() {
    let path = Path::new("dev.toml");
    let err = add_to_text(path, PROFILE, &request("fetch", stdio("npx", &[]), false))
        .err()
        .unwrap();
    assert_eq!(err.status, crate::error::ExitStatus::Invalid);
    assert!(err.message.contains("already exists"), "{}", err.message);
    assert_eq!(err.location.unwrap().line, 5);
    let (text, action, _) = add_to_text(
        path,
        PROFILE,
        &request("fetch", stdio("uvx", &["other"]), true),
    )
    .unwrap();
    assert_eq!(action, EditAction::Replaced);
    assert_eq!(
        text,
        PROFILE.replace("args = [\"mcp-server-fetch\"]", "args = [\"other\"]")
    );
}

#[test]
fn inline_server_tables_are_edited_in_the_tree() {
    let path = Path::new("dev.toml");
    let inline = "name = \"dev\"\nservers = { a = { command = \"x\" } } # all\n";
    let (text, _, loaded) =
        add_to_text(path, inline, &request("b", stdio("y", &[]), false)).unwrap();
    assert!(text.contains("# all"), "{text}");
    assert_eq!(loaded.profile.servers.len(), 2);
}

#[test]
fn bad_input_is_refused_before_anything_is_built() {
    let path = Path::new("dev.toml");
    for name in ["Fetch", "caf\u{e9}", "", "-x", "a b", "a/b"] {
        let err = add_to_text(path, PROFILE, &request(name, stdio("x", &[]), false))
            .err()
            .unwrap();
        assert_eq!(err.status, crate::error::ExitStatus::Invalid, "{name}");
    }
    let err = server_from_flags(Some("x"), &[], &["NOEQUALS".into()], None, &[])
        .err()
        .unwrap();
    assert!(err.message.contains("KEY=VALUE"), "{}", err.message);
    assert!(server_from_flags(Some("x"), &[], &["=v".into()], None, &[]).is_err());
    let remote = |url: &str, env: &[&str], headers: &[&str]| {
        let env: Vec<String> = env.iter().map(|s| s.to_string()).collect();
        let headers: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        server_from_flags(None, &[], &env, Some(url), &headers)
            .and_then(|spec| add_to_text(path, PROFILE, &request("r", spec, false)).map(|_| ()))
    };
    assert!(remote("https://x", &[], &["A=b"]).is_ok());
    assert!(remote("ftp://x", &[], &[]).is_err());
    assert!(remote("https://x", &[], &["bad"]).is_err());
    let err = remote("https://x", &["A=b"], &[]).err().unwrap();
    assert!(err.message.contains("cannot have `env`"), "{}", err.message);
    let err = add_to_text(
        path,
        PROFILE,
        &request("e", stdio("x", &[]).tap_env("A B", "1"), false),
    )
    .err()
    .unwrap();
    assert!(
        err.message.contains("environment variable name"),
        "{}",
        err.message
    );
}

trait TapEnv {
    fn tap_env(self, key: &str, value: &str) -> Self;
}

impl TapEnv for ServerSpec {
    fn tap_env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.into(), EnvValue::Text(value.into()));
        self
    }
}

#[test]
fn removing_drops_the_table_and_its_comment_only() {
    let path = Path::new("dev.toml");
    let (text, loaded) = remove_from_text(path, PROFILE, "time").unwrap();
    assert_eq!(
        text,
        "# team profile\nname = \"dev\"\n\n# the fetcher\n[servers.fetch]\ncommand = \"uvx\" # runner\nargs = [\"mcp-server-fetch\"]\n\n# trailing words\n"
    );
    assert_eq!(loaded.profile.servers.len(), 1);
    let (text, _) = remove_from_text(path, PROFILE, "fetch").unwrap();
    assert!(
        text.starts_with("# team profile\nname = \"dev\"\n\n# the clock\n[servers.time]\n"),
        "{text}"
    );
    let err = remove_from_text(path, PROFILE, "nope").err().unwrap();
    assert_eq!(err.status, crate::error::ExitStatus::Invalid);
    assert!(err.hint.unwrap().contains("`fetch`, `time`"));
}

#[test]
fn a_profile_that_does_not_load_is_never_edited() {
    let path = Path::new("dev.toml");
    let broken = "name = \"dev\"\n[servers.a]\ncommand = \"x\"\nurl = \"https://x\"\n";
    assert!(add_to_text(path, broken, &request("b", stdio("y", &[]), false)).is_err());
    assert!(remove_from_text(path, broken, "a").is_err());
}

#[test]
fn add_then_remove_gives_back_the_original_bytes() {
    let path = Path::new("dev.toml");
    let shapes = [
        PROFILE.to_string(),
        PROFILE.replace('\n', "\r\n"),
        "name = \"dev\"\n".to_string(),
        "name = \"dev\"\n[servers.a]\ncommand = \"x\"\n# ends with a comment\n".to_string(),
        "name = \"dev\"\n[servers.a]\ncommand = \"x\"\n\n\n# two blank lines, then a note\n\n"
            .to_string(),
    ];
    for original in shapes {
        let (added, ..) =
            add_to_text(path, &original, &request("zz", stdio("y", &["1"]), false)).unwrap();
        let (removed, _) = remove_from_text(path, &added, "zz").unwrap();
        assert_eq!(removed, original, "added:\n{added}");
    }
}
