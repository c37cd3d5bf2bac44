//! The fleet's side of the Mosaic gateway: whether it is there to route Claude Code
//! agents through, the per-agent keys it mints and revokes, and the usage it reports.
//!
//! The fleet reads only the `gateway` section of `config.json` (installed: it names
//! a service manager; where the daemon listens; whether an Anthropic key is set,
//! never the key itself), asks the daemon's `GET /health` with a short deadline, and
//! runs the gateway plugin's own commands for everything else:
//! `gateway keys create|revoke` through `Context::invoke_captured` (the key travels
//! from that command's stdout to this process in memory, never through argv), and
//! `gateway usage --json` for `fleet ps`, in a child process killed at its deadline
//! so a slow store never slows `ps` down.
//!
//! An agent gets its key in the pane's environment without it ever being in argv,
//! tmux's command line or a file others can read: the launch writes it to a 0600
//! file in the (0700) run directory, and the pane starts with a small `sh` wrapper
//! that reads the file, deletes it, exports the key and `exec`s the agent (so the
//! pane's pid stays the agent's). See [`KeyHandoff`].

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mosaic_plugin_api::anyhow::{anyhow, bail, Context as _, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::sdk::fs::remove_stale_temp_files;
use mosaic_plugin_api::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The variable Claude Code (and the Anthropic SDKs) read the API's base URL from.
pub const BASE_URL_ENV: &str = "ANTHROPIC_BASE_URL";
/// The variable the agent's Mosaic key is put in. Claude Code sends it as
/// `Authorization: Bearer`, and unlike `ANTHROPIC_API_KEY` it does not make the
/// interactive TUI stop at a "Do you want to use this API key?" prompt.
pub const AUTH_TOKEN_ENV: &str = "ANTHROPIC_AUTH_TOKEN";
/// Removed from the agent's environment so a key inherited from tmux's global
/// environment neither competes with the gateway's key nor triggers that prompt.
pub const API_KEY_ENV: &str = "ANTHROPIC_API_KEY";
/// The start of every Mosaic API key (the gateway's `KEY_PREFIX`).
pub const KEY_PREFIX: &str = "mosaic_sk_";
/// The port the gateway listens on when config.json names none.
pub const DEFAULT_PORT: u16 = 14242;
/// How long `fleet launch` waits for `GET /health`.
pub const LAUNCH_HEALTH_TIMEOUT: Duration = Duration::from_millis(500);
/// How long `fleet ps` waits for the gateway's health and usage, all told.
pub const PS_USAGE_BUDGET: Duration = Duration::from_millis(100);
/// The start of the names of key hand-off files (`.gateway-key.<launch pid>`).
const HANDOFF_PREFIX: &str = ".gateway-key.";

/// What config.json says about the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Where the daemon listens.
    pub address: SocketAddr,
    /// Whether `gateway.anthropic_api_key` is set (its value is never read out).
    pub has_anthropic_key: bool,
}

impl GatewayConfig {
    /// The gateway's settings when it is installed (`gateway.service_manager` is
    /// recorded); `None` when it is not. An unreadable or invalid section is an error
    /// naming the key.
    pub fn read(context: &Context<'_>) -> Result<Option<GatewayConfig>> {
        let root = config::load_sections(&context.config_dir(), &["gateway"])?;
        Self::from_config(&root)
    }

    /// Like [`GatewayConfig::read`], from a loaded config.json.
    pub fn from_config(root: &Value) -> Result<Option<GatewayConfig>> {
        let installed = config::get(root, "gateway.service_manager")
            .is_some_and(|value| value.as_str().is_some_and(|text| !text.is_empty()));
        if !installed {
            return Ok(None);
        }
        let port = match config::get(root, "gateway.port") {
            None => DEFAULT_PORT,
            Some(value) => value
                .as_u64()
                .and_then(|port| u16::try_from(port).ok())
                .filter(|port| *port > 0)
                .ok_or_else(|| {
                    anyhow!(
                        "gateway.port in config.json is {value}, not a port from 1 to 65535: \
                         fix it with `mosaic config set gateway.port PORT`"
                    )
                })?,
        };
        let host = match config::get(root, "gateway.host") {
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(value) => value
                .as_str()
                .and_then(|text| text.trim().parse::<IpAddr>().ok())
                .ok_or_else(|| {
                    anyhow!(
                        "gateway.host in config.json is {value}, not an IP address: fix it \
                         with `mosaic config set gateway.host 127.0.0.1`"
                    )
                })?,
        };
        // A wildcard bind is reached on loopback from this machine.
        let host = match host {
            IpAddr::V4(address) if address.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(address) if address.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            other => other,
        };
        let has_anthropic_key = config::get(root, "gateway.anthropic_api_key")
            .is_some_and(|value| value.as_str().is_some_and(|text| !text.trim().is_empty()));
        Ok(Some(GatewayConfig {
            address: SocketAddr::new(host, port),
            has_anthropic_key,
        }))
    }

    /// The base URL agents are given: `http://127.0.0.1:14242`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Whether `GET /health` answers 200 within `timeout`.
    pub fn healthy(&self, timeout: Duration) -> bool {
        http_get_status(self.address, "/health", Instant::now() + timeout) == Some(200)
    }
}

/// The HTTP status of `GET path` on `address`, or `None` when no answer came by
/// `deadline`. Plain HTTP/1.1 over a socket with timeouts: the fleet needs no more.
fn http_get_status(address: SocketAddr, path: &str, deadline: Instant) -> Option<u16> {
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
    };
    let mut stream = TcpStream::connect_timeout(&address, remaining()?).ok()?;
    stream.set_write_timeout(remaining()).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = Vec::new();
    let mut chunk = [0_u8; 512];
    while !head.windows(2).any(|pair| pair == b"\r\n") {
        stream.set_read_timeout(remaining()).ok()?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => head.extend_from_slice(&chunk[..count]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let line = String::from_utf8_lossy(&head);
    let mut words = line.split_whitespace();
    let version = words.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    words.next()?.parse().ok()
}

/// Why an agent is (or is not) routed through the gateway, decided at launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routing {
    /// Through the gateway at this base URL.
    Gateway(GatewayConfig),
    /// Directly; `Some` says why when the user would expect the gateway (it is
    /// installed but cannot take the agent), for a warning.
    Direct(Option<String>),
}

/// Decides whether a Claude Code agent goes through the gateway: it must be
/// installed, answer `/health`, and hold an Anthropic key.
pub fn routing(context: &Context<'_>) -> Result<Routing> {
    let Some(gateway) = GatewayConfig::read(context)? else {
        return Ok(Routing::Direct(None));
    };
    if !gateway.healthy(LAUNCH_HEALTH_TIMEOUT) {
        return Ok(Routing::Direct(Some(format!(
            "the gateway is installed but does not answer at {}/health; the agent talks to \
             Anthropic directly (start the gateway with `mosaic gateway start`, or launch \
             with --no-gateway to say so)",
            gateway.base_url()
        ))));
    }
    if !gateway.has_anthropic_key {
        return Ok(Routing::Direct(Some(
            "the gateway has no Anthropic key (gateway.anthropic_api_key in config.json), \
             so the agent talks to Anthropic directly: set one with `printf %s \"$KEY\" | \
             mosaic config set gateway.anthropic_api_key` and `mosaic gateway restart`, or \
             launch with --no-gateway to say so"
                .to_string(),
        )));
    }
    Ok(Routing::Gateway(gateway))
}

/// The name of the key minted for `agent` at launch time `started_at_ms` (Unix
/// milliseconds). The gateway never reuses a name, not even a revoked key's, so each
/// launch gets its own: `fleet-<AGENT>-<ms>`, with the agent's name cut to fit the
/// gateway's 64 characters (the key's `agent` field holds it whole).
pub fn key_name(agent: &str, started_at_ms: u128) -> String {
    let suffix = format!("-{started_at_ms}");
    let room = MAX_KEY_NAME_LENGTH - KEY_NAME_PREFIX.len() - suffix.len();
    // Agent names are ASCII, so any byte is a character boundary.
    let shown = &agent[..agent.len().min(room)];
    format!("{KEY_NAME_PREFIX}{shown}{suffix}")
}

/// The start of the names of the keys the fleet mints.
const KEY_NAME_PREFIX: &str = "fleet-";
/// The longest key name the gateway accepts.
const MAX_KEY_NAME_LENGTH: usize = 64;

/// A key minted for an agent. `Debug` never shows the key.
pub struct MintedKey {
    /// Its name in `gateway keys list`.
    pub name: String,
    /// The key itself.
    secret: String,
}

impl std::fmt::Debug for MintedKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("MintedKey")
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Mints key `name` for `agent` with `gateway keys create NAME --agent AGENT --json`.
pub fn mint_key(context: &Context<'_>, name: &str, agent: &str) -> Result<MintedKey> {
    let failed = || {
        format!(
            "cannot create gateway key `{name}` for agent `{agent}` (`mosaic gateway keys \
             create`); fix the gateway, or launch with --no-gateway"
        )
    };
    let (code, output) = context
        .invoke_captured(
            &[
                "gateway", "keys", "create", name, "--agent", agent, "--json",
            ],
            &[],
        )
        .with_context(failed)?;
    if code != 0 {
        bail!("{} (it exited with status {code})", failed());
    }
    let secret = parse_created_key(&output).with_context(failed)?;
    Ok(MintedKey {
        name: name.to_string(),
        secret,
    })
}

/// The key in the JSON `gateway keys create --json` prints. Errors never quote the
/// output (it holds the key).
fn parse_created_key(output: &str) -> Result<String> {
    let document: Value = serde_json::from_str(output.trim())
        .map_err(|_| anyhow!("its output is not the expected JSON document"))?;
    let key = document
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("its JSON output has no \"key\""))?;
    let well_formed = key.starts_with(KEY_PREFIX)
        && key.len() > KEY_PREFIX.len()
        && key
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
    if !well_formed {
        bail!("its \"key\" is not a Mosaic key ({KEY_PREFIX}…)");
    }
    Ok(key.to_string())
}

/// Revokes key `name` with `gateway keys revoke NAME`. A key the gateway does not
/// list (any more) counts as revoked, and so does every key when the gateway is not
/// installed any more (its store is gone with it).
pub fn revoke_key(context: &Context<'_>, name: &str) -> Result<()> {
    if GatewayConfig::read(context)?.is_none() {
        return Ok(());
    }
    let failed = |reason: String| {
        anyhow!(
            "cannot revoke gateway key `{name}` ({reason}); revoke it with `mosaic gateway \
             keys revoke {name}`"
        )
    };
    let (code, _) = context
        .invoke_captured(&["gateway", "keys", "revoke", name, "--json"], &[])
        .map_err(|error| failed(format!("{error:#}")))?;
    if code == 0 {
        return Ok(());
    }
    // `revoke` exits 1 both for a name it does not know and for a store it cannot
    // open; the list tells the two apart.
    match key_listed(context, name) {
        Ok(false) => Ok(()),
        Ok(true) => Err(failed(format!(
            "`gateway keys revoke` exited with status {code}"
        ))),
        Err(error) => Err(failed(format!("{error:#}"))),
    }
}

/// Whether `gateway keys list --json` lists a key called `name`.
fn key_listed(context: &Context<'_>, name: &str) -> Result<bool> {
    let (code, output) = context.invoke_captured(&["gateway", "keys", "list", "--json"], &[])?;
    if code != 0 {
        bail!("`gateway keys list` exited with status {code}");
    }
    let document: Value = serde_json::from_str(output.trim())
        .context("`gateway keys list --json` printed something else than JSON")?;
    Ok(document["keys"]
        .as_array()
        .is_some_and(|keys| keys.iter().any(|key| key["name"] == name)))
}

/// A key on its way into an agent's pane: a 0600 file in the run directory that the
/// pane's wrapper reads and deletes before it `exec`s the agent. Dropping the
/// hand-off removes the file if the pane has not.
#[derive(Debug)]
pub struct KeyHandoff {
    path: PathBuf,
}

impl KeyHandoff {
    /// Writes the key for a pane about to start. Hand-off files left by launches
    /// that died are removed first.
    pub fn write(run_dir: &Path, key: &MintedKey) -> Result<KeyHandoff> {
        remove_stale_temp_files(run_dir, HANDOFF_PREFIX);
        let path = run_dir.join(format!("{HANDOFF_PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let handoff = KeyHandoff { path };
        file.write_all(format!("{}\n", key.secret).as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", handoff.path.display()))?;
        Ok(handoff)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pane command that takes the key and runs `command` (several words run
    /// directly; a single word is a shell command line, as tmux would run it).
    pub fn wrap(&self, command: &[String]) -> Vec<String> {
        wrap_command(&self.path, command)
    }
}

impl Drop for KeyHandoff {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The `sh` script of [`KeyHandoff::wrap`]: `$1` is the key file, the rest the
/// command. `read` fails on an empty or missing file, and then the pane ends with a
/// message instead of starting an agent without its key.
const WRAPPER_SCRIPT: &str = "IFS= read -r ANTHROPIC_AUTH_TOKEN < \"$1\" && \
     [ -n \"$ANTHROPIC_AUTH_TOKEN\" ] || { echo \"mosaic fleet: cannot read the gateway key from $1\" >&2; exit 1; }; \
     rm -f -- \"$1\"; export ANTHROPIC_AUTH_TOKEN; unset ANTHROPIC_API_KEY; shift; exec \"$@\"";

fn wrap_command(key_file: &Path, command: &[String]) -> Vec<String> {
    let mut wrapped = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        WRAPPER_SCRIPT.to_string(),
        "mosaic-fleet-gateway".to_string(),
        key_file.to_string_lossy().into_owned(),
    ];
    match command {
        // One word is a shell command line for tmux; keep that meaning.
        [line] => wrapped.extend(["/bin/sh".to_string(), "-c".to_string(), line.clone()]),
        words => wrapped.extend(words.iter().cloned()),
    }
    wrapped
}

/// One agent's usage today, as `gateway usage --by agent --json` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentUsage {
    /// Requests.
    #[serde(default)]
    pub requests: u64,
    /// Input tokens (not cached).
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Cache-read tokens.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Cache-write tokens.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Cost, millionths of a US dollar.
    #[serde(default)]
    pub cost_micros: i64,
}

impl AgentUsage {
    /// Every token.
    pub fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens
    }
}

/// What `fleet ps` could learn about today's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageToday {
    /// The gateway is not installed.
    NotInstalled,
    /// It did not answer in time (or could not); the reason.
    Unavailable(String),
    /// Usage per agent name.
    Known(std::collections::BTreeMap<String, AgentUsage>),
}

/// Today's usage per agent, if the gateway answers within `budget`: `/health` first,
/// then `gateway usage --by agent --since today --json` in a child process that is
/// killed when the budget runs out.
pub fn usage_today(context: &Context<'_>, budget: Duration) -> UsageToday {
    let deadline = Instant::now() + budget;
    let gateway = match GatewayConfig::read(context) {
        Ok(Some(gateway)) => gateway,
        Ok(None) => return UsageToday::NotInstalled,
        Err(error) => return UsageToday::Unavailable(format!("{error:#}")),
    };
    if http_get_status(gateway.address, "/health", deadline) != Some(200) {
        return UsageToday::Unavailable(format!(
            "the gateway did not answer at {}/health within {} ms",
            gateway.base_url(),
            budget.as_millis()
        ));
    }
    match run_usage_command(context, deadline) {
        Ok(text) => match parse_usage(&text) {
            Ok(usage) => UsageToday::Known(usage),
            Err(error) => UsageToday::Unavailable(format!("{error:#}")),
        },
        Err(error) => UsageToday::Unavailable(format!("{error:#}")),
    }
}

/// The words after `mosaic` that report today's usage per agent.
const USAGE_ARGS: [&str; 7] = [
    "gateway", "usage", "--by", "agent", "--since", "today", "--json",
];

/// Runs `mosaic gateway usage …` (this same binary) and returns its stdout, or an
/// error when it fails or is still running at `deadline` (it is killed then).
fn run_usage_command(context: &Context<'_>, deadline: Instant) -> Result<String> {
    let program = std::env::current_exe().context("cannot find the mosaic binary")?;
    let mut command = Command::new(program);
    command
        .args(USAGE_ARGS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // The same configuration this run sees.
    for name in [
        "MOSAIC_CONFIG_DIR",
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
    ] {
        if let Some(value) = context.env(name) {
            command.env(name, OsString::from(value));
        }
    }
    let mut child = command
        .spawn()
        .context("cannot run `mosaic gateway usage`")?;
    let mut stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let text = reader.join().unwrap_or_default();
                if !status.success() {
                    bail!("`mosaic gateway usage` failed ({status})");
                }
                return Ok(text);
            }
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                bail!("`mosaic gateway usage` did not answer in time");
            }
            Err(error) => return Err(error).context("cannot wait for `mosaic gateway usage`"),
        }
    }
}

/// The rows of `gateway usage --by agent --json` (`{"rows": […], "total": …}`, or a
/// bare list), each with `group` (the agent) and the sums.
fn parse_usage(text: &str) -> Result<std::collections::BTreeMap<String, AgentUsage>> {
    let document: Value = serde_json::from_str(text.trim())
        .context("`mosaic gateway usage --json` printed something else than JSON")?;
    let rows = match &document {
        Value::Array(rows) => rows.clone(),
        object => object["rows"].as_array().cloned().unwrap_or_default(),
    };
    let mut usage = std::collections::BTreeMap::new();
    for row in rows {
        let Some(agent) = row.get("group").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        if let Ok(parsed) = serde_json::from_value::<AgentUsage>(row) {
            usage.insert(agent, parsed);
        }
    }
    Ok(usage)
}

/// A cost for people: `$0.0123`, `$12.50`.
pub fn format_cost(micros: i64) -> String {
    let dollars = micros as f64 / 1_000_000.0;
    if micros != 0 && micros.abs() < 10_000 {
        format!("${dollars:.4}")
    } else {
        format!("${dollars:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_says_installed_address_and_key_presence() {
        assert_eq!(GatewayConfig::from_config(&json!({})).unwrap(), None);
        assert_eq!(
            GatewayConfig::from_config(&json!({"gateway": {"port": 1}})).unwrap(),
            None,
            "no service manager: not installed"
        );
        let gateway = GatewayConfig::from_config(&json!({"gateway": {
            "service_manager": "supervisor", "host": "0.0.0.0", "port": 15000,
            "anthropic_api_key": "sk-ant-x"
        }}))
        .unwrap()
        .unwrap();
        assert_eq!(gateway.base_url(), "http://127.0.0.1:15000");
        assert!(gateway.has_anthropic_key);
        let gateway = GatewayConfig::from_config(&json!({"gateway": {
            "service_manager": "systemd", "host": "::1"
        }}))
        .unwrap()
        .unwrap();
        assert_eq!(gateway.base_url(), "http://[::1]:14242");
        assert!(!gateway.has_anthropic_key);
        let message = GatewayConfig::from_config(&json!({"gateway": {
            "service_manager": "systemd", "port": 70000
        }}))
        .unwrap_err()
        .to_string();
        assert!(message.contains("gateway.port"), "{message}");
    }

    #[test]
    fn created_keys_are_read_and_never_quoted() {
        let key = "mosaic_sk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd";
        let output = format!("{{\"name\":\"fleet-a\",\"key\":\"{key}\"}}\n");
        assert_eq!(parse_created_key(&output).unwrap(), key);
        let message = parse_created_key("{\"key\":\"sk-ant-secret\"}")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("secret"), "{message}");
        assert!(parse_created_key("not json mosaic_sk_x")
            .unwrap_err()
            .to_string()
            .contains("not the expected JSON"));
    }

    #[test]
    fn minted_keys_do_not_debug_print_the_secret() {
        let key = MintedKey {
            name: "fleet-a".into(),
            secret: "mosaic_sk_zzz".into(),
        };
        assert!(!format!("{key:?}").contains("zzz"));
    }

    #[test]
    fn the_wrapper_hands_the_key_over_and_removes_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let key = MintedKey {
            name: "fleet-a".into(),
            secret: "mosaic_sk_secret123".into(),
        };
        let handoff = KeyHandoff::write(directory.path(), &key).unwrap();
        let mode = std::fs::metadata(handoff.path()).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let wrapped = handoff.wrap(&["sh".into(), "-c".into(), "env".into()]);
        assert!(wrapped.iter().all(|word| !word.contains("secret123")));
        let output = Command::new(&wrapped[0])
            .args(&wrapped[1..])
            .env("ANTHROPIC_API_KEY", "sk-ant-inherited")
            .output()
            .unwrap();
        assert!(output.status.success());
        let environment = String::from_utf8(output.stdout).unwrap();
        assert!(environment.contains("ANTHROPIC_AUTH_TOKEN=mosaic_sk_secret123\n"));
        assert!(!environment.contains("ANTHROPIC_API_KEY="));
        assert!(!handoff.path().exists(), "the pane removed the file");

        // One word is a shell command line.
        let handoff = KeyHandoff::write(directory.path(), &key).unwrap();
        let wrapped = handoff.wrap(&["echo \"$ANTHROPIC_AUTH_TOKEN\" | wc -c".into()]);
        let output = Command::new(&wrapped[0])
            .args(&wrapped[1..])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(output.stdout).unwrap().trim(), "20");

        // Without the file the pane says so and runs nothing.
        let path = handoff.path().to_path_buf();
        drop(handoff);
        assert!(!path.exists(), "dropping the hand-off removes the file");
        let output = Command::new("/bin/sh")
            .args(&wrap_command(&path, &["true".into(), "x".into()])[1..])
            .output()
            .unwrap();
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read the gateway key"));
    }

    #[test]
    fn usage_rows_are_read_by_agent() {
        let text = r#"{"rows":[{"group":"a1","requests":2,"input_tokens":10,"output_tokens":5,
            "cache_read_tokens":1,"cache_write_tokens":0,"errors":0,"cost_micros":1234}]}"#;
        let usage = parse_usage(text).unwrap();
        assert_eq!(usage["a1"].tokens(), 16);
        assert_eq!(usage["a1"].cost_micros, 1234);
        let usage = parse_usage(r#"[{"group":"b","output_tokens":3}]"#).unwrap();
        assert_eq!(usage["b"].tokens(), 3);
        assert!(parse_usage("oops").is_err());
    }

    #[test]
    fn key_names_fit_the_gateway() {
        assert_eq!(key_name("a1", 1_700_000_000_123), "fleet-a1-1700000000123");
        let long = key_name(&"x".repeat(64), 1_700_000_000_123);
        assert_eq!(long.len(), MAX_KEY_NAME_LENGTH);
        assert!(long.ends_with("x-1700000000123"), "{long}");
    }

    #[test]
    fn costs_read_as_dollars() {
        assert_eq!(format_cost(0), "$0.00");
        assert_eq!(format_cost(1234), "$0.0012");
        assert_eq!(format_cost(12_500_000), "$12.50");
    }

    #[test]
    fn health_is_bounded_by_its_deadline() {
        // A listener that never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let started = Instant::now();
        assert_eq!(
            http_get_status(
                address,
                "/health",
                Instant::now() + Duration::from_millis(100)
            ),
            None
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }
}
