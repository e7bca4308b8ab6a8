use super::*;

fn object(ty: &Type) -> ObjectType {
    match ty {
        Type::Object(object) => *object,
        other => panic!("expected an object, found {other}"),
    }
}

fn field_type(object: ObjectType, name: &str) -> Type {
    object
        .field(name)
        .unwrap_or_else(|| panic!("{} has no field {name}", object.full_name()))
        .ty
}

fn pod_spec() -> ObjectType {
    let pod = kind(Some("v1"), "Pod").unwrap();
    object(&field_type(pod, "spec"))
}

#[test]
fn pod_containers_are_a_list_of_container() {
    let pod = kind(Some("v1"), "Pod").unwrap();
    assert_eq!(pod.name(), "Pod");
    assert_eq!(pod.full_name(), "io.k8s.api.core.v1.Pod");
    assert!(
        pod.description()
            .starts_with("Pod is a collection of containers")
    );
    let spec = pod_spec();
    assert_eq!(spec.name(), "PodSpec");
    let container = object_type("io.k8s.api.core.v1.Container").unwrap();
    assert_eq!(
        field_type(spec, "containers"),
        Type::List(Box::new(Type::Object(container)))
    );
    assert_eq!(
        field_type(spec, "containers").to_string(),
        "list<Container>"
    );
}

#[test]
fn container_security_context_privileged_is_bool() {
    let container = object_type("Container").unwrap();
    let security_context = object(&field_type(container, "securityContext"));
    assert_eq!(security_context.name(), "SecurityContext");
    assert_eq!(field_type(security_context, "privileged"), Type::Bool);
    assert_eq!(field_type(security_context, "runAsUser"), Type::Int);
}

#[test]
fn suggests_nearest_field_name() {
    let security_context = object_type("SecurityContext").unwrap();
    let names = security_context.fields().map(|field| field.name);
    assert_eq!(suggest("privilegd", names), Some("privileged"));
    let names = security_context.fields().map(|field| field.name);
    assert_eq!(suggest("Privileged", names), Some("privileged"));
    let names = security_context.fields().map(|field| field.name);
    assert_eq!(suggest("runAsUesr", names), Some("runAsUser"));
    let names = security_context.fields().map(|field| field.name);
    assert_eq!(suggest("zzz", names), None);
    assert_eq!(suggest("x", ["y"]), Some("y"));
    assert_eq!(suggest("ab", ["xyz"]), None);
}

#[test]
fn deployment_template_is_pod_template_spec() {
    let deployment = kind(Some("apps/v1"), "Deployment").unwrap();
    assert_eq!(kind(None, "Deployment"), Some(deployment));
    let spec = object(&field_type(deployment, "spec"));
    let template = object(&field_type(spec, "template"));
    assert_eq!(template.full_name(), "io.k8s.api.core.v1.PodTemplateSpec");
    assert_eq!(object(&field_type(template, "spec")), pod_spec());
}

#[test]
fn metadata_labels_are_a_string_map() {
    let pod = kind(None, "Pod").unwrap();
    let metadata = object(&field_type(pod, "metadata"));
    assert_eq!(metadata.name(), "ObjectMeta");
    assert_eq!(
        field_type(metadata, "labels"),
        Type::Map(Box::new(Type::String))
    );
    assert_eq!(field_type(metadata, "creationTimestamp"), Type::String);
}

#[test]
fn resource_limits_are_quantity_strings() {
    let requirements = object(&field_type(object_type("Container").unwrap(), "resources"));
    assert_eq!(
        field_type(requirements, "limits"),
        Type::Map(Box::new(Type::String))
    );
    assert_eq!(object_type("Quantity"), None);
}

#[test]
fn int_or_string_is_any() {
    let service_port = object_type("ServicePort").unwrap();
    assert_eq!(field_type(service_port, "targetPort"), Type::Any);
    assert_eq!(field_type(service_port, "port"), Type::Int);
    assert_eq!(object_type("IntOrString"), None);
}

#[test]
fn unknown_names_are_none() {
    assert_eq!(kind(None, "Frobnicator"), None);
    assert_eq!(kind(Some("apps/v1"), "Pod"), None);
    assert_eq!(kind(None, "pod"), None);
    assert_eq!(object_type("NoSuchType"), None);
    assert_eq!(object_type("io.k8s.api.core.v1.NoSuchType"), None);
    assert!(object_type("Container").unwrap().field("nope").is_none());
}

#[test]
fn ambiguous_names_prefer_core_groups() {
    let event = kind(None, "Event").unwrap();
    assert_eq!(event.full_name(), "io.k8s.api.core.v1.Event");
    let events_event = kind(Some("events.k8s.io/v1"), "Event").unwrap();
    assert_eq!(events_event.full_name(), "io.k8s.api.events.v1.Event");
    let subject = object_type("Subject").unwrap();
    assert_eq!(subject.full_name(), "io.k8s.api.rbac.v1.Subject");
}

#[test]
fn required_kinds_are_present() {
    let expected = [
        ("v1", "ConfigMap"),
        ("v1", "PersistentVolumeClaim"),
        ("apps/v1", "StatefulSet"),
        ("batch/v1", "CronJob"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
        ("policy/v1", "PodDisruptionBudget"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        (
            "admissionregistration.k8s.io/v1",
            "ValidatingAdmissionPolicyBinding",
        ),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        ("coordination.k8s.io/v1", "Lease"),
        ("discovery.k8s.io/v1", "EndpointSlice"),
        ("certificates.k8s.io/v1", "CertificateSigningRequest"),
        ("node.k8s.io/v1", "RuntimeClass"),
    ];
    for (api_version, name) in expected {
        let root = kind(Some(api_version), name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(root.name(), name);
        assert!(root.field("metadata").is_some(), "{name} has metadata");
    }
    assert!(kinds().count() >= 50);
}

#[test]
fn fields_are_sorted_and_described() {
    let container = object_type("Container").unwrap();
    let names: Vec<_> = container.fields().map(|field| field.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let image = container.field("image").unwrap();
    assert!(image.description.starts_with("Container image name."));
    assert!(
        kinds()
            .flat_map(|(_, _, root)| root.fields())
            .all(|field| field.description.chars().count() <= 160)
    );
}

#[test]
fn untyped_json_is_any() {
    let crd_version = object_type("CustomResourceDefinitionVersion").unwrap();
    let validation = object(&field_type(crd_version, "schema"));
    let props = object(&field_type(validation, "openAPIV3Schema"));
    assert_eq!(field_type(props, "default"), Type::Any);
    assert_eq!(field_type(props, "items"), Type::Any);
    assert_eq!(
        field_type(props, "properties"),
        Type::Map(Box::new(Type::Object(props)))
    );
}
