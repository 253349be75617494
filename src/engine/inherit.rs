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
}

/// Which of the old container's anonymous volumes the new container takes
/// over: those mounted where the service still asks for an anonymous volume,
/// and those at an image `VOLUME` path nothing in the service mounts over.
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
        .filter(|m| !inherited.iter().any(|i| i.name == m.name))
        .map(|m| m.name.clone())
        .collect()
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
}
