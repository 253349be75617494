//! `--wait`: polls the project's containers until every started service is
//! ready, at most a timeout. Ready means more than "the engine says running":
//! the container has run for a grace period without restarting and, where it
//! has a healthcheck, is healthy. A crash loop (exited, or restarted again and
//! again under its restart policy) is reported at once, with its exit code,
//! restart count and last log lines, instead of after the whole timeout.
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::error::Result;
use crate::gateway::probe::{Probe, Prober};

use super::connect::Engine;
use super::logs::{engine_time_nanos, tail_lines};
use super::observe::{self, ContainerRun, ContainerState, Health};

/// How many log lines a not-ready service's report carries.
pub const LOG_LINES: usize = 5;

/// Restarts seen during a deploy that make a crash loop evident: one restart
/// may be a server that lost a race at boot; two in a row is a loop.
const CRASH_LOOP_RESTARTS: i64 = 2;

/// How often the engine is asked.
const POLL: Duration = Duration::from_millis(250);

/// What `--wait` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// The longest wait.
    pub timeout: Duration,
    /// How long a container must have run, unrestarted, to count as ready.
    pub grace: Duration,
    /// `--probe`: a stdio server is ready only once it answers MCP (see
    /// [`crate::gateway::probe`]); the timeout of one probe.
    pub probe: Option<Duration>,
}

impl WaitOptions {
    /// The default grace period (`--wait-grace`).
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);
}

/// Where each awaited service ended up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitOutcome {
    /// Service → `running`, `healthy`, or the state it is stuck in
    /// (`exited`, `restarting`, `unhealthy`, `starting`, `missing`, …).
    pub services: BTreeMap<String, String>,
    /// Services that are not ready.
    pub not_ready: Vec<String>,
    /// The grace period used, in seconds.
    pub grace_seconds: f64,
    /// Why each not-ready service is not ready.
    pub problems: BTreeMap<String, NotReady>,
    /// `--probe`: the last MCP probe of each stdio server (absent without
    /// `--probe`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub probes: BTreeMap<String, Probe>,
}

/// Why one service is not ready, with what a user needs to find out why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotReady {
    /// One sentence: `crash loop: restarted 3 times, last exit code 127`.
    pub reason: String,
    /// The container's state when the wait ended.
    pub state: String,
    /// The exit code of the container's last run, when it has ended one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    pub restart_count: i64,
    /// Its last [`LOG_LINES`] log lines (empty when it wrote none).
    pub logs: Vec<String>,
}

/// The judgement on one container at one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Ready; the word for `services`.
    Ready(&'static str),
    /// Not yet: the word, and why (shown if the timeout ends the wait).
    Pending(&'static str, String),
    /// Will not become ready by waiting: the word, and why.
    Failed(&'static str, String),
}

/// What is remembered of a container between polls.
#[derive(Debug, Clone, Default)]
struct Track {
    /// The restart count the wait counts from.
    baseline: Option<i64>,
    /// The last run's start time seen: each new one is a restart, which
    /// also catches restarts the count does not show (`docker restart`).
    started_at: Option<String>,
    /// New start times seen since the first poll.
    new_starts: i64,
    /// The exit code of the last run seen ended. While a restarted container
    /// runs, the engine reports 0, so it is remembered from the polls that
    /// caught the container between runs.
    last_exit: Option<i64>,
}

/// Restarts after which a crash loop is declared even if no poll caught the
/// container between runs to read its exit code.
const CRASH_LOOP_RESTARTS_BLIND: i64 = 5;

/// Judges `run`, the container's state now. `since` is when the deploy began:
/// restarts of a container created after it all happened during this deploy.
fn judge(
    run: &ContainerRun,
    track: &mut Track,
    now: SystemTime,
    since: SystemTime,
    grace: Duration,
) -> Verdict {
    let nanos = |time: SystemTime| {
        time.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0)
    };
    let fresh = run
        .created
        .as_deref()
        .and_then(engine_time_nanos)
        // A second of slack for an engine clock a little behind ours.
        .is_some_and(|created| created >= nanos(since) - 1_000_000_000);
    let baseline = *track
        .baseline
        .get_or_insert(if fresh { 0 } else { run.restart_count });
    if let (Some(before), Some(now_started)) = (&track.started_at, &run.started_at)
        && before != now_started
    {
        track.new_starts += 1;
    }
    track.started_at.clone_from(&run.started_at);
    if matches!(
        run.state,
        ContainerState::Restarting | ContainerState::Exited | ContainerState::Dead
    ) {
        track.last_exit = run.exit_code.or(track.last_exit);
    }
    // The count and the start time are read in one inspect but not updated
    // together by the engine: either is evidence, adding them would count
    // one restart twice.
    let restarts = (run.restart_count - baseline).max(track.new_starts).max(0);
    let exit = track.last_exit.unwrap_or(0);
    match run.state {
        ContainerState::Exited | ContainerState::Dead => {
            let after = if restarts > 0 {
                format!(" after {}", times(restarts, "restart"))
            } else {
                String::new()
            };
            return Verdict::Failed(
                run.state.as_str(),
                format!("exited with code {exit}{after}"),
            );
        }
        _ if restarts >= CRASH_LOOP_RESTARTS
            && (track.last_exit.is_some() || restarts >= CRASH_LOOP_RESTARTS_BLIND) =>
        {
            return Verdict::Failed(
                "restarting",
                format!(
                    "crash loop: restarted {}, last exit code {exit}",
                    times(restarts, "time")
                ),
            );
        }
        ContainerState::Restarting => {
            return Verdict::Pending("restarting", format!("restarting (last exit code {exit})"));
        }
        // Between restarts it may run a moment: not proof of anything.
        ContainerState::Running if restarts >= CRASH_LOOP_RESTARTS => {
            return Verdict::Pending(
                "restarting",
                format!("restarted {}", times(restarts, "time")),
            );
        }
        ContainerState::Created => {
            return Verdict::Pending("created", "created, not started yet".into());
        }
        ContainerState::Running => {}
        other => {
            return Verdict::Failed(
                other.as_str(),
                format!("the container is {}", other.as_str()),
            );
        }
    }
    if run.health == Some(Health::Unhealthy) {
        return Verdict::Failed("unhealthy", "its healthcheck reports unhealthy".into());
    }
    let running_for = run
        .started_at
        .as_deref()
        .and_then(engine_time_nanos)
        .map(|started| Duration::from_nanos((nanos(now) - started).max(0) as u64));
    match running_for {
        Some(running) if running >= grace => {}
        Some(running) => {
            return Verdict::Pending(
                "running",
                format!(
                    "running for {:.1} s, less than the {:.1} s grace period",
                    running.as_secs_f64(),
                    grace.as_secs_f64()
                ),
            );
        }
        // No readable start time: the grace period is not proven.
        None => return Verdict::Pending("running", "its start time is unknown".into()),
    }
    match run.health {
        Some(Health::Starting) => {
            Verdict::Pending("starting", "its healthcheck has not passed yet".into())
        }
        Some(Health::Healthy) => Verdict::Ready("healthy"),
        // With `--probe`, a stdio server's Ready is checked once more by
        // `wait_ready` (the MCP probe needs I/O; this judgement stays pure).
        _ => Verdict::Ready("running"),
    }
}

/// `3 times`, `1 restart`.
fn times(n: i64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// One service's judgement with what it was judged on.
struct Judged {
    service: String,
    id: Option<String>,
    run: Option<ContainerRun>,
    verdict: Verdict,
    last_exit: Option<i64>,
    /// New start times seen during the wait.
    new_starts: i64,
}

/// With `--probe`: a service the engine side judged ready whose stdio
/// server does not answer MCP (yet) is pending, with the probe's reason; one
/// that answered once is not probed again.
fn after_probe(verdict: Verdict, probe: Option<&Probe>) -> Verdict {
    match (verdict, probe) {
        (Verdict::Ready(word), Some(probe)) if !probe.ok => Verdict::Pending(
            "probing",
            format!(
                "{word}, but its MCP probe failed: {}",
                probe.reason.as_deref().unwrap_or("no reason given")
            ),
        ),
        (verdict, _) => verdict,
    }
}

/// Waits for `services` of `project`. `since` is when the deploy began. A
/// service that fails is settled at once; the wait goes on for the others
/// (so each is reported as it is) until none is pending or time is up.
/// `prober` (with `--probe`) probes the stdio servers judged ready.
pub async fn wait_ready(
    engine: &Engine,
    project: &str,
    services: &[String],
    options: WaitOptions,
    since: SystemTime,
    prober: Option<&Prober>,
) -> Result<WaitOutcome> {
    let deadline = tokio::time::Instant::now() + options.timeout;
    let mut tracks: BTreeMap<String, Track> = BTreeMap::new();
    let mut settled: Vec<Judged> = Vec::new();
    let mut probes: BTreeMap<String, Probe> = BTreeMap::new();
    loop {
        let containers = observe::containers(engine, project).await?;
        let open: Vec<(String, Option<String>)> = services
            .iter()
            .filter(|s| !settled.iter().any(|j| &j.service == *s))
            .map(|s| {
                let id = containers
                    .get(s)
                    .and_then(|list| list.first())
                    .map(|c| c.id.clone());
                (s.clone(), id)
            })
            .collect();
        let runs = futures_util::future::try_join_all(open.iter().map(|(_, id)| async move {
            match id {
                Some(id) => observe::inspect_run(engine, id).await,
                None => Ok(None),
            }
        }))
        .await?;
        let now = SystemTime::now();
        let mut round = Vec::new();
        for ((service, id), run) in open.into_iter().zip(runs) {
            let track = tracks.entry(service.clone()).or_default();
            let verdict = match &run {
                None => Verdict::Failed("missing", "its container is missing".into()),
                Some(run) => judge(run, track, now, since, options.grace),
            };
            let judged = Judged {
                service,
                id,
                run,
                verdict,
                last_exit: track.last_exit,
                new_starts: track.new_starts,
            };
            if matches!(judged.verdict, Verdict::Failed(..)) {
                settled.push(judged);
            } else {
                round.push(judged);
            }
        }
        if let Some(prober) = prober {
            // Probed concurrently; a server that answered once stays answered.
            let due: Vec<(String, bool)> = round
                .iter()
                .filter(|j| matches!(j.verdict, Verdict::Ready(_)))
                .filter(|j| !probes.get(&j.service).is_some_and(|p| p.ok))
                .map(|j| (j.service.clone(), true))
                .collect();
            probes.extend(prober.probe_services(&due).await);
            for judged in &mut round {
                let verdict = std::mem::replace(&mut judged.verdict, Verdict::Ready("running"));
                judged.verdict = after_probe(verdict, probes.get(&judged.service));
            }
        }
        let pending = round
            .iter()
            .any(|j| matches!(j.verdict, Verdict::Pending(..)));
        if !pending || tokio::time::Instant::now() >= deadline {
            settled.extend(round);
            let mut outcome = finish(engine, settled, options).await;
            outcome.probes = probes;
            return Ok(outcome);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The outcome, with the logs of the services not ready; failed services
/// come first in `not_ready` (they are why the wait failed early).
async fn finish(engine: &Engine, judged: Vec<Judged>, options: WaitOptions) -> WaitOutcome {
    let mut outcome = WaitOutcome {
        services: BTreeMap::new(),
        not_ready: Vec::new(),
        grace_seconds: options.grace.as_secs_f64(),
        problems: BTreeMap::new(),
        probes: BTreeMap::new(),
    };
    let mut waiting = Vec::new();
    for judged in judged {
        let (word, reason, failed) = match judged.verdict {
            Verdict::Ready(word) => {
                outcome.services.insert(judged.service, word.into());
                continue;
            }
            Verdict::Pending(word, reason) => (word, reason, false),
            Verdict::Failed(word, reason) => (word, reason, true),
        };
        let service = judged.service;
        outcome.services.insert(service.clone(), word.into());
        let logs = match &judged.id {
            // The logs are evidence, not the verdict: unreadable logs leave them out.
            Some(id) => tail_lines(engine, id, LOG_LINES).await.unwrap_or_default(),
            None => Vec::new(),
        };
        let run = judged.run.as_ref();
        let ended =
            run.is_some_and(|r| matches!(r.state, ContainerState::Exited | ContainerState::Dead));
        outcome.problems.insert(
            service.clone(),
            NotReady {
                reason,
                state: word.into(),
                exit_code: judged
                    .last_exit
                    .or(run.and_then(|r| r.exit_code).filter(|_| ended)),
                // The engine's count can lag the runs the polls saw start.
                restart_count: run.map_or(0, |r| r.restart_count).max(judged.new_starts),
                logs,
            },
        );
        if failed {
            outcome.not_ready.push(service);
        } else {
            waiting.push(service);
        }
    }
    outcome.not_ready.extend(waiting);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000;

    fn at(seconds: f64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs_f64(T0 as f64 + seconds)
    }

    /// The engine's spelling of `at(seconds)`.
    fn stamp(seconds: f64) -> String {
        let whole = (T0 as i64 + seconds.floor() as i64) as u64;
        let nanos = ((seconds - seconds.floor()) * 1e9).round() as u64;
        let days = whole / 86_400;
        let rest = whole % 86_400;
        // 1_800_000_000 is 2027-01-15T08:00:00Z; tests stay within that day.
        assert_eq!(days, 20_833);
        format!(
            "2027-01-15T{:02}:{:02}:{:02}.{nanos:09}Z",
            rest / 3600,
            rest / 60 % 60,
            rest % 60
        )
    }

    fn run(state: ContainerState, started: f64, restarts: i64, exit: i64) -> ContainerRun {
        ContainerRun {
            state,
            health: None,
            exit_code: Some(exit),
            restart_count: restarts,
            started_at: Some(stamp(started)),
            created: Some(stamp(0.5)),
        }
    }

    const GRACE: Duration = Duration::from_secs(2);

    #[test]
    fn stamps_are_read_back() {
        assert_eq!(
            engine_time_nanos(&stamp(1.25)),
            Some(i128::from(T0) * 1_000_000_000 + 1_250_000_000)
        );
    }

    #[test]
    fn ready_only_after_the_grace_period() {
        let mut track = Track::default();
        let r = run(ContainerState::Running, 1.0, 0, 0);
        let verdict = judge(&r, &mut track, at(2.0), at(0.0), GRACE);
        assert!(matches!(verdict, Verdict::Pending("running", ref why) if why.contains("grace")));
        assert_eq!(
            judge(&r, &mut track, at(3.1), at(0.0), GRACE),
            Verdict::Ready("running")
        );
    }

    #[test]
    fn a_server_that_runs_a_second_and_exits_is_not_ready() {
        let mut track = Track::default();
        let up = run(ContainerState::Running, 1.0, 0, 0);
        assert!(matches!(
            judge(&up, &mut track, at(1.5), at(0.0), GRACE),
            Verdict::Pending(..)
        ));
        let down = run(ContainerState::Exited, 1.0, 0, 3);
        assert_eq!(
            judge(&down, &mut track, at(2.2), at(0.0), GRACE),
            Verdict::Failed("exited", "exited with code 3".into())
        );
    }

    #[test]
    fn a_crash_loop_is_evident_after_two_restarts() {
        let mut track = Track::default();
        let once = run(ContainerState::Restarting, 1.0, 1, 127);
        assert!(matches!(
            judge(&once, &mut track, at(1.2), at(0.0), GRACE),
            Verdict::Pending("restarting", _)
        ));
        // Briefly running again does not make it ready; the engine reports
        // exit code 0 while it runs, the 127 seen before is kept.
        let running = run(ContainerState::Running, 1.5, 2, 0);
        assert_eq!(
            judge(&running, &mut track, at(1.6), at(0.0), GRACE),
            Verdict::Failed(
                "restarting",
                "crash loop: restarted 2 times, last exit code 127".into()
            )
        );
    }

    #[test]
    fn old_restarts_of_a_kept_container_do_not_count() {
        // Created long before this deploy, restarted 5 times last week,
        // running steadily since.
        let mut track = Track::default();
        let mut steady = run(ContainerState::Running, -100.0, 5, 1);
        steady.created = Some(stamp(-3000.0));
        assert_eq!(
            judge(&steady, &mut track, at(1.0), at(0.0), GRACE),
            Verdict::Ready("running")
        );
        // It restarts during the wait: now it must prove itself again.
        let again = ContainerRun {
            restart_count: 6,
            started_at: Some(stamp(1.5)),
            ..steady.clone()
        };
        assert!(matches!(
            judge(&again, &mut track, at(2.0), at(0.0), GRACE),
            Verdict::Pending("running", _)
        ));
    }

    #[test]
    fn a_restart_the_count_misses_is_seen_by_its_start_time() {
        let mut track = Track::default();
        for started in [0.6, 1.1] {
            let r = run(ContainerState::Running, started, 0, 0);
            judge(&r, &mut track, at(started + 0.1), at(0.0), GRACE);
        }
        // Restarted twice, no exit code seen yet: not ready, not failed yet.
        let r = run(ContainerState::Running, 1.3, 0, 0);
        assert_eq!(
            judge(&r, &mut track, at(1.4), at(0.0), GRACE),
            Verdict::Pending("restarting", "restarted 2 times".into())
        );
        // Caught between runs: the loop is evident, with its exit code.
        let r = run(ContainerState::Restarting, 1.3, 0, 1);
        assert_eq!(
            judge(&r, &mut track, at(1.6), at(0.0), GRACE),
            Verdict::Failed(
                "restarting",
                "crash loop: restarted 2 times, last exit code 1".into()
            )
        );
    }

    #[test]
    fn a_loop_never_caught_between_runs_fails_after_five_restarts() {
        let mut track = Track::default();
        let mut verdict = None;
        for restarts in 0..=5 {
            let r = run(
                ContainerState::Running,
                1.0 + f64::from(restarts) * 0.1,
                i64::from(restarts),
                0,
            );
            verdict = Some(judge(&r, &mut track, at(1.7), at(0.0), GRACE));
        }
        assert!(
            matches!(verdict, Some(Verdict::Failed("restarting", _))),
            "{verdict:?}"
        );
    }

    #[test]
    fn health_decides_after_the_grace_period() {
        let mut track = Track::default();
        let mut r = run(ContainerState::Running, 0.0, 0, 0);
        r.health = Some(Health::Starting);
        assert!(matches!(
            judge(&r, &mut track, at(5.0), at(0.0), GRACE),
            Verdict::Pending("starting", _)
        ));
        r.health = Some(Health::Healthy);
        assert_eq!(
            judge(&r, &mut track, at(5.0), at(0.0), GRACE),
            Verdict::Ready("healthy")
        );
        r.health = Some(Health::Unhealthy);
        assert!(matches!(
            judge(&r, &mut track, at(5.0), at(0.0), GRACE),
            Verdict::Failed("unhealthy", _)
        ));
    }

    #[test]
    fn a_failed_probe_keeps_a_ready_server_pending_with_its_reason() {
        let failed = Probe::failed("timeout", "no answer to `initialize` within 2.0 s");
        assert_eq!(
            after_probe(Verdict::Ready("running"), Some(&failed)),
            Verdict::Pending(
                "probing",
                "running, but its MCP probe failed: no answer to `initialize` within 2.0 s".into()
            )
        );
        let mut answered = Probe::failed("timeout", "x");
        answered.ok = true;
        assert_eq!(
            after_probe(Verdict::Ready("healthy"), Some(&answered)),
            Verdict::Ready("healthy")
        );
        // Not a stdio server (no probe), or not ready anyway: unchanged.
        assert_eq!(
            after_probe(Verdict::Ready("running"), None),
            Verdict::Ready("running")
        );
        let exited = Verdict::Failed("exited", "exited with code 1".into());
        assert_eq!(after_probe(exited.clone(), Some(&failed)), exited);
    }

    #[test]
    fn no_start_time_is_not_ready() {
        let mut track = Track::default();
        let mut r = run(ContainerState::Running, 0.0, 0, 0);
        r.started_at = None;
        assert!(matches!(
            judge(&r, &mut track, at(9.0), at(0.0), GRACE),
            Verdict::Pending(..)
        ));
    }
}
