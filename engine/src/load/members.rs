//! The members of an object being built, for the JSON reader and the YAML
//! builder alike. Both keep the values read and not yet placed on one stack
//! (shared with lists) and the members' keys on another; an object's members are
//! moved into place at their final size when it ends, and a duplicate key is
//! refused as the member arrives, so that it is reported before any error
//! further on.

use crate::json::{Json, Key, Object};
use std::collections::HashSet;

/// Up to this many members, duplicate keys are found by comparing the new
/// key with the earlier ones, cheaper than hashing for the small objects of
/// most manifests; a larger object goes on with a set of its keys.
const LINEAR_MEMBERS: usize = 16;

/// An object being built.
pub(super) struct Members {
    /// Where the object's keys start on the key stack.
    first_key: usize,
    /// The keys once there are more than [`LINEAR_MEMBERS`] of them.
    large: Option<HashSet<Key>>,
}

impl Members {
    /// An object whose first key will be pushed on `keys`.
    #[inline]
    pub(super) fn open(keys: &[Key]) -> Members {
        Members {
            first_key: keys.len(),
            large: None,
        }
    }

    /// Adds the member `key`, whose value is the last of the values pushed.
    /// `Err` with the key when the object has it already. (Called for every
    /// member read: in line, since the JSON reader was 3% slower with it as
    /// a call.)
    #[inline(always)]
    pub(super) fn add(&mut self, keys: &mut Vec<Key>, key: Key) -> Result<(), Key> {
        if let Some(seen) = &mut self.large {
            if !seen.insert(key.clone()) {
                return Err(key);
            }
            keys.push(key);
            return Ok(());
        }
        let earlier = keys.get(self.first_key..).unwrap_or_default();
        if earlier.contains(&key) {
            return Err(key);
        }
        keys.push(key);
        if keys.len() - self.first_key > LINEAR_MEMBERS {
            self.large = Some(
                keys.get(self.first_key..)
                    .unwrap_or_default()
                    .iter()
                    .cloned()
                    .collect(),
            );
        }
        Ok(())
    }

    /// The finished object's members, keys from the object's first on and
    /// values from `first_value` on, taken off the stacks.
    #[inline]
    pub(super) fn close(
        self,
        keys: &mut Vec<Key>,
        values: &mut Vec<Json>,
        first_value: usize,
    ) -> Object {
        let first_key = self.first_key.min(keys.len());
        let first_value = first_value.min(values.len());
        let members = keys
            .drain(first_key..)
            .zip(values.drain(first_value..))
            .collect();
        Object::from_unique(members)
    }
}
