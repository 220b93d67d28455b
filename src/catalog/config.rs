//! The Genesis configuration of this provider (JSON5), read from
//! `models.providers["amazon-bedrock-mantle"]`:
//!
//! ```json5
//! { models: { providers: { "amazon-bedrock-mantle": {
//!     baseUrl: "https://bedrock-mantle.us-east-1.api.aws/v1",
//!     api: "openai-completions",              // default API of the provider
//!     auth: "api-key",
//!     apiKey: "env:AWS_BEARER_TOKEN_BEDROCK", // "env:NAME" reads an environment variable
//!     discovery: true,                         // false: no GET /models
//!     discoveryTimeoutMs: 30000,               // GET /models time limit, 1..=30000
//!     models: [ { id: "gpt-oss-120b", name: "GPT-OSS 120B", reasoning: true, input: ["text"],
//!                 cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
//!                 contextWindow: 32000, maxTokens: 4096 },
//!               { id: "claude-opus-4.7", api: "anthropic-messages" },   // anthropic.claude-opus-4-7
//!               { id: "vendor.model", baseUrl: "https://…/openai/v1" } ] } } } } // pinned there
//! ```
//!
//! A model entry's `id` may be any form [`crate::catalog::ids::normalize`] takes: the entry
//! describes the catalog id it names ([`crate::catalog::discovery::configured_id`]).
//!
//! Every field is optional, `null` counts as absent, and unknown fields are ignored.
//! Errors name the field path (`models.providers.amazon-bedrock-mantle.models[1].contextWindow`)
//! or, for bad syntax, the line and column; none quotes a literal `apiKey`.
//!
//! JSON5 crate: `json5` 1.3 — a hand-written parser (dependencies `serde` and `ucd-trie` only)
//! whose errors carry a line and column. Parsing into `serde_json::Value` in a wasm32-wasip2
//! release cdylib (opt-level "s", LTO) it added about 40 KB, against about 137 KB for `json5`
//! 0.4 (pest based) and 146 KB for `json-five` 0.3; `serde_json5` is pest based like `json5`
//! 0.4. The text is parsed into a `serde_json::Value` and walked by hand, which gives precise
//! field paths and tolerates unknown fields.

use core::fmt;

use serde_json::{Map, Value};

use crate::catalog::base_url::BaseUrl;
use crate::catalog::defaults;
use crate::error::{Error, Result};
use crate::model::{Api, Cost, Modality, Model, ModelSource};
use crate::text::truncate;

/// The key of this provider under `models.providers`.
pub const PROVIDER_KEY: &str = "amazon-bedrock-mantle";

/// Deepest nesting of arrays and objects accepted, so hostile text cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// Default and largest `discoveryTimeoutMs`: the 30 s cap of `GET /models`.
pub const MAX_DISCOVERY_TIMEOUT_MS: u64 = 30_000;

/// Longest quote of a configured value in an error message, characters.
const QUOTE_CHARS: usize = 100;

/// Where this provider's settings sit, as error messages spell it.
const PROVIDER_PATH: &str = "models.providers.amazon-bedrock-mantle";

/// This provider's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// `baseUrl`: an http(s) URL without trailing `/`; `None` means the regional Mantle URL.
    pub base_url: Option<String>,
    /// `api`: the default route of models that do not name one.
    pub api: Api,
    /// `auth`, as written (e.g. `api-key`).
    pub auth: Option<String>,
    /// `apiKey`: the bearer token or where to read it.
    pub api_key: Option<ApiKey>,
    /// `discovery`: whether to ask `GET /models` (default true).
    pub discovery: bool,
    /// `discoveryTimeoutMs`: time limit of `GET /models`, milliseconds
    /// (1 to [`MAX_DISCOVERY_TIMEOUT_MS`], the default).
    pub discovery_timeout_ms: u64,
    /// `firstByteTimeoutMs`: longest wait for the first byte of a chat answer, milliseconds.
    pub first_byte_timeout_ms: u64,
    /// `betweenBytesTimeoutMs`: longest pause inside a streamed chat answer, milliseconds.
    pub between_bytes_timeout_ms: u64,
    /// `store`: whether the Responses route asks Mantle to keep responses (it keeps stored
    /// responses for 30 days); `false` unless configured, so the user's data is not retained.
    pub store: bool,
    /// `models`: per-model settings, ids unique, in the order written.
    pub models: Vec<ModelOverride>,
}

/// Default `firstByteTimeoutMs`: Mantle may queue a request before it answers.
pub const DEFAULT_FIRST_BYTE_TIMEOUT_MS: u64 = 300_000;
/// Default `betweenBytesTimeoutMs`.
pub const DEFAULT_BETWEEN_BYTES_TIMEOUT_MS: u64 = 120_000;

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            base_url: None,
            api: Api::OpenaiCompletions,
            auth: None,
            api_key: None,
            discovery: true,
            discovery_timeout_ms: MAX_DISCOVERY_TIMEOUT_MS,
            first_byte_timeout_ms: DEFAULT_FIRST_BYTE_TIMEOUT_MS,
            between_bytes_timeout_ms: DEFAULT_BETWEEN_BYTES_TIMEOUT_MS,
            store: false,
            models: Vec::new(),
        }
    }
}

/// The configured bearer token. Its `Debug` output never shows a literal key.
#[derive(Clone, PartialEq, Eq)]
pub enum ApiKey {
    /// `"env:NAME"`: the value of environment variable `NAME`.
    Env(String),
    /// The token itself, as written.
    Literal(String),
}

impl ApiKey {
    /// The token: the literal, or the variable looked up with `env`; trimmed, and `None`
    /// when missing or blank.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Option<String> {
        let raw = match self {
            ApiKey::Env(name) => env(name)?,
            ApiKey::Literal(key) => key.clone(),
        };
        let trimmed = raw.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiKey::Env(name) => f.debug_tuple("Env").field(name).finish(),
            ApiKey::Literal(_) => f.write_str("Literal(<redacted>)"),
        }
    }
}

/// One entry of `models`: settings that override a model's fields; `None` keeps them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelOverride {
    /// `id`: the Mantle model id (required, not blank).
    pub id: String,
    /// `name`: display name.
    pub name: Option<String>,
    /// `api`: route of this model.
    pub api: Option<Api>,
    /// `reasoning`: produces reasoning output.
    pub reasoning: Option<bool>,
    /// `input`: accepted inputs (at least one, no duplicates).
    pub input: Option<Vec<Modality>>,
    /// `cost`: prices per million tokens, the model's whole price (a configured price always
    /// wins over the built-in table, a zero one too); a missing `input` or `output` is 0, a
    /// missing `cacheRead` or `cacheWrite` is the input price.
    pub cost: Option<Cost>,
    /// `contextWindow`: tokens (positive).
    pub context_window: Option<u32>,
    /// `maxTokens`: maximum output tokens (positive).
    pub max_tokens: Option<u32>,
    /// `store`: the provider's `store` for this model (Responses route only).
    pub store: Option<bool>,
    /// `baseUrl`: where this model is served, pinned (`https://…/openai/v1`); its request
    /// goes to `{baseUrl}/chat/completions`, `{baseUrl}/responses` or `{baseUrl}/v1/messages`
    /// by its `api`, and is never retried elsewhere. Stored as [`BaseUrl::parse`] checks it.
    pub base_url: Option<String>,
}

impl ModelOverride {
    /// Overrides `base`'s fields with the configured ones; `base` becomes
    /// [`ModelSource::Configured`]. The id is not changed.
    pub fn apply(&self, base: &mut Model) {
        if let Some(name) = &self.name {
            base.name.clone_from(name);
        }
        if let Some(api) = self.api {
            base.api = api;
        }
        if let Some(reasoning) = self.reasoning {
            base.reasoning = reasoning;
        }
        if let Some(input) = &self.input {
            base.input.clone_from(input);
        }
        if let Some(cost) = self.cost {
            base.cost = Some(cost);
        }
        if let Some(context_window) = self.context_window {
            base.context_window = context_window;
        }
        if let Some(max_tokens) = self.max_tokens {
            base.max_tokens = max_tokens;
        }
        base.source = ModelSource::Configured;
    }

    /// The model of an id only the configuration names: the discovery defaults
    /// ([`defaults::model_with_defaults`]: name = id, text input, 32000/4096 tokens, zero
    /// cost, inferred reasoning; route `default_api`, or Anthropic Messages for Claude ids)
    /// with the configured fields applied.
    pub fn to_model(&self, default_api: Api) -> Model {
        self.to_model_for(&self.id, default_api)
    }

    /// [`ModelOverride::to_model`], for the model listed under `id` (the entry's catalog id,
    /// [`crate::catalog::discovery::configured_id`]).
    pub fn to_model_for(&self, id: &str, default_api: Api) -> Model {
        let mut model = defaults::model_with_defaults(id, default_api, ModelSource::Configured);
        self.apply(&mut model);
        model
    }
}

impl ProviderConfig {
    /// Whether the Responses route sends `store: true` for `model_id`: the model's `store`,
    /// else the provider's (`false` unless configured).
    pub fn store_for(&self, model_id: &str) -> bool {
        self.models
            .iter()
            .find(|m| m.id == model_id)
            .or_else(|| {
                self.models
                    .iter()
                    .find(|m| crate::catalog::ids::normalize(&m.id).id == model_id)
            })
            .and_then(|m| m.store)
            .unwrap_or(self.store)
    }
}

/// Parses the Genesis configuration text; blank text is the empty configuration.
///
/// Bad JSON5 is an [`Error::Configuration`] naming the line and column; a value of the
/// wrong type or out of range names its field path; an unknown `api` or `input` names the
/// valid ones. No message contains a literal `apiKey`.
pub fn parse(text: &str) -> Result<ProviderConfig> {
    if text.trim().is_empty() {
        return Ok(ProviderConfig::default());
    }
    check_depth(text)?;
    let root: Value = json5::from_str(text).map_err(syntax_error)?;
    let secret = root
        .pointer(&format!("/models/providers/{PROVIDER_KEY}/apiKey"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.starts_with("env:"));
    from_value(&root).map_err(|e| match (e, secret) {
        (Error::Configuration(m), Some(secret)) => {
            Error::Configuration(m.replace(secret, "<redacted>"))
        }
        (e, _) => e,
    })
}

/// A JSON5 syntax error, positioned as editors count (from 1).
fn syntax_error(e: json5::Error) -> Error {
    let what = match e.code() {
        Some(code) => code.to_string(),
        None => e.to_string(),
    };
    let what = truncate(&what, QUOTE_CHARS);
    match e.position() {
        Some(p) => Error::Configuration(format!(
            "invalid JSON5 at line {}, column {}: {what}",
            p.line + 1,
            p.column + 1
        )),
        None => Error::Configuration(format!("invalid JSON5: {what}")),
    }
}

/// Rejects nesting deeper than [`MAX_DEPTH`], counting brackets outside strings and
/// comments, before the recursive parser sees the text.
fn check_depth(text: &str) -> Result<()> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        match quote {
            Some(q) => {
                if c == '\\' {
                    chars.next();
                    column += 1;
                } else if c == q || c == '\n' {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '/' if chars.peek() == Some(&'/') => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            line += 1;
                            column = 0;
                            break;
                        }
                    }
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    let mut star = false;
                    for c in chars.by_ref() {
                        if c == '\n' {
                            line += 1;
                            column = 0;
                        } else {
                            column += 1;
                        }
                        if star && c == '/' {
                            break;
                        }
                        star = c == '*';
                    }
                }
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(Error::Configuration(format!(
                            "invalid JSON5 at line {line}, column {column}: nested deeper than {MAX_DEPTH} levels"
                        )));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    Ok(())
}

fn from_value(root: &Value) -> Result<ProviderConfig> {
    let root = object(root, "configuration")?;
    let Some(models) = member(root, "models") else {
        return Ok(ProviderConfig::default());
    };
    let models = object(models, "models")?;
    let Some(providers) = member(models, "providers") else {
        return Ok(ProviderConfig::default());
    };
    let providers = object(providers, "models.providers")?;
    let Some(provider) = member(providers, PROVIDER_KEY) else {
        return Ok(ProviderConfig::default());
    };
    provider_config(object(provider, PROVIDER_PATH)?)
}

fn provider_config(p: &Map<String, Value>) -> Result<ProviderConfig> {
    let path = |key: &str| format!("{PROVIDER_PATH}.{key}");
    let mut config = ProviderConfig::default();
    if let Some(v) = member(p, "baseUrl") {
        config.base_url = Some(base_url(v, &path("baseUrl"))?);
    }
    if let Some(v) = member(p, "api") {
        config.api = api(v, &path("api"))?;
    }
    if let Some(v) = member(p, "auth") {
        config.auth = Some(string(v, &path("auth"))?.to_owned());
    }
    if let Some(v) = member(p, "apiKey") {
        config.api_key = api_key(v, &path("apiKey"))?;
    }
    if let Some(v) = member(p, "discovery") {
        config.discovery = boolean(v, &path("discovery"))?;
    }
    if let Some(v) = member(p, "discoveryTimeoutMs") {
        let ms = count(v, &path("discoveryTimeoutMs"))?;
        if u64::from(ms) > MAX_DISCOVERY_TIMEOUT_MS {
            return Err(Error::Configuration(format!(
                "{} must be at most {MAX_DISCOVERY_TIMEOUT_MS}, found {ms}",
                path("discoveryTimeoutMs")
            )));
        }
        config.discovery_timeout_ms = u64::from(ms);
    }
    if let Some(v) = member(p, "firstByteTimeoutMs") {
        config.first_byte_timeout_ms = u64::from(count(v, &path("firstByteTimeoutMs"))?);
    }
    if let Some(v) = member(p, "betweenBytesTimeoutMs") {
        config.between_bytes_timeout_ms = u64::from(count(v, &path("betweenBytesTimeoutMs"))?);
    }
    if let Some(v) = member(p, "store") {
        config.store = boolean(v, &path("store"))?;
    }
    if let Some(v) = member(p, "models") {
        let entries = array(v, &path("models"))?;
        // Index of each id seen: repeats are found in O(n log n), whatever the count.
        let mut seen: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for (i, entry) in entries.iter().enumerate() {
            let entry_path = format!("{PROVIDER_PATH}.models[{i}]");
            let o = model_override(entry, &entry_path)?;
            if let Some(j) = seen.insert(o.id.clone(), i) {
                return Err(Error::Configuration(format!(
                    "{entry_path}.id {:?} repeats models[{j}]",
                    truncate(&o.id, QUOTE_CHARS)
                )));
            }
            config.models.push(o);
        }
    }
    Ok(config)
}

fn model_override(v: &Value, path: &str) -> Result<ModelOverride> {
    let m = object(v, path)?;
    let field = |key: &str| format!("{path}.{key}");
    let id = match member(m, "id") {
        Some(v) => string(v, &field("id"))?.trim(),
        None => return Err(Error::Configuration(format!("{} is required", field("id")))),
    };
    if id.is_empty() {
        return Err(Error::Configuration(format!(
            "{} must not be empty",
            field("id")
        )));
    }
    let mut o = ModelOverride {
        id: id.to_owned(),
        ..ModelOverride::default()
    };
    if let Some(v) = member(m, "name") {
        let name = string(v, &field("name"))?;
        if name.trim().is_empty() {
            return Err(Error::Configuration(format!(
                "{} must not be empty",
                field("name")
            )));
        }
        o.name = Some(name.to_owned());
    }
    if let Some(v) = member(m, "api") {
        o.api = Some(api(v, &field("api"))?);
    }
    if let Some(v) = member(m, "reasoning") {
        o.reasoning = Some(boolean(v, &field("reasoning"))?);
    }
    if let Some(v) = member(m, "input") {
        o.input = Some(modalities(v, &field("input"))?);
    }
    if let Some(v) = member(m, "cost") {
        o.cost = Some(cost(v, &field("cost"))?);
    }
    if let Some(v) = member(m, "contextWindow") {
        o.context_window = Some(count(v, &field("contextWindow"))?);
    }
    if let Some(v) = member(m, "maxTokens") {
        o.max_tokens = Some(count(v, &field("maxTokens"))?);
    }
    if let Some(v) = member(m, "store") {
        o.store = Some(boolean(v, &field("store"))?);
    }
    if let Some(v) = member(m, "baseUrl") {
        o.base_url = Some(base_url(v, &field("baseUrl"))?);
    }
    Ok(o)
}

/// A member of an object; `null` counts as absent.
fn member<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

/// "a string", "an array", … for "must be …, found …" messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(path: &str, want: &str, v: &Value) -> Error {
    Error::Configuration(format!("{path} must be {want}, found {}", kind(v)))
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| wrong_type(path, "an object", v))
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>> {
    v.as_array().ok_or_else(|| wrong_type(path, "an array", v))
}

fn string<'a>(v: &'a Value, path: &str) -> Result<&'a str> {
    v.as_str().ok_or_else(|| wrong_type(path, "a string", v))
}

fn boolean(v: &Value, path: &str) -> Result<bool> {
    v.as_bool()
        .ok_or_else(|| wrong_type(path, "true or false", v))
}

/// A positive whole number that fits in `u32` (`1e6` and `32000.0` are accepted).
fn count(v: &Value, path: &str) -> Result<u32> {
    let want = "a positive whole number";
    let n = v.as_f64().ok_or_else(|| wrong_type(path, want, v))?;
    // A whole float in range converts exactly.
    let whole = v
        .as_u64()
        .or_else(|| (n.fract() == 0.0 && n >= 0.0 && n <= f64::from(u32::MAX)).then_some(n as u64));
    match whole.and_then(|n| u32::try_from(n).ok()) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(Error::Configuration(format!(
            "{path} must be {want} up to {}, found {v}",
            u32::MAX
        ))),
    }
}

/// A finite, non-negative price.
fn price(v: &Value, path: &str) -> Result<f64> {
    let want = "a non-negative number";
    match v.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
        Some(_) => Err(Error::Configuration(format!(
            "{path} must be {want}, found {v}"
        ))),
        None => Err(wrong_type(path, want, v)),
    }
}

fn cost(v: &Value, path: &str) -> Result<Cost> {
    let m = object(v, path)?;
    let field = |key: &str| -> Result<Option<f64>> {
        member(m, key)
            .map(|v| price(v, &format!("{path}.{key}")))
            .transpose()
    };
    let input = field("input")?.unwrap_or(0.0);
    Ok(Cost {
        input,
        output: field("output")?.unwrap_or(0.0),
        cache_read: field("cacheRead")?.unwrap_or(input),
        cache_write: field("cacheWrite")?.unwrap_or(input),
    })
}

fn api(v: &Value, path: &str) -> Result<Api> {
    let s = string(v, path)?;
    Api::parse(s).ok_or_else(|| {
        let valid: Vec<&str> = Api::ALL.iter().map(|a| a.as_str()).collect();
        Error::Configuration(format!(
            "{path}: unknown api {:?}; valid values: {}",
            truncate(s, QUOTE_CHARS),
            valid.join(", ")
        ))
    })
}

fn modalities(v: &Value, path: &str) -> Result<Vec<Modality>> {
    const VALID: [Modality; 2] = [Modality::Text, Modality::Image];
    let items = array(v, path)?;
    if items.is_empty() {
        return Err(Error::Configuration(format!(
            "{path} must list at least one input"
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let s = string(item, &item_path)?;
        let modality = Modality::parse(s).ok_or_else(|| {
            let valid: Vec<&str> = VALID.iter().map(|m| m.as_str()).collect();
            Error::Configuration(format!(
                "{item_path}: unknown input {:?}; valid values: {}",
                truncate(s, QUOTE_CHARS),
                valid.join(", ")
            ))
        })?;
        if !out.contains(&modality) {
            out.push(modality);
        }
    }
    Ok(out)
}

/// `"env:NAME"` or a literal token; blank means none. Never quotes the value.
fn api_key(v: &Value, path: &str) -> Result<Option<ApiKey>> {
    let s = string(v, path)?.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.strip_prefix("env:") {
        Some(name) => {
            let name = name.trim();
            if name.is_empty() {
                return Err(Error::Configuration(format!(
                    "{path}: \"env:\" must be followed by an environment variable name"
                )));
            }
            Ok(Some(ApiKey::Env(name.to_owned())))
        }
        None => Ok(Some(ApiKey::Literal(s.to_owned()))),
    }
}

/// An `http://` or `https://` URL with a host, as [`BaseUrl::parse`] checks it (scheme and host
/// lowercased, trailing `/` removed).
fn base_url(v: &Value, path: &str) -> Result<String> {
    let base = BaseUrl::parse_named(string(v, path)?, path)?;
    Ok(base.url(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "sk-LITERAL-s3cr3t-value";

    fn provider(body: &str) -> String {
        format!(r#"{{ models: {{ providers: {{ "amazon-bedrock-mantle": {{ {body} }} }} }} }}"#)
    }

    fn err(text: &str) -> String {
        match parse(text) {
            Err(Error::Configuration(m)) => m,
            other => panic!("expected a configuration error for {text}, got {other:?}"),
        }
    }

    const EXAMPLE: &str = r#"{ models: { providers: { "amazon-bedrock-mantle": {
        baseUrl: "https://bedrock-mantle.us-east-1.api.aws/v1",
        api: "openai-completions",            // default API of the provider
        auth: "api-key",
        apiKey: "env:AWS_BEARER_TOKEN_BEDROCK", // "env:NAME" reads an environment variable
        discovery: true,
        models: [ { id: "gpt-oss-120b", name: "GPT-OSS 120B", reasoning: true, input: ["text"],
                    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
                    contextWindow: 32000, maxTokens: 4096 },
                  { id: "claude-opus-4.7", api: "anthropic-messages" } ] } } } }"#;

    // ---- whole documents ----------------------------------------------------------------

    #[test]
    fn parses_the_documented_example() {
        let c = parse(EXAMPLE).unwrap();
        assert_eq!(
            c.base_url.as_deref(),
            Some("https://bedrock-mantle.us-east-1.api.aws/v1")
        );
        assert_eq!(c.api, Api::OpenaiCompletions);
        assert_eq!(c.auth.as_deref(), Some("api-key"));
        assert_eq!(
            c.api_key,
            Some(ApiKey::Env("AWS_BEARER_TOKEN_BEDROCK".into()))
        );
        assert!(c.discovery);
        assert_eq!(
            c.models,
            vec![
                ModelOverride {
                    id: "gpt-oss-120b".into(),
                    name: Some("GPT-OSS 120B".into()),
                    api: None,
                    reasoning: Some(true),
                    input: Some(vec![Modality::Text]),
                    cost: Some(Cost::default()),
                    context_window: Some(32_000),
                    max_tokens: Some(4_096),
                    store: None,
                    base_url: None,
                },
                ModelOverride {
                    id: "claude-opus-4.7".into(),
                    api: Some(Api::AnthropicMessages),
                    ..ModelOverride::default()
                },
            ]
        );
    }

    #[test]
    fn empty_texts_are_the_default_configuration() {
        for text in [
            "",
            "   \n\t",
            "{}",
            "{ models: {} }",
            "{ models: { providers: {} } }",
        ] {
            assert_eq!(parse(text).unwrap(), ProviderConfig::default(), "{text:?}");
        }
        assert_eq!(parse(&provider("")).unwrap(), ProviderConfig::default());
        let d = ProviderConfig::default();
        assert!(d.discovery);
        assert_eq!(d.api, Api::OpenaiCompletions);
        assert!(d.base_url.is_none() && d.api_key.is_none() && d.models.is_empty());
    }

    #[test]
    fn null_counts_as_absent() {
        let c = parse(&provider(
            "baseUrl: null, api: null, apiKey: null, discovery: null, models: null",
        ))
        .unwrap();
        assert_eq!(c, ProviderConfig::default());
        let c = parse(r#"{ models: { providers: { "amazon-bedrock-mantle": null } } }"#).unwrap();
        assert_eq!(c, ProviderConfig::default());
    }

    #[test]
    fn unknown_fields_are_ignored_everywhere() {
        let text = r#"{
            theme: "dark", agents: [1, 2],
            models: {
                mode: "merge",
                providers: {
                    openai: { baseUrl: 42, api: "nonsense" },
                    "amazon-bedrock-mantle": {
                        headers: { x: 1 }, timeout: 30,
                        models: [ { id: "a", future: { deep: [true] },
                                    cost: { input: 1, perRequest: 9 } } ],
                    },
                },
            },
        }"#;
        let c = parse(text).unwrap();
        assert_eq!(c.models.len(), 1);
        assert_eq!(c.models[0].id, "a");
        assert_eq!(c.models[0].cost.unwrap().input, 1.0);
    }

    #[test]
    fn json5_syntax_is_accepted() {
        let text = "// comment\n{ /* block */ models: { providers: { 'amazon-bedrock-mantle': {\n\
                    models: [ { id: 'x', contextWindow: 0x10, maxTokens: +8, cost: { input: .5, }, }, ],\n\
                    discovery: false, } } } }";
        let c = parse(text).unwrap();
        assert!(!c.discovery);
        let m = &c.models[0];
        assert_eq!(m.context_window, Some(16));
        assert_eq!(m.max_tokens, Some(8));
        assert_eq!(m.cost.unwrap().input, 0.5);
    }

    // ---- syntax errors ------------------------------------------------------------------

    #[test]
    fn syntax_errors_name_line_and_column() {
        let m = err("{\n  models: {\n    providers: { x: 1 y: 2 }\n  }\n}");
        assert!(m.contains("line 3, column 23"), "{m}"); // at `y`
        assert!(m.starts_with("invalid JSON5"), "{m}");
        let m = err("{ models: ");
        assert!(m.contains("line 1, column"), "{m}");
        let m = err("[1, 2,, 3]");
        assert!(m.contains("line 1, column 7"), "{m}");
    }

    #[test]
    fn syntax_errors_do_not_quote_a_literal_key() {
        let text = format!(
            "{{ models: {{ providers: {{ 'amazon-bedrock-mantle': {{ apiKey: '{SECRET}\n' }} }} }} }}"
        );
        let m = err(&text);
        assert!(m.contains("line 1"), "{m}");
        assert!(!m.contains(SECRET), "{m}");
        let text = format!("{{ apiKey: \"{SECRET}\" oops }}");
        let m = err(&text);
        assert!(!m.contains(SECRET), "{m}");
    }

    #[test]
    fn deep_nesting_is_rejected_before_parsing() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let m = err(&deep);
        assert!(m.contains("nested deeper than 64"), "{m}");
        assert!(m.contains("line 1, column 65"), "{m}");
        // Brackets inside strings and comments do not count.
        let text = format!(
            "// {}\n{{ note: '{}', /* {} */ }}",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100)
        );
        assert_eq!(parse(&text).unwrap(), ProviderConfig::default());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let m = err(&ok);
        assert!(m.contains("configuration must be an object"), "{m}");
    }

    // ---- structural errors --------------------------------------------------------------

    #[test]
    fn wrong_types_name_the_field_path() {
        for (text, path, want) in [
            ("[]".to_owned(), "configuration", "an object"),
            ("{ models: 3 }".to_owned(), "models", "an object"),
            (
                "{ models: { providers: [] } }".to_owned(),
                "models.providers",
                "an object",
            ),
            (
                r#"{ models: { providers: { "amazon-bedrock-mantle": "on" } } }"#.to_owned(),
                "models.providers.amazon-bedrock-mantle",
                "an object",
            ),
            (
                provider("models: 3"),
                "models.providers.amazon-bedrock-mantle.models",
                "an array",
            ),
            (
                provider("models: [3]"),
                "models.providers.amazon-bedrock-mantle.models[0]",
                "an object",
            ),
            (
                provider("baseUrl: 1"),
                "models.providers.amazon-bedrock-mantle.baseUrl",
                "a string",
            ),
            (
                provider("api: true"),
                "models.providers.amazon-bedrock-mantle.api",
                "a string",
            ),
            (
                provider("auth: {}"),
                "models.providers.amazon-bedrock-mantle.auth",
                "a string",
            ),
            (
                provider("apiKey: 7"),
                "models.providers.amazon-bedrock-mantle.apiKey",
                "a string",
            ),
            (
                provider("discovery: 'no'"),
                "models.providers.amazon-bedrock-mantle.discovery",
                "true or false",
            ),
            (
                provider("models: [{ id: 'a' }, { id: 'b', contextWindow: 'big' }]"),
                "models.providers.amazon-bedrock-mantle.models[1].contextWindow",
                "a positive whole number",
            ),
            (
                provider("models: [{ id: 'a', maxTokens: [] }]"),
                "models.providers.amazon-bedrock-mantle.models[0].maxTokens",
                "a positive whole number",
            ),
            (
                provider("models: [{ id: 'a', name: 5 }]"),
                "models.providers.amazon-bedrock-mantle.models[0].name",
                "a string",
            ),
            (
                provider("models: [{ id: 'a', reasoning: 'yes' }]"),
                "models.providers.amazon-bedrock-mantle.models[0].reasoning",
                "true or false",
            ),
            (
                provider("models: [{ id: 'a', input: 'text' }]"),
                "models.providers.amazon-bedrock-mantle.models[0].input",
                "an array",
            ),
            (
                provider("models: [{ id: 'a', input: ['text', 1] }]"),
                "models.providers.amazon-bedrock-mantle.models[0].input[1]",
                "a string",
            ),
            (
                provider("models: [{ id: 'a', cost: 1 }]"),
                "models.providers.amazon-bedrock-mantle.models[0].cost",
                "an object",
            ),
            (
                provider("models: [{ id: 'a', cost: { cacheRead: 'free' } }]"),
                "models.providers.amazon-bedrock-mantle.models[0].cost.cacheRead",
                "a non-negative number",
            ),
            (
                provider("models: [{ id: 3 }]"),
                "models.providers.amazon-bedrock-mantle.models[0].id",
                "a string",
            ),
        ] {
            let m = err(&text);
            assert!(
                m.starts_with(&format!("{path} must be {want}")),
                "{text}: {m}"
            );
        }
    }

    #[test]
    fn model_entries_need_a_non_empty_id() {
        let m = err(&provider("models: [{ id: 'a' }, { name: 'no id' }]"));
        assert_eq!(
            m,
            "models.providers.amazon-bedrock-mantle.models[1].id is required"
        );
        let m = err(&provider("models: [{ id: '  ' }]"));
        assert_eq!(
            m,
            "models.providers.amazon-bedrock-mantle.models[0].id must not be empty"
        );
        let m = err(&provider("models: [{ id: null }]"));
        assert!(m.ends_with("models[0].id is required"), "{m}");
        let c = parse(&provider("models: [{ id: ' padded ' }]")).unwrap();
        assert_eq!(c.models[0].id, "padded");
    }

    #[test]
    fn duplicate_model_ids_are_rejected() {
        let m = err(&provider("models: [{ id: 'a' }, { id: 'b' }, { id: 'a' }]"));
        assert!(
            m.starts_with("models.providers.amazon-bedrock-mantle.models[2].id \"a\""),
            "{m}"
        );
        assert!(m.contains("models[0]"), "{m}");
    }

    #[test]
    fn numbers_out_of_range_are_rejected() {
        for (value, ok) in [
            ("0", None),
            ("-1", None),
            ("1.5", None),
            ("4294967296", None),
            ("1", Some(1)),
            ("32000.0", Some(32_000)),
            ("1e6", Some(1_000_000)),
            ("4294967295", Some(u32::MAX)),
        ] {
            let text = provider(&format!("models: [{{ id: 'a', contextWindow: {value} }}]"));
            match ok {
                Some(n) => assert_eq!(
                    parse(&text).unwrap().models[0].context_window,
                    Some(n),
                    "{value}"
                ),
                None => {
                    let m = err(&text);
                    assert!(
                        m.contains("models[0].contextWindow must be"),
                        "{value}: {m}"
                    );
                }
            }
        }
        let m = err(&provider("models: [{ id: 'a', cost: { input: -1 } }]"));
        assert!(
            m.contains("models[0].cost.input must be a non-negative number, found -1"),
            "{m}"
        );
    }

    #[test]
    fn cost_members_default_to_zero_and_cache_prices_to_the_input_price() {
        let c = parse(&provider(
            "models: [{ id: 'a', cost: { input: 2, output: 2.5, cacheWrite: 0 } }]",
        ))
        .unwrap();
        assert_eq!(
            c.models[0].cost,
            Some(Cost {
                input: 2.0,
                output: 2.5,
                cache_read: 2.0,
                cache_write: 0.0
            }),
            "an unset cacheRead is the input price; a zero cacheWrite is a price"
        );
        let c = parse(&provider("models: [{ id: 'a', cost: { output: 2.5 } }]")).unwrap();
        assert_eq!(
            c.models[0].cost,
            Some(Cost {
                input: 0.0,
                output: 2.5,
                cache_read: 0.0,
                cache_write: 0.0
            })
        );
        let c = parse(&provider("models: [{ id: 'a', cost: {} }]")).unwrap();
        assert_eq!(c.models[0].cost, Some(Cost::default()));
    }

    #[test]
    fn unknown_api_names_the_valid_ones() {
        for text in [
            provider("api: 'openai-response'"),
            provider("models: [{ id: 'a', api: 'openai-response' }]"),
        ] {
            let m = err(&text);
            assert!(m.contains("unknown api \"openai-response\""), "{m}");
            for api in Api::ALL {
                assert!(m.contains(api.as_str()), "{m} lacks {}", api.as_str());
            }
        }
        let m = err(&provider("models: [{ id: 'a' }, { id: 'b', api: 'x' }]"));
        assert!(
            m.starts_with("models.providers.amazon-bedrock-mantle.models[1].api:"),
            "{m}"
        );
        let c = parse(&provider("api: 'anthropic-messages'")).unwrap();
        assert_eq!(c.api, Api::AnthropicMessages);
    }

    #[test]
    fn store_is_off_unless_configured_per_provider_or_model() {
        let c = parse(&provider("models: [{ id: 'openai.gpt-5.4' }]")).unwrap();
        assert!(!c.store_for("openai.gpt-5.4"));
        let c = parse(&provider(
            "store: true, models: [{ id: 'a', store: false }, { id: 'b', api: 'openai-responses' }]",
        ))
        .unwrap();
        assert!(!c.store_for("a"), "the model's setting wins");
        assert!(c.store_for("b"));
        assert!(c.store_for("c"));
        assert_eq!(c.models[1].api, Some(Api::OpenaiResponses));
        let m = err(&provider("store: 'yes'"));
        assert!(m.contains("store"), "{m}");
    }

    #[test]
    fn unknown_input_names_the_valid_ones() {
        let m = err(&provider("models: [{ id: 'a', input: ['text', 'audio'] }]"));
        assert!(
            m.starts_with("models.providers.amazon-bedrock-mantle.models[0].input[1]:"),
            "{m}"
        );
        assert!(m.contains("unknown input \"audio\""), "{m}");
        assert!(m.contains("text") && m.contains("image"), "{m}");
        let m = err(&provider("models: [{ id: 'a', input: [] }]"));
        assert!(
            m.contains("models[0].input must list at least one input"),
            "{m}"
        );
        let c = parse(&provider(
            "models: [{ id: 'a', input: ['image', 'text', 'image'] }]",
        ))
        .unwrap();
        assert_eq!(
            c.models[0].input,
            Some(vec![Modality::Image, Modality::Text])
        );
    }

    #[test]
    fn empty_name_is_rejected() {
        let m = err(&provider("models: [{ id: 'a', name: '' }]"));
        assert_eq!(
            m,
            "models.providers.amazon-bedrock-mantle.models[0].name must not be empty"
        );
    }

    #[test]
    fn discovery_timeout_defaults_to_the_cap_and_is_bounded() {
        assert_eq!(ProviderConfig::default().discovery_timeout_ms, 30_000);
        let c = parse(&provider(
            "firstByteTimeoutMs: 1500, betweenBytesTimeoutMs: 700",
        ))
        .unwrap();
        assert_eq!(
            (c.first_byte_timeout_ms, c.between_bytes_timeout_ms),
            (1_500, 700)
        );
        assert!(err(&provider("firstByteTimeoutMs: 0")).contains("firstByteTimeoutMs"));
        let c = parse(&provider("discoveryTimeoutMs: 500")).unwrap();
        assert_eq!(c.discovery_timeout_ms, 500);
        let c = parse(&provider("discoveryTimeoutMs: 30000")).unwrap();
        assert_eq!(c.discovery_timeout_ms, 30_000);
        let m = err(&provider("discoveryTimeoutMs: 30001"));
        assert_eq!(
            m,
            "models.providers.amazon-bedrock-mantle.discoveryTimeoutMs must be at most 30000, found 30001"
        );
        for bad in ["0", "-5", "'fast'", "2.5"] {
            let m = err(&provider(&format!("discoveryTimeoutMs: {bad}")));
            assert!(
                m.starts_with("models.providers.amazon-bedrock-mantle.discoveryTimeoutMs must be a positive whole number"),
                "{bad}: {m}"
            );
        }
    }

    // ---- baseUrl ------------------------------------------------------------------------

    #[test]
    fn base_url_must_be_http_and_loses_its_trailing_slash() {
        for (given, want) in [
            (
                "https://bedrock-mantle.us-west-2.api.aws/v1/",
                "https://bedrock-mantle.us-west-2.api.aws/v1",
            ),
            (
                "https://bedrock-mantle.us-west-2.api.aws/v1",
                "https://bedrock-mantle.us-west-2.api.aws/v1",
            ),
            ("http://127.0.0.1:8080/v1//", "http://127.0.0.1:8080/v1"),
            ("  HTTPS://Example.com/  ", "https://example.com"),
        ] {
            let c = parse(&provider(&format!("baseUrl: '{given}'"))).unwrap();
            assert_eq!(c.base_url.as_deref(), Some(want), "{given}");
        }
        for (given, why) in [
            ("ftp://example.com/v1", "must be an http:// or https:// URL"),
            (
                "bedrock-mantle.us-east-1.api.aws/v1",
                "must be an http:// or https:// URL",
            ),
            ("https:///v1", "has no host"),
            ("https://", "has no host"),
            ("https://exa mple.com/v1", "must not contain spaces"),
            ("https://example.com/v1?key=1", "must not carry a query"),
        ] {
            let m = err(&provider(&format!("baseUrl: '{given}'")));
            assert!(
                m.starts_with("models.providers.amazon-bedrock-mantle.baseUrl"),
                "{m}"
            );
            assert!(m.contains(why), "{given}: {m}");
        }
    }

    #[test]
    fn base_url_with_userinfo_is_refused_without_echoing_it() {
        for given in [
            "http://user:hunter2-password@127.0.0.1:9/v1",
            "https://AKIAIOSFODNN7EXAMPLE@bedrock-mantle.us-east-1.api.aws/v1",
            "https://:hunter2-password@example.com",
        ] {
            let m = err(&provider(&format!("baseUrl: '{given}'")));
            assert!(m.contains("user name or password"), "{m}");
            for secret in ["hunter2", "user:", "AKIAIOSFODNN7EXAMPLE"] {
                assert!(!m.contains(secret), "{given}: {m}");
            }
        }
    }

    // ---- apiKey -------------------------------------------------------------------------

    #[test]
    fn api_key_forms() {
        let c = parse(&provider("apiKey: 'env: MY_TOKEN '")).unwrap();
        assert_eq!(c.api_key, Some(ApiKey::Env("MY_TOKEN".into())));
        let c = parse(&provider(&format!("apiKey: '  {SECRET} '"))).unwrap();
        assert_eq!(c.api_key, Some(ApiKey::Literal(SECRET.into())));
        let c = parse(&provider("apiKey: '   '")).unwrap();
        assert_eq!(c.api_key, None);
        let m = err(&provider("apiKey: 'env:'"));
        assert!(
            m.starts_with("models.providers.amazon-bedrock-mantle.apiKey:"),
            "{m}"
        );
    }

    #[test]
    fn api_key_resolves_trimmed_and_blank_is_none() {
        let env = |name: &str| match name {
            "SET" => Some("  tok-123\n".to_owned()),
            "BLANK" => Some("   ".to_owned()),
            _ => None,
        };
        assert_eq!(
            ApiKey::Env("SET".into()).resolve(env).as_deref(),
            Some("tok-123")
        );
        assert_eq!(ApiKey::Env("BLANK".into()).resolve(env), None);
        assert_eq!(ApiKey::Env("UNSET".into()).resolve(env), None);
        assert_eq!(
            ApiKey::Literal(" lit ".into()).resolve(env).as_deref(),
            Some("lit")
        );
        assert_eq!(ApiKey::Literal(String::new()).resolve(env), None);
        // A literal never reads the environment.
        let panicking = |_: &str| -> Option<String> { panic!("env read") };
        assert_eq!(
            ApiKey::Literal("x".into()).resolve(panicking).as_deref(),
            Some("x")
        );
    }

    #[test]
    fn debug_output_redacts_a_literal_key() {
        let c = parse(&provider(&format!(
            "apiKey: '{SECRET}', models: [{{ id: 'a' }}]"
        )))
        .unwrap();
        let debug = format!("{c:?} {:?} {:#?}", c.api_key, c);
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        let env = format!("{:?}", ApiKey::Env("AWS_BEARER_TOKEN_BEDROCK".into()));
        assert_eq!(env, "Env(\"AWS_BEARER_TOKEN_BEDROCK\")");
    }

    #[test]
    fn no_error_quotes_a_literal_key() {
        // The key pasted into other fields by mistake is redacted from the message.
        for body in [
            format!("apiKey: '{SECRET}', baseUrl: '{SECRET}'"),
            format!("apiKey: '{SECRET}', api: '{SECRET}'"),
            format!("apiKey: '{SECRET}', models: [{{ id: 'a', input: ['{SECRET}'] }}]"),
            format!("apiKey: '{SECRET}', models: [{{ id: '{SECRET}' }}, {{ id: '{SECRET}' }}]"),
            format!("apiKey: '{SECRET}', discovery: 1"),
            format!("apiKey: '{SECRET}', models: [{{ id: 'a', contextWindow: -5 }}]"),
        ] {
            let m = err(&provider(&body));
            assert!(!m.contains(SECRET), "{m}");
        }
        let m = err(&provider(&format!("apiKey: '{SECRET}', api: 'bogus'")));
        assert!(m.contains("bogus"), "other values are still quoted: {m}");
    }

    // ---- ModelOverride ------------------------------------------------------------------

    #[test]
    fn apply_overrides_only_given_fields() {
        let mut base = defaults::model_with_defaults(
            "deepseek.v3.2",
            Api::OpenaiCompletions,
            ModelSource::Discovered,
        );
        let untouched = base.clone();
        ModelOverride {
            id: "deepseek.v3.2".into(),
            ..ModelOverride::default()
        }
        .apply(&mut base);
        assert_eq!(
            base,
            Model {
                source: ModelSource::Configured,
                ..untouched
            }
        );

        let full = ModelOverride {
            id: "ignored".into(),
            name: Some("DeepSeek".into()),
            api: Some(Api::AnthropicMessages),
            reasoning: Some(true),
            input: Some(vec![Modality::Text, Modality::Image]),
            cost: Some(Cost {
                input: 1.0,
                output: 2.0,
                cache_read: 0.1,
                cache_write: 1.25,
            }),
            context_window: Some(128_000),
            max_tokens: Some(8_192),
            store: Some(true),
            base_url: None,
        };
        full.apply(&mut base);
        assert_eq!(
            base,
            Model {
                id: "deepseek.v3.2".into(),
                name: "DeepSeek".into(),
                api: Api::AnthropicMessages,
                reasoning: true,
                input: vec![Modality::Text, Modality::Image],
                cost: full.cost,
                context_window: 128_000,
                max_tokens: 8_192,
                source: ModelSource::Configured,
                created: None,
            }
        );
    }

    #[test]
    fn to_model_uses_discovery_defaults() {
        let m = ModelOverride {
            id: "moonshotai.kimi-k2-thinking".into(),
            ..ModelOverride::default()
        }
        .to_model(Api::OpenaiCompletions);
        assert_eq!(
            m,
            Model {
                id: "moonshotai.kimi-k2-thinking".into(),
                name: "moonshotai.kimi-k2-thinking".into(),
                api: Api::OpenaiCompletions,
                reasoning: true,
                input: vec![Modality::Text],
                cost: crate::cost::builtin("moonshotai.kimi-k2-thinking"),
                context_window: 32_000,
                max_tokens: 4_096,
                source: ModelSource::Configured,
                created: None,
            }
        );
    }

    #[test]
    fn to_model_api_and_reasoning() {
        let plain = |id: &str| ModelOverride {
            id: id.into(),
            ..ModelOverride::default()
        };
        assert_eq!(
            plain("x.y").to_model(Api::AnthropicMessages).api,
            Api::AnthropicMessages
        );
        assert_eq!(
            plain("x.y").to_model(Api::OpenaiCompletions).api,
            Api::OpenaiCompletions
        );
        assert_eq!(
            plain("claude-haiku-4.5")
                .to_model(Api::OpenaiCompletions)
                .api,
            Api::AnthropicMessages
        );
        let given = ModelOverride {
            api: Some(Api::OpenaiCompletions),
            reasoning: Some(false),
            ..plain("deepseek.r1")
        };
        let m = given.to_model(Api::AnthropicMessages);
        assert_eq!(m.api, Api::OpenaiCompletions);
        assert!(!m.reasoning, "given reasoning wins over inference");
        assert!(
            plain("deepseek.r1")
                .to_model(Api::OpenaiCompletions)
                .reasoning
        );
        assert!(
            !plain("deepseek.v3.2")
                .to_model(Api::OpenaiCompletions)
                .reasoning
        );
    }
}

#[cfg(test)]
mod scale_tests {
    use super::*;

    #[test]
    fn many_configured_models_parse_and_merge_with_repeats_found() {
        let n = 32_768;
        let mut text = String::from(r#"{models:{providers:{"amazon-bedrock-mantle":{models:["#);
        for i in 0..n {
            text.push_str(&format!("{{id:'m{i}'}},"));
        }
        text.push_str("]}}}}");
        let config = parse(&text).unwrap();
        assert_eq!(config.models.len(), n);
        let merged = crate::catalog::discovery::merge(&[], &config);
        assert_eq!(merged.len(), n);
        assert!(merged.windows(2).all(|w| w[0].id < w[1].id));
        text.insert_str(text.len() - 5, "{id:'m17'},");
        let Err(Error::Configuration(m)) = parse(&text) else {
            panic!("a repeat accepted")
        };
        assert!(
            m.contains(&format!("models[{n}].id \"m17\" repeats models[17]")),
            "{m}"
        );
    }
}
