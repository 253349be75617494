//! Lossless edits of a user's profile: server entries change key by key with
//! `toml_edit`, so comments, key order and formatting elsewhere survive.
use toml_edit::{DocumentMut, Item, TableLike};

use super::model::ServerSpec;

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
        if let (Some(toml::Value::Table(old_child)), toml::Value::Table(new_child)) =
            (previous, value)
            && let Some(child) = table.get_mut(key).and_then(Item::as_table_like_mut)
        {
            apply(child, old_child, new_child);
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
}
