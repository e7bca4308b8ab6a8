//! The browser playground's engine: Rampart's compiler, test runner and
//! evaluator behind a few plain exports, so that the page runs everything in
//! the browser and no server ever evaluates a policy.
//!
//! `rampart-playground`'s build script compiles this crate for
//! `wasm32-unknown-unknown` (no wasm-bindgen, no WASI: the module imports
//! nothing, so a bare `WebAssembly.instantiate` runs it). Everything except
//! the exports ([`abi`], wasm32 only) is plain Rust, tested natively.
//!
//! The exports (see `playground/web/app.js` for the caller):
//!
//! - `playground_alloc(len) -> address` and `playground_free(address, len)`:
//!   the caller allocates its input and frees the input and every output.
//! - `playground_run(address, len) -> i64`: input `{"policy": "...",
//!   "manifest": "...", "config": "...", "today": "YYYY-MM-DD"}` (the last
//!   two optional), output the JSON of [`run`].
//! - `playground_examples() -> i64`: the JSON of [`examples`].
//! - `playground_example(address, len) -> i64`: input an example's name,
//!   output the JSON of [`example`].
//!
//! Every output is packed as `address << 32 | length` of UTF-8 JSON; the
//! allocation, input and output code is `rampart_abi::memory`, shared with
//! the bundle's guest.

#[cfg(target_arch = "wasm32")]
mod abi;
#[cfg(test)]
mod tests;
mod yaml;

use rampart_core::{Config, Date, Judging, PreparedSet};
use rampart_engine::ir::{Action, PolicySet};
use rampart_engine::load::{self, LoadLimits, Resource};
use rampart_engine::{EvalOptions, Inventory, Subject};
use rampart_lang::compile::{Compilation, CompiledTest, TestResource};
use rampart_lang::diagnostic::Diagnostic;
use rampart_lang::testing::run_test;
use rampart_lang::{Source, compile};
use serde_json::{Value as Json, json};
use std::sync::{Arc, OnceLock};

pub use yaml::to_yaml;

/// The name the policy editor's text has in diagnostics.
pub const POLICY_FILE: &str = "policy.rampart";

/// The name the configuration editor's text has in its problems.
pub const CONFIG_FILE: &str = "rampart.yaml";

/// The day the page judges as when it passes none: every exception with an
/// expiry date is expired then (a page always passes its own date).
const NO_DATE: Date = Date {
    year: 9999,
    month: 12,
    day: 31,
};

/// The name of the standard library's functions in diagnostics (which are
/// not shown: they are not the user's text).
pub const PRELUDE_FILE: &str = "stdlib-functions.rampart";

/// The example the page opens with: a policy whose example manifest is
/// denied, so that a first-time visitor sees a finding at once.
pub const DEFAULT_EXAMPLE: &str = "stdlib/pss/baseline-privileged.rampart";

/// The manifest shown with an example that has no test to derive one from.
const FALLBACK_MANIFEST: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: app
      image: nginx:latest
";

/// Runs a playground request (`{"policy": "...", "manifest": "..."}`, UTF-8
/// JSON) and returns [`evaluate`]'s result, or an `errors` entry when the
/// request itself is malformed.
pub fn run(request: &[u8]) -> Json {
    let request: Json = match serde_json::from_slice(request) {
        Ok(request) => request,
        Err(error) => {
            return json!({
                "diagnostics": [],
                "findings": [],
                "tests": [],
                "errors": [{"message": format!("the playground request is not JSON: {error}")}],
            });
        }
    };
    let policy = request
        .get("policy")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let manifest = request
        .get("manifest")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let config = request
        .get("config")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let today = request
        .get("today")
        .and_then(Json::as_str)
        .and_then(|text| Date::parse(text).ok());
    evaluate_configured(policy, manifest, config, today)
}

/// Compiles `policy`, runs its `test` blocks, and evaluates the compiled
/// policies on every Kubernetes object of `manifest` (YAML or JSON).
///
/// Returns `{"diagnostics": [...], "findings": [...], "tests": [...],
/// "errors": [...]}`: diagnostics as the compiler reports them (code, level,
/// message, start and end line and column, help); findings with the line and
/// column of what they are about in the manifest; one entry per test; and
/// the manifest's load errors and the policies that could not finish.
pub fn evaluate(policy: &str, manifest: &str) -> Json {
    evaluate_configured(policy, manifest, "", None)
}

/// [`evaluate`] with a configuration (the text of a `rampart.yaml`, empty
/// for none) applied as `rampart check` applies it, through
/// `rampart_core::Config`: its parameters and actions change the compiled
/// policies, its exemptions, exceptions (expiring as of `today`; with no
/// date every exception with an expiry date counts as expired) and
/// annotation self-exemption judge the findings. The policies' own `test`
/// blocks run on the policies as written. Adds `"config": [problems]`,
/// `"suppressed"` and `"exempted"` to the result.
pub fn evaluate_configured(
    policy: &str,
    manifest: &str,
    config_text: &str,
    today: Option<Date>,
) -> Json {
    let compilation = compile_with_prelude(policy);
    let mut config_problems = Vec::new();
    let config = if config_text.trim().is_empty() {
        None
    } else {
        Config::parse(config_text, CONFIG_FILE, &mut config_problems)
    };
    let mut set = compilation.set.clone();
    if let Some(config) = &config {
        config.apply(&mut set, &mut config_problems);
    }
    let config_problems: Vec<Json> = config_problems
        .iter()
        .map(|problem| {
            json!({
                "message": problem.message,
                "line": problem.position.map(|position| position.line),
                "column": problem.position.map(|position| position.column),
            })
        })
        .collect();
    let judging: Judging = config.map(|config| config.judging).unwrap_or_default();
    let own: Vec<&Diagnostic> = compilation
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.file == POLICY_FILE)
        .collect();
    let diagnostics = serde_json::to_value(own).unwrap_or_default();
    let outcome = load::load_str(manifest, &LoadLimits::default());
    let mut load_errors = outcome.errors;
    let resources = load::resources(&outcome.documents, &mut load_errors);
    let mut errors: Vec<Json> = load_errors
        .iter()
        .map(|error| {
            json!({
                "message": error.message,
                "line": error.position.map(|position| position.line),
                "column": error.position.map(|position| position.column),
            })
        })
        .collect();
    let prepared = PreparedSet::new(set, judging, EvalOptions::default());
    let evaluator = prepared.evaluator();
    let judge = prepared.judge(today.unwrap_or(NO_DATE));
    let mut judged = judge.start();
    let file: Arc<str> = Arc::from("manifest");
    // Cross-resource policies (`resources("Kind")`) see the whole manifest.
    let mut inventory = Inventory::new();
    for resource in &resources {
        inventory.add(resource.value);
    }
    let mut findings = Vec::new();
    for resource in &resources {
        let subject = Subject {
            resource: resource.value,
            old_resource: None,
            inventory: Some(&inventory),
            keys: resource.document.keys.as_ref(),
        };
        let mut evaluation = if judge.exempt(resource.value).is_some() {
            rampart_engine::Evaluation::default()
        } else {
            evaluator.evaluate(&subject)
        };
        let described = describe(resource);
        for error in std::mem::take(&mut evaluation.errors) {
            errors.push(json!({
                "policy": error.policy,
                "message": format!("{described}: policy `{}` failed: {}", error.policy, error.message),
                "line": resource.document.positions.root().map(|position| position.line),
                "column": resource.document.positions.root().map(|position| position.column),
            }));
        }
        // The judge applies the configuration: exemptions, exceptions,
        // self-exemptions, and locates what it keeps.
        judge.judge(&file, resource, Ok(evaluation), (0, 0), &mut judged);
        for finding in std::mem::take(&mut judged.findings) {
            findings.push(json!({
                "policy": finding.policy,
                "action": finding.action,
                "severity": finding.severity,
                "message": finding.message,
                "line": finding.line,
                "column": finding.column,
                "path": finding.path,
                "document": finding.document,
                "resource": described,
            }));
        }
    }
    let tests: Vec<Json> = compilation
        .tests
        .iter()
        .map(|test| run_playground_test(&compilation.set, test))
        .collect();
    json!({
        "diagnostics": diagnostics,
        "findings": findings,
        "tests": tests,
        "errors": errors,
        "config": config_problems,
        "suppressed": judged.suppressed,
        "exempted": judged.exempted,
    })
}

/// Compiles the policy editor's text together with [`prelude`], so that the
/// standard library's helper functions can be called (some of its files use
/// another file's). The text comes first: where it defines a function of the
/// same name, the prelude's copy is the one reported as a duplicate (and
/// left out), and those reports are not the user's concern.
fn compile_with_prelude(policy: &str) -> Compilation {
    compile(&[
        Source {
            name: POLICY_FILE.to_owned(),
            text: policy.to_owned(),
        },
        Source {
            name: PRELUDE_FILE.to_owned(),
            text: prelude().to_owned(),
        },
    ])
}

/// Every function of the standard library, cut from its files once.
///
/// The standard library writes each function at the top level, from a line
/// that starts with `fn ` to the next line that is just `}`; cutting along
/// lines takes microseconds where parsing all its files takes about 100 ms
/// of the page's first result. A test checks the cut against the parser.
pub fn prelude() -> &'static str {
    static PRELUDE: OnceLock<String> = OnceLock::new();
    PRELUDE.get_or_init(|| {
        let mut prelude = String::new();
        for (_, text) in rampart_stdlib::sources() {
            let mut inside = false;
            for line in text.lines() {
                inside |= line.starts_with("fn ");
                if inside {
                    prelude.push_str(line);
                    prelude.push('\n');
                    if line == "}" {
                        inside = false;
                        prelude.push('\n');
                    }
                }
            }
        }
        prelude
    })
}

/// Runs one `test` block. Fixture files (`given file "..."`) cannot be read
/// in a browser, so a test that names one fails and says why.
fn run_playground_test(set: &PolicySet, test: &CompiledTest) -> Json {
    let mut resources = Vec::new();
    let mut missing = Vec::new();
    for resource in &test.resources {
        match resource {
            TestResource::Inline(value) => resources.push(value.clone()),
            TestResource::File(path) => missing.push(format!(
                "fixture file `{path}` cannot be read in the playground: write the resource inline with `given`"
            )),
        }
    }
    let outcome = run_test(set, test, &resources);
    let passed = outcome.passed && missing.is_empty();
    missing.extend(outcome.failures);
    json!({
        "name": outcome.name,
        "line": outcome.line,
        "passed": passed,
        "failures": missing,
    })
}

/// `Kind namespace/name` of a resource, for messages.
fn describe(resource: &Resource<'_>) -> String {
    let field = |path: &str| {
        resource
            .value
            .pointer(path)
            .and_then(rampart_engine::json::Json::as_str)
    };
    let kind = field("/kind").unwrap_or("object");
    match (field("/metadata/namespace"), field("/metadata/name")) {
        (Some(namespace), Some(name)) => format!("{kind} {namespace}/{name}"),
        (None, Some(name)) => format!("{kind} {name}"),
        _ => kind.to_owned(),
    }
}

/// The standard library's files, for the page's example picker:
/// `{"default": NAME, "examples": [{"name", "policies": [ids]}]}`.
pub fn examples() -> Json {
    let examples: Vec<Json> = rampart_stdlib::sources()
        .map(|(name, text)| json!({"name": name, "policies": policy_ids(text)}))
        .collect();
    json!({"default": DEFAULT_EXAMPLE, "examples": examples})
}

/// The ids of the policies a file declares, read from its lines (cheaper
/// than compiling every file just to label the picker).
fn policy_ids(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| line.strip_prefix("policy "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect()
}

/// One example: `{"name", "policy", "manifest"}`, where the manifest is
/// the resources of the file's first test that expects a deny (so it
/// violates the policy), written as YAML. An unknown name gives `{"error"}`.
pub fn example(name: &str) -> Json {
    let Some((name, text)) = rampart_stdlib::sources().find(|(candidate, _)| candidate == name)
    else {
        return json!({"error": format!("there is no example `{name}`")});
    };
    json!({"name": name, "policy": text, "manifest": example_manifest(text)})
}

/// A manifest that the policies of `text` deny, taken from its tests.
fn example_manifest(text: &str) -> String {
    let compilation = compile_with_prelude(text);
    let inline_only = |test: &&CompiledTest| {
        !test.resources.is_empty()
            && test
                .resources
                .iter()
                .all(|resource| matches!(resource, TestResource::Inline(_)))
    };
    // Preferred: a test that expects a deny with the policies' default
    // parameters, since the playground runs the policy as written.
    let preference = [
        (Action::Deny, false),
        (Action::Deny, true),
        (Action::Warn, false),
        (Action::Warn, true),
    ];
    let chosen = preference.iter().find_map(|&(action, with_params)| {
        compilation.tests.iter().filter(inline_only).find(|test| {
            test.params.is_empty() != with_params
                && test
                    .expectations
                    .iter()
                    .any(|expectation| expectation.action == Some(action))
        })
    });
    let Some(test) = chosen else {
        return FALLBACK_MANIFEST.to_owned();
    };
    let documents: Vec<String> = test
        .resources
        .iter()
        .filter_map(|resource| match resource {
            TestResource::Inline(value) => Some(to_yaml(value)),
            TestResource::File(_) => None,
        })
        .collect();
    documents.join("---\n")
}
