//! `mcpm docker stats [SERVICES...]`: resolves the project, then reads
//! (`--no-stream`) or watches `engine::stats` and renders each report as a
//! table (refreshed in place on a terminal) or JSON.
use std::io::IsTerminal as _;
use std::time::Duration;

use crate::cli::StatsArgs;
use crate::engine::connect::{block_on, connect};
use crate::engine::model::{format_size, format_size_decimal};
use crate::engine::stats::{
    self, Alert, ContainerStats, Crossings, Metric, Selection, StatsReport,
};
use crate::error::{ExitStatus, Result};
use crate::output;

use super::Context;
use super::lifecycle::resolve;

/// How often a streaming table or JSON line is printed (the engine samples
/// once a second).
const REFRESH: Duration = Duration::from_secs(1);

pub fn exec(context: &Context, args: StatsArgs) -> Result<ExitStatus> {
    let (target, project) = resolve(context, &args.target)?;
    project.check_services(&args.services, &target)?;
    let known = project.file_found.then_some(project.services.as_slice());
    let thresholds = args.alert.clone().unwrap_or_default();
    let selection = Selection {
        project: &project.project,
        services: &args.services,
        known,
        thresholds: &thresholds,
    };
    if args.no_stream {
        let report = block_on(async {
            let engine = connect().await?;
            stats::snapshot(&engine, selection).await
        })?;
        if args.json {
            output::json(&report)?;
        } else {
            output::stdout(&format!("{}\n", render(&report)))?;
        }
        for alert in &report.alerts {
            eprintln!("alert: {}", alert.describe());
        }
        return Ok(if report.alerts.is_empty() {
            ExitStatus::Ok
        } else {
            ExitStatus::Threshold
        });
    }
    let in_place = !args.json && std::io::stdout().is_terminal();
    let mut crossings = Crossings::default();
    block_on(async {
        let engine = connect().await?;
        let stop = async {
            // Without a handler the signal would kill the process; with one
            // the watch ends and the command exits 0.
            let _ = tokio::signal::ctrl_c().await;
        };
        stats::watch(&engine, selection, REFRESH, stop, |report| {
            for alert in crossings.update(report) {
                eprintln!("alert: {}", alert.describe());
            }
            if args.json {
                let line = serde_json::to_string(report).map_err(|err| {
                    crate::error::Error::runtime(format!("cannot write the JSON report: {err}"))
                })?;
                output::stdout(&format!("{line}\n"))
            } else if in_place {
                // Clear the screen and go home, as `docker stats` does.
                output::stdout(&format!("\x1b[2J\x1b[H{}\n", render(report)))
            } else {
                output::stdout(&format!("{}\n\n", render(report)))
            }
        })
        .await
    })?;
    Ok(ExitStatus::Ok)
}

/// The table `docker stats` draws, with the service, the state and the
/// pids limit added, and crossed values marked `!`.
fn render(report: &StatsReport) -> String {
    let mut table = output::table([
        "SERVICE",
        "CONTAINER",
        "STATE",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ]);
    for row in &report.containers {
        let crossed = |metric: Metric| {
            report
                .alerts
                .iter()
                .any(|a: &Alert| a.container == row.container && a.metric == metric)
        };
        let mark = |text: String, metric: Metric| {
            if crossed(metric) {
                format!("{text} !")
            } else {
                text
            }
        };
        let mut cells = vec![
            row.service.clone(),
            row.container.clone(),
            row.state.clone(),
        ];
        cells.extend(
            numbers(row)
                .into_iter()
                .enumerate()
                .map(|(n, text)| match n {
                    0 => mark(text, Metric::Cpu),
                    2 => mark(text, Metric::Memory),
                    5 => mark(text, Metric::Pids),
                    _ => text,
                }),
        );
        table.add_row(cells);
    }
    let title = format!("project {}", report.project);
    if report.containers.is_empty() {
        return format!("{title}: no containers");
    }
    format!("{title}\n{table}")
}

/// CPU %, MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O, PIDS: `-` for a
/// container that is not running, `--` while its first sample is due.
fn numbers(row: &ContainerStats) -> [String; 6] {
    if !row.running {
        return std::array::from_fn(|_| "-".to_string());
    }
    let waiting = || "--".to_string();
    let percent = |p: Option<f64>| p.map_or_else(waiting, |p| format!("{p:.2}%"));
    [
        percent(row.cpu_percent),
        row.memory.as_ref().map_or_else(waiting, memory_cell),
        row.memory.map_or_else(waiting, |m| percent(m.percent)),
        row.network.map_or_else(waiting, |n| {
            format!(
                "{} / {}",
                format_size_decimal(n.rx_bytes as f64),
                format_size_decimal(n.tx_bytes as f64)
            )
        }),
        row.block_io.map_or_else(waiting, |b| {
            format!(
                "{} / {}",
                format_size_decimal(b.read_bytes as f64),
                format_size_decimal(b.write_bytes as f64)
            )
        }),
        row.pids.map_or_else(waiting, |p| match p.limit {
            Some(limit) => format!("{} / {limit}", p.current),
            None => format!("{} / -", p.current),
        }),
    ]
}

/// `12.5MiB / 64MiB`: the MEM column `status --stats` shares with `stats`.
pub fn memory_cell(memory: &stats::Memory) -> String {
    format!(
        "{} / {}",
        format_size(memory.used_bytes as f64),
        format_size(memory.limit_bytes as f64)
    )
}
