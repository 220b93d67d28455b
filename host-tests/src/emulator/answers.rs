//! The emulator's own answers: what a model says ([`Answer`]) and how each API writes it,
//! streamed and whole, in the shapes Mantle was captured answering with. Nothing here comes
//! from the provider: the shapes are the captures' (and, for Anthropic, the documented ones).
//!
//! - Chat completions, streamed (STREAM-2): a first chunk `{"role":"assistant","content":""}`;
//!   reasoning deltas in the model's field (`reasoning`, `reasoning_content`, or inline between
//!   `<think>` tags); content deltas; each tool call whole in one chunk with an id
//!   `chatcmpl-tool-<16 hex>`; a finish chunk; a usage chunk with `choices: []`; `[DONE]`.
//!   Every choice carries an `obfuscation` string, every chunk `service_tier: "default"`.
//! - Chat completions, whole (CHAT-1): `message.reasoning` (or the model's field),
//!   `service_tier`, `system_fingerprint: null`, the usage details `null`.
//! - Responses, streamed: OpenAI's event sequence, every event with its `sequence_number`,
//!   ids `resp_` + 52 base32 characters; gpt-oss reasoning as `reasoning_text` content with
//!   `status: "completed"` and `reasoning_tokens: 0` (RESP-1); GPT-5.x reasoning encrypted
//!   (`encrypted_content`, an empty `summary`, `reasoning_tokens > 0`).
//! - Responses, whole: the `response` object that `response.completed` carries.
//! - Anthropic Messages, streamed and whole, as documented: ids `msg_bdrk_` + 52 base32
//!   characters, the dated model name, `stop_details: null` beside `stop_sequence`.
//!
//! Cached tokens ([`Tokens::cached`]) show as `prompt_tokens_details.cached_tokens`
//! (`{"audio_tokens":0,"cached_tokens":N}`, else `null`), `input_tokens_details.cached_tokens`
//! and `cache_read_input_tokens`; [`Tokens::prompt`] is the uncached part.

use serde_json::{Map, Value, json};

use super::table::{Api, ChatReasoning, Model, ResponsesReasoning};

/// A tool call of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// Its id (`chatcmpl-tool-…`, `call_…`, `toolu_bdrk_…`).
    pub id: String,
    /// The function's name.
    pub name: String,
    /// Its arguments, in the pieces an API that streams them in pieces sends.
    pub arguments: Vec<String>,
}

impl ToolCall {
    /// The whole arguments.
    pub fn arguments(&self) -> String {
        self.arguments.concat()
    }
}

/// The reasoning of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thought {
    /// None.
    None,
    /// Readable reasoning in pieces: chat's reasoning field, Responses' `reasoning_text`,
    /// Anthropic's `thinking` block (with its signature).
    Text {
        /// The pieces, as streamed.
        pieces: Vec<String>,
        /// The Anthropic signature of the block.
        signature: Option<String>,
    },
    /// Responses reasoning summaries, one text per part (OpenAI's documented shape).
    Summary(Vec<String>),
    /// Opaque reasoning: Responses' `encrypted_content`, Anthropic's `redacted_thinking`.
    Opaque(String),
}

/// Why an answer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// It is complete.
    Stop,
    /// The output limit was reached.
    Length,
    /// It asks for tools.
    ToolCalls,
}

/// The token counts of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tokens {
    /// Prompt tokens outside the cache.
    pub prompt: u64,
    /// Prompt tokens read from the cache.
    pub cached: u64,
    /// Output tokens.
    pub completion: u64,
    /// Output tokens spent reasoning (Responses).
    pub reasoning: u64,
}

/// What a model answers, before an API writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer's id.
    pub id: String,
    /// The name in its `model` field.
    pub model: String,
    /// Its creation time, Unix seconds.
    pub created: u64,
    /// Its reasoning.
    pub thought: Thought,
    /// Where chat completions put the reasoning.
    pub chat_reasoning: ChatReasoning,
    /// Its text, in pieces.
    pub text: Vec<String>,
    /// Its tool calls.
    pub tool_calls: Vec<ToolCall>,
    /// Why it ends.
    pub finish: Finish,
    /// Its token counts.
    pub tokens: Tokens,
}

/// The creation time of the emulator's answers (Unix seconds, 2025-11-13).
pub const CREATED: u64 = 1_763_000_000;

/// The signature of [`anthropic_thinking`]'s thinking block.
pub const THINKING_SIGNATURE: &str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+/4xGmuqBmZ/+cD4LPIFakXjSf5Kx7hXnQ1Ti2aq+o=";

/// The data of [`anthropic_redacted_thinking`]'s redacted block.
pub const REDACTED_DATA: &str = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj2pLmN4kF1TqD8=";

/// The encrypted reasoning of [`responses_encrypted_reasoning`].
pub const ENCRYPTED_REASONING: &str = "gAAAAABpQx7vYlE1s0m3Q2FqZW1hbnRsZS1lbXVsYXRvci1lbmNyeXB0ZWQtcmVhc29uaW5nLW5vdC1yZWFkYWJsZS1ieS1jbGllbnRz";

/// The thinking of [`anthropic_thinking`], in its pieces.
pub const THINKING: [&str; 2] = ["Let me solve this step by step:\n\n1. ", "27 * 453 = 12231"];

const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

/// `n` lowercase base32 characters drawn from `rng`.
fn base32_from(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(BASE32[rng.usize(..BASE32.len())]))
        .collect()
}

/// `n` lowercase base32 characters, the same for the same `seed`.
pub fn base32(seed: &str, n: usize) -> String {
    base32_from(&mut fastrand::Rng::with_seed(seed_of(seed)), n)
}

/// `n` fresh random lowercase base32 characters.
pub fn fresh_base32(n: usize) -> String {
    base32_from(&mut fastrand::Rng::new(), n)
}

/// A seed from a text (FNV-1a).
fn seed_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// An `obfuscation` string: 16 to 64 letters and digits, the same for the same seed.
fn obfuscation(seed: &str) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = fastrand::Rng::with_seed(seed_of(seed));
    let n = rng.usize(16..=64);
    (0..n)
        .map(|_| char::from(ALNUM[rng.usize(..ALNUM.len())]))
        .collect()
}

/// An SSE `data:` event.
fn data(out: &mut String, value: &Value) {
    out.push_str("data: ");
    out.push_str(&value.to_string());
    out.push_str("\n\n");
}

/// An SSE event with its `event:` line.
fn event(out: &mut String, kind: &str, value: &Value) {
    out.push_str("event: ");
    out.push_str(kind);
    out.push('\n');
    data(out, value);
}

/// A JSON object from pairs, in their order.
fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<_, _>>(),
    )
}

// ---- Chat completions. ----

fn chat_finish(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop => "stop",
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
    }
}

fn chat_usage(t: &Tokens) -> Value {
    let prompt = t.prompt + t.cached;
    let details = if t.cached > 0 {
        json!({"audio_tokens": 0, "cached_tokens": t.cached})
    } else {
        Value::Null
    };
    object([
        ("completion_tokens", t.completion.into()),
        ("prompt_tokens", prompt.into()),
        ("total_tokens", (prompt + t.completion).into()),
        ("completion_tokens_details", Value::Null),
        ("prompt_tokens_details", details),
    ])
}

/// The reasoning text of an answer, whole, when it is readable.
fn reasoning_text(a: &Answer) -> Option<String> {
    match &a.thought {
        Thought::Text { pieces, .. } => Some(pieces.concat()),
        _ => None,
    }
}

/// A chat delta in STREAM-2's key order.
fn chat_delta(content: Value, role: Value, tool_calls: Value) -> Map<String, Value> {
    let Value::Object(map) = object([
        ("content", content),
        ("function_call", Value::Null),
        ("refusal", Value::Null),
        ("role", role),
        ("tool_calls", tool_calls),
    ]) else {
        return Map::new();
    };
    map
}

/// A streamed chat completion, in STREAM-2's shape.
pub fn chat_stream(a: &Answer) -> String {
    let mut out = String::new();
    let mut n = 0;
    let mut chunk = |out: &mut String, delta: Map<String, Value>, finish: Option<Finish>| {
        n += 1;
        let choice = object([
            ("delta", Value::Object(delta)),
            ("finish_reason", finish.map(chat_finish).into()),
            ("index", 0.into()),
            ("logprobs", Value::Null),
            ("obfuscation", obfuscation(&format!("{}/{n}", a.id)).into()),
        ]);
        data(
            out,
            &object([
                ("id", a.id.clone().into()),
                ("choices", json!([choice])),
                ("created", a.created.into()),
                ("model", a.model.clone().into()),
                ("object", "chat.completion.chunk".into()),
                ("service_tier", "default".into()),
                ("system_fingerprint", Value::Null),
                ("usage", Value::Null),
            ]),
        );
    };
    let content = |text: &str| chat_delta(text.into(), Value::Null, Value::Null);
    chunk(
        &mut out,
        chat_delta("".into(), "assistant".into(), Value::Null),
        None,
    );
    if let Thought::Text { pieces, .. } = &a.thought {
        match a.chat_reasoning {
            ChatReasoning::Inline => {
                chunk(&mut out, content("<think>\n"), None);
                for piece in pieces {
                    chunk(&mut out, content(piece), None);
                }
                chunk(&mut out, content("\n</think>\n\n"), None);
            }
            reasoning => {
                if let Some(field) = reasoning.field() {
                    for piece in pieces {
                        let mut delta = chat_delta(Value::Null, Value::Null, Value::Null);
                        delta.insert(field.to_owned(), piece.clone().into());
                        chunk(&mut out, delta, None);
                    }
                }
            }
        }
    }
    for piece in &a.text {
        chunk(&mut out, content(piece), None);
    }
    for (i, call) in a.tool_calls.iter().enumerate() {
        let call = object([
            ("index", i.into()),
            ("id", call.id.clone().into()),
            (
                "function",
                object([
                    ("arguments", call.arguments().into()),
                    ("name", call.name.clone().into()),
                ]),
            ),
            ("type", "function".into()),
        ]);
        chunk(
            &mut out,
            chat_delta(Value::Null, Value::Null, json!([call])),
            None,
        );
    }
    chunk(
        &mut out,
        chat_delta(Value::Null, Value::Null, Value::Null),
        Some(a.finish),
    );
    data(
        &mut out,
        &object([
            ("id", a.id.clone().into()),
            ("choices", json!([])),
            ("created", a.created.into()),
            ("model", a.model.clone().into()),
            ("object", "chat.completion.chunk".into()),
            ("service_tier", "default".into()),
            ("system_fingerprint", Value::Null),
            ("usage", chat_usage(&a.tokens)),
        ]),
    );
    out.push_str("data: [DONE]\n\n");
    out
}

/// A whole chat completion, in CHAT-1's shape.
pub fn chat_whole(a: &Answer) -> String {
    let mut text = a.text.concat();
    let reasoning = reasoning_text(a);
    if a.chat_reasoning == ChatReasoning::Inline
        && let Some(r) = &reasoning
    {
        text = format!("<think>\n{r}\n</think>\n\n{text}");
    }
    let calls: Vec<Value> = a
        .tool_calls
        .iter()
        .map(|c| {
            object([
                ("id", c.id.clone().into()),
                (
                    "function",
                    object([
                        ("arguments", c.arguments().into()),
                        ("name", c.name.clone().into()),
                    ]),
                ),
                ("type", "function".into()),
            ])
        })
        .collect();
    let Value::Object(mut message) = object([
        (
            "content",
            if text.is_empty() && !calls.is_empty() {
                Value::Null
            } else {
                text.into()
            },
        ),
        ("refusal", Value::Null),
        ("role", "assistant".into()),
        ("annotations", Value::Null),
        ("audio", Value::Null),
        ("function_call", Value::Null),
        (
            "tool_calls",
            if calls.is_empty() {
                Value::Null
            } else {
                calls.into()
            },
        ),
    ]) else {
        return String::new();
    };
    if let (Some(field), Some(r)) = (a.chat_reasoning.field(), reasoning) {
        message.insert(field.to_owned(), r.into());
    }
    object([
        ("id", a.id.clone().into()),
        (
            "choices",
            json!([object([
                ("finish_reason", chat_finish(a.finish).into()),
                ("index", 0.into()),
                ("logprobs", Value::Null),
                ("message", Value::Object(message)),
            ])]),
        ),
        ("created", a.created.into()),
        ("model", a.model.clone().into()),
        ("object", "chat.completion".into()),
        ("service_tier", "default".into()),
        ("system_fingerprint", Value::Null),
        ("usage", chat_usage(&a.tokens)),
    ])
    .to_string()
}

// ---- Responses. ----

/// The id of output item `n` of a response.
fn item_id(a: &Answer, prefix: &str, n: usize) -> String {
    format!("{prefix}_{}", base32(&format!("{}/{n}", a.id), 52))
}

/// The output items of a response, finished.
fn responses_items(a: &Answer) -> Vec<Value> {
    let mut items = Vec::new();
    match &a.thought {
        Thought::None => {}
        Thought::Text { pieces, .. } => items.push(object([
            ("id", item_id(a, "rs", items.len()).into()),
            ("type", "reasoning".into()),
            ("summary", json!([])),
            (
                "content",
                json!([{"type": "reasoning_text", "text": pieces.concat()}]),
            ),
            ("status", "completed".into()),
        ])),
        Thought::Summary(parts) => items.push(object([
            ("id", item_id(a, "rs", items.len()).into()),
            ("type", "reasoning".into()),
            (
                "summary",
                parts
                    .iter()
                    .map(|p| json!({"type": "summary_text", "text": p}))
                    .collect(),
            ),
        ])),
        Thought::Opaque(data) => items.push(object([
            ("id", item_id(a, "rs", items.len()).into()),
            ("type", "reasoning".into()),
            ("summary", json!([])),
            ("encrypted_content", data.clone().into()),
        ])),
    }
    if !a.text.is_empty() {
        items.push(object([
            ("id", item_id(a, "msg", items.len()).into()),
            ("type", "message".into()),
            ("status", "completed".into()),
            (
                "content",
                json!([{"type": "output_text", "annotations": [], "logprobs": [], "text": a.text.concat()}]),
            ),
            ("role", "assistant".into()),
        ]));
    }
    for call in &a.tool_calls {
        items.push(object([
            ("id", item_id(a, "fc", items.len()).into()),
            ("type", "function_call".into()),
            ("status", "completed".into()),
            ("arguments", call.arguments().into()),
            ("call_id", call.id.clone().into()),
            ("name", call.name.clone().into()),
        ]));
    }
    items
}

fn responses_usage(t: &Tokens) -> Value {
    let input = t.prompt + t.cached;
    object([
        ("input_tokens", input.into()),
        ("input_tokens_details", json!({"cached_tokens": t.cached})),
        ("output_tokens", t.completion.into()),
        (
            "output_tokens_details",
            json!({"reasoning_tokens": t.reasoning}),
        ),
        ("total_tokens", (input + t.completion).into()),
    ])
}

/// The `response` object, `done` with its output and usage or not.
fn response_object(a: &Answer, done: bool) -> Value {
    let (status, incomplete) = match (done, a.finish) {
        (false, _) => ("in_progress", Value::Null),
        (true, Finish::Length) => ("incomplete", json!({"reason": "max_output_tokens"})),
        (true, _) => ("completed", Value::Null),
    };
    object([
        ("id", a.id.clone().into()),
        ("object", "response".into()),
        ("created_at", a.created.into()),
        ("status", status.into()),
        ("background", false.into()),
        ("error", Value::Null),
        ("incomplete_details", incomplete),
        ("instructions", Value::Null),
        ("max_output_tokens", Value::Null),
        ("model", a.model.clone().into()),
        (
            "output",
            if done {
                responses_items(a).into()
            } else {
                json!([])
            },
        ),
        ("parallel_tool_calls", true.into()),
        ("previous_response_id", Value::Null),
        ("reasoning", json!({"effort": null, "summary": null})),
        ("store", false.into()),
        ("temperature", 1.0.into()),
        ("text", json!({"format": {"type": "text"}})),
        ("tool_choice", "auto".into()),
        ("tools", json!([])),
        ("top_p", 1.0.into()),
        ("truncation", "disabled".into()),
        (
            "usage",
            if done {
                responses_usage(&a.tokens)
            } else {
                Value::Null
            },
        ),
        ("metadata", json!({})),
    ])
}

/// Writes Responses events, numbering them.
struct Events {
    out: String,
    seq: u64,
}

impl Events {
    fn push<const N: usize>(&mut self, kind: &str, fields: [(&str, Value); N]) {
        let mut map = Map::new();
        map.insert("type".into(), kind.into());
        map.insert("sequence_number".into(), self.seq.into());
        for (k, v) in fields {
            map.insert(k.to_owned(), v);
        }
        self.seq += 1;
        event(&mut self.out, kind, &Value::Object(map));
    }
}

/// A streamed Responses answer: OpenAI's event sequence.
pub fn responses_stream(a: &Answer) -> String {
    let mut ev = Events {
        out: String::new(),
        seq: 0,
    };
    ev.push(
        "response.created",
        [("response", response_object(a, false))],
    );
    ev.push(
        "response.in_progress",
        [("response", response_object(a, false))],
    );
    let done_items = responses_items(a);
    let mut index = 0usize;
    let mut item = |ev: &mut Events, added: Value, body: &dyn Fn(&mut Events, &str, usize)| {
        let id = done_items
            .get(index)
            .and_then(|i| i.get("id"))
            .cloned()
            .unwrap_or_default();
        ev.push(
            "response.output_item.added",
            [("output_index", index.into()), ("item", added)],
        );
        body(ev, id.as_str().unwrap_or_default(), index);
        ev.push(
            "response.output_item.done",
            [
                ("output_index", index.into()),
                ("item", done_items.get(index).cloned().unwrap_or_default()),
            ],
        );
        index += 1;
    };
    let id_at = |n: usize| {
        done_items
            .get(n)
            .and_then(|i| i.get("id"))
            .cloned()
            .unwrap_or_default()
    };
    match &a.thought {
        Thought::None => {}
        Thought::Text { pieces, .. } => {
            let added = object([
                ("id", id_at(0)),
                ("type", "reasoning".into()),
                ("summary", json!([])),
                ("content", json!([])),
                ("status", "in_progress".into()),
            ]);
            item(&mut ev, added, &|ev, id, at| {
                let part = |text: &str| json!({"type": "reasoning_text", "text": text});
                let place = || {
                    [
                        ("item_id", Value::from(id)),
                        ("output_index", at.into()),
                        ("content_index", 0.into()),
                    ]
                };
                let [a1, a2, a3] = place();
                ev.push(
                    "response.content_part.added",
                    [a1, a2, a3, ("part", part(""))],
                );
                for piece in pieces {
                    let [a1, a2, a3] = place();
                    ev.push(
                        "response.reasoning_text.delta",
                        [a1, a2, a3, ("delta", piece.clone().into())],
                    );
                }
                let whole = pieces.concat();
                let [a1, a2, a3] = place();
                ev.push(
                    "response.reasoning_text.done",
                    [a1, a2, a3, ("text", whole.clone().into())],
                );
                let [a1, a2, a3] = place();
                ev.push(
                    "response.content_part.done",
                    [a1, a2, a3, ("part", part(&whole))],
                );
            });
        }
        Thought::Summary(parts) => {
            let added = object([
                ("id", id_at(0)),
                ("type", "reasoning".into()),
                ("summary", json!([])),
            ]);
            item(&mut ev, added, &|ev, id, at| {
                for (s, text) in parts.iter().enumerate() {
                    let place = || {
                        [
                            ("item_id", Value::from(id)),
                            ("output_index", at.into()),
                            ("summary_index", s.into()),
                        ]
                    };
                    let part = |text: &str| json!({"type": "summary_text", "text": text});
                    let [a1, a2, a3] = place();
                    ev.push(
                        "response.reasoning_summary_part.added",
                        [a1, a2, a3, ("part", part(""))],
                    );
                    let [a1, a2, a3] = place();
                    ev.push(
                        "response.reasoning_summary_text.delta",
                        [a1, a2, a3, ("delta", text.clone().into())],
                    );
                    let [a1, a2, a3] = place();
                    ev.push(
                        "response.reasoning_summary_text.done",
                        [a1, a2, a3, ("text", text.clone().into())],
                    );
                    let [a1, a2, a3] = place();
                    ev.push(
                        "response.reasoning_summary_part.done",
                        [a1, a2, a3, ("part", part(text))],
                    );
                }
            });
        }
        Thought::Opaque(_) => {
            let added = object([
                ("id", id_at(0)),
                ("type", "reasoning".into()),
                ("summary", json!([])),
            ]);
            item(&mut ev, added, &|_, _, _| {});
        }
    }
    if !a.text.is_empty() {
        let at = usize::from(a.thought != Thought::None);
        let added = object([
            ("id", id_at(at)),
            ("type", "message".into()),
            ("status", "in_progress".into()),
            ("content", json!([])),
            ("role", "assistant".into()),
        ]);
        item(&mut ev, added, &|ev, id, at| {
            let part = |text: &str| json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text});
            let place = || {
                [
                    ("item_id", Value::from(id)),
                    ("output_index", at.into()),
                    ("content_index", 0.into()),
                ]
            };
            let [a1, a2, a3] = place();
            ev.push(
                "response.content_part.added",
                [a1, a2, a3, ("part", part(""))],
            );
            for piece in &a.text {
                let [a1, a2, a3] = place();
                ev.push(
                    "response.output_text.delta",
                    [
                        a1,
                        a2,
                        a3,
                        ("delta", piece.clone().into()),
                        ("logprobs", json!([])),
                    ],
                );
            }
            let whole = a.text.concat();
            let [a1, a2, a3] = place();
            ev.push(
                "response.output_text.done",
                [
                    a1,
                    a2,
                    a3,
                    ("text", whole.clone().into()),
                    ("logprobs", json!([])),
                ],
            );
            let [a1, a2, a3] = place();
            ev.push(
                "response.content_part.done",
                [a1, a2, a3, ("part", part(&whole))],
            );
        });
    }
    let first_call = usize::from(a.thought != Thought::None) + usize::from(!a.text.is_empty());
    for (n, call) in a.tool_calls.iter().enumerate() {
        let added = object([
            ("id", id_at(first_call + n)),
            ("type", "function_call".into()),
            ("status", "in_progress".into()),
            ("arguments", "".into()),
            ("call_id", call.id.clone().into()),
            ("name", call.name.clone().into()),
        ]);
        item(&mut ev, added, &|ev, id, at| {
            for piece in &call.arguments {
                ev.push(
                    "response.function_call_arguments.delta",
                    [
                        ("item_id", id.into()),
                        ("output_index", at.into()),
                        ("delta", piece.clone().into()),
                    ],
                );
            }
            ev.push(
                "response.function_call_arguments.done",
                [
                    ("item_id", id.into()),
                    ("output_index", at.into()),
                    ("arguments", call.arguments().into()),
                ],
            );
        });
    }
    let last = if a.finish == Finish::Length {
        "response.incomplete"
    } else {
        "response.completed"
    };
    ev.push(last, [("response", response_object(a, true))]);
    ev.out
}

/// A whole Responses answer: the finished `response` object.
pub fn responses_whole(a: &Answer) -> String {
    response_object(a, true).to_string()
}

// ---- Anthropic Messages. ----

fn stop_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
    }
}

fn anthropic_usage(t: &Tokens, output: u64) -> Value {
    object([
        ("input_tokens", t.prompt.into()),
        ("cache_creation_input_tokens", 0.into()),
        ("cache_read_input_tokens", t.cached.into()),
        ("output_tokens", output.into()),
    ])
}

/// The content blocks of a message, finished.
fn anthropic_blocks(a: &Answer) -> Vec<Value> {
    let mut blocks = Vec::new();
    match &a.thought {
        Thought::Text { pieces, signature } => blocks.push(object([
            ("type", "thinking".into()),
            ("thinking", pieces.concat().into()),
            ("signature", signature.clone().unwrap_or_default().into()),
        ])),
        Thought::Opaque(data) => {
            blocks.push(json!({"type": "redacted_thinking", "data": data}));
        }
        Thought::None | Thought::Summary(_) => {}
    }
    if !a.text.is_empty() {
        blocks.push(json!({"type": "text", "text": a.text.concat()}));
    }
    for call in &a.tool_calls {
        let input = serde_json::from_str::<Value>(&call.arguments()).unwrap_or_else(|_| json!({}));
        blocks.push(object([
            ("type", "tool_use".into()),
            ("id", call.id.clone().into()),
            ("name", call.name.clone().into()),
            ("input", input),
        ]));
    }
    blocks
}

/// A streamed Messages answer, as Anthropic documents its events.
pub fn messages_stream(a: &Answer) -> String {
    let mut out = String::new();
    let message = object([
        ("id", a.id.clone().into()),
        ("type", "message".into()),
        ("role", "assistant".into()),
        ("model", a.model.clone().into()),
        ("content", json!([])),
        ("stop_reason", Value::Null),
        ("stop_sequence", Value::Null),
        ("stop_details", Value::Null),
        ("usage", anthropic_usage(&a.tokens, 1)),
    ]);
    event(
        &mut out,
        "message_start",
        &json!({"type": "message_start", "message": message}),
    );
    let mut index = 0;
    let mut pinged = false;
    let mut block = |out: &mut String, start: Value, deltas: Vec<Value>| {
        event(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": start}),
        );
        if !pinged {
            event(out, "ping", &json!({"type": "ping"}));
            pinged = true;
        }
        for delta in deltas {
            event(
                out,
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            );
        }
        event(
            out,
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        );
        index += 1;
    };
    match &a.thought {
        Thought::Text { pieces, signature } => {
            let mut deltas: Vec<Value> = pieces
                .iter()
                .map(|p| json!({"type": "thinking_delta", "thinking": p}))
                .collect();
            if let Some(s) = signature {
                deltas.push(json!({"type": "signature_delta", "signature": s}));
            }
            block(
                &mut out,
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                deltas,
            );
        }
        Thought::Opaque(data) => block(
            &mut out,
            json!({"type": "redacted_thinking", "data": data}),
            Vec::new(),
        ),
        Thought::None | Thought::Summary(_) => {}
    }
    if !a.text.is_empty() {
        block(
            &mut out,
            json!({"type": "text", "text": ""}),
            a.text
                .iter()
                .map(|t| json!({"type": "text_delta", "text": t}))
                .collect(),
        );
    }
    for call in &a.tool_calls {
        let mut deltas = vec![json!({"type": "input_json_delta", "partial_json": ""})];
        deltas.extend(
            call.arguments
                .iter()
                .map(|p| json!({"type": "input_json_delta", "partial_json": p})),
        );
        block(
            &mut out,
            object([
                ("type", "tool_use".into()),
                ("id", call.id.clone().into()),
                ("name", call.name.clone().into()),
                ("input", json!({})),
            ]),
            deltas,
        );
    }
    event(
        &mut out,
        "message_delta",
        &json!({"type": "message_delta",
            "delta": object([
                ("stop_reason", stop_reason(a.finish).into()),
                ("stop_sequence", Value::Null),
                ("stop_details", Value::Null),
            ]),
            "usage": {"output_tokens": a.tokens.completion}}),
    );
    event(&mut out, "message_stop", &json!({"type": "message_stop"}));
    out
}

/// A whole Messages answer.
pub fn messages_whole(a: &Answer) -> String {
    object([
        ("id", a.id.clone().into()),
        ("type", "message".into()),
        ("role", "assistant".into()),
        ("model", a.model.clone().into()),
        ("content", anthropic_blocks(a).into()),
        ("stop_reason", stop_reason(a.finish).into()),
        ("stop_sequence", Value::Null),
        ("stop_details", Value::Null),
        ("usage", anthropic_usage(&a.tokens, a.tokens.completion)),
    ])
    .to_string()
}

/// An answer written by `api`, streamed or whole.
pub fn render(api: Api, answer: &Answer, streamed: bool) -> String {
    match (api, streamed) {
        (Api::Chat, true) => chat_stream(answer),
        (Api::Chat, false) => chat_whole(answer),
        (Api::Responses, true) => responses_stream(answer),
        (Api::Responses, false) => responses_whole(answer),
        (Api::Messages, true) => messages_stream(answer),
        (Api::Messages, false) => messages_whole(answer),
    }
}

// ---- The answers themselves. ----

fn pieces(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn answer(id: String, model: &str, m: &Model) -> Answer {
    Answer {
        id,
        model: model.to_owned(),
        created: CREATED,
        thought: Thought::None,
        chat_reasoning: m.chat_reasoning,
        text: Vec::new(),
        tool_calls: Vec::new(),
        finish: Finish::Stop,
        tokens: Tokens::default(),
    }
}

fn chat_id(name: &str) -> String {
    let hex: String = base32(name, 32)
        .bytes()
        .map(|b| char::from(b"0123456789abcdef"[usize::from(b % 16)]))
        .collect();
    format!("chatcmpl-{hex}")
}

fn response_id(name: &str) -> String {
    format!("resp_{}", base32(name, 52))
}

fn message_id(name: &str) -> String {
    format!("msg_bdrk_{}", base32(name, 52))
}

/// Plain text in chat completions: "Bonjour le monde — ça va ? 🙂" in three pieces.
pub fn chat_text(m: &Model) -> Answer {
    Answer {
        text: pieces(&["Bonjour", " le monde", " — ça va ? 🙂"]),
        tokens: Tokens {
            prompt: 14,
            completion: 6,
            ..Tokens::default()
        },
        ..answer(chat_id("chat_text"), &m.id, m)
    }
}

/// Reasoning in the model's chat field (`reasoning` for a model without one), then text.
pub fn chat_reasoning(m: &Model) -> Answer {
    let mut a = Answer {
        thought: Thought::Text {
            pieces: pieces(&["The user greets me.", " Reply briefly."]),
            signature: None,
        },
        text: pieces(&["Hi!", " How can I help?"]),
        tokens: Tokens {
            prompt: 20,
            completion: 30,
            ..Tokens::default()
        },
        ..answer(chat_id("chat_reasoning"), &m.id, m)
    };
    if a.chat_reasoning == ChatReasoning::None {
        a.chat_reasoning = ChatReasoning::Reasoning;
    }
    a
}

/// Two tool calls (`get_weather`, then `get_time`), each whole in one chunk.
pub fn chat_tool_calls(m: &Model) -> Answer {
    Answer {
        tool_calls: vec![
            ToolCall {
                id: "chatcmpl-tool-8f3a61c0d52e9b47".into(),
                name: "get_weather".into(),
                arguments: pieces(&["{\"city\": \"Paris\"}"]),
            },
            ToolCall {
                id: "chatcmpl-tool-1d7e04b9a6c3f285".into(),
                name: "get_time".into(),
                arguments: pieces(&["{\"tz\":\"Europe/Paris\"}"]),
            },
        ],
        finish: Finish::ToolCalls,
        tokens: Tokens {
            prompt: 120,
            completion: 41,
            ..Tokens::default()
        },
        ..answer(chat_id("chat_tool_calls"), &m.id, m)
    }
}

/// Plain text on the Responses API.
pub fn responses_text(m: &Model) -> Answer {
    Answer {
        text: pieces(&["Bonjour", " le monde", " — ça va ? 🙂"]),
        tokens: Tokens {
            prompt: 14,
            completion: 6,
            ..Tokens::default()
        },
        ..answer(response_id("responses_text"), &m.id, m)
    }
}

/// gpt-oss's reasoning on the Responses API: `reasoning_text`, `reasoning_tokens: 0`.
pub fn responses_reasoning_text(m: &Model) -> Answer {
    Answer {
        thought: Thought::Text {
            pieces: pieces(&["The user greets me.", " Reply briefly."]),
            signature: None,
        },
        text: pieces(&["Hi!"]),
        tokens: Tokens {
            prompt: 20,
            completion: 12,
            ..Tokens::default()
        },
        ..answer(response_id("responses_reasoning_text"), &m.id, m)
    }
}

/// GPT-5.x's reasoning: encrypted, an empty summary, 18 reasoning tokens.
pub fn responses_encrypted_reasoning(m: &Model) -> Answer {
    Answer {
        thought: Thought::Opaque(ENCRYPTED_REASONING.into()),
        text: pieces(&["Hi!", " How can I help?"]),
        tokens: Tokens {
            prompt: 20,
            completion: 30,
            reasoning: 18,
            ..Tokens::default()
        },
        ..answer(response_id("responses_encrypted_reasoning"), &m.id, m)
    }
}

/// Reasoning summaries in two parts (OpenAI's documented shape; not seen from Mantle).
pub fn responses_summary(m: &Model) -> Answer {
    Answer {
        thought: Thought::Summary(pieces(&[
            "**Greeting back**",
            "The user greets me; reply briefly.",
        ])),
        text: pieces(&["Hi!", " How can I help?"]),
        tokens: Tokens {
            prompt: 12,
            cached: 8,
            completion: 30,
            reasoning: 18,
        },
        ..answer(response_id("responses_summary"), &m.id, m)
    }
}

/// Two function calls on the Responses API, their arguments in pieces.
pub fn responses_tool_calls(m: &Model) -> Answer {
    Answer {
        tool_calls: vec![
            ToolCall {
                id: "call_a1".into(),
                name: "get_weather".into(),
                arguments: pieces(&["{\"city\":", " \"Paris\"}"]),
            },
            ToolCall {
                id: "call_b2".into(),
                name: "get_time".into(),
                arguments: pieces(&["{\"tz\":", "\"Europe/Paris\"}"]),
            },
        ],
        finish: Finish::ToolCalls,
        tokens: Tokens {
            prompt: 120,
            completion: 41,
            ..Tokens::default()
        },
        ..answer(response_id("responses_tool_calls"), &m.id, m)
    }
}

/// Plain text on the Anthropic route.
pub fn anthropic_text(m: &Model) -> Answer {
    Answer {
        text: pieces(&["Hello", ", world — 你好!"]),
        tokens: Tokens {
            prompt: 25,
            completion: 15,
            ..Tokens::default()
        },
        ..answer(message_id("anthropic_text"), m.answer_name(), m)
    }
}

/// A thinking block with its signature, then text.
pub fn anthropic_thinking(m: &Model) -> Answer {
    Answer {
        thought: Thought::Text {
            pieces: pieces(&THINKING),
            signature: Some(THINKING_SIGNATURE.into()),
        },
        text: pieces(&["27 * 453 = 12,231"]),
        tokens: Tokens {
            prompt: 12,
            completion: 98,
            ..Tokens::default()
        },
        ..answer(message_id("anthropic_thinking"), m.answer_name(), m)
    }
}

/// A redacted thinking block, then text.
pub fn anthropic_redacted_thinking(m: &Model) -> Answer {
    Answer {
        thought: Thought::Opaque(REDACTED_DATA.into()),
        text: pieces(&["Done."]),
        tokens: Tokens {
            prompt: 40,
            completion: 7,
            ..Tokens::default()
        },
        ..answer(
            message_id("anthropic_redacted_thinking"),
            m.answer_name(),
            m,
        )
    }
}

/// Text, then two `tool_use` blocks whose input arrives in pieces.
pub fn anthropic_tool_use(m: &Model) -> Answer {
    Answer {
        text: pieces(&["Checking both."]),
        tool_calls: vec![
            ToolCall {
                id: "toolu_bdrk_01T1x1fJ34qAmk2tNTrN7Up6".into(),
                name: "get_weather".into(),
                arguments: pieces(&["{\"city\": \"Pa", "ris\"}"]),
            },
            ToolCall {
                id: "toolu_bdrk_02Bq8Ws5p2qzHn3NkD7mVtcX".into(),
                name: "get_time".into(),
                arguments: pieces(&["{\"tz\":", " \"CET\"}"]),
            },
        ],
        finish: Finish::ToolCalls,
        tokens: Tokens {
            prompt: 472,
            completion: 89,
            ..Tokens::default()
        },
        ..answer(message_id("anthropic_tool_use"), m.answer_name(), m)
    }
}

/// The answer to a request for `api` by a model, when no script is set, chosen from its body:
///
/// - tools (a non-empty `tools` array), unless the conversation ends with tool results (a
///   `tool` message, a `function_call_output` item): [`chat_tool_calls`],
///   [`responses_tool_calls`], [`anthropic_tool_use`];
/// - chat completions: [`chat_reasoning`] for a model that reasons in chat (the table's
///   `chatReasoning`), else [`chat_text`];
/// - Responses: [`responses_reasoning_text`] or [`responses_encrypted_reasoning`] as the
///   table's `responsesReasoning` says, else [`responses_text`];
/// - Messages: [`anthropic_thinking`] when `thinking.type` is `enabled` or `adaptive`, else
///   [`anthropic_text`].
pub fn default_answer(api: Api, m: &Model, request: &Value) -> Answer {
    let last_of = |key: &str| {
        request
            .get(key)
            .and_then(Value::as_array)
            .and_then(|items| items.last())
    };
    let answered = match api {
        Api::Chat => last_of("messages").is_some_and(|m| m["role"] == "tool"),
        Api::Responses => last_of("input").is_some_and(|i| i["type"] == "function_call_output"),
        Api::Messages => false,
    };
    let tools = !answered
        && request
            .get("tools")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty());
    let thinking = matches!(
        request.pointer("/thinking/type").and_then(Value::as_str),
        Some("enabled" | "adaptive")
    );
    match api {
        Api::Chat if tools => chat_tool_calls(m),
        Api::Chat if m.chat_reasoning != ChatReasoning::None => chat_reasoning(m),
        Api::Chat => chat_text(m),
        Api::Responses if tools => responses_tool_calls(m),
        Api::Responses => match m.responses_reasoning {
            ResponsesReasoning::Text => responses_reasoning_text(m),
            ResponsesReasoning::Encrypted => responses_encrypted_reasoning(m),
            ResponsesReasoning::None => responses_text(m),
        },
        Api::Messages if tools => anthropic_tool_use(m),
        Api::Messages if thinking => anthropic_thinking(m),
        Api::Messages => anthropic_text(m),
    }
}
