//! The HTTP face (the Spin app's artifact) in the gateway, with the emulator as Mantle: what
//! an OpenAI client sees, what reaches the upstream, and what never does.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use mantle_host::build;
use mantle_host::emulator::{Emulator, EmulatorConfig, Fault, Script, config_text, http_request};
use mantle_host::serve::{Gateway, GatewayConfig, Running, outbound_origin};
use mantle_host::spin_manifest::Manifest;
use mantle_host::transcripts;
use serde_json::{Value, json};

use crate::common::{KEY, SECRET, wait_until};

pub const GATEWAY_KEY: &str = "gw-test-key-0123456789";

pub fn manifest() -> Manifest {
    Manifest::load(&build::workspace_root().join("spin.toml")).expect("spin.toml reads")
}

/// Spin variables for a face pointed at `base_url`, rendered through spin.toml like Spin does.
pub fn variables(base_url: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut given: BTreeMap<String, String> = [
        ("gateway_api_key", GATEWAY_KEY),
        ("aws_access_key_id", KEY),
        ("aws_secret_access_key", SECRET),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    given.insert("mantle_config".into(), config_text(base_url, ""));
    for (k, v) in extra {
        given.insert((*k).to_owned(), (*v).to_owned());
    }
    manifest()
        .component_values(&given)
        .expect("the variables render")
}

/// What a request got: status, headers, body.
pub type Reply = (u16, Vec<(String, String)>, Bytes);

pub struct Face {
    pub emulator: Emulator,
    pub running: Running,
}

impl Face {
    pub async fn start() -> Face {
        Face::start_with(&[], |_| {}).await
    }

    pub async fn start_with(
        extra: &[(&str, &str)],
        adjust: impl FnOnce(&mut GatewayConfig),
    ) -> Face {
        let emulator = Emulator::start(EmulatorConfig {
            credentials: vec![(KEY.into(), SECRET.into())],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        let mut config = GatewayConfig {
            variables: variables(&emulator.base_url(), extra),
            allowed_outbound: vec![outbound_origin(&emulator.base_url()).unwrap()],
            ..GatewayConfig::default()
        };
        adjust(&mut config);
        let gateway =
            Gateway::load(&build::served_face().expect("the face builds"), config).unwrap();
        assert_eq!(gateway.wasi_version(), build::served_wasi());
        let running = Running::start(gateway, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Face { emulator, running }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> (u16, Vec<(String, String)>, Bytes) {
        http_request(self.running.addr, method, path, headers, body.into())
            .await
            .unwrap()
    }

    /// `GET /v1/models` with the gateway key.
    pub async fn models(&self) -> Reply {
        let auth = format!("Bearer {GATEWAY_KEY}");
        self.request(
            "GET",
            "/v1/models",
            &[("authorization", &auth)],
            Bytes::new(),
        )
        .await
    }

    pub async fn post(&self, body: &Value) -> (u16, Vec<(String, String)>, Bytes) {
        let auth = format!("Bearer {GATEWAY_KEY}");
        self.request(
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.to_string(),
        )
        .await
    }

    /// [`Face::post`] on a task of its own, for requests that must overlap.
    pub fn spawn_post(&self, body: &Value) -> tokio::task::JoinHandle<Reply> {
        let addr = self.running.addr;
        let body = Bytes::from(body.to_string());
        tokio::spawn(async move {
            let auth = format!("Bearer {GATEWAY_KEY}");
            http_request(
                addr,
                "POST",
                "/v1/chat/completions",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await
            .unwrap()
        })
    }

    /// One chat, so the discovered models are in the key-value store and what a test scripts
    /// or injects next hits the chat request, not discovery.
    pub async fn warm(&self) {
        let (status, _, body) = self.post(&chat("openai.gpt-oss-120b", false)).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }

    /// Requests the emulator saw on a chat route.
    pub fn chats_upstream(&self) -> usize {
        self.emulator
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count()
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn json_of(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

/// The `data:` payloads of an SSE body, in order.
pub fn sse_data(body: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(body)
        .split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: ").map(str::to_owned))
        .collect()
}

fn chat(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

#[tokio::test]
async fn requests_without_the_gateway_key_never_reach_the_emulator() {
    let face = Face::start().await;
    let wrong = format!("Bearer {GATEWAY_KEY}x");
    let short = format!("Bearer {}", &GATEWAY_KEY[..GATEWAY_KEY.len() - 1]);
    let basic = format!("Basic {GATEWAY_KEY}");
    let lower = format!("bearer{GATEWAY_KEY}");
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("authorization", &wrong)],
        vec![("authorization", &short)],
        vec![("authorization", &basic)],
        vec![("authorization", &lower)],
        vec![("authorization", "Bearer ")],
        vec![("x-api-key", &wrong)],
        vec![("x-api-key", "")],
    ];
    for headers in &cases {
        for (method, path) in [("GET", "/v1/models"), ("POST", "/v1/chat/completions")] {
            let (status, h, body) = face
                .request(
                    method,
                    path,
                    headers,
                    chat("openai.gpt-oss-120b", false).to_string(),
                )
                .await;
            assert_eq!(status, 401, "{method} {path} with {headers:?}");
            assert_eq!(header(&h, "www-authenticate"), Some("Bearer"));
            let body = json_of(&body);
            assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
        }
    }
    assert!(
        face.emulator.requests().is_empty(),
        "{:?}",
        face.emulator.requests()
    );
    assert_eq!(face.running.gateway.upstream_requests(), 0);
}

#[tokio::test]
async fn a_face_without_a_key_refuses_to_serve_unless_explicitly_opened() {
    let face = Face::start_with(&[("gateway_api_key", "")], |_| {}).await;
    let (status, _, body) = face.request("GET", "/v1/models", &[], Bytes::new()).await;
    assert_eq!(status, 500);
    let message = json_of(&body)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("gateway_api_key"), "{message}");
    assert!(face.emulator.requests().is_empty());

    let open = Face::start_with(&[("gateway_api_key", "")], |c| {
        c.variables
            .insert("allow_unauthenticated".into(), "true".into());
    })
    .await;
    let (status, _, _) = open.request("GET", "/v1/models", &[], Bytes::new()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn models_come_in_the_openai_list_shape_and_discovery_is_kept_across_instances() {
    let face = Face::start().await;
    let (status, headers, body) = face.models().await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let body = json_of(&body);
    assert_eq!(body["object"], "list");
    let data = body["data"].as_array().unwrap();
    // Claude's built-in row carries Mantle's catalog id.
    let claude = data
        .iter()
        .find(|m| m["id"] == "anthropic.claude-opus-4-7")
        .unwrap();
    assert_eq!(claude["object"], "model");
    assert_eq!(claude["api"], "anthropic-messages");
    assert_eq!(claude["reasoning"], true);
    assert_eq!(claude["context_window"], 1_000_000);
    assert_eq!(claude["max_tokens"], 32_000);
    let gpt = data
        .iter()
        .find(|m| m["id"] == "openai.gpt-oss-120b")
        .unwrap();
    assert_eq!(gpt["api"], "openai-completions");
    assert!(gpt["created"].as_u64().unwrap() > 0);
    // Every request has a fresh instance; the discovered list is kept in the key-value store,
    // so the second listing and a chat ask Mantle for no list again.
    face.models().await;
    let (status, _, _) = face.post(&chat("openai.gpt-oss-120b", false)).await;
    assert_eq!(status, 200);
    assert_eq!(face.emulator.count("/v1/models"), 1);
}

#[tokio::test]
async fn a_stream_is_openai_chunks_with_usage_last_then_done() {
    let face = Face::start().await;
    let model = "openai.gpt-oss-120b";
    let (status, headers, body) = face.post(&chat(model, true)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(header(&headers, "content-type"), Some("text/event-stream"));
    let data = sse_data(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let id = chunks[0]["id"].as_str().unwrap();
    assert!(
        chunks
            .iter()
            .all(|c| c["id"] == id && c["object"] == "chat.completion.chunk")
    );
    assert!(chunks.iter().all(|c| c["model"] == model));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    let expected = transcripts::openai_reasoning(model);
    let (text, reasoning) = expected_text(&expected);
    let mut got_text = String::new();
    let mut got_reasoning = String::new();
    for c in &chunks[..chunks.len() - 1] {
        let delta = &c["choices"][0]["delta"];
        got_text += delta["content"].as_str().unwrap_or("");
        got_reasoning += delta["reasoning_content"].as_str().unwrap_or("");
    }
    assert_eq!(got_text, text);
    assert_eq!(got_reasoning, reasoning);
    let finish = &chunks[chunks.len() - 2]["choices"][0];
    assert_eq!(finish["finish_reason"], "stop");
    assert!(usage["usage"]["completion_tokens"].as_u64().unwrap() > 0);
}

fn expected_text(t: &transcripts::Transcript) -> (String, String) {
    use mantle_host::transcripts::ChatEvent;
    let mut text = String::new();
    let mut reasoning = String::new();
    for e in &t.events {
        match e {
            ChatEvent::TextDelta(s) => text += s,
            ChatEvent::ReasoningDelta(s) => reasoning += s,
            _ => {}
        }
    }
    (text, reasoning)
}

#[tokio::test]
async fn claude_goes_over_the_anthropic_route_and_comes_back_in_openai_shape() {
    let face = Face::start().await;
    let (status, _, body) = face.post(&chat("claude-opus-4.7", false)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let body = json_of(&body);
    assert_eq!(body["object"], "chat.completion");
    let (text, _) = expected_text(&transcripts::anthropic_text("claude-opus-4.7"));
    assert_eq!(body["choices"][0]["message"]["content"], text.as_str());
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let seen = face.emulator.requests();
    let sent = seen
        .iter()
        .find(|r| r.path == "/anthropic/v1/messages")
        .expect("the Anthropic route was used");
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert!(
        sent.header("authorization")
            .unwrap()
            .starts_with("Bearer bedrock-api-key-")
    );
    assert_eq!(face.emulator.count("/v1/chat/completions"), 0);
}

#[tokio::test]
async fn bad_requests_get_400_and_nothing_goes_upstream() {
    let face = Face::start_with(&[("max_request_bytes", "4096")], |_| {}).await;
    let auth = format!("Bearer {GATEWAY_KEY}");
    let big = json!({"model": "openai.gpt-oss-120b",
        "messages": [{"role": "user", "content": "x".repeat(5000)}]});
    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "JSON"),
        (json!({"messages": [{"role": "user", "content": "hi"}]}).to_string(), "model"),
        (json!({"model": "openai.gpt-oss-120b"}).to_string(), "messages"),
        (json!({"model": "openai.gpt-oss-120b", "messages": []}).to_string(), "messages"),
        (json!({"model": "openai.gpt-oss-120b", "messages": [{"role": "wizard", "content": "hi"}]}).to_string(), "role"),
        (big.to_string(), "4096"),
    ];
    for (body, needle) in cases {
        let (status, _, answer) = face
            .request(
                "POST",
                "/v1/chat/completions",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body.clone(),
            )
            .await;
        assert_eq!(
            status,
            400,
            "{body:.80}: {}",
            String::from_utf8_lossy(&answer)
        );
        let answer = json_of(&answer);
        assert_eq!(answer["error"]["type"], "invalid_request_error");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
    // A model the listing lacks is OpenAI's 404 `model_not_found` (it was a 400 before Mantle's
    // own answer for it was known), naming what the listing has.
    let (status, _, answer) = face.post(&chat("no.such-model", false)).await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&answer));
    let answer = json_of(&answer);
    assert_eq!(answer["error"]["code"], "model_not_found");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("no.such-model") && message.contains("openai.gpt-oss-120b"),
        "{message}"
    );
    assert_eq!(face.chats_upstream(), 0, "{:?}", face.emulator.requests());
}

#[tokio::test]
async fn upstream_errors_keep_their_status_and_retry_after() {
    let face = Face::start().await;
    face.warm().await;
    face.emulator.inject(
        Fault::openai(
            429,
            "throttling",
            "rate_limit_error",
            "Too many tokens, please wait",
        )
        .with_header("retry-after", "7"),
    );
    let (status, headers, body) = face.post(&chat("openai.gpt-oss-120b", true)).await;
    assert_eq!(status, 429, "{}", String::from_utf8_lossy(&body));
    assert_eq!(header(&headers, "retry-after"), Some("7"));
    let body = json_of(&body);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Too many tokens")
    );
    face.emulator.clear_fault();

    face.emulator.inject(Fault::openai(
        503,
        "service_unavailable",
        "server_error",
        "busy",
    ));
    let (status, _, body) = face.post(&chat("openai.gpt-oss-120b", false)).await;
    assert!(
        status == 502 || status == 503,
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
    assert!(json_of(&body)["error"]["message"].is_string());
}

#[tokio::test]
async fn a_stream_cut_upstream_ends_with_an_error_chunk_and_no_done() {
    let face = Face::start().await;
    face.warm().await;
    let transcript = transcripts::openai_text("openai.gpt-oss-120b");
    let cut_at = transcript.body.len() / 2;
    face.emulator.set_script(
        Script::new(transcript.body.clone())
            .chunked(16)
            .with_fault(mantle_host::emulator::StreamFault::CutAfter(cut_at)),
    );
    let (status, _, body) = face.post(&chat("openai.gpt-oss-120b", true)).await;
    assert_eq!(status, 200);
    let data = sse_data(&body);
    assert_ne!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert!(last["error"]["message"].is_string(), "{last}");
}

#[tokio::test]
async fn the_face_cannot_reach_a_host_off_the_allowlist() {
    // The face is told to use a second emulator, but the gateway allows only the first.
    let other = Emulator::start(EmulatorConfig {
        credentials: vec![(KEY.into(), SECRET.into())],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let other_url = other.base_url();
    let face = Face::start_with(&[], |c| {
        c.variables
            .insert("mantle_config".into(), config_text(&other_url, ""));
    })
    .await;
    let (status, _, body) = face.post(&chat("claude-opus-4.7", true)).await;
    let body = json_of(&body);
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not allow"),
        "{body}"
    );
    assert!(other.requests().is_empty(), "{:?}", other.requests());
    assert!(face.emulator.requests().is_empty());
    assert!(face.running.gateway.denied() >= 1);
}

#[test]
fn the_spin_manifest_builds_and_configures_this_artifact() {
    let m = manifest();
    // The same build command and output the tests use.
    assert_eq!(
        m.build_command,
        format!(
            "cargo build --target wasm32-wasip2 --release -p mantle-face --target-dir {}",
            build::FACE_TARGET_DIR
        )
    );
    let face = build::face().unwrap();
    if std::env::var_os(build::FACE_ENV).is_none() {
        assert_eq!(face, build::workspace_root().join(&m.source));
    }
    assert_eq!(m.routes, vec!["/v1/...".to_owned()]);
    assert_eq!(m.key_value_stores, vec!["default".to_owned()]);
    // Secrets: the gateway key is required; every credential is secret.
    assert!(m.variables["gateway_api_key"].required);
    for name in [
        "gateway_api_key",
        "aws_bearer_token_bedrock",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    ] {
        assert!(m.variables[name].secret, "{name} is secret");
    }
    assert_eq!(
        m.variables["aws_region"].default.as_deref(),
        Some("us-east-1")
    );
    // Outbound hosts: exactly the Mantle host of the region, whatever the region.
    let mut given = BTreeMap::new();
    given.insert("gateway_api_key".to_owned(), "k".to_owned());
    assert_eq!(
        m.outbound_origins(&given).unwrap(),
        vec!["https://bedrock-mantle.us-east-1.api.aws:443".to_owned()]
    );
    given.insert("aws_region".to_owned(), "eu-west-2".to_owned());
    assert_eq!(
        m.outbound_origins(&given).unwrap(),
        vec!["https://bedrock-mantle.eu-west-2.api.aws:443".to_owned()]
    );
    // Without the gateway key, Spin would refuse to start.
    let err = m.component_values(&BTreeMap::new()).unwrap_err();
    assert!(err.to_string().contains("gateway_api_key"), "{err}");
    // The face reads exactly the variables the manifest gives it.
    let face_src =
        std::fs::read_to_string(build::workspace_root().join("face/src/gateway.rs")).unwrap();
    for name in m.component_variables.keys() {
        assert!(
            face_src.contains(&format!("\"{name}\"")),
            "the face never reads {name}"
        );
    }
}

#[tokio::test]
async fn chunks_reach_the_client_one_by_one() {
    let face = Face::start().await;
    face.warm().await;
    let transcript = transcripts::openai_text("openai.gpt-oss-120b");
    let delay = Duration::from_millis(150);
    face.emulator.set_script(
        Script::new(transcript.body.clone())
            .chunked(transcript.body.len() / 4 + 1)
            .with_delay(delay),
    );
    let url = format!("http://{}/v1/chat/completions", face.running.addr);
    let body = chat("openai.gpt-oss-120b", true).to_string();
    let auth = format!("Authorization: Bearer {GATEWAY_KEY}");
    let mut child = tokio::process::Command::new("curl")
        .args([
            "-N",
            "-s",
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            &body,
            &url,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("curl runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut arrivals = Vec::new();
    let mut all = Vec::new();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        use tokio::io::AsyncReadExt;
        let n = stdout.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        all.extend_from_slice(&buf[..n]);
        arrivals.push((started.elapsed(), sse_data(&all).len()));
    }
    assert!(child.wait().await.unwrap().success());
    let frames = sse_data(&all);
    assert_eq!(frames.last().map(String::as_str), Some("[DONE]"));
    // Curl printed the frames in several reads spread over the paced stream, the first
    // long before the last: nothing was held back until the end.
    assert!(arrivals.len() >= 3, "{arrivals:?}");
    let first = arrivals.first().unwrap().0;
    let last = arrivals.last().unwrap().0;
    assert!(last - first >= delay, "{arrivals:?}");
    assert!(arrivals.first().unwrap().1 < frames.len(), "{arrivals:?}");
}

#[tokio::test]
async fn upstream_connections_are_pooled_across_instances() {
    let face = Face::start().await;
    for _ in 0..20 {
        let (status, _, _) = face.post(&chat("openai.gpt-oss-120b", false)).await;
        assert_eq!(status, 200);
    }
    for _ in 0..5 {
        let (status, _, _) = face.post(&chat("claude-opus-4.7", true)).await;
        assert_eq!(status, 200);
    }
    // 26 upstream requests (a listing and 25 chats), each from a fresh instance, over one
    // kept-alive connection where wasmtime's default sender would open 26.
    assert_eq!(face.emulator.requests().len(), 26);
    assert!(
        face.emulator.connections() <= 2,
        "{} connections",
        face.emulator.connections()
    );
}

#[tokio::test]
async fn an_instance_over_its_memory_limit_fails_alone() {
    let face = Face::start_with(&[], |c| c.memory_limit = 4 << 20).await;
    let big = json!({"model": "openai.gpt-oss-120b",
        "messages": [{"role": "user", "content": "x".repeat(6 << 20)}]});
    let (status, _, body) = face.post(&big).await;
    assert_eq!(status, 500, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json_of(&body)["error"]["code"], "internal_error");
    assert_eq!(face.chats_upstream(), 0);
    // The gateway goes on serving.
    let (status, _, _) = face.post(&chat("openai.gpt-oss-120b", false)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_request_past_the_deadline_is_stopped() {
    let face = Face::start_with(&[], |c| c.request_timeout = Duration::from_secs(1)).await;
    let (status, _, _) = face.post(&chat("openai.gpt-oss-120b", false)).await;
    assert_eq!(status, 200);
    let transcript = transcripts::openai_text("openai.gpt-oss-120b");
    face.emulator.set_script(Script::halves(
        transcript.body.clone(),
        Duration::from_secs(3),
    ));
    let started = std::time::Instant::now();
    let (status, _, body) = face.post(&chat("openai.gpt-oss-120b", false)).await;
    assert_eq!(status, 504, "{}", String::from_utf8_lossy(&body));
    assert!(
        json_of(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 1 s")
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn requests_beyond_the_instance_slots_get_503_with_retry_after() {
    let face = Face::start_with(&[], |c| c.max_instances = 1).await;
    face.warm().await;
    let transcript = transcripts::openai_text("openai.gpt-oss-120b");
    face.emulator
        .set_script(Script::halves(transcript.body.clone(), Duration::from_millis(800)).times(1));
    let chats = face.emulator.count("/v1/chat/completions");
    let slow = face.spawn_post(&chat("openai.gpt-oss-120b", false));
    // The slow request's instance has asked upstream: it holds the one slot while the
    // upstream stalls halfway.
    wait_until(
        "the first request reaches the upstream",
        Duration::from_secs(30),
        || face.emulator.count("/v1/chat/completions") > chats,
    )
    .await;
    let (status, headers, body) = face.post(&chat("openai.gpt-oss-120b", false)).await;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    assert_eq!(header(&headers, "retry-after"), Some("1"));
    assert_eq!(json_of(&body)["error"]["code"], "gateway_busy");
    assert_eq!(slow.await.unwrap().0, 200);
    // The slot is free again.
    face.warm().await;
}

#[tokio::test]
async fn images_tools_and_tool_results_reach_the_anthropic_route_translated() {
    let face = Face::start().await;
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let request = json!({
        "model": "claude-opus-4.7",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}")}},
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "toolu_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18 C"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "max_tokens": 500,
    });
    let (status, _, body) = face.post(&request).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let seen = face.emulator.requests();
    let sent = seen
        .iter()
        .find(|r| r.path == "/anthropic/v1/messages")
        .and_then(|r| r.json())
        .expect("the Anthropic route got a JSON body");
    assert_eq!(sent["system"], "Be brief.", "{sent}");
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "user");
    assert!(
        messages[0]["content"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["type"] == "image"
                && b["source"]["type"] == "base64"
                && b["source"]["media_type"] == "image/png"
                && b["source"]["data"] == png),
        "{sent}"
    );
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"][0]["type"], "tool_use");
    assert_eq!(messages[1]["content"][0]["input"], json!({"city": "Paris"}));
    assert_eq!(messages[2]["role"], "user");
    assert_eq!(messages[2]["content"][0]["type"], "tool_result");
    assert_eq!(messages[2]["content"][0]["tool_use_id"], "toolu_1");
    assert_eq!(sent["tools"][0]["name"], "get_weather");
    assert_eq!(sent["max_tokens"], 500);
    // The answer to tools is the tool-use transcript, back in OpenAI's shape.
    let answer = json_of(&body);
    let calls = answer["choices"][0]["message"]["tool_calls"]
        .as_array()
        .unwrap();
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(answer["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn the_bearer_scheme_is_matched_in_any_case() {
    let face = Face::start().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let auth = format!("{scheme} {GATEWAY_KEY}");
        let (status, _, body) = face
            .request(
                "GET",
                "/v1/models",
                &[("authorization", &auth)],
                Bytes::new(),
            )
            .await;
        assert_eq!(status, 200, "{scheme}: {}", String::from_utf8_lossy(&body));
        // The key itself is compared exactly.
        let wrong = format!("{scheme} {}", GATEWAY_KEY.to_uppercase());
        let (status, _, body) = face
            .request(
                "GET",
                "/v1/models",
                &[("authorization", &wrong)],
                Bytes::new(),
            )
            .await;
        assert_eq!(status, 401, "{scheme}: {}", String::from_utf8_lossy(&body));
        assert_eq!(json_of(&body)["error"]["code"], "invalid_api_key");
    }
}

/// The face's largest request body when `max_request_bytes` is not set.
const MAX_REQUEST_BYTES: usize = 8 << 20;

/// A chat body of exactly `len` bytes: `head` (a JSON object's members, without braces),
/// then `"pad": "xxx…"`, an unknown member that takes up the rest.
fn padded(head: &str, len: usize) -> String {
    let mut body = format!(r#"{{{head},"pad":""#);
    let pad = len - body.len() - r#""}"#.len();
    body.push_str(&"x".repeat(pad));
    body.push_str(r#""}"#);
    assert_eq!(body.len(), len);
    body
}

/// `prefix` `item,item,…,item` `suffix`, exactly `len` bytes (one space of padding when
/// the items cannot fill it exactly).
fn repeated(prefix: &str, item: &str, suffix: &str, len: usize) -> String {
    let room = len - prefix.len() - suffix.len();
    let count = (room + 1) / (item.len() + 1);
    let mut body = String::with_capacity(len);
    body.push_str(prefix);
    body.push_str(item);
    for _ in 1..count {
        body.push(',');
        body.push_str(item);
    }
    body.push_str(&" ".repeat(len - body.len() - suffix.len()));
    body.push_str(suffix);
    assert_eq!(body.len(), len);
    body
}

impl Face {
    async fn post_text(&self, body: String) -> (u16, Bytes) {
        let auth = format!("Bearer {GATEWAY_KEY}");
        let (status, _, answer) = self
            .request(
                "POST",
                "/v1/chat/completions",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await;
        (status, answer)
    }
}

/// The answer's text, which must be the default transcript's.
fn assert_answered(status: u16, answer: &Bytes) {
    assert_eq!(status, 200, "{:.300}", String::from_utf8_lossy(answer));
    let answer = json_of(answer);
    let (text, _) = expected_text(&transcripts::openai_reasoning("openai.gpt-oss-120b"));
    assert_eq!(answer["choices"][0]["message"]["content"], text.as_str());
}

/// The message of a 400 answer.
fn refused(status: u16, answer: &Bytes) -> String {
    assert_eq!(status, 400, "{:.300}", String::from_utf8_lossy(answer));
    let answer = json_of(answer);
    assert_eq!(answer["error"]["type"], "invalid_request_error");
    answer["error"]["message"].as_str().unwrap().to_owned()
}

const HI: &str = r#""model":"openai.gpt-oss-120b","messages":[{"role":"user","content":"hi"}]"#;

#[tokio::test]
async fn the_largest_body_of_small_numbers_is_read_within_the_instance_memory() {
    // The gateway's and the face's defaults: 64 MiB per instance, 8 MiB per body.
    assert_eq!(GatewayConfig::default().memory_limit, 64 << 20);
    let face = Face::start().await;
    face.warm().await;
    // Four million numbers in a member the face does not know: skipped, nothing kept.
    let body = repeated(&format!(r#"{{{HI},"x":["#), "0", "]}", MAX_REQUEST_BYTES);
    let (status, answer) = face.post_text(body).await;
    assert_answered(status, &answer);
    // The same numbers where strings must be: refused at the first, naming it.
    let body = repeated(&format!(r#"{{{HI},"stop":["#), "0", "]}", MAX_REQUEST_BYTES);
    let (status, answer) = face.post_text(body).await;
    let message = refused(status, &answer);
    assert_eq!(message, "stop[0]: expected a string, found a number");
    assert_eq!(face.chats_upstream(), 2, "{:?}", face.emulator.requests());
}

#[tokio::test]
async fn nesting_as_deep_as_allowed_is_answered_and_one_level_more_refused() {
    let face = Face::start().await;
    face.warm().await;
    // The body is the first level, so 126 more fit; 127 is serde_json's limit.
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    let deepest = padded(&format!(r#"{HI},"x":{}"#, nested(126)), MAX_REQUEST_BYTES);
    let (status, answer) = face.post_text(deepest).await;
    assert_answered(status, &answer);
    let deeper = padded(&format!(r#"{HI},"x":{}"#, nested(127)), MAX_REQUEST_BYTES);
    let (status, answer) = face.post_text(deeper).await;
    let message = refused(status, &answer);
    assert!(
        message.starts_with("the body is nested too deeply: more than 127 levels"),
        "{message}"
    );
    assert_eq!(face.chats_upstream(), 2, "{:?}", face.emulator.requests());
}

#[tokio::test]
async fn a_message_as_large_as_the_body_limit_goes_upstream() {
    let face = Face::start().await;
    face.warm().await;
    // 8 MiB of text is about two million tokens, more than any model's window.
    face.emulator
        .set_context_window("openai.gpt-oss-120b", u64::MAX);
    let head = r#"{"model":"openai.gpt-oss-120b","messages":[{"role":"user","content":""#;
    let tail = r#""}]}"#;
    let text = "All work and no play. ".repeat(MAX_REQUEST_BYTES / 22);
    let text = &text[..MAX_REQUEST_BYTES - head.len() - tail.len()];
    let body = format!("{head}{text}{tail}");
    assert_eq!(body.len(), MAX_REQUEST_BYTES);
    let (status, answer) = face.post_text(body).await;
    assert_answered(status, &answer);
    // The text reached Mantle whole.
    let seen = face.emulator.requests();
    let sent = seen
        .iter()
        .rfind(|r| r.path == "/v1/chat/completions")
        .and_then(|r| r.json())
        .expect("the chat went upstream");
    assert_eq!(sent["messages"][0]["content"], text);
}

/// The most items (messages, content parts, tool calls, tools, stop sequences) the face
/// takes in one request.
const MAX_ITEMS: usize = 10_000;

#[tokio::test]
async fn the_most_items_at_the_body_limit_are_answered_and_one_more_refused() {
    let face = Face::start().await;
    face.warm().await;
    // The arguments fill 8 MiB, about two million tokens: more than any model's window.
    face.emulator
        .set_context_window("openai.gpt-oss-120b", u64::MAX);
    // A user turn, then an assistant turn with tool calls whose arguments fill the body:
    // the shape that costs the most per item on this route.
    let body = |calls: usize| {
        let head = r#"{"model":"openai.gpt-oss-120b","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":["#;
        let tail = r#"]}]}"#;
        let call = |arguments: &str| {
            format!(
                r#"{{"id":"c","type":"function","function":{{"name":"f","arguments":"{arguments}"}}}}"#
            )
        };
        let per_call = (MAX_REQUEST_BYTES - head.len() - tail.len()) / calls;
        let arguments = "a".repeat(per_call - call("").len() - 1);
        let mut body = head.to_owned();
        for i in 0..calls {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&call(&arguments));
        }
        body.push_str(tail);
        assert!(body.len() <= MAX_REQUEST_BYTES);
        (body, arguments)
    };
    // Two messages and the tool calls: every item allowed.
    let (most, arguments) = body(MAX_ITEMS - 2);
    let (status, answer) = face.post_text(most).await;
    assert_answered(status, &answer);
    let seen = face.emulator.requests();
    let sent = seen
        .iter()
        .rfind(|r| r.path == "/v1/chat/completions")
        .and_then(|r| r.json())
        .expect("the chat went upstream");
    let calls = sent["messages"][1]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), MAX_ITEMS - 2);
    assert!(
        calls
            .iter()
            .all(|c| c["function"]["arguments"] == arguments.as_str())
    );
    // One more is refused, naming where the count ran out (a message counts after its
    // tool calls).
    let (more, _) = body(MAX_ITEMS - 1);
    let (status, answer) = face.post_text(more).await;
    let message = refused(status, &answer);
    assert!(
        message.starts_with(&format!(
            "messages[1]: too many items: a request may carry {MAX_ITEMS}"
        )),
        "{message}"
    );
    assert_eq!(face.chats_upstream(), 2, "{:?}", face.emulator.requests());
}

impl Face {
    /// `POST /v1/responses` with the gateway key.
    async fn post_responses(&self, body: impl Into<Bytes>) -> (u16, Vec<(String, String)>, Bytes) {
        let auth = format!("Bearer {GATEWAY_KEY}");
        self.request(
            "POST",
            "/v1/responses",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body,
        )
        .await
    }

    /// The last chat request the emulator saw: its path and JSON body.
    fn last_upstream(&self) -> (String, Value) {
        let seen = self.emulator.requests();
        let last = seen
            .iter()
            .rev()
            .find(|r| r.method == "POST")
            .expect("a chat request reached the emulator");
        (last.path.clone(), last.json().expect("a JSON body"))
    }
}

#[tokio::test]
async fn responses_go_to_the_route_each_model_needs_and_store_nothing() {
    let face = Face::start().await;
    let gpt5 = transcripts::GPT5_MODEL;

    // GPT-5.x on /v1/responses: Mantle's Responses route on /openai/v1, store false.
    let body = json!({"model": gpt5, "stream": true, "input": "Hi", "instructions": "Be brief."});
    let (status, headers, answer) = face.post_responses(body.to_string()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(header(&headers, "content-type"), Some("text/event-stream"));
    let (path, sent) = face.last_upstream();
    assert_eq!(path, "/openai/v1/responses");
    assert_eq!(sent["store"], false);
    assert_eq!(sent["input"][0]["role"], "system");
    assert_eq!(sent["input"][1]["content"][0]["text"], "Hi");
    // The text reaches the client byte for byte, in Responses events.
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with(
            "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,"
        ),
        "{text:.300}"
    );
    assert!(text.contains(r#""delta":"Hi!""#) && text.contains(r#""delta":" How can I help?""#));
    assert!(text.contains("event: response.completed\n"), "{text:.300}");

    // GPT-5.x on chat completions: the same upstream route.
    let (status, _, answer) = face.post(&chat(gpt5, false)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(face.last_upstream().0, "/openai/v1/responses");
    // GPT-5.x's reasoning is encrypted: no readable reasoning to show.
    let (text, reasoning) = expected_text(&transcripts::responses_encrypted_reasoning(gpt5));
    assert_eq!(reasoning, "");
    let answer = json_of(&answer);
    assert_eq!(answer["choices"][0]["message"]["content"], text.as_str());
    assert!(
        answer["choices"][0]["message"]["reasoning_content"]
            .as_str()
            .is_none_or(str::is_empty),
        "{answer}"
    );

    // A chat model on /v1/responses: translated to chat completions and back.
    let body =
        json!({"model": "openai.gpt-oss-120b", "input": [{"role": "user", "content": "Hi"}]});
    let (status, _, answer) = face.post_responses(body.to_string()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let (path, sent) = face.last_upstream();
    assert_eq!(path, "/v1/chat/completions");
    assert_eq!(sent["messages"][0]["content"], "Hi");
    let answer = json_of(&answer);
    assert_eq!(answer["object"], "response");
    let (text, _) = expected_text(&transcripts::openai_reasoning("openai.gpt-oss-120b"));
    assert_eq!(answer["output"][1]["content"][0]["text"], text.as_str());
}

#[tokio::test]
async fn responses_refuse_what_they_cannot_serve_before_going_upstream() {
    let face = Face::start().await;
    face.warm().await;
    let before = face.chats_upstream();
    let (status, _, answer) = face
        .request(
            "POST",
            "/v1/responses",
            &[("content-type", "application/json")],
            "{}",
        )
        .await;
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&answer));
    let cases = [
        json!({"model": "openai.gpt-5.4", "input": "Hi", "previous_response_id": "resp_1"}),
        json!({"model": "openai.gpt-5.4", "input": "Hi", "tools": [{"type": "web_search"}]}),
        json!({"model": "openai.gpt-5.4"}),
    ];
    for body in cases {
        let (status, _, answer) = face.post_responses(body.to_string()).await;
        refused(status, &answer);
    }
    // A model the listing lacks: 404 `model_not_found`, as on chat completions.
    let (status, _, answer) = face
        .post_responses(json!({"model": "no.such-model", "input": "Hi"}).to_string())
        .await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(json_of(&answer)["error"]["code"], "model_not_found");
    // A body of the largest size made of empty items is refused, not read into memory.
    let body = repeated(
        r#"{"model":"openai.gpt-5.4","input":["#,
        "{}",
        "]}",
        MAX_REQUEST_BYTES,
    );
    let (status, _, answer) = face.post_responses(body).await;
    let message = refused(status, &answer);
    assert!(message.contains("items"), "{message}");
    assert_eq!(face.chats_upstream(), before, "nothing went upstream");
}

#[tokio::test]
async fn the_cache_entry_is_keyed_by_upstream_and_never_serves_another_ones_list() {
    let a = Face::start().await;
    a.warm().await;
    let kept = a.running.gateway.key_value();
    assert_eq!(kept.len(), 1, "{:?}", kept.keys());
    let (key, value) = kept.iter().next().unwrap();
    assert!(key.contains("mantle-face/listing/v2/"), "{key}");
    assert!(!key.contains(KEY) && !key.contains(SECRET), "{key}");
    // A JSON document, not a delimited list: each model with its `created`.
    let entry: Value = serde_json::from_slice(value).unwrap();
    assert!(
        entry["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "openai.gpt-oss-120b" && m["created"].is_u64()),
        "{entry}"
    );

    // The same store after the app is pointed at another upstream (another base URL).
    let b = Face::start().await;
    b.emulator.set_models(&["only.on-b"]);
    for (k, v) in &kept {
        b.running.gateway.put_key_value(k, v.clone());
    }
    let (status, _, body) = b.models().await;
    assert_eq!(status, 200);
    let ids: Vec<String> = json_of(&body)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&"only.on-b".to_owned()), "{ids:?}");
    assert!(!ids.contains(&"openai.gpt-oss-120b".to_owned()), "{ids:?}");
    assert_eq!(
        b.emulator.count("/v1/models"),
        1,
        "the new upstream was not asked"
    );
    assert_eq!(b.running.gateway.key_value().len(), 2);
}

#[tokio::test]
async fn a_hostile_discovered_id_conjures_no_model() {
    let face = Face::start().await;
    face.emulator.set_models_body(Some(
        r#"{"object":"list","data":[{"id":"openai.gpt-oss-120b"},{"id":"evil.model\nclaude-phantom"}]}"#
            .into(),
    ));
    for _ in 0..2 {
        // The second listing comes from the key-value entry.
        let (status, _, body) = face.models().await;
        assert_eq!(status, 200);
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("phantom"), "{text}");
    }
    assert_eq!(face.emulator.count("/v1/models"), 1);
    // The phantom is no model: a 404 `model_not_found` (it was a 400 before), naming the
    // Claude models the listing has.
    let (status, _, body) = face.post(&chat("claude-phantom", false)).await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    let body = json_of(&body);
    assert_eq!(body["error"]["code"], "model_not_found");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("claude-phantom") && message.contains("Claude models it lists"),
        "{message}"
    );
}

#[tokio::test]
async fn the_prefixed_reference_is_served_and_echoed_as_sent() {
    let face = Face::start().await;
    let (_, _, listed) = face.models().await;
    let listed = json_of(&listed);
    let is_listed = |id: &str| {
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == id)
    };
    // What goes upstream: the id as the listing has it, else Mantle's catalog id.
    let claude = if is_listed("claude-opus-4.7") {
        "claude-opus-4.7"
    } else {
        "anthropic.claude-opus-4-7"
    };
    for (model, stream, upstream) in [
        ("amazon-bedrock-mantle/claude-opus-4.7", false, claude),
        (
            "amazon-bedrock-mantle/openai.gpt-oss-120b",
            true,
            "openai.gpt-oss-120b",
        ),
    ] {
        let (status, _, body) = face.post(&chat(model, stream)).await;
        assert_eq!(status, 200, "{model}: {}", String::from_utf8_lossy(&body));
        let first = if stream {
            serde_json::from_str::<Value>(&sse_data(&body)[0]).unwrap()
        } else {
            json_of(&body)
        };
        assert_eq!(first["model"], model);
        let sent = face.emulator.requests().pop().unwrap().json().unwrap();
        assert_eq!(sent["model"], upstream, "{model}");
    }
}

#[tokio::test]
async fn fields_a_route_cannot_honour_are_refused_naming_them() {
    let face = Face::start().await;
    face.warm().await;
    let before = face.chats_upstream();
    for (model, key, value, words) in [
        ("claude-opus-4.7", "seed", json!(3), "seed"),
        (
            "claude-opus-4.7",
            "response_format",
            json!({"type": "json_object"}),
            "response_format",
        ),
    ] {
        let mut body = chat(model, false);
        body[key] = value;
        let (status, _, answer) = face.post(&body).await;
        assert_eq!(status, 400, "{key}: {}", String::from_utf8_lossy(&answer));
        let answer = json_of(&answer);
        assert_eq!(answer["error"]["type"], "invalid_request_error");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(words),
            "{answer}"
        );
    }
    assert_eq!(
        face.chats_upstream(),
        before,
        "a refused field went upstream"
    );
    // Where the route has them, they pass under their own names.
    let mut body = chat("openai.gpt-oss-120b", false);
    body["seed"] = json!(3);
    body["parallel_tool_calls"] = json!(false);
    body["response_format"] = json!({"type": "json_object"});
    let (status, _, answer) = face.post(&body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let sent = face.emulator.requests().pop().unwrap().json().unwrap();
    assert_eq!(sent["seed"], 3);
    assert_eq!(sent["parallel_tool_calls"], false);
    assert_eq!(sent["response_format"], json!({"type": "json_object"}));
    // And with thinking on, Claude gets no temperature it would refuse.
    let mut body = chat("claude-opus-4.7", false);
    body["reasoning_effort"] = json!("low");
    body["temperature"] = json!(0.2);
    let (status, _, answer) = face.post(&body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let sent = face.emulator.requests().pop().unwrap().json().unwrap();
    assert!(sent.get("temperature").is_none(), "{sent}");
}

#[tokio::test]
async fn an_unexpected_upstream_4xx_is_a_502_naming_the_status() {
    let face = Face::start().await;
    face.warm().await;
    face.emulator.inject(Fault::openai(
        411,
        "length_required",
        "invalid_request_error",
        "Length Required",
    ));
    let (status, _, body) = face.post(&chat("openai.gpt-oss-120b", false)).await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&body));
    let body = json_of(&body);
    assert_eq!(body["error"]["type"], "upstream_error");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("411"),
        "{body}"
    );
}

#[test]
fn a_component_that_serves_no_http_is_refused_as_a_face_with_the_reason() {
    // The provider component exports `genesis:mantle/provider`, no `wasi:http` handler.
    let component = build::component().expect("the component builds");
    let error = match Gateway::load(&component, GatewayConfig::default()) {
        Ok(_) => panic!("the provider component was taken for a face"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        error.contains("the face exports neither wasi:http/handler@0.3"),
        "{error}"
    );
    assert!(error.contains("wasi:http/incoming-handler@0.2"), "{error}");
}
