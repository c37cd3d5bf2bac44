//! Trust checks: loading a library runs its code, so a plugin file or directory that
//! someone else could have written is refused, the way ssh refuses a private key
//! others can read.
//!
//! Trusted means: owned by root or by the user running `mosaic`, and not writable by
//! group or others.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The effective uid, asked once per process.
fn effective_uid() -> u32 {
    static UID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UID.get_or_init(|| nix::unistd::geteuid().as_raw())
}

/// Why a path is not trusted, or `None` when it is.
pub fn untrusted_reason(path: &Path, metadata: &std::fs::Metadata) -> Option<String> {
    let kind = if metadata.is_dir() {
        "directory"
    } else {
        "file"
    };
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "group and others",
            (true, false) => "its group",
            _ => "others",
        };
        return Some(format!(
            "{kind} {} is writable by {who} (mode {mode:04o}); fix with `chmod go-w {}`",
            path.display(),
            path.display()
        ));
    }
    let owner = metadata.uid();
    let me = effective_uid();
    if owner != 0 && owner != me {
        return Some(format!(
            "{kind} {} is owned by uid {owner}, not by you (uid {me}) or root",
            path.display()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn world_writable_is_refused_and_private_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("libmosaic_x.so");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(untrusted_reason(&file, &std::fs::metadata(&file).unwrap()).is_none());
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o757)).unwrap();
        let reason = untrusted_reason(&file, &std::fs::metadata(&file).unwrap()).unwrap();
        assert!(reason.contains("writable by others"), "{reason}");
        assert!(reason.contains("chmod go-w"), "{reason}");
    }
}
