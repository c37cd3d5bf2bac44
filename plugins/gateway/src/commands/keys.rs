//! `mosaic gateway keys create|list|revoke`: the API keys agents and people use
//! with the gateway's Anthropic proxy.
//!
//! A key is `mosaic_sk_` and 40 random characters; it is printed once, at
//! creation, and stored only as its SHA-256 with its first 14 characters as a hint.
//! The commands open the gateway's storage directly (SQLite, or PostgreSQL for the
//! team tier), so they work whether the daemon runs or not, and a running daemon
//! sees a new or revoked key at its next request.
//!
//! What a key request means ([`KeySpec`], limits and their syntax) is decided once
//! in [`crate::keys`], for these commands and for the admin HTTP API.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;

use anyhow::{anyhow, Context as _, Result};
use mosaic_plugin_api::sdk::output::Table;
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, Example, ValueType};
use serde::Deserialize;

use super::usage::EXIT_BAD_INPUT;
use super::{needs_an_install, require_installation};
use crate::clock::unix_now;
use crate::keys::{
    create_key, describe_limits, limits_of, validate_key_name, FieldNames, KeyError, KeySpec,
    KeyView,
};
use crate::settings::{redact_url, Tier};
use crate::storage::keys::{KeyStore, UsageStore};
use crate::storage::postgres::PostgresStore;
use crate::storage::sqlite::SqliteStore;
use crate::storage::{team, StoreError, UserStore};
use crate::usage_report::format_utc_minute;

/// The `gateway keys` group.
pub fn group_spec() -> CommandSpec {
    CommandSpec::new("keys", "Create, list and revoke the proxy's API keys")
        .long_about(
            "API keys for the gateway's Anthropic proxy: one per agent or person, each \
             with optional budgets, rate limits, an expiry and a model list. A key starts \
             with `mosaic_sk_`, is shown once when it is created and stored only hashed. \
             These commands read and write the gateway's storage directly, so they work \
             whether the daemon runs or not; a running daemon sees the change at its next \
             request.",
        )
        .with_example(needs_an_install(
            "gateway keys create reviewer --agent reviewer --budget-tokens 2000000/day",
            "A key for the fleet agent `reviewer`, at most 2M tokens a day",
        ))
        .with_example(needs_an_install(
            "gateway keys list",
            "Every key and its state",
        ))
}

/// The storage the key and usage commands open directly, with the runtime that
/// drives it.
pub struct DirectStorage {
    runtime: tokio::runtime::Runtime,
    /// Users (to find a key's owner by email).
    pub users: Arc<dyn UserStore>,
    /// API keys.
    pub keys: Arc<dyn KeyStore>,
    /// Usage records.
    pub usage: Arc<dyn UsageStore>,
}

impl DirectStorage {
    /// Runs a storage operation to the end.
    pub fn run<T>(&self, operation: impl Future<Output = Result<T, StoreError>>) -> Result<T> {
        self.runtime
            .block_on(operation)
            .map_err(|error| anyhow!("{error}"))
    }
}

/// Opens the installed gateway's storage: the SQLite database (local tier) or
/// PostgreSQL (team tier; Valkey is not needed). Fails when the gateway is not
/// installed or PostgreSQL does not answer.
pub fn open_storage(context: &Context<'_>) -> Result<DirectStorage> {
    let installation = require_installation(context)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match installation.settings.tier {
        Tier::Local => {
            let store = Arc::new(SqliteStore::open(&installation.layout.database_file())?);
            Ok(DirectStorage {
                runtime,
                users: store.clone(),
                keys: store.clone(),
                usage: store,
            })
        }
        Tier::Team => {
            let (database_url, _) = team::urls(&installation.settings)?;
            let store = {
                let _guard = runtime.enter();
                Arc::new(PostgresStore::new(database_url)?)
            };
            runtime.block_on(store.migrate()).map_err(|error| {
                anyhow!(
                    "cannot use PostgreSQL at {}: {error}",
                    redact_url(database_url.expose())
                )
            })?;
            Ok(DirectStorage {
                runtime,
                users: store.clone(),
                keys: store.clone(),
                usage: store,
            })
        }
    }
}

/// Prints `error: MESSAGE` and returns exit code 2 (a value that does not parse).
pub fn usage_error(context: &Context<'_>, message: &str) -> Result<i32> {
    writeln!(context.err(), "error: {message}")?;
    Ok(EXIT_BAD_INPUT)
}
/// `mosaic gateway keys create`.
pub struct Create;

/// What `keys create` was asked.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateOptions {
    /// The key's name.
    pub name: String,
    /// `--user EMAIL`.
    pub user: Option<String>,
    /// `--agent AGENT`.
    pub agent: Option<String>,
    /// `--budget-tokens N/day|N/month`.
    pub budget_tokens: Option<String>,
    /// `--budget-usd X/month`.
    pub budget_usd: Option<String>,
    /// `--rpm N`.
    pub rpm: Option<u64>,
    /// `--tpm N`.
    pub tpm: Option<u64>,
    /// `--expires DURATION`.
    pub expires: Option<String>,
    /// `--models a,b`.
    pub models: Option<String>,
}

impl CreateOptions {
    /// The request these flags make.
    pub fn spec(&self) -> KeySpec {
        KeySpec {
            name: self.name.clone(),
            user: self.user.clone(),
            agent: self.agent.clone(),
            budget_tokens: self.budget_tokens.clone(),
            budget_usd: self.budget_usd.clone(),
            rpm: self.rpm,
            tpm: self.tpm,
            expires: self.expires.clone(),
            models: self
                .models
                .as_deref()
                .map(|list| list.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
        }
    }
}

impl Command for Create {
    type Options = CreateOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("create", "Create an API key and print it (shown only once)")
            .long_about(
                "Create an API key for the gateway's Anthropic proxy and print it on \
                 stdout. It is shown only this once and stored hashed: keep it where the \
                 client reads it (e.g. ANTHROPIC_AUTH_TOKEN); a lost key is revoked and \
                 replaced. With --json, one object: key, name, hint, user, agent, limits \
                 (budget_tokens, budget_usd_micros_month, rpm, tpm, expires_at, models), \
                 created_at, state.\n\n\
                 Budgets: --budget-tokens counts every token (input, output, cache reads \
                 and writes) per UTC day or calendar month; --budget-usd is the cost per \
                 calendar month. Exit codes: 0 created; 1 the name is taken, the user \
                 unknown or the storage unusable; 2 a value does not parse (nothing is \
                 written then).",
            )
            .arg(ArgSpec::positional("name", "A unique name, e.g. the agent's").required())
            .arg(ArgSpec::option("user", "The gateway user it belongs to").value_name("EMAIL"))
            .arg(ArgSpec::option("agent", "The fleet agent it is for").value_name("AGENT"))
            .arg(
                ArgSpec::option("budget_tokens", "At most N tokens per UTC day or month")
                    .value_name("N/day|N/month"),
            )
            .arg(
                ArgSpec::option("budget_usd", "At most X US dollars per calendar month")
                    .value_name("X/month"),
            )
            .arg(
                ArgSpec::option("rpm", "At most N requests per minute")
                    .value_name("N")
                    .value_type(ValueType::Unsigned),
            )
            .arg(
                ArgSpec::option("tpm", "At most N tokens per minute")
                    .value_name("N")
                    .value_type(ValueType::Unsigned),
            )
            .arg(
                ArgSpec::option("expires", "Stop working after this long: 30m, 12h, 7d, 4w")
                    .value_name("DURATION"),
            )
            .arg(
                ArgSpec::option("models", "Only these models (comma-separated ids)")
                    .value_name("LIST"),
            )
            .with_example(needs_an_install(
                "gateway keys create reviewer --agent reviewer --budget-tokens 2000000/day --rpm 60",
                "A key for an agent, with a daily token budget and a rate limit",
            ))
            .with_example(needs_an_install(
                "gateway keys create ada-laptop --user ada@example.com --budget-usd 50/month --expires 4w",
                "A person's key: $50 a month, for four weeks",
            ))
            .with_example(
                Example::new(
                    "gateway keys create x --budget-tokens lots",
                    "A budget that does not parse: exit 2, nothing written",
                )
                .expect_exit_code(EXIT_BAD_INPUT),
            )
    }

    fn run(context: &Context<'_>, options: CreateOptions) -> Result<i32> {
        create(context, &options.spec())
    }
}

/// Creates the key of `spec` and prints it once.
pub fn create(context: &Context<'_>, spec: &KeySpec) -> Result<i32> {
    // Values that do not parse are refused before the storage is opened.
    if let Err(message) = validate_key_name(&spec.name)
        .and_then(|()| limits_of(spec, unix_now(), FieldNames::Flags).map(|_| ()))
    {
        return usage_error(context, &message);
    }
    let storage = open_storage(context)?;
    let created = storage.runtime.block_on(create_key(
        storage.users.as_ref(),
        storage.keys.as_ref(),
        spec,
        FieldNames::Flags,
    ));
    let (secret, view) = match created {
        Ok(created) => created,
        Err(KeyError::Invalid(message)) => return usage_error(context, &message),
        Err(error) => {
            return Err(anyhow!(
                "cannot create the API key `{}`: {error}",
                spec.name
            ))
        }
    };
    if context.json() {
        let mut object = serde_json::to_value(&view)?;
        object["key"] = serde_json::Value::String(secret);
        context.print_json(&object)?;
        return Ok(0);
    }
    writeln!(
        context.err(),
        "Created API key `{}` ({}; limits: {}). The key is shown only this once — store it \
         now; `mosaic gateway keys revoke {}` disables it:",
        view.key.name,
        view.key.hint,
        describe_limits(&view.key.limits),
        view.key.name
    )?;
    context.flush();
    writeln!(context.out(), "{secret}")?;
    Ok(0)
}

/// `mosaic gateway keys list`.
pub struct List;

impl Command for List {
    type Options = mosaic_plugin_api::NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("list", "List the API keys (never the keys themselves)")
            .long_about(
                "List every API key, revoked and expired ones included: name, hint (the \
                 key's first characters), user, agent, limits, creation time and state. \
                 The keys themselves are not stored, so they cannot be shown. With --json: \
                 {\"keys\": [...]}, each with id, name, hint, user_id, user, agent, limits, \
                 created_at, revoked_at and state (active, revoked or expired).",
            )
            .with_example(needs_an_install("gateway keys list", "As a table"))
            .with_example(needs_an_install("gateway keys list --json", "As JSON"))
    }

    fn run(context: &Context<'_>, _options: mosaic_plugin_api::NoOptions) -> Result<i32> {
        list(context)
    }
}

/// Lists every key.
pub fn list(context: &Context<'_>) -> Result<i32> {
    let storage = open_storage(context)?;
    let keys = storage.run(storage.keys.list_keys())?;
    let users = storage.run(storage.users.list_users())?;
    let views = KeyView::all(keys, &users, unix_now());
    if context.json() {
        context.print_json(&serde_json::json!({ "keys": views }))?;
        return Ok(0);
    }
    if views.is_empty() {
        writeln!(
            context.out(),
            "No API keys yet; create one with `mosaic gateway keys create NAME`."
        )?;
        return Ok(0);
    }
    let mut table = Table::new(&[
        "name", "hint", "user", "agent", "limits", "created", "state",
    ]);
    for view in &views {
        table.add_row([
            view.key.name.clone(),
            view.key.hint.clone(),
            view.user.clone().unwrap_or_else(|| "-".to_string()),
            view.key.agent.clone().unwrap_or_else(|| "-".to_string()),
            describe_limits(&view.key.limits),
            format_utc_minute(view.key.created_at),
            view.describe_state(),
        ]);
    }
    write!(context.out(), "{}", table.render())?;
    Ok(0)
}

/// `mosaic gateway keys revoke`.
pub struct Revoke;

/// What `keys revoke` was asked.
#[derive(Debug, Clone, Deserialize)]
pub struct RevokeOptions {
    /// The key's name.
    pub name: String,
}

impl Command for Revoke {
    type Options = RevokeOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("revoke", "Revoke an API key: it is refused from now on")
            .long_about(
                "Revoke an API key by name. The proxy refuses it from its next request, \
                 also while the daemon runs. The key's name and its usage stay (names are \
                 never reused). Revoking a revoked key changes nothing and exits 0; an \
                 unknown name exits 1.",
            )
            .arg(ArgSpec::positional("name", "The key's name").required())
            .with_example(needs_an_install(
                "gateway keys revoke reviewer",
                "Revoke the key `reviewer`",
            ))
    }

    fn run(context: &Context<'_>, options: RevokeOptions) -> Result<i32> {
        revoke(context, &options.name)
    }
}

/// Revokes the key named `name`.
pub fn revoke(context: &Context<'_>, name: &str) -> Result<i32> {
    let storage = open_storage(context)?;
    let before = storage
        .run(storage.keys.list_keys())?
        .into_iter()
        .find(|key| key.name == name);
    let key = match storage.runtime.block_on(storage.keys.revoke_key(name)) {
        Ok(key) => key,
        Err(StoreError::KeyNotFound) => {
            return Err(anyhow!(
                "no API key is named `{name}`; `mosaic gateway keys list` shows them"
            ))
        }
        Err(error) => return Err(anyhow!("cannot revoke the API key `{name}`: {error}")),
    };
    let when = key.revoked_at.map(format_utc_minute).unwrap_or_default();
    if context.json() {
        let view = KeyView::new(key, None, unix_now());
        context.print_json(&serde_json::json!({ "revoked": view }))?;
        return Ok(0);
    }
    if before.is_some_and(|key| key.revoked_at.is_some()) {
        writeln!(
            context.out(),
            "API key `{name}` was already revoked ({when} UTC)."
        )?;
    } else {
        writeln!(
            context.out(),
            "Revoked API key `{name}`; the proxy refuses it from now on."
        )?;
    }
    Ok(0)
}
