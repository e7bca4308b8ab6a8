//! Checking and lowering expressions.

use super::Compiler;
use super::types::{IMAGE_FIELDS, POD_FIELDS, Ty};
use crate::ast::{Binding, Expression, ExpressionKind, Name};
use crate::schema;
use rampart_engine::ir::{BinaryOp, Expr, UnaryOp};
use rampart_engine::json::Json;
use std::sync::Arc;

/// Names that are always defined in a policy body.
pub(super) const GLOBAL_NAMES: [&str; 4] = ["resource", "pod", "params", "old_resource"];

impl Compiler<'_, '_> {
    /// Checks an expression and lowers it; on an error the result type is
    /// `any`, so one mistake is reported once, not again by every user.
    pub(crate) fn expression(&mut self, expression: &Expression) -> (Expr, Ty) {
        let span = expression.span;
        match &expression.kind {
            ExpressionKind::Null => (Expr::Literal(Json::Null), Ty::Null),
            ExpressionKind::Bool(flag) => (Expr::Literal(Json::Bool(*flag)), Ty::Bool),
            ExpressionKind::Int(number) => (Expr::Literal(Json::from(*number)), Ty::Int),
            ExpressionKind::Float(number) => (
                Expr::Literal(
                    serde_json::Number::from_f64(*number).map_or(Json::Null, Json::Number),
                ),
                Ty::Float,
            ),
            ExpressionKind::String(text) => (Expr::Literal(Json::from(text.as_str())), Ty::String),
            ExpressionKind::Name(name) => self.name(name, span),
            ExpressionKind::Field(base, field) => self.field(base, field),
            ExpressionKind::Index(base, index) => {
                let (base_expr, base_ty) = self.expression(base);
                let (index_expr, index_ty) = self.expression(index);
                let ty = match (&base_ty, &index_ty) {
                    (Ty::List(items), index_ty) if index_ty.numeric() => (**items).clone(),
                    (Ty::Map(values), index_ty) if index_ty.stringy() => (**values).clone(),
                    (Ty::Object(_) | Ty::Pod | Ty::Image, _) => match &index.kind {
                        ExpressionKind::String(key) => self.field_type(&base_ty, key, index.span),
                        _ => Ty::Any,
                    },
                    (Ty::Any | Ty::Null, _) => Ty::Any,
                    _ => {
                        self.reporter().error(
                            "E0202",
                            index.span,
                            format!("cannot index `{base_ty}` with `{index_ty}`"),
                        );
                        Ty::Any
                    }
                };
                (Expr::Index(Box::new(base_expr), Box::new(index_expr)), ty)
            }
            ExpressionKind::Unary(operator, operand) => {
                let (operand_expr, operand_ty) = self.expression(operand);
                let ty = match operator {
                    UnaryOp::Not => {
                        self.expect_bool(&operand_ty, operand.span, "`not`");
                        Ty::Bool
                    }
                    UnaryOp::Negate => {
                        if !operand_ty.numeric() {
                            self.reporter().error(
                                "E0203",
                                operand.span,
                                format!("cannot negate `{operand_ty}`"),
                            );
                        }
                        operand_ty
                    }
                };
                (Expr::Unary(*operator, Box::new(operand_expr)), ty)
            }
            ExpressionKind::Binary(operator, left, right) => self.binary(*operator, left, right),
            ExpressionKind::Call(function, arguments) => self.call(function, arguments, span),
            ExpressionKind::List(items) => {
                let mut lowered = Vec::with_capacity(items.len());
                let mut element = None::<Ty>;
                for item in items {
                    let (item_expr, item_ty) = self.expression(item);
                    lowered.push(item_expr);
                    element = Some(match element {
                        None => item_ty,
                        Some(previous) if previous == item_ty => previous,
                        Some(_) => Ty::Any,
                    });
                }
                let element = element.unwrap_or(Ty::Any);
                match constant_list(&lowered) {
                    Some(json) => (Expr::Literal(json), Ty::List(Box::new(element))),
                    None => (Expr::List(lowered), Ty::List(Box::new(element))),
                }
            }
            ExpressionKind::Object(members) => {
                let mut lowered = Vec::with_capacity(members.len());
                for (key, value) in members {
                    let (value_expr, _) = self.expression(value);
                    lowered.push((Arc::from(key.text.as_str()), value_expr));
                }
                (Expr::Object(lowered), Ty::Map(Box::new(Ty::Any)))
            }
            ExpressionKind::Quantified {
                quantifier,
                binding,
                collection,
                predicate,
            } => {
                let (collection_expr, located, element_ty, key_ty) = self.collection(collection);
                self.scope.enter();
                let (key_slot, value_slot) = self.bind(binding, key_ty, element_ty, located);
                let (predicate_expr, predicate_ty) = self.expression(predicate);
                self.expect_bool(&predicate_ty, predicate.span, "the predicate");
                self.scope.leave();
                (
                    Expr::Quantified {
                        quantifier: *quantifier,
                        key_slot,
                        value_slot,
                        collection: Box::new(collection_expr),
                        predicate: Box::new(predicate_expr),
                    },
                    Ty::Bool,
                )
            }
            ExpressionKind::Comprehension {
                map,
                binding,
                collection,
                filter,
            } => {
                let (collection_expr, located, element_ty, key_ty) = self.collection(collection);
                self.scope.enter();
                let (key_slot, value_slot) = self.bind(binding, key_ty, element_ty, located);
                let filter_expr = filter.as_ref().map(|filter| {
                    let (filter_expr, filter_ty) = self.expression(filter);
                    self.expect_bool(&filter_ty, filter.span, "the filter");
                    Box::new(filter_expr)
                });
                let (map_expr, map_ty) = self.expression(map);
                self.scope.leave();
                (
                    Expr::Comprehension {
                        key_slot,
                        value_slot,
                        collection: Box::new(collection_expr),
                        filter: filter_expr,
                        map: Box::new(map_expr),
                    },
                    Ty::List(Box::new(map_ty)),
                )
            }
            ExpressionKind::Conditional(condition, then, otherwise) => {
                let (condition_expr, condition_ty) = self.expression(condition);
                self.expect_bool(&condition_ty, condition.span, "the condition");
                let (then_expr, then_ty) = self.expression(then);
                let (otherwise_expr, otherwise_ty) = self.expression(otherwise);
                let ty = if then_ty == otherwise_ty {
                    then_ty
                } else {
                    Ty::Any
                };
                (
                    Expr::Conditional(
                        Box::new(condition_expr),
                        Box::new(then_expr),
                        Box::new(otherwise_expr),
                    ),
                    ty,
                )
            }
        }
    }

    /// Binds a loop's names in the current scope.
    pub(super) fn bind(
        &mut self,
        binding: &Binding,
        key_ty: Ty,
        element_ty: Ty,
        located: bool,
    ) -> (Option<u32>, u32) {
        let key_slot = binding
            .key
            .as_ref()
            .map(|key| self.scope.bind(&key.text, key_ty, false));
        let value_slot = self.scope.bind(&binding.value.text, element_ty, located);
        (key_slot, value_slot)
    }

    /// Checks a collection to iterate: its lowering, whether its elements
    /// are located, and the element and key types.
    pub(super) fn collection(&mut self, collection: &Expression) -> (Expr, bool, Ty, Ty) {
        let located = self.located(collection);
        let (expr, ty) = self.expression(collection);
        let (key_ty, element_ty) = match ty.elements() {
            Some(types) => types,
            None => {
                self.reporter()
                    .error(
                        "E0202",
                        collection.span,
                        format!("cannot iterate over `{ty}`"),
                    )
                    .with_help("iterate over a list or a map");
                (Ty::Any, Ty::Any)
            }
        };
        (expr, located, element_ty, key_ty)
    }

    /// Whether an expression denotes a place in the resource.
    pub(super) fn located(&self, expression: &Expression) -> bool {
        match &expression.kind {
            ExpressionKind::Name(name) => match self.scope.lookup(name) {
                Some(local) => local.located,
                None => name == "resource" || (name == "pod" && self.scope.has_pod),
            },
            ExpressionKind::Field(base, _) | ExpressionKind::Index(base, _) => self.located(base),
            _ => false,
        }
    }

    pub(super) fn expect_bool(&mut self, ty: &Ty, span: crate::ast::Span, what: &str) {
        if !ty.booly() {
            self.reporter()
                .error(
                    "E0203",
                    span,
                    format!("{what} must be a `bool`, not `{ty}`"),
                )
                .with_help("compare it, e.g. `x == \"value\"` or `x != null`");
        }
    }

    fn name(&mut self, name: &str, span: crate::ast::Span) -> (Expr, Ty) {
        if let Some(local) = self.scope.lookup(name) {
            return (Expr::Slot(local.slot), local.ty.clone());
        }
        match name {
            "resource" if self.scope.resource.is_some() => (
                Expr::Resource,
                self.scope.resource.clone().unwrap_or(Ty::Any),
            ),
            "old_resource" if self.scope.resource.is_some() => (
                Expr::OldResource,
                self.scope.resource.clone().unwrap_or(Ty::Any),
            ),
            "pod" if self.scope.has_pod => (Expr::Pod, Ty::Pod),
            "pod" if self.scope.resource.is_some() => {
                self.reporter().error(
                    "E0101",
                    span,
                    "`pod` is only defined in policies that `match pods`",
                );
                (Expr::Literal(Json::Null), Ty::Any)
            }
            "params" if self.scope.resource.is_some() => {
                self.reporter()
                    .error("E0101", span, "`params` is read one parameter at a time")
                    .with_help("write `params.NAME`");
                (Expr::Literal(Json::Null), Ty::Any)
            }
            _ => {
                let mut candidates: Vec<&str> = self.scope.names().collect();
                if self.scope.resource.is_some() {
                    candidates.extend(GLOBAL_NAMES);
                }
                let suggestion = schema::suggest(name, candidates).map(str::to_owned);
                let in_function = self.scope.resource.is_none();
                let diagnostic =
                    self.reporter()
                        .error("E0101", span, format!("unknown name `{name}`"));
                if let Some(suggestion) = suggestion {
                    diagnostic.with_help(format!("did you mean `{suggestion}`?"));
                } else if in_function {
                    diagnostic.with_help("a function sees only its parameters");
                }
                (Expr::Literal(Json::Null), Ty::Any)
            }
        }
    }

    fn field(&mut self, base: &Expression, field: &Name) -> (Expr, Ty) {
        if let ExpressionKind::Name(name) = &base.kind
            && name == "params"
            && self.scope.lookup("params").is_none()
            && self.scope.resource.is_some()
        {
            return self.param(field);
        }
        let (base_expr, base_ty) = self.expression(base);
        if base_ty == Ty::Pod && field.text == "containers" {
            let element = Ty::object("Container");
            return (
                Expr::PodContainers(Box::new(base_expr)),
                Ty::List(Box::new(element)),
            );
        }
        let ty = self.field_type(&base_ty, &field.text, field.span);
        (
            Expr::Field(Box::new(base_expr), Arc::from(field.text.as_str())),
            ty,
        )
    }

    fn param(&mut self, field: &Name) -> (Expr, Ty) {
        let found = self
            .scope
            .params
            .iter()
            .position(|(name, _)| *name == field.text);
        match found {
            Some(index) => {
                let ty = self
                    .scope
                    .params
                    .get(index)
                    .map_or(Ty::Any, |(_, ty)| ty.clone());
                (Expr::Param(index as u32), ty)
            }
            None => {
                let names: Vec<String> = self
                    .scope
                    .params
                    .iter()
                    .map(|(name, _)| name.clone())
                    .collect();
                let suggestion = schema::suggest(&field.text, names.iter().map(String::as_str))
                    .map(str::to_owned);
                let diagnostic = self.reporter().error(
                    "E0101",
                    field.span,
                    format!("the policy has no parameter `{}`", field.text),
                );
                match suggestion {
                    Some(suggestion) => {
                        diagnostic.with_help(format!("did you mean `{suggestion}`?"))
                    }
                    None => diagnostic.with_help("declare it with `param NAME: TYPE = DEFAULT`"),
                };
                (Expr::Literal(Json::Null), Ty::Any)
            }
        }
    }

    /// The type of `base.name`, reporting an unknown field with a suggestion.
    pub(super) fn field_type(&mut self, base: &Ty, name: &str, span: crate::ast::Span) -> Ty {
        match base {
            Ty::Any | Ty::Null => Ty::Any,
            Ty::Map(values) => (**values).clone(),
            Ty::Object(object) => match object.field(name) {
                Some(field) => Ty::from_schema(&field.ty),
                None => {
                    let suggestion = schema::suggest(name, object.fields().map(|field| field.name));
                    self.unknown_field(base, name, span, suggestion);
                    Ty::Any
                }
            },
            Ty::Pod => match name {
                "metadata" => Ty::object("ObjectMeta"),
                "spec" => Ty::object("PodSpec"),
                _ => {
                    let suggestion = schema::suggest(name, POD_FIELDS);
                    self.unknown_field(base, name, span, suggestion);
                    Ty::Any
                }
            },
            Ty::Image => {
                if IMAGE_FIELDS.contains(&name) {
                    Ty::String
                } else {
                    let suggestion = schema::suggest(name, IMAGE_FIELDS);
                    self.unknown_field(base, name, span, suggestion);
                    Ty::Any
                }
            }
            Ty::List(_) => {
                self.reporter()
                    .error(
                        "E0202",
                        span,
                        format!("cannot read field `{name}` of a list `{base}`"),
                    )
                    .with_help(
                        "iterate with `for x in ...`, or test elements with `any(x in ...: ...)`",
                    );
                Ty::Any
            }
            Ty::Bool | Ty::Int | Ty::Float | Ty::String => {
                self.reporter().error(
                    "E0202",
                    span,
                    format!("cannot read field `{name}` of a `{base}`"),
                );
                Ty::Any
            }
        }
    }

    fn unknown_field(
        &mut self,
        base: &Ty,
        name: &str,
        span: crate::ast::Span,
        suggestion: Option<&str>,
    ) {
        let diagnostic =
            self.reporter()
                .error("E0201", span, format!("`{base}` has no field `{name}`"));
        if let Some(suggestion) = suggestion {
            diagnostic.with_help(format!("did you mean `{suggestion}`?"));
        }
    }

    fn binary(&mut self, operator: BinaryOp, left: &Expression, right: &Expression) -> (Expr, Ty) {
        let (left_expr, left_ty) = self.expression(left);
        let (right_expr, right_ty) = self.expression(right);
        let span = left.span.to(right.span);
        let ty = match operator {
            BinaryOp::And | BinaryOp::Or => {
                self.expect_bool(&left_ty, left.span, "each side of `and`/`or`");
                self.expect_bool(&right_ty, right.span, "each side of `and`/`or`");
                Ty::Bool
            }
            BinaryOp::Equal | BinaryOp::NotEqual => {
                if !left_ty.compatible(&right_ty) {
                    let verdict = if operator == BinaryOp::Equal {
                        "never true"
                    } else {
                        "always true"
                    };
                    self.reporter()
                        .error(
                            "E0204",
                            span,
                            format!("comparing `{left_ty}` with `{right_ty}` is {verdict}"),
                        )
                        .with_help(comparison_help(&left_ty, &right_ty));
                }
                Ty::Bool
            }
            BinaryOp::Less | BinaryOp::LessEqual | BinaryOp::Greater | BinaryOp::GreaterEqual => {
                let ordered = (left_ty.numeric() && right_ty.numeric())
                    || (left_ty.stringy() && right_ty.stringy());
                if !ordered {
                    self.reporter()
                        .error("E0204", span, format!("cannot order `{left_ty}` and `{right_ty}`"))
                        .with_help("ordering compares two numbers or two strings; for sizes use `quantity(\"500m\")`");
                }
                Ty::Bool
            }
            BinaryOp::In | BinaryOp::NotIn => {
                let fits = match &right_ty {
                    Ty::List(items) => items.compatible(&left_ty),
                    Ty::Map(_) | Ty::Object(_) | Ty::String => left_ty.stringy(),
                    Ty::Any | Ty::Null => true,
                    _ => false,
                };
                if !fits {
                    self.reporter().error(
                        "E0204",
                        span,
                        format!("`{left_ty}` cannot be in `{right_ty}`"),
                    );
                }
                Ty::Bool
            }
            BinaryOp::Coalesce => {
                if left_ty == Ty::Null || left_ty == Ty::Any {
                    right_ty
                } else {
                    left_ty
                }
            }
            BinaryOp::Add
                if left_ty.stringy()
                    && right_ty.stringy()
                    && (left_ty == Ty::String || right_ty == Ty::String) =>
            {
                Ty::String
            }
            BinaryOp::Add
                if matches!(
                    (&left_ty, &right_ty),
                    (Ty::List(_), Ty::List(_) | Ty::Any | Ty::Null)
                        | (Ty::Any | Ty::Null, Ty::List(_))
                ) =>
            {
                match (&left_ty, &right_ty) {
                    (Ty::List(left_items), Ty::List(right_items)) if left_items == right_items => {
                        left_ty
                    }
                    (Ty::List(_), Ty::List(_)) => Ty::List(Box::new(Ty::Any)),
                    (Ty::List(_), _) => left_ty,
                    _ => right_ty,
                }
            }
            _ => {
                if !(left_ty.numeric() && right_ty.numeric()) {
                    self.reporter().error(
                        "E0204",
                        span,
                        format!("cannot do arithmetic on `{left_ty}` and `{right_ty}`"),
                    );
                    Ty::Any
                } else if left_ty == Ty::Int && right_ty == Ty::Int {
                    Ty::Int
                } else if left_ty == Ty::Float || right_ty == Ty::Float {
                    Ty::Float
                } else {
                    Ty::Any
                }
            }
        };
        (
            Expr::Binary(operator, Box::new(left_expr), Box::new(right_expr)),
            ty,
        )
    }
}

fn comparison_help(left: &Ty, right: &Ty) -> String {
    match (left, right) {
        (Ty::Bool, Ty::String) | (Ty::String, Ty::Bool) => {
            "compare with `true` or `false`, without quotes".to_owned()
        }
        (Ty::Int | Ty::Float, Ty::String) | (Ty::String, Ty::Int | Ty::Float) => {
            "write the number without quotes, or convert with `int(...)`".to_owned()
        }
        _ => "the two sides can never hold the same value".to_owned(),
    }
}

/// A list of constants as one literal, so that `x in ["a", "b"]` does not
/// build a list on every evaluation.
fn constant_list(items: &[Expr]) -> Option<Json> {
    items
        .iter()
        .map(|item| match item {
            Expr::Literal(json) => Some(json.clone()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(Json::Array)
}
