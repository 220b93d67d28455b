//! Mantle as it was captured answering, through the component and through the face: catalog
//! ids, the three path prefixes, its errors, its request ids and quota headers.
//!
//! Where the emulator does not answer as Mantle yet, the answer is injected ([`Fault`], with
//! the bodies of `fixtures/mantle/errors.json` and the captured stream), so each test says
//! what the gateway does with Mantle's own words.

use bytes::Bytes;
use mantle_host::emulator::{Emulator, EmulatorConfig, Fault, Script, config_text};
use mantle_host::events::to_chat;
use mantle_host::runtime::{
    Clock, Guest, GuestOptions, chat_request, empty_settings, types, user_text,
};
use mantle_host::transcripts::{ChatEvent, StopReason, Usage};
use serde_json::{Value, json};
use wasmtime::component::ResourceAny;

use crate::clients::{captured_error, captured_stream_with_cache};
use crate::common::{KEY, SECRET, creds, guest};
use crate::face::{Face, GATEWAY_KEY, header};

const BEARER: &str = "mantle-test-key";

/// The catalog id of Claude Opus 4.7, as Mantle lists it.
const CLAUDE_ID: &str = "anthropic.claude-opus-4-7";

/// An emulator that lists Mantle's catalog ids only (no `claude-opus-4.7`).
async fn emulator() -> Emulator {
    let emu = Emulator::start(EmulatorConfig {
        static_keys: vec![BEARER.into()],
        credentials: vec![(KEY.into(), SECRET.into())],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    emu.set_models(&[CLAUDE_ID, "openai.gpt-oss-20b", "openai.gpt-oss-120b"]);
    emu
}

async fn client(g: &mut Guest, emu: &Emulator, extra: &str) -> ResourceAny {
    g.client(&types::Settings {
        config: Some(config_text(&emu.base_url(), extra)),
        bearer_token: Some(BEARER.into()),
        ..empty_settings()
    })
    .await
    .unwrap()
}

/// Everything a stream gave (events in the provider's type), or how it failed to open.
struct Run {
    events: Vec<ChatEvent>,
    error: Option<types::Error>,
    request_id: Option<String>,
    diagnostics: Vec<String>,
}

async fn chat(g: &mut Guest, c: ResourceAny, model: &str) -> Run {
    let request = chat_request(model, vec![user_text("What is the weather in Paris?")]);
    let stream = match g.chat_stream(c, &request).await.unwrap() {
        Ok(stream) => stream,
        Err(f) => {
            return Run {
                events: Vec::new(),
                error: Some(f.error),
                request_id: f.request_id,
                diagnostics: Vec::new(),
            };
        }
    };
    let request_id = g.request_id(stream).await.unwrap();
    let diagnostics = g.stream_diagnostics(stream).await.unwrap();
    let mut events = Vec::new();
    let mut error = None;
    while let Some(next) = g.next_event(stream).await.unwrap() {
        match next {
            Ok(e) => events.push(to_chat(&e)),
            Err(e) => error = Some(e),
        }
    }
    Run {
        events,
        error,
        request_id,
        diagnostics,
    }
}

fn message_of(e: &types::Error) -> String {
    mantle_host::runtime::describe_error(e)
}

/// The chat requests the emulator saw: path and model.
fn chats(emu: &Emulator) -> Vec<(String, String)> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| {
            let model = r.json().map_or_else(String::new, |b| {
                b["model"].as_str().unwrap_or_default().to_owned()
            });
            (r.path, model)
        })
        .collect()
}

/// A streamed answer of `body` with the headers Mantle sends, for any path.
fn mantle_stream(body: String, request_id: &str) -> Fault {
    Fault {
        status: 200,
        body,
        headers: Vec::new(),
        times: None,
    }
    .with_header("content-type", "text/event-stream")
    .with_header("x-amzn-requestid", request_id)
    .with_header("x-request-id", request_id)
}

#[tokio::test]
async fn every_form_of_the_claude_id_reaches_the_anthropic_route_as_the_catalog_id() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    // A Genesis configuration's entry, under the id it uses, describes the catalog model.
    let c = client(
        &mut g,
        &emu,
        r#"models: [{ id: "claude-opus-4.7", api: "anthropic-messages", maxTokens: 64000 }]"#,
    )
    .await;
    for typed in [
        "claude-opus-4.7",
        "claude-opus-4-7",
        "amazon-bedrock-mantle/claude-opus-4.7",
        "us.anthropic.claude-opus-4-7",
        "global.anthropic.claude-opus-4-7",
        CLAUDE_ID,
    ] {
        emu.clear_requests();
        let run = chat(&mut g, c, typed).await;
        assert!(run.error.is_none(), "{typed}: {:?}", run.error);
        assert!(
            matches!(run.events.last(), Some(ChatEvent::Finish(_))),
            "{typed}: {:?}",
            run.events
        );
        let sent = emu.requests().pop().unwrap();
        assert_eq!(sent.path, "/anthropic/v1/messages", "{typed}");
        let body = sent.json().unwrap();
        assert_eq!(body["model"], CLAUDE_ID, "{typed}");
        assert_eq!(
            body["max_tokens"], 64_000,
            "{typed}: the configured entry applies"
        );
        // A profile prefix is removed, and said so.
        assert_eq!(
            run.diagnostics
                .iter()
                .any(|d| d.contains("inference-profile prefix")),
            typed.contains(".anthropic."),
            "{typed}: {:?}",
            run.diagnostics
        );
    }
    let listing = g.list(c).await.unwrap().unwrap();
    let claude: Vec<&str> = listing
        .models
        .iter()
        .map(|m| m.id.as_str())
        .filter(|id| id.contains("claude"))
        .collect();
    assert_eq!(claude, [CLAUDE_ID], "one row, under the catalog id");
}

#[tokio::test]
async fn a_model_mantle_does_not_list_is_not_found_naming_the_claude_models_it_does() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, &emu, "").await;
    let run = chat(&mut g, c, "claude-opus-4.9").await;
    let Some(types::Error::ModelNotFound(m)) = &run.error else {
        panic!("{:?}", run.error)
    };
    assert!(m.contains("\"claude-opus-4.9\""), "{m}");
    assert!(
        m.contains(&format!("Claude models it lists: {CLAUDE_ID}")),
        "{m}"
    );
    assert!(!m.contains("gpt-oss"), "only the Claude models: {m}");
    assert!(chats(&emu).is_empty(), "nothing was asked of Mantle");
}

#[tokio::test]
async fn the_captured_stream_survives_the_component_whole() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, &emu, "").await;
    emu.set_script(Script::new(captured_stream_with_cache()).chunked(7));
    let run = chat(&mut g, c, "openai.gpt-oss-20b").await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let reasoning: String = run
        .events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::ReasoningDelta(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        reasoning.starts_with("The user query: \"What is the boiling point"),
        "{reasoning}"
    );
    assert!(
        !run.events
            .iter()
            .any(|e| matches!(e, ChatEvent::TextDelta(t) if t.is_empty())),
        "no empty text from the first chunk's content"
    );
    let n = run.events.len();
    assert_eq!(
        run.events[n - 4..],
        [
            ChatEvent::ToolCallStart {
                index: 0,
                id: "chatcmpl-tool-a6315f295fd98b2a".into(),
                name: "get_boiling_point".into(),
            },
            ChatEvent::ToolCallArguments {
                index: 0,
                arguments: r#"{"liquid_name":"myawesomeliquid"}"#.into(),
            },
            ChatEvent::Usage(Usage {
                input_tokens: 229 - 208,
                output_tokens: 110,
                cache_read_tokens: Some(208),
                cache_write_tokens: None,
                reasoning_tokens: None,
            }),
            ChatEvent::Finish(StopReason::ToolCalls),
        ]
    );
}

#[tokio::test]
async fn request_ids_come_with_the_stream_and_with_failures() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, &emu, "").await;
    // The listing first, so the answers injected below reach the chat requests only.
    g.list(c).await.unwrap().unwrap();
    let id = "req_ujzdegxdncf32epf3dhodzdocis2jhtlgmxgedn73u55xtplpft7";
    emu.inject(mantle_stream(captured_stream_with_cache(), id).times(1));
    let run = chat(&mut g, c, "openai.gpt-oss-20b").await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(run.request_id.as_deref(), Some(id));
    // A refusal: the failure carries it, and its message names it.
    emu.inject(captured_error("context-overflow-mantle", "openai.gpt-oss-20b").times(1));
    let run = run_of(&mut g, c).await;
    let Some(e @ types::Error::ContextOverflow(_)) = &run.error else {
        panic!("{:?}", run.error)
    };
    assert!(message_of(e).contains("exceed model maximum"), "{e:?}");
    assert_eq!(
        run.request_id.as_deref(),
        Some("req_ujzdegxdncf32epf3dhodzdocis2jhtlgmxgedn73u55xtplpft7")
    );
    assert!(message_of(e).contains("(request id req_"), "{e:?}");
}

async fn run_of(g: &mut Guest, c: ResourceAny) -> Run {
    chat(g, c, "openai.gpt-oss-20b").await
}

#[tokio::test]
async fn a_wrong_prefix_answer_earns_one_retry_on_the_other_prefix_and_a_bad_token_none() {
    let emu = emulator().await;
    // Gemma 5 is no family the route table knows: /v1 first.
    emu.set_models(&["google.gemma-5-9b", "google.gemma-4-31b", CLAUDE_ID]);
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, &emu, "").await;
    g.list(c).await.unwrap().unwrap();
    emu.inject(captured_error("berm-not-enabled", "").times(1));
    let run = chat(&mut g, c, "google.gemma-5-9b").await;
    let paths: Vec<String> = chats(&emu).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        ["/v1/chat/completions", "/openai/v1/chat/completions"],
        "exactly one retry, on the other prefix"
    );
    let sent: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(sent[0].body, sent[1].body, "the same request, elsewhere");
    // Whatever the retry's answer, the 401 "Berm" was not reported as a broken credential.
    assert!(
        !matches!(run.error, Some(types::Error::Unauthorized(_))),
        "{:?}",
        run.error
    );
    // A genuine 401 (a bad token) is never retried as a route.
    emu.clear_requests();
    emu.inject(captured_error("invalid-bearer-token", "").times(1));
    let run = chat(&mut g, c, "google.gemma-5-9b").await;
    assert!(
        matches!(run.error, Some(types::Error::Unauthorized(_))),
        "{:?}",
        run.error
    );
    assert_eq!(chats(&emu).len(), 1);
    // Gemma 4 is in the table: straight to /openai/v1, where Mantle serves it.
    emu.clear_requests();
    emu.inject(mantle_stream(captured_stream_with_cache(), "req_x").times(1));
    let run = chat(&mut g, c, "google.gemma-4-31b").await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(
        chats(&emu),
        [(
            "/openai/v1/chat/completions".to_owned(),
            "google.gemma-4-31b".to_owned()
        )]
    );
    // And a Berm answer there is the wrong route, never a credential to fix.
    emu.clear_requests();
    emu.inject(captured_error("berm-not-enabled", "").times(1));
    let run = chat(&mut g, c, "google.gemma-4-31b").await;
    assert!(
        matches!(run.error, Some(types::Error::WrongRoute(_))),
        "{:?}",
        run.error
    );
    assert_eq!(chats(&emu).len(), 1, "a known family is not retried");
}

#[tokio::test]
async fn an_expired_minted_token_is_minted_again_and_the_request_sent_once_more() {
    let clock = Clock::default();
    let emu = emulator().await;
    emu.set_clock(clock.clone());
    let mut g = guest(GuestOptions {
        clock: Some(clock.clone()),
        ..GuestOptions::default()
    })
    .await;
    let c = g
        .client(&types::Settings {
            config: Some(config_text(&emu.base_url(), "")),
            credentials: Some(creds(KEY, SECRET, None)),
            region: Some("us-east-1".into()),
            ..empty_settings()
        })
        .await
        .unwrap();
    // The token is minted for the listing, then held; a few seconds later Mantle calls it
    // expired (its clock and ours disagree).
    g.list(c).await.unwrap().unwrap();
    clock.advance(5);
    emu.clear_requests();
    emu.inject(captured_error("signature-expired", "").times(1));
    let run = chat(&mut g, c, "openai.gpt-oss-120b").await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert!(matches!(run.events.last(), Some(ChatEvent::Finish(_))));
    let sent: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(sent.len(), 2, "sent once more, once");
    let auth = |i: usize| sent[i].header("authorization").unwrap().to_owned();
    assert!(auth(1).starts_with("Bearer bedrock-api-key-"));
    assert_ne!(auth(0), auth(1), "with a token minted again");
    assert!(
        run.diagnostics
            .iter()
            .any(|d| d.contains("signature expired")),
        "{:?}",
        run.diagnostics
    );
}

// ---- Through the face ------------------------------------------------------------------------

/// Posts `body` to `path` with the gateway key; what came back.
async fn post(face: &Face, path: &str, body: &Value) -> (u16, Vec<(String, String)>, Bytes) {
    let auth = format!("Bearer {GATEWAY_KEY}");
    face.request(
        "POST",
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
        ],
        body.to_string(),
    )
    .await
}

/// A face whose emulator lists catalog ids, its listing already kept, so what is injected
/// answers chat requests only.
async fn face() -> Face {
    let face = Face::start().await;
    face.emulator
        .set_models(&[CLAUDE_ID, "openai.gpt-oss-20b", "google.gemma-4-31b"]);
    let auth = format!("Bearer {GATEWAY_KEY}");
    let (status, _, _) = face
        .request(
            "GET",
            "/v1/models",
            &[("authorization", &auth)],
            Bytes::new(),
        )
        .await;
    assert_eq!(status, 200);
    face
}

fn bodies(model: &str, stream: bool) -> [(&'static str, Value); 3] {
    let messages = json!([{"role": "user", "content": "What is the boiling point?"}]);
    [
        (
            "/v1/chat/completions",
            json!({"model": model, "messages": messages, "stream": stream}),
        ),
        (
            "/v1/responses",
            json!({"model": model, "input": "What is the boiling point?", "stream": stream}),
        ),
        (
            "/v1/messages",
            json!({"model": model, "messages": messages, "max_tokens": 1024, "stream": stream}),
        ),
    ]
}

#[tokio::test]
async fn the_face_passes_mantles_request_id_and_quota_headers_on() {
    let face = face().await;
    let id = "req_ujzdegxdncf32epf3dhodzdocis2jhtlgmxgedn73u55xtplpft7";
    face.emulator.inject(
        mantle_stream(captured_stream_with_cache(), id)
            .with_header("x-amzn-usage-reservation-quota", "4000000")
            .with_header("x-amzn-usage-reservation-remaining-quota", "3998771")
            .with_header("x-amzn-usage-reservation-spillover", "0"),
    );
    for stream in [false, true] {
        for (path, body) in bodies("openai.gpt-oss-20b", stream) {
            let (status, headers, answer) = post(&face, path, &body).await;
            assert_eq!(
                status,
                200,
                "{path} {stream}: {}",
                String::from_utf8_lossy(&answer)
            );
            assert_eq!(
                header(&headers, "x-request-id"),
                Some(id),
                "{path} {stream}"
            );
            assert_eq!(
                header(&headers, "x-amzn-usage-reservation-remaining-quota"),
                Some("3998771"),
                "{path} {stream}"
            );
            assert_eq!(
                header(&headers, "x-amzn-usage-reservation-spillover"),
                Some("0")
            );
            let messages = path == "/v1/messages";
            assert_eq!(
                header(&headers, "request-id"),
                messages.then_some(id),
                "{path}: Anthropic's SDKs read request-id"
            );
        }
    }
    // On a refusal too, and in its message.
    face.emulator.inject(
        captured_error("context-overflow-mantle", "openai.gpt-oss-20b")
            .with_header("x-amzn-requestid", "req_refused"),
    );
    let (status, headers, answer) = post(
        &face,
        "/v1/chat/completions",
        &bodies("openai.gpt-oss-20b", false)[0].1,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(header(&headers, "x-request-id"), Some("req_refused"));
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("req_refused"),
        "{answer}"
    );
}

#[tokio::test]
async fn mantles_errors_reach_each_surface_as_its_clients_expect() {
    let face = face().await;
    for name in ["context-overflow-mantle", "context-overflow-vllm"] {
        face.emulator
            .inject(captured_error(name, "openai.gpt-oss-20b"));
        for (path, body) in bodies("openai.gpt-oss-20b", false) {
            let (status, _, answer) = post(&face, path, &body).await;
            assert_eq!(status, 400, "{name} {path}");
            let answer: Value = serde_json::from_slice(&answer).unwrap();
            if path == "/v1/messages" {
                assert_eq!(answer["error"]["type"], "invalid_request_error", "{answer}");
                assert!(
                    answer["error"]["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("prompt is too long"),
                    "{answer}"
                );
            } else {
                assert_eq!(
                    answer["error"]["code"], "context_length_exceeded",
                    "{name} {path}: {answer}"
                );
            }
        }
    }
    // An image to a text-only model: a 400 that names it.
    face.emulator
        .inject(captured_error("image-modality", "openai.gpt-oss-20b"));
    let (status, _, answer) = post(
        &face,
        "/v1/chat/completions",
        &bodies("openai.gpt-oss-20b", false)[0].1,
    )
    .await;
    assert_eq!(status, 400);
    let message = serde_json::from_slice::<Value>(&answer).unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("Model does not support image modality"),
        "{message}"
    );
    assert!(
        message.contains("openai.gpt-oss-20b takes text only"),
        "{message}"
    );
    // A 429 without retry-after gets the gateway's backoff as retry-after.
    face.emulator.inject(Fault::openai(
        429,
        "throttling",
        "rate_limit_error",
        "Too many tokens per minute",
    ));
    for (path, body) in bodies("openai.gpt-oss-20b", false) {
        let (status, headers, _) = post(&face, path, &body).await;
        assert_eq!(status, 429, "{path}");
        assert_eq!(header(&headers, "retry-after"), Some("2"), "{path}");
    }
    // Berm on the route the table gives Gemma 4: the gateway's route is wrong, not its key.
    face.emulator.inject(captured_error("berm-not-enabled", ""));
    let (status, headers, answer) = post(
        &face,
        "/v1/chat/completions",
        &bodies("google.gemma-4-31b", false)[0].1,
    )
    .await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(header(&headers, "x-should-retry"), Some("false"));
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["error"]["code"], "wrong_route", "{answer}");
}

#[tokio::test]
async fn the_face_echoes_the_model_the_client_named_whatever_mantle_answers() {
    let face = face().await;
    // Mantle's Anthropic route names the dated first-party model.
    let stream = concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"msg_bdrk_v4seh2kvj72ceuvw75efr6edt4sywb5wkh7dnsipzz7fk4zri3r2","type":"message","role":"assistant","model":"claude-opus-4-7-20250929","content":[],"stop_reason":null,"stop_sequence":null,"stop_details":null,"usage":{"input_tokens":12,"output_tokens":1}}}"#,
        "\n\nevent: content_block_start\n",
        r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        "\n\nevent: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        "\n\nevent: content_block_stop\n",
        r#"data: {"type":"content_block_stop","index":0}"#,
        "\n\nevent: message_delta\n",
        r#"data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}"#,
        "\n\nevent: message_stop\n",
        r#"data: {"type":"message_stop"}"#,
        "\n\n",
    );
    face.emulator
        .inject(mantle_stream(stream.to_owned(), "req_echo"));
    for model in [
        "claude-opus-4.7",
        "amazon-bedrock-mantle/claude-opus-4-7",
        CLAUDE_ID,
    ] {
        for (path, body) in bodies(model, true) {
            face.emulator.clear_requests();
            let (status, _, answer) = post(&face, path, &body).await;
            let text = String::from_utf8_lossy(&answer);
            assert_eq!(status, 200, "{model} {path}: {text}");
            assert!(!text.contains("20250929"), "{model} {path}: {text}");
            let sent = face.emulator.requests().pop().unwrap();
            assert_eq!(sent.path, "/anthropic/v1/messages");
            assert_eq!(sent.json().unwrap()["model"], CLAUDE_ID, "{model} {path}");
            let named = match path {
                "/v1/messages" => text
                    .lines()
                    .find(|l| l.starts_with("data:") && l.contains("message_start"))
                    .map(|l| l.contains(&format!(r#""model":"{model}""#))),
                _ => Some(text.contains(&format!(r#""model":"{model}""#))),
            };
            assert_eq!(named, Some(true), "{model} {path}: {text}");
            if path == "/v1/messages" {
                // Everything else passes as Mantle sent it.
                assert!(
                    text.contains("msg_bdrk_v4seh2kvj72ceuvw75efr6edt4sywb5wkh7dnsipzz7fk4zri3r2")
                );
            }
        }
    }
}

#[tokio::test]
async fn the_face_lists_the_captured_models_with_the_created_mantle_gave() {
    let face = Face::start().await;
    face.emulator.set_models_body(Some(
        include_str!("../../../fixtures/mantle/models-us-east-2.json").to_owned(),
    ));
    let auth = format!("Bearer {GATEWAY_KEY}");
    let captured: Value = serde_json::from_str(include_str!(
        "../../../fixtures/mantle/models-us-east-2.json"
    ))
    .unwrap();
    // Twice: the second listing comes from the key-value entry of the first instance.
    for _ in 0..2 {
        let (status, _, body) = face
            .request(
                "GET",
                "/v1/models",
                &[("authorization", &auth)],
                Bytes::new(),
            )
            .await;
        assert_eq!(status, 200);
        let listed: Value = serde_json::from_slice(&body).unwrap();
        let data = listed["data"].as_array().unwrap();
        for m in captured["data"].as_array().unwrap() {
            let mine = data.iter().find(|d| d["id"] == m["id"]).unwrap();
            assert_eq!(mine["created"], m["created"], "{}", m["id"]);
        }
    }
    assert_eq!(face.emulator.count("/v1/models"), 1);
}

#[tokio::test]
async fn a_route_learned_is_kept_with_the_listing_for_the_next_instances() {
    let face = Face::start().await;
    let model = "newvendor.model-1";
    face.emulator.set_models(&[model, "openai.gpt-oss-20b"]);
    let auth = format!("Bearer {GATEWAY_KEY}");
    let (status, _, _) = face
        .request(
            "GET",
            "/v1/models",
            &[("authorization", &auth)],
            Bytes::new(),
        )
        .await;
    assert_eq!(status, 200);
    let kept = face.running.gateway.key_value();
    let (key, value) = kept.iter().next().unwrap();
    // An earlier instance was pointed at /openai/v1 for this model, not yet confirmed.
    let mut entry: Value = serde_json::from_slice(value).unwrap();
    let now = crate::common::now();
    entry["routes"] = json!([{"id": model, "api": "openai-completions", "prefix": "/openai/v1",
                              "confirmed": false, "at": now}]);
    face.running
        .gateway
        .put_key_value(key, serde_json::to_vec(&entry).unwrap());
    // There Mantle answers "Berm": one retry on the other prefix, which serves it.
    face.emulator
        .inject(captured_error("berm-not-enabled", "").times(1));
    let body = json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]});
    let (status, _, answer) = post(&face, "/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let paths: Vec<String> = chats(&face.emulator).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        ["/openai/v1/chat/completions", "/v1/chat/completions"]
    );
    // What worked is kept in the same entry as the listing.
    let entry: Value =
        serde_json::from_slice(&face.running.gateway.key_value()[key.as_str()]).unwrap();
    let routes = entry["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 1, "{entry}");
    assert_eq!(routes[0]["id"], model);
    assert_eq!(routes[0]["prefix"], "/v1");
    assert_eq!(routes[0]["api"], "openai-completions");
    assert_eq!(routes[0]["confirmed"], true);
    assert!(
        entry["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == model)
    );
    // The next instance goes straight there, and a confirmed route is not retried.
    face.emulator.clear_requests();
    face.emulator
        .inject(captured_error("berm-not-enabled", "").times(1));
    let (status, _, answer) = post(&face, "/v1/chat/completions", &body).await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&answer));
    let paths: Vec<String> = chats(&face.emulator).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["/v1/chat/completions"]);
    // Refused there, the route is forgotten, for the next instances too.
    let entry: Value =
        serde_json::from_slice(&face.running.gateway.key_value()[key.as_str()]).unwrap();
    assert_eq!(entry["routes"], json!([]), "{entry}");
}
