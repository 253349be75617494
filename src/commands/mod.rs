//! One module per subcommand: each turns parsed arguments into calls on the
//! library and prints the result.
pub mod check;
pub mod client;
pub mod completions;
pub mod connect;
pub mod deploy;
pub mod dist;
pub mod doctor;
pub mod down;
pub mod engine;
pub mod gateway;
pub mod generate;
pub mod import;
pub mod lifecycle;
pub mod logs;
pub mod mcp;
pub mod profile;
pub mod pull;
pub mod restart;
pub mod stats;
pub mod status;
pub mod stop;
pub mod sync;
pub mod up;

use crate::cli::{Cli, Command, DockerCommand, ProfileCommand};
use crate::config::ConfigDir;
use crate::error::{ExitStatus, Result};

/// What every command may need from the global flags.
pub struct Context {
    pub config: ConfigDir,
    pub quiet: bool,
}

impl Context {
    /// Prints a warning on stderr unless `--quiet`.
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!("warning: {message}");
        }
    }

    /// Prints a progress or summary line on stderr unless `--quiet`.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitStatus> {
    // Like the environment, the engine flags hold for the whole process:
    // recorded once, read by every `connect()`.
    crate::engine::endpoint::set_flags(crate::engine::endpoint::Flags {
        host: cli.host.clone(),
        context: cli.context.clone(),
    });
    let context = Context {
        config: ConfigDir::resolve(cli.config_dir.or_else(ConfigDir::from_env)),
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Docker(DockerCommand::Generate(args)) => generate::exec(&context, args),
        Command::Docker(DockerCommand::Sync(args)) => sync::exec(&context, args),
        Command::Docker(DockerCommand::Check(args)) => check::exec(&context, args),
        Command::Profile(ProfileCommand::Import(args)) => import::exec(&context, args),
        Command::Profile(ProfileCommand::Add(args)) | Command::Add(args) => {
            profile::add(&context, args)
        }
        Command::Profile(ProfileCommand::Rm(args)) | Command::Rm(args) => {
            profile::rm(&context, args)
        }
        Command::Profile(ProfileCommand::Ls(args)) => profile::ls(&context, args),
        Command::Profile(ProfileCommand::Show(args)) => profile::show(&context, args),
        Command::Docker(DockerCommand::Deploy(args)) => deploy::exec(&context, args),
        Command::Docker(DockerCommand::Up(args)) => up::exec(&context, args),
        Command::Docker(DockerCommand::Status(args)) => status::exec(&context, args),
        Command::Docker(DockerCommand::Stats(args)) => stats::exec(&context, args),
        Command::Docker(DockerCommand::Logs(args)) => logs::exec(&context, args),
        Command::Docker(DockerCommand::Stop(args)) => stop::exec(&context, args),
        Command::Docker(DockerCommand::Restart(args)) => restart::exec(&context, args),
        Command::Docker(DockerCommand::Down(args)) => down::exec(&context, args),
        Command::Docker(DockerCommand::Engine(args)) => engine::exec(&context, args),
        Command::Docker(DockerCommand::Pull(args)) => pull::exec(&context, args),
        Command::Client(command) => client::exec(&context, command),
        Command::Docker(DockerCommand::Gateway(args)) => gateway::exec(&context, args),
        Command::Docker(DockerCommand::Connect(args)) => connect::exec(&context, args),
        Command::Docker(DockerCommand::Doctor(args)) => doctor::exec(&context, args),
        Command::Mcp(command) => mcp::exec(&context, command),
        Command::Completions(args) => completions::exec(args),
        Command::DistAssets(args) => dist::exec(&context, args),
    }
}
