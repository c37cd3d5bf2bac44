//! The interactive questions (dialoguer). Every answer is checked as it is typed; the
//! current setup provides the defaults, so re-running the wizard and pressing Enter
//! changes nothing.

use std::io;

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, MultiSelect, Password, Select};
use mosaic_plugin_api::sdk::account::{
    validate_email, validate_name, validate_password, MIN_PASSWORD_CHARS,
};
use mosaic_plugin_api::Context;

use crate::components::Component;
use crate::environment::{Environment, RUNTIMES};
use crate::plan::{AdminAnswers, FleetAnswers, GatewayAnswers, Plan, MAX_HEARTBEAT_INTERVAL};

/// The user ended the questions (Ctrl-C is handled by a signal handler; this is EOF).
#[derive(Debug)]
pub struct Aborted;

impl From<dialoguer::Error> for Aborted {
    fn from(_: dialoguer::Error) -> Aborted {
        Aborted
    }
}

impl From<io::Error> for Aborted {
    fn from(_: io::Error) -> Aborted {
        Aborted
    }
}

/// The theme: colourful unless colour is off.
pub fn theme(context: &Context<'_>) -> Box<dyn Theme> {
    if context.color() {
        Box::new(ColorfulTheme::default())
    } else {
        Box::new(SimpleTheme)
    }
}

/// Asks whether to change an existing setup; `false` means leave everything alone.
pub fn confirm_change(theme: &dyn Theme, summary: &str) -> Result<bool, Aborted> {
    Ok(Confirm::with_theme(theme)
        .with_prompt(format!("{summary} Change something?"))
        .default(false)
        .interact()?)
}

/// Lets the user pick among the available components (all preselected).
pub fn choose_components(
    theme: &dyn Theme,
    available: &[Component],
) -> Result<Vec<Component>, Aborted> {
    if available.is_empty() {
        return Ok(Vec::new());
    }
    let labels: Vec<&str> = available
        .iter()
        .map(|component| component.title())
        .collect();
    let defaults = vec![true; available.len()];
    let chosen = MultiSelect::with_theme(theme)
        .with_prompt("What should be set up? (space toggles, enter confirms)")
        .items(&labels)
        .defaults(&defaults)
        .interact()?;
    Ok(chosen.into_iter().map(|index| available[index]).collect())
}

fn valid_port(text: &str) -> Result<(), String> {
    match text.trim().parse::<u32>() {
        Ok(port) if (1..=65_535).contains(&port) => Ok(()),
        _ => Err("a port is a number from 1 to 65535".to_string()),
    }
}

fn valid_url(text: &str, schemes: &[&str]) -> Result<(), String> {
    if schemes
        .iter()
        .any(|scheme| text.starts_with(&format!("{scheme}://")) && text.len() > scheme.len() + 3)
    {
        Ok(())
    } else {
        Err(format!(
            "expected a URL starting with {}",
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    }
}

/// The admin's email, by the gateway's own rule (the SDK's account rules).
fn valid_email(text: &str) -> Result<(), String> {
    validate_email(text)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// The admin's display name, by the gateway's own rule.
fn valid_name(text: &str) -> Result<(), String> {
    validate_name(text)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// The admin's password, by the gateway's own rule (the message never shows it).
fn valid_password(text: &str) -> Result<(), String> {
    validate_password(text).map_err(|error| error.to_string())
}

/// Asks for the gateway settings; `environment` provides the current values.
pub fn ask_gateway(
    theme: &dyn Theme,
    environment: &Environment,
) -> Result<GatewayAnswers, Aborted> {
    let status = environment.gateway_status.clone().unwrap_or_default();
    let current = |key: &str| {
        status.get(key).and_then(|value| match value {
            mosaic_plugin_api::serde_json::Value::String(text) => Some(text.clone()),
            mosaic_plugin_api::serde_json::Value::Number(number) => Some(number.to_string()),
            _ => None,
        })
    };
    let tiers = ["local", "team"];
    let current_tier = current("tier").unwrap_or_else(|| "local".to_string());
    let tier_index = Select::with_theme(theme)
        .with_prompt("Storage tier (local: SQLite on this machine; team: PostgreSQL + Valkey)")
        .items(&tiers)
        .default(
            tiers
                .iter()
                .position(|tier| *tier == current_tier)
                .unwrap_or(0),
        )
        .interact()?;
    let tier = tiers[tier_index].to_string();
    let (database_url, valkey_url) = if tier == "team" {
        let database: String = Input::with_theme(theme)
            .with_prompt("PostgreSQL URL (postgres://user:password@host/db)")
            .validate_with(|text: &String| valid_url(text, &["postgres", "postgresql"]))
            .interact_text()?;
        let valkey: String = Input::with_theme(theme)
            .with_prompt("Valkey URL (redis://host:6379)")
            .validate_with(|text: &String| valid_url(text, &["redis", "rediss"]))
            .interact_text()?;
        (Some(database), Some(valkey))
    } else {
        (None, None)
    };
    let port: String = Input::with_theme(theme)
        .with_prompt("Gateway port")
        .default(current("port").unwrap_or_else(|| "14242".to_string()))
        .validate_with(|text: &String| valid_port(text))
        .interact_text()?;
    let cors_origin: String = Input::with_theme(theme)
        .with_prompt("Web UI origin allowed by CORS")
        .default(current("cors_origin").unwrap_or_else(|| "http://localhost:3000".to_string()))
        .validate_with(|text: &String| valid_url(text, &["http", "https"]))
        .interact_text()?;
    let key = Password::with_theme(theme)
        .with_prompt("Anthropic API key (Enter to keep the current one or skip)")
        .allow_empty_password(true)
        .interact()?;
    let admin = if environment.gateway_has_admin() {
        None
    } else {
        let name: String = Input::with_theme(theme)
            .with_prompt("Admin name")
            .validate_with(|text: &String| valid_name(text))
            .interact_text()?;
        let email: String = Input::with_theme(theme)
            .with_prompt("Admin email")
            .validate_with(|text: &String| valid_email(text))
            .interact_text()?;
        let password = Password::with_theme(theme)
            .with_prompt(format!(
                "Admin password (at least {MIN_PASSWORD_CHARS} characters)"
            ))
            .with_confirmation("Repeat the password", "The passwords do not match")
            .validate_with(|text: &String| valid_password(text))
            .interact()?;
        Some(AdminAnswers {
            name,
            email,
            password,
        })
    };
    Ok(GatewayAnswers {
        tier,
        port: port.trim().to_string(),
        cors_origin,
        database_url,
        valkey_url,
        anthropic_key: (!key.is_empty()).then_some(key),
        admin,
    })
}

/// Asks for the fleet defaults.
pub fn ask_fleet(theme: &dyn Theme, environment: &Environment) -> Result<FleetAnswers, Aborted> {
    let current_runtime = environment
        .config_text("fleet.default_runtime")
        .unwrap_or_else(|| "claude".to_string());
    let labels: Vec<String> = RUNTIMES
        .iter()
        .map(|runtime| {
            let found = environment
                .runtimes
                .iter()
                .any(|(name, path)| name == runtime && path.is_some());
            if found {
                runtime.to_string()
            } else {
                format!("{runtime} (not found on PATH)")
            }
        })
        .collect();
    let runtime_index = Select::with_theme(theme)
        .with_prompt("Default agent runtime for `mosaic fleet launch`")
        .items(&labels)
        .default(
            RUNTIMES
                .iter()
                .position(|runtime| *runtime == current_runtime)
                .unwrap_or(0),
        )
        .interact()?;
    let interval: String = Input::with_theme(theme)
        .with_prompt("Heartbeat interval in seconds")
        .default(
            environment
                .config_text("fleet.heartbeat_interval")
                .unwrap_or_else(|| "15".to_string()),
        )
        .validate_with(|text: &String| match text.trim().parse::<u64>() {
            Ok(seconds) if (1..=MAX_HEARTBEAT_INTERVAL).contains(&seconds) => Ok(()),
            _ => Err(format!(
                "a whole number of seconds from 1 to {MAX_HEARTBEAT_INTERVAL}"
            )),
        })
        .interact_text()?;
    Ok(FleetAnswers {
        default_runtime: RUNTIMES[runtime_index].to_string(),
        heartbeat_interval: interval.trim().parse().unwrap_or(15),
    })
}

/// Shows the summary and asks for the go-ahead.
pub fn confirm_plan(theme: &dyn Theme, plan: &Plan) -> Result<bool, Aborted> {
    Ok(Confirm::with_theme(theme)
        .with_prompt(format!(
            "Apply: {}?",
            plan.components
                .iter()
                .map(|component| component.title())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .default(true)
        .interact()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_accept_good_and_refuse_bad_input() {
        assert!(valid_port("14242").is_ok());
        assert!(valid_port("0").is_err());
        assert!(valid_port("70000").is_err());
        assert!(valid_email("ada@example.com").is_ok());
        assert!(valid_email("ada@example").is_err());
        assert!(valid_email("a@b@c.com").is_err());
        assert!(valid_url("postgres://h/db", &["postgres"]).is_ok());
        assert!(valid_url("http//x", &["http"]).is_err());
    }

    /// The wizard promises that it and the gateway validate alike: a value the
    /// SDK's account rule refuses is refused at the prompt, and one it accepts is
    /// accepted, with the same message.
    #[test]
    fn prompts_validate_accounts_exactly_like_the_sdk() {
        let emails = [
            "ada@example.com",
            " Ada@Example.COM ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@.example.com",
            "ada@example..com",
            "ada@example.com.",
            "a da@example.com",
            "a@b@c.com",
            "",
        ];
        for email in emails {
            let sdk = validate_email(email).map(drop).map_err(|e| e.to_string());
            assert_eq!(valid_email(email), sdk, "email {email:?}");
        }
        let long_name = "x".repeat(101);
        let names = [
            "Ada Lovelace",
            "  Ada ",
            "",
            "   ",
            "a\u{7}b",
            long_name.as_str(),
        ];
        for name in names {
            let sdk = validate_name(name).map(drop).map_err(|e| e.to_string());
            assert_eq!(valid_name(name), sdk, "name {name:?}");
        }
        let too_long = "p".repeat(1025);
        let passwords = [
            "",
            "7chars!",
            "eight ch",
            "correct horse battery staple",
            "ünïcödé",
            "ünïcödé!",
            too_long.as_str(),
        ];
        for password in passwords {
            let sdk = validate_password(password).map_err(|e| e.to_string());
            assert_eq!(valid_password(password), sdk, "password {password:?}");
        }
        // A few that must go each way, so the lists above test both outcomes.
        assert!(valid_email("ada@example.com").is_ok());
        assert!(valid_email("ada@example.com.").is_err());
        assert!(valid_name("  Ada ").is_ok());
        assert!(valid_password("7chars!").is_err());
        assert!(valid_password("eight ch").is_ok());
    }
}
