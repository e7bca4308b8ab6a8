//! TLS: the certificate and key from PEM files, swappable while serving so
//! that a renewed certificate (cert-manager rewrites the Secret's files) is
//! picked up without a restart.

use crate::error::TlsError;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};

/// Where the certificate chain and its key are.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub certificate: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Hands every handshake the current certificate.
#[derive(Debug)]
pub struct CertificateResolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertificateResolver {
    /// A resolver serving the certificate in `files`.
    pub fn load(files: &TlsFiles) -> Result<Arc<CertificateResolver>, TlsError> {
        Ok(Arc::new(CertificateResolver {
            current: RwLock::new(Arc::new(certified_key(files)?)),
        }))
    }

    /// Reads the files again; on error the current certificate stays.
    pub fn reload(&self, files: &TlsFiles) -> Result<(), TlsError> {
        let key = Arc::new(certified_key(files)?);
        let mut current = self.current.write().map_err(|_| TlsError::Poisoned)?;
        *current = key;
        Ok(())
    }
}

impl ResolvesServerCert for CertificateResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|current| Arc::clone(&current))
    }
}

/// A rustls server configuration (TLS 1.2 and 1.3, HTTP/1.1) using `resolver`.
pub fn server_config(resolver: Arc<CertificateResolver>) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Configuration(error.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn certified_key(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let certificate_pem = read(&files.certificate)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&certificate_pem)
        .collect::<Result<_, _>>()
        .map_err(|error| TlsError::NotCertificates {
            path: files.certificate.clone(),
            message: error.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(files.certificate.clone()));
    }
    let key_pem = read(&files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|error| TlsError::NotKey {
        path: files.key.clone(),
        message: error.to_string(),
    })?;
    let signing_key =
        ring::sign::any_supported_type(&key).map_err(|error| TlsError::UnsupportedKey {
            path: files.key.clone(),
            message: error.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    // A certificate renewed before its key (two files, two writes) must not be served with the old key.
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(error) => Err(TlsError::Mismatch {
            key: files.key.clone(),
            certificate: files.certificate.clone(),
            message: error.to_string(),
        }),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        path: path.to_path_buf(),
        error,
    })
}
