//! Resolution of YAML scalars to JSON values under the YAML 1.2 core schema.
//!
//! - Quoted and block (`|`, `>`) scalars are always strings.
//! - Plain scalars: `null`/`Null`/`NULL`/`~`/empty are null;
//!   `true`/`True`/`TRUE`/`false`/`False`/`FALSE` are booleans; decimal,
//!   `0x` hexadecimal and `0o` octal integers are numbers (an integer too
//!   large for 64 bits becomes a float); decimal floats are numbers; anything
//!   else is a string.
//! - `.inf`, `-.inf` and `.nan` (and floats that overflow to infinity) stay
//!   strings with their original text, since JSON has no such numbers.
//! - Tags: `!!str`, `!!null`, `!!bool`, `!!int` and `!!float` force the type
//!   (a scalar that does not fit the tag is an error); the non-specific `!`
//!   tag makes a string; other tags (`!!binary`, `!!timestamp`, custom local
//!   tags such as `!Secret`) are ignored and the scalar resolves by its style.
//!
//! YAML 1.1 forms (`yes`/`no`/`on`/`off`, `0777` octal, `1_000`) are strings
//! or decimal numbers here, as the YAML 1.2 core schema says.

use std::borrow::Cow;

use crate::json::{Json, Number};
use saphyr_parser::{ScalarStyle, Tag};

/// Converts one scalar event to a value; the error is a user-facing message.
pub(super) fn resolve(
    text: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Json, String> {
    if let Some(tag) = tag {
        if tag.is_yaml_core_schema() {
            return resolve_core_tag(text, style, &tag.suffix);
        }
        // `! text`: the non-specific tag, which forces a string.
        if tag.handle.is_empty() && tag.suffix == "!" {
            return Ok(string(&text));
        }
    }
    if style == ScalarStyle::Plain {
        Ok(resolve_plain(text))
    } else {
        Ok(string(&text))
    }
}

/// Applies a `!!suffix` tag of the core schema.
fn resolve_core_tag(text: Cow<'_, str>, style: ScalarStyle, suffix: &str) -> Result<Json, String> {
    let mismatch = |text: &str| format!("`{text}` is not a valid `!!{suffix}`");
    match suffix {
        "str" => Ok(string(&text)),
        "null" => match resolve_plain_keyword(&text) {
            Some(Json::Null) => Ok(Json::Null),
            _ => Err(mismatch(&text)),
        },
        "bool" => match resolve_plain_keyword(&text) {
            Some(boolean @ Json::Bool(_)) => Ok(boolean),
            _ => Err(mismatch(&text)),
        },
        "int" => resolve_integer(&text).ok_or_else(|| mismatch(&text)),
        "float" => {
            if let Some(special) = special_float(&text) {
                return Ok(special);
            }
            let float = if is_decimal_integer(&text) || is_float(&text) {
                text.parse::<f64>().ok().and_then(Number::from_f64)
            } else {
                None
            };
            float.map(Json::Number).ok_or_else(|| mismatch(&text))
        }
        _ if style == ScalarStyle::Plain => Ok(resolve_plain(text)),
        _ => Ok(string(&text)),
    }
}

/// Resolves an untagged plain scalar.
pub(super) fn resolve_plain(text: Cow<'_, str>) -> Json {
    let Some(&first) = text.as_bytes().first() else {
        return Json::Null;
    };
    // Cheap dispatch on the first byte: most scalars in manifests are names
    // and images that cannot be anything but strings.
    match first {
        b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' => {
            if let Some(value) = resolve_plain_keyword(&text) {
                return value;
            }
        }
        b'0'..=b'9' | b'+' | b'-' | b'.' => {
            if let Some(value) = resolve_number(&text) {
                return value;
            }
        }
        _ => {}
    }
    string(&text)
}

/// Null and boolean keywords of the core schema.
fn resolve_plain_keyword(text: &str) -> Option<Json> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Some(Json::Null),
        "true" | "True" | "TRUE" => Some(Json::Bool(true)),
        "false" | "False" | "FALSE" => Some(Json::Bool(false)),
        _ => None,
    }
}

/// Integers, floats and the special floats (kept as strings).
fn resolve_number(text: &str) -> Option<Json> {
    if let Some(integer) = resolve_integer(text) {
        return Some(integer);
    }
    if let Some(special) = special_float(text) {
        return Some(special);
    }
    if is_float(text) {
        // A float that overflows (`1e999`) has no JSON form: keep the text.
        return Some(match text.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(number) => Json::Number(number),
            None => string(text),
        });
    }
    None
}

/// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`.
fn resolve_integer(text: &str) -> Option<Json> {
    if let Some(digits) = text.strip_prefix("0x") {
        return radix_integer(digits, 16);
    }
    if let Some(digits) = text.strip_prefix("0o") {
        return radix_integer(digits, 8);
    }
    if !is_decimal_integer(text) {
        return None;
    }
    if let Ok(signed) = text.parse::<i64>() {
        return Some(Json::from(signed));
    }
    if let Ok(unsigned) = text.parse::<u64>() {
        return Some(Json::from(unsigned));
    }
    // Beyond 64 bits: the nearest float is the best JSON can hold.
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Json::Number)
}

/// Parses the digits after `0x` or `0o`.
fn radix_integer(digits: &str, radix: u32) -> Option<Json> {
    // `from_str_radix` accepts a sign, which YAML does not allow here.
    if digits.is_empty() || !digits.bytes().all(|byte| (byte as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok().map(Json::from)
}

/// `[-+]?[0-9]+`.
fn is_decimal_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, checked by hand
/// because Rust's float parser also accepts `inf`, `NaN` and `infinity`.
fn is_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut index = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let count_digits = |from: usize| {
        bytes.get(from..).map_or(0, |rest| {
            rest.iter().take_while(|byte| byte.is_ascii_digit()).count()
        })
    };
    let integer_digits = count_digits(index);
    index += integer_digits;
    let mut fraction_digits = 0;
    if bytes.get(index) == Some(&b'.') {
        index += 1;
        fraction_digits = count_digits(index);
        index += fraction_digits;
    }
    if integer_digits == 0 && fraction_digits == 0 {
        return false;
    }
    if matches!(bytes.get(index), Some(b'e' | b'E')) {
        index += 1;
        if matches!(bytes.get(index), Some(b'-' | b'+')) {
            index += 1;
        }
        let exponent_digits = count_digits(index);
        if exponent_digits == 0 {
            return false;
        }
        index += exponent_digits;
    }
    index == bytes.len()
}

/// `.inf`, `+.inf`, `-.inf`, `.nan` in their three spellings, kept as
/// strings because JSON cannot represent them.
fn special_float(text: &str) -> Option<Json> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let is_infinity = matches!(unsigned, ".inf" | ".Inf" | ".INF");
    let is_nan = matches!(text, ".nan" | ".NaN" | ".NAN");
    (is_infinity || is_nan).then(|| string(text))
}

/// A string scalar: copied, so that a short one is held in place (the
/// parser's own buffer is larger than most scalars need).
fn string(text: &str) -> Json {
    Json::String(crate::json::Text::new(text))
}
