//! Running a bundle with wasmtime.
//!
//! Every call into the module gets a fresh fuel allowance, and the module's
//! memory is capped: a bundle that loops or allocates without end stops with
//! [`BundleError::OutOfFuel`] or [`BundleError::OutOfMemory`]. After any trap
//! the instance is thrown away (its state may be half-updated) and the next
//! call instantiates the module again, so one bad input costs only its own
//! result.

use crate::ABI_VERSION;
use rampart_abi::Outcome;
use rampart_core::Date;
use serde_json::Value as Json;
use wasmtime::{Config, Engine, Instance, Memory, Module, ResourceLimiter, Store, Trap, TypedFunc};

/// What one call may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fuel (about one unit per Wasm instruction) for one call.
    pub fuel: u64,
    /// Most bytes the module's memory may grow to.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 10_000_000_000,
            memory_bytes: 1 << 30,
        }
    }
}

/// Why a bundle could not be loaded or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleError {
    /// The bytes are not a module wasmtime can compile, or not a Rampart bundle.
    Invalid(String),
    /// The module speaks another ABI version.
    AbiVersion {
        /// What the module returned.
        found: i32,
    },
    /// The call ran out of fuel (the input is too large, or the bundle loops).
    OutOfFuel {
        /// The allowance that ran out.
        fuel: u64,
    },
    /// The module's memory would have grown past the cap.
    OutOfMemory {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The module trapped (a bug in the guest).
    Trap(String),
    /// The module answered something that is not the ABI's JSON.
    Protocol(String),
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleError::Invalid(message) => {
                write!(formatter, "not a usable Rampart bundle: {message}")
            }
            BundleError::AbiVersion { found } => write!(
                formatter,
                "the bundle speaks ABI version {found}, this host speaks {ABI_VERSION}; rebuild it with this `rampart build`"
            ),
            BundleError::OutOfFuel { fuel } => write!(
                formatter,
                "the bundle ran out of fuel ({fuel} units) evaluating this input: the input is too large or a policy never ends"
            ),
            BundleError::OutOfMemory { limit } => write!(
                formatter,
                "the bundle would need more than {} MiB of memory for this input",
                limit / (1 << 20)
            ),
            BundleError::Trap(message) => write!(formatter, "the bundle trapped: {message}"),
            BundleError::Protocol(message) => {
                write!(formatter, "the bundle answered badly: {message}")
            }
        }
    }
}

impl std::error::Error for BundleError {}

/// The memory cap, and whether it was hit.
struct Limiter {
    memory_bytes: usize,
    hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed =
            desired <= self.memory_bytes && maximum.is_none_or(|maximum| desired <= maximum);
        if !allowed {
            self.hit = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000 && maximum.is_none_or(|maximum| desired <= maximum))
    }
}

/// A live instance and its exports.
struct Live {
    store: Store<Limiter>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    free: TypedFunc<(i32, i32), ()>,
    evaluate: TypedFunc<(i32, i32, i32), i64>,
    set_inventory: TypedFunc<(i32, i32), i64>,
    metadata: TypedFunc<(), i64>,
}

/// A loaded bundle.
pub struct Bundle {
    engine: Engine,
    module: Module,
    limits: Limits,
    metadata: Json,
    inventory: Option<Vec<u8>>,
    /// The day chosen with [`Bundle::set_today`]; `None` reads the clock at
    /// each call, so that a long-lived host does not keep its first day.
    today: Option<Date>,
    live: Option<Live>,
}

impl Bundle {
    /// Compiles and instantiates a bundle, with the default [`Limits`].
    pub fn load(bytes: &[u8]) -> Result<Bundle, BundleError> {
        Bundle::with_limits(bytes, Limits::default())
    }

    /// Compiles and instantiates a bundle.
    pub fn with_limits(bytes: &[u8], limits: Limits) -> Result<Bundle, BundleError> {
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine =
            Engine::new(&config).map_err(|error| BundleError::Invalid(error.to_string()))?;
        let module = Module::new(&engine, bytes)
            .map_err(|error| BundleError::Invalid(format!("{error:#}")))?;
        if module.imports().any(|import| import.module() == "wapc") {
            return Err(BundleError::Invalid(
                "this is a Kubewarden (waPC) policy, built with `rampart build --abi kubewarden`: run it with Kubewarden \
                 (policy-server, kwctl), or build a plain bundle for this host"
                    .to_owned(),
            ));
        }
        let mut bundle = Bundle {
            engine,
            module,
            limits,
            metadata: Json::Null,
            inventory: None,
            today: None,
            live: None,
        };
        let metadata = bundle.call_json(|live| live.metadata.call(&mut live.store, ()))?;
        if let Some(message) = metadata
            .get("errors")
            .and_then(|errors| errors.get(0))
            .and_then(|error| error.get("message"))
            .and_then(Json::as_str)
        {
            return Err(BundleError::Invalid(message.to_owned()));
        }
        bundle.metadata = metadata;
        Ok(bundle)
    }

    /// The bundle's metadata: ABI version, Kubernetes version, policies
    /// (id, title, severity, controls).
    pub fn metadata(&self) -> &Json {
        &self.metadata
    }

    /// The configuration the bundle was built with, as its metadata names
    /// it: `{"file", "hash", "judging"}`, or `None`.
    pub fn config(&self) -> Option<&Json> {
        self.metadata
            .get("config")
            .filter(|config| !config.is_null())
    }

    /// The judging part of the configuration built in (empty when none).
    pub fn judging(&self) -> rampart_core::Judging {
        self.config()
            .and_then(|config| config.get("judging"))
            .and_then(|judging| serde_json::from_value(judging.clone()).ok())
            .unwrap_or_default()
    }

    /// The day the built-in exceptions expire against in later
    /// evaluations: today (UTC) by the system clock, read at each call,
    /// unless set.
    pub fn today(&self) -> Date {
        self.today.unwrap_or_else(Date::today)
    }

    /// Judges later evaluations as of `today` (a report for another day, or
    /// a test).
    pub fn set_today(&mut self, today: Date) {
        self.today = Some(today);
    }

    /// Whether a policy of the bundle looks at other resources, so that the
    /// caller should [`Bundle::set_inventory`].
    pub fn uses_inventory(&self) -> bool {
        self.metadata
            .get("uses_inventory")
            .and_then(Json::as_bool)
            .unwrap_or(false)
    }

    /// Sets what `resources("Kind")` sees in later evaluations: the JSON of a
    /// `kind: List` or of an array of objects. `None` clears it.
    pub fn set_inventory(&mut self, inventory: Option<Vec<u8>>) -> Result<(), BundleError> {
        self.inventory = inventory;
        if self.live.is_some() {
            self.send_inventory()?;
        }
        Ok(())
    }

    /// Evaluates one input: a manifest object, a `kind: List`, or an
    /// AdmissionReview (JSON).
    pub fn evaluate(&mut self, input: &[u8]) -> Result<Outcome, BundleError> {
        let json = self.evaluate_json(input)?;
        serde_json::from_value(json).map_err(|error| BundleError::Protocol(error.to_string()))
    }

    /// Evaluates one input and returns the guest's JSON as it is.
    pub fn evaluate_json(&mut self, input: &[u8]) -> Result<Json, BundleError> {
        let len = self.input_len(input)?;
        let today = rampart_abi::encode_date(self.today());
        self.call_json(|live| {
            let address = live.alloc.call(&mut live.store, len)?;
            if address == 0 {
                return Err(wasmtime::format_err!("rampart_alloc failed"));
            }
            live.memory
                .write(&mut live.store, address as u32 as usize, input)?;
            let packed = live.evaluate.call(&mut live.store, (address, len, today))?;
            live.free.call(&mut live.store, (address, len))?;
            Ok(packed)
        })
    }

    /// The length of an input as the ABI passes it. An input that cannot fit
    /// in the module's memory is refused here, before the module is asked to
    /// allocate room for it.
    fn input_len(&self, input: &[u8]) -> Result<i32, BundleError> {
        let limit = self.limits.memory_bytes;
        if input.len() > limit {
            return Err(BundleError::OutOfMemory { limit });
        }
        i32::try_from(input.len()).map_err(|_| BundleError::OutOfMemory { limit })
    }

    /// Calls the guest with fresh fuel, reads the packed JSON it returns and
    /// frees it. A trap discards the instance.
    fn call_json(
        &mut self,
        call: impl FnOnce(&mut Live) -> wasmtime::Result<i64>,
    ) -> Result<Json, BundleError> {
        if self.live.is_none() {
            self.live = Some(self.instantiate()?);
            if self.inventory.is_some() {
                self.send_inventory()?;
            }
        }
        let fuel = self.limits.fuel;
        let limit = self.limits.memory_bytes;
        let Some(live) = self.live.as_mut() else {
            return Err(BundleError::Trap("no instance".to_owned()));
        };
        let result = live
            .store
            .set_fuel(fuel)
            .and_then(|()| call(live))
            .and_then(|packed| read_output(live, packed));
        match result {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|error| BundleError::Protocol(error.to_string())),
            Err(error) => {
                let hit_memory = live.store.data().hit;
                self.live = None;
                Err(classify(&error, fuel, limit, hit_memory))
            }
        }
    }

    fn send_inventory(&mut self) -> Result<(), BundleError> {
        let inventory = self.inventory.clone().unwrap_or_default();
        let len = self.input_len(&inventory)?;
        let answer = self.call_json(|live| {
            let address = if len == 0 {
                0
            } else {
                live.alloc.call(&mut live.store, len)?
            };
            if len != 0 {
                if address == 0 {
                    return Err(wasmtime::format_err!("rampart_alloc failed"));
                }
                live.memory
                    .write(&mut live.store, address as u32 as usize, &inventory)?;
            }
            let packed = live.set_inventory.call(&mut live.store, (address, len))?;
            if len != 0 {
                live.free.call(&mut live.store, (address, len))?;
            }
            Ok(packed)
        })?;
        match answer
            .get("errors")
            .and_then(|errors| errors.get(0))
            .and_then(|error| error.get("message"))
            .and_then(Json::as_str)
        {
            Some(message) => Err(BundleError::Protocol(message.to_owned())),
            None => Ok(()),
        }
    }

    fn instantiate(&self) -> Result<Live, BundleError> {
        let mut store = Store::new(
            &self.engine,
            Limiter {
                memory_bytes: self.limits.memory_bytes,
                hit: false,
            },
        );
        store.limiter(|limiter| limiter);
        store
            .set_fuel(self.limits.fuel)
            .map_err(|error| BundleError::Invalid(error.to_string()))?;
        let instance = Instance::new(&mut store, &self.module, &[]).map_err(|error| {
            if store.data().hit {
                BundleError::OutOfMemory {
                    limit: self.limits.memory_bytes,
                }
            } else {
                BundleError::Invalid(format!("cannot instantiate: {error:#}"))
            }
        })?;
        let invalid = |error: wasmtime::Error| BundleError::Invalid(format!("{error:#}"));
        let version: TypedFunc<(), i32> = instance
            .get_typed_func(&mut store, "rampart_abi_version")
            .map_err(invalid)?;
        let found = version
            .call(&mut store, ())
            .map_err(|error| BundleError::Invalid(error.to_string()))?;
        if found != ABI_VERSION {
            return Err(BundleError::AbiVersion { found });
        }
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| BundleError::Invalid("the module exports no `memory`".to_owned()))?;
        Ok(Live {
            alloc: instance
                .get_typed_func(&mut store, "rampart_alloc")
                .map_err(invalid)?,
            free: instance
                .get_typed_func(&mut store, "rampart_free")
                .map_err(invalid)?,
            evaluate: instance
                .get_typed_func(&mut store, "rampart_evaluate")
                .map_err(invalid)?,
            set_inventory: instance
                .get_typed_func(&mut store, "rampart_set_inventory")
                .map_err(invalid)?,
            metadata: instance
                .get_typed_func(&mut store, "rampart_metadata")
                .map_err(invalid)?,
            memory,
            store,
        })
    }
}

/// Reads and frees the output buffer of a packed `address << 32 | length`.
fn read_output(live: &mut Live, packed: i64) -> wasmtime::Result<Vec<u8>> {
    if packed == 0 {
        return Err(wasmtime::format_err!(
            "the bundle could not allocate its answer"
        ));
    }
    let address = (packed as u64 >> 32) as u32;
    let len = packed as u64 as u32;
    let mut bytes = vec![0; len as usize];
    live.memory
        .read(&live.store, address as usize, &mut bytes)?;
    live.free
        .call(&mut live.store, (address as i32, len as i32))?;
    Ok(bytes)
}

fn classify(error: &wasmtime::Error, fuel: u64, limit: usize, hit_memory: bool) -> BundleError {
    if error.downcast_ref::<Trap>() == Some(&Trap::OutOfFuel) {
        BundleError::OutOfFuel { fuel }
    } else if hit_memory {
        BundleError::OutOfMemory { limit }
    } else {
        BundleError::Trap(format!("{error:#}"))
    }
}
