//! Every gateway setting, declared once: one [`Setting`] entry per setting in
//! [`SETTINGS`] says its config key, environment variable, default, description,
//! how secret it is, its `gateway install` flag and prompt, its `status` label and
//! how its text becomes the typed field of [`Settings`]. Everything else — the
//! manifest's config keys, the flags, the gathering, the prompts, what is written to
//! `config.json`, what `status` shows — is derived from this table.

use anyhow::Result;
use mosaic_plugin_api::sdk::config_check;
use mosaic_plugin_api::serde_json::{json, Value};
use mosaic_plugin_api::{ArgSpec, ConfigKeySpec, ValueCheck, ValueType};

use super::network::{validate_origin, validate_service_url};
use super::values::{parse_host, parse_port};
use super::{Secret, Settings, Tier};

/// `gateway.service_manager`: set by `install`; its presence means "installed".
/// Not a [`Setting`]: install detects it, nobody chooses it with a flag.
pub const KEY_SERVICE_MANAGER: &str = "gateway.service_manager";

/// How a setting's value may be shown (in `status`, summaries and messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Shown as it is.
    Public,
    /// A URL with a password in it: shown with the password as `***`.
    SecretUrl,
    /// Never shown: `status` says only whether it is set.
    Secret,
}

/// What a setting's value must look like. It becomes the manifest's [`ValueCheck`]
/// (so `mosaic config set` refuses a bad value), and the setting's `apply` calls the
/// SDK's function for the same check, so both agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// One of the setting's `choices`.
    Choices,
    /// A TCP port, 1 to 65535.
    Port,
    /// An IP address.
    IpAddress,
    /// A browser origin (scheme, host, optional port).
    Origin,
    /// A service URL with one of these schemes.
    ServiceUrl(&'static [&'static str]),
    /// Any text.
    Text,
}

/// The schemes of the team tier's PostgreSQL URL.
pub const POSTGRES_SCHEMES: &[&str] = &["postgres", "postgresql"];
/// The schemes of the team tier's Valkey URL.
pub const VALKEY_SCHEMES: &[&str] = &["redis", "rediss"];
/// The schemes of the Anthropic API's base URL.
pub const ANTHROPIC_SCHEMES: &[&str] = &["http", "https"];

/// The `gateway install` flag of a setting (`--<name>`, with `_` as `-`).
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// Placeholder in usage, e.g. `PORT`.
    pub value_name: &'static str,
    /// What it is, e.g. `TCP port`; the help adds the variable and the default.
    pub help: &'static str,
}

/// One setting of the gateway, declared once.
pub struct Setting {
    /// `gateway.<name>` in config.json, `--<name>` (with `-`) as a flag, the field
    /// of `status --json` and of [`Settings`].
    pub name: &'static str,
    /// The environment variable `install` (and `migrate`) read for it.
    pub env: &'static str,
    /// The default, as text (`None`: the setting is optional).
    pub default: Option<&'static str>,
    /// The type of the value on the command line and in config.json.
    pub value_type: ValueType,
    /// What it controls (`mosaic config show`).
    pub description: &'static str,
    /// Whether and how it may be shown.
    pub visibility: Visibility,
    /// Its `gateway install` flag, if it has one.
    pub flag: Option<Flag>,
    /// The only accepted values, when there is a fixed set.
    pub choices: &'static [&'static str],
    /// What the value must look like (declared in the manifest for `config set`).
    pub check: Check,
    /// What an interactive `install` asks when nothing gave the value, if it asks.
    pub prompt: Option<&'static str>,
    /// Its line in the human `status` output (with the colon), if it has one.
    pub status_label: Option<&'static str>,
    /// Required by the team tier (a connection URL of PostgreSQL or Valkey).
    pub team_connection: bool,
    /// Part of the address the daemon binds (install checks it is free).
    pub bind_address: bool,
    /// Checks the text and stores the typed value in [`Settings`]. The error says
    /// what is wrong and what is expected, without the value's source (added by
    /// the caller) and without any password in it.
    pub apply: fn(&mut Settings, &str) -> Result<()>,
    /// The value to store in config.json (`None`: not set).
    pub current: fn(&Settings) -> Option<Value>,
}

/// The gateway's settings, in the order they are gathered, asked and listed.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "tier",
        env: "MOSAIC_STORAGE_TIER",
        default: Some(Tier::Local.as_str()),
        value_type: ValueType::Text,
        description: "Storage tier: local (SQLite in the data dir) or team (PostgreSQL + \
                      Valkey); the environment variable is read by `gateway install`",
        visibility: Visibility::Public,
        flag: Some(Flag {
            value_name: "TIER",
            help: "Storage tier",
        }),
        choices: &[Tier::Local.as_str(), Tier::Team.as_str()],
        check: Check::Choices,
        prompt: None,
        status_label: Some("tier:"),
        team_connection: false,
        bind_address: false,
        apply: |settings, text| {
            settings.tier = text.parse()?;
            Ok(())
        },
        current: |settings| Some(json!(settings.tier.as_str())),
    },
    Setting {
        name: "port",
        env: "MOSAIC_GATEWAY_PORT",
        default: Some("14242"),
        value_type: ValueType::Unsigned,
        description: "TCP port of the gateway daemon (applied by `gateway install`)",
        visibility: Visibility::Public,
        flag: Some(Flag {
            value_name: "PORT",
            help: "TCP port",
        }),
        choices: &[],
        check: Check::Port,
        prompt: Some("Gateway port"),
        status_label: None,
        team_connection: false,
        bind_address: true,
        apply: |settings, text| {
            settings.port = parse_port(text)?;
            Ok(())
        },
        current: |settings| Some(json!(settings.port)),
    },
    Setting {
        name: "host",
        env: "MOSAIC_GATEWAY_HOST",
        default: Some("127.0.0.1"),
        value_type: ValueType::Text,
        description: "Address the daemon binds; non-loopback addresses expose it to the network",
        visibility: Visibility::Public,
        flag: Some(Flag {
            value_name: "ADDR",
            help: "Address to bind",
        }),
        choices: &[],
        check: Check::IpAddress,
        prompt: None,
        status_label: None,
        team_connection: false,
        bind_address: true,
        apply: |settings, text| {
            settings.host = parse_host(text)?;
            Ok(())
        },
        current: |settings| Some(json!(settings.host.to_string())),
    },
    Setting {
        name: "cors_origin",
        env: "MOSAIC_CORS_ORIGIN",
        default: Some("http://localhost:3000"),
        value_type: ValueType::Text,
        description: "The one browser origin allowed to call the API with credentials",
        visibility: Visibility::Public,
        flag: Some(Flag {
            value_name: "URL",
            help: "Browser origin allowed to call the API",
        }),
        choices: &[],
        check: Check::Origin,
        prompt: Some("Web UI origin allowed by CORS"),
        status_label: Some("CORS origin:"),
        team_connection: false,
        bind_address: false,
        apply: |settings, text| {
            settings.cors_origin = validate_origin(text)?;
            Ok(())
        },
        current: |settings| Some(json!(settings.cors_origin)),
    },
    Setting {
        name: "database_url",
        env: "MOSAIC_DATABASE_URL",
        default: None,
        value_type: ValueType::Text,
        description: "PostgreSQL URL of the team tier",
        visibility: Visibility::SecretUrl,
        flag: Some(Flag {
            value_name: "URL",
            help: "PostgreSQL URL",
        }),
        choices: &[],
        check: Check::ServiceUrl(POSTGRES_SCHEMES),
        prompt: Some("PostgreSQL URL (postgres://USER:PASSWORD@HOST:5432/DB; hidden)"),
        status_label: None,
        team_connection: true,
        bind_address: false,
        apply: |settings, text| {
            validate_service_url(text, POSTGRES_SCHEMES)?;
            settings.database_url = Some(Secret::new(text.trim()));
            Ok(())
        },
        current: |settings| secret_value(&settings.database_url),
    },
    Setting {
        name: "valkey_url",
        env: "MOSAIC_VALKEY_URL",
        default: None,
        value_type: ValueType::Text,
        description: "Valkey (Redis protocol) URL of the team tier",
        visibility: Visibility::SecretUrl,
        flag: Some(Flag {
            value_name: "URL",
            help: "Valkey URL",
        }),
        choices: &[],
        check: Check::ServiceUrl(VALKEY_SCHEMES),
        prompt: Some("Valkey URL (redis://:PASSWORD@HOST:6379 or rediss://…; hidden)"),
        status_label: None,
        team_connection: true,
        bind_address: false,
        apply: |settings, text| {
            validate_service_url(text, VALKEY_SCHEMES)?;
            settings.valkey_url = Some(Secret::new(text.trim()));
            Ok(())
        },
        current: |settings| secret_value(&settings.valkey_url),
    },
    Setting {
        name: "anthropic_api_key",
        env: "MOSAIC_ANTHROPIC_API_KEY",
        default: None,
        value_type: ValueType::Text,
        description: "Anthropic API key kept for the daemon",
        visibility: Visibility::Secret,
        flag: None,
        choices: &[],
        check: Check::Text,
        prompt: Some("Anthropic API key (optional; Enter to skip)"),
        status_label: Some("Anthropic key:"),
        team_connection: false,
        bind_address: false,
        apply: |settings, text| {
            settings.anthropic_api_key = Some(Secret::new(text.trim()));
            Ok(())
        },
        current: |settings| secret_value(&settings.anthropic_api_key),
    },
    Setting {
        name: "anthropic_base_url",
        env: "MOSAIC_ANTHROPIC_BASE_URL",
        default: Some("https://api.anthropic.com"),
        value_type: ValueType::Text,
        description: "Where the proxy (/v1/messages) sends requests: the Anthropic API, or a \
                      stand-in of it (http or https)",
        visibility: Visibility::Public,
        flag: None,
        choices: &[],
        check: Check::ServiceUrl(ANTHROPIC_SCHEMES),
        prompt: None,
        status_label: None,
        team_connection: false,
        bind_address: false,
        apply: |settings, text| {
            validate_service_url(text, ANTHROPIC_SCHEMES)?;
            settings.anthropic_base_url = text.trim().trim_end_matches('/').to_string();
            Ok(())
        },
        current: |settings| Some(json!(settings.anthropic_base_url)),
    },
];

fn secret_value(secret: &Option<Secret>) -> Option<Value> {
    secret.as_ref().map(|secret| json!(secret.expose()))
}

/// The declared setting called `name`. Panics on an unknown name: names are
/// constants of this crate, so that is a bug caught by its tests.
pub fn setting(name: &str) -> &'static Setting {
    SETTINGS
        .iter()
        .find(|setting| setting.name == name)
        .unwrap_or_else(|| panic!("no gateway setting is called `{name}`"))
}

/// The manifest entry of `gateway.service_manager`.
pub fn service_manager_key() -> ConfigKeySpec {
    ConfigKeySpec::new(
        KEY_SERVICE_MANAGER,
        "How the daemon is run: systemd, launchd or supervisor (set by `gateway install`)",
    )
    .env("MOSAIC_SERVICE_MANAGER")
}

impl Setting {
    /// The dotted key in config.json, e.g. `gateway.cors_origin`.
    pub fn key(&self) -> String {
        format!("gateway.{}", self.name)
    }

    /// The flag's long name, e.g. `cors-origin`.
    pub fn long(&self) -> String {
        self.name.replace('_', "-")
    }

    /// Whether the value may be shown as it is.
    pub fn is_secret(&self) -> bool {
        self.visibility != Visibility::Public
    }

    /// Whether the setting may stay unset (no default, not needed by a tier).
    pub fn is_optional(&self) -> bool {
        self.default.is_none() && !self.team_connection
    }

    /// The default as the JSON value config.json holds (a number for numbers).
    pub fn default_value(&self) -> Option<Value> {
        let text = self.default?;
        Some(match self.value_type {
            ValueType::Unsigned => text.parse::<u64>().map(Value::from).ok()?,
            _ => Value::from(text),
        })
    }

    /// The manifest's check of this setting's value, derived from [`Setting::check`].
    pub fn value_check(&self) -> ValueCheck {
        match self.check {
            Check::Choices => ValueCheck::choice(self.choices),
            Check::Port => {
                let (min, max) = config_check::PORT_RANGE;
                ValueCheck::integer(min, max)
            }
            Check::IpAddress => ValueCheck::ip_address(),
            Check::Origin => ValueCheck::origin(),
            Check::ServiceUrl(schemes) => ValueCheck::url(schemes),
            Check::Text => ValueCheck::Text {
                max_len: None,
                non_blank: false,
            },
        }
    }

    /// The manifest's entry for this setting.
    pub fn config_key(&self) -> ConfigKeySpec {
        let mut spec = ConfigKeySpec::new(&self.key(), self.description)
            .env(self.env)
            .check(self.value_check());
        if let Some(default) = self.default_value() {
            spec = spec.default_value(default);
        }
        if self.is_secret() {
            spec = spec.secret();
        }
        spec
    }

    /// The command-line option of a setting that has a [`Flag`]: its help is the
    /// flag's, then `note` (e.g. `, team tier`), the variable and the default.
    pub fn flag_arg(&self, note: &str) -> Option<ArgSpec> {
        let flag = self.flag?;
        let default = self
            .default
            .map(|default| format!(" (default {default})"))
            .unwrap_or_default();
        let help = format!("{}{note} [env: {}]{default}", flag.help, self.env);
        let mut arg = ArgSpec::option(self.name, &help)
            .value_name(flag.value_name)
            .value_type(self.value_type);
        if !self.choices.is_empty() {
            arg = arg.possible_values(self.choices);
        }
        Some(arg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_a_field_of_the_settings_and_round_trips() {
        let mut settings = Settings::unset();
        let samples = [
            ("tier", "team"),
            ("port", "15000"),
            ("host", "0.0.0.0"),
            ("cors_origin", "https://ui.example"),
            ("database_url", "postgres://gw:pw@db:5432/x"),
            ("valkey_url", "rediss://:pw@cache:6380"),
            ("anthropic_api_key", "sk-ant-1"),
            ("anthropic_base_url", "http://127.0.0.1:9999"),
        ];
        assert_eq!(samples.len(), SETTINGS.len());
        for (name, text) in samples {
            let setting = setting(name);
            (setting.apply)(&mut settings, text).unwrap();
            let stored = (setting.current)(&settings).unwrap();
            let shown = match &stored {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            assert_eq!(shown, text, "{name}");
        }
    }

    #[test]
    fn config_set_and_apply_agree_on_every_setting() {
        use mosaic_plugin_api::sdk::config;
        let samples: &[(&str, &[&str])] = &[
            ("tier", &["local", "team", "nope", "", "1", "Local"]),
            (
                "port",
                &[
                    "1", "14242", "65535", "0", "65536", "99999", "-1", "x", "1.5",
                ],
            ),
            (
                "host",
                &["127.0.0.1", "::1", "0.0.0.0", "localhost", "1", "300.1.1.1"],
            ),
            (
                "cors_origin",
                &[
                    "http://localhost:3000",
                    "https://ui.example",
                    "*",
                    "http://*",
                    "http://a/b",
                    "ftp://x",
                    "localhost:3000",
                    "http://a:99999",
                ],
            ),
            (
                "database_url",
                &[
                    "postgres://u:p@db:5432/x",
                    "mysql://db/x",
                    "postgres://:1/x",
                    "x",
                ],
            ),
            (
                "valkey_url",
                &["redis://cache:6379", "rediss://:pw@c", "http://c"],
            ),
            ("anthropic_api_key", &["sk-ant-1", "x y"]),
            (
                "anthropic_base_url",
                &[
                    "https://api.anthropic.com",
                    "http://127.0.0.1:8080",
                    "ftp://x",
                    "api.anthropic.com",
                ],
            ),
        ];
        assert_eq!(samples.len(), SETTINGS.len());
        for (name, texts) in samples {
            let setting = setting(name);
            let check = setting.config_key().check.unwrap();
            for text in *texts {
                let applied = (setting.apply)(&mut Settings::unset(), text).is_ok();
                // What `mosaic config set gateway.NAME TEXT` would store and check.
                let checked = config_check::check_value(&check, &config::parse_cli_value(text));
                assert_eq!(applied, checked.is_ok(), "{name} = {text}: {checked:?}");
            }
        }
    }

    #[test]
    fn the_declared_checks_refuse_what_the_issue_names() {
        use mosaic_plugin_api::serde_json::json;
        let refused = |name: &str, value: Value| {
            config_check::check_value(&setting(name).config_key().check.unwrap(), &value).is_err()
        };
        assert!(refused("port", json!(99999)));
        assert!(refused("tier", json!("nope")));
        assert!(refused("cors_origin", json!("*")));
        assert!(!refused("port", json!(8080)));
    }

    #[test]
    fn flags_say_their_variable_and_default() {
        let port = setting("port").flag_arg("").unwrap();
        assert_eq!(
            port.help,
            "TCP port [env: MOSAIC_GATEWAY_PORT] (default 14242)"
        );
        assert_eq!(port.value_type, ValueType::Unsigned);
        let tier = setting("tier").flag_arg("").unwrap();
        assert_eq!(tier.possible_values, ["local", "team"]);
        let database = setting("database_url").flag_arg(", team tier").unwrap();
        assert_eq!(
            database.help,
            "PostgreSQL URL, team tier [env: MOSAIC_DATABASE_URL]"
        );
        assert!(setting("anthropic_api_key").flag_arg("").is_none());
    }

    #[test]
    fn names_and_variables_are_unique() {
        for (index, setting) in SETTINGS.iter().enumerate() {
            assert!(
                SETTINGS[index + 1..]
                    .iter()
                    .all(|other| other.name != setting.name && other.env != setting.env),
                "{} is declared twice",
                setting.name
            );
        }
        assert!(setting("anthropic_api_key").is_optional());
        assert!(!setting("database_url").is_optional());
    }
}
