//! The conflict prompt of `sync --strategy manual` (and of merge conflicts):
//! shows the field-level difference and asks keep-profile / keep-docker / skip.
use dialoguer::Select;
use dialoguer::theme::SimpleTheme;

use crate::error::{Error, Result};
use crate::sync::Choice;
use crate::sync::merge::FieldDiff;
use crate::sync::report::describe_field;

/// Asks how to settle a whole server's conflict.
pub fn server_conflict(name: &str, what: &str, fields: &[FieldDiff]) -> Result<Choice> {
    eprintln!("\nconflict in `{name}`: {what}");
    for diff in fields {
        eprint!("{}", describe_field(diff));
    }
    ask(&format!("{name}: which side wins?"))
}

/// Asks how to settle one field that both sides changed.
pub fn field_conflict(name: &str, diff: &FieldDiff) -> Result<Choice> {
    eprintln!(
        "\nconflict in `{name}`, field `{}` changed on both sides:",
        diff.field
    );
    eprint!("{}", describe_field(diff));
    ask(&format!("{name}.{}: which value wins?", diff.field))
}

fn ask(prompt: &str) -> Result<Choice> {
    let items = ["keep profile", "keep docker", "skip"];
    let picked = Select::with_theme(&SimpleTheme)
        .with_prompt(prompt)
        .items(items)
        .default(2)
        .interact()
        .map_err(|err| Error::runtime(format!("cannot read the answer: {err}")))?;
    Ok(match picked {
        0 => Choice::KeepProfile,
        1 => Choice::KeepDocker,
        _ => Choice::Skip,
    })
}
