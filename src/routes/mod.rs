//! The upstream routes: one module per upstream API, each with its serde wire types beside it
//! (`wire`, public, usable to read and to write the protocol), the [`Route`] trait the three
//! implement, and the one [`policy`] that reads a failed answer for all of them. Nothing in
//! one route imports from another; this module alone names all three ([`of`]).

pub mod anthropic;
pub mod openai;
pub mod policy;
pub mod responses;
pub mod route;

pub use route::{Events, Route, Target};

use crate::model::Api;

/// The route that speaks `api`.
pub fn of(api: Api) -> &'static dyn Route {
    match api {
        Api::OpenaiCompletions => &openai::OpenAi,
        Api::OpenaiResponses => &responses::Responses,
        Api::AnthropicMessages => &anthropic::Anthropic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::routes::policy::{answer, status_of_words};
    use crate::secrets::Secrets;

    /// An overloaded upstream, as each route reports it inside a stream.
    const OVERLOADED: [(Api, &str); 3] = [
        (
            Api::OpenaiCompletions,
            "data: {\"error\":{\"message\":\"busy\",\"type\":\"overloaded_error\",\"code\":\"overloaded\"}}\n\n",
        ),
        (
            Api::OpenaiResponses,
            "data: {\"type\":\"error\",\"sequence_number\":0,\"code\":\"overloaded\",\"message\":\"busy\",\"param\":null}\n\n",
        ),
        (
            Api::AnthropicMessages,
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n",
        ),
    ];

    #[test]
    fn an_overload_is_the_same_error_on_every_route() {
        for (api, event) in OVERLOADED {
            let mut stream = of(api).event_stream(Secrets::default());
            let mut out = Vec::new();
            let error = stream.feed(event.as_bytes(), &mut out).err();
            assert!(
                matches!(
                    error,
                    Some(Error::UpstreamUnavailable {
                        status: Some(529),
                        ..
                    })
                ),
                "{api:?}: {error:?}"
            );
            let refused = of(api).classify_error(529, None, b"busy", &Secrets::default());
            assert!(
                matches!(
                    refused,
                    Error::UpstreamUnavailable {
                        status: Some(529),
                        ..
                    }
                ),
                "{api:?}: {refused:?}"
            );
        }
    }

    #[test]
    fn an_overload_is_503_to_openai_clients_and_529_to_anthropic_clients() {
        for status in [503, 529] {
            let overloaded = Error::UpstreamUnavailable {
                status: Some(status),
                message: "busy".into(),
            };
            let said = answer(&overloaded);
            assert_eq!(
                (said.openai_status, said.openai_code),
                (503, Some("upstream_unavailable"))
            );
            assert_eq!(
                (said.anthropic_status, said.anthropic_type),
                (529, "overloaded_error")
            );
            assert!(!said.permanent);
        }
        let gone = answer(&Error::UpstreamUnavailable {
            status: Some(500),
            message: "x".into(),
        });
        assert_eq!((gone.openai_status, gone.anthropic_status), (502, 502));
    }

    #[test]
    fn the_one_word_table_reads_every_routes_words() {
        // Anthropic's error types, as its documentation gives their statuses.
        for (kind, status) in [
            ("invalid_request_error", 400),
            ("authentication_error", 401),
            ("billing_error", 402),
            ("permission_error", 403),
            ("not_found_error", 404),
            ("request_too_large", 413),
            ("rate_limit_error", 429),
            ("api_error", 500),
            ("timeout_error", 504),
            ("overloaded_error", 529),
        ] {
            assert_eq!(status_of_words(kind), status, "{kind}");
        }
        // OpenAI's and the Responses route's codes.
        for (code, status) in [
            ("rate_limit_exceeded", 429),
            ("insufficient_quota", 429),
            ("invalid_api_key", 401),
            ("context_length_exceeded", 400),
            ("validation_error", 400),
            ("unsupported_parameter", 400),
            ("invalid_prompt", 400),
            ("service_unavailable", 503),
            ("server_error", 500),
        ] {
            assert_eq!(status_of_words(code), status, "{code}");
        }
    }

    #[test]
    fn each_route_is_the_one_of_its_api() {
        for api in Api::ALL {
            assert_eq!(of(api).api(), api);
        }
        assert_eq!(
            of(Api::AnthropicMessages).headers(),
            [("anthropic-version", anthropic::ANTHROPIC_VERSION)]
        );
        assert!(of(Api::OpenaiCompletions).headers().is_empty());
    }
}
