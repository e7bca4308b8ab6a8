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
