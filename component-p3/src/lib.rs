//! The provider component on WASI 0.3 (`genesis:mantle/provider@0.2.0`): the glue between the
//! WIT exports of `wit/p3/world.wit` and the [`mantle_provider`] library, beside the WASI 0.2
//! component of `component/`, whose conversions it shares.
//!
//! `discover`, `list` and `chat-stream` are `async` exports. The core is synchronous over its
//! I/O port ([`mantle_provider::wasi3_host`]), so what it sends is waited for with `block_on`
//! inside the export: the instance waits for an answer's head. The answer's events are then
//! written by a task spawned beside the export, which decodes them as the upstream's bytes
//! arrive (polling the body in its own task, without blocking) and awaits each write until
//! the host takes it; other calls into the instance run while it waits.

#![cfg(target_arch = "wasm32")]

// Generated code is the only unsafe code of the crate (the canonical ABI's glue).
#[allow(unsafe_code, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        world: "mantle",
        path: "../wit/p3",
        with: {
            "wasi:cli/environment@0.3.0": wasip3::cli::environment,
            "wasi:clocks/types@0.3.0": wasip3::clocks::types,
            "wasi:clocks/system-clock@0.3.0": wasip3::clocks::system_clock,
            "wasi:clocks/monotonic-clock@0.3.0": wasip3::clocks::monotonic_clock,
            "wasi:http/types@0.3.0": wasip3::http::types,
            "wasi:http/client@0.3.0": wasip3::http::client,
        },
    });

    use super::Component;
    export!(Component with_types_in self);
}

#[path = "../../component/src/convert.rs"]
mod convert;

use bindings::exports::genesis::mantle::provider as wit;
use bindings::exports::genesis::mantle::provider::{Guest, GuestClient};
use bindings::{wit_future, wit_stream};

use core::cell::RefCell;
use futures::future::poll_fn;
use wit_bindgen::{FutureReader, FutureWriter, StreamReader, StreamWriter};

use mantle_provider::client;
use mantle_provider::error::Error;
use mantle_provider::token;
use mantle_provider::wasi3_host::{P3Host, polling};

struct Component;

impl Guest for Component {
    type Client = Client;

    fn mint_token(
        credentials: wit::Credentials,
        region: String,
        expires_in: u32,
        now: u64,
    ) -> Result<wit::Token, wit::Error> {
        token::mint(&credentials.into(), &region, expires_in, now)
            .map(Into::into)
            .map_err(Into::into)
    }
}

/// One tenant's client.
pub struct Client {
    inner: RefCell<client::Client>,
}

impl GuestClient for Client {
    fn new(settings: wit::Settings) -> Self {
        Client {
            inner: RefCell::new(client::Client::new(settings.into())),
        }
    }

    async fn discover(&self) -> Result<Vec<wit::Model>, wit::Error> {
        let mut host = P3Host::new();
        let models = self.inner.borrow_mut().discover(&mut host)?;
        Ok(models.into_iter().map(Into::into).collect())
    }

    async fn list(&self) -> Result<wit::ModelList, wit::Error> {
        let mut host = P3Host::new();
        let listing = self.inner.borrow_mut().list(&mut host)?;
        Ok(wit::ModelList {
            models: listing.models.into_iter().map(Into::into).collect(),
            diagnostics: listing.diagnostics,
        })
    }

    async fn chat_stream(
        &self,
        request: wit::ChatRequest,
    ) -> Result<(StreamReader<wit::ChatEvent>, FutureReader<wit::ChatEnd>), wit::Failure> {
        let mut host = P3Host::new();
        let stream = self
            .inner
            .borrow_mut()
            .chat_stream(&mut host, &request.into())
            .map_err(|f| wit::Failure {
                error: f.error.into(),
                request_id: f.answer.request_id,
            })?;
        let (events, events_reader) = wit_stream::new::<wit::ChatEvent>();
        let (end, end_reader) = wit_future::new::<wit::ChatEnd>(unfinished);
        wit_bindgen::spawn(pump(stream, events, end));
        Ok((events_reader, end_reader))
    }
}

/// What the end says if the provider never wrote it (it always does).
fn unfinished() -> wit::ChatEnd {
    wit::ChatEnd {
        outcome: Err(
            Error::Truncated("the provider stopped before the end of the stream".into()).into(),
        ),
        diagnostics: Vec::new(),
        request_id: None,
    }
}

/// Writes the answer's events as the upstream's bytes make them, each write awaited until the
/// host takes it, then closes the stream and resolves its end. A host that drops the stream
/// stops the reading: the upstream's body is dropped with it.
async fn pump(
    mut stream: client::ChatStream,
    mut events: StreamWriter<wit::ChatEvent>,
    end: FutureWriter<wit::ChatEnd>,
) {
    let outcome = loop {
        match poll_fn(|cx| polling(cx, || stream.poll_event())).await {
            Some(Ok(event)) => {
                if events.write_one(event.into()).await.is_some() {
                    break Err(Error::Truncated(
                        "the host closed the stream before its end".into(),
                    ));
                }
            }
            Some(Err(e)) => break Err(e),
            None => break Ok(()),
        }
    };
    drop(events);
    let diagnostics = stream.diagnostics().to_vec();
    let request_id = stream.request_id().map(str::to_owned);
    drop(stream);
    let _ = end
        .write(wit::ChatEnd {
            outcome: outcome.map_err(Into::into),
            diagnostics,
            request_id,
        })
        .await;
}
