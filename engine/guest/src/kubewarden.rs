//! The Kubewarden policy protocol (version `v1`) on top of [`Guest`]: what
//! the waPC operations `protocol_version`, `validate_settings` and `validate`
//! answer. Plain, target-independent Rust; the waPC plumbing
//! (`__guest_call`) is in `wapc.rs`, compiled with the `kubewarden` feature.
//!
//! - `protocol_version` answers the JSON string `"v1"`.
//! - `validate_settings` takes the policy's settings (JSON) and answers
//!   `{"valid": bool, "message"?: string}`. A Rampart bundle takes no
//!   settings: its policies and their parameters are fixed by `rampart
//!   build`, so anything but `{}` (or `null`, or nothing) is refused. A bundle
//!   whose policies cannot be loaded (the bare guest) is refused here too, so
//!   that the policy server reports it when it starts.
//! - `validate` takes a ValidationRequest, `{"request": <AdmissionRequest>,
//!   "settings": {...}}`, judges `request.object` (with `request.oldObject`
//!   as the previous version) and answers a ValidationResponse:
//!   `{"accepted": bool, "message"?: string, "code"?: int, "warnings"?:
//!   [string], "audit_annotations"?: {string: string}}`. Deny findings
//!   reject (code 403, the message names each policy); warn findings become
//!   warnings; audit findings an audit annotation; a policy that could not
//!   finish rejects with code 500 (fail closed). `mutated_object` is never
//!   set: fixes are not applied.

use super::Guest;
use rampart_engine::json::Json as Manifest;
use rampart_engine::limits::{self, LoadLimits};
use serde_json::{Map, Value as Json, json};

/// The Kubewarden protocol version this guest speaks.
pub const PROTOCOL_VERSION: &str = "v1";

/// The audit annotation key that carries audit findings (the API server
/// prefixes it with the webhook's name).
pub const AUDIT_ANNOTATION: &str = "rampart-audit";

/// Kubernetes truncates long warning lists anyway; this keeps answers small.
const MAX_WARNINGS: usize = 64;

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

/// The `validate_settings` answer: `{"valid": bool, "message"?: string}`.
pub fn validate_settings(guest: Result<&Guest, &str>, settings: &[u8]) -> Json {
    if let Err(message) = guest {
        return json!({"valid": false, "message": message});
    }
    if settings.iter().all(u8::is_ascii_whitespace) {
        return json!({"valid": true});
    }
    let settings: Json = match serde_json::from_slice(settings) {
        Ok(settings) => settings,
        Err(error) => {
            return json!({"valid": false, "message": format!("the settings are not JSON: {error}")});
        }
    };
    match settings {
        Json::Null => json!({"valid": true}),
        Json::Object(members) if members.is_empty() => json!({"valid": true}),
        Json::Object(members) => {
            let names: Vec<String> = members.keys().map(|name| format!("`{name}`")).collect();
            json!({
                "valid": false,
                "message": format!(
                    "unknown settings {}: a Rampart policy takes no settings, its policies and their parameters are fixed by `rampart build`",
                    names.join(", ")
                ),
            })
        }
        _ => json!({"valid": false, "message": "the settings must be an object"}),
    }
}

/// The `validate` answer: a Kubewarden ValidationResponse, or an error when
/// the payload is not a ValidationRequest.
pub fn validate(guest: &Guest, payload: &[u8]) -> Result<Json, String> {
    // The object is at `request.object`: the envelope's levels are allowed
    // on top of the loader's depth limit, and no more.
    let mut payload = limits::read_json_envelope(payload, &LoadLimits::default())
        .map_err(|error| super::input_error("the ValidationRequest", &error))?;
    let Some(request) = payload.get_mut("request").and_then(Manifest::as_object_mut) else {
        return Err("the ValidationRequest has no `request` object".to_owned());
    };
    let object = request
        .get_mut("object")
        .map(Manifest::take)
        .unwrap_or(Manifest::Null);
    let old_object = ["oldObject", "old_object"]
        .iter()
        .find_map(|name| request.get_mut(name).map(Manifest::take))
        .filter(|old| !old.is_null());
    Ok(response(&guest.judge(object, old_object)))
}

/// A ValidationResponse from the guest's outcome (`{"findings", "errors"}`).
pub fn response(outcome: &Json) -> Json {
    let empty = Vec::new();
    let findings = outcome
        .get("findings")
        .and_then(Json::as_array)
        .unwrap_or(&empty);
    let errors = outcome
        .get("errors")
        .and_then(Json::as_array)
        .unwrap_or(&empty);
    let text = |value: &Json, name: &str| {
        value
            .get(name)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let with_action = |action: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|finding| finding.get("action").and_then(Json::as_str) == Some(action))
            .map(|finding| format!("{}: {}", text(finding, "policy"), text(finding, "message")))
            .collect()
    };
    let denials = with_action("deny");
    let warnings = with_action("warn");
    let audits = with_action("audit");
    let mut response = Map::new();
    if !denials.is_empty() {
        response.insert("accepted".to_owned(), Json::Bool(false));
        response.insert(
            "message".to_owned(),
            Json::from(format!("denied by rampart: {}", denials.join("; "))),
        );
        response.insert("code".to_owned(), Json::from(403));
    } else if !errors.is_empty() {
        let errors: Vec<String> = errors
            .iter()
            .map(|error| match error.get("policy").and_then(Json::as_str) {
                Some(policy) if !policy.is_empty() => {
                    format!(
                        "{policy} could not be evaluated: {}",
                        text(error, "message")
                    )
                }
                _ => text(error, "message"),
            })
            .collect();
        response.insert("accepted".to_owned(), Json::Bool(false));
        response.insert(
            "message".to_owned(),
            Json::from(format!("rampart: {}", errors.join("; "))),
        );
        response.insert("code".to_owned(), Json::from(500));
    } else {
        response.insert("accepted".to_owned(), Json::Bool(true));
    }
    if !warnings.is_empty() {
        let warnings = warnings
            .into_iter()
            .take(MAX_WARNINGS)
            .map(Json::from)
            .collect();
        response.insert("warnings".to_owned(), Json::Array(warnings));
    }
    if !audits.is_empty() {
        response.insert(
            "audit_annotations".to_owned(),
            json!({AUDIT_ANNOTATION: audits.join("; ")}),
        );
    }
    Json::Object(response)
}
