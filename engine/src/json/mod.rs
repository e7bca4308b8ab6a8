//! The engine's JSON value: what manifests load into, what policies' literals
//! and parameters are, and what the evaluator reads.
//!
//! It is `serde_json::Value` in shape, with one difference that matters for
//! speed: an object is a vector of members in written order, with no hash
//! table. Manifests are millions of small objects; building a hash index for
//! each cost a third of loading, and a member lookup in a handful of members
//! is a scan either way. Large objects keep a sorted index (see
//! [`Object`]). It serializes and deserializes as plain JSON, and converts to
//! and from `serde_json::Value` at the edges (reports, protocols).

mod key;
mod key_filter;
mod known_names;
mod object;
mod serde_impl;

pub use key::Key;
pub(crate) use key::name_hash;
pub use key_filter::KeyFilter;

pub(crate) use object::same_text;
pub use object::{Iter, Object};
pub use serde_json::Number;

/// A string value: up to 24 bytes held in place, longer ones on the heap.
/// Most strings of a manifest are short (names, images' tags, enum values),
/// and one allocation fewer for each is a tenth of loading.
pub use compact_str::CompactString as Text;

use crate::finding::{pointer_index, unescape_pointer_token};
use std::borrow::Cow;

/// A [`Json`] value from JSON-like syntax, as `serde_json::json!` writes
/// it (interpolated expressions must be `Serialize`).
#[macro_export]
macro_rules! json {
    ($($body:tt)+) => {
        $crate::json::Json::from(::serde_json::json!($($body)+))
    };
}

/// A JSON value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Json {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(Text),
    /// An array.
    Array(Vec<Json>),
    /// An object.
    Object(Object),
}

/// What indexing a value with an absent key or position gives.
static NULL: Json = Json::Null;

impl Json {
    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// Whether the value is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// Whether the value is an array.
    pub fn is_array(&self) -> bool {
        matches!(self, Json::Array(_))
    }

    /// Whether the value is a string.
    pub fn is_string(&self) -> bool {
        matches!(self, Json::String(_))
    }

    /// Whether the value is a number.
    pub fn is_number(&self) -> bool {
        matches!(self, Json::Number(_))
    }

    /// The boolean inside, if the value is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    /// The string inside, if the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(number) => number.as_i64(),
            _ => None,
        }
    }

    /// The number as a `u64`, if it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(number) => number.as_u64(),
            _ => None,
        }
    }

    /// The number as an `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(number) => number.as_f64(),
            _ => None,
        }
    }

    /// The elements, if the value is an array.
    pub fn as_array(&self) -> Option<&Vec<Json>> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The elements to change, if the value is an array.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Json>> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The members, if the value is an object.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The members to change, if the value is an object.
    pub fn as_object_mut(&mut self) -> Option<&mut Object> {
        match self {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The member `key`, if the value is an object that has it.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object().and_then(|members| members.get(key))
    }

    /// The member `key` to change, if the value is an object that has it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        self.as_object_mut()
            .and_then(|members| members.get_mut(key))
    }

    /// The value leaves `self`, which becomes `null`.
    pub fn take(&mut self) -> Json {
        std::mem::take(self)
    }

    /// The node at an RFC 6901 JSON pointer (`""` is the value itself).
    pub fn pointer(&self, pointer: &str) -> Option<&Json> {
        pointer_tokens(pointer)?.try_fold(self, |node, token| match node {
            Json::Object(members) => members.get(&token),
            Json::Array(items) => pointer_index(&token).and_then(|at| items.get(at)),
            _ => None,
        })
    }

    /// The node at an RFC 6901 JSON pointer, to change.
    pub fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Json> {
        pointer_tokens(pointer)?.try_fold(self, |node, token| match node {
            Json::Object(members) => members.get_mut(&token),
            Json::Array(items) => pointer_index(&token).and_then(|at| items.get_mut(at)),
            _ => None,
        })
    }
}

/// The decoded tokens of a JSON pointer: none for `""`; `None` when the
/// pointer neither is empty nor starts with `/`.
fn pointer_tokens(pointer: &str) -> Option<impl Iterator<Item = Cow<'_, str>>> {
    let rest = match pointer {
        "" => None,
        _ => Some(pointer.strip_prefix('/')?),
    };
    Some(
        rest.into_iter()
            .flat_map(|rest| rest.split('/'))
            .map(unescape_pointer_token),
    )
}

impl std::ops::Index<&str> for Json {
    type Output = Json;
    /// The member `key`, or `null` when absent or not an object.
    fn index(&self, key: &str) -> &Json {
        self.get(key).unwrap_or(&NULL)
    }
}

impl std::ops::Index<usize> for Json {
    type Output = Json;
    /// The element at `position`, or `null` when absent or not an array.
    fn index(&self, position: usize) -> &Json {
        self.as_array()
            .and_then(|items| items.get(position))
            .unwrap_or(&NULL)
    }
}

impl std::fmt::Display for Json {
    /// Compact JSON text.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        formatter.write_str(&text)
    }
}

impl From<bool> for Json {
    fn from(flag: bool) -> Json {
        Json::Bool(flag)
    }
}

/// Integers become numbers.
macro_rules! from_integer {
    ($($kind:ty),*) => {$(
        impl From<$kind> for Json {
            fn from(number: $kind) -> Json {
                Json::Number(number.into())
            }
        }
    )*};
}

from_integer!(i64, u64, i32, u32, usize);

impl From<String> for Json {
    fn from(text: String) -> Json {
        Json::String(Text::from(text))
    }
}

impl From<&str> for Json {
    fn from(text: &str) -> Json {
        Json::String(Text::new(text))
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Json {
        Json::Array(items)
    }
}

impl From<Object> for Json {
    fn from(members: Object) -> Json {
        Json::Object(members)
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Json {
        match value {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(flag) => Json::Bool(flag),
            serde_json::Value::Number(number) => Json::Number(number),
            serde_json::Value::String(text) => Json::String(Text::from(text)),
            serde_json::Value::Array(items) => {
                Json::Array(items.into_iter().map(Json::from).collect())
            }
            serde_json::Value::Object(members) => Json::Object(Object::from_unique(
                members
                    .into_iter()
                    .map(|(key, value)| (Key::from(key), Json::from(value)))
                    .collect(),
            )),
        }
    }
}

impl From<Json> for serde_json::Value {
    fn from(value: Json) -> serde_json::Value {
        match value {
            Json::Null => serde_json::Value::Null,
            Json::Bool(flag) => serde_json::Value::Bool(flag),
            Json::Number(number) => serde_json::Value::Number(number),
            Json::String(text) => serde_json::Value::String(text.into_string()),
            Json::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(serde_json::Value::from).collect())
            }
            Json::Object(members) => serde_json::Value::Object(
                members
                    .into_iter()
                    .map(|(key, value)| (String::from(key), serde_json::Value::from(value)))
                    .collect(),
            ),
        }
    }
}

/// Compares with a `serde_json` value as JSON (object members in any order).
impl PartialEq<serde_json::Value> for Json {
    fn eq(&self, other: &serde_json::Value) -> bool {
        match (self, other) {
            (Json::Null, serde_json::Value::Null) => true,
            (Json::Bool(left), serde_json::Value::Bool(right)) => left == right,
            (Json::Number(left), serde_json::Value::Number(right)) => left == right,
            (Json::String(left), serde_json::Value::String(right)) => left.as_str() == right,
            (Json::Array(left), serde_json::Value::Array(right)) => {
                left.len() == right.len()
                    && left.iter().zip(right).all(|(left, right)| left == right)
            }
            (Json::Object(left), serde_json::Value::Object(right)) => {
                left.len() == right.len()
                    && left.iter().all(|(key, value)| {
                        right.get(key.as_str()).is_some_and(|other| value == other)
                    })
            }
            _ => false,
        }
    }
}

/// Compares with plain Rust values, as `serde_json::Value` does.
macro_rules! equal_to {
    ($($kind:ty => $read:ident),* $(,)?) => {$(
        impl PartialEq<$kind> for Json {
            fn eq(&self, other: &$kind) -> bool {
                self.$read().is_some_and(|value| value == *other)
            }
        }
    )*};
}

equal_to!(i64 => as_i64, u64 => as_u64, f64 => as_f64, bool => as_bool, &str => as_str);

impl PartialEq<i32> for Json {
    fn eq(&self, other: &i32) -> bool {
        self.as_i64() == Some(i64::from(*other))
    }
}

impl PartialEq<str> for Json {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<String> for Json {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == Some(other.as_str())
    }
}

#[cfg(test)]
mod tests;
