//! Kubernetes label selectors (`matchLabels` and `matchExpressions`).

use crate::json::Json;

/// Whether `selector` (a LabelSelector object) selects an object carrying
/// `labels`. An empty selector selects everything; a null or malformed one
/// selects nothing, as the API server treats a selector it cannot read.
pub fn selects(selector: &Json, labels: Option<&crate::json::Object>) -> bool {
    let Json::Object(selector) = selector else {
        return false;
    };
    let label = |key: &str| {
        labels
            .and_then(|labels| labels.get(key))
            .and_then(Json::as_str)
    };
    if let Some(match_labels) = selector.get("matchLabels") {
        let Json::Object(match_labels) = match_labels else {
            return match_labels.is_null();
        };
        for (key, wanted) in match_labels {
            if label(key) != wanted.as_str() {
                return false;
            }
        }
    }
    if let Some(expressions) = selector.get("matchExpressions") {
        let Json::Array(expressions) = expressions else {
            return expressions.is_null();
        };
        for expression in expressions {
            if !expression_holds(expression, &label) {
                return false;
            }
        }
    }
    true
}

fn expression_holds<'a>(expression: &Json, label: &impl Fn(&str) -> Option<&'a str>) -> bool {
    let Some(key) = expression.get("key").and_then(Json::as_str) else {
        return false;
    };
    let values: Vec<&str> = expression
        .get("values")
        .and_then(Json::as_array)
        .map(|values| values.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let current = label(key);
    match expression.get("operator").and_then(Json::as_str) {
        Some("In") => current.is_some_and(|value| values.contains(&value)),
        Some("NotIn") => current.is_none_or(|value| !values.contains(&value)),
        Some("Exists") => current.is_some(),
        Some("DoesNotExist") => current.is_none(),
        _ => false,
    }
}
