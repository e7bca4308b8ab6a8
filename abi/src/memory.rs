//! The memory-in / JSON-out export code every Rampart module shares.
//! Buffers are owned by the caller: the host allocates its input with the
//! module's `*_alloc`, and frees the input and every output (an `i64`
//! packing `address << 32 | length`) with the module's `*_free`.
//!
//! A zero length is one thing everywhere: allocating 0 bytes returns a
//! usable, non-null address (of a 1-byte allocation), so that 0 always
//! means "no memory"; freeing it with length 0 frees that allocation; an
//! input of length 0 is empty whatever its address.

#![allow(
    unsafe_code,
    reason = "the exports read and write the module's linear memory by address; each unsafe block says why it is sound"
)]

use std::alloc::Layout;

/// The layout of an allocation of `len` bytes: alignment 1, and at least
/// one byte (a zero length is allocated as one byte, so that its address
/// is never 0); `None` for a negative length.
pub fn layout(len: i32) -> Option<Layout> {
    let len = usize::try_from(len).ok()?;
    Layout::from_size_align(len.max(1), 1).ok()
}

/// Packs an output's address and length as the exports return them.
pub fn pack(address: u32, len: u32) -> i64 {
    ((u64::from(address) << 32) | u64::from(len)) as i64
}

/// The address and length of a packed output.
pub fn unpack(packed: i64) -> (u32, u32) {
    let packed = packed as u64;
    ((packed >> 32) as u32, packed as u32)
}

/// Allocates `len` bytes (alignment 1); 0 when `len` is negative or memory
/// ran out. A zero length gets a real (1-byte) allocation.
#[cfg(target_arch = "wasm32")]
pub fn alloc(len: i32) -> i32 {
    let Some(layout) = layout(len) else {
        return 0;
    };
    // SAFETY: `layout` has a non-zero size.
    let address = unsafe { std::alloc::alloc(layout) };
    address as usize as i32
}

/// Frees what [`alloc`] returned for `len` (or an output).
///
/// # Safety
///
/// `address` and `len` must be those of a live allocation of this module.
#[cfg(target_arch = "wasm32")]
pub unsafe fn free(address: i32, len: i32) {
    let Some(layout) = layout(len) else {
        return;
    };
    if address == 0 {
        return;
    }
    // SAFETY: the caller passes back an allocation made with this layout.
    unsafe { std::alloc::dealloc(address as u32 as usize as *mut u8, layout) }
}

/// The caller's input bytes (empty for a zero length or a null address).
///
/// # Safety
///
/// `address..address + len` must be initialized memory of this module that
/// nothing writes while the returned slice lives.
#[cfg(target_arch = "wasm32")]
pub unsafe fn input<'a>(address: i32, len: i32) -> &'a [u8] {
    let len = len.max(0) as u32 as usize;
    if len == 0 || address == 0 {
        return &[];
    }
    // SAFETY: guaranteed by the caller; wasm32 memory is one flat address space.
    unsafe { std::slice::from_raw_parts(address as u32 as usize as *const u8, len) }
}

/// Copies the JSON into a fresh allocation; returns it packed (0 when
/// memory ran out).
#[cfg(target_arch = "wasm32")]
pub fn output(value: &serde_json::Value) -> i64 {
    let text = value.to_string();
    let Ok(len) = i32::try_from(text.len()) else {
        return 0;
    };
    let address = alloc(len);
    if address == 0 {
        return 0;
    }
    // SAFETY: `address` is a fresh allocation of at least `len` bytes, which
    // do not overlap `text`.
    unsafe {
        std::ptr::copy_nonoverlapping(
            text.as_ptr(),
            address as u32 as usize as *mut u8,
            text.len(),
        )
    };
    pack(address as u32, len as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_length_is_allocated_as_one_byte_and_a_negative_one_refused() {
        assert_eq!(layout(0).map(|layout| layout.size()), Some(1));
        assert_eq!(layout(1).map(|layout| layout.size()), Some(1));
        assert_eq!(layout(4096).map(|layout| layout.size()), Some(4096));
        assert_eq!(layout(-1), None);
        assert_eq!(layout(i32::MIN), None);
    }

    #[test]
    fn outputs_pack_address_and_length() {
        assert_eq!(pack(0x10, 0x20), 0x10_0000_0020);
        assert_eq!(
            unpack(pack(0xffff_fff0, 0xffff_ffff)),
            (0xffff_fff0, 0xffff_ffff)
        );
        assert_eq!(unpack(pack(0, 0)), (0, 0));
    }
}
