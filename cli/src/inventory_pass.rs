//! The first of two passes over the input when cross-resource policies run.
//!
//! A policy that calls `resources("NetworkPolicy")` needs every NetworkPolicy
//! of the input before it judges the first Deployment. Holding every parsed
//! document for that took about 28 bytes per byte of input (557 MiB for
//! 20,000 workloads with the default set). When every such call names its
//! kind, this pass reads the files once and keeps only the resources of those
//! kinds; the second pass streams the files again, as when no policy looks
//! across resources. Parts whose text does not mention any of the kinds are
//! not parsed at all. Standard input cannot be read twice, and a kind
//! computed at run time could be any kind: both keep the whole input instead
//! (`check::run` decides).

use crate::stream::{self, Event, Parts};
use rampart_engine::json::Json;
use rampart_engine::load::{self, LoadLimits};
use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::mpsc::Sender;

/// The resources of `kinds` in `paths`, in input order (files, then
/// documents, then `kind: List` items), and what went wrong that the second
/// pass cannot see: a part whose reading panicked, a thread that stopped.
/// Unreadable files and documents that do not load are skipped here: the
/// second pass reports them.
pub fn collect(
    paths: &[PathBuf],
    kinds: &BTreeSet<String>,
    threads: usize,
) -> (Vec<Json>, Vec<String>) {
    let fanned = stream::fan_out(
        paths,
        threads,
        false,
        false,
        "finding the resources policies look across",
        |parts, _: &Sender<Event<()>>| keep_kinds(parts, kinds),
        |_| {},
    );
    let mut failures = fanned.failures;
    let mut found = Vec::new();
    for (kept, failed) in fanned.results {
        found.extend(kept);
        failures.extend(failed);
    }
    found.sort_unstable_by_key(|(sequence, _)| *sequence);
    let resources = found
        .into_iter()
        .flat_map(|(_, resources)| resources)
        .collect();
    (resources, failures)
}

/// Resources of a part, by its sequence number.
type Found = Vec<(usize, Vec<Json>)>;

/// A worker: the resources of `kinds` in each part it takes, by part, and
/// the parts whose reading panicked (the inventory would miss them, and
/// a policy looking across resources would judge without them).
fn keep_kinds(parts: &Parts, kinds: &BTreeSet<String>) -> (Found, Vec<String>) {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    while let Some(part) = parts.next() {
        if !kinds.iter().any(|kind| part.text.contains(kind.as_str())) {
            continue;
        }
        let kept = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let outcome = load::load_str(&part.text, &LoadLimits::default());
            let mut errors = Vec::new();
            load::resources(&outcome.documents, &mut errors)
                .iter()
                .filter(|resource| {
                    resource
                        .value
                        .get("kind")
                        .and_then(Json::as_str)
                        .is_some_and(|kind| kinds.contains(kind))
                })
                .map(|resource| resource.value.clone())
                .collect()
        }));
        match kept {
            Ok(kept) => found.push((part.sequence, kept)),
            Err(payload) => failures.push(format!(
                "internal error while reading `{}` (from line {}) for the policies that look across resources: {}",
                part.name,
                part.line_offset + 1,
                stream::panic_message(&*payload)
            )),
        }
    }
    (found, failures)
}
