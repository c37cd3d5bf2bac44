//! Helpers of the fleet end-to-end tests: a sandbox with only the fleet plugin whose
//! tmux server is private (`MOSAIC_TMUX_SOCKET` = a socket in the sandbox, killed
//! when the test ends), bounded polling, and process inspection through `/proc`.

// Each fleet_*.rs test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mosaic_tests::{Run, Sandbox};
use serde_json::Value;

/// The longest any test waits for one thing to happen.
pub const WAIT: Duration = Duration::from_secs(40);

/// Gives `sandbox` a private tmux server (a socket in the sandbox) and a heartbeat
/// interval of 1 s.
pub fn use_private_tmux(sandbox: &mut Sandbox) {
    let socket = sandbox.root().join("tmux.sock");
    sandbox
        .env("MOSAIC_TMUX_SOCKET", socket.to_str().unwrap())
        .env("MOSAIC_HEARTBEAT_INTERVAL", "1");
}

/// Runs tmux against the server of `socket`.
pub fn tmux(socket: &Path, args: &[&str]) -> Output {
    Command::new("tmux")
        .arg("-S")
        .arg(socket)
        .args(args)
        .env_remove("TMUX")
        .stdin(Stdio::null())
        .output()
        .expect("cannot run tmux (is it installed?)")
}

/// A sandbox for fleet tests.
pub struct FleetSandbox {
    /// The underlying sandbox (HOME, run dir, private prefix with the fleet plugin).
    pub sandbox: Sandbox,
}

impl FleetSandbox {
    /// A slim install with the fleet plugin, heartbeat interval 1 s, and a private
    /// tmux server.
    pub fn new() -> FleetSandbox {
        Self::with_sandbox(Sandbox::with_plugins(&["fleet"]))
    }

    /// `sandbox` (which must have the fleet plugin) with heartbeat interval 1 s and
    /// a private tmux server.
    pub fn with_sandbox(mut sandbox: Sandbox) -> FleetSandbox {
        use_private_tmux(&mut sandbox);
        FleetSandbox { sandbox }
    }

    /// The private tmux server's socket.
    pub fn socket(&self) -> PathBuf {
        self.sandbox.root().join("tmux.sock")
    }

    /// The fleet run dir.
    pub fn run_dir(&self) -> PathBuf {
        self.sandbox.run_dir()
    }

    /// Runs `mosaic ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.sandbox.run(args)
    }

    /// Runs tmux against the private server.
    pub fn tmux(&self, args: &[&str]) -> Output {
        tmux(&self.socket(), args)
    }

    /// Whether the private server has the session.
    pub fn has_session(&self, session: &str) -> bool {
        self.tmux(&["has-session", "-t", &format!("={session}")])
            .status
            .success()
    }

    /// The pane pids of a session, as tmux reports them.
    pub fn tmux_pane_pids(&self, session: &str) -> Vec<u32> {
        let output = self.tmux(&[
            "list-panes",
            "-t",
            &format!("={session}"),
            "-F",
            "#{pane_pid}",
        ]);
        assert!(
            output.status.success(),
            "tmux list-panes failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| line.trim().parse().expect("a pid"))
            .collect()
    }

    /// `fleet launch AGENT --detach -- COMMAND…`, which must succeed; returns its
    /// metadata.
    pub fn launch(&self, agent: &str, command: &[&str]) -> Value {
        let mut args = vec!["fleet", "launch", agent, "--detach", "--"];
        args.extend_from_slice(command);
        self.run(&args).expect_code(0);
        self.metadata(agent).expect("launch wrote the metadata")
    }

    /// The agent's metadata file, parsed.
    pub fn metadata(&self, agent: &str) -> Option<Value> {
        read_json(&self.run_dir().join(format!("{agent}.meta.json")))
    }

    /// The agent's heartbeat file, parsed.
    pub fn heartbeat(&self, agent: &str) -> Option<Value> {
        read_json(&self.run_dir().join(format!("{agent}.hb")))
    }

    /// `fleet ps --json`.
    pub fn ps(&self) -> Value {
        let run = self.run(&["fleet", "ps", "--json"]);
        run.expect_code(0);
        run.json()
    }

    /// The agent's row in `fleet ps --json`.
    pub fn row(&self, agent: &str) -> Value {
        self.ps()["agents"]
            .as_array()
            .expect("agents is an array")
            .iter()
            .find(|row| row["agent"] == agent)
            .cloned()
            .unwrap_or_else(|| panic!("agent {agent} is not in fleet ps"))
    }

    /// Polls `fleet ps` until the agent has `status`; returns every status seen on
    /// the way, in order, without repeats.
    pub fn wait_for_status(&self, agent: &str, status: &str) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        wait_until(&format!("agent {agent} to become {status}"), || {
            let current = self.row(agent)["status"].as_str().unwrap().to_string();
            if seen.last() != Some(&current) {
                seen.push(current.clone());
            }
            current == status
        });
        seen
    }

    /// Sets a key of the sandbox's `config.json`.
    pub fn set_config(&self, key: &str, value: &str) {
        self.run(&["config", "set", key, value]).expect_code(0);
    }
}

impl Drop for FleetSandbox {
    fn drop(&mut self) {
        // Ends every pane; their sidecars follow within an interval.
        let _ = self.tmux(&["kill-server"]);
    }
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{} is not JSON ({error}): {text:?}", path.display())),
    )
}

/// Calls `check` every 100 ms until it returns true; panics naming `what` after
/// [`WAIT`].
pub fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `pid` runs: it exists in `/proc` and is not a zombie (this machine's
/// init may never reap orphans).
pub fn process_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// A field of a JSON value as a pid.
pub fn pid_of(value: &Value, field: &str) -> u32 {
    value[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a number in {value}")) as u32
}
