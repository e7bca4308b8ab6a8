//! The policies being served, and the poller that reloads them (and the TLS
//! certificate) when their files change.
//!
//! A compiled [`PolicySet`] shares strings through `Rc`, so it cannot cross
//! threads; the serving set is kept as its serialized IR (the form a Wasm
//! bundle carries) and each evaluation thread deserializes its own copy once
//! per generation.

use crate::metrics::{Metrics, ReloadResult};
use crate::tls::{CertificateResolver, TlsFiles};
use rampart_core::Judging;
use rampart_engine::{KubeVersion, PolicySet};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// What a policy loader produces.
pub struct LoadedPolicySet {
    /// The compiled policies.
    pub set: PolicySet,
    /// The Kubernetes version they judge as.
    pub version: KubeVersion,
    /// The configuration's exceptions and exemptions (its parameters and
    /// actions are applied to `set` already); the default without one.
    pub judging: Judging,
}

/// Compiles the policies (and reads the configuration, when there is one):
/// called at start-up and on every change. The CLI provides it, so that
/// compiling stays in one place (a `--bundle` loader would read a Wasm
/// bundle's set here instead).
pub type PolicyLoader = Arc<dyn Fn() -> Result<LoadedPolicySet, LoaderError> + Send + Sync>;

/// Why a [`PolicyLoader`] produced no set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoaderError {
    /// The policies did not compile, or a policy file could not be read:
    /// the diagnostics, for the log.
    Policies(String),
    /// The configuration file could not be read or has problems: them, for
    /// the log.
    Configuration(String),
}

impl fmt::Display for LoaderError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoaderError::Policies(message) => formatter.write_str(message),
            LoaderError::Configuration(message) => {
                write!(formatter, "the configuration is refused: {message}")
            }
        }
    }
}

impl std::error::Error for LoaderError {}

/// Why a set of policies was not put into service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The loader failed (a compile error, an unreadable file, a broken
    /// configuration).
    Loader(LoaderError),
    /// The compiled set could not be serialized, or not read back as every
    /// evaluation thread would read it.
    Unloadable(String),
    /// The set holds no policy that runs on admission (an emptied file or
    /// directory, or only policies that look at other resources): serving it
    /// would allow everything.
    Empty,
    /// The lock around the serving set is poisoned.
    Poisoned,
}

impl fmt::Display for LoadError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Loader(error) => error.fmt(formatter),
            LoadError::Unloadable(message) => formatter.write_str(message),
            LoadError::Empty => formatter.write_str(
                "the policy files hold no policy that runs on admission (an empty file or directory?)",
            ),
            LoadError::Poisoned => formatter.write_str("the policy lock is poisoned"),
        }
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    /// Whether the configuration file (not the policies) was refused.
    pub fn is_configuration(&self) -> bool {
        matches!(self, LoadError::Loader(LoaderError::Configuration(_)))
    }
}

/// One loaded generation of the policies, in a form that crosses threads.
pub struct Snapshot {
    /// Starts at 1 and grows with every successful reload.
    pub generation: u64,
    /// The set's IR as JSON.
    ir: Vec<u8>,
    /// The Kubernetes version to judge as.
    pub version: KubeVersion,
    /// How many policies the set holds.
    pub policy_count: usize,
    /// The configuration's exceptions and exemptions.
    pub judging: Judging,
}

impl Snapshot {
    /// Serializes a loaded set, leaving out the policies that look at other
    /// resources (`resources("Kind")`): an admission request carries one
    /// object, not the cluster, so "no NetworkPolicy in the input" would deny
    /// every pod. Those policies belong to `rampart check` on whole manifests.
    ///
    /// The serialized set is read back once here, as every evaluation thread
    /// will read it: a set that cannot be read is refused now (at start-up,
    /// or by a reload that then keeps the previous set), never found out by
    /// a request. An empty set is refused too.
    pub fn new(generation: u64, loaded: LoadedPolicySet) -> Result<Snapshot, LoadError> {
        let mut set = loaded.set;
        let skipped: Vec<String> = set
            .policies
            .iter()
            .filter(|policy| policy.uses_inventory)
            .map(|policy| policy.id.clone())
            .collect();
        set.policies.retain(|policy| !policy.uses_inventory);
        if !skipped.is_empty() {
            crate::log(&format!(
                "{} policies look at other resources of the input and are not run on admission: {}",
                skipped.len(),
                skipped.join(", ")
            ));
        }
        if set.policies.is_empty() {
            return Err(LoadError::Empty);
        }
        let ir = serde_json::to_vec(&set).map_err(|error| {
            LoadError::Unloadable(format!("cannot serialize the policies: {error}"))
        })?;
        let snapshot = Snapshot {
            generation,
            ir,
            version: loaded.version,
            policy_count: set.policies.len(),
            judging: loaded.judging,
        };
        snapshot.policy_set()?;
        Ok(snapshot)
    }

    /// A fresh copy of the set, for one evaluation thread.
    pub fn policy_set(&self) -> Result<PolicySet, LoadError> {
        read_policy_set(&self.ir).map_err(LoadError::Unloadable)
    }
}

/// Reads a serialized set back, the one way both [`Snapshot::new`] and the
/// evaluation threads do (and every other host: no recursion limit of a
/// JSON library, the IR's own nesting bound).
fn read_policy_set(ir: &[u8]) -> Result<PolicySet, String> {
    PolicySet::from_json(ir).map_err(|error| format!("cannot read the policies back: {error}"))
}

/// The serving policies and how to load them again.
pub struct Policies {
    loader: PolicyLoader,
    current: RwLock<Arc<Snapshot>>,
    /// Why the last reload was refused, until one succeeds (for `/readyz`).
    refused: Mutex<Option<LoadError>>,
}

impl Policies {
    /// Loads the policies for the first time; an error here stops start-up.
    pub fn load(loader: PolicyLoader) -> Result<Policies, LoadError> {
        let loaded = loader().map_err(LoadError::Loader)?;
        let snapshot = Snapshot::new(1, loaded)?;
        Ok(Policies {
            loader,
            current: RwLock::new(Arc::new(snapshot)),
            refused: Mutex::new(None),
        })
    }

    /// Why the last reload was refused, when the one after it has not succeeded.
    pub fn refused_reload(&self) -> Option<LoadError> {
        self.refused.lock().ok().and_then(|refused| refused.clone())
    }

    /// The generation being served.
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.read().ok().map(|current| Arc::clone(&current))
    }

    /// Loads again; on error the current set keeps serving, and the error is
    /// kept for [`Policies::refused_reload`]. Returns the new generation's
    /// policy count.
    pub fn reload(&self) -> Result<usize, LoadError> {
        let result = self.replace();
        if let Ok(mut refused) = self.refused.lock() {
            *refused = result.as_ref().err().cloned();
        }
        result
    }

    fn replace(&self) -> Result<usize, LoadError> {
        let loaded = (self.loader)().map_err(LoadError::Loader)?;
        let generation = self.current().map_or(0, |current| current.generation) + 1;
        let snapshot = Snapshot::new(generation, loaded)?;
        let count = snapshot.policy_count;
        let mut current = self.current.write().map_err(|_| LoadError::Poisoned)?;
        *current = Arc::new(snapshot);
        Ok(count)
    }
}

/// What the poller watches, and what it updates.
pub struct Watch {
    /// Policy files and directories (directories are walked).
    pub policy_paths: Vec<PathBuf>,
    /// The certificate and key.
    pub tls: TlsFiles,
    /// How often to look.
    pub interval: Duration,
    /// The fingerprints of the policies and of the TLS files as they were
    /// loaded; taken before loading, so that a change during start-up is
    /// seen as a change, not as the starting point.
    pub baseline: (u64, u64),
}

impl Watch {
    /// Takes the baseline fingerprints now.
    pub fn new(policy_paths: Vec<PathBuf>, tls: TlsFiles, interval: Duration) -> Watch {
        let baseline = (fingerprint(&policy_paths), fingerprint(&tls_paths(&tls)));
        Watch {
            policy_paths,
            tls,
            interval,
            baseline,
        }
    }
}

fn tls_paths(tls: &TlsFiles) -> [PathBuf; 2] {
    [tls.certificate.clone(), tls.key.clone()]
}

/// Polls the files every `interval` on its own thread until `stop` is
/// set. Polling (not inotify) works the same on every file system and on the
/// symlink swaps Kubernetes uses for ConfigMap and Secret volumes.
pub fn spawn_poller(
    watch: Watch,
    policies: Arc<Policies>,
    resolver: Arc<CertificateResolver>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rampart-reload".to_owned())
        .spawn(move || {
            let tls_paths = tls_paths(&watch.tls);
            let (mut policy_print, mut tls_print) = watch.baseline;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(watch.interval);
                let print = fingerprint(&watch.policy_paths);
                if print != policy_print {
                    policy_print = print;
                    match policies.reload() {
                        Ok(count) => {
                            metrics.count_reload(ReloadResult::Success);
                            metrics.set_policies_loaded(count);
                            crate::log(&format!("policies reloaded: {count} policies"));
                        }
                        Err(error) => {
                            metrics.count_reload(if error == LoadError::Empty {
                                ReloadResult::Empty
                            } else if error.is_configuration() {
                                ReloadResult::ConfigurationFailure
                            } else {
                                ReloadResult::Failure
                            });
                            crate::log(&format!("policy reload refused, the previous policies keep serving: {error}"));
                        }
                    }
                }
                let print = fingerprint(&tls_paths);
                if print != tls_print {
                    tls_print = print;
                    match resolver.reload(&watch.tls) {
                        Ok(()) => {
                            metrics.count_certificate_reload(true);
                            crate::log("TLS certificate reloaded");
                        }
                        Err(message) => {
                            metrics.count_certificate_reload(false);
                            crate::log(&format!("certificate reload failed, the previous one keeps serving: {message}"));
                        }
                    }
                }
            }
        })
}

/// A hash of the path, size, modification time and (for small files)
/// content of every file under `paths`.
pub fn fingerprint(paths: &[PathBuf]) -> u64 {
    let mut hasher = DefaultHasher::new();
    let mut visited = std::collections::HashSet::new();
    for path in paths {
        visit(path, &mut hasher, 0, &mut visited);
    }
    hasher.finish()
}

/// Policy files, certificates and keys are far smaller; larger files are
/// compared by size and modification time only.
const MAX_HASHED_BYTES: u64 = 1024 * 1024;

/// Deep enough for any policy tree.
const MAX_DEPTH: usize = 16;

/// Directories the policy loader's walk skips, so changes there reload nothing.
const SKIPPED_DIRECTORIES: [&str; 2] = ["target", "node_modules"];

/// Hashes what can change under `path`. Each directory is entered once
/// (by its real path: two links to a parent would otherwise make every
/// poll walk 2^16 paths), hidden entries are skipped as the policy loader
/// skips them, and only regular files are read: a FIFO among the policies
/// would otherwise block the thread that also renews the certificate.
fn visit(
    path: &Path,
    hasher: &mut DefaultHasher,
    depth: usize,
    visited: &mut std::collections::HashSet<PathBuf>,
) {
    path.hash(hasher);
    let Ok(metadata) = std::fs::metadata(path) else {
        "missing".hash(hasher);
        return;
    };
    if metadata.is_dir() {
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if depth >= MAX_DEPTH || !visited.insert(real) {
            "visited".hash(hasher);
            return;
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut children: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|child| {
                child
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_none_or(|name| {
                        !name.starts_with('.') && !SKIPPED_DIRECTORIES.contains(&name)
                    })
            })
            .collect();
        children.sort();
        for child in children {
            visit(&child, hasher, depth + 1, visited);
        }
    } else if metadata.is_file() {
        metadata.len().hash(hasher);
        metadata.modified().ok().hash(hasher);
        // Modification times are coarse (a write within the same clock tick
        // keeps the time) and a renewed key has the same length, so small
        // files are compared by content as well.
        if metadata.len() <= MAX_HASHED_BYTES
            && let Ok(content) = std::fs::read(path)
        {
            content.hash(hasher);
        }
    } else {
        // A FIFO, device or socket: never opened.
        "special".hash(hasher);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_engine::ir::{Expr, Stmt, UnaryOp};

    fn compiled(text: &str) -> PolicySet {
        let source = rampart_lang::Source {
            name: "test.rampart".to_owned(),
            text: text.to_owned(),
        };
        let compilation = rampart_lang::compile(&[source]);
        assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
        compilation.set
    }

    fn loaded(set: PolicySet) -> LoadedPolicySet {
        LoadedPolicySet {
            set,
            version: KubeVersion::LATEST,
            judging: Judging::default(),
        }
    }

    #[test]
    fn a_set_that_cannot_be_read_back_is_refused_when_loaded() {
        let mut set = compiled(
            "policy test.deep {\n  severity low\n  match pods\n  let x = 1\n  deny x == 2\n    message \"m\"\n}\n",
        );
        let Some(Stmt::Let { value, .. }) = set.policies[0].body.first_mut() else {
            panic!("the policy starts with its let");
        };
        // Deeper than any reader accepts (made by hand: the compiler refuses it).
        for _ in 0..700 {
            let inner = std::mem::replace(value, Expr::Resource);
            *value = Expr::Unary(UnaryOp::Not, Box::new(inner));
        }
        let refused = Snapshot::new(1, loaded(set));
        assert!(
            matches!(refused, Err(LoadError::Unloadable(_))),
            "{:?}",
            refused.err()
        );
    }

    #[cfg(unix)]
    #[test]
    fn fingerprints_end_on_link_loops_and_never_open_a_fifo() {
        let directory =
            std::env::temp_dir().join(format!("rampart-fingerprint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        let inner = directory.join("policies/team");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::write(inner.join("a.rampart"), "policy a {}").unwrap();
        std::os::unix::fs::symlink("..", inner.join("up")).unwrap();
        std::os::unix::fs::symlink("../..", inner.join("further")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(inner.join("pipe.rampart"))
            .status();
        let paths = vec![directory.join("policies")];
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let first = fingerprint(&paths);
            let _ = sender.send((first, fingerprint(&paths)));
        });
        // Only a hang takes a minute: a walk of this tree takes microseconds.
        let fingerprints = receiver.recv_timeout(Duration::from_secs(60));
        let _ = std::fs::remove_dir_all(&directory);
        let (first, second) = fingerprints.expect("the fingerprint ended");
        assert_eq!(first, second);
        assert!(fifo.is_ok_and(|status| status.success()), "mkfifo ran");
    }

    #[test]
    fn an_empty_set_is_refused() {
        let refused = Snapshot::new(1, loaded(PolicySet::default()));
        assert_eq!(refused.err(), Some(LoadError::Empty));
    }
}
