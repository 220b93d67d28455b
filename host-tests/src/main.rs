//! `mantle-host`: a reference wasmtime gateway around the Mantle provider component.
//!
//! Every subcommand that talks to Mantle runs the component. The host resolves the upstream
//! credentials (one precedence order for every command, see [`mantle_host::credentials`]) and
//! hands the component the winner through its settings; the component reads no environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use mantle_host::build;
use mantle_host::credentials::{self, Chain, CredentialSlot};
use mantle_host::emulator::{Emulator, EmulatorConfig, config_text};
use mantle_host::models;
use mantle_host::runtime::{
    Guest, GuestOptions, Runtime, chat_request, describe_error, describe_failure, empty_settings,
    types, user_text,
};
use mantle_host::serve::{Gateway, GatewayConfig, Running, limits};
use wasmtime::component::ResourceAny;

/// A reference wasmtime gateway for the Amazon Bedrock Mantle provider component.
#[derive(Parser)]
#[command(name = "mantle-host", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mint a Mantle bearer token from the AWS credentials of the default chain (variables,
    /// AWS_PROFILE, SSO, credential_process, web identity, container, instance); prints the
    /// token alone.
    MintToken {
        /// Region the token is valid in (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1).
        #[arg(long)]
        region: Option<String>,
        /// Lifetime in seconds, 1 to 43200.
        #[arg(long, default_value_t = 43_200)]
        expires_in: u32,
        /// Signing time, RFC 3339 (default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Models of the provider (discovered, configured and built-in).
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Stream a chat completion to the terminal as it arrives (reasoning dimmed).
    Chat {
        /// Model id.
        #[arg(long)]
        model: String,
        /// Genesis JSON5 configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print one unified event per line as JSON.
        #[arg(long)]
        json: bool,
        /// System prompt.
        #[arg(long)]
        system: Option<String>,
        /// Reasoning effort: low, medium or high.
        #[arg(long)]
        reasoning: Option<String>,
        /// Output token limit.
        #[arg(long)]
        max_tokens: Option<u32>,
        /// The prompt.
        prompt: String,
    },
    /// Start the emulator, mint a token and list models through the component against it,
    /// then keep the emulator running for further commands.
    Demo {
        /// Address the emulator listens on.
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
    },
    /// Serve the OpenAI-compatible HTTP face (the Spin app's component) with a fresh instance
    /// per request, as Spin does. The gateway key comes from MANTLE_GATEWAY_KEY; upstream
    /// credentials from the configuration's apiKey, AWS_BEARER_TOKEN_BEDROCK or the AWS
    /// credential chain (refreshed while serving).
    Serve(ServeOptions),
    /// Run the local Mantle emulator until interrupted.
    Emulate {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        /// Region it serves (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1).
        #[arg(long)]
        region: Option<String>,
        /// A static bearer key it accepts (repeatable; AWS_BEARER_TOKEN_BEDROCK is accepted too).
        #[arg(long = "key")]
        keys: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// List the models; upstream trouble is logged on stderr and is not an error.
    List {
        /// Print a JSON array with the configuration's field names.
        #[arg(long)]
        json: bool,
        /// Genesis JSON5 configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mantle-host: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mantle-host: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::MintToken {
            region,
            expires_in,
            at,
        } => mint_token(region, expires_in, at).await,
        Command::Emulate {
            listen,
            region,
            keys,
        } => emulate(listen, region, keys).await,
        Command::Models {
            command: ModelsCommand::List { json, config },
        } => models_list(json, config).await,
        Command::Demo { listen } => demo(listen).await,
        Command::Serve(options) => serve(options).await,
        Command::Chat {
            model,
            config,
            json,
            system,
            reasoning,
            max_tokens,
            prompt,
        } => {
            let effort = match reasoning.as_deref() {
                None => None,
                Some("low") => Some(types::ReasoningEffort::Low),
                Some("medium") => Some(types::ReasoningEffort::Medium),
                Some("high") => Some(types::ReasoningEffort::High),
                Some(other) => bail!("--reasoning {other:?}: use low, medium or high"),
            };
            let mut messages = Vec::new();
            if let Some(system) = system {
                messages.push(types::Message::System(system));
            }
            messages.push(user_text(&prompt));
            let request = types::ChatRequest {
                max_tokens,
                reasoning_effort: effort,
                ..chat_request(&model, messages)
            };
            chat(request, config, json).await
        }
    }
}

fn env(name: &str) -> Option<String> {
    credentials::env(name)
}

fn default_region() -> String {
    env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into())
}

fn load_runtime() -> Result<Runtime> {
    Runtime::load_wasm(&build::component_wasm()?)
}

fn parse_time(text: &str) -> Result<u64> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("--at {text:?} is not an RFC 3339 time"))?;
    u64::try_from(t.unix_timestamp()).context("--at must not be before 1970")
}

async fn mint_token(
    region: Option<String>,
    expires_in: u32,
    at: Option<String>,
) -> Result<ExitCode> {
    let now = match at {
        Some(text) => parse_time(&text)?,
        None => SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
    };
    let region = region.unwrap_or_else(default_region);
    let Some(found) = Chain::load(&region).await?.resolve().await? else {
        bail!("{NO_AWS_CREDENTIALS}");
    };
    let runtime = load_runtime()?;
    let mut guest = runtime.instantiate(GuestOptions::default()).await?;
    match guest
        .mint_token(&found.to_wit(), &region, expires_in, now)
        .await?
    {
        Ok(token) => {
            println!("{}", token.token);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("mantle-host: {}", describe_error(&e));
            Ok(ExitCode::from(2))
        }
    }
}

/// What to do when the chain finds nothing.
const NO_AWS_CREDENTIALS: &str = "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (shared config and credentials files, SSO, credential_process), or run where web identity, container or instance credentials exist";

/// The component's settings for this configuration and region: the bearer token or the AWS
/// credentials that win the precedence order, resolved by the host.
async fn upstream_settings(config: Option<String>, region: &str) -> Result<types::Settings> {
    let mut settings = types::Settings {
        region: Some(region.to_owned()),
        ..empty_settings()
    };
    match credentials::static_token(config.as_deref(), env)? {
        Some((token, _)) => settings.bearer_token = Some(token),
        // A chain that fails is reported like one that finds nothing: the listing still
        // shows what the configuration knows.
        None => match Chain::load(region).await?.resolve().await {
            Ok(Some(found)) => settings.credentials = Some(found.to_wit()),
            Ok(None) => eprintln!("mantle-host: {NO_AWS_CREDENTIALS}"),
            Err(e) => eprintln!("mantle-host: {e:#}"),
        },
    }
    settings.config = config;
    Ok(settings)
}

async fn emulate(
    listen: SocketAddr,
    region: Option<String>,
    mut keys: Vec<String>,
) -> Result<ExitCode> {
    keys.extend(env("AWS_BEARER_TOKEN_BEDROCK").map(|k| k.trim().to_owned()));
    let mut config = EmulatorConfig {
        static_keys: keys,
        ..EmulatorConfig::everything_captured(&region.unwrap_or_else(default_region))?
    };
    // The access key of the AWS credential chain, so tokens that mantle-host mints from the
    // same environment (AWS_PROFILE, credential_process, ...) verify here as at Mantle.
    let mut note = None;
    match Chain::load(&config.region).await?.resolve().await {
        Ok(Some(found)) => config
            .credentials
            .push((found.access_key_id, found.secret_access_key)),
        Ok(None) => {}
        Err(e) => note = Some(format!("mantle-host: {e:#}; no access key accepted")),
    }
    let (region, n_keys, n_creds) = (
        config.region.clone(),
        config.static_keys.len(),
        config.credentials.len(),
    );
    let emulator = Emulator::start_on(listen, config).await?;
    eprintln!(
        "Mantle emulator for {region} at {} ({n_keys} static key(s), {n_creds} access key(s) accepted); Ctrl-C stops it",
        emulator.base_url()
    );
    // After the address line, which scripts read first (and may stop reading after).
    if let Some(note) = note {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{note}");
    }
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}

fn read_config(path: Option<PathBuf>) -> Result<Option<String>> {
    path.map(|p| std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display())))
        .transpose()
}

/// A guest and a client for the configuration file, with the upstream credentials the host
/// resolved; the guest gets no environment.
async fn open_client(config: Option<PathBuf>) -> Result<(Guest, ResourceAny)> {
    let settings = upstream_settings(read_config(config)?, &default_region()).await?;
    let mut guest = load_runtime()?.instantiate(GuestOptions::default()).await?;
    let client = guest.client(&settings).await?;
    Ok((guest, client))
}

async fn models_list(json: bool, config: Option<PathBuf>) -> Result<ExitCode> {
    let (mut guest, client) = open_client(config).await?;
    let listing = match guest.list(client).await? {
        Ok(listing) => listing,
        Err(e) => {
            eprintln!("mantle-host: {}", describe_error(&e));
            return Ok(ExitCode::from(2));
        }
    };
    for d in &listing.diagnostics {
        eprintln!("mantle-host: {d}");
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&models::to_json(&listing.models))?
        );
    } else {
        print!("{}", models::table(&listing.models));
    }
    Ok(ExitCode::SUCCESS)
}

/// Example keys from the AWS documentation; the demo emulator accepts tokens minted from them.
const DEMO_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const DEMO_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

async fn demo(listen: SocketAddr) -> Result<ExitCode> {
    let region = default_region();
    let emulator = Emulator::start_on(
        listen,
        EmulatorConfig {
            credentials: vec![(DEMO_KEY.into(), DEMO_SECRET.into())],
            ..EmulatorConfig::everything_captured(&region)?
        },
    )
    .await?;
    println!("Mantle emulator for {region} at {}", emulator.base_url());
    let runtime = load_runtime()?;
    let mut guest = runtime.instantiate(GuestOptions::default()).await?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let credentials = types::Credentials {
        access_key_id: DEMO_KEY.into(),
        secret_access_key: DEMO_SECRET.into(),
        session_token: None,
        expiration: None,
    };
    match guest.mint_token(&credentials, &region, 3600, now).await? {
        Ok(t) => println!(
            "Token minted by the component (valid in {} for {} s): {}...",
            t.region,
            t.expires_at - t.issued_at,
            t.token.get(..40).unwrap_or(&t.token)
        ),
        Err(e) => bail!("minting failed: {}", describe_error(&e)),
    }
    let config = config_text(&emulator.base_url(), "");
    let client = guest
        .client(&types::Settings {
            region: Some(region.clone()),
            credentials: Some(credentials),
            config: Some(config.clone()),
            ..empty_settings()
        })
        .await?;
    match guest.list(client).await? {
        Ok(listing) => {
            println!("Models listed through the component (GET /v1/models with that token):");
            print!("{}", models::table(&listing.models));
            for d in &listing.diagnostics {
                println!("note: {d}");
            }
        }
        Err(e) => bail!("listing failed: {}", describe_error(&e)),
    }
    for model in ["openai.gpt-oss-120b", "claude-opus-4.7"] {
        let request = chat_request(model, vec![user_text("Say hello.")]);
        println!("\nChat with {model}, streamed through the component:");
        let stream = match guest.chat_stream(client, &request).await? {
            Ok(s) => s,
            Err(f) => bail!("chat failed: {}", describe_failure(&f)),
        };
        while let Some(event) = guest.next_event(stream).await? {
            match event {
                Ok(e) => println!("  {}", mantle_host::events::to_json(&e)),
                Err(e) => bail!("chat failed: {}", describe_error(&e)),
            }
        }
    }
    let env = format!(
        "AWS_ACCESS_KEY_ID={DEMO_KEY} AWS_SECRET_ACCESS_KEY={DEMO_SECRET} AWS_REGION={region}"
    );
    println!(
        "\nThe emulator keeps running; in another terminal try:\n  \
         {env} bash scripts/run models list --config <(echo '{config}')\n  \
         {env} bash scripts/run chat --model moonshotai.kimi-k2-thinking --config <(echo '{config}') 'Hello'\n\
         Ctrl-C stops it."
    );
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}

async fn chat(
    request: types::ChatRequest,
    config: Option<PathBuf>,
    json: bool,
) -> Result<ExitCode> {
    use std::io::Write as _;
    let (mut guest, client) = open_client(config).await?;
    let stream = match guest.chat_stream(client, &request).await? {
        Ok(stream) => stream,
        Err(f) => {
            eprintln!("mantle-host: {}", describe_failure(&f));
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(id) = guest.request_id(stream).await? {
        eprintln!("mantle-host: Mantle request id {id}");
    }
    for d in guest.stream_diagnostics(stream).await? {
        eprintln!("mantle-host: {d}");
    }
    let mut out = std::io::stdout().lock();
    let mut in_reasoning = false;
    while let Some(event) = guest.next_event(stream).await? {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                if in_reasoning {
                    write!(out, "\x1b[0m")?;
                }
                writeln!(out)?;
                eprintln!("mantle-host: {}", describe_error(&e));
                return Ok(ExitCode::from(2));
            }
        };
        if json {
            writeln!(out, "{}", mantle_host::events::to_json(&event))?;
            out.flush()?;
            continue;
        }
        match &event {
            types::ChatEvent::ReasoningDelta(t) => {
                if !in_reasoning {
                    write!(out, "\x1b[2m")?;
                    in_reasoning = true;
                }
                write!(out, "{t}")?;
            }
            types::ChatEvent::TextDelta(t) => {
                if in_reasoning {
                    writeln!(out, "\x1b[0m")?;
                    in_reasoning = false;
                }
                write!(out, "{t}")?;
            }
            types::ChatEvent::ToolCallStart(c) => {
                write!(out, "\n[tool call {} {}(", c.index, c.name)?;
            }
            types::ChatEvent::ToolCallArguments(d) => write!(out, "{}", d.arguments)?,
            types::ChatEvent::Usage(u) => {
                if in_reasoning {
                    write!(out, "\x1b[0m")?;
                    in_reasoning = false;
                }
                eprintln!("\n[usage: {} in, {} out]", u.input_tokens, u.output_tokens);
            }
            types::ChatEvent::Finish(r) => {
                if in_reasoning {
                    write!(out, "\x1b[0m")?;
                }
                writeln!(out)?;
                eprintln!("[finish: {}]", mantle_host::events::stop_reason(r));
            }
            _ => {}
        }
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `mantle-host serve` was asked for. Every number has a range, so no value can
/// overflow a deadline or a size later.
#[derive(clap::Args)]
struct ServeOptions {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Genesis JSON5 configuration file (its baseUrl's host is the only one the face may reach).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Start the local Mantle emulator and point the face at it (no AWS account needed).
    #[arg(long)]
    emulate: bool,
    /// Region (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1).
    #[arg(long)]
    region: Option<String>,
    /// Serve without a gateway key: anyone who reaches the address can spend the quota.
    /// For local use only.
    #[arg(long)]
    allow_unauthenticated: bool,
    /// Linear memory limit of one request's instance, in MiB.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_MEMORY_MIB))]
    memory_mib: u64,
    /// Longest one request may run once its body is in, streaming included, in seconds.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_TIMEOUT_SECS))]
    request_timeout: u64,
    /// Longest a client may take to send a request head (and longest an idle kept-alive
    /// connection stays open), in seconds; then the connection is closed, with 408 when part
    /// of a head had arrived.
    #[arg(long, default_value_t = limits::HEADER_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=limits::MAX_TIMEOUT_SECS))]
    header_timeout: u64,
    /// Longest a client may take to send a request body, in seconds; then 408. No instance
    /// is held while a body arrives.
    #[arg(long, default_value_t = limits::BODY_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=limits::MAX_TIMEOUT_SECS))]
    body_timeout: u64,
    /// Requests served at once; one more gets 503 with retry-after.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=i64::from(limits::MAX_INSTANCES)))]
    max_instances: u32,
    /// Open client connections; one more gets 503 with retry-after and is closed.
    #[arg(long, default_value_t = limits::MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..=i64::from(limits::MAX_CONNECTIONS_LIMIT)))]
    max_connections: u32,
    /// Keep each instance after a request it answered whole and give it the next request,
    /// instead of a fresh instance per request: faster, but not Spin's model, since the
    /// face's memory then outlives a request. For single-tenant deployments only.
    #[arg(long)]
    reuse_instances: bool,
    /// Named keys with model allowlists (JSON5, README "Operating it"), given to the face as
    /// its `gateway_keys` variable; beside or instead of MANTLE_GATEWAY_KEY.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Serve Prometheus metrics on GET /metrics at this address (off by default).
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// With OTEL_EXPORTER_OTLP_ENDPOINT set: also record prompt and answer text on each
    /// request's server span (gen_ai.input.messages: the body's messages or input as sent;
    /// gen_ai.system_instructions: its system or instructions; gen_ai.output.messages: the
    /// answer's text as the client got it). Each at most 16 KiB, cut at a UTF-8 boundary and
    /// marked "…[cut: N of M bytes recorded]"; answers over 1 MiB (not streamed) are not
    /// recorded, and say so. Off by default: no content in spans. Headers (keys, tokens)
    /// are never recorded.
    #[arg(long)]
    trace_content: bool,
    /// Which build of the face to run: `0.3` (spin-sdk 7, `wasi:http/handler@0.3.0`) or `0.2`
    /// (spin-sdk 5.2, `wasi:http/incoming-handler@0.2`). A face named by MANTLE_FACE runs
    /// whichever it was built for.
    #[arg(long, default_value = "0.2", value_parser = ["0.2", "0.3"])]
    wasi: String,
}

/// Environment variable holding the gateway key of `serve`.
const GATEWAY_KEY_ENV: &str = "MANTLE_GATEWAY_KEY";

/// A fresh random key for a local emulated gateway.
fn random_key() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 18];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for a gateway key; set MANTLE_GATEWAY_KEY instead")?;
    Ok(format!(
        "mk-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

async fn serve(options: ServeOptions) -> Result<ExitCode> {
    let region = options.region.clone().unwrap_or_else(default_region);
    let mut variables = std::collections::BTreeMap::new();
    variables.insert("aws_region".to_owned(), region.clone());
    let mut emulator = None;
    let mut refresher = None;
    let slot = CredentialSlot::default();
    let base_url = if options.emulate {
        if options.config.is_some() {
            bail!(
                "--emulate sets the base URL itself; drop --config (or run `mantle-host emulate` and point the config's baseUrl at it)"
            );
        }
        let started = Emulator::start(EmulatorConfig {
            credentials: vec![(DEMO_KEY.into(), DEMO_SECRET.into())],
            ..EmulatorConfig::everything_captured(&region)?
        })
        .await?;
        let url = started.base_url();
        eprintln!("Mantle emulator for {region} at {url}");
        variables.insert("mantle_config".to_owned(), config_text(&url, ""));
        // The face mints its tokens from the documentation's example keys, which the
        // emulator verifies like Mantle would.
        slot.set(Some(credentials::AwsCredentials {
            access_key_id: DEMO_KEY.to_owned(),
            secret_access_key: DEMO_SECRET.to_owned(),
            session_token: None,
            expiration: None,
        }));
        emulator = Some(started);
        url
    } else {
        let config = read_config(options.config.clone())?;
        let base = match &config {
            Some(text) => {
                let parsed =
                    mantle_provider::config::parse(text).map_err(|e| anyhow::anyhow!("{}", e))?;
                parsed.base_url
            }
            None => None,
        };
        // The same order as every other command: the configuration's apiKey, then
        // AWS_BEARER_TOKEN_BEDROCK, then the AWS credential chain, refreshed while serving.
        match credentials::static_token(config.as_deref(), env)? {
            Some((token, _)) => {
                variables.insert("aws_bearer_token_bedrock".to_owned(), token);
            }
            None => {
                let chain = Chain::load(&region).await?;
                match chain.resolve().await {
                    Ok(Some(found)) => slot.set(Some(found)),
                    Ok(None) => eprintln!("mantle-host: {NO_AWS_CREDENTIALS}"),
                    Err(e) => eprintln!("mantle-host: {e:#}"),
                }
                // Long-term credentials are never asked for again; temporary ones before they
                // expire; none (or a failure) after a pause.
                let first = match slot.get() {
                    Some(c) => credentials::refresh_after(credentials::now(), c.expiration),
                    None => Some(credentials::RETRY_AFTER_FAILURE),
                };
                if let Some(wait) = first {
                    let slot = slot.clone();
                    refresher = Some(AbortOnDrop(tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        slot.refresh(chain).await;
                    })));
                }
            }
        }
        if let Some(text) = config {
            variables.insert("mantle_config".to_owned(), text);
        }
        base.unwrap_or_else(|| format!("https://bedrock-mantle.{region}.api.aws/v1"))
    };
    if let Some(path) = &options.keys {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the key file {}", path.display()))?;
        mantle_face::keys::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        variables.insert("gateway_keys".to_owned(), text);
    }
    let key = match env(GATEWAY_KEY_ENV) {
        Some(k) => Some(k),
        None if options.keys.is_some() => None,
        None if options.allow_unauthenticated => None,
        None if options.emulate => {
            let k = random_key()?;
            eprintln!("gateway key (set {GATEWAY_KEY_ENV} to choose one): {k}");
            Some(k)
        }
        None => bail!(
            "no gateway key: set {GATEWAY_KEY_ENV} (clients send it as Authorization: Bearer <key>), or pass --allow-unauthenticated for local use only"
        ),
    };
    match key {
        Some(k) => {
            variables.insert("gateway_api_key".to_owned(), k);
        }
        None if options.keys.is_some() => {}
        None => {
            variables.insert("allow_unauthenticated".to_owned(), "true".to_owned());
            eprintln!(
                "WARNING: serving WITHOUT a gateway key (--allow-unauthenticated): anyone who reaches {} can spend your Mantle quota. Local use only.",
                options.listen
            );
        }
    }
    // Refuses a base URL with a user name or password, without repeating it.
    let allowed = mantle_host::serve::outbound_origin(&base_url)?;
    let tracing = mantle_host::trace::Tracing::from_env(
        tokio::runtime::Handle::current(),
        options.trace_content,
    )?;
    match &tracing {
        Some(_) if options.trace_content => eprintln!(
            "OpenTelemetry traces go to OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP, protobuf), WITH prompt and answer text (--trace-content)"
        ),
        Some(_) => eprintln!(
            "OpenTelemetry traces go to OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP, protobuf)"
        ),
        None if options.trace_content => {
            bail!(
                "--trace-content needs OTEL_EXPORTER_OTLP_ENDPOINT: no traces are sent without it"
            )
        }
        None => {}
    }
    let memory_mib = usize::try_from(options.memory_mib).context("--memory-mib is too large")?;
    let config = GatewayConfig {
        variables,
        credentials: Some(slot),
        allowed_outbound: vec![allowed.clone()],
        memory_limit: memory_mib << 20,
        request_timeout: std::time::Duration::from_secs(options.request_timeout),
        header_timeout: std::time::Duration::from_secs(options.header_timeout),
        body_timeout: std::time::Duration::from_secs(options.body_timeout),
        max_instances: options.max_instances,
        reuse_instances: options.reuse_instances,
        max_connections: options.max_connections,
        access_log: true,
        tracing: tracing.clone(),
        ..GatewayConfig::default()
    };
    let face = match options.wasi.as_str() {
        "0.3" => build::face_p3_wasm()?,
        _ => build::face_wasm()?,
    };
    let gateway = Gateway::load_wasm(&face, config)?;
    let wasi = gateway.wasi_version();
    let observer = gateway.observer();
    let running = Running::start(gateway, options.listen).await?;
    let _metrics = match options.metrics_listen {
        Some(addr) => {
            let (bound, task) = mantle_host::observe::serve_metrics(observer, addr).await?;
            eprintln!("Prometheus metrics at http://{bound}/metrics");
            Some(AbortOnDrop(task))
        }
        None => None,
    };
    eprintln!(
        "OpenAI-compatible gateway at {} (the WASI {wasi} face; upstream {}; outgoing requests only to {allowed}); Ctrl-C stops it",
        running.base_url(),
        mantle_host::serve::display_url(&base_url),
    );
    tokio::signal::ctrl_c().await?;
    drop(running);
    if let Some(t) = &tracing {
        let t = t.clone();
        // The batch exporter's thread sends through this runtime: flush from another thread.
        let _ = tokio::task::spawn_blocking(move || t.shutdown()).await;
    }
    drop(refresher);
    drop(emulator);
    Ok(ExitCode::SUCCESS)
}

/// A task aborted when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
