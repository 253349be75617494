//! `mcpm profile import`: reads an MCP client config or MCPM's server list,
//! hands it to [`crate::import`], and prints or writes the verified profile.
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::cli::ImportArgs;
use crate::error::{Error, ExitStatus, Result};
use crate::files::{WriteOptions, write_atomic};
use crate::import::{self, Import, ImportOptions};
use crate::output;

use super::Context;

pub fn exec(context: &Context, args: ImportArgs) -> Result<ExitStatus> {
    if let Some(target) = &args.output {
        refuse_existing(target, args.force)?;
    }
    let options = ImportOptions::from_environment(args.name.clone());
    let imported = match (&args.from_mcpm, &args.file) {
        (Some(tag), _) => from_mcpm(context, tag, args.mcpm_config.as_deref(), &options)?,
        (None, Some(file)) => from_client_config(file, options)?,
        (None, None) => {
            return Err(Error::invalid("nothing to import")
                .hint("pass an MCP client config FILE, or --from-mcpm TAG"));
        }
    };
    report_findings(context, &imported);
    if let Some(target) = &args.output {
        write(context, target, &imported)?;
    }
    if args.json {
        let report = imported.report(args.output.as_deref());
        output::json(&report)?;
    } else if args.output.is_none() {
        output::stdout(&imported.toml)?;
    }
    context.note(&summary(&imported));
    if let Some(target) = &args.output {
        context.note(&format!("next: mcpm docker generate {}", target.display()));
    }
    Ok(ExitStatus::Ok)
}

/// `mcpm profile import FILE` (or `-` for stdin).
fn from_client_config(file: &Path, mut options: ImportOptions) -> Result<Import> {
    if file == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|err| Error::runtime(format!("cannot read standard input: {err}")))?;
        let text = crate::source::decode(Path::new("<stdin>"), bytes)?;
        // A file name is where the default profile name comes from; stdin has none.
        options.name.get_or_insert_with(|| "imported".to_string());
        return import::from_client_config(Path::new("<stdin>"), &text, &options);
    }
    let text = read(file, "read")?;
    import::from_client_config(file, &text, &options)
}

/// `mcpm profile import --from-mcpm TAG [--mcpm-config FILE]`.
fn from_mcpm(
    context: &Context,
    tag: &str,
    explicit: Option<&Path>,
    options: &ImportOptions,
) -> Result<Import> {
    let servers = match explicit {
        Some(path) => path.to_path_buf(),
        None => default_mcpm_file(context)?,
    };
    let text = read(&servers, "read MCPM's server list")?;
    let metadata_path = servers
        .parent()
        .unwrap_or(Path::new(""))
        .join(import::METADATA_FILE);
    let metadata = match std::fs::read_to_string(&metadata_path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            context.warn(&format!(
                "cannot read {}: {err}; the profile description was not imported",
                metadata_path.display()
            ));
            None
        }
    };
    import::from_mcpm(&servers, &text, tag, metadata.as_deref(), options)
}

/// `~/.config/mcpm/servers.json`, else MCPM 1.x's `profiles.json` beside it.
fn default_mcpm_file(context: &Context) -> Result<PathBuf> {
    let home = directories::BaseDirs::new()
        .map(|dirs| dirs.home_dir().to_path_buf())
        .ok_or_else(|| {
            Error::invalid("cannot find the home directory, where MCPM keeps its servers")
                .hint("pass --mcpm-config ~/.config/mcpm/servers.json")
        })?;
    let dir = import::mcpm_config_dir(&home);
    let servers = dir.join(import::SERVERS_FILE);
    if servers.is_file() {
        return Ok(servers);
    }
    let legacy = dir.join(import::PROFILES_V1_FILE);
    if legacy.is_file() {
        context.note(&format!(
            "{} is absent; reading MCPM 1.x profiles from {}",
            servers.display(),
            legacy.display()
        ));
        return Ok(legacy);
    }
    Err(Error::invalid(format!(
        "MCPM's server list {} does not exist",
        servers.display()
    ))
    .hint("pass --mcpm-config FILE, or import an MCP client config instead: mcpm profile import claude_desktop_config.json"))
}

fn read(path: &Path, action: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|err| Error::io(action, path, err))?;
    crate::source::decode(path, bytes)
}

/// An import creates a profile; replacing one the user has is opt-in.
fn refuse_existing(target: &Path, force: bool) -> Result<()> {
    if target.is_dir() {
        return Err(
            Error::invalid(format!("{} is a directory", target.display()))
                .hint("name the profile file, e.g. -o work.toml"),
        );
    }
    if target.exists() && !force {
        return Err(Error::invalid(format!("{} already exists", target.display()))
            .hint("choose another -o FILE, or pass --force to replace it (the old file is kept as FILE.bak)"));
    }
    Ok(())
}

fn write(context: &Context, target: &Path, imported: &Import) -> Result<()> {
    // The profile holds the secrets the client config held: keep it as private.
    let mode = (!imported.literal_secrets.is_empty()).then_some(0o600);
    write_atomic(
        target,
        imported.toml.as_bytes(),
        WriteOptions { mode, backup: true },
    )?;
    let private = if mode.is_some() {
        " (mode 0600: it holds literal secrets)"
    } else {
        ""
    };
    context.note(&format!("wrote {}{private}", target.display()));
    Ok(())
}

/// Renames and skipped servers first (each is a change the user should see),
/// then everything else the readers noticed.
fn report_findings(context: &Context, imported: &Import) {
    for rename in &imported.renamed {
        context.warn(&format!(
            "server `{}` was renamed `{}`: {}",
            rename.from, rename.to, rename.reason
        ));
    }
    for skipped in &imported.skipped {
        context.warn(&format!(
            "server `{}` was skipped: {}",
            skipped.name, skipped.reason
        ));
    }
    for warning in &imported.warnings {
        context.warn(warning);
    }
}

fn summary(imported: &Import) -> String {
    format!(
        "imported {} into profile `{}` ({} renamed, {} skipped)",
        output::count(imported.servers.len(), "server", "servers"),
        imported.profile.name,
        imported.renamed.len(),
        imported.skipped.len()
    )
}
