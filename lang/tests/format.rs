//! `rampart_lang::format`: idempotent over the standard library and the
//! documentation's examples, and never a change to what a file compiles to.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use rampart_lang::format::format;
use rampart_lang::{Source, compile};

/// Every standard-library file and every ```rampart block of docs/language.md.
fn corpus() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = rampart_stdlib::sources()
        .map(|(name, text)| (name, text.to_owned()))
        .collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/language.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in text.lines().enumerate() {
        if let Some((start, body)) = &mut current {
            if line.trim() == "```" {
                files.push((format!("docs/language.md:{start}"), std::mem::take(body)));
                current = None;
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if line.trim() == "```rampart" {
            current = Some((number + 2, String::new()));
        }
    }
    assert!(files.len() > 30, "the corpus lost its files");
    files
}

/// What files compile to, without the `file:line` origins and test lines
/// (blank lines removed by the formatter move them).
fn compiled(files: &[(String, String)]) -> serde_json::Value {
    let sources: Vec<Source> = files
        .iter()
        .map(|(name, text)| Source {
            name: name.clone(),
            text: text.clone(),
        })
        .collect();
    let compilation = compile(&sources);
    let errors: Vec<_> = compilation
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.level == rampart_lang::Level::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let mut set = serde_json::to_value(&compilation.set).unwrap();
    for policy in set["policies"].as_array_mut().unwrap() {
        policy.as_object_mut().unwrap().remove("origin");
    }
    let line_numbers = regex::Regex::new(r"line: \d+").unwrap();
    let tests: Vec<String> = compilation
        .tests
        .iter()
        .map(|test| {
            line_numbers
                .replace_all(&format!("{test:?}"), "line: _")
                .into_owned()
        })
        .collect();
    serde_json::json!({ "set": set, "tests": tests })
}

#[test]
fn formatting_is_idempotent() {
    for (name, text) in corpus() {
        let once = format(&text).unwrap_or_else(|error| panic!("{name}: {error:?}"));
        let twice = format(&once).unwrap_or_else(|error| panic!("{name} (formatted): {error:?}"));
        assert_eq!(once, twice, "{name}: formatting twice changes the text");
    }
}

#[test]
fn formatting_never_changes_the_compiled_policies() {
    // The standard library compiles as one unit (its files share functions);
    // each documentation example on its own.
    let (library, examples): (Vec<_>, Vec<_>) = corpus()
        .into_iter()
        .partition(|(name, _)| name.starts_with("stdlib/"));
    let formatted = |files: &[(String, String)]| -> Vec<(String, String)> {
        files
            .iter()
            .map(|(name, text)| (name.clone(), format(text).unwrap()))
            .collect()
    };
    assert_eq!(
        compiled(&library),
        compiled(&formatted(&library)),
        "formatting changed the standard library's IR"
    );
    for example in examples {
        let example = [example];
        assert_eq!(
            compiled(&example),
            compiled(&formatted(&example)),
            "{}: formatting changed the IR",
            example[0].0
        );
    }
}

#[test]
fn formatting_changes_whitespace_only() {
    for (name, text) in corpus() {
        let formatted = format(&text).unwrap();
        let squeeze = |text: &str| {
            text.chars()
                .filter(|character| !character.is_whitespace())
                .collect::<String>()
        };
        assert_eq!(
            squeeze(&text),
            squeeze(&formatted),
            "{name}: formatting changed more than whitespace"
        );
    }
}

#[test]
fn the_canonical_layout() {
    let source = r#"// header comment   
policy   a.b-c {
severity high
      match kinds apps/Deployment, networking.k8s.io/Ingress


  for c in pod.containers {   // trailing
  deny c.x==1 and c.y!=-2
  at c.image
      message "keep   this {c.name}"
  fix c.a=false,
  c.b+="ALL"
  /* block
       comment kept */
  }
   let xs = [x for x in [1,2,3]
  if x>1]
}
fn f(a: int)->bool {
a+1*2%3 > 0
  or a == 0
}
test "t" for a.b-c { given pod { spec: {
  containers: [] } }
expect allow }
"#;
    let expected = r#"// header comment
policy a.b-c {
  severity high
  match kinds apps/Deployment, networking.k8s.io/Ingress

  for c in pod.containers { // trailing
    deny c.x == 1 and c.y != -2
      at c.image
      message "keep   this {c.name}"
      fix c.a = false,
      c.b += "ALL"
    /* block
       comment kept */
  }
  let xs = [x for x in [1,2,3]
    if x > 1]
}

fn f(a: int) -> bool {
  a + 1 * 2 % 3 > 0
    or a == 0
}

test "t" for a.b-c { given pod { spec: {
  containers: [] } }
  expect allow }
"#;
    assert_eq!(format(source).unwrap(), expected);
    assert_eq!(format(expected).unwrap(), expected);
}

#[test]
fn strings_and_comments_are_kept_byte_for_byte() {
    let source = "policy a.b {\n    severity low\n  let s = \"\"\"  line one   \n      line two\n\"\"\"\n   let r = r\"\\d+  \"\n}\n";
    let formatted = format(source).unwrap();
    assert!(
        formatted.contains("\"\"\"  line one   \n      line two\n\"\"\""),
        "{formatted}"
    );
    assert!(formatted.contains("r\"\\d+  \""), "{formatted}");
}

#[test]
fn a_syntax_error_is_refused() {
    let error = format("policy a.b {\n  severity\n").unwrap_err();
    assert_eq!(error.code, "E0001");
    assert_eq!(error.start.line, 3);
}
