//! The checker's types: the Kubernetes schema's, plus the few that only
//! exist in the language (an image reference, the pod view).

use crate::schema::{self, ObjectType};
use std::fmt;

/// A type as the checker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ty {
    /// Anything: dynamic data, or a kind with no schema.
    Any,
    /// `null`.
    Null,
    /// `bool`.
    Bool,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `string`.
    String,
    /// `[T]`.
    List(Box<Ty>),
    /// `{string: T}`.
    Map(Box<Ty>),
    /// A Kubernetes object type.
    Object(ObjectType),
    /// What `image(...)` returns.
    Image,
    /// `pod`: a pod or a workload's pod template, with `containers` spanning
    /// every kind of container.
    Pod,
}

/// The fields of an image reference.
pub const IMAGE_FIELDS: [&str; 5] = ["registry", "repository", "name", "tag", "digest"];
/// The fields of the pod view.
pub const POD_FIELDS: [&str; 3] = ["metadata", "spec", "containers"];

impl Ty {
    /// From a schema type.
    pub fn from_schema(ty: &schema::Type) -> Ty {
        match ty {
            schema::Type::Any => Ty::Any,
            schema::Type::Null => Ty::Null,
            schema::Type::Bool => Ty::Bool,
            schema::Type::Int => Ty::Int,
            schema::Type::Float => Ty::Float,
            schema::Type::String => Ty::String,
            schema::Type::List(items) => Ty::List(Box::new(Ty::from_schema(items))),
            schema::Type::Map(values) => Ty::Map(Box::new(Ty::from_schema(values))),
            schema::Type::Object(object) => Ty::Object(*object),
        }
    }

    /// The named schema object, or `Any` when this build has no such type.
    pub fn object(name: &str) -> Ty {
        schema::object_type(name).map_or(Ty::Any, Ty::Object)
    }

    /// Whether a value of this type may be the other, so that comparing them
    /// can be true.
    pub fn compatible(&self, other: &Ty) -> bool {
        use Ty::*;
        match (self, other) {
            (Any | Null, _) | (_, Any | Null) => true,
            (Int | Float, Int | Float) => true,
            (Bool, Bool) | (String, String) => true,
            (List(left), List(right)) => left.compatible(right),
            (Map(_) | Object(_) | Image | Pod, Map(_) | Object(_) | Image | Pod) => true,
            _ => false,
        }
    }

    /// Whether the type is numeric (or may be).
    pub fn numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Any | Ty::Null)
    }

    /// Whether a value of the type may be a string.
    pub fn stringy(&self) -> bool {
        matches!(self, Ty::String | Ty::Any | Ty::Null)
    }

    /// Whether a value of the type may be a boolean.
    pub fn booly(&self) -> bool {
        matches!(self, Ty::Bool | Ty::Any | Ty::Null)
    }

    /// The element type when iterating, and the key type, if iterable.
    pub fn elements(&self) -> Option<(Ty, Ty)> {
        match self {
            Ty::List(items) => Some((Ty::Int, (**items).clone())),
            Ty::Map(values) => Some((Ty::String, (**values).clone())),
            Ty::Any | Ty::Null => Some((Ty::Any, Ty::Any)),
            Ty::Object(_) | Ty::Image | Ty::Pod => Some((Ty::String, Ty::Any)),
            _ => None,
        }
    }

    /// The shape used to check parameter values from configuration.
    pub fn shape(&self) -> rampart_engine::ir::Shape {
        use rampart_engine::ir::Shape;
        match self {
            Ty::Bool => Shape::Bool,
            Ty::Int => Shape::Int,
            Ty::Float => Shape::Float,
            Ty::String => Shape::String,
            Ty::List(items) => Shape::List(Box::new(items.shape())),
            Ty::Map(values) => Shape::Map(Box::new(values.shape())),
            _ => Shape::Any,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Any => formatter.write_str("any"),
            Ty::Null => formatter.write_str("null"),
            Ty::Bool => formatter.write_str("bool"),
            Ty::Int => formatter.write_str("int"),
            Ty::Float => formatter.write_str("float"),
            Ty::String => formatter.write_str("string"),
            Ty::List(items) => write!(formatter, "[{items}]"),
            Ty::Map(values) => write!(formatter, "{{string: {values}}}"),
            Ty::Object(object) => formatter.write_str(object.name()),
            Ty::Image => formatter.write_str("image"),
            Ty::Pod => formatter.write_str("pod"),
        }
    }
}
