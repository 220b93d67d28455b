//! The OpenAI chat completions route, `POST {baseUrl}/chat/completions`: request building,
//! stream mapping and error classification, with no I/O.
//!
//! The stream is SSE `data: {chunk}` events ending with `data: [DONE]`. The chunk with
//! `finish_reason` is followed by a usage-only chunk (`choices: []`, because the request asks
//! `stream_options.include_usage`), then `[DONE]`. The mapper holds back only the finish
//! marker until the usage arrives, so [`ChatEvent::Usage`] precedes [`ChatEvent::Finish`].

use crate::chat::{
    ChatEvent, ChatRequest, ContentPart, EventStream, ImageSource, Message, ReasoningBlock,
    ResponseFormat, StopReason, StreamMapper, ToolChoice, Usage, body_with_extra, json_f32,
    malformed, raw_object, tokens, tool_schema,
};
use crate::error::{Error, Result};
use crate::model::Api;
use crate::routes::policy;
use crate::routes::route::ordinal;
use crate::routes::route::{Events, Route, Target, configured_cap};
use crate::secrets::Secrets;
use crate::sse;
pub mod wire;

/// The route, as error messages name it.
pub const ROUTE: &str = "POST /v1/chat/completions";

/// Error messages of errors reported inside a stream start with this.
const ROUTE_STREAM: &str = "POST /v1/chat/completions (error event in the stream)";

/// The most tool calls one response may make; more is a protocol error (bounds memory).
const MAX_TOOL_CALLS: usize = 1024;

/// The JSON body of a streamed chat completion.
/// `model` is the id Mantle serves ([`crate::catalog::ids::resolve`]), sent as given.
///
/// `max_tokens` is the request's, capped by `max_tokens_cap` (the model's limit); with no
/// request value the cap itself is sent, so a model cannot run on indefinitely. Readable
/// reasoning of earlier assistant turns is replayed as `reasoning_content` (Kimi requires it on
/// tool-call turns); redacted reasoning and signatures have no place on this route and are left
/// out. Assistant turns and tool results carry text only: an image there is an invalid request.
/// `extra`, a JSON object, is merged at the top level last. `response_format`, a tool's
/// `strict`, `parallel_tool_calls` and `seed` pass under their own names.
pub fn build_request(
    req: &ChatRequest,
    model: &str,
    max_tokens_cap: Option<u32>,
) -> Result<String> {
    let messages = req
        .messages
        .iter()
        .map(message)
        .collect::<Result<Vec<_>>>()?;
    let tools = req
        .tools
        .iter()
        .map(|tool| {
            Ok(wire::Tool {
                kind: "function",
                function: wire::Function {
                    name: &tool.name,
                    description: tool.description.as_deref(),
                    parameters: tool_schema(tool)?,
                    strict: tool.strict,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let response_format = match &req.response_format {
        None => None,
        Some(ResponseFormat::Text) => Some(wire::ResponseFormat::Text),
        Some(ResponseFormat::JsonObject) => Some(wire::ResponseFormat::JsonObject),
        Some(ResponseFormat::JsonSchema(format)) => Some(wire::ResponseFormat::JsonSchema {
            json_schema: wire::JsonSchema {
                name: &format.name,
                description: format.description.as_deref(),
                schema: raw_object(&format.schema, || {
                    "response_format.json_schema.schema".to_owned()
                })?,
                strict: format.strict,
            },
        }),
    };
    let body = wire::Request {
        model,
        messages,
        stream: true,
        stream_options: wire::StreamOptions {
            include_usage: true,
        },
        tools,
        tool_choice: req.tool_choice.as_ref().map(|choice| match choice {
            ToolChoice::Auto => wire::ToolChoice::Mode("auto"),
            ToolChoice::None => wire::ToolChoice::Mode("none"),
            ToolChoice::Required => wire::ToolChoice::Mode("required"),
            ToolChoice::Named(name) => wire::ToolChoice::Named {
                kind: "function",
                function: wire::Name { name },
            },
        }),
        max_tokens: match (req.max_tokens, max_tokens_cap) {
            (Some(wanted), Some(cap)) => Some(wanted.min(cap)),
            (wanted, cap) => wanted.or(cap),
        },
        temperature: req
            .temperature
            .map(|t| json_f32("temperature", t))
            .transpose()?,
        top_p: req.top_p.map(|p| json_f32("top_p", p)).transpose()?,
        stop: req.stop.iter().map(String::as_str).collect(),
        reasoning_effort: req.reasoning_effort.map(|e| e.as_str()),
        response_format,
        parallel_tool_calls: req.parallel_tool_calls,
        seed: req.seed,
    };
    body_with_extra(&body, req.extra.as_deref())
}

/// One message on the wire.
fn message(message: &Message) -> Result<wire::Message<'_>> {
    Ok(match message {
        Message::System(text) => wire::Message::System { content: text },
        Message::User(parts) => wire::Message::User {
            content: match parts.as_slice() {
                [ContentPart::Text(text)] => wire::Content::Text(text),
                parts => wire::Content::Parts(parts.iter().map(part).collect()),
            },
        },
        Message::Assistant(turn) => {
            let content = text_only(&turn.content, "assistant turns")?;
            let reasoning: String = turn
                .reasoning
                .iter()
                .filter_map(|block| match block {
                    ReasoningBlock::Thinking { text, .. } => Some(text.as_str()),
                    ReasoningBlock::Redacted(_) => None,
                })
                .collect();
            wire::Message::Assistant {
                content: if content.is_empty() && !turn.tool_calls.is_empty() {
                    None
                } else {
                    Some(content)
                },
                reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
                tool_calls: turn
                    .tool_calls
                    .iter()
                    .map(|call| wire::ToolCall {
                        id: &call.id,
                        kind: "function",
                        function: wire::FunctionCall {
                            name: &call.name,
                            arguments: if call.arguments.trim().is_empty() {
                                "{}"
                            } else {
                                &call.arguments
                            },
                        },
                    })
                    .collect(),
            }
        }
        Message::Tool(result) => wire::Message::Tool {
            tool_call_id: &result.tool_call_id,
            content: text_only(&result.content, "tool results")?,
        },
    })
}

/// A user content part on the wire; base64 images become `data:` URLs.
fn part(part: &ContentPart) -> wire::Part<'_> {
    match part {
        ContentPart::Text(text) => wire::Part::Text { text },
        ContentPart::Image(ImageSource::Url(url)) => wire::Part::ImageUrl {
            image_url: wire::ImageUrl { url: url.clone() },
        },
        ContentPart::Image(ImageSource::Base64 { media_type, data }) => wire::Part::ImageUrl {
            image_url: wire::ImageUrl {
                url: format!("data:{media_type};base64,{data}"),
            },
        },
    }
}

/// The text of parts that may carry only text on this route, joined.
fn text_only(parts: &[ContentPart], what: &str) -> Result<String> {
    parts
        .iter()
        .map(|part| match part {
            ContentPart::Text(text) => Ok(text.as_str()),
            ContentPart::Image(_) => Err(Error::InvalidRequest(format!(
                "{what} carry text only on the openai-completions route, not images"
            ))),
        })
        .collect()
}

/// What a failed `POST /chat/completions` means ([`policy::classify`]).
pub fn classify_error(
    status: u16,
    retry_after_header: Option<&str>,
    body: &[u8],
    secrets: &Secrets,
) -> Error {
    OpenAi.classify_error(status, retry_after_header, body, secrets)
}

/// The chat completions route.
#[derive(Debug, Clone, Copy)]
pub struct OpenAi;

impl Route for OpenAi {
    fn api(&self) -> Api {
        Api::OpenaiCompletions
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
        build_request(request, target.id, configured_cap(target))
    }

    fn wrong_route_hint(&self) -> &'static str {
        "the model is served on another route: Claude on the Anthropic \
                 Messages route, POST /anthropic/v1/messages (api \"anthropic-messages\"); \
                 GPT-5.x on the Responses route, POST /openai/v1/responses \
                 (api \"openai-responses\"); Gemma 4 and grok under /openai/v1"
    }

    fn event_stream(&self, secrets: Secrets) -> Box<dyn Events> {
        Box::new(event_stream().redacting(secrets))
    }
}

/// A stream of this route over a new response body.
pub fn event_stream() -> EventStream<Mapper> {
    EventStream::new(Mapper::default())
}

/// Maps chat completion chunks to [`ChatEvent`]s.
///
/// **Completion rule.** The response is complete once a `finish_reason` was seen and then
/// either a chunk carrying `usage` (the finish chunk itself or a later one) or `data: [DONE]`
/// arrived: the held finish marker is emitted then, after the usage. A body that ends cleanly
/// (at an event boundary) after a `finish_reason` but before both is complete too: the finish
/// is emitted at the end, without usage. A body that ends before any `finish_reason` is
/// [`Error::Truncated`]; so is `[DONE]` without a `finish_reason`.
///
/// State between events: a few flags, the held stop reason and the upstream index of each
/// tool call begun (no text is ever kept).
#[derive(Debug, Default)]
pub struct Mapper {
    /// [`ChatEvent::MessageStart`] was emitted.
    started: bool,
    /// The stop reason seen, held until the usage or `[DONE]`.
    finish: Option<StopReason>,
    /// [`ChatEvent::Finish`] was emitted.
    done: bool,
    /// Upstream `index` of each tool call begun, by its position in the response.
    tool_calls: Vec<u32>,
}

impl StreamMapper for Mapper {
    fn on_event(&mut self, event: &sse::Event, out: &mut Vec<ChatEvent>) -> Result<()> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            return match self.finish.take() {
                Some(reason) => {
                    self.emit_finish(reason, out);
                    Ok(())
                }
                None => Err(Error::Truncated(
                    "the stream ended ([DONE]) without a finish_reason".to_owned(),
                )),
            };
        }
        let chunk: wire::Chunk =
            serde_json::from_str(data).map_err(|e| malformed(ROUTE, &e, data))?;
        if let Some(error) = &chunk.error {
            let status = policy::stream_error_status(error);
            return Err(policy::classify(
                ROUTE_STREAM,
                OpenAi.wrong_route_hint(),
                status,
                None,
                data.as_bytes(),
                &Secrets::default(),
            ));
        }
        if !self.started {
            self.started = true;
            out.push(ChatEvent::MessageStart {
                id: chunk.id.unwrap_or_default(),
                model: chunk.model.unwrap_or_default(),
            });
        }
        for choice in chunk.choices.unwrap_or_default() {
            if choice.index.unwrap_or(0) != 0 {
                continue;
            }
            if let Some(delta) = choice.delta {
                self.delta(delta, out)?;
            }
            if let Some(reason) = choice.finish_reason
                && self.finish.is_none()
            {
                self.finish = Some(stop_reason(reason));
            }
        }
        if let Some(usage) = chunk.usage {
            let cached = usage
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .map(tokens);
            let prompt = usage.prompt_tokens.map_or(0, tokens);
            out.push(ChatEvent::Usage(Usage {
                input_tokens: prompt.saturating_sub(cached.unwrap_or(0)),
                output_tokens: usage.completion_tokens.map_or(0, tokens),
                cache_read_tokens: cached,
                cache_write_tokens: None,
                reasoning_tokens: None,
                cost: None,
            }));
            if let Some(reason) = self.finish.take() {
                self.emit_finish(reason, out);
            }
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Vec<ChatEvent>) -> Result<()> {
        match self.finish.take() {
            Some(reason) => {
                self.emit_finish(reason, out);
                Ok(())
            }
            None if self.done => Ok(()),
            None => Err(Error::Truncated(
                "the stream ended before a finish_reason".to_owned(),
            )),
        }
    }

    fn finished(&self) -> bool {
        self.done
    }
}

impl Mapper {
    /// Emits what one delta adds, in order: reasoning, text, tool calls.
    fn delta(&mut self, delta: wire::Delta, out: &mut Vec<ChatEvent>) -> Result<()> {
        // Servers that send both fields send the same text twice: `reasoning` wins.
        let reasoning = delta
            .reasoning
            .filter(|r| !r.is_empty())
            .or(delta.reasoning_content);
        if let Some(reasoning) = reasoning.filter(|r| !r.is_empty()) {
            out.push(ChatEvent::ReasoningDelta(reasoning));
        }
        for text in [delta.content, delta.refusal].into_iter().flatten() {
            if !text.is_empty() {
                out.push(ChatEvent::TextDelta(text));
            }
        }
        for (position, call) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
            let upstream = call
                .index
                .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX));
            let (name, arguments) = call
                .function
                .map_or((None, None), |f| (f.name, f.arguments));
            let index = match self.tool_calls.iter().position(|&i| i == upstream) {
                Some(index) => index,
                None => {
                    let Some(name) = name.filter(|n| !n.is_empty()) else {
                        return Err(Error::Protocol(format!(
                            "{ROUTE} sent a piece of tool call {upstream} before its name"
                        )));
                    };
                    if self.tool_calls.len() >= MAX_TOOL_CALLS {
                        return Err(Error::Protocol(format!(
                            "{ROUTE} began more than {MAX_TOOL_CALLS} tool calls"
                        )));
                    }
                    self.tool_calls.push(upstream);
                    let index = self.tool_calls.len() - 1;
                    out.push(ChatEvent::ToolCallStart {
                        index: ordinal(index),
                        id: call
                            .id
                            .filter(|id| !id.is_empty())
                            .unwrap_or_else(|| format!("call_{upstream}")),
                        name,
                    });
                    index
                }
            };
            if let Some(arguments) = arguments.filter(|a| !a.is_empty()) {
                out.push(ChatEvent::ToolCallArguments {
                    index: ordinal(index),
                    arguments,
                });
            }
        }
        Ok(())
    }

    /// Emits the finish event; nothing follows it.
    fn emit_finish(&mut self, reason: StopReason, out: &mut Vec<ChatEvent>) {
        out.push(ChatEvent::Finish(reason));
        self.done = true;
    }
}

/// The unified stop reason of a `finish_reason`.
fn stop_reason(reason: String) -> StopReason {
    match reason.as_str() {
        "stop" => StopReason::Stop,
        "length" => StopReason::Length,
        "tool_calls" | "function_call" => StopReason::ToolCalls,
        "content_filter" => StopReason::ContentFilter,
        _ => StopReason::Other(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::testing::{
        Outcome, conversation, find, run, same_however_split, truncated_when_cut_before,
    };
    use crate::chat::{AssistantMessage, ToolCall, ToolResult};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    // ---- Stage 1: raw SSE transcripts, as Mantle sends them. ----

    /// A plain text answer: role chunk, two text chunks (one non-ASCII, so cuts fall inside
    /// UTF-8 sequences), the finish chunk, the usage-only chunk, `[DONE]`.
    const TEXT_SSE: &str = concat!(
        r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"openai.gpt-oss-120b","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"openai.gpt-oss-120b","choices":[{"index":0,"delta":{"content":"Bonjour"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"openai.gpt-oss-120b","choices":[{"index":0,"delta":{"content":" le monde — ça va ? 🙂"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"openai.gpt-oss-120b","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"openai.gpt-oss-120b","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":6,"total_tokens":20}}"#,
        "\n\n",
        "data: [DONE]\n\n",
    );

    /// A reasoning answer (`delta.reasoning`, Mantle's field), CRLF line ends, a keep-alive
    /// comment, and cached prompt tokens.
    const REASONING_SSE: &str = concat!(
        r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"moonshotai.kimi-k2-thinking","choices":[{"index":0,"delta":{"role":"assistant","reasoning":"The user greets me."},"finish_reason":null}]}"#,
        "\r\n\r\n",
        ": keep-alive\r\n\r\n",
        r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"moonshotai.kimi-k2-thinking","choices":[{"index":0,"delta":{"reasoning":" Reply briefly."},"finish_reason":null}]}"#,
        "\r\n\r\n",
        r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"moonshotai.kimi-k2-thinking","choices":[{"index":0,"delta":{"content":"Hi!"},"finish_reason":null}]}"#,
        "\r\n\r\n",
        r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"moonshotai.kimi-k2-thinking","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        "\r\n\r\n",
        r#"data: {"id":"chatcmpl-9a0b","object":"chat.completion.chunk","created":1763000001,"model":"moonshotai.kimi-k2-thinking","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":8}}}"#,
        "\r\n\r\n",
        "data: [DONE]\r\n\r\n",
    );

    /// Two parallel tool calls, each one's arguments split over several chunks.
    const TOOL_CALLS_SSE: &str = concat!(
        r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"qwen.qwen3-coder-480b-a35b-instruct","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"qwen.qwen3-coder-480b-a35b-instruct","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"qwen.qwen3-coder-480b-a35b-instruct","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"Paris\"}"}}]},"finish_reason":null}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"qwen.qwen3-coder-480b-a35b-instruct","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b2","type":"function","function":{"name":"get_time","arguments":"{\"tz\":"}}]},"finish_reason":null}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"qwen.qwen3-coder-480b-a35b-instruct","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"Europe/"}}]},"finish_reason":null}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"qwen.qwen3-coder-480b-a35b-instruct","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"Paris\"}"}}]},"finish_reason":null}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"qwen.qwen3-coder-480b-a35b-instruct","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-77c2","object":"chat.completion.chunk","created":1763000002,"model":"qwen.qwen3-coder-480b-a35b-instruct","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":41,"total_tokens":161}}"#,
        "\n\n",
        "data: [DONE]\n\n",
    );

    /// An error reported inside the stream, after some text.
    const ERROR_SSE: &str = concat!(
        r#"data: {"id":"chatcmpl-e1","object":"chat.completion.chunk","created":1763000003,"model":"deepseek.v3.2","choices":[{"index":0,"delta":{"role":"assistant","content":"Part"},"finish_reason":null}]}"#,
        "\n\n",
        r#"data: {"error":{"message":"Too many tokens, please wait before trying again.","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}"#,
        "\n\n",
    );

    /// A chunk cut short by a broken upstream: valid SSE, invalid JSON.
    const MALFORMED_SSE: &str = concat!(
        r#"data: {"id":"chatcmpl-m","model":"m","choices":[{"index":0,"delta":{"content":"a"}}]}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-m","model":"m","choices":[{"index":0,"delta":{"content":"b""#,
        "\n\n",
    );

    // ---- Stage 2: the events each transcript must give. ----

    fn start(id: &str, model: &str) -> ChatEvent {
        ChatEvent::MessageStart {
            id: id.to_owned(),
            model: model.to_owned(),
        }
    }

    fn text(s: &str) -> ChatEvent {
        ChatEvent::TextDelta(s.to_owned())
    }

    fn reasoning(s: &str) -> ChatEvent {
        ChatEvent::ReasoningDelta(s.to_owned())
    }

    fn tool_start(index: u32, id: &str, name: &str) -> ChatEvent {
        ChatEvent::ToolCallStart {
            index,
            id: id.to_owned(),
            name: name.to_owned(),
        }
    }

    fn args(index: u32, arguments: &str) -> ChatEvent {
        ChatEvent::ToolCallArguments {
            index,
            arguments: arguments.to_owned(),
        }
    }

    fn usage(input: u32, output: u32, cache_read: Option<u32>) -> ChatEvent {
        ChatEvent::Usage(Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: cache_read,
            cache_write_tokens: None,
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
                start("chatcmpl-5d1f", "openai.gpt-oss-120b"),
                text("Bonjour"),
                text(" le monde — ça va ? 🙂"),
                usage(14, 6, None),
                ChatEvent::Finish(StopReason::Stop),
            ])
        );
    }

    #[test]
    fn reasoning_answer() {
        assert_eq!(
            same_however_split(event_stream, REASONING_SSE.as_bytes()),
            complete(vec![
                start("chatcmpl-9a0b", "moonshotai.kimi-k2-thinking"),
                reasoning("The user greets me."),
                reasoning(" Reply briefly."),
                text("Hi!"),
                // 20 prompt tokens, 8 of them from the cache.
                usage(12, 30, Some(8)),
                ChatEvent::Finish(StopReason::Stop),
            ])
        );
    }

    #[test]
    fn parallel_tool_calls_stream_their_arguments_piece_by_piece() {
        assert_eq!(
            same_however_split(event_stream, TOOL_CALLS_SSE.as_bytes()),
            complete(vec![
                start("chatcmpl-77c2", "qwen.qwen3-coder-480b-a35b-instruct"),
                tool_start(0, "call_a1", "get_weather"),
                args(0, "{\"city\":"),
                args(0, " \"Paris\"}"),
                tool_start(1, "call_b2", "get_time"),
                args(1, "{\"tz\":"),
                args(1, "\"Europe/"),
                args(1, "Paris\"}"),
                usage(120, 41, None),
                ChatEvent::Finish(StopReason::ToolCalls),
            ])
        );
    }

    #[test]
    fn an_error_chunk_is_a_typed_error() {
        let out = same_however_split(event_stream, ERROR_SSE.as_bytes());
        assert_eq!(
            out.events,
            [start("chatcmpl-e1", "deepseek.v3.2"), text("Part")]
        );
        assert_eq!(
            out.error,
            Some(Error::RateLimited {
                message: "POST /v1/chat/completions (error event in the stream) answered 429: \
                          Too many tokens, please wait before trying again."
                    .to_owned(),
                retry_after: None,
            })
        );
    }

    #[test]
    fn a_malformed_chunk_is_a_protocol_error_quoting_it() {
        let out = same_however_split(event_stream, MALFORMED_SSE.as_bytes());
        assert_eq!(out.events, [start("chatcmpl-m", "m"), text("a")]);
        let Some(Error::Protocol(message)) = &out.error else {
            panic!("expected a protocol error: {out:?}");
        };
        assert!(
            message.contains(
                r#"{"id":"chatcmpl-m","model":"m","choices":[{"index":0,"delta":{"content":"b""#
            ),
            "{message}"
        );
    }

    #[test]
    fn streams_cut_before_the_finish_are_truncated() {
        for sse in [TEXT_SSE, REASONING_SSE, TOOL_CALLS_SSE] {
            let input = sse.as_bytes();
            let Some(finish) = find(input, br#""finish_reason":""#) else {
                panic!("no finish_reason in {sse}");
            };
            truncated_when_cut_before(event_stream, input, finish);
        }
    }

    #[test]
    fn the_completion_rule_after_the_finish_chunk() {
        let input = TEXT_SSE.as_bytes();
        let (Some(usage_at), Some(done_at)) =
            (find(input, br#"data: {"id":"chatcmpl-5d1f","object":"chat.completion.chunk","created":1763000000,"model":"openai.gpt-oss-120b","choices":[],"#), find(input, b"data: [DONE]"))
        else {
            panic!("fixture changed");
        };
        let finish = ChatEvent::Finish(StopReason::Stop);
        // Cut cleanly after the finish chunk: complete, without usage.
        let out = run(event_stream(), &[&input[..usage_at]]);
        assert_eq!(out.error, None);
        assert_eq!(out.events.last(), Some(&finish));
        assert!(!out.events.iter().any(|e| matches!(e, ChatEvent::Usage(_))));
        // Cut inside the usage chunk: truncated.
        let out = run(event_stream(), &[&input[..usage_at + 10]]);
        assert!(matches!(out.error, Some(Error::Truncated(_))), "{out:?}");
        // Cut after the usage chunk, before [DONE]: complete, with usage.
        let out = run(event_stream(), &[&input[..done_at]]);
        assert_eq!(out.error, None);
        assert_eq!(
            &out.events[out.events.len() - 2..],
            [usage(14, 6, None), finish]
        );
    }

    #[test]
    fn done_without_a_finish_reason_is_truncated() {
        let out = run(
            event_stream(),
            &[
                br#"data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"a"}}]}

data: [DONE]

"#,
            ],
        );
        assert_eq!(out.events, [start("c", "m"), text("a")]);
        assert!(matches!(out.error, Some(Error::Truncated(_))), "{out:?}");
    }

    #[test]
    fn usage_in_the_finish_chunk_releases_the_finish_at_once() {
        let mut stream = event_stream();
        let mut out = Vec::new();
        stream
            .feed(
                br#"data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"reasoning_content":"r","content":"a"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}

"#,
                &mut out,
            )
            .unwrap();
        assert_eq!(
            out,
            [
                start("c", "m"),
                reasoning("r"),
                text("a"),
                usage(3, 2, None),
                ChatEvent::Finish(StopReason::Length),
            ]
        );
        assert!(stream.finished());
        // Whatever follows is ignored, and the end is clean.
        stream
            .feed(b"data: {broken\n\ndata: [DONE]\n\n", &mut out)
            .unwrap();
        stream.end(&mut out).unwrap();
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn reasoning_sent_in_both_fields_is_emitted_once() {
        let out = run(
            event_stream(),
            &[br#"data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"reasoning":"r","reasoning_content":"r"},"finish_reason":"stop"}]}

data: [DONE]

"#],
        );
        assert_eq!(
            out.events,
            [
                start("c", "m"),
                reasoning("r"),
                ChatEvent::Finish(StopReason::Stop)
            ]
        );
    }

    #[test]
    fn finish_reasons_map_to_stop_reasons() {
        for (raw, reason) in [
            ("stop", StopReason::Stop),
            ("length", StopReason::Length),
            ("tool_calls", StopReason::ToolCalls),
            ("content_filter", StopReason::ContentFilter),
            ("eos", StopReason::Other("eos".to_owned())),
        ] {
            let input = format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"{raw}\"}}]}}\n\ndata: [DONE]\n\n"
            );
            let out = run(event_stream(), &[input.as_bytes()]);
            assert_eq!(
                out.events,
                [start("", ""), ChatEvent::Finish(reason)],
                "{raw}"
            );
        }
    }

    #[test]
    fn a_tool_call_piece_before_its_name_is_a_protocol_error() {
        let out = run(
            event_stream(),
            &[br#"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}

"#],
        );
        assert!(matches!(out.error, Some(Error::Protocol(_))), "{out:?}");
    }

    #[test]
    fn the_mapper_keeps_no_growing_state() {
        let mut stream = event_stream();
        let mut out = Vec::new();
        let text_chunk = br#"data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"lorem ipsum "}}]}

"#;
        let args_chunk = br#"data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"[1,"}}]}}]}

"#;
        for _ in 0..20_000 {
            stream.feed(text_chunk, &mut out).unwrap();
            assert!(out.len() <= 2);
            out.clear();
        }
        for _ in 0..20_000 {
            stream.feed(args_chunk, &mut out).unwrap();
            out.clear();
        }
        let mapper = stream.mapper();
        assert_eq!(mapper.tool_calls, [0]);
        assert!(mapper.tool_calls.capacity() <= 4);
        assert!(mapper.finish.is_none() && !mapper.done);
    }

    // ---- Request building: a conversation → the JSON body. ----

    fn body(req: &ChatRequest, cap: Option<u32>) -> Value {
        serde_json::from_str(&build_request(req, &req.model, cap).unwrap()).unwrap()
    }

    #[test]
    fn a_whole_conversation_becomes_the_chat_completions_body() {
        assert_eq!(
            body(&conversation("moonshotai.kimi-k2-thinking"), Some(32_000)),
            json!({
                "model": "moonshotai.kimi-k2-thinking",
                "messages": [
                    {"role": "system", "content": "You are terse."},
                    {"role": "system", "content": "Answer in English."},
                    {"role": "user", "content": [
                        {"type": "text", "text": "What is in this image?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                    ]},
                    {"role": "assistant",
                     "content": "A cat. Checking the weather.",
                     "reasoning_content": "A cat. The user may want the weather too.",
                     "tool_calls": [{"id": "call_1", "type": "function",
                                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "18°C, sunny"},
                    {"role": "user", "content": [
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                        {"type": "text", "text": "And this one?"}
                    ]}
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "tools": [{"type": "function", "function": {
                    "name": "get_weather",
                    "description": "Current weather of a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
                }}],
                "tool_choice": "auto",
                "max_tokens": 32000,
                "temperature": 0.7,
                "stop": ["END"],
                "reasoning_effort": "high",
                "top_k": 40
            })
        );
    }

    #[test]
    fn structured_outputs_parallel_calls_and_seed_pass_under_their_own_names() {
        let req = ChatRequest {
            model: "amazon-bedrock-mantle/openai.gpt-oss-120b".to_owned(),
            messages: vec![Message::User(vec![ContentPart::Text("hi".to_owned())])],
            tools: vec![crate::chat::Tool {
                name: "f".to_owned(),
                description: None,
                parameters: r#"{"type":"object","properties":{}}"#.to_owned(),
                strict: Some(true),
            }],
            parallel_tool_calls: Some(false),
            seed: Some(42),
            response_format: Some(ResponseFormat::JsonSchema(crate::chat::JsonSchemaFormat {
                name: "answer".to_owned(),
                description: Some("d".to_owned()),
                schema: r#"{"type":"object","required":["b","a"]}"#.to_owned(),
                strict: Some(true),
            })),
            ..ChatRequest::default()
        };
        // The model as the client resolved it (the reference's prefix is gone by then).
        let text = build_request(&req, "openai.gpt-oss-120b", None).unwrap();
        assert!(
            text.starts_with(r#"{"model":"openai.gpt-oss-120b","#),
            "{text}"
        );
        assert!(
            text.contains(r#""response_format":{"type":"json_schema","json_schema":{"name":"answer","description":"d","schema":{"type":"object","required":["b","a"]},"strict":true}},"parallel_tool_calls":false,"seed":42"#),
            "{text}"
        );
        assert!(
            text.contains(r#""parameters":{"type":"object","properties":{}},"strict":true"#),
            "{text}"
        );
        let mut json_object = req.clone();
        json_object.response_format = Some(ResponseFormat::JsonObject);
        assert_eq!(
            body(&json_object, None)["response_format"],
            json!({"type": "json_object"})
        );
    }

    #[test]
    fn a_minimal_request_and_the_max_tokens_rule() {
        let mut req = ChatRequest {
            model: "m".to_owned(),
            messages: vec![Message::User(vec![ContentPart::Text("hi".to_owned())])],
            ..ChatRequest::default()
        };
        let minimal = json!({
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": true,
            "stream_options": {"include_usage": true}
        });
        assert_eq!(body(&req, None), minimal);
        assert_eq!(body(&req, Some(4096))["max_tokens"], 4096);
        req.max_tokens = Some(100);
        assert_eq!(body(&req, None)["max_tokens"], 100);
        assert_eq!(body(&req, Some(4096))["max_tokens"], 100);
        assert_eq!(body(&req, Some(50))["max_tokens"], 50);
    }

    #[test]
    fn tool_choices_and_tool_only_turns() {
        let mut req = ChatRequest {
            model: "m".to_owned(),
            messages: vec![Message::Assistant(AssistantMessage {
                tool_calls: vec![ToolCall {
                    id: "c".to_owned(),
                    name: "f".to_owned(),
                    arguments: String::new(),
                }],
                ..AssistantMessage::default()
            })],
            ..ChatRequest::default()
        };
        assert_eq!(
            body(&req, None)["messages"][0],
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]})
        );
        for (choice, expected) in [
            (ToolChoice::None, json!("none")),
            (ToolChoice::Required, json!("required")),
            (
                ToolChoice::Named("f".to_owned()),
                json!({"type": "function", "function": {"name": "f"}}),
            ),
        ] {
            req.tool_choice = Some(choice);
            assert_eq!(body(&req, None)["tool_choice"], expected);
        }
    }

    #[test]
    fn invalid_requests_are_refused_with_the_reason() {
        let mut req = conversation("m");
        req.tools[0].parameters = "{\"type\":".to_owned();
        let Err(Error::InvalidRequest(m)) = build_request(&req, &req.model, None) else {
            panic!("invalid parameters accepted");
        };
        assert!(m.contains("get_weather"), "{m}");

        let mut req = conversation("m");
        req.extra = Some("[]".to_owned());
        assert!(matches!(
            build_request(&req, &req.model, None),
            Err(Error::InvalidRequest(_))
        ));

        let mut req = conversation("m");
        req.messages.push(Message::Tool(ToolResult {
            tool_call_id: "x".to_owned(),
            content: vec![ContentPart::Image(ImageSource::Url(
                "https://x/y.png".to_owned(),
            ))],
            is_error: false,
        }));
        assert!(matches!(
            build_request(&req, &req.model, None),
            Err(Error::InvalidRequest(_))
        ));
    }

    // ---- Error classification: status and body → typed error. ----

    #[test]
    fn refusals_are_classified() {
        let wrong = br#"{"error":{"code":"validation_error","message":"The model 'claude-opus-4.7' does not support the '/v1/chat/completions' API","param":null,"type":"invalid_request_error"}}"#;
        let Error::WrongRoute(m) = classify_error(400, None, wrong, &Secrets::new(&[])) else {
            panic!("not a wrong route");
        };
        assert!(
            m.contains("/anthropic/v1/messages") && m.contains("claude-opus-4.7"),
            "{m}"
        );
        assert!(matches!(
            classify_error(
                400,
                None,
                b"model `claude-opus-4.7` isn't supported on this route",
                &Secrets::default()
            ),
            Error::WrongRoute(_)
        ));

        let overflow = br#"{"error":{"message":"This model's maximum context length is 32000 tokens. However, you requested 40000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#;
        assert!(matches!(
            classify_error(400, None, overflow, &Secrets::new(&[])),
            Error::ContextOverflow(_)
        ));
        // "Too many tokens" on a 429 is a quota, not the context window.
        let quota = br#"{"error":{"message":"Too many tokens, please wait before trying again.","type":"throttling"}}"#;
        assert!(matches!(
            classify_error(429, Some("3"), quota, &Secrets::new(&[])),
            Error::RateLimited {
                retry_after: Some(3),
                ..
            }
        ));
        assert!(matches!(
            classify_error(529, None, b"overloaded", &Secrets::new(&[])),
            Error::UpstreamUnavailable {
                status: Some(529),
                ..
            }
        ));
        assert!(matches!(
            classify_error(401, None, b"", &Secrets::new(&[])),
            Error::Unauthorized(_)
        ));
        assert!(matches!(
            classify_error(404, None, b"", &Secrets::new(&[])),
            Error::ModelNotFound(_)
        ));
        assert!(matches!(
            classify_error(
                400,
                None,
                br#"{"error":{"message":"bad schema"}}"#,
                &Secrets::new(&[])
            ),
            Error::InvalidRequest(_)
        ));
        let leaky =
            br#"{"error":{"message":"maximum context length, token bedrock-api-key-SECRET"}}"#;
        let error = classify_error(400, None, leaky, &Secrets::new(&["bedrock-api-key-SECRET"]));
        assert!(!error.message().contains("SECRET"), "{error}");
    }

    #[test]
    fn error_chunks_are_typed_by_their_kind() {
        let classify_chunk = |error: &str| {
            let input = format!("data: {{\"error\":{error}}}\n\n");
            run(event_stream(), &[input.as_bytes()]).error
        };
        assert!(matches!(
            classify_chunk(r#"{"message":"slow down","code":429}"#),
            Some(Error::RateLimited { .. })
        ));
        assert!(matches!(
            classify_chunk(
                r#"{"message":"maximum context length exceeded","type":"invalid_request_error"}"#
            ),
            Some(Error::ContextOverflow(_))
        ));
        assert!(matches!(
            classify_chunk(r#"{"message":"boom","type":"server_error"}"#),
            Some(Error::UpstreamUnavailable {
                status: Some(500),
                ..
            })
        ));
        assert!(matches!(
            classify_chunk(r#""plain text error""#),
            Some(Error::UpstreamUnavailable { .. })
        ));
        assert!(matches!(
            classify_chunk(r#"{"message":"bad token","type":"authentication_error"}"#),
            Some(Error::Unauthorized(_))
        ));
    }

    #[test]
    fn stream_errors_are_redacted() {
        let out = run(
            event_stream().redacting(Secrets::new(&["bedrock-api-key-SECRET"])),
            &[
                br#"data: {"error":{"message":"token bedrock-api-key-SECRET expired","code":401}}

"#,
            ],
        );
        let Some(error) = out.error else {
            panic!("no error")
        };
        assert!(matches!(error, Error::Unauthorized(_)), "{error}");
        assert!(!error.message().contains("SECRET"), "{error}");
    }

    // ---- Properties. ----

    /// Bytes that are mostly fragments of the real transcripts.
    fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
        crate::chat::testing::stream_bytes(
            &[
                TEXT_SSE,
                REASONING_SSE,
                TOOL_CALLS_SSE,
                ERROR_SSE,
                MALFORMED_SSE,
            ],
            64,
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
