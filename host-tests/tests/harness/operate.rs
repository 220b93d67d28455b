//! Running it in production: cost per request, named keys with allowlists, the access log and
//! the Prometheus metrics of `mantle-host serve --emulate --keys FILE --metrics-listen ADDR`,
//! through the official Python clients.

use std::process::Stdio;

use bytes::Bytes;
use mantle_host::build;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::clients::run_python_with;
use crate::common::request_url;

const KEY_A: &str = "team-a-key-0123456789";
const KEY_CI: &str = "ci-key-9876543210";
const SINGLE: &str = "gw-single-key-operate";

fn sha256_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn keys_cost_access_log_and_metrics_through_serve() {
    let dir = std::env::temp_dir().join(format!("mantle-operate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("keys.json5");
    std::fs::write(
        &keys,
        format!(
            r#"{{ keys: [
                {{ name: "team-a", sha256: "{}", models: ["openai.gpt-oss-120b", "claude-opus-4.7"] }},
                {{ name: "ci", sha256: "{}" }},
            ] }}"#,
            sha256_hex(KEY_A),
            sha256_hex(KEY_CI)
        ),
    )
    .unwrap();
    let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_mantle-host"))
        .args(["serve", "--emulate", "--listen", "127.0.0.1:0"])
        .args(["--metrics-listen", "127.0.0.1:0", "--keys"])
        .arg(&keys)
        .env("MANTLE_GATEWAY_KEY", SINGLE)
        .env(
            "MANTLE_FACE",
            build::served_face().expect("the face builds"),
        )
        .env_remove("AWS_BEARER_TOKEN_BEDROCK")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mantle-host serve starts");
    let mut lines = BufReader::new(serve.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let (mut url, mut metrics) = (None, None);
    while url.is_none() || metrics.is_none() {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("serve stopped:\n{log}"));
        log.push_str(&line);
        log.push('\n');
        if let Some(rest) = line.strip_prefix("OpenAI-compatible gateway at ") {
            url = Some(rest.split_whitespace().next().unwrap().to_owned());
        }
        if let Some(rest) = line.strip_prefix("Prometheus metrics at ") {
            metrics = Some(rest.trim().to_owned());
        }
    }
    let (url, metrics) = (url.unwrap(), metrics.unwrap());
    let drain = tokio::spawn(async move {
        let mut rest = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push_str(&line);
            rest.push('\n');
        }
        rest
    });
    run_python_with(
        "test_operate.py",
        &[],
        &[
            ("MANTLE_FACE_URL", url.clone()),
            ("MANTLE_KEY_A", KEY_A.to_owned()),
            ("MANTLE_KEY_CI", KEY_CI.to_owned()),
        ],
    )
    .await;
    // The single key keeps working beside the file, as the key named `default`.
    let client = get_status(&format!("{url}/models"), SINGLE).await;
    assert_eq!(client, 200);

    let scraped = scrape(&metrics).await;
    prometheus_scrapes(&metrics, &dir).await;
    serve.kill().await.unwrap();
    let rest = log + &drain.await.unwrap();

    // Access records: one JSON line per request, parseable, labelled by key, never a secret
    // or content.
    let records: Vec<serde_json::Value> = rest
        .lines()
        .filter(|l| l.starts_with("{\"mantle_access\":"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(records.len() >= 10, "{rest}");
    for secret in [
        KEY_A,
        KEY_CI,
        SINGLE,
        "prompt-text-that-must-never-be-logged",
    ] {
        assert!(
            !rest.contains(secret),
            "{secret:?} reached the log:\n{rest}"
        );
    }
    let priced = records
        .iter()
        .find(|r| r["key"] == "team-a" && r["surface"] == "chat.completions" && r["status"] == 200)
        .unwrap_or_else(|| panic!("{rest}"));
    assert_eq!(priced["response_model"], "openai.gpt-oss-120b");
    assert_eq!(priced["route"], "openai-completions");
    assert!(priced["cost_usd"].as_f64().unwrap() > 0.0, "{priced}");
    assert!(priced["input_tokens"].as_u64().unwrap() > 0, "{priced}");
    assert!(priced["ttft_ms"].as_f64().is_some(), "{priced}");
    assert!(priced["request_id"].as_str().is_some(), "{priced}");
    let refused = records
        .iter()
        .find(|r| r["status"] == 403)
        .unwrap_or_else(|| panic!("{rest}"));
    assert_eq!(refused["error"], "model-not-allowed");
    assert_eq!(refused["key"], "team-a");
    assert!(
        records
            .iter()
            .any(|r| r["status"] == 401 && r["error"] == "unauthorized-key" && r["key"].is_null()),
        "{rest}"
    );
    assert!(records.iter().any(|r| r["key"] == "default"), "{rest}");
    let messages = records
        .iter()
        .find(|r| r["surface"] == "messages" && r["status"] == 200)
        .unwrap_or_else(|| panic!("{rest}"));
    assert!(messages["cost_usd"].as_f64().unwrap() > 0.0, "{messages}");

    // Metrics: named after the GenAI conventions, labelled by key and the model Mantle named.
    assert!(
        scraped.contains(
            "mantle_cost_usd_total{gen_ai_request_model=\"openai.gpt-oss-120b\",key=\"team-a\"}"
        ),
        "{scraped}"
    );
    assert!(
        scraped.contains("gen_ai_client_token_usage_bucket{"),
        "{scraped}"
    );
    assert!(
        scraped.contains("gen_ai_server_time_to_first_token_seconds_bucket{"),
        "{scraped}"
    );
    assert!(
        scraped.contains("error_type=\"model-not-allowed\""),
        "{scraped}"
    );
    assert!(
        !scraped.contains("gpt-oss-20b"),
        "a refused model gets no label: {scraped}"
    );
    promtool_check(&scraped);
    let _ = std::fs::remove_dir_all(&dir);
}

/// GET with a bearer key; the status.
async fn get_status(url: &str, key: &str) -> u16 {
    let bearer = format!("Bearer {key}");
    let (status, _) = request_url("GET", url, &[("authorization", &bearer)], Bytes::new())
        .await
        .expect("the gateway answers");
    status
}

/// The metrics a GET of `url` gives; it must be a 200.
async fn scrape(url: &str) -> String {
    let (status, text) = request_url("GET", url, &[], Bytes::new())
        .await
        .expect("the metrics listener answers");
    assert_eq!(status, 200, "{text}");
    text
}

/// `promtool check metrics` on the scraped text: skipped with a message when promtool is not
/// installed, a failure then under CI.
fn promtool_check(text: &str) {
    use std::io::Write;
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "promtool is not installed ({e}); scripts/setup installs it (Debian's prometheus)"
            );
            eprintln!("SKIPPED promtool check: promtool is not installed ({e})");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real Prometheus scrapes the gateway's metrics every second; its HTTP API then has the
/// request counter and the cost by key. Skipped with a message when Prometheus is not
/// installed, a failure then under CI.
async fn prometheus_scrapes(metrics_url: &str, dir: &std::path::Path) {
    let target = metrics_url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: mantle\n    static_configs:\n      - targets: [\"{target}\"]\n"
        ),
    )
    .unwrap();
    let started = tokio::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let mut prometheus = match started {
        Ok(p) => p,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "prometheus is not installed ({e}); scripts/setup-prometheus installs it"
            );
            eprintln!("SKIPPED the Prometheus scrape: prometheus is not installed ({e})");
            return;
        }
    };
    let query = format!(
        "http://127.0.0.1:{port}/api/v1/query?query=sum%20by%20(key)%20(mantle_cost_usd_total)"
    );
    let query = &query;
    let found = crate::common::wait_for(
        "Prometheus scraped mantle_cost_usd_total for team-a",
        std::time::Duration::from_secs(60),
        move || async move {
            let (_, body) = request_url("GET", query, &[], Bytes::new()).await?;
            let v: serde_json::Value = serde_json::from_str(&body).ok()?;
            let result = v["data"]["result"].as_array()?;
            result
                .iter()
                .find(|r| r["metric"]["key"] == "team-a")
                .cloned()
        },
    )
    .await;
    let value: f64 = found["value"][1].as_str().unwrap().parse().unwrap();
    assert!(value > 0.0, "{found}");
    prometheus.kill().await.unwrap();
}

/// The members an access record may have: names, counts, times and ids, no content.
const RECORD_MEMBERS: &[&str] = &[
    "mantle_access",
    "time_unix_ms",
    "key",
    "surface",
    "model",
    "response_model",
    "route",
    "status",
    "stream",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "finish_reason",
    "ttft_ms",
    "duration_ms",
    "request_id",
    "error",
    "retries",
];

/// On a real Spin, the face's access records are in the component's log (Spin writes a
/// component's stderr under `.spin/logs/`, or to its own output): one parseable line per
/// request, the known members only, no secret.
pub fn check_spin_access_log(dir: &std::path::Path, spin_output: &str, secrets: &[&str]) {
    let mut text = spin_output.to_owned();
    if let Ok(entries) = std::fs::read_dir(dir.join(".spin/logs")) {
        for entry in entries.flatten() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    let records: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.starts_with("{\"mantle_access\":"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(records.len() >= 10, "few access records on Spin:\n{text}");
    for r in &records {
        for member in r.as_object().unwrap().keys() {
            assert!(RECORD_MEMBERS.contains(&member.as_str()), "{member} in {r}");
        }
    }
    assert!(
        records.iter().any(|r| r["status"] == 200
            && r["key"] == "default"
            && r["input_tokens"].as_u64().is_some()
            && r["cost_usd"].as_f64().is_some()),
        "no priced answer among the records:\n{text}"
    );
    for secret in secrets {
        assert!(!text.contains(secret), "a secret reached Spin's log");
    }
}
