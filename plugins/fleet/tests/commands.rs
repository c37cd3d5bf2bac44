//! The fleet commands run in-process with the SDK's test harness: the refusals that
//! happen before tmux is involved, the typed arguments, the file-only commands
//! (`ps`, `prune`), and one launch and stop on a private tmux server for the progress
//! they show while they wait. The end-to-end tests with real tmux are in the
//! workspace's `tests/` crate.

use std::path::PathBuf;
use std::process::Command;

use mosaic_fleet::Fleet;
use mosaic_plugin_api::serde_json::{self, json, Value};
use mosaic_plugin_api::testing::{TestHost, TestOutput};
use mosaic_plugin_api::ProgressEvent;

fn run_dir(host: &TestHost<Fleet>) -> std::path::PathBuf {
    host.config_dir().join("fleet/run")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A host whose tmux server can only be a private, never-started one.
fn host() -> TestHost<Fleet> {
    let mut host = TestHost::<Fleet>::new();
    let socket = host.root().join("no-server.sock");
    host.env("MOSAIC_TMUX_SOCKET", socket.to_str().unwrap())
        .env("PATH", "/usr/local/bin:/usr/bin:/bin");
    host
}

#[test]
fn launch_refuses_bad_names_before_anything_else() {
    let host = host();
    let output = host.run(&["fleet", "launch", "no/slash", "--", "sleep", "1"]);
    assert_eq!(output.exit_code, 1);
    assert!(
        output.stderr.contains("invalid agent name `no/slash`"),
        "{}",
        output.stderr
    );
    assert!(!run_dir(&host).exists());
}

#[test]
fn launch_refuses_invalid_intervals_naming_the_variable() {
    for value in ["0", "abc", "86401"] {
        let mut host = host();
        host.env("MOSAIC_HEARTBEAT_INTERVAL", value);
        let output = host.run(&["fleet", "launch", "a1", "--", "sleep", "1"]);
        assert_eq!(output.exit_code, 1, "{value}");
        assert!(
            output
                .stderr
                .contains(&format!("MOSAIC_HEARTBEAT_INTERVAL=\"{value}\"")),
            "{}",
            output.stderr
        );
        assert!(output.stderr.contains("or unset it"), "{}", output.stderr);
    }
}

#[test]
fn launch_without_tmux_names_the_fix() {
    let mut host = host();
    host.env("PATH", "/nonexistent");
    let output = host.run(&["fleet", "launch", "a1", "--", "sleep", "1"]);
    assert_eq!(output.exit_code, 1);
    assert!(
        output.stderr.contains("tmux is not installed"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("sudo apt-get install tmux"),
        "{}",
        output.stderr
    );
}

#[test]
fn launch_uses_the_configured_default_runtime() {
    let host = host();
    std::fs::write(
        host.config_dir().join("config.json"),
        r#"{"fleet":{"default_runtime":"nope"}}"#,
    )
    .unwrap();
    let output = host.run(&["fleet", "launch", "a1"]);
    assert_eq!(output.exit_code, 1);
    assert!(
        output.stderr.contains("unknown runtime `nope`"),
        "{}",
        output.stderr
    );
}

#[test]
fn bad_settings_name_the_key_and_where_it_was_set() {
    let host = host();
    let config = host.config_dir().join("config.json");
    std::fs::write(&config, r#"{"fleet":{"stale_after_intervals":"x"}}"#).unwrap();
    let output = host.run(&["fleet", "ps"]);
    assert_eq!(output.exit_code, 1);
    assert!(
        output.stderr.contains(&format!(
            "fleet.stale_after_intervals = \"x\" in {}",
            config.display()
        )),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("`mosaic config set fleet.stale_after_intervals 4`"),
        "{}",
        output.stderr
    );

    std::fs::write(&config, "{bad").unwrap();
    let output = host.run(&["fleet", "ps"]);
    assert_eq!(output.exit_code, 1);
    assert!(
        output.stderr.contains(&format!("{}:1:2", config.display())),
        "{}",
        output.stderr
    );
}

#[test]
fn ps_lists_generated_agents_as_json() {
    let host = host();
    let directory = run_dir(&host);
    std::fs::create_dir_all(&directory).unwrap();
    let metadata = json!({
        "agent": "gen", "runtime": "codex", "command": ["codex"], "cwd": "/",
        "session": "mosaic-gen", "pane_pid": 4_000_000, "started_at": now() - 60, "interval": 15
    });
    std::fs::write(directory.join("gen.meta.json"), metadata.to_string()).unwrap();
    let beat = json!({
        "agent": "gen", "pane_pid": 4_000_000, "sidecar_pid": 4_000_001, "interval": 15,
        "beat_at": now() - 3
    });
    std::fs::write(directory.join("gen.hb"), beat.to_string()).unwrap();
    let output = host.run(&["fleet", "ps", "--json"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    let report: Value = serde_json::from_str(&output.stdout).unwrap();
    let row = &report["agents"][0];
    assert_eq!(row["agent"], "gen");
    assert_eq!(row["status"], "alive");
    assert_eq!(row["pid_exists"], false, "pid 4000000 does not exist");
    assert_eq!(
        row["uptime_seconds"].as_u64().map(|uptime| uptime >= 60),
        Some(true)
    );
    let table = host.run(&["fleet", "ps"]);
    assert!(
        table.stdout.starts_with("AGENT  RUNTIME  PID"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("codex"), "{}", table.stdout);
}

/// Writes an agent's metadata and a heartbeat `age` seconds old (interval 15 s, so
/// 600 s is dead and 1 s alive).
fn write_agent(directory: &std::path::Path, agent: &str, age: u64) {
    std::fs::create_dir_all(directory).unwrap();
    let metadata = json!({
        "agent": agent, "runtime": "claude", "command": ["claude"], "cwd": "/",
        "session": format!("mosaic-{agent}"), "started_at": now() - 900, "interval": 15
    });
    std::fs::write(
        directory.join(format!("{agent}.meta.json")),
        metadata.to_string(),
    )
    .unwrap();
    let beat = json!({
        "agent": agent, "pane_pid": 4_000_000, "sidecar_pid": 4_000_001, "interval": 15,
        "beat_at": now() - age
    });
    std::fs::write(directory.join(format!("{agent}.hb")), beat.to_string()).unwrap();
}

/// `(agent, status)` of every row of `fleet ps --all --json`.
fn all_statuses(host: &TestHost<Fleet>) -> Vec<(String, String)> {
    let output = host.run(&["fleet", "ps", "--all", "--json"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    let report: Value = serde_json::from_str(&output.stdout).unwrap();
    report["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["agent"].as_str().unwrap().to_string(),
                row["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn prune_removes_only_dead_agents() {
    let host = host();
    let directory = run_dir(&host);
    write_agent(&directory, "old", 600);
    write_agent(&directory, "new", 1);
    let output = host.run(&["fleet", "prune", "--json"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    let report: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(report["pruned"], json!(["old"]));
    assert!(!directory.join("old.meta.json").exists());
    assert!(!directory.join("old.hb").exists());
    assert!(directory.join("new.hb").exists());
    assert_eq!(
        all_statuses(&host),
        [
            ("new".to_string(), "alive".to_string()),
            ("old".to_string(), "pruned".to_string())
        ]
    );
}

#[test]
fn a_corrupt_history_is_reported_by_ps_and_set_aside_by_prune() {
    let host = host();
    let directory = run_dir(&host);
    write_agent(&directory, "old", 600);
    let history = directory.join("pruned-history.json");
    std::fs::write(&history, "{bad").unwrap();

    // ps --all shows the agents and names the bad file in one line.
    let output = host.run(&["fleet", "ps", "--all"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    assert!(output.stdout.contains("old"), "{}", output.stdout);
    assert_eq!(output.stderr.lines().count(), 1, "{}", output.stderr);
    assert!(
        output
            .stderr
            .starts_with(&format!("warning: {}:1:2: invalid JSON", history.display())),
        "{}",
        output.stderr
    );
    let report: Value =
        serde_json::from_str(&host.run(&["fleet", "ps", "--all", "--json"]).stdout).unwrap();
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("pruned-history.json:1:2"),
        "{report}"
    );

    // prune moves it aside with a warning, prunes, and records the agent.
    let output = host.run(&["fleet", "prune"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    assert_eq!(output.stdout, "pruned old\n");
    assert_eq!(output.stderr.lines().count(), 1, "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains(&format!("; moved it to {}.corrupt-", history.display())),
        "{}",
        output.stderr
    );
    let set_aside: Vec<_> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("pruned-history.json.corrupt-"))
        .collect();
    assert_eq!(set_aside.len(), 1, "{set_aside:?}");
    assert_eq!(
        std::fs::read_to_string(directory.join(&set_aside[0])).unwrap(),
        "{bad"
    );
    assert!(!directory.join("old.meta.json").exists());
    assert_eq!(
        all_statuses(&host),
        [("old".to_string(), "pruned".to_string())]
    );
}

#[test]
fn an_unreadable_history_stops_prune_before_anything_is_removed() {
    let host = host();
    let directory = run_dir(&host);
    write_agent(&directory, "old", 600);
    // A directory where the history should be: it cannot be read, nor set aside
    // as a file that is merely invalid.
    std::fs::create_dir(directory.join("pruned-history.json")).unwrap();
    let output = host.run(&["fleet", "prune"]);
    assert_eq!(output.exit_code, 1, "{}", output.stderr);
    assert!(
        output.stderr.contains("nothing was pruned"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("pruned-history.json"),
        "{}",
        output.stderr
    );
    assert!(directory.join("old.meta.json").exists());
    assert!(directory.join("old.hb").exists());
}

#[test]
fn commands_on_unknown_agents_name_the_run_dir() {
    let host = host();
    for command in ["stop", "attach", "logs"] {
        let output = host.run(&["fleet", command, "nobody"]);
        assert_eq!(output.exit_code, 1, "{command}");
        assert!(
            output.stderr.contains("no agent named `nobody`"),
            "{}",
            output.stderr
        );
        assert!(output.stderr.contains("fleet/run"), "{}", output.stderr);
    }
}

#[test]
fn the_examples_in_the_spec_work() {
    let mut host = TestHost::<Fleet>::new();
    // No tmux and no runtime on PATH, and a private tmux socket: the examples that
    // need tmux fail honestly (nothing real is ever started).
    let empty_path = host.root().join("empty-path");
    let home = host.root().join("home");
    std::fs::create_dir_all(&empty_path).unwrap();
    std::fs::create_dir_all(home.join("src/app")).unwrap();
    let socket = host.root().join("no-server.sock");
    host.env("PATH", empty_path.to_str().unwrap())
        .env("HOME", home.to_str().unwrap())
        .env("MOSAIC_TMUX_SOCKET", socket.to_str().unwrap());
    host.check_manifest().unwrap();
    if let Err(failures) = host.check_examples() {
        panic!("examples failed:\n{}", failures.join("\n"));
    }
    // Those expected to fail do so for want of tmux or of a running agent.
    let manifest = host.manifest();
    let failing: Vec<_> = manifest.commands[0]
        .all_examples()
        .into_iter()
        .filter(|example| example.expect_exit_code != 0)
        .collect();
    assert!(failing.len() >= 8, "{failing:?}");
    for example in failing {
        let output = host.run_line(&example.command);
        let why = if example.command.starts_with("fleet launch") {
            "tmux is not installed"
        } else if example.command.starts_with("fleet watch") {
            "needs a terminal"
        } else {
            "no agent named `reviewer`"
        };
        assert!(
            output.stderr.contains(why),
            "`{}`: {}",
            example.command,
            output.stderr
        );
    }
}

#[test]
fn the_manifest_passes_the_hosts_checks() {
    let host = host();
    host.check_manifest().unwrap();
    let manifest = host.manifest();
    assert_eq!(manifest.version, "0.2.0");
    assert_eq!(manifest.host_requirement, ">=0.2.0, <0.3.0");
    let fleet = &manifest.commands[0];
    let subcommands: Vec<&str> = fleet
        .subcommands
        .iter()
        .map(|command| command.name.as_str())
        .collect();
    assert_eq!(
        subcommands,
        [
            "launch",
            "ps",
            "stop",
            "attach",
            "logs",
            "prune",
            "rm",
            "diff",
            "send",
            "watch",
            "status-line"
        ]
    );
}

#[test]
fn numeric_arguments_are_checked_by_the_parser_then_by_range() {
    let host = host();
    for command in [
        &["fleet", "logs", "a1", "-n", "many"][..],
        &["fleet", "logs", "a1", "-n", "1.5"],
        &["fleet", "stop", "a1", "--timeout", "soon"],
    ] {
        let output = host.run(command);
        assert_eq!(output.exit_code, 2, "{command:?}: {}", output.stderr);
        assert!(output.stderr.contains("invalid value"), "{}", output.stderr);
    }
    let output = host.run(&["fleet", "logs", "a1", "-n", "0"]);
    assert_eq!(output.exit_code, 1);
    assert!(
        output
            .stderr
            .contains("--lines 0: expected a whole number from 1 to 100000"),
        "{}",
        output.stderr
    );
}

/// A private tmux server, killed when the test ends however it ends.
struct TmuxServer(PathBuf);

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.0)
            .arg("kill-server")
            .env_remove("TMUX")
            .output();
    }
}

/// The messages of the progress indicators a run started, after checking that it
/// finished every one.
fn progress_messages(output: &TestOutput) -> Vec<String> {
    let started: Vec<String> = output
        .progress
        .iter()
        .filter_map(|event| match event {
            ProgressEvent::Start { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    let finished = output
        .progress
        .iter()
        .filter(|event| matches!(event, ProgressEvent::Finish { .. }))
        .count();
    assert_eq!(finished, started.len(), "{:?}", output.progress);
    started
}

#[test]
fn launch_and_stop_show_progress_while_they_wait() {
    let mut host = TestHost::<Fleet>::new();
    let server = TmuxServer(host.root().join("tmux.sock"));
    host.env("MOSAIC_TMUX_SOCKET", server.0.to_str().unwrap())
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("MOSAIC_HEARTBEAT_INTERVAL", "1");

    let output = host.run(&["fleet", "launch", "waiter", "--", "sleep", "1000"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    assert!(
        output.stdout.starts_with("launched agent waiter"),
        "{}",
        output.stdout
    );
    assert_eq!(progress_messages(&output), ["Starting agent waiter"]);

    let output = host.run(&["fleet", "stop", "waiter", "--timeout", "5"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    assert_eq!(output.stdout, "stopped agent waiter\n");
    assert!(
        output.stderr.contains("asking agent `waiter` to exit"),
        "{}",
        output.stderr
    );
    assert_eq!(
        progress_messages(&output),
        [
            "Waiting up to 5s for agent waiter to exit",
            "Stopping agent waiter"
        ]
    );
}

#[test]
fn the_manifest_declares_the_config_keys() {
    let keys: Vec<String> = host()
        .manifest()
        .config
        .into_iter()
        .map(|key| key.key)
        .collect();
    assert_eq!(
        keys,
        [
            "fleet.heartbeat_interval",
            "fleet.default_runtime",
            "fleet.stale_after_intervals",
            "fleet.dead_after_intervals",
            "fleet.on_state_change",
            "fleet.worktree_dir",
            "fleet.trust_worktrees"
        ]
    );
}
