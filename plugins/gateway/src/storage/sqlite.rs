//! The local tier's durable storage: one SQLite database in the data directory, in
//! WAL mode, migrated on open, holding users and sessions, and the proxy's API keys
//! and usage records ([`keys`]).
//!
//! SQLite calls block, so every query runs on tokio's blocking pool behind one
//! connection. Live sessions are also kept in memory (write-through), so the hot
//! path — checking a session on every authenticated request — touches no disk.

mod keys;

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{anyhow, Context as _};
use async_trait::async_trait;
use mosaic_plugin_api::sdk::fs::create_dir_all_with_mode;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};

use super::{
    Credentials, NewUser, Role, Session, SessionStore, StoreError, StoredUser, TokenHash, User,
    UserStore,
};
use crate::clock::unix_now;
use crate::storage::keys::TierData;

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
/// Each runs in one transaction with foreign keys enforced.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        name          TEXT    NOT NULL,
        email         TEXT    NOT NULL UNIQUE,
        password_hash TEXT    NOT NULL,
        role          TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        token_hash BLOB    PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_user ON sessions (user_id);
"#,
    // 2: user ids are never reused. Without AUTOINCREMENT SQLite hands out
    // max(id) + 1, so deleting the newest user gave their id to the next one (audit
    // lines became ambiguous; a delayed DELETE removed someone else). The tables are
    // rebuilt with ids, sessions and foreign keys kept; copying the rows with their
    // ids makes SQLite remember the highest one. Sessions move first: dropping
    // `users` while they still referenced it would cascade-delete them. Renaming
    // `users_v2` rewrites the reference in `sessions_v2` (SQLite >= 3.26).
    r#"
    CREATE TABLE users_v2 (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        name          TEXT    NOT NULL,
        email         TEXT    NOT NULL UNIQUE,
        password_hash TEXT    NOT NULL,
        role          TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
        created_at    INTEGER NOT NULL
    );
    INSERT INTO users_v2 (id, name, email, password_hash, role, created_at)
        SELECT id, name, email, password_hash, role, created_at FROM users ORDER BY id;
    CREATE TABLE sessions_v2 (
        token_hash BLOB    PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users_v2 (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO sessions_v2 (token_hash, user_id, created_at, expires_at)
        SELECT token_hash, user_id, created_at, expires_at FROM sessions;
    DROP TABLE sessions;
    DROP TABLE users;
    ALTER TABLE users_v2 RENAME TO users;
    ALTER TABLE sessions_v2 RENAME TO sessions;
    CREATE INDEX sessions_by_user ON sessions (user_id);
"#,
    // 3: the proxy's API keys (stored as SHA-256, never the key) and one usage row
    // per proxied request. Keys are never deleted (revoked instead), so usage keeps
    // pointing at a key; a deleted user leaves their keys without an owner.
    r#"
    CREATE TABLE api_keys (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        name       TEXT    NOT NULL UNIQUE,
        token_hash BLOB    NOT NULL UNIQUE,
        hint       TEXT    NOT NULL,
        user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
        agent      TEXT,
        limits     TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    CREATE INDEX api_keys_by_user ON api_keys (user_id);
    CREATE TABLE usage (
        at_ms              INTEGER NOT NULL,
        key_id             INTEGER NOT NULL,
        user_id            INTEGER,
        agent              TEXT,
        model              TEXT    NOT NULL,
        input_tokens       INTEGER NOT NULL,
        output_tokens      INTEGER NOT NULL,
        cache_read_tokens  INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        status             INTEGER NOT NULL,
        latency_ms         INTEGER NOT NULL,
        cost_micros        INTEGER NOT NULL
    );
    CREATE INDEX usage_by_time ON usage (at_ms);
    CREATE INDEX usage_by_key ON usage (key_id, at_ms);
"#,
];

/// Sessions kept in memory before the cache is cleared and refilled from disk.
const SESSION_CACHE_LIMIT: usize = 100_000;

/// Users and sessions in SQLite.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    connection: Mutex<Option<Connection>>,
    sessions: RwLock<HashMap<TokenHash, Session>>,
}

fn backend(error: impl Into<anyhow::Error>) -> StoreError {
    StoreError::Backend(error.into())
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(failure, _)
        if failure.code == ErrorCode::ConstraintViolation)
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get("role")?;
    Ok(User {
        id: row.get("id")?,
        name: row.get("name")?,
        email: row.get("email")?,
        role: Role::parse(&role).unwrap_or(Role::User),
        created_at: row.get("created_at")?,
    })
}

const USER_COLUMNS: &str = "id, name, email, role, created_at";

impl SqliteStore {
    /// Opens (creating it 0600 if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        if let Some(directory) = path.parent() {
            create_dir_all_with_mode(directory, 0o700)?;
        }
        // Create the file ourselves so it is private from the first byte; SQLite
        // gives its -wal and -shm files the same mode.
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot create the database {}", path.display()))?;
        let mut connection = Connection::open(path)
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        configure(&connection)
            .with_context(|| format!("cannot configure the database {}", path.display()))?;
        migrate(&mut connection)
            .with_context(|| format!("cannot migrate the database {}", path.display()))?;
        connection
            .execute("DELETE FROM sessions WHERE expires_at <= ?1", [unix_now()])
            .with_context(|| format!("cannot prune sessions in {}", path.display()))?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                connection: Mutex::new(Some(connection)),
                sessions: RwLock::new(HashMap::new()),
            }),
        })
    }

    /// Runs `query` with the connection on the blocking pool.
    async fn with_connection<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = inner
                .connection
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            match guard.as_mut() {
                Some(connection) => query(connection),
                None => Err(backend(anyhow!(
                    "the database {} is closed",
                    inner.path.display()
                ))),
            }
        })
        .await
        .map_err(|error| backend(anyhow!("a database task failed: {error}")))?
    }

    fn cached_session(&self, token_hash: &TokenHash) -> Option<Session> {
        let cache = self
            .inner
            .sessions
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        cache.get(token_hash).cloned()
    }

    fn cache_session(&self, token_hash: TokenHash, session: Session) {
        let mut cache = self
            .inner
            .sessions
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if cache.len() >= SESSION_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(token_hash, session);
    }

    fn forget_sessions(&self, keep: impl Fn(&TokenHash, &Session) -> bool) {
        self.inner
            .sessions
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
            .retain(|hash, session| keep(hash, session));
    }
}

fn configure(connection: &Connection) -> rusqlite::Result<()> {
    let mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode is {mode}, not wal"
        )));
    }
    connection.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )
}

fn migrate(connection: &mut Connection) -> anyhow::Result<()> {
    let applied: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(0);
    if applied > MIGRATIONS.len() {
        anyhow::bail!(
            "the database has schema version {applied}, newer than this gateway knows \
             ({}); upgrade mosaic",
            MIGRATIONS.len()
        );
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", (index + 1) as i64)?;
        transaction.commit()?;
        tracing::info!("database migrated to schema version {}", index + 1);
    }
    Ok(())
}

/// Whether the database at `path` has an admin, read by the CLI before it starts
/// anything. A missing database, or one never migrated, has none.
pub fn admin_exists_in(path: &Path) -> anyhow::Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open the database {}", path.display()))?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    let tables: i64 = connection.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'",
        [],
        |row| row.get(0),
    )?;
    if tables == 0 {
        return Ok(false);
    }
    let exists: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')",
            [],
            |row| row.get(0),
        )
        .with_context(|| format!("cannot read users from {}", path.display()))?;
    Ok(exists)
}

/// Every user of the database at `path` with their password hash, oldest first
/// (for `gateway migrate`). The database is opened read-only.
pub fn read_stored_users(path: &Path) -> anyhow::Result<Vec<StoredUser>> {
    let connection = open_read_only(path)?;
    read_users_from(&connection)
        .with_context(|| format!("cannot read users from {}", path.display()))
}

fn open_read_only(path: &Path) -> anyhow::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open the database {}", path.display()))?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(connection)
}

fn read_users_from(connection: &Connection) -> rusqlite::Result<Vec<StoredUser>> {
    query_rows(
        connection,
        &format!("SELECT {USER_COLUMNS}, password_hash FROM users ORDER BY id"),
        |row| {
            Ok(StoredUser {
                user: user_from_row(row)?,
                password_hash: row.get("password_hash")?,
            })
        },
    )
}

/// Runs `sql` (without parameters) and converts every row with `from_row`.
fn query_rows<T>(
    connection: &Connection,
    sql: &str,
    from_row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map([], from_row)?.collect();
    rows
}

/// The id the next new row of `table` will get: past every id it ever handed out
/// (AUTOINCREMENT remembers them in `sqlite_sequence`). 1 for an empty table.
fn next_id(connection: &Connection, table: &str) -> rusqlite::Result<i64> {
    connection.query_row(
        &format!(
            "SELECT max(
                 coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0),
                 coalesce((SELECT max(id) FROM {table}), 0)
             ) + 1"
        ),
        [],
        |row| row.get(0),
    )
}

/// Makes new rows of `table` start at `next_id` at the earliest (AUTOINCREMENT keeps
/// its high-water mark in `sqlite_sequence`, where a row appears with the first
/// insert).
fn raise_next_id(connection: &Connection, table: &str, next_id: i64) -> rusqlite::Result<()> {
    let handed_out = next_id.saturating_sub(1);
    let updated = connection.execute(
        "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1",
        params![table, handed_out],
    )?;
    if updated == 0 && handed_out > 0 {
        connection.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
            params![table, handed_out],
        )?;
    }
    Ok(())
}

/// The id the next new user of the database at `path` will get: past every id it
/// ever handed out, so `gateway migrate` can carry it over. 1 for a database
/// without users.
pub fn next_user_id(path: &Path) -> anyhow::Result<i64> {
    with_opened(path, |connection| {
        next_id(connection, "users")
            .with_context(|| format!("cannot read the next user id of {}", path.display()))
    })
}

/// Opens (creating and migrating) the database at `path` and runs `work` on its
/// connection, for the commands that use it once.
fn with_opened<T>(
    path: &Path,
    work: impl FnOnce(&mut Connection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let store = SqliteStore::open(path)?;
    let mut guard = store
        .inner
        .connection
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    let connection = guard
        .as_mut()
        .ok_or_else(|| anyhow!("the database {} is closed", path.display()))?;
    work(connection)
}

/// Everything `gateway migrate` copies out of the database at `path`: users, API
/// keys (with their hashes), usage records and the next ids. The database is
/// migrated to the current schema first (so an older one has empty key and usage
/// tables), then read in one read transaction.
pub fn read_tier_data(path: &Path) -> anyhow::Result<TierData> {
    let read = |connection: &mut Connection| -> rusqlite::Result<TierData> {
        let transaction = connection.transaction()?;
        let mut data = TierData {
            users: read_users_from(&transaction)?,
            next_user_id: next_id(&transaction, "users")?,
            keys: keys::read_stored_keys(&transaction)?,
            next_key_id: next_id(&transaction, "api_keys")?,
            usage: keys::read_usage(&transaction)?,
        };
        transaction.commit()?;
        data.sort_usage();
        Ok(data)
    };
    with_opened(path, |connection| {
        read(connection).with_context(|| {
            format!(
                "cannot read users, API keys and usage from {}",
                path.display()
            )
        })
    })
}

/// Creates (and migrates) the database at `path` and copies `data` into it, in one
/// transaction: users, keys and usage with their ids, hashes and times kept; new
/// users and keys start at `data`'s next ids at the earliest (so the id of a user
/// or key the source handed out is not handed out again). Refuses when it already
/// holds users, keys or usage.
pub fn import(path: &Path, data: &TierData) -> anyhow::Result<()> {
    with_opened(path, |connection| import_into(connection, path, data))
}

fn import_into(connection: &mut Connection, path: &Path, data: &TierData) -> anyhow::Result<()> {
    let transaction = connection.transaction()?;
    let existing: i64 = transaction.query_row(
        "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM api_keys)
              + (SELECT count(*) FROM usage)",
        [],
        |row| row.get(0),
    )?;
    if existing > 0 {
        anyhow::bail!(
            "the database {} already holds gateway users, API keys or usage; `gateway \
             migrate` copies into an empty one",
            path.display()
        );
    }
    for stored in &data.users {
        let user = &stored.user;
        transaction.execute(
            "INSERT INTO users (id, name, email, password_hash, role, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                user.id,
                user.name,
                user.email,
                stored.password_hash,
                user.role.as_str(),
                user.created_at
            ],
        )?;
    }
    raise_next_id(&transaction, "users", data.next_user_id)?;
    keys::insert_stored_keys(&transaction, &data.keys)?;
    raise_next_id(&transaction, "api_keys", data.next_key_id)?;
    keys::insert_usage(&transaction, &data.usage)?;
    transaction.commit()?;
    connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(())
}

fn insert_user(connection: &Connection, user: &NewUser) -> Result<User, StoreError> {
    let created_at = unix_now();
    connection
        .execute(
            "INSERT INTO users (name, email, password_hash, role, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                user.name,
                user.email,
                user.password_hash,
                user.role.as_str(),
                created_at
            ],
        )
        .map_err(|error| {
            if is_unique_violation(&error) {
                StoreError::EmailTaken
            } else {
                backend(error)
            }
        })?;
    Ok(User {
        id: connection.last_insert_rowid(),
        name: user.name.clone(),
        email: user.email.clone(),
        role: user.role,
        created_at,
    })
}

fn admin_exists(connection: &Connection) -> rusqlite::Result<bool> {
    connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')",
        [],
        |row| row.get(0),
    )
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn admin_exists(&self) -> Result<bool, StoreError> {
        self.with_connection(|connection| admin_exists(connection).map_err(backend))
            .await
    }

    async fn create_first_admin(&self, admin: NewUser) -> Result<User, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            if admin_exists(&transaction).map_err(backend)? {
                return Err(StoreError::AdminExists);
            }
            let user = insert_user(&transaction, &admin)?;
            transaction.commit().map_err(backend)?;
            Ok(user)
        })
        .await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.with_connection(move |connection| insert_user(connection, &user))
            .await
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError> {
        let email = email.to_string();
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = ?1"),
                    [&email],
                    |row| {
                        Ok(Credentials {
                            user: user_from_row(row)?,
                            password_hash: row.get("password_hash")?,
                        })
                    },
                )
                .optional()
                .map_err(backend)
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.with_connection(|connection| {
            query_rows(
                connection,
                &format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"),
                user_from_row,
            )
            .map_err(backend)
        })
        .await
    }

    async fn delete_user(&self, id: i64) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            let role: Option<String> = transaction
                .query_row("SELECT role FROM users WHERE id = ?1", [id], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(backend)?;
            match role.as_deref() {
                None => return Err(StoreError::NotFound),
                Some("admin") => {
                    let admins: i64 = transaction
                        .query_row(
                            "SELECT count(*) FROM users WHERE role = 'admin'",
                            [],
                            |row| row.get(0),
                        )
                        .map_err(backend)?;
                    if admins <= 1 {
                        return Err(StoreError::LastAdmin);
                    }
                }
                Some(_) => {}
            }
            transaction
                .execute("DELETE FROM users WHERE id = ?1", [id])
                .map_err(backend)?;
            transaction.commit().map_err(backend)
        })
        .await
    }

    async fn set_password_hash(&self, id: i64, password_hash: String) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            let changed = connection
                .execute(
                    "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                    rusqlite::params![password_hash, id],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn close(&self) -> Result<(), StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let connection = inner
                .connection
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .take();
            match connection {
                None => Ok(()),
                Some(connection) => {
                    connection
                        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                        .map_err(backend)?;
                    connection.close().map_err(|(_, error)| backend(error))
                }
            }
        })
        .await
        .map_err(|error| backend(anyhow!("closing the database failed: {error}")))?
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(
        &self,
        token_hash: TokenHash,
        user: &User,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let user_id = user.id;
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![&token_hash[..], user_id, unix_now(), expires_at],
                )
                .map_err(backend)?;
            Ok(())
        })
        .await?;
        self.cache_session(
            token_hash,
            Session {
                user: user.clone(),
                expires_at,
            },
        );
        Ok(())
    }

    async fn find_session(&self, token_hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let now = unix_now();
        if let Some(session) = self.cached_session(token_hash) {
            if session.expires_at > now {
                return Ok(Some(session));
            }
            self.delete_session(token_hash).await?;
            return Ok(None);
        }
        let key = *token_hash;
        let found = self
            .with_connection(move |connection| {
                connection
                    .query_row(
                        "SELECT u.id, u.name, u.email, u.role, u.created_at, s.expires_at
                         FROM sessions s JOIN users u ON u.id = s.user_id
                         WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                        params![&key[..], now],
                        |row| {
                            Ok(Session {
                                user: user_from_row(row)?,
                                expires_at: row.get("expires_at")?,
                            })
                        },
                    )
                    .optional()
                    .map_err(backend)
            })
            .await?;
        if let Some(session) = &found {
            self.cache_session(key, session.clone());
        }
        Ok(found)
    }

    async fn delete_session(&self, token_hash: &TokenHash) -> Result<(), StoreError> {
        let key = *token_hash;
        self.forget_sessions(|hash, _| *hash != key);
        self.with_connection(move |connection| {
            connection
                .execute("DELETE FROM sessions WHERE token_hash = ?1", [&key[..]])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn delete_user_sessions(&self, user_id: i64) -> Result<(), StoreError> {
        self.forget_sessions(|_, session| session.user.id != user_id);
        self.with_connection(move |connection| {
            connection
                .execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A single-threaded runtime for the store's async methods.
    pub(super) fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn new_user(email: &str, role: Role) -> NewUser {
        NewUser {
            name: "Ada".into(),
            email: email.into(),
            password_hash: "hash".into(),
            role,
        }
    }

    #[test]
    fn users_and_sessions_survive_reopening() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("data/gateway.db");
        runtime().block_on(async {
            let store = SqliteStore::open(&path).unwrap();
            assert!(!store.admin_exists().await.unwrap());
            let admin = store
                .create_first_admin(new_user("ada@example.com", Role::Admin))
                .await
                .unwrap();
            assert!(matches!(
                store
                    .create_first_admin(new_user("bob@example.com", Role::Admin))
                    .await,
                Err(StoreError::AdminExists)
            ));
            assert!(matches!(
                store
                    .create_user(new_user("ada@example.com", Role::User))
                    .await,
                Err(StoreError::EmailTaken)
            ));
            store
                .create_session([7; 32], &admin, unix_now() + 60)
                .await
                .unwrap();
            store.close().await.unwrap();
        });
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(admin_exists_in(&path).unwrap());
        runtime().block_on(async {
            let store = SqliteStore::open(&path).unwrap();
            let session = store.find_session(&[7; 32]).await.unwrap().unwrap();
            assert_eq!(session.user.email, "ada@example.com");
            assert!(store.find_session(&[8; 32]).await.unwrap().is_none());
            assert_eq!(store.list_users().await.unwrap().len(), 1);
        });
    }

    #[test]
    fn expired_sessions_are_not_found_and_deleting_a_user_ends_their_sessions() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("gateway.db");
        runtime().block_on(async {
            let store = SqliteStore::open(&path).unwrap();
            let admin = store
                .create_first_admin(new_user("ada@example.com", Role::Admin))
                .await
                .unwrap();
            let user = store
                .create_user(new_user("bob@example.com", Role::User))
                .await
                .unwrap();
            store
                .create_session([1; 32], &admin, unix_now() - 1)
                .await
                .unwrap();
            assert!(store.find_session(&[1; 32]).await.unwrap().is_none());
            store
                .create_session([2; 32], &user, unix_now() + 60)
                .await
                .unwrap();
            assert!(store.find_session(&[2; 32]).await.unwrap().is_some());
            assert!(matches!(
                store.delete_user(admin.id).await,
                Err(StoreError::LastAdmin)
            ));
            store.delete_user(user.id).await.unwrap();
            store.delete_user_sessions(user.id).await.unwrap();
            assert!(store.find_session(&[2; 32]).await.unwrap().is_none());
            assert!(matches!(
                store.delete_user(user.id).await,
                Err(StoreError::NotFound)
            ));
        });
    }

    #[test]
    fn user_ids_are_never_reused_even_across_reopening() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("gateway.db");
        let deleted = runtime().block_on(async {
            let store = SqliteStore::open(&path).unwrap();
            store
                .create_first_admin(new_user("a@example.com", Role::Admin))
                .await
                .unwrap();
            let b = store
                .create_user(new_user("b@example.com", Role::User))
                .await
                .unwrap();
            store.delete_user(b.id).await.unwrap();
            let c = store
                .create_user(new_user("c@example.com", Role::User))
                .await
                .unwrap();
            assert!(
                c.id > b.id,
                "c got id {} after b's {} was deleted",
                c.id,
                b.id
            );
            store.delete_user(c.id).await.unwrap();
            store.close().await.unwrap();
            c.id
        });
        runtime().block_on(async {
            let store = SqliteStore::open(&path).unwrap();
            let d = store
                .create_user(new_user("d@example.com", Role::User))
                .await
                .unwrap();
            assert!(
                d.id > deleted,
                "d got id {} after {deleted} was deleted",
                d.id
            );
        });
    }

    /// A database as the first schema version left it: users 1..=3, sessions of 2
    /// and 3, user 4 created and deleted (so its id is already lost to reuse).
    fn write_schema_1_database(path: &Path) {
        let connection = Connection::open(path).unwrap();
        configure(&connection).unwrap();
        connection.execute_batch(MIGRATIONS[0]).unwrap();
        connection.pragma_update(None, "user_version", 1).unwrap();
        for (id, email, role) in [
            (1, "ada@example.com", "admin"),
            (2, "bob@example.com", "user"),
            (3, "cy@example.com", "user"),
            (4, "dee@example.com", "user"),
        ] {
            connection
                .execute(
                    "INSERT INTO users (id, name, email, password_hash, role, created_at)
                     VALUES (?1, 'Name', ?2, 'hash', ?3, 100)",
                    params![id, email, role],
                )
                .unwrap();
        }
        connection
            .execute("DELETE FROM users WHERE id = 4", [])
            .unwrap();
        for (token, user_id) in [([2u8; 32], 2), ([3u8; 32], 3)] {
            connection
                .execute(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                     VALUES (?1, ?2, 0, ?3)",
                    params![&token[..], user_id, unix_now() + 3600],
                )
                .unwrap();
        }
    }

    #[test]
    fn an_old_database_migrates_and_keeps_its_users_sessions_and_foreign_keys() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("gateway.db");
        write_schema_1_database(&path);
        let before = read_stored_users(&path).unwrap();
        assert_eq!(before.len(), 3);
        runtime().block_on(async {
            let store = SqliteStore::open(&path).unwrap();
            let users = store.list_users().await.unwrap();
            let ids: Vec<i64> = users.iter().map(|user| user.id).collect();
            assert_eq!(ids, [1, 2, 3]);
            let session = store.find_session(&[3; 32]).await.unwrap().unwrap();
            assert_eq!(session.user.email, "cy@example.com");
            // The newest user goes; the next one must not get their id back.
            store.delete_user(3).await.unwrap();
            let next = store
                .create_user(new_user("eve@example.com", Role::User))
                .await
                .unwrap();
            assert!(next.id > 3, "the new user got the deleted id {}", next.id);
            // The rebuilt sessions table still cascades from users.
            store.delete_user(2).await.unwrap();
            store.close().await.unwrap();
        });
        assert_eq!(read_stored_users(&path).unwrap()[0], before[0]);
        let connection = Connection::open(&path).unwrap();
        configure(&connection).unwrap();
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let orphans: i64 = connection
            .query_row(
                "SELECT count(*) FROM sessions WHERE user_id IN (2, 3)",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(orphans, 0, "sessions of deleted users were left behind");
        let problems: i64 = connection
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(problems, 0);
        let schema: String = connection
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'sessions'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(
            schema.contains("REFERENCES \"users\"") || schema.contains("REFERENCES users "),
            "{schema}"
        );
    }

    #[test]
    fn a_missing_database_has_no_admin() {
        let directory = tempfile::tempdir().unwrap();
        assert!(!admin_exists_in(&directory.path().join("none.db")).unwrap());
    }
}
