//! The Kubewarden policy protocol (version `v1`) on top of [`Guest`]: what
//! the waPC operations `protocol_version`, `validate_settings` and `validate`
//! answer. Plain, target-independent Rust; the waPC plumbing
//! (`__guest_call`) is in `wapc.rs`, compiled with the `kubewarden` feature.
//!
//! - `protocol_version` answers the JSON string `"v1"`.
//! - `validate_settings` takes the policy's settings (JSON) and answers
//!   `{"valid": bool, "message"?: string}`. The policies, their actions and
//!   the configuration are fixed by `rampart build`; the settings may only
//!   override parameters: `{"params": {"policy.id": {"name": value}}}`, each
//!   value checked against the parameter's declared type, as `rampart.yaml`'s
//!   `params` are. Anything else is refused, naming the policy and parameter.
//!   A bundle whose policies cannot be loaded (the bare guest) is refused
//!   here too, so that the policy server reports it when it starts.
//! - `validate` takes a ValidationRequest, `{"request": <AdmissionRequest>,
//!   "settings": {...}}`, judges `request.object` (with `request.oldObject`
//!   as the previous version; `request.namespace` and
//!   `request.userInfo.username` for exemptions) with the configuration
//!   built in and the settings' parameters, and answers a
//!   ValidationResponse: `{"accepted": bool, "message"?: string, "code"?:
//!   int, "warnings"?: [string], "audit_annotations"?: {string: string}}`,
//!   made by `rampart_core::admission::decide`, the function the webhook of
//!   `rampart serve` answers with: deny findings reject (code 403), warn
//!   findings are warnings, audit findings the audit annotation
//!   `rampart-audit`, a policy that could not finish rejects with code 500
//!   (fail closed), all within the same limits. `mutated_object` is never
//!   set: fixes are not applied.
//!
//! The waPC guest has no clock and the protocol passes no date: an
//! exception with an expiry date is not honoured here (as if expired), so
//! that none outlives its end; exceptions without one are.

use super::{Guest, RequestContext};
use rampart_core::PreparedSet;
use rampart_core::admission::{self, AdmissionFinding, FailurePolicy};
use rampart_engine::json::Json as Manifest;
use rampart_engine::limits::{self, LoadLimits};
use rampart_engine::{Action, EvalError, PatchOperation};
use serde_json::{Map, Value as Json, json};
use std::cell::RefCell;
use std::fmt;

/// The Kubewarden protocol version this guest speaks.
pub const PROTOCOL_VERSION: &str = "v1";

/// The audit annotation key that carries audit findings (the API server
/// prefixes it with the webhook's name): the one the webhook uses.
pub const AUDIT_ANNOTATION: &str = admission::AUDIT_ANNOTATION;

/// Answers one waPC call: `Ok` is the response payload (sent with
/// `__guest_response`), `Err` the error message (sent with `__guest_error`).
/// `guest` is the loaded policies, or why they could not be loaded.
pub fn call(
    guest: Result<&Guest, &str>,
    operation: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    match operation {
        b"protocol_version" => Ok(Json::from(PROTOCOL_VERSION).to_string().into_bytes()),
        b"validate_settings" => Ok(validate_settings(guest, payload).to_string().into_bytes()),
        b"validate" => {
            let guest = guest.map_err(str::to_owned)?;
            validate(guest, payload).map(|response| response.to_string().into_bytes())
        }
        _ => Err(format!(
            "no operation `{}`: this Rampart policy answers `protocol_version`, `validate_settings` and `validate`",
            String::from_utf8_lossy(operation)
        )),
    }
}

/// Why the settings are refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingsError {
    /// The settings are not JSON (or pass the loader's limits).
    NotJson(String),
    /// The settings are not an object.
    NotAnObject,
    /// Settings other than `params`.
    Unknown(Vec<String>),
    /// `params` is not an object of policies.
    ParamsNotAnObject,
    /// `params` names a policy the bundle does not hold.
    UnknownPolicy(String),
    /// A policy's entry is not an object of parameters.
    PolicyNotAnObject(String),
    /// A policy has no such parameter.
    UnknownParameter {
        /// The policy's id.
        policy: String,
        /// The parameter named.
        parameter: String,
    },
    /// The value does not have the parameter's declared type.
    WrongType {
        /// The policy's id.
        policy: String,
        /// The parameter.
        parameter: String,
        /// The declared type.
        shape: String,
    },
}

impl fmt::Display for SettingsError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::NotJson(error) => {
                write!(formatter, "the settings are not JSON: {error}")
            }
            SettingsError::NotAnObject => formatter.write_str("the settings must be an object"),
            SettingsError::Unknown(names) => write!(
                formatter,
                "unknown settings {}: a Rampart policy's settings may only override parameters (`params`); its policies, actions and configuration are fixed by `rampart build`",
                names
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            SettingsError::ParamsNotAnObject => formatter.write_str(
                "`params` must be an object of policy ids, each an object of parameters",
            ),
            SettingsError::UnknownPolicy(policy) => {
                write!(formatter, "params: no policy `{policy}` in this bundle")
            }
            SettingsError::PolicyNotAnObject(policy) => write!(
                formatter,
                "params: `{policy}` must be an object of parameters"
            ),
            SettingsError::UnknownParameter { policy, parameter } => write!(
                formatter,
                "policy `{policy}` has no parameter `{parameter}`"
            ),
            SettingsError::WrongType {
                policy,
                parameter,
                shape,
            } => write!(
                formatter,
                "parameter `{parameter}` of `{policy}` must be `{shape}`"
            ),
        }
    }
}

impl std::error::Error for SettingsError {}

/// One parameter the settings override.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamOverride {
    /// The policy's id.
    pub policy: String,
    /// The parameter's name.
    pub parameter: String,
    /// The value, of the parameter's declared type.
    pub value: Manifest,
}

/// Reads the settings against `guest`'s policies: the parameters they
/// override (none for `null` or `{}`).
pub fn read_settings(
    guest: &Guest,
    settings: &Manifest,
) -> Result<Vec<ParamOverride>, SettingsError> {
    let members = match settings {
        Manifest::Null => return Ok(Vec::new()),
        Manifest::Object(members) => members,
        _ => return Err(SettingsError::NotAnObject),
    };
    let unknown: Vec<String> = members
        .keys()
        .map(|key| key.as_str())
        .filter(|key| *key != "params")
        .map(str::to_owned)
        .collect();
    if !unknown.is_empty() {
        return Err(SettingsError::Unknown(unknown));
    }
    let Some(params) = members.get("params") else {
        return Ok(Vec::new());
    };
    let params = match params {
        Manifest::Null => return Ok(Vec::new()),
        Manifest::Object(params) => params,
        _ => return Err(SettingsError::ParamsNotAnObject),
    };
    let set = guest.prepared.set();
    let mut overrides = Vec::new();
    for (policy_id, values) in params {
        let policy_id = policy_id.as_str();
        let Some(policy) = set.policy(policy_id) else {
            return Err(SettingsError::UnknownPolicy(policy_id.to_owned()));
        };
        let Manifest::Object(values) = values else {
            return Err(SettingsError::PolicyNotAnObject(policy_id.to_owned()));
        };
        for (name, value) in values {
            let name = name.as_str();
            let Some(param) = policy.params.iter().find(|param| param.name == name) else {
                return Err(SettingsError::UnknownParameter {
                    policy: policy_id.to_owned(),
                    parameter: name.to_owned(),
                });
            };
            if !param.shape.admits(value) {
                return Err(SettingsError::WrongType {
                    policy: policy_id.to_owned(),
                    parameter: name.to_owned(),
                    shape: param.shape.to_string(),
                });
            }
            overrides.push(ParamOverride {
                policy: policy_id.to_owned(),
                parameter: name.to_owned(),
                value: value.clone(),
            });
        }
    }
    Ok(overrides)
}

/// The `validate_settings` answer: `{"valid": bool, "message"?: string}`.
pub fn validate_settings(guest: Result<&Guest, &str>, settings: &[u8]) -> Json {
    let guest = match guest {
        Ok(guest) => guest,
        Err(message) => return json!({"valid": false, "message": message}),
    };
    if settings.iter().all(u8::is_ascii_whitespace) {
        return json!({"valid": true});
    }
    let checked = limits::read_json_manifest(settings, &LoadLimits::default())
        .map_err(|error| SettingsError::NotJson(error.to_string()))
        .and_then(|settings| read_settings(guest, &settings));
    match checked {
        Ok(_) => json!({"valid": true}),
        Err(error) => json!({"valid": false, "message": error.to_string()}),
    }
}

thread_local! {
    /// The guest with the last settings' parameters applied, and those
    /// settings: a policy server sends one policy the same settings with
    /// every request, so the set is prepared again only when they change.
    /// (wasm32 has one thread: this is a plain static.)
    static WITH_SETTINGS: RefCell<Option<(Vec<ParamOverride>, Guest)>> = const { RefCell::new(None) };
}

impl Guest {
    /// This guest with `overrides` applied to its policies' parameters.
    /// The prepared set lives as long as the module instance (as the
    /// embedded one does); one is made per change of the settings.
    fn with_params(&self, overrides: &[ParamOverride]) -> Guest {
        let mut set = self.prepared.set().clone();
        for entry in overrides {
            let param = set
                .policies
                .iter_mut()
                .filter(|policy| policy.id == entry.policy)
                .flat_map(|policy| policy.params.iter_mut())
                .find(|param| param.name == entry.parameter);
            if let Some(param) = param {
                param.value = entry.value.clone();
            }
        }
        let prepared: &'static PreparedSet = Box::leak(Box::new(PreparedSet::new(
            set,
            self.prepared.judging().clone(),
            self.prepared.options().clone(),
        )));
        Guest {
            prepared,
            evaluator: prepared.evaluator(),
            metadata: self.metadata.clone(),
            inventory: self.inventory.clone(),
        }
    }
}

/// The `validate` answer: a Kubewarden ValidationResponse, or an error when
/// the payload is not a ValidationRequest or its settings are refused.
pub fn validate(guest: &Guest, payload: &[u8]) -> Result<Json, String> {
    // The object is at `request.object`: the envelope's levels are allowed
    // on top of the loader's depth limit, and no more.
    let mut payload = limits::read_json_envelope(payload, &LoadLimits::default())
        .map_err(|error| super::input_error("the ValidationRequest", &error))?;
    let overrides = read_settings(guest, payload.get("settings").unwrap_or(&Manifest::Null))
        .map_err(|error| error.to_string())?;
    let Some(request) = payload.get_mut("request").and_then(Manifest::as_object_mut) else {
        return Err("the ValidationRequest has no `request` object".to_owned());
    };
    let mut object = request
        .get_mut("object")
        .map(Manifest::take)
        .unwrap_or(Manifest::Null);
    let old_object = ["oldObject", "old_object"]
        .iter()
        .find_map(|name| request.get_mut(name).map(Manifest::take))
        .filter(|old| !old.is_null());
    let text = |value: Option<&Manifest>| {
        value
            .and_then(Manifest::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let context = RequestContext {
        namespace: text(request.get("namespace")),
        username: text(
            request
                .get("userInfo")
                .and_then(|user| user.get("username")),
        ),
    };
    if let (Some(namespace), Manifest::Object(fields)) = (&context.namespace, &mut object)
        && let Some(Manifest::Object(metadata)) = fields.get_mut("metadata")
    {
        // As the webhook does: the namespace is often only in the request
        // (the URL), and exceptions and policies match on the object's.
        metadata.get_or_insert_with("namespace", || Manifest::from(namespace.as_str()));
    }
    // No date: exceptions with an expiry date are not honoured (see above).
    if overrides.is_empty() {
        return Ok(response(
            &guest.judge_request(object, old_object, &context, None),
        ));
    }
    let outcome = WITH_SETTINGS.with(|cell| {
        let mut cached = cell.borrow_mut();
        let current = cached
            .as_ref()
            .is_some_and(|(settings, _)| *settings == overrides);
        if !current {
            *cached = Some((overrides.clone(), guest.with_params(&overrides)));
        }
        cached
            .as_ref()
            .map(|(_, configured)| configured.judge_request(object, old_object, &context, None))
    });
    outcome
        .map(|outcome| response(&outcome))
        .ok_or_else(|| "the settings' parameters could not be applied".to_owned())
}

/// A finding of the guest's outcome, as the admission decision reads it.
struct OutcomeFinding {
    policy: String,
    action: Action,
    message: String,
}

impl AdmissionFinding for OutcomeFinding {
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
        &[]
    }
}

/// A ValidationResponse from the guest's outcome (`{"findings", "errors"}`),
/// made by the admission decision the webhook answers with (failing
/// closed).
pub fn response(outcome: &Json) -> Json {
    let empty = Vec::new();
    let list = |name: &str| outcome.get(name).and_then(Json::as_array).unwrap_or(&empty);
    let text = |value: &Json, name: &str| {
        value
            .get(name)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let findings: Vec<OutcomeFinding> = list("findings")
        .iter()
        .map(|finding| OutcomeFinding {
            policy: text(finding, "policy"),
            // An action the guest does not write is read as the strictest.
            action: match finding.get("action").and_then(Json::as_str) {
                Some("warn") => Action::Warn,
                Some("audit") => Action::Audit,
                _ => Action::Deny,
            },
            message: text(finding, "message"),
        })
        .collect();
    let errors: Vec<EvalError> = list("errors")
        .iter()
        .map(|error| EvalError {
            policy: text(error, "policy"),
            message: text(error, "message"),
        })
        .collect();
    let answer = admission::decide(&findings, &errors, FailurePolicy::Fail);
    let mut response = Map::new();
    response.insert("accepted".to_owned(), Json::Bool(answer.allowed));
    if let Some(message) = answer.message {
        response.insert("message".to_owned(), Json::from(message));
    }
    if let Some(code) = answer.code {
        response.insert("code".to_owned(), Json::from(code));
    }
    if !answer.warnings.is_empty() {
        let warnings = answer.warnings.into_iter().map(Json::from).collect();
        response.insert("warnings".to_owned(), Json::Array(warnings));
    }
    if !answer.audit_annotations.is_empty() {
        let annotations = answer
            .audit_annotations
            .into_iter()
            .map(|(key, value)| (key, Json::from(value)))
            .collect();
        response.insert("audit_annotations".to_owned(), Json::Object(annotations));
    }
    Json::Object(response)
}

#[cfg(test)]
#[path = "kubewarden_tests.rs"]
mod tests;
