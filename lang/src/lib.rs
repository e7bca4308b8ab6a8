//! Rampart's policy language: grammar, parser, type checker against the
//! Kubernetes API, and lowering to the engine's IR.
//!
//! ```
//! let source = rampart_lang::Source {
//!     name: "example.rampart".into(),
//!     text: r#"
//!         policy example.no_privileged {
//!           severity high
//!           match pods
//!           for c in pod.containers {
//!             deny c.securityContext.privileged == true
//!               message "container {c.name} is privileged"
//!           }
//!         }
//!     "#.into(),
//! };
//! let compilation = rampart_lang::compile(&[source]);
//! assert!(!compilation.has_errors());
//! assert_eq!(compilation.set.policies.len(), 1);
//! ```

pub mod ast;
pub mod compile;
pub mod diagnostic;
pub mod format;
pub mod limits;
pub mod parse;
pub mod schema;
pub mod testing;

pub use compile::{Compilation, Source, compile};
pub use diagnostic::{Diagnostic, Level};
