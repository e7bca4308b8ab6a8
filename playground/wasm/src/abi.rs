//! The exported functions (wasm32 only), over the export code shared with
//! the bundle's guest (`rampart_abi::memory`): buffers are owned by the
//! caller, the page allocates its input with `playground_alloc` and frees
//! the input and every output (an `i64` packing `address << 32 | length`)
//! with `playground_free`. A zero length is allocated as one byte, as in
//! the guest, so that 0 always means "no memory".
//!
//! The exports carry a `playground_` prefix rather than bare `alloc` and
//! `free`: `free` is a C library name that LLVM treats as a known function,
//! and the prefix keeps every export of the module in one namespace.

#![allow(
    unsafe_code,
    reason = "the exports take the caller's addresses; each unsafe block says why it is sound"
)]

use rampart_abi::memory;

/// Allocates `len` bytes (alignment 1; a zero length gets one byte); 0
/// when `len` is negative or memory ran out.
#[unsafe(no_mangle)]
pub extern "C" fn playground_alloc(len: i32) -> i32 {
    memory::alloc(len)
}

/// Frees what `playground_alloc` returned, or an output of another export.
///
/// # Safety
///
/// `address` and `len` must be those of a live allocation of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn playground_free(address: i32, len: i32) {
    // SAFETY: forwarded from the caller.
    unsafe { memory::free(address, len) }
}

/// Compiles and runs a policy on a manifest, with a configuration: input
/// `{"policy", "manifest", "config", "today"}`, output [`crate::run`]'s JSON.
///
/// # Safety
///
/// `address..address + len` must be initialized memory of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn playground_run(address: i32, len: i32) -> i64 {
    // SAFETY: guaranteed by the caller.
    let request = unsafe { memory::input(address, len) };
    memory::output(&crate::run(request))
}

/// The standard library's files, for the example picker.
#[unsafe(no_mangle)]
pub extern "C" fn playground_examples() -> i64 {
    memory::output(&crate::examples())
}

/// One example, by name (UTF-8 at `address`, `len` bytes).
///
/// # Safety
///
/// `address..address + len` must be initialized memory of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn playground_example(address: i32, len: i32) -> i64 {
    // SAFETY: guaranteed by the caller.
    let name = unsafe { memory::input(address, len) };
    memory::output(&crate::example(&String::from_utf8_lossy(name)))
}
