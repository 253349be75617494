//! The command line, declared with clap derive: definitions only, no logic.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Turn profiles of MCP servers into Docker Compose deployments and keep the two in sync.
#[derive(Debug, Parser)]
#[command(name = "mcpm", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Examples:\n  mcpm docker generate profiles-example/dev.toml\n  mcpm docker generate work -o docker-compose.yml\n  mcpm docker generate prod -o compose.yaml --check\n  mcpm completions bash > /etc/bash_completion.d/mcpm"
)]
pub struct Cli {
    /// Directory with `profiles/` and `templates/` [default: the platform config dir, e.g. ~/.config/mcpm]
    #[arg(long, global = true, env = "MCPM_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Print only errors: no warnings, no summaries.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with Docker Compose deployments of MCP servers.
    #[command(subcommand)]
    Docker(DockerCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
}

#[derive(Debug, Subcommand)]
pub enum DockerCommand {
    /// Generate a compose file from a profile.
    #[command(
        after_help = "Examples:\n  mcpm docker generate profiles-example/dev.toml          # print to stdout\n  mcpm docker generate dev -o docker-compose.yml          # write the file (and .env for secrets)\n  mcpm docker generate dev -o docker-compose.yml --check  # exit 4 if the file is stale\n  mcpm docker generate dev --explain                      # how each server was matched\n\nLiteral secrets in the profile never reach the compose file: they become ${VAR}\nreferences and, with -o, are written to a .env file beside it with mode 0600."
    )]
    Generate(GenerateArgs),
    /// Bring a profile and its compose file into step, in both directions.
    #[command(
        after_help = "Examples:\n  mcpm docker sync work                                 # on a terminal, asks about each conflict\n  mcpm docker sync work --dry-run                       # show the diffs of both files, write nothing\n  mcpm docker sync prod --strategy profile_wins --yes --json   # in CI\n  mcpm docker sync prod --check                         # exit 4 if a sync would change anything\n\nChanges are detected against the base recorded in the compose file's `x-mcpm`\nblock at the last sync, so a fresh checkout syncs like the machine that wrote it.\nExit codes: 0 in step, 2 invalid input, 3 conflicts left unresolved, 4 --check found work."
    )]
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The profile: a path to a .toml file, or a name in <config dir>/profiles/.
    pub profile: String,

    /// The compose file [default: the profile's `[docker] compose_file`, else
    /// docker-compose.yml beside the profile].
    #[arg(short = 'f', long, value_name = "FILE")]
    pub compose_file: Option<PathBuf>,

    /// Which way changes may flow.
    #[arg(long, value_enum, default_value = "both")]
    pub direction: crate::sync::Direction,

    /// How to settle servers changed on both sides [default: the profile's
    /// `[docker] conflict_resolution`, else manual].
    #[arg(long, value_enum)]
    pub strategy: Option<crate::profile::ConflictStrategy>,

    /// Never prompt: conflicts the strategy leaves open are listed and exit 3.
    #[arg(short, long)]
    pub yes: bool,

    /// Print the unified diffs of both files and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Write nothing; exit 4 if a sync would change either file.
    #[arg(long)]
    pub check: bool,

    /// Print a JSON report of what changed per server.
    #[arg(long)]
    pub json: bool,

    /// Do not import services mcpm does not own as new servers.
    #[arg(long)]
    pub no_import: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The profile: a path to a .toml file, or a name in <config dir>/profiles/.
    pub profile: String,

    /// Write the compose file here (atomically, keeping FILE.bak) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write nothing; exit 4 and show a diff when the file differs from what
    /// would be generated. Checks -o FILE, else the profile's compose file.
    #[arg(long)]
    pub check: bool,

    /// Fail when a server cannot be containerized, instead of skipping it.
    #[arg(long)]
    pub strict: bool,

    /// Show how every server was matched (rule, catalog entry, image, why).
    #[arg(long)]
    pub explain: bool,

    /// Print a JSON report (servers, secrets, warnings) instead of the YAML.
    #[arg(long)]
    pub json: bool,

    /// Overwrite FILE even when it holds services mcpm does not own.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}
