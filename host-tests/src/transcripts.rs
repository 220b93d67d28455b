//! Chat transcripts named by stage (fixture style): a raw SSE body as Mantle sends it → the
//! unified events the provider must turn it into ([`ChatEvent`], written here by hand, in the
//! emulator's own types: nothing comes from the provider).
//!
//! Tests script the emulator with these bodies ([`crate::emulator::Emulator::set_script`]) and
//! compare what the component reports with [`Transcript::events`]. Where each body comes from
//! is its [`Origin`]:
//! - [`Origin::Captured`]: a fixture of `fixtures/mantle/`, byte for byte as captured;
//! - [`Origin::Shaped`]: written by the emulator in a captured shape
//!   ([`crate::emulator::answers`]); they are also the emulator's default answers, so a
//!   request without a script gets exactly these bodies (cached tokens aside);
//! - [`Origin::HandWritten`]: written by hand from the APIs' documentation, for what no
//!   capture shows (errors in the middle of a stream, arguments in pieces, summaries).

use crate::emulator::answers::{self, Answer};
use crate::emulator::captures;
use crate::emulator::table;

pub use crate::emulator::answers::{REDACTED_DATA, THINKING_SIGNATURE};

/// The chat route a transcript is sent on (the wire format of its body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// OpenAI chat completions, `POST /v1/chat/completions` (or under `/openai/v1`).
    OpenAi,
    /// Anthropic Messages, `POST /anthropic/v1/messages` (Claude models).
    Anthropic,
    /// OpenAI Responses on the OpenAI-compatible base, `POST /v1/responses` (gpt-oss).
    Responses,
    /// OpenAI Responses on OpenAI's own base, `POST /openai/v1/responses` (GPT-5.x).
    OpenaiResponses,
}

impl Route {
    /// The request path of the route on Mantle.
    pub fn path(self) -> &'static str {
        match self {
            Route::OpenAi => "/v1/chat/completions",
            Route::Anthropic => "/anthropic/v1/messages",
            Route::Responses => "/v1/responses",
            Route::OpenaiResponses => "/openai/v1/responses",
        }
    }

    /// Whether the route speaks the Responses API (either base).
    pub fn is_responses(self) -> bool {
        matches!(self, Route::Responses | Route::OpenaiResponses)
    }
}

/// Why a stream ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// A complete answer.
    Stop,
    /// The output limit.
    Length,
    /// Tool calls.
    ToolCalls,
    /// A content filter.
    ContentFilter,
    /// A refusal.
    Refusal,
    /// Another reason, as the upstream named it.
    Other(String),
}

/// Token counts, as the provider must report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Input tokens outside the cache.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// Input tokens read from the cache, when the upstream says.
    pub cache_read_tokens: Option<u32>,
    /// Input tokens written to the cache, when the upstream says.
    pub cache_write_tokens: Option<u32>,
    /// Output tokens spent reasoning, when the upstream says.
    pub reasoning_tokens: Option<u32>,
}

/// A unified chat event, as the provider must emit it (the WIT `chat-event`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// The answer begins: its id and model as the upstream wrote them.
    MessageStart {
        /// Id.
        id: String,
        /// Model.
        model: String,
    },
    /// A piece of text.
    TextDelta(String),
    /// A piece of reasoning.
    ReasoningDelta(String),
    /// The signature of the reasoning block just streamed.
    ReasoningSignature(String),
    /// A redacted or encrypted reasoning block, kept intact.
    RedactedReasoning(String),
    /// A tool call begins.
    ToolCallStart {
        /// Position among the answer's tool calls.
        index: u32,
        /// Id.
        id: String,
        /// Function name.
        name: String,
    },
    /// A piece of a tool call's arguments.
    ToolCallArguments {
        /// The tool call's position.
        index: u32,
        /// The piece.
        arguments: String,
    },
    /// Token counts.
    Usage(Usage),
    /// The end.
    Finish(StopReason),
}

/// The error a stream must end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedError {
    /// The WIT error case, e.g. `rate-limited`.
    pub kind: &'static str,
    /// The status the upstream's error carries.
    pub status: Option<u16>,
    /// The upstream's message, which the provider's message must contain.
    pub message: &'static str,
}

/// Where a transcript's body comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A capture, byte for byte: the fixture file it is in.
    Captured(&'static str),
    /// Written by the emulator in a captured shape; words and numbers are invented.
    Shaped,
    /// Written by hand from documentation: no capture shows this.
    HandWritten,
}

/// A raw SSE body and what it must produce.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// A short unique name, e.g. `openai_text`.
    pub name: &'static str,
    /// The route that sends it.
    pub route: Route,
    /// The body, byte for byte as sent.
    pub body: String,
    /// The events the provider must emit for it, in order. For a transcript that ends with an
    /// error, the events emitted before the error.
    pub events: Vec<ChatEvent>,
    /// The error the stream must end with, after [`Transcript::events`]; `None` for a complete
    /// answer (whose last event is then [`ChatEvent::Finish`]).
    pub error: Option<ExpectedError>,
    /// Where the body comes from.
    pub origin: Origin,
}

/// Every transcript, for `model` on chat transcripts, `responses_model` on Responses ones
/// and `claude_model` on Anthropic ones.
pub fn all_for(model: &str, responses_model: &str, claude_model: &str) -> Vec<Transcript> {
    vec![
        responses_text(responses_model),
        responses_reasoning(responses_model),
        responses_reasoning_text(responses_model),
        responses_tool_calls(responses_model),
        responses_incomplete(responses_model),
        responses_failed(responses_model),
        openai_text(model),
        openai_reasoning(model),
        openai_tool_calls(model),
        openai_tool_call_pieces(model),
        openai_cached_prefix(model),
        openai_captured_tool_call(),
        openai_error(model),
        anthropic_text(claude_model),
        anthropic_thinking(claude_model),
        anthropic_redacted_thinking(claude_model),
        anthropic_tool_use(claude_model),
        anthropic_error(claude_model),
        responses_encrypted_reasoning(responses_model),
    ]
}

/// Every transcript, with the models of the emulator's defaults ([`OPENAI_MODEL`],
/// [`GPT5_MODEL`], [`CLAUDE_MODEL`]).
pub fn all() -> Vec<Transcript> {
    all_for(OPENAI_MODEL, GPT5_MODEL, CLAUDE_MODEL)
}

/// The chat model [`all`] uses (served on `/v1`).
pub const OPENAI_MODEL: &str = "openai.gpt-oss-120b";

/// The GPT-5.x model of the emulator's defaults, served only on `/openai/v1/responses`.
pub const GPT5_MODEL: &str = "openai.gpt-5.4";

/// The Claude model [`all`] uses: a catalog id, as Mantle knows it.
pub const CLAUDE_MODEL: &str = "anthropic.claude-opus-4-7";

/// `model` as it appears inside a JSON string (escaped, without the quotes).
fn json_inner(model: &str) -> String {
    let quoted = serde_json::Value::String(model.to_owned()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

/// A hand-written body template with `$MODEL` replaced.
fn fill(template: &str, model: &str) -> String {
    template.replace("$MODEL", &json_inner(model))
}

fn start(id: &str, model: &str) -> ChatEvent {
    ChatEvent::MessageStart {
        id: id.to_owned(),
        model: model.to_owned(),
    }
}

fn text(s: &str) -> ChatEvent {
    ChatEvent::TextDelta(s.to_owned())
}

fn reasoning(s: &str) -> ChatEvent {
    ChatEvent::ReasoningDelta(s.to_owned())
}

fn tool_start(index: u32, id: &str, name: &str) -> ChatEvent {
    ChatEvent::ToolCallStart {
        index,
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

fn args(index: u32, arguments: &str) -> ChatEvent {
    ChatEvent::ToolCallArguments {
        index,
        arguments: arguments.to_owned(),
    }
}

fn usage(input: u32, output: u32, read: Option<u32>, write: Option<u32>) -> ChatEvent {
    ChatEvent::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_write_tokens: write,
        reasoning_tokens: None,
    })
}

fn responses_usage(input: u32, output: u32, read: Option<u32>, reasoning: u32) -> ChatEvent {
    ChatEvent::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_write_tokens: None,
        reasoning_tokens: Some(reasoning),
    })
}

/// A transcript of a shaped answer, streamed by its API.
fn shaped(name: &'static str, route: Route, answer: &Answer, events: Vec<ChatEvent>) -> Transcript {
    let api = match route {
        Route::OpenAi => table::Api::Chat,
        Route::Anthropic => table::Api::Messages,
        Route::Responses | Route::OpenaiResponses => table::Api::Responses,
    };
    Transcript {
        name,
        route,
        body: answers::render(api, answer, true),
        events,
        error: None,
        origin: Origin::Shaped,
    }
}

// ---- OpenAI chat completions. ----

/// Plain text from `model` (STREAM-2's shape): three content deltas, non-ASCII included.
pub fn openai_text(model: &str) -> Transcript {
    let a = answers::chat_text(&table::resolve(model));
    let events = vec![
        start(&a.id, model),
        text("Bonjour"),
        text(" le monde"),
        text(" — ça va ? 🙂"),
        usage(14, 6, None, None),
        ChatEvent::Finish(StopReason::Stop),
    ];
    shaped("openai_text", Route::OpenAi, &a, events)
}

/// Reasoning in `model`'s reasoning field (`reasoning` for gpt-oss, as CHAT-1 and STREAM-2;
/// `reasoning` too for a model that does not reason), then text (STREAM-2's shape). A model
/// that reasons inline sends its reasoning as text between `<think>` tags, and text it stays.
pub fn openai_reasoning(model: &str) -> Transcript {
    let a = answers::chat_reasoning(&table::resolve(model));
    let thought = ["The user greets me.", " Reply briefly."];
    let mut events = vec![start(&a.id, model)];
    if a.chat_reasoning == table::ChatReasoning::Inline {
        events.push(text("<think>\n"));
        events.extend(thought.map(text));
        events.push(text("\n</think>\n\n"));
    } else {
        events.extend(thought.map(reasoning));
    }
    events.extend([
        text("Hi!"),
        text(" How can I help?"),
        usage(20, 30, None, None),
        ChatEvent::Finish(StopReason::Stop),
    ]);
    shaped("openai_reasoning", Route::OpenAi, &a, events)
}

/// Two tool calls from `model` (`get_weather`, `get_time`), each whole in one chunk with an
/// id `chatcmpl-tool-<16 hex>` (STREAM-2's shape).
pub fn openai_tool_calls(model: &str) -> Transcript {
    let a = answers::chat_tool_calls(&table::resolve(model));
    let events = vec![
        start(&a.id, model),
        tool_start(0, "chatcmpl-tool-8f3a61c0d52e9b47", "get_weather"),
        args(0, "{\"city\": \"Paris\"}"),
        tool_start(1, "chatcmpl-tool-1d7e04b9a6c3f285", "get_time"),
        args(1, "{\"tz\":\"Europe/Paris\"}"),
        usage(120, 41, None, None),
        ChatEvent::Finish(StopReason::ToolCalls),
    ];
    shaped("openai_tool_calls", Route::OpenAi, &a, events)
}

/// A second turn whose prompt prefix was cached: `prompt_tokens_details` as STREAM-2's
/// second turn shows it (`{"audio_tokens":0,"cached_tokens":208}` of 229 prompt tokens).
pub fn openai_cached_prefix(model: &str) -> Transcript {
    let mut a = answers::chat_text(&table::resolve(model));
    a.tokens.prompt = 21;
    a.tokens.cached = 208;
    let events = vec![
        start(&a.id, model),
        text("Bonjour"),
        text(" le monde"),
        text(" — ça va ? 🙂"),
        usage(21, 6, Some(208), None),
        ChatEvent::Finish(StopReason::Stop),
    ];
    shaped("openai_cached_prefix", Route::OpenAi, &a, events)
}

/// STREAM-2 as captured: gpt-oss-20b reasons, then calls `get_boiling_point` whole in one
/// chunk; the usage chunk has `choices: []`.
pub fn openai_captured_tool_call() -> Transcript {
    Transcript {
        name: "openai_captured_tool_call",
        route: Route::OpenAi,
        body: captures::stream_2_sse(),
        events: vec![
            start("rec-076784d55c6a", "openai.gpt-oss-20b"),
            reasoning(
                "The user query: \"What is the boiling point of myawesomeliquid?\" The user wants to know boiling point of a liquid named \"myawesomeliquid\". We have function get_boiling_point which expects liquid_name: string, celsius?: boolean, default true. We should call the function with liquid",
            ),
            reasoning("_name \"myawesomeliquid\".\n\nTherefore we should invoke function."),
            tool_start(0, "chatcmpl-tool-a6315f295fd98b2a", "get_boiling_point"),
            args(0, "{\"liquid_name\":\"myawesomeliquid\"}"),
            usage(229, 110, None, None),
            ChatEvent::Finish(StopReason::ToolCalls),
        ],
        error: None,
        origin: Origin::Captured("stream-gpt-oss-20b-tool-call.chunks.jsonl"),
    }
}

/// Hand-written: two parallel tool calls whose arguments arrive in pieces, as OpenAI
/// documents streaming (Mantle was only seen sending each call whole).
const OPENAI_TOOL_CALL_PIECES: &str = concat!(
    r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"$MODEL","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a1","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"$MODEL","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"$MODEL","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"Paris\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"$MODEL","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b2","type":"function","function":{"name":"get_time","arguments":"{\"tz\":"}}]},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"$MODEL","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"Europe/"}}]},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"$MODEL","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"Paris\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"$MODEL","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"$MODEL","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":41,"total_tokens":161}}"#,
    "\n\n",
    "data: [DONE]\n\n",
);

/// Hand-written: two parallel tool calls from `model`, their arguments in pieces.
pub fn openai_tool_call_pieces(model: &str) -> Transcript {
    Transcript {
        name: "openai_tool_call_pieces",
        route: Route::OpenAi,
        body: fill(OPENAI_TOOL_CALL_PIECES, model),
        events: vec![
            start("chatcmpl-77c2", model),
            tool_start(0, "call_a1", "get_weather"),
            args(0, "{\"city\":"),
            args(0, " \"Paris\"}"),
            tool_start(1, "call_b2", "get_time"),
            args(1, "{\"tz\":"),
            args(1, "\"Europe/"),
            args(1, "Paris\"}"),
            usage(120, 41, None, None),
            ChatEvent::Finish(StopReason::ToolCalls),
        ],
        error: None,
        origin: Origin::HandWritten,
    }
}

/// Hand-written: some text, then a throttling error chunk; no `[DONE]` (no capture shows an
/// error in the middle of a stream).
const OPENAI_ERROR: &str = concat!(
    r#"data: {"id":"chatcmpl-e1","object":"chat.completion.chunk","created":1763000003,"model":"$MODEL","choices":[{"index":0,"delta":{"role":"assistant","content":"Part"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"error":{"message":"Too many tokens, please wait before trying again.","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}"#,
    "\n\n",
);

/// Hand-written: an error chunk mid-stream (throttled) from `model`.
pub fn openai_error(model: &str) -> Transcript {
    Transcript {
        name: "openai_error",
        route: Route::OpenAi,
        body: fill(OPENAI_ERROR, model),
        events: vec![start("chatcmpl-e1", model), text("Part")],
        error: Some(ExpectedError {
            kind: "rate-limited",
            status: Some(429),
            message: "Too many tokens, please wait before trying again.",
        }),
        origin: Origin::HandWritten,
    }
}

// ---- Anthropic Messages (no capture: Anthropic's documented shape, Mantle's ids). ----

/// Plain text from `model`, answered under its dated name.
pub fn anthropic_text(model: &str) -> Transcript {
    let a = answers::anthropic_text(&table::resolve(model));
    let events = vec![
        start(&a.id, &a.model),
        text("Hello"),
        text(", world — 你好!"),
        usage(25, 15, Some(0), Some(0)),
        ChatEvent::Finish(StopReason::Stop),
    ];
    Transcript {
        origin: Origin::HandWritten,
        ..shaped("anthropic_text", Route::Anthropic, &a, events)
    }
}

/// A thinking block (two thinking deltas and its signature), then text, from `model`.
pub fn anthropic_thinking(model: &str) -> Transcript {
    let a = answers::anthropic_thinking(&table::resolve(model));
    let events = vec![
        start(&a.id, &a.model),
        reasoning("Let me solve this step by step:\n\n1. "),
        reasoning("27 * 453 = 12231"),
        ChatEvent::ReasoningSignature(THINKING_SIGNATURE.to_owned()),
        text("27 * 453 = 12,231"),
        usage(12, 98, Some(0), Some(0)),
        ChatEvent::Finish(StopReason::Stop),
    ];
    Transcript {
        origin: Origin::HandWritten,
        ..shaped("anthropic_thinking", Route::Anthropic, &a, events)
    }
}

/// A `redacted_thinking` block, then text, from `model`.
pub fn anthropic_redacted_thinking(model: &str) -> Transcript {
    let a = answers::anthropic_redacted_thinking(&table::resolve(model));
    let events = vec![
        start(&a.id, &a.model),
        ChatEvent::RedactedReasoning(REDACTED_DATA.to_owned()),
        text("Done."),
        usage(40, 7, Some(0), Some(0)),
        ChatEvent::Finish(StopReason::Stop),
    ];
    Transcript {
        origin: Origin::HandWritten,
        ..shaped("anthropic_redacted_thinking", Route::Anthropic, &a, events)
    }
}

/// Text, then two `tool_use` blocks (`get_weather`, `get_time`) whose input arrives in
/// pieces, from `model`.
pub fn anthropic_tool_use(model: &str) -> Transcript {
    let a = answers::anthropic_tool_use(&table::resolve(model));
    let events = vec![
        start(&a.id, &a.model),
        text("Checking both."),
        tool_start(0, "toolu_bdrk_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        args(0, "{\"city\": \"Pa"),
        args(0, "ris\"}"),
        tool_start(1, "toolu_bdrk_02Bq8Ws5p2qzHn3NkD7mVtcX", "get_time"),
        args(1, "{\"tz\":"),
        args(1, " \"CET\"}"),
        usage(472, 89, Some(0), Some(0)),
        ChatEvent::Finish(StopReason::ToolCalls),
    ];
    Transcript {
        origin: Origin::HandWritten,
        ..shaped("anthropic_tool_use", Route::Anthropic, &a, events)
    }
}

/// Hand-written: the upstream is overloaded mid-stream, an `error` event after some text.
const ANTHROPIC_ERROR: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_bdrk_ovl4gqz3d7r2kx5m6n7p2q3r4s5t6u7v2w3x4y5z6a7b2c3d4e5f","type":"message","role":"assistant","model":"$MODEL","content":[],"stop_reason":null,"stop_sequence":null,"stop_details":null,"usage":{"input_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Once upon"}}

event: error
data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

"#;

/// Hand-written: an `overloaded_error` event mid-stream, after some text, from `model`.
pub fn anthropic_error(model: &str) -> Transcript {
    let name = table::resolve(model).answer_name().to_owned();
    Transcript {
        name: "anthropic_error",
        route: Route::Anthropic,
        body: fill(ANTHROPIC_ERROR, &name),
        events: vec![
            start(
                "msg_bdrk_ovl4gqz3d7r2kx5m6n7p2q3r4s5t6u7v2w3x4y5z6a7b2c3d4e5f",
                &name,
            ),
            text("Once upon"),
        ],
        error: Some(ExpectedError {
            kind: "upstream-unavailable",
            status: Some(529),
            message: "Overloaded",
        }),
        origin: Origin::HandWritten,
    }
}

// ---- OpenAI Responses. ----

/// Plain text from `model` on a Responses route, in three deltas (non-ASCII included).
pub fn responses_text(model: &str) -> Transcript {
    let a = answers::responses_text(&table::resolve(model));
    let events = vec![
        start(&a.id, model),
        text("Bonjour"),
        text(" le monde"),
        text(" — ça va ? 🙂"),
        responses_usage(14, 6, Some(0), 0),
        ChatEvent::Finish(StopReason::Stop),
    ];
    shaped("responses_text", Route::Responses, &a, events)
}

/// gpt-oss's reasoning from `model` (RESP-1's shape: `reasoning_text` content,
/// `status: "completed"`, `reasoning_tokens: 0`), then text.
pub fn responses_reasoning_text(model: &str) -> Transcript {
    let a = answers::responses_reasoning_text(&table::resolve(model));
    let events = vec![
        start(&a.id, model),
        reasoning("The user greets me."),
        reasoning(" Reply briefly."),
        text("Hi!"),
        responses_usage(20, 12, Some(0), 0),
        ChatEvent::Finish(StopReason::Stop),
    ];
    shaped("responses_reasoning_text", Route::Responses, &a, events)
}

/// GPT-5.x's reasoning from `model`: encrypted, with an empty summary and 18 reasoning
/// tokens; the encrypted block must reach the client intact.
pub fn responses_encrypted_reasoning(model: &str) -> Transcript {
    let a = answers::responses_encrypted_reasoning(&table::resolve(model));
    let events = vec![
        start(&a.id, model),
        ChatEvent::RedactedReasoning(answers::ENCRYPTED_REASONING.to_owned()),
        text("Hi!"),
        text(" How can I help?"),
        responses_usage(20, 30, Some(0), 18),
        ChatEvent::Finish(StopReason::Stop),
    ];
    shaped(
        "responses_encrypted_reasoning",
        Route::Responses,
        &a,
        events,
    )
}

/// Hand-written shape: reasoning summaries in two parts (OpenAI's documented stream; Mantle's
/// GPT-5.x send an empty summary), then text; 8 cached input tokens.
pub fn responses_reasoning(model: &str) -> Transcript {
    let a = answers::responses_summary(&table::resolve(model));
    let events = vec![
        start(&a.id, model),
        reasoning("**Greeting back**"),
        reasoning("\n\n"),
        reasoning("The user greets me; reply briefly."),
        text("Hi!"),
        text(" How can I help?"),
        // 20 input tokens, 8 of them read from the cache; 18 of 30 output tokens reasoning.
        responses_usage(12, 30, Some(8), 18),
        ChatEvent::Finish(StopReason::Stop),
    ];
    Transcript {
        origin: Origin::HandWritten,
        ..shaped("responses_reasoning", Route::Responses, &a, events)
    }
}

/// Two function calls (`get_weather`, `get_time`) from `model`, their arguments in pieces
/// (OpenAI's documented stream).
pub fn responses_tool_calls(model: &str) -> Transcript {
    let a = answers::responses_tool_calls(&table::resolve(model));
    let events = vec![
        start(&a.id, model),
        tool_start(0, "call_a1", "get_weather"),
        args(0, "{\"city\":"),
        args(0, " \"Paris\"}"),
        tool_start(1, "call_b2", "get_time"),
        args(1, "{\"tz\":"),
        args(1, "\"Europe/Paris\"}"),
        responses_usage(120, 41, Some(0), 0),
        ChatEvent::Finish(StopReason::ToolCalls),
    ];
    shaped("responses_tool_calls", Route::Responses, &a, events)
}

/// Hand-written: the output limit reached mid-text, `response.incomplete`.
const RESPONSES_INCOMPLETE: &str = concat!(
    "event: response.created\n",
    r#"data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_inc2mplt3e4f5g6h7i2j3k4l5m6n7o2p3q4r5s6t7u2v3w4x5y6z","object":"response","created_at":1763000000,"status":"in_progress","model":"$MODEL","output":[],"usage":null}}"#,
    "\n\n",
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1c0d21","type":"message","status":"in_progress","content":[],"role":"assistant"}}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1c0d21","output_index":0,"content_index":0,"delta":"Once upon a","logprobs":[]}"#,
    "\n\n",
    "event: response.incomplete\n",
    r#"data: {"type":"response.incomplete","sequence_number":3,"response":{"id":"resp_inc2mplt3e4f5g6h7i2j3k4l5m6n7o2p3q4r5s6t7u2v3w4x5y6z","object":"response","created_at":1763000000,"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"model":"$MODEL","output":[],"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":0},"output_tokens":16,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":25}}}"#,
    "\n\n",
);

/// Hand-written: an answer of `model` cut by `max_output_tokens`.
pub fn responses_incomplete(model: &str) -> Transcript {
    Transcript {
        name: "responses_incomplete",
        route: Route::Responses,
        body: fill(RESPONSES_INCOMPLETE, model),
        events: vec![
            start(
                "resp_inc2mplt3e4f5g6h7i2j3k4l5m6n7o2p3q4r5s6t7u2v3w4x5y6z",
                model,
            ),
            text("Once upon a"),
            responses_usage(9, 16, Some(0), 12),
            ChatEvent::Finish(StopReason::Length),
        ],
        error: None,
        origin: Origin::HandWritten,
    }
}

/// Hand-written: some text, then `response.failed` (a server error).
const RESPONSES_FAILED: &str = concat!(
    "event: response.created\n",
    r#"data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_fa2led3e4f5g6h7i2j3k4l5m6n7o2p3q4r5s6t7u2v3w4x5y6z7a","object":"response","created_at":1763000000,"status":"in_progress","model":"$MODEL","output":[],"usage":null}}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_e1f231","output_index":0,"content_index":0,"delta":"Part","logprobs":[]}"#,
    "\n\n",
    "event: response.failed\n",
    r#"data: {"type":"response.failed","sequence_number":2,"response":{"id":"resp_fa2led3e4f5g6h7i2j3k4l5m6n7o2p3q4r5s6t7u2v3w4x5y6z7a","object":"response","created_at":1763000000,"status":"failed","error":{"code":"server_error","message":"The model failed to generate a response."},"incomplete_details":null,"model":"$MODEL","output":[],"usage":null}}"#,
    "\n\n",
);

/// Hand-written: `response.failed` mid-stream from `model`.
pub fn responses_failed(model: &str) -> Transcript {
    Transcript {
        name: "responses_failed",
        route: Route::Responses,
        body: fill(RESPONSES_FAILED, model),
        events: vec![
            start(
                "resp_fa2led3e4f5g6h7i2j3k4l5m6n7o2p3q4r5s6t7u2v3w4x5y6z7a",
                model,
            ),
            text("Part"),
        ],
        error: Some(ExpectedError {
            kind: "upstream-unavailable",
            status: Some(500),
            message: "The model failed to generate a response.",
        }),
        origin: Origin::HandWritten,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The JSON documents of a body's `data:` lines (`[DONE]` aside).
    fn documents(t: &Transcript) -> Vec<Value> {
        t.body
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("{}: {e}: {d}", t.name)))
            .collect()
    }

    fn base32_id(id: &str, prefix: &str) -> bool {
        id.strip_prefix(prefix).is_some_and(|rest| {
            rest.len() == 52
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
        })
    }

    #[test]
    fn names_are_unique_and_every_body_is_json_events() {
        let all = all();
        let mut names: Vec<&str> = all.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(all.len(), 19);
        for t in &all {
            assert!(!t.body.contains("$MODEL"), "{}", t.name);
            assert!(!documents(t).is_empty(), "{}", t.name);
            let finishes = t
                .events
                .iter()
                .filter(|e| matches!(e, ChatEvent::Finish(_)))
                .count();
            assert_eq!(finishes, usize::from(t.error.is_none()), "{}", t.name);
            if t.error.is_none() {
                assert!(
                    matches!(t.events.last(), Some(ChatEvent::Finish(_))),
                    "{}",
                    t.name
                );
            }
        }
    }

    #[test]
    fn shaped_chat_streams_have_stream_2s_shape() {
        for t in [
            openai_text(OPENAI_MODEL),
            openai_reasoning(OPENAI_MODEL),
            openai_tool_calls(OPENAI_MODEL),
            openai_cached_prefix(OPENAI_MODEL),
            openai_captured_tool_call(),
        ] {
            let docs = documents(&t);
            assert!(t.body.ends_with("data: [DONE]\n\n"), "{}", t.name);
            let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            for doc in &docs {
                assert_eq!(
                    keys(doc),
                    [
                        "id",
                        "choices",
                        "created",
                        "model",
                        "object",
                        "service_tier",
                        "system_fingerprint",
                        "usage"
                    ],
                    "{}",
                    t.name
                );
                assert_eq!(doc["service_tier"], "default");
                for choice in doc["choices"].as_array().unwrap() {
                    assert!(
                        choice["obfuscation"]
                            .as_str()
                            .is_some_and(|o| !o.is_empty())
                    );
                }
            }
            assert_eq!(
                docs[0]["choices"][0]["delta"]["role"], "assistant",
                "{}",
                t.name
            );
            assert_eq!(docs[0]["choices"][0]["delta"]["content"], "");
            let last = docs.last().unwrap();
            assert_eq!(last["choices"], serde_json::json!([]), "{}", t.name);
            assert!(last["usage"]["prompt_tokens"].is_u64());
            for doc in &docs {
                for call in doc["choices"][0]["delta"]["tool_calls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let id = call["id"].as_str().unwrap();
                    let hex = id.strip_prefix("chatcmpl-tool-").unwrap();
                    assert!(
                        hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
                        "{id}"
                    );
                    serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap())
                        .unwrap();
                }
            }
        }
        let cached = documents(&openai_cached_prefix(OPENAI_MODEL));
        assert_eq!(
            cached.last().unwrap()["usage"]["prompt_tokens_details"],
            serde_json::json!({"audio_tokens": 0, "cached_tokens": 208})
        );
    }

    #[test]
    fn reasoning_goes_to_the_models_own_field() {
        let field_of = |model: &str| {
            documents(&openai_reasoning(model))
                .iter()
                .find_map(|d| {
                    let delta = d["choices"].get(0)?.get("delta")?.as_object()?;
                    ["reasoning", "reasoning_content"]
                        .into_iter()
                        .find(|f| delta.contains_key(*f))
                })
                .unwrap()
        };
        assert_eq!(field_of("openai.gpt-oss-120b"), "reasoning");
        assert_eq!(field_of("moonshotai.kimi-k2-thinking"), "reasoning_content");
        let inline = openai_reasoning("minimax.minimax-m2.5");
        let content: String = documents(&inline)
            .iter()
            .filter_map(|d| {
                d["choices"].get(0)?["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(
            content,
            "<think>\nThe user greets me. Reply briefly.\n</think>\n\nHi! How can I help?"
        );
        let texts: String = inline
            .events
            .iter()
            .filter_map(|e| match e {
                ChatEvent::TextDelta(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, content);
    }

    #[test]
    fn responses_streams_number_their_events_and_carry_mantles_ids() {
        for t in [
            responses_text(GPT5_MODEL),
            responses_reasoning_text(OPENAI_MODEL),
            responses_encrypted_reasoning(GPT5_MODEL),
            responses_tool_calls(GPT5_MODEL),
            responses_reasoning(GPT5_MODEL),
        ] {
            let docs = documents(&t);
            for (n, doc) in docs.iter().enumerate() {
                assert_eq!(doc["sequence_number"], n, "{}", t.name);
                assert!(
                    t.body
                        .contains(&format!("event: {}\n", doc["type"].as_str().unwrap()))
                );
            }
            assert_eq!(docs[0]["type"], "response.created");
            let done = docs.last().unwrap();
            assert_eq!(done["type"], "response.completed", "{}", t.name);
            assert!(base32_id(done["response"]["id"].as_str().unwrap(), "resp_"));
            let added = docs
                .iter()
                .filter(|d| d["type"] == "response.output_item.added")
                .count();
            let finished = docs
                .iter()
                .filter(|d| d["type"] == "response.output_item.done")
                .count();
            assert_eq!(added, finished, "{}", t.name);
            assert_eq!(
                done["response"]["output"].as_array().unwrap().len(),
                finished
            );
        }
        // RESP-1's reasoning item, with its zero reasoning tokens.
        let done = documents(&responses_reasoning_text(OPENAI_MODEL))
            .pop()
            .unwrap();
        let item = &done["response"]["output"][0];
        assert_eq!(item["type"], "reasoning");
        assert_eq!(item["content"][0]["type"], "reasoning_text");
        assert_eq!(item["status"], "completed");
        assert_eq!(
            done["response"]["usage"]["output_tokens_details"]["reasoning_tokens"],
            0
        );
        // GPT-5.x: encrypted, empty summary, reasoning tokens counted.
        let done = documents(&responses_encrypted_reasoning(GPT5_MODEL))
            .pop()
            .unwrap();
        let item = &done["response"]["output"][0];
        assert_eq!(item["summary"], serde_json::json!([]));
        assert_eq!(item["encrypted_content"], answers::ENCRYPTED_REASONING);
        assert_eq!(
            done["response"]["usage"]["output_tokens_details"]["reasoning_tokens"],
            18
        );
    }

    #[test]
    fn anthropic_answers_carry_bedrock_ids_and_the_dated_name() {
        for t in [
            anthropic_text(CLAUDE_MODEL),
            anthropic_thinking(CLAUDE_MODEL),
            anthropic_tool_use(CLAUDE_MODEL),
            anthropic_error(CLAUDE_MODEL),
        ] {
            let start = &documents(&t)[0]["message"];
            assert!(
                base32_id(start["id"].as_str().unwrap(), "msg_bdrk_"),
                "{}",
                t.name
            );
            assert_eq!(start["model"], "claude-opus-4-7-20250929", "{}", t.name);
            assert_eq!(start["stop_details"], Value::Null);
            assert!(start.as_object().unwrap().contains_key("stop_details"));
        }
    }

    #[test]
    fn the_model_is_written_where_mantle_puts_it() {
        let t = openai_text("weird\"model");
        assert!(t.body.contains(r#""model":"weird\"model""#));
        assert!(
            matches!(&t.events[0], ChatEvent::MessageStart { model, .. } if model == "weird\"model")
        );
        let t = openai_tool_call_pieces("weird\"model");
        assert!(t.body.contains(r#""model":"weird\"model""#));
    }
}
