//! Image pinning for `doctor --pin`: the content digest an image reference
//! stands for right now, so the compose file can say `repo:tag@sha256:…` and
//! every later deploy runs exactly that image.
//!
//! The digest comes from the engine's local image when it was pulled from or
//! pushed to the registry the reference names (its `RepoDigests`), else from
//! that registry, asked through the engine's distribution endpoint: the
//! engine sends the manifest request with the media types it accepts, and
//! applies its own TLS and insecure-registry settings; mcpm adds the
//! credentials `docker login` stored ([`super::auth`]). The digest is the one
//! `docker pull` records, the manifest list's for a multi-platform image.
use serde::Serialize;

use crate::catalog::image_repository;
use crate::error::{Error, Result};

use super::auth::{self, registry_of};
use super::connect::{Engine, describe, is_not_found};
use super::pull::split_reference;

/// Where a digest was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestSource {
    /// The local image's `RepoDigests`.
    Local,
    /// The registry the reference names.
    Registry,
    /// The reference already carried a digest.
    Reference,
}

/// An image reference and the digest it resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinnedImage {
    /// The reference as given (`mcp/fetch`, `ghcr.io/o/x:1.2`).
    pub image: String,
    /// `sha256:…`.
    pub digest: String,
    /// `repo:tag@sha256:…`: what the compose file should say.
    pub pinned: String,
    pub source: DigestSource,
}

/// `repo[:tag]` + digest → `repo[:tag]@digest`, the tag kept so a reader
/// still sees which version was pinned (the engine goes by the digest).
pub fn pinned_reference(image: &str, digest: &str) -> String {
    let name = image.split('@').next().unwrap_or(image);
    format!("{name}@{digest}")
}

/// The digest of `image` in `repo_digests` (`repo@sha256:…` entries of the
/// local image), for the repository `image` names.
pub fn digest_in(image: &str, repo_digests: &[String]) -> Option<String> {
    let wanted = image_repository(image);
    repo_digests.iter().find_map(|entry| {
        let (repository, digest) = entry.split_once('@')?;
        (image_repository(repository) == wanted && digest.starts_with("sha256:"))
            .then(|| digest.to_string())
    })
}

/// Resolves the digest `image` stands for now (see the module comment).
pub async fn resolve_digest(engine: &Engine, image: &str) -> Result<PinnedImage> {
    let pinned = |digest: String, source| PinnedImage {
        image: image.to_string(),
        pinned: pinned_reference(image, &digest),
        digest,
        source,
    };
    let (_, tag_or_digest) = split_reference(image);
    if tag_or_digest.starts_with("sha256:") {
        return Ok(pinned(tag_or_digest.to_string(), DigestSource::Reference));
    }
    let local = match engine.docker.inspect_image(image).await {
        Ok(inspect) => Some(inspect.repo_digests.unwrap_or_default()),
        Err(err) if is_not_found(&err) => None,
        Err(err) => {
            return Err(Error::runtime(format!(
                "cannot inspect image {image}: {}",
                describe(&err)
            )));
        }
    };
    if let Some(digest) = local.as_deref().and_then(|d| digest_in(image, d)) {
        return Ok(pinned(digest, DigestSource::Local));
    }
    let registry = registry_of(image);
    let lookup = auth::lookup(image).await?;
    let asked = engine
        .docker
        .inspect_registry_image(image, lookup.docker())
        .await;
    match asked {
        Ok(found) => match found.descriptor.digest {
            Some(digest) if digest.starts_with("sha256:") => {
                Ok(pinned(digest, DigestSource::Registry))
            }
            _ => Err(Error::runtime(format!(
                "registry {registry} answered for {image} without a sha256 digest"
            ))),
        },
        Err(err) if local.is_some() => Err(Error::runtime(format!(
            "image {image} exists only on this engine: it was built or imported here and never pushed to or pulled from {registry}, so it has no registry digest to pin (the registry says: {})",
            describe(&err)
        ))
        .hint(format!(
            "push it (`docker push {image}`) and pin again, or leave this service unpinned"
        ))),
        Err(err) if auth::is_auth_refusal(&describe(&err)) => Err(Error::runtime(format!(
            "cannot resolve a digest for {image}: {}; {}",
            describe(&err),
            lookup.refusal_note("the digest lookup")
        ))
        .hint(format!(
            "`{}`, then pin again",
            auth::login_command(registry)
        ))),
        Err(err) => Err(Error::runtime(format!(
            "cannot resolve a digest for {image}: it is not on this engine and {registry} did not answer for it: {}",
            describe(&err)
        ))
        .hint("check the image name, and `docker login` when the registry needs credentials")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn pinned_keeps_the_tag() {
        assert_eq!(
            pinned_reference("127.0.0.1:5000/t/busybox:1.2", DIGEST),
            format!("127.0.0.1:5000/t/busybox:1.2@{DIGEST}")
        );
        assert_eq!(
            pinned_reference("mcp/fetch", DIGEST),
            format!("mcp/fetch@{DIGEST}")
        );
    }

    #[test]
    fn repo_digests_match_by_repository() {
        let digests = vec![
            format!("other/image@{DIGEST}"),
            format!("127.0.0.1:5000/t/busybox@{DIGEST}"),
        ];
        assert_eq!(
            digest_in("127.0.0.1:5000/t/busybox:latest", &digests).as_deref(),
            Some(DIGEST)
        );
        // Docker Hub's implicit prefixes are the same repository.
        let hub = vec![format!("docker.io/library/node@{DIGEST}")];
        assert_eq!(digest_in("node:22", &hub).as_deref(), Some(DIGEST));
        // Another registry's copy is not this reference's digest.
        assert_eq!(digest_in("t/busybox", &digests), None);
        assert_eq!(digest_in("x", &[]), None);
    }
}
