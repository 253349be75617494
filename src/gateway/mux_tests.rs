//! The multiplexer's rules, one event at a time.
use serde_json::{Value, json};

use super::*;
use crate::gateway::message::{
    INTERNAL_ERROR, INVALID_REQUEST, META_CLIENT_INFO, META_PROTOCOL_VERSION, META_SERVER_INFO,
    MODERN_PROTOCOL,
};

fn request(id: Value, method: &str, params: Value) -> Message {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn init_request(id: Value, client: &str) -> Message {
    request(
        id,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {"roots": {}}, "clientInfo": {"name": client, "version": "1"}}),
    )
}

fn init_result() -> Value {
    json!({
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {"listChanged": true}},
        "serverInfo": {"name": "mcp-time", "version": "1.0"},
        "instructions": "ask for the time",
    })
}

fn initialized() -> Message {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

fn ok(id: Value, result: Value) -> Message {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn modern(id: Value, method: &str, mut params: Value) -> Message {
    params["_meta"] = json!({
        META_PROTOCOL_VERSION: MODERN_PROTOCOL,
        META_CLIENT_INFO: {"name": "sdk", "version": "2.3"},
    });
    request(id, method, params)
}

fn to_server(actions: &[Action]) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ToServer(m) => Some(m.clone()),
            Action::ToSession(..) => None,
        })
        .collect()
}

fn to_session(actions: &[Action], session: SessionId) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ToSession(s, m) if *s == session => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn one_to_server(actions: &[Action]) -> Message {
    let sent = to_server(actions);
    assert_eq!(sent.len(), 1, "{actions:?}");
    sent[0].clone()
}

/// A mux attached to instance `i1` whose server session 1 initialized.
fn ready_mux() -> Mux {
    let mut mux = Mux::new("time", None);
    assert!(mux.on_attached("i1").is_empty());
    let sent = one_to_server(&mux.on_client(1, init_request(json!(0), "first")));
    assert_eq!(sent["method"], "initialize");
    assert_eq!(sent["params"]["clientInfo"]["name"], "first");
    let actions = mux.on_server(ok(sent["id"].clone(), init_result()));
    assert_eq!(to_session(&actions, 1), vec![ok(json!(0), init_result())]);
    assert!(to_server(&actions).is_empty());
    assert_eq!(
        to_server(&mux.on_client(1, initialized())),
        vec![initialized()]
    );
    mux
}

/// Joins session `s` to a ready mux through the cached `initialize`.
fn join(mux: &mut Mux, s: SessionId) {
    let actions = mux.on_client(s, init_request(json!("init"), "later"));
    assert_eq!(
        actions,
        vec![Action::ToSession(s, ok(json!("init"), init_result()))]
    );
    assert!(mux.on_client(s, initialized()).is_empty());
}

#[test]
fn ids_of_every_json_type_come_back_as_sent_with_unknown_fields_untouched() {
    let mut mux = ready_mux();
    let ids = [
        json!(1),
        json!(0),
        json!(-3),
        json!(u64::MAX),
        json!(1.5),
        json!("1"),
        json!(""),
        json!(null),
        json!(true),
        json!([1, "x"]),
        json!({"k": [1]}),
    ];
    let mut upstream_ids = Vec::new();
    for id in &ids {
        let mut msg = request(
            id.clone(),
            "tools/call",
            json!({"name": "t", "x-extra": {"a": 1}}),
        );
        msg["x-top"] = json!("kept");
        let sent = one_to_server(&mux.on_client(1, msg.clone()));
        assert!(sent["id"].is_u64(), "{sent}");
        assert!(
            !upstream_ids.contains(&sent["id"]),
            "gateway ids are unique"
        );
        upstream_ids.push(sent["id"].clone());
        let mut expected = msg;
        expected["id"] = sent["id"].clone();
        assert_eq!(sent, expected);
    }
    // Answered out of order, each with a field the gateway does not know.
    for (id, upstream) in ids.iter().zip(&upstream_ids).rev() {
        let mut answer = ok(upstream.clone(), json!({"content": []}));
        answer["x-server"] = json!(7);
        let back = to_session(&mux.on_server(answer.clone()), 1);
        answer["id"] = id.clone();
        assert_eq!(back, vec![answer]);
    }
    assert_eq!(mux.in_flight(), 0);
    // A second answer to the same id goes nowhere.
    assert!(
        mux.on_server(ok(upstream_ids[0].clone(), json!({})))
            .is_empty()
    );
}

#[test]
fn eight_sessions_with_the_same_ids_each_get_their_own_answers() {
    let mut mux = ready_mux();
    for s in 2..=8 {
        join(&mut mux, s);
    }
    let mut sent = Vec::new();
    for s in 1..=8u64 {
        let msg = request(
            json!(1),
            "tools/call",
            json!({"name": "echo", "arguments": {"who": s}}),
        );
        sent.push(one_to_server(&mux.on_client(s, msg)));
    }
    // Answered in reverse: each answer carries who asked.
    for upstream in sent.iter().rev() {
        let who = upstream["params"]["arguments"]["who"].clone();
        let actions = mux.on_server(ok(upstream["id"].clone(), json!({"who": who})));
        assert_eq!(actions.len(), 1);
        let Action::ToSession(s, answer) = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(answer["id"], 1);
        assert_eq!(answer["result"]["who"], json!(*s));
    }
}

#[test]
fn the_first_initialize_is_forwarded_and_later_ones_answered_from_the_cache() {
    let mut mux = Mux::new("time", None);
    mux.on_attached("i1");
    let first = one_to_server(&mux.on_client(1, init_request(json!(1), "a")));
    // A second session's initialize waits for the first one's result.
    assert!(mux.on_client(2, init_request(json!("two"), "b")).is_empty());
    let actions = mux.on_server(ok(first["id"].clone(), init_result()));
    assert_eq!(to_session(&actions, 1), vec![ok(json!(1), init_result())]);
    assert_eq!(
        to_session(&actions, 2),
        vec![ok(json!("two"), init_result())]
    );
    assert!(to_server(&actions).is_empty(), "one initialize upstream");
    // `initialized` goes upstream once, from whoever sends it first.
    assert_eq!(
        to_server(&mux.on_client(2, initialized())),
        vec![initialized()]
    );
    assert!(mux.on_client(1, initialized()).is_empty());
    // A third session, later: from the cache, nothing upstream.
    join(&mut mux, 3);
    let cache = mux.take_cache_update().unwrap();
    assert_eq!(cache.instance, "i1");
    assert_eq!(cache.params["clientInfo"]["name"], "a");
    assert_eq!(cache.result, init_result());
    assert!(mux.take_cache_update().is_none());
}

#[test]
fn a_request_before_the_owner_sends_initialized_gets_initialized_sent_first() {
    let mut mux = Mux::new("time", None);
    mux.on_attached("i1");
    let first = one_to_server(&mux.on_client(1, init_request(json!(1), "a")));
    mux.on_server(ok(first["id"].clone(), init_result()));
    // Session 2 (a client that skips `initialized`) asks before session 1 is done.
    let cached = mux.on_client(2, init_request(json!(1), "b"));
    assert!(to_server(&cached).is_empty());
    let sent = to_server(&mux.on_client(2, request(json!(5), "tools/list", json!({}))));
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], initialized());
    assert_eq!(sent[1]["method"], "tools/list");
    assert!(mux.on_client(1, initialized()).is_empty());
}

#[test]
fn a_modern_client_gets_the_server_initialized_for_it_and_its_meta_stripped() {
    let mut mux = Mux::new("time", None);
    mux.on_attached("i1");
    let mut msg = modern(json!("m1"), "tools/call", json!({"name": "t"}));
    msg["params"]["_meta"]["progressToken"] = json!("p");
    let actions = mux.on_client(1, msg);
    let init = one_to_server(&actions);
    assert_eq!(init["method"], "initialize");
    assert_eq!(init["params"]["protocolVersion"], "2025-06-18");
    assert_eq!(
        init["params"]["clientInfo"],
        json!({"name": "sdk", "version": "2.3"})
    );
    assert_eq!(init["params"]["capabilities"], json!({}));
    // The request waits for the result; then `initialized`, then the request.
    let sent = to_server(&mux.on_server(ok(init["id"].clone(), init_result())));
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0], initialized());
    assert_eq!(sent[1]["method"], "tools/call");
    assert_eq!(
        sent[1]["params"]["_meta"],
        json!({"progressToken": sent[1]["params"]["_meta"]["progressToken"]})
    );
    assert_ne!(sent[1]["params"]["_meta"]["progressToken"], "p");
    // The result gets the modern `resultType`, unless the server gave one.
    let back = to_session(
        &mux.on_server(ok(sent[1]["id"].clone(), json!({"content": []}))),
        1,
    );
    assert_eq!(
        back,
        vec![ok(
            json!("m1"),
            json!({"content": [], "resultType": "complete"})
        )],
        "tools/call is not cacheable: no caching directives"
    );
    // A cacheable method's result gets `ttlMs` and `cacheScope`, unless given.
    let upstream = one_to_server(&mux.on_client(1, modern(json!(2), "tools/list", json!({}))));
    assert_eq!(upstream["params"], json!({}));
    let given = json!({"resultType": "x", "tools": [], "ttlMs": 5});
    let back = to_session(&mux.on_server(ok(upstream["id"].clone(), given)), 1);
    assert_eq!(
        back[0]["result"],
        json!({"resultType": "x", "tools": [], "ttlMs": 5, "cacheScope": "private"})
    );
    // A legacy session on the same server sees results unchanged.
    join(&mut mux, 2);
    let upstream = one_to_server(&mux.on_client(2, request(json!(3), "tools/list", json!({}))));
    let back = to_session(
        &mux.on_server(ok(upstream["id"].clone(), json!({"tools": []}))),
        2,
    );
    assert_eq!(back, vec![ok(json!(3), json!({"tools": []}))]);
}

#[test]
fn server_discover_is_answered_from_the_cached_initialize() {
    let mut mux = Mux::new("time", None);
    mux.on_attached("i1");
    // The SDK probes `server/discover` first, without any `_meta`.
    let actions = mux.on_client(1, request(json!(1), "server/discover", json!({})));
    let init = one_to_server(&actions);
    assert_eq!(
        init["params"]["clientInfo"]["name"], "mcpm-gateway",
        "the gateway's own clientInfo without `_meta`"
    );
    let actions = mux.on_server(ok(init["id"].clone(), init_result()));
    assert_eq!(to_server(&actions), vec![initialized()]);
    let expected = ok(
        json!(1),
        json!({
            "resultType": "complete",
            "supportedVersions": [MODERN_PROTOCOL],
            "capabilities": {"tools": {"listChanged": true}},
            "ttlMs": 0,
            "cacheScope": "private",
            "_meta": {META_SERVER_INFO: {"name": "mcp-time", "version": "1.0"}},
            "instructions": "ask for the time",
        }),
    );
    assert_eq!(to_session(&actions, 1), vec![expected.clone()]);
    // Later: straight from the cache.
    let again = mux.on_client(2, modern(json!(1), "server/discover", json!({})));
    assert_eq!(to_session(&again, 2), vec![expected]);
    assert!(to_server(&again).is_empty());
}

#[test]
fn progress_goes_to_the_session_that_asked_for_it_only() {
    let mut mux = ready_mux();
    join(&mut mux, 2);
    let mut sent = Vec::new();
    for s in [1, 2] {
        let msg = request(
            json!(1),
            "tools/call",
            json!({"name": "slow", "_meta": {"progressToken": "tok", "other": s}}),
        );
        let up = one_to_server(&mux.on_client(s, msg));
        assert_eq!(up["params"]["_meta"]["other"], json!(s));
        sent.push(up);
    }
    let token1 = sent[0]["params"]["_meta"]["progressToken"].clone();
    let token2 = sent[1]["params"]["_meta"]["progressToken"].clone();
    assert_ne!(token1, token2);
    let progress = |token: &Value| json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": token, "progress": 1, "x": "y"}});
    let actions = mux.on_server(progress(&token2));
    assert_eq!(actions.len(), 1);
    let Action::ToSession(2, note) = &actions[0] else {
        panic!("{actions:?}")
    };
    assert_eq!(
        note["params"],
        json!({"progressToken": "tok", "progress": 1, "x": "y"})
    );
    // Once answered, the token is gone: late progress is dropped.
    mux.on_server(ok(sent[0]["id"].clone(), json!({})));
    assert!(mux.on_server(progress(&token1)).is_empty());
    assert!(mux.on_server(progress(&json!("unknown"))).is_empty());
}

#[test]
fn a_client_cancel_names_the_gateway_id_and_the_late_response_is_dropped() {
    let mut mux = ready_mux();
    let up = one_to_server(&mux.on_client(1, request(json!("c"), "tools/call", json!({}))));
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "c", "reason": "user"}});
    let sent = one_to_server(&mux.on_client(1, cancel.clone()));
    assert_eq!(
        sent["params"],
        json!({"requestId": up["id"], "reason": "user"})
    );
    assert!(mux.on_server(ok(up["id"].clone(), json!({}))).is_empty());
    // Cancelling what is not in flight (or another session's id) sends nothing.
    join(&mut mux, 2);
    one_to_server(&mux.on_client(1, request(json!("d"), "tools/call", json!({}))));
    let other = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "d"}});
    assert!(mux.on_client(2, other).is_empty());
    assert_eq!(mux.in_flight(), 1);
}

#[test]
fn cancelling_a_queued_request_keeps_it_from_ever_going_upstream() {
    let mut mux = ready_mux();
    mux.on_server_gone();
    assert!(
        mux.on_client(1, request(json!(9), "tools/call", json!({})))
            .is_empty()
    );
    let cancel =
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}});
    assert!(mux.on_client(1, cancel).is_empty());
    assert!(mux.on_attached("i1").is_empty());
}

#[test]
fn server_notifications_fan_out_to_every_ready_session() {
    let mut mux = ready_mux();
    join(&mut mux, 2);
    // Session 3 has not finished its handshake (its initialize waits).
    mux.on_server_gone();
    mux.on_client(3, init_request(json!(1), "c"));
    for method in [
        "notifications/message",
        "notifications/tools/list_changed",
        "notifications/resources/updated",
    ] {
        let note =
            json!({"jsonrpc": "2.0", "method": method, "params": {"level": "info", "x": [1]}});
        let actions = mux.on_server(note.clone());
        assert_eq!(
            actions,
            vec![
                Action::ToSession(1, note.clone()),
                Action::ToSession(2, note)
            ]
        );
    }
}

#[test]
fn server_requests_go_to_the_session_that_caused_them_and_come_back() {
    let mut mux = ready_mux();
    join(&mut mux, 2);
    join(&mut mux, 3);
    one_to_server(&mux.on_client(1, request(json!(1), "tools/call", json!({}))));
    let up2 = one_to_server(&mux.on_client(2, request(json!(1), "tools/call", json!({}))));
    // Session 3 is the most recently active, but 2 has the latest request in flight.
    mux.on_client(
        3,
        json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}),
    );
    let sampling = request(
        json!("s1"),
        "sampling/createMessage",
        json!({"messages": [], "x": 1}),
    );
    let actions = mux.on_server(sampling.clone());
    let asked = to_session(&actions, 2);
    assert_eq!(asked.len(), 1, "{actions:?}");
    assert_eq!(asked[0]["params"], sampling["params"]);
    let down_id = asked[0]["id"].clone();
    // Another session answering that id is not listened to.
    assert!(mux.on_client(3, ok(down_id.clone(), json!({}))).is_empty());
    let answer =
        json!({"jsonrpc": "2.0", "id": down_id, "result": {"role": "assistant"}, "x-extra": 1});
    let back = one_to_server(&mux.on_client(2, answer));
    assert_eq!(
        back,
        json!({"jsonrpc": "2.0", "id": "s1", "result": {"role": "assistant"}, "x-extra": 1})
    );
    // Once answered, it is gone.
    assert!(mux.on_client(2, ok(down_id, json!({}))).is_empty());
    // Session 2's request answered: session 1's is the latest in flight.
    mux.on_server(ok(up2["id"].clone(), json!({})));
    let actions = mux.on_server(request(json!(7), "roots/list", json!({})));
    assert_eq!(to_session(&actions, 1).len(), 1);
}

#[test]
fn without_requests_in_flight_the_most_recently_active_session_is_asked() {
    let mut mux = ready_mux();
    join(&mut mux, 2);
    join(&mut mux, 3);
    mux.on_client(
        2,
        json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}),
    );
    let actions = mux.on_server(request(json!(1), "elicitation/create", json!({})));
    assert_eq!(to_session(&actions, 2).len(), 1, "{actions:?}");
    // The server cancels it: the session hears with its own id.
    let down = to_session(&actions, 2)[0]["id"].clone();
    let cancel =
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}});
    let actions = mux.on_server(cancel);
    assert_eq!(to_session(&actions, 2)[0]["params"]["requestId"], down);
}

#[test]
fn with_no_session_a_ping_is_answered_and_other_requests_refused() {
    let mut mux = ready_mux();
    mux.on_session_end(1);
    let actions = mux.on_server(request(json!("p"), "ping", json!({})));
    assert_eq!(to_server(&actions), vec![ok(json!("p"), json!({}))]);
    let actions = mux.on_server(request(json!("q"), "roots/list", json!({})));
    let refused = one_to_server(&actions);
    assert_eq!(refused["id"], "q");
    assert_eq!(refused["error"]["code"], INTERNAL_ERROR);
}

#[test]
fn a_session_ending_mid_request_cancels_upstream_and_drops_late_answers() {
    let mut mux = ready_mux();
    join(&mut mux, 2);
    let up = one_to_server(&mux.on_client(
        1,
        request(
            json!(1),
            "tools/call",
            json!({"_meta": {"progressToken": 1}}),
        ),
    ));
    let other = one_to_server(&mux.on_client(2, request(json!(1), "tools/call", json!({}))));
    let asked = to_session(
        &mux.on_server(request(json!(40), "roots/list", json!({}))),
        2,
    );
    assert_eq!(asked.len(), 1);
    let actions = mux.on_session_end(2);
    let sent = to_server(&actions);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0]["method"], "notifications/cancelled");
    assert_eq!(sent[0]["params"]["requestId"], other["id"]);
    assert_eq!(sent[1]["id"], 40);
    assert_eq!(sent[1]["error"]["code"], INTERNAL_ERROR);
    assert!(mux.on_server(ok(other["id"].clone(), json!({}))).is_empty());
    // Session 1 is untouched.
    let back = to_session(&mux.on_server(ok(up["id"].clone(), json!({}))), 1);
    assert_eq!(back[0]["id"], 1);
    assert_eq!(mux.in_flight(), 0);
}

#[test]
fn the_server_going_away_answers_in_flight_requests_and_a_new_instance_is_initialized_again() {
    let mut mux = ready_mux();
    join(&mut mux, 2);
    one_to_server(&mux.on_client(1, request(json!("a"), "tools/call", json!({}))));
    one_to_server(&mux.on_client(2, request(json!("b"), "tools/call", json!({}))));
    let actions = mux.on_server_gone();
    assert!(to_server(&actions).is_empty());
    for (s, id) in [(1, "a"), (2, "b")] {
        let errors = to_session(&actions, s);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0]["id"], id);
        assert_eq!(errors[0]["error"]["code"], INTERNAL_ERROR);
        assert!(
            errors[0]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`time`")
        );
    }
    assert!(!mux.is_attached());
    // A request while detached waits for the reattach.
    assert!(
        mux.on_client(2, request(json!("c"), "tools/list", json!({})))
            .is_empty()
    );
    // A new instance: the first client's initialize again, before anything else.
    let init = one_to_server(&mux.on_attached("i2"));
    assert_eq!(init["method"], "initialize");
    assert_eq!(init["params"]["clientInfo"]["name"], "first");
    let actions = mux.on_server(ok(init["id"].clone(), init_result()));
    let sent = to_server(&actions);
    assert_eq!(sent[0], initialized());
    assert_eq!(sent[1]["method"], "tools/list");
    assert!(to_session(&actions, 1).is_empty() && to_session(&actions, 2).is_empty());
    assert_eq!(mux.take_cache_update().unwrap().instance, "i2");
    // The session's own `initialized` is not sent twice.
    assert!(mux.on_client(1, initialized()).is_empty());
}

#[test]
fn the_same_instance_again_gets_nothing_resent() {
    let mut mux = ready_mux();
    mux.on_server_gone();
    mux.on_client(1, request(json!(1), "tools/list", json!({})));
    let sent = to_server(&mux.on_attached("i1"));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["method"], "tools/list");
}

#[test]
fn a_persisted_cache_for_the_same_instance_spares_the_second_initialize() {
    let cache = InitCache {
        instance: "c1".into(),
        params: json!({"clientInfo": {"name": "before"}}),
        result: init_result(),
    };
    let mut mux = Mux::new("time", Some(cache.clone()));
    assert!(mux.on_attached("c1").is_empty());
    join(&mut mux, 1);
    let sent = to_server(&mux.on_client(1, request(json!(1), "tools/list", json!({}))));
    assert_eq!(sent.len(), 1, "no initialize, no initialized: {sent:?}");
    assert!(mux.take_cache_update().is_none());
    // A different instance gets the persisted params.
    let mut mux = Mux::new("time", Some(cache));
    let init = one_to_server(&mux.on_attached("c2"));
    assert_eq!(init["params"], json!({"clientInfo": {"name": "before"}}));
}

#[test]
fn a_refused_initialize_reaches_its_owner_and_the_next_one_tries_again() {
    let mut mux = Mux::new("time", None);
    mux.on_attached("i1");
    let init = one_to_server(&mux.on_client(1, init_request(json!(1), "a")));
    mux.on_client(2, request(json!(2), "tools/list", json!({})));
    let refusal = json!({"jsonrpc": "2.0", "id": init["id"], "error": {"code": -32602, "message": "bad version"}});
    let actions = mux.on_server(refusal);
    assert_eq!(to_session(&actions, 1)[0]["error"]["code"], -32602);
    assert_eq!(to_session(&actions, 1)[0]["id"], 1);
    let other = to_session(&actions, 2);
    assert!(
        other[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bad version")
    );
    assert!(mux.take_cache_update().is_none());
    let again = one_to_server(&mux.on_client(1, init_request(json!(3), "a")));
    assert_eq!(again["method"], "initialize");
}

#[test]
fn the_server_going_away_during_initialize_tells_its_owner() {
    let mut mux = Mux::new("time", None);
    mux.on_attached("i1");
    one_to_server(&mux.on_client(1, init_request(json!("i"), "a")));
    let actions = mux.on_server_gone();
    assert_eq!(to_session(&actions, 1)[0]["id"], "i");
    // After a failed attach, waiting requests are answered too.
    mux.on_client(1, request(json!(4), "tools/list", json!({})));
    mux.on_client(
        1,
        json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}),
    );
    let failed = mux.fail_queued("could not be started: no such container");
    assert_eq!(failed.len(), 1);
    assert!(
        to_session(&failed, 1)[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no such container")
    );
}

#[test]
fn batches_and_invalid_messages_are_answered_not_forwarded() {
    let mut mux = ready_mux();
    let batch = json!([request(json!(1), "tools/list", json!({}))]);
    let actions = mux.on_client(1, batch);
    let err = &to_session(&actions, 1)[0];
    assert_eq!(err["error"]["code"], INVALID_REQUEST);
    assert_eq!(err["id"], Value::Null);
    let actions = mux.on_client(1, json!({"jsonrpc": "2.0", "id": "x", "method": 5}));
    assert_eq!(to_session(&actions, 1)[0]["id"], "x");
    assert!(mux.on_client(1, json!({"jsonrpc": "2.0"})).is_empty());
    // An answer to a server request nobody made is dropped.
    assert!(mux.on_client(1, ok(json!(99), json!({}))).is_empty());
    assert!(mux.on_server(json!({"garbage": true})).is_empty());
}

#[test]
fn gateway_ids_start_where_they_are_told() {
    let mut mux = Mux::new("time", None).starting_at(1_000_000);
    mux.on_attached("i1");
    let init = one_to_server(&mux.on_client(1, init_request(json!(1), "a")));
    assert_eq!(init["id"], 1_000_001);
}

#[test]
fn a_client_that_probes_discover_then_initializes_is_served_as_a_legacy_client() {
    let mut mux = ready_mux();
    let probe = mux.on_client(2, request(json!(1), "server/discover", json!({})));
    assert_eq!(to_session(&probe, 2)[0]["result"]["resultType"], "complete");
    join(&mut mux, 2);
    let up = one_to_server(&mux.on_client(2, request(json!(2), "tools/list", json!({}))));
    let back = to_session(
        &mux.on_server(ok(up["id"].clone(), json!({"tools": []}))),
        2,
    );
    assert_eq!(back, vec![ok(json!(2), json!({"tools": []}))]);
    // A modern session's unstamped request is still answered the modern way.
    mux.on_client(3, modern(json!(1), "tools/list", json!({})));
    let up = one_to_server(&mux.on_client(3, request(json!(2), "tools/list", json!({}))));
    let back = to_session(
        &mux.on_server(ok(up["id"].clone(), json!({"tools": []}))),
        3,
    );
    assert_eq!(back[0]["result"]["cacheScope"], "private");
}
