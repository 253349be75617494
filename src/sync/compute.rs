//! The texts a sync writes, computed from the texts it read: no files, no
//! locks, no prompts. [`super::run`] wraps this with the disk; the fuzz
//! properties call it directly, so both exercise the same steps.
use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use crate::catalog::Catalog;
use crate::compose::base::SyncBase;
use crate::compose::{self, RenderOptions, Rendered, dotenv};
use crate::error::{Error, Result};
use crate::profile::{ConflictStrategy, LoadedProfile};

use super::plan::{Action, Direction, PlanInput, ServerPlan, plan};
use super::seal::{adopt, seal_targets};
use super::write::{compose_text, profile_text, profile_updates, render_updated, unwritable_error};

/// Both files parsed once: the compose document, the profile rendered, and
/// the sync base the document carries. Everything later borrows from here.
pub struct Parsed {
    pub document: Option<Value>,
    pub rendered: Rendered,
    pub base: Option<SyncBase>,
    empty: Mapping,
}

/// From this size on, the compose file is parsed on a thread of its own.
const PARALLEL_FROM: usize = 64 * 1024;

/// Parses the compose text and renders the profile (side by side for a large
/// file: both cost and neither needs the other), then reads the base and
/// refuses a file synced with another profile.
pub fn parse(
    loaded: &LoadedProfile,
    catalog: &Catalog,
    compose_path: &Path,
    compose_text: Option<&str>,
) -> Result<Parsed> {
    let parse = || {
        compose_text
            .map(|text| parse_compose(compose_path, text))
            .transpose()
    };
    let render = || compose::render(loaded, catalog, RenderOptions::default());
    // A small file parses in less time than a thread takes to start.
    let (document, rendered) = if compose_text.is_none_or(|text| text.len() < PARALLEL_FROM) {
        (parse(), render())
    } else {
        std::thread::scope(|scope| {
            let parse = scope.spawn(parse);
            let rendered = render();
            let parsed = parse
                .join()
                .unwrap_or_else(|_| Err(Error::runtime("the compose parser stopped unexpectedly")));
            (parsed, rendered)
        })
    };
    let (document, rendered) = (document?, rendered?);
    let base = match &document {
        Some(document) => SyncBase::from_document(document).map_err(|why| {
            Error::invalid(format!("{}: the `x-mcpm` sync block is damaged: {why}", compose_path.display()))
                .hint("restore it from the .bak or from version control; without it sync cannot tell who changed what")
        })?,
        None => None,
    };
    if let Some(base) = &base
        && base.profile != loaded.profile.name
    {
        return Err(Error::invalid(format!(
            "{} is synced with profile `{}`, not `{}`",
            compose_path.display(),
            base.profile,
            loaded.profile.name
        ))
        .hint("pass the right profile, or point -f at this profile's own compose file"));
    }
    Ok(Parsed {
        document,
        rendered,
        base,
        empty: Mapping::new(),
    })
}

/// Parses the compose file; a file that does not parse, or is not a compose
/// document, stops everything.
fn parse_compose(path: &Path, text: &str) -> Result<Value> {
    let document = compose::parse_document(path, text).map_err(|err| {
        err.hint("nothing was changed; fix the file (its .bak may help), then sync again")
    })?;
    compose::ensure_compose_document(path, &document)?;
    Ok(document)
}

/// How the planner is to treat what it finds.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub strategy: ConflictStrategy,
    pub direction: Direction,
    pub import: bool,
}

impl Parsed {
    /// The planner's view of these files.
    pub fn input<'a>(&'a self, loaded: &'a LoadedProfile, rules: Rules) -> PlanInput<'a> {
        PlanInput {
            profile: &loaded.profile,
            desired: services(Some(&self.rendered.document)).unwrap_or(&self.empty),
            compose: services(self.document.as_ref()).unwrap_or(&self.empty),
            base: self.base.as_ref(),
            strategy: rules.strategy,
            direction: rules.direction,
            import: rules.import,
            ignore_services: &loaded.profile.docker.ignore_services,
            desired_base: Some(&self.rendered.base),
        }
    }
}

fn services(document: Option<&Value>) -> Option<&Mapping> {
    document
        .and_then(|d| d.get("services"))
        .and_then(Value::as_mapping)
}

/// Plans every server; with `only`, the others are held back as they are
/// (their base entries kept), so a sync of one server touches nothing else.
pub fn plan_servers(input: &PlanInput<'_>, only: Option<&BTreeSet<String>>) -> Vec<ServerPlan> {
    let mut plans = plan(input);
    if let Some(only) = only {
        for server in plans.iter_mut().filter(|p| !only.contains(&p.name)) {
            if server.action != Action::Nothing {
                server.action = Action::Skip {
                    reason: OUTSIDE.into(),
                };
            }
        }
    }
    plans
}

/// The reason given to servers a sync restricted to others leaves alone.
pub const OUTSIDE: &str = "not among the servers this sync was asked to sync";

/// What a sync would write: both new texts (equal to the old ones when
/// nothing changes) and the rendering of the profile as written.
pub struct Outputs {
    pub profile_text: String,
    /// `None`: there is no compose file and none is due.
    pub compose_text: Option<String>,
    pub rendered: Rendered,
    /// The literal secrets of the profile as it was read (masked in diffs
    /// along with the new ones).
    pub read_secrets: Vec<String>,
}

/// The files a sync is computed from.
pub struct Texts<'a> {
    pub profile_path: &'a Path,
    pub profile: &'a str,
    pub compose_path: &'a Path,
    pub compose: Option<&'a str>,
    /// The `.env` beside the compose file (empty when there is none).
    pub env: &'a str,
}

/// Turns settled plans into the new texts, each verified before it is
/// returned. An owned service a person broke in the file is the user's error
/// (exit 2); a text that does not verify is a bug in mcpm (exit 1).
pub fn outputs(
    parsed: Parsed,
    loaded: &LoadedProfile,
    catalog: &Catalog,
    texts: &Texts<'_>,
    plans: &mut [ServerPlan],
) -> Result<Outputs> {
    let Parsed {
        document,
        rendered,
        base,
        ..
    } = parsed;
    let read_secrets: Vec<String> = rendered.secrets.iter().map(|s| s.value.clone()).collect();
    // Literals typed into the compose file go to `.env`, never the profile.
    let adopted = seal_targets(plans, &|name, value| {
        rendered
            .secrets
            .iter()
            .any(|s| s.name == name && s.value != value)
            || dotenv::holds_other(texts.env, name, value)
    });
    let updates = profile_updates(plans, &loaded.profile, catalog).map_err(|(server, why)| {
        unwritable_error(
            texts.compose_path,
            texts.compose.unwrap_or(""),
            &server,
            why,
        )
    })?;
    let new_profile = profile_text(texts.profile_path, texts.profile, &loaded.profile, &updates)
        .map_err(|why| internal(texts.profile_path, &why))?;
    let (compose_arg, profile_arg) = (rendered.compose_arg.clone(), rendered.profile_arg.clone());
    // Only the servers sync updated are rendered again (all of them where
    // that cannot be promised to give the same result).
    let mut rendered = render_updated(
        texts.profile_path,
        &new_profile,
        rendered,
        &updates,
        catalog,
    )
    .map_err(|err| {
        internal(
            texts.profile_path,
            &format!("the profile sync wrote does not render: {}", err.message),
        )
    })?;
    rendered.compose_arg = compose_arg;
    rendered.profile_arg = profile_arg;
    adopt(&mut rendered.secrets, adopted, plans);
    let current = texts.compose.zip(document.as_ref());
    let new_compose = compose_text(current, plans, &rendered, base.as_ref())
        .map_err(|why| internal(texts.compose_path, &why))?;
    drop_aside(document);
    Ok(Outputs {
        profile_text: new_profile,
        compose_text: new_compose,
        rendered,
        read_secrets,
    })
}

/// Drops a parsed document of many services on a thread of its own: freeing
/// a thousand services' nodes takes a millisecond the sync need not wait for
/// (a CLI run may exit first; the memory goes back all the same). A small
/// document is dropped here, where a thread would cost more than it saves.
pub fn drop_aside(value: Option<Value>) {
    let Some(value) = value else { return };
    let services = value
        .get("services")
        .and_then(Value::as_mapping)
        .map_or(0, Mapping::len);
    if services > 100 {
        // Should no thread start, the value is dropped here instead.
        let _ = std::thread::Builder::new().spawn(move || drop(value));
    }
}

/// mcpm refusing its own output: nothing is written, and it is a bug.
pub fn internal(path: &Path, why: &str) -> Error {
    Error::runtime(format!(
        "refusing to write {}: {why}; nothing was written",
        path.display()
    ))
    .hint("this is a bug in mcpm; please report it with both files")
}
