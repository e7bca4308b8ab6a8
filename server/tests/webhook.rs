//! The webhook over real TLS on 127.0.0.1: verdicts, patches, errors,
//! operations endpoints, hot reload and shutdown.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use base64::Engine;
use serde_json::{Value as Json, json};
use std::time::Duration;
use support::{TestServer, eventually, pod, review};

const COMPLIANT: fn() -> Json = || json!({"runAsNonRoot": true, "readOnlyRootFilesystem": true});

#[test]
fn a_compliant_pod_is_allowed_and_the_uid_echoed() {
    let server = TestServer::start(|_| {});
    let (status, body) = server.review(
        "/validate",
        &review("uid-allowed", "CREATE", pod(COMPLIANT())),
    );
    assert_eq!(status, 200);
    assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(body["kind"], "AdmissionReview");
    assert_eq!(body["response"]["uid"], "uid-allowed");
    assert_eq!(body["response"]["allowed"], true);
    assert!(body["response"].get("warnings").is_none(), "{body}");
}

#[test]
fn a_denied_pod_names_each_policy_and_carries_warnings() {
    let server = TestServer::start(|_| {});
    let (status, body) =
        server.review("/validate", &review("uid-denied", "CREATE", pod(json!({}))));
    assert_eq!(status, 200);
    let response = &body["response"];
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("test.non_root: container app may run as root"),
        "{message}"
    );
    let warnings = response["warnings"].as_array().unwrap();
    assert_eq!(
        warnings,
        &[json!(
            "test.read_only: container app has a writable root filesystem"
        )]
    );
}

#[test]
fn warn_findings_alone_allow_with_warnings() {
    let server = TestServer::start(|_| {});
    let (_, body) = server.review(
        "/validate",
        &review("uid-warned", "CREATE", pod(json!({"runAsNonRoot": true}))),
    );
    assert_eq!(body["response"]["allowed"], true);
    assert_eq!(body["response"]["warnings"].as_array().unwrap().len(), 1);
}

#[test]
fn pod_templates_of_workloads_are_judged() {
    let server = TestServer::start(|_| {});
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:1"}]}}}
    });
    let (_, body) = server.review("/validate", &review("uid-deployment", "CREATE", deployment));
    assert_eq!(body["response"]["allowed"], false, "{body}");
}

#[test]
fn mutate_returns_a_combined_json_patch_without_conflicts() {
    let server = TestServer::start(|_| {});
    // Both fixes would create the missing securityContext: only the first is taken.
    let (status, body) = server.review("/mutate", &review("uid-mutate", "CREATE", pod(Json::Null)));
    assert_eq!(status, 200);
    let response = &body["response"];
    assert_eq!(response["allowed"], true);
    assert_eq!(response["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().unwrap())
        .unwrap();
    let patch: Json = serde_json::from_slice(&patch).unwrap();
    assert_eq!(
        patch,
        json!([{"op": "add", "path": "/spec/containers/0/securityContext", "value": {"runAsNonRoot": true}}])
    );
    let warnings = response["warnings"].to_string();
    assert!(
        warnings.contains("test.read_only: fix not applied"),
        "{warnings}"
    );

    // With the parent present both fixes apply side by side.
    let (_, body) = server.review("/mutate", &review("uid-mutate-2", "CREATE", pod(json!({}))));
    let patch = base64::engine::general_purpose::STANDARD
        .decode(body["response"]["patch"].as_str().unwrap())
        .unwrap();
    let patch: Json = serde_json::from_slice(&patch).unwrap();
    assert_eq!(patch.as_array().unwrap().len(), 2, "{patch}");
}

#[test]
fn mutate_is_not_served_unless_enabled() {
    let server = TestServer::start(|config| config.mutate = false);
    let (status, _) = server.review("/mutate", &review("uid", "CREATE", pod(json!({}))));
    assert_eq!(status, 404);
}

#[test]
fn malformed_and_foreign_bodies_are_400_with_a_message() {
    let server = TestServer::start(|_| {});
    let (status, body) = server.request("POST", "/validate", b"{not json");
    assert_eq!(status, 400);
    assert!(body.contains("not JSON"), "{body}");
    let mut wrong = review("uid", "CREATE", pod(json!({})));
    wrong["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (status, body) = server.review("/validate", &wrong);
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("v1beta1"),
        "{body}"
    );
    let (status, _) = server.review("/validate", &json!({"apiVersion": "v1", "kind": "Pod"}));
    assert_eq!(status, 400);
    let (status, _) = server.request("GET", "/validate", b"");
    assert_eq!(status, 405);
    let (status, _) = server.request("GET", "/nowhere", b"");
    assert_eq!(status, 404);
}

#[test]
fn an_oversized_body_is_413() {
    let server = TestServer::start(|config| config.max_body_bytes = 1024);
    let mut big = pod(json!({}));
    big["metadata"]["annotations"] = json!({"padding": "x".repeat(4096)});
    let (status, body) = server.review("/validate", &review("uid-big", "CREATE", big));
    assert_eq!(status, 413);
    assert!(body["error"].as_str().unwrap().contains("1024"), "{body}");
}

#[test]
fn health_readiness_metrics_and_the_audit_log() {
    let server = TestServer::start(|_| {});
    assert_eq!(
        server.request("GET", "/healthz", b""),
        (200, "ok\n".to_owned())
    );
    assert_eq!(
        server.request("GET", "/readyz", b""),
        (200, "ok\n".to_owned())
    );
    server.review(
        "/validate",
        &review("uid-metrics", "CREATE", pod(json!({}))),
    );
    let mut dry_run = review("uid-dry", "CREATE", pod(COMPLIANT()));
    dry_run["request"]["dryRun"] = json!(true);
    server.review("/validate", &dry_run);
    let (status, metrics) = server.request("GET", "/metrics", b"");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("rampart_admission_requests_total{operation=\"CREATE\",kind=\"Pod\",decision=\"denied\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rampart_admission_evaluation_seconds_count 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rampart_policy_reloads_total{result=\"success\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("rampart_policies_loaded 3"), "{metrics}");

    // Lines are written by the audit log's own thread.
    let audit_path = server.directory.path.join("audit.jsonl");
    eventually("both audit lines to be written", || {
        std::fs::read_to_string(&audit_path).is_ok_and(|log| log.lines().count() >= 2)
    });
    let log = std::fs::read_to_string(&audit_path).unwrap();
    let lines: Vec<Json> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    let denied = &lines[0];
    assert_eq!(denied["uid"], "uid-metrics");
    assert_eq!(denied["user"], "alice");
    assert_eq!(denied["operation"], "CREATE");
    assert_eq!(denied["kind"], "Pod");
    assert_eq!(denied["namespace"], "shop");
    assert_eq!(denied["name"], "web");
    assert_eq!(denied["decision"], "denied");
    assert_eq!(denied["dry_run"], false);
    assert_eq!(denied["policies"][0]["policy"], "test.non_root");
    assert!(denied["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(denied["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(lines[1]["dry_run"], true);
    assert_eq!(lines[1]["decision"], "allowed");
}

#[test]
fn policies_reload_and_a_broken_edit_keeps_the_old_set() {
    let server = TestServer::start(|_| {});
    let root_pod = || {
        review(
            "uid-reload",
            "CREATE",
            pod(json!({"readOnlyRootFilesystem": true})),
        )
    };
    let allowed = |server: &TestServer| {
        server.review("/validate", &root_pod()).1["response"]["allowed"] == true
    };
    assert!(!allowed(&server));

    // A new policy set that does not care about root.
    std::fs::write(
        &server.policy_file,
        "policy test.labels {\n  severity low\n  match pods\n  deny resource.metadata.labels.forbidden == \"yes\"\n    message \"forbidden\"\n}\n",
    )
    .unwrap();
    eventually("the new policy to serve", || allowed(&server));

    // A broken edit: the previous set keeps serving, and the failure is counted.
    std::fs::write(&server.policy_file, "policy test.broken {{{").unwrap();
    eventually("the failed reload to be counted", || {
        server
            .request("GET", "/metrics", b"")
            .1
            .contains("rampart_policy_reloads_total{result=\"failure\"} 1")
    });
    assert!(allowed(&server));
    let mut labelled = pod(json!({}));
    labelled["metadata"]["labels"] = json!({"forbidden": "yes"});
    let (_, body) = server.review("/validate", &review("uid-labelled", "CREATE", labelled));
    assert_eq!(body["response"]["allowed"], false, "{body}");
}

#[test]
fn a_renewed_certificate_is_served_without_a_restart() {
    let server = TestServer::start(|_| {});
    let renewed = support::TempDirectory::new("renewed");
    let certificates = support::write_certificates(&renewed.path);
    // The old CA stops working once the new certificate (from a new CA) is in place.
    std::fs::copy(&certificates.files.key, &server.tls.key).unwrap();
    std::fs::copy(&certificates.files.certificate, &server.tls.certificate).unwrap();
    eventually("the renewed certificate to be served", || {
        support::request(server.address, &certificates.ca_pem, "GET", "/healthz", b"").is_ok()
    });
    assert!(support::request(server.address, &server.ca_pem, "GET", "/healthz", b"").is_err());
}

#[test]
fn shutdown_drains_and_returns_promptly() {
    let server = TestServer::start(|_| {});
    server.request("GET", "/healthz", b"");
    let took = server.stop();
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
}

#[test]
fn a_missed_deadline_is_answered_per_the_failure_policy() {
    // A zero deadline has always passed by the time the answer is awaited.
    let server = TestServer::start(|config| config.eval_timeout = Duration::ZERO);
    let (status, body) =
        server.review("/validate", &review("uid-late", "CREATE", pod(COMPLIANT())));
    assert_eq!(status, 200);
    assert_eq!(body["response"]["uid"], "uid-late");
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["status"]["code"], 500);
    assert!(
        body["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("deadline")
    );
    let metrics = server.request("GET", "/metrics", b"").1;
    assert!(metrics.contains("decision=\"error\"} 1"), "{metrics}");

    let server = TestServer::start(|config| {
        config.eval_timeout = Duration::ZERO;
        config.failure_policy = rampart_server::FailurePolicy::Ignore;
    });
    let (_, body) = server.review("/validate", &review("uid-late", "CREATE", pod(COMPLIANT())));
    assert_eq!(body["response"]["allowed"], true);
    assert!(
        body["response"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("deadline")
    );
}
