//! `serve --reuse-instances`: a kept instance answers the next request exactly as a fresh one
//! would, carries nothing of the last request into the next, picks up new credentials, and
//! is never kept after it failed.

use std::time::Duration;

use mantle_host::credentials::{AwsCredentials, CredentialSlot};
use mantle_host::emulator::Script;
use mantle_host::token_check;
use mantle_host::transcripts;
use serde_json::{Value, json};

use crate::common::{KEY, SECRET, poll_until, wait_until};
use crate::face::{Face, GATEWAY_KEY};

const MODEL: &str = "openai.gpt-oss-120b";

/// A chat whose one message carries `marker`.
fn chat_with(marker: &str, stream: bool) -> Value {
    json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": format!("Remember {marker}, then say hello.")}],
        "stream": stream,
    })
}

/// An answer's bytes with its `created` times blanked (the one part that depends on when it
/// was made).
fn without_times(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut rest = text.as_ref();
    while let Some(at) = rest.find("\"created\":") {
        let (head, tail) = rest.split_at(at + "\"created\":".len());
        out.push_str(head);
        out.push('T');
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// The bodies the emulator received on its chat route, oldest first.
fn upstream_bodies(face: &Face) -> Vec<String> {
    face.emulator
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// Waits until the gateway keeps `n` instances: an instance goes back to the pool just after
/// its answer ends, so a client quick enough may otherwise get a fresh one.
async fn settle(face: &Face, n: usize) {
    let gateway = &face.running.gateway;
    let settled = poll_until(Duration::from_secs(5), || gateway.idle_instances() == n).await;
    assert!(
        settled,
        "{} instances kept, not {n}",
        gateway.idle_instances()
    );
}

/// The access key id the last chat request upstream was signed with.
fn last_signing_key(face: &Face) -> String {
    let requests = face.emulator.requests();
    let last = requests
        .iter()
        .rev()
        .find(|r| r.method == "POST")
        .expect("a chat went upstream");
    let bearer = last
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .expect("a bearer token");
    token_check::decode(bearer)
        .expect("a minted token")
        .access_key_id
}

#[tokio::test]
async fn a_kept_instance_answers_as_a_fresh_one_and_carries_nothing_over() {
    let warm = Face::start_with(&[], |c| c.reuse_instances = true).await;
    let fresh = Face::start().await;
    let markers = ["alpha-7c1e", "bravo-52d9", "charlie-0b44", "delta-9fa3"];
    for (i, marker) in markers.iter().enumerate() {
        let request = chat_with(marker, i % 2 == 1);
        let (status, _, kept) = warm.post(&request).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&kept));
        settle(&warm, 1).await;
        let (_, _, new) = fresh.post(&request).await;
        // Byte for byte what a fresh instance answers, streams included.
        assert_eq!(without_times(&kept), without_times(&new), "request {i}");
        // Neither the answer nor what went upstream holds an earlier request's words.
        let upstream = upstream_bodies(&warm);
        let sent = upstream.last().expect("the chat went upstream");
        assert!(sent.contains(marker), "{sent}");
        for earlier in &markers[..i] {
            assert!(
                !sent.contains(earlier),
                "request {i} carried {earlier}: {sent}"
            );
            let answer = String::from_utf8_lossy(&kept);
            assert!(!answer.contains(earlier), "answer {i} carried {earlier}");
        }
    }
    // One instance served them all.
    let gateway = &warm.running.gateway;
    assert_eq!(gateway.instances_created(), 1);
    assert_eq!(gateway.instances_reused(), 3);
    assert_eq!(fresh.running.gateway.instances_created(), 4);
    assert_eq!(fresh.running.gateway.instances_reused(), 0);
}

#[tokio::test]
async fn requests_at_once_get_instances_of_their_own() {
    let face = Face::start_with(&[], |c| c.reuse_instances = true).await;
    face.warm().await;
    settle(&face, 1).await;
    let transcript = transcripts::openai_text(MODEL);
    face.emulator
        .set_script(Script::halves(transcript.body.clone(), Duration::from_millis(300)).times(4));
    let calls: Vec<_> = (0..4)
        .map(|i| face.spawn_post(&chat_with(&format!("parallel-{i}"), false)))
        .collect();
    for call in calls {
        let (status, _, body) = call.await.unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    settle(&face, 4).await;
    // The first instance was kept; the three that overlapped it were made for them, and
    // all four are kept for what follows.
    let gateway = &face.running.gateway;
    assert_eq!(gateway.instances_created(), 4);
    let before = gateway.instances_created();
    for _ in 0..4 {
        face.warm().await;
        settle(&face, 4).await;
    }
    assert_eq!(gateway.instances_created(), before);
}

#[tokio::test]
async fn new_credentials_reach_a_kept_instance() {
    const OTHER_KEY: &str = "AKIAROTATEDKEY000001";
    const OTHER_SECRET: &str = "rotated/secret/0123456789abcdefghijklmnop";
    let slot = CredentialSlot::default();
    let creds = |key: &str, secret: &str| AwsCredentials {
        access_key_id: key.into(),
        secret_access_key: secret.into(),
        session_token: None,
        expiration: None,
    };
    slot.set(Some(creds(KEY, SECRET)));
    let given = slot.clone();
    let face = Face::start_with(&[], move |c| {
        c.reuse_instances = true;
        c.credentials = Some(given);
    })
    .await;
    face.emulator.add_credentials(OTHER_KEY, OTHER_SECRET);
    face.warm().await;
    settle(&face, 1).await;
    assert_eq!(last_signing_key(&face), KEY);
    // The refresher hands the gateway new keys: the kept instance signs with them at once.
    slot.set(Some(creds(OTHER_KEY, OTHER_SECRET)));
    face.warm().await;
    assert_eq!(last_signing_key(&face), OTHER_KEY);
    assert_eq!(face.running.gateway.instances_created(), 1);
}

#[tokio::test]
async fn an_instance_that_failed_is_not_kept() {
    let face = Face::start_with(&[], |c| {
        c.reuse_instances = true;
        c.memory_limit = 4 << 20;
        c.request_timeout = Duration::from_secs(1);
    })
    .await;
    let gateway = face.running.gateway.clone();
    face.warm().await;
    settle(&face, 1).await;
    assert_eq!(gateway.instances_created(), 1);
    // A request that runs the instance out of memory: it traps, and is dropped.
    let big =
        json!({"model": MODEL, "messages": [{"role": "user", "content": "x".repeat(6 << 20)}]});
    let (status, _, _) = face.post(&big).await;
    assert_eq!(status, 500);
    face.warm().await;
    settle(&face, 1).await;
    assert_eq!(
        gateway.instances_created(),
        2,
        "the trapped instance was kept"
    );
    // A request stopped at the deadline: dropped as well.
    let transcript = transcripts::openai_text(MODEL);
    face.emulator
        .set_script(Script::halves(transcript.body.clone(), Duration::from_secs(3)).times(1));
    let (status, _, _) = face.post(&chat_with("late", false)).await;
    assert_eq!(status, 504);
    face.warm().await;
    settle(&face, 1).await;
    assert_eq!(
        gateway.instances_created(),
        3,
        "the stopped instance was kept"
    );
    // A client that goes away mid-stream: its instance is stopped and dropped.
    let cancelled = gateway.cancelled();
    face.emulator
        .set_script(Script::halves(transcript.body.clone(), Duration::from_millis(500)).times(1));
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let body = chat_with("gone", true).to_string();
        let mut tcp = tokio::net::TcpStream::connect(face.running.addr)
            .await
            .unwrap();
        let head = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {GATEWAY_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut first = [0u8; 64];
        let n = tcp.read(&mut first).await.unwrap();
        assert!(n > 0);
    }
    // The gateway notices when it next writes (the upstream's second half, 500 ms on).
    wait_until(
        "the gateway stops the instance of the client that went away",
        Duration::from_secs(10),
        || gateway.cancelled() > cancelled,
    )
    .await;
    face.warm().await;
    settle(&face, 1).await;
    assert_eq!(
        gateway.instances_created(),
        4,
        "the cancelled instance was kept"
    );
    assert!(gateway.cancelled() >= 1);
}
