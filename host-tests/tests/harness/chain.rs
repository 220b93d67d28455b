//! Upstream credentials as a new user brings them: `AWS_PROFILE` and the shared files,
//! `credential_process`, container credentials, instance metadata (IMDSv2) and web identity,
//! each served from loopback; the emulator verifies every token minted from them. Then the
//! one precedence order, for `models list` and `serve` alike, and credentials that expire
//! while `serve` runs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use mantle_host::emulator::{Emulator, EmulatorConfig, config_text};
use serde_json::Value;

use crate::common::{KEY, SECRET, poll_for, poll_until};
use crate::edges::{GATEWAY_KEY, Served, mantle_host, temp_dir};

/// One request a stub saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, extra headers, body.
type Reply = (u16, Vec<(&'static str, &'static str)>, String);
type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A loopback HTTP server answering with `handler`; it records what it saw.
struct Stub {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    fn start(handler: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Stub {
        Stub::start_with_headers(move |r| {
            let (status, body) = handler(r);
            (status, Vec::new(), body)
        })
    }

    fn start_with_headers(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let handler = handler.clone();
                let log = log.clone();
                std::thread::spawn(move || {
                    let Some(request) = read_request(&mut stream) else {
                        return;
                    };
                    let (status, extra, body) = handler(&request);
                    log.lock().unwrap().push(request);
                    let extra: String =
                        extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body.as_bytes());
                });
            }
        });
        Stub { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Seen> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + len {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    Some(Seen {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&data[head_end..]).into_owned(),
    })
}

/// An RFC 3339 time `secs` from now.
fn in_secs(secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The access key id a minted Mantle token was signed with, or the token itself when static.
fn token_identity(authorization: &str) -> String {
    let token = authorization
        .strip_prefix("Bearer ")
        .unwrap_or(authorization);
    let Some(b64) = token.strip_prefix("bedrock-api-key-") else {
        return token.to_owned();
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    decoded
        .split("X-Amz-Credential=")
        .nth(1)
        .and_then(|rest| rest.split("%2F").next())
        .map_or(decoded.clone(), str::to_owned)
}

/// Who the emulator saw on each request, with the status it answered.
fn identities(emulator: &Emulator) -> Vec<(String, u16)> {
    emulator
        .requests()
        .iter()
        .map(|r| {
            (
                token_identity(r.header("authorization").unwrap_or_default()),
                r.status,
            )
        })
        .collect()
}

async fn emulator_knowing(keys: &[(&str, &str)], static_keys: &[&str]) -> (Emulator, PathBuf) {
    let emulator = Emulator::start(EmulatorConfig {
        credentials: keys
            .iter()
            .map(|(k, s)| ((*k).to_owned(), (*s).to_owned()))
            .collect(),
        static_keys: static_keys.iter().map(|k| (*k).to_owned()).collect(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let config = temp_dir("chain").join("config.json5");
    std::fs::write(&config, config_text(&emulator.base_url(), "")).unwrap();
    (emulator, config)
}

/// `mantle-host models list --json --config CONFIG` with `command`'s environment; the ids.
async fn models_list(mut command: Command, config: &Path) -> (Vec<String>, String) {
    command
        .args(["models", "list", "--json", "--config"])
        .arg(config);
    let out = tokio::process::Command::from(command)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let ids = json
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, stderr)
}

/// `models list` found the emulator's models with a token minted from `key_id`.
async fn lists_with(command: Command, key_id: &str, keys: &[(&str, &str)]) -> Emulator {
    let (emulator, config) = emulator_knowing(keys, &[]).await;
    let (ids, stderr) = models_list(command, &config).await;
    assert!(
        ids.iter().any(|i| i == "openai.gpt-oss-120b"),
        "only {ids:?}; stderr: {stderr}"
    );
    assert_eq!(
        identities(&emulator),
        vec![(key_id.to_owned(), 200)],
        "{stderr}"
    );
    emulator
}

#[tokio::test]
async fn without_credentials_the_provider_lists_nothing_and_says_why() {
    let (emulator, config) = emulator_knowing(&[(KEY, SECRET)], &[]).await;
    let (ids, stderr) = models_list(mantle_host(None), &config).await;
    // The silent skip: no usable credentials, no models, not even the built-in row.
    assert!(ids.is_empty(), "{ids:?} {stderr}");
    assert!(stderr.contains("no AWS credentials found"), "{stderr}");
    assert_eq!(emulator.requests().len(), 0);
}

#[tokio::test]
async fn aws_profile_picks_a_profile_of_the_shared_files() {
    let dir = temp_dir("profile");
    std::fs::write(
        dir.join("config"),
        "[default]\nregion = us-east-1\n\n[profile team]\nregion = us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("credentials"),
        "[default]\naws_access_key_id = AKIADEFAULTPROFILE01\naws_secret_access_key = default-secret\n\n\
         [team]\naws_access_key_id = AKIATEAMPROFILE00001\naws_secret_access_key = team-secret\n",
    )
    .unwrap();
    let mut command = mantle_host(None);
    command
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .env("AWS_PROFILE", "team");
    lists_with(
        command,
        "AKIATEAMPROFILE00001",
        &[
            ("AKIATEAMPROFILE00001", "team-secret"),
            ("AKIADEFAULTPROFILE01", "default-secret"),
        ],
    )
    .await;

    // mint-token follows the same chain.
    let mut command = mantle_host(None);
    command
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .env("AWS_PROFILE", "team")
        .args(["mint-token", "--region", "us-west-2"]);
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(token_identity(token.trim()), "AKIATEAMPROFILE00001");
}

/// A `credential_process` script printing the documented JSON.
fn process_profile(dir: &Path, script_body: &str) -> Command {
    let script = dir.join("creds.sh");
    std::fs::write(&script, script_body).unwrap();
    std::fs::write(
        dir.join("config"),
        format!(
            "[profile proc]\nregion = us-east-1\ncredential_process = sh {}\n",
            script.display()
        ),
    )
    .unwrap();
    let mut command = mantle_host(None);
    command
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env("AWS_PROFILE", "proc");
    command
}

#[tokio::test]
async fn a_credential_process_gives_temporary_credentials() {
    let dir = temp_dir("process");
    let script = format!(
        "printf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS000000001\", \"SecretAccessKey\": \"process-secret\", \"SessionToken\": \"process-session\", \"Expiration\": \"{}\"}}'\n",
        in_secs(3600)
    );
    let command = process_profile(&dir, &script);
    let emulator = lists_with(
        command,
        "ASIAPROCESS000000001",
        &[("ASIAPROCESS000000001", "process-secret")],
    )
    .await;
    // The session token is signed into the token.
    let auth = emulator.requests()[0]
        .header("authorization")
        .unwrap()
        .to_owned();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim_start_matches("Bearer bedrock-api-key-"))
        .unwrap();
    assert!(String::from_utf8_lossy(&decoded).contains("X-Amz-Security-Token=process-session"));
}

fn container_json(key: &str, secret: &str) -> String {
    format!(
        "{{\"AccessKeyId\":\"{key}\",\"SecretAccessKey\":\"{secret}\",\"Token\":\"container-session\",\"Expiration\":\"{}\"}}",
        in_secs(3600)
    )
}

#[tokio::test]
async fn container_credentials_come_from_the_full_uri_with_the_authorization_token() {
    // ECS: the token in a variable; EKS Pod Identity: the token in a file.
    for token_in_file in [false, true] {
        let stub = Stub::start(|r| {
            if r.header("authorization") == Some("container-auth-token") {
                (
                    200,
                    container_json("ASIACONTAINER0000001", "container-secret"),
                )
            } else {
                (401, "{}".into())
            }
        });
        let mut command = mantle_host(None);
        command.env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/v1/credentials", stub.url()),
        );
        if token_in_file {
            let file = temp_dir("pod-identity").join("token");
            std::fs::write(&file, "container-auth-token").unwrap();
            command.env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file);
        } else {
            command.env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token");
        }
        lists_with(
            command,
            "ASIACONTAINER0000001",
            &[("ASIACONTAINER0000001", "container-secret")],
        )
        .await;
        let seen = stub.seen();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].path, "/v1/credentials");
    }
}

#[tokio::test]
async fn instance_metadata_is_asked_with_an_imdsv2_session_token() {
    let stub = Stub::start_with_headers(|r| {
        let token_ok = r.header("x-aws-ec2-metadata-token") == Some("imds-session");
        match (r.method.as_str(), r.path.as_str()) {
            ("PUT", "/latest/api/token")
                if r.header("x-aws-ec2-metadata-token-ttl-seconds").is_some() =>
            {
                (
                    200,
                    vec![("x-aws-ec2-metadata-token-ttl-seconds", "21600")],
                    "imds-session".into(),
                )
            }
            ("GET", "/latest/meta-data/iam/security-credentials/") if token_ok => {
                (200, Vec::new(), "instance-role".into())
            }
            ("GET", "/latest/meta-data/iam/security-credentials/instance-role") if token_ok => (
                200,
                Vec::new(),
                format!(
                    "{{\"Code\":\"Success\",\"LastUpdated\":\"{}\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAINSTANCE00000001\",\"SecretAccessKey\":\"instance-secret\",\"Token\":\"instance-session\",\"Expiration\":\"{}\"}}",
                    in_secs(0),
                    in_secs(3600)
                ),
            ),
            _ => (401, Vec::new(), String::new()),
        }
    });
    let mut command = mantle_host(None);
    command
        .env("AWS_EC2_METADATA_DISABLED", "false")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", stub.url());
    lists_with(
        command,
        "ASIAINSTANCE00000001",
        &[("ASIAINSTANCE00000001", "instance-secret")],
    )
    .await;
    let seen = stub.seen();
    assert_eq!(seen[0].method, "PUT", "{seen:?}");
    assert!(seen.iter().all(|r| r.path.starts_with("/latest/")));
}

#[tokio::test]
async fn web_identity_assumes_the_role_at_sts() {
    let stub = Stub::start(|r| {
        let form = r.body.as_str();
        if form.contains("Action=AssumeRoleWithWebIdentity")
            && form.contains("WebIdentityToken=oidc-jwt-of-the-pod")
            && form.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fmantle")
        {
            (
                200,
                format!(
                    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                     <AssumeRoleWithWebIdentityResult><Credentials>\
                     <AccessKeyId>ASIAWEBIDENTITY00001</AccessKeyId>\
                     <SecretAccessKey>web-identity-secret</SecretAccessKey>\
                     <SessionToken>web-identity-session</SessionToken>\
                     <Expiration>{}</Expiration></Credentials>\
                     <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/mantle/test</Arn>\
                     <AssumedRoleId>AROAEXAMPLE:test</AssumedRoleId></AssumedRoleUser>\
                     </AssumeRoleWithWebIdentityResult>\
                     <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>\
                     </AssumeRoleWithWebIdentityResponse>",
                    in_secs(3600)
                ),
            )
        } else {
            (400, format!("unexpected request: {form}"))
        }
    });
    let file = temp_dir("web-identity").join("token");
    std::fs::write(&file, "oidc-jwt-of-the-pod").unwrap();
    let mut command = mantle_host(None);
    command
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &file)
        .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/mantle")
        .env("AWS_ROLE_SESSION_NAME", "test")
        .env("AWS_ENDPOINT_URL_STS", stub.url());
    lists_with(
        command,
        "ASIAWEBIDENTITY00001",
        &[("ASIAWEBIDENTITY00001", "web-identity-secret")],
    )
    .await;
    assert_eq!(stub.seen().len(), 1);
}

/// The precedence table of the README, row by row, for `models list` and for `serve`:
/// (configuration's apiKey, AWS_BEARER_TOKEN_BEDROCK) -> what reaches the upstream. AWS keys
/// are always in the environment: they count only when neither token is given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_precedence_order_for_every_command() {
    let rows: [(Option<&str>, Option<&str>, &str); 4] = [
        (Some("config-key"), Some("env-key"), "config-key"),
        (
            Some("env:MY_MANTLE_KEY"),
            Some("env-key"),
            "my-variable-key",
        ),
        (None, Some("env-key"), "env-key"),
        (None, None, KEY),
    ];
    for (api_key, bearer, expected) in rows {
        let (emulator, _) = emulator_knowing(
            &[(KEY, SECRET)],
            &["config-key", "env-key", "my-variable-key"],
        )
        .await;
        let extra = api_key.map_or(String::new(), |k| format!("apiKey: \"{k}\""));
        let config = temp_dir("precedence").join("config.json5");
        std::fs::write(&config, config_text(&emulator.base_url(), &extra)).unwrap();
        let command = || {
            let mut c = mantle_host(None);
            c.env("AWS_ACCESS_KEY_ID", KEY)
                .env("AWS_SECRET_ACCESS_KEY", SECRET)
                .env("MY_MANTLE_KEY", "my-variable-key")
                .env("MANTLE_GATEWAY_KEY", GATEWAY_KEY);
            if let Some(b) = bearer {
                c.env("AWS_BEARER_TOKEN_BEDROCK", b);
            }
            c
        };
        let (ids, stderr) = models_list(command(), &config).await;
        assert!(ids.len() > 1, "{api_key:?} {bearer:?}: {ids:?} {stderr}");
        let served = Served::start(command(), &["--config", config.to_str().unwrap()]);
        let (status, body) = served.get_models().await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(
            identities(&emulator),
            vec![(expected.to_owned(), 200), (expected.to_owned(), 200)],
            "apiKey {api_key:?}, AWS_BEARER_TOKEN_BEDROCK {bearer:?}: models list, then serve"
        );
    }
}

/// `serve` with credentials that expire every few seconds, from a `credential_process` that
/// hands out new keys each time: the upstream sees tokens minted from newer keys while the
/// gateway keeps serving, and every one of them verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refreshes_credentials_before_they_expire() {
    let keys: Vec<(String, String)> = (1..=100)
        .map(|n| (format!("ASIAREFRESH{n:09}"), format!("refresh-secret-{n}")))
        .collect();
    let known: Vec<(&str, &str)> = keys.iter().map(|(k, s)| (k.as_str(), s.as_str())).collect();
    let (emulator, config) = emulator_knowing(&known, &[]).await;
    let dir = temp_dir("refresh");
    let counter = dir.join("counter");
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}\n\
         exp=$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%SZ)\n\
         printf '{{\"Version\": 1, \"AccessKeyId\": \"ASIAREFRESH%09d\", \"SecretAccessKey\": \"refresh-secret-%d\", \"SessionToken\": \"s%d\", \"Expiration\": \"%s\"}}' $n $n $n $exp\n",
        c = counter.display()
    );
    let mut command = process_profile(&dir, &script);
    command.env("MANTLE_GATEWAY_KEY", GATEWAY_KEY);
    let served = Served::start(command, &["--config", config.to_str().unwrap()]);
    let (status, _, body) = served.chat(false).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let first = identities(&emulator).last().unwrap().0.clone();
    // The credential process runs again before the first keys expire (its counter says so);
    // from then on the gateway signs with the newer keys.
    let runs = || {
        std::fs::read_to_string(&counter)
            .ok()
            .and_then(|n| n.trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    let again = poll_until(Duration::from_secs(30), || runs() >= 2).await;
    assert!(
        again,
        "the credentials were never refreshed; log:\n{}",
        served.log()
    );
    let (served, emulator, first) = (&served, &emulator, first.as_str());
    let newer = poll_for(Duration::from_secs(10), || async move {
        let (status, _, body) = served.chat(false).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let last = identities(emulator).last().unwrap().0.clone();
        (last != first).then_some(last)
    })
    .await;
    let newer = newer.unwrap_or_else(|| panic!("never a new token; log:\n{}", served.log()));
    assert!(newer.as_str() > first, "{newer} after {first}");
    assert!(
        identities(emulator)
            .iter()
            .all(|(_, status)| *status == 200),
        "{:?}",
        identities(emulator)
    );
}

/// What a new user does: one profile, `mantle-host emulate` in one process, `models list` in
/// another; the emulator accepts only tokens minted from the profile's keys.
#[tokio::test]
async fn aws_profile_works_against_mantle_host_emulate() {
    use std::io::BufRead;
    let dir = temp_dir("profile-emulate");
    std::fs::write(
        dir.join("config"),
        "[profile newcomer]\nregion = us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("credentials"),
        "[newcomer]\naws_access_key_id = AKIANEWCOMER00000001\naws_secret_access_key = newcomer-secret\n",
    )
    .unwrap();
    let with_profile = || {
        let mut c = mantle_host(None);
        c.env("AWS_CONFIG_FILE", dir.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
            .env("AWS_PROFILE", "newcomer");
        c
    };
    let mut emulate = with_profile()
        .args(["emulate", "--listen", "127.0.0.1:0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(emulate.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("1 access key(s) accepted"), "{line}");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let config = dir.join("config.json5");
    std::fs::write(&config, config_text(&url, "")).unwrap();
    let (ids, stderr) = models_list(with_profile(), &config).await;
    let _ = emulate.kill();
    let _ = emulate.wait();
    assert!(
        ids.iter().any(|i| i == "openai.gpt-oss-120b"),
        "{ids:?} {stderr}"
    );
}
