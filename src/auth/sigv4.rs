//! AWS Signature Version 4, query presigning only: the part of SigV4 a Mantle token needs.
//!
//! Each stage is its own function so tests can check them one at a time, as the AWS signing
//! test suite does: canonical request → string to sign → signing key → signature.
//! See <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::text::uri_encode;

/// The only algorithm SigV4 knows.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// SHA-256 of the empty payload, hex.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a presigned request is made of, before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignRequest<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// Host, the only signed header.
    pub host: &'a str,
    /// Absolute path, already URI-encoded (`/`).
    pub path: &'a str,
    /// The operation's own query parameters, in the order they go into the URL.
    pub params: &'a [(&'a str, &'a str)],
    /// Access key id.
    pub access_key_id: &'a str,
    /// Session token of temporary credentials; it is signed.
    pub session_token: Option<&'a str>,
    /// Region of the credential scope.
    pub region: &'a str,
    /// Service of the credential scope.
    pub service: &'a str,
    /// Signing time, `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
    /// Lifetime in seconds (`X-Amz-Expires`).
    pub expires_in: u64,
}

impl PresignRequest<'_> {
    /// `YYYYMMDD` of the signing time.
    pub fn date(&self) -> &str {
        self.amz_date.get(..8).unwrap_or(self.amz_date)
    }

    /// Credential scope: `date/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date(),
            self.region,
            self.service
        )
    }

    /// Every query parameter but the signature, in botocore's order: the operation's own,
    /// then algorithm, credential, date, expires, signed headers, and the security token.
    pub fn query_params(&self) -> Vec<(&str, String)> {
        let mut q: Vec<(&str, String)> = self
            .params
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect();
        q.push(("X-Amz-Algorithm", ALGORITHM.to_owned()));
        q.push((
            "X-Amz-Credential",
            format!("{}/{}", self.access_key_id, self.scope()),
        ));
        q.push(("X-Amz-Date", self.amz_date.to_owned()));
        q.push(("X-Amz-Expires", self.expires_in.to_string()));
        q.push(("X-Amz-SignedHeaders", "host".to_owned()));
        if let Some(token) = self.session_token {
            q.push(("X-Amz-Security-Token", token.to_owned()));
        }
        q
    }
}

/// The stages of one presigning, kept for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    /// The canonical request.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The signature, hex.
    pub signature: String,
    /// The query string of the presigned URL, signature last.
    pub query: String,
}

fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&uri_encode(k));
        out.push('=');
        out.push_str(&uri_encode(v));
    }
    out
}

/// The canonical request: method, path, sorted encoded query, the `host` header, the signed
/// header list and the hash of the empty payload, one per line.
pub fn canonical_request(req: &PresignRequest<'_>) -> String {
    let params = req.query_params();
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    encoded.sort();
    let query = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}\n{}\n{}\nhost:{}\n\nhost\n{}",
        req.method, req.path, query, req.host, EMPTY_PAYLOAD_SHA256
    )
}

/// Lowercase hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// The string to sign: algorithm, date, scope and the hash of the canonical request.
pub fn string_to_sign(req: &PresignRequest<'_>, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        req.amz_date,
        req.scope(),
        sha256_hex(canonical_request.as_bytes())
    )
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The signing key, derived from the secret as the spec writes it.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    // kSecret = "AWS4" + secret
    let k_secret = format!("AWS4{secret}");
    // kDate = HMAC(kSecret, Date)
    let k_date = hmac(k_secret.as_bytes(), date.as_bytes());
    // kRegion = HMAC(kDate, Region)
    let k_region = hmac(&k_date, region.as_bytes());
    // kService = HMAC(kRegion, Service)
    let k_service = hmac(&k_region, service.as_bytes());
    // kSigning = HMAC(kService, "aws4_request")
    hmac(&k_service, b"aws4_request")
}

/// signature = HexEncode(HMAC(kSigning, StringToSign))
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex(&hmac(signing_key, string_to_sign.as_bytes()))
}

/// The last signing key derived, with what it was derived from.
struct CachedKey {
    secret: String,
    date: String,
    region: String,
    service: String,
    key: [u8; 32],
}

std::thread_local! {
    /// The signing key changes only with the secret, the day, the region and the service, so
    /// minting again for the same credentials skips four of the five HMACs, as the AWS SDKs'
    /// signing-key caches do. One entry: a client mints for one set of credentials at a time.
    static LAST_KEY: core::cell::RefCell<Option<CachedKey>> = const { core::cell::RefCell::new(None) };
}

/// [`signing_key`], from the one-entry cache when the same secret (compared in constant time,
/// so the cache tells nothing about a secret it holds), day, region and service come again.
fn cached_signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    LAST_KEY.with(|cell| {
        let mut last = cell.borrow_mut();
        if let Some(c) = last.as_ref()
            && c.date == date
            && c.region == region
            && c.service == service
            && bool::from(c.secret.as_bytes().ct_eq(secret.as_bytes()))
        {
            return c.key;
        }
        let key = signing_key(secret, date, region, service);
        *last = Some(CachedKey {
            secret: secret.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            key,
        });
        key
    })
}

/// Presigns a request: every stage, and the final query string with the signature last.
pub fn presign(req: &PresignRequest<'_>, secret: &str) -> Presigned {
    let canonical_request = canonical_request(req);
    let string_to_sign = string_to_sign(req, &canonical_request);
    let key = cached_signing_key(secret, req.date(), req.region, req.service);
    let signature = signature(&key, &string_to_sign);
    let params = req.query_params();
    let mut query = encode_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
    query.push_str("&X-Amz-Signature=");
    query.push_str(&signature);
    Presigned {
        canonical_request,
        string_to_sign,
        signature,
        query,
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The latest time `amz_date` can express: 9999-12-31T23:59:59Z.
pub const MAX_UNIX_TIME: u64 = 253_402_300_799;

/// `YYYYMMDDTHHMMSSZ` of a Unix time, `None` past year 9999.
pub fn amz_date(unix: u64) -> Option<String> {
    if unix > MAX_UNIX_TIME {
        return None;
    }
    let days = i64::try_from(unix / 86_400).ok()?;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    Some(format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ))
}

// Howard Hinnant's civil calendar algorithms (public domain).
fn civil_from_days(z: i64) -> (i64, u64, u64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe as i64 + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_key_cache_answers_only_for_the_same_inputs() {
        let fresh =
            |secret: &str, date: &str, region: &str| signing_key(secret, date, region, "bedrock");
        // Alternating inputs: every answer is the key of its own inputs, cached or not.
        for (secret, date, region) in [
            ("secret-a", "20250715", "us-west-2"),
            ("secret-a", "20250715", "us-west-2"),
            ("secret-b", "20250715", "us-west-2"),
            ("secret-a", "20250716", "us-west-2"),
            ("secret-a", "20250716", "eu-west-1"),
            ("secret-a", "20250716", "eu-west-1"),
            ("secret-", "20250716", "eu-west-1"),
        ] {
            assert_eq!(
                cached_signing_key(secret, date, region, "bedrock"),
                fresh(secret, date, region),
                "{secret} {date} {region}"
            );
        }
        assert_ne!(
            cached_signing_key("secret-a", "20250716", "eu-west-1", "bedrock"),
            cached_signing_key("secret-a", "20250716", "eu-west-1", "s3")
        );
    }

    #[test]
    fn amz_dates_are_written_as_sigv4_wants() {
        assert_eq!(amz_date(0).as_deref(), Some("19700101T000000Z"));
        assert_eq!(amz_date(1_752_555_600).as_deref(), Some("20250715T050000Z"));
        assert_eq!(amz_date(951_782_400).as_deref(), Some("20000229T000000Z"));
        assert_eq!(amz_date(MAX_UNIX_TIME).as_deref(), Some("99991231T235959Z"));
        assert_eq!(amz_date(MAX_UNIX_TIME + 1), None);
        assert_eq!(amz_date(86_399).as_deref(), Some("19700101T235959Z"));
        assert_eq!(amz_date(86_400).as_deref(), Some("19700102T000000Z"));
    }
}
