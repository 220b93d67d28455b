//! OpenAI Responses: the request body and the stream events.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// `POST {base}/responses` body.
#[derive(Debug, Serialize)]
pub struct Request<'a> {
    /// Model id.
    pub model: &'a str,
    /// The conversation, as input items.
    pub input: Vec<InputItem<'a>>,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool<'a>>,
    /// How the model may use the tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice<'a>>,
    /// Reasoning effort and summaries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    /// Output token limit, reasoning included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<Value>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<Value>,
    /// Whether the upstream keeps the response (`false` unless configured).
    pub store: bool,
    /// Always true: the provider streams.
    pub stream: bool,
}

/// One input item, tagged by `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputItem<'a> {
    /// A message of a role.
    Message {
        /// `system`, `user` or `assistant`.
        role: &'static str,
        /// Its content parts.
        content: Vec<InputContent<'a>>,
    },
    /// A tool call of an earlier assistant turn.
    FunctionCall {
        /// Id that ties the call to its output.
        call_id: &'a str,
        /// Name of the tool.
        name: &'a str,
        /// Arguments as JSON text.
        arguments: &'a str,
    },
    /// The result of a tool call.
    FunctionCallOutput {
        /// The call it answers.
        call_id: &'a str,
        /// The result's text.
        output: String,
    },
}

/// A content part of an input message, tagged by `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputContent<'a> {
    /// Text of a system or user message.
    InputText {
        /// The text.
        text: &'a str,
    },
    /// An image of a user message, by URL (`https:` or `data:`).
    InputImage {
        /// The URL.
        image_url: String,
    },
    /// Text of an earlier assistant turn.
    OutputText {
        /// The text.
        text: &'a str,
    },
}

/// A tool the model may call.
#[derive(Debug, Serialize)]
pub struct Tool<'a> {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Name.
    pub name: &'a str,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// JSON schema of the arguments, as the client wrote it.
    pub parameters: &'a RawValue,
    /// Always false: the Responses API defaults to strict schemas, which most clients'
    /// schemas are not.
    pub strict: bool,
}

/// `tool_choice`: a mode string, or a named function.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ToolChoice<'a> {
    /// `auto`, `none` or `required`.
    Mode(&'static str),
    /// `{"type":"function","name":...}`.
    Named {
        /// Always `function`.
        #[serde(rename = "type")]
        kind: &'static str,
        /// The tool's name.
        name: &'a str,
    },
}

/// `reasoning`.
#[derive(Debug, Serialize)]
pub struct Reasoning {
    /// `low`, `medium` or `high`.
    pub effort: &'static str,
    /// `auto`: ask for reasoning summaries.
    pub summary: &'static str,
}

/// One `data:` event of the stream; which members it has depends on its `type`.
#[derive(Debug, Deserialize)]
pub struct Event {
    /// The event type, e.g. `response.output_text.delta`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The response, in `response.created`, `.completed`, `.incomplete`, `.failed`.
    pub response: Option<Response>,
    /// The output item, in `response.output_item.added` and `.done`.
    pub item: Option<Item>,
    /// Position of the output item the event is about.
    pub output_index: Option<u32>,
    /// Position of the summary part, in reasoning summary events.
    pub summary_index: Option<u32>,
    /// A piece of text or of arguments.
    pub delta: Option<String>,
    /// The whole arguments, in `response.function_call_arguments.done`.
    pub arguments: Option<String>,
    /// The error code, in `error` (its `message` is quoted from the event's data).
    pub code: Option<Value>,
    /// The error object, in an `error` event that nests it (`{"type":"error","error":{…}}`).
    pub error: Option<Value>,
}

/// The response object of the lifecycle events; its `output` is not read (the deltas carry
/// it).
#[derive(Debug, Deserialize)]
pub struct Response {
    /// Response id.
    pub id: Option<String>,
    /// The answering model.
    pub model: Option<String>,
    /// Token counts, in `response.completed` and `.incomplete`.
    pub usage: Option<ResponseUsage>,
    /// Why the response is incomplete.
    pub incomplete_details: Option<IncompleteDetails>,
    /// Why the response failed.
    pub error: Option<Value>,
}

/// `incomplete_details`.
#[derive(Debug, Deserialize)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    pub reason: Option<String>,
}

/// An output item.
#[derive(Debug, Deserialize)]
pub struct Item {
    /// `message`, `reasoning`, `function_call`, …
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The call id of a `function_call`.
    pub call_id: Option<String>,
    /// The tool name of a `function_call`.
    pub name: Option<String>,
    /// The arguments of a `function_call`.
    pub arguments: Option<String>,
    /// The parts of a `message` (`output_text`, `refusal`) or of a `reasoning` item
    /// (`reasoning_text`, as gpt-oss answers on Mantle).
    pub content: Option<Vec<ItemPart>>,
    /// The summary parts of a `reasoning` item (`summary_text`; empty for GPT-5.x, whose
    /// reasoning is encrypted).
    pub summary: Option<Vec<ItemPart>>,
    /// The opaque reasoning of a `reasoning` item (GPT-5.x), which a client replays as is.
    pub encrypted_content: Option<String>,
}

/// A part of an output item's `content` or `summary`.
#[derive(Debug, Deserialize)]
pub struct ItemPart {
    /// `output_text`, `refusal`, `reasoning_text`, `summary_text`, …
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The text of a text part.
    pub text: Option<String>,
    /// The text of a `refusal` part.
    pub refusal: Option<String>,
}

/// `usage` of a response.
#[derive(Debug, Deserialize)]
pub struct ResponseUsage {
    /// Input tokens, cached ones included.
    pub input_tokens: Option<u64>,
    /// Details of the input tokens.
    pub input_tokens_details: Option<InputTokensDetails>,
    /// Output tokens, reasoning included.
    pub output_tokens: Option<u64>,
    /// Details of the output tokens.
    pub output_tokens_details: Option<OutputTokensDetails>,
}

/// `usage.input_tokens_details`.
#[derive(Debug, Deserialize)]
pub struct InputTokensDetails {
    /// Input tokens read from the prompt cache.
    pub cached_tokens: Option<u64>,
}

/// `usage.output_tokens_details`.
#[derive(Debug, Deserialize)]
pub struct OutputTokensDetails {
    /// Output tokens spent on reasoning.
    pub reasoning_tokens: Option<u64>,
}
