//! The rules for a gateway account — email, display name, password — written once,
//! so every place that asks for one (`gateway install`, the wizard, the gateway's
//! HTTP API) accepts and refuses exactly the same values.

use anyhow::{bail, Result};

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted, in characters (argon2 hashes anything, but a
/// megabyte password is a denial of service, not a password).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// An email address: something, `@`, a domain with a dot; no spaces. Returns it
/// trimmed and lower-cased, the form accounts are stored and looked up in.
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

/// A display name: 1 to 100 characters, no control characters. Returns it trimmed.
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

    #[test]
    fn emails() {
        assert_eq!(
            validate_email(" Ada@Example.com ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "ada", "ada@", "@x.io", "a@b", "a@.b.c", "a@b..c", "a b@c.d", "a@b@c.d",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_passwords() {
        assert_eq!(validate_name("  Ada ").unwrap(), "Ada");
        assert!(validate_name(" ").is_err());
        assert!(validate_name("a\u{7}b").is_err());
        assert!(validate_password("short").is_err());
        let message = validate_password("short").unwrap_err().to_string();
        assert!(!message.contains("short\""), "{message}");
        assert!(validate_password("long enough").is_ok());
        assert!(validate_password(&"x".repeat(1025)).is_err());
    }
}
