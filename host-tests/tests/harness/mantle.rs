//! Mantle as it was captured answering, through the component and through the face: catalog
//! ids, the three path prefixes, its errors, its request ids and quota headers.
//!
//! The emulator answers as Mantle does by itself (its own route table, token check, error
//! bodies and headers): a model on the wrong prefix, a prompt over the window, an image to a
//! text-only model, an expired token, prefix caching and request ids are all its own answers
//! to what the gateway sends. Only what has no natural trigger is injected: a 429 (Mantle's
//! was never captured) and the captured stream replayed as bytes.

use bytes::Bytes;
use mantle_host::emulator::answers::ENCRYPTED_REASONING;
use mantle_host::emulator::table::ARRIVED_THIS_MONTH;
use mantle_host::emulator::{
    Emulator, EmulatorConfig, Fault, QUOTA_TOKENS_PER_MINUTE, Script, SeenRequest, config_text,
};
use mantle_host::events::to_chat;
use mantle_host::runtime::{
    Clock, Guest, GuestOptions, chat_request, empty_settings, types, user_text,
};
use mantle_host::transcripts::{ChatEvent, StopReason, Usage};
use serde_json::{Value, json};
use wasmtime::component::ResourceAny;

use crate::clients::captured_stream_with_cache;
use crate::common::{KEY, SECRET, creds, guest};
use crate::face::{Face, GATEWAY_KEY, header};

const BEARER: &str = "mantle-test-key";

/// The catalog id of Claude Opus 4.7, as Mantle lists it.
const CLAUDE_ID: &str = "anthropic.claude-opus-4-7";

/// A /v1 model whose context window a capture shows (ERR-7: "maximum context length is
/// 32768 tokens"), refused in vLLM's words.
const QWEN_32B: &str = "qwen.qwen3-32b";
/// A /openai/v1 model whose context window a capture shows (ERR-7: "exceed model maximum
/// (278528) for openai.gpt-5.5"), refused in Mantle's words.
const GPT_55: &str = "openai.gpt-5.5";

/// A prompt the emulator counts as more than `tokens` tokens (it counts a token per four
/// bytes of text).
fn over(tokens: usize) -> String {
    "word ".repeat(tokens + 16)
}

/// An emulator that lists Mantle's catalog ids only (no `claude-opus-4.7`).
async fn emulator() -> Emulator {
    let emu = Emulator::start(EmulatorConfig {
        static_keys: vec![BEARER.into()],
        credentials: vec![(KEY.into(), SECRET.into())],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    emu.set_models(&[
        CLAUDE_ID,
        "openai.gpt-oss-20b",
        "openai.gpt-oss-120b",
        QWEN_32B,
        "google.gemma-4-31b",
        ARRIVED_THIS_MONTH,
    ]);
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

/// Everything a stream gave (events in the transcripts' type), or how it failed to open.
struct Run {
    events: Vec<ChatEvent>,
    error: Option<types::Error>,
    request_id: Option<String>,
    diagnostics: Vec<String>,
}

async fn chat(g: &mut Guest, c: ResourceAny, model: &str) -> Run {
    chat_saying(g, c, model, "What is the weather in Paris?").await
}

async fn chat_saying(g: &mut Guest, c: ResourceAny, model: &str, text: &str) -> Run {
    let request = chat_request(model, vec![user_text(text)]);
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

/// The chat requests the emulator saw, oldest first.
fn posts(emu: &Emulator) -> Vec<SeenRequest> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect()
}

/// The chat requests the emulator saw: path and model.
fn chats(emu: &Emulator) -> Vec<(String, String)> {
    posts(emu)
        .into_iter()
        .map(|r| {
            let model = r.json().map_or_else(String::new, |b| {
                b["model"].as_str().unwrap_or_default().to_owned()
            });
            (r.path, model)
        })
        .collect()
}

fn paths(emu: &Emulator) -> Vec<String> {
    chats(emu).into_iter().map(|(p, _)| p).collect()
}

fn finished(run: &Run) -> bool {
    matches!(run.events.last(), Some(ChatEvent::Finish(_)))
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
        assert!(finished(&run), "{typed}: {:?}", run.events);
        let sent = emu.requests().pop().unwrap();
        assert_eq!(sent.path, "/anthropic/v1/messages", "{typed}");
        assert_eq!(sent.status, 200, "{typed}: Mantle serves the catalog id");
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
    // STREAM-2's chunks as captured, its usage as its second turn showed it (a prefix-cache
    // hit of 208 tokens), cut every 7 bytes.
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
    let run = chat(&mut g, c, "openai.gpt-oss-20b").await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let answered = posts(&emu).pop().unwrap();
    assert!(answered.request_id.starts_with("req_"));
    assert_eq!(
        run.request_id.as_deref(),
        Some(answered.request_id.as_str())
    );
    // A refusal: Mantle's own (a prompt over the window); the failure carries the id of the
    // request Mantle refused, and its message names it.
    emu.clear_requests();
    let run = chat_saying(&mut g, c, QWEN_32B, &over(32_768)).await;
    let Some(e @ types::Error::ContextOverflow(_)) = &run.error else {
        panic!("{:?}", run.error)
    };
    let refused = posts(&emu).pop().unwrap();
    assert_eq!(refused.status, 400);
    assert!(
        message_of(e).contains("This model's maximum context length is 32768 tokens"),
        "{e:?}"
    );
    assert_eq!(run.request_id.as_deref(), Some(refused.request_id.as_str()));
    assert!(
        message_of(e).contains(&format!("(request id {})", refused.request_id)),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_model_that_arrived_this_month_is_found_on_its_prefix_and_remembered() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, &emu, "").await;
    // No family of the route table covers it: /v1 first, where Mantle answers 401 "Berm is
    // not enabled"; one retry on /openai/v1, which serves it.
    let run = chat(&mut g, c, ARRIVED_THIS_MONTH).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert!(finished(&run), "{:?}", run.events);
    let sent = posts(&emu);
    let seen: Vec<(&str, u16)> = sent.iter().map(|r| (r.path.as_str(), r.status)).collect();
    assert_eq!(
        seen,
        [
            ("/v1/chat/completions", 401),
            ("/openai/v1/chat/completions", 200)
        ],
        "exactly one retry, on the other prefix"
    );
    assert_eq!(sent[0].body, sent[1].body, "the same request, elsewhere");
    assert_eq!(run.request_id.as_deref(), Some(sent[1].request_id.as_str()));
    assert!(
        run.diagnostics
            .iter()
            .any(|d| d.contains("Berm is not enabled") && d.contains("trying /openai/v1")),
        "{:?}",
        run.diagnostics
    );
    // The next request goes straight to the route that worked.
    emu.clear_requests();
    let run = chat(&mut g, c, ARRIVED_THIS_MONTH).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(paths(&emu), ["/openai/v1/chat/completions"]);
    // Gemma 4 is in the table: straight to /openai/v1 from the first request.
    emu.clear_requests();
    let run = chat(&mut g, c, "google.gemma-4-31b").await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(
        chats(&emu),
        [(
            "/openai/v1/chat/completions".to_owned(),
            "google.gemma-4-31b".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_genuine_401_is_never_retried_as_a_route() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = g
        .client(&types::Settings {
            config: Some(config_text(&emu.base_url(), "")),
            bearer_token: Some("not-a-key-mantle-knows".into()),
            ..empty_settings()
        })
        .await
        .unwrap();
    let run = chat(&mut g, c, ARRIVED_THIS_MONTH).await;
    let Some(e @ types::Error::Unauthorized(_)) = &run.error else {
        panic!("{:?}", run.error)
    };
    assert!(message_of(e).contains("Invalid bearer token"), "{e:?}");
    assert_eq!(paths(&emu), ["/v1/chat/completions"], "no retry");
}

#[tokio::test]
async fn berm_on_a_prefix_the_configuration_pins_is_the_wrong_route_not_a_credential() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    // Gemma 4 pinned to the /v1 base by the configuration: Mantle answers "Berm".
    let base = emu.base_url();
    let c = client(
        &mut g,
        &emu,
        &format!(r#"models: [{{ id: "google.gemma-4-31b", baseUrl: "{base}" }}]"#),
    )
    .await;
    let run = chat(&mut g, c, "google.gemma-4-31b").await;
    let Some(e @ types::Error::WrongRoute(_)) = &run.error else {
        panic!("{:?}", run.error)
    };
    assert!(message_of(e).contains("Berm is not enabled"), "{e:?}");
    assert!(
        message_of(e).contains(&format!(
            "google.gemma-4-31b was sent to {base}/chat/completions: give the model its api (and baseUrl)"
        )),
        "{e:?}"
    );
    assert_eq!(
        paths(&emu),
        ["/v1/chat/completions"],
        "what the configuration pins is not retried"
    );
}

#[tokio::test]
async fn an_expired_minted_token_is_minted_again_and_the_request_sent_once_more() {
    let ours = Clock::default();
    let mantles = Clock::default();
    let emu = emulator().await;
    emu.set_clock(mantles.clone());
    let mut g = guest(GuestOptions {
        clock: Some(ours.clone()),
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
    // The token is minted for the listing, then held. Ten minutes later by the gateway's
    // clock, Mantle's clock is past the token's X-Amz-Date + X-Amz-Expires (12 h): the
    // clocks disagree, and the token the gateway still holds is expired for Mantle, while one
    // minted now is not.
    g.list(c).await.unwrap().unwrap();
    ours.advance(600);
    mantles.advance(43_200);
    emu.clear_requests();
    let run = chat(&mut g, c, "openai.gpt-oss-120b").await;
    assert!(run.error.is_none(), "{:?}", run.error);
    assert!(finished(&run));
    let sent = posts(&emu);
    let statuses: Vec<u16> = sent.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 200], "sent once more, once");
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

/// The face's listing, asked for once (it is kept for the hour).
async fn list(face: &Face) -> Value {
    let (status, _, body) = face.models().await;
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

/// A face whose emulator lists catalog ids.
async fn face() -> Face {
    let face = Face::start().await;
    face.emulator.set_models(&[
        CLAUDE_ID,
        "openai.gpt-oss-20b",
        "openai.gpt-5.4",
        GPT_55,
        QWEN_32B,
        "google.gemma-4-31b",
    ]);
    face
}

/// The same question on each surface of the face.
fn bodies(model: &str, text: &str, stream: bool) -> [(&'static str, Value); 3] {
    let messages = json!([{"role": "user", "content": text}]);
    [
        (
            "/v1/chat/completions",
            json!({"model": model, "messages": messages, "stream": stream}),
        ),
        (
            "/v1/responses",
            json!({"model": model, "input": text, "stream": stream}),
        ),
        (
            "/v1/messages",
            json!({"model": model, "messages": messages, "max_tokens": 1024, "stream": stream}),
        ),
    ]
}

/// The request id of the last chat request Mantle answered.
fn last_request_id(face: &Face) -> String {
    posts(&face.emulator).pop().unwrap().request_id
}

#[tokio::test]
async fn the_face_passes_mantles_request_id_and_quota_headers_on() {
    let face = face().await;
    let quota = QUOTA_TOKENS_PER_MINUTE.to_string();
    for stream in [false, true] {
        for (path, body) in bodies("openai.gpt-oss-20b", "What is the boiling point?", stream) {
            let (status, headers, answer) = post(&face, path, &body).await;
            let what = format!("{path} stream {stream}");
            assert_eq!(status, 200, "{what}: {}", String::from_utf8_lossy(&answer));
            let id = last_request_id(&face);
            assert_eq!(
                header(&headers, "x-request-id"),
                Some(id.as_str()),
                "{what}"
            );
            let messages = path == "/v1/messages";
            assert_eq!(
                header(&headers, "request-id"),
                messages.then_some(id.as_str()),
                "{what}: Anthropic's SDKs read request-id"
            );
            assert_eq!(
                header(&headers, "x-amzn-usage-reservation-quota"),
                Some(quota.as_str()),
                "{what}"
            );
            // What this request reserved is gone from the minute's quota.
            let remaining: u64 = header(&headers, "x-amzn-usage-reservation-remaining-quota")
                .unwrap_or_else(|| panic!("{what}: no remaining quota"))
                .parse()
                .unwrap();
            assert!(remaining < QUOTA_TOKENS_PER_MINUTE, "{what}: {remaining}");
            assert_eq!(
                header(&headers, "x-amzn-usage-reservation-spillover"),
                Some("0"),
                "{what}"
            );
        }
    }
    // On a refusal too (Mantle's own: an image to a text-only model), and in its message.
    let image = json!({"model": "openai.gpt-oss-20b", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]});
    let (status, headers, answer) = post(&face, "/v1/chat/completions", &image).await;
    assert_eq!(status, 400);
    let id = last_request_id(&face);
    assert_eq!(header(&headers, "x-request-id"), Some(id.as_str()));
    assert!(header(&headers, "x-amzn-usage-reservation-quota").is_some());
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert!(
        answer["error"]["message"].as_str().unwrap().contains(&id),
        "{answer}"
    );
}

#[tokio::test]
async fn mantles_errors_reach_each_surface_as_its_clients_expect() {
    let face = face().await;
    // A prompt over the window, in vLLM's words on /v1 and in Mantle's on /openai/v1 (the
    // chat completions and Messages surfaces reach GPT-5.5 through the Responses route).
    for (model, window, words) in [
        (QWEN_32B, 32_768, "maximum context length is 32768 tokens"),
        (GPT_55, 278_528, "exceed model maximum (278528)"),
    ] {
        let text = over(window);
        for (path, body) in bodies(model, &text, false) {
            let (status, _, answer) = post(&face, path, &body).await;
            let what = format!("{model} {path}");
            assert_eq!(status, 400, "{what}");
            let sent = posts(&face.emulator).pop().unwrap();
            assert_eq!(sent.status, 400, "{what}: Mantle refused it");
            let answer: Value = serde_json::from_slice(&answer).unwrap();
            let message = answer["error"]["message"].as_str().unwrap();
            if path == "/v1/messages" {
                assert_eq!(answer["error"]["type"], "invalid_request_error", "{answer}");
                assert!(
                    message.starts_with("prompt is too long"),
                    "{what}: {answer}"
                );
            } else {
                assert_eq!(
                    answer["error"]["code"], "context_length_exceeded",
                    "{what}: {answer}"
                );
            }
            assert!(message.contains(words), "{what}: {answer}");
        }
    }
    // An image to a text-only model: a 400 that names it.
    let image = json!({"model": "openai.gpt-oss-20b", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]});
    let (status, _, answer) = post(&face, "/v1/chat/completions", &image).await;
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
    // A 429 without retry-after gets the gateway's backoff as retry-after. Injected: no 429
    // of Mantle's was captured (its envelope is that of its other errors), and the emulator
    // has no quota to exhaust.
    face.emulator.inject(Fault::openai(
        429,
        "throttling",
        "rate_limit_error",
        "Too many tokens per minute",
    ));
    for (path, body) in bodies("openai.gpt-oss-20b", "Hi", false) {
        let (status, headers, _) = post(&face, path, &body).await;
        assert_eq!(status, 429, "{path}");
        assert_eq!(header(&headers, "retry-after"), Some("2"), "{path}");
    }
    face.emulator.clear_fault();
}

#[tokio::test]
async fn berm_on_a_pinned_prefix_is_a_502_wrong_route_through_the_face() {
    // Gemma 4 pinned to the /v1 base in the face's configuration.
    let face = Face::start_with(&[], |config| {
        let text = config.variables.get_mut("mantle_config").unwrap();
        let base = text
            .split("baseUrl: \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned();
        *text = text.replacen(
            &format!("baseUrl: \"{base}\""),
            &format!(
                "baseUrl: \"{base}\", models: [{{ id: \"google.gemma-4-31b\", baseUrl: \"{base}\" }}]"
            ),
            1,
        );
    })
    .await;
    face.emulator
        .set_models(&["google.gemma-4-31b", "openai.gpt-oss-20b"]);
    let (status, headers, answer) = post(
        &face,
        "/v1/chat/completions",
        &bodies("google.gemma-4-31b", "Hi", false)[0].1,
    )
    .await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(header(&headers, "x-should-retry"), Some("false"));
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["error"]["code"], "wrong_route", "{answer}");
    assert_eq!(paths(&face.emulator), ["/v1/chat/completions"]);
}

#[tokio::test]
async fn the_face_echoes_the_model_the_client_named_whatever_mantle_answers() {
    let face = face().await;
    // Mantle's Anthropic route names the dated first-party model (claude-opus-4-7-20250929)
    // and gives ids msg_bdrk_…; the client sees the name it used.
    for model in [
        "claude-opus-4.7",
        "amazon-bedrock-mantle/claude-opus-4-7",
        CLAUDE_ID,
    ] {
        for stream in [true, false] {
            for (path, body) in bodies(model, "Hi", stream) {
                face.emulator.clear_requests();
                let (status, _, answer) = post(&face, path, &body).await;
                let text = String::from_utf8_lossy(&answer);
                let what = format!("{model} {path} stream {stream}");
                assert_eq!(status, 200, "{what}: {text}");
                assert!(!text.contains("20250929"), "{what}: {text}");
                let sent = face.emulator.requests().pop().unwrap();
                assert_eq!(sent.path, "/anthropic/v1/messages");
                assert_eq!(sent.json().unwrap()["model"], CLAUDE_ID, "{what}");
                assert!(
                    text.contains(&format!(r#""model":"{model}""#)),
                    "{what}: {text}"
                );
                if path == "/v1/messages" {
                    // Everything else passes as Mantle sent it.
                    assert!(text.contains(r#""id":"msg_bdrk_"#), "{what}: {text}");
                }
            }
        }
    }
}

#[tokio::test]
async fn gpt5_encrypted_reasoning_reaches_each_surface_for_replay() {
    let face = face().await;
    let (status, _, answer) = post(
        &face,
        "/v1/responses",
        &json!({"model": "openai.gpt-5.4", "input": "Hi"}),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    let reasoning: Vec<&Value> = answer["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "reasoning")
        .collect();
    assert_eq!(reasoning.len(), 1, "{answer}");
    assert_eq!(reasoning[0]["encrypted_content"], ENCRYPTED_REASONING);
    let (status, _, answer) = post(
        &face,
        "/v1/messages",
        &json!({"model": "openai.gpt-5.4", "max_tokens": 1024,
                "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(
        answer["content"][0],
        json!({"type": "redacted_thinking", "data": ENCRYPTED_REASONING}),
        "{answer}"
    );
}

#[tokio::test]
async fn the_face_lists_the_captured_models_with_the_created_mantle_gave() {
    let face = Face::start().await;
    let captured: Value = serde_json::from_str(include_str!(
        "../../../fixtures/mantle/models-us-east-2.json"
    ))
    .unwrap();
    let listed = EmulatorConfig::captured("us-east-2").unwrap().models;
    let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
    face.emulator.set_models(&listed);
    // Twice: the second listing comes from the key-value entry of the first instance.
    for _ in 0..2 {
        let listing = list(&face).await;
        let data = listing["data"].as_array().unwrap();
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
    // A model no family of the route table covers, which Mantle serves on /v1.
    let model = "newvendor.model-1";
    face.emulator.set_models(&[model, "openai.gpt-oss-20b"]);
    list(&face).await;
    let key_of = |face: &Face| {
        face.running
            .gateway
            .key_value()
            .keys()
            .next()
            .unwrap()
            .clone()
    };
    let key = key_of(&face);
    let entry_of = |face: &Face| -> Value {
        serde_json::from_slice(&face.running.gateway.key_value()[key.as_str()]).unwrap()
    };
    let with_route = |face: &Face, prefix: &str, confirmed: bool| {
        let mut entry = entry_of(face);
        entry["routes"] = json!([{"id": model, "api": "openai-completions", "prefix": prefix,
                                  "confirmed": confirmed, "at": crate::common::now()}]);
        face.running
            .gateway
            .put_key_value(&key, serde_json::to_vec(&entry).unwrap());
    };
    let body = json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]});
    // An earlier instance was pointed at /openai/v1 for this model, not yet confirmed. There
    // Mantle answers "isn't supported on this route": one retry on the other prefix.
    with_route(&face, "/openai/v1", false);
    let (status, _, answer) = post(&face, "/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let seen: Vec<(String, u16)> = posts(&face.emulator)
        .into_iter()
        .map(|r| (r.path, r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("/openai/v1/chat/completions".to_owned(), 400),
            ("/v1/chat/completions".to_owned(), 200)
        ]
    );
    // What worked is kept in the same entry as the listing.
    let entry = entry_of(&face);
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
    // The next instance goes straight there.
    face.emulator.clear_requests();
    let (status, _, _) = post(&face, "/v1/chat/completions", &body).await;
    assert_eq!(status, 200);
    assert_eq!(paths(&face.emulator), ["/v1/chat/completions"]);
    // A route confirmed elsewhere (the model moved since): used without a retry, refused,
    // and forgotten for the next instances, which find the model again.
    with_route(&face, "/openai/v1", true);
    face.emulator.clear_requests();
    let (status, _, answer) = post(&face, "/v1/chat/completions", &body).await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(paths(&face.emulator), ["/openai/v1/chat/completions"]);
    assert_eq!(entry_of(&face)["routes"], json!([]), "{}", entry_of(&face));
    face.emulator.clear_requests();
    let (status, _, _) = post(&face, "/v1/chat/completions", &body).await;
    assert_eq!(status, 200);
    assert_eq!(paths(&face.emulator), ["/v1/chat/completions"]);
}
