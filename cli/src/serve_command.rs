//! `rampart serve`: the admission webhook. The server lives in
//! `rampart-server`; this file only turns arguments into its configuration
//! and gives it a loader that compiles policies (and applies a `--config`
//! file) the way `check` does.

use crate::check;
use crate::config;
use crate::exit;
use clap::ValueEnum;
use rampart_engine::KubeVersion;
use rampart_server::{
    FailurePolicy, LoadedPolicySet, LoaderError, PolicyLoader, Server, ServerConfig, TlsFiles,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `rampart serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArguments {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:8443")]
    addr: SocketAddr,
    /// PEM certificate chain (reloaded when the file changes).
    #[arg(long, value_name = "FILE")]
    tls_cert: PathBuf,
    /// PEM private key (reloaded when the file changes).
    #[arg(long, value_name = "FILE")]
    tls_key: PathBuf,
    /// Policy files (.rampart) or directories of them, reloaded when they
    /// change. Repeatable.
    #[arg(long = "policy", short = 'p', value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Standard-library sets, as for `check`; default `recommended` when no
    /// `--policy` is given. Repeatable.
    #[arg(long = "set", short = 's', value_name = "NAME[@VERSION]")]
    sets: Vec<String>,
    /// A `rampart.yaml`: parameters, actions, exceptions (expiring as of
    /// each request's day), exemptions, and the sets and policies to serve
    /// when neither `--policy` nor `--set` is given. Reloaded when it
    /// changes; a broken new file keeps the previous configuration serving.
    /// Without it, no configuration applies (none is looked for).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Judge as this Kubernetes version (e.g. `v1.30`); default: the newest.
    #[arg(long, value_name = "VERSION")]
    kube_version: Option<String>,
    /// Write a JSON line per decision to FILE (appended), or `-` for standard output.
    #[arg(long, value_name = "FILE|-")]
    audit_log: Option<PathBuf>,
    /// Refuse request bodies larger than this with 413.
    #[arg(long, value_name = "N", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Wall-clock limit of one request, from its headers: reading the body
    /// (408 when it has not arrived), queueing, evaluating and building the
    /// answer; past it, answer per --failure-policy.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    eval_timeout_ms: u64,
    /// Connections served at once; further ones wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// What to answer when a policy cannot finish or the deadline passes:
    /// `fail` denies (fail closed), `ignore` allows with a warning (fail open).
    #[arg(long, value_enum, default_value_t = FailureMode::Fail)]
    failure_policy: FailureMode,
    /// Serve `POST /mutate`: the deny and warn rules' fixes as a JSON patch.
    #[arg(long)]
    mutate: bool,
    /// After SIGTERM, stay up (unready) this long before draining, so that
    /// the Service stops sending traffic first.
    #[arg(long, value_name = "N", default_value_t = 0)]
    shutdown_delay_ms: u64,
}

/// `--failure-policy` values, named after Kubernetes' `failurePolicy`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum FailureMode {
    /// Deny with code 500.
    Fail,
    /// Allow with a warning.
    Ignore,
}

/// Runs `rampart serve` until SIGTERM or ctrl-c; returns the exit code.
pub fn run(arguments: ServeArguments) -> u8 {
    let version = match arguments.kube_version.as_deref().map(KubeVersion::parse) {
        None => None,
        Some(Some(version)) => Some(version),
        Some(None) => {
            eprintln!("error: --kube-version is not a Kubernetes version (write it as `v1.30`)");
            return exit::INCOMPLETE;
        }
    };
    let tls = TlsFiles {
        certificate: arguments.tls_cert.clone(),
        key: arguments.tls_key.clone(),
    };
    let mut config = ServerConfig::new(arguments.addr, tls);
    config.policy_paths = arguments.policies.clone();
    if let Some(file) = &arguments.config {
        // The file, and the policies it names as of start-up, are watched.
        config.policy_paths.push(file.clone());
        let mut ignored = Vec::new();
        if let Some(read) = config::read(file, &mut ignored)
            && arguments.policies.is_empty()
            && arguments.sets.is_empty()
        {
            config.policy_paths.extend(read.policies);
        }
    }
    config.audit_log = arguments.audit_log.clone();
    config.max_body_bytes = arguments.max_body_bytes;
    config.eval_timeout = Duration::from_millis(arguments.eval_timeout_ms.max(1));
    config.mutate = arguments.mutate;
    config.max_connections = arguments.max_connections.max(1);
    config.shutdown_delay = Duration::from_millis(arguments.shutdown_delay_ms);
    config.failure_policy = match arguments.failure_policy {
        FailureMode::Fail => FailurePolicy::Fail,
        FailureMode::Ignore => FailurePolicy::Ignore,
    };
    // The seam for other policy sources: a `--bundle` option would build a
    // loader that reads the bundle's set instead, and watch the bundle file.
    let loader = compiling_loader(
        arguments.policies,
        arguments.sets,
        arguments.config,
        version,
    );
    let server = match Server::bind(config, loader) {
        Ok(server) => server,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::INCOMPLETE;
        }
    };
    match server.serve() {
        Ok(()) => exit::CLEAN,
        Err(message) => {
            eprintln!("error: {message}");
            exit::INCOMPLETE
        }
    }
}

/// A loader that compiles `--policy` and `--set` (or the sets and policies
/// of the configuration, when neither is given) and applies the
/// configuration, through the code `check` uses; any compile error or
/// configuration problem refuses the whole set, so that a half-broken edit
/// never replaces the serving policies and configuration.
fn compiling_loader(
    paths: Vec<PathBuf>,
    sets: Vec<String>,
    config_path: Option<PathBuf>,
    version: Option<KubeVersion>,
) -> PolicyLoader {
    Arc::new(move || {
        let mut config_problems = Vec::new();
        let config = match &config_path {
            None => None,
            Some(path) => match config::read(path, &mut config_problems) {
                Some(file) => Some(file),
                None if config_problems.is_empty() => {
                    return Err(LoaderError::Configuration(format!(
                        "{}: the configuration holds no mapping",
                        path.display()
                    )));
                }
                None => None,
            },
        };
        if !config_problems.is_empty() {
            return Err(LoaderError::Configuration(joined(&config_problems)));
        }
        let loaded = check::load_with_config(&paths, &sets, config, &mut config_problems);
        let mut errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.level == rampart_lang::Level::Error)
            .map(|diagnostic| {
                format!(
                    "{}:{}:{}: {} {}",
                    diagnostic.file,
                    diagnostic.start.line,
                    diagnostic.start.column,
                    diagnostic.code,
                    diagnostic.message
                )
            })
            .collect();
        errors.extend(loaded.problems.iter().cloned());
        if !errors.is_empty() {
            return Err(LoaderError::Policies(errors.join("; ")));
        }
        // Parameters or actions for policies that do not run, values of
        // the wrong shape: the configuration is refused as a whole.
        if !config_problems.is_empty() {
            return Err(LoaderError::Configuration(joined(&config_problems)));
        }
        let configured_version = match loaded
            .config
            .as_ref()
            .and_then(|file| file.config.kubernetes_version.as_deref())
        {
            None => None,
            Some(text) => Some(KubeVersion::parse(text).ok_or_else(|| {
                LoaderError::Configuration(format!(
                    "kubernetesVersion `{text}` is not a Kubernetes version (write it as `v1.30`)"
                ))
            })?),
        };
        let judging = loaded.judging().clone();
        Ok(LoadedPolicySet {
            set: loaded.set,
            version: version
                .or(loaded.version)
                .or(configured_version)
                .unwrap_or(KubeVersion::LATEST),
            judging,
        })
    })
}

fn joined(problems: &[config::ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
