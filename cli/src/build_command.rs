//! `rampart build`: compiles policies into one self-contained WebAssembly
//! module, and `rampart check --bundle`: evaluates through such a module.

use crate::check;
use crate::config;
use crate::exit;
use crate::inputs::InputFile;
use crate::policies::LoadedPolicies;
use crate::report::Report;
use rampart_bundle::Bundle;
use rampart_engine::load;
use rampart_engine::{EvalError, Evaluation, Finding, KubeVersion};
use std::path::{Path, PathBuf};

/// Arguments of `rampart build`.
#[derive(clap::Args, Debug)]
pub struct BuildArguments {
    /// Policy files (.rampart) or directories of them. Repeatable.
    #[arg(long = "policy", short = 'p', value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Standard-library sets (as for `rampart check`); `NAME@v1.30` judges
    /// as that Kubernetes version. Repeatable.
    #[arg(long = "set", short = 's', value_name = "NAME[@VERSION]")]
    sets: Vec<String>,
    /// Judge as this Kubernetes version (e.g. `v1.30`); default: the newest.
    #[arg(long, value_name = "VERSION")]
    kube_version: Option<String>,
    /// Where to write the module.
    #[arg(long, short = 'o', value_name = "FILE.wasm", required = true)]
    output: PathBuf,
    /// The module's protocol: `rampart` (no imports, any WebAssembly host)
    /// or `kubewarden` (a waPC policy for Kubewarden's policy server and
    /// kwctl). See docs/wasm-abi.md.
    #[arg(long, value_enum, default_value_t = AbiArgument::Rampart)]
    abi: AbiArgument,
    /// The configuration to build in (parameters and actions applied to the
    /// policies; exceptions, exemptions and annotation self-exemption judged
    /// by the bundle); by default the first `rampart.yaml` found walking up
    /// from the working directory, as `rampart check` finds it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Build in no configuration, even if a `rampart.yaml` is found.
    #[arg(long, conflicts_with = "config")]
    no_config: bool,
}

/// The values of `rampart build --abi`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum AbiArgument {
    /// Rampart's own ABI.
    Rampart,
    /// Kubewarden's policy protocol (waPC).
    Kubewarden,
}

impl AbiArgument {
    fn abi(self) -> rampart_bundle::Abi {
        match self {
            AbiArgument::Rampart => rampart_bundle::Abi::Rampart,
            AbiArgument::Kubewarden => rampart_bundle::Abi::Kubewarden,
        }
    }
}

/// Runs `rampart build`; returns the exit code.
pub fn run(arguments: BuildArguments) -> u8 {
    let mut config_problems = Vec::new();
    let config_path = if arguments.no_config {
        None
    } else {
        config::discover(arguments.config.as_deref())
    };
    let config_file = config_path
        .as_deref()
        .and_then(|path| config::read(path, &mut config_problems));
    // The text is read again for its hash: a host compares it with the
    // `rampart.yaml` it finds.
    let config_hash = config_path.as_deref().and_then(|path| {
        crate::inputs::read::read_text(path, crate::inputs::read::SOURCE_LIMIT)
            .ok()
            .map(|text| rampart_bundle::text_hash(&text))
    });
    let loaded = check::load_with_config(
        &arguments.policies,
        &arguments.sets,
        config_file,
        &mut config_problems,
    );
    let mut failed = false;
    for problem in &config_problems {
        let position = problem
            .position
            .map(|position| format!(":{}:{}", position.line, position.column))
            .unwrap_or_default();
        eprintln!("error: {}{position}: {}", problem.file, problem.message);
        failed = true;
    }
    for diagnostic in &loaded.diagnostics {
        if diagnostic.level == rampart_lang::Level::Error {
            eprintln!(
                "error[{}]: {}:{}:{}: {}",
                diagnostic.code,
                diagnostic.file,
                diagnostic.start.line,
                diagnostic.start.column,
                diagnostic.message
            );
            failed = true;
        }
    }
    for problem in &loaded.problems {
        eprintln!("error: {problem}");
        failed = true;
    }
    if failed {
        eprintln!("error: no bundle written: the policies or the configuration have errors");
        return exit::INCOMPLETE;
    }
    let embedded = loaded
        .config
        .as_ref()
        .map(|file| rampart_bundle::EmbeddedConfig {
            file: file.config.file.clone(),
            hash: config_hash.clone().unwrap_or_default(),
            judging: file.config.judging.clone(),
        });
    let configured_version = loaded
        .config
        .as_ref()
        .and_then(|file| file.config.kubernetes_version.as_deref());
    if loaded.version.is_none()
        && let Some(text) = configured_version
        && KubeVersion::parse(text).is_none()
    {
        eprintln!(
            "error: kubernetesVersion `{text}` in the configuration is not a Kubernetes version"
        );
        return exit::INCOMPLETE;
    }
    let mut version = loaded
        .version
        .or_else(|| configured_version.and_then(KubeVersion::parse));
    if let Some(text) = &arguments.kube_version {
        match KubeVersion::parse(text) {
            Some(parsed) => version = Some(parsed),
            None => {
                eprintln!(
                    "error: --kube-version `{text}` is not a Kubernetes version (write it as `v1.30`)"
                );
                return exit::INCOMPLETE;
            }
        }
    }
    let bytes = match rampart_bundle::build_with(
        &loaded.set,
        version.filter(|version| *version != KubeVersion::LATEST),
        arguments.abi.abi(),
        embedded.as_ref(),
    ) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("error: cannot build the bundle: {error}");
            return exit::INCOMPLETE;
        }
    };
    if let Err(error) = std::fs::write(&arguments.output, &bytes) {
        eprintln!(
            "error: cannot write `{}`: {error}",
            arguments.output.display()
        );
        return exit::INCOMPLETE;
    }
    eprintln!(
        "wrote {}{} ({} policies{}, {} KiB, judging as Kubernetes {})",
        arguments.output.display(),
        if arguments.abi == AbiArgument::Kubewarden {
            ", a Kubewarden policy"
        } else {
            ""
        },
        loaded.set.policies.len(),
        embedded
            .as_ref()
            .map(|config| format!(", configured by {}", config.file))
            .unwrap_or_default(),
        bytes.len().div_ceil(1024),
        version.unwrap_or(KubeVersion::LATEST)
    );
    exit::CLEAN
}

/// Opens a bundle for `rampart check --bundle`: the running module (judging
/// as of today), and its policies read back natively (for reports: controls,
/// SARIF rules). The bundle judges with the configuration built into it;
/// `found`, the configuration file the command line names or finds (none
/// under `--no-config`), is warned about when it is not that one, since it
/// is not what the bundle applies.
pub fn open_bundle_with(
    path: &Path,
    found: Option<&Path>,
) -> Result<(Bundle, LoadedPolicies), String> {
    let bytes = crate::inputs::read::read_bytes(path, crate::inputs::read::BUNDLE_LIMIT)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    let contents =
        rampart_bundle::contents(&bytes).map_err(|error| format!("{}: {error}", path.display()))?;
    let mut bundle =
        Bundle::load(&bytes).map_err(|error| format!("{}: {error}", path.display()))?;
    bundle.set_today(config::today());
    if let Some(found) = found
        && let Some(warning) = config_mismatch(path, found, contents.config.as_ref())
    {
        eprintln!("warning: {warning}");
    }
    let loaded = LoadedPolicies {
        set: contents.set,
        diagnostics: Vec::new(),
        sources: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
        version: contents.version,
        config: None,
    };
    Ok((bundle, loaded))
}

/// Why the configuration file `found` is not the one built into the bundle
/// at `path`, if it is not.
fn config_mismatch(
    path: &Path,
    found: &Path,
    built_in: Option<&rampart_bundle::EmbeddedConfig>,
) -> Option<String> {
    let hash = crate::inputs::read::read_text(found, crate::inputs::read::SOURCE_LIMIT)
        .ok()
        .map(|text| rampart_bundle::text_hash(&text));
    let found_name = crate::inputs::display_name(found);
    match built_in {
        Some(built_in) if hash.as_deref() == Some(built_in.hash.as_str()) => None,
        Some(built_in) => Some(format!(
            "`{found_name}` differs from the configuration built into `{}` (from `{}`): the bundle judges with its own; \
             rebuild it with `rampart build` to apply this one",
            path.display(),
            built_in.file
        )),
        None => Some(format!(
            "`{}` was built without a configuration: `{found_name}` is not applied; rebuild it with `rampart build` to apply it",
            path.display()
        )),
    }
}

/// Evaluates every resource of every input through the bundle, one resource
/// per call (so that a resource that exhausts the bundle's fuel or memory is
/// an error for that resource only), reported exactly as the native path.
pub fn evaluate_bundle(
    bundle: &mut Bundle,
    loaded: &LoadedPolicies,
    inputs: &[InputFile],
) -> Report {
    let mut inventory_error = None;
    if bundle.uses_inventory() {
        let mut ignored = Vec::new();
        let all: Vec<&rampart_engine::json::Json> = inputs
            .iter()
            .flat_map(|input| load::resources(&input.documents, &mut ignored))
            .map(|resource| resource.value)
            .collect();
        match serde_json::to_vec(&all) {
            Ok(bytes) => {
                if let Err(error) = bundle.set_inventory(Some(bytes)) {
                    inventory_error = Some(error.to_string());
                }
            }
            Err(error) => inventory_error = Some(error.to_string()),
        }
    }
    // What the bundle's own judging did, folded into the report after.
    let mut suppressed = 0;
    let mut exempted = 0;
    let judging = bundle.judging();
    let mut exception_used = vec![false; judging.exceptions.len()];
    let mut report = check::evaluate_with(loaded, inputs, &mut |subject| {
        if let Some(message) = &inventory_error {
            return Err(format!("cannot give the bundle the inventory: {message}"));
        }
        let input = serde_json::to_vec(subject.resource).map_err(|error| error.to_string())?;
        let outcome = bundle.evaluate(&input).map_err(|error| error.to_string())?;
        suppressed += outcome.suppressed;
        exempted += outcome.exempted;
        for index in outcome.exceptions_used {
            if let Some(used) = exception_used.get_mut(index) {
                *used = true;
            }
        }
        let mut evaluation = Evaluation::default();
        for finding in outcome.findings {
            evaluation.findings.push(Finding {
                policy: finding.policy.into(),
                rule: finding.rule,
                action: finding.action,
                severity: finding.severity,
                message: finding.message,
                pointer: finding.path,
                fix: finding.fix,
            });
        }
        for error in outcome.errors {
            evaluation.errors.push(EvalError {
                policy: error.policy.unwrap_or_default(),
                message: error.message,
            });
        }
        Ok(evaluation)
    });
    // An exempt resource was sent, but not judged: it counts as exempted,
    // as `check` counts it, not as judged.
    report.summary.suppressed += suppressed;
    report.summary.exempted += exempted;
    report.summary.resources = report.summary.resources.saturating_sub(exempted);
    // The built-in exceptions that expired or dropped nothing are warned
    // about as `check` warns about its own (the bundle keeps no line).
    let file = bundle
        .config()
        .and_then(|config| config.get("file"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    report.warnings.extend(
        rampart_core::Judge::new(&loaded.set, &judging, bundle.today())
            .exception_warnings(&file, &exception_used),
    );
    report
}
