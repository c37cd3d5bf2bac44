//! `mosaic config …`: the host's configuration commands, and the group plugins mount
//! their own commands under (e.g. `mosaic config hooks`).

pub mod get;
pub mod path;
pub mod set;
pub mod show;
pub mod unset;

use mosaic_plugin_api::sdk::redact::redact_url_credentials;
use mosaic_plugin_api::{CommandSpec, ConfigKeySpec};

use crate::registry::Status;
use crate::session::Session;

/// Declares the `config` group (its built-in subcommands come from the built-in
/// table; plugin commands mounted at `config` join them in the tree).
pub fn group_spec() -> CommandSpec {
    CommandSpec::new("config", "Show and change configuration (config.json)")
        .long_about(
            "Show and change Mosaic's configuration file, config.json, which has a \
             section per plugin. Values resolve as: command-line flag > environment \
             variable > config.json > default. Plugins add their own commands to this \
             group.",
        )
        .example("config show", "")
        .example("config set fleet.default_runtime codex", "")
        .example("config get fleet.default_runtime", "")
        .example("config path", "")
}

/// The config keys declared by working plugins.
pub fn declared_keys(session: &Session) -> Vec<ConfigKeySpec> {
    session
        .registry
        .plugins
        .iter()
        .filter(|record| {
            matches!(
                record.status,
                Status::Ok | Status::Overrides | Status::Shadowed
            )
        })
        .filter_map(|record| record.manifest())
        .flat_map(|manifest| manifest.config.iter().cloned())
        .collect()
}

/// Text for a value: strings bare, everything else as JSON.
pub fn display_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Whether `key` holds a secret: declared so by its plugin, or — so secrets stay
/// hidden when the plugin that declares them is missing or broken — named like one
/// (`…key`, `…password…`, `…token…`, `…secret…`).
pub fn is_secret_key(declared: &[ConfigKeySpec], key: &str) -> bool {
    if let Some(spec) = declared.iter().find(|spec| spec.key == key) {
        if spec.secret {
            return true;
        }
    }
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    last == "key"
        || last.ends_with("_key")
        || last.ends_with("-key")
        || ["password", "token", "secret"]
            .iter()
            .any(|word| last.contains(word))
}

/// Whether a value is text holding a URL with credentials (`scheme://user:pw@host`).
pub fn has_url_credentials(value: &serde_json::Value) -> bool {
    value
        .as_str()
        .is_some_and(|text| redact_url_credentials(text) != text)
}

/// A value as `config show` may print it.
pub fn shown_value(
    declared: &[ConfigKeySpec],
    key: &str,
    value: &serde_json::Value,
) -> serde_json::Value {
    if is_secret_key(declared, key) {
        serde_json::Value::String("<redacted>".to_string())
    } else if let serde_json::Value::String(text) = value {
        serde_json::Value::String(redact_url_credentials(text))
    } else {
        value.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_names_are_recognised_without_a_declaration() {
        for key in [
            "gateway.anthropic_api_key",
            "x.admin_password",
            "x.session-token",
            "x.key",
        ] {
            assert!(is_secret_key(&[], key), "{key}");
        }
        for key in ["fleet.default_runtime", "gateway.port", "hooks.keyboard"] {
            assert!(!is_secret_key(&[], key), "{key}");
        }
    }

    #[test]
    fn url_passwords_are_redacted() {
        // The masking itself is tested with the SDK's `redact` module.
        assert!(has_url_credentials(&json!("rediss://a:b@c")));
        assert!(!has_url_credentials(&json!("https://user@host")));
        assert_eq!(
            shown_value(&[], "gateway.database_url", &json!("postgres://u:pw@h/db")),
            json!("postgres://u:***@h/db")
        );
    }
}
