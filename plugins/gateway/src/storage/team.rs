//! The team tier put together: users, API keys and usage in PostgreSQL, sessions, rate limits and the
//! replicas' events in Valkey, and the checks `gateway install`, `gateway migrate`
//! and `gateway status` run against both services before they trust them.

use std::sync::Arc;

use anyhow::{anyhow, Result};

use super::postgres::{self, PostgresStore};
use super::valkey::{self, ValkeyStore};
use super::{Backend, Dependency, DependencyHealth, HealthProbe};
use crate::settings::{redact_url, Secret, Settings};

/// The two URLs of the team tier, from settings that passed validation.
pub fn urls(settings: &Settings) -> Result<(&Secret, &Secret)> {
    match (&settings.database_url, &settings.valkey_url) {
        (Some(database), Some(valkey)) => Ok((database, valkey)),
        _ => Err(anyhow!(
            "the team tier needs gateway.database_url and gateway.valkey_url; set them with \
             `mosaic gateway install --tier team` (MOSAIC_DATABASE_URL, MOSAIC_VALKEY_URL)"
        )),
    }
}

/// Opens the team tier's storage. Nothing is connected yet: PostgreSQL is
/// migrated here if it answers (and otherwise before its first use), so the daemon
/// starts, degraded, while a dependency is down.
pub async fn open(settings: &Settings) -> Result<Backend> {
    let (database_url, valkey_url) = urls(settings)?;
    let users = Arc::new(PostgresStore::new(database_url)?);
    if let Err(error) = users.migrate().await {
        tracing::warn!("{error}; the gateway starts degraded and retries on each request");
    }
    let valkey = Arc::new(ValkeyStore::new(valkey_url)?);
    Ok(Backend {
        users: users.clone(),
        keys: users.clone(),
        usage: users.clone(),
        sessions: valkey.clone(),
        limiter: valkey.clone(),
        dependencies: vec![
            users as Arc<dyn HealthProbe>,
            valkey.clone() as Arc<dyn HealthProbe>,
        ],
        cluster: Some(valkey),
    })
}

/// What [`check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamCheck {
    /// Whether PostgreSQL already holds a gateway admin.
    pub admin_exists: bool,
    /// How many gateway users PostgreSQL holds.
    pub users: i64,
}

/// Connects to both services and checks credentials and permissions, writing
/// nothing (see [`postgres::check`] and [`valkey::check`]). Both are checked, so
/// one run reports every problem; each error names its service.
pub fn check(settings: &Settings) -> Result<TeamCheck> {
    let (database_url, valkey_url) = urls(settings)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow!("cannot start the async runtime: {error}"))?;
    let (database, valkey) = runtime
        .block_on(async { tokio::join!(postgres::check(database_url), valkey::check(valkey_url)) });
    match (database, valkey) {
        (Ok(found), Ok(())) => Ok(TeamCheck {
            admin_exists: found.admin_exists,
            users: found.users,
        }),
        (Err(database), Ok(())) => Err(database),
        (Ok(_), Err(valkey)) => Err(valkey),
        (Err(database), Err(valkey)) => Err(anyhow!("{database:#}. Also: {valkey:#}")),
    }
}

/// The health of both services as this process sees them (for `gateway status`
/// when no daemon answers), and whether PostgreSQL has an admin (`None`: unknown).
pub fn probe(settings: &Settings) -> Result<(Vec<DependencyHealth>, Option<bool>)> {
    let (database_url, valkey_url) = urls(settings)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async {
        let (database, valkey) =
            tokio::join!(postgres::check(database_url), valkey::check(valkey_url));
        let health =
            |dependency: Dependency, url: &Secret, error: Option<String>| DependencyHealth {
                dependency,
                address: redact_url(url.expose()),
                error,
            };
        let admin = database.as_ref().ok().map(|found| found.admin_exists);
        Ok((
            vec![
                health(
                    Dependency::Postgres,
                    database_url,
                    database.err().map(|error| format!("{error:#}")),
                ),
                health(
                    Dependency::Valkey,
                    valkey_url,
                    valkey.err().map(|error| format!("{error:#}")),
                ),
            ],
            admin,
        ))
    })
}
