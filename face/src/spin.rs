//! The Spin entry point and the I/O: variables, key-value, wasi-http.

use crate::openai::{self as face, ChunkWriter, Collector, ErrorResponse};
use futures::SinkExt;
use mantle_provider::Error;
use mantle_provider::chat::ChatEvent;
use mantle_provider::client::{Client, Host, Settings};
use mantle_provider::model::{Api, ModelSource};
use mantle_provider::token::Credentials;
use mantle_provider::wasi_host::WasiHost;
use spin_sdk::http::{Fields, IncomingRequest, Method, OutgoingResponse, ResponseOutparam};
use spin_sdk::{key_value, variables};

/// Largest request body unless `max_request_bytes` says otherwise.
const DEFAULT_MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// The key-value entry that keeps discovered model ids across instances.
const MODELS_KEY: &str = "mantle-face/discovered-models";

#[allow(unsafe_code)]
mod entry {
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;

    /// The Spin entry point.
    #[http_component]
    async fn handle(request: IncomingRequest, out: ResponseOutparam) {
        crate::spin::handle(request, out).await;
    }
}

/// What the variables say.
struct Face {
    key: Option<String>,
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
        let open = var("allow_unauthenticated")?;
        if key.is_none() && open != "true" {
            return Err(Error::Configuration(
                "gateway_api_key is not set; set it, or set allow_unauthenticated to true for local use only".into(),
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
            max_request_bytes,
            settings: Settings {
                region: some(var("aws_region")?),
                bearer_token: some(var("aws_bearer_token_bedrock")?),
                credentials,
                config: some(var("mantle_config")?),
            },
        })
    }

    /// Whether the request carries the gateway key; the comparison takes the same time
    /// wherever the first difference is.
    fn authorized(&self, request: &IncomingRequest) -> bool {
        let Some(key) = &self.key else {
            eprintln!(
                "WARNING: serving without a gateway key (allow_unauthenticated); anyone who reaches this address spends your Mantle quota"
            );
            return true;
        };
        let values = request.headers().get("authorization");
        let [value] = values.as_slice() else {
            return false;
        };
        let Some(given) = value.strip_prefix(b"Bearer ") else {
            return false;
        };
        constant_time_eq(given, key.as_bytes())
    }
}

/// Equality of two byte strings in time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0
}

async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    let face = match Face::load() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("mantle face: {e}");
            return respond_error(out, &e).await;
        }
    };
    if !face.authorized(&request) {
        let body = face::openai_error(
            "missing or wrong gateway key: send Authorization: Bearer <key>",
            "invalid_request_error",
            "invalid_api_key",
        );
        return respond(out, 401, &[("www-authenticate", "Bearer")], body).await;
    }
    let path = request.path_with_query().unwrap_or_default();
    let path = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let method = request.method();
    match (path, &method) {
        ("/v1/models", Method::Get) => models(face, out).await,
        ("/v1/chat/completions", Method::Post) => chat(face, request, out).await,
        ("/v1/models" | "/v1/chat/completions", _) => {
            let body = face::openai_error(
                &format!("{method} is not allowed on {path}"),
                "invalid_request_error",
                "method_not_allowed",
            );
            respond(out, 405, &[], body).await;
        }
        _ => {
            let body = face::openai_error(
                &format!(
                    "no route {path}: this gateway serves GET /v1/models and POST /v1/chat/completions"
                ),
                "invalid_request_error",
                "unknown_url",
            );
            respond(out, 404, &[], body).await;
        }
    }
}

/// A client whose listing cache starts from what an earlier instance discovered.
fn client(face: Face, host: &WasiHost) -> (Client, Option<u64>) {
    let mut client = Client::new(face.settings);
    let mut seeded = None;
    if let Some((at, ids)) = load_discovered() {
        let models = ids
            .lines()
            .map(|id| {
                mantle_provider::discovery::model_with_defaults(
                    id,
                    Api::OpenaiCompletions,
                    ModelSource::Discovered,
                )
            })
            .collect();
        // A clock that went back makes the entry useless rather than fresh forever.
        if at <= host.now() {
            client.seed_discovered(at, models);
            seeded = Some(at);
        }
    }
    (client, seeded)
}

fn store() -> Option<key_value::Store> {
    key_value::Store::open_default().ok()
}

fn load_discovered() -> Option<(u64, String)> {
    let bytes = store()?.get(MODELS_KEY).ok()??;
    let text = String::from_utf8(bytes).ok()?;
    let (at, ids) = text.split_once('\n')?;
    Some((at.parse().ok()?, ids.to_owned()))
}

/// Keeps what this instance discovered, when it discovered anything new.
fn save_discovered(client: &Client, seeded: Option<u64>) {
    let Some((at, models)) = client.discovered() else {
        return;
    };
    if seeded == Some(at) {
        return;
    }
    let mut text = at.to_string();
    for m in models {
        text.push('\n');
        text.push_str(&m.id);
    }
    if let Some(store) = store()
        && let Err(e) = store.set(MODELS_KEY, text.as_bytes())
    {
        eprintln!("mantle face: cannot keep discovered models: {e}");
    }
}

async fn models(face: Face, out: ResponseOutparam) {
    let mut host = WasiHost::new();
    let (mut client, seeded) = client(face, &host);
    let listing = match client.list(&mut host) {
        Ok(l) => l,
        Err(e) => return respond_error(out, &e).await,
    };
    save_discovered(&client, seeded);
    for d in &listing.diagnostics {
        eprintln!("mantle face: models: {d}");
    }
    let body = face::models_response(&listing.models, host.now());
    respond(out, 200, &[("content-type", "application/json")], body).await;
}

/// Reads the request body, refusing more than `max` bytes.
async fn read_body(request: IncomingRequest, max: usize) -> Result<Vec<u8>, Error> {
    use futures::StreamExt;
    let too_large = || {
        Error::InvalidRequest(format!(
            "the request body is larger than {max} bytes (max_request_bytes)"
        ))
    };
    if let [len] = request.headers().get("content-length").as_slice()
        && let Some(len) = core::str::from_utf8(len)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        && len > max
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
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

async fn chat(face: Face, request: IncomingRequest, out: ResponseOutparam) {
    let body = match read_body(request, face.max_request_bytes).await {
        Ok(b) => b,
        Err(e) => return respond_error(out, &e).await,
    };
    let parsed = match face::parse_chat_request(&body) {
        Ok(p) => p,
        Err(e) => return respond_error(out, &e).await,
    };
    drop(body);
    let mut host = WasiHost::new();
    let (mut client, seeded) = client(face, &host);
    // An unknown model is the client's mistake: it is answered here, without asking Mantle,
    // unless discovery failed and the listing cannot tell.
    let model = &parsed.request.model;
    let lookup = match client.lookup(&mut host, model) {
        Ok(l) => l,
        Err(e) => return respond_error(out, &e).await,
    };
    save_discovered(&client, seeded);
    if lookup.diagnostics.is_empty() && lookup.model.is_none() {
        let e = Error::InvalidRequest(format!(
            "unknown model {model:?}: GET /v1/models lists the models this gateway serves"
        ));
        return respond_error(out, &e).await;
    }
    let mut stream = match client.chat_stream(&mut host, &parsed.request) {
        Ok(s) => s,
        Err(e) => return respond_error(out, &e).await,
    };
    let created = host.now();
    if !parsed.stream {
        let mut collector = Collector::new(model, created);
        while let Some(event) = stream.next_event() {
            match event {
                Ok(event) => collector.event(event),
                Err(e) => return respond_error(out, &e).await,
            }
        }
        let body = collector.finish();
        return respond(out, 200, &[("content-type", "application/json")], body).await;
    }
    let response = outgoing(
        200,
        &[
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
        ],
    );
    let mut sink = Box::pin(response.take_body());
    out.set(response);
    let mut writer = ChunkWriter::new(model, created, parsed.include_usage);
    let mut frames = Vec::new();
    loop {
        match stream.next_event() {
            Some(Ok(ChatEvent::Finish(reason))) => {
                // Finish is always last: the client gets everything, [DONE] included, now;
                // the rest of the upstream body is read afterwards.
                writer.event(&ChatEvent::Finish(reason), &mut frames);
                writer.done(&mut frames);
                let _ = sink.send(frames).await;
                drop(sink);
                while stream.next_event().is_some() {}
                return;
            }
            Some(Ok(event)) => writer.event(&event, &mut frames),
            Some(Err(e)) => {
                eprintln!("mantle face: stream of {model} ended early: {e}");
                writer.error(&e, &mut frames);
                let _ = sink.send(frames).await;
                return;
            }
            None => {
                writer.done(&mut frames);
                let _ = sink.send(frames).await;
                return;
            }
        }
        // Everything one upstream chunk gave goes out in one write.
        // The client went away when a write fails; dropping the stream closes the upstream
        // request.
        if !stream.buffered()
            && !frames.is_empty()
            && sink.send(core::mem::take(&mut frames)).await.is_err()
        {
            return;
        }
    }
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
    response
}

async fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &str)], body: Vec<u8>) {
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if !all.iter().any(|(k, _)| *k == "content-type") {
        all.push(("content-type", "application/json"));
    }
    let len = body.len().to_string();
    all.push(("content-length", &len));
    let response = outgoing(status, &all);
    let _ = out.set_with_body(response, body).await;
}

async fn respond_error(out: ResponseOutparam, error: &Error) {
    let ErrorResponse {
        status,
        headers,
        body,
    } = face::error_response(error);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    respond(out, status, &headers, body).await;
}
