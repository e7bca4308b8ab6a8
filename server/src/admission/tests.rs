use super::*;
use rampart_core::{Exception, Exemptions};

/// Three policies, one per action (as a configuration's `actions` set
/// them), all firing on every Pod.
fn state(judging: Judging) -> State {
    let mut text = String::new();
    for action in ["deny", "warn", "audit"] {
        text.push_str(&format!(
            "policy test.{action} {{\n  severity low\n  match pods\n  deny true\n    message \"{action}ed\"\n}}\n"
        ));
    }
    let source = rampart_lang::Source {
        name: "test.rampart".to_owned(),
        text,
    };
    let compilation = rampart_lang::compile(&[source]);
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    let mut set = compilation.set;
    for policy in &mut set.policies {
        policy.action_override = match policy.id.as_str() {
            "test.warn" => Some(Action::Warn),
            "test.audit" => Some(Action::Audit),
            _ => None,
        };
    }
    State::configured(set, judging, EvalOptions::default(), FailurePolicy::Fail)
}

fn review(namespace: &str, user: &str, runtime_class: &str) -> Vec<u8> {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u1",
            "operation": "CREATE",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": namespace,
            "userInfo": {"username": user},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"runtimeClassName": runtime_class}},
        }
    })
    .to_string()
    .into_bytes()
}

fn day(text: &str) -> Date {
    Date::parse(text).unwrap()
}

fn answer(response: &Response) -> Json {
    let review: Json = serde_json::from_slice(&response.body).unwrap();
    review["response"].clone()
}

#[test]
fn deny_warn_and_audit_each_answer_their_way() {
    let state = state(Judging::default());
    let response = handle_at(
        Endpoint::Validate,
        &review("shop", "alice", "runc"),
        &state,
        day("2027-01-01"),
    );
    assert_eq!(response.decision, Decision::Denied);
    let answer = answer(&response);
    assert_eq!(answer["allowed"], json!(false));
    assert_eq!(answer["status"]["code"], json!(403));
    assert_eq!(
        answer["status"]["message"],
        json!("denied by rampart: test.deny: denyed")
    );
    assert_eq!(answer["warnings"], json!(["test.warn: warned"]));
    assert_eq!(
        answer["auditAnnotations"],
        json!({"rampart-audit": "test.audit: audited"})
    );
    let actions: Vec<&str> = response
        .record
        .policies
        .iter()
        .map(|result| result.action.as_str())
        .collect();
    assert_eq!(actions, ["deny", "warn", "audit"]);
    assert_eq!(response.policy_actions.len(), 3);
    // The mutating webhook's findings are not counted: validation counts them.
    let mutated = handle_at(
        Endpoint::Mutate,
        &review("shop", "alice", "runc"),
        &state,
        day("2027-01-01"),
    );
    assert!(mutated.policy_actions.is_empty());
}

#[test]
fn exceptions_apply_until_their_expiry_day() {
    let judging = Judging {
        exceptions: vec![Exception {
            policy: "test.deny".into(),
            kind: None,
            namespace: Some("shop".into()),
            name: None,
            reason: "migrating".into(),
            expires: Some(day("2027-03-31")),
            position: None,
        }],
        ..Judging::default()
    };
    let state = state(judging);
    let body = review("shop", "alice", "runc");
    let within = handle_at(Endpoint::Validate, &body, &state, day("2027-03-31"));
    assert_eq!(within.decision, Decision::Allowed);
    let after = handle_at(Endpoint::Validate, &body, &state, day("2027-04-01"));
    assert_eq!(after.decision, Decision::Denied);
}

#[test]
fn exempt_requests_are_allowed_unjudged_and_the_record_says_why() {
    let judging = Judging {
        exemptions: Exemptions {
            namespaces: vec!["kube-*".into()],
            usernames: vec!["system:serviceaccount:ci:*".into()],
            runtime_class_names: vec!["kata".into()],
        },
        ..Judging::default()
    };
    let state = state(judging);
    let today = day("2027-01-01");
    for (body, why) in [
        (
            review("kube-system", "alice", "runc"),
            "namespace `kube-system` is exempt",
        ),
        (
            review("shop", "system:serviceaccount:ci:deployer", "runc"),
            "user `system:serviceaccount:ci:deployer` is exempt",
        ),
        (
            review("shop", "alice", "kata"),
            "runtime class `kata` is exempt",
        ),
    ] {
        let response = handle_at(Endpoint::Validate, &body, &state, today);
        assert_eq!(response.decision, Decision::Allowed, "{why}");
        assert!(!response.record.evaluated);
        assert_eq!(response.record.exempt.as_deref(), Some(why));
        assert_eq!(answer(&response), json!({"uid": "u1", "allowed": true}));
    }
    let judged = handle_at(
        Endpoint::Validate,
        &review("shop", "alice", "runc"),
        &state,
        today,
    );
    assert_eq!(judged.decision, Decision::Denied);
    assert_eq!(judged.record.exempt, None);
}
