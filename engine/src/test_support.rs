//! What the engine's unit tests build IR with.

use crate::ir::{Matcher, Policy, Scope, Severity, Stmt};

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
        origin: String::new(),
    }
}
