//! Lets that only messages read, evaluated when a message needs them.
//!
//! Policies name values for their messages: `let named = join(forbidden,
//! ", ")` beside `deny count(forbidden) > 0 ... message "... {named}"`.
//! Computed eagerly, such a let costs a list walk and a string for every
//! container, while the message is rendered only for the few that fail. A
//! let is deferred when nothing but rule messages and explanations reads it:
//! its expression is kept at the `let` and evaluated just before a rule of
//! its scope renders a message. Its inputs cannot have changed by then (each
//! variable has its own slot, bound again only by re-running the statements
//! that bind it, which also re-run the `let`). Only a failure inside such a
//! let behaves differently: it stops the policy when a message needs the
//! value, not when the `let` is reached.

use crate::ir::{Expr, Fix, PathExpr, PathRoot, PathStep, Policy, Rule, Stmt};

/// For each slot of `policy`, whether it is a let read only by messages.
pub(super) fn of_policy(policy: &Policy) -> Vec<bool> {
    let slots = policy.slots as usize;
    let mut is_let = vec![false; slots];
    let mut read_elsewhere = vec![false; slots];
    statements(&policy.body, &mut is_let, &mut read_elsewhere);
    is_let
        .iter()
        .zip(&read_elsewhere)
        .map(|(is_let, read)| *is_let && !read)
        .collect()
}

fn mark(flags: &mut [bool], slot: u32) {
    if let Some(flag) = flags.get_mut(slot as usize) {
        *flag = true;
    }
}

fn statements(body: &[Stmt], is_let: &mut [bool], read: &mut [bool]) {
    Stmt::walk(body, &mut |statement| match statement {
        Stmt::Let { slot, value } => {
            mark(is_let, *slot);
            expression(value, read);
        }
        Stmt::For { collection, .. } => expression(collection, read),
        Stmt::If { condition, .. } => expression(condition, read),
        Stmt::Rule(rule) => rule_reads(rule, read),
    });
}

/// Marks what a rule reads outside its message and explanations.
fn rule_reads(rule: &Rule, read: &mut [bool]) {
    expression(&rule.condition, read);
    for target in rule.paths() {
        path(target, read);
    }
    for value in rule.fixes.iter().filter_map(Fix::value) {
        expression(value, read);
    }
}

fn path(path: &PathExpr, read: &mut [bool]) {
    if let PathRoot::Slot(slot) = path.root {
        mark(read, slot);
    }
    for step in &path.steps {
        if let PathStep::Index(index) = step {
            expression(index, read);
        }
    }
}

/// Marks every variable an expression reads.
fn expression(expr: &Expr, read: &mut [bool]) {
    if let Expr::Slot(slot) = expr {
        mark(read, *slot);
    }
    expr.for_each_child(&mut |child| expression(child, read));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Action, BinaryOp, Builtin, Scope, TemplatePart};
    use crate::json;
    use crate::test_support::policy;

    #[test]
    fn only_lets_that_messages_alone_read_are_deferred() {
        // let shown = join(...); let limit = 3; let place = pod.spec
        // deny count(...) > limit at place.x message "{shown}"
        let rule = Rule {
            index: 0,
            action: Action::Deny,
            condition: Expr::Binary(
                BinaryOp::Greater,
                Box::new(Expr::Literal(json!(4))),
                Box::new(Expr::Slot(1)),
            ),
            at: Some(PathExpr {
                root: PathRoot::Slot(2),
                steps: vec![PathStep::Field("x".into())],
            }),
            message: vec![TemplatePart::Expr(Expr::Slot(0))],
            fixes: vec![],
            explain: vec![],
        };
        let body = vec![
            Stmt::Let {
                slot: 0,
                value: Expr::Call(Builtin::Join, vec![Expr::Literal(json!(["a"]))]),
            },
            Stmt::Let {
                slot: 1,
                value: Expr::Literal(json!(3)),
            },
            Stmt::Let {
                slot: 2,
                value: Expr::Field(Box::new(Expr::Pod), "spec".into()),
            },
            Stmt::Rule(rule),
        ];
        let policy = policy(body, 3, Scope::All);
        assert_eq!(of_policy(&policy), [true, false, false]);
    }
}
