//! `mcpm docker down [--volumes]`: removes what deploy created for the project.
use crate::cli::DownArgs;
use crate::engine::connect::{block_on, connect};
use crate::engine::lifecycle;
use crate::error::{ExitStatus, Result};

use super::Context;
use super::lifecycle::{finish, resolve};

pub fn exec(context: &Context, args: DownArgs) -> Result<ExitStatus> {
    let (_, project) = resolve(context, &args.target)?;
    let results = block_on(async {
        let engine = connect().await?;
        lifecycle::down(&engine, &project.project, args.volumes, args.timeout).await
    })?;
    finish(context, "down", &project.project, &results, args.json)
}
