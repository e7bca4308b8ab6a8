//! The findings of a JSON report, rendered while the run goes on.
//!
//! The JSON report opens with its summary, so nothing can be written before
//! the last finding is in; but the findings need not be held as structures
//! until then. A streaming check renders them, each as soon as its part is
//! in order, to the text they will be in the report's `findings` array, on
//! the thread that merges the parts: from the first finding when a core is
//! free for that thread, else once it holds more than 100,000 findings
//! (`stream/mod.rs` and `stream/merge.rs` say why).
//! The text stays in memory up to [`SPILL_BYTES`] and goes on in an unnamed
//! temporary file after that, so a run with hundreds of thousands of
//! findings keeps its memory flat; the report is then the head, a copy of
//! that text, and the tail. [`write_json`] writes every JSON report, with
//! rendered findings or held ones.

use super::finding_json::write_finding;
use super::{Report, ReportFinding, Summary};
use rampart_engine::Action;
use std::fs::File;
use std::io::{Seek, Write};
use std::path::PathBuf;

/// Rendered findings beyond this many bytes go to a temporary file.
const SPILL_BYTES: usize = 8 << 20;

/// Where each finding starts: findings are items of an array that is a
/// member of the report, two levels of two spaces deep.
const ITEM_INDENT: &[u8] = b"\n    ";

/// Findings rendered as the items of the JSON report's `findings` array.
#[derive(Debug)]
pub struct RenderedFindings {
    count: usize,
    denied: usize,
    warned: usize,
    /// The rendered items not yet written to the spill file.
    text: Vec<u8>,
    /// Bytes written to the spill file.
    spilled: u64,
    /// When the text in memory goes to the temporary file.
    spill_bytes: usize,
    spill: Spill,
}

/// A point of the rendering (see [`RenderedFindings::mark`]).
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    count: usize,
    denied: usize,
    warned: usize,
    position: u64,
}

#[derive(Debug, Default)]
enum Spill {
    /// Everything is in memory so far.
    #[default]
    None,
    /// The earlier text is in this file (already unlinked where the system
    /// allows it; `path` is set when it still has to be removed).
    File { file: File, path: Option<PathBuf> },
    /// No temporary file could be made: everything stays in memory.
    Unavailable,
    /// Writing to the file failed; the report cannot be completed.
    Failed(String),
}

impl RenderedFindings {
    /// No findings yet.
    pub fn new() -> RenderedFindings {
        RenderedFindings::spilling_after(SPILL_BYTES)
    }

    /// No findings yet; the text goes to a file past `bytes`.
    fn spilling_after(bytes: usize) -> RenderedFindings {
        RenderedFindings {
            count: 0,
            denied: 0,
            warned: 0,
            text: Vec::new(),
            spilled: 0,
            spill_bytes: bytes,
            spill: Spill::None,
        }
    }

    /// Renders one more finding after the others.
    pub fn add(&mut self, finding: &ReportFinding) {
        self.count += 1;
        match finding.action {
            Action::Deny => self.denied += 1,
            Action::Warn => self.warned += 1,
            _ => {}
        }
        if let Err(error) = push_item(&mut self.text, self.count == 1, finding) {
            self.spill = Spill::Failed(format!("cannot render a finding: {error}"));
            return;
        }
        if self.text.len() >= self.spill_bytes {
            self.spill_text();
        }
    }

    /// Where the rendering is, to come back to with [`Self::rewind`].
    pub fn mark(&self) -> Mark {
        Mark {
            count: self.count,
            denied: self.denied,
            warned: self.warned,
            position: self.spilled + self.text.len() as u64,
        }
    }

    /// Forgets every finding rendered since `mark`.
    pub fn rewind(&mut self, mark: Mark) {
        self.count = mark.count;
        self.denied = mark.denied;
        self.warned = mark.warned;
        if mark.position >= self.spilled {
            self.text
                .truncate(usize::try_from(mark.position - self.spilled).unwrap_or(usize::MAX));
            return;
        }
        self.text.clear();
        if let Spill::File { file, .. } = &mut self.spill {
            let cut = file
                .set_len(mark.position)
                .and_then(|()| file.seek(std::io::SeekFrom::Start(mark.position)));
            match cut {
                Ok(_) => self.spilled = mark.position,
                Err(error) => {
                    self.spill = Spill::Failed(format!(
                        "cannot hold the report's findings in a temporary file: {error}"
                    ));
                }
            }
        }
    }

    /// The summary's finding counts.
    pub fn count_into(&self, summary: &mut Summary) {
        summary.findings += self.count;
        summary.denied += self.denied;
        summary.warned += self.warned;
    }

    /// Moves the text in memory to the temporary file, making it first.
    fn spill_text(&mut self) {
        if matches!(self.spill, Spill::None) {
            self.spill = match temporary_file() {
                Ok((file, path)) => Spill::File { file, path },
                Err(_) => Spill::Unavailable,
            };
        }
        if let Spill::File { file, .. } = &mut self.spill {
            match file.write_all(&self.text) {
                Ok(()) => {
                    self.spilled += self.text.len() as u64;
                    self.text.clear();
                }
                Err(error) => {
                    self.spill = Spill::Failed(format!(
                        "cannot hold the report's findings in a temporary file: {error}"
                    ));
                }
            }
        }
    }

    /// Writes the `findings` array (as `serde_json`'s pretty printer writes
    /// it at that depth) to `out`.
    pub fn write_array(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        if let Spill::Failed(message) = &self.spill {
            return Err(std::io::Error::other(message.clone()));
        }
        if self.count == 0 {
            return out.write_all(b"[]");
        }
        out.write_all(b"[")?;
        if let Spill::File { file, .. } = &mut self.spill {
            file.flush()?;
            file.rewind()?;
            std::io::copy(file, out)?;
        }
        out.write_all(&self.text)?;
        out.write_all(b"\n  ]")
    }
}

impl Drop for RenderedFindings {
    fn drop(&mut self) {
        if let Spill::File {
            path: Some(path), ..
        } = &self.spill
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A new file in the temporary directory, open for reading and writing, and
/// already removed from the directory where the system allows an open file
/// to be (otherwise its path, to remove once done).
fn temporary_file() -> std::io::Result<(File, Option<PathBuf>)> {
    let directory = std::env::temp_dir();
    let mut last_error = None;
    for attempt in 0..16u32 {
        let path = directory.join(format!("rampart-findings-{}-{attempt}", std::process::id()));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                let path = std::fs::remove_file(&path).err().map(|_| path);
                return Ok((file, path));
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no temporary file name was free")))
}

/// Writes `report` as pretty JSON, and a line end: what
/// `serde_json::to_writer_pretty` writes for it. The findings are written
/// by [`write_finding`], or copied from [`Report::rendered`] when they were
/// rendered during the run; the rest by `serde_json`.
/// (Generic over the writer: `serde_json` writes a token at a time, and a
/// call through `dyn Write` for each measured 4% of a whole run.)
pub fn write_json<W: Write>(report: &mut Report, out: &mut W) -> std::io::Result<()> {
    let rendered = report.rendered.take();
    let findings = std::mem::take(&mut report.findings);
    let frame = serde_json::to_vec_pretty(report);
    report.findings = findings;
    let frame = frame?;
    // The report with no findings, cut where they go: the array is a member
    // of the top object, so the only place its key starts a line with two
    // spaces (a string holds no raw line break).
    const EMPTY: &[u8] = b"\n  \"findings\": []";
    let at = frame
        .windows(EMPTY.len())
        .position(|window| window == EMPTY)
        .ok_or_else(|| std::io::Error::other("the report has no findings member"))?;
    let (head, tail) = frame.split_at(at + EMPTY.len() - 2);
    out.write_all(head)?;
    // The rendered findings go back into the report, which keeps its counts.
    report.rendered = rendered;
    match &mut report.rendered {
        Some(rendered) => rendered.write_array(out)?,
        None => write_array(&report.findings, out)?,
    }
    out.write_all(tail.get(2..).unwrap_or_default())?;
    out.write_all(b"\n")
}

/// Appends `finding` as an item of the `findings` array, after the
/// separator from the previous item unless it is the `first`.
fn push_item(text: &mut Vec<u8>, first: bool, finding: &ReportFinding) -> serde_json::Result<()> {
    if !first {
        text.push(b',');
    }
    text.extend_from_slice(ITEM_INDENT);
    write_finding(text, finding)
}

/// The `findings` array of held findings.
fn write_array<W: Write>(findings: &[ReportFinding], out: &mut W) -> std::io::Result<()> {
    if findings.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    let mut text = Vec::with_capacity(4096);
    for (position, finding) in findings.iter().enumerate() {
        push_item(&mut text, position == 0, finding)?;
        if text.len() >= 1 << 16 {
            out.write_all(&text)?;
            text.clear();
        }
    }
    out.write_all(&text)?;
    out.write_all(b"\n  ]")
}

#[cfg(test)]
mod tests {
    use super::super::format_tests;
    use super::*;
    use rampart_engine::json::Json;

    /// The fixture report, one finding of which explains itself (nested
    /// values), and its JSON as `serde_json` writes the whole report.
    fn report_and_expected(findings: usize) -> (Report, String) {
        let mut report = format_tests::report();
        if let Some(first) = report.findings.first_mut() {
            first.explanation = vec![
                (
                    "c.securityContext".to_owned(),
                    rampart_engine::json!({"privileged": true, "a": [1, {"b": null}]}),
                ),
                ("c.name".to_owned(), Json::from("c\"0\"")),
            ];
        }
        let cycled: Vec<ReportFinding> = report
            .findings
            .iter()
            .cycle()
            .take(findings)
            .cloned()
            .collect();
        report.findings = cycled;
        report.count();
        let expected = serde_json::to_string_pretty(&report).unwrap() + "\n";
        (report, expected)
    }

    fn rendered_output(mut report: Report, rendered: RenderedFindings) -> (String, Report) {
        let mut rendered = rendered;
        for finding in std::mem::take(&mut report.findings) {
            rendered.add(&finding);
        }
        report.rendered = Some(rendered);
        report.count();
        let mut out = Vec::new();
        write_json(&mut report, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), report)
    }

    #[test]
    fn rendered_findings_write_what_serde_json_writes() {
        for count in [0, 1, 2, 4, 9] {
            let (report, expected) = report_and_expected(count);
            let summary = (
                report.summary.findings,
                report.summary.denied,
                report.summary.warned,
            );
            let (written, mut counted) = rendered_output(report, RenderedFindings::new());
            assert_eq!(written, expected, "{count} findings");
            // Writing leaves the rendered findings (and so the counts) in place.
            assert!(counted.rendered.is_some());
            counted.count();
            assert_eq!(
                (
                    counted.summary.findings,
                    counted.summary.denied,
                    counted.summary.warned
                ),
                summary
            );
        }
    }

    #[test]
    fn held_findings_write_what_serde_json_writes() {
        for count in [0, 1, 5] {
            let (mut report, expected) = report_and_expected(count);
            let mut out = Vec::new();
            write_json(&mut report, &mut out).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected,
                "{count} findings"
            );
            assert_eq!(report.findings.len(), count);
        }
    }

    #[test]
    fn the_report_is_the_same_without_errors_or_warnings() {
        let (mut report, _) = report_and_expected(3);
        report.errors.clear();
        report.warnings.clear();
        report.count();
        let expected = serde_json::to_string_pretty(&report).unwrap() + "\n";
        let (written, _) = rendered_output(report, RenderedFindings::new());
        assert_eq!(written, expected);
    }

    #[test]
    fn findings_spilled_to_a_file_come_back_whole() {
        let (report, expected) = report_and_expected(7);
        // Past 1 KiB the text moves to the file: most findings go there,
        // the last few stay in memory.
        let (written, _) = rendered_output(report, RenderedFindings::spilling_after(1024));
        assert_eq!(written, expected);
        let prefix = format!("rampart-findings-{}-", std::process::id());
        let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
            .collect();
        assert!(left.is_empty(), "temporary files left behind: {left:?}");
    }

    #[test]
    fn rewinding_forgets_what_came_after_the_mark_in_memory_and_in_the_file() {
        for spill_after in [usize::MAX, 1024, 1] {
            let (report, expected) = report_and_expected(5);
            let mut rendered = RenderedFindings::spilling_after(spill_after);
            let mut findings = report.findings.iter();
            for finding in findings.by_ref().take(3) {
                rendered.add(finding);
            }
            let mark = rendered.mark();
            // A file that failed part-way: its findings are rendered, then taken back.
            let (other, _) = report_and_expected(4);
            for finding in &other.findings {
                rendered.add(finding);
            }
            rendered.rewind(mark);
            for finding in findings {
                rendered.add(finding);
            }
            let mut report = report;
            report.findings.clear();
            let (written, _) = rendered_output(report, rendered);
            assert_eq!(written, expected, "spilling after {spill_after} bytes");
        }
    }

    #[test]
    fn a_failed_spill_is_an_error_when_the_report_is_written() {
        let (mut report, _) = report_and_expected(2);
        let mut rendered = RenderedFindings::new();
        rendered.spill = Spill::Failed("cannot hold the report's findings: disk full".to_owned());
        report.findings.clear();
        report.rendered = Some(rendered);
        let error = write_json(&mut report, &mut Vec::new()).unwrap_err();
        assert!(error.to_string().contains("disk full"), "{error}");
    }
}
