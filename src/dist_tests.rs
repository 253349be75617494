use clap::CommandFactory;

use super::*;
use crate::cli::Cli;

fn names(assets: &[Asset]) -> Vec<String> {
    assets
        .iter()
        .map(|a| a.path.display().to_string())
        .collect()
}

#[test]
fn every_visible_command_gets_a_page() {
    let pages = man_pages(Cli::command()).unwrap();
    let names = names(&pages);
    for expected in [
        "man/mcpm.1",
        "man/mcpm-docker.1",
        "man/mcpm-docker-sync.1",
        "man/mcpm-docker-check.1",
        "man/mcpm-docker-gateway.1",
        "man/mcpm-profile-add.1",
        "man/mcpm-completions.1",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }
    // Hidden commands and clap's `help` get none.
    assert!(
        !names
            .iter()
            .any(|n| n.contains("dist-assets") || n.ends_with("-help.1"))
    );
    // The walk covers the whole tree: one page per visible command.
    fn count(command: &clap::Command) -> usize {
        1 + command
            .get_subcommands()
            .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
            .map(count)
            .sum::<usize>()
    }
    assert_eq!(pages.len(), count(&Cli::command()));
}

#[test]
fn a_page_names_its_command_and_flags() {
    let pages = man_pages(Cli::command()).unwrap();
    let sync = pages
        .iter()
        .find(|p| p.path.ends_with("mcpm-docker-sync.1"))
        .unwrap();
    let text = String::from_utf8(sync.contents.clone()).unwrap();
    assert!(
        text.starts_with(".ie") || text.contains(".TH mcpm-docker-sync 1"),
        "{text}"
    );
    assert!(text.contains(".TH mcpm\\-docker\\-sync 1") || text.contains(".TH mcpm-docker-sync 1"));
    assert!(text.contains("\\-\\-check"));
    assert!(text.contains("\\-\\-format"));
}

#[test]
fn completions_for_three_shells() {
    let scripts = completion_scripts(&Cli::command());
    assert_eq!(
        names(&scripts),
        [
            "completions/bash/mcpm",
            "completions/zsh/_mcpm",
            "completions/fish/mcpm.fish"
        ]
    );
    assert!(String::from_utf8_lossy(&scripts[0].contents).contains("complete -F"));
    assert!(String::from_utf8_lossy(&scripts[1].contents).starts_with("#compdef mcpm"));
    assert!(String::from_utf8_lossy(&scripts[2].contents).contains("complete -c mcpm"));
}

#[test]
fn assets_are_written_under_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_assets(dir.path(), &completion_scripts(&Cli::command())).unwrap();
    assert_eq!(written.len(), 3);
    assert!(dir.path().join("completions/zsh/_mcpm").is_file());
}
