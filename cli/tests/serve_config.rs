//! `rampart serve --config` as a process, over real TLS: the rollout of a
//! policy (`audit` records, `warn` warns, `deny` denies), exemptions,
//! exceptions with expiry, parameters, and the configuration reloaded (and
//! a broken one refused while the previous one keeps serving). Every wait is
//! bounded, so that a regression fails instead of hanging.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[path = "support/server_log.rs"]
mod server_log;
#[path = "support/tls.rs"]
mod tls;
use server_log::ServerLog;
use tls::{client_config, write_certificates};

/// Only catches a hang: every socket read and write gives up after this.
const PATIENCE: Duration = Duration::from_secs(20);

/// Three policies, each firing on a Pod that carries its label, and one
/// with a parameter.
const POLICIES: &str = r#"
policy site.latest {
  severity medium
  match pods
  deny resource.metadata.labels.latest == "yes"
    message "uses a latest tag"
}

policy site.probes {
  severity low
  match pods
  deny resource.metadata.labels.probes == "none"
    message "has no probes"
}

policy site.owner {
  severity low
  match pods
  deny resource.metadata.labels.owner == null
    message "has no owner label"
}

policy site.containers {
  severity low
  param most: int = 1
  match pods
  deny count(pod.containers) > params.most
    message "{count(pod.containers)} containers; at most {params.most}"
}
"#;

/// The rollout of the worked example in docs/webhook.md: `site.owner` in
/// audit, `site.probes` in warn, `site.latest` denies.
const CONFIG: &str = "\
policies: [policies/]
params:
  site.containers:
    most: 2
actions:
  site.owner: audit
  site.probes: warn
exceptions:
  - policy: site.latest
    namespace: legacy
    reason: old images until the migration (OPS-7)
    expires: 2999-12-31
  - policy: site.latest
    namespace: expired
    reason: this one is over
    expires: 2000-01-01
exemptions:
  namespaces: [kube-system]
  usernames: [\"system:serviceaccount:ci:*\"]
  runtimeClassNames: [kata]
";

/// A directory under the system temp directory, removed on drop.
struct TempDirectory {
    path: PathBuf,
}

impl TempDirectory {
    fn new() -> TempDirectory {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "rampart-serve-config-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(path.join("policies")).unwrap();
        TempDirectory { path }
    }
}

impl Drop for TempDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A running `rampart serve --config` on an ephemeral loopback port.
struct Serve {
    child: Child,
    address: SocketAddr,
    tls: Arc<ClientConfig>,
    stderr: ServerLog,
    directory: TempDirectory,
}

impl Serve {
    /// Writes the policies and `config`, starts the server with the audit
    /// log in `audit.jsonl`, and waits until it listens.
    fn start(config: &str) -> Serve {
        let directory = TempDirectory::new();
        let ca_pem = write_certificates(&directory.path);
        std::fs::write(directory.path.join("policies/site.rampart"), POLICIES).unwrap();
        std::fs::write(directory.path.join("rampart.yaml"), config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .arg("--tls-cert")
            .arg(directory.path.join("tls.crt"))
            .arg("--tls-key")
            .arg(directory.path.join("tls.key"))
            .arg("--config")
            .arg(directory.path.join("rampart.yaml"))
            .arg("--audit-log")
            .arg(directory.path.join("audit.jsonl"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = ServerLog::collect(&mut child);
        let mut serve = Serve {
            child,
            address: "127.0.0.1:1".parse().unwrap(),
            tls: client_config(&ca_pem),
            stderr,
            directory,
        };
        serve.address = serve.stderr.wait_for_address(&mut serve.child);
        serve
    }

    fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lines()
    }

    /// One request on a fresh TLS connection; the status and the body.
    fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let tcp = TcpStream::connect(self.address).expect("a connection (has the server exited?)");
        tcp.set_read_timeout(Some(PATIENCE)).unwrap();
        tcp.set_write_timeout(Some(PATIENCE)).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let connection = ClientConnection::new(Arc::clone(&self.tls), name).unwrap();
        let mut stream = StreamOwned::new(connection, tcp);
        let text = format!(
            "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(text.as_bytes()).unwrap();
        stream.flush().unwrap();
        let mut answer = Vec::new();
        // The server closes without a TLS close_notify at times; what was read counts.
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let code = answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map_or(String::new(), |(_, body)| body.to_owned());
        (code, body)
    }

    /// The `response` of the AdmissionReview answering `review`.
    fn validate(&self, review: &Value) -> Value {
        let (code, body) = self.request("POST", "/validate", &review.to_string());
        assert_eq!(code, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        answer["response"].clone()
    }

    fn metrics(&self) -> String {
        self.request("GET", "/metrics", "").1
    }

    /// The audit line of the request `uid`, waiting up to 30 s for the
    /// writer thread to write it.
    fn audit_line(&self, uid: &str) -> Value {
        let path = self.directory.path.join("audit.jsonl");
        for _ in 0..300 {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let found = text
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|line| line["uid"] == uid);
            if let Some(line) = found {
                return line;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no audit line for `{uid}`");
    }

    /// Waits up to 30 s (reloads are looked for every second) until
    /// `/readyz` satisfies `condition`; its last body.
    fn wait_for_readiness(&self, condition: impl Fn(&str) -> bool) -> String {
        let mut readiness = String::new();
        for _ in 0..300 {
            readiness = self.request("GET", "/readyz", "").1;
            if condition(&readiness) {
                return readiness;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "/readyz never became as expected: {readiness:?}; log: {:?}",
            self.stderr_lines()
        );
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a Pod of a review looks like.
struct Pod<'a> {
    uid: String,
    namespace: &'a str,
    user: &'a str,
    labels: Value,
    runtime_class: Option<&'a str>,
    containers: usize,
}

impl Pod<'_> {
    /// A Pod that every policy lets through, in namespace `shop`, by `alice`.
    fn clean(uid: &str) -> Pod<'static> {
        Pod {
            uid: uid.to_owned(),
            namespace: "shop",
            user: "alice",
            labels: json!({"owner": "team-a"}),
            runtime_class: None,
            containers: 1,
        }
    }

    fn review(&self) -> Value {
        let containers: Vec<Value> = (0..self.containers)
            .map(|index| json!({"name": format!("c{index}"), "image": "web:1"}))
            .collect();
        let mut spec = json!({"containers": containers});
        if let Some(class) = self.runtime_class {
            spec["runtimeClassName"] = json!(class);
        }
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": self.uid.as_str(),
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "namespace": self.namespace,
                "operation": "CREATE",
                "userInfo": {"username": self.user},
                "object": {
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "web", "labels": self.labels},
                    "spec": spec
                }
            }
        })
    }
}

#[test]
fn audit_records_warn_warns_and_deny_denies() {
    let serve = Serve::start(CONFIG);

    // Audit: allowed, the finding in auditAnnotations, the audit line and metrics.
    let mut pod = Pod::clean("audited");
    pod.labels = json!({});
    let answer = serve.validate(&pod.review());
    assert_eq!(answer["allowed"], json!(true), "{answer}");
    assert_eq!(answer.get("warnings"), None, "{answer}");
    assert_eq!(
        answer["auditAnnotations"],
        json!({"rampart-audit": "site.owner: has no owner label"})
    );
    let line = serve.audit_line("audited");
    assert_eq!(line["decision"], json!("allowed"));
    assert_eq!(
        line["policies"],
        json!([{"policy": "site.owner", "action": "audit", "message": "has no owner label"}])
    );

    // Warn: allowed, the message among the warnings.
    let mut pod = Pod::clean("warned");
    pod.labels = json!({"owner": "team-a", "probes": "none"});
    let answer = serve.validate(&pod.review());
    assert_eq!(answer["allowed"], json!(true), "{answer}");
    assert_eq!(answer["warnings"], json!(["site.probes: has no probes"]));
    assert_eq!(answer.get("auditAnnotations"), None, "{answer}");

    // Deny: denied with 403; the others still warn and record.
    let mut pod = Pod::clean("denied");
    pod.labels = json!({"latest": "yes", "probes": "none"});
    let answer = serve.validate(&pod.review());
    assert_eq!(answer["allowed"], json!(false), "{answer}");
    assert_eq!(answer["status"]["code"], json!(403));
    assert_eq!(
        answer["status"]["message"],
        json!("denied by rampart: site.latest: uses a latest tag")
    );
    assert_eq!(answer["warnings"], json!(["site.probes: has no probes"]));
    assert_eq!(
        answer["auditAnnotations"],
        json!({"rampart-audit": "site.owner: has no owner label"})
    );
    assert_eq!(serve.audit_line("denied")["decision"], json!("denied"));

    let metrics = serve.metrics();
    for series in [
        "rampart_policy_findings_total{policy=\"site.owner\",action=\"audit\"} 2",
        "rampart_policy_findings_total{policy=\"site.probes\",action=\"warn\"} 2",
        "rampart_policy_findings_total{policy=\"site.latest\",action=\"deny\"} 1",
    ] {
        assert!(metrics.contains(series), "{series} in {metrics}");
    }
}

#[test]
fn parameters_and_exceptions_come_from_the_configuration() {
    let serve = Serve::start(CONFIG);
    // The parameter is raised from 1 to 2.
    let mut pod = Pod::clean("two");
    pod.containers = 2;
    assert_eq!(serve.validate(&pod.review())["allowed"], json!(true));
    pod.uid = "three".to_owned();
    pod.containers = 3;
    let answer = serve.validate(&pod.review());
    assert_eq!(
        answer["status"]["message"],
        json!("denied by rampart: site.containers: 3 containers; at most 2")
    );
    // An exception in force covers its namespace; an expired one does not.
    let mut pod = Pod::clean("legacy");
    pod.namespace = "legacy";
    pod.labels = json!({"owner": "team-a", "latest": "yes"});
    assert_eq!(serve.validate(&pod.review())["allowed"], json!(true));
    pod.uid = "expired".to_owned();
    pod.namespace = "expired";
    assert_eq!(serve.validate(&pod.review())["allowed"], json!(false));
}

#[test]
fn exempt_requests_are_allowed_unjudged_and_the_audit_log_says_why() {
    let serve = Serve::start(CONFIG);
    let denied_labels = json!({"latest": "yes"});
    let cases = [
        (
            "namespace",
            "kube-system",
            "alice",
            None,
            "namespace `kube-system` is exempt",
        ),
        (
            "user",
            "shop",
            "system:serviceaccount:ci:deployer",
            None,
            "user `system:serviceaccount:ci:deployer` is exempt",
        ),
        (
            "runtime",
            "shop",
            "alice",
            Some("kata"),
            "runtime class `kata` is exempt",
        ),
    ];
    for (uid, namespace, user, runtime_class, why) in cases {
        let pod = Pod {
            uid: uid.to_owned(),
            namespace,
            user,
            labels: denied_labels.clone(),
            runtime_class,
            containers: 1,
        };
        let answer = serve.validate(&pod.review());
        assert_eq!(answer, json!({"uid": uid, "allowed": true}), "{why}");
        let line = serve.audit_line(uid);
        assert_eq!(line["exempt"], json!(why));
        assert_eq!(line["evaluated"], json!(false));
    }
    // Not exempt: judged.
    let mut pod = Pod::clean("judged");
    pod.labels = denied_labels;
    assert_eq!(serve.validate(&pod.review())["allowed"], json!(false));
    assert_eq!(serve.audit_line("judged").get("exempt"), None);
}

#[test]
fn the_configuration_is_reloaded_and_a_broken_one_keeps_the_previous_serving() {
    let serve = Serve::start(CONFIG);
    let mut pod = Pod::clean("before");
    pod.labels = json!({"probes": "none"});
    assert_eq!(serve.validate(&pod.review())["allowed"], json!(true));

    // The rollout's next step: site.probes from warn to deny.
    let config_path = serve.directory.path.join("rampart.yaml");
    std::fs::write(
        &config_path,
        CONFIG.replace("site.probes: warn", "site.probes: deny"),
    )
    .unwrap();
    let mut denied = false;
    for attempt in 0..300 {
        pod.uid = format!("after-{attempt}");
        if serve.validate(&pod.review())["allowed"] == json!(false) {
            denied = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        denied,
        "the new action never served: {:?}",
        serve.stderr_lines()
    );
    assert!(
        serve
            .stderr_lines()
            .iter()
            .any(|line| line.contains("policies reloaded")),
        "{:?}",
        serve.stderr_lines()
    );

    // A configuration naming a policy that does not run is refused as a whole.
    let broken = CONFIG
        .replace("site.probes: warn", "site.probes: audit")
        .replace("site.owner: audit", "site.nobody: audit");
    std::fs::write(&config_path, broken).unwrap();
    let readiness =
        serve.wait_for_readiness(|text| text.contains("configuration reload was refused"));
    assert!(readiness.starts_with("ok\n"), "{readiness}");
    assert!(readiness.contains("site.nobody"), "{readiness}");
    // The previous configuration keeps serving: site.probes still denies.
    pod.uid = "kept".to_owned();
    assert_eq!(serve.validate(&pod.review())["allowed"], json!(false));
    let metrics = serve.metrics();
    assert!(
        metrics.contains("rampart_policy_reloads_total{result=\"config_failure\"} 1"),
        "{metrics}"
    );
    assert!(
        serve
            .stderr_lines()
            .iter()
            .any(|line| line.contains("reload refused") && line.contains("site.nobody")),
        "{:?}",
        serve.stderr_lines()
    );

    // Repaired, it serves again and /readyz says only `ok`.
    std::fs::write(&config_path, CONFIG).unwrap();
    serve.wait_for_readiness(|text| text == "ok\n");
    pod.uid = "repaired".to_owned();
    assert_eq!(serve.validate(&pod.review())["allowed"], json!(true));
}

#[test]
fn a_broken_configuration_at_start_up_stops_the_server() {
    let directory = TempDirectory::new();
    write_certificates(&directory.path);
    std::fs::write(directory.path.join("policies/site.rampart"), POLICIES).unwrap();
    std::fs::write(
        directory.path.join("rampart.yaml"),
        "policies: [policies/]\nactions:\n  site.owner: sometimes\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("serve")
        .args(["--addr", "127.0.0.1:0"])
        .arg("--tls-cert")
        .arg(directory.path.join("tls.crt"))
        .arg("--tls-key")
        .arg(directory.path.join("tls.key"))
        .arg("--config")
        .arg(directory.path.join("rampart.yaml"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the configuration is refused"), "{stderr}");
    assert!(stderr.contains("rampart.yaml"), "{stderr}");
}
