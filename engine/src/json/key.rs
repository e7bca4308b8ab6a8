//! Member names. Nearly every name in a manifest is a field name of the
//! Kubernetes API (`name`, `image`, `securityContext`) or one of a few label
//! and resource names (`app`, `cpu`): those are held as one shared static
//! string instead of a heap copy each. A workload manifest has about a
//! hundred members, and allocating and freeing their names was about a third
//! of reading it; looking a name up in the table below costs a hash (which
//! the loader computes anyway, for the document's [`super::KeyFilter`]) and
//! one comparison.

use super::known_names::KNOWN_NAMES;
use super::object::same_text;
use std::borrow::Borrow;

/// A member name: a shared static string when it is a known name, its own
/// text otherwise (always: no key holds a known name as its own text). It
/// behaves as the `str` it holds (equality, order and hash are the
/// text's), so which of the two it is never shows.
#[derive(Clone)]
pub struct Key(Text);

/// Both variants are a pointer and a length at the same place, so that
/// reading a key's text takes no branch: member lookups compare keys in
/// their inner loop. (`Cow<'static, str>`, whose owned variant is a
/// `String`, measured 4% slower evaluation.)
#[derive(Clone)]
enum Text {
    Shared(&'static str),
    Owned(Box<str>),
}

impl Key {
    /// The key `text`.
    #[inline]
    pub fn new(text: &str) -> Key {
        Key::hashed(text, name_hash(text.as_bytes()))
    }

    /// The key `text`, whose [`name_hash`] the caller has computed.
    #[inline]
    pub(crate) fn hashed(text: &str, hash: u64) -> Key {
        match known(text, hash) {
            Some(name) => Key(Text::Shared(name)),
            None => Key(Text::Owned(text.into())),
        }
    }

    /// The key `text`, whose [`name_hash`] the caller has computed; a known
    /// name drops `text` for the shared copy.
    #[inline]
    pub(crate) fn from_string_hashed(text: String, hash: u64) -> Key {
        match known(&text, hash) {
            Some(name) => Key(Text::Shared(name)),
            None => Key(Text::Owned(text.into_boxed_str())),
        }
    }

    /// The key's text.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Text::Shared(text) => text,
            Text::Owned(text) => text,
        }
    }

    /// Whether the key is a shared known name rather than its own copy.
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Text::Shared(_))
    }
}

impl From<String> for Key {
    /// A known name drops the given text for the shared one.
    #[inline]
    fn from(text: String) -> Key {
        let hash = name_hash(text.as_bytes());
        Key::from_string_hashed(text, hash)
    }
}

impl From<&str> for Key {
    fn from(text: &str) -> Key {
        Key::new(text)
    }
}

impl From<Key> for String {
    fn from(key: Key) -> String {
        match key.0 {
            Text::Shared(text) => text.to_owned(),
            Text::Owned(text) => text.into_string(),
        }
    }
}

impl std::ops::Deref for Key {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.as_str(), formatter)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), formatter)
    }
}

impl PartialEq for Key {
    /// Two known names are the same name only as the same static string
    /// (the table holds each once), and a known name never equals an
    /// unknown one: only two names of their own compare text. The loader
    /// compares each new member name with the object's earlier ones.
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        match (&self.0, &other.0) {
            (Text::Owned(left), Text::Owned(right)) => same_text(left, right),
            (Text::Shared(left), Text::Shared(right)) => {
                std::ptr::eq(left.as_ptr(), right.as_ptr()) && left.len() == right.len()
            }
            _ => false,
        }
    }
}

impl Eq for Key {}

impl PartialEq<str> for Key {
    fn eq(&self, other: &str) -> bool {
        same_text(self, other)
    }
}

impl PartialEq<&str> for Key {
    fn eq(&self, other: &&str) -> bool {
        same_text(self, other)
    }
}

impl PartialEq<String> for Key {
    fn eq(&self, other: &String) -> bool {
        same_text(self, other)
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Key {
    /// As the text hashes, which `Borrow<str>` requires.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl serde::Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

/// A name's hash: its length and its first and last eight bytes read as two
/// words, mixed by one multiplication. Every key of every resource goes
/// through here (for the key filter and the known-name table), and the two
/// ends tell Kubernetes' names apart well enough. `const` so that the table
/// is built when the engine is compiled.
#[inline]
pub(crate) const fn name_hash(bytes: &[u8]) -> u64 {
    let (head, tail) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(head), Some(tail)) => (u64::from_le_bytes(*head), u64::from_le_bytes(*tail)),
        _ => {
            // Shorter than eight bytes: all of it, once.
            let mut short = 0u64;
            let mut rest = bytes;
            while let [byte, after @ ..] = rest {
                short = (short << 8) | *byte as u64;
                rest = after;
            }
            (short, 0)
        }
    };
    (head ^ tail.rotate_left(29) ^ bytes.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Slots of the known-name table: a power of two, at most a quarter full,
/// so that a name that is not there (a label, a ConfigMap key) usually
/// meets an empty slot at once.
const SLOTS: usize = 4096;

const _: () = assert!(KNOWN_NAMES.len() * 4 <= SLOTS && KNOWN_NAMES.len() < u16::MAX as usize);

/// Open addressing with linear probing: each slot holds a known name's
/// number plus one, or 0 when empty. The filter uses a hash's top eight
/// bits; the table the twelve below them.
static TABLE: [u16; SLOTS] = build_table();

#[inline]
const fn slot_of(hash: u64) -> usize {
    ((hash >> 44) as usize) & (SLOTS - 1)
}

#[allow(
    clippy::indexing_slicing,
    reason = "runs at compile time, where an index out of range fails the build"
)]
const fn build_table() -> [u16; SLOTS] {
    let mut table = [0u16; SLOTS];
    let mut number = 0;
    while number < KNOWN_NAMES.len() {
        let mut slot = slot_of(name_hash(KNOWN_NAMES[number].as_bytes()));
        while table[slot] != 0 {
            slot = (slot + 1) & (SLOTS - 1);
        }
        table[slot] = number as u16 + 1;
        number += 1;
    }
    table
}

/// The shared copy of `text` if it is a known name (`hash` is its
/// [`name_hash`]).
#[inline]
fn known(text: &str, hash: u64) -> Option<&'static str> {
    let mut slot = slot_of(hash);
    loop {
        let entry = *TABLE.get(slot)?;
        let name = KNOWN_NAMES.get(usize::from(entry).checked_sub(1)?)?;
        if same_text(name, text) {
            return Some(name);
        }
        slot = (slot + 1) & (SLOTS - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_is_found_and_shared() {
        for name in KNOWN_NAMES {
            let key = Key::new(name);
            assert!(key.is_shared(), "{name} was not found in the table");
            assert_eq!(key.as_str(), *name);
            assert!(Key::from(name.to_string()).is_shared());
        }
    }

    #[test]
    fn known_names_are_unique() {
        let mut names = KNOWN_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KNOWN_NAMES.len());
    }

    #[test]
    fn other_names_are_their_own_text() {
        for name in [
            "",
            "x",
            "nam",
            "namex",
            "Name",
            "securityContext2",
            "app.example.com/owner",
            "ключ",
        ] {
            let key = Key::new(name);
            assert!(!key.is_shared(), "{name} should not be a known name");
            assert_eq!(key.as_str(), name);
            assert_eq!(String::from(Key::from(name.to_owned())), name);
        }
    }

    #[test]
    fn a_key_compares_orders_and_hashes_as_its_text() {
        use std::collections::HashSet;
        let shared = Key::new("image");
        assert!(shared.is_shared());
        assert_eq!(shared, Key::from("image".to_owned()));
        assert_ne!(shared, Key::new("imagePullPolicy"));
        assert_ne!(shared, Key::new("imag"));
        assert_ne!(shared, Key::new("image2"));
        assert_eq!(Key::new("image2"), Key::new("image2"));
        assert_ne!(Key::new("image2"), Key::new("image3"));
        assert_eq!(shared, "image");
        assert_eq!(shared, *"image");
        assert_eq!(shared, "image".to_owned());
        assert!(Key::new("app") < Key::new("image"));
        assert!(Key::new("image") < Key::new("imageX"));
        let set: HashSet<Key> = [shared.clone(), Key::new("image")].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert!(set.contains("image"));
        assert_eq!(format!("{shared} {shared:?}"), "image \"image\"");
        assert_eq!(serde_json::to_string(&shared).unwrap(), "\"image\"");
    }

    #[test]
    fn the_table_holds_every_name_and_leaves_room() {
        let used = TABLE.iter().filter(|entry| **entry != 0).count();
        assert_eq!(used, KNOWN_NAMES.len());
        assert!(used * 4 <= SLOTS);
    }
}
