//! The provider's [`Host`] port on WASI 0.3: the environment, the system clock, and outgoing
//! HTTP through `wasi:http/client@0.3.0`, with the same time-outs and body cap as the WASI 0.2
//! port ([`crate::wasi_host`]).
//!
//! The port is synchronous, so each asynchronous call it makes is waited for with `block_on`,
//! which a task of an `async` export may do (it holds up the instance meanwhile). A streamed
//! body can also be read without waiting: inside [`polling`], [`BodyReader::try_next_chunk`]
//! polls the read in the caller's task, whose waker it wakes when bytes, the end, or the
//! between-bytes time-out arrive, so an `async` export can turn an answer into events as its
//! bytes come in and await between them.

use core::future::{Future, IntoFuture};
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::cell::RefCell;

use crate::catalog::base_url;
use crate::error::{Error, Result};
use crate::http::{
    BodyReader, Host, Limits, Request, Response, Streaming, Transport, header_pairs, ms_to_ns,
};
use futures::future::{Either, join, select};
use wasip3::clocks::{monotonic_clock, system_clock};
use wasip3::http::client;
use wasip3::http::types::{
    ErrorCode, Fields, Method, Request as Outgoing, RequestOptions, Response as Incoming, Scheme,
};
use wasip3::wit_bindgen::{FutureWriter, StreamReader, StreamResult, StreamWriter, block_on};
use wasip3::{wit_future, wit_stream};

/// Bytes asked for per read.
const READ_CHUNK: usize = 64 * 1024;

/// The WASI 0.3 host; the environment is read once.
pub struct P3Host {
    env: Vec<(String, String)>,
}

impl P3Host {
    /// Reads the environment.
    pub fn new() -> P3Host {
        P3Host {
            env: wasip3::cli::environment::get_environment(),
        }
    }
}

impl Default for P3Host {
    fn default() -> Self {
        P3Host::new()
    }
}

std::thread_local! {
    /// The waker of the task that reads bodies without waiting, inside [`polling`].
    static WAKER: RefCell<Option<Waker>> = const { RefCell::new(None) };
}

/// Runs `f`, in which a body's [`BodyReader::try_next_chunk`] polls its read in the task of
/// `cx` instead of waiting for it: when it says nothing has arrived yet, `cx`'s waker is woken
/// once bytes, the end of the body or the between-bytes time-out are there.
pub fn polling<T>(cx: &Context<'_>, f: impl FnOnce() -> T) -> T {
    WAKER.with(|w| *w.borrow_mut() = Some(cx.waker().clone()));
    let out = f();
    WAKER.with(|w| *w.borrow_mut() = None);
    out
}

fn current_waker() -> Option<Waker> {
    WAKER.with(|w| w.borrow().clone())
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

/// A read of the body in flight, which owns the stream until it completes.
type Read = Pin<Box<dyn Future<Output = (StreamReader<u8>, StreamResult, Vec<u8>)>>>;

/// What ends a body: its trailers, or the error that broke it off.
type Trailers = Pin<Box<dyn Future<Output = Result<Option<Fields>, ErrorCode>>>>;

/// A response body read chunk by chunk, each read bounded by the between-bytes time-out.
struct Body {
    /// The stream, when no read is in flight.
    stream: Option<StreamReader<u8>>,
    /// The read [`BodyReader::try_next_chunk`] started and has not seen complete.
    read: Option<Read>,
    /// The between-bytes timer of that read.
    timer: Option<Pin<Box<dyn Future<Output = ()>>>>,
    /// What ends the body.
    trailers: Option<Trailers>,
    /// Resolved when the body is dropped: the provider has read what it wanted.
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
            stream: Some(stream),
            read: None,
            timer: None,
            trailers: Some(Box::pin(trailers.into_future())),
            _done: done,
            between_bytes_ms,
            status,
            what,
        }
    }

    /// The next bytes, waiting at most the between-bytes time-out (and `budget_ns`); `None`
    /// at the end of the body.
    fn read(&mut self, budget_ns: u64) -> Result<Option<Vec<u8>>> {
        if self.read.is_some() {
            // A read started without waiting: finish it in this task.
            return block_on(futures::future::poll_fn(|cx| self.poll_chunk(cx)));
        }
        let wait = ms_to_ns(self.between_bytes_ms).min(budget_ns);
        let Some(stream) = self.stream.as_mut() else {
            return self.end_now();
        };
        let (what, between_bytes_ms) = (&self.what, self.between_bytes_ms);
        block_on(async {
            loop {
                let read = stream.read(Vec::with_capacity(READ_CHUNK));
                let timer = monotonic_clock::wait_for(wait);
                let (status, chunk) = match select(pin!(read), pin!(timer)).await {
                    Either::Left((read, _)) => read,
                    Either::Right(_) => return Err(stalled(what, between_bytes_ms)),
                };
                match status {
                    StreamResult::Complete(_) if chunk.is_empty() => {}
                    StreamResult::Complete(_) => return Ok(Some(chunk)),
                    StreamResult::Cancelled => {}
                    StreamResult::Dropped => return Ok(None),
                }
            }
        })
        .map_or_else(Err, |chunk| match chunk {
            Some(chunk) => Ok(Some(chunk)),
            None => self.end_now(),
        })
    }

    /// The end of the body, waited for: `None`, or the error that broke it off.
    fn end_now(&mut self) -> Result<Option<Vec<u8>>> {
        self.stream = None;
        match self.trailers.take() {
            Some(trailers) => self.ended(block_on(trailers)),
            None => Ok(None),
        }
    }

    /// The end of the body as its trailers say it.
    fn ended(&self, trailers: Result<Option<Fields>, ErrorCode>) -> Result<Option<Vec<u8>>> {
        match trailers {
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

    /// [`BodyReader::try_next_chunk`] in the task of `cx`.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Vec<u8>>>> {
        loop {
            if self.stream.is_none() && self.read.is_none() {
                let Some(trailers) = self.trailers.as_mut() else {
                    return Poll::Ready(Ok(None));
                };
                let end = core::task::ready!(trailers.as_mut().poll(cx));
                self.trailers = None;
                return Poll::Ready(self.ended(end));
            }
            if let Some(mut stream) = self.stream.take() {
                self.read = Some(Box::pin(async move {
                    let (status, chunk) = stream.read(Vec::with_capacity(READ_CHUNK)).await;
                    (stream, status, chunk)
                }));
            }
            let Some(read) = self.read.as_mut() else {
                continue;
            };
            let Poll::Ready((stream, status, chunk)) = read.as_mut().poll(cx) else {
                let wait = ms_to_ns(self.between_bytes_ms);
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(monotonic_clock::wait_for(wait)));
                return match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(stalled(&self.what, self.between_bytes_ms))),
                    Poll::Pending => Poll::Pending,
                };
            };
            self.read = None;
            match status {
                StreamResult::Complete(_) if !chunk.is_empty() => {
                    self.stream = Some(stream);
                    self.timer = None;
                    return Poll::Ready(Ok(Some(chunk)));
                }
                StreamResult::Complete(_) | StreamResult::Cancelled => self.stream = Some(stream),
                StreamResult::Dropped => {}
            }
        }
    }
}

/// The error of a body that sent nothing for `between_bytes_ms`.
fn stalled(what: &str, between_bytes_ms: u64) -> Error {
    Error::Timeout(format!(
        "{what}: the stream stalled for {between_bytes_ms} ms"
    ))
}

impl BodyReader for Body {
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        self.read(u64::MAX)
    }

    /// Inside [`polling`], never waits; elsewhere waits as [`BodyReader::next_chunk`] does.
    fn try_next_chunk(&mut self) -> Option<Result<Option<Vec<u8>>>> {
        match current_waker() {
            Some(waker) => match self.poll_chunk(&mut Context::from_waker(&waker)) {
                Poll::Ready(chunk) => Some(chunk),
                Poll::Pending => None,
            },
            None => Some(self.next_chunk()),
        }
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
