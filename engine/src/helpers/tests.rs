use super::*;
use crate::json;

#[test]
fn quantities_parse_to_base_units() {
    assert_eq!(quantity::parse("500m"), Some(0.5));
    assert_eq!(quantity::parse("1"), Some(1.0));
    assert_eq!(quantity::parse("1Ki"), Some(1024.0));
    assert_eq!(
        quantity::parse("1.5Gi"),
        Some(1.5 * 1024.0 * 1024.0 * 1024.0)
    );
    assert_eq!(quantity::parse("2e3"), Some(2000.0));
    assert_eq!(quantity::parse("-1k"), Some(-1000.0));
    assert_eq!(quantity::parse("0.1"), quantity::parse("100m"));
    assert!(quantity::parse("1Gi").unwrap() > quantity::parse("512Mi").unwrap());
    assert!(quantity::parse("500m").unwrap() < quantity::parse("1").unwrap());
}

#[test]
fn malformed_quantities_are_refused() {
    for text in ["", "abc", "1.2.3", "1Xi", ".", "m", "1e", "--1"] {
        assert_eq!(quantity::parse(text), None, "{text}");
    }
}

#[test]
fn image_references_are_normalised() {
    let nginx = image::parse("nginx");
    assert_eq!(nginx.registry, "docker.io");
    assert_eq!(nginx.repository, "library/nginx");
    assert_eq!(nginx.tag, None);
    let full = image::parse("registry.example.com:5000/team/app:1.2@sha256:abc");
    assert_eq!(full.registry, "registry.example.com:5000");
    assert_eq!(full.repository, "team/app");
    assert_eq!(full.tag.as_deref(), Some("1.2"));
    assert_eq!(full.digest.as_deref(), Some("sha256:abc"));
    let hub = image::parse("bitnami/redis:latest");
    assert_eq!(hub.registry, "docker.io");
    assert_eq!(hub.repository, "bitnami/redis");
    assert_eq!(hub.tag.as_deref(), Some("latest"));
    let local = image::parse("localhost/app");
    assert_eq!(local.registry, "localhost");
    let port_no_tag = image::parse("host:5000/app");
    assert_eq!(port_no_tag.registry, "host:5000");
    assert_eq!(port_no_tag.tag, None);
}

#[test]
fn globs_match_whole_strings() {
    assert!(glob::matches("kube-*", "kube-system"));
    assert!(glob::matches("*", ""));
    assert!(glob::matches("a?c", "abc"));
    assert!(glob::matches("*.example.com", "registry.example.com"));
    assert!(!glob::matches("*.example.com", "example.com"));
    assert!(!glob::matches("kube-*", "my-kube-system"));
    assert!(glob::matches("a*b*c", "aXXbYYc"));
    assert!(!glob::matches("a*b*c", "aXXbYY"));
}

#[test]
fn label_selectors_follow_the_api_semantics() {
    let labels = json!({"app": "web", "tier": "front"});
    let labels = labels.as_object();
    assert!(selector::selects(&json!({}), labels));
    assert!(!selector::selects(&json!(null), labels));
    assert!(selector::selects(
        &json!({"matchLabels": {"app": "web"}}),
        labels
    ));
    assert!(!selector::selects(
        &json!({"matchLabels": {"app": "db"}}),
        labels
    ));
    let expression = |operator: &str, values: crate::json::Json| json!({"matchExpressions": [{"key": "tier", "operator": operator, "values": values}]});
    assert!(selector::selects(
        &expression("In", json!(["front", "back"])),
        labels
    ));
    assert!(!selector::selects(
        &expression("NotIn", json!(["front"])),
        labels
    ));
    assert!(selector::selects(&expression("Exists", json!([])), labels));
    assert!(!selector::selects(
        &expression("DoesNotExist", json!([])),
        labels
    ));
    assert!(!selector::selects(&expression("Bogus", json!([])), labels));
    assert!(selector::selects(&json!({"matchLabels": {}}), None));
    assert!(!selector::selects(
        &json!({"matchLabels": {"app": "web"}}),
        None
    ));
}

#[test]
fn glob_work_is_counted_and_bounded() {
    assert_eq!(
        glob::matches_within("kube-*", "kube-system", 100),
        Some((true, 12))
    );
    let text = "a".repeat(1_000);
    let pattern = format!("*{}b", "a".repeat(100));
    let (matched, work) = glob::matches_within(&pattern, &text, usize::MAX).unwrap();
    assert!(!matched);
    assert!(work > 80_000, "{work}");
    assert_eq!(glob::matches_within(&pattern, &text, 10_000), None);
}
