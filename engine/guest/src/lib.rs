//! Rampart's WebAssembly guest: the engine behind a small, versioned
//! memory-in / JSON-out ABI (see `docs/wasm-abi.md`).
//!
//! This crate is compiled for `wasm32-unknown-unknown` by `rampart-bundle`'s
//! build script. The module it produces holds no policies: `rampart build`
//! copies it, appends the compiled policies as an active data segment in
//! fresh memory pages, and appends a second data segment that writes their
//! address and length into [`RAMPART_POLICY_SLOT`]. The result is one
//! self-contained `.wasm` file that any WebAssembly host can run.
//!
//! Built with the `kubewarden` feature, the module speaks Kubewarden's
//! waPC protocol instead (`__guest_call`, imports from module `wapc`; see
//! [`kubewarden`]), with the same policy slot, so that `rampart build --abi
//! kubewarden` embeds policies into it the same way.
//!
//! Everything but the exported functions is plain, target-independent Rust
//! ([`Guest`], [`kubewarden`]), so that it is tested natively too.

#![allow(
    unsafe_code,
    reason = "the ABI exports functions that read and write the module's linear memory by address, and the policy slot \
              is a static that `rampart build` overwrites; the waPC variant calls the host functions it imports; each unsafe block \
              says why it is sound"
)]

use rampart_abi::{EmbeddedConfig, Outcome, OutcomeError, WasmFinding};
use rampart_core::{Date, Judging, PreparedSet};
use rampart_engine::ir::{KubeVersion, PolicySet};
use rampart_engine::json::Json as Manifest;
use rampart_engine::limits::{self, LoadLimits, ReadJsonError};
use rampart_engine::load::{self, Document};
use rampart_engine::{EvalOptions, Evaluator, Inventory, Subject};
use serde_json::{Value as Json, json};
use std::sync::Arc;

pub use rampart_abi::{ABI_VERSION, PAYLOAD_FORMAT, SLOT_MAGIC};

/// Where the embedded policies are: `[SLOT_MAGIC, payload format, address,
/// length]`. The bare guest has zeros in the last three words; `rampart
/// build` appends an active data segment that overwrites them (the exported
/// global `rampart_policy_slot` holds this static's address). It is only
/// ever read, with a volatile read so that the compiler cannot fold the
/// initializer in.
#[unsafe(export_name = "rampart_policy_slot")]
pub static mut RAMPART_POLICY_SLOT: [u32; 4] = [SLOT_MAGIC, 0, 0, 0];

/// The guest's state: the prepared set (policies and the configuration
/// built in), parsed once, and the evaluator.
pub struct Guest {
    prepared: &'static PreparedSet,
    evaluator: Evaluator<'static>,
    metadata: Json,
    inventory: Option<Vec<Manifest>>,
}

/// What an admission request says beside its object, for exemptions.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// `request.namespace`.
    pub namespace: Option<String>,
    /// `request.userInfo.username`.
    pub username: Option<String>,
}

/// The day a judge without a date judges as: every exception with an
/// expiry date is expired then, so a host that passes no date never has an
/// exception honoured past its end.
const NO_DATE: Date = Date {
    year: 9999,
    month: 12,
    day: 31,
};

impl Guest {
    /// Parses the payload `rampart build` embedded.
    pub fn from_payload(payload: &[u8]) -> Result<Guest, String> {
        let payload = rampart_abi::read_payload(payload)
            .map_err(|error| format!("the embedded policies are not valid JSON: {error}"))?;
        let format = payload.get("format").and_then(Json::as_u64);
        if format != Some(u64::from(PAYLOAD_FORMAT)) {
            return Err(format!(
                "the embedded policies have payload format {}, this guest reads {PAYLOAD_FORMAT}",
                format.map_or_else(|| "(none)".to_owned(), |format| format.to_string())
            ));
        }
        let version = match payload.get("kube_version").and_then(Json::as_str) {
            None => KubeVersion::LATEST,
            Some(text) => KubeVersion::parse(text)
                .ok_or_else(|| format!("`{text}` is not a Kubernetes version"))?,
        };
        // The IR's own reading path: its nesting bound instead of the JSON
        // library's recursion limit, and the IR version checked.
        let set = PolicySet::from_json_value(payload.get("set").unwrap_or(&Json::Null))
            .map_err(|error| format!("the embedded policy set cannot be read: {error}"))?;
        let config: Option<EmbeddedConfig> =
            match payload.get("config") {
                None | Some(Json::Null) => None,
                Some(config) => Some(serde_json::from_value(config.clone()).map_err(|error| {
                    format!("the embedded configuration cannot be read: {error}")
                })?),
            };
        let policies: Vec<Json> = set
            .policies
            .iter()
            .map(|policy| {
                json!({
                    "id": policy.id,
                    "title": policy.title,
                    "severity": policy.severity,
                    "controls": policy.controls,
                })
            })
            .collect();
        let metadata = json!({
            "abi_version": ABI_VERSION,
            "payload_format": PAYLOAD_FORMAT,
            "ir_version": set.version,
            "kube_version": version.to_string(),
            "uses_inventory": set.uses_inventory(),
            "policies": policies,
            "config": config.as_ref().map(|config| json!({
                "file": config.file,
                "hash": config.hash,
                "judging": config.judging,
            })),
        });
        let judging = config.map(|config| config.judging).unwrap_or_default();
        let options = EvalOptions {
            version,
            ..EvalOptions::default()
        };
        // The prepared set lives as long as the module instance: leaking it
        // lets the evaluator (and its regex cache) be kept across calls.
        let prepared: &'static PreparedSet =
            Box::leak(Box::new(PreparedSet::new(set, judging, options)));
        Ok(Guest {
            prepared,
            evaluator: prepared.evaluator(),
            metadata,
            inventory: None,
        })
    }

    /// The metadata JSON: ABI version, Kubernetes version, policies, and the
    /// configuration built in (its file and hash), if any.
    pub fn metadata(&self) -> &Json {
        &self.metadata
    }

    /// The exceptions, exemptions and self-exemption rule built in.
    pub fn judging(&self) -> &Judging {
        self.prepared.judging()
    }

    /// Sets the resources that `resources("Kind")` sees in later
    /// evaluations (a `kind: List`, or a JSON array of objects); empty input
    /// clears it. Returns the errors (empty when it was accepted).
    pub fn set_inventory(&mut self, input: &[u8]) -> Json {
        if input.is_empty() {
            self.inventory = None;
            return json!({"errors": []});
        }
        let value = match limits::read_json_manifest(input, &LoadLimits::default()) {
            Ok(value) => value,
            Err(error) => {
                return json!({"errors": [{"message": input_error("the inventory", &error)}]});
            }
        };
        let items = match value {
            Manifest::Array(items) => items,
            Manifest::Object(mut members) => match members.get_mut("items").map(Manifest::take) {
                Some(Manifest::Array(items)) => items,
                _ => {
                    return json!({"errors": [{"message": "the inventory must be a `kind: List` or an array"}]});
                }
            },
            _ => {
                return json!({"errors": [{"message": "the inventory must be a `kind: List` or an array"}]});
            }
        };
        self.inventory = Some(items);
        json!({"errors": []})
    }

    /// Evaluates the input (a manifest object, a `kind: List`, or an
    /// AdmissionReview) and judges it with the configuration built in, its
    /// exceptions expiring as of `today`. Returns `{"findings": [...],
    /// "errors": [...], "resources": N, "suppressed": N, "exempted": N,
    /// "exceptions_used": [index, ...]}`.
    pub fn evaluate(&self, input: &[u8], today: Date) -> Json {
        let value = match read_input(input) {
            Ok(value) => value,
            Err(error) => {
                return error_outcome(input_error("the input", &error));
            }
        };
        let (object, old_object, context) = match admission_request(&value) {
            Some(Ok(request)) => request,
            Some(Err(message)) => return error_outcome(message),
            None => (value, None, RequestContext::default()),
        };
        self.judge_request(object, old_object, &context, Some(today))
    }

    /// Judges one document (a manifest object or a `kind: List`), with the
    /// previous version of the object for an update; `null` judges nothing.
    /// It has no date: exceptions with an expiry date are not honoured (see
    /// [`Guest::judge_request`]). Returns what [`Guest::evaluate`] returns.
    pub fn judge(&self, object: Manifest, old_object: Option<Manifest>) -> Json {
        self.judge_request(object, old_object, &RequestContext::default(), None)
    }

    /// Judges one document of an admission request (`context`: its
    /// namespace and user, for exemptions) as of `today`; with no date,
    /// every exception with an expiry date counts as expired.
    pub fn judge_request(
        &self,
        object: Manifest,
        old_object: Option<Manifest>,
        context: &RequestContext,
        today: Option<Date>,
    ) -> Json {
        let mut errors = Vec::new();
        if object.is_null() {
            // An admission request without an object (DELETE): nothing to judge.
            return outcome(Vec::new(), Vec::new(), &rampart_core::Judged::default());
        }
        let judging = self.prepared.judging();
        if (context.namespace.is_some() || context.username.is_some())
            && judging
                .exemptions
                .exempts(
                    &object,
                    context.namespace.as_deref(),
                    context.username.as_deref(),
                )
                .is_some()
        {
            let judged = rampart_core::Judged {
                exempted: 1,
                ..rampart_core::Judged::default()
            };
            return outcome(Vec::new(), Vec::new(), &judged);
        }
        let document = Document {
            index: 0,
            value: object,
            positions: load::PositionTree::default(),
            keys: None,
        };
        let documents = std::slice::from_ref(&document);
        let mut load_errors = Vec::new();
        let resources = load::resources(documents, &mut load_errors);
        errors.extend(
            load_errors
                .into_iter()
                .map(|error| OutcomeError::about_input(error.message)),
        );
        let set = self.prepared.set();
        let mut inventory = Inventory::new();
        if set.uses_inventory() {
            match &self.inventory {
                Some(items) => items.iter().for_each(|item| inventory.add(item)),
                None => resources
                    .iter()
                    .for_each(|resource| inventory.add(resource.value)),
            }
        }
        let judge = self.prepared.judge(today.unwrap_or(NO_DATE));
        let mut judged = judge.start();
        let file: Arc<str> = Arc::from("input");
        for resource in &resources {
            let subject = Subject {
                resource: resource.value,
                old_resource: old_object.as_ref(),
                inventory: Some(&inventory),
                keys: resource.document.keys.as_ref(),
            };
            let exempt = judge.exempt(resource.value).is_some();
            let mut evaluation = if exempt {
                rampart_engine::Evaluation::default()
            } else {
                self.evaluator.evaluate(&subject)
            };
            // The errors are reported as the guest always has (policy, path,
            // message), not as the judge words them for a file.
            for error in std::mem::take(&mut evaluation.errors) {
                errors.push(OutcomeError {
                    policy: Some(error.policy.to_string()),
                    path: Some(resource.pointer.clone()),
                    message: error.message,
                });
            }
            judge.judge(&file, resource, Ok(evaluation), (0, 0), &mut judged);
        }
        let findings = std::mem::take(&mut judged.findings)
            .into_iter()
            .map(|finding| WasmFinding {
                policy: finding.policy.to_string(),
                rule: finding.rule,
                action: finding.action,
                severity: finding.severity,
                message: finding.message,
                path: finding.path,
                controls: finding.controls.to_vec(),
                fix: finding.fix,
            })
            .collect();
        outcome(findings, errors, &judged)
    }
}

/// Reads the input of [`Guest::evaluate`] under the loader's limits, as the
/// command line reads a file: a manifest or a `kind: List` may nest
/// [`limits::MAX_DEPTH`] levels, and so may the object of an AdmissionReview
/// (which adds [`limits::ENVELOPE_DEPTH`] levels around it).
fn read_input(input: &[u8]) -> Result<Manifest, ReadJsonError> {
    let limits = LoadLimits::default();
    match limits::read_json_manifest(input, &limits) {
        Err(first @ ReadJsonError::Limit { .. }) => {
            // Read again with the envelope's levels only for an
            // AdmissionReview: a manifest may not use them.
            match limits::read_json_envelope(input, &limits) {
                Ok(value) if is_admission_review(&value) => Ok(value),
                Ok(_) => Err(first),
                Err(error) => Err(error),
            }
        }
        read => read,
    }
}

/// The message of an input that could not be read: a limit is named as
/// the command line names it, anything else says the input is not JSON.
pub(crate) fn input_error(what: &str, error: &ReadJsonError) -> String {
    match error {
        ReadJsonError::Limit { .. } => format!("{what} is refused: {error}"),
        _ => format!("{what} is not JSON: {error}"),
    }
}

fn is_admission_review(value: &Manifest) -> bool {
    value.get("kind").and_then(Manifest::as_str) == Some("AdmissionReview")
}

/// An admission request's object, old object, namespace and user.
type Request = (Manifest, Option<Manifest>, RequestContext);

/// For an AdmissionReview, its `request.object` and `request.oldObject`,
/// with the request's namespace and user.
fn admission_request(value: &Manifest) -> Option<Result<Request, String>> {
    if !is_admission_review(value) {
        return None;
    }
    let Some(request) = value.get("request").and_then(Manifest::as_object) else {
        return Some(Err("the AdmissionReview has no `request`".to_owned()));
    };
    let object = request.get("object").cloned().unwrap_or(Manifest::Null);
    let old_object = request
        .get("oldObject")
        .filter(|old| !old.is_null())
        .cloned();
    let text = |value: Option<&Manifest>| value.and_then(Manifest::as_str).map(str::to_owned);
    let context = RequestContext {
        namespace: text(request.get("namespace")),
        username: text(
            request
                .get("userInfo")
                .and_then(|user| user.get("username")),
        ),
    };
    Some(Ok((object, old_object, context)))
}

/// The outcome of an input that could not be judged at all.
fn error_outcome(message: String) -> Json {
    outcome(
        Vec::new(),
        vec![OutcomeError::about_input(message)],
        &rampart_core::Judged::default(),
    )
}

/// The typed answer, as JSON.
fn outcome(
    findings: Vec<WasmFinding>,
    errors: Vec<OutcomeError>,
    judged: &rampart_core::Judged,
) -> Json {
    let outcome = Outcome {
        findings,
        errors,
        resources: judged.resources,
        suppressed: judged.suppressed,
        exempted: judged.exempted,
        exceptions_used: judged
            .exception_used
            .iter()
            .enumerate()
            .filter(|(_, used)| **used)
            .map(|(index, _)| index)
            .collect(),
    };
    serde_json::to_value(&outcome).unwrap_or_else(|error| {
        json!({"findings": [], "errors": [{"message": format!("the answer cannot be written: {error}")}]})
    })
}

pub mod kubewarden;

#[cfg(all(target_arch = "wasm32", not(feature = "kubewarden")))]
mod abi;

#[cfg(target_arch = "wasm32")]
mod slot;

#[cfg(all(target_arch = "wasm32", feature = "kubewarden"))]
mod wapc;

#[cfg(test)]
mod tests;
