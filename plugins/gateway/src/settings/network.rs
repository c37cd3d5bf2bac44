//! Network checks of settings: whether a bind address is exposed or already taken,
//! and the shape of the browser origin and of the team tier's service URLs. Errors
//! never repeat a URL's password.

use std::net::{IpAddr, SocketAddr, TcpListener};

use anyhow::{anyhow, bail, Result};

use super::redact::redact_url;
use super::values::parse_port;

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
/// Returns it normalised (lower-case scheme and host, no trailing slash).
pub fn validate_origin(text: &str) -> Result<String> {
    let text = text.trim();
    let expected = "expected an origin such as http://localhost:3000 (scheme, host and \
                    optional port; no path)";
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| anyhow!("invalid origin `{text}`: {expected}"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        bail!("invalid origin `{text}`: the scheme must be http or https; {expected}");
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty()
        || authority.contains(['/', '?', '#', '@', ' '])
        || authority.chars().any(|c| c.is_control())
    {
        bail!("invalid origin `{text}`: {expected}");
    }
    let (host, port) =
        split_host_port(authority).ok_or_else(|| anyhow!("invalid origin `{text}`: {expected}"))?;
    let host_ok = !host.is_empty()
        && (host.starts_with('[')
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    if !host_ok {
        bail!("invalid origin `{text}`: `{host}` is not a host name; {expected}");
    }
    if let Some(port) = port {
        parse_port(port).map_err(|error| anyhow!("invalid origin `{text}`: {error}"))?;
    }
    Ok(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// Splits `host[:port]` (with `[v6]` hosts); `None` when malformed.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(after_bracket) = authority.strip_prefix('[') {
        let end = after_bracket.find(']')?;
        let host = &authority[..end + 2];
        let rest = &after_bracket[end + 1..];
        return match rest {
            "" => Some((host, None)),
            _ => rest.strip_prefix(':').map(|port| (host, Some(port))),
        };
    }
    match authority.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

/// A service URL such as `postgres://user:pass@host:5432/db`: one of `schemes`, and
/// a host. Errors never repeat the URL's password.
pub fn validate_service_url(text: &str, schemes: &[&str]) -> Result<()> {
    let text = text.trim();
    let shown = redact_url(text);
    let expected = format!(
        "expected a URL such as {}://host:port",
        schemes.first().copied().unwrap_or("scheme")
    );
    let Some((scheme, rest)) = text.split_once("://") else {
        bail!("malformed URL `{shown}`: {expected}");
    };
    if !schemes.contains(&scheme.to_ascii_lowercase().as_str()) {
        bail!(
            "malformed URL `{shown}`: the scheme must be {}; {expected}",
            schemes.join(" or ")
        );
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let Some((host, port)) = split_host_port(host_port) else {
        bail!("malformed URL `{shown}`: {expected}");
    };
    if host.is_empty() || host.contains(char::is_whitespace) || text.contains(char::is_whitespace) {
        bail!("malformed URL `{shown}`: no host; {expected}");
    }
    if let Some(port) = port {
        parse_port(port).map_err(|error| anyhow!("malformed URL `{shown}`: {error}"))?;
    }
    Ok(())
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
    fn origins_are_exact_browser_origins() {
        assert_eq!(
            validate_origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(
            validate_origin("HTTPS://App.Example.com/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            validate_origin("http://[::1]:8080").unwrap(),
            "http://[::1]:8080"
        );
        for bad in [
            "localhost:3000",
            "ftp://x",
            "http://",
            "http://a/b",
            "http://a:99999",
            "http://u@a",
            "not a url",
            "http://a b",
        ] {
            assert!(validate_origin(bad).is_err(), "{bad}");
        }
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
