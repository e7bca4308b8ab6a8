//! Compiling a crate of this workspace for `wasm32-unknown-unknown` from a
//! build script, with a nested cargo. Used by `bundle/build.rs` (the
//! evaluator guest) and `playground/build.rs` (the playground module).
//!
//! The nested cargo gets its own target directory (the outer build holds the
//! lock on the workspace's), a size-optimised profile passed with `--config`
//! (a workspace member cannot set its own profile), and none of the outer
//! build's flags, wrappers or target settings, which are meant for the host.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The WebAssembly target.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// What to build.
pub struct WasmBuild<'a> {
    /// The crate's `Cargo.toml`.
    pub manifest: &'a Path,
    /// The nested build's target directory (under the outer `OUT_DIR`).
    pub target_dir: &'a Path,
    /// A profile name of the nested build's own (inherits `release`).
    pub profile: &'a str,
    /// Cargo features to enable, if any.
    pub features: Option<&'a str>,
    /// What the module is, for error messages (`the Wasm guest`).
    pub description: &'a str,
}

/// Settings of the nested build's profile: small and self-contained.
const PROFILE_SETTINGS: [&str; 8] = [
    "inherits = \"release\"",
    "opt-level = \"z\"",
    "lto = true",
    "codegen-units = 1",
    "panic = \"abort\"",
    "strip = true",
    "debug = false",
    "incremental = false",
];

/// Environment of the outer build that must not reach the nested one.
const HOST_ONLY_VARIABLES: [&str; 13] = [
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_DIR",
];

impl WasmBuild<'_> {
    /// Where the built module lands: `<target_dir>/wasm32-unknown-unknown/<profile>/<file_name>`.
    pub fn output(&self, file_name: &str) -> PathBuf {
        self.target_dir
            .join(TARGET)
            .join(self.profile)
            .join(file_name)
    }

    /// Runs the nested cargo; an error says what failed and how to fix the usual cause.
    pub fn run(&self) -> Result<(), String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .arg("build")
            .arg("--manifest-path")
            .arg(self.manifest)
            .args([
                "--lib",
                "--target",
                TARGET,
                "--profile",
                self.profile,
                "--locked",
            ])
            .arg("--target-dir")
            .arg(self.target_dir);
        if let Some(features) = self.features {
            command.args(["--features", features]);
        }
        for setting in PROFILE_SETTINGS {
            command
                .arg("--config")
                .arg(format!("profile.{}.{setting}", self.profile));
        }
        for variable in HOST_ONLY_VARIABLES {
            command.env_remove(variable);
        }
        let status = command
            .status()
            .map_err(|error| format!("cannot run cargo to build {}: {error}", self.description))?;
        if !status.success() {
            let features = self
                .features
                .map_or_else(String::new, |features| format!(" (features: {features})"));
            return Err(format!(
                "building {}{features} failed ({status}); is the `{TARGET}` target installed (`rustup target add {TARGET}`)?",
                self.description
            ));
        }
        Ok(())
    }
}
