//! What the face does with a request, whatever Spin SDK and WASI version carry it: the
//! routes, the gateway key, the tenant's client and its listing kept in the key-value store,
//! and the answers, whole or streamed. The I/O it needs (variables, key-value, the request and
//! its body, the answer's head and body, the provider's [`Host`] port) is an [`Io`]:
//! `spin` (spin-sdk 5.2, WASI 0.2) or `spin3` (spin-sdk 7, WASI 0.3).

use crate::messages::{self, Relay};
use crate::openai::{self as face, ErrorResponse};
use crate::surface::{ChatCompletions, Collect, FrameWriter, Messages, Responses, Surface};
use mantle_provider::Error;
use mantle_provider::catalog::{Prefix, Route};
use mantle_provider::chat::{ChatEvent, ChatRequest};
use mantle_provider::client::{
    AnswerHeaders, ChatStream, Client, Failure, Host, RawMessages, Settings,
};
use mantle_provider::discovery;
use mantle_provider::model::{Api, Model, ModelSource};
use mantle_provider::routing::Learned;
use mantle_provider::token::Credentials;

/// The I/O of one WASI version: what the face reads (variables, the key-value store, the
/// request) and writes (the answer), and the provider's port for outgoing requests.
#[allow(async_fn_in_trait)]
pub(crate) trait Io {
    /// The incoming request.
    type Request;
    /// Where the answer goes.
    type Out;
    /// An answer's body, being written.
    type Answer: Answer;
    /// The provider's port: environment, clock, outgoing HTTP.
    type Host: Host + 'static;

    /// A Spin variable: `None` when undefined, an error's words otherwise.
    fn variable(name: &str) -> Result<Option<String>, String>;
    /// The value under `key` in the default key-value store; `None` when there is none or
    /// the store cannot be opened or read.
    fn load(key: &str) -> Option<Vec<u8>>;
    /// Keeps `value` under `key` in the default key-value store; `None` when the store cannot
    /// be opened.
    fn keep(key: &str, value: &[u8]) -> Option<Result<(), String>>;
    /// A new port for the provider.
    fn host() -> Self::Host;
    /// The values of a request header.
    fn header(request: &Self::Request, name: &str) -> Vec<Vec<u8>>;
    /// The request's method, as written (`GET`, `POST`, …).
    fn method(request: &Self::Request) -> String;
    /// The request's path and query.
    fn path_with_query(request: &Self::Request) -> Option<String>;
    /// Reads the request body, refusing more than `max` bytes ([`body_budget`]).
    async fn read_body(request: Self::Request, max: usize) -> Result<Vec<u8>, Error>;
    /// Sends the answer's head and opens its body.
    async fn start(out: Self::Out, status: u16, headers: &[(&str, &str)]) -> Self::Answer;
}

/// An answer's body being written; dropped, it is finished.
#[allow(async_fn_in_trait)]
pub(crate) trait Answer {
    /// Writes `data` and flushes it; an error means the client went away.
    async fn send(&mut self, data: &[u8]) -> Result<(), ()>;
    /// Ends the body: the client has the whole answer. Writes the access record first.
    fn finish(&mut self);
}

/// What a request body may be, from its `content-length` values: `Err` when it declares more
/// than `max` bytes, else the declared length, if any, to make room for at once (growing by
/// doubling would hold the old and the new buffer together, half as much again as the body).
pub(crate) fn body_budget(content_length: &[Vec<u8>], max: usize) -> Result<usize, Error> {
    let declared = match content_length {
        [len] => core::str::from_utf8(len)
            .ok()
            .and_then(|s| s.parse::<usize>().ok()),
        _ => None,
    };
    if declared.is_some_and(|len| len > max) {
        return Err(too_large(max));
    }
    Ok(declared.unwrap_or(0))
}

/// The refusal of a request body over `max` bytes.
pub(crate) fn too_large(max: usize) -> Error {
    Error::InvalidRequest(format!(
        "the request body is larger than {max} bytes (max_request_bytes)"
    ))
}

/// Appends `chunk` to `body`, refusing to grow past `max` bytes.
pub(crate) fn take_chunk(body: &mut Vec<u8>, chunk: &[u8], max: usize) -> Result<(), Error> {
    if body.len() + chunk.len() > max {
        return Err(too_large(max));
    }
    body.extend_from_slice(chunk);
    Ok(())
}

/// Largest request body unless `max_request_bytes` says otherwise.
const DEFAULT_MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// The prefix of the key-value entries that keep the listing (discovered models, routes
/// learned) across instances; the client's cache identity (base URL, region, credential
/// fingerprint) completes the key. (Entries of the first form, ids only, were kept under
/// `mantle-face/discovered-models/`; they are not read.)
const MODELS_KEY_PREFIX: &str = "mantle-face/listing/v2/";

/// Largest key-value entry read back, bytes (a 4 MiB listing of ids fits).
const MAX_ENTRY_BYTES: usize = 8 << 20;

/// The key-value entry: a JSON document, so no id can split it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    /// The client's cache identity the listing was found for.
    identity: String,
    /// When the models were found, seconds since the Unix epoch; `None` when only routes are
    /// kept (discovery failed or is off).
    #[serde(default)]
    fetched_at: Option<u64>,
    /// The models discovered: their ids, and when Mantle says each was added.
    #[serde(default)]
    models: Vec<EntryModel>,
    /// Routes learned from Mantle's answers for ids the route table does not know; each
    /// expires an hour after it was learned, as the listing does.
    #[serde(default)]
    routes: Vec<EntryRoute>,
}

/// A discovered model, as the entry keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct EntryModel {
    id: String,
    #[serde(default)]
    created: Option<u64>,
}

/// A learned route, as the entry keeps it (`api` and `prefix` as the provider spells them).
#[derive(serde::Serialize, serde::Deserialize)]
struct EntryRoute {
    id: String,
    api: String,
    prefix: String,
    confirmed: bool,
    at: u64,
}

/// Writes the request's access record ([`crate::access`]) on stderr, once: before the last
/// bytes of the answer go out, since a host may end the instance as soon as the answer is
/// complete.
pub(crate) fn write_access_record() {
    if let Some(line) = crate::access::finish() {
        eprintln!("{line}");
    }
}

/// What the variables say.
struct Face {
    key: Option<String>,
    /// The named keys (`gateway_keys`, [`crate::keys`]).
    keys: crate::keys::KeyFile,
    /// Who is calling, once the key is checked.
    caller: Option<crate::keys::Caller>,
    max_request_bytes: usize,
    settings: Settings,
}

/// A variable, empty when undefined.
fn var<I: Io>(name: &str) -> Result<String, Error> {
    match I::variable(name) {
        Ok(v) => Ok(v.unwrap_or_default().trim().to_owned()),
        Err(e) => Err(Error::Configuration(format!("variable {name}: {e}"))),
    }
}

fn some(v: String) -> Option<String> {
    (!v.is_empty()).then_some(v)
}

impl Face {
    fn load<I: Io>() -> Result<Face, Error> {
        let key = some(var::<I>("gateway_api_key")?);
        let keys = match var::<I>("gateway_keys")?.as_str() {
            "" => crate::keys::KeyFile::default(),
            text => crate::keys::parse(text)?,
        };
        let open = var::<I>("allow_unauthenticated")?;
        if key.is_none() && keys.keys.is_empty() && open != "true" {
            return Err(Error::Configuration(
                "gateway_api_key is not set; set it (or gateway_keys), or set allow_unauthenticated to true for local use only".into(),
            ));
        }
        let max_request_bytes = match var::<I>("max_request_bytes")?.as_str() {
            "" => DEFAULT_MAX_REQUEST_BYTES,
            v => v.parse().map_err(|_| {
                Error::Configuration(format!("max_request_bytes: {v:?} is not a number of bytes"))
            })?,
        };
        let access_key_id = var::<I>("aws_access_key_id")?;
        let credentials = if access_key_id.is_empty() {
            None
        } else {
            let expiration = match var::<I>("aws_credentials_expiration")?.as_str() {
                "" => None,
                v => Some(v.parse().map_err(|_| {
                    Error::Configuration(format!(
                        "aws_credentials_expiration: {v:?} is not a time in seconds since the Unix epoch"
                    ))
                })?),
            };
            Some(Credentials {
                access_key_id,
                secret_access_key: var::<I>("aws_secret_access_key")?,
                session_token: some(var::<I>("aws_session_token")?),
                expiration,
            })
        };
        Ok(Face {
            key,
            keys,
            caller: None,
            max_request_bytes,
            settings: Settings {
                region: some(var::<I>("aws_region")?),
                bearer_token: some(var::<I>("aws_bearer_token_bedrock")?),
                credentials,
                config: some(var::<I>("mantle_config")?),
            },
        })
    }

    /// Whether the request carries the gateway key, as `Authorization: Bearer <key>` or
    /// `x-api-key: <key>` ([`crate::auth::carries_key`]: constant-time comparisons).
    /// With named keys ([`crate::keys`]) beside it, the caller is the key that matches.
    fn authorized<I: Io>(&mut self, request: &I::Request) -> bool {
        if self.key.is_none() && self.keys.keys.is_empty() {
            eprintln!(
                "WARNING: serving without a gateway key (allow_unauthenticated); anyone who reaches this address spends your Mantle quota"
            );
            self.caller = Some(crate::keys::Caller::unrestricted(
                crate::keys::ANONYMOUS_NAME,
            ));
            return true;
        }
        self.caller = crate::keys::identify(
            self.key.as_deref().map(str::as_bytes),
            &self.keys,
            &I::header(request, "authorization"),
            &I::header(request, "x-api-key"),
        );
        if let Some(caller) = &self.caller {
            crate::access::key(&caller.name);
        }
        self.caller.is_some()
    }

    /// `None` when the caller may use `model`; else the refusal (403, naming the model), which
    /// the access record notes. Nothing goes upstream for a refused model.
    fn refuses(&self, model: &str) -> Option<String> {
        let caller = self.caller.as_ref()?;
        if caller.allows(model) {
            return None;
        }
        crate::access::refused("model-not-allowed");
        Some(caller.refusal(model))
    }
}

/// The largest non-streamed answer passed on from Mantle's Anthropic route.
const MAX_WHOLE_ANSWER: usize = 32 * 1024 * 1024;

/// Whether a path is one of the Messages API's, whose answers take Anthropic's shape.
fn is_messages_path(path: &str) -> bool {
    path == "/v1/messages" || path.starts_with("/v1/messages/")
}

/// Answers one request.
pub(crate) async fn handle<I: Io>(request: I::Request, out: I::Out) {
    let full_path = I::path_with_query(&request).unwrap_or_default();
    let path = full_path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    crate::access::path(path);
    let mut face = match Face::load::<I>() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("mantle face: {e}");
            if is_messages_path(path) {
                return respond_error::<I, Messages>(out, &e).await;
            }
            return respond_error::<I, ChatCompletions>(out, &e).await;
        }
    };
    if !face.authorized::<I>(&request) {
        crate::access::refused("unauthorized-key");
        let message =
            "missing or wrong gateway key: send x-api-key: <key> or Authorization: Bearer <key>";
        let body = if is_messages_path(path) {
            messages::anthropic_error("authentication_error", message)
        } else {
            face::openai_error(message, "invalid_request_error", "invalid_api_key")
        };
        return respond::<I>(out, 401, &[("www-authenticate", "Bearer")], body).await;
    }
    let method = I::method(&request);
    match (path, method.as_str()) {
        ("/v1/models", "GET") => models::<I>(face, out).await,
        ("/v1/chat/completions", "POST") => serve::<I, ChatCompletions>(face, request, out).await,
        ("/v1/responses", "POST") => serve::<I, Responses>(face, request, out).await,
        ("/v1/messages", "POST") => anthropic_messages::<I>(face, request, out, false).await,
        ("/v1/messages/count_tokens", "POST") => {
            anthropic_messages::<I>(face, request, out, true).await;
        }
        ("/v1/messages" | "/v1/messages/count_tokens", _) => {
            let body = messages::anthropic_error(
                "invalid_request_error",
                &format!("{method} is not allowed on {path}"),
            );
            respond::<I>(out, 405, &[], body).await;
        }
        (path, _) if is_messages_path(path) => {
            let body = messages::anthropic_error(
                "not_found_error",
                &format!(
                    "no route {path}: this gateway serves POST /v1/messages and POST /v1/messages/count_tokens"
                ),
            );
            respond::<I>(out, 404, &[], body).await;
        }
        ("/v1/models" | "/v1/chat/completions" | "/v1/responses", _) => {
            let body = face::openai_error(
                &format!("{method} is not allowed on {path}"),
                "invalid_request_error",
                "method_not_allowed",
            );
            respond::<I>(out, 405, &[], body).await;
        }
        _ => {
            let body = face::openai_error(
                &format!(
                    "no route {path}: this gateway serves GET /v1/models, POST /v1/chat/completions, POST /v1/responses and POST /v1/messages"
                ),
                "invalid_request_error",
                "unknown_url",
            );
            respond::<I>(out, 404, &[], body).await;
        }
    }
}

/// The tenant's client, kept in the instance between its requests. Under Spin every request
/// gets a fresh instance, so this starts empty each time; a host that keeps instances
/// (`mantle-host serve --reuse-instances`) hands the next request the parsed configuration,
/// the minted token and the listing without reading them again. It is reused only for the
/// very same settings (variables, credentials included): new credentials make a new client.
/// Only the tenant's configuration and what it derives are kept, never a request.
static KEPT: std::sync::Mutex<Option<Kept>> = std::sync::Mutex::new(None);

/// A tenant's client.
struct Kept {
    client: Client,
    /// What the key-value entry holds, as far as this client knows (seeded from it, or saved
    /// to it): when its models were found and the revision of the routes it has, so an
    /// unchanged listing is not written again.
    stored: Option<(Option<u64>, u64)>,
}

/// The tenant's client for one request; dropped, it goes back to [`KEPT`].
struct Tenant(Kept);

impl core::ops::Deref for Tenant {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.0.client
    }
}

impl core::ops::DerefMut for Tenant {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.0.client
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        let empty = Kept {
            client: Client::new(Settings::default()),
            stored: None,
        };
        let kept = core::mem::replace(&mut self.0, empty);
        if let Ok(mut slot) = KEPT.lock() {
            *slot = Some(kept);
        }
    }
}

/// The tenant's client: the one kept from an earlier request of this instance when the
/// settings are the same, else a new one whose listing cache (models and learned routes)
/// starts from what an earlier instance found for the same upstream and credential.
fn client<I: Io>(face: Face, host: &I::Host) -> Tenant {
    let kept = KEPT.lock().ok().and_then(|mut slot| slot.take());
    if let Some(kept) = kept
        && *kept.client.settings() == face.settings
    {
        return Tenant(kept);
    }
    let mut tenant = Tenant(Kept {
        client: Client::new(face.settings),
        stored: None,
    });
    let Ok(identity) = tenant.cache_identity(host) else {
        return tenant;
    };
    let Some(entry) = load_listing::<I>(&identity) else {
        return tenant;
    };
    let mut seeded_at = None;
    // A clock that went back makes the entry useless rather than fresh forever.
    if let Some(at) = entry.fetched_at.filter(|at| *at <= host.now()) {
        let models = entry
            .models
            .iter()
            .filter(|m| !m.id.is_empty() && discovery::id_problem(&m.id).is_none())
            .map(|m| Model {
                created: m.created,
                ..discovery::model_with_defaults(
                    &m.id,
                    Api::OpenaiCompletions,
                    ModelSource::Discovered,
                )
            })
            .collect();
        if tenant.seed_discovered(host, &entry.identity, at, models) {
            seeded_at = Some(at);
        }
    }
    let routes = entry.routes.iter().filter_map(|r| {
        let learned = Learned {
            route: Route {
                api: Api::parse(&r.api)?,
                prefix: Prefix::parse(&r.prefix)?,
            },
            confirmed: r.confirmed,
            at: r.at,
        };
        (discovery::id_problem(&r.id).is_none()).then(|| (r.id.clone(), learned))
    });
    let routes: Vec<(String, Learned)> = routes.collect();
    if tenant.seed_routes(host, &entry.identity, routes) {
        tenant.0.stored = Some((seeded_at, tenant.learned_routes().revision()));
    }
    tenant
}

fn load_listing<I: Io>(identity: &str) -> Option<Entry> {
    let bytes = I::load(&format!("{MODELS_KEY_PREFIX}{identity}"))?;
    if bytes.len() > MAX_ENTRY_BYTES {
        return None;
    }
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    (entry.identity == identity).then_some(entry)
}

/// Keeps what this client discovered and learned, when there is anything new, under the
/// client's cache identity.
fn save_listing<I: Io>(tenant: &mut Tenant, host: &I::Host) {
    let Ok(identity) = tenant.cache_identity(host) else {
        return;
    };
    let discovered = tenant.discovered();
    let now = (
        discovered.map(|(at, _)| at),
        tenant.learned_routes().revision(),
    );
    // Nothing new, or nothing ever found to keep.
    let nothing = now.0.is_none()
        && tenant.learned_routes().entries().is_empty()
        && tenant.0.stored.is_none();
    if nothing || tenant.0.stored == Some(now) {
        return;
    }
    let entry = Entry {
        identity,
        fetched_at: now.0,
        models: discovered
            .map(|(_, models)| models)
            .unwrap_or_default()
            .iter()
            .map(|m| EntryModel {
                id: m.id.clone(),
                created: m.created,
            })
            .collect(),
        routes: tenant
            .learned_routes()
            .entries()
            .iter()
            .map(|(id, l)| EntryRoute {
                id: id.clone(),
                api: l.route.api.as_str().to_owned(),
                prefix: l.route.prefix.as_str().to_owned(),
                confirmed: l.confirmed,
                at: l.at,
            })
            .collect(),
    };
    let Ok(text) = serde_json::to_vec(&entry) else {
        return;
    };
    let key = format!("{MODELS_KEY_PREFIX}{}", entry.identity);
    match I::keep(&key, &text) {
        Some(Ok(())) => tenant.0.stored = Some(now),
        Some(Err(e)) => eprintln!("mantle face: cannot keep the listing: {e}"),
        None => {}
    }
}

async fn models<I: Io>(face: Face, out: I::Out) {
    let face_caller = face.caller.clone();
    let mut host = I::host();
    let mut client = client::<I>(face, &host);
    let listing = match client.list(&mut host) {
        Ok(l) => l,
        Err(e) => return respond_error::<I, ChatCompletions>(out, &e).await,
    };
    save_listing::<I>(&mut client, &host);
    for d in &listing.diagnostics {
        eprintln!("mantle face: models: {d}");
    }
    let allowed: Vec<Model> = match &face_caller {
        Some(caller) => listing
            .models
            .into_iter()
            .filter(|m| caller.allows(&m.id))
            .collect(),
        None => listing.models,
    };
    let body = face::models_response(&allowed, host.now());
    respond::<I>(out, 200, &[("content-type", "application/json")], body).await;
}

/// The provider's stream for a request the face has read: the tenant's client (its listing
/// seeded from the key-value store and saved back), an unknown model refused without asking
/// Mantle (unless discovery failed and the listing cannot tell) with a 404 naming the models
/// it lists, then the upstream request (whose learned route is saved back too).
fn open_chat<I: Io>(face: Face, request: &ChatRequest) -> Result<(I::Host, ChatStream), Failure> {
    let mut host = I::host();
    let mut client = client::<I>(face, &host);
    let model = &request.model;
    let lookup = client.lookup(&mut host, model)?;
    save_listing::<I>(&mut client, &host);
    if lookup.diagnostics.is_empty()
        && lookup.model.is_none()
        && let Some(missing) = lookup.missing
    {
        return Err(missing.into());
    }
    let stream = client.chat_stream(&mut host, request);
    save_listing::<I>(&mut client, &host);
    Ok((host, stream?))
}

/// `mantle face: {model} (request id …): {line}`, for a log line about a request.
fn log(model: &str, request_id: Option<&str>, line: &dyn core::fmt::Display) {
    let line = line.to_string();
    match request_id {
        Some(id) if !line.contains(id) => {
            eprintln!("mantle face: {model} (request id {id}): {line}")
        }
        _ => eprintln!("mantle face: {model}: {line}"),
    }
}

/// A translated request on surface `S` (`POST /v1/chat/completions`, `POST /v1/responses`):
/// read, parsed, sent on the route its model is served on, answered in `S`'s shape.
async fn serve<I: Io, S: Surface>(face: Face, request: I::Request, out: I::Out) {
    let body = match I::read_body(request, face.max_request_bytes).await {
        Ok(b) => b,
        Err(e) => return respond_error::<I, S>(out, &e).await,
    };
    let mut parsed = match S::parse(&body) {
        Ok(p) => p,
        Err(e) => return respond_error::<I, S>(out, &e).await,
    };
    drop(body);
    let model = S::request(&mut parsed).model.clone();
    crate::access::model(&model, S::streams(&parsed));
    if let Some(refusal) = face.refuses(&model) {
        return respond::<I>(out, 403, &[], S::not_allowed(&refusal)).await;
    }
    match open_chat::<I>(face, S::request(&mut parsed)) {
        Ok((host, stream)) => answer::<I, S>(out, &parsed, &model, host.now(), stream).await,
        Err(f) => {
            log(&model, f.answer.request_id.as_deref(), &f.error);
            respond_failure::<I, S>(out, &f).await;
        }
    }
}

/// The answer to a request the upstream took, in `S`'s shape: one whole body, or a stream
/// written as the upstream's comes.
async fn answer<I: Io, S: Surface>(
    out: I::Out,
    parsed: &S::Parsed,
    model: &str,
    created: u64,
    mut stream: ChatStream,
) {
    note_opened(&stream);
    for d in stream.diagnostics() {
        log(model, stream.request_id(), d);
    }
    let headers = S::answer_headers(stream.answer());
    if !S::streams(parsed) {
        let mut collector = S::collector(parsed, model, created);
        while let Some(event) = stream.next_event() {
            match event {
                Ok(event) => {
                    crate::access::event(&event);
                    collector.event(event);
                }
                Err(e) => {
                    log(model, stream.request_id(), &e);
                    return respond_failure::<I, S>(out, &failure(e, &stream)).await;
                }
            }
        }
        let body = collector.finish();
        return respond::<I>(out, 200, &with(&headers, "application/json"), body).await;
    }
    let mut reply = event_stream::<I>(out, &headers).await;
    pump(
        &mut stream,
        S::writer(parsed, model, created),
        &mut reply,
        model,
    )
    .await;
}

/// The access record's note of an opened stream: Mantle's request id, the route, retries.
fn note_opened(stream: &ChatStream) {
    crate::access::upstream(stream.request_id(), Some(stream.route()), stream.retries());
}

/// A failure of a stream already open: the error, with what Mantle's answer said.
fn failure(error: Error, stream: &ChatStream) -> Failure {
    Failure {
        error,
        answer: stream.answer().clone(),
    }
}

/// `headers` as the `(name, value)` pairs [`respond`] takes, after a `content-type`.
fn with<'a>(headers: &'a [(String, String)], content_type: &'a str) -> Vec<(&'a str, &'a str)> {
    core::iter::once(("content-type", content_type))
        .chain(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .collect()
}

/// Streams the provider's events to the client as `writer` shapes them. Everything one
/// upstream chunk gave goes out in one write. The finish is always last: the client gets
/// everything at once, and the rest of the upstream body is read afterwards. A failed write
/// means the client went away; dropping the stream then closes the upstream request.
async fn pump<W: FrameWriter>(
    stream: &mut ChatStream,
    mut writer: W,
    answer: &mut impl Answer,
    model: &str,
) {
    let mut frames = Vec::new();
    loop {
        match stream.next_event() {
            Some(Ok(event @ ChatEvent::Finish(_))) => {
                crate::access::event(&event);
                writer.event(&event, &mut frames);
                writer.end(&mut frames);
                let _ = answer.send(&frames).await;
                answer.finish();
                while stream.next_event().is_some() {}
                return;
            }
            Some(Ok(event)) => {
                crate::access::event(&event);
                writer.event(&event, &mut frames);
            }
            Some(Err(e)) => {
                crate::access::error(&e);
                log(
                    model,
                    stream.request_id(),
                    &format!("the stream ended early: {e}"),
                );
                writer.error(&e, &mut frames);
                let _ = answer.send(&frames).await;
                return;
            }
            None => {
                writer.end(&mut frames);
                let _ = answer.send(&frames).await;
                return;
            }
        }
        if !stream.buffered()
            && !frames.is_empty()
            && answer.send(&core::mem::take(&mut frames)).await.is_err()
        {
            return;
        }
    }
}

/// `POST /v1/messages`: Claude models (those the listing puts on the Anthropic route) pass
/// to Mantle's Anthropic route as written; other models are translated.
/// `POST /v1/messages/count_tokens` (`count_tokens`) passes Claude requests on the same way;
/// Mantle counts tokens for Claude models only.
async fn anthropic_messages<I: Io>(
    face: Face,
    request: I::Request,
    out: I::Out,
    count_tokens: bool,
) {
    let beta = anthropic_beta::<I>(&request);
    let body = match I::read_body(request, face.max_request_bytes).await {
        Ok(b) => b,
        Err(e) => return respond_error::<I, Messages>(out, &e).await,
    };
    let peeked = match messages::peek(&body) {
        Ok(p) => p,
        Err(e) => return respond_error::<I, Messages>(out, &e).await,
    };
    crate::access::model(&peeked.model, peeked.stream && !count_tokens);
    if let Some(refusal) = face.refuses(&peeked.model) {
        return respond::<I>(out, 403, &[], Messages::not_allowed(&refusal)).await;
    }
    let mut host = I::host();
    let mut client = client::<I>(face, &host);
    // The model as the client named it, in answers; the id Mantle serves, upstream.
    let model = peeked.model.as_str();
    let lookup = match client.lookup(&mut host, model) {
        Ok(l) => l,
        Err(e) => return respond_error::<I, Messages>(out, &e).await,
    };
    save_listing::<I>(&mut client, &host);
    for note in &lookup.notes {
        log(model, None, note);
    }
    let id = lookup.id.clone();
    crate::access::prices(
        lookup
            .model
            .as_ref()
            .and_then(|m| m.cost)
            .or_else(|| mantle_provider::cost::builtin(&id)),
    );
    let api = match (&lookup.model, lookup.missing) {
        (Some(m), _) => m.api,
        (None, Some(missing)) if lookup.diagnostics.is_empty() => {
            return respond_error::<I, Messages>(out, &missing).await;
        }
        _ => discovery::default_api(&id, Api::OpenaiCompletions),
    };
    if api == Api::AnthropicMessages {
        let path = if count_tokens {
            "/v1/messages/count_tokens"
        } else {
            "/v1/messages"
        };
        let raw = RawMessages {
            path: path.to_owned(),
            body: peeked.body_for_mantle(body, &id),
            beta: (!beta.is_empty()).then_some(beta),
            stream: peeked.stream && !count_tokens,
            model: id,
        };
        return pass_through::<I>(&mut client, &mut host, raw, out, model, count_tokens).await;
    }
    if count_tokens {
        let e = Error::InvalidRequest(format!(
            "token counting is served for Claude models only, not for {model}"
        ));
        return respond_error::<I, Messages>(out, &e).await;
    }
    translate_messages::<I>(&mut client, &mut host, body, id, model, out).await;
}

/// A Messages request for a model not served on Mantle's Anthropic route: translated to the
/// provider's chat request (`id` upstream), answered in Anthropic's shape naming `model`.
async fn translate_messages<I: Io>(
    client: &mut Tenant,
    host: &mut I::Host,
    body: Vec<u8>,
    id: String,
    model: &str,
    out: I::Out,
) {
    let mut parsed = match Messages::parse(&body) {
        Ok(p) => p,
        Err(e) => return respond_error::<I, Messages>(out, &e).await,
    };
    drop(body);
    parsed.request.model = id;
    let opened = client.chat_stream(host, &parsed.request);
    save_listing::<I>(client, host);
    match opened {
        Ok(stream) => answer::<I, Messages>(out, &parsed, model, host.now(), stream).await,
        Err(f) => {
            log(model, f.answer.request_id.as_deref(), &f.error);
            respond_failure::<I, Messages>(out, &f).await;
        }
    }
}

/// Sends a Claude request on Mantle's Anthropic route and passes the answer's bytes back:
/// a stream event by event as it arrives ([`Relay`]), a whole answer once it is all in. The
/// answer names the model as the client did (`model`), whatever Mantle calls it (a token
/// count names none).
async fn pass_through<I: Io>(
    client: &mut Client,
    host: &mut I::Host,
    raw: RawMessages,
    out: I::Out,
    model: &str,
    count_tokens: bool,
) {
    let stream = raw.stream;
    let mut answer = match client.anthropic_passthrough(host, raw) {
        Ok(a) => a,
        Err(f) => {
            log(model, f.answer.request_id.as_deref(), &f.error);
            return respond_failure::<I, Messages>(out, &f).await;
        }
    };
    let upstream = AnswerHeaders::of(&answer.headers);
    crate::access::upstream(
        upstream.request_id.as_deref(),
        Some(Api::AnthropicMessages),
        0,
    );
    let headers = messages::answer_headers(&upstream);
    let fail = |error: Error| Failure {
        error: mantle_provider::client::with_request_id(error, upstream.request_id.as_deref()),
        answer: upstream.clone(),
    };
    if !stream {
        return match read_whole(&mut answer, count_tokens, model) {
            Ok((content_type, body)) => {
                respond::<I>(out, 200, &with(&headers, &content_type), body).await
            }
            Err(e) => respond_failure::<I, Messages>(out, &fail(e)).await,
        };
    }
    let mut reply = event_stream::<I>(out, &headers).await;
    let mut relay = Relay::echoing(model);
    loop {
        let mut bytes = Vec::new();
        let ended = match answer.body.next_chunk() {
            Ok(Some(chunk)) => {
                relay.feed(&chunk, &mut bytes);
                false
            }
            Ok(None) => {
                relay.end(None, &mut bytes);
                true
            }
            Err(e) => {
                let e = match e {
                    Error::Timeout(m) => Error::Timeout(m),
                    other => Error::Truncated(format!(
                        "the stream broke before its final event: {}",
                        other.message()
                    )),
                };
                let e = fail(e).error;
                crate::access::error(&e);
                log(
                    model,
                    upstream.request_id.as_deref(),
                    &format!("the stream ended early: {e}"),
                );
                relay.end(Some(&e), &mut bytes);
                true
            }
        };
        // The client went away when a write fails; dropping the answer closes the upstream
        // request.
        if !bytes.is_empty() && reply.send(&bytes).await.is_err() {
            return;
        }
        // A stream the relay could not read ended with an error event: stop reading.
        if ended || relay.done() {
            return;
        }
    }
}

/// The `anthropic-beta` values of a request, joined with commas; empty when none.
fn anthropic_beta<I: Io>(request: &I::Request) -> String {
    I::header(request, "anthropic-beta")
        .iter()
        .map(|v| String::from_utf8_lossy(v).trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// A whole passed-through answer, at most [`MAX_WHOLE_ANSWER`] bytes, with its content type;
/// a message names the model as the client did (`model`), a token count is as Mantle wrote it.
fn read_whole(
    answer: &mut mantle_provider::client::Streaming,
    count_tokens: bool,
    model: &str,
) -> Result<(String, Vec<u8>), Error> {
    let mut body = Vec::new();
    loop {
        match answer.body.next_chunk() {
            Ok(Some(chunk)) if body.len() + chunk.len() > MAX_WHOLE_ANSWER => {
                return Err(Error::Protocol(format!(
                    "the upstream answer is larger than {MAX_WHOLE_ANSWER} bytes"
                )));
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                return Err(Error::Truncated(format!(
                    "the upstream answer broke off: {}",
                    e.message()
                )));
            }
        }
    }
    let content_type = answer
        .header("content-type")
        .unwrap_or("application/json")
        .to_owned();
    let body = if count_tokens {
        body
    } else {
        crate::access::anthropic_answer(&body);
        messages::echo_model(body, model)
    };
    Ok((content_type, body))
}

async fn respond<I: Io>(out: I::Out, status: u16, headers: &[(&str, &str)], body: Vec<u8>) {
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if !all.iter().any(|(k, _)| *k == "content-type") {
        all.push(("content-type", "application/json"));
    }
    let len = body.len().to_string();
    all.push(("content-length", &len));
    let cost = crate::access::charge()
        .filter(|_| status == 200)
        .map(|c| crate::cost::header_value(&c));
    if let Some(cost) = &cost {
        all.push((crate::cost::HEADER, cost));
    }
    crate::access::status(status);
    write_access_record();
    let _ = I::start(out, status, &all).await.send(&body).await;
}

/// The head of an event stream, with `headers` (the request id and quota headers).
async fn event_stream<I: Io>(out: I::Out, headers: &[(String, String)]) -> I::Answer {
    let mut all = with(headers, "text/event-stream");
    all.insert(1, ("cache-control", "no-cache"));
    crate::access::status(200);
    I::start(out, 200, &all).await
}

/// The answer to a request refused before anything was sent upstream, in `S`'s shape.
async fn respond_error<I: Io, S: Surface>(out: I::Out, error: &Error) {
    crate::access::error(error);
    respond_shaped::<I>(out, S::error_response(error), &[]).await;
}

/// The answer to a failed request in `S`'s shape, with Mantle's request id and quota
/// headers when Mantle answered.
async fn respond_failure<I: Io, S: Surface>(out: I::Out, failure: &Failure) {
    crate::access::error(&failure.error);
    crate::access::upstream(failure.answer.request_id.as_deref(), None, 0);
    let extra = S::answer_headers(&failure.answer);
    respond_shaped::<I>(out, S::error_response(&failure.error), &extra).await;
}

async fn respond_shaped<I: Io>(out: I::Out, response: ErrorResponse, extra: &[(String, String)]) {
    let ErrorResponse {
        status,
        headers,
        body,
    } = response;
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    respond::<I>(out, status, &headers, body).await;
}
