//! Plugin distribution: publisher keys, signed plugin indexes, and what the
//! `plugins` built-ins that publish and install plugins by name share.
//!
//! - [`signing`]: ed25519 key files (`plugins keygen`), signatures and fingerprints;
//! - [`index`]: the index file format (`mosaic-plugin-index/1`), its checks, the
//!   exact bytes a publisher signs for a release, and this host's target triple.
//!
//! - [`sources`], [`download`], [`select`], [`trust_store`], [`provenance`]: the
//!   user side — configured indexes, fetching, choosing a release, trusted keys, and
//!   where an installed plugin came from.
//!
//! Nothing here loads a plugin; vetting a library stays with the loader.

pub mod download;
pub mod index;
pub mod provenance;
pub mod select;
pub mod signing;
pub mod sources;
pub mod trust_store;

/// Lower-case hex digits of `bytes` (sha256 sums as indexes and records write them).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
