//! The members of a JSON object, in the order they were written.

use super::{Json, Key};
use std::collections::HashMap;

/// Objects with up to this many members are searched member by member,
/// which for the small objects of manifests is cheaper than any index.
/// Larger ones keep their member numbers sorted by key, so that a lookup
/// stays logarithmic even in a hostile object of many thousand members.
const LINEAR_MEMBERS: usize = 16;

/// The members of an object: a vector of key and value in written order,
/// with no hashing. Keys are unique: the loader refuses a duplicate key,
/// deserializing keeps the last value of one (as `serde_json` does), and
/// [`Object::insert`] replaces.
#[derive(Clone, Default)]
pub struct Object {
    members: Vec<(Key, Json)>,
    /// For an object of more than [`LINEAR_MEMBERS`] members, the member
    /// numbers in the order of their keys.
    #[allow(
        clippy::box_collection,
        reason = "a thin pointer keeps every JSON value at four words"
    )]
    sorted: Option<Box<Vec<u32>>>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object::default()
    }

    /// An empty object with room for `capacity` members.
    pub fn with_capacity(capacity: usize) -> Object {
        Object {
            members: Vec::with_capacity(capacity),
            sorted: None,
        }
    }

    /// An object of members whose keys the caller knows to be unique.
    pub(crate) fn from_unique(members: Vec<(Key, Json)>) -> Object {
        let mut object = Object {
            members,
            sorted: None,
        };
        object.index();
        object
    }

    /// An object of members that may repeat a key: the first place of a
    /// key is kept, with the last value given for it.
    pub fn from_members(members: Vec<(String, Json)>) -> Object {
        Object::from_keyed_members(
            members
                .into_iter()
                .map(|(key, value)| (Key::from(key), value))
                .collect(),
        )
    }

    /// [`Object::from_members`] for keys made already.
    pub fn from_keyed_members(members: Vec<(Key, Json)>) -> Object {
        let object = Object::from_unique(members);
        if !object.has_duplicates() {
            return object;
        }
        // Rare (only deserializing meets it), and kept linear: a hostile
        // object repeating keys must not cost a search per member.
        let mut places: HashMap<Key, usize> = HashMap::with_capacity(object.len());
        let mut unique: Vec<(Key, Json)> = Vec::with_capacity(object.len());
        for (key, value) in object.members {
            match places.get(&key) {
                Some(&at) => {
                    if let Some(member) = unique.get_mut(at) {
                        member.1 = value;
                    }
                }
                None => {
                    places.insert(key.clone(), unique.len());
                    unique.push((key, value));
                }
            }
        }
        Object::from_unique(unique)
    }

    fn has_duplicates(&self) -> bool {
        match &self.sorted {
            Some(sorted) => sorted
                .windows(2)
                .any(|pair| self.key_at(pair[0]) == self.key_at(pair[1])),
            None => self
                .members
                .iter()
                .enumerate()
                .any(|(at, (key, _))| self.members[..at].iter().any(|(other, _)| other == key)),
        }
    }

    fn key_at(&self, number: u32) -> &str {
        self.members
            .get(number as usize)
            .map_or("", |(key, _)| key.as_str())
    }

    /// Rebuilds the sorted member numbers after the members changed.
    fn index(&mut self) {
        if self.members.len() <= LINEAR_MEMBERS {
            self.sorted = None;
            return;
        }
        let mut sorted: Vec<u32> = (0..self.members.len() as u32).collect();
        sorted.sort_by(|left, right| self.key_at(*left).cmp(self.key_at(*right)));
        self.sorted = Some(Box::new(sorted));
    }

    /// Where the member `key` is among the members.
    pub fn position(&self, key: &str) -> Option<usize> {
        match &self.sorted {
            None => self
                .members
                .iter()
                .position(|(member, _)| same_text(member, key)),
            Some(sorted) => sorted
                .binary_search_by(|number| self.key_at(*number).cmp(key))
                .ok()
                .and_then(|found| sorted.get(found))
                .map(|number| *number as usize),
        }
    }

    /// The value of the member `key`. (The small-object scan is written
    /// out here rather than going through [`Object::position`]: every field
    /// a policy reads comes through here, and the detour measured 6% of
    /// evaluation.)
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Json> {
        if self.sorted.is_none() {
            return self
                .members
                .iter()
                .find(|(member, _)| same_text(member, key))
                .map(|(_, value)| value);
        }
        self.position(key)
            .and_then(|at| self.members.get(at))
            .map(|(_, value)| value)
    }

    /// The value of the member `key`, to change.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        let at = self.position(key)?;
        self.members.get_mut(at).map(|(_, value)| value)
    }

    /// The member at `position` (in written order) with its key.
    pub fn get_index(&self, position: usize) -> Option<(&Key, &Json)> {
        self.members.get(position).map(|(key, value)| (key, value))
    }

    /// Whether the object has the member `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets the member `key`: a new key goes last, an existing one keeps its
    /// place. Returns the value replaced.
    pub fn insert(&mut self, key: impl Into<Key>, value: Json) -> Option<Json> {
        let key = key.into();
        if let Some(at) = self.position(&key) {
            return self
                .members
                .get_mut(at)
                .map(|(_, old)| std::mem::replace(old, value));
        }
        let number = self.members.len() as u32;
        let place = self
            .sorted
            .as_ref()
            .map(|sorted| sorted.partition_point(|other| self.key_at(*other) < key.as_str()));
        self.members.push((key, value));
        match (&mut self.sorted, place) {
            // One more number in its place: inserting member by member (a
            // YAML merge of a large mapping) stays quadratic at worst in
            // moves, not in sorts.
            (Some(sorted), Some(place)) => sorted.insert(place, number),
            _ if self.members.len() > LINEAR_MEMBERS => self.index(),
            _ => {}
        }
        None
    }

    /// Removes the member `key`, keeping the others in order.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        let at = self.position(key)?;
        let (_, value) = self.members.remove(at);
        self.index();
        Some(value)
    }

    /// The value of the member `key`, inserted by `make` if absent.
    pub fn get_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> Json) -> &mut Json {
        let at = match self.position(key) {
            Some(at) => at,
            None => {
                self.insert(key, make());
                self.members.len() - 1
            }
        };
        &mut self.members[at].1
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members in written order.
    #[inline]
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.members.iter())
    }

    /// The members in written order, their values to change.
    pub fn iter_mut(
        &mut self,
    ) -> impl ExactSizeIterator<Item = (&Key, &mut Json)> + DoubleEndedIterator {
        self.members.iter_mut().map(|(key, value)| (&*key, value))
    }

    /// The keys in written order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Key> + DoubleEndedIterator {
        self.members.iter().map(|(key, _)| key)
    }

    /// The values in written order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Json> + DoubleEndedIterator {
        self.members.iter().map(|(_, value)| value)
    }
}

impl std::fmt::Debug for Object {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_map().entries(self.iter()).finish()
    }
}

/// Objects are equal when they have the same members, in any order (as
/// JSON objects are).
impl PartialEq for Object {
    fn eq(&self, other: &Object) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(key, value)| other.get(key) == Some(value))
    }
}

impl std::ops::Index<&str> for Object {
    type Output = Json;
    /// The member `key`, or `null` when absent.
    fn index(&self, key: &str) -> &Json {
        self.get(key).unwrap_or(&super::NULL)
    }
}

impl IntoIterator for Object {
    type Item = (Key, Json);
    type IntoIter = std::vec::IntoIter<(Key, Json)>;
    fn into_iter(self) -> Self::IntoIter {
        self.members.into_iter()
    }
}

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a Key, &'a Json);
    type IntoIter = Iter<'a>;
    #[inline]
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The members of an object in written order, as key and value.
#[derive(Clone, Debug)]
pub struct Iter<'a>(std::slice::Iter<'a, (Key, Json)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Key, &'a Json);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(key, value)| (key, value))
    }
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(key, value)| (key, value))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl FromIterator<(String, Json)> for Object {
    fn from_iter<T: IntoIterator<Item = (String, Json)>>(members: T) -> Object {
        Object::from_members(members.into_iter().collect())
    }
}

impl FromIterator<(Key, Json)> for Object {
    fn from_iter<T: IntoIterator<Item = (Key, Json)>>(members: T) -> Object {
        Object::from_keyed_members(members.into_iter().collect())
    }
}

/// String equality for member names: compared byte by byte in line, since a
/// call to the C library's `memcmp` costs more than the comparison itself at
/// these lengths.
#[inline]
pub(crate) fn same_text(left: &str, right: &str) -> bool {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    if left.len() != right.len() {
        return false;
    }
    if left.len() > 32 {
        return left == right;
    }
    let mut position = 0;
    while position < left.len() {
        if left[position] != right[position] {
            return false;
        }
        position += 1;
    }
    true
}
