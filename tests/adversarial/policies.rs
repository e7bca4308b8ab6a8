//! Hostile policies: long chains, deep nesting, nested brackets, and a
//! string function asked for a terabyte.

use crate::run::{Outcome, rampart, scratch};
use crate::{POD, policy};

/// A policy file and the pod, written in a fresh directory.
fn setup(test: &str, source: &str) -> std::path::PathBuf {
    let directory = scratch(test);
    std::fs::write(directory.join("policy.rampart"), source).unwrap();
    std::fs::write(directory.join("pod.yaml"), POD).unwrap();
    directory
}

/// `rampart check --policy policy.rampart pod.yaml` in `directory`.
fn check_policy(directory: &std::path::Path) -> Outcome {
    rampart([
        "check",
        "--no-config",
        "--policy",
        "policy.rampart",
        "pod.yaml",
    ])
    .in_directory(directory)
    .run()
}

/// An `or` of 60 comparisons, the last of which holds for the pod.
fn or_chain() -> String {
    let comparisons: Vec<String> = (0..60)
        .map(|index| {
            let name = if index == 59 {
                "web".to_owned()
            } else {
                format!("name-{index}")
            };
            format!("pod.metadata.name == \"{name}\"")
        })
        .collect();
    policy("adversarial.or_chain", "", &comparisons.join(" or "))
}

#[test]
fn a_chain_of_60_ors_checks_and_builds_a_bundle_that_judges_alike() {
    let directory = setup("or-chain", &or_chain());
    check_policy(&directory)
        .expect_code(1)
        .expect_mention("adversarial.or_chain");
    let build = rampart(["build", "--policy", "policy.rampart", "-o", "policy.wasm"])
        .in_directory(&directory)
        .run();
    match build.code() {
        // Built: the bundle loads and finds what the policy finds natively.
        0 => {
            rampart([
                "check",
                "--no-config",
                "--bundle",
                "policy.wasm",
                "pod.yaml",
            ])
            .in_directory(&directory)
            .address_space(None)
            .run()
            .expect_code(1)
            .expect_mention("adversarial.or_chain");
        }
        // Or refused, saying why.
        2 => {
            build.expect_mention("error");
        }
        code => panic!("`rampart build` exited {code}:\n{}", build.output()),
    }
}

/// A policy file whose one rule nests `levels` levels of one construct.
fn deeply_nested(kind: &str, levels: usize) -> String {
    let condition = match kind {
        "parentheses" => format!("{}true{}", "(".repeat(levels), ")".repeat(levels)),
        "not" => format!("{}true", "not ".repeat(levels)),
        "plus" => format!("{}1 == 2", "1 + ".repeat(levels)),
        "or" => format!("{}false", "false or ".repeat(levels)),
        "if" => format!(
            "{}true{}",
            "if true then ".repeat(levels),
            " else false".repeat(levels)
        ),
        _ => unreachable!("no such construct: {kind}"),
    };
    policy(&format!("adversarial.deep_{kind}"), "", &condition)
}

const DEEP: &[(&str, usize)] = &[
    ("parentheses", 10_000),
    ("not", 5_000),
    ("plus", 5_000),
    ("or", 5_000),
    ("if", 5_000),
];

#[test]
fn deeply_nested_policies_are_a_clear_error() {
    for (kind, levels) in DEEP {
        let directory = setup(&format!("deep-{kind}"), &deeply_nested(kind, *levels));
        // E0005 is the stable code of "nested too deeply" (docs/language.md).
        check_policy(&directory)
            .expect_code(2)
            .expect_mention("error[E0005]")
            .expect_mention("policy.rampart");
    }
}

#[test]
fn deeply_nested_policies_are_a_clear_error_in_test_fmt_and_build() {
    for (kind, levels) in DEEP {
        let directory = setup(
            &format!("deep-commands-{kind}"),
            &deeply_nested(kind, *levels),
        );
        for arguments in [
            vec!["test", "policy.rampart"],
            vec!["fmt", "--check", "policy.rampart"],
            vec!["build", "--policy", "policy.rampart", "-o", "policy.wasm"],
        ] {
            let outcome = rampart(&arguments).in_directory(&directory).run();
            assert_ne!(
                outcome.code(),
                0,
                "`rampart {}` on {levels} levels of {kind} exited 0:\n{}",
                arguments.join(" "),
                outcome.output()
            );
            outcome.expect_mention("policy.rampart");
        }
    }
}

#[test]
fn nested_brackets_parse_promptly() {
    // Each level used to double the parser's work: 25 levels took hours.
    for levels in [20, 25] {
        let closed = policy(
            "adversarial.brackets",
            "",
            &format!("{}1{} == []", "[".repeat(levels), "]".repeat(levels)),
        );
        let directory = setup(&format!("brackets-{levels}"), &closed);
        check_policy(&directory).expect_code(0);
        let unclosed = policy("adversarial.brackets", "", &"[".repeat(levels));
        let directory = setup(&format!("brackets-unclosed-{levels}"), &unclosed);
        check_policy(&directory)
            .expect_code(2)
            .expect_mention("policy.rampart");
    }
}

#[test]
fn replace_asked_for_a_terabyte_is_an_error_for_its_policy_only() {
    // replace(s, "", s) puts s between every two characters of s: 1,000
    // bytes become a megabyte, and once more a terabyte.
    let mut source = policy(
        "adversarial.replace",
        "  let s = pod.metadata.annotations[\"big\"] ?? \"\"\n  let t = replace(s, \"\", s)\n  let u = replace(t, \"\", t)\n",
        "u == \"\"",
    );
    source.push_str(&policy(
        "adversarial.other",
        "",
        "pod.metadata.name == \"big\"",
    ));
    let directory = scratch("replace");
    std::fs::write(directory.join("policy.rampart"), source).unwrap();
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n  annotations:\n    big: \"{}\"\nspec:\n  containers:\n  - name: app\n    image: nginx\n",
        "y".repeat(1_000)
    );
    std::fs::write(directory.join("pod.yaml"), pod).unwrap();
    let outcome = rampart([
        "check",
        "--no-config",
        "--format",
        "json",
        "--policy",
        "policy.rampart",
        "pod.yaml",
    ])
    .in_directory(&directory)
    .address_space(Some(512 << 20))
    .run();
    // The other policy still judged the pod (a deny), and the error is the replace policy's.
    outcome.expect_code(2).expect_mention("adversarial.replace");
    let report = outcome.report();
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|finding| finding["policy"] == "adversarial.other"),
        "the other policy's finding is missing:\n{}",
        outcome.stdout
    );
    assert!(
        !findings
            .iter()
            .any(|finding| finding["policy"] == "adversarial.replace"),
        "the replace policy cannot have finished:\n{}",
        outcome.stdout
    );
}
