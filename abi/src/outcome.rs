//! The JSON a module answers `rampart_evaluate` with, typed: the guest
//! writes it from these types and hosts read it with them.

use rampart_engine::{Action, PatchOperation, Severity};
use serde::{Deserialize, Serialize};

/// One finding, as the bundle reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WasmFinding {
    /// Policy id.
    pub policy: String,
    /// Rule number within the policy.
    pub rule: u32,
    /// Deny, warn or audit.
    pub action: Action,
    /// The policy's severity.
    pub severity: Severity,
    /// The message.
    pub message: String,
    /// JSON pointer, relative to the input document (`/items/N/...` for an
    /// item of a list; relative to `request.object` for an AdmissionReview).
    pub path: String,
    /// The policy's control ids.
    pub controls: Vec<String>,
    /// A JSON patch that fixes it (paths relative like `path`).
    pub fix: Vec<PatchOperation>,
}

/// An error the guest reported (bad input, a policy that could not finish).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutcomeError {
    /// The policy, when the error is one policy's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Where, when the error is about one resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// What one evaluation produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Findings, in resource order, then policy order, then rule order.
    pub findings: Vec<WasmFinding>,
    /// Errors.
    #[serde(default)]
    pub errors: Vec<OutcomeError>,
    /// Resources judged.
    #[serde(default)]
    pub resources: usize,
    /// Findings dropped by an exception in force or a self-exemption.
    #[serde(default)]
    pub suppressed: usize,
    /// Resources not judged because an exemption covers them.
    #[serde(default)]
    pub exempted: usize,
    /// The built-in configuration's exceptions that dropped a finding (their
    /// indices, in the configuration's order).
    #[serde(default)]
    pub exceptions_used: Vec<usize>,
}

impl OutcomeError {
    /// An error about the input itself (not JSON, not a Kubernetes object).
    pub fn about_input(message: impl Into<String>) -> OutcomeError {
        OutcomeError {
            policy: None,
            path: None,
            message: message.into(),
        }
    }
}
