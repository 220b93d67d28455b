//! Anthropic Messages: the request body and the stream events.

use super::json::{Map, Value, put};
use super::openai::strings;
use super::{Fields, Reader, WireError, put_some, text_object};

/// `POST {anthropicBase}/v1/messages` body, its pieces already JSON (built with the functions
/// below). It always streams.
pub struct Request<'a> {
    /// Model id.
    pub model: &'a str,
    /// Output token limit (required), thinking included.
    pub max_tokens: u32,
    /// System instructions.
    pub system: Option<String>,
    /// The conversation, roles alternating ([`message`]).
    pub messages: Vec<Value>,
    /// Tools the model may call ([`tool`]); left out when empty.
    pub tools: Vec<Value>,
    /// How the model may use the tools ([`tool_choice`]).
    pub tool_choice: Option<Value>,
    /// Extended thinking: `{"type": "enabled", "budget_tokens": …}`, the budget being less
    /// than `max_tokens`.
    pub thinking_budget: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<Value>,
    /// Nucleus sampling.
    pub top_p: Option<Value>,
    /// Stop sequences; left out when empty.
    pub stop_sequences: &'a [String],
}

impl Request<'_> {
    /// The body as JSON.
    pub fn into_json(self) -> Value {
        let mut o = Map::new();
        put(&mut o, "model", self.model.into());
        put(&mut o, "max_tokens", self.max_tokens.into());
        put(&mut o, "stream", true.into());
        put_some(&mut o, "system", self.system.map(Value::from));
        put(&mut o, "messages", Value::Array(self.messages));
        if !self.tools.is_empty() {
            put(&mut o, "tools", Value::Array(self.tools));
        }
        put_some(&mut o, "tool_choice", self.tool_choice);
        put_some(
            &mut o,
            "thinking",
            self.thinking_budget.map(|budget| {
                let mut thinking = text_object(&[("type", "enabled")]);
                put(&mut thinking, "budget_tokens", budget.into());
                thinking.into()
            }),
        );
        put_some(&mut o, "temperature", self.temperature);
        put_some(&mut o, "top_p", self.top_p);
        if !self.stop_sequences.is_empty() {
            put(&mut o, "stop_sequences", strings(self.stop_sequences));
        }
        Value::Object(o)
    }
}

/// `{"role": …, "content": […]}`: a `user` or `assistant` message of content blocks.
pub fn message(role: &str, content: Vec<Value>) -> Value {
    let mut o = text_object(&[("role", role)]);
    put(&mut o, "content", Value::Array(content));
    o.into()
}

/// `{"type": "text", "text": …}`.
pub fn text_block(text: &str) -> Value {
    text_object(&[("type", "text"), ("text", text)]).into()
}

/// `{"type": "image", "source": …}`, the source being [`base64_source`] or [`url_source`].
pub fn image_block(source: Value) -> Value {
    let mut o = text_object(&[("type", "image")]);
    put(&mut o, "source", source);
    o.into()
}

/// `{"type": "base64", "media_type": …, "data": …}`: inline image data, standard base64.
pub fn base64_source(media_type: &str, data: &str) -> Value {
    text_object(&[
        ("type", "base64"),
        ("media_type", media_type),
        ("data", data),
    ])
    .into()
}

/// `{"type": "url", "url": …}`: an image at an `https:` URL.
pub fn url_source(url: &str) -> Value {
    text_object(&[("type", "url"), ("url", url)]).into()
}

/// `{"type": "thinking", "thinking": …, "signature": …}`: readable reasoning, replayed with its
/// signature.
pub fn thinking_block(thinking: &str, signature: &str) -> Value {
    text_object(&[
        ("type", "thinking"),
        ("thinking", thinking),
        ("signature", signature),
    ])
    .into()
}

/// `{"type": "redacted_thinking", "data": …}`: encrypted reasoning, replayed as is.
pub fn redacted_thinking_block(data: &str) -> Value {
    text_object(&[("type", "redacted_thinking"), ("data", data)]).into()
}

/// `{"type": "tool_use", "id": …, "name": …, "input": {…}}`: a tool call of an earlier
/// assistant turn.
pub fn tool_use_block(id: &str, name: &str, input: Value) -> Value {
    let mut o = text_object(&[("type", "tool_use"), ("id", id), ("name", name)]);
    put(&mut o, "input", input);
    o.into()
}

/// `{"type": "tool_result", "tool_use_id": …, "content": […], "is_error": true}`: a tool's
/// result as text and image blocks; `is_error` is sent only when true.
pub fn tool_result_block(tool_use_id: &str, content: Vec<Value>, is_error: bool) -> Value {
    let mut o = text_object(&[("type", "tool_result"), ("tool_use_id", tool_use_id)]);
    put(&mut o, "content", Value::Array(content));
    if is_error {
        put(&mut o, "is_error", true.into());
    }
    Value::Object(o)
}

/// `{"name": …, "description": …, "input_schema": …}`: a tool the model may call, its
/// description left out when `None`.
pub fn tool(name: &str, description: Option<&str>, input_schema: Value) -> Value {
    let mut o = text_object(&[("name", name)]);
    put_some(&mut o, "description", description.map(Value::from));
    put(&mut o, "input_schema", input_schema);
    Value::Object(o)
}

/// `{"type": "auto" | "any" | "none"}`, or `{"type": "tool", "name": …}` when a tool is named.
pub fn tool_choice(kind: &str, name: Option<&str>) -> Value {
    let mut o = text_object(&[("type", kind)]);
    put_some(&mut o, "name", name.map(Value::from));
    o.into()
}

/// One stream event, by the `type` of its data.
#[derive(Debug)]
pub enum StreamEvent {
    /// The response begins.
    MessageStart {
        /// The message, content empty.
        message: MessageStart,
    },
    /// A content block begins.
    ContentBlockStart {
        /// Position of the block in the message.
        index: u32,
        /// The block, content empty or whole.
        content_block: ContentBlock,
    },
    /// A piece of a content block.
    ContentBlockDelta {
        /// Position of the block in the message.
        index: u32,
        /// The piece.
        delta: BlockDelta,
    },
    /// A content block ends.
    ContentBlockStop {
        /// Position of the block in the message.
        index: u32,
    },
    /// Top-level changes: the stop reason, cumulative usage.
    MessageDelta {
        /// `delta.stop_reason`: why the model stopped.
        stop_reason: Option<String>,
        /// Cumulative token counts.
        usage: Option<StreamUsage>,
    },
    /// The response ends.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// A failure mid-stream.
    Error {
        /// `{"type": ..., "message": ...}`.
        error: Value,
    },
    /// An event type this provider does not know.
    Unknown,
}

impl StreamEvent {
    /// Reads an event from its JSON text.
    pub fn parse(data: &str) -> Result<StreamEvent, WireError> {
        let mut o = Fields::parse(data)?;
        let r = &mut Reader::default();
        let event = match o.required_string(r, "type").as_str() {
            "message_start" => {
                o.required_object(r, "message")
                    .map_or(StreamEvent::Unknown, |mut m| StreamEvent::MessageStart {
                        message: MessageStart {
                            id: m.string_or_empty(r, "id"),
                            model: m.string_or_empty(r, "model"),
                            usage: m.object(r, "usage").map(|u| StreamUsage::read(u, r)),
                        },
                    })
            }
            "content_block_start" => StreamEvent::ContentBlockStart {
                index: o.required_u32(r, "index"),
                content_block: o
                    .required_object(r, "content_block")
                    .map_or(ContentBlock::Unknown, |b| ContentBlock::read(b, r)),
            },
            "content_block_delta" => StreamEvent::ContentBlockDelta {
                index: o.required_u32(r, "index"),
                delta: o
                    .required_object(r, "delta")
                    .map_or(BlockDelta::Unknown, |d| BlockDelta::read(d, r)),
            },
            "content_block_stop" => StreamEvent::ContentBlockStop {
                index: o.required_u32(r, "index"),
            },
            "message_delta" => StreamEvent::MessageDelta {
                stop_reason: o
                    .required_object(r, "delta")
                    .and_then(|mut d| d.string(r, "stop_reason")),
                usage: o.object(r, "usage").map(|u| StreamUsage::read(u, r)),
            },
            "message_stop" => StreamEvent::MessageStop,
            "ping" => StreamEvent::Ping,
            "error" => StreamEvent::Error {
                error: o.required(r, "error").unwrap_or_default(),
            },
            _ => StreamEvent::Unknown,
        };
        std::mem::take(r).done(event)
    }
}

/// `message` of `message_start`.
#[derive(Debug)]
pub struct MessageStart {
    /// Message id (empty when absent).
    pub id: String,
    /// The answering model (empty when absent).
    pub model: String,
    /// Input token counts.
    pub usage: Option<StreamUsage>,
}

/// `content_block` of `content_block_start`.
#[derive(Debug)]
pub enum ContentBlock {
    /// Visible text.
    Text {
        /// Initial text (usually empty).
        text: String,
    },
    /// Readable reasoning.
    Thinking {
        /// Initial reasoning (usually empty).
        thinking: String,
        /// Signature, when whole (usually given by a `signature_delta`).
        signature: Option<String>,
    },
    /// Encrypted reasoning, whole.
    RedactedThinking {
        /// The opaque data.
        data: String,
    },
    /// A tool call.
    ToolUse {
        /// Id of the call.
        id: String,
        /// Name of the tool.
        name: String,
        /// Initial input (usually `{}`; the arguments follow as `input_json_delta`).
        input: Option<Value>,
    },
    /// A block type this provider does not know.
    Unknown,
}

impl ContentBlock {
    fn read(mut o: Fields, r: &mut Reader) -> ContentBlock {
        match o.required_string(r, "type").as_str() {
            "text" => ContentBlock::Text {
                text: o.string_or_empty(r, "text"),
            },
            "thinking" => ContentBlock::Thinking {
                thinking: o.string_or_empty(r, "thinking"),
                signature: o.string(r, "signature"),
            },
            "redacted_thinking" => ContentBlock::RedactedThinking {
                data: o.required_string(r, "data"),
            },
            "tool_use" => ContentBlock::ToolUse {
                id: o.required_string(r, "id"),
                name: o.required_string(r, "name"),
                input: o.take(r, "input"),
            },
            _ => ContentBlock::Unknown,
        }
    }
}

/// `delta` of `content_block_delta`.
#[derive(Debug)]
pub enum BlockDelta {
    /// Visible text.
    TextDelta {
        /// The piece.
        text: String,
    },
    /// Reasoning text.
    ThinkingDelta {
        /// The piece.
        thinking: String,
    },
    /// The thinking block's signature, whole.
    SignatureDelta {
        /// The signature.
        signature: String,
    },
    /// A piece of a tool call's input JSON.
    InputJsonDelta {
        /// The piece.
        partial_json: String,
    },
    /// A delta type this provider does not know (citations, ...).
    Unknown,
}

impl BlockDelta {
    fn read(mut o: Fields, r: &mut Reader) -> BlockDelta {
        match o.required_string(r, "type").as_str() {
            "text_delta" => BlockDelta::TextDelta {
                text: o.required_string(r, "text"),
            },
            "thinking_delta" => BlockDelta::ThinkingDelta {
                thinking: o.required_string(r, "thinking"),
            },
            "signature_delta" => BlockDelta::SignatureDelta {
                signature: o.required_string(r, "signature"),
            },
            "input_json_delta" => BlockDelta::InputJsonDelta {
                partial_json: o.required_string(r, "partial_json"),
            },
            _ => BlockDelta::Unknown,
        }
    }
}

/// Token counts of `message_start` and `message_delta`; each event carries the latest totals.
#[derive(Debug)]
pub struct StreamUsage {
    /// Input tokens not read from or written to the cache.
    pub input_tokens: Option<u64>,
    /// Output tokens so far.
    pub output_tokens: Option<u64>,
    /// Input tokens read from the cache.
    pub cache_read_input_tokens: Option<u64>,
    /// Input tokens written to the cache.
    pub cache_creation_input_tokens: Option<u64>,
}

impl StreamUsage {
    fn read(mut o: Fields, r: &mut Reader) -> StreamUsage {
        StreamUsage {
            input_tokens: o.u64(r, "input_tokens"),
            output_tokens: o.u64(r, "output_tokens"),
            cache_read_input_tokens: o.u64(r, "cache_read_input_tokens"),
            cache_creation_input_tokens: o.u64(r, "cache_creation_input_tokens"),
        }
    }
}
