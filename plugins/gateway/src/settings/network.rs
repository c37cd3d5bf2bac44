//! Network checks of settings: whether a bind address is exposed or already taken,
//! and the shape of the browser origin and of the team tier's service URLs. Errors
//! never repeat a URL's password.

use std::net::{IpAddr, SocketAddr, TcpListener};

use anyhow::{anyhow, bail, Result};

use mosaic_plugin_api::sdk::config_check;

use super::redact::redact_url;

/// Whether binding `address` exposes the daemon beyond this machine.
pub fn is_exposed(address: IpAddr) -> bool {
    !address.is_loopback()
}

/// Fails when `address` cannot be bound right now (another program holds the port).
pub fn check_port_free(address: SocketAddr) -> Result<()> {
    match TcpListener::bind(address) {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "port {} on {} is already in use by another program; choose another port \
             with --port or MOSAIC_GATEWAY_PORT",
            address.port(),
            address.ip()
        ),
        Err(error) => bail!(
            "cannot bind port {} on {}: {error}; choose another address with --host or \
             another port with --port",
            address.port(),
            address.ip()
        ),
    }
}

/// A browser origin: `http` or `https`, a host, an optional port, nothing else.
/// Returns it normalised (lower-case scheme and host, no trailing slash). The SDK's
/// check, as `mosaic config set` applies it.
pub fn validate_origin(text: &str) -> Result<String> {
    config_check::origin(text)
        .map_err(|reason| anyhow!("invalid origin `{}`: {reason}", text.trim()))
}

/// A service URL such as `postgres://user:pass@host:5432/db`: one of `schemes`, and
/// a host (the SDK's check, as `mosaic config set` applies it). Errors never repeat
/// the URL's password.
pub fn validate_service_url(text: &str, schemes: &[&str]) -> Result<()> {
    config_check::service_url(text, schemes)
        .map_err(|reason| anyhow!("malformed URL `{}`: {reason}", redact_url(text.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let message = check_port_free(address).unwrap_err().to_string();
        assert!(
            message.contains(&format!(
                "port {} on 127.0.0.1 is already in use",
                address.port()
            )),
            "{message}"
        );
        drop(listener);
        check_port_free(address).unwrap();
    }

    #[test]
    fn origin_errors_name_the_origin() {
        // What is a valid origin is tested with the SDK's check; this wrapper adds
        // the value to the reason.
        assert_eq!(
            validate_origin(" http://localhost:3000 ").unwrap(),
            "http://localhost:3000"
        );
        let message = validate_origin("http://a/b").unwrap_err().to_string();
        assert!(
            message.starts_with("invalid origin `http://a/b`: "),
            "{message}"
        );
    }

    #[test]
    fn service_urls_are_checked_and_never_echo_passwords() {
        validate_service_url(
            "postgres://mosaic:pw@db.internal:5432/mosaic",
            &["postgres"],
        )
        .unwrap();
        validate_service_url("redis://127.0.0.1:6379", &["redis", "rediss"]).unwrap();
        let message =
            validate_service_url("mysql://root:hunter2@db/x", &["postgres", "postgresql"])
                .unwrap_err()
                .to_string();
        assert!(message.contains("postgres or postgresql"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(validate_service_url("not-a-url", &["postgres"]).is_err());
        assert!(validate_service_url("postgres://:5432/x", &["postgres"]).is_err());
        assert!(validate_service_url("postgres://h:port/x", &["postgres"]).is_err());
    }
}
