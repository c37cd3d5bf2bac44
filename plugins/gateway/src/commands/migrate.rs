//! `mosaic gateway migrate --to team|local`: moves an installed gateway's users, the
//! proxy's API keys and its usage records to the other storage tier.
//!
//! `--to team` checks PostgreSQL and Valkey (as `install` does), stops the daemon,
//! copies every user (ids, creation times and password hashes kept), every API key
//! (ids, hashes, hints, limits and revoked state kept) and every usage record from
//! SQLite into an empty PostgreSQL database in one transaction, reads everything
//! back to verify it, switches `config.json` to the team tier and starts the daemon
//! again if it ran. New users and keys continue after every id the source handed
//! out. The SQLite file keeps its data: it is the backup.
//!
//! `--to local` is the way back: the PostgreSQL data is copied into a fresh SQLite
//! database (an existing one is kept beside it as `gateway.db.before-local-<time>`),
//! verified, and the config switched to the local tier; PostgreSQL is not changed.
//!
//! Sessions are not copied: users log in again after a migration. Keys keep
//! working: only their hashes are stored, and those are copied.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::serde_json::json;
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use super::{
    check_team_services, needs_an_install, print_started, require_installation, start_and_wait,
    stop_and_wait, Installation,
};
use crate::pidfile::running_daemon;
use crate::settings::gather::require_team_connections;
use crate::settings::redact::shown_url;
use crate::settings::{redact_url, FlagValues, RawSettings, Settings, Tier, SETTINGS};
use crate::storage::keys::TierData;
use crate::storage::postgres::PostgresStore;
use crate::storage::{sqlite, team};

/// `mosaic gateway migrate`.
pub struct Migrate;

impl Command for Migrate {
    type Options = MigrateOptions;

    fn spec() -> CommandSpec {
        let spec = CommandSpec::new(
            "migrate",
            "Move the gateway's users, API keys and usage to another storage tier",
        )
        .long_about(
            "Move an installed gateway to another storage tier.\n\n\
             --to team: check PostgreSQL and Valkey (MOSAIC_DATABASE_URL, \
             MOSAIC_VALKEY_URL, or the flags), stop the daemon, copy every user, API \
             key and usage record from SQLite into an empty PostgreSQL database, verify \
             the copy (counts, password and key hashes, usage records), switch the \
             config to the team tier and start the daemon again. The SQLite database \
             keeps its data, as a backup.\n\n\
             --to local: the way back. Copy the PostgreSQL users, keys and usage into a \
             fresh SQLite database (an existing one is kept beside it), verify, and \
             switch the config to the local tier; PostgreSQL is left unchanged.\n\n\
             Sessions are not copied: users log in again. API keys keep working.",
        )
        .arg(
            ArgSpec::option("to", "The tier to move to")
                .value_name("TIER")
                .possible_values(&[Tier::Team.as_str(), Tier::Local.as_str()])
                .required(),
        );
        SETTINGS
            .iter()
            .filter(|setting| setting.team_connection)
            .filter_map(|setting| setting.flag_arg(" for --to team"))
            .fold(spec, CommandSpec::arg)
            .with_example(needs_an_install(
                "gateway migrate --to team",
                "Local → team, with MOSAIC_DATABASE_URL and MOSAIC_VALKEY_URL set",
            ))
            .with_example(needs_an_install(
                "gateway migrate --to local",
                "Team → local (the way back)",
            ))
    }

    fn run(context: &Context<'_>, options: MigrateOptions) -> Result<i32> {
        migrate(context, &options)
    }
}

/// What the command was asked.
#[derive(Debug, Clone, Deserialize)]
pub struct MigrateOptions {
    /// The tier to move to.
    pub to: Tier,
    /// `--database-url` and `--valkey-url`, by setting name.
    #[serde(flatten)]
    pub flags: FlagValues,
}

/// Moves the installation to `options.to`.
pub fn migrate(context: &Context<'_>, options: &MigrateOptions) -> Result<i32> {
    let installation = require_installation(context)?;
    if installation.settings.tier == options.to {
        bail!(
            "the gateway already uses the {} tier; nothing to migrate",
            options.to
        );
    }
    let target = target_settings(context, &installation, options)?;
    if options.to == Tier::Team {
        check_team_services(context, &target)
            .context("the team tier's services failed the check; nothing was changed")?;
    }

    let was_running = running_daemon(&installation.layout.pid_file()).is_some();
    if was_running {
        writeln!(
            context.err(),
            "Stopping the gateway so nothing changes during the copy…"
        )?;
        stop_and_wait(context, installation.manager, &installation.spec)?;
    }
    let copying = context.progress(&format!(
        "Copying the users, API keys and usage to the {} tier",
        options.to
    ));
    let copied = match options.to {
        Tier::Team => copy_to_team(&installation, &target),
        Tier::Local => copy_to_local(&installation),
    };
    drop(copying);
    let copied = match copied {
        Ok(copied) => copied,
        Err(error) => {
            if was_running {
                // Leave things as they were: the old tier, running.
                let restarted = start_and_wait(
                    context,
                    installation.manager,
                    &installation.spec,
                    &installation.settings,
                );
                if let Err(restart_error) = restarted {
                    writeln!(
                        context.err(),
                        "warning: the gateway could not be started again on the {} tier: \
                         {restart_error:#}",
                        installation.settings.tier
                    )?;
                }
            }
            return Err(error.context(format!(
                "the migration to the {} tier failed; the config still says {}",
                options.to, installation.settings.tier
            )));
        }
    };

    config::update(&installation.layout.config_dir, |root| target.store(root))?;
    let mut moved = installation;
    moved.settings = target;
    let backup = copied.backup;
    if context.json() {
        let health = if was_running {
            let health = start_and_wait(context, moved.manager, &moved.spec, &moved.settings)?;
            Some(health.status)
        } else {
            None
        };
        context.print_json(&json!({
            "tier": moved.settings.tier.as_str(),
            "users_copied": copied.users,
            "keys_copied": copied.keys,
            "usage_records_copied": copied.usage_records,
            "verified": true,
            "backup": backup,
            "running": was_running,
            "health": health,
        }))?;
        return Ok(0);
    }
    let mut out = context.out();
    writeln!(
        out,
        "Copied and verified {} users, {} API keys and {} usage records (counts, password \
         and key hashes, and usage match).",
        copied.users, copied.keys, copied.usage_records
    )?;
    match moved.settings.tier {
        Tier::Team => writeln!(
            out,
            "The gateway now uses the team tier: PostgreSQL {}, Valkey {}.",
            shown_url(&moved.settings.database_url),
            shown_url(&moved.settings.valkey_url)
        )?,
        Tier::Local => writeln!(out, "The gateway now uses the local tier (SQLite).")?,
    }
    writeln!(out, "Backup kept: {backup}")?;
    writeln!(
        out,
        "Sessions were not copied: users log in again; API keys keep working. Going back: `mosaic gateway migrate \
         --to {}`.",
        if moved.settings.tier == Tier::Team {
            "local"
        } else {
            "team"
        }
    )?;
    drop(out);
    if was_running {
        let health = start_and_wait(context, moved.manager, &moved.spec, &moved.settings)?;
        print_started(context, &moved, &health, "restarted")?;
    }
    Ok(0)
}

/// The installation's settings with the target tier (and, for the team tier, the
/// team tier's URLs: flag > environment > config.json).
fn target_settings(
    context: &Context<'_>,
    installation: &Installation,
    options: &MigrateOptions,
) -> Result<Settings> {
    let mut target = installation.settings.clone();
    target.tier = options.to;
    if options.to == Tier::Local {
        target.database_url = None;
        target.valkey_url = None;
        return Ok(target);
    }
    let file = config::load(&installation.layout.config_dir)?;
    // Only the URLs are taken from here: port, host and origin stay as installed.
    let gathered = RawSettings::gather(&options.flags, |name| context.env(name), &file)?;
    gathered.apply_to(&mut target, |setting| setting.team_connection)?;
    require_team_connections(&target)?;
    Ok(target)
}

/// What a copy did.
struct Copied {
    users: usize,
    keys: usize,
    usage_records: usize,
    /// Where the data of the old tier is kept, for people.
    backup: String,
}

impl Copied {
    fn of(data: &TierData, backup: String) -> Copied {
        Copied {
            users: data.users.len(),
            keys: data.keys.len(),
            usage_records: data.usage.len(),
            backup,
        }
    }
}

/// Runs `work` on a small runtime of its own (the CLI has none).
fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(work)
}

/// Fails unless `copied` holds exactly `source`: the same users with the same
/// password hashes, the same keys with the same hashes, limits and revoked state,
/// the same usage records, and next ids no lower than the source's.
fn verify(source: &TierData, copied: &TierData, place: &str) -> Result<()> {
    if source.users.len() != copied.users.len() {
        bail!(
            "verification failed: {place} holds {} users, the source {}",
            copied.users.len(),
            source.users.len()
        );
    }
    if let Some((expected, found)) = source
        .users
        .iter()
        .zip(&copied.users)
        .find(|(expected, found)| expected != found)
    {
        let what = if expected.password_hash != found.password_hash {
            "password hash"
        } else {
            "id, name, email, role or creation time"
        };
        bail!(
            "verification failed: the {what} of {} differs in {place}",
            expected.user.email
        );
    }
    if source.keys.len() != copied.keys.len() {
        bail!(
            "verification failed: {place} holds {} API keys, the source {}",
            copied.keys.len(),
            source.keys.len()
        );
    }
    if let Some((expected, found)) = source
        .keys
        .iter()
        .zip(&copied.keys)
        .find(|(expected, found)| expected != found)
    {
        let what = if expected.token_hash != found.token_hash {
            "hash"
        } else {
            "id, name, hint, owner, agent, limits, creation time or revoked state"
        };
        bail!(
            "verification failed: the {what} of API key `{}` differs in {place}",
            expected.key.name
        );
    }
    if source.usage.len() != copied.usage.len() {
        bail!(
            "verification failed: {place} holds {} usage records, the source {}",
            copied.usage.len(),
            source.usage.len()
        );
    }
    if source.usage != copied.usage {
        bail!(
            "verification failed: {place} holds {} usage records, as the source does, \
             but they differ",
            copied.usage.len()
        );
    }
    if copied.next_user_id < source.next_user_id || copied.next_key_id < source.next_key_id {
        bail!(
            "verification failed: {place} would hand out user id {} and key id {}, the \
             source already handed out ids up to {} and {}",
            copied.next_user_id,
            copied.next_key_id,
            source.next_user_id - 1,
            source.next_key_id - 1
        );
    }
    Ok(())
}

/// How much data holds, for messages: `2 users, 3 API keys and 10 usage records`.
fn amounts(data: &TierData) -> String {
    format!(
        "{} users, {} API keys and {} usage records",
        data.users.len(),
        data.keys.len(),
        data.usage.len()
    )
}

fn copy_to_team(installation: &Installation, target: &Settings) -> Result<Copied> {
    let database = installation.layout.database_file();
    let data = if database.exists() {
        sqlite::read_tier_data(&database)?
    } else {
        TierData {
            next_user_id: 1,
            next_key_id: 1,
            ..TierData::default()
        }
    };
    let (database_url, _) = team::urls(target)?;
    let place = format!("PostgreSQL ({})", redact_url(database_url.expose()));
    block_on(async {
        let store = PostgresStore::new(database_url)?;
        store.migrate().await.map_err(|error| anyhow!("{error}"))?;
        let existing = store
            .tier_data()
            .await
            .map_err(|error| anyhow!("{error}"))?;
        if existing.is_empty() {
            store
                .import(&data)
                .await
                .map_err(|error| anyhow!("{error}"))?;
        } else if existing != data {
            bail!(
                "{place} already holds {} that are not this gateway's; `gateway migrate` \
                 copies into an empty database (use another database, or install this \
                 replica with `gateway install --tier team` to join it)",
                amounts(&existing)
            );
        }
        let copied = store
            .tier_data()
            .await
            .map_err(|error| anyhow!("{error}"))?;
        verify(&data, &copied, &place)
    })?;
    Ok(Copied::of(
        &data,
        format!("the local database {}, unchanged", database.display()),
    ))
}

fn copy_to_local(installation: &Installation) -> Result<Copied> {
    let (database_url, _) = team::urls(&installation.settings)?;
    let data = block_on(async {
        let store = PostgresStore::new(database_url)?;
        store.tier_data().await.map_err(|error| anyhow!("{error}"))
    })?;
    let database = installation.layout.database_file();
    let backup = set_aside(&database)?;
    let imported = sqlite::import(&database, &data)
        .and_then(|()| sqlite::read_tier_data(&database))
        .and_then(|copied| verify(&data, &copied, &database.display().to_string()));
    if let Err(error) = imported {
        // Put the old database back, so the local tier is as it was.
        remove_database(&database)?;
        if let Some(backup) = &backup {
            for (from, to) in database_files(backup)
                .into_iter()
                .zip(database_files(&database))
            {
                if from.exists() {
                    std::fs::rename(&from, &to).with_context(|| {
                        format!("cannot restore {} from {}", to.display(), from.display())
                    })?;
                }
            }
        }
        return Err(error);
    }
    Ok(Copied::of(
        &data,
        format!(
            "PostgreSQL ({}), unchanged{}",
            redact_url(database_url.expose()),
            backup
                .map(|path| format!("; the old local database: {}", path.display()))
                .unwrap_or_default()
        ),
    ))
}

/// Renames an existing SQLite database and its `-wal`/`-shm` companions to
/// `<name>.before-local-<time>`; returns the new name of the database.
fn set_aside(database: &Path) -> Result<Option<PathBuf>> {
    if !database.exists() {
        return Ok(None);
    }
    let backup = database.with_extension(format!("db.before-local-{}", crate::clock::unix_now()));
    for (from, to) in database_files(database)
        .into_iter()
        .zip(database_files(&backup))
    {
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot keep {} as {}", from.display(), to.display()))
            }
        }
    }
    Ok(Some(backup))
}

/// A database file and its `-wal` and `-shm` companions.
fn database_files(database: &Path) -> [PathBuf; 3] {
    [
        database.to_path_buf(),
        PathBuf::from(format!("{}-wal", database.display())),
        PathBuf::from(format!("{}-shm", database.display())),
    ]
}

/// Removes a database file and its companions, if present.
fn remove_database(database: &Path) -> Result<()> {
    for path in database_files(database) {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot remove {}", path.display()))
            }
        }
    }
    Ok(())
}
