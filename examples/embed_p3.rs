//! Embedding the Mantle provider's WASI 0.3 build in a Rust gateway, with wasmtime 48.
//!
//! The WASI 0.3 counterpart of `embed.rs`: the engine has the component model's async on, the
//! linker gets WASI 0.3 and its wasi-http, and every call is made inside `run_concurrent`,
//! where the component's tasks run. `discover`, `list` and `chat-stream` are `async`
//! functions; `chat-stream` returns, once the upstream has answered, a `stream<chat-event>`
//! the component writes as the upstream's bytes arrive, and a `future<chat-end>` with how the
//! answer ended, its diagnostics and Mantle's request id. The gateway reads the stream by
//! piping it into a consumer of its own.
//!
//! The component is built as the README says (the harness and this example's test build it
//! into `target/guest-p3/mantle_component_p3.wasm`):
//!
//! ```sh
//! cargo run -p mantle-host --example embed_p3 -- \
//!     target/guest-p3/mantle_component_p3.wasm http://127.0.0.1:8787/v1 \
//!     acme=KEY_OF_ACME globex=KEY_OF_GLOBEX
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};

use anyhow::{Context as _, Result, bail};
use tokio::sync::{mpsc, oneshot};
use wasmtime::component::{
    Accessor, Component, FutureConsumer, Linker, ResourceAny, ResourceTable, Source,
    StreamConsumer, StreamResult,
};
use wasmtime::{Config, Engine, Store, StoreContextMut};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/p3",
        world: "genesis:mantle/mantle",
        exports: { default: async | store },
        with: {
            "wasi:http": wasmtime_wasi_http::p3::bindings::http,
            "wasi:clocks": wasmtime_wasi::p3::bindings::clocks,
            "wasi:cli": wasmtime_wasi::p3::bindings::cli,
        },
    });
}
use bindings::exports::genesis::mantle::provider::{
    ChatEnd, ChatEvent, ChatRequest, ContentPart, Message, Settings,
};
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

/// Takes each event as the component writes it.
struct Events(mpsc::UnboundedSender<ChatEvent>);

impl<D> StreamConsumer<D> for Events {
    type Item = ChatEvent;

    fn poll_consume(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        store: StoreContextMut<D>,
        mut source: Source<'_, ChatEvent>,
        _: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let event = &mut None;
        source.read(store, event)?;
        match event.take().map(|e| self.0.send(e)) {
            Some(Err(_)) => Poll::Ready(Ok(StreamResult::Dropped)),
            _ => Poll::Ready(Ok(StreamResult::Completed)),
        }
    }
}

/// Takes how the answer ended.
struct End(Option<oneshot::Sender<ChatEnd>>);

impl<D> FutureConsumer<D> for End {
    type Item = ChatEnd;

    fn poll_consume(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        store: StoreContextMut<D>,
        mut source: Source<'_, ChatEnd>,
        _: bool,
    ) -> Poll<wasmtime::Result<()>> {
        let end = &mut None;
        source.read(store, end)?;
        if let (Some(tx), Some(end)) = (self.get_mut().0.take(), end.take()) {
            let _ = tx.send(end);
        }
        Poll::Ready(Ok(()))
    }
}

/// What a tenant got: its models and the text of each streamed answer.
#[derive(Debug)]
pub struct TenantReport {
    /// The tenant's name.
    pub tenant: String,
    /// Ids of the models its client lists.
    pub models: Vec<String>,
    /// (model, streamed text, events read) per chat.
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
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    let engine = Engine::new(&config)?;
    let component = Component::from_file(&engine, component)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("loading {component}"))?;
    let mut linker = Linker::<State>::new(&engine);
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    let pre = MantlePre::new(linker.instantiate_pre(&component)?)?;

    // Per worker: a store and an instance; its calls run inside `run_concurrent`.
    let state = State {
        wasi: WasiCtx::builder().build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        hooks: Hooks,
    };
    let mut store = Store::new(&engine, state);
    let mantle = pre.instantiate_async(&mut store).await?;
    let mut reports = Vec::new();
    for (tenant, token) in tenants {
        let (report, client) = store
            .run_concurrent(async |a| serve(a, &mantle, base_url, tenant, token).await)
            .await??;
        client.resource_drop_async(&mut store).await?;
        println!("{tenant}: {} models", report.models.len());
        reports.push(report);
    }
    Ok(reports)
}

/// One tenant: a client with its own token and configuration, its listing, and a chat on
/// each route; the client is returned for the caller to drop.
async fn serve(
    a: &Accessor<State>,
    mantle: &Mantle,
    base_url: &str,
    tenant: &str,
    token: &str,
) -> Result<(TenantReport, ResourceAny)> {
    let provider = mantle.genesis_mantle_provider();
    let settings = Settings {
        region: None,
        bearer_token: Some(token.to_owned()),
        credentials: None,
        config: Some(format!(
            r#"{{ models: {{ providers: {{ "amazon-bedrock-mantle": {{ baseUrl: "{base_url}" }} }} }} }}"#
        )),
    };
    let client = provider.client().call_constructor(a, settings).await?;
    let listing = match provider.client().call_list(a, client).await? {
        Ok(listing) => listing,
        Err(e) => bail!("{tenant}: listing failed: {e:?}"),
    };
    for d in &listing.diagnostics {
        eprintln!("{tenant}: {d}");
    }
    let mut report = TenantReport {
        tenant: tenant.to_owned(),
        models: listing.models.iter().map(|m| m.id.clone()).collect(),
        chats: Vec::new(),
    };
    // One model per route: the OpenAI one and Claude on the Anthropic one.
    for model in ["openai.gpt-oss-120b", "claude-opus-4.7"] {
        let request = ChatRequest {
            model: model.into(),
            messages: vec![Message::User(vec![ContentPart::Text("Hi".into())])],
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
        let (events, end) = match provider
            .client()
            .call_chat_stream(a, client, request)
            .await?
        {
            Ok(answer) => answer,
            Err(e) => bail!("{tenant}: {model} refused: {e:?}"),
        };
        let (events_tx, mut events_rx) = mpsc::unbounded_channel();
        let (end_tx, end_rx) = oneshot::channel();
        a.with(|mut store| -> wasmtime::Result<()> {
            events.pipe(&mut store, Events(events_tx))?;
            end.pipe(&mut store, End(Some(end_tx)))
        })?;
        // The events arrive while the component writes them; the stream closes after the last.
        let (mut text, mut count) = (String::new(), 0);
        while let Some(event) = events_rx.recv().await {
            count += 1;
            if let ChatEvent::TextDelta(t) = event {
                text.push_str(&t);
            }
        }
        let end = end_rx.await.context("the answer's end never came")?;
        if let Err(e) = end.outcome {
            bail!("{tenant}: {model} broke off: {e:?}");
        }
        println!("{tenant} · {model}: {text}");
        report.chats.push((model.into(), text, count));
    }
    Ok((report, client))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [component, base_url, tenants @ ..] = args.as_slice() else {
        bail!("usage: embed_p3 COMPONENT.wasm BASE_URL NAME=TOKEN...");
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
        let component = mantle_host::build::component_p3().unwrap();
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
            assert!(
                report
                    .models
                    .iter()
                    .any(|m| m == "anthropic.claude-opus-4-7"),
                "{report:?}"
            );
            for (model, text, events) in &report.chats {
                assert!(
                    !text.is_empty(),
                    "{}: {model} streamed no text",
                    report.tenant
                );
                assert!(*events >= 2);
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
