//! The face on the hosts users run it on: a real Spin (`spin up`, with `spin.toml` itself) and
//! `mantle-host serve`, each in front of one emulator, driven by the official openai and
//! anthropic SDKs; and the emulator's streams framed every way the SSE standard allows
//! (`\n`, `\r\n`, `\r`, writes cut anywhere, no blank line after the last event).
//!
//! Spin comes from `scripts/setup-spin` (the Spin 4.1 in `../shared/tools`, else `spin` on
//! `PATH`), or `MANTLE_SPIN`; the SDKs from `scripts/setup-clients`. Without them the tests
//! that need them skip, or fail, as [`crate::installed`] says.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use mantle_host::build;
use mantle_host::emulator::{
    Emulator, EmulatorConfig, Script, StreamFault, config_text, http_request,
};
use mantle_host::framing::{Framing, LineEnd, Tail, reframe};
use mantle_host::transcripts;
use rustix::process::{self, Pid, Signal};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::clients::run_python_with;
use crate::common::wait_for;
use crate::installed::{self, available};

const GATEWAY_KEY: &str = "gw-real-hosts-key-0123456789";
/// Bearer keys the emulator takes as Mantle's (`AWS_BEARER_TOKEN_BEDROCK`).
const BEARER: &str = "mantle-real-hosts-bearer-1";
const OTHER_BEARER: &str = "mantle-real-hosts-bearer-2";

/// The SDK suites, each with the base URL its SDK wants.
const SUITES: [&str; 3] = [
    "test_openai_client.py",
    "test_openai_responses.py",
    "test_anthropic_face.py",
];

/// The emulator `serve --emulate` runs (every model captured), with the test's keys.
async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        static_keys: vec![BEARER.into(), OTHER_BEARER.into()],
        ..EmulatorConfig::everything_captured("us-east-1").unwrap()
    })
    .await
    .unwrap()
}

/// The builds of the face Spin runs: the same face on spin-sdk 5.2 (WASI 0.2, what `spin.toml`
/// builds) and on spin-sdk 7 (WASI 0.3, the `p3` feature). `mantle-host serve` hosts the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceBuild {
    /// spin-sdk 5.2, `wasi:http/incoming-handler@0.2.0`.
    P2,
    /// spin-sdk 7, `wasi:http/handler@0.3.0`.
    P3,
}

impl FaceBuild {
    /// The built component.
    pub fn wasm(self) -> PathBuf {
        match self {
            FaceBuild::P2 => build::face(),
            FaceBuild::P3 => build::face_p3(),
        }
        .expect("the face builds")
    }

    /// `spin up` running this build, for messages.
    fn spin_name(self) -> &'static str {
        match self {
            FaceBuild::P2 => "spin up (WASI 0.2 face)",
            FaceBuild::P3 => "spin up (WASI 0.3 face)",
        }
    }
}

/// A directory under `target/tmp`, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = build::workspace_root().join(format!(
            "target/tmp/{what}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `spin.toml` as the tests run it: the same manifest with two values changed for a loopback
/// upstream, the component's `source` (the face built here) and `allowed_outbound_hosts`
/// (the emulator's origin alone).
pub fn manifest_for(upstream_origin: &str, face: &Path) -> String {
    let text = std::fs::read_to_string(build::workspace_root().join("spin.toml")).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().expect("spin.toml is TOML");
    let components = doc["component"]
        .as_table_like_mut()
        .expect("spin.toml declares components");
    for (_, component) in components.iter_mut() {
        component["source"] = toml_edit::value(face.to_str().expect("a UTF-8 path"));
        let mut hosts = toml_edit::Array::new();
        hosts.push(upstream_origin);
        component["allowed_outbound_hosts"] = toml_edit::value(hosts);
    }
    doc.to_string()
}

/// A gateway process under test; killed with every process it started when dropped,
/// whatever the test's outcome.
pub struct Host {
    pub name: &'static str,
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    /// The lines it wrote, stdout and stderr.
    log: mpsc::UnboundedReceiver<String>,
}

/// Forwards the lines of `stream` to `lines`.
fn forward(stream: impl AsyncRead + Unpin + Send + 'static, lines: mpsc::UnboundedSender<String>) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill_group();
    }
}

impl Host {
    /// Starts `command` (stdout and stderr piped) and waits, at most three minutes, for the
    /// line that says where it serves; `origin_of` finds the origin in a line.
    async fn start(
        name: &'static str,
        mut command: Command,
        origin_of: fn(&str) -> Option<String>,
    ) -> Host {
        // A group of its own: `spin up` runs its trigger as a child process, which killing
        // `spin up` alone would leave behind, still serving.
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let (sender, mut log) = mpsc::unbounded_channel();
        forward(child.stdout.take().unwrap(), sender.clone());
        forward(child.stderr.take().unwrap(), sender);
        let mut seen = String::new();
        let waited = tokio::time::timeout(Duration::from_secs(180), async {
            while let Some(line) = log.recv().await {
                seen.push_str(&line);
                seen.push('\n');
                if let Some(origin) = origin_of(&line) {
                    return Some(origin);
                }
            }
            None
        })
        .await;
        let origin = match waited {
            Ok(Some(origin)) => origin,
            Ok(None) => panic!("{name} stopped before serving:\n{seen}"),
            Err(_) => panic!("{name} did not say it serves within three minutes:\n{seen}"),
        };
        let host = Host {
            name,
            child,
            origin,
            log,
        };
        host.wait_until_it_answers().await;
        host
    }

    /// Waits until the port takes a connection (at most a minute).
    async fn wait_until_it_answers(&self) {
        let addr = self.addr();
        wait_for(
            &format!("{} takes a connection on {addr}", self.name),
            Duration::from_secs(60),
            || async move { tokio::net::TcpStream::connect(addr).await.ok() },
        )
        .await;
    }

    /// `mantle-host serve` with `bearer` as Mantle's key, pointed at `emulator`.
    pub async fn serve(emulator: &Emulator, dir: &TempDir, bearer: &str) -> Host {
        let config = dir.path().join("config.json5");
        std::fs::write(&config, config_text(&emulator.base_url(), "")).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_mantle-host"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("MANTLE_GATEWAY_KEY", GATEWAY_KEY)
            .env(
                "MANTLE_FACE",
                build::served_face().expect("the face builds"),
            )
            .env("AWS_BEARER_TOKEN_BEDROCK", bearer)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE");
        Host::start("mantle-host serve", command, |line| {
            let rest = line.strip_prefix("OpenAI-compatible gateway at ")?;
            let url = rest.split_whitespace().next()?;
            Some(url.trim_end_matches('/').trim_end_matches("/v1").to_owned())
        })
        .await
    }

    /// `spin up` of `spin.toml` (see [`manifest_for`]) running the face built as `build`, in
    /// `dir`, with `bearer` as Mantle's key, pointed at `emulator`. Spin keeps its state (the
    /// key-value store's SQLite file, logs) in `dir/.spin`.
    pub async fn spin(
        spin: &Path,
        build: FaceBuild,
        emulator: &Emulator,
        dir: &TempDir,
        bearer: &str,
    ) -> Host {
        let face = build.wasm();
        let origin = format!("http://{}", emulator.addr());
        let manifest = dir.path().join("spin.toml");
        std::fs::write(&manifest, manifest_for(&origin, &face)).unwrap();
        let mut command = Command::new(spin);
        // Only the variables given here: none a developer's shell may hold.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SPIN_VARIABLE_") {
                command.env_remove(name);
            }
        }
        command
            .arg("up")
            .arg("--from")
            .arg(&manifest)
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(dir.path())
            .env("SPIN_VARIABLE_GATEWAY_API_KEY", GATEWAY_KEY)
            .env("SPIN_VARIABLE_AWS_BEARER_TOKEN_BEDROCK", bearer)
            .env(
                "SPIN_VARIABLE_MANTLE_CONFIG",
                config_text(&emulator.base_url(), ""),
            );
        Host::start(build.spin_name(), command, |line| {
            let rest = line.trim().strip_prefix("Serving ")?;
            Some(rest.trim_end_matches('/').to_owned())
        })
        .await
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.origin
            .trim_start_matches("http://")
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", self.origin))
    }

    /// Runs the Python SDK suites `files` against it, with `filter` (unittest `-k`) if any.
    pub async fn run_suites(&self, files: &[&str], filter: Option<&str>) {
        let args: Vec<&str> = filter.map(|f| vec!["-k", f]).unwrap_or_default();
        for file in files {
            let url = if file.contains("anthropic") {
                self.origin.clone()
            } else {
                format!("{}/v1", self.origin)
            };
            run_python_with(
                file,
                &args,
                &[
                    ("MANTLE_FACE_URL", url),
                    ("MANTLE_GATEWAY_KEY", GATEWAY_KEY.to_owned()),
                ],
            )
            .await;
        }
    }

    /// One request with the gateway key.
    pub async fn request(&self, method: &str, path: &str, body: &Value) -> (u16, Bytes) {
        let auth = format!("Bearer {GATEWAY_KEY}");
        let mut headers = vec![("authorization", auth.as_str())];
        let body = if method == "GET" {
            Bytes::new()
        } else {
            headers.push(("content-type", "application/json"));
            Bytes::from(body.to_string())
        };
        let (status, _, answer) = http_request(self.addr(), method, path, &headers, body)
            .await
            .unwrap();
        (status, answer)
    }

    /// Posts `body` to `path` with the gateway key and reads the answer as it arrives until
    /// it holds `until` (at most 30 s, while the upstream may still be sending); returns what
    /// arrived.
    pub async fn read_until(&self, path: &str, body: &Value, until: &[u8]) -> Vec<u8> {
        use http_body_util::BodyExt as _;
        let stream = tokio::net::TcpStream::connect(self.addr()).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let request = hyper::Request::post(path)
            .header("host", self.addr().to_string())
            .header("authorization", format!("Bearer {GATEWAY_KEY}"))
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let mut answer = sender.send_request(request).await.unwrap().into_body();
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), async {
            while got.len() < until.len() {
                match answer.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            got.extend_from_slice(&data);
                        }
                    }
                    _ => break,
                }
            }
        })
        .await;
        assert!(
            read.is_ok(),
            "{}: {} of {} bytes arrived while the upstream stalled: {:?}",
            self.name,
            got.len(),
            until.len(),
            String::from_utf8_lossy(&got)
        );
        got
    }

    /// Kills its process group (the host and any process it started).
    fn kill_group(&self) {
        if let Some(pid) = self.child.id().and_then(|id| Pid::from_raw(id as i32)) {
            let _ = process::kill_process_group(pid, Signal::KILL);
        }
    }

    /// Kills it and what it started; returns what it wrote.
    pub async fn stop(mut self) -> String {
        self.kill_group();
        let _ = self.child.wait().await;
        let mut log = String::new();
        while let Ok(line) = self.log.try_recv() {
            log.push_str(&line);
            log.push('\n');
        }
        assert!(
            !log.contains(GATEWAY_KEY) && !log.contains(BEARER),
            "{}: a secret appeared in the log:\n{log}",
            self.name
        );
        log
    }
}

/// Three listings and a chat through `host`, each on a fresh instance, ask Mantle for the
/// models once: the listing is kept in the key-value store.
async fn the_listing_is_asked_once(host: &Host, emulator: &Emulator) {
    let before = emulator.count("/v1/models");
    for _ in 0..3 {
        let (status, body) = host.request("GET", "/v1/models", &json!({})).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let listed: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            listed["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == transcripts::OPENAI_MODEL),
            "{listed}"
        );
    }
    let chat = json!({"model": transcripts::OPENAI_MODEL,
        "messages": [{"role": "user", "content": "Hi"}]});
    let (status, body) = host.request("POST", "/v1/chat/completions", &chat).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        emulator.count("/v1/models") - before,
        1,
        "{}: the listing was not kept between instances",
        host.name
    );
}

#[test]
fn the_manifest_under_test_is_spin_toml_with_two_values_changed() {
    let original = std::fs::read_to_string(build::workspace_root().join("spin.toml")).unwrap();
    let generated = manifest_for(
        "http://127.0.0.1:4321",
        Path::new("/built/mantle_face.wasm"),
    );
    let changed: Vec<(&str, &str)> = original
        .lines()
        .zip(generated.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(original.lines().count(), generated.lines().count());
    assert_eq!(
        changed,
        [
            (
                "source = \"target/face/wasm32-wasip2/release/mantle_face.wasm\"",
                "source = \"/built/mantle_face.wasm\""
            ),
            (
                "allowed_outbound_hosts = [\"https://bedrock-mantle.{{ aws_region }}.api.aws\"]",
                "allowed_outbound_hosts = [\"http://127.0.0.1:4321\"]"
            ),
        ]
    );
}

/// The SDK suites on a real Spin running the face built as `build`: models, chat
/// completions, Responses, Messages and count_tokens, streaming and not, gateway key refusals.
async fn sdk_suites_on_spin(build: FaceBuild) {
    let Some(spin) = available(installed::spin()) else {
        return;
    };
    let Some(_) = available(installed::python()) else {
        return;
    };
    let emulator = emulator().await;
    let dir = TempDir::new("spin-suites");
    let host = Host::spin(&spin, build, &emulator, &dir, BEARER).await;
    host.run_suites(&SUITES, None).await;
    let log = host.stop().await;
    crate::operate::check_spin_access_log(dir.path(), &log, &[GATEWAY_KEY, BEARER]);
}

#[tokio::test]
async fn sdk_suites_on_spin_wasi_p2() {
    sdk_suites_on_spin(FaceBuild::P2).await;
}

#[tokio::test]
async fn sdk_suites_on_spin_wasi_p3() {
    sdk_suites_on_spin(FaceBuild::P3).await;
}

/// Spin makes a fresh instance per request; the listing survives in its default key-value
/// store, a SQLite file in the app's state directory: across requests, across restarts, and
/// never for another credential.
async fn spin_keeps_the_listing_in_its_key_value_store(build: FaceBuild) {
    let Some(spin) = available(installed::spin()) else {
        return;
    };
    let emulator = emulator().await;
    let dir = TempDir::new("spin-kv");
    let host = Host::spin(&spin, build, &emulator, &dir, BEARER).await;
    the_listing_is_asked_once(&host, &emulator).await;
    host.stop().await;
    let store = dir.path().join(".spin/sqlite_key_value.db");
    assert!(store.is_file(), "no key-value store at {}", store.display());

    // The same app started again: the listing comes from the store.
    let host = Host::spin(&spin, build, &emulator, &dir, BEARER).await;
    let (status, _) = host.request("GET", "/v1/models", &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        emulator.count("/v1/models"),
        1,
        "the stored listing was not used"
    );
    host.stop().await;

    // Another credential on the same store: its own listing, asked for.
    let host = Host::spin(&spin, build, &emulator, &dir, OTHER_BEARER).await;
    let (status, _) = host.request("GET", "/v1/models", &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        emulator.count("/v1/models"),
        2,
        "another credential's listing was served"
    );
    host.stop().await;
}

#[tokio::test]
async fn spin_keeps_the_listing_in_its_key_value_store_wasi_p2() {
    spin_keeps_the_listing_in_its_key_value_store(FaceBuild::P2).await;
}

#[tokio::test]
async fn spin_keeps_the_listing_in_its_key_value_store_wasi_p3() {
    spin_keeps_the_listing_in_its_key_value_store(FaceBuild::P3).await;
}

#[tokio::test]
async fn serve_keeps_the_listing_between_fresh_instances() {
    let emulator = emulator().await;
    let dir = TempDir::new("serve-kv");
    let host = Host::serve(&emulator, &dir, BEARER).await;
    the_listing_is_asked_once(&host, &emulator).await;
    host.stop().await;
}

/// The framings the emulator's streams are tried in: each line end, each way of ending the
/// last event, writes cut at every few bytes (a CR LF pair and UTF-8 sequences included).
fn framings() -> [Framing; 3] {
    [
        Framing::lines(LineEnd::CrLf)
            .ending(Tail::NoBlankLine)
            .in_pieces(5),
        Framing::lines(LineEnd::Cr)
            .ending(Tail::NoLineEnd)
            .in_pieces(3),
        Framing::lines(LineEnd::Lf)
            .ending(Tail::NoBlankLine)
            .in_pieces(7),
    ]
}

/// A Claude stream as a client of the face reads it: Mantle's bytes, but for the
/// `message_start`'s model, which names the model as the client did (`model`).
fn as_echoed(sse: &str, model: &str) -> String {
    let key = r#""model":""#;
    let Some(at) = sse.find(key) else {
        return sse.to_owned();
    };
    let start = at + key.len();
    let end = start + sse[start..].find('"').unwrap_or(0);
    format!("{}{model}{}", &sse[..start], &sse[end..])
}

/// A Claude stream through `/v1/messages` comes back as the upstream wrote it, byte for byte,
/// its last event completed with the blank line the upstream left out; every other stream
/// reads whole through the SDKs.
async fn framings_through(host: &Host, emulator: &Emulator) {
    let claude = transcripts::CLAUDE_MODEL;
    let messages = json!({"model": claude, "max_tokens": 256, "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]});
    for framing in framings() {
        emulator.set_framing(Some(framing));
        let (status, body) = host.request("POST", "/v1/messages", &messages).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let whole = as_echoed(
            &reframe(
                &transcripts::anthropic_text(claude).body,
                &Framing::lines(framing.line_end),
            ),
            claude,
        );
        assert_eq!(
            String::from_utf8_lossy(&body),
            whole,
            "{}: {framing:?}",
            host.name
        );
        host.run_suites(&SUITES, Some("stream")).await;
    }
    emulator.set_framing(None);
    for line_end in LineEnd::ALL {
        events_go_out_as_they_arrive(host, emulator, line_end).await;
    }
}

/// A Claude stream through `/v1/messages` framed with `line_end` is passed on event by event:
/// while the upstream stalls after two events, the client has those two, whole.
async fn events_go_out_as_they_arrive(host: &Host, emulator: &Emulator, line_end: LineEnd) {
    let claude = transcripts::CLAUDE_MODEL;
    let framed = reframe(
        &transcripts::anthropic_text(claude).body,
        &Framing::lines(line_end),
    );
    let blank = line_end.as_str().repeat(2);
    let first_two = framed
        .match_indices(&blank)
        .nth(1)
        .map(|(at, _)| at + blank.len())
        .unwrap();
    emulator.set_script(
        Script::new(framed.clone())
            .with_fault(StreamFault::StallAfter(first_two, Duration::from_secs(60)))
            .times(1),
    );
    let messages = json!({"model": claude, "max_tokens": 256, "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]});
    let seen = as_echoed(&framed[..first_two], claude);
    let got = host
        .read_until("/v1/messages", &messages, seen.as_bytes())
        .await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        seen,
        "{}: {line_end:?}",
        host.name
    );
    emulator.clear_script();
}

#[tokio::test]
async fn sse_framings_through_serve() {
    let Some(_) = available(installed::python()) else {
        return;
    };
    let emulator = emulator().await;
    let dir = TempDir::new("serve-framings");
    let host = Host::serve(&emulator, &dir, BEARER).await;
    framings_through(&host, &emulator).await;
    host.stop().await;
}

/// The framings through a real Spin running the face built as `build`.
async fn sse_framings_through_spin(build: FaceBuild) {
    let Some(spin) = available(installed::spin()) else {
        return;
    };
    let Some(_) = available(installed::python()) else {
        return;
    };
    let emulator = emulator().await;
    let dir = TempDir::new("spin-framings");
    let host = Host::spin(&spin, build, &emulator, &dir, BEARER).await;
    framings_through(&host, &emulator).await;
    host.stop().await;
}

#[tokio::test]
async fn sse_framings_through_spin_wasi_p2() {
    sse_framings_through_spin(FaceBuild::P2).await;
}

#[tokio::test]
async fn sse_framings_through_spin_wasi_p3() {
    sse_framings_through_spin(FaceBuild::P3).await;
}

/// `PATH` without the directories that hold cargo, rustc or rustup.
fn path_without_rust() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| {
            !["cargo", "rustc", "rustup"]
                .iter()
                .any(|tool| dir.join(tool).exists())
        })
        .collect();
    std::env::join_paths(kept).unwrap()
}

/// The installed `mantle-host` (`scripts/test-install` installs it with `cargo install` and
/// runs this test) from an empty directory outside the source tree, with a `HOME` of its
/// own, no cargo, rustc or rustup on `PATH` and no other variable: it mints, lists and serves
/// with the components built into it, and writes nothing where it runs.
#[tokio::test]
#[ignore = "run by scripts/test-install, on an installed mantle-host"]
async fn an_installed_mantle_host_runs_anywhere() {
    let exe = PathBuf::from(
        std::env::var_os("MANTLE_INSTALLED").expect("MANTLE_INSTALLED names the installed binary"),
    );
    let scratch = std::env::temp_dir().join(format!("mantle-installed-{}", std::process::id()));
    let (home, work) = (scratch.join("home"), scratch.join("work"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let path = path_without_rust();
    let command = |args: &[&str]| {
        let mut command = Command::new(&exe);
        command
            .args(args)
            .current_dir(&work)
            .env_clear()
            .env("HOME", &home)
            .env("PATH", &path)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .kill_on_drop(true);
        command
    };
    let mut no_cargo = std::process::Command::new("cargo");
    no_cargo.env_clear().env("PATH", &path);
    assert!(no_cargo.output().is_err(), "cargo is still on PATH");

    // A token minted from access keys, as the component minted it here.
    let at = "2025-07-15T05:00:00Z";
    let output = command(&[
        "mint-token",
        "--region",
        "us-east-1",
        "--expires-in",
        "900",
        "--at",
        at,
    ])
    .env("AWS_ACCESS_KEY_ID", crate::common::KEY)
    .env("AWS_SECRET_ACCESS_KEY", crate::common::SECRET)
    .output()
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = crate::common::guest(Default::default())
        .await
        .mint_token(
            &crate::common::creds(crate::common::KEY, crate::common::SECRET, None),
            "us-east-1",
            900,
            crate::common::FIXTURE_AT,
        )
        .await
        .unwrap()
        .unwrap()
        .token;
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), expected);

    // The listing, through the emulator.
    let emulator = emulator().await;
    let config = home.join("config.json5");
    std::fs::write(&config, config_text(&emulator.base_url(), "")).unwrap();
    let config = config.to_str().unwrap();
    let output = command(&["models", "list", "--json", "--config", config])
        .env("AWS_BEARER_TOKEN_BEDROCK", BEARER)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let models: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        models
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == transcripts::OPENAI_MODEL),
        "{models}"
    );

    // The gateway: a Claude stream through the Messages API, byte for byte.
    let mut serve = command(&["serve", "--listen", "127.0.0.1:0", "--config", config]);
    serve
        .env("MANTLE_GATEWAY_KEY", GATEWAY_KEY)
        .env("AWS_BEARER_TOKEN_BEDROCK", BEARER);
    let host = Host::start("installed mantle-host serve", serve, |line| {
        let rest = line.strip_prefix("OpenAI-compatible gateway at ")?;
        let url = rest.split_whitespace().next()?;
        Some(url.trim_end_matches('/').trim_end_matches("/v1").to_owned())
    })
    .await;
    let claude = transcripts::CLAUDE_MODEL;
    let messages = json!({"model": claude, "max_tokens": 256, "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]});
    let (status, body) = host.request("POST", "/v1/messages", &messages).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        String::from_utf8_lossy(&body),
        as_echoed(&transcripts::anthropic_text(claude).body, claude)
    );
    host.stop().await;

    // MANTLE_COMPONENT and MANTLE_FACE still win over the built-in components.
    for (var, args) in [
        ("MANTLE_COMPONENT", &["mint-token", "--at", at][..]),
        (
            "MANTLE_FACE",
            &["serve", "--listen", "127.0.0.1:0", "--config", config][..],
        ),
    ] {
        let missing = scratch.join("no-such.wasm");
        let output = command(args)
            .env(var, &missing)
            .env("AWS_ACCESS_KEY_ID", crate::common::KEY)
            .env("AWS_SECRET_ACCESS_KEY", crate::common::SECRET)
            .env("MANTLE_GATEWAY_KEY", GATEWAY_KEY)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{var}: {stderr}");
        assert!(
            stderr.contains(&format!("{var}={} is not a file", missing.display())),
            "{var}: {stderr}"
        );
    }

    let left: Vec<_> = std::fs::read_dir(&work).unwrap().collect();
    assert!(
        left.is_empty(),
        "it wrote into the directory it ran in: {left:?}"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
