//! Fuzzing on the stable toolchain: every target runs its committed corpus
//! (`fuzz/seeds/<target>/`) and the repository's examples, then a fixed
//! number of mutated and generated inputs from a fixed seed, in a child
//! process with a bounded stack and address space. `fuzz/README.md` says how
//! to fuzz longer by hand and how to replay a crash.

#![allow(
    clippy::panic,
    reason = "test code: a panic is how the supervisor reports a crash"
)]

mod common;
mod driver;
mod generate;
mod loader_targets;
mod mutate;
mod policy_target;
mod typed;
mod webhook_targets;

#[test]
fn policy() {
    driver::fuzz(&policy_target::POLICY);
}

#[test]
fn yaml() {
    driver::fuzz(&loader_targets::YAML);
}

#[test]
fn json() {
    driver::fuzz(&loader_targets::JSON);
}

#[test]
fn admission() {
    driver::fuzz(&webhook_targets::ADMISSION);
}

#[test]
fn bundle() {
    driver::fuzz(&webhook_targets::BUNDLE);
}
