//! The provider component (`genesis:mantle/provider`): the glue between the WIT exports and
//! the [`mantle_provider`] library. It is a crate of its own so that other components built on
//! the library (the HTTP face) never link these exports.
//!
//! The component glue: WIT bindings, conversions between WIT and the pure modules, and the
//! exported functions. Nothing here decides anything; it only calls into the core.

#![cfg(target_arch = "wasm32")]

// Generated code is the only unsafe code of the crate (the canonical ABI's glue).
#[allow(unsafe_code, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        world: "mantle",
        path: "../wit",
        with: {
            "wasi:cli/environment@0.2.12": wasi::cli::environment,
            "wasi:clocks/wall-clock@0.2.12": wasi::clocks::wall_clock,
            "wasi:clocks/monotonic-clock@0.2.12": wasi::clocks::monotonic_clock,
            "wasi:http/types@0.2.12": wasi::http::types,
            "wasi:http/outgoing-handler@0.2.12": wasi::http::outgoing_handler,
            "wasi:io/error@0.2.12": wasi::io::error,
            "wasi:io/poll@0.2.12": wasi::io::poll,
            "wasi:io/streams@0.2.12": wasi::io::streams,
        },
    });

    use super::Component;
    export!(Component with_types_in self);
}

mod convert;

use bindings::exports::genesis::mantle::provider as wit;
use bindings::exports::genesis::mantle::provider::{
    ChatStream, Guest, GuestChatStream, GuestClient,
};

use core::cell::RefCell;
use core::task::Poll;

use wasi::clocks::monotonic_clock;
use wasi::io::poll::Pollable;

use mantle_provider::chat;
use mantle_provider::client;
use mantle_provider::token;
use mantle_provider::wasi_host::{BodyWatch, WasiHost};

/// The most items one `get-next` returns; the rest wait for the next call.
const MAX_BATCH: usize = 512;

struct Component;

impl Guest for Component {
    type Client = Client;
    type ChatStream = Stream;

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

    fn discover(&self) -> Result<Vec<wit::Model>, wit::Error> {
        let mut host = WasiHost::new();
        let models = self.inner.borrow_mut().discover(&mut host)?;
        Ok(models.into_iter().map(Into::into).collect())
    }

    fn list(&self) -> Result<wit::ModelList, wit::Error> {
        let mut host = WasiHost::new();
        let listing = self.inner.borrow_mut().list(&mut host)?;
        Ok(wit::ModelList {
            models: listing.models.into_iter().map(Into::into).collect(),
            diagnostics: listing.diagnostics,
        })
    }

    fn chat_stream(&self, request: wit::ChatRequest) -> Result<ChatStream, wit::Failure> {
        let mut host = WasiHost::new();
        let stream = self
            .inner
            .borrow_mut()
            .chat_stream(&mut host, &request.into())
            .map_err(|f| wit::Failure {
                error: f.error.into(),
                request_id: f.answer.request_id,
            })?;
        Ok(ChatStream::new(Stream {
            inner: RefCell::new(stream),
            body: host.opened(),
        }))
    }
}

/// A streamed chat completion.
pub struct Stream {
    inner: RefCell<client::ChatStream>,
    /// The upstream body, to wait on it.
    body: BodyWatch,
}

/// One item of a batch, as the WIT has it.
type Item = Result<wit::ChatEvent, wit::Error>;

fn item(r: mantle_provider::error::Result<chat::ChatEvent>) -> Item {
    r.map(Into::into).map_err(Into::into)
}

impl GuestChatStream for Stream {
    fn next(&self) -> Option<Item> {
        self.inner.borrow_mut().next_event().map(item)
    }

    fn get_next(&self) -> Option<Vec<Item>> {
        let mut stream = self.inner.borrow_mut();
        let mut batch = Vec::new();
        while batch.len() < MAX_BATCH {
            match stream.poll_event() {
                Poll::Ready(Some(next)) => batch.push(item(next)),
                // The end: after the batch if there is one, else as the empty list.
                Poll::Ready(None) => return Some(batch),
                Poll::Pending => break,
            }
        }
        (!batch.is_empty()).then_some(batch)
    }

    fn blocking_get_next(&self) -> Vec<Item> {
        if let Some(batch) = self.get_next() {
            return batch;
        }
        // Wait as `next` does (with the between-bytes timer), then take what else is ready.
        let first = self.inner.borrow_mut().next_event();
        match first {
            None => Vec::new(),
            Some(Err(e)) => vec![Err(e.into())],
            Some(Ok(event)) => {
                let mut batch = vec![Ok(event.into())];
                batch.extend(self.get_next().unwrap_or_default());
                batch
            }
        }
    }

    fn subscribe(&self) -> Pollable {
        let ready_now = || monotonic_clock::subscribe_duration(0);
        if self.inner.borrow().buffered() {
            return ready_now();
        }
        self.body.subscribe().unwrap_or_else(ready_now)
    }

    fn diagnostics(&self) -> Vec<String> {
        self.inner.borrow().diagnostics().to_vec()
    }

    fn request_id(&self) -> Option<String> {
        self.inner.borrow().request_id().map(str::to_owned)
    }
}
