//! What an answer cost, as the face returns it: `usage.cost` in Bifrost's shape on chat
//! completions and Responses, and the `x-mantle-cost-usd` header on a whole answer. The
//! provider prices the usage ([`mantle_provider::cost`]); nothing here when the model has no
//! price.

use mantle_provider::chat::Usage;
use mantle_provider::cost::Charge;
use serde::Serialize;

/// The header that carries a whole answer's cost, USD.
pub const HEADER: &str = "x-mantle-cost-usd";

/// `usage.cost`: the four parts and their sum, USD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CostBody {
    /// Input tokens outside the prompt cache.
    pub input_tokens_cost: f64,
    /// Output tokens, reasoning included.
    pub output_tokens_cost: f64,
    /// Cache reads.
    pub cache_read_cost: f64,
    /// Cache writes.
    pub cache_write_cost: f64,
    /// The sum.
    pub total_cost: f64,
}

impl From<Charge> for CostBody {
    fn from(c: Charge) -> CostBody {
        CostBody {
            input_tokens_cost: c.input,
            output_tokens_cost: c.output,
            cache_read_cost: c.cache_read,
            cache_write_cost: c.cache_write,
            total_cost: c.total,
        }
    }
}

/// `usage.cost` of a usage, when it is priced.
pub fn body(usage: &Usage) -> Option<CostBody> {
    usage.cost.map(CostBody::from)
}

/// The header's value: the total in plain decimal notation (`0.000049`), never an exponent.
pub fn header_value(charge: &Charge) -> String {
    format!("{}", charge.total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_plain_decimal() {
        let c = Charge {
            total: 229.0 * 0.07 / 1e6,
            ..Charge::default()
        };
        assert_eq!(header_value(&c), "0.00001603");
        assert_eq!(header_value(&Charge::default()), "0");
    }

    #[test]
    fn the_body_has_bifrosts_names() {
        let usage = Usage {
            cost: Some(Charge {
                input: 1.0,
                output: 2.0,
                cache_read: 0.5,
                cache_write: 0.25,
                total: 3.75,
            }),
            ..Usage::default()
        };
        assert_eq!(
            serde_json::to_value(body(&usage)).unwrap(),
            serde_json::json!({
                "input_tokens_cost": 1.0, "output_tokens_cost": 2.0,
                "cache_read_cost": 0.5, "cache_write_cost": 0.25, "total_cost": 3.75
            })
        );
        assert_eq!(body(&Usage::default()), None);
    }
}
