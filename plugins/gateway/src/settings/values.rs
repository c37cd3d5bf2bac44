//! Parsing single setting values that need no network: ports and bind addresses.
//! Each error names the bad value and what is expected; the caller prefixes where
//! the value came from (flag, variable, config.json).

use std::net::IpAddr;

use anyhow::{anyhow, Result};
use mosaic_plugin_api::sdk::config_check;

/// A TCP port from 1 to 65535 (the SDK's check, as `mosaic config set` applies it).
pub fn parse_port(text: &str) -> Result<u16> {
    config_check::port(text).map_err(|reason| anyhow!("invalid port `{}`: {reason}", text.trim()))
}

/// An IP address to bind (the SDK's check, as `mosaic config set` applies it).
pub fn parse_host(text: &str) -> Result<IpAddr> {
    config_check::ip_address(text)
        .map_err(|reason| anyhow!("invalid address `{}`: {reason}", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_checked() {
        assert_eq!(parse_port("1").unwrap(), 1);
        assert_eq!(parse_port(" 65535 ").unwrap(), 65535);
        for bad in ["0", "65536", "-1", "http", ""] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_are_ip_addresses() {
        assert_eq!(parse_host(" ::1 ").unwrap().to_string(), "::1");
        let message = parse_host("localhost").unwrap_err().to_string();
        assert!(
            message.starts_with("invalid address `localhost`"),
            "{message}"
        );
    }
}
