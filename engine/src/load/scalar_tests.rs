//! Plain scalars and keys resolve as Kubernetes' YAML reader (go-yaml v2
//! under `sigs.k8s.io/yaml`) resolves them: one test per form.

use serde_json::json;

use super::*;

/// The values of `items`, each written plain as a sequence item.
fn values(items: &[&str]) -> Vec<serde_json::Value> {
    let text: String = items.iter().map(|item| format!("- {item}\n")).collect();
    let outcome = load_str(&text, &LoadLimits::default());
    assert_eq!(outcome.errors, vec![]);
    let value = serde_json::to_value(&outcome.documents[0].value).unwrap();
    value.as_array().cloned().unwrap()
}

fn value(item: &str) -> serde_json::Value {
    values(&[item]).remove(0)
}

/// The member name each of `keys` makes, written plain as the key of a
/// mapping of its own.
fn keys(keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|key| {
            let outcome = load_str(&format!("{key}: 1\n"), &LoadLimits::default());
            assert_eq!(outcome.errors, vec![], "{key}");
            let object = outcome.documents[0].value.as_object().unwrap();
            object.keys().map(|key| key.as_str().to_owned()).collect()
        })
        .collect()
}

fn load_errors(text: &str) -> Vec<String> {
    load_str(text, &LoadLimits::default())
        .errors
        .into_iter()
        .map(|error| error.to_string())
        .collect()
}

#[test]
fn yaml_1_1_booleans_are_booleans() {
    let truthy = [
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
    ];
    assert_eq!(values(&truthy), vec![json!(true); truthy.len()]);
    let falsy = [
        "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
    ];
    assert_eq!(values(&falsy), vec![json!(false); falsy.len()]);
}

#[test]
fn other_capitalisations_of_booleans_are_strings() {
    // go-yaml's table holds three spellings of each word, no more.
    let others = [
        "yEs", "yES", "oN", "oFF", "tRUE", "nO", "ofF", "Ye", "yess", "onn",
    ];
    let expected: Vec<_> = others.iter().map(|text| json!(text)).collect();
    assert_eq!(values(&others), expected);
}

#[test]
fn a_pod_that_kubectl_runs_privileged_is_read_privileged() {
    let text = "\
apiVersion: v1
kind: Pod
spec:
  hostNetwork: yes
  hostPID: on
  hostIPC: Y
  containers:
  - name: app
    securityContext:
      privileged: ON
      runAsUser: 0x0
      runAsNonRoot: off
  - name: other
    securityContext:
      runAsUser: 00
";
    let outcome = load_str(text, &LoadLimits::default());
    assert_eq!(outcome.errors, vec![]);
    let pod = &outcome.documents[0].value;
    assert_eq!(pod["spec"]["hostNetwork"], Json::Bool(true));
    assert_eq!(pod["spec"]["hostPID"], Json::Bool(true));
    assert_eq!(pod["spec"]["hostIPC"], Json::Bool(true));
    let first = &pod["spec"]["containers"][0]["securityContext"];
    assert_eq!(first["privileged"], Json::Bool(true));
    assert_eq!(first["runAsUser"], Json::from(0));
    assert_eq!(first["runAsNonRoot"], Json::Bool(false));
    let second = &pod["spec"]["containers"][1]["securityContext"];
    assert_eq!(second["runAsUser"], Json::from(0));
}

#[test]
fn nulls() {
    assert_eq!(
        values(&["~", "null", "Null", "NULL", ""]),
        vec![json!(null); 5]
    );
    assert_eq!(
        values(&["nULL", "NUll"]),
        vec![json!("nULL"), json!("NUll")]
    );
}

#[test]
fn hexadecimal_octal_and_binary_integers() {
    assert_eq!(
        values(&[
            "0x1F", "0X1f", "-0x1F", "+0x1F", "0x0", "0o17", "0O17", "0b101", "0B101", "-0b101"
        ]),
        vec![
            json!(31),
            json!(31),
            json!(-31),
            json!(31),
            json!(0),
            json!(15),
            json!(15),
            json!(5),
            json!(5),
            json!(-5)
        ]
    );
    // A prefix needs a digit after it; a digit must fit the base.
    assert_eq!(
        values(&["0x", "0b", "0o", "0xG", "0b2", "0o8"]),
        vec![
            json!("0x"),
            json!("0b"),
            json!("0o"),
            json!("0xG"),
            json!("0b2"),
            json!("0o8")
        ]
    );
}

#[test]
fn a_leading_zero_is_octal() {
    assert_eq!(
        values(&["0755", "0644", "00", "0", "-0", "010", "-010", "+017"]),
        vec![
            json!(493),
            json!(420),
            json!(0),
            json!(0),
            json!(0),
            json!(8),
            json!(-8),
            json!(15)
        ]
    );
    // Not octal digits: not an integer, but the pattern of a float.
    assert_eq!(
        values(&["08", "09", "0800", "-08"]),
        vec![json!(8.0), json!(9.0), json!(800.0), json!(-8.0)]
    );
}

#[test]
fn underscores_are_dropped_from_numbers() {
    assert_eq!(
        values(&[
            "1_000", "1__0", "1_", "0x_1F", "0b1_0", "-1_0", "1_000.5", "0_755"
        ]),
        vec![
            json!(1000),
            json!(10),
            json!(1),
            json!(31),
            json!(2),
            json!(-10),
            json!(1000.5),
            json!(493)
        ]
    );
    // A leading underscore is no number (the first byte decides); a dot
    // first reads the float as written.
    assert_eq!(
        values(&["_1", "._5", ".5_0"]),
        vec![json!("_1"), json!("._5"), json!(".5_0")]
    );
}

#[test]
fn decimal_integers_and_their_range() {
    assert_eq!(
        values(&[
            "42",
            "+1",
            "-7",
            "9223372036854775807",
            "-9223372036854775808"
        ]),
        vec![
            json!(42),
            json!(1),
            json!(-7),
            json!(i64::MAX),
            json!(i64::MIN)
        ]
    );
    // Past the signed range, the unsigned reading; past both, a float. A
    // sign rules out the unsigned reading.
    assert_eq!(
        values(&[
            "9223372036854775808",
            "18446744073709551615",
            "18446744073709551616"
        ]),
        vec![
            json!(9_223_372_036_854_775_808_u64),
            json!(u64::MAX),
            json!(18_446_744_073_709_551_616.0)
        ]
    );
    assert_eq!(
        values(&["+9223372036854775808", "-9223372036854775809"]),
        vec![
            json!(9_223_372_036_854_775_808.0),
            json!(-9_223_372_036_854_775_809.0)
        ]
    );
}

#[test]
fn floats() {
    assert_eq!(
        values(&[
            "1.5", "-1.5", "+.5", ".5", "-.5", "1e3", "1E-2", "2.", ".5e1"
        ]),
        vec![
            json!(1.5),
            json!(-1.5),
            json!(0.5),
            json!(0.5),
            json!(-0.5),
            json!(1000.0),
            json!(0.01),
            json!(2.0),
            json!(5.0)
        ]
    );
    assert_eq!(
        values(&["1.2.3", "1e", "e3", ".", "+", "1e999", "0x1p3"]),
        vec![
            json!("1.2.3"),
            json!("1e"),
            json!("e3"),
            json!("."),
            json!("+"),
            json!("1e999"),
            json!("0x1p3")
        ]
    );
}

#[test]
fn special_floats_keep_their_text() {
    let specials = [
        ".inf", ".Inf", ".INF", "+.inf", "-.inf", "-.Inf", ".nan", ".NaN", ".NAN",
    ];
    let expected: Vec<_> = specials.iter().map(|text| json!(text)).collect();
    assert_eq!(values(&specials), expected);
}

#[test]
fn timestamps_are_strings() {
    assert_eq!(
        values(&["2001-12-14", "2001-12-14t21:59:43.10-05:00"]),
        vec![json!("2001-12-14"), json!("2001-12-14t21:59:43.10-05:00")]
    );
}

#[test]
fn quoted_block_and_tagged_scalars_stay_strings() {
    assert_eq!(
        values(&[
            "\"yes\"",
            "'on'",
            "\"0755\"",
            "'0x0'",
            "!!str yes",
            "!!str 0755",
            "! on"
        ]),
        vec![
            json!("yes"),
            json!("on"),
            json!("0755"),
            json!("0x0"),
            json!("yes"),
            json!("0755"),
            json!("on")
        ]
    );
    assert_eq!(value("|-\n  yes"), json!("yes"));
    // Tags read the YAML 1.1 forms too.
    assert_eq!(
        values(&["!!bool yes", "!!int 0755", "!!int 1_000", "!!float 0x10"]),
        vec![json!(true), json!(493), json!(1000), json!(16.0)]
    );
}

#[test]
fn plain_keys_are_named_as_kubernetes_names_them() {
    assert_eq!(
        keys(&["yes", "on", "Y", "No", "off", "n"]),
        vec!["true", "true", "true", "false", "false", "false"]
    );
    assert_eq!(
        keys(&["0x1F", "0755", "1_000", "+5", "-0"]),
        vec!["31", "493", "1000", "5", "0"]
    );
}

#[test]
fn float_keys_are_written_as_single_precision_floats() {
    assert_eq!(
        keys(&[
            "1.50",
            "1e6",
            "100000.0",
            "0.0001",
            "0.00001",
            "3.14159265358979",
            "-2.5e-7",
            "1e39"
        ]),
        vec![
            "1.5",
            "1e+06",
            "100000",
            "0.0001",
            "1e-05",
            "3.1415927",
            "-2.5e-07",
            ".inf"
        ]
    );
    assert_eq!(
        keys(&[".Inf", "+.inf", "-.INF", ".NaN"]),
        vec![".inf", ".inf", "-.inf", ".nan"]
    );
}

#[test]
fn keys_that_are_strings_quoted_or_tagged_keep_their_text() {
    assert_eq!(
        keys(&[
            "name",
            "\"yes\"",
            "'on'",
            "!!str off",
            "\"0755\"",
            "nodeSelector",
            "10.0.0.1"
        ]),
        vec![
            "name",
            "yes",
            "on",
            "off",
            "0755",
            "nodeSelector",
            "10.0.0.1"
        ]
    );
}

#[test]
fn keys_kubernetes_refuses_are_errors() {
    assert_eq!(
        load_errors("~: 1\n"),
        vec![
            "1:1: the mapping key `~` is null, which Kubernetes does not take as a key (quote it to make it a string)"
        ]
    );
    assert_eq!(load_errors("a: 1\nnull: 2\n").len(), 1);
    assert_eq!(
        load_errors("18446744073709551615: 1\n"),
        vec![
            "1:1: the mapping key `18446744073709551615` is an integer beyond 64-bit signed, which Kubernetes does not take as a key (quote it to make it a string)"
        ]
    );
}

#[test]
fn keys_that_name_the_same_member_are_duplicates() {
    assert_eq!(
        load_errors("yes: 1\ntrue: 2\n"),
        vec!["2:1: duplicate key `true`"]
    );
    assert_eq!(
        load_errors("0x10: 1\n16: 2\n"),
        vec!["2:1: duplicate key `16`"]
    );
}

#[test]
fn anchored_and_aliased_keys_resolve_too() {
    // An anchored plain key is the value its scalar resolves to.
    let outcome = load_str("&a yes: 1\nb: *a\n", &LoadLimits::default());
    assert_eq!(outcome.errors, vec![]);
    let value = serde_json::to_value(&outcome.documents[0].value).unwrap();
    assert_eq!(value, json!({"true": 1, "b": true}));
    // An alias used as a key is named by its value.
    let outcome = load_str("a: &n 0x1F\nb: {*n : x}\n", &LoadLimits::default());
    assert_eq!(outcome.errors, vec![]);
    let value = serde_json::to_value(&outcome.documents[0].value).unwrap();
    assert_eq!(value, json!({"a": 31, "b": {"31": "x"}}));
}
