//! JSON values written as YAML text: block style for new lines, flow style
//! inside flow collections, scalars quoted only when a plain scalar would
//! read back as something else.

use rampart_engine::json::Json as Value;

/// How an existing scalar was quoted, so that a replacement keeps the style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quoting {
    /// Plain (unquoted) where that reads back as the same string.
    Plain,
    /// `'single'`.
    Single,
    /// `"double"`.
    Double,
}

/// A scalar (or an empty or flow collection) on one line.
pub fn scalar(value: &Value, quoting: Quoting) -> String {
    match value {
        Value::String(text) => match quoting {
            Quoting::Single if !text.contains('\n') => format!("'{}'", text.replace('\'', "''")),
            Quoting::Double | Quoting::Single => json(value),
            Quoting::Plain if plain_is_safe(text) => text.to_string(),
            Quoting::Plain => json(value),
        },
        Value::Array(_) | Value::Object(_) => flow(value),
        Value::Null | Value::Bool(_) | Value::Number(_) => json(value),
    }
}

/// A value in flow style: `[a, b]`, `{key: value}`.
pub fn flow(value: &Value) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(members) => {
            let members: Vec<String> = members
                .iter()
                .map(|(key, value)| format!("{}: {}", key_text(key), flow(value)))
                .collect();
            format!("{{{}}}", members.join(", "))
        }
        // Inside a flow collection `,` `[` `]` `{` `}` end a plain scalar.
        Value::String(text) if !text.contains([',', '[', ']', '{', '}']) => {
            scalar(value, Quoting::Plain)
        }
        _ => json(value),
    }
}

/// `key: value` at `indent` spaces, as lines (each ending in `newline`).
pub fn member(key: &str, value: &Value, indent: usize, newline: &str) -> String {
    let padding = " ".repeat(indent);
    if has_block_children(value) {
        let children = children_text(value, indent + 2, newline);
        format!("{padding}{}:{newline}{children}", key_text(key))
    } else {
        format!(
            "{padding}{}: {}{newline}",
            key_text(key),
            scalar(value, Quoting::Plain)
        )
    }
}

/// `- value` at `indent` spaces, as lines (each ending in `newline`).
pub fn item(value: &Value, indent: usize, newline: &str) -> String {
    let padding = " ".repeat(indent);
    match value {
        Value::Object(members) if !members.is_empty() => {
            // The first member goes on the dash's line, the others under it.
            let body = block(value, indent + 2, newline);
            format!("{padding}- {}", body.trim_start_matches(' '))
        }
        _ => format!("{padding}- {}{newline}", scalar(value, Quoting::Plain)),
    }
}

/// The members of an object or the items of a list as block lines at `indent`;
/// a scalar or empty collection as one flow line.
pub fn block(value: &Value, indent: usize, newline: &str) -> String {
    if has_block_children(value) {
        children_text(value, indent, newline)
    } else {
        format!(
            "{}{}{newline}",
            " ".repeat(indent),
            scalar(value, Quoting::Plain)
        )
    }
}

/// Whether a value is written as block lines under its key (non-empty collections).
fn has_block_children(value: &Value) -> bool {
    match value {
        Value::Object(members) => !members.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

fn children_text(value: &Value, indent: usize, newline: &str) -> String {
    match value {
        Value::Object(members) => members
            .iter()
            .map(|(key, value)| member(key, value, indent, newline))
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|value| item(value, indent, newline))
            .collect(),
        _ => block(value, indent, newline),
    }
}

fn key_text(key: &str) -> String {
    if plain_is_safe(key) {
        key.to_owned()
    } else {
        json(&Value::from(key))
    }
}

fn json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Whether `text` written plain reads back as the same string: no YAML
/// indicator or special character, and not a word or number YAML would
/// read as a boolean, null or number.
fn plain_is_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let lowered = text.to_ascii_lowercase();
    let special_word = matches!(
        lowered.as_str(),
        "true"
            | "false"
            | "null"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | "~"
            | ".nan"
            | ".inf"
            | "-.inf"
    );
    let looks_numeric = first.is_ascii_digit()
        || ((first == '-' || first == '+' || first == '.') && text.len() > 1);
    let safe_characters = text.chars().all(|character| {
        character.is_ascii_alphanumeric()
            || matches!(character, '_' | '-' | '.' | '/' | '@' | ':' | ' ')
    });
    safe_characters
        && !special_word
        && !looks_numeric
        && !text.contains(": ")
        && !text.ends_with(':')
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && first != '-'
        && !text.contains(" #")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_engine::json;

    #[test]
    fn scalars_are_quoted_only_when_needed() {
        assert_eq!(scalar(&json!("ALL"), Quoting::Plain), "ALL");
        assert_eq!(scalar(&json!("true"), Quoting::Plain), "\"true\"");
        assert_eq!(scalar(&json!("1.25"), Quoting::Plain), "\"1.25\"");
        assert_eq!(scalar(&json!("a: b"), Quoting::Plain), "\"a: b\"");
        assert_eq!(scalar(&json!("it's"), Quoting::Single), "'it''s'");
        assert_eq!(scalar(&json!(false), Quoting::Double), "false");
    }

    #[test]
    fn blocks_nest_by_two_spaces() {
        let value =
            json!({"securityContext": {"capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true}});
        assert_eq!(
            block(&value, 4, "\n"),
            "    securityContext:\n      capabilities:\n        drop:\n          - ALL\n      runAsNonRoot: true\n"
        );
        assert_eq!(
            item(&json!({"name": "a", "value": "1"}), 2, "\n"),
            "  - name: a\n    value: \"1\"\n"
        );
        assert_eq!(flow(&json!({"a": [1, "x"]})), "{a: [1, x]}");
    }
}
