//! The provider's I/O port, with no I/O of its own: what it needs from its host ([`Host`]),
//! the requests it sends, the responses it reads (whole or as they arrive), and their limits.

use crate::catalog::base_url::BaseUrl;
use crate::error::{Error, Result};

/// How a request failed on its way to or from the upstream, as both WASI versions'
/// `wasi:http` `error-code` say it; each I/O glue maps its own `error-code` here, and
/// [`Transport::error`] words it once for all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// No connection within the connect time-out.
    ConnectTimeout,
    /// No data from the upstream in time.
    ReadTimeout,
    /// The request could not be sent in time.
    WriteTimeout,
    /// No response from the upstream in time.
    ResponseTimeout,
    /// The upstream refused the connection.
    Refused,
    /// The host name does not resolve.
    NoSuchHost,
    /// The host (the runtime) does not allow this destination.
    Denied,
    /// Any other failure, as the host described it.
    Other(String),
}

impl Transport {
    /// The provider's error for a failure of `what` (the request, named for the message).
    pub fn error(self, what: &str) -> Error {
        let unavailable = |message: String| Error::UpstreamUnavailable {
            status: None,
            message,
        };
        match self {
            Transport::ConnectTimeout => Error::Timeout(format!("{what}: connecting timed out")),
            Transport::ReadTimeout => {
                Error::Timeout(format!("{what}: no data from the upstream in time"))
            }
            Transport::WriteTimeout => {
                Error::Timeout(format!("{what}: sending the request timed out"))
            }
            Transport::ResponseTimeout => {
                Error::Timeout(format!("{what}: no response from the upstream in time"))
            }
            Transport::Refused => unavailable(format!("{what}: connection refused")),
            Transport::NoSuchHost => unavailable(format!("{what}: the host name does not resolve")),
            Transport::Denied => {
                Error::Forbidden(format!("{what}: the host does not allow this destination"))
            }
            Transport::Other(other) => unavailable(format!("{what}: {other}")),
        }
    }
}

/// Time and size limits of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connect time-out, milliseconds.
    pub connect_ms: u64,
    /// Time to the first byte of the response, milliseconds.
    pub first_byte_ms: u64,
    /// Longest pause between two chunks, milliseconds.
    pub between_bytes_ms: u64,
    /// Whole request, milliseconds (0: none).
    pub total_ms: u64,
    /// Largest body read, bytes.
    pub max_body: usize,
}

/// Nanoseconds in `ms` milliseconds (the unit of the WASI clocks).
pub fn ms_to_ns(ms: u64) -> u64 {
    ms.saturating_mul(1_000_000)
}

/// How much later than the guest's own between-bytes timer the host's fires: the guest times
/// pauses itself, so a stall is reported as a time-out rather than as a broken connection.
const BACKSTOP_MS: u64 = 1_000;

impl Limits {
    /// The between-bytes time-out given to the host, nanoseconds: a backstop a little later
    /// than the guest's own.
    pub fn host_between_bytes_ns(&self) -> u64 {
        ms_to_ns(self.between_bytes_ms.saturating_add(BACKSTOP_MS))
    }

    /// Nanoseconds left before the overall deadline of a request started at `started` when the
    /// monotonic clock reads `now`; `None` without an overall deadline.
    pub fn remaining_ns(&self, started: u64, now: u64) -> Option<u64> {
        (self.total_ms > 0)
            .then(|| ms_to_ns(self.total_ms).saturating_sub(now.saturating_sub(started)))
    }

    /// The error of `what` past its overall deadline.
    pub fn deadline_error(&self, what: &str) -> Error {
        Error::Timeout(format!("{what} took longer than {} ms", self.total_ms))
    }

    /// The error of `what` without a response head within the first-byte time-out.
    pub fn first_byte_error(&self, what: &str) -> Error {
        Error::Timeout(format!(
            "{what}: no response within {} ms",
            self.first_byte_ms
        ))
    }

    /// Whether `more` bytes fit after the `held` bytes of a whole body; else the error naming
    /// the limit.
    pub fn check_body(&self, what: &str, held: usize, more: usize) -> Result<()> {
        if held.saturating_add(more) > self.max_body {
            return Err(Error::Protocol(format!(
                "{what}: the response body is larger than {} bytes",
                self.max_body
            )));
        }
        Ok(())
    }
}

/// A response's header fields as the provider reads them: names in lowercase, values as
/// text (bytes that are not UTF-8 replaced).
pub fn header_pairs(fields: impl IntoIterator<Item = (String, Vec<u8>)>) -> Vec<(String, String)> {
    fields
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect()
}

/// Limits of `GET /models`: 30 s in all, 4 MiB.
pub const DISCOVERY_LIMITS: Limits = Limits {
    connect_ms: 10_000,
    first_byte_ms: 30_000,
    between_bytes_ms: 30_000,
    total_ms: 30_000,
    max_body: 4 << 20,
};

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the provider needs from its host.
pub trait Host {
    /// An environment variable.
    fn env(&self, name: &str) -> Option<String>;
    /// Wall-clock time, seconds since the Unix epoch.
    fn now(&self) -> u64;
    /// Sends a request and reads the whole response within `limits`. Transport failures
    /// come back as [`Error::Timeout`](crate::error::Error::Timeout) or
    /// [`Error::UpstreamUnavailable`](crate::error::Error::UpstreamUnavailable).
    fn send(&mut self, request: &Request, limits: &Limits) -> Result<Response>;
    /// Sends a request and returns as soon as the response head is in; the body is read
    /// chunk by chunk as it arrives.
    fn open(&mut self, request: &Request, limits: &Limits) -> Result<Streaming>;
}

/// A response whose body is still arriving.
pub struct Streaming {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Box<dyn BodyReader>,
}

impl Streaming {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Reads the rest of the body, at most `max` bytes (more is cut off).
    pub fn read_to_end(mut self, max: usize) -> Vec<u8> {
        let mut data = Vec::new();
        while let Ok(Some(chunk)) = self.body.next_chunk() {
            let room = max.saturating_sub(data.len());
            data.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if data.len() >= max {
                break;
            }
        }
        data
    }
}

/// A body read as it arrives.
pub trait BodyReader {
    /// The next chunk as soon as any bytes are there; `None` at the end of the body.
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>>;

    /// Like [`BodyReader::next_chunk`], but never waits: `None` when no bytes have arrived
    /// yet. A reader that cannot tell waits, which is what the default does.
    fn try_next_chunk(&mut self) -> Option<Result<Option<Vec<u8>>>> {
        Some(self.next_chunk())
    }
}

/// An outgoing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Where it goes.
    pub base: BaseUrl,
    /// Path below the base, starting with `/`.
    pub path: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Request {
    /// The head's fields as sent: the headers, and for a `POST` its `content-length` when
    /// they do not give it (the body is known whole, so strict servers, which answer 411
    /// without it, and proxies get a plain body rather than a chunked one).
    pub fn head_fields(&self) -> Vec<(String, Vec<u8>)> {
        let mut entries: Vec<(String, Vec<u8>)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
            .collect();
        if self.method == "POST"
            && !entries
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            entries.push((
                "content-length".to_owned(),
                self.body.len().to_string().into_bytes(),
            ));
        }
        entries
    }

    /// The full URL, for messages (never carries a secret).
    pub fn url(&self) -> String {
        self.base.url(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transport_failure_is_a_timeout_an_unavailable_upstream_or_a_refusal_naming_the_request() {
        let timeouts = [
            Transport::ConnectTimeout,
            Transport::ReadTimeout,
            Transport::WriteTimeout,
            Transport::ResponseTimeout,
        ];
        for t in timeouts {
            match t.error("GET /models") {
                Error::Timeout(m) => assert!(m.starts_with("GET /models: "), "{m}"),
                e => panic!("{e:?}"),
            }
        }
        for (t, words) in [
            (Transport::Refused, "connection refused"),
            (Transport::NoSuchHost, "does not resolve"),
            (
                Transport::Other("InternalError(None)".into()),
                "InternalError(None)",
            ),
        ] {
            match t.error("POST /chat/completions") {
                Error::UpstreamUnavailable {
                    status: None,
                    message,
                } => {
                    assert!(message.starts_with("POST /chat/completions: "), "{message}");
                    assert!(message.contains(words), "{message}");
                }
                e => panic!("{e:?}"),
            }
        }
        assert!(matches!(
            Transport::Denied.error("x"),
            Error::Forbidden(m) if m.contains("does not allow this destination")
        ));
    }

    #[test]
    fn a_post_says_its_length_once_and_a_get_none() {
        let request = |method, headers: &[(&str, &str)]| Request {
            method,
            base: BaseUrl::parse("https://bedrock-mantle.us-east-1.api.aws/v1").unwrap(),
            path: "/chat/completions".into(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: b"{}".to_vec(),
        };
        let fields = |r: &Request| -> Vec<(String, String)> {
            r.head_fields()
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
                .collect()
        };
        let json = ("content-type", "application/json");
        assert_eq!(
            fields(&request("POST", &[json])),
            [
                ("content-type".to_owned(), "application/json".to_owned()),
                ("content-length".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(
            fields(&request("POST", &[("Content-Length", "2")])),
            [("Content-Length".to_owned(), "2".to_owned())]
        );
        assert_eq!(
            fields(&request("GET", &[json])),
            [("content-type".to_owned(), "application/json".to_owned())]
        );
    }

    #[test]
    fn limits_give_what_is_left_and_name_themselves_in_their_errors() {
        let limits = Limits {
            connect_ms: 1,
            first_byte_ms: 2_000,
            between_bytes_ms: 3_000,
            total_ms: 5_000,
            max_body: 10,
        };
        let started = 7_000_000_000;
        assert_eq!(
            limits.remaining_ns(started, started + ms_to_ns(1_500)),
            Some(ms_to_ns(3_500))
        );
        assert_eq!(
            limits.remaining_ns(started, started + ms_to_ns(9_000)),
            Some(0)
        );
        let open = Limits {
            total_ms: 0,
            ..limits
        };
        assert_eq!(open.remaining_ns(started, started), None);
        assert_eq!(limits.host_between_bytes_ns(), ms_to_ns(4_000));
        assert!(matches!(limits.deadline_error("GET /models"),
            Error::Timeout(m) if m == "GET /models took longer than 5000 ms"));
        assert!(matches!(limits.first_byte_error("GET /models"),
            Error::Timeout(m) if m == "GET /models: no response within 2000 ms"));
        assert!(limits.check_body("GET /models", 6, 4).is_ok());
        assert!(matches!(limits.check_body("GET /models", 6, 5),
            Err(Error::Protocol(m)) if m == "GET /models: the response body is larger than 10 bytes"));
        assert_eq!(
            header_pairs([("X-Request-Id".to_owned(), b"req_1\xff".to_vec())]),
            [("x-request-id".to_owned(), "req_1\u{fffd}".to_owned())]
        );
    }
}
