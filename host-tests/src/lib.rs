//! The native side of the Mantle provider: a wasmtime runtime that builds, loads and calls
//! the component exactly as a gateway would, a local Mantle emulator, and the pieces of the
//! `mantle-host` command.

pub mod build;
pub mod credentials;
pub mod emulator;
pub mod events;
pub mod framing;
pub mod models;
pub mod observe;
pub mod runtime;
pub mod serve;
pub mod spin_manifest;
pub mod token_check;
pub mod trace;
pub mod transcripts;
