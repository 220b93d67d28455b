//! The access record: one JSON line per request on stderr, written when the request is done.
//!
//! ```json
//! {"mantle_access":1,"time_unix_ms":1764868528123,"key":"team-a","surface":"chat.completions",
//!  "model":"gpt-oss-120b","response_model":"openai.gpt-oss-120b","route":"openai-completions",
//!  "status":200,"stream":true,"input_tokens":12,"output_tokens":40,"cache_read_tokens":0,
//!  "cache_write_tokens":0,"reasoning_tokens":null,"cost_usd":0.0000258,"finish_reason":"stop",
//!  "ttft_ms":183.2,"duration_ms":950.4,"request_id":"req_…","error":null,"retries":0}
//! ```
//!
//! The first member, `mantle_access`, marks the line (its value is the record's version), so
//! a host tells it from the component's other stderr lines. A record never holds a key, a
//! token, or any text of a request or answer: only names, counts, times and ids. Under Spin,
//! stderr is the component's log; `mantle-host serve` reads the lines and turns them into its
//! access log, its metrics and its spans.
//!
//! The record of the request in progress is kept here (a component serves one request at a
//! time); the face's I/O calls the hooks below as the request goes.

use std::cell::RefCell;

use mantle_provider::Error;
use mantle_provider::chat::{ChatEvent, StopReason, Usage};
use mantle_provider::cost::{self, Charge};
use mantle_provider::model::{Api, Cost};
use serde::{Deserialize, Serialize};

/// The marker member and the record's version.
pub const MARKER: &str = "mantle_access";

/// One request's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Record {
    /// Always 1: marks the line.
    pub mantle_access: u32,
    /// When the request came, milliseconds since the Unix epoch.
    pub time_unix_ms: u64,
    /// The name of the caller's key (`default` for the single gateway key); `null` before
    /// the key is checked or when it is refused.
    pub key: Option<String>,
    /// `chat.completions`, `responses`, `messages`, `messages.count_tokens`, `models`.
    pub surface: &'static str,
    /// The model as the request named it.
    pub model: Option<String>,
    /// The model as Mantle's answer named it.
    pub response_model: Option<String>,
    /// The Mantle API the request went over.
    pub route: Option<&'static str>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// Whether the answer was streamed.
    pub stream: bool,
    /// Input tokens outside the prompt cache.
    pub input_tokens: Option<u32>,
    /// Output tokens, reasoning included.
    pub output_tokens: Option<u32>,
    /// Cache reads.
    pub cache_read_tokens: Option<u32>,
    /// Cache writes.
    pub cache_write_tokens: Option<u32>,
    /// Reasoning tokens (part of the output).
    pub reasoning_tokens: Option<u32>,
    /// What the answer cost, USD; `null` when the model has no price or no usage came.
    pub cost_usd: Option<f64>,
    /// Why the model stopped.
    pub finish_reason: Option<String>,
    /// From the request's arrival to the first token of the answer, milliseconds.
    pub ttft_ms: Option<f64>,
    /// From the request's arrival to the end of the answer, milliseconds.
    pub duration_ms: f64,
    /// Mantle's id of the request.
    pub request_id: Option<String>,
    /// The kind of the error that ended the request (`rate-limited`, `model-not-found`, …;
    /// `unauthorized-key`, `model-not-allowed` for the gateway's own refusals).
    pub error: Option<&'static str>,
    /// Times the request was sent upstream again (another route, a fresh token).
    pub retries: u32,
    #[serde(skip)]
    started_ns: u64,
    #[serde(skip)]
    prices: Option<Cost>,
    #[serde(skip)]
    charge: Option<Charge>,
}

thread_local! {
    static CURRENT: RefCell<Option<Record>> = const { RefCell::new(None) };
}

/// Milliseconds since the Unix epoch.
fn wall_ms() -> u64 {
    #[cfg(all(target_arch = "wasm32", feature = "p2", not(feature = "p3")))]
    {
        let now = wasi::clocks::wall_clock::now();
        now.seconds * 1000 + u64::from(now.nanoseconds / 1_000_000)
    }
    #[cfg(all(target_arch = "wasm32", feature = "p3"))]
    {
        let now = spin_sdk_7::wasip3::clocks::system_clock::now();
        u64::try_from(now.seconds).unwrap_or(0) * 1000 + u64::from(now.nanoseconds / 1_000_000)
    }
    #[cfg(not(all(target_arch = "wasm32", any(feature = "p2", feature = "p3"))))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A monotonic time, nanoseconds.
fn mono_ns() -> u64 {
    #[cfg(all(target_arch = "wasm32", feature = "p2", not(feature = "p3")))]
    {
        wasi::clocks::monotonic_clock::now()
    }
    #[cfg(all(target_arch = "wasm32", feature = "p3"))]
    {
        spin_sdk_7::wasip3::clocks::monotonic_clock::now()
    }
    #[cfg(not(all(target_arch = "wasm32", any(feature = "p2", feature = "p3"))))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let start = START.get_or_init(std::time::Instant::now);
        u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

fn ms_since(started_ns: u64) -> f64 {
    let ns = mono_ns().saturating_sub(started_ns);
    // Microsecond resolution is plenty, and keeps the numbers short.
    (ns / 1_000) as f64 / 1_000.0
}

fn with(f: impl FnOnce(&mut Record)) {
    CURRENT.with(|c| {
        if let Some(r) = c.borrow_mut().as_mut() {
            f(r);
        }
    });
}

/// The surface a path belongs to.
pub fn surface_of(path: &str) -> &'static str {
    match path {
        "/v1/chat/completions" => "chat.completions",
        "/v1/responses" => "responses",
        "/v1/messages" => "messages",
        "/v1/messages/count_tokens" => "messages.count_tokens",
        "/v1/models" => "models",
        _ => "other",
    }
}

/// A request arrives.
pub fn begin() {
    let record = Record {
        mantle_access: 1,
        time_unix_ms: wall_ms(),
        surface: "other",
        started_ns: mono_ns(),
        ..Record::default()
    };
    CURRENT.with(|c| *c.borrow_mut() = Some(record));
}

/// The request's path is known.
pub fn path(path: &str) {
    with(|r| r.surface = surface_of(path));
}

/// The caller's key is known.
pub fn key(name: &str) {
    with(|r| r.key = Some(name.to_owned()));
}

/// The model the request names, and whether it asks for a stream.
pub fn model(model: &str, stream: bool) {
    with(|r| {
        r.model = Some(model.to_owned());
        r.stream = stream;
    });
}

/// The model's prices, for an answer the face reads itself (Claude passed through).
pub fn prices(prices: Option<Cost>) {
    with(|r| r.prices = prices);
}

/// The answer's status.
pub fn status(status: u16) {
    with(|r| r.status = status);
}

/// The request failed with `error`.
pub fn error(error: &Error) {
    with(|r| r.error = Some(error.kind()));
}

/// The gateway refused the request itself (`unauthorized-key`, `model-not-allowed`).
pub fn refused(kind: &'static str) {
    with(|r| r.error = Some(kind));
}

/// Mantle answered: its request id, the route, the retries before the answer.
pub fn upstream(request_id: Option<&str>, route: Option<Api>, retries: u32) {
    with(|r| {
        if request_id.is_some() {
            r.request_id = request_id.map(str::to_owned);
        }
        if route.is_some() {
            r.route = route.map(Api::as_str);
        }
        r.retries = retries;
    });
}

fn first_token(r: &mut Record) {
    if r.ttft_ms.is_none() {
        r.ttft_ms = Some(ms_since(r.started_ns));
    }
}

fn take_usage(r: &mut Record, usage: &Usage) {
    r.input_tokens = Some(usage.input_tokens);
    r.output_tokens = Some(usage.output_tokens);
    r.cache_read_tokens = usage.cache_read_tokens;
    r.cache_write_tokens = usage.cache_write_tokens;
    r.reasoning_tokens = usage.reasoning_tokens;
    let charge = usage
        .cost
        .or_else(|| r.prices.map(|p| cost::charge(&p, usage)));
    r.charge = charge;
    r.cost_usd = charge.map(|c| c.total);
}

/// One event of the provider's stream.
pub fn event(event: &ChatEvent) {
    with(|r| match event {
        ChatEvent::MessageStart { model, .. } => r.response_model = Some(model.clone()),
        ChatEvent::TextDelta(_)
        | ChatEvent::ReasoningDelta(_)
        | ChatEvent::RedactedReasoning(_)
        | ChatEvent::ToolCallStart { .. } => first_token(r),
        ChatEvent::Usage(usage) => take_usage(r, usage),
        ChatEvent::Finish(reason) => r.finish_reason = Some(stop_reason(reason).to_owned()),
        _ => {}
    });
}

fn stop_reason(reason: &StopReason) -> &str {
    match reason {
        StopReason::Stop => "stop",
        StopReason::Length => "length",
        StopReason::ToolCalls => "tool_calls",
        StopReason::ContentFilter => "content_filter",
        StopReason::Refusal => "refusal",
        StopReason::Other(o) => o,
    }
}

/// The cost of the answer so far, when known.
pub fn charge() -> Option<Charge> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(|r| r.charge))
}

/// Anthropic's usage counts, as a Messages answer or event carries them.
#[derive(Deserialize, Default)]
struct AnthropicUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

/// What the record takes from a Messages answer or event.
#[derive(Deserialize, Default)]
struct AnthropicPart {
    #[serde(rename = "type")]
    kind: Option<String>,
    model: Option<String>,
    usage: Option<AnthropicUsage>,
    stop_reason: Option<String>,
    message: Option<Box<AnthropicPart>>,
    delta: Option<Box<AnthropicPart>>,
}

fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn anthropic_part(r: &mut Record, part: &AnthropicPart) {
    if let Some(model) = &part.model {
        r.response_model = Some(model.clone());
    }
    if let Some(reason) = &part.stop_reason {
        r.finish_reason = Some(reason.clone());
    }
    if let Some(u) = &part.usage {
        let mut usage = Usage {
            input_tokens: r.input_tokens.unwrap_or(0),
            output_tokens: r.output_tokens.unwrap_or(0),
            cache_read_tokens: r.cache_read_tokens,
            cache_write_tokens: r.cache_write_tokens,
            ..Usage::default()
        };
        if let Some(n) = u.input_tokens {
            usage.input_tokens = count(n);
        }
        if let Some(n) = u.output_tokens {
            usage.output_tokens = count(n);
        }
        if let Some(n) = u.cache_read_input_tokens {
            usage.cache_read_tokens = Some(count(n));
        }
        if let Some(n) = u.cache_creation_input_tokens {
            usage.cache_write_tokens = Some(count(n));
        }
        take_usage(r, &usage);
    }
}

/// A whole Messages answer passed through (JSON): its model, usage and stop reason.
pub fn anthropic_answer(body: &[u8]) {
    if let Ok(part) = serde_json::from_slice::<AnthropicPart>(body) {
        with(|r| {
            first_token(r);
            anthropic_part(r, &part);
        });
    }
}

/// One event of a Messages stream passed through (its JSON data).
pub fn anthropic_event(data: &str) {
    let Ok(part) = serde_json::from_str::<AnthropicPart>(data) else {
        return;
    };
    with(|r| match part.kind.as_deref() {
        Some("message_start") => {
            if let Some(message) = &part.message {
                anthropic_part(r, message);
            }
        }
        Some("content_block_start" | "content_block_delta") => first_token(r),
        Some("message_delta") => {
            if let Some(delta) = &part.delta {
                anthropic_part(r, delta);
            }
            if part.usage.is_some() {
                anthropic_part(
                    r,
                    &AnthropicPart {
                        usage: part.usage,
                        ..AnthropicPart::default()
                    },
                );
            }
        }
        _ => {}
    });
}

/// The request is done: its record as one JSON line (no line end), and the record cleared.
pub fn finish() -> Option<String> {
    let record = CURRENT.with(|c| c.borrow_mut().take())?;
    Some(line(record))
}

fn line(mut record: Record) -> String {
    record.duration_ms = ms_since(record.started_ns);
    serde_json::to_string(&record).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_marked_line_with_counts_and_cost() {
        begin();
        path("/v1/chat/completions");
        key("team-a");
        model("gpt-oss-120b", true);
        upstream(Some("req_1"), Some(Api::OpenaiCompletions), 1);
        status(200);
        event(&ChatEvent::MessageStart {
            id: "x".into(),
            model: "openai.gpt-oss-120b".into(),
        });
        event(&ChatEvent::TextDelta("secret prompt words".into()));
        event(&ChatEvent::Usage(Usage {
            input_tokens: 10,
            output_tokens: 20,
            cost: Some(Charge {
                total: 0.5,
                ..Charge::default()
            }),
            ..Usage::default()
        }));
        event(&ChatEvent::Finish(StopReason::Stop));
        assert_eq!(charge().map(|c| c.total), Some(0.5));
        let text = finish().unwrap();
        assert!(text.starts_with("{\"mantle_access\":1,"), "{text}");
        assert!(!text.contains('\n'));
        assert!(!text.contains("secret"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["key"], "team-a");
        assert_eq!(v["surface"], "chat.completions");
        assert_eq!(v["model"], "gpt-oss-120b");
        assert_eq!(v["response_model"], "openai.gpt-oss-120b");
        assert_eq!(v["route"], "openai-completions");
        assert_eq!(v["input_tokens"], 10);
        assert_eq!(v["cost_usd"], 0.5);
        assert_eq!(v["retries"], 1);
        assert_eq!(v["finish_reason"], "stop");
        assert!(v["ttft_ms"].as_f64().is_some());
        assert_eq!(finish(), None, "one record per request");
    }

    #[test]
    fn a_passed_through_stream_is_counted_and_priced() {
        begin();
        prices(mantle_provider::cost::builtin("anthropic.claude-opus-4-7"));
        anthropic_event(
            r#"{"type":"message_start","message":{"model":"claude-opus-4-7","usage":{"input_tokens":100,"cache_read_input_tokens":1000,"cache_creation_input_tokens":0,"output_tokens":1}}}"#,
        );
        anthropic_event(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#,
        );
        anthropic_event(
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":50}}"#,
        );
        let v: serde_json::Value = serde_json::from_str(&finish().unwrap()).unwrap();
        assert_eq!(v["input_tokens"], 100);
        assert_eq!(v["output_tokens"], 50);
        assert_eq!(v["cache_read_tokens"], 1000);
        assert_eq!(v["finish_reason"], "end_turn");
        let want = (100.0 * 5.5 + 50.0 * 27.5 + 1000.0 * 0.55) / 1e6;
        assert!(
            (v["cost_usd"].as_f64().unwrap() - want).abs() < 1e-12,
            "{v}"
        );
    }
}
