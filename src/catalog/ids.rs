//! Model ids as Mantle knows them, and where Mantle serves each family of models.
//!
//! Two facts about Mantle that nothing in its `GET /v1/models` answer says (FACTS, "Mantle as
//! it was seen to answer"):
//!
//! - **Ids are bare catalog ids**: `anthropic.claude-opus-4-7`, `openai.gpt-oss-120b`. The
//!   forms users bring from elsewhere (`claude-opus-4.7` from Genesis configurations,
//!   `us.anthropic.claude-…` and `…-v1:0` from bedrock-runtime) are 404s there. [`normalize`]
//!   turns what a user typed into the id Mantle serves, and [`resolve`] picks the id a listing
//!   has; this is the one place where that happens.
//! - **Three path prefixes**: `/v1`, `/openai/v1` and `/anthropic`, each serving its own
//!   models. [`ROUTES`] says which API under which prefix serves each known family; it is the
//!   one place routes are known, kept as data, and read only through [`known_route`]. For ids
//!   it does not know, a wrong-prefix answer ([`misroute`]) earns one retry on the other
//!   prefix, or on the API that serves the model (the client does that, and remembers what
//!   worked).

use crate::catalog::base_url::BaseUrl;
use crate::error::Error;
use crate::model::{Api, model_id};

/// A path prefix Mantle serves models under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// `/v1`: the open models and gpt-oss (the configured `baseUrl` itself).
    V1,
    /// `/openai/v1`: GPT-5.x, Gemma 4, grok.
    OpenaiV1,
    /// `/anthropic`: Claude.
    Anthropic,
}

impl Prefix {
    /// Every prefix.
    pub const ALL: [Prefix; 3] = [Prefix::V1, Prefix::OpenaiV1, Prefix::Anthropic];

    /// The prefix as a path: `/v1`, `/openai/v1` or `/anthropic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Prefix::V1 => "/v1",
            Prefix::OpenaiV1 => "/openai/v1",
            Prefix::Anthropic => "/anthropic",
        }
    }

    /// Parses [`Prefix::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<Prefix> {
        Prefix::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// This prefix on the host of `base`, the configured `baseUrl` (whose trailing `/v1` is
    /// the `/v1` prefix).
    pub fn base(self, base: &BaseUrl) -> BaseUrl {
        match self {
            Prefix::V1 => base.clone(),
            Prefix::OpenaiV1 => base.openai(),
            Prefix::Anthropic => base.anthropic(),
        }
    }

    /// The prefix an API goes under when nothing else says: the Anthropic route under
    /// `/anthropic`, the OpenAI APIs under `/v1`.
    pub fn default_for(api: Api) -> Prefix {
        match api {
            Api::AnthropicMessages => Prefix::Anthropic,
            Api::OpenaiCompletions | Api::OpenaiResponses => Prefix::V1,
        }
    }
}

/// Where a request for a model goes: an API under a path prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The wire protocol.
    pub api: Api,
    /// The path prefix.
    pub prefix: Prefix,
}

impl Route {
    /// The request path below the base of [`Route::prefix`]: `/chat/completions`,
    /// `/responses` or `/v1/messages`.
    pub fn path(self) -> &'static str {
        match self.api {
            Api::OpenaiCompletions => "/chat/completions",
            Api::OpenaiResponses => "/responses",
            Api::AnthropicMessages => "/v1/messages",
        }
    }

    /// `/openai/v1/responses` and the like, for messages.
    pub fn describe(self) -> String {
        format!("{}{}", self.prefix.as_str(), self.path())
    }
}

/// A family of models: the ids that start with `ids` (case-insensitive), and where Mantle
/// serves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// The start of every id of the family, lowercase (`openai.gpt-5`).
    pub ids: &'static str,
    /// The API the provider speaks to the family.
    pub api: Api,
    /// Where the family is served.
    pub prefix: Prefix,
}

const fn family(ids: &'static str, api: Api, prefix: Prefix) -> Family {
    Family { ids, api, prefix }
}

use Api::{AnthropicMessages as Messages, OpenaiCompletions as Chat, OpenaiResponses as Responses};
use Prefix::{Anthropic, OpenaiV1, V1};

/// The route table: each family of models Mantle was seen to serve, with the API and prefix
/// that serve it (FACTS, "Three path prefixes"). The longest matching `ids` wins, so order
/// does not matter. Chat completions is the API for every family that has it (it is what
/// every model on `/v1` and `/openai/v1` answers, but GPT-5.x, which answers Responses only).
pub const ROUTES: &[Family] = &[
    // Claude, and anything else Anthropic's: the Messages route only.
    family("anthropic.", Messages, Anthropic),
    // gpt-oss: chat completions (and Responses) on /v1.
    family("openai.gpt-oss", Chat, V1),
    // GPT-5.x: Responses only, on /openai/v1.
    family("openai.gpt-5", Responses, OpenaiV1),
    // Gemma 4 and grok live on /openai/v1 (on /v1 Mantle answers 401 "Berm is not enabled").
    family("google.gemma-4", Chat, OpenaiV1),
    family("xai.grok", Chat, OpenaiV1),
    // The open models on /v1.
    family("google.gemma-3", Chat, V1),
    family("qwen.", Chat, V1),
    family("deepseek.", Chat, V1),
    family("mistral.", Chat, V1),
    family("nvidia.", Chat, V1),
    family("minimax.", Chat, V1),
    family("moonshotai.", Chat, V1),
    family("zai.", Chat, V1),
    family("writer.", Chat, V1),
];

/// The family of a catalog id in [`ROUTES`], if the table knows it.
fn family_of(id: &str) -> Option<&'static Family> {
    ROUTES
        .iter()
        .filter(|f| {
            id.get(..f.ids.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(f.ids))
        })
        .max_by_key(|f| f.ids.len())
}

/// Where [`ROUTES`] says the model of this catalog id is served; `None` for an id no family
/// of the table covers.
pub fn known_route(id: &str) -> Option<Route> {
    family_of(id).map(|f| Route {
        api: f.api,
        prefix: f.prefix,
    })
}

/// Prefixes of Bedrock inference-profile ids (`us.anthropic.claude-…`), which Mantle does not
/// take.
pub const PROFILE_PREFIXES: [&str; 8] = ["us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"];

/// What a user typed, as the id Mantle serves, and what was changed to get there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The catalog id.
    pub id: String,
    /// One line per change worth telling the user (a profile prefix or a runtime suffix
    /// removed, a dated name shortened); the alias forms of Claude ids are taken silently.
    pub notes: Vec<String>,
}

/// The catalog id of a model reference:
///
/// 1. `amazon-bedrock-mantle/<id>` is `<id>` ([`model_id`]);
/// 2. an inference-profile prefix ([`PROFILE_PREFIXES`]: `us.`, `eu.`, `apac.`, `global.`, …)
///    is removed, with a note;
/// 3. a bedrock-runtime version suffix (`-v1:0`, `:0`) is removed, with a note;
/// 4. a Claude id becomes Mantle's form: `claude-<name>-<major>.<minor>` and
///    `claude-<name>-<major>-<minor>` (any name, any version) become
///    `anthropic.claude-<name>-<major>-<minor>`, lowercase; a first-party dated name
///    (`claude-opus-4-7-20250929`) loses its date, with a note.
///
/// Any other id is returned as it was typed.
pub fn normalize(reference: &str) -> Normalized {
    let typed = model_id(reference);
    let mut id = typed.to_owned();
    let mut notes = Vec::new();
    if let Some((first, rest)) = id.split_once('.')
        && PROFILE_PREFIXES
            .iter()
            .any(|p| p.eq_ignore_ascii_case(first))
        && rest.contains('.')
    {
        notes.push(format!(
            "model {typed:?}: the inference-profile prefix \"{first}.\" was removed, Mantle ids carry none"
        ));
        id = rest.to_owned();
    }
    if let Some(cut) = runtime_suffix(&id) {
        notes.push(format!(
            "model {typed:?}: the version suffix {:?} was removed, Mantle ids carry none",
            &id[cut..]
        ));
        id.truncate(cut);
    }
    let lower = id.to_ascii_lowercase();
    let claude = if lower.starts_with("claude-") {
        Some(format!("anthropic.{lower}"))
    } else if lower.starts_with("anthropic.claude") {
        Some(lower)
    } else {
        None
    };
    if let Some(claude) = claude {
        let (vendor, name) = claude.split_at("anthropic.".len());
        let mut name = dots_between_digits_to_dashes(name);
        if let Some(cut) = date_suffix(&name) {
            notes.push(format!(
                "model {typed:?}: the date {:?} was removed, Mantle names Claude models without one",
                &name[cut + 1..]
            ));
            name.truncate(cut);
        }
        id = format!("{vendor}{name}");
    }
    Normalized { id, notes }
}

/// Where a bedrock-runtime version suffix starts: `-v<digits>:<digits>` or `:<digits>` at the
/// end of the id.
fn runtime_suffix(id: &str) -> Option<usize> {
    let (head, minor) = id.rsplit_once(':')?;
    if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match head.rsplit_once("-v") {
        Some((name, major))
            if !name.is_empty()
                && !major.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(name.len())
        }
        _ if !head.is_empty() => Some(head.len()),
        _ => None,
    }
}

/// `opus-4.7` → `opus-4-7`: a dot with a digit on each side becomes a dash.
fn dots_between_digits_to_dashes(name: &str) -> String {
    let bytes = name.as_bytes();
    name.char_indices()
        .map(|(i, c)| {
            let digit_at = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_digit);
            if c == '.' && i > 0 && digit_at(i - 1) && digit_at(i + 1) {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// Where a `-YYYYMMDD` date suffix starts (the dash), if the name ends with one.
fn date_suffix(name: &str) -> Option<usize> {
    let (head, date) = name.rsplit_once('-')?;
    (date.len() == 8 && date.starts_with("20") && date.bytes().all(|b| b.is_ascii_digit()))
        .then_some(head.len())
        .filter(|_| !head.is_empty())
}

/// How a model reference resolved against the ids a listing has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The id to send to Mantle.
    pub id: String,
    /// Whether the listing has that id.
    pub listed: bool,
    /// What was changed to get there, for the host's log.
    pub notes: Vec<String>,
}

/// The id to send for `reference`, given the ids a listing has (`listed`, in any order):
///
/// 1. the reference itself (without `amazon-bedrock-mantle/`), when the listing has it: an
///    id the listing has is sent exactly as listed;
/// 2. else its [`normalize`]d form, when the listing has that;
/// 3. else, for an id without a vendor part (`gpt-oss-120b`), the one listed id that is
///    `<vendor>.<id>`, if exactly one is;
/// 4. else the normalized form, not listed.
pub fn resolve(reference: &str, listed: &[&str]) -> Resolution {
    let bare = model_id(reference);
    if listed.contains(&bare) {
        return Resolution {
            id: bare.to_owned(),
            listed: true,
            notes: Vec::new(),
        };
    }
    let Normalized { id, mut notes } = normalize(reference);
    if listed.contains(&id.as_str()) {
        return Resolution {
            id,
            listed: true,
            notes,
        };
    }
    if vendor_of(&id).is_none() {
        let mut found = listed.iter().filter(|l| {
            l.strip_suffix(id.as_str())
                .and_then(|v| v.strip_suffix('.'))
                .is_some_and(is_vendor)
        });
        if let (Some(only), None) = (found.next(), found.next()) {
            notes.push(format!(
                "model {bare:?} names no vendor: Mantle serves it as {only:?}"
            ));
            return Resolution {
                id: (*only).to_owned(),
                listed: true,
                notes,
            };
        }
    }
    Resolution {
        id,
        listed: false,
        notes,
    }
}

/// Whether `part` is a vendor: a plain lowercase word (`openai`, `moonshotai`).
fn is_vendor(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The vendor part of a catalog id (`openai` of `openai.gpt-oss-120b`), if it has one.
pub fn vendor_of(id: &str) -> Option<&str> {
    id.split_once('.').map(|(v, _)| v).filter(|v| is_vendor(v))
}

/// The most ids a not-found message names.
const NAMED_MAX: usize = 12;

/// The models a not-found message offers instead of `id`: the Claude models the listing has
/// for a Claude id, the same vendor's for another id with a vendor the listing knows, else
/// all; sorted, at most 12 named, then how many more.
pub fn alternatives(id: &str, listed: &[&str]) -> String {
    let vendor = vendor_of(id);
    let same_vendor = |l: &&&str| vendor.is_some() && vendor_of(l) == vendor;
    let mut picked: Vec<&str> = listed.iter().filter(same_vendor).copied().collect();
    let whose = match vendor {
        _ if picked.is_empty() => {
            picked = listed.to_vec();
            "models".to_owned()
        }
        Some("anthropic") => "Claude models".to_owned(),
        Some(v) => format!("{v} models"),
        None => "models".to_owned(),
    };
    picked.sort_unstable();
    picked.dedup();
    if picked.is_empty() {
        return "it lists no models".to_owned();
    }
    let shown = picked.len().min(NAMED_MAX);
    let mut text = format!("{whose} it lists: {}", picked[..shown].join(", "));
    if picked.len() > shown {
        text.push_str(&format!(" and {} more", picked.len() - shown));
    }
    text
}

/// The error for a model the listing lacks, asked for as `reference` (sent as `id`): a
/// [`Error::ModelNotFound`] naming what the listing has instead, so nothing is asked of Mantle.
pub fn not_listed(reference: &str, id: &str, listed: &[&str]) -> Error {
    let bare = model_id(reference);
    let sent_as = if bare == id {
        String::new()
    } else {
        format!(" (Mantle's id: {id})")
    };
    Error::ModelNotFound(format!(
        "model {bare:?}{sent_as} is not served here; {} (GET /v1/models)",
        alternatives(id, listed)
    ))
}

/// What a refusal says about the route it came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misroute {
    /// The model lives under another path prefix: 401 "Berm is not enabled for this
    /// account" (Gemma 4, grok, GPT-5.x under `/v1`; 403 is read the same), or 400/404
    /// "model `X` isn't supported on this route".
    Prefix,
    /// The model does not answer this API: 400 "The model 'X' does not support the
    /// '/v1/chat/completions' API".
    Api,
}

/// Whether a refusal (`status` and the upstream's own message `said`) is Mantle saying the
/// model is served elsewhere, and how: the one reading of a wrong-route answer, used both by
/// routing (which tries the other route) and by the error policy (which makes it
/// [`crate::error::Error::WrongRoute`]). Only the answers FACTS records are read so: a 401 or
/// 403 other than "Berm is not enabled" (a bad or expired token, a model the account may not
/// use) never is, nor a wrong-route wording at a status Mantle was not seen to give it.
pub fn misroute(status: u16, said: &str) -> Option<Misroute> {
    let m = said.to_ascii_lowercase();
    match status {
        401 | 403 if m.contains("berm is not enabled") => Some(Misroute::Prefix),
        400 | 404
            if m.contains("isn't supported on this route")
                || m.contains("is not supported on this route") =>
        {
            Some(Misroute::Prefix)
        }
        400 | 404
            if m.contains("does not support the '")
                && m.contains("' api")
                && ["/chat/completions", "/messages", "/responses"]
                    .iter()
                    .any(|r| m.contains(r)) =>
        {
            Some(Misroute::Api)
        }
        _ => None,
    }
}

/// Whether a 401 says a short-term token is past its time (`Signature expired: …`), which a
/// freshly minted token mends.
pub fn is_signature_expired(status: u16, said: &str) -> bool {
    status == 401 && said.to_ascii_lowercase().contains("signature expired")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_forms_become_the_catalog_id() {
        for typed in [
            "claude-opus-4.7",
            "claude-opus-4-7",
            "amazon-bedrock-mantle/claude-opus-4.7",
            "amazon-bedrock-mantle/claude-opus-4-7",
            "anthropic.claude-opus-4.7",
            "anthropic.claude-opus-4-7",
            "Claude-Opus-4.7",
        ] {
            let n = normalize(typed);
            assert_eq!(n.id, "anthropic.claude-opus-4-7", "{typed}");
            assert!(n.notes.is_empty(), "{typed}: {:?}", n.notes);
        }
        // Any name, any version: the rule is not a list of one.
        for (typed, want) in [
            ("claude-haiku-4.5", "anthropic.claude-haiku-4-5"),
            ("claude-sonnet-5", "anthropic.claude-sonnet-5"),
            ("claude-sonnet-4.6", "anthropic.claude-sonnet-4-6"),
            ("claude-mythos-preview", "anthropic.claude-mythos-preview"),
            ("claude-fable-12.30", "anthropic.claude-fable-12-30"),
            ("claude-3.5-sonnet", "anthropic.claude-3-5-sonnet"),
        ] {
            assert_eq!(normalize(typed).id, want, "{typed}");
        }
    }

    #[test]
    fn profile_prefixes_suffixes_and_dates_go_with_a_note() {
        for (typed, want, words) in [
            (
                "us.anthropic.claude-sonnet-4-6",
                "anthropic.claude-sonnet-4-6",
                "\"us.\"",
            ),
            (
                "global.anthropic.claude-opus-4-7",
                "anthropic.claude-opus-4-7",
                "\"global.\"",
            ),
            (
                "eu.anthropic.claude-haiku-4-5",
                "anthropic.claude-haiku-4-5",
                "\"eu.\"",
            ),
            ("apac.amazon.nova-pro", "amazon.nova-pro", "\"apac.\""),
            ("us.openai.gpt-5.4", "openai.gpt-5.4", "\"us.\""),
            ("qwen.qwen3-32b-v1:0", "qwen.qwen3-32b", "\"-v1:0\""),
            ("deepseek.v3-v1:0", "deepseek.v3", "\"-v1:0\""),
            ("openai.gpt-oss-120b-1:0", "openai.gpt-oss-120b-1", "\":0\""),
            (
                "claude-opus-4-7-20250929",
                "anthropic.claude-opus-4-7",
                "\"20250929\"",
            ),
        ] {
            let n = normalize(typed);
            assert_eq!(n.id, want, "{typed}");
            assert_eq!(n.notes.len(), 1, "{typed}: {:?}", n.notes);
            assert!(n.notes[0].contains(words), "{typed}: {:?}", n.notes);
            assert!(n.notes[0].contains(typed), "{typed}: {:?}", n.notes);
        }
        let n = normalize("us.anthropic.claude-sonnet-4-20250514-v1:0");
        assert_eq!(n.id, "anthropic.claude-sonnet-4");
        assert_eq!(n.notes.len(), 3, "{:?}", n.notes);
    }

    #[test]
    fn other_ids_are_left_as_typed() {
        for id in [
            "openai.gpt-oss-120b",
            "deepseek.v3.2",
            "moonshotai.kimi-k2.5",
            "zai.glm-4.7",
            "google.gemma-4-31b",
            "xai.grok-4.3",
            "openai.gpt-5.6-terra",
            "amazon.titan-embed-text-v1",
            "my-claude-clone",
            "us",
            "us.model",
        ] {
            let n = normalize(id);
            assert_eq!(n.id, id);
            assert!(n.notes.is_empty(), "{id}: {:?}", n.notes);
        }
    }

    #[test]
    fn a_listed_id_is_sent_exactly_as_listed() {
        let listed = ["claude-opus-4.7", "openai.gpt-oss-120b"];
        let r = resolve("claude-opus-4.7", &listed);
        assert_eq!((r.id.as_str(), r.listed), ("claude-opus-4.7", true));
        let r = resolve("amazon-bedrock-mantle/claude-opus-4.7", &listed);
        assert_eq!(r.id, "claude-opus-4.7");
        // The catalog id, when that is what the listing has.
        let listed = ["anthropic.claude-opus-4-7", "openai.gpt-oss-120b"];
        for typed in [
            "claude-opus-4.7",
            "claude-opus-4-7",
            "anthropic.claude-opus-4-7",
        ] {
            let r = resolve(typed, &listed);
            assert_eq!(
                (r.id.as_str(), r.listed),
                ("anthropic.claude-opus-4-7", true)
            );
        }
        // A vendorless id the listing has under exactly one vendor.
        let r = resolve("gpt-oss-120b", &listed);
        assert_eq!((r.id.as_str(), r.listed), ("openai.gpt-oss-120b", true));
        assert!(r.notes[0].contains("names no vendor"), "{:?}", r.notes);
        let r = resolve(
            "gpt-oss-120b",
            &["openai.gpt-oss-120b", "other.gpt-oss-120b"],
        );
        assert!(!r.listed, "ambiguous: {r:?}");
        // Unlisted: the normalized form, unlisted.
        let r = resolve("us.anthropic.claude-opus-4-9", &listed);
        assert_eq!(
            (r.id.as_str(), r.listed),
            ("anthropic.claude-opus-4-9", false)
        );
        assert_eq!(r.notes.len(), 1);
    }

    #[test]
    fn not_found_names_the_claude_models_for_a_claude_id() {
        let listed = [
            "openai.gpt-oss-120b",
            "anthropic.claude-opus-4-7",
            "anthropic.claude-haiku-4-5",
            "deepseek.v3.2",
        ];
        let Error::ModelNotFound(m) =
            not_listed("claude-opus-4.9", "anthropic.claude-opus-4-9", &listed)
        else {
            panic!()
        };
        assert!(
            m.contains(
                "Claude models it lists: anthropic.claude-haiku-4-5, anthropic.claude-opus-4-7"
            ),
            "{m}"
        );
        assert!(m.contains("\"claude-opus-4.9\""), "{m}");
        assert!(m.contains("anthropic.claude-opus-4-9"), "{m}");
        assert!(!m.contains("gpt-oss"), "{m}");
        let Error::ModelNotFound(m) = not_listed("nobody.model", "nobody.model", &listed) else {
            panic!()
        };
        assert!(
            m.contains("models it lists: anthropic.claude-haiku-4-5"),
            "{m}"
        );
        assert!(m.contains("openai.gpt-oss-120b"), "{m}");
        let many: Vec<String> = (0..30).map(|i| format!("qwen.m{i:02}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let text = alternatives("qwen.none", &many);
        assert!(
            text.starts_with("qwen models it lists: qwen.m00, "),
            "{text}"
        );
        assert!(text.ends_with(" and 18 more"), "{text}");
        assert_eq!(alternatives("x.y", &[]), "it lists no models");
    }

    #[test]
    fn the_table_routes_each_family_seen() {
        let route = |api, prefix| Some(Route { api, prefix });
        for (id, want) in [
            ("anthropic.claude-opus-4-7", route(Messages, Anthropic)),
            (
                "anthropic.claude-mythos-preview",
                route(Messages, Anthropic),
            ),
            ("openai.gpt-oss-120b", route(Chat, V1)),
            ("openai.gpt-oss-safeguard-20b", route(Chat, V1)),
            ("openai.gpt-5.4", route(Responses, OpenaiV1)),
            ("openai.gpt-5.6-terra", route(Responses, OpenaiV1)),
            ("OpenAI.GPT-5.5", route(Responses, OpenaiV1)),
            ("google.gemma-4-31b", route(Chat, OpenaiV1)),
            ("google.gemma-4-26b-a4b", route(Chat, OpenaiV1)),
            ("xai.grok-4.3", route(Chat, OpenaiV1)),
            ("google.gemma-3-27b-it", route(Chat, V1)),
            ("qwen.qwen3-coder-480b-a35b-instruct", route(Chat, V1)),
            ("deepseek.v3.2", route(Chat, V1)),
            ("moonshotai.kimi-k2-thinking", route(Chat, V1)),
            ("writer.palmyra-vision-7b", route(Chat, V1)),
            ("google.gemma-5-9b", None),
            ("openai.gpt-6", None),
            ("newvendor.model", None),
            ("claude-opus-4.7", None),
        ] {
            assert_eq!(known_route(id), want, "{id}");
        }
    }

    #[test]
    fn every_model_of_the_captured_listing_has_a_route() {
        let listing: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/mantle/models-us-east-2.json"))
                .unwrap();
        let ids: Vec<&str> = listing["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 38);
        for id in ids {
            let route = known_route(id).unwrap_or_else(|| panic!("{id}: no route"));
            assert_eq!(
                route.prefix, V1,
                "{id}: every model of us-east-2 in April 2026 was on /v1"
            );
            assert_eq!(normalize(id).id, id, "a catalog id stays as it is");
        }
    }

    #[test]
    fn captured_refusals_say_how_the_route_is_wrong() {
        let errors: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/mantle/errors.json")).unwrap();
        let of = |name: &str| {
            let e = errors
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == name)
                .unwrap();
            let body: serde_json::Value =
                serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
            (
                u16::try_from(e["status"].as_u64().unwrap()).unwrap(),
                body["error"]["message"].as_str().unwrap().to_owned(),
                body["error"]["code"].as_str().unwrap().to_owned(),
            )
        };
        for (name, want) in [
            ("berm-not-enabled", Some(Misroute::Prefix)),
            ("not-supported-on-this-route", Some(Misroute::Prefix)),
            ("wrong-api", Some(Misroute::Api)),
            ("invalid-bearer-token", None),
            ("security-token-invalid", None),
            ("signature-expired", None),
            ("model-does-not-exist", None),
            ("context-overflow-mantle", None),
            ("image-modality", None),
        ] {
            let (status, said, _) = of(name);
            assert_eq!(misroute(status, &said), want, "{name}");
            assert_eq!(
                is_signature_expired(status, &said),
                name == "signature-expired",
                "{name}"
            );
        }
    }

    /// Answers FACTS does not record are not read as a wrong route, whatever their words:
    /// a 403 saying a model is "not enabled for this account" is the account's permissions
    /// (Forbidden, with its IAM hint), and no other route is tried for it.
    #[test]
    fn only_the_recorded_wrong_route_answers_are_read_so() {
        for (status, said, want) in [
            (
                401,
                "Berm is not enabled for this account",
                Some(Misroute::Prefix),
            ),
            (
                403,
                "Berm is not enabled for this account",
                Some(Misroute::Prefix),
            ),
            (403, "Model access is not enabled for this account", None),
            (401, "Access is not enabled for this account", None),
            (400, "Berm is not enabled for this account", None),
            (
                404,
                "model `x` isn't supported on this route",
                Some(Misroute::Prefix),
            ),
            (
                400,
                "model `x` is not supported on this route",
                Some(Misroute::Prefix),
            ),
            (422, "model `x` isn't supported on this route", None),
            (403, "model `x` isn't supported on this route", None),
            (
                400,
                "The model 'x' does not support the '/anthropic/v1/messages' API",
                Some(Misroute::Api),
            ),
            (
                404,
                "The model 'x' does not support the '/v1/chat/completions' API",
                Some(Misroute::Api),
            ),
            (
                400,
                "The model 'x' does not support the 'streaming' API",
                None,
            ),
            (400, "unknown model", None),
            (429, "model `x` isn't supported on this route", None),
        ] {
            assert_eq!(misroute(status, said), want, "{status} {said}");
        }
    }

    #[test]
    fn prefixes_derive_from_the_base_url() {
        let base = BaseUrl::parse("https://bedrock-mantle.us-east-1.api.aws/v1").unwrap();
        let url = |prefix: Prefix, api| prefix.base(&base).url(Route { api, prefix }.path());
        assert_eq!(
            url(V1, Chat),
            "https://bedrock-mantle.us-east-1.api.aws/v1/chat/completions"
        );
        assert_eq!(
            url(OpenaiV1, Responses),
            "https://bedrock-mantle.us-east-1.api.aws/openai/v1/responses"
        );
        assert_eq!(
            url(OpenaiV1, Chat),
            "https://bedrock-mantle.us-east-1.api.aws/openai/v1/chat/completions"
        );
        assert_eq!(
            url(Anthropic, Messages),
            "https://bedrock-mantle.us-east-1.api.aws/anthropic/v1/messages"
        );
        for p in Prefix::ALL {
            assert_eq!(Prefix::parse(p.as_str()), Some(p));
        }
    }
}
