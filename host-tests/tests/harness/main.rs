//! Tests that call the component exactly as a gateway would: through wasmtime, with the
//! emulator standing in for Mantle. One binary, so the component is compiled once.

mod common;
mod contract;
mod tokens;
