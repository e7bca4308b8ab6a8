//! GitHub Actions workflow commands: one `::error`, `::warning` or `::notice`
//! line per finding, which the runner turns into annotations on the diff.

use super::{Report, ReportError, ReportFinding};
use rampart_engine::Action;

/// Renders the report as workflow commands, one per line, then a plain
/// summary line for the job log.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        out.push_str(&finding_command(finding));
        out.push('\n');
    }
    for error in &report.errors {
        out.push_str(&error_command(error, "error"));
        out.push('\n');
    }
    for warning in &report.warnings {
        out.push_str(&error_command(warning, "warning"));
        out.push('\n');
    }
    let summary = &report.summary;
    out.push_str(&format!(
        "rampart: {} ({} denied, {} warned) in {} from {}; {}\n",
        plural(summary.findings, "finding"),
        summary.denied,
        summary.warned,
        plural(summary.resources, "resource"),
        plural(summary.files, "file"),
        plural(summary.errors, "error")
    ));
    out
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

fn finding_command(finding: &ReportFinding) -> String {
    let command = match finding.action {
        Action::Deny => "error",
        Action::Warn => "warning",
        Action::Audit => "notice",
    };
    let properties = [
        ("file", finding.file.replace('\\', "/")),
        ("line", finding.line.to_string()),
        ("col", finding.column.to_string()),
        ("title", finding.policy.to_string()),
    ];
    // The annotation shows no resource otherwise, and one file often holds
    // several resources.
    let message = format!("{}: {}", finding.resource.describe(), finding.message);
    command_line(command, &properties, &message)
}

/// An error (`::error`) or a warning (`::warning`) of the run itself.
fn error_command(error: &ReportError, command: &str) -> String {
    let mut properties = Vec::new();
    // An annotation with `file` but no known line still lands on the file.
    if !error.file.is_empty() {
        properties.push(("file", error.file.replace('\\', "/")));
    }
    if let Some(line) = error.line {
        properties.push(("line", line.to_string()));
    }
    if let Some(column) = error.column {
        properties.push(("col", column.to_string()));
        // GitHub's `endColumn` is inclusive; the report's end is exclusive.
        if let Some(end) = error.end_column.filter(|&end| end > column + 1) {
            properties.push(("endColumn", (end - 1).to_string()));
        }
    }
    let title = match &error.code {
        Some(code) => format!("rampart {command}[{code}]"),
        None => format!("rampart {command}"),
    };
    properties.push(("title", title));
    let mut message = error.message.clone();
    if let Some(help) = &error.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    command_line(command, &properties, &message)
}

/// `::command key=value,key=value::message`, escaped as the Actions toolkit
/// does: a raw newline would end the command, and a `,` or `:` in a property
/// would end the property.
fn command_line(command: &str, properties: &[(&str, String)], message: &str) -> String {
    let properties: Vec<String> = properties
        .iter()
        .map(|(key, value)| format!("{key}={}", escape_property(value)))
        .collect();
    if properties.is_empty() {
        format!("::{command}::{}", escape_data(message))
    } else {
        format!(
            "::{command} {}::{}",
            properties.join(","),
            escape_data(message)
        )
    }
}

/// Escapes a command's message: `%`, `\r` and `\n`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value: as [`escape_data`], plus `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}
