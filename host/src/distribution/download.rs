//! Fetching what a plugin index points at: index documents and release files, over
//! `https://`, plain `http://` to a loopback address only, or `file://`.
//!
//! A release is streamed into a temporary file in the directory it will be installed
//! in (so the final step is one rename on the same filesystem), hashed as it
//! arrives, and refused the moment it is longer than the index says, or at the end
//! when it is shorter or its sha256 differs. Connecting may take 10 s; a server that
//! sends nothing for 30 s (`MOSAIC_DOWNLOAD_TIMEOUT_SECS`) is given up on. What is
//! checked after the bytes are in (signature, vetting) is the caller's business; the
//! temporary file is removed unless the caller keeps it.
//!
//! Not here: which URLs the user configured (`sources`), which release to take
//! (`select`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use sha2::{Digest, Sha256};

use super::hex;

/// How long connecting to a server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a server may send nothing before the download is given up, unless
/// `MOSAIC_DOWNLOAD_TIMEOUT_SECS` says otherwise.
const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment variable that overrides [`DEFAULT_STALL_TIMEOUT`] (seconds).
pub const STALL_TIMEOUT_VARIABLE: &str = "MOSAIC_DOWNLOAD_TIMEOUT_SECS";

/// The largest index document read (a 1,000-plugin index is well under 2 MB).
pub const MAX_INDEX_BYTES: u64 = 64 * 1024 * 1024;

static DOWNLOAD_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The time limits of one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long connecting may take.
    pub connect: Duration,
    /// How long the server may send nothing.
    pub stall: Duration,
}

impl Limits {
    /// The limits, with the stall timeout from `MOSAIC_DOWNLOAD_TIMEOUT_SECS` when
    /// it is set (`variable` is its value).
    pub fn from_variable(variable: Option<String>) -> Result<Limits> {
        let stall = match variable.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_STALL_TIMEOUT,
            Some(text) => match text.parse::<u64>() {
                Ok(seconds) if seconds > 0 => Duration::from_secs(seconds),
                _ => bail!(
                    "{STALL_TIMEOUT_VARIABLE}={text} is not a number of seconds above 0; \
                     unset it or set e.g. {STALL_TIMEOUT_VARIABLE}=30"
                ),
            },
        };
        Ok(Limits {
            connect: CONNECT_TIMEOUT,
            stall,
        })
    }
}

/// Where a URL points, once it passed the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `https://…`, or `http://` to a loopback address.
    Http(String),
    /// `file:///absolute/path`.
    File(PathBuf),
}

/// Checks a URL against the policy: `https://`, `file://` with an absolute path,
/// and plain `http://` only to a loopback address (`127.0.0.0/8`, `::1`,
/// `localhost`) — anything else could be read or changed on the way. The error
/// names the URL.
pub fn check_url(url: &str) -> Result<Location> {
    let Some((scheme, rest)) = url.split_once("://") else {
        bail!("{url} is not a URL: use https://…, file:///absolute/path or http://127.0.0.1…");
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {
            if host_of(rest).is_empty() {
                bail!("{url} has no host");
            }
            Ok(Location::Http(url.to_string()))
        }
        "http" => {
            let host = host_of(rest);
            if is_loopback_host(host) {
                Ok(Location::Http(url.to_string()))
            } else {
                bail!(
                    "{url} is refused: plain http:// is allowed only to this machine \
                     (127.0.0.1, ::1, localhost); use https://"
                )
            }
        }
        "file" => {
            // `file:///path` (empty host) or `file://localhost/path`.
            let path = rest.strip_prefix("localhost").unwrap_or(rest);
            if !path.starts_with('/') {
                bail!("{url} is refused: a file:// URL needs an absolute path (file:///…)");
            }
            Ok(Location::File(PathBuf::from(percent_decode(path))))
        }
        other => bail!(
            "{url} is refused: scheme `{other}` is not supported; use https://, \
             file:///absolute/path, or http:// to 127.0.0.1"
        ),
    }
}

/// The host of the part of a URL after `scheme://`: without user info, port and
/// the brackets of an IPv6 address.
fn host_of(after_scheme: &str) -> &str {
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host_and_port = authority.rsplit('@').next().unwrap_or_default();
    if let Some(bracketed) = host_and_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or_default();
    }
    host_and_port.split(':').next().unwrap_or_default()
}

/// Whether `host` is this machine: `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Decodes `%XX` escapes in a file URL's path.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            if let Some(byte) = std::str::from_utf8(&bytes[index + 1..index + 3])
                .ok()
                .and_then(|digits| u8::from_str_radix(digits, 16).ok())
            {
                decoded.push(byte);
                index += 3;
                continue;
            }
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Resolves `reference` (a release's `url`) against the URL of the index that
/// lists it: absolute URLs stay as they are; `/path` keeps the index's scheme and
/// host; anything else is relative to the index's directory.
pub fn resolve_url(index_url: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_string();
    }
    let Some((scheme, rest)) = index_url.split_once("://") else {
        return reference.to_string();
    };
    let path_start = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..path_start];
    if reference.starts_with('/') {
        return format!("{scheme}://{authority}{reference}");
    }
    let path = rest[path_start..]
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    let directory = match path.rfind('/') {
        Some(slash) => &path[..=slash],
        None => "/",
    };
    format!("{scheme}://{authority}{directory}{reference}")
}

/// An HTTP agent with the limits; no proxy for loopback addresses. Redirects keep
/// the rule of [`check_url`]: from `https://` they are followed to `https://` only,
/// and plain `http://` (loopback) is never redirected anywhere.
fn agent(url: &str, limits: Limits) -> ureq::Agent {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let mut config = ureq::Agent::config_builder()
        .timeout_connect(Some(limits.connect))
        .timeout_recv_response(Some(limits.stall))
        .timeout_per_read(Some(limits.stall))
        .user_agent(concat!("mosaic/", env!("CARGO_PKG_VERSION")));
    if scheme.eq_ignore_ascii_case("https") {
        config = config.https_only(true);
    } else {
        config = config.max_redirects(0);
    }
    if is_loopback_host(host_of(rest)) {
        config = config.proxy(None);
    }
    config.build().new_agent()
}

/// One line for a failed HTTP request of `url`.
fn http_error(url: &str, error: ureq::Error, limits: Limits) -> anyhow::Error {
    match error {
        ureq::Error::StatusCode(status) => {
            anyhow!(
                "{url}: the server answered HTTP {status}{}",
                status_hint(status)
            )
        }
        ureq::Error::Timeout(_) => anyhow!(
            "{url}: timed out (nothing received for {} s; {STALL_TIMEOUT_VARIABLE} sets the limit)",
            limits.stall.as_secs()
        ),
        ureq::Error::Io(error) => io_error(url, &error, limits),
        ureq::Error::HostNotFound => anyhow!("{url}: host not found"),
        ureq::Error::TooManyRedirects => anyhow!("{url}: too many redirects"),
        ureq::Error::RequireHttpsOnly(target) => {
            anyhow!("{url}: the server redirects to {target}, which is not https://; refused")
        }
        ureq::Error::ConnectionFailed => anyhow!("{url}: cannot connect"),
        other => anyhow!("{url}: {}", one_line(&other.to_string())),
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        404 => " (not found: the index may be out of date)",
        500..=599 => " (a server error: try again later)",
        _ => "",
    }
}

/// One line for an error while reading `url`'s body.
fn io_error(url: &str, error: &io::Error, limits: Limits) -> anyhow::Error {
    if is_timeout(error) {
        anyhow!(
            "{url}: timed out (nothing received for {} s; {STALL_TIMEOUT_VARIABLE} sets the limit)",
            limits.stall.as_secs()
        )
    } else {
        anyhow!(
            "{url}: the transfer failed: {}",
            one_line(&error.to_string())
        )
    }
}

/// Whether a read failed because the server sent nothing for too long.
fn is_timeout(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::TimedOut
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
            .is_some_and(|inner| matches!(inner, ureq::Error::Timeout(_)))
}

fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

/// Opens a stream of `url`'s bytes.
fn open(url: &str, limits: Limits) -> Result<Box<dyn Read + Send>> {
    match check_url(url)? {
        Location::File(path) => {
            let file = File::open(&path)
                .with_context(|| format!("{url}: cannot read {}", path.display()))?;
            Ok(Box::new(file))
        }
        Location::Http(url) => {
            let response = agent(&url, limits)
                .get(&url)
                .call()
                .map_err(|error| http_error(&url, error, limits))?;
            // Only a plain http:// answer can still be a redirect (see `agent`).
            if response.status().is_redirection() {
                bail!(
                    "{url}: the server redirects elsewhere (HTTP {}); plain http:// (loopback \
                     only) is never redirected: use the final URL",
                    response.status().as_u16()
                );
            }
            Ok(Box::new(response.into_body().into_reader()))
        }
    }
}

/// Reads a whole document (an index) of at most `max_bytes`, as text.
pub fn fetch_text(url: &str, limits: Limits, max_bytes: u64) -> Result<String> {
    let mut reader = open(url, limits)?.take(max_bytes + 1);
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|error| io_error(url, &error, limits))?;
    if bytes.len() as u64 > max_bytes {
        bail!("{url}: larger than {max_bytes} bytes; is it really a plugin index?");
    }
    String::from_utf8(bytes).map_err(|_| anyhow!("{url}: not UTF-8 text"))
}

/// What a release is expected to be.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// Its length in bytes.
    pub size: u64,
    /// Its sha256, 64 lowercase hex digits.
    pub sha256: &'a str,
}

/// A downloaded file whose size and sha256 matched, in a temporary file next to
/// where it will be installed. Removed on drop unless [`Downloaded::persist`] moved it.
#[derive(Debug)]
pub struct Downloaded {
    temp: Option<PathBuf>,
}

impl Downloaded {
    /// The temporary file.
    pub fn path(&self) -> &Path {
        self.temp.as_deref().expect("a download not yet persisted")
    }

    /// Renames the file over `destination` (same directory: atomic) and makes the
    /// rename durable.
    pub fn persist(mut self, destination: &Path) -> Result<()> {
        let temp = self.temp.take().expect("a download not yet persisted");
        if let Err(error) = fs::rename(&temp, destination) {
            let _ = fs::remove_file(&temp);
            return Err(error).with_context(|| format!("cannot replace {}", destination.display()));
        }
        if let Some(directory) = destination.parent() {
            if let Ok(handle) = File::open(directory) {
                let _ = handle.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Downloaded {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
        }
    }
}

/// The prefix of the temporary files of downloads of `file_name`
/// (`.libmosaic_x.so.download.<pid>.<n>`), for sweeping those of dead processes.
pub fn temp_prefix(file_name: &str) -> String {
    format!(".{file_name}.download.")
}

/// Downloads `url` into a new temporary file in `directory` (named after
/// `file_name`), checking it against `expected` as it arrives; `progress` is told
/// the number of bytes so far. On any failure nothing is left behind.
pub fn download(
    url: &str,
    expected: Expected<'_>,
    directory: &Path,
    file_name: &str,
    limits: Limits,
    progress: &dyn Fn(u64),
) -> Result<Downloaded> {
    mosaic_plugin_api::sdk::fs::remove_stale_temp_files(directory, &temp_prefix(file_name));
    let mut reader = open(url, limits)?;
    let temp = directory.join(format!(
        "{}{}.{}",
        temp_prefix(file_name),
        std::process::id(),
        DOWNLOAD_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(&temp)
        .with_context(|| format!("cannot create a file in {}", directory.display()))?;
    // From here on, dropping `downloaded` removes the temporary file.
    let downloaded = Downloaded {
        temp: Some(temp.clone()),
    };
    file.set_permissions(fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot set the mode of {}", temp.display()))?;
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let count = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if is_timeout(&error) => return Err(io_error(url, &error, limits)),
            Err(error) => bail!(
                "{url}: truncated download: the transfer broke off after {received} of the \
                 {} bytes the index lists ({})",
                expected.size,
                one_line(&error.to_string())
            ),
        };
        received += count as u64;
        if received > expected.size {
            bail!(
                "{url}: the server sent more than the {} bytes the index lists; refused",
                expected.size
            );
        }
        hasher.update(&buffer[..count]);
        file.write_all(&buffer[..count])
            .with_context(|| format!("cannot write {}", temp.display()))?;
        progress(received);
    }
    if received < expected.size {
        bail!(
            "{url}: truncated download: got {received} of the {} bytes the index lists",
            expected.size
        );
    }
    let actual = hex(&hasher.finalize());
    if !actual.eq_ignore_ascii_case(expected.sha256) {
        bail!(
            "{url}: sha256 mismatch: the index lists {}, the download is {actual}; refused",
            expected.sha256
        );
    }
    file.sync_all()
        .with_context(|| format!("cannot write {}", temp.display()))?;
    Ok(downloaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_file_and_loopback_http_pass() {
        for url in [
            "https://plugins.example.org/index.json",
            "http://127.0.0.1:8080/index.json",
            "http://127.9.9.9/i.json",
            "http://[::1]:80/index.json",
            "http://localhost:1/index.json",
            "http://user@127.0.0.1/index.json",
        ] {
            assert!(matches!(check_url(url), Ok(Location::Http(_))), "{url}");
        }
        assert_eq!(
            check_url("file:///srv/index%20x.json").unwrap(),
            Location::File(PathBuf::from("/srv/index x.json"))
        );
        for url in [
            "http://example.org/index.json",
            "http://10.0.0.1/index.json",
            "http://127.0.0.1.evil.example/index.json",
            "http://localhost.example/i.json",
            "ftp://127.0.0.1/x",
            "file://relative/path",
            "index.json",
        ] {
            let error = check_url(url).unwrap_err().to_string();
            assert!(error.contains(url), "{url}: {error}");
        }
    }

    #[test]
    fn release_urls_resolve_against_the_index() {
        let index = "http://127.0.0.1:8000/dist/index.json";
        assert_eq!(
            resolve_url(index, "libmosaic_x.so"),
            "http://127.0.0.1:8000/dist/libmosaic_x.so"
        );
        assert_eq!(
            resolve_url(index, "/other/libmosaic_x.so"),
            "http://127.0.0.1:8000/other/libmosaic_x.so"
        );
        assert_eq!(
            resolve_url(index, "https://cdn.example/x.so"),
            "https://cdn.example/x.so"
        );
        assert_eq!(
            resolve_url("file:///srv/i.json", "a/x.so"),
            "file:///srv/a/x.so"
        );
    }

    #[test]
    fn the_stall_timeout_comes_from_the_variable() {
        assert_eq!(
            Limits::from_variable(None).unwrap().stall,
            DEFAULT_STALL_TIMEOUT
        );
        assert_eq!(
            Limits::from_variable(Some("2".into())).unwrap().stall,
            Duration::from_secs(2)
        );
        let error = Limits::from_variable(Some("soon".into())).unwrap_err();
        assert!(error.to_string().contains(STALL_TIMEOUT_VARIABLE));
    }

    #[test]
    fn a_file_download_checks_size_and_hash_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("release.so");
        fs::write(&source, b"plugin bytes").unwrap();
        let url = format!("file://{}", source.display());
        let sha = hex(&Sha256::digest(b"plugin bytes"));
        let target = dir.path().join("plugins");
        fs::create_dir(&target).unwrap();
        let limits = Limits::from_variable(None).unwrap();
        let good = Expected {
            size: 12,
            sha256: &sha,
        };
        let downloaded = download(&url, good, &target, "libmosaic_x.so", limits, &|_| {}).unwrap();
        assert_eq!(fs::read(downloaded.path()).unwrap(), b"plugin bytes");
        downloaded.persist(&target.join("libmosaic_x.so")).unwrap();
        let cases = [
            (
                Expected {
                    size: 11,
                    sha256: &sha,
                },
                "more than the 11 bytes",
            ),
            (
                Expected {
                    size: 13,
                    sha256: &sha,
                },
                "truncated download: got 12 of the 13",
            ),
            (
                Expected {
                    size: 12,
                    sha256: &"0".repeat(64),
                },
                "sha256 mismatch",
            ),
        ];
        for (expected, message) in cases {
            let error = download(&url, expected, &target, "libmosaic_x.so", limits, &|_| {})
                .unwrap_err()
                .to_string();
            assert!(error.contains(message), "{error}");
        }
        let left: Vec<_> = fs::read_dir(&target)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("libmosaic_x.so")]);
    }
}
