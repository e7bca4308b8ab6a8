//! The members of an object being built, for the JSON reader and the YAML
//! builder alike. Both keep the values read and not yet placed on one stack
//! (shared with lists) and the members' keys on another; an object's map is
//! built at its final size from its run when it ends, and a duplicate key is
//! refused as the member arrives, so that it is reported before any error
//! further on.

use serde_json::map::Entry;
use serde_json::{Map, Value};

/// Up to this many members, duplicate keys are found by comparing the new
/// key with the earlier ones, cheaper than hashing for the small objects of
/// most manifests; a larger object goes on in a map.
const LINEAR_MEMBERS: usize = 16;

/// An object being built.
pub(super) struct Members {
    /// Where the object's keys start on the key stack.
    first_key: usize,
    /// The members once there are more than [`LINEAR_MEMBERS`] of them;
    /// later members go straight in.
    large: Option<Map<String, Value>>,
}

impl Members {
    /// An object whose first key will be pushed on `keys`.
    #[inline]
    pub(super) fn open(keys: &[String]) -> Members {
        Members {
            first_key: keys.len(),
            large: None,
        }
    }

    /// Adds the member `key`, whose value is the last of `values` (the
    /// object's values start at `first_value`). `Err` with the key when the
    /// object has it already. (Called for every member read: in line, since
    /// the JSON reader was 3% slower with it as a call.)
    #[inline(always)]
    pub(super) fn add(
        &mut self,
        keys: &mut Vec<String>,
        values: &mut Vec<Value>,
        first_value: usize,
        key: String,
    ) -> Result<(), String> {
        if let Some(map) = &mut self.large {
            return match map.entry(key) {
                Entry::Occupied(entry) => Err(entry.key().clone()),
                Entry::Vacant(entry) => {
                    entry.insert(values.pop().unwrap_or_default());
                    Ok(())
                }
            };
        }
        let earlier = keys.get(self.first_key..).unwrap_or_default();
        if earlier.contains(&key) {
            return Err(key);
        }
        keys.push(key);
        if keys.len() - self.first_key > LINEAR_MEMBERS {
            self.large = Some(take(keys, values, self.first_key, first_value));
        }
        Ok(())
    }

    /// The finished object's members, taken off the stacks.
    #[inline]
    pub(super) fn close(
        self,
        keys: &mut Vec<String>,
        values: &mut Vec<Value>,
        first_value: usize,
    ) -> Map<String, Value> {
        match self.large {
            Some(map) => map,
            None => take(keys, values, self.first_key, first_value),
        }
    }
}

/// Moves the members, keys from `first_key` on and values from `first_value`
/// on, off the stacks into a map of their number.
fn take(
    keys: &mut Vec<String>,
    values: &mut Vec<Value>,
    first_key: usize,
    first_value: usize,
) -> Map<String, Value> {
    let first_key = first_key.min(keys.len());
    let first_value = first_value.min(values.len());
    let mut members = Map::with_capacity(keys.len() - first_key);
    for (key, value) in keys.drain(first_key..).zip(values.drain(first_value..)) {
        members.insert(key, value);
    }
    members
}
