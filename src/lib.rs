//! The Amazon Bedrock Mantle provider, built as a WebAssembly component (WASI 0.2).
//!
//! Everything but [`component`] is pure: plain functions over plain data, with the clock,
//! the network and the environment passed in, so it compiles and is tested natively too.
//! The component glue (WIT bindings, wasi-http I/O) exists only on `wasm32`.

pub mod anthropic;
pub mod chat;
pub mod client;
pub mod config;
pub mod discovery;
pub mod error;
pub mod face;
pub mod http;
pub mod model;
pub mod openai;
pub mod region;
pub mod sigv4;
pub mod sse;
pub mod token;
mod wire;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod wasi_host;

pub use error::{Error, Result};
