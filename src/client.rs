//! One tenant's client: settings resolved against the environment, the bearer token
//! (given or minted, and re-minted in time), discovery with its cache, and listing.
//!
//! The environment, the clock and the network come in through [`Host`], so this logic runs
//! natively in tests exactly as it runs in the component.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Poll;

use crate::anthropic;
use crate::chat::{ChatEvent, ChatRequest, EventStream};
use crate::config::{self, ProviderConfig};
use crate::discovery;
use crate::error::{Error, Result};
use crate::http::{self, BaseUrl, Limits, Response};
use crate::model::Api;
use crate::model::Model;
use crate::openai;
use crate::region;
use crate::responses;
use crate::secrets::{self, Secrets};
use crate::token::{self, Credentials, Token};

/// How long discovered models are reused by [`Client::list`], seconds.
pub const MODEL_CACHE_SECS: u64 = 3600;
/// After a failed discovery, how long [`Client::list`] waits before asking again, seconds.
pub const FAILED_DISCOVERY_RETRY_SECS: u64 = 60;
/// A minted token is replaced this long before it expires, seconds.
pub const REMINT_EARLY_SECS: u64 = 300;
/// A minted token is replaced at least this often, seconds.
pub const REMINT_EVERY_SECS: u64 = 3600;
/// Lifetime asked for minted tokens, seconds.
pub const MINT_EXPIRES_IN: u32 = token::MAX_EXPIRES_IN;

/// What the provider needs from its host.
pub trait Host {
    /// An environment variable.
    fn env(&self, name: &str) -> Option<String>;
    /// Wall-clock time, seconds since the Unix epoch.
    fn now(&self) -> u64;
    /// Sends a request and reads the whole response within `limits`. Transport failures
    /// come back as [`Error::Timeout`] or [`Error::UpstreamUnavailable`].
    fn send(&mut self, request: &Request, limits: &Limits) -> Result<Response>;
    /// Sends a request and returns as soon as the response head is in; the body is read
    /// chunk by chunk as it arrives.
    fn open(&mut self, request: &Request, limits: &Limits) -> Result<Streaming>;
}

/// A response whose body is still arriving.
pub struct Streaming {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Box<dyn BodyReader>,
}

impl Streaming {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Reads the rest of the body, at most `max` bytes (more is cut off).
    pub fn read_to_end(mut self, max: usize) -> Vec<u8> {
        let mut data = Vec::new();
        while let Ok(Some(chunk)) = self.body.next_chunk() {
            let room = max.saturating_sub(data.len());
            data.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if data.len() >= max {
                break;
            }
        }
        data
    }
}

/// A body read as it arrives.
pub trait BodyReader {
    /// The next chunk as soon as any bytes are there; `None` at the end of the body.
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>>;

    /// Like [`BodyReader::next_chunk`], but never waits: `None` when no bytes have arrived
    /// yet. A reader that cannot tell waits, which is what the default does.
    fn try_next_chunk(&mut self) -> Option<Result<Option<Vec<u8>>>> {
        Some(self.next_chunk())
    }
}

/// An outgoing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Where it goes.
    pub base: BaseUrl,
    /// Path below the base, starting with `/`.
    pub path: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Request {
    /// The full URL, for messages (never carries a secret).
    pub fn url(&self) -> String {
        self.base.url(&self.path)
    }
}

/// The settings a host hands a client; unset fields fall back to the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// AWS region.
    pub region: Option<String>,
    /// A bearer token used as is.
    pub bearer_token: Option<String>,
    /// Credentials to mint tokens from.
    pub credentials: Option<Credentials>,
    /// Genesis JSON5 configuration text.
    pub config: Option<String>,
}

/// The resolved source of bearer tokens.
#[derive(Clone)]
enum Auth {
    /// A token used as is.
    Static(String),
    /// Credentials to mint from.
    Mint(Credentials),
    /// Nothing; the message says what would fix it.
    Missing(String),
}

/// Settings checked and merged with the environment and the configuration.
#[derive(Clone)]
struct Resolved {
    region: String,
    /// Why the region was accepted though it is not one of the documented ones.
    region_note: Option<String>,
    base: BaseUrl,
    config: ProviderConfig,
    auth: Auth,
    /// [`Resolved::identity`], worked out once.
    identity: String,
}

impl Resolved {
    /// What must never appear in a message: the bearer token in use and the credentials it
    /// is minted from.
    fn secrets(&self, bearer: &str) -> Secrets {
        let mut secrets = vec![bearer];
        if let Auth::Mint(c) = &self.auth {
            secrets.extend([c.access_key_id.as_str(), c.secret_access_key.as_str()]);
            secrets.extend(c.session_token.as_deref());
        }
        Secrets::new(&secrets)
    }

    /// What a listing depends on, without a secret: the base URL, the region and a
    /// fingerprint of the credential (the first 16 hex digits of the SHA-256 of the bearer
    /// token, or of the access key id tokens are minted with). Hex, 32 digits.
    fn identity(&self) -> &str {
        &self.identity
    }

    fn work_out_identity(region: &str, base: &BaseUrl, auth: &Auth) -> String {
        let credential = match auth {
            Auth::Static(token) => format!(
                "token:{}",
                &crate::sigv4::sha256_hex(token.as_bytes())[..16]
            ),
            Auth::Mint(c) => format!(
                "key:{}",
                &crate::sigv4::sha256_hex(c.access_key_id.as_bytes())[..16]
            ),
            Auth::Missing(_) => "none".to_owned(),
        };
        let url = base.url("");
        let all = format!("{url}\n{region}\n{credential}");
        crate::sigv4::sha256_hex(all.as_bytes())[..32].to_owned()
    }
}

#[derive(Clone)]
struct CachedModels {
    /// [`Resolved::identity`] of the upstream the models came from.
    identity: String,
    fetched_at: u64,
    models: Vec<Model>,
    /// Ids discovery left out, and why.
    diagnostics: Vec<String>,
}

/// Models and what the host should log about how they were found.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    /// Models, sorted by id.
    pub models: Vec<Model>,
    /// Why discovery contributed nothing fresh.
    pub diagnostics: Vec<String>,
}

/// One tenant's client and its caches. Nothing is shared between clients.
pub struct Client {
    settings: Settings,
    resolved: Option<Result<Arc<Resolved>>>,
    token: Option<Token>,
    models: Option<CachedModels>,
    failed_at: Option<(u64, Error)>,
}

const MISSING_CREDENTIALS: &str = "no Mantle credentials: set AWS_BEARER_TOKEN_BEDROCK, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN for temporary credentials), or pass bearer-token or credentials in the settings";

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Whether `s` looks like an AWS access key id, which must never be sent as a bearer token.
fn looks_like_access_key_id(s: &str) -> bool {
    (s.starts_with("AKIA") || s.starts_with("ASIA"))
        && (16..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl Client {
    /// The settings this client was made from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A client; nothing is checked until first use.
    pub fn new(settings: Settings) -> Client {
        Client {
            settings,
            resolved: None,
            token: None,
            models: None,
            failed_at: None,
        }
    }

    fn resolve(&mut self, host: &dyn Host) -> Result<Arc<Resolved>> {
        if let Some(r) = &self.resolved {
            return r.clone();
        }
        let r = resolve(&self.settings, host).map(Arc::new);
        self.resolved = Some(r.clone());
        r
    }

    /// The region this client talks to.
    pub fn region(&mut self, host: &dyn Host) -> Result<String> {
        self.resolve(host).map(|r| r.region.clone())
    }

    /// The bearer token for the next request: given, or minted and cached until it is due
    /// for re-minting (300 s before it expires, and at least hourly).
    pub fn bearer(&mut self, host: &dyn Host) -> Result<String> {
        let resolved = self.resolve(host)?;
        match &resolved.auth {
            Auth::Static(t) => Ok(t.clone()),
            Auth::Missing(m) => Err(Error::MissingCredentials(m.clone())),
            Auth::Mint(creds) => {
                let now = host.now();
                if let Some(t) = &self.token
                    && now.saturating_add(REMINT_EARLY_SECS) < t.expires_at
                    && now < t.issued_at.saturating_add(REMINT_EVERY_SECS)
                    && now >= t.issued_at
                {
                    return Ok(t.token.clone());
                }
                self.token = None;
                let t = token::mint(creds, &resolved.region, MINT_EXPIRES_IN, now)?;
                let bearer = t.token.clone();
                self.token = Some(t);
                Ok(bearer)
            }
        }
    }

    /// The current minted token, if any (for inspection; never logged).
    pub fn minted(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    /// What this client's listing depends on, as a key for caches kept outside it: a hex
    /// digest of the base URL, the region and a fingerprint of the credential (never the
    /// credential itself). Clients of different upstreams or credentials have different keys.
    pub fn cache_identity(&mut self, host: &dyn Host) -> Result<String> {
        self.resolve(host).map(|r| r.identity().to_owned())
    }

    /// The models of the last successful discovery and when they were found, for a host that
    /// keeps them across short-lived instances (the HTTP face, one instance per request).
    pub fn discovered(&self) -> Option<(u64, &[Model])> {
        self.models
            .as_ref()
            .map(|c| (c.fetched_at, c.models.as_slice()))
    }

    /// Seeds the listing cache with models discovered earlier (by another instance of the
    /// same tenant); they expire [`MODEL_CACHE_SECS`] after `fetched_at` as if found here.
    /// `identity` is the [`Client::cache_identity`] of the client that found them: models
    /// of another upstream or credential are ignored, and `false` says so.
    pub fn seed_discovered(
        &mut self,
        host: &dyn Host,
        identity: &str,
        fetched_at: u64,
        models: Vec<Model>,
    ) -> bool {
        let Ok(own) = self.cache_identity(host) else {
            return false;
        };
        if own != identity {
            return false;
        }
        self.models = Some(CachedModels {
            identity: own,
            fetched_at,
            models,
            diagnostics: Vec::new(),
        });
        true
    }

    /// `GET {baseUrl}/models`: every failure is an error. Refreshes the listing cache.
    pub fn discover(&mut self, host: &mut dyn Host) -> Result<Vec<Model>> {
        let resolved = self.resolve(host)?;
        let bearer = self.bearer(host)?;
        let request = Request {
            method: "GET",
            base: resolved.base.clone(),
            path: "/models".into(),
            headers: vec![
                ("authorization".into(), format!("Bearer {bearer}")),
                ("accept".into(), "application/json".into()),
            ],
            body: Vec::new(),
        };
        let what = format!("GET {}", request.url());
        let timeout = resolved.config.discovery_timeout_ms;
        let limits = Limits {
            first_byte_ms: timeout,
            between_bytes_ms: timeout,
            total_ms: timeout,
            connect_ms: http::DISCOVERY_LIMITS.connect_ms.min(timeout),
            ..http::DISCOVERY_LIMITS
        };
        let response = host.send(&request, &limits)?;
        let secrets = resolved.secrets(&bearer);
        if !(200..300).contains(&response.status) {
            let retry = response
                .header("retry-after")
                .and_then(|v| http::retry_after_header(v, host.now()));
            let mut e = http::classify_error(
                &what,
                response.status,
                retry.as_deref(),
                &response.body,
                &secrets,
            );
            if response.status == 404 {
                e = Error::Configuration(format!(
                    "{}; check that baseUrl ends in /v1",
                    e.message()
                ));
            }
            return Err(e);
        }
        let found = discovery::parse_discovery(&response.body, &secrets).map_err(|e| match e {
            Error::Protocol(m) => Error::Protocol(format!("{what}: {m}")),
            other => other,
        })?;
        let models = found.models;
        self.models = Some(CachedModels {
            identity: resolved.identity().to_owned(),
            fetched_at: host.now(),
            models: models.clone(),
            diagnostics: found.diagnostics,
        });
        self.failed_at = None;
        Ok(models)
    }

    /// Discovered (cached for an hour) and configured models merged, plus built-in ones.
    ///
    /// The provider is skipped silently when it cannot serve: without usable credentials it
    /// lists nothing (and says why in a diagnostic); when discovery fails or finds no models
    /// it lists the configured models only; built-in rows appear only alongside a successful
    /// discovery. Upstream trouble is never an error here.
    pub fn list(&mut self, host: &mut dyn Host) -> Result<Listing> {
        let Some((resolved, diagnostics)) = self.refresh_or_skip(host)? else {
            return Ok(Listing {
                models: Vec::new(),
                diagnostics: self.skip_diagnostics(host),
            });
        };
        Ok(Listing {
            models: discovery::merge(self.known_discovered(&resolved), &resolved.config),
            diagnostics,
        })
    }

    /// [`Client::refresh`], or `None` when the provider has no usable credentials and is
    /// skipped.
    fn refresh_or_skip(
        &mut self,
        host: &mut dyn Host,
    ) -> Result<Option<(Arc<Resolved>, Vec<String>)>> {
        match self.resolve(host) {
            Err(Error::MissingCredentials(_)) => return Ok(None),
            Err(e) => return Err(e),
            Ok(r) if matches!(r.auth, Auth::Missing(_)) => return Ok(None),
            Ok(_) => {}
        }
        self.refresh(host).map(Some)
    }

    /// Why the provider is skipped (see [`Client::refresh_or_skip`]).
    fn skip_diagnostics(&mut self, host: &dyn Host) -> Vec<String> {
        let why = match self.resolve(host) {
            Err(e) => e.message().to_owned(),
            Ok(r) => match &r.auth {
                Auth::Missing(m) => m.clone(),
                _ => String::new(),
            },
        };
        vec![format!("provider skipped, it lists no models: {why}")]
    }

    /// One model as [`Client::list`] would list it, without building the whole listing (a
    /// gateway checks the model of every request); `None` when the listing lacks it.
    /// `id` is a model reference: `amazon-bedrock-mantle/<id>` or `<id>`.
    pub fn lookup(&mut self, host: &mut dyn Host, id: &str) -> Result<Lookup> {
        let id = crate::model::model_id(id);
        let Some((resolved, diagnostics)) = self.refresh_or_skip(host)? else {
            return Ok(Lookup {
                model: None,
                diagnostics: self.skip_diagnostics(host),
            });
        };
        Ok(Lookup {
            model: discovery::describe(id, self.known_discovered(&resolved), &resolved.config),
            diagnostics,
        })
    }

    /// Refreshes discovery when its cache is stale and it has not failed just now; says why
    /// discovery contributes nothing fresh, if it does not.
    fn refresh(&mut self, host: &mut dyn Host) -> Result<(Arc<Resolved>, Vec<String>)> {
        let resolved = self.resolve(host)?;
        let mut diagnostics: Vec<String> = resolved.region_note.iter().cloned().collect();
        if !resolved.config.discovery {
            return Ok((resolved, diagnostics));
        }
        let identity = resolved.identity();
        if self.models.as_ref().is_some_and(|c| c.identity != identity) {
            self.models = None;
        }
        let now = host.now();
        let fresh = self
            .models
            .as_ref()
            .is_some_and(|c| now >= c.fetched_at && now - c.fetched_at < MODEL_CACHE_SECS);
        if !fresh {
            let recently_failed = self
                .failed_at
                .as_ref()
                .filter(|(at, _)| now >= *at && now - *at < FAILED_DISCOVERY_RETRY_SECS);
            if let Some((at, e)) = recently_failed {
                diagnostics.push(format!(
                    "discovery skipped: it failed {} s ago ({e}); retrying after {FAILED_DISCOVERY_RETRY_SECS} s",
                    now - at
                ));
            } else if let Err(e) = self.discover(host) {
                diagnostics.push(format!("discovery failed, listing without it: {e}"));
                self.failed_at = Some((now, e));
            }
        }
        match &self.models {
            Some(c) if now.saturating_sub(c.fetched_at) >= MODEL_CACHE_SECS => {
                diagnostics.push(format!(
                    "using models discovered {} s ago",
                    now.saturating_sub(c.fetched_at)
                ));
            }
            Some(c) if !c.models.is_empty() => {}
            _ if diagnostics
                .iter()
                .all(|d| Some(d) == resolved.region_note.as_ref()) =>
            {
                diagnostics.push("discovery returned no models".into());
            }
            _ => {}
        }
        if let Some(c) = &self.models {
            diagnostics.extend(c.diagnostics.iter().cloned());
        }
        Ok((resolved, diagnostics))
    }

    /// The discovered models a listing includes, stale ones too (after [`Client::refresh`]).
    fn known_discovered(&self, resolved: &Resolved) -> &[Model] {
        match &self.models {
            Some(c) if resolved.config.discovery && c.identity == resolved.identity() => &c.models,
            _ => &[],
        }
    }
}

/// One model of the listing and what the host should log about how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// The model, as the listing describes it; `None` when the listing lacks it.
    pub model: Option<Model>,
    /// Why discovery contributed nothing fresh (the listing may then lack a real model).
    pub diagnostics: Vec<String>,
}

/// Most bytes read after a stream's final event to let the connection be reused.
const DRAIN_MAX: usize = 64 * 1024;

/// Largest error body read from a failed chat request.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The error body of a failed chat request, at most [`MAX_ERROR_BODY`] bytes, safe to quote
/// once `secrets` are removed.
fn read_error_body(response: Streaming, secrets: &Secrets) -> Vec<u8> {
    let mut body = response.read_to_end(MAX_ERROR_BODY);
    secrets::drop_cut_tail(&mut body, MAX_ERROR_BODY, secrets);
    body
}
/// Output cap of an Anthropic model the listing does not describe.
const UNKNOWN_ANTHROPIC_MAX_TOKENS: u32 = 8_192;

impl Client {
    /// Starts a streamed chat completion on the route the model needs. Failures before the
    /// first byte of the answer (refusals, unknown model, over quota) are errors here.
    pub fn chat_stream(
        &mut self,
        host: &mut dyn Host,
        request: &ChatRequest,
    ) -> Result<ChatStream> {
        let resolved = self.resolve(host)?;
        if request.model.trim().is_empty() {
            return Err(Error::InvalidRequest("the request names no model".into()));
        }
        if request.messages.is_empty() {
            return Err(Error::InvalidRequest("the request has no messages".into()));
        }
        let now = host.now();
        let identity = resolved.identity();
        let discovered: &[Model] = match &self.models {
            Some(c)
                if resolved.config.discovery
                    && c.identity == identity
                    && now.saturating_sub(c.fetched_at) < MODEL_CACHE_SECS =>
            {
                &c.models
            }
            _ => &[],
        };
        let id = crate::model::model_id(&request.model);
        let listed = discovery::describe_for_request(id, discovered, &resolved.config);
        let api = listed.as_ref().map_or_else(
            || discovery::default_api(id, resolved.config.api),
            |m| m.api,
        );
        let mut notes = Vec::new();
        let bearer = self.bearer(host)?;
        let mut headers = vec![
            ("authorization".to_owned(), format!("Bearer {bearer}")),
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), "text/event-stream".to_owned()),
        ];
        let (base, path, body) = match api {
            Api::OpenaiCompletions => {
                // Discovered limits are guesses; only configured ones cap the request.
                let cap = listed
                    .as_ref()
                    .filter(|m| m.source != crate::model::ModelSource::Discovered)
                    .map(|m| m.max_tokens);
                (
                    resolved.base.clone(),
                    "/chat/completions",
                    openai::build_request(request, cap)?,
                )
            }
            Api::OpenaiResponses => {
                let cap = listed
                    .as_ref()
                    .filter(|m| m.source != crate::model::ModelSource::Discovered)
                    .map(|m| m.max_tokens);
                // GPT-5.x is served only on the /openai/v1 base; other models on the base.
                let base = if discovery::is_gpt5(&request.model) {
                    resolved.base.openai()
                } else {
                    resolved.base.clone()
                };
                let store = resolved.config.store_for(&request.model);
                (
                    base,
                    "/responses",
                    responses::build_request(request, cap, store)?,
                )
            }
            Api::AnthropicMessages => {
                headers.push((
                    "anthropic-version".to_owned(),
                    anthropic::ANTHROPIC_VERSION.to_owned(),
                ));
                let cap = listed
                    .as_ref()
                    .map_or(UNKNOWN_ANTHROPIC_MAX_TOKENS, |m| m.max_tokens);
                let thinking = listed.as_ref().is_none_or(|m| m.reasoning);
                (
                    resolved.base.anthropic(),
                    "/v1/messages",
                    anthropic::build_request_noting(request, cap, thinking, &mut notes)?,
                )
            }
        };
        let http_request = Request {
            method: "POST",
            base,
            path: path.to_owned(),
            headers,
            body: body.into_bytes(),
        };
        let limits = Limits {
            connect_ms: http::DISCOVERY_LIMITS.connect_ms,
            first_byte_ms: resolved.config.first_byte_timeout_ms,
            between_bytes_ms: resolved.config.between_bytes_timeout_ms,
            total_ms: 0,
            max_body: usize::MAX,
        };
        let what = format!("POST {}", http_request.url());
        let response = host.open(&http_request, &limits)?;
        if !(200..300).contains(&response.status) {
            let status = response.status;
            let retry = response
                .header("retry-after")
                .and_then(|v| http::retry_after_header(v, now));
            let secrets = resolved.secrets(&bearer);
            let body = read_error_body(response, &secrets);
            let e = match api {
                Api::OpenaiCompletions => {
                    openai::classify_error(status, retry.as_deref(), &body, &secrets)
                }
                Api::AnthropicMessages => {
                    anthropic::classify_error(status, retry.as_deref(), &body, &secrets)
                }
                Api::OpenaiResponses => {
                    responses::classify_error(status, retry.as_deref(), &body, &secrets)
                }
            };
            return Err(e);
        }
        let content_type = response.header("content-type").unwrap_or("").to_owned();
        if !content_type.starts_with("text/event-stream") {
            let secrets = resolved.secrets(&bearer);
            let body = read_error_body(response, &secrets);
            let said = secrets::quote(
                &String::from_utf8_lossy(&body),
                &secrets,
                http::MESSAGE_CHARS,
            );
            return Err(Error::Protocol(format!(
                "{what} answered {content_type:?} instead of an event stream: {said:?}"
            )));
        }
        let events = match api {
            Api::OpenaiCompletions => {
                Events::OpenAi(openai::event_stream().redacting(resolved.secrets(&bearer)))
            }
            Api::AnthropicMessages => {
                Events::Anthropic(anthropic::event_stream().redacting(resolved.secrets(&bearer)))
            }
            Api::OpenaiResponses => {
                Events::Responses(responses::event_stream().redacting(resolved.secrets(&bearer)))
            }
        };
        Ok(ChatStream {
            body: response.body,
            events,
            pending: VecDeque::new(),
            failure: None,
            done: false,
            drain_left: DRAIN_MAX,
            diagnostics: notes,
        })
    }
}

/// A Messages request as the client wrote it, for [`Client::anthropic_passthrough`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessages {
    /// Path below the Anthropic base, e.g. `/v1/messages`.
    pub path: String,
    /// The client's JSON body, sent byte for byte.
    pub body: Vec<u8>,
    /// The client's `anthropic-beta` value (comma-separated features), forwarded as is.
    pub beta: Option<String>,
    /// Whether the body asks for a stream (`stream: true`): sets `accept`.
    pub stream: bool,
}

impl Client {
    /// Sends a Messages request on Mantle's Anthropic route with the client's body as written
    /// (thinking blocks, signatures and tool schemas untouched), the client's `anthropic-beta`,
    /// `anthropic-version: 2023-06-01` (the one Mantle takes, whatever the client sent) and
    /// this client's bearer token, given or minted. Returns the answer as it arrives (SSE or
    /// JSON, for the caller to pass on as is). A refusal is an error here, classified and
    /// redacted as [`Client::chat_stream`] does.
    pub fn anthropic_passthrough(
        &mut self,
        host: &mut dyn Host,
        request: RawMessages,
    ) -> Result<Streaming> {
        let resolved = self.resolve(host)?;
        let bearer = self.bearer(host)?;
        let accept = if request.stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut headers = vec![
            ("authorization".to_owned(), format!("Bearer {bearer}")),
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), accept.to_owned()),
            (
                "anthropic-version".to_owned(),
                anthropic::ANTHROPIC_VERSION.to_owned(),
            ),
        ];
        if let Some(beta) = request.beta.filter(|b| !b.trim().is_empty()) {
            headers.push(("anthropic-beta".to_owned(), beta));
        }
        let http_request = Request {
            method: "POST",
            base: resolved.base.anthropic(),
            path: request.path,
            headers,
            body: request.body,
        };
        let limits = Limits {
            connect_ms: http::DISCOVERY_LIMITS.connect_ms,
            first_byte_ms: resolved.config.first_byte_timeout_ms,
            between_bytes_ms: resolved.config.between_bytes_timeout_ms,
            total_ms: 0,
            max_body: usize::MAX,
        };
        let response = host.open(&http_request, &limits)?;
        if !(200..300).contains(&response.status) {
            let status = response.status;
            let retry = response.header("retry-after").map(str::to_owned);
            let secrets = resolved.secrets(&bearer);
            let body = read_error_body(response, &secrets);
            return Err(anthropic::classify_error(
                status,
                retry.as_deref(),
                &body,
                &secrets,
            ));
        }
        Ok(response)
    }
}

enum Events {
    OpenAi(EventStream<openai::Mapper>),
    Anthropic(EventStream<anthropic::Mapper>),
    Responses(EventStream<responses::Mapper>),
}

impl Events {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<ChatEvent>) -> Result<()> {
        match self {
            Events::OpenAi(s) => s.feed(chunk, out),
            Events::Anthropic(s) => s.feed(chunk, out),
            Events::Responses(s) => s.feed(chunk, out),
        }
    }

    fn end(&mut self, out: &mut Vec<ChatEvent>) -> Result<()> {
        match self {
            Events::OpenAi(s) => s.end(out),
            Events::Anthropic(s) => s.end(out),
            Events::Responses(s) => s.end(out),
        }
    }

    fn finished(&self) -> bool {
        match self {
            Events::OpenAi(s) => s.finished(),
            Events::Anthropic(s) => s.finished(),
            Events::Responses(s) => s.finished(),
        }
    }
}

/// A streamed answer: one upstream chunk in, its events out, nothing else held.
pub struct ChatStream {
    body: Box<dyn BodyReader>,
    events: Events,
    pending: VecDeque<ChatEvent>,
    failure: Option<Error>,
    done: bool,
    /// Bytes the drain after the final event may still read.
    drain_left: usize,
    diagnostics: Vec<String>,
}

impl ChatStream {
    /// What the provider changed in the request to send it in a form the upstream accepts
    /// (e.g. a sampling parameter dropped because thinking is on), for the host's log.
    pub fn diagnostics(&self) -> &[String] {
        &self.diagnostics
    }

    /// Whether events are decoded and waiting, so [`ChatStream::next_event`] returns without
    /// reading the upstream; a host uses it to write what one upstream chunk gave at once.
    pub fn buffered(&self) -> bool {
        !self.pending.is_empty() || self.failure.is_some() || self.done
    }

    fn read(&mut self, wait: bool) -> Option<Result<Option<Vec<u8>>>> {
        if wait {
            Some(self.body.next_chunk())
        } else {
            self.body.try_next_chunk()
        }
    }

    /// Reads what is left of a body whose final event came (usually only the end of the
    /// chunked encoding), so the host can put the connection back in its pool; a body that
    /// is dropped unread closes its connection. Gives up after [`DRAIN_MAX`] bytes. `false`
    /// when it would have to wait and `wait` is not set.
    fn drain(&mut self, wait: bool) -> bool {
        loop {
            match self.read(wait) {
                None => return false,
                Some(Ok(Some(chunk))) if chunk.len() < self.drain_left => {
                    self.drain_left -= chunk.len();
                }
                Some(_) => return true,
            }
        }
    }

    /// The next event; `None` only after the finish event or an error. Events that arrived
    /// before a failure are delivered first, then the failure.
    pub fn next_event(&mut self) -> Option<Result<ChatEvent>> {
        loop {
            if let Poll::Ready(next) = self.advance(true) {
                return next;
            }
        }
    }

    /// Like [`ChatStream::next_event`], but never waits for the upstream:
    /// [`Poll::Pending`] when the next event needs bytes that have not arrived yet.
    pub fn poll_event(&mut self) -> Poll<Option<Result<ChatEvent>>> {
        self.advance(false)
    }

    fn advance(&mut self, wait: bool) -> Poll<Option<Result<ChatEvent>>> {
        let mut out = Vec::new();
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Poll::Ready(Some(Ok(e)));
            }
            if let Some(e) = self.failure.take() {
                self.done = true;
                return Poll::Ready(Some(Err(e)));
            }
            if self.done || self.events.finished() {
                if !self.done && !self.drain(wait) {
                    return Poll::Pending;
                }
                self.done = true;
                return Poll::Ready(None);
            }
            let Some(read) = self.read(wait) else {
                return Poll::Pending;
            };
            let step = match read {
                Ok(Some(chunk)) => self.events.feed(&chunk, &mut out),
                Ok(None) => {
                    self.done = true;
                    self.events.end(&mut out)
                }
                Err(e) => {
                    self.done = true;
                    if self.events.finished() {
                        Ok(())
                    } else {
                        Err(match e {
                            Error::Timeout(m) => Error::Timeout(m),
                            other => Error::Truncated(format!(
                                "the stream broke before its final event: {}",
                                other.message()
                            )),
                        })
                    }
                }
            };
            self.pending.extend(out.drain(..));
            if let Err(e) = step {
                self.done = true;
                self.failure = Some(e);
            }
        }
    }
}

fn resolve(settings: &Settings, host: &dyn Host) -> Result<Resolved> {
    let env = |name: &str| non_empty(host.env(name));
    let region = region::resolve(
        settings.region.as_deref(),
        env("AWS_REGION").as_deref(),
        env("AWS_DEFAULT_REGION").as_deref(),
    )?;
    let region_note = region::check(&region)?;
    let config = match settings.config.as_deref() {
        Some(text) if !text.trim().is_empty() => config::parse(text)?,
        _ => config::parse("{}")?,
    };
    let base = match &config.base_url {
        Some(url) => BaseUrl::parse(url)?,
        None => BaseUrl::parse(&region::base_url(&region))?,
    };

    let credentials = match &settings.credentials {
        Some(c) => Some(c.clone()),
        None => match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Some(Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: env("AWS_SESSION_TOKEN"),
                expiration: None,
            }),
            (Some(_), None) => {
                return Err(Error::MissingCredentials(
                    "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(Error::MissingCredentials(
                    "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not".into(),
                ));
            }
            (None, None) => None,
        },
    };
    let configured_key = config.api_key.as_ref().and_then(|k| k.resolve(|n| env(n)));
    let bearer = non_empty(settings.bearer_token.clone())
        .or(configured_key)
        .or_else(|| env("AWS_BEARER_TOKEN_BEDROCK"));
    let auth = match (bearer, credentials) {
        (Some(b), creds) => {
            let is_credential = looks_like_access_key_id(&b)
                || creds.as_ref().is_some_and(|c| {
                    b == c.secret_access_key || Some(&b) == c.session_token.as_ref()
                });
            if is_credential {
                return Err(Error::Configuration(
                    "the bearer token is an AWS credential, not a Mantle API key; pass credentials as credentials so tokens are minted from them".into(),
                ));
            }
            Auth::Static(b)
        }
        (None, Some(c)) => Auth::Mint(c),
        (None, None) => Auth::Missing(MISSING_CREDENTIALS.into()),
    };
    let identity = Resolved::work_out_identity(&region, &base, &auth);
    Ok(Resolved {
        region,
        region_note,
        base,
        config,
        auth,
        identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host whose `GET /models` answers `status` with `body`, at a clock tests move.
    struct FakeHost {
        now: u64,
        status: u16,
        body: &'static str,
        sent: usize,
    }

    impl Host for FakeHost {
        fn env(&self, _name: &str) -> Option<String> {
            None
        }
        fn now(&self) -> u64 {
            self.now
        }
        fn send(&mut self, _request: &Request, _limits: &Limits) -> Result<Response> {
            self.sent += 1;
            Ok(Response {
                status: self.status,
                headers: Vec::new(),
                body: self.body.as_bytes().to_vec(),
            })
        }
        fn open(&mut self, _request: &Request, _limits: &Limits) -> Result<Streaming> {
            Err(Error::NotImplemented("no chat in these tests".into()))
        }
    }

    const MODELS: &str = r#"{"object":"list","data":[{"id":"openai.gpt-oss-120b"},{"id":"deepseek.v3.2"},{"id":"qwen.qwen3-coder-480b-a35b-instruct"}]}"#;
    const CONFIG: &str = r#"{ models: { providers: { "amazon-bedrock-mantle": { baseUrl: "http://127.0.0.1:9/v1",
        models: [ { id: "deepseek.v3.2", contextWindow: 128000 }, { id: "my.own-model", reasoning: true } ] } } } }"#;

    fn client() -> Client {
        Client::new(Settings {
            bearer_token: Some("key".into()),
            config: Some(CONFIG.into()),
            ..Settings::default()
        })
    }

    #[test]
    fn lookup_describes_each_model_exactly_as_the_listing_does() {
        for (status, body) in [(200, MODELS), (503, "busy"), (200, r#"{"data":[]}"#)] {
            let mut host = FakeHost {
                now: 1_800_000_000,
                status,
                body,
                sent: 0,
            };
            let listing = client().list(&mut host).unwrap();
            let mut c = client();
            for model in &listing.models {
                let found = c.lookup(&mut host, &model.id).unwrap();
                assert_eq!(found.model.as_ref(), Some(model), "{status} {body}");
                assert_eq!(found.diagnostics.is_empty(), listing.diagnostics.is_empty());
            }
            let missing = c.lookup(&mut host, "no.such-model").unwrap();
            assert_eq!(missing.model, None);
        }
    }

    #[test]
    fn lookup_uses_the_discovery_cache_like_list() {
        let mut host = FakeHost {
            now: 1_800_000_000,
            status: 200,
            body: MODELS,
            sent: 0,
        };
        let mut c = client();
        assert!(
            c.lookup(&mut host, "openai.gpt-oss-120b")
                .unwrap()
                .model
                .is_some()
        );
        assert!(
            c.lookup(&mut host, "deepseek.v3.2")
                .unwrap()
                .model
                .is_some()
        );
        assert_eq!(host.sent, 1, "one discovery for the hour");
        host.now += MODEL_CACHE_SECS;
        host.status = 500;
        let stale = c.lookup(&mut host, "openai.gpt-oss-120b").unwrap();
        assert_eq!(host.sent, 2, "refreshed after the hour");
        assert!(stale.model.is_some(), "stale models still count");
        assert!(
            stale
                .diagnostics
                .iter()
                .any(|d| d.contains("discovery failed")),
            "{:?}",
            stale.diagnostics
        );
    }

    /// A host whose streaming requests answer `status` with `body` and are kept for a look.
    struct OpenHost {
        status: u16,
        headers: Vec<(String, String)>,
        body: &'static str,
        opened: Vec<Request>,
    }

    struct Chunks(Vec<Vec<u8>>);

    impl BodyReader for Chunks {
        fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
            Ok((!self.0.is_empty()).then(|| self.0.remove(0)))
        }
    }

    impl Host for OpenHost {
        fn env(&self, _name: &str) -> Option<String> {
            None
        }
        fn now(&self) -> u64 {
            1_800_000_000
        }
        fn send(&mut self, _request: &Request, _limits: &Limits) -> Result<Response> {
            Err(Error::NotImplemented("no listing in these tests".into()))
        }
        fn open(&mut self, request: &Request, _limits: &Limits) -> Result<Streaming> {
            self.opened.push(request.clone());
            Ok(Streaming {
                status: self.status,
                headers: self.headers.clone(),
                body: Box::new(Chunks(vec![self.body.as_bytes().to_vec()])),
            })
        }
    }

    fn open_host(status: u16, body: &'static str) -> OpenHost {
        OpenHost {
            status,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body,
            opened: Vec::new(),
        }
    }

    /// A body whose keys are out of any order a serializer would pick, with a signature.
    const MESSAGES_BODY: &str = r#"{"stream":true,"model":"claude-opus-4.7","max_tokens":2048,"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"EqQB+/=="}]}],"tools":[{"name":"t","input_schema":{"type":"object","b":1,"a":2}}]}"#;

    fn raw(stream: bool, beta: Option<&str>) -> RawMessages {
        RawMessages {
            path: "/v1/messages".into(),
            body: MESSAGES_BODY.as_bytes().to_vec(),
            beta: beta.map(str::to_owned),
            stream,
        }
    }

    fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
        request
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn passthrough_sends_the_body_as_written_with_mantles_headers() {
        let mut host = open_host(200, "event: message_stop\ndata: {}\n\n");
        let answer = client()
            .anthropic_passthrough(
                &mut host,
                raw(true, Some("interleaved-thinking-2025-05-14")),
            )
            .unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.read_to_end(1 << 10),
            b"event: message_stop\ndata: {}\n\n"
        );
        let sent = &host.opened[0];
        assert_eq!(sent.url(), "http://127.0.0.1:9/anthropic/v1/messages");
        assert_eq!(sent.body, MESSAGES_BODY.as_bytes());
        assert_eq!(header(sent, "authorization"), Some("Bearer key"));
        assert_eq!(header(sent, "anthropic-version"), Some("2023-06-01"));
        assert_eq!(
            header(sent, "anthropic-beta"),
            Some("interleaved-thinking-2025-05-14")
        );
        assert_eq!(header(sent, "accept"), Some("text/event-stream"));

        client()
            .anthropic_passthrough(&mut host, raw(false, None))
            .unwrap();
        let sent = &host.opened[1];
        assert_eq!(header(sent, "anthropic-beta"), None);
        assert_eq!(header(sent, "accept"), Some("application/json"));
    }

    #[test]
    fn passthrough_mints_its_token_from_credentials() {
        let mut host = open_host(200, "{}");
        let mut c = Client::new(Settings {
            credentials: Some(Credentials {
                access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                session_token: None,
                expiration: None,
            }),
            config: Some(CONFIG.into()),
            ..Settings::default()
        });
        c.anthropic_passthrough(&mut host, raw(false, None))
            .unwrap();
        let minted = c.minted().unwrap().token.clone();
        assert!(minted.starts_with("bedrock-api-key-"));
        assert_eq!(
            header(&host.opened[0], "authorization"),
            Some(format!("Bearer {minted}").as_str())
        );
    }

    #[test]
    fn passthrough_refusals_are_classified_and_redacted() {
        let mut host = open_host(
            429,
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#,
        );
        host.headers.push(("retry-after".into(), "7".into()));
        let e = client()
            .anthropic_passthrough(&mut host, raw(true, None))
            .err()
            .unwrap();
        assert!(
            matches!(
                e,
                Error::RateLimited {
                    retry_after: Some(7),
                    ..
                }
            ),
            "{e:?}"
        );

        const BEARER: &str = "mantle-bearer-0123456789abcdef";
        let mut host = open_host(
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad token mantle-bearer-0123456789abcdef"}}"#,
        );
        let mut c = Client::new(Settings {
            bearer_token: Some(BEARER.into()),
            config: Some(CONFIG.into()),
            ..Settings::default()
        });
        let e = c
            .anthropic_passthrough(&mut host, raw(true, None))
            .err()
            .unwrap();
        assert!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
        assert!(e.message().contains("bad token"), "{e}");
        assert!(
            !e.message().contains(BEARER),
            "the bearer token is redacted: {e}"
        );

        let mut host = open_host(
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        let e = client()
            .anthropic_passthrough(&mut host, raw(true, None))
            .err()
            .unwrap();
        assert!(
            matches!(
                e,
                Error::UpstreamUnavailable {
                    status: Some(529),
                    ..
                }
            ),
            "{e:?}"
        );
    }

    /// A body that gives its chunks in order; polled, it says "nothing yet" before each.
    struct PacedBody {
        chunks: VecDeque<Vec<u8>>,
        ready: bool,
    }

    impl BodyReader for PacedBody {
        fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
            Ok(self.chunks.pop_front())
        }
        fn try_next_chunk(&mut self) -> Option<Result<Option<Vec<u8>>>> {
            self.ready = !self.ready;
            self.ready.then(|| self.next_chunk())
        }
    }

    /// A host whose chat answers stream `chunks`.
    struct StreamHost {
        chunks: Vec<Vec<u8>>,
    }

    impl Host for StreamHost {
        fn env(&self, _name: &str) -> Option<String> {
            None
        }
        fn now(&self) -> u64 {
            1_800_000_000
        }
        fn send(&mut self, _request: &Request, _limits: &Limits) -> Result<Response> {
            Err(Error::NotImplemented("no discovery in these tests".into()))
        }
        fn open(&mut self, _request: &Request, _limits: &Limits) -> Result<Streaming> {
            Ok(Streaming {
                status: 200,
                headers: vec![("content-type".into(), "text/event-stream".into())],
                body: Box::new(PacedBody {
                    chunks: self.chunks.clone().into(),
                    ready: false,
                }),
            })
        }
    }

    #[test]
    fn polled_events_are_the_waited_events_wherever_chunks_split() {
        let chunk = |delta: &str, finish: &str| {
            format!(
                "data: {{\"id\":\"c1\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
            )
        };
        let whole = [
            chunk(r#"{"role":"assistant","content":""}"#, "null"),
            chunk(r#"{"content":"Hello"}"#, "null"),
            chunk(r#"{"content":" world"}"#, "null"),
            chunk("{}", r#""stop""#),
            "data: [DONE]\n\n".to_owned(),
        ]
        .concat();
        let cut = whole[..whole.len() / 2].to_owned();
        let mut c = Client::new(Settings {
            bearer_token: Some("key".into()),
            config: Some(
                r#"{ models: { providers: { "amazon-bedrock-mantle": { baseUrl: "http://127.0.0.1:9/v1", discovery: false, models: [ { id: "m" } ] } } } }"#.into(),
            ),
            ..Settings::default()
        });
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![crate::chat::Message::User(vec![
                crate::chat::ContentPart::Text("hi".into()),
            ])],
            ..ChatRequest::default()
        };
        for body in [&whole, &cut] {
            for size in 1..=body.len() {
                let mut host = StreamHost {
                    chunks: body.as_bytes().chunks(size).map(<[u8]>::to_vec).collect(),
                };
                let mut waited = Vec::new();
                let mut stream = c.chat_stream(&mut host, &request).unwrap();
                while let Some(next) = stream.next_event() {
                    waited.push(next);
                }
                let (mut polled, mut pending) = (Vec::new(), 0);
                let mut stream = c.chat_stream(&mut host, &request).unwrap();
                loop {
                    match stream.poll_event() {
                        Poll::Pending => pending += 1,
                        Poll::Ready(Some(next)) => polled.push(next),
                        Poll::Ready(None) => break,
                    }
                    assert!(pending < 10_000, "the stream does not end");
                }
                assert_eq!(polled, waited, "chunks of {size}");
                assert!(pending > 0);
                let last = waited.last().unwrap();
                if body == &whole {
                    assert_eq!(waited.len(), 4, "{waited:?}");
                    assert!(matches!(last, Ok(ChatEvent::Finish(_))), "{last:?}");
                } else {
                    assert!(matches!(last, Err(Error::Truncated(_))), "{last:?}");
                }
            }
        }
    }

    #[test]
    fn the_provider_is_skipped_exactly_as_the_rule_says() {
        let mut host = FakeHost {
            now: 1_800_000_000,
            status: 200,
            body: MODELS,
            sent: 0,
        };
        // No usable credentials: nothing listed, a diagnostic, no request.
        let mut none = Client::new(Settings {
            config: Some(CONFIG.into()),
            ..Settings::default()
        });
        let listing = none.list(&mut host).unwrap();
        assert!(listing.models.is_empty(), "{:?}", listing.models);
        assert!(
            listing
                .diagnostics
                .iter()
                .any(|d| d.contains("no Mantle credentials")),
            "{:?}",
            listing.diagnostics
        );
        assert_eq!(host.sent, 0);
        assert_eq!(none.lookup(&mut host, "my.own-model").unwrap().model, None);
        // Discovery fails, or finds nothing: configured models only.
        for (status, body) in [(503, "busy"), (200, r#"{"data":[]}"#)] {
            host.status = status;
            host.body = body;
            let listing = client().list(&mut host).unwrap();
            let ids: Vec<&str> = listing.models.iter().map(|m| m.id.as_str()).collect();
            assert_eq!(ids, ["deepseek.v3.2", "my.own-model"], "{status} {body}");
            assert!(!listing.diagnostics.is_empty());
        }
        // A successful discovery brings the built-in rows.
        host.status = 200;
        host.body = MODELS;
        let listing = client().list(&mut host).unwrap();
        assert!(
            listing
                .models
                .iter()
                .any(|m| m.id == discovery::CLAUDE_OPUS_ID)
        );
    }

    #[test]
    fn prefixed_references_name_the_same_model() {
        let mut host = FakeHost {
            now: 1_800_000_000,
            status: 200,
            body: MODELS,
            sent: 0,
        };
        let mut c = client();
        let bare = c.lookup(&mut host, "openai.gpt-oss-120b").unwrap().model;
        let prefixed = c
            .lookup(&mut host, "amazon-bedrock-mantle/openai.gpt-oss-120b")
            .unwrap()
            .model;
        assert!(bare.is_some());
        assert_eq!(bare, prefixed);
    }

    #[test]
    fn caches_are_keyed_by_upstream_region_and_credential() {
        let host = FakeHost {
            now: 1_800_000_000,
            status: 200,
            body: MODELS,
            sent: 0,
        };
        let with = |region: Option<&str>, token: &str, config: &str| {
            let mut c = Client::new(Settings {
                region: region.map(str::to_owned),
                bearer_token: Some(token.to_owned()),
                config: Some(config.to_owned()),
                ..Settings::default()
            });
            c.cache_identity(&host).unwrap()
        };
        let base = with(None, "key", CONFIG);
        assert_eq!(base, with(None, "key", CONFIG), "stable");
        assert_ne!(base, with(None, "other-key", CONFIG));
        assert_ne!(
            base,
            with(
                None,
                "key",
                r#"{ models: { providers: { "amazon-bedrock-mantle": { baseUrl: "http://127.0.0.1:10/v1" } } } }"#
            )
        );
        let no_config = with(Some("us-east-1"), "key", "");
        assert_ne!(no_config, with(Some("us-west-2"), "key", ""));
        assert!(!base.contains("key"));
        // Models found for another identity are never served.
        let other = with(None, "other-key", CONFIG);
        let mut c = client();
        let mut host = host;
        let seeded = c.seed_discovered(
            &host,
            &other,
            host.now,
            vec![discovery::model_with_defaults(
                "stale.model",
                Api::OpenaiCompletions,
                crate::model::ModelSource::Discovered,
            )],
        );
        assert!(!seeded);
        let listing = c.list(&mut host).unwrap();
        assert_eq!(host.sent, 1, "the own upstream is asked");
        assert!(!listing.models.iter().any(|m| m.id == "stale.model"));
    }
}
