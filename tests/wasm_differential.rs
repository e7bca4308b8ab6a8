//! Native evaluation and evaluation through the Wasm bundle give identical
//! findings: over every inline resource of the standard library's tests,
//! over the shared conformance corpus (when `../shared/conformance` exists)
//! and over generated manifests.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use rampart_bundle::Bundle;
use rampart_engine::ir::PolicySet;
use rampart_engine::json::Json as Manifest;
use rampart_engine::load::{self, LoadLimits};
use rampart_engine::{EvalOptions, Evaluator, Inventory, KubeVersion, Subject};
use rampart_lang::compile::TestResource;
use serde_json::{Value as Json, json};
use std::path::Path;

/// The native findings and errors, in the bundle's JSON shape.
fn native(set: &PolicySet, version: KubeVersion, resource: &Manifest) -> (Json, Json) {
    let evaluator = Evaluator::new(
        set,
        EvalOptions {
            version,
            ..EvalOptions::default()
        },
    );
    let mut inventory = Inventory::new();
    if set.uses_inventory() {
        inventory.add(resource);
    }
    let evaluation = evaluator.evaluate(&Subject {
        resource,
        old_resource: None,
        inventory: Some(&inventory),
        keys: None,
    });
    let findings: Vec<Json> = evaluation
        .findings
        .iter()
        .map(|finding| {
            json!({
                "policy": finding.policy,
                "rule": finding.rule,
                "action": finding.action,
                "severity": finding.severity,
                "message": finding.message,
                "path": finding.pointer,
                "controls": set.policy(&finding.policy).map(|policy| policy.controls.clone()).unwrap_or_default(),
                "fix": finding.fix,
            })
        })
        .collect();
    let errors: Vec<Json> = evaluation
        .errors
        .iter()
        .map(|error| json!({"policy": error.policy, "message": error.message}))
        .collect();
    (Json::Array(findings), Json::Array(errors))
}

fn wasm(bundle: &mut Bundle, resource: &Manifest) -> (Json, Json) {
    let outcome = bundle.evaluate(resource.to_string().as_bytes()).unwrap();
    let findings = serde_json::to_value(&outcome.findings).unwrap();
    let errors: Vec<Json> = outcome
        .errors
        .iter()
        .map(|error| json!({"policy": error.policy, "message": error.message}))
        .collect();
    (findings, Json::Array(errors))
}

/// Compares every resource; returns how many had findings.
fn compare(
    set: &PolicySet,
    version: KubeVersion,
    bundle: &mut Bundle,
    resources: &[(String, Manifest)],
) -> usize {
    let mut with_findings = 0;
    for (name, resource) in resources {
        let expected = native(set, version, resource);
        let actual = wasm(bundle, resource);
        assert_eq!(
            serde_json::to_string_pretty(&expected.0).unwrap(),
            serde_json::to_string_pretty(&actual.0).unwrap(),
            "findings differ for {name}"
        );
        assert_eq!(expected.1, actual.1, "errors differ for {name}");
        if expected
            .0
            .as_array()
            .is_some_and(|findings| !findings.is_empty())
        {
            with_findings += 1;
        }
    }
    with_findings
}

fn test_resources(compilation: &rampart_lang::Compilation) -> Vec<(String, Manifest)> {
    let mut resources = Vec::new();
    for test in &compilation.tests {
        for (index, resource) in test.resources.iter().enumerate() {
            if let TestResource::Inline(json) = resource {
                resources.push((
                    format!("{}: test `{}` resource {index}", test.file, test.name),
                    json.clone(),
                ));
            }
        }
    }
    resources
}

#[test]
fn stdlib_test_resources_judge_the_same_natively_and_in_wasm() {
    let compilation =
        rampart_tests::compile_standard_library().unwrap_or_else(|error| panic!("{error}"));
    let resources = test_resources(&compilation);
    assert!(
        resources.len() > 50,
        "only {} inline test resources",
        resources.len()
    );
    for version in [None, KubeVersion::parse("v1.24")] {
        let bytes = rampart_bundle::build(&compilation.set, version).unwrap();
        let mut bundle = Bundle::load(&bytes).unwrap();
        let judged_as = version.unwrap_or(KubeVersion::LATEST);
        let with_findings = compare(&compilation.set, judged_as, &mut bundle, &resources);
        assert!(
            with_findings > 20,
            "only {with_findings} resources had findings"
        );
    }
}

#[test]
fn conformance_corpus_judges_the_same_natively_and_in_wasm() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance");
    if !root.is_dir() {
        eprintln!("skipped: {} is absent", root.display());
        return;
    }
    let compilation =
        rampart_tests::compile_standard_library().unwrap_or_else(|error| panic!("{error}"));
    let bytes = rampart_bundle::build(&compilation.set, None).unwrap();
    let mut bundle = Bundle::load(&bytes).unwrap();
    let mut files = Vec::new();
    rampart_tests::files_under(&root, &["yaml", "yml"], &mut files);
    let mut resources = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let outcome = load::load_str(&text, &LoadLimits::default());
        let mut errors = Vec::new();
        for resource in load::resources(&outcome.documents, &mut errors) {
            resources.push((
                format!("{}{}", file.display(), resource.pointer),
                resource.value.clone(),
            ));
        }
    }
    let with_findings = compare(
        &compilation.set,
        KubeVersion::LATEST,
        &mut bundle,
        &resources,
    );
    eprintln!(
        "{} files, {} resources, {with_findings} with findings: identical",
        files.len(),
        resources.len()
    );
}

fn generated() -> Vec<(String, Json)> {
    let mut resources = Vec::new();
    let security_contexts = [
        json!({}),
        json!({"privileged": true}),
        json!({"allowPrivilegeEscalation": false, "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]},
               "seccompProfile": {"type": "RuntimeDefault"}, "readOnlyRootFilesystem": true}),
        json!({"runAsUser": 0, "capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN"]}, "procMount": "Unmasked"}),
        json!({"seLinuxOptions": {"type": "spc_t"}, "appArmorProfile": {"type": "Unconfined"}}),
    ];
    for (index, context) in security_contexts.iter().enumerate() {
        let container = json!({
            "name": format!("c{index}"), "image": if index % 2 == 0 { "nginx:latest" } else { "registry.example/app@sha256:abc" },
            "securityContext": context,
            "ports": [{"containerPort": 80, "hostPort": 8080}],
            "resources": if index % 2 == 0 { json!({}) } else { json!({"limits": {"cpu": "1", "memory": "1Gi"}}) },
        });
        let pod_spec = json!({
            "hostNetwork": index == 1, "hostPID": index == 3,
            "volumes": [{"name": "host", "hostPath": {"path": "/var/run/docker.sock"}}],
            "containers": [container.clone()], "initContainers": [container],
        });
        resources.push((
            format!("generated pod {index}"),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("p{index}"), "namespace": "default",
                   "annotations": {"container.apparmor.security.beta.kubernetes.io/c0": "unconfined"}}, "spec": pod_spec}),
        ));
        for kind in ["Deployment", "StatefulSet", "DaemonSet", "Job"] {
            resources.push((
                format!("generated {kind} {index}"),
                json!({"apiVersion": if kind == "Job" { "batch/v1" } else { "apps/v1" }, "kind": kind,
                       "metadata": {"name": format!("w{index}")},
                       "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": pod_spec}}}),
            ));
        }
        resources.push((
            format!("generated CronJob {index}"),
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cron"},
                   "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": pod_spec}}}}}),
        ));
    }
    resources.push((
        "generated Service".to_owned(),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"type": "NodePort", "externalIPs": ["1.2.3.4"], "ports": [{"port": 80}]}}),
    ));
    resources
}

#[test]
fn generated_manifests_judge_the_same_natively_and_in_wasm() {
    let compilation =
        rampart_tests::compile_standard_library().unwrap_or_else(|error| panic!("{error}"));
    let bytes = rampart_bundle::build(&compilation.set, None).unwrap();
    let mut bundle = Bundle::load(&bytes).unwrap();
    let resources: Vec<(String, Manifest)> = generated()
        .into_iter()
        .map(|(name, resource)| (name, Manifest::from(resource)))
        .collect();
    let with_findings = compare(
        &compilation.set,
        KubeVersion::LATEST,
        &mut bundle,
        &resources,
    );
    assert!(with_findings > 10);

    // A `kind: List` of them all: the same findings, with `/items/N` before each path.
    let items: Vec<Manifest> = resources
        .iter()
        .map(|(_, resource)| resource.clone())
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    let outcome = bundle.evaluate(list.to_string().as_bytes()).unwrap();
    let mut expected = Vec::new();
    for (index, (_, resource)) in resources.iter().enumerate() {
        let (findings, _) = native(&compilation.set, KubeVersion::LATEST, resource);
        for mut finding in findings.as_array().cloned().unwrap_or_default() {
            let path = format!(
                "/items/{index}{}",
                finding["path"].as_str().unwrap_or_default()
            );
            finding["path"] = json!(path);
            if let Some(fix) = finding["fix"].as_array_mut() {
                for operation in fix {
                    let prefixed = format!(
                        "/items/{index}{}",
                        operation["path"].as_str().unwrap_or_default()
                    );
                    operation["path"] = json!(prefixed);
                }
            }
            expected.push(finding);
        }
    }
    assert_eq!(
        Json::Array(expected),
        serde_json::to_value(&outcome.findings).unwrap()
    );
    assert_eq!(outcome.resources, resources.len());
}
