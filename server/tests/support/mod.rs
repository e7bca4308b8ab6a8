//! A real server on 127.0.0.1 with an ephemeral port and a throwaway CA, and
//! a small HTTPS client for it.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the support code"
)]

use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rampart_server::{
    FailurePolicy, LoadedPolicySet, LoaderError, PolicyLoader, Server, ServerConfig,
    ShutdownHandle, TlsFiles,
};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto::ring};

/// Policies the tests judge with: a deny with a fix, two warns with fixes
/// (one conflicting with the deny's fix on a container with no securityContext).
pub const POLICIES: &str = r#"
policy test.non_root {
  severity high
  match pods
  for c in pod.containers {
    deny c.securityContext.runAsNonRoot != true
      message "container {c.name} may run as root"
      fix c.securityContext.runAsNonRoot = true
  }
}

policy test.read_only {
  severity medium
  match pods
  for c in pod.containers {
    warn c.securityContext.readOnlyRootFilesystem != true
      message "container {c.name} has a writable root filesystem"
      fix c.securityContext.readOnlyRootFilesystem = true
  }
}

policy test.probes {
  severity low
  match pods
  for c in pod.containers {
    warn c.readinessProbe == null
      message "container {c.name} has no readiness probe"
  }
}
"#;

/// A directory under the system temp directory, removed on drop.
pub struct TempDirectory {
    pub path: PathBuf,
}

impl TempDirectory {
    pub fn new(name: &str) -> TempDirectory {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "rampart-server-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).expect("create the temp directory");
        TempDirectory { path }
    }
}

impl Drop for TempDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A CA and a serving certificate for `localhost` and 127.0.0.1, written as PEM.
pub struct Certificates {
    pub ca_pem: String,
    pub files: TlsFiles,
}

pub fn write_certificates(directory: &Path) -> Certificates {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key")).expect("ca");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf_params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("leaf params");
    let leaf = leaf_params.signed_by(&leaf_key, &ca).expect("leaf");
    let files = TlsFiles {
        certificate: directory.join("tls.crt"),
        key: directory.join("tls.key"),
    };
    std::fs::write(&files.certificate, leaf.pem()).expect("write the certificate");
    std::fs::write(&files.key, leaf_key.serialize_pem()).expect("write the key");
    Certificates {
        ca_pem: ca.pem(),
        files,
    }
}

/// Compiles every `.rampart` file of `directory`, as the CLI's loader does.
pub fn directory_loader(directory: PathBuf) -> PolicyLoader {
    Arc::new(move || {
        let mut sources = Vec::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&directory)
            .map_err(|error| LoaderError::Policies(error.to_string()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "rampart")
            })
            .collect();
        entries.sort();
        for path in entries {
            let text = std::fs::read_to_string(&path)
                .map_err(|error| LoaderError::Policies(error.to_string()))?;
            sources.push(rampart_lang::Source {
                name: path.display().to_string(),
                text,
            });
        }
        let compilation = rampart_lang::compile(&sources);
        if compilation.has_errors() {
            let messages: Vec<String> = compilation
                .diagnostics
                .iter()
                .map(|diagnostic| diagnostic.message.clone())
                .collect();
            return Err(LoaderError::Policies(messages.join("; ")));
        }
        Ok(LoadedPolicySet {
            set: compilation.set,
            version: rampart_engine::KubeVersion::LATEST,
            judging: rampart_core::Judging::default(),
        })
    })
}

/// A running server and what it takes to talk to it.
pub struct TestServer {
    pub address: SocketAddr,
    pub ca_pem: String,
    pub directory: TempDirectory,
    pub policy_file: PathBuf,
    pub tls: TlsFiles,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<Result<(), rampart_server::ServerError>>>,
}

impl TestServer {
    /// Serves [`POLICIES`] with `/mutate`, a 64 KiB body limit, fast reloads
    /// and an audit log; `adjust` changes the configuration further.
    pub fn start(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let directory = TempDirectory::new("server");
        let certificates = write_certificates(&directory.path);
        let policy_directory = directory.path.join("policies");
        std::fs::create_dir_all(&policy_directory).expect("create the policy directory");
        let policy_file = policy_directory.join("test.rampart");
        std::fs::write(&policy_file, POLICIES).expect("write the policies");
        let address: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let mut config = ServerConfig::new(address, certificates.files.clone());
        config.policy_paths = vec![policy_directory.clone()];
        config.mutate = true;
        config.max_body_bytes = 64 * 1024;
        config.reload_interval = Duration::from_millis(100);
        config.audit_log = Some(directory.path.join("audit.jsonl"));
        config.failure_policy = FailurePolicy::Fail;
        config.workers = 2;
        adjust(&mut config);
        let server =
            Server::bind(config, directory_loader(policy_directory)).expect("bind the server");
        let address = server.local_address().expect("local address");
        let shutdown = server.shutdown_handle();
        let thread = std::thread::spawn(move || server.serve());
        TestServer {
            address,
            ca_pem: certificates.ca_pem,
            directory,
            policy_file,
            tls: certificates.files,
            shutdown,
            thread: Some(thread),
        }
    }

    /// Sends one request and returns the status and body.
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        request(self.address, &self.ca_pem, method, path, body).expect("request")
    }

    /// Posts an AdmissionReview and returns the status and parsed body.
    pub fn review(&self, path: &str, review: &serde_json::Value) -> (u16, serde_json::Value) {
        let (status, body) = self.request("POST", path, review.to_string().as_bytes());
        let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
        (status, json)
    }

    /// Stops the server and waits for it; returns how long that took.
    pub fn stop(mut self) -> Duration {
        let started = std::time::Instant::now();
        self.shutdown.shutdown();
        if let Some(thread) = self.thread.take() {
            thread.join().expect("server thread").expect("serve");
        }
        started.elapsed()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One HTTPS/1.1 request to `address` that trusts only `ca_pem`.
pub fn request(
    address: SocketAddr,
    ca_pem: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<(u16, String), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    runtime.block_on(async {
        use http_body_util::{BodyExt, Full};
        use tokio_rustls::rustls::pki_types::CertificateDer;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        let mut roots = RootCertStore::empty();
        let ca =
            CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|error| error.to_string())?;
        roots.add(ca).map_err(|error| error.to_string())?;
        let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|error| error.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|error| error.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|error| error.to_string())?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|error| error.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|error| error.to_string())?;
        tokio::spawn(connection);
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|error| error.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|error| error.to_string())?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    })
}

/// A TLS client configuration that trusts only `ca_pem`.
pub fn client_config(ca_pem: &str) -> Arc<ClientConfig> {
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("the CA"))
        .expect("a root");
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A blocking TLS connection to `address`, handshake done, whose reads give
/// up after 20 s (so that a server that never answers fails the test
/// instead of hanging it).
pub fn tls_connect(
    address: SocketAddr,
    ca_pem: &str,
) -> tokio_rustls::rustls::StreamOwned<tokio_rustls::rustls::ClientConnection, std::net::TcpStream>
{
    let tcp = std::net::TcpStream::connect(address).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let name = ServerName::try_from("localhost").expect("server name");
    let connection = tokio_rustls::rustls::ClientConnection::new(client_config(ca_pem), name)
        .expect("a TLS client");
    let mut stream = tokio_rustls::rustls::StreamOwned::new(connection, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .expect("the TLS handshake");
    }
    stream
}

/// An AdmissionReview for `object` (a Pod unless the object says otherwise).
pub fn review(uid: &str, operation: &str, object: serde_json::Value) -> serde_json::Value {
    let kind = object["kind"].as_str().unwrap_or("Pod").to_owned();
    let group = if kind == "Deployment" { "apps" } else { "" };
    serde_json::json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": "pods"},
            "namespace": "shop",
            "operation": operation,
            "userInfo": {"username": "alice"},
            "object": object,
            "dryRun": false
        }
    })
}

/// A pod whose one container has `security_context` (none when null) and a readiness probe.
pub fn pod(security_context: serde_json::Value) -> serde_json::Value {
    let mut pod = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{
            "name": "app",
            "image": "registry.example.com/web:1.0",
            "readinessProbe": {"httpGet": {"path": "/", "port": 80}},
            "securityContext": security_context
        }]}
    });
    if pod["spec"]["containers"][0]["securityContext"].is_null()
        && let Some(container) = pod["spec"]["containers"][0].as_object_mut()
    {
        container.remove("securityContext");
    }
    pod
}

/// Retries `check` every 50 ms for up to 10 s.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for: {what}");
}
