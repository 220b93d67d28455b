//! The official `openai` and `anthropic` Python clients, unmodified, against
//! `mantle-host serve --emulate` and the emulator. `scripts/setup-clients` installs them
//! (pinned in `host-tests/clients/requirements.txt`) into `target/pyenv`; `MANTLE_PYTHON`
//! names another interpreter that has them. Without them these tests skip, or fail, as
//! [`crate::installed`] says.

use std::path::PathBuf;
use std::process::Stdio;

use mantle_host::build;
use mantle_host::emulator::table::ARRIVED_THIS_MONTH;
use mantle_host::emulator::{Emulator, EmulatorConfig, Fault, QUOTA_TOKENS_PER_MINUTE};
use mantle_host::runtime::GuestOptions;
use mantle_host::transcripts::{self, Transcript};
use mantle_host::transcripts::{ChatEvent, StopReason};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{KEY, SECRET, creds, guest, now};
use crate::installed::{self, available};

fn script(name: &str) -> PathBuf {
    build::workspace_root()
        .join("host-tests/clients")
        .join(name)
}

/// What a client must see for a transcript: text, reasoning, tool calls, token counts and
/// the OpenAI finish reason.
fn expected(t: &Transcript) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut encrypted: Vec<&str> = Vec::new();
    let mut calls: Vec<Value> = Vec::new();
    let mut usage = json!({"prompt_tokens": 0, "completion_tokens": 0});
    let mut finish = "stop";
    for e in &t.events {
        match e {
            ChatEvent::TextDelta(s) => text += s,
            ChatEvent::ReasoningDelta(s) => reasoning += s,
            ChatEvent::RedactedReasoning(data) => encrypted.push(data),
            ChatEvent::ToolCallStart { id, name, .. } => {
                calls.push(json!({"id": id, "name": name, "arguments": ""}));
            }
            ChatEvent::ToolCallArguments { index, arguments } => {
                let slot = &mut calls[*index as usize]["arguments"];
                *slot = json!(format!("{}{arguments}", slot.as_str().unwrap()));
            }
            ChatEvent::Usage(u) => {
                let prompt = u.input_tokens
                    + u.cache_read_tokens.unwrap_or(0)
                    + u.cache_write_tokens.unwrap_or(0);
                usage = json!({"prompt_tokens": prompt, "completion_tokens": u.output_tokens});
            }
            ChatEvent::Finish(r) => {
                finish = match r {
                    StopReason::Stop => "stop",
                    StopReason::Length => "length",
                    StopReason::ToolCalls => "tool_calls",
                    StopReason::ContentFilter | StopReason::Refusal => "content_filter",
                    StopReason::Other(_) => "stop",
                }
            }
            _ => {}
        }
    }
    json!({
        "text": text, "reasoning": reasoning, "encrypted": encrypted, "tool_calls": calls,
        "finish_reason": finish,
        "prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"],
    })
}

fn expectations() -> String {
    let open = "openai.gpt-oss-120b";
    let claude = "claude-opus-4.7";
    let gpt5 = transcripts::GPT5_MODEL;
    let all = [
        transcripts::openai_reasoning(open),
        transcripts::openai_tool_calls(open),
        transcripts::responses_encrypted_reasoning(gpt5),
        transcripts::responses_tool_calls(gpt5),
        transcripts::anthropic_text(claude),
        transcripts::anthropic_thinking(claude),
        transcripts::anthropic_tool_use(claude),
    ];
    let map: serde_json::Map<String, Value> = all
        .iter()
        .map(|t| (t.name.to_owned(), expected(t)))
        .collect();
    Value::Object(map).to_string()
}

/// Runs one Python test file; what it printed on stdout. Its whole output is shown when it
/// fails.
async fn run_python(file: &str, env: &[(&str, String)]) -> String {
    run_python_with(file, &[], env).await
}

/// Runs one Python test file with unittest arguments (`-k PATTERN` runs the tests whose
/// names contain it); what it printed on stdout. Its whole output is shown when it fails.
pub async fn run_python_with(file: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let python = installed::python().unwrap_or_else(|missing| panic!("{file} needs {missing}"));
    let mut command = tokio::process::Command::new(python);
    command
        .arg(script(file))
        .args(args)
        .env("MANTLE_EXPECTED", expectations());
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().await.expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{file} failed:\n{}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    // unittest reports on stderr; make sure the tests ran rather than being skipped.
    assert!(stderr.contains("\nOK"), "{stderr}");
    assert!(!stderr.contains("skipped"), "{stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `mantle-host serve --emulate` with gateway key `key` and `flags`, its URL, and a task that
/// drains its log (and gives it back once the gateway is killed).
async fn serve_emulate(
    key: &str,
    flags: &[&str],
) -> (
    tokio::process::Child,
    String,
    tokio::task::JoinHandle<String>,
) {
    let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_mantle-host"))
        .args(["serve", "--emulate", "--listen", "127.0.0.1:0"])
        .args(flags)
        .env("MANTLE_GATEWAY_KEY", key)
        .env(
            "MANTLE_FACE",
            build::served_face().expect("the face builds"),
        )
        .env_remove("AWS_BEARER_TOKEN_BEDROCK")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mantle-host serve starts");
    let mut lines = BufReader::new(serve.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("serve stopped:\n{log}"));
        log.push_str(&line);
        log.push('\n');
        if let Some(rest) = line.strip_prefix("OpenAI-compatible gateway at ") {
            // The face under test is the one the gateway runs.
            let wasi = format!("(the WASI {} face;", build::served_wasi());
            assert!(rest.contains(&wasi), "{line}");
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining the log so the gateway never blocks on a full pipe.
    let drain = tokio::spawn(async move {
        let mut rest = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push_str(&line);
            rest.push('\n');
        }
        rest
    });
    (serve, url, drain)
}

/// The SDK suites `files`, one after the other, against one `mantle-host serve --emulate`
/// with gateway key `key` and `flags`; the key must never reach the gateway's log. The
/// Anthropic suite gets the base URL without `/v1`, as the Anthropic SDK wants it.
async fn suites_through_serve(key: &str, flags: &[&str], files: &[&str]) {
    let Some(_) = available(installed::python()) else {
        return;
    };
    let (mut serve, url, drain) = serve_emulate(key, flags).await;
    for file in files {
        let base = if file.contains("anthropic") {
            url.trim_end_matches('/').trim_end_matches("/v1").to_owned()
        } else {
            url.clone()
        };
        run_python(
            file,
            &[
                ("MANTLE_FACE_URL", base),
                ("MANTLE_GATEWAY_KEY", key.to_owned()),
            ],
        )
        .await;
    }
    serve.kill().await.unwrap();
    let rest = drain.await.unwrap();
    assert!(!rest.contains(key), "the gateway key appeared in the log");
}

#[tokio::test]
async fn openai_client_through_mantle_host_serve_emulate() {
    suites_through_serve("gw-client-test-key", &[], &["test_openai_client.py"]).await;
}

#[tokio::test]
async fn openai_responses_through_mantle_host_serve_emulate() {
    suites_through_serve("gw-responses-test-key", &[], &["test_openai_responses.py"]).await;
}

#[tokio::test]
async fn anthropic_client_with_a_token_minted_by_the_component() {
    let Some(_) = available(installed::python()) else {
        return;
    };
    let region = "us-east-1";
    let emulator = Emulator::start(EmulatorConfig {
        region: region.into(),
        credentials: vec![(KEY.into(), SECRET.into())],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let mut g = guest(GuestOptions::default()).await;
    let token = g
        .mint_token(&creds(KEY, SECRET, None), region, 900, now())
        .await
        .unwrap()
        .unwrap()
        .token;
    let anthropic_url = emulator.base_url().trim_end_matches("/v1").to_owned() + "/anthropic";
    run_python(
        "test_anthropic_client.py",
        &[
            ("MANTLE_ANTHROPIC_URL", anthropic_url),
            ("MANTLE_MINTED_TOKEN", token.clone()),
            ("MANTLE_CLAUDE_MODEL", transcripts::CLAUDE_MODEL.to_owned()),
        ],
    )
    .await;
    let seen = emulator.requests();
    let messages: Vec<_> = seen
        .iter()
        .filter(|r| r.path == "/anthropic/v1/messages")
        .collect();
    assert!(messages.len() >= 3, "{seen:?}");
    assert!(
        messages
            .iter()
            .any(|r| r.header("authorization") == Some(&format!("Bearer {token}")))
    );
}

#[tokio::test]
async fn anthropic_client_through_mantle_host_serve_emulate() {
    suites_through_serve(
        "gw-anthropic-client-test-key",
        &[],
        &["test_anthropic_face.py"],
    )
    .await;
}

/// The openai and anthropic SDKs' suites, one after the other, against one gateway that keeps
/// its instances: every request after the first few is served by a kept instance, and each
/// answer must be what the suites expect of a fresh one.
#[tokio::test]
async fn sdk_clients_through_kept_instances() {
    suites_through_serve(
        "gw-kept-instances-test-key",
        &["--reuse-instances"],
        &[
            "test_openai_client.py",
            "test_openai_responses.py",
            "test_anthropic_face.py",
        ],
    )
    .await;
}

/// The text a transcript answers with.
fn text_of(t: &Transcript) -> String {
    t.events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::TextDelta(s) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

/// Claude Code (pinned in `host-tests/agents/package.json`, installed by
/// `scripts/setup-agents`), run non-interactively (`-p`) against the gateway's Messages API;
/// its JSON result.
async fn claude_code(base_url: &str, key: &str, model: &str, args: &[&str]) -> Value {
    let root = build::workspace_root();
    let claude = installed::claude_code().unwrap_or_else(|missing| panic!("needs {missing}"));
    // A home and a project of its own, so no setting of this machine's user plays a part.
    let home = root.join(format!(
        "target/tmp/agent-home-{}-{model}",
        std::process::id()
    ));
    std::fs::create_dir_all(&home).unwrap();
    let output = tokio::process::Command::new(&claude)
        .args(["-p", "Say hi", "--output-format", "json"])
        .args(args)
        .current_dir(&home)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("ANTHROPIC_BASE_URL", base_url)
        .env("ANTHROPIC_API_KEY", key)
        .env("ANTHROPIC_MODEL", model)
        .env("ANTHROPIC_SMALL_FAST_MODEL", model)
        .env("ANTHROPIC_DEFAULT_HAIKU_MODEL", model)
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), output)
        .await
        .expect("Claude Code answers within two minutes")
        .expect("Claude Code runs");
    let _ = std::fs::remove_dir_all(&home);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "Claude Code failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[tokio::test]
async fn claude_code_through_mantle_host_serve_emulate() {
    let Some(_) = available(installed::claude_code()) else {
        return;
    };
    let key = "gw-agent-test-key-0123";
    let (mut serve, url, drain) = serve_emulate(key, &[]).await;
    let base = url.trim_end_matches('/').trim_end_matches("/v1").to_owned();
    let claude = transcripts::CLAUDE_MODEL;
    let open = transcripts::OPENAI_MODEL;
    // Without tools: one answer, Claude's passed natively, the open model's translated.
    for (model, transcript) in [
        (claude, transcripts::anthropic_text(claude)),
        (open, transcripts::openai_reasoning(open)),
    ] {
        let result = claude_code(&base, key, model, &["--tools", ""]).await;
        assert_eq!(result["subtype"], "success", "{model}: {result}");
        assert_eq!(result["is_error"], false, "{model}: {result}");
        assert_eq!(result["result"], text_of(&transcript), "{model}: {result}");
    }
    // With its own tools: the emulator asks for tools Claude Code lacks, Claude Code answers
    // with tool results, and so on until its turns are used up; no request fails.
    for model in [claude, open] {
        let result = claude_code(&base, key, model, &["--max-turns", "2"]).await;
        assert_eq!(result["subtype"], "error_max_turns", "{model}: {result}");
        assert_eq!(result["num_turns"], 2, "{model}: {result}");
        assert_eq!(result["is_error"], false, "{model}: {result}");
    }
    serve.kill().await.unwrap();
    let rest = drain.await.unwrap();
    assert!(!rest.contains(key), "the gateway key appeared in the log");
}

// ---- Mantle's answers, as the SDKs read them ----------------------------------------------

/// The captured streamed chat answer (STREAM-2) as SSE, its usage chunk with the prefix-cache
/// hit the capture's second turn showed (`prompt_tokens_details: {"audio_tokens": 0,
/// "cached_tokens": 208}`).
pub fn captured_stream_with_cache() -> String {
    let mut sse = String::new();
    for line in
        include_str!("../../../fixtures/mantle/stream-gpt-oss-20b-tool-call.chunks.jsonl").lines()
    {
        let line = line.replace(
            r#""prompt_tokens_details":null"#,
            r#""prompt_tokens_details":{"audio_tokens":0,"cached_tokens":208}"#,
        );
        sse.push_str(&format!("data: {line}\n\n"));
    }
    sse.push_str("data: [DONE]\n\n");
    sse
}

/// The official openai and anthropic SDKs through the face while the emulator answers as
/// Mantle was captured answering, by itself: request ids where each SDK reads them (each one
/// the id the emulator gave that request), the quota headers passed on, the captured stream
/// for the captured question, cached tokens from prefix caching on every surface, the client's
/// own model name, context overflow in vLLM's and Mantle's words, a model Mantle does not
/// serve, an image to a text-only model, and a model that arrived after the captures (found
/// on its prefix, then asked there directly). Only the 429 is injected: Mantle's was never
/// captured and the emulator has no quota to exhaust.
#[tokio::test]
async fn sdk_clients_read_mantles_answers_as_their_apis_say() {
    let Some(_) = available(installed::python()) else {
        return;
    };
    let face = crate::face::Face::start().await;
    let emu = &face.emulator;
    emu.set_models(&[
        "openai.gpt-oss-20b",
        "anthropic.claude-opus-4-7",
        "qwen.qwen3-32b",
        "openai.gpt-5.5",
        ARRIVED_THIS_MONTH,
    ]);
    let stream_2: Value = serde_json::from_str(include_str!(
        "../../../fixtures/mantle/stream-gpt-oss-20b-tool-call.request.json"
    ))
    .unwrap();
    let throttled = Fault::openai(
        429,
        "throttling",
        "rate_limit_error",
        "Too many tokens per minute",
    );
    let scenarios: Vec<(&str, Option<Fault>)> = vec![
        ("chat_answers", None),
        ("responses_answers", None),
        ("messages_answers", None),
        ("claude_whole", None),
        ("claude_stream", None),
        ("context_overflow", None),
        ("rate_limited", Some(throttled)),
        ("not_found", None),
        ("image_to_a_text_only_model", None),
        ("a_model_that_arrived_this_month", None),
    ];
    let addr = face.running.addr;
    for (scenario, fault) in scenarios {
        emu.clear_requests();
        match fault {
            Some(fault) => emu.inject(fault),
            None => emu.clear_fault(),
        }
        let printed = run_python(
            "test_mantle_answers.py",
            &[
                ("MANTLE_SCENARIO", scenario.to_owned()),
                ("MANTLE_FACE_URL", format!("http://{addr}/v1")),
                ("MANTLE_ANTHROPIC_URL", format!("http://{addr}")),
                ("MANTLE_GATEWAY_KEY", crate::face::GATEWAY_KEY.to_owned()),
                ("MANTLE_QUOTA", QUOTA_TOKENS_PER_MINUTE.to_string()),
                ("MANTLE_STREAM_2", stream_2.to_string()),
                ("MANTLE_ARRIVED", ARRIVED_THIS_MONTH.to_owned()),
            ],
        )
        .await;
        let sent: Vec<_> = emu
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect();
        // Every request id a client read is the one the emulator gave one of its requests.
        let read: Vec<&str> = printed
            .lines()
            .filter_map(|l| l.strip_prefix("request-id "))
            .collect();
        for id in &read {
            assert!(
                sent.iter().any(|r| r.request_id == *id),
                "{scenario}: {id} is no request id the emulator gave"
            );
        }
        match scenario {
            // Claude went upstream under Mantle's catalog id, though the client named it
            // `claude-opus-4.7`.
            "claude_whole" | "claude_stream" => {
                assert!(!read.is_empty(), "{scenario}");
                for r in &sent {
                    assert_eq!(r.path, "/anthropic/v1/messages");
                    assert_eq!(r.json().unwrap()["model"], "anthropic.claude-opus-4-7");
                }
            }
            "not_found" => assert!(sent.is_empty(), "{sent:?}"),
            // The first request: /v1 (401 "Berm"), then /openai/v1; the second went straight
            // to the route that worked.
            "a_model_that_arrived_this_month" => {
                let seen: Vec<(&str, u16)> =
                    sent.iter().map(|r| (r.path.as_str(), r.status)).collect();
                assert_eq!(
                    seen,
                    [
                        ("/v1/chat/completions", 401),
                        ("/openai/v1/chat/completions", 200),
                        ("/openai/v1/chat/completions", 200),
                    ]
                );
            }
            _ => assert!(!read.is_empty(), "{scenario}: no request id was read"),
        }
    }
}
