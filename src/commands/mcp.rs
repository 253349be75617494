//! `mcpm mcp serve` and `mcpm mcp token create|ls|revoke`: turn the flags
//! into options for `mcp::serve::run` and the token store, and print.
use crate::cli::{McpCommand, McpServeArgs, McpTokenCommand, RoleArg};
use crate::error::{ExitStatus, Result};
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
            let mut store = TokenStore::load(&file)?;
            let secret = store.create(&args.name, role(args.role), args.force)?;
            store.save(&file)?;
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
            let mut store = TokenStore::load(&file)?;
            store.revoke(&args.name)?;
            store.save(&file)?;
            context.note(&format!(
                "token `{}` revoked: a running server refuses it from its next request",
                args.name
            ));
        }
    }
    Ok(ExitStatus::Ok)
}
