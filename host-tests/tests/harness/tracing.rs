//! OpenTelemetry traces of `mantle-host serve`: a real OTLP/HTTP receiver (the
//! opentelemetry-proto package decoding the protobuf) gets one server span per request, in
//! the client's trace, with the GenAI attributes, and a client span for the upstream call;
//! no prompt or answer text, unless `--trace-content` asks for it, and then bounded.

use std::process::Stdio;

use mantle_host::build;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const KEY: &str = "gw-tracing-key-0123";
const PROMPT: &str = "tracing-prompt-that-must-never-be-in-a-span";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACE_ID_PREFIX: &str = "5bf92f3577b34da6a3ce929d0e0e47";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn python() -> std::path::PathBuf {
    std::env::var_os("MANTLE_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| build::workspace_root().join("target/pyenv/bin/python"))
}

/// A running `mantle-host serve --emulate` exporting to a running OTLP receiver.
struct Traced {
    url: String,
    spans: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    serve: tokio::process::Child,
    receiver: tokio::process::Child,
}

impl Traced {
    async fn start(extra: &[&str]) -> Traced {
        let mut receiver = tokio::process::Command::new(python())
            .arg(build::workspace_root().join("host-tests/clients/otlp_receiver.py"))
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the OTLP receiver starts");
        let mut spans = BufReader::new(receiver.stdout.take().unwrap()).lines();
        let port = spans
            .next_line()
            .await
            .unwrap()
            .expect("the receiver says its port");
        let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_mantle-host"))
            .args(["serve", "--emulate", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("MANTLE_GATEWAY_KEY", KEY)
            .env(
                "MANTLE_FACE",
                build::served_face().expect("the face builds"),
            )
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            )
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("AWS_BEARER_TOKEN_BEDROCK")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("mantle-host serve starts");
        let mut log = BufReader::new(serve.stderr.take().unwrap()).lines();
        let url = loop {
            let line = log.next_line().await.unwrap().expect("serve runs");
            if let Some(rest) = line.strip_prefix("OpenAI-compatible gateway at ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
        Traced {
            url,
            spans,
            serve,
            receiver,
        }
    }

    /// The spans of trace `trace_id`, once its server span has come (and its client span,
    /// when `client`).
    async fn trace(&mut self, trace_id: &str, client: bool) -> Vec<Value> {
        let mut spans: Vec<Value> = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while !(spans.iter().any(|s| s["kind"] == 2)
            && (!client || spans.iter().any(|s| s["kind"] == 3)))
        {
            let line = tokio::time::timeout_at(deadline, self.spans.next_line())
                .await
                .unwrap_or_else(|_| panic!("no server span (client: {client}) in time: {spans:?}"))
                .unwrap()
                .expect("the receiver runs");
            let span: Value = serde_json::from_str(&line).unwrap();
            if span["trace_id"] == trace_id {
                spans.push(span);
            }
        }
        spans
    }

    async fn stop(mut self) {
        self.serve.kill().await.unwrap();
        self.receiver.kill().await.unwrap();
    }
}

/// A `traceparent` of trace number `n`.
fn traceparent(n: u8) -> (String, String) {
    let trace_id = format!("{TRACE_ID_PREFIX}{n:02x}");
    (trace_id.clone(), format!("00-{trace_id}-{PARENT_ID}-01"))
}

#[tokio::test]
async fn spans_reach_an_otlp_receiver_with_the_genai_attributes() {
    let mut traced = Traced::start(&[]).await;
    let body = json!({"model": "openai.gpt-oss-120b",
        "messages": [{"role": "user", "content": PROMPT}]});
    let (status, answer) = post(&traced.url, &body, &format!("00-{TRACE_ID}-{PARENT_ID}-01")).await;
    assert_eq!(status, 200);
    let answer_text =
        serde_json::from_str::<Value>(&answer).unwrap()["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(answer_text.len() > 8, "{answer}");

    let spans = traced.trace(TRACE_ID, true).await;
    let server = spans.iter().find(|s| s["kind"] == 2).unwrap();
    let client = spans.iter().find(|s| s["kind"] == 3).unwrap();
    assert_eq!(server["service"], "mantle-host");
    assert_eq!(
        server["parent_span_id"], PARENT_ID,
        "the client's traceparent is continued"
    );
    assert_eq!(server["name"], "chat openai.gpt-oss-120b");
    let a = &server["attributes"];
    assert_eq!(a["gen_ai.operation.name"], "chat");
    assert_eq!(a["gen_ai.provider.name"], "aws.bedrock");
    assert_eq!(a["gen_ai.request.model"], "openai.gpt-oss-120b");
    assert_eq!(a["gen_ai.response.model"], "openai.gpt-oss-120b");
    assert!(a["gen_ai.usage.input_tokens"].as_i64().unwrap() > 0, "{a}");
    assert!(a["gen_ai.usage.output_tokens"].as_i64().unwrap() > 0, "{a}");
    assert_eq!(a["gen_ai.response.finish_reasons"], json!(["stop"]));
    assert!(
        a["mantle.request_id"].as_str().unwrap().starts_with("req_"),
        "{a}"
    );
    assert!(a["mantle.cost_usd"].as_f64().unwrap() > 0.0, "{a}");
    assert_eq!(a["mantle.key"], "default");
    assert_eq!(
        client["parent_span_id"], server["span_id"],
        "the upstream call is under the request"
    );
    assert_eq!(client["attributes"]["http.response.status_code"], 200);
    assert!(a.get("gen_ai.input.messages").is_none(), "{a}");
    assert!(a.get("gen_ai.output.messages").is_none(), "{a}");
    let all = serde_json::to_string(&spans).unwrap();
    assert!(
        !all.contains(PROMPT) && !all.contains(&answer_text) && !all.contains(KEY),
        "{all}"
    );
    traced.stop().await;
}

/// The text of gen_ai.output.messages' one assistant message.
fn output_text(attributes: &Value) -> String {
    let output: Value =
        serde_json::from_str(attributes["gen_ai.output.messages"].as_str().unwrap()).unwrap();
    assert_eq!(output[0]["role"], "assistant", "{output}");
    assert_eq!(output[0]["parts"][0]["type"], "text", "{output}");
    output[0]["parts"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn trace_content_records_the_prompt_and_the_answer_bounded() {
    let mut traced = Traced::start(&["--trace-content"]).await;
    let messages = json!([{"role": "user", "content": PROMPT}]);

    // Not streamed: the messages as sent, and the answer's text as received.
    let (trace_id, parent) = traceparent(1);
    let body = json!({"model": "openai.gpt-oss-120b", "messages": messages});
    let (status, answer) = post(&traced.url, &body, &parent).await;
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    let spans = traced.trace(&trace_id, false).await;
    let a = &spans.iter().find(|s| s["kind"] == 2).unwrap()["attributes"];
    assert_eq!(a["gen_ai.input.messages"], messages.to_string(), "{a}");
    assert_eq!(
        output_text(a),
        answer["choices"][0]["message"]["content"].as_str().unwrap()
    );
    let output: Value =
        serde_json::from_str(a["gen_ai.output.messages"].as_str().unwrap()).unwrap();
    assert_eq!(output[0]["finish_reason"], "stop");
    assert!(!serde_json::to_string(a).unwrap().contains(KEY), "{a}");

    // Streamed: the text deltas joined, as the client joins them.
    let (trace_id, parent) = traceparent(2);
    let body = json!({"model": "openai.gpt-oss-120b", "messages": messages, "stream": true});
    let (status, events) = post(&traced.url, &body, &parent).await;
    assert_eq!(status, 200, "{events}");
    let streamed: String = events
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|e| {
            e["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(streamed.len() > 8, "{events}");
    let spans = traced.trace(&trace_id, false).await;
    let a = &spans.iter().find(|s| s["kind"] == 2).unwrap()["attributes"];
    assert!(
        a["gen_ai.input.messages"]
            .as_str()
            .unwrap()
            .contains(PROMPT),
        "{a}"
    );
    assert_eq!(output_text(a), streamed);

    // A prompt larger than the bound: cut at 16 KiB on a character boundary, and marked.
    let (trace_id, parent) = traceparent(3);
    let long = "é".repeat(20 * 1024);
    let messages = json!([{"role": "user", "content": long}]);
    let sent = messages.to_string();
    let body = json!({"model": "openai.gpt-oss-120b", "messages": messages});
    let (status, answer) = post(&traced.url, &body, &parent).await;
    assert_eq!(status, 200, "{answer}");
    let spans = traced.trace(&trace_id, false).await;
    let a = &spans.iter().find(|s| s["kind"] == 2).unwrap()["attributes"];
    let recorded = a["gen_ai.input.messages"].as_str().unwrap();
    // `[{"role":"user","content":"` is 27 bytes: the cut falls inside the 2-byte 'é's.
    let kept = 16 * 1024 - 1;
    assert_eq!(
        recorded,
        format!(
            "{}…[cut: {kept} of {} bytes recorded]",
            &sent[..kept],
            sent.len()
        )
    );
    traced.stop().await;
}

/// POSTs `body` to the chat completions of `url` with the gateway key and `traceparent`:
/// the answer's status and body.
async fn post(url: &str, body: &Value, traceparent: &str) -> (u16, String) {
    let bearer = format!("Bearer {KEY}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
        ("traceparent", traceparent),
    ];
    let body = bytes::Bytes::from(body.to_string());
    crate::common::request_url("POST", &format!("{url}/chat/completions"), &headers, body)
        .await
        .expect("the gateway answers")
}
