//! Plain HTTP data the provider needs, with no I/O: base URLs, responses, limits, and the
//! classification of an upstream failure into the provider's [`Error`].

use crate::error::{Error, Result};
use crate::region::truncate;
use crate::secrets::{Secrets, quote};

/// Why a URL with a user name or password is refused; the URL itself is never quoted.
const USERINFO: &str = "must not carry a user name or password before its host: give the \
     upstream's key as apiKey or a bearer token instead";

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (loopback emulators, local proxies).
    Http,
    /// HTTPS.
    Https,
}

/// A parsed base URL such as `https://bedrock-mantle.us-east-1.api.aws/v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Scheme.
    pub scheme: Scheme,
    /// `host` or `host:port`.
    pub authority: String,
    /// Path prefix without a trailing `/` (`/v1`), possibly empty.
    pub path: String,
}

impl BaseUrl {
    /// Parses an absolute `http(s)://authority/path` URL (no query or fragment); the
    /// guest's one URL validator. An error names the URL as `baseUrl`, quoting it unless it
    /// carries userinfo (which may hold a password).
    pub fn parse(url: &str) -> Result<BaseUrl> {
        BaseUrl::parse_named(url, "baseUrl")
    }

    /// [`BaseUrl::parse`], naming the URL `name` in errors (e.g. the configuration path).
    pub fn parse_named(url: &str, name: &str) -> Result<BaseUrl> {
        BaseUrl::check(url.trim()).map_err(|why| match why {
            USERINFO => Error::Configuration(format!("{name} {why}")),
            _ => Error::Configuration(format!("{name} {:?} {why}", truncate(url.trim(), 200))),
        })
    }

    fn check(url: &str) -> core::result::Result<BaseUrl, &'static str> {
        let scheme_of = |prefix: &str| {
            url.get(..prefix.len())
                .filter(|p| p.eq_ignore_ascii_case(prefix))
                .map(|_| &url[prefix.len()..])
        };
        let (scheme, rest) = if let Some(rest) = scheme_of("https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = scheme_of("http://") {
            (Scheme::Http, rest)
        } else {
            return Err("must be an http:// or https:// URL");
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(USERINFO);
        }
        if url.chars().any(char::is_whitespace) {
            return Err("must not contain spaces");
        }
        if authority.is_empty() {
            return Err("has no host");
        }
        if !authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        {
            return Err("has no valid host");
        }
        if path.contains(['?', '#']) {
            return Err("must not carry a query or a fragment");
        }
        Ok(BaseUrl {
            scheme,
            authority: authority.to_ascii_lowercase(),
            path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// The host without port.
    pub fn host(&self) -> &str {
        if self.authority.starts_with('[') {
            self.authority
                .split_once(']')
                .map_or(self.authority.as_str(), |(h, _)| &h[1..])
        } else {
            self.authority.split(':').next().unwrap_or(&self.authority)
        }
    }

    /// `scheme://authority/path` of `suffix` (which starts with `/`) under this base.
    pub fn url(&self, suffix: &str) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{}{}{suffix}", self.authority, self.path)
    }

    /// The base of OpenAI's own routes on Mantle (GPT-5.x Responses): the base's trailing
    /// `/v1` replaced with `/openai/v1` (`https://bedrock-mantle.{region}.api.aws/openai/v1`).
    pub fn openai(&self) -> BaseUrl {
        let prefix = self.path.strip_suffix("/v1").unwrap_or(&self.path);
        BaseUrl {
            scheme: self.scheme,
            authority: self.authority.clone(),
            path: format!("{prefix}/openai/v1"),
        }
    }

    /// The base of the Anthropic route: the trailing `/v1` replaced by `/anthropic`.
    pub fn anthropic(&self) -> BaseUrl {
        let prefix = self.path.strip_suffix("/v1").unwrap_or(&self.path);
        BaseUrl {
            scheme: self.scheme,
            authority: self.authority.clone(),
            path: format!("{prefix}/anthropic"),
        }
    }
}

/// Time and size limits of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connect time-out, milliseconds.
    pub connect_ms: u64,
    /// Time to the first byte of the response, milliseconds.
    pub first_byte_ms: u64,
    /// Longest pause between two chunks, milliseconds.
    pub between_bytes_ms: u64,
    /// Whole request, milliseconds (0: none).
    pub total_ms: u64,
    /// Largest body read, bytes.
    pub max_body: usize,
}

/// Limits of `GET /models`: 30 s in all, 4 MiB.
pub const DISCOVERY_LIMITS: Limits = Limits {
    connect_ms: 10_000,
    first_byte_ms: 30_000,
    between_bytes_ms: 30_000,
    total_ms: 30_000,
    max_body: 4 << 20,
};

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a failed upstream request means for the caller. `secrets` are removed from any
/// text taken from the body; `what` names the request (`GET https://.../models`).
pub fn classify_error(
    what: &str,
    status: u16,
    retry_after_header: Option<&str>,
    body: &[u8],
    secrets: &Secrets,
) -> Error {
    let said = upstream_message(body, secrets);
    let msg = |hint: &str| {
        let mut m = format!("{what} answered {status}");
        if !said.is_empty() {
            m.push_str(": ");
            m.push_str(&said);
        }
        if !hint.is_empty() {
            m.push_str(" (");
            m.push_str(hint);
            m.push(')');
        }
        m
    };
    match status {
        401 => Error::Unauthorized(msg(
            "check the bearer token or the credentials it is minted from",
        )),
        403 => Error::Forbidden(msg(
            "the credentials are not allowed this action: check their IAM permissions for bedrock-mantle",
        )),
        404 => Error::ModelNotFound(msg("")),
        413 => Error::InvalidRequest(msg("the request is too large")),
        429 => Error::RateLimited {
            retry_after: retry_after(retry_after_header, body),
            message: msg(""),
        },
        400 | 422 => Error::InvalidRequest(msg("")),
        // Any other 4xx is about how the gateway spoke to its upstream, not about what the
        // client asked: the gateway failed toward its upstream.
        400..=499 => Error::UpstreamUnavailable {
            status: Some(status),
            message: msg("the upstream refused the gateway's request"),
        },
        _ => Error::UpstreamUnavailable {
            status: Some(status),
            message: msg(""),
        },
    }
}

/// Longest wait a `retry-after` may ask for, seconds: anything longer is capped here.
pub const MAX_RETRY_AFTER_SECS: u32 = 3600;

/// Seconds to wait: the `retry-after` header (seconds), else a number in the body's
/// `retry_after`/`retryAfter` field. Capped at [`MAX_RETRY_AFTER_SECS`]; negative, infinite,
/// not-a-number and unreadable values are ignored. An HTTP-date header must have been turned
/// into seconds first ([`retry_after_header`]).
pub fn retry_after(header: Option<&str>, body: &[u8]) -> Option<u32> {
    if let Some(secs) = header.and_then(|h| seconds(h.trim().parse::<f64>().ok()?)) {
        return Some(secs);
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let field = |o: &serde_json::Value| {
        o.get("retry_after")
            .or_else(|| o.get("retryAfter"))
            .and_then(serde_json::Value::as_f64)
    };
    field(&v)
        .or_else(|| v.get("error").and_then(field))
        .and_then(seconds)
}

/// A finite, non-negative number of seconds, rounded up and capped.
fn seconds(s: f64) -> Option<u32> {
    (s.is_finite() && s >= 0.0).then(|| s.ceil().min(f64::from(MAX_RETRY_AFTER_SECS)) as u32)
}

/// A `retry-after` header value in seconds, whichever of RFC 9110's forms it has: delay
/// seconds as they are, an HTTP-date as the seconds from `now` (seconds since the Unix epoch)
/// until then (0 when it is past). Garbage gives `None`; the cap is [`retry_after`]'s.
pub fn retry_after_header(value: &str, now: u64) -> Option<String> {
    let value = value.trim();
    if value.parse::<f64>().is_ok() {
        return Some(value.to_owned());
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Some(at.saturating_sub(now).to_string())
}

/// The upstream's own words, secrets removed, then cut to [`MESSAGE_CHARS`]: `error.message` of
/// an OpenAI- or Anthropic-shaped body, else `message`, else the body.
pub fn upstream_message(body: &[u8], secrets: &Secrets) -> String {
    let from_json = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(|e| e.get("message").or(Some(e)))
                .or_else(|| v.get("message"))
                .and_then(|m| m.as_str().map(str::to_owned))
        });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    quote(&text, secrets, MESSAGE_CHARS)
}

/// How much of an upstream's own words an error message quotes, in characters.
pub const MESSAGE_CHARS: usize = 300;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_parse_and_derive_the_anthropic_route() {
        let b = BaseUrl::parse("https://bedrock-mantle.us-east-1.api.aws/v1/").unwrap();
        assert_eq!(
            b.url("/models"),
            "https://bedrock-mantle.us-east-1.api.aws/v1/models"
        );
        assert_eq!(
            b.anthropic().url("/v1/messages"),
            "https://bedrock-mantle.us-east-1.api.aws/anthropic/v1/messages"
        );
        assert_eq!(
            b.openai().url("/responses"),
            "https://bedrock-mantle.us-east-1.api.aws/openai/v1/responses"
        );
        let local = BaseUrl::parse("http://127.0.0.1:8787/v1").unwrap();
        assert_eq!((local.scheme, local.host()), (Scheme::Http, "127.0.0.1"));
        assert_eq!(local.authority, "127.0.0.1:8787");
        let v6 = BaseUrl::parse("http://[::1]:9/v1").unwrap();
        assert_eq!(v6.host(), "::1");
        for bad in [
            "ftp://x/v1",
            "https:///v1",
            "https://u:p@h/v1",
            "https://h/v1?x=1",
            "h/v1",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(Error::Configuration(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn failures_are_classified_by_status() {
        let body = br#"{"error":{"code":"x","message":"Too many tokens","type":"t"}}"#;
        assert_eq!(
            classify_error("GET u", 429, Some("7"), body, &Secrets::default()),
            Error::RateLimited {
                retry_after: Some(7),
                message: "GET u answered 429: Too many tokens".into()
            }
        );
        assert!(matches!(
            classify_error("GET u", 401, None, b"", &Secrets::default()),
            Error::Unauthorized(_)
        ));
        let Error::Forbidden(m) = classify_error("GET u", 403, None, b"", &Secrets::default())
        else {
            panic!()
        };
        assert!(m.contains("IAM permissions"), "{m}");
        assert!(matches!(
            classify_error("GET u", 503, None, b"busy", &Secrets::default()),
            Error::UpstreamUnavailable {
                status: Some(503),
                ..
            }
        ));
        assert!(matches!(
            classify_error("GET u", 400, None, b"", &Secrets::default()),
            Error::InvalidRequest(_)
        ));
    }

    #[test]
    fn retry_after_comes_from_header_or_body() {
        assert_eq!(retry_after(Some("2.5"), b""), Some(3));
        assert_eq!(
            retry_after(None, br#"{"error":{"retry_after":4}}"#),
            Some(4)
        );
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT"), b"{}"),
            None,
            "a date must be turned into seconds first"
        );
    }

    #[test]
    fn retry_after_is_capped_and_ignores_garbage() {
        for (given, want) in [
            ("inf", None),
            ("infinity", None),
            ("NaN", None),
            ("-5", None),
            ("soon", None),
            ("", None),
            ("0", Some(0)),
            ("3600", Some(3600)),
            ("3601", Some(MAX_RETRY_AFTER_SECS)),
            ("1e30", Some(MAX_RETRY_AFTER_SECS)),
        ] {
            assert_eq!(retry_after(Some(given), b""), want, "{given:?}");
        }
        assert_eq!(retry_after(None, br#"{"retry_after":1e300}"#), Some(3600));
        assert_eq!(retry_after(None, br#"{"retry_after":-1}"#), None);
    }

    #[test]
    fn retry_after_dates_become_seconds_from_now() {
        // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(
            retry_after_header(date, 1_445_412_480 - 30).as_deref(),
            Some("30")
        );
        assert_eq!(
            retry_after_header(date, 1_445_412_480 + 5).as_deref(),
            Some("0")
        );
        assert_eq!(retry_after_header(" 12 ", 0).as_deref(), Some("12"));
        assert_eq!(retry_after_header("garbage", 0), None);
        let far = retry_after_header(date, 0);
        assert_eq!(retry_after(far.as_deref(), b""), Some(MAX_RETRY_AFTER_SECS));
    }

    #[test]
    fn unmapped_client_statuses_are_the_gateways_failure_upstream() {
        for status in [402, 405, 406, 409, 411, 415, 418, 451] {
            let e = classify_error(
                "POST u",
                status,
                None,
                b"length required",
                &Secrets::default(),
            );
            let Error::UpstreamUnavailable {
                status: Some(s),
                message,
            } = &e
            else {
                panic!("{status}: {e:?}")
            };
            assert_eq!(*s, status);
            assert!(message.contains(&status.to_string()), "{message}");
        }
        for status in [400, 422] {
            assert!(matches!(
                classify_error("POST u", status, None, b"", &Secrets::default()),
                Error::InvalidRequest(_)
            ));
        }
    }

    #[test]
    fn secrets_never_leave_in_messages() {
        let body = br#"{"error":{"message":"bad key bedrock-api-key-SECRETSECRET"}}"#;
        let e = classify_error(
            "GET u",
            401,
            None,
            body,
            &Secrets::new(&["bedrock-api-key-SECRETSECRET"]),
        );
        assert!(!e.message().contains("SECRETSECRET"), "{e}");
        assert!(e.message().contains("<redacted>"));
    }
}
