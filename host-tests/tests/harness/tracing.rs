//! OpenTelemetry traces of `mantle-host serve`: a real OTLP/HTTP receiver (the
//! opentelemetry-proto package decoding the protobuf) gets one server span per request, in
//! the client's trace, with the GenAI attributes, and a client span for the upstream call;
//! no prompt or answer text.

use std::process::Stdio;

use mantle_host::build;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const KEY: &str = "gw-tracing-key-0123";
const PROMPT: &str = "tracing-prompt-that-must-never-be-in-a-span";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn python() -> std::path::PathBuf {
    std::env::var_os("MANTLE_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| build::workspace_root().join("target/pyenv/bin/python"))
}

#[tokio::test]
async fn spans_reach_an_otlp_receiver_with_the_genai_attributes() {
    let mut receiver = tokio::process::Command::new(python())
        .arg(build::workspace_root().join("host-tests/clients/otlp_receiver.py"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the OTLP receiver starts");
    let mut spans_out = BufReader::new(receiver.stdout.take().unwrap()).lines();
    let port = spans_out
        .next_line()
        .await
        .unwrap()
        .expect("the receiver says its port");

    let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_mantle-host"))
        .args(["serve", "--emulate", "--listen", "127.0.0.1:0"])
        .env("MANTLE_GATEWAY_KEY", KEY)
        .env("MANTLE_FACE", build::face().expect("the face builds"))
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

    let body = json!({"model": "openai.gpt-oss-120b",
        "messages": [{"role": "user", "content": PROMPT}]});
    let status = post(&url, &body, &format!("00-{TRACE_ID}-{PARENT_ID}-01")).await;
    assert_eq!(status, 200);

    // Wait for the server span and the client span of the request's trace.
    let mut spans: Vec<Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !(spans.iter().any(|s| s["kind"] == 2) && spans.iter().any(|s| s["kind"] == 3)) {
        let line = tokio::time::timeout_at(deadline, spans_out.next_line())
            .await
            .unwrap_or_else(|_| panic!("no server and client span in time: {spans:?}"))
            .unwrap()
            .expect("the receiver runs");
        let span: Value = serde_json::from_str(&line).unwrap();
        if span["trace_id"] == TRACE_ID {
            spans.push(span);
        }
    }
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
    let all = serde_json::to_string(&spans).unwrap();
    assert!(!all.contains(PROMPT) && !all.contains(KEY), "{all}");
    serve.kill().await.unwrap();
    receiver.kill().await.unwrap();
}

/// POSTs `body` to the chat completions of `url` with the gateway key and `traceparent`.
async fn post(url: &str, body: &Value, traceparent: &str) -> u16 {
    use http_body_util::BodyExt;
    let uri: hyper::Uri = format!("{url}/chat/completions").parse().unwrap();
    let host = uri.authority().unwrap().to_string();
    let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let request = hyper::Request::post(uri.path())
        .header("host", host)
        .header("authorization", format!("Bearer {KEY}"))
        .header("content-type", "application/json")
        .header("traceparent", traceparent)
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )))
        .unwrap();
    let response = send.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    status
}
