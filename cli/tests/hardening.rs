//! The command line never hangs and never passes a file it did not judge:
//! link loops, FIFOs and devices in a walk or on the command line, empty
//! inputs, unreadable files, files past the size limit, impossible dates,
//! absurd thread counts. Every run is bounded by a timeout, so that a hang
//! fails its test instead of stopping the suite.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longer than any of these runs takes by far: reaching it means a hang.
const HANG: Duration = Duration::from_secs(120);

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: registry.example.com/web:1.0\n";

const POLICY: &str = r#"policy example.no_privileged {
  severity high
  match pods
  for c in pod.containers {
    deny c.securityContext.privileged == true
      message "container {c.name} is privileged"
  }
}
"#;

/// What a run printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", self.stdout))
    }

    fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("rampart-hardening-{}-{name}", std::process::id()));
    if directory.exists() {
        make_readable(&directory);
        std::fs::remove_dir_all(&directory).unwrap();
    }
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn make_readable(directory: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
            make_readable(&path);
        }
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Runs the binary in `directory` with `arguments` (no configuration file
/// unless the test writes one), feeding it `stdin`, bounded by [`HANG`].
fn run_with(
    directory: &Path,
    arguments: &[&str],
    stdin: Option<&[u8]>,
    configure: impl FnOnce(&mut Command),
) -> Run {
    run_program(
        Path::new(env!("CARGO_BIN_EXE_rampart")),
        directory,
        arguments,
        stdin,
        configure,
    )
}

/// [`run_with`], with the binary at `program`.
fn run_program(
    program: &Path,
    directory: &Path,
    arguments: &[&str],
    stdin: Option<&[u8]>,
    configure: impl FnOnce(&mut Command),
) -> Run {
    let mut command = Command::new(program);
    command
        .args(arguments)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    configure(&mut command);
    let mut child = command.spawn().unwrap();
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`rampart {}` hangs", arguments.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn run(directory: &Path, arguments: &[&str]) -> Run {
    run_with(directory, arguments, None, |_| {})
}

/// `check --no-config --set pss-baseline --format json` on `paths`.
fn check_json(directory: &Path, paths: &[&str]) -> Run {
    check_as(directory, "json", paths)
}

/// `check --no-config --set pss-baseline --format FORMAT` on `paths`.
fn check_as(directory: &Path, format: &str, paths: &[&str]) -> Run {
    let mut arguments = vec![
        "check",
        "--no-config",
        "--set",
        "pss-baseline",
        "--format",
        format,
    ];
    arguments.extend(paths);
    run(directory, &arguments)
}

/// The files named by the report's warnings.
fn warned(report: &serde_json::Value) -> Vec<String> {
    report["warnings"]
        .as_array()
        .map(|warnings| {
            warnings
                .iter()
                .map(|warning| warning["file"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn link_loops_end_and_each_file_is_judged_once() {
    let root = scratch("loops");
    write(&root.join("m/a/pod.yaml"), POD);
    // Two links to a parent, one to itself, two forming a loop through a
    // sibling, a second name for the file, and a link to `/`.
    symlink("..", root.join("m/a/up")).unwrap();
    symlink("../..", root.join("m/a/top")).unwrap();
    symlink(".", root.join("m/a/self")).unwrap();
    std::fs::create_dir_all(root.join("m/b")).unwrap();
    symlink("../b", root.join("m/a/to-b")).unwrap();
    symlink("../a", root.join("m/b/to-a")).unwrap();
    symlink("pod.yaml", root.join("m/a/same.yaml")).unwrap();
    symlink("/", root.join("m/root")).unwrap();
    let run = check_json(&root, &["m", "m/a/pod.yaml"]);
    assert_eq!(run.code, Some(0), "{}", run.output());
    let report = run.json();
    assert_eq!(report["summary"]["files"], 1);
    assert_eq!(report["summary"]["resources"], 1);
    let mut warned = warned(&report);
    warned.sort();
    assert_eq!(
        warned,
        ["m/a/self", "m/a/to-b/to-a", "m/a/top", "m/a/up", "m/root"]
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn walk_notes_read_well() {
    let root = scratch("notes");
    write(&root.join("m/pod.yaml"), POD);
    symlink(".", root.join("m/self")).unwrap();
    mkfifo(&root.join("m/pipe.yaml"));
    let run = run(
        &root,
        &["check", "--no-config", "--set", "pss-baseline", "m"],
    );
    assert_eq!(run.code, Some(0), "{}", run.output());
    insta::assert_snapshot!("walk_notes_human", run.stdout);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn fifos_and_devices_in_a_walk_are_skipped_and_noted() {
    let root = scratch("special");
    write(&root.join("m/pod.yaml"), POD);
    mkfifo(&root.join("m/pipe.yaml"));
    symlink("/dev/urandom", root.join("m/random.yaml")).unwrap();
    symlink("/dev/zero", root.join("m/zero.json")).unwrap();
    let run = check_json(&root, &["m"]);
    assert_eq!(run.code, Some(0), "{}", run.output());
    let report = run.json();
    assert_eq!(report["summary"]["files"], 1);
    assert_eq!(
        warned(&report),
        ["m/pipe.yaml", "m/random.yaml", "m/zero.json"]
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_fifo_or_device_named_on_the_command_line_is_an_error() {
    let root = scratch("named-special");
    write(&root.join("pod.yaml"), POD);
    mkfifo(&root.join("pipe.yaml"));
    for path in ["pipe.yaml", "/dev/zero", "/dev/urandom"] {
        let run = check_json(&root, &[path, "pod.yaml"]);
        assert_eq!(run.code, Some(2), "{path}: {}", run.output());
        let report = run.json();
        assert_eq!(report["errors"][0]["file"], path);
        assert!(
            report["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("not a regular file")
        );
        // The rest is still checked.
        assert_eq!(report["summary"]["resources"], 1);
    }
    // So is a configuration file that is a FIFO.
    let run = run(
        &root,
        &[
            "check",
            "--config",
            "pipe.yaml",
            "--set",
            "pss-baseline",
            "pod.yaml",
        ],
    );
    assert_eq!(run.code, Some(2), "{}", run.output());
    assert!(
        run.stdout.contains("not a regular file"),
        "{}",
        run.output()
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn policy_directories_follow_the_same_walk() {
    let root = scratch("policies");
    write(&root.join("p/ok.rampart"), POLICY);
    // Broken files where the walk must not go.
    for skipped in [".hidden", "target", "node_modules"] {
        write(
            &root.join(format!("p/{skipped}/broken.rampart")),
            "policy {",
        );
    }
    symlink("..", root.join("p/up")).unwrap();
    symlink("..", root.join("p/up-again")).unwrap();
    write(&root.join("m/pod.yaml"), POD);
    let run = run(
        &root,
        &[
            "check",
            "--no-config",
            "--policy",
            "p",
            "--format",
            "json",
            "m",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.output());
    let report = run.json();
    assert_eq!(report["errors"], serde_json::json!([]));
    assert_eq!(warned(&report), ["p/up", "p/up-again"]);
    // `test` and `fmt` walk alike.
    let tested = self::run(&root, &["test", "p"]);
    assert!(!tested.output().contains("broken"), "{}", tested.output());
    assert!(!tested.output().contains("twice"), "{}", tested.output());
    let formatted = self::run(&root, &["fmt", "--check", "p"]);
    assert!(
        matches!(formatted.code, Some(0 | 1)),
        "{}",
        formatted.output()
    );
    assert!(formatted.stdout.matches("ok.rampart").count() <= 1);
    assert!(!formatted.output().contains("broken"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_policy_path_without_a_policy_is_an_error() {
    let root = scratch("empty-policies");
    std::fs::create_dir_all(root.join("empty")).unwrap();
    write(&root.join("comment.rampart"), "// nothing here yet\n");
    write(&root.join("m/pod.yaml"), POD);
    for path in ["empty", "comment.rampart"] {
        let run = run(
            &root,
            &[
                "check",
                "--no-config",
                "--policy",
                path,
                "--format",
                "json",
                "m",
            ],
        );
        assert_eq!(run.code, Some(2), "{path}: {}", run.output());
        let message = run.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.starts_with(&format!("{path}: ")), "{message}");
    }
    // Beside a real policy, the empty one is still an error.
    write(&root.join("ok.rampart"), POLICY);
    let run = run(
        &root,
        &[
            "check",
            "--no-config",
            "--policy",
            "ok.rampart",
            "--policy",
            "comment.rampart",
            "m",
        ],
    );
    assert_eq!(run.code, Some(2), "{}", run.output());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_empty_input_is_an_error_not_a_pass() {
    let root = scratch("empty-input");
    std::fs::create_dir_all(root.join("nothing")).unwrap();
    // Standard input, on the streaming path and on the one that reads whole.
    for format in ["human", "junit"] {
        for input in [&b""[..], b"\n  \n"] {
            let run = run_with(
                &root,
                &[
                    "check",
                    "--no-config",
                    "--set",
                    "pss-baseline",
                    "--format",
                    format,
                    "-",
                ],
                Some(input),
                |_| {},
            );
            assert_eq!(run.code, Some(2), "{format}: {}", run.output());
            assert!(
                run.stdout.contains("standard input is empty"),
                "{}",
                run.output()
            );
        }
    }
    // A directory without a manifest.
    let run = check_json(&root, &["nothing"]);
    assert_eq!(run.code, Some(2), "{}", run.output());
    assert_eq!(run.json()["errors"][0]["file"], "nothing");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn absurd_thread_counts_are_refused_with_a_message() {
    let root = scratch("jobs");
    write(&root.join("pod.yaml"), POD);
    for jobs in ["100000", "0"] {
        let run = run(&root, &["check", "--no-config", "-j", jobs, "pod.yaml"]);
        assert_eq!(run.code, Some(2), "-j {jobs}: {}", run.output());
        assert!(run.stderr.contains("1..=1024"), "{}", run.output());
    }
    let run = run(
        &root,
        &[
            "check",
            "--no-config",
            "--set",
            "pss-baseline",
            "-j",
            "1024",
            "pod.yaml",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.output());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_impossible_expiry_date_is_an_error_naming_file_line_and_field() {
    let root = scratch("dates");
    write(&root.join("pod.yaml"), POD);
    write(
        &root.join("rampart.yaml"),
        "sets: [pss-baseline]\nexceptions:\n  - policy: \"*\"\n    reason: vendor image\n    expires: 2027-02-30\n",
    );
    let run = run(&root, &["check", "pod.yaml"]);
    assert_eq!(run.code, Some(2), "{}", run.output());
    insta::assert_snapshot!("impossible_expiry_date", run.stdout);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_file_past_the_size_limit_is_an_error_naming_it() {
    let root = scratch("large");
    write(&root.join("m/pod.yaml"), POD);
    // Sparse: it takes no room, and is refused before a byte is read.
    let large = std::fs::File::create(root.join("m/large.yaml")).unwrap();
    large.set_len((1 << 30) + 1).unwrap();
    for format in ["json", "sarif"] {
        let run = check_as(&root, format, &["m"]);
        assert_eq!(run.code, Some(2), "{}", run.output());
        assert!(run.stdout.contains("m/large.yaml"), "{}", run.output());
        assert!(
            run.stdout.contains("the limit of 1 GiB"),
            "{}",
            run.output()
        );
    }
    let run = check_json(&root, &["m"]);
    assert_eq!(run.json()["summary"]["resources"], 1);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn files_named_twice_are_judged_once() {
    let root = scratch("twice");
    write(&root.join("m/pod.yaml"), POD);
    let run = check_json(&root, &["m/pod.yaml", "m", "./m/pod.yaml"]);
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert_eq!(run.json()["summary"]["files"], 1);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn unreadable_files_are_errors_and_the_rest_is_checked() {
    let root = scratch("unreadable");
    write(&root.join("m/pod.yaml"), POD);
    // Reading this process's memory at offset 0 fails with an I/O error,
    // even for root.
    symlink("/proc/self/mem", root.join("m/memory.yaml")).unwrap();
    // A file that is not UTF-8 far into it fails part-way.
    let mut text = format!("---\n{POD}").repeat(4000);
    text.push_str("---\nname: \u{FFFD}\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\n");
    std::fs::write(root.join("m/zz-broken.yaml"), bytes).unwrap();
    for format in ["json", "junit"] {
        let run = check_as(&root, format, &["m"]);
        assert_eq!(run.code, Some(2), "{format}: {}", run.output());
        assert!(run.stdout.contains("m/memory.yaml"), "{}", run.output());
        assert!(run.stdout.contains("m/zz-broken.yaml"), "{}", run.output());
        if format == "json" {
            assert_eq!(run.json()["summary"]["resources"], 1);
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}

/// Whether the tests run as root, for whom no permission is ever missing.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // `/proc/self` belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|metadata| metadata.uid() == 0)
}

/// Opens everything below `root` to every user: directories 0755, files 0644.
fn open_to_all(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            open_to_all(&path);
        } else {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

#[test]
fn unreadable_directories_are_errors_for_manifests_and_policies() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let root = scratch("closed");
    write(&root.join("m/pod.yaml"), POD);
    write(&root.join("m/closed/hidden.yaml"), POD);
    write(&root.join("p/ok.rampart"), POLICY);
    write(&root.join("p/closed/more.rampart"), POLICY);
    // As root, the binary runs as `nobody`, from a copy where that user can
    // reach it (the build directory may be closed to it).
    let as_root = running_as_root();
    let program = if as_root {
        let copy = root.join("rampart");
        std::fs::copy(env!("CARGO_BIN_EXE_rampart"), &copy).unwrap();
        copy
    } else {
        PathBuf::from(env!("CARGO_BIN_EXE_rampart"))
    };
    open_to_all(&root);
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    for closed in ["m/closed", "p/closed"] {
        std::fs::set_permissions(root.join(closed), std::fs::Permissions::from_mode(0o000))
            .unwrap();
    }
    let run = run_program(
        &program,
        &root,
        &[
            "check",
            "--no-config",
            "--policy",
            "p",
            "--format",
            "json",
            "m",
        ],
        None,
        |command| {
            if as_root {
                command.uid(65534).gid(65534);
            }
        },
    );
    assert_eq!(run.code, Some(2), "{}", run.output());
    let report = run.json();
    let messages: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["message"].as_str().unwrap())
        .collect();
    for closed in ["`m/closed`", "`p/closed`"] {
        assert!(
            messages.iter().any(|message| message.contains(closed)),
            "{closed}: {messages:?}"
        );
    }
    assert_eq!(report["summary"]["resources"], 1);
    make_readable(&root);
    std::fs::remove_dir_all(&root).unwrap();
}
