//! The SDK: what plugins (and the host) link statically and share, so the same
//! plumbing is written once. Nothing here crosses the ABI.

pub mod account;
pub mod activity;
pub mod claude;
pub mod config;
pub mod config_check;
pub mod context;
pub mod fs;
pub mod log_forward;
pub mod output;
pub mod plugin;
pub mod programs;
pub mod redact;
pub mod term;
