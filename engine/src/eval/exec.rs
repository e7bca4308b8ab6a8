//! Running one policy body on one resource: statements, rules and findings.

use super::location::{Location, Places, Segment};
use super::{Budget, Evaluator, LetKind, Plan, Stop, Subject, fix};
use crate::finding::{Evaluation, Explanation, Finding};
use crate::ir::{
    Action, Expr, Fix, PathExpr, PathRoot, PathStep, Policy, Rule, Stmt, TemplatePart,
};
use crate::json::Json;
use crate::value::Value;
use std::borrow::Cow;
use std::cell::Cell;

/// The deepest chain of user-function calls; the compiler already refuses
/// recursion, so this only guards a hand-made or corrupted IR.
const MAXIMUM_CALL_DEPTH: u32 = 64;

/// Locations a resource's run has room for from the start: a pod's
/// containers and their fields for a few policies, without regrowing.
const PLACES_RESERVED: usize = 64;

/// The state of one resource's evaluation, restarted for each policy: its
/// vectors, and the pod with its location, outlive the policy that made them.
pub(super) struct Run<'v> {
    pub(super) evaluator: &'v Evaluator<'v>,
    pub(super) policy: &'v Policy,
    pub(super) subject: Subject<'v>,
    pub(super) pod_value: Value<'v>,
    pub(super) pod_location: Option<Location>,
    /// The resource's pod and its location once a policy has asked for it.
    pod: Option<(Value<'v>, Location)>,
    /// The pod's `containers`, `initContainers` and `ephemeralContainers`
    /// once a policy has looped over them: every pod policy does, and the
    /// two lists most pods lack cost a scan of the whole spec each time.
    pub(super) pod_lists: Option<[Value<'v>; 3]>,
    /// The places every policy keeps (the root and the pod's path).
    kept_places: usize,
    pub(super) budget: Budget,
    pub(super) slots: Vec<Value<'v>>,
    pub(super) locations: Vec<Option<Location>>,
    pub(super) places: Places<'v>,
    /// Locations of the enclosing located loop variables, innermost last: a
    /// rule without `at` points at the innermost one.
    located: Vec<Location>,
    pub(super) call_depth: u32,
    /// What is known of the policy before it runs.
    plan: &'v Plan,
    /// The expression of each deferred let not yet evaluated, by slot
    /// ([`super::deferred`]).
    pending: Vec<Option<&'v Expr>>,
    findings: Vec<Finding>,
    explanations: Vec<Explanation>,
}

impl<'v> Run<'v> {
    /// A run of `policy` on the subject; [`Run::restart`] for the next policy.
    pub(super) fn new(
        evaluator: &'v Evaluator<'v>,
        policy: &'v Policy,
        subject: &Subject<'v>,
        pod_path: Option<&'static [&'static str]>,
        plan: &'v Plan,
    ) -> Run<'v> {
        let mut run = Run {
            evaluator,
            policy,
            subject: *subject,
            pod_value: Value::Null,
            pod_location: None,
            pod: None,
            pod_lists: None,
            kept_places: 1,
            budget: Budget {
                remaining: Cell::new(evaluator.options.step_budget),
            },
            slots: Vec::with_capacity(evaluator.most_slots),
            locations: Vec::with_capacity(evaluator.most_slots),
            places: Places::with_capacity(PLACES_RESERVED),
            located: Vec::new(),
            call_depth: 0,
            plan,
            pending: Vec::with_capacity(evaluator.most_slots),
            findings: Vec::new(),
            explanations: Vec::new(),
        };
        run.restart(policy, pod_path, plan);
        run
    }

    /// Makes the run ready for another policy on the same resource.
    pub(super) fn restart(
        &mut self,
        policy: &'v Policy,
        pod_path: Option<&'static [&'static str]>,
        plan: &'v Plan,
    ) {
        self.policy = policy;
        self.plan = plan;
        self.budget
            .remaining
            .set(self.evaluator.options.step_budget);
        self.call_depth = 0;
        self.places.truncate(self.kept_places);
        (self.pod_value, self.pod_location) = match pod_path {
            Some(path) => {
                // Every policy about pods reads the same pod of the resource.
                let (value, location) = match &self.pod {
                    Some(pod) => pod.clone(),
                    None => {
                        let mut value = Value::from_json(self.subject.resource);
                        let mut location = self.places.root();
                        for step in path {
                            value = value.field(step);
                            location = self.places.member(location, step);
                        }
                        self.kept_places = self.places.len();
                        self.pod = Some((value.clone(), location));
                        (value, location)
                    }
                };
                (value, Some(location))
            }
            None => (Value::Null, None),
        };
        let count = policy.slots as usize;
        self.slots.clear();
        self.slots.resize(count, Value::Null);
        self.locations.clear();
        self.locations.resize(count, None);
        self.located.clear();
        self.pending.clear();
        if plan.defers {
            self.pending.resize(count, None);
        }
    }

    /// Runs the policy, moving its findings and explanations (numbered from
    /// the evaluation's findings on) into `evaluation`; a policy that fails
    /// adds none, only the error.
    pub(super) fn execute(&mut self, evaluation: &mut Evaluation) -> Result<(), Stop> {
        let outcome = self.statements(&self.policy.body);
        if outcome.is_err() {
            self.findings.clear();
            self.explanations.clear();
            return outcome;
        }
        let first = evaluation.findings.len();
        evaluation.findings.append(&mut self.findings);
        evaluation
            .explanations
            .extend(self.explanations.drain(..).map(|mut explanation| {
                explanation.finding += first;
                explanation
            }));
        Ok(())
    }

    fn statements(&mut self, statements: &'v [Stmt]) -> Result<(), Stop> {
        for statement in statements {
            self.budget.spend()?;
            match statement {
                Stmt::Let { slot, value } => {
                    let index = *slot as usize;
                    // A policy without a plan evaluates and locates every let.
                    match self
                        .plan
                        .lets
                        .get(index)
                        .copied()
                        .unwrap_or(LetKind::Located)
                    {
                        LetKind::Constant => {
                            if let Some(Some(constant)) = self.plan.constants.get(index) {
                                self.bind(*slot, Value::from_json(constant), None);
                            }
                        }
                        LetKind::Deferred => match self.pending.get_mut(index) {
                            Some(pending) => *pending = Some(value),
                            None => {
                                let value = self.eval(value)?;
                                self.bind(*slot, value, None);
                            }
                        },
                        LetKind::Plain => {
                            let value = self.eval(value)?;
                            self.bind(*slot, value, None);
                        }
                        LetKind::Located => {
                            let (value, location) = self.eval_located(value)?;
                            self.bind(*slot, value, location);
                        }
                    }
                }
                Stmt::For {
                    key_slot,
                    value_slot,
                    collection,
                    body,
                } => {
                    self.iterate(collection, true, &mut |run, key, value, location| {
                        if let Some(key_slot) = key_slot {
                            run.bind(*key_slot, key, None);
                        }
                        let located = location.is_some();
                        if let Some(location) = location {
                            run.located.push(location);
                        }
                        run.bind(*value_slot, value, location);
                        let outcome = run.statements(body);
                        if located {
                            run.located.pop();
                        }
                        outcome.map(|()| true)
                    })?;
                }
                Stmt::If {
                    condition,
                    then,
                    otherwise,
                } => {
                    if self.condition(condition)? {
                        self.statements(then)?;
                    } else {
                        self.statements(otherwise)?;
                    }
                }
                Stmt::Rule(rule) => self.rule(rule)?,
            }
        }
        Ok(())
    }

    #[inline(always)]
    pub(super) fn bind(&mut self, slot: u32, value: Value<'v>, location: Option<Location>) {
        let slot = slot as usize;
        if slot < self.slots.len() {
            self.slots[slot] = value;
            self.locations[slot] = location;
        }
    }

    fn rule(&mut self, rule: &'v Rule) -> Result<(), Stop> {
        if !self.condition(&rule.condition)? {
            return Ok(());
        }
        let pointer_segments = match &rule.at {
            Some(path) => self.resolve_path(path)?,
            None => self
                .located
                .last()
                .map(|location| self.places.segments(*location))
                .unwrap_or_default(),
        };
        self.evaluate_pending()?;
        let message = self.render(&rule.message)?;
        let mut patch = Vec::new();
        for fix in &rule.fixes {
            patch.extend(self.fix(fix)?);
        }
        if self.evaluator.options.explain && !rule.explain.is_empty() {
            let mut values = Vec::with_capacity(rule.explain.len());
            for (text, expr) in &rule.explain {
                values.push((text.clone(), self.eval(expr)?.to_json()));
            }
            self.explanations.push(Explanation {
                finding: self.findings.len(),
                values,
            });
        }
        let action: Action = self.policy.action_override.unwrap_or(rule.action);
        self.findings.push(Finding {
            policy: self.plan.shared_id(self.policy),
            rule: rule.index,
            action,
            severity: self.policy.severity,
            message,
            pointer: super::location::pointer_of(&pointer_segments),
            fix: patch,
        });
        Ok(())
    }

    /// Evaluates the deferred lets bound so far, for a message.
    fn evaluate_pending(&mut self) -> Result<(), Stop> {
        for slot in 0..self.pending.len() {
            if let Some(expr) = self.pending.get_mut(slot).and_then(Option::take) {
                let value = self.eval(expr)?;
                self.bind(slot as u32, value, None);
            }
        }
        Ok(())
    }

    fn fix(&mut self, fix: &'v Fix) -> Result<Vec<crate::finding::PatchOperation>, Stop> {
        let resource: &Json = self.subject.resource;
        Ok(match fix {
            Fix::Set { target, value } => {
                let segments = self.resolve_path(target)?;
                let value = self.eval(value)?.to_json();
                fix::set(resource, &segments, value)
            }
            Fix::Append { target, value } => {
                let segments = self.resolve_path(target)?;
                let value = self.eval(value)?.to_json();
                fix::append(resource, &segments, value)
            }
            Fix::Remove { target } => {
                let segments = self.resolve_path(target)?;
                fix::remove(resource, &segments)
            }
        })
    }

    /// The segments of a path from the resource root.
    fn resolve_path(&mut self, path: &'v PathExpr) -> Result<Vec<Segment<'v>>, Stop> {
        let mut segments = match &path.root {
            PathRoot::Resource => Vec::new(),
            PathRoot::Pod => self
                .pod_location
                .map(|location| self.places.segments(location))
                .unwrap_or_default(),
            PathRoot::Slot(slot) => self
                .locations
                .get(*slot as usize)
                .copied()
                .flatten()
                .map(|location| self.places.segments(location))
                .unwrap_or_default(),
        };
        for step in &path.steps {
            match step {
                PathStep::Field(name) => segments.push(Segment::Member(Cow::Borrowed(name))),
                PathStep::Index(index) => match self.eval(index)? {
                    Value::Int(position) if position >= 0 => {
                        segments.push(Segment::Element(position as usize))
                    }
                    other => match other.as_str() {
                        Some(key) => segments.push(Segment::Member(Cow::Owned(key.to_owned()))),
                        None => break,
                    },
                },
            }
        }
        Ok(segments)
    }

    /// A message template (or a format string) as text, charged part by
    /// part as it grows (see [`super::BYTES_PER_STEP`]).
    pub(super) fn render(&mut self, parts: &'v [TemplatePart]) -> Result<String, Stop> {
        let mut text = String::new();
        for part in parts {
            match part {
                TemplatePart::Text(literal) => text.push_str(literal),
                TemplatePart::Expr(expr) => {
                    let value = self.eval(expr)?.to_message_text();
                    self.budget.charge_bytes(value.len())?;
                    text.push_str(&value);
                }
            }
        }
        Ok(text)
    }

    pub(super) fn enter_call(&mut self) -> Result<(), Stop> {
        self.call_depth += 1;
        if self.call_depth > MAXIMUM_CALL_DEPTH {
            return Err(Box::new("function calls nested too deeply".to_owned()));
        }
        Ok(())
    }
}
