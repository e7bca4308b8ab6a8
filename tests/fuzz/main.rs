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

/// The driver's own check: a target whose harness overflows its stack on
/// one seed must fail, naming that input. In the child, this test is the
/// crashing target itself.
#[test]
fn driver_reports_crashes() {
    struct Overflowing;
    impl driver::Harness for Overflowing {
        fn run(&mut self, input: &[u8]) -> Result<u64, String> {
            fn descend(levels: u64) -> u64 {
                let frame = std::hint::black_box([levels; 64]);
                if levels == 0 {
                    0
                } else {
                    frame[1] + descend(levels - 1)
                }
            }
            Ok(if input == b"overflow" {
                descend(u64::MAX)
            } else {
                0
            })
        }
    }
    const TARGET: driver::Target = driver::Target {
        name: "driver_reports_crashes",
        seeds: || vec![b"fine".to_vec(), b"overflow".to_vec()],
        harness: || Box::new(Overflowing),
        generate: |_| Vec::new(),
        generate_one_in: 1,
        dictionary: &[],
        iterations: 0,
        stack_bytes: 1 << 20,
        address_space_bytes: None,
        max_len: 16,
    };
    let outcome = std::panic::catch_unwind(|| driver::fuzz(&TARGET));
    if std::env::var("RAMPART_FUZZ_WORKER").is_ok() {
        return;
    }
    let Err(payload) = outcome else {
        panic!("a target that overflows its stack passed");
    };
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("killed by signal"), "{message}");
    assert!(message.contains("the input (8 bytes"), "{message}");
    assert!(message.contains("has overflowed its stack"), "{message}");
}
