//! Rampart's WebAssembly bundle.
//!
//! - [`GUEST`]: the engine compiled for `wasm32-unknown-unknown` (crate
//!   `rampart-guest`, built by this crate's build script), holding no policies;
//!   [`GUEST_KUBEWARDEN`]: the same engine as a Kubewarden (waPC) policy.
//! - [`build`]: makes a self-contained bundle, the guest with a compiled
//!   [`PolicySet`] inside (what `rampart build` writes); [`build_for`] makes
//!   it for either [`Abi`].
//! - [`Bundle`]: runs a bundle with wasmtime, with a fuel limit and a memory
//!   cap per evaluation, so that a bundle can neither hang nor exhaust its host.
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
    BuildError, KUBEWARDEN_METADATA_SECTION, build, build_for, embed, kubewarden_metadata, policies,
};
pub use host::{Bundle, BundleError, Limits, Outcome, OutcomeError, WasmFinding};

use rampart_engine::ir::PolicySet;

/// The ABI version this crate builds and hosts (`rampart_abi_version`).
pub const ABI_VERSION: i32 = 1;

/// The format of the payload `build` embeds.
pub const PAYLOAD_FORMAT: u32 = 1;

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

/// The payload `build` embeds: `{"format", "kube_version", "set"}` as JSON.
pub fn payload(
    set: &PolicySet,
    version: Option<rampart_engine::KubeVersion>,
) -> Result<Vec<u8>, serde_json::Error> {
    let kube_version = version.map(|version| version.to_string());
    serde_json::to_vec(&serde_json::json!({
        "format": PAYLOAD_FORMAT,
        "kube_version": kube_version,
        "set": set,
    }))
}
