//! Feeds arbitrary bytes to the admission handler, as both endpoints, with
//! the standard library's `recommended` set. The handler must answer every
//! input with 200 or 400 and a JSON body, and never panic.
//!
//! ```sh
//! mkdir -p corpus/admission    # the working corpus (not committed)
//! cargo +nightly fuzz run admission corpus/admission seeds/admission -- -max_total_time=60
//! ```

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_engine::{EvalOptions, KubeVersion};
use rampart_server::{Endpoint, FailurePolicy, State, handle};

thread_local! {
    // A compiled set is not `Sync`, so each fuzzing thread compiles its own once.
    static STATE: State = recommended();
}

fn recommended() -> State {
    let sources: Vec<rampart_lang::Source> = rampart_stdlib::sources()
        .map(|(name, text)| rampart_lang::Source {
            name,
            text: text.to_owned(),
        })
        .collect();
    let mut set = rampart_lang::compile(&sources).set;
    let patterns = rampart_stdlib::set("recommended")
        .map(|set| set.include)
        .unwrap_or_default();
    set.policies.retain(|policy| {
        patterns
            .iter()
            .any(|pattern| rampart_engine::helpers::glob::matches(pattern, &policy.id))
    });
    State::new(
        set,
        // A small budget keeps each input fast; running out is an answer too.
        EvalOptions {
            version: KubeVersion::LATEST,
            step_budget: 100_000,
            ..EvalOptions::default()
        },
        FailurePolicy::Fail,
    )
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|state| {
        for endpoint in [Endpoint::Validate, Endpoint::Mutate] {
            let response = handle(endpoint, data, state);
            assert!(response.status == 200 || response.status == 400);
            assert!(looks_like_a_json_object(&response.body));
        }
    });
});

fn looks_like_a_json_object(body: &[u8]) -> bool {
    // The server crate re-exports nothing of serde_json; a cheap structural check suffices.
    body.first() == Some(&b'{') && body.last() == Some(&b'}')
}
