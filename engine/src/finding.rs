//! What evaluation produces: findings, each with the JSON pointer of what it
//! is about and, where the rule says how, a JSON patch that fixes it.

use crate::ir::{Action, Severity};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One finding of one rule on one resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The policy's id.
    pub policy: Arc<str>,
    /// The rule's number within the policy (source order, from 0).
    pub rule: u32,
    /// What the finding does to the verdict.
    pub action: Action,
    /// The policy's severity.
    pub severity: Severity,
    /// The rendered message.
    pub message: String,
    /// RFC 6901 JSON pointer, relative to the resource, of what the finding
    /// is about (`""` for the resource itself).
    pub pointer: String,
    /// A JSON patch (RFC 6902) that fixes it, relative to the resource; empty
    /// when the rule has no fix.
    pub fix: Vec<PatchOperation>,
}

/// One operation of a JSON patch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatchOperation {
    /// `add`, `replace` or `remove`.
    pub op: PatchKind,
    /// RFC 6901 pointer of the target.
    pub path: String,
    /// The value, for `add` and `replace`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub value: Option<crate::json::Json>,
}

impl PatchOperation {
    /// The same operation with `prefix` (a pointer) put before its path, to
    /// move it from a resource to the document holding it.
    pub fn prefixed(&self, prefix: &str) -> PatchOperation {
        PatchOperation {
            op: self.op,
            path: format!("{prefix}{}", self.path),
            value: self.value.clone(),
        }
    }
}

/// The kind of a [`PatchOperation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchKind {
    /// Adds a member or element (or replaces an existing member).
    Add,
    /// Replaces an existing value.
    Replace,
    /// Removes a value.
    Remove,
}

/// An evaluation that could not finish for one policy on one resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalError {
    /// The policy's id.
    pub policy: String,
    /// What went wrong, lowercase, user input in backticks.
    pub message: String,
}

/// Everything one evaluation of a resource produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Findings, in policy order then rule order.
    pub findings: Vec<Finding>,
    /// Policies that could not finish (step budget, invalid regex, …).
    pub errors: Vec<EvalError>,
    /// For each policy that matched the resource, its id (coverage,
    /// reports); empty when [`crate::EvalOptions::record_matched`] is off.
    pub matched: Vec<Arc<str>>,
    /// Why findings fired, when the evaluator explains (`EvalOptions::explain`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explanations: Vec<Explanation>,
}

/// The values that decided one finding's condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The finding's index in [`Evaluation::findings`].
    pub finding: usize,
    /// Source text of each deciding expression, and its value.
    pub values: Vec<(String, crate::json::Json)>,
}

/// Escapes one reference token of a JSON pointer (RFC 6901).
pub fn escape_pointer_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        std::borrow::Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        std::borrow::Cow::Borrowed(token)
    }
}

/// Decodes one reference token of a JSON pointer: `~1` to `/` and `~0` to
/// `~`, borrowing when there is nothing to decode (the common case).
pub fn unescape_pointer_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') {
        std::borrow::Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        std::borrow::Cow::Borrowed(token)
    }
}

/// The list position a JSON pointer token names: digits only, without a
/// leading zero unless it is `0` itself (RFC 6901).
pub fn pointer_index(token: &str) -> Option<usize> {
    let well_formed = !token.is_empty()
        && token.bytes().all(|byte| byte.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    if well_formed {
        token.parse().ok()
    } else {
        None
    }
}
