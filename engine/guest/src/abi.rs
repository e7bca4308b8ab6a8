//! The exported functions (wasm32 only), over the shared export code of
//! `rampart_abi::memory`: buffers are owned by the caller, the host
//! allocates input with `rampart_alloc`, and frees both the input and every
//! output (an `i64` packing `address << 32 | length`) with `rampart_free`.

use super::slot::load;
use super::{ABI_VERSION, Guest};
use rampart_abi::memory;
use serde_json::{Value as Json, json};
use std::cell::RefCell;

thread_local! {
    /// The guest, loaded from the embedded policies on first use (wasm32 has
    /// one thread: this is a plain static).
    static GUEST: RefCell<Option<Result<Guest, String>>> = const { RefCell::new(None) };
}

/// The ABI version.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_abi_version() -> i32 {
    ABI_VERSION
}

/// Allocates `len` bytes (alignment 1; a zero length gets a real 1-byte
/// allocation); 0 when it cannot.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_alloc(len: i32) -> i32 {
    memory::alloc(len)
}

/// Frees what `rampart_alloc` returned (or an output of another export).
///
/// # Safety
///
/// `address` and `len` must be those of a live allocation of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rampart_free(address: i32, len: i32) {
    // SAFETY: forwarded from the caller.
    unsafe { memory::free(address, len) }
}

/// The metadata JSON (packed address and length).
#[unsafe(no_mangle)]
pub extern "C" fn rampart_metadata() -> i64 {
    with_guest(|guest| guest.metadata().clone())
}

/// Evaluates the JSON at `address` (a manifest, a `kind: List`, an
/// AdmissionReview) and judges it with the configuration built in, as of
/// `today` (`YYYYMMDD`, e.g. `20270115`); returns the result JSON (packed
/// address and length).
///
/// # Safety
///
/// `address..address + len` must be memory of this module (from `rampart_alloc`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rampart_evaluate(address: i32, len: i32, today: i32) -> i64 {
    // SAFETY: forwarded from the caller.
    let input = unsafe { memory::input(address, len) };
    with_guest(|guest| match rampart_abi::decode_date(today) {
        Ok(today) => guest.evaluate(input, today),
        Err(error) => json!({
            "findings": [],
            "errors": [{"message": error.to_string()}],
            "resources": 0,
        }),
    })
}

/// Sets the inventory that `resources("Kind")` sees (a `kind: List` or an
/// array; length 0 clears it); returns `{"errors": [...]}` (packed).
///
/// # Safety
///
/// As for [`rampart_evaluate`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rampart_set_inventory(address: i32, len: i32) -> i64 {
    // SAFETY: forwarded from the caller.
    let input = unsafe { memory::input(address, len) };
    GUEST.with(|cell| {
        let mut slot = cell.borrow_mut();
        let guest = slot.get_or_insert_with(load);
        let result = match guest {
            Ok(guest) => guest.set_inventory(input),
            Err(message) => json!({"errors": [{"message": message.clone()}]}),
        };
        memory::output(&result)
    })
}

fn with_guest(run: impl FnOnce(&Guest) -> Json) -> i64 {
    GUEST.with(|cell| {
        let mut slot = cell.borrow_mut();
        let result = match slot.get_or_insert_with(load) {
            Ok(guest) => run(guest),
            Err(message) => json!({
                "abi_version": ABI_VERSION,
                "findings": [],
                "errors": [{"message": message.clone()}],
            }),
        };
        memory::output(&result)
    })
}
