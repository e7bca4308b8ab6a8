//! Rampart's Kubernetes admission webhook.
//!
//! `POST /validate` answers AdmissionReview v1 requests with allowed or
//! denied (warn findings as warnings, audit findings in the audit
//! annotation, the audit log and the metrics: the decision is
//! `rampart_core::admission::decide`, shared with the Kubewarden guest);
//! `POST /mutate` answers with the rules' fixes as a JSON patch. HTTPS only.
//! The configuration's exceptions (as of each request's date) and
//! exemptions apply. Policies, the configuration and the TLS certificate
//! are reloaded when their files change.
//! `GET /healthz`, `/readyz` and `/metrics` (Prometheus text) are for
//! operations. See `docs/webhook.md`.
//!
//! The admission logic is the pure function [`admission::handle`]; the rest
//! is transport. The server never compiles policies: it calls the
//! [`PolicyLoader`] the CLI gives it.

pub mod admission;
pub mod audit;
pub mod envelope;
pub mod error;
pub mod metrics;
pub mod patch;
pub mod reload;
pub mod server;
pub mod summary;
pub mod tls;
mod workers;

pub use admission::{Decision, Endpoint, FailurePolicy, State, handle, handle_at};
pub use error::{RequestError, ServerError, TlsError};
pub use reload::{LoadError, LoadedPolicySet, LoaderError, PolicyLoader};
pub use server::{Server, ServerConfig, ShutdownHandle};
pub use tls::TlsFiles;

/// Writes one operational log line to standard error, with a UTC timestamp.
/// (The audit log is separate, and can go to standard output.)
///
/// A failed write is ignored: `eprintln!` would panic when standard error is
/// a closed pipe, and a log that cannot be written must not stop admission.
pub fn log(message: &str) {
    use std::io::Write;
    let line = format!(
        "{} rampart-server: {message}\n",
        audit::rfc3339(std::time::SystemTime::now())
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
