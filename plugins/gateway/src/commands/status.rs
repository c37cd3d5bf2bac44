//! `mosaic gateway status [--json]`: installed, service manager, running + pid, URL,
//! health, tier (and for the team tier the health of PostgreSQL and Valkey), version,
//! admin present — secrets never shown.
//!
//! Exit code: 0 when the daemon runs, 3 when it does not (like `systemctl status`).

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::serde_json::json;
use mosaic_plugin_api::{Command, CommandSpec, Context, Example, NoOptions};

use super::recorded_manager;
use crate::client::GatewayClient;
use crate::layout::Layout;
use crate::pidfile::running_daemon;
use crate::settings::{Settings, Tier, SETTINGS};
use crate::storage::sqlite::admin_exists_in;
use crate::storage::team;

/// Exit code when the daemon is not running.
pub const EXIT_NOT_RUNNING: i32 = 3;

/// `mosaic gateway status`.
pub struct Status;

impl Command for Status {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "status",
            "Show whether the gateway is installed, running and healthy",
        )
        .long_about(
            "Show whether the gateway is installed and running (with its pid), its URL, \
             health, tier, version and whether an admin exists. Exits 0 when the daemon \
             runs and 3 when it does not. Secrets are never shown.",
        )
        .with_example(
            Example::new(
                "gateway status --json",
                "As one JSON document (exit 3: not running)",
            )
            .expect_exit_code(EXIT_NOT_RUNNING)
            .expect_stdout_contains("\"installed\": false"),
        )
    }

    fn run(context: &Context<'_>, _options: NoOptions) -> Result<i32> {
        status(context)
    }
}

/// Prints the status; returns 0 when the daemon runs, [`EXIT_NOT_RUNNING`] when not.
pub fn status(context: &Context<'_>) -> Result<i32> {
    let layout = Layout::from_context(context, None);
    let file = config::load(&layout.config_dir)?;
    let manager = recorded_manager(&file)?;
    let settings = Settings::from_file(&file)?;
    let pid = running_daemon(&layout.pid_file());
    let url = settings.local_url();
    let checking = context.progress(&format!("Checking the gateway at {url}"));
    let health = pid.map(|_| {
        GatewayClient::new(&url, Duration::from_secs(2))
            .health()
            .map_err(|error| format!("{error:#}"))
    });
    // The team tier's services are checked from here too, so their state shows
    // whether or not the daemon runs.
    let (dependencies, admin_present) = match settings.tier {
        Tier::Local => (Vec::new(), admin_exists_in(&layout.database_file()).ok()),
        Tier::Team => {
            checking.set_message("Checking PostgreSQL and Valkey");
            team::probe(&settings)?
        }
    };
    drop(checking);
    let version = health
        .as_ref()
        .and_then(|health| health.as_ref().ok())
        .map(|health| health.version.clone());
    let health_text = match &health {
        None => "not running".to_string(),
        Some(Ok(health)) => health
            .degradation()
            .unwrap_or_else(|| health.status.clone()),
        Some(Err(error)) => format!("unreachable ({error})"),
    };
    let dependency_json: serde_json::Map<String, serde_json::Value> = dependencies
        .iter()
        .map(|health| {
            let value = json!({
                "status": if health.error.is_some() { "unavailable" } else { "ok" },
                "address": health.address,
                "error": health.error,
            });
            (health.dependency.as_str().to_string(), value)
        })
        .collect();
    if context.json() {
        let mut document = json!({
            "installed": manager.is_some(),
            "service_manager": manager.map(|manager| manager.as_str()),
            "running": pid.is_some(),
            "pid": pid,
            "url": url,
            "health": health_text,
            "version": version,
            "admin_present": admin_present,
            "dependencies": dependency_json,
            "config_file": layout.config_file().display().to_string(),
            "log_file": layout.log_file().display().to_string(),
            "database_file": layout.database_file().display().to_string(),
        });
        for setting in SETTINGS {
            document[setting.name] = setting.shown_json(&settings);
        }
        context.print_json(&document)?;
    } else {
        let mut out = context.out();
        match (manager, pid) {
            (None, _) => writeln!(
                out,
                "gateway: not installed (install it with `mosaic gateway install`)"
            )?,
            (Some(_), Some(pid)) => writeln!(out, "gateway: running (pid {pid})")?,
            (Some(_), None) => writeln!(
                out,
                "gateway: not running (start it with `mosaic gateway start`)"
            )?,
        }
        if let Some(manager) = manager {
            let yes_no = |value: Option<bool>| match value {
                Some(true) => "yes",
                Some(false) => "no",
                None => "unknown",
            };
            writeln!(out, "  service manager:  {}", manager.describe())?;
            writeln!(out, "  URL:              {url}")?;
            writeln!(out, "  health:           {health_text}")?;
            for setting in SETTINGS {
                if let Some(label) = setting.status_label {
                    writeln!(out, "  {label:<18}{}", setting.shown_text(&settings))?;
                }
            }
            for health in &dependencies {
                let label = format!("{}:", health.dependency.describe());
                match &health.error {
                    None => writeln!(out, "  {label:<18}ok ({})", health.address)?,
                    Some(error) => writeln!(out, "  {label:<18}unavailable: {error}")?,
                }
            }
            writeln!(
                out,
                "  version:          {}",
                version.as_deref().unwrap_or("-")
            )?;
            writeln!(out, "  admin present:    {}", yes_no(admin_present))?;
            writeln!(
                out,
                "  config:           {}",
                layout.config_file().display()
            )?;
            writeln!(out, "  log:              {}", layout.log_file().display())?;
        }
    }
    Ok(if pid.is_some() { 0 } else { EXIT_NOT_RUNNING })
}
