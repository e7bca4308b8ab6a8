//! The builtin functions. The compiler checks their argument types; at run
//! time a value of the wrong shape (possible through dynamic data) gives
//! `null` rather than an error, in keeping with null-safe paths.
//!
//! What builds a string or a list pays for its size from the step budget
//! (see [`super::BYTES_PER_STEP`]): `replace` and `join`, whose result can be
//! far larger than their arguments, before building it; `lower`, `upper`,
//! `trim`, `to_string`, `split`, `keys`, `values` and `image`, whose result
//! is about the size of an argument, as they build it. `resources` returns
//! the inventory's own resources, borrowed, and is not charged.

use super::Stop;
use super::exec::Run;
use crate::helpers::{glob, image, quantity, selector};
use crate::ir::{Builtin, KubeVersion};
use crate::value::Value;
use std::rc::Rc;

impl<'v> Run<'v> {
    pub(super) fn call_builtin(
        &mut self,
        builtin: Builtin,
        arguments: &[Value<'v>],
    ) -> Result<Value<'v>, Stop> {
        let argument = |position: usize| arguments.get(position).cloned().unwrap_or(Value::Null);
        let text = |position: usize| arguments.get(position).and_then(Value::as_str);
        let first = argument(0);
        Ok(match builtin {
            Builtin::Count => first
                .count()
                .map_or(Value::Null, |count| Value::Int(count as i64)),
            Builtin::StartsWith => both_text(text(0), text(1), |s, p| s.starts_with(p)),
            Builtin::EndsWith => both_text(text(0), text(1), |s, p| s.ends_with(p)),
            Builtin::Contains => match (text(0), text(1)) {
                (Some(whole), Some(part)) => Value::bool(whole.contains(part)),
                _ => Value::bool(
                    argument(1).is_in(&first)
                        && !matches!(first, Value::Str(_) | Value::Name(_) | Value::String(_)),
                ),
            },
            Builtin::Matches => match (text(0), text(1)) {
                (Some(subject), Some(pattern)) => {
                    Value::bool(self.evaluator.regex(pattern)?.is_match(subject))
                }
                _ => Value::False,
            },
            Builtin::Glob => match (text(0), text(1)) {
                (Some(subject), Some(pattern)) => self.glob(pattern, subject)?,
                _ => Value::False,
            },
            Builtin::Lower => self.map_text(text(0), str::to_lowercase)?,
            Builtin::Upper => self.map_text(text(0), str::to_uppercase)?,
            Builtin::Trim => self.map_text(text(0), |s| s.trim().to_owned())?,
            Builtin::Split => match (text(0), text(1)) {
                (Some(whole), Some(separator)) => {
                    self.budget
                        .charge_elements(whole.split(separator).count())?;
                    self.budget.charge_bytes(whole.len())?;
                    Value::list(whole.split(separator).map(Value::string).collect())
                }
                _ => Value::Null,
            },
            Builtin::Join => match text(1) {
                Some(separator) => self.join(&first, separator)?,
                None => Value::Null,
            },
            Builtin::Replace => match (text(0), text(1), text(2)) {
                (Some(whole), Some(from), Some(to)) => {
                    self.budget.charge_bytes(replaced_len(whole, from, to))?;
                    Value::string(whole.replace(from, to))
                }
                _ => Value::Null,
            },
            Builtin::ToString => match first {
                Value::Null => Value::Null,
                other => {
                    let text = other.to_message_text();
                    self.budget.charge_bytes(text.len())?;
                    Value::string(text)
                }
            },
            Builtin::Keys => self.collect(&first, |key, _| key)?,
            Builtin::Values => self.collect(&first, |_, item| item)?,
            Builtin::Sum => fold_numbers(&first, |numbers| Some(numbers.iter().sum())),
            Builtin::Min => {
                fold_numbers(&first, |numbers| numbers.iter().copied().reduce(f64::min))
            }
            Builtin::Max => {
                fold_numbers(&first, |numbers| numbers.iter().copied().reduce(f64::max))
            }
            Builtin::AnyTrue => Value::bool(some_element(&first, |item| item.is_true())),
            Builtin::AllTrue => Value::bool(!some_element(&first, |item| !item.is_true())),
            Builtin::Quantity => match &first {
                Value::Int(_) | Value::Float(_) => first.as_f64().map_or(Value::Null, Value::Float),
                other => other
                    .as_str()
                    .and_then(quantity::parse)
                    .map_or(Value::Null, Value::Float),
            },
            Builtin::Image => match first.as_str() {
                Some(reference) => {
                    // Its parts hold the reference about twice over.
                    self.budget
                        .charge_bytes(reference.len().saturating_mul(2))?;
                    image_value(reference)
                }
                None => Value::Null,
            },
            Builtin::Resources => match (first.as_str(), self.subject.inventory) {
                (Some(kind), Some(inventory)) => Value::list(
                    inventory
                        .of_kind(kind)
                        .iter()
                        .map(|resource| Value::from_json(resource))
                        .collect(),
                ),
                _ => Value::list(Vec::new()),
            },
            Builtin::Selects => {
                let selector_json = first.to_json();
                let labels_json = argument(1).to_json();
                Value::bool(selector::selects(&selector_json, labels_json.as_object()))
            }
            Builtin::VersionAtLeast => match first.as_str().and_then(KubeVersion::parse) {
                Some(version) => Value::bool(self.evaluator.options.version >= version),
                None => Value::Null,
            },
            Builtin::IsNull => Value::bool(first.is_null()),
            Builtin::ToInt => match &first {
                Value::Int(_) => first.clone(),
                Value::Float(number) if number.is_finite() => Value::Int(number.trunc() as i64),
                other => other
                    .as_str()
                    .and_then(|text| text.trim().parse::<i64>().ok())
                    .map_or(Value::Null, Value::Int),
            },
            Builtin::HasKey => Value::bool(text(1).is_some_and(|key| first.has_key(key))),
        })
    }
}

fn both_text<'v>(
    subject: Option<&str>,
    other: Option<&str>,
    test: impl Fn(&str, &str) -> bool,
) -> Value<'v> {
    match (subject, other) {
        (Some(subject), Some(other)) => Value::bool(test(subject, other)),
        _ => Value::False,
    }
}

impl<'v> Run<'v> {
    /// A string made from another, of about its size: charged once made.
    fn map_text(
        &self,
        text: Option<&str>,
        change: impl Fn(&str) -> String,
    ) -> Result<Value<'v>, Stop> {
        let Some(text) = text else {
            return Ok(Value::Null);
        };
        let changed = change(text);
        self.budget.charge_bytes(changed.len())?;
        Ok(Value::string(changed))
    }

    /// `join(list, separator)`: each part is charged, with a separator, as
    /// it is added, so that a long list or a long separator stops the
    /// building part-way.
    fn join(&self, list: &Value<'v>, separator: &str) -> Result<Value<'v>, Stop> {
        let mut joined = String::new();
        let mut first = true;
        list.for_each::<Stop>(|_, item| {
            let part = item.to_message_text();
            let added = if first { 0 } else { separator.len() } + part.len();
            self.budget.charge_bytes(added)?;
            if !first {
                joined.push_str(separator);
            }
            joined.push_str(&part);
            first = false;
            Ok(true)
        })?;
        Ok(Value::string(joined))
    }

    /// `glob(subject, pattern)`, charged one step per 16 moves of the
    /// matcher and stopped when the budget cannot pay for more: a pattern
    /// with many `*` against a long text would take their product.
    fn glob(&self, pattern: &str, subject: &str) -> Result<Value<'v>, Stop> {
        let affordable = self
            .budget
            .remaining()
            .saturating_mul(super::BYTES_PER_STEP);
        let affordable = usize::try_from(affordable).unwrap_or(usize::MAX);
        match glob::matches_within(pattern, subject, affordable) {
            Some((matched, work)) => {
                self.budget.charge_work(work)?;
                Ok(Value::bool(matched))
            }
            None => Err(super::work_exhausted("matching a glob pattern")),
        }
    }

    /// The keys or values of a collection, as a list, charged by its length.
    fn collect(
        &self,
        collection: &Value<'v>,
        pick: impl Fn(Value<'v>, Value<'v>) -> Value<'v>,
    ) -> Result<Value<'v>, Stop> {
        let mut items = Vec::new();
        let _ = collection.for_each::<()>(|key, item| {
            items.push(pick(key, item));
            Ok(true)
        });
        // Charged once built: no longer than the collection, which exists.
        self.budget.charge_elements(items.len())?;
        Ok(Value::list(items))
    }
}

/// The length of `whole.replace(from, to)`, worked out without building it.
fn replaced_len(whole: &str, from: &str, to: &str) -> usize {
    // An empty pattern matches before every character and at the end.
    let matches = if from.is_empty() {
        whole.chars().count() + 1
    } else {
        whole.matches(from).count()
    };
    let removed = matches.saturating_mul(from.len());
    whole
        .len()
        .saturating_sub(removed)
        .saturating_add(matches.saturating_mul(to.len()))
}

fn some_element(collection: &Value<'_>, test: impl Fn(&Value<'_>) -> bool) -> bool {
    let mut found = false;
    let _ = collection.for_each::<()>(|_, item| {
        found = test(&item);
        Ok(!found)
    });
    found
}

/// Folds the numbers of a list; null when any element is not a number.
/// Integer lists keep integer results where the fold allows.
fn fold_numbers<'v>(collection: &Value<'v>, fold: impl Fn(&[f64]) -> Option<f64>) -> Value<'v> {
    let mut numbers = Vec::new();
    let mut all_integers = true;
    let mut well_formed = true;
    let _ = collection.for_each::<()>(|_, item| {
        match item {
            Value::Int(number) => numbers.push(number as f64),
            Value::Float(number) => {
                all_integers = false;
                numbers.push(number);
            }
            _ => well_formed = false,
        }
        Ok(well_formed)
    });
    if !well_formed {
        return Value::Null;
    }
    match fold(&numbers) {
        Some(result) if all_integers && result.fract() == 0.0 && result.abs() < 9e15 => {
            Value::Int(result as i64)
        }
        Some(result) => Value::Float(result),
        None => Value::Null,
    }
}

fn image_value<'v>(reference: &str) -> Value<'v> {
    let parsed = image::parse(reference);
    let optional = |part: Option<String>| part.map_or(Value::Null, Value::string);
    let name = parsed
        .repository
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    Value::Object(Rc::new(vec![
        ("registry".into(), Value::string(parsed.registry)),
        ("repository".into(), Value::string(parsed.repository)),
        ("name".into(), Value::string(name)),
        ("tag".into(), optional(parsed.tag)),
        ("digest".into(), optional(parsed.digest)),
    ]))
}
