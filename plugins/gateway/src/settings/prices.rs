//! What a proxied request costs: a price table of the current Claude models, which
//! `gateway.prices` in config.json can override or extend.
//!
//! Prices are USD per million tokens, as Anthropic publishes them; they are kept as
//! integer millionths of a USD per million tokens, so every cost is exact integer
//! arithmetic in millionths of a USD (`*_micros`), like the rest of the gateway.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use mosaic_plugin_api::serde_json::Value;

/// The date the built-in prices were taken from Anthropic's pricing page.
pub const PRICES_TAKEN_ON: &str = "2026-12-01";

/// The config.json key that overrides prices.
pub const PRICES_KEY: &str = "gateway.prices";

/// The description of `gateway.prices` (`mosaic config show`).
pub const PRICES_DESCRIPTION: &str = "Model prices in USD per million tokens, an object model -> \
     {input, output, cache_write, cache_read}, over the built-in table (Anthropic's prices of \
     2026-12-01); a model id matches its own entry or the longest entry it starts with";

/// The price of one model: millionths of a USD per million tokens of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPrice {
    /// Input tokens (not cached).
    pub input: i64,
    /// Output tokens.
    pub output: i64,
    /// Tokens written to the prompt cache (5-minute cache).
    pub cache_write: i64,
    /// Tokens read from the prompt cache.
    pub cache_read: i64,
}

/// Token counts of one request, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    /// Input tokens (not cached).
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Tokens written to the prompt cache.
    pub cache_write: u64,
    /// Tokens read from the prompt cache.
    pub cache_read: u64,
}

impl ModelPrice {
    /// The cost of `tokens`, in millionths of a USD, rounded to the nearest.
    pub fn cost_micros(&self, tokens: &TokenCounts) -> i64 {
        let part = |count: u64, price: i64| i128::from(count) * i128::from(price.max(0));
        let total = part(tokens.input, self.input)
            + part(tokens.output, self.output)
            + part(tokens.cache_write, self.cache_write)
            + part(tokens.cache_read, self.cache_read);
        i64::try_from((total + 500_000) / 1_000_000).unwrap_or(i64::MAX)
    }
}

/// USD per million tokens, as millionths (3.75 USD -> 3_750_000).
const fn usd(dollars: i64, micros: i64) -> i64 {
    dollars * 1_000_000 + micros
}

/// The built-in prices (Anthropic's pricing page, [`PRICES_TAKEN_ON`]): model id
/// prefixes, each with input, output, cache write (5 minutes), cache read. Every
/// model of a family that is priced differently has its own entry, because a
/// shorter entry would match it (`claude-opus-4` would price `claude-opus-4-8`).
/// Claude Haiku 5.5 is priced at its rate for prompts up to 100,000 tokens; a
/// longer prompt costs 5 times as much, which this table underestimates.
const DEFAULT_PRICES: &[(&str, ModelPrice)] = &[
    (
        "claude-fable-5-2",
        price(usd(8, 0), usd(40, 0), usd(10, 0), usd(0, 200_000)),
    ),
    (
        "claude-mythos-5-2",
        price(usd(8, 0), usd(40, 0), usd(10, 0), usd(0, 200_000)),
    ),
    (
        "claude-fable-5-1",
        price(usd(10, 0), usd(50, 0), usd(12, 500_000), usd(0, 250_000)),
    ),
    (
        "claude-mythos-5-1",
        price(usd(10, 0), usd(50, 0), usd(12, 500_000), usd(0, 250_000)),
    ),
    (
        "claude-fable-5",
        price(usd(10, 0), usd(50, 0), usd(12, 500_000), usd(1, 0)),
    ),
    (
        "claude-mythos-5",
        price(usd(10, 0), usd(50, 0), usd(12, 500_000), usd(1, 0)),
    ),
    (
        "claude-opus-5-5",
        price(usd(4, 0), usd(20, 0), usd(5, 0), usd(0, 200_000)),
    ),
    (
        "claude-opus-5",
        price(usd(5, 0), usd(25, 0), usd(6, 250_000), usd(0, 500_000)),
    ),
    (
        "claude-opus-4-8",
        price(usd(5, 0), usd(25, 0), usd(6, 250_000), usd(0, 500_000)),
    ),
    (
        "claude-opus-4-7",
        price(usd(5, 0), usd(25, 0), usd(6, 250_000), usd(0, 500_000)),
    ),
    (
        "claude-opus-4-6",
        price(usd(5, 0), usd(25, 0), usd(6, 250_000), usd(0, 500_000)),
    ),
    (
        "claude-opus-4-5",
        price(usd(5, 0), usd(25, 0), usd(6, 250_000), usd(0, 500_000)),
    ),
    (
        "claude-opus-4-1",
        price(usd(15, 0), usd(75, 0), usd(18, 750_000), usd(1, 500_000)),
    ),
    (
        "claude-opus-4",
        price(usd(15, 0), usd(75, 0), usd(18, 750_000), usd(1, 500_000)),
    ),
    (
        "claude-sonnet-5-5",
        price(usd(2, 0), usd(10, 0), usd(2, 500_000), usd(0, 100_000)),
    ),
    (
        "claude-sonnet-5",
        price(usd(2, 0), usd(10, 0), usd(2, 500_000), usd(0, 200_000)),
    ),
    (
        "claude-sonnet-4-6",
        price(usd(3, 0), usd(15, 0), usd(3, 750_000), usd(0, 300_000)),
    ),
    (
        "claude-sonnet-4-5",
        price(usd(3, 0), usd(15, 0), usd(3, 750_000), usd(0, 300_000)),
    ),
    (
        "claude-sonnet-4",
        price(usd(3, 0), usd(15, 0), usd(3, 750_000), usd(0, 300_000)),
    ),
    (
        "claude-3-7-sonnet",
        price(usd(3, 0), usd(15, 0), usd(3, 750_000), usd(0, 300_000)),
    ),
    (
        "claude-3-5-sonnet",
        price(usd(3, 0), usd(15, 0), usd(3, 750_000), usd(0, 300_000)),
    ),
    (
        "claude-haiku-5-5",
        price(
            usd(0, 100_000),
            usd(0, 500_000),
            usd(0, 125_000),
            usd(0, 10_000),
        ),
    ),
    (
        "claude-haiku-4-5",
        price(usd(1, 0), usd(5, 0), usd(1, 250_000), usd(0, 100_000)),
    ),
    (
        "claude-3-5-haiku",
        price(usd(0, 800_000), usd(4, 0), usd(1, 0), usd(0, 80_000)),
    ),
    (
        "claude-3-haiku",
        price(
            usd(0, 250_000),
            usd(1, 250_000),
            usd(0, 300_000),
            usd(0, 30_000),
        ),
    ),
    (
        "claude-3-opus",
        price(usd(15, 0), usd(75, 0), usd(18, 750_000), usd(1, 500_000)),
    ),
];

const fn price(input: i64, output: i64, cache_write: i64, cache_read: i64) -> ModelPrice {
    ModelPrice {
        input,
        output,
        cache_write,
        cache_read,
    }
}

/// The price table in force: the built-in prices with config.json's overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    entries: BTreeMap<String, ModelPrice>,
}

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable {
            entries: DEFAULT_PRICES
                .iter()
                .map(|(model, price)| ((*model).to_string(), *price))
                .collect(),
        }
    }
}

impl PriceTable {
    /// The built-in table with the overrides of `gateway.prices` (`None`: absent).
    /// An entry replaces the built-in one of the same name; a field left out of an
    /// entry keeps the built-in value of that model (or 0 for a new model).
    pub fn with_overrides(overrides: Option<&Value>) -> Result<PriceTable> {
        let mut table = PriceTable::default();
        let Some(overrides) = overrides else {
            return Ok(table);
        };
        let Value::Object(models) = overrides else {
            bail!(
                "{PRICES_KEY} must be an object model -> {{input, output, cache_write, \
                 cache_read}} (USD per million tokens)"
            );
        };
        for (model, fields) in models {
            let Value::Object(fields) = fields else {
                bail!(
                    "{PRICES_KEY}.{model} must be an object {{input, output, cache_write, \
                     cache_read}} (USD per million tokens)"
                );
            };
            let mut entry = table.lookup(model).unwrap_or(price(0, 0, 0, 0));
            for (field, value) in fields {
                let amount = value
                    .as_f64()
                    .filter(|amount| amount.is_finite() && *amount >= 0.0 && *amount < 1e9)
                    .ok_or_else(|| {
                        anyhow!(
                            "{PRICES_KEY}.{model}.{field} is {value}; expected a number of USD \
                             per million tokens, 0 or more"
                        )
                    })?;
                let micros = (amount * 1_000_000.0).round() as i64;
                match field.as_str() {
                    "input" => entry.input = micros,
                    "output" => entry.output = micros,
                    "cache_write" => entry.cache_write = micros,
                    "cache_read" => entry.cache_read = micros,
                    other => bail!(
                        "{PRICES_KEY}.{model} has an unknown field `{other}`; the fields are \
                         input, output, cache_write, cache_read"
                    ),
                }
            }
            table.entries.insert(model.clone(), entry);
        }
        Ok(table)
    }

    /// The price of `model`: its own entry, else the longest entry it starts with
    /// (`claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`); `None` when unknown.
    pub fn lookup(&self, model: &str) -> Option<ModelPrice> {
        if let Some(price) = self.entries.get(model) {
            return Some(*price);
        }
        self.entries
            .iter()
            .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, price)| *price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosaic_plugin_api::serde_json::json;

    #[test]
    fn dated_model_ids_match_the_longest_prefix() {
        let table = PriceTable::default();
        let opus_45 = table.lookup("claude-opus-4-5-20251101").unwrap();
        assert_eq!(opus_45.input, 5_000_000);
        let opus_41 = table.lookup("claude-opus-4-1-20250805").unwrap();
        assert_eq!(opus_41.input, 15_000_000);
        assert_eq!(
            table.lookup("claude-sonnet-4-5").unwrap().output,
            15_000_000
        );
        assert_eq!(table.lookup("gpt-4"), None);
    }

    #[test]
    fn costs_are_exact_millionths() {
        let sonnet = PriceTable::default().lookup("claude-sonnet-4-5").unwrap();
        let tokens = TokenCounts {
            input: 1_000_000,
            output: 1_000,
            cache_write: 1_000,
            cache_read: 10_000,
        };
        // 3 USD + 0.015 + 0.00375 + 0.003
        assert_eq!(sonnet.cost_micros(&tokens), 3_021_750);
        assert_eq!(sonnet.cost_micros(&TokenCounts::default()), 0);
    }

    #[test]
    fn overrides_replace_fields_and_add_models() {
        let table = PriceTable::with_overrides(Some(&json!({
            "claude-sonnet-4-5": {"input": 2.5},
            "my-model": {"input": 1, "output": 2, "cache_write": 0.5, "cache_read": 0.1},
        })))
        .unwrap();
        let sonnet = table.lookup("claude-sonnet-4-5-20250929").unwrap();
        assert_eq!((sonnet.input, sonnet.output), (2_500_000, 15_000_000));
        assert_eq!(table.lookup("my-model").unwrap().cache_read, 100_000);
    }

    #[test]
    fn bad_overrides_name_the_key() {
        let error = |value: Value| {
            PriceTable::with_overrides(Some(&value))
                .unwrap_err()
                .to_string()
        };
        assert!(error(json!([1])).contains("gateway.prices must be an object"));
        assert!(error(json!({"m": {"input": -1}})).contains("gateway.prices.m.input is -1"));
        assert!(error(json!({"m": {"inputs": 1}})).contains("unknown field `inputs`"));
        assert!(error(json!({"m": 3})).contains("gateway.prices.m must be an object"));
    }
}
