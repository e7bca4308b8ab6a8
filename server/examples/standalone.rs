//! The webhook without the CLI: serves a standard-library set, for profiling
//! and load tests of the server alone (no WebAssembly runtime is built).
//!
//! ```sh
//! cargo run --release -p rampart-server --example standalone -- \
//!     127.0.0.1:8443 tls.crt tls.key recommended
//! ```

#![allow(clippy::print_stderr, reason = "an example's usage message")]

use rampart_server::{LoadedPolicySet, Server, ServerConfig, TlsFiles};
use std::path::PathBuf;
use std::sync::Arc;

fn main() -> std::process::ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [address, certificate, key, set_name] = arguments.as_slice() else {
        eprintln!("usage: standalone ADDRESS TLS_CERT TLS_KEY SET");
        return std::process::ExitCode::from(2);
    };
    let Ok(address) = address.parse() else {
        eprintln!("error: `{address}` is not HOST:PORT");
        return std::process::ExitCode::from(2);
    };
    let tls = TlsFiles {
        certificate: PathBuf::from(certificate),
        key: PathBuf::from(key),
    };
    let set_name = set_name.clone();
    let loader = Arc::new(move || {
        let set = rampart_stdlib::set(&set_name)
            .ok_or_else(|| rampart_server::LoaderError::Policies(format!("no set `{set_name}`")))?;
        let sources: Vec<rampart_lang::Source> = rampart_stdlib::sources()
            .map(|(name, text)| rampart_lang::Source {
                name,
                text: text.to_owned(),
            })
            .collect();
        let mut compiled = rampart_lang::compile(&sources).set;
        compiled.policies.retain(|policy| {
            set.include
                .iter()
                .any(|pattern| rampart_engine::helpers::glob::matches(pattern, &policy.id))
        });
        Ok(LoadedPolicySet {
            set: compiled,
            version: rampart_engine::KubeVersion::LATEST,
            judging: rampart_core::Judging::default(),
        })
    });
    let result = Server::bind(ServerConfig::new(address, tls), loader).and_then(Server::serve);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::from(2)
        }
    }
}
