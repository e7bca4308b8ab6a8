//! The result of a check, and its formats.

mod finding_json;
#[cfg(test)]
pub(crate) mod format_tests;
pub mod github;
pub mod human;
pub mod junit;
pub mod policy_report;
pub mod rendered;
pub mod sarif;
mod sarif_fix;
#[cfg(test)]
mod sarif_tests;
pub mod xml;

use rampart_engine::{Action, PatchOperation, Severity};
use serde::Serialize;
use std::sync::Arc;

/// The report format version, bumped on incompatible changes.
pub const REPORT_VERSION: u32 = 1;

/// Everything a check found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// Counts.
    pub summary: Summary,
    /// Findings, by file, then document, then policy.
    pub findings: Vec<ReportFinding>,
    /// Problems that made the run incomplete.
    pub errors: Vec<ReportError>,
    /// Things worth knowing that do not make the run incomplete (an expired
    /// or unused exception, for instance).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ReportError>,
    /// Which policies matched each resource, by file (for JUnit); filled only
    /// on the path that keeps every resource.
    #[serde(skip)]
    pub matched: Vec<junit::FileResources>,
    /// For `--format json` on the streaming path: the findings, already
    /// rendered (`findings` is then empty).
    #[serde(skip)]
    pub rendered: Option<rendered::RenderedFindings>,
}

/// Counts of a report.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Manifest files read.
    pub files: usize,
    /// Resources judged.
    pub resources: usize,
    /// Findings.
    pub findings: usize,
    /// Deny findings.
    pub denied: usize,
    /// Warn findings.
    pub warned: usize,
    /// Errors.
    pub errors: usize,
    /// Findings dropped by an exception or a self-exemption.
    #[serde(skip_serializing_if = "is_zero")]
    pub suppressed: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// Which resource a finding is about.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIdentity {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name` (or `generateName`).
    pub name: String,
}

impl ResourceIdentity {
    /// Reads the identity of a resource.
    pub fn of(resource: &rampart_engine::json::Json) -> ResourceIdentity {
        let text = |pointer: &str| {
            resource
                .pointer(pointer)
                .and_then(|value| value.as_str())
                .map(str::to_owned)
        };
        ResourceIdentity {
            api_version: text("/apiVersion").unwrap_or_default(),
            kind: text("/kind").unwrap_or_default(),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name")
                .or_else(|| text("/metadata/generateName"))
                .unwrap_or_default(),
        }
    }

    /// `Kind namespace/name`.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{} {namespace}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// One finding, located.
#[derive(Clone, Debug, Serialize)]
pub struct ReportFinding {
    /// Policy id.
    pub policy: Arc<str>,
    /// deny, warn or audit.
    pub action: Action,
    /// Severity.
    pub severity: Severity,
    /// The message.
    pub message: String,
    /// Control ids.
    pub controls: Arc<[String]>,
    /// The resource.
    pub resource: Arc<ResourceIdentity>,
    /// The file.
    pub file: Arc<str>,
    /// Document index in the file, from 0.
    pub document: usize,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
    /// JSON pointer in the document.
    pub path: String,
    /// JSON patch fixing it, relative to the document.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fix: Vec<PatchOperation>,
    /// With `--explain`: the expressions that decided the rule (as written
    /// in the policy) and their values.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub explanation: Vec<(String, rampart_engine::json::Json)>,
}

/// A problem that made the run incomplete.
#[derive(Clone, Debug, Serialize)]
pub struct ReportError {
    /// The file (manifest or policy).
    pub file: String,
    /// Line, from 1, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Column, from 1, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Where the problem ends on its line (policy errors), from 1, exclusive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    /// The diagnostic code, for policy errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl ReportError {
    /// An error about `file` (empty: about the run) with no place in it.
    pub fn whole(file: String, message: String) -> ReportError {
        ReportError {
            file,
            line: None,
            column: None,
            end_column: None,
            code: None,
            message,
            help: None,
        }
    }
}

impl Report {
    /// Recounts the summary from the findings and errors.
    pub fn count(&mut self) {
        self.summary.findings = self.findings.len();
        self.summary.denied = self
            .findings
            .iter()
            .filter(|finding| finding.action == Action::Deny)
            .count();
        self.summary.warned = self
            .findings
            .iter()
            .filter(|finding| finding.action == Action::Warn)
            .count();
        self.summary.errors = self.errors.len();
        if let Some(rendered) = &self.rendered {
            rendered.count_into(&mut self.summary);
        }
    }

    /// The exit code the report calls for.
    pub fn exit_code(&self) -> u8 {
        if !self.errors.is_empty() {
            crate::exit::INCOMPLETE
        } else if self.summary.denied > 0 {
            crate::exit::DENIED
        } else {
            crate::exit::CLEAN
        }
    }
}
