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

/// Series of `rampart_policy_findings_total` kept at most; a policy beyond
/// them counts as `other`. The policy ids come from the served sets, which
/// hold far fewer; this only guards against a very long life of reloads.
pub const MAX_POLICY_SERIES: usize = 4096;

/// The server's counters; shared by every connection.
///
/// Every label value is one of a fixed list ([`kind_label`],
/// [`operation_label`], [`decision_label`]), never text from a request as
/// sent: a client that forges 20,000 kinds must not make 20,000 series.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str, &'static str), u64>>,
    bucket_counts: [AtomicU64; BUCKETS.len()],
    evaluation_count: AtomicU64,
    evaluation_nanoseconds: AtomicU64,
    reload_success: AtomicU64,
    reload_failure: AtomicU64,
    certificate_reload_success: AtomicU64,
    certificate_reload_failure: AtomicU64,
    policies_loaded: AtomicU64,
    reload_empty: AtomicU64,
    reload_configuration_failure: AtomicU64,
    /// Requests on which a policy had findings, by policy and action. The
    /// policy ids come from the served sets, so they are bounded by them;
    /// [`MAX_POLICY_SERIES`] bounds them again.
    policy_findings: Mutex<BTreeMap<(String, &'static str), u64>>,
    connection_errors: [AtomicU64; ConnectionStage::ALL.len()],
    audit_write_failures: AtomicU64,
    audit_lines_dropped: AtomicU64,
    evaluation_panics: AtomicU64,
    answers_summarised: AtomicU64,
}

/// Where a connection failed, as the `stage` label of
/// `rampart_connection_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionStage {
    /// The TLS handshake failed, timed out or the peer closed during it.
    Tls,
    /// Reading a request's headers or writing an answer failed (the peer
    /// closed, reset, or was too slow).
    Http,
    /// The request's body did not arrive whole before the deadline, or the
    /// peer closed while sending it.
    Body,
}

impl ConnectionStage {
    /// Every stage, in the order they are rendered.
    pub const ALL: [ConnectionStage; 3] = [
        ConnectionStage::Tls,
        ConnectionStage::Http,
        ConnectionStage::Body,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStage::Tls => "tls",
            ConnectionStage::Http => "http",
            ConnectionStage::Body => "body",
        }
    }

    fn index(self) -> usize {
        match self {
            ConnectionStage::Tls => 0,
            ConnectionStage::Http => 1,
            ConnectionStage::Body => 2,
        }
    }
}

/// The outcome of one policy reload, as the `result` label of
/// `rampart_policy_reloads_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadResult {
    /// The new set serves.
    Success,
    /// The new set did not compile or load; the previous one keeps serving.
    Failure,
    /// The new set has no policy (an emptied file or directory); the
    /// previous one keeps serving.
    Empty,
    /// The configuration file was refused (unreadable, or with problems);
    /// the previous policies and configuration keep serving.
    ConfigurationFailure,
}

impl Metrics {
    /// Counts one admission request. The labels are bounded here: an
    /// unknown kind counts as `other`, an unknown operation as `unknown`.
    pub fn count_request(&self, operation: &str, kind: &str, decision: &str) {
        let key = (
            operation_label(operation),
            kind_label(kind),
            decision_label(decision),
        );
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry(key).or_insert(0) += 1;
        }
    }

    /// Counts a connection that ended in an error at `stage`.
    pub fn count_connection_error(&self, stage: ConnectionStage) {
        self.connection_errors[stage.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an audit line that could not be written (closed pipe, full disk).
    pub fn count_audit_write_failure(&self) {
        self.audit_write_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an audit line dropped because the writer fell behind.
    pub fn count_audit_line_dropped(&self) {
        self.audit_lines_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a panic caught while judging a request.
    pub fn count_evaluation_panic(&self) {
        self.evaluation_panics.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an answer whose findings were summarised to stay under the limits.
    pub fn count_answer_summarised(&self) {
        self.answers_summarised.fetch_add(1, Ordering::Relaxed);
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
    pub fn count_reload(&self, result: ReloadResult) {
        let counter = match result {
            ReloadResult::Success => &self.reload_success,
            ReloadResult::Failure => &self.reload_failure,
            ReloadResult::Empty => &self.reload_empty,
            ReloadResult::ConfigurationFailure => &self.reload_configuration_failure,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request on which `policy` had findings with `action`.
    /// Past [`MAX_POLICY_SERIES`] series, new policies count as `other`.
    pub fn count_policy_findings(&self, policy: &str, action: rampart_engine::Action) {
        let Ok(mut series) = self.policy_findings.lock() else {
            return;
        };
        let mut key = (policy.to_owned(), action.as_str());
        if !series.contains_key(&key) && series.len() >= MAX_POLICY_SERIES {
            key.0 = "other".to_owned();
        }
        *series.entry(key).or_insert(0) += 1;
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
                    "rampart_admission_requests_total{{operation=\"{operation}\",kind=\"{kind}\",decision=\"{decision}\"}} {count}"
                );
            }
        }
        let _ = writeln!(
            text,
            "# HELP rampart_admission_evaluation_seconds Time from a request's headers to its verdict: reading the body, queueing, evaluating, building the answer."
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
        labelled_counter(
            &mut text,
            "rampart_policy_reloads_total",
            "Policy reloads after a policy file changed (empty: the new set had no policy and was refused).",
            "result",
            &[
                ("success", &self.reload_success),
                ("failure", &self.reload_failure),
                ("empty", &self.reload_empty),
                ("config_failure", &self.reload_configuration_failure),
            ],
        );
        let _ = writeln!(
            text,
            "# HELP rampart_policy_findings_total Admission requests on which a policy had findings, by policy and action (audit: recorded only; warn: allowed with a warning; deny: denied)."
        );
        let _ = writeln!(text, "# TYPE rampart_policy_findings_total counter");
        if let Ok(series) = self.policy_findings.lock() {
            for ((policy, action), count) in series.iter() {
                let _ = writeln!(
                    text,
                    "rampart_policy_findings_total{{policy=\"{}\",action=\"{action}\"}} {count}",
                    label_value(policy)
                );
            }
        }
        labelled_counter(
            &mut text,
            "rampart_certificate_reloads_total",
            "TLS certificate reloads after the certificate or key file changed.",
            "result",
            &[
                ("success", &self.certificate_reload_success),
                ("failure", &self.certificate_reload_failure),
            ],
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
        let stages: Vec<(&str, &AtomicU64)> = ConnectionStage::ALL
            .iter()
            .map(|stage| (stage.as_str(), &self.connection_errors[stage.index()]))
            .collect();
        labelled_counter(
            &mut text,
            "rampart_connection_errors_total",
            "Connections that ended in an error: the peer closed or reset early, was too slow, or spoke no TLS.",
            "stage",
            &stages,
        );
        plain_counter(
            &mut text,
            "rampart_audit_write_failures_total",
            "Audit lines that could not be written (closed pipe, full disk); serving goes on.",
            &self.audit_write_failures,
        );
        plain_counter(
            &mut text,
            "rampart_audit_lines_dropped_total",
            "Audit lines dropped because the audit log's writer fell behind.",
            &self.audit_lines_dropped,
        );
        plain_counter(
            &mut text,
            "rampart_evaluation_panics_total",
            "Requests whose judging panicked; answered per the failure policy.",
            &self.evaluation_panics,
        );
        plain_counter(
            &mut text,
            "rampart_admission_answers_summarised_total",
            "Answers and audit lines whose findings were summarised to stay under the size limits.",
            &self.answers_summarised,
        );
        text
    }
}

fn labelled_counter(
    text: &mut String,
    name: &str,
    help: &str,
    label: &str,
    series: &[(&str, &AtomicU64)],
) {
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} counter");
    for (value, counter) in series {
        let _ = writeln!(
            text,
            "{name}{{{label}=\"{value}\"}} {}",
            counter.load(Ordering::Relaxed)
        );
    }
}

fn plain_counter(text: &mut String, name: &str, help: &str, counter: &AtomicU64) {
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} counter");
    let _ = writeln!(text, "{name} {}", counter.load(Ordering::Relaxed));
}

/// The kinds counted under their own name: the built-in Kubernetes kinds.
/// Any other kind (a custom resource, or a forged one) counts as `other`.
const KNOWN_KINDS: [&str; 66] = [
    "APIService",
    "Binding",
    "CSIDriver",
    "CSINode",
    "CSIStorageCapacity",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterTrustBundle",
    "ConfigMap",
    "ControllerRevision",
    "CronJob",
    "CustomResourceDefinition",
    "DaemonSet",
    "Deployment",
    "DeviceClass",
    "EndpointSlice",
    "Endpoints",
    "Event",
    "Eviction",
    "FlowSchema",
    "HorizontalPodAutoscaler",
    "IPAddress",
    "Ingress",
    "IngressClass",
    "Job",
    "Lease",
    "LimitRange",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "NetworkPolicy",
    "Node",
    "NodeProxyOptions",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Pod",
    "PodAttachOptions",
    "PodDisruptionBudget",
    "PodExecOptions",
    "PodPortForwardOptions",
    "PodProxyOptions",
    "PodTemplate",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "ReplicaSet",
    "ReplicationController",
    "ResourceClaim",
    "ResourceClaimTemplate",
    "ResourceQuota",
    "ResourceSlice",
    "Role",
    "RoleBinding",
    "RuntimeClass",
    "Scale",
    "Secret",
    "Service",
    "ServiceAccount",
    "ServiceCIDR",
    "ServiceProxyOptions",
    "StatefulSet",
    "StorageClass",
    "TokenRequest",
    "ValidatingAdmissionPolicy",
    "ValidatingWebhookConfiguration",
];

/// A label value escaped for the exposition format (backslash, quote and
/// line feed). Policy ids hold none of them; this keeps it so.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `kind` label for a request's kind: the kind itself when it is a
/// built-in Kubernetes kind, `other` otherwise.
pub fn kind_label(kind: &str) -> &'static str {
    KNOWN_KINDS
        .binary_search(&kind)
        .map_or("other", |index| KNOWN_KINDS[index])
}

/// The `operation` label: one of the four admission operations, or `unknown`.
pub fn operation_label(operation: &str) -> &'static str {
    match operation {
        "CREATE" => "CREATE",
        "UPDATE" => "UPDATE",
        "DELETE" => "DELETE",
        "CONNECT" => "CONNECT",
        _ => "unknown",
    }
}

/// The `decision` label: one of the four decisions, or `other`.
pub fn decision_label(decision: &str) -> &'static str {
    match decision {
        "allowed" => "allowed",
        "denied" => "denied",
        "error" => "error",
        "invalid" => "invalid",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let metrics = Metrics::default();
        metrics.count_request("CREATE", "Pod", "denied");
        metrics.count_request("CREATE", "Pod", "denied");
        metrics.count_request("UPDATE", "Deployment", "allowed");
        metrics.observe_evaluation(Duration::from_micros(300));
        metrics.observe_evaluation(Duration::from_millis(30));
        metrics.count_reload(ReloadResult::Failure);
        let text = metrics.render();
        assert!(text.contains("rampart_admission_requests_total{operation=\"CREATE\",kind=\"Pod\",decision=\"denied\"} 2"));
        assert!(text.contains("rampart_admission_requests_total{operation=\"UPDATE\",kind=\"Deployment\",decision=\"allowed\"} 1"));
        assert!(text.contains("rampart_admission_evaluation_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("rampart_admission_evaluation_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("rampart_admission_evaluation_seconds_count 2"));
        assert!(text.contains("rampart_policy_reloads_total{result=\"failure\"} 1"));
    }

    #[test]
    fn forged_kinds_and_operations_do_not_make_new_series() {
        let metrics = Metrics::default();
        let before = metrics.render().lines().count();
        for index in 0..20_000 {
            metrics.count_request("CREATE", &format!("Forged{index}"), "denied");
            metrics.count_request(&format!("OP{index}"), "Pod", "allowed");
        }
        let text = metrics.render();
        assert_eq!(text.lines().count(), before + 2, "{text}");
        assert!(text.contains(
            "rampart_admission_requests_total{operation=\"CREATE\",kind=\"other\",decision=\"denied\"} 20000"
        ));
        assert!(text.contains(
            "rampart_admission_requests_total{operation=\"unknown\",kind=\"Pod\",decision=\"allowed\"} 20000"
        ));
    }

    #[test]
    fn the_known_kinds_are_sorted_for_binary_search() {
        assert!(KNOWN_KINDS.windows(2).all(|pair| pair[0] < pair[1]));
        for kind in KNOWN_KINDS {
            assert_eq!(kind_label(kind), kind);
        }
    }
}
