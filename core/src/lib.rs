//! Rampart's library at the centre: what users run is not a policy but a
//! *prepared policy set* — compiled policies with the configuration's
//! parameters and actions applied, the configuration's exceptions and
//! exemptions, the Kubernetes version and the evaluation plans — and the
//! one way of judging resources with it. Every host (the `rampart` CLI,
//! the admission webhook, the Wasm bundle's guest, the playground) is a
//! thin shell over this crate, so they all judge alike.
//!
//! Embedding it: compile policies, apply a `rampart.yaml`, prepare, judge.
//!
//! ```
//! use rampart_core::{Config, Date, PreparedSet};
//! use rampart_engine::EvalOptions;
//!
//! let source = rampart_lang::Source {
//!     name: "policies/replicas.rampart".into(),
//!     text: r#"
//!         policy example.replicas {
//!           severity medium
//!           param most: int = 3
//!           match kinds Deployment
//!           deny resource.spec.replicas > params.most
//!             at spec.replicas
//!             message "{resource.spec.replicas} replicas; at most {params.most}"
//!         }
//!     "#.into(),
//! };
//! let compilation = rampart_lang::compile(&[source]);
//! assert!(!compilation.has_errors());
//!
//! let mut problems = Vec::new();
//! let config = Config::parse(
//!     "params:\n  example.replicas:\n    most: 5\n\
//!      exceptions:\n  - policy: example.*\n    namespace: legacy\n    reason: migrating (OPS-1)\n    expires: 2027-03-31\n",
//!     "rampart.yaml",
//!     &mut problems,
//! )
//! .unwrap_or_default();
//! let mut set = compilation.set;
//! config.apply(&mut set, &mut problems);
//! assert!(problems.is_empty());
//! let prepared = PreparedSet::new(set, config.judging, EvalOptions::default());
//!
//! let manifests = "\
//! apiVersion: apps/v1
//! kind: Deployment
//! metadata: {name: web, namespace: shop}
//! spec:
//!   replicas: 8
//! ---
//! apiVersion: apps/v1
//! kind: Deployment
//! metadata: {name: old, namespace: legacy}
//! spec:
//!   replicas: 8
//! ";
//! let loaded = rampart_engine::load::load_str(manifests, &Default::default());
//! let today = Date::parse("2027-01-15")?;
//! let judged = prepared.judge_documents("web.yaml", &loaded.documents, today);
//! // The parameter is raised to 5, and the exception covers `legacy`.
//! assert_eq!(judged.findings.len(), 1);
//! assert_eq!(judged.findings[0].message, "8 replicas; at most 5");
//! assert_eq!((judged.findings[0].line, judged.findings[0].column), (5, 3));
//! assert_eq!(judged.suppressed, 1);
//!
//! // After its expiry date the exception no longer applies.
//! let later = prepared.judge_documents("web.yaml", &loaded.documents, Date::parse("2027-04-01")?);
//! assert_eq!(later.findings.len(), 2);
//! # Ok::<(), rampart_core::DateError>(())
//! ```

pub mod admission;
#[cfg(feature = "compiler")]
pub mod config;
pub mod date;
pub mod finding;
pub mod judge;
pub mod judging;
pub mod prepared;

#[cfg(feature = "compiler")]
pub use config::{Config, ConfigProblem};
pub use date::{Date, DateError};
pub use finding::{JudgedFinding, Problem, ResourceIdentity};
pub use judge::{Controls, Judge, Judged};
pub use judging::{Exception, Exempt, Exemptions, Judging};
pub use prepared::PreparedSet;
