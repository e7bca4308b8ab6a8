//! Puts the parts' outcomes back in input order while the workers run.
//!
//! Workers finish parts in any order; the report lists findings by file,
//! then document. The calling thread takes the outcomes as they arrive and
//! adds each once every earlier part is in. Document numbers, local to a
//! part, become the file's. A file that fails part-way (a byte that is not
//! UTF-8 far into it) contributes nothing but its failure, as if it had not
//! been read, which is what the path that reads files whole does: the merge
//! keeps a checkpoint at the start of the file being read, goes back to it
//! if the file fails, and adds nothing of a later file before it knows how
//! the earlier ones ended.
//!
//! For the JSON report, once more than a threshold of findings are held
//! ([`RENDER_AFTER`], or none when a core is free for the merging thread),
//! the held ones and every later one are rendered into the report's text
//! (which goes to a temporary file past a few MiB) instead of being kept as
//! structures: a finding takes about half a kilobyte held, and the default
//! set finds about nine per workload, so 100,000 workloads held 557 MiB.
//! With every core working, rendering as findings come competes with the
//! workers, so smaller runs then keep their findings and render them once.

use super::{Event, PartOutcome, ReadFile};
use crate::report::rendered::{Mark, RenderedFindings};
use crate::report::{ReportError, ReportFinding};
use rampart_core::Judged;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Findings held before the JSON report's start being rendered as they
/// come: about 50 MB.
pub(super) const RENDER_AFTER: usize = 100_000;

/// The outcomes merged so far, and those waiting for an earlier part or
/// for the end of an earlier file.
pub(super) struct Merger {
    /// The sequence number of the next part to add.
    next: usize,
    waiting: BTreeMap<usize, PartOutcome>,
    /// Per file: `None` while it is being read, then whether it failed.
    files: Vec<Option<bool>>,
    /// How many files from the first on have ended: parts of any later file
    /// but the first unfinished one wait.
    ended: usize,
    /// The state before the first part of the file being added, while that
    /// file may still fail.
    checkpoint: Option<Checkpoint>,
    /// Per file: documents in the parts added so far.
    documents_before: Vec<usize>,
    /// Everything but the findings.
    judged: Judged,
    /// The findings by part, when not rendered: joined at the end into one
    /// allocation of the right size (with 100,000 manifests they are the
    /// largest thing held).
    findings: Vec<Vec<ReportFinding>>,
    /// How many findings `findings` holds.
    held: usize,
    load_errors: Vec<ReportError>,
    /// Past how many held findings they are rendered (the report is JSON).
    render_after: Option<usize>,
    rendered: Option<RenderedFindings>,
    timed: bool,
    time: Duration,
}

/// What the merge had before a file that may yet fail.
struct Checkpoint {
    file: usize,
    resources: usize,
    suppressed: usize,
    exempted: usize,
    errors: usize,
    load_errors: usize,
    exception_used: Vec<bool>,
    /// Parts of held findings, or where the rendering was.
    findings: usize,
    held: usize,
    rendered: Option<Mark>,
}

/// What the merge produced.
pub(super) struct Merged {
    /// The judged results, findings included unless rendered.
    pub(super) judged: Judged,
    /// Errors of loading, in input order.
    pub(super) load_errors: Vec<ReportError>,
    /// The rendered findings, when there were enough to render.
    pub(super) rendered: Option<RenderedFindings>,
    /// Time spent merging (and rendering), when timed.
    pub(super) time: Duration,
}

impl Merger {
    /// A merger for `files` files, starting from the empty result `judged`,
    /// rendering findings for the JSON report once more than `render_after`
    /// are held.
    pub(super) fn new(
        files: usize,
        judged: Judged,
        render_after: Option<usize>,
        timed: bool,
    ) -> Merger {
        Merger {
            next: 0,
            waiting: BTreeMap::new(),
            files: vec![None; files],
            ended: 0,
            checkpoint: None,
            documents_before: vec![0; files],
            judged,
            findings: Vec::new(),
            held: 0,
            load_errors: Vec::new(),
            render_after,
            rendered: None,
            timed,
            time: Duration::ZERO,
        }
    }

    /// Changes past how many held findings they are rendered (`None`:
    /// never); before the first event.
    pub(super) fn set_render_after(&mut self, render_after: Option<usize>) {
        self.render_after = render_after;
    }

    /// Takes one event from the threads, and adds what it makes ready.
    pub(super) fn accept(&mut self, event: Event<Vec<PartOutcome>>) {
        let start = self.timed.then(Instant::now);
        match event {
            Event::Done(outcomes) => {
                for outcome in outcomes {
                    self.waiting.insert(outcome.sequence, outcome);
                }
            }
            Event::FilesRead(files) => {
                for (file, failed) in files {
                    self.file_ended(file, failed);
                }
            }
        }
        while let Some(entry) = self.waiting.first_entry() {
            let file = entry.get().file;
            if *entry.key() != self.next || file > self.ended {
                break;
            }
            let outcome = entry.remove();
            self.next += 1;
            self.add(outcome);
        }
        if let Some(start) = start {
            self.time += start.elapsed();
        }
    }

    /// The reader is through with `file`.
    fn file_ended(&mut self, file: usize, failed: bool) {
        if let Some(state) = self.files.get_mut(file) {
            *state = Some(failed);
        }
        while self.files.get(self.ended).is_some_and(Option::is_some) {
            self.ended += 1;
        }
        if self
            .checkpoint
            .as_ref()
            .is_some_and(|checkpoint| checkpoint.file == file)
        {
            let checkpoint = self.checkpoint.take();
            if let (Some(checkpoint), true) = (checkpoint, failed) {
                self.go_back(checkpoint);
            }
        }
    }

    fn add(&mut self, mut outcome: PartOutcome) {
        let file = outcome.file;
        match self.files.get(file) {
            Some(Some(true)) => return,
            Some(None)
                if self
                    .checkpoint
                    .as_ref()
                    .is_none_or(|checkpoint| checkpoint.file != file) =>
            {
                self.checkpoint = Some(self.checkpoint(file));
            }
            _ => {}
        }
        let offset = self.documents_before.get(file).copied().unwrap_or(0);
        if offset > 0 {
            for finding in &mut outcome.judged.findings {
                finding.document += offset;
            }
        }
        if let Some(count) = self.documents_before.get_mut(file) {
            *count += outcome.documents;
        }
        self.load_errors.append(&mut outcome.load_errors);
        let findings = std::mem::take(&mut outcome.judged.findings);
        match &mut self.rendered {
            Some(rendered) => findings.iter().for_each(|finding| rendered.add(finding)),
            None => {
                self.held += findings.len();
                self.findings.push(findings);
                if self.render_after.is_some_and(|most| self.held > most) {
                    self.start_rendering();
                }
            }
        }
        self.judged.append(outcome.judged);
    }

    fn checkpoint(&self, file: usize) -> Checkpoint {
        Checkpoint {
            file,
            resources: self.judged.resources,
            suppressed: self.judged.suppressed,
            exempted: self.judged.exempted,
            errors: self.judged.errors.len(),
            load_errors: self.load_errors.len(),
            exception_used: self.judged.exception_used.clone(),
            findings: self.findings.len(),
            held: self.held,
            rendered: self.rendered.as_ref().map(RenderedFindings::mark),
        }
    }

    /// Forgets everything added since `checkpoint`.
    fn go_back(&mut self, checkpoint: Checkpoint) {
        self.judged.resources = checkpoint.resources;
        self.judged.suppressed = checkpoint.suppressed;
        self.judged.exempted = checkpoint.exempted;
        self.judged.errors.truncate(checkpoint.errors);
        self.load_errors.truncate(checkpoint.load_errors);
        self.judged.exception_used = checkpoint.exception_used;
        match (&mut self.rendered, checkpoint.rendered) {
            (Some(rendered), Some(mark)) => rendered.rewind(mark),
            _ => {
                self.findings.truncate(checkpoint.findings);
                self.held = checkpoint.held;
            }
        }
    }

    /// Renders the held findings, and from now on every finding as it is
    /// added; a checkpoint then marks the rendering instead.
    fn start_rendering(&mut self) {
        let mut rendered = RenderedFindings::new();
        let before = self
            .checkpoint
            .as_ref()
            .map_or(self.findings.len(), |checkpoint| checkpoint.findings);
        let mut parts = std::mem::take(&mut self.findings).into_iter();
        for part in parts.by_ref().take(before) {
            part.iter().for_each(|finding| rendered.add(finding));
        }
        if let Some(checkpoint) = &mut self.checkpoint {
            checkpoint.rendered = Some(rendered.mark());
        }
        for part in parts {
            part.iter().for_each(|finding| rendered.add(finding));
        }
        self.held = 0;
        self.rendered = Some(rendered);
    }

    /// Adds what is still waiting (after a worker that stopped early, parts
    /// are missing) by the files' final state, and returns the result.
    pub(super) fn finish(mut self, files: &[ReadFile]) -> Merged {
        let start = self.timed.then(Instant::now);
        for (file, read) in files.iter().enumerate() {
            if self.files.get(file) == Some(&None) {
                self.file_ended(file, read.failure.is_some());
            }
        }
        for (_, outcome) in std::mem::take(&mut self.waiting) {
            self.add(outcome);
        }
        let findings = std::mem::take(&mut self.findings);
        self.judged
            .findings
            .reserve_exact(findings.iter().map(Vec::len).sum());
        for mut part in findings {
            self.judged.findings.append(&mut part);
        }
        if let Some(start) = start {
            self.time += start.elapsed();
        }
        Merged {
            judged: self.judged,
            load_errors: self.load_errors,
            rendered: self.rendered,
            time: self.time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Summary;
    use crate::report::format_tests::{finding, identity};
    use rampart_engine::{Action, Severity};
    use std::sync::Arc;

    /// A part of `file` whose one document has one finding named `name`
    /// (and one evaluation error, so that errors are seen to come and go).
    fn part(sequence: usize, file: usize, name: &str) -> PartOutcome {
        let finding = ReportFinding {
            resource: Arc::new(identity("v1", "Pod", None, name)),
            file: format!("file{file}").into(),
            ..finding(name, Action::Deny, Severity::High, name)
        };
        let error = ReportError {
            file: format!("file{file}"),
            line: None,
            column: None,
            end_column: None,
            code: None,
            message: name.to_owned(),
            help: None,
        };
        PartOutcome {
            sequence,
            file,
            judged: Judged {
                findings: vec![finding],
                errors: vec![error],
                resources: 1,
                ..Judged::default()
            },
            load_errors: Vec::new(),
            documents: 1,
        }
    }

    fn read(names: &[(&str, bool)]) -> Vec<ReadFile> {
        names
            .iter()
            .map(|(name, failed)| ReadFile {
                name: (*name).to_owned(),
                text: String::new(),
                failure: failed.then(|| "cannot read file: not UTF-8".to_owned()),
            })
            .collect()
    }

    fn done(parts: Vec<PartOutcome>) -> Event<Vec<PartOutcome>> {
        Event::Done(parts)
    }

    /// The findings' names and documents, and the evaluation errors' names.
    fn merged_names(merged: &Merged) -> (Vec<(String, usize)>, Vec<String>) {
        (
            merged
                .judged
                .findings
                .iter()
                .map(|finding| (finding.message.clone(), finding.document))
                .collect(),
            merged
                .judged
                .errors
                .iter()
                .map(|error| error.message.clone())
                .collect(),
        )
    }

    #[test]
    fn outcomes_are_put_in_order_and_documents_counted_per_file() {
        let mut merger = Merger::new(2, Judged::default(), None, false);
        merger.accept(done(vec![part(2, 1, "c")]));
        merger.accept(done(vec![part(1, 0, "b")]));
        merger.accept(Event::FilesRead(vec![(0, false)]));
        merger.accept(done(vec![part(0, 0, "a")]));
        merger.accept(Event::FilesRead(vec![(1, false)]));
        let merged = merger.finish(&read(&[("file0", false), ("file1", false)]));
        let (findings, errors) = merged_names(&merged);
        assert_eq!(
            findings,
            vec![
                ("a".to_owned(), 0),
                ("b".to_owned(), 1),
                ("c".to_owned(), 0)
            ]
        );
        assert_eq!(errors, vec!["a", "b", "c"]);
        assert_eq!(merged.judged.resources, 3);
    }

    #[test]
    fn a_file_that_fails_after_parts_were_added_leaves_nothing() {
        for render_after in [None, Some(0)] {
            let mut merger = Merger::new(2, Judged::default(), render_after, false);
            merger.accept(done(vec![part(0, 0, "a")]));
            // A later file waits until the earlier one is known to have ended.
            merger.accept(done(vec![part(2, 1, "c")]));
            assert_eq!(merger.next, 1);
            merger.accept(Event::FilesRead(vec![(0, true)]));
            merger.accept(done(vec![part(1, 0, "b")]));
            merger.accept(Event::FilesRead(vec![(1, false)]));
            let merged = merger.finish(&read(&[("file0", true), ("file1", false)]));
            assert_eq!(merged.judged.resources, 1, "{render_after:?}");
            let (findings, errors) = merged_names(&merged);
            assert_eq!(errors, vec!["c"]);
            match &merged.rendered {
                None => assert_eq!(findings, vec![("c".to_owned(), 0)]),
                Some(rendered) => {
                    assert!(findings.is_empty());
                    let mut summary = Summary::default();
                    rendered.count_into(&mut summary);
                    assert_eq!(summary.findings, 1);
                }
            }
        }
    }

    #[test]
    fn past_the_limit_findings_are_rendered_in_order() {
        let mut merger = Merger::new(1, Judged::default(), Some(1), false);
        merger.accept(done(vec![part(1, 0, "b"), part(2, 0, "c")]));
        merger.accept(done(vec![part(0, 0, "a")]));
        merger.accept(Event::FilesRead(vec![(0, false)]));
        let merged = merger.finish(&read(&[("file0", false)]));
        assert!(merged.judged.findings.is_empty());
        let mut report = crate::report::Report {
            rendered: merged.rendered,
            ..Default::default()
        };
        report.count();
        assert_eq!(report.summary.findings, 3);
        let mut out = Vec::new();
        crate::report::rendered::write_json(&mut report, &mut out).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let messages: Vec<&str> = written["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|finding| finding["message"].as_str().unwrap())
            .collect();
        assert_eq!(messages, vec!["a", "b", "c"]);
    }

    #[test]
    fn what_is_still_waiting_at_the_end_is_added_by_the_files_final_state() {
        // No `FilesRead` came (the reader stopped early): the files as read decide.
        let mut merger = Merger::new(2, Judged::default(), None, false);
        merger.accept(done(vec![part(1, 1, "b"), part(0, 0, "a")]));
        let merged = merger.finish(&read(&[("file0", true), ("file1", false)]));
        let (findings, _) = merged_names(&merged);
        assert_eq!(findings, vec![("b".to_owned(), 0)]);
    }
}
