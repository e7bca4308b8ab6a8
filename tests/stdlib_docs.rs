//! Generates `docs/stdlib.md`, the reference of the standard library, from the
//! compiled policies' metadata and the named sets, and checks that the
//! committed file is up to date.
//!
//! `UPDATE_DOCS=1 cargo test -p rampart-tests --test stdlib_docs` rewrites the
//! file; a plain `cargo test` fails when it is out of date.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rampart_engine::ir::{Matcher, Scope};
use rampart_engine::{Policy, PolicySet};
use rampart_stdlib::{PolicySetDefinition, SETS};

/// Written by hand: what the standard library is and how to read this page.
const INTRO: &str = "\
Rampart ships a standard library of policies written in Rampart's own
language (`stdlib-policies/policies/**/*.rampart`) and embedded in the binary.
Policies are grouped into named sets that `rampart check --set NAME` selects;
`--set NAME@v1.30` (or `--kube-version v1.30`) judges as that Kubernetes
version, which matters for the version-aware policies below (the Pod Security
Standards follow upstream Pod Security Admission's policy versions exactly).
Each entry gives the policy's id (the name to use in exceptions and
configuration), its severity, the controls it implements (`PSS:<level>:<check>`
for the Pod Security Standards, `NSA-CISA:<id>` for the CISA/NSA Kubernetes
Hardening Guidance), the Kubernetes versions it applies at, the sets that
include it, and how to fix what it finds. Run `rampart list` for the same
information in a terminal.

As in upstream Pod Security Admission, four restricted checks replace their
weaker baseline counterparts: when both are in the sets checked, and the
restricted one applies at the version judged, the baseline one is not run
(`seccompProfile_restricted` replaces `seccompProfile_baseline`,
`capabilities_restricted` replaces `capabilities_baseline`,
`restrictedVolumes` replaces `hostPathVolumes`, and from 1.35
`procMount_restricted` replaces `procMount`). A pod is then reported
once for a missing seccomp profile instead of twice, and a Windows pod,
which the restricted checks exempt from 1.25 on, is judged by them alone.
`rampart check --no-overrides` runs every policy of the sets.";

fn docs_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/stdlib.md")
}

fn sets_of(policy: &Policy) -> Vec<&'static PolicySetDefinition> {
    SETS.iter()
        .filter(|set| rampart_tests::in_set(set.include, &policy.id))
        .collect()
}

/// Markdown-safe text for a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// Names as code, for one table cell: `` `a`, `b` ``.
fn code_list(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{}`", cell(name)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A GitHub-style anchor for a policy heading.
fn anchor(id: &str) -> String {
    id.chars()
        .filter_map(|character| match character {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(character),
            'A'..='Z' => Some(character.to_ascii_lowercase()),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

fn applies(policy: &Policy) -> String {
    match (policy.since, policy.until) {
        (None, None) => "every version".to_owned(),
        (Some(since), None) => format!("{since} and later"),
        (None, Some(until)) => format!("up to {until}"),
        (Some(since), Some(until)) => format!("{since} to {until}"),
    }
}

fn targets(matcher: &Matcher) -> String {
    let mut text = match &matcher.scope {
        Scope::All => "every resource".to_owned(),
        Scope::Pods => "pods and pod templates".to_owned(),
        Scope::Kinds(kinds) => kinds
            .iter()
            .map(|kind| match &kind.group {
                Some(group) if !group.is_empty() => format!("`{group}/{}`", kind.kind),
                _ => format!("`{}`", kind.kind),
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    let quoted = |items: &[String]| {
        items
            .iter()
            .map(|item| format!("`{item}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !matcher.namespaces.is_empty() {
        let _ = write!(text, "; namespaces {}", quoted(&matcher.namespaces));
    }
    if !matcher.exclude_namespaces.is_empty() {
        let _ = write!(
            text,
            "; not namespaces {}",
            quoted(&matcher.exclude_namespaces)
        );
    }
    let pairs = |pairs: &[(String, String)]| {
        pairs
            .iter()
            .map(|(key, value)| format!("`{key}={value}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !matcher.labels.is_empty() {
        let _ = write!(text, "; labels {}", pairs(&matcher.labels));
    }
    if !matcher.exclude_labels.is_empty() {
        let _ = write!(text, "; not labels {}", pairs(&matcher.exclude_labels));
    }
    text
}

/// The families policies are grouped by, in page order: id prefix, heading.
const FAMILIES: &[(&str, &str)] = &[
    ("pss.baseline.", "Pod Security Standards: baseline"),
    ("pss.restricted.", "Pod Security Standards: restricted"),
    ("nsa.", "CISA/NSA Kubernetes Hardening Guidance"),
    ("bp.", "Best practices"),
];

fn family(policy: &Policy) -> usize {
    FAMILIES
        .iter()
        .position(|(prefix, _)| policy.id.starts_with(prefix))
        .unwrap_or(FAMILIES.len())
}

fn render_policy(out: &mut String, policy: &Policy) {
    let _ = writeln!(out, "### `{}`\n", policy.id);
    let _ = writeln!(out, "**{}**\n", policy.title.trim());
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| severity | {} |", policy.severity.as_str());
    if !policy.controls.is_empty() {
        let _ = writeln!(out, "| controls | {} |", code_list(&policy.controls));
    }
    let _ = writeln!(out, "| applies to | {} |", cell(&targets(&policy.matcher)));
    let _ = writeln!(out, "| Kubernetes versions | {} |", applies(policy));
    if !policy.overrides.is_empty() {
        let _ = writeln!(out, "| replaces | {} |", code_list(&policy.overrides));
    }
    let sets: Vec<String> = sets_of(policy)
        .iter()
        .map(|set| format!("`{}`", set.name))
        .collect();
    let _ = writeln!(
        out,
        "| sets | {} |",
        if sets.is_empty() {
            "none".to_owned()
        } else {
            sets.join(", ")
        }
    );
    if let Some(action) = policy.action_override {
        let _ = writeln!(out, "| action | {} |", action.as_str());
    }
    let _ = writeln!(out);
    let description = policy.description.trim();
    if !description.is_empty() {
        let _ = writeln!(out, "{description}\n");
    }
    if !policy.params.is_empty() {
        let _ = writeln!(out, "| parameter | type | default |\n|---|---|---|");
        for param in &policy.params {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | `{}` |",
                param.name,
                cell(&param.shape.to_string()),
                cell(&param.value.to_string())
            );
        }
        let _ = writeln!(out);
    }
    let remediation = policy.remediation.trim();
    if !remediation.is_empty() {
        let _ = writeln!(out, "**Remediation.** {remediation}\n");
    }
}

fn render(library: &PolicySet) -> String {
    let mut policies: Vec<&Policy> = library.policies.iter().collect();
    policies.sort_by(|left, right| (family(left), &left.id).cmp(&(family(right), &right.id)));

    let mut out = String::new();
    let _ = writeln!(out, "# The standard library\n");
    let _ = writeln!(
        out,
        "<!-- Generated by tests/stdlib_docs.rs from the policies' metadata: do not edit.\n     Regenerate with `UPDATE_DOCS=1 cargo test -p rampart-tests --test stdlib_docs`. -->\n"
    );
    let _ = writeln!(out, "{INTRO}\n");

    let _ = writeln!(out, "## Sets\n");
    let _ = writeln!(
        out,
        "| set | policies | includes | description |\n|---|---|---|---|"
    );
    for set in SETS {
        let count = policies
            .iter()
            .filter(|policy| rampart_tests::in_set(set.include, &policy.id))
            .count();
        let patterns: Vec<String> = set
            .include
            .iter()
            .map(|pattern| format!("`{pattern}`"))
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {count} | {} | {} |",
            set.name,
            patterns.join(", "),
            cell(set.description)
        );
    }
    let _ = writeln!(out);
    // The corpus review is written by people, not generated: it is kept
    // beside the policies and included here as it is.
    let _ = writeln!(
        out,
        "{}",
        include_str!("../stdlib-policies/corpus-review.md").trim_end()
    );
    let _ = writeln!(out);

    let _ = writeln!(out, "## Policies\n");
    let _ = writeln!(
        out,
        "| id | title | severity | versions |\n|---|---|---|---|"
    );
    for policy in &policies {
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {} | {} |",
            policy.id,
            anchor(&policy.id),
            cell(&policy.title),
            policy.severity.as_str(),
            applies(policy)
        );
    }
    let _ = writeln!(out);

    let mut current = None;
    for policy in &policies {
        let group = family(policy);
        if current != Some(group) {
            current = Some(group);
            let heading = FAMILIES
                .get(group)
                .map_or("Other policies", |(_, heading)| heading);
            let _ = writeln!(out, "## {heading}\n");
        }
        render_policy(&mut out, policy);
    }
    out.trim_end().to_owned() + "\n"
}

#[test]
fn stdlib_reference_is_up_to_date() {
    let generated =
        render(&rampart_tests::standard_library().unwrap_or_else(|error| panic!("{error}")));
    let path = docs_path();
    if std::env::var_os("UPDATE_DOCS").is_some_and(|value| value == "1") {
        std::fs::write(&path, &generated)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        println!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(left, right)| left != right)
            .map_or_else(
                || committed.lines().count().min(generated.lines().count()) + 1,
                |index| index + 1,
            );
        panic!(
            "{} is out of date (first difference at line {first_difference}); regenerate it with \
             `UPDATE_DOCS=1 cargo test -p rampart-tests --test stdlib_docs`",
            path.display()
        );
    }
}
