//! The evaluator: runs a compiled [`PolicySet`] over one resource at a time.
//!
//! Evaluation is total: loops run over finite collections, functions cannot
//! recurse, and every step draws on a budget, so a policy always finishes (or
//! reports that it ran out of budget) however large its input.

#[cfg(test)]
mod budget_tests;
mod builtins;
mod constants;
mod deferred;
mod exec;
mod expr;
mod fix;
mod key_index;
#[cfg(test)]
mod key_index_tests;
mod located;
mod location;
#[cfg(test)]
mod tests;

pub use location::Segment;

use crate::finding::{EvalError, Evaluation};
use crate::helpers::glob;
use crate::ir::{KubeVersion, Matcher, Policy, PolicySet, Scope};
use crate::json::{Json, KeyFilter};
use crate::workload;
use regex::Regex;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};

/// How an evaluation is bounded and which Kubernetes version it judges as.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// Kubernetes version that version-aware policies judge as.
    pub version: KubeVersion,
    /// Steps one policy may take on one resource before it is stopped.
    /// Building strings and lists costs a step per [`BYTES_PER_STEP`] bytes
    /// or per element on top, so this bounds memory as well as time.
    pub step_budget: u64,
    /// Record, for each finding, the values that decided it
    /// ([`crate::Evaluation::explanations`]).
    pub explain: bool,
    /// List the policies that matched each resource
    /// ([`crate::Evaluation::matched`]; coverage reports need it). Off, the
    /// list stays empty: a shared id per policy and resource is a cost a
    /// caller that never reads it need not pay.
    pub record_matched: bool,
    /// Skip the policies another policy of the set overrides
    /// ([`PolicySet::overridden_at`]), as Pod Security Admission does at the
    /// restricted level. Off, every policy runs.
    pub apply_overrides: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            version: KubeVersion::LATEST,
            step_budget: 1_000_000,
            explain: false,
            record_matched: true,
            apply_overrides: true,
        }
    }
}

/// Every resource of the input, by kind, for `resources("Kind")`.
#[derive(Debug, Default)]
pub struct Inventory<'a> {
    by_kind: HashMap<String, Vec<&'a Json>>,
}

impl<'a> Inventory<'a> {
    /// An empty inventory.
    pub fn new() -> Inventory<'a> {
        Inventory::default()
    }

    /// Adds a resource (resources without a string `kind` are ignored).
    pub fn add(&mut self, resource: &'a Json) {
        if let Some(kind) = resource.get("kind").and_then(Json::as_str) {
            self.by_kind
                .entry(kind.to_owned())
                .or_default()
                .push(resource);
        }
    }

    /// Every resource of `kind`, in the order they were added.
    pub fn of_kind(&self, kind: &str) -> &[&'a Json] {
        self.by_kind
            .get(kind)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// What is being judged: the resource, and what else a policy may look at.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// The resource.
    pub resource: &'a Json,
    /// Its previous version (admission UPDATE), if any.
    pub old_resource: Option<&'a Json>,
    /// The whole input, for cross-resource policies.
    pub inventory: Option<&'a Inventory<'a>>,
    /// Every member name the resource holds (or more), when the loader made
    /// it ([`crate::load::Document::keys`], through `Resource::document`);
    /// otherwise the evaluator makes it when a policy with a key index first
    /// asks.
    pub keys: Option<&'a KeyFilter>,
}

impl<'a> Subject<'a> {
    /// A resource judged on its own.
    pub fn new(resource: &'a Json) -> Subject<'a> {
        Subject {
            resource,
            old_resource: None,
            inventory: None,
            keys: None,
        }
    }
}

/// Runs a policy set. Holds a cache of compiled regular expressions, so keep
/// one evaluator per thread and reuse it across resources.
pub struct Evaluator<'p> {
    set: &'p PolicySet,
    options: EvalOptions,
    regexes: RefCell<RegexCache>,
    /// What is known of each policy before it runs, by position in the set.
    plans: Plans,
    /// The most slots any policy of the set has: a resource's run reserves
    /// them once instead of growing its vectors policy by policy.
    most_slots: usize,
}

/// What an evaluator works out about its policies before the first resource
/// (constant lets, located and deferred variables, the key index): about
/// twice as long to make as judging a Deployment takes (80 µs for the
/// `recommended` set). Evaluators of one set at one Kubernetes version can
/// share it: keep it with the set and make each evaluator (one per thread, or
/// per request) with [`Evaluator::with_plans`].
#[derive(Clone, Debug, Default)]
pub struct Plans {
    version: Option<KubeVersion>,
    /// Whether overridden policies were marked ([`EvalOptions::apply_overrides`]).
    apply_overrides: bool,
    by_policy: Arc<[Plan]>,
    /// Regular expressions compiled by any evaluator sharing these plans:
    /// a pattern is compiled once per set, not once per evaluator (the
    /// webhook makes one evaluator per request).
    regexes: Arc<Mutex<RegexCache>>,
}

type RegexCache = HashMap<String, Result<Regex, String>>;

fn most_slots(set: &PolicySet) -> usize {
    set.policies
        .iter()
        .map(|policy| policy.slots as usize)
        .max()
        .unwrap_or(0)
}

impl Plan {
    /// The policy's id as its findings share it: the plan's, or a new one
    /// for a policy without a plan.
    fn shared_id(&self, policy: &Policy) -> Arc<str> {
        self.id
            .clone()
            .unwrap_or_else(|| Arc::from(policy.id.as_str()))
    }
}

/// What is worked out about a policy once, when the evaluator is made.
#[derive(Debug, Default)]
struct Plan {
    /// The policy's id, shared by every evaluation and finding that names it.
    id: Option<Arc<str>>,
    /// The value of each constant let, by slot ([`constants`]).
    constants: Vec<Option<Json>>,
    /// Whether any let is deferred.
    defers: bool,
    /// How each slot's `let` runs: from the constants, whether its location
    /// is ever read ([`located`]) and whether only messages read it
    /// ([`deferred`]).
    lets: Vec<LetKind>,
    /// The key filters one of which a resource must cover for the policy to
    /// fire on it; `None` when it may fire on any ([`key_index`]).
    index: Option<Vec<KeyFilter>>,
    /// Whether another policy of the set replaces this one at the version
    /// judged ([`PolicySet::overridden_at`]): [`Evaluator::evaluate`] skips it.
    overridden: bool,
}

/// How a `let` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LetKind {
    /// Bound to its value computed when the evaluator was made.
    Constant,
    /// Its expression is kept until a message needs it.
    Deferred,
    /// Evaluated, without a location.
    Plain,
    /// Evaluated with its location.
    Located,
}

impl Plan {
    fn let_kinds(constants: &[Option<Json>], located: &[bool], deferred: &[bool]) -> Vec<LetKind> {
        (0..constants.len().max(located.len()).max(deferred.len()))
            .map(|slot| {
                if constants.get(slot).is_some_and(Option::is_some) {
                    LetKind::Constant
                } else if deferred.get(slot) == Some(&true) {
                    LetKind::Deferred
                } else if located.get(slot) == Some(&false) {
                    LetKind::Plain
                } else {
                    LetKind::Located
                }
            })
            .collect()
    }
}

impl<'p> Evaluator<'p> {
    /// An evaluator for `set`.
    pub fn new(set: &'p PolicySet, options: EvalOptions) -> Evaluator<'p> {
        let mut evaluator = Evaluator {
            set,
            options,
            regexes: RefCell::new(HashMap::new()),
            plans: Plans::default(),
            most_slots: most_slots(set),
        };
        let overridden = if evaluator.options.apply_overrides {
            set.overridden_at(evaluator.options.version)
        } else {
            vec![false; set.policies.len()]
        };
        let by_policy: Vec<Plan> = set
            .policies
            .iter()
            .zip(overridden)
            .map(|(policy, overridden)| {
                let id = Some(Arc::from(policy.id.as_str()));
                if overridden {
                    Plan {
                        id,
                        overridden,
                        ..Plan::default()
                    }
                } else if policy.applies_at(evaluator.options.version) {
                    let deferred = deferred::of_policy(policy);
                    let constants = constants::of_policy(&evaluator, policy);
                    let located = located::of_policy(policy);
                    Plan {
                        id,
                        lets: Plan::let_kinds(&constants, &located, &deferred),
                        index: key_index::of_policy(&evaluator, policy, &constants),
                        constants,
                        defers: deferred.contains(&true),
                        overridden,
                    }
                } else {
                    Plan {
                        id,
                        ..Plan::default()
                    }
                }
            })
            .collect();
        evaluator.plans = Plans {
            version: Some(evaluator.options.version),
            apply_overrides: evaluator.options.apply_overrides,
            by_policy: by_policy.into(),
            regexes: evaluator.plans.regexes.clone(),
        };
        evaluator
    }

    /// An evaluator for `set` that reuses `plans`, made by an evaluator of the
    /// same set ([`Evaluator::plans`]). Plans made for other policies (their
    /// ids differ) or another Kubernetes version are made afresh.
    pub fn with_plans(set: &'p PolicySet, options: EvalOptions, plans: &Plans) -> Evaluator<'p> {
        let fits = plans.version == Some(options.version)
            && plans.apply_overrides == options.apply_overrides
            && plans.by_policy.len() == set.policies.len()
            && plans
                .by_policy
                .iter()
                .zip(&set.policies)
                .all(|(plan, policy)| plan.id.as_deref() == Some(policy.id.as_str()));
        if !fits {
            return Evaluator::new(set, options);
        }
        Evaluator {
            set,
            options,
            regexes: RefCell::new(HashMap::new()),
            plans: plans.clone(),
            most_slots: most_slots(set),
        }
    }

    /// This evaluator's plans, to make more evaluators of the same set with
    /// [`Evaluator::with_plans`].
    pub fn plans(&self) -> Plans {
        self.plans.clone()
    }

    /// The policy set being run.
    pub fn policy_set(&self) -> &'p PolicySet {
        self.set
    }

    /// Runs every policy that matches the resource, but those another policy
    /// of the set overrides ([`PolicySet::overridden_at`]).
    pub fn evaluate(&self, subject: &Subject<'_>) -> Evaluation {
        let mut evaluation = Evaluation::default();
        // What every policy's matcher asks of the resource, read once.
        let facts = ResourceFacts::of(subject.resource, subject.keys);
        let mut run = None;
        for (position, policy) in self.set.policies.iter().enumerate() {
            let plan = self.plans.by_policy.get(position).unwrap_or(&NO_PLAN);
            if plan.overridden {
                continue;
            }
            self.evaluate_policy_with(policy, plan, subject, &facts, &mut run, &mut evaluation);
        }
        evaluation
    }

    /// Runs one policy, if it matches the resource, adding to `evaluation`.
    pub fn evaluate_policy(
        &self,
        policy: &Policy,
        subject: &Subject<'_>,
        evaluation: &mut Evaluation,
    ) {
        let facts = ResourceFacts::of(subject.resource, subject.keys);
        // Plans are made for the policies of this evaluator's set; any other
        // policy computes every let as it goes and locates every variable.
        let plan = self
            .set
            .policies
            .iter()
            .position(|candidate| std::ptr::eq(candidate, policy))
            .and_then(|position| self.plans.by_policy.get(position))
            .unwrap_or(&NO_PLAN);
        self.evaluate_policy_with(policy, plan, subject, &facts, &mut None, evaluation);
    }

    fn evaluate_policy_with<'v>(
        &'v self,
        policy: &'v Policy,
        plan: &'v Plan,
        subject: &Subject<'v>,
        facts: &ResourceFacts<'_>,
        run: &mut Option<exec::Run<'v>>,
        evaluation: &mut Evaluation,
    ) {
        if !policy.applies_at(self.options.version) {
            return;
        }
        let Some(pod_path) = match_resource(&policy.matcher, facts) else {
            return;
        };
        if self.options.record_matched {
            evaluation.matched.push(plan.shared_id(policy));
        }
        if let Some(filters) = &plan.index
            && (filters.is_empty() || !filters.iter().any(|filter| facts.keys().covers(filter)))
        {
            return;
        }
        // One run per resource, restarted for each policy: its vectors and
        // the pod it found are reused.
        let run = match run {
            Some(run) => {
                run.restart(policy, pod_path, plan);
                run
            }
            None => run.insert(exec::Run::new(self, policy, subject, pod_path, plan)),
        };
        if let Err(message) = run.execute(evaluation) {
            evaluation.errors.push(EvalError {
                policy: policy.id.clone(),
                message: *message,
            });
        }
    }

    fn regex(&self, pattern: &str) -> Result<Regex, String> {
        if let Some(cached) = self.regexes.borrow().get(pattern) {
            return cached.clone();
        }
        // A poisoned lock only means another thread panicked while holding
        // it; the map itself is still whole.
        let mut shared = self
            .plans
            .regexes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let compiled = shared
            .entry(pattern.to_owned())
            .or_insert_with(|| {
                Regex::new(pattern)
                    .map_err(|error| format!("invalid regular expression `{pattern}`: {error}"))
            })
            .clone();
        drop(shared);
        self.regexes
            .borrow_mut()
            .insert(pattern.to_owned(), compiled.clone());
        compiled
    }
}

/// The plan of a policy the evaluator has not seen.
static NO_PLAN: Plan = Plan {
    id: None,
    constants: Vec::new(),
    defers: false,
    lets: Vec::new(),
    index: None,
    overridden: false,
};

/// What matchers read of a resource: its kind, group, namespace and labels.
struct ResourceFacts<'r> {
    kind: &'r str,
    group: &'r str,
    namespace: &'r str,
    labels: Option<&'r crate::json::Object>,
    /// Where the pod is in a resource of this kind, if it holds one (looked
    /// up once, not once per policy).
    pod_path: Option<&'static [&'static str]>,
    resource: &'r Json,
    /// The key names the resource holds: the loader's, or made once a
    /// policy with an index asks.
    keys: OnceCell<KeyFilter>,
}

impl<'r> ResourceFacts<'r> {
    fn of(resource: &'r Json, keys: Option<&KeyFilter>) -> ResourceFacts<'r> {
        let text = |value: Option<&'r Json>| value.and_then(Json::as_str);
        let metadata = resource.get("metadata");
        let kind = text(resource.get("kind"));
        ResourceFacts {
            kind: kind.unwrap_or_default(),
            group: text(resource.get("apiVersion"))
                .map(|api_version| api_version.rsplit_once('/').map_or("", |(group, _)| group))
                .unwrap_or_default(),
            // A manifest without a namespace is applied to the default one.
            namespace: text(metadata.and_then(|metadata| metadata.get("namespace")))
                .unwrap_or("default"),
            labels: metadata
                .and_then(|metadata| metadata.get("labels"))
                .and_then(Json::as_object),
            pod_path: kind.and_then(workload::pod_template_path),
            resource,
            keys: keys.map_or_else(OnceCell::new, |keys| OnceCell::from(*keys)),
        }
    }

    fn keys(&self) -> &KeyFilter {
        self.keys.get_or_init(|| KeyFilter::of(self.resource))
    }
}

/// Whether the matcher selects the resource. `Some(path)` when it does, with
/// the path of the pod template (`Some(None)` when the policy is not about pods).
fn match_resource(
    matcher: &Matcher,
    facts: &ResourceFacts<'_>,
) -> Option<Option<&'static [&'static str]>> {
    let pod_path = match &matcher.scope {
        Scope::All => None,
        Scope::Pods => Some(facts.pod_path?),
        Scope::Kinds(kinds) => {
            let selected = kinds.iter().any(|selector| {
                selector.kind == facts.kind
                    && selector
                        .group
                        .as_deref()
                        .is_none_or(|wanted| wanted == facts.group)
            });
            if !selected {
                return None;
            }
            None
        }
    };
    let namespace = facts.namespace;
    let any_glob = |patterns: &[String]| {
        patterns
            .iter()
            .any(|pattern| glob::matches(pattern, namespace))
    };
    if !matcher.namespaces.is_empty() && !any_glob(&matcher.namespaces) {
        return None;
    }
    if any_glob(&matcher.exclude_namespaces) {
        return None;
    }
    if !matcher.labels.is_empty() || !matcher.exclude_labels.is_empty() {
        let carries = |(key, value): &(String, String)| {
            facts
                .labels
                .and_then(|labels| labels.get(key))
                .and_then(Json::as_str)
                .is_some_and(|actual| value == "*" || actual == value)
        };
        if !matcher.labels.iter().all(carries) || matcher.exclude_labels.iter().any(carries) {
            return None;
        }
    }
    Some(pod_path)
}

/// Why an evaluation stopped. Boxed so that the `Result` every node returns
/// is no larger than the value inside: with a bare `String` it grew by a
/// word, and the evaluator moves one per node.
type Stop = Box<String>;

/// Bytes of computed text that one step pays for. A list element counts
/// as one step. Charged by what builds strings and lists (`+`, `replace`,
/// `join`, message templates, ...), so that the step budget bounds memory
/// as well as time: a policy may build at most about `step_budget` × 16
/// bytes, however much each operation multiplies its input (two nested
/// `replace(s, "", s)` on a 1,000-byte string would build a terabyte).
pub const BYTES_PER_STEP: u64 = 16;

/// Counts steps against the budget.
struct Budget {
    remaining: Cell<u64>,
}

impl Budget {
    /// Called on every node: in line, with the error built out of line.
    #[inline]
    fn spend(&self) -> Result<(), Stop> {
        let remaining = self.remaining.get();
        if remaining == 0 {
            return Err(exhausted());
        }
        self.remaining.set(remaining - 1);
        Ok(())
    }

    /// Charges for a computed string of `bytes` bytes, before it is built
    /// wherever its size is known in advance.
    #[inline]
    fn charge_bytes(&self, bytes: usize) -> Result<(), Stop> {
        let steps = bytes as u64 / BYTES_PER_STEP;
        if steps == 0 {
            return Ok(());
        }
        self.charge(steps, || too_large(bytes, "a string", "bytes"))
    }

    /// Charges for a computed list of `elements` elements, before it is
    /// built.
    #[inline]
    fn charge_elements(&self, elements: usize) -> Result<(), Stop> {
        self.charge(elements as u64, || {
            too_large(elements, "a list", "elements")
        })
    }

    /// Charges for `work` moves of a helper whose running time is not
    /// bounded by the size of its input alone (a glob), at the rate of
    /// bytes.
    #[inline]
    fn charge_work(&self, work: usize) -> Result<(), Stop> {
        self.charge(work as u64 / BYTES_PER_STEP, || {
            work_exhausted("matching a glob pattern")
        })
    }

    /// Steps left.
    fn remaining(&self) -> u64 {
        self.remaining.get()
    }

    fn charge(&self, steps: u64, error: impl FnOnce() -> Stop) -> Result<(), Stop> {
        let remaining = self.remaining.get();
        if steps > remaining {
            self.remaining.set(0);
            return Err(error());
        }
        self.remaining.set(remaining - steps);
        Ok(())
    }
}

#[cold]
#[inline(never)]
fn work_exhausted(what: &str) -> Stop {
    Box::new(format!(
        "evaluation step budget exhausted {what}: the input is too large for this policy"
    ))
}

#[cold]
#[inline(never)]
fn too_large(size: usize, what: &str, unit: &str) -> Stop {
    Box::new(format!(
        "evaluation step budget exhausted: building {what} of {size} {unit} would take more steps than are left (one step per {BYTES_PER_STEP} bytes or per list element): the input is too large for this policy"
    ))
}

#[cold]
#[inline(never)]
fn exhausted() -> Stop {
    Box::new("evaluation step budget exhausted: the input is too large for this policy".to_owned())
}
