//! Tests that call the component exactly as a gateway would: through wasmtime, with the
//! emulator standing in for Mantle, and the face on real hosts (`hosts`: Spin and
//! `mantle-host serve`). One binary, so the component is compiled once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod batched;
mod chain;
mod chat;
mod cli;
mod clients;
mod common;
mod contract;
mod edges;
mod face;
mod hosts;
mod installed;
mod listing;
mod mantle;
mod messages;
mod operate;
mod reuse;
mod sleeps;
mod tokens;
mod tracing;
mod wire_bytes;
