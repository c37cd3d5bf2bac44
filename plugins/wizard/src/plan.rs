//! What the wizard is going to do: the chosen components and the values collected
//! for them, turned into the environment overrides each step is invoked with.
//!
//! Headless runs collect nothing: `gateway install` reads the gateway variables from
//! the environment itself (`MOSAIC_ADMIN_PASSWORD` …), so wizard and gateway validate
//! exactly alike. Interactive runs pass what the user typed as overrides of the one
//! invocation — secrets included, which is why they never go through argv.

use crate::components::Component;

/// Values for `gateway install`.
#[derive(Clone, Default)]
pub struct GatewayAnswers {
    /// `local` or `team`.
    pub tier: String,
    /// TCP port.
    pub port: String,
    /// The allowed CORS origin.
    pub cors_origin: String,
    /// PostgreSQL URL (team tier).
    pub database_url: Option<String>,
    /// Valkey URL (team tier).
    pub valkey_url: Option<String>,
    /// A new Anthropic API key, if one was typed.
    pub anthropic_key: Option<String>,
    /// The first admin user, when the gateway has none yet.
    pub admin: Option<AdminAnswers>,
}

/// The first admin user.
#[derive(Clone, Default)]
pub struct AdminAnswers {
    /// Display name.
    pub name: String,
    /// Login email.
    pub email: String,
    /// Password (at least 8 characters).
    pub password: String,
}

/// Values for the fleet defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetAnswers {
    /// Runtime `fleet launch` uses without `--runtime`.
    pub default_runtime: String,
    /// Seconds between heartbeats.
    pub heartbeat_interval: u64,
}

/// The longest heartbeat interval the fleet accepts (a day), in seconds.
pub const MAX_HEARTBEAT_INTERVAL: u64 = 86_400;

impl FleetAnswers {
    /// Checks the values with the fleet plugin's rules: a plain runtime name, and a
    /// whole number of seconds from 1 to a day. `source` names where each came from.
    pub fn from_text(
        runtime: (&str, &str),
        interval: (&str, &str),
    ) -> Result<FleetAnswers, String> {
        let (runtime_text, runtime_source) = runtime;
        let (interval_text, interval_source) = interval;
        let runtime = runtime_text.trim();
        let plain = !runtime.is_empty()
            && runtime
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !plain {
            return Err(format!(
                "{runtime_source}={runtime_text:?}: expected a runtime name such as \"claude\""
            ));
        }
        let heartbeat_interval = match interval_text.trim().parse::<u64>() {
            Ok(seconds) if (1..=MAX_HEARTBEAT_INTERVAL).contains(&seconds) => seconds,
            _ => {
                return Err(format!(
                    "{interval_source}={interval_text:?}: expected a whole number of seconds \
                     from 1 to {MAX_HEARTBEAT_INTERVAL}, e.g. 15"
                ))
            }
        };
        Ok(FleetAnswers {
            default_runtime: runtime.to_string(),
            heartbeat_interval,
        })
    }
}

/// The whole plan.
#[derive(Clone, Default)]
pub struct Plan {
    /// Components to apply, in order.
    pub components: Vec<Component>,
    /// Components left out and why (e.g. plugin not installed).
    pub skipped: Vec<(Component, String)>,
    /// Gateway values (interactive only; headless reads the environment).
    pub gateway: Option<GatewayAnswers>,
    /// Fleet values.
    pub fleet: Option<FleetAnswers>,
}

impl GatewayAnswers {
    /// The environment overrides for `gateway install`: headless (the wizard already
    /// asked everything) plus every collected value.
    pub fn env_overrides(&self) -> Vec<(String, String)> {
        let mut overrides = vec![
            ("MOSAIC_ASSUME_YES".to_string(), "1".to_string()),
            ("MOSAIC_STORAGE_TIER".to_string(), self.tier.clone()),
            ("MOSAIC_GATEWAY_PORT".to_string(), self.port.clone()),
            ("MOSAIC_CORS_ORIGIN".to_string(), self.cors_origin.clone()),
        ];
        let optional = [
            ("MOSAIC_DATABASE_URL", &self.database_url),
            ("MOSAIC_VALKEY_URL", &self.valkey_url),
            ("MOSAIC_ANTHROPIC_API_KEY", &self.anthropic_key),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                overrides.push((key.to_string(), value.clone()));
            }
        }
        if let Some(admin) = &self.admin {
            overrides.push(("MOSAIC_ADMIN_NAME".to_string(), admin.name.clone()));
            overrides.push(("MOSAIC_ADMIN_EMAIL".to_string(), admin.email.clone()));
            overrides.push(("MOSAIC_ADMIN_PASSWORD".to_string(), admin.password.clone()));
        }
        overrides
    }

    /// Lines for the summary, secrets left out.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "tier {}, port {}, CORS origin {}",
            self.tier, self.port, self.cors_origin
        )];
        if self.database_url.is_some() {
            lines.push("PostgreSQL and Valkey URLs set (not shown)".to_string());
        }
        lines.push(match &self.anthropic_key {
            Some(_) => "Anthropic API key: new key (not shown)".to_string(),
            None => "Anthropic API key: unchanged".to_string(),
        });
        match &self.admin {
            Some(admin) => lines.push(format!("admin: {} <{}>", admin.name, admin.email)),
            None => lines.push("admin: already present, unchanged".to_string()),
        }
        lines
    }
}

/// The overrides every headless step runs with.
pub fn headless_overrides() -> Vec<(String, String)> {
    vec![("MOSAIC_ASSUME_YES".to_string(), "1".to_string())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_overrides_carry_every_value_and_never_prompt() {
        let answers = GatewayAnswers {
            tier: "local".into(),
            port: "15000".into(),
            cors_origin: "http://localhost:3000".into(),
            anthropic_key: Some("sk-test".into()),
            admin: Some(AdminAnswers {
                name: "Ada".into(),
                email: "ada@example.com".into(),
                password: "correct horse".into(),
            }),
            ..GatewayAnswers::default()
        };
        let overrides = answers.env_overrides();
        let get = |key: &str| {
            overrides
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("MOSAIC_ASSUME_YES"), Some("1"));
        assert_eq!(get("MOSAIC_GATEWAY_PORT"), Some("15000"));
        assert_eq!(get("MOSAIC_ADMIN_PASSWORD"), Some("correct horse"));
        assert_eq!(get("MOSAIC_DATABASE_URL"), None);
    }

    #[test]
    fn fleet_values_follow_the_fleet_rules() {
        let ok = FleetAnswers::from_text(("codex", "default"), ("10", "MOSAIC_HEARTBEAT_INTERVAL"));
        assert_eq!(
            ok,
            Ok(FleetAnswers {
                default_runtime: "codex".into(),
                heartbeat_interval: 10
            })
        );
        for interval in ["0", "abc", "1.5", "-3", "86401"] {
            let error = FleetAnswers::from_text(
                ("claude", "default"),
                (interval, "MOSAIC_HEARTBEAT_INTERVAL"),
            )
            .unwrap_err();
            assert!(error.starts_with("MOSAIC_HEARTBEAT_INTERVAL="), "{error}");
        }
        assert!(
            FleetAnswers::from_text(("two words", "MOSAIC_FLEET_RUNTIME"), ("15", "default"))
                .is_err()
        );
    }

    #[test]
    fn summary_never_shows_secrets() {
        let answers = GatewayAnswers {
            anthropic_key: Some("sk-secret".into()),
            database_url: Some("postgres://u:pw@h/db".into()),
            admin: Some(AdminAnswers {
                password: "hunter2hunter2".into(),
                ..AdminAnswers::default()
            }),
            ..GatewayAnswers::default()
        };
        let text = answers.describe().join("\n");
        assert!(!text.contains("sk-secret") && !text.contains("pw@") && !text.contains("hunter2"));
    }
}
