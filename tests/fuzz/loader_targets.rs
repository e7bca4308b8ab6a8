//! The YAML and JSON targets: the manifest loader, `kind: List` expansion,
//! and the standard library judging what loads; valid JSON must load as
//! `serde_json` reads it.

use crate::common::{
    ADDRESS_SPACE, WORKER_STACK, manifest_files, manifest_values, message_shape, shorten,
    standard_set,
};
use crate::driver::{Harness, Target};
use crate::generate;
use crate::mutate::hash;
use rampart_engine::load::{self, LoadLimits};
use rampart_engine::{EvalOptions, Evaluator, Inventory, PolicySet, Subject};

const YAML_TOKENS: &[&[u8]] = &[
    b"---\n",
    b"...\n",
    b"- ",
    b": ",
    b"? ",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"<<: [*a, *a]\n",
    b"!!str ",
    b"!!int ",
    b"!!binary ",
    b"!!map ",
    b"!custom ",
    b"%YAML 1.2\n",
    b"%TAG ! tag:x,2000:\n",
    b"|\n",
    b">-\n",
    b"|+2\n",
    b"'",
    b"\"",
    b"\\x",
    b"\\u",
    b"\\U0010ffff",
    b"\t",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"{",
    b"}",
    b"[",
    b"]",
    b", ",
    b"# ",
    b"~",
    b"null",
    b"yes",
    b"on",
    b"kind: List\nitems:\n",
    b"apiVersion: v1\n",
    b"kind: Pod\n",
    b"metadata:\n  name: x\n",
    b"spec:\n  containers:\n  - name: c\n    image: i\n",
    b"hostNetwork: true\n",
];

const JSON_TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"\\\"",
    b"\\\\",
    b"\\u0000",
    b"\\ud800",
    b"\\udc00",
    b"\\u00e9",
    b"\\n",
    b"null",
    b"true",
    b"false",
    b"-0",
    b"1e309",
    b"0.5e-7",
    b"\"kind\":\"List\",\"items\":[",
    b"\"apiVersion\":\"v1\"",
    b"\"kind\":\"Pod\"",
    b"\"metadata\":{\"name\":\"x\"}",
    b"\n",
    b"\xef\xbb\xbf",
    b" ",
    b"\"a\":1,\"a\":2",
];

fn yaml_seeds() -> Vec<Vec<u8>> {
    manifest_files()
}

/// The repository's manifests as JSON: each resource alone, pretty and
/// compact, and all of them as JSON lines.
fn json_seeds() -> Vec<Vec<u8>> {
    let values = manifest_values();
    let mut seeds: Vec<Vec<u8>> = manifest_files()
        .into_iter()
        .filter(|file| {
            file.trim_ascii_start()
                .first()
                .is_some_and(|byte| matches!(byte, b'{' | b'['))
        })
        .collect();
    let mut lines = String::new();
    for value in &values {
        if let Ok(pretty) = serde_json::to_string_pretty(value) {
            seeds.push(pretty.into_bytes());
        }
        lines.push_str(&value.to_string());
        lines.push('\n');
    }
    seeds.push(lines.into_bytes());
    seeds
}

/// Loads manifests as `rampart check` does, then judges them with every
/// policy of the standard library.
struct LoaderHarness {
    set: PolicySet,
    /// Whether to hold the loader to a JSON library's reading of valid JSON.
    compare_with_serde: bool,
}

impl Harness for LoaderHarness {
    fn run(&mut self, input: &[u8]) -> Result<u64, String> {
        let Ok(text) = std::str::from_utf8(input) else {
            // The command line refuses text that is not UTF-8 before loading.
            return Ok(0);
        };
        let outcome = load::load_str(text, &LoadLimits::default());
        let mut summary = String::new();
        for error in &outcome.errors {
            summary.push_str(&message_shape(&error.message));
        }
        let mut errors = outcome.errors.clone();
        let resources = load::resources(&outcome.documents, &mut errors);
        for error in &errors[outcome.errors.len()..] {
            summary.push_str(&message_shape(&error.message));
        }
        summary.push_str(&format!(
            "|{}|{}",
            outcome.documents.len().min(4),
            resources.len().min(4)
        ));
        let evaluator = Evaluator::new(
            &self.set,
            EvalOptions {
                step_budget: 100_000,
                ..EvalOptions::default()
            },
        );
        let mut inventory = Inventory::new();
        for resource in &resources {
            inventory.add(resource.value);
        }
        for resource in resources.iter().take(50) {
            // A finding's pointer must lead somewhere the position tree can place.
            let evaluation = evaluator.evaluate(&Subject {
                resource: resource.value,
                old_resource: None,
                inventory: Some(&inventory),
                keys: resource.document.keys.as_ref(),
            });
            for finding in &evaluation.findings {
                let pointer = format!("{}{}", resource.pointer, finding.pointer);
                let _ = resource
                    .document
                    .positions
                    .locate(&resource.document.value, &pointer);
            }
            summary.push_str(&format!("|{}", evaluation.findings.len().min(8)));
        }
        if self.compare_with_serde {
            compare_with_serde(input, &outcome)?;
            compare_readers(input, &outcome)?;
        } else {
            round_trip(&outcome)?;
        }
        Ok(hash(summary.as_bytes()))
    }
}

/// Valid JSON of one value, not too deep, loads to what `serde_json` reads
/// (numbers compared by value: `-0` may be an integer or a float).
fn compare_with_serde(input: &[u8], outcome: &load::LoadOutcome) -> Result<(), String> {
    let Ok(expected) = serde_json::from_slice::<serde_json::Value>(input) else {
        return Ok(());
    };
    // Duplicate keys never get here: the loader refuses them (an error).
    if depth(&expected) > 200 || !outcome.errors.is_empty() {
        return Ok(());
    }
    match outcome.documents.as_slice() {
        [document] => {
            let loaded = serde_json::to_value(&document.value)
                .map_err(|error| format!("a loaded value does not serialize: {error}"))?;
            if same(&loaded, &expected) {
                Ok(())
            } else {
                Err(format!(
                    "valid JSON loads differently: the loader read {}, serde_json {}",
                    shorten(&loaded.to_string()),
                    shorten(&expected.to_string())
                ))
            }
        }
        documents => Err(format!(
            "valid JSON of one value loads as {} documents",
            documents.len()
        )),
    }
}

/// The reader of JSON bodies (the bundle's input, an AdmissionReview's
/// object) and the manifest loader agree: what one reads, the other reads
/// alike, and valid JSON that the loader reads the body reader reads too.
fn compare_readers(input: &[u8], outcome: &load::LoadOutcome) -> Result<(), String> {
    let read = rampart_engine::limits::read_json_manifest(input, &LoadLimits::default());
    let loaded = match (outcome.errors.is_empty(), outcome.documents.as_slice()) {
        (true, [document]) => Some(&document.value),
        _ => None,
    };
    match (&read, loaded) {
        (Ok(value), Some(document)) if value == document => Ok(()),
        (Ok(value), _) => Err(format!(
            "read_json_manifest read {}, the loader {}",
            shorten(&value.to_string()),
            loaded.map_or_else(
                || format!("{:?}", outcome.errors),
                |document| shorten(&document.to_string())
            )
        )),
        (Err(error), Some(_)) if serde_json::from_slice::<serde_json::Value>(input).is_ok() => Err(
            format!("read_json_manifest refused valid JSON that the loader read: {error}"),
        ),
        _ => Ok(()),
    }
}

/// Every loaded document, written as JSON and loaded again, is the same
/// value: what the YAML reader makes of scalars survives as JSON.
fn round_trip(outcome: &load::LoadOutcome) -> Result<(), String> {
    for document in &outcome.documents {
        let json = document.value.to_string();
        let again = load::load_str(&json, &LoadLimits::default());
        match (again.errors.as_slice(), again.documents.as_slice()) {
            ([], [reloaded]) if reloaded.value == document.value => {}
            _ => {
                return Err(format!(
                    "document {} written as JSON ({}) loads as {:?} with errors {:?}",
                    document.index,
                    shorten(&json),
                    again
                        .documents
                        .iter()
                        .map(|document| shorten(&document.value.to_string()))
                        .collect::<Vec<_>>(),
                    again.errors
                ));
            }
        }
    }
    Ok(())
}

/// Equal values, numbers compared exactly when both are integers and as
/// floats otherwise.
fn same(left: &serde_json::Value, right: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => match (left.as_i128(), right.as_i128()) {
            (Some(left), Some(right)) => left == right,
            _ => left.as_f64() == right.as_f64(),
        },
        (Value::Array(left), Value::Array(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .zip(right)
                    .all(|(left, right)| same(left, right))
        }
        (Value::Object(left), Value::Object(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .zip(right)
                    .all(|((left_key, left), (right_key, right))| {
                        left_key == right_key && same(left, right)
                    })
        }
        _ => left == right,
    }
}

fn depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The YAML loader (multi-document, anchors, merge keys), `kind: List`
/// expansion, and the standard library judging what loads.
pub const YAML: Target = Target {
    name: "yaml",
    seeds: yaml_seeds,
    harness: || {
        Box::new(LoaderHarness {
            set: standard_set("all"),
            compare_with_serde: false,
        })
    },
    generate: generate::yaml,
    generate_one_in: 8,
    dictionary: YAML_TOKENS,
    iterations: 3_000,
    stack_bytes: WORKER_STACK,
    address_space_bytes: Some(ADDRESS_SPACE),
    max_len: 256 << 10,
};

/// The JSON loader (single values and JSON lines), checked against `serde_json`.
pub const JSON: Target = Target {
    name: "json",
    seeds: json_seeds,
    harness: || {
        Box::new(LoaderHarness {
            set: standard_set("all"),
            compare_with_serde: true,
        })
    },
    generate: generate::json,
    generate_one_in: 8,
    dictionary: JSON_TOKENS,
    iterations: 3_000,
    stack_bytes: WORKER_STACK,
    address_space_bytes: Some(ADDRESS_SPACE),
    max_len: 256 << 10,
};
