//! Passwords and tokens: argon2id password hashes, random session and bootstrap
//! tokens, the proxy's API keys, and the SHA-256 digests stored in their place.

use anyhow::{anyhow, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::storage::keys::KEY_PREFIX;
use crate::storage::TokenHash;

/// Random characters of an API key after [`KEY_PREFIX`] (40 base62 characters are
/// about 238 bits).
pub const API_KEY_RANDOM_CHARS: usize = 40;
/// Characters of an API key kept as its hint: the prefix and four random ones.
pub const API_KEY_HINT_CHARS: usize = KEY_PREFIX.len() + 4;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Hashes a password with argon2id (the `argon2` crate's defaults: 19 MiB, 2
/// passes, 1 lane — OWASP's recommendation) into a PHC string.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow!("cannot hash the password: {error}"))
}

/// Whether `password` matches the PHC string `hash`. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Lower-case hex digits of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A new random token: 32 bytes from the OS, as 64 lower-case hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Whether `text` has the shape of a token from [`new_token`].
pub fn looks_like_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// A new API key for the proxy: [`KEY_PREFIX`] and [`API_KEY_RANDOM_CHARS`] base62
/// characters from the OS random source. Returns the key (shown once), its hint
/// (kept, to tell keys apart) and its SHA-256 (kept instead of the key).
pub fn new_api_key() -> (String, String, TokenHash) {
    let mut key = String::with_capacity(KEY_PREFIX.len() + API_KEY_RANDOM_CHARS);
    key.push_str(KEY_PREFIX);
    let mut buffer = [0u8; 64];
    while key.len() < KEY_PREFIX.len() + API_KEY_RANDOM_CHARS {
        OsRng.fill_bytes(&mut buffer);
        // Rejection sampling: bytes of 248 and above would make the first
        // characters more likely than the others (256 = 4 * 62 + 8).
        for byte in buffer.iter().filter(|byte| **byte < 248) {
            if key.len() == KEY_PREFIX.len() + API_KEY_RANDOM_CHARS {
                break;
            }
            key.push(char::from(BASE62[usize::from(*byte % 62)]));
        }
    }
    let hint = key[..API_KEY_HINT_CHARS].to_string();
    let hash = token_hash(&key);
    (key, hint, hash)
}

/// Whether `text` has the shape of a key from [`new_api_key`].
pub fn looks_like_api_key(text: &str) -> bool {
    text.strip_prefix(KEY_PREFIX).is_some_and(|random| {
        random.len() == API_KEY_RANDOM_CHARS
            && random.bytes().all(|byte| byte.is_ascii_alphanumeric())
    })
}

/// The SHA-256 of a token: what is stored and compared instead of the token.
pub fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
        let again = hash_password("correct horse battery").unwrap();
        assert_ne!(hash, again, "every hash has its own salt");
    }

    #[test]
    fn tokens_are_random_hex_and_hash_stably() {
        let first = new_token();
        let second = new_token();
        assert!(looks_like_token(&first));
        assert_ne!(first, second);
        assert_eq!(token_hash(&first), token_hash(&first));
        assert_ne!(token_hash(&first), token_hash(&second));
        assert!(!looks_like_token("abc"));
        assert!(!looks_like_token(&"g".repeat(64)));
    }

    #[test]
    fn api_keys_have_the_prefix_forty_base62_characters_and_a_short_hint() {
        let (key, hint, hash) = new_api_key();
        assert!(key.starts_with("mosaic_sk_"), "{key}");
        assert_eq!(key.len(), 50, "{key}");
        assert!(looks_like_api_key(&key), "{key}");
        assert_eq!(hint.len(), 14);
        assert!(key.starts_with(&hint));
        assert_eq!(hash, token_hash(&key));
        let (other, _, other_hash) = new_api_key();
        assert_ne!(key, other);
        assert_ne!(hash, other_hash);
        assert!(!looks_like_api_key("mosaic_sk_short"));
        assert!(!looks_like_api_key(&format!(
            "mosaic_sk_{}",
            "-".repeat(40)
        )));
        assert!(!looks_like_api_key(&"a".repeat(50)));
        // Every base62 character turns up, and none is far more common than the
        // others (a modulo bias would favour the first eight).
        let mut counts = std::collections::HashMap::new();
        for _ in 0..500 {
            for character in new_api_key().0[10..].chars() {
                *counts.entry(character).or_insert(0u32) += 1;
            }
        }
        assert_eq!(counts.len(), 62);
        let most = counts.values().max().unwrap();
        let least = counts.values().min().unwrap();
        assert!(*most < least * 2, "most {most}, least {least}");
    }
}
