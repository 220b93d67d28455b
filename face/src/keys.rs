//! Named gateway keys: who is calling, and which models they may use.
//!
//! Beside the single gateway key (`gateway_api_key`, named `default`), a key file (the
//! `gateway_keys` variable; `mantle-host serve --keys FILE`) lists named keys, each stored as
//! the lowercase hex SHA-256 of the key, with an optional model allowlist:
//!
//! ```json5
//! { keys: [ { name: "team-a", sha256: "<64 lowercase hex>", models: ["openai.gpt-oss-120b"] },
//!           { name: "ci", sha256: "…" } ] }   // no `models`: every model
//! ```
//!
//! A presented key is hashed and its digest compared with every entry's, each comparison in
//! constant time. Allowlist ids match through the catalog's normalisation, as requests do
//! (`claude-opus-4.7` is `anthropic.claude-opus-4-7`). A key's name labels its access record,
//! and so its metrics, traces and cost; it is never a secret, the key never leaves here.

use mantle_provider::Error;
use mantle_provider::catalog;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The name of the single gateway key.
pub const DEFAULT_NAME: &str = "default";
/// The name requests get when the gateway serves without a key (`allow_unauthenticated`).
pub const ANONYMOUS_NAME: &str = "anonymous";
/// Most keys a key file may hold.
pub const MAX_KEYS: usize = 1_000;
/// Longest key name, bytes.
pub const MAX_NAME: usize = 64;
/// Most models one allowlist may name.
pub const MAX_MODELS: usize = 256;

/// One named key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedKey {
    /// Its name: letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// Lowercase hex SHA-256 of the key.
    sha256: String,
    /// The catalog ids it may use; `None`: every model.
    pub models: Option<Vec<String>>,
}

/// A parsed key file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFile {
    /// The keys, in file order.
    pub keys: Vec<NamedKey>,
}

#[derive(Deserialize)]
struct RawFile {
    keys: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    name: String,
    sha256: String,
    #[serde(default)]
    models: Option<Vec<String>>,
}

/// The catalog id a model reference names, as allowlists compare them.
fn catalog_id(model: &str) -> String {
    catalog::normalize(model.trim()).id
}

/// Parses a key file. Errors name the entry and never quote a digest.
pub fn parse(text: &str) -> Result<KeyFile, Error> {
    let bad = |m: String| Error::Configuration(format!("gateway_keys: {m}"));
    let raw: RawFile = json5::from_str(text).map_err(|e| bad(e.to_string()))?;
    if raw.keys.len() > MAX_KEYS {
        return Err(bad(format!("more than {MAX_KEYS} keys")));
    }
    let mut keys: Vec<NamedKey> = Vec::with_capacity(raw.keys.len());
    for (i, k) in raw.keys.into_iter().enumerate() {
        let valid_name = !k.name.is_empty()
            && k.name.len() <= MAX_NAME
            && k.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid_name {
            return Err(bad(format!(
                "keys[{i}].name must be 1 to {MAX_NAME} letters, digits, '.', '_' or '-'"
            )));
        }
        if keys.iter().any(|o| o.name == k.name) || k.name == DEFAULT_NAME {
            return Err(bad(format!(
                "keys[{i}].name {:?} is used twice (\"{DEFAULT_NAME}\" is the single gateway key's)",
                k.name
            )));
        }
        let digest = k.sha256.trim();
        if digest.len() != 64
            || !digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad(format!(
                "keys[{i}] ({}): sha256 must be 64 lowercase hex digits, the SHA-256 of the key (printf %s \"$KEY\" | sha256sum)",
                k.name
            )));
        }
        let models = match k.models {
            Some(list) if list.len() > MAX_MODELS => {
                return Err(bad(format!(
                    "keys[{i}] ({}): more than {MAX_MODELS} models",
                    k.name
                )));
            }
            Some(list) if list.iter().any(|m| m.trim().is_empty()) => {
                return Err(bad(format!("keys[{i}] ({}): a model id is empty", k.name)));
            }
            Some(list) => Some(list.iter().map(|m| catalog_id(m)).collect()),
            None => None,
        };
        keys.push(NamedKey {
            name: k.name,
            sha256: digest.to_owned(),
            models,
        });
    }
    Ok(KeyFile { keys })
}

/// Who is calling: the key's name and what it may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's name.
    pub name: String,
    /// The catalog ids it may use; `None`: every model.
    pub models: Option<Vec<String>>,
}

impl Caller {
    /// A caller that may use every model.
    pub fn unrestricted(name: &str) -> Caller {
        Caller {
            name: name.to_owned(),
            models: None,
        }
    }

    /// Whether this caller may use `model` (any reference form).
    pub fn allows(&self, model: &str) -> bool {
        match &self.models {
            None => true,
            Some(list) => {
                let id = catalog_id(model);
                list.contains(&id)
            }
        }
    }

    /// The refusal of a model outside the allowlist: it names the model and what the key
    /// may use.
    pub fn refusal(&self, model: &str) -> String {
        let allowed = self.models.as_deref().unwrap_or_default().join(", ");
        format!(
            "the key {:?} may not use the model {model:?}; it may use: {allowed}",
            self.name
        )
    }
}

/// Lowercase hex SHA-256 of `key`.
fn digest_hex(key: &[u8]) -> String {
    Sha256::digest(key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>`, each
/// header given once.
fn presented<'a>(authorization: &'a [Vec<u8>], x_api_key: &'a [Vec<u8>]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    if let [value] = authorization
        && let Some((scheme, credentials)) = value.split_at_checked(7)
        && scheme.eq_ignore_ascii_case(b"bearer ")
    {
        out.push(credentials.trim_ascii());
    }
    if let [value] = x_api_key {
        out.push(value.trim_ascii());
    }
    out
}

/// The caller a request's key names, given the single gateway key (if any) and the key file:
/// the single key is `default`; a named key is its entry. `None` when neither matches.
/// Every entry is compared, each in constant time.
pub fn identify(
    single: Option<&[u8]>,
    file: &KeyFile,
    authorization: &[Vec<u8>],
    x_api_key: &[Vec<u8>],
) -> Option<Caller> {
    if let Some(key) = single
        && crate::auth::carries_key(authorization, x_api_key, key)
    {
        return Some(Caller::unrestricted(DEFAULT_NAME));
    }
    let mut found: Option<&NamedKey> = None;
    for given in presented(authorization, x_api_key) {
        if given.is_empty() {
            continue;
        }
        let digest = digest_hex(given);
        for entry in &file.keys {
            if bool::from(digest.as_bytes().ct_eq(entry.sha256.as_bytes())) && found.is_none() {
                found = Some(entry);
            }
        }
    }
    found.map(|k| Caller {
        name: k.name.clone(),
        models: k.models.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: &str) -> Vec<Vec<u8>> {
        vec![v.as_bytes().to_vec()]
    }

    fn file() -> KeyFile {
        parse(&format!(
            r#"{{ keys: [
                {{ name: "team-a", sha256: "{}", models: ["openai.gpt-oss-120b", "claude-opus-4.7"] }},
                {{ name: "ci", sha256: "{}" }},
            ] }}"#,
            digest_hex(b"key-a"),
            digest_hex(b"key-ci")
        ))
        .unwrap()
    }

    #[test]
    fn the_digest_is_sha256_in_lowercase_hex() {
        // printf %s abc | sha256sum
        assert_eq!(
            digest_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn named_keys_are_found_by_either_header() {
        let f = file();
        let a = identify(None, &f, &one("Bearer key-a"), &[]).unwrap();
        assert_eq!(a.name, "team-a");
        let ci = identify(None, &f, &[], &one("key-ci")).unwrap();
        assert_eq!(ci, Caller::unrestricted("ci"));
        assert_eq!(identify(None, &f, &one("Bearer key-b"), &[]), None);
        assert_eq!(identify(None, &f, &[], &[]), None);
        assert_eq!(identify(None, &f, &one("Bearer "), &[]), None);
    }

    #[test]
    fn the_single_key_is_default_beside_the_file() {
        let f = file();
        let d = identify(Some(b"gw"), &f, &one("Bearer gw"), &[]).unwrap();
        assert_eq!(d, Caller::unrestricted(DEFAULT_NAME));
        let a = identify(Some(b"gw"), &f, &[], &one("key-a")).unwrap();
        assert_eq!(a.name, "team-a");
        let none = identify(Some(b"gw"), &KeyFile::default(), &one("Bearer key-a"), &[]);
        assert_eq!(none, None);
    }

    #[test]
    fn allowlists_match_through_the_catalog() {
        let a = identify(None, &file(), &one("Bearer key-a"), &[]).unwrap();
        assert!(a.allows("openai.gpt-oss-120b"));
        assert!(a.allows("amazon-bedrock-mantle/openai.gpt-oss-120b"));
        assert!(a.allows("anthropic.claude-opus-4-7"));
        assert!(a.allows("us.anthropic.claude-opus-4-7-v1:0"));
        assert!(!a.allows("openai.gpt-oss-20b"));
        let refusal = a.refusal("openai.gpt-oss-20b");
        assert!(refusal.contains("\"openai.gpt-oss-20b\""), "{refusal}");
        assert!(refusal.contains("team-a"), "{refusal}");
    }

    #[test]
    fn bad_files_name_the_entry_and_never_a_digest() {
        let bad = |text: &str| parse(text).unwrap_err().message().to_owned();
        let m = bad(r#"{keys: [{name: "x", sha256: "ABC"}]}"#);
        assert!(
            m.contains("keys[0] (x): sha256 must be 64 lowercase hex"),
            "{m}"
        );
        assert!(!m.contains("ABC"), "{m}");
        let upper = digest_hex(b"k").to_uppercase();
        let m = bad(&format!(r#"{{keys: [{{name: "x", sha256: "{upper}"}}]}}"#));
        assert!(!m.contains(&upper), "{m}");
        let d = digest_hex(b"k");
        let m = bad(&format!(
            r#"{{keys: [{{name: "x", sha256: "{d}"}}, {{name: "x", sha256: "{d}"}}]}}"#
        ));
        assert!(m.contains("used twice"), "{m}");
        let m = bad(&format!(r#"{{keys: [{{name: "a b", sha256: "{d}"}}]}}"#));
        assert!(m.contains("keys[0].name"), "{m}");
        let m = bad(&format!(
            r#"{{keys: [{{name: "a", sha256: "{d}", model: ["x"]}}]}}"#
        ));
        assert!(m.contains("model"), "an unknown member is named: {m}");
        assert!(parse("{keys: []}").unwrap().keys.is_empty());
    }
}
