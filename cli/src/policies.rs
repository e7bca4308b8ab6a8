//! Which policies run: `--policy` files and directories, `--set` names from
//! the standard library (with an optional `@v1.30` version), compiled together.

use rampart_engine::KubeVersion;
use rampart_engine::helpers::glob;
use rampart_engine::ir::PolicySet;
use rampart_lang::{Diagnostic, Source};
use std::path::{Path, PathBuf};

/// The compiled policies of a run, and everything that went wrong.
pub struct LoadedPolicies {
    /// The policies that compiled (and were selected).
    pub set: PolicySet,
    /// Compiler diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    /// Sources of the diagnostics, for code frames.
    pub sources: Vec<Source>,
    /// Other problems (unknown set, unreadable file).
    pub problems: Vec<String>,
    /// The Kubernetes version asked for with `--set name@version`.
    pub version: Option<KubeVersion>,
    /// The configuration file in force, if any: exceptions are applied
    /// to findings from it.
    pub config: Option<crate::config::Config>,
}

/// Reads `.rampart` files from paths (directories recursively).
pub fn read_sources(paths: &[PathBuf], problems: &mut Vec<String>) -> Vec<Source> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect(path, &mut files);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            problems.push(format!(
                "{}: no such policy file or directory",
                path.display()
            ));
        }
    }
    let mut sources = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => sources.push(Source {
                name: crate::inputs::display_name(&file),
                text,
            }),
            Err(error) => problems.push(format!("{}: cannot read: {error}", file.display())),
        }
    }
    sources
}

fn collect(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect(&path, files);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "rampart")
        {
            files.push(path);
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/stdlib-ir.rs"));

/// The standard library as compiled when the binary was built, if it
/// compiled: its functions and the policies whose id `wanted` accepts (the
/// others are not even deserialized).
pub fn precompiled_stdlib(wanted: impl Fn(&str) -> bool) -> Option<PolicySet> {
    if !STDLIB_COMPILED {
        return None;
    }
    let policies = STDLIB_POLICIES
        .iter()
        .filter(|(id, _)| wanted(id))
        .map(|(_, ir)| serde_json::from_str(ir).ok())
        .collect::<Option<Vec<_>>>()?;
    Some(PolicySet {
        version: STDLIB_IR_VERSION,
        policies,
        functions: serde_json::from_str(STDLIB_FUNCTIONS).ok()?,
    })
}

/// The standard library's sources.
pub fn stdlib_sources() -> Vec<Source> {
    rampart_stdlib::sources()
        .map(|(name, text)| Source {
            name,
            text: text.to_owned(),
        })
        .collect()
}

/// Compiles what the command line asks for. With neither policies nor sets,
/// the `recommended` set runs.
pub fn load(policy_paths: &[PathBuf], set_names: &[String]) -> LoadedPolicies {
    let mut problems = Vec::new();
    let mut version = None;
    let mut patterns: Vec<&'static str> = Vec::new();
    let default_sets = ["recommended".to_owned()];
    let set_names = if policy_paths.is_empty() && set_names.is_empty() {
        &default_sets[..]
    } else {
        set_names
    };
    for requested in set_names {
        let (name, requested_version) = match requested.split_once('@') {
            Some((name, version)) => (name, Some(version)),
            None => (requested.as_str(), None),
        };
        if let Some(requested_version) = requested_version {
            match KubeVersion::parse(requested_version) {
                Some(parsed) => version = Some(parsed),
                None => problems.push(format!(
                    "--set {requested}: `{requested_version}` is not a Kubernetes version (write it as `v1.30`)"
                )),
            }
        }
        match rampart_stdlib::set(name) {
            Some(set) => patterns.extend(set.include),
            None => {
                let known: Vec<&str> = rampart_stdlib::set_names().collect();
                problems.push(format!(
                    "--set {name}: no such set (known sets: {})",
                    known.join(", ")
                ));
            }
        }
    }
    let user_sources = read_sources(policy_paths, &mut problems);
    let user = rampart_lang::compile(&user_sources);
    let mut diagnostics = user.diagnostics;
    let mut sources = user_sources;
    let selected = |id: &str| patterns.iter().any(|pattern| glob::matches(pattern, id));
    let mut set = if patterns.is_empty() {
        rampart_engine::PolicySet {
            version: rampart_engine::ir::IR_VERSION,
            ..Default::default()
        }
    } else {
        match precompiled_stdlib(selected) {
            Some(set) => set,
            None => {
                let stdlib = stdlib_sources();
                let compilation = rampart_lang::compile(&stdlib);
                diagnostics.extend(compilation.diagnostics);
                sources.extend(stdlib);
                compilation.set
            }
        }
    };
    set.policies.retain(|policy| selected(&policy.id));
    for duplicate in set.merge(user.set) {
        problems.push(format!(
            "policy `{duplicate}` is defined by the standard library and again by a policy file"
        ));
    }
    LoadedPolicies {
        set,
        diagnostics,
        sources,
        problems,
        version,
        config: None,
    }
}

/// `rampart list`.
pub fn list(json: bool) -> u8 {
    let compilation = rampart_lang::compile(&stdlib_sources());
    if json {
        let sets: Vec<serde_json::Value> = rampart_stdlib::SETS
            .iter()
            .map(|set| {
                let policies: Vec<&str> = compilation
                    .set
                    .policies
                    .iter()
                    .filter(|policy| set.include.iter().any(|pattern| glob::matches(pattern, &policy.id)))
                    .map(|policy| policy.id.as_str())
                    .collect();
                serde_json::json!({"name": set.name, "description": set.description, "policies": policies})
            })
            .collect();
        let policies: Vec<serde_json::Value> = compilation
            .set
            .policies
            .iter()
            .map(|policy| {
                serde_json::json!({
                    "id": policy.id, "title": policy.title, "severity": policy.severity,
                    "controls": policy.controls,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"sets": sets, "policies": policies})
        );
        return crate::exit::CLEAN;
    }
    println!("Sets:");
    for set in rampart_stdlib::SETS {
        let count = compilation
            .set
            .policies
            .iter()
            .filter(|policy| {
                set.include
                    .iter()
                    .any(|pattern| glob::matches(pattern, &policy.id))
            })
            .count();
        println!(
            "  {:<16} {:>3} policies  {}",
            set.name, count, set.description
        );
    }
    println!();
    println!("Policies:");
    for policy in &compilation.set.policies {
        println!(
            "  {:<48} {:<8} {}",
            policy.id,
            policy.severity.as_str(),
            policy.title
        );
    }
    if compilation.has_errors() {
        eprintln!("the standard library has compile errors; run `rampart test` on it");
        return crate::exit::INCOMPLETE;
    }
    crate::exit::CLEAN
}
