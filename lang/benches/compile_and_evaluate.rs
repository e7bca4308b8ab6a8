//! Compiling the standard library, and evaluating it on one manifest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmarks"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_engine::load::{LoadLimits, load_str, resources};
use rampart_engine::{EvalOptions, Evaluator, Subject};
use rampart_lang::{Source, compile};
use std::hint::black_box;

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      initContainers:
        - name: migrate
          image: registry.example.com/shop/migrate:1.0.0
      containers:
        - name: app
          image: registry.example.com/shop/web:1.4.2
          ports: [{containerPort: 8080}]
          resources:
            limits: {cpu: 500m, memory: 256Mi}
            requests: {cpu: 100m, memory: 128Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
        - name: proxy
          image: registry.example.com/shop/proxy:2.1.0
          securityContext: {privileged: true}
"#;

fn sources() -> Vec<Source> {
    rampart_stdlib::sources()
        .map(|(name, text)| Source {
            name,
            text: text.to_owned(),
        })
        .collect()
}

fn benchmarks(criterion: &mut Criterion) {
    let sources = sources();
    criterion.bench_function("compile the standard library", |bencher| {
        bencher.iter(|| compile(black_box(&sources)))
    });
    let compilation = compile(&sources);
    let outcome = load_str(DEPLOYMENT, &LoadLimits::default());
    criterion.bench_function("load one Deployment (YAML with positions)", |bencher| {
        bencher.iter(|| load_str(black_box(DEPLOYMENT), &LoadLimits::default()))
    });
    let mut errors = Vec::new();
    let resource = resources(&outcome.documents, &mut errors).remove(0).value;
    let evaluator = Evaluator::new(&compilation.set, EvalOptions::default());
    criterion.bench_function(
        "evaluate the standard library on one Deployment",
        |bencher| bencher.iter(|| evaluator.evaluate(&Subject::new(black_box(resource)))),
    );
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
