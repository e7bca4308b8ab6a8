//! Runs the real `rampart` binary with a wall-clock timeout that kills it
//! and an address-space limit (`prlimit --as`), and reads how it ended.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Only a hang takes this long: every run here ends in a few seconds in a
/// debug build when it behaves.
const HANG: Duration = Duration::from_secs(120);

/// The address space a run may use unless a test says otherwise: the debug
/// binary judging a small input needs far less.
const DEFAULT_ADDRESS_SPACE: u64 = 1 << 30;

/// The `rampart` binary (see [`rampart_tests::rampart_binary`]).
pub fn binary() -> &'static Path {
    rampart_tests::rampart_binary()
}

/// A fresh, empty directory for one test's files.
pub fn scratch(name: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("adversarial")
        .join(name);
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// One run of `rampart`, to configure and start.
pub struct Run {
    arguments: Vec<String>,
    directory: Option<PathBuf>,
    stdin: Vec<u8>,
    address_space: Option<u64>,
}

/// Starts describing a run of `rampart` with these arguments.
pub fn rampart<I, S>(arguments: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Run {
        arguments: arguments
            .into_iter()
            .map(|argument| argument.as_ref().to_string_lossy().into_owned())
            .collect(),
        directory: None,
        stdin: Vec::new(),
        address_space: Some(DEFAULT_ADDRESS_SPACE),
    }
}

impl Run {
    /// Runs in this working directory.
    pub fn in_directory(mut self, directory: &Path) -> Run {
        self.directory = Some(directory.to_path_buf());
        self
    }

    /// Writes these bytes to its standard input (empty by default).
    pub fn stdin(mut self, bytes: &[u8]) -> Run {
        self.stdin = bytes.to_vec();
        self
    }

    /// Limits its address space to this many bytes (`None`: no limit, for
    /// runs that load a Wasm bundle, whose runtime reserves gigabytes of
    /// address space it does not use).
    pub fn address_space(mut self, bytes: Option<u64>) -> Run {
        self.address_space = bytes;
        self
    }

    /// Runs it to its end, or kills it after [`HANG`].
    pub fn run(self) -> Outcome {
        let limited = self.address_space.filter(|_| {
            Path::new("/usr/bin/prlimit").exists() || Path::new("/bin/prlimit").exists()
        });
        let mut command = match limited {
            Some(bytes) => {
                let mut command = Command::new("prlimit");
                command.arg(format!("--as={bytes}")).arg("--").arg(binary());
                command
            }
            None => Command::new(binary()),
        };
        command
            .args(&self.arguments)
            .env("NO_COLOR", "1")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(directory) = &self.directory {
            command.current_dir(directory);
        }
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = self.stdin;
        let writer = std::thread::spawn(move || {
            // A run that never reads its input must not block this test.
            let _ = stdin.write_all(&input);
        });
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > HANG {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let _ = writer.join();
        Outcome {
            description: format!("rampart {}", self.arguments.join(" ")),
            status,
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// How a run ended.
pub struct Outcome {
    description: String,
    /// `None` when it was killed for running past [`HANG`].
    status: Option<ExitStatus>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Outcome {
    /// Both outputs, for searching.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    fn show(&self) -> String {
        let cut = |text: &str| -> String {
            let start = text.len().saturating_sub(3_000);
            let start = (start..=text.len())
                .find(|index| text.is_char_boundary(*index))
                .unwrap_or(text.len());
            text[start..].to_owned()
        };
        format!(
            "`{}` ended with {:?}\n--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
            self.description,
            self.status,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }

    /// The exit code, after checking that the run ended by itself, without
    /// a signal (an abort, a stack overflow, the allocator giving up) and
    /// without a panic message.
    pub fn code(&self) -> i32 {
        let Some(status) = self.status else {
            panic!(
                "it hung (killed after {} s): {}",
                HANG.as_secs(),
                self.show()
            );
        };
        if let Some(signal) = status.signal() {
            panic!("it was killed by signal {signal}: {}", self.show());
        }
        for sign in [
            "panicked at",
            "has overflowed its stack",
            "fatal runtime error",
            "memory allocation of",
        ] {
            assert!(
                !self.stderr.contains(sign),
                "it printed `{sign}`: {}",
                self.show()
            );
        }
        status.code().unwrap_or(-1)
    }

    /// Checks the exit code, and that it ended cleanly (see [`Outcome::code`]).
    pub fn expect_code(&self, expected: i32) -> &Outcome {
        let code = self.code();
        assert_eq!(code, expected, "unexpected exit code: {}", self.show());
        self
    }

    /// Checks that the output says `text` (case-insensitive).
    pub fn expect_mention(&self, text: &str) -> &Outcome {
        assert!(
            self.output().to_lowercase().contains(&text.to_lowercase()),
            "the output does not mention `{text}`: {}",
            self.show()
        );
        self
    }

    /// The `--format json` report on standard output.
    pub fn report(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!("stdout is not a JSON report ({error}): {}", self.show())
        })
    }
}
