//! What an API key request means, decided once for `mosaic gateway keys create`
//! and the admin HTTP API (`POST /api/keys`): the request ([`KeySpec`]), the
//! syntax of names and limits, making and storing a key ([`create_key`]), and how a
//! key is shown ([`KeyView`]) — never the key itself after creation, never its hash.
//!
//! A key is `mosaic_sk_` and 40 random characters; it is returned once, at
//! creation, and stored only as its SHA-256 with its first 14 characters as a hint.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::clock::unix_now;
use crate::secrets::new_api_key;
use crate::storage::keys::{ApiKey, BudgetPeriod, KeyLimits, KeyStore, NewKey, TokenBudget};
use crate::storage::{StoreError, User, UserStore};
use crate::usage_report::{format_usd, format_utc_minute, parse_duration};

/// The longest key name.
pub const MAX_KEY_NAME_LENGTH: usize = 64;
/// The most models one key may be limited to.
pub const MAX_MODELS: usize = 64;

/// A key to create, as the CLI flags and the body of `POST /api/keys` give it
/// (unknown JSON fields are refused).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Unique name.
    pub name: String,
    /// The owner's email.
    #[serde(default)]
    pub user: Option<String>,
    /// The fleet agent it is for.
    #[serde(default)]
    pub agent: Option<String>,
    /// `N/day` or `N/month`.
    #[serde(default)]
    pub budget_tokens: Option<String>,
    /// `X/month` in US dollars (`50`, `12.50/month`).
    #[serde(default)]
    pub budget_usd: Option<String>,
    /// Requests per minute.
    #[serde(default)]
    pub rpm: Option<u64>,
    /// Tokens per minute.
    #[serde(default)]
    pub tpm: Option<u64>,
    /// How long the key works: `30m`, `12h`, `7d`, `4w`.
    #[serde(default)]
    pub expires: Option<String>,
    /// The only models it may call.
    #[serde(default)]
    pub models: Vec<String>,
}

/// How a field is named in errors: `--budget-tokens` on the command line,
/// `budget_tokens` in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldNames {
    /// Command-line flags.
    Flags,
    /// JSON fields.
    Json,
}

impl FieldNames {
    /// How `field` (a JSON field name) is written.
    pub fn name(self, field: &str) -> String {
        match self {
            FieldNames::Flags => format!("--{}", field.replace('_', "-")),
            FieldNames::Json => field.to_string(),
        }
    }
}

/// Why a key was not created.
#[derive(Debug)]
pub enum KeyError {
    /// A value is invalid (the message names it and the format).
    Invalid(String),
    /// No user has the email.
    UnknownUser(String),
    /// The storage refused or failed (a taken name among others).
    Store(StoreError),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Invalid(message) => f.write_str(message),
            KeyError::UnknownUser(email) => write!(
                f,
                "no gateway user has the email `{email}` (users are created by an admin \
                 with POST /api/users)"
            ),
            KeyError::Store(StoreError::KeyNameTaken) => f.write_str(
                "an API key with this name exists (names are never reused, revoked keys \
                 included); choose another name",
            ),
            KeyError::Store(error) => write!(f, "{error}"),
        }
    }
}

impl From<StoreError> for KeyError {
    fn from(error: StoreError) -> Self {
        KeyError::Store(error)
    }
}

/// Checks a key name: 1 to 64 letters, digits, `.`, `_` or `-`, starting with a
/// letter or digit (the same shape as a fleet agent name, so an agent's name is
/// always a valid key name).
pub fn validate_key_name(name: &str) -> Result<(), String> {
    let mut characters = name.chars();
    let valid = characters.next().is_some_and(|first| {
        first.is_ascii_alphanumeric()
            && name.len() <= MAX_KEY_NAME_LENGTH
            && characters.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid key name `{name}`: use 1 to {MAX_KEY_NAME_LENGTH} letters, digits, `.`, \
             `_` or `-`, starting with a letter or digit (e.g. `reviewer-1`)"
        ))
    }
}

/// Parses a token budget, `N/day` or `N/month` (N a whole number above zero; `_`
/// may group digits: `2_000_000/day`).
pub fn parse_token_budget(text: &str) -> Result<TokenBudget, String> {
    let problem = || "expected TOKENS/day or TOKENS/month, e.g. 2000000/day".to_string();
    let (amount, period) = text.split_once('/').ok_or_else(problem)?;
    let period = BudgetPeriod::parse(period).ok_or_else(problem)?;
    let digits = amount.replace('_', "");
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(problem());
    }
    let tokens: u64 = digits.parse().map_err(|_| problem())?;
    if tokens == 0 {
        return Err("the budget must be more than 0 tokens".to_string());
    }
    Ok(TokenBudget { tokens, period })
}

/// Parses a spending budget per month, `X/month` or `X` in US dollars with at most
/// six decimals (`50`, `12.50/month`, `$20`); millionths of a dollar.
pub fn parse_usd_budget(text: &str) -> Result<i64, String> {
    let problem = || "expected US dollars per month, e.g. 50/month or 12.50/month".to_string();
    let amount = match text.split_once('/') {
        Some((amount, "month")) => amount,
        Some(_) => return Err(problem()),
        None => text,
    };
    let amount = amount.strip_prefix('$').unwrap_or(amount);
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 6 {
        return Err(problem());
    }
    let whole: i64 = whole.parse().map_err(|_| problem())?;
    let fraction: i64 = format!("{fraction:0<6}").parse().map_err(|_| problem())?;
    let micros = whole
        .checked_mul(1_000_000)
        .and_then(|micros| micros.checked_add(fraction))
        .filter(|micros| *micros <= 1_000_000_000 * 1_000_000)
        .ok_or_else(|| "the budget must be at most 1000000000 USD a month".to_string())?;
    if micros == 0 {
        return Err("the budget must be more than 0 USD".to_string());
    }
    Ok(micros)
}

/// A per-minute limit: 1 to 2^32 - 1.
fn parse_per_minute(value: u64) -> Result<u32, String> {
    u32::try_from(value)
        .ok()
        .filter(|value| *value > 0)
        .ok_or_else(|| format!("expected a whole number from 1 to {}", u32::MAX))
}

/// The limits of `spec` at `now` (Unix seconds); errors name the field as `names`
/// says and give the format.
pub fn limits_of(spec: &KeySpec, now: i64, names: FieldNames) -> Result<KeyLimits, String> {
    let field = |name: &str, value: &dyn std::fmt::Display, problem: String| {
        format!("{} `{value}`: {problem}", names.name(name))
    };
    let budget_tokens = spec
        .budget_tokens
        .as_deref()
        .map(|text| {
            parse_token_budget(text).map_err(|problem| field("budget_tokens", &text, problem))
        })
        .transpose()?;
    let budget_usd_micros_month = spec
        .budget_usd
        .as_deref()
        .map(|text| parse_usd_budget(text).map_err(|problem| field("budget_usd", &text, problem)))
        .transpose()?;
    let rpm = spec
        .rpm
        .map(|value| parse_per_minute(value).map_err(|problem| field("rpm", &value, problem)))
        .transpose()?;
    let tpm = spec
        .tpm
        .map(|value| parse_per_minute(value).map_err(|problem| field("tpm", &value, problem)))
        .transpose()?;
    let expires_at = spec
        .expires
        .as_deref()
        .map(|text| {
            parse_duration(text)
                .map(|seconds| now + seconds)
                .map_err(|problem| field("expires", &text, problem))
        })
        .transpose()?;
    let mut models: Vec<String> = Vec::new();
    for model in &spec.models {
        let model = model.trim();
        let valid = !model.is_empty()
            && model.len() <= 128
            && model
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@'));
        if !valid {
            return Err(field(
                "models",
                &model,
                "expected model ids (letters, digits, `.`, `_`, `-`, `:`, `@`), e.g. \
                 claude-sonnet-4-5,claude-haiku-4-5"
                    .to_string(),
            ));
        }
        if !models.iter().any(|known| known == model) {
            models.push(model.to_string());
        }
    }
    if models.len() > MAX_MODELS {
        return Err(format!(
            "{}: at most {MAX_MODELS} models",
            names.name("models")
        ));
    }
    Ok(KeyLimits {
        budget_tokens,
        budget_usd_micros_month,
        rpm,
        tpm,
        expires_at,
        models,
    })
}

/// Checks `spec`, finds its user, makes a key and stores it. Returns the key (to
/// show once) and how it is listed. Nothing is written when anything is invalid.
pub async fn create_key(
    users: &dyn UserStore,
    keys: &dyn KeyStore,
    spec: &KeySpec,
    names: FieldNames,
) -> Result<(String, KeyView), KeyError> {
    validate_key_name(&spec.name).map_err(KeyError::Invalid)?;
    if let Some(agent) = &spec.agent {
        validate_key_name(agent).map_err(|_| {
            KeyError::Invalid(format!(
                "{} `{agent}`: expected a fleet agent name (1 to 64 letters, digits, `.`, \
                 `_` or `-`, starting with a letter or digit)",
                names.name("agent")
            ))
        })?;
    }
    let limits = limits_of(spec, unix_now(), names).map_err(KeyError::Invalid)?;
    let user = match &spec.user {
        None => None,
        Some(email) => {
            let email = email.trim().to_lowercase();
            match users.credentials(&email).await? {
                Some(credentials) => Some(credentials.user),
                None => return Err(KeyError::UnknownUser(email)),
            }
        }
    };
    let (secret, hint, token_hash) = new_api_key();
    let key = keys
        .create_key(NewKey {
            name: spec.name.clone(),
            token_hash,
            hint,
            user_id: user.as_ref().map(|user| user.id),
            agent: spec.agent.clone(),
            limits,
        })
        .await?;
    Ok((
        secret,
        KeyView::new(key, user.map(|user| user.email), unix_now()),
    ))
}

/// A key as listings show it: never the key, never its hash.
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    /// The stored key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// Its user's email (`null`: no user, or the user was deleted).
    pub user: Option<String>,
    /// `active`, `revoked` or `expired`.
    pub state: &'static str,
}

impl KeyView {
    /// The view of `key`, owned by the user with `email`, at `now` (Unix seconds).
    pub fn new(key: ApiKey, email: Option<String>, now: i64) -> KeyView {
        let state = if key.revoked_at.is_some() {
            "revoked"
        } else if key.limits.expires_at.is_some_and(|at| at <= now) {
            "expired"
        } else {
            "active"
        };
        KeyView {
            key,
            user: email,
            state,
        }
    }

    /// Every key with its user's email.
    pub fn all(keys: Vec<ApiKey>, users: &[User], now: i64) -> Vec<KeyView> {
        let emails: HashMap<i64, &str> = users
            .iter()
            .map(|user| (user.id, user.email.as_str()))
            .collect();
        keys.into_iter()
            .map(|key| {
                let email = key
                    .user_id
                    .and_then(|id| emails.get(&id).map(|email| email.to_string()));
                KeyView::new(key, email, now)
            })
            .collect()
    }

    /// The state for people: `active`, `revoked 2025-03-01 12:00`, `expired …`.
    pub fn describe_state(&self) -> String {
        match (self.state, self.key.revoked_at, self.key.limits.expires_at) {
            ("revoked", Some(at), _) => format!("revoked {} UTC", format_utc_minute(at)),
            ("expired", _, Some(at)) => format!("expired {} UTC", format_utc_minute(at)),
            (_, _, Some(at)) => format!("active until {} UTC", format_utc_minute(at)),
            (state, _, _) => state.to_string(),
        }
    }
}

/// The limits for people: `2000000 tokens/day, $50.0000/month, 60 rpm`, or `-`.
pub fn describe_limits(limits: &KeyLimits) -> String {
    let mut parts = Vec::new();
    if let Some(budget) = limits.budget_tokens {
        parts.push(format!(
            "{} tokens/{}",
            budget.tokens,
            budget.period.as_str()
        ));
    }
    if let Some(micros) = limits.budget_usd_micros_month {
        parts.push(format!("${}/month", format_usd(micros)));
    }
    if let Some(rpm) = limits.rpm {
        parts.push(format!("{rpm} rpm"));
    }
    if let Some(tpm) = limits.tpm {
        parts.push(format!("{tpm} tpm"));
    }
    if !limits.models.is_empty() {
        parts.push(format!("models {}", limits.models.join(",")));
    }
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::keys::test_key;

    #[test]
    fn budgets_parse_or_name_the_format() {
        assert_eq!(
            parse_token_budget("2_000_000/day"),
            Ok(TokenBudget {
                tokens: 2_000_000,
                period: BudgetPeriod::Day
            })
        );
        assert_eq!(
            parse_token_budget("5/month").unwrap().period,
            BudgetPeriod::Month
        );
        for bad in ["", "100", "100/week", "/day", "-1/day", "1.5/day", "x/day"] {
            assert!(
                parse_token_budget(bad).unwrap_err().contains("TOKENS/day"),
                "{bad}"
            );
        }
        assert!(parse_token_budget("0/day").is_err());
        assert_eq!(parse_usd_budget("50"), Ok(50_000_000));
        assert_eq!(parse_usd_budget("12.50/month"), Ok(12_500_000));
        assert_eq!(parse_usd_budget("$0.000001"), Ok(1));
        for bad in ["", "abc", "1/day", "1.0000001", "-5", "1e3", ".5"] {
            assert!(
                parse_usd_budget(bad).unwrap_err().contains("50/month"),
                "{bad}"
            );
        }
        assert!(parse_usd_budget("0").is_err());
        assert!(parse_usd_budget("99999999999999").is_err());
    }

    #[test]
    fn limits_of_a_spec_name_the_flag_or_field_that_is_wrong() {
        let spec = KeySpec {
            name: "a".into(),
            budget_tokens: Some("1000/day".into()),
            budget_usd: Some("5".into()),
            rpm: Some(60),
            tpm: Some(10_000),
            expires: Some("7d".into()),
            models: vec![
                " claude-sonnet-4-5".into(),
                "claude-sonnet-4-5".into(),
                "claude-haiku-4-5".into(),
            ],
            ..KeySpec::default()
        };
        let limits = limits_of(&spec, 1000, FieldNames::Flags).unwrap();
        assert_eq!(limits.expires_at, Some(1000 + 7 * 86_400));
        assert_eq!(limits.models, ["claude-sonnet-4-5", "claude-haiku-4-5"]);
        assert_eq!(
            describe_limits(&limits),
            "1000 tokens/day, $5.0000/month, 60 rpm, 10000 tpm, models \
             claude-sonnet-4-5,claude-haiku-4-5"
        );
        let bad = KeySpec {
            budget_tokens: Some("lots".into()),
            ..spec.clone()
        };
        let error = limits_of(&bad, 0, FieldNames::Flags).unwrap_err();
        assert!(
            error.starts_with("--budget-tokens `lots`: expected"),
            "{error}"
        );
        let error = limits_of(&bad, 0, FieldNames::Json).unwrap_err();
        assert!(error.starts_with("budget_tokens `lots`"), "{error}");
        let zero_rpm = KeySpec {
            rpm: Some(0),
            ..spec.clone()
        };
        assert!(limits_of(&zero_rpm, 0, FieldNames::Flags)
            .unwrap_err()
            .starts_with("--rpm `0`"));
        let bad_model = KeySpec {
            models: vec!["a b".into()],
            ..spec
        };
        assert!(limits_of(&bad_model, 0, FieldNames::Flags)
            .unwrap_err()
            .starts_with("--models"));
        assert!(validate_key_name("reviewer-1.a_b").is_ok());
        for bad in ["", "-a", "a b", "ä", &"a".repeat(65)] {
            assert!(validate_key_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_is_active_revoked_or_expired() {
        let key = ApiKey {
            limits: KeyLimits {
                expires_at: Some(100),
                ..KeyLimits::default()
            },
            ..test_key(1, "a")
        };
        assert_eq!(KeyView::new(key.clone(), None, 99).state, "active");
        assert_eq!(KeyView::new(key.clone(), None, 100).state, "expired");
        let revoked = ApiKey {
            revoked_at: Some(50),
            ..key
        };
        let view = KeyView::new(revoked, None, 0);
        assert_eq!(view.state, "revoked");
        assert_eq!(view.describe_state(), "revoked 1970-01-01 00:00 UTC");
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["name"], "a");
        assert_eq!(json["state"], "revoked");
        assert!(json.get("token_hash").is_none());
    }
}
