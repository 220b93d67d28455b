//! The OpenAI-compatible HTTP face's translation layer, with no I/O.
//!
//! The face is a gateway in front of the provider that serves `GET /v1/models` and
//! `POST /v1/chat/completions` to unmodified OpenAI SDK clients. This module turns their
//! request bodies into a [`ChatRequest`] ([`parse_chat_request`]) and the provider's
//! [`ChatEvent`]s back into OpenAI's shapes: `chat.completion.chunk` SSE frames
//! ([`ChunkWriter`]), one `chat.completion` object ([`Collector`]), error answers
//! ([`error_response`]) and the model list ([`models_response`]).
//!
//! Reading is serde_json's, straight into the provider's types: each place of the request
//! has a reader that takes the kinds of JSON value allowed there and names the place when
//! it refuses one. Nothing is read into a tree: unknown members are skipped as they are read,
//! numbers are never kept as text, and a tool's `parameters` are kept as the text the client
//! wrote. So a request costs about its body plus the strings it carries.
//!
//! Writing is serde's too (`Serialize` structs in OpenAI's member order, written with
//! [`serde_json::to_writer`], so every string is escaped by serde_json); a streamed frame is
//! written straight into the output buffer, with no tree in between.

use crate::read::Budget;
use core::fmt;
use core::marker::PhantomData;

use mantle_provider::catalog;
use mantle_provider::chat::{
    AssistantMessage, ChatEvent, ChatRequest, ContentPart, ImageSource, JsonSchemaFormat, Message,
    ReasoningBlock, ReasoningEffort, ResponseFormat, StopReason, Tool, ToolCall, ToolChoice,
    ToolResult, Usage,
};
use mantle_provider::client::AnswerHeaders;
use mantle_provider::error::{Error, Result};
use mantle_provider::model::Model;
use mantle_provider::routes::policy;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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

/// The deepest nesting of arrays and objects a body may have (the body itself is the first
/// level): what serde_json's recursion limit of 128 lets through, which bounds the reader's
/// stack. Members the face does not know count too.
pub const MAX_DEPTH: usize = 127;

/// The most items a request may carry in all its arrays together: messages, content parts,
/// tool calls, tools and stop sequences. Beyond its text, an item costs the face a few dozen
/// bytes and the provider, which builds the upstream request, a few hundred: without this
/// limit a body of small items (`[{"role":"assistant"},…]`) would exhaust an instance's
/// memory long before the body limit. Twice the longest conversations agents keep.
pub use crate::read::MAX_ITEMS;

/// The most tools a request may offer, as OpenAI has it.
pub const MAX_TOOLS: usize = 128;

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
///   [`ImageSource::Base64`], any other URL [`ImageSource::Url`]
///   ([`ImageSource::from_url`]); a `data:` URL of another form is refused here, naming its
///   path.
/// - `assistant`: content a string, an array of `text` (or `refusal`) parts, or null; empty
///   texts are dropped (clients send `""` beside tool calls, and the Anthropic route refuses
///   empty text blocks). `reasoning_content`, else `reasoning`, becomes a reasoning block;
///   `tool_calls` become [`ToolCall`]s (absent `arguments` read as empty; given ones pass as
///   written).
/// - `tool`: `tool_call_id` and content (a string or an array of text parts).
/// - `tools` of type `function`: `parameters` (a JSON object) kept as the exact text the
///   client wrote, empty when absent (which the routes read as "no arguments").
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
/// Unknown members are skipped, whatever they hold, and `null` reads as absent. A member
/// given twice counts with its last value, as most JSON readers have it. Nesting deeper than
/// [`MAX_DEPTH`], more than [`MAX_ITEMS`] items in all or more than [`MAX_TOOLS`] tools are
/// refused. Nothing goes to the provider's `extra`.
/// - `response_format` (`text`, `json_object`, `json_schema` with its schema kept as
///   written), a tool's `strict`, `parallel_tool_calls` and `seed` are carried to the
///   provider, which sends each under the route's own name or refuses it with a 400 naming
///   the field where the route has no equivalent (`seed` and `json_object` on the Anthropic
///   route). None of them is dropped silently.
pub fn parse_chat_request(body: &[u8]) -> Result<ParsedChat> {
    let text = core::str::from_utf8(body).map_err(|e| {
        Error::InvalidRequest(format!(
            "the body is not JSON: invalid UTF-8 at byte {}",
            e.valid_up_to()
        ))
    })?;
    let items = Budget::new();
    let root = Path::root(&items);
    let mut reader = serde_json::Deserializer::from_str(text);
    let body = At::<Body>::new(&root)
        .deserialize(&mut reader)
        .and_then(|body| reader.end().map(|()| body))
        .map_err(refusal)?
        .ok_or_else(|| wrong_type(&root, Body::EXPECTED, Kind::Null))?;
    body.into_parsed(&root)
}

/// The [`Error::InvalidRequest`] of a failed read: the readers' own messages as they are,
/// serde_json's (the body is no JSON, or nested too deeply) with the place it stopped.
fn refusal(error: serde_json::Error) -> Error {
    let message = error.to_string();
    if error.is_data() {
        // A reader's message, which names its place; serde_json added the position.
        let position = format!(" at line {} column {}", error.line(), error.column());
        let message = message.strip_suffix(&position).unwrap_or(&message);
        return Error::InvalidRequest(message.to_owned());
    }
    if message.starts_with("recursion limit exceeded") {
        return Error::InvalidRequest(format!(
            "the body is nested too deeply: more than {MAX_DEPTH} levels of arrays and objects at line {} column {}",
            error.line(),
            error.column()
        ));
    }
    Error::InvalidRequest(format!("the body is not JSON: {message}"))
}

/// The body's members, as read.
#[derive(Default)]
struct Body {
    model: Option<String>,
    messages: Option<Vec<Message>>,
    tools: Option<Tools>,
    tool_choice: Option<ToolChoice>,
    max_completion_tokens: Option<u32>,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    stop: Option<Stop>,
    reasoning_effort: Option<Effort>,
    n: Option<u32>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    response_format: Option<ResponseFormat>,
    parallel_tool_calls: Option<bool>,
    seed: Option<i64>,
}

/// The members of the body the face reads; any other is skipped.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum BodyField {
    Model,
    Messages,
    Tools,
    ToolChoice,
    MaxCompletionTokens,
    MaxTokens,
    Temperature,
    TopP,
    Stop,
    ReasoningEffort,
    N,
    Stream,
    StreamOptions,
    ResponseFormat,
    ParallelToolCalls,
    Seed,
    #[serde(other)]
    Other,
}

impl Read for Body {
    const EXPECTED: &'static str = "a JSON object";

    fn object<'de, A: MapAccess<'de>>(mut members: A, at: &Path) -> Result<Body, A::Error> {
        let mut body = Body::default();
        while let Some(field) = members.next_key()? {
            match field {
                BodyField::Model => body.model = member(&mut members, at, "model")?,
                BodyField::Messages => body.messages = member(&mut members, at, "messages")?,
                BodyField::Tools => body.tools = member(&mut members, at, "tools")?,
                BodyField::ToolChoice => {
                    body.tool_choice = member(&mut members, at, "tool_choice")?;
                }
                BodyField::MaxCompletionTokens => {
                    body.max_completion_tokens = member(&mut members, at, "max_completion_tokens")?;
                }
                BodyField::MaxTokens => body.max_tokens = member(&mut members, at, "max_tokens")?,
                BodyField::Temperature => {
                    body.temperature = member(&mut members, at, "temperature")?;
                }
                BodyField::TopP => body.top_p = member(&mut members, at, "top_p")?,
                BodyField::Stop => body.stop = member(&mut members, at, "stop")?,
                BodyField::ReasoningEffort => {
                    body.reasoning_effort = member(&mut members, at, "reasoning_effort")?;
                }
                BodyField::N => body.n = member(&mut members, at, "n")?,
                BodyField::Stream => body.stream = member(&mut members, at, "stream")?,
                BodyField::StreamOptions => {
                    body.stream_options = member(&mut members, at, "stream_options")?;
                }
                BodyField::ResponseFormat => {
                    body.response_format = member(&mut members, at, "response_format")?;
                }
                BodyField::ParallelToolCalls => {
                    body.parallel_tool_calls = member(&mut members, at, "parallel_tool_calls")?;
                }
                BodyField::Seed => body.seed = member(&mut members, at, "seed")?,
                BodyField::Other => skip(&mut members)?,
            }
        }
        Ok(body)
    }
}

impl Body {
    /// The checks that need the whole body, and the request.
    fn into_parsed(self, root: &Path) -> Result<ParsedChat> {
        let model = self
            .model
            .ok_or_else(|| invalid(&root.key("model"), "required"))?;
        if model.is_empty() {
            return Err(invalid(&root.key("model"), "must not be empty"));
        }
        let messages = self.messages.ok_or_else(|| {
            invalid(
                &root.key("messages"),
                "required: a non-empty array of messages",
            )
        })?;
        if messages.is_empty() {
            return Err(invalid(&root.key("messages"), "must not be empty"));
        }
        if let Some(n) = self.n
            && n != 1
        {
            return Err(invalid(
                &root.key("n"),
                format_args!("only 1 choice is supported, not {n}"),
            ));
        }
        Ok(ParsedChat {
            request: ChatRequest {
                model,
                messages,
                tools: self.tools.map(|tools| tools.0).unwrap_or_default(),
                tool_choice: self.tool_choice,
                max_tokens: self.max_completion_tokens.or(self.max_tokens),
                temperature: self.temperature,
                top_p: self.top_p,
                stop: self.stop.map(|stop| stop.0).unwrap_or_default(),
                reasoning_effort: self.reasoning_effort.and_then(|effort| effort.0),
                response_format: self.response_format,
                parallel_tool_calls: self.parallel_tool_calls,
                seed: self.seed,
                extra: None,
            },
            stream: self.stream.unwrap_or(false),
            include_usage: self
                .stream_options
                .and_then(|options| options.include_usage)
                .unwrap_or(false),
        })
    }
}

/// The valid roles, as error messages list them.
const ROLES: &str = "system, developer, user, assistant or tool";

/// A message's `role`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `system` or `developer`.
    System,
    User,
    Assistant,
    Tool,
}

impl Read for Role {
    const EXPECTED: &'static str = "a string";

    fn string(role: &str, at: &Path) -> Result<Role> {
        match role {
            "system" | "developer" => Ok(Role::System),
            "user" => Ok(Role::User),
            "assistant" => Ok(Role::Assistant),
            "tool" => Ok(Role::Tool),
            other => Err(invalid(
                at,
                format_args!("unknown role {other:?}; expected {ROLES}"),
            )),
        }
    }
}

impl Role {
    /// The content parts this role may send, as error messages list them.
    fn parts(self) -> &'static str {
        match self {
            Role::System | Role::Tool => "\"text\"",
            Role::User => "\"text\" or \"image_url\"",
            Role::Assistant => "\"text\" or \"refusal\"",
        }
    }

    /// What this role's content may be.
    fn content(self) -> &'static str {
        match self {
            Role::User => "a string or an array of parts",
            Role::System | Role::Assistant | Role::Tool => "a string or an array of text parts",
        }
    }

    /// Whether this role may send a part.
    fn allows(self, part: &Part) -> bool {
        matches!(
            (self, part),
            (_, Part::Text(_)) | (Role::User, Part::Image(_)) | (Role::Assistant, Part::Refusal(_))
        )
    }
}

/// The members of a message the face reads; any other is skipped.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum MessageField {
    Role,
    Content,
    ToolCallId,
    ToolCalls,
    ReasoningContent,
    Reasoning,
    #[serde(other)]
    Other,
}

impl Read for Message {
    const EXPECTED: &'static str = "an object";

    /// One message of `messages`. Its members may come in any order; those of another role
    /// than the message's are skipped once the role is known.
    fn object<'de, A: MapAccess<'de>>(mut members: A, at: &Path) -> Result<Message, A::Error> {
        let mut role: Option<Role> = None;
        let mut content = None;
        let mut tool_call_id: Option<String> = None;
        let mut tool_calls: Option<Vec<ToolCall>> = None;
        let mut reasoning_content: Option<String> = None;
        let mut reasoning: Option<String> = None;
        let used_by = |wanted: Role, role: Option<Role>| role.is_none_or(|role| role == wanted);
        while let Some(field) = members.next_key()? {
            match field {
                MessageField::Role => role = member(&mut members, at, "role")?,
                MessageField::Content => {
                    content = members.next_value_seed(ContentAt {
                        at: &at.key("content"),
                        role,
                    })?;
                }
                MessageField::ToolCallId if used_by(Role::Tool, role) => {
                    tool_call_id = member(&mut members, at, "tool_call_id")?;
                }
                MessageField::ToolCalls if used_by(Role::Assistant, role) => {
                    tool_calls = member(&mut members, at, "tool_calls")?;
                }
                MessageField::ReasoningContent if used_by(Role::Assistant, role) => {
                    reasoning_content = member(&mut members, at, "reasoning_content")?;
                }
                MessageField::Reasoning if used_by(Role::Assistant, role) => {
                    reasoning = member(&mut members, at, "reasoning")?;
                }
                _ => skip(&mut members)?,
            }
        }
        let role = required(role, at, "role")?;
        let tool_call_id = match role {
            Role::Tool => required(tool_call_id, at, "tool_call_id")?,
            _ => String::new(),
        };
        let at_content = at.key("content");
        // Content is required of every role but the assistant's.
        if content.is_none() && role != Role::Assistant {
            return Err(reject(invalid(&at_content, "required")));
        }
        let content = match content {
            None => Vec::new(),
            Some(Content::Text(text)) => vec![Part::Text(text)],
            Some(Content::Parts(parts)) => parts,
        };
        // Parts read before the role was known are checked now.
        if let Some(i) = content.iter().position(|part| !role.allows(part)) {
            return Err(reject(invalid(
                &at_content.index(i).key("type"),
                format_args!(
                    "unsupported part type {:?}; expected {}",
                    content[i].kind(),
                    role.parts()
                ),
            )));
        }
        Ok(message(
            role,
            content,
            tool_call_id,
            tool_calls,
            [reasoning_content, reasoning],
        ))
    }
}

/// The message of a role, from its members as read and checked: a system text, user
/// parts, a tool result, or an assistant turn (its empty parts left out, its reasoning the
/// first non-empty of `reasoning_content` and `reasoning`).
fn message(
    role: Role,
    mut content: Vec<Part>,
    tool_call_id: String,
    tool_calls: Option<Vec<ToolCall>>,
    reasonings: [Option<String>; 2],
) -> Message {
    match role {
        Role::System => Message::System(join_text(content)),
        Role::User => Message::User(content.into_iter().map(Part::into_content).collect()),
        Role::Tool => Message::Tool(ToolResult {
            tool_call_id,
            content: content.into_iter().map(Part::into_content).collect(),
            is_error: false,
        }),
        Role::Assistant => {
            content.retain(
                |part| !matches!(part, Part::Text(text) | Part::Refusal(text) if text.is_empty()),
            );
            let reasoning = reasonings
                .into_iter()
                .flatten()
                .find(|text| !text.is_empty())
                .map(|text| ReasoningBlock::Thinking {
                    text,
                    signature: None,
                });
            Message::Assistant(AssistantMessage {
                reasoning: reasoning.into_iter().collect(),
                content: content.into_iter().map(Part::into_content).collect(),
                tool_calls: tool_calls.unwrap_or_default(),
            })
        }
    }
}

/// A message's content as read: a string, or parts of the types some role may send.
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

/// A content part of a type some role may send.
enum Part {
    Text(String),
    Refusal(String),
    Image(ImageSource),
}

impl Part {
    /// Its `type`.
    fn kind(&self) -> &'static str {
        match self {
            Part::Text(_) => "text",
            Part::Refusal(_) => "refusal",
            Part::Image(_) => "image_url",
        }
    }

    /// The provider's part: a refusal is the text of the turn.
    fn into_content(self) -> ContentPart {
        match self {
            Part::Text(text) | Part::Refusal(text) => ContentPart::Text(text),
            Part::Image(image) => ContentPart::Image(image),
        }
    }
}

/// The texts of text-only parts, joined with `\n`.
fn join_text(parts: Vec<Part>) -> String {
    let mut texts = parts.into_iter().filter_map(|part| match part {
        Part::Text(text) | Part::Refusal(text) => Some(text),
        Part::Image(_) => None,
    });
    let mut joined = texts.next().unwrap_or_default();
    for text in texts {
        joined.push('\n');
        joined.push_str(&text);
    }
    joined
}

/// Reads a message's `content`, knowing the message's role when it came first; `null`
/// reads as absent.
struct ContentAt<'a> {
    at: &'a Path<'a>,
    role: Option<Role>,
}

impl<'de> DeserializeSeed<'de> for ContentAt<'_> {
    type Value = Option<Content>;

    fn deserialize<D: Deserializer<'de>>(self, reader: D) -> Result<Option<Content>, D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ContentAt<'_> {
    type Value = Option<Content>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Content>, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Option<Content>, E> {
        Ok(Some(Content::Text(text.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Option<Content>, A::Error> {
        let mut parts = Vec::new();
        loop {
            let at = self.at.index(parts.len());
            let seed = PartAt {
                at: &at,
                role: self.role,
            };
            match items.next_element_seed(seed)? {
                Some(part) => {
                    at.count_item().map_err(reject)?;
                    parts.push(part);
                }
                None => return Ok(Some(Content::Parts(parts))),
            }
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<Content>, E> {
        Err(self.wrong(Kind::Boolean))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<Content>, E> {
        Err(self.wrong(Kind::Number))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<Content>, E> {
        Err(self.wrong(Kind::Number))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<Content>, E> {
        Err(self.wrong(Kind::Number))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Option<Content>, A::Error> {
        Err(self.wrong(Kind::Object))
    }
}

impl ContentAt<'_> {
    fn expected(&self) -> &'static str {
        self.role
            .map_or("a string or an array of parts", Role::content)
    }

    fn wrong<E: de::Error>(&self, found: Kind) -> E {
        reject(wrong_type(self.at, self.expected(), found))
    }
}

/// Reads one content part: an object of a type the role may send (any role's, while the
/// role is unknown).
struct PartAt<'a> {
    at: &'a Path<'a>,
    role: Option<Role>,
}

/// The members of a part the face reads; any other is skipped.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum PartField {
    Type,
    Text,
    Refusal,
    ImageUrl,
    #[serde(other)]
    Other,
}

/// A part's `type`, as far as the face knows it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PartType {
    Text,
    Refusal,
    ImageUrl,
}

impl<'de> DeserializeSeed<'de> for PartAt<'_> {
    type Value = Part;

    fn deserialize<D: Deserializer<'de>>(self, reader: D) -> Result<Part, D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PartAt<'_> {
    type Value = Part;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Part, A::Error> {
        let at = self.at;
        let mut kind = None;
        let mut text: Option<String> = None;
        let mut refusal: Option<String> = None;
        let mut image: Option<ImageUrl> = None;
        let wants = |wanted: PartType, kind: Option<PartType>| kind.is_none_or(|k| k == wanted);
        while let Some(field) = members.next_key()? {
            match field {
                PartField::Type => {
                    let name: Option<PartName> = member(&mut members, at, "type")?;
                    kind = match name {
                        None => None,
                        Some(PartName(name)) => Some(self.part_type(&name)?),
                    };
                }
                PartField::Text if wants(PartType::Text, kind) => {
                    text = member(&mut members, at, "text")?;
                }
                PartField::Refusal if wants(PartType::Refusal, kind) => {
                    refusal = member(&mut members, at, "refusal")?;
                }
                PartField::ImageUrl if wants(PartType::ImageUrl, kind) => {
                    image = member(&mut members, at, "image_url")?;
                }
                _ => skip(&mut members)?,
            }
        }
        Ok(match required(kind, at, "type")? {
            PartType::Text => Part::Text(required(text, at, "text")?),
            PartType::Refusal => Part::Refusal(required(refusal, at, "refusal")?),
            PartType::ImageUrl => match image {
                Some(ImageUrl(image)) => Part::Image(image),
                None => {
                    return Err(reject(invalid(
                        &at.key("image_url"),
                        format_args!("required: {}", ImageUrl::EXPECTED),
                    )));
                }
            },
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<Part, E> {
        Err(reject(wrong_type(self.at, "an object", Kind::Null)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Part, E> {
        Err(reject(wrong_type(self.at, "an object", Kind::Boolean)))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Part, E> {
        Err(reject(wrong_type(self.at, "an object", Kind::Number)))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Part, E> {
        Err(reject(wrong_type(self.at, "an object", Kind::Number)))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Part, E> {
        Err(reject(wrong_type(self.at, "an object", Kind::Number)))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Part, E> {
        Err(reject(wrong_type(self.at, "an object", Kind::String)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Part, A::Error> {
        Err(reject(wrong_type(self.at, "an object", Kind::Array)))
    }
}

impl PartAt<'_> {
    /// The type named `name`, if the role (any role, while it is unknown) may send it.
    fn part_type<E: de::Error>(&self, name: &str) -> Result<PartType, E> {
        let kind = match name {
            "text" => Some(PartType::Text),
            "refusal" => Some(PartType::Refusal),
            "image_url" => Some(PartType::ImageUrl),
            _ => None,
        };
        let allowed = match (kind, self.role) {
            (Some(kind), None) => Some(kind),
            (Some(PartType::Text), Some(_))
            | (Some(PartType::ImageUrl), Some(Role::User))
            | (Some(PartType::Refusal), Some(Role::Assistant)) => kind,
            _ => None,
        };
        allowed.ok_or_else(|| {
            let expected = self
                .role
                .map_or("\"text\", \"image_url\" or \"refusal\"", Role::parts);
            reject(invalid(
                &self.at.key("type"),
                format_args!("unsupported part type {name:?}; expected {expected}"),
            ))
        })
    }
}

/// A part's `type` as written.
struct PartName(String);

impl Read for PartName {
    const EXPECTED: &'static str = "a string";

    fn string(name: &str, _: &Path) -> Result<PartName> {
        Ok(PartName(name.to_owned()))
    }
}

/// The image of an `image_url` part: `{"url": …}`, or the URL itself.
struct ImageUrl(ImageSource);

/// The members of an `image_url` object the face reads; any other (`detail`) is skipped.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ImageUrlField {
    Url,
    #[serde(other)]
    Other,
}

impl Read for ImageUrl {
    const EXPECTED: &'static str = "an object with the image's url";

    fn string(url: &str, at: &Path) -> Result<ImageUrl> {
        image_source(url.to_owned(), at).map(ImageUrl)
    }

    fn object<'de, A: MapAccess<'de>>(mut members: A, at: &Path) -> Result<ImageUrl, A::Error> {
        let mut url: Option<String> = None;
        while let Some(field) = members.next_key()? {
            match field {
                ImageUrlField::Url => url = member(&mut members, at, "url")?,
                ImageUrlField::Other => skip(&mut members)?,
            }
        }
        let url = required(url, at, "url")?;
        image_source(url, &at.key("url"))
            .map(ImageUrl)
            .map_err(reject)
    }
}

/// An image URL (the guest's one `data:` URL parser): a refusal names where the URL was.
fn image_source(url: String, at: &Path) -> Result<ImageSource> {
    if url.is_empty() {
        return Err(invalid(at, "must not be empty"));
    }
    ImageSource::from_url(url).map_err(|e| invalid(at, e.message()))
}

/// The members of a tool call the face reads.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ToolCallField {
    Id,
    Type,
    Function,
    #[serde(other)]
    Other,
}

impl Read for ToolCall {
    const EXPECTED: &'static str = "an object";

    /// A tool call of an earlier assistant turn: `{id, type: "function", function: {name,
    /// arguments}}`.
    fn object<'de, A: MapAccess<'de>>(mut members: A, at: &Path) -> Result<ToolCall, A::Error> {
        let mut id: Option<String> = None;
        let mut function: Option<CalledFunction> = None;
        while let Some(field) = members.next_key()? {
            match field {
                ToolCallField::Id => id = member(&mut members, at, "id")?,
                ToolCallField::Type => {
                    let _: Option<FunctionType> = member(&mut members, at, "type")?;
                }
                ToolCallField::Function => function = member(&mut members, at, "function")?,
                ToolCallField::Other => skip(&mut members)?,
            }
        }
        let id = required(id, at, "id")?;
        let function = required(function, at, "function")?;
        Ok(ToolCall {
            id,
            name: function.name,
            arguments: function.arguments,
        })
    }
}

/// `function` of a tool call: `{name, arguments}`.
struct CalledFunction {
    name: String,
    arguments: String,
}

/// The members of a function the face reads (of a tool call, a tool or a tool choice).
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum FunctionField {
    Name,
    Arguments,
    Description,
    Parameters,
    Strict,
    #[serde(other)]
    Other,
}

impl Read for CalledFunction {
    const EXPECTED: &'static str = "an object";

    fn object<'de, A: MapAccess<'de>>(
        mut members: A,
        at: &Path,
    ) -> Result<CalledFunction, A::Error> {
        let mut name: Option<String> = None;
        let mut arguments: Option<String> = None;
        while let Some(field) = members.next_key()? {
            match field {
                FunctionField::Name => name = member(&mut members, at, "name")?,
                FunctionField::Arguments => arguments = member(&mut members, at, "arguments")?,
                _ => skip(&mut members)?,
            }
        }
        Ok(CalledFunction {
            name: required(name, at, "name")?,
            arguments: arguments.unwrap_or_default(),
        })
    }
}

/// A `type`, which may be absent but otherwise must be `"function"`.
struct FunctionType;

impl Read for FunctionType {
    const EXPECTED: &'static str = "a string";

    fn string(kind: &str, at: &Path) -> Result<FunctionType> {
        if kind == "function" {
            Ok(FunctionType)
        } else {
            Err(invalid(
                at,
                format_args!("unsupported type {kind:?}; expected \"function\""),
            ))
        }
    }
}

/// The members of a tool the face reads.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ToolField {
    Type,
    Function,
    #[serde(other)]
    Other,
}

impl Read for Tool {
    const EXPECTED: &'static str = "an object";

    /// A tool of `tools`: `{type: "function", function: {name, description, parameters}}`.
    fn object<'de, A: MapAccess<'de>>(mut members: A, at: &Path) -> Result<Tool, A::Error> {
        let mut function: Option<ToolFunction> = None;
        while let Some(field) = members.next_key()? {
            match field {
                ToolField::Type => {
                    let _: Option<FunctionType> = member(&mut members, at, "type")?;
                }
                ToolField::Function => function = member(&mut members, at, "function")?,
                ToolField::Other => skip(&mut members)?,
            }
        }
        Ok(required(function, at, "function")?.0)
    }
}

/// `tools`: at most [`MAX_TOOLS`].
struct Tools(Vec<Tool>);

impl Read for Tools {
    const EXPECTED: &'static str = "an array";

    fn array<'de, A: SeqAccess<'de>>(items: A, at: &Path) -> Result<Tools, A::Error> {
        read_items(items, at, MAX_TOOLS).map(Tools)
    }
}

/// `function` of a tool.
struct ToolFunction(Tool);

impl Read for ToolFunction {
    const EXPECTED: &'static str = "an object";

    fn object<'de, A: MapAccess<'de>>(mut members: A, at: &Path) -> Result<ToolFunction, A::Error> {
        let mut name: Option<String> = None;
        let mut description: Option<String> = None;
        let mut parameters = String::new();
        let mut strict: Option<bool> = None;
        while let Some(field) = members.next_key()? {
            match field {
                FunctionField::Strict => strict = member(&mut members, at, "strict")?,
                FunctionField::Name => name = member(&mut members, at, "name")?,
                FunctionField::Description => {
                    description = member(&mut members, at, "description")?;
                }
                FunctionField::Parameters => {
                    // Kept as written: the schema's member order is the client's.
                    let schema: &'de RawValue = members.next_value()?;
                    parameters = schema_text(schema, &at.key("parameters"))
                        .map_err(reject)?
                        .unwrap_or_default();
                }
                _ => skip(&mut members)?,
            }
        }
        let name = required(name, at, "name")?;
        if name.is_empty() {
            return Err(reject(invalid(&at.key("name"), "must not be empty")));
        }
        Ok(ToolFunction(Tool {
            name,
            description,
            parameters,
            strict,
        }))
    }
}

impl Read for ToolChoice {
    const EXPECTED: &'static str =
        r#""auto", "none", "required" or {"type":"function","function":{"name":...}}"#;

    fn string(choice: &str, at: &Path) -> Result<ToolChoice> {
        match choice {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(invalid(
                at,
                format_args!("unknown choice {other:?}; expected {}", Self::EXPECTED),
            )),
        }
    }

    /// `{type: "function", function: {name}}`.
    fn object<'de, A: MapAccess<'de>>(mut members: A, at: &Path) -> Result<ToolChoice, A::Error> {
        let mut function: Option<CalledFunction> = None;
        while let Some(field) = members.next_key()? {
            match field {
                ToolField::Type => {
                    let _: Option<FunctionType> = member(&mut members, at, "type")?;
                }
                ToolField::Function => function = member(&mut members, at, "function")?,
                ToolField::Other => skip(&mut members)?,
            }
        }
        Ok(ToolChoice::Named(required(function, at, "function")?.name))
    }
}

/// The members of `response_format` and of its `json_schema` the face reads.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum FormatField {
    Type,
    JsonSchema,
    Name,
    Description,
    Schema,
    Strict,
    #[serde(other)]
    Other,
}

/// `response_format.type`.
struct FormatType(&'static str);

impl Read for FormatType {
    const EXPECTED: &'static str = "a string";

    fn string(kind: &str, at: &Path) -> Result<FormatType> {
        match kind {
            "text" => Ok(FormatType("text")),
            "json_object" => Ok(FormatType("json_object")),
            "json_schema" => Ok(FormatType("json_schema")),
            other => Err(invalid(
                at,
                format_args!(
                    "unsupported type {other:?}; expected \"text\", \"json_object\" or \"json_schema\""
                ),
            )),
        }
    }
}

impl Read for ResponseFormat {
    const EXPECTED: &'static str = "an object";

    /// `{type: "text"}`, `{type: "json_object"}` or `{type: "json_schema", json_schema:
    /// {name, description, schema, strict}}`.
    fn object<'de, A: MapAccess<'de>>(
        mut members: A,
        at: &Path,
    ) -> Result<ResponseFormat, A::Error> {
        let mut kind: Option<FormatType> = None;
        let mut schema: Option<SchemaFormat> = None;
        while let Some(field) = members.next_key()? {
            match field {
                FormatField::Type => kind = member(&mut members, at, "type")?,
                FormatField::JsonSchema => schema = member(&mut members, at, "json_schema")?,
                _ => skip(&mut members)?,
            }
        }
        match required(kind, at, "type")?.0 {
            "text" => Ok(ResponseFormat::Text),
            "json_object" => Ok(ResponseFormat::JsonObject),
            _ => Ok(ResponseFormat::JsonSchema(
                required(schema, at, "json_schema")?.0,
            )),
        }
    }
}

/// `response_format.json_schema`.
struct SchemaFormat(JsonSchemaFormat);

impl Read for SchemaFormat {
    const EXPECTED: &'static str = "an object";

    fn object<'de, A: MapAccess<'de>>(mut members: A, at: &Path) -> Result<SchemaFormat, A::Error> {
        let mut name: Option<String> = None;
        let mut description: Option<String> = None;
        let mut schema: Option<String> = None;
        let mut strict: Option<bool> = None;
        while let Some(field) = members.next_key()? {
            match field {
                FormatField::Name => name = member(&mut members, at, "name")?,
                FormatField::Description => {
                    description = member(&mut members, at, "description")?;
                }
                FormatField::Strict => strict = member(&mut members, at, "strict")?,
                FormatField::Schema => {
                    // Kept as written, like tool parameters.
                    let raw: &'de RawValue = members.next_value()?;
                    schema = schema_text(raw, &at.key("schema")).map_err(reject)?;
                }
                _ => skip(&mut members)?,
            }
        }
        let name = required(name, at, "name")?;
        if name.is_empty() {
            return Err(reject(invalid(&at.key("name"), "must not be empty")));
        }
        Ok(SchemaFormat(JsonSchemaFormat {
            name,
            description,
            schema: schema.unwrap_or_else(|| "{}".to_owned()),
            strict,
        }))
    }
}

impl Read for i64 {
    const EXPECTED: &'static str = "a whole number";

    fn number(n: Number, at: &Path) -> Result<i64> {
        match n {
            Number::Unsigned(n) => {
                i64::try_from(n).map_err(|_| invalid(at, format_args!("{n} is out of range")))
            }
            Number::Signed(n) => Ok(n),
            Number::Float(_) => Err(wrong_type(at, Self::EXPECTED, Kind::Number)),
        }
    }
}

/// `stop`: a string or an array of strings.
struct Stop(Vec<String>);

impl Read for Stop {
    const EXPECTED: &'static str = "a string or an array of strings";

    fn string(stop: &str, _: &Path) -> Result<Stop> {
        Ok(Stop(vec![stop.to_owned()]))
    }

    fn array<'de, A: SeqAccess<'de>>(items: A, at: &Path) -> Result<Stop, A::Error> {
        Vec::array(items, at).map(Stop)
    }
}

/// `reasoning_effort`, as the provider has it (see [`parse_chat_request`]).
struct Effort(Option<ReasoningEffort>);

impl Read for Effort {
    const EXPECTED: &'static str = "a string";

    fn string(effort: &str, at: &Path) -> Result<Effort> {
        Ok(Effort(Some(match effort {
            "none" => return Ok(Effort(None)),
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
        })))
    }
}

/// `stream_options`.
struct StreamOptions {
    include_usage: Option<bool>,
}

/// The members of `stream_options` the face reads.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum StreamOptionsField {
    IncludeUsage,
    #[serde(other)]
    Other,
}

impl Read for StreamOptions {
    const EXPECTED: &'static str = "an object";

    fn object<'de, A: MapAccess<'de>>(
        mut members: A,
        at: &Path,
    ) -> Result<StreamOptions, A::Error> {
        let mut include_usage = None;
        while let Some(field) = members.next_key()? {
            match field {
                StreamOptionsField::IncludeUsage => {
                    include_usage = member(&mut members, at, "include_usage")?;
                }
                StreamOptionsField::Other => skip(&mut members)?,
            }
        }
        Ok(StreamOptions { include_usage })
    }
}

// ---- Reading helpers ----

/// The kind of a JSON value, as error messages name it.
#[derive(Clone, Copy)]
enum Kind {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    /// `"a string"`, `"an array"`, … for messages.
    fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        }
    }

    /// The kind of the JSON text starting with this byte (serde_json's raw values start with
    /// the value itself).
    fn of_first_byte(byte: Option<u8>) -> Kind {
        match byte {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Boolean,
            Some(b'n') | None => Kind::Null,
            Some(_) => Kind::Number,
        }
    }
}

/// A JSON number as serde_json reads it: a whole number without a sign, a negative whole
/// number, or anything else.
#[derive(Clone, Copy)]
enum Number {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
}

/// A value read from one place of the request. Each method takes one kind of JSON value; one
/// that is not overridden refuses its kind, naming the place and what was expected. `null`
/// never reaches these: it reads as absent ([`At`]).
trait Read: Sized {
    /// What the value must be, as error messages say it (`"a string"`).
    const EXPECTED: &'static str;

    /// From a string.
    fn string(_: &str, at: &Path) -> Result<Self> {
        Err(wrong_type(at, Self::EXPECTED, Kind::String))
    }

    /// From a number.
    fn number(_: Number, at: &Path) -> Result<Self> {
        Err(wrong_type(at, Self::EXPECTED, Kind::Number))
    }

    /// From `true` or `false`.
    fn boolean(_: bool, at: &Path) -> Result<Self> {
        Err(wrong_type(at, Self::EXPECTED, Kind::Boolean))
    }

    /// From an array, read item by item.
    fn array<'de, A: SeqAccess<'de>>(_: A, at: &Path) -> Result<Self, A::Error> {
        Err(reject(wrong_type(at, Self::EXPECTED, Kind::Array)))
    }

    /// From an object, read member by member.
    fn object<'de, A: MapAccess<'de>>(_: A, at: &Path) -> Result<Self, A::Error> {
        Err(reject(wrong_type(at, Self::EXPECTED, Kind::Object)))
    }
}

impl Read for String {
    const EXPECTED: &'static str = "a string";

    fn string(text: &str, _: &Path) -> Result<String> {
        Ok(text.to_owned())
    }
}

impl Read for bool {
    const EXPECTED: &'static str = "a boolean";

    fn boolean(b: bool, _: &Path) -> Result<bool> {
        Ok(b)
    }
}

impl Read for u32 {
    const EXPECTED: &'static str = "a whole, non-negative number";

    fn number(n: Number, at: &Path) -> Result<u32> {
        match n {
            Number::Unsigned(n) => {
                u32::try_from(n).map_err(|_| invalid(at, format_args!("{n} is out of range")))
            }
            Number::Signed(_) | Number::Float(_) => {
                Err(wrong_type(at, Self::EXPECTED, Kind::Number))
            }
        }
    }
}

impl Read for f32 {
    const EXPECTED: &'static str = "a number";

    fn number(n: Number, at: &Path) -> Result<f32> {
        let n = match n {
            Number::Unsigned(n) => n as f32,
            Number::Signed(n) => n as f32,
            Number::Float(n) => n as f32,
        };
        if n.is_finite() {
            Ok(n)
        } else {
            Err(invalid(at, "is out of range"))
        }
    }
}

/// An array, read item by item; a `null` item is refused.
impl<T: Read> Read for Vec<T> {
    const EXPECTED: &'static str = "an array";

    fn array<'de, A: SeqAccess<'de>>(items: A, at: &Path) -> Result<Vec<T>, A::Error> {
        read_items(items, at, usize::MAX)
    }
}

/// The items of an array, at most `max` of them, each counted against [`MAX_ITEMS`].
fn read_items<'de, A: SeqAccess<'de>, T: Read>(
    mut items: A,
    at: &Path,
    max: usize,
) -> Result<Vec<T>, A::Error> {
    let mut all = Vec::new();
    loop {
        let at = at.index(all.len());
        match items.next_element_seed(At::<T>::new(&at))? {
            Some(Some(item)) => {
                if all.len() == max {
                    return Err(reject(invalid(
                        &at,
                        format_args!("too many: at most {max} are allowed"),
                    )));
                }
                at.count_item().map_err(reject)?;
                all.push(item);
            }
            Some(None) => return Err(reject(wrong_type(&at, T::EXPECTED, Kind::Null))),
            None => return Ok(all),
        }
    }
}

/// Reads a `T` at a place of the request; `null` reads as absent.
struct At<'a, T> {
    at: &'a Path<'a>,
    read: PhantomData<fn() -> T>,
}

impl<'a, T> At<'a, T> {
    fn new(at: &'a Path<'a>) -> At<'a, T> {
        At {
            at,
            read: PhantomData,
        }
    }
}

impl<'de, T: Read> DeserializeSeed<'de> for At<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, reader: D) -> Result<Option<T>, D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de, T: Read> Visitor<'de> for At<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Option<T>, E> {
        T::boolean(b, self.at).map(Some).map_err(reject)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Option<T>, E> {
        T::number(Number::Unsigned(n), self.at)
            .map(Some)
            .map_err(reject)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Option<T>, E> {
        T::number(Number::Signed(n), self.at)
            .map(Some)
            .map_err(reject)
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Option<T>, E> {
        T::number(Number::Float(n), self.at)
            .map(Some)
            .map_err(reject)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Option<T>, E> {
        T::string(text, self.at).map(Some).map_err(reject)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, items: A) -> Result<Option<T>, A::Error> {
        T::array(items, self.at).map(Some)
    }

    fn visit_map<A: MapAccess<'de>>(self, members: A) -> Result<Option<T>, A::Error> {
        T::object(members, self.at).map(Some)
    }
}

/// The value of the member whose key was just read, `key` of the object at `at`.
fn member<'de, A: MapAccess<'de>, T: Read>(
    members: &mut A,
    at: &Path,
    key: &str,
) -> Result<Option<T>, A::Error> {
    members.next_value_seed(At::<T>::new(&at.key(key)))
}

/// The value of a member the face does not read, skipped: nothing is kept.
fn skip<'de, A: MapAccess<'de>>(members: &mut A) -> Result<(), A::Error> {
    members.next_value::<Skip>().map(|Skip| ())
}

/// Any JSON value, read and dropped. Unlike serde's `IgnoredAny` (which serde_json skips
/// without looking at the depth), arrays and objects are entered through
/// `deserialize_any`, so they count against the recursion limit ([`MAX_DEPTH`]).
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(reader: D) -> Result<Skip, D::Error> {
        reader.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Skip, A::Error> {
        while items.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Skip, A::Error> {
        while members.next_key::<de::IgnoredAny>()?.is_some() {
            members.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

/// A member that must have been there (and not null).
fn required<T, E: de::Error>(value: Option<T>, at: &Path, key: &str) -> Result<T, E> {
    value.ok_or_else(|| reject(invalid(&at.key(key), "required")))
}

/// A refusal, as a serde error (turned back into the [`Error::InvalidRequest`] by
/// [`refusal`]).
/// A JSON schema kept as the client wrote it (its member order is the client's): the text of
/// an object, `None` for `null`, an error naming `at` for anything else.
fn schema_text(raw: &RawValue, at: &Path) -> Result<Option<String>> {
    match raw.get().as_bytes().first() {
        Some(b'{') => Ok(Some(raw.get().to_owned())),
        Some(b'n') => Ok(None),
        first => Err(wrong_type(
            at,
            "a JSON schema object",
            Kind::of_first_byte(first.copied()),
        )),
    }
}

fn reject<E: de::Error>(error: Error) -> E {
    E::custom(error.message())
}

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
    /// The body itself, with the count of items it may still carry ([`MAX_ITEMS`]).
    Root(&'a Budget),
    /// A member of an object.
    Key(&'a str),
    /// An item of an array.
    Index(usize),
}

impl<'a> Path<'a> {
    /// The body itself, which may carry `items` more items.
    fn root(items: &'a Budget) -> Path<'a> {
        Path {
            parent: None,
            segment: Segment::Root(items),
        }
    }

    /// Counts the item at this place against [`MAX_ITEMS`].
    fn count_item(&self) -> Result<()> {
        let mut root = self;
        while let Some(parent) = root.parent {
            root = parent;
        }
        let Segment::Root(budget) = root.segment else {
            return Ok(());
        };
        budget.take().map_err(|refusal| invalid(self, refusal))
    }

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
                matches!(parent.segment, Segment::Root(_))
            }
            None => true,
        };
        match self.segment {
            Segment::Root(_) => Ok(()),
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

/// `path: expected …, found …`; of the body itself, `the body must be …, found …`.
fn wrong_type(at: &Path, expected: &str, found: Kind) -> Error {
    if matches!(at.segment, Segment::Root(_)) {
        return Error::InvalidRequest(format!(
            "the body must be {expected}, found {}",
            found.name()
        ));
    }
    invalid(
        at,
        format_args!("expected {expected}, found {}", found.name()),
    )
}

// ---- Writing ----

/// Appends `value` as JSON. Writing these types into memory cannot fail (no map has a key
/// other than a string, no number is other than finite); if it ever did, nothing is appended.
fn write_json(out: &mut Vec<u8>, value: &impl Serialize) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
    }
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

/// OpenAI's `usage` object.
#[derive(Serialize)]
struct UsageBody {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    /// There when cache reads are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_tokens_details: Option<PromptTokensDetails>,
    /// There when reasoning tokens are known (the Responses route reports them).
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_tokens_details: Option<CompletionTokensDetails>,
    /// What the answer cost, when the model has a price ([`crate::cost`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<crate::cost::CostBody>,
}

/// `usage.prompt_tokens_details`.
#[derive(Serialize)]
struct PromptTokensDetails {
    cached_tokens: u64,
}

/// `usage.completion_tokens_details`.
#[derive(Serialize)]
struct CompletionTokensDetails {
    reasoning_tokens: u64,
}

impl UsageBody {
    /// `prompt_tokens` is the whole input: the provider counts cache reads and writes apart
    /// from `input_tokens`, never twice.
    fn new(usage: &Usage) -> UsageBody {
        let read = u64::from(usage.cache_read_tokens.unwrap_or(0));
        let prompt =
            u64::from(usage.input_tokens) + read + u64::from(usage.cache_write_tokens.unwrap_or(0));
        let completion = u64::from(usage.output_tokens);
        UsageBody {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            prompt_tokens_details: usage.cache_read_tokens.map(|_| PromptTokensDetails {
                cached_tokens: read,
            }),
            completion_tokens_details: usage.reasoning_tokens.map(|n| CompletionTokensDetails {
                reasoning_tokens: u64::from(n),
            }),
            cost: crate::cost::body(usage),
        }
    }
}

/// The response id: the upstream's when it gave one, else one made from the time.
fn response_id(upstream: Option<&str>, created: u64) -> String {
    match upstream {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("chatcmpl-{created}"),
    }
}

// ---- Streaming ----

/// One `chat.completion.chunk`.
#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    /// One choice, or none in the usage frame.
    choices: &'a [ChunkChoice<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<UsageBody>,
}

/// The choice of a chunk.
#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    finish_reason: Option<&'static str>,
}

/// A chunk's `delta`: only the members it has.
#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[DeltaCall<'a>; 1]>,
}

/// A piece of a tool call in a delta: the first with `id`, `type` and `function.name`, the
/// next ones with `function.arguments` only.
#[derive(Serialize)]
struct DeltaCall<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: DeltaFunction<'a>,
}

/// `function` of a [`DeltaCall`].
#[derive(Serialize)]
struct DeltaFunction<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

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
    /// The frames' id, fixed by the first frame.
    id: Option<String>,
    /// The usage, held until the finish.
    usage: Option<Usage>,
    /// The finish frame was written.
    finished: bool,
    /// The usage frame was written.
    usage_written: bool,
}

impl ChunkWriter {
    /// A writer for one response.
    pub fn new(model: &str, created: u64, include_usage: bool) -> ChunkWriter {
        ChunkWriter {
            model: model.to_owned(),
            created,
            include_usage,
            id: None,
            usage: None,
            finished: false,
            usage_written: false,
        }
    }

    /// Appends zero or more complete frames `data: {json}\n\n` for one event.
    pub fn event(&mut self, event: &ChatEvent, out: &mut Vec<u8>) {
        match event {
            ChatEvent::MessageStart { id, .. } => self.start(Some(id), out),
            ChatEvent::TextDelta(text) if !text.is_empty() => self.delta(
                out,
                Delta {
                    content: Some(text),
                    ..Delta::default()
                },
            ),
            ChatEvent::ReasoningDelta(text) if !text.is_empty() => self.delta(
                out,
                Delta {
                    reasoning_content: Some(text),
                    ..Delta::default()
                },
            ),
            ChatEvent::ToolCallStart { index, id, name } => self.delta(
                out,
                Delta {
                    tool_calls: Some([DeltaCall {
                        index: *index,
                        id: Some(id),
                        kind: Some("function"),
                        function: DeltaFunction {
                            name: Some(name),
                            arguments: "",
                        },
                    }]),
                    ..Delta::default()
                },
            ),
            ChatEvent::ToolCallArguments { index, arguments } if !arguments.is_empty() => self
                .delta(
                    out,
                    Delta {
                        tool_calls: Some([DeltaCall {
                            index: *index,
                            id: None,
                            kind: None,
                            function: DeltaFunction {
                                name: None,
                                arguments,
                            },
                        }]),
                        ..Delta::default()
                    },
                ),
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
                self.frame(
                    out,
                    Some(ChunkChoice {
                        index: 0,
                        delta: Delta::default(),
                        finish_reason: Some(finish_reason(reason)),
                    }),
                    None,
                );
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
        let described = describe(error);
        out.extend_from_slice(b"data: ");
        write_json(
            out,
            &ErrorBody::new(error.message(), described.kind, described.code),
        );
        out.extend_from_slice(b"\n\n");
    }

    /// Appends `data: [DONE]\n\n`.
    pub fn done(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: [DONE]\n\n");
    }

    /// Fixes the id and writes the role frame, once.
    fn start(&mut self, upstream_id: Option<&str>, out: &mut Vec<u8>) {
        if self.id.is_some() {
            return;
        }
        self.id = Some(response_id(upstream_id, self.created));
        self.delta(
            out,
            Delta {
                role: Some("assistant"),
                content: Some(""),
                ..Delta::default()
            },
        );
    }

    /// One frame `data: {chunk}\n\n`.
    fn frame(&self, out: &mut Vec<u8>, choice: Option<ChunkChoice<'_>>, usage: Option<UsageBody>) {
        out.extend_from_slice(b"data: ");
        write_json(
            out,
            &Chunk {
                id: self.id.as_deref().unwrap_or_default(),
                object: "chat.completion.chunk",
                created: self.created,
                model: &self.model,
                choices: choice.as_slice(),
                usage,
            },
        );
        out.extend_from_slice(b"\n\n");
    }

    /// A frame with this delta, after the role frame.
    fn delta(&mut self, out: &mut Vec<u8>, delta: Delta<'_>) {
        self.start(None, out);
        self.frame(
            out,
            Some(ChunkChoice {
                index: 0,
                delta,
                finish_reason: None,
            }),
            None,
        );
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
        self.frame(out, None, Some(UsageBody::new(&usage)));
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

/// One `chat.completion`.
#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [CompletionChoice<'a>; 1],
    usage: UsageBody,
}

/// The choice of a completion.
#[derive(Serialize)]
struct CompletionChoice<'a> {
    index: u32,
    message: CompletionMessage<'a>,
    finish_reason: Option<&'static str>,
}

/// The assistant's message.
#[derive(Serialize)]
struct CompletionMessage<'a> {
    role: &'static str,
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tool_calls: &'a [PendingCall],
}

impl Serialize for PendingCall {
    /// `{"id","type":"function","function":{"name","arguments"}}`.
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Call<'a> {
            id: &'a str,
            #[serde(rename = "type")]
            kind: &'static str,
            function: Function<'a>,
        }
        #[derive(Serialize)]
        struct Function<'a> {
            name: &'a str,
            arguments: &'a str,
        }
        Call {
            id: &self.id,
            kind: "function",
            function: Function {
                name: &self.name,
                arguments: &self.arguments,
            },
        }
        .serialize(serializer)
    }
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
        let id = response_id(self.id.as_deref(), self.created);
        let completion = Completion {
            id: &id,
            object: "chat.completion",
            created: self.created,
            model: &self.model,
            choices: [CompletionChoice {
                index: 0,
                message: CompletionMessage {
                    role: "assistant",
                    content: (!self.text.is_empty() || self.tool_calls.is_empty())
                        .then_some(self.text.as_str()),
                    reasoning_content: (!self.reasoning.is_empty())
                        .then_some(self.reasoning.as_str()),
                    tool_calls: &self.tool_calls,
                },
                finish_reason: self.finish.as_ref().map(finish_reason),
            }],
            usage: UsageBody::new(&self.usage.unwrap_or_default()),
        };
        let mut out = Vec::with_capacity(
            256 + self.text.len() + self.reasoning.len() + 64 * self.tool_calls.len(),
        );
        write_json(&mut out, &completion);
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

/// OpenAI's error body, `{"error":{"message","type","param":null,"code"}}`.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorObject<'a>,
}

/// The `error` of an [`ErrorBody`].
#[derive(Serialize)]
struct ErrorObject<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    /// Always `null`.
    param: (),
    code: Option<&'a str>,
}

impl<'a> ErrorBody<'a> {
    fn new(message: &'a str, kind: &'a str, code: Option<&'a str>) -> ErrorBody<'a> {
        ErrorBody {
            error: ErrorObject {
                message,
                kind,
                param: (),
                code,
            },
        }
    }

    fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.error.message.len());
        write_json(&mut out, self);
        out
    }
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
    ErrorResponse {
        status: described.status,
        headers,
        body: ErrorBody::new(error.message(), described.kind, described.code).to_vec(),
    }
}

/// The headers that tell a client about Mantle's request: `x-request-id`, Mantle's id of the
/// request (what AWS support asks for; OpenAI's SDKs read it as the request id), and the quota
/// headers Mantle sent (`x-amzn-usage-reservation-*`), unchanged.
pub fn answer_headers(answer: &AnswerHeaders) -> Vec<(String, String)> {
    answer
        .request_id
        .iter()
        .map(|id| ("x-request-id".to_owned(), id.clone()))
        .chain(answer.quota.iter().cloned())
        .collect()
}

/// An OpenAI error body `{"error":{"message","type","param":null,"code"}}`, for the
/// gateway's own refusals (a wrong gateway key, an unknown path).
pub fn openai_error(message: &str, kind: &str, code: &str) -> Vec<u8> {
    ErrorBody::new(message, kind, Some(code)).to_vec()
}

/// See [`error_response`]: the provider's one table ([`policy::answer`]).
fn describe(error: &Error) -> Described {
    let answer = policy::answer(error);
    Described {
        status: answer.openai_status,
        kind: answer.openai_type,
        code: answer.openai_code,
        permanent: answer.permanent,
    }
}

// ---- Models ----

/// `GET /v1/models` body: `{"object":"list","data":[{"id","object":"model","created",
/// "owned_by", "name","api","reasoning","input":[…],"context_window","max_tokens"}]}`, one
/// entry per model in the order given. `created` is the model's own, as Mantle listed it;
/// `now` (seconds since the Unix epoch) for a model discovery did not describe (configured
/// only, or built in without a discovered row).
///
/// `owned_by` is the model's vendor: the vendor part of its catalog id
/// (`openai.gpt-oss-120b` → `openai`; `claude-opus-4.7` and `us.anthropic.claude-…` →
/// `anthropic`); `anthropic` for any other model on the Anthropic route; else
/// `amazon-bedrock-mantle`. The extras use
/// the provider's names: `api` as [`mantle_provider::model::Api::as_str`] spells it, `input` as
/// [`mantle_provider::model::Modality::as_str`] does.
pub fn models_response(models: &[Model], now: u64) -> Vec<u8> {
    let list = ModelList {
        object: "list",
        data: models
            .iter()
            .map(|model| ModelEntry {
                id: &model.id,
                object: "model",
                created: model.created.unwrap_or(now),
                owned_by: owned_by(model),
                name: &model.name,
                api: model.api.as_str(),
                reasoning: model.reasoning,
                input: model
                    .input
                    .iter()
                    .map(|modality| modality.as_str())
                    .collect(),
                context_window: model.context_window,
                max_tokens: model.max_tokens,
            })
            .collect(),
    };
    let mut out = Vec::with_capacity(64 + 256 * models.len());
    write_json(&mut out, &list);
    out
}

/// The `GET /v1/models` body.
#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: Vec<ModelEntry<'a>>,
}

/// One model of a [`ModelList`].
#[derive(Serialize)]
struct ModelEntry<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: String,
    name: &'a str,
    api: &'static str,
    reasoning: bool,
    input: Vec<&'static str>,
    context_window: u32,
    max_tokens: u32,
}

/// The vendor of a model (see [`models_response`]): the vendor part of its catalog id
/// ([`catalog::normalize`], [`catalog::vendor_of`]).
fn owned_by(model: &Model) -> String {
    match catalog::vendor_of(&catalog::normalize(&model.id).id) {
        Some(vendor) => vendor.to_owned(),
        None if model.api == mantle_provider::model::Api::AnthropicMessages => {
            "anthropic".to_owned()
        }
        None => "amazon-bedrock-mantle".to_owned(),
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
                        // As the client wrote it.
                        parameters: r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#
                            .to_owned(),
                        strict: Some(true),
                    },
                    Tool {
                        name: "now".to_owned(),
                        description: None,
                        parameters: String::new(),
                        strict: None,
                    },
                ],
                tool_choice: Some(ToolChoice::Named("get_weather".to_owned())),
                max_tokens: Some(4096),
                temperature: Some(0.7),
                top_p: Some(0.95),
                stop: vec!["END".to_owned(), "STOP".to_owned()],
                reasoning_effort: Some(ReasoningEffort::Low),
                response_format: Some(ResponseFormat::Text),
                parallel_tool_calls: None,
                seed: Some(7),
                extra: None,
            },
            stream: true,
            include_usage: true,
        };
        assert_eq!(parsed, expected);
    }

    #[test]
    fn structured_output_fields_are_carried_not_dropped() {
        let parsed = parse(&json!({
            "model": "amazon-bedrock-mantle/openai.gpt-oss-120b",
            "messages": [{"role": "user", "content": "Hi"}],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "answer", "strict": true,
                "schema": {"type": "object", "required": ["z", "a"]}}},
            "parallel_tool_calls": false,
            "seed": -3
        }))
        .unwrap();
        let r = parsed.request;
        assert_eq!(r.model, "amazon-bedrock-mantle/openai.gpt-oss-120b");
        assert_eq!(
            r.response_format,
            Some(ResponseFormat::JsonSchema(JsonSchemaFormat {
                name: "answer".to_owned(),
                description: None,
                schema: r#"{"type":"object","required":["z","a"]}"#.to_owned(),
                strict: Some(true),
            }))
        );
        assert_eq!(r.parallel_tool_calls, Some(false));
        assert_eq!(r.seed, Some(-3));
        let json_object = parse(&json!({
            "model": "m", "messages": [{"role": "user", "content": "Hi"}],
            "response_format": {"type": "json_object"}
        }))
        .unwrap();
        assert_eq!(
            json_object.request.response_format,
            Some(ResponseFormat::JsonObject)
        );
        for (rest, words) in [
            (
                json!({"response_format": {"type": "xml"}}),
                "response_format.type: unsupported type \"xml\"",
            ),
            (
                json!({"response_format": {"type": "json_schema"}}),
                "response_format.json_schema",
            ),
            (
                json!({"response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": [1]}}}),
                "response_format.json_schema.schema",
            ),
            (json!({"seed": 1.5}), "seed"),
            (json!({"parallel_tool_calls": "no"}), "parallel_tool_calls"),
        ] {
            let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]});
            for (k, v) in rest.as_object().unwrap() {
                body[k] = v.clone();
            }
            let Err(Error::InvalidRequest(m)) = parse(&body) else {
                panic!("{rest} accepted")
            };
            assert!(m.contains(words), "{m}");
        }
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
                "the body is not JSON: key must be a string at line 3 column 3",
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

    #[test]
    fn tool_parameters_come_out_as_the_client_wrote_them() {
        // Properties out of alphabetical order, a nested anyOf, `required` before `type`,
        // whitespace, escapes and number spellings a reader would normalise.
        let schema = r#"{ "required" : ["zeta","alpha"],
            "properties": {"zeta": {"anyOf": [{"type": "string", "maxLength": 1e3},
                                              {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"const": -0.50}]}}]},
                           "alpha": {"type": "string", "description": "caf\u00e9 \"\/\" é"},
                           "mid": {"type": "number", "minimum": 1.0}},
            "additionalProperties": false, "type": "object" }"#;
        let body = format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}],
                "tools":[{{"type":"function","function":{{"parameters":{schema},"name":"f"}}}},
                         {{"function":{{"name":"g","parameters":null}}}}]}}"#
        );
        let tools = parse_chat_request(body.as_bytes()).unwrap().request.tools;
        assert_eq!(tools[0].parameters, schema);
        assert_eq!(tools[1].parameters, "");
        // Tool-call arguments pass as written too, whatever JSON they hold.
        let arguments = r#"{"b": 1.50, "a": [true, null], "c": "\u00e9"}"#;
        let body = json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}]}]});
        let Message::Assistant(turn) = &parse(&body).unwrap().request.messages[0] else {
            panic!("not an assistant turn");
        };
        assert_eq!(turn.tool_calls[0].arguments, arguments);
    }

    #[test]
    fn unknown_members_of_every_json_type_are_skipped() {
        let values = r#"null, true, false, 0, -1.5e300, 123456789012345678901234567890,
            "", "text with \"escapes\" \u0000 \ud83d\ude00", [], {}, [1, [2, [3]], {"a": null}],
            {"nested": {"deeper": [{"x": "y"}, 1e-7]}}"#;
        let members =
            |name: &str| format!(r#""{name}": [{values}], "{name}_": {{"k": [{values}]}}"#);
        let body = format!(
            r#"{{{top}, "model": "m", "messages": [
                {{{message}, "role": "user", "content": [
                    {{{part}, "type": "text", "text": "hi"}},
                    {{"type": "image_url", "image_url": {{{image}, "url": "https://x/y.png"}}}}]}},
                {{"role": "assistant", "tool_calls": [{{{call}, "id": "c",
                    "function": {{{function}, "name": "f", "arguments": "{{}}"}}}}]}}],
              "tools": [{{{tool}, "function": {{{function}, "name": "f"}}}}],
              "tool_choice": {{{tool}, "function": {{{function}, "name": "f"}}}},
              "stream_options": {{{options}, "include_usage": true}}}}"#,
            top = members("user"),
            message = members("name"),
            part = members("cache_control"),
            image = members("detail"),
            call = members("extra"),
            function = members("metadata"),
            tool = members("x"),
            options = members("y"),
        );
        let parsed = parse_chat_request(body.as_bytes()).unwrap();
        assert_eq!(
            parsed.request,
            ChatRequest {
                model: "m".to_owned(),
                messages: vec![
                    Message::User(vec![
                        text("hi"),
                        ContentPart::Image(ImageSource::Url("https://x/y.png".to_owned())),
                    ]),
                    Message::Assistant(AssistantMessage {
                        tool_calls: vec![ToolCall {
                            id: "c".to_owned(),
                            name: "f".to_owned(),
                            arguments: "{}".to_owned(),
                        }],
                        ..AssistantMessage::default()
                    }),
                ],
                tools: vec![Tool {
                    name: "f".to_owned(),
                    description: None,
                    parameters: String::new(),
                    strict: None,
                }],
                tool_choice: Some(ToolChoice::Named("f".to_owned())),
                ..ChatRequest::default()
            }
        );
        assert!(parsed.include_usage);
    }

    #[test]
    fn nesting_is_refused_one_level_past_the_limit_wherever_it_is() {
        let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        let body = |place: &str, levels: usize| -> Vec<u8> {
            match place {
                "top" => format!(
                    r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}],"x":{}}}"#,
                    nested(levels)
                ),
                _ => format!(
                    r#"{{"model":"m","messages":[{{"role":"user","content":"hi","x":{}}}]}}"#,
                    nested(levels)
                ),
            }
            .into_bytes()
        };
        // The body is the first level; a message the third.
        for (place, around) in [("top", 1), ("message", 3)] {
            let deepest = body(place, MAX_DEPTH - around);
            assert!(parse_chat_request(&deepest).is_ok(), "{place}");
            let message = refusal(&body(place, MAX_DEPTH - around + 1));
            let expected = format!("the body is nested too deeply: more than {MAX_DEPTH} levels");
            assert!(message.starts_with(&expected), "{place}: {message}");
        }
    }

    #[test]
    fn a_role_after_the_content_is_checked_all_the_same() {
        let parsed = parse_chat_request(
            br#"{"model":"m","messages":[{"content":[{"text":"a","type":"text"},
                {"image_url":"https://x/y.png","type":"image_url"}],"role":"user"},
                {"tool_calls":[{"id":"c","function":{"name":"f"}}],"content":"","role":"assistant"}]}"#,
        )
        .unwrap();
        assert_eq!(
            parsed.request.messages[0],
            Message::User(vec![
                text("a"),
                ContentPart::Image(ImageSource::Url("https://x/y.png".to_owned()))
            ])
        );
        assert_eq!(
            refusal(
                br#"{"model":"m","messages":[{"content":[{"type":"text","text":"a"},{"type":"image_url","image_url":"https://x"}],"role":"system"}]}"#
            ),
            "messages[0].content[1].type: unsupported part type \"image_url\"; expected \"text\""
        );
        assert_eq!(
            refusal(
                br#"{"model":"m","messages":[{"content":[{"type":"input_audio"}],"role":"user"}]}"#
            ),
            "messages[0].content[0].type: unsupported part type \"input_audio\"; expected \"text\", \"image_url\" or \"refusal\""
        );
        // Members of another role are skipped once the role is known, as before.
        let parsed = parse_chat_request(
            br#"{"model":"m","messages":[{"role":"user","content":"x","tool_calls":5,"reasoning":1}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.request.messages[0], Message::User(vec![text("x")]));
    }

    #[test]
    fn items_and_tools_are_counted() {
        let user = r#"{"role":"user","content":"hi"}"#;
        let messages = |n: usize| vec![user; n].join(",");
        let body = |messages: &str, rest: &str| {
            format!(r#"{{"model":"m","messages":[{messages}]{rest}}}"#).into_bytes()
        };
        // Messages, parts, tool calls, tools and stop sequences count together.
        let parts = |n: usize| vec![r#"{"type":"text","text":"a"}"#; n].join(",");
        let request = body(
            &format!(
                r#"{},{{"role":"user","content":[{}]}}"#,
                messages(MAX_ITEMS - 5),
                parts(2)
            ),
            r#","stop":["x"],"tools":[{"function":{"name":"f"}}]"#,
        );
        let parsed = parse_chat_request(&request).unwrap().request;
        assert_eq!(parsed.messages.len(), MAX_ITEMS - 4);
        let request = body(&messages(MAX_ITEMS - 1), r#","stop":["x","y"]"#);
        assert_eq!(
            refusal(&request),
            format!(
                "stop[1]: too many items: a request may carry {MAX_ITEMS} messages, content parts, tool calls, tools and stop sequences in all"
            )
        );
        let tools = |n: usize| {
            let tools = vec![r#"{"function":{"name":"f"}}"#; n].join(",");
            body(user, &format!(r#","tools":[{tools}]"#))
        };
        assert_eq!(
            parse_chat_request(&tools(MAX_TOOLS))
                .unwrap()
                .request
                .tools
                .len(),
            MAX_TOOLS
        );
        assert_eq!(
            refusal(&tools(MAX_TOOLS + 1)),
            format!("tools[{MAX_TOOLS}]: too many: at most {MAX_TOOLS} are allowed")
        );
    }

    // ---- Streams ----

    fn usage() -> Usage {
        Usage {
            input_tokens: 12,
            output_tokens: 40,
            cache_read_tokens: Some(2048),
            cache_write_tokens: Some(100),
            reasoning_tokens: None,
            cost: None,
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
                reasoning_tokens: None,
                cost: None,
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
            cost: Some(Cost::default()),
            context_window: 200_000,
            max_tokens: 64_000,
            source: ModelSource::Discovered,
            created: None,
        }
    }

    #[test]
    fn the_captured_requests_reach_mantle_as_they_were_sent() {
        /// The members of a JSON object, each as the text it is.
        #[derive(serde::Deserialize)]
        struct Raw<'a> {
            #[serde(borrow)]
            messages: &'a serde_json::value::RawValue,
            #[serde(borrow, default)]
            tools: Option<&'a serde_json::value::RawValue>,
        }
        for captured in [
            include_str!("../../fixtures/mantle/chat-gpt-oss-20b.request.json"),
            include_str!("../../fixtures/mantle/stream-gpt-oss-20b-tool-call.request.json"),
        ] {
            let parsed = parse_chat_request(captured.as_bytes()).unwrap();
            let body =
                mantle_provider::openai::build_request(&parsed.request, "openai.gpt-oss-20b", None)
                    .unwrap();
            let sent: Raw<'_> = serde_json::from_str(&body).unwrap();
            let asked: Raw<'_> = serde_json::from_str(captured.trim()).unwrap();
            assert_eq!(sent.messages.get(), asked.messages.get(), "{captured}");
            // Tool definitions, schemas and descriptions included, byte for byte.
            assert_eq!(
                sent.tools.map(|t| t.get()),
                asked.tools.map(|t| t.get()),
                "{body}"
            );
            let sent: Json = serde_json::from_str(&body).unwrap();
            let asked: Json = serde_json::from_str(captured).unwrap();
            for key in ["parallel_tool_calls", "stream_options"] {
                if asked.get(key).is_some() {
                    assert_eq!(sent[key], asked[key], "{key}");
                }
            }
            assert_eq!(sent["stream"], true, "the provider always streams");
        }
    }

    #[test]
    fn models_keep_the_created_mantle_listed() {
        let listing: Json =
            serde_json::from_str(include_str!("../../fixtures/mantle/models-us-east-2.json"))
                .unwrap();
        let models = mantle_provider::discovery::parse_models(
            include_bytes!("../../fixtures/mantle/models-us-east-2.json"),
            &mantle_provider::secrets::Secrets::default(),
        )
        .unwrap();
        let body: Json = serde_json::from_slice(&models_response(&models, 99)).unwrap();
        let created = |list: &Json, id: &str| {
            list["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"] == id)
                .map(|m| m["created"].clone())
        };
        for m in listing["data"].as_array().unwrap() {
            let id = m["id"].as_str().unwrap();
            assert_eq!(created(&body, id), Some(m["created"].clone()), "{id}");
        }
        assert_eq!(created(&body, "zai.glm-5"), Some(json!(1_771_770_206)));
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
    fn a_large_delta_goes_out_whole() {
        let mut writer = ChunkWriter::new("m", 1, false);
        let mut out = Vec::new();
        writer.event(&ChatEvent::TextDelta("x".repeat(100_000)), &mut out);
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
