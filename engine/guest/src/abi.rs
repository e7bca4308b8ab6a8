//! The exported functions (wasm32 only). Buffers are owned by the caller:
//! the host allocates input with `rampart_alloc`, and frees both the input
//! and every output (an `i64` packing `address << 32 | length`) with
//! `rampart_free`.

use super::slot::load;
use super::{ABI_VERSION, Guest};
use serde_json::{Value as Json, json};
use std::alloc::Layout;
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

/// Allocates `len` bytes (alignment 1); 0 when it cannot.
#[unsafe(no_mangle)]
pub extern "C" fn rampart_alloc(len: i32) -> i32 {
    let Some(layout) = layout(len) else {
        return 0;
    };
    // SAFETY: `layout` has a non-zero size.
    let address = unsafe { std::alloc::alloc(layout) };
    address as usize as i32
}

/// Frees what `rampart_alloc` returned (or an output of another export).
///
/// # Safety
///
/// `address` and `len` must be those of a live allocation of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rampart_free(address: i32, len: i32) {
    let Some(layout) = layout(len) else {
        return;
    };
    if address == 0 {
        return;
    }
    // SAFETY: the caller passes back an allocation made with this layout.
    unsafe { std::alloc::dealloc(address as u32 as usize as *mut u8, layout) }
}

/// The metadata JSON (packed address and length).
#[unsafe(no_mangle)]
pub extern "C" fn rampart_metadata() -> i64 {
    with_guest(|guest| guest.metadata().clone())
}

/// Evaluates the JSON at `address` (a manifest, a `kind: List`, an
/// AdmissionReview); returns the result JSON (packed address and length).
///
/// # Safety
///
/// `address..address + len` must be memory of this module (from `rampart_alloc`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rampart_evaluate(address: i32, len: i32) -> i64 {
    // SAFETY: forwarded from the caller.
    let input = unsafe { input(address, len) };
    with_guest(|guest| guest.evaluate(input))
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
    let input = unsafe { input(address, len) };
    GUEST.with(|cell| {
        let mut slot = cell.borrow_mut();
        let guest = slot.get_or_insert_with(load);
        let result = match guest {
            Ok(guest) => guest.set_inventory(input),
            Err(message) => json!({"errors": [{"message": message.clone()}]}),
        };
        output(&result)
    })
}

fn layout(len: i32) -> Option<Layout> {
    let len = usize::try_from(len).ok()?;
    Layout::from_size_align(len.max(1), 1).ok()
}

/// The caller's input bytes.
///
/// # Safety
///
/// `address..address + len` must be initialized memory of this module that
/// nothing writes while the returned slice lives.
unsafe fn input<'a>(address: i32, len: i32) -> &'a [u8] {
    let len = len.max(0) as u32 as usize;
    if len == 0 || address == 0 {
        return &[];
    }
    // SAFETY: guaranteed by the caller; wasm32 memory is one flat address space.
    unsafe { std::slice::from_raw_parts(address as u32 as usize as *const u8, len) }
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
        output(&result)
    })
}

/// Copies the JSON into a fresh allocation; returns `address << 32 | length`
/// (0 when memory ran out).
fn output(value: &Json) -> i64 {
    let text = value.to_string();
    let Ok(len) = i32::try_from(text.len()) else {
        return 0;
    };
    let address = rampart_alloc(len);
    if address == 0 {
        return 0;
    }
    // SAFETY: `address` is a fresh allocation of `len` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(
            text.as_ptr(),
            address as u32 as usize as *mut u8,
            text.len(),
        )
    };
    (i64::from(address as u32) << 32) | i64::from(len as u32)
}
