//! The gateway's configuration: the `gateway` section of `config.json`.
//!
//! Each setting is declared once, in [`declarations::SETTINGS`] (key, environment
//! variable, default, description, secrecy, flag, prompt, parse function); the
//! manifest's config keys, `gateway install`'s flags and prompts, the gathering of
//! values (flag > environment > existing config > default, in [`gather`]), what is
//! written to `config.json` and what `status` shows (redacted, in [`redact`]) are
//! all derived from that table. [`values`] parses single values; [`network`] checks
//! addresses, origins and service URLs.
//!
//! Only `gateway install` and `gateway migrate` read the environment (through
//! [`Context::env`], so the wizard can pass overrides). The daemon and the other
//! lifecycle commands read the file alone ([`Settings::from_file`]), so a service
//! never depends on the environment it was started from.
//!
//! [`Context::env`]: mosaic_plugin_api::Context::env

pub mod declarations;
pub mod gather;
pub mod network;
pub mod prices;
pub mod redact;
pub mod values;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use anyhow::{bail, Result};
use mosaic_plugin_api::sdk::{config, config_check};
use mosaic_plugin_api::serde_json::Value;
use mosaic_plugin_api::ConfigKeySpec;
use serde::Deserialize;

pub use declarations::{setting, Setting, Visibility, KEY_SERVICE_MANAGER, SETTINGS};
pub use gather::{FlagValues, Gathered, RawSettings};
pub use network::{check_port_free, is_exposed, validate_origin, validate_service_url};
pub use prices::PriceTable;
pub use redact::redact_url;
pub use values::{parse_host, parse_port};

/// The `config.json` keys of the gateway, for the manifest (`mosaic config show`):
/// one per declared setting, and the service manager `install` records.
pub fn config_keys() -> Vec<ConfigKeySpec> {
    SETTINGS
        .iter()
        .map(Setting::config_key)
        .chain(std::iter::once(declarations::service_manager_key()))
        .chain(std::iter::once(ConfigKeySpec::new(
            prices::PRICES_KEY,
            prices::PRICES_DESCRIPTION,
        )))
        .collect()
}

/// Where gateway data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// SQLite in the data directory, one daemon.
    Local,
    /// PostgreSQL + Valkey, several replicas.
    Team,
}

impl Tier {
    /// The word used in config and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::Local => "local",
            Tier::Team => "team",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Tier> {
        // The SDK's check, as `mosaic config set gateway.tier` applies it.
        let choices = [Tier::Local.as_str(), Tier::Team.as_str()];
        match config_check::choice(text, &choices) {
            Ok("team") => Ok(Tier::Team),
            Ok(_) => Ok(Tier::Local),
            Err(reason) => bail!("unknown tier `{}`: {reason}", text.trim()),
        }
    }
}

/// A secret value: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The gateway's effective settings: the typed values of [`SETTINGS`].
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Storage tier.
    pub tier: Tier,
    /// TCP port.
    pub port: u16,
    /// Bind address.
    pub host: IpAddr,
    /// The allowed CORS origin, e.g. `http://localhost:3000`.
    pub cors_origin: String,
    /// PostgreSQL URL (team tier).
    pub database_url: Option<Secret>,
    /// Valkey URL (team tier).
    pub valkey_url: Option<Secret>,
    /// Anthropic API key for the daemon.
    pub anthropic_api_key: Option<Secret>,
    /// The Anthropic API the proxy calls, without a trailing `/`.
    pub anthropic_base_url: String,
    /// Model prices (`gateway.prices` over the built-in table).
    pub prices: PriceTable,
}

impl Settings {
    /// The settings before any value is applied. Not a valid configuration by
    /// itself: [`RawSettings::validate`] applies every gathered value, and every
    /// setting that is not optional has a declared default, so each field here is
    /// overwritten.
    pub(crate) fn unset() -> Settings {
        Settings {
            tier: Tier::Local,
            port: 0,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            cors_origin: String::new(),
            database_url: None,
            valkey_url: None,
            anthropic_api_key: None,
            anthropic_base_url: String::new(),
            prices: PriceTable::default(),
        }
    }

    /// The address the daemon binds.
    pub fn bind_address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The base URL a client on this machine uses (a wildcard bind is reached on
    /// loopback).
    pub fn local_url(&self) -> String {
        let host = match self.host {
            IpAddr::V4(address) if address.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(address) if address.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            other => other,
        };
        format!("http://{}", SocketAddr::new(host, self.port))
    }

    /// Reads the settings from the `gateway` section of a loaded `config.json`,
    /// with defaults for absent keys and no environment (the daemon's view).
    pub fn from_file(file: &Value) -> Result<Settings> {
        let mut settings =
            RawSettings::gather(&FlagValues::default(), |_| None, file)?.validate()?;
        settings.prices = PriceTable::with_overrides(config::get(file, prices::PRICES_KEY))?;
        Ok(settings)
    }

    /// Writes every setting into a loaded `config.json` (`root`); an unset optional
    /// setting is removed.
    pub fn store(&self, root: &mut Value) -> Result<()> {
        for setting in SETTINGS {
            match (setting.current)(self) {
                Some(value) => config::set(root, &setting.key(), value)?,
                None => {
                    config::unset(root, &setting.key())?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosaic_plugin_api::serde_json::json;

    #[test]
    fn defaults_come_from_the_declarations() {
        let settings = Settings::from_file(&json!({})).unwrap();
        assert_eq!(settings.tier, Tier::Local);
        assert_eq!(settings.port, 14242);
        assert_eq!(settings.host.to_string(), "127.0.0.1");
        assert_eq!(settings.cors_origin, "http://localhost:3000");
        assert_eq!(settings.anthropic_api_key, None);
        for setting in SETTINGS {
            let stored = (setting.current)(&settings);
            let declared = setting.config_key().default;
            assert_eq!(stored, declared, "{}", setting.name);
        }
    }

    #[test]
    fn the_manifest_lists_every_setting_and_the_service_manager() {
        let keys: Vec<String> = config_keys().into_iter().map(|key| key.key).collect();
        assert_eq!(
            keys,
            [
                "gateway.tier",
                "gateway.port",
                "gateway.host",
                "gateway.cors_origin",
                "gateway.database_url",
                "gateway.valkey_url",
                "gateway.anthropic_api_key",
                "gateway.anthropic_base_url",
                "gateway.service_manager",
                "gateway.prices",
            ]
        );
        let port = setting("port").config_key();
        assert_eq!(port.default, Some(json!(14242)));
        assert_eq!(port.env.as_deref(), Some("MOSAIC_GATEWAY_PORT"));
        assert!(setting("database_url").config_key().secret);
        assert!(!setting("cors_origin").config_key().secret);
    }

    #[test]
    fn settings_round_trip_through_config_json() {
        let mut file = json!({"gateway": {"anthropic_api_key": "sk-ant-old"}});
        let settings = RawSettings::gather(
            &FlagValues::default()
                .with("tier", "team")
                .with("database_url", "postgres://gw:pw@db:5432/x")
                .with("valkey_url", "redis://cache:6379"),
            |_| None,
            &json!({}),
        )
        .unwrap()
        .validate()
        .unwrap();
        settings.store(&mut file).unwrap();
        assert_eq!(Settings::from_file(&file).unwrap(), settings);
        assert_eq!(file["gateway"]["port"], json!(14242));
        assert!(file["gateway"].get("anthropic_api_key").is_none());
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let secret = Secret::new("sk-ant-123");
        assert_eq!(format!("{secret:?}"), "<redacted>");
    }

    #[test]
    fn wildcard_binds_are_reached_on_loopback() {
        let mut settings = Settings::from_file(&json!({})).unwrap();
        settings.host = "0.0.0.0".parse().unwrap();
        assert_eq!(settings.local_url(), "http://127.0.0.1:14242");
        assert!(is_exposed(settings.host));
    }
}
