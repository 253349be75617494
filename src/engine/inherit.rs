//! Anonymous volumes across a recreate, as compose's `Inherited` does it: the
//! new container mounts the volumes the old one had at the same places, so
//! data in `volumes: ["/data"]` (or in an image's `VOLUME`) survives a config
//! change, and the volumes nothing takes over are removed with the old
//! container instead of being left behind. Pure: the executor feeds it what
//! it inspected.
use super::model::{Mount, Service};

/// A volume mounted by a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    /// The engine's volume name.
    pub name: String,
    /// Where it is mounted in the container.
    pub target: String,
    pub read_only: bool,
    /// Whether it is anonymous: made by the engine for this container (or
    /// inherited as such). Only anonymous volumes are ever removed; a volume
    /// the user named, even one with a 64-hex name, never is.
    pub anonymous: bool,
}

/// Which of the old container's volumes the new container takes over: those
/// mounted where the service still asks for an anonymous volume, and those at
/// an image `VOLUME` path nothing in the service mounts over (compose goes by
/// the path alone too, so a volume compose inherited by name is kept).
/// `image_volumes` are the paths the new image declares.
pub fn inherited(
    old: &[VolumeMount],
    service: &Service,
    image_volumes: &[String],
) -> Vec<VolumeMount> {
    old.iter()
        .filter_map(|mount| {
            let declared = service.volumes.iter().find(|m| m.target() == mount.target);
            match declared {
                Some(Mount::Volume {
                    source: None,
                    read_only,
                    ..
                }) => Some(VolumeMount {
                    read_only: *read_only,
                    ..mount.clone()
                }),
                // A named volume, bind or tmpfs now takes that place.
                Some(_) => None,
                None => {
                    let tmpfs = service
                        .tmpfs
                        .iter()
                        .any(|t| t.split(':').next() == Some(mount.target.as_str()));
                    (image_volumes.contains(&mount.target) && !tmpfs).then(|| mount.clone())
                }
            }
        })
        .collect()
}

/// The old container's anonymous volumes that nothing inherits: removed with it.
pub fn left_behind(old: &[VolumeMount], inherited: &[VolumeMount]) -> Vec<String> {
    old.iter()
        .filter(|m| m.anonymous && !inherited.iter().any(|i| i.name == m.name))
        .map(|m| m.name.clone())
        .collect()
}

/// The value of [`crate::labels::INHERITED_VOLUMES`] for a container that
/// mounts `inherited`: the anonymous ones, `None` when there are none.
pub fn label_value(inherited: &[VolumeMount]) -> Option<String> {
    let names: Vec<&str> = inherited
        .iter()
        .filter(|m| m.anonymous)
        .map(|m| m.name.as_str())
        .collect();
    (!names.is_empty()).then(|| names.join(","))
}

/// Names listed in a [`crate::labels::INHERITED_VOLUMES`] label.
pub fn parse_label(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a volume a container mounts is anonymous: the container's own
/// spec does not name it (the engine made it up), or it is one the container
/// inherited as anonymous. `named_in_spec` are the sources of the
/// container's `Mounts` and `Binds`; `inherited` its label's names.
pub fn is_anonymous(name: &str, named_in_spec: &[String], inherited: &[String]) -> bool {
    !named_in_spec.iter().any(|n| n == name) || inherited.iter().any(|n| n == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::parse_service;

    fn service(yaml: &str) -> Service {
        parse_service(&serde_yaml_ng::from_str(yaml).unwrap()).unwrap()
    }

    fn mount(name: &str, target: &str) -> VolumeMount {
        VolumeMount {
            name: name.into(),
            target: target.into(),
            read_only: false,
            anonymous: true,
        }
    }

    #[test]
    fn anonymous_volumes_the_service_still_asks_for_are_inherited() {
        let old = [mount("a", "/data"), mount("b", "/gone"), mount("c", "/img")];
        let new = service(
            "image: x\nvolumes: [{type: volume, target: /data, read_only: true}, './host:/bound']\n",
        );
        let kept = inherited(&old, &new, &["/img".to_string()]);
        assert_eq!(
            kept,
            [
                VolumeMount {
                    read_only: true,
                    ..mount("a", "/data")
                },
                mount("c", "/img"),
            ]
        );
        assert_eq!(left_behind(&old, &kept), ["b"]);
    }

    #[test]
    fn a_mount_of_another_kind_replaces_the_anonymous_volume() {
        let old = [mount("a", "/data"), mount("b", "/img"), mount("c", "/t")];
        let new =
            service("image: x\nvolumes: ['named:/data', './h:/img']\ntmpfs: ['/t:size=1m']\n");
        let image = ["/img".to_string(), "/t".to_string()];
        assert!(inherited(&old, &new, &image).is_empty());
    }

    #[test]
    fn only_anonymous_volumes_are_removed_or_labelled() {
        let named = VolumeMount {
            anonymous: false,
            ..mount("ext", "/keep")
        };
        let old = [named.clone(), mount("a", "/data")];
        // The service no longer mounts either: only the anonymous one goes.
        assert_eq!(left_behind(&old, &[]), ["a"]);
        // A named volume taken over at an anonymous path is kept, unlabelled.
        let new = service("image: x\nvolumes: ['/keep', '/data']\n");
        let kept = inherited(&old, &new, &[]);
        assert_eq!(kept.len(), 2);
        assert_eq!(label_value(&kept).as_deref(), Some("a"));
        assert_eq!(parse_label(Some("a,b")), ["a", "b"]);
        assert!(parse_label(None).is_empty());
        // Anonymous: not named by the spec, or named only because inherited.
        let spec = ["ext".to_string(), "a".to_string()];
        assert!(!is_anonymous("ext", &spec, &[]));
        assert!(is_anonymous("a", &spec, &["a".to_string()]));
        assert!(is_anonymous("z", &spec, &[]));
    }
}
