//! The step budget bounds memory as well as time: what builds strings and
//! lists pays for their size, and a policy that would build too much stops
//! with an error for that resource, before it builds it.

use super::*;
use crate::finding::Evaluation;
use crate::ir::*;
use crate::json;
use crate::test_support::{path, policy, set_of};

/// A Pod whose annotation `a` is `length` bytes long.
fn pod_with_annotation(length: usize) -> json::Json {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "annotations": {"a": "x".repeat(length)}},
        "spec": {"containers": []}
    })
}

fn annotation() -> Expr {
    path(Expr::Resource, &["metadata", "annotations", "a"])
}

fn call(builtin: Builtin, arguments: Vec<Expr>) -> Expr {
    Expr::Call(builtin, arguments)
}

fn text(literal: &str) -> Expr {
    Expr::Literal(json!(literal))
}

/// A policy that binds `lets` to slots 0, 1, ... in order and denies when
/// `count` of the last one is positive.
fn building(lets: Vec<Expr>) -> PolicySet {
    let last = lets.len() as u32 - 1;
    let mut body: Vec<Stmt> = lets
        .into_iter()
        .enumerate()
        .map(|(slot, value)| Stmt::Let {
            slot: slot as u32,
            value,
        })
        .collect();
    body.push(Stmt::Rule(Rule {
        index: 0,
        action: Action::Deny,
        condition: Expr::Binary(
            BinaryOp::Greater,
            Box::new(call(Builtin::Count, vec![Expr::Slot(last)])),
            Box::new(Expr::Literal(json!(0))),
        ),
        at: None,
        message: vec![TemplatePart::Text("built".into())],
        fixes: vec![],
        explain: vec![],
    }));
    set_of(policy(body, last + 1, Scope::All))
}

fn evaluate(set: &PolicySet, resource: &json::Json) -> Evaluation {
    Evaluator::new(set, EvalOptions::default()).evaluate(&Subject::new(resource))
}

/// The one error of an evaluation that found nothing.
fn only_error(evaluation: &Evaluation) -> &str {
    assert_eq!(evaluation.findings, vec![]);
    assert_eq!(evaluation.errors.len(), 1, "{:?}", evaluation.errors);
    assert_eq!(&*evaluation.errors[0].policy, "test.policy");
    &evaluation.errors[0].message
}

#[test]
fn nested_replace_on_a_short_annotation_stops_before_building() {
    // replace(s, "", s) puts s between every character of s: 1,000 bytes
    // make 1,002,000, and the same again some 10^12. The second is refused
    // before it is built.
    let once = call(Builtin::Replace, vec![annotation(), text(""), annotation()]);
    let twice = call(
        Builtin::Replace,
        vec![Expr::Slot(0), text(""), Expr::Slot(0)],
    );
    let set = building(vec![once, twice]);
    let message = only_error(&evaluate(&set, &pod_with_annotation(1_000))).to_owned();
    assert!(
        message.starts_with(
            "evaluation step budget exhausted: building a string of 1004006004000 bytes"
        ),
        "{message}"
    );
    // Once is within the budget: 1,002,000 bytes are 62,625 steps.
    let once = call(Builtin::Replace, vec![annotation(), text(""), annotation()]);
    let evaluation = evaluate(&building(vec![once]), &pod_with_annotation(1_000));
    assert_eq!(evaluation.errors, vec![]);
    assert_eq!(evaluation.findings.len(), 1);
}

#[test]
fn doubling_by_concatenation_stops() {
    // s + s, forty times over: 2^40 times the annotation.
    let mut lets = vec![annotation()];
    for slot in 0..40 {
        lets.push(Expr::Binary(
            BinaryOp::Add,
            Box::new(Expr::Slot(slot)),
            Box::new(Expr::Slot(slot)),
        ));
    }
    let message = only_error(&evaluate(&building(lets), &pod_with_annotation(1_000))).to_owned();
    assert!(message.contains("building a string of"), "{message}");
    // Lists too: [s] + [s], forty times over.
    let mut lets = vec![Expr::List(vec![annotation()])];
    for slot in 0..40 {
        lets.push(Expr::Binary(
            BinaryOp::Add,
            Box::new(Expr::Slot(slot)),
            Box::new(Expr::Slot(slot)),
        ));
    }
    let message = only_error(&evaluate(&building(lets), &pod_with_annotation(10))).to_owned();
    assert!(message.contains("building a list of"), "{message}");
}

#[test]
fn join_and_templates_are_charged_as_they_grow() {
    // A separator of 100,000 bytes between the 1,000 characters of a list
    // made by split: 100 MB.
    let parts = call(Builtin::Split, vec![annotation(), text("")]);
    let separator = call(Builtin::Replace, vec![text("x"), text("x"), annotation()]);
    let joined = call(Builtin::Join, vec![Expr::Slot(0), Expr::Slot(1)]);
    let set = building(vec![parts, separator, joined]);
    let resource = pod_with_annotation(1_000);
    let huge = pod_with_annotation(100_000);
    // The separator is the annotation: 1,000 bytes work, 100,000 do not.
    assert_eq!(evaluate(&set, &resource).errors, vec![]);
    let message = only_error(&evaluate(&set, &huge)).to_owned();
    assert!(message.contains("building a string of"), "{message}");

    // A format string that repeats a value: each copy is charged.
    let mut lets = vec![annotation()];
    for slot in 0..40 {
        lets.push(Expr::Format(vec![
            TemplatePart::Expr(Expr::Slot(slot)),
            TemplatePart::Expr(Expr::Slot(slot)),
        ]));
    }
    let message = only_error(&evaluate(&building(lets), &resource)).to_owned();
    assert!(message.contains("budget exhausted"), "{message}");
}

#[test]
fn short_strings_cost_no_more_than_before() {
    // Below 16 bytes a string costs nothing beyond its step.
    let mut lets = vec![text("ab")];
    for slot in 0..2 {
        lets.push(Expr::Binary(
            BinaryOp::Add,
            Box::new(Expr::Slot(slot)),
            Box::new(Expr::Slot(slot)),
        ));
    }
    let set = building(lets);
    let options = EvalOptions {
        // Exactly the steps of the evaluation: the literal, each `+` with
        // its two slots, the rule's condition and its `count` (one fewer
        // is exhausted: checked when this was written).
        step_budget: 8,
        ..EvalOptions::default()
    };
    let resource = pod_with_annotation(1);
    let evaluation = Evaluator::new(&set, options).evaluate(&Subject::new(&resource));
    assert_eq!(evaluation.errors, vec![]);
    assert_eq!(evaluation.findings.len(), 1);
}

#[test]
fn a_glob_that_would_backtrack_for_long_is_stopped() {
    // `*aaa...ab` against a long run of `a`: the star is stretched at each
    // of 100,000 characters and the 1,000 after it compared each time,
    // 10^8 moves, both read from the resource.
    let pattern = format!("*{}b", "a".repeat(1_000));
    let resource = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "annotations": {"a": "a".repeat(100_000), "pattern": pattern}},
    });
    let glob = call(
        Builtin::Glob,
        vec![
            annotation(),
            path(Expr::Resource, &["metadata", "annotations", "pattern"]),
        ],
    );
    let matched = Expr::Conditional(
        Box::new(glob),
        Box::new(Expr::List(vec![text("matched")])),
        Box::new(Expr::List(vec![])),
    );
    let set = building(vec![matched]);
    let message = only_error(&evaluate(&set, &resource)).to_owned();
    assert_eq!(
        message,
        "evaluation step budget exhausted matching a glob pattern: the input is too large for this policy"
    );
    // An ordinary pattern costs about a step per 16 characters of text.
    let ordinary = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "annotations": {"a": "registry.example.com", "pattern": "*.example.com"}},
    });
    let evaluation = evaluate(&set, &ordinary);
    assert_eq!(evaluation.errors, vec![]);
    assert_eq!(evaluation.findings.len(), 1);
}
