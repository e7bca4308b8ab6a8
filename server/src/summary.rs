//! The size limits of an answer and of an audit line, and the summaries that
//! keep them. They live in `rampart_core::admission::summary`, so that every
//! admission host (this webhook, the Kubewarden guest) answers within the
//! same limits; this module names them for the server's users.

pub use rampart_core::admission::summary::*;
