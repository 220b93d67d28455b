//! Prompt and answer text on a request's server span, with `serve --trace-content` only, in
//! the GenAI semantic conventions' content attributes:
//!
//! - `gen_ai.input.messages`: the request body's `messages` (chat completions, Messages) or
//!   `input` (Responses), the JSON text exactly as the client sent it;
//! - `gen_ai.system_instructions`: the body's `system` (Messages) or `instructions`
//!   (Responses), likewise;
//! - `gen_ai.output.messages`: the answer's text as the client received it (for a stream,
//!   the text deltas joined), as one assistant message with a text part and the finish
//!   reason.
//!
//! Each is at most [`LIMIT`] bytes of content; a longer one is cut at a UTF-8 boundary and
//! followed by [`cut_marker`]'s words, never cut silently. No more than [`COPY_LIMIT`] bytes of
//! an answer are held to find its text. Headers (the gateway key, Mantle's token) are never
//! read here.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::ServerSpan;
use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt;

/// Most bytes of content in one attribute.
pub const LIMIT: usize = 16 * 1024;
/// Most bytes of an answer held to find its text: a whole non-streamed answer, or one line
/// of an event stream.
pub const COPY_LIMIT: usize = 1 << 20;

/// The words that end a value cut to `kept` of `total` bytes.
pub fn cut_marker(kept: usize, total: usize) -> String {
    format!("…[cut: {kept} of {total} bytes recorded]")
}

/// `text`, cut to at most [`LIMIT`] bytes at a UTF-8 boundary and marked when cut.
fn bounded(text: &str) -> String {
    if text.len() <= LIMIT {
        return text.to_owned();
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &text[..end], cut_marker(end, text.len()))
}

/// The parts of a request body recorded; borrowed, never copied whole.
#[derive(Deserialize)]
struct Sent<'a> {
    #[serde(borrow, default)]
    messages: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    system: Option<&'a RawValue>,
    #[serde(borrow, default)]
    instructions: Option<&'a RawValue>,
}

/// Records the prompt of a request `body` on its server span; a body that is not a JSON
/// object records nothing (the face answers it 400).
pub fn record_request(span: &ServerSpan, body: &[u8]) {
    let Ok(sent) = serde_json::from_slice::<Sent<'_>>(body) else {
        return;
    };
    let mut attributes = Vec::new();
    if let Some(messages) = sent.messages.or(sent.input) {
        attributes.push(KeyValue::new(
            "gen_ai.input.messages",
            bounded(messages.get()),
        ));
    }
    if let Some(system) = sent.system.or(sent.instructions) {
        attributes.push(KeyValue::new(
            "gen_ai.system_instructions",
            bounded(system.get()),
        ));
    }
    span.cx.span().set_attributes(attributes);
}

/// The answer's text as it passes to the client, put on the server span when the answer
/// ends (or is dropped before its end); the span then ends if its record is in.
pub struct AnswerContent {
    span: ServerSpan,
    stream: bool,
    /// The non-streamed answer so far, or the event stream's unfinished line.
    copy: Vec<u8>,
    /// Bytes of `copy` not kept because they were over [`COPY_LIMIT`].
    over: usize,
    text: String,
    /// Bytes of text not kept in `text`.
    text_cut: usize,
    finish: Option<String>,
    ended: bool,
}

impl AnswerContent {
    /// The text of an answer to the request of `span`; `stream` for an event stream.
    pub fn new(span: ServerSpan, stream: bool) -> AnswerContent {
        AnswerContent {
            span,
            stream,
            copy: Vec::new(),
            over: 0,
            text: String::new(),
            text_cut: 0,
            finish: None,
            ended: false,
        }
    }

    /// One chunk of the answer's body, as the client gets it.
    pub fn chunk(&mut self, mut data: &[u8]) {
        if !self.stream {
            self.keep(data);
            return;
        }
        while let Some(end) = data.iter().position(|&b| b == b'\n') {
            self.keep(&data[..end]);
            let line = std::mem::take(&mut self.copy);
            if self.over == 0 {
                self.event_line(&line);
            } else {
                // A line too long to hold: its text is missing, and the record says so.
                self.text_cut += self.over + line.len();
                self.over = 0;
            }
            data = &data[end + 1..];
        }
        self.keep(data);
    }

    fn keep(&mut self, data: &[u8]) {
        let room = COPY_LIMIT.saturating_sub(self.copy.len());
        let take = data.len().min(room);
        self.copy.extend_from_slice(&data[..take]);
        self.over += data.len() - take;
    }

    fn event_line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let Ok(event) = serde_json::from_slice::<Value>(data.trim_ascii()) else {
            return;
        };
        let delta = if let Some(choice) = event["choices"].get(0) {
            if let Some(reason) = choice["finish_reason"].as_str() {
                self.finish = Some(reason.to_owned());
            }
            choice["delta"]["content"].as_str()
        } else {
            match event["type"].as_str() {
                Some("response.output_text.delta") => event["delta"].as_str(),
                Some("response.completed" | "response.incomplete" | "response.failed") => {
                    self.finish = event["response"]["status"].as_str().map(str::to_owned);
                    None
                }
                Some("content_block_delta") if event["delta"]["type"] == "text_delta" => {
                    event["delta"]["text"].as_str()
                }
                Some("message_delta") => {
                    if let Some(reason) = event["delta"]["stop_reason"].as_str() {
                        self.finish = Some(reason.to_owned());
                    }
                    None
                }
                _ => None,
            }
        };
        if let Some(delta) = delta {
            self.add_text(delta);
        }
    }

    fn add_text(&mut self, text: &str) {
        let room = LIMIT.saturating_sub(self.text.len());
        if text.len() <= room && self.text_cut == 0 {
            self.text.push_str(text);
            return;
        }
        let mut end = room.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if self.text_cut == 0 {
            self.text.push_str(&text[..end]);
            self.text_cut += text.len() - end;
        } else {
            self.text_cut += text.len();
        }
    }

    /// The text of a whole non-streamed answer.
    fn whole_answer(&mut self) {
        let copy = std::mem::take(&mut self.copy);
        let Ok(answer) = serde_json::from_slice::<Value>(&copy) else {
            return;
        };
        let mut texts: Vec<&str> = Vec::new();
        let finish;
        if let Some(choice) = answer["choices"].get(0) {
            texts.extend(choice["message"]["content"].as_str());
            finish = choice["finish_reason"].as_str();
        } else if answer["object"] == "response" {
            for item in answer["output"].as_array().into_iter().flatten() {
                for part in item["content"].as_array().into_iter().flatten() {
                    if part["type"] == "output_text" {
                        texts.extend(part["text"].as_str());
                    }
                }
            }
            finish = answer["status"].as_str();
        } else if answer["type"] == "message" {
            for block in answer["content"].as_array().into_iter().flatten() {
                if block["type"] == "text" {
                    texts.extend(block["text"].as_str());
                }
            }
            finish = answer["stop_reason"].as_str();
        } else {
            return;
        }
        self.finish = finish.map(str::to_owned);
        for text in texts {
            self.add_text(text);
        }
    }

    /// Puts the answer's text on the span; `whole`: the answer reached its end.
    fn end(&mut self, whole: bool) {
        if self.ended {
            return;
        }
        self.ended = true;
        let mut text = std::mem::take(&mut self.text);
        if !self.stream {
            if self.over > 0 {
                text = format!(
                    "…[not recorded: the answer is larger than {COPY_LIMIT} bytes, {} bytes]",
                    COPY_LIMIT + self.over
                );
                self.over = 0;
            } else if whole {
                self.whole_answer();
                text = std::mem::take(&mut self.text);
            }
        }
        if self.text_cut > 0 {
            text.push_str(&cut_marker(text.len(), text.len() + self.text_cut));
        }
        if !whole {
            text.push_str("…[the answer stopped before its end]");
        }
        if !text.is_empty() || self.finish.is_some() {
            let message = serde_json::json!([{
                "role": "assistant",
                "parts": [{"type": "text", "content": text}],
                "finish_reason": self.finish.as_deref().unwrap_or(if whole { "unknown" } else { "error" }),
            }]);
            self.span
                .cx
                .span()
                .set_attribute(KeyValue::new("gen_ai.output.messages", message.to_string()));
        }
        self.span.done();
    }

    /// The answer reached its end.
    pub fn finished(&mut self) {
        self.end(true);
    }
}

impl Drop for AnswerContent {
    fn drop(&mut self) {
        self.end(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_cut_at_a_character_boundary_and_marked() {
        let text = "é".repeat(LIMIT); // 2 bytes each
        let cut = bounded(&text);
        let (kept, marker) = cut.split_at(LIMIT);
        assert!(kept.chars().all(|c| c == 'é'));
        assert_eq!(marker, cut_marker(LIMIT, 2 * LIMIT));
        assert_eq!(bounded("short"), "short");
    }
}
