//! The upstream routes: one module per upstream API, each with its serde wire types beside it
//! (`wire`), and what the three share: the policy that reads a failed answer ([`policy`]).
//! Nothing in one route imports from another.
//!
//! Each route offers the same outline: `build_request` (a [`crate::chat::ChatRequest`] to a
//! JSON body), `classify_error` (a failed answer to the provider's [`crate::Error`]) and
//! `event_stream` (the answer's stream to unified events).

pub mod anthropic;
pub mod openai;
pub mod policy;
pub mod responses;

/// `skip_serializing_if` for flags sent only when set.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// A position as the events carry it (bounded by the route's `MAX_TOOL_CALLS`).
pub(crate) fn ordinal(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}
