//! Rampart's public API, end to end: compile a policy, load a manifest with
//! positions, evaluate it natively, then build a Wasm bundle and evaluate
//! the same manifest through it.
//!
//! `cargo run -p rampart-embed-example`

use rampart_engine::load::{self, LoadLimits};
use rampart_engine::{EvalOptions, Evaluator, Inventory, Subject};

const POLICY: &str = r#"
policy example.no_privileged {
  title "No privileged containers"
  severity high
  match pods
  for c in pod.containers {
    deny c.securityContext.privileged == true
      at c.securityContext.privileged
      message "container {c.name} is privileged"
      fix c.securityContext.privileged = false
  }
}
"#;

const MANIFEST: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: app
      image: nginx:1.27
      securityContext:
        privileged: true
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Compile (rampart-lang): source text to the engine's IR.
    let compilation = rampart_lang::compile(&[rampart_lang::Source {
        name: "example.rampart".into(),
        text: POLICY.into(),
    }]);
    if compilation.has_errors() {
        return Err(format!("{:?}", compilation.diagnostics).into());
    }
    let set = compilation.set;

    // 2. Load (rampart-engine): YAML or JSON text to objects with positions.
    let outcome = load::load_str(MANIFEST, &LoadLimits::default());
    let mut errors = outcome.errors;
    let resources = load::resources(&outcome.documents, &mut errors);

    // 3. Evaluate natively.
    let evaluator = Evaluator::new(&set, EvalOptions::default());
    let inventory = Inventory::new();
    for resource in &resources {
        let evaluation = evaluator.evaluate(&Subject {
            resource: resource.value,
            old_resource: None,
            inventory: Some(&inventory),
            keys: resource.document.keys.as_ref(),
        });
        for finding in &evaluation.findings {
            let pointer = format!("{}{}", resource.pointer, finding.pointer);
            let position = resource
                .document
                .positions
                .locate(&resource.document.value, &pointer);
            let (line, column) =
                position.map_or((1, 1), |position| (position.line, position.column));
            println!(
                "native: {line}:{column} {} {}: {}",
                finding.action.as_str(),
                finding.policy,
                finding.message
            );
        }
    }

    // 4. The same through a self-contained Wasm bundle (rampart-bundle).
    let wasm = rampart_bundle::build(&set, None)?;
    let mut bundle = rampart_bundle::Bundle::load(&wasm)?;
    for resource in &resources {
        let outcome = bundle.evaluate(serde_json::to_string(resource.value)?.as_bytes())?;
        for finding in &outcome.findings {
            println!(
                "wasm:   {} {} at {}: {}",
                finding.action.as_str(),
                finding.policy,
                finding.path,
                finding.message
            );
        }
    }
    println!("bundle: {} KiB", wasm.len().div_ceil(1024));
    Ok(())
}
