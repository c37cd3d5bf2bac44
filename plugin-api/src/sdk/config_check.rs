//! The checks of config values declared with [`ValueCheck`] in a plugin's manifest
//! (since 0.2.2), written once: `mosaic config set` applies them before it writes a
//! value, and plugins apply the same functions when they read one, so the two never
//! disagree.
//!
//! Every error is the explanation alone, starting with what is wrong or with
//! "expected …" (`expected a whole number from 1 to 65535`); the caller adds the key
//! and, unless the value is a secret, the value. No error here repeats the value, so
//! none can leak a secret.

use std::net::IpAddr;

use serde_json::Value;

use crate::spec::ValueCheck;

/// The TCP port range: 1 to 65535.
pub const PORT_RANGE: (i64, i64) = (1, 65535);

/// Checks `value` against `check`. [`ValueCheck::Unknown`] (a kind from a newer
/// plugin) accepts everything.
pub fn check_value(check: &ValueCheck, value: &Value) -> Result<(), String> {
    match check {
        ValueCheck::Integer { min, max } => {
            let number = integer_of(value).ok_or_else(|| expected(check))?;
            in_bounds(number, *min, *max)
                .then_some(())
                .ok_or_else(|| expected(check))
        }
        ValueCheck::Number { min, max } => {
            let number = number_of(value).ok_or_else(|| expected(check))?;
            let low = min.is_none_or(|min| number >= min);
            let high = max.is_none_or(|max| number <= max);
            (low && high).then_some(()).ok_or_else(|| expected(check))
        }
        ValueCheck::Boolean => value
            .is_boolean()
            .then_some(())
            .ok_or_else(|| expected(check)),
        ValueCheck::Text { max_len, non_blank } => {
            let text = value.as_str().ok_or_else(|| expected(check))?;
            if *non_blank && text.trim().is_empty() {
                return Err(format!("it is blank; {}", expected(check)));
            }
            match max_len {
                Some(max_len) if text.chars().count() as u64 > *max_len => {
                    Err(format!("it is too long; {}", expected(check)))
                }
                _ => Ok(()),
            }
        }
        ValueCheck::Choice { choices } => {
            let text = value.as_str().ok_or_else(|| expected(check))?;
            choice(text, choices).map(|_| ())
        }
        ValueCheck::Url { schemes } => {
            let text = value.as_str().ok_or_else(|| expected(check))?;
            let schemes: Vec<&str> = schemes.iter().map(String::as_str).collect();
            service_url(text, &schemes)
        }
        ValueCheck::Origin => {
            let text = value.as_str().ok_or_else(|| expected(check))?;
            origin(text).map(|_| ())
        }
        ValueCheck::IpAddress => {
            let text = value.as_str().ok_or_else(|| expected(check))?;
            ip_address(text).map(|_| ())
        }
        ValueCheck::List { item } => {
            let items = value.as_array().ok_or_else(|| expected(check))?;
            if let Some(item) = item {
                for (index, value) in items.iter().enumerate() {
                    check_value(item, value)
                        .map_err(|error| format!("item {}: {error}", index + 1))?;
                }
            }
            Ok(())
        }
        ValueCheck::Unknown => Ok(()),
    }
}

/// "expected …": what `check` accepts, in words.
pub fn expected(check: &ValueCheck) -> String {
    format!("expected {}", describe(check))
}

/// What `check` accepts, in words: `a whole number from 1 to 65535`.
pub fn describe(check: &ValueCheck) -> String {
    match check {
        ValueCheck::Integer { min, max } => match (min, max) {
            (Some(min), Some(max)) => format!("a whole number from {min} to {max}"),
            (Some(min), None) => format!("a whole number of at least {min}"),
            (None, Some(max)) => format!("a whole number of at most {max}"),
            (None, None) => "a whole number".to_string(),
        },
        ValueCheck::Number { min, max } => match (min, max) {
            (Some(min), Some(max)) => format!("a number from {min} to {max}"),
            (Some(min), None) => format!("a number of at least {min}"),
            (None, Some(max)) => format!("a number of at most {max}"),
            (None, None) => "a number".to_string(),
        },
        ValueCheck::Boolean => "true or false".to_string(),
        ValueCheck::Text { max_len, non_blank } => {
            let blank = if *non_blank { "non-blank " } else { "" };
            match max_len {
                Some(max_len) => format!("{blank}text of at most {max_len} characters"),
                None => format!("{blank}text"),
            }
        }
        ValueCheck::Choice { choices } => format!("one of: {}", choices.join(", ")),
        ValueCheck::Url { schemes } => format!(
            "a URL such as {}://host:port",
            schemes.first().map(String::as_str).unwrap_or("scheme")
        ),
        ValueCheck::Origin => ORIGIN_EXPECTED.to_string(),
        ValueCheck::IpAddress => IP_EXPECTED.to_string(),
        ValueCheck::List { item } => match item {
            Some(item) => format!("a JSON list, each item {}", describe(item)),
            None => "a JSON list".to_string(),
        },
        ValueCheck::Unknown => "anything (a check this version does not know)".to_string(),
    }
}

/// Whether a declared check makes sense: bounds in order, choices and schemes not
/// empty, and `default` (when given) passing it. For the manifest validator.
pub fn check_is_sane(check: &ValueCheck, default: Option<&Value>) -> Result<(), String> {
    match check {
        ValueCheck::Integer {
            min: Some(min),
            max: Some(max),
        } if min > max => return Err(format!("its minimum {min} is above its maximum {max}")),
        ValueCheck::Number { min, max } => {
            if min.is_some_and(|min| !min.is_finite()) || max.is_some_and(|max| !max.is_finite()) {
                return Err("its bounds must be finite numbers".to_string());
            }
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    return Err(format!("its minimum {min} is above its maximum {max}"));
                }
            }
        }
        ValueCheck::Choice { choices } if choices.is_empty() => {
            return Err("it has no choices".to_string())
        }
        ValueCheck::Url { schemes } if schemes.is_empty() => {
            return Err("it allows no URL scheme".to_string())
        }
        ValueCheck::List { item: Some(item) } => check_is_sane(item, None)?,
        _ => {}
    }
    if let Some(default) = default {
        check_value(check, default).map_err(|error| format!("its default fails it: {error}"))?;
    }
    Ok(())
}

/// A JSON integer, or text holding one (`15`, `" 15 "`, `-3`), as an i64.
pub fn integer_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => parse_integer(text),
        _ => None,
    }
}

/// A JSON number, or text holding one, as a finite f64.
pub fn number_of(value: &Value) -> Option<f64> {
    let number = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    number.is_finite().then_some(number)
}

fn parse_integer(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn in_bounds(number: i64, min: Option<i64>, max: Option<i64>) -> bool {
    min.is_none_or(|min| number >= min) && max.is_none_or(|max| number <= max)
}

/// Text holding a whole number from `min` to `max`.
pub fn integer_in(text: &str, min: i64, max: i64) -> Result<i64, String> {
    parse_integer(text)
        .filter(|number| in_bounds(*number, Some(min), Some(max)))
        .ok_or_else(|| expected(&ValueCheck::integer(min, max)))
}

/// Text holding a TCP port (1 to 65535).
pub fn port(text: &str) -> Result<u16, String> {
    let (min, max) = PORT_RANGE;
    integer_in(text, min, max).map(|port| port as u16)
}

/// One of `choices` (surrounding spaces ignored); returns the choice.
pub fn choice<'a, S: AsRef<str>>(text: &str, choices: &'a [S]) -> Result<&'a str, String> {
    let text = text.trim();
    choices
        .iter()
        .map(AsRef::as_ref)
        .find(|choice| *choice == text)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(AsRef::as_ref).collect();
            format!("expected one of: {}", names.join(", "))
        })
}

const IP_EXPECTED: &str = "an IP address such as 127.0.0.1 (loopback) or 0.0.0.0 (every interface)";

/// An IPv4 or IPv6 address (surrounding spaces ignored).
pub fn ip_address(text: &str) -> Result<IpAddr, String> {
    text.trim()
        .parse::<IpAddr>()
        .map_err(|_| format!("expected {IP_EXPECTED}"))
}

const ORIGIN_EXPECTED: &str =
    "an origin such as http://localhost:3000 (scheme, host and optional port; no path)";

/// A browser origin: `http` or `https`, a host, an optional port, nothing else (no
/// `*`, no path, no user). Returns it normalised: lower case, no trailing slash.
pub fn origin(text: &str) -> Result<String, String> {
    let text = text.trim();
    let expected = format!("expected {ORIGIN_EXPECTED}");
    if text.contains('*') {
        return Err(format!("a wildcard `*` is not allowed; {expected}"));
    }
    let (scheme, rest) = text.split_once("://").ok_or_else(|| expected.clone())?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!("the scheme must be http or https; {expected}"));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty()
        || authority.contains(['/', '?', '#', '@', ' '])
        || authority.chars().any(|c| c.is_control())
    {
        return Err(expected);
    }
    let (host, port_text) = split_host_port(authority).ok_or_else(|| expected.clone())?;
    let host_ok = !host.is_empty()
        && (host.starts_with('[')
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    if !host_ok {
        return Err(format!("`{host}` is not a host name; {expected}"));
    }
    if let Some(port_text) = port_text {
        port(port_text).map_err(|error| format!("invalid port `{port_text}`: {error}"))?;
    }
    Ok(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// A service URL such as `postgres://user:pass@host:5432/db`: one of `schemes` (lower
/// case), and a host. The error never repeats any part of the URL but the port.
pub fn service_url(text: &str, schemes: &[&str]) -> Result<(), String> {
    let text = text.trim();
    let expected = format!(
        "expected a URL such as {}://host:port",
        schemes.first().copied().unwrap_or("scheme")
    );
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(expected);
    };
    if !schemes.contains(&scheme.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "the scheme must be {}; {expected}",
            schemes.join(" or ")
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let Some((host, port_text)) = split_host_port(host_port) else {
        return Err(expected);
    };
    if host.is_empty() || host.contains(char::is_whitespace) || text.contains(char::is_whitespace) {
        return Err(format!("no host; {expected}"));
    }
    if let Some(port_text) = port_text {
        port(port_text).map_err(|error| format!("invalid port `{port_text}`: {error}"))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_are_numbers_or_digit_text_within_bounds() {
        let port = ValueCheck::integer(1, 65535);
        for good in [json!(1), json!(65535), json!("8080"), json!(" 15 ")] {
            assert_eq!(check_value(&port, &good), Ok(()), "{good}");
        }
        for bad in [
            json!(0),
            json!(99999),
            json!(1.5),
            json!("x"),
            json!(true),
            json!(-1),
        ] {
            assert_eq!(
                check_value(&port, &bad),
                Err("expected a whole number from 1 to 65535".to_string()),
                "{bad}"
            );
        }
        assert_eq!(self::port("443"), Ok(443));
        assert!(self::port("0").is_err());
    }

    #[test]
    fn text_choices_and_lists() {
        let tier = ValueCheck::choice(&["local", "team"]);
        assert_eq!(check_value(&tier, &json!("team")), Ok(()));
        assert_eq!(
            check_value(&tier, &json!("nope")),
            Err("expected one of: local, team".to_string())
        );
        let name = ValueCheck::non_blank_text(5);
        assert!(check_value(&name, &json!("  "))
            .unwrap_err()
            .contains("blank"));
        assert!(check_value(&name, &json!("abcdef"))
            .unwrap_err()
            .contains("too long"));
        assert_eq!(check_value(&name, &json!("abc")), Ok(()));
        let list = ValueCheck::list_of(ValueCheck::choice(&["a"]));
        assert_eq!(check_value(&list, &json!(["a", "a"])), Ok(()));
        assert_eq!(
            check_value(&list, &json!(["a", "b"])),
            Err("item 2: expected one of: a".to_string())
        );
        assert!(check_value(&list, &json!("a")).is_err());
        assert_eq!(check_value(&ValueCheck::Boolean, &json!(true)), Ok(()));
        assert!(check_value(&ValueCheck::Boolean, &json!("yes")).is_err());
        assert_eq!(
            check_value(&ValueCheck::Unknown, &json!({"any": 1})),
            Ok(())
        );
        let ratio = ValueCheck::number(0.0, 1.0);
        assert_eq!(check_value(&ratio, &json!(0.5)), Ok(()));
        assert!(check_value(&ratio, &json!(2)).is_err());
    }

    #[test]
    fn origins_are_exact_browser_origins() {
        assert_eq!(
            origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(
            origin("HTTPS://App.Example.com/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(origin("http://[::1]:8080").unwrap(), "http://[::1]:8080");
        assert!(origin("*").unwrap_err().contains("wildcard"));
        for bad in [
            "localhost:3000",
            "ftp://x",
            "http://",
            "http://a/b",
            "http://a:99999",
            "http://u@a",
            "not a url",
            "http://a b",
            "https://*.example.com",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_urls_never_echo_passwords() {
        service_url(
            "postgres://mosaic:pw@db.internal:5432/mosaic",
            &["postgres"],
        )
        .unwrap();
        service_url("redis://127.0.0.1:6379", &["redis", "rediss"]).unwrap();
        let message =
            service_url("mysql://root:hunter2@db/x", &["postgres", "postgresql"]).unwrap_err();
        assert!(message.contains("postgres or postgresql"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(service_url("not-a-url", &["postgres"]).is_err());
        assert!(service_url("postgres://:5432/x", &["postgres"]).is_err());
        assert!(service_url("postgres://h:port/x", &["postgres"]).is_err());
        let check = ValueCheck::url(&["postgres"]);
        assert!(check_value(&check, &json!("postgres://u:p@h/x")).is_ok());
    }

    #[test]
    fn insane_declarations_are_named() {
        assert!(check_is_sane(&ValueCheck::integer(5, 1), None)
            .unwrap_err()
            .contains("above its maximum"));
        assert!(check_is_sane(&ValueCheck::Choice { choices: vec![] }, None).is_err());
        assert!(check_is_sane(&ValueCheck::Url { schemes: vec![] }, None).is_err());
        assert!(check_is_sane(&ValueCheck::integer(1, 5), Some(&json!(9)))
            .unwrap_err()
            .contains("its default fails it"));
        assert_eq!(
            check_is_sane(&ValueCheck::integer(1, 5), Some(&json!(3))),
            Ok(())
        );
        assert_eq!(check_is_sane(&ValueCheck::Unknown, Some(&json!(3))), Ok(()));
    }

    #[test]
    fn an_unknown_kind_reads_as_unknown() {
        let check: ValueCheck =
            serde_json::from_value(json!({"kind": "regex", "pattern": "^a+$"})).unwrap();
        assert_eq!(check, ValueCheck::Unknown);
        let known: ValueCheck =
            serde_json::from_value(json!({"kind": "integer", "min": 1})).unwrap();
        assert_eq!(known, ValueCheck::integer_at_least(1));
        let round = serde_json::to_value(ValueCheck::choice(&["a"])).unwrap();
        assert_eq!(round, json!({"kind": "choice", "choices": ["a"]}));
    }
}
