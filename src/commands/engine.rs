//! `mcpm docker engine [--json]`: which engine was chosen and why, and what
//! it answered. The choice and the questions live in `engine::endpoint` and
//! `engine::engine_info`; this renders them.
use crate::cli::EngineArgs;
use crate::engine::connect::{self, block_on};
use crate::engine::engine_info::{self, EngineReport};
use crate::error::{ExitStatus, Result};
use crate::output;

use super::Context;

pub fn exec(_context: &Context, args: EngineArgs) -> Result<ExitStatus> {
    // A choice that cannot be made (missing context, ssh://) is an error of
    // its own, exit 2, printed as every error is.
    let endpoint = connect::endpoint()?;
    let report = block_on(async { Ok(engine_info::inspect(endpoint).await) })?;
    if args.json {
        output::json(&report)?;
    } else {
        output::stdout(&render(&report))?;
        if let Some(error) = &report.error {
            eprintln!("error: {error}");
            if let Some(hint) = &report.hint {
                eprintln!("hint: {hint}");
            }
        }
    }
    Ok(if report.reachable {
        ExitStatus::Ok
    } else {
        ExitStatus::Runtime
    })
}

fn render(report: &EngineReport) -> String {
    let mut out = format!("Engine:    {}\n", report.host);
    out.push_str(&format!("Chosen by: {}\n", report.source.description));
    out.push_str(&format!("Context:   {}\n", report.source.context));
    match (&report.tls.cert_dir, &report.tls.from) {
        (Some(dir), Some(from)) => {
            out.push_str(&format!("TLS:       on, files in {dir} ({from})\n"))
        }
        _ => out.push_str("TLS:       off\n"),
    }
    out.push_str(&format!("Config:    {}\n", report.config_dir));
    match &report.server {
        Some(server) => {
            let or_unknown = |value: &Option<String>| value.clone().unwrap_or_else(|| "?".into());
            out.push_str(&format!(
                "API:       {} (the engine speaks {} down to {})\n",
                report.api_version.as_deref().unwrap_or("?"),
                or_unknown(&server.api_version),
                or_unknown(&server.min_api_version)
            ));
            out.push_str(&format!(
                "Server:    Docker Engine {} on {}/{}\n",
                or_unknown(&server.version),
                or_unknown(&server.os),
                or_unknown(&server.arch)
            ));
            out.push_str(&format!(
                "Name:      {} (ID {})\n",
                or_unknown(&server.name),
                or_unknown(&server.id)
            ));
        }
        None => out.push_str("Server:    unreachable\n"),
    }
    out.push_str("\nWhere mcpm looked, in the docker CLI's order:\n");
    let mut table = output::table(["SOURCE", "VALUE", ""]);
    for step in &report.chain {
        table.add_row(vec![
            step.source.clone(),
            step.value.clone().unwrap_or_else(|| "(not set)".into()),
            if step.chosen {
                "<- chosen".into()
            } else {
                String::new()
            },
        ]);
    }
    out.push_str(&format!("{table}\n"));
    out
}
