//! The audit log: one JSON object per line for every admission decision.
//!
//! Lines are written by a thread of their own, fed by a bounded queue: a
//! reader that stops reading a pipe, or a slow disk, must not block the
//! threads that answer requests. When the queue is full a line is dropped
//! and counted; when a write fails (a closed pipe, a full disk) the failure
//! is logged once, counted for every line, and serving goes on.

use crate::admission::{Decision, Record};
use crate::error::ServerError;
use crate::metrics::Metrics;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Lines waiting for the writer thread; past this, lines are dropped.
const QUEUE_LINES: usize = 4096;

/// Where audit lines go: a file (appended to), standard output, or nowhere.
pub struct AuditLog {
    sender: Mutex<Option<SyncSender<Vec<u8>>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    metrics: Arc<Metrics>,
    /// Whether dropped lines were reported since the queue last had room.
    dropping: AtomicBool,
}

/// One line of the audit log.
#[derive(Serialize)]
struct Line<'a> {
    time: String,
    endpoint: &'a str,
    decision: Decision,
    latency_ms: f64,
    #[serde(flatten)]
    record: &'a Record,
}

impl AuditLog {
    /// No audit log.
    pub fn disabled(metrics: Arc<Metrics>) -> AuditLog {
        AuditLog {
            sender: Mutex::new(None),
            writer: Mutex::new(None),
            metrics,
            dropping: AtomicBool::new(false),
        }
    }

    /// Appends to `path`, or writes to standard output when it is `-`.
    pub fn open(path: &Path, metrics: Arc<Metrics>) -> Result<AuditLog, ServerError> {
        let sink: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|error| ServerError::AuditLog {
                    path: path.to_path_buf(),
                    error,
                })?;
            Box::new(file)
        };
        AuditLog::to_writer(sink, metrics).map_err(|error| ServerError::Start {
            what: "the audit log's thread",
            error,
        })
    }

    /// Writes the lines to `sink`, on a thread of its own.
    pub fn to_writer(
        sink: Box<dyn Write + Send>,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<AuditLog> {
        let (sender, receiver) = sync_channel(QUEUE_LINES);
        let writer_metrics = Arc::clone(&metrics);
        let writer = std::thread::Builder::new()
            .name("rampart-audit".to_owned())
            .spawn(move || write_lines(&receiver, sink, &writer_metrics))?;
        Ok(AuditLog {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            metrics,
            dropping: AtomicBool::new(false),
        })
    }

    /// Queues one decision for writing. Never blocks and never fails the
    /// admission request: the cluster must not stop because a disk filled up.
    pub fn write(&self, endpoint: &str, decision: Decision, latency: Duration, record: &Record) {
        let Ok(sender) = self.sender.lock() else {
            return;
        };
        let Some(sender) = sender.as_ref() else {
            return;
        };
        let line = Line {
            time: rfc3339(SystemTime::now()),
            endpoint,
            decision,
            latency_ms: latency.as_secs_f64() * 1000.0,
            record,
        };
        let Ok(mut text) = serde_json::to_vec(&line) else {
            return;
        };
        text.push(b'\n');
        match sender.try_send(text) {
            Ok(()) => self.dropping.store(false, Ordering::Relaxed),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.metrics.count_audit_line_dropped();
                if !self.dropping.swap(true, Ordering::Relaxed) {
                    crate::log(
                        "the audit log's writer is behind: audit lines are dropped (counted in rampart_audit_lines_dropped_total)",
                    );
                }
            }
        }
    }

    /// Writes the lines still queued and stops the writer thread.
    pub fn close(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let writer = self.writer.lock().ok().and_then(|mut writer| writer.take());
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread: one write call per line (which keeps lines whole when
/// several processes append), until the log is closed.
fn write_lines(receiver: &Receiver<Vec<u8>>, mut sink: Box<dyn Write + Send>, metrics: &Metrics) {
    let mut health = WriteHealth::default();
    while let Ok(text) = receiver.recv() {
        let written = sink.write_all(&text).and_then(|()| sink.flush());
        if written.is_err() {
            metrics.count_audit_write_failure();
        }
        if let Some(message) = health.after(written) {
            crate::log(&message);
        }
    }
}

/// Whether the audit log is failing, so that a failure is logged once when
/// it starts (and once when it ends), not for every line.
#[derive(Default)]
struct WriteHealth {
    failing: bool,
}

impl WriteHealth {
    /// The message to log after a write with this result, if any.
    fn after(&mut self, written: std::io::Result<()>) -> Option<String> {
        match (written, self.failing) {
            (Err(error), false) => {
                self.failing = true;
                Some(format!(
                    "cannot write the audit log, serving goes on without it (failed lines are counted in rampart_audit_write_failures_total): {error}"
                ))
            }
            (Ok(()), true) => {
                self.failing = false;
                Some("the audit log is written again".to_owned())
            }
            _ => None,
        }
    }
}

/// `time` as RFC 3339 in UTC with milliseconds, e.g. `2025-01-31T12:00:00.123Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since_epoch.subsec_millis()
    )
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that fails every write, as a closed pipe or a full disk does.
    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_sink_is_counted_for_every_line_and_logged_once() {
        let metrics = Arc::new(Metrics::default());
        let audit = AuditLog::to_writer(Box::new(Broken), Arc::clone(&metrics)).unwrap();
        for _ in 0..3 {
            audit.write(
                "validate",
                Decision::Allowed,
                Duration::ZERO,
                &Record::default(),
            );
        }
        audit.close();
        assert!(
            metrics
                .render()
                .contains("rampart_audit_write_failures_total 3")
        );

        let mut health = WriteHealth::default();
        let broken = || Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(health.after(broken()).is_some());
        assert!(health.after(broken()).is_none());
        assert!(health.after(broken()).is_none());
        assert!(health.after(Ok(())).is_some());
        assert!(health.after(Ok(())).is_none());
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap_day = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        assert_eq!(rfc3339(leap_day), "2024-02-29T12:34:56.789Z");
        let new_year = UNIX_EPOCH + Duration::from_secs(1_735_689_599);
        assert_eq!(rfc3339(new_year), "2024-12-31T23:59:59.000Z");
    }
}
