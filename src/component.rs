//! The component glue: WIT bindings, conversions between WIT and the pure modules, and the
//! exported functions. Nothing here decides anything; it only calls into the core.

// Generated code is the only unsafe code of the crate (the canonical ABI's glue).
#[allow(unsafe_code, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        world: "mantle",
        path: "wit",
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

use bindings::exports::genesis::mantle::provider as wit;
use bindings::exports::genesis::mantle::provider::{
    ChatStream, Guest, GuestChatStream, GuestClient,
};

use core::cell::RefCell;

use crate::client;
use crate::error::Error;
use crate::model;
use crate::token;
use crate::wasi_host::WasiHost;

struct Component;

/// Converts the core error to the WIT variant: the one place where this happens.
impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Configuration(m) => wit::Error::Configuration(m),
            Error::MissingCredentials(m) => wit::Error::MissingCredentials(m),
            Error::Unauthorized(m) => wit::Error::Unauthorized(m),
            Error::Forbidden(m) => wit::Error::Forbidden(m),
            Error::ModelNotFound(m) => wit::Error::ModelNotFound(m),
            Error::WrongRoute(m) => wit::Error::WrongRoute(m),
            Error::RateLimited {
                message,
                retry_after,
            } => wit::Error::RateLimited(wit::RateLimit {
                message,
                retry_after,
            }),
            Error::InvalidRequest(m) => wit::Error::InvalidRequest(m),
            Error::ContextOverflow(m) => wit::Error::ContextOverflow(m),
            Error::UpstreamUnavailable { status, message } => {
                wit::Error::UpstreamUnavailable(wit::UpstreamFailure { status, message })
            }
            Error::Timeout(m) => wit::Error::Timeout(m),
            Error::Protocol(m) => wit::Error::Protocol(m),
            Error::Truncated(m) => wit::Error::Truncated(m),
            Error::NotImplemented(m) => wit::Error::NotImplemented(m),
        }
    }
}

impl From<wit::Credentials> for token::Credentials {
    fn from(c: wit::Credentials) -> Self {
        token::Credentials {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            session_token: c.session_token,
            expiration: c.expiration,
        }
    }
}

impl From<token::Token> for wit::Token {
    fn from(t: token::Token) -> Self {
        wit::Token {
            token: t.token,
            region: t.region,
            issued_at: t.issued_at,
            expires_at: t.expires_at,
        }
    }
}

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

impl From<wit::Settings> for client::Settings {
    fn from(s: wit::Settings) -> Self {
        client::Settings {
            region: s.region,
            bearer_token: s.bearer_token,
            credentials: s.credentials.map(Into::into),
            config: s.config,
        }
    }
}

impl From<model::Model> for wit::Model {
    fn from(m: model::Model) -> Self {
        wit::Model {
            id: m.id,
            name: m.name,
            api: match m.api {
                model::Api::OpenaiCompletions => wit::Api::OpenaiCompletions,
                model::Api::AnthropicMessages => wit::Api::AnthropicMessages,
            },
            reasoning: m.reasoning,
            input: m
                .input
                .into_iter()
                .map(|i| match i {
                    model::Modality::Text => wit::Modality::Text,
                    model::Modality::Image => wit::Modality::Image,
                })
                .collect(),
            cost: wit::Cost {
                input: m.cost.input,
                output: m.cost.output,
                cache_read: m.cost.cache_read,
                cache_write: m.cost.cache_write,
            },
            context_window: m.context_window,
            max_tokens: m.max_tokens,
            source: match m.source {
                model::ModelSource::Discovered => wit::ModelSource::Discovered,
                model::ModelSource::Configured => wit::ModelSource::Configured,
                model::ModelSource::BuiltIn => wit::ModelSource::BuiltIn,
            },
        }
    }
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

    fn chat_stream(&self, _request: wit::ChatRequest) -> Result<ChatStream, wit::Error> {
        Err(Error::NotImplemented("chat-stream is not implemented yet".into()).into())
    }
}

/// A streamed chat completion.
pub struct Stream;

impl GuestChatStream for Stream {
    fn next(&self) -> Option<Result<wit::ChatEvent, wit::Error>> {
        Some(Err(Error::NotImplemented(
            "chat-stream is not implemented yet".into(),
        )
        .into()))
    }
}
