//! `rampart.yaml`: which policies run, their parameters and actions, and
//! exceptions. Found by walking up from the working directory, or named with
//! `--config`.
//!
//! ```yaml
//! sets: [recommended]
//! policies: [policies/]                 # relative to this file
//! kubernetesVersion: v1.30
//! params:
//!   nsa.images.allowed_registries:
//!     registries: [registry.example.com]
//! actions:
//!   bp.probes.liveness: warn             # deny | warn | audit
//! exceptions:
//!   - policy: pss.restricted.runAsNonRoot   # glob
//!     kind: Deployment                      # optional: kind, namespace, name (globs)
//!     namespace: legacy
//!     name: "batch-*"
//!     reason: vendor image runs as root (OPS-123)
//!     expires: 2027-03-31                   # optional
//! annotations:
//!   allowExemptions: false   # true: a resource may exempt itself with rampart.dev/exempt
//! ```

use rampart_engine::helpers::glob;
use rampart_engine::ir::{Action, PolicySet};
use rampart_engine::json::Json;
use rampart_engine::load::{self, LoadLimits, Position};
use std::path::{Path, PathBuf};

/// The file names looked for, in order, in each directory.
pub const FILE_NAMES: [&str; 2] = ["rampart.yaml", ".rampart.yaml"];

/// The annotation through which a resource exempts itself (when allowed):
/// a comma-separated list of policy ids or globs.
pub const EXEMPT_ANNOTATION: &str = "rampart.dev/exempt";
/// The annotation giving the reason of a self-exemption (required).
pub const EXEMPT_REASON_ANNOTATION: &str = "rampart.dev/exempt-reason";

/// A parsed configuration.
#[derive(Debug, Default)]
pub struct Config {
    /// The file it came from.
    pub file: String,
    /// `sets`.
    pub sets: Vec<String>,
    /// `policies`, resolved against the file's directory.
    pub policies: Vec<PathBuf>,
    /// `kubernetesVersion`.
    pub kubernetes_version: Option<String>,
    /// `params`: policy id → name → value (with the position of the value).
    pub params: Vec<(String, String, Json, Option<Position>)>,
    /// `actions`: policy id or glob → action.
    pub actions: Vec<(String, Action, Option<Position>)>,
    /// `exceptions`.
    pub exceptions: Vec<Exception>,
    /// `annotations.allowExemptions`.
    pub allow_annotation_exemptions: bool,
}

/// One exception: findings of matching policies on matching resources are dropped.
#[derive(Debug, Clone)]
pub struct Exception {
    /// Policy id or glob.
    pub policy: String,
    /// Kind glob.
    pub kind: Option<String>,
    /// Namespace glob.
    pub namespace: Option<String>,
    /// Name glob.
    pub name: Option<String>,
    /// Why.
    pub reason: String,
    /// `YYYY-MM-DD`, after which it no longer applies.
    pub expires: Option<String>,
    /// Where it is written.
    pub position: Option<Position>,
}

/// A problem in the configuration, with its place.
#[derive(Debug, Clone)]
pub struct ConfigProblem {
    /// The file.
    pub file: String,
    /// Where, when known.
    pub position: Option<Position>,
    /// What.
    pub message: String,
}

/// Finds the configuration file: `explicit` if given, else the first
/// `rampart.yaml` walking up from the working directory.
pub fn discover(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let mut directory = std::env::current_dir().ok()?;
    loop {
        for name in FILE_NAMES {
            let candidate = directory.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        if !directory.pop() {
            return None;
        }
    }
}

/// Reads and checks a configuration file.
pub fn read(path: &Path, problems: &mut Vec<ConfigProblem>) -> Option<Config> {
    let file = crate::inputs::display_name(path);
    let problem = |position: Option<Position>, message: String| ConfigProblem {
        file: file.clone(),
        position,
        message,
    };
    let text = match crate::inputs::read::read_text(path, crate::inputs::read::SOURCE_LIMIT) {
        Ok(text) => text,
        Err(error) => {
            problems.push(problem(
                None,
                format!("cannot read the configuration: {error}"),
            ));
            return None;
        }
    };
    let outcome = load::load_str(&text, &LoadLimits::default());
    for error in &outcome.errors {
        problems.push(problem(error.position, error.message.clone()));
    }
    let document = outcome
        .documents
        .into_iter()
        .find(|document| !document.value.is_null())?;
    let root = &document.value;
    let at = |pointer: &str| document.positions.locate(root, pointer);
    let Json::Object(members) = root else {
        problems.push(problem(
            at(""),
            "the configuration must be a mapping".to_owned(),
        ));
        return None;
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut config = Config {
        file: file.clone(),
        ..Config::default()
    };
    for (key, value) in members {
        let pointer = format!("/{key}");
        match key.as_str() {
            "sets" => config.sets = strings(value, &pointer, &at, &file, problems),
            "policies" => {
                config.policies = strings(value, &pointer, &at, &file, problems)
                    .into_iter()
                    .map(|policy| base.join(policy))
                    .collect()
            }
            "kubernetesVersion" => match value.as_str() {
                Some(version) => config.kubernetes_version = Some(version.to_owned()),
                None => problems.push(problem(
                    at(&pointer),
                    "`kubernetesVersion` must be a string such as `v1.30`".to_owned(),
                )),
            },
            "params" => read_params(value, &at, &mut config, problems),
            "actions" => read_actions(value, &at, &mut config, problems),
            "exceptions" => read_exceptions(value, &at, &mut config, problems),
            "annotations" => {
                config.allow_annotation_exemptions = value
                    .get("allowExemptions")
                    .and_then(Json::as_bool)
                    .unwrap_or(false)
            }
            other => {
                let known = [
                    "sets",
                    "policies",
                    "kubernetesVersion",
                    "params",
                    "actions",
                    "exceptions",
                    "annotations",
                ];
                let suggestion = rampart_lang::schema::suggest(other, known);
                let help = suggestion
                    .map(|known| format!(" (did you mean `{known}`?)"))
                    .unwrap_or_default();
                problems.push(problem(
                    at(&pointer),
                    format!("unknown configuration key `{other}`{help}"),
                ));
            }
        }
    }
    Some(config)
}

fn strings(
    value: &Json,
    pointer: &str,
    at: &impl Fn(&str) -> Option<Position>,
    file: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Vec<String> {
    let items: Option<Vec<String>> = value.as_array().and_then(|items| {
        items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect()
    });
    items.unwrap_or_else(|| {
        problems.push(ConfigProblem {
            file: file.to_owned(),
            position: at(pointer),
            message: format!(
                "`{}` must be a list of strings",
                pointer.trim_start_matches('/')
            ),
        });
        Vec::new()
    })
}

fn read_params(
    value: &Json,
    at: &impl Fn(&str) -> Option<Position>,
    config: &mut Config,
    problems: &mut Vec<ConfigProblem>,
) {
    let Some(policies) = value.as_object() else {
        problems.push(config_problem(
            config,
            at("/params"),
            "`params` maps policy ids to their parameters",
        ));
        return;
    };
    for (policy, params) in policies {
        let Some(params) = params.as_object() else {
            problems.push(config_problem(
                config,
                at(&format!("/params/{policy}")),
                "parameters must be a mapping of name to value",
            ));
            continue;
        };
        for (name, value) in params {
            let position = at(&format!("/params/{policy}/{name}"));
            config.params.push((
                policy.to_string(),
                name.to_string(),
                value.clone(),
                position,
            ));
        }
    }
}

fn read_actions(
    value: &Json,
    at: &impl Fn(&str) -> Option<Position>,
    config: &mut Config,
    problems: &mut Vec<ConfigProblem>,
) {
    let Some(actions) = value.as_object() else {
        problems.push(config_problem(
            config,
            at("/actions"),
            "`actions` maps policy ids to deny, warn or audit",
        ));
        return;
    };
    for (policy, action) in actions {
        let position = at(&format!("/actions/{policy}"));
        let action = match action.as_str() {
            Some("deny") => Action::Deny,
            Some("warn") => Action::Warn,
            Some("audit") => Action::Audit,
            _ => {
                problems.push(config_problem(
                    config,
                    position,
                    &format!("the action of `{policy}` must be deny, warn or audit"),
                ));
                continue;
            }
        };
        config.actions.push((policy.to_string(), action, position));
    }
}

fn read_exceptions(
    value: &Json,
    at: &impl Fn(&str) -> Option<Position>,
    config: &mut Config,
    problems: &mut Vec<ConfigProblem>,
) {
    let Some(exceptions) = value.as_array() else {
        problems.push(config_problem(
            config,
            at("/exceptions"),
            "`exceptions` is a list",
        ));
        return;
    };
    for (index, exception) in exceptions.iter().enumerate() {
        let pointer = format!("/exceptions/{index}");
        let position = at(&pointer);
        let text = |key: &str| exception.get(key).and_then(Json::as_str).map(str::to_owned);
        let (Some(policy), Some(reason)) = (text("policy"), text("reason")) else {
            problems.push(config_problem(
                config,
                position,
                "an exception needs a `policy` and a `reason`",
            ));
            continue;
        };
        let expires = match exception.get("expires") {
            None => None,
            Some(value) => {
                let checked = value
                    .as_str()
                    .ok_or(DateError::Format)
                    .and_then(|date| parse_date(date).map(|_| date));
                match checked {
                    Ok(date) => Some(date.to_owned()),
                    Err(error) => {
                        let written = value
                            .as_str()
                            .map_or_else(|| value.to_string(), str::to_owned);
                        problems.push(config_problem(
                            config,
                            at(&format!("{pointer}/expires")),
                            &format!(
                                "`exceptions[{index}].expires`: `{written}` is not a date of the calendar ({error})"
                            ),
                        ));
                        continue;
                    }
                }
            }
        };
        config.exceptions.push(Exception {
            policy,
            kind: text("kind"),
            namespace: text("namespace"),
            name: text("name"),
            reason,
            expires,
            position,
        });
    }
}

fn config_problem(config: &Config, position: Option<Position>, message: &str) -> ConfigProblem {
    ConfigProblem {
        file: config.file.clone(),
        position,
        message: message.to_owned(),
    }
}

impl Config {
    /// Applies parameters and actions to the compiled policies; problems for
    /// unknown policies or parameters and for values of the wrong shape.
    pub fn apply(&self, set: &mut PolicySet, problems: &mut Vec<ConfigProblem>) {
        for (policy_id, name, value, position) in &self.params {
            let Some(policy) = set
                .policies
                .iter_mut()
                .find(|policy| &policy.id == policy_id)
            else {
                problems.push(config_problem(
                    self,
                    *position,
                    &format!("params: no policy `{policy_id}` runs"),
                ));
                continue;
            };
            let Some(param) = policy.params.iter_mut().find(|param| &param.name == name) else {
                let names: Vec<&str> = policy
                    .params
                    .iter()
                    .map(|param| param.name.as_str())
                    .collect();
                let suggestion = rampart_lang::schema::suggest(name, names)
                    .map(|known| format!(" (did you mean `{known}`?)"))
                    .unwrap_or_default();
                problems.push(config_problem(
                    self,
                    *position,
                    &format!("policy `{policy_id}` has no parameter `{name}`{suggestion}"),
                ));
                continue;
            };
            if !param.shape.admits(value) {
                problems.push(config_problem(
                    self,
                    *position,
                    &format!(
                        "parameter `{name}` of `{policy_id}` must be `{}`",
                        param.shape
                    ),
                ));
                continue;
            }
            param.value = value.clone();
        }
        for (pattern, action, position) in &self.actions {
            let mut matched = false;
            for policy in set
                .policies
                .iter_mut()
                .filter(|policy| glob::matches(pattern, &policy.id))
            {
                policy.action_override = Some(*action);
                matched = true;
            }
            if !matched {
                problems.push(config_problem(
                    self,
                    *position,
                    &format!("actions: no policy matching `{pattern}` runs"),
                ));
            }
        }
    }
}

/// Whether an exception covers a finding of `policy` on `resource`.
pub fn covers(exception: &Exception, policy: &str, resource: &Json) -> bool {
    let field = |pointer: &str| {
        resource
            .pointer(pointer)
            .and_then(Json::as_str)
            .unwrap_or_default()
    };
    let matches = |pattern: &Option<String>, value: &str| {
        pattern
            .as_ref()
            .is_none_or(|pattern| glob::matches(pattern, value))
    };
    glob::matches(&exception.policy, policy)
        && matches(&exception.kind, field("/kind"))
        && matches(&exception.namespace, field("/metadata/namespace"))
        && matches(&exception.name, field("/metadata/name"))
}

/// Whether a resource exempts itself from `policy` by annotation, with a reason.
pub fn annotation_exempts(policy: &str, resource: &Json) -> bool {
    let annotation = |name: &str| {
        resource
            .get("metadata")
            .and_then(|metadata| metadata.get("annotations"))
            .and_then(|annotations| annotations.get(name))
            .and_then(Json::as_str)
    };
    let has_reason =
        annotation(EXEMPT_REASON_ANNOTATION).is_some_and(|reason| !reason.trim().is_empty());
    has_reason
        && annotation(EXEMPT_ANNOTATION).is_some_and(|list| {
            list.split(',')
                .any(|pattern| glob::matches(pattern.trim(), policy))
        })
}

/// Why a text is not a date of the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateError {
    /// Not written `YYYY-MM-DD`.
    Format,
    /// A month that is not 01 to 12.
    Month(u32),
    /// A day that the month does not have.
    Day {
        /// The year.
        year: i64,
        /// The month, from 1.
        month: u32,
        /// The day written.
        day: u32,
    },
}

impl std::fmt::Display for DateError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        match self {
            DateError::Format => formatter.write_str("a date is written YYYY-MM-DD"),
            DateError::Month(month) => write!(formatter, "there is no month {month}"),
            DateError::Day { year, month, day } => {
                let name = MONTHS
                    .get((*month as usize).wrapping_sub(1))
                    .copied()
                    .unwrap_or("the month");
                write!(
                    formatter,
                    "{name} {year} has {} days, not {day}",
                    days_in_month(*year, *month)
                )
            }
        }
    }
}

impl std::error::Error for DateError {}

/// How many days a month of the proleptic Gregorian calendar has.
fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses a calendar date written `YYYY-MM-DD` into (year, month, day).
pub fn parse_date(text: &str) -> Result<(i64, u32, u32), DateError> {
    let bytes = text.trim().as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<u32, DateError> {
        let part = bytes.get(range).ok_or(DateError::Format)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(DateError::Format);
        }
        Ok(part
            .iter()
            .fold(0, |value, digit| value * 10 + u32::from(digit - b'0')))
    };
    if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return Err(DateError::Format);
    }
    let year = i64::from(digits(0..4)?);
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    if !(1..=12).contains(&month) {
        return Err(DateError::Month(month));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(DateError::Day { year, month, day });
    }
    Ok((year, month, day))
}

/// Today's date (UTC), as (year, month, day).
pub fn today() -> (i64, u32, u32) {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    civil_from_days(seconds.div_euclid(86_400))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's well-known algorithm), to avoid a date crate for one comparison.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Whether the exception has expired (it still applies on its expiry day).
pub fn expired(exception: &Exception, today: (i64, u32, u32)) -> bool {
    exception
        .expires
        .as_deref()
        .and_then(|date| parse_date(date).ok())
        .is_some_and(|expires| expires < today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_engine::json;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(parse_date("2027-03-31"), Ok((2027, 3, 31)));
        assert_eq!(parse_date("2027-13-01"), Err(DateError::Month(13)));
        assert_eq!(
            parse_date("2027-02-30"),
            Err(DateError::Day {
                year: 2027,
                month: 2,
                day: 30
            })
        );
        assert_eq!(parse_date("2028-02-29"), Ok((2028, 2, 29)));
        assert!(parse_date("2100-02-29").is_err());
        assert_eq!(parse_date("2000-02-29"), Ok((2000, 2, 29)));
        assert!(parse_date("2027-04-31").is_err());
        assert_eq!(parse_date("2027-3-1"), Err(DateError::Format));
        assert!(matches!(
            parse_date("2027-03-00"),
            Err(DateError::Day { day: 0, .. })
        ));
        assert_eq!(
            DateError::Day {
                year: 2027,
                month: 2,
                day: 30
            }
            .to_string(),
            "February 2027 has 28 days, not 30"
        );
        let exception = Exception {
            policy: "*".into(),
            kind: None,
            namespace: None,
            name: None,
            reason: "r".into(),
            expires: Some("2026-01-31".into()),
            position: None,
        };
        assert!(!expired(&exception, (2026, 1, 31)));
        assert!(expired(&exception, (2026, 2, 1)));
    }

    #[test]
    fn exceptions_match_by_globs() {
        let exception = Exception {
            policy: "pss.restricted.*".into(),
            kind: Some("Deployment".into()),
            namespace: Some("legacy".into()),
            name: Some("batch-*".into()),
            reason: "r".into(),
            expires: None,
            position: None,
        };
        let resource =
            json!({"kind": "Deployment", "metadata": {"namespace": "legacy", "name": "batch-7"}});
        assert!(covers(&exception, "pss.restricted.runAsNonRoot", &resource));
        assert!(!covers(&exception, "pss.baseline.privileged", &resource));
        let other =
            json!({"kind": "Deployment", "metadata": {"namespace": "prod", "name": "batch-7"}});
        assert!(!covers(&exception, "pss.restricted.runAsNonRoot", &other));
    }

    #[test]
    fn annotations_need_a_reason() {
        let with_reason = json!({"metadata": {"annotations": {EXEMPT_ANNOTATION: "bp.*, nsa.x", EXEMPT_REASON_ANNOTATION: "legacy"}}});
        assert!(annotation_exempts("bp.probes", &with_reason));
        assert!(annotation_exempts("nsa.x", &with_reason));
        assert!(!annotation_exempts("nsa.y", &with_reason));
        let without = json!({"metadata": {"annotations": {EXEMPT_ANNOTATION: "bp.*"}}});
        assert!(!annotation_exempts("bp.probes", &without));
    }
}
