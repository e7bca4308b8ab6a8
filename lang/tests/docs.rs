//! Every ```rampart example in docs/language.md compiles without errors or
//! warnings, and its tests pass: the documentation cannot drift from the language.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use rampart_lang::compile::TestResource;
use rampart_lang::testing::run_test;
use rampart_lang::{Source, compile};

#[test]
fn every_example_compiles_and_its_tests_pass() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/language.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in text.lines().enumerate() {
        if let Some((start, body)) = &mut current {
            if line.trim() == "```" {
                blocks.push((*start, std::mem::take(body)));
                current = None;
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if line.trim() == "```rampart" {
            current = Some((number + 2, String::new()));
        }
    }
    assert!(blocks.len() >= 5, "docs/language.md lost its examples");
    for (line, body) in blocks {
        let name = format!("docs/language.md:{line}");
        let compilation = compile(&[Source {
            name: name.clone(),
            text: body,
        }]);
        assert!(
            compilation.diagnostics.is_empty(),
            "{name}: {:#?}",
            compilation.diagnostics
        );
        for test in &compilation.tests {
            let resources: Vec<_> = test
                .resources
                .iter()
                .map(|resource| match resource {
                    TestResource::Inline(json) => json.clone(),
                    TestResource::File(path) => {
                        panic!("{name}: docs examples cannot use files ({path})")
                    }
                })
                .collect();
            let outcome = run_test(&compilation.set, test, &resources);
            assert!(
                outcome.passed,
                "{name}: test `{}` failed: {:?}",
                test.name, outcome.failures
            );
        }
    }
}
