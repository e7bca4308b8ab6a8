//! Domain helpers behind the builtins: Kubernetes quantities, image
//! references, globs and label selectors. Each is plain, allocation-light code
//! with its own tests.

pub mod glob;
pub mod image;
pub mod quantity;
pub mod selector;

#[cfg(test)]
mod tests;
