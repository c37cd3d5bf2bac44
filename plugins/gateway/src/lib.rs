//! `mosaic gateway`: the gateway daemon and its lifecycle.
//!
//! The daemon (`mosaic gateway run`, in [`daemon`] and [`server`]) is a small JSON
//! API over HTTP — health, first-admin bootstrap, login sessions, admin-only user
//! management — with its state behind the traits of [`storage`]: SQLite for the
//! local tier; PostgreSQL + Valkey for the team tier, where several replicas behave
//! as one. The lifecycle commands ([`commands`]) configure it ([`settings`]), run
//! it under a service manager ([`service`]), move it between tiers (`migrate`),
//! and talk to it with a blocking client ([`client`]). [`layout`] decides every
//! path; [`pidfile`] tells a live daemon from a stale pid file.

pub mod client;
pub mod clock;
pub mod commands;
pub mod daemon;
pub mod keys;
pub mod layout;
pub mod pidfile;
pub mod secrets;
pub mod server;
pub mod service;
pub mod settings;
pub mod storage;
pub mod usage_report;

use commands::install::Install;
use commands::keys::{Create as CreateKey, List as ListKeys, Revoke as RevokeKey};
use commands::logs::Logs;
use commands::migrate::Migrate;
use commands::restart::Restart;
use commands::run::Run;
use commands::start::Start;
use commands::status::Status;
use commands::stop::Stop;
use commands::supervise::Supervise;
use commands::uninstall::Uninstall;
use commands::usage::Usage;
use mosaic_plugin_api::{Commands, Manifest, Plugin};

/// The plugin. The SDK creates one per call with `Default`.
#[derive(Default)]
pub struct Gateway;

impl Plugin for Gateway {
    fn manifest(&self) -> Manifest {
        settings::config_keys().into_iter().fold(
            Manifest::new("gateway", env!("CARGO_PKG_VERSION"))
                .description(
                    "The gateway daemon: auth, users, storage (local or team tier); install \
                     and run it as a service",
                )
                .host_requirement(">=0.2.0, <0.3.0"),
            Manifest::config_key,
        )
    }

    fn commands(&self) -> Commands {
        Commands::new().group(
            commands::group_spec(),
            Commands::new()
                .command::<Install>()
                .command::<Status>()
                .command::<Start>()
                .command::<Stop>()
                .command::<Restart>()
                .command::<Logs>()
                .command::<Uninstall>()
                .command::<Migrate>()
                .group(
                    commands::keys::group_spec(),
                    Commands::new()
                        .command::<CreateKey>()
                        .command::<ListKeys>()
                        .command::<RevokeKey>(),
                )
                .command::<Usage>()
                .command::<Run>()
                .command::<Supervise>(),
        )
    }
}

mosaic_plugin_api::export_plugin!(Gateway);
