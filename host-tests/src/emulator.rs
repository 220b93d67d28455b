//! A local Mantle emulator: a real HTTP server on loopback that behaves as
//! `bedrock-mantle.{region}.api.aws` was captured behaving, errors included. It shares no code
//! with the provider it tests: its route table is data (`host-tests/emulator/models.json5`,
//! [`table`]), it checks tokens with `aws-sigv4` ([`crate::token_check`]), it writes its answers
//! in the captured shapes ([`answers`], [`captures`]) and answers errors with the captured
//! bodies ([`errors`], `fixtures/mantle/errors.json`).
//!
//! # Routes
//! `GET /v1/models` (and `/openai/v1/models`) lists the configured ids
//! ([`EmulatorConfig::models`]; [`EmulatorConfig::captured`] for a region's captured listing,
//! [`EmulatorConfig::everything_captured`] for the widest, which `mantle-host emulate` serves),
//! each `{"id","created","object":"model","owned_by":"system"}`. The chat APIs:
//! `POST /v1/chat/completions`, `/v1/responses`, `/openai/v1/chat/completions`,
//! `/openai/v1/responses`, `/anthropic/v1/messages` (`anthropic-version: 2023-06-01` or
//! `bedrock-2023-05-31`) and `/anthropic/v1/messages/count_tokens`. Each model is served
//! where the table says; elsewhere it answers as the table says: 400 "does not support the
//! 'PATH' API", 400 "isn't supported on this route", or 401 "Berm is not enabled for this
//! account". An id that is not listed, or that Mantle never serves (`claude-opus-4.7`,
//! `us.`/`global.` prefixes, `-v1:0` suffixes), is a 404 "The model 'X' does not exist" on
//! every route. On `/anthropic` every refusal after authentication is Anthropic-shaped.
//!
//! # Authentication
//! `Authorization: Bearer <key>` (and `x-api-key` on `/anthropic`): a configured static key,
//! or a token minted from a configured access key, checked as [`token_check::check`] does.
//! Otherwise 401: "Invalid bearer token" for a key that is not a minted token; "The security
//! token included in the request is invalid." for a malformed token, an unknown key, a wrong
//! signature or another region's token; "Signature expired: …" or "Signature not yet
//! current: …" for one out of its time ([`Emulator::set_now`], [`Emulator::set_clock`]).
//!
//! # Headers
//! Every answer, errors included, carries `x-amzn-requestid` and `x-request-id` with one
//! fresh id (`req_` + 52 lowercase base32 characters, also in [`SeenRequest::request_id`]),
//! and `x-amzn-usage-reservation-quota` ([`QUOTA_TOKENS_PER_MINUTE`]),
//! `x-amzn-usage-reservation-remaining-quota` (the quota minus the tokens reserved this
//! minute: each chat request reserves its prompt estimate plus its `max_tokens`) and
//! `x-amzn-usage-reservation-spillover` (`0`). No answer carries `retry-after` unless a
//! [`Fault`] adds it.
//!
//! # Natural triggers
//! Behaviours that need no fault injection, checked in this order after the route:
//! - **Image to a text-only model** (a prompt part of type `image_url`, `image` or
//!   `input_image` for a model whose table `input` lacks `image`): 400
//!   `{"error":{"code":"validation_error","message":"Model does not support image modality","param":null,"type":"invalid_request_error"}}`,
//!   before any streaming.
//! - **Context overflow**: the prompt estimate `N` ([`prompt`]: `ceil(bytes / 4)` of the text
//!   of the messages or input, system and instructions) against the model's `contextWindow`
//!   `M`:
//!   - on `/v1` (chat and Responses), vLLM's check `N + O > M`, `O` the request's
//!     `max_tokens` / `max_completion_tokens` / `max_output_tokens` (0 when absent): 400
//!     `validation_error` "This model's maximum context length is M tokens. However, you
//!     requested O output tokens and your prompt contains at least N input tokens, for a total
//!     of at least N+O tokens. Please reduce the length of the input prompt or the number of
//!     requested output tokens. (parameter=input_tokens, value=N)";
//!   - on `/openai/v1`, `N > M`: 400 `validation_error` "prompt tokens (N) exceed model
//!     maximum (M) for ID";
//!   - on `/anthropic`, `N > M`: 400
//!     `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: N tokens > M maximum"}}`.
//!
//!   [`Emulator::set_context_window`] widens a window for a test whose prompt no model takes.
//! - **Automatic prefix caching**: the emulator remembers, per model, every prefix (the first
//!   `k` prompt items) of every request it served. A request whose prompt, all but its last
//!   item, starts with a remembered prefix reports the longest such prefix's estimate, in
//!   whole blocks of [`prompt::CACHE_BLOCK`] (16) tokens, as cached:
//!   `usage.prompt_tokens_details.cached_tokens` (`{"audio_tokens":0,"cached_tokens":C}`),
//!   `usage.input_tokens_details.cached_tokens`, `usage.cache_read_input_tokens`; the answer's
//!   own prompt count stays beside it (`prompt_tokens` = its count + C on the OpenAI APIs,
//!   `input_tokens` = its count on the Anthropic route). Scripted answers are sent as they
//!   are.
//! - **Expired token**: 401 "Signature expired: 20250715T050000Z is now earlier than
//!   20250716T045500Z (20250716T050000Z - 5 min.)" (`X-Amz-Date`, then the emulator's clock
//!   less five minutes, then its clock).
//!
//! # Answers
//! A request that passes is answered with what [`answers::default_answer`] chooses from its
//! body, written in the API's captured shape, unless it is a captured question
//! ([`captures::replay`]: CHAT-1 and STREAM-2 come back byte for byte) or a [`Script`] is set:
//! a script answers streamed requests with any SSE body, cut into pieces of any size, with
//! delays between them, cut off or stalled part way ([`StreamFault`]). Requests with `stream`
//! not `true` always get the whole answer. Reasoning replayed on the Anthropic route must
//! come back as it was given (a `thinking` block with its signature), or it is refused as
//! Anthropic does.

pub mod answers;
pub mod captures;
pub mod errors;
pub mod prompt;
pub mod table;

use std::collections::{HashMap, HashSet, VecDeque};
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
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Sleep;

use crate::framing::{Framing, reframe};
use crate::runtime::Clock;
use crate::token_check;
use crate::transcripts;
use table::{Api, Elsewhere, Prefix, Table, Verdict};

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

/// Model ids served by default: Mantle's catalog ids, one or more of each prefix.
pub const DEFAULT_MODELS: [&str; 7] = [
    "deepseek.v3.2",
    "moonshotai.kimi-k2-thinking",
    "openai.gpt-5.4",
    "openai.gpt-oss-120b",
    "openai.gpt-oss-20b",
    "qwen.qwen3-coder-480b-a35b-instruct",
    "anthropic.claude-opus-4-7",
];

/// The quota `x-amzn-usage-reservation-quota` shows, tokens per minute.
pub const QUOTA_TOKENS_PER_MINUTE: u64 = 2_000_000;

/// Most prompt prefixes remembered for prefix caching; beyond, the memory starts afresh.
pub const PREFIXES_MAX: usize = 100_000;

/// The `anthropic-version` values the Anthropic route accepts.
const ANTHROPIC_VERSIONS: [&str; 2] = ["2023-06-01", "bedrock-2023-05-31"];

/// How the emulator is set up.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The region it pretends to serve; tokens of other regions are refused.
    pub region: String,
    /// Static bearer keys accepted as is.
    pub static_keys: Vec<String>,
    /// Access keys whose minted tokens are accepted.
    pub credentials: Vec<KnownKey>,
    /// Model ids listed by `GET /v1/models`; only these are served.
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

impl EmulatorConfig {
    /// A configuration for `region` listing what Mantle was captured listing there: the
    /// captured us-east-2 listing (38 models), and in us-east-1 the `/openai/v1` and
    /// Anthropic models after it.
    pub fn captured(region: &str) -> Result<EmulatorConfig> {
        Ok(EmulatorConfig {
            region: region.to_owned(),
            models: Table::get()?.listing(region),
            ..EmulatorConfig::default()
        })
    }

    /// What `mantle-host emulate` and `serve --emulate` serve: tokens of `region`, and the
    /// widest listing captured, us-east-1's (the captured us-east-2 listing, then the
    /// `/openai/v1` and Anthropic models), whatever the region. A newcomer then meets every
    /// family and prefix Mantle serves; no capture says which of them another region lacks.
    pub fn everything_captured(region: &str) -> Result<EmulatorConfig> {
        Ok(EmulatorConfig {
            region: region.to_owned(),
            models: Table::get()?.listing("us-east-1"),
            ..EmulatorConfig::default()
        })
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

    /// A captured error answer (`fixtures/mantle/errors.json`), e.g. [`errors::internal`].
    pub fn captured(answer: errors::Answer) -> Fault {
        Fault {
            status: answer.status,
            body: answer.body,
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

/// A scripted answer for streamed chat requests: a raw SSE body sent in pieces. It answers
/// every streamed chat request that passes validation (auth, headers, body, model), on any
/// route, whatever the body says (a test sets a body that fits the route it calls).
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
    /// How many streamed chat requests get it; `None` for every request until cleared.
    pub times: Option<usize>,
}

impl Script {
    /// `body` in one write, at once, for every streamed chat request.
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

    /// The same script, for the next `n` streamed chat requests only.
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
    /// The request id its answer carried (`x-amzn-requestid`, `x-request-id`).
    pub request_id: String,
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
    table: &'static Table,
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
    /// Streamed answers whose first piece went out.
    begun: Arc<std::sync::atomic::AtomicUsize>,
    /// Hashes of the prompt prefixes served ([`prompt::prefix_hashes`]).
    prefixes: HashSet<u64>,
    /// The minute (Unix seconds / 60) of `reserved`, and the tokens reserved in it.
    reserved: (u64, u64),
    /// Context windows set by tests, by model id, in place of the table's.
    windows: HashMap<String, u64>,
    /// How streamed answers are framed; `None`: as written.
    framing: Option<Framing>,
}

impl State {
    /// The emulator's clock, Unix seconds.
    fn now(&self) -> u64 {
        self.now_override.unwrap_or_else(|| match &self.clock {
            Some(clock) => clock.now().as_secs(),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        })
    }

    /// Reserves `tokens` of this minute's quota.
    fn reserve(&mut self, tokens: u64) {
        let minute = self.now() / 60;
        if self.reserved.0 != minute {
            self.reserved = (minute, 0);
        }
        self.reserved.1 = self.reserved.1.saturating_add(tokens);
    }

    /// What is left of this minute's quota.
    fn remaining_quota(&self) -> u64 {
        if self.reserved.0 == self.now() / 60 {
            QUOTA_TOKENS_PER_MINUTE.saturating_sub(self.reserved.1)
        } else {
            QUOTA_TOKENS_PER_MINUTE
        }
    }
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
        let table = Table::get()?;
        errors::captured()?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            config,
            table,
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
            begun: Arc::default(),
            prefixes: HashSet::new(),
            reserved: (0, 0),
            windows: HashMap::new(),
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

    /// Streamed answers (chat, streaming or not upstream) whose first piece has been handed
    /// to the connection: a test that must act while an answer is under way waits for this.
    pub fn streams_begun(&self) -> usize {
        self.state().begun.load(std::sync::atomic::Ordering::SeqCst)
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

    /// Forgets the prompt prefixes seen so far: no request reports cached tokens until a
    /// prefix repeats again.
    pub fn clear_prefix_cache(&self) {
        self.state().prefixes.clear();
    }

    /// Gives `model` a context window of `tokens` in place of the table's, for a test whose
    /// prompt is larger than a real model takes (a body at the gateway's size limit).
    pub fn set_context_window(&self, model: &str, tokens: u64) {
        self.state().windows.insert(model.to_owned(), tokens);
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

    /// Answers streamed chat requests with `script` until it is used up or cleared, instead
    /// of the default answers. Requests are still checked first (auth, an injected [`Fault`],
    /// `anthropic-version`, body, model, the natural triggers): only those that pass get the
    /// script.
    pub fn set_script(&self, script: Script) {
        self.state().script = Some(script);
    }

    /// Clears the script: chat requests get the default answers again.
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

/// Mantle's usual OpenAI-shaped error body, `{"error":{"code","message","param","type"}}`.
pub fn error_body(code: &str, kind: &str, message: &str) -> String {
    json!({"error": {"code": code, "message": message, "param": null, "type": kind}}).to_string()
}

/// An Anthropic-shaped error body, as the Messages route answers:
/// `{"type":"error","error":{"type":kind,"message":message}}`.
pub fn anthropic_error_body(kind: &str, message: &str) -> String {
    errors::anthropic_body(kind, message)
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

/// An error answer, Anthropic-shaped under `/anthropic`.
fn shaped(prefix: Prefix, answer: errors::Answer) -> errors::Answer {
    if prefix == Prefix::Anthropic {
        answer.anthropic()
    } else {
        answer
    }
}

/// The response of an error answer.
fn error_response(answer: errors::Answer) -> Response<Body> {
    respond(answer.status, answer.body, &[])
}

/// An error answer, Anthropic-shaped under `/anthropic`, as a response.
fn refuse(prefix: Prefix, answer: errors::Answer) -> Response<Body> {
    error_response(shaped(prefix, answer))
}

/// A 400 in the shape of `prefix` with a message of the emulator's own (a check no capture
/// shows the words of).
fn invalid_answer(prefix: Prefix, message: &str) -> errors::Answer {
    let body = if prefix == Prefix::Anthropic {
        anthropic_error_body("invalid_request_error", message)
    } else {
        error_body("validation_error", "invalid_request_error", message)
    };
    errors::Answer { status: 400, body }
}

/// [`invalid_answer`] as a response.
fn invalid(prefix: Prefix, message: &str) -> Response<Body> {
    error_response(invalid_answer(prefix, message))
}

/// The key a request presents: `Authorization: Bearer`, or `x-api-key` on `/anthropic`.
fn presented_key<'a>(req: &'a Asked<'_>) -> Option<&'a str> {
    if let Some(auth) = req.header("authorization") {
        return auth.strip_prefix("Bearer ").map(str::trim);
    }
    if req.path.starts_with("/anthropic/") {
        return req.header("x-api-key").map(str::trim);
    }
    None
}

/// Checks the request's key as Mantle does: `None` when it is accepted.
fn authenticate(state: &State, req: &Asked<'_>) -> Option<Response<Body>> {
    let refuse = |a: errors::Answer| Some(error_response(a));
    let Some(key) = presented_key(req).filter(|k| !k.is_empty()) else {
        return refuse(errors::invalid_bearer_token());
    };
    if state
        .config
        .static_keys
        .iter()
        .any(|k| bool::from(k.as_bytes().ct_eq(key.as_bytes())))
    {
        return None;
    }
    if !key.starts_with(token_check::PREFIX) {
        return refuse(errors::invalid_bearer_token());
    }
    match token_check::check(
        key,
        &state.config.credentials,
        &state.config.region,
        state.now(),
    ) {
        Ok(_) => None,
        Err(refusal) => refuse(errors::token_refused(&refusal.message())),
    }
}

fn models_body(table: &Table, models: &[String]) -> String {
    let data: Vec<Value> = models
        .iter()
        .map(|id| json!({"id": id, "created": table.created(id), "object": "model", "owned_by": "system"}))
        .collect();
    json!({"object": "list", "data": data}).to_string()
}

/// What [`answer`] needs of a request.
struct Asked<'a> {
    method: &'a str,
    path: &'a str,
    headers: &'a [(String, String)],
    body: &'a [u8],
}

impl Asked<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A fresh Mantle request id: `req_` + 52 lowercase base32 characters.
pub fn request_id() -> String {
    format!("req_{}", answers::fresh_base32(52))
}

/// Puts Mantle's headers on an answer: the request id twice, and the quota headers unless a
/// fault set them.
fn mantle_headers(res: &mut Response<Body>, request_id: &str, remaining: u64) {
    let headers = res.headers_mut();
    if let Ok(id) = hyper::header::HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id.clone());
        headers.insert("x-request-id", id);
    }
    for (name, value) in [
        ("x-amzn-usage-reservation-quota", QUOTA_TOKENS_PER_MINUTE),
        ("x-amzn-usage-reservation-remaining-quota", remaining),
        ("x-amzn-usage-reservation-spillover", 0),
    ] {
        if !headers.contains_key(name) {
            headers.insert(name, hyper::header::HeaderValue::from(value));
        }
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
    let request_id = request_id();

    let (response, latency) = {
        let mut st = lock(&state);
        let latency = st.latency;
        let asked = Asked {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            headers: &headers,
            body: &body,
        };
        let mut response = answer(&mut st, &asked);
        mantle_headers(&mut response, &request_id, st.remaining_quota());
        st.seen_bytes += body.len();
        st.seen.push_back(SeenRequest {
            method: parts.method.to_string(),
            path,
            headers,
            body,
            status: response.status().as_u16(),
            request_id,
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

/// The chat API a path names, under its prefix.
fn endpoint(path: &str) -> Option<(Prefix, Api)> {
    Some(match path {
        "/v1/chat/completions" => (Prefix::V1, Api::Chat),
        "/v1/responses" => (Prefix::V1, Api::Responses),
        "/openai/v1/chat/completions" => (Prefix::OpenAi, Api::Chat),
        "/openai/v1/responses" => (Prefix::OpenAi, Api::Responses),
        "/anthropic/v1/messages" => (Prefix::Anthropic, Api::Messages),
        _ => return None,
    })
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
    if let Some(refusal) = authenticate(st, req) {
        return refusal;
    }
    if let Some(fault) = take_counted(&mut st.fault) {
        return respond(fault.status, fault.body, &fault.headers);
    }
    match (req.method, req.path) {
        ("GET", "/v1/models" | "/openai/v1/models") => {
            let body = st
                .models_body
                .clone()
                .unwrap_or_else(|| models_body(st.table, &st.config.models));
            respond(200, body, &[])
        }
        (_, "/v1/models" | "/openai/v1/models") => respond(
            405,
            error_body(
                "method_not_allowed",
                "invalid_request_error",
                "Method not allowed",
            ),
            &[],
        ),
        (_, "/anthropic/v1/messages/count_tokens") => count_tokens(st, req),
        (method, path) => match endpoint(path) {
            Some((prefix, api)) => chat(st, prefix, api, req),
            None => respond(
                404,
                error_body(
                    "not_found",
                    "invalid_request_error",
                    &format!("Unknown request URL: {method} {path}"),
                ),
                &[],
            ),
        },
    }
}

/// Why a Messages request is refused for its `anthropic-version` header, if it is.
fn version_refusal(req: &Asked<'_>) -> Option<Response<Body>> {
    match req.header("anthropic-version").map(str::trim) {
        Some(v) if ANTHROPIC_VERSIONS.contains(&v) => None,
        Some(v) => Some(invalid(
            Prefix::Anthropic,
            &format!("anthropic-version: invalid version `{v}`, expected 2023-06-01"),
        )),
        None => Some(invalid(
            Prefix::Anthropic,
            "anthropic-version: header is required",
        )),
    }
}

/// The request's body as a JSON object, with its non-empty `model`; else the refusal: on the
/// OpenAI prefixes Mantle's captured "Failed to deserialize the JSON body into the target
/// type", on `/anthropic` Anthropic's words.
fn read_body(prefix: Prefix, api: Api, req: &Asked<'_>) -> Result<(Value, String), errors::Answer> {
    let refuse_as = |message: &str| {
        if prefix == Prefix::Anthropic {
            invalid_answer(prefix, message)
        } else {
            errors::not_deserialized()
        }
    };
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(body @ Value::Object(_)) => body,
        Ok(_) => return Err(refuse_as("the request body must be a JSON object")),
        Err(e) => {
            return Err(refuse_as(&format!(
                "the request body is not valid JSON: {e}"
            )));
        }
    };
    let Some(model) = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
    else {
        return Err(refuse_as("model: field required"));
    };
    let fits = match api {
        Api::Responses => body
            .get("input")
            .is_some_and(|i| i.is_array() || i.is_string()),
        Api::Chat | Api::Messages => body.get("messages").is_some_and(Value::is_array),
    };
    if !fits {
        return Err(refuse_as(if api == Api::Responses {
            "input: field required (a string or an array)"
        } else {
            "messages: field required (an array)"
        }));
    }
    if api == Api::Messages && !body.get("max_tokens").is_some_and(Value::is_u64) {
        return Err(refuse_as("max_tokens: field required"));
    }
    Ok((body, model))
}

/// The model a request names, if it is served here; else the refusal (404 for an id that is
/// not listed or never served, the table's wrong-route answer elsewhere).
fn served(
    st: &State,
    prefix: Prefix,
    api: Api,
    model: &str,
) -> Result<table::Model, errors::Answer> {
    if st.table.never_served(model) || !st.config.models.iter().any(|m| m == model) {
        return Err(shaped(prefix, errors::does_not_exist(model)));
    }
    let m = st.table.resolve(model);
    let refusal = match m.verdict(prefix, api) {
        Verdict::Serve => return Ok(m),
        Verdict::Refuse(Elsewhere::UnsupportedApi) => errors::unsupported_api(model, api.path()),
        Verdict::Refuse(Elsewhere::NotOnRoute) => errors::not_on_route(model),
        Verdict::Refuse(Elsewhere::Berm) => errors::berm(),
    };
    Err(shaped(prefix, refusal))
}

/// The output tokens a request asks for at most, 0 when it does not say.
fn requested_output(body: &Value) -> u64 {
    ["max_tokens", "max_completion_tokens", "max_output_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64))
        .unwrap_or(0)
}

/// The natural refusals of a served request: an image to a text-only model, a prompt over
/// the context window.
fn natural_refusal(
    prefix: Prefix,
    api: Api,
    m: &table::Model,
    body: &Value,
) -> Option<Response<Body>> {
    if !m.image_input && prompt::has_image(api, body) {
        return Some(refuse(prefix, errors::image_modality()));
    }
    let n = prompt::estimate(api, body);
    let window = m.context_window;
    match prefix {
        Prefix::V1 => {
            let out = requested_output(body);
            (n.saturating_add(out) > window)
                .then(|| refuse(prefix, errors::context_overflow_vllm(window, out, n)))
        }
        Prefix::OpenAi => {
            (n > window).then(|| refuse(prefix, errors::context_overflow_mantle(n, window, &m.id)))
        }
        Prefix::Anthropic => {
            (n > window).then(|| error_response(errors::prompt_too_long(n, window)))
        }
    }
}

/// The cached tokens of a served request (automatic prefix caching), remembering its
/// prefixes.
fn prefix_cache(st: &mut State, api: Api, model: &str, body: &Value) -> u64 {
    let items = prompt::items(api, body);
    let hashes = prompt::prefix_hashes(model, &items);
    let cached = hashes
        .iter()
        .take(hashes.len().saturating_sub(1))
        .rev()
        .find(|(hash, _)| st.prefixes.contains(hash))
        .map_or(0, |(_, bytes)| prompt::cached_tokens(*bytes));
    if st.prefixes.len() + hashes.len() > PREFIXES_MAX {
        st.prefixes.clear();
    }
    st.prefixes.extend(hashes.iter().map(|(hash, _)| *hash));
    cached
}

/// A chat request for `api` under `prefix`: checked as Mantle does, then answered.
fn chat(st: &mut State, prefix: Prefix, api: Api, req: &Asked<'_>) -> Response<Body> {
    if req.method != "POST" {
        return respond(
            405,
            error_body(
                "method_not_allowed",
                "invalid_request_error",
                "Method not allowed",
            ),
            &[],
        );
    }
    if api == Api::Messages
        && let Some(refusal) = version_refusal(req)
    {
        return refusal;
    }
    let (body, model) = match read_body(prefix, api, req) {
        Ok(read) => read,
        Err(refusal) => return error_response(refusal),
    };
    let mut m = match served(st, prefix, api, &model) {
        Ok(m) => m,
        Err(refusal) => return error_response(refusal),
    };
    if let Some(window) = st.windows.get(&model) {
        m.context_window = *window;
    }
    if api == Api::Messages {
        if let Some(refusal) = thinking_refusal(&body) {
            return invalid(prefix, refusal);
        }
        if let Some(refusal) = replayed_reasoning_refusal(&body) {
            return invalid(prefix, &refusal);
        }
    }
    if let Some(refusal) = natural_refusal(prefix, api, &m, &body) {
        return refusal;
    }
    let cached = prefix_cache(st, api, &model, &body);
    st.reserve(prompt::estimate(api, &body) + requested_output(&body));
    let streamed = body.get("stream").and_then(Value::as_bool) == Some(true);
    if !streamed {
        let whole = captures::replay(&body, false)
            .filter(|_| api == Api::Chat)
            .unwrap_or_else(|| {
                let mut a = answers::default_answer(api, &m, &body);
                a.tokens.cached = cached;
                answers::render(api, &a, false)
            });
        return respond(200, whole, &[]);
    }
    let (sse, split, delay, fault) = match take_counted(&mut st.script) {
        Some(script) => (
            script.body,
            script.chunk_size.map_or(Split::Whole, Split::Bytes),
            script.delay,
            script.fault,
        ),
        None => {
            let sse = captures::replay(&body, true)
                .filter(|_| api == Api::Chat)
                .unwrap_or_else(|| {
                    let mut a = answers::default_answer(api, &m, &body);
                    a.tokens.cached = cached;
                    answers::render(api, &a, true)
                });
            (sse, Split::Events, Duration::ZERO, None)
        }
    };
    let (sse, split) = match &st.framing {
        Some(f) => (reframe(&sse, f), f.piece.map_or(split, Split::Bytes)),
        None => (sse, split),
    };
    let mut scripted = Scripted::new(Bytes::from(sse), split, delay, fault);
    scripted.abandoned = Some(st.abandoned.clone());
    scripted.begun = Some(st.begun.clone());
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

/// The emulator's count of a Messages request's input tokens: its prompt estimate
/// ([`prompt`]: `ceil(bytes / 4)` of the text of `system` and `messages`), at least one.
pub fn emulated_input_tokens(request: &Value) -> u64 {
    prompt::estimate(Api::Messages, request).max(1)
}

/// `POST /anthropic/v1/messages/count_tokens`: checked like a Messages request (version
/// header, body, a Claude model it lists, no `max_tokens` needed), answered
/// `{"input_tokens": N}` ([`emulated_input_tokens`]).
fn count_tokens(st: &State, req: &Asked<'_>) -> Response<Body> {
    let prefix = Prefix::Anthropic;
    if req.method != "POST" {
        return respond(
            405,
            anthropic_error_body("invalid_request_error", "Method not allowed"),
            &[],
        );
    }
    if let Some(refusal) = version_refusal(req) {
        return refusal;
    }
    let Ok(body @ Value::Object(_)) = serde_json::from_slice::<Value>(req.body) else {
        return invalid(prefix, "the request body must be a JSON object");
    };
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    if let Err(refusal) = served(st, prefix, Api::Messages, model) {
        return error_response(refusal);
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
/// ([`answers::anthropic_thinking`], [`answers::anthropic_redacted_thinking`]).
fn replayed_reasoning_refusal(body: &Value) -> Option<String> {
    let thinking = answers::THINKING.concat();
    let messages = body.get("messages")?.as_array()?;
    for (i, message) in messages.iter().enumerate() {
        let Some(blocks) = message.get("content").and_then(Value::as_array) else {
            continue;
        };
        for (j, block) in blocks.iter().enumerate() {
            let field = |name: &str| block.get(name).and_then(Value::as_str);
            match field("type") {
                Some("thinking")
                    if field("signature") != Some(answers::THINKING_SIGNATURE)
                        || field("thinking") != Some(thinking.as_str()) =>
                {
                    return Some(format!(
                        "messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
                    ));
                }
                Some("redacted_thinking") if field("data") != Some(answers::REDACTED_DATA) => {
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
    /// Counts this body when its first piece goes out.
    begun: Option<Arc<std::sync::atomic::AtomicUsize>>,
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
            begun: None,
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
                if !this.started
                    && let Some(n) = &this.begun
                {
                    n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                this.started = true;
                this.waited = false;
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
        }
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
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const STATIC_KEY: &str = "static-test-key";
    const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const BEARER: &str = "Bearer static-test-key";
    const CLAUDE: &str = "anthropic.claude-opus-4-7";
    /// 2025-07-15T05:00:00Z, the FACTS token's signing time.
    const FIXTURE_AT: u64 = 1_752_555_600;

    async fn emulator_with(models: &[&str]) -> Emulator {
        Emulator::start(EmulatorConfig {
            static_keys: vec![STATIC_KEY.into()],
            credentials: vec![(ACCESS_KEY.into(), SECRET.into())],
            models: models.iter().map(|m| (*m).to_owned()).collect(),
            ..EmulatorConfig::default()
        })
        .await
        .unwrap()
    }

    async fn emulator() -> Emulator {
        emulator_with(&DEFAULT_MODELS).await
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn minted(region: &str, at: u64) -> String {
        token_check::presign(ACCESS_KEY, SECRET, None, region, 900, at).unwrap()
    }

    fn chat_body(model: &str) -> Value {
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

    fn responses_body(model: &str) -> Value {
        json!({
            "model": model,
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
            "store": false,
            "stream": true,
        })
    }

    /// A body that fits `path`'s API, for `model`.
    fn body_for(path: &str, model: &str) -> Value {
        if path.ends_with("/messages") {
            anthropic_body(model)
        } else if path.ends_with("/responses") {
            responses_body(model)
        } else {
            chat_body(model)
        }
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

    type Answered = (u16, Vec<(String, String)>, Bytes);

    /// `POST path` with `auth` (an `Authorization` value), the Anthropic version header
    /// under `/anthropic`, and `body`.
    async fn post(emu: &Emulator, path: &str, auth: &str, body: &Value) -> Answered {
        let mut headers = vec![
            ("authorization", auth),
            ("content-type", "application/json"),
        ];
        if path.starts_with("/anthropic") {
            headers.push(("anthropic-version", "2023-06-01"));
        }
        http_request(
            emu.addr(),
            "POST",
            path,
            &headers,
            Bytes::from(body.to_string()),
        )
        .await
        .unwrap()
    }

    async fn get_models(emu: &Emulator, auth: &str) -> Answered {
        http_request(
            emu.addr(),
            "GET",
            "/v1/models",
            &[("authorization", auth)],
            Bytes::new(),
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

    fn json_of(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    /// The captured error `name`, as in `fixtures/mantle/errors.json`.
    fn captured(name: &str) -> (u16, String) {
        let c = errors::captured()
            .unwrap()
            .iter()
            .find(|c| c.name == name)
            .unwrap();
        (c.status, c.body.clone())
    }

    fn text(body: &Bytes) -> String {
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn each_api_answers_its_default_in_the_captured_shape() {
        let emu = emulator_with(&[
            "deepseek.v3.2",
            "moonshotai.kimi-k2-thinking",
            "openai.gpt-oss-20b",
            "openai.gpt-oss-120b",
            "openai.gpt-5.4",
            "google.gemma-4-31b",
            CLAUDE,
        ])
        .await;
        let token = format!("Bearer {}", minted("us-east-1", now()));
        let cases = [
            (
                "/v1/chat/completions",
                chat_body("deepseek.v3.2"),
                transcripts::openai_text("deepseek.v3.2"),
            ),
            (
                "/v1/chat/completions",
                chat_body("moonshotai.kimi-k2-thinking"),
                transcripts::openai_reasoning("moonshotai.kimi-k2-thinking"),
            ),
            (
                "/v1/chat/completions",
                chat_body("openai.gpt-oss-120b"),
                transcripts::openai_reasoning("openai.gpt-oss-120b"),
            ),
            (
                "/v1/chat/completions",
                with(chat_body("openai.gpt-oss-20b"), "tools", tools()),
                transcripts::openai_tool_calls("openai.gpt-oss-20b"),
            ),
            (
                "/openai/v1/chat/completions",
                chat_body("google.gemma-4-31b"),
                transcripts::openai_text("google.gemma-4-31b"),
            ),
            (
                "/anthropic/v1/messages",
                anthropic_body(CLAUDE),
                transcripts::anthropic_text(CLAUDE),
            ),
            (
                "/anthropic/v1/messages",
                with(
                    anthropic_body(CLAUDE),
                    "thinking",
                    json!({"type": "enabled", "budget_tokens": 2048}),
                ),
                transcripts::anthropic_thinking(CLAUDE),
            ),
            (
                "/anthropic/v1/messages",
                with(anthropic_body(CLAUDE), "tools", tools()),
                transcripts::anthropic_tool_use(CLAUDE),
            ),
            (
                "/openai/v1/responses",
                responses_body("openai.gpt-5.4"),
                transcripts::responses_encrypted_reasoning("openai.gpt-5.4"),
            ),
            (
                "/openai/v1/responses",
                with(responses_body("openai.gpt-5.4"), "tools", tools()),
                transcripts::responses_tool_calls("openai.gpt-5.4"),
            ),
            (
                "/v1/responses",
                responses_body("openai.gpt-oss-120b"),
                transcripts::responses_reasoning_text("openai.gpt-oss-120b"),
            ),
            (
                "/openai/v1/responses",
                responses_body("google.gemma-4-31b"),
                transcripts::responses_text("google.gemma-4-31b"),
            ),
        ];
        for (path, body, transcript) in cases {
            for auth in [BEARER, token.as_str()] {
                emu.clear_prefix_cache();
                let (status, headers, got) = post(&emu, path, auth, &body).await;
                assert_eq!(status, 200, "{}: {got:?}", transcript.name);
                assert_eq!(header(&headers, "content-type"), Some("text/event-stream"));
                assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
                assert_eq!(header(&headers, "transfer-encoding"), Some("chunked"));
                assert_eq!(text(&got), transcript.body, "{} on {path}", transcript.name);
            }
        }
    }

    #[tokio::test]
    async fn a_streamed_capture_replays_byte_for_byte() {
        let emu = emulator().await;
        let request: Value = serde_json::from_str(captures::STREAM_2_REQUEST).unwrap();
        let (status, _, got) = post(&emu, "/v1/chat/completions", BEARER, &request).await;
        assert_eq!(status, 200);
        assert_eq!(text(&got), transcripts::openai_captured_tool_call().body);
        for (line, chunk) in text(&got)
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .zip(captures::STREAM_2_CHUNKS.lines())
        {
            assert_eq!(line, chunk);
        }
        // Not streamed, CHAT-1 comes back as captured.
        let request: Value = serde_json::from_str(captures::CHAT_1_REQUEST).unwrap();
        let (status, headers, got) = post(&emu, "/v1/chat/completions", BEARER, &request).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        assert_eq!(text(&got), captures::CHAT_1_RESPONSE.trim_end());
    }

    #[tokio::test]
    async fn answers_not_streamed_have_the_captured_shapes() {
        let emu = emulator().await;
        let no_stream = |b: Value| with(b, "stream", json!(false));
        // Chat completions, CHAT-1's keys.
        let (status, headers, got) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &no_stream(chat_body("openai.gpt-oss-120b")),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        let got = json_of(&got);
        let chat1: Value = serde_json::from_str(captures::CHAT_1_RESPONSE).unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&got), keys(&chat1));
        assert_eq!(
            keys(&got["choices"][0]["message"]),
            keys(&chat1["choices"][0]["message"])
        );
        assert_eq!(keys(&got["usage"]), keys(&chat1["usage"]));
        assert_eq!(
            got["choices"][0]["message"]["content"],
            "Hi! How can I help?"
        );
        assert_eq!(
            got["choices"][0]["message"]["reasoning"],
            "The user greets me. Reply briefly."
        );
        // Tool calls, whole.
        let (_, _, got) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &no_stream(with(chat_body("openai.gpt-oss-20b"), "tools", tools())),
        )
        .await;
        let got = json_of(&got);
        assert_eq!(got["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(
            got["choices"][0]["message"]["tool_calls"][1]["function"]["arguments"],
            "{\"tz\":\"Europe/Paris\"}"
        );
        assert_eq!(got["usage"]["total_tokens"], 161);
        // Anthropic: a Bedrock message id, the dated name, stop_details beside stop_sequence.
        let (status, _, got) = post(
            &emu,
            "/anthropic/v1/messages",
            BEARER,
            &no_stream(with(
                anthropic_body(CLAUDE),
                "thinking",
                json!({"type": "enabled", "budget_tokens": 1024}),
            )),
        )
        .await;
        assert_eq!(status, 200);
        let got = json_of(&got);
        assert!(got["id"].as_str().unwrap().starts_with("msg_bdrk_"));
        assert_eq!(got["id"].as_str().unwrap().len(), "msg_bdrk_".len() + 52);
        assert_eq!(got["model"], "claude-opus-4-7-20250929");
        assert_eq!(
            keys(&got),
            [
                "id",
                "type",
                "role",
                "model",
                "content",
                "stop_reason",
                "stop_sequence",
                "stop_details",
                "usage"
            ]
        );
        assert_eq!(got["content"][0]["signature"], answers::THINKING_SIGNATURE);
        assert_eq!(got["content"][1]["text"], "27 * 453 = 12,231");
        // Responses, gpt-oss: RESP-1's reasoning item.
        let (_, _, got) = post(
            &emu,
            "/v1/responses",
            BEARER,
            &no_stream(responses_body("openai.gpt-oss-120b")),
        )
        .await;
        let got = json_of(&got);
        assert_eq!(got["object"], "response");
        assert_eq!(got["status"], "completed");
        assert_eq!(got["output"][0]["content"][0]["type"], "reasoning_text");
        assert_eq!(got["output"][0]["status"], "completed");
        assert_eq!(got["output"][1]["content"][0]["text"], "Hi!");
        assert_eq!(got["usage"]["output_tokens_details"]["reasoning_tokens"], 0);
        // A script does not answer a request that is not streamed, nor is it used up by one.
        emu.set_script(Script::new("data: x\n\n").times(1));
        let (_, headers, _) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &no_stream(chat_body("deepseek.v3.2")),
        )
        .await;
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        let (_, _, got) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!(got, "data: x\n\n");
    }

    #[tokio::test]
    async fn every_answer_carries_a_fresh_request_id_and_the_quota_headers() {
        let emu = emulator().await;
        // One minute of quota throughout.
        emu.set_now(Some(now() / 60 * 60));
        let mut ids = Vec::new();
        let answers = [
            post(
                &emu,
                "/v1/chat/completions",
                BEARER,
                &chat_body("deepseek.v3.2"),
            )
            .await,
            post(
                &emu,
                "/v1/chat/completions",
                BEARER,
                &chat_body("claude-opus-4.7"),
            )
            .await,
            post(
                &emu,
                "/v1/chat/completions",
                "Bearer nope",
                &chat_body("deepseek.v3.2"),
            )
            .await,
            post(
                &emu,
                "/anthropic/v1/messages",
                BEARER,
                &anthropic_body(CLAUDE),
            )
            .await,
            get_models(&emu, BEARER).await,
        ];
        let mut remaining = Vec::new();
        for (status, headers, _) in &answers {
            let id = header(headers, "x-amzn-requestid").unwrap();
            assert_eq!(header(headers, "x-request-id"), Some(id), "{status}");
            let rest = id.strip_prefix("req_").unwrap();
            assert_eq!(rest.len(), 52, "{id}");
            assert!(
                rest.bytes()
                    .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)),
                "{id}"
            );
            ids.push(id.to_owned());
            assert_eq!(
                header(headers, "x-amzn-usage-reservation-quota"),
                Some("2000000")
            );
            assert_eq!(
                header(headers, "x-amzn-usage-reservation-spillover"),
                Some("0")
            );
            remaining.push(
                header(headers, "x-amzn-usage-reservation-remaining-quota")
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            );
            assert_eq!(header(headers, "retry-after"), None);
        }
        assert_eq!(
            answers.iter().map(|a| a.0).collect::<Vec<_>>(),
            [200, 404, 401, 200, 200]
        );
        // Each chat request reserves its prompt and max_tokens: 1 + 0, then 1 + 1024.
        assert_eq!(remaining[0], 2_000_000 - 1);
        assert_eq!(remaining[3], 2_000_000 - 1 - 1025);
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        let seen: Vec<String> = emu.requests().into_iter().map(|r| r.request_id).collect();
        assert_eq!(seen, ids);
        // A 429 carries retry-after only when a fault adds it.
        emu.inject(
            Fault::openai(
                429,
                "rate_limit_exceeded",
                "rate_limit_error",
                "Too many tokens",
            )
            .times(1),
        );
        let (status, headers, _) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!((status, header(&headers, "retry-after")), (429, None));
        assert!(header(&headers, "x-request-id").is_some());
        emu.inject(
            Fault::openai(
                429,
                "rate_limit_exceeded",
                "rate_limit_error",
                "Too many tokens",
            )
            .with_header("retry-after", "3")
            .times(1),
        );
        let (status, headers, _) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!((status, header(&headers, "retry-after")), (429, Some("3")));
    }

    #[tokio::test]
    async fn each_model_is_served_on_its_prefix_and_refused_elsewhere_as_captured() {
        let emu = emulator_with(&[
            "deepseek.v3.2",
            "openai.gpt-oss-120b",
            "openai.gpt-oss-safeguard-120b",
            "openai.gpt-5.4",
            "openai.gpt-5.6-terra",
            "google.gemma-4-31b",
            "xai.grok-4.3",
            CLAUDE,
        ])
        .await;
        // ERR-1, byte for byte.
        let (status, _, got) = post(
            &emu,
            "/v1/responses",
            BEARER,
            &responses_body("openai.gpt-oss-safeguard-120b"),
        )
        .await;
        assert_eq!((status, text(&got)), captured("wrong-api"));
        // ERR-3, byte for byte, for every model served under /openai/v1.
        for model in ["google.gemma-4-31b", "xai.grok-4.3", "openai.gpt-5.4"] {
            for path in ["/v1/chat/completions", "/v1/responses"] {
                let (status, _, got) = post(&emu, path, BEARER, &body_for(path, model)).await;
                assert_eq!(
                    (status, text(&got)),
                    captured("berm-not-enabled"),
                    "{model} {path}"
                );
            }
        }
        // The served ones.
        for (model, path) in [
            ("google.gemma-4-31b", "/openai/v1/chat/completions"),
            ("google.gemma-4-31b", "/openai/v1/responses"),
            ("xai.grok-4.3", "/openai/v1/chat/completions"),
            ("openai.gpt-5.4", "/openai/v1/responses"),
            ("openai.gpt-oss-120b", "/v1/responses"),
            ("openai.gpt-oss-120b", "/v1/chat/completions"),
            ("openai.gpt-oss-safeguard-120b", "/v1/chat/completions"),
            (CLAUDE, "/anthropic/v1/messages"),
        ] {
            let (status, _, got) = post(&emu, path, BEARER, &body_for(path, model)).await;
            assert_eq!(status, 200, "{model} {path}: {got:?}");
        }
        // The ERR-1 template, with the requested model and API.
        let unsupported = |model: &str, api: &str| {
            format!(
                r#"{{"error":{{"code":"validation_error","type":"invalid_request_error","message":"The model '{model}' does not support the '{api}' API"}}}}"#
            )
        };
        for (model, path, api) in [
            (CLAUDE, "/v1/chat/completions", "/v1/chat/completions"),
            (CLAUDE, "/v1/responses", "/v1/responses"),
            (CLAUDE, "/openai/v1/responses", "/v1/responses"),
            (
                "openai.gpt-5.6-terra",
                "/openai/v1/chat/completions",
                "/v1/chat/completions",
            ),
            ("deepseek.v3.2", "/v1/responses", "/v1/responses"),
        ] {
            let (status, _, got) = post(&emu, path, BEARER, &body_for(path, model)).await;
            assert_eq!(status, 400, "{model} {path}");
            assert_eq!(text(&got), unsupported(model, api), "{model} {path}");
        }
        // Open models on /openai/v1: "isn't supported on this route".
        let (status, _, got) = post(
            &emu,
            "/openai/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        let (_, template) = captured("not-supported-on-this-route");
        assert_eq!(
            (status, text(&got)),
            (400, template.replace("openai.gpt-5.4", "deepseek.v3.2"))
        );
        // On /anthropic, refusals are Anthropic-shaped.
        let (status, _, got) = post(
            &emu,
            "/anthropic/v1/messages",
            BEARER,
            &anthropic_body("openai.gpt-oss-120b"),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            json_of(&got),
            json!({"type": "error", "error": {"type": "invalid_request_error",
                "message": "The model 'openai.gpt-oss-120b' does not support the '/anthropic/v1/messages' API"}})
        );
    }

    #[tokio::test]
    async fn ids_mantle_does_not_know_are_404_on_every_route_even_when_listed() {
        let emu = emulator_with(&["deepseek.v3.2", CLAUDE, "claude-opus-4.7"]).await;
        let (status, _, got) = post(
            &emu,
            "/anthropic/v1/messages",
            BEARER,
            &anthropic_body("us.anthropic.claude-sonnet-4-6"),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(
            json_of(&got),
            json!({"type": "error", "error": {"type": "not_found_error",
                "message": "The model 'us.anthropic.claude-sonnet-4-6' does not exist"}})
        );
        let (status, _, got) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("us.anthropic.claude-sonnet-4-6"),
        )
        .await;
        assert_eq!((status, text(&got)), captured("model-does-not-exist"));
        for model in [
            "claude-opus-4.7",
            "claude-opus-4-7",
            "global.anthropic.claude-opus-4-7",
            "anthropic.claude-opus-4-7-v1:0",
            "nobody.model",
            "anthropic.claude-haiku-4-5",
        ] {
            for path in [
                "/v1/chat/completions",
                "/v1/responses",
                "/openai/v1/chat/completions",
                "/openai/v1/responses",
                "/anthropic/v1/messages",
            ] {
                let (status, _, got) = post(&emu, path, BEARER, &body_for(path, model)).await;
                assert_eq!(status, 404, "{model} {path}");
                let message = if path.starts_with("/anthropic") {
                    json_of(&got)["error"]["message"].clone()
                } else {
                    assert_eq!(json_of(&got)["error"]["code"], "not_found_error");
                    json_of(&got)["error"]["message"].clone()
                };
                assert_eq!(message, format!("The model '{model}' does not exist"));
            }
        }
    }

    #[tokio::test]
    async fn the_token_check_accepts_what_aws_signs_and_refuses_the_rest_in_mantles_words() {
        let emu = Emulator::start(EmulatorConfig {
            region: "us-west-2".into(),
            credentials: vec![(ACCESS_KEY.into(), SECRET.into())],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        // FACTS: the official generator's token, at its time.
        let fixture = format!(
            "Bearer {}",
            token_check::presign(ACCESS_KEY, SECRET, None, "us-west-2", 43_200, FIXTURE_AT)
                .unwrap()
        );
        emu.set_now(Some(FIXTURE_AT + 60));
        let (status, _, got) = get_models(&emu, &fixture).await;
        assert_eq!(status, 200, "{got:?}");
        // Expired a day later: the captured head, AWS's times.
        emu.set_now(Some(FIXTURE_AT + 86_400));
        let (status, _, got) = get_models(&emu, &fixture).await;
        assert_eq!((status, text(&got)), captured("signature-expired"));
        emu.set_now(None);
        let at = now();
        let good = minted("us-west-2", at);
        let (status, _, _) = get_models(&emu, &format!("Bearer {good}")).await;
        assert_eq!(status, 200);
        let session = token_check::presign(
            ACCESS_KEY,
            SECRET,
            Some("FwoGZXIvYXdzE//session=="),
            "us-west-2",
            900,
            at,
        )
        .unwrap();
        let (status, _, _) = get_models(&emu, &format!("Bearer {session}")).await;
        assert_eq!(status, 200);
        let url = String::from_utf8(
            base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &good[token_check::PREFIX.len()..],
            )
            .unwrap(),
        )
        .unwrap();
        let wrap = |u: String| {
            format!(
                "{}{}",
                token_check::PREFIX,
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, u)
            )
        };
        let invalid = captured("security-token-invalid");
        for (what, token) in [
            (
                "tampered region",
                wrap(url.replace("us-west-2", "us-east-1")),
            ),
            (
                "tampered expiry",
                wrap(url.replace("X-Amz-Expires=900", "X-Amz-Expires=901")),
            ),
            ("wrong region", minted("us-east-1", at)),
            (
                "unknown key",
                token_check::presign("AKIDEXAMPLE", SECRET, None, "us-west-2", 900, at).unwrap(),
            ),
            (
                "wrong secret",
                token_check::presign(ACCESS_KEY, "nope", None, "us-west-2", 900, at).unwrap(),
            ),
            ("garbage", format!("{}%%%", token_check::PREFIX)),
        ] {
            let (status, _, got) = get_models(&emu, &format!("Bearer {token}")).await;
            assert_eq!((status, text(&got)), invalid, "{what}");
        }
        let (status, _, got) =
            get_models(&emu, &format!("Bearer {}", minted("us-west-2", at + 3600))).await;
        assert_eq!(status, 401);
        assert!(
            json_of(&got)["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Signature not yet current: "),
            "{got:?}"
        );
        let unknown = captured("invalid-bearer-token");
        for auth in ["Bearer some-static-key", "Basic abc", ""] {
            let (status, _, got) = get_models(&emu, auth).await;
            assert_eq!((status, text(&got)), unknown, "{auth}");
        }
    }

    #[tokio::test]
    async fn x_api_key_works_on_the_anthropic_route_only() {
        let emu = emulator().await;
        let body = Bytes::from(anthropic_body(CLAUDE).to_string());
        let (status, _, _) = http_request(
            emu.addr(),
            "POST",
            "/anthropic/v1/messages",
            &[
                ("x-api-key", STATIC_KEY),
                ("anthropic-version", "bedrock-2023-05-31"),
            ],
            body,
        )
        .await
        .unwrap();
        assert_eq!(status, 200);
        let (status, _, _) = http_request(
            emu.addr(),
            "POST",
            "/v1/chat/completions",
            &[("x-api-key", STATIC_KEY)],
            Bytes::from(chat_body("deepseek.v3.2").to_string()),
        )
        .await
        .unwrap();
        assert_eq!(status, 401);
    }

    /// A chat body whose prompt estimate is exactly `tokens` (4 bytes a token).
    fn prompt_of(tokens: u64) -> String {
        "abcd".repeat(usize::try_from(tokens).unwrap())
    }

    #[tokio::test]
    async fn overflowing_the_context_window_is_refused_in_each_routes_words() {
        let emu =
            emulator_with(&["openai.gpt-5.5", "zai.glm-5", "anthropic.claude-haiku-4-5"]).await;
        // ERR-7, Mantle's wording, byte for byte: 400007 tokens to gpt-5.5 (278528).
        let body = json!({"model": "openai.gpt-5.5", "input": prompt_of(400_007), "stream": true});
        let (status, _, got) = post(&emu, "/openai/v1/responses", BEARER, &body).await;
        assert_eq!((status, text(&got)), captured("context-overflow-mantle"));
        // At the window, it passes.
        let body = json!({"model": "openai.gpt-5.5", "input": prompt_of(278_528)});
        let (status, _, _) = post(&emu, "/openai/v1/responses", BEARER, &body).await;
        assert_eq!(status, 200);
        // ERR-7, vLLM's wording, byte for byte: 137217 prompt tokens + 65536 output tokens.
        let body = json!({"model": "zai.glm-5", "max_tokens": 65_536,
            "messages": [{"role": "user", "content": prompt_of(137_217)}]});
        let (status, _, got) = post(&emu, "/v1/chat/completions", BEARER, &body).await;
        assert_eq!((status, text(&got)), captured("context-overflow-vllm"));
        let body = json!({"model": "zai.glm-5", "max_tokens": 65_535,
            "messages": [{"role": "user", "content": prompt_of(137_217)}]});
        let (status, _, _) = post(&emu, "/v1/chat/completions", BEARER, &body).await;
        assert_eq!(status, 200);
        // A test may widen a window.
        emu.set_context_window("openai.gpt-5.5", 400_007);
        let body = json!({"model": "openai.gpt-5.5", "input": prompt_of(400_007)});
        let (status, _, _) = post(&emu, "/openai/v1/responses", BEARER, &body).await;
        assert_eq!(status, 200);
        // Anthropic's wording on /anthropic.
        let body = json!({"model": "anthropic.claude-haiku-4-5", "max_tokens": 10,
            "system": "ab", "messages": [{"role": "user", "content": prompt_of(200_000)}]});
        let (status, _, got) = post(&emu, "/anthropic/v1/messages", BEARER, &body).await;
        assert_eq!(status, 400);
        assert_eq!(
            text(&got),
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 200001 tokens > 200000 maximum"}}"#
        );
    }

    #[tokio::test]
    async fn an_image_to_a_text_only_model_is_refused_before_streaming() {
        let emu =
            emulator_with(&["deepseek.v3.2", "google.gemma-3-27b-it", "openai.gpt-5.4"]).await;
        let image = |model: &str| {
            json!({"model": model, "stream": true, "messages": [{"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
            ]}]})
        };
        let (status, headers, got) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &image("deepseek.v3.2"),
        )
        .await;
        assert_eq!((status, text(&got)), captured("image-modality"));
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        let (status, _, _) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &image("google.gemma-3-27b-it"),
        )
        .await;
        assert_eq!(status, 200);
        let responses = json!({"model": "openai.gpt-5.4", "input": [{"type": "message", "role": "user",
            "content": [{"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}]}]});
        let (status, _, _) = post(&emu, "/openai/v1/responses", BEARER, &responses).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn a_repeated_prompt_prefix_is_reported_cached() {
        let emu = emulator_with(&["deepseek.v3.2", "openai.gpt-5.4", CLAUDE]).await;
        // 100 tokens of system prompt: 96 of them in whole blocks of 16.
        let system = prompt_of(100);
        let turn = |last: &str| {
            json!({"model": "deepseek.v3.2", "stream": true, "messages": [
                {"role": "system", "content": system}, {"role": "user", "content": last}]})
        };
        let usage_of = |got: &Bytes| {
            let sse = text(got);
            let last = sse
                .split("\n\n")
                .filter_map(|e| e.strip_prefix("data: "))
                .filter(|d| *d != "[DONE]")
                .last()
                .unwrap()
                .to_owned();
            json_of(last.as_bytes())["usage"].clone()
        };
        let (_, _, first) = post(&emu, "/v1/chat/completions", BEARER, &turn("hi")).await;
        assert_eq!(usage_of(&first)["prompt_tokens_details"], Value::Null);
        assert_eq!(usage_of(&first)["prompt_tokens"], 14);
        let (_, _, second) = post(&emu, "/v1/chat/completions", BEARER, &turn("and then?")).await;
        assert_eq!(
            usage_of(&second)["prompt_tokens_details"],
            json!({"audio_tokens": 0, "cached_tokens": 96})
        );
        assert_eq!(usage_of(&second)["prompt_tokens"], 14 + 96);
        // Not streamed, the same.
        let (_, _, whole) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &with(turn("again"), "stream", json!(false)),
        )
        .await;
        assert_eq!(
            json_of(&whole)["usage"]["prompt_tokens_details"]["cached_tokens"],
            96
        );
        // Another model has its own cache.
        let responses =
            |last: &str| json!({"model": "openai.gpt-5.4", "instructions": system, "input": last});
        let (_, _, got) = post(&emu, "/openai/v1/responses", BEARER, &responses("hi")).await;
        assert_eq!(
            json_of(&got)["usage"]["input_tokens_details"]["cached_tokens"],
            0
        );
        let (_, _, got) = post(&emu, "/openai/v1/responses", BEARER, &responses("hi")).await;
        assert_eq!(
            json_of(&got)["usage"]["input_tokens_details"]["cached_tokens"],
            96
        );
        assert_eq!(json_of(&got)["usage"]["input_tokens"], 20 + 96);
        let messages = |last: &str| {
            json!({"model": CLAUDE, "max_tokens": 100, "system": system,
                "messages": [{"role": "user", "content": last}]})
        };
        post(&emu, "/anthropic/v1/messages", BEARER, &messages("hi")).await;
        let (_, _, got) = post(&emu, "/anthropic/v1/messages", BEARER, &messages("ho")).await;
        assert_eq!(json_of(&got)["usage"]["cache_read_input_tokens"], 96);
        assert_eq!(json_of(&got)["usage"]["input_tokens"], 25);
        // A short prefix fills no block.
        let short = json!({"model": "deepseek.v3.2", "stream": false, "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]});
        post(&emu, "/v1/chat/completions", BEARER, &short).await;
        let (_, _, got) = post(&emu, "/v1/chat/completions", BEARER, &short).await;
        assert_eq!(json_of(&got)["usage"]["prompt_tokens_details"], Value::Null);
    }

    #[tokio::test]
    async fn the_captured_listings_come_back_as_captured() {
        let emu = Emulator::start(EmulatorConfig {
            static_keys: vec![STATIC_KEY.into()],
            ..EmulatorConfig::captured("us-east-2").unwrap()
        })
        .await
        .unwrap();
        let (status, _, got) = get_models(&emu, BEARER).await;
        assert_eq!(status, 200);
        assert_eq!(
            text(&got),
            include_str!("../../fixtures/mantle/models-us-east-2.json").trim_end()
        );
        let east1 = EmulatorConfig::captured("us-east-1").unwrap();
        assert_eq!(east1.models.len(), 52);
        assert!(
            east1
                .models
                .iter()
                .any(|m| m == "anthropic.claude-opus-4-7")
        );
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
            anthropic_body(CLAUDE),
            "thinking",
            json!({"type": "enabled", "budget_tokens": 2048}),
        );
        post(&emu, "/anthropic/v1/messages", BEARER, &body).await;
        post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
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
                "/anthropic/v1/messages",
                BEARER,
                &with(
                    with(anthropic_body(CLAUDE), "stream", json!(false)),
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
                anthropic_body(CLAUDE),
                "messages",
                json!([
                    {"role": "user", "content": "What is 27 * 453?"},
                    {"role": "assistant", "content": [block, {"type": "text", "text": "12231"}]},
                    {"role": "user", "content": "And doubled?"}
                ]),
            )
        };
        let (status, _, _) = post(
            &emu,
            "/anthropic/v1/messages",
            BEARER,
            &replay(thinking.clone()),
        )
        .await;
        assert_eq!(status, 200);
        let mut changed = thinking.clone();
        changed["signature"] = json!(format!("{}A", thinking["signature"].as_str().unwrap()));
        let mut rewritten = thinking.clone();
        rewritten["thinking"] = json!("Something else.");
        let redacted = json!({"type": "redacted_thinking", "data": "bm90IGdpdmVu"});
        for block in [changed, rewritten, redacted] {
            let (status, _, body) = post(
                &emu,
                "/anthropic/v1/messages",
                BEARER,
                &replay(block.clone()),
            )
            .await;
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
    async fn the_anthropic_route_refuses_what_thinking_forbids_as_anthropic_does() {
        let emu = emulator().await;
        let thinking = |body: Value| {
            with(
                with(body, "max_tokens", json!(4096)),
                "thinking",
                json!({"type": "enabled", "budget_tokens": 2048}),
            )
        };
        let base = thinking(anthropic_body(CLAUDE));
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
                "/anthropic/v1/messages",
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
                "/anthropic/v1/messages",
                BEARER,
                &with(base.clone(), key, value),
            )
            .await;
            assert_eq!(status, 200, "{key}");
        }
        let (status, _, _) = post(
            &emu,
            "/anthropic/v1/messages",
            BEARER,
            &with(anthropic_body(CLAUDE), "temperature", json!(0.5)),
        )
        .await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn the_anthropic_route_needs_its_version_header() {
        let emu = emulator().await;
        let body = Bytes::from(anthropic_body(CLAUDE).to_string());
        for version in [None, Some("2024-01-01")] {
            let mut headers = vec![("authorization", BEARER)];
            headers.extend(version.map(|v| ("anthropic-version", v)));
            let (status, _, answer) = http_request(
                emu.addr(),
                "POST",
                "/anthropic/v1/messages",
                &headers,
                body.clone(),
            )
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
    }

    #[tokio::test]
    async fn bad_bodies_and_methods_are_refused() {
        let emu = emulator().await;
        let not_deserialized = captured("body-not-deserialized");
        let (status, _, body) = http_request(
            emu.addr(),
            "POST",
            "/v1/chat/completions",
            &[("authorization", BEARER)],
            Bytes::from_static(b"{not json"),
        )
        .await
        .unwrap();
        assert_eq!((status, text(&body)), not_deserialized);
        for bad in [
            json!({"messages": []}),
            json!({"model": "deepseek.v3.2"}),
            json!([1]),
        ] {
            let (status, _, body) = post(&emu, "/v1/chat/completions", BEARER, &bad).await;
            assert_eq!((status, text(&body)), not_deserialized, "{bad}");
        }
        let (status, _, body) = post(
            &emu,
            "/openai/v1/responses",
            BEARER,
            &json!({"model": "openai.gpt-5.4", "stream": true}),
        )
        .await;
        assert_eq!((status, text(&body)), not_deserialized);
        let no_max = json!({"model": CLAUDE, "messages": [], "stream": true});
        let (status, _, body) = post(&emu, "/anthropic/v1/messages", BEARER, &no_max).await;
        assert_eq!(status, 400);
        assert_eq!(json_of(&body)["type"], "error");
        let (status, _, _) = http_request(
            emu.addr(),
            "GET",
            "/v1/chat/completions",
            &[("authorization", BEARER)],
            Bytes::new(),
        )
        .await
        .unwrap();
        assert_eq!(status, 405);
        let (status, _, _) = http_request(
            emu.addr(),
            "POST",
            "/v1/messages",
            &[("authorization", BEARER)],
            Bytes::from(anthropic_body(CLAUDE).to_string()),
        )
        .await
        .unwrap();
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn count_tokens_counts_the_prompt_estimate() {
        let emu = emulator().await;
        let body = json!({"model": CLAUDE, "system": "abcd", "messages": [{"role": "user", "content": "abcdefgh"}]});
        let (status, _, got) =
            post(&emu, "/anthropic/v1/messages/count_tokens", BEARER, &body).await;
        assert_eq!(status, 200);
        assert_eq!(json_of(&got), json!({"input_tokens": 3}));
        assert_eq!(emulated_input_tokens(&body), 3);
        let (status, _, _) = post(
            &emu,
            "/anthropic/v1/messages/count_tokens",
            BEARER,
            &json!({"model": "deepseek.v3.2", "messages": []}),
        )
        .await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn status_faults_come_before_the_answer_but_after_authentication() {
        let emu = emulator().await;
        emu.inject(Fault::captured(errors::internal()).times(1));
        let (status, _, body) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!((status, text(&body)), captured("internal"));
        let (status, _, _) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!(status, 200);
        emu.inject(Fault::anthropic(529, "overloaded_error", "Overloaded"));
        let (status, _, body) = post(
            &emu,
            "/anthropic/v1/messages",
            BEARER,
            &anthropic_body(CLAUDE),
        )
        .await;
        assert_eq!(status, 529);
        assert_eq!(json_of(&body)["error"]["type"], "overloaded_error");
        let (status, _, _) = post(
            &emu,
            "/v1/chat/completions",
            "Bearer nope",
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!(status, 401);
        emu.clear_fault();
        let (status, _, _) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn a_script_answers_until_used_up() {
        let emu = emulator().await;
        let error = transcripts::openai_error("deepseek.v3.2");
        emu.set_script(Script::from(error.clone()).times(1));
        let (status, _, body) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(text(&body), error.body);
        let (_, _, body) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!(text(&body), transcripts::openai_text("deepseek.v3.2").body);

        // A refused request does not use the script up.
        emu.set_script(Script::new("data: x\n\n").times(1));
        let (status, _, _) = post(&emu, "/v1/chat/completions", BEARER, &chat_body(CLAUDE)).await;
        assert_eq!(status, 400);
        let (_, _, body) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!(body, "data: x\n\n");
        emu.set_script(Script::new("data: y\n\n"));
        emu.clear_script();
        let (_, _, body) = post(
            &emu,
            "/v1/chat/completions",
            BEARER,
            &chat_body("deepseek.v3.2"),
        )
        .await;
        assert_eq!(text(&body), transcripts::openai_text("deepseek.v3.2").body);
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
            .write_all(&raw_request(&chat_body("deepseek.v3.2")))
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
            Bytes::from(transcripts::anthropic_text(CLAUDE).body),
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
            "/v1/chat/completions",
            &[("authorization", BEARER)],
            Bytes::from(chat_body("deepseek.v3.2").to_string()),
        )
        .await;
        assert!(request.is_err(), "{request:?}");
    }

    #[tokio::test]
    async fn stall_after_stops_sending_and_keeps_the_connection_open() {
        let emu = emulator().await;
        let transcript = transcripts::anthropic_text(CLAUDE);
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
