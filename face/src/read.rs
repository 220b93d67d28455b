//! What the three request readers share: the one item budget every array item of a request
//! is counted against (the same count and the same refusal on every surface), the arrays and
//! string-or-array members the Responses and Messages readers read against it, and the
//! reading of a body whose failures are the client's, each naming the path of the member
//! that is wrong.

use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;

use mantle_provider::error::{Error, Result};
use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

/// The most array items (messages, content parts, tool calls, tools, stop sequences) one
/// request may carry in all.
pub const MAX_ITEMS: usize = 10_000;

/// The refusal of a request with more than [`MAX_ITEMS`] array items.
pub fn too_many_items() -> String {
    format!(
        "too many items: a request may carry {MAX_ITEMS} messages, content parts, tool calls, tools and stop sequences in all"
    )
}

/// The array items a request may still carry. An item is counted once it is read, so a
/// request of exactly [`MAX_ITEMS`] items is read whole and one more is refused.
pub struct Budget(Cell<usize>);

impl Budget {
    /// A full budget.
    pub const fn new() -> Budget {
        Budget(Cell::new(MAX_ITEMS))
    }

    /// Counts one item read; the refusal when the budget was spent.
    pub fn take(&self) -> core::result::Result<(), String> {
        match self.0.get().checked_sub(1) {
            Some(left) => {
                self.0.set(left);
                Ok(())
            }
            None => Err(too_many_items()),
        }
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::new()
    }
}

std::thread_local! {
    /// The budget of the request the derived readers are reading ([`from_slice`] refills it).
    static BUDGET: Budget = const { Budget::new() };
}

/// Counts one item against the budget of the request being read.
fn take_item<E: de::Error>() -> core::result::Result<(), E> {
    BUDGET.with(|b| b.take().map_err(E::custom))
}

/// A body read as `T` with a full item budget: a body that is not UTF-8 or not JSON is
/// `the body is not JSON: …`; a member of the wrong shape is named by its path
/// (`messages[2].content[0].type: …`, as the chat-completions reader names it), and a body
/// of the wrong shape as a whole is `the body is not {what}: …`.
pub fn from_slice<'a, T: Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T> {
    let text = core::str::from_utf8(body).map_err(|e| {
        Error::InvalidRequest(format!(
            "the body is not JSON: invalid UTF-8 at byte {}",
            e.valid_up_to()
        ))
    })?;
    BUDGET.with(|b| b.0.set(MAX_ITEMS));
    let mut reader = serde_json::Deserializer::from_str(text);
    let read = serde_path_to_error::deserialize(&mut reader)
        .map_err(|e| (e.path().to_string(), e.into_inner()))
        .and_then(|read| reader.end().map(|()| read).map_err(|e| (".".into(), e)));
    read.map_err(|(at, e)| {
        if !e.is_data() {
            Error::InvalidRequest(format!("the body is not JSON: {e}"))
        } else if at == "." || at.starts_with('[') {
            // Of the body as a whole; a derived reader takes an array for an object's
            // members in order, so a path into a top-level array is the body's shape too.
            Error::InvalidRequest(format!("the body is not {what}: {e}"))
        } else {
            Error::InvalidRequest(format!("{at}: {e}"))
        }
    })
}

/// An array whose items count against the request's budget as they are read.
#[derive(Debug)]
pub struct Items<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(reader: D) -> core::result::Result<Self, D::Error> {
        struct Seq<T>(PhantomData<fn() -> T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Seq<T> {
            type Value = Items<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                items: A,
            ) -> core::result::Result<Items<T>, A::Error> {
                counted(items).map(Items)
            }
        }
        reader.deserialize_seq(Seq(PhantomData))
    }
}

/// A string, or an array of `T` whose items count against the request's budget.
#[derive(Debug)]
pub enum TextOr<T> {
    /// A plain string.
    Text(String),
    /// An array.
    List(Vec<T>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for TextOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        struct V<T>(PhantomData<fn() -> T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = TextOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> core::result::Result<Self::Value, E> {
                Ok(TextOr::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> core::result::Result<Self::Value, E> {
                Ok(TextOr::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                seq: A,
            ) -> core::result::Result<Self::Value, A::Error> {
                counted(seq).map(TextOr::List)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The items of an array, each counted once read.
fn counted<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
    mut seq: A,
) -> core::result::Result<Vec<T>, A::Error> {
    let mut items = Vec::new();
    while let Some(item) = seq.next_element()? {
        take_item::<A::Error>()?;
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_holds_exactly_max_items() {
        let budget = Budget::new();
        for _ in 0..MAX_ITEMS {
            assert_eq!(budget.take(), Ok(()));
        }
        assert_eq!(budget.take(), Err(too_many_items()));
    }

    #[test]
    fn an_array_of_exactly_the_budget_is_read_and_one_more_is_not() {
        let full = format!("[{}]", vec!["1"; MAX_ITEMS].join(","));
        let read: Items<u8> = from_slice(full.as_bytes(), "an array").unwrap();
        assert_eq!(read.0.len(), MAX_ITEMS);
        // Two arrays share one budget: the empty one costs nothing.
        let split = format!("[[{}],[]]", vec!["1"; MAX_ITEMS - 2].join(","));
        let read: Items<TextOr<u8>> = from_slice(split.as_bytes(), "arrays").unwrap();
        assert_eq!(read.0.len(), 2);
        let over = format!("[{}]", vec!["1"; MAX_ITEMS + 1].join(","));
        let Err(Error::InvalidRequest(m)) = from_slice::<Items<u8>>(over.as_bytes(), "x") else {
            panic!("{MAX_ITEMS} + 1 items were read");
        };
        assert!(m.contains(&too_many_items()), "{m}");
    }

    /// Request bodies: pieces of real requests of the three APIs, spliced, with stray bytes.
    fn bodies() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let all = concat!(
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"ok"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"stream":true,"stop":["x"],"max_tokens":5}"#,
            r#"{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":"ok"},{"type":"reasoning","summary":[{"type":"summary_text","text":"t"}]}],"tools":[{"type":"function","name":"f"}],"reasoning":{"effort":"low"},"stream":false}"#,
            r#"{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"tool_result","tool_use_id":"t","content":"ok"}]},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"t","name":"f","input":{}}]}],"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"auto"},"thinking":{"type":"enabled","budget_tokens":2048},"stop_sequences":["x"]}"#,
        );
        let fragment = (any::<prop::sample::Index>(), 0usize..96).prop_map(move |(at, len)| {
            let bytes = all.as_bytes();
            let start = at.index(bytes.len());
            bytes[start..(start + len).min(bytes.len())].to_vec()
        });
        let token = prop_oneof![
            6 => fragment,
            1 => prop::collection::vec(any::<u8>(), 0..6),
            1 => Just(b"null".to_vec()),
            1 => Just(b"[".to_vec()),
            1 => Just(b"{".to_vec()),
        ];
        prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
    }

    /// Whether a refusal names where the request is wrong: a member path
    /// (`messages[2].content`), or the body as a whole.
    fn names_a_place(message: &str) -> bool {
        let head = message.split(": ").next().unwrap_or("");
        message.starts_with("the body ")
            || message.starts_with("too many items")
            || (!head.is_empty()
                && head
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.[]".contains(&b)))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        #[test]
        fn the_readers_never_panic_and_refusals_say_where(body in bodies()) {
            use mantle_provider::error::Error::InvalidRequest;
            for refused in [
                crate::openai::parse_chat_request(&body).err(),
                crate::responses::parse_responses_request(&body).err(),
                crate::messages::parse_request(&body).err(),
                crate::messages::peek(&body).err(),
            ]
            .into_iter()
            .flatten()
            {
                proptest::prop_assert!(
                    matches!(&refused, InvalidRequest(m) if names_a_place(m)),
                    "{refused:?}"
                );
            }
        }
    }
}
