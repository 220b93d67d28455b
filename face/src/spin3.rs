//! The face on spin-sdk 7 (WASI 0.3): the Spin entry point (`wasi:http/handler@0.3.0`) and its
//! I/O (`spin:variables@3.0.0`, key-value, `stream<u8>` bodies), for [`crate::gateway`].
//!
//! The face's logic is synchronous over the provider's [`mantle_provider::http::Host`] port;
//! here each asynchronous import it needs on the way (a variable, a key-value read or write,
//! an outgoing request and its body's chunks, the provider's `wasi3_host`) is waited for with
//! `block_on`, which a task of an `async` export such as `handle` may do. The answer's head is the export's
//! result: the request is served by a task spawned beside it, which hands the head over as
//! soon as it has one and then writes the body, frame by frame as the upstream's arrive.

use crate::gateway::{self, Io};
use futures::channel::oneshot;
use mantle_provider::Error;
use mantle_provider::wasi3_host::P3Host;
use spin_sdk_7::wasip3::http::types::{ErrorCode, Fields, Method, Request, Response};
use spin_sdk_7::wasip3::{wit_future, wit_stream};
use spin_sdk_7::wit_bindgen::{FutureWriter, StreamResult, StreamWriter, block_on};
use spin_sdk_7::{key_value, variables};

/// Bytes asked for per read of the request body.
const READ_CHUNK: usize = 64 * 1024;

/// The Spin entry point.
struct Handler;

spin_sdk_7::wasip3::http::service::export!(Handler with_types_in spin_sdk_7::wasip3);

impl spin_sdk_7::wasip3::exports::http::handler::Guest for Handler {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let (head, answered) = oneshot::channel();
        spin_sdk_7::wasip3::spawn(async move {
            crate::access::begin();
            gateway::handle::<Spin3>(request, Out(head)).await;
            gateway::write_access_record();
        });
        answered
            .await
            .map_err(|_| ErrorCode::InternalError(Some("the face gave no answer".into())))
    }
}

/// Where the answer's head goes: the export's result.
pub(crate) struct Out(oneshot::Sender<Response>);

/// The I/O of spin-sdk 7.
pub(crate) struct Spin3;

impl Io for Spin3 {
    type Request = Request;
    type Out = Out;
    type Answer = Answer;
    type Host = P3Host;

    fn variable(name: &str) -> Result<Option<String>, String> {
        match block_on(variables::get(name)) {
            Ok(v) => Ok(Some(v)),
            Err(variables::Error::Undefined(_)) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn load(key: &str) -> Option<Vec<u8>> {
        block_on(async {
            let store = key_value::Store::open_default().await.ok()?;
            store.get(key).await.ok()?
        })
    }

    fn keep(key: &str, value: &[u8]) -> Option<Result<(), String>> {
        block_on(async {
            let store = key_value::Store::open_default().await.ok()?;
            Some(store.set(key, value).await.map_err(|e| e.to_string()))
        })
    }

    fn host() -> P3Host {
        P3Host::new()
    }

    fn header(request: &Request, name: &str) -> Vec<Vec<u8>> {
        request.get_headers().get(name)
    }

    fn method(request: &Request) -> String {
        match request.get_method() {
            Method::Get => "GET".into(),
            Method::Head => "HEAD".into(),
            Method::Post => "POST".into(),
            Method::Put => "PUT".into(),
            Method::Delete => "DELETE".into(),
            Method::Connect => "CONNECT".into(),
            Method::Options => "OPTIONS".into(),
            Method::Trace => "TRACE".into(),
            Method::Patch => "PATCH".into(),
            Method::Other(other) => other,
        }
    }

    fn path_with_query(request: &Request) -> Option<String> {
        request.get_path_with_query()
    }

    async fn read_body(request: Request, max: usize) -> Result<Vec<u8>, Error> {
        let declared = gateway::body_budget(&request.get_headers().get("content-length"), max)?;
        let mut body = Vec::with_capacity(declared);
        let (_done, done) = wit_future::new::<Result<(), ErrorCode>>(|| Ok(()));
        let (mut stream, trailers) = Request::consume_body(request, done);
        loop {
            let (status, chunk) = stream.read(Vec::with_capacity(READ_CHUNK)).await;
            match status {
                StreamResult::Complete(_) => gateway::take_chunk(&mut body, &chunk, max)?,
                StreamResult::Cancelled => {}
                StreamResult::Dropped => break,
            }
        }
        match trailers.await {
            Ok(_) => Ok(body),
            Err(e) => Err(Error::InvalidRequest(format!(
                "cannot read the request body: {e:?}"
            ))),
        }
    }

    async fn start(out: Out, status: u16, headers: &[(&str, &str)]) -> Answer {
        let entries: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect();
        let fields = Fields::from_list(&entries).unwrap_or_else(|_| Fields::new());
        let (body, contents) = wit_stream::new::<u8>();
        let (trailers, no_trailers) =
            wit_future::new::<Result<Option<Fields>, ErrorCode>>(|| Ok(None));
        let (response, _sent) = Response::new(fields, Some(contents), no_trailers);
        let _ = response.set_status_code(status);
        let gone = out.0.send(response).is_err();
        Answer {
            body: (!gone).then_some(body),
            trailers: Some(trailers),
        }
    }
}

/// An answer's body, a `stream<u8>`: each write waits until the client's side has taken it.
/// The body ends (no trailers) when this is dropped.
pub(crate) struct Answer {
    body: Option<StreamWriter<u8>>,
    trailers: Option<FutureWriter<Result<Option<Fields>, ErrorCode>>>,
}

impl gateway::Answer for Answer {
    async fn send(&mut self, data: &[u8]) -> Result<(), ()> {
        let Some(body) = &mut self.body else {
            return Err(());
        };
        let left = body.write_all(data.to_vec()).await;
        if left.is_empty() { Ok(()) } else { Err(()) }
    }

    fn finish(&mut self) {
        gateway::write_access_record();
        drop(self.body.take());
        drop(self.trailers.take());
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        gateway::Answer::finish(self);
    }
}
