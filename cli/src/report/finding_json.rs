//! One finding as an item of the JSON report's `findings` array, written
//! directly: byte for byte what `serde_json`'s pretty printer writes for it
//! at that depth (tests hold the two together), in about half the time.
//! A report of 20,000 manifests has some 14,000 findings, and writing them
//! through the derived `Serialize` was a tenth of a run of 2,000: every
//! key was escaped again, and every line's indentation written a level at
//! a time. The keys and indentations here are literals; strings go through
//! `serde_json`'s own escaping; fixes and explanations, which hold
//! arbitrary JSON, through its pretty printer.

use super::ReportFinding;

/// The indentation of a finding's members: the finding is an item of an
/// array that is a member of the report, three levels of two spaces deep.
const MEMBER: &[u8] = b"\n      ";

/// Appends `finding` to `out` as an item of the `findings` array, from its
/// `{` to its `}` (the caller writes what goes between items).
pub fn write_finding(out: &mut Vec<u8>, finding: &ReportFinding) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\n      \"policy\": ");
    string(out, &finding.policy)?;
    out.extend_from_slice(b",\n      \"action\": \"");
    out.extend_from_slice(finding.action.as_str().as_bytes());
    out.extend_from_slice(b"\",\n      \"severity\": \"");
    out.extend_from_slice(finding.severity.as_str().as_bytes());
    out.extend_from_slice(b"\",\n      \"message\": ");
    string(out, &finding.message)?;
    out.extend_from_slice(b",\n      \"controls\": ");
    if finding.controls.is_empty() {
        out.extend_from_slice(b"[]");
    } else {
        out.push(b'[');
        for (position, control) in finding.controls.iter().enumerate() {
            if position > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"\n        ");
            string(out, control)?;
        }
        out.extend_from_slice(b"\n      ]");
    }
    let resource = &finding.resource;
    out.extend_from_slice(b",\n      \"resource\": {\n        \"apiVersion\": ");
    string(out, &resource.api_version)?;
    out.extend_from_slice(b",\n        \"kind\": ");
    string(out, &resource.kind)?;
    if let Some(namespace) = &resource.namespace {
        out.extend_from_slice(b",\n        \"namespace\": ");
        string(out, namespace)?;
    }
    out.extend_from_slice(b",\n        \"name\": ");
    string(out, &resource.name)?;
    out.extend_from_slice(b"\n      },\n      \"file\": ");
    string(out, &finding.file)?;
    out.extend_from_slice(b",\n      \"document\": ");
    number(out, finding.document as u64);
    out.extend_from_slice(b",\n      \"line\": ");
    number(out, u64::from(finding.line));
    out.extend_from_slice(b",\n      \"column\": ");
    number(out, u64::from(finding.column));
    out.extend_from_slice(b",\n      \"path\": ");
    string(out, &finding.path)?;
    if !finding.fix.is_empty() {
        out.extend_from_slice(b",\n      \"fix\": ");
        nested(out, &finding.fix)?;
    }
    if !finding.explanation.is_empty() {
        out.extend_from_slice(b",\n      \"explanation\": ");
        nested(out, &finding.explanation)?;
    }
    out.extend_from_slice(b"\n    }");
    Ok(())
}

/// A JSON string, escaped as `serde_json` escapes it.
fn string(out: &mut Vec<u8>, text: &str) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, text)
}

fn number(out: &mut Vec<u8>, value: u64) {
    // At most 20 digits.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        if let Some(digit) = digits.get_mut(start) {
            *digit = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

/// A member's value of any shape, pretty-printed and moved to the member's
/// depth (JSON strings hold no raw line breaks, so every one in the text is
/// between two tokens).
fn nested(out: &mut Vec<u8>, value: &impl serde::Serialize) -> serde_json::Result<()> {
    let text = serde_json::to_vec_pretty(value)?;
    for (number, line) in text.split(|byte| *byte == b'\n').enumerate() {
        if number > 0 {
            out.extend_from_slice(MEMBER);
        }
        out.extend_from_slice(line);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::format_tests;
    use super::*;
    use crate::report::ResourceIdentity;
    use std::sync::Arc;

    /// The finding as `serde_json` writes it inside the report.
    fn through_serde(finding: &ReportFinding) -> String {
        let text = serde_json::to_string_pretty(finding).unwrap();
        text.replace('\n', "\n    ")
    }

    fn written(finding: &ReportFinding) -> String {
        let mut out = Vec::new();
        write_finding(&mut out, finding).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn findings_are_written_as_serde_json_writes_them() {
        let mut findings = format_tests::report().findings;
        let mut odd = findings[0].clone();
        odd.explanation = vec![
            (
                "c.securityContext".to_owned(),
                rampart_engine::json!({"a": [1, {"b": null}], "c": "d\"e"}),
            ),
            ("n".to_owned(), rampart_engine::json!(0.5)),
        ];
        odd.message =
            "tab\there, quote \" backslash \\ control \u{1} unicode é 🛡 line\nend".to_owned();
        odd.controls = Arc::from(vec!["\u{7f}".to_owned()]);
        odd.resource = Arc::new(ResourceIdentity {
            api_version: String::new(),
            kind: "K\"".to_owned(),
            namespace: Some("ns/\u{2028}".to_owned()),
            name: "</script>".to_owned(),
        });
        odd.document = usize::MAX;
        odd.line = u32::MAX;
        odd.column = 0;
        findings.push(odd);
        for finding in &findings {
            assert_eq!(written(finding), through_serde(finding));
        }
    }

    #[test]
    fn numbers_are_decimal() {
        for value in [0, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut out = Vec::new();
            number(&mut out, value);
            assert_eq!(String::from_utf8(out).unwrap(), value.to_string());
        }
    }
}
