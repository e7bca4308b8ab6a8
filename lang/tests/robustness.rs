//! Broken input never panics: every standard-library file, cut short or with
//! a piece cut out at many places, compiles to diagnostics (or a policy
//! set), and the manifests the checker sees, broken the same way, load to
//! documents and errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use rampart_engine::load::{LoadLimits, load_str, resources};
use rampart_lang::{Source, compile};

/// Every `step`-th character boundary of `text`.
fn cut_points(text: &str, step: usize) -> impl Iterator<Item = usize> + '_ {
    text.char_indices().map(|(offset, _)| offset).step_by(step)
}

fn variants(text: &str, step: usize) -> Vec<String> {
    let mut broken = Vec::new();
    for cut in cut_points(text, step) {
        broken.push(text[..cut].to_owned());
        let resume = text[cut..]
            .char_indices()
            .nth(7)
            .map_or(text.len(), |(offset, _)| cut + offset);
        broken.push(format!("{}{}", &text[..cut], &text[resume..]));
    }
    broken
}

#[test]
fn broken_policies_give_diagnostics_not_panics() {
    let mut compiled = 0usize;
    for (name, text) in rampart_stdlib::sources() {
        for variant in variants(text, 157) {
            let compilation = compile(&[Source {
                name: name.clone(),
                text: variant,
            }]);
            // Whatever compiled must also evaluate without panicking.
            let evaluator = rampart_engine::Evaluator::new(
                &compilation.set,
                rampart_engine::EvalOptions::default(),
            );
            let pod = rampart_engine::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]}});
            let _ = evaluator.evaluate(&rampart_engine::Subject::new(&pod));
            compiled += 1;
        }
    }
    assert!(compiled > 500, "only {compiled} variants");
}

#[test]
fn broken_manifests_give_errors_not_panics() {
    let manifest = r#"# a comment
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: "web"}}
spec:
  template:
    spec:
      containers:
        - name: app
          image: 'registry.example.com/web:1.0'
          args: [--port, "8080", &anchor x, *anchor]
          env:
            - {name: A, value: |
                multi
                line}
---
{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p\u00e9"}}]}
"#;
    for variant in variants(manifest, 3) {
        let outcome = load_str(&variant, &LoadLimits::default());
        let mut errors = outcome.errors.clone();
        let _ = resources(&outcome.documents, &mut errors);
    }
}
