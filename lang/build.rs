//! Generates `$OUT_DIR/kubernetes_schema.rs`: static tables of the Kubernetes
//! API types, built from the JSON Schemas that `k8s-openapi` carries.
//!
//! The runtime crate never depends on `k8s-openapi` (it must stay small for
//! wasm32 and start instantly), so all schema processing happens here and the
//! output is plain Rust literals. Everything is sorted so the output is
//! byte-for-byte reproducible.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;

use k8s_openapi::api::{
    admissionregistration::v1 as admissionregistration, apps::v1 as apps,
    autoscaling::v2 as autoscaling, batch::v1 as batch, certificates::v1 as certificates,
    coordination::v1 as coordination, core::v1 as core, discovery::v1 as discovery,
    events::v1 as events, flowcontrol::v1 as flowcontrol, networking::v1 as networking,
    node::v1 as node, policy::v1 as policy, rbac::v1 as rbac, resource::v1 as resource,
    scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;
use serde_json::{Map, Value};

/// Descriptions are shown in hover/explain; one bounded sentence keeps the
/// generated file (and the wasm binary) small.
const MAX_DESCRIPTION_CHARS: usize = 160;

/// Definitions whose schema does not say what they are (or says something
/// less useful than we know), mapped to the type the checker should see.
const SPECIAL_DEFINITIONS: &[(&str, &str)] = &[
    // Holds an int32 or a string, so any comparison must be allowed.
    ("io.k8s.apimachinery.pkg.util.intstr.IntOrString", "Any"),
    // Serialized as a string such as "500m"; also flagged int-or-string.
    ("io.k8s.apimachinery.pkg.api.resource.Quantity", "String"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.Time", "String"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime", "String"),
    ("io.k8s.apimachinery.pkg.runtime.RawExtension", "Any"),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
        "Any",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
        "Any",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
        "Any",
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
        "Any",
    ),
];

/// Definition-name prefixes in order of preference when a short name (such as
/// `Subject`) exists in several groups; unlisted groups come after these.
const DEFINITION_PREFERENCE: &[&str] = &[
    "io.k8s.api.core.",
    "io.k8s.apimachinery.",
    "io.k8s.api.apps.",
    "io.k8s.api.batch.",
    "io.k8s.api.networking.",
    "io.k8s.api.rbac.",
    "io.k8s.api.policy.",
    "io.k8s.api.autoscaling.",
    "io.k8s.api.storage.",
    "io.k8s.api.admissionregistration.",
];

/// API groups in order of preference when a kind (such as `Event`) exists in
/// several groups and the policy names no apiVersion.
const GROUP_PREFERENCE: &[&str] = &[
    "",
    "apps",
    "batch",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "policy",
    "autoscaling",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
];

/// One built-in kind and its root schema.
struct Resource {
    api_version: &'static str,
    kind: &'static str,
    schema: Value,
}

impl Resource {
    fn of<T: k8s_openapi::Resource + schemars::JsonSchema>() -> Self {
        let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
        Self {
            api_version: T::API_VERSION,
            kind: T::KIND,
            schema: generator.into_root_schema_for::<T>().to_value(),
        }
    }
}

macro_rules! resources {
    ($($resource:ty),* $(,)?) => {
        vec![$(Resource::of::<$resource>()),*]
    };
}

/// Only one version per group, so short names and kinds stay unambiguous
/// within a group; alpha/beta APIs are left out on purpose.
fn resources() -> Vec<Resource> {
    resources![
        core::Binding,
        core::ComponentStatus,
        core::ConfigMap,
        core::Endpoints,
        core::Event,
        core::LimitRange,
        core::Namespace,
        core::Node,
        core::PersistentVolume,
        core::PersistentVolumeClaim,
        core::Pod,
        core::PodTemplate,
        core::ReplicationController,
        core::ResourceQuota,
        core::Secret,
        core::Service,
        core::ServiceAccount,
        apps::ControllerRevision,
        apps::DaemonSet,
        apps::Deployment,
        apps::ReplicaSet,
        apps::StatefulSet,
        batch::CronJob,
        batch::Job,
        networking::Ingress,
        networking::IngressClass,
        networking::IPAddress,
        networking::NetworkPolicy,
        networking::ServiceCIDR,
        rbac::ClusterRole,
        rbac::ClusterRoleBinding,
        rbac::Role,
        rbac::RoleBinding,
        policy::Eviction,
        policy::PodDisruptionBudget,
        autoscaling::HorizontalPodAutoscaler,
        admissionregistration::MutatingWebhookConfiguration,
        admissionregistration::ValidatingAdmissionPolicy,
        admissionregistration::ValidatingAdmissionPolicyBinding,
        admissionregistration::ValidatingWebhookConfiguration,
        storage::CSIDriver,
        storage::CSINode,
        storage::CSIStorageCapacity,
        storage::StorageClass,
        storage::VolumeAttachment,
        storage::VolumeAttributesClass,
        scheduling::PriorityClass,
        apiextensions::CustomResourceDefinition,
        apiregistration::APIService,
        coordination::Lease,
        discovery::EndpointSlice,
        certificates::CertificateSigningRequest,
        node::RuntimeClass,
        events::Event,
        flowcontrol::FlowSchema,
        flowcontrol::PriorityLevelConfiguration,
        resource::DeviceClass,
        resource::ResourceClaim,
        resource::ResourceClaimTemplate,
        resource::ResourceSlice,
    ]
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    let resources = resources();

    // Every root schema carries the definitions it references in `$defs`
    // and is itself named by its `title`; merge them all into one map.
    let mut definitions = BTreeMap::new();
    let mut kinds = Vec::new();
    for resource in resources {
        let Value::Object(mut root) = resource.schema else {
            return Err(format!("schema of {} is not an object", resource.kind).into());
        };
        if let Some(Value::Object(defs)) = root.remove("$defs") {
            definitions.extend(defs);
        }
        let Some(Value::String(title)) = root.remove("title") else {
            return Err(format!("schema of {} has no title", resource.kind).into());
        };
        root.remove("$schema");
        kinds.push((resource.api_version, resource.kind, title.clone()));
        definitions.insert(title, Value::Object(root));
    }

    let tables = Tables::new(&definitions)?;
    let source = tables.render(&kinds)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("kubernetes_schema.rs"), source)?;
    Ok(())
}

/// Definitions that become `ObjectType`s, in table order (sorted by full
/// name, which lets the runtime binary-search them).
struct Tables<'a> {
    definitions: &'a BTreeMap<String, Value>,
    objects: Vec<(&'a str, &'a Map<String, Value>)>,
    indices: BTreeMap<&'a str, u16>,
}

impl<'a> Tables<'a> {
    fn new(definitions: &'a BTreeMap<String, Value>) -> Result<Self, Box<dyn Error>> {
        let mut objects = Vec::new();
        let mut indices = BTreeMap::new();
        for (name, schema) in definitions {
            if is_special(name) {
                continue;
            }
            if let Some(Value::Object(properties)) = schema.get("properties") {
                indices.insert(name.as_str(), u16::try_from(objects.len())?);
                objects.push((name.as_str(), properties));
            }
        }
        Ok(Self {
            definitions,
            objects,
            indices,
        })
    }

    fn render(&self, kinds: &[(&str, &str, String)]) -> Result<String, Box<dyn Error>> {
        let mut out =
            String::from("// @generated by lang/build.rs from k8s-openapi; do not edit.\n\n");
        writeln!(
            out,
            "pub(super) static DEFINITIONS: [Definition; {}] = [",
            self.objects.len()
        )?;
        for (full_name, properties) in &self.objects {
            let schema = self.definitions.get(*full_name).unwrap_or(&Value::Null);
            writeln!(
                out,
                "Definition {{ full_name: {full_name:?}, name: {:?}, description: {:?}, fields: &[",
                short_name(full_name),
                description(schema),
            )?;
            let mut fields: Vec<_> = properties.iter().collect();
            fields.sort_by(|left, right| left.0.cmp(right.0));
            for (field, field_schema) in fields {
                writeln!(
                    out,
                    "field({field:?}, {}, {:?}),",
                    self.schema_type(field_schema),
                    description(field_schema)
                )?;
            }
            writeln!(out, "] }},")?;
        }
        writeln!(out, "];\n")?;

        let mut short_names: Vec<_> = self
            .objects
            .iter()
            .enumerate()
            .map(|(index, (full_name, _))| {
                let rank = preference(full_name, DEFINITION_PREFERENCE, |name, prefix| {
                    name.starts_with(prefix)
                });
                (short_name(full_name), rank, *full_name, index)
            })
            .collect();
        short_names.sort();
        writeln!(
            out,
            "pub(super) static SHORT_NAMES: [(&str, u16); {}] = [",
            short_names.len()
        )?;
        for (short, _, _, index) in short_names {
            writeln!(out, "({short:?}, {index}),")?;
        }
        writeln!(out, "];\n")?;

        let mut kind_rows = Vec::new();
        for (api_version, kind, root) in kinds {
            let index = self
                .indices
                .get(root.as_str())
                .ok_or_else(|| format!("root {root} of {kind} is not an object"))?;
            let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
            let rank = preference(group, GROUP_PREFERENCE, |left, right| left == right);
            kind_rows.push((*kind, rank, *api_version, *index));
        }
        kind_rows.sort();
        kind_rows.dedup();
        writeln!(
            out,
            "pub(super) static KINDS: [Kind; {}] = [",
            kind_rows.len()
        )?;
        for (kind, _, api_version, index) in kind_rows {
            writeln!(
                out,
                "Kind {{ api_version: {api_version:?}, kind: {kind:?}, root: {index} }},"
            )?;
        }
        writeln!(out, "];")?;
        Ok(out)
    }

    /// The Rust expression (a `TypeCode`) for a property or item schema.
    fn schema_type(&self, schema: &Value) -> String {
        if let Some(Value::String(reference)) = schema.get("$ref") {
            let name = reference.trim_start_matches("#/$defs/");
            return self.definition_type(name);
        }
        // Unions (`oneOf`/`anyOf`) cannot be checked statically.
        if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() {
            return "TypeCode::Any".to_owned();
        }
        let type_name = match schema.get("type") {
            Some(Value::String(name)) => name.as_str(),
            // `["string", "null"]`: nullability is not tracked by the checker.
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .find(|name| *name != "null")
                .unwrap_or(""),
            _ => "",
        };
        match type_name {
            "integer" => "TypeCode::Int".to_owned(),
            "number" => "TypeCode::Float".to_owned(),
            "boolean" => "TypeCode::Bool".to_owned(),
            "string" => "TypeCode::String".to_owned(),
            "array" => match schema.get("items") {
                Some(items) => format!("TypeCode::List(&{})", self.schema_type(items)),
                None => "TypeCode::List(&TypeCode::Any)".to_owned(),
            },
            "object" => match schema.get("additionalProperties") {
                Some(values @ Value::Object(_)) => {
                    format!("TypeCode::Map(&{})", self.schema_type(values))
                }
                _ => "TypeCode::Any".to_owned(),
            },
            _ => "TypeCode::Any".to_owned(),
        }
    }

    fn definition_type(&self, name: &str) -> String {
        if let Some((_, special)) = SPECIAL_DEFINITIONS.iter().find(|(full, _)| *full == name) {
            return format!("TypeCode::{special}");
        }
        if let Some(index) = self.indices.get(name) {
            return format!("TypeCode::Object({index})");
        }
        // A definition without properties (e.g. `FieldsV1`, or a named
        // string): describe it by its own schema.
        match self.definitions.get(name) {
            Some(schema) => self.schema_type(schema),
            None => "TypeCode::Any".to_owned(),
        }
    }
}

fn is_special(name: &str) -> bool {
    SPECIAL_DEFINITIONS.iter().any(|(full, _)| *full == name)
}

fn short_name(full_name: &str) -> &str {
    full_name.rsplit('.').next().unwrap_or(full_name)
}

fn preference(value: &str, order: &[&str], matches: fn(&str, &str) -> bool) -> usize {
    order
        .iter()
        .position(|candidate| matches(value, candidate))
        .unwrap_or(order.len())
}

/// The first sentence of the schema's description, whitespace collapsed,
/// capped at `MAX_DESCRIPTION_CHARS`.
fn description(schema: &Value) -> String {
    let text = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = first_sentence(&collapsed);
    if sentence.chars().count() <= MAX_DESCRIPTION_CHARS {
        return sentence.to_owned();
    }
    let mut truncated: String = sentence.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
    // Cut at a word boundary so hover text never shows half a word.
    if let Some(space) = truncated.rfind(' ') {
        truncated.truncate(space);
    }
    truncated.truncate(truncated.trim_end_matches([' ', ',', ';', ':', '(']).len());
    truncated.push('…');
    truncated
}

/// Abbreviations whose period does not end a sentence.
const ABBREVIATIONS: &[&str] = &["e.g", "i.e", "etc", "vs", "cf", "approx", "incl"];

/// Ends at a period followed by a space. Upstream sentences often start with
/// a lower-case field name, so the next letter's case cannot be relied on;
/// common abbreviations are skipped instead, and "v1.2" never matches because
/// no space follows.
fn first_sentence(text: &str) -> &str {
    for (index, character) in text.char_indices() {
        if character != '.' || !text.get(index + 1..).unwrap_or("").starts_with(' ') {
            continue;
        }
        let before = text.get(..index).unwrap_or("");
        let word = before.rsplit([' ', '(']).next().unwrap_or("");
        if !ABBREVIATIONS.contains(&word.to_lowercase().as_str()) {
            return text.get(..=index).unwrap_or(text);
        }
    }
    text
}
