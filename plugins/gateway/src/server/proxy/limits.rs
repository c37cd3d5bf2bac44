//! A key's limits, checked before the upstream is called: token and USD budgets
//! (per UTC day or month) and tokens per minute from what the store has recorded
//! plus what this process has not stored yet; requests per minute with the
//! gateway's rate limiter (in memory locally, shared through Valkey in the team
//! tier). A refusal is Anthropic's 429 `rate_limit_error`, naming the limit and
//! when it resets, with `retry-after`.
//!
//! In the team tier budgets are counted once for every replica
//! ([`SharedBudgets`]): a request reserves an upper bound of what it can use
//! ([`RequestBound`]) before it goes upstream and settles with what it used
//! ([`Reservations::settle`]), so replicas under load together stay within one
//! request of a budget.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;

use super::errors::ProxyError;
use super::usage::Meter;
use crate::clock::{civil_from_days, days_from_civil};
use crate::settings::prices::{ModelPrice, TokenCounts};
use crate::storage::keys::{
    Admission, ApiKey, BudgetCounter, BudgetPeriod, BudgetUnit, SharedBudgets, Spent, UsageStore,
};
use crate::storage::{Limit, RateLimiter, Refusal};

/// How long a request refused because the rest of a budget is held by requests
/// in flight is told to wait.
const HELD_RETRY: Duration = Duration::from_secs(1);

/// The most a request can use: every byte of its body as an input token (a token
/// is at least one byte of text; images and documents are far fewer tokens than
/// bytes) plus its `max_tokens` of output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestBound {
    /// Tokens.
    pub tokens: i64,
    /// Cost, millionths of a USD.
    pub cost_micros: i64,
}

impl RequestBound {
    /// The bound of a request with a body of `body_bytes` bytes asking for at most
    /// `max_tokens`, priced at `price` (each input token at the dearer of the input
    /// and cache-write prices).
    pub fn of(body_bytes: usize, max_tokens: Option<u64>, price: Option<ModelPrice>) -> Self {
        let input = u64::try_from(body_bytes).unwrap_or(u64::MAX);
        let output = max_tokens.unwrap_or(0);
        let cost_micros = price.map_or(0, |price| {
            let as_input = price.cost_micros(&TokenCounts {
                input,
                output,
                ..TokenCounts::default()
            });
            let as_cache_write = price.cost_micros(&TokenCounts {
                cache_write: input,
                output,
                ..TokenCounts::default()
            });
            as_input.max(as_cache_write)
        });
        RequestBound {
            tokens: i64::try_from(input.saturating_add(output)).unwrap_or(i64::MAX),
            cost_micros,
        }
    }
}

/// The budget reservations one request holds; settled when it ends (released, if
/// it never went out, when dropped).
pub struct Reservations {
    limiter: Arc<dyn RateLimiter>,
    held: Vec<(BudgetCounter, String)>,
}

impl Reservations {
    fn new(limiter: Arc<dyn RateLimiter>) -> Reservations {
        Reservations {
            limiter,
            held: Vec::new(),
        }
    }

    /// Ends every reservation, charging what the request used (off the hot path).
    pub fn settle(mut self, tokens: u64, cost_micros: i64) {
        self.settle_held(tokens, cost_micros);
    }

    fn settle_held(&mut self, tokens: u64, cost_micros: i64) {
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let limiter = self.limiter.clone();
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        runtime.spawn(async move {
            let Some(budgets) = limiter.shared_budgets() else {
                return;
            };
            for (counter, reservation) in held {
                let used = match counter.unit {
                    BudgetUnit::Tokens => tokens,
                    BudgetUnit::CostMicros => cost_micros,
                };
                if let Err(error) = budgets.settle(&counter, &reservation, used).await {
                    tracing::warn!(
                        "cannot charge a request to the shared budget of key {} ({error}); its \
                         reservation lapses by itself",
                        counter.key_id
                    );
                }
            }
        });
    }
}

impl Drop for Reservations {
    fn drop(&mut self) {
        self.settle_held(0, 0);
    }
}

/// Reserves `amount` on the shared `counter`, seeding it from what the store and
/// this process's ledger say when Valkey does not have it yet.
async fn reserve_shared<F, Fut>(
    budgets: &dyn SharedBudgets,
    counter: &BudgetCounter,
    amount: i64,
    seed: F,
) -> Result<Admission, ProxyError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<i64, ProxyError>>,
{
    let unavailable = |error| {
        ProxyError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the gateway cannot check the key's budget: {error}"),
        )
    };
    let admission = budgets
        .reserve(counter, amount, None)
        .await
        .map_err(unavailable)?;
    if admission != Admission::NeedsSeed {
        return Ok(admission);
    }
    let seed = seed().await?;
    budgets
        .reserve(counter, amount, Some(seed))
        .await
        .map_err(unavailable)
}

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Checks every limit of `key` at `now_ms` (Unix milliseconds) for a request that
/// can use at most `bound`; counts the request against its rpm limit when it
/// passes, and (team tier) returns the budget reservations it holds.
pub async fn check(
    key: &ApiKey,
    usage: &dyn UsageStore,
    meter: &Meter,
    limiter: &Arc<dyn RateLimiter>,
    bound: RequestBound,
    now_ms: i64,
) -> Result<Reservations, ProxyError> {
    let limits = &key.limits;
    let mut reservations = Reservations::new(limiter.clone());
    let spent_since = |since_ms: i64| async move {
        let stored = usage.spent(key.id, since_ms).await.map_err(|error| {
            ProxyError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the gateway cannot read the key's usage: {error}"),
            )
        })?;
        let pending = meter.pending_since(key.id, since_ms);
        Ok::<Spent, ProxyError>(Spent {
            tokens: stored.tokens + pending.tokens,
            cost_micros: stored.cost_micros + pending.cost_micros,
        })
    };
    if let (Some(budget), Some(budgets)) = (limits.budget_tokens, limiter.shared_budgets()) {
        let (start, reset) = period_bounds(budget.period, now_ms);
        let counter = BudgetCounter {
            key_id: key.id,
            unit: BudgetUnit::Tokens,
            period_start_ms: start,
            period_end_ms: reset,
            limit: i64::try_from(budget.tokens).unwrap_or(i64::MAX),
        };
        let seed = || async {
            let spent = spent_since(start).await?;
            Ok(i64::try_from(spent.tokens).unwrap_or(i64::MAX))
        };
        match reserve_shared(budgets, &counter, bound.tokens, seed).await? {
            Admission::Admitted { reservation } => reservations.held.push((counter, reservation)),
            Admission::UsedUp { used } => {
                return Err(ProxyError::rate_limited(
                    format!(
                        "the token budget of key `{}` is used up: {used} of {} tokens this {}; \
                         it resets at {}",
                        key.name,
                        budget.tokens,
                        budget.period.as_str(),
                        format_utc(reset)
                    ),
                    until(reset, now_ms),
                ));
            }
            Admission::HeldInFlight { used, in_flight } => {
                return Err(held_in_flight(
                    key,
                    &format!("{used} of {} tokens", budget.tokens),
                    budget.period.as_str(),
                    in_flight,
                ));
            }
            Admission::NeedsSeed => return Err(not_seeded()),
        }
    } else if let Some(budget) = limits.budget_tokens {
        let (start, reset) = period_bounds(budget.period, now_ms);
        let spent = spent_since(start).await?;
        if spent.tokens >= budget.tokens {
            return Err(ProxyError::rate_limited(
                format!(
                    "the token budget of key `{}` is used up: {} of {} tokens this {}; it \
                     resets at {}",
                    key.name,
                    spent.tokens,
                    budget.tokens,
                    budget.period.as_str(),
                    format_utc(reset)
                ),
                until(reset, now_ms),
            ));
        }
    }
    if let (Some(budget_micros), Some(budgets)) =
        (limits.budget_usd_micros_month, limiter.shared_budgets())
    {
        let (start, reset) = period_bounds(BudgetPeriod::Month, now_ms);
        let counter = BudgetCounter {
            key_id: key.id,
            unit: BudgetUnit::CostMicros,
            period_start_ms: start,
            period_end_ms: reset,
            limit: budget_micros,
        };
        let seed = || async { Ok(spent_since(start).await?.cost_micros) };
        match reserve_shared(budgets, &counter, bound.cost_micros, seed).await? {
            Admission::Admitted { reservation } => reservations.held.push((counter, reservation)),
            Admission::UsedUp { used } => {
                return Err(ProxyError::rate_limited(
                    format!(
                        "the USD budget of key `{}` is used up: {} of {} USD this month; it \
                         resets at {}",
                        key.name,
                        format_usd(used),
                        format_usd(budget_micros),
                        format_utc(reset)
                    ),
                    until(reset, now_ms),
                ));
            }
            Admission::HeldInFlight { used, in_flight } => {
                return Err(held_in_flight(
                    key,
                    &format!("{} of {} USD", format_usd(used), format_usd(budget_micros)),
                    "month",
                    in_flight,
                ));
            }
            Admission::NeedsSeed => return Err(not_seeded()),
        }
    } else if let Some(budget_micros) = limits.budget_usd_micros_month {
        let (start, reset) = period_bounds(BudgetPeriod::Month, now_ms);
        let spent = spent_since(start).await?;
        if spent.cost_micros >= budget_micros {
            return Err(ProxyError::rate_limited(
                format!(
                    "the USD budget of key `{}` is used up: {} of {} USD this month; it resets \
                     at {}",
                    key.name,
                    format_usd(spent.cost_micros),
                    format_usd(budget_micros),
                    format_utc(reset)
                ),
                until(reset, now_ms),
            ));
        }
    }
    if let Some(tpm) = limits.tpm {
        let spent = spent_since(now_ms - MINUTE_MS).await?;
        if spent.tokens >= u64::from(tpm) {
            return Err(ProxyError::rate_limited(
                format!(
                    "the tpm limit of key `{}` is reached: {} tokens in the last minute, {tpm} \
                     allowed; it resets within 60 s",
                    key.name, spent.tokens
                ),
                Duration::from_secs(60),
            ));
        }
    }
    if let Some(rpm) = limits.rpm {
        let limit = Limit {
            max: rpm,
            window: Duration::from_secs(60),
        };
        match limiter.hit(&format!("proxy-rpm:{}", key.id), limit).await {
            Ok(()) => {}
            Err(Refusal::Limited(after)) => {
                return Err(ProxyError::rate_limited(
                    format!(
                        "the rpm limit of key `{}` is reached: {rpm} requests per minute; it \
                         resets in {} s",
                        key.name,
                        after.as_secs().max(1)
                    ),
                    after,
                ));
            }
            Err(Refusal::Store(error)) => {
                return Err(ProxyError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the gateway cannot check the key's rate limit: {error}"),
                ));
            }
        }
    }
    Ok(reservations)
}

/// The refusal of a request whose key has budget left that requests in flight
/// may still use: near the end of a budget requests go one at a time.
fn held_in_flight(key: &ApiKey, spent: &str, period: &str, in_flight: i64) -> ProxyError {
    ProxyError::rate_limited(
        format!(
            "the token or USD budget of key `{}` is nearly used up ({spent} this {period}) and \
             {in_flight} request(s) in flight may use the rest; retry when they end",
            key.name
        ),
        HELD_RETRY,
    )
}

/// Valkey lost a budget counter between seeding it and reserving (a restart).
fn not_seeded() -> ProxyError {
    ProxyError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the gateway cannot check the key's budget: Valkey lost its counter; retry",
    )
}

fn until(at_ms: i64, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(at_ms - now_ms).unwrap_or(0))
}

/// Millionths of a USD as `12.345678`.
fn format_usd(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    format!("{sign}{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// The start of the period holding `now_ms` and the start of the next, Unix ms (UTC).
pub fn period_bounds(period: BudgetPeriod, now_ms: i64) -> (i64, i64) {
    let day = now_ms.div_euclid(DAY_MS);
    match period {
        BudgetPeriod::Day => (day * DAY_MS, (day + 1) * DAY_MS),
        BudgetPeriod::Month => {
            let (year, month, _) = civil_from_days(day);
            let start = days_from_civil(year, month, 1);
            let (next_year, next_month) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
            let next = days_from_civil(next_year, next_month, 1);
            (start * DAY_MS, next * DAY_MS)
        }
    }
}

/// `2025-11-01T00:00:00Z` for a Unix ms time.
pub fn format_utc(at_ms: i64) -> String {
    let day = at_ms.div_euclid(DAY_MS);
    let (year, month, date) = civil_from_days(day);
    let seconds = at_ms.rem_euclid(DAY_MS) / 1000;
    format!(
        "{year:04}-{month:02}-{date:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_periods_in_utc() {
        // 2024-02-29T13:14:15Z
        let now = 1_709_212_455_000;
        assert_eq!(format_utc(now), "2024-02-29T13:14:15Z");
        let (start, next) = period_bounds(BudgetPeriod::Day, now);
        assert_eq!(format_utc(start), "2024-02-29T00:00:00Z");
        assert_eq!(format_utc(next), "2024-03-01T00:00:00Z");
        let (start, next) = period_bounds(BudgetPeriod::Month, now);
        assert_eq!(format_utc(start), "2024-02-01T00:00:00Z");
        assert_eq!(format_utc(next), "2024-03-01T00:00:00Z");
        // December rolls over to January.
        let (_, next) = period_bounds(BudgetPeriod::Month, 1_734_567_890_000);
        assert_eq!(format_utc(next), "2025-01-01T00:00:00Z");
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn usd_is_shown_with_six_decimals() {
        assert_eq!(format_usd(1_500_000), "1.500000");
        assert_eq!(format_usd(42), "0.000042");
    }
}
