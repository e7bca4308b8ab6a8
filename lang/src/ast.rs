//! The syntax tree. Every node carries the byte span of its source, so that
//! the checker can point at it.

use rampart_engine::ir::{Action, BinaryOp, Quantifier, UnaryOp};

/// A byte range in a source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A name with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    /// The text.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// One parsed `.rampart` file.
#[derive(Clone, Debug, Default)]
pub struct SourceFile {
    /// Policies.
    pub policies: Vec<PolicyDecl>,
    /// Functions.
    pub functions: Vec<FunctionDecl>,
    /// Tests.
    pub tests: Vec<TestDecl>,
}

/// `policy id { ... }`.
#[derive(Clone, Debug)]
pub struct PolicyDecl {
    /// Its id.
    pub id: Name,
    /// The doc comment, without the `///` markers.
    pub documentation: String,
    /// `title "..."`.
    pub title: Option<String>,
    /// `severity high`.
    pub severity: Option<Name>,
    /// `controls [...]`.
    pub controls: Vec<String>,
    /// `remediation "..."`.
    pub remediation: Option<String>,
    /// `since v1.34`.
    pub since: Option<Name>,
    /// `until v1.33`.
    pub until: Option<Name>,
    /// `overrides [pss.baseline.seccompProfile_baseline]`: policies this one
    /// replaces whenever both are loaded and this one applies.
    pub overrides: Vec<Name>,
    /// `param ...`.
    pub params: Vec<ParamDecl>,
    /// `match ...`.
    pub matcher: Option<MatchDecl>,
    /// The statements.
    pub body: Vec<Statement>,
    /// The whole declaration.
    pub span: Span,
}

/// `param name: type = default`.
#[derive(Clone, Debug)]
pub struct ParamDecl {
    /// Its name.
    pub name: Name,
    /// Its type.
    pub ty: TypeExpr,
    /// Its default.
    pub default: Expression,
    /// Its documentation.
    pub documentation: String,
}

/// A written type.
#[derive(Clone, Debug)]
pub enum TypeExpr {
    /// `bool`, `int`, `string`, `Container`, …
    Named(Name),
    /// `[T]`.
    List(Box<TypeExpr>, Span),
    /// `{string: T}`.
    Map(Box<TypeExpr>, Span),
}

/// `match ...`.
#[derive(Clone, Debug)]
pub struct MatchDecl {
    /// What kinds.
    pub target: MatchTarget,
    /// Namespace and label filters.
    pub filters: Vec<MatchFilter>,
    /// The clause.
    pub span: Span,
}

/// The kinds a policy matches.
#[derive(Clone, Debug)]
pub enum MatchTarget {
    /// `pods`.
    Pods,
    /// `all`.
    All,
    /// `kinds A, B`.
    Kinds(Vec<Name>),
}

/// A namespace or label filter.
#[derive(Clone, Debug)]
pub struct MatchFilter {
    /// Written with `exclude`.
    pub exclude: bool,
    /// What it filters on.
    pub kind: MatchFilterKind,
}

/// What a [`MatchFilter`] filters on.
#[derive(Clone, Debug)]
pub enum MatchFilterKind {
    /// `namespaces [..]`.
    Namespaces(Vec<String>),
    /// `labels {..}`.
    Labels(Vec<(String, String)>),
}

/// A statement.
#[derive(Clone, Debug)]
pub struct Statement {
    /// What it is.
    pub kind: StatementKind,
    /// Where it is.
    pub span: Span,
    /// Levels of statements it holds, itself included (`let` and rules are
    /// 1). The parser builds nothing deeper than
    /// [`crate::limits::MAX_STATEMENT_DEPTH`].
    pub depth: u32,
}

impl Statement {
    /// A statement of `kind` at `span`; its depth is one more than its
    /// deepest body statement's.
    pub fn new(kind: StatementKind, span: Span) -> Statement {
        let deepest = match &kind {
            StatementKind::For { body, .. } => body.iter().map(|inner| inner.depth).max(),
            StatementKind::If {
                then, otherwise, ..
            } => then.iter().chain(otherwise).map(|inner| inner.depth).max(),
            StatementKind::Let { .. } | StatementKind::Rule(_) => None,
        };
        Statement {
            kind,
            span,
            depth: deepest.unwrap_or(0).saturating_add(1),
        }
    }
}

/// What a [`Statement`] is.
#[derive(Clone, Debug)]
pub enum StatementKind {
    /// `let name = value`.
    Let {
        /// The name.
        name: Name,
        /// The value.
        value: Expression,
    },
    /// `for x in xs { ... }`.
    For {
        /// The loop's names.
        binding: Binding,
        /// The collection.
        collection: Expression,
        /// The body.
        body: Vec<Statement>,
    },
    /// `if c { ... } else { ... }`.
    If {
        /// The condition.
        condition: Expression,
        /// When true.
        then: Vec<Statement>,
        /// Otherwise.
        otherwise: Vec<Statement>,
    },
    /// `deny ...` / `warn ...`.
    Rule(RuleDecl),
}

/// `x` or `(key, x)`.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The index or key name.
    pub key: Option<Name>,
    /// The element name.
    pub value: Name,
}

/// A rule.
#[derive(Clone, Debug)]
pub struct RuleDecl {
    /// `deny` or `warn`.
    pub action: Action,
    /// The condition.
    pub condition: Expression,
    /// `at path`.
    pub at: Option<PathDecl>,
    /// `message "..."`.
    pub message: Option<Template>,
    /// `fix ...`.
    pub fixes: Vec<FixDecl>,
    /// The whole rule.
    pub span: Span,
}

/// A path: a name and steps, as written after `at` and in fixes.
#[derive(Clone, Debug)]
pub struct PathDecl {
    /// The first name.
    pub root: Name,
    /// The steps.
    pub steps: Vec<PathStepDecl>,
    /// The whole path.
    pub span: Span,
}

/// One step of a [`PathDecl`].
#[derive(Clone, Debug)]
pub enum PathStepDecl {
    /// `.name`.
    Field(Name),
    /// `[expr]`.
    Index(Expression),
}

/// One fix.
#[derive(Clone, Debug)]
pub enum FixDecl {
    /// `path = value`.
    Set(PathDecl, Expression),
    /// `path += value`.
    Append(PathDecl, Expression),
    /// `remove path`.
    Remove(PathDecl),
}

/// A message template: text with `{expr}` parts.
#[derive(Clone, Debug)]
pub struct Template {
    /// The parts.
    pub parts: Vec<TemplatePiece>,
    /// The string literal.
    pub span: Span,
}

/// A piece of a [`Template`].
#[derive(Clone, Debug)]
pub enum TemplatePiece {
    /// Text.
    Text(String),
    /// An interpolation.
    Expr(Expression),
}

/// `fn name(params) -> type { body }`.
#[derive(Clone, Debug)]
pub struct FunctionDecl {
    /// Its name.
    pub name: Name,
    /// Its parameters.
    pub params: Vec<(Name, TypeExpr)>,
    /// Its declared result type.
    pub result: Option<TypeExpr>,
    /// Its body.
    pub body: Expression,
    /// Its documentation.
    pub documentation: String,
    /// The whole declaration.
    pub span: Span,
}

/// `test "name" for policy { ... }`.
#[derive(Clone, Debug)]
pub struct TestDecl {
    /// Its name.
    pub name: String,
    /// The policies it runs (all of the file's when empty).
    pub policies: Vec<Name>,
    /// The resources.
    pub given: Vec<Given>,
    /// Parameter values.
    pub params: Vec<(Name, Expression)>,
    /// The Kubernetes version, if set.
    pub version: Option<Name>,
    /// The expectations.
    pub expectations: Vec<Expectation>,
    /// The whole declaration.
    pub span: Span,
}

/// A resource given to a test.
#[derive(Clone, Debug)]
pub enum Given {
    /// `given file "path"`.
    File(String, Span),
    /// `given yaml """..."""`.
    Yaml(String, Span),
    /// `given Kind { ... }` or `given { ... }`.
    Object(Option<Name>, Expression),
}

/// What a test expects.
#[derive(Clone, Debug)]
pub enum Expectation {
    /// `expect allow`: no deny and no warn finding.
    Allow(Span),
    /// `expect deny|warn [at path] [message "part"]`.
    Finding {
        /// Which action.
        action: Action,
        /// Where.
        at: Option<PathDecl>,
        /// A part of the message.
        message: Option<String>,
        /// The expectation.
        span: Span,
    },
}

/// An expression.
#[derive(Clone, Debug)]
pub struct Expression {
    /// What it is.
    pub kind: ExpressionKind,
    /// Where it is.
    pub span: Span,
    /// Levels of expressions it holds, itself included (a literal is 1).
    /// The parser builds nothing deeper than
    /// [`crate::limits::MAX_EXPRESSION_DEPTH`].
    pub depth: u32,
}

impl Expression {
    /// An expression of `kind` at `span`; its depth is one more than its
    /// deepest operand's (worked out from the operands' own, not by walking).
    pub fn new(kind: ExpressionKind, span: Span) -> Expression {
        let mut deepest = 0;
        kind.for_each_operand(|operand| deepest = deepest.max(operand.depth));
        Expression {
            kind,
            span,
            depth: deepest.saturating_add(1),
        }
    }
}

impl ExpressionKind {
    /// Calls `visit` on each direct operand, in the order written.
    pub fn for_each_operand<'e>(&'e self, mut visit: impl FnMut(&'e Expression)) {
        match self {
            ExpressionKind::Null
            | ExpressionKind::Bool(_)
            | ExpressionKind::Int(_)
            | ExpressionKind::Float(_)
            | ExpressionKind::String(_)
            | ExpressionKind::Name(_) => {}
            ExpressionKind::Field(base, _) | ExpressionKind::Unary(_, base) => visit(base),
            ExpressionKind::Index(first, second) | ExpressionKind::Binary(_, first, second) => {
                visit(first);
                visit(second);
            }
            ExpressionKind::Call(_, items) | ExpressionKind::List(items) => {
                items.iter().for_each(visit);
            }
            ExpressionKind::Object(members) => members.iter().for_each(|(_, value)| visit(value)),
            ExpressionKind::Quantified {
                collection,
                predicate,
                ..
            } => {
                visit(collection);
                visit(predicate);
            }
            ExpressionKind::Comprehension {
                map,
                collection,
                filter,
                ..
            } => {
                visit(map);
                visit(collection);
                if let Some(filter) = filter {
                    visit(filter);
                }
            }
            ExpressionKind::Conditional(condition, then, otherwise) => {
                visit(condition);
                visit(then);
                visit(otherwise);
            }
        }
    }
}

/// What an [`Expression`] is.
#[derive(Clone, Debug)]
pub enum ExpressionKind {
    /// `null`.
    Null,
    /// `true`, `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    String(String),
    /// A name.
    Name(String),
    /// `base.name`.
    Field(Box<Expression>, Name),
    /// `base[index]`.
    Index(Box<Expression>, Box<Expression>),
    /// `not x`, `-x`.
    Unary(UnaryOp, Box<Expression>),
    /// `a op b`.
    Binary(BinaryOp, Box<Expression>, Box<Expression>),
    /// `name(args)`.
    Call(Name, Vec<Expression>),
    /// `[a, b]`.
    List(Vec<Expression>),
    /// `{k: v}`.
    Object(Vec<(Name, Expression)>),
    /// `any(x in xs: p)`.
    Quantified {
        /// Which.
        quantifier: Quantifier,
        /// Names.
        binding: Binding,
        /// Collection.
        collection: Box<Expression>,
        /// Predicate.
        predicate: Box<Expression>,
    },
    /// `[map for x in xs if filter]`.
    Comprehension {
        /// The produced element.
        map: Box<Expression>,
        /// Names.
        binding: Binding,
        /// Collection.
        collection: Box<Expression>,
        /// Filter.
        filter: Option<Box<Expression>>,
    },
    /// `if c then a else b`.
    Conditional(Box<Expression>, Box<Expression>, Box<Expression>),
}
