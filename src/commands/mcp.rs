//! `mcpm mcp serve`, `mcpm mcp token create|ls|revoke` and `mcpm mcp audit`:
//! turn the flags into options for `mcp::serve::run`, the token store and the
//! audit log reader, and print.
use crate::cli::{McpAuditArgs, McpCommand, McpServeArgs, McpTokenCommand, RoleArg};
use crate::error::{ExitStatus, Result};
use crate::mcp::audit::{self, read::Query};
use crate::mcp::roles::Role;
use crate::mcp::scope::Source;
use crate::mcp::serve::{ServeOptions, run};
use crate::mcp::tokens::{self, TokenStore};
use crate::output;

use super::Context;

pub fn exec(context: &Context, command: McpCommand) -> Result<ExitStatus> {
    match command {
        McpCommand::Serve(args) => serve(context, args),
        McpCommand::Token(command) => token(context, command),
        McpCommand::Audit(args) => show_audit(context, args),
    }
}

fn role(arg: RoleArg) -> Role {
    match arg {
        RoleArg::Read => Role::Read,
        RoleArg::Operate => Role::Operate,
        RoleArg::Admin => Role::Admin,
    }
}

fn serve(context: &Context, args: McpServeArgs) -> Result<ExitStatus> {
    let sources = args
        .profiles
        .into_iter()
        .map(|profile| Source {
            profile: Some(profile),
            compose_file: None,
        })
        .chain(args.compose_files.into_iter().map(|file| Source {
            profile: None,
            compose_file: Some(file),
        }))
        .collect();
    run(
        &context.config,
        ServeOptions {
            sources,
            role: role(args.role),
            http: args.http,
            metrics: args.metrics,
        },
    )?;
    Ok(ExitStatus::Ok)
}

fn token(context: &Context, command: McpTokenCommand) -> Result<ExitStatus> {
    let file = tokens::path(context.config.path());
    match command {
        McpTokenCommand::Create(args) => {
            let secret = TokenStore::edit(&file, |store| {
                store.create(&args.name, role(args.role), args.force)
            })?;
            context.note(&format!(
                "token `{}` ({}) created; its secret is shown once, here (send it as Authorization: Bearer <secret>):",
                args.name,
                role(args.role)
            ));
            output::stdout(&format!("{secret}\n"))?;
        }
        McpTokenCommand::Ls(args) => {
            let list = TokenStore::load(&file)?.list();
            if args.json {
                output::json(&list)?;
            } else {
                let mut table = output::table(vec!["NAME", "ROLE", "CREATED"]);
                for token in &list {
                    table.add_row(vec![
                        token.name.clone(),
                        token.role.clone(),
                        token.created.clone(),
                    ]);
                }
                output::stdout(&format!("{table}\n"))?;
            }
        }
        McpTokenCommand::Revoke(args) => {
            TokenStore::edit(&file, |store| store.revoke(&args.name))?;
            context.note(&format!(
                "token `{}` revoked: a running server refuses it from its next request",
                args.name
            ));
        }
    }
    Ok(ExitStatus::Ok)
}

fn show_audit(context: &Context, args: McpAuditArgs) -> Result<ExitStatus> {
    let path = context.config.path().join(audit::FILE_NAME);
    let query = Query {
        tail: args.tail,
        tool: args.tool,
        caller: args.caller,
    };
    let reading = audit::read::read(&path, &query)?;
    for bad in &reading.bad {
        eprintln!(
            "warning: {}:{}: skipped, not an audit record ({})",
            bad.path.display(),
            bad.line,
            bad.message
        );
    }
    if !reading.found {
        context.note(&format!(
            "no audit log yet at {} (mcpm mcp serve writes a line per tool call)",
            path.display()
        ));
        return Ok(ExitStatus::Ok);
    }
    if args.json {
        let mut text = String::new();
        for line in &reading.lines {
            text.push_str(&String::from_utf8_lossy(&line.to_bytes()));
        }
        output::stdout(&text)?;
        return Ok(ExitStatus::Ok);
    }
    let mut table = output::table(vec![
        "TIME",
        "CALLER",
        "ROLE",
        "TRANSPORT",
        "TOOL",
        "OUTCOME",
        "MS",
        "ARGUMENTS",
        "DETAIL",
    ]);
    for line in &reading.lines {
        table.add_row(vec![
            line.time.clone(),
            line.caller.clone(),
            line.role.clone(),
            line.transport.clone(),
            line.tool.clone(),
            line.outcome.clone(),
            format!("{:.1}", line.duration_ms),
            line.arguments.to_string(),
            line.detail.clone().unwrap_or_default(),
        ]);
    }
    output::stdout(&format!("{table}\n"))?;
    Ok(ExitStatus::Ok)
}
