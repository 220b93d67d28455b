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

use bindings::exports::genesis::mantle::provider::{
    ChatStream, Guest, GuestChatStream, GuestClient,
};
use bindings::exports::genesis::mantle::provider as wit;

use crate::error::Error;
use crate::token;

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
    #[allow(dead_code)]
    settings: wit::Settings,
}

impl GuestClient for Client {
    fn new(settings: wit::Settings) -> Self {
        Client { settings }
    }

    fn discover(&self) -> Result<Vec<wit::Model>, wit::Error> {
        Err(Error::NotImplemented("discover is not implemented yet".into()).into())
    }

    fn list(&self) -> Result<wit::ModelList, wit::Error> {
        Err(Error::NotImplemented("list is not implemented yet".into()).into())
    }

    fn chat_stream(&self, _request: wit::ChatRequest) -> Result<ChatStream, wit::Error> {
        Err(Error::NotImplemented("chat-stream is not implemented yet".into()).into())
    }
}

/// A streamed chat completion.
pub struct Stream;

impl GuestChatStream for Stream {
    fn next(&self) -> Option<Result<wit::ChatEvent, wit::Error>> {
        Some(Err(
            Error::NotImplemented("chat-stream is not implemented yet".into()).into(),
        ))
    }
}
