//! One configuration, judged alike everywhere: the fixture in
//! `tests/fixtures/one-config` (a parameter raised, a policy that warns, one
//! that audits, an exception in force, an expired one, an exempt namespace),
//! with a policy that denies added here, is judged by every host, and every
//! host must reach the same decisions: for each resource, which policies
//! found what, with which action.
//!
//! Hosts: `rampart check` at `-j1` and `-j2`, through a bundle built with
//! the same configuration (`rampart build`, then `check --bundle` and the
//! Node host), the admission webhook (`rampart serve --config`, real TLS
//! AdmissionReviews) and the Kubewarden build (`rampart build --abi
//! kubewarden`, through a waPC host).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod hosts;
mod kubewarden;
mod node;
mod webhook;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `Kind namespace/name`.
pub type ResourceName = String;

/// For each judged resource, its (policy, action) pairs.
pub type Decisions = BTreeMap<ResourceName, BTreeSet<(String, String)>>;

/// A copy of the fixture, with a denying policy and a manifest it denies.
pub fn workspace(name: &str) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/one-config");
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("one-config")
        .join(name);
    let _ = std::fs::remove_dir_all(&directory);
    copy_directory(&fixture, &directory);
    std::fs::write(
        directory.join("policies/latest.rampart"),
        "/// Images name a version.\npolicy fixture.no_latest {\n  severity high\n  match pods\n  \
         for c in pod.containers {\n    deny ends_with(c.image, \":latest\")\n      at c.image\n      \
         message \"container {c.name}: image {c.image} names no version\"\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(
        directory.join("manifests/latest.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: edge\n  namespace: shop\n  labels: {team: edge}\nspec:\n  containers:\n    - name: edge\n      image: registry.example.com/edge:latest\n",
    )
    .unwrap();
    directory
}

fn copy_directory(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_directory(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// What `check -j1` decides, with the counts every host must match.
fn expected(directory: &Path) -> Decisions {
    let decisions = hosts::check(directory, &["-j1"]);
    // The fixture's own account of what the configuration does.
    let pairs = |resource: &str| -> Vec<(String, String)> {
        decisions
            .get(resource)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    };
    let pair = |policy: &str, action: &str| (policy.to_owned(), action.to_owned());
    assert_eq!(
        pairs("Deployment shop/web"),
        [pair("fixture.team_label", "audit")]
    );
    assert_eq!(
        pairs("Pod shop/cache"),
        [pair("fixture.memory_limit", "warn")]
    );
    assert_eq!(
        pairs("Deployment legacy/batch"),
        [],
        "the exception in force"
    );
    assert_eq!(
        pairs("Deployment old/report"),
        [pair("fixture.memory_limit", "warn")],
        "the expired exception"
    );
    assert_eq!(pairs("Pod shop/edge"), [pair("fixture.no_latest", "deny")]);
    assert!(
        !decisions.contains_key("Pod kube-system/agent"),
        "the exempt namespace is not judged"
    );
    decisions
}

#[test]
fn check_judges_alike_at_every_job_count() {
    let directory = workspace("check");
    let expected = expected(&directory);
    assert_eq!(hosts::check(&directory, &["-j2"]), expected, "check -j2");
}

#[test]
fn a_bundle_built_with_the_configuration_judges_as_check_does() {
    let directory = workspace("bundle");
    let expected = expected(&directory);
    let bundle = hosts::build(&directory);
    assert_eq!(
        hosts::check(&directory, &["--bundle", bundle.to_str().unwrap()]),
        expected,
        "check --bundle"
    );
    if node::available() {
        assert_eq!(
            node::decisions(&directory, &bundle),
            expected,
            "the Node host"
        );
    } else {
        eprintln!("node is not installed: the Node host is skipped");
    }
}

#[test]
fn the_webhook_judges_as_check_does() {
    let directory = workspace("webhook");
    let expected = expected(&directory);
    let policies = [
        "fixture.memory_limit",
        "fixture.team_label",
        "fixture.no_latest",
    ];
    assert_eq!(
        webhook::decisions(&directory, &policies),
        expected,
        "serve --config"
    );
}

#[test]
fn the_kubewarden_module_judges_as_check_does_but_for_dated_exceptions() {
    let directory = workspace("kubewarden");
    let mut expected = expected(&directory);
    // waPC passes no date: an exception with an expiry date is never
    // honoured there (never past its end), so the one in force does not
    // hold for Kubewarden (docs/wasm-abi.md).
    expected.insert(
        "Deployment legacy/batch".to_owned(),
        [("fixture.memory_limit".to_owned(), "warn".to_owned())].into(),
    );
    let policies = [
        "fixture.memory_limit",
        "fixture.team_label",
        "fixture.no_latest",
    ];
    assert_eq!(
        kubewarden::decisions(&directory, &policies),
        expected,
        "the Kubewarden module"
    );
}
