//! The OpenAI-compatible HTTP face's translation layer, with no I/O.
//!
//! The face is a gateway in front of the provider that serves `GET /v1/models` and
//! `POST /v1/chat/completions` to unmodified OpenAI SDK clients. This module turns their
//! request bodies into a [`ChatRequest`] ([`parse_chat_request`]) and the provider's
//! [`ChatEvent`]s back into OpenAI's shapes: `chat.completion.chunk` SSE frames
//! ([`ChunkWriter`]), one `chat.completion` object ([`Collector`]), error answers
//! ([`error_response`]) and the model list ([`models_response`]).
//!
//! Reading uses the crate's JSON tree (`wire::json`); values are moved out of it,
//! never copied, so a large inline image costs its bytes once. Writing is by hand, straight
//! into the output buffer in OpenAI's member order; every string goes through the crate's
//! JSON writer by way of one reused buffer, so a streamed frame allocates nothing once the
//! buffers have grown.

use core::fmt::{self, Write as _};

use crate::json::{self, Map, Value};
use mantle_provider::chat::{
    AssistantMessage, ChatEvent, ChatRequest, ContentPart, ImageSource, Message, ReasoningBlock,
    ReasoningEffort, StopReason, Tool, ToolCall, ToolChoice, ToolResult, Usage,
};
use mantle_provider::error::{Error, Result};
use mantle_provider::model::Model;

// ---- Requests ----

/// A parsed OpenAI chat completions request.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedChat {
    /// The request for the provider.
    pub request: ChatRequest,
    /// `stream`: answer with SSE chunks ([`ChunkWriter`]) rather than one object
    /// ([`Collector`]); `false` when absent.
    pub stream: bool,
    /// `stream_options.include_usage`: end the stream with a usage-only chunk; `false` when
    /// absent. Meaningful only when streaming.
    pub include_usage: bool,
}

/// Parses an OpenAI `POST /v1/chat/completions` body.
///
/// Errors are [`Error::InvalidRequest`] with a message naming the field path, e.g.
/// `messages[2].content: expected a string or an array of parts, found a number`.
///
/// The mapping:
///
/// - `model` (a non-empty string) and `messages` (a non-empty array) are required.
/// - Roles `system` and `developer` become [`Message::System`]; an array of text parts is
///   joined with `\n` (as vLLM does), so the upstream sees one system message.
/// - `user` content is a string or an array of `text` and `image_url` parts (`image_url` an
///   object with `url`, or the URL itself). A `data:<media type>;base64,<data>` URL becomes
///   [`ImageSource::Base64`], any other URL [`ImageSource::Url`]; a `data:` URL of another
///   form is refused here, naming its path.
/// - `assistant`: content a string, an array of `text` (or `refusal`) parts, or null; empty
///   texts are dropped (clients send `""` beside tool calls, and the Anthropic route refuses
///   empty text blocks). `reasoning_content`, else `reasoning`, becomes a reasoning block;
///   `tool_calls` become [`ToolCall`]s (absent `arguments` read as empty).
/// - `tool`: `tool_call_id` and content (a string or an array of text parts).
/// - `tools` of type `function`: `parameters` kept as JSON text, empty when absent (which
///   the routes read as "no arguments").
/// - `tool_choice`: `"auto"`, `"none"`, `"required"` or a named function.
/// - `max_completion_tokens`, else `max_tokens`; `temperature`; `top_p`; `stop` (a string or
///   an array of strings).
/// - `reasoning_effort`: `minimal` and `low` are [`ReasoningEffort::Low`], `medium` is
///   Medium, `high` and `xhigh` are High; `none` leaves it unset (the model's default: the
///   provider has no way to turn reasoning off).
/// - `n` other than 1 is refused: one choice is all the provider gives, and answering fewer
///   than asked silently would be wrong.
/// - `stream` and `stream_options.include_usage`.
///
/// Unknown fields are ignored, and `null` reads as absent. A member given twice counts with
/// its last value, as most JSON readers have it. Nothing goes to the provider's `extra`:
/// OpenAI-only fields (`seed`, `response_format`, …) would break the Anthropic route.
pub fn parse_chat_request(body: &[u8]) -> Result<ParsedChat> {
    let value = json::parse_slice(body)
        .map_err(|e| Error::InvalidRequest(format!("the body is not JSON: {e}")))?;
    let Value::Object(mut top) = value else {
        return Err(Error::InvalidRequest(format!(
            "the body must be a JSON object, found {}",
            value.kind()
        )));
    };
    let root = Path::ROOT;

    let model = required_string(&mut top, &root, "model")?;
    if model.is_empty() {
        return Err(invalid(&root.key("model"), "must not be empty"));
    }

    let at = root.key("messages");
    let items = match take(&mut top, "messages") {
        None => return Err(invalid(&at, "required: a non-empty array of messages")),
        Some(value) => array(value, &at)?,
    };
    if items.is_empty() {
        return Err(invalid(&at, "must not be empty"));
    }
    let mut messages = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        messages.push(message(item, &at.index(i))?);
    }

    let tools = match take(&mut top, "tools") {
        None => Vec::new(),
        Some(value) => {
            let at = root.key("tools");
            let items = array(value, &at)?;
            let mut tools = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                tools.push(tool(item, &at.index(i))?);
            }
            tools
        }
    };
    let tool_choice = match take(&mut top, "tool_choice") {
        None => None,
        Some(value) => Some(tool_choice(value, &root.key("tool_choice"))?),
    };

    let max_completion_tokens = optional_u32(&mut top, &root, "max_completion_tokens")?;
    let max_tokens = optional_u32(&mut top, &root, "max_tokens")?;
    let temperature = optional_f32(&mut top, &root, "temperature")?;
    let top_p = optional_f32(&mut top, &root, "top_p")?;
    let stop = match take(&mut top, "stop") {
        None => Vec::new(),
        Some(value) => stop(value, &root.key("stop"))?,
    };
    let reasoning_effort = match optional_string(&mut top, &root, "reasoning_effort")? {
        None => None,
        Some(effort) => reasoning_effort(&effort, &root.key("reasoning_effort"))?,
    };
    if let Some(n) = optional_u32(&mut top, &root, "n")?
        && n != 1
    {
        return Err(invalid(
            &root.key("n"),
            format_args!("only 1 choice is supported, not {n}"),
        ));
    }
    let stream = optional_bool(&mut top, &root, "stream")?.unwrap_or(false);
    let include_usage = match take(&mut top, "stream_options") {
        None => false,
        Some(value) => {
            let at = root.key("stream_options");
            let mut options = object(value, &at)?;
            optional_bool(&mut options, &at, "include_usage")?.unwrap_or(false)
        }
    };

    Ok(ParsedChat {
        request: ChatRequest {
            model,
            messages,
            tools,
            tool_choice,
            max_tokens: max_completion_tokens.or(max_tokens),
            temperature,
            top_p,
            stop,
            reasoning_effort,
            extra: None,
        },
        stream,
        include_usage,
    })
}

/// The valid roles, as error messages list them.
const ROLES: &str = "system, developer, user, assistant or tool";

/// One message of `messages`.
fn message(value: Value, at: &Path) -> Result<Message> {
    let mut m = object(value, at)?;
    let role = required_string(&mut m, at, "role")?;
    match role.as_str() {
        "system" | "developer" => {
            let content = required(&mut m, at, "content")?;
            let parts = parts(content, &at.key("content"), Parts::Text)?;
            Ok(Message::System(join_text(parts)))
        }
        "user" => {
            let content = required(&mut m, at, "content")?;
            Ok(Message::User(parts(
                content,
                &at.key("content"),
                Parts::User,
            )?))
        }
        "assistant" => assistant(m, at).map(Message::Assistant),
        "tool" => {
            let tool_call_id = required_string(&mut m, at, "tool_call_id")?;
            let content = required(&mut m, at, "content")?;
            Ok(Message::Tool(ToolResult {
                tool_call_id,
                content: parts(content, &at.key("content"), Parts::Text)?,
                is_error: false,
            }))
        }
        other => Err(invalid(
            &at.key("role"),
            format_args!("unknown role {other:?}; expected {ROLES}"),
        )),
    }
}

/// An assistant message, its role already read.
fn assistant(mut m: Map, at: &Path) -> Result<AssistantMessage> {
    let mut content = match take(&mut m, "content") {
        None => Vec::new(),
        Some(value) => parts(value, &at.key("content"), Parts::Assistant)?,
    };
    content.retain(|part| !matches!(part, ContentPart::Text(text) if text.is_empty()));

    // Both are read, so either one of the wrong type is an error.
    let reasoning_content = optional_string(&mut m, at, "reasoning_content")?;
    let reasoning = optional_string(&mut m, at, "reasoning")?;
    let reasoning = [reasoning_content, reasoning]
        .into_iter()
        .flatten()
        .find(|text| !text.is_empty())
        .map(|text| ReasoningBlock::Thinking {
            text,
            signature: None,
        });

    let tool_calls = match take(&mut m, "tool_calls") {
        None => Vec::new(),
        Some(value) => {
            let at = at.key("tool_calls");
            let items = array(value, &at)?;
            let mut calls = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                calls.push(tool_call(item, &at.index(i))?);
            }
            calls
        }
    };
    Ok(AssistantMessage {
        reasoning: reasoning.into_iter().collect(),
        content,
        tool_calls,
    })
}

/// A tool call of an earlier assistant turn: `{id, type: "function", function: {name,
/// arguments}}`.
fn tool_call(value: Value, at: &Path) -> Result<ToolCall> {
    let mut call = object(value, at)?;
    let id = required_string(&mut call, at, "id")?;
    function_type(&mut call, at)?;
    let at_function = at.key("function");
    let mut function = object(required(&mut call, at, "function")?, &at_function)?;
    let name = required_string(&mut function, &at_function, "name")?;
    let arguments = optional_string(&mut function, &at_function, "arguments")?.unwrap_or_default();
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}

/// A tool of `tools`: `{type: "function", function: {name, description, parameters}}`.
fn tool(value: Value, at: &Path) -> Result<Tool> {
    let mut tool = object(value, at)?;
    function_type(&mut tool, at)?;
    let at_function = at.key("function");
    let mut function = object(required(&mut tool, at, "function")?, &at_function)?;
    let name = required_string(&mut function, &at_function, "name")?;
    if name.is_empty() {
        return Err(invalid(&at_function.key("name"), "must not be empty"));
    }
    let description = optional_string(&mut function, &at_function, "description")?;
    let parameters = match take(&mut function, "parameters") {
        None => String::new(),
        Some(schema @ Value::Object(_)) => schema.to_string(),
        Some(other) => {
            return Err(wrong_type(
                &at_function.key("parameters"),
                "a JSON schema object",
                &other,
            ));
        }
    };
    Ok(Tool {
        name,
        description,
        parameters,
    })
}

/// Checks `type`, which may be absent but otherwise must be `"function"`.
fn function_type(object: &mut Map, at: &Path) -> Result<()> {
    match optional_string(object, at, "type")? {
        None => Ok(()),
        Some(kind) if kind == "function" => Ok(()),
        Some(kind) => Err(invalid(
            &at.key("type"),
            format_args!("unsupported type {kind:?}; expected \"function\""),
        )),
    }
}

/// `tool_choice`: `"auto"`, `"none"`, `"required"` or `{type: "function", function: {name}}`.
fn tool_choice(value: Value, at: &Path) -> Result<ToolChoice> {
    const EXPECTED: &str =
        r#""auto", "none", "required" or {"type":"function","function":{"name":...}}"#;
    match value {
        Value::String(choice) => match choice.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(invalid(
                at,
                format_args!("unknown choice {other:?}; expected {EXPECTED}"),
            )),
        },
        Value::Object(mut choice) => {
            function_type(&mut choice, at)?;
            let at_function = at.key("function");
            let mut function = object(required(&mut choice, at, "function")?, &at_function)?;
            let name = required_string(&mut function, &at_function, "name")?;
            Ok(ToolChoice::Named(name))
        }
        other => Err(wrong_type(at, EXPECTED, &other)),
    }
}

/// `stop`: a string or an array of strings.
fn stop(value: Value, at: &Path) -> Result<Vec<String>> {
    match value {
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) => {
            let mut stop = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(s) => stop.push(s),
                    other => return Err(wrong_type(&at.index(i), "a string", &other)),
                }
            }
            Ok(stop)
        }
        other => Err(wrong_type(at, "a string or an array of strings", &other)),
    }
}

/// `reasoning_effort`, as the provider has it (see [`parse_chat_request`]).
fn reasoning_effort(effort: &str, at: &Path) -> Result<Option<ReasoningEffort>> {
    Ok(Some(match effort {
        "none" => return Ok(None),
        "minimal" | "low" => ReasoningEffort::Low,
        "medium" => ReasoningEffort::Medium,
        "high" | "xhigh" => ReasoningEffort::High,
        other => {
            return Err(invalid(
                at,
                format_args!(
                    "unknown effort {other:?}; expected none, minimal, low, medium, high or xhigh"
                ),
            ));
        }
    }))
}

/// Which content parts a role may send.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    /// `text` only (system, developer, tool).
    Text,
    /// `text` and `image_url` (user).
    User,
    /// `text` and `refusal` (assistant).
    Assistant,
}

impl Parts {
    /// The part types allowed, as error messages list them.
    fn expected(self) -> &'static str {
        match self {
            Parts::Text => "\"text\"",
            Parts::User => "\"text\" or \"image_url\"",
            Parts::Assistant => "\"text\" or \"refusal\"",
        }
    }
}

/// Message content: a string, or an array of parts.
fn parts(value: Value, at: &Path, allowed: Parts) -> Result<Vec<ContentPart>> {
    let items = match value {
        Value::String(text) => return Ok(vec![ContentPart::Text(text)]),
        Value::Array(items) => items,
        other => {
            let expected = if allowed == Parts::User {
                "a string or an array of parts"
            } else {
                "a string or an array of text parts"
            };
            return Err(wrong_type(at, expected, &other));
        }
    };
    let mut parts = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = at.index(i);
        let mut part = object(item, &at)?;
        let kind = required_string(&mut part, &at, "type")?;
        parts.push(match (kind.as_str(), allowed) {
            ("text", _) => ContentPart::Text(required_string(&mut part, &at, "text")?),
            ("refusal", Parts::Assistant) => {
                ContentPart::Text(required_string(&mut part, &at, "refusal")?)
            }
            ("image_url", Parts::User) => ContentPart::Image(image(part, &at)?),
            (other, _) => {
                return Err(invalid(
                    &at.key("type"),
                    format_args!(
                        "unsupported part type {other:?}; expected {}",
                        allowed.expected()
                    ),
                ));
            }
        });
    }
    Ok(parts)
}

/// The texts of text-only parts, joined with `\n`.
fn join_text(parts: Vec<ContentPart>) -> String {
    let mut parts = parts.into_iter().filter_map(|part| match part {
        ContentPart::Text(text) => Some(text),
        ContentPart::Image(_) => None,
    });
    let mut joined = parts.next().unwrap_or_default();
    for text in parts {
        joined.push('\n');
        joined.push_str(&text);
    }
    joined
}

/// The image of an `image_url` part: `{"url": …}`, or the URL itself.
fn image(mut part: Map, at: &Path) -> Result<ImageSource> {
    const EXPECTED: &str = "an object with the image's url";
    let at = at.key("image_url");
    match take(&mut part, "image_url") {
        None => Err(invalid(&at, format_args!("required: {EXPECTED}"))),
        Some(Value::String(url)) => image_source(url, &at),
        Some(Value::Object(mut image)) => {
            image_source(required_string(&mut image, &at, "url")?, &at.key("url"))
        }
        Some(other) => Err(wrong_type(&at, EXPECTED, &other)),
    }
}

/// An image URL: `data:<media type>;base64,<data>` becomes inline base64 (moved, not
/// copied); any other non-empty URL is kept as is.
fn image_source(mut url: String, at: &Path) -> Result<ImageSource> {
    if url.is_empty() {
        return Err(invalid(at, "must not be empty"));
    }
    let is_data = url
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"));
    if !is_data {
        return Ok(ImageSource::Url(url));
    }
    let header = url.find(',').and_then(|comma| {
        let media_type = url[5..comma].strip_suffix(";base64")?;
        let media_type = media_type.split(';').next().unwrap_or_default();
        (!media_type.is_empty()).then(|| (media_type.to_owned(), comma))
    });
    let Some((media_type, comma)) = header else {
        return Err(invalid(
            at,
            "an image data: URL must be data:<media type>;base64,<data>",
        ));
    };
    url.drain(..=comma);
    Ok(ImageSource::Base64 {
        media_type,
        data: url,
    })
}

// ---- Reading helpers ----

/// Where a value sits in the request, e.g. `messages[2].content`: a chain of frames on the
/// stack, written out only for an error message.
#[derive(Clone, Copy)]
struct Path<'a> {
    /// The enclosing value.
    parent: Option<&'a Path<'a>>,
    /// This value's place in it.
    segment: Segment<'a>,
}

/// One step of a [`Path`].
#[derive(Clone, Copy)]
enum Segment<'a> {
    /// The body itself.
    Root,
    /// A member of an object.
    Key(&'a str),
    /// An item of an array.
    Index(usize),
}

impl<'a> Path<'a> {
    /// The body itself.
    const ROOT: Path<'static> = Path {
        parent: None,
        segment: Segment::Root,
    };

    /// The member `key` of this object.
    fn key(&'a self, key: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            segment: Segment::Key(key),
        }
    }

    /// The item `index` of this array.
    fn index(&'a self, index: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at_top = match self.parent {
            Some(parent) => {
                parent.fmt(f)?;
                matches!(parent.segment, Segment::Root)
            }
            None => true,
        };
        match self.segment {
            Segment::Root => Ok(()),
            Segment::Key(key) if at_top => f.write_str(key),
            Segment::Key(key) => write!(f, ".{key}"),
            Segment::Index(index) => write!(f, "[{index}]"),
        }
    }
}

/// An invalid request: `path: what`.
fn invalid(at: &Path, what: impl fmt::Display) -> Error {
    Error::InvalidRequest(format!("{at}: {what}"))
}

/// `path: expected …, found …`.
fn wrong_type(at: &Path, expected: &str, found: &Value) -> Error {
    invalid(
        at,
        format_args!("expected {expected}, found {}", found.kind()),
    )
}

/// The member `key`, moved out (its last value, when repeated); `None` when absent or null.
fn take(object: &mut Map, key: &str) -> Option<Value> {
    object.remove_counted(key).0.filter(|v| !v.is_null())
}

/// The member `key` of the object at `at`, which must be there and not null.
fn required(object: &mut Map, at: &Path, key: &str) -> Result<Value> {
    take(object, key).ok_or_else(|| invalid(&at.key(key), "required"))
}

/// A string member that must be there.
fn required_string(object: &mut Map, at: &Path, key: &str) -> Result<String> {
    match required(object, at, key)? {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(&at.key(key), "a string", &other)),
    }
}

/// A string member.
fn optional_string(object: &mut Map, at: &Path, key: &str) -> Result<Option<String>> {
    match take(object, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(&at.key(key), "a string", &other)),
    }
}

/// A boolean member.
fn optional_bool(object: &mut Map, at: &Path, key: &str) -> Result<Option<bool>> {
    match take(object, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(other) => Err(wrong_type(&at.key(key), "a boolean", &other)),
    }
}

/// A whole, non-negative number member that fits in `u32`.
fn optional_u32(object: &mut Map, at: &Path, key: &str) -> Result<Option<u32>> {
    let Some(value) = take(object, key) else {
        return Ok(None);
    };
    let Some(n) = value.as_u64() else {
        return Err(wrong_type(
            &at.key(key),
            "a whole, non-negative number",
            &value,
        ));
    };
    match u32::try_from(n) {
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(invalid(&at.key(key), format_args!("{n} is out of range"))),
    }
}

/// A number member, as `f32`.
fn optional_f32(object: &mut Map, at: &Path, key: &str) -> Result<Option<f32>> {
    let Some(value) = take(object, key) else {
        return Ok(None);
    };
    match value.as_f64() {
        Some(n) if (n as f32).is_finite() => Ok(Some(n as f32)),
        Some(_) => Err(invalid(&at.key(key), "is out of range")),
        None => Err(wrong_type(&at.key(key), "a number", &value)),
    }
}

/// An object.
fn object(value: Value, at: &Path) -> Result<Map> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(wrong_type(at, "an object", &other)),
    }
}

/// An array.
fn array(value: Value, at: &Path) -> Result<Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(wrong_type(at, "an array", &other)),
    }
}

// ---- Writing helpers ----

/// A string buffer with more room than this is released after use, so one large delta does
/// not pin its memory for the rest of the stream.
const KEEP_SCRATCH: usize = 16 * 1024;

/// Writes JSON strings into a byte buffer with the crate's writer ([`Value`]'s `Display`),
/// through one reused string (the writer takes a [`Value`], which owns its text).
#[derive(Debug)]
struct Strings {
    /// Always a [`Value::String`], emptied before each use.
    scratch: Value,
}

impl Strings {
    fn new() -> Strings {
        Strings {
            scratch: Value::String(String::new()),
        }
    }

    /// Appends `s` as a JSON string.
    fn write(&mut self, out: &mut Vec<u8>, s: &str) {
        match &mut self.scratch {
            Value::String(buffer) => {
                buffer.clear();
                buffer.push_str(s);
            }
            other => *other = Value::String(s.to_owned()),
        }
        let _ = write!(Sink(out), "{}", self.scratch);
        if let Value::String(buffer) = &mut self.scratch
            && buffer.capacity() > KEEP_SCRATCH
        {
            *buffer = String::new();
        }
    }
}

/// Appends `s` as a JSON string, consuming it (no copy).
fn write_owned(out: &mut Vec<u8>, s: String) {
    let _ = write!(Sink(out), "{}", Value::String(s));
}

/// A byte buffer as a formatting target.
struct Sink<'a>(&'a mut Vec<u8>);

impl fmt::Write for Sink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Appends JSON text as it is.
fn raw(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
}

/// Appends a whole number.
fn number(out: &mut Vec<u8>, n: u64) {
    let _ = write!(Sink(out), "{n}");
}

/// Appends `true` or `false`.
fn boolean(out: &mut Vec<u8>, b: bool) {
    raw(out, if b { "true" } else { "false" });
}

/// OpenAI's `finish_reason` of a stop reason. A refusal is reported as `content_filter`
/// (OpenAI's nearest), and a reason OpenAI has no word for as `stop`.
fn finish_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::Stop | StopReason::Other(_) => "stop",
        StopReason::Length => "length",
        StopReason::ToolCalls => "tool_calls",
        StopReason::ContentFilter | StopReason::Refusal => "content_filter",
    }
}

/// Appends OpenAI's `usage` object. `prompt_tokens` is the whole input: the provider counts
/// cache reads and writes apart from `input_tokens`, never twice. `prompt_tokens_details`
/// is there when cache reads are known.
fn write_usage(out: &mut Vec<u8>, usage: &Usage) {
    let read = u64::from(usage.cache_read_tokens.unwrap_or(0));
    let prompt =
        u64::from(usage.input_tokens) + read + u64::from(usage.cache_write_tokens.unwrap_or(0));
    let completion = u64::from(usage.output_tokens);
    raw(out, r#"{"prompt_tokens":"#);
    number(out, prompt);
    raw(out, r#","completion_tokens":"#);
    number(out, completion);
    raw(out, r#","total_tokens":"#);
    number(out, prompt + completion);
    if usage.cache_read_tokens.is_some() {
        raw(out, r#","prompt_tokens_details":{"cached_tokens":"#);
        number(out, read);
        out.push(b'}');
    }
    out.push(b'}');
}

/// The response id: the upstream's when it gave one, else one made from the time.
fn response_id(upstream: Option<&str>, created: u64) -> String {
    match upstream {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("chatcmpl-{created}"),
    }
}

// ---- Streaming ----

/// Writes OpenAI `chat.completion.chunk` SSE frames for a stream of [`ChatEvent`]s.
///
/// Every frame is `data: {json}\n\n`, of the shape
/// `{"id","object":"chat.completion.chunk","created","model","choices":[{"index":0,"delta":{…},"finish_reason":null}]}`;
/// all frames of a response share the id (the upstream's from [`ChatEvent::MessageStart`]
/// when non-empty, else `chatcmpl-<created>`) and `model` is the one the client asked for.
///
/// - The first frame's delta is `{"role":"assistant","content":""}`: on
///   [`ChatEvent::MessageStart`], or before the first other frame when it never came.
/// - Text goes to `delta.content`, reasoning to `delta.reasoning_content`, tool calls to
///   `delta.tool_calls` (the first piece with `id`, `type` and `function.name`, the next ones
///   with `function.arguments` only). Empty pieces are skipped.
/// - Reasoning signatures and redacted reasoning have no place in OpenAI's chunks: skipped.
/// - [`ChatEvent::Usage`] is held; [`ChatEvent::Finish`] gives a frame with an empty delta
///   and the `finish_reason`, then, with `include_usage`, a frame with `"choices":[]` and
///   the `usage`. That frame is written only when the usage is known: zeros would read as a
///   real count (and bill nothing).
#[derive(Debug)]
pub struct ChunkWriter {
    /// The model, as the client named it.
    model: String,
    /// `created` of every frame.
    created: u64,
    /// Whether the client asked for the usage frame.
    include_usage: bool,
    /// The frames' common start, `{"id":…,"model":…,` (empty until the first frame).
    head: Vec<u8>,
    /// The usage, held until the finish.
    usage: Option<Usage>,
    /// The finish frame was written.
    finished: bool,
    /// The usage frame was written.
    usage_written: bool,
    /// The string writer.
    strings: Strings,
}

impl ChunkWriter {
    /// A writer for one response.
    pub fn new(model: &str, created: u64, include_usage: bool) -> ChunkWriter {
        ChunkWriter {
            model: model.to_owned(),
            created,
            include_usage,
            head: Vec::new(),
            usage: None,
            finished: false,
            usage_written: false,
            strings: Strings::new(),
        }
    }

    /// Appends zero or more complete frames `data: {json}\n\n` for one event.
    pub fn event(&mut self, event: &ChatEvent, out: &mut Vec<u8>) {
        match event {
            ChatEvent::MessageStart { id, .. } => self.start(Some(id), out),
            ChatEvent::TextDelta(text) if !text.is_empty() => {
                self.delta(out, |strings, out| {
                    raw(out, r#""content":"#);
                    strings.write(out, text);
                });
            }
            ChatEvent::ReasoningDelta(text) if !text.is_empty() => {
                self.delta(out, |strings, out| {
                    raw(out, r#""reasoning_content":"#);
                    strings.write(out, text);
                });
            }
            ChatEvent::ToolCallStart { index, id, name } => {
                self.delta(out, |strings, out| {
                    raw(out, r#""tool_calls":[{"index":"#);
                    number(out, u64::from(*index));
                    raw(out, r#","id":"#);
                    strings.write(out, id);
                    raw(out, r#","type":"function","function":{"name":"#);
                    strings.write(out, name);
                    raw(out, r#","arguments":""}}]"#);
                });
            }
            ChatEvent::ToolCallArguments { index, arguments } if !arguments.is_empty() => {
                self.delta(out, |strings, out| {
                    raw(out, r#""tool_calls":[{"index":"#);
                    number(out, u64::from(*index));
                    raw(out, r#","function":{"arguments":"#);
                    strings.write(out, arguments);
                    raw(out, "}}]");
                });
            }
            ChatEvent::Usage(usage) => {
                self.usage = Some(*usage);
                // A usage after the finish (not in the events' contract) still counts.
                if self.finished {
                    self.usage_frame(out);
                }
            }
            ChatEvent::Finish(reason) => {
                if self.finished {
                    return;
                }
                self.start(None, out);
                self.frame_start(out);
                raw(out, r#""choices":[{"index":0,"delta":{},"finish_reason":""#);
                raw(out, finish_reason(reason));
                raw(out, "\"}]}\n\n");
                self.finished = true;
                self.usage_frame(out);
            }
            ChatEvent::TextDelta(_)
            | ChatEvent::ReasoningDelta(_)
            | ChatEvent::ToolCallArguments { .. }
            | ChatEvent::ReasoningSignature(_)
            | ChatEvent::RedactedReasoning(_) => {}
        }
    }

    /// Appends an error frame `data: {"error":{…}}\n\n` (OpenAI's error object, as
    /// [`error_response`] has it) for a failure mid-stream; no `[DONE]` follows it.
    pub fn error(&mut self, error: &Error, out: &mut Vec<u8>) {
        raw(out, "data: ");
        write_error_body(out, &mut self.strings, error.message(), &describe(error));
        raw(out, "\n\n");
    }

    /// Appends `data: [DONE]\n\n`.
    pub fn done(&mut self, out: &mut Vec<u8>) {
        raw(out, "data: [DONE]\n\n");
    }

    /// Fixes the id and writes the role frame, once.
    fn start(&mut self, upstream_id: Option<&str>, out: &mut Vec<u8>) {
        if !self.head.is_empty() {
            return;
        }
        let mut head = core::mem::take(&mut self.head);
        raw(&mut head, r#"{"id":"#);
        write_owned(&mut head, response_id(upstream_id, self.created));
        raw(&mut head, r#","object":"chat.completion.chunk","created":"#);
        number(&mut head, self.created);
        raw(&mut head, r#","model":"#);
        self.strings.write(&mut head, &self.model);
        head.push(b',');
        self.head = head;
        self.delta(out, |_, out| raw(out, r#""role":"assistant","content":"""#));
    }

    /// `data: ` and the frames' common start.
    fn frame_start(&self, out: &mut Vec<u8>) {
        raw(out, "data: ");
        out.extend_from_slice(&self.head);
    }

    /// A frame whose delta's members `members` writes.
    fn delta(&mut self, out: &mut Vec<u8>, members: impl FnOnce(&mut Strings, &mut Vec<u8>)) {
        self.start(None, out);
        self.frame_start(out);
        raw(out, r#""choices":[{"index":0,"delta":{"#);
        members(&mut self.strings, out);
        raw(out, "},\"finish_reason\":null}]}\n\n");
    }

    /// The usage-only frame, when asked for, known and not written yet.
    fn usage_frame(&mut self, out: &mut Vec<u8>) {
        let Some(usage) = self
            .usage
            .filter(|_| self.include_usage && !self.usage_written)
        else {
            return;
        };
        self.usage_written = true;
        self.frame_start(out);
        raw(out, r#""choices":[],"usage":"#);
        write_usage(out, &usage);
        raw(out, "}\n\n");
    }
}

// ---- Whole responses ----

/// Accumulates events into one non-streaming `chat.completion` response.
///
/// The body is `{"id","object":"chat.completion","created","model","choices":[{"index":0,
/// "message":{…},"finish_reason":…}],"usage":{…}}`. The message has `role`, `content` (the
/// text; `null` when there is none and the model called tools), `reasoning_content` when
/// there was reasoning and `tool_calls` when there were any, their arguments concatenated
/// per call. `usage` is always there, zeros when unknown (OpenAI's clients expect it); the
/// `finish_reason` is `null` only if no finish event came, which a complete stream never
/// does. Signatures and redacted reasoning are dropped, as in [`ChunkWriter`].
#[derive(Debug)]
pub struct Collector {
    /// The model, as the client named it.
    model: String,
    /// `created`.
    created: u64,
    /// The upstream's response id.
    id: Option<String>,
    /// The visible answer.
    text: String,
    /// The reasoning.
    reasoning: String,
    /// Tool calls, by index.
    tool_calls: Vec<PendingCall>,
    /// Token counts.
    usage: Option<Usage>,
    /// Why the model stopped.
    finish: Option<StopReason>,
}

/// A tool call being collected.
#[derive(Debug)]
struct PendingCall {
    /// Position among the response's tool calls.
    index: u32,
    /// Id of the call.
    id: String,
    /// Name of the tool.
    name: String,
    /// The arguments so far.
    arguments: String,
}

impl Collector {
    /// A collector for one response.
    pub fn new(model: &str, created: u64) -> Collector {
        Collector {
            model: model.to_owned(),
            created,
            id: None,
            text: String::new(),
            reasoning: String::new(),
            tool_calls: Vec::new(),
            usage: None,
            finish: None,
        }
    }

    /// Takes in one event.
    ///
    /// Arguments of a tool call that never began (not in the events' contract) are dropped.
    pub fn event(&mut self, event: ChatEvent) {
        match event {
            ChatEvent::MessageStart { id, .. } => {
                if self.id.is_none() {
                    self.id = Some(id);
                }
            }
            ChatEvent::TextDelta(text) => self.text.push_str(&text),
            ChatEvent::ReasoningDelta(text) => self.reasoning.push_str(&text),
            ChatEvent::ToolCallStart { index, id, name } => {
                // Kept in index order; no room is made by index, so a bogus one costs nothing.
                let at = self.tool_calls.partition_point(|call| call.index < index);
                let call = PendingCall {
                    index,
                    id,
                    name,
                    arguments: String::new(),
                };
                match self.tool_calls.get_mut(at) {
                    Some(same) if same.index == index => *same = call,
                    _ => self.tool_calls.insert(at, call),
                }
            }
            ChatEvent::ToolCallArguments { index, arguments } => {
                if let Some(call) = self.tool_calls.iter_mut().find(|call| call.index == index) {
                    call.arguments.push_str(&arguments);
                }
            }
            ChatEvent::Usage(usage) => self.usage = Some(usage),
            ChatEvent::Finish(reason) => self.finish = Some(reason),
            ChatEvent::ReasoningSignature(_) | ChatEvent::RedactedReasoning(_) => {}
        }
    }

    /// The JSON body of the `chat.completion` object.
    pub fn finish(self) -> Vec<u8> {
        let Collector {
            model,
            created,
            id,
            text,
            reasoning,
            tool_calls,
            usage,
            finish,
        } = self;
        let mut out =
            Vec::with_capacity(256 + text.len() + reasoning.len() + 64 * tool_calls.len());
        raw(&mut out, r#"{"id":"#);
        write_owned(&mut out, response_id(id.as_deref(), created));
        raw(&mut out, r#","object":"chat.completion","created":"#);
        number(&mut out, created);
        raw(&mut out, r#","model":"#);
        write_owned(&mut out, model);
        raw(
            &mut out,
            r#","choices":[{"index":0,"message":{"role":"assistant","content":"#,
        );
        if text.is_empty() && !tool_calls.is_empty() {
            raw(&mut out, "null");
        } else {
            write_owned(&mut out, text);
        }
        if !reasoning.is_empty() {
            raw(&mut out, r#","reasoning_content":"#);
            write_owned(&mut out, reasoning);
        }
        if !tool_calls.is_empty() {
            raw(&mut out, r#","tool_calls":["#);
            for (i, call) in tool_calls.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                raw(&mut out, r#"{"id":"#);
                write_owned(&mut out, call.id);
                raw(&mut out, r#","type":"function","function":{"name":"#);
                write_owned(&mut out, call.name);
                raw(&mut out, r#","arguments":"#);
                write_owned(&mut out, call.arguments);
                raw(&mut out, "}}");
            }
            out.push(b']');
        }
        raw(&mut out, r#"},"finish_reason":"#);
        match &finish {
            Some(reason) => {
                out.push(b'"');
                raw(&mut out, finish_reason(reason));
                out.push(b'"');
            }
            None => raw(&mut out, "null"),
        }
        raw(&mut out, r#"}],"usage":"#);
        write_usage(&mut out, &usage.unwrap_or_default());
        out.push(b'}');
        out
    }
}

// ---- Errors ----

/// An HTTP error answer in OpenAI's shape: status, extra headers (e.g. `retry-after`), JSON
/// body `{"error":{"message":…,"type":…,"param":null,"code":…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers to add, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// How an error is answered.
struct Described {
    status: u16,
    kind: &'static str,
    code: Option<&'static str>,
    /// `x-should-retry: false`: a failure that retrying cannot mend. OpenAI's SDKs obey this
    /// header before their own rule (which retries every 5xx).
    permanent: bool,
}

/// The answer to an error, as a demanding gateway operator wants it: the status says whose
/// fault it is, so the client's SDK retries what may pass later and reports the rest, and
/// monitoring of 5xx rates sees every fault of the gateway or its upstream.
///
/// | error | status | `type` | `code` |
/// | --- | --- | --- | --- |
/// | `InvalidRequest` | 400 | `invalid_request_error` | `null` |
/// | `ContextOverflow` | 400 | `invalid_request_error` | `context_length_exceeded` |
/// | `ModelNotFound` | 404 | `invalid_request_error` | `model_not_found` |
/// | `RateLimited` | 429 (`retry-after` when known) | `rate_limit_error` | `rate_limit_exceeded` |
/// | `Configuration` | 500 | `server_error` | `configuration_error` |
/// | `MissingCredentials` | 500 | `server_error` | `missing_credentials` |
/// | `NotImplemented` | 501 | `server_error` | `not_implemented` |
/// | `Unauthorized` | 502 | `upstream_error` | `upstream_unauthorized` |
/// | `Forbidden` | 502 | `upstream_error` | `upstream_forbidden` |
/// | `WrongRoute` | 502 | `upstream_error` | `wrong_route` |
/// | `UpstreamUnavailable` | 503 (upstream 503 or 529), else 502 | `upstream_error` | `upstream_unavailable` |
/// | `Protocol` | 502 | `upstream_error` | `upstream_protocol_error` |
/// | `Truncated` | 502 | `upstream_error` | `upstream_truncated` |
/// | `Timeout` | 504 | `upstream_error` | `upstream_timeout` |
///
/// - `Unauthorized` and `Forbidden` come from Mantle refusing the *gateway's* credentials
///   (or from a malformed configured token, or a host that forbids the destination): the
///   client's gateway key was checked before. Answering 401/403 would make the client's SDK
///   report its own key as wrong, which it is not, and hide the gateway's fault from 5xx
///   monitoring; 502 says the gateway could not get an answer from upstream.
/// - `WrongRoute` means the gateway sent a model to the wrong Mantle route: its model
///   configuration is wrong, not the client's request, hence 502 rather than 400.
/// - Faults that a retry cannot mend (configuration, credentials, wrong route, not
///   implemented) carry `x-should-retry: false`, so OpenAI SDKs fail fast instead of
///   retrying a 5xx twice.
///
/// The message is the error's own (the provider's messages never carry a secret).
pub fn error_response(error: &Error) -> ErrorResponse {
    let described = describe(error);
    let mut headers = Vec::new();
    if let Error::RateLimited {
        retry_after: Some(seconds),
        ..
    } = error
    {
        headers.push(("retry-after".to_owned(), seconds.to_string()));
    }
    if described.permanent {
        headers.push(("x-should-retry".to_owned(), "false".to_owned()));
    }
    let mut body = Vec::with_capacity(96 + error.message().len());
    write_error_body(&mut body, &mut Strings::new(), error.message(), &described);
    ErrorResponse {
        status: described.status,
        headers,
        body,
    }
}

/// An OpenAI error body `{"error":{"message","type","param":null,"code"}}`, for the
/// gateway's own refusals (a wrong gateway key, an unknown path).
pub fn openai_error(message: &str, kind: &str, code: &str) -> Vec<u8> {
    let mut strings = Strings::new();
    let mut out = Vec::with_capacity(64 + message.len());
    raw(&mut out, r#"{"error":{"message":"#);
    strings.write(&mut out, message);
    raw(&mut out, r#","type":"#);
    strings.write(&mut out, kind);
    raw(&mut out, r#","param":null,"code":"#);
    strings.write(&mut out, code);
    raw(&mut out, "}}");
    out
}

/// See [`error_response`].
fn describe(error: &Error) -> Described {
    const CLIENT: &str = "invalid_request_error";
    const SERVER: &str = "server_error";
    const UPSTREAM: &str = "upstream_error";
    let (status, kind, code, permanent) = match error {
        Error::InvalidRequest(_) => (400, CLIENT, None, false),
        Error::ContextOverflow(_) => (400, CLIENT, Some("context_length_exceeded"), false),
        Error::ModelNotFound(_) => (404, CLIENT, Some("model_not_found"), false),
        Error::RateLimited { .. } => (429, "rate_limit_error", Some("rate_limit_exceeded"), false),
        Error::Configuration(_) => (500, SERVER, Some("configuration_error"), true),
        Error::MissingCredentials(_) => (500, SERVER, Some("missing_credentials"), true),
        Error::NotImplemented(_) => (501, SERVER, Some("not_implemented"), true),
        Error::Unauthorized(_) => (502, UPSTREAM, Some("upstream_unauthorized"), true),
        Error::Forbidden(_) => (502, UPSTREAM, Some("upstream_forbidden"), true),
        Error::WrongRoute(_) => (502, UPSTREAM, Some("wrong_route"), true),
        Error::UpstreamUnavailable { status, .. } => {
            let status = if matches!(status, Some(503 | 529)) {
                503
            } else {
                502
            };
            (status, UPSTREAM, Some("upstream_unavailable"), false)
        }
        Error::Protocol(_) => (502, UPSTREAM, Some("upstream_protocol_error"), false),
        Error::Truncated(_) => (502, UPSTREAM, Some("upstream_truncated"), false),
        Error::Timeout(_) => (504, UPSTREAM, Some("upstream_timeout"), false),
    };
    Described {
        status,
        kind,
        code,
        permanent,
    }
}

/// Appends `{"error":{"message","type","param":null,"code"}}`.
fn write_error_body(out: &mut Vec<u8>, strings: &mut Strings, message: &str, d: &Described) {
    raw(out, r#"{"error":{"message":"#);
    strings.write(out, message);
    raw(out, r#","type":""#);
    raw(out, d.kind);
    raw(out, r#"","param":null,"code":"#);
    match d.code {
        Some(code) => {
            out.push(b'"');
            raw(out, code);
            out.push(b'"');
        }
        None => raw(out, "null"),
    }
    raw(out, "}}");
}

// ---- Models ----

/// `GET /v1/models` body: `{"object":"list","data":[{"id","object":"model","created",
/// "owned_by", "name","api","reasoning","input":[…],"context_window","max_tokens"}]}`, one
/// entry per model in the order given, all with the same `created`.
///
/// `owned_by` is the model's vendor: the first dot-separated part of the id when it is a
/// plain word (`openai.gpt-oss-120b` → `openai`, but `claude-opus-4.7` has none), skipping a geographic inference-profile prefix
/// (`us.anthropic.claude-…` → `anthropic`); `anthropic` for a Claude id without a vendor
/// part (or any model on the Anthropic route); else `amazon-bedrock-mantle`. The extras use
/// the provider's names: `api` as [`mantle_provider::model::Api::as_str`] spells it, `input` as
/// [`mantle_provider::model::Modality::as_str`] does.
pub fn models_response(models: &[Model], created: u64) -> Vec<u8> {
    let mut strings = Strings::new();
    let mut out = Vec::with_capacity(64 + 256 * models.len());
    raw(&mut out, r#"{"object":"list","data":["#);
    for (i, model) in models.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        raw(&mut out, r#"{"id":"#);
        strings.write(&mut out, &model.id);
        raw(&mut out, r#","object":"model","created":"#);
        number(&mut out, created);
        raw(&mut out, r#","owned_by":"#);
        strings.write(&mut out, owned_by(model));
        raw(&mut out, r#","name":"#);
        strings.write(&mut out, &model.name);
        raw(&mut out, r#","api":""#);
        raw(&mut out, model.api.as_str());
        raw(&mut out, r#"","reasoning":"#);
        boolean(&mut out, model.reasoning);
        raw(&mut out, r#","input":["#);
        for (j, modality) in model.input.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.push(b'"');
            raw(&mut out, modality.as_str());
            out.push(b'"');
        }
        raw(&mut out, r#"],"context_window":"#);
        number(&mut out, u64::from(model.context_window));
        raw(&mut out, r#","max_tokens":"#);
        number(&mut out, u64::from(model.max_tokens));
        out.push(b'}');
    }
    raw(&mut out, "]}");
    out
}

/// Geographic prefixes of Bedrock inference-profile ids (`us.anthropic.…`).
const GEO_PREFIXES: [&str; 8] = ["us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"];

/// The vendor of a model (see [`models_response`]).
fn owned_by(model: &Model) -> &str {
    // A vendor part is a plain word: `claude-opus-4.7` has a dot, but no vendor.
    let is_vendor =
        |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric());
    let mut parts = model.id.split('.');
    let first = parts.next().unwrap_or_default();
    let vendor = match parts.next() {
        // `us.anthropic.claude-…`: the vendor is the second part.
        Some(second) if GEO_PREFIXES.contains(&first) && parts.next().is_some() => second,
        Some(_) => first,
        None => "",
    };
    if is_vendor(vendor) {
        vendor
    } else if model.id.starts_with("claude")
        || model.api == mantle_provider::model::Api::AnthropicMessages
    {
        "anthropic"
    } else {
        "amazon-bedrock-mantle"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mantle_provider::model::{Api, Cost, Modality, ModelSource};
    use proptest::prelude::*;
    use serde_json::{Value as Json, json};

    fn parse(body: &Json) -> Result<ParsedChat> {
        parse_chat_request(body.to_string().as_bytes())
    }

    /// The message of the `InvalidRequest` that `body` gives.
    fn refusal(body: &[u8]) -> String {
        match parse_chat_request(body) {
            Err(Error::InvalidRequest(m)) => m,
            other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
        }
    }

    /// A request with `messages` and these other members.
    fn with(messages: Json, rest: Json) -> Vec<u8> {
        let mut body = json!({"model": "m", "messages": messages});
        for (k, v) in rest.as_object().unwrap() {
            body[k] = v.clone();
        }
        body.to_string().into_bytes()
    }

    fn text(s: &str) -> ContentPart {
        ContentPart::Text(s.to_owned())
    }

    #[test]
    fn a_full_request_maps_to_the_exact_chat_request() {
        let body = json!({
            "model": "anthropic.claude-opus-4.7",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "developer", "content": [
                    {"type": "text", "text": "Answer in English."},
                    {"type": "text", "text": "Use metric units."}
                ]},
                {"role": "user", "name": "ann", "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
                ]},
                {"role": "assistant", "content": "", "reasoning_content": "A cat. Weather next.",
                 "tool_calls": [{"id": "call_1", "type": "function",
                                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18°C, sunny \"ok\"\n"},
                {"role": "assistant", "content": [{"type": "text", "text": "It is sunny."}], "reasoning": "Done."},
                {"role": "user", "content": "Thanks"}
            ],
            "tools": [
                {"type": "function", "function": {
                    "name": "get_weather", "description": "Current weather of a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                    "strict": true}},
                {"type": "function", "function": {"name": "now"}}
            ],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "max_completion_tokens": 4096,
            "max_tokens": 100,
            "temperature": 0.7,
            "top_p": 0.95,
            "stop": ["END", "STOP"],
            "reasoning_effort": "minimal",
            "stream": true,
            "stream_options": {"include_usage": true},
            "seed": 7,
            "user": "someone",
            "response_format": {"type": "text"},
            "n": 1,
            "logprobs": null
        });
        let parsed = parse(&body).unwrap();
        let expected = ParsedChat {
            request: ChatRequest {
                model: "anthropic.claude-opus-4.7".to_owned(),
                messages: vec![
                    Message::System("You are terse.".to_owned()),
                    Message::System("Answer in English.\nUse metric units.".to_owned()),
                    Message::User(vec![
                        text("What is in this image?"),
                        ContentPart::Image(ImageSource::Base64 {
                            media_type: "image/png".to_owned(),
                            data: "iVBORw0KGgo=".to_owned(),
                        }),
                        ContentPart::Image(ImageSource::Url(
                            "https://example.com/cat.png".to_owned(),
                        )),
                    ]),
                    Message::Assistant(AssistantMessage {
                        reasoning: vec![ReasoningBlock::Thinking {
                            text: "A cat. Weather next.".to_owned(),
                            signature: None,
                        }],
                        content: vec![],
                        tool_calls: vec![ToolCall {
                            id: "call_1".to_owned(),
                            name: "get_weather".to_owned(),
                            arguments: r#"{"city":"Paris"}"#.to_owned(),
                        }],
                    }),
                    Message::Tool(ToolResult {
                        tool_call_id: "call_1".to_owned(),
                        content: vec![text("18°C, sunny \"ok\"\n")],
                        is_error: false,
                    }),
                    Message::Assistant(AssistantMessage {
                        reasoning: vec![ReasoningBlock::Thinking {
                            text: "Done.".to_owned(),
                            signature: None,
                        }],
                        content: vec![text("It is sunny.")],
                        tool_calls: vec![],
                    }),
                    Message::User(vec![text("Thanks")]),
                ],
                tools: vec![
                    Tool {
                        name: "get_weather".to_owned(),
                        description: Some("Current weather of a city".to_owned()),
                        parameters: r#"{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}"#
                            .to_owned(),
                    },
                    Tool {
                        name: "now".to_owned(),
                        description: None,
                        parameters: String::new(),
                    },
                ],
                tool_choice: Some(ToolChoice::Named("get_weather".to_owned())),
                max_tokens: Some(4096),
                temperature: Some(0.7),
                top_p: Some(0.95),
                stop: vec!["END".to_owned(), "STOP".to_owned()],
                reasoning_effort: Some(ReasoningEffort::Low),
                extra: None,
            },
            stream: true,
            include_usage: true,
        };
        assert_eq!(parsed, expected);
    }

    #[test]
    fn a_minimal_request_has_the_defaults() {
        let parsed = parse(&json!({
            "model": "openai.gpt-oss-120b",
            "messages": [{"role": "user", "content": "Hi"}],
            "temperature": null, "tools": null, "stop": null, "stream_options": null
        }))
        .unwrap();
        assert_eq!(
            parsed,
            ParsedChat {
                request: ChatRequest {
                    model: "openai.gpt-oss-120b".to_owned(),
                    messages: vec![Message::User(vec![text("Hi")])],
                    ..ChatRequest::default()
                },
                stream: false,
                include_usage: false,
            }
        );
    }

    #[test]
    fn the_other_spellings_are_read() {
        let user = json!([{"role": "user", "content": "Hi"}]);
        let request = |rest: Json| {
            parse_chat_request(&with(user.clone(), rest))
                .unwrap()
                .request
        };
        for (choice, expected) in [
            ("auto", ToolChoice::Auto),
            ("none", ToolChoice::None),
            ("required", ToolChoice::Required),
        ] {
            assert_eq!(
                request(json!({"tool_choice": choice})).tool_choice,
                Some(expected)
            );
        }
        for (effort, expected) in [
            ("none", None),
            ("minimal", Some(ReasoningEffort::Low)),
            ("low", Some(ReasoningEffort::Low)),
            ("medium", Some(ReasoningEffort::Medium)),
            ("high", Some(ReasoningEffort::High)),
            ("xhigh", Some(ReasoningEffort::High)),
        ] {
            assert_eq!(
                request(json!({"reasoning_effort": effort})).reasoning_effort,
                expected
            );
        }
        assert_eq!(request(json!({"max_tokens": 10})).max_tokens, Some(10));
        assert_eq!(request(json!({"stop": "END"})).stop, ["END"]);
        // A bare image URL string, an assistant turn with null content and a refusal part.
        let messages = request(json!({"messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": "https://x/y.jpg"}]},
            {"role": "assistant", "content": null},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
            {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "DATA:image/jpeg;charset=x;base64,/9j/"}}]}
        ]}))
        .messages;
        assert_eq!(
            messages,
            [
                Message::User(vec![ContentPart::Image(ImageSource::Url(
                    "https://x/y.jpg".to_owned()
                ))]),
                Message::Assistant(AssistantMessage::default()),
                Message::Assistant(AssistantMessage {
                    content: vec![text("No.")],
                    ..AssistantMessage::default()
                }),
                Message::Tool(ToolResult {
                    tool_call_id: "c".to_owned(),
                    content: vec![text("a"), text("b")],
                    is_error: false,
                }),
                Message::User(vec![ContentPart::Image(ImageSource::Base64 {
                    media_type: "image/jpeg".to_owned(),
                    data: "/9j/".to_owned(),
                })]),
            ]
        );
        // A repeated member counts with its last value.
        let parsed = parse_chat_request(
            br#"{"model":"a","model":"b","messages":[{"role":"user","content":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.request.model, "b");
    }

    #[test]
    fn every_refusal_names_its_path() {
        let user = json!([{"role": "user", "content": "Hi"}]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                b"{\n  \"model\": \"m\",\n  oops }".to_vec(),
                "the body is not JSON: expected a string key at line 3 column 3",
            ),
            (b"".to_vec(), "the body is not JSON: "),
            (b"\xff".to_vec(), "the body is not JSON: invalid UTF-8"),
            (
                b"[1]".to_vec(),
                "the body must be a JSON object, found an array",
            ),
            (b"{}".to_vec(), "model: required"),
            (
                json!({"model": "", "messages": user})
                    .to_string()
                    .into_bytes(),
                "model: must not be empty",
            ),
            (
                json!({"model": 5, "messages": user})
                    .to_string()
                    .into_bytes(),
                "model: expected a string, found a number",
            ),
            (
                json!({"model": "m"}).to_string().into_bytes(),
                "messages: required",
            ),
            (
                json!({"model": "m", "messages": null})
                    .to_string()
                    .into_bytes(),
                "messages: required",
            ),
            (
                json!({"model": "m", "messages": []})
                    .to_string()
                    .into_bytes(),
                "messages: must not be empty",
            ),
            (
                json!({"model": "m", "messages": {}})
                    .to_string()
                    .into_bytes(),
                "messages: expected an array, found an object",
            ),
            (
                with(json!([3]), json!({})),
                "messages[0]: expected an object, found a number",
            ),
            (
                with(json!([{"content": "x"}]), json!({})),
                "messages[0].role: required",
            ),
            (
                with(json!([{"role": "wizard", "content": "x"}]), json!({})),
                "messages[0].role: unknown role \"wizard\"; expected system, developer, user, assistant or tool",
            ),
            (
                with(json!([{"role": "system"}]), json!({})),
                "messages[0].content: required",
            ),
            (
                with(
                    json!([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]}]),
                    json!({}),
                ),
                "messages[0].content[0].type: unsupported part type \"image_url\"; expected \"text\"",
            ),
            (
                with(
                    json!([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": 5}]),
                    json!({}),
                ),
                "messages[2].content: expected a string or an array of parts, found a number",
            ),
            (
                with(json!([{"role": "user", "content": ["x"]}]), json!({})),
                "messages[0].content[0]: expected an object, found a string",
            ),
            (
                with(
                    json!([{"role": "user", "content": [{"text": "x"}]}]),
                    json!({}),
                ),
                "messages[0].content[0].type: required",
            ),
            (
                with(
                    json!([{"role": "user", "content": [{"type": "text"}]}]),
                    json!({}),
                ),
                "messages[0].content[0].text: required",
            ),
            (
                with(
                    json!([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "input_audio"}]}]),
                    json!({}),
                ),
                "messages[0].content[1].type: unsupported part type \"input_audio\"; expected \"text\" or \"image_url\"",
            ),
            (
                with(
                    json!([{"role": "user", "content": [{"type": "image_url"}]}]),
                    json!({}),
                ),
                "messages[0].content[0].image_url: required",
            ),
            (
                with(
                    json!([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]),
                    json!({}),
                ),
                "messages[0].content[0].image_url.url: required",
            ),
            (
                with(
                    json!([{"role": "user", "content": [{"type": "image_url", "image_url": 3}]}]),
                    json!({}),
                ),
                "messages[0].content[0].image_url: expected an object with the image's url, found a number",
            ),
            (
                with(
                    json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}]}]),
                    json!({}),
                ),
                "messages[0].content[0].image_url.url: an image data: URL must be data:<media type>;base64,<data>",
            ),
            (
                with(
                    json!([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": ""}}]}]),
                    json!({}),
                ),
                "messages[0].content[0].image_url.url: must not be empty",
            ),
            (
                with(json!([{"role": "assistant", "content": 1}]), json!({})),
                "messages[0].content: expected a string or an array of text parts, found a number",
            ),
            (
                with(
                    json!([{"role": "assistant", "reasoning_content": 1}]),
                    json!({}),
                ),
                "messages[0].reasoning_content: expected a string, found a number",
            ),
            (
                with(json!([{"role": "assistant", "tool_calls": {}}]), json!({})),
                "messages[0].tool_calls: expected an array, found an object",
            ),
            (
                with(
                    json!([{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}]),
                    json!({}),
                ),
                "messages[1].tool_calls[0].function.name: required",
            ),
            (
                with(
                    json!([{"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]}]),
                    json!({}),
                ),
                "messages[0].tool_calls[0].id: required",
            ),
            (
                with(
                    json!([{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {}}}]}]),
                    json!({}),
                ),
                "messages[0].tool_calls[0].function.arguments: expected a string, found an object",
            ),
            (
                with(
                    json!([{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "function": {"name": "f"}}]}]),
                    json!({}),
                ),
                "messages[0].tool_calls[0].type: unsupported type \"custom\"; expected \"function\"",
            ),
            (
                with(json!([{"role": "tool", "content": "x"}]), json!({})),
                "messages[0].tool_call_id: required",
            ),
            (
                with(json!([{"role": "tool", "tool_call_id": "c"}]), json!({})),
                "messages[0].content: required",
            ),
            (
                with(user.clone(), json!({"tools": {}})),
                "tools: expected an array, found an object",
            ),
            (
                with(user.clone(), json!({"tools": [{"type": "function"}]})),
                "tools[0].function: required",
            ),
            (
                with(
                    user.clone(),
                    json!({"tools": [{"type": "function", "function": {"name": ""}}]}),
                ),
                "tools[0].function.name: must not be empty",
            ),
            (
                with(
                    user.clone(),
                    json!({"tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]}),
                ),
                "tools[0].function.parameters: expected a JSON schema object, found a string",
            ),
            (
                with(
                    user.clone(),
                    json!({"tools": [{"type": "function", "function": {"name": "f", "description": 1}}]}),
                ),
                "tools[0].function.description: expected a string, found a number",
            ),
            (
                with(user.clone(), json!({"tool_choice": "sometimes"})),
                "tool_choice: unknown choice \"sometimes\"",
            ),
            (
                with(user.clone(), json!({"tool_choice": 3})),
                "tool_choice: expected \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}, found a number",
            ),
            (
                with(
                    user.clone(),
                    json!({"tool_choice": {"type": "function", "function": {}}}),
                ),
                "tool_choice.function.name: required",
            ),
            (
                with(user.clone(), json!({"max_tokens": -1})),
                "max_tokens: expected a whole, non-negative number, found a number",
            ),
            (
                with(user.clone(), json!({"max_completion_tokens": 1.5})),
                "max_completion_tokens: expected a whole, non-negative number, found a number",
            ),
            (
                with(user.clone(), json!({"max_tokens": 5_000_000_000u64})),
                "max_tokens: 5000000000 is out of range",
            ),
            (
                with(user.clone(), json!({"temperature": "hot"})),
                "temperature: expected a number, found a string",
            ),
            (
                with(user.clone(), json!({"top_p": 1e300})),
                "top_p: is out of range",
            ),
            (
                with(user.clone(), json!({"stop": 5})),
                "stop: expected a string or an array of strings, found a number",
            ),
            (
                with(user.clone(), json!({"stop": ["a", 1]})),
                "stop[1]: expected a string, found a number",
            ),
            (
                with(user.clone(), json!({"reasoning_effort": "max"})),
                "reasoning_effort: unknown effort \"max\"",
            ),
            (
                with(user.clone(), json!({"reasoning_effort": 2})),
                "reasoning_effort: expected a string, found a number",
            ),
            (
                with(user.clone(), json!({"n": 2})),
                "n: only 1 choice is supported, not 2",
            ),
            (
                with(user.clone(), json!({"stream": "yes"})),
                "stream: expected a boolean, found a string",
            ),
            (
                with(user.clone(), json!({"stream_options": 1})),
                "stream_options: expected an object, found a number",
            ),
            (
                with(
                    user.clone(),
                    json!({"stream_options": {"include_usage": "yes"}}),
                ),
                "stream_options.include_usage: expected a boolean, found a string",
            ),
        ];
        for (body, expected) in cases {
            let message = refusal(&body);
            assert!(
                message.starts_with(expected),
                "{}\n  gave {message:?}\n  want {expected:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    // ---- Streams ----

    fn usage() -> Usage {
        Usage {
            input_tokens: 12,
            output_tokens: 40,
            cache_read_tokens: Some(2048),
            cache_write_tokens: Some(100),
        }
    }

    /// Start, reasoning (with a signature), text, one tool call in three pieces, usage with
    /// cache reads, finish.
    fn transcript() -> Vec<ChatEvent> {
        vec![
            ChatEvent::MessageStart {
                id: "msg_01Think".to_owned(),
                model: "claude-opus-4.7".to_owned(),
            },
            ChatEvent::ReasoningDelta("Weather \"first\".".to_owned()),
            ChatEvent::ReasoningSignature("EqQBCkYI".to_owned()),
            ChatEvent::RedactedReasoning("EmwKAhgB".to_owned()),
            ChatEvent::TextDelta("Checking\n".to_owned()),
            ChatEvent::TextDelta("…".to_owned()),
            ChatEvent::ToolCallStart {
                index: 0,
                id: "toolu_01".to_owned(),
                name: "get_weather".to_owned(),
            },
            ChatEvent::ToolCallArguments {
                index: 0,
                arguments: "{\"ci".to_owned(),
            },
            ChatEvent::ToolCallArguments {
                index: 0,
                arguments: "ty\": ".to_owned(),
            },
            ChatEvent::ToolCallArguments {
                index: 0,
                arguments: "\"Paris\"}".to_owned(),
            },
            ChatEvent::Usage(usage()),
            ChatEvent::Finish(StopReason::ToolCalls),
        ]
    }

    /// The frames of a stream, each checked as `data: …\n\n`, parsed (`[DONE]` as a string).
    fn frames(out: &[u8]) -> Vec<Json> {
        let text = std::str::from_utf8(out).unwrap();
        assert!(text.ends_with("\n\n"), "{text:?}");
        text[..text.len() - 2]
            .split("\n\n")
            .map(|frame| {
                let data = frame.strip_prefix("data: ").unwrap();
                assert!(!data.contains('\n'), "{data:?}");
                if data == "[DONE]" {
                    Json::from("[DONE]")
                } else {
                    serde_json::from_str(data).unwrap()
                }
            })
            .collect()
    }

    fn write(writer: &mut ChunkWriter, events: &[ChatEvent]) -> Vec<u8> {
        let mut out = Vec::new();
        for event in events {
            writer.event(event, &mut out);
        }
        writer.done(&mut out);
        out
    }

    fn chunk(delta: Json) -> Json {
        json!({
            "id": "msg_01Think", "object": "chat.completion.chunk", "created": 1_763_000_000,
            "model": "claude-opus-4.7",
            "choices": [{"index": 0, "delta": delta, "finish_reason": null}]
        })
    }

    #[test]
    fn a_transcript_gives_openai_chunks() {
        let mut writer = ChunkWriter::new("claude-opus-4.7", 1_763_000_000, true);
        let frames = frames(&write(&mut writer, &transcript()));
        let mut finish = chunk(json!({}));
        finish["choices"][0]["finish_reason"] = json!("tool_calls");
        let mut usage = chunk(json!({}));
        usage["choices"] = json!([]);
        usage["usage"] = json!({
            "prompt_tokens": 12 + 2048 + 100, "completion_tokens": 40, "total_tokens": 2200,
            "prompt_tokens_details": {"cached_tokens": 2048}
        });
        let expected = vec![
            chunk(json!({"role": "assistant", "content": ""})),
            chunk(json!({"reasoning_content": "Weather \"first\"."})),
            chunk(json!({"content": "Checking\n"})),
            chunk(json!({"content": "…"})),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "toolu_01", "type": "function",
                                          "function": {"name": "get_weather", "arguments": ""}}]}),
            ),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"ci"}}]})),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "ty\": "}}]})),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]})),
            finish.clone(),
            usage,
            json!("[DONE]"),
        ];
        assert_eq!(frames, expected);

        let mut writer = ChunkWriter::new("claude-opus-4.7", 1_763_000_000, false);
        let frames = self::frames(&write(&mut writer, &transcript()));
        assert_eq!(frames.len(), expected.len() - 1);
        assert_eq!(frames[frames.len() - 2], finish);
        assert!(frames.iter().all(|f| f.get("usage").is_none()));
    }

    #[test]
    fn without_a_start_the_role_frame_comes_first_with_a_made_id() {
        let mut writer = ChunkWriter::new("m\"x", 42, true);
        let out = write(
            &mut writer,
            &[
                ChatEvent::TextDelta(String::new()),
                ChatEvent::TextDelta("a".to_owned()),
                // Too late to change the id.
                ChatEvent::MessageStart {
                    id: "late".to_owned(),
                    model: "m".to_owned(),
                },
                ChatEvent::Finish(StopReason::Refusal),
            ],
        );
        let got = frames(&out);
        let head = json!({"id": "chatcmpl-42", "object": "chat.completion.chunk", "created": 42, "model": "m\"x"});
        let with_choice = |delta: Json, finish: Json| {
            let mut frame = head.clone();
            frame["choices"] = json!([{"index": 0, "delta": delta, "finish_reason": finish}]);
            frame
        };
        assert_eq!(
            got,
            [
                with_choice(json!({"role": "assistant", "content": ""}), Json::Null),
                with_choice(json!({"content": "a"}), Json::Null),
                // No usage came: no usage frame, although it was asked for.
                with_choice(json!({}), json!("content_filter")),
                json!("[DONE]"),
            ]
        );
        // An empty upstream id is replaced too.
        let mut writer = ChunkWriter::new("m", 7, false);
        let mut out = Vec::new();
        writer.event(
            &ChatEvent::MessageStart {
                id: String::new(),
                model: "m".to_owned(),
            },
            &mut out,
        );
        assert_eq!(frames(&out)[0]["id"], "chatcmpl-7");
    }

    #[test]
    fn finish_reasons_map_to_openai_words() {
        for (reason, word) in [
            (StopReason::Stop, "stop"),
            (StopReason::Length, "length"),
            (StopReason::ToolCalls, "tool_calls"),
            (StopReason::ContentFilter, "content_filter"),
            (StopReason::Refusal, "content_filter"),
            (StopReason::Other("pause_turn".to_owned()), "stop"),
        ] {
            let mut writer = ChunkWriter::new("m", 1, false);
            let mut out = Vec::new();
            writer.event(&ChatEvent::Finish(reason.clone()), &mut out);
            assert_eq!(frames(&out)[1]["choices"][0]["finish_reason"], word);
            let mut collector = Collector::new("m", 1);
            collector.event(ChatEvent::Finish(reason));
            let body: Json = serde_json::from_slice(&collector.finish()).unwrap();
            assert_eq!(body["choices"][0]["finish_reason"], word);
        }
    }

    #[test]
    fn an_error_mid_stream_is_an_openai_error_frame() {
        let mut writer = ChunkWriter::new("m", 1, true);
        let mut out = Vec::new();
        writer.event(&ChatEvent::TextDelta("partial".to_owned()), &mut out);
        writer.error(
            &Error::Truncated("the stream ended \"early\"".to_owned()),
            &mut out,
        );
        let frames = frames(&out);
        assert_eq!(frames.len(), 3);
        assert_eq!(
            frames[2],
            json!({"error": {"message": "the stream ended \"early\"", "type": "upstream_error",
                             "param": null, "code": "upstream_truncated"}})
        );
    }

    #[test]
    fn a_transcript_collects_into_one_completion() {
        let mut collector = Collector::new("claude-opus-4.7", 1_763_000_000);
        for event in transcript() {
            collector.event(event);
        }
        let body: Json = serde_json::from_slice(&collector.finish()).unwrap();
        assert_eq!(
            body,
            json!({
                "id": "msg_01Think", "object": "chat.completion", "created": 1_763_000_000,
                "model": "claude-opus-4.7",
                "choices": [{"index": 0, "message": {
                    "role": "assistant", "content": "Checking\n…",
                    "reasoning_content": "Weather \"first\".",
                    "tool_calls": [{"id": "toolu_01", "type": "function",
                                    "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]
                }, "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 2160, "completion_tokens": 40, "total_tokens": 2200,
                          "prompt_tokens_details": {"cached_tokens": 2048}}
            })
        );
    }

    #[test]
    fn a_bare_completion_has_null_content_only_beside_tool_calls_and_zero_usage() {
        let collector = Collector::new("m", 5);
        let body: Json = serde_json::from_slice(&collector.finish()).unwrap();
        assert_eq!(
            body,
            json!({
                "id": "chatcmpl-5", "object": "chat.completion", "created": 5, "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": ""},
                             "finish_reason": null}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
            })
        );
        let mut collector = Collector::new("m", 5);
        for event in [
            ChatEvent::ToolCallStart {
                index: 1,
                id: "b".to_owned(),
                name: "g".to_owned(),
            },
            ChatEvent::ToolCallStart {
                index: 0,
                id: "a".to_owned(),
                name: "f".to_owned(),
            },
            ChatEvent::ToolCallArguments {
                index: 1,
                arguments: "{}".to_owned(),
            },
            ChatEvent::ToolCallArguments {
                index: 7,
                arguments: "lost".to_owned(),
            },
            ChatEvent::ToolCallStart {
                index: u32::MAX,
                id: "z".to_owned(),
                name: "h".to_owned(),
            },
            ChatEvent::Usage(Usage {
                input_tokens: 3,
                output_tokens: 4,
                cache_read_tokens: None,
                cache_write_tokens: None,
            }),
            ChatEvent::Finish(StopReason::ToolCalls),
        ] {
            collector.event(event);
        }
        let body: Json = serde_json::from_slice(&collector.finish()).unwrap();
        assert_eq!(body["choices"][0]["message"]["content"], Json::Null);
        assert_eq!(
            body["choices"][0]["message"]["tool_calls"],
            json!([
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": ""}},
                {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
                {"id": "z", "type": "function", "function": {"name": "h", "arguments": ""}}
            ])
        );
        assert_eq!(
            body["usage"],
            json!({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
        );
    }

    // ---- Errors ----

    #[test]
    fn errors_answer_with_their_status_and_code() {
        let m = || "what \"happened\"".to_owned();
        let cases = [
            (
                Error::Configuration(m()),
                500,
                "server_error",
                Json::from("configuration_error"),
                true,
            ),
            (
                Error::MissingCredentials(m()),
                500,
                "server_error",
                "missing_credentials".into(),
                true,
            ),
            (
                Error::Unauthorized(m()),
                502,
                "upstream_error",
                "upstream_unauthorized".into(),
                true,
            ),
            (
                Error::Forbidden(m()),
                502,
                "upstream_error",
                "upstream_forbidden".into(),
                true,
            ),
            (
                Error::ModelNotFound(m()),
                404,
                "invalid_request_error",
                "model_not_found".into(),
                false,
            ),
            (
                Error::WrongRoute(m()),
                502,
                "upstream_error",
                "wrong_route".into(),
                true,
            ),
            (
                Error::RateLimited {
                    message: m(),
                    retry_after: None,
                },
                429,
                "rate_limit_error",
                "rate_limit_exceeded".into(),
                false,
            ),
            (
                Error::InvalidRequest(m()),
                400,
                "invalid_request_error",
                Json::Null,
                false,
            ),
            (
                Error::ContextOverflow(m()),
                400,
                "invalid_request_error",
                "context_length_exceeded".into(),
                false,
            ),
            (
                Error::UpstreamUnavailable {
                    status: Some(500),
                    message: m(),
                },
                502,
                "upstream_error",
                "upstream_unavailable".into(),
                false,
            ),
            (
                Error::UpstreamUnavailable {
                    status: None,
                    message: m(),
                },
                502,
                "upstream_error",
                "upstream_unavailable".into(),
                false,
            ),
            (
                Error::UpstreamUnavailable {
                    status: Some(503),
                    message: m(),
                },
                503,
                "upstream_error",
                "upstream_unavailable".into(),
                false,
            ),
            (
                Error::UpstreamUnavailable {
                    status: Some(529),
                    message: m(),
                },
                503,
                "upstream_error",
                "upstream_unavailable".into(),
                false,
            ),
            (
                Error::Timeout(m()),
                504,
                "upstream_error",
                "upstream_timeout".into(),
                false,
            ),
            (
                Error::Protocol(m()),
                502,
                "upstream_error",
                "upstream_protocol_error".into(),
                false,
            ),
            (
                Error::Truncated(m()),
                502,
                "upstream_error",
                "upstream_truncated".into(),
                false,
            ),
            (
                Error::NotImplemented(m()),
                501,
                "server_error",
                "not_implemented".into(),
                true,
            ),
        ];
        for (error, status, kind, code, permanent) in cases {
            let response = error_response(&error);
            assert_eq!(response.status, status, "{error:?}");
            let body: Json = serde_json::from_slice(&response.body).unwrap();
            assert_eq!(
                body,
                json!({"error": {"message": "what \"happened\"", "type": kind, "param": null, "code": code}}),
                "{error:?}"
            );
            let expected_headers: Vec<(String, String)> = if permanent {
                vec![("x-should-retry".to_owned(), "false".to_owned())]
            } else {
                vec![]
            };
            assert_eq!(response.headers, expected_headers, "{error:?}");
        }
        let limited = error_response(&Error::RateLimited {
            message: m(),
            retry_after: Some(30),
        });
        assert_eq!(limited.status, 429);
        assert_eq!(
            limited.headers,
            [("retry-after".to_owned(), "30".to_owned())]
        );
    }

    #[test]
    fn the_gateways_own_errors_are_openai_shaped() {
        let body: Json = serde_json::from_slice(&openai_error(
            "no \"key\"",
            "invalid_request_error",
            "invalid_api_key",
        ))
        .unwrap();
        assert_eq!(
            body,
            json!({"error": {"message": "no \"key\"", "type": "invalid_request_error",
                             "param": null, "code": "invalid_api_key"}})
        );
    }

    // ---- Models ----

    fn model(id: &str, api: Api) -> Model {
        Model {
            id: id.to_owned(),
            name: format!("{id} \"name\""),
            api,
            reasoning: api == Api::AnthropicMessages,
            input: vec![Modality::Text, Modality::Image],
            cost: Cost::default(),
            context_window: 200_000,
            max_tokens: 64_000,
            source: ModelSource::Discovered,
        }
    }

    #[test]
    fn models_are_listed_in_openai_shape_with_the_extras() {
        let models = [
            model("openai.gpt-oss-120b", Api::OpenaiCompletions),
            model("claude-opus-4.7", Api::AnthropicMessages),
            model("us.anthropic.claude-sonnet-4", Api::AnthropicMessages),
            model("mystery", Api::OpenaiCompletions),
            model("gpt-4.1", Api::OpenaiCompletions),
        ];
        let body: Json = serde_json::from_slice(&models_response(&models, 99)).unwrap();
        let entry = |id: &str, owner: &str, api: &str, reasoning: bool| {
            json!({"id": id, "object": "model", "created": 99, "owned_by": owner,
                   "name": format!("{id} \"name\""), "api": api, "reasoning": reasoning,
                   "input": ["text", "image"], "context_window": 200_000, "max_tokens": 64_000})
        };
        assert_eq!(
            body,
            json!({"object": "list", "data": [
                entry("openai.gpt-oss-120b", "openai", "openai-completions", false),
                entry("claude-opus-4.7", "anthropic", "anthropic-messages", true),
                entry("us.anthropic.claude-sonnet-4", "anthropic", "anthropic-messages", true),
                entry("mystery", "amazon-bedrock-mantle", "openai-completions", false),
                entry("gpt-4.1", "amazon-bedrock-mantle", "openai-completions", false),
            ]})
        );
        let empty: Json = serde_json::from_slice(&models_response(&[], 1)).unwrap();
        assert_eq!(empty, json!({"object": "list", "data": []}));
    }

    // ---- Properties ----

    #[test]
    fn a_large_delta_does_not_pin_its_buffer() {
        let mut writer = ChunkWriter::new("m", 1, false);
        let mut out = Vec::new();
        writer.event(&ChatEvent::TextDelta("x".repeat(100_000)), &mut out);
        let Value::String(buffer) = &writer.strings.scratch else {
            panic!("not a string");
        };
        assert!(buffer.capacity() <= KEEP_SCRATCH);
        assert_eq!(
            frames(&out)[1]["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .len(),
            100_000
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_text_split_into_deltas_round_trips(
            text in any::<String>(),
            reasoning in "[\\x00-\\x7f\u{80}-\u{10ffff}]{0,40}",
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            // Cut at character boundaries.
            let chars: Vec<(usize, char)> = text.char_indices().collect();
            let mut at: Vec<usize> = cuts.iter().map(|c| {
                if chars.is_empty() { 0 } else { chars[c.index(chars.len())].0 }
            }).collect();
            at.push(0);
            at.push(text.len());
            at.sort_unstable();
            at.dedup();
            let mut events = vec![ChatEvent::ReasoningDelta(reasoning.clone())];
            for pair in at.windows(2) {
                events.push(ChatEvent::TextDelta(text[pair[0]..pair[1]].to_owned()));
            }
            events.push(ChatEvent::ToolCallStart { index: 0, id: text.clone(), name: reasoning.clone() });
            events.push(ChatEvent::Finish(StopReason::Stop));

            let mut writer = ChunkWriter::new(&text, 3, true);
            let frames = frames(&write(&mut writer, &events));
            let mut content = String::new();
            let mut thought = String::new();
            for frame in &frames[..frames.len() - 1] {
                prop_assert_eq!(&frame["id"], &json!("chatcmpl-3"));
                prop_assert_eq!(frame["model"].as_str(), Some(text.as_str()));
                let delta = &frame["choices"][0]["delta"];
                content.push_str(delta["content"].as_str().unwrap_or_default());
                thought.push_str(delta["reasoning_content"].as_str().unwrap_or_default());
            }
            prop_assert_eq!(&content, &text);
            prop_assert_eq!(&thought, &reasoning);

            let mut collector = Collector::new(&text, 3);
            for event in events {
                collector.event(event);
            }
            let body: Json = serde_json::from_slice(&collector.finish()).unwrap();
            let message = &body["choices"][0]["message"];
            // With a tool call, no text is `null`.
            let expected = if text.is_empty() { Json::Null } else { json!(text) };
            prop_assert_eq!(&message["content"], &expected);
            prop_assert_eq!(&message["tool_calls"][0]["id"], &json!(text));
        }

        #[test]
        fn any_strings_survive_parsing(
            system in any::<String>(),
            user in any::<String>(),
            arguments in any::<String>(),
            stop in prop::collection::vec(any::<String>(), 0..3),
        ) {
            let body = json!({
                "model": "m",
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                    {"role": "assistant", "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}]}
                ],
                "stop": stop,
            });
            let request = parse(&body).unwrap().request;
            prop_assert_eq!(&request.messages[0], &Message::System(system));
            prop_assert_eq!(&request.messages[1], &Message::User(vec![ContentPart::Text(user)]));
            let Message::Assistant(turn) = &request.messages[2] else { panic!() };
            prop_assert_eq!(&turn.tool_calls[0].arguments, &arguments);
            prop_assert_eq!(&request.stop, &stop);
        }

        #[test]
        fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Err(error) = parse_chat_request(&body) {
                prop_assert!(matches!(error, Error::InvalidRequest(_)));
            }
        }
    }
}
