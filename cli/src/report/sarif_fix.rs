//! SARIF `fixes` with exact text replacements: the finding's JSON patch is
//! applied to the file by the same text editor as `rampart fix`, and the
//! change is reduced to the one region that differs.

use crate::fix::{self, DocumentOperation};
use crate::report::ReportFinding;
use serde_json::{Value, json};

/// Files larger than this get no `fixes` (the patch stays in the property
/// bag): each fix re-reads the file, and the report must stay linear.
const LARGEST_FILE: usize = 1 << 20;

/// The SARIF `fix` object of a finding, when its patch applies to `text`.
pub fn fix_of(
    finding: &ReportFinding,
    text: &str,
    artifact_location: Value,
    description: String,
) -> Option<Value> {
    if finding.fix.is_empty() || text.len() > LARGEST_FILE {
        return None;
    }
    let operations: Vec<DocumentOperation> = finding
        .fix
        .iter()
        .map(|operation| DocumentOperation {
            document: finding.document,
            operation: operation.clone(),
            policy: finding.policy.to_string(),
        })
        .collect();
    let is_json = finding.file.ends_with(".json");
    let applied = fix::apply(text, is_json, &operations);
    if applied.changed == 0 || !applied.problems.is_empty() {
        return None;
    }
    let replacement = replacement(text, &applied.text)?;
    Some(json!({
        "description": { "text": description },
        "artifactChanges": [{
            "artifactLocation": artifact_location,
            "replacements": [replacement],
        }],
    }))
}

/// The one region of `old` that `new` replaces, as a SARIF replacement
/// (lines and columns from 1; columns count characters, the end is exclusive).
fn replacement(old: &str, new: &str) -> Option<Value> {
    let mut prefix = common_prefix(old, new);
    let mut suffix = common_suffix(old.get(prefix..)?, new.get(prefix..)?);
    // Widen the region to whole words, so that `true` → `false` reads as
    // that rather than `tru` → `fals`.
    while let Some(character) = old
        .get(..prefix)
        .and_then(|before| before.chars().next_back())
        && character.is_alphanumeric()
    {
        prefix -= character.len_utf8();
    }
    while suffix > 0
        && let Some(character) = old
            .get(old.len() - suffix..)
            .and_then(|after| after.chars().next())
        && character.is_alphanumeric()
    {
        suffix -= character.len_utf8();
    }
    let deleted_end = old.len() - suffix;
    let inserted = new.get(prefix..new.len() - suffix)?;
    let (start_line, start_column) = line_and_column(old, prefix);
    let (end_line, end_column) = line_and_column(old, deleted_end);
    Some(json!({
        "deletedRegion": {
            "startLine": start_line, "startColumn": start_column,
            "endLine": end_line, "endColumn": end_column,
        },
        "insertedContent": { "text": inserted },
    }))
}

/// Length in bytes of the common start, on a character boundary.
fn common_prefix(left: &str, right: &str) -> usize {
    left.char_indices()
        .zip(right.chars())
        .find(|((_, left), right)| left != right)
        .map_or(left.len().min(right.len()), |((offset, _), _)| offset)
}

/// Length in bytes of the common end, on a character boundary.
fn common_suffix(left: &str, right: &str) -> usize {
    let mut length = 0;
    for (left, right) in left.chars().rev().zip(right.chars().rev()) {
        if left != right {
            break;
        }
        length += left.len_utf8();
    }
    length
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |position| position + 1);
    let column = before
        .get(line_start..)
        .map_or(0, |part| part.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replacement_of(old: &str, new: &str) -> Value {
        replacement(old, new).unwrap()
    }

    #[test]
    fn a_replacement_covers_only_what_changed() {
        let old = "a: 1\nb: true\nc: 3\n";
        let new = "a: 1\nb: false\nc: 3\n";
        let replacement = replacement(old, new).unwrap();
        assert_eq!(
            replacement,
            json!({"deletedRegion": {"startLine": 2, "startColumn": 4, "endLine": 2, "endColumn": 8},
                   "insertedContent": {"text": "false"}})
        );
        let word = replacement_of("a: privileged\n", "a: unprivileged\n");
        assert_eq!(word["insertedContent"]["text"], "unprivileged");
    }

    #[test]
    fn an_insertion_deletes_nothing() {
        let replacement = replacement("a:\n  b: 1\n", "a:\n  b: 1\n  c: 2\n").unwrap();
        assert_eq!(
            replacement["deletedRegion"]["startLine"],
            replacement["deletedRegion"]["endLine"]
        );
        assert_eq!(
            replacement["deletedRegion"]["startColumn"],
            replacement["deletedRegion"]["endColumn"]
        );
        assert_eq!(replacement["insertedContent"]["text"], "  c: 2\n");
    }
}
