//! What a model's id alone says about it: its route (from the route table), whether it
//! reasons, and the defaults of a model Mantle lists without details.

use crate::catalog::ids as catalog;
use crate::model::{Api, Modality, Model, ModelSource};

/// Context window of a model Mantle lists without details, tokens.
pub const DEFAULT_CONTEXT_WINDOW: u32 = 32_000;
/// Maximum output of a model Mantle lists without details, tokens.
pub const DEFAULT_MAX_TOKENS: u32 = 4_096;
/// Id fragments (lowercase) that mark a reasoning model.
const REASONING_MARKERS: [&str; 6] = [
    "thinking",
    "reasoner",
    "reasoning",
    "gpt-oss-120b",
    "gpt-oss-safeguard-120b",
    "deepseek.r",
];

/// Whether a model produces reasoning output, inferred from its id (case-insensitive):
/// it contains `thinking`, `reasoner`, `reasoning`, `gpt-oss-120b`, `gpt-oss-safeguard-120b`
/// or `deepseek.r`.
pub fn infer_reasoning(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    REASONING_MARKERS.iter().any(|m| id.contains(m))
}

/// The API the route table gives an id (after [`catalog::normalize`]); `None` when the table
/// does not know its family. The configuration still overrides it field by field.
pub fn infer_api(id: &str) -> Option<Api> {
    catalog::known_route(&catalog::normalize(id).id).map(|r| r.api)
}

/// The route of a model known only by its id: what [`infer_api`] says, else `fallback`.
pub fn default_api(id: &str, fallback: Api) -> Api {
    infer_api(id).unwrap_or(fallback)
}

/// A model known only by its id, with the discovery defaults: `name = id`, text input,
/// [`DEFAULT_CONTEXT_WINDOW`], [`DEFAULT_MAX_TOKENS`], the built-in price
/// ([`crate::cost::builtin`]), reasoning by
/// [`infer_reasoning`], route by [`default_api`] with `fallback`.
pub fn model_with_defaults(id: &str, fallback: Api, source: ModelSource) -> Model {
    Model {
        id: id.to_owned(),
        name: id.to_owned(),
        api: default_api(id, fallback),
        reasoning: infer_reasoning(id),
        input: vec![Modality::Text],
        cost: crate::cost::builtin(id),
        context_window: DEFAULT_CONTEXT_WINDOW,
        max_tokens: DEFAULT_MAX_TOKENS,
        source,
        created: None,
    }
}
