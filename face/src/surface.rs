//! The three client APIs the face speaks, as one trait: how a surface reads a request,
//! writes a streamed answer, collects a whole one, and answers an error. The Spin entry
//! drives every translated request through [`Surface`], whichever API it came in.

use mantle_provider::chat::{ChatEvent, ChatRequest};
use mantle_provider::client::AnswerHeaders;
use mantle_provider::error::{Error, Result};

use crate::messages::{self, EventWriter, MessageCollector, ParsedMessages};
use crate::openai::{self, ChunkWriter, Collector, ErrorResponse, ParsedChat};
use crate::responses::{self, ParsedResponses, ResponsesWriter};

/// One client API: chat completions ([`ChatCompletions`]), Responses ([`Responses`]) or
/// Anthropic Messages ([`Messages`]).
pub trait Surface {
    /// A request as read: the provider's chat request and how the client wants the answer.
    type Parsed;
    /// Writes a streamed answer.
    type Writer: FrameWriter;
    /// Gathers a whole answer.
    type Collector: Collect;

    /// Reads a request body; an error names what is wrong, and where.
    fn parse(body: &[u8]) -> Result<Self::Parsed>;
    /// The provider's chat request of a parsed request.
    fn request(parsed: &mut Self::Parsed) -> &mut ChatRequest;
    /// Whether the client asked for a stream.
    fn streams(parsed: &Self::Parsed) -> bool;
    /// The writer of a streamed answer naming `model`, created at `created`.
    fn writer(parsed: &Self::Parsed, model: &str, created: u64) -> Self::Writer;
    /// The collector of a whole answer naming `model`, created at `created`.
    fn collector(parsed: &Self::Parsed, model: &str, created: u64) -> Self::Collector;
    /// The answer to an error, in this surface's shape ([`mantle_provider::routes::policy`]
    /// gives the status).
    fn error_response(error: &Error) -> ErrorResponse;
    /// The headers passed on from Mantle's answer (request id, quota), in this surface's
    /// names.
    fn answer_headers(answer: &AnswerHeaders) -> Vec<(String, String)>;
    /// The body of a 403 to a key whose allowlist leaves out the model, in this surface's
    /// shape; `message` names the model.
    fn not_allowed(message: &str) -> Vec<u8> {
        openai::openai_error(message, "invalid_request_error", "model_not_allowed")
    }
}

/// What turns the provider's events into a streamed answer's frames.
pub trait FrameWriter {
    /// Appends the frames of one event.
    fn event(&mut self, event: &ChatEvent, out: &mut Vec<u8>);
    /// Appends the frame that ends the answer with an error.
    fn error(&mut self, error: &Error, out: &mut Vec<u8>);
    /// Appends what follows the last event of a whole answer (chat completions' `[DONE]`).
    fn end(&mut self, _out: &mut Vec<u8>) {}
}

/// What gathers the provider's events into one whole answer.
pub trait Collect {
    /// Takes one event.
    fn event(&mut self, event: ChatEvent);
    /// The answer's body.
    fn finish(self) -> Vec<u8>;
}

/// `POST /v1/chat/completions`.
pub struct ChatCompletions;

impl Surface for ChatCompletions {
    type Parsed = ParsedChat;
    type Writer = ChunkWriter;
    type Collector = Collector;

    fn parse(body: &[u8]) -> Result<ParsedChat> {
        openai::parse_chat_request(body)
    }
    fn request(parsed: &mut ParsedChat) -> &mut ChatRequest {
        &mut parsed.request
    }
    fn streams(parsed: &ParsedChat) -> bool {
        parsed.stream
    }
    fn writer(parsed: &ParsedChat, model: &str, created: u64) -> ChunkWriter {
        ChunkWriter::new(model, created, parsed.include_usage)
    }
    fn collector(_: &ParsedChat, model: &str, created: u64) -> Collector {
        Collector::new(model, created)
    }
    fn error_response(error: &Error) -> ErrorResponse {
        openai::error_response(error)
    }
    fn answer_headers(answer: &AnswerHeaders) -> Vec<(String, String)> {
        openai::answer_headers(answer)
    }
}

/// `POST /v1/responses`.
pub struct Responses;

impl Surface for Responses {
    type Parsed = ParsedResponses;
    type Writer = ResponsesWriter;
    type Collector = WholeResponse;

    fn parse(body: &[u8]) -> Result<ParsedResponses> {
        responses::parse_responses_request(body)
    }
    fn request(parsed: &mut ParsedResponses) -> &mut ChatRequest {
        &mut parsed.request
    }
    fn streams(parsed: &ParsedResponses) -> bool {
        parsed.stream
    }
    fn writer(parsed: &ParsedResponses, model: &str, created: u64) -> ResponsesWriter {
        ResponsesWriter::new(model, created, parsed.effort.clone(), true)
    }
    fn collector(parsed: &ParsedResponses, model: &str, created: u64) -> WholeResponse {
        WholeResponse(ResponsesWriter::new(
            model,
            created,
            parsed.effort.clone(),
            false,
        ))
    }
    fn error_response(error: &Error) -> ErrorResponse {
        openai::error_response(error)
    }
    fn answer_headers(answer: &AnswerHeaders) -> Vec<(String, String)> {
        openai::answer_headers(answer)
    }
}

/// `POST /v1/messages`, translated (models not served on Mantle's Anthropic route).
pub struct Messages;

impl Surface for Messages {
    type Parsed = ParsedMessages;
    type Writer = EventWriter;
    type Collector = MessageCollector;

    fn parse(body: &[u8]) -> Result<ParsedMessages> {
        messages::parse_request(body)
    }
    fn request(parsed: &mut ParsedMessages) -> &mut ChatRequest {
        &mut parsed.request
    }
    fn streams(parsed: &ParsedMessages) -> bool {
        parsed.stream
    }
    fn writer(_: &ParsedMessages, model: &str, created: u64) -> EventWriter {
        EventWriter::new(model, created)
    }
    fn collector(_: &ParsedMessages, model: &str, created: u64) -> MessageCollector {
        MessageCollector::new(model, created)
    }
    fn not_allowed(message: &str) -> Vec<u8> {
        messages::anthropic_error("permission_error", message)
    }
    fn error_response(error: &Error) -> ErrorResponse {
        messages::error_response(error)
    }
    fn answer_headers(answer: &AnswerHeaders) -> Vec<(String, String)> {
        messages::answer_headers(answer)
    }
}

/// A whole Responses answer: the writer, not streaming, gathers the `response` object.
pub struct WholeResponse(ResponsesWriter);

impl Collect for WholeResponse {
    fn event(&mut self, event: ChatEvent) {
        self.0.event(&event, &mut Vec::new());
    }
    fn finish(self) -> Vec<u8> {
        self.0.finish()
    }
}

impl Collect for Collector {
    fn event(&mut self, event: ChatEvent) {
        Collector::event(self, event);
    }
    fn finish(self) -> Vec<u8> {
        Collector::finish(self)
    }
}

impl Collect for MessageCollector {
    fn event(&mut self, event: ChatEvent) {
        MessageCollector::event(self, event);
    }
    fn finish(self) -> Vec<u8> {
        MessageCollector::finish(self)
    }
}

impl FrameWriter for ChunkWriter {
    fn event(&mut self, event: &ChatEvent, out: &mut Vec<u8>) {
        ChunkWriter::event(self, event, out);
    }
    fn error(&mut self, error: &Error, out: &mut Vec<u8>) {
        ChunkWriter::error(self, error, out);
    }
    fn end(&mut self, out: &mut Vec<u8>) {
        self.done(out);
    }
}

impl FrameWriter for EventWriter {
    fn event(&mut self, event: &ChatEvent, out: &mut Vec<u8>) {
        EventWriter::event(self, event, out);
    }
    fn error(&mut self, error: &Error, out: &mut Vec<u8>) {
        EventWriter::error(self, error, out);
    }
}

impl FrameWriter for ResponsesWriter {
    fn event(&mut self, event: &ChatEvent, out: &mut Vec<u8>) {
        ResponsesWriter::event(self, event, out);
    }
    fn error(&mut self, error: &Error, out: &mut Vec<u8>) {
        ResponsesWriter::error(self, error, out);
    }
}
