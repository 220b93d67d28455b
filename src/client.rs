//! One tenant's client: settings resolved against the environment, the bearer token
//! (given or minted, and re-minted in time), discovery with its cache, and listing.
//!
//! The environment, the clock and the network come in through [`Host`], so this logic runs
//! natively in tests exactly as it runs in the component.

use crate::config::{self, ProviderConfig};
use crate::discovery;
use crate::error::{Error, Result};
use crate::http::{self, BaseUrl, Limits, Response};
use crate::model::Model;
use crate::region;
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
    base: BaseUrl,
    config: ProviderConfig,
    auth: Auth,
}

#[derive(Clone)]
struct CachedModels {
    fetched_at: u64,
    models: Vec<Model>,
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
    resolved: Option<Result<Resolved>>,
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

    fn resolve(&mut self, host: &dyn Host) -> Result<Resolved> {
        if let Some(r) = &self.resolved {
            return r.clone();
        }
        let r = resolve(&self.settings, host);
        self.resolved = Some(r.clone());
        r
    }

    /// The region this client talks to.
    pub fn region(&mut self, host: &dyn Host) -> Result<String> {
        self.resolve(host).map(|r| r.region)
    }

    /// The bearer token for the next request: given, or minted and cached until it is due
    /// for re-minting (300 s before it expires, and at least hourly).
    pub fn bearer(&mut self, host: &dyn Host) -> Result<String> {
        let resolved = self.resolve(host)?;
        match resolved.auth {
            Auth::Static(t) => Ok(t),
            Auth::Missing(m) => Err(Error::MissingCredentials(m)),
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
                let t = token::mint(&creds, &resolved.region, MINT_EXPIRES_IN, now)?;
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
        if !(200..300).contains(&response.status) {
            let mut e = http::classify_error(
                &what,
                response.status,
                response.header("retry-after"),
                &response.body,
                &[&bearer],
            );
            if response.status == 404 {
                e = Error::Configuration(format!(
                    "{}; check that baseUrl ends in /v1",
                    e.message()
                ));
            }
            return Err(e);
        }
        let models = discovery::parse_models(&response.body).map_err(|e| match e {
            Error::Protocol(m) => Error::Protocol(format!("{what}: {m}")),
            other => other,
        })?;
        self.models = Some(CachedModels {
            fetched_at: host.now(),
            models: models.clone(),
        });
        self.failed_at = None;
        Ok(models)
    }

    /// Discovered (cached for an hour) and configured models merged, plus built-in ones.
    /// Upstream trouble is no error here: it leaves a diagnostic and the models known.
    pub fn list(&mut self, host: &mut dyn Host) -> Result<Listing> {
        let resolved = self.resolve(host)?;
        let mut diagnostics = Vec::new();
        let now = host.now();
        let fresh = self
            .models
            .as_ref()
            .is_some_and(|c| now >= c.fetched_at && now - c.fetched_at < MODEL_CACHE_SECS);
        if resolved.config.discovery && !fresh {
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
        let discovered: &[Model] = match (&self.models, resolved.config.discovery) {
            (Some(c), true) => {
                if now.saturating_sub(c.fetched_at) >= MODEL_CACHE_SECS {
                    diagnostics.push(format!(
                        "using models discovered {} s ago",
                        now.saturating_sub(c.fetched_at)
                    ));
                }
                &c.models
            }
            _ => &[],
        };
        if resolved.config.discovery && discovered.is_empty() && diagnostics.is_empty() {
            diagnostics.push("discovery returned no models".into());
        }
        Ok(Listing {
            models: discovery::merge(discovered, &resolved.config),
            diagnostics,
        })
    }
}

fn resolve(settings: &Settings, host: &dyn Host) -> Result<Resolved> {
    let env = |name: &str| non_empty(host.env(name));
    let region = region::resolve(
        settings.region.as_deref(),
        env("AWS_REGION").as_deref(),
        env("AWS_DEFAULT_REGION").as_deref(),
    )?;
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
    Ok(Resolved {
        region,
        base,
        config,
        auth,
    })
}
