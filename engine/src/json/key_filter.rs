//! Which member names a JSON value holds, as a Bloom filter: what lets the
//! evaluator skip a policy whose keys a resource lacks (`eval/key_index.rs`).
//! The JSON reader and the YAML builder make a document's filter while they
//! read its keys, which costs less than walking the value again afterwards.

use super::Json;

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
        let bit = bit_of(key);
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

/// A bit for a key name, from its length and its first and last eight bytes
/// read as two words: every key of every resource goes through here, and
/// the two ends tell Kubernetes' names apart well enough for a filter that
/// may only err towards running a policy.
#[inline]
fn bit_of(key: &str) -> usize {
    let bytes = key.as_bytes();
    let (head, tail) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(head), Some(tail)) => (u64::from_le_bytes(*head), u64::from_le_bytes(*tail)),
        _ => {
            // Shorter than eight bytes: all of it, once.
            let short = bytes
                .iter()
                .fold(0u64, |word, byte| (word << 8) | u64::from(*byte));
            (short, 0)
        }
    };
    let mixed =
        (head ^ tail.rotate_left(29) ^ bytes.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 56) as usize
}
