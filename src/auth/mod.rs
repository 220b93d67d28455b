//! Credentials to a bearer token: SigV4 query presigning ([`sigv4`]) and the Mantle token
//! minted with it ([`token`]).

pub mod sigv4;
pub mod token;
