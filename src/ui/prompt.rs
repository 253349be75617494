//! The conflict prompt of `sync --strategy manual` (and of merge conflicts):
//! shows the field-level difference and asks keep-profile / keep-docker /
//! merge / skip. Skip is the default: it writes nothing of that server and
//! the sync ends with exit 3.
use dialoguer::Select;
use dialoguer::theme::SimpleTheme;

use crate::error::{Error, Result};
use crate::sync::Choice;
use crate::sync::merge::FieldDiff;
use crate::sync::report::describe_field;

/// Asks how to settle a whole server's conflict; `merge` offers the
/// field-by-field merge (only a server changed on both sides has one).
pub fn server_conflict(
    name: &str,
    what: &str,
    fields: &[FieldDiff],
    merge: bool,
) -> Result<Choice> {
    eprintln!("\nconflict in `{name}`: {what}");
    for diff in fields {
        eprint!("{}", describe_field(diff));
    }
    let mut choices = vec![
        ("keep profile", Choice::KeepProfile),
        ("keep docker", Choice::KeepDocker),
    ];
    if merge {
        choices.push((
            "merge (each side's own changes; fields changed on both are asked next)",
            Choice::Merge,
        ));
    }
    choices.push(("skip", Choice::Skip));
    ask(&format!("{name}: which side wins?"), &choices)
}

/// Asks how to settle one field that both sides changed.
pub fn field_conflict(name: &str, diff: &FieldDiff) -> Result<Choice> {
    eprintln!(
        "\nconflict in `{name}`, field `{}` changed on both sides:",
        diff.field
    );
    eprint!("{}", describe_field(diff));
    let choices = [
        ("keep profile", Choice::KeepProfile),
        ("keep docker", Choice::KeepDocker),
        ("skip", Choice::Skip),
    ];
    ask(
        &format!("{name}.{}: which value wins?", diff.field),
        &choices,
    )
}

/// The menu, with the last choice (skip) as the default.
fn ask(prompt: &str, choices: &[(&str, Choice)]) -> Result<Choice> {
    let items: Vec<&str> = choices.iter().map(|(item, _)| *item).collect();
    let picked = Select::with_theme(&SimpleTheme)
        .with_prompt(prompt)
        .items(&items)
        .default(items.len() - 1)
        .interact()
        .map_err(|err| Error::runtime(format!("cannot read the answer: {err}")))?;
    Ok(choices
        .get(picked)
        .map_or(Choice::Skip, |(_, choice)| *choice))
}
