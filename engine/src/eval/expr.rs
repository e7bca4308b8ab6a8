//! Expressions: values, located paths and iteration.

use super::Stop;
use super::exec::Run;
use super::location::Location;
use crate::ir::{BinaryOp, Expr, Quantifier, UnaryOp};
use crate::json::{Json, Key};
use crate::value::Value;
use crate::workload::CONTAINER_LISTS;
use std::rc::Rc;

/// What iteration calls for each element: the run, the index or key, the
/// element and its location. Returns whether to go on.
pub(super) type Visitor<'r, 'v> =
    dyn FnMut(&mut Run<'v>, Value<'v>, Value<'v>, Option<Location>) -> Result<bool, Stop> + 'r;

impl<'v> Run<'v> {
    /// Evaluates an expression.
    pub(super) fn eval(&mut self, expr: &'v Expr) -> Result<Value<'v>, Stop> {
        self.budget.spend()?;
        Ok(match expr {
            Expr::Literal(json) => Value::from_json(json),
            Expr::Slot(slot) => self.slot(*slot),
            Expr::Pod => self.pod_value.clone(),
            Expr::Field(base, name) => self.operand(base)?.field(name),
            Expr::Unary(operator, operand) => {
                let operand = self.eval(operand)?;
                unary(*operator, operand)
            }
            Expr::Binary(operator, left, right) => self.binary(*operator, left, right)?,
            Expr::Resource => Value::from_json(self.subject.resource),
            Expr::OldResource => self
                .subject
                .old_resource
                .map_or(Value::Null, Value::from_json),
            Expr::PodContainers(_) => {
                let mut items = Vec::new();
                self.iterate(expr, false, &mut |_, _, value, _| {
                    items.push(value);
                    Ok(true)
                })?;
                Value::list(items)
            }
            Expr::Param(index) => self
                .policy
                .params
                .get(*index as usize)
                .map_or(Value::Null, |param| Value::from_json(&param.value)),
            Expr::Index(base, index) => {
                let base = self.eval(base)?;
                let index = self.eval(index)?;
                base.index(&index)
            }
            Expr::Call(builtin, arguments) => {
                // No builtin takes more than three arguments: they are kept
                // on the stack rather than in a vector made for each call.
                let mut values = [Value::Null, Value::Null, Value::Null];
                if arguments.len() > values.len() {
                    let values: Vec<Value<'v>> = arguments
                        .iter()
                        .map(|argument| self.eval(argument))
                        .collect::<Result<_, _>>()?;
                    self.call_builtin(*builtin, &values)?
                } else {
                    for (place, argument) in values.iter_mut().zip(arguments) {
                        *place = self.eval(argument)?;
                    }
                    self.call_builtin(*builtin, &values[..arguments.len()])?
                }
            }
            Expr::CallFunction(index, arguments) => self.call_function(*index, arguments)?,
            Expr::List(elements) => {
                let mut items = Vec::with_capacity(elements.len());
                for element in elements {
                    items.push(self.eval(element)?);
                }
                Value::list(items)
            }
            Expr::Object(members) => {
                let mut object = Vec::with_capacity(members.len());
                for (key, member) in members {
                    object.push((key.clone(), self.eval(member)?));
                }
                Value::Object(Rc::new(object))
            }
            Expr::Quantified {
                quantifier,
                key_slot,
                value_slot,
                collection,
                predicate,
            } => {
                let looking_for = matches!(quantifier, Quantifier::Any);
                let mut found = false;
                self.iterate(collection, false, &mut |run, key, value, location| {
                    if let Some(key_slot) = key_slot {
                        run.bind(*key_slot, key, None);
                    }
                    run.bind(*value_slot, value, location);
                    if run.condition(predicate)? == looking_for {
                        found = true;
                        return Ok(false);
                    }
                    Ok(true)
                })?;
                Value::bool(if looking_for { found } else { !found })
            }
            Expr::Comprehension {
                key_slot,
                value_slot,
                collection,
                filter,
                map,
            } => {
                let mut items = Vec::new();
                self.iterate(collection, false, &mut |run, key, value, location| {
                    if let Some(key_slot) = key_slot {
                        run.bind(*key_slot, key, None);
                    }
                    run.bind(*value_slot, value, location);
                    if let Some(filter) = filter
                        && !run.condition(filter)?
                    {
                        return Ok(true);
                    }
                    items.push(run.eval(map)?);
                    Ok(true)
                })?;
                Value::list(items)
            }
            Expr::Conditional(condition, then, otherwise) => {
                if self.condition(condition)? {
                    self.eval(then)?
                } else {
                    self.eval(otherwise)?
                }
            }
            Expr::Format(parts) => Value::string(self.render(parts)?),
        })
    }

    /// Evaluates an expression and, when it is a path into the resource, where it is.
    pub(super) fn eval_located(
        &mut self,
        expr: &'v Expr,
    ) -> Result<(Value<'v>, Option<Location>), Stop> {
        match expr {
            Expr::Slot(slot) => {
                self.budget.spend()?;
                Ok((
                    self.slot(*slot),
                    self.locations.get(*slot as usize).copied().flatten(),
                ))
            }
            Expr::Resource => {
                self.budget.spend()?;
                Ok((
                    Value::from_json(self.subject.resource),
                    Some(self.places.root()),
                ))
            }
            Expr::Pod => {
                self.budget.spend()?;
                Ok((self.pod_value.clone(), self.pod_location))
            }
            Expr::Field(base, name) => {
                let (base, location) = self.eval_located(base)?;
                Ok((
                    base.field(name),
                    location.map(|location| self.places.member(location, name)),
                ))
            }
            Expr::Index(base, index) => {
                let (base, location) = self.eval_located(base)?;
                let index = self.eval(index)?;
                let location = match (&index, location) {
                    (Value::Int(position), Some(location)) if *position >= 0 => {
                        Some(self.places.element(location, *position as usize))
                    }
                    (Value::Str(key), Some(location)) => {
                        let key: &'v crate::json::Text = key;
                        Some(self.places.member(location, key.as_str()))
                    }
                    (Value::Name(key), Some(location)) => {
                        let key: &'v Key = key;
                        Some(self.places.member(location, key.as_str()))
                    }
                    (other, Some(location)) => other
                        .as_str()
                        .map(|key| self.places.computed_member(location, key.into())),
                    (_, None) => None,
                };
                Ok((base.index(&index), location))
            }
            _ => Ok((self.eval(expr)?, None)),
        }
    }

    /// Evaluates an expression, with its location only when asked for.
    pub(super) fn eval_maybe_located(
        &mut self,
        expr: &'v Expr,
        located: bool,
    ) -> Result<(Value<'v>, Option<Location>), Stop> {
        if located {
            self.eval_located(expr)
        } else {
            Ok((self.eval(expr)?, None))
        }
    }

    /// Visits each element of a collection with its key and, when `located`,
    /// its location.
    pub(super) fn iterate(
        &mut self,
        collection: &'v Expr,
        located: bool,
        visit: &mut Visitor<'_, 'v>,
    ) -> Result<(), Stop> {
        if let Expr::PodContainers(pod) = collection {
            return self.iterate_containers(pod, located, visit);
        }
        let (value, location) = self.eval_maybe_located(collection, located)?;
        self.iterate_value(value, location, 0, visit).map(|_| ())
    }

    fn iterate_containers(
        &mut self,
        pod: &'v Expr,
        located: bool,
        visit: &mut Visitor<'_, 'v>,
    ) -> Result<(), Stop> {
        let (pod_value, location) = self.eval_maybe_located(pod, located)?;
        // Kept only for the resource's pod, as a policy about pods sees it
        // (in any other policy `pod` is null).
        let the_pod = matches!(pod, Expr::Pod) && self.pod_location.is_some();
        let lists = match &self.pod_lists {
            Some(lists) if the_pod => lists.clone(),
            _ => {
                let spec = pod_value.field("spec");
                let lists = CONTAINER_LISTS.map(|list| spec.field(list));
                if the_pod {
                    self.pod_lists = Some(lists.clone());
                }
                lists
            }
        };
        let spec_location = location.map(|location| self.places.member(location, "spec"));
        let mut ordinal = 0i64;
        for (list, name) in lists.into_iter().zip(CONTAINER_LISTS) {
            if list.is_null() {
                continue;
            }
            let list_location = spec_location.map(|location| self.places.member(location, name));
            let (going_on, visited) = self.iterate_value(list, list_location, ordinal, visit)?;
            ordinal += visited;
            if !going_on {
                break;
            }
        }
        Ok(())
    }

    /// Iterates a list or map; returns whether to go on and how many were visited.
    fn iterate_value(
        &mut self,
        value: Value<'v>,
        location: Option<Location>,
        first_ordinal: i64,
        visit: &mut Visitor<'_, 'v>,
    ) -> Result<(bool, i64), Stop> {
        let mut visited = 0i64;
        match value {
            Value::Json(Json::Array(items)) => {
                for (position, item) in items.iter().enumerate() {
                    self.budget.spend()?;
                    visited += 1;
                    let item_location =
                        location.map(|location| self.places.element(location, position));
                    let key = Value::Int(first_ordinal + position as i64);
                    if !visit(self, key, Value::from_json(item), item_location)? {
                        return Ok((false, visited));
                    }
                }
            }
            Value::Json(Json::Object(members)) => {
                for (key, item) in members {
                    self.budget.spend()?;
                    visited += 1;
                    let item_location =
                        location.map(|location| self.places.member(location, key.as_str()));
                    if !visit(
                        self,
                        Value::Name(key),
                        Value::from_json(item),
                        item_location,
                    )? {
                        return Ok((false, visited));
                    }
                }
            }
            Value::List(items) => {
                for (position, item) in items.iter().enumerate() {
                    self.budget.spend()?;
                    visited += 1;
                    let key = Value::Int(first_ordinal + position as i64);
                    if !visit(self, key, item.clone(), None)? {
                        return Ok((false, visited));
                    }
                }
            }
            Value::Object(members) => {
                for (key, item) in members.iter() {
                    self.budget.spend()?;
                    visited += 1;
                    if !visit(self, Value::string(&**key), item.clone(), None)? {
                        return Ok((false, visited));
                    }
                }
            }
            _ => {}
        }
        Ok((true, visited))
    }

    #[inline(always)]
    fn slot(&self, slot: u32) -> Value<'v> {
        self.slots
            .get(slot as usize)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Evaluates an operand: literals and variables, half of all the nodes
    /// a policy evaluates, are read here without a call to [`Run::eval`]
    /// (the same step is charged).
    #[inline(always)]
    fn operand(&mut self, expr: &'v Expr) -> Result<Value<'v>, Stop> {
        match expr {
            Expr::Literal(json) => {
                self.budget.spend()?;
                Ok(Value::from_json(json))
            }
            Expr::Slot(slot) => {
                self.budget.spend()?;
                Ok(self.slot(*slot))
            }
            _ => self.eval(expr),
        }
    }

    /// Whether an expression is `true`: exactly `self.eval(expr)?.is_true()`,
    /// the same steps charged in the same order, but conditions (`and`,
    /// `or`, `not`, comparisons, `in`) answer with a `bool` instead of
    /// building a boolean value for each node on the way up: moving those
    /// through memory stalled the processor on every rule's condition.
    /// (`and`, `or`, `==`, `!=`, `in` and `not in` are thus written here and
    /// in [`Run::binary`]; routing `binary` through one shared function
    /// measured 3% slower evaluation. The test
    /// `a_condition_answers_and_charges_as_evaluating_it_would` holds the
    /// two to the same answers and steps.)
    pub(super) fn condition(&mut self, expr: &'v Expr) -> Result<bool, Stop> {
        match expr {
            Expr::Unary(UnaryOp::Not, operand) => {
                self.budget.spend()?;
                Ok(!self.condition(operand)?)
            }
            Expr::Binary(operator, left, right) => {
                self.budget.spend()?;
                match operator {
                    BinaryOp::And => Ok(self.condition(left)? && self.condition(right)?),
                    BinaryOp::Or => Ok(self.condition(left)? || self.condition(right)?),
                    BinaryOp::Equal | BinaryOp::NotEqual => {
                        let left = self.operand(left)?;
                        let right = self.operand(right)?;
                        Ok(left.equals(&right) == matches!(operator, BinaryOp::Equal))
                    }
                    BinaryOp::In | BinaryOp::NotIn => {
                        let left = self.operand(left)?;
                        let right = self.operand(right)?;
                        Ok(left.is_in(&right) == matches!(operator, BinaryOp::In))
                    }
                    _ => Ok(self.binary(*operator, left, right)?.is_true()),
                }
            }
            _ => Ok(self.operand(expr)?.is_true()),
        }
    }

    fn binary(
        &mut self,
        operator: BinaryOp,
        left: &'v Expr,
        right: &'v Expr,
    ) -> Result<Value<'v>, Stop> {
        let left = self.operand(left)?;
        match operator {
            BinaryOp::And if !left.is_true() => return Ok(Value::False),
            BinaryOp::Or if left.is_true() => return Ok(Value::True),
            BinaryOp::Coalesce if !left.is_null() => return Ok(left),
            _ => {}
        }
        let right = self.operand(right)?;
        Ok(match operator {
            BinaryOp::And | BinaryOp::Or => Value::bool(right.is_true()),
            BinaryOp::Coalesce => right,
            BinaryOp::Equal => Value::bool(left.equals(&right)),
            BinaryOp::NotEqual => Value::bool(!left.equals(&right)),
            BinaryOp::Less => Value::bool(left.compare(&right).is_some_and(|order| order.is_lt())),
            BinaryOp::LessEqual => {
                Value::bool(left.compare(&right).is_some_and(|order| order.is_le()))
            }
            BinaryOp::Greater => {
                Value::bool(left.compare(&right).is_some_and(|order| order.is_gt()))
            }
            BinaryOp::GreaterEqual => {
                Value::bool(left.compare(&right).is_some_and(|order| order.is_ge()))
            }
            BinaryOp::In => Value::bool(left.is_in(&right)),
            BinaryOp::NotIn => Value::bool(!left.is_in(&right)),
            BinaryOp::Add => self.add(left, right)?,
            BinaryOp::Subtract => arithmetic(left, right, i64::checked_sub, |a, b| a - b),
            BinaryOp::Multiply => arithmetic(left, right, i64::checked_mul, |a, b| a * b),
            BinaryOp::Divide => arithmetic(left, right, i64::checked_div, |a, b| a / b),
            BinaryOp::Remainder => arithmetic(left, right, i64::checked_rem, |a, b| a % b),
        })
    }

    fn call_function(&mut self, index: u32, arguments: &'v [Expr]) -> Result<Value<'v>, Stop> {
        let set = self.evaluator.policy_set();
        let Some(function) = set.functions.get(index as usize) else {
            return Err(Box::new(format!("call of unknown function #{index}")));
        };
        let mut frame = vec![Value::Null; function.slots as usize];
        for (position, argument) in arguments.iter().enumerate() {
            if let Some(slot) = frame.get_mut(position) {
                *slot = self.eval(argument)?;
            }
        }
        self.enter_call()?;
        let saved_slots = std::mem::replace(&mut self.slots, frame);
        let saved_locations =
            std::mem::replace(&mut self.locations, vec![None; function.slots as usize]);
        let result = self.eval(&function.body);
        self.slots = saved_slots;
        self.locations = saved_locations;
        self.call_depth -= 1;
        result
    }
}

fn unary(operator: UnaryOp, operand: Value<'_>) -> Value<'_> {
    match operator {
        UnaryOp::Not => Value::bool(!operand.is_true()),
        UnaryOp::Negate => match operand {
            Value::Int(number) => number.checked_neg().map_or(Value::Null, Value::Int),
            Value::Float(number) => Value::Float(-number),
            _ => Value::Null,
        },
    }
}

impl<'v> Run<'v> {
    /// `+`: strings and lists are joined, charged by the size of the result
    /// before it is built (a chain of `a + a` doubles at each step);
    /// numbers are added.
    fn add(&self, left: Value<'v>, right: Value<'v>) -> Result<Value<'v>, Stop> {
        if let (Some(left), Some(right)) = (left.as_str(), right.as_str()) {
            self.budget
                .charge_bytes(left.len().saturating_add(right.len()))?;
            return Ok(Value::string(format!("{left}{right}")));
        }
        let is_list =
            |value: &Value<'_>| matches!(value, Value::List(_) | Value::Json(Json::Array(_)));
        if is_list(&left) && is_list(&right) {
            let length = left.count().unwrap_or_default() + right.count().unwrap_or_default();
            self.budget.charge_elements(length)?;
            let mut items = Vec::with_capacity(length);
            for side in [left, right] {
                let _ = side.for_each::<()>(|_, item| {
                    items.push(item);
                    Ok(true)
                });
            }
            return Ok(Value::list(items));
        }
        Ok(arithmetic(left, right, i64::checked_add, |a, b| a + b))
    }
}

/// Integer arithmetic when both sides are integers (overflow and division by
/// zero give null), float arithmetic when either is a float, null otherwise.
fn arithmetic<'v>(
    left: Value<'v>,
    right: Value<'v>,
    integer: fn(i64, i64) -> Option<i64>,
    float: fn(f64, f64) -> f64,
) -> Value<'v> {
    match (&left, &right) {
        (Value::Int(a), Value::Int(b)) => integer(*a, *b).map_or(Value::Null, Value::Int),
        _ => match (left.as_f64(), right.as_f64()) {
            (Some(a), Some(b)) => {
                let result = float(a, b);
                if result.is_finite() {
                    Value::Float(result)
                } else {
                    Value::Null
                }
            }
            _ => Value::Null,
        },
    }
}
