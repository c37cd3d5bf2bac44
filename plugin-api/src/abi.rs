//! The binary contract between the `mosaic` host and a plugin library.
//!
//! Everything that crosses the dynamic-library boundary is defined here and nowhere
//! else: the root module every plugin exports ([`PluginMod`]), the context the host
//! hands to each call ([`HostContext`]), the table of host services behind it
//! ([`HostServices`]) and the failure value of a run ([`RunFailure`]). All of it is
//! `#[repr(C)]` and checked by `abi_stable` when a library is loaded. Richer data
//! (manifests, invocations, the facts of a run, progress events) crosses as JSON
//! strings so it can grow with `#[serde(default)]` instead of layout changes.
//!
//! Two tables can grow within a minor version: [`PluginMod`] (what a plugin offers)
//! and [`HostServices`] (what a host offers). Both are abi_stable *prefix types*:
//! fields are only ever appended, below the one marked `#[sabi(last_prefix_field)]`,
//! and a reader built against a newer version sees a field the other side lacks as
//! missing instead of reading past the end. [`HostContext`] itself never changes.
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
/// A *prefix type*, but frozen for the whole 0.2 series: abi_stable's load-time
/// check refuses a library whose root module has fewer fields than the host's, so a
/// field appended here would shut out every older 0.2 plugin. What a plugin offers
/// the host grows in the manifest JSON instead (new fields with serde defaults).
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
    /// This is the last field of version 0.2.0; new fields go below it.
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

/// Log levels of [`HostServices::log`], from most to least severe.
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

/// What the host hands a plugin for one run: which run it is, and the host's
/// services. This struct is frozen for the whole 0.2 series; everything that may
/// grow is behind [`HostContext::services`] (new services) or in the JSON that
/// [`HostServices::run_info`] returns (new facts).
#[repr(C)]
#[derive(StableAbi)]
pub struct HostContext {
    /// Opaque to plugins: lets the host find the state of this run in callbacks.
    pub handle: u64,
    /// The services of the host. Use them through [`crate::Context`], which checks
    /// that a service exists before calling it.
    ///
    /// Opaque to abi_stable's load-time layout check: that check assumes a prefix
    /// type is implemented by the library and refuses one with fewer fields than the
    /// host's — exactly an older plugin's view of a newer host's table. The fields of
    /// 0.2.0 never change; later ones are found missing at run time through the field
    /// count stored with the table.
    #[sabi(unsafe_opaque_field)]
    pub services: HostServicesRef,
}

/// The services a host offers plugins: a prefix type, so a 0.2.N host offers the
/// fields of 0.2.0 up to 0.2.N. Every callback takes the run's [`HostContext`] back
/// as its first argument.
///
/// Added after 0.2.0 (each reads as `None` from an older host): `progress` (0.2.1).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = HostServicesRef)))]
#[sabi(missing_field(option))]
pub struct HostServices {
    /// The facts of this run as JSON ([`crate::RunInfo`]): host and API versions,
    /// directories, verbosity, colour, `--json`, terminals, assume-yes.
    pub run_info: extern "C" fn(context: &HostContext) -> RString,
    /// Reads an environment variable, with the overrides of this run applied.
    pub env: extern "C" fn(context: &HostContext, key: RStr<'_>) -> ROption<RString>,
    /// Emits a log event through the host's one tracing subscriber.
    pub log: extern "C" fn(context: &HostContext, level: u8, target: RStr<'_>, message: RStr<'_>),
    /// Runs another `mosaic` command in this process: `argv_json` is a JSON array of
    /// the arguments after `mosaic`, `env_overrides_json` a JSON object of variables
    /// seen by that command's `env` (the process environment is not touched).
    /// Returns the command's exit code; an `RErr` means it could not be started at
    /// all (for example the plugin providing it is not installed).
    ///
    /// This is the last field of version 0.2.0; new services go below it.
    #[sabi(last_prefix_field)]
    pub invoke: extern "C" fn(
        context: &HostContext,
        argv_json: RStr<'_>,
        env_overrides_json: RStr<'_>,
    ) -> RResult<i32, RString>,
    /// Since 0.2.1. Drives a progress indicator the host draws on stderr (hidden with
    /// `-q`, `--json` or when stderr is not a terminal). `event_json` is a
    /// [`crate::ProgressEvent`]; a `start` event returns the new indicator's id,
    /// every other event returns 0.
    pub progress: extern "C" fn(context: &HostContext, event_json: RStr<'_>) -> u64,
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
