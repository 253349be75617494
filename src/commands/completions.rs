//! `mcpm completions SHELL`: prints a completion script.
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{ExitStatus, Result};

pub fn exec(args: CompletionsArgs) -> Result<ExitStatus> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "mcpm", &mut out);
    crate::output::stdout(&String::from_utf8_lossy(&out))?;
    Ok(ExitStatus::Ok)
}
