//! Local names of the policy or function being compiled.

use super::types::Ty;
use rampart_engine::ir::Slot;

/// A local variable.
#[derive(Clone, Debug)]
pub struct Local {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// Its slot.
    pub slot: Slot,
    /// Whether it is bound to a place in the resource (so `at` can point at it).
    pub located: bool,
}

/// The names in scope, innermost last, and how many slots were handed out.
#[derive(Debug, Default)]
pub struct Scope {
    locals: Vec<Local>,
    marks: Vec<usize>,
    next_slot: Slot,
    /// The type of `resource`.
    pub resource: Option<Ty>,
    /// Whether `pod` is defined (the policy matches pods).
    pub has_pod: bool,
    /// The parameters: name, type.
    pub params: Vec<(String, Ty)>,
    /// Whether `resources(...)` was called.
    pub uses_inventory: bool,
    /// How many rules were compiled.
    pub rules: u32,
}

impl Scope {
    /// Binds a name to a fresh slot.
    pub fn bind(&mut self, name: &str, ty: Ty, located: bool) -> Slot {
        let slot = self.next_slot;
        self.next_slot += 1;
        self.locals.push(Local {
            name: name.to_owned(),
            ty,
            slot,
            located,
        });
        slot
    }

    /// Opens a nested scope.
    pub fn enter(&mut self) {
        self.marks.push(self.locals.len());
    }

    /// Closes the innermost scope.
    pub fn leave(&mut self) {
        if let Some(mark) = self.marks.pop() {
            self.locals.truncate(mark);
        }
    }

    /// The innermost local with this name.
    pub fn lookup(&self, name: &str) -> Option<&Local> {
        self.locals.iter().rev().find(|local| local.name == name)
    }

    /// Names in scope, for suggestions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.locals.iter().map(|local| local.name.as_str())
    }

    /// How many slots a frame needs.
    pub fn slots(&self) -> Slot {
        self.next_slot
    }
}
