//! SARIF 2.1.0, as GitHub code scanning reads it.
//!
//! Every policy that ran becomes a rule (so that code scanning can close an
//! alert when its policy stops firing), every finding a result located at
//! `file:line:column`, and every error a tool execution notification that
//! marks the run as unsuccessful.

use super::{Report, ReportError, ReportFinding};
use rampart_engine::ir::{Policy, PolicySet};
use rampart_engine::{Action, PatchKind, PatchOperation, Severity};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::Write;

/// The schema that `$schema` names: the OASIS errata 01 schema, the one
/// vendored under `cli/tests/schemas/` and validated against in tests.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Where people can read about the tool (`tool.driver.informationUri`).
pub const INFORMATION_URI: &str = "https://example.invalid/rampart";

/// The base that relative artifact URIs are resolved against; GitHub maps it
/// to the checkout, so paths must be relative to the repository root.
const SOURCE_ROOT: &str = "%SRCROOT%";

/// The key of the fingerprint in `partialFingerprints`, versioned so that a
/// change to what is hashed does not silently reopen every alert.
const FINGERPRINT_KEY: &str = "rampartFinding/v1";

/// Renders the report as a SARIF log, pretty-printed, ending in a newline.
#[cfg(test)]
pub fn render(report: &Report, policies: &PolicySet) -> String {
    render_with_sources(report, policies, &HashMap::new())
}

/// Renders the report into a string (see [`write_with_sources`]).
#[cfg(test)]
pub fn render_with_sources(
    report: &Report,
    policies: &PolicySet,
    texts: &HashMap<String, &str>,
) -> String {
    let mut out = Vec::new();
    // Writing to a vector does not fail.
    let _ = write_with_sources(report, policies, texts, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes the report as a SARIF log, pretty-printed, ending in a newline;
/// findings in files whose text is in `texts` get SARIF `fixes` with exact
/// replacements. The results are written one at a time, each as its own
/// small JSON value, so that memory does not grow with a tree of the whole
/// log (160,000 findings took 1.5 GB that way); the text is the same as
/// pretty-printing that tree.
pub fn write_with_sources(
    report: &Report,
    policies: &PolicySet,
    texts: &HashMap<String, &str>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let rule_indexes: HashMap<&str, usize> = policies
        .policies
        .iter()
        .enumerate()
        .map(|(index, policy)| (policy.id.as_str(), index))
        .collect();
    let rules: Vec<Value> = policies.policies.iter().map(rule).collect();
    // Warnings (an unused exception, say) are worth showing but leave the
    // run successful.
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|error| notification(error, "error"))
        .chain(
            report
                .warnings
                .iter()
                .map(|warning| notification(warning, "warning")),
        )
        .collect();
    let tool = json!({
        "driver": {
            "name": "rampart",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "informationUri": INFORMATION_URI,
            "rules": rules,
        }
    });
    let invocations = json!([{
        "executionSuccessful": report.errors.is_empty(),
        "exitCode": report.exit_code(),
        "toolExecutionNotifications": notifications,
    }]);
    // The log's shape, as `{:#}` prints it: two spaces per level; the
    // run's members are at depth 3 and its results at depth 4.
    write!(
        out,
        "{{\n  \"$schema\": {},\n  \"version\": \"2.1.0\",\n  \"runs\": [\n    {{\n      \"tool\": ",
        Value::from(SCHEMA_URI)
    )?;
    write_nested(out, &tool, 6)?;
    out.write_all(b",\n      \"invocations\": ")?;
    write_nested(out, &invocations, 6)?;
    // The loader counts columns in characters, not UTF-16 units.
    out.write_all(b",\n      \"columnKind\": \"unicodeCodePoints\",\n      \"results\": [")?;
    for (index, finding) in report.findings.iter().enumerate() {
        let mut value = result(finding, rule_indexes.get(&*finding.policy).copied());
        let fix = texts.get(&*finding.file).and_then(|text| {
            super::sarif_fix::fix_of(
                finding,
                text,
                artifact_location(&finding.file),
                describe_patch(&finding.fix),
            )
        });
        if let (Some(fix), Value::Object(members)) = (fix, &mut value) {
            members.insert("fixes".into(), json!([fix]));
        }
        out.write_all(if index == 0 { b"\n" } else { b",\n" })?;
        out.write_all(b"        ")?;
        write_nested(out, &value, 8)?;
    }
    if !report.findings.is_empty() {
        out.write_all(b"\n      ")?;
    }
    out.write_all(b"]\n    }\n  ]\n}\n")
}

/// Writes `value` pretty-printed as if it stood `indent` spaces deep in a
/// larger pretty-printed document: every line after its first is indented
/// by that much (a JSON string holds no raw line break, so every line
/// break is the printer's).
fn write_nested(out: &mut dyn Write, value: &Value, indent: usize) -> std::io::Result<()> {
    let text = format!("{value:#}");
    let padding = " ".repeat(indent);
    let mut lines = text.split('\n');
    if let Some(first) = lines.next() {
        out.write_all(first.as_bytes())?;
    }
    for line in lines {
        out.write_all(b"\n")?;
        out.write_all(padding.as_bytes())?;
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// GitHub's `security-severity`: a number from 0 to 10, written as a string,
/// chosen so that each severity lands in GitHub's band of the same name.
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// The default level of a rule, from the severity of its policy.
fn rule_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The level of a result, from what the finding does to the verdict.
fn result_level(action: Action) -> &'static str {
    match action {
        Action::Deny => "error",
        Action::Warn => "warning",
        Action::Audit => "note",
    }
}

fn rule(policy: &Policy) -> Value {
    // GitHub shows `security-severity` only for rules tagged `security`;
    // tags must be unique, and a policy may list a control twice.
    let mut tags = vec!["security".to_owned()];
    for control in &policy.controls {
        if !tags.contains(control) {
            tags.push(control.clone());
        }
    }
    let description = non_empty(&policy.description, &policy.title);
    let remediation = non_empty(&policy.remediation, description);
    // The description follows the remediation only when it is not already
    // standing in for a missing one.
    let mut markdown = if remediation == description {
        description.to_owned()
    } else {
        format!("{remediation}\n\n{description}")
    };
    if !policy.controls.is_empty() {
        let controls: Vec<String> = policy
            .controls
            .iter()
            .map(|control| format!("`{control}`"))
            .collect();
        markdown.push_str(&format!("\n\nControls: {}", controls.join(", ")));
    }
    json!({
        "id": policy.id,
        "name": policy.id,
        "shortDescription": { "text": policy.title },
        "fullDescription": { "text": description },
        "help": { "text": remediation, "markdown": markdown },
        "defaultConfiguration": { "level": rule_level(policy.severity) },
        "properties": {
            "security-severity": security_severity(policy.severity),
            "tags": tags,
        },
    })
}

fn result(finding: &ReportFinding, rule_index: Option<usize>) -> Value {
    let mut result = Map::new();
    result.insert("ruleId".into(), json!(finding.policy));
    // A finding of a policy missing from the set cannot point at a rule.
    if let Some(index) = rule_index {
        result.insert("ruleIndex".into(), json!(index));
    }
    result.insert("level".into(), json!(result_level(finding.action)));
    result.insert("message".into(), json!({ "text": finding.message }));
    result.insert(
        "locations".into(),
        json!([{
            "physicalLocation": {
                "artifactLocation": artifact_location(&finding.file),
                "region": { "startLine": finding.line.max(1), "startColumn": finding.column.max(1) },
            },
            "logicalLocations": [{
                "kind": "resource",
                "fullyQualifiedName": finding.resource.describe(),
            }],
        }]),
    );
    result.insert(
        "partialFingerprints".into(),
        json!({ FINGERPRINT_KEY: fingerprint(finding) }),
    );
    let mut properties = Map::new();
    properties.insert("action".into(), json!(finding.action.as_str()));
    properties.insert("severity".into(), json!(finding.severity.as_str()));
    properties.insert("resource".into(), json!(finding.resource));
    properties.insert("document".into(), json!(finding.document));
    properties.insert("path".into(), json!(finding.path));
    // The patch also travels in the property bag: SARIF `fixes` (added by
    // `render_with_sources` when the file's text is at hand) need exact text
    // regions, which a consumer of the bare patch does not.
    if !finding.fix.is_empty() {
        properties.insert("fix".into(), json!(describe_patch(&finding.fix)));
        properties.insert("fixPatch".into(), json!(finding.fix));
    }
    result.insert("properties".into(), Value::Object(properties));
    Value::Object(result)
}

fn notification(error: &ReportError, level: &str) -> Value {
    let mut text = error.message.clone();
    if let Some(help) = &error.help {
        text.push_str(&format!(" (help: {help})"));
    }
    let mut notification = Map::new();
    notification.insert("level".into(), json!(level));
    notification.insert("message".into(), json!({ "text": text }));
    if let Some(code) = &error.code {
        notification.insert("descriptor".into(), json!({ "id": code }));
    }
    // Problems with no file (an unknown set name) have no location at all.
    if !error.file.is_empty() {
        let mut physical = Map::new();
        physical.insert("artifactLocation".into(), artifact_location(&error.file));
        if let Some(line) = error.line {
            let mut region = Map::new();
            region.insert("startLine".into(), json!(line.max(1)));
            if let Some(column) = error.column {
                region.insert("startColumn".into(), json!(column.max(1)));
                // SARIF's end column is exclusive, as the report's is.
                if let Some(end) = error.end_column.filter(|&end| end > column) {
                    region.insert("endColumn".into(), json!(end));
                }
            }
            physical.insert("region".into(), Value::Object(region));
        }
        notification.insert(
            "locations".into(),
            json!([{ "physicalLocation": physical }]),
        );
    }
    Value::Object(notification)
}

/// One sentence per patch operation, e.g. ``replace `/spec/x` with `false` ``.
pub fn describe_patch(patch: &[PatchOperation]) -> String {
    let sentences: Vec<String> = patch
        .iter()
        .map(|operation| {
            let value = operation
                .value
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            match operation.op {
                PatchKind::Add => format!("add `{value}` at `{}`", operation.path),
                PatchKind::Replace => format!("replace `{}` with `{value}`", operation.path),
                PatchKind::Remove => format!("remove `{}`", operation.path),
            }
        })
        .collect();
    format!("Apply the JSON patch: {}.", sentences.join("; "))
}

/// The artifact location of a file name as the report shows it: relative
/// names against `%SRCROOT%`, absolute ones as `file:` URIs.
fn artifact_location(file: &str) -> Value {
    let slashed = file.replace('\\', "/");
    if slashed.starts_with('/') {
        return json!({ "uri": format!("file://{}", percent_encode(&slashed)) });
    }
    let mut characters = slashed.chars();
    if let (Some(drive), Some(':')) = (characters.next(), characters.next())
        && drive.is_ascii_alphabetic()
    {
        return json!({ "uri": format!("file:///{drive}:{}", percent_encode(characters.as_str())) });
    }
    let relative = slashed.strip_prefix("./").unwrap_or(&slashed);
    json!({ "uri": percent_encode(relative), "uriBaseId": SOURCE_ROOT })
}

/// Percent-encodes everything but unreserved characters and `/` (RFC 3986),
/// so that a name with spaces or `#` stays one path and a `:` in a relative
/// name is not read as a scheme.
fn percent_encode(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A hash of what identifies a finding across runs: the policy, the file,
/// the resource and the JSON pointer. Line numbers are left out so that an
/// edit above a finding does not make it look new; the resource is put in so
/// that two resources of one file (same pointer) stay apart.
pub fn fingerprint(finding: &ReportFinding) -> String {
    let resource = &finding.resource;
    let parts = [
        &*finding.policy,
        &*finding.file,
        resource.api_version.as_str(),
        resource.kind.as_str(),
        resource.namespace.as_deref().unwrap_or(""),
        resource.name.as_str(),
        finding.path.as_str(),
    ];
    format!("{:016x}", fnv1a(&parts))
}

/// FNV-1a, 64 bits: unlike `std`'s hashers its output is fixed forever, which
/// a fingerprint stored by GitHub between runs needs. Parts are separated by
/// a byte that cannot occur in them so that `ab`+`c` and `a`+`bc` differ.
fn fnv1a(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

fn non_empty<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.trim().is_empty() {
        fallback
    } else {
        text
    }
}
