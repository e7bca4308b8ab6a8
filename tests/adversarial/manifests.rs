//! Hostile manifests and paths: an alias bomb by bytes, YAML 1.1 booleans,
//! links that loop, devices and FIFOs where files are expected.

use crate::POD;
use crate::run::{rampart, scratch};
use std::os::unix::fs::symlink;

#[test]
fn an_alias_bomb_by_bytes_is_refused_in_bounded_memory() {
    // 20,000 aliases of one 10 KB string: a 60 KB file that would build 200 MB.
    let mut text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  big: &big \"{}\"\n  copies:\n",
        "x".repeat(10 * 1024)
    );
    for _ in 0..20_000 {
        text.push_str("  - *big\n");
    }
    let directory = scratch("alias-bomb");
    std::fs::write(directory.join("bomb.yaml"), text).unwrap();
    rampart(["check", "--no-config", "bomb.yaml"])
        .in_directory(&directory)
        .address_space(Some(512 << 20))
        .run()
        .expect_code(2)
        .expect_mention("alias")
        .expect_mention("bomb.yaml");
}

#[test]
fn yaml_1_1_booleans_are_denied_by_pss_baseline() {
    // Kubernetes reads manifests as YAML 1.1, where yes, on and ON are true.
    let pod = "apiVersion: v1
kind: Pod
metadata:
  name: truthy
spec:
  hostNetwork: yes
  hostPID: on
  containers:
  - name: app
    image: nginx:1.25
    securityContext:
      privileged: ON
";
    let directory = scratch("yaml-1-1-booleans");
    std::fs::write(directory.join("pod.yaml"), pod).unwrap();
    let outcome = rampart([
        "check",
        "--no-config",
        "--set",
        "pss-baseline",
        "--format",
        "json",
        "pod.yaml",
    ])
    .in_directory(&directory)
    .run();
    outcome.expect_code(1);
    let report = outcome.report();
    let paths: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["action"] == "deny")
        .filter_map(|finding| finding["path"].as_str())
        .collect();
    for field in [
        "/spec/hostNetwork",
        "/spec/hostPID",
        "/spec/containers/0/securityContext/privileged",
    ] {
        assert!(
            paths.contains(&field),
            "no deny finding at {field}; found {paths:?}:\n{}",
            outcome.stdout
        );
    }
}

/// A directory holding a good pod and every kind of path that cannot be read.
fn hostile_paths(test: &str) -> std::path::PathBuf {
    let directory = scratch(test);
    std::fs::write(directory.join("ok.yaml"), POD).unwrap();
    symlink("loop-b.yaml", directory.join("loop-a.yaml")).unwrap();
    symlink("loop-a.yaml", directory.join("loop-b.yaml")).unwrap();
    symlink("self.yaml", directory.join("self.yaml")).unwrap();
    symlink("/dev/urandom", directory.join("random.yaml")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(directory.join("x.yaml"))
        .status()
        .unwrap();
    assert!(fifo.success(), "mkfifo failed");
    directory
}

#[test]
fn unreadable_paths_named_on_the_command_line_are_errors() {
    let directory = hostile_paths("hostile-paths-named");
    for path in [
        "loop-a.yaml",
        "self.yaml",
        "random.yaml",
        "x.yaml",
        "/dev/zero",
    ] {
        rampart(["check", "--no-config", path])
            .in_directory(&directory)
            .address_space(Some(512 << 20))
            .run()
            .expect_code(2)
            .expect_mention(path);
        // Next to a good file, the good file is still judged, and the run is incomplete.
        let outcome = rampart(["check", "--no-config", "--format", "json", "ok.yaml", path])
            .in_directory(&directory)
            .address_space(Some(512 << 20))
            .run();
        outcome.expect_code(2).expect_mention(path);
        assert_eq!(
            outcome.report()["summary"]["resources"],
            1,
            "{}",
            outcome.stdout
        );
    }
}

#[test]
fn unreadable_paths_in_a_directory_end_the_walk_promptly() {
    let directory = hostile_paths("hostile-paths-walked");
    // The baseline set passes the good pod, so the exit code is the walk's alone.
    let outcome = rampart([
        "check",
        "--no-config",
        "--set",
        "pss-baseline",
        "--format",
        "json",
        ".",
    ])
    .in_directory(&directory)
    .address_space(Some(512 << 20))
    .run();
    let code = outcome.code();
    assert!(code == 0 || code == 2, "exit {code}:\n{}", outcome.output());
    assert_eq!(
        outcome.report()["summary"]["resources"],
        1,
        "{}",
        outcome.output()
    );
    // Each path left out is noted or reported, so that the run explains what it did not read.
    for name in ["loop-a.yaml", "self.yaml", "random.yaml", "x.yaml"] {
        outcome.expect_mention(name);
    }
}
