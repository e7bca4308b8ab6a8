//! Tests of the CI formats over one fixed report: snapshots of each format,
//! JUnit parsed as XML, and the policy report's YAML read back by the
//! manifest loader. The report and policies are shared with `sarif_tests`.

use super::junit::FileResources;
use super::{
    Report, ReportError, ReportFinding, ResourceIdentity, github, junit, policy_report, sarif, xml,
};
use rampart_engine::ir::PolicySet;
use rampart_engine::{Action, PatchKind, PatchOperation, Severity};
use serde_json::{Value, json};
use std::sync::Arc;

/// Four policies; `test.quiet.never` finds nothing but must still be a rule.
const POLICIES: &str = r#"
/// Privileged containers can take over the node.
policy test.pods.privileged {
  title "Privileged containers are disallowed"
  severity critical
  controls ["PSS:baseline:privileged", "NSA-CISA:C-0057"]
  remediation "Remove `securityContext.privileged`, or set it to false."
  match pods
  for c in pod.containers {
    deny c.securityContext.privileged == true at c.securityContext.privileged message "container {c.name}: privileged"
  }
}

/// Images should name a version.
policy test.pods.image_tag {
  title "Images must not use the latest tag"
  severity medium
  match pods
  for c in pod.containers {
    warn c.image == "nginx" at c.image message "container {c.name}: no tag"
  }
}

/// Wildcard verbs grant more than intended.
policy test.rbac.wildcard {
  title "Roles should not grant every verb"
  severity low
  match kinds ClusterRole
  for (i, rule) in resource.rules {
    warn "*" in rule.verbs at rules[i].verbs message "rule {i} grants every verb"
  }
}

/// Never fires.
policy test.quiet.never {
  title "A policy that finds nothing"
  severity info
  match kinds ConfigMap
  deny resource.metadata.name == "never" message "never"
}
"#;

pub(super) fn policies() -> PolicySet {
    let compilation = rampart_lang::compile(&[rampart_lang::Source {
        name: "test.rampart".to_owned(),
        text: POLICIES.to_owned(),
    }]);
    assert!(!compilation.has_errors(), "{:#?}", compilation.diagnostics);
    compilation.set
}

pub(crate) fn identity(
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> ResourceIdentity {
    ResourceIdentity {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        namespace: namespace.map(str::to_owned),
        name: name.to_owned(),
    }
}

fn web() -> ResourceIdentity {
    identity("apps/v1", "Deployment", Some("shop"), "web")
}

/// The file name has a space and a comma, and one message has every
/// character that some format must escape.
const ROLES_FILE: &str = "deploy/cluster roles,v1.yaml";

pub(crate) fn finding(
    policy: &str,
    action: Action,
    severity: Severity,
    message: &str,
) -> ReportFinding {
    ReportFinding {
        policy: policy.into(),
        rule: 0,
        action,
        severity,
        message: message.to_owned(),
        controls: Arc::from(&[][..]),
        resource: web().into(),
        file: "deploy/web.yaml".into(),
        document: 0,
        line: 1,
        column: 1,
        path: String::new(),
        fix: Vec::new(),
        explanation: Vec::new(),
    }
}

pub(super) fn report() -> Report {
    let privileged = |container: usize, line: u32| ReportFinding {
        controls: Arc::from(vec![
            "PSS:baseline:privileged".to_owned(),
            "NSA-CISA:C-0057".to_owned(),
        ]),
        line,
        column: 13,
        path: format!("/spec/template/spec/containers/{container}/securityContext/privileged"),
        fix: vec![PatchOperation {
            op: PatchKind::Replace,
            path: format!("/spec/template/spec/containers/{container}/securityContext/privileged"),
            value: Some(rampart_engine::json::Json::Bool(false)),
        }],
        ..finding(
            "test.pods.privileged",
            Action::Deny,
            Severity::Critical,
            &format!("container c{container}: privileged"),
        )
    };
    let tag = ReportFinding {
        line: 19,
        column: 18,
        path: "/spec/template/spec/containers/0/image".to_owned(),
        ..finding(
            "test.pods.image_tag",
            Action::Warn,
            Severity::Medium,
            "container c0: no tag",
        )
    };
    let wildcard = ReportFinding {
        resource: identity(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            None,
            "admin-ish",
        )
        .into(),
        file: ROLES_FILE.into(),
        line: 8,
        column: 12,
        path: "/rules/0/verbs".to_owned(),
        ..finding(
            "test.rbac.wildcard",
            Action::Audit,
            Severity::Low,
            "rule 0: verbs [\"*\"] grant <all> & more, 100%: sure,\nsecond line",
        )
    };
    let mut report = Report {
        version: super::REPORT_VERSION,
        findings: vec![privileged(0, 21), tag, privileged(1, 31), wildcard],
        errors: vec![
            ReportError {
                file: "policies/bad.rampart".to_owned(),
                line: Some(3),
                column: Some(5),
                end_column: Some(17),
                code: Some("E0204".to_owned()),
                message: "unknown field `spec.replica`".to_owned(),
                help: Some("did you mean `spec.replicas`?".to_owned()),
            },
            ReportError {
                file: "deploy/broken.yaml".to_owned(),
                line: Some(2),
                column: Some(1),
                end_column: None,
                code: None,
                message: "mapping values are not allowed here".to_owned(),
                help: None,
            },
            ReportError {
                file: String::new(),
                line: None,
                column: None,
                end_column: None,
                code: None,
                message: "--set nope: no such set".to_owned(),
                help: None,
            },
        ],
        ..Report::default()
    };
    report.warnings.push(ReportError {
        file: "rampart.yaml".to_owned(),
        line: Some(4),
        column: None,
        end_column: None,
        code: None,
        message: "the exception for `test.pods.image_tag` matched no finding".to_owned(),
        help: None,
    });
    report.summary.files = 3;
    report.summary.resources = 3;
    report.count();
    report
}

pub(super) fn clean_report() -> Report {
    let mut clean = report();
    clean.errors.clear();
    clean.count();
    clean
}

fn resources() -> Vec<FileResources> {
    vec![
        FileResources {
            file: "deploy/web.yaml".to_owned(),
            resources: vec![
                (0, web()),
                (1, identity("v1", "Service", Some("shop"), "web")),
            ],
            // The Deployment was judged by one more policy, which passed;
            // the Service by none (its matches are unknown: one clean case).
            matched: vec![
                vec![
                    "test.pods.privileged".to_owned(),
                    "test.pods.image_tag".to_owned(),
                    "test.pods.probes".to_owned(),
                ],
                Vec::new(),
            ],
        },
        FileResources {
            file: ROLES_FILE.to_owned(),
            resources: vec![(
                0,
                identity(
                    "rbac.authorization.k8s.io/v1",
                    "ClusterRole",
                    None,
                    "admin-ish",
                ),
            )],
            matched: Vec::new(),
        },
        FileResources {
            file: "deploy/broken.yaml".to_owned(),
            resources: Vec::new(),
            matched: Vec::new(),
        },
    ]
}

/// SARIF names the tool's version; the snapshot should not change with it.
fn sarif_text(report: &Report) -> String {
    let version = format!("\"{}\"", env!("CARGO_PKG_VERSION"));
    sarif::render(report, &policies()).replace(&version, "\"[version]\"")
}

#[test]
fn sarif_snapshot() {
    insta::assert_snapshot!("sarif", sarif_text(&report()));
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit", junit::render(&report(), &resources()));
}

#[test]
fn policy_report_snapshot() {
    insta::assert_snapshot!("policy_report", policy_report::render(&report()));
}

#[test]
fn github_snapshot() {
    insta::assert_snapshot!("github", github::render(&report()));
}

#[test]
fn junit_is_well_formed_and_counts_add_up() {
    let xml = junit::render(&report(), &resources());
    let document = roxmltree::Document::parse(&xml).unwrap();
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|node| node.has_tag_name("testsuite"))
        .collect();
    let names: Vec<&str> = suites
        .iter()
        .map(|suite| suite.attribute("name").unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "deploy/web.yaml",
            ROLES_FILE,
            "deploy/broken.yaml",
            "policies/bad.rampart",
            "rampart"
        ]
    );
    let cases = root
        .descendants()
        .filter(|node| node.has_tag_name("testcase"))
        .count();
    assert_eq!(root.attribute("tests"), Some(cases.to_string().as_str()));
    let failure = root
        .descendants()
        .find(|node| node.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("deny"));
    assert_eq!(
        failure.attribute("message"),
        Some("container c0: privileged (and 1 more)")
    );
    // The audit finding passes, its message (newline and all) kept as output.
    let output = root
        .descendants()
        .find(|node| node.has_tag_name("system-out"))
        .unwrap();
    assert!(output.text().unwrap().contains("100%: sure,\nsecond line"));
}

#[test]
fn xml_escapes_markup_and_drops_what_xml_cannot_hold() {
    assert_eq!(
        xml::escape_attribute("a\"<&>\n\t'"),
        "a&quot;&lt;&amp;&gt;&#10;&#9;'"
    );
    assert_eq!(
        xml::escape_text("a<&>\r\n\u{1}"),
        "a&lt;&amp;&gt;&#13;\n\u{fffd}"
    );
}

/// Reads YAML back with the loader `rampart check` uses for manifests.
fn load_yaml(text: &str) -> Vec<Value> {
    let outcome =
        rampart_engine::load::load_str(text, &rampart_engine::load::LoadLimits::default());
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    outcome
        .documents
        .into_iter()
        .map(|document| Value::from(document.value))
        .collect()
}

#[test]
fn policy_reports_read_back_as_written() {
    let documents = load_yaml(&policy_report::render(&report()));
    let kinds: Vec<&str> = documents
        .iter()
        .map(|document| document["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["PolicyReport", "ClusterPolicyReport"]);
    assert_eq!(documents[0]["metadata"]["namespace"], json!("shop"));
    assert_eq!(
        documents[0]["summary"],
        json!({"pass": 0, "fail": 2, "warn": 1, "error": 0, "skip": 0})
    );
    assert_eq!(
        documents[1]["summary"],
        json!({"pass": 0, "fail": 0, "warn": 1, "error": 3, "skip": 0})
    );
    let message = report().findings[3].message.clone();
    assert_eq!(documents[1]["results"][0]["message"], json!(message));
}

#[test]
fn yaml_quoting_keeps_every_string_a_string() {
    let strings = [
        "",
        "yes",
        "no",
        "null",
        "~",
        "true",
        "123",
        "0x1F",
        "1e3",
        ".inf",
        "- item",
        "key: value",
        "# comment",
        "'single'",
        "\"double\"",
        "back\\slash",
        "line\nbreak",
        "tab\there",
        "carriage\rreturn",
        "\u{7f}\u{85}\u{2028}",
        "\u{feff}bom",
        "  padded  ",
        "é 😀",
        "{flow}",
        "[list]",
        "&anchor",
        "*alias",
        "!tag",
        "%directive",
        "@at",
        "`tick`",
    ];
    let value = json!({ "strings": strings, "nested": [{ "a": [1, true, null] }, [], [["deep"]]], "empty": {} });
    assert_eq!(load_yaml(&policy_report::yaml_document(&value)), [value]);
    // Keys that YAML would read as something else are quoted too.
    let keys =
        json!({ "yes": 1, "null": 2, "9lives": 3, "a key": 4, "": 5, "app.kubernetes.io/name": 6 });
    assert_eq!(load_yaml(&policy_report::yaml_document(&keys)), [keys]);
}

#[test]
fn github_commands_escape_data_and_properties() {
    assert_eq!(github::escape_data("100%\r\n: ,"), "100%25%0D%0A: ,");
    assert_eq!(github::escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    let text = github::render(&report());
    let audit = text
        .lines()
        .find(|line| line.starts_with("::notice "))
        .unwrap();
    assert!(audit.starts_with(
        "::notice file=deploy/cluster roles%2Cv1.yaml,line=8,col=12,title=test.rbac.wildcard::"
    ));
    assert!(audit.ends_with("100%25: sure,%0Asecond line"));
}

#[test]
fn policy_reports_list_passing_policies_when_matches_are_known() {
    let mut with_matches = report();
    with_matches.matched = resources();
    let yaml = policy_report::render(&with_matches);
    // test.pods.probes matched the Deployment and found nothing: one pass.
    assert!(
        yaml.contains("    pass: 1\n") || yaml.contains("  pass: 1\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains(
            "policy: \"test.pods.probes\"\n    rule: \"test.pods.probes\"\n    result: \"pass\""
        ),
        "{yaml}"
    );
}
