//! Chat streaming through the component over both routes, against the emulator's scripted
//! transcripts in the real wire formats, with chunking, delays and faults.

use std::time::{Duration, Instant};

use mantle_host::emulator::{
    DEFAULT_MODELS, Emulator, EmulatorConfig, Fault, Script, StreamFault, config_text,
};
use mantle_host::events::to_chat;
use mantle_host::runtime::{
    Guest, GuestOptions, Stream, chat_request, empty_settings, types, user_text,
};
use mantle_host::transcripts::ChatEvent;
use mantle_host::transcripts::{self, Route, Transcript};
use wasmtime::component::ResourceAny;

use crate::common::{guest, refused_base_url};

const KEY: &str = "chat-test-key";

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        static_keys: vec![KEY.into()],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

fn config(emu: &Emulator, extra: &str) -> String {
    config_text(&emu.base_url(), &format!("discovery: false, {extra}"))
}

async fn client(g: &mut Guest, config: String) -> ResourceAny {
    g.client(&types::Settings {
        config: Some(config),
        bearer_token: Some(KEY.into()),
        ..empty_settings()
    })
    .await
    .unwrap()
}

fn request(model: &str, prompt: &str) -> types::ChatRequest {
    chat_request(
        model,
        vec![
            types::Message::System("Be brief.".into()),
            user_text(prompt),
        ],
    )
}

fn model_of(t: &Transcript) -> &'static str {
    match t.route {
        Route::OpenAi => transcripts::OPENAI_MODEL,
        Route::Anthropic => transcripts::CLAUDE_MODEL,
        Route::Responses | Route::OpenaiResponses => transcripts::GPT5_MODEL,
    }
}

/// Everything a stream yields: its events, then the error that ended it, if any.
struct Outcome {
    events: Vec<ChatEvent>,
    error: Option<types::Error>,
}

async fn drain(g: &mut Guest, stream: Stream) -> Outcome {
    let mut events = Vec::new();
    let mut error = None;
    while let Some(next) = g.next_event(stream).await.unwrap() {
        match next {
            Ok(e) => events.push(to_chat(&e)),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
        assert!(events.len() < 100_000, "the stream does not end");
    }
    if error.is_some() {
        assert!(
            g.next_event(stream).await.unwrap().is_none(),
            "events after an error"
        );
    }
    assert!(
        g.next_event(stream).await.unwrap().is_none(),
        "the stream restarted"
    );
    Outcome { events, error }
}

async fn run(g: &mut Guest, c: ResourceAny, req: &types::ChatRequest) -> Outcome {
    match g.chat_stream(c, req).await.unwrap() {
        Ok(stream) => drain(g, stream).await,
        Err(f) => Outcome {
            events: Vec::new(),
            error: Some(f.error),
        },
    }
}

fn kind(e: &types::Error) -> &'static str {
    use types::Error as E;
    match e {
        E::Configuration(_) => "configuration",
        E::MissingCredentials(_) => "missing-credentials",
        E::Unauthorized(_) => "unauthorized",
        E::Forbidden(_) => "forbidden",
        E::ModelNotFound(_) => "model-not-found",
        E::WrongRoute(_) => "wrong-route",
        E::RateLimited(_) => "rate-limited",
        E::InvalidRequest(_) => "invalid-request",
        E::ContextOverflow(_) => "context-overflow",
        E::UpstreamUnavailable(_) => "upstream-unavailable",
        E::Timeout(_) => "timeout",
        E::Protocol(_) => "protocol",
        E::Truncated(_) => "truncated",
        E::NotImplemented(_) => "not-implemented",
    }
}

fn expected_kind(e: &transcripts::ExpectedError) -> &'static str {
    e.kind
}

#[tokio::test]
async fn every_transcript_streams_its_exact_events() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, config(&emu, "")).await;
    for t in transcripts::all() {
        for chunk in [None, Some(1), Some(7), Some(64)] {
            let mut script = Script::from(t.clone());
            script.chunk_size = chunk;
            emu.set_script(script);
            let out = run(&mut g, c, &request(model_of(&t), "hi")).await;
            assert_eq!(out.events, t.events, "{} chunked {chunk:?}", t.name);
            match (&out.error, &t.error) {
                (None, None) => {}
                (Some(got), Some(want)) => {
                    assert_eq!(kind(got), expected_kind(want), "{}: {got:?}", t.name)
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", t.name),
            }
        }
    }
}

#[tokio::test]
async fn text_and_tool_call_streams_survive_a_boundary_at_every_byte() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, config(&emu, "")).await;
    let model = transcripts::OPENAI_MODEL;
    let claude = transcripts::CLAUDE_MODEL;
    for t in [
        transcripts::openai_text(model),
        transcripts::openai_tool_calls(model),
        transcripts::anthropic_text(claude),
        transcripts::anthropic_tool_use(claude),
    ] {
        for chunk in 1..=t.body.len() {
            emu.set_script(Script::from(t.clone()).chunked(chunk));
            let out = run(&mut g, c, &request(model_of(&t), "hi")).await;
            assert!(
                out.error.is_none(),
                "{} chunk {chunk}: {:?}",
                t.name,
                out.error
            );
            assert_eq!(out.events, t.events, "{} chunk {chunk}", t.name);
        }
    }
}

#[tokio::test]
async fn requests_carry_what_each_route_needs() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(
        &mut g,
        config(
            &emu,
            "models: [{ id: \"openai.gpt-oss-120b\", maxTokens: 1000 }]",
        ),
    )
    .await;

    let mut req = request(transcripts::OPENAI_MODEL, "weather?");
    req.reasoning_effort = Some(types::ReasoningEffort::High);
    req.tools = vec![types::Tool {
        name: "get_weather".into(),
        description: Some("Weather of a city".into()),
        parameters: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
        strict: None,
    }];
    // Mantle sends each tool call whole; this answer streams the arguments in pieces.
    emu.set_script(
        Script::from(transcripts::openai_tool_call_pieces(
            transcripts::OPENAI_MODEL,
        ))
        .times(1),
    );
    let out = run(&mut g, c, &req).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    let sent = emu.requests().pop().unwrap();
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer chat-test-key"));
    let body = sent.json().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["model"], transcripts::OPENAI_MODEL);
    assert_eq!(body["max_tokens"], 1000);
    assert_eq!(body["reasoning_effort"], "high");
    assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(body["messages"][0]["role"], "system");
    // The tool calls came through piece by piece.
    let starts = out
        .events
        .iter()
        .filter(|e| matches!(e, ChatEvent::ToolCallStart { .. }))
        .count();
    let pieces = out
        .events
        .iter()
        .filter(|e| matches!(e, ChatEvent::ToolCallArguments { .. }))
        .count();
    assert!(starts >= 2 && pieces > starts, "{:?}", out.events);

    let mut req = request(transcripts::CLAUDE_MODEL, "think");
    req.reasoning_effort = Some(types::ReasoningEffort::Medium);
    let out = run(&mut g, c, &req).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(out.events.iter().any(
        |e| matches!(e, ChatEvent::ReasoningSignature(s) if s == transcripts::THINKING_SIGNATURE)
    ));
    let sent = emu.requests().pop().unwrap();
    assert_eq!(sent.path, "/anthropic/v1/messages");
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), Some("Bearer chat-test-key"));
    assert_eq!(sent.header("x-api-key"), None);
    let body = sent.json().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["thinking"]["type"], "enabled");
    assert_eq!(body["thinking"]["budget_tokens"], 8192);
    let max = body["max_tokens"].as_u64().unwrap();
    assert!(max > 8192 && max <= 32_000, "{max}");
}

#[tokio::test]
async fn responses_models_go_to_their_path_with_store_false_unless_configured() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(
        &mut g,
        config(
            &emu,
            "models: [{ id: \"openai.gpt-oss-20b\", api: \"openai-responses\", store: true }]",
        ),
    )
    .await;

    // GPT-5.x by its id alone: the Responses API on the /openai/v1 base, nothing stored.
    let mut req = request(transcripts::GPT5_MODEL, "hi");
    req.reasoning_effort = Some(types::ReasoningEffort::Low);
    let out = run(&mut g, c, &req).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        out.events,
        transcripts::responses_encrypted_reasoning(transcripts::GPT5_MODEL).events
    );
    let sent = emu.requests().pop().unwrap();
    assert_eq!(sent.path, "/openai/v1/responses");
    assert_eq!(sent.header("authorization"), Some("Bearer chat-test-key"));
    let body = sent.json().unwrap();
    assert_eq!(body["store"], false);
    assert_eq!(body["stream"], true);
    assert_eq!(body["reasoning"]["effort"], "low");
    assert_eq!(body["input"][0]["role"], "system");
    assert_eq!(body["input"][1]["content"][0]["text"], "hi");

    // A model pinned to the route in the configuration: /v1/responses, stored as configured.
    let mut req = request("openai.gpt-oss-20b", "weather?");
    req.tools = vec![types::Tool {
        name: "get_weather".into(),
        description: None,
        parameters: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
        strict: None,
    }];
    let out = run(&mut g, c, &req).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        out.events,
        transcripts::responses_tool_calls("openai.gpt-oss-20b").events
    );
    let sent = emu.requests().pop().unwrap();
    assert_eq!(sent.path, "/v1/responses");
    let body = sent.json().unwrap();
    assert_eq!(body["store"], true);
    assert_eq!(
        body["tools"][0],
        serde_json::json!({"type": "function", "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            "strict": false})
    );

    // A chat-only model pinned to the wrong route: Mantle's 400 (ERR-1) as a typed wrong-route
    // error.
    let c = client(
        &mut g,
        config(
            &emu,
            "models: [{ id: \"deepseek.v3.2\", api: \"openai-responses\" }]",
        ),
    )
    .await;
    let out = run(&mut g, c, &request("deepseek.v3.2", "hi")).await;
    match &out.error {
        Some(types::Error::WrongRoute(m)) => {
            assert!(
                m.contains("The model 'deepseek.v3.2' does not support the '/v1/responses' API"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn upstream_refusals_are_typed_before_the_stream_starts() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, config(&emu, "")).await;
    let gpt = || request(transcripts::OPENAI_MODEL, "hi");
    let cases: Vec<(&str, Fault, &str)> = vec![
        (
            "429",
            Fault::openai(
                429,
                "throttling",
                "rate_limit_error",
                "Too many tokens per minute",
            )
            .with_header("retry-after", "17"),
            "rate-limited",
        ),
        (
            "529",
            Fault::anthropic(529, "overloaded_error", "Overloaded"),
            "upstream-unavailable",
        ),
        (
            "503",
            Fault::openai(503, "unavailable", "api_error", "Service unavailable"),
            "upstream-unavailable",
        ),
        (
            "400",
            Fault::openai(
                400,
                "validation_error",
                "invalid_request_error",
                "temperature must be at most 2",
            ),
            "invalid-request",
        ),
        (
            "403",
            Fault::openai(403, "forbidden", "permission_error", "denied"),
            "forbidden",
        ),
    ];
    for (what, fault, want) in cases {
        emu.inject(fault.times(1));
        let out = run(&mut g, c, &gpt()).await;
        let e = out.error.unwrap_or_else(|| panic!("{what}: no error"));
        assert_eq!(kind(&e), want, "{what}: {e:?}");
        assert!(out.events.is_empty());
        if let types::Error::RateLimited(r) = &e {
            assert_eq!(r.retry_after, Some(17));
        }
        assert!(!format!("{e:?}").contains(KEY), "{what}: the key leaked");
    }

    // Mantle's own refusals. A prompt over the model's window, in vLLM's words (the window
    // of qwen.qwen3-32b is the captured one):
    let mut listed = DEFAULT_MODELS.to_vec();
    listed.push("qwen.qwen3-32b");
    emu.set_models(&listed);
    let long = "word ".repeat(32_768 + 16);
    let out = run(&mut g, c, &request("qwen.qwen3-32b", &long)).await;
    let e = out.error.expect("refused");
    assert_eq!(kind(&e), "context-overflow", "{e:?}");
    assert!(out.events.is_empty());
    // A key Mantle does not know.
    let unknown_key = g
        .client(&types::Settings {
            config: Some(config(&emu, "")),
            bearer_token: Some("a-key-mantle-does-not-know".into()),
            ..empty_settings()
        })
        .await
        .unwrap();
    let out = run(&mut g, unknown_key, &gpt()).await;
    let e = out.error.expect("refused");
    assert_eq!(kind(&e), "unauthorized", "{e:?}");
    assert!(format!("{e:?}").contains("Invalid bearer token"), "{e:?}");

    // Unknown model: 404.
    let out = run(&mut g, c, &request("nobody.model", "hi")).await;
    assert_eq!(kind(&out.error.unwrap()), "model-not-found");

    // A Claude model forced onto the OpenAI route: Mantle's wrong-route answer, with a hint.
    let c2 = client(
        &mut g,
        config(
            &emu,
            "models: [{ id: \"anthropic.claude-opus-4-7\", api: \"openai-completions\" }]",
        ),
    )
    .await;
    let out = run(&mut g, c2, &request(transcripts::CLAUDE_MODEL, "hi")).await;
    let e = out.error.unwrap();
    let types::Error::WrongRoute(m) = &e else {
        panic!("{e:?}")
    };
    assert!(m.contains("anthropic"), "{m}");

    // Bad requests never leave the component.
    let before = emu.requests().len();
    let mut bad = gpt();
    bad.tools = vec![types::Tool {
        name: "t".into(),
        description: None,
        parameters: "{not json".into(),
        strict: None,
    }];
    assert_eq!(
        kind(&run(&mut g, c, &bad).await.error.unwrap()),
        "invalid-request"
    );
    let mut bad = gpt();
    bad.messages.clear();
    assert_eq!(
        kind(&run(&mut g, c, &bad).await.error.unwrap()),
        "invalid-request"
    );
    let mut bad = gpt();
    bad.extra = Some("[1]".into());
    assert_eq!(
        kind(&run(&mut g, c, &bad).await.error.unwrap()),
        "invalid-request"
    );
    assert_eq!(emu.requests().len(), before);
}

#[tokio::test]
async fn broken_streams_end_with_a_typed_error_never_silently() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, config(&emu, "betweenBytesTimeoutMs: 400")).await;
    for t in [
        transcripts::openai_text(transcripts::OPENAI_MODEL),
        transcripts::anthropic_text(transcripts::CLAUDE_MODEL),
    ] {
        let half = t.body.len() / 2;
        emu.set_script(
            Script::from(t.clone())
                .chunked(16)
                .with_fault(StreamFault::CutAfter(half)),
        );
        let out = run(&mut g, c, &request(model_of(&t), "hi")).await;
        let e = out
            .error
            .unwrap_or_else(|| panic!("{}: a cut stream ended silently", t.name));
        assert_eq!(kind(&e), "truncated", "{}: {e:?}", t.name);
        assert!(
            !out.events.is_empty(),
            "{}: events before the cut were lost",
            t.name
        );
        assert!(!out.events.iter().any(|e| matches!(e, ChatEvent::Finish(_))));
        assert_eq!(out.events[..], t.events[..out.events.len()], "{}", t.name);

        emu.set_script(
            Script::from(t.clone())
                .with_fault(StreamFault::StallAfter(half, Duration::from_secs(5))),
        );
        let started = Instant::now();
        let out = run(&mut g, c, &request(model_of(&t), "hi")).await;
        let e = out
            .error
            .unwrap_or_else(|| panic!("{}: a stalled stream ended silently", t.name));
        assert_eq!(kind(&e), "timeout", "{}: {e:?}", t.name);
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the stall was not cut short"
        );
    }

    // A stream that closes cleanly without its final event.
    let t = transcripts::openai_text(transcripts::OPENAI_MODEL);
    let cut = t.body.find("\"finish_reason\":\"stop\"").unwrap();
    let start_of_event = t.body[..cut].rfind("data:").unwrap();
    emu.set_script(Script::new(&t.body[..start_of_event]));
    let out = run(&mut g, c, &request(transcripts::OPENAI_MODEL, "hi")).await;
    assert_eq!(kind(&out.error.unwrap()), "truncated");

    // Malformed JSON in a chunk: a protocol error carrying the data.
    emu.set_script(Script::new("data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {oops not json}\n\n"));
    let out = run(&mut g, c, &request(transcripts::OPENAI_MODEL, "hi")).await;
    let e = out.error.unwrap();
    let types::Error::Protocol(m) = &e else {
        panic!("{e:?}")
    };
    assert!(m.contains("oops not json"), "{m}");
}

#[tokio::test]
async fn slow_first_byte_and_refused_connections_are_typed() {
    let emu = emulator().await;
    emu.set_latency(Duration::from_secs(3));
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, config(&emu, "firstByteTimeoutMs: 300")).await;
    let started = Instant::now();
    let out = run(&mut g, c, &request(transcripts::OPENAI_MODEL, "hi")).await;
    assert_eq!(kind(&out.error.unwrap()), "timeout");
    assert!(started.elapsed() < Duration::from_secs(2));

    let dead = config_text(&refused_base_url(), "discovery: false");
    let c = client(&mut g, dead).await;
    let e = run(&mut g, c, &request(transcripts::OPENAI_MODEL, "hi"))
        .await
        .error
        .unwrap();
    assert_eq!(kind(&e), "upstream-unavailable", "{e:?}");
}

#[tokio::test]
async fn events_are_available_as_soon_as_their_chunk_arrives() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, config(&emu, "")).await;
    let t = transcripts::openai_text(transcripts::OPENAI_MODEL);
    let delay = Duration::from_millis(150);
    // One SSE event per write, 150 ms apart.
    let events_in_body = t.body.matches("\n\n").count();
    let mut paced = Script::new(t.body.clone()).with_delay(delay);
    paced.chunk_size = Some(t.body.find("\n\n").unwrap() + 2);
    emu.set_script(paced);
    let started = Instant::now();
    let stream = g
        .chat_stream(c, &request(transcripts::OPENAI_MODEL, "hi"))
        .await
        .unwrap()
        .unwrap();
    let first = g.next_event(stream).await.unwrap().unwrap().unwrap();
    let first_at = started.elapsed();
    assert!(matches!(to_chat(&first), ChatEvent::MessageStart { .. }));
    let rest = drain(&mut g, stream).await;
    let total = started.elapsed();
    assert!(rest.error.is_none(), "{:?}", rest.error);
    assert!(events_in_body >= 4);
    assert!(
        first_at + delay * 2 < total,
        "the first event waited for the rest of the stream: first at {first_at:?}, all at {total:?}"
    );
}

#[tokio::test]
async fn retry_after_dates_are_read_capped_and_garbage_ignored() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, config(&emu, "")).await;
    for (header, want) in [
        ("Fri, 31 Dec 9999 23:59:59 GMT", Some(3600)),
        ("Wed, 21 Oct 2015 07:28:00 GMT", Some(0)),
        // Garbage is ignored: the gateway's own backoff answers instead, 2 s after a first
        // 429 without a usable retry-after, doubled for the next within a minute.
        ("inf", Some(2)),
        ("soon", Some(4)),
        ("86400", Some(3600)),
        ("9", Some(9)),
    ] {
        emu.inject(
            Fault::openai(429, "throttling", "rate_limit_error", "Too many tokens")
                .with_header("retry-after", header)
                .times(1),
        );
        let out = run(&mut g, c, &request(transcripts::OPENAI_MODEL, "hi")).await;
        let Some(types::Error::RateLimited(r)) = out.error else {
            panic!("{header}: {:?}", out.error)
        };
        assert_eq!(r.retry_after, want, "{header}");
    }
}

#[tokio::test]
async fn an_unexpected_upstream_4xx_is_the_gateways_failure_not_the_clients() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, config(&emu, "")).await;
    for status in [411, 415, 409] {
        emu.inject(
            Fault::openai(
                status,
                "http_error",
                "invalid_request_error",
                "Length Required",
            )
            .times(1),
        );
        let out = run(&mut g, c, &request(transcripts::OPENAI_MODEL, "hi")).await;
        let Some(types::Error::UpstreamUnavailable(f)) = out.error else {
            panic!("{status}: {:?}", out.error)
        };
        assert_eq!(f.status, Some(status));
        assert!(f.message.contains(&status.to_string()), "{}", f.message);
    }
}

#[tokio::test]
async fn prefixed_references_and_anthropic_ids_take_the_right_route() {
    let emu = Emulator::start(EmulatorConfig {
        static_keys: vec![KEY.into()],
        models: vec![
            "anthropic.claude-mythos-preview".into(),
            transcripts::OPENAI_MODEL.into(),
            transcripts::CLAUDE_MODEL.into(),
        ],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let mut g = guest(GuestOptions::default()).await;
    // Discovery on: the discovered anthropic.* id is listed on the Anthropic route.
    let c = client(&mut g, config_text(&emu.base_url(), "")).await;
    let listing = g.list(c).await.unwrap().unwrap();
    let mythos = listing
        .models
        .iter()
        .find(|m| m.id == "anthropic.claude-mythos-preview")
        .unwrap();
    assert_eq!(mythos.api, types::Api::AnthropicMessages);
    for (model, path, sent_model) in [
        (
            "anthropic.claude-mythos-preview",
            "/anthropic/v1/messages",
            "anthropic.claude-mythos-preview",
        ),
        (
            "amazon-bedrock-mantle/anthropic.claude-mythos-preview",
            "/anthropic/v1/messages",
            "anthropic.claude-mythos-preview",
        ),
        // The Genesis form of Claude Opus 4.7 goes as the listing names it: exactly as listed
        // (Mantle lists the catalog id, anthropic.claude-opus-4-7).
        (
            "amazon-bedrock-mantle/claude-opus-4.7",
            "/anthropic/v1/messages",
            transcripts::CLAUDE_MODEL,
        ),
        (
            "amazon-bedrock-mantle/openai.gpt-oss-120b",
            "/v1/chat/completions",
            "openai.gpt-oss-120b",
        ),
    ] {
        let out = run(&mut g, c, &request(model, "hi")).await;
        assert!(out.error.is_none(), "{model}: {:?}", out.error);
        let sent = emu.requests().pop().unwrap();
        assert_eq!(sent.path, path, "{model}");
        assert_eq!(sent.json().unwrap()["model"], sent_model, "{model}");
    }
}

#[tokio::test]
async fn thinking_never_reaches_the_anthropic_route_with_what_it_refuses() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, config(&emu, "")).await;
    // temperature and top_p beside thinking: dropped, said, and the request passes.
    let mut req = request(transcripts::CLAUDE_MODEL, "think");
    req.reasoning_effort = Some(types::ReasoningEffort::Low);
    req.temperature = Some(0.3);
    req.top_p = Some(0.5);
    req.extra = Some(r#"{"top_k":10}"#.into());
    let stream = g.chat_stream(c, &req).await.unwrap().unwrap();
    let notes = g.stream_diagnostics(stream).await.unwrap();
    let out = drain(&mut g, stream).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    for k in ["temperature", "top_p", "top_k"] {
        assert!(notes.iter().any(|n| n.contains(k)), "{k}: {notes:?}");
    }
    let body = emu.requests().pop().unwrap().json().unwrap();
    assert_eq!(body["thinking"]["type"], "enabled");
    assert!(
        body.get("temperature").is_none() && body.get("top_k").is_none(),
        "{body}"
    );
    // A forced tool: thinking off, the tool forced.
    req.tools = vec![types::Tool {
        name: "get_weather".into(),
        description: None,
        parameters: r#"{"type":"object"}"#.into(),
        strict: None,
    }];
    req.tool_choice = Some(types::ToolChoice::Named("get_weather".into()));
    req.extra = None;
    let stream = g.chat_stream(c, &req).await.unwrap().unwrap();
    let notes = g.stream_diagnostics(stream).await.unwrap();
    let out = drain(&mut g, stream).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(
        notes.iter().any(|n| n.contains("thinking turned off")),
        "{notes:?}"
    );
    let body = emu.requests().pop().unwrap().json().unwrap();
    assert!(body.get("thinking").is_none(), "{body}");
    assert_eq!(body["tool_choice"]["name"], "get_weather");
}

#[tokio::test]
async fn structured_outputs_reach_each_route_under_its_own_names() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, config(&emu, "")).await;
    let schema = r#"{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"number"}}}"#;
    let with_fields = |model: &str| {
        let mut req = request(model, "json please");
        req.response_format = Some(types::ResponseFormat::JsonSchema(types::JsonSchemaFormat {
            name: "answer".into(),
            description: None,
            schema: schema.into(),
            strict: Some(true),
        }));
        req.parallel_tool_calls = Some(false);
        req.tools = vec![types::Tool {
            name: "f".into(),
            description: None,
            parameters: r#"{"type":"object"}"#.into(),
            strict: Some(true),
        }];
        req
    };
    let mut gpt = with_fields(transcripts::OPENAI_MODEL);
    gpt.seed = Some(11);
    let out = run(&mut g, c, &gpt).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    let sent = emu.requests().pop().unwrap();
    let text = String::from_utf8_lossy(&sent.body).into_owned();
    assert!(
        text.contains(&format!(r#""response_format":{{"type":"json_schema","json_schema":{{"name":"answer","schema":{schema},"strict":true}}}},"parallel_tool_calls":false,"seed":11"#)),
        "{text}"
    );
    assert!(text.contains(r#""strict":true"#), "{text}");

    let out = run(&mut g, c, &with_fields(transcripts::CLAUDE_MODEL)).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    let sent = emu.requests().pop().unwrap();
    let text = String::from_utf8_lossy(&sent.body).into_owned();
    assert!(
        text.contains(&format!(
            r#""output_config":{{"format":{{"type":"json_schema","schema":{schema}}}}}"#
        )),
        "{text}"
    );
    let body = sent.json().unwrap();
    assert_eq!(body["tools"][0]["strict"], true);
    assert_eq!(body["tool_choice"]["disable_parallel_tool_use"], true);

    // What the Anthropic route has no place for is refused, naming the field.
    let before = emu.requests().len();
    let mut seeded = with_fields(transcripts::CLAUDE_MODEL);
    seeded.seed = Some(1);
    let Some(types::Error::InvalidRequest(m)) = run(&mut g, c, &seeded).await.error else {
        panic!("seed accepted on the Anthropic route")
    };
    assert!(m.starts_with("seed"), "{m}");
    let mut object = with_fields(transcripts::CLAUDE_MODEL);
    object.response_format = Some(types::ResponseFormat::JsonObject);
    let Some(types::Error::InvalidRequest(m)) = run(&mut g, c, &object).await.error else {
        panic!("json_object accepted on the Anthropic route")
    };
    assert!(m.starts_with("response_format"), "{m}");
    assert_eq!(emu.requests().len(), before);
}
