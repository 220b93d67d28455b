//! The provider's [`Host`] port on WASI 0.3: the environment, the system clock, and outgoing
//! HTTP through `wasi:http/client@0.3.0`, each asynchronous call waited for with `block_on`,
//! with the same time-outs and body cap as the WASI 0.2 port
//! ([`mantle_provider::wasi_host`]).

use core::pin::pin;
use futures::future::{Either, join, select};
use mantle_provider::catalog::base_url;
use mantle_provider::error::{Error, Result};
use mantle_provider::http::{
    BodyReader, Host, Limits, Request, Response, Streaming, Transport, header_pairs, ms_to_ns,
};
use spin_sdk_7::wasip3::clocks::{monotonic_clock, system_clock};
use spin_sdk_7::wasip3::http::client;
use spin_sdk_7::wasip3::http::types::{
    ErrorCode, Fields, Method, Request as Outgoing, RequestOptions, Response as Incoming, Scheme,
};
use spin_sdk_7::wasip3::wit_future;
use spin_sdk_7::wasip3::wit_stream;
use spin_sdk_7::wit_bindgen::{
    FutureReader, FutureWriter, StreamReader, StreamResult, StreamWriter, block_on,
};

/// Bytes asked for per read.
const READ_CHUNK: usize = 64 * 1024;

/// The WASI 0.3 host; the environment is read once.
pub(crate) struct P3Host {
    env: Vec<(String, String)>,
}

impl P3Host {
    /// Reads the environment.
    pub(crate) fn new() -> P3Host {
        P3Host {
            env: spin_sdk_7::wasip3::cli::environment::get_environment(),
        }
    }
}

/// Nanoseconds left before the request's overall deadline, `None` without one.
fn remaining(limits: &Limits, started: u64) -> Option<u64> {
    limits.remaining_ns(started, monotonic_clock::now())
}

impl Host for P3Host {
    fn env(&self, name: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn now(&self) -> u64 {
        u64::try_from(system_clock::now().seconds).unwrap_or(0)
    }

    fn send(&mut self, request: &Request, limits: &Limits) -> Result<Response> {
        let what = format!("{} {}", request.method, request.url());
        let started = monotonic_clock::now();
        let head = block_on(exchange(request, limits, started, &what))?;
        let status = head.get_status_code();
        let headers = headers_of(&head);
        let mut body = Body::of(head, limits.between_bytes_ms, status, what.clone());
        let mut data = Vec::new();
        loop {
            let budget = remaining(limits, started);
            if budget == Some(0) {
                return Err(limits.deadline_error(&what));
            }
            let chunk = match body.read(budget.unwrap_or(u64::MAX)) {
                Err(Error::Timeout(_)) if remaining(limits, started) == Some(0) => {
                    return Err(limits.deadline_error(&what));
                }
                other => other?,
            };
            let Some(chunk) = chunk else { break };
            limits.check_body(&what, data.len(), chunk.len())?;
            data.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body: data,
        })
    }

    fn open(&mut self, request: &Request, limits: &Limits) -> Result<Streaming> {
        let what = format!("{} {}", request.method, request.url());
        let started = monotonic_clock::now();
        let head = block_on(exchange(request, limits, started, &what))?;
        let status = head.get_status_code();
        let headers = headers_of(&head);
        Ok(Streaming {
            status,
            headers,
            body: Box::new(Body::of(head, limits.between_bytes_ms, status, what)),
        })
    }
}

/// The writing end of a body's trailers.
type TrailersWriter = FutureWriter<Result<Option<Fields>, ErrorCode>>;

/// An outgoing request, with the ends its body and trailers are written to.
struct Prepared {
    request: Outgoing,
    /// `None` for a request without a body.
    body: Option<StreamWriter<u8>>,
    trailers: TrailersWriter,
}

/// The outgoing request, with its head and options; its body is written by [`exchange`].
fn outgoing(request: &Request, limits: &Limits) -> Result<Prepared> {
    let invalid = |what: &str| Error::Configuration(format!("cannot send: {what}"));
    let headers =
        Fields::from_list(&request.head_fields()).map_err(|_| invalid("a header is not valid"))?;
    let options = RequestOptions::new();
    // A host may not support setting a time-out; the overall deadline still holds then.
    let _ = options.set_connect_timeout(Some(ms_to_ns(limits.connect_ms)));
    let _ = options.set_first_byte_timeout(Some(ms_to_ns(limits.first_byte_ms)));
    // The guest times pauses itself; the host's limit is a backstop a little later.
    let _ = options.set_between_bytes_timeout(Some(limits.host_between_bytes_ns()));
    let (trailers, no_trailers) = wit_future::new::<Result<Option<Fields>, ErrorCode>>(|| Ok(None));
    let (writer, contents) = if request.body.is_empty() {
        (None, None)
    } else {
        let (writer, reader) = wit_stream::new::<u8>();
        (Some(writer), Some(reader))
    };
    let (outgoing, _sent) = Outgoing::new(headers, contents, no_trailers, Some(options));
    let method = match request.method {
        "POST" => Method::Post,
        _ => Method::Get,
    };
    outgoing
        .set_method(&method)
        .map_err(|()| invalid("method"))?;
    let scheme = match request.base.scheme {
        base_url::Scheme::Http => Scheme::Http,
        base_url::Scheme::Https => Scheme::Https,
    };
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    outgoing
        .set_authority(Some(&request.base.authority))
        .map_err(|()| invalid("host"))?;
    let path = format!("{}{}", request.base.path, request.path);
    outgoing
        .set_path_with_query(Some(&path))
        .map_err(|()| invalid("path"))?;
    Ok(Prepared {
        request: outgoing,
        body: writer,
        trailers,
    })
}

/// Sends the request and writes its body; the response head comes back within
/// `first_byte_ms` and the overall deadline.
async fn exchange(
    request: &Request,
    limits: &Limits,
    started: u64,
    what: &str,
) -> Result<Incoming> {
    let Prepared {
        request: outgoing,
        body: writer,
        trailers,
    } = outgoing(request, limits)?;
    let body = request.body.clone();
    let write = async move {
        let Some(mut writer) = writer else {
            return Ok(());
        };
        let left = writer.write_all(body).await;
        drop(writer);
        drop(trailers);
        if left.is_empty() {
            Ok(())
        } else {
            Err(Error::UpstreamUnavailable {
                status: None,
                message: "the connection closed while sending the request".into(),
            })
        }
    };
    let sent = async {
        let (written, answered) = join(write, client::send(outgoing)).await;
        let response = answered.map_err(|code| transport_error(what, code))?;
        written?;
        Ok(response)
    };
    let for_first_byte = ms_to_ns(limits.first_byte_ms);
    let budget = match remaining(limits, started) {
        Some(total) => total.min(for_first_byte),
        None => for_first_byte,
    };
    match select(pin!(sent), pin!(monotonic_clock::wait_for(budget))).await {
        Either::Left((response, _)) => response,
        Either::Right(_) if remaining(limits, started) == Some(0) => {
            Err(limits.deadline_error(what))
        }
        Either::Right(_) => Err(limits.first_byte_error(what)),
    }
}

fn headers_of(response: &Incoming) -> Vec<(String, String)> {
    header_pairs(response.get_headers().copy_all())
}

/// A response body read chunk by chunk, each read bounded by the between-bytes time-out.
struct Body {
    stream: StreamReader<u8>,
    /// What ends the body: its trailers, or the error that broke it off.
    trailers: Option<FutureReader<Result<Option<Fields>, ErrorCode>>>,
    /// Resolved when the body is dropped: the face has read what it wanted.
    _done: FutureWriter<Result<(), ErrorCode>>,
    between_bytes_ms: u64,
    status: u16,
    what: String,
}

impl Body {
    fn of(response: Incoming, between_bytes_ms: u64, status: u16, what: String) -> Body {
        let (done, done_reader) = wit_future::new::<Result<(), ErrorCode>>(|| Ok(()));
        let (stream, trailers) = Incoming::consume_body(response, done_reader);
        Body {
            stream,
            trailers: Some(trailers),
            _done: done,
            between_bytes_ms,
            status,
            what,
        }
    }

    /// The next bytes, waiting at most the between-bytes time-out (and `budget_ns`); `None`
    /// at the end of the body.
    fn read(&mut self, budget_ns: u64) -> Result<Option<Vec<u8>>> {
        let wait = ms_to_ns(self.between_bytes_ms).min(budget_ns);
        block_on(async {
            loop {
                let read = self.stream.read(Vec::with_capacity(READ_CHUNK));
                let timer = monotonic_clock::wait_for(wait);
                let (status, chunk) = match select(pin!(read), pin!(timer)).await {
                    Either::Left((read, _)) => read,
                    Either::Right(_) => {
                        return Err(Error::Timeout(format!(
                            "{}: the stream stalled for {} ms",
                            self.what, self.between_bytes_ms
                        )));
                    }
                };
                match status {
                    StreamResult::Complete(_) if chunk.is_empty() => {}
                    StreamResult::Complete(_) => return Ok(Some(chunk)),
                    StreamResult::Cancelled => {}
                    StreamResult::Dropped => return self.ended().await,
                }
            }
        })
    }

    /// The end of the body: `None`, or the error that broke it off.
    async fn ended(&mut self) -> Result<Option<Vec<u8>>> {
        let Some(trailers) = self.trailers.take() else {
            return Ok(None);
        };
        match trailers.await {
            Ok(_) => Ok(None),
            Err(code) => Err(match transport_error(&self.what, code) {
                Error::UpstreamUnavailable {
                    status: None,
                    message,
                } => Error::UpstreamUnavailable {
                    status: Some(self.status),
                    message: format!("{message} (reading the body)"),
                },
                other => other,
            }),
        }
    }
}

impl BodyReader for Body {
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        self.read(u64::MAX)
    }
}

/// Words a transport failure as the provider's error, in the words the WASI 0.2 port uses
/// ([`Transport::error`]).
fn transport_error(what: &str, code: ErrorCode) -> Error {
    let transport = match code {
        ErrorCode::ConnectionTimeout => Transport::ConnectTimeout,
        ErrorCode::ConnectionReadTimeout => Transport::ReadTimeout,
        ErrorCode::ConnectionWriteTimeout => Transport::WriteTimeout,
        ErrorCode::HttpResponseTimeout => Transport::ResponseTimeout,
        ErrorCode::ConnectionRefused => Transport::Refused,
        ErrorCode::DnsError(_) => Transport::NoSuchHost,
        ErrorCode::HttpRequestDenied => Transport::Denied,
        other => Transport::Other(format!("{other:?}")),
    };
    transport.error(what)
}
