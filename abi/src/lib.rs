//! Rampart's WebAssembly ABI in one place, for every module that speaks it
//! (the bundle's guest, the playground's module) and every host that calls
//! them (`rampart-bundle`'s wasmtime host): see `docs/wasm-abi.md`.
//!
//! - the constants: [`ABI_VERSION`], [`PAYLOAD_FORMAT`], the policy slot's
//!   [`SLOT_MAGIC`] and [`SLOT_EXPORT`];
//! - the export code ([`memory`]): allocation with one behaviour for a
//!   zero length, the caller's input, the packed `address << 32 | length`
//!   output;
//! - today's date as the host passes it ([`encode_date`], [`decode_date`]);
//! - the typed payloads: the answer of an evaluation ([`Outcome`]), the
//!   configuration built in ([`EmbeddedConfig`], [`text_hash`]), and the one
//!   reader of the embedded payload ([`read_payload`]).

pub mod memory;
pub mod outcome;

pub use outcome::{Outcome, OutcomeError, WasmFinding};

use rampart_core::{Date, Judging};
use serde::{Deserialize, Serialize};

/// The ABI version, returned by `rampart_abi_version`. Bumped on every
/// incompatible change of the exports or of their JSON. Version 2:
/// `rampart_evaluate` takes today's date as a third argument, and the guest
/// judges with the configuration built into the bundle.
pub const ABI_VERSION: i32 = 2;

/// The version of the embedded payload's format (the JSON that `rampart
/// build` writes: `{"format", "kube_version", "set", "config"}`). Version 2
/// adds `config`.
pub const PAYLOAD_FORMAT: u32 = 2;

/// First word of the policy slot, so that `rampart build` can check it
/// found the slot (`"RPL1"` little-endian).
pub const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"RPL1");

/// The exported global holding the policy slot's address.
pub const SLOT_EXPORT: &str = "rampart_policy_slot";

/// The configuration a bundle was built with: the judging part (the
/// parameters and actions are already in its policies), and which file it
/// came from, so that a host can tell when the `rampart.yaml` beside it is
/// another one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddedConfig {
    /// The configuration file's name, as `rampart build` was given it.
    pub file: String,
    /// [`text_hash`] of the file's text.
    pub hash: String,
    /// Exceptions, exemptions and annotation self-exemption.
    pub judging: Judging,
}

/// A hash of a configuration's text (64-bit FNV-1a, in hexadecimal): it
/// only tells two texts apart, it does not authenticate anything.
pub fn text_hash(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Why an embedded payload could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadError(pub String);

impl std::fmt::Display for PayloadError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for PayloadError {}

/// Parses an embedded payload (`{"format", "kube_version", "set",
/// "config"}`) under the IR's own nesting bound, one level more for the
/// payload around the set, instead of the JSON library's recursion limit of
/// 128, which compiled sets pass (a chain of 60 `or`s). Both the guest and
/// the native reader (`rampart_bundle::contents`) read it here.
pub fn read_payload(payload: &[u8]) -> Result<serde_json::Value, PayloadError> {
    use rampart_engine::ir::{MAX_IR_NESTING, check_nesting};
    check_nesting(payload, MAX_IR_NESTING + 1).map_err(|error| PayloadError(error.to_string()))?;
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    deserializer.disable_recursion_limit();
    let value = serde::Deserialize::deserialize(&mut deserializer)
        .map_err(|error: serde_json::Error| PayloadError(error.to_string()))?;
    deserializer
        .end()
        .map_err(|error| PayloadError(error.to_string()))?;
    Ok(value)
}

/// Why the date a host passed is not a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateArgumentError(pub i32);

impl std::fmt::Display for DateArgumentError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "the host passed {} as today's date; the ABI takes it as the number YYYYMMDD (e.g. 20270115)",
            self.0
        )
    }
}

impl std::error::Error for DateArgumentError {}

/// Today's date as the ABI passes it: the decimal number `YYYYMMDD`
/// (`2027-01-15` is `20270115`), which a host without a date library can
/// write from an ISO date by removing its dashes.
pub fn encode_date(date: Date) -> i32 {
    date.year
        .saturating_mul(10_000)
        .saturating_add(i32::from(date.month) * 100 + i32::from(date.day))
}

/// Reads a date passed as `YYYYMMDD`, refusing anything that is not a day
/// of the calendar (0, a negative number, `20270230`).
pub fn decode_date(value: i32) -> Result<Date, DateArgumentError> {
    if !(10_000_101..=99_991_231).contains(&value) {
        return Err(DateArgumentError(value));
    }
    let text = format!(
        "{:04}-{:02}-{:02}",
        value / 10_000,
        value / 100 % 100,
        value % 100
    );
    Date::parse(&text).map_err(|_| DateArgumentError(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_pass_as_yyyymmdd() {
        let date = Date::parse("2027-01-15").unwrap();
        assert_eq!(encode_date(date), 20_270_115);
        assert_eq!(decode_date(20_270_115), Ok(date));
        for refused in [0, -1, 20_270_230, 20_271_301, 20_270_100, 999_999, i32::MAX] {
            assert_eq!(decode_date(refused), Err(DateArgumentError(refused)));
        }
    }

    #[test]
    fn the_hash_tells_texts_apart() {
        assert_eq!(text_hash(""), "cbf29ce484222325");
        assert_ne!(text_hash("a: 1\n"), text_hash("a: 2\n"));
        assert_eq!(text_hash("a: 1\n").len(), 16);
    }

    #[test]
    fn an_embedded_configuration_round_trips() {
        let config = EmbeddedConfig {
            file: "rampart.yaml".into(),
            hash: text_hash("x"),
            judging: Judging {
                allow_annotation_exemptions: true,
                ..Judging::default()
            },
        };
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(
            serde_json::from_str::<EmbeddedConfig>(&text).unwrap(),
            config
        );
    }
}
