//! JUnit XML, for CI systems that show test results: one `<testsuite>` per
//! manifest file, one `<testcase>` per resource and policy that found
//! something on it, and one passing `<testcase>` per resource that nothing
//! was found on.
//!
//! The report does not say which policies matched a resource without
//! finding anything, so a clean resource is one passing test case rather than
//! one per policy that matched it.

use super::{Report, ReportError, ReportFinding, ResourceIdentity, xml};
use crate::inputs::InputFile;
use rampart_engine::Action;
use std::collections::HashMap;
use std::fmt::Write as _;

/// The name of the test case of a resource that nothing was found on.
const CLEAN_TEST_NAME: &str = "all policies";

/// The name of the suite of errors that belong to no file.
const TOOL_SUITE_NAME: &str = "rampart";

/// The resources of one manifest file, in file order.
#[derive(Clone, Debug, Default)]
pub struct FileResources {
    /// The file, named as in the report.
    pub file: String,
    /// Each resource with the index of the document holding it.
    pub resources: Vec<(usize, ResourceIdentity)>,
    /// For each resource (same order), the policies that matched it, when
    /// known: each becomes a test case, passed or failed.
    pub matched: Vec<Vec<String>>,
}

/// Lists the resources of every input file that `judged` accepts (the
/// configuration's exemptions leave some out), as the check judged them.
pub fn resources_of(
    inputs: &[InputFile],
    judged: &dyn Fn(&rampart_engine::json::Json) -> bool,
) -> Vec<FileResources> {
    inputs
        .iter()
        .map(|input| {
            // Load errors were already reported by the check; only the
            // resources are wanted here.
            let mut ignored = Vec::new();
            let resources = rampart_engine::load::resources(&input.documents, &mut ignored)
                .iter()
                .filter(|resource| judged(resource.value))
                .map(|resource| {
                    (
                        resource.document.index,
                        ResourceIdentity::of(resource.value),
                    )
                })
                .collect();
            FileResources {
                file: input.name.clone(),
                resources,
                matched: Vec::new(),
            }
        })
        .collect()
}

/// One `<testcase>`.
struct TestCase {
    name: String,
    class_name: String,
    file: String,
    line: Option<u32>,
    outcome: Outcome,
}

enum Outcome {
    Passed {
        output: Option<String>,
    },
    Failed {
        kind: &'static str,
        message: String,
        text: String,
    },
    Errored {
        kind: String,
        message: String,
        text: String,
    },
}

/// One `<testsuite>`.
struct TestSuite {
    name: String,
    cases: Vec<TestCase>,
}

/// Renders the report as JUnit XML; `files` lists every resource judged,
/// so that clean resources show as passing tests.
pub fn render(report: &Report, files: &[FileResources]) -> String {
    // Findings by file and document, so that matching them to resources
    // stays linear however many resources there are.
    let mut by_document: HashMap<(&str, usize), Vec<usize>> = HashMap::new();
    for (index, finding) in report.findings.iter().enumerate() {
        by_document
            .entry((&*finding.file, finding.document))
            .or_default()
            .push(index);
    }
    let mut used = vec![false; report.findings.len()];
    let mut suites: Vec<TestSuite> = Vec::new();
    for file in files {
        let mut cases = Vec::new();
        for (position, (document, identity)) in file.resources.iter().enumerate() {
            let candidates = by_document
                .get(&(file.file.as_str(), *document))
                .map_or(&[][..], Vec::as_slice);
            let mine = claim(candidates, &mut used, report, identity);
            let matched = file.matched.get(position).map_or(&[][..], Vec::as_slice);
            cases.extend(resource_cases(&file.file, identity, &mine, matched, report));
        }
        suites.push(TestSuite {
            name: file.file.clone(),
            cases,
        });
    }
    // Findings on resources the list does not hold still must not vanish.
    for (index, finding) in report.findings.iter().enumerate() {
        if used[index] {
            continue;
        }
        let candidates = by_document
            .get(&(&*finding.file, finding.document))
            .map_or(&[][..], Vec::as_slice);
        let mine = claim(candidates, &mut used, report, &finding.resource);
        let cases = resource_cases(&finding.file, &finding.resource, &mine, &[], report);
        suite_for(&mut suites, &finding.file).cases.extend(cases);
    }
    for error in &report.errors {
        let suite_name = if error.file.is_empty() {
            TOOL_SUITE_NAME
        } else {
            &error.file
        };
        suite_for(&mut suites, suite_name)
            .cases
            .push(error_case(error));
    }
    write_xml(&suites)
}

/// Takes the findings among `candidates` (of one file and document) that are
/// about `identity` and not yet taken by another resource.
fn claim(
    candidates: &[usize],
    used: &mut [bool],
    report: &Report,
    identity: &ResourceIdentity,
) -> Vec<usize> {
    let mut mine = Vec::new();
    for &index in candidates {
        if !used[index] && same_resource(&report.findings[index].resource, identity) {
            used[index] = true;
            mine.push(index);
        }
    }
    mine
}

fn same_resource(left: &ResourceIdentity, right: &ResourceIdentity) -> bool {
    left.api_version == right.api_version
        && left.kind == right.kind
        && left.namespace == right.namespace
        && left.name == right.name
}

fn suite_for<'a>(suites: &'a mut Vec<TestSuite>, name: &str) -> &'a mut TestSuite {
    let position = match suites.iter().position(|suite| suite.name == name) {
        Some(position) => position,
        None => {
            suites.push(TestSuite {
                name: name.to_owned(),
                cases: Vec::new(),
            });
            suites.len() - 1
        }
    };
    &mut suites[position]
}

/// The test cases of one resource: one per policy with findings on it, in
/// the order the policies first found something, or one passing case.
fn resource_cases(
    file: &str,
    identity: &ResourceIdentity,
    findings: &[usize],
    matched: &[String],
    report: &Report,
) -> Vec<TestCase> {
    let class_name = identity.describe();
    let passed = |policy: &str| TestCase {
        name: policy.to_owned(),
        class_name: class_name.clone(),
        file: file.to_owned(),
        line: None,
        outcome: Outcome::Passed { output: None },
    };
    if findings.is_empty() && matched.is_empty() {
        return vec![TestCase {
            name: CLEAN_TEST_NAME.to_owned(),
            class_name,
            file: file.to_owned(),
            line: None,
            outcome: Outcome::Passed { output: None },
        }];
    }
    let mut policies: Vec<&str> = Vec::new();
    for &index in findings {
        let policy = &*report.findings[index].policy;
        if !policies.contains(&policy) {
            policies.push(policy);
        }
    }
    let mut cases: Vec<TestCase> = policies
        .iter()
        .map(|policy| {
            let group: Vec<&ReportFinding> = findings
                .iter()
                .map(|&index| &report.findings[index])
                .filter(|finding| *finding.policy == **policy)
                .collect();
            policy_case(policy, &class_name, file, &group)
        })
        .collect();
    // Every policy that judged the resource and found nothing is a passed case.
    cases.extend(
        matched
            .iter()
            .filter(|policy| !policies.contains(&policy.as_str()))
            .map(|policy| passed(policy)),
    );
    cases
}

fn policy_case(policy: &str, class_name: &str, file: &str, group: &[&ReportFinding]) -> TestCase {
    let text: String = group.iter().map(|finding| finding_text(finding)).collect();
    let failing: Vec<&&ReportFinding> = group
        .iter()
        .filter(|finding| finding.action != Action::Audit)
        .collect();
    let outcome = match failing.first() {
        // Audit findings are recorded, never enforced: the test passes and
        // carries them as output.
        None => Outcome::Passed { output: Some(text) },
        Some(first) => {
            let kind = if failing.iter().any(|finding| finding.action == Action::Deny) {
                "deny"
            } else {
                "warn"
            };
            let mut message = first.message.clone();
            if failing.len() > 1 {
                let _ = write!(message, " (and {} more)", failing.len() - 1);
            }
            Outcome::Failed {
                kind,
                message,
                text,
            }
        }
    };
    TestCase {
        name: policy.to_owned(),
        class_name: class_name.to_owned(),
        file: file.to_owned(),
        line: group.first().map(|finding| finding.line),
        outcome,
    }
}

/// `file:line:column: action severity policy`, the message, and the pointer.
fn finding_text(finding: &ReportFinding) -> String {
    format!(
        "{}:{}:{}: {} {} {}\n{}\nat {}\n",
        finding.file,
        finding.line,
        finding.column,
        finding.action.as_str(),
        finding.severity.as_str(),
        finding.policy,
        finding.message,
        if finding.path.is_empty() {
            "/"
        } else {
            &finding.path
        }
    )
}

fn error_case(error: &ReportError) -> TestCase {
    let location = match (error.line, error.column) {
        (Some(line), Some(column)) => format!("{}:{line}:{column}", error.file),
        (Some(line), None) => format!("{}:{line}", error.file),
        _ => error.file.clone(),
    };
    let mut text = if location.is_empty() {
        error.message.clone()
    } else {
        format!("{location}: {}", error.message)
    };
    text.push('\n');
    if let Some(help) = &error.help {
        let _ = writeln!(text, "help: {help}");
    }
    let kind = error.code.clone().unwrap_or_else(|| "error".to_owned());
    TestCase {
        name: if location.is_empty() {
            kind.clone()
        } else {
            format!("{kind} at {location}")
        },
        class_name: if error.file.is_empty() {
            TOOL_SUITE_NAME.to_owned()
        } else {
            error.file.clone()
        },
        file: error.file.clone(),
        line: error.line,
        outcome: Outcome::Errored {
            kind,
            message: error.message.clone(),
            text,
        },
    }
}

fn write_xml(suites: &[TestSuite]) -> String {
    let count = |suite: &TestSuite, wanted: fn(&Outcome) -> bool| {
        suite
            .cases
            .iter()
            .filter(|case| wanted(&case.outcome))
            .count()
    };
    let failed = |outcome: &Outcome| matches!(outcome, Outcome::Failed { .. });
    let errored = |outcome: &Outcome| matches!(outcome, Outcome::Errored { .. });
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests: usize = suites.iter().map(|suite| suite.cases.len()).sum();
    let failures: usize = suites.iter().map(|suite| count(suite, failed)).sum();
    let errors: usize = suites.iter().map(|suite| count(suite, errored)).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"rampart\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    for suite in suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\">",
            xml::escape_attribute(&suite.name),
            suite.cases.len(),
            count(suite, failed),
            count(suite, errored)
        );
        for case in &suite.cases {
            write_case(&mut out, case);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn write_case(out: &mut String, case: &TestCase) {
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\"",
        xml::escape_attribute(&case.name),
        xml::escape_attribute(&case.class_name)
    );
    if !case.file.is_empty() {
        let _ = write!(out, " file=\"{}\"", xml::escape_attribute(&case.file));
    }
    if let Some(line) = case.line {
        let _ = write!(out, " line=\"{line}\"");
    }
    match &case.outcome {
        Outcome::Passed { output: None } => out.push_str("/>\n"),
        Outcome::Passed {
            output: Some(output),
        } => {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                xml::escape_text(output)
            );
        }
        Outcome::Failed {
            kind,
            message,
            text,
        } => {
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\" type=\"{kind}\">{}</failure>\n    </testcase>",
                xml::escape_attribute(message),
                xml::escape_text(text)
            );
        }
        Outcome::Errored {
            kind,
            message,
            text,
        } => {
            let _ = writeln!(
                out,
                ">\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>",
                xml::escape_attribute(message),
                xml::escape_attribute(kind),
                xml::escape_text(text)
            );
        }
    }
}
