//! The policies being served, and the poller that reloads them (and the TLS
//! certificate) when their files change.
//!
//! A compiled [`PolicySet`] shares strings through `Rc`, so it cannot cross
//! threads; the serving set is kept as its serialized IR (the form a Wasm
//! bundle carries) and each evaluation thread deserializes its own copy once
//! per generation.

use crate::metrics::Metrics;
use crate::tls::{CertificateResolver, TlsFiles};
use rampart_engine::{KubeVersion, PolicySet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// What a policy loader produces.
pub struct LoadedPolicySet {
    /// The compiled policies.
    pub set: PolicySet,
    /// The Kubernetes version they judge as.
    pub version: KubeVersion,
}

/// Compiles the policies: called at start-up and on every change. The CLI
/// provides it, so that compiling stays in one place (a `--bundle` loader
/// would read a Wasm bundle's set here instead). `Err` is a message for the log.
pub type PolicyLoader = Arc<dyn Fn() -> Result<LoadedPolicySet, String> + Send + Sync>;

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
}

impl Snapshot {
    /// Serializes a loaded set, leaving out the policies that look at other
    /// resources (`resources("Kind")`): an admission request carries one
    /// object, not the cluster, so "no NetworkPolicy in the input" would deny
    /// every pod. Those policies belong to `rampart check` on whole manifests.
    pub fn new(generation: u64, loaded: LoadedPolicySet) -> Result<Snapshot, String> {
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
        let ir = serde_json::to_vec(&set)
            .map_err(|error| format!("cannot serialize the policies: {error}"))?;
        Ok(Snapshot {
            generation,
            ir,
            version: loaded.version,
            policy_count: set.policies.len(),
        })
    }

    /// A fresh copy of the set, for one evaluation thread.
    pub fn policy_set(&self) -> Result<PolicySet, String> {
        serde_json::from_slice(&self.ir)
            .map_err(|error| format!("cannot deserialize the policies: {error}"))
    }
}

/// The serving policies and how to load them again.
pub struct Policies {
    loader: PolicyLoader,
    current: RwLock<Arc<Snapshot>>,
}

impl Policies {
    /// Loads the policies for the first time; an error here stops start-up.
    pub fn load(loader: PolicyLoader) -> Result<Policies, String> {
        let loaded = loader()?;
        let snapshot = Snapshot::new(1, loaded)?;
        Ok(Policies {
            loader,
            current: RwLock::new(Arc::new(snapshot)),
        })
    }

    /// The generation being served.
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.read().ok().map(|current| Arc::clone(&current))
    }

    /// Loads again; on error the current set keeps serving. Returns the new
    /// generation's policy count.
    pub fn reload(&self) -> Result<usize, String> {
        let loaded = (self.loader)()?;
        let generation = self.current().map_or(0, |current| current.generation) + 1;
        let snapshot = Snapshot::new(generation, loaded)?;
        let count = snapshot.policy_count;
        let mut current = self
            .current
            .write()
            .map_err(|_| "the policy lock is poisoned".to_owned())?;
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
                            metrics.count_reload(true);
                            metrics.set_policies_loaded(count);
                            crate::log(&format!("policies reloaded: {count} policies"));
                        }
                        Err(message) => {
                            metrics.count_reload(false);
                            crate::log(&format!("policy reload failed, the previous policies keep serving: {message}"));
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
    for path in paths {
        visit(path, &mut hasher, 0);
    }
    hasher.finish()
}

/// Policy files, certificates and keys are far smaller; larger files are
/// compared by size and modification time only.
const MAX_HASHED_BYTES: u64 = 1024 * 1024;

/// Deep enough for any policy tree, shallow enough to stop a symlink loop.
const MAX_DEPTH: usize = 16;

fn visit(path: &Path, hasher: &mut DefaultHasher, depth: usize) {
    path.hash(hasher);
    let Ok(metadata) = std::fs::metadata(path) else {
        "missing".hash(hasher);
        return;
    };
    if metadata.is_dir() {
        if depth >= MAX_DEPTH {
            return;
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut children: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .collect();
        children.sort();
        for child in children {
            visit(&child, hasher, depth + 1);
        }
    } else {
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
    }
}
