//! `mcpm completions SHELL`: prints a completion script.
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{ExitStatus, Result};

pub fn exec(args: CompletionsArgs) -> Result<ExitStatus> {
    let script = crate::completion::script(args.shell, Cli::command());
    crate::output::stdout(&String::from_utf8_lossy(&script))?;
    Ok(ExitStatus::Ok)
}
