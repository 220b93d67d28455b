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
//! [`mantle_provider::openai::Mapper`] and [`mantle_provider::anthropic::Mapper`]; the tests at
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
}

impl Route {
    /// The request path of the route on Mantle.
    pub fn path(self) -> &'static str {
        match self {
            Route::OpenAi => "/v1/chat/completions",
            Route::Anthropic => "/anthropic/v1/messages",
        }
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

/// Every transcript, for `model` on OpenAI transcripts and `claude_model` on Anthropic ones.
pub fn all_for(model: &str, claude_model: &str) -> Vec<Transcript> {
    vec![
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

/// Every transcript, with the models of the emulator's defaults (`openai.gpt-oss-120b` and
/// `claude-opus-4.7`).
pub fn all() -> Vec<Transcript> {
    all_for(OPENAI_MODEL, CLAUDE_MODEL)
}

/// The OpenAI model [`all`] uses.
pub const OPENAI_MODEL: &str = "openai.gpt-oss-120b";

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

#[cfg(test)]
mod tests {
    use super::*;
    use mantle_provider::chat::{EventStream, StreamMapper};
    use mantle_provider::{anthropic, openai};

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
        assert_eq!(all.len(), 9);
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
