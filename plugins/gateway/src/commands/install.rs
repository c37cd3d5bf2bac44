//! `mosaic gateway install`: configure, install the service, start it, create the
//! first admin, and print a summary.
//!
//! Everything is gathered and validated before the first side effect: a bad value
//! (or a missing admin variable in a headless run) exits non-zero with nothing
//! written and nothing started. Re-running updates the config and restarts the
//! daemon; the data is kept and an existing admin is never changed.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Input, Password};
use mosaic_plugin_api::sdk::account::{
    validate_email, validate_name, validate_password, MIN_PASSWORD_CHARS,
};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::serde_json::{json, Value};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use super::{
    check_team_services, needs_an_install, recorded_manager, service_spec, start_and_wait,
    stop_and_wait,
};
use crate::client::{Bootstrap, GatewayClient};
use crate::layout::Layout;
use crate::pidfile::running_daemon;
use crate::service::{self, ServiceManager};
use crate::settings::redact::shown_url;
use crate::settings::{
    check_port_free, is_exposed, setting, FlagValues, RawSettings, Settings, Tier,
    KEY_SERVICE_MANAGER, SETTINGS,
};
use crate::storage::sqlite::admin_exists_in;

/// `mosaic gateway install`.
pub struct Install;

impl Command for Install {
    type Options = InstallOptions;

    fn spec() -> CommandSpec {
        let spec = CommandSpec::new("install", "Install the gateway daemon").long_about(
            "Configure the gateway, install it as a service (a systemd user unit when \
             `systemctl --user` works, a launchd agent on macOS, else the built-in \
             supervisor), start it, wait for /health and create the first admin.\n\n\
             Each value comes from its flag, else its environment variable, else the \
             existing config, else the default. Interactive runs ask for what is \
             missing; headless runs (MOSAIC_ASSUME_YES=1, or stdin not a terminal) read \
             MOSAIC_ADMIN_NAME, MOSAIC_ADMIN_EMAIL and MOSAIC_ADMIN_PASSWORD for the \
             first admin. Everything is validated before anything is written.\n\n\
             Tier team (PostgreSQL + Valkey; several replicas behave as one) needs \
             MOSAIC_DATABASE_URL and MOSAIC_VALKEY_URL (prefer the variables: flags show \
             in the process list); install connects to both and checks credentials and \
             permissions before writing anything.",
        );
        SETTINGS
            .iter()
            .filter_map(|setting| {
                setting.flag_arg(if setting.team_connection {
                    ", team tier"
                } else {
                    ""
                })
            })
            .fold(spec, CommandSpec::arg)
            .arg(ArgSpec::flag(
                "force",
                "Replace an unreadable config.json (the old file is kept beside it)",
            ))
            .arg(ArgSpec::flag(
                "dry_run",
                "Only check the settings (and that the port is free); change nothing",
            ))
            .with_example(needs_an_install(
                "gateway install",
                "Interactive install on the default port",
            ))
            .with_example(needs_an_install(
                "gateway install --port 15000 --cors-origin https://ui.example.com",
                "Choose the port and the web UI origin",
            ))
            .with_example(needs_an_install(
                "gateway install --tier team",
                "Team tier; MOSAIC_DATABASE_URL and MOSAIC_VALKEY_URL set in the environment",
            ))
    }

    fn run(context: &Context<'_>, options: InstallOptions) -> Result<i32> {
        install(context, &options)
    }
}

/// What the command was asked.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InstallOptions {
    /// The setting flags (`--tier`, `--port`, …), by setting name.
    #[serde(flatten)]
    pub flags: FlagValues,
    /// `--force`.
    pub force: bool,
    /// `--dry-run`: validate everything, then stop before the first side effect.
    pub dry_run: bool,
}

/// The first admin to create, or why none is.
enum AdminPlan {
    Create {
        name: String,
        email: String,
        password: String,
    },
    Exists,
}

/// The admin from MOSAIC_ADMIN_* (headless), every problem named at once.
fn admin_from_environment(context: &Context<'_>) -> Result<AdminPlan> {
    let read = |name: &str| context.env(name).filter(|value| !value.is_empty());
    let (name, email, password) = (
        read("MOSAIC_ADMIN_NAME"),
        read("MOSAIC_ADMIN_EMAIL"),
        read("MOSAIC_ADMIN_PASSWORD"),
    );
    let missing: Vec<&str> = [
        ("MOSAIC_ADMIN_NAME", name.is_none()),
        ("MOSAIC_ADMIN_EMAIL", email.is_none()),
        ("MOSAIC_ADMIN_PASSWORD", password.is_none()),
    ]
    .iter()
    .filter(|(_, missing)| *missing)
    .map(|(variable, _)| *variable)
    .collect();
    if !missing.is_empty() {
        bail!(
            "the gateway has no admin yet and this is a headless install: set {} \
             (missing: {})",
            "MOSAIC_ADMIN_NAME, MOSAIC_ADMIN_EMAIL and MOSAIC_ADMIN_PASSWORD",
            missing.join(", ")
        );
    }
    let (name, email, password) = (
        name.unwrap_or_default(),
        email.unwrap_or_default(),
        password.unwrap_or_default(),
    );
    Ok(AdminPlan::Create {
        name: validate_name(&name).map_err(|error| anyhow!("MOSAIC_ADMIN_NAME: {error}"))?,
        email: validate_email(&email).map_err(|error| anyhow!("MOSAIC_ADMIN_EMAIL: {error}"))?,
        password: {
            validate_password(&password)
                .map_err(|error| anyhow!("MOSAIC_ADMIN_PASSWORD: {error}"))?;
            password
        },
    })
}

fn theme(context: &Context<'_>) -> Box<dyn Theme> {
    if context.color() {
        Box::new(ColorfulTheme::default())
    } else {
        Box::new(SimpleTheme)
    }
}

fn prompt_failed(error: dialoguer::Error) -> anyhow::Error {
    anyhow!("the prompt was interrupted ({error}); nothing was installed")
}

/// Asks for the settings that declare a question and that no flag, variable or
/// config gave (the default is offered; secrets are typed hidden; the team tier's
/// URLs only for the team tier). `settings` holds the values so far and is
/// updated with each answer; an answer is checked like a flag before it is taken,
/// and one that changes the bind address must be free (`port_in_use_by_us`: the
/// running gateway's own port counts as free).
fn prompt_settings(
    context: &Context<'_>,
    raw: &mut RawSettings,
    settings: &mut Settings,
    port_in_use_by_us: impl Fn(u16) -> bool,
) -> Result<()> {
    let theme = theme(context);
    for setting in SETTINGS {
        let Some(question) = setting.prompt else {
            continue;
        };
        if raw.is_given(setting.name) || (setting.team_connection && settings.tier != Tier::Team) {
            continue;
        }
        let check = |text: &String| -> Result<(), String> {
            let mut trial = settings.clone();
            (setting.apply)(&mut trial, text).map_err(|error| error.to_string())?;
            if setting.bind_address && !port_in_use_by_us(trial.port) {
                check_port_free(trial.bind_address()).map_err(|error| error.to_string())?;
            }
            Ok(())
        };
        let answer = if setting.is_secret() {
            let prompt = Password::with_theme(theme.as_ref()).with_prompt(question);
            if setting.is_optional() {
                prompt.allow_empty_password(true).interact()
            } else {
                prompt.validate_with(check).interact()
            }
        } else {
            let offered = raw
                .get(setting.name)
                .map(|gathered| gathered.text.clone())
                .or(setting.default.map(str::to_string))
                .unwrap_or_default();
            Input::with_theme(theme.as_ref())
                .with_prompt(question)
                .default(offered)
                .validate_with(check)
                .interact_text()
        }
        .map_err(prompt_failed)?;
        if answer.trim().is_empty() && setting.is_optional() {
            continue;
        }
        (setting.apply)(settings, &answer)?;
        raw.answer(setting, &answer);
    }
    Ok(())
}

/// Asks for the first admin (values from MOSAIC_ADMIN_* are taken as given).
fn prompt_admin(context: &Context<'_>) -> Result<AdminPlan> {
    let theme = theme(context);
    let given = |name: &str| context.env(name).filter(|value| !value.is_empty());
    let name = match given("MOSAIC_ADMIN_NAME") {
        Some(name) => {
            validate_name(&name).map_err(|error| anyhow!("MOSAIC_ADMIN_NAME: {error}"))?
        }
        None => Input::<String>::with_theme(theme.as_ref())
            .with_prompt("Admin name")
            .validate_with(|text: &String| {
                validate_name(text)
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            })
            .interact_text()
            .map_err(prompt_failed)?
            .trim()
            .to_string(),
    };
    let email = match given("MOSAIC_ADMIN_EMAIL") {
        Some(email) => {
            validate_email(&email).map_err(|error| anyhow!("MOSAIC_ADMIN_EMAIL: {error}"))?
        }
        None => {
            let email = Input::<String>::with_theme(theme.as_ref())
                .with_prompt("Admin email")
                .validate_with(|text: &String| {
                    validate_email(text)
                        .map(|_| ())
                        .map_err(|error| error.to_string())
                })
                .interact_text()
                .map_err(prompt_failed)?;
            validate_email(&email)?
        }
    };
    let password = match given("MOSAIC_ADMIN_PASSWORD") {
        Some(password) => {
            validate_password(&password)
                .map_err(|error| anyhow!("MOSAIC_ADMIN_PASSWORD: {error}"))?;
            password
        }
        None => Password::with_theme(theme.as_ref())
            .with_prompt(format!(
                "Admin password (at least {MIN_PASSWORD_CHARS} characters)"
            ))
            .with_confirmation(
                "Repeat the password",
                "The passwords do not match; try again",
            )
            .validate_with(|text: &String| {
                validate_password(text).map_err(|error| error.to_string())
            })
            .interact()
            .map_err(prompt_failed)?,
    };
    Ok(AdminPlan::Create {
        name,
        email,
        password,
    })
}

/// Moves an unreadable config.json aside (only with `--force`).
fn move_aside(path: &Path) -> Result<std::path::PathBuf> {
    let backup = path.with_file_name(format!("config.json.corrupt-{}", crate::clock::unix_now()));
    std::fs::rename(path, &backup).with_context(|| {
        format!(
            "cannot move {} aside to {}",
            path.display(),
            backup.display()
        )
    })?;
    Ok(backup)
}

/// Installs (or reinstalls) the gateway.
pub fn install(context: &Context<'_>, options: &InstallOptions) -> Result<i32> {
    let layout = Layout::from_context(context, None);
    let config_file = layout.config_file();

    // 1. The existing configuration; an unreadable one is never overwritten silently.
    let (file, unreadable) = match config::load(&layout.config_dir) {
        Ok(file) => (file, false),
        Err(error) if options.force => {
            writeln!(
                context.err(),
                "warning: {error:#}\n  --force: it will be moved aside and replaced"
            )?;
            (Value::Object(Default::default()), true)
        }
        Err(error) => bail!(
            "{error:#}\n`gateway install` does not overwrite an unreadable config file: fix \
             it, or re-run with --force to move it aside and start afresh"
        ),
    };
    let previous_manager = recorded_manager(&file).unwrap_or(None);
    let previous_settings = Settings::from_file(&file).ok();

    // 2. Gather (flag > environment > config > default), then validate.
    let headless = !context.can_prompt();
    let mut raw = RawSettings::gather(&options.flags, |name| context.env(name), &file)?;
    // Values given on the command line or in the environment are checked before
    // any question is asked (whether the tier has all it needs, after them).
    let mut so_far = raw.validate_values()?;
    let manager = ServiceManager::detect(context.env("MOSAIC_SERVICE_MANAGER").as_deref())?;
    let running = running_daemon(&layout.pid_file());
    let port_in_use_by_us = |port: u16| {
        running.is_some()
            && previous_settings
                .as_ref()
                .is_some_and(|previous| previous.port == port)
    };
    if !headless {
        prompt_settings(context, &mut raw, &mut so_far, port_in_use_by_us)?;
    }
    let settings = raw.validate()?;
    let ours = port_in_use_by_us(settings.port)
        && previous_settings
            .as_ref()
            .is_some_and(|previous| previous.host == settings.host);
    if !ours {
        check_port_free(settings.bind_address())?;
    }
    // The team tier's services are checked (credentials, permissions) before
    // anything is written; the admin, if any, lives in PostgreSQL.
    let admin_exists = match settings.tier {
        Tier::Local => admin_exists_in(&layout.database_file())?,
        Tier::Team => {
            let checked = check_team_services(context, &settings)
                .context("the team tier's services failed the check; nothing was written")?;
            writeln!(
                context.err(),
                "PostgreSQL and Valkey answered; credentials and permissions are fine ({} \
                 gateway users in PostgreSQL)",
                checked.users
            )?;
            checked.admin_exists
        }
    };
    let admin = if admin_exists {
        AdminPlan::Exists
    } else if headless {
        admin_from_environment(context)?
    } else {
        prompt_admin(context)?
    };
    let spec = service_spec(context, layout.clone())?;
    if options.dry_run {
        writeln!(
            context.err(),
            "The gateway settings are valid (tier {}, {}); nothing was changed (--dry-run).",
            settings.tier.as_str(),
            settings.bind_address()
        )?;
        return Ok(0);
    }

    // 3. Side effects: config, service definition, (re)start.
    if unreadable && config_file.exists() {
        let backup = move_aside(&config_file)?;
        writeln!(
            context.err(),
            "moved the unreadable config to {}",
            backup.display()
        )?;
    }
    config::update(&layout.config_dir, |root| {
        settings.store(root)?;
        config::set(root, KEY_SERVICE_MANAGER, json!(manager.as_str()))
    })?;
    if is_exposed(settings.host) {
        writeln!(
            context.err(),
            "warning: the gateway will listen on {}, which is not a loopback address: \
             other machines can reach it",
            settings.host
        )?;
    }
    if running.is_some() {
        let old_manager = previous_manager.unwrap_or(ServiceManager::Supervisor);
        writeln!(
            context.err(),
            "Stopping the running gateway to apply the new settings…"
        )?;
        stop_and_wait(context, old_manager, &spec)?;
        if old_manager != manager {
            service::remove_definition(old_manager, &spec)?;
        }
    }
    service::install_definition(manager, &spec)?;
    writeln!(context.err(), "Service manager: {}", manager.describe())?;
    let health = start_and_wait(context, manager, &spec, &settings)?;
    if let Some(degradation) = health.degradation() {
        writeln!(context.err(), "warning: the gateway is {degradation}")?;
    }

    // 4. The first admin.
    let client = GatewayClient::new(&settings.local_url(), std::time::Duration::from_secs(10));
    let admin_line = match admin {
        AdminPlan::Exists => {
            writeln!(
                context.err(),
                "note: an admin already exists; skipped creating one (install never changes \
                 a password)"
            )?;
            "existing admin kept".to_string()
        }
        AdminPlan::Create {
            name,
            email,
            password,
        } => {
            let token_file = layout.bootstrap_token_file();
            let token = std::fs::read_to_string(&token_file).with_context(|| {
                format!(
                    "cannot read the bootstrap token {} written by the daemon; see {}",
                    token_file.display(),
                    layout.log_file().display()
                )
            })?;
            match client.bootstrap_admin(token.trim(), &name, &email, &password)? {
                Bootstrap::Created => format!("{email} (created)"),
                Bootstrap::AdminExists => {
                    writeln!(
                        context.err(),
                        "note: an admin already exists; skipped creating {email}"
                    )?;
                    "existing admin kept".to_string()
                }
            }
        }
    };

    // 5. Summary.
    let url = settings.local_url();
    if context.json() {
        context.print_json(&json!({
            "installed": true,
            "url": url,
            "dashboard_url": format!("{url}/"),
            "tier": settings.tier.as_str(),
            "database_url": setting("database_url").shown_json(&settings),
            "valkey_url": setting("valkey_url").shown_json(&settings),
            "version": health.version,
            "service_manager": manager.as_str(),
            "admin": admin_line,
            "config_file": config_file.display().to_string(),
            "log_file": layout.log_file().display().to_string(),
        }))?;
    } else {
        let mut out = context.out();
        writeln!(out, "Gateway {} installed and running.", health.version)?;
        writeln!(out, "  URL:              {url}")?;
        writeln!(
            out,
            "  dashboard:        {url}/ (sign in as a gateway user)"
        )?;
        writeln!(out, "  tier:             {}", settings.tier)?;
        if settings.tier == Tier::Team {
            writeln!(
                out,
                "  PostgreSQL:       {}",
                shown_url(&settings.database_url)
            )?;
            writeln!(
                out,
                "  Valkey:           {}",
                shown_url(&settings.valkey_url)
            )?;
        }
        writeln!(out, "  service manager:  {}", manager.describe())?;
        writeln!(out, "  admin:            {admin_line}")?;
        writeln!(out, "  config:           {}", config_file.display())?;
        writeln!(out, "  log:              {}", layout.log_file().display())?;
    }
    Ok(0)
}
