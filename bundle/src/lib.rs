//! Rampart's WebAssembly bundle.
//!
//! - [`GUEST`]: the engine compiled for `wasm32-unknown-unknown` (crate
//!   `rampart-guest`, built by this crate's build script), holding no policies.
//! - [`build`]: makes a self-contained bundle, the guest with a compiled
//!   [`PolicySet`] inside (what `rampart build` writes).
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

pub use embed::{BuildError, build, embed, policies};
pub use host::{Bundle, BundleError, Limits, Outcome, OutcomeError, WasmFinding};

use rampart_engine::ir::PolicySet;

/// The ABI version this crate builds and hosts (`rampart_abi_version`).
pub const ABI_VERSION: i32 = 1;

/// The format of the payload `build` embeds.
pub const PAYLOAD_FORMAT: u32 = 1;

/// The bare guest module: the engine, with no policies inside.
pub static GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rampart_guest.wasm"));

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
