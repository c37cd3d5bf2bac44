//! `mosaic gateway uninstall [--purge]`: stop the daemon, remove the service and the
//! gateway's settings; the database and log are kept unless `--purge`. It stops a
//! running daemon by its pid files even when config.json has no (readable) gateway
//! section, and says exactly one of "uninstalled" or "was not installed".

use std::io::Write;

use anyhow::{Context as _, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use super::{load_installation, lock_lifecycle, stop_by_pid_files, stop_locked};
use crate::layout::Layout;
use crate::service::{self, launchd, systemd, ServiceManager};

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
        .long_about(
            "Stop the gateway (daemon and built-in supervisor), remove its service \
             definition (systemd unit, launchd agent) and its section of config.json. \
             The database and the log are kept for a later install unless --purge. A \
             daemon still running without an installation is stopped too. Exits 0 when \
             nothing of the service is left afterwards — also when it was not installed \
             (\"gateway was not installed\") — and 1 on an error, which says what is left.",
        )
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
    let lock = lock_lifecycle(context, &layout)?;
    let mut installed = false;
    match load_installation(context) {
        Ok(Some(installation)) => {
            installed = true;
            let report = stop_locked(context, &lock, installation.manager, &installation.spec)?;
            if report.stopped_anything() {
                writeln!(context.err(), "{}", report.describe())?;
            }
            service::remove_definition(installation.manager, &installation.spec)?;
        }
        readable => {
            if let Err(error) = &readable {
                writeln!(
                    context.err(),
                    "warning: cannot read the gateway's settings ({error:#}); stopping it by \
                     its pid files and removing the service definitions found on disk"
                )?;
            }
            // Not installed (or unreadable), but a hand-started daemon, or a service
            // left from an earlier install, may still be running.
            let report = stop_by_pid_files(context, &lock, &layout)?;
            if report.stopped_anything() {
                writeln!(context.err(), "{}", report.describe())?;
            }
            if readable.is_err() {
                installed |= remove_definitions_on_disk(context, &layout)?;
            }
        }
    }
    drop(lock);
    if layout.config_file().exists() {
        installed |= config::remove_section(&layout.config_dir, "gateway")
            .context("cannot remove the gateway section")?
            .is_some();
    }
    remove_if_present(&layout.bootstrap_token_file())?;
    let _ = std::fs::remove_dir(layout.private_dir());
    let mut summary = if installed {
        "gateway uninstalled".to_string()
    } else {
        "gateway was not installed".to_string()
    };
    if options.purge {
        if layout.data_dir.exists() {
            std::fs::remove_dir_all(&layout.data_dir)
                .with_context(|| format!("cannot delete {}", layout.data_dir.display()))?;
            summary.push_str(&format!(
                "; its data ({}) was deleted",
                layout.data_dir.display()
            ));
        }
    } else if layout.data_dir.exists() {
        summary.push_str(&format!(
            "; its data is kept in {} (delete it with --purge)",
            layout.data_dir.display()
        ));
    }
    writeln!(context.out(), "{summary}")?;
    Ok(0)
}

/// Removes the systemd unit and the launchd agent of this layout when they exist
/// (used when config.json cannot say which one was installed). Returns whether
/// one was removed.
fn remove_definitions_on_disk(context: &Context<'_>, layout: &Layout) -> Result<bool> {
    let spec = super::service_spec(context, layout.clone())?;
    let mut removed = false;
    if layout.systemd_unit_file().exists() && systemd::user_manager_available() {
        service::remove_definition(ServiceManager::Systemd, &spec)?;
        removed = true;
    }
    if layout.launchd_plist_file().exists() {
        launchd::remove(&spec)?;
        removed = true;
    }
    Ok(removed)
}
