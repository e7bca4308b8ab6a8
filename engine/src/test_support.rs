//! What the engine's unit tests build IR with.

use crate::ir::{Expr, IR_VERSION, Matcher, Policy, PolicySet, Scope, Severity, Stmt};
use std::sync::Arc;

/// A policy `test.policy` with this body, number of slots and scope.
pub(crate) fn policy(body: Vec<Stmt>, slots: u32, scope: Scope) -> Policy {
    Policy {
        id: "test.policy".into(),
        title: String::new(),
        description: String::new(),
        remediation: String::new(),
        severity: Severity::High,
        controls: vec![],
        action_override: None,
        since: None,
        until: None,
        matcher: Matcher {
            scope,
            ..Matcher::default()
        },
        params: vec![],
        body,
        slots,
        rules: 1,
        uses_inventory: false,
        overrides: Vec::new(),
        origin: String::new(),
    }
}

/// A set of one policy.
pub(crate) fn set_of(policy: Policy) -> PolicySet {
    PolicySet {
        version: IR_VERSION,
        policies: vec![policy],
        functions: vec![],
    }
}

/// `expr.a.b...`: a chain of fields.
pub(crate) fn path(expr: Expr, fields: &[&str]) -> Expr {
    fields.iter().fold(expr, |base, field| {
        Expr::Field(Box::new(base), Arc::from(*field))
    })
}
