//! A bundle built with a configuration judges as the native library does:
//! the same manifests judged by `PreparedSet::judge_documents` and by the
//! bundle (one resource per call, as `rampart check --bundle` sends them)
//! give the same findings, the same suppressed and exempted counts, on a
//! day the exception is in force and on a day after it expired.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure to build or run the fixture fails the test"
)]

use rampart_bundle::{Abi, Bundle, Date, EmbeddedConfig};
use rampart_core::{Config, PreparedSet};
use rampart_engine::EvalOptions;

const POLICIES: &str = r#"
policy example.replicas {
  severity medium
  param most: int = 3
  match kinds Deployment
  deny resource.spec.replicas > params.most
    at spec.replicas
    message "{resource.spec.replicas} replicas; at most {params.most}"
}

policy example.paused {
  severity low
  match kinds Deployment
  deny (resource.spec.paused ?? false) == true
    at spec.paused
    message "{resource.metadata.name} is paused"
}

policy example.team {
  severity low
  match kinds Deployment
  deny (resource.metadata.labels.team ?? "") == ""
    at metadata
    message "{resource.metadata.name} has no team"
}
"#;

const CONFIG: &str = "\
params:
  example.replicas:
    most: 5
actions:
  example.paused: warn
  example.team: audit
exceptions:
  - policy: example.replicas
    namespace: legacy
    reason: migrating (OPS-1)
    expires: 2027-03-31
exemptions:
  namespaces: [kube-system]
annotations:
  allowExemptions: true
";

const MANIFESTS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 8, paused: true}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: four, namespace: shop, labels: {team: a}}
spec: {replicas: 4}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: old, namespace: legacy, labels: {team: b}}
spec: {replicas: 9}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dns, namespace: kube-system}
spec: {replicas: 9, paused: true}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: opted-out
  namespace: shop
  labels: {team: c}
  annotations:
    rampart.dev/exempt: example.replicas
    rampart.dev/exempt-reason: load test (OPS-2)
spec: {replicas: 7}
";

/// (policy, action, message, path) of each finding, in order.
type Seen = Vec<(String, String, String, String)>;

struct Prepared {
    native: PreparedSet,
    bundle: Bundle,
}

fn prepare() -> Prepared {
    let compilation = rampart_lang::compile(&[rampart_lang::Source {
        name: "policies.rampart".into(),
        text: POLICIES.into(),
    }]);
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    let mut problems = Vec::new();
    let config = Config::parse(CONFIG, "rampart.yaml", &mut problems).unwrap();
    let mut set = compilation.set;
    config.apply(&mut set, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let embedded = EmbeddedConfig {
        file: "rampart.yaml".into(),
        hash: rampart_bundle::text_hash(CONFIG),
        judging: config.judging.clone(),
    };
    let wasm = rampart_bundle::build_with(&set, None, Abi::Rampart, Some(&embedded)).unwrap();
    let contents = rampart_bundle::contents(&wasm).unwrap();
    // The configuration read back is the one built in, but for where each
    // exception was written (only a file's reader knows).
    let mut expected = embedded.clone();
    for exception in &mut expected.judging.exceptions {
        exception.position = None;
    }
    assert_eq!(contents.config, Some(expected));
    let bundle = Bundle::load(&wasm).unwrap();
    assert_eq!(
        bundle.config().map(|config| config["hash"].clone()),
        Some(serde_json::json!(embedded.hash))
    );
    Prepared {
        native: PreparedSet::new(set, config.judging, EvalOptions::default()),
        bundle,
    }
}

fn native(prepared: &Prepared, today: Date) -> (Seen, usize, usize) {
    let loaded = rampart_engine::load::load_str(MANIFESTS, &Default::default());
    let judged = prepared
        .native
        .judge_documents("manifests.yaml", &loaded.documents, today);
    assert!(judged.errors.is_empty(), "{:?}", judged.errors);
    let seen = judged
        .findings
        .iter()
        .map(|finding| {
            (
                finding.policy.to_string(),
                format!("{:?}", finding.action).to_lowercase(),
                finding.message.clone(),
                finding.path.clone(),
            )
        })
        .collect();
    (seen, judged.suppressed, judged.exempted)
}

fn through_bundle(prepared: &mut Prepared, today: Date) -> (Seen, usize, usize) {
    let loaded = rampart_engine::load::load_str(MANIFESTS, &Default::default());
    prepared.bundle.set_today(today);
    let (mut seen, mut suppressed, mut exempted) = (Vec::new(), 0, 0);
    for document in &loaded.documents {
        let input = serde_json::to_vec(&document.value).unwrap();
        let outcome = prepared.bundle.evaluate(&input).unwrap();
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        suppressed += outcome.suppressed;
        exempted += outcome.exempted;
        seen.extend(outcome.findings.into_iter().map(|finding| {
            (
                finding.policy,
                format!("{:?}", finding.action).to_lowercase(),
                finding.message,
                finding.path,
            )
        }));
    }
    (seen, suppressed, exempted)
}

fn finding(
    policy: &str,
    action: &str,
    message: &str,
    path: &str,
) -> (String, String, String, String) {
    (policy.into(), action.into(), message.into(), path.into())
}

#[test]
fn a_bundle_built_with_a_configuration_judges_as_the_library_does() {
    let mut prepared = prepare();
    let in_force = Date::parse("2027-01-15").unwrap();
    let (seen, suppressed, exempted) = native(&prepared, in_force);
    assert_eq!(
        seen,
        vec![
            // The parameter is raised to 5: 8 replicas are too many, 4 are not.
            finding(
                "example.replicas",
                "deny",
                "8 replicas; at most 5",
                "/spec/replicas"
            ),
            finding("example.paused", "warn", "web is paused", "/spec/paused"),
            finding("example.team", "audit", "web has no team", "/metadata"),
        ]
    );
    // The exception (legacy) and the self-exemption (opted-out) each drop
    // one finding; kube-system is not judged.
    assert_eq!((suppressed, exempted), (2, 1));
    assert_eq!(
        through_bundle(&mut prepared, in_force),
        (seen, suppressed, exempted)
    );

    // The day after the exception's last day, it no longer applies, in the
    // bundle as natively: the date is the one the host passes.
    let expired = Date::parse("2027-04-01").unwrap();
    let (seen, suppressed, exempted) = native(&prepared, expired);
    assert!(seen.contains(&finding(
        "example.replicas",
        "deny",
        "9 replicas; at most 5",
        "/spec/replicas"
    )));
    assert_eq!((suppressed, exempted), (1, 1));
    assert_eq!(
        through_bundle(&mut prepared, expired),
        (seen, suppressed, exempted)
    );
    // And on its last day it still does.
    let last_day = Date::parse("2027-03-31").unwrap();
    assert_eq!(through_bundle(&mut prepared, last_day).1, 2);
}

#[test]
fn a_bundle_without_a_configuration_judges_with_none() {
    let compilation = rampart_lang::compile(&[rampart_lang::Source {
        name: "policies.rampart".into(),
        text: POLICIES.into(),
    }]);
    let wasm = rampart_bundle::build(&compilation.set, None).unwrap();
    assert_eq!(rampart_bundle::contents(&wasm).unwrap().config, None);
    let mut bundle = Bundle::load(&wasm).unwrap();
    assert_eq!(bundle.config(), None);
    let outcome = bundle
        .evaluate(br#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "dns", "namespace": "kube-system"}, "spec": {"replicas": 4}}"#)
        .unwrap();
    assert_eq!(outcome.exempted, 0);
    assert_eq!(outcome.findings.len(), 2, "{:?}", outcome.findings);
}
