//! The fast path of `rampart check`: files are split at document boundaries
//! into parts, and the parts are parsed, judged and dropped on every core.
//! Only the located findings are kept, so memory stays flat however many
//! manifests come in. Used when no policy needs the whole input
//! (`resources(...)`); otherwise every resource must be held at once.

use crate::inputs;
use crate::judge::{Judge, Judged};
use crate::policies::LoadedPolicies;
use crate::report::{Report, ReportError};
use rampart_engine::load::{self, LoadLimits};
use rampart_engine::{EvalOptions, Evaluator, Subject};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Files larger than this are split into parts of about this size.
const PART_BYTES: usize = 1 << 20;

/// One file as read: its name and text (the text is kept for code frames).
pub struct ReadFile {
    /// The name shown in reports.
    pub name: String,
    /// The text; empty when it could not be read.
    pub text: String,
    /// Why it could not be read.
    pub failure: Option<String>,
}

/// A part of a file: where it starts in bytes and in lines.
struct Part {
    file: usize,
    start: usize,
    end: usize,
    line_offset: u32,
}

/// What judging one part produced; document indices are local to the part.
struct PartOutcome {
    judged: Judged,
    load_errors: Vec<ReportError>,
    documents: usize,
}

/// Reads every file.
pub fn read_files(paths: &[PathBuf]) -> Vec<ReadFile> {
    paths
        .iter()
        .map(|path| {
            let name = inputs::display_name(path);
            match inputs::read_text(path) {
                Ok(text) => ReadFile {
                    name,
                    text,
                    failure: None,
                },
                Err(error) => ReadFile {
                    name,
                    text: String::new(),
                    failure: Some(format!("cannot read file: {error}")),
                },
            }
        })
        .collect()
}

/// Parses, evaluates and judges every file on `threads` threads.
pub fn check(
    loaded: &LoadedPolicies,
    files: &[ReadFile],
    options: &EvalOptions,
    threads: usize,
) -> Report {
    let mut parts = Vec::new();
    for (index, file) in files.iter().enumerate() {
        split(index, &file.text, &mut parts);
    }
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<PartOutcome>>> =
        Mutex::new((0..parts.len()).map(|_| None).collect());
    let judge = Judge::new(loaded);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let evaluator = Evaluator::new(&loaded.set, options.clone());
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(part) = parts.get(index) else { break };
                    let outcome = run_part(&judge, &evaluator, files, part);
                    if let Ok(mut outcomes) = outcomes.lock()
                        && let Some(slot) = outcomes.get_mut(index)
                    {
                        *slot = Some(outcome);
                    }
                }
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap_or_default();
    let mut report = Report {
        version: crate::report::REPORT_VERSION,
        ..Report::default()
    };
    report.summary.files = files.len();
    for file in files {
        if let Some(failure) = &file.failure {
            report.errors.push(ReportError {
                file: file.name.clone(),
                line: None,
                column: None,
                end_column: None,
                code: None,
                message: failure.clone(),
                help: None,
            });
        }
    }
    let mut judged = judge.start();
    // Document indices are per part; shift them by the documents of the
    // earlier parts of the same file.
    let mut documents_before = vec![0usize; files.len()];
    for (part, outcome) in parts.iter().zip(outcomes) {
        let Some(mut outcome) = outcome else { continue };
        let offset = documents_before.get(part.file).copied().unwrap_or(0);
        for finding in &mut outcome.judged.findings {
            finding.document += offset;
        }
        if let Some(count) = documents_before.get_mut(part.file) {
            *count += outcome.documents;
        }
        report.errors.extend(outcome.load_errors);
        judged.append(outcome.judged);
    }
    report.warnings = judge.exception_warnings(&judged.exception_used);
    report.summary.resources = judged.resources;
    report.summary.suppressed = judged.suppressed;
    report.findings = judged.findings;
    report.errors.extend(judged.errors);
    report
}

fn run_part(
    judge: &Judge<'_>,
    evaluator: &Evaluator<'_>,
    files: &[ReadFile],
    part: &Part,
) -> PartOutcome {
    let file = files.get(part.file);
    let name = file.map_or("", |file| file.name.as_str());
    let text = file
        .and_then(|file| file.text.get(part.start..part.end))
        .unwrap_or_default();
    let outcome = load::load_str(text, &LoadLimits::default());
    let mut errors = outcome.errors;
    let resources = load::resources(&outcome.documents, &mut errors);
    let mut judged = judge.start();
    for resource in &resources {
        let evaluation = evaluator.evaluate(&Subject::new(resource.value));
        judge.judge(
            name,
            resource,
            Ok(evaluation),
            (0, part.line_offset),
            &mut judged,
        );
    }
    let load_errors = errors
        .into_iter()
        .map(|error| {
            let mut message = error.message;
            if let Some(document) = error.document
                && part.start > 0
            {
                message = format!(
                    "{message} (document {document} of the part starting at line {})",
                    part.line_offset + 1
                );
            }
            ReportError {
                file: name.to_owned(),
                line: error
                    .position
                    .map(|position| position.line + part.line_offset),
                column: error.position.map(|position| position.column),
                end_column: None,
                code: None,
                message,
                help: None,
            }
        })
        .collect();
    PartOutcome {
        judged,
        load_errors,
        documents: outcome.documents.len(),
    }
}

/// Splits a file into parts at lines that start a YAML document (`---`), so
/// each part parses on its own. Small files, and files with no such line
/// (JSON), stay whole.
fn split(file: usize, text: &str, parts: &mut Vec<Part>) {
    if text.len() < 2 * PART_BYTES {
        parts.push(Part {
            file,
            start: 0,
            end: text.len(),
            line_offset: 0,
        });
        return;
    }
    // JSON lines (a file starting with `{`): a line starting with `{` starts
    // a top-level value, since JSON strings cannot hold a raw line break.
    // YAML: a `---` line starts a document.
    let json_lines = text.trim_start_matches('\u{FEFF}').starts_with('{');
    let mut start = 0usize;
    let mut line_offset = 0u32;
    let mut position = 0usize;
    for (lines_seen, line) in (0u32..).zip(text.split_inclusive('\n')) {
        let is_separator = if json_lines {
            line.starts_with('{')
        } else {
            line.strip_prefix("---")
                .is_some_and(|rest| rest.chars().next().is_none_or(char::is_whitespace))
        };
        if is_separator && position - start >= PART_BYTES {
            parts.push(Part {
                file,
                start,
                end: position,
                line_offset,
            });
            start = position;
            line_offset = lines_seen;
        }
        position += line.len();
    }
    parts.push(Part {
        file,
        start,
        end: text.len(),
        line_offset,
    });
}
