//! Lossless edits of a user's profile: server entries change key by key with
//! `toml_edit`, so comments, key order and formatting elsewhere survive.
use std::collections::BTreeMap;
use std::ops::Range;

use toml_edit::{DocumentMut, Item, TableLike};

use super::model::ServerSpec;
use super::tables::scan;

/// A profile open for editing.
pub struct ProfileEdit {
    document: DocumentMut,
}

impl ProfileEdit {
    pub fn parse(text: &str) -> Result<Self, String> {
        text.parse::<DocumentMut>()
            .map(|document| Self { document })
            .map_err(|err| err.to_string())
    }

    /// Makes `[servers.NAME]` say `new`, touching only what differs from `old`
    /// (`None`: a new server, appended as its own table).
    pub fn set_server(
        &mut self,
        name: &str,
        old: Option<&ServerSpec>,
        new: &ServerSpec,
    ) -> Result<(), String> {
        let new_table = to_table(new)?;
        let old_table = old.map(to_table).transpose()?;
        let root = self.document.as_table_mut();
        if !root.contains_key("servers") {
            let mut servers = toml_edit::Table::new();
            servers.set_implicit(true);
            root.insert("servers", Item::Table(servers));
        }
        let servers = root
            .get_mut("servers")
            .and_then(Item::as_table_like_mut)
            .ok_or("`servers` in the profile is not a table")?;
        match (
            old_table,
            servers.get_mut(name).and_then(Item::as_table_like_mut),
        ) {
            (Some(old_table), Some(existing)) => apply(existing, &old_table, &new_table),
            _ => {
                servers.insert(name, server_item(&new_table));
            }
        }
        Ok(())
    }

    pub fn text(&self) -> String {
        self.document.to_string()
    }
}

/// `toml_edit` writes every line break as `\n`; a file written with `\r\n`
/// gets them back, so an edit does not rewrite every line of it.
pub fn with_line_endings_of(original: &str, edited: String) -> String {
    if !original.contains("\r\n") {
        return edited;
    }
    let mut out = String::with_capacity(edited.len() + edited.len() / 16);
    let mut previous = '\0';
    for c in edited.chars() {
        if c == '\n' && previous != '\r' {
            out.push('\r');
        }
        out.push(c);
        previous = c;
    }
    out
}

/// A profile's text with server edits spliced in, and where: each piece is
/// a range of the new text holding exactly the servers named with it; every
/// byte outside the pieces is the old text's.
pub struct Spliced {
    pub text: String,
    pub pieces: Vec<(Range<usize>, Vec<String>)>,
}

/// [`ProfileEdit::set_server`] for every server in `updates`, without parsing
/// the whole document: each changed server's run of `[servers.NAME…]` tables
/// is cut out, edited as a document of its own and put back; new servers go
/// after the last server's tables, where the whole-document edit puts them.
/// `servers` are the profile's servers as loaded from `text`. `None` where
/// the layout does not allow it (a server defined elsewhere than its own
/// headers, one whose tables are not together, no server tables yet):
/// the caller edits the whole document then.
pub fn splice_servers(
    text: &str,
    servers: &BTreeMap<String, ServerSpec>,
    updates: &BTreeMap<String, ServerSpec>,
) -> Result<Option<Spliced>, String> {
    let Some(headers) = scan(text) else {
        return Ok(None);
    };
    // Each server's run of headers: where it starts and ends in `text`.
    let mut runs: BTreeMap<&str, Range<usize>> = BTreeMap::new();
    let mut last: Option<&str> = None;
    let mut order = Vec::new();
    for (index, header) in headers.iter().enumerate() {
        let owner = match header.path.as_slice() {
            [servers, name, ..] if servers == "servers" => Some(name.as_str()),
            _ => None,
        };
        let end = headers.get(index + 1).map_or(text.len(), |next| next.start);
        match owner {
            Some(name) if last == Some(name) => {
                if let Some(run) = runs.get_mut(name) {
                    run.end = end;
                }
            }
            Some(name) => {
                if runs.insert(name, header.start..end).is_some() {
                    return Ok(None);
                }
                order.push(name);
            }
            None => {}
        }
        last = owner;
    }
    let Some(&last_server) = order.last() else {
        return Ok(None);
    };
    // The servers each run's edit covers, in the order the whole-document
    // edit applies them, beside the run's own server.
    let mut edits: BTreeMap<usize, (Range<usize>, &str, Vec<&str>)> = BTreeMap::new();
    for name in updates.keys() {
        let owner = match runs.contains_key(name.as_str()) {
            true => name.as_str(),
            false if servers.contains_key(name) => return Ok(None),
            false => last_server,
        };
        let run = runs[owner].clone();
        edits
            .entry(run.start)
            .or_insert_with(|| (run, owner, Vec::new()))
            .2
            .push(name);
    }
    let mut out = String::with_capacity(text.len() + 256);
    let mut pieces = Vec::new();
    let mut done = 0;
    for (run, owner, names) in edits.into_values() {
        let mut edit = ProfileEdit::parse(&text[run.clone()])?;
        for name in &names {
            edit.set_server(name, servers.get(*name), &updates[*name])?;
        }
        let mut held: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        held.push(owner.to_string());
        held.sort();
        held.dedup();
        out.push_str(&text[done..run.start]);
        let start = out.len();
        out.push_str(&edit.text());
        pieces.push((start..out.len(), held));
        done = run.end;
    }
    out.push_str(&text[done..]);
    Ok(Some(Spliced { text: out, pieces }))
}

fn to_table(spec: &ServerSpec) -> Result<toml::Table, String> {
    toml::Table::try_from(spec).map_err(|err| format!("cannot write server as TOML: {err}"))
}

/// Applies the difference between `old` and `new` to `table`.
fn apply(table: &mut dyn TableLike, old: &toml::Table, new: &toml::Table) {
    for key in old.keys() {
        if !new.contains_key(key) {
            table.remove(key);
        }
    }
    for (key, value) in new {
        let previous = old.get(key);
        if previous == Some(value) {
            continue;
        }
        let ends = table
            .get(key)
            .and_then(Item::as_inline_table)
            .map(InlineEnds::of);
        if let (Some(toml::Value::Table(old_child)), toml::Value::Table(new_child)) =
            (previous, value)
            && let Some(child) = table.get_mut(key).and_then(Item::as_table_like_mut)
        {
            apply(child, old_child, new_child);
            if let (Some(ends), Some(Item::Value(toml_edit::Value::InlineTable(inline)))) =
                (ends, table.get_mut(key))
            {
                ends.restore(inline);
            }
            continue;
        }
        match table.get_mut(key) {
            // Keep the comment and spacing around an existing value.
            Some(Item::Value(existing))
                if !matches!(value, toml::Value::Table(_)) || existing.is_inline_table() =>
            {
                let decor = existing.decor().clone();
                *existing = edit_value(value);
                *existing.decor_mut() = decor;
            }
            _ => {
                table.insert(key, Item::Value(edit_value(value)));
            }
        }
    }
}

/// The spacing just inside an inline table's braces, as its first key and
/// last value carry it. Adding or removing keys must leave it at the ends:
/// `{ A = "x", B = "y" }` gains `C` as `{ A = "x", B = "y", C = "z" }`,
/// never `"y" , C`.
struct InlineEnds {
    opening: Option<String>,
    closing: Option<String>,
}

impl InlineEnds {
    fn of(inline: &toml_edit::InlineTable) -> Self {
        let blank = |raw: Option<&toml_edit::RawString>| {
            raw.and_then(|r| r.as_str())
                .filter(|s| s.trim().is_empty())
                .map(str::to_string)
        };
        Self {
            opening: inline
                .iter()
                .next()
                .and_then(|(key, _)| inline.key(key))
                .and_then(|key| blank(key.leaf_decor().prefix())),
            closing: inline
                .iter()
                .last()
                .and_then(|(_, value)| blank(value.decor().suffix())),
        }
    }

    fn restore(&self, inline: &mut toml_edit::InlineTable) {
        let count = inline.len();
        for (index, (mut key, value)) in inline.iter_mut().enumerate() {
            if index == 0
                && let Some(opening) = &self.opening
            {
                key.leaf_decor_mut().set_prefix(opening.as_str());
            }
            let last = index + 1 == count;
            let suffix = value.decor().suffix().and_then(|r| r.as_str());
            match &self.closing {
                Some(closing) if last => value.decor_mut().set_suffix(closing.as_str()),
                // The old closing space on what is no longer the last value.
                Some(closing) if !last && suffix == Some(closing.as_str()) => {
                    value.decor_mut().set_suffix("")
                }
                _ => {}
            }
        }
    }
}

/// A new server table: `docker` as its own `[servers.NAME.docker]` table, other
/// tables inline, as a person would write them.
fn server_item(spec: &toml::Table) -> Item {
    let mut table = toml_edit::Table::new();
    for (key, value) in spec {
        match (key.as_str(), value) {
            ("docker", toml::Value::Table(docker)) => {
                let mut sub = toml_edit::Table::new();
                for (k, v) in docker {
                    sub.insert(k, Item::Value(edit_value(v)));
                }
                table.insert(key, Item::Table(sub));
            }
            _ => {
                table.insert(key, Item::Value(edit_value(value)));
            }
        }
    }
    Item::Table(table)
}

fn edit_value(value: &toml::Value) -> toml_edit::Value {
    match value {
        toml::Value::String(s) => s.as_str().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(d) => d
            .to_string()
            .parse()
            .unwrap_or_else(|_| d.to_string().as_str().into()),
        toml::Value::Array(items) => {
            let mut array: toml_edit::Array = items.iter().map(edit_value).collect();
            array.fmt();
            toml_edit::Value::Array(array)
        }
        toml::Value::Table(table) => {
            let mut inline: toml_edit::InlineTable = table
                .iter()
                .map(|(k, v)| (k.as_str(), edit_value(v)))
                .collect();
            inline.fmt();
            toml_edit::Value::InlineTable(inline)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::EnvValue;

    const PROFILE: &str = "# team profile\nname = \"dev\"\n\n# the fetcher\n[servers.fetch]\ncommand = \"uvx\" # runner\nargs = [\"mcp-server-fetch\"]\nenv = { A = \"1\", B = \"2\" } # env\n\n[servers.other]\ncommand = \"npx\"\n";

    fn servers(text: &str) -> std::collections::BTreeMap<String, ServerSpec> {
        crate::profile::load_profile_text(std::path::Path::new("p.toml"), text.to_string())
            .unwrap()
            .profile
            .servers
    }

    #[test]
    fn changes_only_the_edited_keys() {
        let before = servers(PROFILE);
        let old = before["fetch"].clone();
        let mut new = old.clone();
        new.env.insert("B".into(), EnvValue::Text("3".into()));
        new.env.insert("C".into(), EnvValue::Text("4".into()));
        let mut docker = toml::Table::new();
        docker.insert("mem_limit".into(), "1g".into());
        new.docker = Some(docker);
        new.unset = vec!["read_only".into()];
        let mut edit = ProfileEdit::parse(PROFILE).unwrap();
        edit.set_server("fetch", Some(&old), &new).unwrap();
        let text = edit.text();
        assert!(text.starts_with("# team profile\nname = \"dev\"\n\n# the fetcher\n[servers.fetch]\ncommand = \"uvx\" # runner\n"), "{text}");
        assert!(text.contains("[servers.other]\ncommand = \"npx\"\n"));
        let after = servers(&text);
        assert_eq!(
            serde_json::to_value(&after["fetch"]).unwrap(),
            serde_json::to_value(&new).unwrap()
        );
        assert_eq!(
            serde_json::to_value(&after["other"]).unwrap(),
            serde_json::to_value(&before["other"]).unwrap()
        );
    }

    #[test]
    fn adds_a_new_server_as_its_own_table() {
        let mut new = ServerSpec {
            command: Some("docker".into()),
            args: vec!["run".into(), "redis".into()],
            ..Default::default()
        };
        let mut docker = toml::Table::new();
        docker.insert("ports".into(), toml::Value::Array(vec!["6379:6379".into()]));
        new.docker = Some(docker);
        let mut edit = ProfileEdit::parse("name = \"dev\"\n").unwrap();
        edit.set_server("cache", None, &new).unwrap();
        let text = edit.text();
        assert!(text.contains("[servers.cache]"), "{text}");
        assert!(text.contains("[servers.cache.docker]"), "{text}");
        let after = servers(&text);
        assert_eq!(
            serde_json::to_value(&after["cache"]).unwrap(),
            serde_json::to_value(&new).unwrap()
        );
    }

    /// Applies `new` over the single server of `text` and returns the text.
    fn edit(text: &str, change: impl FnOnce(&mut ServerSpec)) -> String {
        let old = servers(text)["gh"].clone();
        let mut new = old.clone();
        change(&mut new);
        let mut edit = ProfileEdit::parse(text).unwrap();
        edit.set_server("gh", Some(&old), &new).unwrap();
        edit.text()
    }

    /// A trailing comment stays with a value that is rewritten and goes with
    /// a key that is removed, never stranded on another line.
    #[test]
    fn trailing_comments_follow_their_values() {
        let before = "name = \"p\"\n[servers.gh]\ncommand = \"npx\"\nargs = [\"a\"] # pinned by Bob\nstrategy = \"on-demand\" # lazy\ndescription = \"x\"\n";
        assert_eq!(
            edit(before, |s| s.args = vec!["b".into()]),
            "name = \"p\"\n[servers.gh]\ncommand = \"npx\"\nargs = [\"b\"] # pinned by Bob\nstrategy = \"on-demand\" # lazy\ndescription = \"x\"\n"
        );
        assert_eq!(
            edit(before, |s| s.args.clear()),
            "name = \"p\"\n[servers.gh]\ncommand = \"npx\"\nstrategy = \"on-demand\" # lazy\ndescription = \"x\"\n"
        );
        assert_eq!(
            edit(before, |s| s.strategy = None),
            "name = \"p\"\n[servers.gh]\ncommand = \"npx\"\nargs = [\"a\"] # pinned by Bob\ndescription = \"x\"\n"
        );
    }

    /// Keys added to or removed from an inline table are written as a person
    /// would: `A = "x", B = "y"`, never `"x" , B`.
    #[test]
    fn inline_tables_keep_their_spacing() {
        let before = "name = \"p\"\n[servers.gh]\ncommand = \"npx\"\nenv = { GITHUB_PERSONAL_ACCESS_TOKEN = \"ghp_x\", GITHUB_TOOLSETS = \"repos,issues\" } # tokens\n";
        let text = |env: &str| {
            format!("name = \"p\"\n[servers.gh]\ncommand = \"npx\"\nenv = {{ {env} }} # tokens\n")
        };
        assert_eq!(
            edit(before, |s| {
                s.env.insert("READ_ONLY".into(), EnvValue::Text("1".into()));
            }),
            text(
                "GITHUB_PERSONAL_ACCESS_TOKEN = \"ghp_x\", GITHUB_TOOLSETS = \"repos,issues\", READ_ONLY = \"1\""
            )
        );
        assert_eq!(
            edit(before, |s| {
                s.env.shift_remove("GITHUB_TOOLSETS");
            }),
            text("GITHUB_PERSONAL_ACCESS_TOKEN = \"ghp_x\"")
        );
        assert_eq!(
            edit(before, |s| {
                s.env.shift_remove("GITHUB_PERSONAL_ACCESS_TOKEN");
                s.env.insert("NEW".into(), EnvValue::Text("n".into()));
            }),
            text("GITHUB_TOOLSETS = \"repos,issues\", NEW = \"n\"")
        );
        assert_eq!(
            edit(before, |s| {
                s.env
                    .insert("GITHUB_TOOLSETS".into(), EnvValue::Text("repos".into()));
            }),
            text("GITHUB_PERSONAL_ACCESS_TOKEN = \"ghp_x\", GITHUB_TOOLSETS = \"repos\"")
        );
    }
}
