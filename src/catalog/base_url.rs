//! The provider's one URL validator: a base URL (`http(s)://authority/path`), the routes'
//! prefixes derived from it.

use crate::error::{Error, Result};
use crate::text::truncate;

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
}
