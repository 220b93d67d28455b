//! The Amazon Bedrock Mantle provider, built as a WebAssembly component (WASI 0.2).
//!
//! Everything but [`component`] is pure: plain functions over plain data, with the clock,
//! the network and the environment passed in, so it compiles and is tested natively too.
//! The component glue (WIT bindings) exists only on `wasm32` with the `component` feature
//! (on by default); [`wasi_host`] (wasi-http I/O) exists on `wasm32` for any component built
//! on this crate, such as the HTTP face.

pub mod anthropic;
pub mod chat;
pub mod client;
pub mod config;
pub mod discovery;
pub mod error;
pub mod http;
pub mod model;
pub mod openai;
pub mod region;
pub mod sigv4;
pub mod sse;
pub mod token;
mod wire;

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component;
#[cfg(target_arch = "wasm32")]
pub mod wasi_host;

pub use error::{Error, Result};
