//! OpenAI chat completions: the request body and the stream chunks.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// `POST {baseUrl}/chat/completions` body.
#[derive(Debug, Serialize)]
pub struct Request<'a> {
    /// Model id.
    pub model: &'a str,
    /// The conversation.
    pub messages: Vec<Message<'a>>,
    /// Always true: the provider streams.
    pub stream: bool,
    /// Asks for the usage-only last chunk.
    pub stream_options: StreamOptions,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool<'a>>,
    /// How the model may use the tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice<'a>>,
    /// Output token limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<Value>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<Value>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<&'a str>,
    /// `low`, `medium` or `high`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<&'static str>,
    /// The answer's shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat<'a>>,
    /// Whether several tool calls may come in one turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Seed for deterministic sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
}

/// `response_format`, tagged by `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat<'a> {
    /// Free text.
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON valid against a schema.
    JsonSchema {
        /// The schema and its name.
        json_schema: JsonSchema<'a>,
    },
}

/// `response_format.json_schema`.
#[derive(Debug, Serialize)]
pub struct JsonSchema<'a> {
    /// Name of the format.
    pub name: &'a str,
    /// What it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// The schema, as the client wrote it.
    pub schema: &'a RawValue,
    /// Whether the schema must be followed exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `stream_options`.
#[derive(Debug, Serialize)]
pub struct StreamOptions {
    /// Ask for a last chunk with `usage` and no choices.
    pub include_usage: bool,
}

/// One message, tagged by `role`.
#[derive(Debug, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message<'a> {
    /// System instructions.
    System {
        /// The instructions.
        content: &'a str,
    },
    /// A user turn.
    User {
        /// Text, or parts with images.
        content: Content<'a>,
    },
    /// An earlier assistant turn.
    Assistant {
        /// The visible answer; null when the turn only called tools.
        content: Option<String>,
        /// Readable reasoning, replayed (Kimi requires it on tool-call turns).
        #[serde(skip_serializing_if = "Option::is_none")]
        reasoning_content: Option<String>,
        /// Tool calls made.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall<'a>>,
    },
    /// A tool's result.
    Tool {
        /// The call it answers.
        tool_call_id: &'a str,
        /// The result's text.
        content: String,
    },
}

/// User content: a plain string when it is a single text, else parts.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Content<'a> {
    /// A single text.
    Text(&'a str),
    /// Text and image parts.
    Parts(Vec<Part<'a>>),
}

/// A content part, tagged by `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part<'a> {
    /// Text.
    Text {
        /// The text.
        text: &'a str,
    },
    /// An image by URL (`https:` or `data:`).
    ImageUrl {
        /// The URL.
        image_url: ImageUrl,
    },
}

/// `image_url`.
#[derive(Debug, Serialize)]
pub struct ImageUrl {
    /// An `https:` or `data:` URL.
    pub url: String,
}

/// A tool call of an earlier assistant turn.
#[derive(Debug, Serialize)]
pub struct ToolCall<'a> {
    /// Id of the call.
    pub id: &'a str,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function called.
    pub function: FunctionCall<'a>,
}

/// `function` of a tool call.
#[derive(Debug, Serialize)]
pub struct FunctionCall<'a> {
    /// Name of the tool.
    pub name: &'a str,
    /// Arguments as JSON text.
    pub arguments: &'a str,
}

/// A tool the model may call.
#[derive(Debug, Serialize)]
pub struct Tool<'a> {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function.
    pub function: Function<'a>,
}

/// `function` of a tool.
#[derive(Debug, Serialize)]
pub struct Function<'a> {
    /// Name.
    pub name: &'a str,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// JSON schema of the arguments, as the client wrote it.
    pub parameters: &'a RawValue,
    /// Whether calls must follow the schema exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `tool_choice`: a mode string, or a named function.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ToolChoice<'a> {
    /// `auto`, `none` or `required`.
    Mode(&'static str),
    /// `{"type":"function","function":{"name":...}}`.
    Named {
        /// Always `function`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The function.
        function: Name<'a>,
    },
}

/// `{"name": ...}`.
#[derive(Debug, Serialize)]
pub struct Name<'a> {
    /// The tool's name.
    pub name: &'a str,
}

/// One `data:` chunk of the stream.
#[derive(Debug, Deserialize)]
pub struct Chunk {
    /// Response id.
    pub id: Option<String>,
    /// The answering model.
    pub model: Option<String>,
    /// Choices; empty in the usage-only last chunk.
    pub choices: Option<Vec<Choice>>,
    /// Token counts (null except in the last chunk).
    pub usage: Option<ChunkUsage>,
    /// An error reported mid-stream.
    pub error: Option<Value>,
}

/// A choice of a chunk.
#[derive(Debug, Deserialize)]
pub struct Choice {
    /// Choice index (only 0 is requested).
    pub index: Option<u32>,
    /// What this chunk adds.
    pub delta: Option<Delta>,
    /// Why the model stopped, in the choice's last chunk.
    pub finish_reason: Option<String>,
}

/// What a chunk adds to a choice.
#[derive(Debug, Deserialize)]
pub struct Delta {
    /// Visible text.
    pub content: Option<String>,
    /// Reasoning text (Mantle).
    pub reasoning: Option<String>,
    /// Reasoning text (DeepSeek, Kimi, vLLM).
    pub reasoning_content: Option<String>,
    /// A refusal's text.
    pub refusal: Option<String>,
    /// Pieces of tool calls.
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// A piece of a tool call.
#[derive(Debug, Deserialize)]
pub struct ToolCallDelta {
    /// Which call of the response.
    pub index: Option<u32>,
    /// Id, in the call's first piece.
    pub id: Option<String>,
    /// Name and a piece of the arguments.
    pub function: Option<FunctionDelta>,
}

/// `function` of a tool call piece.
#[derive(Debug, Deserialize)]
pub struct FunctionDelta {
    /// Name, in the call's first piece.
    pub name: Option<String>,
    /// The next piece of the arguments' JSON text.
    pub arguments: Option<String>,
}

/// `usage` of a chunk.
#[derive(Debug, Deserialize)]
pub struct ChunkUsage {
    /// Input tokens, cached ones included.
    pub prompt_tokens: Option<u64>,
    /// Output tokens.
    pub completion_tokens: Option<u64>,
    /// Details of the input tokens.
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Deserialize)]
pub struct PromptTokensDetails {
    /// Input tokens read from the prompt cache.
    pub cached_tokens: Option<u64>,
}
