//! `logs`: streams a container's output, stdout to stdout and stderr to
//! stderr, like `docker logs`.
use std::io::Write;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt;

use crate::error::{Error, Result};

use super::connect::{Engine, describe};
use super::model::parse_duration;

/// What to show.
#[derive(Debug, Clone, Default)]
pub struct LogsRequest {
    pub follow: bool,
    /// `--tail N` (`all` when unset).
    pub tail: Option<u64>,
    /// Unix seconds: only lines after this.
    pub since: Option<i64>,
    pub timestamps: bool,
}

/// Streams the logs of `container` until they end (or, with `follow`, until
/// the container stops or the user interrupts).
pub async fn stream(engine: &Engine, container: &str, request: &LogsRequest) -> Result<()> {
    let options = LogsOptions {
        follow: request.follow,
        stdout: true,
        stderr: true,
        since: request
            .since
            .map(|s| s.clamp(0, i64::from(i32::MAX)) as i32)
            .unwrap_or(0),
        until: 0,
        timestamps: request.timestamps,
        tail: request
            .tail
            .map(|n| n.to_string())
            .unwrap_or_else(|| "all".into()),
    };
    let mut logs = engine.docker.logs(container, Some(options));
    while let Some(chunk) = logs.next().await {
        match chunk {
            Ok(LogOutput::StdErr { message }) => {
                write_all(&mut std::io::stderr().lock(), &message)?
            }
            Ok(
                LogOutput::StdOut { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message },
            ) => write_all(&mut std::io::stdout().lock(), &message)?,
            Err(err) => {
                return Err(Error::runtime(format!(
                    "cannot read the logs of {container}: {}",
                    describe(&err)
                )));
            }
        }
    }
    Ok(())
}

/// The last `lines` lines `container` wrote (stdout and stderr interleaved
/// as the engine stored them), for reports such as a crash loop's. The engine
/// is asked for that many lines, so a chatty container costs nothing more.
pub async fn tail_lines(engine: &Engine, container: &str, lines: usize) -> Result<Vec<String>> {
    let request = LogsRequest {
        tail: Some(lines as u64),
        ..LogsRequest::default()
    };
    collect(engine, container, &request).await
}

/// The lines `container` wrote that `request` selects (`follow` is
/// ignored: this returns what is there now), stdout and stderr interleaved
/// as the engine stored them: `tail_lines`, and the MCP server's `logs`.
pub async fn collect(
    engine: &Engine,
    container: &str,
    request: &LogsRequest,
) -> Result<Vec<String>> {
    let options = LogsOptions {
        follow: false,
        stdout: true,
        stderr: true,
        since: request
            .since
            .map(|s| s.clamp(0, i64::from(i32::MAX)) as i32)
            .unwrap_or(0),
        until: 0,
        timestamps: request.timestamps,
        tail: request
            .tail
            .map(|n| n.to_string())
            .unwrap_or_else(|| "all".into()),
    };
    let mut logs = engine.docker.logs(container, Some(options));
    let mut bytes = Vec::new();
    while let Some(chunk) = logs.next().await {
        match chunk {
            Ok(
                LogOutput::StdErr { message }
                | LogOutput::StdOut { message }
                | LogOutput::Console { message }
                | LogOutput::StdIn { message },
            ) => bytes.extend_from_slice(&message),
            Err(err) => {
                return Err(Error::runtime(format!(
                    "cannot read the logs of {container}: {}",
                    describe(&err)
                )));
            }
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    Ok(match request.tail {
        Some(n) => last_lines(&text, usize::try_from(n).unwrap_or(usize::MAX)),
        None => last_lines(&text, usize::MAX),
    })
}

/// The last `n` lines of `text`, without line ends (a TTY's `\r\n` too).
fn last_lines(text: &str, n: usize) -> Vec<String> {
    let all: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    all[all.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// A timestamp as the engine writes it (`2026-01-02T15:04:05.123456789Z`,
/// RFC 3339 in UTC) → nanoseconds since the Unix epoch. `None` for the
/// engine's "never" (`0001-01-01T00:00:00Z`) and for anything unreadable.
pub fn engine_time_nanos(text: &str) -> Option<i128> {
    let seconds = rfc3339_utc(text)?;
    if seconds <= 0 {
        return None;
    }
    let fraction = text
        .split_once('.')
        .map(|(_, rest)| rest.trim_end_matches(['Z', 'z']))
        .unwrap_or_default();
    let digits: String = fraction.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nanos = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse::<i128>().ok()?
    };
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

/// Writes bytes; a closed pipe (`mcpm docker logs x | head`) ends quietly.
fn write_all(out: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(err) => Err(Error::runtime(format!("cannot write the logs: {err}"))),
    }
}

/// `--since`: a duration before `now` (`10m`, `1h30m`), Unix seconds, or an
/// RFC 3339 UTC time (`2026-01-02T15:04:05Z`).
pub fn parse_since(text: &str, now: i64) -> std::result::Result<i64, String> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Some(seconds) = rfc3339_utc(text) {
        return Ok(seconds);
    }
    parse_duration(text)
        .map(|nanos| now - nanos / 1_000_000_000)
        .map_err(|_| {
            format!("`{text}` is not a time: write a duration (10m, 2h), Unix seconds, or 2026-01-02T15:04:05Z")
        })
}

/// `YYYY-MM-DDTHH:MM:SS[.frac]Z` → Unix seconds.
fn rfc3339_utc(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z').or_else(|| text.strip_suffix('z'))?;
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut date = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let time = time.split('.').next()?;
    let mut time = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (time.next()??, time.next()??, time.next()??);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil calendar (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("10m", 1_000).unwrap(), 400);
        assert_eq!(parse_since("1700000000", 0).unwrap(), 1_700_000_000);
        assert_eq!(parse_since("1970-01-02T00:00:00Z", 0).unwrap(), 86_400);
        assert_eq!(
            parse_since("2024-03-01T12:00:00Z", 0).unwrap(),
            1_709_294_400
        );
        assert!(parse_since("yesterday", 0).is_err());
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\nb\r\nc\n", 2), vec!["b", "c"]);
        assert_eq!(last_lines("only", 5), vec!["only"]);
        assert!(last_lines("", 5).is_empty());
    }

    #[test]
    fn engine_times() {
        assert_eq!(
            engine_time_nanos("1970-01-02T00:00:00.5Z"),
            Some(86_400_500_000_000)
        );
        assert_eq!(
            engine_time_nanos("1970-01-02T00:00:01.123456789Z"),
            Some(86_401_123_456_789)
        );
        assert_eq!(engine_time_nanos("0001-01-01T00:00:00Z"), None);
        assert_eq!(engine_time_nanos("garbage"), None);
    }
}
