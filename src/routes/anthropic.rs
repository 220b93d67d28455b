//! The Anthropic Messages route, `POST {anthropicBase}/v1/messages` (Claude models): request
//! building, stream mapping and error classification, with no I/O.
//!
//! The caller sends the body with `anthropic-version: ANTHROPIC_VERSION` and the same
//! `Authorization: Bearer` token as the OpenAI route (never `x-api-key`).
//!
//! The stream is SSE events named by their data's `type`: `message_start`, then per content
//! block `content_block_start`, `content_block_delta`s and `content_block_stop`, then
//! `message_delta` (stop reason, usage) and `message_stop`; `ping` may come anywhere and `error`
//! ends the stream. Thinking signatures and redacted thinking are passed on intact, since
//! clients must replay them.

use crate::chat::{
    self, AssistantMessage, ChatEvent, ChatRequest, ContentPart, EventStream, ImageSource, Message,
    ReasoningBlock, ReasoningEffort, StopReason, StreamMapper, ToolChoice, Usage, body_with_extra,
    json_f32, malformed, raw_object, tokens, tool_schema,
};
use crate::error::{Error, Result};
use crate::model::Api;
use crate::routes::policy;
use crate::routes::route::{Events, Route, Target};
use crate::secrets::Secrets;
use crate::sse;
pub mod wire;

/// The `anthropic-version` header every request of this route carries.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The route, as error messages name it.
pub const ROUTE: &str = "POST /anthropic/v1/messages";

/// Error messages of errors reported inside a stream start with this.
const ROUTE_STREAM: &str = "POST /anthropic/v1/messages (error event in the stream)";

/// The most tool-use blocks open at once; more is a protocol error (bounds memory).
const MAX_OPEN_TOOL_BLOCKS: usize = 256;

/// The smallest thinking budget Anthropic accepts.
const MIN_THINKING_BUDGET: u32 = 1024;

/// The thinking budget of a reasoning effort, in tokens.
pub fn thinking_budget(effort: ReasoningEffort) -> u32 {
    match effort {
        ReasoningEffort::Low => 2048,
        ReasoningEffort::Medium => 8192,
        ReasoningEffort::High => 16384,
    }
}

/// The JSON body of a streamed Messages request.
/// `model` is the id Mantle serves ([`crate::catalog::ids::resolve`]), sent as given.
///
/// - `max_tokens` (required) is the request's value, else `max_tokens_cap` (the model's
///   limit), and never above the cap.
/// - With a reasoning effort and `supports_thinking`, `thinking: {type: enabled,
///   budget_tokens}` is sent (low 2048, medium 8192, high 16384). Anthropic counts thinking in
///   `max_tokens` and wants it above the budget: when it is not, `max_tokens` grows by the budget
///   (up to the cap), and the budget shrinks below the cap when it must; a cap that leaves no
///   room for the smallest budget (1024) is an invalid request. Without `supports_thinking` the
///   effort is ignored.
/// - System messages are joined with blank lines into `system`. Tool results travel in user
///   turns; consecutive turns of one role are merged, as Anthropic requires.
/// - Earlier assistant turns replay their reasoning first (signed `thinking` blocks and
///   `redacted_thinking` blocks as received; readable reasoning without a signature cannot be
///   verified by Anthropic and is left out), then text, then `tool_use` blocks. Empty text is
///   left out (Anthropic refuses empty text blocks).
/// - `data:` image URLs become base64 sources.
/// - `extra`, a JSON object, is merged at the top level last.
/// - Structured outputs: `response_format` `json_schema` becomes `output_config.format`
///   (`{type: json_schema, schema}`), `strict` tools keep `strict`; `parallel_tool_calls:
///   false` becomes `disable_parallel_tool_use` on `tool_choice` (`auto` when none is
///   given). `json_object` (no schema) and `seed` have no Anthropic equivalent and are
///   refused, naming the field.
///
/// Thinking rules: Anthropic refuses, with thinking on, a forced tool (`tool_choice` `any` or
/// a named tool), a `temperature` other than 1, a `top_p` below 0.95 and any `top_k`. With
/// thinking on:
/// - a forced tool turns thinking off (the client asked for the tool explicitly);
/// - otherwise such a `temperature`, `top_p` or `top_k` (the latter two also from `extra`)
///   is dropped.
///
/// Each change leaves a line in `notes`, so no forbidden combination is ever sent.
pub fn build_request(
    req: &ChatRequest,
    model: &str,
    max_tokens_cap: u32,
    supports_thinking: bool,
) -> Result<String> {
    build_request_noting(
        req,
        model,
        max_tokens_cap,
        supports_thinking,
        &mut Vec::new(),
    )
}

/// [`build_request`], saying in `notes` what the thinking rules changed.
pub fn build_request_noting(
    req: &ChatRequest,
    model: &str,
    max_tokens_cap: u32,
    supports_thinking: bool,
    notes: &mut Vec<String>,
) -> Result<String> {
    if req.seed.is_some() {
        return Err(Error::InvalidRequest(
            "seed: the Anthropic Messages route has no seed; leave it out for this model"
                .to_owned(),
        ));
    }
    let output_config = output_config(req)?;
    let (system, messages) = conversation(req)?;
    let tools = req
        .tools
        .iter()
        .map(|tool| {
            Ok(wire::Tool {
                name: &tool.name,
                description: tool.description.as_deref(),
                input_schema: tool_schema(tool)?,
                strict: tool.strict,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let cap = max_tokens_cap.max(1);
    let mut max_tokens = req.max_tokens.map_or(cap, |wanted| wanted.min(cap)).max(1);
    let thinking = thinking(req, supports_thinking, cap, &mut max_tokens, notes)?;
    let sampling = Sampling::of(req, thinking.is_some(), notes)?;
    let body = wire::Request {
        model,
        max_tokens,
        stream: true,
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        messages,
        tools,
        tool_choice: tool_choice(req),
        thinking,
        temperature: sampling
            .temperature
            .map(|t| json_f32("temperature", t))
            .transpose()?,
        top_p: sampling.top_p.map(|p| json_f32("top_p", p)).transpose()?,
        stop_sequences: req.stop.iter().map(String::as_str).collect(),
        output_config,
    };
    body_with_extra(&body, sampling.extra.as_deref())
}

/// The structured output asked for: a JSON schema, or none; `json_object` has no
/// equivalent on this route.
fn output_config(req: &ChatRequest) -> Result<Option<wire::OutputConfig<'_>>> {
    match &req.response_format {
        None | Some(chat::ResponseFormat::Text) => Ok(None),
        Some(chat::ResponseFormat::JsonObject) => Err(Error::InvalidRequest(
            "response_format: json_object is not supported on the Anthropic Messages route; send a json_schema".to_owned(),
        )),
        Some(chat::ResponseFormat::JsonSchema(format)) => Ok(Some(wire::OutputConfig {
            format: wire::OutputFormat {
                kind: "json_schema",
                schema: raw_object(&format.schema, || {
                    "response_format.json_schema.schema".to_owned()
                })?,
            },
        })),
    }
}

/// The system texts, and the turns with consecutive ones of a role merged (tool results
/// are user turns).
fn conversation(req: &ChatRequest) -> Result<(Vec<&str>, Vec<wire::Message<'_>>)> {
    let mut system: Vec<&str> = Vec::new();
    let mut messages: Vec<wire::Message<'_>> = Vec::new();
    for message in &req.messages {
        let (role, blocks) = match message {
            Message::System(text) => {
                system.push(text);
                continue;
            }
            Message::User(parts) => ("user", blocks(parts)?),
            Message::Assistant(turn) => ("assistant", assistant(turn)?),
            Message::Tool(result) => (
                "user",
                vec![wire::Block::ToolResult {
                    tool_use_id: &result.tool_call_id,
                    content: blocks(&result.content)?,
                    is_error: result.is_error,
                }],
            ),
        };
        match messages.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => messages.push(wire::Message {
                role,
                content: blocks,
            }),
        }
    }
    Ok((system, messages))
}

/// Thinking for the request's reasoning effort, if the model thinks and no tool is forced;
/// `max_tokens` grows to hold the budget (up to `cap`), or the budget shrinks to fit it.
fn thinking(
    req: &ChatRequest,
    supports_thinking: bool,
    cap: u32,
    max_tokens: &mut u32,
    notes: &mut Vec<String>,
) -> Result<Option<wire::Thinking>> {
    let forced_tool = matches!(
        req.tool_choice,
        Some(ToolChoice::Required | ToolChoice::Named(_))
    );
    match req.reasoning_effort {
        Some(_) if supports_thinking && forced_tool => {
            notes.push(
                "thinking turned off: the request forces a tool call (tool_choice), which Anthropic refuses with thinking on".to_owned(),
            );
            Ok(None)
        }
        Some(effort) if supports_thinking => {
            let mut budget = thinking_budget(effort);
            if *max_tokens <= budget {
                *max_tokens = budget.saturating_add(*max_tokens).min(cap);
            }
            if *max_tokens <= budget {
                budget = *max_tokens - 1;
            }
            if budget < MIN_THINKING_BUDGET {
                return Err(Error::InvalidRequest(format!(
                    "reasoning effort {} needs max_tokens above {MIN_THINKING_BUDGET}, \
                     and the model allows {cap}",
                    effort.as_str()
                )));
            }
            Ok(Some(wire::Thinking {
                kind: "enabled",
                budget_tokens: budget,
            }))
        }
        _ => Ok(None),
    }
}

/// The sampling members sent: with thinking on, those Anthropic refuses are dropped (each
/// drop noted), from the request and from its `extra`.
struct Sampling<'a> {
    temperature: Option<f32>,
    top_p: Option<f32>,
    extra: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> Sampling<'a> {
    fn of(req: &'a ChatRequest, thinking: bool, notes: &mut Vec<String>) -> Result<Self> {
        let mut sampling = Sampling {
            temperature: req.temperature,
            top_p: req.top_p,
            extra: req.extra.as_deref().map(std::borrow::Cow::Borrowed),
        };
        if !thinking {
            return Ok(sampling);
        }
        if let Some(t) = sampling.temperature.filter(|t| *t != 1.0) {
            notes.push(format!(
                "temperature {t} dropped: with thinking on Anthropic accepts only 1"
            ));
            sampling.temperature = None;
        }
        if let Some(p) = sampling.top_p.filter(|p| *p < 0.95) {
            notes.push(format!(
                "top_p {p} dropped: with thinking on Anthropic accepts only 0.95 to 1"
            ));
            sampling.top_p = None;
        }
        if let Some(text) = req.extra.as_deref()
            && let Some(safe) = thinking_safe_extra(text, notes)?
        {
            sampling.extra = Some(std::borrow::Cow::Owned(safe));
        }
        Ok(sampling)
    }
}

/// The tool choice sent: the request's, with `parallel_tool_calls: false` as
/// `disable_parallel_tool_use` (sent with `auto` when the request has tools but no choice).
fn tool_choice(req: &ChatRequest) -> Option<wire::ToolChoice<'_>> {
    let disable_parallel_tool_use = req.parallel_tool_calls == Some(false);
    match &req.tool_choice {
        Some(ToolChoice::Auto) => Some(wire::ToolChoice::Auto {
            disable_parallel_tool_use,
        }),
        Some(ToolChoice::None) => Some(wire::ToolChoice::None),
        Some(ToolChoice::Required) => Some(wire::ToolChoice::Any {
            disable_parallel_tool_use,
        }),
        Some(ToolChoice::Named(name)) => Some(wire::ToolChoice::Tool {
            name,
            disable_parallel_tool_use,
        }),
        None if disable_parallel_tool_use && !req.tools.is_empty() => {
            Some(wire::ToolChoice::Auto {
                disable_parallel_tool_use,
            })
        }
        None => None,
    }
}

/// `extra` without the sampling members Anthropic refuses with thinking on (`top_k`, a
/// `temperature` other than 1, a `top_p` below 0.95), each removal noted; `None` when
/// nothing had to go (the text is then sent as written).
fn thinking_safe_extra(extra: &str, notes: &mut Vec<String>) -> Result<Option<String>> {
    let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(extra)
        .map_err(|e| Error::InvalidRequest(format!("extra must be a JSON object: {e}")))?;
    let before = notes.len();
    let number = |o: &serde_json::Map<String, serde_json::Value>, k: &str| {
        o.get(k).and_then(serde_json::Value::as_f64)
    };
    if object.contains_key("top_k") {
        notes.push("top_k dropped: Anthropic refuses it with thinking on".to_owned());
        object.remove("top_k");
    }
    if number(&object, "temperature").is_some_and(|t| t != 1.0) {
        notes.push("temperature dropped: with thinking on Anthropic accepts only 1".to_owned());
        object.remove("temperature");
    }
    if number(&object, "top_p").is_some_and(|p| p < 0.95) {
        notes.push("top_p dropped: with thinking on Anthropic accepts only 0.95 to 1".to_owned());
        object.remove("top_p");
    }
    if notes.len() == before {
        return Ok(None);
    }
    serde_json::to_string(&object)
        .map(Some)
        .map_err(|e| Error::InvalidRequest(format!("cannot encode extra: {e}")))
}

/// Text and image blocks of content parts; empty text is left out.
fn blocks(parts: &[ContentPart]) -> Result<Vec<wire::Block<'_>>> {
    parts
        .iter()
        .filter(|part| !matches!(part, ContentPart::Text(text) if text.is_empty()))
        .map(|part| {
            Ok(match part {
                ContentPart::Text(text) => wire::Block::Text { text },
                ContentPart::Image(image) => wire::Block::Image {
                    source: image_source(image)?,
                },
            })
        })
        .collect()
}

/// The source of an image; a `data:` URL becomes inline base64.
fn image_source(image: &ImageSource) -> Result<wire::ImageSource<'_>> {
    Ok(match image {
        ImageSource::Base64 { media_type, data } => wire::ImageSource::Base64 { media_type, data },
        ImageSource::Url(url) => match chat::data_url(url)? {
            None => wire::ImageSource::Url { url },
            Some((media_type, data)) => wire::ImageSource::Base64 { media_type, data },
        },
    })
}

/// The blocks of an earlier assistant turn: reasoning, text, tool calls.
fn assistant(turn: &AssistantMessage) -> Result<Vec<wire::Block<'_>>> {
    let mut out: Vec<wire::Block<'_>> = turn
        .reasoning
        .iter()
        .filter_map(|block| match block {
            ReasoningBlock::Thinking {
                text,
                signature: Some(signature),
            } => Some(wire::Block::Thinking {
                thinking: text,
                signature,
            }),
            ReasoningBlock::Thinking {
                signature: None, ..
            } => None,
            ReasoningBlock::Redacted(data) => Some(wire::Block::RedactedThinking { data }),
        })
        .collect();
    out.extend(blocks(&turn.content)?);
    for call in &turn.tool_calls {
        let input = raw_object(&call.arguments, || {
            format!("tool call `{}` ({}): arguments", call.id, call.name)
        })?;
        out.push(wire::Block::ToolUse {
            id: &call.id,
            name: &call.name,
            input,
        });
    }
    Ok(out)
}

/// What a failed `POST /anthropic/v1/messages` means ([`policy::classify`]). Bodies may be
/// Anthropic-shaped (`{"type":"error","error":{"type":...,"message":...}}`) or OpenAI-shaped.
pub fn classify_error(
    status: u16,
    retry_after_header: Option<&str>,
    body: &[u8],
    secrets: &Secrets,
) -> Error {
    Anthropic.classify_error(status, retry_after_header, body, secrets)
}

/// The largest answer asked of a model the listing does not describe (Anthropic requires
/// `max_tokens`).
pub const UNKNOWN_MAX_TOKENS: u32 = 8_192;

/// The Anthropic Messages route.
#[derive(Debug, Clone, Copy)]
pub struct Anthropic;

impl Route for Anthropic {
    fn api(&self) -> Api {
        Api::AnthropicMessages
    }

    fn name(&self) -> &'static str {
        ROUTE
    }

    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[("anthropic-version", ANTHROPIC_VERSION)]
    }

    /// The cap is the listing's `max_tokens` (discovered or not), else
    /// [`UNKNOWN_MAX_TOKENS`]; a model the listing does not describe may think. What the
    /// thinking rules changed is noted once, however many times the request is sent.
    fn build_request(
        &self,
        request: &ChatRequest,
        target: &Target<'_>,
        notes: &mut Vec<String>,
    ) -> Result<String> {
        let cap = target.listed.map_or(UNKNOWN_MAX_TOKENS, |m| m.max_tokens);
        let thinking = target.listed.is_none_or(|m| m.reasoning);
        let mut changed = Vec::new();
        let body = build_request_noting(request, target.id, cap, thinking, &mut changed)?;
        for note in changed {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        Ok(body)
    }

    fn wrong_route_hint(&self) -> &'static str {
        "the model is served on the OpenAI chat completions route, \
                 POST /v1/chat/completions: give it api \"openai-completions\""
    }

    fn event_stream(&self, secrets: Secrets) -> Box<dyn Events> {
        Box::new(event_stream().redacting(secrets))
    }
}

/// A stream of this route over a new response body.
pub fn event_stream() -> EventStream<Mapper> {
    EventStream::new(Mapper::default())
}

/// Maps Messages stream events to [`ChatEvent`]s.
///
/// **Completion rule.** The response is complete at `message_stop`, which emits the usage and
/// then the finish event; a body that ends before it is [`Error::Truncated`].
///
/// Tool calls are numbered by their order among the message's `tool_use` blocks, from 0.
/// State between events: the stop reason, the latest token counts, a tool-call counter and the
/// content-block index of each open `tool_use` block (no text is ever kept).
#[derive(Debug, Default)]
pub struct Mapper {
    /// [`ChatEvent::Finish`] was emitted.
    done: bool,
    /// The stop reason of `message_delta`.
    stop: Option<StopReason>,
    /// The latest token counts, once any were reported.
    usage: Option<Usage>,
    /// Tool-use blocks begun so far.
    tool_calls: u32,
    /// `(content block index, tool call position)` of each open tool-use block.
    open_tools: Vec<(u32, u32)>,
}

impl StreamMapper for Mapper {
    fn on_event(&mut self, event: &sse::Event, out: &mut Vec<ChatEvent>) -> Result<()> {
        let data = event.data.trim();
        let parsed: wire::StreamEvent =
            serde_json::from_str(data).map_err(|e| malformed(ROUTE, &e, data))?;
        match parsed {
            wire::StreamEvent::MessageStart { message } => {
                if let Some(usage) = message.usage {
                    self.add_usage(usage);
                }
                out.push(ChatEvent::MessageStart {
                    id: message.id,
                    model: message.model,
                });
            }
            wire::StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => self.block_start(index, content_block, out)?,
            wire::StreamEvent::ContentBlockDelta { index, delta } => {
                self.block_delta(index, delta, out)?;
            }
            wire::StreamEvent::ContentBlockStop { index } => {
                self.open_tools.retain(|(i, _)| *i != index);
            }
            wire::StreamEvent::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    self.stop = Some(stop_reason(reason));
                }
                if let Some(usage) = usage {
                    self.add_usage(usage);
                }
            }
            wire::StreamEvent::MessageStop => {
                if let Some(usage) = self.usage.take() {
                    out.push(ChatEvent::Usage(usage));
                }
                let reason = self
                    .stop
                    .take()
                    .unwrap_or_else(|| StopReason::Other("unknown".to_owned()));
                out.push(ChatEvent::Finish(reason));
                self.done = true;
                self.open_tools = Vec::new();
            }
            wire::StreamEvent::Error { error } => {
                let status = policy::stream_error_status(&error);
                return Err(policy::classify(
                    ROUTE_STREAM,
                    Anthropic.wrong_route_hint(),
                    status,
                    None,
                    data.as_bytes(),
                    &Secrets::default(),
                ));
            }
            wire::StreamEvent::Ping | wire::StreamEvent::Unknown => {}
        }
        Ok(())
    }

    fn on_end(&mut self, _out: &mut Vec<ChatEvent>) -> Result<()> {
        if self.done {
            Ok(())
        } else {
            Err(Error::Truncated(
                "the stream ended before message_stop".to_owned(),
            ))
        }
    }

    fn finished(&self) -> bool {
        self.done
    }
}

impl Mapper {
    /// A content block's delta: text, thinking, a signature, or a tool's input JSON (which
    /// must belong to an open tool_use block).
    fn block_delta(
        &mut self,
        index: u32,
        delta: wire::BlockDelta,
        out: &mut Vec<ChatEvent>,
    ) -> Result<()> {
        match delta {
            wire::BlockDelta::TextDelta { text } => push_text(out, ChatEvent::TextDelta, text),
            wire::BlockDelta::ThinkingDelta { thinking } => {
                push_text(out, ChatEvent::ReasoningDelta, thinking);
            }
            wire::BlockDelta::SignatureDelta { signature } => {
                push_text(out, ChatEvent::ReasoningSignature, signature);
            }
            wire::BlockDelta::InputJsonDelta { partial_json } => {
                let Some(&(_, position)) = self.open_tools.iter().find(|(i, _)| *i == index) else {
                    return Err(Error::Protocol(format!(
                        "{ROUTE} sent input_json_delta for content block {index}, \
                     which is not an open tool_use block"
                    )));
                };
                if !partial_json.is_empty() {
                    out.push(ChatEvent::ToolCallArguments {
                        index: position,
                        arguments: partial_json,
                    });
                }
            }
            wire::BlockDelta::Unknown => {}
        }
        Ok(())
    }

    /// Emits what a new content block carries.
    fn block_start(
        &mut self,
        index: u32,
        block: wire::ContentBlock,
        out: &mut Vec<ChatEvent>,
    ) -> Result<()> {
        match block {
            wire::ContentBlock::Text { text } => push_text(out, ChatEvent::TextDelta, text),
            wire::ContentBlock::Thinking {
                thinking,
                signature,
            } => {
                push_text(out, ChatEvent::ReasoningDelta, thinking);
                push_text(
                    out,
                    ChatEvent::ReasoningSignature,
                    signature.unwrap_or_default(),
                );
            }
            wire::ContentBlock::RedactedThinking { data } => {
                out.push(ChatEvent::RedactedReasoning(data));
            }
            wire::ContentBlock::ToolUse { id, name, input } => {
                if self.open_tools.len() >= MAX_OPEN_TOOL_BLOCKS {
                    return Err(Error::Protocol(format!(
                        "{ROUTE} left more than {MAX_OPEN_TOOL_BLOCKS} tool_use blocks open"
                    )));
                }
                let position = self.tool_calls;
                self.tool_calls = self.tool_calls.saturating_add(1);
                self.open_tools.retain(|(i, _)| *i != index);
                self.open_tools.push((index, position));
                out.push(ChatEvent::ToolCallStart {
                    index: position,
                    id,
                    name,
                });
                // The input usually follows as input_json_delta; a whole one may come here.
                if let Some(input) = input.filter(|i| i.as_object().is_none_or(|o| !o.is_empty())) {
                    out.push(ChatEvent::ToolCallArguments {
                        index: position,
                        arguments: input.to_string(),
                    });
                }
            }
            wire::ContentBlock::Unknown => {}
        }
        Ok(())
    }

    /// Takes the latest counts: each event carries totals.
    fn add_usage(&mut self, reported: wire::StreamUsage) {
        let usage = self.usage.get_or_insert_with(Usage::default);
        if let Some(n) = reported.input_tokens {
            usage.input_tokens = tokens(n);
        }
        if let Some(n) = reported.output_tokens {
            usage.output_tokens = tokens(n);
        }
        if let Some(n) = reported.cache_read_input_tokens {
            usage.cache_read_tokens = Some(tokens(n));
        }
        if let Some(n) = reported.cache_creation_input_tokens {
            usage.cache_write_tokens = Some(tokens(n));
        }
    }
}

/// Appends `make(text)` unless the text is empty.
fn push_text(out: &mut Vec<ChatEvent>, make: fn(String) -> ChatEvent, text: String) {
    if !text.is_empty() {
        out.push(make(text));
    }
}

/// The unified stop reason of a `stop_reason`.
fn stop_reason(reason: String) -> StopReason {
    match reason.as_str() {
        "end_turn" | "stop_sequence" => StopReason::Stop,
        "max_tokens" => StopReason::Length,
        "tool_use" => StopReason::ToolCalls,
        "refusal" => StopReason::Refusal,
        _ => StopReason::Other(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::testing::{Outcome, run, same_however_split, truncated_when_cut_before};
    use crate::chat::{Tool, ToolCall, ToolResult};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    // ---- Stage 1: raw SSE transcripts, as the Messages route sends them. ----

    /// A plain text answer, with a ping.
    const TEXT_SSE: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-opus-4.7","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

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

    /// Extended thinking: thinking deltas, the signature, then text; prompt-cache usage.
    const THINKING_SSE: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01Think","type":"message","role":"assistant","model":"claude-opus-4.7","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":2048,"output_tokens":1}}}

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

    /// A redacted thinking block, whole in its start event, then text; CRLF line ends.
    const REDACTED_SSE: &str = concat!(
        "event: message_start\r\n",
        r#"data: {"type":"message_start","message":{"id":"msg_01Redact","type":"message","role":"assistant","model":"claude-opus-4.7","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":1}}}"#,
        "\r\n\r\n",
        "event: content_block_start\r\n",
        r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj2pLmN4kF1TqD8="}}"#,
        "\r\n\r\n",
        "event: content_block_stop\r\n",
        r#"data: {"type":"content_block_stop","index":0}"#,
        "\r\n\r\n",
        "event: content_block_start\r\n",
        r#"data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
        "\r\n\r\n",
        "event: content_block_delta\r\n",
        r#"data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Done."}}"#,
        "\r\n\r\n",
        "event: content_block_stop\r\n",
        r#"data: {"type":"content_block_stop","index":1}"#,
        "\r\n\r\n",
        "event: message_delta\r\n",
        r#"data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":7}}"#,
        "\r\n\r\n",
        "event: message_stop\r\n",
        r#"data: {"type":"message_stop"}"#,
        "\r\n\r\n",
    );

    /// Text, then two tool calls whose input arrives as `input_json_delta` pieces.
    const TOOL_USE_SSE: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-opus-4.7","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}

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
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02Bq","name":"get_time","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"tz\":\"CET\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"#;

    /// The upstream is overloaded mid-stream.
    const ERROR_SSE: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01Err","type":"message","role":"assistant","model":"claude-opus-4.7","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Once upon"}}

event: error
data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

"#;

    // ---- Stage 2: the events each transcript must give. ----

    fn start(id: &str) -> ChatEvent {
        ChatEvent::MessageStart {
            id: id.to_owned(),
            model: "claude-opus-4.7".to_owned(),
        }
    }

    fn text(s: &str) -> ChatEvent {
        ChatEvent::TextDelta(s.to_owned())
    }

    fn usage(input: u32, output: u32, read: Option<u32>, write: Option<u32>) -> ChatEvent {
        ChatEvent::Usage(Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_write_tokens: write,
            reasoning_tokens: None,
            cost: None,
        })
    }

    fn complete(events: Vec<ChatEvent>) -> Outcome {
        Outcome {
            events,
            error: None,
        }
    }

    #[test]
    fn text_answer() {
        assert_eq!(
            same_however_split(event_stream, TEXT_SSE.as_bytes()),
            complete(vec![
                start("msg_01XFDUDYJgAACzvnptvVoYEL"),
                text("Hello"),
                text(", world — 你好!"),
                usage(25, 15, Some(0), Some(0)),
                ChatEvent::Finish(StopReason::Stop),
            ])
        );
    }

    #[test]
    fn thinking_keeps_its_signature_intact() {
        assert_eq!(
            same_however_split(event_stream, THINKING_SSE.as_bytes()),
            complete(vec![
                start("msg_01Think"),
                ChatEvent::ReasoningDelta("Let me solve this step by step:\n\n1. ".to_owned()),
                ChatEvent::ReasoningDelta("27 * 453 = 12231".to_owned()),
                ChatEvent::ReasoningSignature(
                    "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+/4xGmuqBmZ/+cD4LPIFakXjSf5Kx7hXnQ1Ti2aq+o="
                        .to_owned()
                ),
                text("27 * 453 = 12,231"),
                usage(12, 98, Some(2048), Some(100)),
                ChatEvent::Finish(StopReason::Stop),
            ])
        );
    }

    #[test]
    fn redacted_thinking_is_passed_on_intact() {
        assert_eq!(
            same_however_split(event_stream, REDACTED_SSE.as_bytes()),
            complete(vec![
                start("msg_01Redact"),
                ChatEvent::RedactedReasoning(
                    "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj2pLmN4kF1TqD8="
                        .to_owned()
                ),
                text("Done."),
                usage(40, 7, None, None),
                ChatEvent::Finish(StopReason::Length),
            ])
        );
    }

    #[test]
    fn tool_use_streams_its_input_piece_by_piece() {
        assert_eq!(
            same_however_split(event_stream, TOOL_USE_SSE.as_bytes()),
            complete(vec![
                start("msg_014p7gG3wDgGV9EUtLvnow3U"),
                text("Checking both."),
                ChatEvent::ToolCallStart {
                    index: 0,
                    id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".to_owned(),
                    name: "get_weather".to_owned(),
                },
                ChatEvent::ToolCallArguments {
                    index: 0,
                    arguments: "{\"city\": \"Pa".to_owned(),
                },
                ChatEvent::ToolCallArguments {
                    index: 0,
                    arguments: "ris\"}".to_owned(),
                },
                ChatEvent::ToolCallStart {
                    index: 1,
                    id: "toolu_02Bq".to_owned(),
                    name: "get_time".to_owned(),
                },
                ChatEvent::ToolCallArguments {
                    index: 1,
                    arguments: "{\"tz\":\"CET\"}".to_owned(),
                },
                usage(472, 89, None, None),
                ChatEvent::Finish(StopReason::ToolCalls),
            ])
        );
    }

    #[test]
    fn an_error_event_mid_stream_is_a_typed_error() {
        let out = same_however_split(event_stream, ERROR_SSE.as_bytes());
        assert_eq!(out.events, [start("msg_01Err"), text("Once upon")]);
        assert_eq!(
            out.error,
            Some(Error::UpstreamUnavailable {
                status: Some(529),
                message: "POST /anthropic/v1/messages (error event in the stream) answered 529: \
                          Overloaded"
                    .to_owned(),
            })
        );
    }

    #[test]
    fn a_malformed_event_is_a_protocol_error_quoting_it() {
        let input = concat!(
            "event: content_block_delta\n",
            r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"#,
            "\n\n"
        );
        let out = same_however_split(event_stream, input.as_bytes());
        let Some(Error::Protocol(message)) = &out.error else {
            panic!("expected a protocol error: {out:?}");
        };
        assert!(
            message.contains(
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"#
            ),
            "{message}"
        );
    }

    #[test]
    fn streams_cut_before_message_stop_are_truncated() {
        for sse in [TEXT_SSE, THINKING_SSE, REDACTED_SSE, TOOL_USE_SSE] {
            // Every cut before the end of message_stop's JSON misses (part of) it. A body cut
            // after it lacks only line ends: its last event is read whole.
            let upto = sse.trim_end_matches(['\r', '\n']).len();
            truncated_when_cut_before(event_stream, sse.as_bytes(), upto);
            for cut in upto..=sse.len() {
                let out = run(event_stream(), &[&sse.as_bytes()[..cut]]);
                assert_eq!(out.error, None, "cut at {cut}");
            }
        }
    }

    #[test]
    fn error_types_map_to_typed_errors() {
        let classify_event = |kind: &str| {
            let input = format!(
                "event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"{kind}\",\"message\":\"m\"}}}}\n\n"
            );
            run(event_stream(), &[input.as_bytes()]).error
        };
        assert!(matches!(
            classify_event("rate_limit_error"),
            Some(Error::RateLimited { .. })
        ));
        assert!(matches!(
            classify_event("invalid_request_error"),
            Some(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            classify_event("authentication_error"),
            Some(Error::Unauthorized(_))
        ));
        assert!(matches!(
            classify_event("permission_error"),
            Some(Error::Forbidden(_))
        ));
        assert!(matches!(
            classify_event("not_found_error"),
            Some(Error::ModelNotFound(_))
        ));
        assert!(matches!(
            classify_event("api_error"),
            Some(Error::UpstreamUnavailable {
                status: Some(500),
                ..
            })
        ));
        let input = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: 208310 tokens > 200000 maximum\"}}\n\n";
        assert!(matches!(
            run(event_stream(), &[input.as_bytes()]).error,
            Some(Error::ContextOverflow(_))
        ));
    }

    #[test]
    fn stop_reasons_map_and_unknown_events_are_ignored() {
        for (raw, reason) in [
            ("stop_sequence", StopReason::Stop),
            ("refusal", StopReason::Refusal),
            ("pause_turn", StopReason::Other("pause_turn".to_owned())),
        ] {
            let input = format!(
                "data: {{\"type\":\"some_future_event\"}}\n\n\
                 data: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"server_tool_use\",\"id\":\"x\"}}}}\n\n\
                 data: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"citations_delta\"}}}}\n\n\
                 data: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"{raw}\"}}}}\n\n\
                 data: {{\"type\":\"message_stop\"}}\n\n"
            );
            let out = run(event_stream(), &[input.as_bytes()]);
            assert_eq!(out, complete(vec![ChatEvent::Finish(reason)]), "{raw}");
        }
    }

    #[test]
    fn input_json_outside_a_tool_block_is_a_protocol_error() {
        let input = "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n";
        let out = run(event_stream(), &[input.as_bytes()]);
        assert!(matches!(out.error, Some(Error::Protocol(_))), "{out:?}");
    }

    #[test]
    fn the_mapper_keeps_no_growing_state() {
        let mut stream = event_stream();
        let mut out = Vec::new();
        stream
            .feed(
                b"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n",
                &mut out,
            )
            .unwrap();
        out.clear();
        for _ in 0..20_000 {
            stream
                .feed(
                    b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"[1,\"}}\n\n",
                    &mut out,
                )
                .unwrap();
            stream
                .feed(
                    b"data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"lorem \"}}\n\n",
                    &mut out,
                )
                .unwrap();
            assert_eq!(out.len(), 2);
            out.clear();
        }
        let mapper = stream.mapper();
        assert_eq!(mapper.open_tools, [(0, 0)]);
        assert!(mapper.open_tools.capacity() <= 4);
        assert_eq!(mapper.tool_calls, 1);
    }

    // ---- Request building: a conversation → the JSON body. ----

    fn body(req: &ChatRequest, cap: u32, thinking: bool) -> Value {
        serde_json::from_str(&build_request(req, &req.model, cap, thinking).unwrap()).unwrap()
    }

    #[test]
    fn a_whole_conversation_becomes_the_messages_body() {
        let req = crate::chat::testing::conversation("claude-opus-4.7");
        assert_eq!(
            body(&req, 32_000, true),
            json!({
                "model": "claude-opus-4.7",
                "max_tokens": 32000,
                "stream": true,
                "system": "You are terse.\n\nAnswer in English.",
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "What is in this image?"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                    ]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "A cat. The user may want the weather too.", "signature": "EqQBCkYIBxgCKkA"},
                        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3vaG"},
                        {"type": "text", "text": "A cat. Checking the weather."},
                        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
                    ]},
                    // The tool result and the next user turn: one user message.
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "18°C, sunny"}]},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
                        {"type": "text", "text": "And this one?"}
                    ]}
                ],
                "tools": [{
                    "name": "get_weather",
                    "description": "Current weather of a city",
                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
                }],
                "tool_choice": {"type": "auto"},
                "thinking": {"type": "enabled", "budget_tokens": 16384},
                "stop_sequences": ["END"]
            }),
            "thinking is on: temperature 0.7 and top_k are dropped"
        );
        let mut plain = req.clone();
        plain.reasoning_effort = None;
        let b = body(&plain, 32_000, true);
        assert_eq!(
            (b["temperature"].clone(), b["top_k"].clone()),
            (json!(0.7), json!(40))
        );
    }

    fn notes_of(req: &ChatRequest) -> (Value, Vec<String>) {
        let mut notes = Vec::new();
        let b = build_request_noting(req, &req.model, 32_000, true, &mut notes).unwrap();
        (serde_json::from_str(&b).unwrap(), notes)
    }

    #[test]
    fn thinking_never_travels_with_what_anthropic_refuses_beside_it() {
        let mut req = ChatRequest {
            model: "claude-opus-4.7".to_owned(),
            messages: vec![Message::User(vec![ContentPart::Text("hi".to_owned())])],
            reasoning_effort: Some(ReasoningEffort::Low),
            temperature: Some(0.2),
            top_p: Some(0.5),
            extra: Some(r#"{"top_k":5,"metadata":{"user_id":"u"}}"#.to_owned()),
            ..ChatRequest::default()
        };
        let (b, notes) = notes_of(&req);
        assert_eq!(b["thinking"]["type"], "enabled");
        for k in ["temperature", "top_p", "top_k"] {
            assert_eq!(b[k], Value::Null, "{k} sent with thinking");
            assert!(notes.iter().any(|n| n.starts_with(k)), "{k}: {notes:?}");
        }
        assert_eq!(
            b["metadata"],
            json!({"user_id": "u"}),
            "the rest of extra is kept"
        );
        // What Anthropic accepts with thinking passes as given.
        req.temperature = Some(1.0);
        req.top_p = Some(0.95);
        req.extra = None;
        let (b, notes) = notes_of(&req);
        assert_eq!(
            (b["temperature"].clone(), b["top_p"].clone()),
            (json!(1.0), json!(0.95))
        );
        assert!(notes.is_empty(), "{notes:?}");
        // A forced tool turns thinking off; the sampling parameters then stay.
        req.tools = vec![crate::chat::Tool {
            name: "f".to_owned(),
            description: None,
            parameters: String::new(),
            strict: None,
        }];
        req.temperature = Some(0.2);
        for choice in [ToolChoice::Required, ToolChoice::Named("f".to_owned())] {
            req.tool_choice = Some(choice);
            let (b, notes) = notes_of(&req);
            assert_eq!(b["thinking"], Value::Null);
            assert_eq!(b["temperature"], json!(0.2));
            assert!(
                notes.iter().any(|n| n.contains("thinking turned off")),
                "{notes:?}"
            );
        }
        req.tool_choice = Some(ToolChoice::Auto);
        assert_eq!(notes_of(&req).0["thinking"]["type"], "enabled");
    }

    #[test]
    fn structured_outputs_parallel_calls_and_seed_on_the_messages_route() {
        let mut req = ChatRequest {
            model: "amazon-bedrock-mantle/claude-opus-4.7".to_owned(),
            messages: vec![Message::User(vec![ContentPart::Text("hi".to_owned())])],
            tools: vec![crate::chat::Tool {
                name: "f".to_owned(),
                description: None,
                parameters: r#"{"type":"object","properties":{}}"#.to_owned(),
                strict: Some(true),
            }],
            parallel_tool_calls: Some(false),
            response_format: Some(chat::ResponseFormat::JsonSchema(chat::JsonSchemaFormat {
                name: "answer".to_owned(),
                description: None,
                schema: r#"{"type":"object","properties":{"a":{"type":"string"}}}"#.to_owned(),
                strict: Some(true),
            })),
            ..ChatRequest::default()
        };
        // The model as the client resolved it (the reference's prefix is gone by then).
        let text = build_request(&req, "anthropic.claude-opus-4-7", 1000, true).unwrap();
        assert!(
            text.starts_with(r#"{"model":"anthropic.claude-opus-4-7","#),
            "{text}"
        );
        assert!(
            text.contains(r#""output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}"#),
            "{text}"
        );
        let b: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(b["tools"][0]["strict"], json!(true));
        assert_eq!(
            b["tool_choice"],
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        req.response_format = Some(chat::ResponseFormat::JsonObject);
        let Err(Error::InvalidRequest(m)) = build_request(&req, &req.model, 1000, true) else {
            panic!("json_object accepted")
        };
        assert!(m.starts_with("response_format"), "{m}");
        req.response_format = None;
        req.seed = Some(7);
        let Err(Error::InvalidRequest(m)) = build_request(&req, &req.model, 1000, true) else {
            panic!("seed accepted")
        };
        assert!(m.starts_with("seed"), "{m}");
    }

    #[test]
    fn max_tokens_and_the_thinking_budget() {
        let mut req = ChatRequest {
            model: "claude-opus-4.7".to_owned(),
            messages: vec![Message::User(vec![ContentPart::Text("hi".to_owned())])],
            ..ChatRequest::default()
        };
        let limits = |req: &ChatRequest, cap, thinking| {
            let b = body(req, cap, thinking);
            (
                b["max_tokens"].clone(),
                b["thinking"]["budget_tokens"].clone(),
            )
        };
        // No effort: the request's value, capped; else the cap.
        assert_eq!(limits(&req, 32_000, true), (json!(32000), Value::Null));
        req.max_tokens = Some(500);
        assert_eq!(limits(&req, 32_000, true), (json!(500), Value::Null));
        // Effort: the budget comes on top of a smaller max_tokens, within the cap.
        req.reasoning_effort = Some(ReasoningEffort::Low);
        assert_eq!(limits(&req, 32_000, true), (json!(2548), json!(2048)));
        req.reasoning_effort = Some(ReasoningEffort::High);
        assert_eq!(limits(&req, 32_000, true), (json!(16884), json!(16384)));
        assert_eq!(limits(&req, 4096, true), (json!(4096), json!(4095)));
        req.max_tokens = Some(20_000);
        assert_eq!(limits(&req, 32_000, true), (json!(20000), json!(16384)));
        // Not a thinking model: the effort is ignored.
        assert_eq!(limits(&req, 32_000, false), (json!(20000), Value::Null));
        // No room for the smallest budget.
        assert!(matches!(
            build_request(&req, &req.model, 1024, true),
            Err(Error::InvalidRequest(_))
        ));
    }

    #[test]
    fn tool_choices_results_and_replay_rules() {
        let mut req = ChatRequest {
            model: "claude-opus-4.7".to_owned(),
            messages: vec![
                Message::Assistant(AssistantMessage {
                    reasoning: vec![ReasoningBlock::Thinking {
                        text: "unsigned, from another route".to_owned(),
                        signature: None,
                    }],
                    content: vec![ContentPart::Text(String::new())],
                    tool_calls: vec![
                        ToolCall {
                            id: "a".to_owned(),
                            name: "f".to_owned(),
                            arguments: String::new(),
                        },
                        ToolCall {
                            id: "b".to_owned(),
                            name: "f".to_owned(),
                            arguments: "{\"x\":1}".to_owned(),
                        },
                    ],
                }),
                Message::Tool(ToolResult {
                    tool_call_id: "a".to_owned(),
                    content: vec![ContentPart::Text("ok".to_owned())],
                    is_error: false,
                }),
                Message::Tool(ToolResult {
                    tool_call_id: "b".to_owned(),
                    content: vec![ContentPart::Image(ImageSource::Url(
                        "data:image/jpeg;base64,/9j/4AAQ".to_owned(),
                    ))],
                    is_error: true,
                }),
            ],
            tools: vec![Tool {
                name: "f".to_owned(),
                description: None,
                parameters: String::new(),
                strict: None,
            }],
            ..ChatRequest::default()
        };
        let b = body(&req, 1000, true);
        assert_eq!(
            b["messages"],
            json!([
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "a", "name": "f", "input": {}},
                    {"type": "tool_use", "id": "b", "name": "f", "input": {"x": 1}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "a", "content": [{"type": "text", "text": "ok"}]},
                    {"type": "tool_result", "tool_use_id": "b", "is_error": true, "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}
                    ]}
                ]}
            ])
        );
        assert_eq!(
            b["tools"],
            json!([{"name": "f", "input_schema": {"type": "object", "properties": {}}}])
        );
        for (choice, expected) in [
            (ToolChoice::None, json!({"type": "none"})),
            (ToolChoice::Required, json!({"type": "any"})),
            (
                ToolChoice::Named("f".to_owned()),
                json!({"type": "tool", "name": "f"}),
            ),
        ] {
            req.tool_choice = Some(choice);
            assert_eq!(body(&req, 1000, true)["tool_choice"], expected);
        }

        let Message::Assistant(turn) = &mut req.messages[0] else {
            panic!()
        };
        turn.tool_calls[1].arguments = "{\"x\":".to_owned();
        let Err(Error::InvalidRequest(m)) = build_request(&req, &req.model, 1000, true) else {
            panic!("invalid arguments accepted");
        };
        assert!(m.contains("`b`"), "{m}");
    }

    // ---- Error classification: status and body → typed error. ----

    #[test]
    fn refusals_are_classified() {
        let overloaded =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(
            classify_error(529, None, overloaded, &Secrets::new(&[])),
            Error::UpstreamUnavailable {
                status: Some(529),
                message: "POST /anthropic/v1/messages answered 529: Overloaded".to_owned()
            }
        );
        let too_long = br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#;
        assert!(matches!(
            classify_error(400, None, too_long, &Secrets::new(&[])),
            Error::ContextOverflow(_)
        ));
        let limited = br#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#;
        assert!(matches!(
            classify_error(429, Some("12"), limited, &Secrets::new(&[])),
            Error::RateLimited {
                retry_after: Some(12),
                ..
            }
        ));
        assert!(matches!(
            classify_error(
                404,
                None,
                br#"{"type":"error","error":{"type":"not_found_error","message":"model: x"}}"#,
                &Secrets::default()
            ),
            Error::ModelNotFound(_)
        ));
        let Error::WrongRoute(m) = classify_error(
            400,
            None,
            b"model `openai.gpt-oss-120b` isn't supported on this route",
            &Secrets::default(),
        ) else {
            panic!("not a wrong route");
        };
        assert!(m.contains("/v1/chat/completions"), "{m}");
        let error = classify_error(
            401,
            None,
            b"bad token bedrock-api-key-SECRET",
            &Secrets::new(&["bedrock-api-key-SECRET"]),
        );
        assert!(matches!(error, Error::Unauthorized(_)));
        assert!(!error.message().contains("SECRET"), "{error}");
    }

    #[test]
    fn the_version_header_value() {
        assert_eq!(ANTHROPIC_VERSION, "2023-06-01");
    }

    // ---- Properties. ----

    /// Bytes that are mostly fragments of the real transcripts.
    fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
        crate::chat::testing::stream_bytes(
            &[
                TEXT_SSE,
                THINKING_SSE,
                REDACTED_SSE,
                TOOL_USE_SSE,
                ERROR_SSE,
            ],
            96,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic_and_end_with_finish_or_error(
            input in prop_oneof![stream_bytes(), prop::collection::vec(any::<u8>(), 0..512)],
            cut in any::<prop::sample::Index>(),
        ) {
            let at = cut.index(input.len() + 1);
            crate::chat::testing::ends_in_one_finish_or_an_error(event_stream, &input, at)?;
        }
    }
}
