//! Putting policies into the guest module: `rampart build`.
//!
//! The guest exports a global, `rampart_policy_slot`, holding the address
//! of a 16-byte static `[magic, format, address, length]` whose last three
//! words are zero. Embedding copies the module section by section and
//! changes three things:
//!
//! 1. memory 0's minimum grows by enough 64 KiB pages for the payload;
//! 2. an active data segment writes the payload at the start of those
//!    pages (above everything the module had, so above its stack, its data
//!    and its heap base: Rust's allocator on wasm32 only hands out pages it
//!    gets from `memory.grow`, which come after them);
//! 3. a second active data segment, applied after the module's own, writes
//!    `[format, address, length]` over the slot.
//!
//! Custom sections cannot carry the policies alone: a module cannot read its
//! own custom sections. Data segments are copied into memory by every host
//! at instantiation, so the result is one self-contained module that needs
//! nothing from its host.

use crate::{Abi, EmbeddedConfig, PAYLOAD_FORMAT};
use rampart_abi::{SLOT_EXPORT, SLOT_MAGIC};
use rampart_engine::KubeVersion;
use rampart_engine::ir::PolicySet;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    ConstExpr, CustomSection, DataCountSection, DataSection, MemorySection, MemoryType, Module,
    RawSection, Section,
};
use wasmparser::{DataKind, ExternalKind, Operator, Parser, Payload, TypeRef};

const PAGE: u64 = 65_536;

/// Why a bundle could not be made.
#[derive(Debug)]
pub struct BuildError(String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

fn error(message: impl Into<String>) -> BuildError {
    BuildError(message.into())
}

/// A self-contained bundle: [`GUEST`](crate::GUEST) with `set` inside, judging as `version`
/// (the newest when `None`).
pub fn build(set: &PolicySet, version: Option<KubeVersion>) -> Result<Vec<u8>, BuildError> {
    build_for(set, version, Abi::Rampart)
}

/// A self-contained bundle speaking `abi`. For [`Abi::Kubewarden`] the
/// module also carries Kubewarden's metadata (custom section
/// [`KUBEWARDEN_METADATA_SECTION`], what `kwctl annotate` writes; see
/// [`kubewarden_metadata`]), so that the policy server runs it as is.
pub fn build_for(
    set: &PolicySet,
    version: Option<KubeVersion>,
    abi: Abi,
) -> Result<Vec<u8>, BuildError> {
    build_with(set, version, abi, None)
}

/// A self-contained bundle speaking `abi`, judging with `config` (whose
/// parameters and actions must already be applied to `set`): its
/// exceptions, exemptions and annotation self-exemption are applied by the
/// guest, as `rampart check` applies them.
pub fn build_with(
    set: &PolicySet,
    version: Option<KubeVersion>,
    abi: Abi,
    config: Option<&EmbeddedConfig>,
) -> Result<Vec<u8>, BuildError> {
    let payload = crate::payload_with(set, version, config)
        .map_err(|failure| error(format!("cannot serialize the policies: {failure}")))?;
    let mut bytes = embed(abi.guest(), &payload)?;
    if abi == Abi::Kubewarden {
        let metadata = serde_json::to_vec(&kubewarden_metadata(set))
            .map_err(|failure| error(format!("cannot serialize the metadata: {failure}")))?;
        CustomSection {
            name: KUBEWARDEN_METADATA_SECTION.into(),
            data: metadata.into(),
        }
        .append_to(&mut bytes);
    }
    Ok(bytes)
}

/// The custom section in which Kubewarden keeps a policy's metadata.
pub const KUBEWARDEN_METADATA_SECTION: &str = "io.kubewarden.metadata";

/// The Kubewarden metadata of a bundle of `set`: protocol `v1`, waPC
/// execution, not mutating, and rules matching every resource on CREATE and
/// UPDATE (the ClusterAdmissionPolicy's own `rules` choose what is sent; the
/// policies skip what they do not match).
pub fn kubewarden_metadata(set: &PolicySet) -> serde_json::Value {
    let ids: Vec<&str> = set
        .policies
        .iter()
        .map(|policy| policy.id.as_str())
        .collect();
    let mut description = format!(
        "{} Rampart policies, compiled by `rampart build --abi kubewarden`",
        ids.len()
    );
    if !ids.is_empty() {
        description.push_str(": ");
        description.push_str(&ids.join(", "));
    }
    serde_json::json!({
        "protocolVersion": "v1",
        "rules": [{
            "apiGroups": ["*"],
            "apiVersions": ["*"],
            "resources": ["*"],
            "operations": ["CREATE", "UPDATE"],
        }],
        "annotations": {
            "io.kubewarden.policy.title": "rampart",
            "io.kubewarden.policy.description": description,
        },
        "mutating": false,
        "executionMode": "kubewarden-wapc",
    })
}

/// Embeds `payload` (the JSON of [`crate::payload`]) into `guest`, a bare
/// guest module.
pub fn embed(guest: &[u8], payload: &[u8]) -> Result<Vec<u8>, BuildError> {
    let payload_len =
        u32::try_from(payload.len()).map_err(|_| error("the policies are larger than 4 GiB"))?;
    let mut globals: Vec<Option<i64>> = Vec::new();
    let mut slot_address: Option<u32> = None;
    let mut payload_address: Option<u32> = None;
    let mut module = Module::new();
    let mut saw_data = false;
    for section in Parser::new(0).parse_all(guest) {
        let section =
            section.map_err(|failure| error(format!("the guest module is invalid: {failure}")))?;
        match &section {
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    let import = import.map_err(|failure| error(failure.to_string()))?;
                    match import.ty {
                        TypeRef::Global(_) => globals.push(None),
                        TypeRef::Memory(_) => return Err(error("the guest imports its memory")),
                        _ => {}
                    }
                }
                // The waPC guest imports host functions: keep them.
                copy_raw(&mut module, &section, guest);
            }
            Payload::MemorySection(reader) => {
                let mut memories = MemorySection::new();
                for (index, memory) in reader.clone().into_iter().enumerate() {
                    let memory = memory.map_err(|failure| error(failure.to_string()))?;
                    let mut encoded = MemoryType {
                        minimum: memory.initial,
                        maximum: memory.maximum,
                        memory64: memory.memory64,
                        shared: memory.shared,
                        page_size_log2: memory.page_size_log2,
                    };
                    if index == 0 {
                        if memory.memory64 || memory.page_size_log2.is_some() {
                            return Err(error("the guest's memory is not a plain 32-bit memory"));
                        }
                        let address = memory.initial * PAGE;
                        let pages = u64::from(payload_len).div_ceil(PAGE);
                        encoded.minimum = memory.initial + pages;
                        if let Some(maximum) = memory.maximum {
                            encoded.maximum = Some(maximum.max(encoded.minimum));
                        }
                        if encoded.minimum > 65_536 {
                            return Err(error("the policies do not fit in a 4 GiB memory"));
                        }
                        payload_address =
                            Some(u32::try_from(address).map_err(|_| error("memory too large"))?);
                    }
                    memories.memory(encoded);
                }
                module.section(&memories);
            }
            Payload::GlobalSection(reader) => {
                for global in reader.clone() {
                    let global = global.map_err(|failure| error(failure.to_string()))?;
                    let mut operators = global.init_expr.get_operators_reader();
                    let value = match operators.read() {
                        Ok(Operator::I32Const { value }) => Some(i64::from(value)),
                        _ => None,
                    };
                    globals.push(value);
                }
                copy_raw(&mut module, &section, guest);
            }
            Payload::ExportSection(reader) => {
                for export in reader.clone() {
                    let export = export.map_err(|failure| error(failure.to_string()))?;
                    if export.name == SLOT_EXPORT && export.kind == ExternalKind::Global {
                        let index = usize::try_from(export.index)
                            .map_err(|_| error("global index too large"))?;
                        let value = globals.get(index).copied().flatten();
                        slot_address = value.and_then(|value| u32::try_from(value).ok());
                    }
                }
                copy_raw(&mut module, &section, guest);
            }
            Payload::DataCountSection { count, .. } => {
                module.section(&DataCountSection { count: count + 2 });
            }
            Payload::DataSection(reader) => {
                saw_data = true;
                let slot = slot_address.ok_or_else(|| {
                    error(format!(
                        "the guest exports no `{SLOT_EXPORT}` global: it is not a Rampart guest"
                    ))
                })?;
                let payload_address =
                    payload_address.ok_or_else(|| error("the guest defines no memory"))?;
                let mut data = DataSection::new();
                let mut slot_checked = false;
                let mut patched = false;
                for datum in reader.clone() {
                    let datum = datum.map_err(|failure| error(failure.to_string()))?;
                    if let DataKind::Active { offset_expr, .. } = &datum.kind
                        && let Ok(Operator::I32Const { value }) =
                            offset_expr.get_operators_reader().read()
                    {
                        let start = i64::from(value);
                        let end = start + datum.data.len() as i64;
                        let patch_start = i64::from(slot) + 4;
                        if start > i64::from(slot) && start < patch_start + 12 && end > patch_start
                        {
                            patched = true;
                        }
                        if i64::from(slot) >= start && i64::from(slot) + 16 <= end {
                            let offset =
                                usize::try_from(i64::from(slot) - start).unwrap_or(usize::MAX);
                            let words: Vec<u32> = datum
                                .data
                                .get(offset..offset.saturating_add(16))
                                .unwrap_or_default()
                                .chunks_exact(4)
                                .map(|chunk| {
                                    u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])
                                })
                                .collect();
                            if words.first() != Some(&SLOT_MAGIC) {
                                return Err(error(
                                    "the policy slot does not hold the expected marker",
                                ));
                            }
                            if words.get(2).is_some_and(|address| *address != 0) {
                                return Err(error(
                                    "the module already holds policies (it is a bundle, not the bare guest)",
                                ));
                            }
                            slot_checked = true;
                        }
                    }
                    RoundtripReencoder
                        .parse_data(&mut data, datum)
                        .map_err(|failure| error(failure.to_string()))?;
                }
                if patched {
                    return Err(error(
                        "the module already holds policies (it is a bundle, not the bare guest)",
                    ));
                }
                if !slot_checked {
                    return Err(error("no data segment holds the policy slot"));
                }
                data.active(
                    0,
                    &ConstExpr::i32_const(payload_address as i32),
                    payload.iter().copied(),
                );
                let mut patch = Vec::with_capacity(12);
                for word in [PAYLOAD_FORMAT, payload_address, payload_len] {
                    patch.extend_from_slice(&word.to_le_bytes());
                }
                data.active(0, &ConstExpr::i32_const(slot.wrapping_add(4) as i32), patch);
                module.section(&data);
            }
            Payload::Version { .. } | Payload::End(_) => {}
            _ => copy_raw(&mut module, &section, guest),
        }
    }
    if !saw_data {
        return Err(error("the guest has no data section"));
    }
    let bytes = module.finish();
    wasmparser::Validator::new()
        .validate_all(&bytes)
        .map_err(|failure| error(format!("the bundle does not validate: {failure}")))?;
    Ok(bytes)
}

/// Copies a section unchanged.
fn copy_raw(module: &mut Module, section: &Payload<'_>, bytes: &[u8]) {
    if let Some((id, range)) = section.as_section()
        && let Some(data) = bytes.get(range)
    {
        module.section(&RawSection { id, data });
    }
}

/// What a bundle holds, read back natively.
#[derive(Debug)]
pub struct Contents {
    /// The policies (parameters and actions applied).
    pub set: PolicySet,
    /// The Kubernetes version it judges as (`None`: the newest).
    pub version: Option<KubeVersion>,
    /// The configuration it was built with, if any.
    pub config: Option<EmbeddedConfig>,
}

/// The policies inside a bundle, and the Kubernetes version it judges as
/// (`None`: the newest): what [`build`] put there, read back natively.
pub fn policies(bundle: &[u8]) -> Result<(PolicySet, Option<KubeVersion>), BuildError> {
    contents(bundle).map(|contents| (contents.set, contents.version))
}

/// Everything [`build_with`] put into a bundle, read back natively.
pub fn contents(bundle: &[u8]) -> Result<Contents, BuildError> {
    let mut globals: Vec<Option<i64>> = Vec::new();
    let mut slot: Option<i64> = None;
    let mut segments: Vec<(i64, &[u8])> = Vec::new();
    for section in Parser::new(0).parse_all(bundle) {
        let section =
            section.map_err(|failure| error(format!("not a WebAssembly module: {failure}")))?;
        match section {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let TypeRef::Global(_) =
                        import.map_err(|failure| error(failure.to_string()))?.ty
                    {
                        globals.push(None);
                    }
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global.map_err(|failure| error(failure.to_string()))?;
                    globals.push(match global.init_expr.get_operators_reader().read() {
                        Ok(Operator::I32Const { value }) => Some(i64::from(value)),
                        _ => None,
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|failure| error(failure.to_string()))?;
                    if export.name == SLOT_EXPORT && export.kind == ExternalKind::Global {
                        slot = usize::try_from(export.index)
                            .ok()
                            .and_then(|index| globals.get(index).copied().flatten());
                    }
                }
            }
            Payload::DataSection(reader) => {
                for datum in reader {
                    let datum = datum.map_err(|failure| error(failure.to_string()))?;
                    if let DataKind::Active { offset_expr, .. } = datum.kind
                        && let Ok(Operator::I32Const { value }) =
                            offset_expr.get_operators_reader().read()
                    {
                        segments.push((i64::from(value) as u32 as i64, datum.data));
                    }
                }
            }
            _ => {}
        }
    }
    let slot = slot.ok_or_else(|| {
        error(format!(
            "the module exports no `{SLOT_EXPORT}`: it is not a Rampart bundle"
        ))
    })?;
    let patch = segments
        .iter()
        .rev()
        .find(|(start, data)| *start == slot + 4 && data.len() == 12)
        .map(|(_, data)| *data)
        .ok_or_else(|| error("the module holds no policies: it is the bare guest, not a bundle"))?;
    let word = |index: usize| {
        patch
            .get(index * 4..index * 4 + 4)
            .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
            .map_or(0, u32::from_le_bytes)
    };
    if word(0) != PAYLOAD_FORMAT {
        return Err(error(format!(
            "the bundle's payload format is {}, this rampart reads {PAYLOAD_FORMAT}",
            word(0)
        )));
    }
    let (address, len) = (i64::from(word(1)), word(2) as usize);
    let payload = segments
        .iter()
        .find(|(start, data)| *start == address && data.len() == len)
        .map(|(_, data)| *data)
        .ok_or_else(|| {
            error("the bundle's policy slot points at no data segment: the module is damaged")
        })?;
    let payload = rampart_abi::read_payload(payload)
        .map_err(|failure| error(format!("the bundle's policies are not JSON: {failure}")))?;
    let version = match payload
        .get("kube_version")
        .and_then(serde_json::Value::as_str)
    {
        None => None,
        Some(text) => Some(
            KubeVersion::parse(text)
                .ok_or_else(|| error(format!("`{text}` is not a Kubernetes version")))?,
        ),
    };
    let set = PolicySet::from_json_value(payload.get("set").unwrap_or(&serde_json::Value::Null))
        .map_err(|failure| error(format!("the bundle's policy set cannot be read: {failure}")))?;
    let config = match payload.get("config") {
        None | Some(serde_json::Value::Null) => None,
        Some(config) => Some(serde_json::from_value(config.clone()).map_err(|failure| {
            error(format!(
                "the bundle's configuration cannot be read: {failure}"
            ))
        })?),
    };
    Ok(Contents {
        set,
        version: version.filter(|version| *version != KubeVersion::LATEST),
        config,
    })
}
