//! AWS Signature Version 4, query presigning only: the part of SigV4 a Mantle token needs.
//!
//! Each stage is its own function so tests can check them one at a time, as the AWS signing
//! test suite does: canonical request → string to sign → signing key → signature.
//! See <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>.
//!
//! SHA-256 and HMAC are written out here (FIPS 180-4, RFC 2104) rather than taken from the
//! `sha2` and `hmac` crates, whose unrolled rounds and generic wrappers cost about 9 KB of the
//! component; the tests check them against the standards' vectors.

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

/// Percent-encodes as SigV4 requires: everything but `A-Z a-z 0-9 - _ . ~`, uppercase hex.
pub fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 15)]));
        }
    }
    out
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
    let mut encoded: Vec<(String, String)> = Vec::new();
    for (k, v) in req.query_params() {
        encoded.push((uri_encode(k), uri_encode(&v)));
    }
    // Insertion sort: a handful of parameters.
    for i in 1..encoded.len() {
        let mut j = i;
        while j > 0 && encoded[j - 1] > encoded[j] {
            encoded.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut query = String::new();
    for (k, v) in &encoded {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(k);
        query.push('=');
        query.push_str(v);
    }
    format!(
        "{}\n{}\n{}\nhost:{}\n\nhost\n{}",
        req.method, req.path, query, req.host, EMPTY_PAYLOAD_SHA256
    )
}

/// Lowercase hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&sha256(data))
}

/// SHA-256 round constants: the first 32 bits of the fractional parts of the cube roots of the
/// first 64 primes.
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 of `data` (FIPS 180-4).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    // H(0): the first 32 bits of the fractional parts of the square roots of the first 8 primes.
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        compress(&mut h, block);
    }
    // Padding: 0x80, zeros, then the length in bits as a big-endian u64.
    let rest = blocks.remainder();
    let mut last = [0u8; 128];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] = 0x80;
    let end = if rest.len() < 56 { 64 } else { 128 };
    let bits = (data.len() as u64).wrapping_mul(8);
    last[end - 8..end].copy_from_slice(&bits.to_be_bytes());
    for block in last[..end].chunks_exact(64) {
        compress(&mut h, block);
    }
    let mut out = [0u8; 32];
    for (word, bytes) in h.iter().zip(out.chunks_exact_mut(4)) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// The SHA-256 compression function over one 64-byte block.
fn compress(h: &mut [u32; 8], block: &[u8]) {
    let mut w = [0u32; 64];
    for (i, bytes) in block.chunks_exact(4).enumerate() {
        w[i] = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    for i in 16..64 {
        // σ0 and σ1
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16]
            .wrapping_add(s0)
            .wrapping_add(w[i - 7])
            .wrapping_add(s1);
    }
    let mut v = *h;
    for i in 0..64 {
        let [a, b, c, d, e, f, g, hh] = v;
        // Σ1, Ch, Σ0 and Maj
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = hh
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(K[i])
            .wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        v = [
            t1.wrapping_add(s0.wrapping_add(maj)),
            a,
            b,
            c,
            d.wrapping_add(t1),
            e,
            f,
            g,
        ];
    }
    for (x, y) in h.iter_mut().zip(v) {
        *x = x.wrapping_add(y);
    }
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

/// HMAC-SHA256 (RFC 2104): H((K ^ opad) || H((K ^ ipad) || data)).
fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // A key longer than a block is hashed first; a shorter one is padded with zeros.
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(data);
    let mut outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer)
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

/// Presigns a request: every stage, and the final query string with the signature last.
pub fn presign(req: &PresignRequest<'_>, secret: &str) -> Presigned {
    let canonical_request = canonical_request(req);
    let string_to_sign = string_to_sign(req, &canonical_request);
    let key = signing_key(secret, req.date(), req.region, req.service);
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

/// Compares two strings in time that depends on their length only.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX_LOWER[usize::from(b >> 4)]));
        out.push(char::from(HEX_LOWER[usize::from(b & 15)]));
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

/// The Unix time of a `YYYYMMDDTHHMMSSZ` text, `None` if it is not one.
pub fn parse_amz_date(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: core::ops::Range<usize>| -> Option<u64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return None;
    }
    let days = u64::try_from(days_from_civil(y as i64, mo, d)).ok()?;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
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

fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400) as u64;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i64 - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_vectors() {
        for (input, digest) in [
            (
                "".to_owned(),
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                "abc".to_owned(),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".to_owned(),
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
            (
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".to_owned(),
                "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
            ),
            (
                "a".repeat(1_000_000),
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            ),
        ] {
            assert_eq!(sha256_hex(input.as_bytes()), digest, "{} bytes", input.len());
        }
        assert_eq!(sha256_hex(b""), EMPTY_PAYLOAD_SHA256);
        // Every padding case around the 56- and 64-byte boundaries hashes differently.
        let digests: std::collections::HashSet<String> =
            (50..=130).map(|n| sha256_hex(&vec![b'x'; n])).collect();
        assert_eq!(digests.len(), 81);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1, 2 and 6 (a key longer than a block).
        assert_eq!(
            hex(&hmac(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn uri_encoding_keeps_only_unreserved() {
        assert_eq!(uri_encode("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(uri_encode("a/b+c=d e"), "a%2Fb%2Bc%3Dd%20e");
        assert_eq!(uri_encode("é"), "%C3%A9");
    }

    #[test]
    fn amz_dates_round_trip() {
        assert_eq!(amz_date(0).as_deref(), Some("19700101T000000Z"));
        assert_eq!(amz_date(1_752_555_600).as_deref(), Some("20250715T050000Z"));
        assert_eq!(amz_date(951_782_400).as_deref(), Some("20000229T000000Z"));
        assert_eq!(amz_date(MAX_UNIX_TIME).as_deref(), Some("99991231T235959Z"));
        assert_eq!(amz_date(MAX_UNIX_TIME + 1), None);
        for t in [
            0,
            1,
            59,
            86_399,
            86_400,
            951_782_400,
            1_752_555_600,
            MAX_UNIX_TIME,
        ] {
            let text = amz_date(t).unwrap();
            assert_eq!(parse_amz_date(&text), Some(t), "{text}");
        }
    }

    #[test]
    fn malformed_amz_dates_are_rejected() {
        for bad in [
            "",
            "20250715T050000",
            "20250715 050000Z",
            "2025071aT050000Z",
            "20251315T050000Z",
            "20250230T050000Z",
            "20250715T250000Z",
            "+0250715T050000Z",
            "20250715T05000éZ",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
