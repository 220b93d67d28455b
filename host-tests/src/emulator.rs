//! A local Mantle emulator: a real HTTP server on loopback that behaves like
//! `bedrock-mantle.{region}.api.aws`, errors included.
//!
//! Like Mantle it accepts only `Authorization: Bearer <token>`, where the token is either a
//! configured static key or a valid minted token: it decodes the token, recomputes the SigV4
//! signature with the secret it was told, and checks region and expiry. Anything else gets
//! Mantle's OpenAI-shaped error body. Tests inspect the requests it saw, change the models
//! it lists and inject faults (any status and body, latency, a body of any size).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mantle_provider::token;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::runtime::Clock;

/// The response body type of every route.
pub type Body = BoxBody<Bytes, Infallible>;

/// Access keys the emulator knows, as `(access key id, secret)`.
pub type KnownKey = (String, String);

/// Model ids served by default: real Mantle ids.
pub const DEFAULT_MODELS: [&str; 6] = [
    "deepseek.v3.2",
    "moonshotai.kimi-k2-thinking",
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
}

#[derive(Debug)]
struct State {
    config: EmulatorConfig,
    seen: Vec<SeenRequest>,
    fault: Option<Fault>,
    latency: Duration,
    models_body: Option<String>,
    now_override: Option<u64>,
    clock: Option<Clock>,
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
            seen: Vec::new(),
            fault: None,
            latency: Duration::ZERO,
            models_body: None,
            now_override: None,
            clock: None,
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

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.state().seen.clone()
    }

    /// How many requests were made to `path`.
    pub fn count(&self, path: &str) -> usize {
        self.state().seen.iter().filter(|r| r.path == path).count()
    }

    /// Forgets the requests seen so far.
    pub fn clear_requests(&self) {
        self.state().seen.clear();
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

    /// Delays every answer by `latency`.
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

/// Mantle's OpenAI-shaped error body.
pub fn error_body(code: &str, kind: &str, message: &str) -> String {
    json!({"error": {"code": code, "message": message, "param": null, "type": kind}}).to_string()
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).boxed()
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
        .any(|k| mantle_provider::sigv4::constant_time_eq(k, bearer))
    {
        return None;
    }
    if !bearer.starts_with(token::PREFIX) {
        return Some(unauthorized("The API key is not valid"));
    }
    let decoded = match token::decode(bearer) {
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
        let response = answer(&mut st, parts.method.as_str(), parts.uri.path(), auth);
        st.seen.push(SeenRequest {
            method: parts.method.to_string(),
            path,
            headers,
            body,
            status: response.status().as_u16(),
        });
        (response, latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    Ok(response)
}

fn answer(st: &mut State, method: &str, path: &str, auth: Option<&str>) -> Response<Body> {
    if let Some(refusal) = authenticate(st, auth) {
        return refusal;
    }
    if let Some(fault) = st.fault.clone() {
        match fault.times {
            Some(0) => st.fault = None,
            Some(n) => {
                st.fault = Some(Fault {
                    times: Some(n - 1),
                    ..fault.clone()
                });
                return respond(fault.status, fault.body, &fault.headers);
            }
            None => return respond(fault.status, fault.body, &fault.headers),
        }
    }
    match (method, path) {
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
        _ => respond(
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
