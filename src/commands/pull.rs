//! `mcpm docker pull [SERVICES...]`: pulls the images of the compose file.
use crate::cli::PullArgs;
use crate::engine::connect::{block_on, connect};
use crate::engine::progress::Progress;
use crate::engine::{desired, lifecycle, target};
use crate::error::{ExitStatus, Result};

use super::Context;
use super::lifecycle::finish;

pub fn exec(context: &Context, args: PullArgs) -> Result<ExitStatus> {
    let target = target::resolve(
        args.target.compose_file.as_deref(),
        args.target.profile.as_deref(),
        args.target.project_name.as_deref(),
        &context.config,
    )?;
    let desired = desired::load(&target.file, &target.options)?;
    for warning in &desired.warnings {
        context.warn(warning);
    }
    let images = lifecycle::images_to_pull(&desired, &args.services)?;
    let progress = if args.json {
        Progress::quiet()
    } else {
        Progress::new(context.quiet)
    };
    let results = block_on(async {
        let engine = connect().await?;
        Ok(lifecycle::pull_images(&engine, &images, &progress).await)
    })?;
    finish(context, "pull", &desired.project, &results, args.json)
}
