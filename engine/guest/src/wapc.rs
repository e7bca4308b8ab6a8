//! The waPC guest side (wasm32, `kubewarden` feature): the export
//! `__guest_call` and the host functions it imports from module `wapc`.
//! What each operation answers is in [`crate::kubewarden`].
//!
//! A waPC call: the host calls `__guest_call(operation_size, payload_size)`;
//! the guest allocates two buffers of those sizes and calls
//! `__guest_request(operation_ptr, payload_ptr)`, in which the host copies
//! the operation name and the payload; the guest answers with
//! `__guest_response(ptr, len)` and returns 1, or with
//! `__guest_error(ptr, len)` and returns 0. The host copies the answer out
//! during those calls, so the guest frees it afterwards.

use super::Guest;
use super::kubewarden;
use super::slot::load;
use std::cell::RefCell;

#[link(wasm_import_module = "wapc")]
unsafe extern "C" {
    /// The host writes the operation name at `operation_ptr` and the payload
    /// at `payload_ptr` (the sizes given to `__guest_call`).
    fn __guest_request(operation_ptr: *mut u8, payload_ptr: *mut u8);
    /// The host copies the response (`len` bytes at `ptr`).
    fn __guest_response(ptr: *const u8, len: usize);
    /// The host copies the error message (`len` bytes of UTF-8 at `ptr`).
    fn __guest_error(ptr: *const u8, len: usize);
}

thread_local! {
    /// The guest, loaded from the embedded policies on first use (wasm32 has
    /// one thread: this is a plain static).
    static GUEST: RefCell<Option<Result<Guest, String>>> = const { RefCell::new(None) };
}

/// The waPC entry point: answers one operation (`protocol_version`,
/// `validate_settings`, `validate`). Returns 1 on success, 0 on error.
#[unsafe(no_mangle)]
pub extern "C" fn __guest_call(operation_size: i32, payload_size: i32) -> i32 {
    let (Ok(operation_size), Ok(payload_size)) = (
        usize::try_from(operation_size),
        usize::try_from(payload_size),
    ) else {
        return error("__guest_call: negative sizes");
    };
    let mut operation = vec![0_u8; operation_size];
    let mut payload = vec![0_u8; payload_size];
    // SAFETY: the two buffers are live, writable and exactly as large as the
    // sizes the host passed to `__guest_call`, which is what it writes.
    unsafe { __guest_request(operation.as_mut_ptr(), payload.as_mut_ptr()) };
    let result = GUEST.with(|cell| {
        let mut slot = cell.borrow_mut();
        let guest = slot.get_or_insert_with(load);
        kubewarden::call(guest.as_ref().map_err(String::as_str), &operation, &payload)
    });
    match result {
        Ok(response) => {
            // SAFETY: `response` is live for the call; the host copies it.
            unsafe { __guest_response(response.as_ptr(), response.len()) };
            1
        }
        Err(message) => error(&message),
    }
}

/// Sends an error to the host; returns 0 (what `__guest_call` returns then).
fn error(message: &str) -> i32 {
    // SAFETY: `message` is live for the call; the host copies it.
    unsafe { __guest_error(message.as_ptr(), message.len()) };
    0
}
