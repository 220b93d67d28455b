//! Mantle's error answers, from the captured ones in `fixtures/mantle/errors.json`: the
//! captured body byte for byte, with only its message changed where the request differs (the
//! requested model id for the captured one, the API's path, the token counts, the times).
//! On the Anthropic route the same message comes in Anthropic's envelope
//! (`{"type":"error","error":{"type","message"}}`).

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Value, json};

use super::table::TableError;

const ERRORS_JSON: &str = include_str!("../../../fixtures/mantle/errors.json");

/// One captured error answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Captured {
    /// Its name in the fixture.
    pub name: String,
    /// HTTP status.
    pub status: u16,
    /// The model id the body names, if any.
    pub model: Option<String>,
    /// The body as captured.
    pub body: String,
}

impl Captured {
    /// The captured message.
    fn message(&self) -> Option<String> {
        let body: Value = serde_json::from_str(&self.body).ok()?;
        body.pointer("/error/message")?.as_str().map(str::to_owned)
    }
}

/// Every captured error, read once.
pub fn captured() -> Result<&'static [Captured], TableError> {
    static ERRORS: OnceLock<Result<Vec<Captured>, TableError>> = OnceLock::new();
    ERRORS
        .get_or_init(|| {
            let all: Vec<Captured> = serde_json::from_str(ERRORS_JSON)
                .map_err(|e| TableError(format!("errors.json does not parse: {e}")))?;
            for c in &all {
                if c.message().is_none() {
                    return Err(TableError(format!(
                        "errors.json: {} has no message",
                        c.name
                    )));
                }
            }
            Ok(all)
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

/// An error answer: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
}

/// A JSON string literal of `text`.
fn json_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// The captured error `name`, its message turned into `edit(message, captured model)`; a
/// generic 500 if the fixture lacks it (the unit tests make sure it does not).
fn from_fixture(name: &str, edit: impl FnOnce(&str, &str) -> String) -> Answer {
    let Some(c) = captured()
        .ok()
        .and_then(|all| all.iter().find(|c| c.name == name))
    else {
        return Answer {
            status: 500,
            body: json!({"error": {"code": "internal_error", "message": format!("no captured error {name}"), "param": null, "type": "api_error"}}).to_string(),
        };
    };
    let old = c.message().unwrap_or_default();
    let new = edit(&old, c.model.as_deref().unwrap_or_default());
    Answer {
        status: c.status,
        body: c.body.replacen(&json_string(&old), &json_string(&new), 1),
    }
}

/// The captured error `name` unchanged.
fn as_captured(name: &str) -> Answer {
    from_fixture(name, |m, _| m.to_owned())
}

/// The captured error `name`, naming `model` where the capture names its own.
fn for_model(name: &str, model: &str) -> Answer {
    from_fixture(name, |m, captured| {
        if captured.is_empty() {
            m.to_owned()
        } else {
            m.replace(captured, model)
        }
    })
}

/// 404 `not_found_error` "The model 'X' does not exist" (ERR-5).
pub fn does_not_exist(model: &str) -> Answer {
    for_model("model-does-not-exist", model)
}

/// 400 `validation_error` "The model 'X' does not support the 'PATH' API" (ERR-1).
pub fn unsupported_api(model: &str, api_path: &str) -> Answer {
    from_fixture("wrong-api", |m, captured| {
        m.replace(captured, model)
            .replace("'/v1/responses'", &format!("'{api_path}'"))
    })
}

/// 400 "model `X` isn't supported on this route" (FACTS).
pub fn not_on_route(model: &str) -> Answer {
    for_model("not-supported-on-this-route", model)
}

/// 401 `access_denied` "Berm is not enabled for this account" (ERR-3).
pub fn berm() -> Answer {
    as_captured("berm-not-enabled")
}

/// 400 `validation_error` "prompt tokens (N) exceed model maximum (M) for X" (ERR-7, Mantle's
/// wording, on `/openai/v1`).
pub fn context_overflow_mantle(prompt: u64, maximum: u64, model: &str) -> Answer {
    from_fixture("context-overflow-mantle", |_, _| {
        format!("prompt tokens ({prompt}) exceed model maximum ({maximum}) for {model}")
    })
}

/// 400 vLLM's "This model's maximum context length is M tokens. However, you requested O
/// output tokens and your prompt contains at least N input tokens, …" (ERR-7, on `/v1`).
pub fn context_overflow_vllm(maximum: u64, output: u64, prompt: u64) -> Answer {
    from_fixture("context-overflow-vllm", |_, _| {
        format!(
            "This model's maximum context length is {maximum} tokens. However, you requested \
             {output} output tokens and your prompt contains at least {prompt} input tokens, \
             for a total of at least {} tokens. Please reduce the length of the input prompt \
             or the number of requested output tokens. (parameter=input_tokens, value={prompt})",
            prompt + output
        )
    })
}

/// 400 "Model does not support image modality" (FACTS).
pub fn image_modality() -> Answer {
    as_captured("image-modality")
}

/// 400 "Failed to deserialize the JSON body into the target type" (FACTS).
pub fn not_deserialized() -> Answer {
    as_captured("body-not-deserialized")
}

/// 401 `invalid_api_key` "Invalid bearer token" (FACTS).
pub fn invalid_bearer_token() -> Answer {
    as_captured("invalid-bearer-token")
}

/// 401 with `message`, in the envelope of "The security token included in the request is
/// invalid." (FACTS): that one, "Signature expired: …" (its captured head, AWS's times) and
/// "Signature not yet current: …".
pub fn token_refused(message: &str) -> Answer {
    from_fixture("security-token-invalid", |_, _| message.to_owned())
}

/// 500 `api_error` (FACTS).
pub fn internal() -> Answer {
    as_captured("internal")
}

/// The Anthropic error type of a status.
fn anthropic_kind(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    }
}

/// `{"type":"error","error":{"type","message"}}`, as the Messages API answers.
pub fn anthropic_body(kind: &str, message: &str) -> String {
    json!({"type": "error", "error": {"type": kind, "message": message}}).to_string()
}

impl Answer {
    /// The same error in Anthropic's envelope, its type from the status.
    pub fn anthropic(self) -> Answer {
        let message = serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|b| b.pointer("/error/message")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        Answer {
            status: self.status,
            body: anthropic_body(anthropic_kind(self.status), &message),
        }
    }
}

/// Anthropic's 400 "prompt is too long: N tokens > M maximum".
pub fn prompt_too_long(prompt: u64, maximum: u64) -> Answer {
    Answer {
        status: 400,
        body: anthropic_body(
            "invalid_request_error",
            &format!("prompt is too long: {prompt} tokens > {maximum} maximum"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(name: &str) -> (u16, String) {
        let c = captured().unwrap().iter().find(|c| c.name == name).unwrap();
        (c.status, c.body.clone())
    }

    #[test]
    fn each_capture_is_reproduced_byte_for_byte_for_its_own_request() {
        let same = |a: Answer, name: &str| {
            assert_eq!((a.status, a.body), body_of(name), "{name}");
        };
        same(
            unsupported_api("openai.gpt-oss-safeguard-120b", "/v1/responses"),
            "wrong-api",
        );
        same(berm(), "berm-not-enabled");
        same(
            does_not_exist("us.anthropic.claude-sonnet-4-6"),
            "model-does-not-exist",
        );
        same(
            context_overflow_mantle(400_007, 278_528, "openai.gpt-5.5"),
            "context-overflow-mantle",
        );
        same(
            not_on_route("openai.gpt-5.4"),
            "not-supported-on-this-route",
        );
        same(image_modality(), "image-modality");
        same(not_deserialized(), "body-not-deserialized");
        same(
            context_overflow_vllm(202_752, 65_536, 137_217),
            "context-overflow-vllm",
        );
        same(invalid_bearer_token(), "invalid-bearer-token");
        same(
            token_refused("The security token included in the request is invalid."),
            "security-token-invalid",
        );
        same(
            token_refused(
                "Signature expired: 20250715T050000Z is now earlier than 20250716T045500Z (20250716T050000Z - 5 min.)",
            ),
            "signature-expired",
        );
        same(internal(), "internal");
    }

    #[test]
    fn the_requested_model_and_path_replace_the_captured_ones() {
        let a = unsupported_api("anthropic.claude-opus-4-7", "/v1/chat/completions");
        assert_eq!(
            a.body,
            r#"{"error":{"code":"validation_error","type":"invalid_request_error","message":"The model 'anthropic.claude-opus-4-7' does not support the '/v1/chat/completions' API"}}"#
        );
        let a = does_not_exist("claude-opus-4.7");
        assert_eq!(
            a.body,
            r#"{"error":{"code":"not_found_error","type":"invalid_request_error","message":"The model 'claude-opus-4.7' does not exist"}}"#
        );
        let odd = does_not_exist("a\"b");
        assert_eq!(
            serde_json::from_str::<Value>(&odd.body).unwrap()["error"]["message"],
            "The model 'a\"b' does not exist"
        );
        let a = not_on_route("deepseek.v3.2").anthropic();
        assert_eq!(
            a.body,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"model `deepseek.v3.2` isn't supported on this route"}}"#
        );
        assert_eq!(does_not_exist("x").anthropic().status, 404);
        assert!(
            does_not_exist("x")
                .anthropic()
                .body
                .contains("not_found_error")
        );
    }
}
