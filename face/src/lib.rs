//! The OpenAI-compatible HTTP face of the Mantle provider, as a Spin component.
//!
//! `GET /v1/models`, `POST /v1/chat/completions` and `POST /v1/responses` (streaming and not)
//! for any OpenAI client; every model answers on both, whatever Mantle route serves it
//! (Claude over the Anthropic route, GPT-5.x over the Responses route, the others over chat
//! completions), and comes back in the shape the client asked for. `POST /v1/messages`
//! (streaming and not) for any Anthropic client: Claude models pass to Mantle's Anthropic route
//! as written, open models are translated ([`messages`]). A gateway key guards every route
//! ([`auth`]). Everything this component is told arrives as Spin variables:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `gateway_api_key` | the key clients send as `Authorization: Bearer <key>` or `x-api-key` |
//! | `gateway_keys` | named keys with model allowlists, JSON5 ([`keys`]) |
//! | `allow_unauthenticated` | `true` serves without a key (local use only; logged loudly) |
//! | `aws_region` | Mantle region |
//! | `aws_bearer_token_bedrock` | a Mantle bearer token, or |
//! | `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token` | credentials to mint one |
//! | `aws_credentials_expiration` | when those credentials expire (seconds since the Unix epoch) |
//! | `mantle_config` | Genesis JSON5 configuration text (base URL, models) |
//! | `max_request_bytes` | largest request body (default 8 MiB) |
//!
//! A Spin host makes a fresh instance per request, so the models discovered upstream are
//! kept in the default key-value store for the hour the provider caches them.
//!
//! The translation between the clients' shapes and the provider's lives in [`openai`] (chat
//! completions), [`responses`] (the Responses API) and [`messages`] (Anthropic Messages), which
//! are pure and tested natively; their readers share [`read`] (one item budget), and each is a
//! [`surface::Surface`], which `gateway` (wasm32 only) drives over the I/O of one Spin SDK:
//! `spin` (spin-sdk 5.2, WASI 0.2, the default) or `spin3` (spin-sdk 7, WASI 0.3, the `p3`
//! feature).

pub mod access;
pub mod auth;
pub mod cost;
#[cfg(all(target_arch = "wasm32", any(feature = "p2", feature = "p3")))]
mod gateway;
pub mod keys;
pub mod messages;
pub mod openai;
pub mod read;
pub mod responses;
#[cfg(all(target_arch = "wasm32", feature = "p2", not(feature = "p3")))]
mod spin;
#[cfg(all(target_arch = "wasm32", feature = "p3"))]
mod spin3;
pub mod surface;
