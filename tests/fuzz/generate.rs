//! Structure-aware generators: inputs that byte mutations seldom reach,
//! such as deep nesting of one construct, long chains of an operator, YAML
//! anchors and aliases, and random well-formed expressions.

use crate::mutate::Rng;

/// Nesting depths and chain lengths the generators pick from: around the
/// loaders' depth limit (256), and far past it.
const DEPTHS: &[usize] = &[
    1, 2, 8, 16, 20, 25, 60, 100, 255, 256, 257, 300, 1_000, 5_000,
];

fn depth(rng: &mut Rng) -> usize {
    *rng.pick(DEPTHS)
}

/// The text of a policy around `condition`, with `prelude` (lets, loops) before the rule.
pub fn policy_around(prelude: &str, condition: &str) -> Vec<u8> {
    format!(
        "policy fuzz.generated {{\n  severity low\n  match pods\n{prelude}  deny {condition}\n    message \"found {{pod.metadata.name}}\"\n}}\n"
    )
    .into_bytes()
}

/// A random well-formed-looking expression of at most `depth` levels.
pub fn expression(rng: &mut Rng, depth: usize) -> String {
    const LEAVES: &[&str] = &[
        "null",
        "true",
        "false",
        "0",
        "-1",
        "1.5",
        "9223372036854775807",
        "\"text\"",
        "\"\"",
        "r\"^a+$\"",
        "pod.metadata.name",
        "pod.metadata.annotations",
        "pod.metadata.labels[\"app\"]",
        "pod.spec.containers",
        "pod.spec.containers[0].image",
        "pod.spec.containers[-1].securityContext.privileged",
        "pod.spec.hostNetwork",
        "resource.kind",
        "old_resource",
        "[]",
        "{}",
        "[1, 2, 3]",
        "{a: 1, \"b-c\": [true]}",
    ];
    if depth == 0 || rng.chance(1, 4) {
        return (*rng.pick(LEAVES)).to_owned();
    }
    let next = depth - 1;
    match rng.below(14) {
        0 => format!("not {}", expression(rng, next)),
        1 => {
            let operator = *rng.pick(&[
                "and", "or", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/",
                "%", "??",
            ]);
            format!(
                "{} {operator} {}",
                expression(rng, next),
                expression(rng, next)
            )
        }
        2 => format!("({})", expression(rng, next)),
        3 => format!(
            "if {} then {} else {}",
            expression(rng, next),
            expression(rng, next),
            expression(rng, next)
        ),
        4 => format!("[{}, {}]", expression(rng, next), expression(rng, next)),
        5 => format!("{{key: {}}}", expression(rng, next)),
        6 => format!(
            "[x for x in {} if {}]",
            expression(rng, next),
            expression(rng, next)
        ),
        7 => format!(
            "{}(x in {}: {})",
            rng.pick(&["any", "all"]),
            expression(rng, next),
            expression(rng, next)
        ),
        8 => {
            let function = *rng.pick(&[
                "count", "lower", "upper", "trim", "string", "int", "keys", "values", "sum", "min",
                "max", "any", "all", "quantity", "image", "is_null",
            ]);
            format!("{function}({})", expression(rng, next))
        }
        9 => {
            let function = *rng.pick(&[
                "starts_with",
                "ends_with",
                "contains",
                "matches",
                "glob",
                "split",
                "join",
                "has_key",
                "selects",
            ]);
            format!(
                "{function}({}, {})",
                expression(rng, next),
                expression(rng, next)
            )
        }
        10 => format!(
            "replace({}, {}, {})",
            expression(rng, next),
            expression(rng, next),
            expression(rng, next)
        ),
        11 => format!("{}[{}]", expression(rng, next), expression(rng, next)),
        12 => format!("{}.spec", expression(rng, next)),
        _ => format!("version_at_least(\"1.{}\")", rng.below(40)),
    }
}

/// A policy: a random expression, or one construct nested or chained very deep.
pub fn policy(rng: &mut Rng) -> Vec<u8> {
    let levels = depth(rng);
    match rng.below(16) {
        // Most generated policies type-check, to reach the evaluator.
        10..16 => crate::typed::policy(rng),
        0 => policy_around("", &nested(levels, "(", "true", ")")),
        1 => policy_around("", &format!("{}true", "not ".repeat(levels))),
        2 => policy_around("", &format!("{}1 == 2", "1 + ".repeat(levels))),
        3 => {
            let chain: Vec<String> = (0..levels)
                .map(|index| format!("pod.metadata.name == \"n{index}\""))
                .collect();
            policy_around("", &chain.join(" or "))
        }
        4 => policy_around(
            "",
            &format!(
                "{}true{}",
                "if true then ".repeat(levels),
                " else false".repeat(levels)
            ),
        ),
        5 => policy_around("", &format!("{} == []", nested(levels, "[", "1", "]"))),
        6 => {
            // Unclosed brackets: the parser's error path.
            policy_around("", &"[".repeat(levels))
        }
        7 => {
            // A chain of lets, each using the one before.
            let mut prelude = String::from("  let v0 = pod.metadata.name\n");
            for index in 1..levels.min(2_000) {
                prelude.push_str(&format!("  let v{index} = v{} + \"x\"\n", index - 1));
            }
            policy_around(&prelude, &format!("v{} == \"\"", levels.min(2_000) - 1))
        }
        8 => policy_around("", &format!("{} == {{}}", nested(levels, "{a: ", "1", "}"))),
        _ => {
            let prelude = format!("  let generated = {}\n", expression(rng, 5));
            policy_around(&prelude, &expression(rng, 6))
        }
    }
}

/// `open` `levels` times, then `inner`, then `close` `levels` times.
pub fn nested(levels: usize, open: &str, inner: &str, close: &str) -> String {
    let mut text = String::with_capacity(levels * (open.len() + close.len()) + inner.len());
    for _ in 0..levels {
        text.push_str(open);
    }
    text.push_str(inner);
    for _ in 0..levels {
        text.push_str(close);
    }
    text
}

/// A pod manifest in YAML with `extra` lines appended at the top level.
fn yaml_pod(extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: generated\nspec:\n  containers:\n  - name: app\n    image: nginx\n{extra}"
    )
}

/// YAML: deep block and flow nesting, anchors and aliases (chains and
/// fans), merge keys, many documents, odd scalars.
pub fn yaml(rng: &mut Rng) -> Vec<u8> {
    let levels = depth(rng);
    let text = match rng.below(9) {
        0 => yaml_pod(&format!("deep: {}\n", nested(levels, "[", "1", "]"))),
        1 => yaml_pod(&format!("deep: {}\n", nested(levels, "{a: ", "1", "}"))),
        2 => {
            let mut text = String::from("deep:\n");
            for level in 0..levels.min(2_000) {
                text.push_str(&" ".repeat(level + 1));
                text.push_str("a:\n");
            }
            yaml_pod(&text)
        }
        3 => {
            // Each anchor names a list of two of the previous one: doubling.
            let mut text = String::from("a0: &a0 [\"xxxxxxxxxxxxxxxx\", 1]\n");
            for index in 1..levels.min(64) {
                text.push_str(&format!(
                    "a{index}: &a{index} [*a{}, *a{}]\n",
                    index - 1,
                    index - 1
                ));
            }
            yaml_pod(&text)
        }
        4 => {
            // One long string, aliased many times.
            let size = *rng.pick(&[10usize, 1_000, 10_240]);
            let mut text = format!("big: &big \"{}\"\nmany:\n", "x".repeat(size));
            for _ in 0..levels * 4 {
                text.push_str("- *big\n");
            }
            yaml_pod(&text)
        }
        5 => {
            // Merge keys over merge keys.
            let mut text = String::from("m0: &m0 {a: 1, b: 2}\n");
            for index in 1..levels.min(200) {
                text.push_str(&format!(
                    "m{index}: &m{index}\n  <<: [*m{}, *m0]\n  k{index}: {index}\n",
                    index - 1
                ));
            }
            yaml_pod(&text)
        }
        6 => {
            let document = yaml_pod("");
            let mut text = String::new();
            for _ in 0..levels.min(2_000) {
                text.push_str(&document);
                text.push_str("---\n");
            }
            text
        }
        7 => {
            let scalars = [
                "yes",
                "on",
                "ON",
                "~",
                "0x1F",
                "0o17",
                "1e3",
                ".inf",
                "-.nan",
                "!!int 12",
                "!!str 12",
                "!!float x",
                "!!bool yes",
                "!!null ''",
                "2027-02-30",
                "'it''s'",
                "\"\\u00e9\\x41\\L\"",
                "|-\n  block",
                ">\n  folded",
                "&x 1",
                "*undefined",
                "? complex",
                "!custom 1",
                "1_000",
                "+12",
                "-0",
                "0.",
            ];
            let mut text = String::new();
            for index in 0..12 {
                text.push_str(&format!("k{index}: {}\n", rng.pick(&scalars)));
            }
            yaml_pod(&text)
        }
        _ => {
            // A kind: List of lists.
            let mut text = String::from("apiVersion: v1\nkind: List\nitems:\n");
            for _ in 0..levels.min(100) {
                text.push_str(&format!(
                    "- {}\n",
                    "{apiVersion: v1, kind: List, items: [{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: i}]}}]}"
                ));
            }
            text
        }
    };
    text.into_bytes()
}

/// JSON: deep arrays and objects, long strings with escapes, odd numbers,
/// duplicate keys, several values in a row (JSON lines).
pub fn json(rng: &mut Rng) -> Vec<u8> {
    let levels = depth(rng);
    let pod = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}";
    let text = match rng.below(7) {
        0 => format!("{pod},\"deep\":{}}}", nested(levels, "[", "1", "]")),
        1 => format!("{pod},\"deep\":{}}}", nested(levels, "{\"a\":", "1", "}")),
        2 => format!(
            "{pod},\"s\":\"{}\"}}",
            "\\u00e9\\n\\\"\\ud83d\\ude00\\\\".repeat(levels)
        ),
        3 => {
            let numbers = [
                "1e309",
                "-0",
                "0.1e-400",
                "123456789012345678901234567890",
                "1E2",
                "-1.5e+3",
                "01",
                "1.",
                ".5",
                "+1",
                "NaN",
                "0x10",
            ];
            format!("{pod},\"n\":{}}}", rng.pick(&numbers))
        }
        4 => format!("{pod},\"metadata\":{{\"name\":\"again\"}}}}"),
        5 => {
            let mut text = String::new();
            for _ in 0..levels.min(2_000) {
                text.push_str(pod);
                text.push_str("}\n");
            }
            text
        }
        _ => format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{}]}}",
            vec![format!("{pod}}}"); levels.min(500)].join(",")
        ),
    };
    text.into_bytes()
}
