//! Lets that do not depend on the resource, computed once per evaluator.
//!
//! Version tables are the common case: `let safe = [e.name for e in table if
//! version_at_least(e.since)]` gives the same list for every resource judged
//! at one version, yet building it took a fifth of the evaluation of the Pod
//! Security Standards. A let is constant when its expression reads only
//! literals, parameters, the Kubernetes version and other constant lets; it
//! is then evaluated once, when the evaluator is made, and kept as JSON.

use super::exec::Run;
use super::{Evaluator, NO_PLAN, Subject};
use crate::ir::{Builtin, Expr, Policy, Stmt};
use crate::json::Json;
use crate::value::Value;

/// What is evaluated when the evaluator is made reads instead of a resource.
static NO_RESOURCE: Json = Json::Null;

/// A run that reads no resource, for values worked out when the evaluator is
/// made (constant lets here, known values in [`super::key_index`]).
pub(super) fn run_without_resource<'v>(
    evaluator: &'v Evaluator<'v>,
    policy: &'v Policy,
) -> Run<'v> {
    let subject = Subject::new(&NO_RESOURCE);
    Run::new(evaluator, policy, &subject, None, &NO_PLAN)
}

/// The value as JSON, if it survives the trip unchanged (not infinities or
/// NaN): only such values can be kept as JSON and read back.
pub(super) fn lasting_json(value: &Value<'_>) -> Option<Json> {
    let json = value.to_json();
    let survives = Value::from_json(&json).equals(value);
    survives.then_some(json)
}

/// The value of each constant let of `policy`, by slot (`None` for the others).
pub(super) fn of_policy(evaluator: &Evaluator<'_>, policy: &Policy) -> Vec<Option<Json>> {
    let mut constant = vec![false; policy.slots as usize];
    let mut lets = Vec::new();
    find_constant_lets(&policy.body, &mut constant, &mut lets);
    let mut values: Vec<Option<Json>> = vec![None; policy.slots as usize];
    if lets.is_empty() {
        return values;
    }
    let mut run = run_without_resource(evaluator, policy);
    // Pre-order: a constant let only reads lets bound before it.
    for (slot, expr) in lets {
        let Ok(value) = run.eval(expr) else {
            // An error is reported where it happens, at evaluation time.
            continue;
        };
        // A value JSON cannot hold is left to be computed per resource.
        if let Some(json) = lasting_json(&value) {
            if let Some(entry) = values.get_mut(slot as usize) {
                *entry = Some(json);
            }
            run.bind(slot, value, None);
        }
    }
    values
}

/// Marks constant let slots, in statement order.
fn find_constant_lets<'p>(
    statements: &'p [Stmt],
    constant: &mut [bool],
    lets: &mut Vec<(u32, &'p Expr)>,
) {
    Stmt::walk(statements, &mut |statement| {
        if let Stmt::Let { slot, value } = statement
            && is_constant(value, constant)
        {
            mark(constant, *slot);
            lets.push((*slot, value));
        }
    });
}

fn mark(constant: &mut [bool], slot: u32) {
    if let Some(entry) = constant.get_mut(slot as usize) {
        *entry = true;
    }
}

/// Whether an expression reads nothing of the resource, given which slots are
/// constant. Marks the variables of comprehensions over constant collections.
fn is_constant(expr: &Expr, constant: &mut [bool]) -> bool {
    match expr {
        Expr::Literal(_) | Expr::Param(_) => true,
        Expr::Slot(slot) => constant.get(*slot as usize).copied().unwrap_or(false),
        // User functions may read the resource through their arguments only,
        // but are left to run time rather than analysed.
        Expr::Resource
        | Expr::OldResource
        | Expr::Pod
        | Expr::PodContainers(_)
        | Expr::CallFunction(..)
        | Expr::Call(Builtin::Resources, _) => false,
        Expr::Quantified {
            key_slot,
            value_slot,
            collection,
            ..
        }
        | Expr::Comprehension {
            key_slot,
            value_slot,
            collection,
            ..
        } => {
            // Its variables range over the collection: constant if it is.
            is_constant(collection, constant) && {
                mark_variables(constant, *key_slot, *value_slot);
                children_are_constant(expr, constant)
            }
        }
        _ => children_are_constant(expr, constant),
    }
}

fn children_are_constant(expr: &Expr, constant: &mut [bool]) -> bool {
    let mut all = true;
    expr.for_each_child(&mut |child| all = all && is_constant(child, constant));
    all
}

fn mark_variables(constant: &mut [bool], key_slot: Option<u32>, value_slot: u32) {
    if let Some(key_slot) = key_slot {
        mark(constant, key_slot);
    }
    mark(constant, value_slot);
}
