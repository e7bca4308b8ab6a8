//! The audit log: one JSON object per line for every admission decision.

use crate::admission::{Decision, Record};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where audit lines go: a file (appended to), standard output, or nowhere.
pub struct AuditLog {
    sink: Option<Mutex<Box<dyn Write + Send>>>,
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
    pub fn disabled() -> AuditLog {
        AuditLog { sink: None }
    }

    /// Appends to `path`, or writes to standard output when it is `-`.
    pub fn open(path: &Path) -> Result<AuditLog, String> {
        let sink: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|error| {
                    format!("cannot open the audit log `{}`: {error}", path.display())
                })?;
            Box::new(file)
        };
        Ok(AuditLog {
            sink: Some(Mutex::new(sink)),
        })
    }

    /// Writes one decision. A failed write is reported on standard error and
    /// does not fail the admission request: the cluster must not stop because
    /// a disk filled up.
    pub fn write(&self, endpoint: &str, decision: Decision, latency: Duration, record: &Record) {
        let Some(sink) = &self.sink else {
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
        // One write call per line keeps lines whole when several processes append.
        let written = sink
            .lock()
            .map_err(|_| std::io::Error::other("audit log lock poisoned"))
            .and_then(|mut sink| sink.write_all(&text).and_then(|()| sink.flush()));
        if let Err(error) = written {
            crate::log(&format!("cannot write the audit log: {error}"));
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

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap_day = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        assert_eq!(rfc3339(leap_day), "2024-02-29T12:34:56.789Z");
        let new_year = UNIX_EPOCH + Duration::from_secs(1_735_689_599);
        assert_eq!(rfc3339(new_year), "2024-12-31T23:59:59.000Z");
    }
}
