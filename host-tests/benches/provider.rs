//! Listing and streaming figures, all against the local emulator in one run:
//! `list` with a warm cache and with a 500-model discovery body, SSE parsing in the guest
//! against natively, events per second with one call per event (`next`) and in batches
//! (`get-next` with `subscribe`), the time-to-first-event overhead of the component, and the
//! guest's linear memory after a 1 MB streamed answer.
//!
//! `cargo bench -p mantle-host --bench provider` (figures go to BENCHMARKS.md).

#![allow(clippy::unwrap_used, reason = "a benchmark stops at the first failure")]

use std::time::{Duration, Instant};

use mantle_host::build;
use mantle_host::emulator::{Emulator, EmulatorConfig, Script, config_text};
use mantle_host::runtime::{GuestOptions, Runtime, chat_request, empty_settings, types, user_text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "bench-key";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn settings(emu: &Emulator, extra: &str) -> types::Settings {
    types::Settings {
        bearer_token: Some(KEY.into()),
        config: Some(config_text(&emu.base_url(), extra)),
        ..empty_settings()
    }
}

fn request(model: &str) -> types::ChatRequest {
    chat_request(model, vec![user_text("hi")])
}

/// An OpenAI stream of about `bytes` bytes of text deltas.
fn long_stream(bytes: usize) -> String {
    let piece = "The quick brown fox jumps over the lazy dog. ";
    let mut body = String::from(
        "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"openai.gpt-oss-20b\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    );
    while body.len() < bytes {
        body.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"openai.gpt-oss-20b\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{piece}\"}},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    body.push_str("data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"openai.gpt-oss-20b\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"openai.gpt-oss-20b\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\ndata: [DONE]\n\n");
    body
}

/// Time to the first complete SSE event read by a plain TCP client.
async fn raw_first_event(emu: &Emulator) -> Duration {
    let body = r#"{"model":"openai.gpt-oss-20b","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        emu.addr(),
        body.len()
    );
    let started = Instant::now();
    let mut s = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&buf[..n]);
        if let Some(i) = seen.windows(4).position(|w| w == b"\r\n\r\n")
            && seen[i + 4..].windows(2).any(|w| w == b"\n\n")
        {
            return started.elapsed();
        }
    }
}

#[tokio::main]
async fn main() {
    let rt = Runtime::load(&build::component().unwrap()).unwrap();
    let emu = Emulator::start(EmulatorConfig {
        static_keys: vec![KEY.into()],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();

    // list: warm cache.
    let mut g = rt.instantiate(GuestOptions::default()).await.unwrap();
    let c = g.client(&settings(&emu, "")).await.unwrap();
    g.list(c).await.unwrap().unwrap();
    let n = 2_000u32;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(g.list(c).await.unwrap().unwrap());
    }
    println!(
        "list, warm cache (7 models, mean of {n}): {:.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );

    // list: cold, 500 discovered models.
    let ids: Vec<String> = (0..500)
        .map(|i| format!("vendor{}.model-{i:03}-instruct", i % 17))
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    emu.set_models(&refs);
    let mut cold = Vec::new();
    for _ in 0..50 {
        let c = g.client(&settings(&emu, "")).await.unwrap();
        let t = Instant::now();
        let listing = g.list(c).await.unwrap().unwrap();
        cold.push(t.elapsed());
        assert_eq!(listing.models.len(), 501);
    }
    println!(
        "list, cold, 500-model discovery body incl. GET on loopback (median of 50): {:?}",
        median(cold)
    );

    emu.set_models(&mantle_host::emulator::DEFAULT_MODELS);

    // SSE throughput: in the guest (through wasi-http, loopback) and natively.
    let body = long_stream(8 << 20);
    let mb = body.len() as f64 / 1e6;
    emu.set_script(Script::new(body.clone()).chunked(64 * 1024).times(1_000));
    let mut guest_runs = Vec::new();
    let mut peak = 0;
    for _ in 0..5 {
        let mut g = rt.instantiate(GuestOptions::default()).await.unwrap();
        let c = g.client(&settings(&emu, "discovery: false")).await.unwrap();
        let t = Instant::now();
        let s = g
            .chat_stream(c, &request("openai.gpt-oss-20b"))
            .await
            .unwrap()
            .unwrap();
        let mut events = 0u64;
        while let Some(e) = g.next_event(s).await.unwrap() {
            e.unwrap();
            events += 1;
        }
        guest_runs.push(t.elapsed());
        assert!(events > 1000);
        peak = g.peak_memory();
    }
    let guest = median(guest_runs);
    let mut native_runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut stream = mantle_provider::openai::event_stream();
        let mut out = Vec::new();
        for chunk in body.as_bytes().chunks(64 * 1024) {
            stream.feed(chunk, &mut out).unwrap();
            out.clear();
        }
        stream.end(&mut out).unwrap();
        native_runs.push(t.elapsed());
    }
    let native = median(native_runs);
    println!(
        "stream {mb:.1} MB of OpenAI SSE: guest {:.0} MB/s (incl. HTTP on loopback and one component call per event), native parse+map {:.0} MB/s",
        mb / guest.as_secs_f64(),
        mb / native.as_secs_f64()
    );
    println!(
        "guest linear memory after an {mb:.1} MB streamed answer: {} KiB",
        peak / 1024
    );

    // Events per second through the component: `next` (one call per event) against
    // `get-next` with `subscribe` (one call per batch of what is ready), interleaved.
    let mut one_by_one = Vec::new();
    let mut batched = Vec::new();
    let mut events_per_stream = 0u64;
    for _ in 0..5 {
        for batch in [false, true] {
            let mut g = rt.instantiate(GuestOptions::default()).await.unwrap();
            let c = g.client(&settings(&emu, "discovery: false")).await.unwrap();
            let t = Instant::now();
            let s = g
                .chat_stream(c, &request("openai.gpt-oss-20b"))
                .await
                .unwrap()
                .unwrap();
            let mut events = 0u64;
            if batch {
                loop {
                    match g.get_next(s).await.unwrap() {
                        Some(items) if items.is_empty() => break,
                        Some(items) => {
                            for e in items {
                                e.unwrap();
                                events += 1;
                            }
                        }
                        None => {
                            let p = g.subscribe(s).await.unwrap();
                            g.poll(std::slice::from_ref(&p)).await.unwrap();
                            g.drop_pollable(p).unwrap();
                        }
                    }
                }
            } else {
                while let Some(e) = g.next_event(s).await.unwrap() {
                    e.unwrap();
                    events += 1;
                }
            }
            let elapsed = t.elapsed();
            events_per_stream = events;
            if batch {
                batched.push(elapsed);
            } else {
                one_by_one.push(elapsed);
            }
        }
    }
    let rate = |d: Duration| events_per_stream as f64 / d.as_secs_f64();
    let (one_by_one, batched) = (median(one_by_one), median(batched));
    println!(
        "events/s through the component, {events_per_stream} events in {mb:.1} MB (median of 5): next {:.0}k ({:.0} MB/s), get-next + subscribe {:.0}k ({:.0} MB/s)",
        rate(one_by_one) / 1e3,
        mb / one_by_one.as_secs_f64(),
        rate(batched) / 1e3,
        mb / batched.as_secs_f64()
    );

    // 1 MB answer: linear memory.
    emu.set_script(
        Script::new(long_stream(1 << 20))
            .chunked(16 * 1024)
            .times(1),
    );
    let mut g = rt.instantiate(GuestOptions::default()).await.unwrap();
    let c = g.client(&settings(&emu, "discovery: false")).await.unwrap();
    let s = g
        .chat_stream(c, &request("openai.gpt-oss-20b"))
        .await
        .unwrap()
        .unwrap();
    while let Some(e) = g.next_event(s).await.unwrap() {
        e.unwrap();
    }
    println!(
        "guest linear memory after a 1 MB streamed answer: {} KiB",
        g.peak_memory() / 1024
    );
    emu.clear_script();

    // Time to first event: plain TCP client vs through the component, alternating.
    let mut raw = Vec::new();
    let mut through = Vec::new();
    let mut g = rt.instantiate(GuestOptions::default()).await.unwrap();
    let c = g.client(&settings(&emu, "discovery: false")).await.unwrap();
    for _ in 0..200 {
        raw.push(raw_first_event(&emu).await);
        let t = Instant::now();
        let s = g
            .chat_stream(c, &request("openai.gpt-oss-20b"))
            .await
            .unwrap()
            .unwrap();
        g.next_event(s).await.unwrap().unwrap().unwrap();
        through.push(t.elapsed());
        while g.next_event(s).await.unwrap().is_some() {}
    }
    let (raw, through) = (median(raw), median(through));
    println!(
        "time to first event (median of 200): plain client {raw:?}, through the component {through:?}, overhead {:?}",
        through.saturating_sub(raw)
    );
}
