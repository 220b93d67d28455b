//! The wasmtime side: one shared engine, the component compiled once, an `InstancePre` from
//! which each guest is instantiated, and a store that gives the guest only what a gateway
//! would: the `AWS_*` variables it chose, a clock, and outgoing HTTP.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use wasmtime::component::{Component, Linker, Resource, ResourceAny, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::build::Wasm;

#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "genesis:mantle/mantle",
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:cli": wasmtime_wasi::p2::bindings::cli,
        },
    });
}

pub use bindings::exports::genesis::mantle::provider as types;
use bindings::{Mantle, MantlePre};
/// A `wasi:io/poll` pollable, as `chat-stream.subscribe` returns it.
pub use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::io::poll::{Host as _, HostPollable as _};

/// The environment variables a host may pass into the guest; nothing else is passed.
pub const PASSED_ENV: [&str; 6] = [
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Bytes of guest stderr kept per instance.
const STDERR_CAPACITY: usize = 64 * 1024;

/// A wall clock the host controls: real time shifted by an offset tests can move.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// Moves the clock forward (or back, with a negative number) by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }

    /// The clock's current time.
    pub fn now(&self) -> Duration {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let offset = self.offset_secs.load(Ordering::SeqCst);
        if offset >= 0 {
            real + Duration::from_secs(offset.unsigned_abs())
        } else {
            real.saturating_sub(Duration::from_secs(offset.unsigned_abs()))
        }
    }
}

impl HostWallClock for Clock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Clock::now(self)
    }
}

/// What one guest instance gets from its host.
#[derive(Clone, Default)]
pub struct GuestOptions {
    /// Environment variables; only names in [`PASSED_ENV`] are passed.
    pub env: Vec<(String, String)>,
    /// The wall clock; the real one when `None`.
    pub clock: Option<Clock>,
}

impl GuestOptions {
    /// Takes the passable `AWS_*` variables from this process's environment.
    pub fn from_process_env() -> Self {
        let env = PASSED_ENV
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
            .collect();
        GuestOptions { env, clock: None }
    }

    /// Adds one variable (ignored unless its name is in [`PASSED_ENV`]).
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }
}

/// Outgoing HTTP policy of a guest (wasi-http's defaults for now).
pub struct Hooks;

impl wasmtime_wasi_http::WasiHttpHooks for Hooks {}

/// Records the largest linear memory the guest asked for.
#[derive(Default)]
pub struct PeakMemory {
    peak: usize,
}

impl wasmtime::ResourceLimiter for PeakMemory {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// The store's data: WASI, wasi-http and the guest's stderr.
pub struct State {
    memory: PeakMemory,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: Hooks,
    stderr: MemoryOutputPipe,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// The engine and the pre-linked component.
pub struct Runtime {
    engine: Engine,
    pre: MantlePre<State>,
}

impl Runtime {
    /// Compiles the component at `path` and links WASI and wasi-http.
    pub fn load(path: &Path) -> Result<Runtime> {
        Runtime::load_wasm(&Wasm::File(path.to_owned()))
    }

    /// Compiles a component, from a file or built into this binary, and links WASI and
    /// wasi-http to it.
    pub fn load_wasm(wasm: &Wasm) -> Result<Runtime> {
        let engine = Engine::new(&Config::new())?;
        let component = wasm.compile(&engine)?;
        Runtime::from_component(engine, &component)
    }

    /// Links WASI and wasi-http to a compiled component.
    pub fn from_component(engine: Engine, component: &Component) -> Result<Runtime> {
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        let pre = MantlePre::new(linker.instantiate_pre(component)?)?;
        Ok(Runtime { engine, pre })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compiled component.
    pub fn component(&self) -> &Component {
        self.pre.instance_pre().component()
    }

    /// Names of the component's imports, as the component declares them.
    pub fn import_names(&self) -> Vec<String> {
        let ty = self.component().component_type();
        ty.imports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect()
    }

    /// Names of the component's exports.
    pub fn export_names(&self) -> Vec<String> {
        let ty = self.component().component_type();
        ty.exports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect()
    }

    /// A fresh instance with its own store.
    pub async fn instantiate(&self, options: GuestOptions) -> Result<Guest> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let mut builder = WasiCtxBuilder::new();
        builder.stderr(stderr.clone());
        for (k, v) in &options.env {
            if PASSED_ENV.contains(&k.as_str()) {
                builder.env(k, v);
            }
        }
        if let Some(clock) = options.clock {
            builder.wall_clock(clock);
        }
        let state = State {
            memory: PeakMemory::default(),
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: Hooks,
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        let bindings = self.pre.instantiate_async(&mut store).await?;
        Ok(Guest { store, bindings })
    }
}

/// One instance of the component, called as a gateway calls it.
pub struct Guest {
    store: Store<State>,
    bindings: Mantle,
}

/// What an exported function returned: the WIT result, or a trap.
pub type Call<T> = Result<Result<T, types::Error>>;

impl Guest {
    /// The largest size the guest's linear memory reached, bytes.
    pub fn peak_memory(&self) -> usize {
        self.store.data().memory.peak
    }

    /// What the guest wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.store.data().stderr.contents()).into_owned()
    }

    fn traps<T>(&self, r: wasmtime::Result<T>) -> Result<T> {
        r.map_err(anyhow::Error::from)
            .with_context(|| format!("the guest trapped; its stderr:\n{}", self.stderr()))
    }

    /// `mint-token`.
    pub async fn mint_token(
        &mut self,
        credentials: &types::Credentials,
        region: &str,
        expires_in: u32,
        now: u64,
    ) -> Call<types::Token> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .call_mint_token(&mut self.store, credentials, region, expires_in, now)
            .await;
        self.traps(r)
    }

    /// The `client` constructor.
    pub async fn client(&mut self, settings: &types::Settings) -> Result<ResourceAny> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .client()
            .call_constructor(&mut self.store, settings)
            .await;
        self.traps(r)
    }

    /// `client.discover`.
    pub async fn discover(&mut self, client: ResourceAny) -> Call<Vec<types::Model>> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .client()
            .call_discover(&mut self.store, client)
            .await;
        self.traps(r)
    }

    /// `client.list`.
    pub async fn list(&mut self, client: ResourceAny) -> Call<types::ModelList> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .client()
            .call_list(&mut self.store, client)
            .await;
        self.traps(r)
    }

    /// `client.chat-stream`: the stream, or the failure with Mantle's request id.
    pub async fn chat_stream(
        &mut self,
        client: ResourceAny,
        request: &types::ChatRequest,
    ) -> Result<Result<ResourceAny, types::Failure>> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .client()
            .call_chat_stream(&mut self.store, client, request)
            .await;
        self.traps(r)
    }

    /// `chat-stream.next`.
    pub async fn next_event(
        &mut self,
        stream: ResourceAny,
    ) -> Result<Option<Result<types::ChatEvent, types::Error>>> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .chat_stream()
            .call_next(&mut self.store, stream)
            .await;
        self.traps(r)
    }

    /// `chat-stream.diagnostics`.
    pub async fn stream_diagnostics(&mut self, stream: ResourceAny) -> Result<Vec<String>> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .chat_stream()
            .call_diagnostics(&mut self.store, stream)
            .await;
        self.traps(r)
    }

    /// `chat-stream.request-id`.
    pub async fn request_id(&mut self, stream: ResourceAny) -> Result<Option<String>> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .chat_stream()
            .call_request_id(&mut self.store, stream)
            .await;
        self.traps(r)
    }
}

/// One item of a `chat-stream.get-next` batch.
pub type StreamItem = Result<types::ChatEvent, types::Error>;

impl Guest {
    /// `chat-stream.get-next`.
    pub async fn get_next(&mut self, stream: ResourceAny) -> Result<Option<Vec<StreamItem>>> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .chat_stream()
            .call_get_next(&mut self.store, stream)
            .await;
        self.traps(r)
    }

    /// `chat-stream.blocking-get-next`.
    pub async fn blocking_get_next(&mut self, stream: ResourceAny) -> Result<Vec<StreamItem>> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .chat_stream()
            .call_blocking_get_next(&mut self.store, stream)
            .await;
        self.traps(r)
    }

    /// `chat-stream.subscribe`: the pollable is the host's to wait on and to drop (before
    /// the stream), with [`Guest::poll`] and [`Guest::drop_pollable`].
    pub async fn subscribe(&mut self, stream: ResourceAny) -> Result<Resource<DynPollable>> {
        let r = self
            .bindings
            .genesis_mantle_provider()
            .chat_stream()
            .call_subscribe(&mut self.store, stream)
            .await;
        self.traps(r)
    }

    /// `wasi:io/poll.poll` on the host side: waits until one of the pollables is ready and
    /// gives the indices of the ready ones.
    pub async fn poll(&mut self, pollables: &[Resource<DynPollable>]) -> Result<Vec<u32>> {
        let table = &mut self.store.data_mut().table;
        let borrowed = pollables
            .iter()
            .map(|p| Resource::new_borrow(p.rep()))
            .collect();
        table.poll(borrowed).await.map_err(anyhow::Error::from)
    }

    /// Drops a pollable `subscribe` gave.
    pub fn drop_pollable(&mut self, pollable: Resource<DynPollable>) -> Result<()> {
        self.store
            .data_mut()
            .table
            .drop(pollable)
            .map_err(anyhow::Error::from)
    }

    /// `resource.drop` of a chat stream.
    pub async fn drop_stream(&mut self, stream: ResourceAny) -> Result<()> {
        let r = stream.resource_drop_async(&mut self.store).await;
        self.traps(r)
    }
}

/// Settings with every field unset (everything from the environment).
pub fn empty_settings() -> types::Settings {
    types::Settings {
        region: None,
        bearer_token: None,
        credentials: None,
        config: None,
    }
}

/// A chat request with these messages and every option unset.
pub fn chat_request(model: &str, messages: Vec<types::Message>) -> types::ChatRequest {
    types::ChatRequest {
        model: model.to_owned(),
        messages,
        tools: Vec::new(),
        tool_choice: None,
        max_tokens: None,
        temperature: None,
        top_p: None,
        stop: Vec::new(),
        reasoning_effort: None,
        response_format: None,
        parallel_tool_calls: None,
        seed: None,
        extra: None,
    }
}

/// A user message of plain text.
pub fn user_text(text: &str) -> types::Message {
    types::Message::User(vec![types::ContentPart::Text(text.to_owned())])
}

/// A short text of a failed `chat-stream`, with Mantle's request id when there is one.
pub fn describe_failure(f: &types::Failure) -> String {
    let text = describe_error(&f.error);
    match &f.request_id {
        Some(id) if !text.contains(id.as_str()) => format!("{text} (request id {id})"),
        _ => text,
    }
}

/// A short text of a WIT error, for messages and the command line.
pub fn describe_error(e: &types::Error) -> String {
    use types::Error as E;
    match e {
        E::Configuration(m) => format!("configuration error: {m}"),
        E::MissingCredentials(m) => format!("missing credentials: {m}"),
        E::Unauthorized(m) => format!("unauthorized: {m}"),
        E::Forbidden(m) => format!("forbidden: {m}"),
        E::ModelNotFound(m) => format!("model not found: {m}"),
        E::WrongRoute(m) => format!("wrong route: {m}"),
        E::RateLimited(r) => match r.retry_after {
            Some(s) => format!("rate limited (retry after {s} s): {}", r.message),
            None => format!("rate limited: {}", r.message),
        },
        E::InvalidRequest(m) => format!("invalid request: {m}"),
        E::ContextOverflow(m) => format!("context overflow: {m}"),
        E::UpstreamUnavailable(u) => match u.status {
            Some(s) => format!("upstream unavailable (HTTP {s}): {}", u.message),
            None => format!("upstream unavailable: {}", u.message),
        },
        E::Timeout(m) => format!("timeout: {m}"),
        E::Protocol(m) => format!("protocol error: {m}"),
        E::Truncated(m) => format!("truncated stream: {m}"),
        E::NotImplemented(m) => format!("not implemented: {m}"),
    }
}
