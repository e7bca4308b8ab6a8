//! Name resolution, type checking and lowering to the engine's IR, in one
//! pass over the syntax tree. Every error of every file is reported; a policy
//! with errors is left out of the set, the others still compile.

mod builtins;
mod expression;
mod policy;
mod scope;
mod testing;
pub mod types;

pub use testing::{CompiledTest, ExpectationSpec, TestResource};

use crate::ast::{FunctionDecl, SourceFile, Span, TypeExpr};
use crate::diagnostic::{Diagnostic, Reporter};
use crate::parse;
use rampart_engine::ir::{Function, IR_VERSION, PolicySet};
use scope::Scope;
use std::collections::HashMap;
use types::Ty;

/// A policy source file.
#[derive(Clone, Debug)]
pub struct Source {
    /// Its name, as shown in diagnostics (usually a path).
    pub name: String,
    /// Its text.
    pub text: String,
}

/// What compiling a set of sources produced.
#[derive(Debug, Default)]
pub struct Compilation {
    /// The policies that compiled.
    pub set: PolicySet,
    /// The tests, ready to run.
    pub tests: Vec<CompiledTest>,
    /// Every error and warning, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    /// Whether any error was reported.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|diagnostic| diagnostic.level == crate::diagnostic::Level::Error)
    }
}

/// Compiles sources together: functions are shared across them, policy ids
/// must be unique across them.
pub fn compile(sources: &[Source]) -> Compilation {
    let mut reporters: Vec<Reporter<'_>> = sources
        .iter()
        .map(|source| Reporter::new(&source.name, &source.text))
        .collect();
    // A file with a syntax error contributes nothing: half a policy must not run.
    let files: Vec<SourceFile> = sources
        .iter()
        .zip(reporters.iter_mut())
        .map(|(source, reporter)| {
            let file = parse::parse(&source.text, reporter);
            if reporter.has_errors() {
                SourceFile::default()
            } else {
                file
            }
        })
        .collect();
    let mut compiler = Compiler::new(&files, reporters);
    compiler.declare_functions();
    let mut compilation = Compilation::default();
    let mut seen_ids: HashMap<String, ()> = HashMap::new();
    for (file_index, file) in files.iter().enumerate() {
        compiler.file = file_index;
        for declaration in &file.policies {
            if seen_ids.insert(declaration.id.text.clone(), ()).is_some() {
                compiler.reporter().error(
                    "E0004",
                    declaration.id.span,
                    format!("policy `{}` is defined twice", declaration.id.text),
                );
                continue;
            }
            let origin = {
                let reporter = compiler.reporter();
                let start = reporter.locate(declaration.id.span.start);
                format!(
                    "{}:{}",
                    sources
                        .get(file_index)
                        .map_or("", |source| source.name.as_str()),
                    start.line
                )
            };
            if let Some(policy) = compiler.policy(declaration, origin) {
                compilation.set.policies.push(policy);
            }
        }
    }
    compiler.compile_remaining_functions();
    for (file_index, file) in files.iter().enumerate() {
        compiler.file = file_index;
        let source_name = sources
            .get(file_index)
            .map_or("", |source| source.name.as_str());
        for test in &file.tests {
            let defined_here: Vec<String> = file
                .policies
                .iter()
                .map(|policy| policy.id.text.clone())
                .collect();
            if let Some(compiled) =
                compiler.test(test, source_name, &defined_here, &compilation.set)
            {
                compilation.tests.push(compiled);
            }
        }
    }
    compilation.set.version = IR_VERSION;
    compilation.set.functions = compiler.finished_functions();
    compilation.diagnostics = compiler
        .reporters
        .into_iter()
        .flat_map(|reporter| reporter.diagnostics)
        .collect();
    compilation
}

/// Where a user function is in its compilation.
#[derive(Clone, Debug)]
enum FunctionState {
    Pending,
    InProgress,
    Done(Ty),
    Failed,
}

pub(crate) struct Compiler<'f, 's> {
    files: &'f [SourceFile],
    reporters: Vec<Reporter<'s>>,
    file: usize,
    functions_by_name: HashMap<String, usize>,
    function_declarations: Vec<(usize, &'f FunctionDecl)>,
    function_states: Vec<FunctionState>,
    function_bodies: Vec<Option<Function>>,
    /// The policy or function being compiled: scopes, slots, flags.
    scope: Scope,
}

impl<'f, 's> Compiler<'f, 's> {
    fn new(files: &'f [SourceFile], reporters: Vec<Reporter<'s>>) -> Compiler<'f, 's> {
        Compiler {
            files,
            reporters,
            file: 0,
            functions_by_name: HashMap::new(),
            function_declarations: Vec::new(),
            function_states: Vec::new(),
            function_bodies: Vec::new(),
            scope: Scope::default(),
        }
    }

    pub(crate) fn reporter(&mut self) -> &mut Reporter<'s> {
        let last = self.reporters.len().saturating_sub(1);
        let index = self.file.min(last);
        &mut self.reporters[index]
    }

    fn declare_functions(&mut self) {
        for (file_index, file) in self.files.iter().enumerate() {
            for declaration in &file.functions {
                if self.functions_by_name.contains_key(&declaration.name.text)
                    || builtins::is_builtin(&declaration.name.text)
                {
                    self.file = file_index;
                    self.reporter().error(
                        "E0004",
                        declaration.name.span,
                        format!("function `{}` is already defined", declaration.name.text),
                    );
                    continue;
                }
                self.functions_by_name.insert(
                    declaration.name.text.clone(),
                    self.function_declarations.len(),
                );
                self.function_declarations.push((file_index, declaration));
                self.function_states.push(FunctionState::Pending);
                self.function_bodies.push(None);
            }
        }
    }

    /// Compiles a function on first use; its result type is known after.
    /// A function reached again while in progress is recursion.
    fn ensure_function(&mut self, index: usize, call_span: Span) -> Option<Ty> {
        match self.function_states.get(index)? {
            FunctionState::Done(ty) => return Some(ty.clone()),
            FunctionState::Failed => return Some(Ty::Any),
            FunctionState::InProgress => {
                let name = self
                    .function_declarations
                    .get(index)
                    .map(|(_, declaration)| declaration.name.text.clone());
                self.reporter()
                    .error("E0401", call_span, format!("function `{}` calls itself", name.unwrap_or_default()))
                    .with_help("functions cannot recurse, directly or through other functions: every policy must terminate");
                return None;
            }
            FunctionState::Pending => {}
        }
        let (file_index, declaration) = *self.function_declarations.get(index)?;
        self.function_states[index] = FunctionState::InProgress;
        let saved_file = std::mem::replace(&mut self.file, file_index);
        let saved_scope = std::mem::take(&mut self.scope);
        let errors_before = self.reporter().error_count();
        for (name, ty) in &declaration.params {
            let ty = self.resolve_type(ty);
            self.scope.bind(&name.text, ty, false);
        }
        let (body, mut result) = self.expression(&declaration.body);
        if let Some(declared) = &declaration.result {
            let declared = self.resolve_type(declared);
            if !declared.compatible(&result) {
                self.reporter().error(
                    "E0203",
                    declaration.body.span,
                    format!(
                        "function `{}` returns `{result}`, but declares `{declared}`",
                        declaration.name.text
                    ),
                );
            }
            result = declared;
        }
        let failed = self.reporter().error_count() > errors_before;
        let slots = self.scope.slots();
        self.scope = saved_scope;
        self.file = saved_file;
        self.function_bodies[index] = Some(Function {
            name: declaration.name.text.clone(),
            arity: declaration.params.len() as u32,
            slots,
            body,
        });
        self.function_states[index] = if failed {
            FunctionState::Failed
        } else {
            FunctionState::Done(result.clone())
        };
        Some(result)
    }

    fn compile_remaining_functions(&mut self) {
        for index in 0..self.function_declarations.len() {
            let span = self.function_declarations[index].1.name.span;
            self.ensure_function(index, span);
        }
    }

    fn finished_functions(&mut self) -> Vec<Function> {
        std::mem::take(&mut self.function_bodies)
            .into_iter()
            .map(|function| {
                function.unwrap_or_else(|| Function {
                    name: String::new(),
                    arity: 0,
                    slots: 0,
                    body: rampart_engine::ir::Expr::Literal(rampart_engine::json::Json::Null),
                })
            })
            .collect()
    }

    /// Resolves a written type.
    pub(crate) fn resolve_type(&mut self, ty: &TypeExpr) -> Ty {
        match ty {
            TypeExpr::List(items, _) => Ty::List(Box::new(self.resolve_type(items))),
            TypeExpr::Map(values, _) => Ty::Map(Box::new(self.resolve_type(values))),
            TypeExpr::Named(name) => match name.text.as_str() {
                "any" => Ty::Any,
                "bool" => Ty::Bool,
                "int" => Ty::Int,
                "float" => Ty::Float,
                "string" => Ty::String,
                "image" => Ty::Image,
                "pod" => Ty::Pod,
                other => match crate::schema::object_type(other) {
                    Some(object) => Ty::Object(object),
                    None => {
                        let suggestion = crate::schema::suggest(
                            other,
                            [
                                "any",
                                "bool",
                                "int",
                                "float",
                                "string",
                                "Container",
                                "PodSpec",
                            ],
                        );
                        let diagnostic = self.reporter().error(
                            "E0102",
                            name.span,
                            format!("unknown type `{other}`"),
                        );
                        match suggestion {
                            Some(suggestion) => diagnostic.with_help(format!("did you mean `{suggestion}`?")),
                            None => diagnostic.with_help(
                                "types are `bool`, `int`, `float`, `string`, `any`, `[T]`, `{string: T}` or a Kubernetes type such as `Container`",
                            ),
                        };
                        Ty::Any
                    }
                },
            },
        }
    }
}
