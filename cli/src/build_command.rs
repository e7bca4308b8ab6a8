//! `rampart build`: compiles policies into one self-contained WebAssembly
//! module, and `rampart check --bundle`: evaluates through such a module.

use crate::check;
use crate::exit;
use crate::inputs::InputFile;
use crate::policies::{self, LoadedPolicies};
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
    let loaded = policies::load(&arguments.policies, &arguments.sets);
    let mut failed = false;
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
        eprintln!("error: no bundle written: the policies have errors");
        return exit::INCOMPLETE;
    }
    let mut version = loaded.version;
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
    let bytes = match rampart_bundle::build_for(
        &loaded.set,
        version.filter(|version| *version != KubeVersion::LATEST),
        arguments.abi.abi(),
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
        "wrote {}{} ({} policies, {} KiB, judging as Kubernetes {})",
        arguments.output.display(),
        if arguments.abi == AbiArgument::Kubewarden {
            ", a Kubewarden policy"
        } else {
            ""
        },
        loaded.set.policies.len(),
        bytes.len().div_ceil(1024),
        version.unwrap_or(KubeVersion::LATEST)
    );
    exit::CLEAN
}

/// Opens a bundle for `rampart check --bundle`: the running module, and its
/// policies read back natively (for reports: controls, SARIF rules).
pub fn open_bundle(path: &Path) -> Result<(Bundle, LoadedPolicies), String> {
    let bytes = crate::inputs::read::read_bytes(path, crate::inputs::read::BUNDLE_LIMIT)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    let (set, version) =
        rampart_bundle::policies(&bytes).map_err(|error| format!("{}: {error}", path.display()))?;
    let bundle = Bundle::load(&bytes).map_err(|error| format!("{}: {error}", path.display()))?;
    let loaded = LoadedPolicies {
        set,
        diagnostics: Vec::new(),
        sources: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
        version,
        config: None,
    };
    Ok((bundle, loaded))
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
    check::evaluate_with(loaded, inputs, &mut |subject| {
        if let Some(message) = &inventory_error {
            return Err(format!("cannot give the bundle the inventory: {message}"));
        }
        let input = serde_json::to_vec(subject.resource).map_err(|error| error.to_string())?;
        let outcome = bundle.evaluate(&input).map_err(|error| error.to_string())?;
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
    })
}
