//! Mantle bearer tokens read back and checked as Mantle checks them, with the `aws-sigv4`
//! crate: the emulator's own judge of the tokens the provider mints, sharing no code with the
//! provider's signer.
//!
//! A short-term token is `bedrock-api-key-` + base64 of a SigV4 query-presigned URL (FACTS,
//! "Bearer tokens"): `bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-…&Version=1`,
//! signed for `POST /` of the global host, service `bedrock`, only `host` signed, the empty
//! payload. [`check`] decodes it, has `aws-sigv4` presign the same request with the token's
//! own `X-Amz-Date`, `X-Amz-Expires` and session token, compares the signatures in constant
//! time, then checks the region of the credential scope and the time.

use std::time::{Duration, UNIX_EPOCH};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq as _;

/// What every short-term token starts with.
pub const PREFIX: &str = "bedrock-api-key-";
/// The host the presigned request is for (the global one, whatever the region).
pub const SIGNED_HOST: &str = "bedrock.amazonaws.com";
/// The SigV4 service of the credential scope.
pub const SERVICE: &str = "bedrock";
/// The longest lifetime a token may ask for, seconds.
pub const MAX_EXPIRES_IN: u32 = 43_200;
/// Clock skew tolerated on either side of a token's times, seconds (AWS's five minutes).
pub const MAX_SKEW_SECS: u64 = 300;
/// The presigned request, before the signature parameters.
const SIGNED_URL: &str = "https://bedrock.amazonaws.com/?Action=CallWithBearerToken";

/// The Unix time of a `YYYYMMDDTHHMMSSZ` text, `None` if it is not one.
pub fn parse_amz_date(text: &str) -> Option<u64> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    if text.len() != 16 || !text.is_ascii() {
        return None;
    }
    let at = time::PrimitiveDateTime::parse(text, &format).ok()?;
    u64::try_from(at.assume_utc().unix_timestamp()).ok()
}

/// A Unix time as `YYYYMMDDTHHMMSSZ`, as AWS writes times in its signature errors.
pub fn format_amz_date(secs: u64) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "99991231T235959Z".to_owned())
}

/// Why a text is not a well-formed token. Its message never repeats the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(String);

impl Malformed {
    /// What is wrong, e.g. `malformed bearer token: X-Amz-Date is not a date`.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Malformed {}

fn malformed(why: &str) -> Malformed {
    Malformed(format!("malformed bearer token: {why}"))
}

/// A token read back into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Access key id of the credential scope.
    pub access_key_id: String,
    /// Region of the credential scope.
    pub region: String,
    /// Signing time, `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
    /// Signing time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Lifetime asked for, seconds.
    pub expires_in: u32,
    /// Session token signed into the token, if any.
    pub session_token: Option<String>,
    /// Hex signature carried by the token.
    pub signature: String,
}

impl Decoded {
    /// When the presigned URL stops being valid (credentials' expiration not included).
    pub fn expires_at(&self) -> u64 {
        self.issued_at + u64::from(self.expires_in)
    }

    /// Has `aws-sigv4` sign the token's request again with `secret` and compares the result
    /// with the token's signature in constant time.
    pub fn signature_matches(&self, secret: &str) -> bool {
        let Ok(expected) = signature(
            &self.access_key_id,
            secret,
            self.session_token.as_deref(),
            &self.region,
            self.expires_in,
            self.issued_at,
        ) else {
            return false;
        };
        bool::from(expected.as_bytes().ct_eq(self.signature.as_bytes()))
    }
}

/// The signature `aws-sigv4` computes for a token's presigned request: the independent
/// oracle the provider's own signer is tested against, and what [`check`] compares with.
pub fn signature(
    key: &str,
    secret: &str,
    session: Option<&str>,
    region: &str,
    expires_in: u32,
    at: u64,
) -> Result<String, Malformed> {
    Ok(presigned(key, secret, session, region, expires_in, at)?.1)
}

/// Why `aws-sigv4` would not sign.
fn refused(e: &dyn std::fmt::Display) -> Malformed {
    Malformed(format!("aws-sigv4 refused to sign: {e}"))
}

/// The query parameters `aws-sigv4` adds to the presigned request, and its signature.
fn presigned(
    key: &str,
    secret: &str,
    session: Option<&str>,
    region: &str,
    expires_in: u32,
    at: u64,
) -> Result<(aws_sigv4::http_request::SigningInstructions, String), Malformed> {
    let identity = aws_credential_types::Credentials::new(
        key,
        secret,
        session.map(str::to_owned),
        None,
        "emulator",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(u64::from(expires_in)));
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(UNIX_EPOCH + Duration::from_secs(at))
        .settings(settings)
        .build()
        .map_err(|e| refused(&e))?
        .into();
    let request = SignableRequest::new(
        "POST",
        SIGNED_URL,
        std::iter::once(("host", SIGNED_HOST)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| refused(&e))?;
    Ok(sign(request, &params)
        .map_err(|e| refused(&e))?
        .into_parts())
}

/// A token presigned by `aws-sigv4` (not by the provider): for tests that need a valid token
/// without the component, and to show that the check accepts what the reference signer makes.
pub fn presign(
    key: &str,
    secret: &str,
    session: Option<&str>,
    region: &str,
    expires_in: u32,
    at: u64,
) -> Result<String, Malformed> {
    let (instructions, _) = presigned(key, secret, session, region, expires_in, at)?;
    let mut request = http::Request::builder()
        .method("POST")
        .uri(SIGNED_URL)
        .body(())
        .map_err(|e| refused(&e))?;
    instructions.apply_to_request_http1x(&mut request);
    let query = request.uri().query().unwrap_or_default();
    let url = format!("{SIGNED_HOST}/?{query}&Version=1");
    Ok(format!("{PREFIX}{}", STANDARD.encode(url)))
}

/// Reads a token back into its parts; anything that is not a well-formed Mantle token is
/// refused with what is wrong (never the token itself).
pub fn decode(token: &str) -> Result<Decoded, Malformed> {
    let b64 = token
        .trim()
        .strip_prefix(PREFIX)
        .ok_or_else(|| malformed("it does not start with bedrock-api-key-"))?;
    let raw = STANDARD
        .decode(b64)
        .map_err(|_| malformed("its body is not standard base64"))?;
    let url = String::from_utf8(raw).map_err(|_| malformed("its URL is not UTF-8"))?;
    let query = url
        .strip_prefix(SIGNED_HOST)
        .and_then(|rest| rest.strip_prefix("/?"))
        .ok_or_else(|| malformed("it is not a presigned URL of bedrock.amazonaws.com"))?;

    let mut fields: Vec<(&str, String)> = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| malformed("a query parameter has no value"))?;
        if fields.iter().any(|(seen, _)| *seen == k) {
            return Err(malformed("a query parameter is repeated"));
        }
        fields.push((
            k,
            percent_decode(v).ok_or_else(|| malformed("bad percent-encoding"))?,
        ));
    }
    let take = |name: &str| -> Result<String, Malformed> {
        fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| malformed(&format!("{name} is missing")))
    };
    let expect = |name: &str, want: &str| -> Result<(), Malformed> {
        if take(name)? == want {
            Ok(())
        } else {
            Err(malformed(&format!("{name} is not {want}")))
        }
    };
    expect("Action", "CallWithBearerToken")?;
    expect("Version", "1")?;
    expect("X-Amz-Algorithm", "AWS4-HMAC-SHA256")?;
    expect("X-Amz-SignedHeaders", "host")?;
    let known = [
        "Action",
        "Version",
        "X-Amz-Algorithm",
        "X-Amz-SignedHeaders",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    ];
    if let Some((k, _)) = fields.iter().find(|(k, _)| !known.contains(k)) {
        let shown: String = k.chars().take(40).collect();
        return Err(malformed(&format!("unexpected query parameter {shown:?}")));
    }

    let credential = take("X-Amz-Credential")?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, terminator] = parts[..] else {
        return Err(malformed("the credential scope does not have five parts"));
    };
    if key_id.is_empty() || service != SERVICE || terminator != "aws4_request" {
        return Err(malformed("the credential scope is not a bedrock scope"));
    }
    let amz_date = take("X-Amz-Date")?;
    let issued_at =
        parse_amz_date(&amz_date).ok_or_else(|| malformed("X-Amz-Date is not a date"))?;
    if amz_date.get(..8) != Some(date) {
        return Err(malformed("the credential scope's date is not X-Amz-Date's"));
    }
    let expires_in: u32 = take("X-Amz-Expires")?
        .parse()
        .ok()
        .filter(|e| (1..=MAX_EXPIRES_IN).contains(e))
        .ok_or_else(|| malformed("X-Amz-Expires is not between 1 and 43200"))?;
    let signature = take("X-Amz-Signature")?;
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(malformed("X-Amz-Signature is not 64 hex digits"));
    }
    Ok(Decoded {
        access_key_id: key_id.to_owned(),
        region: region.to_owned(),
        amz_date,
        issued_at,
        expires_in,
        session_token: take("X-Amz-Security-Token").ok(),
        signature,
    })
}

/// Why Mantle refuses a token ([`check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed, an unknown access key, a signature that does not match, or a token of
    /// another region: Mantle's "The security token included in the request is invalid."
    Invalid(String),
    /// Expired: Mantle's "Signature expired: {signed} is now earlier than {now - 5 min}
    /// ({now} - 5 min.)", times as `YYYYMMDDTHHMMSSZ`.
    Expired {
        /// The token's `X-Amz-Date`.
        signed: String,
        /// The time of the check, seconds since the Unix epoch.
        now: u64,
    },
    /// Signed more than five minutes in the future: "Signature not yet current: {signed} is
    /// still later than {now + 5 min} ({now} + 5 min.)" (AWS's wording for SigV4; not
    /// captured from Mantle).
    NotYetCurrent {
        /// The token's `X-Amz-Date`.
        signed: String,
        /// The time of the check, seconds since the Unix epoch.
        now: u64,
    },
}

impl Refusal {
    /// The message Mantle answers with.
    pub fn message(&self) -> String {
        match self {
            Refusal::Invalid(_) => "The security token included in the request is invalid.".into(),
            Refusal::Expired { signed, now } => format!(
                "Signature expired: {signed} is now earlier than {} ({} - 5 min.)",
                format_amz_date(now.saturating_sub(MAX_SKEW_SECS)),
                format_amz_date(*now)
            ),
            Refusal::NotYetCurrent { signed, now } => format!(
                "Signature not yet current: {signed} is still later than {} ({} + 5 min.)",
                format_amz_date(now + MAX_SKEW_SECS),
                format_amz_date(*now)
            ),
        }
    }
}

/// Checks a token as Mantle does, for an endpoint of `region` at `now` (Unix seconds), with
/// the access keys it knows as `(id, secret)`: well formed, a known key, the signature
/// `aws-sigv4` computes, the endpoint's region, signed at most five minutes ahead, and not
/// expired (`now` before `X-Amz-Date` + `X-Amz-Expires`).
pub fn check(
    token: &str,
    known: &[(String, String)],
    region: &str,
    now: u64,
) -> Result<Decoded, Refusal> {
    let decoded = decode(token).map_err(|e| Refusal::Invalid(e.0))?;
    let Some((_, secret)) = known.iter().find(|(id, _)| *id == decoded.access_key_id) else {
        return Err(Refusal::Invalid("unknown access key".into()));
    };
    if !decoded.signature_matches(secret) {
        return Err(Refusal::Invalid("the signature does not match".into()));
    }
    if decoded.region != region {
        return Err(Refusal::Invalid(format!(
            "signed for {}, not {region}",
            decoded.region
        )));
    }
    if decoded.issued_at > now + MAX_SKEW_SECS {
        return Err(Refusal::NotYetCurrent {
            signed: decoded.amz_date,
            now,
        });
    }
    if now >= decoded.expires_at() {
        return Err(Refusal::Expired {
            signed: decoded.amz_date,
            now,
        });
    }
    Ok(decoded)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => return None,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const AT: u64 = 1_752_555_600; // 2025-07-15T05:00:00Z
    const SIGNATURE: &str = "924fe715b07676257098c59ab6ec75da00293dcc7f7fe2aba8e551374ceed9df";
    /// FACTS: the official generator's token for the example keys, decoded.
    const FIXTURE_URL: &str = "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250715%2Fus-west-2%2Fbedrock%2Faws4_request&X-Amz-Date=20250715T050000Z&X-Amz-Expires=43200&X-Amz-SignedHeaders=host&X-Amz-Signature=924fe715b07676257098c59ab6ec75da00293dcc7f7fe2aba8e551374ceed9df&Version=1";

    fn fixture() -> String {
        format!("{PREFIX}{}", STANDARD.encode(FIXTURE_URL))
    }

    fn known() -> Vec<(String, String)> {
        vec![(KEY.to_owned(), SECRET.to_owned())]
    }

    fn wrap(url: &str) -> String {
        format!("{PREFIX}{}", STANDARD.encode(url))
    }

    fn url_of(token: &str) -> String {
        String::from_utf8(STANDARD.decode(&token[PREFIX.len()..]).unwrap()).unwrap()
    }

    #[test]
    fn the_facts_fixture_verifies() {
        let d = decode(&fixture()).unwrap();
        assert_eq!(d.access_key_id, KEY);
        assert_eq!(d.region, "us-west-2");
        assert_eq!(d.amz_date, "20250715T050000Z");
        assert_eq!(
            (d.issued_at, d.expires_in, d.expires_at()),
            (AT, 43_200, AT + 43_200)
        );
        assert_eq!(d.signature, SIGNATURE);
        assert_eq!(d.session_token, None);
        assert!(d.signature_matches(SECRET));
        assert!(!d.signature_matches("wrong-secret"));
        assert_eq!(check(&fixture(), &known(), "us-west-2", AT + 60), Ok(d));
    }

    #[test]
    fn aws_sigv4_presigns_the_official_token_byte_for_byte() {
        assert_eq!(
            presign(KEY, SECRET, None, "us-west-2", 43_200, AT).unwrap(),
            fixture()
        );
    }

    #[test]
    fn session_tokens_are_signed_and_read_back() {
        let session = "IQoJb3JpZ2luX2VjE/a+b=";
        let t = presign(KEY, SECRET, Some(session), "us-west-2", 900, AT).unwrap();
        let d = decode(&t).unwrap();
        assert_eq!(d.session_token.as_deref(), Some(session));
        assert!(d.signature_matches(SECRET));
        assert!(check(&t, &known(), "us-west-2", AT).is_ok());
        let plain = decode(&presign(KEY, SECRET, None, "us-west-2", 900, AT).unwrap()).unwrap();
        assert_ne!(plain.signature, d.signature);
        // The session token is signed: another one breaks the signature.
        let swapped = wrap(&url_of(&t).replace("IQoJb3JpZ2luX2VjE", "IQoJb3JpZ2luX2VjF"));
        assert!(matches!(
            check(&swapped, &known(), "us-west-2", AT),
            Err(Refusal::Invalid(_))
        ));
    }

    #[test]
    fn tampered_unknown_and_other_region_tokens_are_invalid() {
        let good = presign(KEY, SECRET, None, "us-east-1", 3600, AT).unwrap();
        let url = url_of(&good);
        let sig_at = url.find("X-Amz-Signature=").unwrap() + 16;
        let flipped = if &url[sig_at..=sig_at] == "0" {
            "1"
        } else {
            "0"
        };
        let cases = [
            ("region", wrap(&url.replace("us-east-1", "us-west-2"))),
            (
                "expiry",
                wrap(&url.replace("X-Amz-Expires=3600", "X-Amz-Expires=3601")),
            ),
            (
                "signature",
                wrap(&format!(
                    "{}{flipped}{}",
                    &url[..sig_at],
                    &url[sig_at + 1..]
                )),
            ),
            (
                "unknown key",
                presign("AKIDEXAMPLE", SECRET, None, "us-east-1", 3600, AT).unwrap(),
            ),
            (
                "wrong secret",
                presign(KEY, "not-the-secret", None, "us-east-1", 3600, AT).unwrap(),
            ),
            (
                "another region",
                presign(KEY, SECRET, None, "eu-west-1", 3600, AT).unwrap(),
            ),
            ("garbage", format!("{PREFIX}%%%")),
        ];
        assert!(check(&good, &known(), "us-east-1", AT).is_ok());
        for (what, token) in cases {
            let refusal = check(&token, &known(), "us-east-1", AT).unwrap_err();
            assert!(
                matches!(refusal, Refusal::Invalid(_)),
                "{what}: {refusal:?}"
            );
            assert_eq!(
                refusal.message(),
                "The security token included in the request is invalid.",
                "{what}"
            );
        }
    }

    #[test]
    fn time_is_checked_with_aws_words() {
        let t = fixture();
        // Valid until X-Amz-Date + X-Amz-Expires.
        assert!(check(&t, &known(), "us-west-2", AT + 43_199).is_ok());
        let expired = check(&t, &known(), "us-west-2", AT + 86_400).unwrap_err();
        assert_eq!(
            expired.message(),
            "Signature expired: 20250715T050000Z is now earlier than 20250716T045500Z (20250716T050000Z - 5 min.)"
        );
        assert!(matches!(
            check(&t, &known(), "us-west-2", AT + 43_200),
            Err(Refusal::Expired { .. })
        ));
        // Five minutes of skew for a token signed ahead of the clock, not more.
        assert!(check(&t, &known(), "us-west-2", AT - 300).is_ok());
        let early = check(&t, &known(), "us-west-2", AT - 301).unwrap_err();
        assert_eq!(
            early.message(),
            "Signature not yet current: 20250715T050000Z is still later than 20250715T045959Z (20250715T045459Z + 5 min.)"
        );
    }

    #[test]
    fn amz_dates_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20250715T050000Z"), Some(AT));
        assert_eq!(parse_amz_date("20000229T000000Z"), Some(951_782_400));
        assert_eq!(parse_amz_date("99991231T235959Z"), Some(253_402_300_799));
        assert_eq!(format_amz_date(AT), "20250715T050000Z");
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
    fn decode_rejects_malformed_tokens() {
        let good = url_of(&presign(KEY, SECRET, None, "us-west-2", 60, AT).unwrap());
        let cases = [
            "Bearer xyz".to_owned(),
            format!("{PREFIX}!!!not-base64"),
            wrap("example.com/?Action=CallWithBearerToken"),
            wrap(&good.replace("&Version=1", "")),
            wrap(&good.replace("Version=1", "Version=2")),
            wrap(&good.replace("CallWithBearerToken", "Other")),
            wrap(&good.replace("X-Amz-Expires=60", "X-Amz-Expires=0")),
            wrap(&good.replace("X-Amz-Expires=60", "X-Amz-Expires=99999")),
            wrap(&good.replace("X-Amz-Date=20250715T050000Z", "X-Amz-Date=2025")),
            wrap(&good.replace("%2Fbedrock%2F", "%2Fs3%2F")),
            wrap(&good.replace("%2F20250715%2F", "%2F20250716%2F")),
            wrap(&(good.clone() + "&Version=1")),
            wrap(&(good.clone() + "&Extra=1")),
            wrap(&good.replace("X-Amz-Signature=", "X-Amz-Signature=zz")),
            wrap(&good.replace("%2F", "%2")),
        ];
        for bad in &cases {
            let e = decode(bad)
                .err()
                .unwrap_or_else(|| panic!("accepted {bad}"));
            assert!(e.message().starts_with("malformed bearer token"), "{e}");
            assert!(!e.message().contains(SECRET));
        }
    }
}
