//! The exported functions (wasm32 only). Buffers are owned by the caller:
//! the host allocates input with `rampart_alloc`, and frees both the input
//! and every output (an `i64` packing `address << 32 | length`) with
//! `rampart_free`.

use super::{ABI_VERSION, Guest, PAYLOAD_FORMAT, RAMPART_POLICY_SLOT};
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

/// Loads the embedded policies.
fn load() -> Result<Guest, String> {
    // SAFETY: a volatile read of a static that nothing in the module writes;
    // `rampart build` sets its value through a data segment at instantiation.
    let slot = unsafe { std::ptr::read_volatile(&raw const RAMPART_POLICY_SLOT) };
    let [_, format, address, len] = slot;
    if address == 0 || len == 0 {
        return Err("this module holds no policies: it is the bare guest, make a bundle with `rampart build`".to_owned());
    }
    if format != PAYLOAD_FORMAT {
        return Err(format!(
            "the bundle's payload format is {format}, this guest reads {PAYLOAD_FORMAT}"
        ));
    }
    let memory_end = core::arch::wasm32::memory_size(0) as u64 * 65536;
    if u64::from(address) + u64::from(len) > memory_end {
        return Err(
            "the bundle's policy slot points outside memory: the module is damaged".to_owned(),
        );
    }
    // SAFETY: `rampart build` wrote the payload with an active data segment
    // into pages it added above all the module's memory; the allocator only
    // hands out pages it gets from `memory.grow`, which lie above those, so
    // nothing ever writes there. The range was checked to be in memory.
    let payload =
        unsafe { std::slice::from_raw_parts(address as usize as *const u8, len as usize) };
    Guest::from_payload(payload)
}
