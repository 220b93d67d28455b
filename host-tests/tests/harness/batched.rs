//! Batched stream reads through the component: `get-next` driven by `subscribe` and
//! `wasi:io/poll`, and `blocking-get-next`, give exactly what `next` gives one by one, on
//! both routes, errors included; and one host task drives several streams at once. These are
//! exports of the WASI 0.2 build; the WASI 0.3 build's counterpart is in `contract`.

use std::time::Duration;

use mantle_host::emulator::{Emulator, EmulatorConfig, Script, StreamFault, config_text};
use mantle_host::events::to_chat;
use mantle_host::runtime::{
    Guest, GuestOptions, Stream, StreamItem, Wasi, chat_request, empty_settings, types, user_text,
};
use mantle_host::transcripts::ChatEvent;
use mantle_host::transcripts::{self, Route, Transcript};
use wasmtime::component::ResourceAny;

use crate::common::guest_of;

/// A guest of the WASI 0.2 build, the one with batched reads.
async fn guest(options: GuestOptions) -> Guest {
    guest_of(Wasi::P2, options).await
}

const KEY: &str = "batched-test-key";

/// The most items one `get-next` gives, as the WIT says.
const MAX_BATCH: usize = 512;

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        static_keys: vec![KEY.into()],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

async fn client(g: &mut Guest, emu: &Emulator, extra: &str) -> ResourceAny {
    g.client(&types::Settings {
        config: Some(config_text(
            &emu.base_url(),
            &format!("discovery: false, {extra}"),
        )),
        bearer_token: Some(KEY.into()),
        ..empty_settings()
    })
    .await
    .unwrap()
}

fn model_of(t: &Transcript) -> &'static str {
    match t.route {
        Route::OpenAi => transcripts::OPENAI_MODEL,
        Route::Anthropic => transcripts::CLAUDE_MODEL,
        Route::Responses | Route::OpenaiResponses => transcripts::GPT5_MODEL,
    }
}

/// What a stream gave: its events, then the error that ended it, as debug text (the WIT
/// error has no `PartialEq`), and how many calls it took.
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<ChatEvent>,
    error: Option<String>,
}

#[derive(Clone, Copy, Debug)]
enum Reader {
    /// `next`, one call per event.
    OneByOne,
    /// `get-next`, waiting on `subscribe`'s pollable whenever it says `none`.
    Polled,
    /// `blocking-get-next`.
    Blocking,
}

/// Adds a batch to the outcome; `true` when the batch ended the stream.
fn take(out: &mut Outcome, batch: Vec<StreamItem>) -> bool {
    assert!(batch.len() <= MAX_BATCH, "a batch of {}", batch.len());
    let n = batch.len();
    for (i, item) in batch.into_iter().enumerate() {
        assert!(out.error.is_none(), "an item after an error");
        match item {
            Ok(e) => out.events.push(to_chat(&e)),
            Err(e) => {
                assert_eq!(i + 1, n, "an error that is not the last item of its batch");
                out.error = Some(format!("{e:?}"));
            }
        }
    }
    n == 0
}

async fn read(g: &mut Guest, stream: Stream, reader: Reader) -> Outcome {
    let mut out = Outcome {
        events: Vec::new(),
        error: None,
    };
    let mut calls = 0;
    loop {
        calls += 1;
        assert!(calls < 100_000, "the stream does not end");
        match reader {
            Reader::OneByOne => match g.next_event(stream).await.unwrap() {
                None => break,
                Some(item) => {
                    take(&mut out, vec![item]);
                }
            },
            Reader::Polled => match g.get_next(stream).await.unwrap() {
                None => {
                    let ready = g.subscribe(stream).await.unwrap();
                    assert_eq!(g.poll(std::slice::from_ref(&ready)).await.unwrap(), [0]);
                    g.drop_pollable(ready).unwrap();
                }
                Some(batch) => {
                    if take(&mut out, batch) {
                        break;
                    }
                }
            },
            Reader::Blocking => {
                let batch = g.blocking_get_next(stream).await.unwrap();
                if take(&mut out, batch) {
                    break;
                }
            }
        }
    }
    // The end stays the end, whichever way it is asked.
    assert_eq!(g.get_next(stream).await.unwrap().map(|b| b.len()), Some(0));
    assert!(g.blocking_get_next(stream).await.unwrap().is_empty());
    assert!(g.next_event(stream).await.unwrap().is_none());
    let ready = g.subscribe(stream).await.unwrap();
    assert_eq!(g.poll(std::slice::from_ref(&ready)).await.unwrap(), [0]);
    g.drop_pollable(ready).unwrap();
    g.drop_stream(stream).await.unwrap();
    out
}

/// The stream of `t`'s request read with `reader`. Mantle names every request with an id of
/// its own, which an error ending the stream names too: checked here, then written as
/// `req_…` so that two reads of one transcript compare equal.
async fn run(g: &mut Guest, c: ResourceAny, t: &Transcript, reader: Reader) -> Outcome {
    let request = chat_request(model_of(t), vec![user_text("hi")]);
    let stream = g.chat_stream(c, &request).await.unwrap().unwrap();
    let request_id = g
        .request_id(stream)
        .await
        .unwrap()
        .expect("Mantle's request id");
    let mut out = read(g, stream, reader).await;
    if let Some(error) = &mut out.error {
        assert!(
            error.contains(&format!("(request id {request_id})")),
            "{error}"
        );
        *error = error.replace(&request_id, "req_…");
    }
    out
}

#[tokio::test]
async fn batches_give_exactly_the_events_one_by_one_reads_give() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, &emu, "").await;
    let all = transcripts::all();
    assert!(
        all.iter()
            .any(|t| t.route == Route::OpenAi && t.error.is_some())
    );
    assert!(
        all.iter()
            .any(|t| t.route == Route::Anthropic && t.error.is_some())
    );
    for t in all {
        for chunk in [None, Some(1), Some(7), Some(64)] {
            let script = || {
                let mut s = Script::from(t.clone());
                s.chunk_size = chunk;
                s
            };
            emu.set_script(script());
            let one_by_one = run(&mut g, c, &t, Reader::OneByOne).await;
            assert_eq!(one_by_one.events, t.events, "{} chunked {chunk:?}", t.name);
            assert_eq!(one_by_one.error.is_some(), t.error.is_some(), "{}", t.name);
            for reader in [Reader::Polled, Reader::Blocking] {
                emu.set_script(script());
                let batched = run(&mut g, c, &t, reader).await;
                assert_eq!(
                    batched, one_by_one,
                    "{} chunked {chunk:?}, {reader:?}",
                    t.name
                );
            }
        }
    }
}

#[tokio::test]
async fn broken_streams_end_batches_with_the_same_typed_error() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, &emu, "betweenBytesTimeoutMs: 300").await;
    for t in [
        transcripts::openai_text(transcripts::OPENAI_MODEL),
        transcripts::anthropic_text(transcripts::CLAUDE_MODEL),
    ] {
        let half = t.body.len() / 2;
        let faults = [
            ("cut", StreamFault::CutAfter(half), "Truncated"),
            (
                "stall",
                StreamFault::StallAfter(half, Duration::from_secs(5)),
                "Timeout",
            ),
        ];
        for (what, fault, kind) in faults {
            let script = || Script::from(t.clone()).chunked(16).with_fault(fault);
            emu.set_script(script());
            let one_by_one = run(&mut g, c, &t, Reader::OneByOne).await;
            let error = one_by_one.error.clone().unwrap();
            assert!(
                error.starts_with(&format!("Error::{kind}(")),
                "{} {what}: {error}",
                t.name
            );
            assert!(!one_by_one.events.is_empty(), "{} {what}", t.name);
            assert_eq!(
                one_by_one.events[..],
                t.events[..one_by_one.events.len()],
                "{} {what}",
                t.name
            );
            for reader in [Reader::Polled, Reader::Blocking] {
                emu.set_script(script());
                let batched = run(&mut g, c, &t, reader).await;
                assert_eq!(batched, one_by_one, "{} {what}, {reader:?}", t.name);
            }
        }
    }
}

/// Four answers of one client (both routes, text, tools and thinking), started one after
/// another, each scripted to arrive in small pieces with pauses so that they interleave: the
/// transcripts and their streams, in order.
async fn interleaved_answers(
    g: &mut Guest,
    emu: &Emulator,
    c: ResourceAny,
) -> ([Transcript; 4], Vec<Stream>) {
    let all = [
        transcripts::openai_text(transcripts::OPENAI_MODEL),
        transcripts::openai_tool_calls(transcripts::OPENAI_MODEL),
        transcripts::anthropic_thinking(transcripts::CLAUDE_MODEL),
        transcripts::anthropic_tool_use(transcripts::CLAUDE_MODEL),
    ];
    let mut streams = Vec::new();
    for t in &all {
        emu.set_script(
            Script::from(t.clone())
                .chunked(40)
                .with_delay(Duration::from_millis(5))
                .times(1),
        );
        let request = chat_request(model_of(t), vec![user_text("hi")]);
        streams.push(g.chat_stream(c, &request).await.unwrap().unwrap());
    }
    (all, streams)
}

#[tokio::test]
async fn one_task_drives_several_streams_with_one_poll() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, &emu, "").await;
    let (all, streams) = interleaved_answers(&mut g, &emu, c).await;
    let mut outcomes: Vec<Outcome> = all
        .iter()
        .map(|_| Outcome {
            events: Vec::new(),
            error: None,
        })
        .collect();
    let mut open: Vec<usize> = (0..all.len()).collect();
    let mut polls = 0;
    while !open.is_empty() {
        polls += 1;
        assert!(polls < 100_000, "the streams do not end");
        // Take what every open stream has, then wait on all that had nothing.
        let mut waiting = Vec::new();
        for &i in &open.clone() {
            match g.get_next(streams[i]).await.unwrap() {
                Some(batch) => {
                    if take(&mut outcomes[i], batch) {
                        open.retain(|&j| j != i);
                    }
                }
                None => waiting.push(i),
            }
        }
        if waiting.len() == open.len() && !waiting.is_empty() {
            let mut pollables = Vec::new();
            for &i in &waiting {
                pollables.push(g.subscribe(streams[i]).await.unwrap());
            }
            let ready = g.poll(&pollables).await.unwrap();
            assert!(!ready.is_empty());
            for p in pollables {
                g.drop_pollable(p).unwrap();
            }
        }
    }
    for (t, out) in all.iter().zip(outcomes) {
        assert_eq!(out.events, t.events, "{}", t.name);
        assert_eq!(out.error, None, "{}", t.name);
    }
    for s in streams {
        g.drop_stream(s).await.unwrap();
    }
}

/// The WASI 0.3 counterpart of [`one_task_drives_several_streams_with_one_poll`]: four answers
/// of one instance, each a `stream` its task writes as the upstream's pieces arrive, read
/// in turns one event at a time, each whole and in order.
#[tokio::test]
async fn the_wasi_0_3_build_streams_several_answers_of_one_instance_at_once() {
    let emu = emulator().await;
    let mut g = guest_of(Wasi::P3, GuestOptions::default()).await;
    let c = client(&mut g, &emu, "").await;
    let (all, streams) = interleaved_answers(&mut g, &emu, c).await;
    let mut outcomes: Vec<Vec<ChatEvent>> = all.iter().map(|_| Vec::new()).collect();
    let mut open: Vec<usize> = (0..all.len()).collect();
    while !open.is_empty() {
        for i in open.clone() {
            match g.next_event(streams[i]).await.unwrap() {
                Some(Ok(event)) => outcomes[i].push(to_chat(&event)),
                Some(Err(e)) => panic!("{}: {e:?}", all[i].name),
                None => open.retain(|&j| j != i),
            }
        }
    }
    for (t, events) in all.iter().zip(outcomes) {
        assert_eq!(events, t.events, "{}", t.name);
    }
    for s in streams {
        g.drop_stream(s).await.unwrap();
    }
}

/// On WASI 0.3 the answer's events reach the host as the upstream's bytes arrive: those
/// before a stall are read while the upstream is still silent, and the error that ends the
/// answer (the upstream closing mid-answer) comes after them, with Mantle's request id.
#[tokio::test]
async fn the_wasi_0_3_build_hands_events_over_before_the_answer_ends() {
    let emu = emulator().await;
    let mut g = guest_of(Wasi::P3, GuestOptions::default()).await;
    let c = client(&mut g, &emu, "betweenBytesTimeoutMs: 20000").await;
    let t = transcripts::openai_text(transcripts::OPENAI_MODEL);
    let stall = Duration::from_secs(3);
    emu.set_script(
        Script::from(t.clone())
            .chunked(16)
            .with_fault(StreamFault::StallAfter(t.body.len() / 2, stall)),
    );
    let started = std::time::Instant::now();
    let request = chat_request(model_of(&t), vec![user_text("hi")]);
    let stream = g.chat_stream(c, &request).await.unwrap().unwrap();
    let first = g.next_event(stream).await.unwrap().unwrap().unwrap();
    assert!(
        started.elapsed() < stall / 2,
        "the first event waited for the stall: {:?}",
        started.elapsed()
    );
    let mut events = vec![to_chat(&first)];
    let error = loop {
        match g.next_event(stream).await.unwrap() {
            Some(Ok(event)) => events.push(to_chat(&event)),
            Some(Err(e)) => break e,
            None => panic!("the cut answer ended without its error"),
        }
    };
    assert!(
        started.elapsed() >= stall,
        "the error came before the stall ended"
    );
    assert!(matches!(error, types::Error::Truncated(_)), "{error:?}");
    assert_eq!(events[..], t.events[..events.len()]);
    assert!(g.next_event(stream).await.unwrap().is_none());
    assert!(g.request_id(stream).await.unwrap().is_some());
    g.drop_stream(stream).await.unwrap();
}

/// On WASI 0.3 a host that drops an answer midway is done with it: the same instance goes on
/// serving, and the next answer comes whole, while the dropped one's upstream is still
/// silent.
#[tokio::test]
async fn the_wasi_0_3_build_serves_on_after_an_answer_is_dropped_midway() {
    let emu = emulator().await;
    let mut g = guest_of(Wasi::P3, GuestOptions::default()).await;
    let c = client(&mut g, &emu, "betweenBytesTimeoutMs: 20000").await;
    let t = transcripts::openai_text(transcripts::OPENAI_MODEL);
    let request = chat_request(model_of(&t), vec![user_text("hi")]);
    emu.set_script(
        Script::from(t.clone())
            .chunked(16)
            .with_fault(StreamFault::StallAfter(
                t.body.len() / 2,
                Duration::from_secs(10),
            ))
            .times(1),
    );
    let dropped = g.chat_stream(c, &request).await.unwrap().unwrap();
    g.next_event(dropped).await.unwrap().unwrap().unwrap();
    g.drop_stream(dropped).await.unwrap();
    assert!(
        g.next_event(dropped).await.is_err(),
        "a dropped stream reads on"
    );

    emu.set_script(Script::from(t.clone()).chunked(16));
    let started = std::time::Instant::now();
    let stream = g.chat_stream(c, &request).await.unwrap().unwrap();
    let mut events = Vec::new();
    while let Some(item) = g.next_event(stream).await.unwrap() {
        events.push(to_chat(&item.unwrap()));
    }
    assert_eq!(events, t.events);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the next answer waited for the dropped one"
    );
}
