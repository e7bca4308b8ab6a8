//! Turning one resource's evaluation into located, judged findings: the
//! configuration's exemptions, exceptions (against the date the caller
//! passes) and annotation self-exemptions applied. Every host judges
//! through here (the CLI all at once, streaming or through a bundle, the
//! webhook, the bundle's guest, the playground), so they judge alike.

use crate::date::Date;
use crate::finding::{JudgedFinding, Problem, ResourceIdentity};
use crate::judging::{Exempt, Judging, annotation_exempts};
use rampart_engine::Evaluation;
use rampart_engine::ir::PolicySet;
use rampart_engine::json::Json;
use rampart_engine::load::Resource;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// What judging some resources produced.
#[derive(Debug, Default)]
pub struct Judged {
    /// Located findings.
    pub findings: Vec<JudgedFinding>,
    /// Evaluation errors.
    pub errors: Vec<Problem>,
    /// Findings dropped by exceptions or self-exemptions.
    pub suppressed: usize,
    /// Resources not judged because an exemption covers them.
    pub exempted: usize,
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
        self.exempted += other.exempted;
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

/// Each policy's controls, shared by all its findings: a run can hold
/// hundreds of thousands of findings, and these are most of one. Made once
/// per set ([`crate::PreparedSet`] keeps one), not once per judge: a host
/// that judges each request with a judge of its own would otherwise copy
/// every policy's controls per request.
#[derive(Clone, Debug, Default)]
pub struct Controls(HashMap<String, Arc<[String]>>);

impl Controls {
    /// The controls of every policy of `set`.
    pub fn of(set: &PolicySet) -> Controls {
        Controls(
            set.policies
                .iter()
                .map(|policy| (policy.id.clone(), Arc::from(policy.controls.as_slice())))
                .collect(),
        )
    }

    fn of_policy(&self, policy: &str) -> Arc<[String]> {
        self.0
            .get(policy)
            .cloned()
            .unwrap_or_else(|| Arc::from(&[][..]))
    }
}

/// Judges resources with one set and one configuration, as of one day.
pub struct Judge<'s> {
    judging: &'s Judging,
    today: Date,
    record_matched: bool,
    controls: Cow<'s, Controls>,
}

impl<'s> Judge<'s> {
    /// A judge for `set`'s findings under `judging`, with exceptions
    /// expiring as of `today`.
    pub fn new(set: &PolicySet, judging: &'s Judging, today: Date) -> Judge<'s> {
        Judge::with_controls(Cow::Owned(Controls::of(set)), judging, today)
    }

    /// A judge sharing controls made once for the set ([`Controls::of`]).
    pub fn with_controls(
        controls: Cow<'s, Controls>,
        judging: &'s Judging,
        today: Date,
    ) -> Judge<'s> {
        Judge {
            judging,
            today,
            record_matched: false,
            controls,
        }
    }

    /// Also records which policies matched each resource (JUnit needs it;
    /// the streaming path does not keep it).
    pub fn recording_matches(mut self) -> Judge<'s> {
        self.record_matched = true;
        self
    }

    /// The day exceptions expire against.
    pub fn today(&self) -> Date {
        self.today
    }

    /// An empty result with room for every exception.
    pub fn start(&self) -> Judged {
        Judged {
            exception_used: vec![false; self.judging.exceptions.len()],
            ..Judged::default()
        }
    }

    /// Why a manifest's resource is exempt (its namespace or its pod's
    /// runtime class), if it is: hosts ask before evaluating it.
    pub fn exempt(&self, resource: &Json) -> Option<Exempt> {
        self.judging.exemptions.exempts(resource, None, None)
    }

    /// Adds one resource's evaluation (or the error that stopped it) to
    /// `out`. `offsets` (documents, lines) move a part of a file split for
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
        if self.exempt(resource.value).is_some() {
            out.exempted += 1;
            return;
        }
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
            out.errors
                .push(Problem::new(file.to_string(), position, message));
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
        let mut explanations: Vec<Vec<(String, Json)>> =
            vec![Vec::new(); evaluation.findings.len()];
        for explanation in evaluation.explanations {
            if let Some(slot) = explanations.get_mut(explanation.finding) {
                *slot = explanation.values;
            }
        }
        for (finding, explanation) in evaluation.findings.into_iter().zip(explanations) {
            let excepted = self.judging.exceptions.iter().position(|exception| {
                !exception.expired(self.today) && exception.covers(&finding.policy, resource.value)
            });
            if let Some(index) = excepted {
                if let Some(used) = out.exception_used.get_mut(index) {
                    *used = true;
                }
                out.suppressed += 1;
                continue;
            }
            if self.judging.allow_annotation_exemptions
                && annotation_exempts(&finding.policy, resource.value)
            {
                out.suppressed += 1;
                continue;
            }
            let (path, position) = locate(&finding.pointer);
            let controls = self.controls.of_policy(&finding.policy);
            out.findings.push(JudgedFinding {
                policy: finding.policy,
                rule: finding.rule,
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

    /// Warnings for exceptions that expired or were never used; `file` is
    /// the configuration's.
    pub fn exception_warnings(&self, file: &str, exception_used: &[bool]) -> Vec<Problem> {
        let mut warnings = Vec::new();
        for (exception, used) in self.judging.exceptions.iter().zip(exception_used) {
            let message = match exception.expires {
                Some(expires) if exception.expired(self.today) => format!(
                    "the exception for `{}` expired on {expires} and is not honoured ({})",
                    exception.policy, exception.reason
                ),
                _ if !used => format!(
                    "the exception for `{}` matched no finding; remove it if it is no longer needed",
                    exception.policy
                ),
                _ => continue,
            };
            let position = exception
                .position
                .map(|position| (position.line, position.column));
            warnings.push(Problem::new(file, position, message));
        }
        warnings
    }
}
