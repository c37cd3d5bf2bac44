//! One module per command.

pub mod dirs;
pub mod hello;
