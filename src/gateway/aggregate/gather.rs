//! The fan-out half of [`Aggregator`]: one request to every live server,
//! their pages followed, their answers merged (or left out, with a warning).
use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;

impl Aggregator {
    /// Starts a fan-out of `request` to every live server.
    pub(super) fn gather(
        &mut self,
        kind: GatherKind,
        purpose: Purpose,
        request: Message,
    ) -> Vec<Action> {
        self.next_gather += 1;
        let gid = self.next_gather;
        let targets = if kind == GatherKind::Initialize {
            (0..self.servers.len()).filter(|&i| self.up[i]).collect()
        } else {
            self.live()
        };
        self.gathers.insert(
            gid,
            Gather {
                kind,
                purpose,
                request: request.clone(),
                waiting: targets.iter().copied().collect(),
                pages: HashMap::new(),
                items: Vec::new(),
                results: Vec::new(),
                failed: Vec::new(),
            },
        );
        let mut actions: Vec<Action> = targets
            .into_iter()
            .map(|i| self.send(i, request.clone(), Pending::Part { gather: gid }))
            .collect();
        if actions.is_empty() {
            return self.finish(gid);
        }
        actions.push(Action::Timer(gid));
        actions
    }

    /// A fan-out's time is up: the servers still waited for are left out.
    pub fn expire(&mut self, gid: u64) -> Vec<Action> {
        let Some(gather) = self.gathers.get_mut(&gid) else {
            return Vec::new();
        };
        let late: Vec<usize> = gather.waiting.drain().collect();
        for &i in &late {
            gather.failed.push((
                i,
                format!("no answer within {} s", GATHER_TIMEOUT.as_secs()),
            ));
        }
        self.pending
            .retain(|_, p| !matches!(p, Pending::Part { gather } if *gather == gid));
        self.finish(gid)
    }

    /// One server's answer to a fan-out.
    pub(super) fn part(&mut self, gid: u64, i: usize, message: Message) -> Vec<Action> {
        let server = self.servers[i].clone();
        let Some(gather) = self.gathers.get_mut(&gid) else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        if let Some(err) = message.get("error") {
            let text = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("an error");
            gather.failed.push((i, text.to_string()));
            gather.waiting.remove(&i);
        } else {
            let result = message.get("result").cloned().unwrap_or(Value::Null);
            match gather.kind {
                GatherKind::List(kind) => {
                    let items = result
                        .get(kind.key())
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for item in items {
                        match kind {
                            ListKind::Resources => {
                                if let Some(uri) = item.get("uri").and_then(Value::as_str) {
                                    self.uris.insert(uri.to_string(), i);
                                }
                            }
                            ListKind::Templates => {
                                if let Some(t) = item.get("uriTemplate").and_then(Value::as_str) {
                                    let literal = t.split('{').next().unwrap_or("").to_string();
                                    self.templates.retain(|(p, s)| !(p == &literal && *s == i));
                                    self.templates.push((literal, i));
                                }
                            }
                            _ => {}
                        }
                        gather.items.push(prefix_item(&server, item));
                    }
                    let pages = gather.pages.entry(i).or_insert(1);
                    let cursor = result
                        .get("nextCursor")
                        .filter(|c| c.as_str().is_some_and(|c| !c.is_empty()));
                    match cursor {
                        Some(cursor) if *pages < MAX_PAGES => {
                            *pages += 1;
                            let mut next = gather.request.clone();
                            next["params"]["cursor"] = cursor.clone();
                            actions.push(self.send(i, next, Pending::Part { gather: gid }));
                            return actions;
                        }
                        Some(_) => {
                            gather.failed.push((
                                i,
                                format!("more than {MAX_PAGES} pages; the rest is left out"),
                            ));
                            gather.waiting.remove(&i);
                        }
                        None => {
                            gather.waiting.remove(&i);
                        }
                    }
                }
                GatherKind::Initialize => {
                    self.initialized[i] = true;
                    gather.results.push((i, result));
                    gather.waiting.remove(&i);
                }
                GatherKind::Discover | GatherKind::SetLevel => {
                    gather.results.push((i, result));
                    gather.waiting.remove(&i);
                }
            }
        }
        if self.gathers.get(&gid).is_some_and(|g| g.waiting.is_empty()) {
            actions.extend(self.finish(gid));
        }
        actions
    }

    /// A fan-out is complete: answer (or route the request it was for).
    pub(super) fn finish(&mut self, gid: u64) -> Vec<Action> {
        let Some(mut gather) = self.gathers.remove(&gid) else {
            return Vec::new();
        };
        let what = match gather.kind {
            GatherKind::List(kind) => kind.method(),
            GatherKind::Initialize => "initialize",
            GatherKind::Discover => "server/discover",
            GatherKind::SetLevel => "logging/setLevel",
        };
        let mut notes: Vec<Message> = Vec::new();
        for (i, why) in &gather.failed {
            let left_out = match gather.kind {
                GatherKind::List(kind) => format!("; its {} are left out", kind.key()),
                GatherKind::Initialize => "; it is left out of this session".to_string(),
                _ => String::new(),
            };
            notes.push(warning(format!(
                "server {} did not answer {what}: {why}{left_out}",
                self.servers[*i]
            )));
        }
        let placeholder = Purpose::Reply {
            client_id: Value::Null,
            modern: false,
        };
        match std::mem::replace(&mut gather.purpose, placeholder) {
            Purpose::Resolve {
                message,
                templates_done,
            } => {
                let method = message["method"].as_str().unwrap_or("").to_string();
                let id = message["id"].clone();
                let uri = message
                    .pointer("/params/uri")
                    .or_else(|| message.pointer("/params/ref/uri"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if self.server_of_uri(uri).is_none() && !templates_done {
                    let request = resolve_request(ListKind::Templates, &message);
                    let purpose = Purpose::Resolve {
                        message,
                        templates_done: true,
                    };
                    return self.gather(GatherKind::List(ListKind::Templates), purpose, request);
                }
                let mut actions: Vec<Action> = notes.into_iter().map(Action::ToClient).collect();
                actions.extend(self.route_call(&method, id, message, true));
                actions
            }
            Purpose::Reply { client_id, modern } => {
                let result = self.merged(&gather, modern);
                let answer = match result {
                    Ok(result) => response(client_id, result),
                    Err(text) => error(client_id, -32603, text),
                };
                // The answer first: a client reads notifications about a
                // session it has (initialize) or a list it got.
                let mut actions = vec![Action::ToClient(answer)];
                let startup: Vec<Message> = self.warnings.drain(..).map(warning).collect();
                actions.extend(startup.into_iter().chain(notes).map(Action::ToClient));
                actions
            }
        }
    }

    pub(super) fn merged(&self, gather: &Gather, modern: bool) -> Result<Value, String> {
        let mut result = match gather.kind {
            GatherKind::List(kind) => json!({ kind.key(): gather.items }),
            GatherKind::SetLevel => json!({}),
            GatherKind::Initialize => {
                let Some((_, first)) = gather.results.first() else {
                    return Err(format!(
                        "no server answered initialize (the servers here: {})",
                        self.known()
                    ));
                };
                let capabilities =
                    union_capabilities(gather.results.iter().map(|(_, r)| &r["capabilities"]));
                let instructions: Vec<String> = gather
                    .results
                    .iter()
                    .filter_map(|(i, r)| {
                        Some(format!(
                            "{}: {}",
                            self.servers[*i],
                            r["instructions"].as_str()?
                        ))
                    })
                    .collect();
                let mut result = json!({
                    "protocolVersion": first["protocolVersion"],
                    "capabilities": capabilities,
                    "serverInfo": server_info(),
                });
                if !instructions.is_empty() {
                    result["instructions"] = json!(instructions.join("\n\n"));
                }
                result
            }
            GatherKind::Discover => {
                if gather.results.is_empty() {
                    return Err(format!(
                        "no server answered server/discover (the servers here: {})",
                        self.known()
                    ));
                }
                let capabilities =
                    union_capabilities(gather.results.iter().map(|(_, r)| &r["capabilities"]));
                json!({
                    "resultType": "complete",
                    "supportedVersions": [MODERN],
                    "capabilities": capabilities,
                    "ttlMs": 0,
                    "cacheScope": "private",
                    "_meta": {"io.modelcontextprotocol/serverInfo": server_info()},
                })
            }
        };
        if modern {
            result["resultType"] = json!("complete");
            if matches!(gather.kind, GatherKind::List(_)) {
                result["ttlMs"] = json!(0);
                result["cacheScope"] = json!("private");
            }
        }
        Ok(result)
    }
}
