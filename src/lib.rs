//! The Amazon Bedrock Mantle provider library, from which the provider component
//! (`component/`) and the HTTP face (`face/`) are built for WASI 0.2.
//!
//! Everything but [`wasi_host`] is pure: plain functions over plain data, with the clock,
//! the network and the environment passed in, so it compiles and is tested natively too.
//! [`wasi_host`] (wasi-http I/O) exists on `wasm32` for any component built on this crate.
//! The WIT exports live in the component crate alone, so no other component links them.

pub mod anthropic;
pub mod catalog;
pub mod chat;
pub mod client;
pub mod config;
pub mod cost;
pub mod discovery;
pub mod error;
pub mod http;
pub mod model;
pub mod openai;
pub mod region;
pub mod responses;
pub mod routing;
pub mod secrets;
pub mod sigv4;
pub mod sse;
pub mod token;
mod wire;

#[cfg(target_arch = "wasm32")]
pub mod wasi_host;

pub use error::{Error, Result};
