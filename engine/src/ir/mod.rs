//! The intermediate representation that compiled policies are made of.
//!
//! The compiler (`rampart-lang`) produces a [`PolicySet`]; the evaluator runs
//! it. The IR is plain data: it serializes (a Wasm bundle carries it inside),
//! holds no source text, and every construct in it terminates — loops only run
//! over finite collections and functions cannot recurse (the compiler refuses
//! call cycles, and the evaluator's step budget bounds everything else).

use serde::{Deserialize, Serialize};
use std::sync::Arc;

mod reading;

pub use reading::{IrReadError, MAX_IR_NESTING, check_nesting};

/// The format version of a serialized [`PolicySet`]; bumped on every
/// incompatible change so that an old bundle is refused, not misread.
pub const IR_VERSION: u32 = 1;

/// A compiled set of policies with the functions they call.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PolicySet {
    /// The IR format version ([`IR_VERSION`] when produced by this build).
    pub version: u32,
    /// The policies, in the order they were compiled.
    pub policies: Vec<Policy>,
    /// User functions; [`Expr::CallFunction`] refers to them by index.
    pub functions: Vec<Function>,
}

impl PolicySet {
    /// Whether any policy looks at other resources of the input
    /// (`resources("Kind")`), so that the caller knows to keep an inventory.
    pub fn uses_inventory(&self) -> bool {
        self.policies.iter().any(|policy| policy.uses_inventory)
    }

    /// Finds a policy by its id.
    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|policy| policy.id == id)
    }

    /// For each policy, by position, whether another policy of the set that
    /// applies at `version` overrides it ([`Policy::overrides`]): judging the
    /// whole set skips it.
    pub fn overridden_at(&self, version: KubeVersion) -> Vec<bool> {
        let replaced: Vec<&str> = self
            .policies
            .iter()
            .filter(|policy| policy.applies_at(version))
            .flat_map(|policy| policy.overrides.iter().map(String::as_str))
            .collect();
        self.policies
            .iter()
            .map(|policy| replaced.contains(&policy.id.as_str()))
            .collect()
    }
}

/// How serious a finding is; ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational only.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// The lowercase name used in the language and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What a finding does to the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Rejects the resource (exit code 1, admission denied).
    Deny,
    /// Reported, and returned as an admission warning, but allowed.
    Warn,
    /// Recorded only (reports and the webhook's audit log).
    Audit,
}

impl Action {
    /// The lowercase name used in the language and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deny => "deny",
            Action::Warn => "warn",
            Action::Audit => "audit",
        }
    }
}

/// A Kubernetes minor version (`1.30`), used by version-aware policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KubeVersion {
    /// Major version (always 1 today).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl KubeVersion {
    /// The newest version: what a policy is judged at when no version is asked for.
    pub const LATEST: KubeVersion = KubeVersion {
        major: 1,
        minor: u32::MAX,
    };

    /// Parses `1.30`, `v1.30` or `latest`.
    pub fn parse(text: &str) -> Option<KubeVersion> {
        let text = text.trim();
        if text == "latest" {
            return Some(KubeVersion::LATEST);
        }
        let text = text.strip_prefix('v').unwrap_or(text);
        let (major, minor) = text.split_once('.')?;
        Some(KubeVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl std::fmt::Display for KubeVersion {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == KubeVersion::LATEST {
            formatter.write_str("latest")
        } else {
            write!(formatter, "v{}.{}", self.major, self.minor)
        }
    }
}

/// One compiled policy.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Policy {
    /// Dotted id, e.g. `pss.restricted.allow_privilege_escalation`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Longer description (from the policy's doc comment).
    pub description: String,
    /// How to fix what the policy finds.
    pub remediation: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// Control ids (`PSS:restricted:runAsNonRoot`, `NSA-CISA:C-0017`).
    pub controls: Vec<String>,
    /// When set, replaces the action written on every rule (from configuration).
    pub action_override: Option<Action>,
    /// The Kubernetes versions at which the policy applies (inclusive).
    pub since: Option<KubeVersion>,
    /// The last Kubernetes version at which the policy applies (inclusive).
    pub until: Option<KubeVersion>,
    /// Ids of the policies this one replaces: when both are in a set and this
    /// one applies at the version judged, they are not evaluated (Pod
    /// Security Admission's restricted checks replace their weaker baseline
    /// counterparts this way).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// Which resources the policy looks at.
    pub matcher: Matcher,
    /// Parameters, with their current values (defaults, or set by configuration).
    pub params: Vec<Param>,
    /// The statements of the policy body.
    pub body: Vec<Stmt>,
    /// How many local variable slots an evaluation of the body needs.
    pub slots: u32,
    /// How many rules the body has (rules are numbered from 0 in source order).
    pub rules: u32,
    /// Whether the body calls `resources(...)`.
    pub uses_inventory: bool,
    /// Where the policy was defined (`file:line`), for reports.
    pub origin: String,
}

impl Policy {
    /// Whether the policy applies when judging as Kubernetes `version`.
    pub fn applies_at(&self, version: KubeVersion) -> bool {
        self.since.is_none_or(|since| version >= since)
            && self.until.is_none_or(|until| version <= until)
    }
}

/// A policy parameter.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Param {
    /// Its name (`params.NAME` in the language).
    pub name: String,
    /// Its value: the default, unless configuration replaced it.
    pub value: crate::json::Json,
    /// The declared type, checked again when configuration sets the value.
    pub shape: Shape,
}

/// A value's shape, used to check parameter values coming from configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// Anything.
    Any,
    /// `bool`.
    Bool,
    /// `int`.
    Int,
    /// `float` (integers are accepted too).
    Float,
    /// `string`.
    String,
    /// `[T]`.
    List(Box<Shape>),
    /// `{string: T}`.
    Map(Box<Shape>),
}

impl Shape {
    /// Whether `value` has this shape.
    pub fn admits(&self, value: &crate::json::Json) -> bool {
        use crate::json::Json;
        match (self, value) {
            (Shape::Any, _) => true,
            (Shape::Bool, Json::Bool(_)) => true,
            (Shape::Int, Json::Number(number)) => number.is_i64() || number.is_u64(),
            (Shape::Float, Json::Number(_)) => true,
            (Shape::String, Json::String(_)) => true,
            (Shape::List(element), Json::Array(items)) => {
                items.iter().all(|item| element.admits(item))
            }
            (Shape::Map(element), Json::Object(members)) => {
                members.values().all(|item| element.admits(item))
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Any => formatter.write_str("any"),
            Shape::Bool => formatter.write_str("bool"),
            Shape::Int => formatter.write_str("int"),
            Shape::Float => formatter.write_str("float"),
            Shape::String => formatter.write_str("string"),
            Shape::List(element) => write!(formatter, "[{element}]"),
            Shape::Map(element) => write!(formatter, "{{string: {element}}}"),
        }
    }
}

/// Which resources a policy looks at.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Matcher {
    /// Which kinds.
    pub scope: Scope,
    /// Only resources in these namespaces (glob patterns); empty means all.
    pub namespaces: Vec<String>,
    /// Never resources in these namespaces (glob patterns).
    pub exclude_namespaces: Vec<String>,
    /// Only resources carrying all of these labels (value `*` means any value).
    pub labels: Vec<(String, String)>,
    /// Never resources carrying any of these labels (value `*` means any value).
    pub exclude_labels: Vec<(String, String)>,
}

/// The kinds a policy looks at.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub enum Scope {
    /// Every resource.
    #[default]
    All,
    /// Pods and every kind that holds a pod template; the body sees `pod`.
    Pods,
    /// These kinds.
    Kinds(Vec<KindSelector>),
}

/// A kind, optionally narrowed to an API group (`apps`, `""` for core).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KindSelector {
    /// The API group, or `None` for any group.
    pub group: Option<String>,
    /// The kind, e.g. `Deployment`.
    pub kind: String,
}

/// A local variable slot in a policy or function frame.
pub type Slot = u32;

/// A statement of a policy body.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Stmt {
    /// `let NAME = EXPR`.
    Let {
        /// Where the value goes.
        slot: Slot,
        /// The value.
        value: Expr,
    },
    /// `for x in EXPR { ... }` or `for (key, x) in EXPR { ... }`.
    For {
        /// The slot for the index (lists) or key (maps), if named.
        key_slot: Option<Slot>,
        /// The slot for the element.
        value_slot: Slot,
        /// The collection; a list or a map. Anything else runs the body zero times.
        collection: Expr,
        /// The loop body.
        body: Vec<Stmt>,
    },
    /// `if EXPR { ... } else { ... }`.
    If {
        /// The condition; only `true` runs `then`.
        condition: Expr,
        /// Statements when true.
        then: Vec<Stmt>,
        /// Statements otherwise.
        otherwise: Vec<Stmt>,
    },
    /// `deny ...` / `warn ...`.
    Rule(Rule),
}

/// A rule: when its condition is `true`, it produces a finding.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Rule {
    /// The rule's number within its policy (source order, from 0).
    pub index: u32,
    /// `deny` or `warn` as written (a policy's `action_override` wins).
    pub action: Action,
    /// The condition.
    pub condition: Expr,
    /// What the finding points at; `None` points at the innermost located
    /// loop variable, or the resource itself.
    pub at: Option<PathExpr>,
    /// The message template.
    pub message: Vec<TemplatePart>,
    /// How to fix it.
    pub fixes: Vec<Fix>,
    /// The values that decide the condition, with their source text, for
    /// `rampart check --explain` (evaluated only when a finding is explained).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explain: Vec<(String, Expr)>,
}

/// A piece of a message template.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum TemplatePart {
    /// Literal text.
    Text(String),
    /// An interpolated expression (`{c.name}`).
    Expr(Expr),
}

/// A fix: one change to the resource.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Fix {
    /// Set the field (creating missing parent objects).
    Set {
        /// The field.
        target: PathExpr,
        /// Its new value.
        value: Expr,
    },
    /// Append to a list (creating it when missing).
    Append {
        /// The list.
        target: PathExpr,
        /// The element to append.
        value: Expr,
    },
    /// Remove the field (nothing when it is absent).
    Remove {
        /// The field.
        target: PathExpr,
    },
}

impl Fix {
    /// The path the fix changes.
    pub fn target(&self) -> &PathExpr {
        match self {
            Fix::Set { target, .. } | Fix::Append { target, .. } | Fix::Remove { target } => target,
        }
    }

    /// The value it writes (none for a removal).
    pub fn value(&self) -> Option<&Expr> {
        match self {
            Fix::Set { value, .. } | Fix::Append { value, .. } => Some(value),
            Fix::Remove { .. } => None,
        }
    }
}

impl Rule {
    /// The paths it names: `at`, then each fix's target.
    pub fn paths(&self) -> impl Iterator<Item = &PathExpr> {
        self.at.iter().chain(self.fixes.iter().map(Fix::target))
    }
}

/// A path that can be located in the resource: a root and steps.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PathExpr {
    /// Where the path starts.
    pub root: PathRoot,
    /// The steps from there.
    pub steps: Vec<PathStep>,
}

/// The start of a [`PathExpr`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum PathRoot {
    /// The resource being judged.
    Resource,
    /// The pod (template) of the resource being judged.
    Pod,
    /// A loop variable bound to a located element.
    Slot(Slot),
}

/// One step of a [`PathExpr`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum PathStep {
    /// An object member.
    Field(Arc<str>),
    /// A list index or map key, computed.
    Index(Expr),
}

/// A builtin function.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// `count(list|map|string)`.
    Count,
    /// `starts_with(string, prefix)`.
    StartsWith,
    /// `ends_with(string, suffix)`.
    EndsWith,
    /// `contains(string, part)` or `contains(list, element)`.
    Contains,
    /// `matches(string, regex)`.
    Matches,
    /// `glob(string, pattern)`.
    Glob,
    /// `lower(string)`.
    Lower,
    /// `upper(string)`.
    Upper,
    /// `trim(string)`.
    Trim,
    /// `split(string, separator)`.
    Split,
    /// `join(list, separator)`.
    Join,
    /// `replace(string, from, to)`.
    Replace,
    /// `string(value)`.
    ToString,
    /// `keys(map)`.
    Keys,
    /// `values(map)`.
    Values,
    /// `sum(list)`.
    Sum,
    /// `min(list)`.
    Min,
    /// `max(list)`.
    Max,
    /// `any(list)`: some element is `true`.
    AnyTrue,
    /// `all(list)`: every element is `true`.
    AllTrue,
    /// `quantity(string|number)`: a Kubernetes quantity as a number.
    Quantity,
    /// `image(string)`: an image reference split into its parts.
    Image,
    /// `resources(kind)`: every resource of that kind in the input.
    Resources,
    /// `selects(selector, labels)`: a label selector matches the labels.
    Selects,
    /// `version_at_least("1.30")`: the Kubernetes version being judged.
    VersionAtLeast,
    /// `is_null(value)`; also written `x == null`.
    IsNull,
    /// `int(value)`: parses a string, truncates a float.
    ToInt,
    /// `has_key(map, key)`: the key is present, even with a null value.
    HasKey,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not x`.
    Not,
    /// `-x`.
    Negate,
}

/// Binary operators (`and`/`or` short-circuit).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum BinaryOp {
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `==`.
    Equal,
    /// `!=`.
    NotEqual,
    /// `<`.
    Less,
    /// `<=`.
    LessEqual,
    /// `>`.
    Greater,
    /// `>=`.
    GreaterEqual,
    /// `in`.
    In,
    /// `not in`.
    NotIn,
    /// `+`.
    Add,
    /// `-`.
    Subtract,
    /// `*`.
    Multiply,
    /// `/`.
    Divide,
    /// `%`.
    Remainder,
    /// `??`: the left side unless it is null.
    Coalesce,
}

/// `any` or `all`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Quantifier {
    /// Some element satisfies the predicate.
    Any,
    /// Every element satisfies the predicate (true for an empty collection).
    All,
}

/// An expression. Field and index access are null-safe: through an absent
/// field, a non-object or an index out of range, the result is `null`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Expr {
    /// A constant.
    Literal(crate::json::Json),
    /// A local variable.
    Slot(Slot),
    /// The resource being judged.
    Resource,
    /// The previous version of the resource (admission UPDATE); null elsewhere.
    OldResource,
    /// The pod (template) of the resource; null when the policy does not match pods.
    Pod,
    /// Every container of a pod: `containers`, `initContainers` and
    /// `ephemeralContainers`, in that order.
    PodContainers(Box<Expr>),
    /// A parameter of the policy, by index.
    Param(u32),
    /// `EXPR.name`.
    Field(Box<Expr>, Arc<str>),
    /// `EXPR[index]`.
    Index(Box<Expr>, Box<Expr>),
    /// A unary operation.
    Unary(UnaryOp, Box<Expr>),
    /// A binary operation.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A builtin call.
    Call(Builtin, Vec<Expr>),
    /// A user function call, by index into [`PolicySet::functions`].
    CallFunction(u32, Vec<Expr>),
    /// `[a, b, c]`.
    List(Vec<Expr>),
    /// `{a: x, b: y}`.
    Object(Vec<(Arc<str>, Expr)>),
    /// `any x in xs: p` / `all x in xs: p`.
    Quantified {
        /// Which quantifier.
        quantifier: Quantifier,
        /// Slot for the index or key, if named.
        key_slot: Option<Slot>,
        /// Slot for the element.
        value_slot: Slot,
        /// The collection.
        collection: Box<Expr>,
        /// The predicate.
        predicate: Box<Expr>,
    },
    /// `[map for x in xs if filter]`.
    Comprehension {
        /// Slot for the index or key, if named.
        key_slot: Option<Slot>,
        /// Slot for the element.
        value_slot: Slot,
        /// The collection.
        collection: Box<Expr>,
        /// The filter, if any.
        filter: Option<Box<Expr>>,
        /// The produced element.
        map: Box<Expr>,
    },
    /// `if c then a else b`.
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A message-style string with interpolations: `"{a}-{b}"` used as a value.
    Format(Vec<TemplatePart>),
}

impl Stmt {
    /// Calls `visit` on every statement of `statements` and of the bodies
    /// inside them, each before the statements it contains, in the order
    /// they are written.
    pub fn walk<'s>(statements: &'s [Stmt], visit: &mut dyn FnMut(&'s Stmt)) {
        for statement in statements {
            visit(statement);
            match statement {
                Stmt::For { body, .. } => Stmt::walk(body, visit),
                Stmt::If {
                    then, otherwise, ..
                } => {
                    Stmt::walk(then, visit);
                    Stmt::walk(otherwise, visit);
                }
                Stmt::Let { .. } | Stmt::Rule(_) => {}
            }
        }
    }
}

impl Expr {
    /// Calls `visit` on each expression directly inside this one (not on
    /// itself, and not deeper: recurse from `visit` to walk a whole tree).
    pub fn for_each_child(&self, visit: &mut dyn FnMut(&Expr)) {
        match self {
            Expr::Literal(_)
            | Expr::Slot(_)
            | Expr::Resource
            | Expr::OldResource
            | Expr::Pod
            | Expr::Param(_) => {}
            Expr::PodContainers(inner) | Expr::Field(inner, _) | Expr::Unary(_, inner) => {
                visit(inner)
            }
            Expr::Index(left, right) | Expr::Binary(_, left, right) => {
                visit(left);
                visit(right);
            }
            Expr::Call(_, arguments) | Expr::CallFunction(_, arguments) | Expr::List(arguments) => {
                for argument in arguments {
                    visit(argument);
                }
            }
            Expr::Object(members) => {
                for (_, member) in members {
                    visit(member);
                }
            }
            Expr::Quantified {
                collection,
                predicate,
                ..
            } => {
                visit(collection);
                visit(predicate);
            }
            Expr::Comprehension {
                collection,
                filter,
                map,
                ..
            } => {
                visit(collection);
                if let Some(filter) = filter {
                    visit(filter);
                }
                visit(map);
            }
            Expr::Conditional(condition, then, otherwise) => {
                visit(condition);
                visit(then);
                visit(otherwise);
            }
            Expr::Format(parts) => {
                for part in parts {
                    if let TemplatePart::Expr(inner) = part {
                        visit(inner);
                    }
                }
            }
        }
    }
}

/// A user function: non-recursive, one expression.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// How many parameters; they occupy slots `0..arity`.
    pub arity: u32,
    /// How many slots a call needs in all.
    pub slots: u32,
    /// The body.
    pub body: Expr,
}
