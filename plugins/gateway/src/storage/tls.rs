//! TLS for the team tier's connections to PostgreSQL: rustls (with the ring crypto
//! provider, so no OpenSSL is linked), trusting the system's root certificates.
//!
//! Used when the database URL asks for it (`sslmode=prefer`, the default, tries TLS
//! and falls back to plain TCP; `sslmode=require` insists). Valkey's `rediss://`
//! URLs use the same rustls stack inside the `redis` crate.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use rustls::ClientConfig;

/// A rustls client configuration with the system's root certificates.
pub fn client_config() -> Result<ClientConfig> {
    static ROOTS: OnceLock<Result<rustls::RootCertStore, String>> = OnceLock::new();
    let roots = ROOTS
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            let mut roots = rustls::RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
            if added == 0 && !loaded.errors.is_empty() {
                return Err(format!(
                    "cannot read the system's root certificates: {}",
                    loaded
                        .errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
            Ok(roots)
        })
        .clone()
        .map_err(|error| anyhow!("{error}"))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| anyhow!("cannot set up TLS: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}
