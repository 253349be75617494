//! Writes an [`Import`] as a TOML profile with `toml_edit`: a header comment
//! saying where it came from, `[servers.NAME]` tables in input order, inline
//! tables for `env` and `headers`, and a comment on each server whose name
//! changed or whose remote transport the profile cannot record.
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value, value};

use crate::profile::{EnvValue, ServerSpec};

use super::{Import, ImportedServer, Origin};

/// Argument lists longer than this are written one item per line.
const INLINE_WIDTH: usize = 80;

/// The profile text.
pub fn render(import: &Import) -> String {
    let mut doc = DocumentMut::new();
    doc.insert("name", value(import.profile.name.as_str()));
    if let Some(description) = &import.profile.description {
        doc.insert("description", value(description.as_str()));
    }
    let mut servers = Table::new();
    // No bare `[servers]` line: every server has its own `[servers.NAME]`.
    servers.set_implicit(true);
    for server in &import.servers {
        servers.insert(&server.name, Item::Table(server_table(server)));
    }
    doc.insert("servers", Item::Table(servers));
    format!("{}{doc}", header(&import.origin))
}

fn header(origin: &Origin) -> String {
    let (what, path) = match origin {
        Origin::ClientConfig { path, client, keys } => {
            (format!("the {client} config ({})", keys.join(", ")), path)
        }
        Origin::Mcpm { path, tag } => (format!("the MCPM profile tag `{tag}`"), path),
    };
    format!(
        "# Imported by `mcpm profile import` from {} in\n# {}.\n# Review it, then run: mcpm docker generate <this file>\n",
        comment_safe(&what),
        comment_safe(path)
    )
}

fn server_table(server: &ImportedServer) -> Table {
    let spec = &server.spec;
    let mut table = Table::new();
    let mut notes = Vec::new();
    if server.original != server.name {
        notes.push(format!("named \"{}\" in the source", server.original));
    }
    if let Some(transport) = &server.transport {
        notes.push(format!(
            "remote transport: {transport} (the profile does not record it)"
        ));
    }
    let mut prefix = String::from("\n");
    for note in notes {
        prefix.push_str(&format!("# {}\n", comment_safe(&note)));
    }
    table.decor_mut().set_prefix(prefix);
    write_fields(&mut table, spec);
    table
}

fn write_fields(table: &mut Table, spec: &ServerSpec) {
    if let Some(description) = &spec.description {
        table.insert("description", value(description.as_str()));
    }
    if let Some(enabled) = spec.enabled {
        table.insert("enabled", value(enabled));
    }
    if let Some(command) = &spec.command {
        table.insert("command", value(command.as_str()));
    }
    if !spec.args.is_empty() {
        table.insert("args", value(string_array(&spec.args)));
    }
    if !spec.env.is_empty() {
        let env = spec.env.iter().map(|(key, value)| {
            let text = match value {
                EnvValue::Text(text) => text.clone(),
                other => other.to_text(),
            };
            (key.as_str(), Value::from(text))
        });
        table.insert("env", value(InlineTable::from_iter(env)));
    }
    if let Some(url) = &spec.url {
        table.insert("url", value(url.as_str()));
    }
    if !spec.headers.is_empty() {
        let headers = spec
            .headers
            .iter()
            .map(|(key, value)| (key.as_str(), Value::from(value.as_str())));
        table.insert("headers", value(InlineTable::from_iter(headers)));
    }
}

/// An array of strings, inline when short, one item per line when long.
fn string_array(items: &[String]) -> Array {
    let mut array: Array = items.iter().map(String::as_str).collect();
    if array.to_string().len() > INLINE_WIDTH {
        for item in array.iter_mut() {
            item.decor_mut().set_prefix("\n  ");
            item.decor_mut().set_suffix("");
        }
        array.set_trailing_comma(true);
        array.set_trailing("\n");
    }
    array
}

/// Comments end at a newline: control characters from the input never reach
/// the file as such.
fn comment_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_argument_lists_break_over_lines() {
        let short = string_array(&["-y".into(), "pkg".into()]);
        assert_eq!(short.to_string(), r#"["-y", "pkg"]"#);
        let long: Vec<String> = (0..12).map(|i| format!("--option-{i}")).collect();
        let text = string_array(&long).to_string();
        assert!(
            text.starts_with("[\n  \"--option-0\",\n  \"--option-1\","),
            "{text}"
        );
        assert!(text.ends_with("\"--option-11\",\n]"), "{text}");
    }

    #[test]
    fn comments_stay_comments() {
        assert_eq!(comment_safe("a\nname = \"x\""), "a?name = \"x\"");
    }
}
