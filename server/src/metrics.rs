//! Prometheus text exposition, written by hand: a few counters and one
//! histogram do not justify a metrics crate and its build time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds, in seconds, of the evaluation histogram's buckets: from a
/// typical evaluation (well under a millisecond) to the API server's own
/// 10-second webhook limit.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The server's counters; shared by every connection.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, String), u64>>,
    bucket_counts: [AtomicU64; BUCKETS.len()],
    evaluation_count: AtomicU64,
    evaluation_nanoseconds: AtomicU64,
    reload_success: AtomicU64,
    reload_failure: AtomicU64,
    certificate_reload_success: AtomicU64,
    certificate_reload_failure: AtomicU64,
    policies_loaded: AtomicU64,
}

impl Metrics {
    /// Counts one admission request.
    pub fn count_request(&self, operation: &str, kind: &str, decision: &str) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((operation.to_owned(), kind.to_owned(), decision.to_owned()))
                .or_insert(0) += 1;
        }
    }

    /// Records how long one evaluation took (queueing included).
    pub fn observe_evaluation(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.bucket_counts) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.evaluation_count.fetch_add(1, Ordering::Relaxed);
        let nanoseconds = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.evaluation_nanoseconds
            .fetch_add(nanoseconds, Ordering::Relaxed);
    }

    /// Counts a policy reload.
    pub fn count_reload(&self, success: bool) {
        let counter = if success {
            &self.reload_success
        } else {
            &self.reload_failure
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a certificate reload.
    pub fn count_certificate_reload(&self, success: bool) {
        let counter = if success {
            &self.certificate_reload_success
        } else {
            &self.certificate_reload_failure
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets how many policies the serving set holds.
    pub fn set_policies_loaded(&self, count: usize) {
        self.policies_loaded
            .store(u64::try_from(count).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The exposition text (format version 0.0.4).
    pub fn render(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "# HELP rampart_admission_requests_total Admission requests answered."
        );
        let _ = writeln!(text, "# TYPE rampart_admission_requests_total counter");
        if let Ok(requests) = self.requests.lock() {
            for ((operation, kind, decision), count) in requests.iter() {
                let _ = writeln!(
                    text,
                    "rampart_admission_requests_total{{operation=\"{}\",kind=\"{}\",decision=\"{}\"}} {count}",
                    escape(operation),
                    escape(kind),
                    escape(decision)
                );
            }
        }
        let _ = writeln!(
            text,
            "# HELP rampart_admission_evaluation_seconds Time from a request's body being read to its verdict."
        );
        let _ = writeln!(
            text,
            "# TYPE rampart_admission_evaluation_seconds histogram"
        );
        for (bound, count) in BUCKETS.iter().zip(&self.bucket_counts) {
            let count = count.load(Ordering::Relaxed);
            let _ = writeln!(
                text,
                "rampart_admission_evaluation_seconds_bucket{{le=\"{bound}\"}} {count}"
            );
        }
        let total = self.evaluation_count.load(Ordering::Relaxed);
        let sum = self.evaluation_nanoseconds.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(
            text,
            "rampart_admission_evaluation_seconds_bucket{{le=\"+Inf\"}} {total}"
        );
        let _ = writeln!(text, "rampart_admission_evaluation_seconds_sum {sum}");
        let _ = writeln!(text, "rampart_admission_evaluation_seconds_count {total}");
        counter_pair(
            &mut text,
            "rampart_policy_reloads_total",
            "Policy reloads after a policy file changed.",
            &self.reload_success,
            &self.reload_failure,
        );
        counter_pair(
            &mut text,
            "rampart_certificate_reloads_total",
            "TLS certificate reloads after the certificate or key file changed.",
            &self.certificate_reload_success,
            &self.certificate_reload_failure,
        );
        let _ = writeln!(
            text,
            "# HELP rampart_policies_loaded Policies in the set being served."
        );
        let _ = writeln!(text, "# TYPE rampart_policies_loaded gauge");
        let _ = writeln!(
            text,
            "rampart_policies_loaded {}",
            self.policies_loaded.load(Ordering::Relaxed)
        );
        text
    }
}

fn counter_pair(
    text: &mut String,
    name: &str,
    help: &str,
    success: &AtomicU64,
    failure: &AtomicU64,
) {
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} counter");
    let _ = writeln!(
        text,
        "{name}{{result=\"success\"}} {}",
        success.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        text,
        "{name}{{result=\"failure\"}} {}",
        failure.load(Ordering::Relaxed)
    );
}

/// Escapes a label value (backslash, quote, newline), as the format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let metrics = Metrics::default();
        metrics.count_request("CREATE", "Pod", "denied");
        metrics.count_request("CREATE", "Pod", "denied");
        metrics.count_request("UPDATE", "we\"ird", "allowed");
        metrics.observe_evaluation(Duration::from_micros(300));
        metrics.observe_evaluation(Duration::from_millis(30));
        metrics.count_reload(false);
        let text = metrics.render();
        assert!(text.contains("rampart_admission_requests_total{operation=\"CREATE\",kind=\"Pod\",decision=\"denied\"} 2"));
        assert!(text.contains("kind=\"we\\\"ird\""));
        assert!(text.contains("rampart_admission_evaluation_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("rampart_admission_evaluation_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("rampart_admission_evaluation_seconds_count 2"));
        assert!(text.contains("rampart_policy_reloads_total{result=\"failure\"} 1"));
    }
}
