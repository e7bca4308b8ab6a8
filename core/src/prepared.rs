//! The prepared policy set: what a host loads once and judges with many
//! times, from any number of threads.

use crate::date::Date;
use crate::judge::{Controls, Judge, Judged};
use crate::judging::Judging;
use rampart_engine::ir::PolicySet;
use rampart_engine::load::{Document, resources};
use rampart_engine::{EvalOptions, Evaluator, Inventory, Plans, Subject};
use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// Compiled policies with their parameters and actions applied, the
/// judging part of the configuration, the evaluation options (Kubernetes
/// version, step budget) and the evaluation plans, made once.
///
/// It is `Send + Sync`: share one behind an `Arc` and make an evaluator per
/// thread with [`PreparedSet::evaluator`] (evaluators cache compiled regular
/// expressions and are not shared).
#[derive(Debug)]
pub struct PreparedSet {
    set: PolicySet,
    judging: Judging,
    options: EvalOptions,
    plans: Plans,
    controls: Controls,
}

impl PreparedSet {
    /// Prepares `set` (with the configuration's parameters and actions
    /// already applied, see `Config::apply`) to be judged under `judging`.
    pub fn new(set: PolicySet, judging: Judging, options: EvalOptions) -> PreparedSet {
        let plans = Evaluator::new(&set, options.clone()).plans();
        let controls = Controls::of(&set);
        PreparedSet {
            set,
            judging,
            options,
            plans,
            controls,
        }
    }

    /// The policies.
    pub fn set(&self) -> &PolicySet {
        &self.set
    }

    /// The exceptions and exemptions.
    pub fn judging(&self) -> &Judging {
        &self.judging
    }

    /// How the policies are evaluated.
    pub fn options(&self) -> &EvalOptions {
        &self.options
    }

    /// The plans every evaluator of this set shares.
    pub fn plans(&self) -> &Plans {
        &self.plans
    }

    /// An evaluator for one thread, sharing the set's plans.
    pub fn evaluator(&self) -> Evaluator<'_> {
        Evaluator::with_plans(&self.set, self.options.clone(), &self.plans)
    }

    /// A judge applying the configuration as of `today`.
    pub fn judge(&self, today: Date) -> Judge<'_> {
        Judge::with_controls(Cow::Borrowed(&self.controls), &self.judging, today)
    }

    /// Judges every resource of `documents` (one file: `file` names it in
    /// findings), with the others as the inventory of cross-resource
    /// policies. A panic while evaluating a resource is an error for that
    /// resource, never a silent pass.
    pub fn judge_documents(&self, file: &str, documents: &[Document], today: Date) -> Judged {
        let judge = self.judge(today);
        let mut judged = judge.start();
        let mut problems = Vec::new();
        let listed = resources(documents, &mut problems);
        let file: Arc<str> = Arc::from(file);
        for problem in problems {
            judged.errors.push(crate::finding::Problem::new(
                file.to_string(),
                problem
                    .position
                    .map(|position| (position.line, position.column)),
                problem.message,
            ));
        }
        let mut inventory = Inventory::new();
        if self.set.uses_inventory() {
            for resource in &listed {
                inventory.add(resource.value);
            }
        }
        let evaluator = self.evaluator();
        for resource in &listed {
            if judge.exempt(resource.value).is_some() {
                judged.exempted += 1;
                continue;
            }
            let subject = Subject {
                resource: resource.value,
                old_resource: None,
                inventory: Some(&inventory),
                keys: resource.document.keys.as_ref(),
            };
            let outcome =
                std::panic::catch_unwind(AssertUnwindSafe(|| evaluator.evaluate(&subject)))
                    .map_err(|_| {
                        "internal error while evaluating; the resource was not checked".to_owned()
                    });
            judge.judge(&file, resource, outcome, (0, 0), &mut judged);
        }
        judged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_shareable<T: Send + Sync>() {}

    #[test]
    fn a_prepared_set_is_shared_across_threads() {
        assert_shareable::<PreparedSet>();
    }
}
