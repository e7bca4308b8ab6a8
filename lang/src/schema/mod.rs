//! The Kubernetes API types that policies are checked against.
//!
//! The data comes from the OpenAPI schemas shipped with `k8s-openapi`
//! (Kubernetes 1.35), converted by `lang/build.rs` into static tables, so this
//! module needs neither that crate nor any parsing at runtime.
//!
//! Only stable (GA) API versions are included, one version per group.

#[cfg(test)]
mod known_names_test;
mod suggest;
mod table;
#[cfg(test)]
mod tests;

use std::fmt;

pub use suggest::suggest;
use table::{DEFINITIONS, Definition, FieldEntry, KINDS, SHORT_NAMES, TypeCode, UNKNOWN};

/// A type as the checker sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// Anything: untyped schema parts such as `IntOrString`, `RawExtension`
    /// or free-form JSON. Every operation is allowed on it.
    Any,
    /// The `null` literal.
    Null,
    /// A boolean.
    Bool,
    /// An integer (`int32` or `int64` in the schema).
    Int,
    /// A floating-point number.
    Float,
    /// A string, including dates, base64 bytes and quantities such as `500m`.
    String,
    /// A list whose items have the given type.
    List(Box<Type>),
    /// A map from string keys to values of the given type, e.g. `labels`.
    Map(Box<Type>),
    /// An object with a known set of fields.
    Object(ObjectType),
}

impl Type {
    fn from_code(code: &TypeCode) -> Self {
        match code {
            TypeCode::Any => Self::Any,
            TypeCode::Bool => Self::Bool,
            TypeCode::Int => Self::Int,
            TypeCode::Float => Self::Float,
            TypeCode::String => Self::String,
            TypeCode::List(items) => Self::List(Box::new(Self::from_code(items))),
            TypeCode::Map(values) => Self::Map(Box::new(Self::from_code(values))),
            TypeCode::Object(index) => Self::Object(ObjectType(*index)),
        }
    }
}

/// Renders the type as shown in diagnostics, e.g. `list<Container>` or
/// `map<string>`.
impl fmt::Display for Type {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => formatter.write_str("any"),
            Self::Null => formatter.write_str("null"),
            Self::Bool => formatter.write_str("bool"),
            Self::Int => formatter.write_str("int"),
            Self::Float => formatter.write_str("float"),
            Self::String => formatter.write_str("string"),
            Self::List(items) => write!(formatter, "list<{items}>"),
            Self::Map(values) => write!(formatter, "map<{values}>"),
            Self::Object(object) => formatter.write_str(object.name()),
        }
    }
}

/// An object definition of the Kubernetes API, such as `PodSpec`.
///
/// Cheap to copy and compare; it is an index into the static tables, so it
/// can only be obtained from this module.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectType(u16);

impl ObjectType {
    fn definition(self) -> &'static Definition {
        DEFINITIONS.get(usize::from(self.0)).unwrap_or(&UNKNOWN)
    }

    /// The short name, e.g. `Container`. Not unique across API groups.
    pub fn name(self) -> &'static str {
        self.definition().name
    }

    /// The unique OpenAPI name, e.g. `io.k8s.api.core.v1.Container`.
    pub fn full_name(self) -> &'static str {
        self.definition().full_name
    }

    /// The first sentence of the upstream description (may be empty).
    pub fn description(self) -> &'static str {
        self.definition().description
    }

    /// The field with this exact (case-sensitive) name.
    pub fn field(self, name: &str) -> Option<Field> {
        let fields = self.definition().fields;
        let position = fields.binary_search_by(|entry| entry.name.cmp(name)).ok()?;
        fields.get(position).map(Field::from_entry)
    }

    /// All fields, sorted by name.
    pub fn fields(self) -> impl Iterator<Item = Field> {
        self.definition().fields.iter().map(Field::from_entry)
    }
}

/// Shows the full name rather than the meaningless table index.
impl fmt::Debug for ObjectType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "ObjectType({})", self.full_name())
    }
}

/// One field of an [`ObjectType`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field name as written in YAML, e.g. `securityContext`.
    pub name: &'static str,
    /// The field's type.
    pub ty: Type,
    /// The first sentence of the upstream description (may be empty).
    pub description: &'static str,
}

impl Field {
    fn from_entry(entry: &'static FieldEntry) -> Self {
        Self {
            name: entry.name,
            ty: Type::from_code(&entry.ty),
            description: entry.description,
        }
    }
}

/// The root type of a built-in kind, e.g. `(Some("apps/v1"), "Deployment")`.
///
/// Without an apiVersion, a kind defined in several groups (such as `Event`,
/// in `v1` and `events.k8s.io/v1`) resolves by group preference: core, then
/// apps, batch, networking, rbac, policy, autoscaling, storage,
/// admissionregistration, then the other groups alphabetically. Kinds are
/// case-sensitive.
pub fn kind(api_version: Option<&str>, kind: &str) -> Option<ObjectType> {
    KINDS
        .iter()
        .find(|entry| {
            entry.kind == kind && api_version.is_none_or(|version| entry.api_version == version)
        })
        .map(|entry| ObjectType(entry.root))
}

/// All built-in kinds as `(apiVersion, kind, root type)`, sorted by kind and
/// then in the group preference order described at [`kind`].
pub fn kinds() -> impl Iterator<Item = (&'static str, &'static str, ObjectType)> {
    KINDS
        .iter()
        .map(|entry| (entry.api_version, entry.kind, ObjectType(entry.root)))
}

/// The definition with this full name (`io.k8s.api.core.v1.Container`) or
/// short name (`Container`).
///
/// A short name defined in several groups (such as `Subject`, in rbac and
/// flowcontrol) resolves by preference: core, then meta (apimachinery), apps,
/// batch, networking, rbac, policy, autoscaling, storage,
/// admissionregistration, then the other groups alphabetically by full name.
/// Definitions that map to a scalar or to `Any` (such as `Quantity` or
/// `IntOrString`) are not objects and are not found.
pub fn object_type(short_or_full_name: &str) -> Option<ObjectType> {
    if short_or_full_name.contains('.') {
        let index = DEFINITIONS
            .binary_search_by(|definition| definition.full_name.cmp(short_or_full_name))
            .ok()?;
        return u16::try_from(index).ok().map(ObjectType);
    }
    // The table is sorted by short name, then preference: take the first.
    let first = SHORT_NAMES.partition_point(|(name, _)| *name < short_or_full_name);
    SHORT_NAMES
        .get(first)
        .filter(|(name, _)| *name == short_or_full_name)
        .map(|(_, index)| ObjectType(*index))
}
