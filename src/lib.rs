//! The Amazon Bedrock Mantle provider library, from which the provider component
//! (`component/`) and the HTTP face (`face/`) are built for WASI 0.2.
//!
//! Everything but [`wasi_host`] is pure: plain functions over plain data, with the clock,
//! the network and the environment passed in, so it compiles and is tested natively too.
//! [`wasi_host`] (wasi-http I/O) exists on `wasm32` with the `p2` feature (the default);
//! `wasi3_host`, the same port on WASI 0.3, with the `p3` feature. A WASI 0.3 build leaves
//! `p2` out, and with it every WASI 0.2 import.
//! The WIT exports live in the component crate alone, so no other component links them.
//!
//! The modules form layers, each importing only from the layers below it (a unit test
//! reads the imports and holds them to its table of layers):
//!
//! 1. [`error`], [`text`] (string helpers);
//! 2. [`secrets`], [`model`], [`sse`]; then [`chat`], the unified model;
//! 3. [`catalog`]: ids and the route table, defaults, the base URL, regions, the
//!    configuration, discovery, and [`catalog::routing`] (where one request goes);
//! 4. [`auth`]: SigV4 and the minted token;
//! 5. [`routes`]: the shared [`routes::policy`], then one module per upstream API with its
//!    wire types (no route imports another);
//! 6. the I/O glue: [`http`] (the port), [`client`], [`wasi_host`] (and `wasi3_host`).

pub mod auth;
pub mod catalog;
pub mod chat;
pub mod client;
pub mod cost;
pub mod error;
pub mod http;
pub mod model;
pub mod routes;
pub mod secrets;
pub mod sse;
pub mod text;

#[cfg(all(target_arch = "wasm32", feature = "p2"))]
pub mod wasi_host;

#[cfg(all(target_arch = "wasm32", feature = "p3"))]
pub mod wasi3_host;

#[cfg(test)]
mod layers;

pub use error::{Error, Result};

// The paths the gateway crates have always used, kept for them.
pub use auth::{sigv4, token};
pub use catalog::{config, discovery, region, routing};
pub use routes::{anthropic, openai, responses};
