//! `mantle-host serve`: the HTTP face (the Spin app's component) behind a wasmtime gateway.
//!
//! Like Spin, the gateway makes a fresh instance per request from one `ProxyPre`, and gives
//! it what Spin would: `fermyon:spin/variables` (secrets included) and the default
//! `fermyon:spin/key-value` store. Each instance gets a memory limit and an epoch deadline.
//! Outgoing requests go only to the allowed hosts (anything else is refused before a
//! connection is made) and over pools of kept-alive connections shared by all instances,
//! where wasmtime's default opens a connection per request.
//!
//! [`Running`] serves on one single-threaded runtime per core, each accepting on the same
//! socket with its own connection pool, so a request stays on one thread from accept to
//! answer: on a 2-core machine, handing work between threads of one shared runtime cost
//! as much as the work itself.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper_util::client::legacy::Client as PoolClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use wasmtime::component::{Component, Linker, Resource, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolConcurrencyLimitError, PoolingAllocationConfig,
    Store, StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::runtime::Clock;

#[allow(missing_docs)]
mod spin {
    wasmtime::component::bindgen!({
        inline: r#"
            package fermyon:spin@2.0.0;

            interface variables {
                get: func(name: string) -> result<string, error>;
                variant error { invalid-name(string), undefined(string), provider(string), other(string) }
            }

            interface key-value {
                resource store {
                    open: static func(label: string) -> result<store, error>;
                    get: func(key: string) -> result<option<list<u8>>, error>;
                    set: func(key: string, value: list<u8>) -> result<_, error>;
                    delete: func(key: string) -> result<_, error>;
                    exists: func(key: string) -> result<bool, error>;
                    get-keys: func() -> result<list<string>, error>;
                }
                variant error { store-table-full, no-such-store, access-denied, other(string) }
            }

            world spin-imports {
                import variables;
                import key-value;
            }
        "#,
        with: { "fermyon:spin/key-value.store": super::KvHandle },
    });
}

use spin::fermyon::spin::{key_value, variables};

/// An open key-value store of an instance: the label it was opened with.
pub struct KvHandle {
    label: String,
}

/// How long one epoch tick is.
const TICK: Duration = Duration::from_millis(100);

/// What the gateway gives the face.
#[derive(Clone)]
pub struct GatewayConfig {
    /// Spin variables (secrets included), by name.
    pub variables: BTreeMap<String, String>,
    /// Hosts the face may reach, as `scheme://host:port` (the Spin manifest's
    /// `allowed_outbound_hosts`); every other destination is refused.
    pub allowed_outbound: Vec<String>,
    /// Largest linear memory of one instance, in bytes.
    pub memory_limit: usize,
    /// Longest one request may run, streaming included.
    pub request_timeout: Duration,
    /// Idle upstream connections kept per host.
    pub pool_idle_per_host: usize,
    /// Requests served at once (instance slots kept ready); one more gets 503.
    pub max_instances: u32,
    /// The guest's wall clock; the real one when `None`.
    pub clock: Option<Clock>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            variables: BTreeMap::new(),
            allowed_outbound: Vec::new(),
            memory_limit: 64 << 20,
            request_timeout: Duration::from_secs(600),
            pool_idle_per_host: 256,
            max_instances: 256,
            clock: None,
        }
    }
}

/// The allowed destination of a URL such as `https://host` or `http://127.0.0.1:8787/v1`,
/// as `scheme://host:port`.
pub fn outbound_origin(url: &str) -> Result<String> {
    let uri: hyper::Uri = url
        .parse()
        .with_context(|| format!("{url:?} is not a URL"))?;
    origin_of(&uri).ok_or_else(|| anyhow!("{url:?} has no scheme or no host"))
}

type Pool = PoolClient<hyper_rustls::HttpsConnector<HttpConnector>, WasiBody>;

/// What all instances share.
struct Shared {
    variables: BTreeMap<String, String>,
    allowed: Vec<String>,
    pool_idle_per_host: usize,
    kv: Mutex<HashMap<String, Vec<u8>>>,
    denied: AtomicU64,
    upstream_requests: AtomicU64,
}

thread_local! {
    /// Connection pools of this thread, by gateway: a pool's connections are driven by tasks
    /// of the runtime that opened them, so each runtime thread keeps its own.
    static POOLS: std::cell::RefCell<Vec<(usize, Pool)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Shared {
    /// This thread's pool for this gateway.
    fn pool(self: &Arc<Self>) -> Pool {
        let id = Arc::as_ptr(self) as usize;
        POOLS.with(|pools| {
            let mut pools = pools.borrow_mut();
            if let Some((_, pool)) = pools.iter().find(|(k, _)| *k == id) {
                return pool.clone();
            }
            let mut http = HttpConnector::new();
            // Requests are written as head and body separately; without this, Nagle's
            // algorithm holds the body back until the head is acknowledged.
            http.set_nodelay(true);
            http.enforce_http(false);
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_webpki_roots()
                .https_or_http()
                .enable_http1()
                .wrap_connector(http);
            let pool = PoolClient::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(90))
                .pool_max_idle_per_host(self.pool_idle_per_host)
                .build(connector);
            pools.push((id, pool.clone()));
            pool
        })
    }
}

/// The store's data for one request.
pub struct FaceState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: FaceHooks,
    limits: StoreLimits,
    shared: Arc<Shared>,
}

impl WasiView for FaceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for FaceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Outgoing HTTP: the allowlist and the shared pool.
struct FaceHooks {
    shared: Arc<Shared>,
}

impl WasiHttpHooks for FaceHooks {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        hyper::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        drop(fut);
        let shared = self.shared.clone();
        Box::new(async move { send(shared, request, options).await })
    }
}

/// The origin of a request URI, as [`outbound_origin`] writes it.
fn origin_of(uri: &hyper::Uri) -> Option<String> {
    let scheme = uri.scheme_str()?;
    let host = uri.host()?;
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    Some(format!("{scheme}://{host}:{port}"))
}

type Sent = (
    hyper::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
);

async fn send(
    shared: Arc<Shared>,
    request: hyper::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<Sent, HttpError> {
    let origin = origin_of(request.uri());
    if !origin
        .as_ref()
        .is_some_and(|o| shared.allowed.iter().any(|a| a == o))
    {
        shared.denied.fetch_add(1, Ordering::Relaxed);
        eprintln!(
            "mantle-host serve: refused an outgoing request to {}: not an allowed host (allowed: {})",
            origin.as_deref().unwrap_or("(no host)"),
            shared.allowed.join(", ")
        );
        return Err(HttpError::HttpRequestDenied);
    }
    shared.upstream_requests.fetch_add(1, Ordering::Relaxed);
    let options = options.unwrap_or_default();
    let first_byte = options
        .first_byte_timeout
        .unwrap_or(Duration::from_secs(600));
    let between_bytes = options
        .between_bytes_timeout
        .unwrap_or(Duration::from_secs(600));
    let pool = shared.pool();
    let response = match tokio::time::timeout(first_byte, pool.request(request)).await {
        Err(_) => return Err(HttpError::ConnectionReadTimeout),
        Ok(Err(e)) => return Err(pool_error(&e)),
        Ok(Ok(r)) => r,
    };
    let response = response.map(|body| {
        Timed {
            body,
            between: between_bytes,
            sleep: Box::pin(tokio::time::sleep(between_bytes)),
        }
        .boxed_unsync()
    });
    let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
    Ok((response, io))
}

/// A wasi-http error for a failure of the pool.
fn pool_error(e: &hyper_util::client::legacy::Error) -> HttpError {
    if e.is_connect() {
        let text = format!("{e:?}");
        if text.contains("ConnectionRefused") {
            return HttpError::ConnectionRefused;
        }
        if text.contains("dns error") || text.contains("failed to lookup") {
            return HttpError::DnsError {
                rcode: None,
                info_code: None,
            };
        }
        return HttpError::DestinationUnavailable;
    }
    HttpError::InternalError(Some(format!("{e}")))
}

/// A response body that fails when no data arrives for `between`.
struct Timed {
    body: Incoming,
    between: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Body for Timed {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let deadline = tokio::time::Instant::now() + self.between;
                self.sleep.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(HttpError::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(self.sleep.as_mut().poll(cx));
                Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
}

impl variables::Host for FaceState {
    fn get(&mut self, name: String) -> Result<String, variables::Error> {
        // Spin's rule for names: lower-case letters, digits and single underscores.
        let valid = !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !name.contains("__")
            && !name.ends_with('_');
        if !valid {
            return Err(variables::Error::InvalidName(name));
        }
        self.shared
            .variables
            .get(&name)
            .cloned()
            .ok_or(variables::Error::Undefined(name))
    }
}

impl key_value::HostStore for FaceState {
    fn open(&mut self, label: String) -> Result<Resource<KvHandle>, key_value::Error> {
        if label != "default" {
            return Err(key_value::Error::NoSuchStore);
        }
        self.table
            .push(KvHandle { label })
            .map_err(|_| key_value::Error::StoreTableFull)
    }

    fn get(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
    ) -> Result<Option<Vec<u8>>, key_value::Error> {
        let k = self.kv_key(&store, &key)?;
        Ok(self.kv()?.get(&k).cloned())
    }

    fn set(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), key_value::Error> {
        let k = self.kv_key(&store, &key)?;
        self.kv()?.insert(k, value);
        Ok(())
    }

    fn delete(&mut self, store: Resource<KvHandle>, key: String) -> Result<(), key_value::Error> {
        let k = self.kv_key(&store, &key)?;
        self.kv()?.remove(&k);
        Ok(())
    }

    fn exists(&mut self, store: Resource<KvHandle>, key: String) -> Result<bool, key_value::Error> {
        let k = self.kv_key(&store, &key)?;
        Ok(self.kv()?.contains_key(&k))
    }

    fn get_keys(&mut self, store: Resource<KvHandle>) -> Result<Vec<String>, key_value::Error> {
        let prefix = self.kv_key(&store, "")?;
        Ok(self
            .kv()?
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect())
    }

    fn drop(&mut self, store: Resource<KvHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl key_value::Host for FaceState {}

impl FaceState {
    fn kv_key(&self, store: &Resource<KvHandle>, key: &str) -> Result<String, key_value::Error> {
        let handle = self
            .table
            .get(store)
            .map_err(|e| key_value::Error::Other(e.to_string()))?;
        Ok(format!("{}\u{0}{key}", handle.label))
    }

    fn kv(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>>, key_value::Error> {
        self.shared
            .kv
            .lock()
            .map_err(|_| key_value::Error::Other("the store is poisoned".into()))
    }
}

/// A request ran past the gateway's time limit.
#[derive(Debug)]
struct Overtime(Duration);

impl std::fmt::Display for Overtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request ran past the gateway's limit of {} s",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for Overtime {}

/// The gateway: the compiled face, its linker, and what instances share.
pub struct Gateway {
    pre: ProxyPre<FaceState>,
    shared: Arc<Shared>,
    config: GatewayConfig,
}

impl Gateway {
    /// Compiles the face at `path` and links what Spin would give it.
    pub fn load(path: &Path, config: GatewayConfig) -> Result<Gateway> {
        let mut engine_config = Config::new();
        engine_config.epoch_interruption(true);
        // Instance slots, memories and stacks made once and reused: an instance per request
        // then costs no mmap/munmap per request. Memories are reset by madvise, not kept
        // resident: keeping the first MiB resident meant a 1 MiB memset per request (12% of
        // the gateway's time in a profile), for pages a request mostly never touches.
        let n = config.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(4))
            .total_stacks(n)
            .max_core_instances_per_component(16)
            .max_memories_per_component(2)
            .max_tables_per_component(8)
            .max_memory_size(config.memory_limit);
        engine_config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&engine_config)?;
        let component = Component::from_file(&engine, path)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("loading component {}", path.display()))?;
        let mut linker = Linker::<FaceState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        variables::add_to_linker::<FaceState, wasmtime::component::HasSelf<FaceState>>(
            &mut linker,
            |s| s,
        )?;
        key_value::add_to_linker::<FaceState, wasmtime::component::HasSelf<FaceState>>(
            &mut linker,
            |s| s,
        )?;
        let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })?;
        let shared = Arc::new(Shared {
            variables: config.variables.clone(),
            allowed: config.allowed_outbound.clone(),
            pool_idle_per_host: config.pool_idle_per_host,
            kv: Mutex::new(HashMap::new()),
            denied: AtomicU64::new(0),
            upstream_requests: AtomicU64::new(0),
        });
        Ok(Gateway {
            pre,
            shared,
            config,
        })
    }

    /// Outgoing requests refused so far because their host is not allowed.
    pub fn denied(&self) -> u64 {
        self.shared.denied.load(Ordering::Relaxed)
    }

    /// Outgoing requests sent upstream so far.
    pub fn upstream_requests(&self) -> u64 {
        self.shared.upstream_requests.load(Ordering::Relaxed)
    }

    /// The entries of the key-value store all instances share, as they are now.
    pub fn key_value(&self) -> HashMap<String, Vec<u8>> {
        self.shared
            .kv
            .lock()
            .map(|kv| kv.clone())
            .unwrap_or_default()
    }

    /// Puts an entry into the shared key-value store, as a store that outlived an earlier
    /// configuration of the app would hold it.
    pub fn put_key_value(&self, key: &str, value: Vec<u8>) {
        if let Ok(mut kv) = self.shared.kv.lock() {
            kv.insert(key.to_owned(), value);
        }
    }

    /// Answers one request with a fresh instance of the face.
    pub async fn handle(
        &self,
        request: hyper::Request<Incoming>,
    ) -> Result<hyper::Response<HyperOutgoingBody>> {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stderr();
        if let Some(clock) = &self.config.clock {
            wasi.wall_clock(clock.clone());
        }
        let state = FaceState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: FaceHooks {
                shared: self.shared.clone(),
            },
            limits: StoreLimitsBuilder::new()
                .memory_size(self.config.memory_limit)
                .instances(16)
                .build(),
            shared: self.shared.clone(),
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|s| &mut s.limits);
        let ticks = (self.config.request_timeout.as_millis() / TICK.as_millis()).max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();
        let limit = self.config.request_timeout;
        // The epoch deadline stops a guest that computes too long; this one stops a guest
        // that waits too long (on the upstream, or on a slow client), streaming included.
        let task = tokio::task::spawn(async move {
            let run = async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, req, out)
                    .await
            };
            match tokio::time::timeout(limit, run).await {
                Ok(r) => r.map_err(anyhow::Error::from),
                Err(_) => Err(anyhow!(Overtime(limit))),
            }
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(anyhow!("the face answered with an error: {code:?}")),
            Err(_) => match task.await {
                Ok(Ok(())) => Err(anyhow!("the face set no response")),
                Ok(Err(e)) => Err(e.context("the face failed")),
                Err(e) => Err(anyhow::Error::from(e).context("the face's task failed")),
            },
        }
    }

    /// Serves connections from `listener` until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> Result<()> {
        loop {
            let (stream, peer) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let gateway = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, std::convert::Infallible>(gateway.answer(request).await) }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                    && !e.is_incomplete_message()
                {
                    eprintln!("mantle-host serve: connection from {peer}: {e}");
                }
            });
        }
    }

    /// [`Gateway::handle`], with a failure of the instance turned into a 500 answer.
    async fn answer(
        &self,
        request: hyper::Request<Incoming>,
    ) -> hyper::Response<HyperOutgoingBody> {
        match self.handle(request).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("mantle-host serve: {e:#}");
                let busy = e.chain().any(|c| c.is::<PoolConcurrencyLimitError>());
                let (status, message, code) = match e.downcast_ref::<Overtime>() {
                    Some(o) => (
                        hyper::StatusCode::GATEWAY_TIMEOUT,
                        o.to_string(),
                        "gateway_timeout",
                    ),
                    None if busy => (
                        hyper::StatusCode::SERVICE_UNAVAILABLE,
                        "the gateway is serving as many requests as it may; retry shortly"
                            .to_owned(),
                        "gateway_busy",
                    ),
                    None => (
                        hyper::StatusCode::INTERNAL_SERVER_ERROR,
                        "the gateway failed to answer; its log says why".to_owned(),
                        "internal_error",
                    ),
                };
                let body = serde_json::json!({"error": {
                    "message": message, "type": "server_error", "param": null, "code": code}})
                .to_string();
                let mut response = hyper::Response::new(
                    http_body_util::Full::new(Bytes::from(body))
                        .map_err(|never| match never {})
                        .boxed_unsync(),
                );
                *response.status_mut() = status;
                if busy {
                    response.headers_mut().insert(
                        hyper::header::RETRY_AFTER,
                        hyper::header::HeaderValue::from_static("1"),
                    );
                }
                response.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("application/json"),
                );
                response
            }
        }
    }
}

/// A gateway serving on `listen` in the background, on one single-threaded runtime per
/// core; stops when dropped.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The gateway, for its counters.
    pub gateway: Arc<Gateway>,
    stop: tokio::sync::watch::Sender<()>,
}

impl Running {
    /// Starts serving `gateway` on `listen` (port 0 picks a free port), with as many threads
    /// as the machine has cores.
    pub async fn start(gateway: Gateway, listen: SocketAddr) -> Result<Running> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        Running::start_threads(gateway, listen, threads)
    }

    /// [`Running::start`] with `threads` runtime threads.
    pub fn start_threads(gateway: Gateway, listen: SocketAddr, threads: usize) -> Result<Running> {
        let listener = std::net::TcpListener::bind(listen)
            .with_context(|| format!("cannot listen on {listen}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let gateway = Arc::new(gateway);
        let (stop, stopped) = tokio::sync::watch::channel(());
        for i in 0..threads.max(1) {
            let listener = listener.try_clone()?;
            let serving = gateway.clone();
            let mut stopped = stopped.clone();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            std::thread::Builder::new()
                .name(format!("gateway-{i}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        let listener = match TcpListener::from_std(listener) {
                            Ok(l) => l,
                            Err(e) => return eprintln!("mantle-host serve: {e}"),
                        };
                        tokio::select! {
                            r = serving.serve(listener) => {
                                if let Err(e) = r {
                                    eprintln!("mantle-host serve: {e:#}");
                                }
                            }
                            _ = stopped.changed() => {}
                        }
                    });
                })?;
        }
        Ok(Running {
            addr,
            gateway,
            stop,
        })
    }

    /// `http://ADDR/v1`, the base URL clients use.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}
