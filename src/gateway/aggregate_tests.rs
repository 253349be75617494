use serde_json::json;

use super::*;

fn agg() -> Aggregator {
    Aggregator::new(vec!["time".into(), "files".into()])
}

fn request(id: u64, method: &str, params: Value) -> Message {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// The messages sent to each server, and to the client, in order.
fn split(actions: &[Action]) -> (Vec<(usize, Message)>, Vec<Message>, Vec<u64>) {
    let mut servers = Vec::new();
    let mut client = Vec::new();
    let mut timers = Vec::new();
    for action in actions {
        match action {
            Action::ToServer(i, m) => servers.push((*i, m.clone())),
            Action::ToClient(m) => client.push(m.clone()),
            Action::Timer(g) => timers.push(*g),
        }
    }
    (servers, client, timers)
}

fn answer(to: &Message, result: Value) -> Message {
    json!({"jsonrpc": "2.0", "id": to["id"], "result": result})
}

#[test]
fn names_split_on_the_longest_server_prefix() {
    let servers: Vec<String> = vec!["a".into(), "a__b".into(), "time".into()];
    assert_eq!(split_name(&servers, "time__now"), Some((2, "now")));
    assert_eq!(split_name(&servers, "a__b__c"), Some((1, "c")));
    assert_eq!(split_name(&servers, "a__x"), Some((0, "x")));
    assert_eq!(split_name(&servers, "a__"), Some((0, "")));
    assert_eq!(split_name(&servers, "other__x"), None);
    assert_eq!(split_name(&servers, "time_now"), None);
    assert_eq!(
        prefix_item("time", json!({"name": "now", "x": 1})),
        json!({"name": "time__now", "x": 1})
    );
}

#[test]
fn capabilities_union_keeps_every_key() {
    let a = json!({"tools": {"listChanged": true}, "logging": {}});
    let b = json!({"tools": {"other": 1}, "resources": {"subscribe": true}});
    assert_eq!(
        union_capabilities([&a, &b]),
        json!({"tools": {"listChanged": true, "other": 1}, "logging": {}, "resources": {"subscribe": true}})
    );
}

#[test]
fn initialize_is_answered_by_the_gateway_from_every_server() {
    let mut a = agg();
    let params =
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "c"}});
    let (sent, client, timers) = split(&a.from_client(request(100, "initialize", params.clone())));
    assert!(client.is_empty());
    assert_eq!(timers.len(), 1);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].1["params"], params,
        "each server is initialized with the client's params"
    );
    assert_ne!(
        sent[0].1["id"],
        json!(100),
        "upstream ids are the aggregator's own"
    );

    let ok = answer(
        &sent[0].1,
        json!({"protocolVersion": "2025-06-18",
        "capabilities": {"tools": {"listChanged": true}}, "serverInfo": {"name": "time"}, "instructions": "ask me the time"}),
    );
    assert!(a.from_server(0, ok).is_empty(), "waits for every server");
    let failed = json!({"jsonrpc": "2.0", "id": sent[1].1["id"], "error": {"code": -32603, "message": "boom"}});
    let (_, client, _) = split(&a.from_server(1, failed));
    assert_eq!(client[0]["id"], 100);
    let result = &client[0]["result"];
    assert_eq!(result["serverInfo"]["name"], "mcpm-gateway");
    assert_eq!(result["capabilities"]["tools"]["listChanged"], true);
    assert_eq!(result["protocolVersion"], "2025-06-18");
    assert_eq!(result["instructions"], "time: ask me the time");
    assert_eq!(client[1]["method"], "notifications/message");
    assert!(
        client[1]["params"]["data"]
            .as_str()
            .unwrap()
            .contains("files did not answer initialize: boom")
    );

    // Only the server that initialized hears from the client from now on.
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (sent, _, _) = split(&a.from_client(note));
    assert_eq!(sent.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0]);
    let (_, client, _) = split(&a.from_client(request(2, "ping", json!({}))));
    assert_eq!(client[0], json!({"jsonrpc": "2.0", "id": 2, "result": {}}));
}

#[test]
fn lists_follow_each_servers_pages_and_merge_with_prefixes() {
    let mut a = agg();
    let (sent, _, _) = split(&a.from_client(request(7, "tools/list", json!({}))));
    assert_eq!(sent.len(), 2);
    let page1 = answer(
        &sent[0].1,
        json!({"tools": [{"name": "now", "x-extra": true}], "nextCursor": "p2"}),
    );
    let (more, client, _) = split(&a.from_server(0, page1));
    assert!(client.is_empty());
    assert_eq!(more.len(), 1);
    assert_eq!(more[0].0, 0);
    assert_eq!(more[0].1["params"]["cursor"], "p2");
    assert_eq!(more[0].1["method"], "tools/list");
    assert!(
        a.from_server(1, answer(&sent[1].1, json!({"tools": [{"name": "read"}]})))
            .is_empty()
    );
    let page2 = answer(
        &more[0].1,
        json!({"tools": [{"name": "convert"}], "nextCursor": ""}),
    );
    let (_, client, _) = split(&a.from_server(0, page2));
    assert_eq!(client.len(), 1);
    assert_eq!(client[0]["id"], 7);
    let tools = client[0]["result"]["tools"].as_array().unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["files__read", "time__convert", "time__now"]);
    assert!(
        tools.iter().any(|t| t["x-extra"] == true),
        "unknown fields survive"
    );
    assert!(client[0]["result"].get("nextCursor").is_none());

    // A cursor we never gave is refused.
    let (_, client, _) = split(&a.from_client(request(8, "tools/list", json!({"cursor": "zz"}))));
    assert_eq!(client[0]["error"]["code"], -32602);
}

#[test]
fn a_server_that_fails_or_never_answers_is_left_out_with_a_warning() {
    let mut a = agg();
    let actions = a.from_client(request(1, "prompts/list", json!({})));
    let (sent, _, timers) = split(&actions);
    assert!(
        a.from_server(0, answer(&sent[0].1, json!({"prompts": [{"name": "p"}]})))
            .is_empty()
    );
    let (_, client, _) = split(&a.expire(timers[0]));
    assert_eq!(client[0]["result"]["prompts"], json!([{"name": "time__p"}]));
    assert!(
        client[1]["params"]["data"]
            .as_str()
            .unwrap()
            .contains("files did not answer prompts/list")
    );
    // Its late answer changes nothing.
    assert!(
        a.from_server(1, answer(&sent[1].1, json!({"prompts": []})))
            .is_empty()
    );
    assert!(a.expire(timers[0]).is_empty());
}

#[test]
fn calls_go_to_their_server_without_the_prefix_and_come_back_with_the_clients_id() {
    let mut a = agg();
    let call = request(
        42,
        "tools/call",
        json!({"name": "files__read", "arguments": {"path": "/x"}, "_meta": {"progressToken": 3}}),
    );
    let (sent, _, _) = split(&a.from_client(call));
    assert_eq!(sent.len(), 1);
    let (i, upstream) = &sent[0];
    assert_eq!(*i, 1);
    assert_eq!(upstream["params"]["name"], "read");
    assert_eq!(upstream["params"]["arguments"]["path"], "/x");
    assert_eq!(upstream["params"]["_meta"]["progressToken"], 3);
    let (_, client, _) = split(&a.from_server(1, answer(upstream, json!({"content": []}))));
    assert_eq!(client[0]["id"], 42);

    let prompt = request(43, "prompts/get", json!({"name": "time__greet"}));
    let (sent, _, _) = split(&a.from_client(prompt));
    assert_eq!(
        (sent[0].0, sent[0].1["params"]["name"].clone()),
        (0, json!("greet"))
    );
    let complete = request(
        44,
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "files__p"}, "argument": {}}),
    );
    let (sent, _, _) = split(&a.from_client(complete));
    assert_eq!(
        (sent[0].0, sent[0].1["params"]["ref"]["name"].clone()),
        (1, json!("p"))
    );

    let (sent, client, _) =
        split(&a.from_client(request(45, "tools/call", json!({"name": "nope__x"}))));
    assert!(sent.is_empty());
    assert_eq!(client[0]["error"]["code"], -32602);
    assert!(
        client[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the servers here: time, files")
    );
    let (_, client, _) = split(&a.from_client(request(46, "weird/method", json!({}))));
    assert_eq!(client[0]["error"]["code"], -32601);

    // Cancelling a routed request cancels it upstream under its own id.
    let (sent, _, _) =
        split(&a.from_client(request(47, "tools/call", json!({"name": "time__slow"}))));
    let cancel =
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 47}});
    let (cancelled, _, _) = split(&a.from_client(cancel));
    assert_eq!(cancelled[0].0, 0);
    assert_eq!(cancelled[0].1["params"]["requestId"], sent[0].1["id"]);
    assert!(a.from_server(0, answer(&sent[0].1, json!({}))).is_empty());
}

#[test]
fn server_requests_get_ids_of_ours_and_answers_go_back() {
    let mut a = agg();
    let sampling =
        json!({"jsonrpc": "2.0", "id": 5, "method": "sampling/createMessage", "params": {}});
    let (_, from_time, _) = split(&a.from_server(0, sampling.clone()));
    let (_, from_files, _) = split(&a.from_server(1, sampling));
    let (ours_time, ours_files) = (from_time[0]["id"].clone(), from_files[0]["id"].clone());
    assert_ne!(
        ours_time, ours_files,
        "the same id from two servers never collides"
    );
    let reply = json!({"jsonrpc": "2.0", "id": ours_files, "result": {"content": {}}});
    let (sent, _, _) = split(&a.from_client(reply.clone()));
    assert_eq!(
        sent,
        [(
            1,
            json!({"jsonrpc": "2.0", "id": 5, "result": {"content": {}}})
        )]
    );
    assert!(a.from_client(reply).is_empty(), "answered once");
    // A server cancelling its own request: named by our id.
    let cancel =
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5}});
    let (_, client, _) = split(&a.from_server(0, cancel));
    assert_eq!(client[0]["params"]["requestId"], ours_time);
}

#[test]
fn list_changed_is_forwarded_once_until_the_client_lists_again() {
    let mut a = agg();
    let changed = json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"});
    assert_eq!(a.from_server(0, changed.clone()).len(), 1);
    assert!(a.from_server(1, changed.clone()).is_empty());
    let prompts = json!({"jsonrpc": "2.0", "method": "notifications/prompts/list_changed"});
    assert_eq!(
        a.from_server(1, prompts).len(),
        1,
        "another list is other news"
    );
    a.from_client(request(1, "tools/list", json!({})));
    assert_eq!(a.from_server(1, changed).len(), 1);
    let log = json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "x"}});
    assert_eq!(split(&a.from_server(0, log.clone())).1, [log]);
}

#[test]
fn resources_are_routed_by_uri_learning_the_uris_when_needed() {
    let mut a = agg();
    // Never listed (a 2026-07-28 request is its own session): the read
    // waits for the lists, then goes to the server that has the URI.
    let read = request(9, "resources/read", json!({"uri": "file:///etc/hosts"}));
    let (sent, client, _) = split(&a.from_client(read.clone()));
    assert!(client.is_empty());
    assert_eq!(
        sent.iter()
            .map(|(_, m)| m["method"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["resources/list"; 2]
    );
    a.from_server(
        0,
        answer(
            &sent[0].1,
            json!({"resources": [{"uri": "time://zones", "name": "zones"}]}),
        ),
    );
    let (templ, client, _) = split(&a.from_server(1, answer(&sent[1].1, json!({"resources": []}))));
    assert!(
        client.is_empty(),
        "not listed: the templates are asked next"
    );
    assert_eq!(templ[0].1["method"], "resources/templates/list");
    a.from_server(0, answer(&templ[0].1, json!({"resourceTemplates": []})));
    let files_templates =
        json!({"resourceTemplates": [{"uriTemplate": "file:///{path}", "name": "file"}]});
    let (routed, _, _) = split(&a.from_server(1, answer(&templ[1].1, files_templates)));
    assert_eq!(routed.len(), 1);
    assert_eq!(routed[0].0, 1);
    assert_eq!(routed[0].1["params"]["uri"], "file:///etc/hosts");
    let (_, client, _) = split(&a.from_server(1, answer(&routed[0].1, json!({"contents": []}))));
    assert_eq!(client[0]["id"], 9);

    // A 2026-07-28 request's lookups are made in its revision.
    let mut b = agg();
    let modern = request(
        1,
        "resources/read",
        json!({"uri": "x://y",
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "progressToken": 1}}),
    );
    let (sent, _, _) = split(&b.from_client(modern));
    assert_eq!(
        sent[0].1["params"],
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}})
    );

    // Known URIs route at once, names of resources are prefixed, URIs kept.
    let (sent, _, _) = split(&a.from_client(request(
        10,
        "resources/subscribe",
        json!({"uri": "time://zones"}),
    )));
    assert_eq!(sent[0].0, 0);
    let (sent, _, _) = split(&a.from_client(request(11, "resources/list", json!({}))));
    a.from_server(
        0,
        answer(
            &sent[0].1,
            json!({"resources": [{"uri": "time://zones", "name": "zones"}]}),
        ),
    );
    let (_, client, _) = split(&a.from_server(1, answer(&sent[1].1, json!({"resources": []}))));
    assert_eq!(
        client[0]["result"]["resources"],
        json!([{"uri": "time://zones", "name": "time__zones"}])
    );

    // Unknown even after listing: an error naming the servers.
    let unknown = request(12, "resources/read", json!({"uri": "nowhere://x"}));
    let (sent, _, _) = split(&a.from_client(unknown));
    a.from_server(0, answer(&sent[0].1, json!({"resources": []})));
    let (templ, _, _) = split(&a.from_server(1, answer(&sent[1].1, json!({"resources": []}))));
    a.from_server(0, answer(&templ[0].1, json!({"resourceTemplates": []})));
    let (_, client, _) =
        split(&a.from_server(1, answer(&templ[1].1, json!({"resourceTemplates": []}))));
    assert_eq!(client[0]["error"]["code"], -32602);
    assert!(
        client[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("time, files")
    );
}

#[test]
fn modern_requests_get_modern_results_and_discover_is_answered_here() {
    let mut a = agg();
    let meta = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}});
    let (sent, _, _) = split(&a.from_client(request(1, "tools/list", meta.clone())));
    assert_eq!(
        sent[0].1["params"], meta,
        "the revision travels on for the hub to translate"
    );
    a.from_server(0, answer(&sent[0].1, json!({"tools": []})));
    let (_, client, _) = split(&a.from_server(1, answer(&sent[1].1, json!({"tools": []}))));
    let result = &client[0]["result"];
    assert_eq!(
        (
            result["resultType"].clone(),
            result["ttlMs"].clone(),
            result["cacheScope"].clone()
        ),
        (json!("complete"), json!(0), json!("private"))
    );

    let (sent, _, _) = split(&a.from_client(request(2, "server/discover", meta)));
    a.from_server(
        0,
        answer(&sent[0].1, json!({"capabilities": {"tools": {}}})),
    );
    let (_, client, _) = split(&a.from_server(
        1,
        answer(&sent[1].1, json!({"capabilities": {"prompts": {}}})),
    ));
    let result = &client[0]["result"];
    assert_eq!(result["supportedVersions"], json!(["2026-07-28"]));
    assert_eq!(result["capabilities"], json!({"tools": {}, "prompts": {}}));
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "mcpm-gateway"
    );
}

#[test]
fn a_server_going_away_fails_its_requests_and_leaves_the_rest() {
    let mut a = agg();
    let (sent, _, _) =
        split(&a.from_client(request(1, "tools/call", json!({"name": "time__now"}))));
    let (list, _, _) = split(&a.from_client(request(2, "tools/list", json!({}))));
    let (_, client, _) = split(&a.server_closed(0));
    assert_eq!(client[0]["id"], 1);
    assert_eq!(client[0]["error"]["code"], -32603);
    assert!(!a.all_down());
    let (_, client, _) =
        split(&a.from_server(1, answer(&list[1].1, json!({"tools": [{"name": "read"}]}))));
    assert_eq!(
        client[0]["result"]["tools"],
        json!([{"name": "files__read"}])
    );
    assert!(a.from_server(0, answer(&sent[0].1, json!({}))).is_empty());
    // Later calls to it fail at once; lists skip it.
    let (_, client, _) =
        split(&a.from_client(request(3, "tools/call", json!({"name": "time__now"}))));
    assert!(
        client[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("time is not available")
    );
    let (sent, _, _) = split(&a.from_client(request(4, "tools/list", json!({}))));
    assert_eq!(sent.len(), 1);
    a.mark_down(1, "gone");
    assert!(a.all_down());
}
