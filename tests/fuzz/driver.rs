//! The fuzz driver: runs one target's committed corpus, then mutated and
//! generated inputs, each under `catch_unwind` on a thread with a bounded
//! stack, in a child process that the test supervises.
//!
//! A panic stops the child with a failed test. A stack overflow, an
//! allocation failure or any other abort kills it by a signal, and an input
//! that runs longer than the hang limit makes it exit: in every case the
//! input being run is on disk (the child writes it before running it), and
//! the supervising test copies it to a crash file, prints it, and fails.
//! See `fuzz/README.md` for the environment variables.

use crate::mutate::{Rng, hash, mutate};
use std::collections::HashSet;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What a target does with one input.
pub trait Harness {
    /// Runs one input. `Ok` carries a summary of the outcome (inputs with a
    /// summary not seen before join the corpus); `Err` is a broken
    /// invariant other than a panic (an answer the target must never give).
    fn run(&mut self, input: &[u8]) -> Result<u64, String>;
}

/// One fuzz target.
pub struct Target {
    /// Its name: the test's name, and the directory of its corpus under `fuzz/seeds/`.
    pub name: &'static str,
    /// Inputs to start from besides the committed corpus (examples, the standard library).
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Makes the harness (on the bounded thread: setting up counts too).
    pub harness: fn() -> Box<dyn Harness>,
    /// Makes a structure-aware input (deep nesting, long chains, aliases).
    pub generate: fn(&mut Rng) -> Vec<u8>,
    /// One input in this many is generated rather than mutated.
    pub generate_one_in: usize,
    /// Tokens that mutations insert.
    pub dictionary: &'static [&'static [u8]],
    /// Inputs run in CI (about 20 s in a debug build).
    pub iterations: u64,
    /// The stack of the thread that runs inputs: the size of the thread the
    /// product runs this code on, so that an overflow here is one there.
    pub stack_bytes: usize,
    /// The child's address-space limit, when it can have one (a Wasm
    /// runtime reserves far more address space than it uses).
    pub address_space_bytes: Option<u64>,
    /// Longest input made by mutation.
    pub max_len: usize,
}

/// Set in the child process to the name of the target it runs.
const WORKER_VARIABLE: &str = "RAMPART_FUZZ_WORKER";
/// Most entries the in-memory corpus grows to.
const MAX_CORPUS: usize = 4_000;
/// Exit status of a child that stopped on an input running too long.
const HANG_EXIT: i32 = 3;

/// Runs `target`: in the test process, supervises a child; in the child, fuzzes.
pub fn fuzz(target: &Target) {
    if std::env::var(WORKER_VARIABLE).as_deref() == Ok(target.name) {
        if let Err(failure) = work(target) {
            panic!("fuzz target `{}`: {failure}", target.name);
        }
    } else {
        supervise(target);
    }
}

/// Where a target's working files go: the input being run, crash files.
fn work_directory(target: &Target) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fuzz")
        .join(target.name)
}

/// The committed corpus of a target.
pub fn corpus_directory(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(name)
}

fn seconds_variable(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

fn supervise(target: &Target) {
    let directory = work_directory(target);
    std::fs::create_dir_all(&directory)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", directory.display()));
    let current = directory.join("current");
    let _ = std::fs::remove_file(&current);
    // This process's own executable file even if a build has replaced it
    // since it started (the link in /proc keeps to the running file).
    let own = PathBuf::from(format!("/proc/{}/exe", std::process::id()));
    let executable = if own.exists() {
        own
    } else {
        std::env::current_exe()
            .unwrap_or_else(|error| panic!("cannot find the test executable: {error}"))
    };
    let limit = target
        .address_space_bytes
        .filter(|_| Path::new("/usr/bin/prlimit").exists() || Path::new("/bin/prlimit").exists());
    let mut command = match limit {
        Some(bytes) => {
            let mut command = Command::new("prlimit");
            command
                .arg(format!("--as={bytes}"))
                .arg("--")
                .arg(&executable);
            command
        }
        None => Command::new(&executable),
    };
    command
        .args([target.name, "--exact", "--nocapture", "--test-threads=1"])
        .env(WORKER_VARIABLE, target.name)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start the fuzz child: {error}"));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    // Hangs are caught per input inside the child; this only catches a child
    // that cannot even report one.
    let limit = Duration::from_secs(seconds_variable("RAMPART_FUZZ_SECONDS").unwrap_or(0) + 1_800);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => panic!("cannot wait for the fuzz child: {error}"),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    // libtest writes `test NAME ... ` on the line the child's report starts.
    let marker = format!("fuzz {}:", target.name);
    let summary: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.find(&marker).map(|start| &line[start..]))
        .collect();
    println!("{}", summary.join("\n"));
    let how = match status {
        // A child that ran no target (a test renamed without its target) must not pass.
        Some(status) if status.success() && summary.is_empty() => {
            panic!(
                "fuzz target `{}`: the child ran no fuzz target:\n{stdout}",
                target.name
            )
        }
        Some(status) if status.success() => return,
        Some(status) => match (status.code(), status.signal()) {
            (Some(HANG_EXIT), _) => "an input ran longer than the hang limit".to_owned(),
            (Some(code), _) => format!("the child failed with exit status {code}"),
            (None, Some(signal)) => format!(
                "the child was killed by signal {signal} (a stack overflow, an allocation failure or an abort)"
            ),
            (None, None) => "the child ended abnormally".to_owned(),
        },
        None => format!(
            "the child ran longer than {} s and was killed",
            limit.as_secs()
        ),
    };
    let report = match std::fs::read(&current) {
        Ok(input) => {
            let crash = directory.join(format!("crash-{:016x}", hash(&input)));
            let saved = match std::fs::write(&crash, &input) {
                Ok(()) => format!("saved in {}", crash.display()),
                Err(error) => format!("could not be saved: {error}"),
            };
            format!(
                "the input ({} bytes, {saved}; to keep it as a regression test, copy it into fuzz/seeds/{}/):\n{}",
                input.len(),
                target.name,
                preview(&input)
            )
        }
        Err(_) => "no input was being run (the failure came while setting up)".to_owned(),
    };
    panic!(
        "fuzz target `{}`: {how}.\n{report}\n--- child stderr (end) ---\n{}",
        target.name,
        tail(&stderr, 6_000)
    );
}

/// Reads a pipe to its end on a thread, so that neither pipe fills up.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The input, escaped, cut to a few kilobytes.
fn preview(input: &[u8]) -> String {
    const MOST: usize = 4_000;
    let shown = &input[..input.len().min(MOST)];
    let mut text = shown.escape_ascii().to_string();
    if input.len() > MOST {
        text.push_str(&format!("... ({} more bytes)", input.len() - MOST));
    }
    text
}

fn tail(text: &str, most: usize) -> &str {
    let mut start = text.len().saturating_sub(most);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// How long and from where the child fuzzes.
struct Settings {
    seed: u64,
    iterations: Option<u64>,
    deadline: Option<Instant>,
    hang: Duration,
    replay: Option<PathBuf>,
    keep: bool,
}

impl Settings {
    fn from_environment(target: &Target) -> Settings {
        let seconds = seconds_variable("RAMPART_FUZZ_SECONDS");
        let iterations = seconds_variable("RAMPART_FUZZ_ITERATIONS");
        let seed = seconds_variable("RAMPART_FUZZ_SEED").unwrap_or(match seconds {
            // Fuzzing by hand explores something new each time; CI replays one seed.
            Some(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |elapsed| elapsed.as_nanos() as u64),
            None => 1,
        });
        Settings {
            seed,
            iterations: match (seconds, iterations) {
                (_, Some(iterations)) => Some(iterations),
                (Some(_), None) => None,
                (None, None) => Some(target.iterations),
            },
            deadline: seconds.map(|seconds| Instant::now() + Duration::from_secs(seconds)),
            hang: Duration::from_secs(seconds_variable("RAMPART_FUZZ_HANG_SECONDS").unwrap_or(60)),
            replay: std::env::var_os("RAMPART_FUZZ_INPUT").map(PathBuf::from),
            keep: std::env::var_os("RAMPART_FUZZ_KEEP").is_some(),
        }
    }

    fn more(&self, done: u64) -> bool {
        self.iterations.is_none_or(|most| done < most)
            && self
                .deadline
                .is_none_or(|deadline| Instant::now() < deadline)
    }
}

/// Every file of a committed corpus, sorted by name.
pub fn committed_corpus(name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_directory(name))
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.is_file())
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| std::fs::read(&path).ok().map(|bytes| (path, bytes)))
        .collect()
}

fn work(target: &Target) -> Result<(), String> {
    let settings = Settings::from_environment(target);
    let hang = settings.hang;
    let directory = work_directory(target);
    let current = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(directory.join("current"))
        .map_err(|error| format!("cannot open the current-input file: {error}"))?;
    let progress = Arc::new(AtomicU64::new(0));
    let (sender, receiver) = std::sync::mpsc::channel();
    let worker_progress = Arc::clone(&progress);
    let name = target.name;
    let generate = (target.generate, target.generate_one_in);
    let make_harness = target.harness;
    let seeds = target.seeds;
    let dictionary = target.dictionary;
    let max_len = target.max_len;
    let keep_directory = directory.join("new");
    std::thread::Builder::new()
        .name(format!("fuzz-{name}"))
        .stack_size(target.stack_bytes)
        .spawn(move || {
            let mut run = Run {
                harness: make_harness(),
                current,
                progress: worker_progress,
            };
            let result = run.fuzz(
                &settings,
                name,
                seeds,
                generate,
                dictionary,
                max_len,
                &keep_directory,
            );
            let _ = sender.send(result);
        })
        .map_err(|error| format!("cannot start the fuzzing thread: {error}"))?;
    let mut last = (0, Instant::now());
    loop {
        match receiver.recv_timeout(Duration::from_secs(1)) {
            Ok(result) => return result,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err("the fuzzing thread stopped without an answer".to_owned());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let done = progress.load(Ordering::Relaxed);
                if done != last.0 {
                    last = (done, Instant::now());
                } else if last.1.elapsed() > hang {
                    eprintln!(
                        "fuzz {name}: input {done} has run for more than {} s (RAMPART_FUZZ_HANG_SECONDS)",
                        hang.as_secs()
                    );
                    std::process::exit(HANG_EXIT);
                }
            }
        }
    }
}

/// The fuzzing thread's state.
struct Run {
    harness: Box<dyn Harness>,
    current: std::fs::File,
    progress: Arc<AtomicU64>,
}

impl Run {
    /// Runs one input: writes it where the supervisor finds it, then runs
    /// it, catching a panic.
    fn execute(&mut self, input: &[u8]) -> Result<u64, String> {
        self.progress.fetch_add(1, Ordering::Relaxed);
        self.current
            .set_len(0)
            .and_then(|()| self.current.write_all_at(input, 0))
            .map_err(|error| format!("cannot write the current input: {error}"))?;
        let harness = &mut self.harness;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| harness.run(input))) {
            Ok(Ok(signature)) => Ok(signature),
            Ok(Err(violation)) => Err(format!("broken invariant: {violation}")),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| {
                        payload
                            .downcast_ref::<&str>()
                            .map(|text| (*text).to_owned())
                    })
                    .unwrap_or_else(|| "(no message)".to_owned());
                Err(format!("panic: {message}"))
            }
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the target's parts, passed apart to move into the thread"
    )]
    fn fuzz(
        &mut self,
        settings: &Settings,
        name: &str,
        seeds: fn() -> Vec<Vec<u8>>,
        generate: (fn(&mut Rng) -> Vec<u8>, usize),
        dictionary: &[&[u8]],
        max_len: usize,
        keep_directory: &Path,
    ) -> Result<(), String> {
        if let Some(path) = &settings.replay {
            let input = std::fs::read(path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            self.execute(&input)?;
            println!("fuzz {name}: {} ran without failure", path.display());
            return Ok(());
        }
        let committed = committed_corpus(name);
        let mut corpus: Vec<Vec<u8>> = Vec::new();
        let mut seen = HashSet::new();
        for (path, input) in &committed {
            let signature = self
                .execute(input)
                .map_err(|failure| format!("corpus file {}: {failure}", path.display()))?;
            seen.insert(signature);
            corpus.push(input.clone());
        }
        for input in seeds() {
            seen.insert(self.execute(&input)?);
            corpus.push(input);
        }
        let starting = corpus.len();
        let started = Instant::now();
        let mut rng = Rng::new(settings.seed);
        let mut done = 0;
        while settings.more(done) {
            let input = if corpus.is_empty() || rng.chance(1, generate.1) {
                generate.0(&mut rng)
            } else {
                let base = rng.pick(&corpus).clone();
                mutate(&mut rng, &base, dictionary, &corpus, max_len)
            };
            let signature = self.execute(&input)?;
            if seen.insert(signature) && corpus.len() < MAX_CORPUS {
                if settings.keep {
                    let _ = std::fs::create_dir_all(keep_directory);
                    let _ = std::fs::write(
                        keep_directory.join(format!("{:016x}", hash(&input))),
                        &input,
                    );
                }
                corpus.push(input);
            }
            done += 1;
        }
        println!(
            "fuzz {name}: seed {}, {} corpus inputs ({} committed), {done} generated or mutated in {:.1} s, {} distinct outcomes, {} inputs kept",
            settings.seed,
            starting,
            committed.len(),
            started.elapsed().as_secs_f64(),
            seen.len(),
            corpus.len() - starting
        );
        Ok(())
    }
}
