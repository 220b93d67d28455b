//! Token minting through the component: the official fixture, an independent oracle, the
//! emulator's verification, and every bad input.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use mantle_host::emulator::{Emulator, EmulatorConfig, http_request};
use mantle_host::runtime::{GuestOptions, types};
use mantle_host::token_check;
use mantle_provider::token;

use crate::common::{FIXTURE_AT, KEY, Rng, SECRET, creds, guest, now};

/// The official generator's output for the fixture, decoded.
const FIXTURE_URL: &str = "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250715%2Fus-west-2%2Fbedrock%2Faws4_request&X-Amz-Date=20250715T050000Z&X-Amz-Expires=43200&X-Amz-SignedHeaders=host&X-Amz-Signature=924fe715b07676257098c59ab6ec75da00293dcc7f7fe2aba8e551374ceed9df&Version=1";

fn fixture_token() -> String {
    format!("bedrock-api-key-{}", STANDARD.encode(FIXTURE_URL))
}

#[tokio::test]
async fn the_component_reproduces_the_official_token() {
    let mut g = guest(GuestOptions::default()).await;
    let t = g
        .mint_token(&creds(KEY, SECRET, None), "us-west-2", 43_200, FIXTURE_AT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.token, fixture_token());
    assert_eq!(t.region, "us-west-2");
    assert_eq!(
        (t.issued_at, t.expires_at),
        (FIXTURE_AT, FIXTURE_AT + 43_200)
    );
}

#[test]
fn mantle_host_mint_token_prints_exactly_the_official_token() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mantle-host"))
        .args([
            "mint-token",
            "--region",
            "us-west-2",
            "--expires-in",
            "43200",
            "--at",
            "2025-07-15T05:00:00Z",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MANTLE_COMPONENT", mantle_host::build::component().unwrap())
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", fixture_token())
    );

    // A region beyond the documented twelve mints all the same.
    let sydney = std::process::Command::new(env!("CARGO_BIN_EXE_mantle-host"))
        .args(["mint-token", "--region", "ap-southeast-2"])
        .env_clear()
        .env("MANTLE_COMPONENT", mantle_host::build::component().unwrap())
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .output()
        .unwrap();
    assert!(
        sydney.status.success(),
        "{}",
        String::from_utf8_lossy(&sydney.stderr)
    );
    let token = String::from_utf8(sydney.stdout).unwrap();
    assert_eq!(
        mantle_host::token_check::decode(token.trim())
            .unwrap()
            .region,
        "ap-southeast-2"
    );

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_mantle-host"))
        .args(["mint-token", "--region", "mars-1"])
        .env_clear()
        .env("MANTLE_COMPONENT", mantle_host::build::component().unwrap())
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(bad.stdout.is_empty());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("mars-1") && err.contains("eu-north-1"),
        "{err}"
    );
    assert!(!err.contains(SECRET));
}

#[test]
fn the_oracle_agrees_with_the_fixture() {
    assert_eq!(
        token_check::signature(KEY, SECRET, None, "us-west-2", 43_200, FIXTURE_AT).unwrap(),
        "924fe715b07676257098c59ab6ec75da00293dcc7f7fe2aba8e551374ceed9df"
    );
}

#[tokio::test]
async fn signatures_match_aws_sigv4_on_random_inputs() {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const SECRETS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+=";
    let mut g = guest(GuestOptions::default()).await;
    let mut rng = Rng::new(0x6d61_6e74_6c65);
    for case in 0..1_200 {
        let key = rng.string(ALNUM, 16, 40);
        let secret = rng.string(SECRETS, 1, 60);
        let session = (rng.below(2) == 0).then(|| rng.string(SECRETS, 1, 400));
        let region = mantle_provider::region::SUPPORTED_REGIONS[rng.below(12) as usize];
        let expires_in = 1 + rng.below(43_200) as u32;
        let at = rng.below(4_102_444_800); // up to 2100
        let t = g
            .mint_token(
                &creds(&key, &secret, session.as_deref()),
                region,
                expires_in,
                at,
            )
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("case {case}: {e:?}"));
        let decoded = token_check::decode(&t.token).unwrap();
        assert_eq!(decoded.session_token, session, "case {case}");
        assert_eq!(decoded.region, region, "case {case}");
        assert_eq!(
            decoded.signature,
            token_check::signature(&key, &secret, session.as_deref(), region, expires_in, at)
                .unwrap(),
            "case {case}: key {key} region {region} expires {expires_in} at {at} session {session:?}"
        );
    }
}

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        region: "us-west-2".into(),
        credentials: vec![(KEY.into(), SECRET.into())],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

async fn get_models(emu: &Emulator, auth: Option<&str>) -> (u16, serde_json::Value) {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    let (status, _, body) = http_request(emu.addr(), "GET", "/v1/models", &headers, Bytes::new())
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

fn tamper(token: &str, edit: impl Fn(String) -> String) -> String {
    let url = String::from_utf8(STANDARD.decode(&token[token::PREFIX.len()..]).unwrap()).unwrap();
    format!("{}{}", token::PREFIX, STANDARD.encode(edit(url)))
}

#[tokio::test]
async fn the_emulator_accepts_a_minted_token_and_refuses_bad_ones() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let now = now();
    let mint = |region: &'static str, secret: &'static str, at: u64, expires: u32| {
        (creds(KEY, secret, None), region, expires, at)
    };
    let mut token_for = async |(c, r, e, at): (types::Credentials, &str, u32, u64)| {
        g.mint_token(&c, r, e, at).await.unwrap().unwrap().token
    };

    let good = token_for(mint("us-west-2", SECRET, now, 900)).await;
    let (status, body) = get_models(&emu, Some(&format!("Bearer {good}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "list");
    assert!(
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "openai.gpt-oss-120b")
    );

    let refused = [
        (
            "tampered region",
            tamper(&good, |u| u.replace("us-west-2", "us-east-1")),
        ),
        (
            "tampered expiry",
            tamper(&good, |u| {
                u.replace("X-Amz-Expires=900", "X-Amz-Expires=901")
            }),
        ),
        (
            "tampered signature",
            tamper(&good, |u| {
                let i = u.find("X-Amz-Signature=").unwrap() + 16;
                let flipped = if &u[i..=i] == "0" { "1" } else { "0" };
                format!("{}{}{}", &u[..i], flipped, &u[i + 1..])
            }),
        ),
        (
            "expired",
            token_for(mint("us-west-2", SECRET, now - 1000, 900)).await,
        ),
        (
            "wrong region",
            token_for(mint("us-east-1", SECRET, now, 900)).await,
        ),
        (
            "wrong secret",
            token_for(mint("us-west-2", "not-the-secret", now, 900)).await,
        ),
        (
            "signed in the future",
            token_for(mint("us-west-2", SECRET, now + 3600, 900)).await,
        ),
        ("garbage", format!("{}%%%", token::PREFIX)),
    ];
    // Mantle's words (FACTS): an expired token, one signed ahead of the clock, and any other.
    for (what, bad) in &refused {
        let (status, body) = get_models(&emu, Some(&format!("Bearer {bad}"))).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"]["code"], "invalid_api_key", "{what}: {body}");
        assert_eq!(
            body["error"]["type"], "authentication_error",
            "{what}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        let words = match *what {
            "expired" => "Signature expired: ",
            "signed in the future" => "Signature not yet current: ",
            _ => "The security token included in the request is invalid.",
        };
        assert!(message.starts_with(words), "{what}: {message}");
    }
    let (status, body) = get_models(&emu, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = get_models(&emu, Some(&format!("Basic {good}"))).await;
    assert_eq!(status, 401);
    let (status, _) = get_models(&emu, Some("Bearer some-static-key")).await;
    assert_eq!(status, 401);

    let seen = emu.requests();
    assert_eq!(seen.len(), refused.len() + 4);
    assert_eq!(seen.iter().filter(|r| r.status == 200).count(), 1);
}

#[tokio::test]
async fn a_token_of_temporary_credentials_is_accepted_until_it_expires() {
    let emu = emulator().await;
    let mut g = guest(GuestOptions::default()).await;
    let at = now();
    let mut c = creds(
        KEY,
        SECRET,
        Some("FwoGZXIvYXdzEJr//////////wEaDH+session=="),
    );
    c.expiration = Some(at + 600);
    let t = g
        .mint_token(&c, "us-west-2", 43_200, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.expires_at, at + 600);
    let (status, body) = get_models(&emu, Some(&format!("Bearer {}", t.token))).await;
    assert_eq!(status, 200, "{body}");
    emu.set_now(Some(at + 43_200));
    let (status, body) = get_models(&emu, Some(&format!("Bearer {}", t.token))).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Signature expired: "),
        "{body}"
    );
}

fn kind(e: &types::Error) -> &'static str {
    use types::Error as E;
    match e {
        E::Configuration(_) => "configuration",
        E::MissingCredentials(_) => "missing-credentials",
        E::InvalidRequest(_) => "invalid-request",
        _ => "other",
    }
}

#[tokio::test]
async fn every_bad_input_gets_its_typed_error() {
    let mut g = guest(GuestOptions::default()).await;
    let at = FIXTURE_AT;
    let mut expired = creds(KEY, SECRET, None);
    expired.expiration = Some(at - 1);
    let mut expiring_now = creds(KEY, SECRET, None);
    expiring_now.expiration = Some(at);
    let cases: Vec<(&str, types::Credentials, &str, u32, u64, &str)> = vec![
        (
            "empty key",
            creds("", SECRET, None),
            "us-west-2",
            60,
            at,
            "missing-credentials",
        ),
        (
            "blank key",
            creds("  ", SECRET, None),
            "us-west-2",
            60,
            at,
            "missing-credentials",
        ),
        (
            "empty secret",
            creds(KEY, "", None),
            "us-west-2",
            60,
            at,
            "missing-credentials",
        ),
        (
            "key with a slash",
            creds("AKIA/X", SECRET, None),
            "us-west-2",
            60,
            at,
            "invalid-request",
        ),
        (
            "malformed region",
            creds(KEY, SECRET, None),
            "us north 9",
            60,
            at,
            "configuration",
        ),
        (
            "empty region",
            creds(KEY, SECRET, None),
            "",
            60,
            at,
            "configuration",
        ),
        (
            "expires-in 0",
            creds(KEY, SECRET, None),
            "us-west-2",
            0,
            at,
            "invalid-request",
        ),
        (
            "expires-in 43201",
            creds(KEY, SECRET, None),
            "us-west-2",
            43_201,
            at,
            "invalid-request",
        ),
        (
            "expires-in max",
            creds(KEY, SECRET, None),
            "us-west-2",
            u32::MAX,
            at,
            "invalid-request",
        ),
        (
            "expired credentials",
            expired,
            "us-west-2",
            60,
            at,
            "missing-credentials",
        ),
        (
            "credentials expiring now",
            expiring_now,
            "us-west-2",
            60,
            at,
            "missing-credentials",
        ),
        (
            "time past 9999",
            creds(KEY, SECRET, None),
            "us-west-2",
            60,
            u64::MAX,
            "invalid-request",
        ),
    ];
    for (what, c, region, expires, now, want) in cases {
        let e = g
            .mint_token(&c, region, expires, now)
            .await
            .unwrap_or_else(|trap| panic!("{what}: trapped: {trap:#}"))
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(kind(&e), want, "{what}: {e:?}");
        let text = format!("{e:?}");
        assert!(!text.contains(SECRET), "{what}: secret in {text}");
        if want == "configuration" {
            assert!(
                text.contains("us-east-1") && text.contains("sa-east-1"),
                "{what}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn no_input_traps_the_guest() {
    let mut g = guest(GuestOptions::default()).await;
    let mut rng = Rng::new(7);
    let any: Vec<u8> = (0u8..=127).collect();
    for case in 0..2_000 {
        let mut c = creds(
            &rng.string(&any, 0, 30),
            &rng.string(&any, 0, 30),
            (rng.below(2) == 0)
                .then(|| "tok/+=\u{0}é✓".repeat(rng.below(4) as usize))
                .as_deref(),
        );
        if rng.below(3) == 0 {
            c.access_key_id = "ÄKIA✓\u{0}".into();
        }
        c.expiration = (rng.below(2) == 0).then(|| rng.next());
        let region = if rng.below(2) == 0 {
            "us-east-1".to_owned()
        } else {
            rng.string(&any, 0, 20)
        };
        let expires = [0, 1, 43_200, 43_201, u32::MAX][rng.below(5) as usize];
        let at = [0, 1, FIXTURE_AT, u64::MAX, rng.next()][rng.below(5) as usize];
        let result = g.mint_token(&c, &region, expires, at).await;
        assert!(
            result.is_ok(),
            "case {case} trapped: {:#}",
            result.err().unwrap()
        );
    }
}
