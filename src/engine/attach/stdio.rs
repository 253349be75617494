//! The stdio of an attached container as [`crate::gateway::Stdio`] wants it:
//! the engine's multiplexed attach frames turned into the server's stdout as
//! a byte stream, with its stderr logged line by line on the way.
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bollard::container::LogOutput;
use futures_util::Stream;
use tokio::io::{AsyncRead, ReadBuf};

use crate::engine::connect::describe;

/// Longest stderr line kept whole; longer ones are logged in pieces so a
/// server that never writes a newline cannot grow the gateway's memory.
const MAX_STDERR_LINE: usize = 16 * 1024;

/// The server's stdout out of the attach `frames` of server `server`.
pub(super) fn output(frames: Frames, server: &str) -> Pin<Box<dyn AsyncRead + Send>> {
    Box::pin(AttachOutput {
        frames,
        pending: None,
        stderr: StderrLog::new(server),
    })
}

pub(super) type Frames =
    Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

/// The server's stdout as a byte stream, read from the attach frames; stderr
/// frames go to [`StderrLog`] on the way.
struct AttachOutput {
    frames: Frames,
    /// A stdout frame partly handed out, and how far.
    pending: Option<(LogOutput, usize)>,
    stderr: StderrLog,
}

impl AsyncRead for AttachOutput {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if let Some((frame, offset)) = &mut this.pending {
                let data = &frame.as_ref()[*offset..];
                let n = data.len().min(buf.remaining());
                buf.put_slice(&data[..n]);
                *offset += n;
                if *offset >= frame.as_ref().len() {
                    this.pending = None;
                }
                return Poll::Ready(Ok(()));
            }
            match ready!(this.frames.as_mut().poll_next(cx)) {
                None => {
                    this.stderr.finish();
                    return Poll::Ready(Ok(()));
                }
                Some(Err(err)) => {
                    this.stderr.finish();
                    return Poll::Ready(Err(io::Error::other(format!(
                        "the attach stream of server `{}` broke: {}",
                        this.stderr.server,
                        describe(&err)
                    ))));
                }
                Some(Ok(LogOutput::StdErr { message })) => this.stderr.push(&message),
                Some(Ok(frame @ (LogOutput::StdOut { .. } | LogOutput::Console { .. }))) => {
                    if !frame.as_ref().is_empty() {
                        this.pending = Some((frame, 0));
                    }
                }
                Some(Ok(LogOutput::StdIn { .. })) => {}
            }
        }
    }
}

/// A server's stderr, logged on the gateway's stderr one line at a time.
struct StderrLog {
    server: String,
    partial: Vec<u8>,
}

impl StderrLog {
    fn new(server: &str) -> Self {
        Self {
            server: server.to_string(),
            partial: Vec::new(),
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        for line in split_lines(&mut self.partial, chunk, MAX_STDERR_LINE) {
            eprintln!("[server {}] {line}", self.server);
        }
    }

    /// Logs what is left without a newline (the stream ended).
    fn finish(&mut self) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            eprintln!(
                "[server {}] {}",
                self.server,
                String::from_utf8_lossy(&rest)
            );
        }
    }
}

/// Appends `chunk` to `partial` and takes out the complete lines (without
/// their `\n` or `\r\n`); a line longer than `max` comes out in `max`-byte pieces.
pub(super) fn split_lines(partial: &mut Vec<u8>, chunk: &[u8], max: usize) -> Vec<String> {
    partial.extend_from_slice(chunk);
    let mut lines = Vec::new();
    let mut start = 0;
    while let Some(pos) = partial[start..].iter().position(|&b| b == b'\n') {
        let mut line = &partial[start..start + pos];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        lines.push(String::from_utf8_lossy(line).into_owned());
        start += pos + 1;
    }
    partial.drain(..start);
    while partial.len() > max {
        let piece: Vec<u8> = partial.drain(..max).collect();
        lines.push(String::from_utf8_lossy(&piece).into_owned());
    }
    lines
}
