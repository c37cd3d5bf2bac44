//! [`KeyStore`] and [`UsageStore`] for the local tier, in the same SQLite database
//! as users (tables `api_keys` and `usage`, schema version 3).
//!
//! A key is looked up by the unique index on its hash, so the proxy's per-request
//! check is one indexed read. Usage records arrive in batches and are written in one
//! transaction each.

use anyhow::anyhow;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::{backend, is_unique_violation, query_rows, SqliteStore};
use crate::clock::unix_now;
use crate::storage::keys::{
    group_expression, group_order, key_from_columns, limits_to_json, spent_from_columns,
    stored_count, stored_key_from_columns, usage_record_from_columns, usage_row_from_columns,
    ApiKey, Columns, KeyStore, NewKey, Spent, StoredKey, UsageQuery, UsageRecord, UsageRow,
    UsageStore, KEY_COLUMNS, USAGE_COLUMNS,
};
use crate::storage::{StoreError, TokenHash};

/// The day of a usage record in SQLite, for [`group_expression`].
const DAY_EXPRESSION: &str = "strftime('%Y-%m-%d', u.at_ms / 1000, 'unixepoch')";

impl Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn int(&self, index: usize) -> rusqlite::Result<i64> {
        self.get(index)
    }

    fn small_int(&self, index: usize) -> rusqlite::Result<i64> {
        self.get(index)
    }

    fn optional_int(&self, index: usize) -> rusqlite::Result<Option<i64>> {
        self.get(index)
    }

    fn text(&self, index: usize) -> rusqlite::Result<String> {
        self.get(index)
    }

    fn optional_text(&self, index: usize) -> rusqlite::Result<Option<String>> {
        self.get(index)
    }

    fn bytes(&self, index: usize) -> rusqlite::Result<Vec<u8>> {
        self.get(index)
    }

    fn invalid(&self, index: usize, message: String) -> rusqlite::Error {
        let data_type = self
            .get_ref(index)
            .map(|value| value.data_type())
            .unwrap_or(rusqlite::types::Type::Null);
        rusqlite::Error::FromSqlConversionFailure(index, data_type, anyhow!(message).into())
    }
}

fn key_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    key_from_columns(row)
}

/// Every key with its hash, oldest first (for `gateway migrate`).
pub(super) fn read_stored_keys(connection: &Connection) -> rusqlite::Result<Vec<StoredKey>> {
    query_rows(
        connection,
        &format!("SELECT {KEY_COLUMNS}, token_hash FROM api_keys ORDER BY id"),
        |row| stored_key_from_columns(row),
    )
}

/// Inserts keys with their ids, hashes, times and revoked state kept (for `gateway
/// migrate`, inside its transaction).
pub(super) fn insert_stored_keys(
    connection: &Connection,
    keys: &[StoredKey],
) -> rusqlite::Result<()> {
    let mut statement = connection.prepare(
        "INSERT INTO api_keys (id, name, token_hash, hint, user_id, agent, limits, created_at,
             revoked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for stored in keys {
        let key = &stored.key;
        let limits = limits_to_json(&key.limits)
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(error.into()))?;
        statement.execute(params![
            key.id,
            key.name,
            &stored.token_hash[..],
            key.hint,
            key.user_id,
            key.agent,
            limits,
            key.created_at,
            key.revoked_at
        ])?;
    }
    Ok(())
}

/// Every usage record, in the order they were stored (for `gateway migrate`).
pub(super) fn read_usage(connection: &Connection) -> rusqlite::Result<Vec<UsageRecord>> {
    query_rows(
        connection,
        &format!("SELECT {USAGE_COLUMNS} FROM usage ORDER BY rowid"),
        |row| usage_record_from_columns(row),
    )
}

/// Inserts usage records (the caller holds the transaction).
pub(super) fn insert_usage(
    connection: &Connection,
    records: &[UsageRecord],
) -> rusqlite::Result<()> {
    let mut statement = connection.prepare_cached(&format!(
        "INSERT INTO usage ({USAGE_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?;
    for record in records {
        statement.execute(params![
            record.at_ms,
            record.key_id,
            record.user_id,
            record.agent,
            record.model,
            stored_count(record.input_tokens),
            stored_count(record.output_tokens),
            stored_count(record.cache_read_tokens),
            stored_count(record.cache_write_tokens),
            record.status,
            record.latency_ms,
            record.cost_micros
        ])?;
    }
    Ok(())
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn create_key(&self, key: NewKey) -> Result<ApiKey, StoreError> {
        let limits = limits_to_json(&key.limits).map_err(backend)?;
        self.with_connection(move |connection| {
            let created_at = unix_now();
            connection
                .execute(
                    "INSERT INTO api_keys (name, token_hash, hint, user_id, agent, limits, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        key.name,
                        &key.token_hash[..],
                        key.hint,
                        key.user_id,
                        key.agent,
                        limits,
                        created_at
                    ],
                )
                .map_err(|error| {
                    if is_unique_violation(&error) && error.to_string().contains("api_keys.name")
                    {
                        StoreError::KeyNameTaken
                    } else if is_unique_violation(&error) {
                        // A foreign key (the user) or, astronomically unlikely, a
                        // duplicate hash.
                        backend(anyhow!("cannot store the API key: {error}"))
                    } else {
                        backend(error)
                    }
                })?;
            Ok(key.into_key(connection.last_insert_rowid(), created_at))
        })
        .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.with_connection(|connection| {
            query_rows(
                connection,
                &format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id"),
                key_from_row,
            )
            .map_err(backend)
        })
        .await
    }

    async fn revoke_key(&self, name: &str) -> Result<ApiKey, StoreError> {
        let name = name.to_string();
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE api_keys SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                    params![name, unix_now()],
                )
                .map_err(backend)?;
            connection
                .query_row(
                    &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE name = ?1"),
                    [&name],
                    key_from_row,
                )
                .optional()
                .map_err(backend)?
                .ok_or(StoreError::KeyNotFound)
        })
        .await
    }

    async fn find_key(&self, token_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        let hash = *token_hash;
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE token_hash = ?1"
                ))
                .map_err(backend)?;
            statement
                .query_row([&hash[..]], key_from_row)
                .optional()
                .map_err(backend)
        })
        .await
    }
}

#[async_trait]
impl UsageStore for SqliteStore {
    async fn record(&self, records: &[UsageRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let records = records.to_vec();
        self.with_connection(move |connection| {
            let transaction = connection.transaction().map_err(backend)?;
            insert_usage(&transaction, &records).map_err(backend)?;
            transaction.commit().map_err(backend)
        })
        .await
    }

    async fn summarize(&self, query: &UsageQuery) -> Result<Vec<UsageRow>, StoreError> {
        let query = query.clone();
        self.with_connection(move |connection| {
            let group = group_expression(query.group, DAY_EXPRESSION);
            let order = group_order(query.group);
            let sql = format!(
                "SELECT {group} AS label, count(*) AS requests,
                        coalesce(sum(u.input_tokens), 0), coalesce(sum(u.output_tokens), 0),
                        coalesce(sum(u.cache_read_tokens), 0),
                        coalesce(sum(u.cache_write_tokens), 0),
                        coalesce(sum(u.status >= 400), 0),
                        coalesce(sum(u.cost_micros), 0) AS cost
                 FROM usage u
                 LEFT JOIN api_keys k ON k.id = u.key_id
                 LEFT JOIN users p ON p.id = u.user_id
                 WHERE (?1 IS NULL OR u.at_ms >= ?1) AND (?2 IS NULL OR u.at_ms < ?2)
                   AND (?3 IS NULL OR u.key_id = ?3) AND (?4 IS NULL OR u.user_id = ?4)
                 GROUP BY label
                 ORDER BY {order}"
            );
            let mut statement = connection.prepare_cached(&sql).map_err(backend)?;
            let rows = statement
                .query_map(
                    params![query.since_ms, query.until_ms, query.key_id, query.user_id],
                    |row| usage_row_from_columns(row),
                )
                .map_err(backend)?
                .collect::<rusqlite::Result<Vec<UsageRow>>>()
                .map_err(backend)?;
            Ok(rows)
        })
        .await
    }

    async fn spent(&self, key_id: i64, since_ms: i64) -> Result<Spent, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT coalesce(sum(input_tokens + output_tokens + cache_read_tokens
                                         + cache_write_tokens), 0),
                            coalesce(sum(cost_micros), 0)
                     FROM usage WHERE key_id = ?1 AND at_ms >= ?2",
                )
                .map_err(backend)?;
            statement
                .query_row(params![key_id, since_ms], |row| spent_from_columns(row))
                .map_err(backend)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::keys::{BudgetPeriod, KeyLimits, TokenBudget, UsageGroup};
    use crate::storage::sqlite::tests::runtime;
    use crate::storage::{NewUser, Role, User, UserStore};

    fn new_key(name: &str, hash: u8, user_id: Option<i64>, agent: Option<&str>) -> NewKey {
        NewKey {
            name: name.into(),
            token_hash: [hash; 32],
            hint: format!("mosaic_sk_{hash:04}"),
            user_id,
            agent: agent.map(str::to_string),
            limits: KeyLimits::default(),
        }
    }

    async fn create_bob(store: &SqliteStore) -> User {
        store
            .create_user(NewUser {
                name: "Bob".into(),
                email: "bob@example.com".into(),
                password_hash: "hash".into(),
                role: Role::User,
            })
            .await
            .unwrap()
    }

    fn record(at_ms: i64, key: &ApiKey, model: &str, tokens: u64, status: u16) -> UsageRecord {
        UsageRecord {
            at_ms,
            key_id: key.id,
            user_id: key.user_id,
            agent: key.agent.clone(),
            model: model.into(),
            input_tokens: tokens,
            output_tokens: tokens * 2,
            cache_read_tokens: 1,
            cache_write_tokens: 2,
            status,
            latency_ms: 10,
            cost_micros: i64::try_from(tokens).unwrap() * 100,
        }
    }

    #[test]
    fn keys_are_created_found_by_hash_listed_and_revoked_once() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("gateway.db");
        runtime().block_on(async {
            let store = SqliteStore::open(&path).unwrap();
            let limits = KeyLimits {
                budget_tokens: Some(TokenBudget {
                    tokens: 1000,
                    period: BudgetPeriod::Day,
                }),
                budget_usd_micros_month: Some(5_000_000),
                rpm: Some(60),
                tpm: None,
                expires_at: Some(2_000_000_000),
                models: vec!["claude-sonnet-4-5".into()],
            };
            let created = store
                .create_key(NewKey {
                    limits: limits.clone(),
                    ..new_key("agent-a", 1, None, Some("a"))
                })
                .await
                .unwrap();
            assert_eq!(created.limits, limits);
            assert!(matches!(
                store.create_key(new_key("agent-a", 2, None, None)).await,
                Err(StoreError::KeyNameTaken)
            ));
            let found = store.find_key(&[1; 32]).await.unwrap().unwrap();
            assert_eq!(found, created);
            assert!(store.find_key(&[2; 32]).await.unwrap().is_none());

            let revoked = store.revoke_key("agent-a").await.unwrap();
            let at = revoked.revoked_at.expect("revoked");
            let again = store.revoke_key("agent-a").await.unwrap();
            assert_eq!(again.revoked_at, Some(at), "revoking again keeps the time");
            assert_eq!(
                store.find_key(&[1; 32]).await.unwrap().unwrap().revoked_at,
                Some(at)
            );
            assert!(matches!(
                store.revoke_key("nobody").await,
                Err(StoreError::KeyNotFound)
            ));
            // A revoked key's name stays taken.
            assert!(matches!(
                store.create_key(new_key("agent-a", 3, None, None)).await,
                Err(StoreError::KeyNameTaken)
            ));
            store
                .create_key(new_key("agent-b", 4, None, None))
                .await
                .unwrap();
            let names: Vec<String> = store
                .list_keys()
                .await
                .unwrap()
                .into_iter()
                .map(|key| key.name)
                .collect();
            assert_eq!(names, ["agent-a", "agent-b"]);
            store.close().await.unwrap();
        });
        // The database holds the hash and the hint, never more of the key.
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(text.contains("mosaic_sk_0001"));
    }

    #[test]
    fn a_deleted_user_leaves_their_keys_without_an_owner() {
        let directory = tempfile::tempdir().unwrap();
        runtime().block_on(async {
            let store = SqliteStore::open(&directory.path().join("gateway.db")).unwrap();
            let user = create_bob(&store).await;
            store
                .create_key(new_key("bobs", 1, Some(user.id), None))
                .await
                .unwrap();
            store.delete_user(user.id).await.unwrap();
            let key = store.find_key(&[1; 32]).await.unwrap().unwrap();
            assert_eq!(key.user_id, None);
        });
    }

    #[test]
    fn usage_is_summed_per_group_and_per_key() {
        let directory = tempfile::tempdir().unwrap();
        runtime().block_on(async {
            let store = SqliteStore::open(&directory.path().join("gateway.db")).unwrap();
            let user = create_bob(&store).await;
            let a = store
                .create_key(new_key("a", 1, Some(user.id), Some("agent-a")))
                .await
                .unwrap();
            let b = store.create_key(new_key("b", 2, None, None)).await.unwrap();
            // 2024-03-01 00:00:00 UTC and the day after.
            let day1 = 1_709_251_200_000;
            let day2 = day1 + 86_400_000;
            store
                .record(&[
                    record(day1, &a, "opus", 10, 200),
                    record(day1 + 5, &a, "sonnet", 20, 200),
                    record(day2, &a, "sonnet", 30, 429),
                    record(day2 + 1, &b, "sonnet", 5, 200),
                ])
                .await
                .unwrap();
            store.record(&[]).await.unwrap();
            let query = |group| UsageQuery {
                since_ms: None,
                until_ms: None,
                key_id: None,
                user_id: None,
                group,
            };

            let by_key = store.summarize(&query(UsageGroup::Key)).await.unwrap();
            assert_eq!(by_key.len(), 2);
            assert_eq!(
                by_key[0],
                UsageRow {
                    group: "a".into(),
                    requests: 3,
                    input_tokens: 60,
                    output_tokens: 120,
                    cache_read_tokens: 3,
                    cache_write_tokens: 6,
                    errors: 1,
                    cost_micros: 6000,
                }
            );
            assert_eq!(by_key[1].group, "b");

            let labels = |rows: Vec<UsageRow>| -> Vec<String> {
                rows.into_iter().map(|row| row.group).collect()
            };
            assert_eq!(
                labels(store.summarize(&query(UsageGroup::User)).await.unwrap()),
                ["bob@example.com", "-"]
            );
            assert_eq!(
                labels(store.summarize(&query(UsageGroup::Agent)).await.unwrap()),
                ["agent-a", "-"]
            );
            assert_eq!(
                labels(store.summarize(&query(UsageGroup::Model)).await.unwrap()),
                ["sonnet", "opus"]
            );
            assert_eq!(
                labels(store.summarize(&query(UsageGroup::Day)).await.unwrap()),
                ["2024-03-01", "2024-03-02"]
            );

            let day_two = store
                .summarize(&UsageQuery {
                    since_ms: Some(day2),
                    ..query(UsageGroup::Key)
                })
                .await
                .unwrap();
            assert_eq!(day_two.iter().map(|row| row.requests).sum::<u64>(), 2);
            let day_one = store
                .summarize(&UsageQuery {
                    until_ms: Some(day2),
                    ..query(UsageGroup::Key)
                })
                .await
                .unwrap();
            assert_eq!(labels(day_one), ["a"]);
            let bobs = store
                .summarize(&UsageQuery {
                    user_id: Some(user.id),
                    ..query(UsageGroup::Key)
                })
                .await
                .unwrap();
            assert_eq!(labels(bobs), ["a"]);
            let only_b = store
                .summarize(&UsageQuery {
                    key_id: Some(b.id),
                    ..query(UsageGroup::Model)
                })
                .await
                .unwrap();
            assert_eq!(only_b.len(), 1);
            assert_eq!(only_b[0].requests, 1);

            assert_eq!(
                store.spent(a.id, day1 + 1).await.unwrap(),
                Spent {
                    tokens: (20 + 40 + 3) + (30 + 60 + 3),
                    cost_micros: 5000,
                }
            );
            assert_eq!(store.spent(b.id, day2 + 2).await.unwrap(), Spent::default());

            // A user deleted later shows as such, not as nobody.
            store.delete_user(user.id).await.unwrap();
            assert_eq!(
                labels(store.summarize(&query(UsageGroup::User)).await.unwrap()),
                [format!("deleted user #{}", user.id), "-".to_string()]
            );
        });
    }
}
