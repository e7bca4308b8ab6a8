//! Rampart's WebAssembly bundle.
//!
//! - [`GUEST`]: the engine compiled for `wasm32-unknown-unknown` (crate
//!   `rampart-guest`, built by this crate's build script), holding no policies;
//!   [`GUEST_KUBEWARDEN`]: the same engine as a Kubewarden (waPC) policy.
//! - [`build`]: makes a self-contained bundle, the guest with a compiled
//!   [`PolicySet`] inside (what `rampart build` writes); [`build_for`] makes
//!   it for either [`Abi`]; [`build_with`] also embeds a configuration's
//!   judging part ([`EmbeddedConfig`]), which the guest applies, so that
//!   every host of the bundle judges as `rampart check` does.
//! - [`Bundle`]: runs a bundle with wasmtime, with a fuel limit and a memory
//!   cap per evaluation, so that a bundle can neither hang nor exhaust its host;
//!   it passes the guest today's date ([`Bundle::set_today`] to choose it).
//!
//! The ABI is described in `docs/wasm-abi.md`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let compilation = rampart_lang::compile(&[]);
//! let wasm = rampart_bundle::build(&compilation.set, None)?;
//! let mut bundle = rampart_bundle::Bundle::load(&wasm)?;
//! let outcome = bundle.evaluate(br#"{"apiVersion": "v1", "kind": "Pod"}"#)?;
//! println!("{} findings", outcome.findings.len());
//! # Ok(())
//! # }
//! ```

mod embed;
mod host;

pub use embed::{
    BuildError, Contents, KUBEWARDEN_METADATA_SECTION, build, build_for, build_with, contents,
    embed, kubewarden_metadata, policies,
};
pub use host::{Bundle, BundleError, Limits};
pub use rampart_abi::{Outcome, OutcomeError, WasmFinding};

use rampart_engine::ir::PolicySet;

pub use rampart_abi::{ABI_VERSION, EmbeddedConfig, PAYLOAD_FORMAT, text_hash};
pub use rampart_core::{Date, Judging};

/// The bare guest module: the engine, with no policies inside.
pub static GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rampart_guest.wasm"));

/// The bare guest built as a Kubewarden policy: it exports waPC's
/// `__guest_call` and imports the waPC host functions (module `wapc`), with
/// the same policy slot as [`GUEST`].
pub static GUEST_KUBEWARDEN: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rampart_guest_kubewarden.wasm"));

/// Which protocol a bundle speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Abi {
    /// Rampart's own ABI (`docs/wasm-abi.md`): no imports, any host.
    #[default]
    Rampart,
    /// Kubewarden's policy protocol over waPC, for Kubewarden's policy server
    /// and `kwctl`.
    Kubewarden,
}

impl Abi {
    /// The bare guest module of this ABI.
    pub fn guest(self) -> &'static [u8] {
        match self {
            Abi::Rampart => GUEST,
            Abi::Kubewarden => GUEST_KUBEWARDEN,
        }
    }
}

/// The payload `build` embeds: `{"format", "kube_version", "set",
/// "config"}` as JSON, with no configuration.
pub fn payload(
    set: &PolicySet,
    version: Option<rampart_engine::KubeVersion>,
) -> Result<Vec<u8>, serde_json::Error> {
    payload_with(set, version, None)
}

/// The payload `build_with` embeds: the policies (with the configuration's
/// parameters and actions already applied to them), the Kubernetes version,
/// and the configuration's judging part with its file name and hash.
pub fn payload_with(
    set: &PolicySet,
    version: Option<rampart_engine::KubeVersion>,
    config: Option<&EmbeddedConfig>,
) -> Result<Vec<u8>, serde_json::Error> {
    let kube_version = version.map(|version| version.to_string());
    serde_json::to_vec(&serde_json::json!({
        "format": PAYLOAD_FORMAT,
        "kube_version": kube_version,
        "set": set,
        "config": config,
    }))
}
