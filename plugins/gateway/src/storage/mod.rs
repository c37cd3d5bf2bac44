//! The gateway's state behind three small traits, so each storage tier is one set of
//! implementations: [`UserStore`] (durable users), [`SessionStore`] (login sessions
//! with expiry) and [`RateLimiter`] (login attempt counters).
//!
//! The proxy's API keys and usage records are behind two more ([`keys`]).
//!
//! The local tier implements the durable ones with SQLite ([`sqlite`]) and the
//! limiter in memory ([`memory_limiter`]). The team tier ([`team`]) keeps users,
//! keys and usage in PostgreSQL ([`postgres`]) and sessions, rate-limit counters and the replicas'
//! event channel in Valkey ([`valkey`]); the HTTP layer is the same for both. A
//! [`Backend`] also reports the health of the services it depends on.

pub mod keys;
pub mod memory_limiter;
pub mod postgres;
pub mod sqlite;
pub mod team;
pub mod tls;
pub mod valkey;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::settings::{Settings, Tier};

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

/// A user with their password hash, as `gateway migrate` copies it between tiers
/// (id and creation time kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
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

/// A service outside the gateway that a storage tier depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dependency {
    /// PostgreSQL: users (team tier).
    Postgres,
    /// Valkey (or Redis): sessions, rate limits, events (team tier).
    Valkey,
}

impl Dependency {
    /// The word used in `/health` and `gateway status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Postgres => "postgres",
            Dependency::Valkey => "valkey",
        }
    }

    /// The name people know it by.
    pub fn describe(self) -> &'static str {
        match self {
            Dependency::Postgres => "PostgreSQL",
            Dependency::Valkey => "Valkey",
        }
    }
}

/// The health of one dependency, as `/health` and `gateway status` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyHealth {
    /// Which service.
    pub dependency: Dependency,
    /// Its URL with the password replaced by `***`.
    pub address: String,
    /// `None` when it answered; else why not.
    pub error: Option<String>,
}

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
    /// An API key with this name exists (names are never reused).
    KeyNameTaken,
    /// No API key has this name.
    KeyNotFound,
    /// A service the storage depends on cannot be reached or refused the request
    /// (the team tier's PostgreSQL or Valkey is down, restarting, or refuses the
    /// credentials). Answered 503; the gateway retries by itself on later requests.
    Unavailable {
        /// Which service.
        dependency: Dependency,
        /// Why, for the log (never sent to clients; never holds a password).
        reason: String,
    },
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
            StoreError::KeyNameTaken => f.write_str("an API key with this name exists"),
            StoreError::KeyNotFound => f.write_str("no API key has this name"),
            StoreError::Unavailable { dependency, reason } => {
                write!(f, "{} is unavailable: {reason}", dependency.describe())
            }
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
    /// Replaces a user's password hash ([`StoreError::NotFound`] for an unknown id).
    async fn set_password_hash(&self, id: i64, password_hash: String) -> Result<(), StoreError>;
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

/// Why a rate-limited action may not proceed.
#[derive(Debug)]
pub enum Refusal {
    /// The limit is reached; the caller may try again after this long.
    Limited(Duration),
    /// The counters cannot be read (the team tier's Valkey is down): refused, so an
    /// outage never lifts the limit.
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        Refusal::Store(error)
    }
}

/// Counters of events per key (login attempts per client and per email).
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one event for `key`, atomically with the check: refused with
    /// [`Refusal::Limited`] (and not counted) when `key` already had `limit.max`
    /// events in the window. Counting before the slow work (a password hash) is what
    /// stops concurrent attempts from all passing the check.
    async fn hit(&self, key: &str, limit: Limit) -> Result<(), Refusal>;
    /// Forgets every event of `key`.
    async fn reset(&self, key: &str) -> Result<(), StoreError>;
    /// The proxy's budgets counted across replicas, when this limiter shares its
    /// counters with other replicas (the team tier); `None`: each process counts
    /// its own.
    fn shared_budgets(&self) -> Option<&dyn keys::SharedBudgets> {
        None
    }
}

/// An event one replica tells the others that the HTTP layer reacts to (the
/// storage reacts to its own events, such as ended sessions, by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterEvent {
    /// The first admin was created: every replica's bootstrap token is void.
    AdminCreated,
}

/// The replicas of a team-tier gateway, as the HTTP layer sees them.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// Tells every replica (this one included).
    async fn announce(&self, event: ClusterEvent) -> Result<(), StoreError>;
    /// Events announced by any replica from now on.
    fn events(&self) -> broadcast::Receiver<ClusterEvent>;
}

/// A dependency whose health can be checked.
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// Asks the service to answer, within a short timeout.
    async fn probe(&self) -> DependencyHealth;
}

/// The storage of one daemon: the tier's implementations of the traits, the
/// dependencies to watch, and (team tier) the other replicas.
#[derive(Clone)]
pub struct Backend {
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// Sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Login rate limits.
    pub limiter: Arc<dyn RateLimiter>,
    /// The proxy's API keys.
    pub keys: Arc<dyn keys::KeyStore>,
    /// The proxy's usage records.
    pub usage: Arc<dyn keys::UsageStore>,
    /// The services this storage depends on (none for the local tier).
    pub dependencies: Vec<Arc<dyn HealthProbe>>,
    /// The other replicas (team tier only).
    pub cluster: Option<Arc<dyn Cluster>>,
}

impl Backend {
    /// Opens the storage of `settings.tier`: for the local tier the SQLite database
    /// at `database_file` (created and migrated); for the team tier connections to
    /// PostgreSQL and Valkey, made lazily, so the daemon starts (degraded) while a
    /// dependency is down and recovers when it returns.
    pub async fn open(
        settings: &Settings,
        database_file: &std::path::Path,
    ) -> anyhow::Result<Backend> {
        match settings.tier {
            Tier::Local => {
                let database_file = database_file.to_path_buf();
                let store =
                    tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&database_file))
                        .await
                        .map_err(|error| {
                            anyhow::anyhow!("opening the database failed: {error}")
                        })??;
                let store = Arc::new(store);
                Ok(Backend {
                    users: store.clone(),
                    sessions: store.clone(),
                    keys: store.clone(),
                    usage: store,
                    limiter: Arc::new(memory_limiter::MemoryLimiter::default()),
                    dependencies: Vec::new(),
                    cluster: None,
                })
            }
            Tier::Team => team::open(settings).await,
        }
    }

    /// The health of every dependency, checked concurrently.
    pub async fn health(&self) -> Vec<DependencyHealth> {
        futures_util::future::join_all(self.dependencies.iter().map(|probe| probe.probe())).await
    }
}
