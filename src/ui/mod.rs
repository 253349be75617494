//! Talking to a person: whether one is there, and the prompts (dialoguer only).
pub mod prompt;

use std::io::IsTerminal;

/// Whether mcpm may ask questions: stdin and stderr are terminals, `CI` is not
/// set, and `--yes` was not given.
pub fn interactive(yes: bool) -> bool {
    !yes && std::env::var_os("CI").is_none()
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
}
