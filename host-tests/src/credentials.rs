//! Where `mantle-host` gets its upstream credentials: one precedence order for every command.
//!
//! First found wins:
//! 1. the configuration's `apiKey` (a literal key, or `env:NAME` when `NAME` is set);
//! 2. `AWS_BEARER_TOKEN_BEDROCK`;
//! 3. AWS credentials from `aws-config`'s default chain: the `AWS_ACCESS_KEY_ID` /
//!    `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` variables, the shared config and
//!    credentials files (`AWS_PROFILE`, SSO, `credential_process`, assumed roles), web identity
//!    (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`), container credentials (ECS, EKS Pod
//!    Identity) and instance metadata (IMDSv2).
//!
//! The host resolves; the component never reads a file or the environment for them. It gets
//! the winner through its settings: a bearer token used as is, or AWS credentials with their
//! expiration, from which it mints (and re-mints) Mantle tokens itself.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow};
use aws_config::BehaviorVersion;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use crate::runtime::types;

/// Longest the whole chain may take to answer once (IMDS and STS included).
pub const CHAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Credentials are refreshed this long before they expire (as the AWS SDKs' caches do),
/// or halfway through their remaining life when that is shorter.
pub const REFRESH_EARLY: Duration = Duration::from_secs(300);

/// Shortest wait between two refreshes, so credentials that expire at once cannot make the
/// host spin.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// Wait before trying again after the chain failed or found nothing.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(15);

/// Where the bearer token that won came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The configuration's `apiKey`.
    ConfigApiKey,
    /// `AWS_BEARER_TOKEN_BEDROCK`.
    BearerTokenEnv,
}

/// AWS credentials as the chain found them; `Debug` never shows the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
    /// When they expire, in seconds since the Unix epoch.
    pub expiration: Option<u64>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl AwsCredentials {
    /// The component's record of them.
    pub fn to_wit(&self) -> types::Credentials {
        types::Credentials {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            session_token: self.session_token.clone(),
            expiration: self.expiration,
        }
    }
}

/// A non-empty, trimmed environment variable of this process.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The bearer token used as is, if any: the configuration's `apiKey`, else
/// `AWS_BEARER_TOKEN_BEDROCK` (looked up with `env`).
pub fn static_token(
    config: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(String, TokenSource)>> {
    if let Some(text) = config.filter(|t| !t.trim().is_empty()) {
        let parsed =
            mantle_provider::config::parse(text).map_err(|e| anyhow!("the configuration: {e}"))?;
        if let Some(key) = parsed.api_key.and_then(|k| k.resolve(&env)) {
            return Ok(Some((key, TokenSource::ConfigApiKey)));
        }
    }
    Ok(env("AWS_BEARER_TOKEN_BEDROCK").map(|t| (t, TokenSource::BearerTokenEnv)))
}

/// `aws-config`'s default credential chain, over the same rustls (ring) stack as the gateway.
#[derive(Clone, Debug)]
pub struct Chain {
    provider: SharedCredentialsProvider,
}

impl Chain {
    /// The default chain; `region` is where STS and SSO are asked (web identity, SSO,
    /// assumed roles).
    pub async fn load(region: &str) -> Result<Chain> {
        use aws_smithy_http_client::tls;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .http_client(http)
            .load()
            .await;
        let provider = config
            .credentials_provider()
            .ok_or_else(|| anyhow!("aws-config built no credentials provider"))?;
        Ok(Chain { provider })
    }

    /// Asks the chain once. `Ok(None)`: no source has credentials; an error names what broke
    /// (a profile that points nowhere, a `credential_process` that failed, STS refusing).
    pub async fn resolve(&self) -> Result<Option<AwsCredentials>> {
        let answer = tokio::time::timeout(CHAIN_TIMEOUT, self.provider.provide_credentials())
            .await
            .map_err(|_| {
                anyhow!(
                    "the AWS credential chain did not answer within {} s",
                    CHAIN_TIMEOUT.as_secs()
                )
            })?;
        match answer {
            Ok(c) => Ok(Some(AwsCredentials {
                access_key_id: c.access_key_id().to_owned(),
                secret_access_key: c.secret_access_key().to_owned(),
                session_token: c.session_token().map(str::to_owned),
                expiration: c.expiry().map(unix_secs),
            })),
            Err(CredentialsError::CredentialsNotLoaded(_)) => Ok(None),
            Err(e) => Err(anyhow!(
                "the AWS credential chain failed: {}",
                error_chain(&e)
            )),
        }
    }
}

/// An error and its sources, `: `-separated (aws-config's errors keep the cause in `source`).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    unix_secs(SystemTime::now())
}

/// How long to wait before asking the chain again, for credentials that expire at
/// `expiration` (`None`: long-term credentials, never refreshed).
pub fn refresh_after(now: u64, expiration: Option<u64>) -> Option<Duration> {
    let remaining = Duration::from_secs(expiration?.saturating_sub(now));
    let wait = if remaining > REFRESH_EARLY * 2 {
        remaining.saturating_sub(REFRESH_EARLY)
    } else {
        remaining / 2
    };
    Some(wait.max(MIN_REFRESH_INTERVAL))
}

/// The credentials a running gateway hands each new instance; a refresher replaces them.
#[derive(Clone, Debug, Default)]
pub struct CredentialSlot(Arc<RwLock<Option<AwsCredentials>>>);

impl CredentialSlot {
    /// Replaces the credentials.
    pub fn set(&self, credentials: Option<AwsCredentials>) {
        match self.0.write() {
            Ok(mut slot) => *slot = credentials,
            Err(poisoned) => *poisoned.into_inner() = credentials,
        }
    }

    /// The current credentials.
    pub fn get(&self) -> Option<AwsCredentials> {
        match self.0.read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The value of a Spin variable the slot provides (`aws_access_key_id`,
    /// `aws_secret_access_key`, `aws_session_token`, `aws_credentials_expiration`); `None`
    /// for other names. An empty slot provides empty values.
    pub fn variable(&self, name: &str) -> Option<String> {
        let c = self.get();
        let c = c.as_ref();
        Some(match name {
            "aws_access_key_id" => c.map(|c| c.access_key_id.clone()).unwrap_or_default(),
            "aws_secret_access_key" => c.map(|c| c.secret_access_key.clone()).unwrap_or_default(),
            "aws_session_token" => c.and_then(|c| c.session_token.clone()).unwrap_or_default(),
            "aws_credentials_expiration" => c
                .and_then(|c| c.expiration)
                .map(|e| e.to_string())
                .unwrap_or_default(),
            _ => return None,
        })
    }

    /// Keeps the slot filled from `chain` until the task is dropped: asks again before the
    /// credentials expire (see [`refresh_after`]), and after a failure keeps what it has
    /// and retries.
    pub async fn refresh(self, chain: Chain) {
        loop {
            let wait = match chain.resolve().await {
                Ok(Some(c)) => {
                    let wait = refresh_after(now(), c.expiration);
                    self.set(Some(c));
                    match wait {
                        Some(w) => w,
                        None => return,
                    }
                }
                Ok(None) => {
                    eprintln!(
                        "mantle-host: no AWS credentials found (README: Authentication); trying again in {} s",
                        RETRY_AFTER_FAILURE.as_secs()
                    );
                    RETRY_AFTER_FAILURE
                }
                Err(e) => {
                    eprintln!(
                        "mantle-host: {e:#}; keeping the current credentials, trying again in {} s",
                        RETRY_AFTER_FAILURE.as_secs()
                    );
                    RETRY_AFTER_FAILURE
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_before_expiry() {
        let now = 1_000_000;
        assert_eq!(refresh_after(now, None), None);
        assert_eq!(
            refresh_after(now, Some(now + 3600)),
            Some(Duration::from_secs(3300))
        );
        assert_eq!(
            refresh_after(now, Some(now + 4)),
            Some(Duration::from_secs(2))
        );
        assert_eq!(refresh_after(now, Some(now)), Some(MIN_REFRESH_INTERVAL));
        assert_eq!(refresh_after(now, Some(1)), Some(MIN_REFRESH_INTERVAL));
    }

    #[test]
    fn the_config_key_wins_over_the_variable() {
        let env = |n: &str| match n {
            "AWS_BEARER_TOKEN_BEDROCK" => Some("from-env".to_owned()),
            "MY_KEY" => Some("from-my-key".to_owned()),
            _ => None,
        };
        let cfg = |k: &str| {
            format!("{{models:{{providers:{{'amazon-bedrock-mantle':{{apiKey:'{k}'}}}}}}}}")
        };
        assert_eq!(
            static_token(Some(&cfg("literal")), env).unwrap(),
            Some(("literal".into(), TokenSource::ConfigApiKey))
        );
        assert_eq!(
            static_token(Some(&cfg("env:MY_KEY")), env).unwrap(),
            Some(("from-my-key".into(), TokenSource::ConfigApiKey))
        );
        assert_eq!(
            static_token(Some(&cfg("env:UNSET")), env).unwrap(),
            Some(("from-env".into(), TokenSource::BearerTokenEnv))
        );
        assert_eq!(static_token(None, |_| None).unwrap(), None);
    }

    #[test]
    fn debug_hides_the_secrets() {
        let c = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "very-secret".into(),
            session_token: Some("session-secret".into()),
            expiration: Some(5),
        };
        let text = format!("{c:?}");
        assert!(!text.contains("very-secret") && !text.contains("session-secret"));
    }
}
