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

use rampart_build_support::TARGET;
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
                "core/src",
                "core/Cargo.toml",
                "abi/src",
                "abi/Cargo.toml",
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
    rampart_build_support::WasmBuild {
        manifest: &workspace.join("engine/guest/Cargo.toml"),
        target_dir: &target_dir,
        profile: PROFILE,
        features,
        description: "the Wasm guest",
    }
    .run()?;
    std::fs::copy(&built, destination)
        .map_err(|error| format!("cannot copy `{}`: {error}", built.display()))?;
    Ok(())
}
