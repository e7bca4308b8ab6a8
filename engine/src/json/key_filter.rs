//! Which member names a JSON value holds, as a Bloom filter: what lets the
//! evaluator skip a policy whose keys a resource lacks (`eval/key_index.rs`).
//! The JSON reader and the YAML builder make a document's filter while they
//! read its keys, which costs less than walking the value again afterwards.

use super::Json;
use super::key::name_hash;

/// Key names as a 256-bit Bloom filter with one hash: a set that may claim a
/// name it does not hold, never the other way round. A filter that holds
/// more names than its value has (a `kind: List`'s, for each of its items)
/// only makes fewer policies skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyFilter([u64; 4]);

impl KeyFilter {
    /// Every member name of every object in `value`.
    pub fn of(value: &Json) -> KeyFilter {
        let mut filter = KeyFilter::default();
        let mut pending: Vec<&Json> = vec![value];
        while let Some(value) = pending.pop() {
            match value {
                Json::Object(members) => {
                    for (key, member) in members {
                        filter.insert(key);
                        if is_container(member) {
                            pending.push(member);
                        }
                    }
                }
                Json::Array(items) => {
                    pending.extend(items.iter().filter(|item| is_container(item)))
                }
                _ => {}
            }
        }
        filter
    }

    /// Adds a name.
    #[inline]
    pub fn insert(&mut self, key: &str) {
        self.insert_bit(bit_of(key));
    }

    /// Adds a name whose [`name_hash`] the caller has computed.
    #[inline]
    pub(crate) fn insert_hashed(&mut self, hash: u64) {
        self.insert_bit(bit_of_hash(hash));
    }

    #[inline]
    fn insert_bit(&mut self, bit: usize) {
        if let Some(word) = self.0.get_mut(bit / 64) {
            *word |= 1 << (bit % 64);
        }
    }

    /// Whether every name of `wanted` may be in this set.
    #[inline]
    pub fn covers(&self, wanted: &KeyFilter) -> bool {
        self.0
            .iter()
            .zip(wanted.0)
            .all(|(held, wanted)| held & wanted == wanted)
    }
}

fn is_container(value: &Json) -> bool {
    matches!(value, Json::Object(_) | Json::Array(_))
}

/// A bit for a key name: the top eight bits of its [`name_hash`].
#[inline]
fn bit_of(key: &str) -> usize {
    bit_of_hash(name_hash(key.as_bytes()))
}

#[inline]
fn bit_of_hash(hash: u64) -> usize {
    (hash >> 56) as usize
}
