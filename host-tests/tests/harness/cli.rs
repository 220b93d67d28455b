//! `mantle-host` as a user runs it: `emulate` in one process, `models list` in another.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A child process killed when dropped, so a failing test leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mantle_host() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mantle-host"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MANTLE_COMPONENT", mantle_host::build::component().unwrap());
    c
}

/// Starts `mantle-host emulate` on a free port and returns it with its base URL.
fn emulate(key: &str) -> (Running, String) {
    let mut child = mantle_host()
        .args(["emulate", "--listen", "127.0.0.1:0", "--key", key])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    (running, url)
}

fn models_list(config: &std::path::Path, key: &str) -> (i32, Value, String) {
    let out = mantle_host()
        .args(["models", "list", "--json", "--config"])
        .arg(config)
        .env("AWS_BEARER_TOKEN_BEDROCK", key)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

#[test]
fn models_list_against_the_emulator_then_without_it() {
    let key = "cli-test-key";
    let (emulator, url) = emulate(key);
    let dir = std::env::temp_dir().join(format!("mantle-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("cfg.json5");
    std::fs::write(
        &config,
        format!(
            "// test configuration\n{{ models: {{ providers: {{ \"amazon-bedrock-mantle\": {{\n  baseUrl: '{url}',\n  apiKey: 'env:AWS_BEARER_TOKEN_BEDROCK',\n  models: [{{ id: 'openai.gpt-oss-120b', name: 'GPT-OSS 120B', contextWindow: 128000 }}, {{ id: 'my.private-model', maxTokens: 2048 }}],\n}} }} }} }}\n"
        ),
    )
    .unwrap();

    let (code, json, stderr) = models_list(&config, key);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .all(|m| m["provider"] == "amazon-bedrock-mantle"),
        "{json}"
    );
    // What the emulator lists, Claude's built-in row under Mantle's catalog id, and the
    // configured models, sorted.
    let listed = mantle_host::emulator::EmulatorConfig::everything_captured("us-east-1")
        .unwrap()
        .models;
    let mut want: Vec<&str> = listed.iter().map(String::as_str).collect();
    want.extend([
        mantle_provider::discovery::CLAUDE_OPUS_ID,
        "my.private-model",
        "openai.gpt-oss-120b",
    ]);
    want.sort_unstable();
    want.dedup();
    assert_eq!(ids(&json), want);
    let find = |id: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("no {id}: {json}"))
            .clone()
    };
    assert_eq!(find("openai.gpt-5.4")["api"], "openai-responses");
    let gpt = find("openai.gpt-oss-120b");
    assert_eq!(gpt["name"], "GPT-OSS 120B");
    assert_eq!(gpt["contextWindow"], 128_000);
    assert_eq!(gpt["maxTokens"], 4_096);
    assert_eq!(gpt["reasoning"], true);
    assert_eq!(gpt["api"], "openai-completions");
    assert_eq!(gpt["input"], serde_json::json!(["text"]));
    assert_eq!(
        gpt["cost"],
        serde_json::json!({"input": 0.15, "output": 0.6, "cacheRead": 0.15, "cacheWrite": 0.15}),
        "the built-in table's price, cache at the input price"
    );
    assert_eq!(
        find(mantle_provider::discovery::CLAUDE_OPUS_ID)["api"],
        "anthropic-messages"
    );
    assert!(!stderr.contains(key), "the key was logged: {stderr}");

    drop(emulator);
    let (code, json, stderr) = models_list(&config, key);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        ids(&json),
        ["my.private-model", "openai.gpt-oss-120b"],
        "discovery failed: configured models only, no built-in row"
    );
    assert!(stderr.contains("discovery failed"), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn models_list_prints_a_table_by_default() {
    let dir = std::env::temp_dir().join(format!("mantle-cli-table-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("cfg.json5");
    std::fs::write(
        &config,
        "{ models: { providers: { 'amazon-bedrock-mantle': { discovery: false, models: [{ id: 'a.thinking-model' }] } } } }",
    )
    .unwrap();
    let out = mantle_host()
        .args(["models", "list", "--config"])
        .arg(&config)
        .env("AWS_BEARER_TOKEN_BEDROCK", "table-test-key")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("PROVIDER")
            && lines[0].contains(" ID ")
            && lines[0].contains("SOURCE"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("amazon-bedrock-mantle  a.thinking-model")
            && lines[1].contains("yes")
            && lines[1].ends_with("configured"),
        "{text}"
    );
    assert_eq!(lines.len(), 2, "no built-in row without discovery: {text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn chat_streams_json_events_one_per_line() {
    let key = "cli-chat-key";
    let (_emulator, url) = emulate(key);
    let dir = std::env::temp_dir().join(format!("mantle-cli-chat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("cfg.json5");
    std::fs::write(
        &config,
        format!(
            "{{ models: {{ providers: {{ 'amazon-bedrock-mantle': {{ baseUrl: '{url}' }} }} }} }}"
        ),
    )
    .unwrap();
    for (model, first_delta) in [
        ("openai.gpt-oss-120b", "reasoning-delta"),
        ("claude-opus-4.7", "text-delta"),
        // The seed's reference form names the same model.
        ("amazon-bedrock-mantle/claude-opus-4.7", "text-delta"),
        (
            "amazon-bedrock-mantle/openai.gpt-oss-120b",
            "reasoning-delta",
        ),
    ] {
        let out = mantle_host()
            .args(["chat", "--json", "--model", model, "--config"])
            .arg(&config)
            .arg("Say hello")
            .env("AWS_BEARER_TOKEN_BEDROCK", key)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let events: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events[0]["type"], "message-start", "{model}");
        // The stream names the model as Mantle does (its catalog id, or a dated name on the
        // Anthropic route): the same model as asked for.
        let named = events[0]["model"].as_str().unwrap();
        assert_eq!(
            mantle_provider::catalog::normalize(named).id,
            mantle_provider::catalog::normalize(model).id,
            "{model}: {named}"
        );
        assert_eq!(events[1]["type"], first_delta, "{model}");
        assert_eq!(events[events.len() - 2]["type"], "usage", "{model}");
        assert_eq!(
            events[events.len() - 1],
            serde_json::json!({"type": "finish", "reason": "stop"})
        );
    }
    let out = mantle_host()
        .args(["chat", "--model", "nobody.model", "--config"])
        .arg(&config)
        .arg("hi")
        .env("AWS_BEARER_TOKEN_BEDROCK", key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("model not found"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_credentials_models_list_lists_nothing_and_says_why() {
    let out = mantle_host()
        .args(["models", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json, serde_json::json!([]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("skipped") && stderr.contains("AWS_BEARER_TOKEN_BEDROCK"),
        "{stderr}"
    );
}
