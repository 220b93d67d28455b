//! What every upstream route offers the client, as one trait: where a request goes, what it
//! carries, what a failed answer means, and how the answer's stream maps to unified events.
//! The client holds no knowledge of any one route: it asks [`crate::routes::of`] for the
//! route of an API and drives it through [`Route`].

use crate::catalog::base_url::BaseUrl;
use crate::catalog::ids::Route as Endpoint;
use crate::chat::{ChatEvent, ChatRequest, EventStream, StreamMapper};
use crate::error::{Error, Result};
use crate::model::{Api, Model};
use crate::routes::policy;
use crate::secrets::Secrets;

/// What a route is told of the model a request is for.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The id Mantle serves.
    pub id: &'a str,
    /// The listing's description of the model, if it has one.
    pub listed: Option<&'a Model>,
    /// Whether a stored response is asked for (the configuration's `store`; the Responses
    /// route alone has it).
    pub store: bool,
}

/// One upstream API, as the client drives it.
pub trait Route: Sync {
    /// The API this route speaks.
    fn api(&self) -> Api;

    /// The request line error messages name it by (`POST /v1/chat/completions`).
    fn name(&self) -> &'static str;

    /// The base and path of a request sent on `endpoint` (an API under a prefix) of `base`.
    fn base_and_path(&self, endpoint: Endpoint, base: &BaseUrl) -> (BaseUrl, &'static str) {
        (endpoint.prefix.base(base), endpoint.path())
    }

    /// The headers this route adds to the bearer, `content-type` and `accept` of every route.
    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// The JSON body asking for `request`'s answer as a stream; a line for each thing changed
    /// to make the request acceptable goes to `notes`.
    fn build_request(
        &self,
        request: &ChatRequest,
        target: &Target<'_>,
        notes: &mut Vec<String>,
    ) -> Result<String>;

    /// Where the models this route does not serve are served, said after Mantle's refusal.
    fn wrong_route_hint(&self) -> &'static str;

    /// What a failed answer means ([`policy::classify`] with this route's name and hint).
    fn classify_error(
        &self,
        status: u16,
        retry_after_header: Option<&str>,
        body: &[u8],
        secrets: &Secrets,
    ) -> Error {
        policy::classify(
            self.name(),
            self.wrong_route_hint(),
            status,
            retry_after_header,
            body,
            secrets,
        )
    }

    /// The unified events of a new answer body, `secrets` removed from any error.
    fn event_stream(&self, secrets: Secrets) -> Box<dyn Events>;
}

/// A route's stream of unified events, whatever its mapper.
pub trait Events {
    /// See [`EventStream::feed`].
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<ChatEvent>) -> Result<()>;
    /// See [`EventStream::end`].
    fn end(&mut self, out: &mut Vec<ChatEvent>) -> Result<()>;
    /// See [`EventStream::finished`].
    fn finished(&self) -> bool;
}

impl<M: StreamMapper> Events for EventStream<M> {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<ChatEvent>) -> Result<()> {
        EventStream::feed(self, chunk, out)
    }

    fn end(&mut self, out: &mut Vec<ChatEvent>) -> Result<()> {
        EventStream::end(self, out)
    }

    fn finished(&self) -> bool {
        EventStream::finished(self)
    }
}

/// `skip_serializing_if` for flags sent only when set.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// A position as the events carry it (bounded by the route's `MAX_TOOL_CALLS`).
pub(crate) fn ordinal(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// The largest answer the configuration allows the target (discovered limits are guesses;
/// only configured and built-in ones cap a request).
pub(crate) fn configured_cap(target: &Target<'_>) -> Option<u32> {
    target
        .listed
        .filter(|m| m.source != crate::model::ModelSource::Discovered)
        .map(|m| m.max_tokens)
}
