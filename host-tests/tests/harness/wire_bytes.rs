//! What the upstream receives, byte for byte: JSON the provider only passes on (tool schemas,
//! replayed tool-call arguments, `extra`) keeps the client's key order, spacing and number
//! spelling on both routes, and every request says its length as a strict server requires.

use std::io::{Read, Write};

use mantle_host::emulator::{Emulator, EmulatorConfig, SeenRequest, config_text};
use mantle_host::runtime::{GuestOptions, chat_request, empty_settings, types, user_text};
use mantle_host::transcripts;

use crate::common::guest;

const KEY: &str = "wire-bytes-key";

/// A schema whose properties are out of alphabetical order, with nested `anyOf`, `required`,
/// odd spacing and number spellings a re-encoder would change (`1e3`, `0.50`, `-0`).
const SCHEMA: &str = r#"{"type": "object",
  "properties": {"zeta": {"anyOf": [{"type": "string", "maxLength": 1e3}, {"type": "null"}]},
                 "alpha": {"type": "number", "minimum": -0, "multipleOf": 0.50},
                 "Mid": {"type": "array", "items": {"required": ["y", "x"], "properties": {"y": {}, "x": {}}}}},
  "required": ["zeta", "alpha"], "additionalProperties": false}"#;

/// Arguments of an earlier tool call, out of order.
const ARGUMENTS: &str = r#"{"zeta": "z", "alpha": {"b": 2, "a": 1.0}}"#;

/// Extra members, out of order; `top_k` is new, `max_tokens` replaces the provider's.
const EXTRA: &str = r#"{"top_k": 40, "metadata": {"z": 1, "a": [3, 2, 1]}, "max_tokens": 77}"#;

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        static_keys: vec![KEY.into()],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

fn conversation(model: &str) -> types::ChatRequest {
    let mut req = chat_request(
        model,
        vec![
            user_text("weather in Paris?"),
            types::Message::Assistant(types::AssistantMessage {
                reasoning: Vec::new(),
                content: Vec::new(),
                tool_calls: vec![types::ToolCall {
                    id: "call_1".into(),
                    name: "get_weather".into(),
                    arguments: ARGUMENTS.into(),
                }],
            }),
            types::Message::Tool(types::ToolResult {
                tool_call_id: "call_1".into(),
                content: vec![types::ContentPart::Text("18 C".into())],
                is_error: false,
            }),
        ],
    );
    req.tools = vec![types::Tool {
        name: "get_weather".into(),
        description: Some("Weather of a city".into()),
        parameters: SCHEMA.into(),
        strict: None,
    }];
    req.extra = Some(EXTRA.into());
    req
}

/// Sends `req` through the component and returns what the emulator received.
async fn sent(emu: &Emulator, req: &types::ChatRequest) -> SeenRequest {
    let mut g = guest(GuestOptions::default()).await;
    let c = g
        .client(&types::Settings {
            config: Some(config_text(&emu.base_url(), "discovery: false")),
            bearer_token: Some(KEY.into()),
            ..empty_settings()
        })
        .await
        .unwrap();
    let stream = g.chat_stream(c, req).await.unwrap();
    assert!(stream.is_ok(), "{:?}", stream.err());
    let seen = emu.requests().pop().unwrap();
    assert_eq!(seen.status, 200, "{}", String::from_utf8_lossy(&seen.body));
    seen
}

fn text(seen: &SeenRequest) -> &str {
    std::str::from_utf8(&seen.body).unwrap()
}

fn assert_contains(body: &str, expected: &str) {
    assert!(
        body.contains(expected),
        "the upstream body lacks {expected}\nbody: {body}"
    );
}

#[tokio::test]
async fn openai_route_receives_schemas_and_extra_as_written() {
    let emu = emulator().await;
    let seen = sent(&emu, &conversation(transcripts::OPENAI_MODEL)).await;
    let body = text(&seen);
    assert_contains(body, &format!(r#""parameters":{SCHEMA}"#));
    // Arguments travel as a JSON string on this route: the same text, escaped once.
    assert_contains(
        body,
        &format!(
            r#""arguments":{}"#,
            serde_json::to_string(ARGUMENTS).unwrap()
        ),
    );
    // No limit was set for this model, so every member of extra is new: last, in its order.
    assert!(
        body.ends_with(r#","top_k":40,"metadata":{"z": 1, "a": [3, 2, 1]},"max_tokens":77}"#),
        "{body}"
    );
}

#[tokio::test]
async fn anthropic_route_receives_schemas_arguments_and_extra_as_written() {
    let emu = emulator().await;
    let seen = sent(&emu, &conversation(transcripts::CLAUDE_MODEL)).await;
    let body = text(&seen);
    assert_contains(body, &format!(r#""input_schema":{SCHEMA}"#));
    assert_contains(body, &format!(r#""input":{ARGUMENTS}"#));
    // The route's own `max_tokens` is replaced where it stands; new members come last.
    assert!(
        body.starts_with(r#"{"model":"anthropic.claude-opus-4-7","max_tokens":77,"#),
        "{body}"
    );
    assert_eq!(body.matches(r#""max_tokens""#).count(), 1, "{body}");
    assert!(
        body.ends_with(r#","top_k":40,"metadata":{"z": 1, "a": [3, 2, 1]}}"#),
        "{body}"
    );
}

#[tokio::test]
async fn requests_carry_their_length() {
    let emu = emulator().await;
    for model in [transcripts::OPENAI_MODEL, transcripts::CLAUDE_MODEL] {
        let seen = sent(&emu, &conversation(model)).await;
        assert_eq!(
            seen.header("content-length"),
            Some(seen.body.len().to_string().as_str()),
            "{model}"
        );
        assert_eq!(seen.header("transfer-encoding"), None, "{model}");
    }
}

#[tokio::test]
async fn the_emulator_is_strict_about_lengths_like_a_real_server() {
    let emu = emulator().await;
    let addr = emu.addr();
    let status = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let body = r#"{"model":"openai.gpt-oss-120b","messages":[]}"#;
        write!(
            s,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             {:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 411"), "{status}");
    assert!(status.contains("Content-Length"), "{status}");
}
