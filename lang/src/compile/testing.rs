//! `test` blocks: their resources become JSON, their expectations pointers.

use super::Compiler;
use super::policy::constant_pointer;
use crate::ast::{Expectation, Given, TestDecl};
use crate::schema;
use rampart_engine::ir::{Action, Expr, KubeVersion, PolicySet};
use rampart_engine::json::Json;
use serde::Serialize;

/// A test, compiled: constant resources and expectations.
#[derive(Clone, Debug, Serialize)]
pub struct CompiledTest {
    /// Its name.
    pub name: String,
    /// The file it is in.
    pub file: String,
    /// Its line.
    pub line: usize,
    /// The policies it runs.
    pub policies: Vec<String>,
    /// The resources it judges, together (cross-resource policies see them all).
    pub resources: Vec<TestResource>,
    /// Parameter values for the policies under test.
    pub params: Vec<(String, Json)>,
    /// The Kubernetes version to judge as.
    pub version: Option<KubeVersion>,
    /// What it expects.
    pub expectations: Vec<ExpectationSpec>,
}

/// A resource of a test.
#[derive(Clone, Debug, Serialize)]
pub enum TestResource {
    /// Written in the test.
    Inline(Json),
    /// A fixture file (YAML or JSON), relative to the test's file; the caller reads it.
    File(String),
}

/// One expectation of a test.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectationSpec {
    /// `None` for `expect allow`; otherwise the action of the expected finding.
    pub action: Option<Action>,
    /// The pointer the finding must have, if given.
    pub pointer: Option<String>,
    /// A part of the message, if given.
    pub message: Option<String>,
    /// The expectation's line.
    pub line: usize,
}

impl Compiler<'_, '_> {
    pub(super) fn test(
        &mut self,
        declaration: &TestDecl,
        file: &str,
        defined_here: &[String],
        set: &PolicySet,
    ) -> Option<CompiledTest> {
        let errors_before = self.reporter().error_count();
        self.scope = super::scope::Scope::default();
        let mut policies = Vec::new();
        for name in &declaration.policies {
            let known = set.policy(&name.text).is_some()
                || self.files.iter().any(|file| {
                    file.policies
                        .iter()
                        .any(|policy| policy.id.text == name.text)
                });
            if !known {
                let candidates: Vec<&str> = set
                    .policies
                    .iter()
                    .map(|policy| policy.id.as_str())
                    .collect();
                let suggestion = schema::suggest(&name.text, candidates).map(str::to_owned);
                let diagnostic = self.reporter().error(
                    "E0501",
                    name.span,
                    format!("unknown policy `{}`", name.text),
                );
                if let Some(suggestion) = suggestion {
                    diagnostic.with_help(format!("did you mean `{suggestion}`?"));
                }
            }
            policies.push(name.text.clone());
        }
        if policies.is_empty() {
            policies = defined_here.to_vec();
        }
        let mut resources = Vec::new();
        for given in &declaration.given {
            match given {
                Given::File(path, _) => resources.push(TestResource::File(path.clone())),
                Given::Yaml(text, span) => {
                    let outcome = rampart_engine::load::load_str(
                        text,
                        &rampart_engine::load::LoadLimits::default(),
                    );
                    for error in &outcome.errors {
                        self.reporter().error(
                            "E0502",
                            *span,
                            format!("inline YAML: {}", error.message),
                        );
                    }
                    for document in &outcome.documents {
                        if !document.value.is_null() {
                            resources.push(TestResource::Inline(document.value.clone()));
                        }
                    }
                }
                Given::Object(kind, object) => {
                    let (lowered, _) = self.expression(object);
                    let Some(mut json) = constant(&lowered) else {
                        self.reporter().error(
                            "E0207",
                            object.span,
                            "a test resource must be a constant",
                        );
                        continue;
                    };
                    if let Some(kind) = kind {
                        let mut kind_name = kind.text.clone();
                        if let Some(first) = kind_name.get(..1) {
                            kind_name = format!(
                                "{}{}",
                                first.to_uppercase(),
                                kind_name.get(1..).unwrap_or_default()
                            );
                        }
                        let api_version = schema::kinds()
                            .find(|(_, schema_kind, _)| *schema_kind == kind_name)
                            .map(|(api_version, _, _)| api_version);
                        let has_api_version = json.get("apiVersion").is_some();
                        if api_version.is_none() && !has_api_version {
                            self.reporter()
                                .error("E0103", kind.span, format!("unknown kind `{kind_name}`"))
                                .with_help("write the object with its `apiVersion` and `kind`");
                        }
                        json = with_identity(json, api_version.unwrap_or_default(), &kind_name);
                    }
                    resources.push(TestResource::Inline(json));
                }
            }
        }
        let mut params = Vec::new();
        for (name, value) in &declaration.params {
            let (lowered, _) = self.expression(value);
            match constant(&lowered) {
                Some(json) => params.push((name.text.clone(), json)),
                None => {
                    self.reporter().error(
                        "E0207",
                        value.span,
                        "a parameter value must be a constant",
                    );
                }
            }
        }
        let version = declaration.version.as_ref().and_then(|version| {
            let parsed = KubeVersion::parse(&version.text);
            if parsed.is_none() {
                self.reporter().error(
                    "E0206",
                    version.span,
                    format!("`{}` is not a Kubernetes version", version.text),
                );
            }
            parsed
        });
        let mut expectations = Vec::new();
        for expectation in &declaration.expectations {
            match expectation {
                Expectation::Allow(span) => expectations.push(ExpectationSpec {
                    action: None,
                    pointer: None,
                    message: None,
                    line: self.reporter().locate(span.start).line,
                }),
                Expectation::Finding {
                    action,
                    at,
                    message,
                    span,
                } => {
                    let pointer = match at {
                        Some(path) => match constant_pointer(path) {
                            Some(pointer) => Some(pointer),
                            None => {
                                self.reporter().error(
                                    "E0207",
                                    path.span,
                                    "an expected location must be a constant path",
                                );
                                None
                            }
                        },
                        None => None,
                    };
                    expectations.push(ExpectationSpec {
                        action: Some(*action),
                        pointer,
                        message: message.clone(),
                        line: self.reporter().locate(span.start).line,
                    });
                }
            }
        }
        if expectations.is_empty() {
            self.reporter()
                .error(
                    "E0503",
                    declaration.span,
                    format!("test `{}` expects nothing", declaration.name),
                )
                .with_help("add `expect allow` or `expect deny at PATH`");
        }
        if resources.is_empty() {
            self.reporter()
                .error(
                    "E0503",
                    declaration.span,
                    format!("test `{}` gives no resource", declaration.name),
                )
                .with_help("add `given pod { spec: { ... } }`");
        }
        let line = self.reporter().locate(declaration.span.start).line;
        if self.reporter().error_count() > errors_before {
            return None;
        }
        Some(CompiledTest {
            name: declaration.name.clone(),
            file: file.to_owned(),
            line,
            policies,
            resources,
            params,
            version,
            expectations,
        })
    }
}

/// The JSON value of a constant expression.
pub(crate) fn constant(expr: &Expr) -> Option<Json> {
    match expr {
        Expr::Literal(json) => Some(json.clone()),
        Expr::List(items) => items
            .iter()
            .map(constant)
            .collect::<Option<Vec<_>>>()
            .map(Json::Array),
        Expr::Object(members) => {
            let mut object = rampart_engine::json::Object::new();
            for (key, value) in members {
                object.insert(key.to_string(), constant(value)?);
            }
            Some(Json::Object(object))
        }
        Expr::Unary(rampart_engine::ir::UnaryOp::Negate, operand) => match constant(operand)? {
            Json::Number(number) => number.as_i64().map(|value| Json::from(-value)).or_else(|| {
                number
                    .as_f64()
                    .and_then(|value| serde_json::Number::from_f64(-value))
                    .map(Json::Number)
            }),
            _ => None,
        },
        _ => None,
    }
}

/// Puts `apiVersion`, `kind` and a default name in front of a test object,
/// unless it sets them itself.
fn with_identity(json: Json, api_version: &str, kind: &str) -> Json {
    let mut object = rampart_engine::json::Object::new();
    object.insert("apiVersion".to_owned(), Json::from(api_version));
    object.insert("kind".to_owned(), Json::from(kind));
    object.insert(
        "metadata".to_owned(),
        Json::from(serde_json::json!({"name": "test", "namespace": "default"})),
    );
    if let Json::Object(members) = json {
        for (key, value) in members {
            object.insert(key, value);
        }
    }
    Json::Object(object)
}
