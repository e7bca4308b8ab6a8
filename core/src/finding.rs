//! What judging produces: findings located in their file, and problems.

use rampart_engine::json::Json;
use rampart_engine::{Action, PatchOperation, Severity};
use serde::Serialize;
use std::sync::Arc;

/// Which resource a finding is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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
    pub fn of(resource: &Json) -> ResourceIdentity {
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

/// One finding, judged (its action after the configuration, not excepted)
/// and located.
#[derive(Clone, Debug, Serialize)]
pub struct JudgedFinding {
    /// Policy id.
    pub policy: Arc<str>,
    /// The rule's number within its policy (reports do not show it; the
    /// bundle's answer carries it).
    #[serde(skip)]
    pub rule: u32,
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
    /// The file (a host without files names its input, e.g. `admission`).
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
    /// When the evaluator explains: the expressions that decided the rule
    /// (as written in the policy) and their values.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub explanation: Vec<(String, Json)>,
}

/// A problem that made judging incomplete (a policy that could not finish,
/// an unreadable input), or a warning about the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file (manifest, policy or configuration).
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

impl Problem {
    /// A problem with a message and, when known, a place.
    pub fn new(file: impl Into<String>, position: Option<(u32, u32)>, message: String) -> Problem {
        Problem {
            file: file.into(),
            line: position.map(|(line, _)| line),
            column: position.map(|(_, column)| column),
            end_column: None,
            code: None,
            message,
            help: None,
        }
    }
}
