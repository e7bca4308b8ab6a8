//! Resolution of YAML scalars to JSON values, as Kubernetes reads them.
//!
//! What a cluster is given is what `kubectl` (and every client built on the
//! Kubernetes API machinery) makes of a manifest: its YAML reader,
//! `sigs.k8s.io/yaml`, is a fork of go-yaml v2, which resolves plain
//! scalars by YAML 1.1's rules, not the YAML 1.2 core schema. Reading them
//! any other way lets a manifest pass a check and mean something else in the
//! cluster: `hostNetwork: yes` is `true` there (kubernetes/kubernetes#34146),
//! `runAsUser: 00` is root. So plain scalars resolve as go-yaml v2's
//! `resolve` does, dispatching on the first byte as it does:
//!
//! - Null: empty, `~`, `null`, `Null`, `NULL`.
//! - Booleans, these spellings only (`yEs` and `oN` are strings, as in
//!   go-yaml's table): `true`, `True`, `TRUE`, `y`, `Y`, `yes`, `Yes`,
//!   `YES`, `on`, `On`, `ON` are `true`; `false`, `False`, `FALSE`, `n`,
//!   `N`, `no`, `No`, `NO`, `off`, `Off`, `OFF` are `false`.
//! - Integers, for a scalar starting with a digit or a sign: every `_`
//!   removed, then read as Go's `strconv.ParseInt(text, 0, 64)` reads, or
//!   failing that `strconv.ParseUint(text, 0, 64)`: an optional sign,
//!   `0x`/`0X` hexadecimal, `0o`/`0O` octal, `0b`/`0B` binary, a leading `0`
//!   octal (`0755` is 493, `00` and `0x0` are 0), else decimal (`+1`,
//!   `1_000`).
//! - Floats: what is not an integer and matches
//!   `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` once the `_` are
//!   removed (`1.5`, `1e3`, `-.5`; also `08` and `09`, broken octal that
//!   go-yaml reads as the floats 8 and 9, and decimal integers beyond 64
//!   bits); for a scalar starting with `.`, that pattern without removing
//!   `_`. A float that overflows (`1e999`) stays a string with its text.
//! - `.inf`, `+.inf`, `-.inf`, `.nan` in their three spellings (`.Inf`,
//!   `.INF`) are floats to go-yaml, and stay strings with their original
//!   text here, since JSON has no such numbers.
//! - Everything else is a string. Timestamps (`2001-12-14`) are strings
//!   too, as go-yaml gives them to a reader that asks for no type.
//! - Quoted and block (`|`, `>`) scalars are always strings.
//! - Tags: `!!str`, `!!null`, `!!bool`, `!!int` and `!!float` force the type
//!   (a scalar that does not fit the tag is an error); the non-specific `!`
//!   tag makes a string; other tags (`!!binary`, `!!timestamp`, custom local
//!   tags such as `!Secret`) are ignored and the scalar resolves by its style.
//!
//! Mapping keys: go-yaml resolves a plain key like any plain scalar, and
//! `sigs.k8s.io/yaml` writes the result back as a JSON member name, so a
//! plain key is named by the text of its value ([`resolve_key`]): `yes`,
//! `on` and `y` are the key `"true"`, `off` and `n` `"false"`, `0x1F` and
//! `0o37` `"31"`, a float is written as Go's `FormatFloat(value, 'g', -1,
//! 32)` writes it (`1.50` is `"1.5"`, `1e6` is `"1e+06"`), the special floats
//! are `".inf"`, `"-.inf"`, `".nan"`. A key that is null (`~`, empty) or an
//! integer beyond the signed 64-bit range is an error: that reader refuses
//! it. Quoted and tagged keys are their text.
//!
//! Not mirrored: when it decodes into a typed field, the Kubernetes reader
//! also turns a boolean or number back into a string for a field of type
//! string (`name: yes` is the name `"true"`); the engine has no schema and
//! keeps the boolean.

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
            // An integer form reads as that integer's float (`0x10` is 16).
            let float = match resolve_integer(&text).as_ref().and_then(Json::as_f64) {
                Some(integer) => Number::from_f64(integer),
                None if is_float(&text) => text.parse::<f64>().ok().and_then(Number::from_f64),
                None => None,
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
    // Cheap dispatch on the first byte, as the Kubernetes reader does: most
    // scalars in manifests are names and images that cannot be anything but
    // strings.
    match first {
        b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'y' | b'Y' | b'o' | b'O' => {
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

/// Null and boolean keywords, YAML 1.1's as the Kubernetes reader has
/// them: these spellings exactly, no others (`yEs` is a string).
fn resolve_plain_keyword(text: &str) -> Option<Json> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Some(Json::Null),
        "true" | "True" | "TRUE" | "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            Some(Json::Bool(true))
        }
        "false" | "False" | "FALSE" | "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            Some(Json::Bool(false))
        }
        _ => None,
    }
}

/// Integers, floats and the special floats (kept as strings), for a scalar
/// starting with a digit, a sign or a dot.
fn resolve_number(text: &str) -> Option<Json> {
    if let Some(special) = special_float(text) {
        return Some(special);
    }
    if text.starts_with('.') {
        // The Kubernetes reader parses these as a float as they are,
        // underscores and all.
        return is_float(text).then(|| float(text, text));
    }
    // Underscores are dropped first, wherever they are (`1_000`, `0x_1F`).
    let digits: Cow<'_, str> = if text.contains('_') {
        Cow::Owned(text.replace('_', ""))
    } else {
        Cow::Borrowed(text)
    };
    if let Some(integer) = go_integer(&digits) {
        return Some(integer);
    }
    // What is not an integer may be a decimal float: `1.5`, `1e3`, and
    // also `08`, a broken octal number that reads as the float 8.
    is_float(&digits).then(|| float(&digits, text))
}

/// The float `digits` spell, or `original` as a string when it overflows
/// (`1e999`): JSON has no infinity.
fn float(digits: &str, original: &str) -> Json {
    match digits.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(number) => Json::Number(number),
        None => string(original),
    }
}

/// An integer as Go's `strconv.ParseInt(text, 0, 64)` reads it, or failing
/// that `strconv.ParseUint(text, 0, 64)`: an optional sign (not for the
/// unsigned form), then `0x`/`0X` hexadecimal, `0o`/`0O` or a leading `0`
/// octal, `0b`/`0B` binary, or decimal digits; `None` for anything else or
/// out of 64-bit range.
fn go_integer(text: &str) -> Option<Json> {
    let (sign, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (Some(true), text.get(1..)?),
        Some(b'+') => (Some(false), text.get(1..)?),
        _ => (None, text),
    };
    let magnitude = go_unsigned(unsigned)?;
    match sign {
        Some(true) => {
            // Down to -2^63.
            let negative = 0i128 - i128::from(magnitude);
            i64::try_from(negative).ok().map(Json::from)
        }
        Some(false) => i64::try_from(magnitude).ok().map(Json::from),
        // Beyond the signed range, the unsigned reading.
        None => Some(
            i64::try_from(magnitude)
                .map(Json::from)
                .unwrap_or_else(|_| Json::from(magnitude)),
        ),
    }
}

/// The digits of an unsigned integer with Go's base prefixes (see
/// [`go_integer`]).
fn go_unsigned(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let (digits, radix) = match bytes {
        [] => return None,
        [b'0', prefix, _, ..] if prefix.eq_ignore_ascii_case(&b'x') => (text.get(2..)?, 16),
        [b'0', prefix, _, ..] if prefix.eq_ignore_ascii_case(&b'o') => (text.get(2..)?, 8),
        [b'0', prefix, _, ..] if prefix.eq_ignore_ascii_case(&b'b') => (text.get(2..)?, 2),
        // A leading zero is octal (`0755`); `0` alone is zero.
        [b'0', ..] => (text.get(1..)?, 8),
        _ => (text, 10),
    };
    if !digits.bytes().all(|byte| (byte as char).is_digit(radix)) {
        return None;
    }
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`: the core schema's
/// integers, which a `!!int` tag accepts (with Go's forms: see
/// [`go_integer`]).
fn resolve_integer(text: &str) -> Option<Json> {
    let digits = text.replace('_', "");
    go_integer(&digits).or_else(|| {
        // Decimal integers beyond 64 bits: the nearest float is the best
        // JSON can hold.
        is_decimal_integer(&digits)
            .then(|| digits.parse::<f64>().ok().and_then(Number::from_f64))
            .flatten()
            .map(Json::Number)
    })
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

/// The member name a plain, untagged mapping key stands for: `None` when it
/// is its own text (nearly always), else the text the Kubernetes reader
/// makes of the value it resolves to (`yes` and `on` are `"true"`, `0x1F`
/// is `"31"`, `1.50` is `"1.5"`), or an error for a key it refuses (null,
/// an integer beyond the signed 64-bit range).
pub(super) fn resolve_key(text: &str) -> Result<Option<String>, String> {
    let Some(&first) = text.as_bytes().first() else {
        return Err(unsupported_key(text, "null"));
    };
    // The same first-byte dispatch as for values; only a key that resolves
    // to something else than its text costs more than this match.
    let value = match first {
        b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'y' | b'Y' | b'o' | b'O' => {
            resolve_plain_keyword(text)
        }
        b'0'..=b'9' | b'+' | b'-' | b'.' => {
            if let Some(special) = special_float_key(text) {
                return Ok(Some(special.to_owned()));
            }
            resolve_number(text)
        }
        _ => None,
    };
    match value {
        Some(value) => key_of_value(&value, text),
        None => Ok(None),
    }
}

/// The member name a scalar value makes as a mapping key (an alias used
/// as a key, a plain key resolved): `None` for a string, which is its own
/// name; `text` names the key in errors.
pub(super) fn key_of_value(value: &Json, text: &str) -> Result<Option<String>, String> {
    match value {
        Json::String(_) | Json::Array(_) | Json::Object(_) => Ok(None),
        Json::Null => Err(unsupported_key(text, "null")),
        Json::Bool(flag) => Ok(Some(flag.to_string())),
        Json::Number(number) => {
            if let Some(integer) = number.as_i64() {
                Ok(Some(integer.to_string()))
            } else if number.is_u64() {
                Err(unsupported_key(text, "an integer beyond 64-bit signed"))
            } else {
                Ok(Some(go_float32_key(number.as_f64().unwrap_or(f64::NAN))))
            }
        }
    }
}

fn unsupported_key(text: &str, what: &str) -> String {
    format!(
        "the mapping key `{text}` is {what}, which Kubernetes does not take as a key (quote it to make it a string)"
    )
}

/// A key that is a special float, as the Kubernetes reader names it.
fn special_float_key(text: &str) -> Option<&'static str> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Some(".inf"),
        "-.inf" | "-.Inf" | "-.INF" => Some("-.inf"),
        ".nan" | ".NaN" | ".NAN" => Some(".nan"),
        _ => None,
    }
}

/// A float key as the Kubernetes reader writes it: Go's
/// `strconv.FormatFloat(value, 'g', -1, 32)`, the shortest digits that
/// read back as the same single-precision float, in exponent form when the
/// exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`), plain
/// otherwise (`100000`, `0.0001`).
fn go_float32_key(value: f64) -> String {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the reader narrows to single precision on purpose"
    )]
    let single = value as f32;
    if single.is_nan() {
        return ".nan".to_owned();
    }
    if single.is_infinite() {
        return if single > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let sign = if single.is_sign_negative() { "-" } else { "" };
    if single == 0.0 {
        return format!("{sign}0");
    }
    // Rust's exponent form has the shortest round-trip digits: `1.5e-5`.
    let scientific = format!("{:e}", single.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..6).contains(&exponent) {
        let (head, tail) = digits.split_at(1.min(digits.len()));
        let fraction = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{sign}{head}{fraction}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        );
    }
    // Plain: the point goes `exponent + 1` digits in.
    let point = exponent + 1;
    if point <= 0 {
        let zeros = "0".repeat(point.unsigned_abs() as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = point as usize;
    if digits.len() <= point {
        let zeros = "0".repeat(point - digits.len());
        return format!("{sign}{digits}{zeros}");
    }
    let (whole, fraction) = digits.split_at(point);
    format!("{sign}{whole}.{fraction}")
}
