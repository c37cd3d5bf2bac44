//! Parsing single setting values that need no network: ports and bind addresses.
//! Each error names the bad value and what is expected; the caller prefixes where
//! the value came from (flag, variable, config.json).

use std::net::IpAddr;

use anyhow::{anyhow, bail, Result};

/// A TCP port from 1 to 65535.
pub fn parse_port(text: &str) -> Result<u16> {
    match text.trim().parse::<u32>() {
        Ok(port @ 1..=65535) => Ok(port as u16),
        _ => bail!(
            "invalid port `{}`: expected a number from 1 to 65535",
            text.trim()
        ),
    }
}

/// An IP address to bind.
pub fn parse_host(text: &str) -> Result<IpAddr> {
    text.trim().parse::<IpAddr>().map_err(|_| {
        anyhow!(
            "invalid address `{}`: expected an IP address such as 127.0.0.1 (loopback) \
             or 0.0.0.0 (every interface)",
            text.trim()
        )
    })
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
