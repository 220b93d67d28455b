//! `mantle-host serve`: the HTTP face (the Spin app's component) behind a wasmtime gateway.
//!
//! Like Spin, the gateway makes a fresh instance per request from one pre-instantiated face,
//! and gives it what Spin would: `fermyon:spin/variables` (secrets included) and the default
//! `fermyon:spin/key-value` store. The face may be built for WASI 0.2 (spin-sdk 5.2,
//! `wasi:http/incoming-handler`) or WASI 0.3 (spin-sdk 7, `wasi:http/handler@0.3.0`, which gets
//! `spin:variables@3.0.0` and `spin:key-value@3.0.0` over the same variables and store, see
//! [`p3`]); the gateway tells which from the component's exports. A WASI 0.3 instance is run
//! with wasmtime's concurrent event loop until its tasks have written the answer whole. Each instance gets a memory limit and an epoch deadline.
//! Outgoing requests go only to the allowed hosts (anything else is refused before a
//! connection is made) and over pools of kept-alive connections shared by all instances,
//! where wasmtime's default opens a connection per request.
//!
//! With `--reuse-instances` ([`GatewayConfig::reuse_instances`], off by default) an instance
//! that answered a request whole is kept and given the next one: not Spin's model, since the
//! guest's memory then outlives a request, but it saves making the instance and lets the face
//! keep its tenant's client. Instances that trapped, ran out of time or lost their client are
//! dropped, never kept.
//!
//! [`Running`] serves on one single-threaded runtime per core, each accepting on the same
//! socket with its own connection pool, so a request stays on one thread from accept to
//! answer: on a 2-core machine, handing work between threads of one shared runtime cost
//! as much as the work itself.
//!
//! The gateway faces the internet, so every edge is bounded (see [`limits`]): accept errors
//! (running out of file descriptors included) back off and retry, a request head must arrive
//! within the header timeout (408 and close), the body within the body timeout (408) and
//! before an instance is taken, open connections are capped (503), a request deadline that
//! ends a stream sends an OpenAI `error` chunk, and a client that goes away cancels its
//! instance and so its upstream request.

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
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolConcurrencyLimitError, PoolingAllocationConfig,
    Store, StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::handler::{Proxy, ProxyPre};
use wasmtime_wasi_http::p2::bindings::ProxyPre as P2Pre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p3::bindings::ServicePre as P3Pre;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::build::Wasm;
use crate::credentials::CredentialSlot;
use crate::runtime::Clock;

/// The gateway's limits: defaults, and the largest values the flags accept.
pub mod limits {
    use std::time::Duration;

    /// How long a client may take to send a request head, and how long an idle kept-alive
    /// connection stays open.
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// How long a client may take to send a request body.
    pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
    /// Open client connections by default; one more is answered 503 and closed.
    pub const MAX_CONNECTIONS: u32 = 1024;
    /// The largest `--max-connections`.
    pub const MAX_CONNECTIONS_LIMIT: u32 = 1 << 20;
    /// The largest `--max-instances`.
    pub const MAX_INSTANCES: u32 = 10_000;
    /// The largest timeout of any kind, in seconds (one day).
    pub const MAX_TIMEOUT_SECS: u64 = 86_400;
    /// The largest `--memory-mib`.
    pub const MAX_MEMORY_MIB: u64 = 4096;
    /// First wait after a failed accept; it doubles up to [`ACCEPT_BACKOFF_MAX`].
    pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
    /// Longest wait after failed accepts.
    pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
    /// How long the 503 answer past the connection cap may take to write.
    pub const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
    /// Largest request body when the face's `max_request_bytes` does not say.
    pub const DEFAULT_MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
    /// With `--reuse-instances`: an instance whose memory grew past this is not kept (a
    /// large request's memory is given back to the system, not held by an idle instance).
    pub const REUSE_MAX_MEMORY: usize = 8 << 20;
    /// With `--reuse-instances`: requests one instance answers before it is replaced.
    pub const REUSE_MAX_USES: u32 = 100_000;
    /// With `--reuse-instances`: idle instances kept at most.
    pub const REUSE_MAX_IDLE: usize = 64;
}

mod p3;

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

/// Stacks an instance of the face may use at once: one for a WASI 0.2 face, one per waiting
/// task for a WASI 0.3 face.
const STACKS_PER_INSTANCE: u32 = 4;

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
    /// AWS credentials handed to each new instance as the `aws_*` credential variables
    /// (they override `variables`); a refresher may replace them while the gateway runs.
    pub credentials: Option<CredentialSlot>,
    /// Longest one request may run once its body is in, streaming included.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request head (and an idle connection may stay).
    pub header_timeout: Duration,
    /// Longest a client may take to send a request body.
    pub body_timeout: Duration,
    /// Open client connections; one more is answered 503 and closed.
    pub max_connections: u32,
    /// Idle upstream connections kept per host.
    pub pool_idle_per_host: usize,
    /// Requests served at once (instance slots kept ready); one more gets 503.
    pub max_instances: u32,
    /// The guest's wall clock; the real one when `None`.
    pub clock: Option<Clock>,
    /// Keep an instance after a request it answered whole and give it the next one
    /// (`--reuse-instances`), instead of a fresh instance per request. Not Spin's model: the
    /// guest's memory outlives a request. For single-tenant deployments only.
    pub reuse_instances: bool,
    /// Write the access log (one JSON line per request) on stderr ([`crate::observe`]); the
    /// metrics are kept either way.
    pub access_log: bool,
    /// OpenTelemetry traces ([`crate::trace`]); none when `None`.
    pub tracing: Option<crate::trace::Tracing>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            variables: BTreeMap::new(),
            credentials: None,
            allowed_outbound: Vec::new(),
            memory_limit: 64 << 20,
            request_timeout: Duration::from_secs(600),
            header_timeout: limits::HEADER_TIMEOUT,
            body_timeout: limits::BODY_TIMEOUT,
            max_connections: limits::MAX_CONNECTIONS,
            pool_idle_per_host: 256,
            max_instances: 256,
            clock: None,
            reuse_instances: false,
            access_log: false,
            tracing: None,
        }
    }
}

impl GatewayConfig {
    /// Refuses values that would overflow a deadline or a size.
    fn check(&self) -> Result<()> {
        let max = Duration::from_secs(limits::MAX_TIMEOUT_SECS);
        for (name, d) in [
            ("request timeout", self.request_timeout),
            ("header timeout", self.header_timeout),
            ("body timeout", self.body_timeout),
        ] {
            if d.is_zero() || d > max {
                anyhow::bail!(
                    "the {name} must be between 1 s and {} s",
                    limits::MAX_TIMEOUT_SECS
                );
            }
        }
        if self.max_instances == 0 || self.max_instances > limits::MAX_INSTANCES {
            anyhow::bail!(
                "max instances must be between 1 and {}",
                limits::MAX_INSTANCES
            );
        }
        if self.max_connections == 0 || self.max_connections > limits::MAX_CONNECTIONS_LIMIT {
            anyhow::bail!(
                "max connections must be between 1 and {}",
                limits::MAX_CONNECTIONS_LIMIT
            );
        }
        let max_memory = usize::try_from(limits::MAX_MEMORY_MIB << 20).unwrap_or(usize::MAX);
        if self.memory_limit == 0 || self.memory_limit > max_memory {
            anyhow::bail!(
                "the memory limit must be between 1 byte and {} MiB",
                limits::MAX_MEMORY_MIB
            );
        }
        Ok(())
    }

    /// The face's `max_request_bytes`, as it reads it.
    fn max_request_bytes(&self) -> usize {
        self.variables
            .get("max_request_bytes")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(limits::DEFAULT_MAX_REQUEST_BYTES)
    }
}

/// A URL for a log: without its user name and password, if it has any.
pub fn display_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}{path}"),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

/// The allowed destination of a URL such as `https://host` or `http://127.0.0.1:8787/v1`,
/// as `scheme://host:port`. A URL with a user name or password is refused, and the message
/// does not repeat them.
pub fn outbound_origin(url: &str) -> Result<String> {
    let shown = display_url(url);
    if shown != url {
        anyhow::bail!(
            "the base URL {shown:?} carries a user name or password; Mantle takes a bearer token, so remove them (credentials go in apiKey or the AWS credential chain)"
        );
    }
    let uri: hyper::Uri = url
        .parse()
        .with_context(|| format!("{shown:?} is not a URL"))?;
    origin_of(&uri).ok_or_else(|| anyhow!("{shown:?} has no scheme or no host"))
}

type Pool = PoolClient<hyper_rustls::HttpsConnector<HttpConnector>, WasiBody>;

/// What all instances share.
struct Shared {
    variables: BTreeMap<String, String>,
    credentials: Option<CredentialSlot>,
    allowed: Vec<String>,
    pool_idle_per_host: usize,
    kv: Mutex<HashMap<String, Vec<u8>>>,
    denied: AtomicU64,
    upstream_requests: AtomicU64,
    cancelled: AtomicU64,
    /// The access log and the metrics.
    observer: Arc<crate::observe::Observer>,
    /// The named keys (`gateway_keys`), for the check before a body is read.
    key_file: mantle_face::keys::KeyFile,
    /// OpenTelemetry traces, when asked for.
    tracing: Option<crate::trace::Tracing>,
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

/// The store's data for one request (or, with `reuse_instances`, for one instance's
/// requests, one at a time).
pub struct FaceState {
    /// The server span of the request the instance serves, when tracing.
    span: crate::trace::RequestSpan,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: FaceHooks,
    limits: Limits,
    shared: Arc<Shared>,
}

/// The instance's limits, and how large its memories have grown.
struct Limits {
    inner: StoreLimits,
    /// The largest size a memory of the instance was allowed to grow to, bytes.
    memory: usize,
}

impl wasmtime::ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if allowed {
            self.memory = self.memory.max(desired);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// An instance kept for the next request (`reuse_instances`).
struct Warm {
    store: Store<FaceState>,
    proxy: Proxy,
    /// Requests it has answered.
    uses: u32,
}

/// The instances kept for reuse, and how many instances were made.
#[derive(Default)]
struct Instances {
    idle: Mutex<Vec<Warm>>,
    created: AtomicU64,
    reused: AtomicU64,
}

impl Instances {
    fn take(&self) -> Option<Warm> {
        self.idle.lock().ok()?.pop()
    }

    /// Keeps `warm` for a later request, unless its memory grew past what an idle instance
    /// may hold, it has served its share, or enough are kept already.
    fn give_back(&self, warm: Warm) {
        if warm.store.data().limits.memory > limits::REUSE_MAX_MEMORY
            || warm.uses >= limits::REUSE_MAX_USES
        {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < limits::REUSE_MAX_IDLE
        {
            idle.push(warm);
        }
    }
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
    /// The server span of the instance's request: upstream requests get client spans under it.
    span: crate::trace::RequestSpan,
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
        let mut request = request;
        let parent = self
            .span
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|s| s.cx.clone()));
        let client_span = match (&shared.tracing, parent) {
            (Some(tracing), Some(parent)) => {
                let host = request.uri().host().unwrap_or_default().to_owned();
                let method = request.method().to_string();
                Some(tracing.client_span(&parent, &method, &host, request.headers_mut()))
            }
            _ => None,
        };
        Box::new(async move {
            let sent = send(shared, request, options).await;
            if let Some(cx) = &client_span {
                let status = sent.as_ref().ok().map(|(r, _)| r.status().as_u16());
                crate::trace::end_client_span(cx, status);
            }
            sent
        })
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
    shared.observer.upstream_request();
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
        if let Some(value) = self
            .shared
            .credentials
            .as_ref()
            .and_then(|slot| slot.variable(&name))
        {
            return Ok(value);
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

/// A request handed to an instance of the face, as its WASI wants it.
enum Call {
    /// WASI 0.2: the request and its response out-parameter, in the instance's table.
    P2(
        Resource<wasmtime_wasi_http::p2::types::HostIncomingRequest>,
        Resource<wasmtime_wasi_http::p2::types::HostResponseOutparam>,
    ),
    /// WASI 0.3: the request, and where the face's answer goes once `handle` returns it.
    P3(Box<hyper::Request<WasiBody>>, p3::Answered),
}

/// Where the face's answer head arrives.
enum Head {
    P2(
        tokio::sync::oneshot::Receiver<
            Result<
                hyper::Response<HyperOutgoingBody>,
                wasmtime_wasi_http::p2::bindings::http::types::ErrorCode,
            >,
        >,
    ),
    P3(futures::channel::oneshot::Receiver<wasmtime::Result<hyper::Response<WasiBody>>>),
}

impl Head {
    /// The face's answer; an error it answered with instead; `None` when its task ended
    /// without either (it trapped, ran out of time or returned without answering).
    async fn wait(self) -> Option<Result<hyper::Response<HyperOutgoingBody>, String>> {
        match self {
            Head::P2(r) => r.await.ok().map(|r| r.map_err(|code| format!("{code:?}"))),
            Head::P3(r) => r.await.ok().map(|r| r.map_err(|e| format!("{e:#}"))),
        }
    }
}

/// One request's run of an instance, on a task of its own.
struct Run {
    pre: Arc<ProxyPre<FaceState>>,
    instances: Arc<Instances>,
    reuse: bool,
    limit: Duration,
    overtime: Arc<std::sync::atomic::AtomicBool>,
    /// Counts the instance as busy until the task ends or is stopped.
    busy: Busy,
}

impl Run {
    /// Instantiates the face unless a kept instance is given, hands it the request and runs
    /// it until it is done with it: for WASI 0.3, until its tasks have written the answer
    /// whole. An instance that answered whole is kept when instances are reused.
    async fn run(
        self,
        mut store: Store<FaceState>,
        proxy: Option<Proxy>,
        uses: u32,
        call: Call,
    ) -> Result<()> {
        let _busy = self.busy;
        let instances = self.instances.clone();
        let pre = &self.pre;
        let result = {
            let run = async {
                let proxy = match proxy {
                    Some(p) => p,
                    None => {
                        instances.created.fetch_add(1, Ordering::Relaxed);
                        pre.instantiate_async(&mut store).await?
                    }
                };
                match (&proxy, call) {
                    (Proxy::P2(face), Call::P2(req, out)) => {
                        face.wasi_http_incoming_handler()
                            .call_handle(&mut store, req, out)
                            .await?;
                    }
                    (Proxy::P3(_), Call::P3(req, answered)) => {
                        p3::serve(&mut store, &proxy, *req, answered).await?;
                    }
                    _ => {
                        return Err(wasmtime::format_err!(
                            "the request does not fit the face's WASI"
                        ));
                    }
                }
                Ok::<Proxy, wasmtime::Error>(proxy)
            };
            let run = std::pin::pin!(run);
            // The epoch deadline stops a guest that computes too long; this one stops a guest
            // that waits too long (on the upstream, or on a slow client), streaming included.
            let result = tokio::select! {
                r = run => r.map_err(anyhow::Error::from),
                () = tokio::time::sleep(self.limit) => {
                    // Set before the instance (and the response body it writes) is dropped, so
                    // the body sees it when it ends.
                    self.overtime.store(true, Ordering::SeqCst);
                    Err(anyhow!(Overtime(self.limit)))
                }
            };
            result
        };
        // Only an instance that answered whole is kept: one that trapped, ran out of time or
        // was stopped mid-answer is dropped with its memory.
        match result {
            Ok(proxy) if self.reuse => {
                instances.give_back(Warm {
                    store,
                    proxy,
                    uses: uses.saturating_add(1),
                });
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The gateway: the compiled face, its linker, and what instances share.
pub struct Gateway {
    pre: Arc<ProxyPre<FaceState>>,
    engine: Engine,
    shared: Arc<Shared>,
    instances: Arc<Instances>,
    config: GatewayConfig,
    connections: Arc<tokio::sync::Semaphore>,
    max_request_bytes: usize,
    counters: Counters,
}

/// What the gateway refused or cut, for tests and logs.
#[derive(Default)]
struct Counters {
    accept_errors: AtomicU64,
    over_connection_cap: AtomicU64,
    header_timeouts: AtomicU64,
    body_timeouts: AtomicU64,
}

impl Gateway {
    /// Compiles the face at `path` and links what Spin would give it.
    pub fn load(path: &Path, config: GatewayConfig) -> Result<Gateway> {
        Gateway::load_wasm(&Wasm::File(path.to_owned()), config)
    }

    /// Compiles the face, from a file or built into this binary, and links what Spin would
    /// give it.
    pub fn load_wasm(wasm: &Wasm, config: GatewayConfig) -> Result<Gateway> {
        config.check()?;
        // wasmtime's concurrent event loop, which a WASI 0.3 face needs, costs a WASI 0.2
        // face about 5% of its time in bookkeeping on every host call: it is on only for the
        // face that needs it.
        let concurrent = wasm.exports_wasi_http_0_3()?;
        let mut engine_config = Config::new();
        engine_config.concurrency_support(concurrent);
        engine_config.epoch_interruption(true);
        // `perf record` names the guest's functions when asked (`MANTLE_PERFMAP=1`).
        if std::env::var_os("MANTLE_PERFMAP").is_some() {
            engine_config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
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
            // A WASI 0.3 instance runs each of its tasks that waits (its `handle`, the task
            // that writes the answer) on a stack of its own.
            .total_stacks(n.saturating_mul(STACKS_PER_INSTANCE))
            .max_core_instances_per_component(16)
            .max_memories_per_component(2)
            .max_tables_per_component(8)
            .max_memory_size(config.memory_limit)
            // Tables are a few KiB: zeroed in place on reuse rather than given back to the
            // kernel, and memories given back in batches, one madvise pass per 32 instances.
            // Each cut the instance's cost by about a tenth (BENCHMARKS.md, "The gateway's
            // own cost").
            .table_keep_resident(64 << 10)
            .decommit_batch_size(32);
        engine_config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&engine_config)?;
        let component = wasm.compile(&engine)?;
        let mut linker = Linker::<FaceState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        // A WASI 0.3 face (spin-sdk 7) gets what `wasmtime serve` gives one: its clocks,
        // random, CLI and HTTP interfaces, and no sockets or files.
        if concurrent {
            wasmtime_wasi::p3::clocks::add_to_linker(&mut linker)?;
            wasmtime_wasi::p3::random::add_to_linker(&mut linker)?;
            wasmtime_wasi::p3::cli::add_to_linker(&mut linker)?;
            wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
            p3::add_to_linker(&mut linker)?;
        }
        variables::add_to_linker::<FaceState, wasmtime::component::HasSelf<FaceState>>(
            &mut linker,
            |s| s,
        )?;
        key_value::add_to_linker::<FaceState, wasmtime::component::HasSelf<FaceState>>(
            &mut linker,
            |s| s,
        )?;
        let instance = linker.instantiate_pre(&component)?;
        let pre = if concurrent {
            ProxyPre::P3(P3Pre::new(instance)?)
        } else {
            ProxyPre::P2(P2Pre::new(instance).map_err(|e| {
                anyhow!(
                    "the face exports neither wasi:http/handler@0.3 nor \
                     wasi:http/incoming-handler@0.2 ({e:#})"
                )
            })?)
        };
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
        let key_file = match config.variables.get("gateway_keys") {
            Some(text) if !text.trim().is_empty() => {
                mantle_face::keys::parse(text).map_err(|e| anyhow!("{e}"))?
            }
            _ => mantle_face::keys::KeyFile::default(),
        };
        let observer = Arc::new(crate::observe::Observer::new(
            key_file.keys.iter().map(|k| k.name.clone()),
            config.access_log,
        ));
        let shared = Arc::new(Shared {
            observer,
            key_file,
            tracing: config.tracing.clone(),
            variables: config.variables.clone(),
            credentials: config.credentials.clone(),
            allowed: config.allowed_outbound.clone(),
            pool_idle_per_host: config.pool_idle_per_host,
            kv: Mutex::new(HashMap::new()),
            denied: AtomicU64::new(0),
            upstream_requests: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
        });
        let connections = Arc::new(tokio::sync::Semaphore::new(
            usize::try_from(config.max_connections).unwrap_or(usize::MAX),
        ));
        let max_request_bytes = config.max_request_bytes();
        Ok(Gateway {
            pre: Arc::new(pre),
            engine,
            shared,
            instances: Arc::new(Instances::default()),
            config,
            connections,
            max_request_bytes,
            counters: Counters::default(),
        })
    }

    /// Accepts that failed so far (file descriptors ran out, for one); each was retried.
    pub fn accept_errors(&self) -> u64 {
        self.counters.accept_errors.load(Ordering::Relaxed)
    }

    /// Connections answered 503 because the connection cap was reached.
    pub fn over_connection_cap(&self) -> u64 {
        self.counters.over_connection_cap.load(Ordering::Relaxed)
    }

    /// Connections closed because a request head did not arrive in time.
    pub fn header_timeouts(&self) -> u64 {
        self.counters.header_timeouts.load(Ordering::Relaxed)
    }

    /// Requests answered 408 because their body did not arrive in time.
    pub fn body_timeouts(&self) -> u64 {
        self.counters.body_timeouts.load(Ordering::Relaxed)
    }

    /// Instances stopped because their client went away before the answer was complete.
    pub fn cancelled(&self) -> u64 {
        self.shared.cancelled.load(Ordering::Relaxed)
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

    /// A store for a new instance of the face.
    fn new_store(&self) -> Store<FaceState> {
        let span = crate::trace::RequestSpan::default();
        let mut wasi = WasiCtx::builder();
        wasi.stderr(crate::observe::GuestStderr::new(
            self.shared.observer.clone(),
            span.clone(),
        ));
        if let Some(clock) = &self.config.clock {
            wasi.wall_clock(clock.clone());
        }
        let state = FaceState {
            span: span.clone(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: FaceHooks {
                shared: self.shared.clone(),
                span,
            },
            limits: Limits {
                inner: StoreLimitsBuilder::new()
                    .memory_size(self.config.memory_limit)
                    .instances(16)
                    .build(),
                memory: 0,
            },
            shared: self.shared.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store
    }

    /// Instances made so far (with `reuse_instances`, fewer than requests).
    pub fn instances_created(&self) -> u64 {
        self.instances.created.load(Ordering::Relaxed)
    }

    /// Instances kept for the next request now (`reuse_instances`).
    pub fn idle_instances(&self) -> usize {
        self.instances.idle.lock().map_or(0, |idle| idle.len())
    }

    /// Requests answered by a kept instance so far (`reuse_instances`).
    pub fn instances_reused(&self) -> u64 {
        self.instances.reused.load(Ordering::Relaxed)
    }

    /// Which WASI the face is built for: `"0.3"` (`wasi:http/handler@0.3.0`) or `"0.2"`.
    pub fn wasi_version(&self) -> &'static str {
        match *self.pre {
            ProxyPre::P3(_) => "0.3",
            ProxyPre::P2(_) => "0.2",
        }
    }

    /// Answers one request with a fresh instance of the face (or, with `reuse_instances`, a
    /// kept one when there is one). The instance runs on a task of its own; dropping the
    /// returned answer's body before it ended (the client went away) stops that task, and
    /// with it the upstream request.
    pub async fn handle<B>(&self, request: hyper::Request<B>) -> Result<hyper::Response<Answer>>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<HttpError>,
    {
        let warm = if self.config.reuse_instances {
            self.instances.take()
        } else {
            None
        };
        let (mut store, proxy, uses) = match warm {
            Some(w) => {
                self.instances.reused.fetch_add(1, Ordering::Relaxed);
                (w.store, Some(w.proxy), w.uses)
            }
            None => (self.new_store(), None, 0),
        };
        let server_span = request
            .extensions()
            .get::<crate::trace::ServerSpan>()
            .cloned();
        if let Ok(mut slot) = store.data().span.lock() {
            slot.clone_from(&server_span);
        }
        let ticks = (self.config.request_timeout.as_millis() / TICK.as_millis()).max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        let (call, head) = match *self.pre {
            ProxyPre::P2(_) => {
                let (sender, receiver) = tokio::sync::oneshot::channel();
                let req = store
                    .data_mut()
                    .http()
                    .new_incoming_request(Scheme::Http, request)?;
                let out = store.data_mut().http().new_response_outparam(sender)?;
                (Call::P2(req, out), Head::P2(receiver))
            }
            ProxyPre::P3(_) => {
                let (sender, receiver) = futures::channel::oneshot::channel();
                let request = request.map(|b| b.map_err(Into::into).boxed_unsync());
                (Call::P3(Box::new(request), sender), Head::P3(receiver))
            }
        };
        let overtime = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let run = Run {
            pre: self.pre.clone(),
            instances: self.instances.clone(),
            reuse: self.config.reuse_instances,
            limit: self.config.request_timeout,
            overtime: overtime.clone(),
            busy: Busy::new(self.shared.observer.clone()),
        };
        let task = tokio::task::spawn(run.run(store, proxy, uses, call));
        let mut guard = Cancel {
            task: Some(task.abort_handle()),
            cancelled: Some(self.shared.clone()),
        };
        match head.wait().await {
            Some(Ok(response)) => {
                let cancel = Cancel {
                    task: guard.task.take(),
                    cancelled: Some(self.shared.clone()),
                };
                Ok(self.answer_of(response, cancel, overtime, server_span))
            }
            Some(Err(e)) => {
                // The instance is of no more use; stopping it is not the client's doing.
                guard.cancelled = None;
                Err(anyhow!("the face answered with an error: {e}"))
            }
            None => {
                guard.task = None;
                match task.await {
                    Ok(Ok(())) => Err(anyhow!("the face set no response")),
                    Ok(Err(e)) => Err(e.context("the face failed")),
                    Err(e) => Err(anyhow::Error::from(e).context("the face's task failed")),
                }
            }
        }
    }

    /// The face's answer as the gateway passes it on: stopped with the instance when dropped
    /// early, cut streams ended with an error chunk, its text recorded when traced.
    fn answer_of(
        &self,
        response: hyper::Response<HyperOutgoingBody>,
        cancel: Cancel,
        overtime: Arc<std::sync::atomic::AtomicBool>,
        server_span: Option<crate::trace::ServerSpan>,
    ) -> hyper::Response<Answer> {
        let stream = response
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        // A body of known length ends when that much has passed: hyper does not poll it again
        // for its end.
        let length = response
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let content = server_span
            .filter(crate::trace::ServerSpan::records_content)
            .map(|span| crate::trace::content::AnswerContent::new(span, stream));
        let limit = self.config.request_timeout;
        response.map(|inner| Answer {
            inner,
            cancel,
            overtime: stream.then_some((overtime, limit)),
            done: false,
            left: length,
            content,
        })
    }

    /// Serves connections from `listener` until the task is dropped. A failed accept
    /// (out of file descriptors, for one) is logged and retried after a pause that doubles
    /// while accepts keep failing; it never ends the loop.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> Result<()> {
        let mut backoff = limits::ACCEPT_BACKOFF_MIN;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => {
                    backoff = limits::ACCEPT_BACKOFF_MIN;
                    accepted
                }
                Err(e) => {
                    let n = self.counters.accept_errors.fetch_add(1, Ordering::Relaxed);
                    // One line per burst, not one per retry.
                    if backoff == limits::ACCEPT_BACKOFF_MIN || n.is_power_of_two() {
                        eprintln!(
                            "mantle-host serve: accept failed ({e}); retrying in {} ms",
                            backoff.as_millis()
                        );
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(limits::ACCEPT_BACKOFF_MAX);
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let Ok(permit) = self.connections.clone().try_acquire_owned() else {
                self.counters
                    .over_connection_cap
                    .fetch_add(1, Ordering::Relaxed);
                self.shared
                    .observer
                    .gateway_answer("other", 503, "gateway-busy", 0.0);
                tokio::spawn(refuse(stream));
                continue;
            };
            let gateway = self.clone();
            self.shared.observer.connections(1);
            tokio::spawn(async move {
                gateway.clone().connection(stream, peer).await;
                gateway.shared.observer.connections(-1);
                drop(permit);
            });
        }
    }

    /// Serves one connection until it closes.
    async fn connection(self: Arc<Self>, stream: tokio::net::TcpStream, peer: SocketAddr) {
        let stream = Arc::new(stream);
        let io = SharedIo {
            stream: stream.clone(),
            head_started: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        };
        let head_started = io.head_started.clone();
        let gateway = self.clone();
        let service = hyper::service::service_fn(move |request| {
            let gateway = gateway.clone();
            async move { Ok::<_, std::convert::Infallible>(gateway.answer(request).await) }
        });
        let result = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(self.config.header_timeout)
            .serve_connection(TokioIo::new(io), service)
            .await;
        match result {
            Ok(()) => {}
            Err(e) if e.is_timeout() => {
                self.counters
                    .header_timeouts
                    .fetch_add(1, Ordering::Relaxed);
                // Part of a head arrived: tell the client why the connection closes. An idle
                // kept-alive connection is closed without a word.
                if head_started.load(Ordering::SeqCst) {
                    let _ = stream.try_write(
                        b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
                    );
                }
            }
            Err(e) if e.is_incomplete_message() => {}
            Err(e) => eprintln!("mantle-host serve: connection from {peer}: {e}"),
        }
    }

    /// Whether a request carries the gateway key (or none is needed), so its body is worth
    /// reading before an instance is taken. The face checks the key itself; this only decides
    /// who may make the gateway hold a body.
    fn carries_key(&self, request: &hyper::Request<Incoming>) -> bool {
        let key = self.shared.variables.get("gateway_api_key");
        if key.is_none() && self.shared.key_file.keys.is_empty() {
            return true;
        }
        let headers = request.headers();
        let values = |name: &str| -> Vec<Vec<u8>> {
            headers
                .get_all(name)
                .iter()
                .map(|v| v.as_bytes().to_vec())
                .collect()
        };
        mantle_face::keys::identify(
            key.map(|k| k.trim().as_bytes()),
            &self.shared.key_file,
            &values("authorization"),
            &values("x-api-key"),
        )
        .is_some()
    }

    /// The access log and the metrics of this gateway.
    pub fn observer(&self) -> Arc<crate::observe::Observer> {
        self.shared.observer.clone()
    }

    /// Answers one request: checks what the gateway itself must, reads the body within its
    /// own time limit, then runs [`Gateway::handle`]; a failure becomes an OpenAI-shaped error.
    async fn answer(
        &self,
        request: hyper::Request<Incoming>,
    ) -> hyper::Response<HyperOutgoingBody> {
        let started = std::time::Instant::now();
        let surface = request.uri().path().trim_end_matches('/').to_owned();
        let mut request = request;
        let server_span = self.shared.tracing.as_ref().map(|t| {
            let span = t.server_span(request.headers(), request.method().as_str(), &surface);
            request.extensions_mut().insert(span.clone());
            span
        });
        let response = self.answer_inner(request).await;
        // An answer of the gateway's own carries `x-mantle-gateway`: it has no record of the
        // face's, so the gateway writes one.
        if response.headers().contains_key(GATEWAY_ANSWER) {
            let code = response
                .headers()
                .get(GATEWAY_ANSWER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("internal")
                .to_owned();
            let record = self.shared.observer.gateway_answer(
                mantle_face::access::surface_of(&surface),
                response.status().as_u16(),
                &code,
                started.elapsed().as_secs_f64() * 1000.0,
            );
            if let Some(span) = &server_span {
                crate::trace::end_server_span(span, &record, true);
            }
        }
        response
    }

    async fn answer_inner(
        &self,
        request: hyper::Request<Incoming>,
    ) -> hyper::Response<HyperOutgoingBody> {
        if request.uri().authority().is_none()
            && !request.headers().contains_key(hyper::header::HOST)
        {
            return error_response(
                hyper::StatusCode::BAD_REQUEST,
                "the request has no Host header",
                "invalid_request_error",
                "missing_host",
                true,
            );
        }
        let result = if request.body().is_end_stream() || !self.carries_key(&request) {
            self.handle(request.map(|b| b.map_err(HttpError::from).boxed_unsync()))
                .await
        } else {
            let (parts, body) = request.into_parts();
            let max = self.max_request_bytes;
            let limited = http_body_util::Limited::new(body, max);
            match tokio::time::timeout(self.config.body_timeout, limited.collect()).await {
                Err(_) => {
                    self.counters.body_timeouts.fetch_add(1, Ordering::Relaxed);
                    return error_response(
                        hyper::StatusCode::REQUEST_TIMEOUT,
                        &format!(
                            "the request body did not arrive within {} s",
                            self.config.body_timeout.as_secs_f64()
                        ),
                        "invalid_request_error",
                        "request_timeout",
                        true,
                    );
                }
                Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                    return error_response(
                        hyper::StatusCode::BAD_REQUEST,
                        &format!("the request body is larger than {max} bytes (max_request_bytes)"),
                        "invalid_request_error",
                        "request_too_large",
                        true,
                    );
                }
                Ok(Err(e)) => {
                    return error_response(
                        hyper::StatusCode::BAD_REQUEST,
                        &format!("cannot read the request body: {e}"),
                        "invalid_request_error",
                        "bad_body",
                        true,
                    );
                }
                Ok(Ok(collected)) => {
                    let bytes = collected.to_bytes();
                    if let Some(span) = parts.extensions.get::<crate::trace::ServerSpan>()
                        && span.records_content()
                    {
                        crate::trace::content::record_request(span, &bytes);
                    }
                    let body = http_body_util::Full::new(bytes)
                        .map_err(|never| -> HttpError { match never {} })
                        .boxed_unsync();
                    self.handle(hyper::Request::from_parts(parts, body)).await
                }
            }
        };
        match result {
            Ok(r) => r.map(BodyExt::boxed_unsync),
            Err(e) => {
                eprintln!("mantle-host serve: {e:#}");
                let busy = e.chain().any(|c| c.is::<PoolConcurrencyLimitError>());
                let mut response = match e.downcast_ref::<Overtime>() {
                    Some(o) => error_response(
                        hyper::StatusCode::GATEWAY_TIMEOUT,
                        &o.to_string(),
                        "server_error",
                        "gateway_timeout",
                        false,
                    ),
                    None if busy => error_response(
                        hyper::StatusCode::SERVICE_UNAVAILABLE,
                        "the gateway is serving as many requests as it may; retry shortly",
                        "server_error",
                        "gateway_busy",
                        false,
                    ),
                    None => error_response(
                        hyper::StatusCode::INTERNAL_SERVER_ERROR,
                        "the gateway failed to answer; its log says why",
                        "server_error",
                        "internal_error",
                        false,
                    ),
                };
                if busy {
                    response.headers_mut().insert(
                        hyper::header::RETRY_AFTER,
                        hyper::header::HeaderValue::from_static("1"),
                    );
                }
                response
            }
        }
    }
}

/// An instance busy with a request, for the `mantle_instances_busy` gauge; it counts until
/// its task ends or is stopped.
struct Busy(Arc<crate::observe::Observer>);

impl Busy {
    fn new(observer: Arc<crate::observe::Observer>) -> Busy {
        observer.instances_busy(1);
        Busy(observer)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.instances_busy(-1);
    }
}

/// The header on the gateway's own answers, naming the error kind of its access record.
const GATEWAY_ANSWER: &str = "x-mantle-gateway";

/// An answer of the gateway's own, in OpenAI's error shape; `close` ends the connection after
/// it (the request's body was not read to its end).
fn error_response(
    status: hyper::StatusCode,
    message: &str,
    kind: &str,
    code: &str,
    close: bool,
) -> hyper::Response<HyperOutgoingBody> {
    let body = serde_json::json!({"error": {
        "message": message, "type": kind, "param": null, "code": code}})
    .to_string();
    let mut response = hyper::Response::new(
        http_body_util::Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    let kind = match status.as_u16() {
        408 => "request-timeout",
        503 => "gateway-busy",
        504 => "gateway-timeout",
        400..=499 => "bad-request",
        _ => "internal",
    };
    headers.insert(
        GATEWAY_ANSWER,
        hyper::header::HeaderValue::from_static(kind),
    );
    if close {
        headers.insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
    }
    response
}

/// The answer past the connection cap: 503 with retry-after, then the connection is closed.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({"error": {
        "message": "the gateway has as many open connections as it may; retry shortly",
        "type": "server_error", "param": null, "code": "too_many_connections"}})
    .to_string();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(limits::REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client sent, so closing does not reset the connection before the
        // client has read the answer.
        let mut sink = [0u8; 4096];
        let mut total = 0usize;
        while total < 64 * 1024 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => total += n,
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}

/// Stops an instance's task when dropped while armed.
struct Cancel {
    task: Option<tokio::task::AbortHandle>,
    /// Where to count a cancellation.
    cancelled: Option<Arc<Shared>>,
}

impl Drop for Cancel {
    fn drop(&mut self) {
        if let Some(task) = self.task.take()
            && !task.is_finished()
        {
            task.abort();
            if let Some(shared) = &self.cancelled {
                shared.cancelled.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The body of an answer of the face. Dropped before it ended (the client went away), it stops
/// the instance; a stream cut by the request deadline ends with an OpenAI `error` chunk (and
/// no `[DONE]`), so a client never takes a cut answer for a whole one.
pub struct Answer {
    inner: HyperOutgoingBody,
    cancel: Cancel,
    /// For event streams: set when the deadline stopped the instance, and the deadline.
    overtime: Option<(Arc<std::sync::atomic::AtomicBool>, Duration)>,
    done: bool,
    /// For an answer that says its length: the bytes still due. At 0 the answer is whole.
    left: Option<u64>,
    /// The answer's text for the request's server span (`--trace-content`).
    content: Option<crate::trace::content::AnswerContent>,
}

impl Answer {
    /// The answer is whole: its end came, or as many bytes as it said it has. The instance
    /// is no longer stopped when the body is dropped (hyper drops a body of known length once
    /// that many bytes have passed, without polling it for its end).
    fn whole(&mut self) {
        self.cancel.task = None;
        if let Some(content) = &mut self.content {
            content.finished();
        }
    }
}

impl Body for Answer {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if let Some(content) = &mut self.content {
                        content.chunk(data);
                    }
                    if let Some(left) = &mut self.left {
                        *left = left.saturating_sub(data.len() as u64);
                        if *left == 0 {
                            self.whole();
                        }
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            end => {
                self.done = true;
                self.cancel.task = None;
                if let Some((flag, limit)) = &self.overtime
                    && flag.load(Ordering::SeqCst)
                {
                    let chunk = serde_json::json!({"error": {
                        "message": Overtime(*limit).to_string(),
                        "type": "server_error", "param": null, "code": "gateway_timeout"}});
                    // The answer was stopped: the text so far goes on the span as cut.
                    self.content = None;
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(format!(
                        "data: {chunk}\n\n"
                    ))))));
                }
                if end.is_none() {
                    self.whole();
                }
                Poll::Ready(end)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // Only once the inner body said so: hyper then polls to the end, and the instance
        // is never stopped for an answer that was in fact complete.
        self.done
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        // An event stream may get one more chunk than the face wrote.
        match self.overtime {
            None => self.inner.size_hint(),
            Some(_) => hyper::body::SizeHint::default(),
        }
    }
}

/// A connection's socket, shared so the gateway can still answer 408 after hyper gave up on
/// a head; it notes whether part of a head has arrived since the last answer.
struct SharedIo {
    stream: Arc<tokio::net::TcpStream>,
    head_started: Arc<std::sync::atomic::AtomicBool>,
}

impl tokio::io::AsyncRead for SharedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            match self.stream.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    if n > 0 {
                        self.head_started.store(true, Ordering::SeqCst);
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl tokio::io::AsyncWrite for SharedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_write(buf) {
                Ok(n) => {
                    self.head_started.store(false, Ordering::SeqCst);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        // The socket closes when the last handle is dropped.
        Poll::Ready(Ok(()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_userinfo() {
        assert_eq!(
            display_url("http://user:pa55word@host:8080/v1?x=1"),
            "http://***@host:8080/v1?x=1"
        );
        assert_eq!(display_url("https://a@b@host/v1"), "https://***@host/v1");
        assert_eq!(
            display_url("https://bedrock-mantle.us-east-1.api.aws/v1"),
            "https://bedrock-mantle.us-east-1.api.aws/v1"
        );
        // An @ in the path is not userinfo.
        assert_eq!(display_url("http://host/v1/@x"), "http://host/v1/@x");
    }

    #[test]
    fn an_origin_with_userinfo_is_refused_without_echo() {
        let err = outbound_origin("http://user:pa55word@127.0.0.1:9/v1")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pa55word") && !err.contains("user:"), "{err}");
        assert_eq!(
            outbound_origin("http://127.0.0.1:9/v1").unwrap(),
            "http://127.0.0.1:9"
        );
        assert_eq!(
            outbound_origin("https://bedrock-mantle.us-west-2.api.aws/v1").unwrap(),
            "https://bedrock-mantle.us-west-2.api.aws:443"
        );
    }

    #[test]
    fn limits_out_of_range_are_refused() {
        let ok = GatewayConfig::default();
        assert!(ok.check().is_ok());
        let too_long = GatewayConfig {
            request_timeout: Duration::from_secs(u64::MAX),
            ..GatewayConfig::default()
        };
        assert!(too_long.check().is_err());
        let no_connections = GatewayConfig {
            max_connections: 0,
            ..GatewayConfig::default()
        };
        assert!(no_connections.check().is_err());
    }
}
