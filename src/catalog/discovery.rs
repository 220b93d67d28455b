//! Model discovery and listing rules: parsing `GET {baseUrl}/models`, the built-in models,
//! merging discovered, built-in and configured models, and choosing a model's route.
//!
//! Everything here is pure; the client fetches the body and passes it in.
//!
//! Precedence when listing (later wins): discovered → built-in (replaces the row) →
//! configured (overrides field by field). The result is sorted by id without duplicates.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::catalog::config::{ModelOverride, ProviderConfig};
pub use crate::catalog::defaults::{
    DEFAULT_CONTEXT_WINDOW, DEFAULT_MAX_TOKENS, default_api, infer_api, infer_reasoning,
    model_with_defaults,
};
use crate::catalog::ids as catalog;
use crate::error::{Error, Result};
use crate::model::{Api, Modality, Model, ModelSource};
use crate::secrets::{self, Secrets};
use crate::text::truncate;

/// How long discovered models are reused by the client's listing, seconds.
pub const MODEL_CACHE_SECS: u64 = 3600;

/// Mantle's catalog id of Claude Opus 4.7, served on the Anthropic Messages route only
/// (Genesis configurations call it `claude-opus-4.7`, which [`catalog::normalize`] takes as
/// an alias).
pub const CLAUDE_OPUS_ID: &str = "anthropic.claude-opus-4-7";
/// At most this many characters of an unexpected body are quoted in an error.
pub const BODY_SNIPPET_CHARS: usize = 200;

/// Longest model id discovery accepts, bytes.
pub const MAX_MODEL_ID_BYTES: usize = 256;

/// Why a discovered id is refused: control characters (a line end would split whatever
/// stores or prints the id), or more than [`MAX_MODEL_ID_BYTES`] bytes; `None` when fine.
pub fn id_problem(id: &str) -> Option<&'static str> {
    if id.len() > MAX_MODEL_ID_BYTES {
        Some("it is longer than 256 bytes")
    } else if id.chars().any(char::is_control) {
        Some("it contains control characters")
    } else {
        None
    }
}

/// What `GET /models` gave: the usable models and why others were left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Discovered {
    /// Models with the discovery defaults, sorted by id without duplicates.
    pub models: Vec<Model>,
    /// One line per id refused ([`id_problem`]), the id escaped and cut.
    pub diagnostics: Vec<String>,
}

/// `GET /models` answer; other fields are ignored.
#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelEntry>,
}

/// One entry of `data`; `object`, `owned_by` and others are ignored, and a `created` that is
/// not a whole number of seconds counts as absent.
#[derive(Deserialize)]
struct ModelEntry {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    created: Option<serde_json::Value>,
}

/// Parses the body of `GET {baseUrl}/models`
/// (`{"object":"list","data":[{"id":"…","object":"model",…}]}`).
///
/// Entries with an empty (or missing) id are dropped; the rest become models with the
/// discovery defaults ([`model_with_defaults`]: OpenAI route, except Claude ids on the
/// Anthropic route), sorted by id without duplicates. A body of another shape is an
/// [`Error::Protocol`] quoting at most [`BODY_SNIPPET_CHARS`] characters of it.
/// `secrets` never appear in the quote: they are removed before it is cut.
pub fn parse_models(body: &[u8], secrets: &Secrets) -> Result<Vec<Model>> {
    parse_discovery(body, secrets).map(|d| d.models)
}

/// [`parse_models`], with a diagnostic for each id refused because of [`id_problem`].
pub fn parse_discovery(body: &[u8], secrets: &Secrets) -> Result<Discovered> {
    let list: ModelList = serde_json::from_slice(body).map_err(|e| {
        Error::Protocol(format!(
            "models response is not {{\"data\": [{{\"id\": …}}]}} ({}); body: {}",
            one_line(truncate(
                &secrets.redact(&e.to_string()),
                BODY_SNIPPET_CHARS
            )),
            snippet(body, secrets)
        ))
    })?;
    let mut diagnostics = Vec::new();
    let mut models: Vec<Model> = list
        .data
        .into_iter()
        .filter_map(|entry| Some((entry.id?, entry.created.and_then(|c| c.as_u64()))))
        .filter(|(id, _)| !id.trim().is_empty())
        .filter(|(id, _)| match id_problem(id) {
            None => true,
            Some(why) => {
                diagnostics.push(format!(
                    "discovery left out the model id {}: {why}",
                    escape_id(&secrets.redact(truncate(id, 64)))
                ));
                false
            }
        })
        .map(|(id, created)| Model {
            created,
            ..model_with_defaults(&id, Api::OpenaiCompletions, ModelSource::Discovered)
        })
        .collect();
    models.sort_by(|a, b| a.id.cmp(&b.id));
    models.dedup_by(|a, b| a.id == b.id);
    Ok(Discovered {
        models,
        diagnostics,
    })
}

/// `id` quoted with every control character escaped (`\n`, `\u{1b}`), for messages and
/// tables that must stay on one line and print no terminal escape.
pub fn escape_id(id: &str) -> String {
    format!("{:?}", id)
}

/// The start of an untrusted body for an error message: at most [`BODY_SNIPPET_CHARS`]
/// characters, on one line, `…` when cut.
fn snippet(body: &[u8], secrets: &Secrets) -> String {
    if body.is_empty() {
        return "(empty)".to_owned();
    }
    // Four bytes per character at most, and room for a secret to be removed whole: decoding
    // more than that is wasted work.
    let limit = BODY_SNIPPET_CHARS * 4 + secrets.longest();
    let mut head = body[..body.len().min(limit)].to_vec();
    let cut_body = head.len() < body.len();
    if cut_body {
        secrets::drop_cut_tail(&mut head, limit, secrets);
    }
    let text = secrets.redact(&String::from_utf8_lossy(&head));
    let cut = truncate(&text, BODY_SNIPPET_CHARS);
    let mut out = one_line(cut);
    if cut_body || cut.len() < text.len() {
        out.push('…');
    }
    out
}

/// `s` with control characters (line ends included) replaced by spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Models the provider knows without asking: Claude Opus 4.7.
pub fn built_in_models() -> Vec<Model> {
    vec![Model {
        id: CLAUDE_OPUS_ID.to_owned(),
        name: "Claude Opus 4.7".to_owned(),
        api: Api::AnthropicMessages,
        reasoning: true,
        input: vec![Modality::Text, Modality::Image],
        cost: crate::cost::builtin(CLAUDE_OPUS_ID),
        context_window: 1_000_000,
        max_tokens: 32_000,
        source: ModelSource::BuiltIn,
        created: None,
    }]
}

/// The id a configured entry describes, given whether the listing (discovered or built-in)
/// has an id exactly: its own id when the listing has it, else its catalog id
/// ([`catalog::normalize`]), so an entry written `claude-opus-4.7` (a Genesis configuration)
/// describes `anthropic.claude-opus-4-7`.
pub fn configured_id(entry: &ModelOverride, listed: impl Fn(&str) -> bool) -> String {
    if listed(&entry.id) {
        entry.id.clone()
    } else {
        catalog::normalize(&entry.id).id
    }
}

/// The configured entries that describe `id`, in the order written ([`configured_id`]).
pub fn configured_for<'a>(
    id: &'a str,
    config: &'a ProviderConfig,
    listed: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = &'a ModelOverride> + 'a {
    config
        .models
        .iter()
        .filter(move |o| configured_id(o, &listed) == id)
}

/// A built-in row in place of a discovered one keeps what discovery said of its age.
fn built_in_over(mut built_in: Model, discovered: Option<&Model>) -> Model {
    built_in.created = discovered.and_then(|d| d.created);
    built_in
}

/// A discovered row under an alias of a built-in model (`claude-opus-4.7` for
/// `anthropic.claude-opus-4-7`) is that model: it takes the built-in description, keeping its
/// own id and age. Any other row is returned as it is.
fn described(row: &Model) -> Model {
    let catalog = catalog::normalize(&row.id).id;
    match built_in_models().into_iter().find(|b| b.id == catalog) {
        Some(built_in) if built_in.id != row.id => Model {
            id: row.id.clone(),
            name: row.id.clone(),
            source: row.source,
            ..built_in_over(built_in, Some(row))
        },
        _ => row.clone(),
    }
}

/// The models to list: `discovered`, with [`built_in_models`] replacing rows of the same
/// id when discovery gave any models (built-in rows appear only alongside a successful
/// discovery), then the configured entries applied by id field by field
/// ([`crate::catalog::config::ModelOverride::apply`]), each to the id [`configured_id`] gives it;
/// configured-only ids are added ([`crate::catalog::config::ModelOverride::to_model_for`] with the
/// provider's default `api`). Sorted by id, without duplicate ids (the first discovered row
/// of an id is kept).
pub fn merge(discovered: &[Model], config: &ProviderConfig) -> Vec<Model> {
    let mut by_id: BTreeMap<String, Model> = BTreeMap::new();
    for m in discovered {
        by_id.entry(m.id.clone()).or_insert_with(|| described(m));
    }
    if !discovered.is_empty() {
        for m in built_in_models() {
            let row = built_in_over(m.clone(), by_id.get(&m.id));
            by_id.insert(row.id.clone(), row);
        }
    }
    let listed: std::collections::BTreeSet<String> = by_id.keys().cloned().collect();
    for o in &config.models {
        let id = configured_id(o, |id| listed.contains(id));
        match by_id.get_mut(&id) {
            Some(m) => o.apply(m),
            None => {
                by_id.insert(id.clone(), o.to_model_for(&id, config.api));
            }
        }
    }
    by_id.into_values().collect()
}

/// The one model [`merge`] would list under `id`, without building the whole list: what a
/// chat request needs on its hot path.
pub fn describe(id: &str, discovered: &[Model], config: &ProviderConfig) -> Option<Model> {
    describe_from(id, discovered, config, !discovered.is_empty())
}

/// What the provider knows of `id` to send a request for it: [`describe`], with the built-in
/// catalogue's limits whether or not a discovery succeeded (the catalogue rows are listed only
/// beside a successful discovery, but their limits hold for any request).
pub fn describe_for_request(
    id: &str,
    discovered: &[Model],
    config: &ProviderConfig,
) -> Option<Model> {
    describe_from(id, discovered, config, true)
}

/// Every id [`merge`] would list, unsorted and possibly repeated, without building the
/// models: what a model reference is resolved against ([`catalog::resolve`]).
pub fn listed_ids<'a>(
    discovered: &'a [Model],
    config: &'a ProviderConfig,
    with_built_ins: bool,
) -> Vec<std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    let mut ids: Vec<Cow<'a, str>> = discovered
        .iter()
        .map(|m| Cow::Borrowed(m.id.as_str()))
        .collect();
    if with_built_ins {
        ids.push(Cow::Borrowed(CLAUDE_OPUS_ID));
    }
    let known = |id: &str| {
        discovered.iter().any(|m| m.id == id) || (with_built_ins && id == CLAUDE_OPUS_ID)
    };
    for o in &config.models {
        ids.push(Cow::Owned(configured_id(o, known)));
    }
    ids
}

fn describe_from(
    id: &str,
    discovered: &[Model],
    config: &ProviderConfig,
    with_built_ins: bool,
) -> Option<Model> {
    let found = discovered.iter().find(|m| m.id == id);
    let built_in = if with_built_ins {
        built_in_models()
            .into_iter()
            .find(|m| m.id == id)
            .map(|m| built_in_over(m, found))
    } else {
        None
    };
    let mut model = built_in.or_else(|| found.map(described));
    let listed = |other: &str| {
        discovered.iter().any(|m| m.id == other) || (with_built_ins && other == CLAUDE_OPUS_ID)
    };
    for o in configured_for(id, config, listed) {
        match &mut model {
            Some(m) => o.apply(m),
            None => model = Some(o.to_model_for(id, config.api)),
        }
    }
    model
}

/// The route to send `model_id` on: the `api` of the listed model with that id; else
/// the route its id implies ([`default_api`]); else `default_api`.
pub fn route_for(model_id: &str, models: &[Model], default_api: Api) -> Api {
    match models.iter().find(|m| m.id == model_id) {
        Some(m) => m.api,
        None => self::default_api(model_id, default_api),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::config::{self, ModelOverride};
    use crate::model::Cost;

    #[test]
    fn describe_gives_what_merge_lists() {
        let discovered = parse_models(
            br#"{"data":[{"id":"claude-opus-4.7"},{"id":"b.model"},{"id":"a.model"}]}"#,
            &Secrets::default(),
        )
        .unwrap();
        let cfg = config::parse(
            r#"{ models: { providers: { "amazon-bedrock-mantle": { api: "anthropic-messages", models: [
                { id: "b.model", maxTokens: 100 },
                { id: "claude-opus-4.7", maxTokens: 64000 },
                { id: "c.only" } ] } } } }"#,
        )
        .unwrap();
        let merged = merge(&discovered, &cfg);
        for m in &merged {
            assert_eq!(
                describe(&m.id, &discovered, &cfg).as_ref(),
                Some(m),
                "{}",
                m.id
            );
        }
        assert_eq!(describe("nobody", &discovered, &cfg), None);
    }

    fn ids(models: &[Model]) -> Vec<&str> {
        models.iter().map(|m| m.id.as_str()).collect()
    }

    fn protocol_message(body: &[u8]) -> String {
        match parse_models(body, &Secrets::default()) {
            Err(Error::Protocol(m)) => m,
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }

    fn model(id: &str, source: ModelSource) -> Model {
        model_with_defaults(id, Api::OpenaiCompletions, source)
    }

    // ---- infer_reasoning ----------------------------------------------------------------

    #[test]
    fn reasoning_is_inferred_from_real_mantle_ids() {
        for (id, want) in [
            ("moonshotai.kimi-k2-thinking", true),
            ("deepseek.v3.2", false),
            ("openai.gpt-oss-120b", true),
            ("openai.gpt-oss-20b", false),
            ("openai.gpt-oss-safeguard-120b", true),
            ("openai.gpt-oss-safeguard-20b", false),
            ("qwen.qwen3-coder-480b-a35b-instruct", false),
            ("deepseek.r1", true),
            ("deepseek-reasoner", true),
            ("some.reasoning-model", true),
            ("claude-opus-4.7", false),
        ] {
            assert_eq!(infer_reasoning(id), want, "{id}");
        }
    }

    #[test]
    fn reasoning_inference_ignores_case() {
        assert!(infer_reasoning("Moonshotai.Kimi-K2-THINKING"));
        assert!(infer_reasoning("DeepSeek.R1"));
        assert!(infer_reasoning("OPENAI.GPT-OSS-120B"));
    }

    // ---- parse_models -------------------------------------------------------------------

    #[test]
    fn parses_the_documented_shape_with_defaults() {
        let body = br#"{"object":"list","data":[
            {"id":"openai.gpt-oss-120b","object":"model","created":1700000000,"owned_by":"openai"}
        ]}"#;
        let models = parse_models(body, &Secrets::default()).unwrap();
        assert_eq!(
            models,
            vec![Model {
                id: "openai.gpt-oss-120b".into(),
                name: "openai.gpt-oss-120b".into(),
                api: Api::OpenaiCompletions,
                reasoning: true,
                input: vec![Modality::Text],
                cost: Some(Cost {
                    input: 0.15,
                    output: 0.60,
                    cache_read: 0.15,
                    cache_write: 0.15,
                }),
                context_window: 32_000,
                max_tokens: 4_096,
                source: ModelSource::Discovered,
                created: Some(1_700_000_000),
            }]
        );
    }

    #[test]
    fn sorts_by_id_drops_empty_ids_and_dedupes() {
        let body = br#"{"object":"list","data":[
            {"id":"qwen.qwen3-coder-480b-a35b-instruct"},
            {"id":""},
            {"id":"   "},
            {"object":"model"},
            {"id":null},
            {"id":"deepseek.v3.2"},
            {"id":"moonshotai.kimi-k2-thinking"},
            {"id":"deepseek.v3.2"}
        ]}"#;
        let models = parse_models(body, &Secrets::default()).unwrap();
        assert_eq!(
            ids(&models),
            [
                "deepseek.v3.2",
                "moonshotai.kimi-k2-thinking",
                "qwen.qwen3-coder-480b-a35b-instruct"
            ]
        );
        assert!(models.iter().all(|m| m.name == m.id));
        assert!(models.iter().all(|m| m.source == ModelSource::Discovered));
        assert_eq!(
            models.iter().map(|m| m.reasoning).collect::<Vec<_>>(),
            [false, true, false]
        );
    }

    #[test]
    fn tolerates_extra_and_missing_optional_fields() {
        let body = br#"{"data":[{"id":"a.b","extra":{"nested":[1,2]},"created":"soon"}],
                        "has_more":false,"first_id":null}"#;
        assert_eq!(
            ids(&parse_models(body, &Secrets::default()).unwrap()),
            ["a.b"]
        );
        assert!(
            parse_models(br#"{"object":"list","data":[]}"#, &Secrets::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn discovered_claude_ids_go_to_the_anthropic_route() {
        let body =
            br#"{"data":[{"id":"claude-sonnet-4.5"},{"id":"anthropic.claude-3"},{"id":"x.y"}]}"#;
        let models = parse_models(body, &Secrets::default()).unwrap();
        let apis: Vec<Api> = models.iter().map(|m| m.api).collect();
        assert_eq!(
            apis,
            [
                Api::AnthropicMessages,
                Api::AnthropicMessages,
                Api::OpenaiCompletions
            ]
        );
    }

    #[test]
    fn gpt5_ids_go_to_the_responses_route() {
        let body = br#"{"data":[{"id":"openai.gpt-5.4"},{"id":"openai.gpt-5.5"},{"id":"OpenAI.GPT-5"},{"id":"openai.gpt-oss-120b"},{"id":"openai.gpt-4o"}]}"#;
        let models = parse_models(body, &Secrets::default()).unwrap();
        let api = |id: &str| models.iter().find(|m| m.id == id).unwrap().api;
        assert_eq!(api("openai.gpt-5.4"), Api::OpenaiResponses);
        assert_eq!(api("openai.gpt-5.5"), Api::OpenaiResponses);
        assert_eq!(api("OpenAI.GPT-5"), Api::OpenaiResponses);
        assert_eq!(api("openai.gpt-oss-120b"), Api::OpenaiCompletions);
        assert_eq!(api("openai.gpt-4o"), Api::OpenaiCompletions);
        assert_eq!(
            route_for("openai.gpt-5.9", &[], Api::OpenaiCompletions),
            Api::OpenaiResponses
        );
    }

    #[test]
    fn malformed_bodies_are_protocol_errors_quoting_the_body() {
        let m = protocol_message(b"<html>502 Bad Gateway</html>");
        assert!(m.contains("<html>502 Bad Gateway</html>"), "{m}");
        let m = protocol_message(br#"{"object":"list","data":{"id":"x"}}"#);
        assert!(m.contains(r#""data":{"id":"x"}"#), "{m}");
        let m = protocol_message(br#"{"object":"list"}"#);
        assert!(m.contains("data"), "{m}");
        let m = protocol_message(br#"[{"id":"x"}]"#);
        assert!(m.contains(r#"[{"id":"x"}]"#), "{m}");
        let m = protocol_message(br#"{"data":[3]}"#);
        assert!(m.contains(r#"{"data":[3]}"#), "{m}");
        let m = protocol_message(br#"{"data":[{"id":42}]}"#);
        assert!(m.contains("42"), "{m}");
        let m = protocol_message(br#"{"data":null}"#);
        assert!(m.contains("null"), "{m}");
        let m = protocol_message(b"");
        assert!(m.contains("(empty)"), "{m}");
    }

    #[test]
    fn five_megabytes_of_junk_produce_a_short_snippet() {
        let junk = "é\n".repeat(5 * 1024 * 1024 / 3);
        assert!(junk.len() > 3_000_000);
        let m = protocol_message(junk.as_bytes());
        assert!(m.chars().count() < 600, "{} chars", m.chars().count());
        assert!(m.ends_with('…'), "{m}");
        assert!(!m.contains('\n'), "{m}");

        // A long string inside valid JSON must not be quoted whole through serde's message.
        let long = format!(r#"{{"data":"{}"}}"#, "x".repeat(5 * 1024 * 1024));
        let m = protocol_message(long.as_bytes());
        assert!(m.len() < 1_000, "{} bytes", m.len());
    }

    #[test]
    fn secrets_in_a_bad_models_body_are_removed_before_the_cut() {
        let token = "bedrock-api-key-c2VjcmV0LXRva2VuLXRoYXQtbXVzdC1ub3QtbGVhaw==";
        let secrets = Secrets::new(&[token]);
        for pad in 180..BODY_SNIPPET_CHARS + 10 {
            let body = format!("<html>{} {token}</html>", "x".repeat(pad));
            let Err(Error::Protocol(m)) = parse_models(body.as_bytes(), &secrets) else {
                panic!("accepted")
            };
            for n in 4..token.len() {
                let core = &token["bedrock-api-key-".len()..];
                assert!(!m.contains(&core[..n.min(core.len())]), "pad {pad}: {m}");
            }
        }
    }

    #[test]
    fn invalid_utf8_and_multibyte_cuts_are_safe() {
        let m = protocol_message(&[0xff, 0xfe, b'{', 0xc3]);
        assert!(m.contains('\u{fffd}'), "{m}");
        assert!(!m.ends_with('…'), "{m}");
        let m = protocol_message(&[0xff; 500]);
        assert!(m.ends_with('…'), "500 replacement characters are cut: {m}");
        // A snippet cut through a multi-byte character stays valid.
        let mut body = "€".repeat(BODY_SNIPPET_CHARS * 2).into_bytes();
        body.truncate(BODY_SNIPPET_CHARS * 4 + 1);
        let m = protocol_message(&body);
        assert!(m.contains(&"€".repeat(BODY_SNIPPET_CHARS)), "{m}");
    }

    // ---- built-ins ----------------------------------------------------------------------

    #[test]
    fn built_in_claude_opus_matches_the_facts() {
        let [opus] = built_in_models().try_into().unwrap();
        assert_eq!(opus.id, CLAUDE_OPUS_ID);
        assert_eq!(
            opus.id, "anthropic.claude-opus-4-7",
            "the catalog id, as Mantle serves it"
        );
        assert_eq!(opus.name, "Claude Opus 4.7");
        assert_eq!(opus.api, Api::AnthropicMessages);
        assert!(opus.reasoning);
        assert_eq!(opus.input, [Modality::Text, Modality::Image]);
        assert_eq!(opus.context_window, 1_000_000);
        assert_eq!(opus.max_tokens, 32_000);
        assert_eq!(
            opus.cost,
            Some(Cost {
                input: 5.50,
                output: 27.50,
                cache_read: 0.55,
                cache_write: 6.875,
            }),
            "the built-in table's price"
        );
        assert_eq!(opus.source, ModelSource::BuiltIn);
    }

    // ---- merge --------------------------------------------------------------------------

    #[test]
    fn merge_without_configuration_adds_built_ins_sorted() {
        let discovered = vec![
            model("qwen.q", ModelSource::Discovered),
            model("deepseek.v3.2", ModelSource::Discovered),
        ];
        let merged = merge(&discovered, &ProviderConfig::default());
        assert_eq!(
            ids(&merged),
            ["anthropic.claude-opus-4-7", "deepseek.v3.2", "qwen.q"]
        );
        assert!(
            merge(&[], &ProviderConfig::default()).is_empty(),
            "no built-in row without a successful discovery"
        );
    }

    #[test]
    fn without_discovered_models_only_configured_ones_are_listed() {
        let config = config::parse(
            r#"{ models: { providers: { "amazon-bedrock-mantle": { models: [ { id: "my.model" } ] } } } }"#,
        )
        .unwrap();
        assert_eq!(ids(&merge(&[], &config)), ["my.model"]);
        assert_eq!(describe(CLAUDE_OPUS_ID, &[], &config), None);
        assert!(describe("my.model", &[], &config).is_some());
    }

    #[test]
    fn hostile_ids_are_left_out_with_a_diagnostic() {
        let long = "x".repeat(MAX_MODEL_ID_BYTES + 1);
        let ok = "y".repeat(MAX_MODEL_ID_BYTES);
        let body = format!(
            r#"{{"data":[{{"id":"a.good"}},{{"id":"evil\nclaude-phantom"}},{{"id":"esc\u001b[31mred"}},{{"id":"{long}"}},{{"id":"{ok}"}}]}}"#
        );
        let d = parse_discovery(body.as_bytes(), &Secrets::default()).unwrap();
        assert_eq!(ids(&d.models), ["a.good", ok.as_str()]);
        assert_eq!(d.diagnostics.len(), 3, "{:?}", d.diagnostics);
        for line in &d.diagnostics {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
        assert!(
            d.diagnostics[0].contains(r#""evil\nclaude-phantom""#),
            "{:?}",
            d.diagnostics
        );
        assert!(d.diagnostics[0].contains("control characters"));
        assert!(d.diagnostics[2].contains("longer than 256 bytes"));
    }

    #[test]
    fn routes_are_inferred_from_ids() {
        // Through the route table, after the id is normalized. (`claude3` used to count as a
        // Claude id; it is no form of a catalog id, so it now takes the default.)
        for (id, want) in [
            ("claude-opus-4.7", Some(Api::AnthropicMessages)),
            (
                "us.anthropic.claude-sonnet-4-6",
                Some(Api::AnthropicMessages),
            ),
            (
                "anthropic.claude-mythos-preview",
                Some(Api::AnthropicMessages),
            ),
            ("anthropic.anything", Some(Api::AnthropicMessages)),
            ("Anthropic.Claude-X", Some(Api::AnthropicMessages)),
            ("openai.gpt-oss-120b", Some(Api::OpenaiCompletions)),
            ("openai.gpt-5.5", Some(Api::OpenaiResponses)),
            ("google.gemma-4-31b", Some(Api::OpenaiCompletions)),
            ("claude3", None),
            ("my-claude-clone", None),
            ("newvendor.model", None),
        ] {
            assert_eq!(infer_api(id), want, "{id}");
        }
    }

    #[test]
    fn a_discovered_alias_of_a_built_in_is_described_as_it() {
        let discovered = parse_models(
            br#"{"data":[{"id":"claude-opus-4.7","created":5},{"id":"x.y"}]}"#,
            &Secrets::default(),
        )
        .unwrap();
        let merged = merge(&discovered, &ProviderConfig::default());
        let alias = merged.iter().find(|m| m.id == "claude-opus-4.7").unwrap();
        assert_eq!(alias.api, Api::AnthropicMessages);
        assert!(alias.reasoning);
        assert_eq!(alias.context_window, 1_000_000);
        assert_eq!(alias.created, Some(5));
        assert_eq!(alias.source, ModelSource::Discovered);
        assert!(merged.iter().any(|m| m.id == CLAUDE_OPUS_ID));
        assert_eq!(
            describe("claude-opus-4.7", &discovered, &ProviderConfig::default()).as_ref(),
            Some(alias)
        );
    }

    #[test]
    fn configured_aliases_describe_the_catalog_id() {
        let config = config::parse(
            r#"{ models: { providers: { "amazon-bedrock-mantle": { models: [
                { id: "claude-opus-4.7", api: "anthropic-messages", maxTokens: 64000 },
                { id: "us.deepseek.v3.2", contextWindow: 128000 },
            ] } } } }"#,
        )
        .unwrap();
        // Without discovery: listed under the catalog id.
        assert_eq!(
            ids(&merge(&[], &config)),
            ["anthropic.claude-opus-4-7", "deepseek.v3.2"]
        );
        // With it: applied to the catalog id Mantle lists, no row of their own.
        let discovered = vec![
            model(CLAUDE_OPUS_ID, ModelSource::Discovered),
            model("deepseek.v3.2", ModelSource::Discovered),
        ];
        let merged = merge(&discovered, &config);
        assert_eq!(ids(&merged), [CLAUDE_OPUS_ID, "deepseek.v3.2"]);
        assert_eq!(merged[0].max_tokens, 64_000);
        assert_eq!(merged[1].context_window, 128_000);
        for m in &merged {
            assert_eq!(describe(&m.id, &discovered, &config).as_ref(), Some(m));
        }
    }

    #[test]
    fn built_in_replaces_a_discovered_row_with_the_same_id() {
        let discovered = vec![model(CLAUDE_OPUS_ID, ModelSource::Discovered)];
        let merged = merge(&discovered, &ProviderConfig::default());
        assert_eq!(merged, built_in_models());
    }

    #[test]
    fn configured_entries_override_field_by_field() {
        let config = config::parse(
            r#"{ models: { providers: { "amazon-bedrock-mantle": { models: [
                { id: "deepseek.v3.2", name: "DeepSeek V3.2", contextWindow: 128000 },
            ] } } } }"#,
        )
        .unwrap();
        let discovered = vec![model("deepseek.v3.2", ModelSource::Discovered)];
        let merged = merge(&discovered, &config);
        let m = merged.iter().find(|m| m.id == "deepseek.v3.2").unwrap();
        assert_eq!(m.name, "DeepSeek V3.2");
        assert_eq!(m.context_window, 128_000);
        assert_eq!(m.max_tokens, 4_096, "not configured: kept");
        assert_eq!(m.api, Api::OpenaiCompletions, "not configured: kept");
        assert!(!m.reasoning, "not configured: kept");
        assert_eq!(m.source, ModelSource::Configured);
    }

    #[test]
    fn configured_entry_overrides_a_built_in() {
        let config = config::parse(
            r#"{ models: { providers: { "amazon-bedrock-mantle": { models: [
                { id: "claude-opus-4.7", maxTokens: 64000, cost: { input: 15, output: 75 } },
            ] } } } }"#,
        )
        .unwrap();
        let discovered = vec![model(CLAUDE_OPUS_ID, ModelSource::Discovered)];
        let merged = merge(&discovered, &config);
        let [opus] = merged.try_into().unwrap();
        assert_eq!(opus.max_tokens, 64_000);
        let cost = opus.cost.unwrap();
        assert_eq!(cost.input, 15.0, "a configured price wins over the table");
        assert_eq!(cost.output, 75.0);
        assert_eq!(
            cost.cache_read, 15.0,
            "an unset cache price is the input price"
        );
        assert_eq!(opus.name, "Claude Opus 4.7", "built-in field kept");
        assert_eq!(opus.context_window, 1_000_000, "built-in field kept");
        assert_eq!(opus.api, Api::AnthropicMessages, "built-in field kept");
        assert_eq!(opus.source, ModelSource::Configured);
    }

    #[test]
    fn configured_only_ids_appear_with_the_provider_default_api() {
        let config = config::parse(
            r#"{ models: { providers: { "amazon-bedrock-mantle": {
                api: "anthropic-messages",
                models: [ { id: "zeta.custom" }, { id: "alpha.custom", api: "openai-completions" } ],
            } } } }"#,
        )
        .unwrap();
        let merged = merge(&[model("mid.m", ModelSource::Discovered)], &config);
        assert_eq!(
            ids(&merged),
            [
                "alpha.custom",
                "anthropic.claude-opus-4-7",
                "mid.m",
                "zeta.custom"
            ]
        );
        let api_of = |id: &str| merged.iter().find(|m| m.id == id).unwrap().api;
        assert_eq!(api_of("zeta.custom"), Api::AnthropicMessages);
        assert_eq!(api_of("alpha.custom"), Api::OpenaiCompletions);
        assert_eq!(
            api_of("mid.m"),
            Api::OpenaiCompletions,
            "discovered: unchanged"
        );
        let zeta = merged.iter().find(|m| m.id == "zeta.custom").unwrap();
        assert_eq!(zeta.source, ModelSource::Configured);
        assert_eq!(zeta.name, "zeta.custom");
    }

    #[test]
    fn merge_output_is_sorted_without_duplicates() {
        let discovered = vec![
            model("b", ModelSource::Discovered),
            model("a", ModelSource::Discovered),
            model("b", ModelSource::Discovered),
        ];
        let config = ProviderConfig {
            models: vec![
                ModelOverride {
                    id: "c".into(),
                    ..ModelOverride::default()
                },
                ModelOverride {
                    id: "a".into(),
                    name: Some("A".into()),
                    ..ModelOverride::default()
                },
            ],
            ..ProviderConfig::default()
        };
        let merged = merge(&discovered, &config);
        assert_eq!(ids(&merged), ["a", "anthropic.claude-opus-4-7", "b", "c"]);
        assert_eq!(merged[0].name, "A");
    }

    // ---- route_for ----------------------------------------------------------------------

    #[test]
    fn route_is_the_listed_api_first() {
        let mut listed = model("claude-custom", ModelSource::Configured);
        listed.api = Api::OpenaiCompletions;
        let models = vec![listed, built_in_models().remove(0)];
        assert_eq!(
            route_for("claude-custom", &models, Api::AnthropicMessages),
            Api::OpenaiCompletions
        );
        assert_eq!(
            route_for(CLAUDE_OPUS_ID, &models, Api::OpenaiCompletions),
            Api::AnthropicMessages
        );
    }

    #[test]
    fn unlisted_claude_ids_go_to_the_anthropic_route() {
        for id in [
            "claude-sonnet-4.5",
            "anthropic.claude-3-haiku",
            "us.anthropic.claude-x",
        ] {
            assert_eq!(
                route_for(id, &[], Api::OpenaiCompletions),
                Api::AnthropicMessages,
                "{id}"
            );
        }
    }

    #[test]
    fn other_unlisted_ids_take_the_default_api() {
        assert_eq!(
            route_for("newvendor.model", &[], Api::OpenaiCompletions),
            Api::OpenaiCompletions
        );
        assert_eq!(
            route_for("newvendor.model", &[], Api::AnthropicMessages),
            Api::AnthropicMessages
        );
        // A family the route table knows keeps its API whatever the default.
        assert_eq!(
            route_for("deepseek.v3.2", &[], Api::AnthropicMessages),
            Api::OpenaiCompletions
        );
        // Not a Claude id: `claude` elsewhere in the id does not count.
        assert_eq!(
            route_for("my-claude-clone", &[], Api::OpenaiCompletions),
            Api::OpenaiCompletions
        );
    }
}
