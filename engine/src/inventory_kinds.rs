//! Which kinds of resource the cross-resource policies of a set look at.
//!
//! A policy that calls `resources("NetworkPolicy")` needs every
//! NetworkPolicy of the input, not every resource: knowing the kinds lets a
//! caller keep only those while it streams the rest (see the command line's
//! two-pass check).

use crate::ir::{Builtin, Expr, Fix, PathStep, PolicySet, Rule, Stmt, TemplatePart};
use std::collections::BTreeSet;

impl PolicySet {
    /// The kinds that `resources(...)` is called with anywhere in the set
    /// (policies and functions), or `None` when a call names its kind with
    /// anything but a string literal, so that any kind may be asked for.
    pub fn inventory_kinds(&self) -> Option<BTreeSet<String>> {
        let mut kinds = Some(BTreeSet::new());
        for policy in &self.policies {
            statements(&policy.body, &mut kinds);
        }
        for function in &self.functions {
            expression(&function.body, &mut kinds);
        }
        kinds
    }
}

fn statements(body: &[Stmt], kinds: &mut Option<BTreeSet<String>>) {
    Stmt::walk(body, &mut |statement| match statement {
        Stmt::Let { value, .. } => expression(value, kinds),
        Stmt::For { collection, .. } => expression(collection, kinds),
        Stmt::If { condition, .. } => expression(condition, kinds),
        Stmt::Rule(rule) => rule_expressions(rule, kinds),
    });
}

fn rule_expressions(rule: &Rule, kinds: &mut Option<BTreeSet<String>>) {
    expression(&rule.condition, kinds);
    for part in &rule.message {
        if let TemplatePart::Expr(inner) = part {
            expression(inner, kinds);
        }
    }
    for path in rule.paths() {
        for step in &path.steps {
            if let PathStep::Index(index) = step {
                expression(index, kinds);
            }
        }
    }
    for value in rule.fixes.iter().filter_map(Fix::value) {
        expression(value, kinds);
    }
    for (_, explained) in &rule.explain {
        expression(explained, kinds);
    }
}

fn expression(expr: &Expr, kinds: &mut Option<BTreeSet<String>>) {
    if let Expr::Call(Builtin::Resources, arguments) = expr {
        match (arguments.first(), kinds.as_mut()) {
            (Some(Expr::Literal(crate::json::Json::String(kind))), Some(known)) => {
                known.insert(kind.to_string());
            }
            _ => *kinds = None,
        }
    }
    expr.for_each_child(&mut |child| expression(child, kinds));
}

#[cfg(test)]
mod tests {
    use crate::ir::{Builtin, Expr, PolicySet, Stmt};
    use crate::json;

    fn set_with(lets: Vec<Expr>) -> PolicySet {
        let mut policy = crate::test_support::policy(Vec::new(), 0, crate::ir::Scope::All);
        policy.body = lets
            .into_iter()
            .enumerate()
            .map(|(slot, value)| Stmt::Let {
                slot: slot as u32,
                value,
            })
            .collect();
        crate::test_support::set_of(policy)
    }

    fn resources(argument: Expr) -> Expr {
        Expr::Call(
            Builtin::Count,
            vec![Expr::Call(Builtin::Resources, vec![argument])],
        )
    }

    #[test]
    fn literal_kinds_are_listed_and_a_computed_kind_means_any() {
        let set = set_with(vec![
            resources(Expr::Literal(json!("NetworkPolicy"))),
            resources(Expr::Literal(json!("ServiceAccount"))),
        ]);
        let kinds = set.inventory_kinds().expect("known kinds");
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            ["NetworkPolicy", "ServiceAccount"]
        );
        let computed = set_with(vec![resources(Expr::Slot(0))]);
        assert_eq!(computed.inventory_kinds(), None);
        assert_eq!(set_with(vec![]).inventory_kinds(), Some(Default::default()));
    }
}
