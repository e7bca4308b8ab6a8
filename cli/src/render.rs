//! Code frames: the lines around a location, the location underlined.

/// ANSI styles, or nothing when colour is off.
#[derive(Clone, Copy)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Styles that colour only when `enabled`.
    pub fn new(enabled: bool) -> Style {
        Style { enabled }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Red, bold.
    pub fn error(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    /// Yellow, bold.
    pub fn warning(self, text: &str) -> String {
        self.paint("1;33", text)
    }

    /// Blue.
    pub fn gutter(self, text: &str) -> String {
        self.paint("34", text)
    }

    /// Bold.
    pub fn strong(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Dim.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// Cyan.
    pub fn help(self, text: &str) -> String {
        self.paint("36", text)
    }
}

/// The frame around `line`:`column` (1-based) of `text`: two lines before,
/// the line itself marked, and a caret line under `width` characters.
pub fn code_frame(
    lines: &[&str],
    line: usize,
    column: usize,
    width: usize,
    style: Style,
    indent: &str,
) -> String {
    if line == 0 || line > lines.len() {
        return String::new();
    }
    let first = line.saturating_sub(2).max(1);
    let number_width = line.to_string().len();
    let mut frame = String::new();
    for number in first..=line {
        let content = lines.get(number - 1).copied().unwrap_or_default();
        let marker = if number == line { ">" } else { " " };
        frame.push_str(&format!(
            "{indent}{} {}\n",
            style.gutter(&format!("{marker} {number:>number_width$} |")),
            content.trim_end()
        ));
    }
    let content = lines.get(line - 1).copied().unwrap_or_default();
    let prefix: String = content
        .chars()
        .take(column.saturating_sub(1))
        .map(|character| if character == '\t' { '\t' } else { ' ' })
        .collect();
    let available = content
        .chars()
        .count()
        .saturating_sub(column.saturating_sub(1))
        .max(1);
    let carets = "^".repeat(width.clamp(1, available));
    frame.push_str(&format!(
        "{indent}{} {prefix}{}\n",
        style.gutter(&format!("  {:>number_width$} |", "")),
        style.error(&carets)
    ));
    frame
}

/// How many characters the token at `column` of `line` spans: a YAML key up
/// to its colon, or a scalar up to the end of the line.
pub fn token_width(lines: &[&str], line: usize, column: usize) -> usize {
    let Some(content) = lines.get(line.saturating_sub(1)) else {
        return 1;
    };
    let rest: String = content.chars().skip(column.saturating_sub(1)).collect();
    let rest = rest.trim_end();
    let token = match rest.find(": ") {
        Some(position) => &rest[..position],
        None => rest.strip_suffix(':').unwrap_or(rest),
    };
    token.chars().count().max(1)
}
