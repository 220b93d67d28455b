//! The Spin entry point and the I/O: variables, key-value, wasi-http.

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
use mantle_provider::wasi_host::WasiHost;
use spin_sdk::http::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use spin_sdk::{key_value, variables};
use wasi::io::streams::{OutputStream, StreamError};

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

#[allow(unsafe_code)]
mod entry {
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;

    /// The Spin entry point.
    #[http_component]
    async fn handle(request: IncomingRequest, out: ResponseOutparam) {
        crate::access::begin();
        crate::spin::handle(request, out).await;
        crate::spin::write_access_record();
    }
}

/// Writes the request's access record ([`crate::access`]) on stderr, once: before the last
/// bytes of the answer go out, since a host may end the instance as soon as the answer is
/// complete.
fn write_access_record() {
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
fn var(name: &str) -> Result<String, Error> {
    match variables::get(name) {
        Ok(v) => Ok(v.trim().to_owned()),
        Err(variables::Error::Undefined(_)) => Ok(String::new()),
        Err(e) => Err(Error::Configuration(format!("variable {name}: {e}"))),
    }
}

fn some(v: String) -> Option<String> {
    (!v.is_empty()).then_some(v)
}

impl Face {
    fn load() -> Result<Face, Error> {
        let key = some(var("gateway_api_key")?);
        let keys = match var("gateway_keys")?.as_str() {
            "" => crate::keys::KeyFile::default(),
            text => crate::keys::parse(text)?,
        };
        let open = var("allow_unauthenticated")?;
        if key.is_none() && keys.keys.is_empty() && open != "true" {
            return Err(Error::Configuration(
                "gateway_api_key is not set; set it (or gateway_keys), or set allow_unauthenticated to true for local use only".into(),
            ));
        }
        let max_request_bytes = match var("max_request_bytes")?.as_str() {
            "" => DEFAULT_MAX_REQUEST_BYTES,
            v => v.parse().map_err(|_| {
                Error::Configuration(format!("max_request_bytes: {v:?} is not a number of bytes"))
            })?,
        };
        let access_key_id = var("aws_access_key_id")?;
        let credentials = if access_key_id.is_empty() {
            None
        } else {
            let expiration = match var("aws_credentials_expiration")?.as_str() {
                "" => None,
                v => Some(v.parse().map_err(|_| {
                    Error::Configuration(format!(
                        "aws_credentials_expiration: {v:?} is not a time in seconds since the Unix epoch"
                    ))
                })?),
            };
            Some(Credentials {
                access_key_id,
                secret_access_key: var("aws_secret_access_key")?,
                session_token: some(var("aws_session_token")?),
                expiration,
            })
        };
        Ok(Face {
            key,
            keys,
            caller: None,
            max_request_bytes,
            settings: Settings {
                region: some(var("aws_region")?),
                bearer_token: some(var("aws_bearer_token_bedrock")?),
                credentials,
                config: some(var("mantle_config")?),
            },
        })
    }

    /// Whether the request carries the gateway key, as `Authorization: Bearer <key>` or
    /// `x-api-key: <key>` ([`crate::auth::carries_key`]: constant-time comparisons).
    /// With named keys ([`crate::keys`]) beside it, the caller is the key that matches.
    fn authorized(&mut self, request: &IncomingRequest) -> bool {
        if self.key.is_none() && self.keys.keys.is_empty() {
            eprintln!(
                "WARNING: serving without a gateway key (allow_unauthenticated); anyone who reaches this address spends your Mantle quota"
            );
            self.caller = Some(crate::keys::Caller::unrestricted(
                crate::keys::ANONYMOUS_NAME,
            ));
            return true;
        }
        let headers = request.headers();
        self.caller = crate::keys::identify(
            self.key.as_deref().map(str::as_bytes),
            &self.keys,
            &headers.get("authorization"),
            &headers.get("x-api-key"),
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

async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    let full_path = request.path_with_query().unwrap_or_default();
    let path = full_path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    crate::access::path(path);
    let mut face = match Face::load() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("mantle face: {e}");
            if is_messages_path(path) {
                return respond_error::<Messages>(out, &e);
            }
            return respond_error::<ChatCompletions>(out, &e);
        }
    };
    if !face.authorized(&request) {
        crate::access::refused("unauthorized-key");
        let message =
            "missing or wrong gateway key: send x-api-key: <key> or Authorization: Bearer <key>";
        let body = if is_messages_path(path) {
            messages::anthropic_error("authentication_error", message)
        } else {
            face::openai_error(message, "invalid_request_error", "invalid_api_key")
        };
        return respond(out, 401, &[("www-authenticate", "Bearer")], body);
    }
    let method = request.method();
    match (path, &method) {
        ("/v1/models", Method::Get) => models(face, out),
        ("/v1/chat/completions", Method::Post) => {
            serve::<ChatCompletions>(face, request, out).await
        }
        ("/v1/responses", Method::Post) => serve::<Responses>(face, request, out).await,
        ("/v1/messages", Method::Post) => anthropic_messages(face, request, out, false).await,
        ("/v1/messages/count_tokens", Method::Post) => {
            anthropic_messages(face, request, out, true).await;
        }
        ("/v1/messages" | "/v1/messages/count_tokens", _) => {
            let body = messages::anthropic_error(
                "invalid_request_error",
                &format!("{method} is not allowed on {path}"),
            );
            respond(out, 405, &[], body);
        }
        (path, _) if is_messages_path(path) => {
            let body = messages::anthropic_error(
                "not_found_error",
                &format!(
                    "no route {path}: this gateway serves POST /v1/messages and POST /v1/messages/count_tokens"
                ),
            );
            respond(out, 404, &[], body);
        }
        ("/v1/models" | "/v1/chat/completions" | "/v1/responses", _) => {
            let body = face::openai_error(
                &format!("{method} is not allowed on {path}"),
                "invalid_request_error",
                "method_not_allowed",
            );
            respond(out, 405, &[], body);
        }
        _ => {
            let body = face::openai_error(
                &format!(
                    "no route {path}: this gateway serves GET /v1/models, POST /v1/chat/completions, POST /v1/responses and POST /v1/messages"
                ),
                "invalid_request_error",
                "unknown_url",
            );
            respond(out, 404, &[], body);
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
fn client(face: Face, host: &WasiHost) -> Tenant {
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
    let Some(entry) = load_listing(&identity) else {
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

fn store() -> Option<key_value::Store> {
    key_value::Store::open_default().ok()
}

fn load_listing(identity: &str) -> Option<Entry> {
    let bytes = store()?
        .get(&format!("{MODELS_KEY_PREFIX}{identity}"))
        .ok()??;
    if bytes.len() > MAX_ENTRY_BYTES {
        return None;
    }
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    (entry.identity == identity).then_some(entry)
}

/// Keeps what this client discovered and learned, when there is anything new, under the
/// client's cache identity.
fn save_listing(tenant: &mut Tenant, host: &WasiHost) {
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
    match store().map(|store| store.set(&key, &text)) {
        Some(Ok(())) => tenant.0.stored = Some(now),
        Some(Err(e)) => eprintln!("mantle face: cannot keep the listing: {e}"),
        None => {}
    }
}

fn models(face: Face, out: ResponseOutparam) {
    let face_caller = face.caller.clone();
    let mut host = WasiHost::new();
    let mut client = client(face, &host);
    let listing = match client.list(&mut host) {
        Ok(l) => l,
        Err(e) => return respond_error::<ChatCompletions>(out, &e),
    };
    save_listing(&mut client, &host);
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
    respond(out, 200, &[("content-type", "application/json")], body);
}

/// Reads the request body, refusing more than `max` bytes.
async fn read_body(request: IncomingRequest, max: usize) -> Result<Vec<u8>, Error> {
    use futures::StreamExt;
    let too_large = || {
        Error::InvalidRequest(format!(
            "the request body is larger than {max} bytes (max_request_bytes)"
        ))
    };
    let declared = match request.headers().get("content-length").as_slice() {
        [len] => core::str::from_utf8(len)
            .ok()
            .and_then(|s| s.parse::<usize>().ok()),
        _ => None,
    };
    if declared.is_some_and(|len| len > max) {
        return Err(too_large());
    }
    // Room for the declared length at once: growing by doubling would hold the old and the
    // new buffer together, half as much again as the body.
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    let mut stream = request.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| Error::InvalidRequest(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The provider's stream for a request the face has read: the tenant's client (its listing
/// seeded from the key-value store and saved back), an unknown model refused without asking
/// Mantle (unless discovery failed and the listing cannot tell) with a 404 naming the models
/// it lists, then the upstream request (whose learned route is saved back too).
fn open_chat(face: Face, request: &ChatRequest) -> Result<(WasiHost, ChatStream), Failure> {
    let mut host = WasiHost::new();
    let mut client = client(face, &host);
    let model = &request.model;
    let lookup = client.lookup(&mut host, model)?;
    save_listing(&mut client, &host);
    if lookup.diagnostics.is_empty()
        && lookup.model.is_none()
        && let Some(missing) = lookup.missing
    {
        return Err(missing.into());
    }
    let stream = client.chat_stream(&mut host, request);
    save_listing(&mut client, &host);
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
async fn serve<S: Surface>(face: Face, request: IncomingRequest, out: ResponseOutparam) {
    let body = match read_body(request, face.max_request_bytes).await {
        Ok(b) => b,
        Err(e) => return respond_error::<S>(out, &e),
    };
    let mut parsed = match S::parse(&body) {
        Ok(p) => p,
        Err(e) => return respond_error::<S>(out, &e),
    };
    drop(body);
    let model = S::request(&mut parsed).model.clone();
    crate::access::model(&model, S::streams(&parsed));
    if let Some(refusal) = face.refuses(&model) {
        return respond(out, 403, &[], S::not_allowed(&refusal));
    }
    match open_chat(face, S::request(&mut parsed)) {
        Ok((host, stream)) => answer::<S>(out, &parsed, &model, host.now(), stream),
        Err(f) => {
            log(&model, f.answer.request_id.as_deref(), &f.error);
            respond_failure::<S>(out, &f);
        }
    }
}

/// The answer to a request the upstream took, in `S`'s shape: one whole body, or a stream
/// written as the upstream's comes.
fn answer<S: Surface>(
    out: ResponseOutparam,
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
                    return respond_failure::<S>(out, &failure(e, &stream));
                }
            }
        }
        let body = collector.finish();
        return respond(out, 200, &with(&headers, "application/json"), body);
    }
    let mut reply = Answer::event_stream(out, &headers);
    pump(
        &mut stream,
        S::writer(parsed, model, created),
        &mut reply,
        model,
    );
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
fn pump<W: FrameWriter>(stream: &mut ChatStream, mut writer: W, answer: &mut Answer, model: &str) {
    let mut frames = Vec::new();
    loop {
        match stream.next_event() {
            Some(Ok(event @ ChatEvent::Finish(_))) => {
                crate::access::event(&event);
                writer.event(&event, &mut frames);
                writer.end(&mut frames);
                let _ = answer.send(&frames);
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
                let _ = answer.send(&frames);
                return;
            }
            None => {
                writer.end(&mut frames);
                let _ = answer.send(&frames);
                return;
            }
        }
        if !stream.buffered()
            && !frames.is_empty()
            && answer.send(&core::mem::take(&mut frames)).is_err()
        {
            return;
        }
    }
}

/// `POST /v1/messages`: Claude models (those the listing puts on the Anthropic route) pass
/// to Mantle's Anthropic route as written; other models are translated.
/// `POST /v1/messages/count_tokens` (`count_tokens`) passes Claude requests on the same way;
/// Mantle counts tokens for Claude models only.
async fn anthropic_messages(
    face: Face,
    request: IncomingRequest,
    out: ResponseOutparam,
    count_tokens: bool,
) {
    let beta = anthropic_beta(&request);
    let body = match read_body(request, face.max_request_bytes).await {
        Ok(b) => b,
        Err(e) => return respond_error::<Messages>(out, &e),
    };
    let peeked = match messages::peek(&body) {
        Ok(p) => p,
        Err(e) => return respond_error::<Messages>(out, &e),
    };
    crate::access::model(&peeked.model, peeked.stream && !count_tokens);
    if let Some(refusal) = face.refuses(&peeked.model) {
        return respond(out, 403, &[], Messages::not_allowed(&refusal));
    }
    let mut host = WasiHost::new();
    let mut client = client(face, &host);
    // The model as the client named it, in answers; the id Mantle serves, upstream.
    let model = peeked.model.as_str();
    let lookup = match client.lookup(&mut host, model) {
        Ok(l) => l,
        Err(e) => return respond_error::<Messages>(out, &e),
    };
    save_listing(&mut client, &host);
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
            return respond_error::<Messages>(out, &missing);
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
        return pass_through(&mut client, &mut host, raw, out, model, count_tokens);
    }
    if count_tokens {
        let e = Error::InvalidRequest(format!(
            "token counting is served for Claude models only, not for {model}"
        ));
        return respond_error::<Messages>(out, &e);
    }
    translate_messages(&mut client, &mut host, body, id, model, out);
}

/// A Messages request for a model not served on Mantle's Anthropic route: translated to the
/// provider's chat request (`id` upstream), answered in Anthropic's shape naming `model`.
fn translate_messages(
    client: &mut Tenant,
    host: &mut WasiHost,
    body: Vec<u8>,
    id: String,
    model: &str,
    out: ResponseOutparam,
) {
    let mut parsed = match Messages::parse(&body) {
        Ok(p) => p,
        Err(e) => return respond_error::<Messages>(out, &e),
    };
    drop(body);
    parsed.request.model = id;
    let opened = client.chat_stream(host, &parsed.request);
    save_listing(client, host);
    match opened {
        Ok(stream) => answer::<Messages>(out, &parsed, model, host.now(), stream),
        Err(f) => {
            log(model, f.answer.request_id.as_deref(), &f.error);
            respond_failure::<Messages>(out, &f);
        }
    }
}

/// Sends a Claude request on Mantle's Anthropic route and passes the answer's bytes back:
/// a stream event by event as it arrives ([`Relay`]), a whole answer once it is all in. The
/// answer names the model as the client did (`model`), whatever Mantle calls it (a token
/// count names none).
fn pass_through(
    client: &mut Client,
    host: &mut WasiHost,
    raw: RawMessages,
    out: ResponseOutparam,
    model: &str,
    count_tokens: bool,
) {
    let stream = raw.stream;
    let mut answer = match client.anthropic_passthrough(host, raw) {
        Ok(a) => a,
        Err(f) => {
            log(model, f.answer.request_id.as_deref(), &f.error);
            return respond_failure::<Messages>(out, &f);
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
            Ok((content_type, body)) => respond(out, 200, &with(&headers, &content_type), body),
            Err(e) => respond_failure::<Messages>(out, &fail(e)),
        };
    }
    let mut reply = Answer::event_stream(out, &headers);
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
        if !bytes.is_empty() && reply.send(&bytes).is_err() {
            return;
        }
        // A stream the relay could not read ended with an error event: stop reading.
        if ended || relay.done() {
            return;
        }
    }
}

/// The `anthropic-beta` values of a request, joined with commas; empty when none.
fn anthropic_beta(request: &IncomingRequest) -> String {
    request
        .headers()
        .get("anthropic-beta")
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

/// A response head with these headers.
fn outgoing(status: u16, headers: &[(&str, &str)]) -> OutgoingResponse {
    let entries: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&entries).unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(fields);
    let _ = response.set_status_code(status);
    crate::access::status(status);
    response
}

fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &str)], body: Vec<u8>) {
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
    let _ = Answer::start(out, status, &all).send(&body);
}

/// Most bytes one `blocking-write-and-flush` call may take (WASI 0.2).
const WRITE_MAX: usize = 4096;

/// An answer's body, written with one blocking write-and-flush per 4,096 bytes: one host call
/// per frame, where the SDK's sink makes five (check, write, check, flush, check). Writing
/// waits while the client is slow to read; the body is finished when this is dropped.
struct Answer {
    stream: Option<OutputStream>,
    body: Option<OutgoingBody>,
}

impl Answer {
    /// Sends the response head and opens its body.
    fn start(out: ResponseOutparam, status: u16, headers: &[(&str, &str)]) -> Answer {
        let response = outgoing(status, headers);
        let body = response.body().ok();
        out.set(response);
        let stream = body.as_ref().and_then(|b| b.write().ok());
        Answer { stream, body }
    }

    /// The head of an event stream, with `headers` (the request id and quota headers).
    fn event_stream(out: ResponseOutparam, headers: &[(String, String)]) -> Answer {
        let mut all = with(headers, "text/event-stream");
        all.insert(1, ("cache-control", "no-cache"));
        Answer::start(out, 200, &all)
    }

    /// Writes `data` and flushes it; an error means the client went away.
    fn send(&mut self, mut data: &[u8]) -> Result<(), StreamError> {
        let Some(stream) = &self.stream else {
            return Err(StreamError::Closed);
        };
        while !data.is_empty() {
            let (now, rest) = data.split_at(data.len().min(WRITE_MAX));
            stream.blocking_write_and_flush(now)?;
            data = rest;
        }
        Ok(())
    }

    /// Ends the body: the client has the whole answer.
    fn finish(&mut self) {
        write_access_record();
        drop(self.stream.take());
        if let Some(body) = self.body.take() {
            let _ = OutgoingBody::finish(body, None);
        }
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The answer to a request refused before anything was sent upstream, in `S`'s shape.
fn respond_error<S: Surface>(out: ResponseOutparam, error: &Error) {
    crate::access::error(error);
    respond_shaped(out, S::error_response(error), &[]);
}

/// The answer to a failed request in `S`'s shape, with Mantle's request id and quota
/// headers when Mantle answered.
fn respond_failure<S: Surface>(out: ResponseOutparam, failure: &Failure) {
    crate::access::error(&failure.error);
    crate::access::upstream(failure.answer.request_id.as_deref(), None, 0);
    let extra = S::answer_headers(&failure.answer);
    respond_shaped(out, S::error_response(&failure.error), &extra);
}

fn respond_shaped(out: ResponseOutparam, response: ErrorResponse, extra: &[(String, String)]) {
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
    respond(out, status, &headers, body);
}
