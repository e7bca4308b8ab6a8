//! Alias expansion is bounded in bytes as well as in nodes: a short file
//! that names a long string many times is refused before it is copied.

use super::*;
use crate::limits::{MAX_ALIAS_BYTES, MAX_EXPANSION};

/// A file whose first line anchors a string of `length` bytes and whose
/// next lines name it `count` times, one alias per line from line 3.
fn aliased_string(length: usize, count: usize) -> String {
    let mut text = format!("s: &s {}\nl:\n", "x".repeat(length));
    for _ in 0..count {
        text.push_str("- *s\n");
    }
    text
}

/// Limits that bound aliases by nodes only, as before bytes were counted.
fn nodes_only() -> LoadLimits {
    LoadLimits {
        max_alias_bytes: usize::MAX,
        max_expansion: usize::MAX,
        ..LoadLimits::default()
    }
}

#[test]
fn a_long_string_aliased_many_times_is_refused_by_its_bytes() {
    // 20,000 aliases to 10 KB: 200 MB from a 110 KB file, and few enough
    // nodes for the node limit. Refused at the alias that passes 4 MiB.
    let text = aliased_string(10_000, 20_000);
    let outcome = load_str(&text, &LoadLimits::default());
    assert!(outcome.documents.is_empty());
    assert_eq!(outcome.errors.len(), 1);
    let error = &outcome.errors[0];
    assert_eq!(
        error.message,
        format!(
            "aliases expand to more than {MAX_ALIAS_BYTES} bytes of text, the limit (an alias bomb?)"
        )
    );
    // Alias 420 (on line 422) is the first past 4,194,304 bytes.
    assert_eq!(
        error.position,
        Some(Position {
            line: 422,
            column: 3
        })
    );
    assert_eq!(error.to_string().split(':').next(), Some("422"));

    // The same shape within the node limit alone loads (smaller, so that
    // the test stays quick): the byte limit is what refuses it.
    let smaller = aliased_string(10_000, 1_000);
    assert!(load_str(&smaller, &nodes_only()).errors.is_empty());
    assert_eq!(load_str(&smaller, &LoadLimits::default()).errors.len(), 1);
}

#[test]
fn the_loaded_value_is_bounded_relative_to_the_input() {
    // 3,000 aliases to 1,000 bytes: 3 MB, under the alias byte limit, but
    // more than 32 times the 16 KB file and 1 MiB more.
    let text = aliased_string(1_000, 3_000);
    let outcome = load_str(&text, &LoadLimits::default());
    assert_eq!(outcome.errors.len(), 1);
    let error = &outcome.errors[0];
    let bound = LoadLimits::default().max_loaded_size(text.len());
    assert_eq!(
        error.message,
        format!(
            "aliases expand the file to more than {bound} bytes, {MAX_EXPANSION} times its size and 1048576 more, the limit (an alias bomb?)"
        )
    );
    let line = error.position.map(|position| position.line).unwrap_or(0);
    // Each alias adds 1,000 bytes of text and 32 of node: the bound is
    // passed some 1,500 aliases in, not at the end.
    assert!((1_400..1_700).contains(&line), "line {line}");
    assert!(load_str(&text, &nodes_only()).errors.is_empty());
}

#[test]
fn an_alias_used_as_a_key_counts_its_bytes() {
    // 5 MB of keys from a 16 KB file (the size bound, past 1.5 MB, is met
    // first).
    let mut text = format!("k: &k {}\nl:\n", "x".repeat(10_000));
    for _ in 0..500 {
        text.push_str("- {*k : 1}\n");
    }
    let outcome = load_str(&text, &LoadLimits::default());
    assert_eq!(outcome.errors.len(), 1);
    assert!(
        outcome.errors[0].message.contains("bytes"),
        "{}",
        outcome.errors[0].message
    );
    assert!(load_str(&text, &nodes_only()).errors.is_empty());
}

#[test]
fn nested_anchors_count_what_their_aliases_copied() {
    // `b` holds two copies of `a`; each alias to `b` copies both.
    let limits = LoadLimits {
        max_alias_bytes: 4_000,
        ..LoadLimits::default()
    };
    let long = "x".repeat(1_000);
    let text = format!("a: &a {long}\nb: &b [*a, *a]\nc: [*b]\n");
    assert!(load_str(&text, &limits).errors.is_empty());
    let text = format!("a: &a {long}\nb: &b [*a, *a]\nc: [*b, *b]\n");
    let outcome = load_str(&text, &limits);
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(
        outcome.errors[0].position,
        Some(Position { line: 3, column: 9 })
    );
}

#[test]
fn ordinary_aliases_load() {
    // A 2 KB block of environment variables shared by 50 containers.
    let variables: String = (0..40)
        .map(|number| format!("      - {{name: VARIABLE_{number}, value: value-{number}}}\n"))
        .collect();
    let mut text = format!("shared:\n  env: &env\n{variables}containers:\n");
    for number in 0..50 {
        text.push_str(&format!("  - name: c{number}\n    env: *env\n"));
    }
    let outcome = load_str(&text, &LoadLimits::default());
    assert_eq!(outcome.errors, vec![]);
}

#[test]
fn nested_anchors_count_the_copies_they_keep() {
    // Each anchored level keeps a copy of everything inside it for its
    // aliases: 200 levels around a 100 KB string are 20 MB of copies from
    // a file of 100 KB, without a single alias.
    let levels = 200;
    let mut text = String::new();
    for level in 0..levels {
        text.push_str(&format!("{:width$}- &a{level}\n", "", width = level * 2));
    }
    text.push_str(&format!(
        "{:width$}- {}\n",
        "",
        "x".repeat(100_000),
        width = levels * 2
    ));
    let outcome = load_str(&text, &LoadLimits::default());
    assert_eq!(outcome.errors.len(), 1, "{:?}", outcome.errors);
    let error = &outcome.errors[0];
    assert!(
        error
            .message
            .starts_with("anchored nodes nest so that their copies pass"),
        "{}",
        error.message
    );
    // Some 50 levels fit in the bound (32 times 140 KB, and 1 MiB): the
    // innermost complete first, and the error names the line of the first
    // anchor past it.
    let line = error.position.map_or(0, |position| position.line);
    assert!((120..=170).contains(&line), "line {line}");
    assert!(load_str(&text, &nodes_only()).errors.is_empty());
    // A few nested anchors are nothing.
    let few = "a: &a\n  b: &b\n    c: &c [1, 2, 3]\nd: *a\n";
    assert_eq!(load_str(few, &LoadLimits::default()).errors, vec![]);
}
