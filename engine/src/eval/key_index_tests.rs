//! The key index: which policies it skips, and that skipping changes nothing.

use super::*;
use crate::ir::*;
use crate::json;
use crate::json::{Json, KeyFilter};
use crate::test_support::{path, policy, set_of};
use std::sync::Arc;

fn binary(operator: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary(operator, Box::new(left), Box::new(right))
}

fn rule(condition: Expr) -> Stmt {
    Stmt::Rule(Rule {
        index: 0,
        action: Action::Deny,
        condition,
        at: None,
        message: vec![TemplatePart::Text("found".into())],
        fixes: vec![],
        explain: vec![],
    })
}

fn for_each(value_slot: Slot, collection: Expr, body: Vec<Stmt>) -> Stmt {
    Stmt::For {
        key_slot: None,
        value_slot,
        collection,
        body,
    }
}

/// The index the evaluator works out for the set's one policy.
fn index_of(set: &PolicySet) -> Option<Vec<KeyFilter>> {
    let evaluator = Evaluator::new(set, EvalOptions::default());
    evaluator.plans.by_policy[0].index.clone()
}

fn filter(keys: &[&str]) -> KeyFilter {
    let mut resource = json!({});
    for key in keys.iter().rev() {
        resource = json!({ *key: resource });
    }
    KeyFilter::of(&resource)
}

/// `for c in pod.containers { deny c.securityContext.privileged == true }`
fn privileged() -> Policy {
    let condition = binary(
        BinaryOp::Equal,
        path(Expr::Slot(0), &["securityContext", "privileged"]),
        Expr::Literal(json!(true)),
    );
    let containers = Expr::PodContainers(Box::new(Expr::Pod));
    policy(
        vec![for_each(0, containers, vec![rule(condition)])],
        1,
        Scope::Pods,
    )
}

fn pod(container: crate::json::Json) -> crate::json::Json {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [container]}})
}

#[test]
fn a_check_for_a_present_key_is_indexed_by_the_keys_of_its_path() {
    let set = set_of(privileged());
    assert_eq!(
        index_of(&set),
        // A container is under the pod's `spec`.
        Some(vec![filter(&["spec", "securityContext", "privileged"])])
    );
    let evaluator = Evaluator::new(&set, EvalOptions::default());
    // Skipped, yet still counted as matched (reports list it as passed).
    let clean = pod(json!({"name": "a", "securityContext": {"runAsUser": 1}}));
    let evaluation = evaluator.evaluate(&Subject::new(&clean));
    assert!(evaluation.findings.is_empty());
    assert_eq!(evaluation.matched, [Arc::from("test.policy")]);
    let flagged = pod(json!({"name": "a", "securityContext": {"privileged": true}}));
    assert_eq!(
        evaluator.evaluate(&Subject::new(&flagged)).findings.len(),
        1
    );
}

#[test]
fn a_check_that_fires_on_absence_is_not_indexed() {
    let mut policy = privileged();
    let Stmt::For { body, .. } = &mut policy.body[0] else {
        unreachable!()
    };
    body[0] = rule(binary(
        BinaryOp::NotEqual,
        path(Expr::Slot(0), &["securityContext", "privileged"]),
        Expr::Literal(json!(false)),
    ));
    assert_eq!(index_of(&set_of(policy)), None);
}

#[test]
fn members_of_values_the_policy_builds_are_not_keys_of_the_resource() {
    // `deny {privileged: true}.privileged == true` fires on every resource.
    let object = Expr::Object(vec![(Arc::from("privileged"), Expr::Literal(json!(true)))]);
    let condition = binary(
        BinaryOp::Equal,
        path(object, &["privileged"]),
        Expr::Literal(json!(true)),
    );
    let set = set_of(policy(vec![rule(condition)], 0, Scope::Pods));
    assert_eq!(index_of(&set), None);
    let evaluator = Evaluator::new(&set, EvalOptions::default());
    let clean = pod(json!({"name": "a"}));
    assert_eq!(evaluator.evaluate(&Subject::new(&clean)).findings.len(), 1);
}

#[test]
fn a_loop_whose_body_fires_on_absence_needs_its_collection() {
    // `for v in pod.spec.volumes { deny v.name != "data" }`
    let volumes = path(Expr::Pod, &["spec", "volumes"]);
    let condition = binary(
        BinaryOp::NotEqual,
        path(Expr::Slot(0), &["name"]),
        Expr::Literal(json!("data")),
    );
    let set = set_of(policy(
        vec![for_each(0, volumes, vec![rule(condition)])],
        1,
        Scope::Pods,
    ));
    assert_eq!(index_of(&set), Some(vec![filter(&["spec", "volumes"])]));
    let evaluator = Evaluator::new(&set, EvalOptions::default());
    let mut with_volume = pod(json!({"name": "a"}));
    with_volume
        .get_mut("spec")
        .and_then(Json::as_object_mut)
        .unwrap()
        .insert("volumes", json!([{"name": "cache"}]));
    assert_eq!(
        evaluator
            .evaluate(&Subject::new(&with_volume))
            .findings
            .len(),
        1
    );
}

#[test]
fn defaults_and_constant_lists_are_followed() {
    // `let added = c.securityContext.capabilities.add ?? []`
    // `deny count([x for x in added if x not in ["CHOWN"]]) > 0`
    let added = binary(
        BinaryOp::Coalesce,
        path(Expr::Slot(0), &["securityContext", "capabilities", "add"]),
        Expr::Literal(json!([])),
    );
    let forbidden = Expr::Comprehension {
        key_slot: None,
        value_slot: 2,
        collection: Box::new(Expr::Slot(1)),
        filter: Some(Box::new(binary(
            BinaryOp::NotIn,
            Expr::Slot(2),
            Expr::Literal(json!(["CHOWN"])),
        ))),
        map: Box::new(Expr::Slot(2)),
    };
    let condition = binary(
        BinaryOp::Greater,
        Expr::Call(Builtin::Count, vec![forbidden]),
        Expr::Literal(json!(0)),
    );
    let body = vec![
        Stmt::Let {
            slot: 1,
            value: added,
        },
        rule(condition),
    ];
    let containers = Expr::PodContainers(Box::new(Expr::Pod));
    let set = set_of(policy(vec![for_each(0, containers, body)], 3, Scope::Pods));
    assert_eq!(
        index_of(&set),
        Some(vec![filter(&[
            "spec",
            "securityContext",
            "capabilities",
            "add"
        ])])
    );
}

#[test]
fn rules_that_cannot_fire_skip_every_resource_and_cross_resource_checks_are_not_indexed() {
    let never = set_of(policy(
        vec![rule(Expr::Literal(json!(false)))],
        0,
        Scope::Pods,
    ));
    assert_eq!(index_of(&never), Some(vec![]));
    let services = Expr::Call(Builtin::Resources, vec![Expr::Literal(json!("Service"))]);
    let condition = binary(
        BinaryOp::Greater,
        Expr::Call(Builtin::Count, vec![services]),
        Expr::Literal(json!(0)),
    );
    let cross = set_of(policy(vec![rule(condition)], 0, Scope::All));
    assert_eq!(index_of(&cross), None);
}

#[test]
fn a_resource_filter_holds_every_key_at_every_depth() {
    let resource = json!({"spec": {"containers": [{"securityContext": {"privileged": true}}],
        "volumes": [[{"hostPath": {"path": "/"}}]]}});
    let keys = KeyFilter::of(&resource);
    for wanted in [
        filter(&["spec", "containers"]),
        filter(&["securityContext", "privileged"]),
        filter(&["hostPath", "path"]),
        filter(&["volumes"]),
    ] {
        assert!(keys.covers(&wanted));
    }
    // Eight bytes or more, and shorter names, with a shared prefix.
    let long = KeyFilter::of(&json!({"allowPrivilegeEscalation": 1, "a": 2}));
    assert!(long.covers(&filter(&["allowPrivilegeEscalation", "a"])));
}
