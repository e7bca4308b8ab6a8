//! `rampart.yaml`: which policies run, their parameters and actions,
//! exceptions and exemptions. Read from text: finding the file is the
//! host's business (the CLI walks up from its inputs; the webhook is told).
//!
//! ```yaml
//! sets: [recommended]
//! policies: [policies/]                 # relative to this file
//! kubernetesVersion: v1.30
//! params:
//!   nsa.images.allowed_registries:
//!     registries: [registry.example.com]
//! actions:
//!   bp.probes.liveness: warn             # deny | warn | audit
//! exceptions:
//!   - policy: pss.restricted.runAsNonRoot   # glob
//!     kind: Deployment                      # optional: kind, namespace, name (globs)
//!     namespace: legacy
//!     name: "batch-*"
//!     reason: vendor image runs as root (OPS-123)
//!     expires: 2027-03-31                   # optional: the last day it applies
//! exemptions:                               # not judged at all, as Pod Security Admission's
//!   namespaces: [kube-system]
//!   usernames: ["system:serviceaccount:ci:deployer"]   # webhook requests only
//!   runtimeClassNames: [kata]
//! annotations:
//!   allowExemptions: false   # true: a resource may exempt itself with rampart.dev/exempt
//! ```

mod sections;

use crate::judging::Judging;
use rampart_engine::helpers::glob;
use rampart_engine::ir::{Action, PolicySet};
use rampart_engine::json::Json;
use rampart_engine::load::{self, LoadLimits, Position};
use std::fmt;

/// The file names looked for, in order, in each directory.
pub const FILE_NAMES: [&str; 2] = ["rampart.yaml", ".rampart.yaml"];

/// The keys a configuration may have.
pub const KEYS: [&str; 8] = [
    "sets",
    "policies",
    "kubernetesVersion",
    "params",
    "actions",
    "exceptions",
    "exemptions",
    "annotations",
];

/// A parsed configuration.
#[derive(Debug, Default, Clone)]
pub struct Config {
    /// The file it came from, as shown in messages.
    pub file: String,
    /// `sets`.
    pub sets: Vec<String>,
    /// `policies`, as written (relative to the file's directory).
    pub policies: Vec<String>,
    /// `kubernetesVersion`.
    pub kubernetes_version: Option<String>,
    /// `params`: policy id → name → value (with the position of the value).
    pub params: Vec<(String, String, Json, Option<Position>)>,
    /// `actions`: policy id or glob → action.
    pub actions: Vec<(String, Action, Option<Position>)>,
    /// Exceptions, exemptions and annotation self-exemption.
    pub judging: Judging,
}

/// A problem in the configuration, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file.
    pub file: String,
    /// Where, when known.
    pub position: Option<Position>,
    /// What.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(position) => write!(
                formatter,
                "{}:{}:{}: {}",
                self.file, position.line, position.column, self.message
            ),
            None => write!(formatter, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigProblem {}

impl Config {
    /// Reads a configuration from its text; `file` names it in problems.
    /// Problems are collected, not fatal: what could be read is returned
    /// (`None` only when the text holds no mapping at all).
    pub fn parse(text: &str, file: &str, problems: &mut Vec<ConfigProblem>) -> Option<Config> {
        let problem = |position: Option<Position>, message: String| ConfigProblem {
            file: file.to_owned(),
            position,
            message,
        };
        let outcome = load::load_str(text, &LoadLimits::default());
        for error in &outcome.errors {
            problems.push(problem(error.position, error.message.clone()));
        }
        let document = outcome
            .documents
            .into_iter()
            .find(|document| !document.value.is_null())?;
        let root = &document.value;
        let at = |pointer: &str| document.positions.locate(root, pointer);
        let Json::Object(members) = root else {
            problems.push(problem(
                at(""),
                "the configuration must be a mapping".to_owned(),
            ));
            return None;
        };
        let mut reader = sections::Reader {
            config: Config {
                file: file.to_owned(),
                ..Config::default()
            },
            at: &at,
            problems,
        };
        for (key, value) in members {
            reader.section(key.as_str(), value);
        }
        Some(reader.config)
    }

    /// Applies parameters and actions to the compiled policies; problems for
    /// unknown policies or parameters and for values of the wrong shape.
    pub fn apply(&self, set: &mut PolicySet, problems: &mut Vec<ConfigProblem>) {
        let problem = |position: Option<Position>, message: String| ConfigProblem {
            file: self.file.clone(),
            position,
            message,
        };
        for (policy_id, name, value, position) in &self.params {
            let Some(policy) = set
                .policies
                .iter_mut()
                .find(|policy| &policy.id == policy_id)
            else {
                problems.push(problem(
                    *position,
                    format!("params: no policy `{policy_id}` runs"),
                ));
                continue;
            };
            let Some(param) = policy.params.iter_mut().find(|param| &param.name == name) else {
                let names: Vec<&str> = policy
                    .params
                    .iter()
                    .map(|param| param.name.as_str())
                    .collect();
                let suggestion = rampart_lang::schema::suggest(name, names)
                    .map(|known| format!(" (did you mean `{known}`?)"))
                    .unwrap_or_default();
                problems.push(problem(
                    *position,
                    format!("policy `{policy_id}` has no parameter `{name}`{suggestion}"),
                ));
                continue;
            };
            if !param.shape.admits(value) {
                problems.push(problem(
                    *position,
                    format!(
                        "parameter `{name}` of `{policy_id}` must be `{}`",
                        param.shape
                    ),
                ));
                continue;
            }
            param.value = value.clone();
        }
        for (pattern, action, position) in &self.actions {
            let mut matched = false;
            for policy in set
                .policies
                .iter_mut()
                .filter(|policy| glob::matches(pattern, &policy.id))
            {
                policy.action_override = Some(*action);
                matched = true;
            }
            if !matched {
                problems.push(problem(
                    *position,
                    format!("actions: no policy matching `{pattern}` runs"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
