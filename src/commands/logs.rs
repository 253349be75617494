//! `mcpm docker logs SERVER`: prints (or follows) a deployed server's output.
use crate::cli::{ComposeTarget, LogsArgs};
use crate::engine::connect::{block_on, connect};
use crate::engine::lifecycle;
use crate::engine::logs::{LogsRequest, parse_since, stream};
use crate::error::{Error, ExitStatus, Result};

use super::Context;
use super::lifecycle::resolve;

pub fn exec(context: &Context, args: LogsArgs) -> Result<ExitStatus> {
    let target = ComposeTarget {
        compose_file: args.compose_file.clone(),
        profile: args.profile.clone(),
        project_name: args.project_name.clone(),
    };
    let (target, project) = resolve(context, &target)?;
    project.check_services(std::slice::from_ref(&args.server), &target)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let since = args
        .since
        .as_deref()
        .map(|text| parse_since(text, now).map_err(Error::invalid))
        .transpose()?;
    let request = LogsRequest {
        follow: args.follow,
        tail: args.tail,
        since,
        timestamps: args.timestamps,
    };
    block_on(async {
        let engine = connect().await?;
        let containers = lifecycle::containers(
            &engine,
            &project.project,
            std::slice::from_ref(&args.server),
        )
        .await?;
        let container = containers.first().ok_or_else(|| {
            Error::runtime(format!(
                "`{}` has no container in project `{}`",
                args.server, project.project
            ))
            .hint(format!(
                "deploy it first: mcpm docker deploy {}",
                args.server
            ))
        })?;
        stream(&engine, &container.id, &request).await
    })?;
    Ok(ExitStatus::Ok)
}
