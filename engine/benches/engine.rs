//! The evaluator and the loaders on their own: the standard library's
//! `recommended` set on one Pod and one Deployment; YAML with positions (one
//! manifest, and a 1 MB multi-document file); JSON (one manifest, and 1 MB of
//! JSON lines). `cargo bench -p rampart-engine --bench engine`.
//!
//! With mimalloc, as in the `rampart` binary: loading allocates a node per
//! value, and with the system allocator it runs several times slower.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_engine::load::{LoadLimits, load_str};
use rampart_engine::{EvalOptions, Evaluator, PolicySet, Subject};
use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/web:1.4.2
          ports: [{containerPort: 8080}]
          securityContext:
            privileged: true
            runAsUser: 0
          resources:
            requests: {cpu: 100m, memory: 128Mi}
        - name: sidecar
          image: envoy:latest
          resources:
            limits: {cpu: "1", memory: 128Mi}
      volumes:
        - name: sock
          hostPath: {path: /var/run/docker.sock}
"#;

const POD: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: shop
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: api
      image: registry.example.com/shop/api:2.0.1
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
      resources:
        requests: {cpu: 50m, memory: 64Mi}
        limits: {memory: 64Mi}
"#;

/// The standard library's `recommended` set, compiled from source.
fn recommended() -> PolicySet {
    let sources: Vec<rampart_lang::Source> = rampart_stdlib::sources()
        .map(|(name, text)| rampart_lang::Source {
            name,
            text: text.to_owned(),
        })
        .collect();
    let mut set = rampart_lang::compile(&sources).set;
    let include = rampart_stdlib::set("recommended")
        .map(|set| set.include)
        .unwrap_or_default();
    set.policies.retain(|policy| {
        include
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => policy.id.starts_with(prefix),
                None => policy.id == *pattern,
            })
    });
    set
}

fn one(text: &str) -> rampart_engine::json::Json {
    load_str(text, &LoadLimits::default())
        .documents
        .into_iter()
        .next()
        .map(|document| document.value)
        .unwrap_or_default()
}

/// About `bytes` of documents: the Deployment and the Pod in turn, each
/// with its own name, as YAML documents or JSON lines.
fn many(bytes: usize, json: bool) -> String {
    let templates = [one(DEPLOYMENT), one(POD)];
    let mut text = String::new();
    let mut index = 0usize;
    while text.len() < bytes {
        let mut manifest = templates[index % 2].clone();
        if let Some(metadata) = manifest
            .get_mut("metadata")
            .and_then(rampart_engine::json::Json::as_object_mut)
        {
            metadata.insert("name".to_owned(), format!("m-{index}").into());
        }
        if json {
            text.push_str(&manifest.to_string());
            text.push('\n');
        } else {
            text.push_str("---\n");
            text.push_str(&to_yaml(&manifest, 0));
        }
        index += 1;
    }
    text
}

/// Block-style YAML for plain JSON values (strings always quoted).
fn to_yaml(value: &rampart_engine::json::Json, indent: usize) -> String {
    use rampart_engine::json::Json as Value;
    let pad = " ".repeat(indent);
    let mut out = String::new();
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                match member {
                    Value::Object(inner) if !inner.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n{}", to_yaml(member, indent + 2)));
                    }
                    Value::Array(items) if !items.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n{}", to_yaml(member, indent + 2)));
                    }
                    scalar => out.push_str(&format!("{pad}{key}: {scalar}\n")),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let nested = to_yaml(item, indent + 2);
                let trimmed = nested.get(indent + 2..).unwrap_or_default();
                if matches!(item, Value::Object(_) | Value::Array(_)) {
                    out.push_str(&format!("{pad}- {trimmed}"));
                } else {
                    out.push_str(&format!("{pad}- {item}\n"));
                }
            }
        }
        scalar => out.push_str(&format!("{pad}{scalar}\n")),
    }
    out
}

fn evaluation(criterion: &mut Criterion) {
    let set = recommended();
    let evaluator = Evaluator::new(&set, EvalOptions::default());
    let deployment = one(DEPLOYMENT);
    let pod = one(POD);
    let mut group = criterion.benchmark_group("evaluate recommended");
    group.bench_function("Pod", |bench| {
        bench.iter(|| evaluator.evaluate(&Subject::new(black_box(&pod))))
    });
    group.bench_function("Deployment", |bench| {
        bench.iter(|| evaluator.evaluate(&Subject::new(black_box(&deployment))))
    });
    // What a fresh evaluator costs before its first resource: its plans
    // (constant lets, located and deferred variables, the key index) for
    // every policy.
    group.bench_function("a new evaluator", |bench| {
        bench.iter(|| Evaluator::new(black_box(&set), EvalOptions::default()))
    });
    group.finish();
}

fn loading(criterion: &mut Criterion) {
    let limits = LoadLimits::default();
    let deployment_json = one(DEPLOYMENT).to_string();
    let yaml_file = many(1 << 20, false);
    let json_lines = many(1 << 20, true);
    for (what, text) in [("YAML", &yaml_file), ("JSON lines", &json_lines)] {
        let outcome = load_str(text, &limits);
        eprintln!(
            "{what}: {} bytes, {} documents, {} errors",
            text.len(),
            outcome.documents.len(),
            outcome.errors.len()
        );
    }
    let mut group = criterion.benchmark_group("load");
    group.bench_function("YAML, one Deployment", |bench| {
        bench.iter(|| load_str(black_box(DEPLOYMENT), &limits))
    });
    group.bench_function("JSON, one Deployment", |bench| {
        bench.iter(|| load_str(black_box(&deployment_json), &limits))
    });
    group.throughput(Throughput::Bytes(yaml_file.len() as u64));
    group.bench_function("YAML, 1 MB multi-document", |bench| {
        bench.iter(|| load_str(black_box(&yaml_file), &limits))
    });
    group.throughput(Throughput::Bytes(json_lines.len() as u64));
    group.bench_function("JSON lines, 1 MB", |bench| {
        bench.iter(|| load_str(black_box(&json_lines), &limits))
    });
    group.finish();
}

criterion_group!(benches, evaluation, loading);
criterion_main!(benches);
