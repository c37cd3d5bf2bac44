//! `mosaic plugins keygen [--output DIR] [--name NAME]`: make a publisher's signing
//! key pair, `DIR/NAME.key` (secret, 0600) and `DIR/NAME.pub` (public).
//!
//! Neither file is ever overwritten: a lost secret key cannot be recovered, and a
//! replaced one would silently change who users must trust. Only the public key and
//! its fingerprint are printed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use mosaic_plugin_api::sdk::fs::create_dir_all_with_mode;
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;

use crate::builtins::Builtin;
use crate::distribution::signing::{write_new_file, SecretKey};
use crate::session::Session;

/// `mosaic plugins keygen`.
pub struct Keygen;

/// The default base name of the key files.
const DEFAULT_NAME: &str = "mosaic-signing";

/// The options of `mosaic plugins keygen`.
#[derive(Debug, Deserialize)]
pub struct KeygenOptions {
    /// The directory for the key files (default: the current directory).
    pub output: Option<PathBuf>,
    /// The base name of the key files.
    pub name: Option<String>,
}

/// The two files of a new key pair.
#[derive(Debug)]
pub struct KeyFiles {
    /// `DIR/NAME.key`.
    pub secret: PathBuf,
    /// `DIR/NAME.pub`.
    pub public: PathBuf,
}

impl KeyFiles {
    /// The files for `name` in `directory`; `name` must be a plain file name.
    pub fn new(directory: &Path, name: &str) -> Result<KeyFiles> {
        if name.is_empty()
            || name.starts_with('.')
            || name.contains('/')
            || name.chars().any(char::is_control)
        {
            bail!("--name `{name}` must be a plain file name (no `/`, not starting with `.`)");
        }
        Ok(KeyFiles {
            secret: directory.join(format!("{name}.key")),
            public: directory.join(format!("{name}.pub")),
        })
    }
}

impl Builtin for Keygen {
    type Options = KeygenOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "keygen",
            "Make a key pair for signing the plugin releases you publish",
        )
        .long_about(
            "Make an ed25519 key pair for publishing plugins: DIR/NAME.key, the secret \
             key (mode 0600), and DIR/NAME.pub, the public key. `mosaic plugins index \
             add --key DIR/NAME.key` signs each release with the secret key; users who \
             install your plugins by name trust the public key (`mosaic plugins trust \
             add`) after checking its fingerprint with you. Existing files are never \
             overwritten. Keep the secret key private and backed up: it cannot be \
             recovered, and a new key means every user has to trust the new one. The \
             secret key is never printed.",
        )
        .arg(
            ArgSpec::option(
                "output",
                "Directory for the key files, created if missing [default: current directory]",
            )
            .short('o')
            .value_name("DIR"),
        )
        .arg(
            ArgSpec::option(
                "name",
                "Base name of the key files [default: mosaic-signing]",
            )
            .value_name("NAME"),
        )
        .example("plugins keygen", "")
        .example(
            "plugins keygen --output ~/.config/mosaic-publish --name acme",
            "",
        )
        .example("plugins keygen --json", "")
    }

    fn run(session: &Session, options: KeygenOptions) -> Result<i32> {
        let directory = options.output.unwrap_or_else(|| PathBuf::from("."));
        let name = options.name.unwrap_or_else(|| DEFAULT_NAME.to_string());
        let files = KeyFiles::new(&directory, &name)?;
        let key = generate(&directory, &files)?;
        let public = key.public();
        if session.json() {
            let document = serde_json::json!({
                "secret_key_file": files.secret,
                "public_key_file": files.public,
                "public_key": public.to_text(),
                "fingerprint": public.fingerprint(),
            });
            println!("{}", serde_json::to_string_pretty(&document)?);
            return Ok(0);
        }
        println!("{}", public.to_text());
        println!("fingerprint: {}", public.fingerprint());
        eprintln!(
            "wrote {} (secret: keep it private and backed up) and {}",
            files.secret.display(),
            files.public.display()
        );
        eprintln!(
            "sign releases with: mosaic plugins index add INDEX.json FILE.so --url URL --key {}",
            files.secret.display()
        );
        Ok(0)
    }
}

/// Makes a key and writes both files, or neither: both names are checked first, and
/// the secret key is removed again if the public key cannot be written.
pub fn generate(directory: &Path, files: &KeyFiles) -> Result<SecretKey> {
    for path in [&files.secret, &files.public] {
        if path.symlink_metadata().is_ok() {
            bail!(
                "{} already exists; refusing to overwrite a key (choose another --name or --output)",
                path.display()
            );
        }
    }
    if !directory.exists() {
        create_dir_all_with_mode(directory, 0o700)?;
    }
    let key = SecretKey::generate();
    key.write_new(&files.secret)?;
    let public_line = format!("{}\n", key.public().to_text());
    if let Err(error) = write_new_file(&files.public, public_line.as_bytes(), 0o644) {
        let _ = std::fs::remove_file(&files.secret);
        return Err(error);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::signing::PublicKey;

    #[test]
    fn writes_a_pair_that_belongs_together_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let files = KeyFiles::new(&keys, "acme").unwrap();
        let key = generate(&keys, &files).unwrap();
        let public = std::fs::read_to_string(&files.public).unwrap();
        assert_eq!(PublicKey::parse(&public).unwrap(), key.public());
        assert_eq!(
            SecretKey::read(&files.secret).unwrap().public(),
            key.public()
        );

        let secret_before = std::fs::read(&files.secret).unwrap();
        let error = generate(&keys, &files).unwrap_err().to_string();
        assert!(error.contains("acme.key already exists"), "{error}");
        assert_eq!(std::fs::read(&files.secret).unwrap(), secret_before);

        std::fs::remove_file(&files.secret).unwrap();
        let error = generate(&keys, &files).unwrap_err().to_string();
        assert!(error.contains("acme.pub already exists"), "{error}");
        assert!(!files.secret.exists(), "nothing half-written");
    }

    #[test]
    fn names_with_paths_are_refused() {
        for name in ["", "../x", ".hidden", "a/b"] {
            assert!(KeyFiles::new(Path::new("."), name).is_err(), "{name}");
        }
    }
}
