//! Captured exchanges replayed as they were: a request equal to a captured one (same model,
//! messages and tools) is answered with the captured answer, byte for byte.
//!
//! - CHAT-1 (`chat-gpt-oss-20b.*`): not streamed, openai.gpt-oss-20b on `/v1`.
//! - STREAM-2 (`stream-gpt-oss-20b-tool-call.*`): streamed with tools, each captured chunk as
//!   one `data:` event, then `data: [DONE]` (the recorder kept the chunks, not their framing).

use serde_json::Value;

/// CHAT-1's request.
pub const CHAT_1_REQUEST: &str =
    include_str!("../../../fixtures/mantle/chat-gpt-oss-20b.request.json");
/// CHAT-1's answer.
pub const CHAT_1_RESPONSE: &str =
    include_str!("../../../fixtures/mantle/chat-gpt-oss-20b.response.json");
/// STREAM-2's request.
pub const STREAM_2_REQUEST: &str =
    include_str!("../../../fixtures/mantle/stream-gpt-oss-20b-tool-call.request.json");
/// STREAM-2's chunks, one JSON document per line.
pub const STREAM_2_CHUNKS: &str =
    include_str!("../../../fixtures/mantle/stream-gpt-oss-20b-tool-call.chunks.jsonl");

/// STREAM-2 as an SSE body: each chunk as captured, in a `data:` event, then `[DONE]`.
pub fn stream_2_sse() -> String {
    let mut out = String::new();
    for line in STREAM_2_CHUNKS.lines().filter(|l| !l.trim().is_empty()) {
        out.push_str("data: ");
        out.push_str(line.trim_end());
        out.push_str("\n\n");
    }
    out.push_str("data: [DONE]\n\n");
    out
}

/// Whether `request` asks what `captured` asked: the same model, messages and tools.
fn same_question(captured: &str, request: &Value) -> bool {
    let Ok(captured) = serde_json::from_str::<Value>(captured) else {
        return false;
    };
    ["model", "messages", "tools"]
        .iter()
        .all(|k| captured.get(k) == request.get(k))
}

/// The captured answer to a chat completions request, if it is a captured one: CHAT-1's JSON
/// for a request not streamed, STREAM-2's SSE for a streamed one.
pub fn replay(request: &Value, streamed: bool) -> Option<String> {
    if streamed {
        same_question(STREAM_2_REQUEST, request).then(stream_2_sse)
    } else {
        same_question(CHAT_1_REQUEST, request).then(|| CHAT_1_RESPONSE.trim_end().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_captured_questions_are_replayed() {
        let chat: Value = serde_json::from_str(CHAT_1_REQUEST).unwrap();
        assert_eq!(
            replay(&chat, false).as_deref(),
            Some(CHAT_1_RESPONSE.trim_end())
        );
        assert_eq!(replay(&chat, true), None);
        let mut other = chat.clone();
        other["messages"][0]["content"] = "Which planet do fish live on?".into();
        assert_eq!(replay(&other, false), None);
        let stream: Value = serde_json::from_str(STREAM_2_REQUEST).unwrap();
        let sse = replay(&stream, true).unwrap();
        assert_eq!(sse.matches("data: ").count(), 7);
        assert!(sse.ends_with("data: [DONE]\n\n"));
        assert!(sse.contains("\"chatcmpl-tool-a6315f295fd98b2a\""));
    }
}
