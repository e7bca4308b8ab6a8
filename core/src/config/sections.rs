//! Reading each top-level key of a configuration.

use super::{Config, ConfigProblem, KEYS};
use crate::date::Date;
use crate::judging::{Exception, Exemptions};
use rampart_engine::ir::Action;
use rampart_engine::json::Json;
use rampart_engine::load::Position;

/// Reads sections into a configuration, collecting problems.
pub(super) struct Reader<'r> {
    pub(super) config: Config,
    pub(super) at: &'r dyn Fn(&str) -> Option<Position>,
    pub(super) problems: &'r mut Vec<ConfigProblem>,
}

impl Reader<'_> {
    fn problem(&mut self, pointer: &str, message: impl Into<String>) {
        let position = (self.at)(pointer);
        self.problems.push(ConfigProblem {
            file: self.config.file.clone(),
            position,
            message: message.into(),
        });
    }

    pub(super) fn section(&mut self, key: &str, value: &Json) {
        let pointer = format!("/{key}");
        match key {
            "sets" => self.config.sets = self.strings(value, &pointer),
            "policies" => self.config.policies = self.strings(value, &pointer),
            "kubernetesVersion" => match value.as_str() {
                Some(version) => self.config.kubernetes_version = Some(version.to_owned()),
                None => self.problem(
                    &pointer,
                    "`kubernetesVersion` must be a string such as `v1.30`",
                ),
            },
            "params" => self.params(value),
            "actions" => self.actions(value),
            "exceptions" => self.exceptions(value),
            "exemptions" => self.exemptions(value),
            "annotations" => {
                self.config.judging.allow_annotation_exemptions = value
                    .get("allowExemptions")
                    .and_then(Json::as_bool)
                    .unwrap_or(false)
            }
            other => {
                let help = rampart_lang::schema::suggest(other, KEYS)
                    .map(|known| format!(" (did you mean `{known}`?)"))
                    .unwrap_or_default();
                self.problem(
                    &pointer,
                    format!("unknown configuration key `{other}`{help}"),
                );
            }
        }
    }

    fn strings(&mut self, value: &Json, pointer: &str) -> Vec<String> {
        let items: Option<Vec<String>> = value.as_array().and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect()
        });
        items.unwrap_or_else(|| {
            let name = pointer.trim_start_matches('/').replace('/', ".");
            self.problem(pointer, format!("`{name}` must be a list of strings"));
            Vec::new()
        })
    }

    fn params(&mut self, value: &Json) {
        let Some(policies) = value.as_object() else {
            self.problem("/params", "`params` maps policy ids to their parameters");
            return;
        };
        for (policy, params) in policies {
            let Some(params) = params.as_object() else {
                self.problem(
                    &format!("/params/{policy}"),
                    "parameters must be a mapping of name to value",
                );
                continue;
            };
            for (name, value) in params {
                let position = (self.at)(&format!("/params/{policy}/{name}"));
                self.config.params.push((
                    policy.to_string(),
                    name.to_string(),
                    value.clone(),
                    position,
                ));
            }
        }
    }

    fn actions(&mut self, value: &Json) {
        let Some(actions) = value.as_object() else {
            self.problem(
                "/actions",
                "`actions` maps policy ids to deny, warn or audit",
            );
            return;
        };
        for (policy, action) in actions {
            let pointer = format!("/actions/{policy}");
            let action = match action.as_str() {
                Some("deny") => Action::Deny,
                Some("warn") => Action::Warn,
                Some("audit") => Action::Audit,
                _ => {
                    self.problem(
                        &pointer,
                        format!("the action of `{policy}` must be deny, warn or audit"),
                    );
                    continue;
                }
            };
            let position = (self.at)(&pointer);
            self.config
                .actions
                .push((policy.to_string(), action, position));
        }
    }

    fn exceptions(&mut self, value: &Json) {
        let Some(exceptions) = value.as_array() else {
            self.problem("/exceptions", "`exceptions` is a list");
            return;
        };
        for (index, exception) in exceptions.iter().enumerate() {
            let pointer = format!("/exceptions/{index}");
            let text = |key: &str| exception.get(key).and_then(Json::as_str).map(str::to_owned);
            let (Some(policy), Some(reason)) = (text("policy"), text("reason")) else {
                self.problem(&pointer, "an exception needs a `policy` and a `reason`");
                continue;
            };
            let expires = match exception.get("expires") {
                None => None,
                Some(value) => match value.as_str().map(Date::parse) {
                    Some(Ok(date)) => Some(date),
                    parsed => {
                        let reason = match parsed {
                            Some(Err(error)) => error.to_string(),
                            _ => "a date is written YYYY-MM-DD".to_owned(),
                        };
                        let written = value
                            .as_str()
                            .map_or_else(|| value.to_string(), str::to_owned);
                        self.problem(
                            &format!("{pointer}/expires"),
                            format!(
                                "`exceptions[{index}].expires`: `{written}` is not a date of the calendar ({reason})"
                            ),
                        );
                        continue;
                    }
                },
            };
            let position = (self.at)(&pointer);
            self.config.judging.exceptions.push(Exception {
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

    fn exemptions(&mut self, value: &Json) {
        let Some(members) = value.as_object() else {
            self.problem(
                "/exemptions",
                "`exemptions` maps namespaces, usernames and runtimeClassNames to lists",
            );
            return;
        };
        let mut exemptions = Exemptions::default();
        for (key, list) in members {
            let pointer = format!("/exemptions/{key}");
            match key.as_str() {
                "namespaces" => exemptions.namespaces = self.strings(list, &pointer),
                "usernames" => exemptions.usernames = self.strings(list, &pointer),
                "runtimeClassNames" => {
                    exemptions.runtime_class_names = self.strings(list, &pointer)
                }
                other => {
                    let known = ["namespaces", "usernames", "runtimeClassNames"];
                    let help = rampart_lang::schema::suggest(other, known)
                        .map(|known| format!(" (did you mean `{known}`?)"))
                        .unwrap_or_default();
                    self.problem(&pointer, format!("unknown exemption `{other}`{help}"));
                }
            }
        }
        self.config.judging.exemptions = exemptions;
    }
}
