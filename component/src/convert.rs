//! Conversions between the WIT types and the core's, the one place where they happen. Both
//! provider components (WASI 0.2 and 0.3) include this file: their worlds declare the same
//! types, which each reaches as `super::wit`.

use super::wit;

use mantle_provider::chat;
use mantle_provider::client;
use mantle_provider::error::Error;
use mantle_provider::model;
use mantle_provider::token;

/// Converts the core error to the WIT variant.
impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Configuration(m) => wit::Error::Configuration(m),
            Error::MissingCredentials(m) => wit::Error::MissingCredentials(m),
            Error::Unauthorized(m) => wit::Error::Unauthorized(m),
            Error::Forbidden(m) => wit::Error::Forbidden(m),
            Error::ModelNotFound(m) => wit::Error::ModelNotFound(m),
            Error::WrongRoute(m) => wit::Error::WrongRoute(m),
            Error::RateLimited {
                message,
                retry_after,
            } => wit::Error::RateLimited(wit::RateLimit {
                message,
                retry_after,
            }),
            Error::InvalidRequest(m) => wit::Error::InvalidRequest(m),
            Error::ContextOverflow(m) => wit::Error::ContextOverflow(m),
            Error::UpstreamUnavailable { status, message } => {
                wit::Error::UpstreamUnavailable(wit::UpstreamFailure { status, message })
            }
            Error::Timeout(m) => wit::Error::Timeout(m),
            Error::Protocol(m) => wit::Error::Protocol(m),
            Error::Truncated(m) => wit::Error::Truncated(m),
            Error::NotImplemented(m) => wit::Error::NotImplemented(m),
        }
    }
}

impl From<wit::Credentials> for token::Credentials {
    fn from(c: wit::Credentials) -> Self {
        token::Credentials {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            session_token: c.session_token,
            expiration: c.expiration,
        }
    }
}

impl From<token::Token> for wit::Token {
    fn from(t: token::Token) -> Self {
        wit::Token {
            token: t.token,
            region: t.region,
            issued_at: t.issued_at,
            expires_at: t.expires_at,
        }
    }
}

impl From<wit::Settings> for client::Settings {
    fn from(s: wit::Settings) -> Self {
        client::Settings {
            region: s.region,
            bearer_token: s.bearer_token,
            credentials: s.credentials.map(Into::into),
            config: s.config,
        }
    }
}

impl From<model::Model> for wit::Model {
    fn from(m: model::Model) -> Self {
        wit::Model {
            id: m.id,
            name: m.name,
            api: match m.api {
                model::Api::OpenaiCompletions => wit::Api::OpenaiCompletions,
                model::Api::AnthropicMessages => wit::Api::AnthropicMessages,
                model::Api::OpenaiResponses => wit::Api::OpenaiResponses,
            },
            reasoning: m.reasoning,
            input: m
                .input
                .into_iter()
                .map(|i| match i {
                    model::Modality::Text => wit::Modality::Text,
                    model::Modality::Image => wit::Modality::Image,
                })
                .collect(),
            cost: m.cost.map(|c| wit::Cost {
                input: c.input,
                output: c.output,
                cache_read: c.cache_read,
                cache_write: c.cache_write,
            }),
            context_window: m.context_window,
            max_tokens: m.max_tokens,
            source: match m.source {
                model::ModelSource::Discovered => wit::ModelSource::Discovered,
                model::ModelSource::Configured => wit::ModelSource::Configured,
                model::ModelSource::BuiltIn => wit::ModelSource::BuiltIn,
            },
            created: m.created,
        }
    }
}

fn content(parts: Vec<wit::ContentPart>) -> Vec<chat::ContentPart> {
    parts
        .into_iter()
        .map(|p| match p {
            wit::ContentPart::Text(t) => chat::ContentPart::Text(t),
            wit::ContentPart::Image(wit::ImageSource::Url(u)) => {
                chat::ContentPart::Image(chat::ImageSource::Url(u))
            }
            wit::ContentPart::Image(wit::ImageSource::Base64(i)) => {
                chat::ContentPart::Image(chat::ImageSource::Base64 {
                    media_type: i.media_type,
                    data: i.data,
                })
            }
        })
        .collect()
}

impl From<wit::ChatRequest> for chat::ChatRequest {
    fn from(r: wit::ChatRequest) -> Self {
        let messages = r
            .messages
            .into_iter()
            .map(|m| match m {
                wit::Message::System(t) => chat::Message::System(t),
                wit::Message::User(parts) => chat::Message::User(content(parts)),
                wit::Message::Assistant(a) => chat::Message::Assistant(chat::AssistantMessage {
                    reasoning: a
                        .reasoning
                        .into_iter()
                        .map(|b| match b {
                            wit::ReasoningBlock::Thinking(t) => chat::ReasoningBlock::Thinking {
                                text: t.text,
                                signature: t.signature,
                            },
                            wit::ReasoningBlock::Redacted(d) => chat::ReasoningBlock::Redacted(d),
                        })
                        .collect(),
                    content: content(a.content),
                    tool_calls: a
                        .tool_calls
                        .into_iter()
                        .map(|c| chat::ToolCall {
                            id: c.id,
                            name: c.name,
                            arguments: c.arguments,
                        })
                        .collect(),
                }),
                wit::Message::Tool(t) => chat::Message::Tool(chat::ToolResult {
                    tool_call_id: t.tool_call_id,
                    content: content(t.content),
                    is_error: t.is_error,
                }),
            })
            .collect();
        chat::ChatRequest {
            model: r.model,
            messages,
            tools: r
                .tools
                .into_iter()
                .map(|t| chat::Tool {
                    name: t.name,
                    description: t.description,
                    parameters: t.parameters,
                    strict: t.strict,
                })
                .collect(),
            tool_choice: r.tool_choice.map(|c| match c {
                wit::ToolChoice::Auto => chat::ToolChoice::Auto,
                wit::ToolChoice::None => chat::ToolChoice::None,
                wit::ToolChoice::Required => chat::ToolChoice::Required,
                wit::ToolChoice::Named(n) => chat::ToolChoice::Named(n),
            }),
            max_tokens: r.max_tokens,
            temperature: r.temperature,
            top_p: r.top_p,
            stop: r.stop,
            reasoning_effort: r.reasoning_effort.map(|e| match e {
                wit::ReasoningEffort::Low => chat::ReasoningEffort::Low,
                wit::ReasoningEffort::Medium => chat::ReasoningEffort::Medium,
                wit::ReasoningEffort::High => chat::ReasoningEffort::High,
            }),
            response_format: r.response_format.map(|f| match f {
                wit::ResponseFormat::Text => chat::ResponseFormat::Text,
                wit::ResponseFormat::JsonObject => chat::ResponseFormat::JsonObject,
                wit::ResponseFormat::JsonSchema(s) => {
                    chat::ResponseFormat::JsonSchema(chat::JsonSchemaFormat {
                        name: s.name,
                        description: s.description,
                        schema: s.schema,
                        strict: s.strict,
                    })
                }
            }),
            parallel_tool_calls: r.parallel_tool_calls,
            seed: r.seed,
            extra: r.extra,
        }
    }
}

impl From<chat::ChatEvent> for wit::ChatEvent {
    fn from(e: chat::ChatEvent) -> Self {
        match e {
            chat::ChatEvent::MessageStart { id, model } => {
                wit::ChatEvent::MessageStart(wit::MessageStart { id, model })
            }
            chat::ChatEvent::TextDelta(t) => wit::ChatEvent::TextDelta(t),
            chat::ChatEvent::ReasoningDelta(t) => wit::ChatEvent::ReasoningDelta(t),
            chat::ChatEvent::ReasoningSignature(s) => wit::ChatEvent::ReasoningSignature(s),
            chat::ChatEvent::RedactedReasoning(d) => wit::ChatEvent::RedactedReasoning(d),
            chat::ChatEvent::ToolCallStart { index, id, name } => {
                wit::ChatEvent::ToolCallStart(wit::ToolCallStart { index, id, name })
            }
            chat::ChatEvent::ToolCallArguments { index, arguments } => {
                wit::ChatEvent::ToolCallArguments(wit::ToolCallDelta { index, arguments })
            }
            chat::ChatEvent::Usage(u) => wit::ChatEvent::Usage(wit::Usage {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                cache_read_tokens: u.cache_read_tokens,
                cache_write_tokens: u.cache_write_tokens,
                reasoning_tokens: u.reasoning_tokens,
                cost: u.cost.map(|c| wit::Charge {
                    input: c.input,
                    output: c.output,
                    cache_read: c.cache_read,
                    cache_write: c.cache_write,
                    total: c.total,
                }),
            }),
            chat::ChatEvent::Finish(r) => wit::ChatEvent::Finish(match r {
                chat::StopReason::Stop => wit::StopReason::Stop,
                chat::StopReason::Length => wit::StopReason::Length,
                chat::StopReason::ToolCalls => wit::StopReason::ToolCalls,
                chat::StopReason::ContentFilter => wit::StopReason::ContentFilter,
                chat::StopReason::Refusal => wit::StopReason::Refusal,
                chat::StopReason::Other(o) => wit::StopReason::Other(o),
            }),
        }
    }
}
