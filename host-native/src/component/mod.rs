//! The Rust host of the component (`oms_accel._wasm.rust` drives it): the
//! same `oms_accel.wasm` that wasmtime-py runs, hosted by the `wasmtime`
//! crate inside this module.
//!
//! - [`WasmRuntime`]: one Engine (fixed settings, [`ENGINE_SETTINGS`]), the
//!   compiled component, a linker with WASI 0.2, the epoch ticker and the
//!   tokio runtime that serves WASI. Python makes one per process (a new
//!   one in a forked child: threads do not survive `fork()`).
//! - [`WasmInstance`]: one Store and instance. Calls release the GIL; the
//!   store is behind a mutex, so an instance takes one call at a time.
//! - Limits: memory through a [`ResourceLimiter`], time through epochs.
//!   A trap kills the instance (every later call says so) and is raised as
//!   a `LimitError` (time, memory) or the capability's error with code
//!   `trap`; Python builds a fresh instance for the next call.
//! - WASI has no ambient authority: no environment, arguments, stdin,
//!   network or name lookup; files only under the directories the caller
//!   preopens (read-only for inputs); stderr kept in memory, where a trap's
//!   panic message is read from.
//!
//! `delta`, `json` and `vector` convert each capability's Python arguments
//! to the WIT types `bindgen!` made from `wit/`, and back; nothing else.

mod delta;
mod json;
#[cfg(target_os = "linux")]
mod memory;
mod signals;
mod vector;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use pyo3::prelude::*;
use wasmtime::component::{Component, Linker, ResourceAny, ResourceTable};
use wasmtime::{Config, Engine, OptLevel, ResourceLimiter, Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::buffer::Input;
use crate::errors;

pub(crate) mod bindings {
    wasmtime::component::bindgen!({ path: "../wit", world: "accel" });
}

use bindings::oms::accel::types;
use bindings::{Accel, AccelPre};

/// How often the epoch advances: the resolution of time limits.
const TICK: Duration = Duration::from_millis(20);
/// Engine settings that change compiled code: part of the cache key.
///
/// Traps are signals where `signals` can keep wasmtime's handler in front
/// (Linux on x86-64 and aarch64): linear memory then needs no explicit
/// bounds checks. Elsewhere, and always on wasmtime-py, they are explicit.
pub const ENGINE_SETTINGS: &str = if signals::ENABLED {
    "epoch_interruption=1;opt=speed;signals_based_traps=1"
} else {
    "epoch_interruption=1;opt=speed;signals_based_traps=0"
};
/// The settings of the engine for calls without a time limit: no epoch
/// checks. Those checks (at every function entry and loop back edge) were
/// 15-21% of the VCDIFF encode's time (docs/architecture.md).
pub const ENGINE_SETTINGS_UNTIMED: &str = if signals::ENABLED {
    "epoch_interruption=0;opt=speed;signals_based_traps=1"
} else {
    "epoch_interruption=0;opt=speed;signals_based_traps=0"
};
/// Bytes of guest stderr kept (a panic message explains a trap).
const STDERR_KEEP: usize = 64 << 10;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("WASM_ENGINE_SETTINGS", ENGINE_SETTINGS)?;
    m.add("WASM_ENGINE_SETTINGS_UNTIMED", ENGINE_SETTINGS_UNTIMED)?;
    m.add_class::<WasmRuntime>()?;
    m.add_class::<WasmInstance>()?;
    m.add_class::<WasmResource>()?;
    m.add_function(wrap_pyfunction!(delta::wasm_delta_encode, m)?)?;
    m.add_function(wrap_pyfunction!(delta::wasm_delta_decode, m)?)?;
    m.add_function(wrap_pyfunction!(delta::wasm_file_encoder_open, m)?)?;
    m.add_function(wrap_pyfunction!(delta::wasm_file_decoder_open, m)?)?;
    m.add_function(wrap_pyfunction!(delta::wasm_file_step, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_json_parse, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_document_get, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_document_kind, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_document_length, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_document_keys, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_document_to_text, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_schema_compile, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_schema_validate, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_schema_is_valid, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_schema_validate_text, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_schema_is_valid_text, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_json_binary, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_json_canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_ndjson_open, m)?)?;
    m.add_function(wrap_pyfunction!(json::wasm_ndjson_next, m)?)?;
    m.add_function(wrap_pyfunction!(vector::wasm_index_create, m)?)?;
    m.add_function(wrap_pyfunction!(vector::wasm_index_add, m)?)?;
    m.add_function(wrap_pyfunction!(vector::wasm_index_truncate, m)?)?;
    m.add_function(wrap_pyfunction!(vector::wasm_index_check_room, m)?)?;
    m.add_function(wrap_pyfunction!(vector::wasm_index_search, m)?)?;
    m.add_function(wrap_pyfunction!(vector::wasm_index_records, m)?)?;
    m.add_function(wrap_pyfunction!(vector::wasm_index_add_records, m)?)?;
    m.add_function(wrap_pyfunction!(vector::wasm_similarity, m)?)?;
    Ok(())
}

/// `timed`: with epoch interruption, so that calls can have a time limit.
/// `perfmap`: with perf's map of the compiled functions (`WasmRuntime::compile`).
fn engine_config(timed: bool, perfmap: bool) -> Config {
    let mut c = Config::new();
    if perfmap {
        c.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    c.epoch_interruption(timed);
    c.cranelift_opt_level(OptLevel::Speed);
    c.signals_based_traps(signals::ENABLED);
    c.parallel_compilation(true);
    // Linear memory on transparent huge pages where the kernel has them.
    // Its data segments are then copied in at instantiation (12 -> 170 us):
    // wasmtime maps them copy-on-write only into memory it mapped itself.
    #[cfg(target_os = "linux")]
    {
        c.with_host_memory(Arc::new(memory::HugePageMemory));
        c.memory_init_cow(false);
    }
    c
}

// --- the store's data ---------------------------------------------------------

/// The memory limit, remembering whether the guest asked for more: a trap
/// after a refused growth is an out-of-memory error, not a bug.
struct MemoryLimiter {
    limit: usize,
    /// The linear memory's size (the component has one).
    used: usize,
    refused: bool,
}

impl MemoryLimiter {
    /// Whether `bytes` more would certainly fit, even if the guest's heap
    /// had no free space: the test before a call that must not trap.
    fn fits(&self, bytes: usize) -> bool {
        self.used.saturating_add(bytes) <= self.limit
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = desired <= self.limit;
        self.refused |= !ok;
        if ok {
            self.used = desired;
        }
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The guest's tables never grow at run time; a bound all the same.
        Ok(desired <= 1 << 20)
    }
}

pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

pub(crate) type HostStore = Store<HostState>;

// --- the runtime ---------------------------------------------------------------

struct RuntimeInner {
    engine: Engine,
    pre: AccelPre<HostState>,
    /// wasmtime-wasi's sync bindings block on the tokio runtime they find
    /// entered, else on a global one, which a forked child inherits dead.
    /// Never dropped in a forked child: its worker thread is not there, and
    /// tokio's shutdown would wait for it forever.
    tokio: std::mem::ManuallyDrop<tokio::runtime::Runtime>,
    /// The process that made it: objects are refused in a forked child.
    pid: u32,
    /// Whether its code checks the epoch: calls can have a time limit.
    timed: bool,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
        if std::process::id() == self.pid {
            // SAFETY: dropped once, here, and never used after.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.tokio) };
        }
    }
}

/// Where a runtime's component comes from.
enum Source<'a> {
    /// The component's bytes, compiled now.
    Wasm(&'a [u8]),
    /// A file `serialize` wrote.
    Compiled(&'a str),
}

/// The Engine, the compiled component and its linker.
#[pyclass(frozen, module = "oms_accel._native")]
pub struct WasmRuntime {
    inner: Arc<RuntimeInner>,
    component: Component,
}

#[pymethods]
impl WasmRuntime {
    /// Compiles the component from `wasm`, the bytes whose sha256 the caller
    /// checked (never the file again: it could have changed since).
    /// `timed`: with the epoch checks that time limits need. `perfmap`:
    /// write `/tmp/perf-<pid>.map`, which names the guest's compiled
    /// functions in `perf report` (it changes no code: the cache serves both).
    #[staticmethod]
    #[pyo3(signature = (wasm, timed = true, perfmap = false))]
    fn compile(py: Python<'_>, wasm: Input<'_>, timed: bool, perfmap: bool) -> PyResult<Self> {
        let wasm = wasm.as_slice();
        py.detach(|| Self::load(Source::Wasm(wasm), timed, perfmap))
            .map_err(|e| errors::raise(py, "AccelError", e, "unavailable"))
    }

    /// Loads what `serialize` wrote, mapped from the file at `path`. It is
    /// native code: the caller trusts the file (the cache's checksum and
    /// ownership rules) before handing it here; wasmtime refuses one from
    /// another version or settings (`timed` among them).
    #[staticmethod]
    #[pyo3(signature = (path, timed = true, perfmap = false))]
    fn load_compiled(py: Python<'_>, path: &str, timed: bool, perfmap: bool) -> PyResult<Self> {
        py.detach(|| Self::load(Source::Compiled(path), timed, perfmap))
            .map_err(|e| errors::raise(py, "AccelError", e, "unavailable"))
    }

    /// Whether its calls can have a time limit (its code checks the epoch).
    #[getter]
    fn timed(&self) -> bool {
        self.inner.timed
    }

    /// The compiled component, for the cache.
    fn serialize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let bytes = py.detach(|| self.component.serialize()).map_err(|e| {
            errors::raise(
                py,
                "AccelError",
                format!("cannot serialize the component: {e}"),
                "unavailable",
            )
        })?;
        Ok(pyo3::types::PyBytes::new(py, &bytes))
    }
}

impl WasmRuntime {
    fn load(source: Source<'_>, timed: bool, perfmap: bool) -> Result<Self, String> {
        // The first engine installs wasmtime's signal handlers: read what
        // was there before, to tell them apart.
        let before = signals::snapshot();
        let engine = Engine::new(&engine_config(timed, perfmap))
            .map_err(|e| format!("the engine does not start: {e}"))?;
        let component = match source {
            Source::Wasm(wasm) => Component::new(&engine, wasm)
                .map_err(|e| format!("the component does not compile: {e:#}"))?,
            // SAFETY: the caller vouches for the file (see `load_compiled`);
            // wasmtime checks its header against this engine's version and settings.
            Source::Compiled(path) => unsafe { Component::deserialize_file(&engine, path) }
                .map_err(|e| format!("the compiled component {path} does not load: {e}"))?,
        };
        signals::guard(&before, component.image_range());
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| format!("WASI does not link: {e}"))?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(AccelPre::new)
            .map_err(|e| format!("the component does not link: {e:#}"))?;
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("oms-accel-wasi")
            .enable_all()
            .build()
            .map_err(|e| format!("the WASI runtime does not start: {e}"))?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        if timed {
            let (ticking, stop) = (engine.clone(), stop_ticker.clone());
            std::thread::Builder::new()
                .name("oms-accel-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        ticking.increment_epoch();
                    }
                })
                .map_err(|e| format!("the epoch thread does not start: {e}"))?;
        }
        Ok(WasmRuntime {
            inner: Arc::new(RuntimeInner {
                engine,
                pre,
                tokio: std::mem::ManuallyDrop::new(tokio),
                pid: std::process::id(),
                timed,
                stop_ticker,
            }),
            component,
        })
    }
}

// --- instances -----------------------------------------------------------------

struct Live {
    store: HostStore,
    accel: Accel,
    stderr: MemoryOutputPipe,
}

pub(crate) struct Shared {
    runtime: Arc<RuntimeInner>,
    /// None once a trap has killed the instance.
    live: Mutex<Option<Live>>,
    /// Resources whose Python owner went while a call held `live`.
    pending_drops: Mutex<Vec<ResourceAny>>,
    /// Epoch ticks a call may run.
    deadline_ticks: AtomicU64,
    /// None: no time limit (an untimed runtime's instance).
    timeout_s: Mutex<Option<f64>>,
    memory_bytes: usize,
    /// Guest resources (documents, schemas, indexes, ...) alive in it: while
    /// there are none, its memory holds nothing anyone can reach.
    resources: AtomicUsize,
}

/// Linear memory never shrinks: an instance without resources that grew
/// past this is dropped after its call (or when its last resource goes), and
/// the next call gets a fresh one. A 60 MiB canonicalization once left
/// 531 MiB held for the life of the thread.
const RECYCLE_BYTES: usize = 64 << 20;

/// One Store and instance of the component.
#[pyclass(frozen, module = "oms_accel._native")]
pub struct WasmInstance {
    shared: Arc<Shared>,
}

/// A resource (document, schema, index, file operation, reader) in one
/// instance; dropped there when its Python owner goes.
#[pyclass(frozen, module = "oms_accel._native")]
pub struct WasmResource {
    shared: Arc<Shared>,
    kind: &'static str,
    handle: ResourceAny,
}

impl Drop for WasmResource {
    fn drop(&mut self) {
        if std::process::id() != self.shared.runtime.pid {
            return; // a forked child's copy: the instance is not its own
        }
        // Runs with the GIL held: never wait for a call that may be running
        // on another thread; leave the handle for the next call to drop.
        self.shared.resources.fetch_sub(1, Ordering::SeqCst);
        match self.shared.live.try_lock() {
            Ok(mut live) => {
                if let Some(l) = live.as_mut() {
                    drop_resource(&mut l.store, self.handle);
                    if self.shared.outgrown(l) {
                        *live = None; // the next call gets a fresh instance
                    }
                }
            }
            Err(_) => self
                .shared
                .pending_drops
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(self.handle),
        }
    }
}

fn drop_resource(store: &mut HostStore, handle: ResourceAny) {
    // A destructor is guest code: it runs under a deadline like any call.
    store.set_epoch_deadline(1 << 20);
    signals::ensure();
    // Failing to free (the instance is dying) leaves nothing to clean up.
    let _ = handle.resource_drop(store);
}

/// What a call inside the lock ended with; turned into Python values after
/// the lock is released (nothing there may wait for the GIL).
pub(crate) enum Outcome<T> {
    Ok(T),
    Error(types::Error),
    Trap(TrapKind),
    Refused(&'static str),
}

pub(crate) enum TrapKind {
    Timeout,
    OutOfMemory,
    Other(String),
}

const DEAD: &str = "the component instance was reset after an error: make this object again";
const FORKED: &str = "this object was made before fork(): make it again in the child process";

#[pymethods]
impl WasmInstance {
    /// A fresh Store and instance of `runtime`'s component. `preopens` are
    /// (host directory, guest path, writable) triples; nothing else of the
    /// file system is visible. `timeout_s` is None exactly when the runtime
    /// is untimed.
    #[new]
    fn new(
        py: Python<'_>,
        runtime: &WasmRuntime,
        memory_bytes: usize,
        timeout_s: Option<f64>,
        preopens: Vec<(String, String, bool)>,
    ) -> PyResult<Self> {
        let rt = runtime.inner.clone();
        check_timeout(py, rt.timed, timeout_s)?;
        let live = py
            .detach(|| instantiate(&rt, memory_bytes, &preopens))
            .map_err(|e| errors::raise(py, "AccelError", e, "unavailable"))?;
        let shared = Arc::new(Shared {
            runtime: rt,
            live: Mutex::new(Some(live)),
            pending_drops: Mutex::new(Vec::new()),
            deadline_ticks: AtomicU64::new(0),
            timeout_s: Mutex::new(None),
            memory_bytes,
            resources: AtomicUsize::new(0),
        });
        let inst = WasmInstance { shared };
        inst.set_timeout(timeout_s);
        Ok(inst)
    }

    /// The time limit of each later call, in seconds (None: none).
    #[getter]
    fn timeout_s(&self) -> Option<f64> {
        *self
            .shared
            .timeout_s
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    #[setter]
    fn set_timeout_s(&self, py: Python<'_>, seconds: Option<f64>) -> PyResult<()> {
        check_timeout(py, self.shared.runtime.timed, seconds)?;
        self.set_timeout(seconds);
        Ok(())
    }

    #[getter]
    fn memory_bytes(&self) -> usize {
        self.shared.memory_bytes
    }

    /// False once a trap has killed it, or in a process forked after it was made.
    #[getter]
    fn alive(&self) -> bool {
        self.shared.alive()
    }

    /// Guest resources alive in it (each a handle in its store).
    #[getter]
    fn resources(&self) -> usize {
        self.shared.resources.load(Ordering::SeqCst)
    }

    /// The size of its linear memory now (0 once it is gone).
    #[getter]
    fn linear_bytes(&self) -> usize {
        self.shared
            .lock()
            .as_ref()
            .map_or(0, |l| l.store.data().limiter.used)
    }

    /// Frees the instance's memory now (later calls say it is gone).
    fn close(&self, py: Python<'_>) {
        if std::process::id() == self.shared.runtime.pid {
            let taken = py.detach(|| self.shared.lock().take());
            drop(taken);
        }
    }
}

#[pymethods]
impl WasmResource {
    /// The WIT resource type: document, schema, index, file-encoder, ...
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// Whether its instance can still take calls.
    #[getter]
    fn alive(&self) -> bool {
        self.shared.alive()
    }
}

/// A time limit is given exactly when the runtime's code can keep it.
fn check_timeout(py: Python<'_>, timed: bool, seconds: Option<f64>) -> PyResult<()> {
    match (timed, seconds) {
        (true, None) => Err(errors::argument_error(
            py,
            "an instance of the timed runtime needs a time limit",
        )),
        (false, Some(_)) => Err(errors::argument_error(
            py,
            "the untimed runtime cannot keep a time limit: use the timed one",
        )),
        _ => Ok(()),
    }
}

impl WasmInstance {
    fn set_timeout(&self, seconds: Option<f64>) {
        *self
            .shared
            .timeout_s
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = seconds;
        // Two ticks of slack: the first may come at once. Untimed code never
        // reads the deadline.
        let ticks = seconds.map_or(u64::MAX >> 1, |s| {
            (s / TICK.as_secs_f64()).ceil().min(1e15) as u64 + 2
        });
        self.shared.deadline_ticks.store(ticks, Ordering::Relaxed);
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl WasmResource {
    /// The handle, if the resource is a `kind` (a mismatch would trap).
    pub(crate) fn handle(&self, py: Python<'_>, kind: &'static str) -> PyResult<ResourceAny> {
        if self.kind == kind {
            Ok(self.handle)
        } else {
            Err(errors::argument_error(
                py,
                format!("expected a {kind}, got a {}", self.kind),
            ))
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Shared {
    /// A Python object owning `handle`, a resource of type `kind`.
    /// Whether `live` holds no resource and grew past `RECYCLE_BYTES`: its
    /// memory is better given back than kept for the next call.
    fn outgrown(&self, live: &Live) -> bool {
        self.resources.load(Ordering::SeqCst) == 0 && live.store.data().limiter.used > RECYCLE_BYTES
    }

    /// `call` for a function that returns a new resource, owned by the
    /// Python object returned. It counts as alive from before the call, so
    /// the instance holding it is never recycled under it.
    pub(crate) fn call_resource<F>(
        self: &Arc<Self>,
        py: Python<'_>,
        capability: &str,
        kind: &'static str,
        f: F,
    ) -> PyResult<WasmResource>
    where
        F: FnOnce(&mut HostStore, &Accel) -> wasmtime::Result<Result<ResourceAny, types::Error>>
            + Send,
    {
        self.resources.fetch_add(1, Ordering::SeqCst);
        match self.call(py, capability, f) {
            Ok(handle) => Ok(WasmResource {
                shared: self.clone(),
                kind,
                handle,
            }),
            Err(e) => {
                self.resources.fetch_sub(1, Ordering::SeqCst);
                Err(e)
            }
        }
    }

    /// Runs `f` on the store with the GIL released, under the time and
    /// memory limits, and raises what it ended with as `capability`'s
    /// exception (a class name in `oms_accel.errors`).
    pub(crate) fn call<T, F>(&self, py: Python<'_>, capability: &str, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&mut HostStore, &Accel) -> wasmtime::Result<Result<T, types::Error>> + Send,
    {
        match py.detach(|| self.run(f)) {
            Outcome::Ok(v) => Ok(v),
            Outcome::Error(e) => Err(wit_error(py, e, capability)),
            Outcome::Trap(kind) => Err(self.trap_error(py, kind, capability)),
            Outcome::Refused(why) => {
                let code = if why == DEAD { "trap" } else { "unavailable" };
                Err(errors::raise(py, "AccelError", why, code))
            }
        }
    }

    fn run<T, F>(&self, f: F) -> Outcome<T>
    where
        F: FnOnce(&mut HostStore, &Accel) -> wasmtime::Result<Result<T, types::Error>>,
    {
        if std::process::id() != self.runtime.pid {
            return Outcome::Refused(FORKED);
        }
        let mut guard = self.lock();
        let Some(live) = guard.as_mut() else {
            return Outcome::Refused(DEAD);
        };
        let pending =
            std::mem::take(&mut *self.pending_drops.lock().unwrap_or_else(|p| p.into_inner()));
        for handle in pending {
            drop_resource(&mut live.store, handle);
        }
        live.store
            .set_epoch_deadline(self.deadline_ticks.load(Ordering::Relaxed));
        live.store.data_mut().limiter.refused = false;
        let _wasi_runtime = self.runtime.tokio.enter();
        signals::ensure();
        let outcome = f(&mut live.store, &live.accel);
        let recycle = outcome.is_ok() && self.outgrown(live);
        let result = match outcome {
            Ok(Ok(v)) => Outcome::Ok(v),
            Ok(Err(e)) => Outcome::Error(e),
            Err(e) => {
                let kind = classify(&e, live);
                // A trapped instance is unusable: free its memory now.
                *guard = None;
                Outcome::Trap(kind)
            }
        };
        if recycle {
            *guard = None; // grown far past what it holds: the next call gets a fresh one
        }
        result
    }

    fn trap_error(&self, py: Python<'_>, kind: TrapKind, capability: &str) -> PyErr {
        match kind {
            TrapKind::Timeout => {
                // (Only timed code is interrupted: the limit is there.)
                let t = *self.timeout_s.lock().unwrap_or_else(|p| p.into_inner());
                let limit = t.map_or_else(
                    || "its time limit".into(),
                    |t| format!("its time limit of {t} s"),
                );
                errors::limit_error(py, format!("the call ran past {limit}"))
            }
            TrapKind::OutOfMemory => errors::limit_error(
                py,
                format!(
                    "the component ran out of memory (limit {} MiB)",
                    self.memory_bytes >> 20
                ),
            ),
            TrapKind::Other(detail) => errors::raise(
                py,
                capability,
                format!("the component trapped: {detail}"),
                "trap",
            ),
        }
    }

    fn alive(&self) -> bool {
        // try_lock: a call in progress means alive, and never blocks the GIL.
        std::process::id() == self.runtime.pid
            && match self.live.try_lock() {
                Ok(live) => live.is_some(),
                Err(std::sync::TryLockError::WouldBlock) => true,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().is_some(),
            }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Live>> {
        // A panic while holding it cannot leave the store half-changed in a
        // way wasmtime does not already guard against.
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn classify(e: &wasmtime::Error, live: &Live) -> TrapKind {
    if matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        return TrapKind::Timeout;
    }
    if live.store.data().limiter.refused {
        return TrapKind::OutOfMemory;
    }
    let stderr = live.stderr.contents();
    let stderr = String::from_utf8_lossy(&stderr);
    let detail = match stderr.trim().lines().last() {
        Some(line) => line.to_string(),
        None => e.to_string().lines().next().unwrap_or("").to_string(),
    };
    TrapKind::Other(detail)
}

fn instantiate(
    rt: &RuntimeInner,
    memory_bytes: usize,
    preopens: &[(String, String, bool)],
) -> Result<Live, String> {
    let stderr = MemoryOutputPipe::new(STDERR_KEEP);
    let mut wasi = WasiCtxBuilder::new();
    // Blocking file operations run on the calling thread (the GIL is
    // released already), not on a pool: fewer hops, nothing left after fork.
    wasi.allow_blocking_current_thread(true)
        .stderr(stderr.clone());
    for (host, guest, writable) in preopens {
        let perms = if *writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        wasi.preopened_dir(host, guest, perms)
            .map_err(|e| format!("cannot open {host} for the component: {e}"))?;
    }
    let state = HostState {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limiter: MemoryLimiter {
            limit: memory_bytes,
            used: 0,
            refused: false,
        },
    };
    let mut store = Store::new(&rt.engine, state);
    store.limiter(|s| &mut s.limiter);
    // What the guest may hand the host in one call, results included: no
    // more than its memory holds. wasmtime's default, 128 MiB, trapped a
    // decode of a 150 MiB document, a 6000 x 6000 similarity matrix and
    // the save of a shard of 147 MiB, all within their limits.
    let fuel = memory_bytes.max(store.hostcall_fuel());
    store.set_hostcall_fuel(fuel);
    store.set_epoch_deadline(1 << 20);
    let _wasi_runtime = rt.tokio.enter();
    signals::ensure();
    let accel = rt
        .pre
        .instantiate(&mut store)
        .map_err(|e| format!("the component does not instantiate: {e:#}"))?;
    Ok(Live {
        store,
        accel,
        stderr,
    })
}

/// A WIT `error` as the package's exception, by code (`errors.from_code`).
fn wit_error(py: Python<'_>, e: types::Error, capability: &str) -> PyErr {
    use oms_accel_guest::ErrorCode as G;
    use types::ErrorCode as C;
    // The WIT enum is the guest's, one to one; the guest names them.
    let code = match e.code {
        C::Corrupt => G::Corrupt,
        C::Truncated => G::Truncated,
        C::WrongSource => G::WrongSource,
        C::ChecksumMismatch => G::ChecksumMismatch,
        C::LimitExceeded => G::LimitExceeded,
        C::Unsupported => G::Unsupported,
        C::InvalidArgument => G::InvalidArgument,
        C::Io => G::Io,
        C::Syntax => G::Syntax,
        C::InvalidSchema => G::InvalidSchema,
        C::InvalidPatch => G::InvalidPatch,
        C::PatchFailed => G::PatchFailed,
        C::Unverified => G::Unverified,
    };
    let position = e.position.map(|p| (p.offset, p.line, p.column));
    crate::errors::from_code(py, code.name(), &e.message, capability, position)
}
