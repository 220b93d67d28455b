//! Anthropic Messages: the request body and the stream events.
//!
//! The provider writes the request and reads the events; the face, answering Anthropic's
//! clients for an open model, writes the events' deltas, `message_delta` and usage with the
//! same types (borrowed text there: their string type is a parameter, `String` by default).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// `POST {anthropicBase}/v1/messages` body.
#[derive(Debug, Serialize)]
pub struct Request<'a> {
    /// Model id.
    pub model: &'a str,
    /// Output token limit (required), thinking included.
    pub max_tokens: u32,
    /// Always true: the provider streams.
    pub stream: bool,
    /// System instructions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The conversation, roles alternating.
    pub messages: Vec<Message<'a>>,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool<'a>>,
    /// How the model may use the tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice<'a>>,
    /// Extended thinking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<Value>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<Value>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<&'a str>,
    /// Structured output: the answer's JSON schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig<'a>>,
}

/// `output_config`.
#[derive(Debug, Serialize)]
pub struct OutputConfig<'a> {
    /// The answer's format.
    pub format: OutputFormat<'a>,
}

/// `output_config.format`: `{type: "json_schema", schema}`.
#[derive(Debug, Serialize)]
pub struct OutputFormat<'a> {
    /// Always `json_schema`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The schema, as the client wrote it.
    pub schema: &'a RawValue,
}

/// One message.
#[derive(Debug, Serialize)]
pub struct Message<'a> {
    /// `user` or `assistant`.
    pub role: &'static str,
    /// Content blocks.
    pub content: Vec<Block<'a>>,
}

/// A content block, tagged by `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block<'a> {
    /// Text.
    Text {
        /// The text.
        text: &'a str,
    },
    /// An image.
    Image {
        /// Where the image is.
        source: ImageSource<'a>,
    },
    /// Readable reasoning, replayed with its signature.
    Thinking {
        /// The reasoning.
        thinking: &'a str,
        /// Its signature.
        signature: &'a str,
    },
    /// Encrypted reasoning, replayed as is.
    RedactedThinking {
        /// The opaque data.
        data: &'a str,
    },
    /// A tool call of an earlier assistant turn.
    ToolUse {
        /// Id of the call.
        id: &'a str,
        /// Name of the tool.
        name: &'a str,
        /// Arguments, a JSON object as the client gave it.
        input: &'a RawValue,
    },
    /// A tool's result.
    ToolResult {
        /// The call it answers.
        tool_use_id: &'a str,
        /// Text and image blocks.
        content: Vec<Block<'a>>,
        /// Whether the tool failed.
        #[serde(skip_serializing_if = "crate::routes::route::is_false")]
        is_error: bool,
    },
}

/// `source` of an image block.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSource<'a> {
    /// Inline data.
    Base64 {
        /// Media type.
        media_type: &'a str,
        /// Standard base64.
        data: &'a str,
    },
    /// An `https:` URL.
    Url {
        /// The URL.
        url: &'a str,
    },
}

/// A tool the model may call.
#[derive(Debug, Serialize)]
pub struct Tool<'a> {
    /// Name.
    pub name: &'a str,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// JSON schema of the input, as the client wrote it.
    pub input_schema: &'a RawValue,
    /// Whether inputs must follow the schema exactly (strict tool use).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `tool_choice`, tagged by `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoice<'a> {
    /// The model decides.
    Auto {
        /// At most one tool call per turn.
        #[serde(skip_serializing_if = "crate::routes::route::is_false")]
        disable_parallel_tool_use: bool,
    },
    /// At least one tool call.
    Any {
        /// Exactly one tool call per turn.
        #[serde(skip_serializing_if = "crate::routes::route::is_false")]
        disable_parallel_tool_use: bool,
    },
    /// No tool calls.
    None,
    /// A call of the named tool.
    Tool {
        /// The tool's name.
        name: &'a str,
        /// Exactly one tool call per turn.
        #[serde(skip_serializing_if = "crate::routes::route::is_false")]
        disable_parallel_tool_use: bool,
    },
}

/// `thinking`.
#[derive(Debug, Serialize)]
pub struct Thinking {
    /// Always `enabled`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Tokens the model may think with; less than `max_tokens`.
    pub budget_tokens: u32,
}

/// One stream event, by the `type` of its data.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
        /// The changes.
        delta: MessageDelta,
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
    #[serde(other)]
    Unknown,
}

/// `message` of `message_start`.
#[derive(Debug, Deserialize)]
pub struct MessageStart {
    /// Message id.
    #[serde(default)]
    pub id: String,
    /// The answering model.
    #[serde(default)]
    pub model: String,
    /// Input token counts.
    pub usage: Option<StreamUsage>,
}

/// `content_block` of `content_block_start`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Visible text.
    Text {
        /// Initial text (usually empty).
        #[serde(default)]
        text: String,
    },
    /// Readable reasoning.
    Thinking {
        /// Initial reasoning (usually empty).
        #[serde(default)]
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
    #[serde(other)]
    Unknown,
}

/// `delta` of `content_block_delta`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockDelta<S = String> {
    /// Visible text.
    TextDelta {
        /// The piece.
        text: S,
    },
    /// Reasoning text.
    ThinkingDelta {
        /// The piece.
        thinking: S,
    },
    /// The thinking block's signature, whole.
    SignatureDelta {
        /// The signature.
        signature: S,
    },
    /// A piece of a tool call's input JSON.
    InputJsonDelta {
        /// The piece.
        partial_json: S,
    },
    /// A delta type this provider does not know (citations, ...).
    #[serde(other)]
    Unknown,
}

/// `delta` of `message_delta`.
#[derive(Debug, Serialize, Deserialize)]
pub struct MessageDelta<S = String> {
    /// Why the model stopped.
    pub stop_reason: Option<S>,
    /// The stop sequence that stopped it: written (`null` when none did), not read (the
    /// provider has no place for it, and reading it could only refuse an event it can use).
    #[serde(skip_deserializing)]
    pub stop_sequence: Option<S>,
}

/// Token counts of `message_start` and `message_delta`; each event carries the latest totals.
/// Written in Anthropic's order, the counts that are known.
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamUsage {
    /// Input tokens not read from or written to the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Input tokens written to the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Output tokens so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
}
