//! `rampart serve` as a process: a client that goes away at any stage of a
//! connection, or an audit-log reader that exits, must not end it. Every
//! wait is bounded, so that a regression fails instead of hanging.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
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

const POLICY: &str = r#"
policy test.non_root {
  severity high
  match pods
  for c in pod.containers {
    deny c.securityContext.runAsNonRoot != true
      message "container {c.name} may run as root"
  }
}
"#;

/// A directory under the system temp directory, removed on drop.
struct TempDirectory {
    path: PathBuf,
}

impl TempDirectory {
    fn new() -> TempDirectory {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "rampart-serve-hardening-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDirectory { path }
    }
}

impl Drop for TempDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A running `rampart serve` on an ephemeral loopback port.
struct Serve {
    child: Child,
    address: SocketAddr,
    tls: Arc<ClientConfig>,
    stderr: ServerLog,
    directory: TempDirectory,
}

impl Serve {
    /// Starts the server with `--audit-log -` (standard output piped) and
    /// waits until it listens.
    fn start() -> Serve {
        Serve::start_with_audit_log("-")
    }

    /// Starts the server with `--audit-log audit_log` and waits until it listens.
    fn start_with_audit_log(audit_log: &str) -> Serve {
        Serve::start_with(&["--audit-log", audit_log])
    }

    /// Starts the server with `--policy` the test policy, and `arguments`,
    /// and waits until it listens.
    fn start_with(arguments: &[&str]) -> Serve {
        let directory = TempDirectory::new();
        let ca_pem = write_certificates(&directory.path);
        std::fs::write(directory.path.join("policy.rampart"), POLICY).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .arg("--tls-cert")
            .arg(directory.path.join("tls.crt"))
            .arg("--tls-key")
            .arg(directory.path.join("tls.key"))
            .arg("--policy")
            .arg(directory.path.join("policy.rampart"))
            .args(arguments)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
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

    /// The standard output the audit log goes to (to close it, drop it).
    fn take_stdout(&mut self) -> ChildStdout {
        self.child.stdout.take().unwrap()
    }

    fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lines()
    }

    /// Asserts the process runs and answers a health check and a review.
    fn assert_serving(&mut self, after: &str) {
        let status = self.child.try_wait().unwrap();
        assert!(
            status.is_none(),
            "the server exited ({status:?}) after {after}; its log: {:?}",
            self.stderr_lines()
        );
        let (code, body) = self.request("GET", "/healthz", "");
        assert_eq!((code, body.as_str()), (200, "ok\n"), "after {after}");
        let (code, body) = self.request("POST", "/validate", &root_pod_review());
        assert_eq!(code, 200, "after {after}: {body}");
        assert!(body.contains("\"allowed\":false"), "after {after}: {body}");
    }

    fn tcp(&self) -> TcpStream {
        let tcp = TcpStream::connect(self.address).expect("a connection (has the server exited?)");
        tcp.set_read_timeout(Some(PATIENCE)).unwrap();
        tcp.set_write_timeout(Some(PATIENCE)).unwrap();
        tcp
    }

    /// A connection with the TLS handshake done.
    fn tls(&self) -> StreamOwned<ClientConnection, TcpStream> {
        let name = ServerName::try_from("localhost").unwrap();
        let connection = ClientConnection::new(Arc::clone(&self.tls), name).unwrap();
        let mut stream = StreamOwned::new(connection, self.tcp());
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock).unwrap();
        }
        stream
    }

    /// One request on a fresh connection; the status and the body.
    fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut stream = self.tls();
        stream
            .write_all(request_text(method, path, body, "close").as_bytes())
            .unwrap();
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

    fn metrics(&self) -> String {
        self.request("GET", "/metrics", "").1
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request_text(method: &str, path: &str, body: &str, connection: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: {connection}\r\n\r\n{body}",
        body.len()
    )
}

/// A review of a pod with `containers` containers that may run as root (denied).
fn crowded_review(containers: usize) -> String {
    let containers: Vec<serde_json::Value> = (0..containers)
        .map(|index| serde_json::json!({"name": format!("app-{index}"), "image": "web:1"}))
        .collect();
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "uid-root",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                "spec": {"containers": containers}
            }
        }
    })
    .to_string()
}

fn root_pod_review() -> String {
    crowded_review(1)
}

/// Closes `tcp` at once, with a reset when unread data is pending: the
/// harshest way a peer goes away.
fn abandon(tcp: &TcpStream) {
    let _ = tcp.shutdown(Shutdown::Both);
}

/// The first `length` bytes a TLS client sends (part of its ClientHello).
fn client_hello_prefix(serve: &Serve, length: usize) -> Vec<u8> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut connection = ClientConnection::new(Arc::clone(&serve.tls), name).unwrap();
    let mut hello = Vec::new();
    connection.write_tls(&mut hello).unwrap();
    hello.truncate(length);
    hello
}

#[test]
fn a_peer_that_goes_away_at_any_stage_does_not_stop_the_server() {
    let mut serve = Serve::start();
    serve.assert_serving("start-up");
    // Several rounds: the write that meets the closed peer is not always the first.
    for round in 0..3 {
        let tcp = serve.tcp();
        drop(tcp);
        serve.assert_serving(&format!("a close after TCP connect (round {round})"));

        let mut tcp = serve.tcp();
        tcp.write_all(&client_hello_prefix(&serve, 40)).unwrap();
        abandon(&tcp);
        serve.assert_serving(&format!("a close mid TLS handshake (round {round})"));

        let stream = serve.tls();
        abandon(&stream.sock);
        serve.assert_serving(&format!("a close after the TLS handshake (round {round})"));

        let mut stream = serve.tls();
        stream
            .write_all(b"POST /validate HTTP/1.1\r\nhost: loc")
            .unwrap();
        stream.flush().unwrap();
        abandon(&stream.sock);
        serve.assert_serving(&format!("a close mid headers (round {round})"));

        let mut stream = serve.tls();
        let review = crowded_review(50);
        let text = request_text("POST", "/validate", &review, "keep-alive");
        stream
            .write_all(&text.as_bytes()[..text.len() - 200])
            .unwrap();
        stream.flush().unwrap();
        abandon(&stream.sock);
        serve.assert_serving(&format!("a close mid body (round {round})"));

        // Requests sent, answers never read: the server writes into a reset connection.
        let mut stream = serve.tls();
        let review = crowded_review(200);
        for _ in 0..4 {
            let text = request_text("POST", "/validate", &review, "keep-alive");
            stream.write_all(text.as_bytes()).unwrap();
        }
        stream.flush().unwrap();
        abandon(&stream.sock);
        serve.assert_serving(&format!(
            "a close after sending requests without reading the answers (round {round})"
        ));
    }
    let metrics = serve.metrics();
    assert!(
        metrics.contains("rampart_connection_errors_total{stage=\"tls\"}"),
        "{metrics}"
    );
    let counted: u64 = metrics
        .lines()
        .filter(|line| line.starts_with("rampart_connection_errors_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(
        counted >= 3,
        "connection errors counted: {counted}\n{metrics}"
    );
    // The reader of the server's standard error may lag behind the server.
    let logged = (0..100).any(|_| {
        let found = serve
            .stderr_lines()
            .iter()
            .any(|line| line.contains("connection error ("));
        if !found {
            std::thread::sleep(Duration::from_millis(100));
        }
        found
    });
    assert!(logged, "{:?}", serve.stderr_lines());
}

#[test]
fn an_audit_log_reader_that_exits_does_not_stop_the_server() {
    let mut serve = Serve::start();
    drop(serve.take_stdout());
    assert_audit_failures_logged_once(&mut serve, "the audit log's reader exited");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_under_the_audit_log_does_not_stop_the_server() {
    // Every write to /dev/full fails with "no space left on device".
    let mut serve = Serve::start_with_audit_log("/dev/full");
    assert_audit_failures_logged_once(&mut serve, "the audit log's disk is full");
}

/// Three reviews are answered, at least three failed audit writes are
/// counted, and the failure is logged once.
fn assert_audit_failures_logged_once(serve: &mut Serve, after: &str) {
    for _ in 0..3 {
        serve.assert_serving(after);
    }
    let failures = (0..100).find_map(|_| {
        let metrics = serve.metrics();
        let line = metrics
            .lines()
            .find(|line| line.starts_with("rampart_audit_write_failures_total "))?;
        let count: u64 = line.rsplit(' ').next()?.parse().ok()?;
        if count >= 3 {
            Some(count)
        } else {
            std::thread::sleep(Duration::from_millis(100));
            None
        }
    });
    assert!(failures.is_some(), "{}", serve.metrics());
    let logged = || {
        serve
            .stderr_lines()
            .iter()
            .filter(|line| line.contains("cannot write the audit log"))
            .count()
    };
    // The server wrote the line before its second failure; the reader thread may lag.
    for _ in 0..100 {
        if logged() > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(logged(), 1, "logged once: {:?}", serve.stderr_lines());
}

#[test]
fn other_commands_still_end_quietly_on_a_closed_pipe() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("list")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader exits before the first line, as `head` does after its last.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty());
}

#[test]
fn an_emptied_site_policy_beside_a_library_set_keeps_the_site_policies() {
    // As deploy/webhook.yaml runs it: a standard-library set and the site's file.
    let mut serve = Serve::start_with(&["--set", "recommended"]);
    serve.assert_serving("start-up");
    let site_denies = |serve: &Serve| {
        let (_, body) = serve.request("POST", "/validate", &root_pod_review());
        body.contains("test.non_root")
    };
    assert!(site_denies(&serve));
    std::fs::write(serve.directory.path.join("policy.rampart"), "").unwrap();
    // Reloads are looked for every second; wait up to 30 s for the refusal.
    let refused = (0..300).any(|_| {
        let (_, readiness) = serve.request("GET", "/readyz", "");
        let found = readiness.contains("the last policy reload was refused");
        if !found {
            std::thread::sleep(Duration::from_millis(100));
        }
        found
    });
    assert!(refused, "{:?}", serve.stderr_lines());
    assert!(site_denies(&serve), "the site's policy must keep serving");
    let metrics = serve.metrics();
    assert!(
        metrics.contains("rampart_policy_reloads_total{result=\"success\"} 0"),
        "{metrics}"
    );
}
