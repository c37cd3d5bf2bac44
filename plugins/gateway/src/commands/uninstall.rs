//! `mosaic gateway uninstall [--purge]`: stop the daemon, remove the service and the
//! gateway's settings; the database and log are kept unless `--purge`.

use std::io::Write;

use anyhow::{Context as _, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use super::{load_installation, stop_and_wait};
use crate::layout::Layout;
use crate::pidfile::running_daemon;
use crate::service::{self, ServiceManager};

/// `mosaic gateway uninstall`.
pub struct Uninstall;

/// What the command was asked.
#[derive(Debug, Clone, Deserialize)]
pub struct UninstallOptions {
    /// `--purge`: also delete the database and the log.
    pub purge: bool,
}

impl Command for Uninstall {
    type Options = UninstallOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "uninstall",
            "Stop and remove the gateway service (data is kept)",
        )
        .arg(ArgSpec::flag(
            "purge",
            "Also delete the gateway's data: the database (every user) and the log",
        ))
        .example(
            "gateway uninstall",
            "Remove the service, keep users for a later install",
        )
        .example("gateway uninstall --purge", "Remove everything")
    }

    fn run(context: &Context<'_>, options: UninstallOptions) -> Result<i32> {
        uninstall(context, &options)
    }
}

fn remove_if_present(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// Stops and removes the service and the `gateway` settings; with `--purge` also
/// the data directory.
pub fn uninstall(context: &Context<'_>, options: &UninstallOptions) -> Result<i32> {
    let layout = Layout::from_context(context, None);
    match load_installation(context)? {
        Some(installation) => {
            if let Some(pid) = stop_and_wait(context, installation.manager, &installation.spec)? {
                writeln!(context.err(), "stopped the gateway (pid {pid})")?;
            }
            service::remove_definition(installation.manager, &installation.spec)?;
        }
        None => {
            // Not installed, but a hand-started `gateway run` may still be running.
            if running_daemon(&layout.pid_file()).is_some() {
                let spec = super::service_spec(context, layout.clone())?;
                stop_and_wait(context, ServiceManager::Supervisor, &spec)?;
            }
            writeln!(context.err(), "the gateway was not installed")?;
        }
    }
    if layout.config_file().exists() {
        config::update(&layout.config_dir, |root| {
            config::unset(root, "gateway").map(|_| ())
        })?;
    }
    remove_if_present(&layout.bootstrap_token_file())?;
    let _ = std::fs::remove_dir(layout.private_dir());
    if options.purge {
        if layout.data_dir.exists() {
            std::fs::remove_dir_all(&layout.data_dir)
                .with_context(|| format!("cannot delete {}", layout.data_dir.display()))?;
        }
        writeln!(
            context.out(),
            "gateway uninstalled; its data ({}) was deleted",
            layout.data_dir.display()
        )?;
    } else {
        writeln!(
            context.out(),
            "gateway uninstalled; its data is kept in {} (delete it with --purge)",
            layout.data_dir.display()
        )?;
    }
    Ok(0)
}
