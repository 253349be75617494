//! The gateway's HTTP front end over a fake gateway: the door (token, Host,
//! Origin, size), sessions (initialize, Mcp-Session-Id, DELETE, idle
//! reaping), both answer forms, the standalone stream, 2026-07-28 stateless
//! requests, clients hanging up mid-request, shutdown; `/mcp` over HTTP.
//! The official Python SDK client against it: `gateway_http_python.rs`.
#[path = "gateway_http/support.rs"]
mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use support::*;
use tokio::io::AsyncReadExt;

fn call_tool(id: u64, name: &str, text: &str) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":name,"arguments":{"text":text}}})
        .to_string()
}

fn list_tools(id: u64) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/list"}).to_string()
}

#[tokio::test]
async fn the_door_wants_the_token_and_our_own_names() {
    let g = start(None).await;
    let path = "/servers/time/mcp";
    let health = read(send(g.port, "GET", "/healthz", &[("Host", g.host())], "").await).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));

    let none = read(send(g.port, "POST", path, &[("Host", g.host())], &initialize(1)).await).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let wrong = [
        ("Host", g.host()),
        ("Authorization", "Bearer nope".to_string()),
    ];
    let wrong = read(send(g.port, "POST", path, &wrong, &initialize(1)).await).await;
    assert_eq!(wrong.status, 401);

    let rebound = [
        ("Host", format!("evil.example:{}", g.port)),
        ("Authorization", format!("Bearer {TOKEN}")),
    ];
    let rebound = read(send(g.port, "POST", path, &rebound, &initialize(1)).await).await;
    assert_eq!(rebound.status, 403, "{rebound:?}");
    let origin = call(
        &g,
        "POST",
        path,
        &[("Origin", "http://evil.example".into())],
        &initialize(1),
    )
    .await;
    assert_eq!(origin.status, 403);
    // Nothing reached the gateway.
    assert_eq!(g.fake.opened.load(Ordering::SeqCst), 0);

    let local = format!("http://localhost:{}", g.port);
    let fine = call(
        &g,
        "POST",
        path,
        &[("Origin", local), accept_both()],
        &initialize(1),
    )
    .await;
    assert_eq!(fine.status, 200, "{fine:?}");

    let big = "x".repeat(4 * 1024 * 1024 + 1);
    let big = call(&g, "POST", path, &[accept_both()], &big).await;
    assert_eq!(big.status, 413);
    let unknown = call(
        &g,
        "POST",
        "/servers/nope/mcp",
        &[accept_both()],
        &initialize(1),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the servers here: time, clock")
    );
    let path404 = call(&g, "POST", "/elsewhere", &[accept_both()], &initialize(1)).await;
    assert_eq!(path404.status, 404);
    let garbage = call(&g, "POST", path, &[accept_both()], "{not json").await;
    assert_eq!(
        (garbage.status, garbage.json()["error"]["code"].clone()),
        (400, json!(-32700))
    );
    g.stop().await;
}

#[tokio::test]
async fn a_session_answers_in_both_forms_and_keeps_unknown_fields() {
    let g = start(None).await;
    let path = "/servers/time/mcp";
    let init = call(&g, "POST", path, &[accept_both()], &initialize(1)).await;
    // Answered at once and alone: one JSON body, though SSE was allowed.
    assert_eq!(init.header("content-type"), Some("application/json"));
    let events = init.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["result"]["serverInfo"]["name"], "fake-time");
    let session = init.header("mcp-session-id").unwrap().to_string();
    assert_eq!(session.len(), 64);
    let sid = ("Mcp-Session-Id", session.clone());

    let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"}).to_string();
    let accepted = call(&g, "POST", path, &[sid.clone(), accept_both()], &note).await;
    assert_eq!(accepted.status, 202);

    // JSON only: the response alone.
    let json_only = ("Accept", "application/json".to_string());
    let listed = call(&g, "POST", path, &[sid.clone(), json_only], &list_tools(2)).await;
    assert_eq!(listed.header("content-type"), Some("application/json"));
    let listed = listed.json();
    assert_eq!(listed["id"], 2);
    assert_eq!(listed["result"]["tools"][0]["x-unknown"]["kept"], true);

    // SSE: the related log message, then the response; the stream ends.
    let called = call(
        &g,
        "POST",
        path,
        &[sid.clone(), accept_both()],
        &call_tool(3, "echo", "hi"),
    )
    .await;
    assert_eq!(called.header("content-type"), Some("text/event-stream"));
    let events = called.events();
    assert_eq!(events.len(), 2, "{called:?}");
    assert_eq!(events[0]["method"], "notifications/message");
    assert_eq!(events[1]["id"], 3);
    assert_eq!(events[1]["result"]["content"][0]["text"], "hi");

    // An answer that takes longer than the JSON window comes on the event
    // stream (opened before the answer exists, with keep-alives).
    let slow = call(
        &g,
        "POST",
        path,
        &[sid.clone(), accept_both()],
        &call_tool(4, "slow", ""),
    )
    .await;
    assert_eq!(slow.header("content-type"), Some("text/event-stream"));
    let events = slow.events();
    assert_eq!(
        events.last().unwrap()["result"]["content"][0]["text"],
        "late"
    );

    let no_accept = call(
        &g,
        "POST",
        path,
        &[sid.clone(), ("Accept", "text/html".into())],
        &list_tools(4),
    )
    .await;
    assert_eq!(no_accept.status, 406);
    let missing = call(&g, "POST", path, &[accept_both()], &list_tools(5)).await;
    assert_eq!(missing.status, 400);
    let unknown = call(
        &g,
        "POST",
        path,
        &[("Mcp-Session-Id", "f".repeat(64)), accept_both()],
        &list_tools(6),
    )
    .await;
    assert_eq!(unknown.status, 404);
    // The id is only good on the endpoint that made it.
    let elsewhere = call(
        &g,
        "POST",
        "/mcp",
        &[sid.clone(), accept_both()],
        &list_tools(7),
    )
    .await;
    assert_eq!(elsewhere.status, 404);

    let deleted = call(&g, "DELETE", path, std::slice::from_ref(&sid), "").await;
    assert_eq!(deleted.status, 200);
    eventually("the gateway session ends", || {
        g.fake.open.load(Ordering::SeqCst) == 0
    })
    .await;
    let after = call(
        &g,
        "POST",
        path,
        &[sid.clone(), accept_both()],
        &list_tools(8),
    )
    .await;
    assert_eq!(after.status, 404);
    assert_eq!(call(&g, "DELETE", path, &[sid], "").await.status, 404);
    g.stop().await;
}

#[tokio::test]
async fn stateless_requests_get_their_own_session_and_no_session_id() {
    let g = start(None).await;
    let path = "/servers/time/mcp";
    let modern = ("MCP-Protocol-Version", "2026-07-28".to_string());
    let called = call(
        &g,
        "POST",
        path,
        &[modern.clone(), accept_both()],
        &call_tool(1, "echo", "now"),
    )
    .await;
    assert_eq!(called.status, 200, "{called:?}");
    assert_eq!(called.header("mcp-session-id"), None);
    let response = called.events().pop().unwrap();
    assert_eq!(response["result"]["content"][0]["text"], "now");
    // The front end named the revision in _meta for the gateway behind.
    assert_eq!(response["result"]["resultType"], "complete");

    // By _meta alone, answered as JSON, server/discover too.
    let discover = json!({"jsonrpc":"2.0","id":"d","method":"server/discover","params":{
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}});
    let found = call(
        &g,
        "POST",
        path,
        &[("Accept", "application/json".into())],
        &discover.to_string(),
    )
    .await;
    assert_eq!(found.json()["result"]["supportedVersions"][0], "2026-07-28");
    assert_eq!(found.json()["id"], "d");
    eventually("each request's session ends", || {
        g.fake.open.load(Ordering::SeqCst) == 0
    })
    .await;
    assert_eq!(g.fake.opened.load(Ordering::SeqCst), 2);

    let bad = call(
        &g,
        "POST",
        path,
        &[("MCP-Protocol-Version", "1999-01-01".into()), accept_both()],
        &list_tools(1),
    )
    .await;
    assert_eq!(bad.status, 400);
    g.stop().await;
}

#[tokio::test]
async fn a_client_hanging_up_mid_request_leaves_nothing_stuck() {
    let g = start(None).await;
    let path = "/servers/time/mcp";
    // Stateless: hanging up is the cancellation; the request's session ends.
    let modern = ("MCP-Protocol-Version", "2026-07-28".to_string());
    let headers = [
        ("Host", g.host()),
        ("Authorization", format!("Bearer {TOKEN}")),
        ("Content-Type", "application/json".into()),
        modern,
        accept_both(),
    ];
    let mut stream = send(g.port, "POST", path, &headers, &call_tool(1, "slow", "")).await;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    eventually("the slow call runs", || {
        g.fake.open.load(Ordering::SeqCst) == 1
    })
    .await;
    drop(stream);
    eventually("the request's session ends", || {
        g.fake.open.load(Ordering::SeqCst) == 0
    })
    .await;
    assert_eq!(g.fake.abandoned.load(Ordering::SeqCst), 1);

    // The same when the answer would have been JSON (nothing is written
    // before the response, so the server must notice the hang-up itself).
    let mut json_headers = headers.clone();
    json_headers[4] = ("Accept", "application/json".into());
    let stream = send(
        g.port,
        "POST",
        path,
        &json_headers,
        &call_tool(1, "slow", ""),
    )
    .await;
    eventually("the slow call runs", || {
        g.fake.open.load(Ordering::SeqCst) == 1
    })
    .await;
    drop(stream);
    eventually("the request's session ends", || {
        g.fake.open.load(Ordering::SeqCst) == 0
    })
    .await;
    assert_eq!(g.fake.abandoned.load(Ordering::SeqCst), 2);

    // With a session: the session outlives the hang-up and keeps working;
    // the late answer goes nowhere.
    let session = open_session(&g, path).await;
    let sid = ("Mcp-Session-Id", session);
    let mut headers = headers[..3].to_vec();
    headers.extend([sid.clone(), accept_both()]);
    let mut stream = send(g.port, "POST", path, &headers, &call_tool(2, "slow", "")).await;
    stream.read_exact(&mut head).await.unwrap();
    drop(stream);
    let echo = call(
        &g,
        "POST",
        path,
        &[sid.clone(), accept_both()],
        &call_tool(3, "echo", "still here"),
    )
    .await;
    assert_eq!(
        echo.events().last().unwrap()["result"]["content"][0]["text"],
        "still here"
    );
    // The same id may be used again once its client is gone.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = call(
        &g,
        "POST",
        path,
        &[sid.clone(), accept_both()],
        &call_tool(2, "echo", "reused"),
    )
    .await;
    assert_eq!(
        again.events().last().unwrap()["result"]["content"][0]["text"],
        "reused"
    );
    g.stop().await;
}

#[tokio::test]
async fn the_standalone_stream_carries_what_no_request_asked_for() {
    let g = start(None).await;
    let path = "/servers/time/mcp";
    let session = open_session(&g, path).await;
    let sid = ("Mcp-Session-Id", session);
    let headers = [
        ("Host", g.host()),
        ("Authorization", format!("Bearer {TOKEN}")),
        ("Accept", "text/event-stream".to_string()),
        sid.clone(),
    ];
    let mut get = send(g.port, "GET", path, &headers, "").await;
    // A slow call: after the stateful hang-up above its late answer is a
    // response no one waits for; here it is answered on its own stream while
    // a log message of another call goes on that call's stream.
    let echo = call(
        &g,
        "POST",
        path,
        &[sid.clone(), accept_both()],
        &call_tool(9, "echo", "x"),
    )
    .await;
    assert_eq!(echo.events().len(), 2);
    // Messages with no request to go with: sent while no request is in
    // flight, so they go on the GET stream.
    let json_only = ("Accept", "application/json".to_string());
    let called = call(
        &g,
        "POST",
        path,
        &[sid.clone(), json_only],
        &call_tool(10, "echo", "y"),
    )
    .await;
    assert_eq!(called.json()["result"]["content"][0]["text"], "y");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("calling echo") {
        let n = tokio::time::timeout(Duration::from_secs(5), get.read(&mut buf))
            .await
            .expect("the log message arrives on the GET stream")
            .unwrap();
        assert!(n > 0, "GET stream closed early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(
        seen.to_ascii_lowercase()
            .contains("content-type: text/event-stream")
    );
    // Shutdown ends the open stream and returns.
    g.stop().await;
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), get.read_to_end(&mut rest))
        .await
        .expect("the GET stream ends at shutdown")
        .unwrap();
}

#[tokio::test]
async fn idle_sessions_are_closed() {
    let g = start(Some(Duration::from_millis(300))).await;
    let path = "/servers/time/mcp";
    let session = open_session(&g, path).await;
    assert_eq!(g.fake.open.load(Ordering::SeqCst), 1);
    eventually("the idle session is closed", || {
        g.fake.open.load(Ordering::SeqCst) == 0
    })
    .await;
    let after = call(
        &g,
        "POST",
        path,
        &[("Mcp-Session-Id", session), accept_both()],
        &list_tools(2),
    )
    .await;
    assert_eq!(after.status, 404);
    g.stop().await;
}

#[tokio::test]
async fn the_aggregate_endpoint_prefixes_and_routes_over_http() {
    let g = start(None).await;
    let init = call(&g, "POST", "/mcp", &[accept_both()], &initialize(1)).await;
    let info = &init.events()[0]["result"];
    assert_eq!(info["serverInfo"]["name"], "mcpm-gateway", "{init:?}");
    assert_eq!(info["capabilities"]["tools"]["listChanged"], true);
    let sid = (
        "Mcp-Session-Id",
        init.header("mcp-session-id").unwrap().to_string(),
    );
    assert_eq!(
        g.fake.open.load(Ordering::SeqCst),
        2,
        "one session per server"
    );

    let json_only = ("Accept", "application/json".to_string());
    let listed = call(
        &g,
        "POST",
        "/mcp",
        &[sid.clone(), json_only.clone()],
        &list_tools(2),
    )
    .await
    .json();
    let mut names: Vec<String> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["clock__echo", "clock__slow", "time__echo", "time__slow"]
    );

    let called = call(
        &g,
        "POST",
        "/mcp",
        &[sid.clone(), accept_both()],
        &call_tool(3, "clock__echo", "tick"),
    )
    .await;
    let events = called.events();
    assert_eq!(events.last().unwrap()["id"], 3);
    assert_eq!(
        events.last().unwrap()["result"]["content"][0]["text"],
        "tick"
    );
    let wrong = call(
        &g,
        "POST",
        "/mcp",
        &[sid.clone(), json_only],
        &call_tool(4, "moon__echo", "x"),
    )
    .await
    .json();
    assert_eq!(wrong["error"]["code"], -32602);

    assert_eq!(call(&g, "DELETE", "/mcp", &[sid], "").await.status, 200);
    eventually("every server session ends", || {
        g.fake.open.load(Ordering::SeqCst) == 0
    })
    .await;

    // Stateless on /mcp: the request's aggregate session, and with it every
    // server session, ends when the client hangs up.
    let headers = [
        ("Host", g.host()),
        ("Authorization", format!("Bearer {TOKEN}")),
        ("Content-Type", "application/json".into()),
        ("MCP-Protocol-Version", "2026-07-28".into()),
        accept_both(),
    ];
    let mut stream = send(
        g.port,
        "POST",
        "/mcp",
        &headers,
        &call_tool(5, "time__slow", ""),
    )
    .await;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    eventually("the servers are open", || {
        g.fake.open.load(Ordering::SeqCst) == 2
    })
    .await;
    drop(stream);
    eventually("every server session ends", || {
        g.fake.open.load(Ordering::SeqCst) == 0
    })
    .await;
    assert_eq!(g.fake.abandoned.load(Ordering::SeqCst), 1);
    g.stop().await;
}

#[tokio::test]
async fn a_request_whose_session_ends_gets_an_error_not_a_hang() {
    let g = start(None).await;
    let path = "/servers/time/mcp";
    let sid = ("Mcp-Session-Id", open_session(&g, path).await);
    let headers = [
        ("Host", g.host()),
        ("Authorization", format!("Bearer {TOKEN}")),
        ("Content-Type", "application/json".into()),
        sid.clone(),
        accept_both(),
    ];
    let waiting = send(g.port, "POST", path, &headers, &call_tool(7, "slow", "")).await;
    eventually("the call is in flight", || {
        g.fake.open.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        call(&g, "DELETE", path, std::slice::from_ref(&sid), "")
            .await
            .status,
        200
    );
    let reply = read(waiting).await;
    let last = reply.events().pop().expect("an event");
    assert_eq!(last["id"], 7);
    assert_eq!(last["error"]["code"], -32603, "{reply:?}");
    eventually("the gateway session ends", || {
        g.fake.open.load(Ordering::SeqCst) == 0
    })
    .await;
    g.stop().await;
}
