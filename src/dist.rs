//! What a package installs besides the binary: a man page per command
//! (clap_mangen, `man mcpm-docker-sync`) and the static completion scripts
//! for bash, zsh and fish, all made from the clap tree so a new subcommand
//! gets its page and completions without anyone listing it. Written by the
//! hidden `mcpm dist-assets --out DIR`, which scripts/release.sh runs before
//! cargo-deb: build.rs cannot do it, since the clap tree is this crate's
//! code, not something a build script can run.
use std::path::{Path, PathBuf};

use clap::Command;
use clap_complete::Shell;

use crate::error::{Error, Result};
use crate::files::{WriteOptions, write_atomic};

/// One generated file: where it goes under the output directory, its bytes.
#[derive(Debug)]
pub struct Asset {
    pub path: PathBuf,
    pub contents: Vec<u8>,
}

/// The shells whose completion scripts packages install, with the file name
/// each one's system directory expects.
pub const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "bash/mcpm"),
    (Shell::Zsh, "zsh/_mcpm"),
    (Shell::Fish, "fish/mcpm.fish"),
];

/// A man page (section 1) for `command` and for every visible subcommand
/// under it, named `mcpm.1`, `mcpm-docker.1`, `mcpm-docker-sync.1`, …
pub fn man_pages(mut command: Command) -> Result<Vec<Asset>> {
    // `build` gives each subcommand its display name (`mcpm-docker-sync`),
    // which clap_mangen uses as the page's title and NAME.
    command.build();
    let mut pages = Vec::new();
    collect_pages(&command, &mut pages)?;
    Ok(pages)
}

fn collect_pages(command: &Command, pages: &mut Vec<Asset>) -> Result<()> {
    let name = command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_string();
    let mut contents = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut contents)
        .map_err(|err| Error::runtime(format!("cannot render the man page of {name}: {err}")))?;
    pages.push(Asset {
        path: PathBuf::from("man").join(format!("{name}.1")),
        contents,
    });
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        collect_pages(sub, pages)?;
    }
    Ok(())
}

/// The static completion script of each shell in [`SHELLS`], under
/// `completions/`.
pub fn completion_scripts(command: &Command) -> Vec<Asset> {
    SHELLS
        .iter()
        .map(|(shell, path)| Asset {
            path: PathBuf::from("completions").join(path),
            contents: crate::completion::script(*shell, command.clone()),
        })
        .collect()
}

/// Writes every asset under `dir` (atomically, created as needed) and
/// returns their paths.
pub fn write_assets(dir: &Path, assets: &[Asset]) -> Result<Vec<PathBuf>> {
    assets
        .iter()
        .map(|asset| {
            let path = dir.join(&asset.path);
            write_atomic(
                &path,
                &asset.contents,
                WriteOptions {
                    mode: Some(0o644),
                    backup: false,
                },
            )?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
#[path = "dist_tests.rs"]
mod tests;
