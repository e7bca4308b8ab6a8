//! The pure handler, called directly: which requests are judged, how
//! failures are answered, and that no input makes it panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use rampart_engine::{EvalOptions, KubeVersion};
use rampart_server::{Decision, Endpoint, FailurePolicy, State, handle};
use serde_json::{Value as Json, json};
use support::{pod, review};

const UPDATE_POLICY: &str = r#"
policy test.locked {
  severity high
  match pods
  deny old_resource.metadata.labels.locked == "yes"
    message "the pod is locked"
}
"#;

fn state(failure_policy: FailurePolicy, step_budget: u64) -> State {
    let sources = [rampart_lang::Source {
        name: "test.rampart".to_owned(),
        text: format!("{}{UPDATE_POLICY}", support::POLICIES),
    }];
    let compilation = rampart_lang::compile(&sources);
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    State::new(
        compilation.set,
        EvalOptions {
            version: KubeVersion::LATEST,
            step_budget,
            ..EvalOptions::default()
        },
        failure_policy,
    )
}

fn answer(review: &Json, state: &State) -> (Json, Decision, bool) {
    let response = handle(Endpoint::Validate, review.to_string().as_bytes(), state);
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let body: Json = serde_json::from_slice(&response.body).unwrap();
    (
        body["response"].clone(),
        response.decision,
        response.record.evaluated,
    )
}

#[test]
fn delete_connect_and_subresources_are_allowed_without_evaluation() {
    let state = state(FailurePolicy::Fail, 1_000_000);
    let mut delete = review("uid-delete", "DELETE", Json::Null);
    delete["request"]["oldObject"] = pod(json!({}));
    let (response, decision, evaluated) = answer(&delete, &state);
    assert_eq!(
        (response["allowed"].clone(), decision, evaluated),
        (json!(true), Decision::Allowed, false)
    );

    let mut status = review("uid-status", "UPDATE", pod(json!({})));
    status["request"]["subResource"] = json!("status");
    let (response, _, evaluated) = answer(&status, &state);
    assert_eq!(
        (response["allowed"].clone(), evaluated),
        (json!(true), false)
    );

    let mut exec = review(
        "uid-exec",
        "CONNECT",
        json!({"apiVersion": "v1", "kind": "PodExecOptions"}),
    );
    exec["request"]["subResource"] = json!("exec");
    let (response, _, evaluated) = answer(&exec, &state);
    assert_eq!(
        (response["allowed"].clone(), evaluated),
        (json!(true), false)
    );

    let mut ephemeral = review("uid-ephemeral", "UPDATE", pod(json!({})));
    ephemeral["request"]["subResource"] = json!("ephemeralcontainers");
    let (response, _, evaluated) = answer(&ephemeral, &state);
    assert_eq!(
        (response["allowed"].clone(), evaluated),
        (json!(false), true)
    );
}

#[test]
fn update_passes_the_old_object() {
    let state = state(FailurePolicy::Fail, 1_000_000);
    let compliant = pod(json!({"runAsNonRoot": true, "readOnlyRootFilesystem": true}));
    let mut update = review("uid-update", "UPDATE", compliant.clone());
    let mut old = compliant;
    old["metadata"]["labels"] = json!({"locked": "yes"});
    update["request"]["oldObject"] = old;
    let (response, decision, _) = answer(&update, &state);
    assert_eq!(decision, Decision::Denied);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains("test.locked")
    );
}

#[test]
fn dry_run_is_evaluated_and_recorded_as_such() {
    let state = state(FailurePolicy::Fail, 1_000_000);
    let mut dry_run = review("uid-dry", "CREATE", pod(json!({})));
    dry_run["request"]["dryRun"] = json!(true);
    let response = handle(Endpoint::Validate, dry_run.to_string().as_bytes(), &state);
    assert_eq!(response.decision, Decision::Denied);
    assert!(response.record.dry_run && response.record.evaluated);
}

#[test]
fn an_exhausted_step_budget_answers_per_the_failure_policy() {
    let compliant = pod(json!({"runAsNonRoot": true, "readOnlyRootFilesystem": true}));
    let request = review("uid-budget", "CREATE", compliant);
    let (response, decision, _) = answer(&request, &state(FailurePolicy::Fail, 1));
    assert_eq!(decision, Decision::Error);
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 500);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains("budget"),
        "{response}"
    );

    let (response, decision, _) = answer(&request, &state(FailurePolicy::Ignore, 1));
    assert_eq!(decision, Decision::Error);
    assert_eq!(response["allowed"], true);
    assert!(
        response["warnings"][0]
            .as_str()
            .unwrap()
            .contains("could not be evaluated")
    );
}

#[test]
fn no_input_makes_the_handler_panic() {
    let state = state(FailurePolicy::Fail, 10_000);
    let valid = review("uid-fuzz", "CREATE", pod(json!({})))
        .to_string()
        .into_bytes();
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"AdmissionReview\"".to_vec(),
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":[]}"#.to_vec(),
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}}"#.to_vec(),
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"kind":"Pod","metadata":[],"spec":{"containers":{"a":1}}}}}"#.to_vec(),
        "[".repeat(100_000).into_bytes(),
    ];
    // Every prefix and a spread of single-byte corruptions of a valid review.
    for length in (0..valid.len()).step_by(7) {
        inputs.push(valid[..length].to_vec());
    }
    let mut seed: u32 = 0x9e37_79b9;
    for _ in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let mut corrupted = valid.clone();
        let position = seed as usize % corrupted.len();
        corrupted[position] = (seed >> 8) as u8;
        inputs.push(corrupted);
    }
    for input in &inputs {
        for endpoint in [Endpoint::Validate, Endpoint::Mutate] {
            let response = handle(endpoint, input, &state);
            assert!(response.status == 200 || response.status == 400);
            assert!(serde_json::from_slice::<Json>(&response.body).is_ok());
        }
    }
}
