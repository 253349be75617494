use serde_json::json;

use super::*;

#[test]
fn every_tool_is_listed_with_schemas_and_truthful_annotations() {
    let listed = list();
    let tools = listed["tools"].as_array().unwrap();
    assert_eq!(tools.len(), all_tools().count());
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        let role = required_role(name).unwrap();
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
        assert!(
            tool["description"]
                .as_str()
                .unwrap()
                .contains(&format!("`{role}` role")),
            "{name}"
        );
        let read_only = tool["annotations"]["readOnlyHint"].as_bool().unwrap();
        assert_eq!(read_only, role == Role::Read, "{name}");
    }
    let by_name = |n: &str| tools.iter().find(|t| t["name"] == n).unwrap().clone();
    for destructive in ["stop", "down", "sync", "deploy"] {
        assert_eq!(by_name(destructive)["annotations"]["destructiveHint"], true);
    }
    assert_eq!(by_name("restart")["annotations"]["destructiveHint"], false);
    assert_eq!(by_name("restart")["annotations"]["idempotentHint"], false);
    assert_eq!(
        by_name("logs")["inputSchema"]["required"],
        json!(["server"])
    );
}

#[test]
fn arguments_are_checked() {
    let call = parse("logs", Some(&json!({"server": "time", "tail": 5}))).unwrap();
    assert_eq!(
        call.args,
        Args::Logs {
            server: "time".into(),
            tail: 5,
            since: None
        }
    );
    let call = parse("logs", Some(&json!({"server": "time"}))).unwrap();
    assert!(matches!(
        call.args,
        Args::Logs {
            tail: DEFAULT_TAIL,
            ..
        }
    ));
    assert!(
        parse("logs", None)
            .unwrap_err()
            .contains("`server` is required")
    );
    assert!(
        parse("logs", Some(&json!({"server": "t", "tail": 0})))
            .unwrap_err()
            .contains("1 to")
    );
    assert!(
        parse("logs", Some(&json!({"server": "t", "tail": "5"})))
            .unwrap_err()
            .contains("tail")
    );
    assert!(
        parse("logs", Some(&json!({"server": 3})))
            .unwrap_err()
            .contains("must be a string")
    );
    assert!(
        parse("stats", Some(&json!({"container": "x"})))
            .unwrap_err()
            .contains("unknown argument `container`")
    );
    assert!(
        parse("stats", Some(&json!([1])))
            .unwrap_err()
            .contains("object")
    );
    assert!(
        parse("restart", Some(&json!({"servers": "time"})))
            .unwrap_err()
            .contains("array")
    );
    assert_eq!(
        parse(
            "restart",
            Some(&json!({"servers": ["a", "b"], "project": "p"}))
        )
        .unwrap(),
        Call {
            tool: "restart".into(),
            project: Some("p".into()),
            args: Args::Servers {
                servers: vec!["a".into(), "b".into()]
            }
        }
    );
    assert!(
        parse("deploy", Some(&json!({"dry_run": "yes"})))
            .unwrap_err()
            .contains("true or false")
    );
    assert!(parse("nope", None).unwrap_err().contains("unknown tool"));
}

#[test]
fn sync_never_runs_manual() {
    assert!(parse("sync", None).unwrap_err().contains("strategy"));
    let err = parse("sync", Some(&json!({"strategy": "manual"}))).unwrap_err();
    assert!(err.contains("needs a person"), "{err}");
    assert!(parse("sync", Some(&json!({"strategy": "ours"}))).is_err());
    for strategy in SYNC_STRATEGIES {
        assert!(parse("sync", Some(&json!({"strategy": strategy}))).is_ok());
    }
}
