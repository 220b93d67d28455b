//! The face's `POST /v1/responses`: OpenAI's Responses API in front of every model, with no
//! I/O.
//!
//! A Responses request becomes the provider's [`ChatRequest`] ([`parse_responses_request`]),
//! whatever route the model is served on: GPT-5.x goes over Mantle's Responses route, chat
//! models over chat completions, Claude over the Anthropic route. The provider's
//! [`ChatEvent`]s come back in the Responses shape ([`ResponsesWriter`]): streamed, the event
//! sequence OpenAI sends (`response.created`, `response.in_progress`, per output item
//! `response.output_item.added`, its content part, deltas and `.done` events, then
//! `response.completed` or `response.incomplete`, each with its `sequence_number`); not
//! streamed, one `response` object.
//!
//! Reading is serde's: unknown members are skipped as they are read, and a tool's
//! `parameters` are kept as the text the client wrote. Strings-or-arrays are read by small
//! visitors, never through a tree, and every array counts against one item budget
//! ([`crate::openai::MAX_ITEMS`]).
//!
//! Reasoning reaches the client as reasoning summaries; a Claude thinking block's signature
//! (or redacted thinking) travels as the reasoning item's `encrypted_content`, and a client
//! that replays the item gives it back intact.

use mantle_provider::chat::{
    AssistantMessage, ChatEvent, ChatRequest, ContentPart, ImageSource, Message, ReasoningBlock,
    ReasoningEffort, StopReason, Tool, ToolCall, ToolChoice, ToolResult, Usage,
};
use mantle_provider::error::{Error, Result};
use serde::de;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::openai::MAX_TOOLS;
/// The one item budget of every surface ([`crate::read`]).
pub use crate::read::MAX_ITEMS;
use crate::read::{Items, TextOr, from_slice};

// ---- Requests ----

/// A parsed Responses request.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedResponses {
    /// The request for the provider.
    pub request: ChatRequest,
    /// `stream`: answer with SSE events rather than one object; `false` when absent.
    pub stream: bool,
    /// `reasoning.effort` as the client wrote it, echoed in the response.
    pub effort: Option<String>,
}

/// The members of a Responses body the face reads.
#[derive(Deserialize)]
struct Body<'a> {
    model: Option<String>,
    input: Option<TextOr<Item>>,
    instructions: Option<String>,
    #[serde(borrow)]
    tools: Option<Items<ToolDef<'a>>>,
    tool_choice: Option<ToolChoiceIn>,
    reasoning: Option<ReasoningIn>,
    max_output_tokens: Option<u32>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    stream: Option<bool>,
    parallel_tool_calls: Option<bool>,
    previous_response_id: Option<String>,
    conversation: Option<de::IgnoredAny>,
}

/// An input item: a message (with or without `type`), a function call or its output, a
/// reasoning item.
#[derive(Deserialize)]
struct Item {
    #[serde(rename = "type")]
    kind: Option<String>,
    role: Option<String>,
    content: Option<TextOr<Part>>,
    call_id: Option<String>,
    name: Option<String>,
    arguments: Option<String>,
    output: Option<TextOr<Part>>,
    summary: Option<Items<Part>>,
    encrypted_content: Option<String>,
}

/// A content part: `input_text`, `output_text`, `input_image`, `summary_text`, `refusal`.
#[derive(Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    refusal: Option<String>,
    image_url: Option<String>,
}

/// A tool; only `function` tools can be served.
#[derive(Deserialize)]
struct ToolDef<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    description: Option<String>,
    #[serde(borrow)]
    parameters: Option<&'a RawValue>,
    strict: Option<bool>,
}

/// `tool_choice`: a mode, or `{"type":"function","name":…}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ToolChoiceIn {
    Mode(String),
    Named {
        #[serde(rename = "type")]
        kind: String,
        name: Option<String>,
    },
}

/// `reasoning`.
#[derive(Deserialize)]
struct ReasoningIn {
    effort: Option<String>,
}

/// Parses an OpenAI `POST /v1/responses` body.
///
/// The mapping:
///
/// - `model` (a non-empty string) and `input` (a string, or a non-empty array of items) are
///   required; `instructions` becomes the first system message.
/// - Items: messages (`type: "message"`, or no type with a `role`) of roles `system` and
///   `developer` (system), `user` (`input_text` and `input_image` parts) and `assistant`
///   (`output_text` and `refusal` parts); `function_call` items join the assistant turn
///   before them, `function_call_output` items become tool results; `reasoning` items
///   (their summary texts, and `encrypted_content` kept as the thinking block's signature,
///   or as redacted reasoning without a summary) open the next assistant turn.
/// - `tools` of type `function` (`parameters` kept as written), `tool_choice`,
///   `reasoning.effort` (`minimal`/`low` low, `medium`, `high`/`xhigh` high, `none` unset),
///   `max_output_tokens`, `temperature`, `top_p`, `stream`.
/// - `previous_response_id` and `conversation` are refused: the gateway keeps no responses
///   (it asks Mantle to store nothing), so the client sends the whole conversation.
///
/// Unknown members are skipped; more than [`MAX_ITEMS`] items in all or more than
/// [`MAX_TOOLS`] tools are refused.
pub fn parse_responses_request(body: &[u8]) -> Result<ParsedResponses> {
    let body: Body<'_> = from_slice(body, "a Responses request")?;
    if body.previous_response_id.is_some() || body.conversation.is_some() {
        return Err(Error::InvalidRequest(
            "previous_response_id and conversation are not supported: this gateway keeps no \
             responses, so send the whole conversation in input"
                .to_owned(),
        ));
    }
    let model = body
        .model
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| Error::InvalidRequest("model: a non-empty string is required".into()))?;
    let messages = conversation(body.instructions, body.input)?;
    let tools = tools_of(body.tools)?;
    let tool_choice = tool_choice_of(body.tool_choice)?;
    let effort = body.reasoning.and_then(|r| r.effort);
    let reasoning_effort = effort_of(effort.as_deref())?;
    Ok(ParsedResponses {
        request: ChatRequest {
            model,
            messages,
            tools,
            tool_choice,
            max_tokens: body.max_output_tokens,
            temperature: body.temperature,
            top_p: body.top_p,
            stop: Vec::new(),
            reasoning_effort,
            response_format: None,
            parallel_tool_calls: body.parallel_tool_calls,
            seed: None,
            extra: None,
        },
        stream: body.stream.unwrap_or(false),
        effort,
    })
}

/// The conversation: the instructions as a system message, then the input (a string is one
/// user turn); it must have a user turn.
fn conversation(instructions: Option<String>, input: Option<TextOr<Item>>) -> Result<Vec<Message>> {
    let mut messages = Vec::new();
    if let Some(instructions) = instructions.filter(|i| !i.is_empty()) {
        messages.push(Message::System(instructions));
    }
    match input {
        None => {
            return Err(Error::InvalidRequest(
                "input: a string or an array of items is required".into(),
            ));
        }
        Some(TextOr::Text(text)) => messages.push(Message::User(vec![ContentPart::Text(text)])),
        Some(TextOr::List(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                add_item(&mut messages, item, i)?;
            }
        }
    }
    if !messages.iter().any(|m| !matches!(m, Message::System(_))) {
        return Err(Error::InvalidRequest(
            "input: the conversation has no user turn".into(),
        ));
    }
    Ok(messages)
}

/// The function tools; any other kind is refused.
fn tools_of(tools: Option<Items<ToolDef<'_>>>) -> Result<Vec<Tool>> {
    let tools = tools.map(|t| t.0).unwrap_or_default();
    if tools.len() > MAX_TOOLS {
        return Err(Error::InvalidRequest(format!(
            "tools: at most {MAX_TOOLS} tools, found {}",
            tools.len()
        )));
    }
    tools
        .into_iter()
        .enumerate()
        .map(|(i, tool)| match tool.kind.as_deref() {
            Some("function") => Ok(Tool {
                name: tool
                    .name
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| Error::InvalidRequest(format!("tools[{i}].name is required")))?,
                description: tool.description,
                parameters: tool
                    .parameters
                    .map(|p| p.get().to_owned())
                    .unwrap_or_default(),
                strict: tool.strict,
            }),
            other => Err(Error::InvalidRequest(format!(
                "tools[{i}]: only function tools are served here, not {}",
                other.unwrap_or("a tool without a type")
            ))),
        })
        .collect::<Result<Vec<_>>>()
}

/// The tool choice: a mode, or a function named.
fn tool_choice_of(tool_choice: Option<ToolChoiceIn>) -> Result<Option<ToolChoice>> {
    Ok(match tool_choice {
        None => None,
        Some(ToolChoiceIn::Mode(mode)) => Some(match mode.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(Error::InvalidRequest(format!(
                    "tool_choice: expected auto, none or required, found {other:?}"
                )));
            }
        }),
        Some(ToolChoiceIn::Named { kind, name }) => match (kind.as_str(), name) {
            ("function", Some(name)) => Some(ToolChoice::Named(name)),
            _ => {
                return Err(Error::InvalidRequest(
                    "tool_choice: only {\"type\":\"function\",\"name\":…} names a tool here".into(),
                ));
            }
        },
    })
}

/// The reasoning effort of `reasoning.effort` (`minimal` reads as low, `xhigh` as high).
fn effort_of(effort: Option<&str>) -> Result<Option<ReasoningEffort>> {
    Ok(match effort {
        None | Some("none") => None,
        Some("minimal" | "low") => Some(ReasoningEffort::Low),
        Some("medium") => Some(ReasoningEffort::Medium),
        Some("high" | "xhigh") => Some(ReasoningEffort::High),
        Some(other) => {
            return Err(Error::InvalidRequest(format!(
                "reasoning.effort: expected minimal, low, medium or high, found {other:?}"
            )));
        }
    })
}

/// The text of parts (or a string), joined.
fn joined_text(content: Option<TextOr<Part>>) -> String {
    match content {
        None => String::new(),
        Some(TextOr::Text(text)) => text,
        Some(TextOr::List(parts)) => parts
            .into_iter()
            .filter_map(|p| p.text.or(p.refusal))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Adds to the assistant turn new content joins (`add` does): the last message when it is an
/// assistant turn that `fits`, else a new one.
fn with_assistant_turn(
    messages: &mut Vec<Message>,
    fits: impl Fn(&AssistantMessage) -> bool,
    add: impl FnOnce(&mut AssistantMessage),
) {
    let mut turn = match messages.pop() {
        Some(Message::Assistant(turn)) if fits(&turn) => turn,
        Some(other) => {
            messages.push(other);
            AssistantMessage::default()
        }
        None => AssistantMessage::default(),
    };
    add(&mut turn);
    messages.push(Message::Assistant(turn));
}

/// Adds input item `i` to the conversation.
fn add_item(messages: &mut Vec<Message>, item: Item, i: usize) -> Result<()> {
    let kind = item
        .kind
        .as_deref()
        .or(item.role.as_ref().map(|_| "message"));
    match kind {
        Some("message") => add_message(messages, item, i)?,
        Some("function_call") => {
            let (Some(call_id), Some(name)) = (item.call_id, item.name) else {
                return Err(Error::InvalidRequest(format!(
                    "input[{i}]: a function_call needs call_id and name"
                )));
            };
            let call = ToolCall {
                id: call_id,
                name,
                arguments: item.arguments.unwrap_or_default(),
            };
            with_assistant_turn(messages, |_| true, |turn| turn.tool_calls.push(call));
        }
        Some("function_call_output") => {
            let Some(call_id) = item.call_id else {
                return Err(Error::InvalidRequest(format!(
                    "input[{i}]: a function_call_output needs call_id"
                )));
            };
            messages.push(Message::Tool(ToolResult {
                tool_call_id: call_id,
                content: vec![ContentPart::Text(joined_text(item.output))],
                is_error: false,
            }));
        }
        Some("reasoning") => add_reasoning(messages, item),
        other => {
            return Err(Error::InvalidRequest(format!(
                "input[{i}]: items of type {} are not served here",
                other.map_or_else(|| "(none)".to_owned(), |k| format!("{k:?}"))
            )));
        }
    }
    Ok(())
}

/// A message item: a system or developer text, a user turn, or the text of an assistant
/// turn.
fn add_message(messages: &mut Vec<Message>, item: Item, i: usize) -> Result<()> {
    let role = item.role.as_deref().unwrap_or("");
    match role {
        "system" | "developer" => messages.push(Message::System(joined_text(item.content))),
        "user" => {
            let parts = match item.content {
                None => Vec::new(),
                Some(TextOr::Text(text)) => vec![ContentPart::Text(text)],
                Some(TextOr::List(parts)) => parts
                    .into_iter()
                    .enumerate()
                    .map(|(j, part)| user_part(part, i, j))
                    .collect::<Result<Vec<_>>>()?,
            };
            if parts.is_empty() {
                return Err(Error::InvalidRequest(format!(
                    "input[{i}]: a user message needs content"
                )));
            }
            messages.push(Message::User(parts));
        }
        "assistant" => {
            let text = joined_text(item.content);
            with_assistant_turn(
                messages,
                |t| t.tool_calls.is_empty(),
                |turn| {
                    if !text.is_empty() {
                        turn.content.push(ContentPart::Text(text));
                    }
                },
            );
        }
        other => {
            return Err(Error::InvalidRequest(format!(
                "input[{i}].role: expected system, developer, user or assistant, found {other:?}"
            )));
        }
    }
    Ok(())
}

/// A reasoning item: its summary text (with its encrypted content as the signature), or
/// its encrypted content alone; an empty one adds nothing.
fn add_reasoning(messages: &mut Vec<Message>, item: Item) {
    let text: String = item
        .summary
        .map(|s| s.0)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.text)
        .collect::<Vec<_>>()
        .join("\n\n");
    let block = match (text.is_empty(), item.encrypted_content) {
        (true, Some(data)) => ReasoningBlock::Redacted(data),
        (true, None) => return,
        (false, signature) => ReasoningBlock::Thinking { text, signature },
    };
    with_assistant_turn(
        messages,
        |t| t.content.is_empty() && t.tool_calls.is_empty(),
        |turn| turn.reasoning.push(block),
    );
}

/// A user content part.
fn user_part(part: Part, i: usize, j: usize) -> Result<ContentPart> {
    match part.kind.as_deref() {
        Some("input_text" | "text" | "output_text") => {
            Ok(ContentPart::Text(part.text.unwrap_or_default()))
        }
        Some("input_image") => match part.image_url {
            Some(url) => Ok(ContentPart::Image(ImageSource::from_url(url)?)),
            None => Err(Error::InvalidRequest(format!(
                "input[{i}].content[{j}]: an input_image needs image_url (file ids are not served)"
            ))),
        },
        other => Err(Error::InvalidRequest(format!(
            "input[{i}].content[{j}]: parts of type {} are not served here",
            other.map_or_else(|| "(none)".to_owned(), |k| format!("{k:?}"))
        ))),
    }
}

// ---- Answers ----

/// An output item being built.
#[derive(Debug)]
enum OutputItem {
    /// Reasoning: its summary text and signature (or redacted data).
    Reasoning {
        id: String,
        text: String,
        encrypted: Option<String>,
    },
    /// Visible text.
    Message { id: String, text: String },
    /// A function call.
    Call {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
    },
}

impl OutputItem {
    /// The item as the Responses API shows it, `status` given for messages and calls.
    fn to_json(&self, status: &str) -> Value {
        match self {
            OutputItem::Reasoning {
                id,
                text,
                encrypted,
            } => {
                let summary = if text.is_empty() {
                    json!([])
                } else {
                    json!([{"type": "summary_text", "text": text}])
                };
                let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
                if let (Some(data), Value::Object(map)) = (encrypted, &mut item) {
                    map.insert("encrypted_content".into(), Value::String(data.clone()));
                }
                item
            }
            OutputItem::Message { id, text } => json!({
                "id": id, "type": "message", "status": status, "role": "assistant",
                "content": if status == "in_progress" {
                    json!([])
                } else {
                    json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}])
                },
            }),
            OutputItem::Call {
                id,
                call_id,
                name,
                arguments,
            } => json!({
                "id": id, "type": "function_call", "status": status,
                "arguments": if status == "in_progress" { "" } else { arguments.as_str() },
                "call_id": call_id, "name": name,
            }),
        }
    }
}

/// A text delta event, written without a tree.
#[derive(Serialize)]
struct TextDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    sequence_number: u64,
    item_id: &'a str,
    output_index: usize,
    content_index: usize,
    delta: &'a str,
    logprobs: [(); 0],
}

/// A reasoning summary delta event.
#[derive(Serialize)]
struct SummaryDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    sequence_number: u64,
    item_id: &'a str,
    output_index: usize,
    summary_index: usize,
    delta: &'a str,
}

/// A function call arguments delta event.
#[derive(Serialize)]
struct ArgumentsDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    sequence_number: u64,
    item_id: &'a str,
    output_index: usize,
    delta: &'a str,
}

/// Turns the provider's [`ChatEvent`]s into the Responses API's answer: SSE events as they
/// come when streaming ([`ResponsesWriter::event`] appends frames), or one `response` object
/// at the end ([`ResponsesWriter::finish`]).
///
/// The output items are kept (as the final `response` object carries them), so memory grows
/// with the answer, which the model's output limit bounds. Items open and close in order:
/// a new kind of output closes the item before it (its `.done` events), function calls stay
/// open until the next message or reasoning item or the end, so interleaved argument
/// pieces find their call.
#[derive(Debug)]
pub struct ResponsesWriter {
    /// Whether frames are written.
    stream: bool,
    /// `id` of the response.
    id: String,
    /// The model, as the client named it.
    model: String,
    /// `created_at`.
    created: u64,
    /// `reasoning.effort` as asked.
    effort: Option<String>,
    /// `response.created` was written.
    started: bool,
    /// The next `sequence_number`.
    sequence: u64,
    /// Output items, in order.
    items: Vec<OutputItem>,
    /// Index (into `items`) of the open message or reasoning item.
    open: Option<usize>,
    /// Open function calls: their item index, by tool call position.
    calls: Vec<usize>,
    /// How many calls are already closed (their `.done` events written).
    calls_closed: usize,
    /// Token counts.
    usage: Option<Usage>,
    /// Why the model stopped.
    finish: Option<StopReason>,
}

impl ResponsesWriter {
    /// A writer for an answer of `model` begun at `created` (seconds).
    pub fn new(model: &str, created: u64, effort: Option<String>, stream: bool) -> Self {
        ResponsesWriter {
            stream,
            id: format!("resp_{created:x}"),
            model: model.to_owned(),
            created,
            effort,
            started: false,
            sequence: 0,
            items: Vec::new(),
            open: None,
            calls: Vec::new(),
            calls_closed: 0,
            usage: None,
            finish: None,
        }
    }

    /// Writes one frame `event: <type>` / `data: <json>`.
    fn frame(&mut self, out: &mut Vec<u8>, kind: &str, body: impl FnOnce(u64) -> Vec<u8>) {
        let sequence = self.sequence;
        self.sequence += 1;
        if !self.stream {
            return;
        }
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        out.extend_from_slice(&body(sequence));
        out.extend_from_slice(b"\n\n");
    }

    /// Writes an event given as a JSON object without `type` and `sequence_number`.
    fn value_frame(&mut self, out: &mut Vec<u8>, kind: &'static str, fields: Value) {
        self.frame(out, kind, |sequence| {
            let mut event = serde_json::Map::new();
            event.insert("type".into(), Value::from(kind));
            event.insert("sequence_number".into(), Value::from(sequence));
            if let Value::Object(fields) = fields {
                event.extend(fields);
            }
            serde_json::to_vec(&Value::Object(event)).unwrap_or_default()
        });
    }

    /// The `response` object with `status` and the items so far.
    fn response(&self, status: &str) -> Value {
        let done = status != "in_progress";
        let output: Vec<Value> = if done {
            self.items.iter().map(|i| i.to_json("completed")).collect()
        } else {
            Vec::new()
        };
        let incomplete = match (&self.finish, status) {
            (Some(StopReason::Length), "incomplete") => json!({"reason": "max_output_tokens"}),
            (Some(_), "incomplete") => json!({"reason": "content_filter"}),
            _ => Value::Null,
        };
        let usage = match (&self.usage, done) {
            (Some(u), true) => {
                let cached = u.cache_read_tokens.unwrap_or(0);
                let input = u64::from(u.input_tokens)
                    + u64::from(cached)
                    + u64::from(u.cache_write_tokens.unwrap_or(0));
                let mut usage = json!({
                    "input_tokens": input,
                    "input_tokens_details": {"cached_tokens": cached},
                    "output_tokens": u.output_tokens,
                    "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens.unwrap_or(0)},
                    "total_tokens": input + u64::from(u.output_tokens),
                });
                if let Some(cost) = crate::cost::body(u) {
                    usage["cost"] = json!(cost);
                }
                usage
            }
            _ => Value::Null,
        };
        json!({
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "background": false,
            "error": null,
            "incomplete_details": incomplete,
            "instructions": null,
            "max_output_tokens": null,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": true,
            "previous_response_id": null,
            "reasoning": {"effort": self.effort, "summary": null},
            "store": false,
            "temperature": null,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": null,
            "truncation": "disabled",
            "usage": usage,
            "metadata": {},
        })
    }

    /// Writes `response.created` and `response.in_progress`, once.
    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let response = self.response("in_progress");
        self.value_frame(out, "response.created", json!({"response": response}));
        self.value_frame(out, "response.in_progress", json!({"response": response}));
    }

    /// Closes the open message or reasoning item.
    fn close_open(&mut self, out: &mut Vec<u8>) {
        let Some(index) = self.open.take() else {
            return;
        };
        let item = &self.items[index];
        let done = item.to_json("completed");
        let mut frames = Vec::new();
        match item {
            OutputItem::Reasoning { id, text, .. } if !text.is_empty() => {
                frames.push((
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}),
                ));
                frames.push((
                    "response.reasoning_summary_part.done",
                    json!({"item_id": id, "output_index": index, "summary_index": 0,
                           "part": {"type": "summary_text", "text": text}}),
                ));
            }
            OutputItem::Message { id, text } => {
                frames.push((
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0,
                           "text": text, "logprobs": []}),
                ));
                frames.push((
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0,
                           "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []}}),
                ));
            }
            _ => {}
        }
        frames.push((
            "response.output_item.done",
            json!({"output_index": index, "item": done}),
        ));
        for (kind, fields) in frames {
            self.value_frame(out, kind, fields);
        }
    }

    /// Closes the open function calls.
    fn close_calls(&mut self, out: &mut Vec<u8>) {
        while self.calls_closed < self.calls.len() {
            let index = self.calls[self.calls_closed];
            self.calls_closed += 1;
            let item = &self.items[index];
            let done = item.to_json("completed");
            let OutputItem::Call { id, arguments, .. } = item else {
                continue;
            };
            let fields = json!({"item_id": id, "output_index": index, "arguments": arguments});
            self.value_frame(out, "response.function_call_arguments.done", fields);
            self.value_frame(
                out,
                "response.output_item.done",
                json!({"output_index": index, "item": done}),
            );
        }
    }

    /// Opens a new output item.
    fn open_item(&mut self, item: OutputItem, out: &mut Vec<u8>) -> usize {
        let index = self.items.len();
        let added = item.to_json("in_progress");
        self.items.push(item);
        self.value_frame(
            out,
            "response.output_item.added",
            json!({"output_index": index, "item": added}),
        );
        index
    }

    /// The open reasoning item, opened if need be.
    fn reasoning_item(&mut self, out: &mut Vec<u8>) -> usize {
        if let Some(index) = self.open
            && matches!(self.items[index], OutputItem::Reasoning { .. })
        {
            return index;
        }
        self.close_open(out);
        self.close_calls(out);
        let id = format!("rs_{}_{}", self.created, self.items.len());
        let index = self.open_item(
            OutputItem::Reasoning {
                id,
                text: String::new(),
                encrypted: None,
            },
            out,
        );
        self.open = Some(index);
        index
    }

    /// Appends what one event means; frames go to `out` when streaming.
    pub fn event(&mut self, event: &ChatEvent, out: &mut Vec<u8>) {
        if let ChatEvent::MessageStart { id, .. } = event
            && !self.started
            && !id.is_empty()
        {
            self.id = if id.starts_with("resp_") {
                id.clone()
            } else {
                format!("resp_{id}")
            };
        }
        self.start(out);
        match event {
            ChatEvent::MessageStart { .. } => {}
            ChatEvent::ReasoningDelta(delta) => self.reasoning_delta(delta, out),
            ChatEvent::ReasoningSignature(signature) => self.reasoning_signature(signature, out),
            ChatEvent::RedactedReasoning(data) => self.redacted_reasoning(data, out),
            ChatEvent::TextDelta(delta) => self.text_delta(delta, out),
            ChatEvent::ToolCallStart { id, name, .. } => self.tool_call_start(id, name, out),
            ChatEvent::ToolCallArguments { index, arguments } => {
                self.tool_call_arguments(*index, arguments, out)
            }
            ChatEvent::Usage(usage) => self.usage = Some(*usage),
            ChatEvent::Finish(reason) => self.finished(reason, out),
        }
    }

    /// A reasoning delta: into the open reasoning item (opened, with its summary part, if need be).
    fn reasoning_delta(&mut self, delta: &str, out: &mut Vec<u8>) {
        let index = self.reasoning_item(out);
        let first =
            matches!(&self.items[index], OutputItem::Reasoning { text, .. } if text.is_empty());
        let id = match &self.items[index] {
            OutputItem::Reasoning { id, .. } => id.clone(),
            _ => String::new(),
        };
        if first {
            self.value_frame(
                out,
                "response.reasoning_summary_part.added",
                json!({"item_id": id, "output_index": index, "summary_index": 0,
                       "part": {"type": "summary_text", "text": ""}}),
            );
        }
        if let OutputItem::Reasoning { text, .. } = &mut self.items[index] {
            text.push_str(delta);
        }
        self.frame(out, "response.reasoning_summary_text.delta", |sequence| {
            serde_json::to_vec(&SummaryDelta {
                kind: "response.reasoning_summary_text.delta",
                sequence_number: sequence,
                item_id: &id,
                output_index: index,
                summary_index: 0,
                delta,
            })
            .unwrap_or_default()
        });
    }

    /// The signature of the open reasoning item (its encrypted content).
    fn reasoning_signature(&mut self, signature: &str, out: &mut Vec<u8>) {
        let index = self.reasoning_item(out);
        if let OutputItem::Reasoning { encrypted, .. } = &mut self.items[index] {
            *encrypted = Some(signature.to_owned());
        }
    }

    /// Redacted reasoning: a reasoning item of its own, encrypted content only, opened and closed.
    fn redacted_reasoning(&mut self, data: &str, out: &mut Vec<u8>) {
        self.close_open(out);
        self.close_calls(out);
        let id = format!("rs_{}_{}", self.created, self.items.len());
        let index = self.open_item(
            OutputItem::Reasoning {
                id,
                text: String::new(),
                encrypted: Some(data.to_owned()),
            },
            out,
        );
        self.open = Some(index);
        self.close_open(out);
    }

    /// A text delta: into the open message item (opened, with its content part, if need be).
    fn text_delta(&mut self, delta: &str, out: &mut Vec<u8>) {
        let index = match self.open {
            Some(index) if matches!(self.items[index], OutputItem::Message { .. }) => index,
            _ => {
                self.close_open(out);
                self.close_calls(out);
                let id = format!("msg_{}_{}", self.created, self.items.len());
                let index = self.open_item(
                    OutputItem::Message {
                        id: id.clone(),
                        text: String::new(),
                    },
                    out,
                );
                self.value_frame(
                    out,
                    "response.content_part.added",
                    json!({"item_id": id, "output_index": index, "content_index": 0,
                           "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
                );
                self.open = Some(index);
                index
            }
        };
        let id = match &mut self.items[index] {
            OutputItem::Message { id, text } => {
                text.push_str(delta);
                id.clone()
            }
            _ => String::new(),
        };
        self.frame(out, "response.output_text.delta", |sequence| {
            serde_json::to_vec(&TextDelta {
                kind: "response.output_text.delta",
                sequence_number: sequence,
                item_id: &id,
                output_index: index,
                content_index: 0,
                delta,
                logprobs: [],
            })
            .unwrap_or_default()
        });
    }

    /// A function call begins: an item of its own, left open for its arguments.
    fn tool_call_start(&mut self, id: &str, name: &str, out: &mut Vec<u8>) {
        self.close_open(out);
        let item_id = format!("fc_{}_{}", self.created, self.items.len());
        let index = self.open_item(
            OutputItem::Call {
                id: item_id,
                call_id: id.to_owned(),
                name: name.to_owned(),
                arguments: String::new(),
            },
            out,
        );
        self.calls.push(index);
    }

    /// Arguments of the `index`th call, as they come.
    fn tool_call_arguments(&mut self, index: u32, arguments: &str, out: &mut Vec<u8>) {
        let Some(&item) = usize::try_from(index).ok().and_then(|i| self.calls.get(i)) else {
            return;
        };
        let id = match &mut self.items[item] {
            OutputItem::Call {
                id, arguments: a, ..
            } => {
                a.push_str(arguments);
                id.clone()
            }
            _ => return,
        };
        self.frame(out, "response.function_call_arguments.delta", |sequence| {
            serde_json::to_vec(&ArgumentsDelta {
                kind: "response.function_call_arguments.delta",
                sequence_number: sequence,
                item_id: &id,
                output_index: item,
                delta: arguments,
            })
            .unwrap_or_default()
        });
    }

    /// The end: open items closed, then `response.completed` or `response.incomplete`.
    fn finished(&mut self, reason: &StopReason, out: &mut Vec<u8>) {
        self.finish = Some(reason.clone());
        self.close_open(out);
        self.close_calls(out);
        let (kind, status) = match reason {
            StopReason::Length | StopReason::ContentFilter => ("response.incomplete", "incomplete"),
            _ => ("response.completed", "completed"),
        };
        let response = self.response(status);
        self.value_frame(out, kind, json!({"response": response}));
    }

    /// The stream broke: writes `response.failed` with the error (a stream that never began
    /// begins first, so the client sees the whole lifecycle).
    pub fn error(&mut self, error: &Error, out: &mut Vec<u8>) {
        self.start(out);
        let mut response = self.response("failed");
        response["error"] = json!({"code": error.kind(), "message": error.message()});
        self.value_frame(out, "response.failed", json!({"response": response}));
    }

    /// The `response` object of a whole (not streamed) answer.
    pub fn finish(mut self) -> Vec<u8> {
        let mut scratch = Vec::new();
        self.close_open(&mut scratch);
        self.close_calls(&mut scratch);
        let status = match self.finish {
            Some(StopReason::Length | StopReason::ContentFilter) => "incomplete",
            _ => "completed",
        };
        serde_json::to_vec(&self.response(status)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<ParsedResponses> {
        parse_responses_request(body.as_bytes())
    }

    fn refused(body: &str) -> String {
        match parse(body) {
            Err(Error::InvalidRequest(m)) => m,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn a_string_input_is_one_user_turn() {
        let p = parse(r#"{"model":"openai.gpt-5.4","input":"Hi","instructions":"Be brief.","max_output_tokens":300,"reasoning":{"effort":"minimal"},"stream":true,"store":true,"text":{"format":{"type":"text"}}}"#).unwrap();
        assert!(p.stream);
        assert_eq!(p.effort.as_deref(), Some("minimal"));
        assert_eq!(
            p.request,
            ChatRequest {
                model: "openai.gpt-5.4".into(),
                messages: vec![
                    Message::System("Be brief.".into()),
                    Message::User(vec![ContentPart::Text("Hi".into())]),
                ],
                max_tokens: Some(300),
                reasoning_effort: Some(ReasoningEffort::Low),
                ..ChatRequest::default()
            }
        );
    }

    #[test]
    fn a_function_call_round_trip_becomes_assistant_and_tool_turns() {
        let body = r#"{"model":"openai.gpt-oss-120b","input":[
            {"role":"developer","content":"Use tools."},
            {"type":"message","role":"user","content":[{"type":"input_text","text":"Weather in Paris?"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="}]},
            {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Need the weather."}],"encrypted_content":"EqQBsig"},
            {"type":"function_call","id":"fc_1","call_id":"call_a1","name":"get_weather","arguments":"{\"city\": \"Paris\"}","status":"completed"},
            {"type":"function_call_output","call_id":"call_a1","output":"18°C"}
        ],"tools":[{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}],
        "tool_choice":{"type":"function","name":"get_weather"}}"#;
        let p = parse(body).unwrap();
        assert!(!p.stream);
        assert_eq!(
            p.request.messages,
            vec![
                Message::System("Use tools.".into()),
                Message::User(vec![
                    ContentPart::Text("Weather in Paris?".into()),
                    ContentPart::Image(ImageSource::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgo=".into()
                    }),
                ]),
                Message::Assistant(AssistantMessage {
                    reasoning: vec![ReasoningBlock::Thinking {
                        text: "Need the weather.".into(),
                        signature: Some("EqQBsig".into()),
                    }],
                    content: Vec::new(),
                    tool_calls: vec![ToolCall {
                        id: "call_a1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city": "Paris"}"#.into(),
                    }],
                }),
                Message::Tool(ToolResult {
                    tool_call_id: "call_a1".into(),
                    content: vec![ContentPart::Text("18°C".into())],
                    is_error: false,
                }),
            ]
        );
        // The schema passes as the client wrote it.
        assert_eq!(
            p.request.tools[0].parameters,
            r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#
        );
        assert_eq!(
            p.request.tool_choice,
            Some(ToolChoice::Named("get_weather".into()))
        );
    }

    #[test]
    fn what_cannot_be_served_is_refused_by_name() {
        let m = refused(r#"{"model":"m","input":"x","previous_response_id":"resp_1"}"#);
        assert!(m.contains("previous_response_id"), "{m}");
        let m = refused(r#"{"model":"m","input":"x","tools":[{"type":"web_search"}]}"#);
        assert!(m.contains("tools[0]") && m.contains("web_search"), "{m}");
        let m = refused(r#"{"input":"x"}"#);
        assert!(m.contains("model"), "{m}");
        let m = refused(r#"{"model":"m"}"#);
        assert!(m.contains("input"), "{m}");
        let m = refused(r#"{"model":"m","input":[{"type":"item_reference","id":"x"}]}"#);
        assert!(m.contains("item_reference"), "{m}");
        let m = refused(r#"{"model":"m","input":"x","reasoning":{"effort":"max"}}"#);
        assert!(m.contains("reasoning.effort"), "{m}");
        let m = refused("[1,2]");
        assert!(m.contains("Responses request"), "{m}");
        let m = refused("{");
        assert!(m.contains("not JSON"), "{m}");
    }

    #[test]
    fn members_of_the_wrong_shape_are_named_by_their_path() {
        for (body, says) in [
            (
                r#"{"model":5,"input":"x"}"#,
                "model: invalid type: integer `5`, expected a string",
            ),
            (
                r#"{"model":"m","input":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"input_text","text":7}]}]}"#,
                "input[1].content[0].text: invalid type: integer `7`, expected a string",
            ),
            (
                r#"{"model":"m","input":[{"type":"reasoning","summary":[{"type":[]}]}]}"#,
                "input[0].summary[0].type: invalid type: sequence, expected a string",
            ),
            (
                r#"{"model":"m","input":"x","tools":[{"type":"function","name":"f","strict":"yes"}]}"#,
                "tools[0].strict: invalid type: string \"yes\", expected a boolean",
            ),
            (
                r#"{"model":"m","input":"x","max_output_tokens":-1}"#,
                "max_output_tokens: invalid value: integer `-1`, expected u32",
            ),
            (
                r#"{"model":"m","input":"x","reasoning":{"effort":1}}"#,
                "reasoning.effort: invalid type: integer `1`, expected a string",
            ),
        ] {
            let m = refused(body);
            assert!(m.starts_with(says), "{body}: {m}");
        }
    }

    #[test]
    fn items_are_bounded_while_they_are_read() {
        let many = vec!["{}"; MAX_ITEMS + 1].join(",");
        let m = refused(&format!(r#"{{"model":"m","input":"x","tools":[{many}]}}"#));
        assert!(m.contains(&MAX_ITEMS.to_string()), "{m}");
        let tools = vec![r#"{"type":"function","name":"t"}"#; MAX_TOOLS + 1].join(",");
        let m = refused(&format!(r#"{{"model":"m","input":"x","tools":[{tools}]}}"#));
        assert!(m.contains("tools"), "{m}");
    }

    /// The events of a stream, as (type, data) pairs.
    fn frames(out: &[u8]) -> Vec<(String, Value)> {
        let text = core::str::from_utf8(out).unwrap();
        text.split_terminator("\n\n")
            .map(|frame| {
                let (event, data) = frame.split_once('\n').unwrap();
                let kind = event.strip_prefix("event: ").unwrap().to_owned();
                let data: Value =
                    serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
                assert_eq!(data["type"], kind.as_str(), "type repeats the event name");
                (kind, data)
            })
            .collect()
    }

    fn usage() -> Usage {
        Usage {
            input_tokens: 12,
            output_tokens: 30,
            cache_read_tokens: Some(8),
            cache_write_tokens: None,
            reasoning_tokens: Some(18),
            cost: None,
        }
    }

    fn run(events: &[ChatEvent], stream: bool) -> (Vec<u8>, ResponsesWriter) {
        let mut writer =
            ResponsesWriter::new("openai.gpt-5.4", 1_763_000_000, Some("low".into()), stream);
        let mut out = Vec::new();
        for e in events {
            writer.event(e, &mut out);
        }
        (out, writer)
    }

    fn answer() -> Vec<ChatEvent> {
        vec![
            ChatEvent::MessageStart {
                id: "resp_abc".into(),
                model: "openai.gpt-5.4".into(),
            },
            ChatEvent::ReasoningDelta("Think".into()),
            ChatEvent::ReasoningDelta("ing.".into()),
            ChatEvent::ReasoningSignature("sig-1".into()),
            ChatEvent::TextDelta("Bon".into()),
            ChatEvent::TextDelta("jour 🙂".into()),
            ChatEvent::ToolCallStart {
                index: 0,
                id: "call_a1".into(),
                name: "get_weather".into(),
            },
            ChatEvent::ToolCallArguments {
                index: 0,
                arguments: r#"{"city":"#.into(),
            },
            ChatEvent::ToolCallArguments {
                index: 0,
                arguments: r#""Paris"}"#.into(),
            },
            ChatEvent::Usage(usage()),
            ChatEvent::Finish(StopReason::ToolCalls),
        ]
    }

    #[test]
    fn a_stream_is_the_responses_event_sequence() {
        let (out, _) = run(&answer(), true);
        let frames = frames(&out);
        let kinds: Vec<&str> = frames.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (n, (_, data)) in frames.iter().enumerate() {
            assert_eq!(data["sequence_number"], n as u64);
        }
        assert_eq!(frames[0].1["response"]["id"], "resp_abc");
        assert_eq!(frames[0].1["response"]["status"], "in_progress");
        assert_eq!(frames[4].1["delta"], "Think");
        assert_eq!(frames[8].1["item"]["encrypted_content"], "sig-1");
        assert_eq!(frames[8].1["item"]["summary"][0]["text"], "Thinking.");
        assert_eq!(frames[11].1["output_index"], 1);
        assert_eq!(frames[12].1["delta"], "jour 🙂");
        assert_eq!(frames[13].1["text"], "Bonjour 🙂");
        assert_eq!(frames[16].1["item"]["call_id"], "call_a1");
        assert_eq!(frames[16].1["item"]["arguments"], "");
        assert_eq!(frames[19].1["arguments"], r#"{"city":"Paris"}"#);
        let done = &frames[21].1["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["output"].as_array().unwrap().len(), 3);
        assert_eq!(done["output"][1]["content"][0]["text"], "Bonjour 🙂");
        assert_eq!(done["output"][2]["arguments"], r#"{"city":"Paris"}"#);
        assert_eq!(
            done["usage"],
            json!({"input_tokens": 20, "input_tokens_details": {"cached_tokens": 8},
                   "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 18},
                   "total_tokens": 50})
        );
        assert_eq!(done["reasoning"]["effort"], "low");
        // The delta text is written byte for byte.
        assert!(
            core::str::from_utf8(&out)
                .unwrap()
                .contains(r#""delta":"jour 🙂""#)
        );
    }

    #[test]
    fn a_whole_answer_is_one_response_object_and_writes_no_frames() {
        let (out, writer) = run(&answer(), false);
        assert!(out.is_empty());
        let whole: Value = serde_json::from_slice(&writer.finish()).unwrap();
        assert_eq!(whole["object"], "response");
        assert_eq!(whole["status"], "completed");
        assert_eq!(whole["output"][0]["type"], "reasoning");
        assert_eq!(whole["output"][1]["type"], "message");
        assert_eq!(whole["output"][2]["type"], "function_call");
        assert_eq!(whole["usage"]["total_tokens"], 50);
    }

    #[test]
    fn a_replayed_reasoning_item_gives_back_its_signature() {
        let (_, writer) = run(&answer(), false);
        let whole: Value = serde_json::from_slice(&writer.finish()).unwrap();
        let mut input = whole["output"].as_array().unwrap().clone();
        input.insert(0, json!({"role": "user", "content": "Weather?"}));
        input.push(json!({"type": "function_call_output", "call_id": "call_a1", "output": "18°C"}));
        let body = json!({"model": "claude-opus-4.7", "input": input}).to_string();
        let p = parse(&body).unwrap();
        let Message::Assistant(turn) = &p.request.messages[1] else {
            panic!("{:?}", p.request.messages)
        };
        assert_eq!(
            turn.reasoning,
            [ReasoningBlock::Thinking {
                text: "Thinking.".into(),
                signature: Some("sig-1".into())
            }]
        );
        assert_eq!(turn.content, [ContentPart::Text("Bonjour 🙂".into())]);
        assert_eq!(turn.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert!(matches!(&p.request.messages[2], Message::Tool(r) if r.tool_call_id == "call_a1"));
    }

    #[test]
    fn the_output_limit_ends_with_response_incomplete() {
        let events = [
            ChatEvent::MessageStart {
                id: "chatcmpl-1".into(),
                model: "m".into(),
            },
            ChatEvent::TextDelta("Once".into()),
            ChatEvent::Finish(StopReason::Length),
        ];
        let (out, _) = run(&events, true);
        let frames = frames(&out);
        let (kind, last) = frames.last().unwrap();
        assert_eq!(kind, "response.incomplete");
        assert_eq!(last["response"]["status"], "incomplete");
        assert_eq!(
            last["response"]["incomplete_details"]["reason"],
            "max_output_tokens"
        );
        assert_eq!(last["response"]["id"], "resp_chatcmpl-1");
    }

    #[test]
    fn a_broken_stream_ends_with_response_failed() {
        let (mut out, mut writer) = run(&answer()[..5], true);
        writer.error(
            &Error::RateLimited {
                message: "slow down".into(),
                retry_after: None,
            },
            &mut out,
        );
        let frames = frames(&out);
        let (kind, last) = frames.last().unwrap();
        assert_eq!(kind, "response.failed");
        assert_eq!(last["response"]["status"], "failed");
        assert_eq!(last["response"]["error"]["message"], "slow down");
        assert_eq!(last["sequence_number"], frames.len() as u64 - 1);
    }
}
