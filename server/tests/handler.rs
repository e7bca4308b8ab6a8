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

#[test]
fn a_create_or_update_without_an_object_is_not_allowed_unjudged() {
    for operation in ["CREATE", "UPDATE"] {
        for object in [Json::Null, json!("a string"), json!([1, 2])] {
            let request = review("uid-no-object", operation, object.clone());
            let (response, decision, evaluated) =
                answer(&request, &state(FailurePolicy::Fail, 1_000_000));
            assert_eq!(decision, Decision::Error, "{operation} {object}");
            assert!(!evaluated);
            assert_eq!(
                response["allowed"], false,
                "{operation} {object}: {response}"
            );
            assert_eq!(response["status"]["code"], 500);
            assert!(
                response["status"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("no object to judge"),
                "{response}"
            );
            let (response, decision, _) =
                answer(&request, &state(FailurePolicy::Ignore, 1_000_000));
            assert_eq!(decision, Decision::Error);
            assert_eq!(response["allowed"], true);
            assert!(
                response["warnings"][0]
                    .as_str()
                    .unwrap()
                    .contains("no object to judge")
            );
        }
    }
}

/// A pod with `count` containers, each with `security_context`.
fn crowded_pod(count: usize, security_context: &Json) -> Json {
    let containers: Vec<Json> = (0..count)
        .map(|index| {
            json!({
                "name": format!("container-{index}"),
                "image": "registry.example.com/web:1.0",
                "securityContext": security_context,
            })
        })
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "crowded"},
        "spec": {"containers": containers}
    })
}

/// The answer to a CREATE of a pod with `count` containers, which must be
/// summarised and smaller than `limit` bytes.
fn crowded_answer(
    endpoint: Endpoint,
    count: usize,
    limit: usize,
) -> (rampart_server::admission::Response, Json) {
    let state = state(FailurePolicy::Fail, 100_000_000);
    let request = review("uid-crowded", "CREATE", crowded_pod(count, &json!({})));
    let response = handle(endpoint, request.to_string().as_bytes(), &state);
    assert!(response.summarised);
    assert!(
        response.body.len() < limit,
        "the answer is {} bytes",
        response.body.len()
    );
    let body = serde_json::from_slice(&response.body).unwrap();
    (response, body)
}

#[test]
fn a_pod_with_a_thousand_containers_gets_a_bounded_answer_and_audit_line() {
    // 1,000 denials, 1,000 writable root filesystems, 1,000 missing probes.
    let (response, body) = crowded_answer(Endpoint::Validate, 1000, 32 * 1024);
    assert_eq!(response.decision, Decision::Denied);
    let message = body["response"]["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "denied by rampart: test.non_root: container container-0 may run as root; "
        ),
        "{message}"
    );
    assert!(message.ends_with("; … and 980 more findings"), "{message}");
    let warnings = body["response"]["warnings"].as_array().unwrap();
    assert!(warnings.len() <= 64);
    let characters: usize = warnings
        .iter()
        .map(|warning| warning.as_str().unwrap().chars().count())
        .sum();
    assert!(characters <= 4096, "{characters}");
    // Both warning policies are named, though one has a thousand warnings before the other's.
    for policy in ["test.read_only: ", "test.probes: "] {
        assert!(
            warnings
                .iter()
                .any(|warning| warning.as_str().unwrap().starts_with(policy)),
            "{policy} {warnings:?}"
        );
    }
    assert!(
        warnings
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .ends_with("more warnings"),
        "{warnings:?}"
    );

    let record = &response.record;
    assert_eq!(record.policies.len(), 100);
    assert_eq!(record.findings_omitted, 2900);
    let line = serde_json::to_vec(record).unwrap();
    assert!(
        line.len() < 32 * 1024,
        "the audit line is {} bytes",
        line.len()
    );
}

#[test]
fn a_mutation_of_many_containers_has_a_bounded_patch() {
    let (response, body) = crowded_answer(Endpoint::Mutate, 4000, 512 * 1024);
    assert_eq!(response.decision, Decision::Allowed);
    assert_eq!(body["response"]["patchType"], "JSONPatch");
    let warning = body["response"]["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("more findings not applied: the patch reached its size limit"),
        "{warning}"
    );
}

/// A pod whose object nests `depth` levels deep, the object itself counting as one.
fn nested_pod(depth: usize) -> Json {
    // The object and `spec` are two levels; the rest are arrays.
    let arrays = depth - 2;
    let mut nested = json!([]);
    for _ in 1..arrays {
        nested = json!([nested]);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "deep"},
        "spec": {"containers": [], "nested": nested}
    })
}

#[test]
fn an_object_nested_deeper_than_the_command_line_loads_is_an_error_answer() {
    use rampart_engine::limits::MAX_DEPTH;
    let text = |depth: usize| review("uid-deep", "CREATE", nested_pod(depth)).to_string();

    // As deep as a manifest file may nest: judged as usual.
    let failing = state(FailurePolicy::Fail, 1_000_000);
    let response = handle(Endpoint::Validate, text(MAX_DEPTH).as_bytes(), &failing);
    assert_eq!(response.decision, Decision::Allowed);
    assert!(response.record.evaluated);
    let manifest = nested_pod(MAX_DEPTH).to_string();
    let limits = rampart_engine::limits::LoadLimits::default();
    assert!(rampart_engine::limits::read_json_manifest(manifest.as_bytes(), &limits).is_ok());

    // One level more: the command line refuses it, the webhook answers per the failure policy.
    let manifest = nested_pod(MAX_DEPTH + 1).to_string();
    assert!(rampart_engine::limits::read_json_manifest(manifest.as_bytes(), &limits).is_err());
    for (failure_policy, allowed) in [(FailurePolicy::Fail, false), (FailurePolicy::Ignore, true)] {
        let state = state(failure_policy, 1_000_000);
        let response = handle(Endpoint::Validate, text(MAX_DEPTH + 1).as_bytes(), &state);
        assert_eq!(response.status, 200);
        assert_eq!(response.decision, Decision::Error);
        assert!(!response.record.evaluated);
        assert_eq!(response.record.uid, "uid-deep");
        let body: Json = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["response"]["uid"], "uid-deep");
        assert_eq!(body["response"]["allowed"], allowed, "{body}");
        assert!(
            body.to_string()
                .contains("the object cannot be judged: nesting deeper than 256 levels, the limit"),
            "{body}"
        );
        let response = handle(Endpoint::Mutate, text(MAX_DEPTH + 1).as_bytes(), &state);
        assert_eq!(response.decision, Decision::Error);
    }

    // Far deeper than any JSON library's recursion limit: the same answer.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let body = format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"u","operation":"CREATE","kind":{{"group":"","version":"v1","kind":"Pod"}},"object":{{"kind":"Pod","spec":{deep}}}}}}}"#
    );
    let response = handle(Endpoint::Validate, body.as_bytes(), &failing);
    assert_eq!(response.decision, Decision::Error);
    assert_eq!(response.status, 200);
}

#[test]
fn an_object_with_a_duplicate_key_is_an_error_answer_as_the_command_line_refuses_it() {
    let body = review(
        "uid-duplicate",
        "CREATE",
        pod(json!({"runAsNonRoot": true})),
    )
    .to_string()
    .replacen("\"metadata\":{", "\"metadata\":{\"name\":\"first\",", 1);
    assert!(body.contains("\"name\":\"first\",\"name\""), "{body}");
    let response = handle(
        Endpoint::Validate,
        body.as_bytes(),
        &state(FailurePolicy::Fail, 1_000_000),
    );
    assert_eq!(response.decision, Decision::Error);
    let text = String::from_utf8_lossy(&response.body);
    assert!(text.contains("duplicate key `name`"), "{text}");
}
