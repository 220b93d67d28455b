//! What a failed upstream answer means, for all three routes and both client surfaces: one
//! policy, in three tables read in this order.
//!
//! 1. [`CLASSES`]: the words of an error's `type` or `code` (in a body, or in an error event
//!    of a stream) and the HTTP status each class of failure stands for. OpenAI's codes, the
//!    Responses route's codes and Anthropic's types all read here.
//! 2. [`classify`] and [`classify_error`]: a status (with the upstream's words) to the
//!    provider's [`Error`]: an overload (529, or `overloaded` in the body) is
//!    [`Error::UpstreamUnavailable`] on every route; a refusal naming another route is
//!    [`Error::WrongRoute`] (read by [`misroute`], as routing reads it); a 400, 413 or 422
//!    about the context window is [`Error::ContextOverflow`]; the rest by status alone.
//! 3. [`answer`]: an [`Error`] to what the face answers its client, on the OpenAI surfaces
//!    (chat completions, Responses) and on the Anthropic one. The two differ only in their
//!    words, and in one status: an overloaded upstream is 503 to OpenAI clients (their SDKs
//!    retry 503, and 529 is no status of OpenAI's) and 529 `overloaded_error` to Anthropic
//!    clients (the status Anthropic's own API answers, which its SDKs retry).
//!
//! The emulator keeps its own table of what Mantle answers: it is the judge of this one.

use crate::catalog::ids::misroute;
use crate::chat::is_context_overflow;
use crate::error::Error;
use crate::secrets::{Secrets, quote};

/// The classes of failure, each as the words that name it in an error's `type` or `code`
/// (lowercase) and the HTTP status it stands for, tried in order: the first class one of
/// whose words the error's words contain wins; none is 500.
pub const CLASSES: &[(&[&str], u16)] = &[
    (
        &["rate_limit", "throttl", "too_many_requests", "quota"],
        429,
    ),
    (&["authentication", "unauthorized", "invalid_api_key"], 401),
    (&["billing"], 402),
    (&["permission", "forbidden", "access_denied"], 403),
    (&["not_found"], 404),
    (&["request_too_large"], 413),
    (&["timeout"], 504),
    (&["overloaded"], 529),
    (&["unavailable"], 503),
    (
        &[
            "context_length",
            "invalid",
            "validation",
            "bad_request",
            "unsupported",
        ],
        400,
    ),
];

/// The status an error's words (its `type` and `code`, lowercase) stand for ([`CLASSES`]).
pub fn status_of_words(words: &str) -> u16 {
    CLASSES
        .iter()
        .find(|(needles, _)| needles.iter().any(|n| words.contains(n)))
        .map_or(500, |&(_, status)| status)
}

/// The HTTP status an error reported inside a stream stands for: its numeric `code` or
/// `status`, else the one its `type` and `code` name ([`status_of_words`]).
pub fn stream_error_status(error: &serde_json::Value) -> u16 {
    let numeric = ["code", "status"].iter().find_map(|k| {
        let v = error.get(k)?;
        let n = v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))?;
        u16::try_from(n).ok().filter(|n| (400..600).contains(n))
    });
    numeric.unwrap_or_else(|| status_of_words(&error_words_of(error)))
}

/// What a route's failed answer means: see the module's second table. `what` names the
/// request (`POST /v1/chat/completions`); `wrong_route_hint` says where the models this route
/// does not serve are served.
pub fn classify(
    what: &str,
    wrong_route_hint: &str,
    status: u16,
    retry_after_header: Option<&str>,
    body: &[u8],
    secrets: &Secrets,
) -> Error {
    let said = upstream_message(body, secrets);
    let answered = format!("{what} answered {status}: {said}");
    let words = error_words(body);
    if status == 529 || words.contains("overloaded") {
        return Error::UpstreamUnavailable {
            status: Some(status),
            message: answered,
        };
    }
    if (400..500).contains(&status) && status != 429 {
        if misroute(status, &said).is_some() {
            return Error::WrongRoute(format!("{answered} ({wrong_route_hint})"));
        }
        if matches!(status, 400 | 413 | 422)
            && (is_context_overflow(&said) || words.contains("context_length"))
        {
            return Error::ContextOverflow(answered);
        }
    }
    classify_error(what, status, retry_after_header, body, secrets)
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

/// `error.type` and `error.code` (or `type` and `code`) of an OpenAI-shaped body, lowercase;
/// the Responses route's errors have the same shape.
pub fn error_words(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => error_words_of(value.get("error").unwrap_or(&value)),
        Err(_) => String::new(),
    }
}

/// `type` and `code` of an error object, lowercase.
pub fn error_words_of(error: &serde_json::Value) -> String {
    ["type", "code"]
        .iter()
        .filter_map(|k| error.get(k))
        .map(error_word)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An error's `type` or `code` as text, lowercase.
pub fn error_word(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.to_ascii_lowercase(),
        other => other.to_string(),
    }
}

/// What the face answers for an error on each surface: see the module's third table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status on the OpenAI surfaces (chat completions, Responses).
    pub openai_status: u16,
    /// `error.type` on the OpenAI surfaces.
    pub openai_type: &'static str,
    /// `error.code` on the OpenAI surfaces.
    pub openai_code: Option<&'static str>,
    /// HTTP status on the Anthropic Messages surface.
    pub anthropic_status: u16,
    /// `error.type` on the Anthropic Messages surface.
    pub anthropic_type: &'static str,
    /// Whether retrying cannot mend it (the gateway's configuration, credentials, route).
    pub permanent: bool,
}

/// What the face answers for `error`, on both surfaces.
pub fn answer(error: &Error) -> Answer {
    const CLIENT: &str = "invalid_request_error";
    const SERVER: &str = "server_error";
    const UPSTREAM: &str = "upstream_error";
    const API: &str = "api_error";
    let row = |openai_status, openai_type, openai_code, anthropic_status, anthropic_type| {
        let permanent = matches!(
            error,
            Error::Configuration(_)
                | Error::MissingCredentials(_)
                | Error::NotImplemented(_)
                | Error::Unauthorized(_)
                | Error::Forbidden(_)
                | Error::WrongRoute(_)
        );
        Answer {
            openai_status,
            openai_type,
            openai_code,
            anthropic_status,
            anthropic_type,
            permanent,
        }
    };
    let (overflow, limited) = (Some("context_length_exceeded"), Some("rate_limit_exceeded"));
    match error {
        Error::InvalidRequest(_) => row(400, CLIENT, None, 400, CLIENT),
        Error::ContextOverflow(_) => row(400, CLIENT, overflow, 400, CLIENT),
        Error::ModelNotFound(_) => {
            row(404, CLIENT, Some("model_not_found"), 404, "not_found_error")
        }
        Error::RateLimited { .. } => row(429, "rate_limit_error", limited, 429, "rate_limit_error"),
        Error::Configuration(_) => row(500, SERVER, Some("configuration_error"), 500, API),
        Error::MissingCredentials(_) => row(500, SERVER, Some("missing_credentials"), 500, API),
        Error::NotImplemented(_) => row(501, SERVER, Some("not_implemented"), 501, API),
        Error::Unauthorized(_) => row(502, UPSTREAM, Some("upstream_unauthorized"), 502, API),
        Error::Forbidden(_) => row(502, UPSTREAM, Some("upstream_forbidden"), 502, API),
        Error::WrongRoute(_) => row(502, UPSTREAM, Some("wrong_route"), 502, API),
        Error::UpstreamUnavailable {
            status: Some(503 | 529),
            ..
        } => row(
            503,
            UPSTREAM,
            Some("upstream_unavailable"),
            529,
            "overloaded_error",
        ),
        Error::UpstreamUnavailable { .. } => {
            row(502, UPSTREAM, Some("upstream_unavailable"), 502, API)
        }
        Error::Protocol(_) => row(502, UPSTREAM, Some("upstream_protocol_error"), 502, API),
        Error::Truncated(_) => row(502, UPSTREAM, Some("upstream_truncated"), 502, API),
        Error::Timeout(_) => row(504, UPSTREAM, Some("upstream_timeout"), 504, API),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A refusal is a wrong route for the error policy exactly when routing reads it as one
    /// ([`misroute`]): the captured answers are, and a 403 "not enabled for this account"
    /// without Berm's name stays the account's permissions.
    #[test]
    fn wrong_routes_are_what_routing_reads_as_wrong_routes() {
        let errors: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/mantle/errors.json")).unwrap();
        let mut bodies: Vec<(u16, String)> = errors
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let status = u16::try_from(e["status"].as_u64().unwrap()).unwrap();
                (status, e["body"].as_str().unwrap().to_owned())
            })
            .collect();
        let access = r#"{"error":{"code":"access_denied","message":"Model access is not enabled for this account","param":null,"type":"permission_denied_error"}}"#;
        bodies.push((403, access.to_owned()));
        bodies.push((
            422,
            access.replace(
                "Model access is not enabled for this account",
                "model `x` isn't supported on this route",
            ),
        ));
        let mut wrong = 0;
        for (status, body) in &bodies {
            let secrets = Secrets::default();
            let said = upstream_message(body.as_bytes(), &secrets);
            let e = classify("POST u", "hint", *status, None, body.as_bytes(), &secrets);
            let routing = misroute(*status, &said).is_some();
            assert_eq!(
                matches!(e, Error::WrongRoute(_)),
                routing,
                "{status} {body}: {e:?}"
            );
            wrong += usize::from(routing);
        }
        assert_eq!(wrong, 3, "Berm's 401, the wrong prefix and the wrong API");
        let Error::Forbidden(m) = classify(
            "POST u",
            "hint",
            403,
            None,
            access.as_bytes(),
            &Secrets::default(),
        ) else {
            panic!("a 403 about the account is not a wrong route");
        };
        assert!(m.contains("IAM permissions"), "{m}");
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
