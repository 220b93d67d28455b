//! Discovery, listing and configuration through the component, against the emulator.

use std::time::Duration;

use mantle_host::emulator::{Emulator, EmulatorConfig, Fault, config_text};
use mantle_host::runtime::{Clock, Guest, GuestOptions, empty_settings, types};
use mantle_host::token_check;
use wasmtime::component::ResourceAny;

use crate::common::{KEY, SECRET, creds, guest, refused_base_url};

const OTHER_KEY: &str = "AKIAOTHERTENANT00001";
const OTHER_SECRET: &str = "otherTenantSecret/+=0123456789abcdefghij";

async fn emulator(region: &str) -> Emulator {
    Emulator::start(EmulatorConfig {
        region: region.into(),
        static_keys: vec![
            "static-settings-key".into(),
            "static-env-key".into(),
            "static-config-key".into(),
        ],
        credentials: vec![
            (KEY.into(), SECRET.into()),
            (OTHER_KEY.into(), OTHER_SECRET.into()),
        ],
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

fn config_for(emu: &Emulator, extra: &str) -> String {
    config_text(&emu.base_url(), extra)
}

fn settings(config: String) -> types::Settings {
    types::Settings {
        config: Some(config),
        ..empty_settings()
    }
}

fn env_opts(pairs: &[(&str, &str)]) -> GuestOptions {
    let mut o = GuestOptions::default();
    for (k, v) in pairs {
        o = o.with_env(k, v);
    }
    o
}

async fn client(g: &mut Guest, s: &types::Settings) -> ResourceAny {
    g.client(s).await.unwrap()
}

fn ids(models: &[types::Model]) -> Vec<&str> {
    models.iter().map(|m| m.id.as_str()).collect()
}

fn find<'a>(models: &'a [types::Model], id: &str) -> &'a types::Model {
    models
        .iter()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("{id} not in {:?}", ids(models)))
}

/// The bearer token the emulator saw on its last request.
fn last_bearer(emu: &Emulator) -> String {
    let seen = emu.requests();
    let last = seen.last().expect("a request reached the emulator");
    last.header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .expect("a bearer token")
        .to_owned()
}

#[tokio::test]
async fn discovery_parses_real_ids_with_defaults_and_inferred_reasoning() {
    let emu = emulator("us-east-1").await;
    let mut g = guest(env_opts(&[(
        "AWS_BEARER_TOKEN_BEDROCK",
        " static-env-key \n",
    )]))
    .await;
    // Real catalog ids, as Mantle lists them.
    emu.set_models(&[
        "qwen.qwen3-coder-480b-a35b-instruct",
        "anthropic.claude-opus-4-7",
        "openai.gpt-oss-20b",
        "openai.gpt-oss-120b",
        "deepseek.v3.2",
        "openai.gpt-5.4",
        "moonshotai.kimi-k2-thinking",
    ]);
    let c = client(&mut g, &settings(config_for(&emu, ""))).await;
    let models = g.discover(c).await.unwrap().unwrap();
    assert_eq!(
        ids(&models),
        [
            "anthropic.claude-opus-4-7",
            "deepseek.v3.2",
            "moonshotai.kimi-k2-thinking",
            "openai.gpt-5.4",
            "openai.gpt-oss-120b",
            "openai.gpt-oss-20b",
            "qwen.qwen3-coder-480b-a35b-instruct"
        ]
    );
    assert_eq!(
        find(&models, "openai.gpt-5.4").api,
        types::Api::OpenaiResponses,
        "GPT-5.x is served only on the Responses route"
    );
    let kimi = find(&models, "moonshotai.kimi-k2-thinking");
    assert!(kimi.reasoning);
    assert_eq!(kimi.name, kimi.id);
    assert_eq!((kimi.context_window, kimi.max_tokens), (32_000, 4_096));
    assert_eq!(kimi.api, types::Api::OpenaiCompletions);
    assert_eq!(kimi.input, [types::Modality::Text]);
    let kimi_cost = kimi
        .cost
        .expect("a discovered model has the built-in table's price");
    assert_eq!((kimi_cost.input, kimi_cost.output), (0.60, 2.50));
    assert!(!find(&models, "deepseek.v3.2").reasoning);
    assert!(find(&models, "openai.gpt-oss-120b").reasoning);
    assert!(!find(&models, "openai.gpt-oss-20b").reasoning);
    assert!(!find(&models, "qwen.qwen3-coder-480b-a35b-instruct").reasoning);
    assert_eq!(
        find(&models, "anthropic.claude-opus-4-7").api,
        types::Api::AnthropicMessages,
        "the route table puts Claude on the Anthropic route"
    );

    let req = &emu.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(req.header("authorization"), Some("Bearer static-env-key"));
    assert_eq!(req.header("accept"), Some("application/json"));
}

#[tokio::test]
async fn discovery_drops_empty_ids_and_sorts() {
    let emu = emulator("us-east-1").await;
    emu.set_models_body(Some(
        r#"{"object":"list","data":[{"id":"zeta.model","object":"model"},{"id":"","object":"model"},{"id":"alpha.reasoner-1","object":"model","created":1,"owned_by":"x","extra":true}]}"#.into(),
    ));
    let mut g = guest(env_opts(&[("AWS_BEARER_TOKEN_BEDROCK", "static-env-key")])).await;
    let c = client(&mut g, &settings(config_for(&emu, ""))).await;
    let models = g.discover(c).await.unwrap().unwrap();
    assert_eq!(ids(&models), ["alpha.reasoner-1", "zeta.model"]);
    assert!(models[0].reasoning);
}

#[tokio::test]
async fn region_comes_from_settings_then_aws_region_then_aws_default_region() {
    let emu = emulator("eu-west-1").await;
    // The region the token is minted for, or `None` when the emulator accepts it.
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
    );
    let cases: [Case; 5] = [
        (
            "settings win",
            Some("eu-west-1"),
            &[("AWS_REGION", "us-west-2")],
            None,
        ),
        (
            "AWS_REGION before AWS_DEFAULT_REGION",
            None,
            &[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_DEFAULT_REGION", "us-west-2"),
            ],
            None,
        ),
        (
            "AWS_DEFAULT_REGION",
            None,
            &[("AWS_DEFAULT_REGION", "eu-west-1")],
            None,
        ),
        (
            "a token of another region is refused",
            None,
            &[("AWS_REGION", "us-west-2")],
            Some("us-west-2"),
        ),
        ("us-east-1 by default", None, &[], Some("us-east-1")),
    ];
    for (what, region, env, refused) in cases {
        let mut env = env.to_vec();
        env.extend([
            ("AWS_ACCESS_KEY_ID", KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ]);
        let mut g = guest(env_opts(&env)).await;
        let s = types::Settings {
            region: region.map(Into::into),
            ..settings(config_for(&emu, ""))
        };
        let c = client(&mut g, &s).await;
        let r = g.discover(c).await.unwrap();
        let minted_for = token_check::decode(&last_bearer(&emu)).unwrap().region;
        match refused {
            None => {
                assert!(r.is_ok(), "{what}: {r:?}");
                assert_eq!(minted_for, "eu-west-1", "{what}");
            }
            Some(region) => {
                // Mantle refuses another region's token as it refuses a forged one: a 401,
                // which the provider keeps, adding which region the token was minted for.
                let Err(types::Error::Unauthorized(m)) = r else {
                    panic!("{what}: {r:?}")
                };
                assert_eq!(minted_for, region, "{what}");
                assert!(
                    m.contains("The security token included in the request is invalid."),
                    "{what}: Mantle's words missing in {m}"
                );
                assert!(
                    m.contains(&format!("minted for region {region}")),
                    "{what}: hint missing in {m}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_region_beyond_the_documented_ones_proceeds_with_a_diagnostic() {
    for (region, env) in [
        (Some("ap-southeast-2"), vec![]),
        (None, vec![("AWS_REGION", "ap-southeast-2")]),
    ] {
        let mut env = env;
        env.push(("AWS_BEARER_TOKEN_BEDROCK", "static-env-key"));
        let mut g = guest(env_opts(&env)).await;
        let c = client(
            &mut g,
            &types::Settings {
                region: region.map(Into::into),
                // Nothing listens here: the listing goes on without discovery.
                config: Some(config_text(&refused_base_url(), "")),
                ..empty_settings()
            },
        )
        .await;
        let listing = g.list(c).await.unwrap().unwrap();
        let note = listing
            .diagnostics
            .iter()
            .find(|d| d.contains("ap-southeast-2"))
            .unwrap_or_else(|| panic!("{:?}", listing.diagnostics));
        for supported in mantle_provider::region::SUPPORTED_REGIONS {
            assert!(note.contains(supported), "{note} lacks {supported}");
        }
    }
}

#[tokio::test]
async fn a_malformed_region_is_a_configuration_error_naming_the_supported_ones() {
    for (region, env) in [
        (Some("mars north"), vec![]),
        (None, vec![("AWS_REGION", "MARS-NORTH-1")]),
    ] {
        let mut g = guest(env_opts(&env)).await;
        let c = client(
            &mut g,
            &types::Settings {
                region: region.map(Into::into),
                ..empty_settings()
            },
        )
        .await;
        for r in [
            g.discover(c).await.unwrap().map(|_| ()),
            g.list(c).await.unwrap().map(|_| ()),
        ] {
            let Err(types::Error::Configuration(m)) = r else {
                panic!("{r:?}")
            };
            assert!(m.to_lowercase().contains("mars"), "{m}");
            for supported in mantle_provider::region::SUPPORTED_REGIONS {
                assert!(m.contains(supported), "{m} lacks {supported}");
            }
        }
    }
}

#[tokio::test]
async fn bearer_tokens_are_chosen_in_order_and_credentials_are_never_sent_as_one() {
    let emu = emulator("us-east-1").await;
    let full_env = [
        ("AWS_BEARER_TOKEN_BEDROCK", "static-env-key"),
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ];
    // Explicit setting first.
    let mut g = guest(env_opts(&full_env)).await;
    let s = types::Settings {
        bearer_token: Some("static-settings-key".into()),
        ..settings(config_for(&emu, ""))
    };
    let c = client(&mut g, &s).await;
    g.discover(c).await.unwrap().unwrap();
    assert_eq!(last_bearer(&emu), "static-settings-key");
    // A literal key in the configuration next.
    let c = client(
        &mut g,
        &settings(config_for(&emu, "apiKey: \"static-config-key\"")),
    )
    .await;
    g.discover(c).await.unwrap().unwrap();
    assert_eq!(last_bearer(&emu), "static-config-key");
    // Then AWS_BEARER_TOKEN_BEDROCK (also through "env:NAME").
    for extra in ["", "apiKey: \"env:AWS_BEARER_TOKEN_BEDROCK\""] {
        let c = client(&mut g, &settings(config_for(&emu, extra))).await;
        g.discover(c).await.unwrap().unwrap();
        assert_eq!(last_bearer(&emu), "static-env-key");
    }
    // Then a token minted from credentials.
    let mut g = guest(env_opts(&full_env[1..])).await;
    let c = client(&mut g, &settings(config_for(&emu, ""))).await;
    g.discover(c).await.unwrap().unwrap();
    let d = token_check::decode(&last_bearer(&emu)).unwrap();
    assert_eq!(d.access_key_id, KEY);
    // Settings credentials before environment credentials.
    let s = types::Settings {
        credentials: Some(creds(OTHER_KEY, OTHER_SECRET, None)),
        ..settings(config_for(&emu, ""))
    };
    let c = client(&mut g, &s).await;
    g.discover(c).await.unwrap().unwrap();
    assert_eq!(
        token_check::decode(&last_bearer(&emu))
            .unwrap()
            .access_key_id,
        OTHER_KEY
    );

    // An access key id or a secret given as the bearer token is refused before sending.
    let before = emu.requests().len();
    for (bearer, env) in [
        (KEY, vec![]),
        (
            SECRET,
            vec![
                ("AWS_ACCESS_KEY_ID", KEY),
                ("AWS_SECRET_ACCESS_KEY", SECRET),
            ],
        ),
    ] {
        let mut g = guest(env_opts(&env)).await;
        let s = types::Settings {
            bearer_token: Some(bearer.into()),
            ..settings(config_for(&emu, ""))
        };
        let c = client(&mut g, &s).await;
        let r = g.discover(c).await.unwrap();
        let Err(types::Error::Configuration(m)) = r else {
            panic!("{r:?}")
        };
        assert!(!m.contains(SECRET) && !m.contains(KEY), "{m}");
    }
    assert_eq!(
        emu.requests().len(),
        before,
        "a credential reached the upstream"
    );
}

#[tokio::test]
async fn no_credentials_is_a_typed_error_that_says_what_fixes_it() {
    let emu = emulator("us-east-1").await;
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, &settings(config_for(&emu, ""))).await;
    let r = g.discover(c).await.unwrap();
    let Err(types::Error::MissingCredentials(m)) = r else {
        panic!("{r:?}")
    };
    for hint in [
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        assert!(m.contains(hint), "{m}");
    }
    // Listing skips the provider: nothing listed, the reason in a diagnostic.
    let c = client(
        &mut g,
        &settings(config_for(&emu, "models: [{ id: \"my.model\" }]")),
    )
    .await;
    let listing = g.list(c).await.unwrap().unwrap();
    assert!(
        ids(&listing.models).is_empty(),
        "{:?}",
        ids(&listing.models)
    );
    assert!(
        listing
            .diagnostics
            .iter()
            .any(|d| d.contains("AWS_ACCESS_KEY_ID")),
        "{:?}",
        listing.diagnostics
    );
    let mut g = guest(env_opts(&[("AWS_ACCESS_KEY_ID", KEY)])).await;
    let c = client(&mut g, &settings(config_for(&emu, ""))).await;
    let r = g.discover(c).await.unwrap();
    let Err(types::Error::MissingCredentials(m)) = r else {
        panic!("{r:?}")
    };
    assert!(m.contains("AWS_SECRET_ACCESS_KEY"), "{m}");
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn json5_errors_carry_line_and_column_and_unknown_apis_name_the_valid_ones() {
    let mut g = guest(env_opts(&[("AWS_BEARER_TOKEN_BEDROCK", "k")])).await;
    let bad = "{\n  models: {\n    providers: { \"amazon-bedrock-mantle\": { baseUrl: 'http://127.0.0.1:1/v1',, } }\n  }\n}";
    let c = client(&mut g, &settings(bad.into())).await;
    let r = g.list(c).await.unwrap();
    let Err(types::Error::Configuration(m)) = r else {
        panic!("{r:?}")
    };
    assert!(m.contains("line 3"), "{m}");
    assert!(m.contains("column"), "{m}");

    let c = client(&mut g, &settings("{ models: { providers: { \"amazon-bedrock-mantle\": { api: \"bedrock-converse\" } } } }".into())).await;
    let r = g.list(c).await.unwrap();
    let Err(types::Error::Configuration(m)) = r else {
        panic!("{r:?}")
    };
    assert!(
        m.contains("bedrock-converse")
            && m.contains("openai-completions")
            && m.contains("anthropic-messages"),
        "{m}"
    );

    let literal = "{ models: { providers: { \"amazon-bedrock-mantle\": { apiKey: \"sk-very-secret-1234\", models: [{ id: \"m\", api: \"nope\" }] } } } }";
    let c = client(&mut g, &settings(literal.into())).await;
    let r = g.list(c).await.unwrap();
    let Err(types::Error::Configuration(m)) = r else {
        panic!("{r:?}")
    };
    assert!(!m.contains("sk-very-secret-1234"), "{m}");
    assert!(m.contains("nope"), "{m}");
}

#[tokio::test]
async fn listing_merges_configured_models_the_claude_row_and_per_model_apis() {
    let emu = emulator("us-east-1").await;
    let mut g = guest(env_opts(&[("AWS_BEARER_TOKEN_BEDROCK", "static-env-key")])).await;
    let config = config_for(
        &emu,
        r#"unknownField: 1,
        models: [
            { id: "openai.gpt-oss-120b", name: "GPT-OSS 120B", contextWindow: 128000, cost: { input: 0.15, output: 0.6 } },
            { id: "openai.gpt-oss-20b", api: "anthropic-messages" },
            { id: "configured.only", reasoning: true, input: ["text", "image"], maxTokens: 8192, futureField: "x" },
        ]"#,
    );
    // Mantle's catalog ids, Claude's among them (which the built-in row describes).
    emu.set_models(&[
        "deepseek.v3.2",
        "openai.gpt-oss-120b",
        "openai.gpt-oss-20b",
        "anthropic.claude-opus-4-7",
    ]);
    let c = client(&mut g, &settings(config)).await;
    let listing = g.list(c).await.unwrap().unwrap();
    assert!(listing.diagnostics.is_empty(), "{:?}", listing.diagnostics);
    let m = &listing.models;
    assert_eq!(
        ids(m),
        [
            "anthropic.claude-opus-4-7",
            "configured.only",
            "deepseek.v3.2",
            "openai.gpt-oss-120b",
            "openai.gpt-oss-20b"
        ]
    );
    assert!(
        ids(m).windows(2).all(|w| w[0] < w[1]),
        "not sorted: {:?}",
        ids(m)
    );

    let gpt = find(m, "openai.gpt-oss-120b");
    assert_eq!(
        (gpt.name.as_str(), gpt.context_window, gpt.max_tokens),
        ("GPT-OSS 120B", 128_000, 4_096)
    );
    assert_eq!(
        gpt.cost.map(|c| (c.input, c.output, c.cache_read)),
        Some((0.15, 0.6, 0.15))
    );
    assert!(gpt.reasoning);
    assert_eq!(gpt.source, types::ModelSource::Configured);

    assert_eq!(
        find(m, "openai.gpt-oss-20b").api,
        types::Api::AnthropicMessages
    );

    let only = find(m, "configured.only");
    assert_eq!(only.source, types::ModelSource::Configured);
    assert_eq!(only.input, [types::Modality::Text, types::Modality::Image]);
    assert_eq!((only.max_tokens, only.reasoning), (8_192, true));

    let claude = find(m, "anthropic.claude-opus-4-7");
    assert_eq!(claude.api, types::Api::AnthropicMessages);
    assert_eq!(
        (claude.context_window, claude.max_tokens, claude.reasoning),
        (1_000_000, 32_000, true)
    );
    assert_eq!(
        claude.input,
        [types::Modality::Text, types::Modality::Image]
    );
    assert_eq!(claude.source, types::ModelSource::BuiltIn);
    assert_eq!(
        find(m, "deepseek.v3.2").source,
        types::ModelSource::Discovered
    );
    // Each discovered model keeps the `created` Mantle listed it with; the configured-only
    // one has none.
    let (status, _, body) = mantle_host::emulator::http_request(
        emu.addr(),
        "GET",
        "/v1/models",
        &[("authorization", "Bearer static-env-key")],
        bytes::Bytes::new(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let listed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    for entry in listed["data"].as_array().unwrap() {
        let id = entry["id"].as_str().unwrap();
        assert_eq!(find(m, id).created, entry["created"].as_u64(), "{id}");
    }
    assert_eq!(only.created, None);
}

#[tokio::test]
async fn discovery_can_be_switched_off() {
    let emu = emulator("us-east-1").await;
    let mut g = guest(env_opts(&[("AWS_BEARER_TOKEN_BEDROCK", "static-env-key")])).await;
    let c = client(
        &mut g,
        &settings(config_for(
            &emu,
            "discovery: false, models: [{ id: \"a.b\" }]",
        )),
    )
    .await;
    let listing = g.list(c).await.unwrap().unwrap();
    assert_eq!(
        ids(&listing.models),
        ["a.b"],
        "no built-in row without a successful discovery"
    );
    assert!(listing.diagnostics.is_empty());
    assert_eq!(emu.requests().len(), 0);
}

#[tokio::test]
async fn the_model_list_is_cached_for_an_hour() {
    let emu = emulator("us-east-1").await;
    let clock = Clock::default();
    emu.set_clock(clock.clone());
    let mut opts = env_opts(&[
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ]);
    opts.clock = Some(clock.clone());
    let mut g = guest(opts).await;
    let c = client(&mut g, &settings(config_for(&emu, ""))).await;
    let first = g.list(c).await.unwrap().unwrap();
    assert_eq!(emu.count("/v1/models"), 1);
    emu.set_models(&["new.model"]);
    clock.advance(3_599);
    let second = g.list(c).await.unwrap().unwrap();
    assert_eq!(
        emu.count("/v1/models"),
        1,
        "the second call within the hour went upstream"
    );
    assert_eq!(ids(&first.models), ids(&second.models));
    clock.advance(2);
    let third = g.list(c).await.unwrap().unwrap();
    assert_eq!(emu.count("/v1/models"), 2);
    assert_eq!(
        ids(&third.models),
        ["anthropic.claude-opus-4-7", "new.model"]
    );
}

#[tokio::test]
async fn listing_skips_discovery_silently_when_the_upstream_fails() {
    let emu = emulator("us-east-1").await;
    let config = config_for(&emu, "models: [{ id: \"configured.model\" }]");
    let faults = [
        (
            "500",
            Fault::openai(500, "internal_error", "api_error", "Internal server error"),
            "upstream-unavailable",
        ),
        (
            "503",
            Fault::openai(503, "unavailable", "api_error", "Service unavailable"),
            "upstream-unavailable",
        ),
        (
            "429",
            Fault {
                headers: vec![("retry-after".into(), "12".into())],
                ..Fault::openai(429, "rate_limit", "rate_limit_error", "Too many requests")
            },
            "rate-limited",
        ),
        (
            "junk body",
            Fault {
                status: 200,
                body: "<html>oops</html>".into(),
                headers: vec![],
                times: None,
            },
            "protocol",
        ),
    ];
    for (what, fault, kind) in faults {
        emu.inject(fault);
        let mut g = guest(env_opts(&[("AWS_BEARER_TOKEN_BEDROCK", "static-env-key")])).await;
        let c = client(&mut g, &settings(config.clone())).await;
        let listing = g.list(c).await.unwrap().unwrap();
        assert_eq!(ids(&listing.models), ["configured.model"], "{what}");
        assert_eq!(
            listing.diagnostics.len(),
            1,
            "{what}: {:?}",
            listing.diagnostics
        );
        let c = client(&mut g, &settings(config.clone())).await;
        let e = g.discover(c).await.unwrap().unwrap_err();
        assert_eq!(error_kind(&e), kind, "{what}: {e:?}");
        if let types::Error::RateLimited(r) = &e {
            assert_eq!(r.retry_after, Some(12));
        }
    }
    emu.clear_fault();

    // A key Mantle does not know: its own 401.
    let mut g = guest(env_opts(&[(
        "AWS_BEARER_TOKEN_BEDROCK",
        "a-key-mantle-does-not-know",
    )]))
    .await;
    let c = client(&mut g, &settings(config.clone())).await;
    let listing = g.list(c).await.unwrap().unwrap();
    assert_eq!(ids(&listing.models), ["configured.model"]);
    assert_eq!(listing.diagnostics.len(), 1, "{:?}", listing.diagnostics);
    let c = client(&mut g, &settings(config.clone())).await;
    let e = g.discover(c).await.unwrap().unwrap_err();
    assert_eq!(error_kind(&e), "unauthorized", "{e:?}");

    // Connection refused.
    let dead = config_text(&refused_base_url(), "");
    let mut g = guest(env_opts(&[("AWS_BEARER_TOKEN_BEDROCK", "static-env-key")])).await;
    let c = client(&mut g, &settings(dead.clone())).await;
    let listing = g.list(c).await.unwrap().unwrap();
    assert!(ids(&listing.models).is_empty());
    assert!(
        listing.diagnostics[0].contains("refused"),
        "{:?}",
        listing.diagnostics
    );
    let c = client(&mut g, &settings(dead)).await;
    let e = g.discover(c).await.unwrap().unwrap_err();
    assert!(
        matches!(
            e,
            types::Error::UpstreamUnavailable(types::UpstreamFailure { status: None, .. })
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_slow_upstream_times_out_and_listing_goes_on() {
    let emu = emulator("us-east-1").await;
    emu.set_latency(Duration::from_secs(3));
    let mut g = guest(env_opts(&[("AWS_BEARER_TOKEN_BEDROCK", "static-env-key")])).await;
    let c = client(
        &mut g,
        &settings(config_for(&emu, "discoveryTimeoutMs: 500")),
    )
    .await;
    let started = std::time::Instant::now();
    let listing = g.list(c).await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the time-out did not cut the wait"
    );
    assert!(ids(&listing.models).is_empty());
    assert!(
        listing.diagnostics[0].contains("timeout"),
        "{:?}",
        listing.diagnostics
    );
    let c = client(
        &mut g,
        &settings(config_for(&emu, "discoveryTimeoutMs: 500")),
    )
    .await;
    assert!(matches!(
        g.discover(c).await.unwrap(),
        Err(types::Error::Timeout(_))
    ));
}

#[tokio::test]
async fn oversized_discovery_bodies_are_refused() {
    let emu = emulator("us-east-1").await;
    emu.set_models_body(Some(format!(
        "{{\"object\":\"list\",\"data\":[],\"pad\":\"{}\"}}",
        "x".repeat(5 << 20)
    )));
    let mut g = guest(env_opts(&[("AWS_BEARER_TOKEN_BEDROCK", "static-env-key")])).await;
    let c = client(&mut g, &settings(config_for(&emu, ""))).await;
    let e = g.discover(c).await.unwrap().unwrap_err();
    let types::Error::Protocol(m) = e else {
        panic!("{e:?}")
    };
    assert!(m.contains("4194304"), "{m}");
}

#[tokio::test]
async fn tenants_never_share_a_cache_entry() {
    let emu = emulator("us-east-1").await;
    let mut g = guest(GuestOptions::default()).await;
    let a = client(
        &mut g,
        &types::Settings {
            credentials: Some(creds(KEY, SECRET, None)),
            ..settings(config_for(&emu, ""))
        },
    )
    .await;
    let b = client(
        &mut g,
        &types::Settings {
            credentials: Some(creds(OTHER_KEY, OTHER_SECRET, None)),
            ..settings(config_for(&emu, ""))
        },
    )
    .await;
    let intruder = client(
        &mut g,
        &types::Settings {
            credentials: Some(creds(OTHER_KEY, "wrong-secret", None)),
            ..settings(config_for(&emu, ""))
        },
    )
    .await;
    assert!(g.list(a).await.unwrap().unwrap().diagnostics.is_empty());
    assert_eq!(emu.count("/v1/models"), 1);
    assert!(g.list(b).await.unwrap().unwrap().diagnostics.is_empty());
    assert_eq!(
        emu.count("/v1/models"),
        2,
        "tenant b was served tenant a's cache"
    );
    let listing = g.list(intruder).await.unwrap().unwrap();
    assert_eq!(emu.count("/v1/models"), 3);
    assert!(
        ids(&listing.models).is_empty(),
        "a refused tenant saw another's models: {:?}",
        ids(&listing.models)
    );
    let keys: Vec<String> = emu
        .requests()
        .iter()
        .map(|r| {
            token_check::decode(
                r.header("authorization")
                    .unwrap()
                    .trim_start_matches("Bearer "),
            )
            .unwrap()
            .access_key_id
        })
        .collect();
    assert_eq!(keys, [KEY, OTHER_KEY, OTHER_KEY]);
}

#[tokio::test]
async fn minted_tokens_are_reused_then_reminted_in_time() {
    let emu = emulator("us-east-1").await;
    let clock = Clock::default();
    emu.set_clock(clock.clone());
    let opts = GuestOptions {
        clock: Some(clock.clone()),
        ..GuestOptions::default()
    };
    let mut g = guest(opts).await;
    let c = client(
        &mut g,
        &types::Settings {
            credentials: Some(creds(KEY, SECRET, None)),
            ..settings(config_for(&emu, ""))
        },
    )
    .await;
    g.discover(c).await.unwrap().unwrap();
    let first = token_check::decode(&last_bearer(&emu)).unwrap();
    assert_eq!(first.expires_in, 43_200);
    clock.advance(3_500);
    g.discover(c).await.unwrap().unwrap();
    assert_eq!(
        token_check::decode(&last_bearer(&emu)).unwrap(),
        first,
        "re-minted too early"
    );
    clock.advance(101);
    g.discover(c).await.unwrap().unwrap();
    let second = token_check::decode(&last_bearer(&emu)).unwrap();
    assert!(
        second.issued_at >= first.issued_at + 3_600,
        "not re-minted after an hour"
    );

    // Credentials that expire: re-minted 300 s before, never used past the expiration.
    let t0 = clock.now().as_secs();
    let mut expiring = creds(KEY, SECRET, Some("session/token+="));
    expiring.expiration = Some(t0 + 1_000);
    let c = client(
        &mut g,
        &types::Settings {
            credentials: Some(expiring),
            ..settings(config_for(&emu, ""))
        },
    )
    .await;
    g.discover(c).await.unwrap().unwrap();
    let a = token_check::decode(&last_bearer(&emu)).unwrap();
    clock.advance(650);
    g.discover(c).await.unwrap().unwrap();
    assert_eq!(token_check::decode(&last_bearer(&emu)).unwrap(), a);
    clock.advance(100); // 250 s before the credentials expire
    g.discover(c).await.unwrap().unwrap();
    assert_ne!(
        token_check::decode(&last_bearer(&emu)).unwrap(),
        a,
        "not re-minted 300 s before expiry"
    );
    let before = emu.requests().len();
    clock.advance(300); // past the expiration
    let r = g.discover(c).await.unwrap();
    assert!(
        matches!(r, Err(types::Error::MissingCredentials(_))),
        "{r:?}"
    );
    assert_eq!(emu.requests().len(), before, "an expired token was sent");
}

fn error_kind(e: &types::Error) -> &'static str {
    use types::Error as E;
    match e {
        E::Unauthorized(_) => "unauthorized",
        E::Forbidden(_) => "forbidden",
        E::RateLimited(_) => "rate-limited",
        E::UpstreamUnavailable(_) => "upstream-unavailable",
        E::Protocol(_) => "protocol",
        E::Timeout(_) => "timeout",
        E::Configuration(_) => "configuration",
        _ => "other",
    }
}

#[tokio::test]
async fn hostile_ids_are_left_out_with_a_diagnostic() {
    let emu = emulator("us-east-1").await;
    let long = "x".repeat(257);
    emu.set_models_body(Some(format!(
        r#"{{"object":"list","data":[{{"id":"good.model"}},{{"id":"evil.model\nclaude-phantom"}},{{"id":"red\u001b[31m.model"}},{{"id":"{long}"}}]}}"#
    )));
    let mut g = guest(env_opts(&[("AWS_BEARER_TOKEN_BEDROCK", "static-env-key")])).await;
    let c = client(&mut g, &settings(config_for(&emu, ""))).await;
    let listing = g.list(c).await.unwrap().unwrap();
    assert_eq!(
        ids(&listing.models),
        ["anthropic.claude-opus-4-7", "good.model"]
    );
    let refused: Vec<&String> = listing
        .diagnostics
        .iter()
        .filter(|d| d.contains("left out"))
        .collect();
    assert_eq!(refused.len(), 3, "{:?}", listing.diagnostics);
    assert!(
        refused.iter().all(|d| !d.chars().any(char::is_control)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_silent_skip_follows_the_rule() {
    // Discovery succeeds but finds no models: configured models only, and why.
    let emu = emulator("us-east-1").await;
    emu.set_models(&[]);
    let mut g = guest(env_opts(&[("AWS_BEARER_TOKEN_BEDROCK", "static-env-key")])).await;
    let c = client(
        &mut g,
        &settings(config_for(&emu, "models: [{ id: \"configured.model\" }]")),
    )
    .await;
    let listing = g.list(c).await.unwrap().unwrap();
    assert_eq!(ids(&listing.models), ["configured.model"]);
    assert!(
        listing.diagnostics.iter().any(|d| d.contains("no models")),
        "{:?}",
        listing.diagnostics
    );
    // A successful discovery with models brings the built-in row.
    emu.set_models(&["deepseek.v3.2"]);
    let c = client(&mut g, &settings(config_for(&emu, ""))).await;
    let listing = g.list(c).await.unwrap().unwrap();
    assert_eq!(
        ids(&listing.models),
        ["anthropic.claude-opus-4-7", "deepseek.v3.2"]
    );
    // No credentials at all: nothing, a diagnostic, no request.
    let before = emu.requests().len();
    let mut g = guest(GuestOptions::default()).await;
    let c = client(&mut g, &settings(config_for(&emu, ""))).await;
    let listing = g.list(c).await.unwrap().unwrap();
    assert!(listing.models.is_empty());
    assert!(
        listing.diagnostics.iter().any(|d| d.contains("skipped")),
        "{:?}",
        listing.diagnostics
    );
    assert_eq!(emu.requests().len(), before);
}
