//! Combines the fixes of several findings into one JSON patch for a mutating
//! admission response.
//!
//! Each finding's fix is a valid patch against the object as it is, but two
//! fixes may touch the same place: both may create a missing
//! `securityContext` object, and applied one after the other the second `add`
//! would replace what the first one wrote. A fix is therefore taken whole or
//! not at all: it is skipped when any of its paths equals, contains or lies
//! inside a path of a fix already taken. The skipped fix applies on the
//! object's next change, when the parent it wanted to create exists.

use base64::Engine;
use rampart_core::admission::AdmissionFinding;
use rampart_engine::PatchOperation;

/// The combined patch and the policies whose fixes were left out.
#[derive(Debug, Default)]
pub struct Combined {
    /// Operations in finding order.
    pub operations: Vec<PatchOperation>,
    /// Ids of the policies whose fix conflicted with an earlier one.
    pub skipped: Vec<String>,
    /// How many findings' fixes were left out because the patch reached its
    /// size limit.
    pub over_limit: usize,
}

/// Takes each finding's fix unless it conflicts with one already taken, or
/// would make the patch's JSON longer than `limit_bytes`.
pub fn combine<'a, F: AdmissionFinding + 'a>(
    findings: impl IntoIterator<Item = &'a F>,
    limit_bytes: usize,
) -> Combined {
    let mut combined = Combined::default();
    // The JSON's length so far: `[`, `]` and the separating commas included.
    let mut length = 2;
    for finding in findings {
        if combined.over_limit > 0 {
            // Once one fix did not fit, later ones are not taken either, so
            // that what is left out is one tail of the findings.
            combined.over_limit += 1;
            continue;
        }
        // The same fix reported twice (two rules of one policy) is taken once.
        let duplicate = finding
            .fix()
            .iter()
            .all(|operation| combined.operations.contains(operation));
        if duplicate {
            continue;
        }
        let conflicts = finding.fix().iter().any(|operation| {
            combined
                .operations
                .iter()
                .any(|taken| overlaps(&taken.path, &operation.path))
        });
        if conflicts {
            combined.skipped.push(finding.policy().to_owned());
            continue;
        }
        let added: usize = finding
            .fix()
            .iter()
            .map(|operation| serde_json::to_vec(operation).map_or(0, |json| json.len()) + 1)
            .sum();
        if length + added > limit_bytes {
            combined.over_limit += 1;
        } else {
            length += added;
            combined.operations.extend(finding.fix().iter().cloned());
        }
    }
    combined
}

/// Whether one pointer equals the other or lies inside it. An append
/// (`.../-`) touches the list it appends to, so it is compared as that list.
fn overlaps(first: &str, second: &str) -> bool {
    let first = first.strip_suffix("/-").unwrap_or(first);
    let second = second.strip_suffix("/-").unwrap_or(second);
    contains(first, second) || contains(second, first)
}

fn contains(outer: &str, inner: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The patch as the base64 of its JSON, as `AdmissionResponse.patch` wants it.
pub fn encode(operations: &[PatchOperation]) -> String {
    let json = serde_json::to_vec(operations).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_engine::{Action, Finding, PatchKind, Severity};

    fn finding(policy: &str, paths: &[&str]) -> Finding {
        Finding {
            policy: policy.into(),
            rule: 0,
            action: Action::Deny,
            severity: Severity::High,
            message: String::new(),
            pointer: String::new(),
            fix: paths
                .iter()
                .map(|path| PatchOperation {
                    op: PatchKind::Add,
                    path: (*path).to_owned(),
                    value: Some(rampart_engine::json::Json::Bool(true)),
                })
                .collect(),
        }
    }

    #[test]
    fn disjoint_fixes_are_all_taken() {
        let findings = [
            finding("a", &["/spec/a"]),
            finding("b", &["/spec/b", "/spec/c"]),
        ];
        let combined = combine(&findings, usize::MAX);
        assert_eq!(combined.operations.len(), 3);
        assert!(combined.skipped.is_empty());
    }

    #[test]
    fn a_fix_inside_or_around_a_taken_path_is_skipped_whole() {
        let findings = [
            finding("parent", &["/spec/securityContext"]),
            finding("child", &["/spec/x", "/spec/securityContext/runAsNonRoot"]),
            finding("sibling", &["/spec/securityContextual"]),
            finding("around", &["/spec"]),
        ];
        let combined = combine(&findings, usize::MAX);
        let paths: Vec<&str> = combined
            .operations
            .iter()
            .map(|operation| operation.path.as_str())
            .collect();
        assert_eq!(paths, ["/spec/securityContext", "/spec/securityContextual"]);
        assert_eq!(combined.skipped, ["child", "around"]);
    }

    #[test]
    fn appends_to_one_list_conflict_but_duplicates_are_dropped_silently() {
        let findings = [
            finding("first", &["/spec/list/-"]),
            finding("second", &["/spec/list/-"]),
            finding("third", &["/spec/list/0"]),
        ];
        let combined = combine(&findings, usize::MAX);
        assert_eq!(combined.operations.len(), 1);
        assert_eq!(combined.skipped, ["third"]);
    }

    #[test]
    fn fixes_past_the_size_limit_are_counted_not_taken() {
        let findings: Vec<Finding> = (0..100)
            .map(|index| finding("many", &[&format!("/spec/containers/{index}/x")]))
            .collect();
        let combined = combine(&findings, 1024);
        let json = serde_json::to_vec(&combined.operations).unwrap();
        assert!(json.len() <= 1024, "{}", json.len());
        assert!(!combined.operations.is_empty());
        assert_eq!(combined.operations.len() + combined.over_limit, 100);
        assert!(combined.skipped.is_empty());
    }
}
