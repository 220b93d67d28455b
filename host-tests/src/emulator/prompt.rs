//! What the emulator reads of a prompt: its items, its estimated token count, its images, and
//! the prefixes it has seen before (automatic prefix caching).
//!
//! **Items**: chat completions: each of `messages`; Anthropic Messages: `system` (when
//! present) then each of `messages`; Responses: `instructions` (when present) then `input`
//! (one item when it is a string, else each of its items).
//!
//! **Estimate**: `ceil(B / 4)` tokens, where `B` counts the UTF-8 bytes of every string value
//! whose key is one of [`TEXT_KEYS`] (`content`, `text`, `input`, `output`, `arguments`,
//! `instructions`, `system`, `thinking`), anywhere inside the items; strings inside an array
//! count under the array's key. Image data and URLs, ids, roles, types and tool definitions do
//! not count. A prefix (the first `k` items) is estimated the same way.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher as _;

use serde_json::Value;

use super::table::Api;

/// The keys whose string values count as prompt text.
pub const TEXT_KEYS: [&str; 8] = [
    "content",
    "text",
    "input",
    "output",
    "arguments",
    "instructions",
    "system",
    "thinking",
];

/// The block size of prefix caching: cached tokens are whole blocks of this many tokens, as
/// vLLM's automatic prefix caching counts them (the captured 208 cached tokens are 13 blocks).
pub const CACHE_BLOCK: u64 = 16;

/// One item of a prompt, with the key its strings count under when it is a bare string.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    key: Option<&'static str>,
    value: &'a Value,
}

/// Each element of `value` when it is an array, else `value` itself under `key`.
fn push_list<'a>(key: &'static str, value: Option<&'a Value>, out: &mut Vec<Item<'a>>) {
    match value {
        Some(Value::Array(list)) => out.extend(list.iter().map(|v| Item {
            key: None,
            value: v,
        })),
        Some(v) if !v.is_null() => out.push(Item {
            key: Some(key),
            value: v,
        }),
        _ => {}
    }
}

/// The prompt items of a request body for `api`.
pub fn items(api: Api, body: &Value) -> Vec<Item<'_>> {
    let mut out = Vec::new();
    let (head, list) = match api {
        Api::Chat => (None, "messages"),
        Api::Messages => (Some("system"), "messages"),
        Api::Responses => (Some("instructions"), "input"),
    };
    if let Some(head) = head {
        push_list(head, body.get(head), &mut out);
    }
    push_list(
        if list == "input" { "input" } else { "content" },
        body.get(list),
        &mut out,
    );
    out
}

/// UTF-8 bytes of prompt text in `value`, found under `key`.
fn text_bytes(value: &Value, key: Option<&str>) -> u64 {
    match value {
        Value::String(s) if key.is_some_and(|k| TEXT_KEYS.contains(&k)) => s.len() as u64,
        Value::Array(list) => list.iter().map(|v| text_bytes(v, key)).sum(),
        Value::Object(map) => map.iter().map(|(k, v)| text_bytes(v, Some(k))).sum(),
        _ => 0,
    }
}

/// Bytes of prompt text in an item.
pub fn item_bytes(item: &Item<'_>) -> u64 {
    text_bytes(item.value, item.key)
}

/// The token estimate of `bytes` bytes of text: `ceil(bytes / 4)`.
pub fn tokens_of(bytes: u64) -> u64 {
    bytes.div_ceil(4)
}

/// The estimated prompt tokens of a request.
pub fn estimate(api: Api, body: &Value) -> u64 {
    tokens_of(items(api, body).iter().map(item_bytes).sum())
}

/// Whether the prompt holds an image (`image_url` and `image` parts, `input_image` items).
pub fn has_image(api: Api, body: &Value) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::Object(map) => {
                matches!(
                    map.get("type").and_then(Value::as_str),
                    Some("image_url" | "image" | "input_image")
                ) || map.values().any(walk)
            }
            Value::Array(list) => list.iter().any(walk),
            _ => false,
        }
    }
    items(api, body).iter().any(|i| walk(i.value))
}

/// The hashes of a prompt's prefixes for `model`: entry `k` is the prefix of `k + 1` items,
/// with the prompt bytes of that prefix.
pub fn prefix_hashes(model: &str, items: &[Item<'_>]) -> Vec<(u64, u64)> {
    let mut hasher = DefaultHasher::new();
    hasher.write(model.as_bytes());
    hasher.write_u8(0);
    let mut bytes = 0;
    items
        .iter()
        .map(|item| {
            hasher.write(item.key.unwrap_or("").as_bytes());
            hasher.write_u8(0);
            hasher.write(item.value.to_string().as_bytes());
            hasher.write_u8(0);
            bytes += item_bytes(item);
            (hasher.finish(), bytes)
        })
        .collect()
}

/// The cached tokens of a prompt whose prefix of `bytes` bytes was seen before: its estimate
/// in whole [`CACHE_BLOCK`]s.
pub fn cached_tokens(bytes: u64) -> u64 {
    tokens_of(bytes) / CACHE_BLOCK * CACHE_BLOCK
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_estimate_counts_text_only() {
        let chat = json!({"model": "m", "messages": [
            {"role": "system", "content": "abcd"},
            {"role": "user", "content": [
                {"type": "text", "text": "efgh"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "x"}
        ]});
        // 4 + 4 + 2 + 1 bytes.
        assert_eq!(estimate(Api::Chat, &chat), 3);
        assert!(has_image(Api::Chat, &chat));
        let messages = json!({"system": [{"type": "text", "text": "12345678"}],
            "messages": [{"role": "user", "content": "abcd"}]});
        assert_eq!(estimate(Api::Messages, &messages), 3);
        assert!(!has_image(Api::Messages, &messages));
        let responses = json!({"instructions": "abcd", "input": "é"});
        assert_eq!(estimate(Api::Responses, &responses), 2);
        let items_ = json!({"input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "abcd"}, {"type": "input_image", "image_url": "data:x"}]},
            {"type": "function_call_output", "call_id": "c", "output": "abcd"}
        ]});
        assert_eq!(estimate(Api::Responses, &items_), 2);
        assert!(has_image(Api::Responses, &items_));
    }

    #[test]
    fn prefixes_hash_by_model_and_content() {
        let a = json!({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]});
        let b = json!({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "c"}]});
        let ha = prefix_hashes("m", &items(Api::Chat, &a));
        let hb = prefix_hashes("m", &items(Api::Chat, &b));
        assert_eq!(ha[0], hb[0]);
        assert_ne!(ha[1], hb[1]);
        assert_eq!(ha[1].1, 2);
        assert_ne!(prefix_hashes("n", &items(Api::Chat, &a))[0], ha[0]);
        assert_eq!(cached_tokens(64 * 4 + 3), 64);
        assert_eq!(cached_tokens(60), 0);
    }
}
