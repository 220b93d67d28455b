//! The provider's one error type, converted to the WIT `error` variant in exactly one place
//! (the component glue). Messages are lowercase, carry no trailing period and never a secret.

use core::fmt;

/// Every failure of the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Invalid settings or configuration text.
    Configuration(String),
    /// Neither a bearer token nor credentials.
    MissingCredentials(String),
    /// HTTP 401.
    Unauthorized(String),
    /// HTTP 403.
    Forbidden(String),
    /// HTTP 404 or an unknown model.
    ModelNotFound(String),
    /// The model is served on another route.
    WrongRoute(String),
    /// HTTP 429, with the seconds to wait when known.
    RateLimited {
        /// What the upstream said.
        message: String,
        /// Seconds to wait.
        retry_after: Option<u32>,
    },
    /// HTTP 400 or an argument out of range.
    InvalidRequest(String),
    /// The prompt does not fit the context window.
    ContextOverflow(String),
    /// HTTP 5xx, overload, connection failure.
    UpstreamUnavailable {
        /// HTTP status, when there was a response.
        status: Option<u16>,
        /// What happened.
        message: String,
    },
    /// No answer in time.
    Timeout(String),
    /// The upstream broke its protocol.
    Protocol(String),
    /// The stream ended before its final event.
    Truncated(String),
    /// Declared but not available yet.
    NotImplemented(String),
}

impl Error {
    /// The message, whatever the case.
    pub fn message(&self) -> &str {
        match self {
            Error::Configuration(m)
            | Error::MissingCredentials(m)
            | Error::Unauthorized(m)
            | Error::Forbidden(m)
            | Error::ModelNotFound(m)
            | Error::WrongRoute(m)
            | Error::InvalidRequest(m)
            | Error::ContextOverflow(m)
            | Error::Timeout(m)
            | Error::Protocol(m)
            | Error::Truncated(m)
            | Error::NotImplemented(m) => m,
            Error::RateLimited { message, .. } | Error::UpstreamUnavailable { message, .. } => {
                message
            }
        }
    }

    /// A short name of the case, as the WIT variant spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Configuration(_) => "configuration",
            Error::MissingCredentials(_) => "missing-credentials",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::ModelNotFound(_) => "model-not-found",
            Error::WrongRoute(_) => "wrong-route",
            Error::RateLimited { .. } => "rate-limited",
            Error::InvalidRequest(_) => "invalid-request",
            Error::ContextOverflow(_) => "context-overflow",
            Error::UpstreamUnavailable { .. } => "upstream-unavailable",
            Error::Timeout(_) => "timeout",
            Error::Protocol(_) => "protocol",
            Error::Truncated(_) => "truncated",
            Error::NotImplemented(_) => "not-implemented",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for Error {}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
