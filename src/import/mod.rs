//! `mcpm profile import`: turns what users already have — an MCP client's JSON
//! config (Claude Desktop, Cursor, VS Code, Claude Code) or an MCPM profile tag
//! — into a TOML profile (SPEC §2, "MCPM compatibility").
//!
//! Each input format has its own reader (`client`, `mcpm`) that yields
//! [`Candidate`] servers in file order; this module names them (renaming and
//! de-duplicating), flags literal secrets, renders the TOML (`render`) and
//! proves the result loads as a profile and means what was imported before
//! anything is written. Everything here is pure: the command layer reads and
//! writes the files.
mod client;
mod entry;
mod json;
mod mcpm;
mod names;
mod render;
mod values;
pub(crate) use values::EDITOR_VARIABLES;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::compose::interpolation::to_compose;
use crate::compose::secrets::{MASK, SecretValue, is_secret_key, mask, secret_value, url_password};
use crate::error::{Error, Result};
use crate::profile::{DockerSettings, EnvValue, Profile, ServerSpec, load_profile_text};

use names::{profile_name_from, profile_name_from_path};
pub use values::Places;

pub use mcpm::{METADATA_FILE, PROFILES_V1_FILE, SERVERS_FILE, config_dir as mcpm_config_dir};

/// What the user asked for beyond the input itself.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `--name`: the profile name; derived from the tag or file name when unset.
    pub name: Option<String>,
    /// The directory the import runs in: `${workspaceFolder}` of a config
    /// that is not in a `.vscode` folder, and the base of relative paths.
    pub cwd: Option<PathBuf>,
    /// The user's home directory: `${userHome}`.
    pub home: Option<PathBuf>,
}

impl ImportOptions {
    /// Options for a command: the process's directory and the user's home.
    pub fn from_environment(name: Option<String>) -> Self {
        Self {
            name,
            cwd: std::env::current_dir().ok(),
            home: directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()),
        }
    }

    fn places(&self, file: &Path) -> Places {
        Places::for_file(file, self.cwd.as_deref(), self.home.as_deref())
    }
}

/// One server read from the input, under its original name.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub name: String,
    /// Only the fields an import can fill: command/args/env or url/headers,
    /// plus `enabled` and `description`.
    pub spec: ServerSpec,
    /// The remote transport the input named (`sse`, `http`, …); profiles have
    /// no field for it, so the TOML keeps it as a comment.
    pub transport: Option<String>,
}

/// A server the input holds but the profile cannot, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// What a reader found besides servers: warnings and skipped entries.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub warnings: Vec<String>,
    pub skipped: Vec<Skipped>,
}

impl Findings {
    fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    fn skip(&mut self, name: &str, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            name: name.to_string(),
            reason: reason.into(),
        });
    }
}

/// A server that had to change its name to become a profile server name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rename {
    pub from: String,
    pub to: String,
    pub reason: String,
}

/// Where the servers came from, for the header comment and the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// An MCP client config: `client` is a label ("Claude Desktop"), `keys`
    /// the server maps read (`mcpServers`, `servers`, `mcp.servers`).
    ClientConfig {
        path: String,
        client: String,
        keys: Vec<String>,
    },
    /// Servers tagged `tag` in MCPM's `servers.json` (or v1 `profiles.json`).
    Mcpm { path: String, tag: String },
}

impl Origin {
    /// One line for a person: "Claude Desktop config claude_desktop_config.json".
    fn describe(&self) -> String {
        match self {
            Origin::ClientConfig { path, client, .. } => {
                format!("{client} config {}", file_name(path))
            }
            Origin::Mcpm { tag, .. } => format!("MCPM profile `{tag}`"),
        }
    }
}

fn file_name(path: &str) -> &str {
    Path::new(path)
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or(path)
}

/// A server as it lands in the profile.
#[derive(Debug, Clone)]
pub struct ImportedServer {
    /// The profile server name (valid, unique).
    pub name: String,
    /// The name in the input.
    pub original: String,
    pub spec: ServerSpec,
    pub transport: Option<String>,
}

/// A finished import: the profile, its verified TOML text, and what happened.
#[derive(Debug, Clone)]
pub struct Import {
    pub origin: Origin,
    pub profile: Profile,
    /// In input order (the profile's own map is sorted by name).
    pub servers: Vec<ImportedServer>,
    pub renamed: Vec<Rename>,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
    /// Where literal secrets sit in the profile (`servers.github.env.TOKEN`).
    pub literal_secrets: Vec<String>,
    /// The TOML profile; it loads with `load_profile_text` and holds exactly
    /// `profile`.
    pub toml: String,
}

/// The `--json` report of an import.
#[derive(Debug, Serialize)]
pub struct ImportReport<'a> {
    pub profile: &'a str,
    pub source: &'a Origin,
    pub servers: Vec<ServerLine<'a>>,
    pub renamed: &'a [Rename],
    pub skipped: &'a [Skipped],
    pub warnings: &'a [String],
    pub literal_secrets: &'a [String],
    /// The file written (`-o`), else the profile text itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toml: Option<&'a str>,
}

/// One imported server in the report.
#[derive(Debug, Serialize)]
pub struct ServerLine<'a> {
    pub name: &'a str,
    /// The name in the input.
    pub from: &'a str,
    /// `stdio` or `remote`.
    pub kind: &'static str,
    pub enabled: bool,
}

impl Import {
    /// The report `--json` prints: with the path of the file written, or
    /// with the TOML text when nothing was written.
    pub fn report(&self, written: Option<&Path>) -> ImportReport<'_> {
        ImportReport {
            profile: &self.profile.name,
            source: &self.origin,
            servers: self
                .servers
                .iter()
                .map(|server| ServerLine {
                    name: &server.name,
                    from: &server.original,
                    kind: if server.spec.is_remote() {
                        "remote"
                    } else {
                        "stdio"
                    },
                    enabled: server.spec.is_enabled(),
                })
                .collect(),
            renamed: &self.renamed,
            skipped: &self.skipped,
            warnings: &self.warnings,
            literal_secrets: &self.literal_secrets,
            profile_file: written.map(|path| path.display().to_string()),
            toml: written.is_none().then_some(self.toml.as_str()),
        }
    }
}

/// Imports an MCP client config (`mcpServers`, VS Code's `servers` or
/// `mcp.servers`) read from `path`.
pub fn from_client_config(path: &Path, text: &str, options: &ImportOptions) -> Result<Import> {
    let document = json::parse(path, text)?;
    let read = client::read(path, &document, &options.places(path))?;
    let description = format!("Imported from {}", read.origin.describe());
    assemble(
        read,
        options,
        &profile_name_from_path(path),
        Some(description),
    )
}

/// Imports the servers tagged `tag` from MCPM's `servers.json` (or a v1
/// `profiles.json`) at `path`; `metadata` is MCPM's `profiles_metadata.json`,
/// which may hold the profile's description.
pub fn from_mcpm(
    path: &Path,
    text: &str,
    tag: &str,
    metadata: Option<&str>,
    options: &ImportOptions,
) -> Result<Import> {
    let document = json::parse(path, text)?;
    let mut read = mcpm::read(path, &document, tag, &options.places(path))?;
    let stored = match metadata.map(|text| mcpm::description(text, tag)) {
        Some(Ok(description)) => description,
        Some(Err(why)) => {
            read.findings.warn(format!(
                "MCPM's profiles_metadata.json could not be read ({why}); the description was not imported"
            ));
            None
        }
        None => None,
    };
    let description = stored.unwrap_or_else(|| format!("Imported from MCPM profile \"{tag}\""));
    assemble(read, options, &profile_name_from(tag), Some(description))
}

/// What a reader hands to [`assemble`].
#[derive(Debug)]
pub(crate) struct Read {
    pub origin: Origin,
    pub candidates: Vec<Candidate>,
    pub findings: Findings,
    /// How many server entries the input held (imported or not).
    pub total: usize,
}

/// Names the candidates, builds the profile, renders and verifies it.
fn assemble(
    read: Read,
    options: &ImportOptions,
    default_name: &str,
    description: Option<String>,
) -> Result<Import> {
    let Read {
        origin,
        candidates,
        findings,
        total,
    } = read;
    let name = match &options.name {
        Some(name) => {
            names::check_profile_name(name)?;
            name.clone()
        }
        None => default_name.to_string(),
    };
    if candidates.is_empty() {
        return Err(nothing_imported(&origin, total, &findings.skipped));
    }
    let originals: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    let assigned = names::assign(&originals);
    let mut renamed = Vec::new();
    let mut servers = Vec::new();
    for (candidate, (server_name, rename)) in candidates.into_iter().zip(assigned) {
        if let Some(reason) = rename {
            renamed.push(Rename {
                from: candidate.name.clone(),
                to: server_name.clone(),
                reason,
            });
        }
        servers.push(ImportedServer {
            name: server_name,
            original: candidate.name,
            spec: candidate.spec,
            transport: candidate.transport,
        });
    }
    let mut warnings = findings.warnings;
    let literal_secrets = check_values(&servers, &mut warnings);
    let profile = Profile {
        name,
        description,
        docker: DockerSettings::default(),
        servers: servers
            .iter()
            .map(|server| (server.name.clone(), server.spec.clone()))
            .collect(),
    };
    let mut import = Import {
        origin,
        profile,
        servers,
        renamed,
        skipped: findings.skipped,
        warnings,
        literal_secrets,
        toml: String::new(),
    };
    import.toml = render::render(&import);
    verify(&import.toml, &import.profile)?;
    Ok(import)
}

fn nothing_imported(origin: &Origin, total: usize, skipped: &[Skipped]) -> Error {
    if total == 0 {
        return Error::invalid(format!("{} holds no servers", origin.describe()))
            .hint("add servers in the client (or tag them in MCPM) first, or import another file");
    }
    let reasons: Vec<String> = skipped
        .iter()
        .map(|s| format!("`{}`: {}", s.name, s.reason))
        .collect();
    Error::invalid(format!(
        "none of the {} in {} could be imported ({})",
        crate::output::count(total, "server", "servers"),
        origin.describe(),
        reasons.join("; ")
    ))
    .hint("each server needs a `command` (stdio) or an http(s) `url` (remote)")
}

/// Warns about values `mcpm docker generate` will reject, and lists literal
/// secrets: they are kept (dropping them would break the server), but the
/// user should know the profile now holds them.
fn check_values(servers: &[ImportedServer], warnings: &mut Vec<String>) -> Vec<String> {
    let mut secrets = Vec::new();
    for server in servers {
        secrets.extend(server_values(&server.name, &server.spec, warnings));
    }
    if !secrets.is_empty() {
        warnings.push(literal_secrets_warning(&secrets));
    }
    secrets
}

/// One line that names where the literal secrets sit and what to do about them.
pub fn literal_secrets_warning(secrets: &[String]) -> String {
    format!(
        "the profile holds {} literal secret(s) ({}): keep it private, or replace each with a `${{VAR}}` reference and export VAR; `mcpm docker generate -o` moves them to a 0600 .env file",
        secrets.len(),
        secrets.join(", ")
    )
}

/// [`check_values`] for one server: warns about values `generate` will
/// reject and returns where its literal secrets sit
/// (`servers.NAME.env.KEY`). `profile add` checks a new server with it.
pub fn server_values(name: &str, spec: &ServerSpec, warnings: &mut Vec<String>) -> Vec<String> {
    let mut secrets = Vec::new();
    // Each value with the secret-looking key it belongs to, if any.
    let mut values: Vec<(String, &str, Option<&str>)> = Vec::new();
    if let Some(command) = &spec.command {
        values.push(("command".into(), command, None));
    }
    for (i, arg) in spec.args.iter().enumerate() {
        values.push((format!("args[{i}]"), arg, None));
    }
    for (key, value) in &spec.env {
        if let EnvValue::Text(text) = value {
            values.push((format!("env.{key}"), text, Some(key.as_str())));
        }
    }
    if let Some(url) = &spec.url {
        values.push(("url".into(), url, None));
    }
    for (key, value) in &spec.headers {
        values.push((format!("headers.{key}"), value, Some(key.as_str())));
    }
    for (field, value, key) in values {
        let place = format!("servers.{name}.{field}");
        // The warning quotes the value: never a secret one.
        let shown = match key {
            Some(key) if is_secret_key(key) => MASK.to_string(),
            _ => mask(value, &[]),
        };
        match to_compose(value) {
            Err(err) => warnings.push(format!(
                "server `{name}`: `{field}` holds `{shown}`, which `mcpm docker generate` will reject: {} ({})",
                err.message, err.hint
            )),
            Ok(_) => {
                // Any literal part counts: the same rule generate applies.
                let literal_secret = key.is_some_and(|key| {
                    is_secret_key(key) && secret_value(key, value.trim()) != SecretValue::Kept
                });
                if literal_secret || url_password(value).is_some() {
                    secrets.push(place);
                }
            }
        }
    }
    secrets
}

/// One server taken from an MCP client config (`profile add --from-client`).
#[derive(Debug, Clone)]
pub struct ClientServer {
    pub spec: ServerSpec,
    /// The remote transport the entry named (`sse`, `http`, …), which a
    /// profile does not record.
    pub transport: Option<String>,
    /// What the reader noticed about this entry (dropped fields, …).
    pub warnings: Vec<String>,
}

/// Reads the entry `server` of the MCP client config `text` (from `path`)
/// with the same reader `profile import` uses. An entry that is absent or
/// cannot become a server is an error naming the ones that can.
pub fn client_server(path: &Path, text: &str, server: &str) -> Result<ClientServer> {
    let document = json::parse(path, text)?;
    let places = ImportOptions::from_environment(None).places(path);
    let read = client::read(path, &document, &places)?;
    if let Some(skipped) = read.findings.skipped.iter().find(|s| s.name == server) {
        return Err(Error::invalid(format!(
            "server `{server}` in {} cannot be added: {}",
            path.display(),
            skipped.reason
        ))
        .hint("fix the entry in the client config, or add the server with --command or --url"));
    }
    let prefix = format!("server `{server}`:");
    let warnings = read
        .findings
        .warnings
        .iter()
        .filter(|warning| warning.starts_with(&prefix))
        .cloned()
        .collect();
    if let Some(at) = read.candidates.iter().position(|c| c.name == server) {
        let candidate = read.candidates.into_iter().nth(at).expect("found above");
        return Ok(ClientServer {
            spec: candidate.spec,
            transport: candidate.transport,
            warnings,
        });
    }
    let names: Vec<String> = read
        .candidates
        .iter()
        .map(|c| format!("`{}`", c.name))
        .collect();
    let hint = if names.is_empty() {
        "the file holds no server that can be added".to_string()
    } else {
        format!(
            "servers in it: {}; pick one with --server NAME",
            names.join(", ")
        )
    };
    Err(Error::invalid(format!("no server `{server}` in {}", path.display())).hint(hint))
}

/// Proves the TOML loads as a profile and holds exactly what was imported; a
/// difference is a bug in the writer, never the user's fault.
fn verify(text: &str, intended: &Profile) -> Result<()> {
    let internal = |what: String| {
        Error::runtime(format!("internal error: the imported profile {what}"))
            .hint("this is a bug in mcpm; please report it with the file you imported")
    };
    let loaded = load_profile_text(Path::new("<imported profile>"), text.to_string())
        .map_err(|err| internal(format!("does not load: {err}")))?;
    let as_json = |profile: &Profile| serde_json::to_value(profile).ok();
    if as_json(&loaded.profile) != as_json(intended) {
        return Err(internal("differs from what was imported".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
