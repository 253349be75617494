//! `doctor --pin`: each `unpinned-image` finding's image resolved to the
//! digest it stands for now (`engine::pin`), and turned into an edit that
//! writes `repo:tag@sha256:…` to `[servers.X.docker] image` (that table wins
//! over the catalog's image and a `docker run` command's, so one place pins
//! every kind of server).
//!
//! One engine connection serves every image, each image is asked once
//! however many servers use it, and an image that cannot be resolved is
//! reported on its finding without stopping the others.
use std::collections::BTreeMap;

use crate::engine::connect::{self, Engine};
use crate::engine::pin::{DigestSource, PinnedImage, resolve_digest};
use crate::error::{Error, Result};
use crate::profile::LoadedProfile;

use super::{Check, Edit, Finding};

/// The digests resolved so far, and the engine they came from.
#[derive(Default)]
pub(super) struct Pins {
    /// Built on first use: a run with nothing to pin needs no engine.
    engine: Option<(tokio::runtime::Runtime, Engine)>,
    resolved: BTreeMap<String, Result<PinnedImage>>,
}

impl Pins {
    /// Resolves the image of every unpinned-image finding not asked yet.
    /// Fails only when the engine cannot be reached (nothing can be pinned
    /// then, and a partial pin would hide why); one image's failure is kept
    /// for its finding.
    pub(super) fn resolve(&mut self, findings: &[Finding]) -> Result<()> {
        let mut wanted: Vec<&str> = findings
            .iter()
            .filter(|f| f.check == Check::UnpinnedImage && !self.resolved.contains_key(&f.value))
            .map(|f| f.value.as_str())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(());
        }
        if self.engine.is_none() {
            // One runtime for the whole run: the engine's connection pool
            // belongs to the runtime that opened it.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| Error::runtime(format!("cannot start the async runtime: {err}")))?;
            let engine = runtime.block_on(connect::connect()).map_err(|err| {
                let message = format!("--pin needs the Docker Engine: {}", err.message);
                Error {
                    message,
                    hint: Some(err.hint.clone().unwrap_or_else(|| {
                        "start the engine (or set DOCKER_HOST), or run doctor without --pin".into()
                    })),
                    ..err
                }
            })?;
            self.engine = Some((runtime, engine));
        }
        let (runtime, engine) = self.engine.as_ref().expect("connected above");
        for image in wanted {
            let found = runtime.block_on(resolve_digest(engine, image));
            self.resolved.insert(image.to_string(), found);
        }
        Ok(())
    }

    /// Gives each unpinned-image finding whose image resolved the edit that
    /// pins it, and says on the others why they could not be pinned.
    pub(super) fn attach(&self, findings: &mut [Finding], loaded: &LoadedProfile) {
        for finding in findings
            .iter_mut()
            .filter(|f| f.check == Check::UnpinnedImage)
        {
            match self.resolved.get(&finding.value) {
                Some(Ok(pinned)) => {
                    let old = loaded
                        .profile
                        .servers
                        .get(&finding.server)
                        .and_then(|s| s.docker.as_ref())
                        .and_then(|d| d.get("image"))
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                    finding.fix = format!(
                        "pinned: `[servers.{}.docker] image = \"{}\"` (digest from {})",
                        finding.server,
                        pinned.pinned,
                        source_name(pinned.source)
                    );
                    finding.edits = vec![Edit::DockerImage {
                        old,
                        new: pinned.pinned.clone(),
                    }];
                }
                Some(Err(err)) => {
                    finding.message = format!(
                        "{}; --pin could not resolve it: {}",
                        finding.message, err.message
                    );
                    if let Some(hint) = &err.hint {
                        finding.fix = hint.clone();
                    }
                }
                None => {}
            }
        }
    }
}

fn source_name(source: DigestSource) -> &'static str {
    match source {
        DigestSource::Local => "the local image",
        DigestSource::Registry => "the registry",
        DigestSource::Reference => "the reference",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{Place, Severity};
    use std::path::Path;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn unpinned(server: &str, image: &str) -> Finding {
        Finding {
            check: Check::UnpinnedImage,
            severity: Severity::Warning,
            server: server.into(),
            value: image.into(),
            place: Place::Profile(Vec::new()),
            message: format!("image `{image}` is not pinned"),
            fix: String::new(),
            edits: Vec::new(),
        }
    }

    #[test]
    fn resolved_images_become_edits_and_failures_say_why() {
        let text = "name = \"p\"\n[servers.a]\ncommand = \"sleep\"\n[servers.a.docker]\nimage = \"r/a:latest\"\n[servers.b]\ncommand = \"sleep\"\n[servers.c]\ncommand = \"sleep\"\n";
        let loaded = crate::profile::load_profile_text(Path::new("p.toml"), text.into()).unwrap();
        let mut pins = Pins::default();
        pins.resolved.insert(
            "r/a:latest".into(),
            Ok(PinnedImage {
                image: "r/a:latest".into(),
                digest: DIGEST.into(),
                pinned: format!("r/a:latest@{DIGEST}"),
                source: DigestSource::Registry,
            }),
        );
        pins.resolved.insert(
            "r/c".into(),
            Err(Error::runtime("image r/c exists only on this engine").hint("push it")),
        );
        // Nothing left to ask: no engine is needed.
        let mut findings = vec![
            unpinned("a", "r/a:latest"),
            unpinned("b", "r/a:latest"),
            unpinned("c", "r/c"),
        ];
        pins.resolve(&findings).unwrap();
        assert!(pins.engine.is_none());
        pins.attach(&mut findings, &loaded);
        assert_eq!(
            findings[0].edits,
            [Edit::DockerImage {
                old: Some("r/a:latest".into()),
                new: format!("r/a:latest@{DIGEST}")
            }]
        );
        // A server with no `image` of its own expects none.
        assert_eq!(
            findings[1].edits,
            [Edit::DockerImage {
                old: None,
                new: format!("r/a:latest@{DIGEST}")
            }]
        );
        assert!(findings[1].fix.contains("the registry"));
        assert!(findings[2].edits.is_empty());
        assert!(
            findings[2]
                .message
                .ends_with("--pin could not resolve it: image r/c exists only on this engine")
        );
        assert_eq!(findings[2].fix, "push it");
    }
}
