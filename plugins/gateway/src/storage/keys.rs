//! API keys of the Anthropic proxy and the usage recorded against them.
//!
//! Every agent and person gets its own Mosaic key; the gateway holds the one real
//! Anthropic key. A Mosaic key is shown once when it is created and stored only as
//! its SHA-256 ([`TokenHash`]), like a session token; its first characters
//! ([`ApiKey::hint`]) are kept so a listing can say which key is which. Every key
//! starts with [`KEY_PREFIX`], so secret scanners can find a leaked one.
//!
//! Each proxied request becomes one [`UsageRecord`]; [`UsageStore`] keeps them and
//! answers the sums that usage reports and budgets need. Both traits have one
//! implementation per tier (SQLite; PostgreSQL for the team tier).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{StoreError, TokenHash};

/// The start of every Mosaic API key: recognisable in logs, diffs and leaks.
pub const KEY_PREFIX: &str = "mosaic_sk_";

/// The period a token budget is counted over (calendar day or month, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    /// From 00:00 UTC.
    Day,
    /// From the first of the month, 00:00 UTC.
    Month,
}

impl BudgetPeriod {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "day",
            BudgetPeriod::Month => "month",
        }
    }

    /// Parses a stored or typed period.
    pub fn parse(text: &str) -> Option<BudgetPeriod> {
        match text {
            "day" => Some(BudgetPeriod::Day),
            "month" => Some(BudgetPeriod::Month),
            _ => None,
        }
    }
}

/// At most `tokens` tokens (input + output + cache reads and writes) per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBudget {
    /// Tokens allowed per period.
    pub tokens: u64,
    /// The period.
    pub period: BudgetPeriod,
}

/// What a key may do. Every field is optional: `None` (or an empty model list)
/// means no limit of that kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyLimits {
    /// A token budget per day or month.
    pub budget_tokens: Option<TokenBudget>,
    /// A spending budget per calendar month, in millionths of a US dollar.
    pub budget_usd_micros_month: Option<i64>,
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Tokens per minute.
    pub tpm: Option<u32>,
    /// When the key stops working, Unix seconds.
    pub expires_at: Option<i64>,
    /// The only models the key may call (exact ids); empty: every model.
    pub models: Vec<String>,
}

/// A key as listings show it (never the key itself, never its hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKey {
    /// Stable numeric id, never reused.
    pub id: i64,
    /// Its unique name, e.g. `agent-a1`.
    pub name: String,
    /// The key's first characters (`mosaic_sk_AbCd`), to tell keys apart.
    pub hint: String,
    /// The user it belongs to, if any.
    pub user_id: Option<i64>,
    /// The fleet agent it was made for, if any.
    pub agent: Option<String>,
    /// What it may do.
    pub limits: KeyLimits,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// When it was revoked, Unix seconds; a revoked key is refused.
    pub revoked_at: Option<i64>,
}

/// A key to create; the caller made the secret and passes only its hash and hint.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Unique name.
    pub name: String,
    /// SHA-256 of the key.
    pub token_hash: TokenHash,
    /// The key's first characters.
    pub hint: String,
    /// The user it belongs to.
    pub user_id: Option<i64>,
    /// The fleet agent it is for.
    pub agent: Option<String>,
    /// What it may do.
    pub limits: KeyLimits,
}

impl NewKey {
    /// The key as stored with `id` at `created_at` (Unix seconds), not revoked.
    pub fn into_key(self, id: i64, created_at: i64) -> ApiKey {
        ApiKey {
            id,
            name: self.name,
            hint: self.hint,
            user_id: self.user_id,
            agent: self.agent,
            limits: self.limits,
            created_at,
            revoked_at: None,
        }
    }
}

/// Durable API keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Creates a key; [`StoreError::KeyNameTaken`] when a key (revoked or not) has
    /// the name.
    async fn create_key(&self, key: NewKey) -> Result<ApiKey, StoreError>;
    /// Every key, revoked ones included, oldest first.
    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// Revokes the key named `name` (idempotent: an already revoked key is returned
    /// as it is); [`StoreError::KeyNotFound`] when there is none.
    async fn revoke_key(&self, name: &str) -> Result<ApiKey, StoreError>;
    /// The key with this hash, revoked or not (the caller refuses revoked and
    /// expired keys, so it can say why).
    async fn find_key(&self, token_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError>;
}

/// One proxied request, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageRecord {
    /// When the request started, Unix milliseconds.
    pub at_ms: i64,
    /// The key used.
    pub key_id: i64,
    /// The key's user, if any.
    pub user_id: Option<i64>,
    /// The key's agent, if any.
    pub agent: Option<String>,
    /// The model asked for.
    pub model: String,
    /// Input tokens (not cached).
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: u64,
    /// The HTTP status the client got.
    pub status: u16,
    /// From the request to the end of the answer, milliseconds.
    pub latency_ms: u32,
    /// The cost from the price table, millionths of a US dollar.
    pub cost_micros: i64,
}

impl UsageRecord {
    /// Every token the request used (what token budgets and tpm count).
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens
    }
}

/// How usage is grouped in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UsageGroup {
    /// By key name.
    Key,
    /// By user email.
    User,
    /// By agent name.
    Agent,
    /// By model id.
    Model,
    /// By UTC day (`YYYY-MM-DD`).
    Day,
}

/// Which usage to sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    /// From this time on, Unix milliseconds (inclusive).
    pub since_ms: Option<i64>,
    /// Before this time, Unix milliseconds.
    pub until_ms: Option<i64>,
    /// Only this key.
    pub key_id: Option<i64>,
    /// Only requests made with this user's keys (what a non-admin may see).
    pub user_id: Option<i64>,
    /// The grouping.
    pub group: UsageGroup,
}

/// One line of a usage report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    /// The group's label (key name, user email, agent, model or day); `-` when
    /// the requests had none (e.g. a key without a user).
    pub group: String,
    /// Requests.
    pub requests: u64,
    /// Input tokens (not cached).
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// Cache-write tokens.
    pub cache_write_tokens: u64,
    /// Requests answered with an error status (>= 400).
    pub errors: u64,
    /// Cost, millionths of a US dollar.
    pub cost_micros: i64,
}

impl UsageRow {
    /// Every token of the group's requests (as [`UsageRecord::total_tokens`]).
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens
    }
}

/// What a key used since a moment: what budgets compare with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spent {
    /// Every token (see [`UsageRecord::total_tokens`]).
    pub tokens: u64,
    /// Cost, millionths of a US dollar.
    pub cost_micros: i64,
}

/// Durable usage records.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Stores records (a batch, in one transaction).
    async fn record(&self, records: &[UsageRecord]) -> Result<(), StoreError>;
    /// Sums the records of `query`, one row per group: largest cost first (then by
    /// label), except [`UsageGroup::Day`], which is in date order.
    async fn summarize(&self, query: &UsageQuery) -> Result<Vec<UsageRow>, StoreError>;
    /// What `key_id` used from `since_ms` (Unix milliseconds) on.
    async fn spent(&self, key_id: i64, since_ms: i64) -> Result<Spent, StoreError>;
}

/// What a shared budget counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetUnit {
    /// Tokens (every kind, as [`UsageRecord::total_tokens`] counts them).
    Tokens,
    /// Cost in millionths of a USD.
    CostMicros,
}

impl BudgetUnit {
    /// The word used in counter names.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetUnit::Tokens => "tokens",
            BudgetUnit::CostMicros => "cost",
        }
    }
}

/// One budget of one key in one period, counted once for every replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetCounter {
    /// The key.
    pub key_id: i64,
    /// What is counted.
    pub unit: BudgetUnit,
    /// The period's start, Unix ms (UTC).
    pub period_start_ms: i64,
    /// The next period's start, Unix ms: the counter is forgotten after it.
    pub period_end_ms: i64,
    /// The budget, in `unit`.
    pub limit: i64,
}

/// The answer of [`SharedBudgets::reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The request may go; settle this reservation when it ends.
    Admitted {
        /// The reservation's id.
        reservation: String,
    },
    /// The budget is used up (`used` of it) until the period ends.
    UsedUp {
        /// What was used.
        used: i64,
    },
    /// What is left of the budget is held by `in_flight` requests that may use
    /// it; the request may try again when they end.
    HeldInFlight {
        /// What was used.
        used: i64,
        /// Requests in flight.
        in_flight: i64,
    },
    /// The counter does not exist yet: reserve again with the stored usage as
    /// the seed.
    NeedsSeed,
}

/// Budgets counted once across every replica (the team tier's Valkey), so that
/// replicas under load together stay within one request of a budget.
///
/// A request reserves an upper bound of what it can use before it goes upstream
/// and settles with what it used when it ends. It is admitted only while the
/// budget is not used up, and either nothing else is in flight for the counter or
/// what is used plus every reservation plus its own still fits: near the end of a
/// budget, requests go one at a time, so at most the last one overshoots.
/// Reservations are leases: a replica that dies does not hold them for ever.
#[async_trait]
pub trait SharedBudgets: Send + Sync {
    /// Tries to reserve `amount` on `counter`. `seed` is what the durable store
    /// says was used in the period, taken when the counter does not exist yet;
    /// without it a missing counter answers [`Admission::NeedsSeed`].
    async fn reserve(
        &self,
        counter: &BudgetCounter,
        amount: i64,
        seed: Option<i64>,
    ) -> Result<Admission, StoreError>;
    /// Ends a reservation, charging what the request really used.
    async fn settle(
        &self,
        counter: &BudgetCounter,
        reservation: &str,
        used: i64,
    ) -> Result<(), StoreError>;
}

/// A key with its hash, as `gateway migrate` copies it between tiers (the hash is
/// what lets the key keep working after the move).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    /// The key as listed.
    pub key: ApiKey,
    /// SHA-256 of the key.
    pub token_hash: TokenHash,
}

/// Everything `gateway migrate` carries from one tier to the other: users with
/// their password hashes, keys with their hashes, usage records, and the next ids,
/// so ids handed out before the move are never handed out again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TierData {
    /// Users, oldest first.
    pub users: Vec<super::StoredUser>,
    /// The id the next new user gets.
    pub next_user_id: i64,
    /// API keys (revoked ones included), oldest first.
    pub keys: Vec<StoredKey>,
    /// The id the next new key gets.
    pub next_key_id: i64,
    /// Every usage record.
    pub usage: Vec<UsageRecord>,
}

impl TierData {
    /// Whether there is nothing to copy (no user, key or usage record).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.keys.is_empty() && self.usage.is_empty()
    }

    /// Puts the usage records in one order (all their fields), so two copies of the
    /// same records compare equal whatever order a database returned them in.
    pub fn sort_usage(&mut self) {
        self.usage.sort_by(|a, b| {
            (a.at_ms, a.key_id, a.user_id, &a.agent, &a.model, a.status)
                .cmp(&(b.at_ms, b.key_id, b.user_id, &b.agent, &b.model, b.status))
                .then_with(|| {
                    (
                        a.input_tokens,
                        a.output_tokens,
                        a.cache_read_tokens,
                        a.cache_write_tokens,
                        a.latency_ms,
                        a.cost_micros,
                    )
                        .cmp(&(
                            b.input_tokens,
                            b.output_tokens,
                            b.cache_read_tokens,
                            b.cache_write_tokens,
                            b.latency_ms,
                            b.cost_micros,
                        ))
                })
        });
    }
}

// What follows is the part of the key and usage tables that does not depend on the
// tier: column lists, the limits' JSON, and turning a row into a value. Each tier
// implements [`Columns`] for its row type and writes its own SQL.

/// The columns a key is read from, in the order [`key_from_columns`] expects them;
/// a query may add `token_hash` after them for [`stored_key_from_columns`].
pub(crate) const KEY_COLUMNS: &str =
    "id, name, hint, user_id, agent, limits, created_at, revoked_at";

/// The columns of a usage record, in the order [`usage_record_from_columns`] expects
/// them.
pub(crate) const USAGE_COLUMNS: &str = "at_ms, key_id, user_id, agent, model, input_tokens, \
     output_tokens, cache_read_tokens, cache_write_tokens, status, latency_ms, cost_micros";

/// One database row read by column position: what a tier's row type offers the
/// tier-independent conversions of this module.
pub(crate) trait Columns {
    /// The tier's error.
    type Error;
    /// A 64-bit integer.
    fn int(&self, index: usize) -> Result<i64, Self::Error>;
    /// A 32-bit integer column (status and latency), widened.
    fn small_int(&self, index: usize) -> Result<i64, Self::Error>;
    /// A nullable 64-bit integer.
    fn optional_int(&self, index: usize) -> Result<Option<i64>, Self::Error>;
    /// Text.
    fn text(&self, index: usize) -> Result<String, Self::Error>;
    /// Nullable text.
    fn optional_text(&self, index: usize) -> Result<Option<String>, Self::Error>;
    /// Bytes.
    fn bytes(&self, index: usize) -> Result<Vec<u8>, Self::Error>;
    /// The error for a value that was read but makes no sense (a corrupt row).
    fn invalid(&self, index: usize, message: String) -> Self::Error;
}

/// A key's limits as stored (JSON text).
pub(crate) fn limits_to_json(limits: &KeyLimits) -> Result<String, serde_json::Error> {
    serde_json::to_string(limits)
}

/// A stored count: database integers are signed, so counts past `i64::MAX` (never
/// reached in practice) are kept at the maximum.
pub(crate) fn stored_count(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// A count read back (a negative one would be a corrupt row; read as 0).
pub(crate) fn read_count(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

/// The SQL expression naming a usage row's group (`u` is `usage`, `k` its key, `p`
/// the key's user); `day` is the tier's expression for the UTC day of `u.at_ms`.
pub(crate) fn group_expression(group: UsageGroup, day: &'static str) -> &'static str {
    match group {
        UsageGroup::Key => "coalesce(k.name, 'key #' || u.key_id)",
        UsageGroup::User => {
            "CASE WHEN u.user_id IS NULL THEN '-' \
             ELSE coalesce(p.email, 'deleted user #' || u.user_id) END"
        }
        UsageGroup::Agent => "coalesce(u.agent, '-')",
        UsageGroup::Model => "u.model",
        UsageGroup::Day => day,
    }
}

/// The `ORDER BY` of a usage report (see [`UsageStore::summarize`]).
pub(crate) fn group_order(group: UsageGroup) -> &'static str {
    match group {
        UsageGroup::Day => "label",
        _ => "cost DESC, label",
    }
}

/// A key from the columns of [`KEY_COLUMNS`].
pub(crate) fn key_from_columns<C: Columns>(row: &C) -> Result<ApiKey, C::Error> {
    let name = row.text(1)?;
    let limits: KeyLimits = serde_json::from_str(&row.text(5)?).map_err(|error| {
        row.invalid(
            5,
            format!("the limits of API key `{name}` are not valid JSON: {error}"),
        )
    })?;
    Ok(ApiKey {
        id: row.int(0)?,
        name,
        hint: row.text(2)?,
        user_id: row.optional_int(3)?,
        agent: row.optional_text(4)?,
        limits,
        created_at: row.int(6)?,
        revoked_at: row.optional_int(7)?,
    })
}

/// A key with its hash, from the columns of [`KEY_COLUMNS`] and then `token_hash`.
pub(crate) fn stored_key_from_columns<C: Columns>(row: &C) -> Result<StoredKey, C::Error> {
    let hash = row.bytes(8)?;
    let token_hash = TokenHash::try_from(hash.as_slice()).map_err(|_| {
        row.invalid(
            8,
            format!("an API key hash is {} bytes, not 32", hash.len()),
        )
    })?;
    Ok(StoredKey {
        key: key_from_columns(row)?,
        token_hash,
    })
}

/// A usage record from the columns of [`USAGE_COLUMNS`].
pub(crate) fn usage_record_from_columns<C: Columns>(row: &C) -> Result<UsageRecord, C::Error> {
    Ok(UsageRecord {
        at_ms: row.int(0)?,
        key_id: row.int(1)?,
        user_id: row.optional_int(2)?,
        agent: row.optional_text(3)?,
        model: row.text(4)?,
        input_tokens: read_count(row.int(5)?),
        output_tokens: read_count(row.int(6)?),
        cache_read_tokens: read_count(row.int(7)?),
        cache_write_tokens: read_count(row.int(8)?),
        status: u16::try_from(row.small_int(9)?).unwrap_or(0),
        latency_ms: u32::try_from(row.small_int(10)?).unwrap_or(0),
        cost_micros: row.int(11)?,
    })
}

/// One line of a usage report from a summary query's columns: the label, then the
/// sums of requests, input, output, cache-read and cache-write tokens, errors and
/// cost.
pub(crate) fn usage_row_from_columns<C: Columns>(row: &C) -> Result<UsageRow, C::Error> {
    Ok(UsageRow {
        group: row.text(0)?,
        requests: read_count(row.int(1)?),
        input_tokens: read_count(row.int(2)?),
        output_tokens: read_count(row.int(3)?),
        cache_read_tokens: read_count(row.int(4)?),
        cache_write_tokens: read_count(row.int(5)?),
        errors: read_count(row.int(6)?),
        cost_micros: row.int(7)?,
    })
}

/// What a key spent, from the sums of its tokens and of its cost.
pub(crate) fn spent_from_columns<C: Columns>(row: &C) -> Result<Spent, C::Error> {
    Ok(Spent {
        tokens: read_count(row.int(0)?),
        cost_micros: row.int(1)?,
    })
}

/// An API key for unit tests: `id` and `name`, no owner, no limits, never revoked.
#[cfg(test)]
pub(crate) fn test_key(id: i64, name: &str) -> ApiKey {
    ApiKey {
        id,
        name: name.into(),
        hint: "mosaic_sk_abcd".into(),
        user_id: None,
        agent: None,
        limits: KeyLimits::default(),
        created_at: 0,
        revoked_at: None,
    }
}
