//! One module per command: its declaration, its typed options and its `run`.

pub mod dirs;
pub mod hello;
