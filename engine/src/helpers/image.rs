//! Container image references (`registry.example.com:5000/team/app:1.2@sha256:…`).

/// An image reference split into its parts, normalised as container runtimes
/// do: no registry means `docker.io`, and a single-name repository there gets
/// the `library/` prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageReference {
    /// The registry host (with port), e.g. `docker.io`, `ghcr.io`.
    pub registry: String,
    /// The repository path within the registry, e.g. `library/nginx`.
    pub repository: String,
    /// The tag, if written.
    pub tag: Option<String>,
    /// The digest (`sha256:…`), if written.
    pub digest: Option<String>,
}

/// Splits an image reference. Never fails: an odd reference yields odd parts,
/// which policies then judge.
pub fn parse(reference: &str) -> ImageReference {
    let reference = reference.trim();
    let (name_and_tag, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest.to_owned())),
        None => (reference, None),
    };
    let last_slash = name_and_tag.rfind('/').map_or(0, |position| position + 1);
    let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
        Some(colon) => (
            &name_and_tag[..last_slash + colon],
            Some(name_and_tag[last_slash + colon + 1..].to_owned()),
        ),
        None => (name_and_tag, None),
    };
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first.to_owned(), rest.to_owned())
        }
        Some(_) => ("docker.io".to_owned(), name.to_owned()),
        None => ("docker.io".to_owned(), format!("library/{name}")),
    };
    ImageReference {
        registry,
        repository,
        tag,
        digest,
    }
}
