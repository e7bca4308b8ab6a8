//! Nesting limits: anything deeper than every stage can take is error E0005,
//! found without recursing into it; anything within them compiles, survives
//! the trip through serialized IR that every host makes, and evaluates.
//!
//! Each stage runs on a thread with a stack of a fixed size (compiling 4 MiB,
//! reading IR back and evaluating 2 MiB, what a worker thread gets), so
//! that recursion the limits do not bound fails here as a stack overflow
//! (aborting the test binary) instead of passing. Measured in this debug
//! build at the limits: compiling needs 1 to 2 MiB, reading 0.5 to 1 MiB,
//! evaluating under 0.5 MiB; optimised builds need several times less.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use rampart_engine::ir::PolicySet;
use rampart_engine::{EvalOptions, Evaluator, Subject};
use rampart_lang::limits::{MAX_EXPRESSION_DEPTH, MAX_NESTING, MAX_STATEMENT_DEPTH};
use rampart_lang::{Compilation, Source, compile};

const COMPILE_STACK: usize = 4 * 1024 * 1024;
const WORKER_STACK: usize = 2 * 1024 * 1024;

fn on_stack<T: Send + 'static>(size: usize, work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(size)
        .spawn(work)
        .unwrap()
        .join()
        .unwrap()
}

fn compiled(text: String) -> Compilation {
    on_stack(COMPILE_STACK, move || {
        compile(&[Source {
            name: "deep.rampart".into(),
            text,
        }])
    })
}

/// A policy that denies every pod when `condition` is true.
fn policy(condition: &str) -> String {
    format!(
        "policy deep.policy {{\n  severity low\n  match all\n  deny {condition}\n    message \"deep\"\n}}\n"
    )
}

fn codes(compilation: &Compilation) -> Vec<&'static str> {
    compilation
        .diagnostics
        .iter()
        .map(|diagnostic| diagnostic.code)
        .collect()
}

/// Serializes, reads back as a host does, and evaluates on a pod: how many
/// findings.
fn findings_after_round_trip(set: &PolicySet) -> usize {
    let bytes = serde_json::to_vec(set).unwrap();
    on_stack(WORKER_STACK, move || {
        let set = PolicySet::from_json(&bytes).unwrap();
        let pod = rampart_engine::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"a": "x"}},
            "spec": {"containers": [{"name": "c", "image": "x"}]}});
        let evaluator = Evaluator::new(&set, EvalOptions::default());
        let evaluation = evaluator.evaluate(&Subject::new(&pod));
        assert!(evaluation.errors.is_empty(), "{:?}", evaluation.errors);
        evaluation.findings.len()
    })
}

#[test]
fn ten_thousand_parentheses_are_one_error() {
    let text = policy(&format!("{}true{}", "(".repeat(10_000), ")".repeat(10_000)));
    let compilation = compiled(text);
    assert_eq!(codes(&compilation), ["E0005"]);
    let diagnostic = &compilation.diagnostics[0];
    assert_eq!(diagnostic.start.line, 4);
    // The policy's own brace is the first level.
    assert_eq!(diagnostic.start.column, 8 + MAX_NESTING - 1);
}

#[test]
fn five_thousand_levels_of_operators_are_one_error_each() {
    let shapes = [
        format!("{}true", "not ".repeat(5_000)),
        format!("1{} == 5001", " + 1".repeat(5_000)),
        format!("false{}", " or false".repeat(5_000)),
        format!(
            "{}true{}",
            "if true then ".repeat(5_000),
            " else false".repeat(5_000)
        ),
        format!("{}true", "if true then true else not ".repeat(5_000)),
        format!("resource{} == null", ".a".repeat(5_000)),
        format!("{}1{} == 1", "[".repeat(5_000), "][0]".repeat(5_000)),
    ];
    for shape in shapes {
        let compilation = compiled(policy(&shape));
        assert_eq!(codes(&compilation), ["E0005"], "{}", &shape[..40]);
        assert!(compilation.set.policies.is_empty());
    }
}

#[test]
fn deep_statements_are_an_error() {
    // Braces are bounded by the bracket scan; an `else if` chain is flat in
    // the grammar, so only the statement limit bounds it.
    let chain = format!(
        "if false {{ deny true message \"x\" }}{} else {{ deny true message \"y\" }}",
        " else if false { deny true message \"x\" }".repeat(MAX_STATEMENT_DEPTH as usize)
    );
    let text = format!("policy deep.policy {{\n  severity low\n  match all\n  {chain}\n}}\n");
    assert_eq!(codes(&compiled(text)), ["E0005"]);
}

#[test]
fn a_long_or_chain_compiles_and_loads_in_every_host() {
    // 60 comparisons: serde_json's default recursion limit refused the IR.
    let chain: Vec<String> = (0..60)
        .map(|index| format!("resource.metadata.labels.a == \"v{index}\""))
        .chain(["resource.metadata.labels.a == \"x\"".to_owned()])
        .collect();
    let compilation = compiled(policy(&chain.join(" or ")));
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    assert_eq!(findings_after_round_trip(&compilation.set), 1);
}

#[test]
fn a_policy_near_every_limit_at_once_loads_and_evaluates() {
    // Blocks in blocks, then an `else if` chain, then in its last branch an
    // expression as deep as allowed: a chain of `or`s whose first operand is
    // nested lists.
    let blocks = 30;
    let links = MAX_STATEMENT_DEPTH as usize - blocks - 3;
    let ors = MAX_EXPRESSION_DEPTH as usize - 8;
    let expression = format!("[[[true]]][0][0][0]{}", " or false".repeat(ors));
    let chain = format!(
        "if false {{ deny false message \"a\" }}{} else {{ deny {expression} message \"deep\" }}",
        " else if false { deny false message \"b\" }".repeat(links)
    );
    let body = format!(
        "{}{chain}{}",
        "if true { ".repeat(blocks),
        " }".repeat(blocks)
    );
    let text = format!("policy deep.policy {{\n  severity low\n  match all\n  {body}\n}}\n");
    let compilation = compiled(text);
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    let bytes = serde_json::to_vec(&compilation.set).unwrap();
    assert!(rampart_engine::ir::check_nesting(&bytes, rampart_engine::ir::MAX_IR_NESTING).is_ok());
    assert_eq!(findings_after_round_trip(&compilation.set), 1);
}

#[test]
fn long_else_if_chains_within_the_limit_are_fine() {
    let links = 50;
    let expression = format!(
        "if false then false {} else true",
        "else if false then false ".repeat(links)
    );
    let compilation = compiled(policy(&expression));
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    assert_eq!(findings_after_round_trip(&compilation.set), 1);
}
