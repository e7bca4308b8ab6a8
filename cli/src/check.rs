//! `rampart check`.

use crate::config;
use crate::inputs::{self, InputFile, InputProblem};
use crate::policies::{self, LoadedPolicies};
use crate::render::Style;
use crate::report::{self, Report, ReportError};
use crate::{ColorChoice, exit, use_color};
use crate::{inventory_pass, stream};
use clap::ValueEnum;
use rampart_engine::load::{self, LoadLimits};
use rampart_engine::{EvalOptions, Evaluator, Inventory, KubeVersion, Subject};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `rampart check`.
#[derive(clap::Args, Debug)]
pub struct CheckArguments {
    /// Manifest files or directories (recursive: .yaml, .yml, .json, .jsonl); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Policy files (.rampart) or directories of them. Repeatable.
    #[arg(long = "policy", short = 'p', value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Standard-library sets: pss-baseline, pss-restricted, nsa-cisa,
    /// best-practices, recommended, all; `NAME@v1.30` judges as that
    /// Kubernetes version. Repeatable.
    #[arg(long = "set", short = 's', value_name = "NAME[@VERSION]")]
    sets: Vec<String>,
    /// Judge as this Kubernetes version (e.g. `v1.30`); default: the newest.
    #[arg(long, value_name = "VERSION")]
    kube_version: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// When to use colour in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Show, for each finding, the values that led to it.
    #[arg(long)]
    explain: bool,
    /// Also run the policies another policy of the set overrides (the
    /// baseline Pod Security checks that restricted ones replace).
    #[arg(long, conflicts_with = "bundle")]
    no_overrides: bool,
    /// Threads to parse and evaluate on, from 1 to 1024; by default, one per core.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_JOBS))]
    jobs: Option<u64>,
    /// The configuration file; by default the first `rampart.yaml` found
    /// walking up from the working directory.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Ignore any configuration file.
    #[arg(long, conflicts_with = "config")]
    no_config: bool,
    /// Evaluate through this WebAssembly bundle (from `rampart build`)
    /// instead of compiling policies; it carries its own policies and version.
    #[arg(long, value_name = "FILE.wasm", conflicts_with_all = ["policies", "sets", "kube_version"])]
    bundle: Option<PathBuf>,
}

/// The most threads `-j` may ask for: past it a run would spend its memory
/// on threads' stacks, and a system may refuse to start so many.
const MAX_JOBS: u64 = 1024;

/// Report formats.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// For people: grouped by file, with code frames.
    Human,
    /// One JSON object (see the README).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// JUnit XML: a test suite per manifest file, a test case per resource and policy.
    Junit,
    /// Kubernetes `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport YAML.
    PolicyReport,
    /// GitHub Actions workflow commands (`::error file=...::message`), as annotations.
    Github,
}

/// Runs `rampart check`; returns the exit code: the arguments become a
/// prepared run (policies, configuration, options), the run judges the
/// inputs, and the report is written.
pub fn run(arguments: CheckArguments) -> u8 {
    let mut prepared = match prepare(&arguments) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    if arguments.format == Format::Human {
        let stderr_style = Style::new(use_color(arguments.color, std::io::stderr().is_terminal()));
        print_warnings(&prepared.loaded, stderr_style);
    }
    let threads = arguments
        .jobs
        .and_then(|jobs| usize::try_from(jobs).ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let mut judged = judge_paths(&arguments, &mut prepared, threads);
    let loaded = &prepared.loaded;
    let report = &mut judged.report;
    add_policy_errors(report, loaded);
    report
        .errors
        .extend(prepared.config_problems.iter().map(config_error));
    add_input_problems(report, &judged.problems);
    for note in judged.notes.iter().chain(&loaded.notes) {
        report.warnings.push(load_error(&note.file, &note.error));
    }
    report.count();
    let report_start = std::time::Instant::now();
    let written = write_report(&arguments, &mut judged, loaded);
    if let Some(timings) = judged.timings
        && stream::timings_enabled()
    {
        stream::print_timings(&timings, report_start.elapsed(), threads);
    }
    let code = match written {
        Ok(()) => judged.report.exit_code(),
        Err(message) => {
            eprintln!("error: {message}");
            exit::INCOMPLETE
        }
    };
    // The process ends once the code is returned: freeing the report's and
    // the policies' many small allocations one at a time would only delay
    // that (0.2-0.5 ms at 2,000 manifests); the kernel takes the pages back
    // whole.
    std::mem::forget(judged);
    std::mem::forget(prepared);
    code
}

/// What a run judges with.
struct Prepared {
    /// The policies, with the configuration's parameters and actions
    /// applied, and the configuration.
    loaded: LoadedPolicies,
    /// The bundle to evaluate through, with `--bundle`.
    bundle: Option<rampart_bundle::Bundle>,
    /// Problems of the configuration file (they make the run incomplete).
    config_problems: Vec<config::ConfigProblem>,
    /// How the policies are evaluated.
    options: EvalOptions,
}

/// Compiles the policies (or opens the bundle), reads the configuration
/// and works out the options; an `Err` is the exit code of a run that
/// cannot start (the message is printed).
fn prepare(arguments: &CheckArguments) -> Result<Prepared, u8> {
    let mut bundle = None;
    let mut config_problems = Vec::new();
    let loaded = match &arguments.bundle {
        // The configuration the command line names (or finds) is compared
        // with the one built into the bundle; `--no-config` compares none.
        Some(path) => match crate::build_command::open_bundle_with(
            path,
            if arguments.no_config {
                None
            } else {
                config::discover(arguments.config.as_deref())
            }
            .as_deref(),
        ) {
            Ok((opened, loaded)) => {
                bundle = Some(opened);
                loaded
            }
            Err(message) => {
                eprintln!("error: {message}");
                return Err(exit::INCOMPLETE);
            }
        },
        None => {
            let config = config::find(
                arguments.config.as_deref(),
                arguments.no_config,
                &mut config_problems,
            );
            load_with_config(
                &arguments.policies,
                &arguments.sets,
                config,
                &mut config_problems,
            )
        }
    };
    let version = version_of(&loaded, arguments.kube_version.as_deref())?;
    let options = EvalOptions {
        version,
        explain: arguments.explain,
        apply_overrides: !arguments.no_overrides,
        ..EvalOptions::default()
    };
    Ok(Prepared {
        loaded,
        bundle,
        config_problems,
        options,
    })
}

/// The Kubernetes version to judge as: `--kube-version`, else the one of
/// `--set NAME@VERSION`, else the configuration's `kubernetesVersion`, else
/// the newest. An `Err` is the exit code for a `--kube-version` that is not
/// a version (the message is printed); a configuration's is reported and
/// left out.
pub fn version_of(loaded: &LoadedPolicies, kube_version: Option<&str>) -> Result<KubeVersion, u8> {
    if let Some(text) = kube_version {
        return KubeVersion::parse(text).ok_or_else(|| {
            eprintln!(
                "error: --kube-version `{text}` is not a Kubernetes version (write it as `v1.30`)"
            );
            exit::INCOMPLETE
        });
    }
    let configured = || {
        let text = loaded
            .config
            .as_ref()?
            .config
            .kubernetes_version
            .as_deref()?;
        let parsed = KubeVersion::parse(text);
        if parsed.is_none() {
            eprintln!(
                "error: kubernetesVersion `{text}` in the configuration is not a Kubernetes version"
            );
        }
        parsed
    };
    Ok(loaded
        .version
        .or_else(configured)
        .unwrap_or(KubeVersion::LATEST))
}

/// What judging the inputs produced, and the texts a report may need.
struct JudgedPaths {
    report: Report,
    /// The inputs, held whole (the path that keeps every resource).
    inputs: Vec<InputFile>,
    /// The files as the streaming path read them (texts only when kept).
    read_files: Vec<stream::ReadFile>,
    /// Where the time went, on the streaming path.
    timings: Option<stream::Timings>,
    /// Paths that could not be expanded or read.
    problems: Vec<InputProblem>,
    /// What the expansion left out that is worth a note.
    notes: Vec<InputProblem>,
}

/// Expands the command line's paths and judges every resource in them:
/// streamed part by part when the report and the policies allow, else
/// holding every resource (natively or through the bundle).
fn judge_paths(arguments: &CheckArguments, prepared: &mut Prepared, threads: usize) -> JudgedPaths {
    let loaded = &prepared.loaded;
    let inputs::Expanded {
        files,
        problems,
        notes,
    } = inputs::expand(&arguments.paths);
    // Streaming needs a report format that needs no more than the findings,
    // and, for policies that look across resources, the kinds they look at
    // (kept by a first pass, `inventory_pass`) and files that can be read
    // twice (not standard input).
    let inventory_kinds = loaded.set.inventory_kinds();
    let rereadable = files.iter().all(|file| file.as_os_str() != "-");
    let streamable_inventory = match &inventory_kinds {
        Some(kinds) => kinds.is_empty() || rereadable,
        None => false,
    };
    let streaming = prepared.bundle.is_none()
        && streamable_inventory
        && !matches!(arguments.format, Format::Junit | Format::PolicyReport);
    let mut judged = JudgedPaths {
        report: Report::default(),
        inputs: Vec::new(),
        read_files: Vec::new(),
        timings: None,
        problems: Vec::new(),
        notes: Vec::new(),
    };
    judged.report = if streaming {
        // Code frames (human) and SARIF fixes need the files' text.
        let keep_text = matches!(arguments.format, Format::Human | Format::Sarif);
        // The JSON report can render findings as they come instead of keeping them.
        let render_json = arguments.format == Format::Json;
        let kinds = inventory_kinds.unwrap_or_default();
        let (kept, inventory_failures) = if kinds.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            inventory_pass::collect(&files, &kinds, threads)
        };
        let mut inventory = Inventory::new();
        for resource in &kept {
            inventory.add(resource);
        }
        let inventory = (!kinds.is_empty()).then_some(&inventory);
        // The streaming path reports no per-resource coverage (JUnit and
        // PolicyReport take the other).
        let options = EvalOptions {
            record_matched: false,
            ..prepared.options.clone()
        };
        let (mut report, read_files, phases) = stream::check(
            loaded,
            &files,
            &options,
            threads,
            keep_text,
            render_json,
            inventory,
        );
        judged.read_files = read_files;
        judged.timings = Some(phases);
        report.errors.extend(
            inventory_failures
                .into_iter()
                .map(|message| ReportError::new(String::new(), None, message)),
        );
        report
    } else {
        let show_progress = std::io::stderr().is_terminal() && files.len() > 50;
        let limits = LoadLimits::default();
        judged.inputs.reserve(files.len());
        for (position, file) in files.iter().enumerate() {
            if show_progress {
                eprint!("\rreading {}/{} files", position + 1, files.len());
            }
            judged.inputs.push(inputs::read(file, &limits));
        }
        if show_progress {
            eprint!("\r\x1b[K");
        }
        match prepared.bundle.as_mut() {
            Some(bundle) => crate::build_command::evaluate_bundle(bundle, loaded, &judged.inputs),
            None => evaluate(loaded, &judged.inputs, &prepared.options),
        }
    };
    judged.problems = problems;
    judged.notes = notes;
    judged
}

/// Renders the report in the format asked for and writes it out.
fn write_report(
    arguments: &CheckArguments,
    judged: &mut JudgedPaths,
    loaded: &LoadedPolicies,
) -> Result<(), String> {
    if arguments.format == Format::Json {
        // Written as it is serialized, not built as one string first: for
        // 100,000 manifests the report is about 50 MB of text.
        return write_json(arguments.output.as_ref(), &mut judged.report);
    }
    let report = &judged.report;
    // The manifests' texts, for code frames and SARIF fixes.
    let mut texts: HashMap<String, &str> = HashMap::new();
    if matches!(arguments.format, Format::Human | Format::Sarif) {
        for input in &judged.inputs {
            texts.insert(input.name.clone(), &input.text);
        }
        for file in &judged.read_files {
            texts.insert(file.name.clone(), &file.text);
        }
    }
    let rendered = match arguments.format {
        // Written above.
        Format::Json => return Ok(()),
        // Written result by result, as the JSON report is.
        Format::Sarif => {
            return write_streamed(arguments.output.as_ref(), &mut |writer| {
                report::sarif::write_with_sources(report, &loaded.set, &texts, writer)
            });
        }
        Format::Human => {
            let to_terminal = arguments.output.is_none() && std::io::stdout().is_terminal();
            let style = Style::new(use_color(arguments.color, to_terminal));
            for source in &loaded.sources {
                texts.insert(source.name.clone(), &source.text);
            }
            report::human::render(report, &texts, style)
        }
        Format::Junit => {
            if report.matched.is_empty() {
                let judge = loaded.judge(config::today());
                let judged_resource =
                    |resource: &rampart_engine::json::Json| judge.exempt(resource).is_none();
                report::junit::render(
                    report,
                    &report::junit::resources_of(&judged.inputs, &judged_resource),
                )
            } else {
                report::junit::render(report, &report.matched)
            }
        }
        Format::PolicyReport => report::policy_report::render(report),
        Format::Github => report::github::render(report),
    };
    write_output(arguments.output.as_ref(), &rendered)
}

/// Writes the report as pretty JSON (what `serde_json::to_string_pretty`
/// gives, and a line end) straight to the output.
fn write_json(path: Option<&PathBuf>, report: &mut Report) -> Result<(), String> {
    write_streamed(path, &mut |writer| {
        report::rendered::write_json(report, writer)
    })
}

/// Writes a report to the output as `write` produces it, through a buffer,
/// instead of building it as one string first.
fn write_streamed(
    path: Option<&PathBuf>,
    produce: &mut dyn FnMut(&mut std::io::BufWriter<&mut dyn Write>) -> std::io::Result<()>,
) -> Result<(), String> {
    let mut write = |writer: &mut dyn Write| -> std::io::Result<()> {
        let mut writer = std::io::BufWriter::with_capacity(1 << 16, writer);
        produce(&mut writer)?;
        writer.flush()
    };
    match path {
        Some(path) => write_report_file(path, &mut write)
            .map_err(|error| format!("cannot write `{}`: {error}", path.display())),
        None => match write(&mut std::io::stdout().lock()) {
            // A closed pipe (`rampart check ... | head`) is not an error worth reporting.
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(format!("cannot write the report: {error}"))
            }
            _ => Ok(()),
        },
    }
}

/// Writes a report file with `write`. An existing regular file is written
/// over and then cut to the new length, rather than emptied first: emptying
/// made the filesystem free every block of the last report and allocate
/// them again (0.9 of 1.7 ms for a 1 MB report written after itself, as a
/// CI job or an edit loop does). Pipes and devices are just written.
fn write_report_file(
    path: &std::path::Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    write(&mut file)?;
    if file.metadata()?.is_file() {
        let end = std::io::Seek::stream_position(&mut file)?;
        file.set_len(end)?;
    }
    Ok(())
}

fn write_output(path: Option<&PathBuf>, text: &str) -> Result<(), String> {
    match path {
        Some(path) => write_report_file(path, &mut |file| file.write_all(text.as_bytes()))
            .map_err(|error| format!("cannot write `{}`: {error}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`rampart check ... | head`) is not an error worth reporting.
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(format!("cannot write the report: {error}"))
                }
                _ => Ok(()),
            }
        }
    }
}

fn print_warnings(loaded: &LoadedPolicies, style: Style) {
    for diagnostic in &loaded.diagnostics {
        if diagnostic.level == rampart_lang::Level::Warning
            && !diagnostic.file.starts_with("stdlib/")
        {
            let text = loaded
                .sources
                .iter()
                .find(|source| source.name == diagnostic.file)
                .map(|source| source.text.as_str());
            eprint!("{}", report::human::diagnostic(diagnostic, text, style));
        }
    }
}

/// Evaluates every resource of every input file.
pub fn evaluate(loaded: &LoadedPolicies, inputs: &[InputFile], options: &EvalOptions) -> Report {
    let evaluator = Evaluator::new(&loaded.set, options.clone());
    evaluate_with(loaded, inputs, &mut |subject| {
        Ok(evaluator.evaluate(subject))
    })
}

/// Evaluates every resource of every input file with `evaluate_one` (the
/// native evaluator, or a Wasm bundle); an `Err` is an error for that resource.
pub fn evaluate_with(
    loaded: &LoadedPolicies,
    inputs: &[InputFile],
    evaluate_one: &mut dyn FnMut(&Subject<'_>) -> Result<rampart_engine::Evaluation, String>,
) -> Report {
    let mut report = Report {
        version: report::REPORT_VERSION,
        ..Report::default()
    };
    report.summary.files = inputs.len();
    let mut per_file = Vec::with_capacity(inputs.len());
    for input in inputs {
        let mut errors = input.errors.clone();
        let resources = load::resources(&input.documents, &mut errors);
        for error in errors {
            report.errors.push(load_error(&input.name, &error));
        }
        per_file.push(resources);
    }
    let mut inventory = Inventory::new();
    if loaded.set.uses_inventory() {
        for resource in per_file.iter().flatten() {
            inventory.add(resource.value);
        }
    }
    let judge = loaded.judge(config::today()).recording_matches();
    let mut judged = judge.start();
    for (input, resources) in inputs.iter().zip(&per_file) {
        let name: Arc<str> = Arc::from(input.name.as_str());
        for resource in resources {
            // An exempt resource is counted, not evaluated.
            if judge.exempt(resource.value).is_some() {
                judged.exempted += 1;
                continue;
            }
            let subject = Subject {
                resource: resource.value,
                old_resource: None,
                inventory: Some(&inventory),
                keys: resource.document.keys.as_ref(),
            };
            // A panic is an error for the resource, never a resource that
            // silently passed.
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| evaluate_one(&subject)))
                .unwrap_or_else(|payload| {
                    Err(format!(
                        "internal error while evaluating: {}; the resource was not checked",
                        stream::panic_message(&*payload)
                    ))
                });
            judge.judge(&name, resource, outcome, (0, 0), &mut judged);
        }
    }
    report.matched = matched_by_file(std::mem::take(&mut judged.matched));
    report.warnings = judge.exception_warnings(loaded.config_file(), &judged.exception_used);
    report.summary.resources = judged.resources;
    report.summary.suppressed = judged.suppressed;
    report.summary.exempted = judged.exempted;
    report.findings = judged.findings;
    report.errors.extend(judged.errors);
    report
}

/// Groups the recorded matches by file, in the order the files came.
fn matched_by_file(
    matched: Vec<(String, usize, report::ResourceIdentity, Vec<String>)>,
) -> Vec<report::junit::FileResources> {
    let mut files: Vec<report::junit::FileResources> = Vec::new();
    for (file, document, identity, policies) in matched {
        if files.last().is_none_or(|last| last.file != file) {
            files.push(report::junit::FileResources {
                file: file.clone(),
                ..Default::default()
            });
        }
        if let Some(last) = files.last_mut() {
            last.resources.push((document, identity));
            last.matched.push(policies);
        }
    }
    files
}

/// Compiles what the command line asks for, else what the configuration
/// names, and applies the configuration's parameters and actions.
pub fn load_with_config(
    policy_paths: &[PathBuf],
    set_names: &[String],
    config: Option<config::ConfigFile>,
    problems: &mut Vec<config::ConfigProblem>,
) -> LoadedPolicies {
    let from_command_line = !policy_paths.is_empty() || !set_names.is_empty();
    let mut loaded = match (&config, from_command_line) {
        (Some(file), false) => policies::load(&file.policies, &file.config.sets),
        _ => policies::load(policy_paths, set_names),
    };
    if let Some(file) = &config {
        file.config.apply(&mut loaded.set, problems);
    }
    loaded.config = config;
    loaded
}

/// A configuration problem as a report error.
pub fn config_error(problem: &config::ConfigProblem) -> ReportError {
    ReportError::new(
        problem.file.clone(),
        problem
            .position
            .map(|position| (position.line, position.column)),
        problem.message.clone(),
    )
}

fn load_error(file: &str, error: &load::LoadError) -> ReportError {
    ReportError::new(
        file,
        error
            .position
            .map(|position| (position.line, position.column)),
        error.message.clone(),
    )
}

fn add_policy_errors(report: &mut Report, loaded: &LoadedPolicies) {
    for diagnostic in &loaded.diagnostics {
        if diagnostic.level != rampart_lang::Level::Error {
            continue;
        }
        report.errors.push(ReportError {
            file: diagnostic.file.clone(),
            line: u32::try_from(diagnostic.start.line).ok(),
            column: u32::try_from(diagnostic.start.column).ok(),
            end_column: (diagnostic.end.line == diagnostic.start.line)
                .then(|| u32::try_from(diagnostic.end.column).ok())
                .flatten(),
            code: Some(diagnostic.code.to_owned()),
            message: diagnostic.message.clone(),
            help: diagnostic.help.clone(),
        });
    }
    for problem in &loaded.problems {
        report
            .errors
            .push(ReportError::new(String::new(), None, problem.clone()));
    }
}

fn add_input_problems(report: &mut Report, problems: &[InputProblem]) {
    for problem in problems {
        report
            .errors
            .push(load_error(&problem.file, &problem.error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_evaluating_is_an_error_for_the_resource() {
        let loaded = LoadedPolicies {
            set: rampart_engine::PolicySet::default(),
            diagnostics: Vec::new(),
            sources: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
            version: None,
            config: None,
        };
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n";
        let loaded_text = load::load_str(text, &LoadLimits::default());
        let input = InputFile {
            name: "pod.yaml".to_owned(),
            text: text.to_owned(),
            documents: loaded_text.documents,
            errors: loaded_text.errors,
        };
        let mut report = evaluate_with(&loaded, &[input], &mut |_| {
            panic!("evaluation failed for the test")
        });
        report.count();
        assert_eq!(report.exit_code(), exit::INCOMPLETE);
        assert!(report.errors.iter().any(|error| error.file == "pod.yaml"
            && error.message.contains("evaluation failed for the test")));
    }
}
