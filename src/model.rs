//! The provider's plain-data model descriptions, mirrored one to one by the WIT `model` record.

/// The wire protocol a model is served on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Api {
    /// OpenAI chat completions.
    #[default]
    OpenaiCompletions,
    /// Anthropic Messages (Claude).
    AnthropicMessages,
    /// OpenAI Responses (GPT-5.x on `/openai/v1`; gpt-oss on `/v1` too).
    OpenaiResponses,
}

impl Api {
    /// Every value, as the configuration spells them.
    pub const ALL: [Api; 3] = [
        Api::OpenaiCompletions,
        Api::AnthropicMessages,
        Api::OpenaiResponses,
    ];

    /// The configuration's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::OpenaiCompletions => "openai-completions",
            Api::AnthropicMessages => "anthropic-messages",
            Api::OpenaiResponses => "openai-responses",
        }
    }

    /// Parses the configuration's spelling.
    pub fn parse(s: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A kind of input a model accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modality {
    /// Plain text.
    Text,
    /// Images.
    Image,
}

impl Modality {
    /// The configuration's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Modality::Text => "text",
            Modality::Image => "image",
        }
    }

    /// Parses the configuration's spelling.
    pub fn parse(s: &str) -> Option<Modality> {
        match s {
            "text" => Some(Modality::Text),
            "image" => Some(Modality::Image),
            _ => None,
        }
    }
}

/// Price per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    /// Input tokens.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Cache reads.
    pub cache_read: f64,
    /// Cache writes.
    pub cache_write: f64,
}

/// Where a model description came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSource {
    /// `GET /v1/models`.
    Discovered,
    /// The configuration.
    Configured,
    /// The provider itself.
    BuiltIn,
}

/// A model the provider can serve.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Mantle model id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Route.
    pub api: Api,
    /// Produces reasoning output.
    pub reasoning: bool,
    /// Accepted inputs.
    pub input: Vec<Modality>,
    /// Prices per million tokens: the configured ones, else the built-in table's
    /// ([`crate::cost::builtin`]); `None` when neither has the model.
    pub cost: Option<Cost>,
    /// Context window in tokens.
    pub context_window: u32,
    /// Maximum output tokens.
    pub max_tokens: u32,
    /// Origin.
    pub source: ModelSource,
    /// When the model was added, as `GET /v1/models` said (seconds since the Unix epoch);
    /// `None` for a model discovery did not describe.
    pub created: Option<u64>,
}

/// The provider's name, as model references and listings spell it.
pub const PROVIDER: &str = "amazon-bedrock-mantle";

/// The Mantle id a model reference names: `amazon-bedrock-mantle/<id>` and `<id>` are the
/// same model. The one place the prefix is understood; everything that looks a model up or
/// sends it upstream goes through here.
pub fn model_id(reference: &str) -> &str {
    reference
        .strip_prefix(PROVIDER)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefixed_reference_names_the_bare_id() {
        assert_eq!(
            model_id("amazon-bedrock-mantle/claude-opus-4.7"),
            "claude-opus-4.7"
        );
        assert_eq!(model_id("claude-opus-4.7"), "claude-opus-4.7");
        assert_eq!(
            model_id("amazon-bedrock-mantle/openai.gpt-oss-120b"),
            "openai.gpt-oss-120b"
        );
        // Only the provider's own prefix, once.
        assert_eq!(model_id("other/x"), "other/x");
        assert_eq!(model_id("amazon-bedrock-mantlex"), "amazon-bedrock-mantlex");
        assert_eq!(
            model_id("amazon-bedrock-mantle/amazon-bedrock-mantle/x"),
            "amazon-bedrock-mantle/x"
        );
    }
}
