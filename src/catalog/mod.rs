//! What the provider knows about models and where they are served, all pure: model ids and
//! their aliases with the route table ([`ids`]), what an id alone says about a model
//! ([`defaults`]), the base URL ([`base_url`]), regions ([`region`]), the Genesis
//! configuration ([`config`]), the listing and its merge with the configuration
//! ([`discovery`]), and the choice of one request's route ([`routing`]).
//!
//! Each module imports only from the ones listed before it.

pub mod base_url;
pub mod config;
pub mod defaults;
pub mod discovery;
pub mod ids;
pub mod region;
pub mod routing;

pub use ids::*;
