use super::*;

fn today() -> Date {
    Date {
        year: 2027,
        month: 1,
        day: 15,
    }
}

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
    let result = guest.evaluate(
        br#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}"#,
        today(),
    );
    assert_eq!(result["findings"], json!([]));
    assert_eq!(result["resources"], json!(1));
    let list = guest.evaluate(br#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod"}, 3]}"#, today());
    assert_eq!(list["resources"], json!(1));
    assert_eq!(list["errors"].as_array().map(Vec::len), Some(1));
    let review = guest.evaluate(
        br#"{"kind": "AdmissionReview", "request": {"object": null}}"#,
        today(),
    );
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

/// A Pod whose first container's `args` nest arrays so that the manifest
/// has `levels` nested containers in all (the Pod, `spec`, `containers`,
/// the container and `args` are five of them).
fn deep_pod(levels: usize) -> String {
    let arrays = levels - 4;
    format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "deep"}}, "spec": {{"containers": [{{"name": "app", "image": "nginx", "args": {}"x"{}}}]}}}}"#,
        "[".repeat(arrays),
        "]".repeat(arrays)
    )
}

fn empty_guest() -> Guest {
    guest(
        serde_json::to_value(PolicySet {
            version: rampart_engine::ir::IR_VERSION,
            ..PolicySet::default()
        })
        .unwrap(),
    )
}

#[test]
fn the_guest_reads_as_deep_as_the_loader_and_no_deeper() {
    let limit = rampart_engine::limits::MAX_DEPTH;
    let guest = empty_guest();
    let native = |text: &str| {
        rampart_engine::load::load_str(text, &LoadLimits::default())
            .errors
            .into_iter()
            .map(|error| error.message)
            .collect::<Vec<_>>()
    };
    // At the limit: loads natively, judged by the guest, bare or in an
    // AdmissionReview.
    let at_limit = deep_pod(limit);
    assert_eq!(native(&at_limit), Vec::<String>::new());
    let result = guest.evaluate(at_limit.as_bytes(), today());
    assert_eq!(result["errors"], json!([]));
    assert_eq!(result["resources"], json!(1));
    let review = format!(r#"{{"kind": "AdmissionReview", "request": {{"object": {at_limit}}}}}"#);
    let result = guest.evaluate(review.as_bytes(), today());
    assert_eq!(result["errors"], json!([]));
    assert_eq!(result["resources"], json!(1));

    // One level past it: the same error natively and in the guest.
    let past_limit = deep_pod(limit + 1);
    assert_eq!(
        native(&past_limit),
        vec!["nesting deeper than 256 levels, the limit".to_owned()]
    );
    let result = guest.evaluate(past_limit.as_bytes(), today());
    assert_eq!(result["resources"], json!(0));
    let message = result["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("the input is refused: nesting deeper than 256 levels, the limit"),
        "{message}"
    );
    let review = format!(r#"{{"kind": "AdmissionReview", "request": {{"object": {past_limit}}}}}"#);
    let message = guest.evaluate(review.as_bytes(), today())["errors"][0]["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap_or_default()
            .contains("nesting deeper than 258 levels, the limit"),
        "{message}"
    );
    // A manifest cannot use the envelope's levels.
    let deeper = deep_pod(limit + 2);
    let message = guest.evaluate(deeper.as_bytes(), today())["errors"][0]["message"].clone();
    assert!(
        message.as_str().unwrap_or_default().contains("256 levels"),
        "{message}"
    );
    // Nor an inventory.
    let inventory = format!("[{past_limit}]");
    let mut guest = guest;
    let errors = guest.set_inventory(inventory.as_bytes());
    assert!(
        errors["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("256 levels")
    );
}

#[test]
fn a_kubewarden_request_reads_as_deep_as_the_loader() {
    let guest = empty_guest();
    let request =
        |object: &str| format!(r#"{{"request": {{"object": {object}}}, "settings": {{}}}}"#);
    let limit = rampart_engine::limits::MAX_DEPTH;
    let accepted = kubewarden::validate(&guest, request(&deep_pod(limit)).as_bytes()).unwrap();
    assert_eq!(accepted["accepted"], json!(true));
    let refused = kubewarden::validate(&guest, request(&deep_pod(limit + 1)).as_bytes());
    assert!(
        refused
            .unwrap_err()
            .contains("nesting deeper than 258 levels")
    );
}

#[test]
fn input_that_is_not_utf8_names_its_first_bad_byte() {
    let guest = empty_guest();
    let result = guest.evaluate(b"{\"kind\": \"Pod\",\n \"x\": \"\xFF\"}", today());
    assert_eq!(
        result["errors"][0]["message"],
        json!(
            "the input is not JSON: not UTF-8 text: byte 0xff at line 2, column 8 (byte offset 23) is not valid UTF-8"
        )
    );
}

/// A guest with no policy, built with a configuration of `judging`.
fn judging_guest(judging: &Judging) -> Guest {
    let compilation = empty_set();
    let payload = json!({
        "format": PAYLOAD_FORMAT,
        "kube_version": null,
        "set": compilation,
        "config": {"file": "rampart.yaml", "hash": "0", "judging": judging},
    });
    match Guest::from_payload(payload.to_string().as_bytes()) {
        Ok(guest) => guest,
        Err(message) => panic!("{message}"),
    }
}

/// The IR of an empty set (the guest does not depend on the compiler).
fn empty_set() -> Json {
    json!({
        "version": rampart_engine::ir::IR_VERSION,
        "policies": [],
        "functions": [],
    })
}

#[test]
fn an_admission_request_by_an_exempt_user_is_not_judged() {
    let judging = Judging {
        exemptions: rampart_core::Exemptions {
            usernames: vec!["system:serviceaccount:kube-system:*".into()],
            namespaces: vec!["legacy".into()],
            ..Default::default()
        },
        ..Judging::default()
    };
    let guest = judging_guest(&judging);
    assert_eq!(guest.metadata()["config"]["file"], json!("rampart.yaml"));
    let review = |namespace: &str, user: &str| {
        format!(
            r#"{{"kind": "AdmissionReview", "request": {{"namespace": "{namespace}", "userInfo": {{"username": "{user}"}}, "object": {{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "a"}}}}}}}}"#
        )
    };
    let exempt = guest.evaluate(
        review(
            "shop",
            "system:serviceaccount:kube-system:replicaset-controller",
        )
        .as_bytes(),
        today(),
    );
    assert_eq!(
        (exempt["exempted"].clone(), exempt["resources"].clone()),
        (json!(1), json!(0))
    );
    // The request's namespace counts, though the object does not name one.
    let exempt = guest.evaluate(review("legacy", "alice").as_bytes(), today());
    assert_eq!(exempt["exempted"], json!(1));
    let judged = guest.evaluate(review("shop", "alice").as_bytes(), today());
    assert_eq!(
        (judged["exempted"].clone(), judged["resources"].clone()),
        (json!(0), json!(1))
    );
}
