//! The fast path of `rampart check`: files are read incrementally and cut
//! at document boundaries into parts of about 128 KiB; a reader thread fills a
//! bounded queue of parts, and the parts are parsed, judged and dropped on
//! every core. Only the located findings are kept, so memory stays flat
//! however many manifests come in (the text is kept only when the report
//! needs code frames). Used when no policy needs the whole input
//! (`resources(...)`); otherwise every resource must be held at once.
//!
//! `RAMPART_TIMINGS=1` prints where the time went (read, parse, evaluate,
//! judge, report: seconds summed over threads) to standard error.

mod fan_out;
mod merge;

use crate::inputs::{self, read, read::ReadError};
use crate::policies::LoadedPolicies;
use crate::report::{Report, ReportError};
pub(crate) use fan_out::{Event, FannedOut, Parts, fan_out, panic_message};
use merge::Merger;
use rampart_core::{Judge, Judged};
use rampart_engine::load::{self, LoadLimits};
use rampart_engine::{EvalOptions, Evaluator, Inventory, Subject};
use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::mpsc::{Sender, SyncSender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Files larger than twice this are split into parts of about this size:
/// small enough that the documents of the parts in flight stay a few MiB,
/// and that at 2,000 manifests (3.6 MB) two workers get enough parts to
/// finish together (half of 256 KiB: 4% faster end to end at `-j2`, no
/// change at 20,000).
const PART_BYTES: usize = 128 << 10;

/// How much is read from a file at a time.
const READ_BYTES: usize = 128 << 10;

/// The first part of a file known to be split (its size says so) is cut
/// this small, and read on its own, so that the first worker starts
/// sooner.
const FIRST_PART_BYTES: usize = 32 << 10;

/// One file as read: its name and, when asked for, its text (for code frames).
pub struct ReadFile {
    /// The name shown in reports.
    pub name: String,
    /// The text; empty when it could not be read or was not kept.
    pub text: String,
    /// Why it could not be read.
    pub failure: Option<String>,
}

/// A part of a file: its text and where it starts in lines.
pub(crate) struct Part {
    /// Order of the part among all parts (files in order, then parts).
    pub(crate) sequence: usize,
    file: usize,
    /// The file's name as reported.
    pub(crate) name: Arc<str>,
    /// Whether the part does not start the file.
    inner: bool,
    /// The line the part starts at in its file, from 0.
    pub(crate) line_offset: u32,
    pub(crate) text: String,
}

/// What judging one part produced; document indices are local to the part.
pub(crate) struct PartOutcome {
    sequence: usize,
    file: usize,
    judged: Judged,
    load_errors: Vec<ReportError>,
    documents: usize,
}

/// Seconds spent in each phase, summed over threads.
#[derive(Default, Clone, Copy)]
pub struct Timings {
    read: Duration,
    parse: Duration,
    evaluate: Duration,
    judge: Duration,
    /// Merging the parts' findings into one report.
    merge: Duration,
}

impl Timings {
    fn add(&mut self, other: &Timings) {
        self.read += other.read;
        self.parse += other.parse;
        self.evaluate += other.evaluate;
        self.judge += other.judge;
        self.merge += other.merge;
    }
}

/// Whether `RAMPART_TIMINGS` asks for the phase timings.
pub fn timings_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        std::env::var_os("RAMPART_TIMINGS").is_some_and(|value| !value.is_empty() && value != "0")
    })
}

/// Prints the phase timings to standard error (`report`: rendering and
/// writing the report, timed by the caller).
pub fn print_timings(timings: &Timings, report: Duration, threads: usize) {
    // One write: standard error is unbuffered, and `eprintln!` writes each
    // piece of its format on its own (25 system calls for this line).
    let line = format!(
        "timings (seconds, summed over {threads} thread(s)): read {:.4} parse {:.4} evaluate {:.4} judge {:.4} merge {:.4} report {:.4}\n",
        timings.read.as_secs_f64(),
        timings.parse.as_secs_f64(),
        timings.evaluate.as_secs_f64(),
        timings.judge.as_secs_f64(),
        timings.merge.as_secs_f64(),
        report.as_secs_f64(),
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}

/// Reads, parses, evaluates and judges every file on `threads` threads
/// (plus one reading thread). The files' texts are returned only when
/// `keep_text` (for code frames); the report is in file and document order.
/// With `render_json`, a run with many findings renders them for the JSON
/// report as they come ([`Report::rendered`]) instead of keeping them.
pub fn check(
    loaded: &LoadedPolicies,
    paths: &[PathBuf],
    options: &EvalOptions,
    threads: usize,
    keep_text: bool,
    render_json: bool,
    inventory: Option<&Inventory<'_>>,
) -> (Report, Vec<ReadFile>, Timings) {
    let judge = loaded.judge(crate::config::today());
    let timed = timings_enabled();
    let mut merger = Merger::new(paths.len(), judge.start(), None, timed);
    let mut rendering_decided = !render_json;
    let FannedOut {
        files,
        read_time,
        results: worker_timings,
        failures,
    } = fan_out(
        paths,
        threads,
        keep_text,
        timed,
        "checking",
        |parts, done| work(&judge, loaded, options, inventory, parts, done, timed),
        |event| {
            if !rendering_decided {
                rendering_decided = true;
                merger.set_render_after(Some(render_after(threads)));
            }
            merger.accept(event)
        },
    );
    let mut timings = Timings::default();
    for worker in &worker_timings {
        timings.add(worker);
    }
    let merged = merger.finish(&files);
    let mut report = Report {
        version: crate::report::REPORT_VERSION,
        ..Report::default()
    };
    report.summary.files = files.len();
    for failure in failures {
        report
            .errors
            .push(ReportError::new(String::new(), None, failure));
    }
    for file in &files {
        if let Some(failure) = &file.failure {
            report
                .errors
                .push(ReportError::new(file.name.clone(), None, failure.clone()));
        }
    }
    report.errors.extend(merged.load_errors);
    let judged = merged.judged;
    report.warnings = judge.exception_warnings(loaded.config_file(), &judged.exception_used);
    report.summary.resources = judged.resources;
    report.summary.suppressed = judged.suppressed;
    report.summary.exempted = judged.exempted;
    report.findings = judged.findings;
    report.errors.extend(judged.errors);
    report.rendered = merged.rendered;
    timings.read = read_time;
    timings.merge = merged.time;
    (report, files, timings)
}

/// Past how many held findings the JSON report's are rendered as they come.
/// With a core to spare (fewer workers than cores), the calling thread
/// renders every finding as it comes, which otherwise waits for the last
/// part (N=2,000 `-j1`: 26.1 -> 25.4 ms; N=20,000: 223 -> 208 ms; 100,000
/// with the default set: 6.5 -> 6.3 s and 77 -> 35 MiB). Without one it
/// would compete with the workers (N=2,000 `-j2`: 0.5 ms slower), and
/// renders only past [`merge::RENDER_AFTER`] findings, for memory. Asked
/// on the first event, when the calling thread has time: counting the
/// cores reads the control group's files (0.1 ms).
fn render_after(threads: usize) -> usize {
    let spare_core = std::thread::available_parallelism().is_ok_and(|cores| threads < cores.get());
    if spare_core { 0 } else { merge::RENDER_AFTER }
}

/// Findings a worker holds before it sends its outcomes on (and at the
/// end): few enough that the calling thread can render them during the run
/// (2,000 manifests have about 1,400), and enough that it is not woken for
/// every part (4,096 and 64 measured the same at `-j2`).
const FINDINGS_PER_EVENT: usize = 256;

/// A worker: takes parts off the queue until it is closed and empty, and
/// sends the parts' outcomes on whenever they hold many findings, and at
/// the end.
fn work(
    judge: &Judge<'_>,
    loaded: &LoadedPolicies,
    options: &EvalOptions,
    inventory: Option<&Inventory<'_>>,
    parts: &Parts,
    done: &Sender<Event<Vec<PartOutcome>>>,
    timed: bool,
) -> Timings {
    let evaluator = Evaluator::new(&loaded.set, options.clone());
    let mut timings = Timings::default();
    let mut outcomes = Vec::new();
    let mut findings = 0;
    while let Some(part) = parts.next() {
        let outcome = guarded(&part, |part| {
            run_part(judge, &evaluator, inventory, part, &mut timings, timed)
        });
        findings += outcome.judged.findings.len();
        outcomes.push(outcome);
        if findings >= FINDINGS_PER_EVENT {
            if done
                .send(Event::Done(std::mem::take(&mut outcomes)))
                .is_err()
            {
                return timings;
            }
            findings = 0;
        }
    }
    if !outcomes.is_empty() {
        let _ = done.send(Event::Done(outcomes));
    }
    timings
}

/// Runs `judge_part` on `part`; a panic becomes an error for the part's
/// file (the run is then incomplete), never a part that silently found
/// nothing.
fn guarded(part: &Part, judge_part: impl FnOnce(&Part) -> PartOutcome) -> PartOutcome {
    match std::panic::catch_unwind(AssertUnwindSafe(|| judge_part(part))) {
        Ok(outcome) => outcome,
        Err(payload) => PartOutcome {
            sequence: part.sequence,
            file: part.file,
            judged: Judged::default(),
            load_errors: vec![ReportError {
                file: part.name.to_string(),
                line: Some(part.line_offset + 1),
                column: None,
                end_column: None,
                code: None,
                message: format!(
                    "internal error while judging this file (from line {}): {}; it was not checked",
                    part.line_offset + 1,
                    panic_message(&*payload)
                ),
                help: None,
            }],
            documents: 0,
        },
    }
}

/// Runs `action`, adding its duration to `total` when timing.
fn measure<T>(enabled: bool, total: &mut Duration, action: impl FnOnce() -> T) -> T {
    if enabled {
        let start = Instant::now();
        let value = action();
        *total += start.elapsed();
        value
    } else {
        action()
    }
}

fn run_part(
    judge: &Judge<'_>,
    evaluator: &Evaluator<'_>,
    inventory: Option<&Inventory<'_>>,
    part: &Part,
    timings: &mut Timings,
    enabled: bool,
) -> PartOutcome {
    let name = &*part.name;
    let outcome = measure(enabled, &mut timings.parse, || {
        load::load_str(&part.text, &LoadLimits::default())
    });
    let mut errors = Vec::new();
    let mut resources = measure(enabled, &mut timings.parse, || {
        load::resources(&outcome.documents, &mut errors)
    });
    // An exempt resource is counted, not evaluated.
    let mut judged = judge.start();
    let before = resources.len();
    resources.retain(|resource| judge.exempt(resource.value).is_none());
    judged.exempted = before - resources.len();
    // The part's resources are evaluated, then judged, each phase timed
    // once: timing every resource cost 2% of a run.
    let evaluations: Vec<_> = measure(enabled, &mut timings.evaluate, || {
        resources
            .iter()
            .map(|resource| {
                evaluator.evaluate(&Subject {
                    resource: resource.value,
                    old_resource: None,
                    inventory,
                    keys: resource.document.keys.as_ref(),
                })
            })
            .collect()
    });
    measure(enabled, &mut timings.judge, || {
        for (resource, evaluation) in resources.iter().zip(evaluations) {
            judge.judge(
                &part.name,
                resource,
                Ok(evaluation),
                (0, part.line_offset),
                &mut judged,
            );
        }
    });
    let documents = outcome.documents.len();
    let load_errors = outcome
        .errors
        .into_iter()
        .chain(errors)
        .map(|error| {
            let mut message = error.message;
            if let Some(document) = error.document
                && part.inner
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
        sequence: part.sequence,
        file: part.file,
        judged,
        load_errors,
        documents,
    }
}

/// Reads every file in turn, sending its parts to the workers; returns the
/// files (with their texts when `keep_text`) and the time spent reading.
fn read_all(
    paths: &[PathBuf],
    sender: &SyncSender<Part>,
    keep_text: bool,
    timed: bool,
    activity: &'static str,
    on_file: &dyn Fn(usize, bool),
) -> (Vec<ReadFile>, Duration) {
    let mut files = Vec::with_capacity(paths.len());
    let mut sequence = 0usize;
    let mut read_time = Duration::ZERO;
    let mut progress = Progress::new(paths, activity);
    for (index, path) in paths.iter().enumerate() {
        let name: Arc<str> = inputs::display_name(path).into();
        let mut file = ReadFile {
            name: name.to_string(),
            text: String::new(),
            failure: None,
        };
        let mut cutter = Cutter {
            file: index,
            name,
            sequence: &mut sequence,
            sender,
            keep_text,
            kept: &mut file.text,
            parts_sent: 0,
            line_offset: 0,
            bytes_sent: 0,
            json_lines: None,
            split: false,
            progress: &mut progress,
        };
        let outcome = cutter.read(path, timed, &mut read_time);
        let stopped = matches!(outcome, Err(CutError::Stopped));
        if let Err(error) = outcome {
            file.failure = Some(error.to_string());
            file.text = String::new();
        }
        on_file(index, file.failure.is_some());
        files.push(file);
        if stopped {
            break;
        }
    }
    progress.finish();
    (files, read_time)
}

/// A progress line on a terminal's stderr for long runs: the reader runs at
/// most a few parts ahead of the workers, so bytes read track the work done.
struct Progress {
    /// What the progress line says is happening.
    activity: &'static str,
    enabled: bool,
    total: u64,
    done: u64,
    shown: Option<Instant>,
}

impl Progress {
    /// Inputs smaller than this finish before a progress line would help.
    const WORTH_SHOWING: u64 = 16 << 20;

    fn new(paths: &[PathBuf], activity: &'static str) -> Progress {
        let total = paths
            .iter()
            .filter_map(|path| std::fs::metadata(path).ok())
            .map(|metadata| metadata.len())
            .sum();
        Progress {
            activity,
            enabled: std::io::IsTerminal::is_terminal(&std::io::stderr())
                && total >= Self::WORTH_SHOWING,
            total,
            done: 0,
            shown: None,
        }
    }

    fn advance(&mut self, bytes: usize) {
        self.done += bytes as u64;
        if !self.enabled
            || self
                .shown
                .is_some_and(|shown| shown.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        self.shown = Some(Instant::now());
        let percent = self.done.saturating_mul(100) / self.total.max(1);
        eprint!(
            "\r{}: {percent:>3}% ({} of {} MB)",
            self.activity,
            self.done >> 20,
            self.total >> 20
        );
    }

    fn finish(&self) {
        if self.enabled && self.shown.is_some() {
            eprint!("\r\x1b[K");
        }
    }
}

/// Why a file was not cut whole into parts.
enum CutError {
    /// It could not be read (or is not UTF-8, or is too large).
    Read(ReadError),
    /// No worker is left to take its parts: the run stops.
    Stopped,
}

impl std::fmt::Display for CutError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CutError::Read(error) => write!(formatter, "cannot read file: {error}"),
            CutError::Stopped => {
                formatter.write_str("not checked: every worker thread stopped before it")
            }
        }
    }
}

impl From<ReadError> for CutError {
    fn from(error: ReadError) -> CutError {
        CutError::Read(error)
    }
}

impl From<std::io::Error> for CutError {
    fn from(error: std::io::Error) -> CutError {
        CutError::Read(ReadError::Io(error))
    }
}

/// Cuts one file into parts as it is read.
struct Cutter<'c> {
    file: usize,
    name: Arc<str>,
    sequence: &'c mut usize,
    sender: &'c SyncSender<Part>,
    keep_text: bool,
    kept: &'c mut String,
    parts_sent: usize,
    line_offset: u32,
    /// Bytes of the file in the parts sent so far.
    bytes_sent: usize,
    /// Whether the file is JSON lines (it starts with `{`), once known.
    json_lines: Option<bool>,
    /// Whether the file is large enough to be split, as its size tells
    /// (a pipe's is not known: it is cut once it has been read that far).
    split: bool,
    progress: &'c mut Progress,
}

impl Cutter<'_> {
    fn read(
        &mut self,
        path: &std::path::Path,
        timed: bool,
        read_time: &mut Duration,
    ) -> Result<(), CutError> {
        let standard_input = path.as_os_str() == "-";
        let mut source: Box<dyn Read> = if standard_input {
            Box::new(std::io::stdin().lock())
        } else {
            // A regular file only: a FIFO or a device is refused unread.
            let file = read::open(path, read::MANIFEST_LIMIT)?;
            self.split = file
                .metadata()
                .is_ok_and(|metadata| metadata.len() >= 2 * PART_BYTES as u64);
            Box::new(file)
        };
        // Bytes read so far: past the limit, the file is refused (a file
        // can grow while it is read, and standard input has no size).
        let mut total = 0u64;
        // One buffer for the whole file, with room for a part and a read:
        // what is read goes into its spare room (never zeroed first), and a
        // part leaves it as a copy of its own size, so that the buffer is
        // reused rather than grown and handed on (which faulted in fresh
        // pages for every part).
        let mut buffer: Vec<u8> = Vec::with_capacity(2 * PART_BYTES + READ_BYTES);
        // Where the scan for a cut resumes: lines before it were looked at.
        let mut scanned = 0usize;
        loop {
            let start = timed.then(Instant::now);
            let limit = if self.split && self.parts_sent == 0 {
                FIRST_PART_BYTES * 2
            } else {
                READ_BYTES
            };
            let read = source.by_ref().take(limit as u64).read_to_end(&mut buffer);
            if let Some(start) = start {
                *read_time += start.elapsed();
            }
            let read = read?;
            if read == 0 {
                break;
            }
            total += read as u64;
            if total > read::MANIFEST_LIMIT {
                return Err(ReadError::TooLarge(read::MANIFEST_LIMIT).into());
            }
            self.progress.advance(read);
            if buffer.len() < 2 * PART_BYTES && self.parts_sent == 0 && !self.split {
                // Small files stay whole.
                continue;
            }
            if self.json_lines.is_none() {
                let text = buffer
                    .strip_prefix("\u{FEFF}".as_bytes())
                    .unwrap_or(&buffer);
                self.json_lines = Some(text.first() == Some(&b'{'));
            }
            while let Some(cut) = self.find_cut(&buffer, &mut scanned) {
                let part = buffer.get(..cut).unwrap_or_default().to_vec();
                buffer.drain(..cut);
                scanned = 0;
                self.send(part)?;
            }
        }
        if standard_input && self.parts_sent == 0 && read::is_blank(&buffer) {
            // An empty run must not look like a clean one.
            return Err(ReadError::EmptyStandardInput.into());
        }
        if !buffer.is_empty() || self.parts_sent == 0 {
            self.send(buffer)?;
        }
        Ok(())
    }

    /// The byte offset of the first separator line at or after the part size
    /// ([`FIRST_PART_BYTES`] for a split file's first part, [`PART_BYTES`]
    /// after it) among the complete lines of `buffer`, if any.
    fn find_cut(&self, buffer: &[u8], scanned: &mut usize) -> Option<usize> {
        let part_bytes = if self.split && self.parts_sent == 0 {
            FIRST_PART_BYTES
        } else {
            PART_BYTES
        };
        if buffer.len() < part_bytes {
            return None;
        }
        let json_lines = self.json_lines == Some(true);
        let mut position = (*scanned).max(part_bytes);
        // Start at a line start: the first line start at or after `position`.
        if position > 0 && buffer.get(position - 1) != Some(&b'\n') {
            let next = buffer
                .get(position..)?
                .iter()
                .position(|&byte| byte == b'\n')?;
            position += next + 1;
        }
        loop {
            let rest = buffer.get(position..)?;
            // Only complete lines are judged (a `---` line needs its end).
            let end = rest.iter().position(|&byte| byte == b'\n')?;
            let line = rest.get(..=end)?;
            let is_separator = if json_lines {
                line.first() == Some(&b'{')
            } else {
                line.strip_prefix(b"---")
                    .is_some_and(|rest| rest.first().is_none_or(u8::is_ascii_whitespace))
            };
            if is_separator {
                return Some(position);
            }
            position += end + 1;
            *scanned = position;
        }
    }

    fn send(&mut self, bytes: Vec<u8>) -> Result<(), CutError> {
        // A part's lines are counted from its place in the file.
        let text = crate::inputs::read::text_of(bytes).map_err(|error| match error {
            ReadError::NotUtf8(mut bad) => {
                bad.position.line += self.line_offset;
                bad.offset += self.bytes_sent;
                ReadError::NotUtf8(bad)
            }
            other => other,
        })?;
        let lines = text.bytes().filter(|&byte| byte == b'\n').count() as u32;
        let length = text.len();
        if self.keep_text {
            self.kept.push_str(&text);
        }
        let part = Part {
            sequence: *self.sequence,
            file: self.file,
            name: self.name.clone(),
            inner: self.parts_sent > 0,
            line_offset: self.line_offset,
            text,
        };
        *self.sequence += 1;
        self.parts_sent += 1;
        self.line_offset += lines;
        self.bytes_sent += length;
        // Workers stop once every sender is gone, or when the last of them
        // ends early (a panic outside a part): then the queue is closed,
        // and nothing more can be judged.
        self.sender.send(part).map_err(|_| CutError::Stopped)
    }
}

#[cfg(test)]
mod tests;
