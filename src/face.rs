//! The OpenAI-compatible HTTP face's translation layer, with no I/O.
