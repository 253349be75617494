//! Three-way sync between a profile and its compose file (SPEC §5): change
//! detection against the base the file carries, strategies, field-level merge,
//! and fitting profile entries to compose-side edits.
pub mod compute;
pub mod fit;
pub mod merge;
pub mod plan;
pub mod report;
pub mod seal;
pub mod state;
pub mod up;

pub use plan::{Action, Choice, Direction, PlanInput, ServerPlan, plan, resolve, resolve_fields};
pub use state::Change;
pub mod run;
pub mod write;

pub use run::{Interaction, Mode, Outcome, SyncOptions, SyncReport, Unattended, run};

use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

use crate::catalog::Catalog;
use crate::compose::base::SyncBase;
use crate::compose::{RenderOptions, render};
use crate::profile::{ConflictStrategy, LoadedProfile};

/// What `status` shows in its sync column, per server: the same three-way
/// classification sync itself makes, against the base in the compose file.
/// Without a profile, only the compose side can be judged against the base.
pub fn status_words(
    profile: Option<&LoadedProfile>,
    compose: &Value,
    catalog: &Catalog,
) -> Result<BTreeMap<String, &'static str>, crate::error::Error> {
    let base = SyncBase::from_document(compose).ok().flatten();
    let empty = Mapping::new();
    let services = compose
        .get("services")
        .and_then(Value::as_mapping)
        .unwrap_or(&empty);
    let Some(loaded) = profile else {
        let mut words = BTreeMap::new();
        for (name, service) in services {
            let (Some(name), Some(service)) = (name.as_str(), service.as_mapping()) else {
                continue;
            };
            if base.as_ref().is_none_or(|b| !b.entries.contains_key(name))
                && plan::owner(service).is_none()
            {
                words.insert(name.to_string(), FOREIGN);
            } else if let Some(entry) = base.as_ref().and_then(|b| b.entries.get(name)) {
                let changed = !entry.service_is(&crate::hash::service_hash(service));
                words.insert(
                    name.to_string(),
                    if changed {
                        "compose-changed"
                    } else {
                        "in-sync"
                    },
                );
            }
        }
        return Ok(words);
    };
    let rendered = render(loaded, catalog, RenderOptions::default())?;
    let desired = rendered
        .document
        .get("services")
        .and_then(Value::as_mapping)
        .unwrap_or(&empty);
    let input = PlanInput {
        profile: &loaded.profile,
        desired,
        compose: services,
        base: base.as_ref(),
        strategy: ConflictStrategy::Manual,
        direction: Direction::Both,
        import: loaded.profile.docker.import_services,
        ignore_services: &loaded.profile.docker.ignore_services,
        desired_base: Some(&rendered.base),
    };
    Ok(plan(&input)
        .into_iter()
        .filter_map(|p| {
            // A service sync leaves alone is not pending anything: it is
            // simply not mcpm's (only an importing sync would take it).
            let word = match (&p.change, &p.action) {
                (Change::Foreign, Action::Skip { .. }) => FOREIGN,
                _ => p.change.status_word()?,
            };
            Some((p.name, word))
        })
        .collect())
}

/// The sync column's word for a service mcpm does not own and will not import.
pub const FOREIGN: &str = "foreign";

#[cfg(test)]
mod tests {
    use super::*;

    /// The sync column tells a service mcpm leaves alone (`foreign`) from one
    /// a sync would bring into the profile (`only-compose`).
    #[test]
    fn status_words_tell_foreign_services_apart() {
        let catalog = Catalog::load(None).unwrap();
        let compose: Value = serde_yaml_ng::from_str(
            "services:\n  redis: {image: redis}\n  db: {image: postgres}\n",
        )
        .unwrap();
        let words = |settings: &str| {
            let text = format!("name = \"app\"\n[docker]\n{settings}\n");
            let loaded =
                crate::profile::load_profile_text(std::path::Path::new("app.toml"), text).unwrap();
            status_words(Some(&loaded), &compose, &catalog).unwrap()
        };
        let left = words("");
        assert_eq!((left["redis"], left["db"]), (FOREIGN, FOREIGN));
        let importing = words("import_services = true\nignore_services = [\"db\"]");
        assert_eq!(importing["redis"], "only-compose");
        assert_eq!(importing["db"], FOREIGN);
        // Without a profile: a service without mcpm's label is foreign; one
        // with it (and no base) cannot be judged.
        let labelled: Value = serde_yaml_ng::from_str(
            "services:\n  redis: {image: redis}\n  time: {image: t, labels: {io.mcpm.profile: app}}\n",
        )
        .unwrap();
        let alone = status_words(None, &labelled, &catalog).unwrap();
        assert_eq!(alone.get("redis"), Some(&FOREIGN));
        assert_eq!(alone.get("time"), None);
    }
}
