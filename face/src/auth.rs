//! The gateway key, as clients send it: `Authorization: Bearer <key>` (OpenAI's SDKs, and
//! Anthropic's with `auth_token`) or `x-api-key: <key>` (Anthropic's SDKs and the agents
//! built on them). Pure, so it is tested natively.

use subtle::ConstantTimeEq;

/// The credentials of an `Authorization` value of the `Bearer` scheme (the scheme in any
/// case, as RFC 9110 has it).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, credentials) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| credentials.trim_ascii())
}

/// Whether a request carries `key`, given the values of its `authorization` and `x-api-key`
/// headers: one of them, given once, must hold it. Each comparison takes the same time
/// wherever the first difference is.
pub fn carries_key(authorization: &[Vec<u8>], x_api_key: &[Vec<u8>], key: &[u8]) -> bool {
    let by_bearer = match authorization {
        [value] => bearer(value).is_some_and(|given| bool::from(given.ct_eq(key))),
        _ => false,
    };
    let by_header = match x_api_key {
        [value] => bool::from(value.trim_ascii().ct_eq(key)),
        _ => false,
    };
    by_bearer | by_header
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"gw-key-0123456789";

    fn one(v: &str) -> Vec<Vec<u8>> {
        vec![v.as_bytes().to_vec()]
    }

    #[test]
    fn the_key_is_taken_as_bearer_or_x_api_key() {
        assert!(carries_key(&one("Bearer gw-key-0123456789"), &[], KEY));
        assert!(carries_key(&one("bearer  gw-key-0123456789 "), &[], KEY));
        assert!(carries_key(&[], &one("gw-key-0123456789"), KEY));
        assert!(carries_key(
            &one("Bearer other"),
            &one("gw-key-0123456789"),
            KEY
        ));
        assert!(carries_key(
            &one("Bearer gw-key-0123456789"),
            &one("other"),
            KEY
        ));
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(!carries_key(&[], &[], KEY));
        assert!(!carries_key(&one("gw-key-0123456789"), &[], KEY));
        assert!(!carries_key(&one("Basic gw-key-0123456789"), &[], KEY));
        assert!(!carries_key(&one("Bearer gw-key-012345678"), &[], KEY));
        assert!(!carries_key(&[], &one("Bearer gw-key-0123456789"), KEY));
        assert!(!carries_key(&[], &one(""), KEY));
        let twice = vec![KEY.to_vec(), KEY.to_vec()];
        assert!(!carries_key(&[], &twice, KEY));
    }
}
