//! Mantle bearer tokens: minted locally from AWS credentials, with no network call.
//!
//! A token is `bedrock-api-key-` followed by the standard padded base64 of a SigV4
//! query-presigned URL (without its scheme) of
//! `POST https://bedrock.amazonaws.com/?Action=CallWithBearerToken`, with `&Version=1`
//! appended. The global host is signed; the region appears only in the credential scope.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::auth::sigv4::{self, PresignRequest};
use crate::catalog::region;
use crate::error::{Error, Result};

/// Prefix of every Mantle bearer token.
pub const PREFIX: &str = "bedrock-api-key-";
/// The host whose request is presigned.
pub const SIGNED_HOST: &str = "bedrock.amazonaws.com";
/// The service of the credential scope.
pub const SERVICE: &str = "bedrock";
/// The longest lifetime a token may ask for, in seconds (12 hours).
pub const MAX_EXPIRES_IN: u32 = 43_200;
/// The operation presigned.
pub const ACTION: (&str, &str) = ("Action", "CallWithBearerToken");

/// AWS credentials to mint from.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
    /// Expiration, seconds since the Unix epoch.
    pub expiration: Option<u64>,
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// A minted token and its lifetime.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// The bearer token.
    pub token: String,
    /// The region it is valid in.
    pub region: String,
    /// Signing time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// The earlier of signing time + lifetime and the credentials' expiration.
    pub expires_at: u64,
}

impl core::fmt::Debug for Token {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Token")
            .field("token", &"<redacted>")
            .field("region", &self.region)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Mints a token valid in `region` for `expires_in` seconds from `now` (Unix seconds).
pub fn mint(credentials: &Credentials, region: &str, expires_in: u32, now: u64) -> Result<Token> {
    let signed = presign(credentials, region, expires_in, now)?;
    let url = format!("{SIGNED_HOST}/?{}&Version=1", signed.query);
    let lifetime_end = now.saturating_add(u64::from(expires_in));
    let expires_at = credentials
        .expiration
        .map_or(lifetime_end, |exp| exp.min(lifetime_end));
    Ok(Token {
        token: format!("{PREFIX}{}", STANDARD.encode(url)),
        region: region.to_owned(),
        issued_at: now,
        expires_at,
    })
}

/// Checks the inputs and presigns, returning every stage (for tests and diagnostics).
pub fn presign(
    credentials: &Credentials,
    region: &str,
    expires_in: u32,
    now: u64,
) -> Result<sigv4::Presigned> {
    let key_id = credentials.access_key_id.trim();
    if key_id.is_empty() {
        return Err(Error::MissingCredentials(
            "the access key id is empty; set AWS_ACCESS_KEY_ID or the credentials setting".into(),
        ));
    }
    if !key_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::InvalidRequest(
            "the access key id must be ASCII letters and digits".into(),
        ));
    }
    if credentials.secret_access_key.is_empty() {
        return Err(Error::MissingCredentials(
            "the secret access key is empty; set AWS_SECRET_ACCESS_KEY or the credentials setting"
                .into(),
        ));
    }
    region::validate(region)?;
    if expires_in == 0 || expires_in > MAX_EXPIRES_IN {
        return Err(Error::InvalidRequest(format!(
            "expires-in must be between 1 and {MAX_EXPIRES_IN} seconds, got {expires_in}"
        )));
    }
    if let Some(exp) = credentials.expiration
        && exp <= now
    {
        return Err(Error::MissingCredentials(format!(
            "the credentials expired at {} (signing time {}); refresh them",
            sigv4::amz_date(exp).unwrap_or_else(|| exp.to_string()),
            sigv4::amz_date(now).unwrap_or_else(|| now.to_string()),
        )));
    }
    let amz_date = sigv4::amz_date(now).ok_or_else(|| {
        Error::InvalidRequest(format!(
            "signing time {now} is past year 9999 (at most {})",
            sigv4::MAX_UNIX_TIME
        ))
    })?;
    let session_token = credentials
        .session_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let req = PresignRequest {
        method: "POST",
        host: SIGNED_HOST,
        path: "/",
        params: &[ACTION],
        access_key_id: key_id,
        session_token,
        region,
        service: SERVICE,
        amz_date: &amz_date,
        expires_in: u64::from(expires_in),
    };
    Ok(sigv4::presign(&req, &credentials.secret_access_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The fixture of the official generator, stage by stage.
    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const AT: u64 = 1_752_555_600; // 2025-07-15T05:00:00Z
    const CANONICAL_REQUEST: &str = "POST\n/\nAction=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250715%2Fus-west-2%2Fbedrock%2Faws4_request&X-Amz-Date=20250715T050000Z&X-Amz-Expires=43200&X-Amz-SignedHeaders=host\nhost:bedrock.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const STRING_TO_SIGN: &str = "AWS4-HMAC-SHA256\n20250715T050000Z\n20250715/us-west-2/bedrock/aws4_request\n0f16a5ff38825d0d85b8e20abb2def363a83f6470d961431afc360917b87d7c9";
    const SIGNATURE: &str = "924fe715b07676257098c59ab6ec75da00293dcc7f7fe2aba8e551374ceed9df";
    const DECODED: &str = "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250715%2Fus-west-2%2Fbedrock%2Faws4_request&X-Amz-Date=20250715T050000Z&X-Amz-Expires=43200&X-Amz-SignedHeaders=host&X-Amz-Signature=924fe715b07676257098c59ab6ec75da00293dcc7f7fe2aba8e551374ceed9df&Version=1";

    fn creds() -> Credentials {
        Credentials {
            access_key_id: KEY.into(),
            secret_access_key: SECRET.into(),
            session_token: None,
            expiration: None,
        }
    }

    fn err_kind(r: Result<Token>) -> &'static str {
        r.err().map_or("ok", |e| e.kind())
    }

    #[test]
    fn fixture_canonical_request() {
        let p = presign(&creds(), "us-west-2", 43_200, AT).unwrap();
        assert_eq!(p.canonical_request, CANONICAL_REQUEST);
    }

    #[test]
    fn fixture_string_to_sign() {
        let p = presign(&creds(), "us-west-2", 43_200, AT).unwrap();
        assert_eq!(p.string_to_sign, STRING_TO_SIGN);
    }

    #[test]
    fn fixture_signature() {
        let p = presign(&creds(), "us-west-2", 43_200, AT).unwrap();
        assert_eq!(p.signature, SIGNATURE);
    }

    #[test]
    fn fixture_token() {
        let t = mint(&creds(), "us-west-2", 43_200, AT).unwrap();
        assert_eq!(t.token, format!("{PREFIX}{}", STANDARD.encode(DECODED)));
        assert_eq!((t.issued_at, t.expires_at), (AT, AT + 43_200));
        assert_eq!(t.region, "us-west-2");
    }

    #[test]
    fn session_token_is_signed_and_placed_before_the_signature() {
        let mut c = creds();
        c.session_token = Some("IQoJb3JpZ2luX2VjE/a+b=".into());
        let t = mint(&c, "us-west-2", 900, AT).unwrap();
        let url = String::from_utf8(STANDARD.decode(&t.token[PREFIX.len()..]).unwrap()).unwrap();
        assert!(
            url.contains("X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjE%2Fa%2Bb%3D&X-Amz-Signature="),
            "{url}"
        );
        let plain = mint(&creds(), "us-west-2", 900, AT).unwrap();
        assert_ne!(plain.token, t.token);
    }

    #[test]
    fn lifetime_is_capped_by_the_credentials_expiration() {
        let mut c = creds();
        c.expiration = Some(AT + 600);
        let t = mint(&c, "us-west-2", 43_200, AT).unwrap();
        assert_eq!(t.expires_at, AT + 600);
        c.expiration = Some(AT + 100_000);
        assert_eq!(
            mint(&c, "us-west-2", 3600, AT).unwrap().expires_at,
            AT + 3600
        );
    }

    #[test]
    fn bad_inputs_get_typed_errors() {
        let mut c = creds();
        c.access_key_id = " ".into();
        assert_eq!(
            err_kind(mint(&c, "us-west-2", 60, AT)),
            "missing-credentials"
        );
        let mut c = creds();
        c.secret_access_key.clear();
        assert_eq!(
            err_kind(mint(&c, "us-west-2", 60, AT)),
            "missing-credentials"
        );
        let mut c = creds();
        c.access_key_id = "AKIA/../x".into();
        assert_eq!(err_kind(mint(&c, "us-west-2", 60, AT)), "invalid-request");
        assert_eq!(err_kind(mint(&creds(), "moon-1", 60, AT)), "configuration");
        assert_eq!(
            err_kind(mint(&creds(), "us-west-2", 0, AT)),
            "invalid-request"
        );
        assert_eq!(
            err_kind(mint(&creds(), "us-west-2", 43_201, AT)),
            "invalid-request"
        );
        assert_eq!(
            err_kind(mint(&creds(), "us-west-2", 60, u64::MAX)),
            "invalid-request"
        );
        let mut c = creds();
        c.expiration = Some(AT);
        assert_eq!(
            err_kind(mint(&c, "us-west-2", 60, AT)),
            "missing-credentials"
        );
    }

    #[test]
    fn no_error_message_carries_the_secret() {
        let mut c = creds();
        c.expiration = Some(1);
        c.session_token = Some("SESSIONSECRET".into());
        for r in ["us-west-2", "nowhere"] {
            for e in [0, 60, 50_000] {
                if let Err(err) = mint(&c, r, e, AT) {
                    let text = err.to_string();
                    assert!(
                        !text.contains(SECRET) && !text.contains("SESSIONSECRET"),
                        "{text}"
                    );
                }
            }
        }
        assert!(!format!("{c:?}").contains(SECRET));
        assert!(!format!("{c:?}").contains("SESSIONSECRET"));
    }
}
