//! The wasmtime side: one shared engine, the component compiled once, an `InstancePre` from
//! which each guest is instantiated, and a store that gives the guest only what a gateway
//! would: the `AWS_*` variables it chose, a clock, and outgoing HTTP.
//!
//! The provider component comes in two builds, WASI 0.2 (`wit/world.wit`) and WASI 0.3
//! (`wit/p3/world.wit`, hosted by `runtime/p3.rs`); a [`Runtime`] hosts either ([`Wasi`]),
//! and its [`Guest`]s offer one API over both, in the WASI 0.2 bindings' types. The WASI 0.2
//! build's batch API (`get-next`, `subscribe`) has no counterpart on WASI 0.3, whose
//! `chat-stream` returns a `stream`.

mod p3;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
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
        // The WASI 0.3 build's values cross over to these types in their serde form.
        additional_derives: [serde::Serialize, serde::Deserialize],
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

/// Which build of the provider component a runtime hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wasi {
    /// `component/`: WASI 0.2, `genesis:mantle/provider@0.1.0`.
    P2,
    /// `component-p3/`: WASI 0.3, `genesis:mantle/provider@0.2.0`.
    P3,
}

/// Environment variable choosing the build the harness tests run against: `0.3` for the
/// WASI 0.3 one, else the WASI 0.2 one.
pub const WASI_ENV: &str = "MANTLE_PROVIDER_WASI";

impl Wasi {
    /// The build [`WASI_ENV`] names.
    pub fn from_env() -> Wasi {
        match std::env::var(WASI_ENV).as_deref() {
            Ok("0.3") => Wasi::P3,
            _ => Wasi::P2,
        }
    }
}

/// The pre-linked component of either build.
enum Pre {
    P2(MantlePre<State>),
    P3(p3::MantlePre<State>),
}

/// The engine and the pre-linked component.
pub struct Runtime {
    engine: Engine,
    pre: Pre,
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
        let pre = Pre::P2(MantlePre::new(linker.instantiate_pre(component)?)?);
        Ok(Runtime { engine, pre })
    }

    /// Compiles a component of the build `wasi` and links WASI and wasi-http of its version.
    pub fn load_build(wasm: &Wasm, wasi: Wasi) -> Result<Runtime> {
        if wasi == Wasi::P2 {
            return Runtime::load_wasm(wasm);
        }
        let mut config = Config::new();
        config.wasm_component_model_async(true);
        let engine = Engine::new(&config)?;
        let component = wasm.compile(&engine)?;
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
        let pre = Pre::P3(p3::MantlePre::new(linker.instantiate_pre(&component)?)?);
        Ok(Runtime { engine, pre })
    }

    /// The build this runtime hosts.
    pub fn wasi(&self) -> Wasi {
        match self.pre {
            Pre::P2(_) => Wasi::P2,
            Pre::P3(_) => Wasi::P3,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compiled component.
    pub fn component(&self) -> &Component {
        match &self.pre {
            Pre::P2(pre) => pre.instance_pre().component(),
            Pre::P3(pre) => pre.instance_pre().component(),
        }
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
        let bindings = match &self.pre {
            Pre::P2(pre) => Bindings::P2(pre.instantiate_async(&mut store).await?),
            Pre::P3(pre) => Bindings::P3(pre.instantiate_async(&mut store).await?),
        };
        Ok(Guest {
            store,
            bindings,
            readings: Vec::new(),
        })
    }
}

/// The instance's exports, of either build.
enum Bindings {
    P2(Mantle),
    P3(p3::Mantle),
}

/// A streamed answer: the WASI 0.2 build's `chat-stream` resource, or the host's side of the
/// `stream` the WASI 0.3 build returned (an index into the guest's readings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// A `chat-stream` resource (WASI 0.2).
    P2(ResourceAny),
    /// A `stream<chat-event>` being read (WASI 0.3).
    P3(usize),
}

/// One instance of the component, called as a gateway calls it.
pub struct Guest {
    store: Store<State>,
    bindings: Bindings,
    /// The WASI 0.3 build's answers being read; `None` once dropped.
    readings: Vec<Option<p3::Reading>>,
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

    fn traps<T, E: Into<anyhow::Error>>(&self, r: Result<T, E>) -> Result<T> {
        r.map_err(Into::into)
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
        let r = match &self.bindings {
            Bindings::P2(m) => {
                m.genesis_mantle_provider()
                    .call_mint_token(&mut self.store, credentials, region, expires_in, now)
                    .await
            }
            Bindings::P3(m) => {
                let r =
                    p3::mint_token(&mut self.store, m, credentials, region, expires_in, now).await;
                return self.traps(r);
            }
        };
        self.traps(r)
    }

    /// The `client` constructor.
    pub async fn client(&mut self, settings: &types::Settings) -> Result<ResourceAny> {
        let r = match &self.bindings {
            Bindings::P2(m) => {
                m.genesis_mantle_provider()
                    .client()
                    .call_constructor(&mut self.store, settings)
                    .await
            }
            Bindings::P3(m) => {
                let r = p3::client(&mut self.store, m, settings).await;
                return self.traps(r);
            }
        };
        self.traps(r)
    }

    /// `client.discover`.
    pub async fn discover(&mut self, client: ResourceAny) -> Call<Vec<types::Model>> {
        let r = match &self.bindings {
            Bindings::P2(m) => {
                m.genesis_mantle_provider()
                    .client()
                    .call_discover(&mut self.store, client)
                    .await
            }
            Bindings::P3(m) => {
                let r = p3::discover(&mut self.store, m, client).await;
                return self.traps(r);
            }
        };
        self.traps(r)
    }

    /// `client.list`.
    pub async fn list(&mut self, client: ResourceAny) -> Call<types::ModelList> {
        let r = match &self.bindings {
            Bindings::P2(m) => {
                m.genesis_mantle_provider()
                    .client()
                    .call_list(&mut self.store, client)
                    .await
            }
            Bindings::P3(m) => {
                let r = p3::list(&mut self.store, m, client).await;
                return self.traps(r);
            }
        };
        self.traps(r)
    }

    /// `client.chat-stream`: the stream, or the failure with Mantle's request id.
    pub async fn chat_stream(
        &mut self,
        client: ResourceAny,
        request: &types::ChatRequest,
    ) -> Result<Result<Stream, types::Failure>> {
        let r = match &self.bindings {
            Bindings::P2(m) => {
                m.genesis_mantle_provider()
                    .client()
                    .call_chat_stream(&mut self.store, client, request)
                    .await
            }
            Bindings::P3(m) => {
                let r = p3::chat_stream(&mut self.store, m, client, request).await;
                return Ok(match self.traps(r)? {
                    Ok(reading) => {
                        self.readings.push(Some(reading));
                        Ok(Stream::P3(self.readings.len() - 1))
                    }
                    Err(failure) => Err(failure),
                });
            }
        };
        Ok(self.traps(r)?.map(Stream::P2))
    }

    /// The WASI 0.3 build's answer `index`, with the store to read it.
    fn reading(&mut self, index: usize) -> Result<(&mut p3::Reading, &mut Store<State>)> {
        match self.readings.get_mut(index) {
            Some(Some(reading)) => Ok((reading, &mut self.store)),
            _ => bail!("no stream {index}: it was dropped"),
        }
    }

    /// `chat-stream.next`; on WASI 0.3 the next item read from the answer's `stream`, then
    /// the error its end carries.
    pub async fn next_event(
        &mut self,
        stream: Stream,
    ) -> Result<Option<Result<types::ChatEvent, types::Error>>> {
        let resource = match stream {
            Stream::P2(resource) => resource,
            Stream::P3(index) => {
                let (reading, store) = self.reading(index)?;
                let r = reading.next(store).await;
                return self.traps(r);
            }
        };
        let r = p2(&self.bindings, "chat-stream.next")?
            .genesis_mantle_provider()
            .chat_stream()
            .call_next(&mut self.store, resource)
            .await;
        self.traps(r)
    }

    /// `chat-stream.diagnostics`; on WASI 0.3 those of the answer's end (the events before it
    /// are kept for [`Guest::next_event`]).
    pub async fn stream_diagnostics(&mut self, stream: Stream) -> Result<Vec<String>> {
        let resource = match stream {
            Stream::P2(resource) => resource,
            Stream::P3(index) => {
                let (reading, store) = self.reading(index)?;
                let r = reading.diagnostics(store).await;
                return self.traps(r);
            }
        };
        let r = p2(&self.bindings, "chat-stream.diagnostics")?
            .genesis_mantle_provider()
            .chat_stream()
            .call_diagnostics(&mut self.store, resource)
            .await;
        self.traps(r)
    }

    /// `chat-stream.request-id`; on WASI 0.3 that of the answer's end.
    pub async fn request_id(&mut self, stream: Stream) -> Result<Option<String>> {
        let resource = match stream {
            Stream::P2(resource) => resource,
            Stream::P3(index) => {
                let (reading, store) = self.reading(index)?;
                let r = reading.request_id(store).await;
                return self.traps(r);
            }
        };
        let r = p2(&self.bindings, "chat-stream.request-id")?
            .genesis_mantle_provider()
            .chat_stream()
            .call_request_id(&mut self.store, resource)
            .await;
        self.traps(r)
    }
}

/// The WASI 0.2 build's exports, for what only it offers.
fn p2<'a>(bindings: &'a Bindings, what: &str) -> Result<&'a Mantle> {
    match bindings {
        Bindings::P2(m) => Ok(m),
        Bindings::P3(_) => bail!("{what} is an export of the WASI 0.2 build only"),
    }
}

/// One item of a `chat-stream.get-next` batch.
pub type StreamItem = Result<types::ChatEvent, types::Error>;

/// The WASI 0.2 build's `chat-stream` resource behind `stream`.
fn resource(stream: Stream, what: &str) -> Result<ResourceAny> {
    match stream {
        Stream::P2(resource) => Ok(resource),
        Stream::P3(_) => bail!("{what} is an export of the WASI 0.2 build only"),
    }
}

impl Guest {
    /// `chat-stream.get-next` (WASI 0.2).
    pub async fn get_next(&mut self, stream: Stream) -> Result<Option<Vec<StreamItem>>> {
        let resource = resource(stream, "chat-stream.get-next")?;
        let r = p2(&self.bindings, "chat-stream.get-next")?
            .genesis_mantle_provider()
            .chat_stream()
            .call_get_next(&mut self.store, resource)
            .await;
        self.traps(r)
    }

    /// `chat-stream.blocking-get-next` (WASI 0.2).
    pub async fn blocking_get_next(&mut self, stream: Stream) -> Result<Vec<StreamItem>> {
        let resource = resource(stream, "chat-stream.blocking-get-next")?;
        let r = p2(&self.bindings, "chat-stream.blocking-get-next")?
            .genesis_mantle_provider()
            .chat_stream()
            .call_blocking_get_next(&mut self.store, resource)
            .await;
        self.traps(r)
    }

    /// `chat-stream.subscribe` (WASI 0.2): the pollable is the host's to wait on and to drop
    /// (before the stream), with [`Guest::poll`] and [`Guest::drop_pollable`].
    pub async fn subscribe(&mut self, stream: Stream) -> Result<Resource<DynPollable>> {
        let resource = resource(stream, "chat-stream.subscribe")?;
        let r = p2(&self.bindings, "chat-stream.subscribe")?
            .genesis_mantle_provider()
            .chat_stream()
            .call_subscribe(&mut self.store, resource)
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

    /// `resource.drop` of a chat stream; on WASI 0.3 the host drops its end of the `stream`,
    /// which stops the guest's reading of the upstream.
    pub async fn drop_stream(&mut self, stream: Stream) -> Result<()> {
        match stream {
            Stream::P2(resource) => {
                let r = resource.resource_drop_async(&mut self.store).await;
                self.traps(r)
            }
            Stream::P3(index) => {
                if let Some(reading) = self.readings.get_mut(index) {
                    *reading = None;
                }
                Ok(())
            }
        }
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
