//! Response bodies: fixed ones, and the server-sent-event stream that
//! carries a request's response (with the messages related to it) or the
//! session's standalone messages.
use std::any::Any;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Frame};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::gateway::Message;

/// The body of every response the front end sends.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A comment line sent on idle streams: it keeps proxies from timing the
/// stream out, and a write to a client that went away is how the gateway
/// notices a vanished standalone-stream reader.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// A fixed body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// The SSE form of one message: `data: <json>` and a blank line (the JSON
/// text has no newline, so one `data:` line holds it).
pub fn event(message: &Message) -> Bytes {
    Bytes::from(format!("data: {message}\n\n"))
}

/// A stream of server-sent events fed by a channel.
pub struct EventStream {
    rx: mpsc::UnboundedReceiver<Message>,
    /// For a request's stream: its id. The stream ends after the response;
    /// if the session ends first, a JSON-RPC error answers the request.
    request_id: Option<Value>,
    keepalive: tokio::time::Interval,
    /// A message received before the stream was made, sent first.
    first: Option<Message>,
    done: bool,
    /// What must live exactly as long as the stream (its place among the
    /// pending requests; a 2026-07-28 request's own session).
    _holds: Vec<Box<dyn Any + Send>>,
}

impl EventStream {
    /// A request's stream (`request_id` set) or the standalone one.
    pub fn new(
        rx: mpsc::UnboundedReceiver<Message>,
        request_id: Option<Value>,
        holds: Vec<Box<dyn Any + Send>>,
    ) -> Self {
        let start = tokio::time::Instant::now() + KEEPALIVE;
        Self {
            rx,
            request_id,
            keepalive: tokio::time::interval_at(start, KEEPALIVE),
            first: None,
            done: false,
            _holds: holds,
        }
    }

    /// The stream with `message` (already taken from `rx`) sent first.
    pub fn starting_with(mut self, message: Option<Message>) -> Self {
        self.first = message;
        self
    }

    pub fn boxed(self) -> Body {
        BodyExt::boxed_unsync(self)
    }
}

/// The error a request gets when its session ends before its response.
pub fn session_ended(id: &Value) -> Message {
    json!({"jsonrpc": "2.0", "id": id, "error": {
        "code": -32603,
        "message": "the gateway session ended before the server answered"
    }})
}

impl HttpBody for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let next = match self.first.take() {
            Some(message) => Poll::Ready(Some(message)),
            None => self.rx.poll_recv(cx),
        };
        match next {
            Poll::Ready(Some(message)) => {
                let is_response = message.get("method").is_none();
                if self.request_id.is_some() && is_response {
                    self.done = true;
                    // Let go of the holds now: a stateless request's session
                    // ends as soon as its answer is out.
                    self._holds.clear();
                }
                return Poll::Ready(Some(Ok(Frame::data(event(&message)))));
            }
            Poll::Ready(None) => {
                self.done = true;
                return Poll::Ready(
                    self.request_id
                        .take()
                        .map(|id| Ok(Frame::data(event(&session_ended(&id))))),
                );
            }
            Poll::Pending => {}
        }
        match self.keepalive.poll_tick(cx) {
            Poll::Ready(_) => Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                b": keepalive\n\n",
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}
