//! The checker's diagnostics, as JSON snapshots: every error of a file at
//! once, each with its code, location and help.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use rampart_lang::{Source, compile};

fn diagnostics(text: &str) -> serde_json::Value {
    let compilation = compile(&[Source {
        name: "policy.rampart".into(),
        text: text.into(),
    }]);
    serde_json::to_value(&compilation.diagnostics).unwrap()
}

#[test]
fn all_type_errors_of_a_file_are_reported_at_once() {
    let text = r#"
policy example.mistakes {
  severity high
  match pods
  param limit: int = "ten"
  for c in pod.containers {
    deny c.securityContext.privilegd == true message "a"
    deny c.securityContext.privileged == "true" message "b"
    deny c.image.tag == "latest" message "c"
    deny count(c.ports) message "d"
    deny c.name < 3 message "e"
    deny imag(c.image).registry == "x" message "f"
    deny params.limt > 1 message "g"
    deny matches(c.name, "[a-") message "h"
  }
  deny resource.spec.replicas > 1 at nowhere.at.all message "i"
}
"#;
    insta::assert_json_snapshot!(diagnostics(text));
}

#[test]
fn recursion_and_unknown_names_are_refused() {
    let text = r#"
fn a(x: int) -> int { b(x) }
fn b(x: int) -> int { a(x) }
policy example.calls {
  match kinds Deployment
  deny a(resource.spec.replicas) == 1 message "{contaner}"
  let y = [z for z in resource.spec.template.spec.containers]
  deny true at y message "not a place"
}
"#;
    insta::assert_json_snapshot!(diagnostics(text));
}

#[test]
fn a_clean_policy_has_no_diagnostics() {
    let text = r#"
policy example.clean {
  severity low
  match kinds Role, ClusterRole
  for (i, rule) in resource.rules {
    warn "*" in rule.verbs at rules[i].verbs message "rule {i} grants every verb"
  }
}
"#;
    assert_eq!(diagnostics(text), serde_json::json!([]));
}

#[test]
fn a_policy_that_overrides_itself_is_refused() {
    let text = r#"
policy example.self {
  match pods
  overrides [example.other, example.self]
  deny pod.spec.hostNetwork == true message "host network"
}
"#;
    let found = diagnostics(text);
    let codes: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|diagnostic| diagnostic["code"].as_str())
        .collect();
    assert_eq!(codes, ["E0208"], "{found}");
    assert_eq!(found[0]["start"]["line"], 4, "{found}");
    assert_eq!(found[0]["start"]["column"], 29, "{found}");
}

#[test]
fn overrides_reach_the_compiled_policy() {
    let compilation = compile(&[Source {
        name: "policy.rampart".into(),
        text: "policy example.strong {\n  match pods\n  overrides [example.weak, example.weak]\n  deny pod.spec.hostNetwork == true message \"host network\"\n}\n".into(),
    }]);
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );
    assert_eq!(compilation.set.policies[0].overrides, ["example.weak"]);
}
