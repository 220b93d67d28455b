//! The HTTP face under load, against the emulator, in one run: the same requests sent
//! directly to the emulator and through `mantle-host serve`'s gateway (a fresh instance of
//! the face per request, pooled upstream connections), at 1, 16 and 64 concurrent clients,
//! streaming and not. Each client keeps one connection open and sends requests back to back
//! for a fixed time.
//!
//! `cargo bench -p mantle-host --bench gateway` (figures go to BENCHMARKS.md). Set
//! `GATEWAY_BENCH_SECS` to change the time per cell (default 4).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first failure"
)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mantle_host::build;
use mantle_host::emulator::{Emulator, EmulatorConfig, config_text};
use mantle_host::serve::{Gateway, GatewayConfig, Running, outbound_origin};

const UPSTREAM_KEY: &str = "bench-upstream-key";
const GATEWAY_KEY: &str = "bench-gateway-key";
const MODEL: &str = "deepseek.v3.2";

#[derive(Clone, Copy)]
struct Target {
    addr: SocketAddr,
    key: &'static str,
    /// `None`: the chat request; `Some(path)`: `GET path`, any status.
    get: Option<&'static str>,
}

struct Sample {
    latency: Duration,
    first_token: Option<Duration>,
}

fn body(stream: bool) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "model": MODEL,
            "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
            "stream": stream,
            "stream_options": {"include_usage": true},
        })
        .to_string(),
    )
}

/// One client: one kept-alive connection, requests back to back until `until`.
async fn client(target: Target, stream: bool, until: Instant) -> Vec<Sample> {
    let tcp = tokio::net::TcpStream::connect(target.addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let payload = body(stream);
    let auth = format!("Bearer {}", target.key);
    let mut samples = Vec::new();
    while Instant::now() < until {
        let request = match target.get {
            None => hyper::Request::post("/v1/chat/completions")
                .header("content-type", "application/json")
                .body(Full::new(payload.clone())),
            Some(path) => hyper::Request::get(path).body(Full::new(Bytes::new())),
        }
        .map(|mut r| {
            let headers = r.headers_mut();
            headers.insert(
                hyper::header::HOST,
                target.addr.to_string().parse().unwrap(),
            );
            headers.insert("authorization", auth.parse().unwrap());
            r
        })
        .unwrap();
        let started = Instant::now();
        let response = sender.send_request(request).await.unwrap();
        if target.get.is_none() {
            assert_eq!(response.status(), 200);
        }
        let mut body = response.into_body();
        let mut first_token = None;
        while let Some(frame) = body.frame().await {
            let frame = frame.unwrap();
            if first_token.is_none()
                && let Some(data) = frame.data_ref()
                && data.windows(10).any(|w| w == b"\"content\":")
                && !data.windows(13).any(|w| w == b"\"content\":\"\"")
            {
                first_token = Some(started.elapsed());
            }
        }
        samples.push(Sample {
            latency: started.elapsed(),
            first_token: if stream { first_token } else { None },
        });
    }
    samples
}

struct Cell {
    rps: f64,
    p50: Duration,
    p99: Duration,
    ttft_p50: Option<Duration>,
    ttft_p99: Option<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn load(target: Target, clients: usize, stream: bool, secs: f64) -> Cell {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(client(target, stream, until)))
        .collect();
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    latencies.sort();
    let mut ttft: Vec<Duration> = samples.iter().filter_map(|s| s.first_token).collect();
    ttft.sort();
    Cell {
        rps: samples.len() as f64 / elapsed,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        ttft_p50: (!ttft.is_empty()).then(|| percentile(&ttft, 0.5)),
        ttft_p99: (!ttft.is_empty()).then(|| percentile(&ttft, 0.99)),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn delta_ms(a: Duration, b: Duration) -> String {
    format!("{:+.3}", (a.as_secs_f64() - b.as_secs_f64()) * 1e3)
}

fn main() {
    let secs: f64 = std::env::var("GATEWAY_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4.0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emulator = Emulator::start(EmulatorConfig {
            static_keys: vec![UPSTREAM_KEY.into()],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        let mut variables = BTreeMap::new();
        variables.insert("gateway_api_key".to_owned(), GATEWAY_KEY.to_owned());
        variables.insert("aws_bearer_token_bedrock".to_owned(), UPSTREAM_KEY.to_owned());
        variables.insert(
            "mantle_config".to_owned(),
            config_text(&emulator.base_url(), ""),
        );
        let config = GatewayConfig {
            variables,
            allowed_outbound: vec![outbound_origin(&emulator.base_url()).unwrap()],
            ..GatewayConfig::default()
        };
        let face = build::face().unwrap();
        let size = std::fs::metadata(&face).unwrap().len();
        let gateway = Gateway::load(&face, config).unwrap();
        let running = Running::start(gateway, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let direct = Target {
            addr: emulator.addr(),
            key: UPSTREAM_KEY,
            get: None,
        };
        let through = Target {
            addr: running.addr,
            key: GATEWAY_KEY,
            get: None,
        };
        // Warm both paths (connections, the face's discovery cache, the allocator).
        load(direct, 4, true, 0.5).await;
        load(through, 4, true, 0.5).await;
        println!("face component: {size} bytes; {secs} s per cell; model {MODEL}");
        println!(
            "| mode | clients | direct req/s | face req/s | face/direct | direct p50 / p99 ms | face p50 / p99 ms | added p50 / p99 ms | TTFT direct / face p50 ms | added TTFT p50 / p99 ms |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for stream in [false, true] {
            for clients in [1, 16, 64] {
                let d = load(direct, clients, stream, secs).await;
                let f = load(through, clients, stream, secs).await;
                let ttft = match (d.ttft_p50, f.ttft_p50, d.ttft_p99, f.ttft_p99) {
                    (Some(d50), Some(f50), Some(d99), Some(f99)) => (
                        format!("{} / {}", ms(d50), ms(f50)),
                        format!("{} / {}", delta_ms(f50, d50), delta_ms(f99, d99)),
                    ),
                    _ => ("–".into(), "–".into()),
                };
                println!(
                    "| {} | {clients} | {:.0} | {:.0} | {:.0}% | {} / {} | {} / {} | {} / {} | {} | {} |",
                    if stream { "stream" } else { "non-stream" },
                    d.rps,
                    f.rps,
                    100.0 * f.rps / d.rps,
                    ms(d.p50),
                    ms(d.p99),
                    ms(f.p50),
                    ms(f.p99),
                    delta_ms(f.p50, d.p50),
                    delta_ms(f.p99, d.p99),
                    ttft.0,
                    ttft.1,
                );
            }
        }
        println!(
            "upstream requests through the face: {} (one per chat; discovery kept in the key-value store); connections the emulator accepted in all: {}",
            running.gateway.upstream_requests(),
            emulator.connections()
        );
        // What the gateway costs without the upstream: a fresh instance that answers alone
        // (401 for a wrong key; the model list from the key-value store).
        println!();
        println!("| gateway alone | clients | req/s | p50 / p99 ms |");
        println!("| --- | --- | --- | --- |");
        for (what, target) in [
            (
                "401, wrong key",
                Target {
                    key: "wrong",
                    get: Some("/v1/models"),
                    ..through
                },
            ),
            (
                "GET /v1/models (cached)",
                Target {
                    get: Some("/v1/models"),
                    ..through
                },
            ),
        ] {
            for clients in [1, 16] {
                let c = load(target, clients, false, secs / 2.0).await;
                println!(
                    "| {what} | {clients} | {:.0} | {} / {} |",
                    c.rps,
                    ms(c.p50),
                    ms(c.p99)
                );
            }
        }
    });
}
