//! The bundle end to end: build with policies inside, load with wasmtime,
//! evaluate, and stay alive when an input exhausts fuel or memory.

use rampart_bundle::{Bundle, BundleError, Limits};
use rampart_engine::ir::PolicySet;
use serde_json::json;

const POLICIES: &str = r#"
policy example.no_privileged {
  title "No privileged containers"
  severity high
  controls ["EX-1"]
  match pods
  for c in pod.containers {
    deny c.securityContext.privileged == true
      at c.securityContext.privileged
      message "container {c.name} is privileged"
      fix c.securityContext.privileged = false
  }
}

policy example.service_has_pods {
  title "Services select something"
  severity low
  match kinds Service
  let pods = resources("Pod")
  warn count(pods) == 0
    message "no pods in the input"
}
"#;

fn set() -> PolicySet {
    let compilation = rampart_lang::compile(&[rampart_lang::Source {
        name: "example.rampart".into(),
        text: POLICIES.into(),
    }]);
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    compilation.set
}

fn pod(name: &str, privileged: bool) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "app", "image": "nginx", "securityContext": {"privileged": privileged}}]}
    })
}

#[test]
fn bundle_evaluates_manifests_lists_and_admission_reviews() {
    let wasm = rampart_bundle::build(&set(), None).unwrap();
    let mut bundle = Bundle::load(&wasm).unwrap();
    let metadata = bundle.metadata().clone();
    assert_eq!(metadata["abi_version"], json!(rampart_bundle::ABI_VERSION));
    assert_eq!(
        metadata["policies"][0]["id"],
        json!("example.no_privileged")
    );
    assert_eq!(metadata["policies"][0]["controls"], json!(["EX-1"]));
    assert!(bundle.uses_inventory());

    let outcome = bundle
        .evaluate(pod("a", true).to_string().as_bytes())
        .unwrap();
    assert_eq!(outcome.findings.len(), 1);
    let finding = &outcome.findings[0];
    assert_eq!(
        finding.path,
        "/spec/containers/0/securityContext/privileged"
    );
    assert_eq!(finding.controls, vec!["EX-1".to_owned()]);
    assert_eq!(finding.fix.len(), 1);

    let list =
        json!({"apiVersion": "v1", "kind": "List", "items": [pod("a", false), pod("b", true)]});
    let outcome = bundle.evaluate(list.to_string().as_bytes()).unwrap();
    assert_eq!(outcome.resources, 2);
    assert_eq!(
        outcome.findings[0].path,
        "/items/1/spec/containers/0/securityContext/privileged"
    );
    assert_eq!(
        outcome.findings[0].fix[0].path,
        "/items/1/spec/containers/0/securityContext/privileged"
    );

    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "1", "operation": "UPDATE", "object": pod("c", true), "oldObject": pod("c", false)}
    });
    let outcome = bundle.evaluate(review.to_string().as_bytes()).unwrap();
    assert_eq!(outcome.findings.len(), 1);
    assert_eq!(
        outcome.findings[0].path,
        "/spec/containers/0/securityContext/privileged"
    );

    // Cross-resource: a Service alone sees no pods; with an inventory it does.
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}});
    let outcome = bundle.evaluate(service.to_string().as_bytes()).unwrap();
    assert_eq!(outcome.findings.len(), 1);
    bundle
        .set_inventory(Some(
            json!([service, pod("a", false)]).to_string().into_bytes(),
        ))
        .unwrap();
    let outcome = bundle.evaluate(service.to_string().as_bytes()).unwrap();
    assert_eq!(outcome.findings.len(), 0);

    let outcome = bundle.evaluate(b"not json").unwrap();
    assert_eq!(outcome.errors.len(), 1);
}

#[test]
fn fuel_and_memory_limits_fail_one_input_only() {
    let wasm = rampart_bundle::build(&set(), None).unwrap();
    let small = pod("a", true).to_string();
    let containers: Vec<_> = (0..20_000)
        .map(|index| json!({"name": format!("c{index}"), "image": "nginx", "securityContext": {"privileged": true}}))
        .collect();
    let large = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big"}, "spec": {"containers": containers}})
        .to_string();

    let mut bundle = Bundle::with_limits(
        &wasm,
        Limits {
            fuel: 50_000_000,
            ..Limits::default()
        },
    )
    .unwrap();
    assert!(matches!(
        bundle.evaluate(large.as_bytes()),
        Err(BundleError::OutOfFuel { .. })
    ));
    assert_eq!(bundle.evaluate(small.as_bytes()).unwrap().findings.len(), 1);

    let mut bundle = Bundle::with_limits(
        &wasm,
        Limits {
            memory_bytes: 8 << 20,
            ..Limits::default()
        },
    )
    .unwrap();
    let error = bundle.evaluate(large.as_bytes()).unwrap_err();
    assert!(matches!(error, BundleError::OutOfMemory { .. }), "{error}");
    assert_eq!(bundle.evaluate(small.as_bytes()).unwrap().findings.len(), 1);
}

#[test]
fn the_bare_guest_and_garbage_are_refused() {
    assert!(Bundle::load(rampart_bundle::GUEST).is_err());
    assert!(Bundle::load(b"\0asm garbage").is_err());
    let wasm = rampart_bundle::build(&set(), None).unwrap();
    assert!(
        rampart_bundle::embed(&wasm, b"{}").is_err(),
        "a bundle cannot be embedded into again"
    );
}

#[test]
fn policies_read_back_from_a_bundle() {
    let set = set();
    let version = rampart_engine::KubeVersion::parse("v1.30");
    let wasm = rampart_bundle::build(&set, version).unwrap();
    let (read, read_version) = rampart_bundle::policies(&wasm).unwrap();
    assert_eq!(read, set);
    assert_eq!(read_version, version);
    assert!(rampart_bundle::policies(rampart_bundle::GUEST).is_err());
    let bundle = Bundle::load(&wasm).unwrap();
    assert_eq!(bundle.metadata()["kube_version"], json!("v1.30"));
}

/// A Pod whose container's `args` nest arrays so that the manifest has
/// `levels` nested containers in all.
fn deep_pod(levels: usize) -> String {
    let arrays = levels - 4;
    format!(
        r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "deep"}}, "spec": {{"containers": [{{"name": "app", "image": "nginx", "securityContext": {{"privileged": true}}, "args": {}"x"{}}}]}}}}"#,
        "[".repeat(arrays),
        "]".repeat(arrays)
    )
}

#[test]
fn the_bundle_reads_as_deep_as_the_loader_and_no_deeper() {
    let limit = rampart_engine::limits::MAX_DEPTH;
    let limits = rampart_engine::load::LoadLimits::default();
    let wasm = rampart_bundle::build(&set(), None).unwrap();
    let mut bundle = Bundle::load(&wasm).unwrap();

    // At the limit: loaded natively, judged by the bundle (it stopped at
    // 128 levels, the JSON library's own limit).
    let at_limit = deep_pod(limit);
    assert_eq!(
        rampart_engine::load::load_str(&at_limit, &limits).errors,
        vec![]
    );
    let outcome = bundle.evaluate(at_limit.as_bytes()).unwrap();
    assert_eq!(outcome.errors, vec![]);
    assert_eq!(outcome.findings.len(), 1);
    let review = format!(
        r#"{{"kind": "AdmissionReview", "request": {{"uid": "1", "object": {at_limit}}}}}"#
    );
    assert_eq!(
        bundle.evaluate(review.as_bytes()).unwrap().findings.len(),
        1
    );

    // One past it: refused natively and by the bundle, with the same words.
    let past_limit = deep_pod(limit + 1);
    let native = rampart_engine::load::load_str(&past_limit, &limits).errors;
    assert_eq!(native.len(), 1);
    assert_eq!(
        native[0].message,
        "nesting deeper than 256 levels, the limit"
    );
    let outcome = bundle.evaluate(past_limit.as_bytes()).unwrap();
    assert_eq!(outcome.findings, vec![]);
    assert_eq!(outcome.errors.len(), 1);
    let error = &outcome.errors[0];
    assert_eq!(error.policy, None);
    assert!(
        error.message.contains(&native[0].message),
        "{}",
        error.message
    );
}

#[test]
fn an_input_larger_than_the_memory_cap_is_refused_before_it_is_copied() {
    let wasm = rampart_bundle::build(&set(), None).unwrap();
    let mut bundle = Bundle::with_limits(
        &wasm,
        Limits {
            memory_bytes: 8 << 20,
            ..Limits::default()
        },
    )
    .unwrap();
    let padding = "x".repeat(9 << 20);
    let large =
        format!(r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{padding}"}}}}"#);
    assert_eq!(
        bundle.evaluate(large.as_bytes()).unwrap_err(),
        BundleError::OutOfMemory { limit: 8 << 20 }
    );
    assert_eq!(
        bundle.set_inventory(Some(large.into_bytes())).unwrap_err(),
        BundleError::OutOfMemory { limit: 8 << 20 }
    );
    bundle.set_inventory(None).unwrap();
    let small = pod("a", true).to_string();
    assert_eq!(bundle.evaluate(small.as_bytes()).unwrap().findings.len(), 1);
}

#[test]
fn a_set_nested_deeper_than_the_json_librarys_limit_loads_and_reads_back() {
    // A chain of 60 `or`s is some 180 levels of JSON in the IR: past the
    // 128 levels the JSON library allows by default, far within the IR's
    // own bound.
    let condition: Vec<String> = (0..60)
        .map(|index| format!("c.name == \"name-{index}\""))
        .collect();
    let source = format!(
        "policy example.chain {{\n  title \"A long chain\"\n  severity low\n  match pods\n  for c in pod.containers {{\n    deny {}\n      message \"matched\"\n  }}\n}}\n",
        condition.join(" or ")
    );
    let compilation = rampart_lang::compile(&[rampart_lang::Source {
        name: "chain.rampart".into(),
        text: source,
    }]);
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    let wasm = rampart_bundle::build(&compilation.set, None).unwrap();
    let (read, _) = rampart_bundle::policies(&wasm).unwrap();
    assert_eq!(read, compilation.set);
    let mut bundle = Bundle::load(&wasm).unwrap();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "name-59", "image": "nginx"}]}});
    let outcome = bundle.evaluate(pod.to_string().as_bytes()).unwrap();
    assert_eq!(outcome.errors, vec![]);
    assert_eq!(outcome.findings.len(), 1);
}

/// A zero length is one thing in every module of the ABI (the code is
/// `rampart_abi::memory`, shared with the playground's module): allocating
/// 0 bytes gives a real address, never 0, which means "no memory", and
/// freeing it with length 0 works.
#[test]
fn a_zero_length_allocation_is_a_real_one() {
    use wasmtime::{Engine, Instance, Module, Store, TypedFunc};
    let engine = Engine::default();
    let module = Module::new(&engine, rampart_bundle::GUEST).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let alloc: TypedFunc<i32, i32> = instance
        .get_typed_func(&mut store, "rampart_alloc")
        .unwrap();
    let free: TypedFunc<(i32, i32), ()> =
        instance.get_typed_func(&mut store, "rampart_free").unwrap();
    let first = alloc.call(&mut store, 0).unwrap();
    let second = alloc.call(&mut store, 0).unwrap();
    assert_ne!(first, 0);
    assert_ne!(second, 0);
    assert_ne!(first, second, "two live allocations share an address");
    free.call(&mut store, (first, 0)).unwrap();
    free.call(&mut store, (second, 0)).unwrap();
    assert_eq!(alloc.call(&mut store, -1).unwrap(), 0);
}
