//! `wgpolicyk8s.io/v1alpha2` policy reports, as multi-document YAML: one
//! `PolicyReport` per namespace that has findings, and one
//! `ClusterPolicyReport` for resources with no namespace and for errors.
//!
//! A resource written without `metadata.namespace` counts as cluster-scoped:
//! the manifest does not say which namespace `kubectl apply` would use.
//! When the report knows which policies matched each resource
//! ([`Report::matched`]), every matching policy that found nothing there is
//! a `pass` result; otherwise only findings and errors are written.

use super::{Report, ReportError, ReportFinding};
use rampart_engine::Action;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The API version of the reports.
pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";

/// `metadata.name` of the cluster report, and the prefix of namespace reports.
const NAME_PREFIX: &str = "rampart";

/// Renders the reports: namespaces in name order, then the cluster report.
pub fn render(report: &Report) -> String {
    let mut by_namespace: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let mut cluster_results = Vec::new();
    for finding in &report.findings {
        match finding.resource.namespace.as_deref() {
            Some(namespace) => by_namespace
                .entry(namespace)
                .or_default()
                .push(finding_result(finding)),
            None => cluster_results.push(finding_result(finding)),
        }
    }
    // What failed, looked up per (policy, file, resource) so that listing the
    // passes stays linear in the resources.
    let failed: std::collections::HashSet<(&str, &str, String)> = report
        .findings
        .iter()
        .map(|finding| {
            (
                &*finding.policy,
                &*finding.file,
                resource_key(&finding.resource),
            )
        })
        .collect();
    for file in &report.matched {
        for ((_, identity), policies) in file.resources.iter().zip(&file.matched) {
            let key = resource_key(identity);
            for policy in policies {
                if failed.contains(&(policy.as_str(), file.file.as_str(), key.clone())) {
                    continue;
                }
                let entry = pass_result(policy, identity);
                match identity.namespace.as_deref() {
                    Some(namespace) => by_namespace.entry(namespace).or_default().push(entry),
                    None => cluster_results.push(entry),
                }
            }
        }
    }
    // Errors name a file, not a resource, so they cannot be put in a
    // namespace; the cluster report carries them.
    cluster_results.extend(report.errors.iter().map(error_result));
    let mut out = String::new();
    for (namespace, results) in by_namespace {
        let metadata = json!({
            "name": format!("{NAME_PREFIX}-{namespace}"),
            "namespace": namespace,
            "labels": { "app.kubernetes.io/managed-by": "rampart" },
        });
        out.push_str(&yaml_document(&policy_report(
            "PolicyReport",
            metadata,
            results,
        )));
    }
    let metadata = json!({
        "name": NAME_PREFIX,
        "labels": { "app.kubernetes.io/managed-by": "rampart" },
    });
    out.push_str(&yaml_document(&policy_report(
        "ClusterPolicyReport",
        metadata,
        cluster_results,
    )));
    out
}

fn policy_report(kind: &str, metadata: Value, results: Vec<Value>) -> Value {
    let count = |wanted: &str| {
        results
            .iter()
            .filter(|result| result["result"] == wanted)
            .count()
    };
    json!({
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "summary": {
            "pass": count("pass"),
            "fail": count("fail"),
            "warn": count("warn"),
            "error": count("error"),
            "skip": count("skip"),
        },
        "results": results,
    })
}

fn resource_key(resource: &super::ResourceIdentity) -> String {
    format!(
        "{}\u{0}{}\u{0}{}\u{0}{}",
        resource.api_version,
        resource.kind,
        resource.namespace.as_deref().unwrap_or_default(),
        resource.name
    )
}

/// A policy that judged a resource and found nothing.
fn pass_result(policy: &str, resource: &super::ResourceIdentity) -> Value {
    let mut reference = Map::new();
    reference.insert("apiVersion".into(), json!(resource.api_version));
    reference.insert("kind".into(), json!(resource.kind));
    reference.insert("name".into(), json!(resource.name));
    if let Some(namespace) = &resource.namespace {
        reference.insert("namespace".into(), json!(namespace));
    }
    let mut entry = Map::new();
    entry.insert("policy".into(), json!(policy));
    entry.insert("rule".into(), json!(policy));
    entry.insert("result".into(), json!("pass"));
    if let Some((category, _)) = policy.rsplit_once('.') {
        entry.insert("category".into(), json!(category));
    }
    entry.insert("scored".into(), json!(true));
    entry.insert("source".into(), json!("rampart"));
    entry.insert("resources".into(), json!([reference]));
    Value::Object(entry)
}

/// Deny is `fail`; warn and audit, which let the resource in, are `warn`.
fn finding_result(finding: &ReportFinding) -> Value {
    let result = match finding.action {
        Action::Deny => "fail",
        Action::Warn | Action::Audit => "warn",
    };
    let mut entry = Map::new();
    entry.insert("policy".into(), json!(finding.policy));
    // Findings do not carry the rule within the policy; the policy id is the
    // most precise name the report has.
    entry.insert("rule".into(), json!(finding.policy));
    entry.insert("result".into(), json!(result));
    entry.insert("severity".into(), json!(finding.severity.as_str()));
    entry.insert("message".into(), json!(finding.message));
    // The policy's family (`pss.baseline`) groups results in report viewers.
    if let Some((category, _)) = finding.policy.rsplit_once('.') {
        entry.insert("category".into(), json!(category));
    }
    entry.insert("scored".into(), json!(true));
    entry.insert("source".into(), json!("rampart"));
    let resource = &finding.resource;
    let mut reference = Map::new();
    reference.insert("apiVersion".into(), json!(resource.api_version));
    reference.insert("kind".into(), json!(resource.kind));
    reference.insert("name".into(), json!(resource.name));
    if let Some(namespace) = &resource.namespace {
        reference.insert("namespace".into(), json!(namespace));
    }
    entry.insert("resources".into(), json!([reference]));
    // Property values are strings in the CRD's schema.
    let mut properties = Map::new();
    properties.insert("action".into(), json!(finding.action.as_str()));
    properties.insert("file".into(), json!(finding.file));
    properties.insert("line".into(), json!(finding.line.to_string()));
    properties.insert("column".into(), json!(finding.column.to_string()));
    properties.insert("path".into(), json!(finding.path));
    if !finding.controls.is_empty() {
        properties.insert("controls".into(), json!(finding.controls.join(",")));
    }
    entry.insert("properties".into(), Value::Object(properties));
    Value::Object(entry)
}

fn error_result(error: &ReportError) -> Value {
    let mut properties = Map::new();
    if !error.file.is_empty() {
        properties.insert("file".into(), json!(error.file));
    }
    if let Some(line) = error.line {
        properties.insert("line".into(), json!(line.to_string()));
    }
    if let Some(column) = error.column {
        properties.insert("column".into(), json!(column.to_string()));
    }
    if let Some(help) = &error.help {
        properties.insert("help".into(), json!(help));
    }
    let mut entry = Map::new();
    // `policy` is required, and an error belongs to no policy of the report;
    // a diagnostic code, when there is one, names what went wrong.
    entry.insert("policy".into(), json!("rampart"));
    if let Some(code) = &error.code {
        entry.insert("rule".into(), json!(code));
    }
    entry.insert("result".into(), json!("error"));
    entry.insert("message".into(), json!(error.message));
    entry.insert("scored".into(), json!(true));
    entry.insert("source".into(), json!("rampart"));
    if !properties.is_empty() {
        entry.insert("properties".into(), Value::Object(properties));
    }
    Value::Object(entry)
}

/// Writes a JSON value as one block-style YAML document, starting with `---`.
pub fn yaml_document(value: &Value) -> String {
    let mut out = String::from("---\n");
    write_block(&mut out, value, 0);
    out
}

/// Writes a mapping or sequence in block style at `indent`; scalars and
/// empty collections go on the line of their key.
fn write_block(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                out.push_str(&pad);
                out.push_str(&yaml_key(key));
                out.push(':');
                write_child(out, child, indent + 2);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                match item {
                    // `- key: value` with the rest of the mapping under it.
                    Value::Object(map) if !map.is_empty() => {
                        let mut nested = String::new();
                        write_block(&mut nested, item, indent + 2);
                        out.push(' ');
                        out.push_str(nested.trim_start_matches(' '));
                    }
                    _ => write_child(out, item, indent + 2),
                }
            }
        }
        _ => {
            out.push_str(&pad);
            out.push_str(&scalar(value));
            out.push('\n');
        }
    }
}

/// Writes what follows `key:` or `-`: a scalar on the same line, or a
/// collection on the lines below.
fn write_child(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_block(out, value, indent);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_block(out, value, indent);
        }
        _ => {
            out.push(' ');
            out.push_str(&scalar(value));
            out.push('\n');
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => quote(text),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// Keys are written plain when they are unmistakably strings (letters,
/// digits, `.`, `_`, `-`, `/`, starting with a letter), quoted otherwise.
fn yaml_key(key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && key.chars().all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-' | '/')
        })
        && !matches!(
            key,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain { key.to_owned() } else { quote(key) }
}

/// A YAML double-quoted scalar. Every string is quoted, so that no value can
/// be read as a number, boolean, null, comment or flow collection; escapes
/// are the JSON ones (which YAML shares), and every character YAML does not
/// allow raw (controls, DEL, C1, line and paragraph separators, BOM) is
/// written as `\uXXXX`.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{feff}'
            | '\u{fffe}'
            | '\u{ffff}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(character)));
            }
            _ => out.push(character),
        }
    }
    out.push('"');
    out
}
