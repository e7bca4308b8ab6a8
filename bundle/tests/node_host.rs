//! The Node host (`examples/hosts/node/check.mjs`) passes the date: an
//! exception built into a bundle is honoured up to its last day and not
//! after, as the date given on its command line says. Skipped when `node`
//! is not installed.

use rampart_bundle::{Abi, EmbeddedConfig};
use rampart_core::Config;
use std::path::PathBuf;
use std::process::Command;

const POLICY: &str = r#"
policy example.replicas {
  severity medium
  match kinds Deployment
  deny resource.spec.replicas > 3
    at spec.replicas
    message "{resource.spec.replicas} replicas"
}
"#;

const CONFIG: &str = "\
exceptions:
  - policy: example.replicas
    namespace: legacy
    reason: migrating (OPS-1)
    expires: 2027-03-31
";

#[test]
fn the_node_host_passes_the_date() {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("node is not installed: skipped");
        return;
    }
    let compilation = rampart_lang::compile(&[rampart_lang::Source {
        name: "policy.rampart".into(),
        text: POLICY.into(),
    }]);
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    let mut problems = Vec::new();
    let Some(config) = Config::parse(CONFIG, "rampart.yaml", &mut problems) else {
        panic!("{problems:?}");
    };
    let embedded = EmbeddedConfig {
        file: "rampart.yaml".into(),
        hash: rampart_bundle::text_hash(CONFIG),
        judging: config.judging,
    };
    let Ok(wasm) =
        rampart_bundle::build_with(&compilation.set, None, Abi::Rampart, Some(&embedded))
    else {
        panic!("the bundle was not built");
    };
    let directory = std::env::temp_dir().join(format!("rampart-node-host-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let bundle = directory.join("policies.wasm");
    let manifest = directory.join("manifest.json");
    std::fs::write(&bundle, wasm).unwrap();
    std::fs::write(
        &manifest,
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "old", "namespace": "legacy"}, "spec": {"replicas": 9}}"#,
    )
    .unwrap();
    let host = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/hosts/node/check.mjs");
    let run = |day: &str| {
        let output = Command::new("node")
            .arg(&host)
            .arg(&bundle)
            .arg(&manifest)
            .arg(day)
            .output()
            .unwrap();
        let printed: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stderr)));
        (
            output.status.code(),
            printed["findings"].as_array().map_or(0, Vec::len),
        )
    };
    let on_last_day = run("2027-03-31");
    let after = run("2027-04-01");
    let refused = Command::new("node")
        .arg(&host)
        .arg(&bundle)
        .arg(&manifest)
        .arg("yesterday")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&directory);
    assert_eq!(on_last_day, (Some(0), 0));
    assert_eq!(after, (Some(1), 1));
    assert_eq!(refused.status.code(), Some(2));
}
