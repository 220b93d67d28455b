//! The unified chat model shared by both wire protocols, with no I/O: the request a host
//! hands in, the events it gets back, and the driver that turns a response body into events.
//!
//! The types mirror the WIT `chat-request` and `chat-event` families of `interface provider`
//! one to one. Each route has a protocol module with the same outline: [`crate::routes::openai`] and
//! [`crate::routes::anthropic`] each offer `build_request` (a [`ChatRequest`] to a JSON body), a
//! [`StreamMapper`] (SSE events to [`ChatEvent`]s) and `classify_error` (a failed response to
//! an [`Error`]).
//!
//! The stream is layered: bytes → [`sse::Parser`] → [`sse::Event`] → [`StreamMapper`] →
//! [`ChatEvent`], driven by [`EventStream`]. Nothing is buffered beyond one SSE line and a few
//! counters: text, reasoning and tool-call arguments are emitted as they arrive.
//!
//! Every stream ends with exactly one [`ChatEvent::Finish`], and it is the last event; the
//! [`ChatEvent::Usage`] of the response, when the upstream reports it, comes before it. A body
//! that ends before the route's final event gives [`Error::Truncated`] from
//! [`EventStream::end`].

use crate::error::{Error, Result};
use crate::secrets::{Secrets, quote};
use crate::sse;

/// A chat completion request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// Model id; its `api` picks the route.
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    pub tools: Vec<Tool>,
    /// How the model may use the tools.
    pub tool_choice: Option<ToolChoice>,
    /// Output token limit; capped by the model's own limit.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// Reasoning effort.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// The shape the answer must have.
    pub response_format: Option<ResponseFormat>,
    /// Whether the model may call several tools in one turn; `None` leaves it to the route.
    pub parallel_tool_calls: Option<bool>,
    /// Seed for deterministic sampling, where the route has one.
    pub seed: Option<i64>,
    /// A JSON object (as text) merged into the upstream request body, last.
    pub extra: Option<String>,
}

/// The shape an answer must have (OpenAI's `response_format`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseFormat {
    /// Free text (the default).
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON valid against a schema.
    JsonSchema(JsonSchemaFormat),
}

/// A named JSON schema an answer must follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonSchemaFormat {
    /// Name of the format.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The schema, a JSON object as the client wrote it.
    pub schema: String,
    /// Whether the schema must be followed exactly.
    pub strict: Option<bool>,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// System instructions.
    System(String),
    /// A user turn.
    User(Vec<ContentPart>),
    /// An earlier assistant turn.
    Assistant(AssistantMessage),
    /// The result of a tool call.
    Tool(ToolResult),
}

/// A part of a message's content.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart {
    /// Text.
    Text(String),
    /// An image.
    Image(ImageSource),
}

/// An image given to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    /// An `https:` or `data:` URL.
    Url(String),
    /// Inline data.
    Base64 {
        /// Media type, e.g. `image/png`.
        media_type: String,
        /// Standard base64 of the image bytes.
        data: String,
    },
}

impl ImageSource {
    /// An image given by URL: a `data:` URL becomes inline base64, moved out of the URL rather
    /// than copied; any other non-empty URL stays a URL.
    pub fn from_url(mut url: String) -> Result<ImageSource> {
        if url.is_empty() {
            return Err(Error::InvalidRequest(
                "an image URL must not be empty".to_owned(),
            ));
        }
        let Some((media_type, data)) = data_url(&url)? else {
            return Ok(ImageSource::Url(url));
        };
        let (media_type, start) = (media_type.to_owned(), url.len() - data.len());
        url.drain(..start);
        Ok(ImageSource::Base64 {
            media_type,
            data: url,
        })
    }
}

/// The media type and base64 data of `data:<media type>[;params];base64,<data>` (scheme and
/// `;base64` matched case-insensitively), `None` for a URL of another scheme, an error for a
/// `data:` URL of another shape. The guest's one `data:` URL parser.
pub fn data_url(url: &str) -> Result<Option<(&str, &str)>> {
    let is_data = url
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"));
    if !is_data {
        return Ok(None);
    }
    let parsed = url[5..].split_once(',').and_then(|(meta, data)| {
        let (media_type, encoding) = meta.rsplit_once(';')?;
        let media_type = media_type.split(';').next().unwrap_or_default();
        (encoding.eq_ignore_ascii_case("base64") && !media_type.is_empty())
            .then_some((media_type, data))
    });
    match parsed {
        Some(parts) => Ok(Some(parts)),
        None => Err(Error::InvalidRequest(
            "an image data: URL must be data:<media type>;base64,<data>".to_owned(),
        )),
    }
}

/// An earlier assistant turn.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssistantMessage {
    /// Reasoning blocks, in order.
    pub reasoning: Vec<ReasoningBlock>,
    /// The visible answer.
    pub content: Vec<ContentPart>,
    /// Tool calls the assistant made.
    pub tool_calls: Vec<ToolCall>,
}

/// A block of the assistant's reasoning, kept so it can be replayed as received.
#[derive(Debug, Clone, PartialEq)]
pub enum ReasoningBlock {
    /// Readable reasoning.
    Thinking {
        /// The reasoning text.
        text: String,
        /// Signature of the block (Anthropic), replayed as received.
        signature: Option<String>,
    },
    /// Reasoning the upstream encrypted; opaque data, replayed as is.
    Redacted(String),
}

/// A call of a tool, made by the assistant.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// Id that ties the call to its result.
    pub id: String,
    /// Name of the tool.
    pub name: String,
    /// Arguments as JSON text.
    pub arguments: String,
}

/// The result of a tool call, given back to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// Id of the call this answers.
    pub tool_call_id: String,
    /// The result.
    pub content: Vec<ContentPart>,
    /// Whether the tool failed.
    pub is_error: bool,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// Name of the tool.
    pub name: String,
    /// What the tool does.
    pub description: Option<String>,
    /// JSON schema of the arguments, as JSON text (a JSON object); empty means no arguments.
    pub parameters: String,
    /// Whether calls must follow the schema exactly (structured outputs).
    pub strict: Option<bool>,
}

/// How the model may use tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// A call of the named tool.
    Named(String),
}

/// How much the model should reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningEffort {
    /// Little (Anthropic thinking budget 2048 tokens).
    Low,
    /// Some (8192 tokens).
    Medium,
    /// Much (16384 tokens).
    High,
}

impl ReasoningEffort {
    /// The OpenAI spelling: `low`, `medium` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
}

/// What one answer cost, USD.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Charge {
    /// Input tokens outside the prompt cache.
    pub input: f64,
    /// Output tokens, reasoning included.
    pub output: f64,
    /// Input tokens read from the prompt cache.
    pub cache_read: f64,
    /// Input tokens written to the prompt cache.
    pub cache_write: f64,
    /// The sum of the four.
    pub total: f64,
}

// A charge is a sum of products of finite non-negative prices and token counts, never NaN, so
// equality is an equivalence; this lets the events that carry it be compared whole in tests.
impl Eq for Charge {}

/// Token counts of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Input tokens outside the prompt cache: cache reads (and, on the Anthropic route, cache
    /// writes) are counted apart, never twice. On the OpenAI route this is `prompt_tokens`
    /// minus `prompt_tokens_details.cached_tokens`.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// Input tokens read from the prompt cache, when reported.
    pub cache_read_tokens: Option<u32>,
    /// Input tokens written to the prompt cache, when reported.
    pub cache_write_tokens: Option<u32>,
    /// Output tokens spent on reasoning (counted in `output_tokens` too), when reported.
    pub reasoning_tokens: Option<u32>,
    /// What these tokens cost at the model's prices ([`crate::cost`]); `None` when the model
    /// has no price. Set by the client on the usage it hands out.
    pub cost: Option<Charge>,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// A natural end or a stop sequence.
    Stop,
    /// The output token limit.
    Length,
    /// The model called tools.
    ToolCalls,
    /// A content filter.
    ContentFilter,
    /// The model refused.
    Refusal,
    /// Anything else, with the upstream's value.
    Other(String),
}

/// One event of a streamed response, on either route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// The response begins.
    MessageStart {
        /// Upstream response id.
        id: String,
        /// The model that answers.
        model: String,
    },
    /// A piece of visible text.
    TextDelta(String),
    /// A piece of reasoning text.
    ReasoningDelta(String),
    /// The signature of the reasoning block just streamed, kept intact.
    ReasoningSignature(String),
    /// A redacted reasoning block, kept intact.
    RedactedReasoning(String),
    /// A tool call begins.
    ToolCallStart {
        /// Position of the call among the tool calls of this response, from 0.
        index: u32,
        /// Id of the call.
        id: String,
        /// Name of the tool.
        name: String,
    },
    /// A piece of a tool call's arguments, as it arrived.
    ToolCallArguments {
        /// Position of the call among the tool calls of this response, from 0.
        index: u32,
        /// The next piece of the arguments' JSON text.
        arguments: String,
    },
    /// Token counts.
    Usage(Usage),
    /// The response ends; always the last event.
    Finish(StopReason),
}

/// Maps the SSE events of one route to [`ChatEvent`]s. Each route's mapper keeps only
/// counters and flags between events, never text.
pub trait StreamMapper {
    /// Maps one SSE event, appending what it means to `out`. An error ends the stream: the
    /// upstream reported a failure, or broke its protocol.
    fn on_event(&mut self, event: &sse::Event, out: &mut Vec<ChatEvent>) -> Result<()>;

    /// The body ended at an event boundary. Appends what was held back (a finish marker) or
    /// returns [`Error::Truncated`] when the route's final event never came.
    fn on_end(&mut self, out: &mut Vec<ChatEvent>) -> Result<()>;

    /// Whether [`ChatEvent::Finish`] was emitted: the response is complete and later events
    /// are ignored.
    fn finished(&self) -> bool;
}

/// The events kept between two chunks are reused; a scratch buffer with more room than this
/// is released, so one large chunk does not pin its memory.
const KEEP_SCRATCH: usize = 64;

/// Drives a [`StreamMapper`] over a response body fed in chunks cut anywhere.
///
/// After an error the stream is spent: every later call returns the same error. After the
/// finish event the rest of the body is ignored (the caller may stop reading).
#[derive(Debug)]
pub struct EventStream<M> {
    /// The SSE layer.
    parser: sse::Parser,
    /// The route's mapping.
    mapper: M,
    /// SSE events of the current chunk, reused between chunks.
    scratch: Vec<sse::Event>,
    /// Texts removed from every error message.
    secrets: Secrets,
    /// The error that ended the stream.
    failed: Option<Error>,
}

impl<M: StreamMapper> EventStream<M> {
    /// A stream over a new response body.
    pub fn new(mapper: M) -> Self {
        Self {
            parser: sse::Parser::new(),
            mapper,
            scratch: Vec::new(),
            secrets: Secrets::default(),
            failed: None,
        }
    }

    /// The same stream, removing these secrets (e.g. the bearer token) from every error
    /// message it returns, wherever the text came from.
    pub fn redacting(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// Parses the next chunk of the body and appends the events it completes to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<ChatEvent>) -> Result<()> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if self.mapper.finished() {
            return Ok(());
        }
        // Events completed before an SSE fault are good: map them first.
        let parsed = self.parser.feed(chunk, &mut self.scratch);
        let mut mapped = Ok(());
        for event in self.scratch.drain(..) {
            if self.mapper.finished() {
                break;
            }
            mapped = self.mapper.on_event(&event, out);
            if mapped.is_err() {
                break;
            }
        }
        self.scratch.clear();
        if self.scratch.capacity() > KEEP_SCRATCH {
            self.scratch = Vec::new();
        }
        let result = match mapped {
            Err(error) => Err(error),
            // An SSE fault in the ignored rest of a finished body does not matter.
            Ok(()) if self.mapper.finished() => Ok(()),
            Ok(()) => parsed,
        };
        result.map_err(|error| self.fail(error))
    }

    /// The body ended: appends what the mapper held back, or fails.
    ///
    /// A last event the upstream left without its blank line (or its last line end) is read
    /// and mapped first ([`sse::Parser::end`]). Returns [`Error::Truncated`] when the body
    /// ended before the route's final event (see [`crate::routes::openai::Mapper`] and
    /// [`crate::routes::anthropic::Mapper`] for each rule) or inside a line that does not read as a
    /// whole event. Once the finish event was emitted, whatever followed it is ignored.
    pub fn end(&mut self, out: &mut Vec<ChatEvent>) -> Result<()> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if self.mapper.finished() {
            return Ok(());
        }
        let mid_line = self.parser.ends_mid_line();
        let mut ended = self.parser.end(&mut self.scratch);
        for event in self.scratch.drain(..) {
            if ended.is_err() || self.mapper.finished() {
                break;
            }
            ended = self.mapper.on_event(&event, out);
        }
        self.scratch.clear();
        if ended.is_ok() && !self.mapper.finished() {
            ended = self.mapper.on_end(out);
        }
        let ended = match ended {
            // A last line cut short reads as a malformed event: the body was cut.
            Err(Error::Protocol(_)) if mid_line => Err(Error::Truncated(
                "the stream ended inside an event, before its final event".to_owned(),
            )),
            other => other,
        };
        ended.map_err(|error| self.fail(error))
    }

    /// Whether the finish event was emitted.
    pub fn finished(&self) -> bool {
        self.mapper.finished()
    }

    /// The route's mapper.
    pub fn mapper(&self) -> &M {
        &self.mapper
    }

    /// Records the error that ends the stream, its secrets removed, then cut to
    /// [`ERROR_CHARS`] (in that order, so no prefix of a secret survives the cut).
    fn fail(&mut self, error: Error) -> Error {
        let error = map_message(error, |m| quote(m, &self.secrets, ERROR_CHARS));
        self.failed = Some(error.clone());
        error
    }
}

/// The same error with its message rewritten.
pub(crate) fn map_message(error: Error, f: impl Fn(&str) -> String) -> Error {
    match error {
        Error::Configuration(m) => Error::Configuration(f(&m)),
        Error::MissingCredentials(m) => Error::MissingCredentials(f(&m)),
        Error::Unauthorized(m) => Error::Unauthorized(f(&m)),
        Error::Forbidden(m) => Error::Forbidden(f(&m)),
        Error::ModelNotFound(m) => Error::ModelNotFound(f(&m)),
        Error::WrongRoute(m) => Error::WrongRoute(f(&m)),
        Error::RateLimited {
            message,
            retry_after,
        } => Error::RateLimited {
            message: f(&message),
            retry_after,
        },
        Error::InvalidRequest(m) => Error::InvalidRequest(f(&m)),
        Error::ContextOverflow(m) => Error::ContextOverflow(f(&m)),
        Error::UpstreamUnavailable { status, message } => Error::UpstreamUnavailable {
            status,
            message: f(&message),
        },
        Error::Timeout(m) => Error::Timeout(f(&m)),
        Error::Protocol(m) => Error::Protocol(f(&m)),
        Error::Truncated(m) => Error::Truncated(f(&m)),
        Error::NotImplemented(m) => Error::NotImplemented(f(&m)),
    }
}

/// The longest error message a stream returns, in characters: what an upstream sent is quoted
/// up to this length, after its secrets are removed.
pub const ERROR_CHARS: usize = 400;

/// A protocol error for an event whose data could not be read, quoting the data whole (an SSE
/// event is bounded by the parser); [`EventStream`] removes secrets, then cuts it.
pub(crate) fn malformed(route: &str, why: &dyn core::fmt::Display, data: &str) -> Error {
    Error::Protocol(format!(
        "{route} sent a malformed stream event ({why}): {data}"
    ))
}

/// Whether an upstream's refusal says the prompt does not fit the context window: Mantle's
/// wording ("prompt tokens (400007) exceed model maximum (278528) for openai.gpt-5.5"),
/// vLLM's ("This model's maximum context length is 202752 tokens. However, you requested …"),
/// Anthropic's ("prompt is too long") and OpenAI's (`context_length_exceeded`).
pub(crate) fn is_context_overflow(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "exceed model maximum",
        "exceeds model maximum",
        "context length",
        "context_length",
        "context window",
        "maximum context",
        "too many tokens",
        "prompt is too long",
        "input is too long",
        "too many input tokens",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// A JSON number for an `f32` sampling parameter, written as its shortest decimal form
/// (`0.7`, not `0.699999988079071`); a value that is not finite is an invalid request.
pub(crate) fn json_f32(name: &str, value: f32) -> Result<serde_json::Value> {
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(serde_json::Value::Number)
        .ok_or_else(|| {
            Error::InvalidRequest(format!("{name} must be a finite number, not {value}"))
        })
}

/// Serializes a request body and merges `extra` (a JSON object as text) into it, last: a key
/// of `extra` replaces the body's value in place, new keys follow in `extra`'s order. Every
/// value is written as it was given, byte for byte (tool schemas, `extra`'s values), so the
/// upstream sees the client's JSON, not a re-encoding. `extra` must not turn streaming off.
pub(crate) fn body_with_extra(body: &impl serde::Serialize, extra: Option<&str>) -> Result<String> {
    let encoded = serde_json::to_string(body)
        .map_err(|e| Error::InvalidRequest(format!("cannot encode the request: {e}")))?;
    let Some(extra) = extra else {
        return Ok(encoded);
    };
    let extra: RawObject<'_> = serde_json::from_str(extra)
        .map_err(|e| Error::InvalidRequest(format!("extra must be a JSON object: {e}")))?;
    if extra
        .0
        .iter()
        .any(|(key, value)| key == "stream" && value.get() != "true")
    {
        return Err(Error::InvalidRequest(
            "extra must not turn streaming off: the provider only streams".to_owned(),
        ));
    }
    let base: RawObject<'_> = serde_json::from_str(&encoded)
        .map_err(|e| Error::InvalidRequest(format!("cannot encode the request: {e}")))?;
    let mut merged = base.0;
    for (key, value) in extra.0 {
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => merged.push((key, value)),
        }
    }
    serde_json::to_string(&RawObject(merged))
        .map_err(|e| Error::InvalidRequest(format!("cannot encode the request: {e}")))
}

/// A JSON object's members in order, each value kept as its text. Keys are unescaped
/// (`Cow` borrows when they hold no escapes) and written back escaped by serde_json.
struct RawObject<'a>(Vec<(std::borrow::Cow<'a, str>, &'a serde_json::value::RawValue)>);

impl<'de> serde::Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> core::result::Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> core::result::Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    members.push((key, map.next_value()?));
                }
                Ok(RawObject(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

impl serde::Serialize for RawObject<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The empty schema sent for a tool that takes no arguments.
const NO_ARGUMENTS: &str = r#"{"type":"object","properties":{}}"#;

/// A JSON object given as text, checked and kept as written; `what` names it in errors.
/// Empty text is `{}`.
pub(crate) fn raw_object(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<&serde_json::value::RawValue> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    match serde_json::from_str::<&serde_json::value::RawValue>(text) {
        Ok(raw) if raw.get().starts_with('{') => Ok(raw),
        Ok(_) => Err(Error::InvalidRequest(format!(
            "{} must be a JSON object",
            what()
        ))),
        Err(e) => Err(Error::InvalidRequest(format!(
            "{} are not valid JSON: {e}",
            what()
        ))),
    }
}

/// A tool's JSON-schema text, checked to be a JSON object and kept byte for byte as the client
/// wrote it; empty text means "no arguments".
pub(crate) fn tool_schema(tool: &Tool) -> Result<&serde_json::value::RawValue> {
    let text = if tool.parameters.trim().is_empty() {
        NO_ARGUMENTS
    } else {
        &tool.parameters
    };
    raw_object(text, || format!("tool `{}`: parameters", tool.name))
}

/// A token count as the WIT carries it, saturating.
pub(crate) fn tokens(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers shared by the protocol modules' tests.

    use super::*;

    /// What a whole body gave: its events, and the error that ended it, if any.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Outcome {
        /// Every event, in order.
        pub events: Vec<ChatEvent>,
        /// The error from `feed` or `end`.
        pub error: Option<Error>,
    }

    /// Bytes that are mostly fragments (up to `longest` bytes) of `transcripts`, with stray
    /// bytes between them.
    pub fn stream_bytes(
        transcripts: &[&str],
        longest: usize,
    ) -> impl proptest::strategy::Strategy<Value = Vec<u8>> + use<> {
        use proptest::prelude::*;
        let all = transcripts.concat();
        let fragment = (any::<prop::sample::Index>(), 0..longest).prop_map(move |(at, len)| {
            let bytes = all.as_bytes();
            let start = at.index(bytes.len());
            bytes[start..(start + len).min(bytes.len())].to_vec()
        });
        let token = prop_oneof![
            4 => fragment,
            1 => prop::collection::vec(any::<u8>(), 0..8),
        ];
        prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
    }

    /// `input` read whole and cut at `at` gives the same outcome, which ends in exactly one
    /// finish (last) or in an error (and no finish).
    pub fn ends_in_one_finish_or_an_error<M: StreamMapper>(
        new: impl Fn() -> EventStream<M>,
        input: &[u8],
        at: usize,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        use proptest::{prop_assert, prop_assert_eq};
        let whole = run(new(), &[input]);
        prop_assert_eq!(&run(new(), &[&input[..at], &input[at..]]), &whole);
        let finishes = whole
            .events
            .iter()
            .filter(|e| matches!(e, ChatEvent::Finish(_)))
            .count();
        if whole.error.is_none() {
            prop_assert_eq!(finishes, 1);
            prop_assert!(matches!(whole.events.last(), Some(ChatEvent::Finish(_))));
        } else {
            prop_assert_eq!(finishes, 0);
        }
        Ok(())
    }

    /// Feeds `chunks` to a fresh stream, then ends it.
    pub fn run<M: StreamMapper>(mut stream: EventStream<M>, chunks: &[&[u8]]) -> Outcome {
        let mut events = Vec::new();
        for chunk in chunks {
            if let Err(error) = stream.feed(chunk, &mut events) {
                return Outcome {
                    events,
                    error: Some(error),
                };
            }
        }
        let error = stream.end(&mut events).err();
        Outcome { events, error }
    }

    /// Checks that `input` gives the same outcome whole, split at every byte offset and in
    /// 1-byte chunks; returns it.
    pub fn same_however_split<M: StreamMapper>(
        new: impl Fn() -> EventStream<M>,
        input: &[u8],
    ) -> Outcome {
        let whole = run(new(), &[input]);
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(run(new(), &[a, b]), whole, "split at byte {cut}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(new(), &bytes), whole, "1-byte chunks");
        whole
    }

    /// Checks that `input` cut anywhere before byte `upto` is reported as truncated by
    /// `end`, with no finish event.
    pub fn truncated_when_cut_before<M: StreamMapper>(
        new: impl Fn() -> EventStream<M>,
        input: &[u8],
        upto: usize,
    ) {
        assert!(upto <= input.len());
        for cut in 0..upto {
            let out = run(new(), &[&input[..cut]]);
            assert!(
                matches!(out.error, Some(Error::Truncated(_))),
                "cut at byte {cut} of {}: {out:?}",
                input.len()
            );
            assert!(
                !out.events.iter().any(|e| matches!(e, ChatEvent::Finish(_))),
                "cut at byte {cut}: a finish event was emitted"
            );
        }
    }

    /// A conversation with every kind of message.
    pub fn conversation(model: &str) -> ChatRequest {
        ChatRequest {
            model: model.to_owned(),
            messages: vec![
                Message::System("You are terse.".to_owned()),
                Message::System("Answer in English.".to_owned()),
                Message::User(vec![
                    ContentPart::Text("What is in this image?".to_owned()),
                    ContentPart::Image(ImageSource::Base64 {
                        media_type: "image/png".to_owned(),
                        data: "iVBORw0KGgo=".to_owned(),
                    }),
                ]),
                Message::Assistant(AssistantMessage {
                    reasoning: vec![
                        ReasoningBlock::Thinking {
                            text: "A cat. The user may want the weather too.".to_owned(),
                            signature: Some("EqQBCkYIBxgCKkA".to_owned()),
                        },
                        ReasoningBlock::Redacted("EmwKAhgBEgy3vaG".to_owned()),
                    ],
                    content: vec![ContentPart::Text("A cat. Checking the weather.".to_owned())],
                    tool_calls: vec![ToolCall {
                        id: "call_1".to_owned(),
                        name: "get_weather".to_owned(),
                        arguments: r#"{"city":"Paris"}"#.to_owned(),
                    }],
                }),
                Message::Tool(ToolResult {
                    tool_call_id: "call_1".to_owned(),
                    content: vec![ContentPart::Text("18°C, sunny".to_owned())],
                    is_error: false,
                }),
                Message::User(vec![
                    ContentPart::Image(ImageSource::Url("https://example.com/cat.png".to_owned())),
                    ContentPart::Text("And this one?".to_owned()),
                ]),
            ],
            tools: vec![Tool {
                name: "get_weather".to_owned(),
                description: Some("Current weather of a city".to_owned()),
                parameters: r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#
                    .to_owned(),
                strict: None,
            }],
            tool_choice: Some(ToolChoice::Auto),
            max_tokens: Some(50_000),
            temperature: Some(0.7),
            top_p: None,
            stop: vec!["END".to_owned()],
            reasoning_effort: Some(ReasoningEffort::High),
            response_format: None,
            parallel_tool_calls: None,
            seed: None,
            extra: Some(r#"{"top_k":40}"#.to_owned()),
        }
    }

    /// The position of `needle` in `haystack`.
    pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn data_urls_are_parsed_in_one_place() {
        fn ok(url: &str) -> Option<(&str, &str)> {
            data_url(url).ok().flatten()
        }
        assert_eq!(
            ok("data:image/png;base64,iVBO"),
            Some(("image/png", "iVBO"))
        );
        assert_eq!(
            ok("DATA:image/jpeg;charset=x;BASE64,/9j/"),
            Some(("image/jpeg", "/9j/"))
        );
        assert_eq!(ok("https://example.com/a.png"), None);
        for bad in [
            "data:image/png,iVBO",
            "data:;base64,AAAA",
            "data:image/png;base64",
        ] {
            assert!(
                matches!(data_url(bad), Err(Error::InvalidRequest(m)) if m.contains("data:<media type>")),
                "{bad}"
            );
        }
        assert_eq!(
            ImageSource::from_url("data:image/gif;base64,R0lG".to_owned()).ok(),
            Some(ImageSource::Base64 {
                media_type: "image/gif".to_owned(),
                data: "R0lG".to_owned()
            })
        );
        assert!(ImageSource::from_url(String::new()).is_err());
    }

    /// A mapper that echoes `message` events' data as text, finishes on `end`, and fails on
    /// `fail`.
    #[derive(Default)]
    struct Echo {
        done: bool,
    }

    impl StreamMapper for Echo {
        fn on_event(&mut self, event: &sse::Event, out: &mut Vec<ChatEvent>) -> Result<()> {
            match event.data.as_str() {
                "end" => {
                    out.push(ChatEvent::Finish(StopReason::Stop));
                    self.done = true;
                }
                "fail" => return Err(Error::Protocol("failed with sk-SECRET-1".to_owned())),
                data if data.starts_with("bad ") => return Err(malformed("echo", &"bad", data)),
                data => out.push(ChatEvent::TextDelta(data.to_owned())),
            }
            Ok(())
        }

        fn on_end(&mut self, _: &mut Vec<ChatEvent>) -> Result<()> {
            Err(Error::Truncated("no end".to_owned()))
        }

        fn finished(&self) -> bool {
            self.done
        }
    }

    fn text(s: &str) -> ChatEvent {
        ChatEvent::TextDelta(s.to_owned())
    }

    #[test]
    fn events_after_the_finish_are_ignored_even_malformed() {
        let out = run(
            EventStream::new(Echo::default()),
            &[
                b"data: a\n\ndata: end\n\ndata: b\n\n",
                b"data: fail\n\n\xFF partial",
            ],
        );
        assert_eq!(out.events, [text("a"), ChatEvent::Finish(StopReason::Stop)]);
        assert_eq!(out.error, None);
    }

    #[test]
    fn a_body_cut_inside_an_event_is_truncated() {
        // A last line cut short that does not read as an event: truncated, not malformed.
        let out = run(
            EventStream::new(Echo::default()),
            &[b"data: a\n\ndata: bad e"],
        );
        assert_eq!(out.events, [text("a")]);
        assert_eq!(
            out.error,
            Some(Error::Truncated(
                "the stream ended inside an event, before its final event".to_owned()
            ))
        );
        // The same event with all its lines ended is malformed.
        let out = run(
            EventStream::new(Echo::default()),
            &[b"data: a\n\ndata: bad e\n"],
        );
        assert!(matches!(out.error, Some(Error::Protocol(_))), "{out:?}");
        // A clean cut defers to the mapper's rule.
        let out = run(EventStream::new(Echo::default()), &[b"data: a\n\n"]);
        assert_eq!(out.error, Some(Error::Truncated("no end".to_owned())));
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_read_whole() {
        for body in [
            &b"data: a\n\ndata: end\n"[..],
            b"data: a\r\n\r\ndata: end\r\n",
            b"data: a\r\rdata: end\r",
            b"data: a\n\ndata: end",
        ] {
            for cut in 0..=body.len() {
                let (x, y) = body.split_at(cut);
                let out = run(EventStream::new(Echo::default()), &[x, y]);
                assert_eq!(
                    out.events,
                    [text("a"), ChatEvent::Finish(StopReason::Stop)],
                    "{body:?} cut at {cut}"
                );
                assert_eq!(out.error, None, "{body:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn errors_are_redacted_and_sticky() {
        let mut stream =
            EventStream::new(Echo::default()).redacting(Secrets::new(&["sk-SECRET-1"]));
        let mut out = Vec::new();
        let expected = Error::Protocol("failed with <redacted>".to_owned());
        assert_eq!(
            stream.feed(b"data: a\n\ndata: fail\n\ndata: b\n\n", &mut out),
            Err(expected.clone())
        );
        assert_eq!(out, [text("a")]);
        assert_eq!(stream.feed(b"data: c\n\n", &mut out), Err(expected.clone()));
        assert_eq!(stream.end(&mut out), Err(expected));
        assert_eq!(out, [text("a")]);
    }

    #[test]
    fn events_before_an_sse_fault_are_mapped_first() {
        let mut stream = EventStream::new(Echo::default());
        stream.parser = sse::Parser::with_max_line(16);
        let mut out = Vec::new();
        let result = stream.feed(b"data: a\n\ndata: 0123456789abcdef\n\n", &mut out);
        assert!(matches!(result, Err(Error::Protocol(_))), "{result:?}");
        assert_eq!(out, [text("a")]);
    }

    #[test]
    fn the_scratch_buffer_stays_small() {
        let mut stream = EventStream::new(Echo::default());
        let mut out = Vec::new();
        stream.feed(&b"data: x\n\n".repeat(1000), &mut out).unwrap();
        assert_eq!(out.len(), 1000);
        assert!(stream.scratch.capacity() <= KEEP_SCRATCH);
    }

    #[test]
    fn sampling_numbers_keep_their_decimal_form() {
        assert_eq!(json_f32("t", 0.7).unwrap().to_string(), "0.7");
        assert_eq!(json_f32("t", 1.0).unwrap().to_string(), "1.0");
        assert!(matches!(
            json_f32("t", f32::NAN),
            Err(Error::InvalidRequest(_))
        ));
    }

    #[test]
    fn extra_is_merged_last_and_must_be_an_object() {
        let body = serde_json::json!({"model": "m", "stream": true, "top_k": 1});
        let merged = body_with_extra(
            &body,
            Some(r#"{"top_k": 40, "zeta": {"b": 1.50, "a": [1e2]}, "alpha": "\u00e9"}"#),
        )
        .unwrap();
        // Replaced in place, new keys after in extra's order, values as written.
        assert_eq!(
            merged,
            r#"{"model":"m","stream":true,"top_k":40,"zeta":{"b": 1.50, "a": [1e2]},"alpha":"\u00e9"}"#
        );
        assert_eq!(
            body_with_extra(&body, None).unwrap(),
            r#"{"model":"m","stream":true,"top_k":1}"#
        );
        for bad in [
            "[1]",
            "3",
            "{",
            r#"{"stream": false}"#,
            r#"{"stream": null}"#,
        ] {
            assert!(
                matches!(
                    body_with_extra(&body, Some(bad)),
                    Err(Error::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn tool_schemas_are_json_objects_kept_as_written() {
        let tool = |parameters: &str| Tool {
            name: "t".to_owned(),
            description: None,
            parameters: parameters.to_owned(),
            strict: None,
        };
        assert_eq!(
            tool_schema(&tool("  ")).unwrap().get(),
            r#"{"type":"object","properties":{}}"#
        );
        let schema = r#"{"type": "object", "properties": {"zeta": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "alpha": {"type": "number", "maximum": 1e3}}, "required": ["zeta", "alpha"]}"#;
        assert_eq!(
            tool_schema(&tool(&format!(" {schema}\n"))).unwrap().get(),
            schema
        );
        let Err(Error::InvalidRequest(m)) = tool_schema(&tool("{nope")) else {
            panic!("invalid JSON accepted");
        };
        assert!(m.contains("`t`"), "{m}");
        assert!(matches!(
            tool_schema(&tool("[]")),
            Err(Error::InvalidRequest(_))
        ));
    }

    #[test]
    fn stream_errors_are_redacted_then_cut() {
        let secret = "sk-SECRET-0123456789abcdef";
        // The secret straddles the cut at every offset; no prefix of it survives.
        for pad in ERROR_CHARS - 40..ERROR_CHARS + 5 {
            let data = format!("{}{secret}{}", "é".repeat(pad), "z".repeat(600));
            let mut stream = EventStream::new(Echo::default()).redacting(Secrets::new(&[secret]));
            let error = stream
                .feed(format!("data: bad {data}\n\n").as_bytes(), &mut Vec::new())
                .unwrap_err();
            let Error::Protocol(m) = error else {
                panic!("{error:?}")
            };
            assert!(m.ends_with("..."), "{m}");
            assert_eq!(m.chars().count(), ERROR_CHARS + 3, "{m}");
            for n in 3..=secret.len() {
                assert!(!m.contains(&secret[..n]), "pad {pad}: {m}");
            }
        }
    }

    #[test]
    fn refusal_texts_are_recognized() {
        assert!(is_context_overflow(
            "This model's maximum context length is 32000 tokens"
        ));
        assert!(is_context_overflow(
            "prompt is too long: 208310 tokens > 200000 maximum"
        ));
        assert!(!is_context_overflow("invalid tool schema"));
    }
}
