//! Putting two compiled policy sets together: the second set's function
//! indices are moved past the first set's functions.

use crate::ir::{Expr, Fix, PathStep, PolicySet, Stmt, TemplatePart};

impl PolicySet {
    /// Appends `other`'s policies and functions. Returns the ids of `other`'s
    /// policies that were already present (those are not added).
    pub fn merge(&mut self, other: PolicySet) -> Vec<String> {
        let offset = self.functions.len() as u32;
        let mut duplicates = Vec::new();
        for mut function in other.functions {
            shift_expr(&mut function.body, offset);
            self.functions.push(function);
        }
        for mut policy in other.policies {
            if self.policy(&policy.id).is_some() {
                duplicates.push(policy.id);
                continue;
            }
            for statement in &mut policy.body {
                shift_statement(statement, offset);
            }
            self.policies.push(policy);
        }
        duplicates
    }
}

fn shift_statement(statement: &mut Stmt, offset: u32) {
    match statement {
        Stmt::Let { value, .. } => shift_expr(value, offset),
        Stmt::For {
            collection, body, ..
        } => {
            shift_expr(collection, offset);
            body.iter_mut()
                .for_each(|statement| shift_statement(statement, offset));
        }
        Stmt::If {
            condition,
            then,
            otherwise,
        } => {
            shift_expr(condition, offset);
            then.iter_mut()
                .chain(otherwise.iter_mut())
                .for_each(|statement| shift_statement(statement, offset));
        }
        Stmt::Rule(rule) => {
            shift_expr(&mut rule.condition, offset);
            if let Some(at) = &mut rule.at {
                shift_steps(&mut at.steps, offset);
            }
            shift_template(&mut rule.message, offset);
            for fix in &mut rule.fixes {
                match fix {
                    Fix::Set { target, value } | Fix::Append { target, value } => {
                        shift_steps(&mut target.steps, offset);
                        shift_expr(value, offset);
                    }
                    Fix::Remove { target } => shift_steps(&mut target.steps, offset),
                }
            }
        }
    }
}

fn shift_template(parts: &mut [TemplatePart], offset: u32) {
    for part in parts {
        if let TemplatePart::Expr(expr) = part {
            shift_expr(expr, offset);
        }
    }
}

fn shift_steps(steps: &mut [PathStep], offset: u32) {
    for step in steps {
        if let PathStep::Index(expr) = step {
            shift_expr(expr, offset);
        }
    }
}

fn shift_expr(expr: &mut Expr, offset: u32) {
    match expr {
        Expr::CallFunction(index, arguments) => {
            *index += offset;
            arguments
                .iter_mut()
                .for_each(|argument| shift_expr(argument, offset));
        }
        Expr::Call(_, arguments) | Expr::List(arguments) => arguments
            .iter_mut()
            .for_each(|argument| shift_expr(argument, offset)),
        Expr::PodContainers(inner) | Expr::Field(inner, _) | Expr::Unary(_, inner) => {
            shift_expr(inner, offset)
        }
        Expr::Index(left, right) | Expr::Binary(_, left, right) => {
            shift_expr(left, offset);
            shift_expr(right, offset);
        }
        Expr::Object(members) => members
            .iter_mut()
            .for_each(|(_, value)| shift_expr(value, offset)),
        Expr::Quantified {
            collection,
            predicate,
            ..
        } => {
            shift_expr(collection, offset);
            shift_expr(predicate, offset);
        }
        Expr::Comprehension {
            collection,
            filter,
            map,
            ..
        } => {
            shift_expr(collection, offset);
            if let Some(filter) = filter {
                shift_expr(filter, offset);
            }
            shift_expr(map, offset);
        }
        Expr::Conditional(condition, then, otherwise) => {
            shift_expr(condition, offset);
            shift_expr(then, offset);
            shift_expr(otherwise, offset);
        }
        Expr::Format(parts) => shift_template(parts, offset),
        Expr::Literal(_)
        | Expr::Slot(_)
        | Expr::Resource
        | Expr::OldResource
        | Expr::Pod
        | Expr::Param(_) => {}
    }
}
