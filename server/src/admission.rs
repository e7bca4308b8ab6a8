//! The admission handler as a pure function: AdmissionReview bytes in, an
//! HTTP status and AdmissionReview bytes out, plus what the audit log and the
//! metrics need. No I/O, no threads, and no clock but in [`handle`]: the
//! fuzz target and the tests call [`handle`] or [`handle_at`] directly.
//!
//! The verdict itself is `rampart_core::admission::decide`, the function the
//! Kubewarden guest answers with too; this module reads the request, applies
//! the configuration's exemptions and judging, and writes the answer.

use crate::envelope;
use crate::error::RequestError;
use crate::patch;
use crate::summary;
use rampart_core::admission::{self as decision, AdmissionAnswer, Verdict};
use rampart_core::{Date, JudgedFinding, Judging, PreparedSet};
use rampart_engine::json::Json as Manifest;
use rampart_engine::load::{Document, Resource};
use rampart_engine::{Action, EvalError, EvalOptions, PolicySet, Subject};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeSet;
use std::sync::Arc;

pub use rampart_core::admission::FailurePolicy;

/// The only AdmissionReview version served; `v1beta1` was removed in Kubernetes 1.22.
pub const ADMISSION_API_VERSION: &str = "admission.k8s.io/v1";

/// Which webhook endpoint a request came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /validate`: allow or deny, with warnings.
    Validate,
    /// `POST /mutate`: always allow, with the rules' fixes as a JSON patch.
    Mutate,
}

/// Everything [`handle`] needs: the compiled policies and how to run them.
pub struct State {
    /// The policies (the configuration's parameters and actions applied),
    /// the configuration's exceptions and exemptions, the Kubernetes
    /// version and step budget, and the plans and controls made once here
    /// rather than for every request.
    pub prepared: PreparedSet,
    /// What to answer on an evaluation error.
    pub failure_policy: FailurePolicy,
}

impl State {
    /// The state for `set` without a configuration, prepared once.
    pub fn new(set: PolicySet, options: EvalOptions, failure_policy: FailurePolicy) -> State {
        State::configured(set, Judging::default(), options, failure_policy)
    }

    /// The state for `set` (the configuration's parameters and actions
    /// applied) judged under `judging`, prepared once.
    pub fn configured(
        set: PolicySet,
        judging: Judging,
        options: EvalOptions,
        failure_policy: FailurePolicy,
    ) -> State {
        State {
            prepared: PreparedSet::new(set, judging, options),
            failure_policy,
        }
    }
}

/// The verdict, as counted in metrics and written in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Allowed (possibly with warnings or a patch).
    Allowed,
    /// Denied by at least one policy.
    Denied,
    /// A policy could not finish or the deadline passed; answered per the failure policy.
    Error,
    /// Not an AdmissionReview we can answer (HTTP 400).
    Invalid,
}

impl Decision {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::Denied => "denied",
            Decision::Error => "error",
            Decision::Invalid => "invalid",
        }
    }
}

/// One policy's part in a decision, for the audit log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyResult {
    /// The policy's id.
    pub policy: String,
    /// `deny`, `warn`, `audit`, or `error` when it could not finish.
    pub action: String,
    /// The finding's message (or the error).
    pub message: String,
}

/// What the audit log and metrics record about one request.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Record {
    /// The request's uid.
    pub uid: String,
    /// Who asked (`userInfo.username`).
    pub user: String,
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: String,
    /// The object's kind (`request.kind.kind`).
    pub kind: String,
    /// The namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// The object's name (may be empty on CREATE with `generateName`).
    pub name: String,
    /// The subresource, if any.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sub_resource: String,
    /// Whether the API server will not persist the result.
    pub dry_run: bool,
    /// Whether the policies were run (subresources, DELETE and exempt
    /// requests are not).
    pub evaluated: bool,
    /// Why the request was allowed unjudged: the configuration's exemption
    /// that covers it (namespace, user or runtime class).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempt: Option<String>,
    /// Findings and errors, in policy order; at most
    /// [`summary::MAX_AUDIT_FINDINGS`] findings.
    pub policies: Vec<PolicyResult>,
    /// How many findings `policies` leaves out.
    #[serde(skip_serializing_if = "is_zero")]
    pub findings_omitted: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// The HTTP answer to one request.
#[derive(Clone, Debug)]
pub struct Response {
    /// HTTP status: 200 for every AdmissionReview answer, 400 for bad input.
    pub status: u16,
    /// JSON body.
    pub body: Vec<u8>,
    /// The verdict.
    pub decision: Decision,
    /// What to log.
    pub record: Record,
    /// Whether findings were summarised to keep the answer or the audit
    /// line within the limits of [`summary`].
    pub summarised: bool,
    /// Each policy with findings on this request, once per action it had
    /// them with, for the per-policy metrics (policies of the served set
    /// only, so bounded by it).
    pub policy_actions: Vec<(String, Action)>,
}

/// Answers one AdmissionReview as of today (by the system clock: the day
/// exceptions expire against). Never panics, whatever the bytes.
pub fn handle(endpoint: Endpoint, body: &[u8], state: &State) -> Response {
    handle_at(endpoint, body, state, Date::today())
}

/// Answers one AdmissionReview with exceptions expiring as of `today`.
/// Never panics, whatever the bytes.
pub fn handle_at(endpoint: Endpoint, body: &[u8], state: &State, today: Date) -> Response {
    let envelope = match envelope::read(body) {
        Ok(envelope) => envelope,
        Err(error) => return bad_request(error.to_string()),
    };
    let request = match parse_request(&envelope.review) {
        Ok(request) => request,
        Err(error) => return bad_request(error.to_string()),
    };
    let mut record = request.record();
    if !request.judged() {
        let answer = Answer::allowed(&request.uid);
        return respond(answer, Decision::Allowed, record);
    }
    let resource = request.resource();
    if let Some(exempt) = state.prepared.judging().exemptions.exempts(
        &resource,
        present(request.namespace),
        present(request.user),
    ) {
        // As Pod Security Admission does: allowed unjudged, and the audit
        // line says why.
        record.exempt = Some(exempt.to_string());
        return respond(Answer::allowed(&request.uid), Decision::Allowed, record);
    }
    if let Some(error) = envelope.unreadable_objects {
        // What `rampart check` refuses to load is not judged here either.
        let message = format!("rampart: the object cannot be judged: {error}");
        let (answer, decision) = failure(&request.uid, state.failure_policy, message);
        return respond(answer, decision, record);
    }
    if request.object.is_none() {
        // An object we cannot judge must not be let through as if judged.
        let message = "rampart: the request has no object to judge (`request.object` is missing or not an object)";
        let (answer, decision) = failure(&request.uid, state.failure_policy, message.to_owned());
        return respond(answer, decision, record);
    }
    let (findings, errors) = judge(&request, resource, state, today);
    record.evaluated = true;
    (record.policies, record.findings_omitted) = policy_results(&findings, &errors);
    let (answer, decision) = match endpoint {
        Endpoint::Validate => validate(&request.uid, &findings, &errors, state.failure_policy),
        Endpoint::Mutate => mutate(&request.uid, &findings),
    };
    let mut response = respond(answer, decision, record);
    if endpoint == Endpoint::Mutate {
        // The validating webhook judges the same object again (patched):
        // counting here too would count every finding twice.
        return response;
    }
    let mut seen = BTreeSet::new();
    response.policy_actions = findings
        .iter()
        .filter(|finding| seen.insert((&*finding.policy, finding.action.as_str())))
        .map(|finding| (finding.policy.to_string(), finding.action))
        .collect();
    response
}

/// `text` unless it is empty.
fn present(text: &str) -> Option<&str> {
    Some(text).filter(|text| !text.is_empty())
}

/// Evaluates the request's object and judges the findings under the
/// configuration (exceptions as of `today`, annotation self-exemption):
/// the judged findings, and the policies that could not finish.
fn judge(
    request: &Request<'_>,
    resource: Manifest,
    state: &State,
    today: Date,
) -> (Vec<JudgedFinding>, Vec<EvalError>) {
    let document = Document {
        index: 0,
        value: resource,
        positions: Default::default(),
        keys: None,
    };
    let subject = Subject {
        resource: &document.value,
        old_resource: request.old_object,
        inventory: None,
        keys: None,
    };
    let mut evaluation = state.prepared.evaluator().evaluate(&subject);
    // Errors keep their policy id (the judge would fold it into a message).
    let errors = std::mem::take(&mut evaluation.errors);
    let judge = state.prepared.judge(today);
    let mut judged = judge.start();
    let resource = Resource {
        document: &document,
        pointer: String::new(),
        value: &document.value,
    };
    let file: Arc<str> = Arc::from("admission");
    judge.judge(&file, &resource, Ok(evaluation), (0, 0), &mut judged);
    (judged.findings, errors)
}

/// The answer when the policies could not be run at all (the deadline passed,
/// or they are unavailable): the body is parsed again here, a rare path, for
/// the uid and the audit record.
pub fn failed(body: &[u8], failure_policy: FailurePolicy, message: &str) -> Response {
    let envelope = match envelope::read(body) {
        Ok(envelope) => envelope,
        Err(error) => return bad_request(error.to_string()),
    };
    let request = match parse_request(&envelope.review) {
        Ok(request) => request,
        Err(error) => return bad_request(error.to_string()),
    };
    let (answer, decision) = failure(&request.uid, failure_policy, message.to_owned());
    respond(answer, decision, request.record())
}

/// The fields of `request` that judging needs, borrowed from the review.
pub struct Request<'a> {
    uid: String,
    operation: &'a str,
    kind: &'a str,
    api_version: String,
    namespace: &'a str,
    name: &'a str,
    object_name: &'a str,
    sub_resource: &'a str,
    user: &'a str,
    dry_run: bool,
    object: Option<&'a Manifest>,
    old_object: Option<&'a Manifest>,
}

/// The string at `value`, or `""`.
fn text(value: Option<&Manifest>) -> &str {
    value.and_then(Manifest::as_str).unwrap_or_default()
}

/// Reads the parts of an AdmissionReview that judging needs; `Err` is
/// answered 400.
pub fn parse_request(review: &Manifest) -> Result<Request<'_>, RequestError> {
    let api_version = text(review.get("apiVersion"));
    let kind = text(review.get("kind"));
    if api_version != ADMISSION_API_VERSION || kind != "AdmissionReview" {
        return Err(RequestError::NotAdmissionReview {
            kind: kind.to_owned(),
            api_version: api_version.to_owned(),
        });
    }
    let Some(request) = review.get("request").filter(|request| request.is_object()) else {
        return Err(RequestError::NoRequest);
    };
    let uid = text(request.get("uid"));
    if uid.is_empty() {
        return Err(RequestError::NoUid);
    }
    let operation = text(request.get("operation"));
    if !matches!(operation, "CREATE" | "UPDATE" | "DELETE" | "CONNECT") {
        return Err(RequestError::UnknownOperation(operation.to_owned()));
    }
    let group_version_kind = request.get("kind");
    let group = text(group_version_kind.and_then(|gvk| gvk.get("group")));
    let version = text(group_version_kind.and_then(|gvk| gvk.get("version")));
    let object_of = |name: &str| request.get(name).filter(|value| value.is_object());
    Ok(Request {
        uid: uid.to_owned(),
        operation,
        kind: text(group_version_kind.and_then(|gvk| gvk.get("kind"))),
        api_version: if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        },
        namespace: text(request.get("namespace")),
        name: text(request.get("name")),
        object_name: text(
            object_of("object")
                .or_else(|| object_of("oldObject"))
                .and_then(|object| object.get("metadata"))
                .and_then(|metadata| metadata.get("name")),
        ),
        sub_resource: text(request.get("subResource")),
        user: text(
            request
                .get("userInfo")
                .and_then(|user| user.get("username")),
        ),
        dry_run: request
            .get("dryRun")
            .and_then(Manifest::as_bool)
            .unwrap_or(false),
        object: object_of("object"),
        old_object: object_of("oldObject"),
    })
}

impl Request<'_> {
    fn record(&self) -> Record {
        Record {
            uid: self.uid.clone(),
            user: self.user.to_owned(),
            operation: self.operation.to_owned(),
            kind: self.kind.to_owned(),
            namespace: self.namespace.to_owned(),
            // The request's name is empty on CREATE when the URL has none.
            name: if self.name.is_empty() {
                self.object_name
            } else {
                self.name
            }
            .to_owned(),
            sub_resource: self.sub_resource.to_owned(),
            dry_run: self.dry_run,
            evaluated: false,
            exempt: None,
            policies: Vec::new(),
            findings_omitted: 0,
        }
    }

    /// CREATE and UPDATE are judged (and without an object to judge, they
    /// fail per the failure policy). DELETE is allowed: the
    /// object is going away, and judging `oldObject` would only block clean-up
    /// of resources admitted before a policy existed. CONNECT (exec, attach,
    /// port-forward) carries options, not an object. Subresources are allowed
    /// unevaluated, except `ephemeralcontainers`, whose object is the whole Pod
    /// with the new containers: `pods/status` also carries a Pod, and judging
    /// it would deny the kubelet's status updates of a pod admitted earlier.
    fn judged(&self) -> bool {
        let judged_subresource =
            self.sub_resource.is_empty() || self.sub_resource == "ephemeralcontainers";
        matches!(self.operation, "CREATE" | "UPDATE") && judged_subresource
    }

    /// The object as the CLI would see it in a manifest: `apiVersion` and
    /// `kind` filled from the request when absent, and the namespace from the
    /// request when the object omits it (it is often set only in the URL), so
    /// that namespace matchers see it.
    fn resource(&self) -> Manifest {
        let mut resource = self.object.cloned().unwrap_or(Manifest::Null);
        if let Manifest::Object(fields) = &mut resource {
            fields.get_or_insert_with("apiVersion", || Manifest::from(self.api_version.as_str()));
            fields.get_or_insert_with("kind", || Manifest::from(self.kind));
            if !self.namespace.is_empty()
                && let Some(Manifest::Object(metadata)) = fields.get_mut("metadata")
            {
                metadata.get_or_insert_with("namespace", || Manifest::from(self.namespace));
            }
        }
        resource
    }
}

/// The `response` of an AdmissionReview, before serialization.
struct Answer {
    response: Map<String, Json>,
    /// Whether findings were left out to keep it within the limits.
    summarised: bool,
}

impl Answer {
    fn allowed(uid: &str) -> Answer {
        let mut response = Map::new();
        response.insert("uid".to_owned(), Json::from(uid));
        response.insert("allowed".to_owned(), Json::Bool(true));
        Answer {
            response,
            summarised: false,
        }
    }

    fn denied(uid: &str, code: u16, message: String) -> Answer {
        let mut answer = Answer::allowed(uid);
        answer
            .response
            .insert("allowed".to_owned(), Json::Bool(false));
        let reason = if code == 403 {
            "Forbidden"
        } else {
            "InternalError"
        };
        answer.response.insert(
            "status".to_owned(),
            json!({"status": "Failure", "code": code, "reason": reason, "message": message}),
        );
        answer
    }

    /// Adds the warnings, within the limits of [`summary::warnings`]:
    /// `warnings` yields `total` of them.
    fn warn(&mut self, warnings: impl IntoIterator<Item = String>, total: usize) {
        let (warnings, summarised) = summary::warnings(warnings, total);
        self.summarised |= summarised;
        if !warnings.is_empty() {
            let warnings = warnings.into_iter().map(Json::from).collect();
            self.response
                .insert("warnings".to_owned(), Json::Array(warnings));
        }
    }
}

/// The shared decision, written as an AdmissionReview response.
fn validate(
    uid: &str,
    findings: &[JudgedFinding],
    errors: &[EvalError],
    failure_policy: FailurePolicy,
) -> (Answer, Decision) {
    written(uid, decision::decide(findings, errors, failure_policy))
}

/// `decided` as an AdmissionReview response: `allowed`, `status` (code,
/// reason, message) when not allowed, `warnings`, `auditAnnotations`.
fn written(uid: &str, decided: AdmissionAnswer) -> (Answer, Decision) {
    let mut answer = match (decided.allowed, decided.code) {
        (false, code) => Answer::denied(
            uid,
            code.unwrap_or(403),
            decided.message.unwrap_or_default(),
        ),
        (true, _) => Answer::allowed(uid),
    };
    answer.summarised = decided.summarised;
    if !decided.warnings.is_empty() {
        let warnings = decided.warnings.into_iter().map(Json::from).collect();
        answer
            .response
            .insert("warnings".to_owned(), Json::Array(warnings));
    }
    if !decided.audit_annotations.is_empty() {
        let annotations = decided
            .audit_annotations
            .into_iter()
            .map(|(key, value)| (key, Json::from(value)))
            .collect();
        answer
            .response
            .insert("auditAnnotations".to_owned(), Json::Object(annotations));
    }
    let decision = match decided.verdict {
        Verdict::Allowed => Decision::Allowed,
        Verdict::Denied => Decision::Denied,
        Verdict::Error => Decision::Error,
    };
    (answer, decision)
}

fn mutate(uid: &str, findings: &[JudgedFinding]) -> (Answer, Decision) {
    let combined = patch::combine(decision::mutation_fixes(findings), summary::MAX_PATCH_BYTES);
    let mut answer = Answer::allowed(uid);
    if !combined.operations.is_empty() {
        let encoded = patch::encode(&combined.operations);
        answer
            .response
            .insert("patchType".to_owned(), Json::from("JSONPatch"));
        answer
            .response
            .insert("patch".to_owned(), Json::from(encoded));
    }
    let over_limit = (combined.over_limit > 0).then(|| format!(
        "fixes of {} more findings not applied: the patch reached its size limit of {} bytes; they apply on a later change",
        combined.over_limit,
        summary::MAX_PATCH_BYTES
    ));
    answer.summarised |= over_limit.is_some();
    // Only the warnings that can be listed are formatted.
    let skipped = combined
        .skipped
        .iter()
        .map(|policy| format!("{policy}: fix not applied, it conflicts with an earlier fix; it applies on a later change"));
    let total = combined.skipped.len() + usize::from(over_limit.is_some());
    answer.warn(over_limit.into_iter().chain(skipped), total);
    (answer, Decision::Allowed)
}

fn failure(uid: &str, failure_policy: FailurePolicy, message: String) -> (Answer, Decision) {
    written(uid, AdmissionAnswer::failure(failure_policy, message))
}

/// What the audit line lists: the first [`summary::MAX_AUDIT_FINDINGS`]
/// findings and every policy that could not finish (one per policy at most),
/// messages shortened; and how many findings were left out.
fn policy_results(findings: &[JudgedFinding], errors: &[EvalError]) -> (Vec<PolicyResult>, usize) {
    let listed = findings
        .iter()
        .take(summary::MAX_AUDIT_FINDINGS)
        .map(|finding| PolicyResult {
            policy: finding.policy.to_string(),
            action: finding.action.as_str().to_owned(),
            message: summary::shorten(&finding.message, summary::MAX_MESSAGE_CHARS).into_owned(),
        });
    let errors = errors.iter().map(|error| PolicyResult {
        policy: error.policy.clone(),
        action: "error".to_owned(),
        message: summary::shorten(&error.message, summary::MAX_MESSAGE_CHARS).into_owned(),
    });
    let omitted = findings.len().saturating_sub(summary::MAX_AUDIT_FINDINGS);
    (listed.chain(errors).collect(), omitted)
}

fn respond(answer: Answer, decision: Decision, record: Record) -> Response {
    let review = json!({
        "apiVersion": ADMISSION_API_VERSION,
        "kind": "AdmissionReview",
        "response": Json::Object(answer.response),
    });
    Response {
        status: 200,
        body: review.to_string().into_bytes(),
        decision,
        summarised: answer.summarised || record.findings_omitted > 0,
        record,
        policy_actions: Vec::new(),
    }
}

/// A 500 with a JSON body `{"error": message}`: the last resort when not
/// even an answer per the failure policy could be made (the API server then
/// applies the webhook configuration's `failurePolicy`).
pub fn internal_error(message: &str) -> Response {
    Response {
        status: 500,
        body: json!({ "error": message }).to_string().into_bytes(),
        decision: Decision::Error,
        record: Record::default(),
        summarised: false,
        policy_actions: Vec::new(),
    }
}

/// A 400 with a JSON body `{"error": message}`.
pub fn bad_request(message: String) -> Response {
    Response {
        status: 400,
        body: json!({ "error": message }).to_string().into_bytes(),
        decision: Decision::Invalid,
        record: Record::default(),
        summarised: false,
        policy_actions: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
