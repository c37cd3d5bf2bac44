//! [`KeyStore`] and [`UsageStore`] for the team tier, in PostgreSQL (tables
//! `mosaic_gateway.api_keys` and `mosaic_gateway.usage`, schema version 2).
//!
//! Every replica reads and writes the same tables, so a key created or revoked
//! through one replica (or the CLI) is seen by all at their next lookup. A batch of
//! usage records is one `INSERT … SELECT FROM unnest(…)` statement: one round trip
//! however many records it holds.

use anyhow::anyhow;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use super::{bounded, pg_error, PostgresStore, SCHEMA};
use crate::clock::unix_now;
use crate::storage::keys::{
    ApiKey, KeyLimits, KeyStore, NewKey, Spent, StoredKey, UsageGroup, UsageQuery, UsageRecord,
    UsageRow, UsageStore,
};
use crate::storage::{StoreError, TokenHash};

const KEY_COLUMNS: &str = "id, name, hint, user_id, agent, limits, created_at, revoked_at";

fn key_from_row(row: &Row) -> Result<ApiKey, StoreError> {
    let name: String = row.try_get("name").map_err(pg_error)?;
    let limits: String = row.try_get("limits").map_err(pg_error)?;
    let limits: KeyLimits = serde_json::from_str(&limits).map_err(|error| {
        StoreError::Backend(anyhow!(
            "the limits of API key `{name}` are not valid JSON: {error}"
        ))
    })?;
    Ok(ApiKey {
        id: row.try_get("id").map_err(pg_error)?,
        name,
        hint: row.try_get("hint").map_err(pg_error)?,
        user_id: row.try_get("user_id").map_err(pg_error)?,
        agent: row.try_get("agent").map_err(pg_error)?,
        limits,
        created_at: row.try_get("created_at").map_err(pg_error)?,
        revoked_at: row.try_get("revoked_at").map_err(pg_error)?,
    })
}

/// A stored count (bigint is signed; counts past `i64::MAX` are kept at it).
fn stored_count(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// A count read back (a negative one would be a corrupt row; read as 0).
fn read_count(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

/// The SQL expression naming a row's group (`u` is `usage`, `k` its key, `p` the
/// key's user).
fn group_expression(group: UsageGroup) -> &'static str {
    match group {
        UsageGroup::Key => "coalesce(k.name, 'key #' || u.key_id)",
        UsageGroup::User => {
            "CASE WHEN u.user_id IS NULL THEN '-' \
             ELSE coalesce(p.email, 'deleted user #' || u.user_id) END"
        }
        UsageGroup::Agent => "coalesce(u.agent, '-')",
        UsageGroup::Model => "u.model",
        UsageGroup::Day => "to_char(to_timestamp(u.at_ms / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    }
}

/// Inserts usage records in one statement (one round trip however many there are).
pub(super) async fn insert_usage(
    client: &impl GenericClient,
    records: &[UsageRecord],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let column = |get: fn(&UsageRecord) -> i64| records.iter().map(get).collect::<Vec<i64>>();
    let at_ms = column(|record| record.at_ms);
    let key_id = column(|record| record.key_id);
    let input = column(|record| stored_count(record.input_tokens));
    let output = column(|record| stored_count(record.output_tokens));
    let cache_read = column(|record| stored_count(record.cache_read_tokens));
    let cache_write = column(|record| stored_count(record.cache_write_tokens));
    let cost = column(|record| record.cost_micros);
    let user_id: Vec<Option<i64>> = records.iter().map(|record| record.user_id).collect();
    let agent: Vec<Option<&str>> = records
        .iter()
        .map(|record| record.agent.as_deref())
        .collect();
    let model: Vec<&str> = records.iter().map(|record| record.model.as_str()).collect();
    let status: Vec<i32> = records
        .iter()
        .map(|record| i32::from(record.status))
        .collect();
    let latency: Vec<i32> = records
        .iter()
        .map(|record| i32::try_from(record.latency_ms).unwrap_or(i32::MAX))
        .collect();
    let statement = client
        .prepare_cached(&format!(
            "INSERT INTO {SCHEMA}.usage (at_ms, key_id, user_id, agent, model,
                 input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                 status, latency_ms, cost_micros)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[],
                 $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[],
                 $10::integer[], $11::integer[], $12::bigint[])"
        ))
        .await
        .map_err(pg_error)?;
    client
        .execute(
            &statement,
            &[
                &at_ms,
                &key_id,
                &user_id,
                &agent,
                &model,
                &input,
                &output,
                &cache_read,
                &cache_write,
                &status,
                &latency,
                &cost,
            ],
        )
        .await
        .map_err(pg_error)?;
    Ok(())
}

/// Every usage record (for `gateway migrate`).
pub(super) async fn read_usage(
    client: &impl GenericClient,
) -> Result<Vec<UsageRecord>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT at_ms, key_id, user_id, agent, model, input_tokens, output_tokens,
                        cache_read_tokens, cache_write_tokens, status, latency_ms, cost_micros
                 FROM {SCHEMA}.usage"
            ),
            &[],
        )
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|row| {
            let count = |index: usize| -> Result<u64, StoreError> {
                Ok(read_count(row.try_get(index).map_err(pg_error)?))
            };
            let status: i32 = row.try_get(9).map_err(pg_error)?;
            let latency: i32 = row.try_get(10).map_err(pg_error)?;
            Ok(UsageRecord {
                at_ms: row.try_get(0).map_err(pg_error)?,
                key_id: row.try_get(1).map_err(pg_error)?,
                user_id: row.try_get(2).map_err(pg_error)?,
                agent: row.try_get(3).map_err(pg_error)?,
                model: row.try_get(4).map_err(pg_error)?,
                input_tokens: count(5)?,
                output_tokens: count(6)?,
                cache_read_tokens: count(7)?,
                cache_write_tokens: count(8)?,
                status: u16::try_from(status).unwrap_or(0),
                latency_ms: u32::try_from(latency).unwrap_or(0),
                cost_micros: row.try_get(11).map_err(pg_error)?,
            })
        })
        .collect()
}

/// Every key with its hash, oldest first (for `gateway migrate`).
pub(super) async fn read_stored_keys(
    client: &impl GenericClient,
) -> Result<Vec<StoredKey>, StoreError> {
    let rows = client
        .query(
            &format!("SELECT {KEY_COLUMNS}, token_hash FROM {SCHEMA}.api_keys ORDER BY id"),
            &[],
        )
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|row| {
            let hash: Vec<u8> = row.try_get("token_hash").map_err(pg_error)?;
            let token_hash = TokenHash::try_from(hash.as_slice()).map_err(|_| {
                StoreError::Backend(anyhow!("an API key hash is {} bytes, not 32", hash.len()))
            })?;
            Ok(StoredKey {
                key: key_from_row(row)?,
                token_hash,
            })
        })
        .collect()
}

/// Inserts keys with their ids, hashes, times and revoked state kept (for `gateway
/// migrate`, inside its transaction).
pub(super) async fn insert_stored_keys(
    client: &impl GenericClient,
    keys: &[StoredKey],
) -> Result<(), StoreError> {
    let statement = client
        .prepare(&format!(
            "INSERT INTO {SCHEMA}.api_keys (id, name, token_hash, hint, user_id, agent, limits,
                 created_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .await
        .map_err(pg_error)?;
    for stored in keys {
        let key = &stored.key;
        let limits = serde_json::to_string(&key.limits).map_err(|error| anyhow!(error))?;
        client
            .execute(
                &statement,
                &[
                    &key.id,
                    &key.name,
                    &&stored.token_hash[..],
                    &key.hint,
                    &key.user_id,
                    &key.agent,
                    &limits,
                    &key.created_at,
                    &key.revoked_at,
                ],
            )
            .await
            .map_err(pg_error)?;
    }
    Ok(())
}

#[async_trait]
impl KeyStore for PostgresStore {
    async fn create_key(&self, key: NewKey) -> Result<ApiKey, StoreError> {
        let limits = serde_json::to_string(&key.limits).map_err(|error| anyhow!(error))?;
        bounded(async {
            let client = self.client().await?;
            let created_at = unix_now();
            let row = client
                .query_one(
                    &format!(
                        "INSERT INTO {SCHEMA}.api_keys
                             (name, token_hash, hint, user_id, agent, limits, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
                    ),
                    &[
                        &key.name,
                        &&key.token_hash[..],
                        &key.hint,
                        &key.user_id,
                        &key.agent,
                        &limits,
                        &created_at,
                    ],
                )
                .await
                .map_err(|error| {
                    let constraint = error.as_db_error().and_then(|db| db.constraint());
                    if error.code() == Some(&SqlState::UNIQUE_VIOLATION)
                        && constraint == Some("api_keys_name_key")
                    {
                        StoreError::KeyNameTaken
                    } else {
                        pg_error(error)
                    }
                })?;
            Ok(ApiKey {
                id: row.get(0),
                name: key.name.clone(),
                hint: key.hint.clone(),
                user_id: key.user_id,
                agent: key.agent.clone(),
                limits: key.limits.clone(),
                created_at,
                revoked_at: None,
            })
        })
        .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        bounded(async {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(&format!(
                    "SELECT {KEY_COLUMNS} FROM {SCHEMA}.api_keys ORDER BY id"
                ))
                .await
                .map_err(pg_error)?;
            let rows = client.query(&statement, &[]).await.map_err(pg_error)?;
            rows.iter().map(key_from_row).collect()
        })
        .await
    }

    async fn revoke_key(&self, name: &str) -> Result<ApiKey, StoreError> {
        bounded(async {
            let client = self.client().await?;
            // Sets the time only once: revoking again keeps the first time.
            let row = client
                .query_opt(
                    &format!(
                        "UPDATE {SCHEMA}.api_keys SET revoked_at = coalesce(revoked_at, $2)
                         WHERE name = $1 RETURNING {KEY_COLUMNS}"
                    ),
                    &[&name, &unix_now()],
                )
                .await
                .map_err(pg_error)?;
            match row {
                Some(row) => key_from_row(&row),
                None => Err(StoreError::KeyNotFound),
            }
        })
        .await
    }

    async fn find_key(&self, token_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        bounded(async {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(&format!(
                    "SELECT {KEY_COLUMNS} FROM {SCHEMA}.api_keys WHERE token_hash = $1"
                ))
                .await
                .map_err(pg_error)?;
            let row = client
                .query_opt(&statement, &[&&token_hash[..]])
                .await
                .map_err(pg_error)?;
            row.as_ref().map(key_from_row).transpose()
        })
        .await
    }
}

#[async_trait]
impl UsageStore for PostgresStore {
    async fn record(&self, records: &[UsageRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        bounded(async {
            let client = self.client().await?;
            insert_usage(&client, records).await
        })
        .await
    }

    async fn summarize(&self, query: &UsageQuery) -> Result<Vec<UsageRow>, StoreError> {
        let group = group_expression(query.group);
        let order = match query.group {
            UsageGroup::Day => "label",
            _ => "cost DESC, label",
        };
        let sql = format!(
            "SELECT {group} AS label, count(*)::bigint,
                    coalesce(sum(u.input_tokens), 0)::bigint,
                    coalesce(sum(u.output_tokens), 0)::bigint,
                    coalesce(sum(u.cache_read_tokens), 0)::bigint,
                    coalesce(sum(u.cache_write_tokens), 0)::bigint,
                    count(*) FILTER (WHERE u.status >= 400)::bigint,
                    coalesce(sum(u.cost_micros), 0)::bigint AS cost
             FROM {SCHEMA}.usage u
             LEFT JOIN {SCHEMA}.api_keys k ON k.id = u.key_id
             LEFT JOIN {SCHEMA}.users p ON p.id = u.user_id
             WHERE ($1::bigint IS NULL OR u.at_ms >= $1) AND ($2::bigint IS NULL OR u.at_ms < $2)
               AND ($3::bigint IS NULL OR u.key_id = $3)
               AND ($4::bigint IS NULL OR u.user_id = $4)
             GROUP BY label
             ORDER BY {order}"
        );
        bounded(async {
            let client = self.client().await?;
            let statement = client.prepare_cached(&sql).await.map_err(pg_error)?;
            let rows = client
                .query(
                    &statement,
                    &[
                        &query.since_ms,
                        &query.until_ms,
                        &query.key_id,
                        &query.user_id,
                    ],
                )
                .await
                .map_err(pg_error)?;
            rows.iter()
                .map(|row| {
                    let count = |index: usize| -> Result<u64, StoreError> {
                        Ok(read_count(row.try_get(index).map_err(pg_error)?))
                    };
                    Ok(UsageRow {
                        group: row.try_get(0).map_err(pg_error)?,
                        requests: count(1)?,
                        input_tokens: count(2)?,
                        output_tokens: count(3)?,
                        cache_read_tokens: count(4)?,
                        cache_write_tokens: count(5)?,
                        errors: count(6)?,
                        cost_micros: row.try_get(7).map_err(pg_error)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn spent(&self, key_id: i64, since_ms: i64) -> Result<Spent, StoreError> {
        bounded(async {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(&format!(
                    "SELECT coalesce(sum(input_tokens + output_tokens + cache_read_tokens
                                         + cache_write_tokens), 0)::bigint,
                            coalesce(sum(cost_micros), 0)::bigint
                     FROM {SCHEMA}.usage WHERE key_id = $1 AND at_ms >= $2"
                ))
                .await
                .map_err(pg_error)?;
            let row = client
                .query_one(&statement, &[&key_id, &since_ms])
                .await
                .map_err(pg_error)?;
            Ok(Spent {
                tokens: read_count(row.try_get(0).map_err(pg_error)?),
                cost_micros: row.try_get(1).map_err(pg_error)?,
            })
        })
        .await
    }
}
