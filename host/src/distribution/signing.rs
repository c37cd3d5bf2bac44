//! Publisher keys: ed25519 key pairs, their files, signatures and fingerprints.
//!
//! A publisher makes a key pair once (`mosaic plugins keygen`), signs each release
//! it adds to an index with the secret key, and hands out the public key text; a
//! user trusts that text (or checks its fingerprint) before installing by name.
//!
//! Formats, all plain text so they can be pasted:
//! - secret key file: `mosaic-secret-key-v1 <base64 of the 32-byte seed>` + newline,
//!   mode 0600, never overwritten;
//! - public key: `mosaic-ed25519:<base64 of the 32-byte public key>`;
//! - fingerprint: `SHA256:<unpadded base64 of sha256(public key bytes)>`, like ssh.
//!
//! Nothing here ever prints, logs or formats the secret seed.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use mosaic_plugin_api::sdk::fs::atomic_write;
use sha2::{Digest as _, Sha256};

/// The first word of a secret key file.
pub const SECRET_KEY_TAG: &str = "mosaic-secret-key-v1";

/// The prefix of a public key's text.
pub const PUBLIC_KEY_PREFIX: &str = "mosaic-ed25519:";

/// A publisher's secret signing key. Its `Debug` shows the public fingerprint only.
pub struct SecretKey(SigningKey);

/// A publisher's public key: what an index names and a user trusts.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PublicKey(VerifyingKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "SecretKey({})", self.public().fingerprint())
    }
}

impl SecretKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> SecretKey {
        SecretKey(SigningKey::generate(&mut rand_core::OsRng))
    }

    /// Reads a secret key file written by [`SecretKey::write_new`]. A file that
    /// others can read is refused, like ssh refuses such a private key.
    pub fn read(path: &Path) -> Result<SecretKey> {
        let file = path.display();
        let bytes = fs::read(path).with_context(|| format!("cannot read {file}"))?;
        let expected = format!(
            "{file} is not a mosaic secret key: expected `{SECRET_KEY_TAG} <base64 seed>` \
             (made by `mosaic plugins keygen`)"
        );
        let text = String::from_utf8(bytes).map_err(|_| anyhow!("{expected}"))?;
        if text.trim_start().starts_with(PUBLIC_KEY_PREFIX) {
            bail!("{file} is a public key; pass the secret key file (NAME.key) made with it");
        }
        let metadata = fs::metadata(path).with_context(|| format!("cannot read {file}"))?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{file}: secret key file is accessible by others (mode {mode:04o}); \
                 run `chmod 600 {file}`"
            );
        }
        let Some((tag, encoded)) = text.trim_end().split_once(' ') else {
            bail!("{expected}");
        };
        if tag != SECRET_KEY_TAG {
            bail!("{expected}");
        }
        let seed = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| anyhow!("{expected}; the key is not 32 bytes of base64"))?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// Writes the key to a new file, mode 0600, atomically; an existing file is
    /// never replaced.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        let line = format!("{SECRET_KEY_TAG} {}\n", STANDARD.encode(self.0.to_bytes()));
        write_new_file(path, line.as_bytes(), 0o600)
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message`; the signature in base64.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.0.sign(message).to_bytes())
    }
}

impl PublicKey {
    /// Parses the public key text (`mosaic-ed25519:<base64>`; surrounding
    /// whitespace is ignored).
    pub fn parse(text: &str) -> Result<PublicKey> {
        let text = text.trim();
        let expected = format!("expected `{PUBLIC_KEY_PREFIX}<base64 of 32 bytes>`");
        if text.starts_with(SECRET_KEY_TAG) {
            // Never echo it: that would print a secret.
            bail!("this is a secret key, not a public key ({expected}); keep it private");
        }
        let Some(encoded) = text.strip_prefix(PUBLIC_KEY_PREFIX) else {
            bail!("not a mosaic public key: {expected}");
        };
        let bytes = STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| anyhow!("`{text}` is not a mosaic public key: {expected}"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| anyhow!("`{text}` is not a valid ed25519 public key"))?;
        Ok(PublicKey(key))
    }

    /// The public key text, one copy-pasteable token.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_KEY_PREFIX}{}", STANDARD.encode(self.0.as_bytes()))
    }

    /// `SHA256:<unpadded base64 of sha256(key bytes)>`, like an ssh fingerprint.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        format!("SHA256:{}", STANDARD_NO_PAD.encode(digest))
    }

    /// Checks a base64 signature of `message` made with this key's secret half.
    pub fn verify(&self, message: &[u8], signature_base64: &str) -> Result<()> {
        let bytes = STANDARD
            .decode(signature_base64.trim())
            .ok()
            .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
            .ok_or_else(|| anyhow!("the signature is not 64 bytes of base64"))?;
        self.0
            .verify_strict(message, &Signature::from_bytes(&bytes))
            .map_err(|_| anyhow!("the signature does not match key {}", self.fingerprint()))
    }
}

/// Writes `contents` to `path` with `mode`, atomically, failing if `path` exists:
/// the bytes go to a temporary file (through the SDK's atomic write), which is then
/// hard-linked to `path` — a link, unlike a rename, never replaces a file.
pub fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?
        .to_string_lossy();
    let pending = path.with_file_name(format!(".{file_name}.new.{}", std::process::id()));
    atomic_write(&pending, contents, Some(mode))?;
    let linked = fs::hard_link(&pending, path);
    let _ = fs::remove_file(&pending);
    match linked {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => bail!(
            "{} already exists; refusing to overwrite it (choose another name or directory)",
            path.display()
        ),
        Err(error) => Err(error).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_key_only() {
        let key = SecretKey::generate();
        let signature = key.sign(b"release");
        key.public().verify(b"release", &signature).unwrap();

        let tampered = key.public().verify(b"releasf", &signature).unwrap_err();
        assert!(tampered.to_string().contains("does not match key SHA256:"));
        let other = SecretKey::generate().public();
        assert!(other.verify(b"release", &signature).is_err());
        let mut bytes = STANDARD.decode(&signature).unwrap();
        bytes[10] ^= 1;
        let flipped = STANDARD.encode(bytes);
        assert!(key.public().verify(b"release", &flipped).is_err());
        let garbage = key.public().verify(b"release", "not base64!").unwrap_err();
        assert!(garbage.to_string().contains("not 64 bytes of base64"));
    }

    #[test]
    fn public_key_text_round_trips_and_bad_text_is_refused() {
        let key = SecretKey::generate().public();
        let text = key.to_text();
        assert!(text.starts_with("mosaic-ed25519:"));
        assert_eq!(PublicKey::parse(&format!(" {text}\n")).unwrap(), key);
        assert!(PublicKey::parse("ssh-ed25519 AAAA").is_err());
        assert!(PublicKey::parse("mosaic-ed25519:AAAA").is_err());
        let fingerprint = key.fingerprint();
        assert!(fingerprint.starts_with("SHA256:"));
        assert_eq!(fingerprint.len(), "SHA256:".len() + 43);
        assert!(!fingerprint.ends_with('='));
    }

    #[test]
    fn secret_key_text_is_never_echoed() {
        let secret = format!("{SECRET_KEY_TAG} {}", STANDARD.encode([7u8; 32]));
        let error = PublicKey::parse(&secret).unwrap_err().to_string();
        assert!(!error.contains(&STANDARD.encode([7u8; 32])), "{error}");
        let key = SecretKey::generate();
        let debug = format!("{key:?}");
        assert!(debug.contains("SHA256:"));
        assert!(!debug.contains(&STANDARD.encode(key.0.to_bytes())));
    }

    #[test]
    fn key_files_are_private_new_and_readable_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let key = SecretKey::generate();
        key.write_new(&path).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(SecretKey::read(&path).unwrap().public(), key.public());

        let again = SecretKey::generate().write_new(&path).unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
        assert_eq!(SecretKey::read(&path).unwrap().public(), key.public());
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn bad_key_files_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str, mode: u32| {
            let path = dir.path().join(name);
            fs::write(&path, text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            path
        };
        let garbage = write("garbage.key", "hello world\n", 0o600);
        let error = SecretKey::read(&garbage).unwrap_err().to_string();
        assert!(
            error.contains("garbage.key is not a mosaic secret key"),
            "{error}"
        );
        assert!(error.contains("expected `mosaic-secret-key-v1"), "{error}");

        let short = write("short.key", "mosaic-secret-key-v1 AAAA\n", 0o600);
        assert!(SecretKey::read(&short).is_err());

        let public = SecretKey::generate().public().to_text();
        let public = write("signing.pub", &public, 0o600);
        let error = SecretKey::read(&public).unwrap_err().to_string();
        assert!(error.contains("is a public key"), "{error}");

        let open = dir.path().join("open.key");
        SecretKey::generate().write_new(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o644)).unwrap();
        let error = SecretKey::read(&open).unwrap_err().to_string();
        assert!(error.contains("chmod 600"), "{error}");

        let missing = SecretKey::read(&dir.path().join("missing.key")).unwrap_err();
        assert!(missing.to_string().contains("missing.key"));
    }
}
