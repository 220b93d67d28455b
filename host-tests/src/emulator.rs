//! A local Mantle emulator: a real HTTP server on loopback that behaves like
//! `bedrock-mantle.{region}.api.aws`, errors included.
//!
//! Like Mantle it accepts only `Authorization: Bearer <token>`, where the token is either a
//! configured static key or a valid minted token: it decodes the token, recomputes the SigV4
//! signature with the secret it was told, and checks region and expiry. Anything else gets
//! Mantle's OpenAI-shaped error body. Tests inspect the requests it saw, change the models
//! it lists and inject faults (any status and body, latency, a body of any size).
//!
//! It serves Mantle's chat routes, `POST /v1/chat/completions` (OpenAI chat completions),
//! `POST /v1/responses` (the Responses API, gpt-oss models), `POST /openai/v1/responses` (the
//! Responses API, GPT-5.x only) and `POST /anthropic/v1/messages` (Claude models,
//! `anthropic-version: 2023-06-01`), each refusing the models served elsewhere with Mantle's
//! wrong-route 400, streaming
//! the transcripts of [`crate::transcripts`] in real HTTP chunks, or whatever [`Script`] a test
//! sets: any SSE body, cut into pieces of any size, with delays between them, cut off or
//! stalled part way ([`StreamFault`]).
//! `POST /anthropic/v1/messages/count_tokens` counts a Claude request's input tokens
//! ([`emulated_input_tokens`]). Reasoning replayed on the Anthropic route must come back as
//! it was given (a `thinking` block with its signature), or it is refused as Anthropic does.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mantle_provider::chat::{ChatEvent, EventStream, StopReason, StreamMapper, Usage};
use mantle_provider::discovery::{infer_reasoning, is_claude, is_gpt5};
use mantle_provider::{anthropic, openai, responses, token};
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Sleep;

use crate::framing::{Framing, reframe};
use crate::runtime::Clock;
use crate::token_check;
use crate::transcripts::{self, Route};

/// The response body type of every route. Its error aborts the connection mid-body
/// ([`StreamFault`]).
pub type Body = BoxBody<Bytes, StreamAborted>;

/// The error a scripted body ends with to cut its connection ([`StreamFault`]): hyper then
/// closes the connection without the final empty chunk, so the client sees an incomplete
/// chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAborted;

impl std::fmt::Display for StreamAborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the emulator cut the stream on purpose")
    }
}

impl std::error::Error for StreamAborted {}

/// Access keys the emulator knows, as `(access key id, secret)`.
pub type KnownKey = (String, String);

/// Model ids served by default: real Mantle ids.
pub const DEFAULT_MODELS: [&str; 7] = [
    "deepseek.v3.2",
    "moonshotai.kimi-k2-thinking",
    "openai.gpt-5.4",
    "openai.gpt-oss-120b",
    "openai.gpt-oss-20b",
    "qwen.qwen3-coder-480b-a35b-instruct",
    "claude-opus-4.7",
];

/// Clock skew tolerated for tokens signed in the future, seconds (as AWS allows).
const MAX_SKEW_SECS: u64 = 300;

/// How the emulator is set up.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The region it pretends to serve; tokens of other regions are refused.
    pub region: String,
    /// Static bearer keys accepted as is.
    pub static_keys: Vec<String>,
    /// Access keys whose minted tokens are accepted.
    pub credentials: Vec<KnownKey>,
    /// Model ids listed by `GET /v1/models`.
    pub models: Vec<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            region: "us-east-1".into(),
            static_keys: Vec::new(),
            credentials: Vec::new(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
        }
    }
}

/// A fault to answer with instead of the normal response.
#[derive(Debug, Clone)]
pub struct Fault {
    /// HTTP status.
    pub status: u16,
    /// Response body.
    pub body: String,
    /// Extra headers, e.g. `retry-after`.
    pub headers: Vec<(String, String)>,
    /// How many requests get it; `None` for every request.
    pub times: Option<usize>,
}

impl Fault {
    /// A fault with Mantle's OpenAI-shaped error body.
    pub fn openai(status: u16, code: &str, kind: &str, message: &str) -> Fault {
        Fault {
            status,
            body: error_body(code, kind, message),
            headers: Vec::new(),
            times: None,
        }
    }

    /// A fault with an Anthropic-shaped error body (`{"type":"error","error":{...}}`), e.g.
    /// `Fault::anthropic(529, "overloaded_error", "Overloaded")`.
    pub fn anthropic(status: u16, kind: &str, message: &str) -> Fault {
        Fault {
            status,
            body: anthropic_error_body(kind, message),
            headers: Vec::new(),
            times: None,
        }
    }

    /// The same fault with a header added, e.g. `("retry-after", "3")`.
    pub fn with_header(mut self, name: &str, value: &str) -> Fault {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same fault, for the next `n` requests only.
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }
}

/// How a scripted stream goes wrong part way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFault {
    /// Sends the first N bytes of the body, then closes the connection abruptly, without the
    /// final empty chunk: the client's body read fails (hyper: an incomplete-message error;
    /// a raw reader: EOF inside the chunked encoding). The N bytes are flushed first.
    CutAfter(usize),
    /// Sends the first N bytes of the body, then nothing more for the duration while the
    /// connection stays open, then closes it as [`StreamFault::CutAfter`] does.
    StallAfter(usize, Duration),
}

/// A scripted answer for the chat routes: a raw SSE body sent in pieces. It answers every chat
/// request that passes validation (auth, headers, body, model), on either route, whatever the
/// body says (a test sets a body that fits the route it calls).
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// The raw SSE body, sent as is.
    pub body: String,
    /// Bytes per write (each write is one HTTP chunk, flushed when written); `None`: the
    /// whole body in one write; `Some(1)`: one byte per write (0 counts as 1).
    pub chunk_size: Option<usize>,
    /// The pause between two writes (not before the first).
    pub delay: Duration,
    /// How the stream goes wrong, if it does.
    pub fault: Option<StreamFault>,
    /// How many chat requests get it; `None` for every request until cleared.
    pub times: Option<usize>,
}

impl Script {
    /// `body` in one write, at once, for every chat request.
    pub fn new(body: impl Into<String>) -> Script {
        Script {
            body: body.into(),
            chunk_size: None,
            delay: Duration::ZERO,
            fault: None,
            times: None,
        }
    }

    /// `body` in two writes with `pause` between them: an answer that stalls halfway.
    pub fn halves(body: impl Into<String>, pause: Duration) -> Script {
        let body = body.into();
        let half = body.len() / 2 + 1;
        Script::new(body).chunked(half).with_delay(pause)
    }

    /// The same script in writes of `bytes` bytes.
    pub fn chunked(mut self, bytes: usize) -> Script {
        self.chunk_size = Some(bytes);
        self
    }

    /// The same script with `delay` between writes.
    pub fn with_delay(mut self, delay: Duration) -> Script {
        self.delay = delay;
        self
    }

    /// The same script, going wrong as `fault` says.
    pub fn with_fault(mut self, fault: StreamFault) -> Script {
        self.fault = Some(fault);
        self
    }

    /// The same script, for the next `n` chat requests only.
    pub fn times(mut self, n: usize) -> Script {
        self.times = Some(n);
        self
    }
}

impl From<transcripts::Transcript> for Script {
    fn from(transcript: transcripts::Transcript) -> Script {
        Script::new(transcript.body)
    }
}

/// A request the emulator saw.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
    /// The status it was answered with.
    pub status: u16,
}

impl SeenRequest {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, when it is JSON (a chat request's body, to check what was sent).
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Most requests an emulator remembers.
pub const SEEN_MAX_REQUESTS: usize = 10_000;
/// Most bytes of request bodies an emulator remembers (the latest request is always kept).
pub const SEEN_MAX_BYTES: usize = 256 << 20;

#[derive(Debug)]
struct State {
    config: EmulatorConfig,
    /// The latest requests, oldest first, within [`SEEN_MAX_REQUESTS`] and
    /// [`SEEN_MAX_BYTES`] of bodies.
    seen: VecDeque<SeenRequest>,
    /// Bytes of the bodies in `seen`.
    seen_bytes: usize,
    fault: Option<Fault>,
    script: Option<Script>,
    latency: Duration,
    models_body: Option<String>,
    now_override: Option<u64>,
    clock: Option<Clock>,
    connections: usize,
    /// Streamed answers whose reader went away before their end.
    abandoned: Arc<std::sync::atomic::AtomicUsize>,
    /// How streamed answers are framed; `None`: as written.
    framing: Option<Framing>,
}

/// A running emulator; it stops when dropped.
pub struct Emulator {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _stop: watch::Sender<()>,
}

impl Emulator {
    /// Starts on `127.0.0.1:0`.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator> {
        Emulator::start_on("127.0.0.1:0".parse()?, config).await
    }

    /// Starts on `addr`.
    pub async fn start_on(addr: SocketAddr, config: EmulatorConfig) -> Result<Emulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            config,
            seen: VecDeque::new(),
            seen_bytes: 0,
            fault: None,
            script: None,
            latency: Duration::ZERO,
            models_body: None,
            now_override: None,
            clock: None,
            connections: 0,
            abandoned: Arc::default(),
            framing: None,
        }));
        let (stop, mut stopped) = watch::channel(());
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    conn = listener.accept() => conn,
                    _ = stopped.changed() => break,
                };
                let Ok((stream, _)) = conn else { continue };
                lock(&shared).connections += 1;
                let state = shared.clone();
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let conn =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {},
                        _ = stopped.changed() => {},
                    }
                });
            }
        });
        Ok(Emulator {
            addr,
            state,
            _stop: stop,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OpenAI-compatible base URL, as in a configuration's `baseUrl`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// TCP connections accepted so far (a client that pools makes few).
    pub fn connections(&self) -> usize {
        self.state().connections
    }

    /// Streamed answers (chat, streaming or not upstream) the client stopped reading before
    /// their end: the connection closed under them. A gateway that cancels upstream work when
    /// its own client goes away makes this count.
    pub fn abandoned_streams(&self) -> usize {
        self.state()
            .abandoned
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The requests seen so far, oldest first: the latest [`SEEN_MAX_REQUESTS`], within
    /// [`SEEN_MAX_BYTES`] of bodies, so an emulator under load for hours stays bounded.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.state().seen.iter().cloned().collect()
    }

    /// How many requests were made to `path`.
    pub fn count(&self, path: &str) -> usize {
        self.state().seen.iter().filter(|r| r.path == path).count()
    }

    /// Forgets the requests seen so far.
    pub fn clear_requests(&self) {
        let mut st = self.state();
        st.seen.clear();
        st.seen_bytes = 0;
    }

    /// Replaces the listed model ids.
    pub fn set_models(&self, ids: &[&str]) {
        self.state().config.models = ids.iter().map(|m| (*m).to_owned()).collect();
    }

    /// Serves this raw text as the `GET /v1/models` body (`None`: the real shape).
    pub fn set_models_body(&self, body: Option<String>) {
        self.state().models_body = body;
    }

    /// Answers with `fault` until it is used up or cleared (authentication still comes first).
    pub fn inject(&self, fault: Fault) {
        self.state().fault = Some(fault);
    }

    /// Clears any injected fault.
    pub fn clear_fault(&self) {
        self.state().fault = None;
    }

    /// Writes every streamed answer (default transcripts and scripts) as `framing` says:
    /// its line ends, its last event's end, its writes ([`crate::framing`]); `None` writes
    /// them as they are.
    pub fn set_framing(&self, framing: Option<Framing>) {
        self.state().framing = framing;
    }

    /// Answers chat requests with `script` until it is used up or cleared, instead of the
    /// default transcript. Requests are still checked first (auth, an injected [`Fault`],
    /// `anthropic-version`, body, model): only those that pass get the script.
    pub fn set_script(&self, script: Script) {
        self.state().script = Some(script);
    }

    /// Clears the script: chat requests get the default transcripts again.
    pub fn clear_script(&self) {
        self.state().script = None;
    }

    /// Delays every answer (its status and headers) by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// Fixes the emulator's clock (Unix seconds) for token expiry checks; `None`: real time.
    pub fn set_now(&self, now: Option<u64>) {
        self.state().now_override = now;
    }

    /// Follows this clock for token expiry checks (the guests' clock in tests).
    pub fn set_clock(&self, clock: Clock) {
        self.state().clock = Some(clock);
    }

    /// Accepts minted tokens of another access key.
    pub fn add_credentials(&self, access_key_id: &str, secret: &str) {
        self.state()
            .config
            .credentials
            .push((access_key_id.to_owned(), secret.to_owned()));
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A Genesis configuration (JSON5) whose provider talks to `base_url`, with `extra` members
/// (e.g. `discovery: false`) beside `baseUrl`.
pub fn config_text(base_url: &str, extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(", {extra}")
    };
    format!(
        "{{ models: {{ providers: {{ \"amazon-bedrock-mantle\": {{ baseUrl: \"{base_url}\"{extra} }} }} }} }}"
    )
}

/// Mantle's OpenAI-shaped error body.
pub fn error_body(code: &str, kind: &str, message: &str) -> String {
    json!({"error": {"code": code, "message": message, "param": null, "type": kind}}).to_string()
}

/// An Anthropic-shaped error body, as the Messages route answers:
/// `{"type":"error","error":{"type":kind,"message":message}}`.
pub fn anthropic_error_body(kind: &str, message: &str) -> String {
    json!({"type": "error", "error": {"type": kind, "message": message}}).to_string()
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

fn respond(status: u16, body: impl Into<Bytes>, headers: &[(String, String)]) -> Response<Body> {
    let mut res = Response::new(full(body));
    *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(v),
        ) {
            res.headers_mut().insert(k, v);
        }
    }
    res
}

fn unauthorized(message: &str) -> Response<Body> {
    respond(
        401,
        error_body("invalid_api_key", "authentication_error", message),
        &[],
    )
}

fn forbidden(message: &str) -> Response<Body> {
    respond(
        403,
        error_body("forbidden", "permission_error", message),
        &[],
    )
}

/// Checks the `Authorization` header as Mantle does: `None` when it is accepted.
fn authenticate(state: &State, auth: Option<&str>) -> Option<Response<Body>> {
    let Some(auth) = auth else {
        return Some(unauthorized(
            "Missing Authorization header with a Bearer token",
        ));
    };
    let Some(bearer) = auth.strip_prefix("Bearer ") else {
        return Some(unauthorized(
            "Authorization header must use the Bearer scheme",
        ));
    };
    let bearer = bearer.trim();
    if state
        .config
        .static_keys
        .iter()
        .any(|k| bool::from(k.as_bytes().ct_eq(bearer.as_bytes())))
    {
        return None;
    }
    if !bearer.starts_with(token::PREFIX) {
        return Some(unauthorized("The API key is not valid"));
    }
    let decoded = match token_check::decode(bearer) {
        Ok(d) => d,
        Err(e) => return Some(forbidden(e.message())),
    };
    let Some((_, secret)) = state
        .config
        .credentials
        .iter()
        .find(|(id, _)| *id == decoded.access_key_id)
    else {
        return Some(forbidden(
            "The security token included in the request is invalid",
        ));
    };
    if !decoded.signature_matches(secret) {
        return Some(forbidden(
            "The request signature we calculated does not match the signature you provided",
        ));
    }
    if decoded.region != state.config.region {
        return Some(forbidden(&format!(
            "The bearer token was issued for region {} but this endpoint serves {}",
            decoded.region, state.config.region
        )));
    }
    let now = state.now_override.unwrap_or_else(|| match &state.clock {
        Some(clock) => clock.now().as_secs(),
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    });
    if now >= decoded.expires_at() {
        return Some(forbidden("The bearer token has expired"));
    }
    if decoded.issued_at > now + MAX_SKEW_SECS {
        return Some(forbidden("The bearer token is not yet valid"));
    }
    None
}

fn models_body(models: &[String]) -> String {
    let data: Vec<_> = models
        .iter()
        .map(|id| {
            let owner = id.split('.').next().unwrap_or("amazon");
            json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": owner})
        })
        .collect();
    json!({"object": "list", "data": data}).to_string()
}

/// What [`answer`] needs of a request.
struct Asked<'a> {
    method: &'a str,
    path: &'a str,
    headers: &'a [(String, String)],
    body: &'a [u8],
    auth: Option<&'a str>,
}

impl Asked<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let auth = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());

    let (response, latency) = {
        let mut st = lock(&state);
        let latency = st.latency;
        let asked = Asked {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            headers: &headers,
            body: &body,
            auth,
        };
        let response = answer(&mut st, &asked);
        st.seen_bytes += body.len();
        st.seen.push_back(SeenRequest {
            method: parts.method.to_string(),
            path,
            headers,
            body,
            status: response.status().as_u16(),
        });
        while st.seen.len() > SEEN_MAX_REQUESTS
            || (st.seen_bytes > SEEN_MAX_BYTES && st.seen.len() > 1)
        {
            if let Some(old) = st.seen.pop_front() {
                st.seen_bytes -= old.body.len();
            }
        }
        (response, latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    Ok(response)
}

/// Something injected for a number of requests (`times`), or for all of them (`None`).
trait Counted: Clone {
    fn times(&mut self) -> &mut Option<usize>;
}

impl Counted for Fault {
    fn times(&mut self) -> &mut Option<usize> {
        &mut self.times
    }
}

impl Counted for Script {
    fn times(&mut self) -> &mut Option<usize> {
        &mut self.times
    }
}

/// What is injected in `slot` for this request, counting it down; used up, it is removed.
fn take_counted<T: Counted>(slot: &mut Option<T>) -> Option<T> {
    let mut item = slot.take()?;
    match *item.times() {
        Some(0) => return None,
        Some(n) => {
            let mut rest = item.clone();
            *rest.times() = Some(n - 1);
            *slot = Some(rest);
        }
        None => *slot = Some(item.clone()),
    }
    Some(item)
}

/// The injected fault for this request, counting it down.
fn take_fault(st: &mut State) -> Option<Fault> {
    take_counted(&mut st.fault)
}

/// The script for this chat request, counting it down.
fn take_script(st: &mut State) -> Option<Script> {
    take_counted(&mut st.script)
}

fn answer(st: &mut State, req: &Asked<'_>) -> Response<Body> {
    // A strict server: a request with a body must say how long it is.
    if req.method == "POST" && req.header("content-length").is_none() {
        return respond(
            411,
            error_body(
                "length_required",
                "invalid_request_error",
                "A request body must carry a Content-Length header",
            ),
            &[],
        );
    }
    if let Some(refusal) = authenticate(st, req.auth) {
        return refusal;
    }
    if let Some(fault) = take_fault(st) {
        return respond(fault.status, fault.body, &fault.headers);
    }
    match (req.method, req.path) {
        ("GET", "/v1/models") => {
            let body = st
                .models_body
                .clone()
                .unwrap_or_else(|| models_body(&st.config.models));
            respond(200, body, &[])
        }
        (_, "/v1/models") => respond(
            405,
            error_body(
                "method_not_allowed",
                "invalid_request_error",
                "Method not allowed",
            ),
            &[],
        ),
        (_, "/v1/chat/completions") => chat(st, Route::OpenAi, req),
        (_, "/anthropic/v1/messages") => chat(st, Route::Anthropic, req),
        (_, "/anthropic/v1/messages/count_tokens") => count_tokens(st, req),
        (_, "/v1/responses") => chat(st, Route::Responses, req),
        (_, "/openai/v1/responses") => chat(st, Route::OpenaiResponses, req),
        (method, path) => respond(
            404,
            error_body(
                "not_found",
                "invalid_request_error",
                &format!("Unknown request URL: {method} {path}"),
            ),
            &[],
        ),
    }
}

/// A refusal in the shape of `route`: OpenAI-shaped with `code` and `kind`, or
/// Anthropic-shaped with `anthropic_kind`.
fn refuse(
    route: Route,
    status: u16,
    (code, kind, anthropic_kind): (&str, &str, &str),
    message: &str,
) -> Response<Body> {
    let body = match route {
        Route::OpenAi | Route::Responses | Route::OpenaiResponses => {
            error_body(code, kind, message)
        }
        Route::Anthropic => anthropic_error_body(anthropic_kind, message),
    };
    respond(status, body, &[])
}

/// Error words of an invalid request.
const INVALID: (&str, &str, &str) = (
    "validation_error",
    "invalid_request_error",
    "invalid_request_error",
);

/// A chat request on `route`: checked as Mantle does, then answered with the script or the
/// default transcript.
fn chat(st: &mut State, route: Route, req: &Asked<'_>) -> Response<Body> {
    if req.method != "POST" {
        return refuse(
            route,
            405,
            (
                "method_not_allowed",
                "invalid_request_error",
                "invalid_request_error",
            ),
            "Method not allowed",
        );
    }
    if route == Route::Anthropic {
        match req.header("anthropic-version") {
            Some(v) if v.trim() == anthropic::ANTHROPIC_VERSION => {}
            Some(v) => {
                return refuse(
                    route,
                    400,
                    INVALID,
                    &format!(
                        "anthropic-version: invalid version `{v}`, expected {}",
                        anthropic::ANTHROPIC_VERSION
                    ),
                );
            }
            None => {
                return refuse(route, 400, INVALID, "anthropic-version: header is required");
            }
        }
    }
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(body @ Value::Object(_)) => body,
        Ok(_) => {
            return refuse(
                route,
                400,
                INVALID,
                "the request body must be a JSON object",
            );
        }
        Err(e) => {
            return refuse(
                route,
                400,
                INVALID,
                &format!("the request body is not valid JSON: {e}"),
            );
        }
    };
    let Some(model) = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    else {
        return refuse(route, 400, INVALID, "model: field required");
    };
    if route.is_responses() {
        if !body
            .get("input")
            .is_some_and(|i| i.is_array() || i.is_string())
        {
            return refuse(
                route,
                400,
                INVALID,
                "input: field required (a string or an array)",
            );
        }
    } else if !body.get("messages").is_some_and(Value::is_array) {
        return refuse(route, 400, INVALID, "messages: field required (an array)");
    }
    if route == Route::Anthropic && !body.get("max_tokens").is_some_and(Value::is_u64) {
        return refuse(route, 400, INVALID, "max_tokens: field required");
    }
    if route == Route::Anthropic
        && let Some(refusal) = thinking_refusal(&body)
    {
        return refuse(route, 400, INVALID, refusal);
    }
    if !served_on(route, model) {
        return refuse(
            route,
            400,
            INVALID,
            &format!("model `{model}` isn't supported on this route"),
        );
    }
    if !st.config.models.iter().any(|m| m == model) {
        return refuse(
            route,
            404,
            (
                "model_not_found",
                "invalid_request_error",
                "not_found_error",
            ),
            &format!("The model `{model}` does not exist or you do not have access to it."),
        );
    }
    if route == Route::Anthropic
        && let Some(refusal) = replayed_reasoning_refusal(&body)
    {
        return refuse(route, 400, INVALID, &refusal);
    }
    let streamed = body.get("stream").and_then(Value::as_bool) == Some(true);
    let (sse, split, delay, fault) = match take_script(st) {
        Some(script) => (
            script.body,
            script.chunk_size.map_or(Split::Whole, Split::Bytes),
            script.delay,
            script.fault,
        ),
        None => (
            default_transcript(route, &body).body,
            Split::Events,
            Duration::ZERO,
            None,
        ),
    };
    if !streamed {
        return whole_answer(route, model, &sse);
    }
    let (sse, split) = match &st.framing {
        Some(f) => (reframe(&sse, f), f.piece.map_or(split, Split::Bytes)),
        None => (sse, split),
    };
    let mut scripted = Scripted::new(Bytes::from(sse), split, delay, fault);
    scripted.abandoned = Some(st.abandoned.clone());
    let mut res = Response::new(scripted.boxed());
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/event-stream"),
    );
    res.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    res
}

/// The emulator's count of a Messages request's input tokens: one per four bytes of its
/// `system`, `messages` and `tools` as JSON, at least one.
pub fn emulated_input_tokens(request: &Value) -> u64 {
    let bytes: usize = ["system", "messages", "tools"]
        .iter()
        .filter_map(|k| request.get(*k))
        .map(|v| v.to_string().len())
        .sum();
    (bytes as u64).div_ceil(4).max(1)
}

/// `POST /anthropic/v1/messages/count_tokens`: checked like a Messages request (version
/// header, body, a Claude model it has, no `max_tokens` needed), answered
/// `{"input_tokens": N}` ([`emulated_input_tokens`]).
fn count_tokens(st: &State, req: &Asked<'_>) -> Response<Body> {
    let route = Route::Anthropic;
    if req.method != "POST" {
        return refuse(route, 405, INVALID, "Method not allowed");
    }
    if req.header("anthropic-version").map(str::trim) != Some(anthropic::ANTHROPIC_VERSION) {
        return refuse(
            route,
            400,
            INVALID,
            "anthropic-version: header is required (2023-06-01)",
        );
    }
    let Ok(body @ Value::Object(_)) = serde_json::from_slice::<Value>(req.body) else {
        return refuse(
            route,
            400,
            INVALID,
            "the request body must be a JSON object",
        );
    };
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    if !is_claude(model) {
        return refuse(
            route,
            400,
            INVALID,
            &format!("model `{model}` isn't supported on this route"),
        );
    }
    if !st.config.models.iter().any(|m| m == model) {
        return refuse(
            route,
            404,
            (
                "model_not_found",
                "invalid_request_error",
                "not_found_error",
            ),
            &format!("The model `{model}` does not exist or you do not have access to it."),
        );
    }
    respond(
        200,
        json!({"input_tokens": emulated_input_tokens(&body)}).to_string(),
        &[],
    )
}

/// Why the reasoning replayed in a Messages request is refused, as Anthropic refuses it: a
/// `thinking` block must come back with the signature given for that very text, and a
/// `redacted_thinking` block with the data given, byte for byte
/// ([`transcripts::anthropic_thinking`], [`transcripts::anthropic_redacted_thinking`]).
fn replayed_reasoning_refusal(body: &Value) -> Option<String> {
    let thinking: String = transcripts::anthropic_thinking("")
        .events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::ReasoningDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let messages = body.get("messages")?.as_array()?;
    for (i, message) in messages.iter().enumerate() {
        let Some(blocks) = message.get("content").and_then(Value::as_array) else {
            continue;
        };
        for (j, block) in blocks.iter().enumerate() {
            let field = |name: &str| block.get(name).and_then(Value::as_str);
            match field("type") {
                Some("thinking")
                    if field("signature") != Some(transcripts::THINKING_SIGNATURE)
                        || field("thinking") != Some(thinking.as_str()) =>
                {
                    return Some(format!(
                        "messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
                    ));
                }
                Some("redacted_thinking") if field("data") != Some(transcripts::REDACTED_DATA) => {
                    return Some(format!(
                        "messages.{i}.content.{j}: Invalid `data` in `redacted_thinking` block"
                    ));
                }
                _ => {}
            }
        }
    }
    None
}

/// Whether Mantle serves `model` on `route`: Claude only on the Anthropic route, GPT-5.x only
/// on `/openai/v1/responses`, gpt-oss on `/v1/responses` as well as chat completions, the other
/// models on chat completions only.
fn served_on(route: Route, model: &str) -> bool {
    let claude = is_claude(model);
    let gpt5 = is_gpt5(model);
    match route {
        Route::Anthropic => claude,
        Route::OpenaiResponses => gpt5,
        Route::OpenAi => !claude && !gpt5,
        Route::Responses => model.starts_with("openai.gpt-oss"),
    }
}

/// Why Anthropic refuses a Messages body with thinking on, in Anthropic's words: a forced
/// tool (`tool_choice` `any` or `tool`), a `temperature` other than 1, a `top_p` below 0.95,
/// or any `top_k`. `None` when thinking is off or the body passes.
fn thinking_refusal(body: &Value) -> Option<&'static str> {
    let thinking = body.get("thinking")?;
    if thinking.get("type").and_then(Value::as_str) != Some("enabled") {
        return None;
    }
    let forced = body
        .get("tool_choice")
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t == "any" || t == "tool");
    if forced {
        return Some("Thinking may not be enabled when tool_choice forces tool use.");
    }
    if body
        .get("temperature")
        .and_then(Value::as_f64)
        .is_some_and(|t| t != 1.0)
    {
        return Some(
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility",
        );
    }
    if body
        .get("top_p")
        .and_then(Value::as_f64)
        .is_some_and(|p| p < 0.95)
    {
        return Some(
            "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility",
        );
    }
    if body.get("top_k").is_some_and(|k| !k.is_null()) {
        return Some(
            "`top_k` must be unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility",
        );
    }
    None
}

/// The transcript that answers a chat request on `route` when no script is set, chosen from
/// its JSON body (`model` is the request's, or empty):
///
/// - tools present (a non-empty `tools` array): the tool-call transcript
///   ([`transcripts::openai_tool_calls`], [`transcripts::anthropic_tool_use`],
///   [`transcripts::responses_tool_calls`]), unless the conversation ends with tool results on
///   an OpenAI-shaped route (a `tool` message, a `function_call_output` item);
/// - else, on the OpenAI route, a reasoning model by its id
///   ([`mantle_provider::discovery::infer_reasoning`]): [`transcripts::openai_reasoning`];
///   on the Anthropic route, `thinking.type` `enabled` (or `adaptive`):
///   [`transcripts::anthropic_thinking`]; on the Responses routes, reasoning summaries for
///   GPT-5.x ([`transcripts::responses_reasoning`]) and reasoning text for other reasoning
///   models ([`transcripts::responses_reasoning_text`]);
/// - else the text transcript ([`transcripts::openai_text`], [`transcripts::anthropic_text`]).
pub fn default_transcript(route: Route, request: &Value) -> transcripts::Transcript {
    let model = request.get("model").and_then(Value::as_str).unwrap_or("");
    // A conversation that ends with tool results on an OpenAI-shaped route is answered in
    // text, as a model does once it has what it asked for.
    let last_of = |key: &str| {
        request
            .get(key)
            .and_then(Value::as_array)
            .and_then(|items| items.last())
            .cloned()
    };
    let answered = match route {
        Route::OpenAi => last_of("messages").is_some_and(|m| m["role"] == "tool"),
        Route::Responses | Route::OpenaiResponses => {
            last_of("input").is_some_and(|i| i["type"] == "function_call_output")
        }
        Route::Anthropic => false,
    };
    let tools = !answered
        && request
            .get("tools")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty());
    let thinking = matches!(
        request
            .get("thinking")
            .and_then(|t| t.get("type"))
            .and_then(Value::as_str),
        Some("enabled" | "adaptive")
    );
    match route {
        Route::OpenAi if tools => transcripts::openai_tool_calls(model),
        Route::OpenAi if infer_reasoning(model) => transcripts::openai_reasoning(model),
        Route::OpenAi => transcripts::openai_text(model),
        Route::Anthropic if tools => transcripts::anthropic_tool_use(model),
        Route::Anthropic if thinking => transcripts::anthropic_thinking(model),
        Route::Anthropic => transcripts::anthropic_text(model),
        Route::Responses | Route::OpenaiResponses if tools => {
            transcripts::responses_tool_calls(model)
        }
        Route::Responses | Route::OpenaiResponses if is_gpt5(model) => {
            transcripts::responses_reasoning(model)
        }
        Route::Responses | Route::OpenaiResponses if infer_reasoning(model) => {
            transcripts::responses_reasoning_text(model)
        }
        Route::Responses | Route::OpenaiResponses => transcripts::responses_text(model),
    }
}

// ---- Streaming: a body written in pieces, with delays and faults. ----

/// How long a cut body waits after its last piece before aborting, so hyper flushes that
/// piece first (it drops unflushed bytes when a body fails).
const CUT_GRACE: Duration = Duration::from_millis(25);

/// Where a body is split into writes.
#[derive(Debug, Clone, Copy)]
enum Split {
    /// One write.
    Whole,
    /// After every SSE event (a blank line), as a live upstream writes.
    Events,
    /// Every n bytes.
    Bytes(usize),
}

/// How a scripted body ends.
#[derive(Debug, Clone, Copy)]
enum End {
    /// The final empty chunk.
    Clean,
    /// An abort, after [`CUT_GRACE`].
    Cut,
    /// An abort, after a stall this long.
    Stall(Duration),
}

/// The offsets just after each empty line, which ends an SSE event (line ends `\n`, `\r\n`
/// or `\r`).
fn event_ends(body: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let (mut line_start, mut i) = (0, 0);
    while let Some(&byte) = body.get(i) {
        let len = match byte {
            b'\r' if body.get(i + 1) == Some(&b'\n') => 2,
            b'\r' | b'\n' => 1,
            _ => {
                i += 1;
                continue;
            }
        };
        if i == line_start {
            ends.push(i + len);
        }
        i += len;
        line_start = i;
    }
    ends
}

/// A response body written piece by piece, each piece one HTTP chunk, with a pause between
/// pieces; it ends cleanly or aborts the connection ([`StreamFault`]). It needs no task: the
/// pauses are timers polled by hyper's connection task.
struct Scripted {
    /// The writes still to make.
    pieces: VecDeque<Bytes>,
    /// The pause between two writes.
    delay: Duration,
    /// What happens after the last write.
    end: End,
    /// A write was made.
    started: bool,
    /// The pause before the next write is over.
    waited: bool,
    /// The next poll fails, aborting the connection.
    aborting: bool,
    /// Counts this body when it is dropped before its end.
    abandoned: Option<Arc<std::sync::atomic::AtomicUsize>>,
    /// The pause under way.
    timer: Option<Pin<Box<Sleep>>>,
}

impl Scripted {
    fn new(body: Bytes, split: Split, delay: Duration, fault: Option<StreamFault>) -> Scripted {
        let (limit, end) = match fault {
            None => (body.len(), End::Clean),
            Some(StreamFault::CutAfter(n)) => (n.min(body.len()), End::Cut),
            Some(StreamFault::StallAfter(n, stall)) => (n.min(body.len()), End::Stall(stall)),
        };
        let mut cuts: Vec<usize> = match split {
            Split::Whole => Vec::new(),
            Split::Events => event_ends(&body),
            Split::Bytes(n) => (1..=body.len()).step_by(n.max(1)).map(|i| i - 1).collect(),
        };
        cuts.retain(|&c| c > 0 && c < limit);
        cuts.push(limit);
        let mut pieces = VecDeque::with_capacity(cuts.len());
        let mut from = 0;
        for to in cuts {
            if to > from {
                pieces.push_back(body.slice(from..to));
                from = to;
            }
        }
        Scripted {
            pieces,
            delay,
            end,
            started: false,
            waited: false,
            aborting: false,
            abandoned: None,
            timer: None,
        }
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        if !self.pieces.is_empty()
            && !self.aborting
            && let Some(n) = &self.abandoned
        {
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl hyper::body::Body for Scripted {
    type Data = Bytes;
    type Error = StreamAborted;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamAborted>>> {
        let this = &mut *self;
        loop {
            if let Some(timer) = this.timer.as_mut() {
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.timer = None;
                this.waited = true;
            }
            if this.aborting {
                return Poll::Ready(Some(Err(StreamAborted)));
            }
            if this.pieces.is_empty() {
                let pause = match this.end {
                    End::Clean => return Poll::Ready(None),
                    End::Cut => CUT_GRACE,
                    End::Stall(stall) => stall,
                };
                this.aborting = true;
                this.timer = Some(Box::pin(tokio::time::sleep(pause)));
                continue;
            }
            if this.started && !this.delay.is_zero() && !this.waited {
                this.timer = Some(Box::pin(tokio::time::sleep(this.delay)));
                continue;
            }
            if let Some(piece) = this.pieces.pop_front() {
                this.started = true;
                this.waited = false;
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
        }
    }
}

// ---- Non-streaming answers, built from the same transcript. ----

/// The events of a whole SSE body and the error that ended it.
fn map_body<M: StreamMapper>(
    mut stream: EventStream<M>,
    sse: &str,
) -> (Vec<ChatEvent>, Option<mantle_provider::Error>) {
    let mut events = Vec::new();
    let error = stream
        .feed(sse.as_bytes(), &mut events)
        .and_then(|()| stream.end(&mut events))
        .err();
    (events, error)
}

/// A non-streaming answer (`stream` not true): the JSON object the route answers with,
/// holding what the SSE body says; an error in the body becomes an error status.
fn whole_answer(route: Route, model: &str, sse: &str) -> Response<Body> {
    let (events, error) = match route {
        Route::OpenAi => map_body(openai::event_stream(), sse),
        Route::Anthropic => map_body(anthropic::event_stream(), sse),
        Route::Responses | Route::OpenaiResponses => map_body(responses::event_stream(), sse),
    };
    if let Some(error) = error {
        let (status, words) = match &error {
            mantle_provider::Error::RateLimited { .. } => (
                429,
                (
                    "rate_limit_exceeded",
                    "rate_limit_error",
                    "rate_limit_error",
                ),
            ),
            mantle_provider::Error::UpstreamUnavailable {
                status: Some(529), ..
            } => (529, ("overloaded", "overloaded_error", "overloaded_error")),
            _ => (500, ("server_error", "server_error", "api_error")),
        };
        return refuse(route, status, words, error.message());
    }
    let whole = Whole::of(&events);
    let body = match route {
        Route::OpenAi => whole.openai(model),
        Route::Anthropic => whole.anthropic(model),
        Route::Responses | Route::OpenaiResponses => whole.responses(model),
    };
    respond(200, body.to_string(), &[])
}

/// A content block of a whole answer.
enum Block {
    Thinking(String, Option<String>),
    Redacted(String),
    Text(String),
    Tool(String, String, String),
}

/// A whole answer gathered from its events.
#[derive(Default)]
struct Whole {
    id: String,
    blocks: Vec<Block>,
    /// Block position of each tool call.
    tools: Vec<usize>,
    usage: Usage,
    stop: Option<StopReason>,
}

impl Whole {
    fn of(events: &[ChatEvent]) -> Whole {
        let mut whole = Whole::default();
        for event in events {
            let last = whole.blocks.last_mut();
            match (event, last) {
                (ChatEvent::MessageStart { id, .. }, _) => whole.id.clone_from(id),
                (ChatEvent::TextDelta(t), Some(Block::Text(text))) => text.push_str(t),
                (ChatEvent::TextDelta(t), _) => whole.blocks.push(Block::Text(t.clone())),
                (ChatEvent::ReasoningDelta(t), Some(Block::Thinking(text, None))) => {
                    text.push_str(t);
                }
                (ChatEvent::ReasoningDelta(t), _) => {
                    whole.blocks.push(Block::Thinking(t.clone(), None));
                }
                (ChatEvent::ReasoningSignature(s), Some(Block::Thinking(_, signature))) => {
                    *signature = Some(s.clone());
                }
                (ChatEvent::ReasoningSignature(s), _) => {
                    whole
                        .blocks
                        .push(Block::Thinking(String::new(), Some(s.clone())));
                }
                (ChatEvent::RedactedReasoning(d), _) => {
                    whole.blocks.push(Block::Redacted(d.clone()))
                }
                (ChatEvent::ToolCallStart { id, name, .. }, _) => {
                    whole.tools.push(whole.blocks.len());
                    whole
                        .blocks
                        .push(Block::Tool(id.clone(), name.clone(), String::new()));
                }
                (ChatEvent::ToolCallArguments { index, arguments }, _) => {
                    let at = usize::try_from(*index)
                        .ok()
                        .and_then(|i| whole.tools.get(i).copied());
                    if let Some(Block::Tool(_, _, args)) =
                        at.and_then(|at| whole.blocks.get_mut(at))
                    {
                        args.push_str(arguments);
                    }
                }
                (ChatEvent::Usage(usage), _) => whole.usage = *usage,
                (ChatEvent::Finish(reason), _) => whole.stop = Some(reason.clone()),
            }
        }
        whole
    }

    /// A `chat.completion` object.
    fn openai(&self, model: &str) -> Value {
        let mut content = String::new();
        let mut reasoning = String::new();
        let mut calls = Vec::new();
        for block in &self.blocks {
            match block {
                Block::Text(t) => content.push_str(t),
                Block::Thinking(t, _) => reasoning.push_str(t),
                Block::Redacted(_) => {}
                Block::Tool(id, name, args) => calls.push(json!({
                    "id": id, "type": "function", "function": {"name": name, "arguments": args}
                })),
            }
        }
        let mut message = serde_json::Map::new();
        message.insert("role".into(), "assistant".into());
        message.insert(
            "content".into(),
            if content.is_empty() && !calls.is_empty() {
                Value::Null
            } else {
                content.into()
            },
        );
        if !reasoning.is_empty() {
            message.insert("reasoning".into(), reasoning.into());
        }
        if !calls.is_empty() {
            message.insert("tool_calls".into(), calls.into());
        }
        let finish = match &self.stop {
            Some(StopReason::Length) => "length".to_owned(),
            Some(StopReason::ToolCalls) => "tool_calls".to_owned(),
            Some(StopReason::ContentFilter | StopReason::Refusal) => "content_filter".to_owned(),
            Some(StopReason::Other(other)) => other.clone(),
            Some(StopReason::Stop) | None => "stop".to_owned(),
        };
        let cached = self.usage.cache_read_tokens.unwrap_or(0);
        let prompt = self.usage.input_tokens + cached;
        let mut usage = json!({
            "prompt_tokens": prompt,
            "completion_tokens": self.usage.output_tokens,
            "total_tokens": prompt + self.usage.output_tokens,
        });
        if let (Some(cached), Value::Object(usage)) = (self.usage.cache_read_tokens, &mut usage) {
            usage.insert(
                "prompt_tokens_details".into(),
                json!({"cached_tokens": cached}),
            );
        }
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": 1_763_000_000,
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
            "usage": usage,
        })
    }

    /// A Responses `response` object.
    fn responses(&self, model: &str) -> Value {
        let mut output = Vec::new();
        for (n, block) in self.blocks.iter().enumerate() {
            output.push(match block {
                Block::Thinking(text, _) => json!({
                    "id": format!("rs_{n}"), "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": text}],
                }),
                Block::Redacted(data) => json!({
                    "id": format!("rs_{n}"), "type": "reasoning", "summary": [],
                    "encrypted_content": data,
                }),
                Block::Text(text) => json!({
                    "id": format!("msg_{n}"), "type": "message", "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }),
                Block::Tool(id, name, args) => json!({
                    "id": format!("fc_{n}"), "type": "function_call", "status": "completed",
                    "call_id": id, "name": name, "arguments": args,
                }),
            });
        }
        let (status, incomplete) = match &self.stop {
            Some(StopReason::Length) => ("incomplete", json!({"reason": "max_output_tokens"})),
            Some(StopReason::ContentFilter) => ("incomplete", json!({"reason": "content_filter"})),
            _ => ("completed", Value::Null),
        };
        let cached = self.usage.cache_read_tokens.unwrap_or(0);
        let input = self.usage.input_tokens + cached;
        json!({
            "id": self.id,
            "object": "response",
            "created_at": 1_763_000_000,
            "status": status,
            "error": null,
            "incomplete_details": incomplete,
            "model": model,
            "output": output,
            "store": false,
            "usage": {
                "input_tokens": input,
                "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": self.usage.output_tokens,
                "output_tokens_details": {"reasoning_tokens": self.usage.reasoning_tokens.unwrap_or(0)},
                "total_tokens": input + self.usage.output_tokens,
            },
        })
    }

    /// A Messages `message` object.
    fn anthropic(&self, model: &str) -> Value {
        let content: Vec<Value> = self
            .blocks
            .iter()
            .map(|block| match block {
                Block::Thinking(text, signature) => json!({
                    "type": "thinking", "thinking": text, "signature": signature.clone().unwrap_or_default()
                }),
                Block::Redacted(data) => json!({"type": "redacted_thinking", "data": data}),
                Block::Text(text) => json!({"type": "text", "text": text}),
                Block::Tool(id, name, args) => json!({
                    "type": "tool_use", "id": id, "name": name,
                    "input": serde_json::from_str::<Value>(args).unwrap_or_else(|_| json!({})),
                }),
            })
            .collect();
        let stop = match &self.stop {
            Some(StopReason::Length) => "max_tokens".to_owned(),
            Some(StopReason::ToolCalls) => "tool_use".to_owned(),
            Some(StopReason::ContentFilter | StopReason::Refusal) => "refusal".to_owned(),
            Some(StopReason::Other(other)) => other.clone(),
            Some(StopReason::Stop) | None => "end_turn".to_owned(),
        };
        let mut usage = serde_json::Map::new();
        usage.insert("input_tokens".into(), self.usage.input_tokens.into());
        if let Some(n) = self.usage.cache_write_tokens {
            usage.insert("cache_creation_input_tokens".into(), n.into());
        }
        if let Some(n) = self.usage.cache_read_tokens {
            usage.insert("cache_read_input_tokens".into(), n.into());
        }
        usage.insert("output_tokens".into(), self.usage.output_tokens.into());
        json!({
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": null,
            "usage": usage,
        })
    }
}

/// A minimal HTTP/1 client for tests and tools: one request on a fresh connection to
/// `addr`, the whole response body read.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<(u16, Vec<(String, String)>, Bytes)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = sender.send_request(req.body(Full::new(body))?).await?;
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, headers, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mantle_provider::Error;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const STATIC_KEY: &str = "static-test-key";
    const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const BEARER: &str = "Bearer static-test-key";

    async fn emulator() -> Emulator {
        Emulator::start(EmulatorConfig {
            static_keys: vec![STATIC_KEY.into()],
            credentials: vec![(ACCESS_KEY.into(), SECRET.into())],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap()
    }

    fn minted() -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let credentials = token::Credentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET.into(),
            session_token: None,
            expiration: None,
        };
        token::mint(&credentials, "us-east-1", 900, now)
            .unwrap()
            .token
    }

    fn openai_body(model: &str) -> Value {
        json!({
            "model": model,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    }

    fn anthropic_body(model: &str) -> Value {
        json!({
            "model": model,
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "stream": true,
        })
    }

    fn with(mut body: Value, key: &str, value: Value) -> Value {
        if let Value::Object(fields) = &mut body {
            fields.insert(key.into(), value);
        }
        body
    }

    fn tools() -> Value {
        json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}])
    }

    /// `POST route` with `auth` (an `Authorization` value), the Anthropic version header on
    /// that route, and `body`.
    async fn post(
        emu: &Emulator,
        route: Route,
        auth: &str,
        body: &Value,
    ) -> (u16, Vec<(String, String)>, Bytes) {
        let mut headers = vec![
            ("authorization", auth),
            ("content-type", "application/json"),
        ];
        if route == Route::Anthropic {
            headers.push(("anthropic-version", "2023-06-01"));
        }
        http_request(
            emu.addr(),
            "POST",
            route.path(),
            &headers,
            Bytes::from(body.to_string()),
        )
        .await
        .unwrap()
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// What the route's mapper makes of a whole body.
    fn mapped(route: Route, body: &[u8]) -> (Vec<ChatEvent>, Option<Error>) {
        let sse = String::from_utf8(body.to_vec()).unwrap();
        match route {
            Route::OpenAi => map_body(openai::event_stream(), &sse),
            Route::Anthropic => map_body(anthropic::event_stream(), &sse),
            Route::Responses | Route::OpenaiResponses => map_body(responses::event_stream(), &sse),
        }
    }

    fn responses_body(model: &str) -> Value {
        json!({
            "model": model,
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
            "store": false,
            "stream": true,
        })
    }

    fn json_of(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    #[tokio::test]
    async fn each_route_answers_its_default_transcript() {
        let emu = emulator().await;
        let token = format!("Bearer {}", minted());
        let cases = [
            (
                Route::OpenAi,
                openai_body("deepseek.v3.2"),
                transcripts::openai_text("deepseek.v3.2"),
            ),
            (
                Route::OpenAi,
                openai_body("moonshotai.kimi-k2-thinking"),
                transcripts::openai_reasoning("moonshotai.kimi-k2-thinking"),
            ),
            (
                Route::OpenAi,
                with(openai_body("openai.gpt-oss-20b"), "tools", tools()),
                transcripts::openai_tool_calls("openai.gpt-oss-20b"),
            ),
            (
                Route::Anthropic,
                anthropic_body("claude-opus-4.7"),
                transcripts::anthropic_text("claude-opus-4.7"),
            ),
            (
                Route::Anthropic,
                with(
                    anthropic_body("claude-opus-4.7"),
                    "thinking",
                    json!({"type": "enabled", "budget_tokens": 2048}),
                ),
                transcripts::anthropic_thinking("claude-opus-4.7"),
            ),
            (
                Route::Anthropic,
                with(anthropic_body("claude-opus-4.7"), "tools", tools()),
                transcripts::anthropic_tool_use("claude-opus-4.7"),
            ),
            (
                Route::OpenaiResponses,
                responses_body("openai.gpt-5.4"),
                transcripts::responses_reasoning("openai.gpt-5.4"),
            ),
            (
                Route::OpenaiResponses,
                with(responses_body("openai.gpt-5.4"), "tools", tools()),
                transcripts::responses_tool_calls("openai.gpt-5.4"),
            ),
            (
                Route::Responses,
                responses_body("openai.gpt-oss-120b"),
                transcripts::responses_reasoning_text("openai.gpt-oss-120b"),
            ),
            (
                Route::Responses,
                responses_body("openai.gpt-oss-20b"),
                transcripts::responses_text("openai.gpt-oss-20b"),
            ),
        ];
        for (route, body, transcript) in cases {
            for auth in [BEARER, token.as_str()] {
                let (status, headers, got) = post(&emu, route, auth, &body).await;
                assert_eq!(status, 200, "{}: {got:?}", transcript.name);
                assert_eq!(header(&headers, "content-type"), Some("text/event-stream"));
                assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
                assert_eq!(header(&headers, "transfer-encoding"), Some("chunked"));
                assert_eq!(got, transcript.body.as_bytes(), "{}", transcript.name);
                assert_eq!(
                    mapped(route, &got),
                    (transcript.events.clone(), None),
                    "{}",
                    transcript.name
                );
                assert_eq!(default_transcript(route, &body), transcript);
            }
        }
    }

    #[tokio::test]
    async fn the_record_of_requests_keeps_the_latest_and_stays_bounded() {
        use http_body_util::{BodyExt, Full};
        let emu = emulator().await;
        let tcp = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(conn);
        let total = SEEN_MAX_REQUESTS + 25;
        for i in 0..total {
            let request = hyper::Request::get(format!("/v1/models?n={i}"))
                .header("host", "emulator")
                .body(Full::new(Bytes::new()))
                .unwrap();
            sender.ready().await.unwrap();
            let answer = sender.send_request(request).await.unwrap();
            answer.into_body().collect().await.unwrap();
        }
        let seen = emu.requests();
        assert_eq!(seen.len(), SEEN_MAX_REQUESTS);
        assert_eq!(seen[0].path, "/v1/models?n=25");
        assert_eq!(
            seen.last().unwrap().path,
            format!("/v1/models?n={}", total - 1)
        );
    }

    #[tokio::test]
    async fn chat_requests_are_recorded_with_their_body_and_headers() {
        let emu = emulator().await;
        let body = with(
            anthropic_body("claude-opus-4.7"),
            "thinking",
            json!({"type": "enabled", "budget_tokens": 2048}),
        );
        post(&emu, Route::Anthropic, BEARER, &body).await;
        post(&emu, Route::OpenAi, BEARER, &openai_body("deepseek.v3.2")).await;
        assert_eq!(emu.count("/anthropic/v1/messages"), 1);
        assert_eq!(emu.count("/v1/chat/completions"), 1);
        let seen = emu.requests();
        let messages = &seen[0];
        assert_eq!(messages.method, "POST");
        assert_eq!(messages.status, 200);
        assert_eq!(messages.header("authorization"), Some(BEARER));
        assert_eq!(messages.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(
            messages.json().unwrap()["thinking"]["budget_tokens"],
            json!(2048)
        );
        assert_eq!(
            seen[1].json().unwrap()["stream_options"]["include_usage"],
            json!(true)
        );
    }

    #[tokio::test]
    async fn replayed_reasoning_must_come_back_as_it_was_given() {
        let emu = emulator().await;
        let given = json_of(
            &post(
                &emu,
                Route::Anthropic,
                BEARER,
                &with(
                    with(anthropic_body("claude-opus-4.7"), "stream", json!(false)),
                    "thinking",
                    json!({"type": "enabled", "budget_tokens": 2048}),
                ),
            )
            .await
            .2,
        );
        let thinking = given["content"][0].clone();
        assert_eq!(thinking["type"], "thinking");
        let replay = |block: Value| {
            with(
                anthropic_body("claude-opus-4.7"),
                "messages",
                json!([
                    {"role": "user", "content": "What is 27 * 453?"},
                    {"role": "assistant", "content": [block, {"type": "text", "text": "12231"}]},
                    {"role": "user", "content": "And doubled?"}
                ]),
            )
        };
        let (status, _, _) = post(&emu, Route::Anthropic, BEARER, &replay(thinking.clone())).await;
        assert_eq!(status, 200);
        let mut changed = thinking.clone();
        changed["signature"] = json!(format!("{}A", thinking["signature"].as_str().unwrap()));
        let mut rewritten = thinking.clone();
        rewritten["thinking"] = json!("Something else.");
        let redacted = json!({"type": "redacted_thinking", "data": "bm90IGdpdmVu"});
        for block in [changed, rewritten, redacted] {
            let (status, _, body) =
                post(&emu, Route::Anthropic, BEARER, &replay(block.clone())).await;
            assert_eq!(status, 400, "{block}");
            let body = json_of(&body);
            assert_eq!(body["error"]["type"], "invalid_request_error");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("messages.1.content.0: Invalid"),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn a_model_on_the_wrong_route_is_refused_in_the_route_shape() {
        let emu = emulator().await;
        let (status, _, body) =
            post(&emu, Route::OpenAi, BEARER, &openai_body("claude-opus-4.7")).await;
        assert_eq!(status, 400);
        assert_eq!(
            json_of(&body),
            json!({"error": {"code": "validation_error",
                "message": "model `claude-opus-4.7` isn't supported on this route",
                "param": null, "type": "invalid_request_error"}})
        );
        assert!(matches!(
            openai::classify_error(
                status,
                None,
                &body,
                &mantle_provider::secrets::Secrets::default()
            ),
            Error::WrongRoute(_)
        ));

        let (status, _, body) = post(
            &emu,
            Route::Anthropic,
            BEARER,
            &anthropic_body("openai.gpt-oss-120b"),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            json_of(&body),
            json!({"type": "error", "error": {"type": "invalid_request_error",
                "message": "model `openai.gpt-oss-120b` isn't supported on this route"}})
        );
        assert!(matches!(
            anthropic::classify_error(
                status,
                None,
                &body,
                &mantle_provider::secrets::Secrets::default()
            ),
            Error::WrongRoute(_)
        ));
    }

    #[tokio::test]
    async fn the_responses_routes_refuse_models_served_elsewhere() {
        let emu = emulator().await;
        let refusals = [
            // GPT-5.x only on /openai/v1/responses.
            (
                Route::OpenAi,
                openai_body("openai.gpt-5.4"),
                "openai.gpt-5.4",
            ),
            (
                Route::Responses,
                responses_body("openai.gpt-5.4"),
                "openai.gpt-5.4",
            ),
            // Chat-only and gpt-oss models not on OpenAI's own base.
            (
                Route::OpenaiResponses,
                responses_body("openai.gpt-oss-120b"),
                "openai.gpt-oss-120b",
            ),
            (
                Route::OpenaiResponses,
                responses_body("deepseek.v3.2"),
                "deepseek.v3.2",
            ),
            (
                Route::Responses,
                responses_body("deepseek.v3.2"),
                "deepseek.v3.2",
            ),
            (
                Route::Responses,
                responses_body("claude-opus-4.7"),
                "claude-opus-4.7",
            ),
        ];
        for (route, body, model) in refusals {
            let (status, _, answer) = post(&emu, route, BEARER, &body).await;
            assert_eq!(status, 400, "{model} on {}", route.path());
            assert_eq!(
                json_of(&answer),
                json!({"error": {"code": "validation_error",
                    "message": format!("model `{model}` isn't supported on this route"),
                    "param": null, "type": "invalid_request_error"}})
            );
            assert!(matches!(
                responses::classify_error(
                    status,
                    None,
                    &answer,
                    &mantle_provider::secrets::Secrets::default()
                ),
                Error::WrongRoute(_)
            ));
        }
        let no_input = json!({"model": "openai.gpt-5.4", "stream": true});
        let (status, _, answer) = post(&emu, Route::OpenaiResponses, BEARER, &no_input).await;
        assert_eq!(status, 400);
        assert!(String::from_utf8_lossy(&answer).contains("input"));
        // Not streamed: one response object.
        let mut whole = responses_body("openai.gpt-5.4");
        whole["stream"] = json!(false);
        let (status, _, answer) = post(&emu, Route::OpenaiResponses, BEARER, &whole).await;
        assert_eq!(status, 200);
        let answer = json_of(&answer);
        assert_eq!(answer["object"], "response");
        assert_eq!(answer["status"], "completed");
        assert_eq!(
            answer["output"][1]["content"][0]["text"],
            "Hi! How can I help?"
        );
        assert_eq!(
            answer["usage"]["output_tokens_details"]["reasoning_tokens"],
            18
        );
    }

    #[tokio::test]
    async fn anthropic_ids_are_served_on_the_anthropic_route_only() {
        let emu = Emulator::start(EmulatorConfig {
            static_keys: vec![BEARER["Bearer ".len()..].to_owned()],
            models: vec!["anthropic.claude-mythos-preview".to_owned()],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        let id = "anthropic.claude-mythos-preview";
        let (status, _, body) = post(&emu, Route::OpenAi, BEARER, &openai_body(id)).await;
        assert_eq!(status, 400, "{body:?}");
        assert!(
            String::from_utf8_lossy(&body).contains("isn't supported on this route"),
            "{body:?}"
        );
        let (status, _, body) = post(&emu, Route::Anthropic, BEARER, &anthropic_body(id)).await;
        assert_eq!(status, 200, "{body:?}");
    }

    #[tokio::test]
    async fn the_anthropic_route_refuses_what_thinking_forbids_as_anthropic_does() {
        let emu = emulator().await;
        let thinking = |body: Value| {
            with(
                with(body, "max_tokens", json!(4096)),
                "thinking",
                json!({"type": "enabled", "budget_tokens": 2048}),
            )
        };
        let base = thinking(anthropic_body("claude-opus-4.7"));
        for (key, value, words) in [
            (
                "temperature",
                json!(0.5),
                "`temperature` may only be set to 1",
            ),
            (
                "top_p",
                json!(0.9),
                "`top_p` must be greater than or equal to 0.95",
            ),
            ("top_k", json!(5), "`top_k` must be unset"),
            (
                "tool_choice",
                json!({"type": "any"}),
                "Thinking may not be enabled when tool_choice forces tool use.",
            ),
            (
                "tool_choice",
                json!({"type": "tool", "name": "get_weather"}),
                "Thinking may not be enabled when tool_choice forces tool use.",
            ),
        ] {
            let (status, _, body) = post(
                &emu,
                Route::Anthropic,
                BEARER,
                &with(base.clone(), key, value),
            )
            .await;
            assert_eq!(status, 400, "{key}");
            let body = json_of(&body);
            assert_eq!(body["error"]["type"], "invalid_request_error", "{key}");
            assert!(
                body["error"]["message"].as_str().unwrap().contains(words),
                "{key}: {body}"
            );
        }
        for (key, value) in [
            ("temperature", json!(1)),
            ("top_p", json!(0.95)),
            ("tool_choice", json!({"type": "auto"})),
        ] {
            let (status, _, _) = post(
                &emu,
                Route::Anthropic,
                BEARER,
                &with(base.clone(), key, value),
            )
            .await;
            assert_eq!(status, 200, "{key}");
        }
        // Without thinking the same values pass.
        let (status, _, _) = post(
            &emu,
            Route::Anthropic,
            BEARER,
            &with(anthropic_body("claude-opus-4.7"), "temperature", json!(0.5)),
        )
        .await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn the_anthropic_route_needs_its_version_header_and_a_bearer_token() {
        let emu = emulator().await;
        let body = Bytes::from(anthropic_body("claude-opus-4.7").to_string());
        let path = Route::Anthropic.path();
        for version in [None, Some("2024-01-01")] {
            let mut headers = vec![("authorization", BEARER)];
            headers.extend(version.map(|v| ("anthropic-version", v)));
            let (status, _, answer) =
                http_request(emu.addr(), "POST", path, &headers, body.clone())
                    .await
                    .unwrap();
            assert_eq!(status, 400, "{version:?}");
            let answer = json_of(&answer);
            assert_eq!(answer["type"], "error");
            assert_eq!(answer["error"]["type"], "invalid_request_error");
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("anthropic-version"),
                "{answer}"
            );
        }
        // x-api-key is not Mantle's scheme, on this route too.
        let (status, _, _) = http_request(
            emu.addr(),
            "POST",
            path,
            &[
                ("x-api-key", STATIC_KEY),
                ("anthropic-version", "2023-06-01"),
            ],
            body.clone(),
        )
        .await
        .unwrap();
        assert_eq!(status, 401);
        let (status, _, _) = post(
            &emu,
            Route::OpenAi,
            "Bearer wrong-key",
            &openai_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!(status, 401);
    }

    #[tokio::test]
    async fn bad_bodies_unknown_models_and_methods_are_refused() {
        let emu = emulator().await;
        let path = Route::OpenAi.path();
        let (status, _, body) = http_request(
            emu.addr(),
            "POST",
            path,
            &[("authorization", BEARER)],
            Bytes::from_static(b"{not json"),
        )
        .await
        .unwrap();
        assert_eq!(status, 400);
        assert_eq!(json_of(&body)["error"]["type"], "invalid_request_error");
        let (status, _, _) = post(&emu, Route::OpenAi, BEARER, &json!({"messages": []})).await;
        assert_eq!(status, 400);
        let no_max = json!({"model": "claude-opus-4.7", "messages": [], "stream": true});
        let (status, _, body) = post(&emu, Route::Anthropic, BEARER, &no_max).await;
        assert_eq!(status, 400);
        assert_eq!(json_of(&body)["type"], "error");

        let (status, _, body) =
            post(&emu, Route::OpenAi, BEARER, &openai_body("nobody.model")).await;
        assert_eq!(status, 404);
        assert_eq!(json_of(&body)["error"]["code"], "model_not_found");
        emu.set_models(&["deepseek.v3.2"]);
        let (status, _, body) = post(
            &emu,
            Route::Anthropic,
            BEARER,
            &anthropic_body("claude-opus-4.7"),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(json_of(&body)["error"]["type"], "not_found_error");

        let (status, _, _) = http_request(
            emu.addr(),
            "GET",
            path,
            &[("authorization", BEARER)],
            Bytes::new(),
        )
        .await
        .unwrap();
        assert_eq!(status, 405);
    }

    #[tokio::test]
    async fn a_request_without_stream_gets_one_json_answer() {
        let emu = emulator().await;
        let body = with(
            with(openai_body("openai.gpt-oss-120b"), "stream", json!(false)),
            "tools",
            tools(),
        );
        let (status, headers, answer) = post(&emu, Route::OpenAi, BEARER, &body).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        let answer = json_of(&answer);
        assert_eq!(answer["object"], "chat.completion");
        assert_eq!(answer["model"], "openai.gpt-oss-120b");
        assert_eq!(answer["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(
            answer["choices"][0]["message"]["tool_calls"][1]["function"]["arguments"],
            "{\"tz\":\"Europe/Paris\"}"
        );
        assert_eq!(answer["usage"]["total_tokens"], 161);

        let body = with(
            with(anthropic_body("claude-opus-4.7"), "stream", json!(false)),
            "thinking",
            json!({"type": "enabled", "budget_tokens": 1024}),
        );
        let (status, _, answer) = post(&emu, Route::Anthropic, BEARER, &body).await;
        assert_eq!(status, 200);
        let answer = json_of(&answer);
        assert_eq!(answer["type"], "message");
        assert_eq!(answer["content"][0]["type"], "thinking");
        assert_eq!(
            answer["content"][0]["signature"],
            transcripts::THINKING_SIGNATURE
        );
        assert_eq!(answer["content"][1]["text"], "27 * 453 = 12,231");
        assert_eq!(answer["stop_reason"], "end_turn");

        emu.set_script(Script::new(
            transcripts::anthropic_error("claude-opus-4.7").body,
        ));
        let (status, _, answer) = post(&emu, Route::Anthropic, BEARER, &body).await;
        assert_eq!(status, 529);
        assert_eq!(json_of(&answer)["error"]["type"], "overloaded_error");
    }

    #[tokio::test]
    async fn status_faults_apply_to_the_chat_routes() {
        let emu = emulator().await;
        emu.inject(
            Fault::openai(
                429,
                "rate_limit_exceeded",
                "rate_limit_error",
                "Too many tokens, please wait before trying again.",
            )
            .with_header("retry-after", "3")
            .times(1),
        );
        let (status, headers, body) =
            post(&emu, Route::OpenAi, BEARER, &openai_body("deepseek.v3.2")).await;
        assert_eq!(status, 429);
        assert!(matches!(
            openai::classify_error(
                status,
                header(&headers, "retry-after"),
                &body,
                &mantle_provider::secrets::Secrets::default()
            ),
            Error::RateLimited {
                retry_after: Some(3),
                ..
            }
        ));
        // Used up: the next request streams.
        let (status, _, _) = post(&emu, Route::OpenAi, BEARER, &openai_body("deepseek.v3.2")).await;
        assert_eq!(status, 200);

        emu.inject(Fault::anthropic(529, "overloaded_error", "Overloaded"));
        let (status, _, body) = post(
            &emu,
            Route::Anthropic,
            BEARER,
            &anthropic_body("claude-opus-4.7"),
        )
        .await;
        assert_eq!(status, 529);
        assert!(matches!(
            anthropic::classify_error(
                status,
                None,
                &body,
                &mantle_provider::secrets::Secrets::default()
            ),
            Error::UpstreamUnavailable {
                status: Some(529),
                ..
            }
        ));

        emu.inject(Fault::openai(
            400,
            "context_length_exceeded",
            "invalid_request_error",
            "This model's maximum context length is 32000 tokens.",
        ));
        let (status, _, body) =
            post(&emu, Route::OpenAi, BEARER, &openai_body("deepseek.v3.2")).await;
        assert_eq!(status, 400);
        assert!(matches!(
            openai::classify_error(
                status,
                None,
                &body,
                &mantle_provider::secrets::Secrets::default()
            ),
            Error::ContextOverflow(_)
        ));
        // Authentication still comes first.
        let (status, _, _) = post(
            &emu,
            Route::OpenAi,
            "Bearer nope",
            &openai_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!(status, 401);
        emu.clear_fault();
        let (status, _, _) = post(&emu, Route::OpenAi, BEARER, &openai_body("deepseek.v3.2")).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn a_script_answers_until_used_up() {
        let emu = emulator().await;
        let error = transcripts::openai_error("deepseek.v3.2");
        emu.set_script(Script::from(error.clone()).times(1));
        let (status, _, body) =
            post(&emu, Route::OpenAi, BEARER, &openai_body("deepseek.v3.2")).await;
        assert_eq!(status, 200);
        assert_eq!(mapped(Route::OpenAi, &body), (error.events, error.error));
        let (_, _, body) = post(&emu, Route::OpenAi, BEARER, &openai_body("deepseek.v3.2")).await;
        assert_eq!(
            body,
            transcripts::openai_text("deepseek.v3.2").body.as_bytes()
        );

        // A refused request does not use the script up.
        emu.set_script(Script::new("data: x\n\n").times(1));
        let (status, _, _) =
            post(&emu, Route::OpenAi, BEARER, &openai_body("claude-opus-4.7")).await;
        assert_eq!(status, 400);
        let (_, _, body) = post(&emu, Route::OpenAi, BEARER, &openai_body("deepseek.v3.2")).await;
        assert_eq!(body, "data: x\n\n");
        emu.set_script(Script::new("data: y\n\n"));
        emu.clear_script();
        let (_, _, body) = post(&emu, Route::OpenAi, BEARER, &openai_body("deepseek.v3.2")).await;
        assert_eq!(
            body,
            transcripts::openai_text("deepseek.v3.2").body.as_bytes()
        );
    }

    // ---- Raw HTTP: chunk timing and faults as a client sees them. ----

    /// A raw HTTP/1.1 chat request that asks the server to close the connection afterwards.
    fn raw_request(body: &Value) -> Vec<u8> {
        let body = body.to_string();
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: emulator\r\nauthorization: {BEARER}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// Every read of a response, with when it arrived, until EOF (or `limit`).
    async fn reads(stream: &mut TcpStream, limit: Duration) -> Vec<(Instant, Vec<u8>)> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(limit, stream.read(&mut buf)).await {
                Ok(Ok(0)) | Err(_) => return out,
                Ok(Ok(n)) => out.push((Instant::now(), buf[..n].to_vec())),
                Ok(Err(e)) => panic!("read failed: {e}"),
            }
        }
    }

    /// A chunked response split into its head, its body, and whether the final empty chunk
    /// came.
    fn dechunk(raw: &[u8]) -> (String, Vec<u8>, bool) {
        let at = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("no end of head");
        let head = String::from_utf8_lossy(&raw[..at]).into_owned();
        let mut rest = &raw[at + 4..];
        let mut body = Vec::new();
        loop {
            let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
                return (head, body, false);
            };
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
            if size == 0 {
                return (head, body, rest[line_end + 2..].starts_with(b"\r\n"));
            }
            let data = &rest[line_end + 2..];
            if data.len() < size {
                body.extend_from_slice(data);
                return (head, body, false);
            }
            body.extend_from_slice(&data[..size]);
            rest = data.get(size + 2..).unwrap_or_default();
        }
    }

    async fn connect(emu: &Emulator) -> TcpStream {
        let mut stream = TcpStream::connect(emu.addr()).await.unwrap();
        stream
            .write_all(&raw_request(&openai_body("deepseek.v3.2")))
            .await
            .unwrap();
        stream
    }

    #[tokio::test]
    async fn one_byte_chunks_arrive_one_by_one_with_the_delay_between() {
        let emu = emulator().await;
        let sse = "data: héllo\n\n";
        let delay = Duration::from_millis(40);
        emu.set_script(Script::new(sse).chunked(1).with_delay(delay));
        let mut stream = connect(&emu).await;
        let reads = reads(&mut stream, Duration::from_secs(5)).await;
        let raw: Vec<u8> = reads.iter().flat_map(|(_, r)| r.clone()).collect();
        let (head, body, complete) = dechunk(&raw);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        assert_eq!(body, sse.as_bytes());
        assert!(complete);
        // One chunk of one byte per write: `1\r\nX\r\n`, even inside the UTF-8 sequence.
        assert_eq!(
            raw.windows(5).filter(|w| w.starts_with(b"1\r\n")).count(),
            sse.len()
        );
        // Each write is a read of its own, `delay` after the previous one.
        assert!(reads.len() >= sse.len(), "{} reads", reads.len());
        let gaps: Vec<Duration> = reads
            .windows(2)
            .map(|w| w[1].0.duration_since(w[0].0))
            .collect();
        let long = gaps.iter().filter(|g| **g >= delay * 3 / 4).count();
        assert!(long >= sse.len() - 1, "gaps {gaps:?}");
        let total = reads.last().unwrap().0.duration_since(reads[0].0);
        assert!(total >= delay * (sse.len() as u32 - 1), "{total:?}");
    }

    #[test]
    fn default_transcripts_are_written_event_by_event() {
        let body = Scripted::new(
            Bytes::from(transcripts::anthropic_text("claude-opus-4.7").body),
            Split::Events,
            Duration::ZERO,
            None,
        );
        assert_eq!(body.pieces.len(), 8);
        assert!(body.pieces.iter().all(|p| p.ends_with(b"\n\n")));
        let crlf = Scripted::new(
            Bytes::from_static(b"data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: d"),
            Split::Events,
            Duration::ZERO,
            None,
        );
        assert_eq!(
            crlf.pieces,
            [
                &b"data: a\r\n\r\n"[..],
                b"data: b\r\r",
                b"data: c\n\n",
                b"data: d"
            ]
        );
    }

    #[tokio::test]
    async fn cut_after_leaves_an_incomplete_chunked_body() {
        let emu = emulator().await;
        let transcript = transcripts::openai_text("deepseek.v3.2");
        let n = 100;
        for chunk in [None, Some(7)] {
            let mut script =
                Script::new(transcript.body.clone()).with_fault(StreamFault::CutAfter(n));
            script.chunk_size = chunk;
            emu.set_script(script);
            let mut stream = connect(&emu).await;
            let raw: Vec<u8> = reads(&mut stream, Duration::from_secs(5))
                .await
                .into_iter()
                .flat_map(|(_, r)| r)
                .collect();
            let (head, body, complete) = dechunk(&raw);
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            assert_eq!(body, &transcript.body.as_bytes()[..n], "{chunk:?}");
            assert!(!complete, "{chunk:?}");
        }
        // A hyper client sees an error, not a short body.
        let request = http_request(
            emu.addr(),
            "POST",
            Route::OpenAi.path(),
            &[("authorization", BEARER)],
            Bytes::from(openai_body("deepseek.v3.2").to_string()),
        )
        .await;
        assert!(request.is_err(), "{request:?}");
        // And the provider's stream reports it truncated.
        let mut stream = openai::event_stream();
        let mut events = Vec::new();
        stream
            .feed(&transcript.body.as_bytes()[..n], &mut events)
            .unwrap();
        assert!(matches!(stream.end(&mut events), Err(Error::Truncated(_))));
    }

    #[tokio::test]
    async fn stall_after_stops_sending_and_keeps_the_connection_open() {
        let emu = emulator().await;
        let transcript = transcripts::anthropic_text("claude-opus-4.7");
        let n = 250;
        let stall = Duration::from_millis(600);
        emu.set_script(
            Script::new(transcript.body.clone())
                .chunked(50)
                .with_fault(StreamFault::StallAfter(n, stall)),
        );
        let started = Instant::now();
        let mut stream = connect(&emu).await;
        // Everything up to the stall comes at once...
        let first = reads(&mut stream, Duration::from_millis(300)).await;
        let raw: Vec<u8> = first.iter().flat_map(|(_, r)| r.clone()).collect();
        let (_, body, complete) = dechunk(&raw);
        assert_eq!(body, &transcript.body.as_bytes()[..n]);
        assert!(!complete);
        // ...then nothing, while the connection stays open, until it is closed.
        let rest = reads(&mut stream, Duration::from_secs(5)).await;
        let elapsed = started.elapsed();
        assert!(elapsed >= stall, "{elapsed:?}");
        let raw: Vec<u8> = raw
            .into_iter()
            .chain(rest.into_iter().flat_map(|(_, r)| r))
            .collect();
        let (_, body, complete) = dechunk(&raw);
        assert_eq!(body.len(), n);
        assert!(!complete);
    }
}
