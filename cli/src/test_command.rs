//! `rampart test`: runs the `test` blocks of policy files.

use crate::inputs;
use crate::policies;
use crate::render::Style;
use crate::{ColorChoice, exit, use_color};
use rampart_engine::load::{self, LoadLimits};
use rampart_lang::compile::TestResource;
use rampart_lang::testing::{TestOutcome, run_test};
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

/// Arguments of `rampart test`.
#[derive(clap::Args, Debug)]
pub struct TestArguments {
    /// Policy files or directories; without any, the standard library's own tests run.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print results as JSON.
    #[arg(long)]
    json: bool,
    /// When to use colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// Runs `rampart test`; returns the exit code.
pub fn run(arguments: TestArguments) -> u8 {
    let mut problems = Vec::new();
    let sources = if arguments.paths.is_empty() {
        policies::stdlib_sources()
    } else {
        let read = policies::read_sources(&arguments.paths, &mut problems);
        for note in &read.notes {
            eprintln!("note: `{}`: {}", note.file, note.error.message);
        }
        read.sources
    };
    let compilation = rampart_lang::compile(&sources);
    let style =
        Style::new(!arguments.json && use_color(arguments.color, std::io::stdout().is_terminal()));
    let error_style = Style::new(use_color(arguments.color, std::io::stderr().is_terminal()));
    for diagnostic in &compilation.diagnostics {
        let text = sources
            .iter()
            .find(|source| source.name == diagnostic.file)
            .map(|source| source.text.as_str());
        eprint!(
            "{}",
            crate::report::human::diagnostic(diagnostic, text, error_style)
        );
    }
    for problem in &problems {
        eprintln!("{}: {problem}", error_style.error("error"));
    }
    let mut outcomes = Vec::new();
    for test in &compilation.tests {
        let mut resources = Vec::new();
        let mut load_failures = Vec::new();
        for resource in &test.resources {
            match resource {
                TestResource::Inline(json) => resources.push(json.clone()),
                TestResource::File(path) => {
                    let base = Path::new(&test.file).parent().unwrap_or(Path::new("."));
                    let input = inputs::read(&base.join(path), &LoadLimits::default());
                    let mut errors = input.errors.clone();
                    for resource in load::resources(&input.documents, &mut errors) {
                        resources.push(resource.value.clone());
                    }
                    load_failures.extend(
                        errors
                            .into_iter()
                            .map(|error| format!("fixture `{path}`: {}", error.message)),
                    );
                }
            }
        }
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
            run_test(&compilation.set, test, &resources)
        }));
        let mut outcome = match ran {
            Ok(outcome) => outcome,
            Err(payload) => {
                // A test that could not run is a problem of the run, never
                // a pass: it fails, and the run is incomplete.
                let message = crate::stream::panic_message(&*payload);
                problems.push(format!(
                    "{}:{}: internal error while running test `{}`: {message}",
                    test.file, test.line, test.name
                ));
                TestOutcome {
                    name: test.name.clone(),
                    file: test.file.clone(),
                    line: test.line,
                    passed: false,
                    failures: vec![format!("internal error: {message}")],
                    fired: Vec::new(),
                }
            }
        };
        if !load_failures.is_empty() {
            outcome.passed = false;
            outcome.failures.extend(load_failures);
        }
        outcomes.push(outcome);
    }
    let failed = outcomes.iter().filter(|outcome| !outcome.passed).count();
    let coverage = coverage(&compilation.set, &outcomes);
    if arguments.json {
        let json = serde_json::json!({
            "tests": outcomes,
            "passed": outcomes.len() - failed,
            "failed": failed,
            "rules_never_fired": coverage,
        });
        println!("{json:#}");
    } else {
        for outcome in &outcomes {
            let status = if outcome.passed {
                style.strong("ok")
            } else {
                style.error("FAILED")
            };
            println!(
                "{status}  {}:{}  {}",
                outcome.file, outcome.line, outcome.name
            );
            for failure in &outcome.failures {
                println!("      {failure}");
            }
        }
        if !coverage.is_empty() {
            println!();
            println!("rules that no test made fire ({}):", coverage.len());
            for rule in &coverage {
                println!("  {rule}");
            }
        }
        println!();
        println!("{} passed, {} failed", outcomes.len() - failed, failed);
    }
    if compilation.has_errors() || !problems.is_empty() {
        exit::INCOMPLETE
    } else if failed > 0 || outcomes.is_empty() {
        exit::DENIED
    } else {
        exit::CLEAN
    }
}

/// Rules of the compiled policies that fired in no test.
fn coverage(set: &rampart_engine::PolicySet, outcomes: &[TestOutcome]) -> Vec<String> {
    let fired: BTreeSet<(&str, u32)> = outcomes
        .iter()
        .flat_map(|outcome| {
            outcome
                .fired
                .iter()
                .map(|(policy, rule)| (policy.as_str(), *rule))
        })
        .collect();
    let mut never = Vec::new();
    for policy in &set.policies {
        for rule in 0..policy.rules {
            if !fired.contains(&(policy.id.as_str(), rule)) {
                never.push(format!("{} rule {rule} ({})", policy.id, policy.origin));
            }
        }
    }
    never
}
