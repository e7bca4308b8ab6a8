use super::*;

fn guest(source_set: Json) -> Guest {
    let payload = json!({"format": PAYLOAD_FORMAT, "kube_version": null, "set": source_set});
    match Guest::from_payload(payload.to_string().as_bytes()) {
        Ok(guest) => guest,
        Err(message) => panic!("{message}"),
    }
}

#[test]
fn empty_set_judges_nothing() {
    let set = serde_json::to_value(PolicySet {
        version: rampart_engine::ir::IR_VERSION,
        ..PolicySet::default()
    })
    .unwrap();
    let guest = guest(set);
    let result =
        guest.evaluate(br#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}"#);
    assert_eq!(result["findings"], json!([]));
    assert_eq!(result["resources"], json!(1));
    let list = guest.evaluate(br#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod"}, 3]}"#);
    assert_eq!(list["resources"], json!(1));
    assert_eq!(list["errors"].as_array().map(Vec::len), Some(1));
    let review = guest.evaluate(br#"{"kind": "AdmissionReview", "request": {"object": null}}"#);
    assert_eq!(review["resources"], json!(0));
    assert_eq!(guest.metadata()["abi_version"], json!(ABI_VERSION));
}

#[test]
fn bad_payloads_are_refused() {
    assert!(Guest::from_payload(b"nope").is_err());
    assert!(Guest::from_payload(br#"{"format": 99}"#).is_err());
    assert!(
        Guest::from_payload(
            br#"{"format": 1, "set": {"version": 999, "policies": [], "functions": []}}"#
        )
        .is_err()
    );
}
