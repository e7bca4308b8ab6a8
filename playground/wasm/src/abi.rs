//! The exported functions (wasm32 only). Buffers are owned by the caller:
//! the page allocates its input with `playground_alloc` and frees the input
//! and every output (an `i64` packing `address << 32 | length`) with
//! `playground_free`.
//!
//! The exports carry a `playground_` prefix rather than bare `alloc` and
//! `free`: `free` is a C library name that LLVM treats as a known function,
//! and the prefix keeps every export of the module in one namespace.

#![allow(
    unsafe_code,
    reason = "the exports read and write the module's linear memory by address; each unsafe block says why it is sound"
)]

use serde_json::Value as Json;
use std::alloc::Layout;

/// Allocates `len` bytes (alignment 1); 0 when `len` is not positive or
/// memory ran out.
#[unsafe(no_mangle)]
pub extern "C" fn playground_alloc(len: i32) -> i32 {
    let Some(layout) = layout(len) else {
        return 0;
    };
    // SAFETY: `layout` has a non-zero size.
    let address = unsafe { std::alloc::alloc(layout) };
    address as usize as i32
}

/// Frees what `playground_alloc` returned, or an output of another export.
///
/// # Safety
///
/// `address` and `len` must be those of a live allocation of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn playground_free(address: i32, len: i32) {
    let Some(layout) = layout(len) else {
        return;
    };
    if address == 0 {
        return;
    }
    // SAFETY: the caller passes back an allocation made with this layout.
    unsafe { std::alloc::dealloc(address as u32 as usize as *mut u8, layout) }
}

/// Compiles and runs a policy on a manifest: input `{"policy", "manifest"}`,
/// output [`crate::run`]'s JSON.
///
/// # Safety
///
/// `address..address + len` must be initialized memory of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn playground_run(address: i32, len: i32) -> i64 {
    // SAFETY: guaranteed by the caller.
    let request = unsafe { input(address, len) };
    output(&crate::run(request))
}

/// The standard library's files, for the example picker.
#[unsafe(no_mangle)]
pub extern "C" fn playground_examples() -> i64 {
    output(&crate::examples())
}

/// One example, by name (UTF-8 at `address`, `len` bytes).
///
/// # Safety
///
/// `address..address + len` must be initialized memory of this module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn playground_example(address: i32, len: i32) -> i64 {
    // SAFETY: guaranteed by the caller.
    let name = unsafe { input(address, len) };
    output(&crate::example(&String::from_utf8_lossy(name)))
}

/// The layout of an allocation of `len` bytes; `None` unless positive.
fn layout(len: i32) -> Option<Layout> {
    let len = usize::try_from(len).ok().filter(|&len| len > 0)?;
    Layout::from_size_align(len, 1).ok()
}

/// The caller's input as a slice (empty for a null address or no length).
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

/// Copies the JSON into a fresh allocation; returns `address << 32 | length`
/// (0 when memory ran out).
fn output(value: &Json) -> i64 {
    let text = value.to_string();
    let Ok(len) = i32::try_from(text.len()) else {
        return 0;
    };
    let address = playground_alloc(len);
    if address == 0 {
        return 0;
    }
    // SAFETY: `address` is a fresh allocation of `len` bytes, which do not
    // overlap `text`.
    unsafe {
        std::ptr::copy_nonoverlapping(
            text.as_ptr(),
            address as u32 as usize as *mut u8,
            text.len(),
        )
    };
    (i64::from(address as u32) << 32) | i64::from(len as u32)
}
