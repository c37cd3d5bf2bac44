//! The binary contract between the `mosaic` host and a plugin library.
//!
//! Everything that crosses the dynamic-library boundary is defined here and nowhere
//! else: the root module every plugin exports ([`PluginMod`]), the context the host
//! hands to each call ([`HostContext`]) and the failure value of a run
//! ([`RunFailure`]). All of it is `#[repr(C)]` and checked by `abi_stable` when a
//! library is loaded. Richer data (manifests, invocations) crosses as JSON strings so
//! it can grow with `#[serde(default)]` instead of layout changes.
//!
//! This module is not for plugin authors to use directly: they implement
//! [`crate::Plugin`] and call [`crate::export_plugin!`].

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RStr, RString},
    StableAbi,
};

/// The version of this crate, which is the version of the plugin ABI.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The root module of a plugin library.
///
/// It is a *prefix type*: fields may only be appended, below the field marked
/// `#[sabi(last_prefix_field)]`, in a later minor version of this crate. A host reading
/// an older plugin sees the new fields as missing and must not call them; an older
/// host ignores fields it does not know. Never reorder, remove or retype a field.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    /// Returns the plugin's manifest as JSON ([`crate::Manifest`]), or an error
    /// message if it could not be produced (a panic is caught and reported here).
    pub manifest: extern "C" fn() -> RResult<RString, RString>,

    /// Runs one command. `invocation_json` is a [`crate::Invocation`]; the `i32` is
    /// the process exit code the host should use.
    ///
    /// This is the last field of version 0.1; new fields go below it.
    #[sabi(last_prefix_field)]
    pub run:
        extern "C" fn(context: &HostContext, invocation_json: RStr<'_>) -> RResult<i32, RunFailure>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "mosaic_plugin";
    const NAME: &'static str = "mosaic_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Why a run failed, when it did not produce an exit code of its own.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct RunFailure {
    /// True when the plugin panicked (the host reports an internal error, exit 70).
    pub panicked: bool,
    /// A one-line message with its causes, e.g. `cannot read x.json: permission denied`.
    pub message: RString,
}

/// Log levels of [`HostContext::log`], from most to least severe.
pub mod log_level {
    /// An error the user should see.
    pub const ERROR: u8 = 1;
    /// Something odd that did not stop the command.
    pub const WARN: u8 = 2;
    /// Progress worth a line with `-v`.
    pub const INFO: u8 = 3;
    /// Detail for `-vv`.
    pub const DEBUG: u8 = 4;
    /// Everything.
    pub const TRACE: u8 = 5;
}

/// What the host tells a plugin about one run, and the services it offers.
///
/// Plain data plus `extern "C"` callbacks. The callbacks take the context back as
/// their first argument so the host can find the state of this particular run (for
/// example the environment overrides of an [`HostContext::invoke`] call).
#[repr(C)]
#[derive(StableAbi)]
pub struct HostContext {
    /// Version of the `mosaic` host binary.
    pub host_version: RString,
    /// `MOSAIC_CONFIG_DIR`, else `$XDG_CONFIG_HOME/mosaic`, else `~/.config/mosaic`.
    pub config_dir: RString,
    /// `$XDG_DATA_HOME/mosaic`, else `~/.local/share/mosaic`.
    pub data_dir: RString,
    /// `$XDG_CACHE_HOME/mosaic`, else `~/.cache/mosaic`.
    pub cache_dir: RString,
    /// Runtime state (pid files, sockets): `MOSAIC_RUN_DIR`, else `<config_dir>/run`.
    pub run_dir: RString,
    /// -1 with `-q`, 0 by default, 1 with `-v`, 2 with `-vv` or more.
    pub verbosity: i8,
    /// Whether output may use colour (`--no-color` and `NO_COLOR` turn it off).
    pub color: bool,
    /// `--json`: list and status commands print one JSON document on stdout.
    pub json: bool,
    /// Whether stdin is a terminal.
    pub stdin_is_tty: bool,
    /// Whether stdout is a terminal.
    pub stdout_is_tty: bool,
    /// `MOSAIC_ASSUME_YES=1` (or an override of it): never prompt, take defaults.
    pub assume_yes: bool,
    /// Opaque to plugins: lets the host find the state of this run in callbacks.
    pub handle: u64,
    /// Reads an environment variable, with the overrides of this run applied.
    pub env: extern "C" fn(context: &HostContext, key: RStr<'_>) -> ROption<RString>,
    /// Emits a log event through the host's one tracing subscriber.
    pub log: extern "C" fn(context: &HostContext, level: u8, target: RStr<'_>, message: RStr<'_>),
    /// Runs another `mosaic` command in this process: `argv_json` is a JSON array of
    /// the arguments after `mosaic`, `env_overrides_json` a JSON object of variables
    /// seen by that command's [`HostContext::env`] (the process environment is not
    /// touched). Returns the command's exit code; an `RErr` means it could not be
    /// started at all (for example the plugin providing it is not installed).
    pub invoke: extern "C" fn(
        context: &HostContext,
        argv_json: RStr<'_>,
        env_overrides_json: RStr<'_>,
    ) -> RResult<i32, RString>,
}

/// The exported symbol name `abi_stable` looks up in a library. The SDK's
/// [`crate::export_plugin!`] defines it with `#[export_name]`, so plugin crates need
/// not depend on `abi_stable` themselves; a unit test pins it to abi_stable's value.
#[doc(hidden)]
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

#[cfg(test)]
mod tests {
    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(
            super::ROOT_MODULE_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }
}
