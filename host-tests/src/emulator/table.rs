//! The emulator's route table, read from `host-tests/emulator/models.json5` (and the captured
//! us-east-2 listing, `fixtures/mantle/models-us-east-2.json`) in this one place: which prefix
//! and APIs serve each model, how it answers elsewhere, its context window, its input
//! modalities, where its reasoning goes, the name the Anthropic route answers with, and the
//! listing of each region. The file's head comment documents every field.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The table's text.
const MODELS_JSON5: &str = include_str!("../../emulator/models.json5");
/// The captured `GET /v1/models` of us-east-2 (MODELS-1).
const CAPTURED_LISTING: &str = include_str!("../../../fixtures/mantle/models-us-east-2.json");

/// A model of the table that no capture shows: one that arrived after them, served on
/// `/openai/v1` as Gemma 4 is (401 "Berm" on `/v1`), and listed by no region. A gateway's
/// route table cannot know it; tests list it to see what the gateway does then.
pub const ARRIVED_THIS_MONTH: &str = "google.gemma-5-12b";

/// A path prefix of Mantle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum Prefix {
    /// `/v1`: the open models and gpt-oss.
    #[serde(rename = "/v1")]
    V1,
    /// `/openai/v1`: GPT-5.x, Gemma 4, grok.
    #[serde(rename = "/openai/v1")]
    OpenAi,
    /// `/anthropic`: Claude.
    #[serde(rename = "/anthropic")]
    Anthropic,
}

impl Prefix {
    /// The prefix as written in paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Prefix::V1 => "/v1",
            Prefix::OpenAi => "/openai/v1",
            Prefix::Anthropic => "/anthropic",
        }
    }
}

/// An API Mantle serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Api {
    /// OpenAI chat completions, `…/chat/completions`.
    Chat,
    /// OpenAI Responses, `…/responses`.
    Responses,
    /// Anthropic Messages, `/anthropic/v1/messages` (and `…/count_tokens`).
    Messages,
}

impl Api {
    /// The API as Mantle names it in its "does not support the '…' API" answers (ERR-1): the
    /// path under `/v1` for the OpenAI APIs, whatever the prefix.
    pub fn path(self) -> &'static str {
        match self {
            Api::Chat => "/v1/chat/completions",
            Api::Responses => "/v1/responses",
            Api::Messages => "/anthropic/v1/messages",
        }
    }
}

/// How a model answers on a prefix that does not serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Elsewhere {
    /// 400 validation_error "The model 'X' does not support the 'PATH' API" (ERR-1).
    UnsupportedApi,
    /// 400 "model `X` isn't supported on this route" (FACTS).
    NotOnRoute,
    /// 401 access_denied "Berm is not enabled for this account" (ERR-3).
    Berm,
}

/// Where chat completions put a model's reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatReasoning {
    /// `message.reasoning` / `delta.reasoning` (gpt-oss).
    Reasoning,
    /// `message.reasoning_content` / `delta.reasoning_content`.
    ReasoningContent,
    /// In the content, between `<think>` and `</think>`.
    Inline,
    /// The model does not reason in chat answers.
    None,
}

impl ChatReasoning {
    /// The field name, when the reasoning has a field of its own.
    pub fn field(self) -> Option<&'static str> {
        match self {
            ChatReasoning::Reasoning => Some("reasoning"),
            ChatReasoning::ReasoningContent => Some("reasoning_content"),
            ChatReasoning::Inline | ChatReasoning::None => None,
        }
    }
}

/// The reasoning item of a model's Responses answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponsesReasoning {
    /// `content: [{type: "reasoning_text", text}]`, `reasoning_tokens: 0` (gpt-oss, RESP-1).
    Text,
    /// `encrypted_content` with an empty `summary`, `reasoning_tokens > 0` (GPT-5.x).
    Encrypted,
    /// No reasoning item.
    None,
}

/// An input modality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Text.
    Text,
    /// Images.
    Image,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FamilyRow {
    prefix: Prefix,
    apis: Vec<Api>,
    elsewhere: BTreeMap<Prefix, Elsewhere>,
    context_window: u64,
    input: Vec<Modality>,
    chat_reasoning: ChatReasoning,
    responses_reasoning: ResponsesReasoning,
    #[serde(default)]
    guessed: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ModelRow {
    id: String,
    family: String,
    context_window: Option<u64>,
    input: Option<Vec<Modality>>,
    chat_reasoning: Option<ChatReasoning>,
    responses_reasoning: Option<ResponsesReasoning>,
    answers_as: Option<String>,
    created: Option<u64>,
    #[serde(default)]
    guessed: Vec<String>,
    #[serde(default)]
    observed: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListingRow {
    plus: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    families: BTreeMap<String, FamilyRow>,
    unknown_listed: String,
    never_served: Vec<String>,
    models: Vec<ModelRow>,
    listings: BTreeMap<String, ListingRow>,
}

#[derive(Debug, Deserialize)]
struct CapturedListing {
    data: Vec<CapturedModel>,
}

#[derive(Debug, Deserialize)]
struct CapturedModel {
    id: String,
    created: u64,
}

/// One model as the emulator serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// Its id, as listed.
    pub id: String,
    /// The family of its row (`unknownListed`'s for an id the table does not know).
    pub family: String,
    /// Whether the table has a row for it.
    pub known: bool,
    /// The prefix that serves it.
    pub prefix: Prefix,
    /// The APIs served there.
    pub apis: Vec<Api>,
    /// How it answers on the other prefixes.
    pub elsewhere: BTreeMap<Prefix, Elsewhere>,
    /// Its prompt-token maximum.
    pub context_window: u64,
    /// Whether it takes images.
    pub image_input: bool,
    /// Where its chat reasoning goes.
    pub chat_reasoning: ChatReasoning,
    /// Its Responses reasoning item.
    pub responses_reasoning: ResponsesReasoning,
    /// The name the Anthropic route answers with; `None`: the id.
    pub answers_as: Option<String>,
    /// Its `created` in listings.
    pub created: u64,
    /// The fields whose values are guesses.
    pub guessed: Vec<String>,
}

/// How a model answers on a prefix and API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Served.
    Serve,
    /// Refused, in this way.
    Refuse(Elsewhere),
}

impl Model {
    /// How it answers a request for `api` under `prefix`.
    pub fn verdict(&self, prefix: Prefix, api: Api) -> Verdict {
        if prefix == self.prefix {
            if self.apis.contains(&api) {
                Verdict::Serve
            } else {
                Verdict::Refuse(Elsewhere::UnsupportedApi)
            }
        } else {
            Verdict::Refuse(
                self.elsewhere
                    .get(&prefix)
                    .copied()
                    .unwrap_or(Elsewhere::UnsupportedApi),
            )
        }
    }

    /// The name its answers carry in `model`: the dated name on the Anthropic route, the id
    /// elsewhere.
    pub fn answer_name(&self) -> &str {
        self.answers_as.as_deref().unwrap_or(&self.id)
    }
}

/// The whole table.
#[derive(Debug)]
pub struct Table {
    models: BTreeMap<String, Model>,
    unknown: Model,
    never_served: Vec<String>,
    captured: Vec<String>,
    listings: BTreeMap<String, Vec<String>>,
}

/// Why the table could not be read (a fault of the files, caught by the unit tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError(pub String);

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the emulator's route table: {}", self.0)
    }
}

impl std::error::Error for TableError {}

/// Created time of a listed id unknown to the table.
const UNKNOWN_CREATED: u64 = 1_764_460_800;

fn build(family_name: &str, family: &FamilyRow, row: Option<&ModelRow>, created: u64) -> Model {
    let mut guessed = family.guessed.clone();
    if let Some(row) = row {
        guessed.extend(row.guessed.iter().cloned());
        guessed.retain(|g| !row.observed.contains(g));
    }
    guessed.sort();
    guessed.dedup();
    let input = row
        .and_then(|r| r.input.clone())
        .unwrap_or_else(|| family.input.clone());
    Model {
        id: row.map(|r| r.id.clone()).unwrap_or_default(),
        family: family_name.to_owned(),
        known: row.is_some(),
        prefix: family.prefix,
        apis: family.apis.clone(),
        elsewhere: family.elsewhere.clone(),
        context_window: row
            .and_then(|r| r.context_window)
            .unwrap_or(family.context_window),
        image_input: input.contains(&Modality::Image),
        chat_reasoning: row
            .and_then(|r| r.chat_reasoning)
            .unwrap_or(family.chat_reasoning),
        responses_reasoning: row
            .and_then(|r| r.responses_reasoning)
            .unwrap_or(family.responses_reasoning),
        answers_as: row.and_then(|r| r.answers_as.clone()),
        created,
        guessed,
    }
}

fn parse() -> Result<Table, TableError> {
    let file: File = json5::from_str(MODELS_JSON5)
        .map_err(|e| TableError(format!("models.json5 does not parse: {e}")))?;
    let captured: CapturedListing = serde_json::from_str(CAPTURED_LISTING)
        .map_err(|e| TableError(format!("models-us-east-2.json does not parse: {e}")))?;
    let family = |name: &str| {
        file.families
            .get(name)
            .ok_or_else(|| TableError(format!("no family {name:?}")))
    };
    let mut models = BTreeMap::new();
    for row in &file.models {
        let created = captured
            .data
            .iter()
            .find(|m| m.id == row.id)
            .map(|m| m.created)
            .or(row.created)
            .ok_or_else(|| TableError(format!("{}: no created time", row.id)))?;
        let model = build(&row.family, family(&row.family)?, Some(row), created);
        if models.insert(row.id.clone(), model).is_some() {
            return Err(TableError(format!("{} is listed twice", row.id)));
        }
    }
    let unknown = build(
        &file.unknown_listed,
        family(&file.unknown_listed)?,
        None,
        UNKNOWN_CREATED,
    );
    let captured: Vec<String> = captured.data.into_iter().map(|m| m.id).collect();
    let mut listings = BTreeMap::new();
    for (region, listing) in file.listings {
        let mut ids = captured.clone();
        ids.extend(listing.plus);
        listings.insert(region, ids);
    }
    for id in listings.values().flatten().chain(&captured) {
        if !models.contains_key(id) {
            return Err(TableError(format!("{id} is listed but has no row")));
        }
    }
    Ok(Table {
        models,
        unknown,
        never_served: file.never_served,
        captured,
        listings,
    })
}

/// Whether `id` matches `pattern`, where `*` stands for any text.
fn matches(pattern: &str, id: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = id.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

impl Table {
    /// The table, read once.
    pub fn get() -> Result<&'static Table, TableError> {
        static TABLE: OnceLock<Result<Table, TableError>> = OnceLock::new();
        TABLE.get_or_init(parse).as_ref().map_err(Clone::clone)
    }

    /// The row of `id`, if the table has one.
    pub fn model(&self, id: &str) -> Option<&Model> {
        self.models.get(id)
    }

    /// Every model of the table, by id.
    pub fn models(&self) -> impl Iterator<Item = &Model> {
        self.models.values()
    }

    /// `id` as served when it is listed: its row, or the `unknownListed` family's.
    pub fn resolve(&self, id: &str) -> Model {
        self.models.get(id).cloned().unwrap_or_else(|| Model {
            id: id.to_owned(),
            ..self.unknown.clone()
        })
    }

    /// Whether Mantle never serves `id`, listed or not (`neverServed`).
    pub fn never_served(&self, id: &str) -> bool {
        self.never_served.iter().any(|p| matches(p, id))
    }

    /// The ids `GET /v1/models` lists in `region`: the captured us-east-2 listing, with the
    /// region's additions.
    pub fn listing(&self, region: &str) -> Vec<String> {
        self.listings
            .get(region)
            .cloned()
            .unwrap_or_else(|| self.captured.clone())
    }

    /// The `created` a listing shows for `id`.
    pub fn created(&self, id: &str) -> u64 {
        self.models.get(id).map_or(UNKNOWN_CREATED, |m| m.created)
    }
}

/// `id` as served when listed, from the table; an open `/v1` chat model if the table could not
/// be read (the emulator does not start then, so only bodies built outside it see this).
pub fn resolve(id: &str) -> Model {
    match Table::get() {
        Ok(table) => table.resolve(id),
        Err(_) => Model {
            id: id.to_owned(),
            family: "open-v1".into(),
            known: false,
            prefix: Prefix::V1,
            apis: vec![Api::Chat],
            elsewhere: BTreeMap::new(),
            context_window: 131_072,
            image_input: false,
            chat_reasoning: ChatReasoning::None,
            responses_reasoning: ResponsesReasoning::None,
            answers_as: None,
            created: UNKNOWN_CREATED,
            guessed: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> &'static Table {
        Table::get().unwrap()
    }

    #[test]
    fn the_table_reads_and_every_captured_model_has_a_row_on_v1() {
        let t = table();
        let captured = t.listing("us-east-2");
        assert_eq!(captured.len(), 38);
        assert_eq!(captured[0], "qwen.qwen3-235b-a22b-2507");
        for id in &captured {
            let m = t.model(id).unwrap();
            assert_eq!(m.prefix, Prefix::V1, "{id}");
            assert!(m.apis.contains(&Api::Chat), "{id}");
        }
        assert_eq!(t.created("zai.glm-5"), 1_771_770_206);
        assert_eq!(t.listing("eu-west-1"), captured);
    }

    #[test]
    fn us_east_1_lists_the_openai_and_anthropic_models_too() {
        let listing = table().listing("us-east-1");
        assert_eq!(listing.len(), 38 + 14);
        for id in [
            "openai.gpt-5.5",
            "google.gemma-4-31b",
            "xai.grok-4.3",
            "anthropic.claude-opus-4-7",
            "anthropic.claude-sonnet-4-6",
        ] {
            assert!(listing.iter().any(|l| l == id), "{id}");
        }
    }

    #[test]
    fn routes_are_as_observed() {
        let t = table();
        let v = |id: &str, prefix, api| t.resolve(id).verdict(prefix, api);
        use Elsewhere::*;
        use Verdict::*;
        assert_eq!(v("openai.gpt-oss-120b", Prefix::V1, Api::Chat), Serve);
        assert_eq!(v("openai.gpt-oss-120b", Prefix::V1, Api::Responses), Serve);
        // ERR-1.
        assert_eq!(
            v("openai.gpt-oss-safeguard-120b", Prefix::V1, Api::Responses),
            Refuse(UnsupportedApi)
        );
        assert_eq!(
            v("anthropic.claude-opus-4-7", Prefix::V1, Api::Chat),
            Refuse(UnsupportedApi)
        );
        assert_eq!(
            v("anthropic.claude-opus-4-7", Prefix::OpenAi, Api::Responses),
            Refuse(UnsupportedApi)
        );
        assert_eq!(
            v("deepseek.v3.2", Prefix::Anthropic, Api::Messages),
            Refuse(UnsupportedApi)
        );
        assert_eq!(
            v("openai.gpt-5.6-terra", Prefix::OpenAi, Api::Chat),
            Refuse(UnsupportedApi)
        );
        // ERR-3.
        for id in ["google.gemma-4-31b", "xai.grok-4.3", "openai.gpt-5.4"] {
            assert_eq!(v(id, Prefix::V1, Api::Chat), Refuse(Berm), "{id}");
            assert_eq!(v(id, Prefix::V1, Api::Responses), Refuse(Berm), "{id}");
        }
        assert_eq!(v("google.gemma-4-31b", Prefix::OpenAi, Api::Chat), Serve);
        // A model that arrived after the captures, served as Gemma 4 is, listed nowhere.
        assert_eq!(v(ARRIVED_THIS_MONTH, Prefix::V1, Api::Chat), Refuse(Berm));
        assert_eq!(v(ARRIVED_THIS_MONTH, Prefix::OpenAi, Api::Chat), Serve);
        for region in ["us-east-1", "us-east-2"] {
            assert!(!t.listing(region).iter().any(|l| l == ARRIVED_THIS_MONTH));
        }
        assert_eq!(v("openai.gpt-5.4", Prefix::OpenAi, Api::Responses), Serve);
        assert_eq!(
            v(
                "anthropic.claude-haiku-4-5",
                Prefix::Anthropic,
                Api::Messages
            ),
            Serve
        );
        assert_eq!(
            v("deepseek.v3.2", Prefix::OpenAi, Api::Chat),
            Refuse(NotOnRoute)
        );
    }

    #[test]
    fn catalog_ids_only() {
        let t = table();
        for id in [
            "claude-opus-4.7",
            "claude-opus-4-7",
            "us.anthropic.claude-sonnet-4-6",
            "global.anthropic.claude-opus-4-7",
            "eu.openai.gpt-oss-120b",
            "apac.x",
            "anthropic.claude-opus-4-7-v1:0",
        ] {
            assert!(t.never_served(id), "{id}");
        }
        for id in [
            "anthropic.claude-opus-4-7",
            "openai.gpt-oss-120b",
            "x.claude-1",
        ] {
            assert!(!t.never_served(id), "{id}");
        }
        assert!(matches("a*b*c", "aXbYc") && !matches("a*b*c", "aXbY") && matches("*", ""));
    }

    #[test]
    fn what_the_captures_show_is_not_marked_guessed() {
        let t = table();
        let m = t.model("anthropic.claude-opus-4-7").unwrap();
        assert_eq!(m.answer_name(), "claude-opus-4-7-20250929");
        assert!(!m.guessed.contains(&"answersAs".to_owned()));
        let m = t.model("anthropic.claude-sonnet-5").unwrap();
        assert!(m.guessed.contains(&"answersAs".to_owned()));
        let m = t.model("openai.gpt-5.5").unwrap();
        assert_eq!(m.context_window, 278_528);
        assert!(!m.guessed.contains(&"contextWindow".to_owned()));
        assert_eq!(t.model("zai.glm-5").unwrap().context_window, 202_752);
        assert!(
            t.model("deepseek.v3.2")
                .unwrap()
                .guessed
                .contains(&"contextWindow".to_owned())
        );
        assert_eq!(
            t.model("openai.gpt-oss-20b").unwrap().chat_reasoning,
            ChatReasoning::Reasoning
        );
        let unknown = t.resolve("some.new-model");
        assert!(!unknown.known);
        assert_eq!(unknown.prefix, Prefix::V1);
    }
}
