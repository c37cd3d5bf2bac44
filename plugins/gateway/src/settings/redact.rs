//! How settings are shown: secrets never, URLs with their password as `***`, the
//! rest as they are. `status` (both outputs), install's summary and every message
//! that names a URL go through here, following each setting's declared
//! [`Visibility`].

use mosaic_plugin_api::serde_json::{json, Value};

use super::declarations::{Setting, Visibility};
use super::{Secret, Settings};

/// `postgres://user:***@host/db`: a URL with its password masked, for messages and
/// `status` (the SDK's rule, shared with the host and the hooks audit log).
pub use mosaic_plugin_api::sdk::redact::redact_url_credentials as redact_url;

/// What `status` shows instead of a secret that is set.
pub const REDACTED: &str = "<redacted>";

/// A secret URL with its password masked; empty when unset.
pub fn shown_url(url: &Option<Secret>) -> String {
    url.as_ref()
        .map(|url| redact_url(url.expose()))
        .unwrap_or_default()
}

impl Setting {
    /// The value as `status --json` shows it: as stored for public settings, the
    /// URL with `***` for secret URLs, [`REDACTED`] for other secrets, `null` when
    /// unset.
    pub fn shown_json(&self, settings: &Settings) -> Value {
        let Some(value) = (self.current)(settings) else {
            return Value::Null;
        };
        match (self.visibility, &value) {
            (Visibility::Public, _) => value,
            (Visibility::SecretUrl, Value::String(url)) => json!(redact_url(url)),
            _ => json!(REDACTED),
        }
    }

    /// The value as the human `status` shows it: `not set` when unset and
    /// `set (not shown)` for a secret.
    pub fn shown_text(&self, settings: &Settings) -> String {
        match (self.visibility, self.shown_json(settings)) {
            (_, Value::Null) => "not set".to_string(),
            (Visibility::Secret, _) => "set (not shown)".to_string(),
            (_, Value::String(text)) => text,
            (_, other) => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::setting;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://mosaic:s3cret@db:5432/x?sslmode=require"),
            "postgres://mosaic:***@db:5432/x?sslmode=require"
        );
        assert_eq!(redact_url("redis://db:6379"), "redis://db:6379");
    }

    #[test]
    fn settings_are_shown_by_their_visibility() {
        let mut settings = Settings::from_file(&json!({})).unwrap();
        let key = setting("anthropic_api_key");
        assert_eq!(key.shown_json(&settings), Value::Null);
        assert_eq!(key.shown_text(&settings), "not set");
        settings.anthropic_api_key = Some(Secret::new("sk-ant-1"));
        settings.database_url = Some(Secret::new("postgres://gw:pw@db/x"));
        assert_eq!(key.shown_json(&settings), json!(REDACTED));
        assert_eq!(key.shown_text(&settings), "set (not shown)");
        let database = setting("database_url");
        assert_eq!(database.shown_text(&settings), "postgres://gw:***@db/x");
        assert_eq!(shown_url(&settings.database_url), "postgres://gw:***@db/x");
        assert_eq!(setting("port").shown_json(&settings), json!(14242));
        assert_eq!(setting("tier").shown_text(&settings), "local");
    }
}
