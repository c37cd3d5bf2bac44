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
use mosaic_plugin_api::sdk::config::{self, ValueSource};
use mosaic_plugin_api::serde_json::{json, Value};
use mosaic_plugin_api::{ArgSpec, CommandSpec, Context, Invocation};

use super::{recorded_manager, service_spec, start_and_wait};
use crate::client::{Bootstrap, GatewayClient};
use crate::layout::Layout;
use crate::pidfile::running_daemon;
use crate::service::{self, ServiceManager};
use crate::settings::{
    check_port_free, is_exposed, parse_port, redact_url, validate_email, validate_name,
    validate_origin, validate_password, validate_service_url, FlagValues, Gathered, RawSettings,
    Settings, Tier, KEY_SERVICE_MANAGER,
};
use crate::storage::sqlite::admin_exists_in;
use crate::storage::team;

/// The command's declaration.
pub fn spec() -> CommandSpec {
    CommandSpec::new("install", "Install the gateway daemon")
        .long_about(
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
        )
        .arg(
            ArgSpec::option("tier", "Storage tier [env: MOSAIC_STORAGE_TIER] (default local)")
                .value_name("TIER")
                .possible_values(&["local", "team"]),
        )
        .arg(
            ArgSpec::option("port", "TCP port [env: MOSAIC_GATEWAY_PORT] (default 14242)")
                .value_name("PORT"),
        )
        .arg(
            ArgSpec::option("host", "Address to bind [env: MOSAIC_GATEWAY_HOST] (default 127.0.0.1)")
                .value_name("ADDR"),
        )
        .arg(
            ArgSpec::option(
                "cors_origin",
                "Browser origin allowed to call the API [env: MOSAIC_CORS_ORIGIN] (default http://localhost:3000)",
            )
            .value_name("URL"),
        )
        .arg(
            ArgSpec::option("database_url", "PostgreSQL URL, team tier [env: MOSAIC_DATABASE_URL]")
                .value_name("URL"),
        )
        .arg(
            ArgSpec::option("valkey_url", "Valkey URL, team tier [env: MOSAIC_VALKEY_URL]")
                .value_name("URL"),
        )
        .arg(ArgSpec::flag(
            "force",
            "Replace an unreadable config.json (the old file is kept beside it)",
        ))
        .arg(ArgSpec::flag(
            "dry_run",
            "Only check the settings (and that the port is free); change nothing",
        ))
        .example("gateway install", "Interactive install on the default port")
        .example(
            "gateway install --port 15000 --cors-origin https://ui.example.com",
            "Choose the port and the web UI origin",
        )
        .example(
            "gateway install --tier team",
            "Team tier; MOSAIC_DATABASE_URL and MOSAIC_VALKEY_URL set in the environment",
        )
}

/// What the command was asked.
pub struct InstallOptions {
    /// Values given as flags.
    pub flags: FlagValues,
    /// `--force`.
    pub force: bool,
    /// `--dry-run`: validate everything, then stop before the first side effect.
    pub dry_run: bool,
}

/// Runs the command.
pub fn run(context: &Context<'_>, invocation: &Invocation) -> Result<i32> {
    let value = |name: &str| invocation.value(name).map(str::to_string);
    let options = InstallOptions {
        flags: FlagValues {
            tier: value("tier"),
            port: value("port"),
            host: value("host"),
            cors_origin: value("cors_origin"),
            database_url: value("database_url"),
            valkey_url: value("valkey_url"),
        },
        force: invocation.flag("force"),
        dry_run: invocation.flag("dry_run"),
    };
    install(context, &options)
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

/// Asks for values no flag, variable or config gave (the default is offered).
fn prompt_settings(
    context: &Context<'_>,
    raw: &mut RawSettings,
    port_in_use_by_us: impl Fn(u16) -> bool,
) -> Result<()> {
    let theme = theme(context);
    let unset = |gathered: &Option<Gathered>| !matches!(gathered, Some(gathered) if gathered.source != ValueSource::Default);
    let host = raw
        .host
        .as_ref()
        .map(|gathered| gathered.text.clone())
        .unwrap_or_else(|| crate::settings::DEFAULT_HOST.to_string());
    let asked = |text: String| {
        Some(Gathered {
            text,
            source: ValueSource::Flag,
        })
    };
    if unset(&raw.port) {
        let default = raw
            .port
            .as_ref()
            .map(|gathered| gathered.text.clone())
            .unwrap_or_else(|| crate::settings::DEFAULT_PORT.to_string());
        let port: String = Input::with_theme(theme.as_ref())
            .with_prompt("Gateway port")
            .default(default)
            .validate_with(|text: &String| -> Result<(), String> {
                let port = parse_port(text).map_err(|error| error.to_string())?;
                if port_in_use_by_us(port) {
                    return Ok(());
                }
                let address = format!("{host}:{port}")
                    .parse()
                    .map_err(|_| format!("invalid address {host}:{port}"))?;
                check_port_free(address).map_err(|error| error.to_string())
            })
            .interact_text()
            .map_err(prompt_failed)?;
        raw.port = asked(port.trim().to_string());
    }
    if unset(&raw.cors_origin) {
        let origin: String = Input::with_theme(theme.as_ref())
            .with_prompt("Web UI origin allowed by CORS")
            .default(crate::settings::DEFAULT_CORS_ORIGIN.to_string())
            .validate_with(|text: &String| {
                validate_origin(text)
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            })
            .interact_text()
            .map_err(prompt_failed)?;
        raw.cors_origin = asked(origin);
    }
    let team = raw
        .tier
        .as_ref()
        .is_some_and(|gathered| gathered.text.trim() == Tier::Team.as_str());
    // URLs hold passwords: typed hidden, like the API key.
    let service_url = |prompt: &str, schemes: &'static [&'static str]| {
        Password::with_theme(theme.as_ref())
            .with_prompt(prompt)
            .validate_with(move |text: &String| {
                validate_service_url(text, schemes).map_err(|error| error.to_string())
            })
            .interact()
            .map_err(prompt_failed)
    };
    if team && raw.database_url.is_none() {
        let url = service_url(
            "PostgreSQL URL (postgres://USER:PASSWORD@HOST:5432/DB; hidden)",
            &["postgres", "postgresql"],
        )?;
        raw.database_url = asked(url.trim().to_string());
    }
    if team && raw.valkey_url.is_none() {
        let url = service_url(
            "Valkey URL (redis://:PASSWORD@HOST:6379 or rediss://…; hidden)",
            &["redis", "rediss"],
        )?;
        raw.valkey_url = asked(url.trim().to_string());
    }
    if raw.anthropic_api_key.is_none() {
        let key = Password::with_theme(theme.as_ref())
            .with_prompt("Anthropic API key (optional; Enter to skip)")
            .allow_empty_password(true)
            .interact()
            .map_err(prompt_failed)?;
        if !key.trim().is_empty() {
            raw.anthropic_api_key = asked(key);
        }
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
            .with_prompt("Admin password (at least 8 characters)")
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
    // any question is asked.
    raw.validate()?;
    let manager = ServiceManager::detect(context.env("MOSAIC_SERVICE_MANAGER").as_deref())?;
    let running = running_daemon(&layout.pid_file());
    let port_in_use_by_us = |port: u16| {
        running.is_some()
            && previous_settings
                .as_ref()
                .is_some_and(|previous| previous.port == port)
    };
    if !headless {
        prompt_settings(context, &mut raw, port_in_use_by_us)?;
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
            let bar = super::spinner("Checking PostgreSQL and Valkey".to_string());
            let checked = team::check(&settings);
            bar.finish_and_clear();
            let checked = checked
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
        for (key, value) in settings.to_config_values() {
            match value {
                Some(value) => config::set(root, key, value)?,
                None => {
                    config::unset(root, key)?;
                }
            }
        }
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
        service::stop(old_manager, &spec)?;
        if old_manager != manager {
            service::remove_definition(old_manager, &spec)?;
        }
    }
    service::install_definition(manager, &spec)?;
    writeln!(context.err(), "Service manager: {}", manager.describe())?;
    let health = start_and_wait(manager, &spec, &settings)?;
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
            "tier": settings.tier.as_str(),
            "database_url": settings.database_url.as_ref().map(|url| redact_url(url.expose())),
            "valkey_url": settings.valkey_url.as_ref().map(|url| redact_url(url.expose())),
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
        writeln!(out, "  tier:             {}", settings.tier)?;
        if settings.tier == Tier::Team {
            let shown = |url: &Option<crate::settings::Secret>| {
                url.as_ref()
                    .map(|url| redact_url(url.expose()))
                    .unwrap_or_default()
            };
            writeln!(out, "  PostgreSQL:       {}", shown(&settings.database_url))?;
            writeln!(out, "  Valkey:           {}", shown(&settings.valkey_url))?;
        }
        writeln!(out, "  service manager:  {}", manager.describe())?;
        writeln!(out, "  admin:            {admin_line}")?;
        writeln!(out, "  config:           {}", config_file.display())?;
        writeln!(out, "  log:              {}", layout.log_file().display())?;
    }
    Ok(0)
}
