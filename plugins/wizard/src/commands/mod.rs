//! One module per command.

pub mod wizard;
