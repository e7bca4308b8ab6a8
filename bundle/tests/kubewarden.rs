//! The Kubewarden build (`rampart build --abi kubewarden`) run by a waPC
//! host written here on wasmtime, as Kubewarden's policy server runs it: all
//! the `wapc` host functions linked, `_start` / `wapc_init` called when
//! exported, then `__guest_call` per operation with the operation and the
//! payload handed over through `__guest_request`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

#[path = "support/wapc_host.rs"]
mod wapc_host;

use rampart_bundle::{Abi, Bundle};
use rampart_engine::ir::PolicySet;
use serde_json::{Value as Json, json};
use wapc_host::WapcHost;
use wasmtime::{Engine, Module};

const WARN_POLICY: &str = r#"
policy example.no_latest {
  title "No latest images"
  severity low
  match pods
  for c in pod.containers {
    warn c.image == "nginx:latest"
      message "container {c.name} uses nginx:latest"
  }
}
"#;

/// The standard library's `pss-baseline` set, and one warn policy.
fn set() -> PolicySet {
    let mut sources: Vec<rampart_lang::Source> = rampart_stdlib::sources()
        .map(|(name, text)| rampart_lang::Source {
            name,
            text: text.to_owned(),
        })
        .collect();
    sources.push(rampart_lang::Source {
        name: "example.rampart".into(),
        text: WARN_POLICY.into(),
    });
    let compilation = rampart_lang::compile(&sources);
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    let mut set = compilation.set;
    set.policies.retain(|policy| {
        policy.id.starts_with("pss.baseline.") || policy.id == "example.no_latest"
    });
    set
}

fn pod(privileged: bool, image: &str) -> Json {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": image, "securityContext": {"privileged": privileged}}]}
    })
}

/// A ValidationRequest as the policy server sends it.
fn validation_request(operation: &str, object: Json, old_object: Json) -> Json {
    json!({
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "web",
            "namespace": "default",
            "operation": operation,
            "userInfo": {"username": "admin", "groups": ["system:authenticated"]},
            "object": object,
            "oldObject": old_object,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        },
        "settings": {}
    })
}

fn kubewarden_bundle() -> Vec<u8> {
    rampart_bundle::build_for(&set(), None, Abi::Kubewarden).unwrap()
}

#[test]
fn kubewarden_policy_answers_the_protocol() {
    let wasm = kubewarden_bundle();
    let mut host = WapcHost::new(&wasm);

    let version = host.call("protocol_version", b"").unwrap();
    assert_eq!(
        serde_json::from_slice::<Json>(&version).unwrap(),
        json!("v1")
    );

    assert_eq!(
        host.call_json("validate_settings", &json!({})),
        json!({"valid": true})
    );
    let refused = host.call_json(
        "validate_settings",
        &json!({"allowed_capabilities": ["CHOWN"]}),
    );
    assert_eq!(refused["valid"], json!(false));
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("`allowed_capabilities`"),
        "{refused}"
    );

    // Accepted: nothing privileged.
    let accepted = host.call_json(
        "validate",
        &validation_request("CREATE", pod(false, "nginx:1.27"), Json::Null),
    );
    assert_eq!(accepted, json!({"accepted": true}));

    // Rejected: a privileged container, under pss.baseline.privileged; the
    // warn policy's finding rides along as a warning.
    let rejected = host.call_json(
        "validate",
        &validation_request("CREATE", pod(true, "nginx:latest"), Json::Null),
    );
    assert_eq!(rejected["accepted"], json!(false), "{rejected}");
    assert_eq!(rejected["code"], json!(403));
    let message = rejected["message"].as_str().unwrap();
    assert!(
        message.starts_with("denied by rampart: pss.baseline.privileged: "),
        "{message}"
    );
    assert!(message.contains("app"), "{message}");
    assert_eq!(
        rejected["warnings"],
        json!(["example.no_latest: container app uses nginx:latest"])
    );
    assert!(rejected.get("mutated_object").is_none());

    // Warnings only: accepted, with the warning.
    let warned = host.call_json(
        "validate",
        &validation_request(
            "UPDATE",
            pod(false, "nginx:latest"),
            pod(false, "nginx:1.27"),
        ),
    );
    assert_eq!(
        warned,
        json!({"accepted": true, "warnings": ["example.no_latest: container app uses nginx:latest"]})
    );

    // DELETE: no object, nothing to judge.
    let deleted = host.call_json(
        "validate",
        &validation_request("DELETE", Json::Null, pod(true, "nginx:1.27")),
    );
    assert_eq!(deleted, json!({"accepted": true}));

    // Protocol errors go through __guest_error; the instance stays usable.
    let error = host.call("validate", b"not json").unwrap_err();
    assert!(error.contains("not JSON"), "{error}");
    let error = host.call("mutate", b"{}").unwrap_err();
    assert!(error.contains("no operation `mutate`"), "{error}");
    assert_eq!(
        host.call_json(
            "validate",
            &validation_request("CREATE", pod(false, "nginx:1.27"), Json::Null)
        ),
        json!({"accepted": true})
    );
    assert!(host.logs().is_empty());
}

#[test]
fn kubewarden_module_shape() {
    let wasm = kubewarden_bundle();
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm).unwrap();
    let imports: Vec<(String, String)> = module
        .imports()
        .map(|import| (import.module().to_owned(), import.name().to_owned()))
        .collect();
    assert!(!imports.is_empty());
    assert!(
        imports.iter().all(|(module, _)| module == "wapc"),
        "{imports:?}"
    );
    let exports: Vec<&str> = module.exports().map(|export| export.name()).collect();
    assert!(exports.contains(&"__guest_call"), "{exports:?}");
    assert!(exports.contains(&"memory"), "{exports:?}");
    assert!(
        !exports
            .iter()
            .any(|name| name.starts_with("rampart_") && *name != "rampart_policy_slot")
    );

    // The plain ABI stays import-free.
    let plain = Module::new(&engine, rampart_bundle::GUEST).unwrap();
    assert_eq!(plain.imports().count(), 0);

    // Kubewarden's metadata, as `kwctl annotate` would write it.
    let metadata = wasmparser::Parser::new(0)
        .parse_all(&wasm)
        .find_map(|payload| match payload.unwrap() {
            wasmparser::Payload::CustomSection(reader)
                if reader.name() == rampart_bundle::KUBEWARDEN_METADATA_SECTION =>
            {
                Some(serde_json::from_slice::<Json>(reader.data()).unwrap())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(metadata["protocolVersion"], json!("v1"));
    assert_eq!(metadata["executionMode"], json!("kubewarden-wapc"));
    assert_eq!(metadata["mutating"], json!(false));

    // The policies read back as from a plain bundle; the plain host refuses
    // the module with a clear message.
    let (read, _) = rampart_bundle::policies(&wasm).unwrap();
    assert_eq!(read, set());
    let error = Bundle::load(&wasm).err().unwrap().to_string();
    assert!(error.contains("Kubewarden"), "{error}");
}

#[test]
fn bare_kubewarden_guest_refuses_settings() {
    let mut host = WapcHost::new(rampart_bundle::GUEST_KUBEWARDEN);
    let answer = host.call_json("validate_settings", &json!({}));
    assert_eq!(answer["valid"], json!(false));
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("holds no policies"),
        "{answer}"
    );
    let error = host
        .call(
            "validate",
            validation_request("CREATE", pod(false, "nginx"), Json::Null)
                .to_string()
                .as_bytes(),
        )
        .unwrap_err();
    assert!(error.contains("holds no policies"), "{error}");
}

/// The Kubewarden module judges with the configuration built into it: an
/// exempt namespace is accepted as is, an exception without an expiry date
/// is honoured, and one with an expiry date is not (waPC passes no date, so
/// the module cannot know it is still in force).
#[test]
fn a_kubewarden_policy_applies_its_built_in_configuration() {
    let judging = |config: &str| {
        let mut problems = Vec::new();
        let parsed = rampart_core::Config::parse(config, "rampart.yaml", &mut problems).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        rampart_bundle::EmbeddedConfig {
            file: "rampart.yaml".into(),
            hash: rampart_bundle::text_hash(config),
            judging: parsed.judging,
        }
    };
    let validate = |config: &str| {
        let embedded = (!config.is_empty()).then(|| judging(config));
        let wasm =
            rampart_bundle::build_with(&set(), None, Abi::Kubewarden, embedded.as_ref()).unwrap();
        let mut host = WapcHost::new(&wasm);
        host.call_json(
            "validate",
            &validation_request("CREATE", pod(true, "nginx:1.27"), Json::Null),
        )
    };
    assert_eq!(validate("")["accepted"], json!(false));
    assert_eq!(
        validate("exemptions:\n  namespaces: [default]\n"),
        json!({"accepted": true})
    );
    assert_eq!(
        validate("exceptions:\n  - policy: pss.baseline.*\n    reason: a test (OPS-3)\n"),
        json!({"accepted": true})
    );
    assert_eq!(
        validate(
            "exceptions:\n  - policy: pss.baseline.*\n    reason: a test (OPS-3)\n    expires: 2999-12-31\n"
        )["accepted"],
        json!(false)
    );
}
