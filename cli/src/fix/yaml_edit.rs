//! Edits of YAML text that change one node and leave every other byte as it
//! was: comments, blank lines, quoting and key order survive a fix.
//!
//! The loader's position tree says where a member's key or an element
//! starts; the extent of a node is then read off the text by indentation
//! (block style) or by bracket matching (flow style).

use super::render::{self, Quoting};
use rampart_engine::json::Json as Value;
use rampart_engine::load::Position;

/// One replacement of a byte range of the text.
#[derive(Debug, PartialEq, Eq)]
pub struct Edit {
    /// First byte replaced.
    pub start: usize,
    /// One past the last byte replaced.
    pub end: usize,
    /// What replaces it.
    pub text: String,
}

/// The text of one file, split into lines.
pub struct Text<'text> {
    text: &'text str,
    /// Byte range of each line, without its line break.
    lines: Vec<(usize, usize)>,
    /// The file's line break, used for inserted lines.
    pub newline: &'static str,
}

/// Where a node is in the text.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    /// Where the node begins: a member's key, an element's dash (or the
    /// element itself in a flow list), a document's first character.
    pub head: usize,
    /// Where its value begins (after `key:` and blanks, or after `- `).
    pub value_start: usize,
    /// The end of its last line of content (before the line break).
    pub end: usize,
    /// The column (0-based, in characters) at which it starts, which its
    /// siblings share.
    pub column: usize,
}

impl<'text> Text<'text> {
    /// Splits `text` into lines.
    pub fn new(text: &'text str) -> Text<'text> {
        let mut lines = Vec::new();
        let mut start = 0;
        for (index, _) in text.match_indices('\n') {
            let end = if text
                .get(..index)
                .is_some_and(|before| before.ends_with('\r'))
            {
                index - 1
            } else {
                index
            };
            lines.push((start, end));
            start = index + 1;
        }
        if start < text.len() {
            lines.push((start, text.len()));
        }
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        Text {
            text,
            lines,
            newline,
        }
    }

    fn line(&self, index: usize) -> &'text str {
        self.lines
            .get(index)
            .and_then(|&(start, end)| self.text.get(start..end))
            .unwrap_or_default()
    }

    fn line_start(&self, index: usize) -> usize {
        self.lines.get(index).map_or(self.text.len(), |line| line.0)
    }

    fn line_end(&self, index: usize) -> usize {
        self.lines.get(index).map_or(self.text.len(), |line| line.1)
    }

    /// The line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.lines
            .partition_point(|&(start, _)| start <= offset)
            .saturating_sub(1)
    }

    /// The byte offset of a loader position.
    pub fn offset(&self, position: Position) -> Option<usize> {
        let line = usize::try_from(position.line).ok()?.checked_sub(1)?;
        let column = usize::try_from(position.column).ok()?.checked_sub(1)?;
        let text = self.line(line);
        let within = text
            .char_indices()
            .nth(column)
            .map_or(text.len(), |(offset, _)| offset);
        Some(self.line_start(line) + within)
    }

    /// The column, in characters, of byte `offset` on its line.
    pub fn column(&self, offset: usize) -> usize {
        let start = self.line_start(self.line_of(offset));
        self.text
            .get(start..offset)
            .map_or(0, |before| before.chars().count())
    }

    fn indent(&self, line: usize) -> usize {
        self.line(line)
            .chars()
            .take_while(|character| *character == ' ')
            .count()
    }

    fn is_blank_or_comment(&self, line: usize) -> bool {
        let trimmed = self.line(line).trim();
        trimmed.is_empty() || trimmed.starts_with('#')
    }

    /// The last line of content below `line` that belongs to a node at
    /// `column`: deeper lines, and (for a member holding a list written
    /// without indentation) `- ` lines at the same column.
    fn block_end(&self, line: usize, column: usize, dash_at_column: bool) -> usize {
        let mut last = line;
        for next in line + 1..self.lines.len() {
            let text = self.line(next);
            if text.starts_with("---") || text.starts_with("...") {
                break;
            }
            if self.is_blank_or_comment(next) {
                continue;
            }
            let indent = self.indent(next);
            let trimmed = text.trim_start();
            let dash = trimmed == "-" || trimmed.starts_with("- ");
            if indent > column || (dash_at_column && indent == column && dash) {
                last = next;
            } else {
                break;
            }
        }
        last
    }

    /// A member whose key starts at `head`.
    pub fn member(&self, head: usize) -> Option<Node> {
        let rest = self.text.get(head..self.line_end(self.line_of(head)))?;
        let colon = key_length(rest)?;
        let after = rest.get(colon + 1..)?;
        let value_start = head + colon + 1 + (after.len() - after.trim_start().len());
        let column = self.column(head);
        let line = self.line_of(head);
        let inline_empty = self.inline(value_start).0 == self.inline(value_start).1;
        let block_last = self.block_end(line, column, inline_empty);
        let end = self
            .flow_end(value_start)
            .unwrap_or(self.line_end(line))
            .max(self.line_end(block_last));
        Some(Node {
            head,
            value_start,
            end,
            column,
        })
    }

    /// An element whose value starts at `value_start`.
    pub fn element(&self, value_start: usize) -> Option<Node> {
        let line = self.line_of(value_start);
        let before = self.text.get(self.line_start(line)..value_start)?;
        let trimmed = before.trim_end();
        if !trimmed.ends_with('-') {
            // An element of a flow list: it ends where its text does.
            let (_, end) = self.inline_in_flow(value_start);
            return Some(Node {
                head: value_start,
                value_start,
                end,
                column: self.column(value_start),
            });
        }
        let head = self.line_start(line) + trimmed.len() - 1;
        let column = self.column(head);
        let block_last = self.block_end(line, column, false);
        let end = self
            .flow_end(value_start)
            .unwrap_or(self.line_end(line))
            .max(self.line_end(block_last));
        Some(Node {
            head,
            value_start,
            end,
            column,
        })
    }

    /// A whole document whose root starts at `head`.
    pub fn document(&self, head: usize) -> Node {
        let line = self.line_of(head);
        let mut last = line;
        for next in line + 1..self.lines.len() {
            let text = self.line(next);
            if text.starts_with("---") || text.starts_with("...") {
                break;
            }
            if !self.is_blank_or_comment(next) {
                last = next;
            }
        }
        Node {
            head,
            value_start: head,
            end: self.line_end(last),
            column: 0,
        }
    }

    /// The scalar (or one-line flow collection) starting at `start`, up to a
    /// comment or the end of its line: its byte range.
    pub fn inline(&self, start: usize) -> (usize, usize) {
        let end = self.line_end(self.line_of(start));
        let text = self.text.get(start..end).unwrap_or_default();
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        let mut stop = text.len();
        for (offset, character) in text.char_indices() {
            match quote {
                Some(open) if character == open => quote = None,
                Some(_) => {}
                None if (character == '"' || character == '\'') && offset == 0 => {
                    quote = Some(character)
                }
                None if character == '#' && previous.is_whitespace() => {
                    stop = offset;
                    break;
                }
                None => {}
            }
            previous = character;
        }
        let kept = text.get(..stop).unwrap_or_default().trim_end();
        (start, start + kept.len())
    }

    /// An element inside a flow list: up to the `,` or `]` that ends it.
    fn inline_in_flow(&self, start: usize) -> (usize, usize) {
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        let text = self.text.get(start..).unwrap_or_default();
        for (offset, character) in text.char_indices() {
            match (quote, character) {
                (Some(open), _) if character == open => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(character),
                (None, '[' | '{') => depth += 1,
                (None, ']' | '}' | ',') if depth == 0 => {
                    let kept = text.get(..offset).unwrap_or_default().trim_end();
                    return (start, start + kept.len());
                }
                (None, ']' | '}') => depth -= 1,
                _ => {}
            }
        }
        (start, self.text.len())
    }

    /// When a flow collection starts at `start`, the offset just past its
    /// closing bracket (it may span lines).
    pub fn flow_end(&self, start: usize) -> Option<usize> {
        let text = self.text.get(start..)?;
        if !text.starts_with(['[', '{']) {
            return None;
        }
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        for (offset, character) in text.char_indices() {
            match (quote, character) {
                (Some(open), _) if character == open => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(character),
                (None, '[' | '{') => depth += 1,
                (None, ']' | '}') => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(start + offset + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Whether the node at `head` sits inside a flow collection.
    pub fn in_flow(&self, head: usize) -> bool {
        let line_start = self.line_start(self.line_of(head));
        let before = self
            .text
            .get(line_start..head)
            .unwrap_or_default()
            .trim_end();
        before.ends_with(['{', '[', ','])
    }

    /// Whether `head` is the first thing on its line.
    fn starts_line(&self, head: usize) -> bool {
        let line_start = self.line_start(self.line_of(head));
        self.text
            .get(line_start..head)
            .is_some_and(|before| before.trim().is_empty())
    }

    /// The replacement of a value: the scalar alone when both old and new
    /// fit on one line (its comment and quoting kept), otherwise the whole node.
    pub fn replace(&self, node: Node, key: Option<&str>, value: &Value) -> Edit {
        let (start, end) = self.inline(node.value_start);
        let old = self.text.get(start..end).unwrap_or_default();
        let old_is_one_line = self.line_end(self.line_of(node.value_start)) >= node.end
            && !old.starts_with(['|', '>']);
        let new_is_one_line = !matches!(value, Value::Object(members) if !members.is_empty())
            && !matches!(value, Value::Array(items) if !items.is_empty());
        if old_is_one_line && (new_is_one_line || old.starts_with(['[', '{'])) && !old.is_empty() {
            let quoting = match old.chars().next() {
                Some('"') => Quoting::Double,
                Some('\'') => Quoting::Single,
                _ => Quoting::Plain,
            };
            let text = if old.starts_with(['[', '{']) {
                render::flow(value)
            } else {
                render::scalar(value, quoting)
            };
            return Edit { start, end, text };
        }
        if self.in_flow(node.head) {
            let (start, end) = self.inline_in_flow(node.value_start);
            return Edit {
                start,
                end: self.flow_end(start).unwrap_or(end),
                text: render::flow(value),
            };
        }
        let rendered = match key {
            Some(key) => render::member(key, value, node.column, self.newline),
            None => render::item(value, node.column, self.newline),
        };
        Edit {
            start: node.head,
            end: node.end,
            text: rendered
                .trim_start_matches(' ')
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
        }
    }

    /// Adds `key: value` to the non-empty object at `parent`, whose first member is `first`.
    pub fn add_member(&self, parent: Node, first: Node, key: &str, value: &Value) -> Edit {
        if self.in_flow(first.head) {
            return self.insert_in_flow(
                parent,
                &format!(
                    "{}: {}",
                    render::flow(&Value::from(key)),
                    render::flow(value)
                ),
            );
        }
        let rendered = render::member(key, value, first.column, self.newline);
        self.insert_after(parent, &rendered)
    }

    /// Appends `value` to the non-empty list at `parent`, whose first element is `first`.
    pub fn append_item(&self, parent: Node, first: Node, value: &Value) -> Edit {
        if self.in_flow(first.head) {
            return self.insert_in_flow(parent, &render::flow(value));
        }
        self.insert_after(parent, &render::item(value, first.column, self.newline))
    }

    /// Inserts `value` before the element `before` of a block list.
    pub fn insert_item(&self, before: Node, value: &Value) -> Option<Edit> {
        if self.in_flow(before.head) || !self.starts_line(before.head) {
            return None;
        }
        let start = self.line_start(self.line_of(before.head));
        let text = render::item(value, before.column, self.newline);
        Some(Edit {
            start,
            end: start,
            text,
        })
    }

    /// Replaces an empty flow collection (`{}`, `[]`) at `node` by one holding `inner`.
    pub fn fill_empty(&self, node: Node, inner: &str) -> Option<Edit> {
        let (start, end) = self.inline(node.value_start);
        let old = self.text.get(start..end)?;
        let open = old
            .chars()
            .next()
            .filter(|character| matches!(character, '{' | '['))?;
        let close = if open == '{' { '}' } else { ']' };
        Some(Edit {
            start,
            end,
            text: format!("{open}{inner}{close}"),
        })
    }

    /// Deletes the node (a block member or element). `None` inside a flow collection.
    pub fn remove(&self, node: Node) -> Option<Edit> {
        if self.in_flow(node.head) {
            return None;
        }
        let last_line = self.line_of(node.end);
        let next_line_start = self.line_start(last_line + 1);
        if self.starts_line(node.head) {
            return Some(Edit {
                start: self.line_start(self.line_of(node.head)),
                end: next_line_start,
                text: String::new(),
            });
        }
        // The first member of a list item (`- name: x`): the next line's
        // member moves up onto the dash's line.
        let next = self.line(last_line + 1);
        let skip = next.len() - next.trim_start().len();
        Some(Edit {
            start: node.head,
            end: next_line_start + skip,
            text: String::new(),
        })
    }

    fn insert_after(&self, parent: Node, rendered: &str) -> Edit {
        Edit {
            start: parent.end,
            end: parent.end,
            text: format!(
                "{}{}",
                self.newline,
                rendered.trim_end_matches(['\r', '\n'])
            ),
        }
    }

    fn insert_in_flow(&self, parent: Node, text: &str) -> Edit {
        let close = self
            .flow_end(parent.value_start)
            .map_or(parent.end, |end| end - 1);
        let before = self.text.get(..close).unwrap_or_default();
        let at = before.trim_end().len();
        Edit {
            start: at,
            end: at,
            text: format!(", {text}"),
        }
    }
}

/// The length of a mapping key at the start of `text`, up to its `:`.
fn key_length(text: &str) -> Option<usize> {
    if let Some(quote) = text
        .chars()
        .next()
        .filter(|character| *character == '"' || *character == '\'')
    {
        let closing = text.get(1..)?.find(quote)? + 1;
        let after = text.get(closing + 1..)?;
        return Some(closing + 1 + after.find(':')?);
    }
    let bytes = text.as_bytes();
    (0..bytes.len()).find(|&index| {
        bytes.get(index) == Some(&b':')
            && bytes
                .get(index + 1)
                .is_none_or(|next| *next == b' ' || *next == b'\t')
    })
}
