//! Editing a profile from the command line (`mcpm profile add|rm`): one
//! server in or out, losslessly (comments, key order and every other server
//! keep their bytes), proved to load as the intended profile before it is
//! written, and written atomically with a backup under the profile's lock.
//!
//! The text edits are pure ([`add_to_text`], [`remove_from_text`]); [`add_server`]
//! and [`remove_server`] wrap them in the lock, the read and the write.
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::config::ConfigDir;
use crate::error::{Error, Result};
use crate::files::{self, LockMode, WriteOptions, WriteOutcome};
use crate::source::Segment;

use super::edit::{ProfileEdit, with_line_endings_of};
use super::load::{LoadedProfile, load_profile_text, resolve_profile_path};
use super::model::{EnvValue, Profile, ServerSpec};
use super::validate::{check_server, is_project_like_name, is_server_name, suggest_server_name};

/// The profile a `profile add`/`rm` edits, and whether it may be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditTarget {
    pub path: PathBuf,
    /// The `name` a new profile gets (from the name or the file's stem);
    /// `None` when the profile must already exist.
    pub new_name: Option<String>,
}

/// Finds the profile `arg` names (a path, or a name in `<config dir>/profiles/`).
/// With `may_create`, a name or path that does not exist yet is a profile to
/// create; its `name` is the name given, or the file's stem.
pub fn locate_for_edit(arg: &str, config: &ConfigDir, may_create: bool) -> Result<EditTarget> {
    match resolve_profile_path(arg, config) {
        Ok(path) if path.exists() || !may_create => Ok(EditTarget {
            path,
            new_name: None,
        }),
        Ok(path) => {
            let stem = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .unwrap_or_default()
                .to_string();
            if path.extension().is_none_or(|ext| ext != "toml") || !is_project_like_name(&stem) {
                return Err(Error::invalid(format!(
                    "{} does not exist, and its name cannot name a new profile",
                    path.display()
                ))
                .hint("a new profile's file is NAME.toml, NAME made of lowercase letters, digits, `_` and `-` (e.g. work.toml)"));
            }
            Ok(EditTarget {
                path,
                new_name: Some(stem),
            })
        }
        // Not a path and not in the config dir: a new profile there, when
        // the name can be one.
        Err(_) if may_create && is_project_like_name(arg) => Ok(EditTarget {
            path: config.profiles().join(format!("{arg}.toml")),
            new_name: Some(arg.to_string()),
        }),
        Err(err) if may_create => Err(Error::invalid(format!(
            "`{arg}` is not a profile, and cannot name a new one"
        ))
        .hint(format!(
            "profile names use lowercase letters, digits, `_` and `-` (e.g. `{}`); or pass a path to a .toml file",
            suggest_server_name(arg).replace('.', "-")
        ))
        .at(err.location.map(|location| *location))),
        Err(err) => Err(err),
    }
}

/// The server `--command C --arg A… --env K=V…` or `--url U --header K=V…`
/// describe. Flags of both kinds are kept as given, so the profile's own
/// check names the mix ("remote server cannot have `env`").
pub fn server_from_flags(
    command: Option<&str>,
    args: &[String],
    env: &[String],
    url: Option<&str>,
    headers: &[String],
) -> Result<ServerSpec> {
    let mut spec = ServerSpec {
        command: command.map(str::to_string),
        args: args.to_vec(),
        url: url.map(str::to_string),
        ..ServerSpec::default()
    };
    for pair in env {
        let (key, value) = split_pair("--env", pair)?;
        spec.env.insert(key, EnvValue::Text(value));
    }
    for pair in headers {
        let (key, value) = split_pair("--header", pair)?;
        spec.headers.insert(key, value);
    }
    Ok(spec)
}

/// `K=V` → `(K, V)`; the value may hold `=` itself.
fn split_pair(flag: &str, pair: &str) -> Result<(String, String)> {
    match pair.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(
            Error::invalid(format!("{flag} `{pair}` is not KEY=VALUE")).hint(format!(
                "write {flag} 'NAME=value' (the value may be empty, or hold `=`)"
            )),
        ),
    }
}

/// What an edit did to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EditAction {
    Added,
    /// `--force` over a server of the same name.
    Replaced,
    Removed,
}

/// What `add_server`/`remove_server` did.
#[derive(Debug, Clone, Serialize)]
pub struct EditReport {
    /// The profile file (as given; a symlink's target is what was written).
    pub profile: PathBuf,
    /// The profile's `name`.
    pub profile_name: String,
    /// The profile file did not exist before.
    pub created: bool,
    pub server: String,
    pub action: EditAction,
    /// Where literal secrets of the new server sit (`servers.NAME.env.KEY`).
    pub literal_secrets: Vec<String>,
    /// Values `generate` will reject, and the like.
    pub warnings: Vec<String>,
}

/// A server to add.
#[derive(Debug, Clone)]
pub struct AddServer {
    pub name: String,
    pub spec: ServerSpec,
    /// Replace a server of the same name instead of refusing.
    pub force: bool,
}

/// Adds (or with `force` replaces) a server in the profile at `target`,
/// creating the profile when it is new. Nothing is written unless the
/// result loads as exactly the profile intended.
pub fn add_server(
    target: &EditTarget,
    request: &AddServer,
    lock_timeout: Duration,
) -> Result<EditReport> {
    check_new_server(&request.name, &request.spec)?;
    let _lock = files::lock_files(&[&target.path], LockMode::Exclusive, lock_timeout)?;
    files::sweep_temps(&target.path);
    let current = files::read_optional(&target.path)?;
    let created = current.is_none();
    let text = match (current, &target.new_name) {
        (Some(text), _) => text,
        (None, Some(name)) => format!("name = \"{name}\"\n"),
        (None, None) => {
            return Err(Error::invalid(format!(
                "cannot read profile {}: no such file",
                target.path.display()
            )));
        }
    };
    let (new_text, action, loaded) = add_to_text(&target.path, &text, request)?;
    let mut warnings = Vec::new();
    let literal_secrets = crate::import::server_values(&request.name, &request.spec, &mut warnings);
    // A profile mcpm creates holding secrets is kept private from the first byte;
    // an existing file keeps the permissions its owner gave it.
    let mode = (created && !literal_secrets.is_empty()).then_some(0o600);
    files::write_atomic(
        &target.path,
        new_text.as_bytes(),
        WriteOptions { mode, backup: true },
    )?;
    Ok(EditReport {
        profile: target.path.clone(),
        profile_name: loaded.profile.name,
        created,
        server: request.name.clone(),
        action,
        literal_secrets,
        warnings,
    })
}

/// Removes the server `name` from the profile at `path`.
pub fn remove_server(path: &Path, name: &str, lock_timeout: Duration) -> Result<EditReport> {
    let _lock = files::lock_files(&[path], LockMode::Exclusive, lock_timeout)?;
    files::sweep_temps(path);
    let bytes = std::fs::read(path).map_err(|err| Error::io("read profile", path, err))?;
    let text = crate::source::decode(path, bytes)?;
    let (new_text, loaded) = remove_from_text(path, &text, name)?;
    let outcome = files::write_atomic(
        path,
        new_text.as_bytes(),
        WriteOptions {
            mode: None,
            backup: true,
        },
    )?;
    debug_assert_ne!(outcome, WriteOutcome::Unchanged);
    Ok(EditReport {
        profile: path.to_path_buf(),
        profile_name: loaded.profile.name,
        created: false,
        server: name.to_string(),
        action: EditAction::Removed,
        literal_secrets: Vec::new(),
        warnings: Vec::new(),
    })
}

/// The server's name and fields must make a valid profile entry: the same
/// checks a loaded profile passes, phrased for the command line.
fn check_new_server(name: &str, spec: &ServerSpec) -> Result<()> {
    if !is_server_name(name) {
        return Err(Error::invalid(format!("invalid server name `{name}`")).hint(format!(
            "server names become compose service names: lowercase letters, digits, `_`, `.` and `-`, starting with a letter or digit (e.g. `{}`)",
            suggest_server_name(name)
        )));
    }
    check_server(name, spec).map_err(|problem| {
        Error::invalid(problem).hint("fix the value given on the command line; nothing was written")
    })
}

/// `text` (the profile at `path`) with `request` added: a new server is
/// appended after everything else as its own `[servers.NAME]` table, a
/// replaced one (`force`) is edited in place so its position and the
/// comments on the keys it keeps survive. Returns the new text, what was
/// done, and the new text loaded.
pub fn add_to_text(
    path: &Path,
    text: &str,
    request: &AddServer,
) -> Result<(String, EditAction, LoadedProfile)> {
    check_new_server(&request.name, &request.spec)?;
    let before = load_profile_text(path, text.to_string())?;
    let existing = before.profile.servers.get(&request.name);
    if existing.is_some() && !request.force {
        let at = before
            .source
            .locate_nearest(&Segment::path(["servers", request.name.as_str()]));
        return Err(Error::invalid(format!(
            "server `{}` already exists in {}",
            request.name,
            path.display()
        ))
        .at(at)
        .hint(
            "pass --force to replace it (the old file is kept as .bak), or choose another name",
        ));
    }
    let mut intended = before.profile.clone();
    intended
        .servers
        .insert(request.name.clone(), request.spec.clone());
    match existing {
        Some(old) => {
            let new_text = replace_in_place(text, &request.name, old, &request.spec)?;
            let loaded = verify(path, &new_text, &intended)?;
            Ok((new_text, EditAction::Replaced, loaded))
        }
        None => {
            let appended = append_server(text, &request.name, &request.spec)?;
            // Appending a table is invalid where the file writes `servers` as
            // an inline table or with dotted keys: edit the tree there instead.
            if let Ok(loaded) = verify(path, &appended, &intended) {
                return Ok((appended, EditAction::Added, loaded));
            }
            let mut edit = ProfileEdit::parse(text).map_err(|err| internal(path, &err))?;
            edit.set_server(&request.name, None, &request.spec)
                .map_err(|err| internal(path, &err))?;
            let new_text = with_line_endings_of(text, edit.text());
            let loaded = verify(path, &new_text, &intended)?;
            Ok((new_text, EditAction::Added, loaded))
        }
    }
}

/// `text` without the server `name` (and its sub-tables and the comments
/// above its header); everything else keeps its bytes.
pub fn remove_from_text(path: &Path, text: &str, name: &str) -> Result<(String, LoadedProfile)> {
    let before = load_profile_text(path, text.to_string())?;
    if !before.profile.servers.contains_key(name) {
        let names: Vec<String> = before
            .profile
            .servers
            .keys()
            .map(|name| format!("`{name}`"))
            .collect();
        let hint = if names.is_empty() {
            "the profile has no servers".to_string()
        } else {
            format!("servers in it: {}", names.join(", "))
        };
        return Err(Error::invalid(format!("no server `{name}` in {}", path.display())).hint(hint));
    }
    let mut document = text
        .parse::<toml_edit::DocumentMut>()
        .map_err(|err| internal(path, &err.to_string()))?;
    remove_keeping_context(&mut document, name).map_err(|what| internal(path, what))?;
    let mut intended = before.profile.clone();
    intended.servers.remove(name);
    let new_text = with_line_endings_of(text, document.to_string());
    let loaded = verify(path, &new_text, &intended)?;
    Ok((new_text, loaded))
}

/// Removes `servers.NAME`. The comment block right above its header goes
/// with it; what a blank line separates from the header (a comment that
/// ended the file, a section note) belonged to what came before, and is
/// handed to whatever now follows: the next table's header, or the end of
/// the file.
fn remove_keeping_context(
    document: &mut toml_edit::DocumentMut,
    name: &str,
) -> std::result::Result<(), &'static str> {
    use toml_edit::Item;
    let servers = document
        .get_mut("servers")
        .and_then(Item::as_table_like_mut)
        .ok_or("`servers` is not a table")?;
    let removed = servers
        .remove(name)
        .ok_or("the server is not in `servers`")?;
    let Item::Table(removed) = removed else {
        return Ok(());
    };
    let (Some(position), false) = (
        removed.position(),
        removed.is_implicit() || removed.is_dotted(),
    ) else {
        return Ok(());
    };
    let prefix = removed
        .decor()
        .prefix()
        .and_then(|raw| raw.as_str())
        .unwrap_or_default();
    let mut kept = context_before_block(prefix).to_string();
    let mut next = None;
    visit_tables(document.as_table_mut(), &mut |table| {
        if let Some(at) = table.position()
            && at > position
            && !table.is_implicit()
            && !table.is_dotted()
            && next.is_none_or(|best| at < best)
        {
            next = Some(at);
        }
    });
    let starts_blank = |text: &str| {
        text.split_inclusive('\n')
            .next()
            .is_some_and(|line| line.trim().is_empty())
    };
    match next {
        Some(at) => visit_tables(document.as_table_mut(), &mut |table| {
            if table.position() == Some(at) {
                let follows = table
                    .decor()
                    .prefix()
                    .and_then(|raw| raw.as_str())
                    .unwrap_or_default()
                    .to_string();
                if starts_blank(&follows) {
                    trim_blank_tail(&mut kept);
                }
                table.decor_mut().set_prefix(format!("{kept}{follows}"));
            }
        }),
        None => {
            let trailing = document.trailing().as_str().unwrap_or_default().to_string();
            if trailing.is_empty() || starts_blank(&trailing) {
                trim_blank_tail(&mut kept);
            }
            document.set_trailing(format!("{kept}{trailing}"));
        }
    }
    Ok(())
}

/// The part of a header's prefix up to its last blank line: what is not the
/// comment block directly above the header.
fn context_before_block(prefix: &str) -> &str {
    let mut end = 0;
    let mut at = 0;
    for line in prefix.split_inclusive('\n') {
        at += line.len();
        if line.trim().is_empty() && line.ends_with('\n') {
            end = at;
        }
    }
    &prefix[..end]
}

/// Drops one blank line from the end of `text`: the one that separated the
/// removed table from what came before (`add` puts exactly one there), when
/// what follows starts with a blank line of its own.
fn trim_blank_tail(text: &mut String) {
    if let Some(rest) = text.strip_suffix('\n') {
        let start = rest.rfind('\n').map_or(0, |i| i + 1);
        if text[start..].trim().is_empty() {
            text.truncate(start);
        }
    }
}

fn visit_tables(table: &mut toml_edit::Table, visit: &mut dyn FnMut(&mut toml_edit::Table)) {
    for (_, item) in table.iter_mut() {
        if let toml_edit::Item::Table(child) = item {
            visit(child);
            visit_tables(child, visit);
        }
    }
}

/// `[servers.NAME]` (and `[servers.NAME.docker]`) appended after a blank
/// line, in the file's own line ending; the old text stays a byte-for-byte
/// prefix.
fn append_server(text: &str, name: &str, spec: &ServerSpec) -> Result<String> {
    let fragment = server_toml(name, spec)?;
    let crlf = text.contains("\r\n");
    let newline = if crlf { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(text.len() + fragment.len() + 4);
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push_str(newline);
    }
    if !text.trim().is_empty() {
        out.push_str(newline);
    }
    if crlf {
        out.push_str(&fragment.replace('\n', "\r\n"));
    } else {
        out.push_str(&fragment);
    }
    Ok(out)
}

/// A server as its own `[servers.NAME]` table, keys in the order a person
/// reads them (command, args, env, url, headers, …), `env` and `headers`
/// inline, `docker` as its own `[servers.NAME.docker]` table.
pub fn server_toml(name: &str, spec: &ServerSpec) -> Result<String> {
    use serde::Serialize as _;
    use toml_edit::{Item, Table, Value};
    let failed = |what: String| {
        Error::runtime(format!(
            "internal error: cannot write server `{name}` as TOML: {what}"
        ))
    };
    let value = spec
        .serialize(toml_edit::ser::ValueSerializer::new())
        .map_err(|err| failed(err.to_string()))?;
    let Value::InlineTable(fields) = value else {
        return Err(failed("not a table".into()));
    };
    let mut table = fields.into_table();
    if let Some(Item::Value(Value::InlineTable(docker))) = table.remove("docker") {
        table.insert("docker", Item::Table(docker.into_table()));
    }
    let mut servers = Table::new();
    servers.set_implicit(true);
    servers.insert(name, Item::Table(table));
    let mut document = toml_edit::DocumentMut::new();
    document.insert("servers", Item::Table(servers));
    Ok(document.to_string())
}

/// The server `name` made to say `new`, key by key (`ProfileEdit`).
fn replace_in_place(text: &str, name: &str, old: &ServerSpec, new: &ServerSpec) -> Result<String> {
    let mut edit = ProfileEdit::parse(text).map_err(|err| internal(Path::new(""), &err))?;
    edit.set_server(name, Some(old), new)
        .map_err(|err| internal(Path::new(""), &err))?;
    Ok(with_line_endings_of(text, edit.text()))
}

/// Loads `text` as a profile and proves it is `intended`: the edit must not
/// have changed anything else. A difference is a bug, never the user's fault.
fn verify(path: &Path, text: &str, intended: &Profile) -> Result<LoadedProfile> {
    let loaded = load_profile_text(path, text.to_string()).map_err(|err| {
        internal(
            path,
            &format!("the edited profile does not load: {}", err.message),
        )
    })?;
    let as_json = |profile: &Profile| serde_json::to_value(profile).ok();
    if as_json(&loaded.profile) != as_json(intended) {
        return Err(internal(
            path,
            "the edited profile differs from what was intended",
        ));
    }
    Ok(loaded)
}

fn internal(path: &Path, what: &str) -> Error {
    Error::runtime(format!(
        "internal error editing {}: {what}; nothing was written",
        path.display()
    ))
    .hint("this is a bug in mcpm; please report it with the profile and the command you ran")
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
