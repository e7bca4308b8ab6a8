//! The admission handler as a pure function: AdmissionReview bytes in, an
//! HTTP status and AdmissionReview bytes out, plus what the audit log and the
//! metrics need. No I/O, no clock, no threads: the fuzz target and the tests
//! call [`handle`] directly.

use crate::envelope;
use crate::patch;
use crate::summary;
use rampart_engine::json::Json as Manifest;
use rampart_engine::{
    Action, EvalOptions, Evaluation, Evaluator, Finding, Plans, PolicySet, Subject,
};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

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

/// What to answer when a policy cannot finish (step budget, invalid regex)
/// or the wall-clock deadline passes; mirrors Kubernetes' `failurePolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Deny (fail closed): code 500 with the reason.
    Fail,
    /// Allow (fail open), with the reason as a warning.
    Ignore,
}

/// Everything [`handle`] needs: the compiled policies and how to run them.
pub struct State {
    /// The policies.
    pub set: PolicySet,
    /// The Kubernetes version and step budget.
    pub options: EvalOptions,
    /// What evaluators of `set` work out before their first resource, made
    /// once here rather than for every request ([`State::new`]).
    pub plans: Plans,
    /// What to answer on an evaluation error.
    pub failure_policy: FailurePolicy,
}

impl State {
    /// The state for `set`, with its evaluation plans made once.
    pub fn new(set: PolicySet, options: EvalOptions, failure_policy: FailurePolicy) -> State {
        let plans = Evaluator::new(&set, options.clone()).plans();
        State {
            set,
            options,
            plans,
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
    /// Whether the policies were run (subresources and DELETE are not).
    pub evaluated: bool,
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
}

/// Answers one AdmissionReview. Never panics, whatever the bytes.
pub fn handle(endpoint: Endpoint, body: &[u8], state: &State) -> Response {
    let envelope = match envelope::read(body) {
        Ok(envelope) => envelope,
        Err(message) => return bad_request(message),
    };
    let request = match parse_request(&envelope.review) {
        Ok(request) => request,
        Err(message) => return bad_request(message),
    };
    let mut record = request.record();
    if !request.judged() {
        let answer = Answer::allowed(&request.uid);
        return respond(answer, Decision::Allowed, record);
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
    let resource = request.resource();
    let subject = Subject {
        resource: &resource,
        old_resource: request.old_object,
        inventory: None,
        keys: None,
    };
    let evaluation =
        Evaluator::with_plans(&state.set, state.options.clone(), &state.plans).evaluate(&subject);
    record.evaluated = true;
    (record.policies, record.findings_omitted) = policy_results(&evaluation);
    let (answer, decision) = match endpoint {
        Endpoint::Validate => validate(&request.uid, &evaluation, state.failure_policy),
        Endpoint::Mutate => mutate(&request.uid, &evaluation),
    };
    respond(answer, decision, record)
}

/// The answer when the policies could not be run at all (the deadline passed,
/// or they are unavailable): the body is parsed again here, a rare path, for
/// the uid and the audit record.
pub fn failed(body: &[u8], failure_policy: FailurePolicy, message: &str) -> Response {
    let envelope = match envelope::read(body) {
        Ok(envelope) => envelope,
        Err(message) => return bad_request(message),
    };
    let request = match parse_request(&envelope.review) {
        Ok(request) => request,
        Err(message) => return bad_request(message),
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

/// Reads the parts of an AdmissionReview that judging needs; `Err` is a 400 message.
pub fn parse_request(review: &Manifest) -> Result<Request<'_>, String> {
    let api_version = text(review.get("apiVersion"));
    let kind = text(review.get("kind"));
    if api_version != ADMISSION_API_VERSION || kind != "AdmissionReview" {
        return Err(format!(
            "expected an AdmissionReview of apiVersion {ADMISSION_API_VERSION}, got kind `{kind}` of apiVersion `{api_version}`"
        ));
    }
    let Some(request) = review.get("request").filter(|request| request.is_object()) else {
        return Err("the AdmissionReview has no `request` object".to_owned());
    };
    let uid = text(request.get("uid"));
    if uid.is_empty() {
        return Err("the AdmissionReview request has no `uid`".to_owned());
    }
    let operation = text(request.get("operation"));
    if !matches!(operation, "CREATE" | "UPDATE" | "DELETE" | "CONNECT") {
        return Err(format!("unknown operation `{operation}`"));
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

fn validate(
    uid: &str,
    evaluation: &Evaluation,
    failure_policy: FailurePolicy,
) -> (Answer, Decision) {
    let denials = evaluation
        .findings
        .iter()
        .filter(|finding| finding.action == Action::Deny);
    let warned: Vec<&Finding> = evaluation
        .findings
        .iter()
        .filter(|finding| finding.action == Action::Warn)
        .collect();
    // Every warning policy first; only the warnings that can be listed are formatted.
    let order = summary::spread(
        warned.iter().map(|finding| &*finding.policy),
        summary::MAX_WARNINGS,
    );
    let warnings = order
        .iter()
        .filter_map(|&index| warned.get(index))
        .map(|finding| summary::entry(&finding.policy, &finding.message));
    let warning_count = warned.len();
    let denial_count = denials.clone().count();
    if denial_count > 0 {
        let (message, summarised) = summary::denial_message(
            denials.map(|finding| (&*finding.policy, finding.message.as_str())),
            denial_count,
        );
        let mut answer = Answer::denied(uid, 403, message);
        answer.summarised = summarised;
        answer.warn(warnings, warning_count);
        return (answer, Decision::Denied);
    }
    if !evaluation.errors.is_empty() {
        // At most one error per policy: bounded by the set, not by the request.
        let errors: Vec<String> = evaluation
            .errors
            .iter()
            .map(|error| {
                format!(
                    "{} could not be evaluated: {}",
                    error.policy,
                    summary::shorten(&error.message, summary::MAX_MESSAGE_CHARS)
                )
            })
            .collect();
        let (mut answer, decision) = failure(
            uid,
            failure_policy,
            format!("rampart: {}", errors.join("; ")),
        );
        answer.warn(warnings, warning_count);
        return (answer, decision);
    }
    let mut answer = Answer::allowed(uid);
    answer.warn(warnings, warning_count);
    (answer, Decision::Allowed)
}

fn mutate(uid: &str, evaluation: &Evaluation) -> (Answer, Decision) {
    let fixes = evaluation.findings.iter().filter(|finding| {
        matches!(finding.action, Action::Deny | Action::Warn) && !finding.fix.is_empty()
    });
    let combined = patch::combine(fixes, summary::MAX_PATCH_BYTES);
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
    match failure_policy {
        FailurePolicy::Fail => (Answer::denied(uid, 500, message), Decision::Error),
        FailurePolicy::Ignore => {
            let mut answer = Answer::allowed(uid);
            answer.warn([message], 1);
            (answer, Decision::Error)
        }
    }
}

/// What the audit line lists: the first [`summary::MAX_AUDIT_FINDINGS`]
/// findings and every policy that could not finish (one per policy at most),
/// messages shortened; and how many findings were left out.
fn policy_results(evaluation: &Evaluation) -> (Vec<PolicyResult>, usize) {
    let findings = evaluation
        .findings
        .iter()
        .take(summary::MAX_AUDIT_FINDINGS)
        .map(|finding| PolicyResult {
            policy: finding.policy.to_string(),
            action: finding.action.as_str().to_owned(),
            message: summary::shorten(&finding.message, summary::MAX_MESSAGE_CHARS).into_owned(),
        });
    let errors = evaluation.errors.iter().map(|error| PolicyResult {
        policy: error.policy.clone(),
        action: "error".to_owned(),
        message: summary::shorten(&error.message, summary::MAX_MESSAGE_CHARS).into_owned(),
    });
    let omitted = evaluation
        .findings
        .len()
        .saturating_sub(summary::MAX_AUDIT_FINDINGS);
    (findings.chain(errors).collect(), omitted)
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_engine::{Finding, Severity};

    fn finding(policy: &str, action: Action) -> Finding {
        Finding {
            policy: policy.into(),
            rule: 0,
            action,
            severity: Severity::Medium,
            message: format!("{policy} says so"),
            pointer: String::new(),
            fix: Vec::new(),
        }
    }

    #[test]
    fn audit_findings_are_only_recorded() {
        let evaluation = Evaluation {
            findings: vec![
                finding("logged", Action::Audit),
                finding("warned", Action::Warn),
            ],
            ..Evaluation::default()
        };
        let (answer, decision) = validate("uid", &evaluation, FailurePolicy::Fail);
        assert_eq!(decision, Decision::Allowed);
        assert_eq!(
            answer.response["warnings"],
            json!(["warned: warned says so"])
        );
        let (results, omitted) = policy_results(&evaluation);
        assert_eq!(results[0].action, "audit");
        assert_eq!(omitted, 0);
    }
}
