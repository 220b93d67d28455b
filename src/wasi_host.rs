//! The [`Host`] of the component: the WASI environment, the wall clock, and outgoing HTTP
//! through `wasi:http/outgoing-handler` with time-outs and a body cap.

use std::rc::{Rc, Weak};
use wasi::clocks::{monotonic_clock, wall_clock};
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};

use wasi::io::poll::{self, Pollable};
use wasi::io::streams::{InputStream, StreamError};

use crate::catalog::base_url;
use crate::error::{Error, Result};
use crate::http::{
    BodyReader, Host, Limits, Request, Response, Streaming, Transport, header_pairs, ms_to_ns,
};

/// Bytes asked for per read.
const READ_CHUNK: u64 = 64 * 1024;

/// The WASI host; the environment is read once.
pub struct WasiHost {
    env: Vec<(String, String)>,
    opened: BodyWatch,
}

impl WasiHost {
    /// Reads the environment.
    pub fn new() -> WasiHost {
        WasiHost {
            env: wasi::cli::environment::get_environment(),
            opened: BodyWatch::default(),
        }
    }

    /// The body of the last response [`Host::open`] gave, to wait on it with a pollable.
    pub fn opened(&self) -> BodyWatch {
        self.opened.clone()
    }
}

/// A handle on a response body that is being read, which does not keep the body alive.
#[derive(Clone, Default)]
pub struct BodyWatch(Weak<InputStream>);

impl BodyWatch {
    /// A pollable that is ready when the body has bytes, its end or an error to give;
    /// `None` when the body is gone. The pollable is a child of the body's stream: drop it
    /// before the body.
    pub fn subscribe(&self) -> Option<Pollable> {
        self.0.upgrade().map(|stream| stream.subscribe())
    }
}

impl Default for WasiHost {
    fn default() -> Self {
        WasiHost::new()
    }
}

impl Host for WasiHost {
    fn env(&self, name: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn now(&self) -> u64 {
        wall_clock::now().seconds
    }

    fn open(&mut self, request: &Request, limits: &Limits) -> Result<Streaming> {
        let what = format!("{} {}", request.method, request.url());
        let started = monotonic_clock::now();
        let future = start(request, limits).map_err(|e| transport_error(&what, e))?;
        let response = wait_response(&future, limits, started, &what)?;
        let status = response.status();
        let headers = headers_of(&response);
        let body = response
            .consume()
            .map_err(|()| Error::Protocol(format!("{what}: the response body was taken")))?;
        let stream = Rc::new(
            body.stream()
                .map_err(|()| Error::Protocol(format!("{what}: the response body was taken")))?,
        );
        self.opened = BodyWatch(Rc::downgrade(&stream));
        Ok(Streaming {
            status,
            headers,
            body: Box::new(WasiBody {
                ready: None,
                timer: None,
                stream,
                _body: body,
                _response: response,
                between_bytes_ms: limits.between_bytes_ms,
                last_data: monotonic_clock::now(),
                status,
                what,
            }),
        })
    }

    fn send(&mut self, request: &Request, limits: &Limits) -> Result<Response> {
        let what = format!("{} {}", request.method, request.url());
        let started = monotonic_clock::now();
        let response = start(request, limits).map_err(|e| transport_error(&what, e))?;
        let response = wait_response(&response, limits, started, &what)?;
        read_response(response, limits, started, &what)
    }
}

/// Why a request failed before or while reading.
pub enum Failure {
    /// A wasi-http error code.
    Code(ErrorCode),
    /// Something else, already worded.
    Other(Error),
}

/// Sends the request head and body; the response is awaited with [`wait_response`].
pub fn start(
    request: &Request,
    limits: &Limits,
) -> core::result::Result<wasi::http::types::FutureIncomingResponse, Failure> {
    let invalid = |what: &str| Failure::Other(Error::Configuration(format!("cannot send: {what}")));
    let headers =
        Fields::from_list(&request.head_fields()).map_err(|_| invalid("a header is not valid"))?;
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method {
        "POST" => Method::Post,
        _ => Method::Get,
    };
    outgoing
        .set_method(&method)
        .map_err(|_| invalid("method"))?;
    let scheme = match request.base.scheme {
        base_url::Scheme::Http => Scheme::Http,
        base_url::Scheme::Https => Scheme::Https,
    };
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|_| invalid("scheme"))?;
    outgoing
        .set_authority(Some(&request.base.authority))
        .map_err(|_| invalid("host"))?;
    let path = format!("{}{}", request.base.path, request.path);
    outgoing
        .set_path_with_query(Some(&path))
        .map_err(|_| invalid("path"))?;
    let options = RequestOptions::new();
    // A host may not support setting a time-out; the overall deadline still holds then.
    let _ = options.set_connect_timeout(Some(ms_to_ns(limits.connect_ms)));
    let _ = options.set_first_byte_timeout(Some(ms_to_ns(limits.first_byte_ms)));
    // The guest times pauses itself; the host's limit is a backstop a little later.
    let _ = options.set_between_bytes_timeout(Some(limits.host_between_bytes_ns()));

    let body = outgoing.body().map_err(|_| invalid("body"))?;
    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(Failure::Code)?;
    if !request.body.is_empty() {
        let stream = body.write().map_err(|_| invalid("body stream"))?;
        for chunk in request.body.chunks(4096) {
            if let Err(e) = stream.blocking_write_and_flush(chunk) {
                return Err(match e {
                    StreamError::LastOperationFailed(_) | StreamError::Closed => {
                        Failure::Other(Error::UpstreamUnavailable {
                            status: None,
                            message: "the connection closed while sending the request".into(),
                        })
                    }
                });
            }
        }
        drop(stream);
    }
    OutgoingBody::finish(body, None).map_err(Failure::Code)?;
    Ok(future)
}

/// Nanoseconds left before the request's overall deadline, `None` without one.
fn remaining(limits: &Limits, started: u64) -> Option<u64> {
    limits.remaining_ns(started, monotonic_clock::now())
}

/// Waits for the response head: at most `first_byte_ms`, and within the overall deadline.
pub fn wait_response(
    future: &wasi::http::types::FutureIncomingResponse,
    limits: &Limits,
    started: u64,
    what: &str,
) -> Result<IncomingResponse> {
    let first_byte_deadline = ms_to_ns(limits.first_byte_ms);
    loop {
        if let Some(result) = future.get() {
            return match result {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(code)) => Err(transport_error(what, Failure::Code(code))),
                Err(()) => Err(Error::Protocol(format!("{what}: response taken twice"))),
            };
        }
        let waited = monotonic_clock::now().saturating_sub(started);
        let for_first_byte = first_byte_deadline.saturating_sub(waited);
        let budget = match remaining(limits, started) {
            Some(total) => total.min(for_first_byte),
            None => for_first_byte,
        };
        if budget == 0 {
            return Err(if remaining(limits, started) == Some(0) {
                limits.deadline_error(what)
            } else {
                limits.first_byte_error(what)
            });
        }
        let ready = future.subscribe();
        let timer = monotonic_clock::subscribe_duration(budget);
        poll::poll(&[&ready, &timer]);
    }
}

fn headers_of(response: &IncomingResponse) -> Vec<(String, String)> {
    header_pairs(response.headers().entries())
}

/// A response body read chunk by chunk, each read bounded by the between-bytes time-out.
/// Fields drop in order: the pollables before their stream, the stream before its body, the
/// body before its response.
struct WasiBody {
    /// The stream's pollable, made at the first wait and kept for the next ones.
    ready: Option<Pollable>,
    /// A timer kept across waits while it has not fired, and when it fires (monotonic
    /// clock): no wait ends later than a fresh timer would have, and the steady case of
    /// events arriving well within the time-out makes one timer, not one per chunk.
    timer: Option<(Pollable, u64)>,
    stream: Rc<InputStream>,
    _body: IncomingBody,
    _response: IncomingResponse,
    between_bytes_ms: u64,
    /// When bytes last arrived (monotonic clock), for [`BodyReader::try_next_chunk`].
    last_data: u64,
    status: u16,
    what: String,
}

impl WasiBody {
    /// Waits until the stream has something to give, or fails at `deadline`.
    fn wait_until(&mut self, deadline: u64) -> Result<()> {
        let ready = self.ready.get_or_insert_with(|| self.stream.subscribe());
        loop {
            let now = monotonic_clock::now();
            if now >= deadline {
                return Err(Error::Timeout(format!(
                    "{}: the stream stalled for {} ms",
                    self.what, self.between_bytes_ms
                )));
            }
            // A kept timer fires no later than this wait's deadline; one that would fire
            // later (the time-out is shorter now) is replaced.
            if self.timer.as_ref().is_some_and(|(_, at)| *at > deadline) {
                self.timer = None;
            }
            let (timer, _) = self.timer.get_or_insert_with(|| {
                (
                    monotonic_clock::subscribe_duration(deadline - now),
                    deadline,
                )
            });
            if poll::poll(&[ready, timer]).contains(&0) {
                return Ok(());
            }
            // The timer fired: early for this wait, or at its deadline (checked above).
            self.timer = None;
        }
    }

    fn read_failed(&self, e: wasi::io::error::Error) -> Error {
        let detail = e.to_debug_string();
        match wasi::http::types::http_error_code(&e) {
            Some(code) => transport_error(&self.what, Failure::Code(code)),
            None if detail.contains("timeout") => {
                Error::Timeout(format!("{}: the stream stalled ({detail})", self.what))
            }
            None => Error::UpstreamUnavailable {
                status: Some(self.status),
                message: format!("{}: reading the body failed: {detail}", self.what),
            },
        }
    }
}

impl BodyReader for WasiBody {
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        // Data that is already there is read at once; only an empty read waits, at most the
        // between-bytes time-out from the start of the wait.
        let mut wait = false;
        loop {
            if wait {
                let deadline =
                    monotonic_clock::now().saturating_add(ms_to_ns(self.between_bytes_ms));
                self.wait_until(deadline)?;
            }
            wait = true;
            match self.stream.read(READ_CHUNK) {
                Ok(bytes) if bytes.is_empty() => continue,
                Ok(bytes) => {
                    self.last_data = monotonic_clock::now();
                    return Ok(Some(bytes));
                }
                Err(StreamError::Closed) => return Ok(None),
                Err(StreamError::LastOperationFailed(e)) => return Err(self.read_failed(e)),
            }
        }
    }

    /// One read that does not wait. With nothing there it checks the between-bytes time-out
    /// against the last bytes' arrival, since no timer runs while the caller waits.
    /// A failure after a pause longer than the between-bytes time-out (the host's backstop
    /// fires a little later than the guest's limit) is reported as the guest's own time-out.
    fn try_next_chunk(&mut self) -> Option<Result<Option<Vec<u8>>>> {
        let read = self.stream.read(READ_CHUNK);
        if let Ok(bytes) = &read
            && !bytes.is_empty()
        {
            self.last_data = monotonic_clock::now();
        } else if !matches!(read, Err(StreamError::Closed)) {
            let quiet = monotonic_clock::now().saturating_sub(self.last_data);
            if quiet > ms_to_ns(self.between_bytes_ms) {
                return Some(Err(Error::Timeout(format!(
                    "{}: the stream stalled for {} ms",
                    self.what, self.between_bytes_ms
                ))));
            }
        }
        match read {
            Ok(bytes) if bytes.is_empty() => None,
            Ok(bytes) => Some(Ok(Some(bytes))),
            Err(StreamError::Closed) => Some(Ok(None)),
            Err(StreamError::LastOperationFailed(e)) => Some(Err(self.read_failed(e))),
        }
    }
}

fn read_response(
    response: IncomingResponse,
    limits: &Limits,
    started: u64,
    what: &str,
) -> Result<Response> {
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    let body = response
        .consume()
        .map_err(|()| Error::Protocol(format!("{what}: the response body was taken")))?;
    let stream = body
        .stream()
        .map_err(|()| Error::Protocol(format!("{what}: the response body was taken")))?;
    let mut data = Vec::new();
    loop {
        let ready = stream.subscribe();
        match remaining(limits, started) {
            Some(0) => return Err(limits.deadline_error(what)),
            Some(ns) => {
                let timer = monotonic_clock::subscribe_duration(ns);
                let woken = poll::poll(&[&ready, &timer]);
                if !woken.contains(&0) {
                    return Err(limits.deadline_error(what));
                }
            }
            None => ready.block(),
        }
        match stream.read(READ_CHUNK) {
            Ok(bytes) => {
                limits.check_body(what, data.len(), bytes.len())?;
                data.extend_from_slice(&bytes);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                let code = wasi::http::types::http_error_code(&e);
                return Err(match code {
                    Some(code) => transport_error(what, Failure::Code(code)),
                    None => Error::UpstreamUnavailable {
                        status: Some(status),
                        message: format!(
                            "{what}: reading the body failed: {}",
                            e.to_debug_string()
                        ),
                    },
                });
            }
        }
    }
    drop(stream);
    Ok(Response {
        status,
        headers,
        body: data,
    })
}

/// Words a transport failure as the provider's error ([`Transport::error`]).
pub fn transport_error(what: &str, failure: Failure) -> Error {
    let code = match failure {
        Failure::Other(e) => return e,
        Failure::Code(code) => code,
    };
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
