//! What `mantle-host serve` sees of its requests: the access log and the Prometheus metrics.
//!
//! The face writes one access record per request on its stderr (a JSON line whose first
//! member is `mantle_access`). Each instance gets a stderr of its own ([`GuestStderr`]), which
//! splits it into lines: a record line goes to [`Observer::record`] (the access log line on
//! serve's stderr, the metrics), every other line to serve's stderr as before. Requests serve
//! answers itself (408, 503, a bad request before an instance) get a record of the same shape
//! from [`Observer::gateway_answer`].
//!
//! Metric names follow the OpenTelemetry GenAI semantic conventions, as Prometheus spells
//! OpenTelemetry metrics (dots become underscores, the unit a suffix, counters `_total`).
//! Label values are bounded: a model gets its own value only when Mantle answered for it (the
//! model Mantle named), at most [`MAX_MODELS`] of them, and `other` beyond; key names come
//! from the key file alone (and `default`, `anonymous`); surfaces, statuses and error kinds
//! are the gateway's own short lists.

use std::collections::BTreeSet;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use serde::Deserialize;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Most distinct model label values; further models are `other`.
pub const MAX_MODELS: usize = 64;
/// Longest line kept whole from a guest's stderr; a longer one is passed on in pieces.
const MAX_LINE: usize = 64 * 1024;

type Labels = Vec<(String, String)>;

/// The access record as the face writes it (the members the gateway reads).
#[derive(Debug, Default, Deserialize)]
pub struct AccessRecord {
    /// The record's version; its presence marks the line.
    pub mantle_access: u32,
    /// Name of the caller's key.
    pub key: Option<String>,
    /// `chat.completions`, `responses`, `messages`, ...
    pub surface: String,
    /// The model as requested.
    pub model: Option<String>,
    /// The model as Mantle named it.
    pub response_model: Option<String>,
    /// The Mantle API used.
    pub route: Option<String>,
    /// HTTP status.
    pub status: u16,
    /// Input tokens outside the cache.
    pub input_tokens: Option<u64>,
    /// Output tokens.
    pub output_tokens: Option<u64>,
    /// Cache reads.
    pub cache_read_tokens: Option<u64>,
    /// Cache writes.
    pub cache_write_tokens: Option<u64>,
    /// USD.
    pub cost_usd: Option<f64>,
    /// Milliseconds to the first token.
    pub ttft_ms: Option<f64>,
    /// Milliseconds in all.
    pub duration_ms: f64,
    /// Error kind.
    pub error: Option<String>,
    /// Why the model stopped.
    pub finish_reason: Option<String>,
    /// Mantle's request id.
    pub request_id: Option<String>,
    /// Upstream retries.
    pub retries: u32,
    /// Whether the answer streamed.
    #[serde(default)]
    pub stream: bool,
}

/// Whether a guest's stderr line is an access record.
pub fn is_record(line: &[u8]) -> bool {
    line.starts_with(b"{\"mantle_access\":")
}

/// The GenAI operation of a surface.
fn operation(surface: &str) -> &'static str {
    match surface {
        "chat.completions" | "responses" | "messages" => "chat",
        "models" => "list_models",
        "messages.count_tokens" => "count_tokens",
        _ => "other",
    }
}

/// A bounded label value: one of the gateway's own words, else `other`.
fn bounded(value: Option<&str>, allowed: &[&str]) -> String {
    match value {
        Some(v) if allowed.contains(&v) => v.to_owned(),
        Some(_) => "other".into(),
        None => "none".into(),
    }
}

const SURFACES: &[&str] = &[
    "chat.completions",
    "responses",
    "messages",
    "messages.count_tokens",
    "models",
    "other",
];

const ERROR_KINDS: &[&str] = &[
    "configuration",
    "missing-credentials",
    "unauthorized",
    "forbidden",
    "model-not-found",
    "wrong-route",
    "rate-limited",
    "invalid-request",
    "context-overflow",
    "upstream-unavailable",
    "timeout",
    "protocol",
    "truncated",
    "not-implemented",
    "unauthorized-key",
    "model-not-allowed",
    "request-timeout",
    "gateway-busy",
    "gateway-timeout",
    "bad-request",
    "internal",
];

/// The metrics and the access log of one gateway.
pub struct Observer {
    registry: Registry,
    tokens: Family<Labels, Histogram>,
    duration: Family<Labels, Histogram>,
    ttft: Family<Labels, Histogram>,
    per_token: Family<Labels, Histogram>,
    cost: Family<Labels, Counter<f64, AtomicU64>>,
    requests: Family<Labels, Counter>,
    retries: Family<Labels, Counter>,
    gateway_refusals: Family<Labels, Counter>,
    upstream_requests: Counter,
    instances_busy: Gauge,
    connections: Gauge,
    models: Mutex<BTreeSet<String>>,
    keys: BTreeSet<String>,
    /// Write the access log lines to stderr (off in tests that read them otherwise).
    log: bool,
    /// Records seen, for tests.
    seen: AtomicU64,
}

impl Observer {
    /// An observer whose key labels are `key_names` (from the key file) plus `default` and
    /// `anonymous`.
    pub fn new(key_names: impl IntoIterator<Item = String>, log: bool) -> Observer {
        let mut registry = Registry::default();
        let seconds = || Histogram::new(exponential_buckets(0.01, 2.0, 14));
        let tokens = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(1.0, 4.0, 12))
        });
        let duration = Family::<Labels, Histogram>::new_with_constructor(seconds);
        let ttft = Family::<Labels, Histogram>::new_with_constructor(seconds);
        let per_token = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 12))
        });
        let cost = Family::<Labels, Counter<f64, AtomicU64>>::default();
        let requests = Family::<Labels, Counter>::default();
        let retries = Family::<Labels, Counter>::default();
        let gateway_refusals = Family::<Labels, Counter>::default();
        let upstream_requests = Counter::default();
        let instances_busy = Gauge::default();
        let connections = Gauge::default();
        registry.register(
            "gen_ai_client_token_usage",
            "Tokens used per request (OpenTelemetry gen_ai.client.token.usage), by gen_ai_token_type input or output",
            tokens.clone(),
        );
        registry.register_with_unit(
            "gen_ai_server_request_duration",
            "Time from the request's arrival to the end of its answer (gen_ai.server.request.duration)",
            Unit::Seconds,
            duration.clone(),
        );
        registry.register_with_unit(
            "gen_ai_server_time_to_first_token",
            "Time from the request's arrival to the first token of the answer (gen_ai.server.time_to_first_token)",
            Unit::Seconds,
            ttft.clone(),
        );
        registry.register_with_unit(
            "gen_ai_server_time_per_output_token",
            "Time per output token after the first (gen_ai.server.time_per_output_token)",
            Unit::Seconds,
            per_token.clone(),
        );
        registry.register(
            "mantle_cost_usd",
            "What the answers cost at the models' prices, USD",
            cost.clone(),
        );
        registry.register(
            "mantle_requests",
            "Requests answered, by surface, model, status and error kind",
            requests.clone(),
        );
        registry.register(
            "mantle_upstream_retries",
            "Requests sent to Mantle again (another route, a fresh token)",
            retries.clone(),
        );
        registry.register(
            "mantle_gateway_refusals",
            "Requests the gateway answered itself before an instance (408, 503, 400), by status",
            gateway_refusals.clone(),
        );
        registry.register(
            "mantle_upstream_requests",
            "Requests the face sent upstream (Mantle)",
            upstream_requests.clone(),
        );
        registry.register(
            "mantle_instances_busy",
            "Instances serving a request now",
            instances_busy.clone(),
        );
        registry.register(
            "mantle_connections_open",
            "Client connections open now",
            connections.clone(),
        );
        let mut keys: BTreeSet<String> = key_names.into_iter().collect();
        keys.insert("default".into());
        keys.insert("anonymous".into());
        Observer {
            registry,
            tokens,
            duration,
            ttft,
            per_token,
            cost,
            requests,
            retries,
            gateway_refusals,
            upstream_requests,
            instances_busy,
            connections,
            models: Mutex::new(BTreeSet::new()),
            keys,
            log,
            seen: AtomicU64::new(0),
        }
    }

    /// The model label of a record: the model Mantle named, while fewer than
    /// [`MAX_MODELS`] are known; else `other`.
    fn model_label(&self, record: &AccessRecord) -> String {
        let Some(model) = record.response_model.as_deref() else {
            return "other".into();
        };
        let Ok(mut models) = self.models.lock() else {
            return "other".into();
        };
        if models.contains(model) {
            return model.to_owned();
        }
        let plain = model.len() <= 128
            && model
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b));
        if plain && models.len() < MAX_MODELS {
            models.insert(model.to_owned());
            return model.to_owned();
        }
        "other".into()
    }

    fn key_label(&self, record: &AccessRecord) -> String {
        match record.key.as_deref() {
            Some(k) if self.keys.contains(k) => k.to_owned(),
            Some(_) => "other".into(),
            None => "none".into(),
        }
    }

    /// One access record line from an instance's stderr; the record, when it parses.
    pub fn record(&self, line: &[u8]) -> Option<AccessRecord> {
        if self.log {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(line);
            let _ = err.write_all(b"\n");
        }
        let Ok(record) = serde_json::from_slice::<AccessRecord>(line) else {
            return None;
        };
        self.seen.fetch_add(1, Ordering::Relaxed);
        let surface = bounded(Some(&record.surface), SURFACES);
        let model = self.model_label(&record);
        let key = self.key_label(&record);
        let op = operation(&surface).to_owned();
        let error = bounded(record.error.as_deref(), ERROR_KINDS);
        let base = |extra: &[(&str, String)]| -> Labels {
            let mut l: Labels = vec![
                ("gen_ai_operation_name".into(), op.clone()),
                ("gen_ai_provider_name".into(), "aws.bedrock".into()),
                ("gen_ai_request_model".into(), model.clone()),
                ("surface".into(), surface.clone()),
                ("key".into(), key.clone()),
            ];
            l.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            l
        };
        self.requests
            .get_or_create(&base(&[
                ("status", record.status.to_string()),
                ("error_type", error),
            ]))
            .inc();
        if record.retries > 0 {
            self.retries
                .get_or_create(&base(&[]))
                .inc_by(u64::from(record.retries));
        }
        let input = record.input_tokens.map(|n| {
            n + record.cache_read_tokens.unwrap_or(0) + record.cache_write_tokens.unwrap_or(0)
        });
        for (kind, n) in [("input", input), ("output", record.output_tokens)] {
            if let Some(n) = n {
                self.tokens
                    .get_or_create(&base(&[("gen_ai_token_type", kind.into())]))
                    .observe(n as f64);
            }
        }
        if let Some(cost) = record.cost_usd {
            self.cost
                .get_or_create(&vec![
                    ("gen_ai_request_model".into(), model.clone()),
                    ("key".into(), key.clone()),
                ])
                .inc_by(cost);
        }
        let status_class = vec![
            ("gen_ai_operation_name".into(), op.clone()),
            ("gen_ai_request_model".into(), model.clone()),
            ("surface".into(), surface.clone()),
        ];
        self.duration
            .get_or_create(&status_class)
            .observe(record.duration_ms / 1000.0);
        if let Some(ttft) = record.ttft_ms {
            self.ttft
                .get_or_create(&status_class)
                .observe(ttft / 1000.0);
            if let Some(out) = record.output_tokens.filter(|n| *n > 1) {
                let after = (record.duration_ms - ttft).max(0.0) / 1000.0;
                self.per_token
                    .get_or_create(&status_class)
                    .observe(after / (out - 1) as f64);
            }
        }
        Some(record)
    }

    /// A request serve answered itself: its access log line and its metrics.
    pub fn gateway_answer(
        &self,
        surface: &str,
        status: u16,
        error: &str,
        duration_ms: f64,
    ) -> AccessRecord {
        let line = serde_json::json!({
            "mantle_access": 1,
            "time_unix_ms": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            "key": null,
            "surface": crate::observe::bounded(Some(surface), SURFACES),
            "status": status,
            "error": error,
            "duration_ms": duration_ms,
            "by": "gateway",
        })
        .to_string();
        if self.log {
            eprintln!("{line}");
        }
        self.gateway_refusals
            .get_or_create(&vec![("status".into(), status.to_string())])
            .inc();
        AccessRecord {
            mantle_access: 1,
            surface: surface.to_owned(),
            status,
            error: Some(error.to_owned()),
            duration_ms,
            ..AccessRecord::default()
        }
    }

    /// An upstream request left an instance.
    pub fn upstream_request(&self) {
        self.upstream_requests.inc();
    }

    /// An instance starts (`+1`) or ends (`-1`) serving a request.
    pub fn instances_busy(&self, delta: i64) {
        self.instances_busy.inc_by(delta);
    }

    /// A client connection opens (`+1`) or closes (`-1`).
    pub fn connections(&self, delta: i64) {
        self.connections.inc_by(delta);
    }

    /// Access records seen so far.
    pub fn records_seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }

    /// The metrics in the OpenMetrics text format (what Prometheus asks for).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// The metrics in the classic Prometheus text format (0.0.4), for a scraper that does not
    /// ask for OpenMetrics: a counter's HELP and TYPE name its `_total` sample, and the
    /// OpenMetrics-only `# UNIT` and `# EOF` lines are left out.
    pub fn encode_text(&self) -> String {
        classic_text(&self.encode())
    }
}

/// OpenMetrics text as the classic Prometheus text format (see [`Observer::encode_text`]).
fn classic_text(open_metrics: &str) -> String {
    let counters: BTreeSet<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len());
    for line in open_metrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let name = if counters.contains(name) {
                    format!("{name}_total")
                } else {
                    name.to_owned()
                };
                out.push_str(prefix);
                out.push_str(&name);
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// An instance's stderr: whole lines, each an access record for the [`Observer`] or a line
/// for serve's stderr.
#[derive(Clone)]
pub struct GuestStderr {
    observer: Arc<Observer>,
    pending: Arc<Mutex<Vec<u8>>>,
    /// The server span of the instance's request, ended by its record.
    span: crate::trace::RequestSpan,
}

impl GuestStderr {
    /// A stderr for one instance, whose request's server span (if any) is in `span`.
    pub fn new(observer: Arc<Observer>, span: crate::trace::RequestSpan) -> GuestStderr {
        GuestStderr {
            observer,
            pending: Arc::new(Mutex::new(Vec::new())),
            span,
        }
    }

    fn take(&self, bytes: &[u8]) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        pending.extend_from_slice(bytes);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            self.line(&line[..end]);
        }
        if pending.len() > MAX_LINE {
            let cut = std::mem::take(&mut *pending);
            self.line(&cut);
        }
    }

    fn line(&self, line: &[u8]) {
        if is_record(line) {
            let record = self.observer.record(line);
            let span = self.span.lock().ok().and_then(|mut s| s.take());
            if let (Some(record), Some(span)) = (record, span) {
                crate::trace::end_server_span(&span, &record, false);
            }
        } else {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(line);
            let _ = err.write_all(b"\n");
        }
    }
}

impl IsTerminal for GuestStderr {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStderr {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for GuestStderr {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.take(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Serves `GET /metrics` (the Prometheus text format) on `addr`, nothing else; the address
/// it bound and the task serving it.
pub async fn serve_metrics(
    observer: Arc<Observer>,
    addr: std::net::SocketAddr,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    use anyhow::Context as _;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for metrics"))?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            };
            let observer = observer.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let observer = observer.clone();
                        async move {
                            let open_metrics = request
                                .headers()
                                .get_all(hyper::header::ACCEPT)
                                .iter()
                                .any(|v| {
                                    v.to_str()
                                        .is_ok_and(|v| v.contains("application/openmetrics-text"))
                                });
                            let (status, content_type, body) = if request.method()
                                != hyper::Method::GET
                                || request.uri().path() != "/metrics"
                            {
                                (404, "text/plain", "GET /metrics\n".to_owned())
                            } else if open_metrics {
                                (
                                    200,
                                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                                    observer.encode(),
                                )
                            } else {
                                (
                                    200,
                                    "text/plain; version=0.0.4; charset=utf-8",
                                    observer.encode_text(),
                                )
                            };
                            hyper::Response::builder()
                                .status(status)
                                .header(hyper::header::CONTENT_TYPE, content_type)
                                .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                        }
                    },
                );
                let io = hyper_util::rt::TokioIo::new(stream);
                let conn = hyper::server::conn::http1::Builder::new()
                    .header_read_timeout(std::time::Duration::from_secs(10))
                    .timer(hyper_util::rt::TokioTimer::new())
                    .serve_connection(io, service);
                let _ = tokio::time::timeout(std::time::Duration::from_secs(30), conn).await;
            });
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_become_bounded_metrics() {
        let o = Observer::new(["team-a".to_owned()], false);
        let stderr = GuestStderr::new(Arc::new(o), Default::default());
        stderr.take(br#"{"mantle_access":1,"key":"team-a","surface":"chat.completions","model":"x","response_model":"openai.gpt-oss-120b","status":200,"input_tokens":10,"cache_read_tokens":5,"output_tokens":20,"cost_usd":0.25,"ttft_ms":100.0,"duration_ms":500.0,"retries":1}"#);
        stderr.take(b"\n");
        stderr.take(br#"{"mantle_access":1,"key":"intruder","surface":"/etc/passwd","model":"evil\"}","status":404,"error":"model-not-found","duration_ms":5.0,"retries":0}"#);
        stderr.take(b"\n");
        let o = &stderr.observer;
        assert_eq!(o.records_seen(), 2);
        let text = o.encode();
        assert!(text.contains("mantle_cost_usd_total{gen_ai_request_model=\"openai.gpt-oss-120b\",key=\"team-a\"} 0.25"), "{text}");
        assert!(text.contains("gen_ai_token_type=\"input\""), "{text}");
        assert!(text.contains("gen_ai_client_token_usage_sum{gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"aws.bedrock\",gen_ai_request_model=\"openai.gpt-oss-120b\",surface=\"chat.completions\",key=\"team-a\",gen_ai_token_type=\"input\"} 15.0"), "{text}");
        assert!(
            text.contains("gen_ai_server_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            !text.contains("intruder") && !text.contains("evil") && !text.contains("passwd"),
            "{text}"
        );
        assert!(text.contains("error_type=\"model-not-found\""), "{text}");
    }
}
