//! Where the pod is in each kind of workload.

/// The path, from the resource, of the pod template that a workload of kind
/// `kind` holds: empty for a Pod itself, `None` for kinds that hold no pod.
pub fn pod_template_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&[]),
        "PodTemplate" => Some(&["template"]),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController" => Some(&["spec", "template"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}

/// The kinds that hold a pod, as `match pods` selects them.
pub const POD_KINDS: &[&str] = &[
    "Pod",
    "PodTemplate",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
];

/// The three lists of containers a pod spec holds, in the order `pod.containers` visits them.
pub const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];
