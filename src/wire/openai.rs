//! OpenAI chat completions: the request body and the stream chunks.

use super::json::{Map, Value, put};
use super::{Fields, Reader, WireError, put_some, text_object};

/// `POST {baseUrl}/chat/completions` body, its pieces already JSON (built with the functions
/// below). It always streams, asking for the usage-only last chunk
/// (`stream_options.include_usage`).
pub struct Request<'a> {
    /// Model id.
    pub model: &'a str,
    /// The conversation: [`system`], [`user`], [`assistant`] and [`tool_result`] messages.
    pub messages: Vec<Value>,
    /// Tools the model may call ([`tool`]); left out when empty.
    pub tools: Vec<Value>,
    /// How the model may use the tools: `"auto"`, `"none"`, `"required"` or
    /// [`named_tool_choice`].
    pub tool_choice: Option<Value>,
    /// Output token limit.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<Value>,
    /// Nucleus sampling.
    pub top_p: Option<Value>,
    /// Stop sequences; left out when empty.
    pub stop: &'a [String],
    /// `low`, `medium` or `high`.
    pub reasoning_effort: Option<&'static str>,
}

impl Request<'_> {
    /// The body as JSON.
    pub fn into_json(self) -> Value {
        let mut o = Map::new();
        put(&mut o, "model", self.model.into());
        put(&mut o, "messages", Value::Array(self.messages));
        put(&mut o, "stream", true.into());
        let mut options = Map::new();
        put(&mut options, "include_usage", true.into());
        put(&mut o, "stream_options", options.into());
        if !self.tools.is_empty() {
            put(&mut o, "tools", Value::Array(self.tools));
        }
        put_some(&mut o, "tool_choice", self.tool_choice);
        put_some(&mut o, "max_tokens", self.max_tokens.map(Value::from));
        put_some(&mut o, "temperature", self.temperature);
        put_some(&mut o, "top_p", self.top_p);
        if !self.stop.is_empty() {
            put(&mut o, "stop", strings(self.stop));
        }
        put_some(
            &mut o,
            "reasoning_effort",
            self.reasoning_effort.map(Value::from),
        );
        Value::Object(o)
    }
}

/// A JSON array of strings.
pub(crate) fn strings(items: &[String]) -> Value {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(item.as_str().into());
    }
    Value::Array(out)
}

/// `{"role": "system", "content": …}`: system instructions.
pub fn system(content: &str) -> Value {
    text_object(&[("role", "system"), ("content", content)]).into()
}

/// `{"role": "user", "content": …}`: a user turn; the content is a plain string when it is a
/// single text, else an array of [`text_part`] and [`image_part`].
pub fn user(content: Value) -> Value {
    let mut o = text_object(&[("role", "user")]);
    put(&mut o, "content", content);
    o.into()
}

/// `{"type": "text", "text": …}`.
pub fn text_part(text: &str) -> Value {
    text_object(&[("type", "text"), ("text", text)]).into()
}

/// `{"type": "image_url", "image_url": {"url": …}}`: an image by URL (`https:` or `data:`).
pub fn image_part(url: &str) -> Value {
    let mut o = text_object(&[("type", "image_url")]);
    put(&mut o, "image_url", text_object(&[("url", url)]).into());
    o.into()
}

/// `{"role": "assistant", "content": …, "reasoning_content": …, "tool_calls": […]}`: an earlier
/// assistant turn. The content is null when the turn only called tools; readable reasoning is
/// replayed (Kimi requires it on tool-call turns) and left out when `None`, as are empty tool
/// calls ([`tool_call`]).
pub fn assistant(
    content: Option<String>,
    reasoning_content: Option<String>,
    tool_calls: Vec<Value>,
) -> Value {
    let mut o = text_object(&[("role", "assistant")]);
    put(&mut o, "content", content.map_or(Value::Null, Value::from));
    put_some(
        &mut o,
        "reasoning_content",
        reasoning_content.map(Value::from),
    );
    if !tool_calls.is_empty() {
        put(&mut o, "tool_calls", Value::Array(tool_calls));
    }
    Value::Object(o)
}

/// `{"id": …, "type": "function", "function": {"name": …, "arguments": …}}`: a tool call of an
/// earlier assistant turn, its arguments as JSON text.
pub fn tool_call(id: &str, name: &str, arguments: &str) -> Value {
    let mut o = text_object(&[("id", id), ("type", "function")]);
    let function = text_object(&[("name", name), ("arguments", arguments)]);
    put(&mut o, "function", function.into());
    o.into()
}

/// `{"role": "tool", "tool_call_id": …, "content": …}`: a tool's result.
pub fn tool_result(tool_call_id: &str, content: &str) -> Value {
    text_object(&[
        ("role", "tool"),
        ("tool_call_id", tool_call_id),
        ("content", content),
    ])
    .into()
}

/// `{"type": "function", "function": {"name": …, "description": …, "parameters": …}}`: a tool
/// the model may call, its description left out when `None`.
pub fn tool(name: &str, description: Option<&str>, parameters: Value) -> Value {
    let mut function = text_object(&[("name", name)]);
    put_some(&mut function, "description", description.map(Value::from));
    put(&mut function, "parameters", parameters);
    let mut o = text_object(&[("type", "function")]);
    put(&mut o, "function", function.into());
    o.into()
}

/// `{"type": "function", "function": {"name": …}}`: a call of the named tool.
pub fn named_tool_choice(name: &str) -> Value {
    let mut o = text_object(&[("type", "function")]);
    put(&mut o, "function", text_object(&[("name", name)]).into());
    o.into()
}

/// One `data:` chunk of the stream.
#[derive(Debug)]
pub struct Chunk {
    /// Response id.
    pub id: Option<String>,
    /// The answering model.
    pub model: Option<String>,
    /// Choices; empty in the usage-only last chunk.
    pub choices: Option<Vec<Choice>>,
    /// Token counts (null except in the last chunk).
    pub usage: Option<ChunkUsage>,
    /// An error reported mid-stream.
    pub error: Option<Value>,
}

impl Chunk {
    /// Reads a chunk from its JSON text.
    pub fn parse(data: &str) -> Result<Chunk, WireError> {
        let mut o = Fields::parse(data)?;
        let r = &mut Reader::default();
        let choices = o.array(r, "choices").map(|items| {
            let mut choices = Vec::with_capacity(items.len());
            for item in items {
                choices.push(Choice::read(item, r));
            }
            choices
        });
        let chunk = Chunk {
            id: o.string(r, "id"),
            model: o.string(r, "model"),
            choices,
            usage: o.object(r, "usage").map(|u| ChunkUsage::read(u, r)),
            error: o.take(r, "error"),
        };
        std::mem::take(r).done(chunk)
    }
}

/// A choice of a chunk.
#[derive(Debug)]
pub struct Choice {
    /// Choice index (only 0 is requested).
    pub index: Option<u32>,
    /// What this chunk adds.
    pub delta: Option<Delta>,
    /// Why the model stopped, in the choice's last chunk.
    pub finish_reason: Option<String>,
}

impl Choice {
    fn read(mut o: Fields, r: &mut Reader) -> Choice {
        Choice {
            index: o.u32(r, "index"),
            delta: o.object(r, "delta").map(|d| Delta::read(d, r)),
            finish_reason: o.string(r, "finish_reason"),
        }
    }
}

/// What a chunk adds to a choice.
#[derive(Debug)]
pub struct Delta {
    /// Visible text.
    pub content: Option<String>,
    /// Reasoning text (Mantle).
    pub reasoning: Option<String>,
    /// Reasoning text (DeepSeek, Kimi, vLLM).
    pub reasoning_content: Option<String>,
    /// A refusal's text.
    pub refusal: Option<String>,
    /// Pieces of tool calls.
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

impl Delta {
    fn read(mut o: Fields, r: &mut Reader) -> Delta {
        let tool_calls = o.array(r, "tool_calls").map(|items| {
            let mut calls = Vec::with_capacity(items.len());
            for item in items {
                calls.push(ToolCallDelta::read(item, r));
            }
            calls
        });
        Delta {
            content: o.string(r, "content"),
            reasoning: o.string(r, "reasoning"),
            reasoning_content: o.string(r, "reasoning_content"),
            refusal: o.string(r, "refusal"),
            tool_calls,
        }
    }
}

/// A piece of a tool call.
#[derive(Debug)]
pub struct ToolCallDelta {
    /// Which call of the response.
    pub index: Option<u32>,
    /// Id, in the call's first piece.
    pub id: Option<String>,
    /// Name and a piece of the arguments.
    pub function: Option<FunctionDelta>,
}

impl ToolCallDelta {
    fn read(mut o: Fields, r: &mut Reader) -> ToolCallDelta {
        ToolCallDelta {
            index: o.u32(r, "index"),
            id: o.string(r, "id"),
            function: o.object(r, "function").map(|mut f| FunctionDelta {
                name: f.string(r, "name"),
                arguments: f.string(r, "arguments"),
            }),
        }
    }
}

/// `function` of a tool call piece.
#[derive(Debug)]
pub struct FunctionDelta {
    /// Name, in the call's first piece.
    pub name: Option<String>,
    /// The next piece of the arguments' JSON text.
    pub arguments: Option<String>,
}

/// `usage` of a chunk.
#[derive(Debug)]
pub struct ChunkUsage {
    /// Input tokens, cached ones included.
    pub prompt_tokens: Option<u64>,
    /// Output tokens.
    pub completion_tokens: Option<u64>,
    /// `prompt_tokens_details.cached_tokens`: input tokens read from the prompt cache.
    pub cached_tokens: Option<u64>,
}

impl ChunkUsage {
    fn read(mut o: Fields, r: &mut Reader) -> ChunkUsage {
        ChunkUsage {
            prompt_tokens: o.u64(r, "prompt_tokens"),
            completion_tokens: o.u64(r, "completion_tokens"),
            cached_tokens: o
                .object(r, "prompt_tokens_details")
                .and_then(|mut details| details.u64(r, "cached_tokens")),
        }
    }
}
