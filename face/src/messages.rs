//! The face's Anthropic Messages API (`POST /v1/messages`), with no I/O.
//!
//! Claude models pass natively: the face reads only `model` and `stream` of the client's body
//! ([`peek`]) and sends the body itself to Mantle's Anthropic route, then passes the answer's
//! bytes back ([`Relay`] for a stream), so thinking blocks and their signatures survive both
//! ways. Open models are translated: a Messages body becomes the provider's [`ChatRequest`]
//! ([`parse_request`]) and the provider's [`ChatEvent`]s become Anthropic's stream events
//! ([`EventWriter`]) or one `message` object ([`MessageCollector`]). Errors take Anthropic's
//! shape, `{"type":"error","error":{"type":…,"message":…}}` ([`error_response`]).
//!
//! Reading is serde's, straight into small structs: members the face does not read are
//! skipped as they are read (serde_json skips them without building anything), a tool's
//! `input_schema` and a `tool_use` block's `input` are kept as the text the client wrote, and
//! the items of all arrays together are counted against [`MAX_ITEMS`] as they are read.

use core::fmt;

use mantle_provider::chat::{
    AssistantMessage, ChatEvent, ChatRequest, ContentPart, ImageSource, Message, ReasoningBlock,
    ReasoningEffort, StopReason, Tool, ToolCall, ToolChoice, ToolResult, Usage,
};
use mantle_provider::client::AnswerHeaders;
use mantle_provider::error::{Error, Result};
use mantle_provider::routes::anthropic::wire;
use mantle_provider::routes::policy;
use mantle_provider::sse;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::openai::ErrorResponse;
use crate::read::{Items, from_slice};

/// The most items a request may carry in all its arrays together (messages, content blocks,
/// tools, stop sequences), as on the chat completions route.
pub const MAX_ITEMS: usize = crate::openai::MAX_ITEMS;

/// The most tools a request may offer.
pub const MAX_TOOLS: usize = crate::openai::MAX_TOOLS;

// ---- Peeking at a request passed on as written ----

/// What the face needs of a Messages body it passes on unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeked {
    /// `model`, as the client wrote it.
    pub model: String,
    /// `stream`: `false` when absent.
    pub stream: bool,
    /// Where the `model` value (with its quotes) sits in the body.
    model_at: core::ops::Range<usize>,
}

impl Peeked {
    /// The body for Mantle: the client's bytes, but for the model, whose value becomes `id`,
    /// the id Mantle serves ([`mantle_provider::catalog::resolve`]: `claude-opus-4.7` and
    /// `amazon-bedrock-mantle/claude-opus-4.7` become `anthropic.claude-opus-4-7`). Nothing
    /// else moves.
    pub fn body_for_mantle(&self, body: Vec<u8>, id: &str) -> Vec<u8> {
        if id == self.model || body.get(self.model_at.clone()).is_none() {
            return body;
        }
        splice(&body, self.model_at.clone(), id)
    }
}

/// The members [`peek`] reads; every other member is skipped unread.
#[derive(Deserialize)]
struct PeekBody<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    stream: Option<bool>,
}

/// Reads `model` (a non-empty string, required) and `stream` of a Messages body, skipping
/// everything else without keeping it.
pub fn peek(body: &[u8]) -> Result<Peeked> {
    let read: PeekBody<'_> = from_slice(body, "a valid Messages request")?;
    let raw = read
        .model
        .filter(|raw| raw.get() != "null")
        .ok_or_else(|| Error::InvalidRequest("model: required".into()))?;
    let model: String = serde_json::from_str(raw.get())
        .map_err(|_| Error::InvalidRequest("model: expected a string".into()))?;
    if model.is_empty() {
        return Err(Error::InvalidRequest("model: must not be empty".into()));
    }
    // The raw value is a slice of the body: its place is where it starts in it.
    let start = (raw.get().as_ptr() as usize).saturating_sub(body.as_ptr() as usize);
    Ok(Peeked {
        model,
        stream: read.stream.unwrap_or(false),
        model_at: start..start + raw.get().len(),
    })
}

// ---- Translating a request for an open model ----

/// A Messages request, translated for the provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedMessages {
    /// The request for the provider.
    pub request: ChatRequest,
    /// `stream`: answer with Anthropic's stream events ([`EventWriter`]) rather than one
    /// `message` object ([`MessageCollector`]).
    pub stream: bool,
}

/// A Messages body, as far as the face reads it.
#[derive(Deserialize)]
struct Body {
    model: Option<String>,
    max_tokens: Option<u32>,
    messages: Option<Items<InMessage>>,
    system: Option<Content>,
    tools: Option<Items<InTool>>,
    tool_choice: Option<InToolChoice>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    stop_sequences: Option<Items<String>>,
    thinking: Option<Thinking>,
    stream: Option<bool>,
}

/// One message.
#[derive(Deserialize)]
struct InMessage {
    role: Option<String>,
    content: Option<Content>,
}

/// Content: a string, or an array of blocks.
enum Content {
    Text(String),
    Blocks(Vec<Block>),
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(reader: D) -> core::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Content;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> core::result::Result<Content, E> {
                Ok(Content::Text(text.to_owned()))
            }
            fn visit_string<E: de::Error>(self, text: String) -> core::result::Result<Content, E> {
                Ok(Content::Text(text))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                items: A,
            ) -> core::result::Result<Content, A::Error> {
                let items: Items<Block> =
                    Deserialize::deserialize(de::value::SeqAccessDeserializer::new(items))?;
                Ok(Content::Blocks(items.0))
            }
        }
        reader.deserialize_any(V)
    }
}

/// A content block of any type: the members of every type the face reads, flat.
#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    source: Option<ImageSourceIn>,
    id: Option<String>,
    name: Option<String>,
    input: Option<Box<RawValue>>,
    tool_use_id: Option<String>,
    content: Option<Content>,
    is_error: Option<bool>,
    thinking: Option<String>,
    signature: Option<String>,
    data: Option<String>,
}

/// An image block's `source`: `base64` (`media_type`, `data`) or `url`.
#[derive(Deserialize)]
struct ImageSourceIn {
    #[serde(rename = "type")]
    kind: Option<String>,
    media_type: Option<String>,
    data: Option<String>,
    url: Option<String>,
}

/// A tool.
#[derive(Deserialize)]
struct InTool {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    description: Option<String>,
    input_schema: Option<Box<RawValue>>,
}

/// `tool_choice`.
#[derive(Deserialize)]
struct InToolChoice {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    disable_parallel_tool_use: Option<bool>,
}

/// `thinking`.
#[derive(Deserialize)]
struct Thinking {
    #[serde(rename = "type")]
    kind: Option<String>,
    budget_tokens: Option<u32>,
}

/// Parses a Messages body for a model that is not served on the Anthropic route.
///
/// The mapping:
///
/// - `model`, `messages` (non-empty) and `max_tokens` are required, as Anthropic has them.
/// - `system` (a string, or text blocks joined with `\n`) becomes [`Message::System`].
/// - `user` content: `text` and `image` blocks (`source` `base64` or `url`) make one user
///   message; each `tool_result` block (`content` a string or text and image blocks,
///   `is_error`) becomes a [`Message::Tool`] before it.
/// - `assistant` content: `text`; `thinking` (with its `signature`) and `redacted_thinking`
///   become reasoning blocks; `tool_use` becomes a [`ToolCall`] whose arguments are `input`
///   as the client wrote it. Empty texts are dropped.
/// - `tools` (client tools: `name`, `description`, `input_schema` kept as written); a server
///   tool (a `type` other than `custom`) is refused, as is any block type the provider has no
///   place for (documents, search results, …): dropping them would change the question.
/// - `tool_choice`: `auto`, `any` (required), `tool` (named), `none`.
/// - `temperature`, `top_p`, `stop_sequences`; `thinking` `enabled` sets the reasoning effort
///   by `budget_tokens` (below 4096 low, below 16384 medium, else high).
pub fn parse_request(body: &[u8]) -> Result<ParsedMessages> {
    let body: Body = from_slice(body, "a valid Messages request")?;
    let model = body
        .model
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid("model", "required"))?;
    let max_tokens = body
        .max_tokens
        .ok_or_else(|| invalid("max_tokens", "required"))?;
    let in_messages = body
        .messages
        .map(|m| m.0)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid("messages", "required: a non-empty array of messages"))?;
    let messages = conversation(body.system, in_messages)?;
    let tools = tools_of(body.tools, &model)?;
    // `disable_parallel_tool_use: true` is chat completions' `parallel_tool_calls: false`.
    let parallel_tool_calls = body
        .tool_choice
        .as_ref()
        .and_then(|c| c.disable_parallel_tool_use)
        .map(|disable| !disable);
    let tool_choice = tool_choice_of(body.tool_choice)?;
    let reasoning_effort = body.thinking.and_then(|t| match t.kind.as_deref() {
        Some("enabled") => Some(match t.budget_tokens.unwrap_or(0) {
            0..4096 => ReasoningEffort::Low,
            4096..16384 => ReasoningEffort::Medium,
            _ => ReasoningEffort::High,
        }),
        _ => None,
    });
    Ok(ParsedMessages {
        request: ChatRequest {
            model,
            messages,
            tools,
            tool_choice,
            max_tokens: Some(max_tokens),
            temperature: body.temperature,
            top_p: body.top_p,
            stop: body.stop_sequences.map(|s| s.0).unwrap_or_default(),
            reasoning_effort,
            response_format: None,
            parallel_tool_calls,
            seed: None,
            extra: None,
        },
        stream: body.stream.unwrap_or(false),
    })
}

/// The conversation: the system text, then the turns (tool results are user turns).
fn conversation(system: Option<Content>, in_messages: Vec<InMessage>) -> Result<Vec<Message>> {
    let mut messages = Vec::with_capacity(in_messages.len() + 1);
    if let Some(system) = system {
        let text = texts(system, "system")?;
        if !text.is_empty() {
            messages.push(Message::System(text));
        }
    }
    for (i, message) in in_messages.into_iter().enumerate() {
        let at = format!("messages[{i}]");
        let content = message
            .content
            .ok_or_else(|| invalid(&format!("{at}.content"), "required"))?;
        match message.role.as_deref() {
            Some("user") => user(content, &at, &mut messages)?,
            Some("assistant") => messages.push(assistant(content, &at)?),
            Some(other) => {
                return Err(invalid(
                    &format!("{at}.role"),
                    format_args!("unknown role {other:?}; expected user or assistant"),
                ));
            }
            None => return Err(invalid(&format!("{at}.role"), "required")),
        }
    }
    Ok(messages)
}

/// The client tools (server tools are not served: they name `model` in the refusal).
fn tools_of(tools: Option<Items<InTool>>, model: &str) -> Result<Vec<Tool>> {
    let in_tools = tools.map(|t| t.0).unwrap_or_default();
    if in_tools.len() > MAX_TOOLS {
        return Err(invalid(
            "tools",
            format_args!("too many: at most {MAX_TOOLS} are allowed"),
        ));
    }
    let mut tools = Vec::with_capacity(in_tools.len());
    for (i, tool) in in_tools.into_iter().enumerate() {
        let at = format!("tools[{i}]");
        if let Some(kind) = tool.kind.as_deref().filter(|k| *k != "custom") {
            return Err(invalid(
                &format!("{at}.type"),
                format_args!(
                    "the server tool {kind:?} is not available for {model}: only client tools (name, input_schema) are"
                ),
            ));
        }
        tools.push(Tool {
            name: tool
                .name
                .ok_or_else(|| invalid(&format!("{at}.name"), "required"))?,
            description: tool.description,
            parameters: tool
                .input_schema
                .map(|schema| String::from(Box::<str>::from(schema)))
                .unwrap_or_default(),
            strict: None,
        });
    }
    Ok(tools)
}

/// The tool choice: `auto`, `any`, `none` or a tool named.
fn tool_choice_of(tool_choice: Option<InToolChoice>) -> Result<Option<ToolChoice>> {
    Ok(match tool_choice {
        None => None,
        Some(choice) => Some(match choice.kind.as_deref() {
            Some("auto") => ToolChoice::Auto,
            Some("any") => ToolChoice::Required,
            Some("none") => ToolChoice::None,
            Some("tool") => ToolChoice::Named(
                choice
                    .name
                    .ok_or_else(|| invalid("tool_choice.name", "required"))?,
            ),
            other => {
                return Err(invalid(
                    "tool_choice.type",
                    format_args!("{other:?}: expected auto, any, tool or none"),
                ));
            }
        }),
    })
}

/// An invalid request: `path: what`.
fn invalid(at: &str, what: impl fmt::Display) -> Error {
    Error::InvalidRequest(format!("{at}: {what}"))
}

/// The type of a block, for messages.
fn kind_of(block: &Block) -> &str {
    block.kind.as_deref().unwrap_or("")
}

/// Text content (a string, or `text` blocks joined with `\n`).
fn texts(content: Content, at: &str) -> Result<String> {
    match content {
        Content::Text(text) => Ok(text),
        Content::Blocks(blocks) => {
            let mut all = Vec::with_capacity(blocks.len());
            for (i, block) in blocks.into_iter().enumerate() {
                match (block.kind.as_deref().unwrap_or(""), block.text) {
                    ("text", Some(text)) => all.push(text),
                    (kind, _) => {
                        return Err(invalid(
                            &format!("{at}[{i}]"),
                            format_args!("expected a text block, found {kind:?}"),
                        ));
                    }
                }
            }
            Ok(all.join("\n"))
        }
    }
}

/// Text and image parts (of a user turn or a tool result); `what` names the other block
/// types allowed there, for messages.
fn part(block: Block, at: &str) -> Result<ContentPart> {
    match kind_of(&block) {
        "text" => {
            Ok(ContentPart::Text(block.text.ok_or_else(|| {
                invalid(&format!("{at}.text"), "required")
            })?))
        }
        "image" => {
            let source = block
                .source
                .ok_or_else(|| invalid(&format!("{at}.source"), "required"))?;
            let at = format!("{at}.source");
            match source.kind.as_deref() {
                Some("base64") => Ok(ContentPart::Image(ImageSource::Base64 {
                    media_type: source
                        .media_type
                        .ok_or_else(|| invalid(&format!("{at}.media_type"), "required"))?,
                    data: source
                        .data
                        .ok_or_else(|| invalid(&format!("{at}.data"), "required"))?,
                })),
                Some("url") => Ok(ContentPart::Image(ImageSource::from_url(
                    source
                        .url
                        .ok_or_else(|| invalid(&format!("{at}.url"), "required"))?,
                )?)),
                other => Err(invalid(
                    &format!("{at}.type"),
                    format_args!("{other:?}: expected base64 or url"),
                )),
            }
        }
        other => Err(invalid(
            &format!("{at}.type"),
            format_args!("the block type {other:?} is not supported for this model here"),
        )),
    }
}

/// A user turn: its tool results, then its other parts.
fn user(content: Content, at: &str, messages: &mut Vec<Message>) -> Result<()> {
    let blocks = match content {
        Content::Text(text) => {
            messages.push(Message::User(vec![ContentPart::Text(text)]));
            return Ok(());
        }
        Content::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::new();
    for (i, block) in blocks.into_iter().enumerate() {
        let at = format!("{at}.content[{i}]");
        if kind_of(&block) != "tool_result" {
            parts.push(part(block, &at)?);
            continue;
        }
        let content = match block.content {
            None => Vec::new(),
            Some(Content::Text(text)) => vec![ContentPart::Text(text)],
            Some(Content::Blocks(blocks)) => blocks
                .into_iter()
                .enumerate()
                .map(|(j, b)| part(b, &format!("{at}.content[{j}]")))
                .collect::<Result<_>>()?,
        };
        messages.push(Message::Tool(ToolResult {
            tool_call_id: block
                .tool_use_id
                .ok_or_else(|| invalid(&format!("{at}.tool_use_id"), "required"))?,
            content,
            is_error: block.is_error.unwrap_or(false),
        }));
    }
    if !parts.is_empty() {
        messages.push(Message::User(parts));
    }
    Ok(())
}

/// An assistant turn.
fn assistant(content: Content, at: &str) -> Result<Message> {
    let mut turn = AssistantMessage::default();
    let blocks = match content {
        Content::Text(text) => {
            if !text.is_empty() {
                turn.content.push(ContentPart::Text(text));
            }
            return Ok(Message::Assistant(turn));
        }
        Content::Blocks(blocks) => blocks,
    };
    for (i, block) in blocks.into_iter().enumerate() {
        let at = format!("{at}.content[{i}]");
        let required = |v: Option<String>, key: &str| {
            v.ok_or_else(|| invalid(&format!("{at}.{key}"), "required"))
        };
        match kind_of(&block) {
            "text" => {
                let text = required(block.text, "text")?;
                if !text.is_empty() {
                    turn.content.push(ContentPart::Text(text));
                }
            }
            "thinking" => turn.reasoning.push(ReasoningBlock::Thinking {
                text: required(block.thinking, "thinking")?,
                signature: block.signature.filter(|s| !s.is_empty()),
            }),
            "redacted_thinking" => turn
                .reasoning
                .push(ReasoningBlock::Redacted(required(block.data, "data")?)),
            "tool_use" => turn.tool_calls.push(ToolCall {
                id: required(block.id, "id")?,
                name: required(block.name, "name")?,
                arguments: block
                    .input
                    .map_or_else(|| "{}".to_owned(), |i| String::from(Box::<str>::from(i))),
            }),
            other => {
                return Err(invalid(
                    &format!("{at}.type"),
                    format_args!(
                        "the block type {other:?} is not supported in an assistant turn for this model"
                    ),
                ));
            }
        }
    }
    Ok(Message::Assistant(turn))
}

// ---- Writing ----

/// Appends `value` as JSON; writing these types into memory cannot fail, and if it ever did,
/// nothing is appended.
fn write_json(out: &mut Vec<u8>, value: &impl Serialize) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
    }
}

/// One SSE frame `event: <name>\ndata: <json>\n\n`.
fn frame(out: &mut Vec<u8>, event: &Event<'_>) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(event.name().as_bytes());
    out.extend_from_slice(b"\ndata: ");
    write_json(out, event);
    out.extend_from_slice(b"\n\n");
}

/// Anthropic's `stop_reason` of a stop reason.
fn stop_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::Stop | StopReason::Other(_) => "end_turn",
        StopReason::Length => "max_tokens",
        StopReason::ToolCalls => "tool_use",
        StopReason::ContentFilter | StopReason::Refusal => "refusal",
    }
}

/// The message id: the upstream's when it gave one, else one made from the time.
fn message_id(upstream: Option<&str>, created: u64) -> String {
    match upstream {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("msg_{created}"),
    }
}

/// Anthropic's `usage` (the provider's wire type): input and output always, cache counts
/// only when known. Both count input apart from the cache: they map one to one.
fn usage_out(usage: &Usage) -> wire::StreamUsage {
    wire::StreamUsage {
        input_tokens: Some(u64::from(usage.input_tokens)),
        cache_creation_input_tokens: usage.cache_write_tokens.map(u64::from),
        cache_read_input_tokens: usage.cache_read_tokens.map(u64::from),
        output_tokens: Some(u64::from(usage.output_tokens)),
    }
}

/// `{}`.
#[derive(Serialize)]
struct EmptyObject {}

/// A stream event.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event<'a> {
    MessageStart {
        message: MessageOut<'a>,
    },
    ContentBlockStart {
        index: u32,
        content_block: BlockOut<'a>,
    },
    ContentBlockDelta {
        index: u32,
        delta: wire::BlockDelta<&'a str>,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: wire::MessageDelta<&'static str>,
        usage: wire::StreamUsage,
    },
    MessageStop,
    Error {
        error: ErrorObject<'a>,
    },
}

impl Event<'_> {
    /// The SSE `event:` name, the same as `type`.
    fn name(&self) -> &'static str {
        match self {
            Event::MessageStart { .. } => "message_start",
            Event::ContentBlockStart { .. } => "content_block_start",
            Event::ContentBlockDelta { .. } => "content_block_delta",
            Event::ContentBlockStop { .. } => "content_block_stop",
            Event::MessageDelta { .. } => "message_delta",
            Event::MessageStop => "message_stop",
            Event::Error { .. } => "error",
        }
    }
}

/// A `message` object: at `message_start` (empty content, zero usage) or whole.
#[derive(Serialize)]
struct MessageOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: &'a [BlockOut<'a>],
    stop_reason: Option<&'static str>,
    stop_sequence: (),
    usage: wire::StreamUsage,
}

/// A tool call's `input`: the arguments as the model wrote them, or `{}`.
#[derive(Serialize)]
#[serde(untagged)]
enum Input<'a> {
    Raw(&'a RawValue),
    Empty(EmptyObject),
}

/// A content block.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockOut<'a> {
    Text {
        text: &'a str,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Input<'a>,
    },
}

/// The kind of block open in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    /// A tool call, by its index among the response's tool calls.
    Tool(u32),
}

/// Writes Anthropic's stream events for a stream of [`ChatEvent`]s (an open model's answer).
///
/// `message_start` first (on [`ChatEvent::MessageStart`], or before anything else), then
/// content blocks numbered from 0, one open at a time: text (`text_delta`), thinking
/// (`thinking_delta`, `signature_delta`), `redacted_thinking` (whole in its start) and
/// `tool_use` (`input_json_delta` pieces as they arrive). [`ChatEvent::Finish`] closes the
/// open block and writes `message_delta` (the `stop_reason` and the usage: input and output
/// tokens, cache counts when known) and `message_stop`.
#[derive(Debug)]
pub struct EventWriter {
    model: String,
    created: u64,
    started: bool,
    open: Option<(u32, Open)>,
    next_index: u32,
    /// Block index of each tool call, by tool call index.
    tools: Vec<(u32, u32)>,
    usage: Option<Usage>,
    finished: bool,
}

impl EventWriter {
    /// A writer for one response to a request for `model`.
    pub fn new(model: &str, created: u64) -> EventWriter {
        EventWriter {
            model: model.to_owned(),
            created,
            started: false,
            open: None,
            next_index: 0,
            tools: Vec::new(),
            usage: None,
            finished: false,
        }
    }

    /// Appends the frames one event gives.
    pub fn event(&mut self, event: &ChatEvent, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        match event {
            ChatEvent::MessageStart { id, .. } => self.start(Some(id), out),
            ChatEvent::TextDelta(text) if !text.is_empty() => {
                let index = self.block(Open::Text, out);
                self.delta(index, wire::BlockDelta::TextDelta { text }, out);
            }
            ChatEvent::ReasoningDelta(text) if !text.is_empty() => {
                let index = self.block(Open::Thinking, out);
                self.delta(
                    index,
                    wire::BlockDelta::ThinkingDelta { thinking: text },
                    out,
                );
            }
            ChatEvent::ReasoningSignature(signature) => {
                let index = self.block(Open::Thinking, out);
                self.delta(index, wire::BlockDelta::SignatureDelta { signature }, out);
            }
            ChatEvent::RedactedReasoning(data) => {
                self.start(None, out);
                self.close(out);
                let index = self.take_index();
                frame(
                    out,
                    &Event::ContentBlockStart {
                        index,
                        content_block: BlockOut::RedactedThinking { data },
                    },
                );
                frame(out, &Event::ContentBlockStop { index });
            }
            ChatEvent::ToolCallStart { index, id, name } => self.tool_start(*index, id, name, out),
            ChatEvent::ToolCallArguments { index, arguments } if !arguments.is_empty() => {
                if let Some(&(_, block)) = self.tools.iter().find(|(tool, _)| tool == index) {
                    self.delta(
                        block,
                        wire::BlockDelta::InputJsonDelta {
                            partial_json: arguments,
                        },
                        out,
                    );
                }
            }
            ChatEvent::Usage(usage) => self.usage = Some(*usage),
            ChatEvent::Finish(reason) => {
                self.start(None, out);
                self.close(out);
                frame(
                    out,
                    &Event::MessageDelta {
                        delta: wire::MessageDelta {
                            stop_reason: Some(stop_reason(reason)),
                            stop_sequence: None,
                        },
                        usage: usage_out(&self.usage.unwrap_or_default()),
                    },
                );
                frame(out, &Event::MessageStop);
                self.finished = true;
            }
            ChatEvent::TextDelta(_)
            | ChatEvent::ReasoningDelta(_)
            | ChatEvent::ToolCallArguments { .. } => {}
        }
    }

    /// A tool call begins: its `tool_use` block opens (its input comes as deltas).
    fn tool_start(&mut self, index: u32, id: &str, name: &str, out: &mut Vec<u8>) {
        self.start(None, out);
        self.close(out);
        let block = self.take_index();
        frame(
            out,
            &Event::ContentBlockStart {
                index: block,
                content_block: BlockOut::ToolUse {
                    id,
                    name,
                    input: Input::Empty(EmptyObject {}),
                },
            },
        );
        self.open = Some((block, Open::Tool(index)));
        self.tools.push((index, block));
    }

    /// Appends an `error` event for a failure mid-stream (nothing follows it).
    pub fn error(&mut self, error: &Error, out: &mut Vec<u8>) {
        error_event(error, out);
        self.finished = true;
    }

    /// `message_start`, once.
    fn start(&mut self, upstream_id: Option<&str>, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = message_id(upstream_id, self.created);
        frame(
            out,
            &Event::MessageStart {
                message: MessageOut {
                    id: &id,
                    kind: "message",
                    role: "assistant",
                    model: &self.model,
                    content: &[],
                    stop_reason: None,
                    stop_sequence: (),
                    usage: usage_out(&Usage::default()),
                },
            },
        );
    }

    fn take_index(&mut self) -> u32 {
        let index = self.next_index;
        self.next_index += 1;
        index
    }

    /// The open block of this kind, or a new one.
    fn block(&mut self, kind: Open, out: &mut Vec<u8>) -> u32 {
        self.start(None, out);
        if let Some((index, open)) = self.open
            && open == kind
        {
            return index;
        }
        self.close(out);
        let index = self.take_index();
        let content_block = match kind {
            Open::Text => BlockOut::Text { text: "" },
            Open::Thinking | Open::Tool(_) => BlockOut::Thinking {
                thinking: "",
                signature: "",
            },
        };
        frame(
            out,
            &Event::ContentBlockStart {
                index,
                content_block,
            },
        );
        self.open = Some((index, kind));
        index
    }

    fn delta(&mut self, index: u32, delta: wire::BlockDelta<&str>, out: &mut Vec<u8>) {
        frame(out, &Event::ContentBlockDelta { index, delta });
    }

    /// `content_block_stop` of the open block.
    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((index, _)) = self.open.take() {
            frame(out, &Event::ContentBlockStop { index });
        }
    }
}

/// A block being collected.
#[derive(Debug)]
enum Collected {
    Text(String),
    Thinking(String, String),
    Redacted(String),
    Tool {
        index: u32,
        id: String,
        name: String,
        arguments: String,
    },
}

/// Collects [`ChatEvent`]s into one Messages `message` object (an open model's answer,
/// not streamed): the blocks in the order they came, a `tool_use` block's `input` being its
/// arguments as the model wrote them (`{}` when they are empty or not a JSON object).
#[derive(Debug)]
pub struct MessageCollector {
    model: String,
    created: u64,
    id: Option<String>,
    blocks: Vec<Collected>,
    usage: Option<Usage>,
    stop: Option<StopReason>,
}

impl MessageCollector {
    /// A collector for one response to a request for `model`.
    pub fn new(model: &str, created: u64) -> MessageCollector {
        MessageCollector {
            model: model.to_owned(),
            created,
            id: None,
            blocks: Vec::new(),
            usage: None,
            stop: None,
        }
    }

    /// Takes in one event.
    pub fn event(&mut self, event: ChatEvent) {
        match (event, self.blocks.last_mut()) {
            (ChatEvent::MessageStart { id, .. }, _) => {
                self.id.get_or_insert(id);
            }
            (ChatEvent::TextDelta(t), Some(Collected::Text(text))) => text.push_str(&t),
            (ChatEvent::TextDelta(t), _) if !t.is_empty() => self.blocks.push(Collected::Text(t)),
            (ChatEvent::ReasoningDelta(t), Some(Collected::Thinking(text, signature)))
                if signature.is_empty() =>
            {
                text.push_str(&t);
            }
            (ChatEvent::ReasoningDelta(t), _) if !t.is_empty() => {
                self.blocks.push(Collected::Thinking(t, String::new()));
            }
            (ChatEvent::ReasoningSignature(s), Some(Collected::Thinking(_, signature))) => {
                signature.push_str(&s);
            }
            (ChatEvent::ReasoningSignature(s), _) => {
                self.blocks.push(Collected::Thinking(String::new(), s));
            }
            (ChatEvent::RedactedReasoning(d), _) => self.blocks.push(Collected::Redacted(d)),
            (ChatEvent::ToolCallStart { index, id, name }, _) => {
                self.blocks.push(Collected::Tool {
                    index,
                    id,
                    name,
                    arguments: String::new(),
                })
            }
            (ChatEvent::ToolCallArguments { index, arguments }, _) => {
                let call = self.blocks.iter_mut().rev().find_map(|b| match b {
                    Collected::Tool {
                        index: i,
                        arguments,
                        ..
                    } if *i == index => Some(arguments),
                    _ => None,
                });
                if let Some(call) = call {
                    call.push_str(&arguments);
                }
            }
            (ChatEvent::Usage(usage), _) => self.usage = Some(usage),
            (ChatEvent::Finish(reason), _) => self.stop = Some(reason),
            (ChatEvent::TextDelta(_) | ChatEvent::ReasoningDelta(_), _) => {}
        }
    }

    /// The JSON body of the `message`.
    pub fn finish(self) -> Vec<u8> {
        let inputs: Vec<Option<&RawValue>> = self
            .blocks
            .iter()
            .map(|b| match b {
                Collected::Tool { arguments, .. } if arguments.trim_start().starts_with('{') => {
                    serde_json::from_str::<&RawValue>(arguments).ok()
                }
                _ => None,
            })
            .collect();
        let content: Vec<BlockOut<'_>> = self
            .blocks
            .iter()
            .zip(&inputs)
            .map(|(b, input)| match b {
                Collected::Text(text) => BlockOut::Text { text },
                Collected::Thinking(thinking, signature) => BlockOut::Thinking {
                    thinking,
                    signature,
                },
                Collected::Redacted(data) => BlockOut::RedactedThinking { data },
                Collected::Tool { id, name, .. } => BlockOut::ToolUse {
                    id,
                    name,
                    input: input.map_or(Input::Empty(EmptyObject {}), Input::Raw),
                },
            })
            .collect();
        let id = message_id(self.id.as_deref(), self.created);
        let message = MessageOut {
            id: &id,
            kind: "message",
            role: "assistant",
            model: &self.model,
            content: &content,
            stop_reason: Some(stop_reason(self.stop.as_ref().unwrap_or(&StopReason::Stop))),
            stop_sequence: (),
            usage: usage_out(&self.usage.unwrap_or_default()),
        };
        let mut out = Vec::with_capacity(256);
        write_json(&mut out, &message);
        out
    }
}

// ---- Passing a stream on ----

/// Passes a Messages event stream from Mantle on byte for byte, in whole events.
///
/// The bytes go out as Mantle wrote them, line ends included (`\n`, `\r\n` or `\r`), but
/// only up to the end of the last whole event ([`sse::WholeEvents`], the provider's SSE
/// reader); the rest of an event is held until it is complete. So when the upstream breaks,
/// the client gets whole events and then an `error` event rather than half an event, and a
/// stream that ends without `message_stop` (or an upstream `error` event) ends with an
/// `error` event too: an Anthropic client never mistakes a cut answer for a whole one. A last
/// event that came without its blank line is completed with one.
#[derive(Debug, Default)]
pub struct Relay {
    events: sse::WholeEvents,
    /// Events of the current chunk, reused.
    parsed: Vec<sse::Event>,
    /// `message_stop` or an `error` event went out.
    ended: bool,
    /// The model as the client named it, written into `message_start` in place of Mantle's
    /// (a dated name such as `claude-opus-4-7-20250929`); `None` once done or not asked.
    echo: Option<String>,
    /// The stream is over: nothing more goes out.
    done: bool,
}

/// The `type` member of an event's JSON data.
#[derive(Deserialize)]
struct Typed<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
}

/// Whether an event is of type `kind`. Mantle names its events; one without a name is known
/// by its data's `type`.
fn is_event(event: &sse::Event, kind: &str) -> bool {
    if event.event != "message" {
        return event.event == kind;
    }
    serde_json::from_str::<Typed<'_>>(&event.data)
        .ok()
        .and_then(|t| t.kind)
        .is_some_and(|k| k == kind)
}

/// Whether an event ends a Messages stream: `message_stop`, or an `error` event.
fn ends_stream(event: &sse::Event) -> bool {
    is_event(event, "message_stop") || is_event(event, "error")
}

impl Relay {
    /// A relay for one stream.
    pub fn new() -> Relay {
        Relay::default()
    }

    /// A relay that writes `model` (as the client named it) into the `message_start` event
    /// in place of the model Mantle names; every other byte passes as it came.
    pub fn echoing(model: &str) -> Relay {
        Relay {
            echo: Some(model.to_owned()),
            ..Relay::default()
        }
    }

    /// Takes in a chunk of the upstream body; appends to `out` what may go to the client. An
    /// event the face cannot read (a line over 1 MiB, an event over 5 MiB) ends the stream
    /// with an `error` event after the whole events before it.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        let from = out.len();
        let fed = self.events.feed(chunk, out, &mut self.parsed);
        self.echo_model(out, from);
        self.watch();
        if let Err(e) = fed {
            self.finish(Some(&e), out);
        }
    }

    /// The upstream body ended, cleanly (`None`) or with `failure`; appends the rest.
    pub fn end(&mut self, failure: Option<&Error>, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        let mut failure = failure.cloned();
        if failure.is_none() {
            let mid_line = self.events.ends_mid_line();
            let mut rest = Vec::new();
            match self.events.end(&mut rest, &mut self.parsed) {
                // A last line without its line end is passed on only when it is whole JSON.
                Ok(())
                    if mid_line
                        && self
                            .parsed
                            .iter()
                            .any(|e| serde_json::from_str::<de::IgnoredAny>(&e.data).is_err()) =>
                {
                    self.parsed.clear();
                    failure = Some(Error::Truncated(
                        "the upstream stream ended inside an event".into(),
                    ));
                }
                Ok(()) => {
                    let from = out.len();
                    out.extend_from_slice(&rest);
                    self.echo_model(out, from);
                }
                Err(e) => failure = Some(e),
            }
            self.watch();
        }
        self.finish(failure.as_ref(), out);
    }

    /// Whether the stream is over (ended, or failed): the caller may stop reading.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Writes the client's model into the `message_start` among the events just passed,
    /// which went out as `out[from..]`.
    fn echo_model(&mut self, out: &mut Vec<u8>, from: usize) {
        let Some(model) = &self.echo else {
            return;
        };
        let Some(start) = self.parsed.iter().find(|e| is_event(e, "message_start")) else {
            return;
        };
        if let Some(echoed) = echo_in_message_start(&out[from..], &start.data, model) {
            out.truncate(from);
            out.extend_from_slice(&echoed);
        }
        self.echo = None;
    }

    /// Notes the end of the stream among the events just passed.
    fn watch(&mut self) {
        for event in &self.parsed {
            crate::access::anthropic_event(&event.data);
        }
        if !self.ended && self.parsed.iter().any(ends_stream) {
            self.ended = true;
        }
        self.parsed.clear();
        if self.parsed.capacity() > 64 {
            self.parsed = Vec::new();
        }
    }

    /// Ends the stream: with an `error` event unless `message_stop` or an `error` event
    /// already went out.
    fn finish(&mut self, failure: Option<&Error>, out: &mut Vec<u8>) {
        self.done = true;
        if self.ended {
            return;
        }
        let error = match failure {
            Some(e) => e.clone(),
            None => Error::Truncated("the upstream stream ended before message_stop".into()),
        };
        error_event(&error, out);
        self.ended = true;
    }
}

/// The `message` member of a `message_start` event's data.
#[derive(Deserialize)]
struct StartData<'a> {
    #[serde(borrow)]
    message: ModelOf<'a>,
}

/// An object's `model` member, kept as the text it is.
#[derive(Deserialize)]
struct ModelOf<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
}

/// `events` (whole SSE events, as they go out) with the `message.model` of their
/// `message_start` event, whose data is `data`, replaced by `model`; `None` when the data has
/// no model or is not written on one line of `events`.
fn echo_in_message_start(events: &[u8], data: &str, model: &str) -> Option<Vec<u8>> {
    let start: StartData<'_> = serde_json::from_str(data).ok()?;
    let raw = start.message.model?;
    let in_data = raw.get().as_ptr() as usize - data.as_ptr() as usize;
    let text = core::str::from_utf8(events).ok()?;
    let at = text.find(data)? + in_data;
    Some(splice(events, at..at + raw.get().len(), model))
}

/// `bytes` with `range` replaced by `value` as a JSON string.
fn splice(bytes: &[u8], range: core::ops::Range<usize>, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + value.len());
    out.extend_from_slice(&bytes[..range.start]);
    write_json(&mut out, &value);
    out.extend_from_slice(&bytes[range.end..]);
    out
}

/// A whole `message` answer with its `model` replaced by `model` (as the client named it);
/// every other byte as Mantle sent it. An answer that is not a JSON object with a `model`
/// string passes unchanged.
pub fn echo_model(body: Vec<u8>, model: &str) -> Vec<u8> {
    let at = match serde_json::from_slice::<ModelOf<'_>>(&body) {
        Ok(ModelOf { model: Some(raw) }) if raw.get().starts_with('"') => {
            let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
            start..start + raw.get().len()
        }
        _ => return body,
    };
    splice(&body, at, model)
}

/// The headers that tell an Anthropic client about Mantle's request: `request-id` (where
/// Anthropic's SDKs read a request id) beside `x-request-id`, and the quota headers, as
/// [`crate::openai::answer_headers`] has them.
pub fn answer_headers(answer: &AnswerHeaders) -> Vec<(String, String)> {
    let mut headers = crate::openai::answer_headers(answer);
    if let Some(id) = &answer.request_id {
        headers.insert(0, ("request-id".to_owned(), id.clone()));
    }
    headers
}

// ---- Errors ----

/// Anthropic's error body, `{"type":"error","error":{"type","message"}}`.
#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorObject<'a>,
}

/// The `error` of an [`ErrorBody`].
#[derive(Serialize)]
struct ErrorObject<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

/// An Anthropic error body of this `type` and message, for the gateway's own refusals (a
/// wrong gateway key: `authentication_error`; an unknown path: `not_found_error`).
pub fn anthropic_error(kind: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + message.len());
    write_json(
        &mut out,
        &ErrorBody {
            kind: "error",
            error: ErrorObject { kind, message },
        },
    );
    out
}

/// An `error` stream event for a failure mid-stream.
pub fn error_event(error: &Error, out: &mut Vec<u8>) {
    let (_, kind, _) = describe(error);
    frame(
        out,
        &Event::Error {
            error: ErrorObject {
                kind,
                message: &message_of(error),
            },
        },
    );
}

/// What an Anthropic client reads in an error: the error's message, but for a context
/// overflow, which starts with Anthropic's own words, `prompt is too long`, the words
/// clients (Claude Code among them) look for before they compact a conversation.
fn message_of(error: &Error) -> std::borrow::Cow<'_, str> {
    match error {
        Error::ContextOverflow(m) if !m.starts_with(PROMPT_TOO_LONG) => {
            format!("{PROMPT_TOO_LONG}: {m}").into()
        }
        other => other.message().into(),
    }
}

/// Anthropic's words for a prompt over the context window.
const PROMPT_TOO_LONG: &str = "prompt is too long";

/// The answer to an error on `/v1/messages`, in Anthropic's shape, with the statuses of the
/// chat completions route (see [`crate::openai::error_response`]: whose fault it is decides):
///
/// | error | status | `type` |
/// | --- | --- | --- |
/// | `InvalidRequest`, `ContextOverflow` (its message starting "prompt is too long") | 400 | `invalid_request_error` |
/// | `ModelNotFound` | 404 | `not_found_error` |
/// | `RateLimited` | 429 (`retry-after` when known) | `rate_limit_error` |
/// | `Configuration`, `MissingCredentials` | 500 | `api_error` |
/// | `NotImplemented` | 501 | `api_error` |
/// | `Unauthorized`, `Forbidden`, `WrongRoute`, `Protocol`, `Truncated` | 502 | `api_error` |
/// | `UpstreamUnavailable` | 529 (upstream 503 or 529, `overloaded_error`), else 502 | |
/// | `Timeout` | 504 | `api_error` |
///
/// Faults a retry cannot mend carry `x-should-retry: false`, which Anthropic's SDKs obey.
pub fn error_response(error: &Error) -> ErrorResponse {
    let (status, kind, permanent) = describe(error);
    let mut headers = Vec::new();
    if let Error::RateLimited {
        retry_after: Some(seconds),
        ..
    } = error
    {
        headers.push(("retry-after".to_owned(), seconds.to_string()));
    }
    if permanent {
        headers.push(("x-should-retry".to_owned(), "false".to_owned()));
    }
    ErrorResponse {
        status,
        headers,
        body: anthropic_error(kind, &message_of(error)),
    }
}

/// Status, `type` and whether retrying is pointless; see [`error_response`]: the provider's
/// one table ([`policy::answer`]).
fn describe(error: &Error) -> (u16, &'static str, bool) {
    let answer = policy::answer(error);
    (
        answer.anthropic_status,
        answer.anthropic_type,
        answer.permanent,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mantle_provider::anthropic;
    use mantle_provider::model::model_id;
    use serde_json::{Value as Json, json};

    fn refusal(body: &Json) -> String {
        match parse_request(body.to_string().as_bytes()) {
            Err(Error::InvalidRequest(m)) => m,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn peek_reads_model_and_stream_only() {
        let body = br#"{"messages":[{"role":"user","content":[{"type":"thinking","deep":[[[{}]]]}]}],"model":"claude-opus-4.7","stream":true,"x":null}"#;
        let peeked = peek(body).unwrap();
        assert_eq!(peeked.model, "claude-opus-4.7");
        assert!(peeked.stream);
        assert_eq!(
            peeked.body_for_mantle(body.to_vec(), "claude-opus-4.7"),
            body.to_vec(),
            "a listed id the client wrote goes as written"
        );
        assert!(!peek(br#"{"model":"m"}"#).unwrap().stream);
        for bad in [
            &b"{}"[..],
            b"[]",
            b"not json",
            br#"{"model":""}"#,
            br#"{"model":5}"#,
        ] {
            assert!(
                matches!(peek(bad), Err(Error::InvalidRequest(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn the_model_becomes_mantles_id_and_nothing_else_moves() {
        let body = br#"{ "stream":true, "model" : "amazon-bedrock-mantle/claude-opus-4.7" ,"messages":[{"role":"user","content":"model"}]}"#;
        let peeked = peek(body).unwrap();
        assert_eq!(peeked.model, "amazon-bedrock-mantle/claude-opus-4.7");
        let id = mantle_provider::catalog::normalize(&peeked.model).id;
        assert_eq!(
            String::from_utf8(peeked.body_for_mantle(body.to_vec(), &id)).unwrap(),
            r#"{ "stream":true, "model" : "anthropic.claude-opus-4-7" ,"messages":[{"role":"user","content":"model"}]}"#
        );
        let escaped = br#"{"model":"amazon-bedrock-mantle\/deepseek.v3.2"}"#;
        let peeked = peek(escaped).unwrap();
        assert_eq!(
            peeked.body_for_mantle(escaped.to_vec(), model_id(&peeked.model)),
            br#"{"model":"deepseek.v3.2"}"#
        );
    }

    #[test]
    fn passed_on_answers_name_the_model_as_the_client_did() {
        // Mantle's Anthropic route names the dated first-party model; the client sent another.
        let start = concat!(
            "event: message_start\n",
            r#"data: {"type":"message_start","message":{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-opus-4-7-20250929","content":[],"stop_reason":null,"stop_sequence":null,"stop_details":null,"usage":{"input_tokens":12,"output_tokens":1}}}"#,
            "\n\n"
        );
        let rest = concat!(
            "event: content_block_start\n",
            r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":"","model":"not-this-one"}}"#,
            "\n\nevent: message_stop\n",
            r#"data: {"type":"message_stop"}"#,
            "\n\n"
        );
        for line_end in ["\n", "\r\n", "\r"] {
            let whole = format!("{start}{rest}").replace('\n', line_end);
            for cut in 0..=whole.len() {
                let mut relay = Relay::echoing("claude-opus-4.7");
                let mut out = Vec::new();
                relay.feed(&whole.as_bytes()[..cut], &mut out);
                relay.feed(&whole.as_bytes()[cut..], &mut out);
                relay.end(None, &mut out);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    whole.replace("claude-opus-4-7-20250929", "claude-opus-4.7"),
                    "cut at {cut}, line ends {line_end:?}"
                );
            }
        }
        let answer = br#"{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-opus-4-7-20250929","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"stop_details":null,"usage":{"input_tokens":12,"output_tokens":2}}"#;
        assert_eq!(
            echo_model(answer.to_vec(), "amazon-bedrock-mantle/claude-opus-4.7"),
            String::from_utf8_lossy(answer)
                .replace(
                    "claude-opus-4-7-20250929",
                    "amazon-bedrock-mantle/claude-opus-4.7"
                )
                .into_bytes()
        );
        assert_eq!(echo_model(b"not json".to_vec(), "m"), b"not json");
    }

    #[test]
    fn context_overflow_reads_as_anthropics_prompt_is_too_long() {
        let e = Error::ContextOverflow(
            "POST /v1/chat/completions answered 400: prompt tokens (400007) exceed model maximum (278528) for openai.gpt-5.5".into(),
        );
        let answer = error_response(&e);
        assert_eq!(answer.status, 400);
        let body: Json = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("prompt is too long: POST"), "{message}");
        assert!(message.contains("exceed model maximum"), "{message}");
        let mut out = Vec::new();
        error_event(&e, &mut out);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains(r#""message":"prompt is too long: "#),
            "mid-stream too"
        );
        // Anthropic's own refusal is not worded twice.
        let own =
            Error::ContextOverflow("prompt is too long: 210000 tokens > 200000 maximum".into());
        let body: Json = serde_json::from_slice(&error_response(&own).body).unwrap();
        assert_eq!(
            body["error"]["message"],
            "prompt is too long: 210000 tokens > 200000 maximum"
        );
    }

    #[test]
    fn answers_carry_mantles_request_id_where_each_sdk_reads_it() {
        let answer = AnswerHeaders {
            request_id: Some("req_abc".into()),
            quota: vec![("x-amzn-usage-reservation-quota".into(), "100".into())],
        };
        assert_eq!(
            answer_headers(&answer),
            [
                ("request-id".to_owned(), "req_abc".to_owned()),
                ("x-request-id".to_owned(), "req_abc".to_owned()),
                (
                    "x-amzn-usage-reservation-quota".to_owned(),
                    "100".to_owned()
                ),
            ]
        );
        assert!(answer_headers(&AnswerHeaders::default()).is_empty());
    }

    #[test]
    fn a_full_request_maps_to_the_exact_chat_request() {
        let body = json!({
            "model": "openai.gpt-oss-120b",
            "max_tokens": 1024,
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "Be kind."}],
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Use the tool.", "signature": "c2ln"},
                    {"type": "redacted_thinking", "data": "ZGF0YQ=="},
                    {"type": "text", "text": "Checking."},
                    {"type": "text", "text": ""},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris", "a": [1, 2]}}
                ]},
                {"role": "user", "content": [
                    {"type": "text", "text": "Here:"},
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18 C"}], "is_error": false},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
                ]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2", "content": "boom", "is_error": true}]}
            ],
            "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}, "cache_control": {"type": "ephemeral"}}],
            "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true},
            "temperature": 0.5,
            "top_p": 0.9,
            "top_k": 5,
            "stop_sequences": ["END"],
            "thinking": {"type": "enabled", "budget_tokens": 8000},
            "metadata": {"user_id": "u"},
            "stream": true
        });
        let parsed = parse_request(body.to_string().as_bytes()).unwrap();
        assert!(parsed.stream);
        let text = |s: &str| ContentPart::Text(s.to_owned());
        assert_eq!(
            parsed.request,
            ChatRequest {
                model: "openai.gpt-oss-120b".into(),
                messages: vec![
                    Message::System("Be brief.\nBe kind.".into()),
                    Message::User(vec![text("Weather in Paris?")]),
                    Message::Assistant(AssistantMessage {
                        reasoning: vec![
                            ReasoningBlock::Thinking {
                                text: "Use the tool.".into(),
                                signature: Some("c2ln".into())
                            },
                            ReasoningBlock::Redacted("ZGF0YQ==".into()),
                        ],
                        content: vec![text("Checking.")],
                        tool_calls: vec![ToolCall {
                            id: "toolu_1".into(),
                            name: "get_weather".into(),
                            arguments: r#"{"city":"Paris","a":[1,2]}"#.into(),
                        }],
                    }),
                    Message::Tool(ToolResult {
                        tool_call_id: "toolu_1".into(),
                        content: vec![text("18 C")],
                        is_error: false,
                    }),
                    Message::User(vec![
                        text("Here:"),
                        ContentPart::Image(ImageSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBO".into()
                        }),
                        ContentPart::Image(ImageSource::Url("https://example.com/a.png".into())),
                    ]),
                    Message::Tool(ToolResult {
                        tool_call_id: "toolu_2".into(),
                        content: vec![text("boom")],
                        is_error: true,
                    }),
                ],
                tools: vec![Tool {
                    name: "get_weather".into(),
                    description: Some("Weather".into()),
                    parameters: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#
                        .into(),
                    strict: None,
                }],
                tool_choice: Some(ToolChoice::Named("get_weather".into())),
                max_tokens: Some(1024),
                temperature: Some(0.5),
                top_p: Some(0.9),
                stop: vec!["END".into()],
                reasoning_effort: Some(ReasoningEffort::Medium),
                response_format: None,
                parallel_tool_calls: Some(false),
                seed: None,
                extra: None,
            }
        );
    }

    #[test]
    fn schemas_and_inputs_pass_as_the_client_wrote_them() {
        let schema = r#"{"type" : "object","z":1,"a":{"b":[ 1.50, "\u00e9"]}}"#;
        let input = r#"{ "z": 2, "a": 1e3 }"#;
        let body = format!(
            r#"{{"model":"m","max_tokens":5,"tools":[{{"name":"t","input_schema":{schema}}}],"messages":[{{"role":"assistant","content":[{{"type":"tool_use","id":"i","name":"t","input":{input}}}]}}]}}"#
        );
        let parsed = parse_request(body.as_bytes()).unwrap().request;
        assert_eq!(parsed.tools[0].parameters, schema);
        let Message::Assistant(turn) = &parsed.messages[0] else {
            panic!("{parsed:?}")
        };
        assert_eq!(turn.tool_calls[0].arguments, input);
    }

    #[test]
    fn choices_and_thinking_budgets_map() {
        let with = |extra: Json| {
            let mut body = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            parse_request(body.to_string().as_bytes()).unwrap().request
        };
        assert_eq!(
            with(json!({"tool_choice": {"type": "auto"}})).tool_choice,
            Some(ToolChoice::Auto)
        );
        assert_eq!(
            with(json!({"tool_choice": {"type": "any"}})).tool_choice,
            Some(ToolChoice::Required)
        );
        assert_eq!(
            with(json!({"tool_choice": {"type": "none"}})).tool_choice,
            Some(ToolChoice::None)
        );
        for (budget, effort) in [
            (1024, ReasoningEffort::Low),
            (4096, ReasoningEffort::Medium),
            (16384, ReasoningEffort::High),
        ] {
            let r = with(json!({"thinking": {"type": "enabled", "budget_tokens": budget}}));
            assert_eq!(r.reasoning_effort, Some(effort));
        }
        assert_eq!(
            with(json!({"thinking": {"type": "disabled"}})).reasoning_effort,
            None
        );
        assert_eq!(with(json!({})).max_tokens, Some(5));
        assert_eq!(
            with(json!({"system": "S"})).messages[0],
            Message::System("S".into())
        );
    }

    #[test]
    fn usage_is_written_in_anthropics_order_with_the_cache_counts_known() {
        let mut usage = Usage {
            input_tokens: 40,
            output_tokens: 12,
            ..Usage::default()
        };
        let written = |usage: &Usage| serde_json::to_string(&usage_out(usage)).unwrap();
        assert_eq!(written(&usage), r#"{"input_tokens":40,"output_tokens":12}"#);
        usage.cache_write_tokens = Some(3);
        usage.cache_read_tokens = Some(8);
        assert_eq!(
            written(&usage),
            r#"{"input_tokens":40,"cache_creation_input_tokens":3,"cache_read_input_tokens":8,"output_tokens":12}"#
        );
        assert_eq!(
            written(&Usage::default()),
            r#"{"input_tokens":0,"output_tokens":0}"#
        );
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let user = json!([{"role": "user", "content": "hi"}]);
        for (body, says) in [
            (
                json!({"max_tokens": 5, "messages": user}),
                "model: required",
            ),
            (
                json!({"model": "m", "messages": user}),
                "max_tokens: required",
            ),
            (json!({"model": "m", "max_tokens": 5}), "messages: required"),
            (
                json!({"model": "m", "max_tokens": 5, "messages": []}),
                "messages: required",
            ),
            (
                json!({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}),
                "messages[0].role: unknown role \"system\"",
            ),
            (
                json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]}),
                "messages[0].content[0].type: the block type \"document\"",
            ),
            (
                json!({"model": "m", "max_tokens": 5, "messages": user, "tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
                "tools[0].type: the server tool \"web_search_20250305\"",
            ),
            (
                json!({"model": "m", "max_tokens": 5, "messages": user, "tool_choice": {"type": "tool"}}),
                "tool_choice.name: required",
            ),
            (
                json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]}),
                "messages[0].content[0].source.type",
            ),
            (
                json!({"model": "m", "max_tokens": -1, "messages": user}),
                "max_tokens: invalid value: integer `-1`, expected u32",
            ),
            (
                json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}),
                "messages[0].content[0].text: invalid type: integer `5`, expected a string",
            ),
            (
                json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": 1}]}]}]}),
                "messages[0].content[0].content[0].type: invalid type: integer `1`",
            ),
            (
                json!({"model": "m", "max_tokens": 5, "messages": user, "thinking": {"type": "enabled", "budget_tokens": "x"}}),
                "thinking.budget_tokens: invalid type: string \"x\", expected u32",
            ),
            (json!([1, 2]), "the body is not a valid Messages request"),
        ] {
            let m = refusal(&body);
            assert!(m.contains(says), "{body}: {m}");
        }
        assert!(
            matches!(parse_request(b"{"), Err(Error::InvalidRequest(m)) if m.contains("not JSON"))
        );
    }

    #[test]
    fn items_are_counted_across_the_request() {
        let many = vec![json!("s"); MAX_ITEMS];
        let body = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "stop_sequences": many});
        assert!(refusal(&body).contains("too many items"));
        let tools: Vec<Json> = (0..=MAX_TOOLS)
            .map(|i| json!({"name": format!("t{i}")}))
            .collect();
        let body = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tools": tools});
        assert!(refusal(&body).contains("at most 128"));
    }

    /// Events as an open model's stream gives them: reasoning, text, two tool calls, usage.
    fn transcript() -> Vec<ChatEvent> {
        vec![
            ChatEvent::MessageStart {
                id: "chatcmpl-1".into(),
                model: "openai.gpt-oss-120b".into(),
            },
            ChatEvent::ReasoningDelta("Think ".into()),
            ChatEvent::ReasoningDelta("\"hard\"".into()),
            ChatEvent::TextDelta("Checking ".into()),
            ChatEvent::TextDelta("both.".into()),
            ChatEvent::ToolCallStart {
                index: 0,
                id: "call_1".into(),
                name: "get_weather".into(),
            },
            ChatEvent::ToolCallArguments {
                index: 0,
                arguments: "{\"city\": \"Pa".into(),
            },
            ChatEvent::ToolCallArguments {
                index: 0,
                arguments: "ris\"}".into(),
            },
            ChatEvent::ToolCallStart {
                index: 1,
                id: "call_2".into(),
                name: "get_time".into(),
            },
            ChatEvent::ToolCallArguments {
                index: 1,
                arguments: "{}".into(),
            },
            ChatEvent::Usage(Usage {
                input_tokens: 40,
                output_tokens: 12,
                cache_read_tokens: Some(8),
                cache_write_tokens: None,
                reasoning_tokens: None,
                cost: None,
            }),
            ChatEvent::Finish(StopReason::ToolCalls),
        ]
    }

    /// The provider's own Anthropic mapper reading what the writer wrote.
    fn read_back(sse: &[u8]) -> (Vec<ChatEvent>, Option<Error>) {
        let mut stream = anthropic::event_stream();
        let mut events = Vec::new();
        let error = stream
            .feed(sse, &mut events)
            .and_then(|()| stream.end(&mut events))
            .err();
        (events, error)
    }

    #[test]
    fn written_events_read_back_as_the_same_events() {
        let mut writer = EventWriter::new("openai.gpt-oss-120b", 1_800_000_000);
        let mut out = Vec::new();
        for e in transcript() {
            writer.event(&e, &mut out);
        }
        let (events, error) = read_back(&out);
        assert_eq!(error, None, "{}", String::from_utf8_lossy(&out));
        assert_eq!(events, transcript());
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"chatcmpl-1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"openai.gpt-oss-120b\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"), "{text}");
        assert!(text.ends_with("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":40,\"cache_read_input_tokens\":8,\"output_tokens\":12}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{text}");
    }

    #[test]
    fn a_bare_stream_still_starts_and_ends() {
        let mut writer = EventWriter::new("m", 7);
        let mut out = Vec::new();
        writer.event(&ChatEvent::TextDelta("hi".into()), &mut out);
        writer.event(&ChatEvent::RedactedReasoning("opaque".into()), &mut out);
        writer.event(&ChatEvent::Finish(StopReason::Length), &mut out);
        writer.event(&ChatEvent::TextDelta("late".into()), &mut out);
        let (events, error) = read_back(&out);
        assert_eq!(error, None);
        assert_eq!(
            events,
            vec![
                ChatEvent::MessageStart {
                    id: "msg_7".into(),
                    model: "m".into()
                },
                ChatEvent::TextDelta("hi".into()),
                ChatEvent::RedactedReasoning("opaque".into()),
                ChatEvent::Usage(Usage::default()),
                ChatEvent::Finish(StopReason::Length),
            ]
        );
    }

    #[test]
    fn an_error_mid_stream_is_an_anthropic_error_event() {
        let mut writer = EventWriter::new("m", 7);
        let mut out = Vec::new();
        writer.event(&ChatEvent::TextDelta("hi".into()), &mut out);
        writer.error(&Error::Truncated("the stream broke".into()), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"the stream broke\"}}\n\n"), "{text}");
    }

    #[test]
    fn a_transcript_collects_into_one_message() {
        let mut collector = MessageCollector::new("openai.gpt-oss-120b", 1);
        for e in transcript() {
            collector.event(e);
        }
        let body: Json = serde_json::from_slice(&collector.finish()).unwrap();
        assert_eq!(
            body,
            json!({
                "id": "chatcmpl-1", "type": "message", "role": "assistant", "model": "openai.gpt-oss-120b",
                "content": [
                    {"type": "thinking", "thinking": "Think \"hard\"", "signature": ""},
                    {"type": "text", "text": "Checking both."},
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 40, "cache_read_input_tokens": 8, "output_tokens": 12}
            })
        );
        let mut broken = MessageCollector::new("m", 1);
        for e in [
            ChatEvent::ToolCallStart {
                index: 0,
                id: "c".into(),
                name: "t".into(),
            },
            ChatEvent::ToolCallArguments {
                index: 0,
                arguments: "{\"a\":".into(),
            },
        ] {
            broken.event(e);
        }
        let body: Json = serde_json::from_slice(&broken.finish()).unwrap();
        assert_eq!(
            body["content"][0]["input"],
            json!({}),
            "arguments that are no JSON object give {{}}"
        );
        assert_eq!(body["stop_reason"], "end_turn");
    }

    const UPSTREAM: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQB+/==\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    #[test]
    fn the_relay_passes_every_byte_in_whole_events_wherever_chunks_are_cut() {
        let bytes = UPSTREAM.as_bytes();
        for cut in 0..=bytes.len() {
            let mut relay = Relay::new();
            let mut out = Vec::new();
            relay.feed(&bytes[..cut], &mut out);
            assert!(out.is_empty() || out.ends_with(b"\n\n"), "cut at {cut}");
            relay.feed(&bytes[cut..], &mut out);
            relay.end(None, &mut out);
            assert_eq!(out, bytes, "cut at {cut}");
        }
    }

    #[test]
    fn a_cut_or_unfinished_upstream_stream_ends_with_an_error_event() {
        let bytes = UPSTREAM.as_bytes();
        let stop = UPSTREAM.find("event: message_stop").unwrap();
        for cut in [10, stop, stop + 5] {
            let mut relay = Relay::new();
            let mut out = Vec::new();
            relay.feed(&bytes[..cut], &mut out);
            let broke = Error::Truncated("the stream broke before its final event: reset".into());
            relay.end(Some(&broke), &mut out);
            let text = String::from_utf8(out).unwrap();
            let (whole, error) = text.rsplit_once("event: error\n").unwrap();
            assert!(UPSTREAM.starts_with(whole), "only whole events: {text}");
            assert!(whole.is_empty() || whole.ends_with("\n\n"));
            assert!(error.contains("\"type\":\"api_error\""), "{error}");
        }
        let mut relay = Relay::new();
        let mut out = Vec::new();
        relay.feed(&bytes[..stop], &mut out);
        relay.end(None, &mut out);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("ended before message_stop")
        );

        let upstream_error = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let mut relay = Relay::new();
        let mut out = Vec::new();
        relay.feed(upstream_error.as_bytes(), &mut out);
        relay.end(None, &mut out);
        assert_eq!(
            out,
            upstream_error.as_bytes(),
            "the upstream's own error event ends it"
        );
    }

    /// `UPSTREAM` with its line ends replaced by `end`.
    fn framed(end: &str) -> Vec<u8> {
        UPSTREAM.replace('\n', end).into_bytes()
    }

    #[test]
    fn the_relay_passes_crlf_and_cr_streams_in_whole_events_and_ends_them_cleanly() {
        for end in ["\r\n", "\r"] {
            let bytes = framed(end);
            let blank = end.repeat(2);
            // Where whole events end: after each blank line, or between its CR and LF.
            let mut ends = vec![0];
            for (at, _) in String::from_utf8(bytes.clone())
                .unwrap()
                .match_indices(&blank)
            {
                ends.extend([at + end.len() + 1, at + blank.len()]);
            }
            for cut in 0..=bytes.len() {
                let mut relay = Relay::new();
                let mut out = Vec::new();
                relay.feed(&bytes[..cut], &mut out);
                // Every whole event at once, never a byte more.
                let whole = ends.iter().copied().filter(|&e| e <= cut).max().unwrap();
                assert_eq!(out, &bytes[..whole], "{end:?} cut at {cut}");
                relay.feed(&bytes[cut..], &mut out);
                relay.end(None, &mut out);
                assert_eq!(
                    out, bytes,
                    "{end:?} cut at {cut}: no error event after message_stop"
                );
                assert!(relay.done());
            }
            // Streamed as it comes: each event goes out once its blank line is in.
            let mut relay = Relay::new();
            let mut out = Vec::new();
            let first = UPSTREAM.find("\n\n").unwrap() + 2;
            let first = UPSTREAM[..first].replace('\n', end).len();
            relay.feed(&bytes[..first], &mut out);
            assert_eq!(out, &bytes[..first]);
        }
    }

    #[test]
    fn the_relay_completes_a_last_event_left_without_its_blank_line() {
        for end in ["\n", "\r\n", "\r"] {
            let whole = framed(end);
            for missing in [end.len(), 2 * end.len()] {
                let mut relay = Relay::new();
                let mut out = Vec::new();
                relay.feed(&whole[..whole.len() - missing], &mut out);
                relay.end(None, &mut out);
                assert_eq!(out, whole, "{end:?} less {missing} bytes");
            }
        }
        // A last line cut inside its JSON is not passed on: an error event follows the whole
        // events instead.
        let stop = UPSTREAM.find("{\"type\":\"message_stop\"}").unwrap();
        let mut relay = Relay::new();
        let mut out = Vec::new();
        relay.feed(&UPSTREAM.as_bytes()[..stop + 10], &mut out);
        relay.end(None, &mut out);
        let text = String::from_utf8(out).unwrap();
        let (whole, error) = text.rsplit_once("event: error\n").unwrap();
        assert_eq!(
            whole,
            &UPSTREAM[..UPSTREAM.find("event: message_stop").unwrap()]
        );
        assert!(error.contains("ended inside an event"), "{error}");
    }

    #[test]
    fn the_relay_reads_events_not_byte_patterns() {
        // JSON written with spaces, as many servers write it, framed with CR LF.
        let spaced = UPSTREAM
            .replace("\"type\":\"", "\"type\": \"")
            .replace('\n', "\r\n");
        assert!(spaced.contains("{\"type\": \"message_stop\"}\r\n\r\n"));
        let mut relay = Relay::new();
        let mut out = Vec::new();
        for piece in spaced.as_bytes().chunks(7) {
            relay.feed(piece, &mut out);
        }
        relay.end(None, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            spaced,
            "no error event after message_stop"
        );
        // An upstream `error` event ends the stream as message_stop does.
        let error = "event: error\r\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\r\n\r\n";
        let mut relay = Relay::new();
        let mut out = Vec::new();
        relay.feed(error.as_bytes(), &mut out);
        relay.end(None, &mut out);
        assert_eq!(out, error.as_bytes());
    }

    #[test]
    fn the_relay_knows_an_unnamed_message_stop_by_its_type() {
        let unnamed =
            "data: {\"type\":\"message_start\"}\r\n\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
        let mut relay = Relay::new();
        let mut out = Vec::new();
        relay.feed(unnamed.as_bytes(), &mut out);
        relay.end(None, &mut out);
        assert_eq!(out, unnamed.as_bytes());
        // An event the face cannot hold (a line over 1 MiB) ends the stream with an error.
        let mut relay = Relay::new();
        let mut out = Vec::new();
        relay.feed(
            b"event: ping\ndata: {\"type\":\"ping\"}\n\ndata: ",
            &mut out,
        );
        relay.feed(&vec![b'x'; 2 << 20], &mut out);
        assert!(relay.done());
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("event: ping\ndata: {\"type\":\"ping\"}\n\nevent: error\n"),
            "{}",
            &text[..80]
        );
        let mut more = Vec::new();
        relay.feed(b"\n\n", &mut more);
        relay.end(None, &mut more);
        assert!(more.is_empty(), "nothing after the error event");
    }

    #[test]
    fn errors_answer_in_anthropics_shape() {
        for (error, status, kind, retry) in [
            (
                Error::InvalidRequest("bad".into()),
                400,
                "invalid_request_error",
                None,
            ),
            (
                Error::ModelNotFound("gone".into()),
                404,
                "not_found_error",
                None,
            ),
            (
                Error::RateLimited {
                    message: "slow".into(),
                    retry_after: Some(9),
                },
                429,
                "rate_limit_error",
                Some("9"),
            ),
            (
                Error::UpstreamUnavailable {
                    status: Some(529),
                    message: "busy".into(),
                },
                529,
                "overloaded_error",
                None,
            ),
            (
                Error::UpstreamUnavailable {
                    status: Some(500),
                    message: "down".into(),
                },
                502,
                "api_error",
                None,
            ),
            (Error::Configuration("conf".into()), 500, "api_error", None),
            (Error::Timeout("slow".into()), 504, "api_error", None),
        ] {
            let answer = error_response(&error);
            assert_eq!(answer.status, status, "{error:?}");
            let body: Json = serde_json::from_slice(&answer.body).unwrap();
            assert_eq!(
                body,
                json!({"type": "error", "error": {"type": kind, "message": error.message()}})
            );
            let got = answer
                .headers
                .iter()
                .find(|(k, _)| k == "retry-after")
                .map(|(_, v)| v.as_str());
            assert_eq!(got, retry);
        }
        let permanent = error_response(&Error::Configuration("c".into()));
        assert!(
            permanent
                .headers
                .contains(&("x-should-retry".into(), "false".into()))
        );
    }
}
