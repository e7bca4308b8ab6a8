//! Expressions (operator precedence with pest's Pratt parser) and message templates.

use super::items::{binding, name, null_expression, string};
use super::{RampartParser, Rule, report_syntax_error, span_of, unescape};
use crate::ast::{Expression, ExpressionKind, Name, Span, Template, TemplatePiece};
use crate::diagnostic::Reporter;
use crate::limits::{MAX_EXPRESSION_DEPTH, NESTING_CODE};
use pest::Parser;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use rampart_engine::ir::{BinaryOp, Quantifier, UnaryOp};
use std::sync::OnceLock;

/// Operator precedence, loosest first.
fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::or_op, Assoc::Left))
            .op(Op::infix(Rule::and_op, Assoc::Left))
            .op(Op::prefix(Rule::not_op))
            .op(Op::infix(Rule::equal_op, Assoc::Left)
                | Op::infix(Rule::not_equal_op, Assoc::Left)
                | Op::infix(Rule::less_op, Assoc::Left)
                | Op::infix(Rule::less_equal_op, Assoc::Left)
                | Op::infix(Rule::greater_op, Assoc::Left)
                | Op::infix(Rule::greater_equal_op, Assoc::Left)
                | Op::infix(Rule::in_op, Assoc::Left)
                | Op::infix(Rule::not_in_op, Assoc::Left))
            .op(Op::infix(Rule::coalesce_op, Assoc::Left))
            .op(Op::infix(Rule::add_op, Assoc::Left) | Op::infix(Rule::subtract_op, Assoc::Left))
            .op(Op::infix(Rule::multiply_op, Assoc::Left)
                | Op::infix(Rule::divide_op, Assoc::Left)
                | Op::infix(Rule::remainder_op, Assoc::Left))
            .op(Op::prefix(Rule::negate_op))
            .op(Op::postfix(Rule::field_step) | Op::postfix(Rule::index_step))
    })
}

/// Parses an `expr` pair.
pub(super) fn expression(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> Expression {
    let pairs = if pair.as_rule() == Rule::expr {
        pair.into_inner()
    } else {
        return primary(pair, reporter);
    };
    climb(pairs, reporter)
}

fn climb(pairs: Pairs<'_, Rule>, reporter: &mut Reporter<'_>) -> Expression {
    // pest's Pratt parser recurses once per prefix operator: a run longer than
    // any expression may be deep is refused before it starts.
    if let Some(span) = too_many_prefixes(&pairs) {
        reporter
            .error(
                NESTING_CODE,
                span,
                format!("more than {MAX_EXPRESSION_DEPTH} prefix operators in a row"),
            )
            .with_help("`not not x` is `x`");
        return null_expression();
    }
    // The Pratt parser's closures cannot share `reporter` mutably, so each
    // closure parses into a result and diagnostics are gathered afterwards.
    let reporter_cell = std::cell::RefCell::new(reporter);
    pratt()
        .map_primary(|pair| primary(pair, &mut reporter_cell.borrow_mut()))
        .map_prefix(|operator, operand| {
            let span = span_of(&operator).to(operand.span);
            let operator = if operator.as_rule() == Rule::not_op {
                UnaryOp::Not
            } else {
                UnaryOp::Negate
            };
            let kind = match (operator, &operand.kind) {
                (UnaryOp::Negate, ExpressionKind::Int(number)) => ExpressionKind::Int(-number),
                (UnaryOp::Negate, ExpressionKind::Float(number)) => ExpressionKind::Float(-number),
                _ => ExpressionKind::Unary(operator, Box::new(operand)),
            };
            limited(kind, span, &mut reporter_cell.borrow_mut())
        })
        .map_postfix(|base, step| {
            let span = base.span.to(span_of(&step));
            let rule = step.as_rule();
            let Some(inner) = step.into_inner().next() else {
                return base;
            };
            let kind = if rule == Rule::field_step {
                ExpressionKind::Field(Box::new(base), name(&inner))
            } else {
                let index = expression(inner, &mut reporter_cell.borrow_mut());
                ExpressionKind::Index(Box::new(base), Box::new(index))
            };
            limited(kind, span, &mut reporter_cell.borrow_mut())
        })
        .map_infix(|left, operator, right| {
            let span = left.span.to(right.span);
            let operator = match operator.as_rule() {
                Rule::or_op => BinaryOp::Or,
                Rule::and_op => BinaryOp::And,
                Rule::coalesce_op => BinaryOp::Coalesce,
                Rule::equal_op => BinaryOp::Equal,
                Rule::not_equal_op => BinaryOp::NotEqual,
                Rule::less_op => BinaryOp::Less,
                Rule::less_equal_op => BinaryOp::LessEqual,
                Rule::greater_op => BinaryOp::Greater,
                Rule::greater_equal_op => BinaryOp::GreaterEqual,
                Rule::in_op => BinaryOp::In,
                Rule::not_in_op => BinaryOp::NotIn,
                Rule::add_op => BinaryOp::Add,
                Rule::subtract_op => BinaryOp::Subtract,
                Rule::multiply_op => BinaryOp::Multiply,
                Rule::divide_op => BinaryOp::Divide,
                _ => BinaryOp::Remainder,
            };
            let kind = ExpressionKind::Binary(operator, Box::new(left), Box::new(right));
            limited(kind, span, &mut reporter_cell.borrow_mut())
        })
        .parse(pairs)
}

/// The span of the first prefix operator of a run longer than
/// [`MAX_EXPRESSION_DEPTH`], if the flat sequence of an `expr` has one.
fn too_many_prefixes(pairs: &Pairs<'_, Rule>) -> Option<Span> {
    let mut run = 0u32;
    let mut run_start = None;
    for pair in pairs.clone() {
        if matches!(pair.as_rule(), Rule::not_op | Rule::negate_op) {
            if run == 0 {
                run_start = Some(span_of(&pair));
            }
            run += 1;
            if run > MAX_EXPRESSION_DEPTH {
                return run_start;
            }
        } else {
            run = 0;
        }
    }
    None
}

/// Builds an expression, or, past [`MAX_EXPRESSION_DEPTH`], reports E0005
/// (once, for the innermost expression that goes too deep) and keeps a
/// `null` in its place, so that nothing deeper is ever built.
pub(super) fn limited(kind: ExpressionKind, span: Span, reporter: &mut Reporter<'_>) -> Expression {
    let expression = Expression::new(kind, span);
    if expression.depth <= MAX_EXPRESSION_DEPTH {
        return expression;
    }
    let mut reported_inside = false;
    expression
        .kind
        .for_each_operand(|operand| reported_inside |= operand.depth > MAX_EXPRESSION_DEPTH);
    if !reported_inside {
        reporter
            .error(
                NESTING_CODE,
                span,
                format!("expression nested too deeply: more than {MAX_EXPRESSION_DEPTH} levels"),
            )
            .with_help("name parts of it with `let`, or write a long `or` chain of comparisons as `x in [a, b, …]`");
    }
    Expression {
        kind: ExpressionKind::Null,
        span,
        depth: MAX_EXPRESSION_DEPTH + 1,
    }
}

fn primary(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> Expression {
    let span = span_of(&pair);
    let kind = match pair.as_rule() {
        Rule::expr => return expression(pair, reporter),
        Rule::null => ExpressionKind::Null,
        Rule::boolean => ExpressionKind::Bool(pair.as_str() == "true"),
        Rule::integer => match pair.as_str().parse() {
            Ok(number) => ExpressionKind::Int(number),
            Err(_) => {
                reporter.error(
                    "E0002",
                    span,
                    format!("integer `{}` is too large", pair.as_str()),
                );
                ExpressionKind::Null
            }
        },
        Rule::float => ExpressionKind::Float(pair.as_str().parse().unwrap_or(0.0)),
        Rule::string => ExpressionKind::String(string(pair, reporter)),
        Rule::ident => ExpressionKind::Name(pair.as_str().to_owned()),
        Rule::list => list_or_comprehension(pair, reporter),
        Rule::object => ExpressionKind::Object(
            pair.into_inner()
                .filter_map(|member| {
                    let mut sides = member.into_inner();
                    let key = sides.next()?;
                    let key = if key.as_rule() == Rule::string {
                        Name {
                            span: span_of(&key),
                            text: string(key, reporter),
                        }
                    } else {
                        name(&key)
                    };
                    let value = sides.next().map(|value| expression(value, reporter))?;
                    Some((key, value))
                })
                .collect(),
        ),
        Rule::call => {
            let mut parts = pair.into_inner();
            let function = parts.next().map(|part| name(&part));
            let arguments = parts
                .map(|argument| expression(argument, reporter))
                .collect();
            match function {
                Some(function) => ExpressionKind::Call(function, arguments),
                None => ExpressionKind::Null,
            }
        }
        Rule::quantified => {
            let mut parts = pair.into_inner();
            let quantifier = match parts.next().map(|part| part.as_str() == "all") {
                Some(true) => Quantifier::All,
                _ => Quantifier::Any,
            };
            let Some(names) = parts.next() else {
                return null_expression();
            };
            let binding = binding(names);
            let collection = parts
                .next()
                .map(|part| expression(part, reporter))
                .unwrap_or_else(null_expression);
            let predicate = parts
                .next()
                .map(|part| expression(part, reporter))
                .unwrap_or_else(null_expression);
            ExpressionKind::Quantified {
                quantifier,
                binding,
                collection: Box::new(collection),
                predicate: Box::new(predicate),
            }
        }
        Rule::conditional => return conditional(pair, reporter),
        _ => ExpressionKind::Null,
    };
    limited(kind, span, reporter)
}

/// `[a, b]` or `[map for x in xs if filter]`: one grammar rule reads both.
fn list_or_comprehension(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> ExpressionKind {
    let mut parts = pair.into_inner().peekable();
    let Some(first) = parts.next() else {
        return ExpressionKind::List(Vec::new());
    };
    let first = expression(first, reporter);
    if parts
        .peek()
        .is_some_and(|part| part.as_rule() == Rule::comprehension)
    {
        let mut parts = parts.flat_map(Pair::into_inner);
        let Some(names) = parts.next() else {
            return ExpressionKind::Null;
        };
        let binding = binding(names);
        let collection = parts
            .next()
            .map(|part| expression(part, reporter))
            .unwrap_or_else(null_expression);
        let filter = parts
            .next()
            .map(|part| Box::new(expression(part, reporter)));
        return ExpressionKind::Comprehension {
            map: Box::new(first),
            binding,
            collection: Box::new(collection),
            filter,
        };
    }
    let mut items = vec![first];
    items.extend(parts.map(|item| expression(item, reporter)));
    ExpressionKind::List(items)
}

/// `if c then a else if d then b else e`: the grammar reads an `else if`
/// chain as a repetition; it becomes nested conditionals here, built from
/// the last link back, without recursion.
fn conditional(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> Expression {
    let span = span_of(&pair);
    let mut parts = pair.into_inner().peekable();
    let mut next = |parts: &mut std::iter::Peekable<Pairs<'_, Rule>>| {
        parts
            .next()
            .map(|part| expression(part, reporter))
            .unwrap_or_else(null_expression)
    };
    let condition = next(&mut parts);
    let then = next(&mut parts);
    let mut links = Vec::new();
    while let Some(marker) = parts.next_if(|part| part.as_rule() == Rule::else_if) {
        let link_start = span_of(&marker).start;
        let link_condition = next(&mut parts);
        let link_then = next(&mut parts);
        links.push((link_condition, link_then, link_start));
    }
    let mut otherwise = next(&mut parts);
    for (link_condition, link_then, link_start) in links.into_iter().rev() {
        let link_span = Span {
            start: link_start,
            end: span.end,
        };
        let kind = ExpressionKind::Conditional(
            Box::new(link_condition),
            Box::new(link_then),
            Box::new(otherwise),
        );
        otherwise = limited(kind, link_span, reporter);
    }
    let kind =
        ExpressionKind::Conditional(Box::new(condition), Box::new(then), Box::new(otherwise));
    limited(kind, span, reporter)
}

/// Parses a message template: `{expr}` parts are parsed as expressions, `{{`
/// and `}}` (or `\{`, `\}`) stand for literal braces.
pub(super) fn template(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> Template {
    let span = span_of(&pair);
    let raw = pair.as_str();
    let (body, body_offset) = if let Some(body) = raw
        .strip_prefix("\"\"\"")
        .and_then(|rest| rest.strip_suffix("\"\"\""))
    {
        (body, 3)
    } else if let Some(body) = raw
        .strip_prefix("r\"")
        .and_then(|rest| rest.strip_suffix('"'))
    {
        (body, 2)
    } else {
        (
            raw.strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
                .unwrap_or(raw),
            1,
        )
    };
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut position = 0;
    let bytes = body.as_bytes();
    while position < bytes.len() {
        let rest = &body[position..];
        if rest.starts_with("{{") || rest.starts_with("}}") {
            text.push_str(&rest[..1]);
            position += 2;
        } else if rest.starts_with('\\') {
            let length = rest.chars().take(2).map(char::len_utf8).sum::<usize>();
            text.push_str(&unescape(&rest[..length]).unwrap_or_default());
            position += length;
        } else if rest.starts_with('{') {
            let Some(close) = closing_brace(rest) else {
                let start = span.start + body_offset + position;
                reporter
                    .error(
                        "E0002",
                        Span {
                            start,
                            end: start + 1,
                        },
                        "unclosed `{` in message template",
                    )
                    .with_help("write `{{` for a literal brace");
                break;
            };
            if !text.is_empty() {
                parts.push(TemplatePiece::Text(std::mem::take(&mut text)));
            }
            let inner = &rest[1..close];
            let offset = span.start + body_offset + position + 1;
            parts.push(TemplatePiece::Expr(template_expression(
                inner, offset, reporter,
            )));
            position += close + 1;
        } else {
            let character = rest.chars().next().unwrap_or_default();
            text.push(character);
            position += character.len_utf8();
        }
    }
    if !text.is_empty() {
        parts.push(TemplatePiece::Text(text));
    }
    Template { parts, span }
}

/// The byte position of the brace closing the one at the start of `text`.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    for (position, character) in text.char_indices() {
        match character {
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(position);
                }
            }
            _ => {}
        }
    }
    None
}

fn template_expression(source: &str, offset: usize, reporter: &mut Reporter<'_>) -> Expression {
    // Inside the enclosing string, quotes and backslashes are escaped: drop
    // those backslashes, remembering where each remaining byte was, so spans
    // can be mapped back to the file.
    let mut unescaped = String::with_capacity(source.len());
    let mut origins = Vec::with_capacity(source.len() + 1);
    let mut characters = source.char_indices().peekable();
    while let Some((position, character)) = characters.next() {
        if character == '\\'
            && let Some(&(_, next)) = characters.peek()
            && (next == '"' || next == '\\')
        {
            continue;
        }
        for _ in 0..character.len_utf8() {
            origins.push(position);
        }
        unescaped.push(character);
    }
    origins.push(source.len());
    let origin = |position: usize| offset + origins.get(position).copied().unwrap_or(source.len());
    if super::refuse_deep_nesting(&unescaped, &origin, reporter) {
        return null_expression();
    }
    match RampartParser::parse(Rule::template_expr, &unescaped) {
        Ok(mut pairs) => {
            let expr = pairs
                .next()
                .and_then(|root| root.into_inner().find(|pair| pair.as_rule() == Rule::expr));
            let Some(expr) = expr else {
                return null_expression();
            };
            let mut parsed = expression(expr, reporter);
            relocate(&mut parsed, &origin);
            parsed
        }
        Err(error) => {
            let position = match error.location {
                pest::error::InputLocation::Pos(position) => position,
                pest::error::InputLocation::Span((start, _)) => start,
            };
            report_syntax_error(&error, origin(position) - position, reporter);
            null_expression()
        }
    }
}

/// Maps every span of an expression parsed out of a template back to the
/// file, so errors point into the template where it is written.
fn relocate(expression: &mut Expression, origin: &dyn Fn(usize) -> usize) {
    expression.span.start = origin(expression.span.start);
    expression.span.end = origin(expression.span.end);
    let shift_name = |name: &mut Name| {
        name.span.start = origin(name.span.start);
        name.span.end = origin(name.span.end);
    };
    match &mut expression.kind {
        ExpressionKind::Field(base, field) => {
            relocate(base, origin);
            shift_name(field);
        }
        ExpressionKind::Index(base, index) => {
            relocate(base, origin);
            relocate(index, origin);
        }
        ExpressionKind::Unary(_, operand) => relocate(operand, origin),
        ExpressionKind::Binary(_, left, right) => {
            relocate(left, origin);
            relocate(right, origin);
        }
        ExpressionKind::Call(function, arguments) => {
            shift_name(function);
            arguments
                .iter_mut()
                .for_each(|argument| relocate(argument, origin));
        }
        ExpressionKind::List(items) => items.iter_mut().for_each(|item| relocate(item, origin)),
        ExpressionKind::Object(members) => members.iter_mut().for_each(|(key, value)| {
            shift_name(key);
            relocate(value, origin);
        }),
        ExpressionKind::Quantified {
            binding,
            collection,
            predicate,
            ..
        } => {
            binding.key.iter_mut().for_each(shift_name);
            shift_name(&mut binding.value);
            relocate(collection, origin);
            relocate(predicate, origin);
        }
        ExpressionKind::Comprehension {
            map,
            binding,
            collection,
            filter,
        } => {
            relocate(map, origin);
            binding.key.iter_mut().for_each(shift_name);
            shift_name(&mut binding.value);
            relocate(collection, origin);
            if let Some(filter) = filter {
                relocate(filter, origin);
            }
        }
        ExpressionKind::Conditional(condition, then, otherwise) => {
            relocate(condition, origin);
            relocate(then, origin);
            relocate(otherwise, origin);
        }
        _ => {}
    }
}
