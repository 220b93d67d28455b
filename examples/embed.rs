//! Embedding the Mantle provider in a Rust gateway, with wasmtime 48.
//!
//! The gateway compiles the component and links WASI and wasi-http once (`InstancePre`),
//! gives one instance to a worker, and makes one `client` per tenant in it: each client holds
//! its own credentials and caches. It lists each tenant's models and streams a chat on both
//! routes, reading each stream in batches with `get-next` and waiting on `subscribe`'s
//! pollable.
//!
//! ```sh
//! cargo build -p mantle-component --release --target wasm32-wasip2
//! cargo run -p mantle-host --example embed -- \
//!     target/wasm32-wasip2/release/mantle_component.wasm http://127.0.0.1:8787/v1 \
//!     acme=KEY_OF_ACME globex=KEY_OF_GLOBEX
//! ```

use anyhow::{Context, Result, bail};
use wasmtime::component::{Component, Linker, Resource, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::io::poll::{Host as _, HostPollable as _};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "genesis:mantle/mantle",
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:cli": wasmtime_wasi::p2::bindings::cli,
        },
    });
}
use bindings::exports::genesis::mantle::provider::{ChatEvent, ChatRequest, Message, Settings};
use bindings::{Mantle, MantlePre};

/// What one instance gets from the gateway: WASI (no environment, no files), wasi-http.
struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: Hooks,
}

/// Where a gateway checks or pools outgoing requests; wasi-http's defaults here.
struct Hooks;
impl wasmtime_wasi_http::WasiHttpHooks for Hooks {}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// What a tenant got: its models and the text of each streamed answer.
#[derive(Debug)]
pub struct TenantReport {
    /// The tenant's name.
    pub tenant: String,
    /// Ids of the models its client lists.
    pub models: Vec<String>,
    /// (model, streamed text, batches read) per chat.
    pub chats: Vec<(String, String, usize)>,
}

/// Compiles once, instantiates once, and serves each tenant (`name`, bearer token) with a
/// client of its own.
pub async fn run(
    component: &str,
    base_url: &str,
    tenants: &[(String, String)],
) -> Result<Vec<TenantReport>> {
    // Once per gateway: compile, link, pre-instantiate.
    let engine = Engine::default();
    let component = Component::from_file(&engine, component)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("loading {component}"))?;
    let mut linker = Linker::<State>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    let pre = MantlePre::new(linker.instantiate_pre(&component)?)?;

    // Per worker: a store and an instance.
    let state = State {
        wasi: WasiCtx::builder().build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        hooks: Hooks,
    };
    let mut store = Store::new(&engine, state);
    let mantle: Mantle = pre.instantiate_async(&mut store).await?;
    let provider = mantle.genesis_mantle_provider();

    let mut reports = Vec::new();
    for (tenant, token) in tenants {
        // Per tenant: a client with its own token and configuration.
        let settings = Settings {
            region: None,
            bearer_token: Some(token.clone()),
            credentials: None,
            config: Some(format!(
                r#"{{ models: {{ providers: {{ "amazon-bedrock-mantle": {{ baseUrl: "{base_url}" }} }} }} }}"#
            )),
        };
        let client = provider
            .client()
            .call_constructor(&mut store, &settings)
            .await?;
        let listing = match provider.client().call_list(&mut store, client).await? {
            Ok(listing) => listing,
            Err(e) => bail!("{tenant}: listing failed: {e:?}"),
        };
        for d in &listing.diagnostics {
            eprintln!("{tenant}: {d}");
        }
        let mut report = TenantReport {
            tenant: tenant.clone(),
            models: listing.models.iter().map(|m| m.id.clone()).collect(),
            chats: Vec::new(),
        };
        // One model per route: the OpenAI one and Claude on the Anthropic one.
        for model in ["openai.gpt-oss-120b", "claude-opus-4.7"] {
            let request = ChatRequest {
                model: model.into(),
                messages: vec![Message::User(vec![
                    bindings::exports::genesis::mantle::provider::ContentPart::Text("Hi".into()),
                ])],
                tools: Vec::new(),
                tool_choice: None,
                max_tokens: Some(256),
                temperature: None,
                top_p: None,
                stop: Vec::new(),
                reasoning_effort: None,
                response_format: None,
                parallel_tool_calls: None,
                seed: None,
                extra: None,
            };
            let stream = match provider
                .client()
                .call_chat_stream(&mut store, client, &request)
                .await?
            {
                Ok(stream) => stream,
                Err(e) => bail!("{tenant}: {model} refused: {e:?}"),
            };
            let (mut text, mut batches) = (String::new(), 0);
            loop {
                match provider
                    .chat_stream()
                    .call_get_next(&mut store, stream)
                    .await?
                {
                    // Nothing yet: wait on the stream's pollable (a gateway would poll many).
                    None => {
                        let ready: Resource<DynPollable> = provider
                            .chat_stream()
                            .call_subscribe(&mut store, stream)
                            .await?;
                        let table = &mut store.data_mut().table;
                        table.poll(vec![Resource::new_borrow(ready.rep())]).await?;
                        table.drop(ready)?;
                    }
                    // The empty batch: the stream has ended.
                    Some(batch) if batch.is_empty() => break,
                    Some(batch) => {
                        batches += 1;
                        for item in batch {
                            match item {
                                Ok(ChatEvent::TextDelta(t)) => text.push_str(&t),
                                Ok(_) => {}
                                Err(e) => bail!("{tenant}: {model} broke off: {e:?}"),
                            }
                        }
                    }
                }
            }
            stream.resource_drop_async(&mut store).await?;
            println!("{tenant} · {model}: {text}");
            report.chats.push((model.into(), text, batches));
        }
        client.resource_drop_async(&mut store).await?;
        println!("{tenant}: {} models", report.models.len());
        reports.push(report);
    }
    Ok(reports)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [component, base_url, tenants @ ..] = args.as_slice() else {
        bail!("usage: embed COMPONENT.wasm BASE_URL NAME=TOKEN...");
    };
    let tenants = tenants
        .iter()
        .map(|t| match t.split_once('=') {
            Some((name, token)) => Ok((name.to_owned(), token.to_owned())),
            None => bail!("a tenant is NAME=TOKEN, not {t:?}"),
        })
        .collect::<Result<Vec<_>>>()?;
    run(component, base_url, &tenants).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use mantle_host::emulator::{Emulator, EmulatorConfig};

    #[tokio::test]
    async fn each_tenant_lists_and_streams_on_both_routes_with_its_own_key() {
        let keys = ["acme-key", "globex-key"];
        let emu = Emulator::start(EmulatorConfig {
            static_keys: keys.iter().map(|k| (*k).into()).collect(),
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        let component = mantle_host::build::component().unwrap();
        let tenants = vec![
            ("acme".to_owned(), keys[0].to_owned()),
            ("globex".to_owned(), keys[1].to_owned()),
        ];
        let reports = super::run(component.to_str().unwrap(), &emu.base_url(), &tenants)
            .await
            .unwrap();
        assert_eq!(reports.len(), 2);
        for report in &reports {
            assert!(
                report.models.iter().any(|m| m == "openai.gpt-oss-120b"),
                "{report:?}"
            );
            // Claude Opus 4.7 is listed under Mantle's catalog id; `claude-opus-4.7`, as a
            // Genesis configuration calls it, is streamed above all the same.
            assert!(
                report
                    .models
                    .iter()
                    .any(|m| m == "anthropic.claude-opus-4-7"),
                "{report:?}"
            );
            for (model, text, batches) in &report.chats {
                assert!(
                    !text.is_empty(),
                    "{}: {model} streamed no text",
                    report.tenant
                );
                assert!(*batches >= 1);
            }
        }
        // Every request of a tenant carried that tenant's key, on every route.
        let seen = emu.requests();
        for (i, key) in keys.iter().enumerate() {
            let bearer = format!("Bearer {key}");
            let paths: Vec<&str> = seen
                .iter()
                .filter(|r| r.header("authorization") == Some(bearer.as_str()))
                .map(|r| r.path.as_str())
                .collect();
            assert!(paths.contains(&"/v1/models"), "{}: {paths:?}", tenants[i].0);
            assert!(
                paths.contains(&"/v1/chat/completions"),
                "{}: {paths:?}",
                tenants[i].0
            );
            assert!(
                paths.contains(&"/anthropic/v1/messages"),
                "{}: {paths:?}",
                tenants[i].0
            );
        }
        assert_eq!(seen.len(), 6, "one listing and two chats per tenant");
    }
}
