//! Which variables need to know where their value sits in the resource.
//!
//! Tracking a location costs a node per path step and per iterated element.
//! Only three things read locations: a rule's `at` and fix targets rooted at a
//! variable, a rule without `at` (it points at the innermost loop variable),
//! and a variable whose value is a path from another located one. A let that
//! none of these reach is evaluated without its location; comprehension and
//! quantifier variables never need one, since no rule can name them.

use crate::ir::{Expr, PathRoot, Policy, Rule, Stmt};

/// For each slot of `policy`, whether its location is ever read.
pub(super) fn of_policy(policy: &Policy) -> Vec<bool> {
    let mut located = vec![false; policy.slots as usize];
    mark_readers(&policy.body, &mut located);
    // A located variable whose value is a path from another variable needs
    // that variable located too; chains of lets are short, so repeat until
    // nothing changes.
    let mut links = Vec::new();
    collect_links(&policy.body, &mut links);
    loop {
        let mut changed = false;
        for &(variable, source) in &links {
            if is_marked(&located, variable) && !is_marked(&located, source) {
                mark(&mut located, source);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    located
}

fn is_marked(located: &[bool], slot: u32) -> bool {
    located.get(slot as usize).copied().unwrap_or(false)
}

fn mark(located: &mut [bool], slot: u32) {
    if let Some(entry) = located.get_mut(slot as usize) {
        *entry = true;
    }
}

/// Marks loop variables and the roots of `at` and fix paths.
fn mark_readers(statements: &[Stmt], located: &mut [bool]) {
    Stmt::walk(statements, &mut |statement| match statement {
        Stmt::For { value_slot, .. } => mark(located, *value_slot),
        Stmt::Rule(rule) => mark_rule(rule, located),
        Stmt::Let { .. } | Stmt::If { .. } => {}
    });
}

fn mark_rule(rule: &Rule, located: &mut [bool]) {
    for path in rule.paths() {
        if let PathRoot::Slot(slot) = path.root {
            mark(located, slot);
        }
    }
}

/// Pairs (variable, the variable its location is derived from).
fn collect_links(statements: &[Stmt], links: &mut Vec<(u32, u32)>) {
    Stmt::walk(statements, &mut |statement| match statement {
        Stmt::Let { slot, value } => {
            if let Some(source) = path_root(value) {
                links.push((*slot, source));
            }
        }
        Stmt::For {
            value_slot,
            collection,
            ..
        } => {
            let collection = match collection {
                Expr::PodContainers(pod) => pod,
                other => other,
            };
            if let Some(source) = path_root(collection) {
                links.push((*value_slot, source));
            }
        }
        Stmt::If { .. } | Stmt::Rule(_) => {}
    });
}

/// The variable a located path starts at, if it starts at one.
fn path_root(expr: &Expr) -> Option<u32> {
    match expr {
        Expr::Slot(slot) => Some(*slot),
        Expr::Field(base, _) | Expr::Index(base, _) => path_root(base),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Action, PathExpr, PathStep, Scope};
    use crate::test_support::policy;
    use std::sync::Arc;

    fn field(base: Expr, name: &str) -> Expr {
        Expr::Field(Box::new(base), Arc::from(name))
    }

    fn rule_at(root: u32) -> Stmt {
        Stmt::Rule(Rule {
            index: 0,
            action: Action::Deny,
            condition: Expr::Slot(3),
            at: Some(PathExpr {
                root: PathRoot::Slot(root),
                steps: vec![PathStep::Field("x".into())],
            }),
            message: vec![],
            fixes: vec![],
            explain: vec![],
        })
    }

    #[test]
    fn lets_are_located_only_when_a_rule_points_through_them() {
        // for c in pod.containers { let sc = c.securityContext
        //   let shown = sc.runAsUser; let options = sc.seLinuxOptions
        //   deny shown at options.x }
        let body = vec![Stmt::For {
            key_slot: None,
            value_slot: 0,
            collection: Expr::PodContainers(Box::new(Expr::Pod)),
            body: vec![
                Stmt::Let {
                    slot: 1,
                    value: field(Expr::Slot(0), "securityContext"),
                },
                Stmt::Let {
                    slot: 3,
                    value: field(Expr::Slot(1), "runAsUser"),
                },
                Stmt::Let {
                    slot: 2,
                    value: field(Expr::Slot(1), "seLinuxOptions"),
                },
                rule_at(2),
            ],
        }];
        let policy = policy(body, 4, Scope::All);
        assert_eq!(of_policy(&policy), [true, true, true, false]);
    }
}
