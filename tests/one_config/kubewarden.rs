//! The Kubewarden host: the bundle built with `--abi kubewarden` and the
//! configuration, run by a waPC host as Kubewarden's policy server runs it,
//! one ValidationRequest per resource.

use super::{Decisions, hosts, webhook};
use std::path::Path;
use std::process::Command;

#[path = "../../bundle/tests/support/wapc_host.rs"]
#[allow(
    dead_code,
    reason = "the shared waPC host offers more than this test uses"
)]
mod wapc_host;

/// Decisions of the Kubewarden module; `policies` are the ids to look for
/// in its answers.
pub fn decisions(directory: &Path, policies: &[&str]) -> Decisions {
    let module = directory.join("kubewarden.wasm");
    let output = Command::new(hosts::binary())
        .current_dir(directory)
        .args(["build", "--abi", "kubewarden", "--output"])
        .arg(&module)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "build --abi kubewarden: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut host = wapc_host::WapcHost::new(&std::fs::read(&module).unwrap());
    let mut decisions = Decisions::new();
    for (index, object) in webhook::resources(directory).iter().enumerate() {
        let review = webhook::review(object, index);
        let request = serde_json::json!({"request": review["request"], "settings": {}});
        let response = host.call_json("validate", &request);
        let found = webhook::named_in_answer(
            response["accepted"] == false,
            response["message"].as_str().unwrap_or_default(),
            &response["warnings"],
            &response["audit_annotations"],
            policies,
        );
        if !found.is_empty() {
            decisions
                .entry(webhook::describe(object))
                .or_default()
                .extend(found);
        }
    }
    decisions
}
