use serde_json::json;

use super::*;

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn to_gateway(line: &str) -> Action {
    Action::ToGateway(line.to_string())
}

fn to_client(line: &str) -> Action {
    Action::ToClient(line.to_string())
}

fn parsed(action: &Action) -> Value {
    match action {
        Action::ToClient(line) | Action::ToGateway(line) => serde_json::from_str(line).unwrap(),
        Action::Reconnect => Value::Null,
    }
}

/// A bridge after a completed legacy handshake.
fn initialized() -> Bridge {
    let mut bridge = Bridge::new("mcp-dev");
    assert_eq!(bridge.from_client(INIT), [to_gateway(INIT)]);
    let answer = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18"}}"#;
    assert_eq!(bridge.from_gateway(answer), [to_client(answer)]);
    assert_eq!(bridge.from_client(INITIALIZED), [to_gateway(INITIALIZED)]);
    assert_eq!(bridge.pending(), 0);
    bridge
}

#[test]
fn lines_pass_through_unchanged_and_answers_clear_pending() {
    let mut bridge = initialized();
    // Odd spacing and key order survive: the text is forwarded, not re-serialised.
    let call = r#"{ "method":"tools/call", "jsonrpc":"2.0", "id":"a", "params":{"x":1} }"#;
    assert_eq!(bridge.from_client(call), [to_gateway(call)]);
    let call2 = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
    bridge.from_client(call2);
    assert_eq!(bridge.pending(), 2);
    let note = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#;
    assert_eq!(bridge.from_gateway(note), [to_client(note)]);
    assert_eq!(bridge.pending(), 2);
    let answer = r#"{"jsonrpc":"2.0","id":"a","result":{}}"#;
    assert_eq!(bridge.from_gateway(answer), [to_client(answer)]);
    assert_eq!(bridge.pending(), 1);
    // Id 7 (a number) is not id "7" (a string).
    bridge.from_gateway(r#"{"jsonrpc":"2.0","id":"7","result":{}}"#);
    assert_eq!(bridge.pending(), 1);
    bridge.from_gateway(r#"{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"x"}}"#);
    assert_eq!(bridge.pending(), 0);
}

#[test]
fn a_line_that_is_not_json_gets_a_parse_error_and_is_not_forwarded() {
    let mut bridge = initialized();
    let actions = bridge.from_client("{not json");
    assert_eq!(actions.len(), 1);
    let error = parsed(&actions[0]);
    assert!(matches!(actions[0], Action::ToClient(_)));
    assert_eq!(error["id"], Value::Null);
    assert_eq!(error["error"]["code"], json!(PARSE_ERROR));
}

#[test]
fn the_gateway_going_away_answers_every_pending_request() {
    let mut bridge = initialized();
    bridge.from_client(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#);
    bridge.from_client(r#"{"jsonrpc":"2.0","id":"two","method":"tools/call"}"#);
    bridge.from_client(r#"{"jsonrpc":"2.0","method":"notifications/cancelled"}"#);
    let actions = bridge.gateway_closed();
    let errors: Vec<Value> = actions.iter().map(parsed).collect();
    assert_eq!(errors.len(), 2, "notifications get no answer");
    assert_eq!(errors[0]["id"], json!(1));
    assert_eq!(errors[1]["id"], json!("two"));
    for error in &errors {
        assert_eq!(error["jsonrpc"], json!("2.0"));
        assert_eq!(error["error"]["code"], json!(-32603));
        assert_eq!(
            error["error"]["message"],
            json!(
                "the mcpm gateway for project mcp-dev went away; it will be restarted on the next request"
            )
        );
    }
    assert!(!bridge.connected());
    assert_eq!(bridge.pending(), 0);
    assert_eq!(bridge.gateway_closed(), [], "nothing is answered twice");
}

#[test]
fn the_next_message_reconnects_and_replays_the_handshake() {
    let mut bridge = initialized();
    bridge.from_client(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#);
    bridge.gateway_closed();

    let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    let actions = bridge.from_client(call);
    assert_eq!(actions[0], Action::Reconnect);
    assert_eq!(actions.len(), 2);
    let replayed = parsed(&actions[1]);
    assert!(matches!(actions[1], Action::ToGateway(_)));
    assert_eq!(replayed["method"], json!("initialize"));
    assert_eq!(replayed["params"]["clientInfo"]["name"], json!("t"));
    let replay_id = replayed["id"].clone();
    assert_ne!(
        replay_id,
        json!(0),
        "a fresh id, not one the client may reuse"
    );

    // Messages wait behind the replayed handshake.
    let note = r#"{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}"#;
    assert_eq!(bridge.from_client(note), []);
    assert_eq!(bridge.pending(), 1);

    // Its answer is swallowed; `initialized` and the waiting messages follow in order.
    let answer = json!({"jsonrpc": "2.0", "id": replay_id, "result": {}}).to_string();
    assert_eq!(
        bridge.from_gateway(&answer),
        [to_gateway(INITIALIZED), to_gateway(call), to_gateway(note)]
    );
    let reply = r#"{"jsonrpc":"2.0","id":2,"result":{"tools":[]}}"#;
    assert_eq!(bridge.from_gateway(reply), [to_client(reply)]);
    assert_eq!(bridge.pending(), 0);

    // A second outage replays again, with another id.
    bridge.gateway_closed();
    let actions = bridge.from_client(call);
    assert_ne!(parsed(&actions[1])["id"], replay_id);
}

#[test]
fn dying_during_the_replay_answers_the_waiting_requests() {
    let mut bridge = initialized();
    bridge.gateway_closed();
    bridge.from_client(r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#);
    bridge.from_client(r#"{"jsonrpc":"2.0","id":6,"method":"tools/list"}"#);
    let errors: Vec<Value> = bridge.gateway_closed().iter().map(parsed).collect();
    assert_eq!(
        errors.iter().map(|e| e["id"].clone()).collect::<Vec<_>>(),
        [json!(5), json!(6)]
    );
    // The replayed answer of a dead connection is not swallowed later by mistake.
    let late = r#"{"jsonrpc":"2.0","id":"mcpm-connect-replay-1","result":{}}"#;
    assert_eq!(bridge.from_gateway(late), [to_client(late)]);
}

#[test]
fn a_failed_reconnect_answers_with_the_reason_and_the_next_message_retries() {
    let mut bridge = initialized();
    bridge.gateway_closed();
    let actions = bridge.from_client(r#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#);
    assert_eq!(actions[0], Action::Reconnect);
    let errors: Vec<Value> = bridge
        .connect_failed("Docker is not running")
        .iter()
        .map(parsed)
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["id"], json!(9));
    assert_eq!(
        errors[0]["error"]["message"],
        json!("cannot reach the mcpm gateway for project mcp-dev: Docker is not running")
    );
    let actions = bridge.from_client(r#"{"jsonrpc":"2.0","id":10,"method":"ping"}"#);
    assert_eq!(actions[0], Action::Reconnect, "tries again");
}

#[test]
fn a_client_that_reinitializes_after_an_outage_is_not_replayed_twice() {
    let mut bridge = initialized();
    bridge.gateway_closed();
    let again = INIT.replace("\"id\":0", "\"id\":100");
    assert_eq!(
        bridge.from_client(&again),
        [Action::Reconnect, to_gateway(&again)]
    );
}

#[test]
fn a_modern_client_without_initialize_reconnects_without_replay() {
    let mut bridge = Bridge::new("mcp-dev");
    let discover = r#"{"jsonrpc":"2.0","id":1,"method":"server/discover"}"#;
    bridge.from_client(discover);
    bridge.gateway_closed();
    let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
    assert_eq!(
        bridge.from_client(call),
        [Action::Reconnect, to_gateway(call)]
    );
}

#[test]
fn answers_to_server_requests_go_only_to_the_connection_that_asked() {
    let mut bridge = initialized();
    let ask = r#"{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage"}"#;
    assert_eq!(bridge.from_gateway(ask), [to_client(ask)]);
    let answer = r#"{"jsonrpc":"2.0","id":"s1","result":{}}"#;
    assert_eq!(bridge.from_client(answer), [to_gateway(answer)]);
    assert_eq!(bridge.pending(), 0, "an answer is not a pending request");

    bridge.from_gateway(r#"{"jsonrpc":"2.0","id":"s2","method":"roots/list"}"#);
    bridge.gateway_closed();
    // The session that asked is gone: the answer is dropped, and it does
    // not trigger a reconnect either.
    assert_eq!(
        bridge.from_client(r#"{"jsonrpc":"2.0","id":"s2","result":{}}"#),
        []
    );
    assert!(!bridge.connected());
}

#[test]
fn batches_are_tracked_member_by_member() {
    let mut bridge = initialized();
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":2,"method":"b"}]"#;
    assert_eq!(bridge.from_client(batch), [to_gateway(batch)]);
    assert_eq!(bridge.pending(), 2);
    bridge.from_gateway(r#"[{"jsonrpc":"2.0","id":2,"result":{}}]"#);
    assert_eq!(bridge.pending(), 1);
    let errors = bridge.gateway_closed();
    assert_eq!(parsed(&errors[0])["id"], json!(1));
}
