use super::{Json, Key, Object};

fn object_of(count: usize) -> Object {
    (0..count)
        .map(|number| (format!("key{number:03}"), Json::from(number)))
        .collect()
}

#[test]
fn small_and_large_objects_find_every_member_and_no_other() {
    for count in [0, 1, 16, 17, 100] {
        let object = object_of(count);
        for number in 0..count {
            assert_eq!(
                object.get(&format!("key{number:03}")),
                Some(&Json::from(number)),
                "{count} members"
            );
        }
        assert_eq!(object.get("key"), None);
        assert_eq!(object.get("zzz"), None);
    }
}

#[test]
fn insert_keeps_the_written_order_and_replaces_in_place() {
    let mut object = object_of(20);
    assert_eq!(
        object.insert("key005", Json::Null),
        Some(Json::from(5usize))
    );
    assert_eq!(object.insert("a", Json::Bool(true)), None);
    let keys: Vec<&Key> = object.keys().collect();
    assert_eq!(keys[5], "key005");
    assert_eq!(keys.last().map(|key| key.as_str()), Some("a"));
    assert_eq!(object.get("a"), Some(&Json::Bool(true)));
    assert_eq!(object.remove("key000"), Some(Json::from(0usize)));
    assert_eq!(object.get("key000"), None);
    assert_eq!(object.get("key019"), Some(&Json::from(19usize)));
}

#[test]
fn deserializing_a_repeated_key_keeps_its_first_place_and_last_value() {
    let small: Json = serde_json::from_str(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
    assert_eq!(small, serde_json::json!({"a": 3, "b": 2}));
    assert_eq!(
        small.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["a", "b"]
    );
    let members: Vec<String> = (0..20).map(|n| format!("\"k{n}\": {n}")).collect();
    let text = format!("{{{}, \"k3\": 99}}", members.join(", "));
    let large: Json = serde_json::from_str(&text).unwrap();
    assert_eq!(large.as_object().unwrap().len(), 20);
    assert_eq!(large["k3"], Json::from(99));
}

#[test]
fn round_trips_through_text_and_serde_json_values() {
    let original = serde_json::json!({"kind": "Pod", "spec": {"containers": [{"name": "a", "ports": [1, 2.5]}]}, "z": null, "b": true});
    let ours = Json::from(original.clone());
    assert_eq!(ours, original);
    assert_eq!(serde_json::Value::from(ours.clone()), original);
    let text = ours.to_string();
    assert_eq!(text, original.to_string(), "member order is kept");
    let back: Json = serde_json::from_str(&text).unwrap();
    assert_eq!(back, ours);
}

#[test]
fn objects_compare_as_sets_of_members() {
    let left = Json::from(serde_json::json!({"a": 1, "b": [1, 2]}));
    let right = Json::from(serde_json::json!({"b": [1, 2], "a": 1}));
    assert_eq!(left, right);
    assert_ne!(left, Json::from(serde_json::json!({"a": 1, "b": [2, 1]})));
    assert_ne!(left, Json::from(serde_json::json!({"a": 1})));
}

#[test]
fn pointers_follow_members_and_elements() {
    let value = Json::from(serde_json::json!({"a/b": {"c~d": [10, 20]}, "0": "zero"}));
    assert_eq!(value.pointer(""), Some(&value));
    assert_eq!(value.pointer("/a~1b/c~0d/1"), Some(&Json::from(20)));
    assert_eq!(value.pointer("/0"), Some(&Json::from("zero")));
    assert_eq!(value.pointer("/a~1b/c~0d/01"), None);
    assert_eq!(value.pointer("a"), None);
    let mut value = value;
    if let Some(node) = value.pointer_mut("/a~1b/c~0d/0") {
        *node = Json::Null;
    }
    assert_eq!(value["a/b"]["c~d"][0], Json::Null);
}

/// A value is four words: an array's elements and an object's members are
/// scanned by stride, and `serde_json`'s value (nine words with ordered
/// maps) is what this type replaced.
#[test]
fn a_value_is_at_most_four_words() {
    assert!(std::mem::size_of::<Json>() <= 4 * std::mem::size_of::<usize>());
}

#[test]
fn members_inserted_one_by_one_into_a_large_object_stay_found() {
    let mut object = Object::new();
    // Keys arrive out of order, so each goes into the middle of the index.
    let keys: Vec<String> = (0..200)
        .map(|n| format!("k{:03}", (n * 37) % 200))
        .collect();
    for (value, key) in keys.iter().enumerate() {
        assert_eq!(object.insert(key.clone(), Json::from(value)), None);
    }
    for (value, key) in keys.iter().enumerate() {
        assert_eq!(object.get(key), Some(&Json::from(value)), "{key}");
    }
    assert_eq!(object.get("k200"), None);
    assert_eq!(object.keys().next().map(Key::as_str), Some("k000"));
    assert_eq!(object.keys().nth(1).map(Key::as_str), Some("k037"));
}

#[test]
fn a_large_object_repeating_every_key_keeps_first_places_and_last_values() {
    let mut text = String::from("{");
    for round in 0..3 {
        for n in 0..50 {
            text.push_str(&format!("\"k{n}\": {}, ", round * 100 + n));
        }
    }
    text.push_str("\"end\": true}");
    let value: Json = serde_json::from_str(&text).unwrap();
    let object = value.as_object().unwrap();
    assert_eq!(object.len(), 51);
    assert_eq!(object.get("k7"), Some(&Json::from(207)));
    assert_eq!(object.keys().next().map(Key::as_str), Some("k0"));
    assert_eq!(object.keys().last().map(Key::as_str), Some("end"));
}

#[test]
fn same_text_finds_a_difference_at_any_place_of_any_length() {
    use super::same_text;
    for length in 0..=48 {
        let text: String = (0..length)
            .map(|at| char::from(b'a' + (at % 26) as u8))
            .collect();
        assert!(same_text(&text, &text.clone()), "{length}");
        for at in 0..length {
            let mut other = text.clone().into_bytes();
            other[at] = b'#';
            let other = String::from_utf8(other).unwrap();
            assert!(!same_text(&text, &other), "{length} at {at}");
            assert!(!same_text(&other, &text), "{length} at {at}");
        }
        assert!(!same_text(&text, &format!("{text}a")));
    }
}
