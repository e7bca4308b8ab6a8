//! The size limits of an admission answer and of an audit record, and the
//! summaries that keep them: a denied Pod with 1,000 containers has
//! thousands of findings, and listing them all made answers of megabytes
//! that the API server, the user's terminal and the audit log all pay for.
//! Past a limit, findings are counted instead of listed ("… and 993 more
//! findings"). Every admission host (the webhook, the Kubewarden guest)
//! answers within these same limits.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Deny findings listed in a denial's message; the rest are counted.
pub const MAX_LISTED_DENIALS: usize = 20;

/// Deny findings of one policy listed before other policies get a second
/// place: a thousand containers failing the first policy must not hide that
/// others deny too.
const LISTED_PER_POLICY: usize = 3;

/// Characters of one finding's message kept in an answer or an audit record.
pub const MAX_MESSAGE_CHARS: usize = 512;

/// Warnings in one answer, the summary line included.
pub const MAX_WARNINGS: usize = 64;

/// Characters of one warning: the API server may truncate longer ones.
pub const MAX_WARNING_CHARS: usize = 256;

/// Characters of all the warnings of one answer: the API server ignores
/// warnings past 4,096 characters in all.
pub const MAX_WARNINGS_TOTAL_CHARS: usize = 4096;

/// Findings listed in one audit record (policies that could not finish are
/// listed as well, one per policy at most); the rest are counted.
pub const MAX_AUDIT_FINDINGS: usize = 100;

/// Characters of the audit annotation's value: it is stored with every
/// audit event of the request.
pub const MAX_AUDIT_ANNOTATION_CHARS: usize = 2048;

/// Bytes of a mutation's JSON patch (before base64); the fixes past it are
/// left out and apply on a later change.
pub const MAX_PATCH_BYTES: usize = 256 * 1024;

/// `text` cut to `limit` characters, with `…` in place of the rest.
pub fn shorten(text: &str, limit: usize) -> Cow<'_, str> {
    match text.char_indices().nth(limit) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let kept = limit.saturating_sub(1);
            let end = text
                .char_indices()
                .nth(kept)
                .map_or(text.len(), |(index, _)| index);
            Cow::Owned(format!("{}…", &text[..end]))
        }
    }
}

/// `"{policy}: {message}"`, the message shortened.
pub fn entry(policy: &str, message: &str) -> String {
    format!("{policy}: {}", shorten(message, MAX_MESSAGE_CHARS))
}

/// A denial's message: [`MAX_LISTED_DENIALS`] deny findings and a count of
/// the others. Every denying policy gets a place first (up to the limit),
/// then up to [`LISTED_PER_POLICY`] each, then the rest in order; those
/// listed keep their order. `total` is how many `denials` yields; the second
/// value says whether any were left out.
pub fn denial_message<'a>(
    denials: impl Iterator<Item = (&'a str, &'a str)>,
    total: usize,
) -> (String, bool) {
    let all: Vec<(&str, &str)> = denials.collect();
    let mut chosen = spread(all.iter().map(|(policy, _)| *policy), MAX_LISTED_DENIALS);
    chosen.sort_unstable();
    let listed: Vec<String> = chosen
        .iter()
        .filter_map(|&index| all.get(index))
        .map(|(policy, message)| entry(policy, message))
        .collect();
    let mut message = format!("denied by rampart: {}", listed.join("; "));
    let omitted = total.saturating_sub(listed.len());
    if omitted > 0 {
        message.push_str(&format!("; … and {omitted} more findings"));
    }
    (message, omitted > 0)
}

/// The order in which findings are listed, as indexes into `policies` (the
/// policy of each finding, in finding order), `limit` of them at most: each
/// policy's first finding, then up to [`LISTED_PER_POLICY`] of each, then the
/// rest in order. A thousand containers failing one policy thus do not hide
/// that others fail too.
pub fn spread<'a>(policies: impl Iterator<Item = &'a str>, limit: usize) -> Vec<usize> {
    let policies: Vec<&str> = policies.collect();
    let mut taken = vec![false; policies.len()];
    let mut order = Vec::new();
    let mut per_policy: BTreeMap<&str, usize> = BTreeMap::new();
    for allowed in [1, LISTED_PER_POLICY, usize::MAX] {
        for (index, policy) in policies.iter().enumerate() {
            if order.len() == limit {
                return order;
            }
            let count = per_policy.entry(policy).or_insert(0);
            if *count < allowed && !taken[index] {
                *count += 1;
                taken[index] = true;
                order.push(index);
            }
        }
    }
    order
}

/// The warnings of an answer, within [`MAX_WARNINGS`] and
/// [`MAX_WARNINGS_TOTAL_CHARS`], each within [`MAX_WARNING_CHARS`]; the last
/// one counts those left out. `all` yields `total` warnings, and is only
/// read as far as they fit (so the others need not be formatted). The second
/// value says whether any were left out.
pub fn warnings(all: impl IntoIterator<Item = String>, total: usize) -> (Vec<String>, bool) {
    // Room kept for the summary line.
    const SUMMARY_CHARS: usize = 40;
    let mut kept = Vec::new();
    let mut characters = 0;
    for warning in all {
        let warning = shorten(&warning, MAX_WARNING_CHARS).into_owned();
        let length = warning.chars().count();
        let fits = kept.len() + 1 < MAX_WARNINGS
            && characters + length + SUMMARY_CHARS <= MAX_WARNINGS_TOTAL_CHARS;
        if !fits {
            break;
        }
        characters += length;
        kept.push(warning);
    }
    let omitted = total.saturating_sub(kept.len());
    if omitted > 0 {
        kept.push(format!("… and {omitted} more warnings"));
    }
    (kept, omitted > 0)
}

/// The audit annotation's value: `policy: message` entries joined by `; `
/// within [`MAX_AUDIT_ANNOTATION_CHARS`], every policy named first (the
/// order of [`spread`]), and a count of the entries left out. `entries`
/// is `(policy, message)`; `total` is how many findings there are in all
/// (`entries` may hold fewer). The second value says whether any were left
/// out.
pub fn audit_annotation(entries: &[(&str, &str)], total: usize) -> (String, bool) {
    // Room kept for the count of those left out.
    const SUMMARY_CHARS: usize = 40;
    let mut order = spread(entries.iter().map(|(policy, _)| *policy), entries.len());
    let mut value = String::new();
    let mut characters = 0;
    let mut listed = 0;
    let mut fitting = Vec::new();
    for index in order.drain(..) {
        let Some((policy, message)) = entries.get(index) else {
            continue;
        };
        let text = format!("{policy}: {}", shorten(message, MAX_WARNING_CHARS));
        let length = text.chars().count() + 2;
        if characters + length + SUMMARY_CHARS > MAX_AUDIT_ANNOTATION_CHARS {
            break;
        }
        characters += length;
        fitting.push((index, text));
    }
    // Listed in finding order, as the denial message lists them.
    fitting.sort_unstable_by_key(|(index, _)| *index);
    for (_, text) in fitting {
        if listed > 0 {
            value.push_str("; ");
        }
        value.push_str(&text);
        listed += 1;
    }
    let omitted = total.saturating_sub(listed);
    if omitted > 0 {
        value.push_str(&format!("; … and {omitted} more findings"));
    }
    (value, omitted > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortens_at_a_character_boundary() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("exactly", 7), "exactly");
        assert_eq!(shorten("éééééé", 4), "ééé…");
        assert_eq!(shorten("abcdef", 4).chars().count(), 4);
    }

    #[test]
    fn a_long_denial_lists_the_first_findings_and_counts_the_rest() {
        let messages: Vec<String> = (0..1000)
            .map(|index| format!("container c{index}"))
            .collect();
        let denials = messages
            .iter()
            .map(|message| ("pss.runAsNonRoot", message.as_str()));
        let (message, summarised) = denial_message(denials, messages.len());
        assert!(summarised);
        assert!(message.starts_with("denied by rampart: pss.runAsNonRoot: container c0; "));
        assert!(message.ends_with("; … and 980 more findings"), "{message}");
        let (message, summarised) = denial_message([("p", "m")].into_iter(), 1);
        assert_eq!(message, "denied by rampart: p: m");
        assert!(!summarised);
    }

    #[test]
    fn every_denying_policy_is_named_before_one_fills_the_list() {
        let mut denials: Vec<(String, String)> = (0..1000)
            .map(|index| ("first".to_owned(), format!("c{index}")))
            .collect();
        denials.push(("second".to_owned(), "only".to_owned()));
        denials.extend((0..5).map(|index| ("third".to_owned(), format!("t{index}"))));
        let (message, _) = denial_message(
            denials
                .iter()
                .map(|(policy, message)| (policy.as_str(), message.as_str())),
            denials.len(),
        );
        assert!(message.contains("second: only"), "{message}");
        assert_eq!(message.matches("third: ").count(), 3, "{message}");
        assert_eq!(message.matches("first: ").count(), 16, "{message}");
        assert!(message.starts_with("denied by rampart: first: c0; first: c1; "));
        assert!(message.ends_with("; … and 986 more findings"), "{message}");
    }

    #[test]
    fn warnings_stay_within_the_api_server_limits() {
        let (kept, summarised) = warnings(
            (0..1000).map(|index| format!("{index} {}", "w".repeat(300))),
            1000,
        );
        assert!(summarised);
        assert!(kept.len() <= MAX_WARNINGS);
        assert!(
            kept.iter()
                .all(|warning| warning.chars().count() <= MAX_WARNING_CHARS)
        );
        let total: usize = kept.iter().map(|warning| warning.chars().count()).sum();
        assert!(total <= MAX_WARNINGS_TOTAL_CHARS, "{total}");
        let last = kept.last().unwrap();
        let listed = kept.len() - 1;
        assert_eq!(last, &format!("… and {} more warnings", 1000 - listed));
        let (kept, summarised) = warnings(vec!["one".to_owned()], 1);
        assert_eq!(kept, ["one"]);
        assert!(!summarised);
    }

    #[test]
    fn the_audit_annotation_names_every_policy_within_its_limit() {
        let long = "x".repeat(400);
        let mut entries: Vec<(&str, &str)> = (0..500).map(|_| ("first", long.as_str())).collect();
        entries.push(("second", "short"));
        let (value, summarised) = audit_annotation(&entries, 1000);
        assert!(summarised);
        assert!(
            value.chars().count() <= MAX_AUDIT_ANNOTATION_CHARS,
            "{}",
            value.len()
        );
        assert!(value.contains("second: short"), "{value}");
        assert!(value.starts_with("first: x"), "{value}");
        let listed = value.matches("first: ").count() + 1;
        assert!(
            value.ends_with(&format!("; … and {} more findings", 1000 - listed)),
            "{value}"
        );
        let (value, summarised) = audit_annotation(&[("p", "m"), ("q", "n")], 2);
        assert_eq!(value, "p: m; q: n");
        assert!(!summarised);
    }
}
