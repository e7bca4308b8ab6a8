//! `rampart.yaml` as files: found by walking up from the working directory
//! (or named with `--config`), read with the bounded reader, and its
//! `policies:` resolved against the file's directory. What the file says
//! and how it is applied is `rampart_core::Config`'s business.

pub use rampart_core::config::FILE_NAMES;
pub use rampart_core::{Config, ConfigProblem, Date};
use std::path::{Path, PathBuf};

/// A configuration read from its file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// What the file says.
    pub config: Config,
    /// `policies:`, resolved against the file's directory.
    pub policies: Vec<PathBuf>,
}

/// Today's date (UTC), against which exceptions expire: the one place the
/// command line reads the clock.
pub fn today() -> Date {
    Date::today()
}

/// Finds the configuration file: `explicit` if given, else the first
/// `rampart.yaml` walking up from the working directory.
pub fn discover(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let mut directory = std::env::current_dir().ok()?;
    loop {
        for name in FILE_NAMES {
            let candidate = directory.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        if !directory.pop() {
            return None;
        }
    }
}

/// Reads and checks a configuration file; problems are collected, and what
/// could be read is returned.
pub fn read(path: &Path, problems: &mut Vec<ConfigProblem>) -> Option<ConfigFile> {
    let file = crate::inputs::display_name(path);
    let text = match crate::inputs::read::read_text(path, crate::inputs::read::SOURCE_LIMIT) {
        Ok(text) => text,
        Err(error) => {
            problems.push(ConfigProblem {
                file,
                position: None,
                message: format!("cannot read the configuration: {error}"),
            });
            return None;
        }
    };
    let config = Config::parse(&text, &file, problems)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let policies = config
        .policies
        .iter()
        .map(|policy| base.join(policy))
        .collect();
    Some(ConfigFile { config, policies })
}

/// Finds and reads the configuration, unless `ignore` (`--no-config`).
pub fn find(
    explicit: Option<&Path>,
    ignore: bool,
    problems: &mut Vec<ConfigProblem>,
) -> Option<ConfigFile> {
    if ignore {
        return None;
    }
    discover(explicit).and_then(|path| read(&path, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_resolved_against_the_file_directory() {
        let directory =
            std::env::temp_dir().join(format!("rampart-config-unit-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&directory);
        let path = directory.join("rampart.yaml");
        let written = std::fs::write(
            &path,
            "policies: [policies/, ../shared]\nexemptions:\n  namespaces: [kube-system]\n",
        );
        assert!(written.is_ok());
        let mut problems = Vec::new();
        let file = read(&path, &mut problems);
        let _ = std::fs::remove_dir_all(&directory);
        assert!(problems.is_empty(), "{problems:?}");
        let Some(file) = file else {
            panic!("the configuration was not read");
        };
        assert_eq!(
            file.policies,
            vec![directory.join("policies/"), directory.join("../shared")]
        );
        assert_eq!(
            file.config.judging.exemptions.namespaces,
            vec!["kube-system".to_owned()]
        );
    }
}
