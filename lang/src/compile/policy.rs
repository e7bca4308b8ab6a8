//! Policies: metadata, match clauses, statements, rules and their paths.

use super::Compiler;
use super::scope::Scope;
use super::types::Ty;
use crate::ast::*;
use crate::schema;
use rampart_engine::ir::{
    self, Expr, Fix, KindSelector, KubeVersion, Matcher, Param, PathExpr, PathRoot, PathStep,
    Policy, Severity, Stmt, TemplatePart,
};
use rampart_engine::json::Json;
use std::sync::Arc;

impl Compiler<'_, '_> {
    /// Compiles a policy; `None` when it has errors.
    pub(super) fn policy(&mut self, declaration: &PolicyDecl, origin: String) -> Option<Policy> {
        let errors_before = self.reporter().error_count();
        self.scope = Scope::default();
        let (matcher, resource_ty) = self.matcher(declaration);
        self.scope.has_pod = matches!(matcher.scope, ir::Scope::Pods);
        self.scope.resource = Some(resource_ty);
        if declaration.matcher.is_none() {
            self.reporter()
                .warning(
                    "W0001",
                    declaration.id.span,
                    "policy has no `match` clause, so it looks at every resource",
                )
                .with_help("add `match pods` or `match kinds Kind, ...`");
        }
        let severity = match &declaration.severity {
            Some(level) => match level.text.as_str() {
                "info" => Severity::Info,
                "low" => Severity::Low,
                "medium" => Severity::Medium,
                "critical" => Severity::Critical,
                _ => Severity::High,
            },
            None => Severity::Medium,
        };
        let mut params = Vec::new();
        for param in &declaration.params {
            let ty = self.resolve_type(&param.ty);
            let (default, default_ty) = self.expression(&param.default);
            let value = match default {
                Expr::Literal(json) => json,
                _ => {
                    self.reporter().error(
                        "E0207",
                        param.default.span,
                        "a parameter's default must be a constant",
                    );
                    Json::Null
                }
            };
            if !ty.compatible(&default_ty) {
                self.reporter().error(
                    "E0203",
                    param.default.span,
                    format!("the default is `{default_ty}`, but the parameter is `{ty}`"),
                );
            }
            self.scope
                .params
                .push((param.name.text.clone(), ty.clone()));
            params.push(Param {
                name: param.name.text.clone(),
                value,
                shape: ty.shape(),
            });
        }
        let body = self.statements(&declaration.body);
        if self.scope.rules == 0 {
            self.reporter().warning(
                "W0002",
                declaration.id.span,
                "policy has no `deny` or `warn` rule, so it never finds anything",
            );
        }
        let since = self.version(declaration.since.as_ref());
        let until = self.version(declaration.until.as_ref());
        let (title, description) = title_and_description(declaration);
        let policy = Policy {
            id: declaration.id.text.clone(),
            title,
            description,
            remediation: declaration.remediation.clone().unwrap_or_default(),
            severity,
            controls: declaration.controls.clone(),
            action_override: None,
            since,
            until,
            overrides: self.overrides(declaration),
            matcher,
            params,
            body,
            slots: self.scope.slots(),
            rules: self.scope.rules,
            uses_inventory: self.scope.uses_inventory,
            origin,
        };
        let failed = self.reporter().error_count() > errors_before;
        (!failed).then_some(policy)
    }

    /// The ids of the policies `declaration` replaces; replacing itself is an
    /// error (it would never run).
    fn overrides(&mut self, declaration: &PolicyDecl) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for id in &declaration.overrides {
            if id.text == declaration.id.text {
                self.reporter().error(
                    "E0208",
                    id.span,
                    "a policy cannot override itself: it would never run",
                );
            } else if !ids.contains(&id.text) {
                ids.push(id.text.clone());
            }
        }
        ids
    }

    fn version(&mut self, version: Option<&Name>) -> Option<KubeVersion> {
        let version = version?;
        let parsed = KubeVersion::parse(&version.text);
        if parsed.is_none() {
            self.reporter().error(
                "E0206",
                version.span,
                format!("`{}` is not a Kubernetes version", version.text),
            );
        }
        parsed
    }

    /// The matcher, and the type `resource` has under it.
    fn matcher(&mut self, declaration: &PolicyDecl) -> (Matcher, Ty) {
        let mut matcher = Matcher::default();
        let Some(clause) = &declaration.matcher else {
            return (matcher, Ty::Any);
        };
        let mut resource_ty = Ty::Any;
        match &clause.target {
            MatchTarget::All => {}
            MatchTarget::Pods => matcher.scope = ir::Scope::Pods,
            MatchTarget::Kinds(kinds) => {
                let mut selectors = Vec::new();
                let mut types = Vec::new();
                for kind in kinds {
                    let (group, name) = match kind.text.rsplit_once('/') {
                        Some((group, name)) => (Some(group.to_owned()), name),
                        None => (None, kind.text.as_str()),
                    };
                    let object = schema::kinds()
                        .find(|(api_version, schema_kind, _)| {
                            *schema_kind == name
                                && group.as_deref().is_none_or(|group| {
                                    api_version
                                        .rsplit_once('/')
                                        .map_or("", |(api_group, _)| api_group)
                                        == group
                                })
                        })
                        .map(|(_, _, object)| object);
                    match object {
                        Some(object) => types.push(Ty::Object(object)),
                        None => {
                            types.push(Ty::Any);
                            if name.chars().next().is_some_and(char::is_lowercase) {
                                let suggestion =
                                    schema::suggest(name, schema::kinds().map(|(_, kind, _)| kind));
                                let diagnostic = self.reporter().error(
                                    "E0103",
                                    kind.span,
                                    format!("unknown kind `{name}`"),
                                );
                                if let Some(suggestion) = suggestion {
                                    diagnostic.with_help(format!("did you mean `{suggestion}`? kinds are written as in manifests"));
                                }
                            }
                        }
                    }
                    selectors.push(KindSelector {
                        group,
                        kind: name.to_owned(),
                    });
                }
                if let [only] = types.as_slice() {
                    resource_ty = only.clone();
                } else if types.windows(2).all(|pair| pair.first() == pair.get(1)) {
                    resource_ty = types.first().cloned().unwrap_or(Ty::Any);
                }
                matcher.scope = ir::Scope::Kinds(selectors);
            }
        }
        for filter in &clause.filters {
            match (&filter.kind, filter.exclude) {
                (MatchFilterKind::Namespaces(names), false) => {
                    matcher.namespaces.extend(names.iter().cloned())
                }
                (MatchFilterKind::Namespaces(names), true) => {
                    matcher.exclude_namespaces.extend(names.iter().cloned())
                }
                (MatchFilterKind::Labels(labels), false) => {
                    matcher.labels.extend(labels.iter().cloned())
                }
                (MatchFilterKind::Labels(labels), true) => {
                    matcher.exclude_labels.extend(labels.iter().cloned())
                }
            }
        }
        (matcher, resource_ty)
    }

    fn statements(&mut self, statements: &[Statement]) -> Vec<Stmt> {
        let mut lowered = Vec::with_capacity(statements.len());
        for statement in statements {
            match &statement.kind {
                StatementKind::Let { name, value } => {
                    let located = self.located(value);
                    let (value, ty) = self.expression(value);
                    let slot = self.scope.bind(&name.text, ty, located);
                    lowered.push(Stmt::Let { slot, value });
                }
                StatementKind::For {
                    binding,
                    collection,
                    body,
                } => {
                    let (collection, located, element_ty, key_ty) = self.collection(collection);
                    self.scope.enter();
                    let (key_slot, value_slot) = self.bind(binding, key_ty, element_ty, located);
                    let body = self.statements(body);
                    self.scope.leave();
                    lowered.push(Stmt::For {
                        key_slot,
                        value_slot,
                        collection,
                        body,
                    });
                }
                StatementKind::If {
                    condition,
                    then,
                    otherwise,
                } => {
                    let (condition_expr, condition_ty) = self.expression(condition);
                    self.expect_bool(&condition_ty, condition.span, "the condition");
                    self.scope.enter();
                    let then = self.statements(then);
                    self.scope.leave();
                    self.scope.enter();
                    let otherwise = self.statements(otherwise);
                    self.scope.leave();
                    lowered.push(Stmt::If {
                        condition: condition_expr,
                        then,
                        otherwise,
                    });
                }
                StatementKind::Rule(rule) => lowered.push(Stmt::Rule(self.rule(rule))),
            }
        }
        lowered
    }

    fn rule(&mut self, rule: &RuleDecl) -> ir::Rule {
        let index = self.scope.rules;
        self.scope.rules += 1;
        let errors_before = self.reporter().error_count();
        let (condition, condition_ty) = self.expression(&rule.condition);
        self.expect_bool(&condition_ty, rule.condition.span, "a rule's condition");
        let mut explain = Vec::new();
        if self.reporter().error_count() == errors_before {
            let mut operands = Vec::new();
            deciding_operands(&rule.condition, &mut operands);
            for operand in operands {
                let text = self
                    .reporter()
                    .text()
                    .get(operand.span.start..operand.span.end)
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let (expr, _) = self.expression(operand);
                if !explain
                    .iter()
                    .any(|(known, _): &(String, _)| *known == text)
                {
                    explain.push((text, expr));
                }
            }
        }
        let at = rule.at.as_ref().map(|path| self.path(path).0);
        let message = match &rule.message {
            Some(template) => template
                .parts
                .iter()
                .map(|piece| match piece {
                    TemplatePiece::Text(text) => TemplatePart::Text(text.clone()),
                    TemplatePiece::Expr(expression) => {
                        TemplatePart::Expr(self.expression(expression).0)
                    }
                })
                .collect(),
            None => {
                self.reporter()
                    .warning("W0003", rule.span, "rule has no `message`")
                    .with_help("say what was found and what is allowed, e.g. `message \"container {c.name}: ...\"`");
                vec![TemplatePart::Text("policy violated".to_owned())]
            }
        };
        let fixes = rule
            .fixes
            .iter()
            .map(|fix| match fix {
                FixDecl::Set(path, value) => {
                    let (target, target_ty) = self.path(path);
                    let (value_expr, value_ty) = self.expression(value);
                    if !target_ty.compatible(&value_ty) {
                        self.reporter().error(
                            "E0203",
                            value.span,
                            format!("the fix sets a `{target_ty}` field to a `{value_ty}`"),
                        );
                    }
                    Fix::Set {
                        target,
                        value: value_expr,
                    }
                }
                FixDecl::Append(path, value) => {
                    let (target, target_ty) = self.path(path);
                    let (value_expr, value_ty) = self.expression(value);
                    match &target_ty {
                        Ty::List(items) if !items.compatible(&value_ty) => {
                            self.reporter().error(
                                "E0203",
                                value.span,
                                format!("the fix appends a `{value_ty}` to a `{target_ty}`"),
                            );
                        }
                        Ty::List(_) | Ty::Any => {}
                        other => {
                            self.reporter().error(
                                "E0203",
                                path.span,
                                format!("`+=` appends to a list, not to a `{other}`"),
                            );
                        }
                    }
                    Fix::Append {
                        target,
                        value: value_expr,
                    }
                }
                FixDecl::Remove(path) => Fix::Remove {
                    target: self.path(path).0,
                },
            })
            .collect();
        ir::Rule {
            index,
            action: rule.action,
            condition,
            at,
            message,
            fixes,
            explain,
        }
    }

    /// A path for `at` or a fix: it must start at a place in the resource.
    pub(super) fn path(&mut self, path: &PathDecl) -> (PathExpr, Ty) {
        let root_name = path.root.text.as_str();
        let (root, mut ty, mut steps) = match self.scope.lookup(root_name).cloned() {
            Some(local) => {
                if !local.located {
                    self.reporter()
                        .error("E0301", path.root.span, format!("`{root_name}` is not a place in the resource"))
                        .with_help("`at` and fixes start at `resource`, `pod`, a field of the resource, or a loop variable bound by `for x in <path>`");
                }
                (PathRoot::Slot(local.slot), local.ty.clone(), Vec::new())
            }
            None if root_name == "resource" => (
                PathRoot::Resource,
                self.scope.resource.clone().unwrap_or(Ty::Any),
                Vec::new(),
            ),
            None if root_name == "pod" && self.scope.has_pod => {
                (PathRoot::Pod, Ty::Pod, Vec::new())
            }
            None => {
                let resource_ty = self.scope.resource.clone().unwrap_or(Ty::Any);
                let ty = self.field_type(&resource_ty, root_name, path.root.span);
                (
                    PathRoot::Resource,
                    ty,
                    vec![PathStep::Field(Arc::from(root_name))],
                )
            }
        };
        for step in &path.steps {
            match step {
                PathStepDecl::Field(name) => {
                    if ty == Ty::Pod && name.text == "containers" {
                        self.reporter()
                            .error(
                                "E0301",
                                name.span,
                                "`pod.containers` spans three lists and is not one place",
                            )
                            .with_help("loop with `for c in pod.containers` and point at `c`");
                    }
                    ty = self.field_type(&ty, &name.text, name.span);
                    steps.push(PathStep::Field(Arc::from(name.text.as_str())));
                }
                PathStepDecl::Index(index) => {
                    let (index_expr, index_ty) = self.expression(index);
                    ty = match (&ty, &index_ty) {
                        (Ty::List(items), _) => (**items).clone(),
                        (Ty::Map(values), _) => (**values).clone(),
                        _ => Ty::Any,
                    };
                    steps.push(PathStep::Index(index_expr));
                }
            }
        }
        (PathExpr { root, steps }, ty)
    }
}

/// The sub-expressions whose values decide a condition: the operands of
/// comparisons and `in`, the arguments of predicate calls, the collections of
/// quantifiers; through `and`, `or` and `not`. Constants are left out.
fn deciding_operands<'e>(expression: &'e Expression, operands: &mut Vec<&'e Expression>) {
    let mut add = |operand: &'e Expression| {
        if !matches!(
            operand.kind,
            ExpressionKind::Null
                | ExpressionKind::Bool(_)
                | ExpressionKind::Int(_)
                | ExpressionKind::Float(_)
                | ExpressionKind::String(_)
                | ExpressionKind::List(_)
        ) {
            operands.push(operand);
        }
    };
    match &expression.kind {
        ExpressionKind::Binary(
            rampart_engine::ir::BinaryOp::And | rampart_engine::ir::BinaryOp::Or,
            left,
            right,
        ) => {
            deciding_operands(left, operands);
            deciding_operands(right, operands);
        }
        ExpressionKind::Unary(rampart_engine::ir::UnaryOp::Not, operand) => {
            deciding_operands(operand, operands)
        }
        ExpressionKind::Binary(_, left, right) => {
            add(left);
            add(right);
        }
        ExpressionKind::Call(_, arguments) => arguments.iter().for_each(add),
        ExpressionKind::Quantified { collection, .. } => add(collection),
        _ => add(expression),
    }
}

/// The title (explicit, or the doc comment's first line) and the description.
fn title_and_description(declaration: &PolicyDecl) -> (String, String) {
    let documentation = declaration.documentation.trim();
    match &declaration.title {
        Some(title) => (title.clone(), documentation.to_owned()),
        None => {
            let first = documentation
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            (first, documentation.to_owned())
        }
    }
}

/// The pointer of a path whose steps are all constant (for test expectations).
pub(super) fn constant_pointer(path: &PathDecl) -> Option<String> {
    let mut pointer = String::new();
    let mut push = |token: &str| {
        pointer.push('/');
        pointer.push_str(&rampart_engine::finding::escape_pointer_token(token));
    };
    if path.root.text != "resource" {
        push(&path.root.text);
    }
    for step in &path.steps {
        match step {
            PathStepDecl::Field(name) => push(&name.text),
            PathStepDecl::Index(index) => match &index.kind {
                ExpressionKind::Int(number) if *number >= 0 => push(&number.to_string()),
                ExpressionKind::String(key) => push(key),
                _ => return None,
            },
        }
    }
    Some(pointer)
}
