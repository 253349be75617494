use std::path::Path;

use serde_json::json;

use super::*;

fn edit(text: &str, key: &str, changes: &[Change]) -> String {
    let path = Path::new("mcp.json");
    let config = parse(path, text).unwrap();
    apply(path, &config, key, changes).unwrap()
}

fn set(name: &str, value: Value) -> Change {
    Change::Set(name.into(), value)
}

#[test]
fn jsonc_keeps_comments_trailing_commas_and_order_byte_for_byte() {
    let before = "{\n    // my servers\n    \"servers\": {\n        \"mine\": {\"command\": \"x\",}, /* keep */\n    },\n    \"inputs\": [ 1, 2, ],\n}\n";
    let after = edit(
        before,
        "servers",
        &[set("time", json!({"command": "/bin/mcpm", "args": ["a"]}))],
    );
    assert_eq!(
        after,
        "{\n    // my servers\n    \"servers\": {\n        \"mine\": {\"command\": \"x\",}, /* keep */\n        \"time\": {\n            \"command\": \"/bin/mcpm\",\n            \"args\": [\"a\"],\n        },\n    },\n    \"inputs\": [ 1, 2, ],\n}\n"
    );
    // Removing it again gives back the original bytes.
    assert_eq!(
        edit(&after, "servers", &[Change::Remove("time".into())]),
        before
    );
}

#[test]
fn claude_json_keeps_everything_but_the_entry() {
    let before = r#"{
  "numStartups": 42,
  "projects": {
    "/src/app": {
      "mcpServers": {"local": {"command": "x"}},
      "history": [{"display": "hi"}]
    }
  },
  "mcpServers": {
    "user": {"command": "uvx", "args": ["a"]}
  },
  "tipsHistory": {"x": 1}
}"#;
    let after = edit(
        before,
        "mcpServers",
        &[set("time", json!({"command": "m"}))],
    );
    let expected = before.replace(
        "\"args\": [\"a\"]}\n  },",
        "\"args\": [\"a\"]},\n    \"time\": {\n      \"command\": \"m\"\n    }\n  },",
    );
    assert_eq!(after, expected);
    // The per-project servers were not touched.
    let value: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(
        value["projects"]["/src/app"]["mcpServers"],
        json!({"local": {"command": "x"}})
    );
}

#[test]
fn entries_are_replaced_in_place_and_styles_are_followed() {
    // Tabs and CRLF line endings.
    let before = "{\r\n\t\"mcpServers\": {\r\n\t\t\"a\": {\"command\": \"old\"},\r\n\t\t\"b\": 1\r\n\t}\r\n}\r\n";
    let after = edit(before, "mcpServers", &[set("a", json!({"command": "new"}))]);
    assert_eq!(
        after,
        "{\r\n\t\"mcpServers\": {\r\n\t\t\"a\": {\r\n\t\t\t\"command\": \"new\"\r\n\t\t},\r\n\t\t\"b\": 1\r\n\t}\r\n}\r\n"
    );
}

#[test]
fn a_new_or_empty_file_gets_a_plain_pretty_document() {
    let expected = "{\n  \"mcpServers\": {\n    \"time\": {\n      \"type\": \"stdio\",\n      \"command\": \"m\",\n      \"args\": [\"docker\"]\n    }\n  }\n}\n";
    let entry = json!({"args": ["docker"], "command": "m", "type": "stdio"});
    for text in ["", "  \n", "{}", "{}\n"] {
        let out = edit(text, "mcpServers", &[set("time", entry.clone())]);
        assert_eq!(out.trim_end(), expected.trim_end(), "from {text:?}");
    }
    // `null` servers become an object.
    let out = edit(
        "{\"mcpServers\": null}",
        "mcpServers",
        &[set("t", json!(1))],
    );
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"mcpServers": {"t": 1}})
    );
}

#[test]
fn entries_are_read_in_file_order() {
    let path = Path::new("c.json");
    let config = parse(
        path,
        "{\"mcpServers\": {\"z\": 1, \"a\": {\"b\": 2}, // c\n}}",
    )
    .unwrap();
    let read = entries(path, &config, "mcpServers").unwrap();
    assert_eq!(
        read,
        [
            ("z".to_string(), json!(1)),
            ("a".to_string(), json!({"b": 2}))
        ]
    );
    assert!(entries(path, &config, "servers").unwrap().is_empty());
}

#[test]
fn broken_files_are_errors_with_a_place() {
    let path = Path::new("/x/mcp.json");
    let err = parse(
        path,
        "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\"\n  }\n",
    )
    .unwrap_err();
    assert_eq!(err.status, crate::error::ExitStatus::Invalid);
    let location = err.location.as_ref().expect("a location");
    // The object left open, where it opens.
    assert_eq!((location.line, location.column), (2, 17), "{location}");
    assert!(err.hint.as_deref().unwrap().contains("never overwrites"));
    // Looser than JSONC: refused, as the clients would.
    for text in ["{'a': 1}", "{a: 1}", "{\"a\": 0x10}", "{\"a\": 1 \"b\": 2}"] {
        assert!(parse(path, text).is_err(), "{text}");
    }
    let err = parse(path, "[1, 2]").unwrap_err();
    assert!(
        err.message.contains("an array, not a JSON object"),
        "{}",
        err.message
    );
    let config = parse(path, "{\"mcpServers\": [1]}").unwrap();
    let err = entries(path, &config, "mcpServers").unwrap_err();
    assert!(
        err.message
            .contains("is an array, not an object of servers"),
        "{}",
        err.message
    );
    let config = parse(path, "{\"mcpServers\": {\"a\": 1, \"a\": 2}}").unwrap();
    let err = entries(path, &config, "mcpServers").unwrap_err();
    assert!(
        err.message.contains("`a` is written twice"),
        "{}",
        err.message
    );
}

#[test]
fn no_changes_is_the_same_text() {
    let path = Path::new("c.json");
    let config = parse(path, "{ \"x\" : 1 }").unwrap();
    assert_eq!(
        apply(path, &config, "mcpServers", &[]).unwrap(),
        "{ \"x\" : 1 }"
    );
}

#[test]
fn keys_come_out_in_the_documented_order() {
    let out = edit(
        "{}",
        "servers",
        &[set(
            "t",
            json!({"headers": {"b": "1", "a": "2"}, "url": "u", "type": "http", "zzz": 0}),
        )],
    );
    let order: Vec<usize> = ["\"type\"", "\"url\"", "\"headers\"", "\"zzz\""]
        .iter()
        .map(|k| out.find(k).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{out}");
}

#[test]
fn adding_then_removing_gives_back_every_layout() {
    let texts = [
        "{\n  \"mcpServers\": {\n    // first\n    \"a\": {\"command\": \"x\"},\n    // between\n    \"b\": {\"command\": \"y\"} // after b\n  }\n}",
        "\u{feff}{\r\n  \"mcpServers\": {\r\n    \"a\": 1\r\n  }\r\n}\r\n",
        "// header comment\n{\n\t\"other\": [1, 2, 3],\n\t\"mcpServers\": {\n\t\t\"a\": 1,\n\t},\n}\n/* trailer */\n",
    ];
    for before in texts {
        let added = edit(
            before,
            "mcpServers",
            &[set("time", json!({"command": "m", "args": ["x"]}))],
        );
        assert_ne!(added, before);
        let path = Path::new("c.json");
        let config = parse(path, &added).unwrap();
        assert_eq!(
            entries(path, &config, "mcpServers")
                .unwrap()
                .last()
                .unwrap(),
            &("time".to_string(), json!({"command": "m", "args": ["x"]})),
            "{added}"
        );
        let removed = edit(&added, "mcpServers", &[Change::Remove("time".into())]);
        assert_eq!(removed, before, "added:\n{added}");
    }
}

#[test]
fn a_one_line_server_object_becomes_multi_line_and_nothing_else_moves() {
    let before = "{\"x\":[1,2],\"mcpServers\":{\"a\":1},\"y\":{}}";
    let after = edit(before, "mcpServers", &[set("t", json!(1))]);
    assert_eq!(
        after,
        "{\"x\":[1,2],\"mcpServers\":{\n    \"a\":1,\n    \"t\": 1\n  },\"y\":{}}"
    );
}

#[test]
fn a_byte_order_mark_stays_and_errors_still_point_right() {
    let out = edit("\u{feff}{}", "servers", &[set("t", json!(1))]);
    assert!(out.starts_with("\u{feff}{\n"), "{out:?}");
    let err = parse(Path::new("m.json"), "\u{feff}{\n  \"a\": ,\n}").unwrap_err();
    let location = err.location.unwrap();
    assert_eq!((location.line, location.column), (2, 8), "{location}");
}
