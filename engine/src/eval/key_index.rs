//! The key index: a policy that can only fire when some key is in the
//! resource is not run on a resource that lacks it.
//!
//! Most checks look for something present: `c.securityContext.privileged ==
//! true` cannot hold in a resource without a `privileged` key anywhere, and
//! most resources have none of the keys a given check looks for. When the
//! evaluator is made, each policy is run once on abstract values, assuming
//! that every path it reads from the resource is absent. If no rule can fire
//! under that assumption, the policy fires only on a resource where one of
//! those paths is present, and a path is present only if all of its keys are.
//! The paths become filters ([`KeyFilter`]), and a resource whose own filter
//! (every key name it holds, hashed once per resource) covers none of them is
//! judged clean without running the policy.
//!
//! The analysis is sound, not complete: whatever it cannot follow (user
//! functions, `resources()`, the old object, computed strings, loops over
//! computed lists) counts as unknown, and a rule with an unknown condition
//! makes the policy run on every resource, as without the index. Values it
//! can follow exactly (literals, parameters, constant lets, and anything
//! computed from those and absent paths) are computed by the evaluator
//! itself, so the analysis never restates the language's semantics. Skipping
//! changes nothing but time: the policy would have found nothing, and
//! evaluation cannot fail except by running out of budget, which a skipped
//! policy does not spend.

use super::Evaluator;
use super::constants::{lasting_json, run_without_resource};
use crate::ir::{BinaryOp, Builtin, Expr, Policy, Quantifier, Stmt, UnaryOp};
use crate::json::{Json, KeyFilter};
use crate::value::Value;
use std::sync::Arc;

/// Nodes the analysis visits before it gives a policy up as too large to be
/// worth indexing.
const WORK_LIMIT: u32 = 20_000;

/// Paths past which a policy is not worth indexing: checking a resource
/// against them would cost about what running the policy does.
const MOST_FILTERS: usize = 32;

/// Constant lists longer than this are not unrolled by the analysis.
const MOST_UNROLLED: usize = 64;

/// The filters of the paths one of which a resource must hold for `policy`
/// to fire on it (none: it never fires); `None` when the policy may fire on
/// any resource, or the analysis cannot tell.
pub(super) fn of_policy(
    evaluator: &Evaluator<'_>,
    policy: &Policy,
    constants: &[Option<Json>],
) -> Option<Vec<KeyFilter>> {
    let mut analysis = Analysis {
        evaluator,
        policy,
        constants,
        slots: vec![Abstract::Unknown; policy.slots as usize],
        absent: Vec::new(),
        work: 0,
    };
    analysis.statements(&policy.body).ok()?;
    if analysis.work > WORK_LIMIT {
        return None;
    }
    let mut filters = Vec::new();
    for path in &analysis.absent {
        if path.is_empty() {
            return None;
        }
        let filter = filter_of_keys(path);
        if !filters.contains(&filter) {
            filters.push(filter);
        }
    }
    (filters.len() <= MOST_FILTERS).then_some(filters)
}

/// What the analysis knows of a value.
#[derive(Clone, Debug)]
enum Abstract {
    /// Exactly this value (given that the absent paths are absent).
    Known(Json),
    /// Whatever the resource holds at a path whose keys are these (in order;
    /// a path through list elements names only the keys): absent, or a value
    /// that is not known.
    Document(Vec<Arc<str>>),
    /// Not known.
    Unknown,
}

/// A rule that may fire under the analysis' assumptions.
struct MayFire;

struct Analysis<'a> {
    evaluator: &'a Evaluator<'a>,
    policy: &'a Policy,
    constants: &'a [Option<Json>],
    slots: Vec<Abstract>,
    /// The paths assumed absent so far.
    absent: Vec<Vec<Arc<str>>>,
    work: u32,
}

impl Analysis<'_> {
    fn statements(&mut self, statements: &[Stmt]) -> Result<(), MayFire> {
        for statement in statements {
            self.work += 1;
            if self.work > WORK_LIMIT {
                return Err(MayFire);
            }
            match statement {
                Stmt::Let { slot, value } => {
                    let value = match self.constants.get(*slot as usize) {
                        Some(Some(constant)) => Abstract::Known(constant.clone()),
                        _ => self.value(value),
                    };
                    self.bind(Some(*slot), value);
                }
                Stmt::For {
                    key_slot,
                    value_slot,
                    collection,
                    body,
                } => self.for_loop(*key_slot, *value_slot, collection, body)?,
                Stmt::If {
                    condition,
                    then,
                    otherwise,
                } => match self.consumed(condition) {
                    Abstract::Known(value) if is_true(&value) => self.statements(then)?,
                    Abstract::Known(_) => self.statements(otherwise)?,
                    _ => {
                        self.statements(then)?;
                        self.statements(otherwise)?;
                    }
                },
                Stmt::Rule(rule) => match self.consumed(&rule.condition) {
                    Abstract::Known(value) if !is_true(&value) => {}
                    _ => return Err(MayFire),
                },
            }
        }
        Ok(())
    }

    fn for_loop(
        &mut self,
        key_slot: Option<u32>,
        value_slot: u32,
        collection: &Expr,
        body: &[Stmt],
    ) -> Result<(), MayFire> {
        if let Expr::PodContainers(_) = collection {
            // Containers are objects under the pod's `spec`.
            let container = Abstract::Document(vec![Arc::from("spec")]);
            return self.body(key_slot, value_slot, Abstract::Unknown, container, body);
        }
        match self.value(collection) {
            Abstract::Document(path) if !path.is_empty() => {
                // First as if the collection were present, its elements
                // unknown values at its path; failing that, as if absent,
                // so that the loop does not run.
                let absent = self.absent.len();
                let slots = self.slots.clone();
                let element = Abstract::Document(path.clone());
                if self
                    .body(key_slot, value_slot, Abstract::Unknown, element, body)
                    .is_ok()
                {
                    return Ok(());
                }
                self.absent.truncate(absent);
                self.slots = slots;
                self.absent.push(path);
                Ok(())
            }
            Abstract::Known(Json::Array(items)) if items.len() <= MOST_UNROLLED => {
                for (position, item) in items.into_iter().enumerate() {
                    let key = Abstract::Known(Json::from(position));
                    self.body(key_slot, value_slot, key, Abstract::Known(item), body)?;
                }
                Ok(())
            }
            Abstract::Known(Json::Object(members)) if members.len() <= MOST_UNROLLED => {
                for (key, member) in members {
                    let key = Abstract::Known(Json::String(crate::json::Text::new(key.as_str())));
                    self.body(key_slot, value_slot, key, Abstract::Known(member), body)?;
                }
                Ok(())
            }
            // Anything else but a list or a map runs the body zero times.
            Abstract::Known(known) if !matches!(known, Json::Object(_) | Json::Array(_)) => Ok(()),
            _ => self.body(
                key_slot,
                value_slot,
                Abstract::Unknown,
                Abstract::Unknown,
                body,
            ),
        }
    }

    fn body(
        &mut self,
        key_slot: Option<u32>,
        value_slot: u32,
        key: Abstract,
        element: Abstract,
        body: &[Stmt],
    ) -> Result<(), MayFire> {
        self.bind(key_slot, key);
        self.bind(Some(value_slot), element);
        self.statements(body)
    }

    fn bind(&mut self, slot: Option<u32>, value: Abstract) {
        if let Some(entry) = slot.and_then(|slot| self.slots.get_mut(slot as usize)) {
            *entry = value;
        }
    }

    /// The value of an expression read as a value: a path into the resource
    /// becomes null, assumed absent.
    fn consumed(&mut self, expr: &Expr) -> Abstract {
        let value = self.value(expr);
        self.consume(value)
    }

    fn consume(&mut self, value: Abstract) -> Abstract {
        match value {
            // The resource itself, a pod or a container is not absent.
            Abstract::Document(path) if path.is_empty() => Abstract::Unknown,
            Abstract::Document(path) => {
                self.absent.push(path);
                Abstract::Known(Json::Null)
            }
            other => other,
        }
    }

    fn value(&mut self, expr: &Expr) -> Abstract {
        self.work += 1;
        if self.work > WORK_LIMIT {
            return Abstract::Unknown;
        }
        match expr {
            Expr::Literal(json) => Abstract::Known(json.clone()),
            Expr::Slot(slot) => self
                .slots
                .get(*slot as usize)
                .cloned()
                .unwrap_or(Abstract::Unknown),
            Expr::Resource | Expr::Pod => Abstract::Document(Vec::new()),
            Expr::Param(index) => self
                .policy
                .params
                .get(*index as usize)
                .map_or(Abstract::Unknown, |param| {
                    Abstract::Known(param.value.clone())
                }),
            Expr::OldResource
            | Expr::PodContainers(_)
            | Expr::CallFunction(..)
            | Expr::Format(_)
            | Expr::Call(Builtin::Resources, _) => Abstract::Unknown,
            Expr::Field(base, name) => match self.value(base) {
                Abstract::Document(mut path) => {
                    path.push(name.clone());
                    Abstract::Document(path)
                }
                Abstract::Known(base) => self.known(Expr::Field(literal(base), name.clone())),
                Abstract::Unknown => Abstract::Unknown,
            },
            Expr::Index(base, index) => {
                let base = self.value(base);
                let index = self.consumed(index);
                match (base, index) {
                    (Abstract::Document(mut path), Abstract::Known(Json::String(key))) => {
                        path.push(Arc::from(key));
                        Abstract::Document(path)
                    }
                    (Abstract::Document(path), _) => Abstract::Document(path),
                    (Abstract::Known(base), Abstract::Known(index)) => {
                        self.known(Expr::Index(literal(base), literal(index)))
                    }
                    _ => Abstract::Unknown,
                }
            }
            Expr::Unary(operator, operand) => self.unary(*operator, operand),
            Expr::Binary(operator, left, right) => self.binary(*operator, left, right),
            Expr::Call(builtin, arguments) => match self.all_known(arguments) {
                Some(arguments) => self.known(Expr::Call(*builtin, arguments)),
                None => Abstract::Unknown,
            },
            Expr::List(elements) => match self.all_known(elements) {
                Some(elements) => self.known(Expr::List(elements)),
                None => Abstract::Unknown,
            },
            Expr::Object(members) => {
                let mut known = Vec::with_capacity(members.len());
                for (key, member) in members {
                    match self.consumed(member) {
                        Abstract::Known(value) => known.push((key.clone(), Expr::Literal(value))),
                        _ => return Abstract::Unknown,
                    }
                }
                self.known(Expr::Object(known))
            }
            Expr::Quantified {
                quantifier,
                collection,
                ..
            } => match self.consumed(collection) {
                Abstract::Known(known) if iterates_nothing(&known) => {
                    Abstract::Known(Json::Bool(matches!(quantifier, Quantifier::All)))
                }
                _ => Abstract::Unknown,
            },
            Expr::Comprehension { collection, .. } => match self.consumed(collection) {
                Abstract::Known(known) if iterates_nothing(&known) => {
                    Abstract::Known(Json::Array(Vec::new()))
                }
                _ => Abstract::Unknown,
            },
            Expr::Conditional(condition, then, otherwise) => match self.consumed(condition) {
                Abstract::Known(value) if is_true(&value) => self.value(then),
                Abstract::Known(_) => self.value(otherwise),
                _ => Abstract::Unknown,
            },
        }
    }

    fn unary(&mut self, operator: UnaryOp, operand: &Expr) -> Abstract {
        match self.consumed(operand) {
            Abstract::Known(value) => self.known(Expr::Unary(operator, literal(value))),
            _ => Abstract::Unknown,
        }
    }

    /// Binary operators; `and`, `or` and `??` decide on one known side
    /// where the evaluator would.
    fn binary(&mut self, operator: BinaryOp, left: &Expr, right: &Expr) -> Abstract {
        let left = self.consumed(left);
        match operator {
            BinaryOp::Coalesce => match left {
                Abstract::Known(Json::Null) => self.value(right),
                known @ Abstract::Known(_) => known,
                _ => Abstract::Unknown,
            },
            BinaryOp::And | BinaryOp::Or => {
                let deciding = matches!(operator, BinaryOp::Or);
                if let Abstract::Known(value) = &left
                    && is_true(value) == deciding
                {
                    return Abstract::Known(Json::Bool(deciding));
                }
                match (left, self.consumed(right)) {
                    (_, Abstract::Known(value)) if is_true(&value) == deciding => {
                        Abstract::Known(Json::Bool(deciding))
                    }
                    (Abstract::Known(_), Abstract::Known(value)) => {
                        Abstract::Known(Json::Bool(is_true(&value)))
                    }
                    _ => Abstract::Unknown,
                }
            }
            _ => match (left, self.consumed(right)) {
                (Abstract::Known(left), Abstract::Known(right)) => {
                    self.known(Expr::Binary(operator, literal(left), literal(right)))
                }
                _ => Abstract::Unknown,
            },
        }
    }

    /// The expressions as literals, if every one is known.
    fn all_known(&mut self, expressions: &[Expr]) -> Option<Vec<Expr>> {
        let mut known = Vec::with_capacity(expressions.len());
        for expr in expressions {
            match self.consumed(expr) {
                Abstract::Known(value) => known.push(Expr::Literal(value)),
                _ => return None,
            }
        }
        Some(known)
    }

    /// Evaluates an expression of literals with the evaluator.
    fn known(&mut self, expr: Expr) -> Abstract {
        let mut run = run_without_resource(self.evaluator, self.policy);
        // A value JSON cannot hold (NaN) is left unknown.
        run.eval(&expr)
            .ok()
            .and_then(|value| lasting_json(&value))
            .map_or(Abstract::Unknown, Abstract::Known)
    }
}

fn literal(value: Json) -> Box<Expr> {
    Box::new(Expr::Literal(value))
}

fn is_true(value: &Json) -> bool {
    Value::from_json(value).is_true()
}

/// Whether iterating the value visits nothing: only non-empty lists and maps
/// have elements.
fn iterates_nothing(value: &Json) -> bool {
    match value {
        Json::Array(items) => items.is_empty(),
        Json::Object(members) => members.is_empty(),
        _ => true,
    }
}

/// The filter of one path's keys.
fn filter_of_keys(keys: &[Arc<str>]) -> KeyFilter {
    let mut filter = KeyFilter::default();
    for key in keys {
        filter.insert(key);
    }
    filter
}
