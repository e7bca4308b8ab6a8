//! The admission handler and bundle targets: the webhook's pure request
//! handler must answer 200 or 400 with JSON, and the guest behind the
//! bundle ABI must never trap.

use crate::common::{
    ADDRESS_SPACE, WORKER_STACK, manifest_values, message_shape, shorten, standard_set,
};
use crate::driver::{Harness, Target};
use crate::generate;
use crate::mutate::{Rng, hash};
use rampart_engine::json::Json as Manifest;
use rampart_engine::load::{self, LoadLimits};
use rampart_engine::{EvalOptions, Evaluator, Inventory, KubeVersion, PolicySet, Subject};

const ADMISSION_TOKENS: &[&[u8]] = &[
    b"\"operation\":\"UPDATE\"",
    b"\"operation\":\"DELETE\"",
    b"\"operation\":\"CONNECT\"",
    b"\"oldObject\":",
    b"\"object\":null",
    b"\"subResource\":\"status\"",
    b"\"dryRun\":true",
    b"\"uid\":\"\"",
    b"\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"}",
    b"\"request\":",
    b"\"apiVersion\":\"admission.k8s.io/v1beta1\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"null",
    b"true",
    b"\\u0000",
    b"\"privileged\":true",
    b"\"hostNetwork\":true",
    b"\"kind\":\"List\",\"items\":[",
];

/// An AdmissionReview of `operation` carrying `object`.
fn review(uid: usize, operation: &str, object: &Manifest) -> Vec<u8> {
    let kind = object
        .get("kind")
        .and_then(Manifest::as_str)
        .unwrap_or("Pod");
    let old = if operation == "UPDATE" {
        format!(",\"oldObject\":{object}")
    } else {
        String::new()
    };
    format!(
        "{{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{{\"uid\":\"u{uid}\",\
         \"kind\":{{\"group\":\"\",\"version\":\"v1\",\"kind\":\"{kind}\"}},\"namespace\":\"shop\",\
         \"operation\":\"{operation}\",\"userInfo\":{{\"username\":\"fuzz\"}},\"object\":{object}{old}}}}}"
    )
    .into_bytes()
}

fn admission_seeds() -> Vec<Vec<u8>> {
    // `fuzz/seeds/admission/` is this target's committed corpus, run before these.
    let mut seeds = Vec::new();
    for (index, value) in manifest_values().iter().enumerate() {
        let operation = ["CREATE", "UPDATE", "DELETE"][index % 3];
        seeds.push(review(index, operation, value));
    }
    seeds
}

fn admission_generate(rng: &mut Rng) -> Vec<u8> {
    let object = generate::json(rng);
    let text = String::from_utf8_lossy(&object).into_owned();
    let operation = *rng.pick(&["CREATE", "UPDATE", "DELETE", "CONNECT"]);
    format!(
        "{{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{{\"uid\":\"g\",\
         \"kind\":{{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}},\"operation\":\"{operation}\",\"object\":{text}}}}}"
    )
    .into_bytes()
}

struct AdmissionHarness {
    state: rampart_server::State,
}

impl Harness for AdmissionHarness {
    fn run(&mut self, input: &[u8]) -> Result<u64, String> {
        let mut summary = Vec::new();
        for endpoint in [
            rampart_server::Endpoint::Validate,
            rampart_server::Endpoint::Mutate,
        ] {
            let response = rampart_server::handle(endpoint, input, &self.state);
            if response.status != 200 && response.status != 400 {
                return Err(format!("answered HTTP {}", response.status));
            }
            let body: serde_json::Value = serde_json::from_slice(&response.body)
                .map_err(|error| format!("the answer is not JSON ({error})"))?;
            if response.status == 200 {
                let answer = body.get("response");
                if body.get("kind").and_then(serde_json::Value::as_str) != Some("AdmissionReview")
                    || answer
                        .and_then(|answer| answer.get("allowed"))
                        .and_then(serde_json::Value::as_bool)
                        .is_none()
                    || answer
                        .and_then(|answer| answer.get("uid"))
                        .and_then(serde_json::Value::as_str)
                        .is_none_or(str::is_empty)
                {
                    return Err(format!(
                        "a 200 answer without an AdmissionReview response of a uid and `allowed`: {}",
                        shorten(&body.to_string())
                    ));
                }
            }
            // The kind of answer, not its echoes of the input (the uid), tells outcomes apart.
            let answer = body.get("response");
            let field = |name: &str| answer.and_then(|answer| answer.get(name));
            let message = field("status")
                .and_then(|status| status.get("message"))
                .or_else(|| body.get("message"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            summary.push(format!(
                "{}{:?}{}{}{}",
                response.status,
                response.decision,
                message_shape(message),
                field("warnings")
                    .and_then(serde_json::Value::as_array)
                    .map_or(0, Vec::len)
                    .min(4),
                field("patch").is_some()
            ));
        }
        Ok(hash(summary.concat().as_bytes()))
    }
}

/// The webhook's pure request handler, at both endpoints, with the `recommended` set.
pub const ADMISSION: Target = Target {
    name: "admission",
    seeds: admission_seeds,
    harness: || {
        Box::new(AdmissionHarness {
            state: rampart_server::State::new(
                standard_set("recommended"),
                // A small budget keeps each input fast; running out is an answer too.
                EvalOptions {
                    version: KubeVersion::LATEST,
                    step_budget: 100_000,
                    ..EvalOptions::default()
                },
                rampart_server::FailurePolicy::Fail,
            ),
        })
    },
    generate: admission_generate,
    generate_one_in: 8,
    dictionary: ADMISSION_TOKENS,
    iterations: 20_000,
    stack_bytes: WORKER_STACK,
    address_space_bytes: Some(ADDRESS_SPACE),
    max_len: 256 << 10,
};

// ---------------------------------------------------------------- bundle

fn bundle_seeds() -> Vec<Vec<u8>> {
    let mut seeds = admission_seeds();
    let values = manifest_values();
    for value in &values {
        seeds.push(value.to_string().into_bytes());
    }
    let items: Vec<String> = values.iter().map(ToString::to_string).collect();
    seeds.push(
        format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{}]}}",
            items.join(",")
        )
        .into_bytes(),
    );
    seeds
}

fn bundle_generate(rng: &mut Rng) -> Vec<u8> {
    if rng.chance(1, 3) {
        admission_generate(rng)
    } else {
        generate::json(rng)
    }
}

/// Runs inputs through the guest's exports: `rampart_evaluate`, and every
/// fourth input also as the inventory (`rampart_set_inventory`) before a
/// pod is judged.
struct BundleHarness {
    bundle: rampart_bundle::Bundle,
    /// The bundle's policies, judged natively: what the guest finds in a
    /// plain manifest must be what the engine finds.
    native: Evaluator<'static>,
    pod: Vec<u8>,
    count: u64,
}

impl BundleHarness {
    /// A trap is a panic in the guest: a broken invariant. Limits reached
    /// are answers (the input was too large for the allowance), and so are
    /// the errors the guest reports about an inventory (`refused`).
    fn check<T>(
        result: Result<T, rampart_bundle::BundleError>,
        what: &str,
        refused: bool,
    ) -> Result<String, String> {
        use rampart_bundle::BundleError;
        match result {
            Ok(_) => Ok("ok".to_owned()),
            Err(error @ (BundleError::OutOfFuel { .. } | BundleError::OutOfMemory { .. })) => {
                Ok(message_shape(&error.to_string()))
            }
            Err(error @ BundleError::Protocol(_)) if refused => {
                Ok(message_shape(&error.to_string()))
            }
            Err(error) => Err(format!("{what}: {error}")),
        }
    }
}

impl Harness for BundleHarness {
    fn run(&mut self, input: &[u8]) -> Result<u64, String> {
        self.count += 1;
        let mut summary = String::new();
        if self.count.is_multiple_of(4) {
            let result = self.bundle.set_inventory(Some(input.to_vec()));
            summary.push_str(&Self::check(result, "rampart_set_inventory", true)?);
            let pod = self.pod.clone();
            // When the previous input cost the instance (out of fuel), the
            // host keeps the inventory without sending it, and the guest's
            // refusal comes with this evaluation instead: an answer too.
            summary.push_str(&Self::check(
                self.bundle.evaluate_json(&pod),
                "rampart_evaluate after the inventory",
                true,
            )?);
            let cleared = self.bundle.set_inventory(None);
            Self::check(cleared, "rampart_set_inventory (clearing)", false)?;
        }
        match self.bundle.evaluate_json(input) {
            Ok(answer) => {
                let errors = answer.get("errors").and_then(serde_json::Value::as_array);
                let findings = answer.get("findings").and_then(serde_json::Value::as_array);
                let (Some(errors), Some(findings)) = (errors, findings) else {
                    return Err(format!(
                        "rampart_evaluate answered without findings and errors: {}",
                        shorten(&answer.to_string())
                    ));
                };
                for error in errors {
                    if let Some(message) = error.get("message").and_then(serde_json::Value::as_str)
                    {
                        summary.push_str(&message_shape(message));
                    }
                }
                summary.push_str(&format!("|{}", findings.len().min(8)));
                if errors.is_empty()
                    && let Some(expected) = native_findings(&self.native, input)
                {
                    let mut found: Vec<String> = findings
                        .iter()
                        .map(|finding| {
                            format!(
                                "{} {} {}",
                                finding["policy"].as_str().unwrap_or_default(),
                                finding["rule"],
                                finding["path"].as_str().unwrap_or_default()
                            )
                        })
                        .collect();
                    found.sort();
                    if found != expected {
                        return Err(format!(
                            "the bundle found {found:?}, the engine natively {expected:?}"
                        ));
                    }
                }
            }
            Err(error) => {
                summary.push_str(&Self::check(
                    Err::<(), _>(error),
                    "rampart_evaluate",
                    false,
                )?);
            }
        }
        Ok(hash(summary.as_bytes()))
    }
}

/// The findings (policy, rule, path; sorted) of a plain manifest or `kind:
/// List` in JSON judged natively, as the guest judges it; `None` for
/// anything else, or when loading or a policy reported an error.
fn native_findings(evaluator: &Evaluator<'static>, input: &[u8]) -> Option<Vec<String>> {
    let text = std::str::from_utf8(input).ok()?;
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    if !value.is_object()
        || value.get("kind").and_then(serde_json::Value::as_str) == Some("AdmissionReview")
    {
        return None;
    }
    let outcome = load::load_str(text, &LoadLimits::default());
    if !outcome.errors.is_empty() || outcome.documents.len() != 1 {
        return None;
    }
    let mut errors = Vec::new();
    let resources = load::resources(&outcome.documents, &mut errors);
    if !errors.is_empty() {
        return None;
    }
    let mut inventory = Inventory::new();
    if evaluator.policy_set().uses_inventory() {
        for resource in &resources {
            inventory.add(resource.value);
        }
    }
    let mut findings = Vec::new();
    for resource in &resources {
        let evaluation = evaluator.evaluate(&Subject {
            resource: resource.value,
            old_resource: None,
            inventory: Some(&inventory),
            keys: resource.document.keys.as_ref(),
        });
        if !evaluation.errors.is_empty() {
            return None;
        }
        for finding in evaluation.findings {
            findings.push(format!(
                "{} {} {}{}",
                finding.policy, finding.rule, resource.pointer, finding.pointer
            ));
        }
    }
    findings.sort();
    Some(findings)
}

/// The bundle ABI: the guest built for wasm32 with the `recommended` set,
/// run by the bundle host (wasmtime) with a small fuel and memory allowance.
pub const BUNDLE: Target = Target {
    name: "bundle",
    seeds: bundle_seeds,
    harness: || {
        let set = standard_set("recommended");
        let bytes = rampart_bundle::build(&set, None)
            .unwrap_or_else(|error| panic!("cannot build the bundle: {error}"));
        let bundle = rampart_bundle::Bundle::with_limits(
            &bytes,
            rampart_bundle::Limits {
                fuel: 2_000_000_000,
                memory_bytes: 256 << 20,
            },
        )
        .unwrap_or_else(|error| panic!("cannot load the bundle: {error}"));
        let pod = manifest_values()
            .into_iter()
            .next()
            .map(|value| value.to_string().into_bytes())
            .unwrap_or_default();
        // Leaked: the evaluator borrows the set for the whole run of the child.
        let set: &'static PolicySet = Box::leak(Box::new(set));
        Box::new(BundleHarness {
            bundle,
            native: Evaluator::new(set, EvalOptions::default()),
            pod,
            count: 0,
        })
    },
    generate: bundle_generate,
    generate_one_in: 8,
    dictionary: ADMISSION_TOKENS,
    iterations: 2_000,
    // The host calls into Wasm on this thread; Wasm's own stack is separate.
    stack_bytes: 8 << 20,
    // wasmtime reserves gigabytes of address space per memory: no limit here.
    address_space_bytes: None,
    max_len: 256 << 10,
};
