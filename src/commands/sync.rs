//! `mcpm docker sync PROFILE`: flags into [`SyncOptions`], a terminal as the
//! sync's [`Interaction`], and the [`SyncReport`] printed. What sync decides
//! and writes is in `crate::sync` (SPEC §5).
use std::path::Path;
use std::time::Duration;

use crate::ci::{self, Format};
use crate::cli::SyncArgs;
use crate::engine::plan::Plan;
use crate::engine::progress::Progress;
use crate::error::{Error, ExitStatus, Result};
use crate::files::read_optional;
use crate::output;
use crate::profile::resolve_profile_path;
use crate::sync::merge::FieldDiff;
use crate::sync::{Change, Choice, Interaction, Mode, ServerPlan, SyncOptions, SyncReport};
use crate::ui;

use super::Context;

pub fn exec(context: &Context, args: SyncArgs) -> Result<ExitStatus> {
    let format = Format::choose(args.format, args.json);
    if format == Format::Github && !args.check {
        return Err(Error::invalid(
            "--format github reports what --check finds; a sync that writes has nothing to annotate",
        )
        .hint("add --check (in CI: `mcpm docker sync PROFILE --check --format github`)"));
    }
    let json = format == Format::Json;
    let options = SyncOptions {
        compose_file: args.compose_file.clone(),
        direction: args.direction,
        strategy: args.strategy,
        import: args.import_choice(),
        mode: if args.check {
            Mode::Check
        } else if args.dry_run {
            Mode::DryRun
        } else {
            Mode::Write
        },
        lock_timeout: Duration::from_secs(args.lock_timeout),
        deploy: if args.no_deploy {
            Some(false)
        } else {
            args.deploy.then_some(true)
        },
        ..SyncOptions::new(resolve_profile_path(&args.profile, &context.config)?)
    };
    let mut terminal = Terminal::new(context, json, args.yes);
    // Annotations replace the report on stdout; a check deploys nothing, so
    // no deploy output follows.
    terminal.shown = format == Format::Github;
    let report = crate::sync::run(&context.config, &options, &mut terminal)?;
    terminal.show(&report)?;
    if format == Format::Github {
        show_annotations(context, &report)?;
    }
    if let Some(err) = report.error() {
        return Err(err);
    }
    match report.deploy {
        None => Ok(ExitStatus::Ok),
        Some(deployed) => super::deploy::finish(context, json, &deployed?),
    }
}

/// `--check --format github`: an annotation per server out of step, on its
/// line of the compose file as it is (a check writes nothing), then the
/// summary on stderr.
pub(crate) fn show_annotations(context: &Context, report: &SyncReport) -> Result<()> {
    let text = read_optional(&report.compose_file)?;
    let annotations = ci::sync_annotations(report, text.as_deref());
    if !annotations.is_empty() {
        output::stdout(&ci::annotation::github(&annotations))?;
    }
    for line in report.human().notes {
        context.note(&line);
    }
    Ok(())
}

/// The terminal a sync talks to: dialoguer prompts, notes on stderr, the
/// report on stdout (once: before a deploy's output when one follows).
pub struct Terminal<'a> {
    context: &'a Context,
    json: bool,
    interactive: bool,
    /// Whether the report was printed (or is not to be: `up --json` prints
    /// one document of its own).
    pub shown: bool,
    /// With `--json`, a document the report goes into as `"sync"` (`profile
    /// add --sync-docker` prints the edit and its sync as one document).
    pub envelope: Option<serde_json::Value>,
}

impl<'a> Terminal<'a> {
    pub fn new(context: &'a Context, json: bool, yes: bool) -> Self {
        Self {
            context,
            json,
            interactive: ui::interactive(yes),
            shown: false,
            envelope: None,
        }
    }

    pub fn show(&mut self, report: &SyncReport) -> Result<()> {
        if self.shown {
            return Ok(());
        }
        self.shown = true;
        if self.json {
            return match self.envelope.take() {
                Some(mut document) => {
                    document["sync"] = report.json();
                    output::json(&document)
                }
                None => output::json(&report.json()),
            };
        }
        let human = report.human();
        if !human.stdout.is_empty() {
            output::stdout(&human.stdout)?;
        }
        for line in human.notes {
            self.context.note(&line);
        }
        for warning in report.warnings() {
            self.context.warn(&warning);
        }
        Ok(())
    }
}

impl Interaction for Terminal<'_> {
    fn interactive(&self) -> bool {
        self.interactive
    }
    fn note(&self, message: &str) {
        self.context.note(message);
    }
    fn warn(&self, message: &str) {
        self.context.warn(message);
    }
    fn shows_warnings(&self) -> bool {
        !self.context.quiet
    }
    fn server_conflict(&mut self, server: &ServerPlan, what: &str) -> Result<Choice> {
        let merge = server.change == Change::BothChanged;
        ui::prompt::server_conflict(&server.name, what, &server.fields, merge)
    }
    fn field_conflict(&mut self, server: &str, diff: &FieldDiff) -> Result<Choice> {
        ui::prompt::field_conflict(server, diff)
    }
    fn before_deploy(&mut self, report: &SyncReport) -> Result<()> {
        self.show(report)
    }
    fn deploy_progress(&self) -> Progress {
        if self.json {
            Progress::quiet()
        } else {
            Progress::new(self.context.quiet)
        }
    }
    fn deploy_plan(&self, plan: &Plan, file: &Path) -> Result<()> {
        super::deploy::show_plan(self.context, self.json, false, plan, file)
    }
}
