//! "Did you mean ...?" suggestions for misspelled field and kind names.

/// The candidate nearest to `input`, for "did you mean `privileged`?".
///
/// Distance is the optimal-string-alignment variant of Damerau-Levenshtein
/// (insertions, deletions, substitutions and adjacent transpositions each
/// cost 1), compared case-insensitively. A candidate is only suggested when
/// its distance is at most `max(1, characters in input / 3)`, so unrelated
/// names are not offered. Ties go to the earliest candidate.
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input: Vec<char> = input.chars().flat_map(char::to_lowercase).collect();
    let limit = (input.len() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let lowered: Vec<char> = candidate.chars().flat_map(char::to_lowercase).collect();
        // The length difference is a lower bound of the distance.
        if lowered.len().abs_diff(input.len()) > limit {
            continue;
        }
        let distance = edit_distance(&input, &lowered);
        if distance <= limit && best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance, keeping three rows of the table.
fn edit_distance(left: &[char], right: &[char]) -> usize {
    let mut before_previous: Vec<usize> = vec![0; right.len() + 1];
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    let mut current: Vec<usize> = vec![0; right.len() + 1];
    for (i, &left_char) in left.iter().enumerate() {
        current[0] = i + 1;
        for (j, &right_char) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_char != right_char);
            let mut distance = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
            let transposed =
                i > 0 && j > 0 && left_char == right[j - 1] && left[i - 1] == right_char;
            if transposed {
                distance = distance.min(before_previous[j - 1] + 1);
            }
            current[j + 1] = distance;
        }
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[right.len()]
}
