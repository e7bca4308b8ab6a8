//! Shared helpers for the workspace integration tests.

use rampart_engine::PolicySet;
use rampart_engine::helpers::glob;

/// The standard library compiled (tests and all), or every error message.
pub fn compile_standard_library() -> Result<rampart_lang::Compilation, String> {
    let sources: Vec<rampart_lang::Source> = rampart_stdlib::sources()
        .map(|(name, text)| rampart_lang::Source {
            name,
            text: text.to_owned(),
        })
        .collect();
    let compilation = rampart_lang::compile(&sources);
    let errors: Vec<String> = compilation
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.level == rampart_lang::Level::Error)
        .map(|diagnostic| format!("{diagnostic:?}"))
        .collect();
    if errors.is_empty() {
        Ok(compilation)
    } else {
        Err(format!(
            "the standard library does not compile:\n{}",
            errors.join("\n")
        ))
    }
}

/// The standard library's policy set.
pub fn standard_library() -> Result<PolicySet, String> {
    compile_standard_library().map(|compilation| compilation.set)
}

/// Whether a set's pattern (`*` matches any run of characters) names `id`.
pub fn in_set(patterns: &[&str], id: &str) -> bool {
    patterns.iter().any(|pattern| glob::matches(pattern, id))
}

/// Every file under `directory` (recursively, sorted) whose extension is one
/// of `extensions`; nothing when the directory does not exist.
pub fn files_under(
    directory: &std::path::Path,
    extensions: &[&str],
    files: &mut Vec<std::path::PathBuf>,
) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            files_under(&path, extensions, files);
        } else if path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| extensions.contains(&extension))
        {
            files.push(path);
        }
    }
}

/// The `rampart` binary next to the running test's executable
/// (`target/<profile>/rampart`; `RAMPART_BINARY` overrides). `cargo test
/// --workspace` builds it before running any test (the CLI's own
/// integration tests need it); when it is missing (only this crate's tests
/// were built), it is built here. An existing binary is not rebuilt: after
/// changing the CLI, build it (or run the workspace's tests).
pub fn rampart_binary() -> &'static std::path::Path {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("RAMPART_BINARY") {
            return PathBuf::from(path);
        }
        let executable = std::env::current_exe().unwrap_or_default();
        // target/<profile>/deps/<test>-<hash>
        let profile_directory = executable
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let path = profile_directory.join("rampart");
        if !path.exists() {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut command = Command::new(cargo);
            command.args(["build", "-p", "rampart", "--bin", "rampart"]);
            if profile_directory
                .file_name()
                .is_some_and(|name| name == "release")
            {
                command.arg("--release");
            }
            // A failed build shows in the test that runs the missing binary.
            let _ = command.status();
        }
        path
    })
}
