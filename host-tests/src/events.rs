//! Chat events as hosts show them: JSON lines, and the transcripts' event type for comparing
//! what the component streamed with what a transcript must give.

use serde_json::{Value, json};

use crate::runtime::types::{ChatEvent, StopReason};
use crate::transcripts as chat;

/// The wire spelling of a stop reason.
pub fn stop_reason(r: &StopReason) -> String {
    match r {
        StopReason::Stop => "stop".into(),
        StopReason::Length => "length".into(),
        StopReason::ToolCalls => "tool-calls".into(),
        StopReason::ContentFilter => "content-filter".into(),
        StopReason::Refusal => "refusal".into(),
        StopReason::Other(o) => format!("other:{o}"),
    }
}

/// One event as a JSON object with a `type` field.
pub fn to_json(e: &ChatEvent) -> Value {
    match e {
        ChatEvent::MessageStart(m) => {
            json!({"type": "message-start", "id": m.id, "model": m.model})
        }
        ChatEvent::TextDelta(t) => json!({"type": "text-delta", "text": t}),
        ChatEvent::ReasoningDelta(t) => json!({"type": "reasoning-delta", "text": t}),
        ChatEvent::ReasoningSignature(s) => json!({"type": "reasoning-signature", "signature": s}),
        ChatEvent::RedactedReasoning(d) => json!({"type": "redacted-reasoning", "data": d}),
        ChatEvent::ToolCallStart(c) => {
            json!({"type": "tool-call-start", "index": c.index, "id": c.id, "name": c.name})
        }
        ChatEvent::ToolCallArguments(d) => {
            json!({"type": "tool-call-arguments", "index": d.index, "arguments": d.arguments})
        }
        ChatEvent::Usage(u) => json!({
            "type": "usage",
            "inputTokens": u.input_tokens,
            "outputTokens": u.output_tokens,
            "cacheReadTokens": u.cache_read_tokens,
            "cacheWriteTokens": u.cache_write_tokens,
            "reasoningTokens": u.reasoning_tokens,
            "costUsd": u.cost.as_ref().map(|c| json!({
                "input": c.input,
                "output": c.output,
                "cacheRead": c.cache_read,
                "cacheWrite": c.cache_write,
                "total": c.total,
            })),
        }),
        ChatEvent::Finish(r) => json!({"type": "finish", "reason": stop_reason(r)}),
    }
}

/// The transcripts' event type ([`crate::transcripts::ChatEvent`]), for comparing with
/// expected events.
pub fn to_chat(e: &ChatEvent) -> chat::ChatEvent {
    match e {
        ChatEvent::MessageStart(m) => chat::ChatEvent::MessageStart {
            id: m.id.clone(),
            model: m.model.clone(),
        },
        ChatEvent::TextDelta(t) => chat::ChatEvent::TextDelta(t.clone()),
        ChatEvent::ReasoningDelta(t) => chat::ChatEvent::ReasoningDelta(t.clone()),
        ChatEvent::ReasoningSignature(s) => chat::ChatEvent::ReasoningSignature(s.clone()),
        ChatEvent::RedactedReasoning(d) => chat::ChatEvent::RedactedReasoning(d.clone()),
        ChatEvent::ToolCallStart(c) => chat::ChatEvent::ToolCallStart {
            index: c.index,
            id: c.id.clone(),
            name: c.name.clone(),
        },
        ChatEvent::ToolCallArguments(d) => chat::ChatEvent::ToolCallArguments {
            index: d.index,
            arguments: d.arguments.clone(),
        },
        ChatEvent::Usage(u) => chat::ChatEvent::Usage(chat::Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_read_tokens: u.cache_read_tokens,
            cache_write_tokens: u.cache_write_tokens,
            reasoning_tokens: u.reasoning_tokens,
        }),
        ChatEvent::Finish(r) => chat::ChatEvent::Finish(match r {
            StopReason::Stop => chat::StopReason::Stop,
            StopReason::Length => chat::StopReason::Length,
            StopReason::ToolCalls => chat::StopReason::ToolCalls,
            StopReason::ContentFilter => chat::StopReason::ContentFilter,
            StopReason::Refusal => chat::StopReason::Refusal,
            StopReason::Other(o) => chat::StopReason::Other(o.clone()),
        }),
    }
}
