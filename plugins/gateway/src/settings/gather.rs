//! Gathering the settings: each declared setting's value comes from its flag, else
//! its environment variable, else `config.json`, else its default, and is checked
//! by the setting's own parse function. Errors are one line naming where the bad
//! value came from (`--port`, `MOSAIC_GATEWAY_PORT`, `config.json gateway.port`).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use mosaic_plugin_api::sdk::config::{self, ValueSource};
use mosaic_plugin_api::sdk::fs::json_type_name;
use mosaic_plugin_api::serde_json::Value;
use serde::Deserialize;

use super::declarations::{Setting, SETTINGS};
use super::{Settings, Tier};

/// The setting flags of a command, by setting name (`port`, `cors_origin`), as the
/// host parsed them from the options [`Setting::flag_arg`] declares: text, a number
/// for numeric settings, `null` when absent. A command's options struct takes them
/// with `#[serde(flatten)]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct FlagValues(BTreeMap<String, Value>);

impl FlagValues {
    /// These flags with `name` given as `value`, for options built by hand.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> FlagValues {
        self.0.insert(name.to_string(), value.into());
        self
    }

    /// The flag of setting `name` as text, if it was given.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).and_then(value_text)
    }
}

/// One gathered value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Gathered {
    /// The text of the value.
    pub text: String,
    /// Flag, environment variable, config.json or default.
    pub source: ValueSource,
}

/// Every setting as text, before validation, with its source; unset optional
/// settings are absent.
#[derive(Debug, Clone)]
pub struct RawSettings {
    values: BTreeMap<&'static str, Gathered>,
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Where a value of `setting` came from, as error messages name it.
fn described(setting: &Setting, source: &ValueSource) -> String {
    match source {
        ValueSource::Flag => format!("--{}", setting.long()),
        ValueSource::Env(name) => name.clone(),
        ValueSource::File => format!("config.json {}", setting.key()),
        ValueSource::Default => format!("default {}", setting.long()),
    }
}

impl RawSettings {
    /// Gathers every value: flag > environment > `file` > default. Empty
    /// environment values count as unset.
    pub fn gather(
        flags: &FlagValues,
        env: impl Fn(&str) -> Option<String>,
        file: &Value,
    ) -> Result<RawSettings> {
        let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let mut values = BTreeMap::new();
        for setting in SETTINGS {
            let flag = setting.flag.and_then(|_| flags.text(setting.name));
            let Some((value, source)) =
                config::resolve(&setting.config_key(), flag.as_deref(), env, file)
            else {
                continue;
            };
            let Some(text) = value_text(&value) else {
                bail!(
                    "{source}: `{}` must be a string or a number, not {}",
                    setting.key(),
                    json_type_name(&value)
                );
            };
            values.insert(setting.name, Gathered { text, source });
        }
        Ok(RawSettings { values })
    }

    /// The gathered value of setting `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Gathered> {
        self.values.get(name)
    }

    /// Whether something other than the default gave setting `name` a value.
    pub fn is_given(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|gathered| gathered.source != ValueSource::Default)
    }

    /// Records an answer to install's question for `setting` (it counts as a flag).
    pub fn answer(&mut self, setting: &'static Setting, text: &str) {
        let gathered = Gathered {
            text: text.trim().to_string(),
            source: ValueSource::Flag,
        };
        self.values.insert(setting.name, gathered);
    }

    /// Applies the gathered values of the settings `which` selects to `settings`;
    /// settings with no value are left as they are.
    pub fn apply_to(
        &self,
        settings: &mut Settings,
        which: impl Fn(&Setting) -> bool,
    ) -> Result<()> {
        for setting in SETTINGS.iter().filter(|setting| which(setting)) {
            if let Some(gathered) = self.values.get(setting.name) {
                (setting.apply)(settings, &gathered.text).map_err(|error| {
                    anyhow!("{}: {error}", described(setting, &gathered.source))
                })?;
            }
        }
        Ok(())
    }

    /// Checks every value on its own and builds the settings, without asking
    /// whether they are complete (see [`RawSettings::validate`]).
    pub fn validate_values(&self) -> Result<Settings> {
        let mut settings = Settings::unset();
        self.apply_to(&mut settings, |_| true)?;
        Ok(settings)
    }

    /// Checks every value and that the tier has what it needs, and builds the
    /// settings.
    pub fn validate(&self) -> Result<Settings> {
        let settings = self.validate_values()?;
        require_team_connections(&settings)?;
        Ok(settings)
    }
}

/// Fails when the team tier lacks one of its connection URLs, naming each missing
/// one's variable and flag.
pub fn require_team_connections(settings: &Settings) -> Result<()> {
    if settings.tier != Tier::Team {
        return Ok(());
    }
    let missing: Vec<String> = SETTINGS
        .iter()
        .filter(|setting| setting.team_connection && (setting.current)(settings).is_none())
        .map(|setting| format!("{} (--{})", setting.env, setting.long()))
        .collect();
    if !missing.is_empty() {
        bail!("the team tier requires {}", missing.join(" and "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;
    use mosaic_plugin_api::serde_json::json;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn precedence_is_flag_then_env_then_file_then_default() {
        let file = json!({"gateway": {"port": 15000, "cors_origin": "https://file.example"}});
        let flags = FlagValues::default().with("port", 16000);
        let env = env_of(&[
            ("MOSAIC_GATEWAY_PORT", "17000"),
            ("MOSAIC_CORS_ORIGIN", "https://env.example"),
        ]);
        let raw = RawSettings::gather(&flags, &env, &file).unwrap();
        assert_eq!(raw.get("port").unwrap().source, ValueSource::Flag);
        assert_eq!(raw.get("tier").unwrap().source, ValueSource::Default);
        let settings = raw.validate().unwrap();
        assert_eq!(settings.port, 16000);
        assert_eq!(settings.cors_origin, "https://env.example");

        let settings = RawSettings::gather(&FlagValues::default(), env_of(&[]), &file)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(settings.port, 15000);
        assert_eq!(settings.cors_origin, "https://file.example");
    }

    #[test]
    fn the_daemon_view_ignores_the_environment() {
        let file = json!({"gateway": {"port": 15000}});
        let settings = Settings::from_file(&file).unwrap();
        assert_eq!(settings.port, 15000);
    }

    #[test]
    fn empty_environment_values_count_as_unset() {
        let file = json!({"gateway": {"port": 15000}});
        let raw = RawSettings::gather(
            &FlagValues::default(),
            env_of(&[("MOSAIC_GATEWAY_PORT", " ")]),
            &file,
        )
        .unwrap();
        assert_eq!(raw.validate().unwrap().port, 15000);
    }

    #[test]
    fn errors_name_the_source_of_the_bad_value() {
        let error = |flags: FlagValues, env, file| {
            RawSettings::gather(&flags, env, &file)
                .and_then(|raw| raw.validate())
                .unwrap_err()
                .to_string()
        };
        let message = error(
            FlagValues::default(),
            env_of(&[("MOSAIC_GATEWAY_PORT", "70000")]),
            json!({}),
        );
        assert!(
            message.starts_with("MOSAIC_GATEWAY_PORT: invalid port `70000`"),
            "{message}"
        );
        let message = error(
            FlagValues::default().with("tier", "cluster"),
            env_of(&[]),
            json!({}),
        );
        assert!(
            message.contains("--tier: unknown tier `cluster`"),
            "{message}"
        );
        let message = error(
            FlagValues::default().with("port", 0),
            env_of(&[]),
            json!({}),
        );
        assert!(message.starts_with("--port: invalid port `0`"), "{message}");
        let message = error(
            FlagValues::default(),
            env_of(&[]),
            json!({"gateway": {"cors_origin": "localhost"}}),
        );
        assert!(
            message.starts_with("config.json gateway.cors_origin: invalid origin"),
            "{message}"
        );
        let message = error(
            FlagValues::default(),
            env_of(&[]),
            json!({"gateway": {"host": ["x"]}}),
        );
        assert!(
            message.contains("`gateway.host` must be a string or a number, not an array"),
            "{message}"
        );
    }

    #[test]
    fn only_settings_with_a_flag_take_one() {
        let flags = FlagValues::default().with("anthropic_api_key", "sk-ant-flag");
        let raw = RawSettings::gather(&flags, env_of(&[]), &json!({})).unwrap();
        assert!(raw.get("anthropic_api_key").is_none());
    }

    #[test]
    fn team_tier_needs_both_urls() {
        let flags = FlagValues::default()
            .with("tier", "team")
            .with("database_url", "postgres://db/x");
        let raw = RawSettings::gather(&flags, env_of(&[]), &json!({})).unwrap();
        raw.validate_values().unwrap();
        let message = raw.validate().unwrap_err().to_string();
        assert_eq!(
            message,
            "the team tier requires MOSAIC_VALKEY_URL (--valkey-url)"
        );
        let settings = RawSettings::gather(
            &FlagValues::default(),
            env_of(&[
                ("MOSAIC_STORAGE_TIER", "team"),
                ("MOSAIC_DATABASE_URL", "postgres://gw:pw@db:5432/x"),
                ("MOSAIC_VALKEY_URL", "rediss://:pw@cache:6380"),
            ]),
            &json!({}),
        )
        .unwrap()
        .validate()
        .unwrap();
        assert_eq!(settings.tier, Tier::Team);
        assert_eq!(
            settings.valkey_url.as_ref().map(Secret::expose),
            Some("rediss://:pw@cache:6380")
        );
        assert_eq!(format!("{:?}", settings.database_url), "Some(<redacted>)");
    }
}
