//! Rampart's engine: the IR that compiled policies are made of, the evaluator
//! that runs them over Kubernetes manifests, and the manifest loader that keeps
//! a line and column for every node.
//!
//! The engine knows nothing of policy source text: the compiler (`rampart-lang`)
//! produces the IR, and this crate only runs it. It builds for
//! `wasm32-unknown-unknown` with no parser and no schemas inside.

pub mod eval;
pub mod finding;
pub mod helpers;
mod inventory_kinds;
pub mod ir;
pub mod json;
pub mod limits;
pub mod load;
mod merge;
#[cfg(test)]
mod test_support;
pub mod value;
pub mod workload;

pub use eval::{EvalOptions, Evaluator, Inventory, Plans, Subject};
pub use finding::{EvalError, Evaluation, Explanation, Finding, PatchKind, PatchOperation};
pub use ir::{Action, KubeVersion, Policy, PolicySet, Severity};
