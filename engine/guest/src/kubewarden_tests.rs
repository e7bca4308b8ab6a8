use super::*;
use crate::PAYLOAD_FORMAT;
use rampart_core::admission::summary;
use rampart_core::{Exception, Exemptions, Judging};

/// A guest holding `source`'s policies with `actions` applied (policy id,
/// action), built with a configuration of `judging`.
fn guest_with(source: &str, actions: &[(&str, Action)], judging: &Judging) -> Guest {
    let compilation = rampart_lang::compile(&[rampart_lang::Source {
        name: "test.rampart".to_owned(),
        text: source.to_owned(),
    }]);
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    let mut set = compilation.set;
    for (id, action) in actions {
        for policy in set.policies.iter_mut().filter(|policy| policy.id == *id) {
            policy.action_override = Some(*action);
        }
    }
    let payload = json!({
        "format": PAYLOAD_FORMAT,
        "kube_version": null,
        "set": set,
        "config": {"file": "rampart.yaml", "hash": "0", "judging": judging},
    });
    match Guest::from_payload(payload.to_string().as_bytes()) {
        Ok(guest) => guest,
        Err(message) => panic!("{message}"),
    }
}

const POLICIES: &str = r#"
policy site.replicas {
  severity medium
  param most: int = 3
  param label: string = "team"
  match kinds Deployment
  deny resource.spec.replicas > params.most
    message "{resource.spec.replicas} replicas; at most {params.most}"
}

policy site.owner {
  severity low
  match kinds Deployment
  deny resource.metadata.labels.owner == null
    message "no owner"
}

policy site.probes {
  severity low
  match kinds Deployment
  deny resource.metadata.labels.probes == "none"
    message "no probes"
}
"#;

fn rollout_guest() -> Guest {
    guest_with(
        POLICIES,
        &[("site.owner", Action::Audit), ("site.probes", Action::Warn)],
        &Judging::default(),
    )
}

fn request(namespace: &str, labels: Json, replicas: u32, settings: Json) -> Vec<u8> {
    json!({
        "request": {
            "uid": "u",
            "namespace": namespace,
            "userInfo": {"username": "alice"},
            "object": {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": labels},
                "spec": {"replicas": replicas},
            },
        },
        "settings": settings,
    })
    .to_string()
    .into_bytes()
}

#[test]
fn settings_may_override_parameters_of_the_right_type_only() {
    let guest = rollout_guest();
    let valid = |settings: &str| validate_settings(Ok(&guest), settings.as_bytes());
    assert_eq!(
        valid(r#"{"params": {"site.replicas": {"most": 5, "label": "x"}}}"#),
        json!({"valid": true})
    );
    for (settings, message) in [
        (
            r#"{"params": {"site.nothing": {"most": 5}}}"#,
            "params: no policy `site.nothing` in this bundle",
        ),
        (
            r#"{"params": {"site.replicas": {"least": 5}}}"#,
            "policy `site.replicas` has no parameter `least`",
        ),
        (
            r#"{"params": {"site.replicas": {"most": "five"}}}"#,
            "parameter `most` of `site.replicas` must be `int`",
        ),
        (
            r#"{"params": {"site.replicas": 5}}"#,
            "params: `site.replicas` must be an object of parameters",
        ),
        (
            r#"{"params": []}"#,
            "`params` must be an object of policy ids, each an object of parameters",
        ),
        ("[]", "the settings must be an object"),
    ] {
        assert_eq!(
            valid(settings),
            json!({"valid": false, "message": message}),
            "{settings}"
        );
    }
    let unknown = valid(r#"{"actions": {}}"#);
    assert_eq!(unknown["valid"], json!(false));
    assert!(
        unknown["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("unknown settings `actions`")),
        "{unknown}"
    );
}

#[test]
fn validate_judges_with_the_settings_parameters() {
    let guest = rollout_guest();
    let labels = json!({"owner": "a"});
    let denied = validate(&guest, &request("shop", labels.clone(), 4, json!({}))).unwrap();
    assert_eq!(denied["accepted"], json!(false));
    assert_eq!(
        denied["message"],
        json!("denied by rampart: site.replicas: 4 replicas; at most 3")
    );
    let raised = json!({"params": {"site.replicas": {"most": 5}}});
    let allowed = validate(&guest, &request("shop", labels.clone(), 4, raised.clone())).unwrap();
    assert_eq!(allowed, json!({"accepted": true}));
    // The same settings again (prepared once), then other ones.
    let again = validate(&guest, &request("shop", labels.clone(), 6, raised)).unwrap();
    assert_eq!(
        again["message"],
        json!("denied by rampart: site.replicas: 6 replicas; at most 5")
    );
    let lowered = json!({"params": {"site.replicas": {"most": 1}}});
    let denied = validate(&guest, &request("shop", labels.clone(), 2, lowered)).unwrap();
    assert_eq!(denied["accepted"], json!(false));
    // Settings the policy server would have refused are refused here too.
    let wrong = json!({"params": {"site.replicas": {"most": "x"}}});
    assert_eq!(
        validate(&guest, &request("shop", labels, 2, wrong)),
        Err("parameter `most` of `site.replicas` must be `int`".to_owned())
    );
}

#[test]
fn the_answer_is_the_webhooks_decision() {
    let guest = rollout_guest();
    // audit: accepted, recorded in the audit annotation.
    let audited = validate(&guest, &request("shop", json!({}), 1, json!(null))).unwrap();
    assert_eq!(
        audited,
        json!({"accepted": true, "audit_annotations": {"rampart-audit": "site.owner: no owner"}})
    );
    // warn: accepted, with the warning.
    let warned = validate(
        &guest,
        &request(
            "shop",
            json!({"owner": "a", "probes": "none"}),
            1,
            json!({}),
        ),
    )
    .unwrap();
    assert_eq!(
        warned,
        json!({"accepted": true, "warnings": ["site.probes: no probes"]})
    );
    // deny: rejected, the others still warn and record.
    let denied = validate(
        &guest,
        &request("shop", json!({"probes": "none"}), 9, json!({})),
    )
    .unwrap();
    assert_eq!(
        denied,
        json!({
            "accepted": false,
            "code": 403,
            "message": "denied by rampart: site.replicas: 9 replicas; at most 3",
            "warnings": ["site.probes: no probes"],
            "audit_annotations": {"rampart-audit": "site.owner: no owner"},
        })
    );
}

#[test]
fn answers_are_bounded_as_the_webhooks_are() {
    let findings: Vec<Json> = (0..2000)
        .map(|index| {
            let action = ["deny", "warn", "audit"][index % 3];
            json!({"policy": format!("p{}", index % 7), "action": action, "message": "m".repeat(600)})
        })
        .collect();
    let answer = response(&json!({"findings": findings, "errors": []}));
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.ends_with("more findings"), "{message}");
    let warnings = answer["warnings"].as_array().cloned().unwrap_or_default();
    assert!(warnings.len() <= summary::MAX_WARNINGS);
    let characters: usize = warnings
        .iter()
        .map(|warning| warning.as_str().unwrap_or_default().chars().count())
        .sum();
    assert!(characters <= summary::MAX_WARNINGS_TOTAL_CHARS);
    let audit = answer["audit_annotations"][AUDIT_ANNOTATION]
        .as_str()
        .unwrap_or_default();
    assert!(audit.chars().count() <= summary::MAX_AUDIT_ANNOTATION_CHARS);
}

#[test]
fn exemptions_and_undated_exceptions_apply_dated_ones_do_not() {
    let exception = |namespace: &str, expires: Option<&str>| Exception {
        policy: "site.replicas".into(),
        kind: None,
        namespace: Some(namespace.into()),
        name: None,
        reason: "r".into(),
        expires: expires.and_then(|date| rampart_core::Date::parse(date).ok()),
        position: None,
    };
    let judging = Judging {
        exceptions: vec![
            exception("legacy", None),
            exception("dated", Some("2999-12-31")),
        ],
        exemptions: Exemptions {
            namespaces: vec!["kube-system".into()],
            ..Exemptions::default()
        },
        ..Judging::default()
    };
    let guest = guest_with(POLICIES, &[], &judging);
    let labels = json!({"owner": "a"});
    let accepted = |namespace: &str| {
        validate(&guest, &request(namespace, labels.clone(), 9, json!({}))).unwrap()["accepted"]
            .clone()
    };
    assert_eq!(accepted("kube-system"), json!(true));
    assert_eq!(accepted("legacy"), json!(true));
    // The protocol passes no date: a dated exception is not honoured.
    assert_eq!(accepted("dated"), json!(false));
    assert_eq!(accepted("shop"), json!(false));
}
