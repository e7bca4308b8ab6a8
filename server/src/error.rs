//! The server's typed errors: why it could not start or serve
//! ([`ServerError`]), why a certificate could not be (re)loaded
//! ([`TlsError`]), and why a body is not an AdmissionReview it can answer
//! ([`RequestError`], answered 400).

use crate::reload::LoadError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the server could not start, or stopped serving.
#[derive(Debug)]
pub enum ServerError {
    /// The policies (or the configuration) could not be loaded at start-up.
    Policies(LoadError),
    /// The certificate or key could not be loaded.
    Tls(TlsError),
    /// The audit log could not be opened.
    AuditLog {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The address could not be listened on (or the listener configured).
    Listen {
        /// The address, when the bind itself failed.
        address: Option<SocketAddr>,
        /// Why.
        error: io::Error,
    },
    /// A thread or the runtime could not be started.
    Start {
        /// What: `the evaluation threads`, `the reload thread`, …
        what: &'static str,
        /// Why.
        error: io::Error,
    },
}

impl fmt::Display for ServerError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Policies(error) => write!(formatter, "cannot load the policies: {error}"),
            ServerError::Tls(error) => error.fmt(formatter),
            ServerError::AuditLog { path, error } => write!(
                formatter,
                "cannot open the audit log `{}`: {error}",
                path.display()
            ),
            ServerError::Listen {
                address: Some(address),
                error,
            } => write!(formatter, "cannot listen on {address}: {error}"),
            ServerError::Listen {
                address: None,
                error,
            } => write!(formatter, "cannot listen: {error}"),
            ServerError::Start { what, error } => {
                write!(formatter, "cannot start {what}: {error}")
            }
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Policies(error) => Some(error),
            ServerError::Tls(error) => Some(error),
            ServerError::AuditLog { error, .. }
            | ServerError::Listen { error, .. }
            | ServerError::Start { error, .. } => Some(error),
        }
    }
}

impl From<TlsError> for ServerError {
    fn from(error: TlsError) -> ServerError {
        ServerError::Tls(error)
    }
}

/// Why a certificate and key could not be (re)loaded.
#[derive(Debug)]
pub enum TlsError {
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The certificate file is not a PEM certificate chain.
    NotCertificates {
        /// The file.
        path: PathBuf,
        /// The PEM reader's message.
        message: String,
    },
    /// The certificate file holds no certificate.
    NoCertificate(PathBuf),
    /// The key file is not a PEM private key.
    NotKey {
        /// The file.
        path: PathBuf,
        /// The PEM reader's message.
        message: String,
    },
    /// The key is of a kind TLS cannot sign with.
    UnsupportedKey {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The key does not belong to the certificate.
    Mismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        certificate: PathBuf,
        /// Why.
        message: String,
    },
    /// TLS could not be configured.
    Configuration(String),
    /// The lock around the served certificate is poisoned.
    Poisoned,
}

impl fmt::Display for TlsError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, error } => {
                write!(formatter, "cannot read `{}`: {error}", path.display())
            }
            TlsError::NotCertificates { path, message } => write!(
                formatter,
                "{}: not a PEM certificate chain: {message}",
                path.display()
            ),
            TlsError::NoCertificate(path) => {
                write!(formatter, "{}: holds no certificate", path.display())
            }
            TlsError::NotKey { path, message } => write!(
                formatter,
                "{}: not a PEM private key: {message}",
                path.display()
            ),
            TlsError::UnsupportedKey { path, message } => write!(
                formatter,
                "{}: unsupported private key: {message}",
                path.display()
            ),
            TlsError::Mismatch {
                key,
                certificate,
                message,
            } => write!(
                formatter,
                "{} does not belong to {}: {message}",
                key.display(),
                certificate.display()
            ),
            TlsError::Configuration(message) => {
                write!(formatter, "cannot configure TLS: {message}")
            }
            TlsError::Poisoned => formatter.write_str("the certificate lock is poisoned"),
        }
    }
}

impl std::error::Error for TlsError {}

/// Why a body is not an AdmissionReview the server can answer (a 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// Not JSON (or not within the reader's limits): the reader's message.
    NotJson(String),
    /// Not an AdmissionReview of the served version.
    NotAdmissionReview {
        /// The body's `kind`.
        kind: String,
        /// The body's `apiVersion`.
        api_version: String,
    },
    /// No `request` object.
    NoRequest,
    /// No `request.uid`.
    NoUid,
    /// An operation other than CREATE, UPDATE, DELETE and CONNECT.
    UnknownOperation(String),
}

impl fmt::Display for RequestError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::NotJson(message) => write!(formatter, "the body is not JSON: {message}"),
            RequestError::NotAdmissionReview { kind, api_version } => write!(
                formatter,
                "expected an AdmissionReview of apiVersion {}, got kind `{kind}` of apiVersion `{api_version}`",
                crate::admission::ADMISSION_API_VERSION
            ),
            RequestError::NoRequest => {
                formatter.write_str("the AdmissionReview has no `request` object")
            }
            RequestError::NoUid => formatter.write_str("the AdmissionReview request has no `uid`"),
            RequestError::UnknownOperation(operation) => {
                write!(formatter, "unknown operation `{operation}`")
            }
        }
    }
}

impl std::error::Error for RequestError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_and_where() {
        assert_eq!(
            RequestError::NotAdmissionReview {
                kind: "Pod".into(),
                api_version: "v1".into()
            }
            .to_string(),
            "expected an AdmissionReview of apiVersion admission.k8s.io/v1, got kind `Pod` of apiVersion `v1`"
        );
        assert_eq!(
            RequestError::UnknownOperation("PATCH".into()).to_string(),
            "unknown operation `PATCH`"
        );
        let missing = ServerError::from(TlsError::Read {
            path: PathBuf::from("tls.crt"),
            error: io::Error::from(io::ErrorKind::NotFound),
        });
        assert!(
            missing.to_string().starts_with("cannot read `tls.crt`: "),
            "{missing}"
        );
        let policies = ServerError::Policies(LoadError::Empty);
        assert!(
            policies
                .to_string()
                .starts_with("cannot load the policies: the policy files hold no policy"),
            "{policies}"
        );
        assert!(std::error::Error::source(&policies).is_some());
    }
}
