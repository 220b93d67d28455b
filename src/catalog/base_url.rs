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
        check_authority(authority)?;
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

/// Why an authority (`host`, `host:port`, `[v6]` or `[v6]:port`, its characters already
/// checked) is no host and port a request can go to; `Ok` when it is.
fn check_authority(authority: &str) -> core::result::Result<(), &'static str> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']').ok_or("has no valid host")?;
            if inside.is_empty()
                || !inside
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b".:".contains(&b))
            {
                return Err("has no valid host");
            }
            match after {
                "" => (inside, None),
                _ => (
                    inside,
                    Some(after.strip_prefix(':').ok_or("has no valid host")?),
                ),
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("has no host");
    }
    if host.contains(['[', ']']) {
        return Err("has no valid host");
    }
    let valid_port = |port: &str| {
        (1..=5).contains(&port.len())
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65_535).contains(&p))
    };
    match port {
        Some(port) if !valid_port(port) => Err("has a port that is not a number from 1 to 65535"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Strategy as _;

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
    fn a_port_must_be_a_number_from_1_to_65535() {
        for bad in [
            "http://host:abc/v1",
            "http://host:/v1",
            "http://host:0/v1",
            "http://host:65536/v1",
            "http://host:1:2/v1",
            "http://[::1]:x/v1",
            "http://[::1]x/v1",
            "http://:80/v1",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(Error::Configuration(_))),
                "{bad}"
            );
        }
        let Err(Error::Configuration(m)) = BaseUrl::parse("http://host:abc/v1") else {
            panic!("host:abc was taken");
        };
        assert!(m.contains("port"), "{m}");
        for good in [
            "http://host:1/v1",
            "http://host:65535/v1",
            "http://[::1]/v1",
        ] {
            assert!(BaseUrl::parse(good).is_ok(), "{good}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn every_port_in_range_is_taken_and_kept(
            host in "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\\.[a-z0-9]{1,10}){0,3}",
            port in 1u32..=65_535,
            path in "(/[a-z0-9._-]{1,8}){0,3}",
        ) {
            let url = format!("http://{host}:{port}{path}");
            let base = BaseUrl::parse(&url).unwrap();
            proptest::prop_assert_eq!(base.host(), host.as_str());
            proptest::prop_assert_eq!(&base.authority, &format!("{host}:{port}"));
            proptest::prop_assert_eq!(base.url("/models"), format!("{url}/models"));
        }

        #[test]
        fn any_other_port_is_refused_naming_the_port(
            host in "[a-z0-9]{1,12}",
            port in proptest::prop_oneof![
                "[0-9]{6,9}",
                "0{1,5}",
                (65_536u32..=99_999).prop_map(|p| p.to_string()),
                "[0-9]{0,3}[a-z:_.-][0-9a-z]{0,3}",
            ],
        ) {
            let url = format!("https://{host}:{port}/v1");
            let refused = BaseUrl::parse(&url);
            proptest::prop_assert!(
                matches!(&refused, Err(Error::Configuration(m)) if m.contains("port") || m.contains("host")),
                "{url}: {refused:?}"
            );
        }

        #[test]
        fn parsing_never_panics(url in "\\PC{0,64}") {
            let _ = BaseUrl::parse(&url);
        }
    }
}
