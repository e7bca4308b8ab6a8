//! `rampart explain POLICY`: a policy's documentation, from the standard
//! library or from `--policy` files.

use crate::exit;
use crate::policies;
use rampart_engine::helpers::glob;
use rampart_engine::ir::{Matcher, Policy, Scope};
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `rampart explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArguments {
    /// The policy's id, e.g. `pss.baseline.privileged`.
    #[arg(value_name = "POLICY")]
    policy: String,
    /// Policy files (.rampart) or directories of them, explained beside the standard library.
    #[arg(long = "policy", short = 'p', value_name = "PATH")]
    policies: Vec<PathBuf>,
}

/// Runs `rampart explain`; 0 when the policy was found, 2 otherwise.
pub fn run(arguments: ExplainArguments) -> u8 {
    let loaded = policies::load(&arguments.policies, &["all".to_owned()]);
    for problem in &loaded.problems {
        eprintln!("error: {problem}");
    }
    let Some(policy) = loaded.set.policy(&arguments.policy) else {
        let ids = loaded.set.policies.iter().map(|policy| policy.id.as_str());
        match rampart_lang::schema::suggest(&arguments.policy, ids) {
            Some(suggestion) => eprintln!(
                "error: no policy `{}`; did you mean `{suggestion}`?",
                arguments.policy
            ),
            None => eprintln!(
                "error: no policy `{}`; `rampart list` shows them all",
                arguments.policy
            ),
        }
        return exit::INCOMPLETE;
    };
    print!("{}", explain(policy));
    exit::CLEAN
}

/// The documentation of one policy, as text.
fn explain(policy: &Policy) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "{}", policy.id);
    let _ = writeln!(text, "  {}", policy.title);
    let _ = writeln!(text);
    let field = |text: &mut String, name: &str, value: &str| {
        let _ = writeln!(text, "{:<13}{value}", format!("{name}:"));
    };
    field(&mut text, "severity", policy.severity.as_str());
    if !policy.controls.is_empty() {
        field(&mut text, "controls", &policy.controls.join(", "));
    }
    field(&mut text, "versions", &versions(policy));
    field(&mut text, "match", &matcher(&policy.matcher));
    // Sets select policies of the standard library only.
    let sets: Vec<&str> = rampart_stdlib::SETS
        .iter()
        .filter(|_| policy.origin.starts_with("stdlib/"))
        .filter(|set| {
            set.include
                .iter()
                .any(|pattern| glob::matches(pattern, &policy.id))
        })
        .map(|set| set.name)
        .collect();
    if !sets.is_empty() {
        field(&mut text, "sets", &sets.join(", "));
    }
    field(&mut text, "source", &policy.origin);
    if !policy.params.is_empty() {
        let _ = writeln!(text, "\nParameters:");
        for param in &policy.params {
            let _ = writeln!(text, "  {}: {} = {}", param.name, param.shape, param.value);
        }
    }
    if !policy.description.is_empty() {
        let _ = writeln!(text, "\nDescription:");
        for line in policy.description.lines() {
            let _ = if line.is_empty() {
                writeln!(text)
            } else {
                writeln!(text, "  {line}")
            };
        }
    }
    if !policy.remediation.is_empty() {
        let _ = writeln!(text, "\nRemediation:\n  {}", policy.remediation);
    }
    text
}

fn versions(policy: &Policy) -> String {
    match (policy.since, policy.until) {
        (None, None) => "every Kubernetes version".to_owned(),
        (Some(since), None) => format!("Kubernetes {since} and later"),
        (None, Some(until)) => format!("Kubernetes {until} and earlier"),
        (Some(since), Some(until)) => format!("Kubernetes {since} to {until}"),
    }
}

fn matcher(matcher: &Matcher) -> String {
    let mut text = match &matcher.scope {
        Scope::All => "all resources".to_owned(),
        Scope::Pods => "pods (and every kind holding a pod template)".to_owned(),
        Scope::Kinds(kinds) => {
            let names: Vec<String> = kinds
                .iter()
                .map(|kind| match &kind.group {
                    Some(group) if !group.is_empty() => format!("{group}/{}", kind.kind),
                    _ => kind.kind.clone(),
                })
                .collect();
            format!("kinds {}", names.join(", "))
        }
    };
    let list = |patterns: &[String]| patterns.join(", ");
    let labels = |pairs: &[(String, String)]| {
        pairs
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !matcher.namespaces.is_empty() {
        let _ = write!(text, "; namespaces {}", list(&matcher.namespaces));
    }
    if !matcher.exclude_namespaces.is_empty() {
        let _ = write!(
            text,
            "; not in namespaces {}",
            list(&matcher.exclude_namespaces)
        );
    }
    if !matcher.labels.is_empty() {
        let _ = write!(text, "; labels {}", labels(&matcher.labels));
    }
    if !matcher.exclude_labels.is_empty() {
        let _ = write!(text, "; not labels {}", labels(&matcher.exclude_labels));
    }
    text
}
