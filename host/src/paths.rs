//! Where Mosaic keeps things: the config, data, cache and run directories, and the
//! plugin search path.
//!
//! Linux conventions (XDG) are used on every platform, macOS included, so the docs
//! can name one path. Only the environment is consulted; nothing is created here.

use std::path::{Path, PathBuf};

/// The directories of this run.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// `MOSAIC_CONFIG_DIR`, else `$XDG_CONFIG_HOME/mosaic`, else `~/.config/mosaic`.
    pub config: PathBuf,
    /// `$XDG_DATA_HOME/mosaic`, else `~/.local/share/mosaic`.
    pub data: PathBuf,
    /// `$XDG_CACHE_HOME/mosaic`, else `~/.cache/mosaic`.
    pub cache: PathBuf,
    /// `MOSAIC_RUN_DIR`, else `<config>/run`.
    pub run: PathBuf,
}

fn env_path(key: &str) -> Option<PathBuf> {
    std::env::var_os(key)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// The user's home directory: `HOME`, else the password database.
pub fn home_dir() -> PathBuf {
    env_path("HOME")
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|user| user.dir)
        })
        .unwrap_or_else(|| PathBuf::from("/"))
}

impl Dirs {
    /// Reads the directories from the environment.
    pub fn from_env() -> Dirs {
        let home = home_dir();
        let xdg = |key: &str, fallback: &str| {
            env_path(key)
                .unwrap_or_else(|| home.join(fallback))
                .join("mosaic")
        };
        let config =
            env_path("MOSAIC_CONFIG_DIR").unwrap_or_else(|| xdg("XDG_CONFIG_HOME", ".config"));
        let run = env_path("MOSAIC_RUN_DIR").unwrap_or_else(|| config.join("run"));
        Dirs {
            data: xdg("XDG_DATA_HOME", ".local/share"),
            cache: xdg("XDG_CACHE_HOME", ".cache"),
            config,
            run,
        }
    }

    /// Where `mosaic plugins install` puts plugins.
    pub fn user_plugin_dir(&self) -> PathBuf {
        self.data.join("plugins")
    }
}

/// One directory of the plugin search path and why it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDir {
    /// The directory.
    pub path: PathBuf,
    /// `--plugin-dir`, `MOSAIC_PLUGIN_PATH`, `user`, `prefix` or `binary`.
    pub origin: &'static str,
}

/// The plugin search path, first wins: `--plugin-dir` (in order), `MOSAIC_PLUGIN_PATH`
/// (colon-separated), the user dir, `<prefix>/lib/mosaic/plugins`, and the directory
/// of the binary itself (a development build). Duplicates are dropped.
pub fn search_path(flag_dirs: &[PathBuf], dirs: &Dirs) -> Vec<SearchDir> {
    let mut search = Vec::new();
    for path in flag_dirs {
        search.push(SearchDir {
            path: path.clone(),
            origin: "--plugin-dir",
        });
    }
    if let Some(value) = std::env::var_os("MOSAIC_PLUGIN_PATH") {
        for path in std::env::split_paths(&value).filter(|path| !path.as_os_str().is_empty()) {
            search.push(SearchDir {
                path,
                origin: "MOSAIC_PLUGIN_PATH",
            });
        }
    }
    search.push(SearchDir {
        path: dirs.user_plugin_dir(),
        origin: "user",
    });
    if let Some(binary_dir) = binary_dir() {
        if let Some(prefix) = binary_dir.parent() {
            search.push(SearchDir {
                path: prefix.join("lib").join("mosaic").join("plugins"),
                origin: "prefix",
            });
        }
        search.push(SearchDir {
            path: binary_dir,
            origin: "binary",
        });
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    search.retain(|dir| {
        let key = normalize(&dir.path);
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    search
}

fn normalize(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// The directory holding the running `mosaic` executable.
pub fn binary_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
}

/// The platform's plugin file name for a plugin name: `libmosaic_<name>.so`.
pub fn plugin_file_name(name: &str) -> String {
    format!(
        "{}mosaic_{}{}",
        std::env::consts::DLL_PREFIX,
        name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// The plugin name a file name stands for (`libmosaic_fleet.so` → `fleet`).
pub fn plugin_name_from_file(file_name: &str) -> Option<&str> {
    file_name
        .strip_prefix(std::env::consts::DLL_PREFIX)?
        .strip_prefix("mosaic_")?
        .strip_suffix(std::env::consts::DLL_SUFFIX)
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_file_names_round_trip() {
        let file = plugin_file_name("fleet");
        assert_eq!(plugin_name_from_file(&file), Some("fleet"));
        assert_eq!(plugin_name_from_file("libfoo.so"), None);
        assert_eq!(plugin_name_from_file("libmosaic_.so"), None);
    }
}
