//! Shared set-up: the component built and compiled once, guests, emulators.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use mantle_host::build::{self, Wasm};
use mantle_host::runtime::{Guest, GuestOptions, Runtime, Wasi, types};

pub const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// 2025-07-15T05:00:00Z
pub const FIXTURE_AT: u64 = 1_752_555_600;

/// The runtime of one build of the provider component, compiled once per process.
pub fn runtime_of(wasi: Wasi) -> &'static Runtime {
    static P2: OnceLock<Runtime> = OnceLock::new();
    static P3: OnceLock<Runtime> = OnceLock::new();
    let (cell, build): (_, fn() -> anyhow::Result<std::path::PathBuf>) = match wasi {
        Wasi::P2 => (&P2, build::component),
        Wasi::P3 => (&P3, build::component_p3),
    };
    cell.get_or_init(|| {
        let path = build().expect("the component builds");
        Runtime::load_build(&Wasm::File(path), wasi).expect("the component compiles")
    })
}

/// A guest of the build the provider tests run against: the one `MANTLE_PROVIDER_WASI` names
/// (`0.3`), else the WASI 0.2 one.
pub async fn guest(options: GuestOptions) -> Guest {
    guest_of(Wasi::from_env(), options).await
}

/// A guest of one build, for what only that build offers.
pub async fn guest_of(wasi: Wasi, options: GuestOptions) -> Guest {
    runtime_of(wasi)
        .instantiate(options)
        .await
        .expect("the component instantiates")
}

pub fn creds(key: &str, secret: &str, session: Option<&str>) -> types::Credentials {
    types::Credentials {
        access_key_id: key.into(),
        secret_access_key: secret.into(),
        session_token: session.map(Into::into),
        expiration: None,
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A small deterministic generator, so a failing case can be replayed from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn string(&mut self, alphabet: &[u8], min: usize, max: usize) -> String {
        let len = min + self.below((max - min + 1) as u64) as usize;
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

/// A base URL on loopback where nothing listens (the port was just free), so connecting is
/// refused.
pub fn refused_base_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/v1")
}

/// How often [`wait_for`] looks again.
const LOOK_AGAIN: Duration = Duration::from_millis(10);

/// Asks `probe` every few milliseconds until it gives a value, for at most `within`; `None`
/// when the time is up. Tests wait on signals (a counter, a log line, a port that answers)
/// this way, never with a fixed pause.
pub async fn poll_for<T, F>(within: Duration, mut probe: impl FnMut() -> F) -> Option<T>
where
    F: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(LOOK_AGAIN).await;
    }
}

/// [`poll_for`], failing the test with `what` (what never happened) when the time is up.
pub async fn wait_for<T, F>(what: &str, within: Duration, probe: impl FnMut() -> F) -> T
where
    F: Future<Output = Option<T>>,
{
    poll_for(within, probe)
        .await
        .unwrap_or_else(|| panic!("{what}: not within {within:?}"))
}

/// Whether `ready` came to hold within `within`, looked at every few milliseconds.
pub async fn poll_until(within: Duration, mut ready: impl FnMut() -> bool) -> bool {
    poll_for(within, || std::future::ready(ready().then_some(())))
        .await
        .is_some()
}

/// Waits until `ready` holds, for at most `within`; past it the test fails with `what`.
pub async fn wait_until(what: &str, within: Duration, ready: impl FnMut() -> bool) {
    assert!(
        poll_until(within, ready).await,
        "{what}: not within {within:?}"
    );
}

/// One request to `url` (`http://HOST:PORT/PATH?QUERY`) on a connection of its own, through
/// the emulator's client ([`mantle_host::emulator::http_request`]): the status and the whole
/// body; `None` when nothing answers there (yet) or the exchange breaks.
pub async fn request_url(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: bytes::Bytes,
) -> Option<(u16, String)> {
    let uri: hyper::Uri = url.parse().ok()?;
    let addr: std::net::SocketAddr = uri.authority()?.as_str().parse().ok()?;
    let path = uri.path_and_query()?.as_str();
    let (status, _, body) = mantle_host::emulator::http_request(addr, method, path, headers, body)
        .await
        .ok()?;
    Some((status, String::from_utf8(body.to_vec()).ok()?))
}
