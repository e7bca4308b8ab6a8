//! Parsing takes time linear in the input: every shape that used to make the
//! grammar try an alternative again at every level (a list read once as a
//! comprehension and once as a list; `iffy(…)` tried as `if …`) parses
//! within a number of grammar calls proportional to its length.
//!
//! pest's call limit is global to the process, so this file holds one test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use rampart_lang::{Source, compile};
use std::num::NonZeroUsize;

/// Grammar calls allowed per byte of input: generous for a linear parse,
/// and far below what 2^30 retries take.
const CALLS_PER_BYTE: usize = 400;

fn syntax_errors(text: &str) -> usize {
    pest::set_call_limit(NonZeroUsize::new(CALLS_PER_BYTE * text.len()));
    let compilation = compile(&[Source {
        name: "nested.rampart".into(),
        text: text.into(),
    }]);
    pest::set_call_limit(None);
    compilation
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.code == "E0001")
        .count()
}

fn policy(condition: &str) -> String {
    format!(
        "policy nested.policy {{\n  severity low\n  match all\n  deny {condition}\n    message \"nested\"\n}}\n"
    )
}

#[test]
fn nested_shapes_parse_in_linear_time() {
    let depth = 30;
    let shapes = [
        format!("{}1{} == 1", "[".repeat(depth), "]".repeat(depth)),
        format!(
            "{}1{} == 1",
            "[x for x in [".repeat(depth),
            "]]".repeat(depth)
        ),
        format!("{}1{} == 1", "iffy(".repeat(depth), ")".repeat(depth)),
        format!(
            "{}true{}",
            "if iffy(".repeat(depth),
            ") then true else false".repeat(depth)
        ),
        format!("{}1{} == 1", "{a: ".repeat(depth), "}".repeat(depth)),
    ];
    for shape in shapes {
        assert_eq!(syntax_errors(&policy(&shape)), 0, "{}", &shape[..30]);
        let in_template = policy(&format!("true\n    message \"{{ {shape} }}\""));
        assert_eq!(syntax_errors(&in_template), 0, "template {}", &shape[..30]);
    }
}
