use super::*;
use rampart_engine::Severity;

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

fn error(policy: &str) -> EvalError {
    EvalError {
        policy: policy.to_owned(),
        message: "ran out of steps".to_owned(),
    }
}

#[test]
fn deny_denies_warn_warns_audit_records() {
    let findings = vec![
        finding("denied", Action::Deny),
        finding("warned", Action::Warn),
        finding("logged", Action::Audit),
    ];
    let answer = decide(&findings, &[], FailurePolicy::Fail);
    assert_eq!(answer.verdict, Verdict::Denied);
    assert!(!answer.allowed);
    assert_eq!(answer.code, Some(403));
    assert_eq!(
        answer.message.as_deref(),
        Some("denied by rampart: denied: denied says so")
    );
    assert_eq!(answer.warnings, ["warned: warned says so"]);
    assert_eq!(
        answer.audited,
        [Audited {
            policy: "logged".into(),
            message: "logged says so".into()
        }]
    );
    assert_eq!(
        answer
            .audit_annotations
            .get(AUDIT_ANNOTATION)
            .map(String::as_str),
        Some("logged: logged says so")
    );
    assert!(!answer.summarised);

    let answer = decide(&findings[1..], &[], FailurePolicy::Fail);
    assert_eq!(answer.verdict, Verdict::Allowed);
    assert!(answer.allowed);
    assert_eq!((answer.code, answer.message), (None, None));
    assert_eq!(answer.warnings, ["warned: warned says so"]);

    let answer = decide(&findings[2..], &[], FailurePolicy::Fail);
    assert!(answer.allowed);
    assert!(answer.warnings.is_empty());
    assert_eq!(answer.audited.len(), 1);

    let answer = decide::<Finding>(&[], &[], FailurePolicy::Fail);
    assert_eq!(answer, AdmissionAnswer::allowed());
    assert!(answer.audit_annotations.is_empty());
}

#[test]
fn errors_answer_per_the_failure_policy_unless_a_denial_decides() {
    let warned = vec![finding("warned", Action::Warn)];
    let closed = decide(&warned, &[error("p")], FailurePolicy::Fail);
    assert_eq!(closed.verdict, Verdict::Error);
    assert_eq!(closed.code, Some(500));
    assert_eq!(
        closed.message.as_deref(),
        Some("rampart: p could not be evaluated: ran out of steps")
    );
    assert_eq!(closed.warnings, ["warned: warned says so"]);
    let open = decide(&warned, &[error("p"), error("")], FailurePolicy::Ignore);
    assert!(open.allowed);
    assert_eq!(open.verdict, Verdict::Error);
    assert_eq!(
        open.warnings,
        [
            "rampart: p could not be evaluated: ran out of steps; ran out of steps",
            "warned: warned says so"
        ]
    );
    let denied = decide(
        &[finding("denied", Action::Deny)],
        &[error("p")],
        FailurePolicy::Ignore,
    );
    assert_eq!(denied.verdict, Verdict::Denied);
}

#[test]
fn audit_findings_are_bounded_and_every_policy_is_named() {
    let mut findings: Vec<Finding> = (0..5000).map(|_| finding("many", Action::Audit)).collect();
    findings.push(finding("rare", Action::Audit));
    let answer = decide(&findings, &[], FailurePolicy::Fail);
    assert!(answer.allowed);
    assert_eq!(answer.audited.len(), summary::MAX_AUDIT_FINDINGS);
    assert_eq!(answer.audited_omitted, 5001 - summary::MAX_AUDIT_FINDINGS);
    assert!(
        answer
            .audited
            .iter()
            .any(|audited| audited.policy == "rare")
    );
    let value = &answer.audit_annotations[AUDIT_ANNOTATION];
    assert!(value.chars().count() <= summary::MAX_AUDIT_ANNOTATION_CHARS);
    assert!(value.contains("rare: rare says so"), "{value}");
    assert!(value.contains("more findings"), "{value}");
    assert!(answer.summarised);
}

#[test]
fn a_mutation_patches_with_deny_and_warn_fixes_only() {
    let fix = vec![PatchOperation {
        op: rampart_engine::PatchKind::Add,
        path: "/spec/x".into(),
        value: Some(rampart_engine::json::Json::Bool(true)),
    }];
    let mut findings = vec![
        finding("denied", Action::Deny),
        finding("warned", Action::Warn),
        finding("logged", Action::Audit),
        finding("plain", Action::Deny),
    ];
    for finding in &mut findings[..3] {
        finding.fix = fix.clone();
    }
    let patched: Vec<&str> = mutation_fixes(&findings)
        .map(|finding| finding.policy())
        .collect();
    assert_eq!(patched, ["denied", "warned"]);
}
