//! Shell-style globs: `*` matches any run of characters, `?` one character.

/// Whether `text` matches `pattern` in full.
pub fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut pattern_position, mut text_position) = (0usize, 0usize);
    // Where the last `*` was, and the text position it is currently stretched to:
    // on a mismatch we retry with the star eating one more character.
    let mut backtrack: Option<(usize, usize)> = None;
    while text_position < text.len() {
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
                None => return false,
            },
        }
    }
    pattern[pattern_position..]
        .iter()
        .all(|&character| character == '*')
}
