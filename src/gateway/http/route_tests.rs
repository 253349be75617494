use serde_json::json;

use super::*;

fn flight(key: &str, sse: bool, token: Option<Value>) -> InFlight {
    InFlight {
        key: key.into(),
        sse,
        progress_token: token,
    }
}

#[test]
fn classifies_requests_notifications_responses_and_garbage() {
    let request = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"});
    assert_eq!(
        classify(&request),
        Ok(Kind::Request {
            key: "1".into(),
            method: "tools/list".into()
        })
    );
    // "1" and 1 are different ids.
    let string_id = json!({"jsonrpc":"2.0","id":"1","method":"ping"});
    assert!(matches!(classify(&string_id), Ok(Kind::Request { key, .. }) if key == "\"1\""));
    let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    assert_eq!(classify(&note), Ok(Kind::Notification));
    let response = json!({"jsonrpc":"2.0","id":7,"result":{}});
    assert_eq!(classify(&response), Ok(Kind::Response));
    let error = json!({"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"x"}});
    assert_eq!(classify(&error), Ok(Kind::Response));
    assert!(classify(&json!([request])).unwrap_err().contains("batches"));
    assert!(classify(&json!("hi")).is_err());
    assert!(classify(&json!({"id":1})).is_err());
    assert!(classify(&json!({"id":{},"method":"x"})).is_err());
    assert!(classify(&json!({"method":3})).is_err());
}

#[test]
fn stateless_by_header_or_meta_and_stamped_once() {
    let plain = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"});
    assert!(!is_stateless(None, &plain));
    assert!(!is_stateless(Some("2025-06-18"), &plain));
    assert!(is_stateless(Some(MODERN_VERSION), &plain));
    let meta = json!({"jsonrpc":"2.0","id":1,"method":"tools/list",
        "params":{"_meta":{VERSION_META_KEY: MODERN_VERSION}}});
    assert!(is_stateless(None, &meta));

    let mut stamped = plain.clone();
    stamp_version(&mut stamped);
    assert_eq!(meta_version(&stamped), Some(MODERN_VERSION));
    let mut other = json!({"id":1,"method":"x","params":{"cursor":"c","_meta":{"k":1}}});
    stamp_version(&mut other);
    assert_eq!(other["params"]["cursor"], "c");
    assert_eq!(other["params"]["_meta"]["k"], 1);
    assert_eq!(meta_version(&other), Some(MODERN_VERSION));
}

#[test]
fn answer_form_follows_accept() {
    assert_eq!(
        answer_form(Some("application/json, text/event-stream")),
        Some(Answer::Sse)
    );
    assert_eq!(answer_form(Some("application/json")), Some(Answer::Json));
    assert_eq!(
        answer_form(Some("application/json;q=0.9")),
        Some(Answer::Json)
    );
    assert_eq!(answer_form(Some("text/event-stream")), Some(Answer::Sse));
    assert_eq!(answer_form(Some("*/*")), Some(Answer::Sse));
    assert_eq!(answer_form(None), Some(Answer::Sse));
    assert_eq!(answer_form(Some("text/html")), None);
    assert!(accepts_sse(Some("text/event-stream")));
    assert!(!accepts_sse(Some("application/json")));
    assert!(!accepts_sse(None));
}

#[test]
fn responses_go_to_their_request_or_nowhere() {
    let inflight = [flight("1", true, None), flight("\"a\"", false, None)];
    let response = json!({"jsonrpc":"2.0","id":"a","result":{}});
    assert_eq!(
        route(&response, &inflight, false),
        Dest::Request("\"a\"".into())
    );
    let late = json!({"jsonrpc":"2.0","id":9,"result":{}});
    assert_eq!(route(&late, &inflight, true), Dest::Drop);
}

#[test]
fn progress_follows_its_token_other_messages_the_newest_sse_request() {
    let inflight = [
        flight("1", true, Some(json!("tok"))),
        flight("2", true, None),
        flight("3", false, None),
    ];
    let progress =
        json!({"method":"notifications/progress","params":{"progressToken":"tok","progress":1}});
    assert_eq!(route(&progress, &inflight, true), Dest::Request("1".into()));
    let log = json!({"method":"notifications/message","params":{"level":"info","data":"x"}});
    assert_eq!(route(&log, &inflight, true), Dest::Request("2".into()));
    let sampling = json!({"id":5,"method":"sampling/createMessage","params":{}});
    assert_eq!(
        route(&sampling, &inflight, false),
        Dest::Request("2".into())
    );
    // Session-wide news goes to the standalone stream when there is one...
    let changed = json!({"method":"notifications/tools/list_changed"});
    assert_eq!(route(&changed, &inflight, true), Dest::Standalone);
    // ...and to a request's stream when that is all the client listens on.
    assert_eq!(route(&changed, &inflight, false), Dest::Request("2".into()));
    // A JSON-answered request carries nothing but its response.
    let json_only = [flight("3", false, None)];
    assert_eq!(route(&log, &json_only, false), Dest::Standalone);
    assert_eq!(route(&log, &[], false), Dest::Standalone);
}
