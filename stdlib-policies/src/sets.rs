//! The named sets of the standard library.

/// A named set: which policies it selects, by id pattern (`*` is a wildcard).
#[derive(Clone, Copy, Debug)]
pub struct PolicySetDefinition {
    /// The name given to `--set`.
    pub name: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Id patterns of the policies it includes.
    pub include: &'static [&'static str],
}

/// Every named set.
pub const SETS: &[PolicySetDefinition] = &[
    PolicySetDefinition {
        name: "pss-baseline",
        description: "Pod Security Standards, baseline level: blocks known privilege escalations",
        include: &["pss.baseline.*"],
    },
    PolicySetDefinition {
        name: "pss-restricted",
        description: "Pod Security Standards, restricted level (includes baseline): pod hardening best practice",
        include: &["pss.baseline.*", "pss.restricted.*"],
    },
    PolicySetDefinition {
        name: "nsa-cisa",
        description: "CISA/NSA Kubernetes Hardening Guidance controls that can be judged from manifests",
        include: &["nsa.*"],
    },
    PolicySetDefinition {
        name: "best-practices",
        description: "Operational best practices: probes, requests, image tags, namespaces",
        include: &["bp.*"],
    },
    PolicySetDefinition {
        name: "recommended",
        description: "What a team should turn on first: the default of `rampart check`",
        include: &["pss.baseline.*", "pss.restricted.*", "nsa.*", "bp.*"],
    },
    PolicySetDefinition {
        name: "all",
        description: "Every policy of the standard library",
        include: &["*"],
    },
];

/// The set with this name.
pub fn set(name: &str) -> Option<&'static PolicySetDefinition> {
    SETS.iter().find(|set| set.name == name)
}

/// The names of every set.
pub fn set_names() -> impl Iterator<Item = &'static str> {
    SETS.iter().map(|set| set.name)
}
