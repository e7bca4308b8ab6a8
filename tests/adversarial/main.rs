//! Adversarial inputs against the real `rampart` binary, each run with a
//! wall-clock timeout that kills it and an address-space limit. Every test
//! checks that the run ends by itself, without a signal or a panic, that it
//! does not exit 0 for input it did not judge, and that it says why.
//!
//! The big inputs are generated here, into `target/tmp/adversarial/<test>/`.
//! The webhook's own hardening against clients that go away at every stage
//! is tested in `cli/tests/serve_hardening.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failure is a test failure"
)]

mod manifests;
mod policies;
mod run;
mod usage;

/// A pod that the baseline Pod Security Standard allows.
pub const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    team: shop
spec:
  containers:
  - name: app
    image: nginx:1.25
";

/// A policy file: one policy `id` on pods with `prelude` before its rule `deny CONDITION`.
pub fn policy(id: &str, prelude: &str, condition: &str) -> String {
    format!(
        "policy {id} {{\n  severity high\n  match pods\n{prelude}  deny {condition}\n    message \"found {{pod.metadata.name}}\"\n}}\n"
    )
}
