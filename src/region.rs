//! The regions Mantle serves and how a region is chosen.

use crate::error::{Error, Result};

/// Regions with a Mantle endpoint.
pub const SUPPORTED_REGIONS: [&str; 12] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-3",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-south-1",
    "eu-north-1",
    "sa-east-1",
];

/// The region used when neither settings nor environment name one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Checks that `region` is served by Mantle; the error names the supported regions.
pub fn validate(region: &str) -> Result<&str> {
    if SUPPORTED_REGIONS.contains(&region) {
        Ok(region)
    } else {
        Err(Error::Configuration(format!(
            "region {:?} has no Mantle endpoint; supported regions: {}",
            truncate(region, 64),
            SUPPORTED_REGIONS.join(", ")
        )))
    }
}

/// Picks the region: the explicit setting, else `AWS_REGION`, else `AWS_DEFAULT_REGION`,
/// else `us-east-1`; blank values count as unset. The result is validated.
pub fn resolve(
    explicit: Option<&str>,
    aws_region: Option<&str>,
    aws_default_region: Option<&str>,
) -> Result<String> {
    let chosen = [explicit, aws_region, aws_default_region]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REGION);
    validate(chosen).map(str::to_owned)
}

/// The Mantle OpenAI-compatible base URL of a region.
pub fn base_url(region: &str) -> String {
    format!("https://bedrock-mantle.{region}.api.aws/v1")
}

/// At most `max` characters of `s`, for quoting untrusted input in messages.
pub fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_setting_wins_then_env_in_order() {
        assert_eq!(
            resolve(Some("eu-west-1"), Some("us-west-2"), None)
                .ok()
                .as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            resolve(None, Some("us-west-2"), Some("eu-west-1"))
                .ok()
                .as_deref(),
            Some("us-west-2")
        );
        assert_eq!(
            resolve(None, None, Some("eu-west-1")).ok().as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            resolve(None, Some("  "), None).ok().as_deref(),
            Some("us-east-1")
        );
        assert_eq!(resolve(None, None, None).ok().as_deref(), Some("us-east-1"));
    }

    #[test]
    fn unknown_region_names_all_supported_ones() {
        let Err(Error::Configuration(msg)) = resolve(Some("mars-north-1"), None, None) else {
            unreachable!("unknown region accepted")
        };
        assert!(msg.contains("mars-north-1"), "{msg}");
        for r in SUPPORTED_REGIONS {
            assert!(msg.contains(r), "{msg} lacks {r}");
        }
    }

    #[test]
    fn base_url_is_the_regional_mantle_host() {
        assert_eq!(
            base_url("us-west-2"),
            "https://bedrock-mantle.us-west-2.api.aws/v1"
        );
    }
}
