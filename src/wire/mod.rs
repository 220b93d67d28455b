//! Serde structs of the three wire protocols, apart from their mapping (which lives in
//! [`crate::openai`], [`crate::responses`] and [`crate::anthropic`]). Requests borrow from the
//! [`crate::chat::ChatRequest`]; stream events own their text. Unknown fields are ignored, and
//! unknown event or block types read as `Unknown`, so upstream additions do not break streams.

pub mod anthropic;
pub mod openai;
pub mod responses;

/// `skip_serializing_if` for flags sent only when set.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
