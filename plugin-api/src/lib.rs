//! `mosaic-plugin-api`: the interface between the `mosaic` host and its plugins, and
//! the SDK plugin authors build on.
//!
//! Two halves:
//!
//! - **The ABI** ([`abi`], [`spec`], [`services`]): what crosses the
//!   dynamic-library boundary. It is small and versioned; this crate's version *is*
//!   the ABI version, and `abi_stable` refuses a plugin built against an
//!   incompatible one. See the crate README for the policy.
//! - **The SDK** ([`Plugin`], [`command`], [`sdk`], [`validate`],
//!   [`export_plugin!`], and with features, `cli` and `testing`): linked statically
//!   into each plugin (and the host), so shared plumbing — commands declared once,
//!   typed options, config access, atomic writes, locks, tables, JSON output,
//!   durations, the never-prompt rule, the manifest validator — is written once.
//!
//! A plugin is a `cdylib` crate named `mosaic_<name>` that implements [`Plugin`]
//! (its manifest and its [`Commands`]) and calls [`export_plugin!`]; see
//! `examples/hello-plugin` in the repository.

pub mod abi;
#[cfg(feature = "cli")]
pub mod cli;
pub mod command;
pub mod sdk;
pub mod services;
pub mod spec;
#[cfg(feature = "testing")]
pub mod testing;
pub mod validate;

pub use abi::{HostContext, HostServices, PluginMod, PluginModRef, RunFailure, API_VERSION};
pub use anyhow;
pub use command::{Command, CommandTable, Commands, NoOptions};
pub use sdk::context::{Context, Progress};
pub use sdk::plugin::Plugin;
pub use serde;
pub use serde_json;
pub use services::{ProgressEvent, RunInfo, Service};
pub use spec::{
    ArgKind, ArgSpec, CommandSpec, ConfigKeySpec, Example, Invocation, Manifest, Mount, ValueCheck,
    ValueType,
};
pub use tracing;
