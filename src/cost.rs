//! What an answer cost: a model's prices (USD per million tokens) applied to its usage.
//!
//! Prices come from the configuration (`cost` of a model entry, which always wins, a zero
//! price included), else from the built-in table [`builtin`]: AWS's published Bedrock prices
//! of the models Mantle serves, read on the date the data file (`prices.json5`) names, with
//! the source and the source's date on every row. A model neither names has no price, and its
//! answers no [`Charge`].
//!
//! Each token is billed once. The provider's unified [`Usage`] counts input tokens outside
//! the prompt cache ([`Usage::input_tokens`]: OpenAI's `prompt_tokens` minus its
//! `cached_tokens`; Anthropic's `input_tokens`, which exclude cache reads and writes); cache
//! reads and writes are counted apart and billed at their own prices. Reasoning tokens are
//! output tokens ([`Usage::output_tokens`] includes them) and billed as such. Where no cache
//! price is published, cached tokens cost what input tokens cost: no discount is invented.

use crate::catalog::ids as catalog;
pub use crate::chat::Charge;
use crate::chat::Usage;
use crate::model::Cost;

/// The built-in price table, JSON5, as the data file has it.
pub const TABLE: &str = include_str!("prices.json5");

/// `usage` at `prices`.
pub fn charge(prices: &Cost, usage: &Usage) -> Charge {
    let at = |tokens: u32, per_million: f64| f64::from(tokens) * per_million / 1_000_000.0;
    let input = at(usage.input_tokens, prices.input);
    let output = at(usage.output_tokens, prices.output);
    let cache_read = at(usage.cache_read_tokens.unwrap_or(0), prices.cache_read);
    let cache_write = at(usage.cache_write_tokens.unwrap_or(0), prices.cache_write);
    Charge {
        input,
        output,
        cache_read,
        cache_write,
        total: input + output + cache_read + cache_write,
    }
}

// The table, generated from `prices.json5` by the build script (build.rs).
include!(concat!(env!("OUT_DIR"), "/prices.rs"));

/// The built-in price of a model, by any id [`catalog::normalize`] takes; `None` when the
/// table has no row for it. Cache prices the table lacks are the input price.
pub fn builtin(id: &str) -> Option<Cost> {
    let find = |id: &str| {
        TABLE_PRICES
            .binary_search_by(|(row, _)| (*row).cmp(id))
            .ok()
            .map(|i| TABLE_PRICES[i].1)
    };
    find(id).or_else(|| find(&catalog::normalize(id).id))
}

/// When the built-in table was read (`YYYY-MM-DD`).
pub fn table_read() -> &'static str {
    TABLE_READ
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_every_row_of_the_data_file_sorted() {
        assert_eq!(table_read(), "2026-12-04");
        assert_eq!(TABLE_PRICES.len(), 50);
        assert!(TABLE_PRICES.windows(2).all(|w| w[0].0 < w[1].0));
        // Every row of the data file names its source and date.
        assert_eq!(
            TABLE.matches("source: \"").count(),
            51,
            "50 rows and the header"
        );
        assert_eq!(TABLE.matches("date: \"").count(), 50);
    }

    #[test]
    fn unpublished_cache_prices_are_the_input_price() {
        let oss = builtin("openai.gpt-oss-120b").unwrap();
        assert_eq!(
            oss,
            Cost {
                input: 0.15,
                output: 0.60,
                cache_read: 0.15,
                cache_write: 0.15
            }
        );
        let opus = builtin("anthropic.claude-opus-4-7").unwrap();
        assert_eq!((opus.cache_read, opus.cache_write), (0.55, 6.875));
    }

    #[test]
    fn ids_in_other_forms_find_their_row() {
        assert_eq!(
            builtin("claude-opus-4.7"),
            builtin("anthropic.claude-opus-4-7")
        );
        assert!(builtin("us.anthropic.claude-opus-4-7").is_some());
        assert_eq!(builtin("zai.glm-4.6"), None);
        assert_eq!(builtin("vendor.unknown"), None);
    }

    #[test]
    fn each_token_is_billed_once_at_its_price() {
        let prices = Cost {
            input: 3.0,
            output: 15.0,
            cache_read: 0.3,
            cache_write: 3.75,
        };
        let usage = Usage {
            input_tokens: 1_000,
            output_tokens: 2_000,
            cache_read_tokens: Some(10_000),
            cache_write_tokens: Some(4_000),
            reasoning_tokens: Some(500),
            ..Usage::default()
        };
        let c = charge(&prices, &usage);
        assert_eq!(c.input, 0.003);
        assert_eq!(c.output, 0.03);
        assert_eq!(c.cache_read, 0.003);
        assert_eq!(c.cache_write, 0.015);
        assert!((c.total - 0.051).abs() < 1e-12);
    }

    #[test]
    fn a_zero_price_is_a_price() {
        let c = charge(
            &Cost::default(),
            &Usage {
                input_tokens: 7,
                output_tokens: 9,
                ..Usage::default()
            },
        );
        assert_eq!(c, Charge::default());
    }
}
