//! A small JSON-to-YAML writer, for the example manifests: block style, two
//! spaces of indentation, strings plain where Rampart's own loader reads
//! them back as the same string and double-quoted (JSON escapes, which YAML
//! reads too) everywhere else.

use rampart_engine::json::Json;
use rampart_engine::load::{LoadLimits, load_str};

/// Writes `value` as one YAML document (no `---`), ending with a newline.
pub fn to_yaml(value: &Json) -> String {
    let mut text = String::new();
    if is_collection(value) {
        write_block(&mut text, value, 0);
    } else {
        text.push_str(&scalar(value));
        text.push('\n');
    }
    text
}

/// A non-empty mapping or sequence, written on lines of its own.
fn is_collection(value: &Json) -> bool {
    match value {
        Json::Object(members) => !members.is_empty(),
        Json::Array(items) => !items.is_empty(),
        _ => false,
    }
}

/// Writes a non-empty collection, each line indented by `indent` spaces.
fn write_block(text: &mut String, value: &Json, indent: usize) {
    let padding = " ".repeat(indent);
    match value {
        Json::Object(members) => {
            for (key, member) in members {
                text.push_str(&padding);
                text.push_str(&string(key));
                text.push(':');
                if is_collection(member) {
                    text.push('\n');
                    write_block(text, member, indent + 2);
                } else {
                    text.push(' ');
                    text.push_str(&scalar(member));
                    text.push('\n');
                }
            }
        }
        Json::Array(items) => {
            for item in items {
                if is_collection(item) {
                    // The item's first line goes after the dash: write it
                    // indented under the dash, then put the dash in place of
                    // the first line's indentation.
                    let mut nested = String::new();
                    write_block(&mut nested, item, indent + 2);
                    text.push_str(&padding);
                    text.push_str("- ");
                    text.push_str(nested.get(indent + 2..).unwrap_or_default());
                } else {
                    text.push_str(&padding);
                    text.push_str("- ");
                    text.push_str(&scalar(item));
                    text.push('\n');
                }
            }
        }
        _ => {}
    }
}

/// A scalar, or an empty collection in flow style.
fn scalar(value: &Json) -> String {
    match value {
        Json::String(text) => string(text),
        Json::Object(_) => "{}".to_owned(),
        Json::Array(_) => "[]".to_owned(),
        other => other.to_string(),
    }
}

/// A string, plain when that reads back as the same string.
fn string(text: &str) -> String {
    if plain_is_safe(text) {
        text.to_owned()
    } else {
        Json::from(text).to_string()
    }
}

/// Whether `text` can be written unquoted: only characters that cannot start
/// or end YAML syntax, and Rampart's loader reads it back as this string
/// (so `true`, `1.5`, `0x10` and `null` stay quoted, and so do the forms
/// the loader reads as Kubernetes does: `yes`, `on`, `y`, `0755`, `1_000`).
fn plain_is_safe(text: &str) -> bool {
    let starts_well = text
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric() || first == '/' || first == '_');
    let characters_allowed = text
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || "_./@+-=:,".contains(character));
    if !starts_well || !characters_allowed || text.ends_with(':') {
        return false;
    }
    let outcome = load_str(text, &LoadLimits::default());
    outcome.errors.is_empty()
        && outcome.documents.len() == 1
        && outcome
            .documents
            .first()
            .is_some_and(|document| document.value.as_str() == Some(text))
}
