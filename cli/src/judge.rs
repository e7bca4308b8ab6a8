//! Turning one resource's evaluation into located report entries, with the
//! configuration's exceptions applied. Shared by every evaluation path (all
//! at once, streaming, through a Wasm bundle), so they report alike.

use crate::config::{self, Exception};
use crate::policies::LoadedPolicies;
use crate::report::{ReportError, ReportFinding, ResourceIdentity};
use rampart_engine::Evaluation;
use rampart_engine::load::Resource;
use std::collections::HashMap;
use std::sync::Arc;

/// What judging some resources produced.
#[derive(Default)]
pub struct Judged {
    /// Located findings.
    pub findings: Vec<ReportFinding>,
    /// Evaluation errors.
    pub errors: Vec<ReportError>,
    /// Findings dropped by exceptions or self-exemptions.
    pub suppressed: usize,
    /// Which exceptions were used (same order as the configuration's).
    pub exception_used: Vec<bool>,
    /// Resources judged.
    pub resources: usize,
    /// Per resource judged: file, document, identity and the policies that
    /// matched it (only when the judge records them).
    pub matched: Vec<(String, usize, ResourceIdentity, Vec<String>)>,
}

impl Judged {
    /// Adds another part's results after this one's.
    pub fn append(&mut self, other: Judged) {
        self.findings.extend(other.findings);
        self.errors.extend(other.errors);
        self.suppressed += other.suppressed;
        self.resources += other.resources;
        self.matched.extend(other.matched);
        if self.exception_used.len() < other.exception_used.len() {
            self.exception_used
                .resize(other.exception_used.len(), false);
        }
        for (mine, theirs) in self.exception_used.iter_mut().zip(other.exception_used) {
            *mine |= theirs;
        }
    }
}

/// Judges resources for one run.
pub struct Judge<'l> {
    loaded: &'l LoadedPolicies,
    exceptions: &'l [Exception],
    allow_annotations: bool,
    today: (i64, u32, u32),
    record_matched: bool,
    /// Each policy's controls, shared by all its findings (as the
    /// evaluator shares the policy id): a run can hold hundreds of thousands
    /// of findings, and these are most of one.
    controls: HashMap<&'l str, Arc<[String]>>,
}

impl<'l> Judge<'l> {
    /// A judge for the run's policies and configuration.
    pub fn new(loaded: &'l LoadedPolicies) -> Judge<'l> {
        Judge {
            loaded,
            exceptions: loaded
                .config
                .as_ref()
                .map(|config| config.exceptions.as_slice())
                .unwrap_or_default(),
            allow_annotations: loaded
                .config
                .as_ref()
                .is_some_and(|config| config.allow_annotation_exemptions),
            today: config::today(),
            record_matched: false,
            controls: loaded
                .set
                .policies
                .iter()
                .map(|policy| (policy.id.as_str(), Arc::from(policy.controls.as_slice())))
                .collect(),
        }
    }

    /// Also records which policies matched each resource (JUnit needs it;
    /// the streaming path does not keep it).
    pub fn recording_matches(mut self) -> Judge<'l> {
        self.record_matched = true;
        self
    }

    /// An empty result with room for every exception.
    pub fn start(&self) -> Judged {
        Judged {
            exception_used: vec![false; self.exceptions.len()],
            ..Judged::default()
        }
    }

    /// Adds one resource's evaluation (or the error that stopped it) to `out`.
    /// `document_offset` and `line_offset` move a part of a file split for
    /// parallel loading back to its place in the whole file.
    pub fn judge(
        &self,
        file: &Arc<str>,
        resource: &Resource<'_>,
        outcome: Result<Evaluation, String>,
        offsets: (usize, u32),
        out: &mut Judged,
    ) {
        let (document_offset, line_offset) = offsets;
        out.resources += 1;
        // Most resources have no finding: their identity is read only when
        // something needs it.
        let mut identity: Option<Arc<ResourceIdentity>> = None;
        let mut identity_of = || {
            identity
                .get_or_insert_with(|| Arc::new(ResourceIdentity::of(resource.value)))
                .clone()
        };
        let document = resource.document.index + document_offset;
        let locate = |pointer: &str| {
            let full = format!("{}{pointer}", resource.pointer);
            let position = resource
                .document
                .positions
                .locate(&resource.document.value, &full);
            (
                full,
                position.map(|position| (position.line + line_offset, position.column)),
            )
        };
        let error = |message: String, out: &mut Judged| {
            let (_, position) = locate("");
            out.errors.push(ReportError {
                file: file.to_string(),
                line: position.map(|(line, _)| line),
                column: position.map(|(_, column)| column),
                end_column: None,
                code: None,
                message,
                help: None,
            });
        };
        let evaluation = match outcome {
            Ok(evaluation) => evaluation,
            Err(message) => {
                error(
                    format!(
                        "document {document}, {}: {message}",
                        identity_of().describe()
                    ),
                    out,
                );
                return;
            }
        };
        if self.record_matched {
            out.matched.push((
                file.to_string(),
                document,
                (*identity_of()).clone(),
                evaluation.matched.iter().map(|id| id.to_string()).collect(),
            ));
        }
        let mut explanations: Vec<Vec<(String, rampart_engine::json::Json)>> =
            vec![Vec::new(); evaluation.findings.len()];
        for explanation in evaluation.explanations {
            if let Some(slot) = explanations.get_mut(explanation.finding) {
                *slot = explanation.values;
            }
        }
        for (finding, explanation) in evaluation.findings.into_iter().zip(explanations) {
            let excepted = self.exceptions.iter().position(|exception| {
                !config::expired(exception, self.today)
                    && config::covers(exception, &finding.policy, resource.value)
            });
            if let Some(index) = excepted {
                if let Some(used) = out.exception_used.get_mut(index) {
                    *used = true;
                }
                out.suppressed += 1;
                continue;
            }
            if self.allow_annotations && config::annotation_exempts(&finding.policy, resource.value)
            {
                out.suppressed += 1;
                continue;
            }
            let (path, position) = locate(&finding.pointer);
            let controls = self
                .controls
                .get(&*finding.policy)
                .cloned()
                .unwrap_or_else(|| Arc::from(&[][..]));
            out.findings.push(ReportFinding {
                policy: finding.policy,
                action: finding.action,
                severity: finding.severity,
                message: finding.message,
                controls,
                resource: identity_of(),
                file: file.clone(),
                document,
                line: position.map_or(1, |(line, _)| line),
                column: position.map_or(1, |(_, column)| column),
                path,
                fix: finding
                    .fix
                    .iter()
                    .map(|operation| operation.prefixed(&resource.pointer))
                    .collect(),
                explanation,
            });
        }
        for failure in evaluation.errors {
            error(
                format!(
                    "policy `{}` on {}: {}",
                    failure.policy,
                    identity_of().describe(),
                    failure.message
                ),
                out,
            );
        }
    }

    /// Warnings for exceptions that expired or were never used.
    pub fn exception_warnings(&self, exception_used: &[bool]) -> Vec<ReportError> {
        let Some(config) = &self.loaded.config else {
            return Vec::new();
        };
        let mut warnings = Vec::new();
        for (exception, used) in self.exceptions.iter().zip(exception_used) {
            let message = if config::expired(exception, self.today) {
                format!(
                    "the exception for `{}` expired on {} and is not honoured ({})",
                    exception.policy,
                    exception.expires.as_deref().unwrap_or_default(),
                    exception.reason
                )
            } else if !used {
                format!(
                    "the exception for `{}` matched no finding; remove it if it is no longer needed",
                    exception.policy
                )
            } else {
                continue;
            };
            warnings.push(ReportError {
                file: config.file.clone(),
                line: exception.position.map(|position| position.line),
                column: exception.position.map(|position| position.column),
                end_column: None,
                code: None,
                message,
                help: None,
            });
        }
        warnings
    }
}
