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

use rampart_engine::Action;
use serde::Serialize;

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
    /// Resources judged (exempted ones are not).
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
    /// Resources not judged because the configuration exempts them (their
    /// namespace or their pods' runtime class).
    #[serde(skip_serializing_if = "is_zero")]
    pub exempted: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// Which resource a finding is about, one finding located, and a problem
/// that made the run incomplete: the library's own types, so that every
/// host reports what it judged in the same terms.
pub use rampart_core::{JudgedFinding as ReportFinding, Problem as ReportError, ResourceIdentity};

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
