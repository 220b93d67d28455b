//! One tenant's client: settings resolved against the environment, the bearer token
//! (given or minted, and re-minted in time), discovery with its cache, and listing.
//!
//! The environment, the clock and the network come in through [`Host`], so this logic runs
//! natively in tests exactly as it runs in the component.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Poll;

use crate::auth::token::{self, Credentials, Token};
use crate::catalog::base_url::BaseUrl;
use crate::catalog::config::{self, ProviderConfig};
use crate::catalog::discovery;
use crate::catalog::ids::{self as catalog, Route};
use crate::catalog::region;
use crate::catalog::routing::{self, Learned, RouteMemory, Verdict};
use crate::chat::{ChatEvent, ChatRequest};
use crate::error::{Error, Result};
use crate::http::{self, Limits};
pub use crate::http::{BodyReader, Host, Request, Streaming};
use crate::model::Api;
use crate::model::Model;
use crate::routes::{self, anthropic, policy};
use crate::secrets::{self, Secrets};

/// How long discovered models are reused by [`Client::list`], seconds.
pub use crate::catalog::discovery::MODEL_CACHE_SECS;
/// After a failed discovery, how long [`Client::list`] waits before asking again, seconds.
pub const FAILED_DISCOVERY_RETRY_SECS: u64 = 60;
/// A minted token is replaced this long before it expires, seconds.
pub const REMINT_EARLY_SECS: u64 = 300;
/// A minted token is replaced at least this often, seconds.
pub const REMINT_EVERY_SECS: u64 = 3600;
/// Lifetime asked for minted tokens, seconds.
pub const MINT_EXPIRES_IN: u32 = token::MAX_EXPIRES_IN;

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

    /// `error` with what a refused minted token may mean. Mantle refuses a token of another
    /// region as it refuses a forged one (401 "The security token included in the request is
    /// invalid."), so a 401 for a token the provider minted says which region it was minted
    /// for, and, when the endpoint is a Mantle host of another region, that one too. The
    /// status stays Mantle's.
    fn token_hint(&self, error: Error) -> Error {
        if !matches!(
            (&error, &self.auth),
            (Error::Unauthorized(_), Auth::Mint(_))
        ) {
            return error;
        }
        let minted = &self.region;
        let hint = match region::of_host(self.base.host()) {
            Some(endpoint) if endpoint != minted => format!(
                "the token was minted for region {minted} but the endpoint is in {endpoint}: a token is valid only in its own region"
            ),
            _ => format!(
                "the token was minted for region {minted}: a token is valid only in its own region, so the endpoint must be in {minted}"
            ),
        };
        crate::chat::map_message(error, |m| format!("{m}; {hint}"))
    }

    fn work_out_identity(region: &str, base: &BaseUrl, auth: &Auth) -> String {
        let credential = match auth {
            Auth::Static(token) => format!(
                "token:{}",
                &crate::auth::sigv4::sha256_hex(token.as_bytes())[..16]
            ),
            Auth::Mint(c) => format!(
                "key:{}",
                &crate::auth::sigv4::sha256_hex(c.access_key_id.as_bytes())[..16]
            ),
            Auth::Missing(_) => "none".to_owned(),
        };
        let url = base.url("");
        let all = format!("{url}\n{region}\n{credential}");
        crate::auth::sigv4::sha256_hex(all.as_bytes())[..32].to_owned()
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
    /// Routes learned from Mantle's answers, kept as long as the listing.
    routes: RouteMemory,
    /// The backoff of 429s that say nothing of when to retry.
    backoff: routing::Backoff,
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
            routes: RouteMemory::default(),
            backoff: routing::Backoff::default(),
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
        let timeout = resolved.config.discovery_timeout_ms;
        let limits = Limits {
            first_byte_ms: timeout,
            between_bytes_ms: timeout,
            total_ms: timeout,
            connect_ms: http::DISCOVERY_LIMITS.connect_ms.min(timeout),
            ..http::DISCOVERY_LIMITS
        };
        let mut reminted = false;
        let (response, secrets, what) = loop {
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
            let response = host.send(&request, &limits)?;
            let secrets = resolved.secrets(&bearer);
            // A minted token Mantle calls expired is minted again, once.
            if !reminted
                && matches!(resolved.auth, Auth::Mint(_))
                && catalog::is_signature_expired(
                    response.status,
                    &policy::upstream_message(&response.body, &secrets),
                )
            {
                reminted = true;
                self.token = None;
                continue;
            }
            break (response, secrets, what);
        };
        if !(200..300).contains(&response.status) {
            let retry = response
                .header("retry-after")
                .and_then(|v| policy::retry_after_header(v, host.now()));
            let mut e = policy::classify_error(
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
            let e = resolved.token_hint(e);
            let request_id = AnswerHeaders::of(&response.headers).request_id;
            return Err(with_request_id(e, request_id.as_deref()));
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
    /// `reference` is what the user typed: `amazon-bedrock-mantle/<id>` or `<id>`, in any form
    /// [`catalog::resolve`] takes (`claude-opus-4.7` finds `anthropic.claude-opus-4-7`).
    pub fn lookup(&mut self, host: &mut dyn Host, reference: &str) -> Result<Lookup> {
        let Some((resolved, diagnostics)) = self.refresh_or_skip(host)? else {
            return Ok(Lookup {
                model: None,
                id: catalog::normalize(reference).id,
                notes: Vec::new(),
                diagnostics: self.skip_diagnostics(host),
                missing: None,
            });
        };
        let discovered = self.known_discovered(&resolved);
        let ids = discovery::listed_ids(discovered, &resolved.config, !discovered.is_empty());
        let ids: Vec<&str> = ids.iter().map(|id| id.as_ref()).collect();
        let resolution = catalog::resolve(reference, &ids);
        let model = discovery::describe(&resolution.id, discovered, &resolved.config);
        let missing = model
            .is_none()
            .then(|| catalog::not_listed(reference, &resolution.id, &ids));
        Ok(Lookup {
            model,
            id: resolution.id,
            notes: resolution.notes,
            diagnostics,
            missing,
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
    /// The id Mantle serves for the reference ([`catalog::resolve`]): the one to send.
    pub id: String,
    /// What was changed in the reference to get `id` (a profile prefix removed, …), for the
    /// host's log.
    pub notes: Vec<String>,
    /// When the listing lacks the model: the [`Error::ModelNotFound`] that says so and names
    /// the models it has instead.
    pub missing: Option<Error>,
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
/// What the tries of one chat request have done so far.
struct Tries {
    /// The route of the next try.
    route: Route,
    /// The route of the first try, once a wrong-route answer made it try another.
    retried: Option<Route>,
    /// A new token was minted after an expired one.
    reminted: bool,
}

impl Tries {
    /// Requests sent again before this one: another route, a fresh token.
    fn count(&self) -> u32 {
        u32::from(self.retried.is_some()) + u32::from(self.reminted)
    }

    /// Where the tries went: the route's prefix, or the model's own baseUrl; both routes
    /// after a retry.
    fn described(&self, target: &Target) -> String {
        let sent_to = |route: Route| match &target.pinned_base {
            Some(base) => base.url(route.path()),
            None => route.describe(),
        };
        match self.retried {
            Some(first) => format!("{} and {}", sent_to(first), sent_to(self.route)),
            None => sent_to(self.route),
        }
    }
}

/// One try as sent.
struct Sent {
    /// When the chat request was asked for (seconds since the Unix epoch).
    now: u64,
    /// What is removed from whatever the upstream says.
    secrets: Secrets,
    /// The request.
    request: Request,
    /// The route it went on.
    upstream: &'static dyn routes::Route,
}

/// The limits of a streamed chat request: discovery's connect time, the configured waits
/// for the first byte and between bytes, no total, no size cap (the stream is read as it
/// comes).
fn chat_limits(config: &ProviderConfig) -> Limits {
    Limits {
        connect_ms: http::DISCOVERY_LIMITS.connect_ms,
        first_byte_ms: config.first_byte_timeout_ms,
        between_bytes_ms: config.between_bytes_timeout_ms,
        total_ms: 0,
        max_body: usize::MAX,
    }
}

/// The longest request id passed on, bytes (Mantle's are `req_` and 52 characters).
const MAX_REQUEST_ID: usize = 128;
/// The most quota headers passed on, and the longest value of one, bytes.
const MAX_QUOTA_HEADERS: usize = 8;
const MAX_QUOTA_VALUE: usize = 256;
/// The quota headers Mantle sends with every answer, passed on to the client unchanged.
pub const QUOTA_HEADER_PREFIX: &str = "x-amzn-usage-reservation-";

/// What Mantle's answer said about the request itself, for the host to pass on: the id Mantle
/// gave the request (what AWS support asks for) and the quota headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerHeaders {
    /// Mantle's id of the request: `x-amzn-requestid`, else `x-request-id` (`req_…`). Only
    /// a short printable one is kept (at most 128 bytes of visible ASCII).
    pub request_id: Option<String>,
    /// The `x-amzn-usage-reservation-*` headers (quota, remaining quota, spillover), names
    /// lowercase, values as sent (at most 8, each at most 256 bytes of printable ASCII).
    pub quota: Vec<(String, String)>,
}

impl AnswerHeaders {
    /// What the headers of an answer (names lowercase) say.
    pub fn of(headers: &[(String, String)]) -> AnswerHeaders {
        let value = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
                .filter(|v| {
                    !v.is_empty()
                        && v.len() <= MAX_REQUEST_ID
                        && v.bytes().all(|b| b.is_ascii_graphic())
                })
        };
        let request_id = value("x-amzn-requestid")
            .or_else(|| value("x-request-id"))
            .map(str::to_owned);
        let quota = headers
            .iter()
            .filter(|(k, v)| {
                k.len() <= 64
                    && k.to_ascii_lowercase().starts_with(QUOTA_HEADER_PREFIX)
                    && v.len() <= MAX_QUOTA_VALUE
                    && v.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
            })
            .take(MAX_QUOTA_HEADERS)
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        AnswerHeaders { request_id, quota }
    }
}

/// `error` with Mantle's request id at the end of its message, when there is one, so every
/// message about the request names it.
pub fn with_request_id(error: Error, request_id: Option<&str>) -> Error {
    match request_id {
        Some(id) if !error.message().contains(id) => {
            crate::chat::map_message(error, |m| format!("{m} (request id {id})"))
        }
        _ => error,
    }
}

/// A chat request that failed: what went wrong, and what Mantle's answer said about the
/// request, when Mantle answered. The error's message names the request id too.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// What went wrong.
    pub error: Error,
    /// The request id and quota headers of Mantle's answer (empty without one).
    pub answer: AnswerHeaders,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            error,
            answer: AnswerHeaders::default(),
        }
    }
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.error.fmt(f)
    }
}

/// Where one request goes and what the provider knows of its model.
struct Target {
    /// The id sent to Mantle.
    id: String,
    /// The listing's description of the model, if it has one.
    listed: Option<Model>,
    /// The model's own configured `baseUrl`, if any.
    pinned_base: Option<BaseUrl>,
    /// The first route and what a retry may change.
    plan: routing::Plan,
    /// The route was learned from Mantle's answers (neither the table nor the
    /// configuration says it).
    learned: bool,
}

impl Client {
    /// The id Mantle serves for a model reference, and what the listing says of it, as
    /// [`catalog::resolve`] and [`discovery::describe_for_request`] decide against the
    /// listing this client holds (the discovered models when `discovered` is given, the
    /// configured and built-in ones always). The notes say what was changed in the reference.
    fn target(
        &self,
        resolved: &Resolved,
        reference: &str,
        discovered: &[Model],
        fresh: bool,
        now: u64,
    ) -> Result<(Target, Vec<String>)> {
        let config = &resolved.config;
        let ids = discovery::listed_ids(discovered, config, true);
        let ids: Vec<&str> = ids.iter().map(|id| id.as_ref()).collect();
        let resolution = catalog::resolve(reference, &ids);
        // A fresh listing of this very upstream is the truth: a model it lacks is not asked
        // of Mantle.
        if !resolution.listed && fresh && !discovered.is_empty() {
            return Err(catalog::not_listed(reference, &resolution.id, &ids));
        }
        let id = resolution.id;
        let listed = discovery::describe_for_request(&id, discovered, config);
        let known = |other: &str| ids.contains(&other);
        let configured: Vec<&config::ModelOverride> =
            discovery::configured_for(&id, config, known).collect();
        let configured_api = configured.iter().rev().find_map(|o| o.api);
        let pinned_base = configured
            .iter()
            .rev()
            .find_map(|o| o.base_url.as_deref())
            .map(BaseUrl::parse)
            .transpose()?;
        let table = catalog::known_route(&catalog::normalize(&id).id);
        let learned = self.routes.get(&id, now);
        let plan = routing::plan(routing::Known {
            configured_api,
            configured_base: pinned_base.is_some(),
            table,
            learned,
            listed_api: listed.as_ref().map(|m| m.api),
            default_api: config.api,
        });
        Ok((
            Target {
                id,
                listed,
                pinned_base,
                plan,
                learned: table.is_none() && learned.is_some(),
            },
            resolution.notes,
        ))
    }

    /// Starts a streamed chat completion on the route the model needs. Failures before the
    /// first byte of the answer (refusals, unknown model, over quota) are errors here, with
    /// what Mantle's answer said about the request.
    ///
    /// - The model reference becomes the id Mantle serves ([`catalog::resolve`]); a model a
    ///   fresh listing lacks is [`Error::ModelNotFound`] naming what it has, and nothing is
    ///   sent.
    /// - The route comes from the route table, the configuration and what earlier answers
    ///   taught ([`routing::plan`]). For an id the table does not know, a wrong-route answer
    ///   ([`catalog::misroute`]) earns one retry on the other prefix or API; the route that
    ///   worked is remembered for an hour ([`Client::learned_routes`]).
    /// - A minted token Mantle calls expired ("Signature expired") is minted again and the
    ///   request sent once more; a token given as is, or any other 401, is an error.
    /// - A 429 without `retry-after` gets one from [`routing::Backoff`].
    pub fn chat_stream(
        &mut self,
        host: &mut dyn Host,
        request: &ChatRequest,
    ) -> Result<ChatStream, Failure> {
        let resolved = self.resolve(host)?;
        if request.model.trim().is_empty() {
            return Err(Error::InvalidRequest("the request names no model".into()).into());
        }
        if request.messages.is_empty() {
            return Err(Error::InvalidRequest("the request has no messages".into()).into());
        }
        // The listing the reference is resolved against: asked for when none is held (once an
        // hour, as for `list`); a failed discovery is no reason not to try the request.
        if matches!(resolved.auth, Auth::Static(_) | Auth::Mint(_)) {
            self.refresh(host)?;
        }
        let now = host.now();
        let discovered = self.known_discovered(&resolved);
        let fresh = self
            .models
            .as_ref()
            .is_some_and(|c| now.saturating_sub(c.fetched_at) < MODEL_CACHE_SECS);
        let (target, mut notes) = self.target(&resolved, &request.model, discovered, fresh, now)?;
        let mut tries = Tries {
            route: target.plan.first,
            retried: None,
            reminted: false,
        };
        loop {
            let bearer = self.bearer(host)?;
            let upstream = routes::of(tries.route.api);
            let sent = Sent {
                now,
                secrets: resolved.secrets(&bearer),
                request: self
                    .chat_request(&resolved, &target, &tries, request, &bearer, &mut notes)?,
                upstream,
            };
            let response = host.open(&sent.request, &chat_limits(&resolved.config))?;
            let answer = AnswerHeaders::of(&response.headers);
            if (200..300).contains(&response.status) {
                return self.accepted(&target, &tries, sent, response, answer, notes);
            }
            let Some(error) = self.refused(
                host, &resolved, &target, &mut tries, &sent, response, &answer, &mut notes,
            ) else {
                continue;
            };
            return Err(Failure {
                error: with_request_id(resolved.token_hint(error), answer.request_id.as_deref()),
                answer,
            });
        }
    }

    /// The stream of a request Mantle took; the route that worked is remembered (unless
    /// the configuration pins it whole). An answer that is no event stream is an error.
    fn accepted(
        &mut self,
        target: &Target,
        tries: &Tries,
        sent: Sent,
        response: Streaming,
        answer: AnswerHeaders,
        notes: Vec<String>,
    ) -> Result<ChatStream, Failure> {
        let now = sent.now;
        let route = tries.route;
        let content_type = response.header("content-type").unwrap_or("").to_owned();
        if !content_type.starts_with("text/event-stream") {
            let body = read_error_body(response, &sent.secrets);
            let said = secrets::quote(
                &String::from_utf8_lossy(&body),
                &sent.secrets,
                policy::MESSAGE_CHARS,
            );
            let what = format!("POST {}", sent.request.url());
            return Err(Failure {
                error: with_request_id(
                    Error::Protocol(format!(
                        "{what} answered {content_type:?} instead of an event stream: {said:?}"
                    )),
                    answer.request_id.as_deref(),
                ),
                answer,
            });
        }
        if !(target.plan.api_pinned && target.plan.prefix_pinned) {
            self.routes.put(
                &target.id,
                Learned {
                    route,
                    confirmed: true,
                    at: now,
                },
            );
        }
        self.backoff.passed(&target.id);
        Ok(ChatStream {
            body: response.body,
            events: sent.upstream.event_stream(sent.secrets),
            pending: VecDeque::new(),
            failure: None,
            done: false,
            drain_left: DRAIN_MAX,
            diagnostics: notes,
            answer,
            prices: target
                .listed
                .as_ref()
                .and_then(|m| m.cost)
                .or_else(|| crate::cost::builtin(&target.id)),
            route: route.api,
            retries: tries.count(),
        })
    }

    /// What a refusal means: `None` when the request is to be sent again (a minted token
    /// expired, or the model lives on another route and this is the first retry), else the
    /// error, explained. What the refusal taught about the model's route is remembered.
    #[allow(clippy::too_many_arguments)]
    fn refused(
        &mut self,
        host: &mut dyn Host,
        resolved: &Resolved,
        target: &Target,
        tries: &mut Tries,
        sent: &Sent,
        response: Streaming,
        answer: &AnswerHeaders,
        notes: &mut Vec<String>,
    ) -> Option<Error> {
        let now = sent.now;
        let what = format!("POST {}", sent.request.url());
        let status = response.status;
        let retry = response
            .header("retry-after")
            .and_then(|v| policy::retry_after_header(v, now));
        let body = read_error_body(response, &sent.secrets);
        let said = policy::upstream_message(&body, &sent.secrets);
        let request_id = answer
            .request_id
            .as_deref()
            .map(|id| format!(" (request id {id})"))
            .unwrap_or_default();
        if catalog::is_signature_expired(status, &said)
            && matches!(resolved.auth, Auth::Mint(_))
            && !tries.reminted
        {
            tries.reminted = true;
            self.token = None;
            notes.push(format!(
                "{what} answered 401 (signature expired): minted a new token and sent the request again{request_id}"
            ));
            return None;
        }
        let route = tries.route;
        let misroute = catalog::misroute(status, &said);
        match target
            .plan
            .after_refusal(route, misroute, tries.retried.is_some(), target.learned)
        {
            Verdict::Retry(next) => {
                notes.push(format!(
                    "{what} answered {status} ({said}): the model is not served on {}; trying {}{request_id}",
                    route.describe(),
                    next.describe(),
                ));
                tries.retried = Some(route);
                tries.route = next;
                return None;
            }
            Verdict::Forget => self.routes.forget(&target.id),
            Verdict::Learn(next) => self.routes.put(
                &target.id,
                Learned {
                    route: next,
                    confirmed: false,
                    at: now,
                },
            ),
            Verdict::Fail => {}
        }
        let error = sent
            .upstream
            .classify_error(status, retry.as_deref(), &body, &sent.secrets);
        let tried = tries.described(target);
        Some(self.explain(host, error, &target.id, &tried, &said, now))
    }

    /// The request for the route of this try: its URL (the model's configured `baseUrl`,
    /// else the route's prefix on the provider's base), Mantle's headers and the route's body.
    fn chat_request(
        &self,
        resolved: &Resolved,
        target: &Target,
        tries: &Tries,
        request: &ChatRequest,
        bearer: &str,
        notes: &mut Vec<String>,
    ) -> Result<Request> {
        let upstream = routes::of(tries.route.api);
        let mut headers = vec![
            ("authorization".to_owned(), format!("Bearer {bearer}")),
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), "text/event-stream".to_owned()),
        ];
        headers.extend(
            upstream
                .headers()
                .iter()
                .map(|&(name, value)| (name.to_owned(), value.to_owned())),
        );
        let asked = routes::Target {
            id: &target.id,
            listed: target.listed.as_ref(),
            store: resolved.config.store_for(&target.id),
        };
        let body = upstream.build_request(request, &asked, notes)?;
        let (base, path) = upstream.base_and_path(tries.route, &resolved.base);
        Ok(Request {
            method: "POST",
            base: target.pinned_base.clone().unwrap_or(base),
            path: path.to_owned(),
            headers,
            body: body.into_bytes(),
        })
    }

    /// What a refusal means for the user, said plainly: the models the listing has instead of
    /// one Mantle does not serve; the model that takes no images; where a misrouted model was
    /// tried; the backoff of a 429 that said nothing of when to retry.
    fn explain(
        &mut self,
        host: &mut dyn Host,
        error: Error,
        id: &str,
        tried: &str,
        said: &str,
        now: u64,
    ) -> Error {
        match error {
            Error::ModelNotFound(m) => {
                // Name what Mantle does serve: the listing, asked for if need be.
                let listing = self.list(host).map(|l| l.models).unwrap_or_default();
                let ids: Vec<&str> = listing.iter().map(|m| m.id.as_str()).collect();
                if ids.is_empty() {
                    Error::ModelNotFound(m)
                } else {
                    Error::ModelNotFound(format!("{m}; {}", catalog::alternatives(id, &ids)))
                }
            }
            Error::InvalidRequest(m) if said.to_ascii_lowercase().contains("image modality") => {
                Error::InvalidRequest(format!(
                    "{m} ({id} takes text only: send the request without images, or to a model whose input includes image)"
                ))
            }
            Error::WrongRoute(m) => Error::WrongRoute(format!(
                "{m}; {id} was sent to {tried}: give the model its api (and baseUrl) in the configuration"
            )),
            Error::RateLimited {
                message,
                retry_after: None,
            } => {
                let wait = self.backoff.throttled(id, now);
                Error::RateLimited {
                    message: format!(
                        "{message} (Mantle said not when to retry: the gateway asks for {wait} s)"
                    ),
                    retry_after: Some(wait),
                }
            }
            other => other,
        }
    }

    /// The routes this client learned from Mantle's answers, by model id, for a host that
    /// keeps them beside the listing ([`Client::seed_routes`]).
    pub fn learned_routes(&self) -> &RouteMemory {
        &self.routes
    }

    /// Takes in routes another instance of the same tenant learned (kept beside its listing
    /// under the same [`Client::cache_identity`]); `false` when `identity` is another's.
    pub fn seed_routes(
        &mut self,
        host: &dyn Host,
        identity: &str,
        routes: impl IntoIterator<Item = (String, Learned)>,
    ) -> bool {
        if self.cache_identity(host).ok().as_deref() != Some(identity) {
            return false;
        }
        self.routes.seed(routes);
        true
    }
}

/// A Messages request as the client wrote it, for [`Client::anthropic_passthrough`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessages {
    /// The model's Mantle id, as the body names it (for messages and the backoff).
    pub model: String,
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
    ) -> Result<Streaming, Failure> {
        let resolved = self.resolve(host)?;
        let accept = if request.stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut headers = vec![
            ("authorization".to_owned(), String::new()),
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
        let mut http_request = Request {
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
        let mut reminted = false;
        loop {
            let bearer = self.bearer(host)?;
            http_request.headers[0].1 = format!("Bearer {bearer}");
            let now = host.now();
            let response = host.open(&http_request, &limits)?;
            if (200..300).contains(&response.status) {
                self.backoff.passed(&request.model);
                return Ok(response);
            }
            let answer = AnswerHeaders::of(&response.headers);
            let status = response.status;
            let retry = response
                .header("retry-after")
                .and_then(|v| policy::retry_after_header(v, now));
            let secrets = resolved.secrets(&bearer);
            let body = read_error_body(response, &secrets);
            let said = policy::upstream_message(&body, &secrets);
            if catalog::is_signature_expired(status, &said)
                && matches!(resolved.auth, Auth::Mint(_))
                && !reminted
            {
                reminted = true;
                self.token = None;
                continue;
            }
            let error = anthropic::classify_error(status, retry.as_deref(), &body, &secrets);
            let tried = Route {
                api: Api::AnthropicMessages,
                prefix: catalog::Prefix::Anthropic,
            }
            .describe();
            let error = self.explain(host, error, &request.model, &tried, &said, now);
            let error = resolved.token_hint(error);
            return Err(Failure {
                error: with_request_id(error, answer.request_id.as_deref()),
                answer,
            });
        }
    }
}

/// A streamed answer: one upstream chunk in, its events out, nothing else held.
pub struct ChatStream {
    body: Box<dyn BodyReader>,
    events: Box<dyn routes::Events>,
    pending: VecDeque<ChatEvent>,
    failure: Option<Error>,
    done: bool,
    /// Bytes the drain after the final event may still read.
    drain_left: usize,
    diagnostics: Vec<String>,
    /// What Mantle's answer said about the request.
    answer: AnswerHeaders,
    /// The model's prices, which price the usage handed out ([`crate::cost`]).
    prices: Option<crate::model::Cost>,
    /// The API the answer came over.
    route: Api,
    /// Requests sent again before this answer (another route, a fresh token).
    retries: u32,
}

impl ChatStream {
    /// The API the answer came over.
    pub fn route(&self) -> Api {
        self.route
    }

    /// How many times the request was sent again before this answer came (a wrong-route
    /// answer retried elsewhere, an expired minted token minted again).
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// What Mantle's answer said about the request: its request id and quota headers, for
    /// the host to pass on. An error the stream ends with names the request id too.
    pub fn answer(&self) -> &AnswerHeaders {
        &self.answer
    }

    /// Mantle's id of the request (`x-amzn-requestid`), when it gave one.
    pub fn request_id(&self) -> Option<&str> {
        self.answer.request_id.as_deref()
    }

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
            if let Some(mut e) = self.pending.pop_front() {
                if let (ChatEvent::Usage(usage), Some(prices)) = (&mut e, &self.prices) {
                    usage.cost = Some(crate::cost::charge(prices, usage));
                }
                return Poll::Ready(Some(Ok(e)));
            }
            if let Some(e) = self.failure.take() {
                self.done = true;
                return Poll::Ready(Some(Err(with_request_id(e, self.request_id()))));
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
    use crate::http::Response;

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
            model: "claude-opus-4.7".into(),
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
            .unwrap()
            .error;
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
            .unwrap()
            .error;
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
            .unwrap()
            .error;
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

    // ---- Mantle as it answers: ids, prefixes, retries, request ids ----------------------

    /// One answer of a [`Scripted`] host.
    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    }

    /// A captured error body of `fixtures/mantle/errors.json`, with its status.
    fn captured(name: &str) -> Reply {
        let errors: serde_json::Value =
            serde_json::from_str(include_str!("../fixtures/mantle/errors.json")).unwrap();
        let e = errors
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no fixture {name}"));
        Reply {
            status: u16::try_from(e["status"].as_u64().unwrap()).unwrap(),
            headers: mantle_headers("req_CAPTUREDCAPTUREDCAPTUREDCAPTUREDCAPTUREDCAPTUREDCAPT"),
            body: e["body"].as_str().unwrap().to_owned(),
        }
    }

    /// The headers Mantle sends with every answer.
    fn mantle_headers(request_id: &str) -> Vec<(String, String)> {
        vec![
            ("content-type".into(), "application/json".into()),
            ("x-amzn-requestid".into(), request_id.into()),
            ("x-request-id".into(), request_id.into()),
            ("x-amzn-usage-reservation-quota".into(), "4000000".into()),
            (
                "x-amzn-usage-reservation-remaining-quota".into(),
                "3999000".into(),
            ),
            ("x-amzn-usage-reservation-spillover".into(), "0".into()),
        ]
    }

    /// The captured streamed chat answer (STREAM-2), framed as SSE, as a 200.
    fn streamed() -> Reply {
        let mut body = String::new();
        for line in
            include_str!("../fixtures/mantle/stream-gpt-oss-20b-tool-call.chunks.jsonl").lines()
        {
            body.push_str("data: ");
            body.push_str(line);
            body.push_str("\n\n");
        }
        body.push_str("data: [DONE]\n\n");
        let mut headers =
            mantle_headers("req_OKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOK");
        headers[0].1 = "text/event-stream".into();
        Reply {
            status: 200,
            headers,
            body,
        }
    }

    /// A host that answers chat requests with `replies` in order, and `GET /models` with
    /// `models`; it keeps every request and counts the listings asked for.
    struct Scripted {
        replies: VecDeque<Reply>,
        models: &'static str,
        opened: Vec<Request>,
        listed: usize,
        now: u64,
    }

    fn scripted(replies: Vec<Reply>) -> Scripted {
        Scripted {
            replies: replies.into(),
            models: include_str!("../fixtures/mantle/models-us-east-2.json"),
            opened: Vec::new(),
            listed: 0,
            now: 1_800_000_000,
        }
    }

    impl Host for Scripted {
        fn env(&self, _name: &str) -> Option<String> {
            None
        }
        fn now(&self) -> u64 {
            self.now
        }
        fn send(&mut self, _request: &Request, _limits: &Limits) -> Result<Response> {
            self.listed += 1;
            Ok(Response {
                status: 200,
                headers: Vec::new(),
                body: self.models.as_bytes().to_vec(),
            })
        }
        fn open(&mut self, request: &Request, _limits: &Limits) -> Result<Streaming> {
            self.opened.push(request.clone());
            let reply = self
                .replies
                .pop_front()
                .unwrap_or_else(|| panic!("an unexpected request to {}", request.url()));
            Ok(Streaming {
                status: reply.status,
                headers: reply.headers,
                body: Box::new(Chunks(vec![reply.body.into_bytes()])),
            })
        }
    }

    fn mantle_client(config: &str) -> Client {
        Client::new(Settings {
            bearer_token: Some("key".into()),
            config: Some(format!(
                r#"{{ models: {{ providers: {{ "amazon-bedrock-mantle": {{ baseUrl: "http://127.0.0.1:9/v1"{config} }} }} }} }}"#
            )),
            ..Settings::default()
        })
    }

    fn hi(model: &str) -> ChatRequest {
        ChatRequest {
            model: model.into(),
            messages: vec![crate::chat::Message::User(vec![
                crate::chat::ContentPart::Text("hi".into()),
            ])],
            ..ChatRequest::default()
        }
    }

    fn sent_model(request: &Request) -> String {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        body["model"].as_str().unwrap().to_owned()
    }

    fn drain(mut stream: ChatStream) -> Vec<Result<ChatEvent>> {
        std::iter::from_fn(|| stream.next_event()).collect()
    }

    #[test]
    fn the_genesis_claude_id_reaches_the_anthropic_route_as_the_catalog_id() {
        for typed in [
            "claude-opus-4.7",
            "claude-opus-4-7",
            "amazon-bedrock-mantle/claude-opus-4.7",
            "us.anthropic.claude-opus-4-7",
        ] {
            let mut host = scripted(vec![captured("internal")]);
            let mut c = mantle_client(", discovery: false");
            let _ = c.chat_stream(&mut host, &hi(typed));
            let sent = &host.opened[0];
            assert_eq!(
                sent.url(),
                "http://127.0.0.1:9/anthropic/v1/messages",
                "{typed}"
            );
            assert_eq!(sent_model(sent), "anthropic.claude-opus-4-7", "{typed}");
        }
        // With a listing that has the id as typed, it goes exactly as listed.
        let mut host = scripted(vec![captured("internal")]);
        host.models = r#"{"data":[{"id":"claude-opus-4.7"}]}"#;
        let mut c = mantle_client("");
        c.list(&mut host).unwrap();
        let _ = c.chat_stream(&mut host, &hi("claude-opus-4.7"));
        assert_eq!(sent_model(&host.opened[0]), "claude-opus-4.7");
        assert_eq!(host.opened[0].path, "/v1/messages");
        // The profile prefix is removed, and the stream says so.
        let mut host = scripted(vec![streamed()]);
        let mut c = mantle_client(", discovery: false");
        let stream = c
            .chat_stream(&mut host, &hi("us.openai.gpt-oss-20b"))
            .unwrap();
        assert_eq!(sent_model(&host.opened[0]), "openai.gpt-oss-20b");
        assert!(
            stream
                .diagnostics()
                .iter()
                .any(|d| d.contains("inference-profile prefix \"us.\"")),
            "{:?}",
            stream.diagnostics()
        );
    }

    #[test]
    fn a_model_the_listing_lacks_is_a_404_naming_what_it_has_and_nothing_is_sent() {
        let mut host = scripted(Vec::new());
        host.models = r#"{"data":[{"id":"anthropic.claude-haiku-4-5"},{"id":"anthropic.claude-opus-4-7"},{"id":"openai.gpt-oss-120b"}]}"#;
        let mut c = mantle_client("");
        c.list(&mut host).unwrap();
        let e = c
            .chat_stream(&mut host, &hi("claude-opus-4.9"))
            .err()
            .unwrap();
        let Error::ModelNotFound(m) = &e.error else {
            panic!("{e:?}")
        };
        assert!(
            m.contains(
                "Claude models it lists: anthropic.claude-haiku-4-5, anthropic.claude-opus-4-7"
            ),
            "{m}"
        );
        assert!(host.opened.is_empty(), "nothing went upstream");
        // The first chat of a client asks for the listing itself, once.
        let mut c = mantle_client("");
        let e = c
            .chat_stream(&mut host, &hi("claude-opus-4.9"))
            .err()
            .unwrap();
        assert!(matches!(e.error, Error::ModelNotFound(_)), "{e:?}");
        assert_eq!(host.listed, 2);
        assert!(host.opened.is_empty(), "nothing went upstream");
        // Mantle's own 404 for a model the listing has (the built-in row, in a region that
        // lacks it): the models it does list are named.
        let mut host = scripted(vec![captured("model-does-not-exist")]);
        host.models =
            r#"{"data":[{"id":"anthropic.claude-haiku-4-5"},{"id":"openai.gpt-oss-120b"}]}"#;
        let mut c = mantle_client("");
        let e = c
            .chat_stream(&mut host, &hi("claude-opus-4.7"))
            .err()
            .unwrap();
        assert_eq!(sent_model(&host.opened[0]), "anthropic.claude-opus-4-7");
        let Error::ModelNotFound(m) = &e.error else {
            panic!("{e:?}")
        };
        assert!(m.contains("does not exist"), "{m}");
        assert!(
            m.contains(
                "Claude models it lists: anthropic.claude-haiku-4-5, anthropic.claude-opus-4-7"
            ),
            "{m}"
        );
        assert!(m.contains("(request id req_CAPTURED"), "{m}");
        assert_eq!(host.listed, 1, "the listing of the hour is reused");
    }

    #[test]
    fn an_unknown_family_is_retried_once_on_the_other_prefix_and_remembered() {
        // Gemma 5 is no family of the table: /v1 first, where Mantle answers "Berm".
        let mut host = scripted(vec![captured("berm-not-enabled"), streamed()]);
        let mut c = mantle_client(", discovery: false");
        let stream = c.chat_stream(&mut host, &hi("google.gemma-5-9b")).unwrap();
        let urls: Vec<String> = host.opened.iter().map(Request::url).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:9/v1/chat/completions",
                "http://127.0.0.1:9/openai/v1/chat/completions"
            ]
        );
        assert_eq!(
            stream.request_id(),
            Some("req_OKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOK")
        );
        let events = drain(stream);
        assert!(
            matches!(events.last(), Some(Ok(ChatEvent::Finish(_)))),
            "{events:?}"
        );
        // Remembered: the next request goes straight there.
        host.replies.push_back(streamed());
        c.chat_stream(&mut host, &hi("google.gemma-5-9b")).unwrap();
        assert_eq!(
            host.opened[2].url(),
            "http://127.0.0.1:9/openai/v1/chat/completions"
        );
        let (id, learned) = &c.learned_routes().entries()[0];
        assert_eq!(id, "google.gemma-5-9b");
        assert!(learned.confirmed);
        // Refused there later (the model moved): not retried, and forgotten.
        host.replies.push_back(captured("berm-not-enabled"));
        let e = c
            .chat_stream(&mut host, &hi("google.gemma-5-9b"))
            .err()
            .unwrap();
        assert!(matches!(e.error, Error::WrongRoute(_)), "{e:?}");
        assert_eq!(host.opened.len(), 4);
        assert!(c.learned_routes().entries().is_empty());
        // A wrong API: the API that serves it, on the same prefix.
        let mut host = scripted(vec![captured("wrong-api"), streamed()]);
        let mut c = mantle_client(", discovery: false");
        c.chat_stream(&mut host, &hi("openai.gpt-6")).unwrap();
        assert_eq!(host.opened[1].url(), "http://127.0.0.1:9/v1/responses");
    }

    #[test]
    fn one_retry_only_and_the_lesson_is_kept_for_the_next_request() {
        // GPT-6 (unknown): Berm on /v1, then "does not support chat completions" on
        // /openai/v1. One retry: the request fails, and says where it was sent.
        let mut host = scripted(vec![captured("berm-not-enabled"), captured("wrong-api")]);
        let mut c = mantle_client(", discovery: false");
        let e = c.chat_stream(&mut host, &hi("openai.gpt-6")).err().unwrap();
        assert_eq!(host.opened.len(), 2, "exactly one retry");
        let Error::WrongRoute(m) = &e.error else {
            panic!("{e:?}")
        };
        assert!(
            m.contains("/v1/chat/completions and /openai/v1/chat/completions"),
            "{m}"
        );
        // The next request starts where the answers pointed: Responses on /openai/v1.
        host.replies.push_back(streamed());
        c.chat_stream(&mut host, &hi("openai.gpt-6")).unwrap();
        assert_eq!(
            host.opened[2].url(),
            "http://127.0.0.1:9/openai/v1/responses"
        );
    }

    #[test]
    fn a_refused_minted_token_says_which_region_it_was_minted_for() {
        // Mantle's 401 for a token it does not take, to every listing.
        let refused = captured("security-token-invalid");
        let mut refusing = FakeHost {
            now: 1_800_000_000,
            status: refused.status,
            body: Box::leak(refused.body.into_boxed_str()),
            sent: 0,
        };
        let minted = |base: &str| {
            Client::new(Settings {
                region: Some("us-west-2".into()),
                credentials: Some(Credentials {
                    access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                    secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                    session_token: None,
                    expiration: None,
                }),
                config: Some(format!(
                    r#"{{ models: {{ providers: {{ "amazon-bedrock-mantle": {{ baseUrl: "{base}" }} }} }} }}"#
                )),
                ..Settings::default()
            })
        };
        for (base, hint) in [
            (
                "https://bedrock-mantle.eu-west-1.api.aws/v1",
                "the token was minted for region us-west-2 but the endpoint is in eu-west-1",
            ),
            (
                "http://127.0.0.1:9/v1",
                "the token was minted for region us-west-2: a token is valid only in its own region",
            ),
        ] {
            let Err(Error::Unauthorized(m)) = minted(base).discover(&mut refusing) else {
                panic!("{base}: not the 401 Mantle sent")
            };
            assert!(
                m.contains("The security token included in the request is invalid."),
                "{m}"
            );
            assert!(m.contains(hint), "{m}");
        }
        // A static token was not minted here: no region to speak of.
        let Err(Error::Unauthorized(m)) = mantle_client("").discover(&mut refusing) else {
            panic!()
        };
        assert!(!m.contains("minted for region"), "{m}");
    }

    #[test]
    fn known_families_and_genuine_401s_are_never_retried() {
        // The table says where deepseek lives: a wrong-route answer is an error, not a retry.
        let mut host = scripted(vec![captured("not-supported-on-this-route")]);
        let mut c = mantle_client(", discovery: false");
        let e = c
            .chat_stream(&mut host, &hi("deepseek.v3.2"))
            .err()
            .unwrap();
        assert_eq!(host.opened.len(), 1);
        assert!(matches!(e.error, Error::WrongRoute(_)), "{e:?}");
        // A bad token is a bad token, for any model.
        for name in ["invalid-bearer-token", "security-token-invalid"] {
            let mut host = scripted(vec![captured(name)]);
            let mut c = mantle_client(", discovery: false");
            let e = c
                .chat_stream(&mut host, &hi("google.gemma-5-9b"))
                .err()
                .unwrap();
            assert_eq!(host.opened.len(), 1, "{name}");
            assert!(matches!(e.error, Error::Unauthorized(_)), "{name}: {e:?}");
        }
        // A Berm 401 on a pinned route is the wrong route, not a broken credential.
        let mut host = scripted(vec![captured("berm-not-enabled")]);
        let mut c = mantle_client(
            r#", discovery: false, models: [{ id: "google.gemma-5-9b", baseUrl: "http://127.0.0.1:9/v1" }]"#,
        );
        let e = c
            .chat_stream(&mut host, &hi("google.gemma-5-9b"))
            .err()
            .unwrap();
        assert_eq!(host.opened.len(), 1);
        assert!(matches!(e.error, Error::WrongRoute(_)), "{e:?}");
    }

    #[test]
    fn an_expired_minted_token_is_minted_again_and_sent_once_more() {
        let credentials = Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
            expiration: None,
        };
        let mut host = scripted(vec![captured("signature-expired"), streamed()]);
        let mut c = Client::new(Settings {
            credentials: Some(credentials.clone()),
            config: Some(CONFIG.into()),
            ..Settings::default()
        });
        // A token minted half an hour ago, which the client still holds.
        host.now -= 1_800;
        let first = c.bearer(&host).unwrap();
        host.now += 1_800;
        let stream = c.chat_stream(&mut host, &hi("deepseek.v3.2")).unwrap();
        assert_eq!(host.opened.len(), 2);
        let auth = |r: &Request| header(r, "authorization").unwrap().to_owned();
        assert_eq!(auth(&host.opened[0]), format!("Bearer {first}"));
        assert_ne!(auth(&host.opened[1]), auth(&host.opened[0]), "a new token");
        assert!(
            stream
                .diagnostics()
                .iter()
                .any(|d| d.contains("signature expired")),
            "{:?}",
            stream.diagnostics()
        );
        // What the provider changed in the request is said once, though it was sent twice.
        let claude = Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into(),
        };
        let mut host = scripted(vec![captured("signature-expired"), claude]);
        let mut c = Client::new(Settings {
            credentials: Some(credentials.clone()),
            config: Some(CONFIG.into()),
            ..Settings::default()
        });
        let mut req = hi("anthropic.claude-opus-4-7");
        req.reasoning_effort = Some(crate::chat::ReasoningEffort::Low);
        req.temperature = Some(0.2);
        let stream = c.chat_stream(&mut host, &req).unwrap();
        assert_eq!(host.opened.len(), 2);
        let temperature = stream
            .diagnostics()
            .iter()
            .filter(|d| d.contains("temperature"))
            .count();
        assert_eq!(temperature, 1, "{:?}", stream.diagnostics());
        // Twice expired: the error, after one new token.
        let mut host = scripted(vec![
            captured("signature-expired"),
            captured("signature-expired"),
        ]);
        let mut c = Client::new(Settings {
            credentials: Some(credentials),
            config: Some(CONFIG.into()),
            ..Settings::default()
        });
        let e = c
            .chat_stream(&mut host, &hi("deepseek.v3.2"))
            .err()
            .unwrap();
        assert_eq!(host.opened.len(), 2);
        assert!(matches!(e.error, Error::Unauthorized(_)), "{e:?}");
        // A token given as is cannot be minted again: no second request.
        let mut host = scripted(vec![captured("signature-expired")]);
        let e = client()
            .chat_stream(&mut host, &hi("deepseek.v3.2"))
            .err()
            .unwrap();
        assert_eq!(host.opened.len(), 1);
        assert!(matches!(e.error, Error::Unauthorized(_)), "{e:?}");
    }

    #[test]
    fn request_ids_and_quota_headers_come_back_with_answers_and_failures() {
        let mut host = scripted(vec![streamed()]);
        let stream = client()
            .chat_stream(&mut host, &hi("deepseek.v3.2"))
            .unwrap();
        let answer = stream.answer();
        assert_eq!(
            answer.request_id.as_deref(),
            Some("req_OKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOK")
        );
        assert_eq!(
            answer.quota,
            [
                (
                    "x-amzn-usage-reservation-quota".to_owned(),
                    "4000000".to_owned()
                ),
                (
                    "x-amzn-usage-reservation-remaining-quota".to_owned(),
                    "3999000".to_owned()
                ),
                (
                    "x-amzn-usage-reservation-spillover".to_owned(),
                    "0".to_owned()
                ),
            ]
        );
        let mut host = scripted(vec![captured("context-overflow-mantle")]);
        let e = client()
            .chat_stream(&mut host, &hi("deepseek.v3.2"))
            .err()
            .unwrap();
        assert!(matches!(e.error, Error::ContextOverflow(_)), "{e:?}");
        assert!(
            e.error.message().contains("(request id req_CAPTURED"),
            "{e}"
        );
        assert_eq!(e.answer.quota.len(), 3);
        // A stream that breaks names its request id too.
        let mut cut = streamed();
        cut.body.truncate(cut.body.len() / 2);
        let mut host = scripted(vec![cut]);
        let stream = client()
            .chat_stream(&mut host, &hi("deepseek.v3.2"))
            .unwrap();
        let last = drain(stream).pop().unwrap().unwrap_err();
        assert!(matches!(last, Error::Truncated(_)), "{last:?}");
        assert!(last.message().contains("(request id req_OKOK"), "{last}");
        // Nothing odd is passed on.
        let odd = AnswerHeaders::of(&[
            ("x-amzn-requestid".into(), "req bad\r\nx-evil: 1".into()),
            ("x-request-id".into(), "req_fallback".into()),
            ("x-amzn-usage-reservation-quota".into(), "1\r\nx".into()),
        ]);
        assert_eq!(odd.request_id.as_deref(), Some("req_fallback"));
        assert!(odd.quota.is_empty());
    }

    #[test]
    fn errors_are_worded_as_clients_expect() {
        for (name, want) in [
            ("context-overflow-mantle", "context-overflow"),
            ("context-overflow-vllm", "context-overflow"),
            ("image-modality", "invalid-request"),
            ("body-not-deserialized", "invalid-request"),
            ("internal", "upstream-unavailable"),
        ] {
            let mut host = scripted(vec![captured(name)]);
            let e = client()
                .chat_stream(&mut host, &hi("deepseek.v3.2"))
                .err()
                .unwrap();
            assert_eq!(e.error.kind(), want, "{name}: {e:?}");
        }
        let mut host = scripted(vec![captured("image-modality")]);
        let e = client()
            .chat_stream(&mut host, &hi("deepseek.v3.2"))
            .err()
            .unwrap();
        assert!(
            e.error
                .message()
                .contains("Model does not support image modality")
                && e.error.message().contains("deepseek.v3.2 takes text only"),
            "{e}"
        );
    }

    #[test]
    fn a_429_without_retry_after_gets_the_gateways_backoff() {
        let throttled = || {
            Reply {
            status: 429,
            headers: mantle_headers("req_THROTTLED"),
            body: r#"{"error":{"code":"throttling","message":"Too many tokens per minute","param":null,"type":"rate_limit_error"}}"#.into(),
        }
        };
        let mut host = scripted(vec![
            throttled(),
            throttled(),
            throttled(),
            streamed(),
            throttled(),
        ]);
        let mut c = client();
        let mut waits = Vec::new();
        for _ in 0..3 {
            let e = c
                .chat_stream(&mut host, &hi("deepseek.v3.2"))
                .err()
                .unwrap();
            let Error::RateLimited {
                retry_after,
                message,
            } = e.error
            else {
                panic!("{e:?}")
            };
            assert!(message.contains("the gateway asks for"), "{message}");
            waits.push(retry_after);
        }
        assert_eq!(waits, [Some(2), Some(4), Some(8)]);
        c.chat_stream(&mut host, &hi("deepseek.v3.2")).unwrap();
        let e = c
            .chat_stream(&mut host, &hi("deepseek.v3.2"))
            .err()
            .unwrap();
        assert!(
            matches!(
                e.error,
                Error::RateLimited {
                    retry_after: Some(2),
                    ..
                }
            ),
            "a request that passed starts the count over: {e:?}"
        );
        // Mantle's own retry-after, when it sends one, is kept.
        let mut reply = throttled();
        reply.headers.push(("retry-after".into(), "9".into()));
        let mut host = scripted(vec![reply]);
        let e = client()
            .chat_stream(&mut host, &hi("deepseek.v3.2"))
            .err()
            .unwrap();
        assert!(
            matches!(
                e.error,
                Error::RateLimited {
                    retry_after: Some(9),
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn the_captured_stream_survives_whole() {
        let mut host = scripted(vec![streamed()]);
        let stream = client()
            .chat_stream(&mut host, &hi("openai.gpt-oss-20b"))
            .unwrap();
        let events: Vec<ChatEvent> = drain(stream).into_iter().map(|e| e.unwrap()).collect();
        let reasoning: String = events
            .iter()
            .filter_map(|e| match e {
                ChatEvent::ReasoningDelta(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert!(reasoning.starts_with("The user query: "), "{reasoning}");
        assert!(
            reasoning.ends_with("Therefore we should invoke function."),
            "{reasoning}"
        );
        assert!(
            events.contains(&ChatEvent::ToolCallStart {
                index: 0,
                id: "chatcmpl-tool-a6315f295fd98b2a".into(),
                name: "get_boiling_point".into(),
            }),
            "{events:?}"
        );
        assert!(events.contains(&ChatEvent::ToolCallArguments {
            index: 0,
            arguments: r#"{"liquid_name":"myawesomeliquid"}"#.into(),
        }));
        assert_eq!(
            events[events.len() - 2..],
            [
                ChatEvent::Usage(crate::chat::Usage {
                    input_tokens: 229,
                    output_tokens: 110,
                    // gpt-oss-20b at the built-in table's 0.07 and 0.30 USD per million.
                    cost: Some(crate::cost::Charge {
                        input: 229.0 * 0.07 / 1e6,
                        output: 110.0 * 0.30 / 1e6,
                        cache_read: 0.0,
                        cache_write: 0.0,
                        total: 229.0 * 0.07 / 1e6 + 110.0 * 0.30 / 1e6,
                    }),
                    ..crate::chat::Usage::default()
                }),
                ChatEvent::Finish(crate::chat::StopReason::ToolCalls),
            ]
        );
    }
}
