//! The gateway's state behind three small traits, so each storage tier is one set of
//! implementations: [`UserStore`] (durable users), [`SessionStore`] (login sessions
//! with expiry) and [`RateLimiter`] (login attempt counters).
//!
//! The local tier implements the first two with SQLite ([`sqlite`]) and the limiter
//! in memory ([`memory_limiter`]). The team tier adds PostgreSQL and Valkey
//! implementations of the same traits; the HTTP layer does not change.

pub mod memory_limiter;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::settings::Tier;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May manage users.
    Admin,
    /// An ordinary user.
    User,
}

impl Role {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    /// Parses a stored or requested role.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// A user as the API shows it (never with the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Stable numeric id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Login email, lower-case.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

/// A user to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Display name.
    pub name: String,
    /// Login email, lower-case.
    pub email: String,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
}

/// A user and their stored password hash, for checking a login.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// The argon2id PHC string.
    pub password_hash: String,
}

/// A live session: who it belongs to and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user.
    pub user: User,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

/// SHA-256 of a session token: what stores keep instead of the token.
pub type TokenHash = [u8; 32];

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// A user with this email exists.
    EmailTaken,
    /// The first admin exists already.
    AdminExists,
    /// No such user.
    NotFound,
    /// Refused: it would leave the gateway without an admin.
    LastAdmin,
    /// The storage itself failed (I/O, corruption, a bug).
    Backend(anyhow::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::EmailTaken => f.write_str("a user with this email already exists"),
            StoreError::AdminExists => f.write_str("an admin already exists"),
            StoreError::NotFound => f.write_str("no such user"),
            StoreError::LastAdmin => f.write_str("the last admin cannot be deleted"),
            StoreError::Backend(error) => write!(f, "storage failed: {error:#}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<anyhow::Error> for StoreError {
    fn from(error: anyhow::Error) -> Self {
        StoreError::Backend(error)
    }
}

/// Durable users.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Whether at least one admin exists.
    async fn admin_exists(&self) -> Result<bool, StoreError>;
    /// Creates the first admin, atomically refusing ([`StoreError::AdminExists`])
    /// when one exists.
    async fn create_first_admin(&self, admin: NewUser) -> Result<User, StoreError>;
    /// Creates a user ([`StoreError::EmailTaken`] on a duplicate email).
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError>;
    /// The user with this (lower-case) email and their password hash.
    async fn credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError>;
    /// Every user, oldest first.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Deletes a user; refuses to delete the last admin.
    async fn delete_user(&self, id: i64) -> Result<(), StoreError>;
    /// Flushes and releases the storage; called once at shutdown.
    async fn close(&self) -> Result<(), StoreError>;
}

/// Login sessions, keyed by the SHA-256 of their token.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Records a session for `user` until `expires_at` (Unix seconds).
    async fn create_session(
        &self,
        token_hash: TokenHash,
        user: &User,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// The live session with this token hash; `None` when unknown or expired.
    async fn find_session(&self, token_hash: &TokenHash) -> Result<Option<Session>, StoreError>;
    /// Ends one session.
    async fn delete_session(&self, token_hash: &TokenHash) -> Result<(), StoreError>;
    /// Ends every session of a user (the user was deleted).
    async fn delete_user_sessions(&self, user_id: i64) -> Result<(), StoreError>;
}

/// A limit: at most `max` events per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Events allowed in one window.
    pub max: u32,
    /// The sliding window.
    pub window: Duration,
}

/// Counters of events per key (login attempts per client and per email).
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// `Err(wait)` when `key` already had `limit.max` events in the window.
    async fn check(&self, key: &str, limit: Limit) -> Result<(), Duration>;
    /// Like [`RateLimiter::check`], and counts one event when allowed.
    async fn hit(&self, key: &str, limit: Limit) -> Result<(), Duration>;
    /// Counts one event without checking.
    async fn record(&self, key: &str, limit: Limit);
    /// Forgets every event of `key`.
    async fn reset(&self, key: &str);
}

/// The storage of one daemon: the tier's implementations of the three traits.
#[derive(Clone)]
pub struct Backend {
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// Sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Login rate limits.
    pub limiter: Arc<dyn RateLimiter>,
}

impl Backend {
    /// Opens (and migrates) the storage of `tier`.
    pub fn open(tier: Tier, database_file: &std::path::Path) -> anyhow::Result<Backend> {
        match tier {
            Tier::Local => {
                let store = Arc::new(sqlite::SqliteStore::open(database_file)?);
                Ok(Backend {
                    users: store.clone(),
                    sessions: store,
                    limiter: Arc::new(memory_limiter::MemoryLimiter::default()),
                })
            }
            Tier::Team => anyhow::bail!(
                "the team tier (PostgreSQL + Valkey) is not supported by this gateway version \
                 yet; set gateway.tier to local"
            ),
        }
    }
}
