//! Which policies run: `--policy` files and directories, `--set` names from
//! the standard library (with an optional `@v1.30` version), compiled together.

use crate::inputs::walk::{self, Walker};
use crate::inputs::{InputProblem, read};
use rampart_core::{Date, Exemptions, Judge, Judging};
use rampart_engine::KubeVersion;
use rampart_engine::helpers::glob;
use rampart_engine::ir::PolicySet;
use rampart_lang::{Diagnostic, Source};
use std::path::PathBuf;

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
    /// What the walk of the policy paths left out that is worth a note.
    pub notes: Vec<InputProblem>,
    /// The Kubernetes version asked for with `--set name@version`.
    pub version: Option<KubeVersion>,
    /// The configuration file in force, if any: its exceptions and
    /// exemptions are applied when judging.
    pub config: Option<crate::config::ConfigFile>,
}

/// What a run without a configuration judges with: no exception, no
/// exemption.
static NO_JUDGING: Judging = Judging {
    exceptions: Vec::new(),
    exemptions: Exemptions {
        namespaces: Vec::new(),
        usernames: Vec::new(),
        runtime_class_names: Vec::new(),
    },
    allow_annotation_exemptions: false,
};

impl LoadedPolicies {
    /// The configuration's exceptions and exemptions (none without one).
    pub fn judging(&self) -> &Judging {
        self.config
            .as_ref()
            .map_or(&NO_JUDGING, |file| &file.config.judging)
    }

    /// The configuration file's name, as shown in messages.
    pub fn config_file(&self) -> &str {
        self.config
            .as_ref()
            .map_or("", |file| file.config.file.as_str())
    }

    /// A judge of this run's findings, with exceptions expiring as of
    /// `today`.
    pub fn judge(&self, today: Date) -> Judge<'_> {
        Judge::new(&self.set, self.judging(), today)
    }
}

/// The policy files of the command line's paths, read.
#[derive(Default)]
pub struct PolicySources {
    /// The sources, in the walk's order.
    pub sources: Vec<Source>,
    /// Per path of the command line: the path and the names of the sources
    /// it added (a file another path found first counts for that one).
    pub by_path: Vec<(PathBuf, Vec<String>)>,
    /// What the walk left out that is worth a note.
    pub notes: Vec<InputProblem>,
}

/// Reads `.rampart` files from paths (directories walked by the rules of
/// [`walk`]); a directory without one is a problem.
pub fn read_sources(paths: &[PathBuf], problems: &mut Vec<String>) -> PolicySources {
    let mut walker = Walker::new(walk::POLICIES);
    let mut added = Vec::new();
    for path in paths {
        let found = walker.add(path);
        if found.directory && found.found == 0 {
            problems.push(format!(
                "{}: no policy files (.rampart) in this directory",
                path.display()
            ));
        }
        added.push((path.clone(), found));
    }
    problems.extend(walker.errors.iter().map(ToString::to_string));
    let mut read = PolicySources {
        notes: walker
            .notes
            .iter()
            .map(|note| InputProblem {
                file: note.path().display().to_string(),
                error: crate::inputs::message_only(note.reason()),
            })
            .collect(),
        ..PolicySources::default()
    };
    let mut names = Vec::with_capacity(walker.files.len());
    for file in &walker.files {
        let name = crate::inputs::display_name(file);
        match read::read_text(file, read::SOURCE_LIMIT) {
            Ok(text) => read.sources.push(Source {
                name: name.clone(),
                text,
            }),
            Err(error) => problems.push(format!("{}: cannot read: {error}", file.display())),
        }
        names.push(name);
    }
    let ends = added
        .iter()
        .skip(1)
        .map(|(_, found)| found.first)
        .chain([names.len()]);
    for ((path, found), end) in added.iter().zip(ends) {
        let added_names = names.get(found.first..end).unwrap_or_default().to_vec();
        read.by_path.push((path.clone(), added_names));
    }
    read
}

/// Problems for paths that hold no policy: their files compiled without an
/// error, and neither declare a policy nor a function other files can call.
/// A policy path that adds nothing to a run must not let it pass unnoticed.
fn paths_without_policies(
    read: &PolicySources,
    compilation: &rampart_lang::Compilation,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, names) in &read.by_path {
        if names.is_empty() {
            // Nothing found (an error already), or found first by another path.
            continue;
        }
        let from_path = |file: &str| names.iter().any(|name| name == file);
        let has_policy = compilation.set.policies.iter().any(|policy| {
            policy
                .origin
                .rsplit_once(':')
                .is_some_and(|(file, _)| from_path(file))
        });
        let has_error = compilation.diagnostics.iter().any(|diagnostic| {
            diagnostic.level == rampart_lang::Level::Error && from_path(&diagnostic.file)
        });
        if has_policy || has_error {
            continue;
        }
        let declares_function = read
            .sources
            .iter()
            .filter(|source| from_path(&source.name))
            .any(|source| {
                let mut reporter =
                    rampart_lang::diagnostic::Reporter::new(&source.name, &source.text);
                !rampart_lang::parse::parse(&source.text, &mut reporter)
                    .functions
                    .is_empty()
            });
        if !declares_function {
            problems.push(format!(
                "{}: holds no policy: nothing would be checked by it",
                path.display()
            ));
        }
    }
    problems
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
    let read = read_sources(policy_paths, &mut problems);
    let user = rampart_lang::compile(&read.sources);
    problems.extend(paths_without_policies(&read, &user));
    let mut diagnostics = user.diagnostics;
    let notes = read.notes;
    let mut sources = read.sources;
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
    let failed = !problems.is_empty()
        || diagnostics
            .iter()
            .any(|diagnostic| diagnostic.level == rampart_lang::Level::Error);
    if set.policies.is_empty() && !failed {
        // Every path held something, yet nothing runs (files of functions
        // only): a run that judges nothing must not pass.
        problems.push("no policy to run: the policy files declare none".to_owned());
    }
    LoadedPolicies {
        set,
        diagnostics,
        sources,
        problems,
        notes,
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
