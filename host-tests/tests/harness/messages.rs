//! The face's Anthropic Messages API, `POST /v1/messages`, in the gateway with the emulator
//! as Mantle: Claude requests and answers pass byte for byte (signatures included), open
//! models are translated, errors take Anthropic's shape.

use bytes::Bytes;
use mantle_host::emulator::{Fault, Script, StreamFault};
use mantle_host::transcripts;
use mantle_host::transcripts::ChatEvent;
use mantle_provider::anthropic;
use serde_json::{Value, json};

use crate::face::{Face, GATEWAY_KEY, header};

/// Claude Opus 4.7 as clients name it (Genesis configurations do).
const CLAUDE: &str = "claude-opus-4.7";
const OPEN: &str = "openai.gpt-oss-120b";

/// The id Claude Opus 4.7 goes upstream as: exactly as the listing has it when the listing has
/// `claude-opus-4.7`, else Mantle's catalog id.
async fn claude_upstream(face: &Face) -> &'static str {
    let (status, _, body) = face.models().await;
    assert_eq!(status, 200);
    let listed = json_of(&body);
    if listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == CLAUDE)
    {
        CLAUDE
    } else {
        "anthropic.claude-opus-4-7"
    }
}

/// `text` with every JSON member `"model":"<from>"` written `"model":"<to>"`.
fn with_model(text: &str, from: &str, to: &str) -> String {
    text.replace(
        &format!("\"model\":\"{from}\""),
        &format!("\"model\":\"{to}\""),
    )
}

/// An SSE body of Mantle's Anthropic route as the face passes it on: the `message_start`
/// event names the model as the client did, whatever Mantle called it.
fn echoed(body: &str, client_model: &str) -> String {
    let line = body
        .lines()
        .find(|l| l.starts_with("data:") && l.contains("\"message_start\""))
        .unwrap();
    let data: Value = serde_json::from_str(line["data:".len()..].trim()).unwrap();
    let upstream = data["message"]["model"].as_str().unwrap();
    body.replacen(line, &with_model(line, upstream, client_model), 1)
}

/// `POST /v1/messages` as the anthropic SDK sends it: the key as `x-api-key`, a newer
/// `anthropic-version` than Mantle takes, and these other headers.
async fn post(
    face: &Face,
    extra: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (u16, Vec<(String, String)>, Bytes) {
    let mut headers = vec![
        ("x-api-key", GATEWAY_KEY),
        ("anthropic-version", "2025-06-01"),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    face.request("POST", "/v1/messages", &headers, body).await
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

/// The requests the emulator saw on its Anthropic route.
fn upstream_messages(face: &Face) -> Vec<mantle_host::emulator::SeenRequest> {
    face.emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == "/anthropic/v1/messages")
        .collect()
}

/// The events the provider's own Anthropic reader finds in an answer's SSE body, as the
/// transcripts write them.
fn read_events(body: &[u8]) -> (Vec<ChatEvent>, Option<mantle_provider::Error>) {
    use mantle_host::transcripts::{StopReason, Usage};
    use mantle_provider::chat::{ChatEvent as E, StopReason as S};
    let mut stream = anthropic::event_stream();
    let mut events = Vec::new();
    let error = stream
        .feed(body, &mut events)
        .and_then(|()| stream.end(&mut events))
        .err();
    let events = events
        .into_iter()
        .map(|e| match e {
            E::MessageStart { id, model } => ChatEvent::MessageStart { id, model },
            E::TextDelta(t) => ChatEvent::TextDelta(t),
            E::ReasoningDelta(t) => ChatEvent::ReasoningDelta(t),
            E::ReasoningSignature(s) => ChatEvent::ReasoningSignature(s),
            E::RedactedReasoning(d) => ChatEvent::RedactedReasoning(d),
            E::ToolCallStart { index, id, name } => ChatEvent::ToolCallStart { index, id, name },
            E::ToolCallArguments { index, arguments } => {
                ChatEvent::ToolCallArguments { index, arguments }
            }
            E::Usage(u) => ChatEvent::Usage(Usage {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                cache_read_tokens: u.cache_read_tokens,
                cache_write_tokens: u.cache_write_tokens,
                reasoning_tokens: u.reasoning_tokens,
            }),
            E::Finish(r) => ChatEvent::Finish(match r {
                S::Stop => StopReason::Stop,
                S::Length => StopReason::Length,
                S::ToolCalls => StopReason::ToolCalls,
                S::ContentFilter => StopReason::ContentFilter,
                S::Refusal => StopReason::Refusal,
                S::Other(o) => StopReason::Other(o),
            }),
        })
        .collect();
    (events, error)
}

/// A Claude body with its members in no order a serializer would choose, odd spacing and a
/// tool schema whose key order matters to the client.
fn claude_body(stream: bool) -> String {
    format!(
        r#"{{ "stream" : {stream}, "messages":[{{"role":"user","content":"What is 27 * 453?"}}],
  "thinking": {{"budget_tokens": 2048, "type": "enabled"}}, "model":"{CLAUDE}", "max_tokens":4096,
  "metadata": {{"user_id": "u-1"}} }}"#
    )
}

#[tokio::test]
async fn a_claude_stream_passes_through_byte_for_byte_both_ways() {
    let face = Face::start().await;
    let upstream = claude_upstream(&face).await;
    let body = claude_body(true);
    let (status, headers, answer) = post(
        &face,
        &[("anthropic-beta", "interleaved-thinking-2025-05-14")],
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(header(&headers, "content-type"), Some("text/event-stream"));
    // Byte for byte both ways, but for the model: Mantle's id upstream, the client's back.
    let transcript = transcripts::anthropic_thinking(upstream);
    assert_eq!(
        String::from_utf8_lossy(&answer),
        echoed(&transcript.body, CLAUDE),
        "the answer's bytes"
    );
    let seen = upstream_messages(&face);
    assert_eq!(seen.len(), 1);
    let sent = &seen[0];
    assert_eq!(
        sent.body,
        with_model(&body, CLAUDE, upstream).as_bytes(),
        "the request's bytes"
    );
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        sent.header("anthropic-beta"),
        Some("interleaved-thinking-2025-05-14")
    );
    assert!(
        sent.header("authorization")
            .is_some_and(|a| a.starts_with("Bearer bedrock-api-key-")),
        "a token minted by the face: {:?}",
        sent.header("authorization")
    );
    assert_eq!(sent.header("x-api-key"), None, "the gateway key stays here");
    assert!(
        !format!("{:?}", sent.headers).contains(GATEWAY_KEY),
        "{:?}",
        sent.headers
    );
}

#[tokio::test]
async fn a_claude_thinking_signature_survives_a_round_trip() {
    let face = Face::start().await;
    let upstream = claude_upstream(&face).await;
    // Turn 1, not streamed: the answer is the emulator's JSON, as it wrote it.
    let (status, _, first) = post(&face, &[], claude_body(false)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&first));
    let answer = json_of(&first);
    let thinking = &answer["content"][0];
    assert_eq!(thinking["type"], "thinking");
    assert_eq!(thinking["signature"], transcripts::THINKING_SIGNATURE);
    // The thinking block goes back exactly as it came, beside a tool, as a client replays it.
    let block = {
        let text = String::from_utf8_lossy(&first);
        let start = text.find(r#"{"type":"thinking""#).unwrap();
        let end = start + text[start..].find('}').unwrap() + 1;
        text[start..end].to_owned()
    };
    let replay = |block: &str| {
        format!(
            r#"{{"model":"{CLAUDE}","max_tokens":4096,"thinking":{{"type":"enabled","budget_tokens":2048}},
  "tools":[{{"name":"get_weather","input_schema":{{"type":"object","properties":{{"city":{{"type":"string"}}}},"required":["city"]}}}}],
  "messages":[{{"role":"user","content":"What is 27 * 453?"}},
    {{"role":"assistant","content":[{block},{{"type":"text","text":"12231"}}]}},
    {{"role":"user","content":"And the weather in Paris?"}}]}}"#
        )
    };
    let (status, _, second) = post(&face, &[], replay(&block)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&second));
    assert_eq!(json_of(&second)["stop_reason"], "tool_use");
    let seen = upstream_messages(&face);
    assert_eq!(
        seen[1].body,
        with_model(&replay(&block), CLAUDE, upstream).as_bytes()
    );
    // A changed signature is refused upstream, and the refusal is Anthropic's shape here.
    let changed = block.replace(transcripts::THINKING_SIGNATURE, "EqQBCgIYAhIMchanged=");
    let (status, _, refused) = post(&face, &[], replay(&changed)).await;
    assert_eq!(status, 400);
    let refused = json_of(&refused);
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["error"]["type"], "invalid_request_error");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid `signature`"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_open_model_answers_in_anthropic_stream_events() {
    let face = Face::start().await;
    let body = json!({
        "model": OPEN, "max_tokens": 1024, "stream": true,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "tools": [{"name": "get_weather", "description": "Current weather",
                   "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "auto"},
    });
    let (status, headers, answer) = post(&face, &[], body.to_string()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(header(&headers, "content-type"), Some("text/event-stream"));
    let (events, error) = read_events(&answer);
    assert_eq!(error, None, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(events, transcripts::openai_tool_calls(OPEN).events);
    // Upstream it was a chat completion with the tool as the client described it.
    let sent = face
        .emulator
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/chat/completions")
        .unwrap();
    let sent = json_of(&sent.body);
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        sent["tools"][0]["function"]["parameters"],
        body["tools"][0]["input_schema"]
    );
}

#[tokio::test]
async fn an_open_model_answers_one_message_and_takes_tool_results() {
    let face = Face::start().await;
    let body = json!({
        "model": OPEN, "max_tokens": 1024,
        "messages": [
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18 C and sunny"}]},
        ],
    });
    let (status, _, answer) = post(&face, &[], body.to_string()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let message = json_of(&answer);
    let expected = transcripts::openai_reasoning(OPEN);
    let text: String = expected
        .events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::TextDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["model"], OPEN);
    assert_eq!(message["stop_reason"], "end_turn");
    let texts: String = message["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "text")
        .map(|b| b["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, text);
    let sent = face
        .emulator
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/chat/completions")
        .unwrap();
    let sent = json_of(&sent.body);
    assert_eq!(sent["messages"][1]["tool_calls"][0]["id"], "call_1");
    assert_eq!(
        sent["messages"][1]["tool_calls"][0]["function"]["arguments"],
        r#"{"city":"Paris"}"#
    );
    assert_eq!(
        sent["messages"][2],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "18 C and sunny"})
    );
}

#[tokio::test]
async fn the_gateway_key_is_taken_as_x_api_key_or_bearer_on_every_route() {
    let face = Face::start().await;
    let bearer = format!("Bearer {GATEWAY_KEY}");
    for auth in [
        ("x-api-key", GATEWAY_KEY),
        ("authorization", bearer.as_str()),
    ] {
        let (status, _, _) = face
            .request("GET", "/v1/models", &[auth], Bytes::new())
            .await;
        assert_eq!(status, 200, "{auth:?}");
        let chat = json!({"model": OPEN, "messages": [{"role": "user", "content": "hi"}]});
        let (status, _, _) = face
            .request("POST", "/v1/chat/completions", &[auth], chat.to_string())
            .await;
        assert_eq!(status, 200, "{auth:?}");
        let (status, _, _) = face
            .request("POST", "/v1/messages", &[auth], claude_body(false))
            .await;
        assert_eq!(status, 200, "{auth:?}");
    }
    let before = face.emulator.requests().len();
    let wrong = format!("{GATEWAY_KEY}x");
    for headers in [vec![], vec![("x-api-key", wrong.as_str())]] {
        let (status, _, body) = face
            .request("POST", "/v1/messages", &headers, claude_body(false))
            .await;
        assert_eq!(status, 401);
        let body = json_of(&body);
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "authentication_error");
    }
    assert_eq!(
        face.emulator.requests().len(),
        before,
        "nothing went upstream"
    );
}

#[tokio::test]
async fn refusals_take_anthropics_shape() {
    let face = Face::start().await;
    let cases: [(&str, &str, String, u16, &str); 5] = [
        ("POST", "/v1/messages", "{".into(), 400, "invalid_request_error"),
        (
            "POST",
            "/v1/messages",
            json!({"max_tokens": 5, "messages": []}).to_string(),
            400,
            "invalid_request_error",
        ),
        (
            "POST",
            "/v1/messages",
            json!({"model": "no.such-model", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
                .to_string(),
            404,
            "not_found_error",
        ),
        ("GET", "/v1/messages", String::new(), 405, "invalid_request_error"),
        ("POST", "/v1/messages/batches", "{}".into(), 404, "not_found_error"),
    ];
    for (method, path, body, status, kind) in cases {
        let (got, _, answer) = face
            .request(method, path, &[("x-api-key", GATEWAY_KEY)], body.clone())
            .await;
        assert_eq!(got, status, "{method} {path} {body}");
        let answer = json_of(&answer);
        assert_eq!(answer["type"], "error", "{answer}");
        assert_eq!(answer["error"]["type"], kind, "{answer}");
        assert!(answer["error"]["message"].is_string());
    }
    assert!(upstream_messages(&face).is_empty());
    // An open model's request that the translation refuses names the place.
    let (status, _, answer) = post(
        &face,
        &[],
        json!({"model": OPEN, "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]})
            .to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        json_of(&answer)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages[0].content[0].type")
    );
}

#[tokio::test]
async fn upstream_refusals_keep_their_meaning() {
    let face = Face::start().await;
    // Listing first, so the fault hits the Messages request.
    let (status, _, _) = post(&face, &[], claude_body(false)).await;
    assert_eq!(status, 200);
    face.emulator.inject(
        Fault::anthropic(429, "rate_limit_error", "Too many tokens")
            .with_header("retry-after", "12")
            .times(1),
    );
    let (status, headers, body) = post(&face, &[], claude_body(true)).await;
    assert_eq!(status, 429);
    assert_eq!(header(&headers, "retry-after"), Some("12"));
    assert_eq!(json_of(&body)["error"]["type"], "rate_limit_error");
    face.emulator
        .inject(Fault::anthropic(529, "overloaded_error", "Overloaded").times(1));
    let (status, _, body) = post(&face, &[], claude_body(false)).await;
    assert_eq!(status, 529);
    assert_eq!(json_of(&body)["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn a_claude_stream_cut_upstream_ends_with_whole_events_and_an_error_event() {
    let face = Face::start().await;
    let (status, _, _) = post(&face, &[], claude_body(false)).await;
    assert_eq!(status, 200);
    let transcript = transcripts::anthropic_thinking(CLAUDE);
    let cut_at = transcript.body.len() / 2;
    face.emulator.set_script(
        Script::new(transcript.body.clone())
            .chunked(16)
            .with_fault(StreamFault::CutAfter(cut_at))
            .times(1),
    );
    let (status, _, answer) = post(&face, &[], claude_body(true)).await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&answer);
    let (passed, error) = text.rsplit_once("event: error\n").expect("an error event");
    assert!(transcript.body.starts_with(passed), "{text}");
    assert!(passed.ends_with("\n\n"), "whole events only: {text}");
    let data: Value = json_of(error.trim().strip_prefix("data: ").unwrap().as_bytes());
    assert_eq!(data["type"], "error");
    assert_eq!(data["error"]["type"], "api_error");
}

#[tokio::test]
async fn count_tokens_passes_claude_requests_and_refuses_open_models() {
    let face = Face::start().await;
    let upstream = claude_upstream(&face).await;
    let body = r#"{"model":"claude-opus-4.7","system":"Be brief.","messages":[{"role":"user","content":"What is 27 * 453?"}]}"#;
    let (status, _, answer) = face
        .request(
            "POST",
            "/v1/messages/count_tokens",
            &[
                ("x-api-key", GATEWAY_KEY),
                ("anthropic-version", "2025-06-01"),
            ],
            body,
        )
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let expected = mantle_host::emulator::emulated_input_tokens(&json_of(body.as_bytes()));
    assert_eq!(json_of(&answer), json!({"input_tokens": expected}));
    let sent = face
        .emulator
        .requests()
        .into_iter()
        .find(|r| r.path == "/anthropic/v1/messages/count_tokens")
        .unwrap();
    assert_eq!(sent.body, with_model(body, CLAUDE, upstream).as_bytes());
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));

    let open = json!({"model": OPEN, "messages": [{"role": "user", "content": "hi"}]});
    let (status, _, answer) = face
        .request(
            "POST",
            "/v1/messages/count_tokens",
            &[("x-api-key", GATEWAY_KEY)],
            open.to_string(),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(json_of(&answer)["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn a_full_model_reference_reaches_mantle_as_its_id_and_nothing_else_changes() {
    let face = Face::start().await;
    let upstream = claude_upstream(&face).await;
    let body = claude_body(false).replace(
        &format!("\"{CLAUDE}\""),
        &format!("\"amazon-bedrock-mantle/{CLAUDE}\""),
    );
    let (status, _, answer) = post(&face, &[], body.clone()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let seen = upstream_messages(&face);
    assert_eq!(
        seen[0].body,
        with_model(&claude_body(false), CLAUDE, upstream).as_bytes()
    );
    assert_eq!(
        json_of(&answer)["model"],
        format!("amazon-bedrock-mantle/{CLAUDE}"),
        "answered as the client named it"
    );

    let open = json!({"model": format!("amazon-bedrock-mantle/{OPEN}"), "max_tokens": 64,
                      "messages": [{"role": "user", "content": "hi"}]});
    let (status, _, answer) = post(&face, &[], open.to_string()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(
        json_of(&answer)["model"],
        open["model"],
        "answered as the client named it"
    );
    let sent = face
        .emulator
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/chat/completions")
        .unwrap();
    assert_eq!(json_of(&sent.body)["model"], OPEN);
}
