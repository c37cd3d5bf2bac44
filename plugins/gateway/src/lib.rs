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
pub mod layout;
pub mod pidfile;
pub mod secrets;
pub mod server;
pub mod service;
pub mod settings;
pub mod storage;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::{Context, Invocation, Manifest, Plugin};

/// The plugin. The SDK creates one per call with `Default`.
#[derive(Default)]
pub struct Gateway;

impl Plugin for Gateway {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "gateway".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description:
                "The gateway daemon: auth, users, storage (local or team tier); install and run it as a service"
                    .to_string(),
            host_requirement: ">=0.1.0, <0.2.0".to_string(),
            commands: vec![commands::spec()],
            config: settings::config_keys(),
        }
    }

    fn run(&self, context: &Context<'_>, invocation: &Invocation) -> Result<i32> {
        let words: Vec<&str> = invocation.command.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["gateway", "install"] => commands::install::run(context, invocation),
            ["gateway", "status"] => commands::status::run(context, invocation),
            ["gateway", "start"] => commands::start::run(context, invocation),
            ["gateway", "stop"] => commands::stop::run(context, invocation),
            ["gateway", "restart"] => commands::restart::run(context, invocation),
            ["gateway", "logs"] => commands::logs::run(context, invocation),
            ["gateway", "uninstall"] => commands::uninstall::run(context, invocation),
            ["gateway", "run"] => commands::run::run(context, invocation),
            ["gateway", "migrate"] => commands::migrate::run(context, invocation),
            other => bail!("unknown command `{}`", other.join(" ")),
        }
    }
}

mosaic_plugin_api::export_plugin!(Gateway);
