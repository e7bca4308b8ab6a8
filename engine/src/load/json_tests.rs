use super::*;

fn load(text: &str) -> LoadOutcome {
    load_str(text, &LoadLimits::default())
}

#[test]
fn json_lines_are_one_document_each_with_positions() {
    let text = "{\"kind\": \"Pod\", \"spec\": {\"a\": [1, {\"b\": true}]}}\n{\"kind\": \"Service\", \"é\": \"x\", \"k\": 2}\n";
    let outcome = load(text);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(outcome.documents.len(), 2);
    let first = &outcome.documents[0];
    let at = |document: &Document, pointer: &str| {
        let position = document.positions.locate(&document.value, pointer).unwrap();
        (position.line, position.column)
    };
    assert_eq!(at(first, ""), (1, 1));
    assert_eq!(at(first, "/spec"), (1, 17));
    assert_eq!(at(first, "/spec/a/1/b"), (1, 36));
    let second = &outcome.documents[1];
    assert_eq!(second.index, 1);
    // Columns count characters: `é` is one column though two bytes.
    assert_eq!(at(second, "/k"), (2, 31));
}

#[test]
fn json_matches_the_yaml_reader() {
    let text = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
  "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80}], "big": 18446744073709551615, "f": 1.5, "n": null, "e": "\u00e9\n\"q\""}]}}"#;
    let fast = load(text);
    let yaml = super::builder::load(text, &LoadLimits::default());
    assert!(
        fast.errors.is_empty() && yaml.errors.is_empty(),
        "{:?} {:?}",
        fast.errors,
        yaml.errors
    );
    assert_eq!(fast.documents[0].value, yaml.documents[0].value);
    for pointer in [
        "",
        "/metadata/labels/a",
        "/spec/containers/0/ports/0/containerPort",
        "/spec/containers/0/e",
    ] {
        assert_eq!(
            fast.documents[0]
                .positions
                .locate(&fast.documents[0].value, pointer),
            yaml.documents[0]
                .positions
                .locate(&yaml.documents[0].value, pointer),
            "{pointer}"
        );
    }
}

#[test]
fn flow_yaml_that_is_not_json_goes_to_the_yaml_reader() {
    let outcome = load("{kind: Pod, metadata: {name: p}}");
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(outcome.documents[0].value["kind"], "Pod");
}

#[test]
fn a_broken_json_line_keeps_the_lines_before_it() {
    let outcome = load("{\"kind\": \"A\"}\n{\"kind\": \"B\"}\n{\"kind\": }\n");
    assert_eq!(outcome.documents.len(), 2);
    assert_eq!(outcome.errors.len(), 1);
    let error = &outcome.errors[0];
    assert_eq!(error.document, Some(2));
    assert_eq!(
        error
            .position
            .map(|position| (position.line, position.column)),
        Some((3, 10))
    );
}

#[test]
fn duplicate_keys_and_depth_are_refused() {
    let duplicate = load("{\"a\": 1, \"a\": 2}");
    assert!(duplicate.errors[0].message.contains("duplicate key `a`"));
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let outcome = load(&deep);
    assert!(
        outcome.errors[0].message.contains("deeper"),
        "{:?}",
        outcome.errors
    );
}

#[test]
fn a_large_object_keeps_its_order_and_positions() {
    // More members than are checked for duplicates one by one.
    let members: Vec<String> = (0..40)
        .map(|index| format!("\"k{index}\": {{\"a\": [{index}, {{\"b\": \"x\"}}], \"c\": []}}"))
        .collect();
    let object = format!("{{{}}}", members.join(", "));
    let yaml = super::builder::load(&object, &LoadLimits::default());
    // A second line, read with the same stacks.
    let fast = load(&format!("{object}\n{{\"after\": [1, {{\"b\": 2}}]}}\n"));
    assert!(
        fast.errors.is_empty() && yaml.errors.is_empty(),
        "{:?} {:?}",
        fast.errors,
        yaml.errors
    );
    // Equal but for the key filter, which only the JSON reader makes.
    let (read, built) = (&fast.documents[0], &yaml.documents[0]);
    assert_eq!(
        (read.index, &read.value, &read.positions),
        (built.index, &built.value, &built.positions)
    );
    let second = &fast.documents[1];
    let position = second
        .positions
        .locate(&second.value, "/after/1/b")
        .unwrap();
    assert_eq!((position.line, position.column), (2, 16));
    let keys: Vec<&crate::json::Key> = fast.documents[0]
        .value
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys.len(), 40);
    assert_eq!(keys[17], "k17");
    assert_eq!(keys[39], "k39");
}

#[test]
fn a_duplicate_key_is_reported_at_the_second_key_before_later_errors() {
    let at = |text: &str| {
        let outcome = load(text);
        let error = &outcome.errors[0];
        let position = error.position.unwrap();
        (error.message.clone(), position.line, position.column)
    };
    // Found once the duplicate's value is read, before the broken member.
    let (message, line, column) = at("{\"a\": 1, \"b\": {\"c\": 2, \"c\": [3]}, \"d\": }");
    assert!(message.contains("duplicate key `c`"), "{message}");
    assert_eq!((line, column), (1, 24));
    // An error inside the duplicate's value comes first.
    let (message, _, _) = at("{\"a\": 1, \"a\": [}");
    assert!(!message.contains("duplicate"), "{message}");
    // The same in an object too large to compare keys one by one.
    let members: Vec<String> = (0..30)
        .map(|index| format!("\"k{index}\": {index}"))
        .collect();
    let text = format!("{{{}, \"k3\": 0, \"z\": }}", members.join(", "));
    let (message, _, column) = at(&text);
    assert!(message.contains("duplicate key `k3`"), "{message}");
    assert_eq!(
        Some(column as usize),
        text.find("\"k3\": 0").map(|offset| offset + 1)
    );
}

/// The filter the reader makes while reading is the one made from the
/// value afterwards: every key of every document, nested and escaped ones
/// included, and no key of the document before it.
#[test]
fn json_documents_carry_the_filter_of_their_keys() {
    let text = concat!(
        "{\"kind\": \"Pod\", \"spec\": {\"a\": [1, {\"b\\u0020c\": true}], \"hostPath\": {}}}\n",
        "{\"kind\": \"Service\", \"spec\": {\"ports\": [{\"port\": 80}]}}\n",
        "[{\"inside\": {\"deeper\": 1}}]\n",
    );
    let outcome = load(text);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(outcome.documents.len(), 3);
    for document in &outcome.documents {
        assert_eq!(
            document.keys,
            Some(crate::json::KeyFilter::of(&document.value)),
            "{:?}",
            document.value
        );
    }
    assert_ne!(outcome.documents[0].keys, outcome.documents[1].keys);
    let mut only_service = crate::json::KeyFilter::default();
    only_service.insert("hostPath");
    let second = outcome.documents[1].keys.unwrap_or_default();
    assert!(!second.covers(&only_service), "a key of the first document");
}

#[test]
fn yaml_documents_carry_a_filter_covering_their_keys() {
    let outcome = load(concat!(
        "kind: Pod\nspec: {hostPath: {}}\n",
        "---\n",
        "base: &base {inherited: 1, shared: 2}\n",
        "copy: *base\n",
        "merged: {<<: *base, own: 3}\n",
        "name: &label aliased\n",
        "*label : x\n",
    ));
    assert_eq!(outcome.documents.len(), 2, "{:?}", outcome.errors);
    let first = &outcome.documents[0];
    assert_eq!(first.keys, Some(crate::json::KeyFilter::of(&first.value)));
    // Aliases and merges repeat keys read earlier in the same document: the
    // filter of every key read covers the value's.
    let second = &outcome.documents[1];
    let keys = second.keys.unwrap_or_default();
    assert!(keys.covers(&crate::json::KeyFilter::of(&second.value)));
    let mut host_path = crate::json::KeyFilter::default();
    host_path.insert("hostPath");
    assert!(!keys.covers(&host_path), "a key of the first document");
}
