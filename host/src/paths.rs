//! Where Mosaic keeps things: the config, data, cache and run directories, and the
//! plugin search path. Only the environment is consulted; nothing is created here.
//!
//! - Config: `MOSAIC_CONFIG_DIR`, else `$XDG_CONFIG_HOME/mosaic`, else
//!   `~/.config/mosaic` — on every platform, macOS included, so the docs and the
//!   other tools that share the file (fleet, hooks) can name one path.
//! - Data and cache: on Linux and the other Unixes `$XDG_DATA_HOME/mosaic` (else
//!   `~/.local/share/mosaic`) and `$XDG_CACHE_HOME/mosaic` (else `~/.cache/mosaic`);
//!   on macOS the platform's own places, `~/Library/Application Support/mosaic`
//!   and `~/Library/Caches/mosaic` (from the `dirs` crate).
//! - Run: `MOSAIC_RUN_DIR`, else `<config>/run`.
//!
//! The home directory comes from the `dirs` crate (`HOME`, else the password
//! database).

use std::path::{Path, PathBuf};

/// The directories of this run.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// `MOSAIC_CONFIG_DIR`, else `$XDG_CONFIG_HOME/mosaic`, else `~/.config/mosaic`.
    pub config: PathBuf,
    /// `$XDG_DATA_HOME/mosaic`, else `~/.local/share/mosaic` (macOS:
    /// `~/Library/Application Support/mosaic`).
    pub data: PathBuf,
    /// `$XDG_CACHE_HOME/mosaic`, else `~/.cache/mosaic` (macOS:
    /// `~/Library/Caches/mosaic`).
    pub cache: PathBuf,
    /// `MOSAIC_RUN_DIR`, else `<config>/run`.
    pub run: PathBuf,
}

fn env_path(key: &str) -> Option<PathBuf> {
    std::env::var_os(key)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// The user's home directory (`/` when there is none at all).
pub fn home_dir() -> PathBuf {
    dirs::home_dir().unwrap_or_else(|| PathBuf::from("/"))
}

/// `$<variable>`, else `~/<fallback>`: the XDG rule.
fn xdg_dir(variable: &str, home: &Path, fallback: &str) -> PathBuf {
    env_path(variable).unwrap_or_else(|| home.join(fallback))
}

/// The base directory for data (the platform's, on macOS).
fn data_base(home: &Path) -> PathBuf {
    if cfg!(target_os = "macos") {
        dirs::data_dir().unwrap_or_else(|| home.join("Library/Application Support"))
    } else {
        xdg_dir("XDG_DATA_HOME", home, ".local/share")
    }
}

/// The base directory for caches (the platform's, on macOS).
fn cache_base(home: &Path) -> PathBuf {
    if cfg!(target_os = "macos") {
        dirs::cache_dir().unwrap_or_else(|| home.join("Library/Caches"))
    } else {
        xdg_dir("XDG_CACHE_HOME", home, ".cache")
    }
}

impl Dirs {
    /// Reads the directories from the environment.
    pub fn from_env() -> Dirs {
        let home = home_dir();
        let config = env_path("MOSAIC_CONFIG_DIR")
            .unwrap_or_else(|| xdg_dir("XDG_CONFIG_HOME", &home, ".config").join("mosaic"));
        let run = env_path("MOSAIC_RUN_DIR").unwrap_or_else(|| config.join("run"));
        Dirs {
            data: data_base(&home).join("mosaic"),
            cache: cache_base(&home).join("mosaic"),
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

    #[test]
    fn without_the_variable_the_home_fallback_applies() {
        let home = Path::new("/home/someone");
        assert_eq!(
            xdg_dir("MOSAIC_TEST_UNSET_VARIABLE", home, ".config"),
            PathBuf::from("/home/someone/.config")
        );
    }
}
