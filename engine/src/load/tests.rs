use std::time::{Duration, Instant};

use crate::json::Json;
use serde_json::json;

use super::*;

fn load(text: &str) -> LoadOutcome {
    load_str(text, &LoadLimits::default())
}

/// (line, column) of `pointer` in the only/first document.
fn at(document: &Document, pointer: &str) -> (u32, u32) {
    let position = document
        .positions
        .locate(&document.value, pointer)
        .unwrap_or_else(|| panic!("no position for `{pointer}`"));
    (position.line, position.column)
}

fn single(text: &str) -> Document {
    let outcome = load(text);
    assert_eq!(outcome.errors, vec![], "unexpected errors");
    assert_eq!(outcome.documents.len(), 1);
    outcome.documents.into_iter().next().unwrap()
}

const POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: app
    image: nginx
    securityContext:
      allowPrivilegeEscalation: true
  - name: sidecar
    ports: [80, 443]
";

#[test]
fn positions_of_keys_and_elements() {
    let document = single(POD);
    assert_eq!(at(&document, ""), (1, 1));
    assert_eq!(at(&document, "/kind"), (2, 1));
    assert_eq!(at(&document, "/metadata/labels/app"), (6, 5));
    assert_eq!(at(&document, "/spec/containers"), (8, 3));
    // A block sequence element starts after its `- `.
    assert_eq!(at(&document, "/spec/containers/0"), (9, 5));
    assert_eq!(at(&document, "/spec/containers/0/name"), (9, 5));
    assert_eq!(
        at(
            &document,
            "/spec/containers/0/securityContext/allowPrivilegeEscalation"
        ),
        (12, 7)
    );
    assert_eq!(at(&document, "/spec/containers/1/name"), (13, 5));
    assert_eq!(at(&document, "/spec/containers/1/ports/1"), (14, 17));
    assert_eq!(document.positions.len(), 19);
}

#[test]
fn locate_past_existing_nodes_gives_deepest_ancestor() {
    let document = single(POD);
    assert_eq!(
        at(&document, "/spec/containers/1/securityContext/runAsNonRoot"),
        (13, 5)
    );
    assert_eq!(at(&document, "/spec/containers/7/name"), (8, 3));
    assert_eq!(at(&document, "/spec/containers/-"), (8, 3));
    assert_eq!(at(&document, "/spec/containers/01"), (8, 3));
    assert_eq!(at(&document, "/metadata/name/deeper"), (4, 3));
    assert_eq!(at(&document, "/nothing"), (1, 1));
    assert_eq!(document.positions.locate(&document.value, "metadata"), None);
}

#[test]
fn locate_unescapes_pointer_tokens() {
    let document = single("metadata:\n  annotations:\n    example.com/a~b: x\n");
    assert_eq!(
        at(&document, "/metadata/annotations/example.com~1a~0b"),
        (3, 5)
    );
}

#[test]
fn multi_document_indexes_count_empty_documents() {
    let text = "a: 1\n---\n---\n# only a comment\n---\nb: 2\n...\n---\nc: 3\n";
    let outcome = load(text);
    assert_eq!(outcome.errors, vec![]);
    let indexes: Vec<usize> = outcome.documents.iter().map(|d| d.index).collect();
    assert_eq!(indexes, vec![0, 1, 2, 3, 4]);
    assert_eq!(outcome.documents[1].value, Json::Null);
    assert_eq!(outcome.documents[3].value, json!({"b": 2}));
    assert_eq!(at(&outcome.documents[4], "/c"), (9, 1));
    assert!(load("").documents.is_empty());
    assert!(load("# nothing here\n").documents.is_empty());
}

#[test]
fn resources_expand_lists_and_report_non_objects() {
    let text = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
- just a string
- apiVersion: v1
  kind: Secret
---
---
- a
- b
---
kind: Pod
---
apiVersion: v1
kind: PodList
items:
- {apiVersion: v1, kind: Pod}
---
apiVersion: v1
kind: 3
---
apiVersion: apps/v1
kind: Deployment
";
    let outcome = load(text);
    assert_eq!(outcome.errors, vec![]);
    let mut errors = Vec::new();
    let found = resources(&outcome.documents, &mut errors);
    let summary: Vec<(usize, &str, &str)> = found
        .iter()
        .map(|r| {
            (
                r.document.index,
                r.pointer.as_str(),
                r.value["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, "/items/0", "ConfigMap"),
            (0, "/items/2", "Secret"),
            (4, "/items/0", "Pod"),
            (6, "", "Deployment"),
        ]
    );
    let described: Vec<_> = errors
        .iter()
        .map(|e| {
            (
                e.document,
                e.position.map(|p| (p.line, p.column)),
                e.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        described,
        vec![
            (
                Some(0),
                Some((6, 3)),
                "item 1 (`/items/1`) of document 1 is not a Kubernetes object: it is a string, not a mapping"
            ),
            (
                Some(2),
                Some((11, 1)),
                "document 3 is not a Kubernetes object: it is a sequence, not a mapping"
            ),
            (
                Some(3),
                Some((14, 1)),
                "document 4 is not a Kubernetes object: missing `apiVersion`"
            ),
            (
                Some(5),
                Some((21, 1)),
                "document 6 is not a Kubernetes object: `kind` is not a string"
            ),
        ]
    );
}

#[test]
fn resources_report_missing_kind() {
    let outcome = load("a: 1\n---\nfoo: bar\n");
    let mut errors = Vec::new();
    assert!(resources(&outcome.documents, &mut errors).is_empty());
    assert_eq!(errors.len(), 2);
    assert_eq!(
        errors[1].message,
        "document 2 is not a Kubernetes object: missing `apiVersion` and `kind`"
    );
    assert_eq!(errors[1].position, Some(Position { line: 3, column: 1 }));
}

#[test]
fn syntax_error_keeps_earlier_documents() {
    let text = "a: 1\n---\nb: 2\n---\nc: [1, 2\nd: 3\n---\ne: 5\n";
    let outcome = load(text);
    let values: Vec<&Json> = outcome.documents.iter().map(|d| &d.value).collect();
    assert_eq!(values, vec![&json!({"a": 1}), &json!({"b": 2})]);
    assert_eq!(outcome.errors.len(), 1);
    let error = &outcome.errors[0];
    assert_eq!(error.document, Some(2));
    assert_eq!(error.position.map(|p| p.line), Some(6));
    assert!(
        error.message.starts_with("syntax error: "),
        "{}",
        error.message
    );
}

#[test]
fn tab_indentation_is_a_syntax_error_but_tabs_elsewhere_are_fine() {
    // saphyr-parser rejects a tab right after `:` before a plain scalar
    // (`a:\t1`), although YAML allows it; a space before the tab is fine.
    let document = single("a: \t1\nb:\t[1,\t2]\nc: \"x\ty\"\n");
    assert_eq!(document.value, json!({"a": 1, "b": [1, 2], "c": "x\ty"}));
    assert_eq!(at(&document, "/b/1"), (2, 8));
    let outcome = load("a:\n\tb: 1\n");
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(outcome.errors[0].position.map(|p| p.line), Some(2));
}

#[test]
fn alias_bomb_is_refused_quickly() {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..9u8 {
        let previous = char::from(b'a' + level - 1);
        let name = char::from(b'a' + level);
        let aliases = vec![format!("*{previous}"); 9].join(",");
        text.push_str(&format!("{name}: &{name} [{aliases}]\n"));
    }
    text.push_str("---\nlater: document\n");
    let started = Instant::now();
    let outcome = load(&text);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(outcome.documents.is_empty());
    assert_eq!(outcome.errors.len(), 1);
    assert!(
        outcome.errors[0].message.contains("alias bomb"),
        "{}",
        outcome.errors[0].message
    );
    assert_eq!(outcome.errors[0].document, Some(0));
}

#[test]
fn aliases_are_expanded_and_located_at_the_alias() {
    let text = "\
base: &base
  image: nginx
  ports: [80]
copy: *base
list: [*base, &n 3, *n]
";
    let document = single(text);
    assert_eq!(
        document.value["copy"],
        json!({"image": "nginx", "ports": [80]})
    );
    assert_eq!(
        document.value["list"],
        json!([{"image": "nginx", "ports": [80]}, 3, 3])
    );
    assert_eq!(at(&document, "/base/ports/0"), (3, 11));
    assert_eq!(at(&document, "/copy"), (4, 1));
    assert_eq!(at(&document, "/copy/ports/0"), (4, 7));
    assert_eq!(at(&document, "/list/0/image"), (5, 8));
    assert_eq!(at(&document, "/list/2"), (5, 21));
}

#[test]
fn alias_to_an_anchor_of_another_document_is_an_error() {
    let outcome = load("a: &x 1\n---\nb: *x\n");
    assert_eq!(outcome.documents.len(), 1);
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(outcome.errors[0].document, Some(1));
    assert_eq!(
        outcome.errors[0].position,
        Some(Position { line: 3, column: 4 })
    );
}

#[test]
fn merge_keys_do_not_override_explicit_keys() {
    let text = "\
defaults: &defaults
  image: nginx
  pullPolicy: Always
extra: &extra
  pullPolicy: Never
  tty: true
container:
  name: app
  <<: [*defaults, *extra]
  image: custom
inline:
  <<: {a: 1}
  b: 2
quoted:
  \"<<\": literal
";
    let document = single(text);
    assert_eq!(
        document.value["container"],
        json!({"name": "app", "image": "custom", "pullPolicy": "Always", "tty": true})
    );
    assert_eq!(document.value["inline"], json!({"b": 2, "a": 1}));
    assert_eq!(document.value["quoted"], json!({"<<": "literal"}));
    assert_eq!(at(&document, "/container/image"), (10, 3));
    // Merged members are located at the alias they come from.
    assert_eq!(at(&document, "/container/pullPolicy"), (9, 8));
    assert_eq!(at(&document, "/container/tty"), (9, 19));
    assert_eq!(at(&document, "/inline/a"), (12, 8));
    assert_eq!(at(&document, "/inline/b"), (13, 3));
    assert_eq!(at(&document, "/quoted/<<"), (15, 3));
}

#[test]
fn merge_of_a_scalar_is_an_error() {
    let outcome = load("a:\n  <<: 3\n");
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(
        outcome.errors[0].position,
        Some(Position { line: 2, column: 3 })
    );
    assert!(outcome.errors[0].message.contains("merge key `<<`"));
}

#[test]
fn duplicate_keys_are_errors_at_the_second_key() {
    let outcome = load("a: 1\nb:\n  c: 1\n  c: 2\n---\nd: 1\n");
    assert_eq!(outcome.documents.len(), 1);
    assert_eq!(outcome.documents[0].index, 1);
    assert_eq!(
        outcome.errors,
        vec![LoadError {
            document: Some(0),
            position: Some(Position { line: 4, column: 3 }),
            message: "duplicate key `c`".to_owned(),
        }]
    );
}

#[test]
fn non_scalar_keys_are_errors() {
    let outcome = load("? [a, b]\n: 1\n");
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(
        outcome.errors[0].position,
        Some(Position { line: 1, column: 3 })
    );
}

#[test]
fn plain_scalars_resolve_as_kubernetes_reads_them_and_quoted_ones_are_strings() {
    let text = "\
- null
- ~
-
- true
- False
- TRUE
- 42
- -7
- +7
- 0x1F
- 0o17
- 3.5
- 1e3
- .5
- 18446744073709551615
- 99999999999999999999
- .inf
- -.Inf
- .nan
- yes
- 0x
- 1.2.3
- \"42\"
- 'true'
- \"null\"
- !!str 42
- !!int \"7\"
- !!float 1
- ! 12
- !Custom 5
- |
  text
- 1e999
- 012
";
    let document = single(text);
    assert_eq!(
        document.value,
        json!([
            null,
            null,
            null,
            true,
            false,
            true,
            42,
            -7,
            7,
            31,
            15,
            3.5,
            1000.0,
            0.5,
            18_446_744_073_709_551_615_u64,
            1e20,
            ".inf",
            "-.Inf",
            ".nan",
            true,
            "0x",
            "1.2.3",
            "42",
            "true",
            "null",
            "42",
            7,
            1.0,
            "12",
            5,
            "text\n",
            "1e999",
            10
        ])
    );
}

#[test]
fn a_scalar_that_does_not_fit_its_tag_is_an_error() {
    let outcome = load("a: !!int seven\n");
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(outcome.errors[0].message, "`seven` is not a valid `!!int`");
    assert_eq!(
        outcome.errors[0].position,
        Some(Position { line: 1, column: 4 })
    );
}

#[test]
fn json_input_has_positions() {
    let text = r#"{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a"}, {"name": "b", "image": "x"}]}}"#;
    let document = single(text);
    assert_eq!(document.value["spec"]["containers"][1]["image"], json!("x"));
    assert_eq!(at(&document, "/kind"), (1, 22));
    assert_eq!(at(&document, "/spec/containers/1"), (1, 76));
    assert_eq!(at(&document, "/spec/containers/1/image"), (1, 90));
    let array = single("[1, {\"a\": null}]");
    assert_eq!(array.value, json!([1, {"a": null}]));
    assert_eq!(at(&array, "/1/a"), (1, 6));
}

#[test]
fn large_single_line_json_parses_with_columns() {
    let items: Vec<serde_json::Value> = (0..2000)
        .map(|ordinal| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{ordinal}")}}))
        .collect();
    let text = serde_json::to_string(&json!({"apiVersion": "v1", "kind": "List", "items": items}))
        .unwrap();
    assert!(!text.contains('\n'));
    let document = single(&text);
    let needle = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1234"}}"#;
    let offset = text.find(needle).unwrap();
    let column = u32::try_from(offset).unwrap() + 1;
    assert_eq!(at(&document, "/items/1234"), (1, column));
    let name_offset = offset + needle.find(r#""name""#).unwrap();
    assert_eq!(
        at(&document, "/items/1234/metadata/name"),
        (1, u32::try_from(name_offset).unwrap() + 1)
    );
    let mut errors = Vec::new();
    assert_eq!(
        resources(std::slice::from_ref(&document), &mut errors).len(),
        2000
    );
}

#[test]
fn crlf_bom_and_non_ascii_text() {
    let document =
        single("\u{feff}apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: \"é\"\r\n  x: ü\r\n");
    assert_eq!(document.value["metadata"], json!({"name": "é", "x": "ü"}));
    assert_eq!(at(&document, ""), (1, 1));
    assert_eq!(at(&document, "/kind"), (2, 1));
    assert_eq!(at(&document, "/metadata/x"), (5, 3));
    let literal = single("a: |\r\n  one\r\n  two\r\n");
    assert_eq!(literal.value, json!({"a": "one\ntwo\n"}));
    let columns = single("ééé: [1, 2]\n");
    // Columns count characters, not bytes.
    assert_eq!(at(&columns, "/ééé/1"), (1, 10));
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    // Block nesting: refused by the loader at `max_depth`.
    let text = format!("{}1\n", "- ".repeat(100_000));
    let outcome = load(&text);
    assert!(outcome.documents.is_empty());
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(
        outcome.errors[0].message,
        "nesting deeper than 256 levels, the limit"
    );
    assert_eq!(
        outcome.errors[0].position,
        Some(Position {
            line: 1,
            column: 513
        })
    );
    // Flow nesting: saphyr's scanner stops at 255 levels on its own.
    let depth = 100_000;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let outcome = load(&text);
    assert!(outcome.documents.is_empty());
    assert_eq!(outcome.errors.len(), 1);

    let limits = LoadLimits {
        max_depth: 3,
        ..LoadLimits::default()
    };
    assert!(load_str("a: {b: [1]}\n", &limits).errors.is_empty());
    assert_eq!(load_str("a: {b: [[1]]}\n", &limits).errors.len(), 1);
    // An alias cannot get past the limit either.
    let via_alias = load_str("a: &x {b: [1]}\nc: [*x]\n", &limits);
    assert_eq!(via_alias.errors.len(), 1);
    assert_eq!(
        via_alias.errors[0].position,
        Some(Position { line: 2, column: 5 })
    );
}

#[test]
fn node_limit_stops_the_file() {
    let limits = LoadLimits {
        max_nodes: 10,
        ..LoadLimits::default()
    };
    let outcome = load_str(
        "a: [1, 2, 3]\n---\nb: [1, 2, 3, 4, 5, 6, 7, 8]\n---\nc: 1\n",
        &limits,
    );
    assert_eq!(outcome.documents.len(), 1);
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(outcome.errors[0].document, Some(1));
    assert!(outcome.errors[0].message.contains("more than 10 nodes"));
}

#[test]
fn load_error_displays_position_and_serializes() {
    let error = LoadError {
        document: Some(1),
        position: Some(Position { line: 3, column: 4 }),
        message: "duplicate key `a`".to_owned(),
    };
    assert_eq!(error.to_string(), "3:4: duplicate key `a`");
    assert_eq!(
        serde_json::to_value(&error).unwrap(),
        json!({"document": 1, "position": {"line": 3, "column": 4}, "message": "duplicate key `a`"})
    );
}

/// `count` members `k0: 0`, `k1: 1`, ... indented by `indent` spaces.
fn numbered_members(count: usize, indent: usize) -> String {
    (0..count)
        .map(|number| format!("{:indent$}k{number}: {number}\n", ""))
        .collect()
}

#[test]
fn large_mappings_keep_order_positions_and_nested_siblings() {
    // More members than are checked for duplicates by comparison, between
    // nested containers, so that the values of both ways share the stack.
    let text = format!(
        "before: [1, {{x: 2}}]\nlarge:\n{}after:\n  - 3\n",
        numbered_members(40, 2)
    );
    let document = single(&text);
    let large = document.value["large"].as_object().unwrap();
    let keys: Vec<&str> = large.keys().map(|key| key.as_str()).collect();
    let expected: Vec<String> = (0..40).map(|number| format!("k{number}")).collect();
    assert_eq!(keys, expected);
    assert_eq!(document.value["large"]["k39"], json!(39));
    assert_eq!(document.value["before"], json!([1, {"x": 2}]));
    assert_eq!(document.value["after"], json!([3]));
    assert_eq!(at(&document, "/large/k0"), (3, 3));
    assert_eq!(at(&document, "/large/k16"), (19, 3));
    assert_eq!(at(&document, "/large/k39"), (42, 3));
    assert_eq!(at(&document, "/after/0"), (44, 5));
    assert_eq!(document.positions.len(), 48);
}

#[test]
fn duplicate_keys_are_found_in_small_and_large_mappings() {
    for (members, duplicate) in [(3, 1), (16, 15), (17, 16), (40, 2), (40, 39)] {
        let text = format!(
            "m:\n{}  k{duplicate}: again\n",
            numbered_members(members, 2)
        );
        let outcome = load(&text);
        assert_eq!(outcome.documents, vec![], "{members} members");
        let line = u32::try_from(members).unwrap() + 2;
        assert_eq!(
            outcome.errors,
            vec![LoadError {
                document: Some(0),
                position: Some(Position { line, column: 3 }),
                message: format!("duplicate key `k{duplicate}`"),
            }],
            "{members} members"
        );
    }
}

#[test]
fn merge_into_a_large_mapping_keeps_explicit_keys() {
    let text = format!(
        "base: &base\n  k3: merged\n  extra: 1\nlarge:\n{}  <<: *base\n",
        numbered_members(20, 2)
    );
    let document = single(&text);
    let large = document.value["large"].as_object().unwrap();
    assert_eq!(large.len(), 21);
    assert_eq!(large["k3"], json!(3));
    assert_eq!(
        large.keys().next_back().map(|key| key.as_str()),
        Some("extra")
    );
    assert_eq!(at(&document, "/large/k19"), (24, 3));
    assert_eq!(at(&document, "/large/extra"), (25, 7));
}

#[test]
fn a_document_after_an_error_inside_nested_containers_loads_whole() {
    let text = "\
a:
  b: [1, {c: 1, c: 2}, 3]
  d: x
---
e: [1, {f: 2}]
g: h
";
    let outcome = load(text);
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(outcome.errors[0].message, "duplicate key `c`");
    assert_eq!(outcome.documents.len(), 1);
    let document = &outcome.documents[0];
    assert_eq!(document.index, 1);
    assert_eq!(document.value, json!({"e": [1, {"f": 2}], "g": "h"}));
    assert_eq!(at(document, "/e/1/f"), (5, 9));
    assert_eq!(at(document, "/g"), (6, 1));
    assert_eq!(document.positions.len(), 6);
}

/// Known member names are compared by address, so every way a key is made
/// (the JSON reader, the YAML builder, deserializing, `Key::new`) must give
/// the one shared copy of a name.
#[test]
fn every_loader_shares_one_copy_of_a_known_name() {
    let from_json = single(r#"{"metadata": {"name": "a"}}"#);
    let from_yaml = single("metadata:\n  name: a\n");
    let deserialized: Json = serde_json::from_str(r#"{"metadata": {"name": "a"}}"#).unwrap();
    let made = crate::json::Key::new("metadata");
    let keys: Vec<&crate::json::Key> = [&from_json.value, &from_yaml.value, &deserialized]
        .into_iter()
        .map(|value| value.as_object().unwrap().keys().next().unwrap())
        .collect();
    for key in keys {
        assert!(key.is_shared());
        assert_eq!(*key, made);
        assert_eq!(key.as_str().as_ptr(), made.as_str().as_ptr());
    }
}
