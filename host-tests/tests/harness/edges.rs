//! `mantle-host serve` under attack, from outside the process: the real command, real sockets,
//! a strict upstream (the emulator verifies every minted token), `ulimit -n` through bash.
//! Every limit is set small by its flag so each test takes seconds.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use mantle_host::build;
use mantle_host::emulator::{Emulator, EmulatorConfig, Script, config_text, http_request};
use mantle_host::transcripts;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{KEY, SECRET, poll_until, wait_for, wait_until};

pub const GATEWAY_KEY: &str = "edge-test-gateway-key";

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mantle-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `mantle-host` with an empty environment but for what a test gives it: no AWS variables,
/// no shared files (HOME is a fresh directory), no instance metadata.
pub fn mantle_host(nofile: Option<u32>) -> Command {
    let exe = env!("CARGO_BIN_EXE_mantle-host");
    let mut c = match nofile {
        Some(n) => {
            let mut c = Command::new("bash");
            c.arg("-c")
                .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                .arg(exe);
            c
        }
        None => Command::new(exe),
    };
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", temp_dir("home"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(build::COMPONENT_ENV, build::component().unwrap())
        .env(build::FACE_ENV, build::served_face().unwrap());
    c
}

/// A running `mantle-host serve`, killed when dropped; its stderr is kept.
pub struct Served {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Served {
    /// Starts `mantle-host serve --listen 127.0.0.1:0 ARGS` and waits for its address.
    pub fn start(mut command: Command, args: &[&str]) -> Served {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("OpenAI-compatible gateway at ") {
                    let _ = tx.send(line.clone());
                }
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut served = Served {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            log,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(180))
            .unwrap_or_else(|_| panic!("serve did not start:\n{}", served.log()));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap();
        served.addr = url
            .trim_start_matches("http://")
            .trim_end_matches("/v1")
            .parse()
            .unwrap();
        served
    }

    /// What it wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub async fn get_models(&self) -> (u16, Bytes) {
        let auth = format!("Bearer {GATEWAY_KEY}");
        let (status, _, body) = http_request(
            self.addr,
            "GET",
            "/v1/models",
            &[("authorization", &auth)],
            Bytes::new(),
        )
        .await
        .unwrap();
        (status, body)
    }

    pub async fn chat(&self, stream: bool) -> (u16, Vec<(String, String)>, Bytes) {
        let auth = format!("Bearer {GATEWAY_KEY}");
        http_request(
            self.addr,
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            chat_body(stream).into(),
        )
        .await
        .unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn chat_body(stream: bool) -> String {
    json!({"model": "openai.gpt-oss-120b", "stream": stream,
        "messages": [{"role": "user", "content": "Hi"}]})
    .to_string()
}

/// An emulator that verifies tokens minted from the test keys, and a configuration file
/// pointing at it.
pub async fn upstream() -> (Emulator, PathBuf) {
    let emulator = Emulator::start(EmulatorConfig {
        credentials: vec![(KEY.into(), SECRET.into())],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let config = temp_dir("edges").join("config.json5");
    std::fs::write(&config, config_text(&emulator.base_url(), "")).unwrap();
    (emulator, config)
}

/// `serve` against `upstream()` with the test keys and these extra flags.
pub async fn serve_with(flags: &[&str], nofile: Option<u32>) -> (Emulator, Served) {
    let (emulator, config) = upstream().await;
    let mut command = mantle_host(nofile);
    command
        .env("MANTLE_GATEWAY_KEY", GATEWAY_KEY)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend_from_slice(flags);
    let served = Served::start(command, &args);
    let (status, body) = served.get_models().await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    (emulator, served)
}

/// Reads what the server sends until it closes the connection or `limit` passes.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let _ = tokio::time::timeout(limit, stream.read_to_end(&mut got)).await;
    got
}

fn status_of(raw: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(raw);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn body_json(raw: &[u8]) -> Value {
    let text = String::from_utf8_lossy(raw);
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

fn open_head(addr: SocketAddr) -> String {
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {GATEWAY_KEY}\r\ncontent-type: application/json\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_does_not_end_the_accept_loop() {
    // 64 descriptors, a cap well above them: accept itself fails (EMFILE) while the
    // attacker's idle connections are open, until the header timeout closes them.
    let (_emulator, served) = serve_with(
        &["--header-timeout", "1", "--max-connections", "100000"],
        Some(64),
    )
    .await;
    let mut attack = Vec::new();
    for _ in 0..150 {
        attack.push(TcpStream::connect(served.addr).await.unwrap());
    }
    // Accept fails (EMFILE) while the attack holds the descriptors, and serve says so.
    assert!(
        poll_until(Duration::from_secs(30), || served
            .log()
            .contains("accept failed"))
        .await,
        "the attack did not exhaust the descriptors:\n{}",
        served.log()
    );
    // Nothing restarts the process: the same gateway serves again once descriptors free up.
    let (status, _, body) = tokio::time::timeout(Duration::from_secs(30), served.chat(false))
        .await
        .expect("the gateway answers again");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    drop(attack);
    let (status, _) = served.get_models().await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_head_that_does_not_arrive_in_time_gets_408_and_the_connection_closes() {
    let (_emulator, served) = serve_with(&["--header-timeout", "1"], None).await;
    let mut slow = TcpStream::connect(served.addr).await.unwrap();
    slow.write_all(b"GET /v1/models HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let got = read_until_closed(&mut slow, Duration::from_secs(10)).await;
    assert_eq!(
        status_of(&got),
        Some(408),
        "{}",
        String::from_utf8_lossy(&got)
    );
    // An idle connection is closed too, without an answer.
    let mut idle = TcpStream::connect(served.addr).await.unwrap();
    let got = read_until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    let (status, _) = served.get_models().await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_gets_408_and_holds_no_instance_meanwhile() {
    let (emulator, served) =
        serve_with(&["--body-timeout", "2", "--max-instances", "1"], None).await;
    let body = chat_body(false);
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(served.addr).await.unwrap();
        let head = format!(
            "{}content-length: {}\r\n\r\n",
            open_head(served.addr),
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&body.as_bytes()[..10]).await.unwrap();
        slow.push(s);
    }
    // With one instance slot and three bodies trickling in, others are still served.
    let (status, _, answer) = served.chat(false).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let chats_before = emulator.count("/v1/chat/completions");
    for mut s in slow {
        let got = read_until_closed(&mut s, Duration::from_secs(10)).await;
        assert_eq!(
            status_of(&got),
            Some(408),
            "{}",
            String::from_utf8_lossy(&got)
        );
        assert_eq!(body_json(&got)["error"]["code"], "request_timeout");
    }
    assert_eq!(emulator.count("/v1/chat/completions"), chats_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_get_503_then_are_served_again() {
    let (_emulator, served) =
        serve_with(&["--max-connections", "3", "--header-timeout", "2"], None).await;
    // Three kept-alive connections, each answered once, hold the three slots. The start-up
    // check's connection may hold one a moment longer: then one of the three is refused,
    // and three are tried again.
    let addr = served.addr;
    let held = wait_for(
        "three connections served at once under a cap of three",
        Duration::from_secs(30),
        || async move {
            let mut held = Vec::new();
            for _ in 0..3 {
                held.push(kept_alive(addr).await?);
            }
            Some(held)
        },
    )
    .await;
    let mut extra = TcpStream::connect(served.addr).await.unwrap();
    extra
        .write_all(format!("GET /v1/models HTTP/1.1\r\nhost: {}\r\n\r\n", served.addr).as_bytes())
        .await
        .unwrap();
    let got = read_until_closed(&mut extra, Duration::from_secs(10)).await;
    assert_eq!(
        status_of(&got),
        Some(503),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert!(String::from_utf8_lossy(&got).contains("retry-after: 1"));
    assert_eq!(body_json(&got)["error"]["code"], "too_many_connections");
    drop(held);
    // The held connections close (here, or by the header timeout); the gateway serves again.
    // A refusal may also reach a client as a reset, while the cap is still full.
    let auth = format!("Bearer {GATEWAY_KEY}");
    let auth = auth.as_str();
    wait_for(
        "the gateway serves again once the held connections closed",
        Duration::from_secs(10),
        || async move {
            let headers = [("authorization", auth)];
            let (status, _, _) = http_request(addr, "GET", "/v1/models", &headers, Bytes::new())
                .await
                .ok()?;
            (status == 200).then_some(())
        },
    )
    .await;
}

/// A kept-alive connection to `addr` whose first request (`GET /v1/models` with the gateway
/// key) was answered 200: it holds one of the gateway's connection slots until dropped (or
/// until the header timeout closes it). `None` when the gateway refused it.
async fn kept_alive(addr: SocketAddr) -> Option<SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await.ok()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    let request = hyper::Request::get("/v1/models")
        .header("host", addr.to_string())
        .header("authorization", format!("Bearer {GATEWAY_KEY}"))
        .body(Empty::new())
        .ok()?;
    let answer = sender.send_request(request).await.ok()?;
    let status = answer.status();
    answer.into_body().collect().await.ok()?;
    (status == 200).then_some(sender)
}

#[tokio::test]
async fn a_deadline_that_cuts_a_stream_sends_an_error_chunk_and_no_done() {
    let (emulator, served) = serve_with(&["--request-timeout", "2"], None).await;
    let transcript = transcripts::openai_text("openai.gpt-oss-120b");
    emulator.set_script(Script::halves(
        transcript.body.clone(),
        Duration::from_secs(5),
    ));
    let (status, _, body) = served.chat(true).await;
    assert_eq!(status, 200);
    let data = crate::face::sse_data(&body);
    assert!(data.len() >= 2, "{data:?}");
    assert!(!data.iter().any(|d| d == "[DONE]"), "{data:?}");
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "gateway_timeout", "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 2 s")
    );
    // The text that arrived before the deadline came through.
    let first: Value = serde_json::from_str(&data[0]).unwrap();
    assert!(first["choices"].is_array(), "{first}");
}

#[tokio::test]
async fn answers_that_take_longer_than_the_header_timeout_are_not_cut() {
    // The header timeout bounds the wait for a head, never an answer under way.
    let (emulator, served) = serve_with(&["--header-timeout", "1"], None).await;
    let transcript = transcripts::openai_text("openai.gpt-oss-120b");
    for stream in [true, false] {
        emulator.set_script(
            Script::new(transcript.body.clone())
                .chunked(transcript.body.len() / 3 + 1)
                .with_delay(Duration::from_millis(800))
                .times(1),
        );
        let (status, _, body) = served.chat(stream).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        if stream {
            let data = crate::face::sse_data(&body);
            assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
        } else {
            let answer: Value = serde_json::from_slice(&body).unwrap();
            assert!(answer["choices"][0]["message"].is_object(), "{answer}");
        }
    }
}

async fn disconnect_cancels_upstream(stream: bool) {
    let (emulator, served) = serve_with(&[], None).await;
    let transcript = transcripts::openai_text("openai.gpt-oss-120b");
    emulator.set_script(
        Script::new(transcript.body.clone())
            .chunked(transcript.body.len() / 3 + 1)
            .with_delay(Duration::from_secs(1))
            .times(1),
    );
    let body = chat_body(stream);
    let mut client = TcpStream::connect(served.addr).await.unwrap();
    let request = format!(
        "{}content-length: {}\r\n\r\n{body}",
        open_head(served.addr),
        body.len()
    );
    client.write_all(request.as_bytes()).await.unwrap();
    // The upstream answer is under way (its first piece went out); the client goes away.
    wait_until(
        "the upstream answer begins",
        Duration::from_secs(30),
        || emulator.streams_begun() > 0,
    )
    .await;
    drop(client);
    // The upstream sees its reader go away before the stream's end, which is 2 s away.
    poll_until(Duration::from_secs(10), || emulator.abandoned_streams() > 0).await;
    assert_eq!(
        emulator.abandoned_streams(),
        1,
        "the upstream request went on after the client left"
    );
    let (status, _, _) = served.chat(stream).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_client_that_disconnects_cancels_the_upstream_request_not_streaming() {
    disconnect_cancels_upstream(false).await;
}

#[tokio::test]
async fn a_client_that_disconnects_cancels_the_upstream_request_streaming() {
    disconnect_cancels_upstream(true).await;
}

#[tokio::test]
async fn a_request_without_host_gets_400() {
    let (_emulator, served) = serve_with(&[], None).await;
    let mut s = TcpStream::connect(served.addr).await.unwrap();
    s.write_all(
        format!("GET /v1/models HTTP/1.1\r\nauthorization: Bearer {GATEWAY_KEY}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let got = read_until_closed(&mut s, Duration::from_secs(10)).await;
    assert_eq!(
        status_of(&got),
        Some(400),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(body_json(&got)["error"]["code"], "missing_host");
    let (status, _) = served.get_models().await;
    assert_eq!(status, 200);
}

#[test]
fn flag_values_that_would_overflow_are_refused_at_start() {
    for (flag, value) in [
        ("--request-timeout", "18446744073709551615"),
        ("--request-timeout", "0"),
        ("--header-timeout", "18446744073709551615"),
        ("--body-timeout", "99999999999"),
        ("--memory-mib", "18446744073709551615"),
        ("--max-instances", "4294967295"),
        ("--max-connections", "0"),
        ("--wasi", "0.4"),
    ] {
        let out = mantle_host(None)
            .env("MANTLE_GATEWAY_KEY", GATEWAY_KEY)
            .args(["serve", "--listen", "127.0.0.1:0", flag, value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test]
async fn a_base_url_with_a_password_is_refused_without_repeating_it() {
    let (emulator, _) = upstream().await;
    let url = emulator
        .base_url()
        .replace("http://", "http://admin:hunter2-s3cret@");
    let config = temp_dir("userinfo").join("config.json5");
    std::fs::write(&config, config_text(&url, "")).unwrap();
    let out = mantle_host(None)
        .env("MANTLE_GATEWAY_KEY", GATEWAY_KEY)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(stderr.contains("password"), "{stderr}");
    assert_eq!(emulator.requests().len(), 0);
}
