//! Scripted chat transcripts in Mantle's real wire formats, named by stage (fixture style):
//! the raw SSE body exactly as Mantle sends it → the [`ChatEvent`]s the provider must turn it
//! into.
//!
//! The emulator answers chat requests with these bodies (see
//! [`crate::emulator::Emulator::set_script`] for scripting others), and tests compare what the
//! component reports with [`Transcript::events`]. Every constructor takes the model id the
//! request asked for; it appears in the body wherever Mantle puts it, and in the expected
//! [`ChatEvent::MessageStart`].
//!
//! The expected events are written by hand from the mapping rules of
//! [`mantle_provider::openai::Mapper`], [`mantle_provider::anthropic::Mapper`] and
//! [`mantle_provider::responses::Mapper`]; the tests at
//! the bottom run those mappers over every body, split at every byte offset, and check that
//! they agree.

use mantle_provider::Error;
use mantle_provider::chat::{ChatEvent, StopReason, Usage};

/// The chat route a transcript is sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// OpenAI chat completions, `POST /v1/chat/completions`.
    OpenAi,
    /// Anthropic Messages, `POST /anthropic/v1/messages` (Claude models).
    Anthropic,
    /// OpenAI Responses on the OpenAI-compatible base, `POST /v1/responses` (gpt-oss).
    Responses,
    /// OpenAI Responses on OpenAI's own base, `POST /openai/v1/responses` (GPT-5.x only).
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

/// A raw SSE body and what it must produce.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// A short unique name, e.g. `openai_text`.
    pub name: &'static str,
    /// The route that sends it.
    pub route: Route,
    /// The body, byte for byte as Mantle sends it.
    pub body: String,
    /// The events the provider must emit for it, in order. For a transcript that ends with an
    /// error, the events emitted before the error.
    pub events: Vec<ChatEvent>,
    /// The error the stream must end with, after [`Transcript::events`]; `None` for a complete
    /// answer (whose last event is then [`ChatEvent::Finish`]).
    pub error: Option<Error>,
}

/// Every transcript, for `model` on OpenAI transcripts, `responses_model` on Responses ones
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
        openai_error(model),
        anthropic_text(claude_model),
        anthropic_thinking(claude_model),
        anthropic_redacted_thinking(claude_model),
        anthropic_tool_use(claude_model),
        anthropic_error(claude_model),
    ]
}

/// Every transcript, with the models of the emulator's defaults (`openai.gpt-oss-120b`,
/// `openai.gpt-5.4` and `claude-opus-4.7`).
pub fn all() -> Vec<Transcript> {
    all_for(OPENAI_MODEL, GPT5_MODEL, CLAUDE_MODEL)
}

/// The OpenAI model [`all`] uses.
pub const OPENAI_MODEL: &str = "openai.gpt-oss-120b";

/// The GPT-5.x model of the emulator's defaults, served only on `/openai/v1/responses`.
pub const GPT5_MODEL: &str = "openai.gpt-5.4";

/// The Claude model [`all`] uses.
pub const CLAUDE_MODEL: &str = "claude-opus-4.7";

/// `model` as it appears inside a JSON string (escaped, without the quotes).
fn json_inner(model: &str) -> String {
    let quoted = serde_json::to_string(model).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

/// A body template with `$MODEL` replaced.
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

// ---- OpenAI chat completions. ----

/// Plain text: role chunk, three content deltas (non-ASCII included), the finish chunk
/// (`stop`), the usage-only chunk (`choices: []`), `[DONE]`.
const OPENAI_TEXT: &str = concat!(
    r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"$MODEL","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"$MODEL","choices":[{"index":0,"delta":{"content":"Bonjour"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"$MODEL","choices":[{"index":0,"delta":{"content":" le monde"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"$MODEL","choices":[{"index":0,"delta":{"content":" — ça va ? 🙂"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"$MODEL","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"$MODEL","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":6,"total_tokens":20}}"#,
    "\n\n",
    "data: [DONE]\n\n",
);

/// A plain text answer from `model` on the OpenAI route.
pub fn openai_text(model: &str) -> Transcript {
    Transcript {
        name: "openai_text",
        route: Route::OpenAi,
        body: fill(OPENAI_TEXT, model),
        events: vec![
            start("chatcmpl-5d1f", model),
            text("Bonjour"),
            text(" le monde"),
            text(" — ça va ? 🙂"),
            usage(14, 6, None, None),
            ChatEvent::Finish(StopReason::Stop),
        ],
        error: None,
    }
}

/// Reasoning in `delta.reasoning` (Mantle's field) first, then content; cached prompt tokens.
const OPENAI_REASONING: &str = concat!(
    r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"$MODEL","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":""},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"$MODEL","choices":[{"index":0,"delta":{"reasoning":"The user greets me."},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"$MODEL","choices":[{"index":0,"delta":{"reasoning":" Reply briefly."},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"$MODEL","choices":[{"index":0,"delta":{"content":"Hi!"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"$MODEL","choices":[{"index":0,"delta":{"content":" How can I help?"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"$MODEL","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
    "\n\n",
    r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"$MODEL","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":8}}}"#,
    "\n\n",
    "data: [DONE]\n\n",
);

/// A reasoning answer from `model` on the OpenAI route: two reasoning pieces, then text.
pub fn openai_reasoning(model: &str) -> Transcript {
    Transcript {
        name: "openai_reasoning",
        route: Route::OpenAi,
        body: fill(OPENAI_REASONING, model),
        events: vec![
            start("chatcmpl-9a0b", model),
            reasoning("The user greets me."),
            reasoning(" Reply briefly."),
            text("Hi!"),
            text(" How can I help?"),
            // 20 prompt tokens, 8 of them read from the cache.
            usage(12, 30, Some(8), None),
            ChatEvent::Finish(StopReason::Stop),
        ],
        error: None,
    }
}

/// Two parallel tool calls, each one's arguments split over several chunks.
const OPENAI_TOOL_CALLS: &str = concat!(
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

/// Two parallel tool calls (`get_weather` then `get_time`) from `model` on the OpenAI route.
pub fn openai_tool_calls(model: &str) -> Transcript {
    Transcript {
        name: "openai_tool_calls",
        route: Route::OpenAi,
        body: fill(OPENAI_TOOL_CALLS, model),
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
    }
}

/// Some text, then a throttling error chunk; no `[DONE]`.
const OPENAI_ERROR: &str = concat!(
    r#"data: {"id":"chatcmpl-e1","object":"chat.completion.chunk","created":1763000003,"model":"$MODEL","choices":[{"index":0,"delta":{"role":"assistant","content":"Part"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    "\n\n",
    r#"data: {"error":{"message":"Too many tokens, please wait before trying again.","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}"#,
    "\n\n",
);

/// An error chunk mid-stream (throttled) from `model` on the OpenAI route.
pub fn openai_error(model: &str) -> Transcript {
    Transcript {
        name: "openai_error",
        route: Route::OpenAi,
        body: fill(OPENAI_ERROR, model),
        events: vec![start("chatcmpl-e1", model), text("Part")],
        error: Some(Error::RateLimited {
            message: "POST /v1/chat/completions (error event in the stream) answered 429: \
                      Too many tokens, please wait before trying again."
                .to_owned(),
            retry_after: None,
        }),
    }
}

// ---- Anthropic Messages. ----

/// Plain text, with a ping.
const ANTHROPIC_TEXT: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"$MODEL","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", world — 你好!"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

event: message_stop
data: {"type":"message_stop"}

"#;

/// A plain text answer from `model` on the Anthropic route.
pub fn anthropic_text(model: &str) -> Transcript {
    Transcript {
        name: "anthropic_text",
        route: Route::Anthropic,
        body: fill(ANTHROPIC_TEXT, model),
        events: vec![
            start("msg_01XFDUDYJgAACzvnptvVoYEL", model),
            text("Hello"),
            text(", world — 你好!"),
            usage(25, 15, Some(0), Some(0)),
            ChatEvent::Finish(StopReason::Stop),
        ],
        error: None,
    }
}

/// The signature of [`anthropic_thinking`]'s thinking block.
pub const THINKING_SIGNATURE: &str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+/4xGmuqBmZ/+cD4LPIFakXjSf5Kx7hXnQ1Ti2aq+o=";

/// Extended thinking: thinking deltas, a `signature_delta`, then text; prompt-cache usage.
const ANTHROPIC_THINKING: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01Think","type":"message","role":"assistant","model":"$MODEL","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":2048,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me solve this step by step:\n\n1. "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"27 * 453 = 12231"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+/4xGmuqBmZ/+cD4LPIFakXjSf5Kx7hXnQ1Ti2aq+o="}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"27 * 453 = 12,231"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":98}}

event: message_stop
data: {"type":"message_stop"}

"#;

/// A thinking block (two thinking deltas and its signature), then text, from `model`.
pub fn anthropic_thinking(model: &str) -> Transcript {
    Transcript {
        name: "anthropic_thinking",
        route: Route::Anthropic,
        body: fill(ANTHROPIC_THINKING, model),
        events: vec![
            start("msg_01Think", model),
            reasoning("Let me solve this step by step:\n\n1. "),
            reasoning("27 * 453 = 12231"),
            ChatEvent::ReasoningSignature(THINKING_SIGNATURE.to_owned()),
            text("27 * 453 = 12,231"),
            usage(12, 98, Some(2048), Some(100)),
            ChatEvent::Finish(StopReason::Stop),
        ],
        error: None,
    }
}

/// The data of [`anthropic_redacted_thinking`]'s redacted block.
pub const REDACTED_DATA: &str = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj2pLmN4kF1TqD8=";

/// A redacted thinking block, whole in its start event, then text.
const ANTHROPIC_REDACTED: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01Redact","type":"message","role":"assistant","model":"$MODEL","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj2pLmN4kF1TqD8="}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Done."}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}

event: message_stop
data: {"type":"message_stop"}

"#;

/// A `redacted_thinking` block, then text, from `model`.
pub fn anthropic_redacted_thinking(model: &str) -> Transcript {
    Transcript {
        name: "anthropic_redacted_thinking",
        route: Route::Anthropic,
        body: fill(ANTHROPIC_REDACTED, model),
        events: vec![
            start("msg_01Redact", model),
            ChatEvent::RedactedReasoning(REDACTED_DATA.to_owned()),
            text("Done."),
            usage(40, 7, Some(0), Some(0)),
            ChatEvent::Finish(StopReason::Stop),
        ],
        error: None,
    }
}

/// Text, then two tool calls whose input arrives as `input_json_delta` pieces.
const ANTHROPIC_TOOL_USE: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"$MODEL","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking both."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02Bq8Ws5p2qzHn3NkD7mVtcX","name":"get_time","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"tz\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":" \"CET\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"#;

/// Text, then two `tool_use` blocks (`get_weather`, `get_time`), from `model`.
pub fn anthropic_tool_use(model: &str) -> Transcript {
    Transcript {
        name: "anthropic_tool_use",
        route: Route::Anthropic,
        body: fill(ANTHROPIC_TOOL_USE, model),
        events: vec![
            start("msg_014p7gG3wDgGV9EUtLvnow3U", model),
            text("Checking both."),
            tool_start(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
            args(0, "{\"city\": \"Pa"),
            args(0, "ris\"}"),
            tool_start(1, "toolu_02Bq8Ws5p2qzHn3NkD7mVtcX", "get_time"),
            args(1, "{\"tz\":"),
            args(1, " \"CET\"}"),
            usage(472, 89, Some(0), Some(0)),
            ChatEvent::Finish(StopReason::ToolCalls),
        ],
        error: None,
    }
}

/// The upstream is overloaded mid-stream: an `error` event after some text.
const ANTHROPIC_ERROR: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01Err","type":"message","role":"assistant","model":"$MODEL","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Once upon"}}

event: error
data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

"#;

/// An `overloaded_error` event mid-stream, after some text, from `model`.
pub fn anthropic_error(model: &str) -> Transcript {
    Transcript {
        name: "anthropic_error",
        route: Route::Anthropic,
        body: fill(ANTHROPIC_ERROR, model),
        events: vec![start("msg_01Err", model), text("Once upon")],
        error: Some(Error::UpstreamUnavailable {
            status: Some(529),
            message: "POST /anthropic/v1/messages (error event in the stream) answered 529: \
                      Overloaded"
                .to_owned(),
        }),
    }
}

// ---- OpenAI Responses. ----

/// `response.created` and `response.in_progress` of response `$id`, as `concat!` pieces.
macro_rules! responses_start {
    ($id:literal) => {
        concat!(
            "event: response.created\n",
            r#"data: {"type":"response.created","sequence_number":0,"response":{"id":""#,
            $id,
            r#"","object":"response","created_at":1763000000,"status":"in_progress","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"$MODEL","output":[],"parallel_tool_calls":true,"reasoning":{"effort":"medium","summary":null},"store":false,"temperature":1.0,"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":null,"metadata":{}}}"#,
            "\n\n",
            "event: response.in_progress\n",
            r#"data: {"type":"response.in_progress","sequence_number":1,"response":{"id":""#,
            $id,
            r#"","object":"response","created_at":1763000000,"status":"in_progress","model":"$MODEL","output":[],"usage":null}}"#,
            "\n\n",
        )
    };
}

/// Plain text: a message item whose text comes in three deltas (non-ASCII included), then
/// `response.completed` with the usage.
const RESPONSES_TEXT: &str = concat!(
    responses_start!("resp_68a1c0"),
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_68a1c1","type":"message","status":"in_progress","content":[],"role":"assistant"}}"#,
    "\n\n",
    "event: response.content_part.added\n",
    r#"data: {"type":"response.content_part.added","sequence_number":3,"item_id":"msg_68a1c1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_68a1c1","output_index":0,"content_index":0,"delta":"Bonjour","logprobs":[]}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_68a1c1","output_index":0,"content_index":0,"delta":" le monde","logprobs":[]}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_68a1c1","output_index":0,"content_index":0,"delta":" — ça va ? 🙂","logprobs":[]}"#,
    "\n\n",
    "event: response.output_text.done\n",
    r#"data: {"type":"response.output_text.done","sequence_number":7,"item_id":"msg_68a1c1","output_index":0,"content_index":0,"text":"Bonjour le monde — ça va ? 🙂","logprobs":[]}"#,
    "\n\n",
    "event: response.content_part.done\n",
    r#"data: {"type":"response.content_part.done","sequence_number":8,"item_id":"msg_68a1c1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":"Bonjour le monde — ça va ? 🙂"}}"#,
    "\n\n",
    "event: response.output_item.done\n",
    r#"data: {"type":"response.output_item.done","sequence_number":9,"output_index":0,"item":{"id":"msg_68a1c1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Bonjour le monde — ça va ? 🙂"}],"role":"assistant"}}"#,
    "\n\n",
    "event: response.completed\n",
    r#"data: {"type":"response.completed","sequence_number":10,"response":{"id":"resp_68a1c0","object":"response","created_at":1763000000,"status":"completed","error":null,"incomplete_details":null,"model":"$MODEL","output":[{"id":"msg_68a1c1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Bonjour le monde — ça va ? 🙂"}],"role":"assistant"}],"store":false,"usage":{"input_tokens":14,"input_tokens_details":{"cached_tokens":0},"output_tokens":6,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":20}}}"#,
    "\n\n",
);

/// A plain text answer from `model` on a Responses route.
pub fn responses_text(model: &str) -> Transcript {
    Transcript {
        name: "responses_text",
        route: Route::Responses,
        body: fill(RESPONSES_TEXT, model),
        events: vec![
            start("resp_68a1c0", model),
            text("Bonjour"),
            text(" le monde"),
            text(" — ça va ? 🙂"),
            responses_usage(14, 6, Some(0), 0),
            ChatEvent::Finish(StopReason::Stop),
        ],
        error: None,
    }
}

/// GPT-5.x style: a reasoning item whose summary comes in two parts, then the message;
/// cached input tokens and reasoning tokens in the usage.
const RESPONSES_REASONING: &str = concat!(
    responses_start!("resp_9a0b10"),
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_9a0b11","type":"reasoning","summary":[]}}"#,
    "\n\n",
    "event: response.reasoning_summary_part.added\n",
    r#"data: {"type":"response.reasoning_summary_part.added","sequence_number":3,"item_id":"rs_9a0b11","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}}"#,
    "\n\n",
    "event: response.reasoning_summary_text.delta\n",
    r#"data: {"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_9a0b11","output_index":0,"summary_index":0,"delta":"**Greeting back**"}"#,
    "\n\n",
    "event: response.reasoning_summary_text.done\n",
    r#"data: {"type":"response.reasoning_summary_text.done","sequence_number":5,"item_id":"rs_9a0b11","output_index":0,"summary_index":0,"text":"**Greeting back**"}"#,
    "\n\n",
    "event: response.reasoning_summary_part.done\n",
    r#"data: {"type":"response.reasoning_summary_part.done","sequence_number":6,"item_id":"rs_9a0b11","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":"**Greeting back**"}}"#,
    "\n\n",
    "event: response.reasoning_summary_part.added\n",
    r#"data: {"type":"response.reasoning_summary_part.added","sequence_number":7,"item_id":"rs_9a0b11","output_index":0,"summary_index":1,"part":{"type":"summary_text","text":""}}"#,
    "\n\n",
    "event: response.reasoning_summary_text.delta\n",
    r#"data: {"type":"response.reasoning_summary_text.delta","sequence_number":8,"item_id":"rs_9a0b11","output_index":0,"summary_index":1,"delta":"The user greets me; reply briefly."}"#,
    "\n\n",
    "event: response.reasoning_summary_text.done\n",
    r#"data: {"type":"response.reasoning_summary_text.done","sequence_number":9,"item_id":"rs_9a0b11","output_index":0,"summary_index":1,"text":"The user greets me; reply briefly."}"#,
    "\n\n",
    "event: response.reasoning_summary_part.done\n",
    r#"data: {"type":"response.reasoning_summary_part.done","sequence_number":10,"item_id":"rs_9a0b11","output_index":0,"summary_index":1,"part":{"type":"summary_text","text":"The user greets me; reply briefly."}}"#,
    "\n\n",
    "event: response.output_item.done\n",
    r#"data: {"type":"response.output_item.done","sequence_number":11,"output_index":0,"item":{"id":"rs_9a0b11","type":"reasoning","summary":[{"type":"summary_text","text":"**Greeting back**"},{"type":"summary_text","text":"The user greets me; reply briefly."}]}}"#,
    "\n\n",
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":12,"output_index":1,"item":{"id":"msg_9a0b12","type":"message","status":"in_progress","content":[],"role":"assistant"}}"#,
    "\n\n",
    "event: response.content_part.added\n",
    r#"data: {"type":"response.content_part.added","sequence_number":13,"item_id":"msg_9a0b12","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":14,"item_id":"msg_9a0b12","output_index":1,"content_index":0,"delta":"Hi!","logprobs":[]}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":15,"item_id":"msg_9a0b12","output_index":1,"content_index":0,"delta":" How can I help?","logprobs":[]}"#,
    "\n\n",
    "event: response.output_text.done\n",
    r#"data: {"type":"response.output_text.done","sequence_number":16,"item_id":"msg_9a0b12","output_index":1,"content_index":0,"text":"Hi! How can I help?","logprobs":[]}"#,
    "\n\n",
    "event: response.content_part.done\n",
    r#"data: {"type":"response.content_part.done","sequence_number":17,"item_id":"msg_9a0b12","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":"Hi! How can I help?"}}"#,
    "\n\n",
    "event: response.output_item.done\n",
    r#"data: {"type":"response.output_item.done","sequence_number":18,"output_index":1,"item":{"id":"msg_9a0b12","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Hi! How can I help?"}],"role":"assistant"}}"#,
    "\n\n",
    "event: response.completed\n",
    r#"data: {"type":"response.completed","sequence_number":19,"response":{"id":"resp_9a0b10","object":"response","created_at":1763000000,"status":"completed","model":"$MODEL","output":[],"store":false,"usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":8},"output_tokens":30,"output_tokens_details":{"reasoning_tokens":18},"total_tokens":50}}}"#,
    "\n\n",
);

/// A reasoning answer from `model` (GPT-5.x style, summaries), then text.
pub fn responses_reasoning(model: &str) -> Transcript {
    Transcript {
        name: "responses_reasoning",
        route: Route::Responses,
        body: fill(RESPONSES_REASONING, model),
        events: vec![
            start("resp_9a0b10", model),
            reasoning("**Greeting back**"),
            reasoning("\n\n"),
            reasoning("The user greets me; reply briefly."),
            text("Hi!"),
            text(" How can I help?"),
            // 20 input tokens, 8 of them read from the cache; 18 of 30 output tokens reasoning.
            responses_usage(12, 30, Some(8), 18),
            ChatEvent::Finish(StopReason::Stop),
        ],
        error: None,
    }
}

/// gpt-oss style: readable reasoning text (`response.reasoning_text.delta`), then text.
const RESPONSES_REASONING_TEXT: &str = concat!(
    responses_start!("resp_5e6f70"),
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_5e6f71","type":"reasoning","summary":[],"content":[]}}"#,
    "\n\n",
    "event: response.content_part.added\n",
    r#"data: {"type":"response.content_part.added","sequence_number":3,"item_id":"rs_5e6f71","output_index":0,"content_index":0,"part":{"type":"reasoning_text","text":""}}"#,
    "\n\n",
    "event: response.reasoning_text.delta\n",
    r#"data: {"type":"response.reasoning_text.delta","sequence_number":4,"item_id":"rs_5e6f71","output_index":0,"content_index":0,"delta":"The user greets me."}"#,
    "\n\n",
    "event: response.reasoning_text.delta\n",
    r#"data: {"type":"response.reasoning_text.delta","sequence_number":5,"item_id":"rs_5e6f71","output_index":0,"content_index":0,"delta":" Reply briefly."}"#,
    "\n\n",
    "event: response.reasoning_text.done\n",
    r#"data: {"type":"response.reasoning_text.done","sequence_number":6,"item_id":"rs_5e6f71","output_index":0,"content_index":0,"text":"The user greets me. Reply briefly."}"#,
    "\n\n",
    "event: response.content_part.done\n",
    r#"data: {"type":"response.content_part.done","sequence_number":7,"item_id":"rs_5e6f71","output_index":0,"content_index":0,"part":{"type":"reasoning_text","text":"The user greets me. Reply briefly."}}"#,
    "\n\n",
    "event: response.output_item.done\n",
    r#"data: {"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"rs_5e6f71","type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"The user greets me. Reply briefly."}]}}"#,
    "\n\n",
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":9,"output_index":1,"item":{"id":"msg_5e6f72","type":"message","status":"in_progress","content":[],"role":"assistant"}}"#,
    "\n\n",
    "event: response.content_part.added\n",
    r#"data: {"type":"response.content_part.added","sequence_number":10,"item_id":"msg_5e6f72","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":11,"item_id":"msg_5e6f72","output_index":1,"content_index":0,"delta":"Hi!","logprobs":[]}"#,
    "\n\n",
    "event: response.output_text.done\n",
    r#"data: {"type":"response.output_text.done","sequence_number":12,"item_id":"msg_5e6f72","output_index":1,"content_index":0,"text":"Hi!","logprobs":[]}"#,
    "\n\n",
    "event: response.content_part.done\n",
    r#"data: {"type":"response.content_part.done","sequence_number":13,"item_id":"msg_5e6f72","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":"Hi!"}}"#,
    "\n\n",
    "event: response.output_item.done\n",
    r#"data: {"type":"response.output_item.done","sequence_number":14,"output_index":1,"item":{"id":"msg_5e6f72","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Hi!"}],"role":"assistant"}}"#,
    "\n\n",
    "event: response.completed\n",
    r#"data: {"type":"response.completed","sequence_number":15,"response":{"id":"resp_5e6f70","object":"response","created_at":1763000000,"status":"completed","model":"$MODEL","output":[],"store":false,"usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":0},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":9},"total_tokens":32}}}"#,
    "\n\n",
);

/// A reasoning answer from `model` (gpt-oss style, reasoning text), then text.
pub fn responses_reasoning_text(model: &str) -> Transcript {
    Transcript {
        name: "responses_reasoning_text",
        route: Route::Responses,
        body: fill(RESPONSES_REASONING_TEXT, model),
        events: vec![
            start("resp_5e6f70", model),
            reasoning("The user greets me."),
            reasoning(" Reply briefly."),
            text("Hi!"),
            responses_usage(20, 12, Some(0), 9),
            ChatEvent::Finish(StopReason::Stop),
        ],
        error: None,
    }
}

/// Two function calls (`get_weather` then `get_time`), each one's arguments in pieces.
const RESPONSES_TOOL_CALLS: &str = concat!(
    responses_start!("resp_77c2a0"),
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"fc_77c2a1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_a1","name":"get_weather"}}"#,
    "\n\n",
    "event: response.function_call_arguments.delta\n",
    r#"data: {"type":"response.function_call_arguments.delta","sequence_number":3,"item_id":"fc_77c2a1","output_index":0,"delta":"{\"city\":"}"#,
    "\n\n",
    "event: response.function_call_arguments.delta\n",
    r#"data: {"type":"response.function_call_arguments.delta","sequence_number":4,"item_id":"fc_77c2a1","output_index":0,"delta":" \"Paris\"}"}"#,
    "\n\n",
    "event: response.function_call_arguments.done\n",
    r#"data: {"type":"response.function_call_arguments.done","sequence_number":5,"item_id":"fc_77c2a1","output_index":0,"arguments":"{\"city\": \"Paris\"}"}"#,
    "\n\n",
    "event: response.output_item.done\n",
    r#"data: {"type":"response.output_item.done","sequence_number":6,"output_index":0,"item":{"id":"fc_77c2a1","type":"function_call","status":"completed","arguments":"{\"city\": \"Paris\"}","call_id":"call_a1","name":"get_weather"}}"#,
    "\n\n",
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":7,"output_index":1,"item":{"id":"fc_77c2a2","type":"function_call","status":"in_progress","arguments":"","call_id":"call_b2","name":"get_time"}}"#,
    "\n\n",
    "event: response.function_call_arguments.delta\n",
    r#"data: {"type":"response.function_call_arguments.delta","sequence_number":8,"item_id":"fc_77c2a2","output_index":1,"delta":"{\"tz\":"}"#,
    "\n\n",
    "event: response.function_call_arguments.delta\n",
    r#"data: {"type":"response.function_call_arguments.delta","sequence_number":9,"item_id":"fc_77c2a2","output_index":1,"delta":"\"Europe/Paris\"}"}"#,
    "\n\n",
    "event: response.function_call_arguments.done\n",
    r#"data: {"type":"response.function_call_arguments.done","sequence_number":10,"item_id":"fc_77c2a2","output_index":1,"arguments":"{\"tz\":\"Europe/Paris\"}"}"#,
    "\n\n",
    "event: response.output_item.done\n",
    r#"data: {"type":"response.output_item.done","sequence_number":11,"output_index":1,"item":{"id":"fc_77c2a2","type":"function_call","status":"completed","arguments":"{\"tz\":\"Europe/Paris\"}","call_id":"call_b2","name":"get_time"}}"#,
    "\n\n",
    "event: response.completed\n",
    r#"data: {"type":"response.completed","sequence_number":12,"response":{"id":"resp_77c2a0","object":"response","created_at":1763000000,"status":"completed","model":"$MODEL","output":[],"store":false,"usage":{"input_tokens":120,"input_tokens_details":{"cached_tokens":0},"output_tokens":41,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":161}}}"#,
    "\n\n",
);

/// Two function calls from `model` on a Responses route.
pub fn responses_tool_calls(model: &str) -> Transcript {
    Transcript {
        name: "responses_tool_calls",
        route: Route::Responses,
        body: fill(RESPONSES_TOOL_CALLS, model),
        events: vec![
            start("resp_77c2a0", model),
            tool_start(0, "call_a1", "get_weather"),
            args(0, "{\"city\":"),
            args(0, " \"Paris\"}"),
            tool_start(1, "call_b2", "get_time"),
            args(1, "{\"tz\":"),
            args(1, "\"Europe/Paris\"}"),
            responses_usage(120, 41, Some(0), 0),
            ChatEvent::Finish(StopReason::ToolCalls),
        ],
        error: None,
    }
}

/// The output limit reached mid-text: `response.incomplete`.
const RESPONSES_INCOMPLETE: &str = concat!(
    responses_start!("resp_1c0d20"),
    "event: response.output_item.added\n",
    r#"data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_1c0d21","type":"message","status":"in_progress","content":[],"role":"assistant"}}"#,
    "\n\n",
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1c0d21","output_index":0,"content_index":0,"delta":"Once upon a","logprobs":[]}"#,
    "\n\n",
    "event: response.incomplete\n",
    r#"data: {"type":"response.incomplete","sequence_number":4,"response":{"id":"resp_1c0d20","object":"response","created_at":1763000000,"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"model":"$MODEL","output":[],"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":0},"output_tokens":16,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":25}}}"#,
    "\n\n",
);

/// An answer of `model` cut by `max_output_tokens`.
pub fn responses_incomplete(model: &str) -> Transcript {
    Transcript {
        name: "responses_incomplete",
        route: Route::Responses,
        body: fill(RESPONSES_INCOMPLETE, model),
        events: vec![
            start("resp_1c0d20", model),
            text("Once upon a"),
            responses_usage(9, 16, Some(0), 12),
            ChatEvent::Finish(StopReason::Length),
        ],
        error: None,
    }
}

/// Some text, then `response.failed` (a server error).
const RESPONSES_FAILED: &str = concat!(
    responses_start!("resp_e1f230"),
    "event: response.output_text.delta\n",
    r#"data: {"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_e1f231","output_index":0,"content_index":0,"delta":"Part","logprobs":[]}"#,
    "\n\n",
    "event: response.failed\n",
    r#"data: {"type":"response.failed","sequence_number":3,"response":{"id":"resp_e1f230","object":"response","created_at":1763000000,"status":"failed","error":{"code":"server_error","message":"The model failed to generate a response."},"incomplete_details":null,"model":"$MODEL","output":[],"usage":null}}"#,
    "\n\n",
);

/// `response.failed` mid-stream from `model`.
pub fn responses_failed(model: &str) -> Transcript {
    Transcript {
        name: "responses_failed",
        route: Route::Responses,
        body: fill(RESPONSES_FAILED, model),
        events: vec![start("resp_e1f230", model), text("Part")],
        error: Some(Error::UpstreamUnavailable {
            status: Some(500),
            message: "POST /responses (error event in the stream) answered 500: \
                      The model failed to generate a response."
                .to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mantle_provider::chat::{EventStream, StreamMapper};
    use mantle_provider::{anthropic, openai, responses};

    /// Events and error of `chunks` fed to `stream`, then the end.
    fn run<M: StreamMapper>(
        mut stream: EventStream<M>,
        chunks: &[&[u8]],
    ) -> (Vec<ChatEvent>, Option<Error>) {
        let mut events = Vec::new();
        for chunk in chunks {
            if let Err(error) = stream.feed(chunk, &mut events) {
                return (events, Some(error));
            }
        }
        let error = stream.end(&mut events).err();
        (events, error)
    }

    /// What the route's mapper makes of `chunks`.
    fn map(route: Route, chunks: &[&[u8]]) -> (Vec<ChatEvent>, Option<Error>) {
        match route {
            Route::OpenAi => run(openai::event_stream(), chunks),
            Route::Anthropic => run(anthropic::event_stream(), chunks),
            Route::Responses | Route::OpenaiResponses => run(responses::event_stream(), chunks),
        }
    }

    #[test]
    fn every_transcript_gives_its_events_however_split() {
        for t in all() {
            let body = t.body.as_bytes();
            let expected = (t.events.clone(), t.error.clone());
            assert_eq!(map(t.route, &[body]), expected, "{} whole", t.name);
            for cut in 0..=body.len() {
                let (a, b) = body.split_at(cut);
                assert_eq!(map(t.route, &[a, b]), expected, "{} split at {cut}", t.name);
            }
            let bytes: Vec<&[u8]> = body.chunks(1).collect();
            assert_eq!(
                map(t.route, &bytes),
                expected,
                "{} in 1-byte chunks",
                t.name
            );
        }
    }

    #[test]
    fn complete_transcripts_end_with_one_finish_and_error_ones_with_none() {
        for t in all() {
            let finishes = t
                .events
                .iter()
                .filter(|e| matches!(e, ChatEvent::Finish(_)))
                .count();
            if t.error.is_none() {
                assert_eq!(finishes, 1, "{}", t.name);
                assert!(
                    matches!(t.events.last(), Some(ChatEvent::Finish(_))),
                    "{}",
                    t.name
                );
            } else {
                assert_eq!(finishes, 0, "{}", t.name);
            }
        }
    }

    #[test]
    fn names_are_unique_and_every_body_is_covered() {
        let all = all();
        let mut names: Vec<&str> = all.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(all.len(), 15);
        for t in &all {
            assert!(!t.body.contains("$MODEL"), "{}", t.name);
            // Every data line is JSON (or [DONE]).
            for line in t.body.lines() {
                if let Some(data) = line.strip_prefix("data: ")
                    && data != "[DONE]"
                {
                    serde_json::from_str::<serde_json::Value>(data)
                        .unwrap_or_else(|e| panic!("{}: {e}: {data}", t.name));
                }
            }
        }
    }

    #[test]
    fn the_model_is_written_where_mantle_puts_it() {
        let t = openai_text("weird\"model");
        assert!(t.body.contains(r#""model":"weird\"model""#));
        let (events, error) = map(t.route, &[t.body.as_bytes()]);
        assert_eq!(error, None);
        assert_eq!(events, t.events);
        let t = anthropic_tool_use("claude-sonnet-4.5");
        assert_eq!(t.body.matches(r#""model":"claude-sonnet-4.5""#).count(), 1);
        assert_eq!(map(t.route, &[t.body.as_bytes()]).0, t.events);
    }
}
