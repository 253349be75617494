//! `mcpm dist-assets --out DIR` (hidden): writes the man pages and completion
//! scripts a package installs (`crate::dist`).
use clap::CommandFactory;

use crate::cli::{Cli, DistAssetsArgs};
use crate::error::{ExitStatus, Result};

use super::Context;

pub fn exec(context: &Context, args: DistAssetsArgs) -> Result<ExitStatus> {
    let mut assets = crate::dist::man_pages(Cli::command())?;
    assets.extend(crate::dist::completion_scripts(&Cli::command()));
    let written = crate::dist::write_assets(&args.out, &assets)?;
    context.note(&format!(
        "wrote {} under {}",
        crate::output::count(written.len(), "file", "files"),
        args.out.display()
    ));
    Ok(ExitStatus::Ok)
}
