//! Policies, functions, tests and statements from pest pairs.

use super::expression::{expression, template};
use super::{Rule, span_of, unquote};
use crate::ast::*;
use crate::diagnostic::Reporter;
use crate::limits::{MAX_STATEMENT_DEPTH, NESTING_CODE};
use pest::iterators::Pair;
use rampart_engine::ir::Action;

pub(super) fn file(root: Pair<'_, Rule>, file: &mut SourceFile, reporter: &mut Reporter<'_>) {
    for item in root.into_inner() {
        match item.as_rule() {
            Rule::policy => file.policies.push(policy(item, reporter)),
            Rule::function => file.functions.push(function(item, reporter)),
            Rule::test => file.tests.push(test(item, reporter)),
            _ => {}
        }
    }
}

pub(super) fn name(pair: &Pair<'_, Rule>) -> Name {
    Name {
        text: pair.as_str().to_owned(),
        span: span_of(pair),
    }
}

pub(super) fn string(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> String {
    match unquote(pair.as_str()) {
        Ok(value) => value,
        Err(message) => {
            reporter.error("E0002", span_of(&pair), message);
            String::new()
        }
    }
}

fn documentation(lines: &[String]) -> String {
    lines
        .iter()
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

fn doc_line(pair: &Pair<'_, Rule>) -> String {
    pair.as_str()
        .trim_start_matches("///")
        .trim_end()
        .to_owned()
}

fn policy(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> PolicyDecl {
    let span = span_of(&pair);
    let mut docs = Vec::new();
    let mut declaration = PolicyDecl {
        id: Name {
            text: String::new(),
            span,
        },
        documentation: String::new(),
        title: None,
        severity: None,
        controls: Vec::new(),
        remediation: None,
        since: None,
        until: None,
        overrides: Vec::new(),
        params: Vec::new(),
        matcher: None,
        body: Vec::new(),
        span,
    };
    for entry in pair.into_inner() {
        let entry_span = span_of(&entry);
        match entry.as_rule() {
            Rule::doc_comment => docs.push(doc_line(&entry)),
            Rule::policy_id => declaration.id = name(&entry),
            Rule::meta_title => {
                declaration.title = entry.into_inner().next().map(|text| string(text, reporter))
            }
            Rule::meta_severity => {
                declaration.severity = entry.into_inner().next().map(|level| name(&level))
            }
            Rule::meta_controls => {
                declaration.controls = entry
                    .into_inner()
                    .map(|control| string(control, reporter))
                    .collect()
            }
            Rule::meta_remediation => {
                declaration.remediation =
                    entry.into_inner().next().map(|text| string(text, reporter))
            }
            Rule::meta_since => {
                declaration.since = entry.into_inner().next().map(|version| name(&version))
            }
            Rule::meta_until => {
                declaration.until = entry.into_inner().next().map(|version| name(&version))
            }
            Rule::meta_overrides => {
                declaration.overrides = entry.into_inner().map(|id| name(&id)).collect()
            }
            Rule::param_decl => declaration.params.push(param(entry, reporter)),
            Rule::match_clause => {
                if declaration.matcher.is_some() {
                    reporter.error("E0003", entry_span, "a policy has one `match` clause");
                }
                declaration.matcher = Some(match_clause(entry, reporter));
            }
            _ => {
                if let Some(statement) = statement(entry, reporter) {
                    declaration.body.push(statement);
                }
            }
        }
    }
    declaration.documentation = documentation(&docs);
    declaration
}

fn param(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> ParamDecl {
    let mut docs = Vec::new();
    let mut parts = Vec::new();
    for part in pair.into_inner() {
        if part.as_rule() == Rule::doc_comment {
            docs.push(doc_line(&part));
        } else {
            parts.push(part);
        }
    }
    let mut parts = parts.into_iter();
    let param_name = next_name(&mut parts);
    let ty = next_type(&mut parts);
    let default = next_expression(&mut parts, reporter);
    ParamDecl {
        name: param_name,
        ty,
        default,
        documentation: documentation(&docs),
    }
}

pub(super) fn type_expr(pair: Pair<'_, Rule>) -> TypeExpr {
    let span = span_of(&pair);
    let inner = if pair.as_rule() == Rule::type_expr {
        pair.into_inner().next()
    } else {
        Some(pair)
    };
    match inner {
        Some(inner) => match inner.as_rule() {
            Rule::list_type => TypeExpr::List(
                Box::new(
                    inner
                        .into_inner()
                        .next()
                        .map(type_expr)
                        .unwrap_or_else(|| TypeExpr::Named(empty_name())),
                ),
                span,
            ),
            Rule::map_type => TypeExpr::Map(
                Box::new(
                    inner
                        .into_inner()
                        .next()
                        .map(type_expr)
                        .unwrap_or_else(|| TypeExpr::Named(empty_name())),
                ),
                span,
            ),
            _ => TypeExpr::Named(name(&inner)),
        },
        None => TypeExpr::Named(empty_name()),
    }
}

fn match_clause(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> MatchDecl {
    let span = span_of(&pair);
    let mut target = MatchTarget::All;
    let mut filters = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::match_pods => target = MatchTarget::Pods,
            Rule::match_all => target = MatchTarget::All,
            Rule::match_kinds => {
                target = MatchTarget::Kinds(part.into_inner().map(|kind| name(&kind)).collect())
            }
            Rule::match_filter => {
                let mut exclude = false;
                for filter in part.into_inner() {
                    match filter.as_rule() {
                        Rule::exclude => exclude = true,
                        Rule::namespaces_filter => filters.push(MatchFilter {
                            exclude,
                            kind: MatchFilterKind::Namespaces(
                                filter
                                    .into_inner()
                                    .map(|text| string(text, reporter))
                                    .collect(),
                            ),
                        }),
                        Rule::labels_filter => {
                            let mut labels = Vec::new();
                            for pair in filter.into_inner() {
                                let mut sides = pair.into_inner();
                                let key = sides
                                    .next()
                                    .map(|key| label_key(key, reporter))
                                    .unwrap_or_default();
                                let value = sides
                                    .next()
                                    .map(|value| string(value, reporter))
                                    .unwrap_or_default();
                                labels.push((key, value));
                            }
                            filters.push(MatchFilter {
                                exclude,
                                kind: MatchFilterKind::Labels(labels),
                            });
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    MatchDecl {
        target,
        filters,
        span,
    }
}

fn label_key(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> String {
    if pair.as_rule() == Rule::string {
        string(pair, reporter)
    } else {
        pair.as_str().to_owned()
    }
}

pub(super) fn statement(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> Option<Statement> {
    let span = span_of(&pair);
    let kind = match pair.as_rule() {
        Rule::let_stmt => {
            let mut parts = pair.into_inner();
            let let_name = next_name(&mut parts);
            let value = next_expression(&mut parts, reporter);
            StatementKind::Let {
                name: let_name,
                value,
            }
        }
        Rule::for_stmt => {
            let mut parts = pair.into_inner();
            let binding = parts.next().map(binding).unwrap_or_else(empty_binding);
            let collection = next_expression(&mut parts, reporter);
            let body = parts
                .next()
                .map(|part| block(part, reporter))
                .unwrap_or_default();
            StatementKind::For {
                binding,
                collection,
                body,
            }
        }
        Rule::if_stmt => return Some(if_statement(pair, reporter)),
        Rule::rule_stmt => StatementKind::Rule(rule(pair, reporter)),
        _ => return None,
    };
    Some(limited_statement(kind, span, reporter))
}

/// `if c { } else if d { } … else { }`: the grammar reads an `else if` chain
/// as a repetition; it becomes nested `If`s here, built from the last link
/// back, without recursion.
fn if_statement(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> Statement {
    let span = span_of(&pair);
    let mut parts = pair.into_inner().peekable();
    let condition = next_expression(&mut parts, reporter);
    let then = parts
        .next()
        .map(|part| block(part, reporter))
        .unwrap_or_default();
    let mut links = Vec::new();
    let mut otherwise = Vec::new();
    while let Some(part) = parts.next() {
        if part.as_rule() == Rule::else_if {
            let link_span = Span {
                start: span_of(&part).start,
                end: span.end,
            };
            let link_condition = next_expression(&mut parts, reporter);
            let link_then = parts
                .next()
                .map(|part| block(part, reporter))
                .unwrap_or_default();
            links.push((link_condition, link_then, link_span));
        } else {
            otherwise = block(part, reporter);
        }
    }
    for (link_condition, link_then, link_span) in links.into_iter().rev() {
        let kind = StatementKind::If {
            condition: link_condition,
            then: link_then,
            otherwise,
        };
        otherwise = vec![limited_statement(kind, link_span, reporter)];
    }
    let kind = StatementKind::If {
        condition,
        then,
        otherwise,
    };
    limited_statement(kind, span, reporter)
}

/// Builds a statement, or, past [`MAX_STATEMENT_DEPTH`], reports E0005 (once
/// for the innermost statement that goes too deep) and keeps an empty `if`
/// in its place, so that nothing deeper is ever built.
fn limited_statement(kind: StatementKind, span: Span, reporter: &mut Reporter<'_>) -> Statement {
    let statement = Statement::new(kind, span);
    if statement.depth <= MAX_STATEMENT_DEPTH {
        return statement;
    }
    let reported_inside = match &statement.kind {
        StatementKind::For { body, .. } => {
            body.iter().any(|inner| inner.depth > MAX_STATEMENT_DEPTH)
        }
        StatementKind::If {
            then, otherwise, ..
        } => then
            .iter()
            .chain(otherwise)
            .any(|inner| inner.depth > MAX_STATEMENT_DEPTH),
        StatementKind::Let { .. } | StatementKind::Rule(_) => false,
    };
    if !reported_inside {
        reporter
            .error(
                NESTING_CODE,
                span,
                format!("statements nested too deeply: more than {MAX_STATEMENT_DEPTH} levels"),
            )
            .with_help("move inner checks into separate policies or `let`s, or shorten the `else if` chain");
    }
    Statement {
        kind: StatementKind::If {
            condition: null_expression(),
            then: Vec::new(),
            otherwise: Vec::new(),
        },
        span,
        depth: MAX_STATEMENT_DEPTH + 1,
    }
}

fn block(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> Vec<Statement> {
    pair.into_inner()
        .filter_map(|part| statement(part, reporter))
        .collect()
}

pub(super) fn binding(pair: Pair<'_, Rule>) -> Binding {
    let names: Vec<Name> = pair.into_inner().map(|part| name(&part)).collect();
    match names.as_slice() {
        [key, value] => Binding {
            key: Some(key.clone()),
            value: value.clone(),
        },
        [value] => Binding {
            key: None,
            value: value.clone(),
        },
        _ => empty_binding(),
    }
}

fn action(pair: &Pair<'_, Rule>) -> Action {
    if pair.as_str() == "warn" {
        Action::Warn
    } else {
        Action::Deny
    }
}

fn rule(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> RuleDecl {
    let span = span_of(&pair);
    let mut declaration = RuleDecl {
        action: Action::Deny,
        condition: null_expression(),
        at: None,
        message: None,
        fixes: Vec::new(),
        span,
    };
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::rule_action => declaration.action = action(&part),
            Rule::expr => declaration.condition = expression(part, reporter),
            Rule::at_clause => {
                declaration.at = part
                    .into_inner()
                    .next()
                    .map(|path| path_decl(path, reporter))
            }
            Rule::message_clause => {
                declaration.message = part
                    .into_inner()
                    .next()
                    .map(|text| template(text, reporter))
            }
            Rule::fix_clause => {
                for fix in part.into_inner() {
                    let rule = fix.as_rule();
                    let mut sides = fix.into_inner();
                    let target = sides.next().map(|path| path_decl(path, reporter));
                    let value = sides.next().map(|value| expression(value, reporter));
                    match (rule, target, value) {
                        (Rule::fix_remove, Some(target), _) => {
                            declaration.fixes.push(FixDecl::Remove(target))
                        }
                        (Rule::fix_append, Some(target), Some(value)) => {
                            declaration.fixes.push(FixDecl::Append(target, value))
                        }
                        (Rule::fix_set, Some(target), Some(value)) => {
                            declaration.fixes.push(FixDecl::Set(target, value))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    declaration
}

pub(super) fn path_decl(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> PathDecl {
    let span = span_of(&pair);
    let mut parts = pair.into_inner();
    let root = next_name(&mut parts);
    let steps = parts
        .filter_map(|step| {
            let rule = step.as_rule();
            let inner = step.into_inner().next()?;
            Some(match rule {
                Rule::field_step => PathStepDecl::Field(name(&inner)),
                _ => PathStepDecl::Index(expression(inner, reporter)),
            })
        })
        .collect();
    PathDecl { root, steps, span }
}

fn function(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> FunctionDecl {
    let span = span_of(&pair);
    let mut docs = Vec::new();
    let mut declaration = FunctionDecl {
        name: empty_name(),
        params: Vec::new(),
        result: None,
        body: null_expression(),
        documentation: String::new(),
        span,
    };
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::doc_comment => docs.push(doc_line(&part)),
            Rule::ident => declaration.name = name(&part),
            Rule::function_param => {
                let mut sides = part.into_inner();
                let param_name = next_name(&mut sides);
                let ty = next_type(&mut sides);
                declaration.params.push((param_name, ty));
            }
            Rule::type_expr => declaration.result = Some(type_expr(part)),
            Rule::expr => declaration.body = expression(part, reporter),
            _ => {}
        }
    }
    declaration.documentation = documentation(&docs);
    declaration
}

fn test(pair: Pair<'_, Rule>, reporter: &mut Reporter<'_>) -> TestDecl {
    let span = span_of(&pair);
    let mut declaration = TestDecl {
        name: String::new(),
        policies: Vec::new(),
        given: Vec::new(),
        params: Vec::new(),
        version: None,
        expectations: Vec::new(),
        span,
    };
    for part in pair.into_inner() {
        let part_span = span_of(&part);
        match part.as_rule() {
            Rule::string => declaration.name = string(part, reporter),
            Rule::policy_id => declaration.policies.push(name(&part)),
            Rule::given => {
                let Some(source) = part.into_inner().next() else {
                    continue;
                };
                let rule = source.as_rule();
                let source_span = span_of(&source);
                let mut inner = source.into_inner().peekable();
                match rule {
                    Rule::given_file => {
                        let path = inner
                            .next()
                            .map(|text| string(text, reporter))
                            .unwrap_or_default();
                        declaration.given.push(Given::File(path, source_span));
                    }
                    Rule::given_yaml => {
                        let text = inner
                            .next()
                            .map(|text| string(text, reporter))
                            .unwrap_or_default();
                        declaration.given.push(Given::Yaml(text, source_span));
                    }
                    _ => {
                        let kind = match inner.peek() {
                            Some(first) if first.as_rule() == Rule::field_name => Some(name(first)),
                            _ => None,
                        };
                        if kind.is_some() {
                            inner.next();
                        }
                        let object = next_expression(&mut inner, reporter);
                        declaration.given.push(Given::Object(kind, object));
                    }
                }
            }
            Rule::test_param => {
                let mut sides = part.into_inner();
                let param_name = next_name(&mut sides);
                let value = next_expression(&mut sides, reporter);
                declaration.params.push((param_name, value));
            }
            Rule::test_version => {
                declaration.version = part.into_inner().next().map(|version| name(&version))
            }
            Rule::expectation => {
                let Some(inner) = part.into_inner().next() else {
                    continue;
                };
                if inner.as_rule() == Rule::expect_allow {
                    declaration.expectations.push(Expectation::Allow(part_span));
                    continue;
                }
                let mut finding_action = Action::Deny;
                let mut at = None;
                let mut message = None;
                for piece in inner.into_inner() {
                    match piece.as_rule() {
                        Rule::rule_action => finding_action = action(&piece),
                        Rule::path => at = Some(path_decl(piece, reporter)),
                        Rule::string => message = Some(string(piece, reporter)),
                        _ => {}
                    }
                }
                declaration.expectations.push(Expectation::Finding {
                    action: finding_action,
                    at,
                    message,
                    span: part_span,
                });
            }
            _ => {}
        }
    }
    declaration
}

/// The next pair as a name; an empty one where the grammar guarantees a
/// pair but the tree lacks it (kept total: parsing never panics).
fn next_name<'i>(pairs: &mut impl Iterator<Item = Pair<'i, Rule>>) -> Name {
    pairs
        .next()
        .map(|pair| name(&pair))
        .unwrap_or_else(empty_name)
}

/// The next pair as an expression, `null` where it is missing.
fn next_expression<'i>(
    pairs: &mut impl Iterator<Item = Pair<'i, Rule>>,
    reporter: &mut Reporter<'_>,
) -> Expression {
    pairs
        .next()
        .map(|pair| expression(pair, reporter))
        .unwrap_or_else(null_expression)
}

/// The next pair as a written type, an empty name where it is missing.
fn next_type<'i>(pairs: &mut impl Iterator<Item = Pair<'i, Rule>>) -> TypeExpr {
    pairs
        .next()
        .map(type_expr)
        .unwrap_or_else(|| TypeExpr::Named(empty_name()))
}

fn empty_name() -> Name {
    Name {
        text: String::new(),
        span: Span::default(),
    }
}

fn empty_binding() -> Binding {
    Binding {
        key: None,
        value: empty_name(),
    }
}

pub(super) fn null_expression() -> Expression {
    Expression::new(ExpressionKind::Null, Span::default())
}
