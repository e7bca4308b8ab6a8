//! Calls: builtin signatures and user functions.

use super::Compiler;
use super::types::Ty;
use crate::ast::{Expression, ExpressionKind, Name, Span};
use crate::schema;
use rampart_engine::ir::{Builtin, Expr};
use rampart_engine::json::Json;

/// What a builtin accepts, argument by argument.
#[derive(Clone, Copy)]
enum Accepts {
    Anything,
    Text,
    TextOrNumber,
    Collection,
    ListOrText,
    List,
    Map,
}

impl Accepts {
    fn admits(self, ty: &Ty) -> bool {
        match self {
            Accepts::Anything => true,
            Accepts::Text => ty.stringy(),
            Accepts::TextOrNumber => ty.stringy() || ty.numeric(),
            Accepts::Collection => matches!(
                ty,
                Ty::List(_) | Ty::Map(_) | Ty::Object(_) | Ty::String | Ty::Any | Ty::Null
            ),
            Accepts::ListOrText => matches!(ty, Ty::List(_) | Ty::String | Ty::Any | Ty::Null),
            Accepts::List => matches!(ty, Ty::List(_) | Ty::Any | Ty::Null),
            Accepts::Map => matches!(ty, Ty::Map(_) | Ty::Object(_) | Ty::Any | Ty::Null),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Accepts::Anything => "any value",
            Accepts::Text => "a `string`",
            Accepts::TextOrNumber => "a `string` or a number",
            Accepts::Collection => "a list, map or string",
            Accepts::ListOrText => "a list or a string",
            Accepts::List => "a list",
            Accepts::Map => "a map",
        }
    }
}

/// Every builtin: name, IR builtin, argument kinds.
const BUILTINS: &[(&str, Builtin, &[Accepts])] = &[
    ("count", Builtin::Count, &[Accepts::Collection]),
    (
        "starts_with",
        Builtin::StartsWith,
        &[Accepts::Text, Accepts::Text],
    ),
    (
        "ends_with",
        Builtin::EndsWith,
        &[Accepts::Text, Accepts::Text],
    ),
    (
        "contains",
        Builtin::Contains,
        &[Accepts::ListOrText, Accepts::Anything],
    ),
    ("matches", Builtin::Matches, &[Accepts::Text, Accepts::Text]),
    ("glob", Builtin::Glob, &[Accepts::Text, Accepts::Text]),
    ("lower", Builtin::Lower, &[Accepts::Text]),
    ("upper", Builtin::Upper, &[Accepts::Text]),
    ("trim", Builtin::Trim, &[Accepts::Text]),
    ("split", Builtin::Split, &[Accepts::Text, Accepts::Text]),
    ("join", Builtin::Join, &[Accepts::List, Accepts::Text]),
    (
        "replace",
        Builtin::Replace,
        &[Accepts::Text, Accepts::Text, Accepts::Text],
    ),
    ("string", Builtin::ToString, &[Accepts::Anything]),
    ("int", Builtin::ToInt, &[Accepts::TextOrNumber]),
    ("keys", Builtin::Keys, &[Accepts::Map]),
    ("values", Builtin::Values, &[Accepts::Map]),
    ("sum", Builtin::Sum, &[Accepts::List]),
    ("min", Builtin::Min, &[Accepts::List]),
    ("max", Builtin::Max, &[Accepts::List]),
    ("any", Builtin::AnyTrue, &[Accepts::List]),
    ("all", Builtin::AllTrue, &[Accepts::List]),
    ("quantity", Builtin::Quantity, &[Accepts::TextOrNumber]),
    ("image", Builtin::Image, &[Accepts::Text]),
    ("resources", Builtin::Resources, &[Accepts::Text]),
    (
        "selects",
        Builtin::Selects,
        &[Accepts::Anything, Accepts::Map],
    ),
    (
        "version_at_least",
        Builtin::VersionAtLeast,
        &[Accepts::Text],
    ),
    ("is_null", Builtin::IsNull, &[Accepts::Anything]),
    ("has_key", Builtin::HasKey, &[Accepts::Map, Accepts::Text]),
];

/// Whether `name` is a builtin.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.iter().any(|(builtin, _, _)| *builtin == name)
}

/// The names of every builtin, for documentation and suggestions.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(name, _, _)| *name)
}

impl Compiler<'_, '_> {
    pub(super) fn call(
        &mut self,
        function: &Name,
        arguments: &[Expression],
        span: Span,
    ) -> (Expr, Ty) {
        let mut lowered = Vec::with_capacity(arguments.len());
        let mut types = Vec::with_capacity(arguments.len());
        for argument in arguments {
            let (expr, ty) = self.expression(argument);
            lowered.push(expr);
            types.push(ty);
        }
        if let Some(&(_, builtin, accepts)) =
            BUILTINS.iter().find(|(name, _, _)| *name == function.text)
        {
            if accepts.len() != arguments.len() {
                self.reporter().error(
                    "E0205",
                    span,
                    format!(
                        "`{}` takes {} argument(s), not {}",
                        function.text,
                        accepts.len(),
                        arguments.len()
                    ),
                );
                return (Expr::Literal(Json::Null), Ty::Any);
            }
            for ((accept, ty), argument) in accepts.iter().zip(&types).zip(arguments) {
                if !accept.admits(ty) {
                    self.reporter().error(
                        "E0205",
                        argument.span,
                        format!(
                            "`{}` expects {} here, not `{ty}`",
                            function.text,
                            accept.describe()
                        ),
                    );
                }
            }
            let result = self.builtin_result(builtin, arguments, &types);
            return (Expr::Call(builtin, lowered), result);
        }
        let Some(&index) = self.functions_by_name.get(&function.text) else {
            let mut candidates: Vec<&str> = builtin_names().collect();
            let user_names: Vec<String> = self.functions_by_name.keys().cloned().collect();
            candidates.extend(user_names.iter().map(String::as_str));
            let suggestion = schema::suggest(&function.text, candidates).map(str::to_owned);
            let diagnostic = self.reporter().error(
                "E0101",
                function.span,
                format!("unknown function `{}`", function.text),
            );
            if let Some(suggestion) = suggestion {
                diagnostic.with_help(format!("did you mean `{suggestion}`?"));
            }
            return (Expr::Literal(Json::Null), Ty::Any);
        };
        let Some(result) = self.ensure_function(index, function.span) else {
            return (Expr::Literal(Json::Null), Ty::Any);
        };
        let parameters: Vec<Ty> = match self.function_declarations.get(index) {
            Some((file, declaration)) => {
                let saved = std::mem::replace(&mut self.file, *file);
                let types = declaration
                    .params
                    .iter()
                    .map(|(_, ty)| self.resolve_type(ty))
                    .collect();
                self.file = saved;
                types
            }
            None => Vec::new(),
        };
        if parameters.len() != arguments.len() {
            self.reporter().error(
                "E0205",
                span,
                format!(
                    "`{}` takes {} argument(s), not {}",
                    function.text,
                    parameters.len(),
                    arguments.len()
                ),
            );
        }
        for ((parameter, ty), argument) in parameters.iter().zip(&types).zip(arguments) {
            if !parameter.compatible(ty) {
                self.reporter().error(
                    "E0205",
                    argument.span,
                    format!("`{}` expects `{parameter}` here, not `{ty}`", function.text),
                );
            }
        }
        (Expr::CallFunction(index as u32, lowered), result)
    }

    fn builtin_result(&mut self, builtin: Builtin, arguments: &[Expression], types: &[Ty]) -> Ty {
        let first = types.first().cloned().unwrap_or(Ty::Any);
        match builtin {
            Builtin::Count | Builtin::ToInt => Ty::Int,
            Builtin::StartsWith
            | Builtin::EndsWith
            | Builtin::Contains
            | Builtin::Glob
            | Builtin::AnyTrue
            | Builtin::AllTrue
            | Builtin::Selects
            | Builtin::IsNull
            | Builtin::HasKey => Ty::Bool,
            Builtin::Matches => {
                if let Some(Expression {
                    kind: ExpressionKind::String(pattern),
                    span,
                    ..
                }) = arguments.get(1)
                    && let Err(error) = regex::Regex::new(pattern)
                {
                    self.reporter().error(
                        "E0206",
                        *span,
                        format!(
                            "invalid regular expression: {}",
                            first_line(&error.to_string())
                        ),
                    );
                }
                Ty::Bool
            }
            Builtin::VersionAtLeast => {
                if let Some(Expression {
                    kind: ExpressionKind::String(version),
                    span,
                    ..
                }) = arguments.first()
                    && rampart_engine::KubeVersion::parse(version).is_none()
                {
                    self.reporter()
                        .error(
                            "E0206",
                            *span,
                            format!("`{version}` is not a Kubernetes version"),
                        )
                        .with_help("write it as `1.30`");
                }
                Ty::Bool
            }
            Builtin::Lower
            | Builtin::Upper
            | Builtin::Trim
            | Builtin::Join
            | Builtin::Replace
            | Builtin::ToString => Ty::String,
            Builtin::Split => Ty::List(Box::new(Ty::String)),
            Builtin::Keys => Ty::List(Box::new(Ty::String)),
            Builtin::Values => match first {
                Ty::Map(values) => Ty::List(values),
                _ => Ty::List(Box::new(Ty::Any)),
            },
            Builtin::Sum | Builtin::Min | Builtin::Max => match first {
                Ty::List(items) if *items == Ty::Int => Ty::Int,
                Ty::List(items) if *items == Ty::Float => Ty::Float,
                _ => Ty::Any,
            },
            Builtin::Quantity => Ty::Float,
            Builtin::Image => Ty::Image,
            Builtin::Resources => {
                self.scope.uses_inventory = true;
                match arguments.first().map(|argument| &argument.kind) {
                    Some(ExpressionKind::String(kind)) => Ty::List(Box::new(
                        schema::kind(None, kind).map_or(Ty::Any, Ty::Object),
                    )),
                    _ => Ty::List(Box::new(Ty::Any)),
                }
            }
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().last().unwrap_or(text).trim()
}
