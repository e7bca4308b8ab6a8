//! The webhook under hostile or careless input, over real TLS on 127.0.0.1:
//! slow bodies, emptied policy files, sets that cannot be read back, and
//! objects too large to list every finding of.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod support;

use serde_json::{Value as Json, json};
use std::io::{Read, Write};
use std::time::Duration;
use support::{TestServer, eventually, pod, review};

fn metrics(server: &TestServer) -> String {
    server.request("GET", "/metrics", b"").1
}

fn root_pod_is_denied(server: &TestServer) -> bool {
    let (status, body) = server.review("/validate", &review("uid-root", "CREATE", pod(json!({}))));
    status == 200
        && body["response"]["allowed"] == false
        && body["response"]["status"]["code"] == 403
}

#[test]
fn a_body_that_does_not_arrive_is_answered_408_at_the_deadline() {
    let server = TestServer::start(|config| config.eval_timeout = Duration::from_millis(300));
    let mut stream = support::tls_connect(server.address, &server.ca_pem);
    stream
        .write_all(b"POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{")
        .unwrap();
    stream.flush().unwrap();
    // The server answers and closes; before the body timeout it waited forever
    // (the read gives up after 20 s, failing the test).
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("did not arrive before the deadline"),
        "{answer}"
    );
    eventually("the body error to be counted", || {
        metrics(&server).contains("rampart_connection_errors_total{stage=\"body\"} 1")
    });
    assert!(root_pod_is_denied(&server));
}

#[test]
fn an_emptied_policy_file_or_directory_keeps_the_previous_set() {
    let server = TestServer::start(|_| {});
    assert!(root_pod_is_denied(&server));

    std::fs::write(&server.policy_file, "").unwrap();
    eventually("the empty reload to be counted", || {
        metrics(&server).contains("rampart_policy_reloads_total{result=\"empty\"} 1")
    });
    assert!(
        root_pod_is_denied(&server),
        "the previous set must keep serving"
    );
    assert!(metrics(&server).contains("rampart_policies_loaded 3"));
    let (status, readiness) = server.request("GET", "/readyz", b"");
    assert_eq!(status, 200);
    assert!(
        readiness.contains("the last policy reload was refused") && readiness.contains("no policy"),
        "{readiness}"
    );

    // The directory emptied: the same.
    std::fs::remove_file(&server.policy_file).unwrap();
    eventually("the second empty reload to be counted", || {
        metrics(&server).contains("rampart_policy_reloads_total{result=\"empty\"} 2")
    });
    assert!(root_pod_is_denied(&server));

    // Policies again: served, and the readiness detail is gone.
    std::fs::write(&server.policy_file, support::POLICIES).unwrap();
    eventually("the reload to succeed", || {
        metrics(&server).contains("rampart_policy_reloads_total{result=\"success\"} 1")
    });
    assert_eq!(
        server.request("GET", "/readyz", b""),
        (200, "ok\n".to_owned())
    );
}

/// A policy whose condition is an `or` chain of `length` comparisons.
fn or_chain(length: usize) -> String {
    let comparisons: Vec<String> = (0..length)
        .map(|index| format!("resource.metadata.name == \"forbidden-{index}\""))
        .collect();
    format!(
        "policy test.names {{\n  severity low\n  match pods\n  deny {}\n    message \"forbidden name\"\n}}\n",
        comparisons.join(" or ")
    )
}

#[test]
fn a_set_the_evaluation_threads_cannot_read_never_answers_500() {
    let server = TestServer::start(|_| {});
    std::fs::write(&server.policy_file, or_chain(60)).unwrap();
    eventually("the reload to end", || {
        let text = metrics(&server);
        !text.contains("rampart_policy_reloads_total{result=\"success\"} 0")
            || !text.contains("rampart_policy_reloads_total{result=\"failure\"} 0")
    });
    // Either the set was refused and the old one serves (a 403 for the root
    // pod), or it can be read and judges (an allow): never an error answer.
    let (status, body) = server.review("/validate", &review("uid-chain", "CREATE", pod(json!({}))));
    assert_eq!(status, 200);
    assert_ne!(body["response"]["status"]["code"], 500, "{body}");
    let mut named = pod(json!({}));
    named["metadata"]["name"] = json!("forbidden-59");
    let (_, body) = server.review("/validate", &review("uid-chain-2", "CREATE", named));
    assert_eq!(body["response"]["allowed"], false, "{body}");
    assert_ne!(body["response"]["status"]["code"], 500, "{body}");
}

#[test]
fn a_thousand_container_denial_is_answered_and_logged_within_the_limits() {
    let server = TestServer::start(|config| config.max_body_bytes = 1024 * 1024);
    let containers: Vec<Json> = (0..1000)
        .map(|index| json!({"name": format!("app-{index}"), "image": "web:1"}))
        .collect();
    let crowded = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crowded"},
        "spec": {"containers": containers}
    });
    let (status, body) = server.request(
        "POST",
        "/validate",
        review("uid-crowded", "CREATE", crowded)
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200);
    assert!(body.len() < 32 * 1024, "the answer is {} bytes", body.len());
    assert!(body.contains("more findings"), "{body}");
    let audit_path = server.directory.path.join("audit.jsonl");
    eventually("the audit line to be written", || {
        std::fs::read_to_string(&audit_path).is_ok_and(|log| log.ends_with('\n'))
    });
    let log = std::fs::read_to_string(&audit_path).unwrap();
    assert!(
        log.len() < 32 * 1024,
        "the audit line is {} bytes",
        log.len()
    );
    let line: Json = serde_json::from_str(log.trim_end()).unwrap();
    assert_eq!(line["findings_omitted"], 2900);
    assert!(metrics(&server).contains("rampart_admission_answers_summarised_total 1"));
}

#[test]
fn forged_kinds_are_counted_as_other() {
    let server = TestServer::start(|_| {});
    for index in 0..20 {
        let mut forged = pod(json!({}));
        forged["kind"] = json!(format!("Forged{index}"));
        server.review("/validate", &review("uid-forged", "CREATE", forged));
    }
    let text = metrics(&server);
    assert!(
        text.contains("rampart_admission_requests_total{operation=\"CREATE\",kind=\"other\",decision=\"allowed\"} 20"),
        "{text}"
    );
    assert!(!text.contains("Forged"), "{text}");
}

#[test]
fn a_silent_or_idle_connection_is_closed_after_the_handshake_timeout() {
    let server = TestServer::start(|config| config.handshake_timeout = Duration::from_millis(300));
    // Silent before the handshake: closed (the read gives up after 20 s, failing the test).
    let mut tcp = std::net::TcpStream::connect(server.address).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buffer = [0_u8; 16];
    assert_eq!(tcp.read(&mut buffer).unwrap(), 0);

    // Silent after the handshake, and idle after a kept-alive request: closed.
    for requests in [0, 1] {
        let mut stream = support::tls_connect(server.address, &server.ca_pem);
        for _ in 0..requests {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
                .unwrap();
            stream.flush().unwrap();
        }
        let mut answer = Vec::new();
        let read = stream.read_to_end(&mut answer);
        let timed_out = read.as_ref().is_err_and(|error| {
            matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )
        });
        assert!(
            !timed_out,
            "the connection stayed open ({requests} requests)"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert_eq!(answer.matches("HTTP/1.1 200").count(), requests, "{answer}");
    }
    eventually("the closes to be counted", || {
        !metrics(&server).contains("rampart_connection_errors_total{stage=\"tls\"} 0")
    });
}

#[test]
fn connections_past_the_limit_wait_for_one_to_close() {
    let server = TestServer::start(|config| config.max_connections = 1);
    // A silent connection holds the only slot (until the handshake timeout, 10 s).
    let silent = std::net::TcpStream::connect(server.address).unwrap();
    let address = server.address;
    let ca_pem = server.ca_pem.clone();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(support::request(address, &ca_pem, "GET", "/healthz", b""));
    });
    // Not served while the slot is taken (a broken limit answers in milliseconds).
    assert!(
        receiver.recv_timeout(Duration::from_millis(500)).is_err(),
        "served past the connection limit"
    );
    drop(silent);
    let answer = receiver
        .recv_timeout(Duration::from_secs(20))
        .expect("served once the slot is free");
    assert_eq!(answer.unwrap(), (200, "ok\n".to_owned()));
}
