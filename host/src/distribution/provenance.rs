//! Where an installed plugin came from: after `plugins install NAME` (or `upgrade`)
//! a record `<user plugin dir>/.origin/<name>.json` holds the index, version, URL,
//! sha256 and signer, so `outdated` and `upgrade` know what to compare and
//! `plugins list --json` can say it. `plugins install FILE` removes the record of
//! that name: the file no longer came from an index. A record whose sha256 no
//! longer matches the installed file is ignored (the file was replaced by hand).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use mosaic_plugin_api::sdk::fs::{atomic_write, create_dir_all_with_mode};
use serde::{Deserialize, Serialize};

/// The directory of the records, inside the user plugin directory.
pub const ORIGIN_DIR: &str = ".origin";

/// Where one installed plugin came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The plugin's name.
    pub name: String,
    /// The installed version.
    pub version: String,
    /// The URL of the index it was found in.
    pub index: String,
    /// The URL it was downloaded from.
    pub url: String,
    /// The sha256 of the installed file.
    pub sha256: String,
    /// The fingerprint of the key that signed it (`SHA256:…`).
    pub signer: String,
    /// The name the user gave that key when trusting it.
    pub signer_name: String,
    /// When it was installed (unix seconds).
    pub installed_at: u64,
}

/// `<plugin_dir>/.origin/<name>.json`.
pub fn origin_path(plugin_dir: &Path, name: &str) -> PathBuf {
    plugin_dir.join(ORIGIN_DIR).join(format!("{name}.json"))
}

/// The record of `name`, if there is one.
pub fn read(plugin_dir: &Path, name: &str) -> Result<Option<Origin>> {
    let path = origin_path(plugin_dir, name);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let origin = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a plugin origin record; remove it (the plugin stays installed)",
            path.display()
        )
    })?;
    Ok(Some(origin))
}

/// The record of `name` if it describes the file installed at `library` (its
/// sha256 matches), else `None`.
pub fn read_current(plugin_dir: &Path, name: &str, library: &Path) -> Option<Origin> {
    let origin = read(plugin_dir, name).ok()??;
    let bytes = fs::read(library).ok()?;
    (sha256_hex(&bytes) == origin.sha256).then_some(origin)
}

/// Writes the record (atomically, 0644).
pub fn write(plugin_dir: &Path, origin: &Origin) -> Result<()> {
    let directory = plugin_dir.join(ORIGIN_DIR);
    create_dir_all_with_mode(&directory, 0o755)?;
    let mut text = serde_json::to_string_pretty(origin)?;
    text.push('\n');
    atomic_write(
        &origin_path(plugin_dir, &origin.name),
        text.as_bytes(),
        Some(0o644),
    )
}

/// Removes the record of `name`, if any.
pub fn remove(plugin_dir: &Path, name: &str) -> Result<()> {
    let path = origin_path(plugin_dir, name);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// Lowercase hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    super::hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_record_round_trips_and_is_dropped_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("libmosaic_x.so");
        fs::write(&library, b"v1").unwrap();
        let origin = Origin {
            name: "x".into(),
            version: "1.0.0".into(),
            index: "file:///srv/index.json".into(),
            url: "file:///srv/libmosaic_x.so".into(),
            sha256: sha256_hex(b"v1"),
            signer: "SHA256:abc".into(),
            signer_name: "acme".into(),
            installed_at: 1,
        };
        write(dir.path(), &origin).unwrap();
        let mode = fs::metadata(origin_path(dir.path(), "x"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
        assert_eq!(read(dir.path(), "x").unwrap(), Some(origin.clone()));
        assert_eq!(read_current(dir.path(), "x", &library), Some(origin));
        fs::write(&library, b"v2 by hand").unwrap();
        assert_eq!(read_current(dir.path(), "x", &library), None);
        remove(dir.path(), "x").unwrap();
        remove(dir.path(), "x").unwrap();
        assert_eq!(read(dir.path(), "x").unwrap(), None);
    }
}
