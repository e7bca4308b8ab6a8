//! Reading a serialized [`PolicySet`] back: the one way every host loads IR
//! (the CLI's embedded standard library, the webhook's per-thread copies, a
//! Wasm bundle's guest).
//!
//! serde_json refuses input nested deeper than 128 levels by default, and an
//! expression costs two levels of JSON per level of nesting (`{"Binary":
//! ["or", left, right]}`): a chain of 60 `or`s compiled fine and then could not
//! be read back. Here the recursion limit is replaced by a bound of our own,
//! [`MAX_IR_NESTING`], checked by a linear scan before deserializing. The
//! compiler refuses policies nested deeper than its own limits (see
//! `rampart_lang`'s `limits`), which keep every compiled set well under this
//! bound, so anything the compiler accepts every host can load; a hand-made
//! or corrupted IR deeper than the bound is refused with an error instead of
//! exhausting the stack.

use super::PolicySet;
use serde::Deserialize;
use std::fmt;

/// The deepest JSON nesting (objects and arrays) a serialized policy set may
/// have. The compiler's limits on expression and block nesting keep compiled
/// sets far below it (a policy at every compile-time limit at once is under
/// 700 levels); it exists so that a hostile IR is refused before it is read.
pub const MAX_IR_NESTING: usize = 1024;

/// Why a serialized policy set could not be read.
#[derive(Debug)]
pub enum IrReadError {
    /// The JSON is nested deeper than [`MAX_IR_NESTING`].
    TooDeep {
        /// The byte offset where the limit was passed.
        offset: usize,
    },
    /// The JSON is malformed or does not describe a policy set.
    Invalid(serde_json::Error),
    /// The set was written by an incompatible version of the IR.
    Version {
        /// The version the set says it has.
        found: u32,
    },
}

impl fmt::Display for IrReadError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IrReadError::TooDeep { offset } => write!(
                formatter,
                "the compiled policies are nested deeper than {MAX_IR_NESTING} levels (at byte {offset})"
            ),
            IrReadError::Invalid(error) => {
                write!(formatter, "the compiled policies are invalid: {error}")
            }
            IrReadError::Version { found } => write!(
                formatter,
                "the compiled policies have IR version {found}; this build reads version {}",
                super::IR_VERSION
            ),
        }
    }
}

impl std::error::Error for IrReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IrReadError::Invalid(error) => Some(error),
            IrReadError::TooDeep { .. } | IrReadError::Version { .. } => None,
        }
    }
}

impl PolicySet {
    /// Reads a set that `serde_json` serialized, refusing one nested deeper
    /// than [`MAX_IR_NESTING`] or of another IR version.
    pub fn from_json(bytes: &[u8]) -> Result<PolicySet, IrReadError> {
        check_nesting(bytes, MAX_IR_NESTING)?;
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        // The scan above bounds the depth; serde_json's own limit (128) is
        // below what valid compiled sets reach.
        deserializer.disable_recursion_limit();
        let set = PolicySet::deserialize(&mut deserializer).map_err(IrReadError::Invalid)?;
        deserializer.end().map_err(IrReadError::Invalid)?;
        if set.version != super::IR_VERSION {
            return Err(IrReadError::Version { found: set.version });
        }
        Ok(set)
    }

    /// Reads a set from a parsed JSON value (a bundle's payload holds the set
    /// inside a larger document), under the same bound as [`PolicySet::from_json`].
    pub fn from_json_value(value: &serde_json::Value) -> Result<PolicySet, IrReadError> {
        // Re-serializing is cheap next to compiling and keeps one reading path.
        let bytes = serde_json::to_vec(value).map_err(IrReadError::Invalid)?;
        PolicySet::from_json(&bytes)
    }
}

/// Scans JSON text for its deepest nesting of objects and arrays, outside
/// strings, without parsing it: linear time, constant memory.
pub fn check_nesting(bytes: &[u8], limit: usize) -> Result<(), IrReadError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &byte) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Err(IrReadError::TooDeep { offset });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn nesting_is_counted_outside_strings() {
        assert!(check_nesting(nested(5).as_bytes(), 5).is_ok());
        assert!(matches!(
            check_nesting(nested(6).as_bytes(), 5),
            Err(IrReadError::TooDeep { offset: 5 })
        ));
        let in_string = format!("[\"{}\\\"{}\"]", "[".repeat(50), "{".repeat(50));
        assert!(check_nesting(in_string.as_bytes(), 1).is_ok());
    }

    #[test]
    fn a_set_deeper_than_serde_json_allows_round_trips() {
        use crate::ir::{BinaryOp, Expr};
        use crate::json::Json;
        // 200 levels of `or`: 400 levels of JSON, past serde_json's 128.
        let mut expression = Expr::Literal(Json::Bool(false));
        for _ in 0..200 {
            expression = Expr::Binary(
                BinaryOp::Or,
                Box::new(expression),
                Box::new(Expr::Literal(Json::Bool(true))),
            );
        }
        let set = PolicySet {
            version: crate::ir::IR_VERSION,
            policies: Vec::new(),
            functions: vec![crate::ir::Function {
                name: "deep".into(),
                arity: 0,
                slots: 0,
                body: expression,
            }],
        };
        let bytes = serde_json::to_vec(&set).unwrap_or_default();
        assert!(serde_json::from_slice::<PolicySet>(&bytes).is_err());
        let read = PolicySet::from_json(&bytes).map_err(|error| error.to_string());
        assert_eq!(read, Ok(set));
    }

    #[test]
    fn too_deep_and_foreign_versions_are_refused() {
        let deep = format!("{{\"version\":1,\"x\":{}}}", nested(MAX_IR_NESTING));
        assert!(matches!(
            PolicySet::from_json(deep.as_bytes()),
            Err(IrReadError::TooDeep { .. })
        ));
        let old = br#"{"version":0,"policies":[],"functions":[]}"#;
        assert!(matches!(
            PolicySet::from_json(old),
            Err(IrReadError::Version { found: 0 })
        ));
    }
}
