//! Pulling images, with progress; a failed pull names the image and carries
//! the registry's own message, and a refusal (401) also says whether
//! credentials were sent and where they came from.
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;

use super::connect::{Engine, describe};
use super::progress::Progress;

/// Splits `registry:5000/repo:tag` or `repo@sha256:…` into the name and the
/// tag or digest (`latest` when none is given). The engine pulls *every* tag
/// of a repository when the tag is left empty, so one is always sent.
pub fn split_reference(image: &str) -> (&str, &str) {
    if let Some((name, digest)) = image.split_once('@') {
        return (name, digest);
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(colon) => (
            &image[..last_slash + colon],
            &image[last_slash + colon + 1..],
        ),
        None => (image, "latest"),
    }
}

/// Pulls `image`; `Err` holds the reason in the registry's words.
pub async fn pull(engine: &Engine, image: &str, progress: &Progress) -> Result<(), String> {
    // Credentials first: a missing or failing helper is the reason to report,
    // not the 401 an anonymous pull would get.
    let lookup = match super::auth::lookup(image).await {
        Ok(lookup) => lookup,
        Err(err) => {
            let error = match &err.hint {
                Some(hint) => format!("{} (hint: {hint})", err.message),
                None => err.message.clone(),
            };
            progress.pull(image).finish(Err(&error));
            return Err(error);
        }
    };
    let (name, tag) = split_reference(image);
    let options = CreateImageOptions {
        from_image: Some(name.to_string()),
        tag: Some(tag.to_string()),
        ..Default::default()
    };
    let mut report = progress.pull(image);
    let mut stream = engine
        .docker
        .create_image(Some(options), None, lookup.docker());
    let mut last_status = String::new();
    while let Some(message) = stream.next().await {
        let failure = match message {
            Ok(info) => {
                report.update(&info);
                if let Some(status) = &info.status {
                    last_status = status.clone();
                }
                info.error_detail.and_then(|detail| detail.message)
            }
            Err(err) => Some(describe(&err)),
        };
        if let Some(mut error) = failure {
            if super::auth::is_auth_refusal(&error) {
                error = format!("{error}; {}", lookup.refusal_note("the pull"));
            }
            report.finish(Err(&error));
            return Err(error);
        }
    }
    // The last status says whether anything was downloaded ("Downloaded
    // newer image…" or "Image is up to date…").
    let summary = if last_status.contains("up to date") {
        "(up to date)"
    } else {
        ""
    };
    report.finish(Ok(summary));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_always_get_a_tag() {
        assert_eq!(split_reference("busybox"), ("busybox", "latest"));
        assert_eq!(split_reference("mcp/fetch:1.2"), ("mcp/fetch", "1.2"));
        assert_eq!(
            split_reference("127.0.0.1:5000/mcpm-test/busybox"),
            ("127.0.0.1:5000/mcpm-test/busybox", "latest")
        );
        assert_eq!(
            split_reference("127.0.0.1:5000/a/b:v1"),
            ("127.0.0.1:5000/a/b", "v1")
        );
        assert_eq!(split_reference("a/b@sha256:abc"), ("a/b", "sha256:abc"));
    }
}
