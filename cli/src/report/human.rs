//! The terminal format: findings grouped by file, each with a code frame.

use super::{Report, ReportError};
use crate::render::{Style, code_frame, token_width};
use rampart_engine::Action;
use rampart_lang::{Diagnostic, Level};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Renders a policy diagnostic with its code frame.
pub fn diagnostic(diagnostic: &Diagnostic, text: Option<&str>, style: Style) -> String {
    let mut out = String::new();
    let label = match diagnostic.level {
        Level::Error => style.error(&format!("error[{}]", diagnostic.code)),
        Level::Warning => style.warning(&format!("warning[{}]", diagnostic.code)),
    };
    let _ = writeln!(out, "{label}: {}", style.strong(&diagnostic.message));
    let _ = writeln!(
        out,
        "  {} {}:{}:{}",
        style.gutter("-->"),
        diagnostic.file,
        diagnostic.start.line,
        diagnostic.start.column
    );
    if let Some(text) = text {
        let lines: Vec<&str> = text.lines().collect();
        let width = if diagnostic.end.line == diagnostic.start.line {
            diagnostic
                .end
                .column
                .saturating_sub(diagnostic.start.column)
                .max(1)
        } else {
            1
        };
        out.push_str(&code_frame(
            &lines,
            diagnostic.start.line,
            diagnostic.start.column,
            width,
            style,
            "  ",
        ));
    }
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(out, "  {} {help}", style.help("= help:"));
    }
    out
}

/// Renders the whole report.
pub fn render(report: &Report, texts: &HashMap<String, &str>, style: Style) -> String {
    // Split every text into lines once: a large file with many findings
    // would otherwise be split again for each code frame.
    let texts: HashMap<&str, Vec<&str>> = texts
        .iter()
        .map(|(name, text)| (name.as_str(), text.lines().collect()))
        .collect();
    let mut out = String::new();
    let mut current_file: Option<&str> = None;
    // Within a file, read top to bottom: by line and column (the sort is
    // stable, so findings at one place keep the policy order). Files keep
    // the order they were given in.
    let mut file_order: HashMap<&str, usize> = HashMap::new();
    for finding in &report.findings {
        let next = file_order.len();
        file_order.entry(&*finding.file).or_insert(next);
    }
    let mut findings: Vec<&super::ReportFinding> = report.findings.iter().collect();
    findings.sort_by_key(|finding| {
        (
            file_order.get(&*finding.file).copied(),
            finding.line,
            finding.column,
        )
    });
    for finding in findings {
        if current_file != Some(&*finding.file) {
            if current_file.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", style.strong(&finding.file));
            current_file = Some(&finding.file);
        }
        let action = match finding.action {
            Action::Deny => style.error("deny"),
            Action::Warn => style.warning("warn"),
            Action::Audit => style.dim("audit"),
        };
        let _ = writeln!(
            out,
            "  {}  {action} {}  {}",
            style.gutter(&format!("{}:{}", finding.line, finding.column)),
            style.dim(finding.severity.as_str()),
            style.strong(&finding.policy)
        );
        let _ = writeln!(out, "      {}", finding.message);
        let _ = writeln!(out, "      {}", style.dim(&finding.resource.describe()));
        for (expression, value) in &finding.explanation {
            let _ = writeln!(
                out,
                "      {} {expression} = {value}",
                style.help("because")
            );
        }
        if let Some(lines) = texts.get(&*finding.file) {
            let line = finding.line as usize;
            let column = finding.column as usize;
            out.push_str(&code_frame(
                lines,
                line,
                column,
                token_width(lines, line, column),
                style,
                "    ",
            ));
        }
    }
    if !report.errors.is_empty() {
        if !report.findings.is_empty() {
            out.push('\n');
        }
        for error in &report.errors {
            out.push_str(&render_error(error, &texts, style));
        }
    }
    for warning in &report.warnings {
        let location = match warning.line {
            Some(line) => format!("{}:{line}", warning.file),
            None => warning.file.clone(),
        };
        let _ = writeln!(
            out,
            "{}: {} ({location})",
            style.warning("warning"),
            warning.message
        );
    }
    if !report.findings.is_empty() || !report.errors.is_empty() || !report.warnings.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary_line(report, style));
    out.push('\n');
    out
}

fn render_error(error: &ReportError, texts: &HashMap<&str, Vec<&str>>, style: Style) -> String {
    let mut out = String::new();
    let code = error
        .code
        .as_deref()
        .map(|code| format!("[{code}]"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}: {}",
        style.error(&format!("error{code}")),
        style.strong(&error.message)
    );
    let location = match (error.line, error.column) {
        (Some(line), Some(column)) => format!("{}:{line}:{column}", error.file),
        (Some(line), None) => format!("{}:{line}", error.file),
        _ => error.file.clone(),
    };
    if !location.is_empty() {
        let _ = writeln!(out, "  {} {location}", style.gutter("-->"));
    }
    if let (Some(line), Some(text)) = (error.line, texts.get(error.file.as_str())) {
        let column = error.column.unwrap_or(1) as usize;
        let width = error
            .end_column
            .map_or(1, |end| (end as usize).saturating_sub(column).max(1));
        out.push_str(&code_frame(text, line as usize, column, width, style, "  "));
    }
    if let Some(help) = &error.help {
        let _ = writeln!(out, "  {} {help}", style.help("= help:"));
    }
    out
}

fn summary_line(report: &Report, style: Style) -> String {
    let summary = &report.summary;
    let plural = |count: usize, word: &str| {
        if count == 1 {
            format!("{count} {word}")
        } else {
            format!("{count} {word}s")
        }
    };
    let verdict = if summary.errors > 0 {
        style.error("incomplete")
    } else if summary.denied > 0 {
        style.error("denied")
    } else {
        style.strong("passed")
    };
    // Said only when the configuration exempted something, so that a run
    // without exemptions reads as it always did.
    let exempted = if summary.exempted > 0 {
        format!(" ({} exempted)", summary.exempted)
    } else {
        String::new()
    };
    format!(
        "{verdict}: {} ({} denied, {} warned) in {}{exempted} from {}; {}",
        plural(summary.findings, "finding"),
        summary.denied,
        summary.warned,
        plural(summary.resources, "resource"),
        plural(summary.files, "file"),
        plural(summary.errors, "error")
    )
}
