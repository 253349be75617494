//! `mcpm docker connect SERVER`: the stdio command an MCP client launches;
//! the bridge itself is `gateway::connect`.
use crate::cli::ConnectArgs;
use crate::error::{ExitStatus, Result};
use crate::gateway::connect::{ConnectOptions, connect};

use super::Context;
use super::gateway::target_args;

pub fn exec(context: &Context, args: ConnectArgs) -> Result<ExitStatus> {
    connect(ConnectOptions {
        config: context.config.clone(),
        target: target_args(&args.target),
        server: args.server,
    })?;
    Ok(ExitStatus::Ok)
}
