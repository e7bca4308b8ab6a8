//! Compiles `engine/guest` for `wasm32-unknown-unknown` with a nested cargo
//! (its own target directory under `OUT_DIR`, a size-optimized profile given
//! with `--config`, since a workspace member cannot set its own profile) and
//! leaves the module at `OUT_DIR/rampart_guest.wasm` for `include_bytes!`.
//!
//! `RAMPART_GUEST_WASM=/path/to/rampart_guest.wasm` skips the nested build
//! and embeds that file instead (for packagers that build the guest apart).

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "rampart-guest";

fn main() -> Result<(), String> {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR is not set")?,
    );
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let workspace = manifest_dir
        .parent()
        .ok_or("the bundle crate has no parent directory")?;
    let destination = out_dir.join("rampart_guest.wasm");
    println!("cargo::rerun-if-env-changed=RAMPART_GUEST_WASM");
    if let Some(prebuilt) = std::env::var_os("RAMPART_GUEST_WASM") {
        println!("cargo::rerun-if-changed={}", Path::new(&prebuilt).display());
        std::fs::copy(&prebuilt, &destination).map_err(|error| {
            format!(
                "cannot copy RAMPART_GUEST_WASM `{}`: {error}",
                Path::new(&prebuilt).display()
            )
        })?;
        return Ok(());
    }
    for watched in [
        "engine/src",
        "engine/Cargo.toml",
        "engine/guest/src",
        "engine/guest/Cargo.toml",
        "Cargo.lock",
    ] {
        println!(
            "cargo::rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let target_dir = out_dir.join("guest-target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(workspace.join("engine/guest/Cargo.toml"))
        .args([
            "--lib",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
            "--locked",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    for setting in [
        "inherits = \"release\"",
        "opt-level = \"z\"",
        "lto = true",
        "codegen-units = 1",
        "panic = \"abort\"",
        "strip = true",
        "debug = false",
        "incremental = false",
    ] {
        command
            .arg("--config")
            .arg(format!("profile.{PROFILE}.{setting}"));
    }
    for variable in [
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
    ] {
        command.env_remove(variable);
    }
    let status = command
        .status()
        .map_err(|error| format!("cannot run cargo to build the Wasm guest: {error}"))?;
    if !status.success() {
        return Err(format!(
            "building the Wasm guest failed ({status}); is the `{TARGET}` target installed (`rustup target add {TARGET}`)?"
        ));
    }
    let built = target_dir
        .join(TARGET)
        .join(PROFILE)
        .join("rampart_guest.wasm");
    std::fs::copy(&built, &destination)
        .map_err(|error| format!("cannot copy `{}`: {error}", built.display()))?;
    Ok(())
}
