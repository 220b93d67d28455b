//! The provider component on WASI 0.3 (`wit/p3/world.wit`), hosted beside the WASI 0.2 one:
//! its bindings, calls made inside `run_concurrent`, and the host's side of the `stream` and
//! `future` a `chat-stream` returns. Values cross over to the WASI 0.2 bindings' types (the
//! same WIT types, so the same serde form), which is all the tests and tools see.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyhow::{Result, anyhow};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};
use wasmtime::component::{FutureConsumer, ResourceAny, Source, StreamConsumer, StreamResult};
use wasmtime::{Store, StoreContextMut};

use super::{State, types};

#[allow(missing_docs)]
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/p3",
        world: "genesis:mantle/mantle",
        exports: { default: async | store },
        additional_derives: [serde::Serialize, serde::Deserialize],
        with: {
            "wasi:http": wasmtime_wasi_http::p3::bindings::http,
            "wasi:clocks": wasmtime_wasi::p3::bindings::clocks,
            "wasi:cli": wasmtime_wasi::p3::bindings::cli,
        },
    });
}

use bindings::exports::genesis::mantle::provider as p3;
pub(crate) use bindings::{Mantle, MantlePre};

/// A value of one build's WIT types as the other build's: the worlds declare the same types,
/// so their serde forms are the same.
fn convert<A: Serialize, B: DeserializeOwned>(value: &A) -> Result<B> {
    Ok(serde_json::from_value(serde_json::to_value(value)?)?)
}

/// A WIT result of the WASI 0.3 build as the WASI 0.2 build's.
fn convert_result<A, E, B, F>(r: Result<A, E>) -> Result<Result<B, F>>
where
    A: Serialize,
    E: Serialize,
    B: DeserializeOwned,
    F: DeserializeOwned,
{
    Ok(match r {
        Ok(value) => Ok(convert(&value)?),
        Err(e) => Err(convert(&e)?),
    })
}

/// What one exported call gave: the WIT result, or a trap.
type Call<T> = Result<Result<T, types::Error>>;

/// `mint-token`.
pub(crate) async fn mint_token(
    store: &mut Store<State>,
    mantle: &Mantle,
    credentials: &types::Credentials,
    region: &str,
    expires_in: u32,
    now: u64,
) -> Call<types::Token> {
    let credentials: p3::Credentials = convert(credentials)?;
    let provider = mantle.genesis_mantle_provider();
    let r = store
        .run_concurrent(async |a| {
            provider
                .call_mint_token(a, credentials, region.to_owned(), expires_in, now)
                .await
        })
        .await??;
    convert_result(r)
}

/// The `client` constructor.
pub(crate) async fn client(
    store: &mut Store<State>,
    mantle: &Mantle,
    settings: &types::Settings,
) -> Result<ResourceAny> {
    let settings: p3::Settings = convert(settings)?;
    let provider = mantle.genesis_mantle_provider();
    Ok(store
        .run_concurrent(async |a| provider.client().call_constructor(a, settings).await)
        .await??)
}

/// `client.discover`.
pub(crate) async fn discover(
    store: &mut Store<State>,
    mantle: &Mantle,
    client: ResourceAny,
) -> Call<Vec<types::Model>> {
    let provider = mantle.genesis_mantle_provider();
    let r = store
        .run_concurrent(async |a| provider.client().call_discover(a, client).await)
        .await??;
    convert_result(r)
}

/// `client.list`.
pub(crate) async fn list(
    store: &mut Store<State>,
    mantle: &Mantle,
    client: ResourceAny,
) -> Call<types::ModelList> {
    let provider = mantle.genesis_mantle_provider();
    let r = store
        .run_concurrent(async |a| provider.client().call_list(a, client).await)
        .await??;
    convert_result(r)
}

/// `client.chat-stream`: the answer, read on the host's side as it comes, or the failure.
pub(crate) async fn chat_stream(
    store: &mut Store<State>,
    mantle: &Mantle,
    client: ResourceAny,
    request: &types::ChatRequest,
) -> Result<Result<Reading, types::Failure>> {
    let request: p3::ChatRequest = convert(request)?;
    let provider = mantle.genesis_mantle_provider();
    let r = store
        .run_concurrent(async |a| provider.client().call_chat_stream(a, client, request).await)
        .await??;
    let (events, end) = match r {
        Ok(answer) => answer,
        Err(failure) => return Ok(Err(convert(&failure)?)),
    };
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (end_tx, end_rx) = oneshot::channel();
    events.pipe(&mut *store, Events(events_tx))?;
    end.pipe(&mut *store, End(Some(end_tx)))?;
    Ok(Ok(Reading {
        events: events_rx,
        end: Some(end_rx),
        early: VecDeque::new(),
        ended: None,
        told_error: false,
    }))
}

/// Takes each event the guest writes, as soon as it writes it.
struct Events(mpsc::UnboundedSender<p3::ChatEvent>);

impl<D> StreamConsumer<D> for Events {
    type Item = p3::ChatEvent;

    fn poll_consume(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        store: StoreContextMut<D>,
        mut source: Source<'_, Self::Item>,
        _: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let event = &mut None;
        source.read(store, event)?;
        let Some(event) = event.take() else {
            return Poll::Ready(Ok(StreamResult::Completed));
        };
        Poll::Ready(Ok(match self.0.send(event) {
            Ok(()) => StreamResult::Completed,
            // The reader is gone: the guest's next write says so.
            Err(_) => StreamResult::Dropped,
        }))
    }
}

/// Takes the value that ends a stream.
struct End(Option<oneshot::Sender<p3::ChatEnd>>);

impl<D> FutureConsumer<D> for End {
    type Item = p3::ChatEnd;

    fn poll_consume(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        store: StoreContextMut<D>,
        mut source: Source<'_, Self::Item>,
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

/// A `chat-stream`'s answer on the host's side.
pub struct Reading {
    events: mpsc::UnboundedReceiver<p3::ChatEvent>,
    end: Option<oneshot::Receiver<p3::ChatEnd>>,
    /// Events taken before they were asked for (to learn the end first).
    early: VecDeque<p3::ChatEvent>,
    ended: Option<p3::ChatEnd>,
    /// Whether `next` gave the error the stream ended with.
    told_error: bool,
}

impl Reading {
    /// The next event, as `chat-stream.next` of the WASI 0.2 build gives it: `none` after the
    /// last event, or after the error that ended the stream.
    pub(crate) async fn next(
        &mut self,
        store: &mut Store<State>,
    ) -> Result<Option<Result<types::ChatEvent, types::Error>>> {
        if let Some(event) = self.early.pop_front() {
            return Ok(Some(Ok(convert(&event)?)));
        }
        let events = &mut self.events;
        if let Some(event) = store.run_concurrent(async |_| events.recv().await).await? {
            return Ok(Some(Ok(convert(&event)?)));
        }
        let error = match &self.end(store).await?.outcome {
            Err(e) => Some(convert(e)?),
            Ok(()) => None,
        };
        match error {
            Some(e) if !self.told_error => {
                self.told_error = true;
                Ok(Some(Err(e)))
            }
            _ => Ok(None),
        }
    }

    /// How the stream ended; the events before it are kept for [`Reading::next`].
    pub(crate) async fn end(&mut self, store: &mut Store<State>) -> Result<&p3::ChatEnd> {
        if self.ended.is_none() {
            let (events, early) = (&mut self.events, &mut self.early);
            let end = self.end.take();
            let ended = store
                .run_concurrent(async |_| {
                    while let Some(event) = events.recv().await {
                        early.push_back(event);
                    }
                    match end {
                        Some(end) => end.await.ok(),
                        None => None,
                    }
                })
                .await?;
            self.ended = Some(ended.ok_or_else(|| anyhow!("the stream's end never came"))?);
        }
        self.ended
            .as_ref()
            .ok_or_else(|| anyhow!("the stream's end never came"))
    }

    /// `diagnostics` of the stream's end.
    pub(crate) async fn diagnostics(&mut self, store: &mut Store<State>) -> Result<Vec<String>> {
        Ok(self.end(store).await?.diagnostics.clone())
    }

    /// `request-id` of the stream's end.
    pub(crate) async fn request_id(&mut self, store: &mut Store<State>) -> Result<Option<String>> {
        Ok(self.end(store).await?.request_id.clone())
    }
}
