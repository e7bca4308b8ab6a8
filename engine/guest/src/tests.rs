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

#[test]
fn kubewarden_protocol_version_and_settings() {
    let set = serde_json::to_value(PolicySet {
        version: rampart_engine::ir::IR_VERSION,
        ..PolicySet::default()
    })
    .unwrap();
    let guest = guest(set);
    let answer = kubewarden::call(Ok(&guest), b"protocol_version", b"").unwrap();
    assert_eq!(answer, br#""v1""#);
    for valid in [&b""[..], b"{}", b"null", b" "] {
        assert_eq!(
            kubewarden::validate_settings(Ok(&guest), valid),
            json!({"valid": true})
        );
    }
    for invalid in [&b"{\"a\": 1}"[..], b"[]", b"nope"] {
        assert_eq!(
            kubewarden::validate_settings(Ok(&guest), invalid)["valid"],
            json!(false)
        );
    }
    assert_eq!(
        kubewarden::validate_settings(Err("no policies"), b"{}"),
        json!({"valid": false, "message": "no policies"})
    );
    assert!(kubewarden::call(Ok(&guest), b"mutate", b"{}").is_err());
    assert!(kubewarden::call(Err("no policies"), b"validate", b"{}").is_err());
    assert!(kubewarden::validate(&guest, br#"{"settings": {}}"#).is_err());
    assert_eq!(
        kubewarden::validate(
            &guest,
            br#"{"request": {"object": {"apiVersion": "v1", "kind": "Pod"}}, "settings": {}}"#
        )
        .unwrap(),
        json!({"accepted": true})
    );
}

#[test]
fn kubewarden_responses() {
    let finding =
        |policy: &str, action: &str| json!({"policy": policy, "action": action, "message": "m"});
    let outcome = json!({
        "findings": [finding("a", "deny"), finding("b", "warn"), finding("c", "audit"), finding("d", "deny")],
        "errors": [{"policy": "e", "message": "out of steps"}],
    });
    assert_eq!(
        kubewarden::response(&outcome),
        json!({
            "accepted": false,
            "message": "denied by rampart: a: m; d: m",
            "code": 403,
            "warnings": ["b: m"],
            "audit_annotations": {"rampart-audit": "c: m"},
        })
    );
    let errors = json!({"findings": [finding("b", "warn")], "errors": [{"policy": "e", "message": "out of steps"}, {"message": "bad input"}]});
    assert_eq!(
        kubewarden::response(&errors),
        json!({
            "accepted": false,
            "message": "rampart: e could not be evaluated: out of steps; bad input",
            "code": 500,
            "warnings": ["b: m"],
        })
    );
    assert_eq!(
        kubewarden::response(&json!({"findings": [], "errors": []})),
        json!({"accepted": true})
    );
}
