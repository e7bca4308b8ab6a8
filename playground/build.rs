//! Compiles `playground/wasm` for `wasm32-unknown-unknown` with a nested
//! cargo and generates `OUT_DIR/assets.rs`, which embeds the page
//! (`playground/web`) and the module with `include_bytes!`.
//!
//! The nested cargo gets its own target directory under `OUT_DIR` (the outer
//! build holds the lock of the shared one), a size-optimized profile given
//! with `--config` (a workspace member cannot set its own profile), and an
//! environment without the outer build's flags and wrappers (clippy's driver
//! or host `RUSTFLAGS` must not reach a wasm32 build).
//!
//! `RAMPART_PLAYGROUND_WASM=/path/to/module.wasm` skips the nested build and
//! embeds that file instead (for packagers that build the module apart).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const PROFILE: &str = "rampart-playground";
/// The module's name in the page (`app.js` fetches it by this name).
const MODULE: &str = "rampart_playground.wasm";

fn main() -> Result<(), String> {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR is not set")?,
    );
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let workspace = manifest_dir
        .parent()
        .ok_or("the playground crate has no parent directory")?;
    let module = out_dir.join(MODULE);
    build_module(&manifest_dir, workspace, &out_dir, &module)?;
    let web = manifest_dir.join("web");
    println!("cargo::rerun-if-changed={}", web.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&web)
        .map_err(|error| format!("cannot read `{}`: {error}", web.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    let mut generated = String::from(
        "/// The playground's files: the page, its script and style, and the module.\npub static ASSETS: &[Asset] = &[\n",
    );
    for file in files.iter().chain(std::iter::once(&module)) {
        let name = file
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| format!("`{}` has no UTF-8 file name", file.display()))?;
        println!("cargo::rerun-if-changed={}", file.display());
        writeln!(
            generated,
            "    Asset {{ path: {name:?}, bytes: include_bytes!({:?}) }},",
            file.display().to_string()
        )
        .map_err(|error| error.to_string())?;
    }
    generated.push_str("];\n");
    std::fs::write(out_dir.join("assets.rs"), generated)
        .map_err(|error| format!("cannot write assets.rs: {error}"))?;
    Ok(())
}

/// Builds the module (or copies `RAMPART_PLAYGROUND_WASM`) to `destination`.
fn build_module(
    manifest_dir: &Path,
    workspace: &Path,
    out_dir: &Path,
    destination: &Path,
) -> Result<(), String> {
    println!("cargo::rerun-if-env-changed=RAMPART_PLAYGROUND_WASM");
    if let Some(prebuilt) = std::env::var_os("RAMPART_PLAYGROUND_WASM") {
        println!("cargo::rerun-if-changed={}", Path::new(&prebuilt).display());
        std::fs::copy(&prebuilt, destination).map_err(|error| {
            format!(
                "cannot copy RAMPART_PLAYGROUND_WASM `{}`: {error}",
                Path::new(&prebuilt).display()
            )
        })?;
        return Ok(());
    }
    // Everything the module is compiled from: the compiler, the engine, the
    // standard library it embeds as examples, and the crate itself.
    for watched in [
        "lang/src",
        "lang/build.rs",
        "lang/Cargo.toml",
        "engine/src",
        "engine/Cargo.toml",
        "core/src",
        "core/Cargo.toml",
        "abi/src",
        "abi/Cargo.toml",
        "stdlib-policies/policies",
        "stdlib-policies/src",
        "stdlib-policies/Cargo.toml",
        "playground/wasm/src",
        "playground/wasm/Cargo.toml",
        "Cargo.lock",
    ] {
        println!(
            "cargo::rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let target_dir = out_dir.join("wasm-target");
    let build = rampart_build_support::WasmBuild {
        manifest: &manifest_dir.join("wasm/Cargo.toml"),
        target_dir: &target_dir,
        profile: PROFILE,
        features: None,
        description: "the playground module",
    };
    build.run()?;
    let built = build.output("rampart_playground_wasm.wasm");
    std::fs::copy(&built, destination)
        .map_err(|error| format!("cannot copy `{}`: {error}", built.display()))?;
    Ok(())
}
