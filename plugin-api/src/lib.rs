//! `mosaic-plugin-api`: the interface between the `mosaic` host and its plugins, and
//! the SDK plugin authors build on.
//!
//! Two halves:
//!
//! - **The ABI** ([`abi`], [`spec`]): what crosses the dynamic-library boundary. It
//!   is small and versioned; this crate's version *is* the ABI version, and
//!   `abi_stable` refuses a plugin built against an incompatible one. See the
//!   crate README for the policy.
//! - **The SDK** ([`sdk`], [`Plugin`], [`export_plugin!`], and with features,
//!   [`cli`] and `testing`): linked statically into each plugin (and the host), so
//!   shared plumbing — atomic writes, locks, tables, JSON output, durations, the
//!   never-prompt rule, config access — is written once.
//!
//! A plugin is a `cdylib` crate named `mosaic_<name>` that implements [`Plugin`] and
//! calls [`export_plugin!`]; see `examples/hello-plugin` in the repository.

pub mod abi;
#[cfg(feature = "cli")]
pub mod cli;
pub mod sdk;
pub mod spec;
#[cfg(feature = "testing")]
pub mod testing;

pub use abi::{HostContext, PluginMod, PluginModRef, RunFailure, API_VERSION};
pub use anyhow;
pub use sdk::context::Context;
pub use sdk::plugin::Plugin;
pub use serde_json;
pub use spec::{
    ArgKind, ArgSpec, CommandSpec, ConfigKeySpec, Example, Invocation, Manifest, Mount,
};
pub use tracing;
