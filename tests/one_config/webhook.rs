//! The webhook host: `rampart serve --config rampart.yaml` over real TLS,
//! one AdmissionReview (CREATE) per resource of the manifests, the answers
//! read back as decisions: a policy named in the denial is `deny`, in a
//! warning `warn`, in the audit annotations `audit`.

use super::{Decisions, hosts};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

#[path = "../../cli/tests/support/server_log.rs"]
mod server_log;
#[path = "../../cli/tests/support/tls.rs"]
mod tls;
use server_log::ServerLog;
use tls::{client_config, write_certificates};

/// A running server, killed when dropped.
struct Server {
    child: Child,
    address: SocketAddr,
    tls: Arc<ClientConfig>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(directory: &Path) -> Server {
        let ca = write_certificates(directory);
        let mut child = Command::new(hosts::binary())
            .current_dir(directory)
            .args(["serve", "--addr", "127.0.0.1:0", "--config", "rampart.yaml"])
            .args(["--tls-cert", "tls.crt", "--tls-key", "tls.key"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = ServerLog::collect(&mut child);
        let address = log.wait_for_address(&mut child);
        Server {
            child,
            address,
            tls: client_config(&ca),
        }
    }

    fn validate(&self, review: &serde_json::Value) -> serde_json::Value {
        let tcp = TcpStream::connect(self.address).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let connection = ClientConnection::new(Arc::clone(&self.tls), name).unwrap();
        let mut stream = StreamOwned::new(connection, tcp);
        let body = review.to_string();
        let request = format!(
            "POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        stream.flush().unwrap();
        let mut answer = Vec::new();
        // The server may close without a TLS close_notify: what was read counts.
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (_, body) = answer.split_once("\r\n\r\n").unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {answer}"))
    }
}

/// The resources of every manifest file, as JSON.
pub fn resources(directory: &Path) -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(directory.join("manifests"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let outcome = rampart_engine::load::load_str(&text, &Default::default());
        let mut errors = Vec::new();
        for resource in rampart_engine::load::resources(&outcome.documents, &mut errors) {
            found.push(serde_json::to_value(resource.value).unwrap());
        }
    }
    found
}

/// A CREATE AdmissionReview of `object`.
pub fn review(object: &serde_json::Value, index: usize) -> serde_json::Value {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("request-{index}"),
            "kind": {"group": group, "version": version, "kind": object["kind"]},
            "resource": {"group": group, "version": version, "resource": "things"},
            "namespace": object["metadata"]["namespace"],
            "name": object["metadata"]["name"],
            "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": object,
            "dryRun": false,
        }
    })
}

/// Decisions of the webhook; `policies` are the ids to look for in answers.
pub fn decisions(directory: &Path, policies: &[&str]) -> Decisions {
    let server = Server::start(directory);
    let mut decisions = Decisions::new();
    for (index, object) in resources(directory).iter().enumerate() {
        let answer = server.validate(&review(object, index));
        let response = &answer["response"];
        let found = named_in_answer(
            response["allowed"] == false,
            response["status"]["message"].as_str().unwrap_or_default(),
            &response["warnings"],
            &response["auditAnnotations"],
            policies,
        );
        if !found.is_empty() {
            decisions.entry(describe(object)).or_default().extend(found);
        }
    }
    decisions
}

/// `Kind namespace/name` of a resource.
pub fn describe(object: &serde_json::Value) -> String {
    format!(
        "{} {}/{}",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// The (policy, action) pairs an admission answer names: a policy in the
/// denial of a refused request is `deny`, in a warning `warn`, in the audit
/// annotations `audit`.
pub fn named_in_answer(
    refused: bool,
    denial: &str,
    warnings: &serde_json::Value,
    audits: &serde_json::Value,
    policies: &[&str],
) -> Vec<(String, String)> {
    let (warnings, audits) = (warnings.to_string(), audits.to_string());
    let mut found = Vec::new();
    for policy in policies {
        let named = format!("{policy}:");
        if refused && denial.contains(&named) {
            found.push((policy.to_string(), "deny".to_owned()));
        }
        if warnings.contains(&named) {
            found.push((policy.to_string(), "warn".to_owned()));
        }
        if audits.contains(policy) {
            found.push((policy.to_string(), "audit".to_owned()));
        }
    }
    found
}
