//! Reading Mantle bearer tokens back and checking their signatures, as Mantle does. The
//! emulator needs this; the provider component only mints, so it lives here.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mantle_provider::error::{Error, Result};
use mantle_provider::sigv4::{self, PresignRequest};
use mantle_provider::token::{ACTION, MAX_EXPIRES_IN, PREFIX, SERVICE, SIGNED_HOST};
use subtle::ConstantTimeEq as _;

/// The Unix time of a `YYYYMMDDTHHMMSSZ` text, `None` if it is not one.
pub fn parse_amz_date(text: &str) -> Option<u64> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    if text.len() != 16 || !text.is_ascii() {
        return None;
    }
    let at = time::PrimitiveDateTime::parse(text, &format).ok()?;
    u64::try_from(at.assume_utc().unix_timestamp()).ok()
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

    /// Recomputes the signature with `secret` and compares it in constant time.
    pub fn signature_matches(&self, secret: &str) -> bool {
        let req = PresignRequest {
            method: "POST",
            host: SIGNED_HOST,
            path: "/",
            params: &[ACTION],
            access_key_id: &self.access_key_id,
            session_token: self.session_token.as_deref(),
            region: &self.region,
            service: SERVICE,
            amz_date: &self.amz_date,
            expires_in: u64::from(self.expires_in),
        };
        let expected = sigv4::presign(&req, secret).signature;
        bool::from(expected.as_bytes().ct_eq(self.signature.as_bytes()))
    }
}

fn malformed(why: &str) -> Error {
    Error::Unauthorized(format!("malformed bearer token: {why}"))
}

/// Reads a token back into its parts; anything that is not a well-formed Mantle token is
/// rejected with an `unauthorized` error saying what is wrong (and never echoing the token).
pub fn decode(token: &str) -> Result<Decoded> {
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
    let take = |name: &str| -> Result<String> {
        fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| malformed(&format!("{name} is missing")))
    };
    let expect = |name: &str, want: &str| -> Result<()> {
        if take(name)? == want {
            Ok(())
        } else {
            Err(malformed(&format!("{name} is not {want}")))
        }
    };
    expect("Action", "CallWithBearerToken")?;
    expect("Version", "1")?;
    expect("X-Amz-Algorithm", sigv4::ALGORITHM)?;
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
        return Err(malformed(&format!(
            "unexpected query parameter {:?}",
            mantle_provider::region::truncate(k, 40)
        )));
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

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
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
    use mantle_provider::token::{Credentials, mint};

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const AT: u64 = 1_752_555_600; // 2025-07-15T05:00:00Z
    const SIGNATURE: &str = "924fe715b07676257098c59ab6ec75da00293dcc7f7fe2aba8e551374ceed9df";

    fn creds() -> Credentials {
        Credentials {
            access_key_id: KEY.into(),
            secret_access_key: SECRET.into(),
            session_token: None,
            expiration: None,
        }
    }

    #[test]
    fn session_tokens_are_read_back_and_signed() {
        let mut c = creds();
        c.session_token = Some("IQoJb3JpZ2luX2VjE/a+b=".into());
        let t = mint(&c, "us-west-2", 900, AT).unwrap();
        let d = decode(&t.token).unwrap();
        assert_eq!(d.session_token.as_deref(), Some("IQoJb3JpZ2luX2VjE/a+b="));
        assert!(d.signature_matches(SECRET));
        let plain = mint(&creds(), "us-west-2", 900, AT).unwrap();
        assert_ne!(decode(&plain.token).unwrap().signature, d.signature);
    }

    #[test]
    fn amz_dates_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20250715T050000Z"), Some(AT));
        assert_eq!(parse_amz_date("20000229T000000Z"), Some(951_782_400));
        assert_eq!(parse_amz_date("99991231T235959Z"), Some(253_402_300_799));
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
    fn decode_reads_the_fixture_back() {
        let t = mint(&creds(), "us-west-2", 43_200, AT).unwrap();
        let d = decode(&t.token).unwrap();
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
    }

    #[test]
    fn decode_rejects_malformed_tokens() {
        let good = String::from_utf8(
            STANDARD
                .decode(&mint(&creds(), "us-west-2", 60, AT).unwrap().token[PREFIX.len()..])
                .unwrap(),
        )
        .unwrap();
        let wrap = |url: &str| format!("{PREFIX}{}", STANDARD.encode(url));
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
            assert_eq!(e.kind(), "unauthorized", "{e}");
            assert!(e.message().starts_with("malformed bearer token"), "{e}");
        }
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let t = mint(&creds(), "us-west-2", 3600, AT).unwrap();
        let mut d = decode(&t.token).unwrap();
        d.region = "us-east-1".into();
        assert!(!d.signature_matches(SECRET));
        let mut d = decode(&t.token).unwrap();
        d.expires_in = 7200;
        assert!(!d.signature_matches(SECRET));
    }
}
