//! Each host, run on the workspace, its answer read back as decisions.

use super::Decisions;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `rampart` binary (see [`rampart_tests::rampart_binary`]).
pub fn binary() -> PathBuf {
    rampart_tests::rampart_binary().to_path_buf()
}

fn describe(resource: &serde_json::Value) -> String {
    let text = |name: &str| {
        resource
            .get(name)
            .and_then(|value| value.as_str())
            .unwrap_or_default()
    };
    format!("{} {}/{}", text("kind"), text("namespace"), text("name"))
}

/// `rampart check manifests --format json` in the workspace (its
/// `rampart.yaml` found there), with `extra` arguments.
pub fn check(directory: &Path, extra: &[&str]) -> Decisions {
    let output = Command::new(binary())
        .current_dir(directory)
        .args(["check", "manifests", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "check {extra:?}: {error}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert_eq!(report["summary"]["errors"], 0, "check {extra:?}: {report}");
    let mut decisions = Decisions::new();
    for finding in report["findings"].as_array().unwrap() {
        decisions
            .entry(describe(&finding["resource"]))
            .or_default()
            .insert((
                finding["policy"].as_str().unwrap().to_owned(),
                finding["action"].as_str().unwrap().to_owned(),
            ));
    }
    // Judged resources without findings are decisions too.
    let judged = report["summary"]["resources"].as_u64().unwrap();
    assert!(judged as usize >= decisions.len());
    decisions
}

/// `rampart build` in the workspace: a bundle with its configuration.
pub fn build(directory: &Path) -> PathBuf {
    let bundle = directory.join("policies.wasm");
    let output = Command::new(binary())
        .current_dir(directory)
        .args(["build", "--output"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "build: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    bundle
}
