//! Random policies that type-check: expressions built by type (string,
//! number, boolean, list of strings) from the pod's fields, so that most
//! generated policies compile and reach the evaluator, its plans and its
//! builtins, rather than stopping at the type checker.

use crate::mutate::Rng;

/// Names in scope: `c` and the let `b` (inside the loop), the let `a`
/// (after it), comprehension variables.
#[derive(Clone, Copy)]
struct Scope {
    in_loop: bool,
    has_a: bool,
    has_b: bool,
    /// How many comprehension variables are open (`x0`, `x1`, ...).
    bound: usize,
}

fn string(rng: &mut Rng, scope: &Scope, depth: usize) -> String {
    const LEAVES: &[&str] = &[
        "\"\"",
        "\"web\"",
        "\"nginx:1.25\"",
        "\"a\"",
        "\"docker.io/library/nginx@sha256:0\"",
        "(pod.metadata.name ?? \"\")",
        "(pod.metadata.namespace ?? \"default\")",
        "(pod.metadata.labels[\"app\"] ?? \"\")",
        "(pod.metadata.annotations[\"team\"] ?? \"\")",
    ];
    if depth == 0 || rng.chance(1, 3) {
        if scope.in_loop && rng.chance(1, 3) {
            if scope.has_b && rng.chance(1, 3) {
                return "b".to_owned();
            }
            return (*rng.pick(&["c.name", "(c.image ?? \"\")"])).to_owned();
        }
        if scope.bound > 0 && rng.chance(1, 3) {
            return format!("x{}", rng.below(scope.bound));
        }
        if scope.has_a && rng.chance(1, 4) {
            return "a".to_owned();
        }
        return (*rng.pick(LEAVES)).to_owned();
    }
    let next = depth - 1;
    match rng.below(9) {
        0 => format!(
            "{}({})",
            rng.pick(&["lower", "upper", "trim"]),
            string(rng, scope, next)
        ),
        1 => format!(
            "replace({}, {}, {})",
            string(rng, scope, next),
            string(rng, scope, next),
            string(rng, scope, next)
        ),
        2 => format!(
            "{} + {}",
            string(rng, scope, next),
            string(rng, scope, next)
        ),
        3 => format!("string({})", number(rng, scope, next)),
        4 => format!(
            "join({}, {})",
            strings(rng, scope, next),
            string(rng, scope, next)
        ),
        5 => format!(
            "(if {} then {} else {})",
            boolean(rng, scope, next),
            string(rng, scope, next),
            string(rng, scope, next)
        ),
        6 => format!(
            "(image({}).{} ?? \"\")",
            string(rng, scope, next),
            rng.pick(&["registry", "repository", "name", "tag", "digest"])
        ),
        7 => format!(
            "({}[{}] ?? \"\")",
            strings(rng, scope, next),
            number(rng, scope, next)
        ),
        _ => format!("(string({}) ?? \"\")", strings(rng, scope, next)),
    }
}

fn number(rng: &mut Rng, scope: &Scope, depth: usize) -> String {
    const LEAVES: &[&str] = &["0", "1", "-1", "2", "1.5", "9223372036854775807"];
    if depth == 0 || rng.chance(1, 3) {
        return (*rng.pick(LEAVES)).to_owned();
    }
    let next = depth - 1;
    match rng.below(7) {
        0 => format!("count({})", strings(rng, scope, next)),
        1 => format!("count({})", string(rng, scope, next)),
        2 => format!(
            "({} {} {})",
            number(rng, scope, next),
            rng.pick(&["+", "-", "*", "/", "%"]),
            number(rng, scope, next)
        ),
        3 => format!("(int({}) ?? 0)", string(rng, scope, next)),
        4 => format!("(quantity({}) ?? 0)", string(rng, scope, next)),
        5 => format!(
            "({}([{}, {}]) ?? 0)",
            rng.pick(&["sum", "min", "max"]),
            number(rng, scope, next),
            number(rng, scope, next)
        ),
        _ => format!(
            "(if {} then {} else {})",
            boolean(rng, scope, next),
            number(rng, scope, next),
            number(rng, scope, next)
        ),
    }
}

fn boolean(rng: &mut Rng, scope: &Scope, depth: usize) -> String {
    const LEAVES: &[&str] = &[
        "true",
        "false",
        "pod.spec.hostNetwork == true",
        "is_null(pod.spec.securityContext)",
        "has_key(pod.metadata.labels, \"app\")",
        "version_at_least(\"1.30\")",
    ];
    if depth == 0 || rng.chance(1, 4) {
        if scope.in_loop && rng.chance(1, 3) {
            return "c.securityContext.privileged == true".to_owned();
        }
        return (*rng.pick(LEAVES)).to_owned();
    }
    let next = depth - 1;
    match rng.below(10) {
        0 => format!(
            "{} {} {}",
            string(rng, scope, next),
            rng.pick(&["==", "!=", "<", ">="]),
            string(rng, scope, next)
        ),
        1 => format!(
            "{} {} {}",
            number(rng, scope, next),
            rng.pick(&["==", "<", "<=", ">"]),
            number(rng, scope, next)
        ),
        2 => format!(
            "{}({}, {})",
            rng.pick(&["starts_with", "ends_with", "contains", "glob"]),
            string(rng, scope, next),
            string(rng, scope, next)
        ),
        3 => format!(
            "matches({}, {})",
            string(rng, scope, next),
            rng.pick(&["\"^a.*\"", "\"(a|b)+$\"", "\"[0-9]{2,}\"", "r\"\\d+\""])
        ),
        4 => format!(
            "({} {} {})",
            boolean(rng, scope, next),
            rng.pick(&["and", "or"]),
            boolean(rng, scope, next)
        ),
        5 => format!("not ({})", boolean(rng, scope, next)),
        6 => format!(
            "{} {} {}",
            string(rng, scope, next),
            rng.pick(&["in", "not in"]),
            strings(rng, scope, next)
        ),
        7 => {
            let variable = scope.bound;
            let inner = Scope {
                bound: scope.bound + 1,
                ..*scope
            };
            format!(
                "{}(x{variable} in {}: {})",
                rng.pick(&["any", "all"]),
                strings(rng, scope, next),
                boolean(rng, &inner, next)
            )
        }
        8 => format!(
            "selects({{matchLabels: {{app: {}}}}}, pod.metadata.labels)",
            string(rng, scope, next)
        ),
        _ => format!(
            "(if {} then {} else {})",
            boolean(rng, scope, next),
            boolean(rng, scope, next),
            boolean(rng, scope, next)
        ),
    }
}

fn strings(rng: &mut Rng, scope: &Scope, depth: usize) -> String {
    if depth == 0 || rng.chance(1, 4) {
        return (*rng.pick(&[
            "[]",
            "[\"a\", \"b\"]",
            "keys(pod.metadata.labels)",
            "[y.name for y in pod.containers]",
        ]))
        .to_owned();
    }
    let next = depth - 1;
    match rng.below(5) {
        0 => format!(
            "[{}, {}]",
            string(rng, scope, next),
            string(rng, scope, next)
        ),
        1 => format!(
            "split({}, {})",
            string(rng, scope, next),
            string(rng, scope, next)
        ),
        2 => format!(
            "{} + {}",
            strings(rng, scope, next),
            strings(rng, scope, next)
        ),
        3 => {
            let variable = scope.bound;
            let inner = Scope {
                bound: scope.bound + 1,
                ..*scope
            };
            format!(
                "[{} for x{variable} in {} if {}]",
                string(rng, &inner, next),
                strings(rng, scope, next),
                boolean(rng, &inner, next)
            )
        }
        _ => "values(pod.metadata.labels)".to_owned(),
    }
}

/// A policy on pods whose lets, loop and rule are random expressions of the right types.
pub fn policy(rng: &mut Rng) -> Vec<u8> {
    let depth = 1 + rng.below(5);
    let before_a = Scope {
        in_loop: false,
        has_a: false,
        has_b: false,
        bound: 0,
    };
    let top = Scope {
        has_a: true,
        ..before_a
    };
    let inside = Scope {
        in_loop: true,
        ..top
    };
    let after_b = Scope {
        has_b: true,
        ..inside
    };
    let action = *rng.pick(&["deny", "warn"]);
    let text = format!(
        "policy fuzz.typed {{\n  severity low\n  match pods\n  let a = {}\n  {action} {}\n    message \"pod {{a}}\"\n  for c in pod.containers {{\n    let b = {}\n    {action} {}\n      at c.image\n      message \"container {{c.name}}: {{b}}\"\n      fix c.securityContext.privileged = false\n  }}\n}}\n",
        string(rng, &before_a, depth),
        boolean(rng, &top, depth),
        string(rng, &inside, depth),
        boolean(rng, &after_b, depth)
    );
    text.into_bytes()
}

#[test]
fn most_typed_policies_compile() {
    let mut rng = Rng::new(3);
    let mut compiled = 0;
    let mut first_error = None;
    for _ in 0..200 {
        let text = String::from_utf8(policy(&mut rng)).unwrap();
        let compilation = rampart_lang::compile(&[rampart_lang::Source {
            name: "typed.rampart".to_owned(),
            text: text.clone(),
        }]);
        if compilation.has_errors() {
            eprintln!(
                "ERR {} @@ {}",
                compilation.diagnostics[0].message,
                text.replace('\n', " ")
            );
            first_error.get_or_insert((text, compilation.diagnostics[0].message.clone()));
        } else {
            compiled += 1;
        }
    }
    assert!(
        compiled >= 150,
        "{compiled} of 200 compiled; the first error: {first_error:?}"
    );
}
