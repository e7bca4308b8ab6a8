//! What a configuration says about judging findings, beyond what is
//! compiled into the policies (parameters and actions are applied to the
//! IR itself): exceptions with expiry, exemptions as Pod Security Admission
//! has them, and annotation self-exemption. This part is serializable, so a
//! Wasm bundle carries it beside its policies.

use crate::date::Date;
use rampart_engine::helpers::glob;
use rampart_engine::json::Json;
use rampart_engine::load::Position;
use serde::{Deserialize, Serialize};

/// The annotation through which a resource exempts itself (when allowed):
/// a comma-separated list of policy ids or globs.
pub const EXEMPT_ANNOTATION: &str = "rampart.dev/exempt";
/// The annotation giving the reason of a self-exemption (required).
pub const EXEMPT_REASON_ANNOTATION: &str = "rampart.dev/exempt-reason";

/// The judging part of a configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Judging {
    /// Findings of matching policies on matching resources are dropped.
    pub exceptions: Vec<Exception>,
    /// Requests and resources that are not judged at all.
    pub exemptions: Exemptions,
    /// Whether a resource may exempt itself with [`EXEMPT_ANNOTATION`].
    pub allow_annotation_exemptions: bool,
}

/// One exception.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exception {
    /// Policy id or glob.
    pub policy: String,
    /// Kind glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Why.
    pub reason: String,
    /// The last day it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Date>,
    /// Where it is written in its file.
    #[serde(skip)]
    pub position: Option<Position>,
}

impl Exception {
    /// Whether it covers a finding of `policy` on `resource`.
    pub fn covers(&self, policy: &str, resource: &Json) -> bool {
        let field = |pointer: &str| {
            resource
                .pointer(pointer)
                .and_then(Json::as_str)
                .unwrap_or_default()
        };
        let matches = |pattern: &Option<String>, value: &str| {
            pattern
                .as_ref()
                .is_none_or(|pattern| glob::matches(pattern, value))
        };
        glob::matches(&self.policy, policy)
            && matches(&self.kind, field("/kind"))
            && matches(&self.namespace, field("/metadata/namespace"))
            && matches(&self.name, field("/metadata/name"))
    }

    /// Whether it has expired by `today` (it still applies on its expiry day).
    pub fn expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|expires| expires < today)
    }
}

/// Exemptions as Pod Security Admission has them: an exempt request or
/// resource is not judged at all. Each list holds names or globs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Exemptions {
    /// Namespaces whose resources are not judged.
    pub namespaces: Vec<String>,
    /// Users (an admission request's `userInfo.username`) whose requests
    /// are not judged. Manifests carry no user: only the webhook honours it.
    pub usernames: Vec<String>,
    /// Pods (and pod templates) with one of these `runtimeClassName`s are
    /// not judged.
    pub runtime_class_names: Vec<String>,
}

/// Why a resource or request is exempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exempt {
    /// Its namespace is exempt.
    Namespace(String),
    /// The requesting user is exempt.
    Username(String),
    /// Its pod's runtime class is exempt.
    RuntimeClass(String),
}

impl std::fmt::Display for Exempt {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exempt::Namespace(name) => write!(formatter, "namespace `{name}` is exempt"),
            Exempt::Username(name) => write!(formatter, "user `{name}` is exempt"),
            Exempt::RuntimeClass(name) => write!(formatter, "runtime class `{name}` is exempt"),
        }
    }
}

impl Exemptions {
    /// Whether nothing is exempt.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
            && self.usernames.is_empty()
            && self.runtime_class_names.is_empty()
    }

    /// Why `resource` (in `namespace`, which an admission request gives
    /// beside the object; `None` reads the object's own) requested by
    /// `username` (admission only) is exempt, if it is.
    pub fn exempts(
        &self,
        resource: &Json,
        namespace: Option<&str>,
        username: Option<&str>,
    ) -> Option<Exempt> {
        if self.is_empty() {
            return None;
        }
        let any = |patterns: &[String], value: &str| {
            patterns.iter().any(|pattern| glob::matches(pattern, value))
        };
        if let Some(username) = username.filter(|name| any(&self.usernames, name)) {
            return Some(Exempt::Username(username.to_owned()));
        }
        let namespace = namespace.or_else(|| {
            resource
                .pointer("/metadata/namespace")
                .and_then(Json::as_str)
        });
        if let Some(namespace) = namespace.filter(|name| any(&self.namespaces, name)) {
            return Some(Exempt::Namespace(namespace.to_owned()));
        }
        let pod = resource
            .get("kind")
            .and_then(Json::as_str)
            .and_then(rampart_engine::workload::pod_template_path)
            .and_then(|path| {
                path.iter()
                    .try_fold(resource, |value, step| value.get(step))
                    .and_then(|pod| pod.get("spec"))
                    .and_then(|spec| spec.get("runtimeClassName"))
            })
            .and_then(Json::as_str);
        if let Some(class) = pod.filter(|name| any(&self.runtime_class_names, name)) {
            return Some(Exempt::RuntimeClass(class.to_owned()));
        }
        None
    }
}

/// Whether a resource exempts itself from `policy` by annotation, with a reason.
pub fn annotation_exempts(policy: &str, resource: &Json) -> bool {
    let annotation = |name: &str| {
        resource
            .get("metadata")
            .and_then(|metadata| metadata.get("annotations"))
            .and_then(|annotations| annotations.get(name))
            .and_then(Json::as_str)
    };
    let has_reason =
        annotation(EXEMPT_REASON_ANNOTATION).is_some_and(|reason| !reason.trim().is_empty());
    has_reason
        && annotation(EXEMPT_ANNOTATION).is_some_and(|list| {
            list.split(',')
                .any(|pattern| glob::matches(pattern.trim(), policy))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_engine::json;

    fn exception(expires: Option<&str>) -> Exception {
        Exception {
            policy: "pss.restricted.*".into(),
            kind: Some("Deployment".into()),
            namespace: Some("legacy".into()),
            name: Some("batch-*".into()),
            reason: "r".into(),
            expires: expires.and_then(|date| Date::parse(date).ok()),
            position: None,
        }
    }

    #[test]
    fn exceptions_match_by_globs_and_expire_after_their_day() {
        let resource =
            json!({"kind": "Deployment", "metadata": {"namespace": "legacy", "name": "batch-7"}});
        let exception = exception(Some("2026-01-31"));
        assert!(exception.covers("pss.restricted.runAsNonRoot", &resource));
        assert!(!exception.covers("pss.baseline.privileged", &resource));
        let other =
            json!({"kind": "Deployment", "metadata": {"namespace": "prod", "name": "batch-7"}});
        assert!(!exception.covers("pss.restricted.runAsNonRoot", &other));
        let day = |text| {
            Date::parse(text).unwrap_or(Date {
                year: 0,
                month: 1,
                day: 1,
            })
        };
        assert!(!exception.expired(day("2026-01-31")));
        assert!(exception.expired(day("2026-02-01")));
    }

    #[test]
    fn annotations_need_a_reason() {
        let with_reason = json!({"metadata": {"annotations": {EXEMPT_ANNOTATION: "bp.*, nsa.x", EXEMPT_REASON_ANNOTATION: "legacy"}}});
        assert!(annotation_exempts("bp.probes", &with_reason));
        assert!(annotation_exempts("nsa.x", &with_reason));
        assert!(!annotation_exempts("nsa.y", &with_reason));
        let without = json!({"metadata": {"annotations": {EXEMPT_ANNOTATION: "bp.*"}}});
        assert!(!annotation_exempts("bp.probes", &without));
    }

    #[test]
    fn exemptions_by_namespace_user_and_runtime_class() {
        let exemptions = Exemptions {
            namespaces: vec!["kube-*".into()],
            usernames: vec!["system:serviceaccount:ci:deployer".into()],
            runtime_class_names: vec!["kata".into()],
        };
        let in_kube_system = json!({"kind": "Pod", "metadata": {"namespace": "kube-system"}});
        assert_eq!(
            exemptions.exempts(&in_kube_system, None, None),
            Some(Exempt::Namespace("kube-system".into()))
        );
        let pod = json!({"kind": "Pod", "metadata": {"namespace": "shop"}, "spec": {"runtimeClassName": "kata"}});
        assert_eq!(
            exemptions.exempts(&pod, None, None),
            Some(Exempt::RuntimeClass("kata".into()))
        );
        let deployment = json!({"kind": "Deployment", "metadata": {"namespace": "shop"},
            "spec": {"template": {"spec": {"runtimeClassName": "kata"}}}});
        assert!(exemptions.exempts(&deployment, None, None).is_some());
        let plain = json!({"kind": "Pod", "metadata": {"namespace": "shop"}, "spec": {}});
        assert_eq!(exemptions.exempts(&plain, None, None), None);
        assert_eq!(
            exemptions.exempts(&plain, None, Some("system:serviceaccount:ci:deployer")),
            Some(Exempt::Username("system:serviceaccount:ci:deployer".into()))
        );
        assert_eq!(
            exemptions.exempts(&plain, Some("kube-public"), None),
            Some(Exempt::Namespace("kube-public".into()))
        );
    }

    #[test]
    fn the_judging_part_round_trips_through_json() {
        let judging = Judging {
            exceptions: vec![exception(Some("2027-03-31"))],
            exemptions: Exemptions {
                namespaces: vec!["kube-system".into()],
                ..Exemptions::default()
            },
            allow_annotation_exemptions: true,
        };
        let text = serde_json::to_string(&judging).unwrap_or_default();
        let back: Judging = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, judging);
    }
}
