//! The gateway's configuration: the `gateway` section of `config.json`, how each
//! value is gathered (flag > environment > existing config > default), and the
//! validation every value passes before anything is written or started.
//!
//! Only `gateway install` reads the environment (through [`Context::env`], so the
//! wizard can pass overrides). The daemon and the other lifecycle commands read the
//! file alone, so a service never depends on the environment it was started from.
//!
//! [`Context::env`]: mosaic_plugin_api::Context::env

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};
use mosaic_plugin_api::sdk::config::{self, ValueSource};
use mosaic_plugin_api::serde_json::{json, Value};
use mosaic_plugin_api::ConfigKeySpec;

/// The port the gateway listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 14242;
/// The address the gateway binds unless told otherwise (loopback only).
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The web UI origin allowed by CORS unless told otherwise.
pub const DEFAULT_CORS_ORIGIN: &str = "http://localhost:3000";
/// Minimum password length, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Maximum password length, in characters (argon2 input stays bounded).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// `gateway.tier`.
pub const KEY_TIER: &str = "gateway.tier";
/// `gateway.port`.
pub const KEY_PORT: &str = "gateway.port";
/// `gateway.host`.
pub const KEY_HOST: &str = "gateway.host";
/// `gateway.cors_origin`.
pub const KEY_CORS_ORIGIN: &str = "gateway.cors_origin";
/// `gateway.database_url` (secret).
pub const KEY_DATABASE_URL: &str = "gateway.database_url";
/// `gateway.valkey_url` (secret).
pub const KEY_VALKEY_URL: &str = "gateway.valkey_url";
/// `gateway.anthropic_api_key` (secret).
pub const KEY_ANTHROPIC_API_KEY: &str = "gateway.anthropic_api_key";
/// `gateway.service_manager`: set by `install`; its presence means "installed".
pub const KEY_SERVICE_MANAGER: &str = "gateway.service_manager";

/// The `config.json` keys of the gateway, for `mosaic config show`.
pub fn config_keys() -> Vec<ConfigKeySpec> {
    let key =
        |key: &str, description: &str, env: Option<&str>, default: Option<Value>| ConfigKeySpec {
            key: key.to_string(),
            description: description.to_string(),
            default,
            env: env.map(str::to_string),
            secret: false,
        };
    let secret = |spec: ConfigKeySpec| ConfigKeySpec {
        secret: true,
        ..spec
    };
    vec![
        key(
            KEY_TIER,
            "Storage tier: local (SQLite in the data dir) or team (PostgreSQL + Valkey); \
             the environment variable is read by `gateway install`",
            Some("MOSAIC_STORAGE_TIER"),
            Some(json!("local")),
        ),
        key(
            KEY_PORT,
            "TCP port of the gateway daemon (applied by `gateway install`)",
            Some("MOSAIC_GATEWAY_PORT"),
            Some(json!(DEFAULT_PORT)),
        ),
        key(
            KEY_HOST,
            "Address the daemon binds; non-loopback addresses expose it to the network",
            Some("MOSAIC_GATEWAY_HOST"),
            Some(json!(DEFAULT_HOST)),
        ),
        key(
            KEY_CORS_ORIGIN,
            "The one browser origin allowed to call the API with credentials",
            Some("MOSAIC_CORS_ORIGIN"),
            Some(json!(DEFAULT_CORS_ORIGIN)),
        ),
        secret(key(
            KEY_DATABASE_URL,
            "PostgreSQL URL of the team tier",
            Some("MOSAIC_DATABASE_URL"),
            None,
        )),
        secret(key(
            KEY_VALKEY_URL,
            "Valkey (Redis protocol) URL of the team tier",
            Some("MOSAIC_VALKEY_URL"),
            None,
        )),
        secret(key(
            KEY_ANTHROPIC_API_KEY,
            "Anthropic API key kept for the daemon",
            Some("MOSAIC_ANTHROPIC_API_KEY"),
            None,
        )),
        key(
            KEY_SERVICE_MANAGER,
            "How the daemon is run: systemd, launchd or supervisor (set by `gateway install`)",
            Some("MOSAIC_SERVICE_MANAGER"),
            None,
        ),
    ]
}

/// Where gateway data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// SQLite in the data directory, one daemon.
    Local,
    /// PostgreSQL + Valkey, several replicas.
    Team,
}

impl Tier {
    /// The word used in config and on the command line.
    pub fn as_str(self) -> &'static str {
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
        match text.trim() {
            "local" => Ok(Tier::Local),
            "team" => Ok(Tier::Team),
            other => bail!("unknown tier `{other}`: expected `local` or `team`"),
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

/// The gateway's effective settings.
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
}

impl Settings {
    /// The address the daemon binds.
    pub fn bind_address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The base URL a client on this machine uses (a wildcard bind is reached on
    /// loopback).
    pub fn local_url(&self) -> String {
        let host = match self.host {
            IpAddr::V4(address) if address.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(address) if address.is_unspecified() => {
                IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
            }
            other => other,
        };
        format!("http://{}", SocketAddr::new(host, self.port))
    }

    /// Reads the settings from the `gateway` section of a loaded `config.json`,
    /// with defaults for absent keys and no environment (the daemon's view).
    pub fn from_file(file: &Value) -> Result<Settings> {
        let raw = RawSettings::gather(&FlagValues::default(), |_| None, file)?;
        raw.validate()
    }

    /// The values to store in `config.json`, by dotted key (`None` removes a key).
    pub fn to_config_values(&self) -> Vec<(&'static str, Option<Value>)> {
        let secret = |value: &Option<Secret>| value.as_ref().map(|secret| json!(secret.expose()));
        vec![
            (KEY_TIER, Some(json!(self.tier.as_str()))),
            (KEY_PORT, Some(json!(self.port))),
            (KEY_HOST, Some(json!(self.host.to_string()))),
            (KEY_CORS_ORIGIN, Some(json!(self.cors_origin))),
            (KEY_DATABASE_URL, secret(&self.database_url)),
            (KEY_VALKEY_URL, secret(&self.valkey_url)),
            (KEY_ANTHROPIC_API_KEY, secret(&self.anthropic_api_key)),
        ]
    }
}

/// Values given as `gateway install` flags.
#[derive(Debug, Clone, Default)]
pub struct FlagValues {
    /// `--tier`.
    pub tier: Option<String>,
    /// `--port`.
    pub port: Option<String>,
    /// `--host`.
    pub host: Option<String>,
    /// `--cors-origin`.
    pub cors_origin: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--valkey-url`.
    pub valkey_url: Option<String>,
}

/// One gathered value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Gathered {
    /// The text of the value.
    pub text: String,
    /// Flag, environment variable, config.json or default.
    pub source: ValueSource,
}

/// Every setting as text, before validation, with its source (`None`: unset).
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    /// Tier.
    pub tier: Option<Gathered>,
    /// Port.
    pub port: Option<Gathered>,
    /// Host.
    pub host: Option<Gathered>,
    /// CORS origin.
    pub cors_origin: Option<Gathered>,
    /// PostgreSQL URL.
    pub database_url: Option<Gathered>,
    /// Valkey URL.
    pub valkey_url: Option<Gathered>,
    /// Anthropic API key.
    pub anthropic_api_key: Option<Gathered>,
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
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
        let specs = config_keys();
        let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let one = |key: &str, flag: &Option<String>| -> Result<Option<Gathered>> {
            let spec = specs
                .iter()
                .find(|spec| spec.key == key)
                .expect("every gathered key is declared");
            match config::resolve(spec, flag.as_deref(), env, file) {
                None => Ok(None),
                Some((value, source)) => match value_text(&value) {
                    Some(text) => Ok(Some(Gathered { text, source })),
                    None => bail!(
                        "{}: `{key}` must be a string or a number, not {}",
                        source,
                        mosaic_plugin_api::sdk::fs::json_type_name(&value)
                    ),
                },
            }
        };
        Ok(RawSettings {
            tier: one(KEY_TIER, &flags.tier)?,
            port: one(KEY_PORT, &flags.port)?,
            host: one(KEY_HOST, &flags.host)?,
            cors_origin: one(KEY_CORS_ORIGIN, &flags.cors_origin)?,
            database_url: one(KEY_DATABASE_URL, &flags.database_url)?,
            valkey_url: one(KEY_VALKEY_URL, &flags.valkey_url)?,
            anthropic_api_key: one(KEY_ANTHROPIC_API_KEY, &None)?,
        })
    }

    /// Checks every value and builds the settings. Errors are one line naming the
    /// value's source (flag, variable or config.json) and what is expected.
    pub fn validate(&self) -> Result<Settings> {
        let described = |gathered: &Gathered, what: &str| match &gathered.source {
            ValueSource::Flag => format!("--{what}"),
            ValueSource::Env(name) => name.clone(),
            ValueSource::File => format!("config.json gateway.{}", what.replace('-', "_")),
            ValueSource::Default => format!("default {what}"),
        };
        let tier = match &self.tier {
            None => Tier::Local,
            Some(gathered) => gathered
                .text
                .parse::<Tier>()
                .map_err(|error| anyhow!("{}: {error}", described(gathered, "tier")))?,
        };
        let port = match &self.port {
            None => DEFAULT_PORT,
            Some(gathered) => parse_port(&gathered.text)
                .map_err(|error| anyhow!("{}: {error}", described(gathered, "port")))?,
        };
        let host = match &self.host {
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(gathered) => parse_host(&gathered.text)
                .map_err(|error| anyhow!("{}: {error}", described(gathered, "host")))?,
        };
        let cors_origin = match &self.cors_origin {
            None => DEFAULT_CORS_ORIGIN.to_string(),
            Some(gathered) => validate_origin(&gathered.text)
                .map_err(|error| anyhow!("{}: {error}", described(gathered, "cors-origin")))?,
        };
        let url = |gathered: &Option<Gathered>, what: &str, schemes: &[&str]| {
            gathered
                .as_ref()
                .map(|gathered| {
                    validate_service_url(&gathered.text, schemes)
                        .map(|()| Secret::new(gathered.text.trim()))
                        .map_err(|error| anyhow!("{}: {error}", described(gathered, what)))
                })
                .transpose()
        };
        let database_url = url(
            &self.database_url,
            "database-url",
            &["postgres", "postgresql"],
        )?;
        let valkey_url = url(&self.valkey_url, "valkey-url", &["redis", "rediss"])?;
        if tier == Tier::Team {
            let missing: Vec<&str> = [
                (
                    "MOSAIC_DATABASE_URL (--database-url)",
                    database_url.is_none(),
                ),
                ("MOSAIC_VALKEY_URL (--valkey-url)", valkey_url.is_none()),
            ]
            .iter()
            .filter(|(_, missing)| *missing)
            .map(|(name, _)| *name)
            .collect();
            if !missing.is_empty() {
                bail!("the team tier requires {}", missing.join(" and "));
            }
        }
        let anthropic_api_key = self
            .anthropic_api_key
            .as_ref()
            .map(|gathered| Secret::new(gathered.text.trim()));
        Ok(Settings {
            tier,
            port,
            host,
            cors_origin,
            database_url,
            valkey_url,
            anthropic_api_key,
        })
    }
}

/// A TCP port from 1 to 65535.
pub fn parse_port(text: &str) -> Result<u16> {
    match text.trim().parse::<u32>() {
        Ok(port @ 1..=65535) => Ok(port as u16),
        _ => bail!(
            "invalid port `{}`: expected a number from 1 to 65535",
            text.trim()
        ),
    }
}

/// An IP address to bind.
pub fn parse_host(text: &str) -> Result<IpAddr> {
    text.trim().parse::<IpAddr>().map_err(|_| {
        anyhow!(
            "invalid address `{}`: expected an IP address such as 127.0.0.1 (loopback) \
             or 0.0.0.0 (every interface)",
            text.trim()
        )
    })
}

/// Whether binding `address` exposes the daemon beyond this machine.
pub fn is_exposed(address: IpAddr) -> bool {
    !address.is_loopback()
}

/// Fails when `address` cannot be bound right now (another program holds the port).
pub fn check_port_free(address: SocketAddr) -> Result<()> {
    match TcpListener::bind(address) {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "port {} on {} is already in use by another program; choose another port \
             with --port or MOSAIC_GATEWAY_PORT",
            address.port(),
            address.ip()
        ),
        Err(error) => bail!(
            "cannot bind port {} on {}: {error}; choose another address with --host or \
             another port with --port",
            address.port(),
            address.ip()
        ),
    }
}

/// A browser origin: `http` or `https`, a host, an optional port, nothing else.
/// Returns it normalised (lower-case scheme and host, no trailing slash).
pub fn validate_origin(text: &str) -> Result<String> {
    let text = text.trim();
    let expected = "expected an origin such as http://localhost:3000 (scheme, host and \
                    optional port; no path)";
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| anyhow!("invalid origin `{text}`: {expected}"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        bail!("invalid origin `{text}`: the scheme must be http or https; {expected}");
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty()
        || authority.contains(['/', '?', '#', '@', ' '])
        || authority.chars().any(|c| c.is_control())
    {
        bail!("invalid origin `{text}`: {expected}");
    }
    let (host, port) =
        split_host_port(authority).ok_or_else(|| anyhow!("invalid origin `{text}`: {expected}"))?;
    let host_ok = !host.is_empty()
        && (host.starts_with('[')
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    if !host_ok {
        bail!("invalid origin `{text}`: `{host}` is not a host name; {expected}");
    }
    if let Some(port) = port {
        parse_port(port).map_err(|error| anyhow!("invalid origin `{text}`: {error}"))?;
    }
    Ok(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// Splits `host[:port]` (with `[v6]` hosts); `None` when malformed.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(after_bracket) = authority.strip_prefix('[') {
        let end = after_bracket.find(']')?;
        let host = &authority[..end + 2];
        let rest = &after_bracket[end + 1..];
        return match rest {
            "" => Some((host, None)),
            _ => rest.strip_prefix(':').map(|port| (host, Some(port))),
        };
    }
    match authority.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

/// A service URL such as `postgres://user:pass@host:5432/db`: one of `schemes`, and
/// a host. Errors never repeat the URL's password.
pub fn validate_service_url(text: &str, schemes: &[&str]) -> Result<()> {
    let text = text.trim();
    let shown = redact_url(text);
    let expected = format!(
        "expected a URL such as {}://host:port",
        schemes.first().copied().unwrap_or("scheme")
    );
    let Some((scheme, rest)) = text.split_once("://") else {
        bail!("malformed URL `{shown}`: {expected}");
    };
    if !schemes.contains(&scheme.to_ascii_lowercase().as_str()) {
        bail!(
            "malformed URL `{shown}`: the scheme must be {}; {expected}",
            schemes.join(" or ")
        );
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let Some((host, port)) = split_host_port(host_port) else {
        bail!("malformed URL `{shown}`: {expected}");
    };
    if host.is_empty() || host.contains(char::is_whitespace) || text.contains(char::is_whitespace) {
        bail!("malformed URL `{shown}`: no host; {expected}");
    }
    if let Some(port) = port {
        parse_port(port).map_err(|error| anyhow!("malformed URL `{shown}`: {error}"))?;
    }
    Ok(())
}

/// `postgres://user:***@host/db`: a URL with its password masked, for messages and
/// `status` (the SDK's rule, shared with the host and the hooks audit log).
pub use mosaic_plugin_api::sdk::redact::redact_url_credentials as redact_url;

/// An email address: something, `@`, a domain with a dot; no spaces.
pub fn validate_email(text: &str) -> Result<String> {
    let text = text.trim();
    let valid = text.len() <= 254
        && !text.contains(char::is_whitespace)
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        });
    if valid {
        Ok(text.to_ascii_lowercase())
    } else {
        bail!("invalid email `{text}`: expected an address such as ada@example.com")
    }
}

/// A display name: 1 to 100 characters, no control characters.
pub fn validate_name(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        bail!("the name is empty: give a display name such as `Ada Lovelace`");
    }
    if text.chars().count() > 100 || text.chars().any(char::is_control) {
        bail!("invalid name: use at most 100 characters and no control characters");
    }
    Ok(text.to_string())
}

/// A password of 8 to 1024 characters. The message never includes the password.
pub fn validate_password(password: &str) -> Result<()> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        bail!(
            "the password is too short ({length} characters): it needs at least \
             {MIN_PASSWORD_CHARS}"
        );
    }
    if length > MAX_PASSWORD_CHARS {
        bail!("the password is too long: at most {MAX_PASSWORD_CHARS} characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let flags = FlagValues {
            port: Some("16000".into()),
            ..FlagValues::default()
        };
        let env = env_of(&[
            ("MOSAIC_GATEWAY_PORT", "17000"),
            ("MOSAIC_CORS_ORIGIN", "https://env.example"),
        ]);
        let raw = RawSettings::gather(&flags, &env, &file).unwrap();
        assert_eq!(raw.port.as_ref().unwrap().source, ValueSource::Flag);
        let settings = raw.validate().unwrap();
        assert_eq!(settings.port, 16000);
        assert_eq!(settings.cors_origin, "https://env.example");

        let settings = RawSettings::gather(&FlagValues::default(), env_of(&[]), &file)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(settings.port, 15000);
        assert_eq!(settings.cors_origin, "https://file.example");

        let settings = Settings::from_file(&json!({})).unwrap();
        assert_eq!(settings.port, DEFAULT_PORT);
        assert_eq!(settings.tier, Tier::Local);
        assert_eq!(settings.cors_origin, DEFAULT_CORS_ORIGIN);
        assert_eq!(settings.host.to_string(), DEFAULT_HOST);
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
        let raw = RawSettings::gather(
            &FlagValues::default(),
            env_of(&[("MOSAIC_GATEWAY_PORT", "70000")]),
            &json!({}),
        )
        .unwrap();
        let message = raw.validate().unwrap_err().to_string();
        assert!(
            message.starts_with("MOSAIC_GATEWAY_PORT: invalid port `70000`"),
            "{message}"
        );

        let flags = FlagValues {
            tier: Some("cluster".into()),
            ..FlagValues::default()
        };
        let message = RawSettings::gather(&flags, env_of(&[]), &json!({}))
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("--tier: unknown tier `cluster`"),
            "{message}"
        );
    }

    #[test]
    fn ports_are_checked() {
        assert_eq!(parse_port("1").unwrap(), 1);
        assert_eq!(parse_port(" 65535 ").unwrap(), 65535);
        for bad in ["0", "65536", "-1", "http", ""] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_port_in_use_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let message = check_port_free(address).unwrap_err().to_string();
        assert!(
            message.contains(&format!(
                "port {} on 127.0.0.1 is already in use",
                address.port()
            )),
            "{message}"
        );
        drop(listener);
        check_port_free(address).unwrap();
    }

    #[test]
    fn origins_are_exact_browser_origins() {
        assert_eq!(
            validate_origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(
            validate_origin("HTTPS://App.Example.com/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            validate_origin("http://[::1]:8080").unwrap(),
            "http://[::1]:8080"
        );
        for bad in [
            "localhost:3000",
            "ftp://x",
            "http://",
            "http://a/b",
            "http://a:99999",
            "http://u@a",
            "not a url",
            "http://a b",
        ] {
            assert!(validate_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_urls_are_checked_and_never_echo_passwords() {
        validate_service_url(
            "postgres://mosaic:pw@db.internal:5432/mosaic",
            &["postgres"],
        )
        .unwrap();
        validate_service_url("redis://127.0.0.1:6379", &["redis", "rediss"]).unwrap();
        let message =
            validate_service_url("mysql://root:hunter2@db/x", &["postgres", "postgresql"])
                .unwrap_err()
                .to_string();
        assert!(message.contains("postgres or postgresql"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(validate_service_url("not-a-url", &["postgres"]).is_err());
        assert!(validate_service_url("postgres://:5432/x", &["postgres"]).is_err());
        assert!(validate_service_url("postgres://h:port/x", &["postgres"]).is_err());
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://mosaic:s3cret@db:5432/x?sslmode=require"),
            "postgres://mosaic:***@db:5432/x?sslmode=require"
        );
        assert_eq!(redact_url("redis://db:6379"), "redis://db:6379");
    }

    #[test]
    fn team_tier_needs_both_urls() {
        let flags = FlagValues {
            tier: Some("team".into()),
            database_url: Some("postgres://db/x".into()),
            ..FlagValues::default()
        };
        let message = RawSettings::gather(&flags, env_of(&[]), &json!({}))
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(message.contains("requires MOSAIC_VALKEY_URL"), "{message}");
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

    #[test]
    fn emails_names_and_passwords() {
        assert_eq!(
            validate_email(" Ada@Example.com ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "ada",
            "ada@",
            "@x.io",
            "ada@example",
            "a b@x.io",
            "ada@x..io",
            "a@b@c.io",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_name("  ").is_err());
        assert_eq!(validate_name(" Ada ").unwrap(), "Ada");
        assert!(validate_password("1234567").is_err());
        validate_password("12345678").unwrap();
        let message = validate_password("pw4567").unwrap_err().to_string();
        assert!(!message.contains("pw4567"), "{message}");
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
        assert_eq!(
            settings.local_url(),
            format!("http://127.0.0.1:{DEFAULT_PORT}")
        );
        assert!(is_exposed(settings.host));
    }
}
