//! The policy target: parser, compiler, evaluator (on what compiles), test
//! runner and formatter, whose output must format to itself.

use crate::common::{
    ADDRESS_SPACE, WORKER_STACK, manifest_resources, message_shape, repository_files,
};
use crate::driver::{Harness, Target};
use crate::generate;
use crate::mutate::hash;
use rampart_engine::json::{Json as Manifest, KeyFilter};
use rampart_engine::{EvalOptions, Evaluator, Inventory, KubeVersion, Subject};

const POLICY_TOKENS: &[&[u8]] = &[
    b"policy ",
    b"test ",
    b"fn ",
    b"let ",
    b"for ",
    b" in ",
    b"if ",
    b" then ",
    b" else ",
    b"deny ",
    b"warn ",
    b"audit ",
    b"message ",
    b"fix ",
    b" at ",
    b"match ",
    b"pods",
    b"severity high\n",
    b"param size: int = 3\n",
    b"params.size",
    b"since v1.30\n",
    b"overrides [a.b]\n",
    b"given pod {}\n",
    b"expect deny\n",
    b"expect allow\n",
    b"not ",
    b" and ",
    b" or ",
    b" ?? ",
    b" == ",
    b" not in ",
    b"(",
    b")",
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b"\"\"\"",
    b"r\"",
    b"{pod.metadata.name}",
    b"\\u{41}",
    b"\\u{110000}",
    b"pod.",
    b"resource.",
    b"old_resource",
    b"c.securityContext",
    b"replace(",
    b"matches(",
    b"count(",
    b"resources(\"Pod\")",
    b"image(",
    b"quantity(",
    b"any(x in ",
    b"[x for x in ",
    b"//",
    b"///",
    b"-9223372036854775808",
    b"1e999",
    b"version_at_least(\"1.99\")",
];

fn policy_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = rampart_stdlib::sources()
        .map(|(_, text)| text.as_bytes().to_vec())
        .collect();
    seeds.extend(repository_files(
        &["examples", "cli/tests/fixtures"],
        &["rampart"],
    ));
    seeds
}

struct PolicyHarness {
    /// Resources to judge, with their loader's key filters.
    manifests: Vec<(Manifest, Option<KeyFilter>)>,
}

impl Harness for PolicyHarness {
    fn run(&mut self, input: &[u8]) -> Result<u64, String> {
        let text = String::from_utf8_lossy(input).into_owned();
        let compilation = rampart_lang::compile(&[rampart_lang::Source {
            name: "fuzz.rampart".to_owned(),
            text: text.clone(),
        }]);
        let mut summary = String::new();
        for diagnostic in &compilation.diagnostics {
            summary.push_str(diagnostic.code);
            summary.push_str(&message_shape(&diagnostic.message));
        }
        // What compiled runs, on the repository's manifests and its own tests.
        let evaluator = Evaluator::new(
            &compilation.set,
            EvalOptions {
                step_budget: 50_000,
                ..EvalOptions::default()
            },
        );
        let mut inventory = Inventory::new();
        for (manifest, _) in &self.manifests {
            inventory.add(manifest);
        }
        // Copies of the policies: the evaluator has no plans for them, so
        // they run every let and skip no resource.
        let unplanned = compilation.set.policies.to_vec();
        let overridden = compilation.set.overridden_at(KubeVersion::LATEST);
        for (manifest, keys) in &self.manifests {
            let subject = Subject {
                resource: manifest,
                old_resource: Some(manifest),
                inventory: Some(&inventory),
                keys: keys.as_ref(),
            };
            let planned = evaluator.evaluate(&subject);
            summary.push_str(&format!(
                "|{}:{}",
                planned.findings.len().min(3),
                planned.errors.len().min(3)
            ));
            // A plan changes cost, never results (ARCHITECTURE.md). Where a
            // policy stopped (its budget, or a let only messages read) the
            // two may differ by design.
            let mut reference = rampart_engine::Evaluation::default();
            for (policy, overridden) in unplanned.iter().zip(&overridden) {
                if !overridden {
                    evaluator.evaluate_policy(policy, &subject, &mut reference);
                }
            }
            if planned.errors.is_empty() && reference.errors.is_empty() && planned != reference {
                return Err(format!(
                    "planned and unplanned evaluations differ on {}: planned {:?}, unplanned {:?}",
                    manifest["metadata"]["name"], planned.findings, reference.findings
                ));
            }
        }
        for test in &compilation.tests {
            let resources: Vec<Manifest> = test
                .resources
                .iter()
                .filter_map(|resource| match resource {
                    rampart_lang::compile::TestResource::Inline(json) => Some(json.clone()),
                    rampart_lang::compile::TestResource::File(_) => None,
                })
                .collect();
            let outcome = rampart_lang::testing::run_test(&compilation.set, test, &resources);
            summary.push(if outcome.passed { 'p' } else { 'f' });
        }
        // `rampart fmt`'s layout is canonical: formatting its output changes nothing.
        if let Ok(formatted) = rampart_lang::format::format(&text) {
            match rampart_lang::format::format(&formatted) {
                Ok(again) if again == formatted => {}
                Ok(_) => return Err("formatting the formatter's output changed it".to_owned()),
                Err(diagnostic) => {
                    return Err(format!(
                        "the formatter's output does not parse: {}",
                        diagnostic.message
                    ));
                }
            }
        }
        Ok(hash(summary.as_bytes()))
    }
}

/// A pod with long strings and many containers and labels, so that string
/// functions and loops in generated policies have something to chew on.
fn large_pod() -> Manifest {
    let containers: Vec<serde_json::Value> = (0..64)
        .map(|index| {
            serde_json::json!({
                "name": format!("c{index}"),
                "image": format!("registry.example.com/team/image-{index}:{}", "v".repeat(index * 8)),
                "securityContext": {"privileged": index % 2 == 0},
            })
        })
        .collect();
    let labels: serde_json::Map<String, serde_json::Value> = (0..64)
        .map(|index| {
            (
                format!("label-{index}"),
                serde_json::Value::from("a".repeat(index)),
            )
        })
        .collect();
    Manifest::from(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "large",
            "labels": labels,
            "annotations": {"team": "t".repeat(2_000)},
        },
        "spec": {"containers": containers},
    }))
}

/// The policy parser, compiler, evaluator (on what compiles), test runner and formatter.
pub const POLICY: Target = Target {
    name: "policy",
    seeds: policy_seeds,
    harness: || {
        Box::new(PolicyHarness {
            manifests: manifest_resources()
                .into_iter()
                .take(12)
                .chain(std::iter::once((large_pod(), None)))
                .collect(),
        })
    },
    generate: generate::policy,
    generate_one_in: 3,
    dictionary: POLICY_TOKENS,
    iterations: 1_000,
    stack_bytes: WORKER_STACK,
    address_space_bytes: Some(ADDRESS_SPACE),
    max_len: 64 << 10,
};
