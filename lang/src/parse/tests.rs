use super::*;
use crate::ast::{ExpressionKind, StatementKind};
use rampart_engine::ir::BinaryOp;

fn parse_ok(text: &str) -> SourceFile {
    let mut reporter = Reporter::new("test.rampart", text);
    let file = parse(text, &mut reporter);
    assert!(
        reporter.diagnostics.is_empty(),
        "{:#?}",
        reporter.diagnostics
    );
    file
}

fn condition(text: &str) -> ExpressionKind {
    let source = format!("policy p {{ match all\n deny {text} }}");
    let file = parse_ok(&source);
    let StatementKind::Rule(rule) = &file.policies[0].body[0].kind else {
        panic!("not a rule")
    };
    rule.condition.kind.clone()
}

#[test]
fn precedence_binds_comparisons_tighter_than_logic() {
    let ExpressionKind::Binary(BinaryOp::Or, left, _) = condition("a == 1 and b or not c in d")
    else {
        panic!("or is loosest")
    };
    assert!(matches!(
        left.kind,
        ExpressionKind::Binary(BinaryOp::And, ..)
    ));
    let ExpressionKind::Binary(BinaryOp::Add, _, right) = condition("1 + 2 * 3 == 7").clone()
    else {
        if let ExpressionKind::Binary(BinaryOp::Equal, left, _) = condition("1 + 2 * 3 == 7") {
            let ExpressionKind::Binary(BinaryOp::Add, _, right) = left.kind else {
                panic!("+ under ==")
            };
            assert!(matches!(
                right.kind,
                ExpressionKind::Binary(BinaryOp::Multiply, ..)
            ));
            return;
        }
        panic!("== is looser than +")
    };
    let _ = right;
}

#[test]
fn keyword_operators_need_word_boundaries() {
    assert!(matches!(
        condition("x not in xs"),
        ExpressionKind::Binary(BinaryOp::NotIn, ..)
    ));
    assert!(matches!(
        condition("index > 1"),
        ExpressionKind::Binary(BinaryOp::Greater, ..)
    ));
    assert!(matches!(
        condition("order or android"),
        ExpressionKind::Binary(BinaryOp::Or, ..)
    ));
}

#[test]
fn quantifiers_comprehensions_and_calls() {
    assert!(matches!(
        condition("any(c in xs: c.a == 1)"),
        ExpressionKind::Quantified { .. }
    ));
    assert!(matches!(condition("any(xs)"), ExpressionKind::Call(..)));
    assert!(matches!(
        condition("count([c for c in xs if c]) > 0"),
        ExpressionKind::Binary(..)
    ));
    assert!(matches!(
        condition("if a then b else c"),
        ExpressionKind::Conditional(..)
    ));
}

#[test]
fn templates_split_text_and_expressions() {
    let file =
        parse_ok("policy p { match all\n deny true message \"a {x.y} b {{literal}} \\\"q\\\"\" }");
    let StatementKind::Rule(rule) = &file.policies[0].body[0].kind else {
        panic!()
    };
    let template = rule.message.as_ref().unwrap();
    assert_eq!(template.parts.len(), 3);
    let crate::ast::TemplatePiece::Text(last) = &template.parts[2] else {
        panic!()
    };
    assert_eq!(last, " b {literal} \"q\"");
}

#[test]
fn doc_comments_become_documentation() {
    let file = parse_ok("/// First line.\n/// More.\npolicy p { match all }");
    assert_eq!(file.policies[0].documentation, "First line.\nMore.");
}

#[test]
fn syntax_errors_name_what_was_expected_in_words() {
    let text = "policy p {\n  severity hgh\n}";
    let mut reporter = Reporter::new("bad.rampart", text);
    parse(text, &mut reporter);
    assert_eq!(reporter.diagnostics.len(), 1);
    let diagnostic = &reporter.diagnostics[0];
    assert_eq!(diagnostic.code, "E0001");
    assert_eq!((diagnostic.start.line, diagnostic.start.column), (2, 12));
    assert!(
        diagnostic.message.contains("a severity"),
        "{}",
        diagnostic.message
    );
}

#[test]
fn strings_unescape() {
    assert_eq!(unquote(r#""a\nb\"c\u{41}""#).unwrap(), "a\nb\"cA");
    assert_eq!(unquote(r#"r"\d+""#).unwrap(), r"\d+");
    assert_eq!(
        unquote("\"\"\"\n  a: 1\n  b: 2\n\"\"\"").unwrap(),
        "a: 1\nb: 2\n"
    );
}

#[test]
fn strings_inside_template_expressions_keep_their_exact_text() {
    let file =
        parse_ok("policy p { match all\n deny true message \"x {join(xs, \\\", \\\")} y\" }");
    let StatementKind::Rule(rule) = &file.policies[0].body[0].kind else {
        panic!()
    };
    let template = rule.message.as_ref().unwrap();
    let crate::ast::TemplatePiece::Expr(expression) = &template.parts[1] else {
        panic!()
    };
    let ExpressionKind::Call(_, arguments) = &expression.kind else {
        panic!()
    };
    let ExpressionKind::String(separator) = &arguments[1].kind else {
        panic!()
    };
    assert_eq!(separator, ", ");
    // The call's span maps back onto the file: `join(` starts at column 22 of line 2.
    let text = "policy p { match all\n deny true message \"x {join(xs, \\\", \\\")} y\" }";
    assert_eq!(
        &text[expression.span.start..expression.span.start + 5],
        "join("
    );
    assert_eq!(text.as_bytes()[expression.span.end - 1], b')');
}
