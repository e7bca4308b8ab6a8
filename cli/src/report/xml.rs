//! Escaping for XML 1.0 text and attribute values.

/// Escapes character data: markup characters, and `\r`, which a parser
/// would otherwise turn into `\n`.
pub fn escape_text(text: &str) -> String {
    escape(text, false)
}

/// Escapes an attribute value written between double quotes; line breaks
/// and tabs become character references because a parser turns raw ones
/// into spaces.
pub fn escape_attribute(text: &str) -> String {
    escape(text, true)
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            '\n' | '\t' => out.push(character),
            // XML 1.0 cannot hold these at all, not even as references.
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            _ => out.push(character),
        }
    }
    out
}
