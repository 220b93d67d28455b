//! The OpenAI Responses route, `POST {base}/responses`: request building, stream mapping and
//! error classification, with no I/O.
//!
//! GPT-5.x models (`openai.gpt-5*`) are served only here, on the `/openai/v1` base
//! ([`crate::catalog::base_url::BaseUrl::openai`]); gpt-oss models answer on `{baseUrl}/responses` too.
//! The request asks `store: false` unless configured, so Mantle keeps nothing.
//!
//! The stream is SSE events named by their data's `type`: `response.created`,
//! `response.in_progress`, then per output item `response.output_item.added`, its deltas
//! (`response.output_text.delta`, `response.reasoning_text.delta`,
//! `response.reasoning_summary_text.delta`, `response.function_call_arguments.delta`) and
//! `response.output_item.done`, and last `response.completed` (with the usage) or
//! `response.incomplete`. `response.failed` and `error` end the stream with an error.

use crate::chat::{
    AssistantMessage, ChatEvent, ChatRequest, ContentPart, EventStream, ImageSource, Message,
    StopReason, StreamMapper, ToolChoice, Usage, body_with_extra, json_f32, malformed, tokens,
    tool_schema,
};
use crate::error::{Error, Result};
use crate::model::Api;
use crate::routes::policy::{self, error_word};
use crate::routes::route::ordinal;
use crate::routes::route::{Events, Route, Target, configured_cap};
use crate::secrets::Secrets;
use crate::sse;
pub mod wire;

/// The route, as error messages name it.
pub const ROUTE: &str = "POST /responses";

/// Error messages of errors reported inside a stream start with this.
const ROUTE_STREAM: &str = "POST /responses (error event in the stream)";

/// The most tool calls one response may make; more is a protocol error (bounds memory).
const MAX_TOOL_CALLS: usize = 1024;

/// The JSON body of a streamed Responses request.
/// `model` is the id Mantle serves ([`crate::catalog::ids::resolve`]), sent as given.
///
/// - System messages, user turns and the text of earlier assistant turns become `message`
///   input items; tool calls of earlier turns become `function_call` items and tool results
///   `function_call_output` items, in the conversation's order.
/// - `max_output_tokens` is the request's `max_tokens`, capped by `max_tokens_cap`; with no
///   request value the cap itself is sent.
/// - A reasoning effort becomes `reasoning: {effort, summary: "auto"}`, so the reasoning
///   comes back as summaries.
/// - Tools are sent with `strict: false` (the Responses API defaults to strict schemas).
/// - Earlier reasoning is not replayed: with `store: false` the upstream could not resolve
///   it. Stop sequences do not exist on this route and are refused.
/// - `store` is sent as given (`false` unless configured); `extra` is merged last.
pub fn build_request(
    req: &ChatRequest,
    model: &str,
    max_tokens_cap: Option<u32>,
    store: bool,
) -> Result<String> {
    if !req.stop.is_empty() {
        return Err(Error::InvalidRequest(
            "stop sequences are not supported on the openai-responses route".to_owned(),
        ));
    }
    let input = input_items(req)?;
    let tools = req
        .tools
        .iter()
        .map(|tool| {
            Ok(wire::Tool {
                kind: "function",
                name: &tool.name,
                description: tool.description.as_deref(),
                parameters: tool_schema(tool)?,
                strict: false,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let body = wire::Request {
        model,
        input,
        tools,
        tool_choice: req.tool_choice.as_ref().map(|choice| match choice {
            ToolChoice::Auto => wire::ToolChoice::Mode("auto"),
            ToolChoice::None => wire::ToolChoice::Mode("none"),
            ToolChoice::Required => wire::ToolChoice::Mode("required"),
            ToolChoice::Named(name) => wire::ToolChoice::Named {
                kind: "function",
                name,
            },
        }),
        reasoning: req.reasoning_effort.map(|effort| wire::Reasoning {
            effort: effort.as_str(),
            summary: "auto",
        }),
        max_output_tokens: match (req.max_tokens, max_tokens_cap) {
            (Some(wanted), Some(cap)) => Some(wanted.min(cap)),
            (wanted, cap) => wanted.or(cap),
        },
        temperature: req
            .temperature
            .map(|t| json_f32("temperature", t))
            .transpose()?,
        top_p: req.top_p.map(|p| json_f32("top_p", p)).transpose()?,
        store,
        stream: true,
    };
    body_with_extra(&body, req.extra.as_deref())
}

/// The input items of the conversation, in its order: messages, and the tool calls and
/// tool results of earlier turns.
fn input_items(req: &ChatRequest) -> Result<Vec<wire::InputItem<'_>>> {
    let mut input = Vec::with_capacity(req.messages.len());
    for message in &req.messages {
        match message {
            Message::System(text) => input.push(wire::InputItem::Message {
                role: "system",
                content: vec![wire::InputContent::InputText { text }],
            }),
            Message::User(parts) => input.push(wire::InputItem::Message {
                role: "user",
                content: parts.iter().map(user_part).collect(),
            }),
            Message::Assistant(turn) => assistant_items(turn, &mut input)?,
            Message::Tool(result) => input.push(wire::InputItem::FunctionCallOutput {
                call_id: &result.tool_call_id,
                output: result
                    .content
                    .iter()
                    .map(|part| {
                        match part {
                        ContentPart::Text(text) => Ok(text.as_str()),
                        ContentPart::Image(_) => Err(Error::InvalidRequest(
                            "tool results carry text only on the openai-responses route, not images"
                                .to_owned(),
                        )),
                    }
                    })
                    .collect::<Result<String>>()?,
            }),
        }
    }
    Ok(input)
}

/// An earlier assistant turn as input items: its text as an assistant message (when there
/// is any), then its tool calls.
fn assistant_items<'a>(
    turn: &'a AssistantMessage,
    input: &mut Vec<wire::InputItem<'a>>,
) -> Result<()> {
    let content = turn
        .content
        .iter()
        .map(|part| match part {
            ContentPart::Text(text) => Ok(wire::InputContent::OutputText { text }),
            ContentPart::Image(_) => Err(Error::InvalidRequest(
                "assistant turns carry text only on the openai-responses route, not images"
                    .to_owned(),
            )),
        })
        .filter(
            |part| !matches!(part, Ok(wire::InputContent::OutputText { text }) if text.is_empty()),
        )
        .collect::<Result<Vec<_>>>()?;
    if !content.is_empty() {
        input.push(wire::InputItem::Message {
            role: "assistant",
            content,
        });
    }
    for call in &turn.tool_calls {
        input.push(wire::InputItem::FunctionCall {
            call_id: &call.id,
            name: &call.name,
            arguments: if call.arguments.trim().is_empty() {
                "{}"
            } else {
                &call.arguments
            },
        });
    }
    Ok(())
}

/// A user content part on the wire; base64 images become `data:` URLs.
fn user_part(part: &ContentPart) -> wire::InputContent<'_> {
    match part {
        ContentPart::Text(text) => wire::InputContent::InputText { text },
        ContentPart::Image(ImageSource::Url(url)) => wire::InputContent::InputImage {
            image_url: url.clone(),
        },
        ContentPart::Image(ImageSource::Base64 { media_type, data }) => {
            wire::InputContent::InputImage {
                image_url: format!("data:{media_type};base64,{data}"),
            }
        }
    }
}

/// What a failed `POST /responses` means ([`policy::classify`]).
pub fn classify_error(
    status: u16,
    retry_after_header: Option<&str>,
    body: &[u8],
    secrets: &Secrets,
) -> Error {
    Responses.classify_error(status, retry_after_header, body, secrets)
}

/// The Responses route.
#[derive(Debug, Clone, Copy)]
pub struct Responses;

impl Route for Responses {
    fn api(&self) -> Api {
        Api::OpenaiResponses
    }

    fn name(&self) -> &'static str {
        ROUTE
    }

    fn build_request(
        &self,
        request: &ChatRequest,
        target: &Target<'_>,
        _notes: &mut Vec<String>,
    ) -> Result<String> {
        build_request(request, target.id, configured_cap(target), target.store)
    }

    fn wrong_route_hint(&self) -> &'static str {
        "GPT-5.x models are served on POST /openai/v1/responses, other \
                 OpenAI-compatible models on /v1: give the model the api it is served on, \
                 \"openai-completions\" or \"openai-responses\""
    }

    fn event_stream(&self, secrets: Secrets) -> Box<dyn Events> {
        Box::new(event_stream().redacting(secrets))
    }
}

/// A stream of this route over a new response body.
pub fn event_stream() -> EventStream<Mapper> {
    EventStream::new(Mapper::default())
}

/// Maps Responses stream events to [`ChatEvent`]s.
///
/// **Completion rule.** The response is complete at `response.completed` (usage, then the
/// finish: tool calls when the response made any, else stop) or `response.incomplete`
/// (usage, then the finish its `incomplete_details.reason` names: `max_output_tokens` is
/// [`StopReason::Length`], `content_filter` [`StopReason::ContentFilter`]), so a client sees
/// the partial answer it was given, as on the other routes. `response.failed` and `error` are
/// typed errors (by their `code`); a body that ends before any of these is
/// [`Error::Truncated`].
///
/// Reasoning text (`response.reasoning_text.delta`) and reasoning summaries
/// (`response.reasoning_summary_text.delta`, summary parts separated by a blank line) are
/// both [`ChatEvent::ReasoningDelta`]. A reasoning item's `encrypted_content` (GPT-5.x) is
/// kept for the client to replay: [`ChatEvent::RedactedReasoning`] when the item gave no
/// readable text (Mantle's GPT-5.x answers with an empty summary), else
/// [`ChatEvent::ReasoningSignature`] after its text. State between events: flags and, per
/// tool call, its output index and whether its arguments came as deltas (no text is ever kept).
#[derive(Debug, Default)]
pub struct Mapper {
    /// [`ChatEvent::MessageStart`] was emitted.
    started: bool,
    /// [`ChatEvent::Finish`] was emitted.
    done: bool,
    /// Per tool call begun, by its position in the response: its output index, and whether
    /// arguments were emitted for it.
    tool_calls: Vec<(u32, bool)>,
    /// Output indexes of the message and reasoning items whose text came as deltas (at most
    /// [`MAX_TOOL_CALLS`]; past that, every item counts as streamed).
    streamed_items: Vec<u32>,
}

impl StreamMapper for Mapper {
    fn on_event(&mut self, event: &sse::Event, out: &mut Vec<ChatEvent>) -> Result<()> {
        let data = event.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let parsed: wire::Event =
            serde_json::from_str(data).map_err(|e| malformed(ROUTE, &e, data))?;
        let kind = parsed.kind.as_deref().unwrap_or(event.event.as_str());
        if let Some(error) = failure(kind, &parsed, data) {
            return Err(error);
        }
        if !self.started {
            self.started = true;
            let (id, model) = parsed
                .response
                .as_ref()
                .map(|r| (r.id.clone(), r.model.clone()))
                .unwrap_or_default();
            out.push(ChatEvent::MessageStart {
                id: id.unwrap_or_default(),
                model: model.unwrap_or_default(),
            });
        }
        match kind {
            "response.output_text.delta"
            | "response.refusal.delta"
            | "response.reasoning_text.delta"
            | "response.reasoning_summary_text.delta" => {
                self.streamed(parsed.output_index.unwrap_or(0));
                if let Some(delta) = parsed.delta.filter(|d| !d.is_empty()) {
                    out.push(if kind.starts_with("response.reasoning") {
                        ChatEvent::ReasoningDelta(delta)
                    } else {
                        ChatEvent::TextDelta(delta)
                    });
                }
            }
            "response.reasoning_summary_part.added" if parsed.summary_index.unwrap_or(0) > 0 => {
                out.push(ChatEvent::ReasoningDelta("\n\n".to_owned()));
            }
            "response.output_item.added" => {
                if let Some(item) = parsed.item
                    && item.kind.as_deref() == Some("function_call")
                {
                    let output_index = parsed.output_index.unwrap_or(0);
                    self.begin_call(output_index, item, out)?;
                }
            }
            "response.function_call_arguments.delta" => {
                let output_index = parsed.output_index.unwrap_or(0);
                if let Some(delta) = parsed.delta.filter(|d| !d.is_empty()) {
                    self.arguments(output_index, delta, out)?;
                }
            }
            "response.function_call_arguments.done" => {
                let output_index = parsed.output_index.unwrap_or(0);
                if let Some(arguments) = parsed.arguments.filter(|a| !a.is_empty())
                    && self.needs_arguments(output_index)
                {
                    self.arguments(output_index, arguments, out)?;
                }
            }
            "response.output_item.done" => {
                if let Some(item) = parsed.item {
                    self.item_done(parsed.output_index.unwrap_or(0), item, out)?;
                }
            }
            "response.completed" | "response.incomplete" => {
                self.finish(kind == "response.completed", parsed.response, out);
            }
            _ => {}
        }
        Ok(())
    }

    fn on_end(&mut self, _out: &mut Vec<ChatEvent>) -> Result<()> {
        if self.done {
            Ok(())
        } else {
            Err(Error::Truncated(
                "the stream ended before response.completed".to_owned(),
            ))
        }
    }

    fn finished(&self) -> bool {
        self.done
    }
}

/// The text of a whole message or reasoning item whose text came with no delta: a message's
/// `output_text` (and `refusal`) parts as text; a reasoning item's `reasoning_text` parts
/// (gpt-oss) and `summary_text` parts, a blank line between two, as reasoning. An item with
/// nothing readable (GPT-5.x's encrypted reasoning, whose summary is empty) gives nothing;
/// whether it gave text is returned.
fn whole_item(item: wire::Item, out: &mut Vec<ChatEvent>) -> bool {
    let reasoning = item.kind.as_deref() == Some("reasoning");
    let parts = item
        .content
        .into_iter()
        .flatten()
        .chain(item.summary.into_iter().flatten());
    let mut first = true;
    for part in parts {
        let text = match part.kind.as_deref() {
            Some("output_text" | "reasoning_text" | "summary_text") => part.text,
            Some("refusal") => part.refusal,
            _ => None,
        };
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            continue;
        };
        if reasoning {
            if !first {
                out.push(ChatEvent::ReasoningDelta("\n\n".to_owned()));
            }
            out.push(ChatEvent::ReasoningDelta(text));
        } else {
            out.push(ChatEvent::TextDelta(text));
        }
        first = false;
    }
    !first
}

impl Mapper {
    /// An output item complete: reasoning (readable, encrypted or both), a message not
    /// streamed, or a function call (begun here when it came whole, its arguments when none
    /// were streamed).
    fn item_done(
        &mut self,
        output_index: u32,
        item: wire::Item,
        out: &mut Vec<ChatEvent>,
    ) -> Result<()> {
        match item.kind.as_deref() {
            Some("reasoning") => {
                let encrypted = item.encrypted_content.clone().filter(|e| !e.is_empty());
                let readable = self.was_streamed(output_index) || whole_item(item, out);
                // Encrypted reasoning is kept for the client to replay: beside readable
                // text it is the block's signature, alone (GPT-5.x: an empty summary)
                // the block itself.
                if let Some(data) = encrypted {
                    out.push(if readable {
                        ChatEvent::ReasoningSignature(data)
                    } else {
                        ChatEvent::RedactedReasoning(data)
                    });
                }
            }
            Some("message") if !self.was_streamed(output_index) => {
                whole_item(item, out);
            }
            // A call that arrives whole: begun here, with its arguments.
            Some("function_call") if !self.tool_calls.iter().any(|&(i, _)| i == output_index) => {
                self.begin_call(output_index, item, out)?;
            }
            Some("function_call") => {
                if let Some(arguments) = item.arguments.filter(|a| !a.is_empty())
                    && self.needs_arguments(output_index)
                {
                    self.arguments(output_index, arguments, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `response.completed` (`completed`) or `response.incomplete`: the usage, then the
    /// finish with its reason.
    fn finish(
        &mut self,
        completed: bool,
        response: Option<wire::Response>,
        out: &mut Vec<ChatEvent>,
    ) {
        if let Some(usage) = response.as_ref().and_then(|r| r.usage.as_ref()) {
            out.push(ChatEvent::Usage(unified_usage(usage)));
        }
        let reason = if completed {
            if self.tool_calls.is_empty() {
                StopReason::Stop
            } else {
                StopReason::ToolCalls
            }
        } else {
            let why = response
                .and_then(|r| r.incomplete_details)
                .and_then(|d| d.reason)
                .unwrap_or_default();
            match why.as_str() {
                "max_output_tokens" => StopReason::Length,
                "content_filter" => StopReason::ContentFilter,
                _ => StopReason::Other(why),
            }
        };
        out.push(ChatEvent::Finish(reason));
        self.done = true;
    }

    /// Notes that the item at `output_index` streams its text as deltas.
    fn streamed(&mut self, output_index: u32) {
        if !self.streamed_items.contains(&output_index)
            && self.streamed_items.len() < MAX_TOOL_CALLS
        {
            self.streamed_items.push(output_index);
        }
    }

    /// Whether the item at `output_index` gave its text as deltas (or too many items did to
    /// tell).
    fn was_streamed(&self, output_index: u32) -> bool {
        self.streamed_items.len() >= MAX_TOOL_CALLS || self.streamed_items.contains(&output_index)
    }

    /// Emits the start of the tool call at `output_index`.
    fn begin_call(
        &mut self,
        output_index: u32,
        item: wire::Item,
        out: &mut Vec<ChatEvent>,
    ) -> Result<()> {
        if self.tool_calls.iter().any(|&(i, _)| i == output_index) {
            return Err(Error::Protocol(format!(
                "{ROUTE} began output item {output_index} twice"
            )));
        }
        let Some(name) = item.name.filter(|n| !n.is_empty()) else {
            return Err(Error::Protocol(format!(
                "{ROUTE} began function call {output_index} without a name"
            )));
        };
        if self.tool_calls.len() >= MAX_TOOL_CALLS {
            return Err(Error::Protocol(format!(
                "{ROUTE} began more than {MAX_TOOL_CALLS} tool calls"
            )));
        }
        self.tool_calls.push((output_index, false));
        out.push(ChatEvent::ToolCallStart {
            index: ordinal(self.tool_calls.len() - 1),
            id: item
                .call_id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{output_index}")),
            name,
        });
        if let Some(arguments) = item.arguments.filter(|a| !a.is_empty()) {
            self.arguments(output_index, arguments, out)?;
        }
        Ok(())
    }

    /// Emits a piece of the arguments of the tool call at `output_index`.
    fn arguments(
        &mut self,
        output_index: u32,
        arguments: String,
        out: &mut Vec<ChatEvent>,
    ) -> Result<()> {
        let Some(position) = self.tool_calls.iter().position(|&(i, _)| i == output_index) else {
            return Err(Error::Protocol(format!(
                "{ROUTE} sent arguments of output item {output_index} before the function call began"
            )));
        };
        self.tool_calls[position].1 = true;
        out.push(ChatEvent::ToolCallArguments {
            index: ordinal(position),
            arguments,
        });
        Ok(())
    }

    /// Whether the tool call at `output_index` got no arguments yet (so a `.done` event's
    /// whole arguments are news).
    fn needs_arguments(&self, output_index: u32) -> bool {
        self.tool_calls
            .iter()
            .any(|&(i, streamed)| i == output_index && !streamed)
    }
}

/// The unified usage: input tokens outside the cache, cache reads, reasoning tokens.
fn unified_usage(usage: &wire::ResponseUsage) -> Usage {
    let cached = usage
        .input_tokens_details
        .as_ref()
        .and_then(|d| d.cached_tokens)
        .map(tokens);
    Usage {
        input_tokens: usage
            .input_tokens
            .map_or(0, tokens)
            .saturating_sub(cached.unwrap_or(0)),
        output_tokens: usage.output_tokens.map_or(0, tokens),
        cache_read_tokens: cached,
        cache_write_tokens: None,
        reasoning_tokens: usage
            .output_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
            .map(tokens),
        cost: None,
    }
}

/// The error an `error` or `response.failed` event reports; `None` for any other event.
fn failure(kind: &str, parsed: &wire::Event, data: &str) -> Option<Error> {
    match kind {
        "error" => {
            let code = parsed
                .code
                .as_ref()
                .or_else(|| parsed.error.as_ref().and_then(|e| e.get("code")))
                .or_else(|| parsed.error.as_ref().and_then(|e| e.get("type")))
                .map(error_word)
                .unwrap_or_default();
            Some(stream_error(&code, data))
        }
        "response.failed" => {
            let error = parsed.response.as_ref().and_then(|r| r.error.as_ref());
            let code = error
                .and_then(|e| e.get("code"))
                .map(error_word)
                .unwrap_or_default();
            // The error object alone, so the message quoted is the upstream's words.
            let body = error.map_or_else(|| data.to_owned(), |e| format!("{{\"error\":{e}}}"));
            Some(stream_error(&code, &body))
        }
        _ => None,
    }
}

/// The typed error of an `error` or `response.failed` event with this `code`.
fn stream_error(code: &str, data: &str) -> Error {
    let status = policy::status_of_words(code);
    policy::classify(
        ROUTE_STREAM,
        Responses.wrong_route_hint(),
        status,
        None,
        data.as_bytes(),
        &Secrets::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::testing::{
        Outcome, conversation, run, same_however_split, truncated_when_cut_before,
    };
    use proptest::prelude::*;

    // ---- Stage 1: raw SSE transcripts, in the Responses API's event format. ----

    /// GPT-5.x: a reasoning item with two summary parts, then a message whose text is cut
    /// inside UTF-8 sequences when split, then `response.completed` with cached and
    /// reasoning tokens.
    const TEXT_SSE: &str = concat!(
        "event: response.created\n",
        r#"data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_68a1","object":"response","created_at":1763000000,"status":"in_progress","model":"openai.gpt-5.4","output":[],"store":false,"usage":null}}"#,
        "\n\n",
        "event: response.in_progress\n",
        r#"data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_68a1","object":"response","created_at":1763000000,"status":"in_progress","model":"openai.gpt-5.4","output":[],"usage":null}}"#,
        "\n\n",
        "event: response.output_item.added\n",
        r#"data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}}"#,
        "\n\n",
        "event: response.reasoning_summary_part.added\n",
        r#"data: {"type":"response.reasoning_summary_part.added","sequence_number":3,"item_id":"rs_1","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}}"#,
        "\n\n",
        "event: response.reasoning_summary_text.delta\n",
        r#"data: {"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"**Greeting**"}"#,
        "\n\n",
        "event: response.reasoning_summary_part.added\n",
        r#"data: {"type":"response.reasoning_summary_part.added","sequence_number":5,"item_id":"rs_1","output_index":0,"summary_index":1,"part":{"type":"summary_text","text":""}}"#,
        "\n\n",
        "event: response.reasoning_summary_text.delta\n",
        r#"data: {"type":"response.reasoning_summary_text.delta","sequence_number":6,"item_id":"rs_1","output_index":0,"summary_index":1,"delta":"Reply in French."}"#,
        "\n\n",
        "event: response.output_item.done\n",
        r#"data: {"type":"response.output_item.done","sequence_number":7,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"**Greeting**"},{"type":"summary_text","text":"Reply in French."}]}}"#,
        "\n\n",
        "event: response.output_item.added\n",
        r#"data: {"type":"response.output_item.added","sequence_number":8,"output_index":1,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}}"#,
        "\n\n",
        "event: response.content_part.added\n",
        r#"data: {"type":"response.content_part.added","sequence_number":9,"item_id":"msg_1","output_index":1,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}"#,
        "\n\n",
        "event: response.output_text.delta\n",
        r#"data: {"type":"response.output_text.delta","sequence_number":10,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Bonjour","logprobs":[]}"#,
        "\n\n",
        "event: response.output_text.delta\n",
        r#"data: {"type":"response.output_text.delta","sequence_number":11,"item_id":"msg_1","output_index":1,"content_index":0,"delta":" — ça va ? 🙂","logprobs":[]}"#,
        "\n\n",
        "event: response.output_text.done\n",
        r#"data: {"type":"response.output_text.done","sequence_number":12,"item_id":"msg_1","output_index":1,"content_index":0,"text":"Bonjour — ça va ? 🙂","logprobs":[]}"#,
        "\n\n",
        "event: response.content_part.done\n",
        r#"data: {"type":"response.content_part.done","sequence_number":13,"item_id":"msg_1","output_index":1,"content_index":0,"part":{"type":"output_text","text":"Bonjour — ça va ? 🙂","annotations":[]}}"#,
        "\n\n",
        "event: response.output_item.done\n",
        r#"data: {"type":"response.output_item.done","sequence_number":14,"output_index":1,"item":{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Bonjour — ça va ? 🙂","annotations":[]}]}}"#,
        "\n\n",
        "event: response.completed\n",
        r#"data: {"type":"response.completed","sequence_number":15,"response":{"id":"resp_68a1","object":"response","created_at":1763000000,"status":"completed","model":"openai.gpt-5.4","output":[],"usage":{"input_tokens":30,"input_tokens_details":{"cached_tokens":8},"output_tokens":40,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":70}}}"#,
        "\n\n",
    );

    /// gpt-oss: reasoning text (not summaries), then two function calls whose arguments
    /// arrive in pieces.
    const TOOL_CALLS_SSE: &str = concat!(
        r#"data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_77","object":"response","status":"in_progress","model":"openai.gpt-oss-120b","output":[]}}"#,
        "\n\n",
        r#"data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"rs_2","type":"reasoning","summary":[],"content":[]}}"#,
        "\n\n",
        r#"data: {"type":"response.reasoning_text.delta","sequence_number":2,"item_id":"rs_2","output_index":0,"content_index":0,"delta":"Need the weather."}"#,
        "\n\n",
        r#"data: {"type":"response.reasoning_text.done","sequence_number":3,"item_id":"rs_2","output_index":0,"content_index":0,"text":"Need the weather."}"#,
        "\n\n",
        r#"data: {"type":"response.output_item.added","sequence_number":4,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_a1","name":"get_weather"}}"#,
        "\n\n",
        r#"data: {"type":"response.function_call_arguments.delta","sequence_number":5,"item_id":"fc_1","output_index":1,"delta":"{\"city\":"}"#,
        "\n\n",
        r#"data: {"type":"response.function_call_arguments.delta","sequence_number":6,"item_id":"fc_1","output_index":1,"delta":"\"Paris\"}"}"#,
        "\n\n",
        r#"data: {"type":"response.function_call_arguments.done","sequence_number":7,"item_id":"fc_1","output_index":1,"arguments":"{\"city\":\"Paris\"}"}"#,
        "\n\n",
        r#"data: {"type":"response.output_item.done","sequence_number":8,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}","call_id":"call_a1","name":"get_weather"}}"#,
        "\n\n",
        r#"data: {"type":"response.output_item.added","sequence_number":9,"output_index":2,"item":{"id":"fc_2","type":"function_call","status":"in_progress","arguments":"","call_id":"call_b2","name":"get_time"}}"#,
        "\n\n",
        r#"data: {"type":"response.function_call_arguments.done","sequence_number":10,"item_id":"fc_2","output_index":2,"arguments":"{}"}"#,
        "\n\n",
        r#"data: {"type":"response.output_item.done","sequence_number":11,"output_index":2,"item":{"id":"fc_2","type":"function_call","status":"completed","arguments":"{}","call_id":"call_b2","name":"get_time"}}"#,
        "\n\n",
        r#"data: {"type":"response.completed","sequence_number":12,"response":{"id":"resp_77","object":"response","status":"completed","model":"openai.gpt-oss-120b","usage":{"input_tokens":50,"input_tokens_details":{"cached_tokens":0},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":5},"total_tokens":70}}}"#,
        "\n\n",
    );

    /// The output limit reached: `response.incomplete`.
    const INCOMPLETE_SSE: &str = concat!(
        r#"data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_9","status":"in_progress","model":"openai.gpt-5.4"}}"#,
        "\n\n",
        r#"data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Once upon"}"#,
        "\n\n",
        r#"data: {"type":"response.incomplete","sequence_number":2,"response":{"id":"resp_9","status":"incomplete","model":"openai.gpt-5.4","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":5,"output_tokens":16,"total_tokens":21}}}"#,
        "\n\n",
    );

    fn usage(input: u32, output: u32, read: Option<u32>, reasoning: Option<u32>) -> ChatEvent {
        ChatEvent::Usage(Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_write_tokens: None,
            reasoning_tokens: reasoning,
            cost: None,
        })
    }

    fn text(s: &str) -> ChatEvent {
        ChatEvent::TextDelta(s.to_owned())
    }

    fn reasoning(s: &str) -> ChatEvent {
        ChatEvent::ReasoningDelta(s.to_owned())
    }

    // ---- Stage 2: the events they give. ----

    #[test]
    fn text_with_reasoning_summaries_maps_however_split() {
        let out = same_however_split(event_stream, TEXT_SSE.as_bytes());
        assert_eq!(
            out,
            Outcome {
                events: vec![
                    ChatEvent::MessageStart {
                        id: "resp_68a1".to_owned(),
                        model: "openai.gpt-5.4".to_owned(),
                    },
                    reasoning("**Greeting**"),
                    reasoning("\n\n"),
                    reasoning("Reply in French."),
                    text("Bonjour"),
                    text(" — ça va ? 🙂"),
                    usage(22, 40, Some(8), Some(12)),
                    ChatEvent::Finish(StopReason::Stop),
                ],
                error: None,
            }
        );
    }

    #[test]
    fn function_calls_stream_their_arguments() {
        let out = same_however_split(event_stream, TOOL_CALLS_SSE.as_bytes());
        assert_eq!(
            out.events,
            vec![
                ChatEvent::MessageStart {
                    id: "resp_77".to_owned(),
                    model: "openai.gpt-oss-120b".to_owned(),
                },
                reasoning("Need the weather."),
                ChatEvent::ToolCallStart {
                    index: 0,
                    id: "call_a1".to_owned(),
                    name: "get_weather".to_owned(),
                },
                ChatEvent::ToolCallArguments {
                    index: 0,
                    arguments: r#"{"city":"#.to_owned(),
                },
                ChatEvent::ToolCallArguments {
                    index: 0,
                    arguments: r#""Paris"}"#.to_owned(),
                },
                ChatEvent::ToolCallStart {
                    index: 1,
                    id: "call_b2".to_owned(),
                    name: "get_time".to_owned(),
                },
                // No deltas came: the .done event's arguments are passed on, once.
                ChatEvent::ToolCallArguments {
                    index: 1,
                    arguments: "{}".to_owned(),
                },
                usage(50, 20, Some(0), Some(5)),
                ChatEvent::Finish(StopReason::ToolCalls),
            ]
        );
        assert_eq!(out.error, None);
    }

    #[test]
    fn incomplete_keeps_the_partial_answer_and_says_length() {
        let out = run(event_stream(), &[INCOMPLETE_SSE.as_bytes()]);
        assert_eq!(out.error, None);
        assert_eq!(
            out.events[1..],
            [
                text("Once upon"),
                usage(5, 16, None, None),
                ChatEvent::Finish(StopReason::Length)
            ]
        );
        let filtered = INCOMPLETE_SSE.replace("max_output_tokens", "content_filter");
        let out = run(event_stream(), &[filtered.as_bytes()]);
        assert_eq!(
            out.events.last(),
            Some(&ChatEvent::Finish(StopReason::ContentFilter))
        );
    }

    #[test]
    fn a_body_cut_before_response_completed_is_truncated() {
        let end = TEXT_SSE.rfind("event: response.completed").unwrap();
        truncated_when_cut_before(event_stream, TEXT_SSE.as_bytes(), end + 30);
    }

    #[test]
    fn failures_and_error_events_are_typed_errors() {
        let failed = concat!(
            r#"data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress"}}"#,
            "\n\n",
            r#"data: {"type":"response.failed","sequence_number":1,"response":{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"The model failed to generate a response."}}}"#,
            "\n\n",
        );
        let out = run(event_stream(), &[failed.as_bytes()]);
        match out.error {
            Some(Error::UpstreamUnavailable { status, message }) => {
                assert_eq!(status, Some(500));
                assert!(
                    message.contains("The model failed to generate a response."),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        let limited = r#"data: {"type":"error","sequence_number":0,"code":"rate_limit_exceeded","message":"Too many tokens per minute","param":null}"#;
        let out = run(event_stream(), &[limited.as_bytes(), b"\n\n"]);
        assert!(
            matches!(&out.error, Some(Error::RateLimited { message, .. }) if message.contains("Too many tokens per minute")),
            "{out:?}"
        );
        let overflow = r#"data: {"type":"error","sequence_number":0,"code":"context_length_exceeded","message":"Your input exceeds the context window of this model.","param":"input"}"#;
        let out = run(event_stream(), &[overflow.as_bytes(), b"\n\n"]);
        assert!(
            matches!(out.error, Some(Error::ContextOverflow(_))),
            "{out:?}"
        );
        let nested = r#"event: error
data: {"type":"error","sequence_number":3,"error":{"type":"too_many_requests","code":"rate_limit_exceeded","message":"Slow down"}}"#;
        let out = run(event_stream(), &[nested.as_bytes(), b"\n\n"]);
        assert!(
            matches!(&out.error, Some(Error::RateLimited { message, .. }) if message.ends_with("Slow down")),
            "{out:?}"
        );
    }

    #[test]
    fn arguments_before_their_call_are_a_protocol_error() {
        let bad = r#"data: {"type":"response.function_call_arguments.delta","sequence_number":0,"item_id":"fc_1","output_index":3,"delta":"{}"}"#;
        let out = run(event_stream(), &[bad.as_bytes(), b"\n\n"]);
        assert!(matches!(out.error, Some(Error::Protocol(_))), "{out:?}");
        let out = run(event_stream(), &[b"data: {not json}\n\n"]);
        assert!(
            matches!(&out.error, Some(Error::Protocol(m)) if m.contains("{not json}")),
            "{out:?}"
        );
    }

    // ---- Requests ----

    #[test]
    fn the_request_is_the_conversation_as_input_items_with_store_false() {
        let mut req = conversation("openai.gpt-5.4");
        req.stop.clear();
        req.extra = None;
        let body = build_request(&req, &req.model, Some(32_000), false).unwrap();
        assert_eq!(
            body,
            concat!(
                r#"{"model":"openai.gpt-5.4","input":["#,
                r#"{"type":"message","role":"system","content":[{"type":"input_text","text":"You are terse."}]},"#,
                r#"{"type":"message","role":"system","content":[{"type":"input_text","text":"Answer in English."}]},"#,
                r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"What is in this image?"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="}]},"#,
                r#"{"type":"message","role":"assistant","content":[{"type":"output_text","text":"A cat. Checking the weather."}]},"#,
                r#"{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},"#,
                r#"{"type":"function_call_output","call_id":"call_1","output":"18°C, sunny"},"#,
                r#"{"type":"message","role":"user","content":[{"type":"input_image","image_url":"https://example.com/cat.png"},{"type":"input_text","text":"And this one?"}]}],"#,
                r#""tools":[{"type":"function","name":"get_weather","description":"Current weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":false}],"#,
                r#""tool_choice":"auto","reasoning":{"effort":"high","summary":"auto"},"max_output_tokens":32000,"temperature":0.7,"store":false,"stream":true}"#,
            )
        );
        let stored = build_request(&req, &req.model, None, true).unwrap();
        assert!(stored.contains(r#""max_output_tokens":50000"#), "{stored}");
        assert!(stored.contains(r#""store":true"#), "{stored}");
        req.tool_choice = Some(ToolChoice::Named("get_weather".to_owned()));
        let named = build_request(&req, &req.model, None, false).unwrap();
        assert!(
            named.contains(r#""tool_choice":{"type":"function","name":"get_weather"}"#),
            "{named}"
        );
    }

    #[test]
    fn stop_sequences_are_refused_rather_than_dropped() {
        let e = build_request(
            &conversation("openai.gpt-5.4"),
            &conversation("openai.gpt-5.4").model,
            None,
            false,
        )
        .unwrap_err();
        assert!(matches!(e, Error::InvalidRequest(m) if m.contains("stop")));
    }

    #[test]
    fn wrong_route_answers_say_where_the_model_is_served() {
        let body = br#"{"error":{"code":"validation_error","message":"model `openai.gpt-oss-120b` isn't supported on this route","param":null,"type":"invalid_request_error"}}"#;
        let e = classify_error(400, None, body, &Secrets::default());
        assert!(
            matches!(&e, Error::WrongRoute(m) if m.contains("/openai/v1/responses") && m.contains("openai-completions")),
            "{e:?}"
        );
        let e = classify_error(429, Some("7"), b"{}", &Secrets::default());
        assert!(matches!(e, Error::RateLimited { .. }), "{e:?}");
    }

    /// The captured gpt-oss answer of `/v1/responses` (RESP-1), its items and usage as
    /// Mantle sent them, given as the stream's `output_item.done` events (each item's bytes
    /// as captured) and `response.completed`.
    fn captured_gpt_oss_stream() -> String {
        let text = include_str!("../../fixtures/mantle/responses-gpt-oss-120b.response.json");
        #[derive(serde::Deserialize)]
        struct Captured<'a> {
            #[serde(borrow)]
            output: Vec<&'a serde_json::value::RawValue>,
        }
        let captured: Captured<'_> = serde_json::from_str(text).unwrap();
        let mut sse = String::new();
        for (i, item) in captured.output.iter().enumerate() {
            sse.push_str(&format!(
                "event: response.output_item.done\ndata: {{\"type\":\"response.output_item.done\",\"output_index\":{i},\"item\":{}}}\n\n",
                item.get()
            ));
        }
        sse.push_str(&format!(
            "event: response.completed\ndata: {{\"type\":\"response.completed\",\"response\":{}}}\n\n",
            text.trim()
        ));
        sse
    }

    #[test]
    fn captured_gpt_oss_reasoning_text_and_usage_survive() {
        let out = same_however_split(event_stream, captured_gpt_oss_stream().as_bytes());
        assert_eq!(out.error, None);
        assert_eq!(
            out.events[0],
            ChatEvent::MessageStart {
                id: String::new(),
                model: String::new(),
            }
        );
        assert_eq!(
            out.events[1..],
            [
                ChatEvent::ReasoningDelta("We need to answer succinctly: define Amazon Bedrock in one sentence. Should mention it's a fully managed service that provides foundation model APIs from various providers, for generative AI. One sentence.".into()),
                ChatEvent::TextDelta("Amazon Bedrock is a fully managed AWS service that gives developers on\u{2011}demand access via simple APIs to a curated portfolio of high\u{2011}performing foundation models (from AWS and leading AI startups) for building, customizing, and scaling generative AI applications without managing underlying infrastructure.".into()),
                ChatEvent::Usage(Usage {
                    input_tokens: 74,
                    output_tokens: 104,
                    cache_read_tokens: Some(0),
                    cache_write_tokens: None,
                    reasoning_tokens: Some(0),
                    cost: None,
                }),
                ChatEvent::Finish(StopReason::Stop),
            ]
        );
    }

    /// GPT-5.x's reasoning as FACTS describes it (no capture of the stream): an item with
    /// encrypted content and an empty summary, `reasoning_tokens` above zero.
    const ENCRYPTED_REASONING_SSE: &str = concat!(
        "event: response.created\n",
        r#"data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_hwo3zxb5ls7m5ztdhnntfqn6ovgnl7sak2qlz2we4sjwosmoowyq","model":"openai.gpt-5.5","output":[],"usage":null}}"#,
        "\n\n",
        "event: response.output_item.added\n",
        r#"data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"rs_1","type":"reasoning","encrypted_content":"gAAAAABpZ2VuY3J5cHRlZA==","summary":[]}}"#,
        "\n\n",
        "event: response.output_item.done\n",
        r#"data: {"type":"response.output_item.done","sequence_number":2,"output_index":0,"item":{"id":"rs_1","type":"reasoning","encrypted_content":"gAAAAABpZ2VuY3J5cHRlZA==","summary":[]}}"#,
        "\n\n",
        "event: response.output_text.delta\n",
        r#"data: {"type":"response.output_text.delta","sequence_number":3,"output_index":1,"content_index":0,"delta":"Paris."}"#,
        "\n\n",
        "event: response.output_item.done\n",
        r#"data: {"type":"response.output_item.done","sequence_number":4,"output_index":1,"item":{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"Paris."}],"status":"completed"}}"#,
        "\n\n",
        "event: response.completed\n",
        r#"data: {"type":"response.completed","sequence_number":5,"response":{"id":"resp_hwo3zxb5ls7m5ztdhnntfqn6ovgnl7sak2qlz2we4sjwosmoowyq","model":"openai.gpt-5.5","status":"completed","usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":0},"output_tokens":70,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":82}}}"#,
        "\n\n",
    );

    #[test]
    fn encrypted_reasoning_with_an_empty_summary_is_kept_whole_for_replay() {
        let out = same_however_split(event_stream, ENCRYPTED_REASONING_SSE.as_bytes());
        assert_eq!(out.error, None);
        assert_eq!(
            out.events[1..],
            [
                ChatEvent::RedactedReasoning("gAAAAABpZ2VuY3J5cHRlZA==".into()),
                ChatEvent::TextDelta("Paris.".into()),
                ChatEvent::Usage(Usage {
                    input_tokens: 12,
                    output_tokens: 70,
                    cache_read_tokens: Some(0),
                    cache_write_tokens: None,
                    reasoning_tokens: Some(64),
                    cost: None,
                }),
                ChatEvent::Finish(StopReason::Stop),
            ],
            "the text once, though the message item also carries it whole"
        );
    }

    #[test]
    fn encrypted_reasoning_beside_a_summary_is_its_signature() {
        let sse = concat!(
            "event: response.reasoning_summary_text.delta\n",
            r#"data: {"type":"response.reasoning_summary_text.delta","output_index":0,"summary_index":0,"delta":"**Plan**"}"#,
            "\n\n",
            "event: response.output_item.done\n",
            r#"data: {"type":"response.output_item.done","output_index":0,"item":{"id":"rs_1","type":"reasoning","encrypted_content":"gAAAAABpc2lnbmVk","summary":[{"type":"summary_text","text":"**Plan**"}]}}"#,
            "\n\n",
            "event: response.completed\n",
            r#"data: {"type":"response.completed","response":{"usage":{"input_tokens":5,"output_tokens":6}}}"#,
            "\n\n",
        );
        let out = same_however_split(event_stream, sse.as_bytes());
        assert_eq!(
            out.events[1..3],
            [
                ChatEvent::ReasoningDelta("**Plan**".into()),
                ChatEvent::ReasoningSignature("gAAAAABpc2lnbmVk".into()),
            ]
        );
        assert_eq!(out.events.len(), 5, "{:?}", out.events);
    }

    #[test]
    fn a_function_call_that_arrives_whole_is_one_call_with_its_arguments_once() {
        let sse = concat!(
            "event: response.output_item.done\n",
            r#"data: {"type":"response.output_item.done","output_index":0,"item":{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"}}"#,
            "\n\n",
            "event: response.completed\n",
            r#"data: {"type":"response.completed","response":{"usage":{"input_tokens":5,"output_tokens":6}}}"#,
            "\n\n",
        );
        let out = same_however_split(event_stream, sse.as_bytes());
        assert_eq!(
            out.events[1..3],
            [
                ChatEvent::ToolCallStart {
                    index: 0,
                    id: "call_1".into(),
                    name: "get_weather".into(),
                },
                ChatEvent::ToolCallArguments {
                    index: 0,
                    arguments: r#"{"city":"Paris"}"#.into(),
                },
            ]
        );
        assert_eq!(out.events[4], ChatEvent::Finish(StopReason::ToolCalls));
        assert_eq!(out.events.len(), 5, "{:?}", out.events);
    }

    #[test]
    fn mantles_context_overflow_on_the_responses_route_is_typed() {
        let body = br#"{"error":{"code":"validation_error","message":"prompt tokens (400007) exceed model maximum (278528) for openai.gpt-5.5","param":null,"type":"invalid_request_error"}}"#;
        let e = classify_error(400, None, body, &Secrets::default());
        assert!(
            matches!(&e, Error::ContextOverflow(m) if m.contains("400007")),
            "{e:?}"
        );
    }

    // ---- Properties. ----

    /// A stream error, as the Responses route sends one.
    const ERROR_SSE: &str = concat!(
        "event: error\n",
        r#"data: {"type":"error","sequence_number":0,"code":"rate_limit_exceeded","message":"Too many tokens per minute","param":null}"#,
        "\n\n",
    );

    /// Bytes that are mostly fragments of the real transcripts.
    fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
        crate::chat::testing::stream_bytes(
            &[
                TEXT_SSE,
                TOOL_CALLS_SSE,
                INCOMPLETE_SSE,
                ENCRYPTED_REASONING_SSE,
                ERROR_SSE,
            ],
            64,
        )
    }

    /// A whole transcript, real or captured.
    fn transcript() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(TEXT_SSE.to_owned()),
            Just(TOOL_CALLS_SSE.to_owned()),
            Just(INCOMPLETE_SSE.to_owned()),
            Just(ENCRYPTED_REASONING_SSE.to_owned()),
            Just(captured_gpt_oss_stream()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_split_of_a_transcript_gives_the_same_events(
            sse in transcript(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let input = sse.as_bytes();
            let whole = run(event_stream(), &[input]);
            prop_assert!(whole.error.is_none(), "{:?}", whole.error);
            prop_assert!(matches!(whole.events.last(), Some(ChatEvent::Finish(_))));
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
            at.sort_unstable();
            let mut pieces = Vec::new();
            let mut from = 0;
            for cut in at {
                pieces.push(&input[from..cut]);
                from = cut;
            }
            pieces.push(&input[from..]);
            prop_assert_eq!(run(event_stream(), &pieces), whole);
        }

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
