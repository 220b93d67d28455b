//! The face on spin-sdk 5.2 (WASI 0.2): the Spin entry point (`wasi:http/incoming-handler`)
//! and its I/O (variables, key-value, wasi-http), for [`crate::gateway`].

use crate::gateway::{self, Io};
use mantle_provider::Error;
use mantle_provider::wasi_host::WasiHost;
use spin_sdk::http::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};
use spin_sdk::{key_value, variables};
use wasi::io::streams::OutputStream;

#[allow(unsafe_code)]
mod entry {
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;

    /// The Spin entry point.
    #[http_component]
    async fn handle(request: IncomingRequest, out: ResponseOutparam) {
        crate::access::begin();
        crate::gateway::handle::<super::Spin>(request, out).await;
        crate::gateway::write_access_record();
    }
}

/// The I/O of spin-sdk 5.2.
pub(crate) struct Spin;

impl Io for Spin {
    type Request = IncomingRequest;
    type Out = ResponseOutparam;
    type Answer = Answer;
    type Host = WasiHost;

    fn variable(name: &str) -> Result<Option<String>, String> {
        match variables::get(name) {
            Ok(v) => Ok(Some(v)),
            Err(variables::Error::Undefined(_)) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn load(key: &str) -> Option<Vec<u8>> {
        key_value::Store::open_default().ok()?.get(key).ok()?
    }

    fn keep(key: &str, value: &[u8]) -> Option<Result<(), String>> {
        let store = key_value::Store::open_default().ok()?;
        Some(store.set(key, value).map_err(|e| e.to_string()))
    }

    fn host() -> WasiHost {
        WasiHost::new()
    }

    fn header(request: &IncomingRequest, name: &str) -> Vec<Vec<u8>> {
        request.headers().get(name)
    }

    fn method(request: &IncomingRequest) -> String {
        request.method().to_string()
    }

    fn path_with_query(request: &IncomingRequest) -> Option<String> {
        request.path_with_query()
    }

    async fn read_body(request: IncomingRequest, max: usize) -> Result<Vec<u8>, Error> {
        use futures::StreamExt;
        let declared = gateway::body_budget(&request.headers().get("content-length"), max)?;
        let mut body = Vec::with_capacity(declared);
        let mut stream = request.into_body_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| Error::InvalidRequest(format!("cannot read the request body: {e}")))?;
            gateway::take_chunk(&mut body, &chunk, max)?;
        }
        Ok(body)
    }

    async fn start(out: ResponseOutparam, status: u16, headers: &[(&str, &str)]) -> Answer {
        let entries: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect();
        let fields = Fields::from_list(&entries).unwrap_or_else(|_| Fields::new());
        let response = OutgoingResponse::new(fields);
        let _ = response.set_status_code(status);
        let body = response.body().ok();
        out.set(response);
        let stream = body.as_ref().and_then(|b| b.write().ok());
        Answer { stream, body }
    }
}

/// Most bytes one `blocking-write-and-flush` call may take (WASI 0.2).
const WRITE_MAX: usize = 4096;

/// An answer's body. A piece of up to 4,096 bytes (an event) goes with one blocking
/// write-and-flush: one host call per frame, where the SDK's sink makes five (check, write,
/// check, flush, check). A larger piece (a whole answer) is written as the stream has room and
/// flushed once, so the host can send it in one go: in pieces, on a kept-alive connection to a
/// host whose socket delays small writes (Spin 4.1), the second piece waited for the client's
/// delayed acknowledgement, about 40 ms. Writing waits while the client is slow to read; the
/// body is finished when this is dropped.
pub(crate) struct Answer {
    stream: Option<OutputStream>,
    body: Option<OutgoingBody>,
}

impl gateway::Answer for Answer {
    async fn send(&mut self, mut data: &[u8]) -> Result<(), ()> {
        let Some(stream) = &self.stream else {
            return Err(());
        };
        if data.len() <= WRITE_MAX {
            return stream.blocking_write_and_flush(data).map_err(|_| ());
        }
        while !data.is_empty() {
            let room = loop {
                match stream.check_write() {
                    Ok(0) => stream.subscribe().block(),
                    Ok(n) => break usize::try_from(n).unwrap_or(usize::MAX),
                    Err(_) => return Err(()),
                }
            };
            let (now, rest) = data.split_at(data.len().min(room));
            stream.write(now).map_err(|_| ())?;
            data = rest;
        }
        stream.blocking_flush().map_err(|_| ())
    }

    fn finish(&mut self) {
        gateway::write_access_record();
        drop(self.stream.take());
        if let Some(body) = self.body.take() {
            let _ = OutgoingBody::finish(body, None);
        }
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        gateway::Answer::finish(self);
    }
}
