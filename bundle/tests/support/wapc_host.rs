//! A waPC host on wasmtime, as Kubewarden's policy server runs a policy:
//! all the `wapc` host functions linked, `_start` / `wapc_init` called when
//! exported, then `__guest_call` per operation with the operation and the
//! payload handed over through `__guest_request`. Shared by the Kubewarden
//! tests here and the one-configuration differential test (`tests/`).

#![allow(
    clippy::unwrap_used,
    reason = "a test host: a failure is a test failure"
)]

use serde_json::Value as Json;
use wasmtime::{Caller, Engine, Extern, Linker, Memory, Module, Store, TypedFunc};

/// What the host keeps for the call in progress (waPC's module state).
#[derive(Default)]
struct Call {
    operation: Vec<u8>,
    payload: Vec<u8>,
    response: Option<Vec<u8>>,
    error: Option<String>,
    host_response: Option<Vec<u8>>,
    host_error: Option<String>,
    logs: Vec<String>,
}

/// A waPC host with one module instantiated.
pub struct WapcHost {
    store: Store<Call>,
    guest_call: TypedFunc<(i32, i32), i32>,
}

fn memory(caller: &mut Caller<'_, Call>) -> wasmtime::Result<Memory> {
    caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| wasmtime::format_err!("the guest exports no memory"))
}

fn read(caller: &mut Caller<'_, Call>, ptr: i32, len: i32) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    let mut bytes = vec![0; len as u32 as usize];
    memory.read(&*caller, ptr as u32 as usize, &mut bytes)?;
    Ok(bytes)
}

fn write(caller: &mut Caller<'_, Call>, ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    let memory = memory(caller)?;
    memory.write(&mut *caller, ptr as u32 as usize, bytes)?;
    Ok(())
}

impl WapcHost {
    /// What the guest logged through `__console_log` and the `wapc` log calls.
    pub fn logs(&self) -> &[String] {
        &self.store.data().logs
    }

    /// Instantiates the module and runs its start functions.
    pub fn new(wasm: &[u8]) -> WapcHost {
        let engine = Engine::default();
        let module = Module::new(&engine, wasm).unwrap();
        let mut linker: Linker<Call> = Linker::new(&engine);
        linker
            .func_wrap(
                "wapc",
                "__guest_request",
                |mut caller: Caller<'_, Call>, operation_ptr: i32, payload_ptr: i32| {
                    let operation = caller.data().operation.clone();
                    let payload = caller.data().payload.clone();
                    write(&mut caller, payload_ptr, &payload)?;
                    write(&mut caller, operation_ptr, &operation)
                },
            )
            .unwrap();
        linker
            .func_wrap(
                "wapc",
                "__guest_response",
                |mut caller: Caller<'_, Call>, ptr: i32, len: i32| {
                    let bytes = read(&mut caller, ptr, len)?;
                    caller.data_mut().response = Some(bytes);
                    Ok(())
                },
            )
            .unwrap();
        linker
            .func_wrap(
                "wapc",
                "__guest_error",
                |mut caller: Caller<'_, Call>, ptr: i32, len: i32| {
                    let bytes = read(&mut caller, ptr, len)?;
                    caller.data_mut().error = Some(String::from_utf8(bytes)?);
                    Ok(())
                },
            )
            .unwrap();
        linker
            .func_wrap(
                "wapc",
                "__host_call",
                |mut caller: Caller<'_, Call>,
                 _binding_ptr: i32,
                 _binding_len: i32,
                 _namespace_ptr: i32,
                 _namespace_len: i32,
                 _operation_ptr: i32,
                 _operation_len: i32,
                 _payload_ptr: i32,
                 _payload_len: i32|
                 -> i32 {
                    caller.data_mut().host_response = None;
                    caller.data_mut().host_error = Some("this host has no capabilities".into());
                    0
                },
            )
            .unwrap();
        linker
            .func_wrap(
                "wapc",
                "__host_response",
                |mut caller: Caller<'_, Call>, ptr: i32| {
                    let bytes = caller.data().host_response.clone().unwrap_or_default();
                    write(&mut caller, ptr, &bytes)
                },
            )
            .unwrap();
        linker
            .func_wrap(
                "wapc",
                "__host_response_len",
                |caller: Caller<'_, Call>| -> i32 {
                    caller.data().host_response.as_ref().map_or(0, Vec::len) as i32
                },
            )
            .unwrap();
        linker
            .func_wrap(
                "wapc",
                "__host_error",
                |mut caller: Caller<'_, Call>, ptr: i32| {
                    let bytes = caller.data().host_error.clone().unwrap_or_default();
                    write(&mut caller, ptr, bytes.as_bytes())
                },
            )
            .unwrap();
        linker
            .func_wrap(
                "wapc",
                "__host_error_len",
                |caller: Caller<'_, Call>| -> i32 {
                    caller.data().host_error.as_ref().map_or(0, String::len) as i32
                },
            )
            .unwrap();
        linker
            .func_wrap(
                "wapc",
                "__console_log",
                |mut caller: Caller<'_, Call>, ptr: i32, len: i32| {
                    let bytes = read(&mut caller, ptr, len)?;
                    caller
                        .data_mut()
                        .logs
                        .push(String::from_utf8_lossy(&bytes).into_owned());
                    Ok(())
                },
            )
            .unwrap();
        let mut store = Store::new(&engine, Call::default());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        for start in ["_start", "wapc_init"] {
            if let Ok(function) = instance.get_typed_func::<(), ()>(&mut store, start) {
                function.call(&mut store, ()).unwrap();
            }
        }
        let guest_call = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "__guest_call")
            .unwrap();
        WapcHost { store, guest_call }
    }

    /// One waPC call: the response, or the guest's error.
    pub fn call(&mut self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        *self.store.data_mut() = Call {
            operation: operation.as_bytes().to_vec(),
            payload: payload.to_vec(),
            ..Call::default()
        };
        let result = self
            .guest_call
            .call(
                &mut self.store,
                (operation.len() as i32, payload.len() as i32),
            )
            .map_err(|error| format!("trap: {error:#}"))?;
        let call = std::mem::take(self.store.data_mut());
        if result == 1 {
            call.response.ok_or_else(|| "no response".to_owned())
        } else {
            Err(call.error.unwrap_or_else(|| "no error message".to_owned()))
        }
    }

    /// One call with a JSON payload, its JSON response.
    pub fn call_json(&mut self, operation: &str, payload: &Json) -> Json {
        let response = self
            .call(operation, payload.to_string().as_bytes())
            .unwrap();
        serde_json::from_slice(&response).unwrap()
    }
}
