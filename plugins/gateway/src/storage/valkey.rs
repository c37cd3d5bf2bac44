//! The team tier's shared, short-lived state in Valkey (any server that speaks the
//! Redis protocol): login sessions with expiry, the login rate-limit counters, and
//! a pub/sub channel on which the replicas tell each other what changed.
//!
//! Keys, all under `mosaic:gateway:`:
//!
//! | key | holds |
//! | --- | --- |
//! | `session:<sha256 hex>` | the session (its user and expiry) as JSON; expires with it |
//! | `user-sessions:<user id>` | the set of that user's session hashes, to end them all |
//! | `limit:<key>` | a sorted set of event times (the sliding window of one limit) |
//! | `budget:<key id>:<unit>:<period start>:used` | what the API key used in the period |
//! | `budget:<key id>:<unit>:<period start>:leases` | its reservations in flight, by lease end |
//! | `budget:<key id>:<unit>:<period start>:amounts` | what each reservation holds |
//!
//! Each replica also keeps the sessions it has seen in memory, so checking a
//! session on every request costs no round trip. That cache is only used while the
//! replica is subscribed to the event channel: an ended session (logout) or a
//! deleted user is announced there and dropped from every replica's cache at once.
//! When the subscription breaks (Valkey restarts, the network fails) the cache is
//! emptied and bypassed until it is back, so no replica serves a session another
//! one ended; an entry also lives at most [`SESSION_CACHE_MAX_AGE`].
//!
//! Every command has a short timeout; a Valkey that is down becomes
//! [`StoreError::Unavailable`] (503), and the connection comes back by itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::keys::{Admission, BudgetCounter, SharedBudgets};
use super::{
    Cluster, ClusterEvent, Dependency, DependencyHealth, HealthProbe, Limit, RateLimiter, Refusal,
    Role, Session, SessionStore, StoreError, TokenHash, User,
};
use crate::clock::unix_now;
use crate::secrets::{hex, new_token};
use crate::settings::{redact_url, Secret};

/// The prefix of every key the gateway uses.
pub const KEY_PREFIX: &str = "mosaic:gateway:";
/// The pub/sub channel of the replicas' events.
pub const EVENTS_CHANNEL: &str = "mosaic:gateway:events";
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may wait for its answer.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a replica serves a session from memory without asking Valkey.
pub const SESSION_CACHE_MAX_AGE: Duration = Duration::from_secs(30);
/// Sessions kept in memory before the cache is emptied and refilled.
const SESSION_CACHE_LIMIT: usize = 100_000;
/// Pause between attempts to subscribe again after the channel broke.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(250);
/// How often the subscription is pinged, so a silently dead connection is noticed.
const SUBSCRIPTION_PING_INTERVAL: Duration = Duration::from_secs(5);

/// The sliding-window rate limiter, atomic in Valkey, on Valkey's clock (so every
/// replica counts in one window, whatever its own clock says).
///
/// KEYS[1]: the window. ARGV: max, window in ms, a unique member for the new event.
/// Counts the event and returns 0 when allowed, else returns the milliseconds until
/// the oldest event leaves the window (and counts nothing).
const LIMITER_SCRIPT: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= max then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + window - now
  if wait < 1 then wait = 1 end
  return wait
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"#;

/// How long a budget reservation holds at most: longer than the proxy waits for
/// an answer, short enough that the reservations of a replica that died are
/// released the same quarter of an hour.
pub const BUDGET_LEASE: Duration = Duration::from_secs(15 * 60);
/// How long a budget counter outlives its period (a request that began before the
/// period ended still settles into it).
const BUDGET_GRACE_MS: i64 = 3_600_000;

/// Reserves on a shared budget (see [`SharedBudgets`]), atomically, on Valkey's
/// clock.
///
/// KEYS: the counter's `used`, `leases` and `amounts`. ARGV: limit, amount,
/// reservation id, lease ms, the counter's expiry (Unix ms), the seed (`""`: none).
/// Returns `{outcome, used, in flight}`; outcome 0 admitted, 1 used up, 2 held by
/// requests in flight, 3 needs a seed.
const RESERVE_SCRIPT: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local used = redis.call('GET', KEYS[1])
if not used then
  if ARGV[6] == '' then return {3, 0, 0} end
  redis.call('SET', KEYS[1], ARGV[6])
  redis.call('PEXPIREAT', KEYS[1], ARGV[5])
  used = ARGV[6]
end
used = tonumber(used)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(expired) do
  redis.call('HDEL', KEYS[3], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if used >= tonumber(ARGV[1]) then return {1, used, 0} end
local in_flight = redis.call('ZCARD', KEYS[2])
local reserved = 0
for _, held in ipairs(redis.call('HVALS', KEYS[3])) do
  reserved = reserved + tonumber(held)
end
if in_flight > 0 and used + reserved + tonumber(ARGV[2]) > tonumber(ARGV[1]) then
  return {2, used, in_flight}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[5])
redis.call('PEXPIREAT', KEYS[3], ARGV[5])
return {0, used, in_flight}
"#;

/// Ends a reservation and charges what the request used (to a counter that still
/// exists; a missing one is seeded from the durable store, which has the record).
///
/// KEYS: as [`RESERVE_SCRIPT`]. ARGV: reservation id, what was used.
const SETTLE_SCRIPT: &str = r#"
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCRBY', KEYS[1], ARGV[2])
end
return 0
"#;

/// The three keys of a budget counter.
fn budget_keys(counter: &BudgetCounter) -> [String; 3] {
    let base = format!(
        "{KEY_PREFIX}budget:{}:{}:{}",
        counter.key_id,
        counter.unit.as_str(),
        counter.period_start_ms
    );
    [
        format!("{base}:used"),
        format!("{base}:leases"),
        format!("{base}:amounts"),
    ]
}

/// An event on [`EVENTS_CHANNEL`], as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
enum WireEvent {
    /// A session was ended (logout).
    SessionEnded { token_hash: String },
    /// A user was deleted: every session of theirs ended.
    UserDeleted { user_id: i64 },
    /// The first admin exists.
    AdminCreated,
    /// `gateway install` checking that it may publish; ignored.
    Probe,
}

/// A session as stored in Valkey.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSession {
    user_id: i64,
    name: String,
    email: String,
    role: String,
    created_at: i64,
    expires_at: i64,
}

impl StoredSession {
    fn new(user: &User, expires_at: i64) -> StoredSession {
        StoredSession {
            user_id: user.id,
            name: user.name.clone(),
            email: user.email.clone(),
            role: user.role.as_str().to_string(),
            created_at: user.created_at,
            expires_at,
        }
    }

    fn into_session(self) -> Session {
        Session {
            user: User {
                id: self.user_id,
                name: self.name,
                email: self.email,
                role: Role::parse(&self.role).unwrap_or(Role::User),
                created_at: self.created_at,
            },
            expires_at: self.expires_at,
        }
    }
}

fn parse_hex_hash(text: &str) -> Option<TokenHash> {
    if text.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (index, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(hash)
}

fn session_key(token_hash: &TokenHash) -> String {
    format!("{KEY_PREFIX}session:{}", hex(token_hash))
}

fn user_sessions_key(user_id: i64) -> String {
    format!("{KEY_PREFIX}user-sessions:{user_id}")
}

fn limit_key(key: &str) -> String {
    format!("{KEY_PREFIX}limit:{key}")
}

fn unavailable(reason: impl Into<String>) -> StoreError {
    StoreError::Unavailable {
        dependency: Dependency::Valkey,
        reason: reason.into(),
    }
}

/// Maps a client error: connection problems, timeouts, refused credentials and a
/// server still loading its data are [`StoreError::Unavailable`]; anything else
/// (a bad answer, a script error) a backend error.
fn valkey_error(error: RedisError) -> StoreError {
    let availability = error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || matches!(
            error.kind(),
            ErrorKind::AuthenticationFailed
                | ErrorKind::Server(
                    redis::ServerErrorKind::BusyLoading
                        | redis::ServerErrorKind::TryAgain
                        | redis::ServerErrorKind::MasterDown
                )
        )
        || error.code() == Some("NOAUTH");
    if availability {
        unavailable(error.to_string())
    } else {
        StoreError::Backend(anyhow!("Valkey: {error}"))
    }
}

/// Runs a command with [`COMMAND_TIMEOUT`] (the client's own response timeout
/// does not cover waiting for a connection).
async fn bounded<T>(
    command: impl std::future::Future<Output = Result<T, RedisError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, command).await {
        Ok(answer) => answer.map_err(valkey_error),
        Err(_) => Err(unavailable(format!(
            "no answer within {} s",
            COMMAND_TIMEOUT.as_secs()
        ))),
    }
}

/// The sessions a replica has seen, valid only while it is subscribed to the
/// event channel (see the module documentation).
#[derive(Default)]
struct SessionCache {
    entries: RwLock<HashMap<TokenHash, (Session, Instant)>>,
    /// Subscribed to [`EVENTS_CHANNEL`]: events reach this replica.
    live: AtomicBool,
    /// Bumped (under the write lock) by every invalidation, so a lookup that
    /// raced with one does not cache what it read.
    generation: AtomicU64,
}

impl SessionCache {
    fn get(&self, token_hash: &TokenHash, now: i64) -> Option<Session> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let entries = self
            .entries
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        entries
            .get(token_hash)
            .filter(|(session, cached_at)| {
                session.expires_at > now && cached_at.elapsed() < SESSION_CACHE_MAX_AGE
            })
            .map(|(session, _)| session.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `session` unless an invalidation happened since `generation` was read.
    fn insert(&self, token_hash: TokenHash, session: Session, generation: u64) {
        if !self.live.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= SESSION_CACHE_LIMIT {
            entries.clear();
        }
        entries.insert(token_hash, (session, Instant::now()));
    }

    fn invalidate(&self, keep: impl Fn(&TokenHash, &Session) -> bool) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        entries.retain(|hash, (session, _)| keep(hash, session));
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Subscribed (`true`) or not: either way everything cached so far is dropped.
    fn set_live(&self, live: bool) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        entries.clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.live.store(live, Ordering::Release);
    }

    fn apply(&self, event: &WireEvent) {
        match event {
            WireEvent::SessionEnded { token_hash } => match parse_hex_hash(token_hash) {
                Some(ended) => self.invalidate(|hash, _| *hash != ended),
                None => self.invalidate(|_, _| false),
            },
            WireEvent::UserDeleted { user_id } => {
                self.invalidate(|_, session| session.user.id != *user_id)
            }
            WireEvent::AdminCreated | WireEvent::Probe => {}
        }
    }
}

/// Sessions, rate limits and events in Valkey.
pub struct ValkeyStore {
    connection: ConnectionManager,
    address: String,
    cache: Arc<SessionCache>,
    events: broadcast::Sender<ClusterEvent>,
    limiter: redis::Script,
    reserve: redis::Script,
    settle: redis::Script,
    subscriber: JoinHandle<()>,
}

fn open_client(url: &Secret) -> anyhow::Result<redis::Client> {
    redis::Client::open(url.expose()).map_err(|error| {
        anyhow!(
            "cannot read the Valkey URL {}: {error}",
            redact_url(url.expose())
        )
    })
}

impl ValkeyStore {
    /// A store for `url`, connected lazily (this succeeds while Valkey is down),
    /// with its event subscriber running. Must be called inside the tokio runtime.
    pub fn new(url: &Secret) -> anyhow::Result<ValkeyStore> {
        let client = open_client(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|error| anyhow!("cannot set up the Valkey connection: {error}"))?;
        let cache = Arc::new(SessionCache::default());
        let (events, _) = broadcast::channel(16);
        let subscriber = tokio::spawn(subscribe_forever(client, cache.clone(), events.clone()));
        Ok(ValkeyStore {
            connection,
            address: redact_url(url.expose()),
            cache,
            events,
            limiter: redis::Script::new(LIMITER_SCRIPT),
            reserve: redis::Script::new(RESERVE_SCRIPT),
            settle: redis::Script::new(SETTLE_SCRIPT),
            subscriber,
        })
    }

    async fn publish(&self, event: &WireEvent) -> Result<(), StoreError> {
        let payload = serde_json::to_string(event)
            .map_err(|error| StoreError::Backend(anyhow!("cannot encode an event: {error}")))?;
        let mut connection = self.connection.clone();
        bounded(
            redis::cmd("PUBLISH")
                .arg(EVENTS_CHANNEL)
                .arg(payload)
                .query_async::<i64>(&mut connection),
        )
        .await
        .map(|_receivers| ())
    }

    async fn limit(&self, key: &str, limit: Limit) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        let window_ms = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);
        let member = new_token();
        bounded(
            self.limiter
                .key(limit_key(key))
                .arg(limit.max)
                .arg(window_ms)
                .arg(&member[..16])
                .invoke_async::<u64>(&mut connection),
        )
        .await
    }

    async fn limited(&self, key: &str, limit: Limit) -> Result<(), Refusal> {
        match self.limit(key, limit).await? {
            0 => Ok(()),
            wait_ms => Err(Refusal::Limited(Duration::from_millis(wait_ms))),
        }
    }
}

impl Drop for ValkeyStore {
    fn drop(&mut self) {
        self.subscriber.abort();
    }
}

/// Keeps this replica subscribed to [`EVENTS_CHANNEL`]: applies session events to
/// the cache, forwards the others, and subscribes again whenever the channel breaks.
async fn subscribe_forever(
    client: redis::Client,
    cache: Arc<SessionCache>,
    events: broadcast::Sender<ClusterEvent>,
) {
    let mut reported_failure = false;
    loop {
        let outcome = listen(&client, &cache, &events, &mut reported_failure).await;
        cache.set_live(false);
        if !reported_failure {
            tracing::warn!(
                "Valkey event channel lost ({}); sessions are read from Valkey until it is back",
                outcome
                    .err()
                    .map_or_else(|| "closed".to_string(), |error| error.to_string())
            );
            reported_failure = true;
        }
        tokio::time::sleep(RESUBSCRIBE_DELAY).await;
    }
}

/// One subscription, until it breaks.
async fn listen(
    client: &redis::Client,
    cache: &SessionCache,
    events: &broadcast::Sender<ClusterEvent>,
    reported_failure: &mut bool,
) -> Result<(), StoreError> {
    let pubsub = bounded(async {
        tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub())
            .await
            .unwrap_or_else(|_| {
                Err(RedisError::from(std::io::Error::from(
                    std::io::ErrorKind::TimedOut,
                )))
            })
    })
    .await?;
    let (mut sink, mut stream) = pubsub.split();
    bounded(sink.subscribe(EVENTS_CHANNEL)).await?;
    cache.set_live(true);
    if std::mem::take(reported_failure) {
        tracing::info!("Valkey event channel back");
    }
    let mut ping = tokio::time::interval(SUBSCRIPTION_PING_INTERVAL);
    ping.tick().await;
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return Err(unavailable("the subscription connection closed"));
                };
                match serde_json::from_slice::<WireEvent>(message.get_payload_bytes()) {
                    Ok(event) => {
                        cache.apply(&event);
                        if event == WireEvent::AdminCreated {
                            let _ = events.send(ClusterEvent::AdminCreated);
                        }
                    }
                    Err(error) => tracing::debug!("ignored an unknown gateway event: {error}"),
                }
            }
            _ = ping.tick() => {
                bounded(sink.ping::<redis::Value>()).await?;
            }
        }
    }
}

#[async_trait]
impl SessionStore for ValkeyStore {
    async fn create_session(
        &self,
        token_hash: TokenHash,
        user: &User,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let stored = StoredSession::new(user, expires_at);
        let payload = serde_json::to_string(&stored)
            .map_err(|error| StoreError::Backend(anyhow!("cannot encode a session: {error}")))?;
        let generation = self.cache.generation();
        let user_sessions = user_sessions_key(user.id);
        let mut connection = self.connection.clone();
        bounded(
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(session_key(&token_hash))
                .arg(payload)
                .arg("EXAT")
                .arg(expires_at)
                .ignore()
                .cmd("SADD")
                .arg(&user_sessions)
                .arg(hex(&token_hash))
                .ignore()
                .cmd("EXPIREAT")
                .arg(&user_sessions)
                .arg(expires_at)
                .ignore()
                .exec_async(&mut connection),
        )
        .await?;
        self.cache
            .insert(token_hash, stored.into_session(), generation);
        Ok(())
    }

    async fn find_session(&self, token_hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let now = unix_now();
        if let Some(session) = self.cache.get(token_hash, now) {
            return Ok(Some(session));
        }
        let generation = self.cache.generation();
        let mut connection = self.connection.clone();
        let payload: Option<String> = bounded(
            redis::cmd("GET")
                .arg(session_key(token_hash))
                .query_async(&mut connection),
        )
        .await?;
        let Some(payload) = payload else {
            return Ok(None);
        };
        let session = serde_json::from_str::<StoredSession>(&payload)
            .map_err(|error| {
                StoreError::Backend(anyhow!("a stored session is unreadable: {error}"))
            })?
            .into_session();
        if session.expires_at <= now {
            return Ok(None);
        }
        self.cache.insert(*token_hash, session.clone(), generation);
        Ok(Some(session))
    }

    async fn delete_session(&self, token_hash: &TokenHash) -> Result<(), StoreError> {
        let ended = *token_hash;
        self.cache.invalidate(|hash, _| *hash != ended);
        let mut connection = self.connection.clone();
        bounded(
            redis::cmd("DEL")
                .arg(session_key(token_hash))
                .query_async::<i64>(&mut connection),
        )
        .await?;
        self.publish(&WireEvent::SessionEnded {
            token_hash: hex(token_hash),
        })
        .await
    }

    async fn delete_user_sessions(&self, user_id: i64) -> Result<(), StoreError> {
        self.cache
            .invalidate(|_, session| session.user.id != user_id);
        let user_sessions = user_sessions_key(user_id);
        let mut connection = self.connection.clone();
        let hashes: Vec<String> = bounded(
            redis::cmd("SMEMBERS")
                .arg(&user_sessions)
                .query_async(&mut connection),
        )
        .await?;
        let mut keys: Vec<String> = hashes
            .iter()
            .map(|hash| format!("{KEY_PREFIX}session:{hash}"))
            .collect();
        keys.push(user_sessions);
        bounded(
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<i64>(&mut connection),
        )
        .await?;
        self.publish(&WireEvent::UserDeleted { user_id }).await
    }
}

#[async_trait]
impl RateLimiter for ValkeyStore {
    async fn hit(&self, key: &str, limit: Limit) -> Result<(), Refusal> {
        self.limited(key, limit).await
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        bounded(
            redis::cmd("DEL")
                .arg(limit_key(key))
                .query_async::<i64>(&mut connection),
        )
        .await
        .map(|_| ())
    }

    fn shared_budgets(&self) -> Option<&dyn SharedBudgets> {
        Some(self)
    }
}

#[async_trait]
impl SharedBudgets for ValkeyStore {
    async fn reserve(
        &self,
        counter: &BudgetCounter,
        amount: i64,
        seed: Option<i64>,
    ) -> Result<Admission, StoreError> {
        let keys = budget_keys(counter);
        let reservation = new_token()[..16].to_string();
        let lease_ms = u64::try_from(BUDGET_LEASE.as_millis()).unwrap_or(u64::MAX);
        let mut connection = self.connection.clone();
        let (outcome, used, in_flight): (i64, i64, i64) = bounded(
            self.reserve
                .key(&keys[0])
                .key(&keys[1])
                .key(&keys[2])
                .arg(counter.limit)
                .arg(amount.max(0))
                .arg(&reservation)
                .arg(lease_ms)
                .arg(counter.period_end_ms + BUDGET_GRACE_MS)
                .arg(seed.map_or_else(String::new, |seed| seed.to_string()))
                .invoke_async(&mut connection),
        )
        .await?;
        Ok(match outcome {
            0 => Admission::Admitted { reservation },
            1 => Admission::UsedUp { used },
            2 => Admission::HeldInFlight { used, in_flight },
            _ => Admission::NeedsSeed,
        })
    }

    async fn settle(
        &self,
        counter: &BudgetCounter,
        reservation: &str,
        used: i64,
    ) -> Result<(), StoreError> {
        let keys = budget_keys(counter);
        let mut connection = self.connection.clone();
        bounded(
            self.settle
                .key(&keys[0])
                .key(&keys[1])
                .key(&keys[2])
                .arg(reservation)
                .arg(used.max(0))
                .invoke_async::<i64>(&mut connection),
        )
        .await
        .map(|_| ())
    }
}

#[async_trait]
impl Cluster for ValkeyStore {
    async fn announce(&self, event: ClusterEvent) -> Result<(), StoreError> {
        match event {
            ClusterEvent::AdminCreated => self.publish(&WireEvent::AdminCreated).await,
        }
    }

    fn events(&self) -> broadcast::Receiver<ClusterEvent> {
        self.events.subscribe()
    }
}

#[async_trait]
impl HealthProbe for ValkeyStore {
    async fn probe(&self) -> DependencyHealth {
        let mut connection = self.connection.clone();
        let answer = bounded(redis::cmd("PING").query_async::<String>(&mut connection)).await;
        DependencyHealth {
            dependency: Dependency::Valkey,
            address: self.address.clone(),
            error: answer.err().map(|error| match error {
                StoreError::Unavailable { reason, .. } => reason,
                other => other.to_string(),
            }),
        }
    }
}

/// Connects to `url` once and checks, leaving nothing behind, that the gateway can
/// use it: the credentials (AUTH), and the commands it needs — SET with expiry,
/// GET, DEL, PUBLISH and EVAL (for a Valkey with ACLs). Errors name Valkey, the URL
/// with its password redacted, and what to do.
pub async fn check(url: &Secret) -> anyhow::Result<()> {
    let shown = redact_url(url.expose());
    let client = open_client(url)?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT));
    let connected = tokio::time::timeout(
        CONNECT_TIMEOUT + COMMAND_TIMEOUT,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await;
    let mut connection = match connected {
        Err(_) => anyhow::bail!(
            "Valkey at {shown} did not answer within {} s; check the host and port in \
             MOSAIC_VALKEY_URL (--valkey-url) and that the server runs",
            (CONNECT_TIMEOUT + COMMAND_TIMEOUT).as_secs()
        ),
        Ok(Err(error)) => anyhow::bail!(
            "Valkey at {shown} refused the connection: {error}; {}",
            connection_hint(&error)
        ),
        Ok(Ok(connection)) => connection,
    };
    let probe_key = format!("{KEY_PREFIX}install-check:{}", &new_token()[..16]);
    let steps = async {
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await?;
        redis::cmd("SET")
            .arg(&probe_key)
            .arg("1")
            .arg("PX")
            .arg(10_000)
            .query_async::<()>(&mut connection)
            .await?;
        let read: Option<String> = redis::cmd("GET")
            .arg(&probe_key)
            .query_async(&mut connection)
            .await?;
        redis::cmd("DEL")
            .arg(&probe_key)
            .query_async::<i64>(&mut connection)
            .await?;
        let payload = serde_json::to_string(&WireEvent::Probe).unwrap_or_default();
        redis::cmd("PUBLISH")
            .arg(EVENTS_CHANNEL)
            .arg(payload)
            .query_async::<i64>(&mut connection)
            .await?;
        redis::cmd("EVAL")
            .arg("return 1")
            .arg(0)
            .query_async::<i64>(&mut connection)
            .await?;
        Ok::<_, RedisError>(read)
    };
    match tokio::time::timeout(COMMAND_TIMEOUT * 3, steps).await {
        Err(_) => anyhow::bail!("Valkey at {shown} stopped answering during the permission check"),
        Ok(Err(error)) => anyhow::bail!(
            "Valkey at {shown} refused a command the gateway needs: {error}; {}",
            connection_hint(&error)
        ),
        Ok(Ok(Some(value))) if value == "1" => Ok(()),
        Ok(Ok(_)) => anyhow::bail!(
            "Valkey at {shown} did not keep a value the gateway wrote (is it a read-only \
             replica?); point MOSAIC_VALKEY_URL at the primary"
        ),
    }
}

/// What to do about a connection or permission error.
fn connection_hint(error: &RedisError) -> &'static str {
    let text = error.to_string();
    if error.kind() == ErrorKind::AuthenticationFailed
        || error.code() == Some("NOAUTH")
        || text.contains("WRONGPASS")
        || text.contains("NOAUTH")
        || text.contains("invalid password")
    {
        "check the user name and password in MOSAIC_VALKEY_URL (--valkey-url), e.g. \
         redis://:PASSWORD@host:6379 or redis://USER:PASSWORD@host:6379"
    } else if error.code() == Some("NOPERM") || text.contains("NOPERM") {
        "the Valkey user needs the string, hash, set, sorted-set, pubsub and scripting commands \
         on keys mosaic:gateway:* (ACL)"
    } else {
        "check the host and port in MOSAIC_VALKEY_URL (--valkey-url) and that the server runs"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user_id: i64, expires_at: i64) -> Session {
        Session {
            user: User {
                id: user_id,
                name: "Ada".into(),
                email: "ada@example.com".into(),
                role: Role::User,
                created_at: 1,
            },
            expires_at,
        }
    }

    #[test]
    fn events_have_a_stable_wire_format() {
        let event = WireEvent::UserDeleted { user_id: 7 };
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(text, r#"{"event":"user-deleted","user_id":7}"#);
        assert_eq!(serde_json::from_str::<WireEvent>(&text).unwrap(), event);
        assert_eq!(
            serde_json::to_string(&WireEvent::AdminCreated).unwrap(),
            r#"{"event":"admin-created"}"#
        );
    }

    #[test]
    fn token_hashes_round_trip_through_hex() {
        let hash: TokenHash = std::array::from_fn(|index| index as u8 * 7);
        assert_eq!(parse_hex_hash(&hex(&hash)), Some(hash));
        assert_eq!(parse_hex_hash("abc"), None);
        assert_eq!(parse_hex_hash(&"zz".repeat(32)), None);
    }

    #[test]
    fn the_cache_serves_only_while_subscribed() {
        let cache = SessionCache::default();
        let now = unix_now();
        cache.insert([1; 32], session(1, now + 60), cache.generation());
        assert!(
            cache.get(&[1; 32], now).is_none(),
            "not subscribed: nothing cached"
        );
        cache.set_live(true);
        cache.insert([1; 32], session(1, now + 60), cache.generation());
        assert!(cache.get(&[1; 32], now).is_some());
        assert!(cache.get(&[1; 32], now + 61).is_none(), "expired");
        cache.set_live(false);
        cache.set_live(true);
        assert!(
            cache.get(&[1; 32], now).is_none(),
            "a broken subscription empties it"
        );
    }

    #[test]
    fn events_invalidate_and_a_racing_lookup_is_not_cached() {
        let cache = SessionCache::default();
        cache.set_live(true);
        let now = unix_now();
        cache.insert([1; 32], session(1, now + 60), cache.generation());
        cache.insert([2; 32], session(2, now + 60), cache.generation());
        cache.insert([3; 32], session(2, now + 60), cache.generation());
        cache.apply(&WireEvent::SessionEnded {
            token_hash: hex(&[1; 32]),
        });
        assert!(cache.get(&[1; 32], now).is_none());
        assert!(cache.get(&[2; 32], now).is_some());
        cache.apply(&WireEvent::UserDeleted { user_id: 2 });
        assert!(cache.get(&[2; 32], now).is_none() && cache.get(&[3; 32], now).is_none());

        // A lookup that read Valkey before an invalidation must not cache its answer.
        let before = cache.generation();
        cache.apply(&WireEvent::UserDeleted { user_id: 9 });
        cache.insert([4; 32], session(9, now + 60), before);
        assert!(cache.get(&[4; 32], now).is_none());
    }

    #[test]
    fn connection_errors_are_unavailable_and_answer_errors_are_not() {
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(
            valkey_error(refused),
            StoreError::Unavailable {
                dependency: Dependency::Valkey,
                ..
            }
        ));
        let wrong_type = RedisError::from((ErrorKind::UnexpectedReturnType, "not a string"));
        assert!(matches!(valkey_error(wrong_type), StoreError::Backend(_)));
    }
}
