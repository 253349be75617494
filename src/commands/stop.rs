//! `mcpm docker stop [SERVICES...]`: stops the project's running containers.
use crate::cli::StopArgs;
use crate::engine::connect::{block_on, connect};
use crate::engine::lifecycle;
use crate::error::{ExitStatus, Result};

use super::Context;
use super::lifecycle::{finish, resolve};

pub fn exec(context: &Context, args: StopArgs) -> Result<ExitStatus> {
    let (target, project) = resolve(context, &args.target)?;
    project.check_services(&args.services, &target)?;
    let results = block_on(async {
        let engine = connect().await?;
        let containers = lifecycle::containers(&engine, &project.project, &args.services).await?;
        Ok(lifecycle::stop(&engine, &containers, args.timeout).await)
    })?;
    finish(context, "stop", &project.project, &results, args.json)
}
