//! `rampart fix`: checks, applies the findings' fixes to the manifest files
//! in place (or prints them as a diff), then checks again and reports what remains.

use crate::check;
use crate::config;
use crate::fix::{self, DocumentOperation};
use crate::inputs::{self, InputFile};
use crate::policies::LoadedPolicies;
use crate::render::Style;
use crate::report::{self, Report, ReportError};
use crate::{ColorChoice, exit, use_color};
use rampart_engine::EvalOptions;
use rampart_engine::load::{self, LoadLimits};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `rampart fix`.
#[derive(clap::Args, Debug)]
pub struct FixArguments {
    /// Manifest files or directories (recursive: .yaml, .yml, .json, .jsonl).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Policy files (.rampart) or directories of them. Repeatable.
    #[arg(long = "policy", short = 'p', value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Standard-library sets (as for `check`); `NAME@v1.30` judges as that version. Repeatable.
    #[arg(long = "set", short = 's', value_name = "NAME[@VERSION]")]
    sets: Vec<String>,
    /// Judge as this Kubernetes version (e.g. `v1.30`); default: the newest.
    #[arg(long, value_name = "VERSION")]
    kube_version: Option<String>,
    /// Write nothing: print the changes as a unified diff.
    #[arg(long)]
    dry_run: bool,
    /// The configuration file; by default the first `rampart.yaml` found
    /// walking up from the working directory.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Ignore any configuration file.
    #[arg(long, conflicts_with = "config")]
    no_config: bool,
    /// When to use colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// Runs `rampart fix`; the exit code is that of a `check` after the fixes.
pub fn run(arguments: FixArguments) -> u8 {
    let mut config_problems = Vec::new();
    let config = config::find(
        arguments.config.as_deref(),
        arguments.no_config,
        &mut config_problems,
    );
    let loaded = check::load_with_config(
        &arguments.policies,
        &arguments.sets,
        config,
        &mut config_problems,
    );
    let version = match check::version_of(&loaded, arguments.kube_version.as_deref()) {
        Ok(version) => version,
        Err(code) => return code,
    };
    let options = EvalOptions {
        version,
        ..EvalOptions::default()
    };
    let inputs::Expanded {
        files,
        problems,
        notes,
    } = inputs::expand(&arguments.paths);
    for note in notes.iter().chain(&loaded.notes) {
        eprintln!("note: `{}`: {}", note.file, note.error.message);
    }
    if files.iter().any(|file| file.as_os_str() == "-") {
        eprintln!("error: `rampart fix` edits files in place; it cannot read standard input");
        return exit::INCOMPLETE;
    }
    let limits = LoadLimits::default();
    let inputs: Vec<InputFile> = files
        .iter()
        .map(|file| inputs::read(file, &limits))
        .collect();
    let before = check::evaluate(&loaded, &inputs, &options);

    let mut operations: HashMap<&str, Vec<DocumentOperation>> = HashMap::new();
    for finding in &before.findings {
        for operation in &finding.fix {
            operations
                .entry(&*finding.file)
                .or_default()
                .push(DocumentOperation {
                    document: finding.document,
                    operation: operation.clone(),
                    policy: finding.policy.to_string(),
                });
        }
    }
    let mut fixed_inputs = Vec::with_capacity(inputs.len());
    let (mut changed_files, mut changes, mut incomplete) = (0usize, 0usize, false);
    for (input, file) in inputs.iter().zip(&files) {
        let Some(file_operations) = operations.get(input.name.as_str()) else {
            fixed_inputs.push(reload(input, input.text.clone()));
            continue;
        };
        let json = file
            .extension()
            .is_some_and(|extension| extension == "json");
        let applied = fix::apply(&input.text, json, file_operations);
        for problem in &applied.problems {
            eprintln!("warning: {}: cannot apply the fix of {problem}", input.name);
        }
        let edited = reload(input, applied.text.clone());
        if let Some(reason) = breaks_loading(input, &edited) {
            // The text editor knows block-style YAML; an edit inside a flow
            // mapping or a JSON line can cut it short. A file is never
            // written unless it still loads as it did.
            eprintln!(
                "error: {}: the fixes were not applied: the edited file would not load ({reason}); \
                 fixes inside flow-style YAML (`{{...}}` and JSON lines) are not supported",
                input.name
            );
            incomplete = true;
            fixed_inputs.push(reload(input, input.text.clone()));
            continue;
        }
        if applied.text != input.text {
            changed_files += 1;
            changes += applied.changed;
            if arguments.dry_run {
                print!(
                    "{}",
                    fix::diff::unified(&input.name, &input.text, &applied.text)
                );
            } else if let Err(error) = std::fs::write(file, &applied.text) {
                eprintln!("error: cannot write `{}`: {error}", input.name);
                incomplete = true;
            }
        }
        fixed_inputs.push(edited);
    }

    let mut after = check::evaluate(&loaded, &fixed_inputs, &options);
    add_errors(&mut after, &loaded, &config_problems, &problems);
    after.count();
    let verb = if arguments.dry_run {
        "would change"
    } else {
        "changed"
    };
    let summary = format!(
        "{verb} {changed_files} file(s) with {changes} edit(s); {} finding(s) remain ({} with no fix)\n",
        after.findings.len(),
        after
            .findings
            .iter()
            .filter(|finding| finding.fix.is_empty())
            .count()
    );
    let to_terminal = if arguments.dry_run {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let style = Style::new(use_color(arguments.color, to_terminal));
    let texts: HashMap<String, &str> = fixed_inputs
        .iter()
        .map(|input| (input.name.clone(), input.text.as_str()))
        .chain(
            loaded
                .sources
                .iter()
                .map(|source| (source.name.clone(), source.text.as_str())),
        )
        .collect();
    let remaining = if after.findings.is_empty() && after.errors.is_empty() {
        String::new()
    } else {
        report::human::render(&after, &texts, style)
    };
    // Under --dry-run standard output holds only the diff, so that it can be
    // piped to `patch`.
    if arguments.dry_run {
        eprint!("{remaining}{summary}");
    } else {
        print!("{remaining}{summary}");
    }
    if incomplete {
        exit::INCOMPLETE
    } else {
        after.exit_code()
    }
}

/// Why the edited text of a file does not load as the original did: a new
/// load error, or a different number of documents.
fn breaks_loading(original: &InputFile, edited: &InputFile) -> Option<String> {
    if edited.errors.len() > original.errors.len() {
        let first = edited.errors.iter().find(|error| {
            !original
                .errors
                .iter()
                .any(|known| known.message == error.message)
        });
        return Some(first.map_or_else(
            || "a new load error".to_owned(),
            |error| match error.position {
                Some(position) => format!("line {}: {}", position.line, error.message),
                None => error.message.clone(),
            },
        ));
    }
    (edited.documents.len() != original.documents.len()).then(|| {
        format!(
            "{} documents instead of {}",
            edited.documents.len(),
            original.documents.len()
        )
    })
}

/// The input as it is after its fixes.
fn reload(input: &InputFile, text: String) -> InputFile {
    if text == input.text {
        return InputFile {
            name: input.name.clone(),
            documents: input.documents.clone(),
            errors: input.errors.clone(),
            text,
        };
    }
    let outcome = load::load_str(&text, &LoadLimits::default());
    InputFile {
        name: input.name.clone(),
        text,
        documents: outcome.documents,
        errors: outcome.errors,
    }
}

/// Policy errors, configuration problems and unreadable inputs make the run incomplete.
fn add_errors(
    report: &mut Report,
    loaded: &LoadedPolicies,
    config_problems: &[config::ConfigProblem],
    problems: &[inputs::InputProblem],
) {
    let error = |file: &str, line: Option<u32>, column: Option<u32>, message: String| ReportError {
        file: file.to_owned(),
        line,
        column,
        end_column: None,
        code: None,
        message,
        help: None,
    };
    for diagnostic in loaded
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.level == rampart_lang::Level::Error)
    {
        let mut reported = error(
            &diagnostic.file,
            u32::try_from(diagnostic.start.line).ok(),
            u32::try_from(diagnostic.start.column).ok(),
            diagnostic.message.clone(),
        );
        reported.code = Some(diagnostic.code.to_owned());
        reported.help = diagnostic.help.clone();
        report.errors.push(reported);
    }
    for problem in &loaded.problems {
        report.errors.push(error("", None, None, problem.clone()));
    }
    report
        .errors
        .extend(config_problems.iter().map(check::config_error));
    for problem in problems {
        let position = problem.error.position;
        report.errors.push(error(
            &problem.file,
            position.map(|p| p.line),
            position.map(|p| p.column),
            problem.error.message.clone(),
        ));
    }
}
