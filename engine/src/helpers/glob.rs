//! Shell-style globs: `*` matches any run of characters, `?` one character.

/// Whether `text` matches `pattern` in full.
pub fn matches(pattern: &str, text: &str) -> bool {
    matches_within(pattern, text, usize::MAX).is_some_and(|(matched, _)| matched)
}

/// Whether `text` matches `pattern` in full, in at most `max_work` moves,
/// with the moves made; `None` when that was not enough. Matching takes
/// about as many moves as `text` has characters, but up to their product
/// with `pattern`'s when a `*` must be stretched again and again
/// (`*a*a*a*b` against a long run of `a`): a caller with a budget bounds it
/// this way.
pub fn matches_within(pattern: &str, text: &str, max_work: usize) -> Option<(bool, usize)> {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut pattern_position, mut text_position) = (0usize, 0usize);
    // Where the last `*` was, and the text position it is currently stretched to:
    // on a mismatch we retry with the star eating one more character.
    let mut backtrack: Option<(usize, usize)> = None;
    let mut work = 0usize;
    while text_position < text.len() {
        work += 1;
        if work > max_work {
            return None;
        }
        match pattern.get(pattern_position) {
            Some('*') => {
                backtrack = Some((pattern_position, text_position));
                pattern_position += 1;
            }
            Some(&expected) if expected == '?' || Some(&expected) == text.get(text_position) => {
                pattern_position += 1;
                text_position += 1;
            }
            _ => match backtrack {
                Some((star, stretched)) => {
                    pattern_position = star + 1;
                    text_position = stretched + 1;
                    backtrack = Some((star, stretched + 1));
                }
                None => return Some((false, work)),
            },
        }
    }
    let matched = pattern
        .get(pattern_position..)
        .unwrap_or_default()
        .iter()
        .all(|&character| character == '*');
    Some((matched, work))
}
