//! The checks on small profiles rendered with the built-in catalog, with a
//! made-up environment and file system.
use std::path::Path;

use super::*;
use crate::profile::load_profile_text;

/// Runs the checks on `text` with `vars` set, `paths` existing on the host
/// and `neighbours` in the compose file.
fn findings_with(
    text: &str,
    vars: &[(&str, &str)],
    paths: &[&str],
    neighbours: &[Neighbour],
) -> Vec<Finding> {
    let loaded = load_profile_text(Path::new("p.toml"), text.to_string()).expect("profile loads");
    let catalog = Catalog::load(None).unwrap();
    let rendered =
        crate::compose::render(&loaded, &catalog, crate::compose::RenderOptions::default())
            .expect("profile renders");
    let variable = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    // Paths with a dot in their last name are files, the rest directories.
    let host = |p: &Path| {
        paths
            .iter()
            .find(|known| Path::new(known) == p)
            .map(|known| !known.rsplit('/').next().unwrap_or_default().contains('.'))
    };
    check(&Input {
        loaded: &loaded,
        rendered: &rendered,
        catalog: &catalog,
        variable: &variable,
        env_file: Some(Path::new("/w/.env")),
        neighbours,
        host: &host,
    })
}

fn findings(text: &str) -> Vec<Finding> {
    findings_with(text, &[], &[], &[])
}

/// The findings of one check, as (server, value).
fn of(findings: &[Finding], check: Check) -> Vec<(String, String)> {
    findings
        .iter()
        .filter(|f| f.check == check)
        .map(|f| (f.server.clone(), f.value.clone()))
        .collect()
}

#[test]
fn localhost_in_env_and_args_is_found_and_fixed_to_the_host_gateway() {
    let found = findings(
        "name = \"p\"\n[servers.db]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-postgres\", \"postgresql://u:s3cret@localhost:5432/app\"]\n\n[servers.api]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\", \"--proxy=http://[::1]:3128\"]\nenv = { API = \"https://localhost.example.com\", CACHE = \"127.0.0.1:6379\", BUILD = \"v127.0.0.1x\" }\n\n[servers.remote]\nurl = \"http://localhost:8080/mcp\"\n",
    );
    let localhost = of(&found, Check::Localhost);
    assert_eq!(
        localhost,
        [
            ("api".to_string(), "127.0.0.1:6379".to_string()),
            ("api".to_string(), "--proxy=http://[::1]:3128".to_string()),
            (
                "db".to_string(),
                "postgresql://u:***@localhost:5432/app".to_string()
            ),
        ],
        "remote servers run no container; longer names are other hosts; passwords are masked"
    );
    let db = found
        .iter()
        .find(|f| f.check == Check::Localhost && f.server == "db")
        .unwrap();
    assert_eq!(db.severity, Severity::Error);
    assert!(db.edits.contains(&Edit::Arg {
        index: 2,
        old: "postgresql://u:s3cret@localhost:5432/app".into(),
        new: "postgresql://u:s3cret@host.docker.internal:5432/app".into(),
    }));
    assert!(db.edits.iter().any(|e| matches!(e, Edit::DockerList { key, add, .. } if key == "extra_hosts" && add == &["host.docker.internal:host-gateway".to_string()])));
    assert_eq!(
        db.place,
        Place::Profile(vec![
            crate::source::Segment::Key("servers".into()),
            crate::source::Segment::Key("db".into()),
            crate::source::Segment::Key("args".into()),
            crate::source::Segment::Index(2),
        ])
    );
}

#[test]
fn a_port_of_a_service_in_the_same_file_is_reached_by_its_name() {
    let db = Neighbour {
        name: "db".into(),
        ports: vec![5432],
        networks: Some(vec!["default".into()]),
    };
    let found = findings_with(
        "name = \"p\"\n[servers.pg]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-postgres\", \"postgresql://localhost:5432/app\"]\n",
        &[],
        &[],
        &[db],
    );
    let finding = found.iter().find(|f| f.check == Check::Localhost).unwrap();
    assert!(finding.edits.contains(&Edit::Arg {
        index: 2,
        old: "postgresql://localhost:5432/app".into(),
        new: "postgresql://db:5432/app".into(),
    }));
    assert!(finding.edits.iter().any(|e| matches!(e, Edit::DockerList { key, base, add } if key == "networks" && base == &["mcp-network".to_string()] && add == &["default".to_string()])));
    assert!(
        !finding
            .edits
            .iter()
            .any(|e| matches!(e, Edit::DockerList { key, .. } if key == "extra_hosts")),
        "no host gateway needed"
    );
}

#[test]
fn a_server_without_a_network_gets_one_with_its_host_fix() {
    let found = findings(
        "name = \"p\"\n[servers.memory]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-memory\"]\nenv = { UPSTREAM = \"http://localhost:9000\" }\n",
    );
    let finding = found.iter().find(|f| f.check == Check::Localhost).unwrap();
    assert!(
        finding
            .edits
            .contains(&Edit::Network(crate::profile::NetworkChoice::Bridge))
    );
}

#[test]
fn host_paths_no_volume_covers_are_found() {
    let text = "name = \"p\"\n[servers.memory]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-memory\"]\nenv = { MEMORY_FILE_PATH = \"/home/dev/.mcp/memory.json\", CACHE = \"/tmp/cache\", NOTE = \"'/home/j\u{f6}rg/n\u{f6}tes'\" }\n\n[servers.files]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-filesystem\", \"/home/dev/Documents\"]\n\n[servers.kept]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-memory\"]\nenv = { MEMORY_FILE_PATH = \"/data/memory.json\" }\nvolumes = [\"kept-data:/data\"]\n\n[servers.notes]\ncommand = \"npx\"\nargs = [\"-y\", \"some-notes-server\"]\nenv = { NOTES_DB = \"/home/dev/.notes/notes.db\" }\n";
    let found = findings_with(text, &[], &["/home/j\u{f6}rg/n\u{f6}tes"], &[]);
    let paths = of(&found, Check::HostPath);
    assert_eq!(
        paths,
        [
            (
                "memory".to_string(),
                "'/home/j\u{f6}rg/n\u{f6}tes'".to_string()
            ),
            ("notes".to_string(), "/home/dev/.notes/notes.db".to_string()),
        ],
        "memory's state gets its volume from generate, filesystem's directory is mounted by the catalog, /tmp is the image's, kept has its volume"
    );
    let existing = found
        .iter()
        .find(|f| f.check == Check::HostPath && f.value.starts_with('\''))
        .unwrap();
    assert_eq!(
        existing.severity,
        Severity::Error,
        "the server will not see the user's data"
    );
    assert!(existing.edits.contains(&Edit::Volume(
        "/home/j\u{f6}rg/n\u{f6}tes:/home/j\u{f6}rg/n\u{f6}tes".into()
    )));
    // A server the catalog knows no state for: what it writes to a path
    // that does not exist here goes to a named volume on its directory.
    let state = found
        .iter()
        .find(|f| f.check == Check::HostPath && f.server == "notes")
        .unwrap();
    assert_eq!(state.severity, Severity::Warning);
    assert_eq!(
        state.edits,
        [Edit::Volume("notes-data:/home/dev/.notes".into())]
    );
}

#[test]
fn a_path_behind_a_variable_counts_when_the_variable_holds_one() {
    let text = "name = \"p\"\n[servers.sqlite]\ncommand = \"uvx\"\nargs = [\"mcp-server-sqlite\", \"--db-path\", \"${PROJECT}/data/app.db\"]\n";
    assert!(
        of(&findings(text), Check::HostPath).is_empty(),
        "unset: only the variable is reported"
    );
    let found = findings_with(text, &[("PROJECT", "/home/dev/app")], &[], &[]);
    let finding = found
        .iter()
        .find(|f| f.check == Check::HostPath)
        .expect("found");
    assert_eq!(
        finding.edits,
        [Edit::Volume("sqlite-data:${PROJECT}/data".into())]
    );
}

#[test]
fn variables_without_values_are_listed_required_ones_as_errors() {
    let text = "name = \"p\"\n[servers.github]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-github\"]\nenv = { GITHUB_PERSONAL_ACCESS_TOKEN = \"${GITHUB_TOKEN}\", LEVEL = \"${LOG_LEVEL:-info}\", OTHER = \"$$NOT_A_VAR\" }\n\n[servers.brave]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-brave-search\"]\nenv = { BRAVE_API_KEY = \"BSA-literal-key\", REGION = \"${REGION}\" }\n";
    let found = findings(text);
    let unset: Vec<(String, String, Severity)> = found
        .iter()
        .filter(|f| f.check == Check::UnsetVariable)
        .map(|f| (f.server.clone(), f.value.clone(), f.severity))
        .collect();
    assert_eq!(
        unset,
        [
            (
                "github".to_string(),
                "${GITHUB_TOKEN}".to_string(),
                Severity::Error
            ),
            (
                "brave".to_string(),
                "${REGION}".to_string(),
                Severity::Warning
            ),
        ],
        "defaults, $$ and a literal secret written to .env are fine"
    );
    assert!(found[0].fix.contains("/w/.env"), "{}", found[0].fix);
    let set = findings_with(text, &[("GITHUB_TOKEN", "x"), ("REGION", "eu")], &[], &[]);
    assert!(of(&set, Check::UnsetVariable).is_empty());
    let empty = findings_with(text, &[("GITHUB_TOKEN", "")], &[], &[]);
    assert!(
        empty
            .iter()
            .any(|f| f.value == "${GITHUB_TOKEN}" && f.message.contains("empty"))
    );
}

#[test]
fn editor_variables_and_inputs_are_named() {
    let loaded = load_profile_text(
        Path::new("p.toml"),
        "name = \"p\"\n[servers.ask]\ncommand = \"npx\"\nargs = [\"-y\", \"server-perplexity-ask\"]\nenv = { PERPLEXITY_API_KEY = \"${input:perplexity-key}\" }\n".into(),
    )
    .unwrap();
    let found = variables::editor_inputs(&loaded);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].check, Check::VscodeInput);
    assert_eq!(
        found[0].edits,
        [Edit::Env {
            key: "PERPLEXITY_API_KEY".into(),
            old: "${input:perplexity-key}".into(),
            new: "${PERPLEXITY_KEY}".into(),
        }]
    );
    let found = findings(
        "name = \"p\"\n[servers.sqlite]\ncommand = \"uvx\"\nargs = [\"mcp-server-sqlite\", \"--db-path\", \"${workspaceFolder}/data/app.db\"]\n",
    );
    assert_eq!(
        of(&found, Check::VscodeInput),
        [("sqlite".to_string(), "${workspaceFolder}".to_string())]
    );
    assert!(
        of(&found, Check::UnsetVariable).is_empty(),
        "said once, as what it is"
    );
}

#[test]
fn networks_that_do_not_fit_the_server_are_warned_about() {
    let found = findings(
        "name = \"p\"\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\nnetwork = \"none\"\n\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\nnetwork = \"bridge\"\n\n[servers.memory]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-memory\"]\n",
    );
    let network: Vec<(String, String)> = of(&found, Check::NetworkMode);
    assert_eq!(
        network,
        [
            ("fetch".to_string(), "network_mode: none".to_string()),
            ("time".to_string(), "mcp-network".to_string()),
        ]
    );
}

#[test]
fn unpinned_images_are_warnings_and_pinned_ones_are_not() {
    let found = findings(
        "name = \"p\"\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\n\n[servers.pinned]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\ndocker = { image = \"mcp/time@sha256:0123\" }\n",
    );
    assert_eq!(
        of(&found, Check::UnpinnedImage),
        [("fetch".to_string(), "mcp/fetch".to_string())]
    );
}

#[test]
fn skipped_servers_are_reported() {
    let found = findings(
        "name = \"p\"\n[servers.tools]\ncommand = \"node\"\nargs = [\"/home/dev/tools/server.js\"]\n",
    );
    assert_eq!(of(&found, Check::NotContainerized).len(), 1);
}

/// The engine's pre-flight runs with the doctor's checks: a bind-mount
/// source missing on this host is an error, pointed at the profile's value
/// (no compose file is on disk to point into). Findings other modules hand
/// over are merged in, after errors.
#[test]
fn preflight_and_extra_findings_are_merged_into_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::ConfigDir::resolve(Some(dir.path().join("config")));
    let profile = dir.path().join("p\u{e9}.toml");
    std::fs::write(
        &profile,
        "name = \"p\"\n[servers.files]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-filesystem\", \"/home/nobody/Documents\"]\n",
    )
    .unwrap();
    let extra = Finding {
        check: Check::Other("engine-note"),
        severity: Severity::Warning,
        server: "files".into(),
        value: "x".into(),
        place: Place::Compose(None),
        message: "noted".into(),
        fix: "none".into(),
        edits: Vec::new(),
    };
    let report = run(
        &config,
        &Options {
            profile: profile.display().to_string(),
            compose_file: None,
            fix: true,
            pin: false,
            lock_timeout: std::time::Duration::from_secs(1),
        },
        vec![extra],
    )
    .unwrap();
    assert_eq!(report.findings[0].check, "bind-source-missing");
    assert_eq!(report.findings[0].value, "/home/nobody/Documents");
    assert_eq!(report.findings[0].line, Some(4));
    assert_eq!(report.count(Severity::Error), 1, "reported once");
    assert!(report.findings.iter().any(|f| f.check == "engine-note"));
    assert!(report.fixed.is_empty());
    assert!(
        !dir.path().join("p\u{e9}.toml.bak").exists(),
        "nothing to fix, nothing written"
    );
}

/// `--pin` alone applies pins only: another fixable finding stays for
/// `--fix`, and nothing is written.
#[test]
fn pin_alone_leaves_other_fixes_for_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::ConfigDir::resolve(Some(dir.path().join("config")));
    let profile = dir.path().join("p.toml");
    let text = "name = \"p\"\n[servers.db]\ncommand = \"sleep\"\nargs = [\"postgresql://localhost:5432/app\"]\n[servers.db.docker]\nimage = \"r/db:1.2\"\n";
    std::fs::write(&profile, text).unwrap();
    let options = Options {
        profile: profile.display().to_string(),
        compose_file: None,
        fix: false,
        pin: true,
        lock_timeout: std::time::Duration::from_secs(1),
    };
    let report = run(&config, &options, Vec::new()).unwrap();
    assert!(report.fixed.is_empty());
    let localhost: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == "localhost")
        .collect();
    assert_eq!(localhost.len(), 1);
    assert!(localhost[0].fixable);
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), text);
    assert!(!dir.path().join("p.toml.bak").exists());
}
