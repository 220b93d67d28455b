//! The independent oracle: the signature `aws-sigv4` computes for a Mantle token's presigned
//! request. Shared by the harness and the foundation benchmark.

use std::time::{Duration, UNIX_EPOCH};

/// The signature aws-sigv4 computes for the same presigned request.
pub fn oracle_signature(
    key: &str,
    secret: &str,
    session: Option<&str>,
    region: &str,
    expires_in: u32,
    at: u64,
) -> String {
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    let identity = aws_credential_types::Credentials::new(
        key,
        secret,
        session.map(str::to_owned),
        None,
        "oracle",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(u64::from(expires_in)));
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock")
        .time(UNIX_EPOCH + Duration::from_secs(at))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let request = SignableRequest::new(
        "POST",
        "https://bedrock.amazonaws.com/?Action=CallWithBearerToken",
        std::iter::once(("host", "bedrock.amazonaws.com")),
        SignableBody::Bytes(&[]),
    )
    .unwrap();
    let (_, signature) = sign(request, &params).unwrap().into_parts();
    signature
}
