//! Instantiating a bundle and evaluating one manifest, natively and in Wasm,
//! with the whole standard library.

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_engine::{EvalOptions, Evaluator, Inventory, Subject};
use std::hint::black_box;

fn manifest() -> rampart_engine::json::Json {
    rampart_engine::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "containers": [
                {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                 "securityContext": {"privileged": true, "runAsUser": 0}},
                {"name": "sidecar", "image": "envoy:latest",
                 "resources": {"limits": {"cpu": "1", "memory": "128Mi"}}}
            ],
            "volumes": [{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}]
        }}}
    })
}

fn benches(criterion: &mut Criterion) {
    let sources: Vec<rampart_lang::Source> = rampart_stdlib::sources()
        .map(|(name, text)| rampart_lang::Source {
            name,
            text: text.to_owned(),
        })
        .collect();
    let set = rampart_lang::compile(&sources).set;
    let wasm = rampart_bundle::build(&set, None).unwrap_or_default();
    let manifest = manifest();
    let input = manifest.to_string();

    criterion.bench_function("wasm: compile and instantiate the stdlib bundle", |bench| {
        bench.iter(|| {
            rampart_bundle::Bundle::load(black_box(&wasm)).map(|bundle| bundle.metadata().clone())
        });
    });
    let evaluator = Evaluator::new(&set, EvalOptions::default());
    let inventory = Inventory::new();
    criterion.bench_function("native: evaluate one Deployment", |bench| {
        bench.iter(|| {
            evaluator.evaluate(&Subject {
                resource: black_box(&manifest),
                old_resource: None,
                inventory: Some(&inventory),
                keys: None,
            })
        });
    });
    if let Ok(mut bundle) = rampart_bundle::Bundle::load(&wasm) {
        criterion.bench_function("wasm: evaluate one Deployment (JSON in and out)", |bench| {
            bench.iter(|| {
                bundle
                    .evaluate(black_box(input.as_bytes()))
                    .map(|outcome| outcome.findings.len())
            });
        });
    }
}

criterion_group!(bundle, benches);
criterion_main!(bundle);
