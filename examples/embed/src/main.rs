//! Rampart's public API, end to end, as an embedder uses it: compile a
//! policy, apply a `rampart.yaml`, prepare the set once, and judge manifests
//! with it (findings located at their line and column, exceptions applied
//! as of a date); then build a Wasm bundle and evaluate the same manifest
//! through it.
//!
//! `cargo run -p rampart-embed-example`; `cargo test -p rampart-embed-example`
//! runs it and checks what it prints.

use rampart_core::{Config, Date, PreparedSet};
use rampart_engine::EvalOptions;
use rampart_engine::load::{self, LoadLimits};
use std::io::Write;

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

/// The configuration: the policy only warns, and one namespace is excepted
/// until the end of March 2027.
const CONFIG: &str = "actions:
  example.no_privileged: warn
exceptions:
  - policy: example.*
    namespace: lab
    reason: kernel experiments (OPS-42)
    expires: 2027-03-31
";

const MANIFESTS: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: app
      image: nginx:1.27
      securityContext:
        privileged: true
---
apiVersion: v1
kind: Pod
metadata:
  name: probe
  namespace: lab
spec:
  containers:
    - name: probe
      image: busybox:1.37
      securityContext:
        privileged: true
";

fn run(out: &mut dyn Write, today: Date) -> Result<(), Box<dyn std::error::Error>> {
    // 1. Compile (rampart-lang): source text to the engine's IR.
    let compilation = rampart_lang::compile(&[rampart_lang::Source {
        name: "example.rampart".into(),
        text: POLICY.into(),
    }]);
    if compilation.has_errors() {
        return Err(format!("{:?}", compilation.diagnostics).into());
    }

    // 2. Configure (rampart-core): parameters and actions go into the IR;
    //    exceptions and exemptions are judged.
    let mut problems = Vec::new();
    let config = Config::parse(CONFIG, "rampart.yaml", &mut problems).unwrap_or_default();
    let mut set = compilation.set;
    config.apply(&mut set, &mut problems);
    if let Some(problem) = problems.first() {
        return Err(problem.to_string().into());
    }
    let bundle_set = set.clone();

    // 3. Prepare once (shareable across threads), judge as often as needed.
    let prepared = PreparedSet::new(set, config.judging, EvalOptions::default());
    let loaded = load::load_str(MANIFESTS, &LoadLimits::default());
    let judged = prepared.judge_documents("pods.yaml", &loaded.documents, today);
    for finding in &judged.findings {
        writeln!(
            out,
            "native: pods.yaml:{}:{} {} {}: {}",
            finding.line,
            finding.column,
            finding.action.as_str(),
            finding.policy,
            finding.message
        )?;
    }
    writeln!(out, "native: {} excepted", judged.suppressed)?;

    // 4. The same policies through a self-contained Wasm bundle (rampart-bundle).
    let wasm = rampart_bundle::build(&bundle_set, None)?;
    let mut bundle = rampart_bundle::Bundle::load(&wasm)?;
    let mut errors = Vec::new();
    for resource in load::resources(&loaded.documents, &mut errors) {
        let outcome = bundle.evaluate(serde_json::to_string(resource.value)?.as_bytes())?;
        for finding in &outcome.findings {
            writeln!(
                out,
                "wasm:   {} {} at {}: {}",
                finding.action.as_str(),
                finding.policy,
                finding.path,
                finding.message
            )?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(&mut std::io::stdout().lock(), Date::today())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(today: &str) -> String {
        let mut out = Vec::new();
        let today = Date::parse(today).unwrap_or(Date {
            year: 1970,
            month: 1,
            day: 1,
        });
        if let Err(error) = run(&mut out, today) {
            return format!("error: {error}");
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn the_example_judges_as_configured() {
        assert_eq!(
            output("2027-01-15"),
            "native: pods.yaml:11:9 warn example.no_privileged: container app is privileged\n\
             native: 1 excepted\n\
             wasm:   warn example.no_privileged at /spec/containers/0/securityContext/privileged: container app is privileged\n\
             wasm:   warn example.no_privileged at /spec/containers/0/securityContext/privileged: container probe is privileged\n"
        );
    }

    #[test]
    fn an_expired_exception_no_longer_applies() {
        let later = output("2027-04-01");
        assert!(
            later.contains(
                "native: pods.yaml:23:9 warn example.no_privileged: container probe is privileged"
            ),
            "{later}"
        );
        assert!(later.contains("native: 0 excepted"), "{later}");
    }
}
