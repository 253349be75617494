//! Three-way change detection for one server (SPEC §5): the profile now, the
//! compose file now, and the base recorded at the last sync. Pure: hashes and
//! presence in, a [`Change`] out.
use serde::Serialize;
use serde_yaml_ng::Mapping;

use crate::compose::base::BaseEntry;
use crate::hash;

/// What happened to one server since the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Neither side changed.
    InSync,
    /// The profile entry changed (or renders differently); the service did not.
    ProfileChanged,
    /// The service was edited in the compose file; the profile did not change.
    ComposeChanged,
    /// Both changed: a conflict for the strategy.
    BothChanged,
    /// A new server in the profile with no service yet.
    Added,
    /// The server left the profile (or stopped running a container); the
    /// service is as it was.
    ProfileRemoved,
    /// The server left the profile, but its service was edited: a conflict.
    ProfileRemovedComposeChanged,
    /// The service was deleted from the compose file; the profile did not change.
    ComposeRemoved,
    /// The service was deleted, but the profile entry changed: a conflict.
    ComposeRemovedProfileChanged,
    /// Gone from both: only the base entry remains.
    BothRemoved,
    /// A service mcpm does not own and the profile does not name.
    Foreign,
    /// Server and service both exist but no base was recorded (a first sync
    /// into an existing file): in sync when they are identical, else a conflict.
    Unrecorded { identical: bool },
    /// The profile names the server but it runs no container, while a service
    /// of the same name that mcpm does not own exists.
    NameClash,
    /// Nothing on either side (a remote or disabled server, never synced).
    Idle,
}

impl Change {
    /// Whether this change needs the conflict strategy.
    pub fn is_conflict(self) -> bool {
        matches!(
            self,
            Change::BothChanged
                | Change::ProfileRemovedComposeChanged
                | Change::ComposeRemovedProfileChanged
                | Change::Unrecorded { identical: false }
        )
    }
}

/// One server's three states.
pub struct Sides<'a> {
    pub base: Option<&'a BaseEntry>,
    /// The server's profile hash, when the profile names it at all.
    pub profile_hash: Option<&'a str>,
    /// The service the profile renders to, when it runs a container.
    pub desired: Option<&'a Mapping>,
    /// The hash of `desired` when the renderer already computed it (a prefix
    /// is enough); `None` computes it here.
    pub desired_hash: Option<&'a str>,
    /// The service in the compose file now.
    pub compose: Option<&'a Mapping>,
    /// Whether the compose service carries this profile's ownership label.
    pub owned: bool,
}

/// Classifies one server.
pub fn classify(sides: &Sides<'_>) -> Change {
    let Some(base) = sides.base else {
        return match (sides.desired, sides.compose) {
            (Some(desired), Some(compose)) => Change::Unrecorded {
                identical: same_service(desired, compose),
            },
            (Some(_), None) => Change::Added,
            (None, Some(_)) if sides.profile_hash.is_some() => Change::NameClash,
            // A service labelled as ours whose server is gone and whose base was
            // lost is still ours to remove, not a stranger to import.
            (None, Some(_)) if sides.owned => Change::ProfileRemoved,
            (None, Some(_)) => Change::Foreign,
            (None, None) => Change::Idle,
        };
    };
    let compose_changed = |compose: &Mapping| match (sides.desired, sides.desired_hash) {
        // A service as the profile renders it (most of them, in a large file)
        // has the hash the renderer computed: comparing costs less than hashing.
        (Some(desired), Some(known)) if desired == compose => !base.service_is(known),
        _ => !base.service_is(&hash::service_hash(compose)),
    };
    let profile_changed = |desired: &Mapping| {
        let desired_hash = match sides.desired_hash {
            Some(known) => known.to_string(),
            None => hash::service_hash(desired),
        };
        !sides.profile_hash.is_some_and(|p| base.profile_is(p)) || !base.service_is(&desired_hash)
    };
    match (sides.desired, sides.compose) {
        (Some(desired), Some(compose)) => {
            match (profile_changed(desired), compose_changed(compose)) {
                (false, false) => Change::InSync,
                (true, false) => Change::ProfileChanged,
                (false, true) => Change::ComposeChanged,
                (true, true) if same_service(desired, compose) => Change::InSync,
                (true, true) => Change::BothChanged,
            }
        }
        (None, Some(compose)) if compose_changed(compose) => Change::ProfileRemovedComposeChanged,
        (None, Some(_)) => Change::ProfileRemoved,
        (Some(desired), None) if profile_changed(desired) => Change::ComposeRemovedProfileChanged,
        (Some(_), None) => Change::ComposeRemoved,
        (None, None) => Change::BothRemoved,
    }
}

impl Change {
    /// The word `status` shows for this change (SPEC §6), `None` when there is
    /// nothing to say (never synced and runs no container).
    pub fn status_word(self) -> Option<&'static str> {
        Some(match self {
            Change::InSync | Change::Unrecorded { identical: true } => "in-sync",
            Change::ProfileChanged => "profile-changed",
            Change::ComposeChanged => "compose-changed",
            Change::BothChanged
            | Change::ProfileRemovedComposeChanged
            | Change::ComposeRemovedProfileChanged
            | Change::Unrecorded { identical: false }
            | Change::NameClash => "conflict",
            Change::Added | Change::ComposeRemoved => "only-profile",
            Change::ProfileRemoved | Change::Foreign => "only-compose",
            Change::BothRemoved | Change::Idle => return None,
        })
    }
}

/// Whether two services are the same, ignoring the hash labels.
pub fn same_service(a: &Mapping, b: &Mapping) -> bool {
    hash::service_hash(a) == hash::service_hash(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::base_entry;
    use crate::profile::ServerSpec;

    fn service(text: &str) -> Mapping {
        serde_yaml_ng::from_str(text).unwrap()
    }

    fn spec(command: &str) -> ServerSpec {
        ServerSpec {
            command: Some(command.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_table_of_spec_section_5() {
        let server = spec("uvx");
        let written = service("image: a\n");
        let base = base_entry(&hash::server_hash(&server), &written);
        let p = hash::server_hash(&server);
        let changed_server = spec("npx");
        let p2 = hash::server_hash(&changed_server);
        let edited = service("image: b\n");
        let rendered_changed = service("image: c\n");
        let case =
            |profile_hash: Option<&str>, desired: Option<&Mapping>, compose: Option<&Mapping>| {
                classify(&Sides {
                    base: Some(&base),
                    profile_hash,
                    desired,
                    desired_hash: None,
                    compose,
                    owned: true,
                })
            };
        assert_eq!(
            case(Some(&p), Some(&written), Some(&written)),
            Change::InSync
        );
        assert_eq!(
            case(Some(&p2), Some(&rendered_changed), Some(&written)),
            Change::ProfileChanged
        );
        assert_eq!(
            case(Some(&p), Some(&written), Some(&edited)),
            Change::ComposeChanged
        );
        assert_eq!(
            case(Some(&p2), Some(&rendered_changed), Some(&edited)),
            Change::BothChanged
        );
        assert_eq!(
            case(Some(&p2), Some(&edited), Some(&edited)),
            Change::InSync,
            "the same change on both sides"
        );
        assert_eq!(case(None, None, Some(&written)), Change::ProfileRemoved);
        assert_eq!(
            case(None, None, Some(&edited)),
            Change::ProfileRemovedComposeChanged
        );
        assert_eq!(case(Some(&p), Some(&written), None), Change::ComposeRemoved);
        assert_eq!(
            case(Some(&p2), Some(&rendered_changed), None),
            Change::ComposeRemovedProfileChanged
        );
        assert_eq!(case(None, None, None), Change::BothRemoved);
        // A catalog update that renders differently counts as a profile change.
        assert_eq!(
            case(Some(&p), Some(&rendered_changed), Some(&written)),
            Change::ProfileChanged
        );
    }

    #[test]
    fn without_a_base() {
        let a = service("image: a\n");
        let b = service("image: b\n");
        let case = |profile_hash: Option<&str>,
                    desired: Option<&Mapping>,
                    compose: Option<&Mapping>,
                    owned: bool| {
            classify(&Sides {
                base: None,
                profile_hash,
                desired,
                desired_hash: None,
                compose,
                owned,
            })
        };
        assert_eq!(case(Some("p"), Some(&a), None, false), Change::Added);
        assert_eq!(case(None, None, Some(&a), false), Change::Foreign);
        assert_eq!(case(None, None, Some(&a), true), Change::ProfileRemoved);
        assert_eq!(case(Some("p"), None, Some(&a), false), Change::NameClash);
        assert_eq!(
            case(Some("p"), Some(&a), Some(&a), false),
            Change::Unrecorded { identical: true }
        );
        assert_eq!(
            case(Some("p"), Some(&a), Some(&b), false),
            Change::Unrecorded { identical: false }
        );
        assert_eq!(case(Some("p"), None, None, false), Change::Idle);
        assert!(Change::Unrecorded { identical: false }.is_conflict());
        assert!(!Change::ComposeChanged.is_conflict());
    }
}
