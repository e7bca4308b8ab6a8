//! The Node host (`examples/hosts/node/check.mjs`, Node's plain WebAssembly
//! API) running the bundle built with the configuration, one resource at a
//! time, today's date passed by the host.

use super::Decisions;
use std::path::Path;
use std::process::Command;

/// Whether `node` can be run here.
pub fn available() -> bool {
    Command::new("node").arg("--version").output().is_ok()
}

/// Decisions of the Node host on every resource of the manifests.
pub fn decisions(directory: &Path, bundle: &Path) -> Decisions {
    let host = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hosts/node/check.mjs");
    let mut decisions = Decisions::new();
    for (index, object) in super::webhook::resources(directory).iter().enumerate() {
        let manifest = directory.join(format!("resource-{index}.json"));
        std::fs::write(&manifest, object.to_string()).unwrap();
        let output = Command::new("node")
            .arg(&host)
            .arg(bundle)
            .arg(&manifest)
            .output()
            .unwrap();
        let printed: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stderr)));
        let found: Vec<(String, String)> = printed["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|finding| {
                (
                    finding["policy"].as_str().unwrap().to_owned(),
                    finding["action"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        if !found.is_empty() {
            decisions
                .entry(super::webhook::describe(object))
                .or_default()
                .extend(found);
        }
    }
    decisions
}
