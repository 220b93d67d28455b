//! OpenTelemetry traces of `mantle-host serve`, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set:
//! OTLP over HTTP/protobuf, through the gateway's own hyper stack.
//!
//! Each request gets a server span (continuing a client's `traceparent`), named and labelled
//! after the GenAI semantic conventions from the face's access record: `gen_ai.operation.name`,
//! `gen_ai.provider.name` (`aws.bedrock`), `gen_ai.request.model`, `gen_ai.response.model`,
//! `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
//! `gen_ai.response.finish_reasons`, Mantle's request id and the cost. Each request the
//! request's instance sends upstream gets a client span under it, and carries the trace on as
//! `traceparent`. No prompt or answer text is recorded (the record the attributes come from
//! holds none), unless `serve --trace-content` asks for it ([`content`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::{HeaderExtractor, HeaderInjector, HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use crate::observe::AccessRecord;

pub mod content;

/// Longest an export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest collector answer read.
const MAX_ANSWER: usize = 1 << 20;

/// The tracer of a gateway, and the provider to flush at exit.
#[derive(Clone)]
pub struct Tracing {
    tracer: SdkTracer,
    provider: SdkTracerProvider,
    /// Record prompt and answer text on server spans (`--trace-content`).
    content: bool,
}

impl std::fmt::Debug for Tracing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tracing")
    }
}

/// A request's server span, handed to [`crate::serve::Gateway::handle`] in the request's
/// extensions. It ends once the face's access record is in and, when content is recorded,
/// once the answer's body has passed (whichever comes last).
#[derive(Clone)]
pub struct ServerSpan {
    /// The span's context: client spans go under it.
    pub cx: Context,
    /// What must still come before the span ends.
    left: Arc<AtomicU8>,
    content: bool,
}

impl ServerSpan {
    /// Whether this span records prompt and answer text.
    pub fn records_content(&self) -> bool {
        self.content
    }

    /// One of the things the span waits for came; the last ends it.
    fn done(&self) {
        if self.left.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.cx.span().end();
        }
    }
}

/// The span of one request, shared by its instance's stderr (which names and ends it) and
/// outgoing-request hook (which puts client spans under it).
pub type RequestSpan = Arc<Mutex<Option<ServerSpan>>>;

impl Tracing {
    /// Tracing to `OTEL_EXPORTER_OTLP_ENDPOINT` (and the other `OTEL_EXPORTER_OTLP_*`
    /// variables), when it is set; the exporter's requests run on `runtime`.
    /// `content`: record prompt and answer text too ([`content`]).
    pub fn from_env(
        runtime: tokio::runtime::Handle,
        content: bool,
    ) -> anyhow::Result<Option<Tracing>> {
        if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
            && std::env::var_os("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none()
        {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_timeout(EXPORT_TIMEOUT)
            .with_http_client(Exporting::new(runtime))
            .build()?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                opentelemetry_sdk::Resource::builder()
                    .with_service_name("mantle-host")
                    .build(),
            )
            .build();
        let tracer = provider.tracer("mantle-host");
        Ok(Some(Tracing {
            tracer,
            provider,
            content,
        }))
    }

    /// Sends what is left and stops.
    pub fn shutdown(&self) {
        let _ = self.provider.shutdown();
    }

    /// The server span of a request, under the trace its `traceparent` names, if any.
    pub fn server_span(&self, headers: &http::HeaderMap, method: &str, path: &str) -> ServerSpan {
        let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        let span = self
            .tracer
            .span_builder(format!("{method} {path}"))
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", method.to_owned()),
                KeyValue::new("url.path", path.to_owned()),
                KeyValue::new("gen_ai.provider.name", "aws.bedrock"),
            ])
            .start_with_context(&self.tracer, &parent);
        ServerSpan {
            cx: parent.with_span(span),
            left: Arc::new(AtomicU8::new(if self.content { 2 } else { 1 })),
            content: self.content,
        }
    }

    /// A client span for an upstream request under `parent`; `traceparent` is set on
    /// `headers` so the trace goes on upstream.
    pub fn client_span(
        &self,
        parent: &Context,
        method: &str,
        host: &str,
        headers: &mut http::HeaderMap,
    ) -> Context {
        let span = self
            .tracer
            .span_builder(method.to_owned())
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("http.request.method", method.to_owned()),
                KeyValue::new("server.address", host.to_owned()),
                KeyValue::new("gen_ai.provider.name", "aws.bedrock"),
            ])
            .start_with_context(&self.tracer, parent);
        let cx = parent.with_span(span);
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
        cx
    }
}

/// Ends an upstream request's client span with its status (`None`: no answer).
pub fn end_client_span(cx: &Context, status: Option<u16>) {
    let span = cx.span();
    match status {
        Some(code) => {
            span.set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
            if code >= 400 {
                span.set_status(Status::error(code.to_string()));
            }
        }
        None => span.set_status(Status::error("no answer")),
    }
    span.end();
}

/// Names a request's server span after its access record and sets the GenAI attributes; the
/// span ends then if the answer's body has passed, or at once when `now`.
pub fn end_server_span(server: &ServerSpan, record: &AccessRecord, now: bool) {
    let span = server.cx.span();
    let operation = match record.surface.as_str() {
        "chat.completions" | "responses" | "messages" => "chat",
        "models" => "list_models",
        "messages.count_tokens" => "count_tokens",
        _ => "other",
    };
    match &record.model {
        Some(model) => span.update_name(format!("{operation} {model}")),
        None => span.update_name(operation.to_owned()),
    }
    let mut attributes = vec![
        KeyValue::new("gen_ai.operation.name", operation),
        KeyValue::new("http.response.status_code", i64::from(record.status)),
        KeyValue::new("mantle.surface", record.surface.clone()),
        KeyValue::new("mantle.retries", i64::from(record.retries)),
    ];
    let text = [
        ("gen_ai.request.model", &record.model),
        ("gen_ai.response.model", &record.response_model),
        ("mantle.request_id", &record.request_id),
        ("mantle.key", &record.key),
        ("mantle.route", &record.route),
        ("error.type", &record.error),
    ];
    for (name, value) in text {
        if let Some(v) = value {
            attributes.push(KeyValue::new(name, v.clone()));
        }
    }
    let counts = [
        (
            "gen_ai.usage.input_tokens",
            record.input_tokens.map(|n| {
                n + record.cache_read_tokens.unwrap_or(0) + record.cache_write_tokens.unwrap_or(0)
            }),
        ),
        ("gen_ai.usage.output_tokens", record.output_tokens),
        (
            "gen_ai.usage.cache_read.input_tokens",
            record.cache_read_tokens,
        ),
        (
            "gen_ai.usage.cache_creation.input_tokens",
            record.cache_write_tokens,
        ),
    ];
    for (name, value) in counts {
        if let Some(n) = value {
            attributes.push(KeyValue::new(name, i64::try_from(n).unwrap_or(i64::MAX)));
        }
    }
    if let Some(reason) = &record.finish_reason {
        attributes.push(KeyValue::new(
            "gen_ai.response.finish_reasons",
            opentelemetry::Value::Array(
                vec![opentelemetry::StringValue::from(reason.clone())].into(),
            ),
        ));
    }
    if let Some(cost) = record.cost_usd {
        attributes.push(KeyValue::new("mantle.cost_usd", cost));
    }
    if let Some(ttft) = record.ttft_ms {
        attributes.push(KeyValue::new("mantle.time_to_first_token_ms", ttft));
    }
    span.set_attributes(attributes);
    if record.status >= 500 || record.error.is_some() && record.status >= 400 {
        span.set_status(Status::error(record.error.clone().unwrap_or_default()));
    }
    if now {
        span.end();
    } else {
        server.done();
    }
}

/// The exporter's HTTP client: hyper, its requests run on the gateway's runtime (the batch
/// exporter calls it from a thread of its own).
#[derive(Debug, Clone)]
struct Exporting {
    runtime: tokio::runtime::Handle,
}

impl Exporting {
    fn new(runtime: tokio::runtime::Handle) -> Exporting {
        Exporting { runtime }
    }

    async fn send(request: http::Request<Bytes>) -> Result<http::Response<Bytes>, HttpError> {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<Bytes>>();
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, http_body_util::Full::new(body));
        let response = tokio::time::timeout(EXPORT_TIMEOUT, client.request(request)).await??;
        let (parts, body) = response.into_parts();
        let limited = http_body_util::Limited::new(body, MAX_ANSWER);
        let body = tokio::time::timeout(EXPORT_TIMEOUT, limited.collect())
            .await?
            .map_err(|e| -> HttpError { e })?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }
}

impl HttpClient for Exporting {
    fn send_bytes<'a, 'b>(
        &'a self,
        request: http::Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, HttpError>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        let task = self.runtime.spawn(Exporting::send(request));
        Box::pin(async move { task.await? })
    }
}
