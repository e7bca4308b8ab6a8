//! Compiles `engine/guest` for `wasm32-unknown-unknown` with a nested cargo
//! (its own target directory under `OUT_DIR`, a size-optimized profile given
//! with `--config`, since a workspace member cannot set its own profile), in
//! two variants: the plain ABI (`OUT_DIR/rampart_guest.wasm`) and the
//! Kubewarden waPC one, built with `--features kubewarden`
//! (`OUT_DIR/rampart_guest_kubewarden.wasm`), both for `include_bytes!`.
//!
//! The variants share the target directory, so the dependencies are compiled
//! once; but a path package's `cdylib` has no hash in its file name, so both
//! builds write the same file: it is deleted before each build so that cargo
//! links the guest again for the variant asked for.
//!
//! `RAMPART_GUEST_WASM=/path/to/rampart_guest.wasm` and
//! `RAMPART_GUEST_KUBEWARDEN_WASM=/path/to/rampart_guest_kubewarden.wasm`
//! skip the nested build of that variant and embed the file instead (for
//! packagers that build the guest apart).

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "rampart-guest";

/// A variant: the prebuilt-module variable, the cargo features, the file
/// written in `OUT_DIR`.
const VARIANTS: [(&str, Option<&str>, &str); 2] = [
    ("RAMPART_GUEST_WASM", None, "rampart_guest.wasm"),
    (
        "RAMPART_GUEST_KUBEWARDEN_WASM",
        Some("kubewarden"),
        "rampart_guest_kubewarden.wasm",
    ),
];

fn main() -> Result<(), String> {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR is not set")?,
    );
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let workspace = manifest_dir
        .parent()
        .ok_or("the bundle crate has no parent directory")?;
    let mut watching = false;
    for (variable, features, file) in VARIANTS {
        let destination = out_dir.join(file);
        println!("cargo::rerun-if-env-changed={variable}");
        if let Some(prebuilt) = std::env::var_os(variable) {
            println!("cargo::rerun-if-changed={}", Path::new(&prebuilt).display());
            std::fs::copy(&prebuilt, &destination).map_err(|error| {
                format!(
                    "cannot copy {variable} `{}`: {error}",
                    Path::new(&prebuilt).display()
                )
            })?;
            continue;
        }
        if !watching {
            watching = true;
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
        }
        build_guest(workspace, &out_dir, features, &destination)?;
    }
    Ok(())
}

/// Builds one variant of the guest and copies it to `destination`.
fn build_guest(
    workspace: &Path,
    out_dir: &Path,
    features: Option<&str>,
    destination: &Path,
) -> Result<(), String> {
    let target_dir = out_dir.join("guest-target");
    let profile_dir = target_dir.join(TARGET).join(PROFILE);
    let built = profile_dir.join("rampart_guest.wasm");
    // Both variants link to these paths: remove the other variant's module
    // so that cargo does not take it for this one, up to date.
    for stale in [
        built.clone(),
        profile_dir.join("deps").join("rampart_guest.wasm"),
    ] {
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(format!("cannot remove `{}`: {error}", stale.display())),
        }
    }
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
    if let Some(features) = features {
        command.args(["--features", features]);
    }
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
            "building the Wasm guest{} failed ({status}); is the `{TARGET}` target installed (`rustup target add {TARGET}`)?",
            features.map_or_else(String::new, |features| format!(" (features: {features})"))
        ));
    }
    std::fs::copy(&built, destination)
        .map_err(|error| format!("cannot copy `{}`: {error}", built.display()))?;
    Ok(())
}
