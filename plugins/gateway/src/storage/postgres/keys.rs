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
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::{bounded, pg_error, PostgresStore, SCHEMA};
use crate::clock::unix_now;
use crate::storage::keys::{
    group_expression, group_order, key_from_columns, limits_to_json, spent_from_columns,
    stored_count, stored_key_from_columns, usage_record_from_columns, usage_row_from_columns,
    ApiKey, Columns, KeyStore, NewKey, Spent, StoredKey, UsageQuery, UsageRecord, UsageRow,
    UsageStore, KEY_COLUMNS, USAGE_COLUMNS,
};
use crate::storage::{StoreError, TokenHash};

/// The day of a usage record in PostgreSQL, for [`group_expression`].
const DAY_EXPRESSION: &str =
    "to_char(to_timestamp(u.at_ms / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";

impl Columns for Row {
    type Error = StoreError;

    fn int(&self, index: usize) -> Result<i64, StoreError> {
        self.try_get(index).map_err(pg_error)
    }

    fn small_int(&self, index: usize) -> Result<i64, StoreError> {
        self.try_get::<_, i32>(index)
            .map(i64::from)
            .map_err(pg_error)
    }

    fn optional_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        self.try_get(index).map_err(pg_error)
    }

    fn text(&self, index: usize) -> Result<String, StoreError> {
        self.try_get(index).map_err(pg_error)
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>, StoreError> {
        self.try_get(index).map_err(pg_error)
    }

    fn bytes(&self, index: usize) -> Result<Vec<u8>, StoreError> {
        self.try_get(index).map_err(pg_error)
    }

    fn invalid(&self, _index: usize, message: String) -> StoreError {
        StoreError::Backend(anyhow!(message))
    }
}

/// Runs `sql` with `parameters` and converts every row with `from_row`.
async fn query_rows<T>(
    client: &impl GenericClient,
    sql: &str,
    parameters: &[&(dyn ToSql + Sync)],
    from_row: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
    let rows = client
        .query(&statement, parameters)
        .await
        .map_err(pg_error)?;
    rows.iter().map(from_row).collect()
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
            "INSERT INTO {SCHEMA}.usage ({USAGE_COLUMNS})
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
    query_rows(
        client,
        &format!("SELECT {USAGE_COLUMNS} FROM {SCHEMA}.usage"),
        &[],
        usage_record_from_columns,
    )
    .await
}

/// Every key with its hash, oldest first (for `gateway migrate`).
pub(super) async fn read_stored_keys(
    client: &impl GenericClient,
) -> Result<Vec<StoredKey>, StoreError> {
    query_rows(
        client,
        &format!("SELECT {KEY_COLUMNS}, token_hash FROM {SCHEMA}.api_keys ORDER BY id"),
        &[],
        stored_key_from_columns,
    )
    .await
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
        let limits = limits_to_json(&key.limits).map_err(|error| anyhow!(error))?;
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
        let limits = limits_to_json(&key.limits).map_err(|error| anyhow!(error))?;
        let created_at = unix_now();
        let id = bounded(async {
            let client = self.client().await?;
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
            Ok(row.get::<_, i64>(0))
        })
        .await?;
        Ok(key.into_key(id, created_at))
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        bounded(async {
            let client = self.client().await?;
            query_rows(
                &client,
                &format!("SELECT {KEY_COLUMNS} FROM {SCHEMA}.api_keys ORDER BY id"),
                &[],
                key_from_columns,
            )
            .await
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
                Some(row) => key_from_columns(&row),
                None => Err(StoreError::KeyNotFound),
            }
        })
        .await
    }

    async fn find_key(&self, token_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        bounded(async {
            let client = self.client().await?;
            let keys = query_rows(
                &client,
                &format!("SELECT {KEY_COLUMNS} FROM {SCHEMA}.api_keys WHERE token_hash = $1"),
                &[&&token_hash[..]],
                key_from_columns,
            )
            .await?;
            Ok(keys.into_iter().next())
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
        let group = group_expression(query.group, DAY_EXPRESSION);
        let order = group_order(query.group);
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
            query_rows(
                &client,
                &sql,
                &[
                    &query.since_ms,
                    &query.until_ms,
                    &query.key_id,
                    &query.user_id,
                ],
                usage_row_from_columns,
            )
            .await
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
            spent_from_columns(&row)
        })
        .await
    }
}
