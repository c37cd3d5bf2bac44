//! Finding programs the way a shell does: the first executable file of that name in
//! a `PATH`-style list. Used to check for tmux and agent runtimes before running
//! them, so the error can say how to install what is missing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The first executable file called `name` in the directories of `path` (a
/// `PATH`-style list, e.g. from `Context::env("PATH")`). A `name` holding a `/` is
/// checked as given.
pub fn find_program(name: &str, path: Option<&str>) -> Option<PathBuf> {
    if name.contains('/') {
        let candidate = PathBuf::from(name);
        return is_executable(&candidate).then_some(candidate);
    }
    path?
        .split(':')
        .filter(|directory| !directory.is_empty())
        .map(|directory| Path::new(directory).join(name))
        .find(|candidate| is_executable(candidate))
}

/// A regular file with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_executables_on_the_path_only() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("tool");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o644)).unwrap();
        let path = dir.path().display().to_string();
        assert_eq!(find_program("tool", Some(&path)), None, "not executable");
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_program("tool", Some(&path)), Some(program.clone()));
        assert_eq!(find_program("tool", Some("/nonexistent")), None);
        assert_eq!(find_program("tool", None), None);
        assert_eq!(find_program(program.to_str().unwrap(), None), Some(program));
    }
}
