//! Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`) as numbers.

/// Parses a quantity into its value in base units (`"500m"` → 0.5,
/// `"1Ki"` → 1024). `None` when the text is not a quantity.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let (sign, rest) = match text.as_bytes().first()? {
        b'-' => (-1.0, &text[1..]),
        b'+' => (1.0, &text[1..]),
        _ => (1.0, text),
    };
    let number_end = rest
        .find(|character: char| !(character.is_ascii_digit() || character == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    let multiplier = suffix_multiplier(suffix)?;
    let mantissa = parse_decimal(number)?;
    Some(sign * mantissa * multiplier)
}

/// Parses `123.45` exactly enough that `0.1` and `100m` compare equal: the
/// digits are read as an integer and divided once by a power of ten.
fn parse_decimal(number: &str) -> Option<f64> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{whole}{fraction}");
    let integer: f64 = digits.parse().ok()?;
    Some(integer / 10f64.powi(i32::try_from(fraction.len()).ok()?))
}

fn suffix_multiplier(suffix: &str) -> Option<f64> {
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent if exponent.starts_with(['e', 'E']) => {
            let power: i32 = exponent[1..].parse().ok()?;
            10f64.powi(power)
        }
        _ => return None,
    };
    Some(multiplier)
}
