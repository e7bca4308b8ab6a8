//! Unified diffs (`diff -u` style, three lines of context) for `--dry-run`.

/// One line of an edit script.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change<'text> {
    Same(&'text str),
    Removed(&'text str),
    Added(&'text str),
}

const CONTEXT: usize = 3;

/// The unified diff from `old` to `new`, labelled `a/NAME` and `b/NAME`;
/// empty when they are equal.
pub fn unified(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let changes = script(&old_lines, &new_lines);
    let mut output = format!("--- a/{name}\n+++ b/{name}\n");
    // Group changes into hunks: runs of changes with at most 2 * CONTEXT
    // unchanged lines between them.
    let changed: Vec<usize> = (0..changes.len())
        .filter(|&index| !matches!(changes.get(index), Some(Change::Same(_))))
        .collect();
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &index in &changed {
        let start = index.saturating_sub(CONTEXT);
        let end = (index + CONTEXT + 1).min(changes.len());
        match hunks.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => hunks.push((start, end)),
        }
    }
    for (start, end) in hunks {
        let old_before = changes
            .iter()
            .take(start)
            .filter(|change| !matches!(change, Change::Added(_)))
            .count();
        let new_before = changes
            .iter()
            .take(start)
            .filter(|change| !matches!(change, Change::Removed(_)))
            .count();
        let hunk = changes.get(start..end).unwrap_or_default();
        let old_count = hunk
            .iter()
            .filter(|change| !matches!(change, Change::Added(_)))
            .count();
        let new_count = hunk
            .iter()
            .filter(|change| !matches!(change, Change::Removed(_)))
            .count();
        let from = |before: usize, count: usize| if count == 0 { before } else { before + 1 };
        output.push_str(&format!(
            "@@ -{},{old_count} +{},{new_count} @@\n",
            from(old_before, old_count),
            from(new_before, new_count)
        ));
        for change in hunk {
            let (sign, line) = match change {
                Change::Same(line) => (' ', line),
                Change::Removed(line) => ('-', line),
                Change::Added(line) => ('+', line),
            };
            output.push(sign);
            output.push_str(line);
            output.push('\n');
        }
    }
    output
}

/// A shortest edit script by longest common subsequence, on the part
/// between the common prefix and suffix (fixes are local: that part is small).
fn script<'text>(old: &[&'text str], new: &[&'text str]) -> Vec<Change<'text>> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(old.len().min(new.len()) - prefix)
        .take_while(|(a, b)| a == b)
        .count();
    let old_middle = old.get(prefix..old.len() - suffix).unwrap_or_default();
    let new_middle = new.get(prefix..new.len() - suffix).unwrap_or_default();
    let mut changes: Vec<Change<'text>> = old
        .iter()
        .take(prefix)
        .map(|line| Change::Same(line))
        .collect();
    let width = new_middle.len() + 1;
    // lengths[i * width + j]: the LCS length of old_middle[i..] and new_middle[j..].
    let mut lengths = vec![0u32; (old_middle.len() + 1) * width];
    for i in (0..old_middle.len()).rev() {
        for j in (0..new_middle.len()).rev() {
            let value = if old_middle.get(i) == new_middle.get(j) {
                lengths.get((i + 1) * width + j + 1).copied().unwrap_or(0) + 1
            } else {
                let down = lengths.get((i + 1) * width + j).copied().unwrap_or(0);
                let right = lengths.get(i * width + j + 1).copied().unwrap_or(0);
                down.max(right)
            };
            if let Some(slot) = lengths.get_mut(i * width + j) {
                *slot = value;
            }
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < old_middle.len() || j < new_middle.len() {
        let at = |i: usize, j: usize| lengths.get(i * width + j).copied().unwrap_or(0);
        match (old_middle.get(i), new_middle.get(j)) {
            (Some(a), Some(b)) if a == b => {
                changes.push(Change::Same(a));
                i += 1;
                j += 1;
            }
            (Some(a), Some(_)) if at(i + 1, j) >= at(i, j + 1) => {
                changes.push(Change::Removed(a));
                i += 1;
            }
            (Some(a), None) => {
                changes.push(Change::Removed(a));
                i += 1;
            }
            (_, Some(b)) => {
                changes.push(Change::Added(b));
                j += 1;
            }
            (None, None) => break,
        }
    }
    changes.extend(
        old.iter()
            .skip(old.len() - suffix)
            .map(|line| Change::Same(line)),
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn one_changed_line_has_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\ni\n";
        assert_eq!(
            unified("x.yaml", old, new),
            "--- a/x.yaml\n+++ b/x.yaml\n@@ -2,7 +2,8 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n+i\n"
        );
        assert_eq!(unified("x.yaml", old, old), "");
    }
}
