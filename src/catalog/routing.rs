//! Choosing where one request goes, and what to remember of it: the route table
//! ([`crate::catalog::ids::known_route`]), the configuration's pins, the routes learned from Mantle's
//! answers, the one retry a wrong-prefix answer earns, and the backoff a 429 without
//! `retry-after` gets. Pure: the client feeds it ids, answers and the time.

use crate::catalog::ids::{Misroute, Prefix, Route};
use crate::model::Api;

/// How long a learned route is kept, seconds: as long as the listing it is kept with.
pub const LEARNED_ROUTE_SECS: u64 = crate::catalog::discovery::MODEL_CACHE_SECS;

/// The most routes a client remembers; the oldest goes first.
pub const MAX_LEARNED_ROUTES: usize = 256;

/// A route learned from Mantle's answers for an id the route table does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Learned {
    /// Where requests for the model go.
    pub route: Route,
    /// `true` once a request succeeded there (the route is then used as known, without
    /// retries); `false` for a route an answer pointed at (the next request starts there,
    /// with its one retry).
    pub confirmed: bool,
    /// When it was learned, seconds since the Unix epoch.
    pub at: u64,
}

/// The routes a client learned, by model id. Bounded ([`MAX_LEARNED_ROUTES`]); each expires
/// [`LEARNED_ROUTE_SECS`] after it was learned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteMemory {
    entries: Vec<(String, Learned)>,
    /// Grows on every change, so a host that keeps the routes elsewhere knows when to write.
    revision: u64,
}

impl RouteMemory {
    /// The route learned for `id`, unless it expired by `now`.
    pub fn get(&self, id: &str, now: u64) -> Option<Learned> {
        self.entries
            .iter()
            .find(|(k, l)| k == id && fresh(l.at, now))
            .map(|(_, l)| *l)
    }

    /// Remembers `learned` for `id` (replacing what was there), forgetting expired and, past
    /// [`MAX_LEARNED_ROUTES`], the oldest routes.
    pub fn put(&mut self, id: &str, learned: Learned) {
        if self.entries.iter().any(|(k, l)| k == id && *l == learned) {
            return;
        }
        self.entries
            .retain(|(k, l)| k != id && fresh(l.at, learned.at));
        if self.entries.len() >= MAX_LEARNED_ROUTES {
            self.entries.sort_by_key(|(_, l)| l.at);
            self.entries
                .drain(..=self.entries.len() - MAX_LEARNED_ROUTES);
        }
        self.entries.push((id.to_owned(), learned));
        self.revision += 1;
    }

    /// Forgets the route learned for `id` (Mantle refused it: the model moved).
    pub fn forget(&mut self, id: &str) {
        let before = self.entries.len();
        self.entries.retain(|(k, _)| k != id);
        if self.entries.len() != before {
            self.revision += 1;
        }
    }

    /// Every route remembered (expired ones included until they are replaced), for a host
    /// that keeps them across instances.
    pub fn entries(&self) -> &[(String, Learned)] {
        &self.entries
    }

    /// A number that changes whenever the routes do.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Takes in routes kept elsewhere (by another instance), without counting a change;
    /// ours win over theirs for the same id.
    pub fn seed(&mut self, routes: impl IntoIterator<Item = (String, Learned)>) {
        for (id, learned) in routes {
            if self.entries.len() < MAX_LEARNED_ROUTES
                && !self.entries.iter().any(|(k, _)| *k == id)
            {
                self.entries.push((id, learned));
            }
        }
    }
}

fn fresh(at: u64, now: u64) -> bool {
    now >= at && now - at < LEARNED_ROUTE_SECS
}

/// Where a request goes first, and what it may change when Mantle says the route is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The first route to try.
    pub first: Route,
    /// The API is known (the route table, the configuration, a confirmed route): never
    /// changed by a retry.
    pub api_pinned: bool,
    /// The path prefix is known (the route table, a configured `baseUrl`, a confirmed
    /// route): never changed by a retry.
    pub prefix_pinned: bool,
}

/// What decides a request's route, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Known {
    /// The configuration's `api` for the model.
    pub configured_api: Option<Api>,
    /// Whether the configuration gives the model its own `baseUrl`.
    pub configured_base: bool,
    /// What the route table says of the id.
    pub table: Option<Route>,
    /// What was learned for the id.
    pub learned: Option<Learned>,
    /// The API of the listing's description of the model (discovered rows carry the table's
    /// or the provider's default).
    pub listed_api: Option<Api>,
    /// The provider's default `api`.
    pub default_api: Api,
}

/// The plan for a request:
///
/// - a model of a family the route table knows goes where the table says, the
///   configuration's `api` still winning; nothing is retried;
/// - a model with a confirmed learned route goes there, without retries;
/// - any other model starts on the learned (unconfirmed) route, else on the configured or
///   listed API under its default prefix ([`Prefix::default_for`]); what the configuration
///   pins (`api`, `baseUrl`) is never changed by a retry.
pub fn plan(known: Known) -> Plan {
    if let Some(table) = known.table {
        let api = known.configured_api.unwrap_or(table.api);
        // A configured api goes under the family's prefix, unless that prefix cannot serve it
        // (the Anthropic route and the OpenAI APIs never share a prefix).
        let prefix = if (table.prefix == Prefix::Anthropic) == (api == Api::AnthropicMessages) {
            table.prefix
        } else {
            Prefix::default_for(api)
        };
        return Plan {
            first: Route { api, prefix },
            api_pinned: true,
            prefix_pinned: true,
        };
    }
    if let Some(learned) = known.learned {
        let api = known.configured_api.unwrap_or(learned.route.api);
        return Plan {
            first: Route {
                api,
                prefix: learned.route.prefix,
            },
            api_pinned: learned.confirmed || known.configured_api.is_some(),
            prefix_pinned: learned.confirmed || known.configured_base,
        };
    }
    let api = known
        .configured_api
        .or(known.listed_api)
        .unwrap_or(known.default_api);
    Plan {
        first: Route {
            api,
            prefix: Prefix::default_for(api),
        },
        api_pinned: known.configured_api.is_some() || api == Api::AnthropicMessages,
        prefix_pinned: known.configured_base || api == Api::AnthropicMessages,
    }
}

impl Plan {
    /// The one retry a wrong-route answer earns on `tried`, if the plan leaves room for it:
    /// a wrong prefix flips `/v1` and `/openai/v1` (same API); a wrong API flips chat
    /// completions and Responses (same prefix). `None` when what is wrong is pinned.
    pub fn retry(&self, tried: Route, misroute: Misroute) -> Option<Route> {
        match misroute {
            Misroute::Prefix if !self.prefix_pinned => {
                other_prefix(tried.prefix).map(|prefix| Route {
                    api: tried.api,
                    prefix,
                })
            }
            Misroute::Api if !self.api_pinned => other_api(tried.api).map(|api| Route {
                api,
                prefix: tried.prefix,
            }),
            _ => None,
        }
    }
}

/// What a refusal decides for a request and for the ones after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send the request once more, on this route: the one retry.
    Retry(Route),
    /// The request fails, and the learned route it started on is forgotten: the model moved.
    Forget,
    /// The request fails, and the next one starts on this route: the retry's change was
    /// right, and Mantle now objects to the other half.
    Learn(Route),
    /// The request fails; there is nothing to remember.
    Fail,
}

impl Plan {
    /// What Mantle's refusal of `tried` decides: `misroute` is what the refusal says of the
    /// route (`None`: it is no wrong-route answer), `retried` whether `tried` was already the
    /// retry, `learned` whether the plan started on a learned route. The one place where a
    /// wrong-route answer earns a retry or is remembered.
    pub fn after_refusal(
        &self,
        tried: Route,
        misroute: Option<Misroute>,
        retried: bool,
        learned: bool,
    ) -> Verdict {
        let Some(kind) = misroute else {
            return Verdict::Fail;
        };
        if retried {
            return lesson(tried, kind).map_or(Verdict::Fail, Verdict::Learn);
        }
        match self.retry(tried, kind) {
            Some(next) => Verdict::Retry(next),
            None if learned => Verdict::Forget,
            None => Verdict::Fail,
        }
    }
}

/// `/v1` ↔ `/openai/v1`; the Anthropic prefix has no other.
pub fn other_prefix(prefix: Prefix) -> Option<Prefix> {
    match prefix {
        Prefix::V1 => Some(Prefix::OpenaiV1),
        Prefix::OpenaiV1 => Some(Prefix::V1),
        Prefix::Anthropic => None,
    }
}

/// Chat completions ↔ Responses; the Anthropic route has no other.
pub fn other_api(api: Api) -> Option<Api> {
    match api {
        Api::OpenaiCompletions => Some(Api::OpenaiResponses),
        Api::OpenaiResponses => Some(Api::OpenaiCompletions),
        Api::AnthropicMessages => None,
    }
}

/// What a retried request's second wrong-route answer teaches: the retry changed one thing
/// and Mantle now objects to the other, so the change was right; the next request starts
/// with both changed (and has its own retry, should that be wrong too).
pub fn lesson(retried: Route, second: Misroute) -> Option<Route> {
    match second {
        Misroute::Api => other_api(retried.api).map(|api| Route {
            api,
            prefix: retried.prefix,
        }),
        Misroute::Prefix => other_prefix(retried.prefix).map(|prefix| Route {
            api: retried.api,
            prefix,
        }),
    }
}

/// The first wait the gateway asks for after a 429 that says nothing of when to retry,
/// seconds.
pub const BACKOFF_FIRST_SECS: u32 = 2;
/// The longest wait the backoff asks for, seconds: Mantle's quotas are per minute.
pub const BACKOFF_MAX_SECS: u32 = 60;
/// The most models whose 429s are counted at once; the oldest is forgotten first.
const BACKOFF_MODELS: usize = 64;

/// The gateway's own backoff for 429s that carry no `retry-after` (Mantle never sends one):
/// per model, [`BACKOFF_FIRST_SECS`] after a first 429, doubled after each further 429
/// that came within [`BACKOFF_MAX_SECS`] of the one before, at most [`BACKOFF_MAX_SECS`]. A
/// request that gets through forgets the count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    /// `(model id, when the last 429 came, how many came in a row)`.
    streaks: Vec<(String, u64, u32)>,
}

impl Backoff {
    /// A 429 for `id` at `now`: the seconds to ask the client to wait.
    pub fn throttled(&mut self, id: &str, now: u64) -> u32 {
        let streak = match self.streaks.iter_mut().find(|(k, _, _)| k == id) {
            Some((_, at, n)) => {
                let recent = now >= *at && now - *at <= u64::from(BACKOFF_MAX_SECS);
                *n = if recent { n.saturating_add(1) } else { 1 };
                *at = now;
                *n
            }
            None => {
                if self.streaks.len() >= BACKOFF_MODELS {
                    self.streaks.sort_by_key(|(_, at, _)| *at);
                    self.streaks.remove(0);
                }
                self.streaks.push((id.to_owned(), now, 1));
                1
            }
        };
        let doublings = streak.saturating_sub(1).min(31);
        BACKOFF_FIRST_SECS
            .saturating_mul(1 << doublings)
            .min(BACKOFF_MAX_SECS)
    }

    /// A request for `id` got through.
    pub fn passed(&mut self, id: &str) {
        self.streaks.retain(|(k, _, _)| k != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ids as catalog;
    use Api::{
        AnthropicMessages as Messages, OpenaiCompletions as Chat, OpenaiResponses as Responses,
    };
    use Prefix::{Anthropic, OpenaiV1, V1};

    fn route(api: Api, prefix: Prefix) -> Route {
        Route { api, prefix }
    }

    fn unknown() -> Known {
        Known {
            default_api: Chat,
            ..Known::default()
        }
    }

    #[test]
    fn known_families_go_where_the_table_says_and_are_never_retried() {
        let p = plan(Known {
            table: catalog::known_route("openai.gpt-5.4"),
            ..unknown()
        });
        assert_eq!(p.first, route(Responses, OpenaiV1));
        for m in [Misroute::Prefix, Misroute::Api] {
            assert_eq!(p.retry(p.first, m), None);
        }
        // The configuration's api still wins, under that api's own prefix.
        let p = plan(Known {
            table: catalog::known_route("openai.gpt-oss-20b"),
            configured_api: Some(Responses),
            ..unknown()
        });
        assert_eq!(p.first, route(Responses, V1));
        let p = plan(Known {
            table: catalog::known_route("anthropic.claude-opus-4-7"),
            configured_api: Some(Chat),
            ..unknown()
        });
        assert_eq!(p.first, route(Chat, V1));
    }

    #[test]
    fn unknown_ids_get_one_retry_on_what_is_not_pinned() {
        let p = plan(unknown());
        assert_eq!(p.first, route(Chat, V1));
        assert_eq!(
            p.retry(p.first, Misroute::Prefix),
            Some(route(Chat, OpenaiV1))
        );
        assert_eq!(p.retry(p.first, Misroute::Api), Some(route(Responses, V1)));
        let on_openai = route(Chat, OpenaiV1);
        assert_eq!(p.retry(on_openai, Misroute::Prefix), Some(route(Chat, V1)));
        // A configured api is kept; a configured base is kept.
        let p = plan(Known {
            configured_api: Some(Responses),
            ..unknown()
        });
        assert_eq!(p.first, route(Responses, V1));
        assert_eq!(p.retry(p.first, Misroute::Api), None);
        assert_eq!(
            p.retry(p.first, Misroute::Prefix),
            Some(route(Responses, OpenaiV1))
        );
        let p = plan(Known {
            configured_base: true,
            ..unknown()
        });
        assert_eq!(p.retry(p.first, Misroute::Prefix), None);
        assert_eq!(p.retry(p.first, Misroute::Api), Some(route(Responses, V1)));
        // The Anthropic route has nowhere else to go.
        let p = plan(Known {
            default_api: Messages,
            ..Known::default()
        });
        assert_eq!(p.first, route(Messages, Anthropic));
        assert_eq!(p.retry(p.first, Misroute::Prefix), None);
    }

    #[test]
    fn learned_routes_are_used_and_confirmed_ones_pinned() {
        let learned = |confirmed| Known {
            learned: Some(Learned {
                route: route(Responses, OpenaiV1),
                confirmed,
                at: 0,
            }),
            ..unknown()
        };
        let p = plan(learned(true));
        assert_eq!(p.first, route(Responses, OpenaiV1));
        assert_eq!(p.retry(p.first, Misroute::Api), None);
        let p = plan(learned(false));
        assert_eq!(p.first, route(Responses, OpenaiV1));
        assert_eq!(p.retry(p.first, Misroute::Api), Some(route(Chat, OpenaiV1)));
        assert_eq!(
            lesson(route(Chat, OpenaiV1), Misroute::Api),
            Some(route(Responses, OpenaiV1))
        );
    }

    #[test]
    fn memory_expires_with_the_listing_and_stays_bounded() {
        let mut m = RouteMemory::default();
        let l = |at| Learned {
            route: route(Chat, OpenaiV1),
            confirmed: true,
            at,
        };
        m.put("a.x", l(100));
        assert_eq!(m.revision(), 1);
        m.put("a.x", l(100));
        assert_eq!(m.revision(), 1, "no change, no revision");
        assert_eq!(m.get("a.x", 100 + LEARNED_ROUTE_SECS - 1), Some(l(100)));
        assert_eq!(m.get("a.x", 100 + LEARNED_ROUTE_SECS), None);
        assert_eq!(m.get("a.x", 99), None, "a clock that went back");
        for i in 0..(MAX_LEARNED_ROUTES as u64 + 10) {
            m.put(&format!("m.{i}"), l(200 + i));
        }
        assert_eq!(m.entries().len(), MAX_LEARNED_ROUTES);
        assert!(m.get("m.0", 300).is_none(), "the oldest went first");
        let last = format!("m.{}", MAX_LEARNED_ROUTES + 9);
        assert!(m.get(&last, 500).is_some());
        let revision = m.revision();
        m.forget("m.0");
        assert_eq!(m.revision(), revision, "nothing to forget");
        m.forget(&last);
        assert_eq!(m.get(&last, 500), None);
        assert_eq!(m.revision(), revision + 1);
        m.put(&last, l(499));
        let mut seeded = RouteMemory::default();
        seeded.seed(m.entries().to_vec());
        assert_eq!(seeded.revision(), 0);
        assert_eq!(seeded.get(&last, 500), m.get(&last, 500));
    }

    #[test]
    fn the_backoff_doubles_per_model_and_forgets() {
        let mut b = Backoff::default();
        let waits: Vec<u32> = (0..8).map(|i| b.throttled("m", 1_000 + i)).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.throttled("other", 1_000), 2, "per model");
        b.passed("m");
        assert_eq!(
            b.throttled("m", 1_010),
            2,
            "a request that passed resets it"
        );
        assert_eq!(b.throttled("m", 1_011), 4);
        assert_eq!(
            b.throttled("m", 1_011 + 61),
            2,
            "a minute of calm resets it"
        );
        for i in 0..100 {
            b.throttled(&format!("n{i}"), 2_000 + i);
        }
        assert!(b.streaks.len() <= BACKOFF_MODELS);
    }

    #[test]
    fn a_refusal_earns_one_retry_then_is_remembered_or_forgotten() {
        let chat_v1 = Route {
            api: Api::OpenaiCompletions,
            prefix: Prefix::V1,
        };
        let open = Plan {
            first: chat_v1,
            api_pinned: false,
            prefix_pinned: false,
        };
        let chat_openai = Route {
            api: Api::OpenaiCompletions,
            prefix: Prefix::OpenaiV1,
        };
        let responses_openai = Route {
            api: Api::OpenaiResponses,
            prefix: Prefix::OpenaiV1,
        };
        // Not a wrong-route answer: nothing happens.
        assert_eq!(
            open.after_refusal(chat_v1, None, false, true),
            Verdict::Fail
        );
        // The first wrong prefix earns the retry on the other one.
        assert_eq!(
            open.after_refusal(chat_v1, Some(Misroute::Prefix), false, false),
            Verdict::Retry(chat_openai)
        );
        // The retry refused for its API: the prefix was right, the next request changes both.
        assert_eq!(
            open.after_refusal(chat_openai, Some(Misroute::Api), true, false),
            Verdict::Learn(responses_openai)
        );
        // Pinned: no retry; a learned route refused is forgotten, any other simply fails.
        let pinned = Plan {
            api_pinned: true,
            prefix_pinned: true,
            ..open
        };
        assert_eq!(
            pinned.after_refusal(chat_v1, Some(Misroute::Prefix), false, true),
            Verdict::Forget
        );
        assert_eq!(
            pinned.after_refusal(chat_v1, Some(Misroute::Prefix), false, false),
            Verdict::Fail
        );
    }
}
