//! The admission decision, one function for every admission host (the
//! webhook of `rampart serve`, the Kubewarden guest): from one request's
//! judged findings (their actions after the configuration), the policies
//! that could not finish and the failure policy, to the answer — allowed or
//! not, the code and message, the `warnings`, the audit findings (for the
//! audit annotation and the audit log) and the fixes a mutation patches
//! with. Every part of the answer is bounded ([`summary`]).
//!
//! The rollout of a policy is its action: `deny` denies (403, the message
//! lists the findings); `warn` allows with the message among the warnings;
//! `audit` allows, and the finding is recorded (audit annotation, audit log,
//! metrics). A policy that could not finish answers per [`FailurePolicy`],
//! unless a deny finding already decides.

pub mod summary;

use crate::finding::JudgedFinding;
use rampart_engine::{Action, EvalError, Finding, PatchOperation};
use std::collections::BTreeMap;

/// The audit annotation key under which audit findings are returned
/// (`auditAnnotations` of an AdmissionReview response, `audit_annotations`
/// of a Kubewarden response). The API server prefixes it with the webhook's
/// name and a `/`, and drops any key that then holds two slashes: the key
/// itself therefore holds none.
pub const AUDIT_ANNOTATION: &str = "rampart-audit";

/// What a policy finding looks like to the decision: its policy, action,
/// message and fix. Implemented by the core's [`JudgedFinding`] and by the
/// engine's raw [`Finding`].
pub trait AdmissionFinding {
    /// The policy's id.
    fn policy(&self) -> &str;
    /// deny, warn or audit (after the configuration).
    fn action(&self) -> Action;
    /// The message.
    fn message(&self) -> &str;
    /// The JSON patch fixing it (empty when the rule has no fix).
    fn fix(&self) -> &[PatchOperation];
}

impl AdmissionFinding for JudgedFinding {
    fn policy(&self) -> &str {
        &self.policy
    }
    fn action(&self) -> Action {
        self.action
    }
    fn message(&self) -> &str {
        &self.message
    }
    fn fix(&self) -> &[PatchOperation] {
        &self.fix
    }
}

impl AdmissionFinding for Finding {
    fn policy(&self) -> &str {
        &self.policy
    }
    fn action(&self) -> Action {
        self.action
    }
    fn message(&self) -> &str {
        &self.message
    }
    fn fix(&self) -> &[PatchOperation] {
        &self.fix
    }
}

/// What to answer when a policy cannot finish (step budget, invalid regex)
/// or the request cannot be judged; mirrors Kubernetes' `failurePolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Deny (fail closed): code 500 with the reason.
    Fail,
    /// Allow (fail open), with the reason as a warning.
    Ignore,
}

/// The verdict, as hosts count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed (possibly with warnings, audit findings or a patch).
    Allowed,
    /// Denied by at least one deny finding.
    Denied,
    /// A policy could not finish, or the request could not be judged;
    /// answered per the failure policy.
    Error,
}

/// One finding recorded for audit (message shortened).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audited {
    /// The policy's id.
    pub policy: String,
    /// The message, within [`summary::MAX_MESSAGE_CHARS`].
    pub message: String,
}

/// The answer to one admission request, every part bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmissionAnswer {
    /// The verdict.
    pub verdict: Verdict,
    /// Whether the request is allowed.
    pub allowed: bool,
    /// 403 (denied) or 500 (failed closed), when not allowed.
    pub code: Option<u16>,
    /// Why it is not allowed.
    pub message: Option<String>,
    /// The warnings: warn findings (every warning policy named first), and
    /// the reason when failing open.
    pub warnings: Vec<String>,
    /// The audit findings, the first [`summary::MAX_AUDIT_FINDINGS`].
    pub audited: Vec<Audited>,
    /// How many audit findings `audited` leaves out.
    pub audited_omitted: usize,
    /// The audit annotations (at most [`AUDIT_ANNOTATION`]), when there are
    /// audit findings.
    pub audit_annotations: BTreeMap<String, String>,
    /// Whether anything was left out to keep within the limits.
    pub summarised: bool,
}

impl AdmissionAnswer {
    /// Allowed, with nothing to say.
    pub fn allowed() -> AdmissionAnswer {
        AdmissionAnswer {
            verdict: Verdict::Allowed,
            allowed: true,
            code: None,
            message: None,
            warnings: Vec::new(),
            audited: Vec::new(),
            audited_omitted: 0,
            audit_annotations: BTreeMap::new(),
            summarised: false,
        }
    }

    /// The answer when the request cannot be judged (no object, an object
    /// the reader refuses, the deadline passed): per `failure_policy`.
    pub fn failure(failure_policy: FailurePolicy, message: String) -> AdmissionAnswer {
        let mut answer = AdmissionAnswer::allowed();
        answer.verdict = Verdict::Error;
        match failure_policy {
            FailurePolicy::Fail => {
                answer.allowed = false;
                answer.code = Some(500);
                answer.message = Some(message);
            }
            FailurePolicy::Ignore => answer.set_warnings([message], 1),
        }
        answer
    }

    /// Sets the warnings, within the limits of [`summary::warnings`]:
    /// `warnings` yields `total` of them, and is read only as far as they fit.
    pub fn set_warnings(&mut self, warnings: impl IntoIterator<Item = String>, total: usize) {
        let (warnings, summarised) = summary::warnings(warnings, total);
        self.summarised |= summarised;
        self.warnings = warnings;
    }
}

/// The answer to a validation request from its judged `findings` (actions
/// after the configuration; excepted and exempt ones already dropped), the
/// policies that could not finish (`errors`; an empty policy id names no
/// policy) and the failure policy.
pub fn decide<F: AdmissionFinding>(
    findings: &[F],
    errors: &[EvalError],
    failure_policy: FailurePolicy,
) -> AdmissionAnswer {
    let denials: Vec<&F> = with_action(findings, Action::Deny).collect();
    let warned: Vec<&F> = with_action(findings, Action::Warn).collect();
    // The reason of failing open comes first among the warnings.
    let mut leading = None;
    let mut answer = if !denials.is_empty() {
        let (message, summarised) = summary::denial_message(
            denials
                .iter()
                .map(|finding| (finding.policy(), finding.message())),
            denials.len(),
        );
        let mut answer = AdmissionAnswer::allowed();
        answer.verdict = Verdict::Denied;
        answer.allowed = false;
        answer.code = Some(403);
        answer.message = Some(message);
        answer.summarised = summarised;
        answer
    } else if !errors.is_empty() {
        // At most one error per policy: bounded by the set, not by the request.
        let errors: Vec<String> = errors
            .iter()
            .map(|error| {
                let message = summary::shorten(&error.message, summary::MAX_MESSAGE_CHARS);
                if error.policy.is_empty() {
                    message.into_owned()
                } else {
                    format!("{} could not be evaluated: {message}", error.policy)
                }
            })
            .collect();
        let message = format!("rampart: {}", errors.join("; "));
        match failure_policy {
            FailurePolicy::Fail => AdmissionAnswer::failure(failure_policy, message),
            FailurePolicy::Ignore => {
                let mut answer = AdmissionAnswer::allowed();
                answer.verdict = Verdict::Error;
                leading = Some(message);
                answer
            }
        }
    } else {
        AdmissionAnswer::allowed()
    };
    // Every warning policy first; only the warnings that can be listed are formatted.
    let order = summary::spread(
        warned.iter().map(|finding| finding.policy()),
        summary::MAX_WARNINGS,
    );
    let warnings = order
        .iter()
        .filter_map(|&index| warned.get(index))
        .map(|finding| summary::entry(finding.policy(), finding.message()));
    let total = warned.len() + usize::from(leading.is_some());
    answer.set_warnings(leading.into_iter().chain(warnings), total);
    record_audits(&mut answer, findings);
    answer
}

/// Records `findings`' audit findings in `answer`: the audit log's list and
/// the audit annotation.
fn record_audits<F: AdmissionFinding>(answer: &mut AdmissionAnswer, findings: &[F]) {
    let audits: Vec<&F> = with_action(findings, Action::Audit).collect();
    if audits.is_empty() {
        return;
    }
    let order = summary::spread(
        audits.iter().map(|finding| finding.policy()),
        summary::MAX_AUDIT_FINDINGS,
    );
    let mut listed: Vec<usize> = order;
    listed.sort_unstable();
    let entries: Vec<(&str, &str)> = listed
        .iter()
        .filter_map(|&index| audits.get(index))
        .map(|finding| (finding.policy(), finding.message()))
        .collect();
    answer.audited = entries
        .iter()
        .map(|(policy, message)| Audited {
            policy: (*policy).to_owned(),
            message: summary::shorten(message, summary::MAX_MESSAGE_CHARS).into_owned(),
        })
        .collect();
    answer.audited_omitted = audits.len().saturating_sub(answer.audited.len());
    let (value, summarised) = summary::audit_annotation(&entries, audits.len());
    answer.summarised |= summarised || answer.audited_omitted > 0;
    answer
        .audit_annotations
        .insert(AUDIT_ANNOTATION.to_owned(), value);
}

/// The findings whose fixes a mutation patches with, in finding order:
/// deny and warn findings that have a fix (audit findings only record).
pub fn mutation_fixes<F: AdmissionFinding>(findings: &[F]) -> impl Iterator<Item = &F> {
    findings.iter().filter(|finding| {
        matches!(finding.action(), Action::Deny | Action::Warn) && !finding.fix().is_empty()
    })
}

fn with_action<F: AdmissionFinding>(findings: &[F], action: Action) -> impl Iterator<Item = &F> {
    findings
        .iter()
        .filter(move |finding| finding.action() == action)
}

#[cfg(test)]
mod tests;
