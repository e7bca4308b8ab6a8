use super::*;

const POLICY: &str = r#"policy example.no_privileged {
  severity high
  match pods
  for c in pod.containers {
    deny c.securityContext.privileged == true
      at c.securityContext.privileged
      message "container {c.name} is privileged"
  }
}

test "privileged is denied" for example.no_privileged {
  given pod { spec: { containers: [{ name: "a", image: "nginx", securityContext: { privileged: true } }] } }
  expect deny
}

test "this one fails" for example.no_privileged {
  given pod { spec: { containers: [{ name: "a", image: "nginx" }] } }
  expect deny
}
"#;

const MANIFEST: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: app
      image: nginx
      securityContext:
        privileged: true
";

#[test]
fn findings_carry_their_manifest_line_and_column() {
    let result = evaluate(POLICY, MANIFEST);
    assert_eq!(result["diagnostics"], json!([]));
    assert_eq!(result["errors"], json!([]));
    let findings = result["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    let finding = &findings[0];
    assert_eq!(finding["policy"], "example.no_privileged");
    assert_eq!(finding["action"], "deny");
    assert_eq!(finding["severity"], "high");
    assert_eq!(finding["message"], "container app is privileged");
    assert_eq!(
        finding["path"],
        "/spec/containers/0/securityContext/privileged"
    );
    assert_eq!(
        (finding["line"].clone(), finding["column"].clone()),
        (json!(10), json!(9))
    );
    assert_eq!(finding["resource"], "Pod web");
}

#[test]
fn tests_report_pass_and_failure() {
    let result = evaluate(POLICY, "");
    let tests = result["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 2);
    assert_eq!(tests[0]["name"], "privileged is denied");
    assert_eq!(tests[0]["line"], 11);
    assert_eq!(tests[0]["passed"], true);
    assert_eq!(tests[1]["passed"], false);
    assert!(
        tests[1]["failures"][0]
            .as_str()
            .unwrap()
            .contains("expected deny")
    );
}

#[test]
fn a_misspelt_field_is_a_diagnostic_at_its_line() {
    let policy = POLICY.replace(
        "securityContext.privileged == true",
        "securityContext.privilegd == true",
    );
    let result = evaluate(&policy, MANIFEST);
    let diagnostic = &result["diagnostics"][0];
    assert_eq!(diagnostic["level"], "error");
    assert_eq!(diagnostic["start"]["line"], 5);
    assert!(
        diagnostic["message"]
            .as_str()
            .unwrap()
            .contains("privilegd"),
        "{diagnostic}"
    );
    assert_eq!(result["findings"], json!([]));
}

#[test]
fn manifest_errors_and_lists_are_reported_with_positions() {
    let result = evaluate(POLICY, "apiVersion: v1\nkind: [\n");
    assert_eq!(result["errors"].as_array().unwrap().len(), 1);
    assert!(result["errors"][0]["line"].is_number());
    let list = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: a}\n    spec:\n      containers: [{name: x, image: y, securityContext: {privileged: true}}]\n";
    let result = evaluate(POLICY, list);
    assert_eq!(
        result["findings"][0]["path"],
        "/items/0/spec/containers/0/securityContext/privileged"
    );
    assert_eq!(result["findings"][0]["line"], 8);
}

#[test]
fn malformed_requests_are_errors_not_panics() {
    let result = run(b"not json");
    assert!(
        result["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not JSON")
    );
    let result = run(br#"{"policy": 3}"#);
    assert_eq!(result["findings"], json!([]));
}

#[test]
fn every_example_compiles_and_its_manifest_is_denied() {
    let listing = examples();
    assert_eq!(listing["default"], DEFAULT_EXAMPLE);
    let names: Vec<&str> = listing["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|example| example["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&DEFAULT_EXAMPLE));
    for name in names {
        let example = example(name);
        let result = evaluate(
            example["policy"].as_str().unwrap(),
            example["manifest"].as_str().unwrap(),
        );
        let errors: Vec<&Json> = result["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|diagnostic| diagnostic["level"] == "error")
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(result["errors"], json!([]), "{name}");
        // Policies that do nothing with their default parameters (an empty
        // list of allowed registries) have no manifest to deny as written.
        let configurable = example["policy"].as_str().unwrap().contains("  param ");
        let found = !result["findings"].as_array().unwrap().is_empty();
        assert!(
            found || configurable,
            "{name}: no finding on\n{}",
            example["manifest"]
        );
        for test in result["tests"].as_array().unwrap() {
            // Fixture files cannot be read in a browser; every other test passes.
            let failures = test["failures"].to_string();
            assert!(
                test["passed"] == true || failures.contains("fixture file"),
                "{name}: {test}"
            );
        }
    }
    assert!(example("stdlib/nope.rampart")["error"].is_string());
}

#[test]
fn yaml_round_trips_through_the_loader() {
    let value = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web", "tier": "true"}, "annotations": {}},
        "spec": {
            "containers": [
                {"name": "app", "image": "nginx:1.27", "args": ["--port", "8080", "a: b", "", "#x", "yes"], "ports": [{"containerPort": 80}]},
                {"name": "sidecar", "image": "busybox", "command": [], "env": [{"name": "X", "value": "0x10"}]}
            ],
            "nested": [[1, 2], [{"a": null}], []],
            "ratio": 1.5,
            "enabled": false,
            "text": "line one\nline \"two\"",
            "unicode": "é"
        }
    });
    let text = to_yaml(&rampart_engine::json::Json::from(value.clone()));
    let outcome = load::load_str(&text, &LoadLimits::default());
    assert_eq!(outcome.errors, vec![], "{text}");
    assert_eq!(outcome.documents[0].value, value, "{text}");
    assert!(
        text.contains("  containers:\n    - name: app\n      image: nginx:1.27\n"),
        "{text}"
    );
    assert_eq!(to_yaml(&rampart_engine::json!("true")), "\"true\"\n");
}

#[test]
fn the_prelude_holds_every_standard_library_function_and_compiles() {
    use rampart_lang::diagnostic::Reporter;
    use rampart_lang::parse::parse;
    let mut expected = Vec::new();
    for (name, text) in rampart_stdlib::sources() {
        let mut reporter = Reporter::new(&name, text);
        expected.extend(
            parse(text, &mut reporter)
                .functions
                .into_iter()
                .map(|function| function.name.text),
        );
    }
    let mut reporter = Reporter::new(PRELUDE_FILE, prelude());
    let file = parse(prelude(), &mut reporter);
    assert_eq!(reporter.diagnostics, vec![]);
    let found: Vec<String> = file
        .functions
        .into_iter()
        .map(|function| function.name.text)
        .collect();
    assert!(!found.is_empty());
    assert_eq!(found, expected);
    assert!(file.policies.is_empty() && file.tests.is_empty());
    let compilation = compile(&[Source {
        name: PRELUDE_FILE.to_owned(),
        text: prelude().to_owned(),
    }]);
    assert_eq!(compilation.diagnostics, vec![]);
}

#[test]
fn the_configuration_is_applied_as_check_applies_it() {
    let policy = r#"
policy example.replicas {
  severity medium
  param most: int = 3
  match kinds Deployment
  deny resource.spec.replicas > params.most
    at spec.replicas
    message "{resource.spec.replicas} replicas; at most {params.most}"
}
"#;
    let manifest = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 8}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: old, namespace: legacy}
spec: {replicas: 9}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dns, namespace: kube-system}
spec: {replicas: 9}
";
    let config = "\
params:
  example.replicas:
    most: 5
actions:
  example.replicas: warn
exceptions:
  - policy: example.replicas
    namespace: legacy
    reason: migrating (OPS-1)
    expires: 2027-03-31
exemptions:
  namespaces: [kube-system]
";
    let day = |text: &str| rampart_core::Date::parse(text).ok();
    let result = evaluate_configured(policy, manifest, config, day("2027-01-15"));
    assert_eq!(result["config"], json!([]));
    assert_eq!(result["findings"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        result["findings"][0]["message"],
        json!("8 replicas; at most 5")
    );
    assert_eq!(result["findings"][0]["action"], json!("warn"));
    assert_eq!(result["findings"][0]["line"], json!(4));
    assert_eq!(
        (result["suppressed"].clone(), result["exempted"].clone()),
        (json!(1), json!(1))
    );
    let later = evaluate_configured(policy, manifest, config, day("2027-04-01"));
    assert_eq!(later["findings"].as_array().map(Vec::len), Some(2));
    // Through the request, as the page sends it.
    let request =
        json!({"policy": policy, "manifest": manifest, "config": config, "today": "2027-01-15"});
    assert_eq!(run(request.to_string().as_bytes())["suppressed"], json!(1));
    // A configuration's problems are reported with their line.
    let broken = evaluate_configured(policy, manifest, "parms: {}\n", day("2027-01-15"));
    assert_eq!(broken["config"][0]["line"], json!(1));
    assert!(
        broken["config"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("parms"),
        "{}",
        broken["config"]
    );
}
