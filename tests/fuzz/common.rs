//! What the targets share: the repository's files as seeds, the standard
//! library's sets, and summaries of messages for the novelty test.

use rampart_engine::PolicySet;
use rampart_engine::json::{Json as Manifest, KeyFilter};
use rampart_engine::load::{self, LoadLimits};
use std::path::Path;

/// The thread size of the command line's and the webhook's workers and of
/// the webhook's reload thread (the standard library's default): the
/// compiler, the loaders and the handler run on threads of this size.
pub const WORKER_STACK: usize = 2 << 20;

/// The address space each non-Wasm child may use: far above what any input
/// of `max_len` bytes should cost, low enough to stop a runaway quickly.
pub const ADDRESS_SPACE: u64 = 6 << 30;

/// Files of the repository under `directory` with one of `extensions`.
pub fn repository_files(directories: &[&str], extensions: &[&str]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = Vec::new();
    for directory in directories {
        rampart_tests::files_under(&root.join(directory), extensions, &mut paths);
    }
    paths
        .iter()
        .filter_map(|path| std::fs::read(path).ok())
        .collect()
}

/// Manifests of the repository, in YAML and JSON.
pub fn manifest_files() -> Vec<Vec<u8>> {
    repository_files(
        &["examples", "cli/tests/fixtures", "deploy"],
        &["yaml", "yml", "json", "jsonl"],
    )
}

/// Every resource of the repository's manifests, as JSON values.
pub fn manifest_values() -> Vec<Manifest> {
    manifest_resources()
        .into_iter()
        .map(|(value, _)| value)
        .collect()
}

/// Every resource of the repository's manifests, with the key filter the
/// loader made for its document.
pub fn manifest_resources() -> Vec<(Manifest, Option<KeyFilter>)> {
    let mut resources = Vec::new();
    for file in manifest_files() {
        let text = String::from_utf8_lossy(&file);
        let outcome = load::load_str(&text, &LoadLimits::default());
        let mut errors = outcome.errors;
        for resource in load::resources(&outcome.documents, &mut errors) {
            resources.push((resource.value.clone(), resource.document.keys));
        }
    }
    resources
}

/// A summary of messages for the novelty test: the text with what is
/// quoted and every digit left out, so that only the kind of message counts.
pub fn message_shape(message: &str) -> String {
    let mut shape = String::new();
    let mut quoted = false;
    for character in message.chars() {
        match character {
            '`' => quoted = !quoted,
            _ if quoted || character.is_ascii_digit() => {}
            _ => shape.push(character),
        }
    }
    shape
}

/// The standard library compiled, narrowed to one of its named sets.
pub fn standard_set(name: &str) -> PolicySet {
    let mut set = rampart_tests::standard_library().unwrap_or_else(|error| panic!("{error}"));
    let patterns = rampart_stdlib::set(name)
        .map(|set| set.include)
        .unwrap_or_default();
    set.policies
        .retain(|policy| rampart_tests::in_set(patterns, &policy.id));
    set
}

/// The start of a long text, for messages.
pub fn shorten(text: &str) -> String {
    text.chars().take(300).collect()
}
