//! The regions Mantle serves and how a region is chosen.

use crate::error::{Error, Result};
use crate::text::truncate;

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

/// Whether `region` has the shape of an AWS region name: lowercase parts joined by `-`,
/// ending in a number (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`).
pub fn is_well_formed(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    region.len() <= 32
        && parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks a region. The [`SUPPORTED_REGIONS`] pass silently; any other well-formed AWS
/// region passes with a diagnostic that names them (Mantle's footprint grows faster than
/// any list); a malformed one is a configuration error.
pub fn check(region: &str) -> Result<Option<String>> {
    if SUPPORTED_REGIONS.contains(&region) {
        Ok(None)
    } else if is_well_formed(region) {
        Ok(Some(format!(
            "region {region} is not one of the regions documented for Mantle ({}); trying it anyway",
            SUPPORTED_REGIONS.join(", ")
        )))
    } else {
        Err(Error::Configuration(format!(
            "region {:?} is not an AWS region name; Mantle serves: {}",
            truncate(region, 64),
            SUPPORTED_REGIONS.join(", ")
        )))
    }
}

/// Checks that `region` is a usable region name ([`check`]), dropping the diagnostic.
pub fn validate(region: &str) -> Result<&str> {
    check(region).map(|_| region)
}

/// Picks the region: the explicit setting, else `AWS_REGION`, else `AWS_DEFAULT_REGION`,
/// else `us-east-1`; blank values count as unset. The result is checked ([`check`]).
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

/// The region a Mantle host names (`bedrock-mantle.{region}.api.aws`), if it is one.
pub fn of_host(host: &str) -> Option<&str> {
    host.strip_prefix("bedrock-mantle.")
        .and_then(|rest| rest.strip_suffix(".api.aws"))
        .filter(|r| is_well_formed(r))
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
    fn other_well_formed_regions_pass_with_a_diagnostic_naming_the_known_ones() {
        for r in ["ap-southeast-2", "ca-central-1", "us-gov-west-1"] {
            assert_eq!(resolve(Some(r), None, None).ok().as_deref(), Some(r));
            let Ok(Some(note)) = check(r) else {
                unreachable!("{r}: no diagnostic")
            };
            assert!(note.contains(r), "{note}");
            for known in SUPPORTED_REGIONS {
                assert!(note.contains(known), "{note} lacks {known}");
            }
        }
        for r in SUPPORTED_REGIONS {
            assert_eq!(check(r).ok(), Some(None), "{r}");
        }
    }

    #[test]
    fn malformed_regions_are_configuration_errors_naming_the_known_ones() {
        for bad in [
            "mars",
            "US-EAST-1",
            "us_east_1",
            "us-east-",
            "us-east-x",
            "1-2-3",
            "us east 1",
            "us-\n-1",
        ] {
            let Err(Error::Configuration(msg)) = resolve(Some(bad), None, None) else {
                unreachable!("{bad} accepted")
            };
            for r in SUPPORTED_REGIONS {
                assert!(msg.contains(r), "{msg} lacks {r}");
            }
        }
    }

    #[test]
    fn base_url_is_the_regional_mantle_host() {
        assert_eq!(
            base_url("us-west-2"),
            "https://bedrock-mantle.us-west-2.api.aws/v1"
        );
    }

    #[test]
    fn a_mantle_host_names_its_region() {
        assert_eq!(
            of_host("bedrock-mantle.eu-west-1.api.aws"),
            Some("eu-west-1")
        );
        for other in [
            "127.0.0.1",
            "bedrock-mantle.api.aws",
            "bedrock-mantle.mars.api.aws",
            "gateway.example.com",
        ] {
            assert_eq!(of_host(other), None, "{other}");
        }
    }
}
