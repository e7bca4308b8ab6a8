//! Finding the embedded policies (wasm32 only), for both ABIs: the slot
//! `rampart build` patched says where the payload is.

use super::{Guest, PAYLOAD_FORMAT, RAMPART_POLICY_SLOT};

/// Loads the embedded policies.
pub(crate) fn load() -> Result<Guest, String> {
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
