//! A JSON reader with positions: the fast path for JSON input (and JSON
//! lines: one document per top-level value). The YAML parser reads JSON too,
//! but several times slower; text that is not strict JSON goes to it instead.

use super::members::Members;
use super::positions::{Position, PositionTree, Slot};
use super::{Document, LoadLimits};
use crate::json::{Json, Key, KeyFilter, Number, Object, Text, name_hash};
use crate::limits::ReadJsonError;

/// Why the JSON reader gave up.
#[derive(Debug)]
pub(super) struct JsonFailure {
    /// Where.
    pub position: Position,
    /// What.
    pub message: String,
    /// Whether the text may still be YAML (a syntax error), as opposed to a
    /// limit or a duplicate key, which YAML would hit as well.
    pub may_be_yaml: bool,
    /// Whether a limit of [`LoadLimits`] was exceeded.
    pub is_limit: bool,
}

/// Boxed: a result is returned at every node, and with a boxed failure it
/// is a word (or the size of what it holds) instead of some 40 bytes.
type Failure = Box<JsonFailure>;

/// Reads every top-level JSON value of `text` as a document: the documents
/// read, and the failure that stopped the reading, if any.
pub(super) fn load(text: &str, limits: &LoadLimits) -> (Vec<Document>, Option<JsonFailure>) {
    let mut reader = Reader::new(text, limits);
    let mut documents = Vec::new();
    loop {
        reader.skip_whitespace();
        if reader.offset >= reader.bytes.len() {
            break;
        }
        let position = reader.position();
        if let Err(failure) = reader.value(0, position) {
            return (documents, Some(*failure));
        }
        // The one value that `value` pushed: the stacks are empty between
        // documents.
        let value = reader.values.pop().unwrap_or_default();
        // A copy at the exact size; the reader's slots keep their capacity
        // for the next document instead of growing from nothing again.
        let slots = reader.slots.clone();
        reader.slots.clear();
        documents.push(Document {
            index: documents.len(),
            value,
            positions: PositionTree::from_slots(slots),
            keys: Some(std::mem::take(&mut reader.key_filter)),
        });
    }
    (documents, None)
}

/// Reads the one JSON value of `text` (whitespace around it allowed), for
/// [`crate::limits::read_json_manifest`]: the same reader and limits as
/// [`load`], without keeping positions.
pub(super) fn read_one(text: &str, limits: &LoadLimits) -> Result<Json, ReadJsonError> {
    let mut reader = Reader::new(text, limits);
    reader.keep_positions = false;
    reader.skip_whitespace();
    if reader.offset >= reader.bytes.len() {
        return Err(ReadJsonError::Empty);
    }
    let position = reader.position();
    if let Err(failure) = reader.value(0, position) {
        let JsonFailure {
            position,
            message,
            is_limit,
            ..
        } = *failure;
        return Err(if is_limit {
            ReadJsonError::Limit { position, message }
        } else {
            ReadJsonError::Invalid { position, message }
        });
    }
    reader.skip_whitespace();
    if reader.offset < reader.bytes.len() {
        return Err(ReadJsonError::TrailingValue {
            position: reader.position(),
        });
    }
    Ok(reader.values.pop().unwrap_or_default())
}

struct Reader<'t> {
    bytes: &'t [u8],
    text: &'t str,
    offset: usize,
    line: u32,
    line_start: usize,
    /// The last (byte offset, column) computed on the current line: columns
    /// count characters, and positions are asked for in increasing order,
    /// so counting from here keeps the whole read linear.
    column_cursor: (usize, u32),
    slots: Vec<Slot>,
    /// Whether `slots` are kept (not when only the value is wanted).
    keep_positions: bool,
    nodes: usize,
    limits: &'t LoadLimits,
    /// The values read and not yet placed in their object or array,
    /// innermost last. A value is pushed here rather than returned, which
    /// spares copies of it on the way up; an object's map and an array's
    /// vector are built at their final size from their run at the end (no
    /// growing member by member), and the stack's memory is reused by the
    /// next ones.
    values: Vec<Json>,
    /// The keys of the objects' members on `values`, in the same order.
    keys: Vec<Key>,
    /// Every key of the document being read.
    key_filter: KeyFilter,
}

impl<'t> Reader<'t> {
    fn new(text: &'t str, limits: &'t LoadLimits) -> Self {
        let mut reader = Reader {
            bytes: text.as_bytes(),
            text,
            offset: 0,
            line: 1,
            line_start: 0,
            column_cursor: (0, 1),
            slots: Vec::new(),
            keep_positions: true,
            nodes: 0,
            limits,
            values: Vec::new(),
            keys: Vec::new(),
            key_filter: KeyFilter::default(),
        };
        if text.starts_with('\u{FEFF}') {
            reader.offset = 3;
            reader.line_start = 3;
            reader.column_cursor = (3, 1);
        }
        reader
    }

    fn position(&mut self) -> Position {
        let (cursor_offset, cursor_column) = self.column_cursor;
        let column = if cursor_offset <= self.offset {
            let between = self
                .text
                .get(cursor_offset..self.offset)
                .unwrap_or_default();
            let count = if between.is_ascii() {
                between.len()
            } else {
                between.chars().count()
            };
            cursor_column + count as u32
        } else {
            1
        };
        self.column_cursor = (self.offset, column);
        Position {
            line: self.line,
            column,
        }
    }

    fn failure(&mut self, message: impl Into<String>, may_be_yaml: bool) -> Failure {
        Box::new(JsonFailure {
            position: self.position(),
            message: message.into(),
            may_be_yaml,
            is_limit: false,
        })
    }

    fn skip_whitespace(&mut self) {
        while let Some(&byte) = self.bytes.get(self.offset) {
            match byte {
                b' ' | b'\t' | b'\r' => self.offset += 1,
                b'\n' => {
                    self.offset += 1;
                    self.line += 1;
                    self.line_start = self.offset;
                    self.column_cursor = (self.offset, 1);
                }
                _ => break,
            }
        }
    }

    /// Reads a value inside `depth` containers, pushed on `values`, whose
    /// slot is located at `located_at` (its key, for an object member).
    fn value(&mut self, depth: usize, located_at: Position) -> Result<(), Failure> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            let message = format!(
                "the file has more than {} nodes, the limit",
                self.limits.max_nodes
            );
            return Err(self.limit_failure(message));
        }
        let slot = self.slots.len();
        if self.keep_positions {
            self.slots.push(Slot::leaf(located_at));
        }
        match self.bytes.get(self.offset) {
            Some(b'{') => self.object(depth + 1)?,
            Some(b'[') => self.array(depth + 1)?,
            Some(b'"') => {
                let text = match self.plain_string() {
                    Some(text) => Text::new(text),
                    None => Text::from(self.escaped_string()?),
                };
                self.values.push(Json::String(text));
            }
            Some(b't') => self.keyword("true", Json::Bool(true))?,
            Some(b'f') => self.keyword("false", Json::Bool(false))?,
            Some(b'n') => self.keyword("null", Json::Null)?,
            Some(b'-' | b'0'..=b'9') => {
                let number = self.number()?;
                self.values.push(Json::Number(number));
            }
            _ => return Err(self.failure("expected a JSON value", true)),
        }
        let length = (self.slots.len() - slot) as u32;
        if let Some(entry) = self.slots.get_mut(slot) {
            entry.subtree_len = length;
        }
        Ok(())
    }

    /// Refuses a container that would be the `depth`th nested one, past the
    /// limit (as the YAML builder counts: the root container is level 1).
    fn check_depth(&mut self, depth: usize) -> Result<(), Failure> {
        if depth > self.limits.max_depth {
            let message = format!(
                "nesting deeper than {} levels, the limit",
                self.limits.max_depth
            );
            return Err(self.limit_failure(message));
        }
        Ok(())
    }

    fn limit_failure(&mut self, message: String) -> Failure {
        let mut failure = self.failure(message, false);
        failure.is_limit = true;
        failure
    }

    /// Reads an object, the `depth`th nested container.
    fn object(&mut self, depth: usize) -> Result<(), Failure> {
        self.check_depth(depth)?;
        self.offset += 1;
        self.skip_whitespace();
        if self.bytes.get(self.offset) == Some(&b'}') {
            self.offset += 1;
            self.values.push(Json::Object(Object::new()));
            return Ok(());
        }
        let first_value = self.values.len();
        let mut members = Members::open(&self.keys);
        loop {
            self.skip_whitespace();
            if self.bytes.get(self.offset) != Some(&b'"') {
                return Err(self.failure("expected a string key", true));
            }
            let key_position = self.position();
            let key = self.key()?;
            self.skip_whitespace();
            if self.bytes.get(self.offset) != Some(&b':') {
                return Err(self.failure("expected `:` after a key", true));
            }
            self.offset += 1;
            self.skip_whitespace();
            self.value(depth, key_position)?;
            if let Err(key) = members.add(&mut self.keys, key) {
                return Err(Box::new(JsonFailure {
                    position: key_position,
                    message: format!("duplicate key `{key}`"),
                    may_be_yaml: false,
                    is_limit: false,
                }));
            }
            self.skip_whitespace();
            match self.bytes.get(self.offset) {
                Some(b',') => self.offset += 1,
                Some(b'}') => {
                    self.offset += 1;
                    let map = members.close(&mut self.keys, &mut self.values, first_value);
                    self.values.push(Json::Object(map));
                    return Ok(());
                }
                _ => return Err(self.failure("expected `,` or `}`", true)),
            }
        }
    }

    /// Reads an array, the `depth`th nested container.
    fn array(&mut self, depth: usize) -> Result<(), Failure> {
        self.check_depth(depth)?;
        self.offset += 1;
        self.skip_whitespace();
        if self.bytes.get(self.offset) == Some(&b']') {
            self.offset += 1;
            self.values.push(Json::Array(Vec::new()));
            return Ok(());
        }
        let first_item = self.values.len();
        loop {
            self.skip_whitespace();
            let position = self.position();
            self.value(depth, position)?;
            self.skip_whitespace();
            match self.bytes.get(self.offset) {
                Some(b',') => self.offset += 1,
                Some(b']') => {
                    self.offset += 1;
                    let items = self.values.drain(first_item..).collect();
                    self.values.push(Json::Array(items));
                    return Ok(());
                }
                _ => return Err(self.failure("expected `,` or `]`", true)),
            }
        }
    }

    fn keyword(&mut self, word: &str, value: Json) -> Result<(), Failure> {
        if self.bytes.get(self.offset..self.offset + word.len()) == Some(word.as_bytes()) {
            self.offset += word.len();
            self.values.push(value);
            Ok(())
        } else {
            Err(self.failure("expected a JSON value", true))
        }
    }

    fn number(&mut self) -> Result<Number, Failure> {
        let start = self.offset;
        let mut is_float = false;
        while let Some(&byte) = self.bytes.get(self.offset) {
            match byte {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => is_float = true,
                _ => break,
            }
            self.offset += 1;
        }
        let literal = self.text.get(start..self.offset).unwrap_or_default();
        if !is_float {
            if let Ok(integer) = literal.parse::<i64>() {
                return Ok(Number::from(integer));
            }
            if let Ok(integer) = literal.parse::<u64>() {
                return Ok(Number::from(integer));
            }
        }
        // Integers beyond 64 bits become floats, as in the YAML reader.
        match literal.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(number) => Ok(number),
            None => Err(self.failure(format!("`{literal}` is not a number"), true)),
        }
    }

    /// A member name, entered in the document's key filter on the way. A
    /// name without escapes is hashed once for both the filter and the
    /// known-name table, and a known one is not copied (see [`Key`]).
    fn key(&mut self) -> Result<Key, Failure> {
        if let Some(text) = self.plain_string() {
            let hash = name_hash(text.as_bytes());
            self.key_filter.insert_hashed(hash);
            return Ok(Key::hashed(text, hash));
        }
        let text = self.escaped_string()?;
        self.key_filter.insert(&text);
        Ok(Key::from(text))
    }

    /// The common case of a string, for keys and values alike: no escapes
    /// before its closing quote on the same line, so that it is one slice of
    /// the text, read past. `None`, and nothing read, otherwise.
    #[inline]
    fn plain_string(&mut self) -> Option<&'t str> {
        let start = self.offset + 1;
        let length = self
            .bytes
            .get(start..)?
            .iter()
            .position(|&byte| matches!(byte, b'"' | b'\\' | b'\n'))?;
        if self.bytes.get(start + length) != Some(&b'"') {
            return None;
        }
        self.offset = start + length + 1;
        self.text.get(start..start + length)
    }

    /// A string that [`Reader::plain_string`] did not take (escapes, a line
    /// break or no end): the general path, which reports the errors. Both
    /// callers try the plain path first, so the text is not scanned twice.
    fn escaped_string(&mut self) -> Result<String, Failure> {
        self.offset += 1;
        let mut text = String::new();
        loop {
            match self.bytes.get(self.offset) {
                None => return Err(self.failure("unterminated string", true)),
                Some(b'"') => {
                    self.offset += 1;
                    return Ok(text);
                }
                Some(b'\\') => {
                    self.offset += 1;
                    let escaped = match self.bytes.get(self.offset) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let character = self.unicode_escape()?;
                            text.push(character);
                            continue;
                        }
                        _ => return Err(self.failure("invalid escape in a string", true)),
                    };
                    self.offset += 1;
                    text.push(escaped);
                }
                Some(b'\n') => return Err(self.failure("a string cannot span lines", true)),
                Some(_) => {
                    let rest = self.text.get(self.offset..).unwrap_or_default();
                    let run = rest.find(['"', '\\', '\n']).unwrap_or(rest.len());
                    text.push_str(rest.get(..run).unwrap_or_default());
                    self.offset += run;
                }
            }
        }
    }

    /// Reads `uXXXX` (after the backslash), with a following low surrogate
    /// when the first is a high one.
    fn unicode_escape(&mut self) -> Result<char, Failure> {
        let first = self.hex_quad()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if self.bytes.get(self.offset..self.offset + 2) != Some(b"\\u") {
                return Err(self.failure("unpaired surrogate in a string", true));
            }
            self.offset += 1;
            let second = self.hex_quad()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.failure("unpaired surrogate in a string", true));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.failure("invalid unicode escape", true))
    }

    /// Reads `uXXXX` starting at the `u`.
    fn hex_quad(&mut self) -> Result<u32, Failure> {
        let digits = self
            .text
            .get(self.offset + 1..self.offset + 5)
            .unwrap_or_default();
        match u32::from_str_radix(digits, 16) {
            Ok(code) if digits.len() == 4 => {
                self.offset += 5;
                Ok(code)
            }
            _ => Err(self.failure("invalid unicode escape", true)),
        }
    }
}
