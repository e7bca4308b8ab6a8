//! Rampart's standard library: policies written in Rampart's own language,
//! embedded as source, and the named sets users select with `--set`.

mod sets;

pub use sets::{PolicySetDefinition, SETS, set, set_names};

include!(concat!(env!("OUT_DIR"), "/files.rs"));

/// The standard library's sources, named `stdlib/<path>` in diagnostics.
pub fn sources() -> impl Iterator<Item = (String, &'static str)> {
    FILES
        .iter()
        .map(|(path, text)| (format!("stdlib/{path}"), *text))
}
