//! The properties the fuzz targets assert, as plain functions over texts.
//!
//! Shared by the `cargo fuzz` targets (through `mcpm_fuzz::props`) and by the
//! root crate's `tests/fuzz_regressions.rs` (through `#[path]`), so a saved
//! crash is replayed by `cargo test` through exactly the checks that found it.
//! It may only use what both crates depend on: `mcpm`, `serde_yaml_ng`,
//! `serde_json` and std.
//!
//! Each check returns `Err(Violation)` when a property does not hold; a panic
//! inside mcpm is left to unwind (the fuzzer reports it, the test fails).
#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;

use serde_yaml_ng::Value;

use mcpm::catalog::Catalog;
use mcpm::compose::base::SyncBase;
use mcpm::compose::{RenderOptions, Rendered};
use mcpm::error::{Error, ExitStatus};
use mcpm::profile::{ConflictStrategy, LoadedProfile, load_profile_text};
use mcpm::sync::compute::{self, Rules, Texts};
use mcpm::sync::{Action, Direction};

/// Which kind of broken promise a violation is. The kinds other work is known
/// to be fixing can be tolerated with `MCPM_FUZZ_TOLERATE=internal,yaml` so a
/// long run keeps looking past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A property of the tool does not hold.
    Property,
    /// mcpm refused its own output ("this is a bug in mcpm").
    Internal,
    /// Emitted YAML does not read back as what was emitted.
    Yaml,
}

#[derive(Debug, Clone)]
pub struct Violation {
    pub kind: Kind,
    pub message: String,
}

pub type Checked = Result<(), Violation>;

fn violation(kind: Kind, message: impl Into<String>) -> Violation {
    Violation {
        kind,
        message: message.into(),
    }
}

fn property(message: impl Into<String>) -> Violation {
    violation(Kind::Property, message)
}

/// Panics on a violation unless its kind is tolerated by `MCPM_FUZZ_TOLERATE`.
pub fn enforce(result: Checked) {
    if let Err(v) = result {
        let tolerated = std::env::var("MCPM_FUZZ_TOLERATE").unwrap_or_default();
        let name = match v.kind {
            Kind::Property => "property",
            Kind::Internal => "internal",
            Kind::Yaml => "yaml",
        };
        if v.kind != Kind::Property && tolerated.split(',').any(|t| t.trim() == name) {
            return;
        }
        panic!("{name} violation: {}", v.message);
    }
}

/// The built-in catalog, parsed once.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::load(None).expect("the built-in catalog loads"))
}

pub const PROFILE_PATH: &str = "/mcpm-fuzz/profile.toml";
pub const COMPOSE_PATH: &str = "/mcpm-fuzz/docker-compose.yml";

/// Replays one saved input through the checks of the target that found it.
/// The structured targets save their inputs in the text form of the target
/// named here (`profile_gen` → `profile`, `sync_gen` → `sync`).
pub fn replay(target: &str, data: &[u8]) -> Checked {
    match target {
        "profile" | "profile_gen" => profile(data),
        "compose" => compose(data),
        "sync" | "sync_gen" => sync(data),
        "docker_run" => docker_run(data),
        "import" => import(data),
        "dotenv" => dotenv(data),
        "interpolation" => interpolation(data),
        other => Err(property(format!("no fuzz target named `{other}`"))),
    }
}

// ---------------------------------------------------------------- profiles

/// Loading never panics; an error points inside the text; a profile that
/// loads generates YAML that parses back to the document, and a sync against
/// the file it generated writes nothing.
pub fn profile(data: &[u8]) -> Checked {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    profile_text_checks(text)
}

pub fn profile_text_checks(text: &str) -> Checked {
    let loaded = match load_profile_text(Path::new(PROFILE_PATH), text.to_string()) {
        Ok(loaded) => loaded,
        Err(err) => return located_inside(&err, text),
    };
    generated_is_in_sync(&loaded)
}

/// An error about a text names a line and column inside it.
fn located_inside(err: &Error, text: &str) -> Checked {
    let Some(location) = &err.location else {
        return Err(property(format!(
            "error without a location: {}",
            err.message
        )));
    };
    let lines = text.split('\n').count();
    if location.line == 0 || location.line > lines || location.column == 0 {
        return Err(property(format!(
            "error located at {}:{} outside the text ({lines} lines): {}",
            location.line, location.column, err.message
        )));
    }
    let line_chars = text
        .split('\n')
        .nth(location.line - 1)
        .map_or(0, |line| line.chars().count());
    if location.column > line_chars + 1 {
        return Err(property(format!(
            "error at column {} of a {line_chars}-character line: {}",
            location.column, err.message
        )));
    }
    Ok(())
}

/// Renders `loaded`; a render error is input the user must fix (fine), but
/// what renders must read back and be in sync with itself.
fn generated_is_in_sync(loaded: &LoadedProfile) -> Checked {
    let Ok(rendered) = mcpm::compose::render(loaded, catalog(), RenderOptions::default()) else {
        return Ok(());
    };
    let yaml = rendered.yaml();
    reads_back(&yaml, &rendered.document)?;
    let state = Files {
        profile: loaded.source.text.clone(),
        compose: Some(yaml),
        env: env_text("", &rendered),
    };
    let options = SyncOptions {
        strategy: ConflictStrategy::Manual,
        direction: Direction::Both,
        import: true,
    };
    match sync_once(&state, options)? {
        Outcome::Synced { files, changed } => {
            if !changed.is_empty() {
                return Err(property(format!(
                    "a sync right after generate plans changes: {changed:?}"
                )));
            }
            if files != state {
                return Err(property(
                    "a sync right after generate rewrites a file".to_string(),
                ));
            }
            Ok(())
        }
        Outcome::Refused(why) => Err(property(format!(
            "a sync right after generate stops: {why}"
        ))),
    }
}

/// YAML mcpm emitted parses back to the value it was emitted from.
fn reads_back(yaml: &str, document: &Value) -> Checked {
    match serde_yaml_ng::from_str::<Value>(yaml) {
        Ok(parsed) if &parsed == document => Ok(()),
        Ok(_) => Err(violation(
            Kind::Yaml,
            format!("generated YAML reads back as a different document:\n{yaml}"),
        )),
        Err(err) => Err(violation(
            Kind::Yaml,
            format!("generated YAML does not parse ({err}):\n{yaml}"),
        )),
    }
}

// ---------------------------------------------------------------- sync

/// The three files a sync reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    pub profile: String,
    pub compose: Option<String>,
    pub env: String,
}

#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    pub strategy: ConflictStrategy,
    pub direction: Direction,
    pub import: bool,
}

impl SyncOptions {
    /// Options from one byte, so every input chooses its own.
    pub fn from_byte(byte: u8) -> Self {
        let strategy = match byte & 3 {
            0 => ConflictStrategy::ProfileWins,
            1 => ConflictStrategy::DockerWins,
            2 => ConflictStrategy::Merge,
            _ => ConflictStrategy::Manual,
        };
        let direction = match (byte >> 2) % 3 {
            0 => Direction::Both,
            1 => Direction::ToDocker,
            _ => Direction::ToProfile,
        };
        Self {
            strategy,
            direction,
            import: byte & 0x20 == 0,
        }
    }

    pub fn to_byte(self) -> u8 {
        let strategy = match self.strategy {
            ConflictStrategy::ProfileWins => 0,
            ConflictStrategy::DockerWins => 1,
            ConflictStrategy::Merge => 2,
            ConflictStrategy::Manual => 3,
        };
        let direction = match self.direction {
            Direction::Both => 0,
            Direction::ToDocker => 1,
            Direction::ToProfile => 2,
        };
        strategy | direction << 2 | if self.import { 0 } else { 0x20 }
    }
}

pub enum Outcome {
    /// The files after the sync, and the servers whose plan changes anything.
    Synced { files: Files, changed: Vec<String> },
    /// The sync stops without writing: bad input, or conflicts left pending.
    Refused(String),
}

/// The line between the profile and the compose file in a `sync` input.
pub const SEPARATOR: &str = "\n#---8<--- mcpm-fuzz compose ---8<---\n";

/// The `sync` input format: one options byte, the profile text, then
/// optionally [`SEPARATOR`] and the compose file's text.
pub fn encode_sync(options: SyncOptions, profile: &str, compose: Option<&str>) -> Vec<u8> {
    let mut out = vec![options.to_byte()];
    out.extend_from_slice(profile.as_bytes());
    if let Some(compose) = compose {
        out.extend_from_slice(SEPARATOR.as_bytes());
        out.extend_from_slice(compose.as_bytes());
    }
    out
}

/// A sync that writes, then a second sync over its outputs, writes nothing.
pub fn sync(data: &[u8]) -> Checked {
    let Some((&byte, rest)) = data.split_first() else {
        return Ok(());
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return Ok(());
    };
    let (profile, compose) = match text.split_once(SEPARATOR) {
        Some((profile, compose)) => (profile, Some(compose.to_string())),
        None => (text, None),
    };
    let files = Files {
        profile: profile.to_string(),
        compose,
        env: String::new(),
    };
    sync_twice(&files, SyncOptions::from_byte(byte))
}

pub fn sync_twice(files: &Files, options: SyncOptions) -> Checked {
    let Outcome::Synced { files: first, .. } = sync_once(files, options)? else {
        return Ok(());
    };
    match sync_once(&first, options)? {
        Outcome::Synced {
            files: second,
            changed,
        } => {
            if second != first {
                let which: Vec<&str> = [
                    (second.profile != first.profile, "profile"),
                    (second.compose != first.compose, "compose file"),
                    (second.env != first.env, ".env"),
                ]
                .iter()
                .filter(|(differs, _)| *differs)
                .map(|(_, name)| *name)
                .collect();
                return Err(property(format!(
                    "a second sync ({options:?}) rewrites the {} (servers {changed:?})\n--- after the first sync:\n{}\n{}\n--- after the second:\n{}\n{}",
                    which.join(" and "),
                    first.profile,
                    first.compose.as_deref().unwrap_or("<none>"),
                    second.profile,
                    second.compose.as_deref().unwrap_or("<none>"),
                )));
            }
            Ok(())
        }
        Outcome::Refused(why) => Err(property(format!(
            "a second sync ({options:?}) stops after the first succeeded: {why}\n--- after the first sync:\n{}\n{}",
            first.profile,
            first.compose.as_deref().unwrap_or("<none>"),
        ))),
    }
}

/// `mcpm docker sync` over texts: `mcpm::sync::compute`, the steps
/// `sync::run` takes between reading and writing, without the files, the
/// lock, the cache and the prompts (pending conflicts refuse). Errors the
/// user must fix refuse; mcpm refusing its own output, or writing a file that
/// does not read back, is a violation.
pub fn sync_once(files: &Files, options: SyncOptions) -> Result<Outcome, Violation> {
    let profile_path = Path::new(PROFILE_PATH);
    let compose_path = Path::new(COMPOSE_PATH);
    let refused = |err: Error| Ok(Outcome::Refused(err.message));
    let loaded = match load_profile_text(profile_path, files.profile.clone()) {
        Ok(loaded) => loaded,
        Err(err) => return refused(err),
    };
    let catalog = catalog();
    let parsed = match compute::parse(&loaded, catalog, compose_path, files.compose.as_deref()) {
        Ok(parsed) => parsed,
        Err(err) => return refused(err),
    };
    let rules = Rules {
        strategy: options.strategy,
        direction: options.direction,
        import: options.import,
    };
    let mut plans = compute::plan_servers(&parsed.input(&loaded, rules), None);
    if plans.iter().any(|p| p.action == Action::Pending) {
        return Ok(Outcome::Refused("conflicts pending".into()));
    }
    let texts = Texts {
        profile_path,
        profile: &files.profile,
        compose_path,
        compose: files.compose.as_deref(),
        env: &files.env,
    };
    let outputs = match compute::outputs(parsed, &loaded, catalog, &texts, &mut plans) {
        Ok(outputs) => outputs,
        // An owned service broken by hand: the user's error to fix.
        Err(err) if err.status == ExitStatus::Invalid => return refused(err),
        Err(err) => return Err(violation(Kind::Internal, err.message)),
    };
    if plans
        .iter()
        .any(|p| matches!(p.action, Action::Unresolved { .. }))
    {
        return Ok(Outcome::Refused("compose edits left unresolved".into()));
    }
    if let Some(text) = &outputs.compose_text
        && Some(text) != files.compose.as_ref()
        && let Err(err) = serde_yaml_ng::from_str::<Value>(text)
    {
        return Err(violation(
            Kind::Yaml,
            format!("sync wrote a compose file that does not parse ({err}):\n{text}"),
        ));
    }
    let changed = plans
        .iter()
        .filter(|p| p.changes_anything())
        .map(|p| p.name.clone())
        .collect();
    Ok(Outcome::Synced {
        files: Files {
            profile: outputs.profile_text,
            compose: outputs.compose_text.or_else(|| files.compose.clone()),
            env: env_text(&files.env, &outputs.rendered),
        },
        changed,
    })
}

/// The `.env` after writing the rendered secrets into `existing`.
fn env_text(existing: &str, rendered: &Rendered) -> String {
    let vars: Vec<(String, String)> = rendered
        .secrets
        .iter()
        .map(|s| (s.name.clone(), s.value.clone()))
        .collect();
    mcpm::compose::dotenv::update(existing, &vars).unwrap_or_else(|| existing.to_string())
}

// ---------------------------------------------------------------- compose

/// A fixed profile that compose inputs are synced against.
pub const COMPOSE_PROFILE: &str = r#"name = "dev"

[servers.filesystem]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/projects"]
volumes = ["./workspace:/projects:ro"]

[servers.github]
command = "docker"
args = ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"]
env = { GITHUB_PERSONAL_ACCESS_TOKEN = "${GITHUB_PERSONAL_ACCESS_TOKEN}" }

[servers.fetch]
command = "uvx"
args = ["mcp-server-fetch"]
strategy = "on-demand"

[servers.search]
url = "https://example.com/mcp"
"#;

/// Any compose text: parsing, the sync base, the engine's model and `status`
/// never panic nor call user input a bug; syncing the fixed profile against
/// it twice writes nothing the second time.
pub fn compose(data: &[u8]) -> Checked {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    // The fast block reader answers only what the general parser answers.
    if let Some(fast) = mcpm::compose::block::parse(text)
        && serde_yaml_ng::from_str::<Value>(text).ok().as_ref() != Some(&fast)
    {
        return Err(violation(
            Kind::Yaml,
            "the fast block reader differs from serde_yaml_ng",
        ));
    }
    let path = Path::new(COMPOSE_PATH);
    let Ok(document) = mcpm::compose::parse_yaml(path, text) else {
        return Ok(());
    };
    let _ = SyncBase::from_document(&document);
    let _ = mcpm::sync::status_words(None, &document, catalog());
    let env = |name: &str| (name == "GITHUB_PERSONAL_ACCESS_TOKEN").then(|| "t".to_string());
    // `env_file:` makes the engine read files named by the input (`/dev/zero`
    // would never end); the `.env` reader has its own target.
    if !text.contains("env_file") {
        match mcpm::engine::desired::load_text(path, text, &Default::default(), &env) {
            Ok(desired) => {
                for service in desired.services.values() {
                    let _ = mcpm::engine::desired::config_hash(&service.config);
                }
            }
            Err(err) => not_internal(&err)?,
        }
    }
    let options = SyncOptions::from_byte(text.len() as u8);
    let files = Files {
        profile: COMPOSE_PROFILE.to_string(),
        compose: Some(text.to_string()),
        env: String::new(),
    };
    sync_twice(&files, options)
}

fn not_internal(err: &Error) -> Checked {
    let said = format!("{} {}", err.message, err.hint.as_deref().unwrap_or(""));
    if said.contains("bug in mcpm") {
        return Err(violation(Kind::Internal, said));
    }
    Ok(())
}

// ---------------------------------------------------------------- docker run

/// `docker run` arguments, separated by NUL: parsing never panics and points
/// at the image; a profile running them loads, generates and is in sync with
/// what it generated; a client config running them imports.
pub fn docker_run(data: &[u8]) -> Checked {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let args: Vec<String> = if text.is_empty() {
        Vec::new()
    } else {
        text.split('\0').map(str::to_string).collect()
    };
    if let Ok(run) = mcpm::catalog::docker_run::parse(&args)
        && args.get(run.image_index) != Some(&run.image)
    {
        return Err(property(format!(
            "image `{}` is not argument {} of {args:?}",
            run.image, run.image_index
        )));
    }
    let mut full = vec!["run".to_string()];
    full.extend(args);
    let quoted = |items: &[String]| {
        items
            .iter()
            .map(|a| serde_json::to_string(a).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
    };
    // JSON strings are valid TOML basic strings.
    let profile = format!(
        "name = \"run\"\n\n[servers.server]\ncommand = \"docker\"\nargs = [{}]\n",
        quoted(&full)
    );
    profile_text_checks(&profile)?;
    let config = format!(
        "{{\"mcpServers\": {{\"server\": {{\"command\": \"docker\", \"args\": [{}]}}}}}}",
        quoted(&full)
    );
    import(config.as_bytes())
}

// ---------------------------------------------------------------- import

/// Any client config (and MCPM `servers.json`): importing never panics; what
/// it produces loads as exactly the imported profile and passes the profile
/// checks.
pub fn import(data: &[u8]) -> Checked {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let options = mcpm::import::ImportOptions::default();
    let path = Path::new("/mcpm-fuzz/claude_desktop_config.json");
    if let Ok(import) = mcpm::import::from_client_config(path, text, &options) {
        imported_loads(&import)?;
    }
    let path = Path::new("/mcpm-fuzz/servers.json");
    if let Ok(import) = mcpm::import::from_mcpm(path, text, "dev", None, &options) {
        imported_loads(&import)?;
    }
    Ok(())
}

fn imported_loads(import: &mcpm::import::Import) -> Checked {
    let loaded =
        load_profile_text(Path::new(PROFILE_PATH), import.toml.clone()).map_err(|err| {
            property(format!(
                "an imported profile does not load: {}\n{}",
                err.message, import.toml
            ))
        })?;
    let json = |p: &mcpm::profile::Profile| serde_json::to_value(p).unwrap_or_default();
    if json(&loaded.profile) != json(&import.profile) {
        return Err(property(format!(
            "an imported profile loads as something else:\n{}",
            import.toml
        )));
    }
    generated_is_in_sync(&loaded)
}

// ---------------------------------------------------------------- .env

/// The `.env` input format: the value, NUL, then the existing `.env` text.
/// Reading never panics; what mcpm writes for a value reads back as that
/// value; writing the same variables twice changes nothing the second time.
pub fn dotenv(data: &[u8]) -> Checked {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let (value, existing) = text.split_once('\0').unwrap_or((text, ""));
    let path = Path::new("/mcpm-fuzz/.env");
    let outer = |name: &str| (name == "OUTER").then(|| "outer".to_string());
    let _ = mcpm::engine::env_file::parse(path, text, &outer);
    let no_env = |_: &str| None;

    let line = format!("SECRET={}\n", mcpm::compose::dotenv::quote(value));
    let read = mcpm::engine::env_file::parse(path, &line, &no_env)
        .map_err(|err| property(format!("`{line}` does not read: {}", err.message)))?;
    if read.len() != 1 || read[0].value.as_deref() != Some(value) {
        return Err(property(format!(
            "`{}` reads back as {read:?}, not {value:?}",
            line.trim_end()
        )));
    }

    let vars = vec![
        ("SECRET".to_string(), value.to_string()),
        ("OTHER_KEY".to_string(), format!("{value}'$x")),
    ];
    let Some(written) = mcpm::compose::dotenv::update(existing, &vars) else {
        return Ok(());
    };
    if let Some(again) = mcpm::compose::dotenv::update(&written, &vars) {
        return Err(property(format!(
            "a second .env update rewrites {written:?} as {again:?}"
        )));
    }
    // What compose reads: the last assignment of each name wins.
    if mcpm::engine::env_file::parse(path, existing, &no_env).is_ok() {
        let read = mcpm::engine::env_file::parse(path, &written, &no_env).map_err(|err| {
            property(format!(
                "a readable .env no longer reads after mcpm's update: {}\n{written}",
                err.message
            ))
        })?;
        for (name, wanted) in &vars {
            let got = read.iter().rev().find(|a| &a.name == name);
            if got.and_then(|a| a.value.as_deref()) != Some(wanted.as_str()) {
                return Err(property(format!(
                    "after mcpm's update, {name} reads as {got:?}, not {wanted:?}:\n{written}"
                )));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- interpolation

/// A profile value means the same in the compose file: converting it keeps
/// what compose's interpolation makes of it, is idempotent, and a value that
/// reads no variable does not depend on the environment.
pub fn interpolation(data: &[u8]) -> Checked {
    use mcpm::compose::interpolation::to_compose;
    use mcpm::engine::interpolate::{Problems, interpolate};
    let Ok(value) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let set = |name: &str| match name {
        "A" => Some("1".to_string()),
        "EMPTY" => Some(String::new()),
        "DOLLAR" => Some("$A".to_string()),
        _ => None,
    };
    let other = |name: &str| (name != "A").then(|| "x".to_string());
    let eval = |text: &str, lookup: &dyn Fn(&str) -> Option<String>| {
        let mut problems = Problems::default();
        let out = interpolate(text, lookup, "value", &mut problems);
        (out, problems)
    };
    let original = eval(value, &set);
    let Ok(converted) = to_compose(value) else {
        return Ok(());
    };
    let through = eval(&converted.text, &set);
    if through != original {
        return Err(property(format!(
            "{value:?} becomes {:?}, which compose reads as {through:?}, not {original:?}",
            converted.text
        )));
    }
    match to_compose(&converted.text) {
        Ok(again) if again == converted => {}
        again => {
            return Err(property(format!(
                "converting {:?} again gives {again:?}",
                converted.text
            )));
        }
    }
    if !converted.interpolates && eval(&converted.text, &other).0 != through.0 {
        return Err(property(format!(
            "{:?} reads no variable but depends on them",
            converted.text
        )));
    }
    Ok(())
}
