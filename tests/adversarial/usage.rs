//! Hostile usage: empty policy paths, empty standard input, absurd thread
//! counts, impossible dates.

use crate::POD;
use crate::run::{rampart, scratch};

#[test]
fn an_empty_policy_file_or_directory_is_an_error() {
    let directory = scratch("empty-policies");
    std::fs::write(directory.join("pod.yaml"), POD).unwrap();
    std::fs::write(directory.join("empty.rampart"), "").unwrap();
    std::fs::create_dir(directory.join("empty")).unwrap();
    for path in ["empty.rampart", "empty"] {
        rampart(["check", "--no-config", "--policy", path, "pod.yaml"])
            .in_directory(&directory)
            .run()
            .expect_code(2)
            .expect_mention(path);
    }
}

#[test]
fn empty_standard_input_is_reported() {
    let directory = scratch("empty-stdin");
    for input in [&b""[..], b"\n  \n"] {
        rampart(["check", "--no-config", "-"])
            .in_directory(&directory)
            .stdin(input)
            .run()
            .expect_code(2)
            .expect_mention("standard input");
    }
}

#[test]
fn a_hundred_thousand_jobs_do_not_abort() {
    let directory = scratch("many-jobs");
    std::fs::write(directory.join("pod.yaml"), POD).unwrap();
    for jobs in ["100000", "18446744073709551615", "0"] {
        let outcome = rampart(["check", "--no-config", "-j", jobs, "pod.yaml"])
            .in_directory(&directory)
            .address_space(Some(512 << 20))
            .run();
        let code = outcome.code();
        // Refused as bad usage, or run with fewer threads: either way, said or judged.
        match code {
            0 => outcome.expect_mention("1 resource"),
            2 => outcome.expect_mention("jobs"),
            _ => panic!("-j {jobs} exited {code}:\n{}", outcome.output()),
        };
    }
}

#[test]
fn an_impossible_expiry_date_is_an_error() {
    let directory = scratch("impossible-date");
    std::fs::write(directory.join("pod.yaml"), POD).unwrap();
    std::fs::write(
        directory.join("rampart.yaml"),
        "sets: [pss-baseline]\nexceptions:\n  - policy: pss.baseline.privileged\n    reason: vendor image\n    expires: 2027-02-30\n",
    )
    .unwrap();
    rampart(["check", "pod.yaml"])
        .in_directory(&directory)
        .run()
        .expect_code(2)
        .expect_mention("2027-02-30")
        .expect_mention("rampart.yaml");
}

#[test]
fn input_that_cannot_be_judged_is_never_a_pass() {
    let directory = scratch("unjudgeable");
    std::fs::write(directory.join("pod.yaml"), POD).unwrap();
    std::fs::create_dir(directory.join("empty")).unwrap();
    std::fs::write(directory.join("not-kubernetes.yaml"), "just: text\n").unwrap();
    std::fs::write(directory.join("binary.yaml"), b"\xff\xfe\x00kind: Pod\n").unwrap();
    std::os::unix::fs::symlink("loop.rampart", directory.join("loop.rampart")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(directory.join("pipe.rampart"))
        .status()
        .unwrap();
    assert!(fifo.success(), "mkfifo failed");
    for path in ["empty", "not-kubernetes.yaml", "binary.yaml"] {
        rampart(["check", "--no-config", "--set", "pss-baseline", path])
            .in_directory(&directory)
            .run()
            .expect_code(2)
            .expect_mention(path);
    }
    for policy in ["loop.rampart", "pipe.rampart"] {
        rampart(["check", "--no-config", "--policy", policy, "pod.yaml"])
            .in_directory(&directory)
            .run()
            .expect_code(2)
            .expect_mention(policy);
        rampart(["test", policy])
            .in_directory(&directory)
            .run()
            .expect_code(2)
            .expect_mention(policy);
    }
}
