//! The OpenAI-compatible HTTP face of the Mantle provider, as a Spin component.
//!
//! `GET /v1/models` and `POST /v1/chat/completions` (streaming and not) for any OpenAI client;
//! Claude models go over Mantle's Anthropic route and come back in OpenAI's shape. A gateway
//! key guards every route. Everything this component is told arrives as Spin variables:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `gateway_api_key` | the key clients send as `Authorization: Bearer <key>` |
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
//! The translation between OpenAI's shapes and the provider's lives in
//! [`openai`], which is pure and tested natively; [`spin`] (wasm32 only) is the I/O.

mod decimal;
mod json;
pub mod openai;
#[cfg(target_arch = "wasm32")]
mod spin;
