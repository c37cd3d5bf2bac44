//! The fleet through the gateway: `fleet launch` of a Claude Code agent mints a
//! gateway key for it and starts it with `ANTHROPIC_BASE_URL` and the key in its
//! environment only (never in any process's argv, tmux's command line or a file left
//! behind), `--no-gateway` opts out, a relaunch and `fleet prune` revoke keys, and
//! `fleet ps` shows the agents' usage today, or nothing, without waiting.
//!
//! A real gateway is installed in the sandbox on a free port with a fake Anthropic
//! key and `gateway.anthropic_base_url` pointing at a local stand-in of the Messages
//! API; the agents run in a private tmux server. The last test runs the real Claude
//! Code TUI that way (skipped without `claude`, like fleet_claude.rs).

// This file uses only part of the stand-in.
#[allow(dead_code)]
#[path = "hooks_support/anthropic_stand_in.rs"]
mod anthropic_stand_in;
mod fleet_support;
mod gateway_support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use anthropic_stand_in::StandIn;
use fleet_support::{process_running, tmux, use_private_tmux, wait_until};
use gateway_support::GatewaySandbox;
use mosaic_tests::{tool_or_skip, Run, Sandbox};
use serde_json::Value;

/// The fake real key the gateway holds; no agent may ever see it.
const ANTHROPIC_KEY: &str = "sk-ant-fake-key-held-by-the-gateway-only";

/// A sandbox with the fleet and gateway plugins, a private tmux server, and a
/// gateway installed (and running) that forwards to `stand_in`.
struct Setup {
    gateway: GatewaySandbox,
    work: tempfile::TempDir,
}

impl Setup {
    fn new(stand_in: &StandIn) -> Setup {
        let mut sandbox = Sandbox::with_plugins(&["fleet", "gateway"]);
        use_private_tmux(&mut sandbox);
        let gateway = GatewaySandbox::in_sandbox(sandbox);
        gateway
            .install_with(&[
                ("MOSAIC_ANTHROPIC_API_KEY", ANTHROPIC_KEY),
                ("MOSAIC_ANTHROPIC_BASE_URL", &stand_in.base_url()),
            ])
            .expect_code(0);
        wait_until("the gateway to answer /health", || gateway.healthy());
        Setup {
            gateway,
            work: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.gateway.run(args)
    }

    fn socket(&self) -> PathBuf {
        self.gateway.sandbox.root().join("tmux.sock")
    }

    fn run_dir(&self) -> PathBuf {
        self.gateway.sandbox.run_dir()
    }

    fn tmux(&self, args: &[&str]) -> Output {
        tmux(&self.socket(), args)
    }

    /// Launches `agent` (Claude Code, as far as the fleet knows) running a script
    /// that writes its environment to a file, then calls `/v1/messages` with it,
    /// then sleeps. Returns the launch's JSON (the agent's metadata).
    fn launch_probe(&self, agent: &str, extra: &[&str]) -> Value {
        let script = format!(
            "env > {env}.tmp && mv {env}.tmp {env}; \
             curl -s -o {answer} -H 'content-type: application/json' \
               -H \"Authorization: Bearer $ANTHROPIC_AUTH_TOKEN\" \
               -d '{{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":16,\"messages\":[{{\"role\":\"user\",\"content\":\"hi\"}}]}}' \
               \"$ANTHROPIC_BASE_URL/v1/messages\"; \
             exec sleep 1000",
            env = self.env_file(agent).display(),
            answer = self.work.path().join(format!("{agent}.answer")).display(),
        );
        let mut args = vec![
            "--json",
            "fleet",
            "launch",
            agent,
            "--runtime",
            "claude",
            "--detach",
        ];
        args.extend_from_slice(extra);
        args.extend(["--", "sh", "-c", script.as_str()]);
        let run = self.run(&args);
        run.expect_code(0);
        run.json()
    }

    fn env_file(&self, agent: &str) -> PathBuf {
        self.work.path().join(format!("{agent}.env"))
    }

    /// The agent's environment, once its script wrote it.
    fn pane_environment(&self, agent: &str) -> Vec<(String, String)> {
        let path = self.env_file(agent);
        wait_until(&format!("agent {agent} to write its environment"), || {
            path.exists()
        });
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    /// The gateway's keys (`gateway keys list --json`).
    fn keys(&self) -> Vec<Value> {
        let run = self.run(&["gateway", "keys", "list", "--json"]);
        run.expect_code(0);
        match run.json() {
            Value::Array(keys) => keys,
            Value::Object(object) => object
                .values()
                .find_map(|value| value.as_array().cloned())
                .expect("a list of keys"),
            other => panic!("unexpected keys list: {other}"),
        }
    }

    fn key(&self, name: &str) -> Value {
        self.keys()
            .into_iter()
            .find(|key| key["name"] == name)
            .unwrap_or_else(|| panic!("no gateway key {name}"))
    }

    fn stop(&self, agent: &str) {
        self.run(&["fleet", "stop", agent, "--force"])
            .expect_code(0);
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn variable<'a>(environment: &'a [(String, String)], name: &str) -> Option<&'a str> {
    environment
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Every process whose argv holds `needle`, as `pid: argv`.
fn processes_with_in_argv(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let argv = String::from_utf8_lossy(&argv).replace('\0', " ");
        if argv.contains(needle) && pid != std::process::id() {
            found.push(format!("{pid}: {argv}"));
        }
    }
    found
}

/// Every file under `directory` whose content holds `needle`.
fn files_containing(directory: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(directory) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(needle))
        {
            found.push(path);
        }
    }
    found
}

#[test]
fn launch_routes_claude_agents_through_the_gateway_with_the_key_only_in_their_environment() {
    let stand_in = StandIn::start(&[]);
    let setup = Setup::new(&stand_in);
    let metadata = setup.launch_probe("a1", &[]);
    let key_name = metadata["gateway_key"]
        .as_str()
        .unwrap_or_else(|| panic!("no gateway_key in {metadata}"))
        .to_string();
    assert!(key_name.starts_with("fleet-a1-"), "{key_name}");
    let url = format!("http://127.0.0.1:{}", setup.gateway.port);
    assert_eq!(metadata["gateway_url"], url.as_str());
    let key = setup.key(&key_name);
    assert_eq!(key["agent"], "a1");
    assert!(key["revoked_at"].is_null(), "{key}");

    // The pane has the gateway's URL and a Mosaic key, and nothing else of Anthropic.
    let environment = setup.pane_environment("a1");
    assert_eq!(
        variable(&environment, "ANTHROPIC_BASE_URL"),
        Some(url.as_str())
    );
    let secret = variable(&environment, "ANTHROPIC_AUTH_TOKEN")
        .expect("ANTHROPIC_AUTH_TOKEN in the pane")
        .to_string();
    assert!(secret.starts_with("mosaic_sk_"), "not a Mosaic key");
    assert_eq!(variable(&environment, "ANTHROPIC_API_KEY"), None);
    assert!(
        environment
            .iter()
            .all(|(_, value)| !value.contains(ANTHROPIC_KEY)),
        "the real Anthropic key reached the agent"
    );
    // The record names the key, never holds it.
    let record = std::fs::read_to_string(setup.run_dir().join("a1.meta.json")).unwrap();
    assert!(record.contains(&key_name));

    // The key is in no argv, not in tmux's start command or environment, and in no
    // file of the run, config or data directories.
    assert_eq!(processes_with_in_argv(&secret), Vec::<String>::new());
    let panes = setup.tmux(&["list-panes", "-a", "-F", "#{pane_start_command}"]);
    let start_commands = String::from_utf8_lossy(&panes.stdout);
    assert!(
        start_commands.contains("mosaic-fleet-gateway"),
        "{start_commands}"
    );
    assert!(
        !start_commands.contains(&secret),
        "the key is in tmux's command line"
    );
    for scope in [
        &["show-environment", "-g"][..],
        &["show-environment", "-t", "=mosaic-a1"],
    ] {
        let shown = setup.tmux(scope);
        assert!(!String::from_utf8_lossy(&shown.stdout).contains(&secret));
    }
    let sandbox_files = files_containing(setup.gateway.sandbox.root(), &secret);
    assert_eq!(
        sandbox_files,
        Vec::<PathBuf>::new(),
        "files holding the agent's key"
    );

    // The agent's request went through the gateway: `fleet ps` shows its usage today
    // (the stand-in answers 12 input and 6 output tokens).
    wait_until("the agent's request to reach the stand-in", || {
        stand_in
            .requests()
            .iter()
            .any(|request| request.path.starts_with("/v1/messages"))
    });
    wait_until("fleet ps to show the agent's usage", || {
        let run = setup.run(&["fleet", "ps", "--json"]);
        run.expect_code(0);
        let report = run.json();
        let row = report["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["agent"] == "a1")
            .cloned()
            .unwrap();
        row["usage_today"]["input_tokens"] == 12 && row["usage_today"]["output_tokens"] == 6
    });
    let table = setup.run(&["fleet", "ps"]);
    table.expect_code(0);
    assert!(table.stdout.contains("TOKENS TODAY"), "{}", table.stdout);
    assert!(
        table
            .stdout
            .lines()
            .any(|line| line.starts_with("a1 ") && line.contains(" 18 ")),
        "{}",
        table.stdout
    );

    // --no-gateway: no key, no gateway variables.
    let plain = setup.launch_probe("plain", &["--no-gateway"]);
    assert!(
        plain.get("gateway_key").is_none_or(Value::is_null),
        "{plain}"
    );
    let environment = setup.pane_environment("plain");
    assert_eq!(variable(&environment, "ANTHROPIC_AUTH_TOKEN"), None);
    assert_eq!(variable(&environment, "ANTHROPIC_BASE_URL"), None);
    assert!(setup.keys().iter().all(|key| key["agent"] != "plain"));

    // A relaunch revokes the previous run's key first and mints a new one.
    setup.stop("a1");
    std::fs::remove_file(setup.env_file("a1")).unwrap();
    let relaunched = setup.launch_probe("a1", &[]);
    let new_key_name = relaunched["gateway_key"].as_str().unwrap().to_string();
    assert_ne!(new_key_name, key_name);
    assert!(
        !setup.key(&key_name)["revoked_at"].is_null(),
        "old key still valid"
    );
    assert!(setup.key(&new_key_name)["revoked_at"].is_null());
    let new_secret = variable(&setup.pane_environment("a1"), "ANTHROPIC_AUTH_TOKEN")
        .unwrap()
        .to_string();
    assert_ne!(new_secret, secret);

    // Prune revokes the keys of the agents it forgets.
    setup.stop("a1");
    setup.stop("plain");
    let pruned = setup.run(&["fleet", "prune", "--json"]);
    pruned.expect_code(0);
    let pruned = pruned.json();
    assert!(
        pruned["pruned"]
            .as_array()
            .unwrap()
            .iter()
            .any(|agent| agent == "a1"),
        "{pruned}"
    );
    assert!(
        !setup.key(&new_key_name)["revoked_at"].is_null(),
        "prune left the key valid"
    );
    // Refused within the second the daemon may trust a key it found (KEY_CACHE_TTL).
    let deadline = Instant::now() + Duration::from_secs(3);
    let refused = loop {
        let answer = gateway_support::send(
            setup.gateway.port,
            "POST",
            "/v1/messages",
            &[("authorization", &format!("Bearer {new_secret}"))],
            Some(r#"{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[]}"#),
        )
        .unwrap();
        if answer.status == 401 || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(refused.status, 401, "{}", refused.body);
}

#[test]
fn ps_does_not_wait_for_a_gateway_that_does_not_answer() {
    // A "gateway" that accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut sandbox = Sandbox::with_plugins(&["fleet"]);
    let socket = sandbox.root().join("tmux.sock");
    sandbox
        .env("MOSAIC_TMUX_SOCKET", socket.to_str().unwrap())
        .env("MOSAIC_HEARTBEAT_INTERVAL", "1");
    std::fs::create_dir_all(sandbox.config_dir()).unwrap();
    std::fs::write(
        sandbox.config_dir().join("config.json"),
        format!(r#"{{"gateway": {{"service_manager": "supervisor", "port": {port}}}}}"#),
    )
    .unwrap();
    let fleet = fleet_support::FleetSandbox::with_sandbox(sandbox);
    fleet.launch("quiet", &["sleep", "1000"]);
    let started = Instant::now();
    let report = fleet.ps();
    let elapsed = started.elapsed();
    assert_eq!(report["gateway_usage"]["status"], "unavailable", "{report}");
    assert!(
        report["agents"][0]["usage_today"].is_null(),
        "{}",
        report["agents"][0]
    );
    // The listener would hold an unbounded client forever; ps gives up after
    // ~100 ms (the bound here leaves room for a loaded machine).
    assert!(
        elapsed < Duration::from_secs(3),
        "fleet ps took {elapsed:?}"
    );
    drop(listener);
}

#[test]
fn the_claude_code_tui_launched_through_the_gateway_does_not_ask_about_the_key() {
    if tool_or_skip("fleet_gateway", "claude").is_none() {
        return;
    }
    let stand_in = StandIn::start(&[]);
    let setup = Setup::new(&stand_in);
    let work = setup.work.path().canonicalize().unwrap();
    // A Claude Code that has been set up once and trusts the folder, so the only
    // thing that could stop it is the key.
    let claude_json = serde_json::json!({
        "hasCompletedOnboarding": true,
        "projects": {work.to_str().unwrap(): {"hasTrustDialogAccepted": true}},
    });
    std::fs::write(
        setup.gateway.sandbox.home().join(".claude.json"),
        claude_json.to_string(),
    )
    .unwrap();
    let run = setup.run(&[
        "--json",
        "fleet",
        "launch",
        "tui",
        "--runtime",
        "claude",
        "--cwd",
        work.to_str().unwrap(),
        "--detach",
    ]);
    run.expect_code(0);
    let metadata = run.json();
    assert!(metadata["gateway_key"].is_string(), "{metadata}");
    let screen = || {
        let output = setup.tmux(&["capture-pane", "-p", "-t", "=mosaic-tui:"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    wait_until("the Claude Code prompt", || {
        let text = screen();
        assert!(
            !text.contains("Do you want to use this API key"),
            "Claude Code asks about the key:\n{text}"
        );
        // The input box: "? for shortcuts" below it in Claude Code 2.1.1xx, the
        // mode line ("shift+tab to cycle") in later versions; both draw the `❯`.
        text.contains('❯')
            && (text.contains("for shortcuts") || text.contains("shift+tab to cycle"))
    });
    // A message goes to the stand-in through the gateway and its answer shows.
    setup.tmux(&[
        "send-keys",
        "-t",
        "=mosaic-tui:",
        "-l",
        "hello from the fleet",
    ]);
    setup.tmux(&["send-keys", "-t", "=mosaic-tui:", "Enter"]);
    wait_until("the stand-in's answer on the screen", || {
        screen().contains("All done.")
    });
    let pid = metadata["pane_pid"].as_u64().unwrap() as u32;
    assert!(process_running(pid));
    wait_until("the usage of agent tui", || {
        let run = setup.run(&["gateway", "usage", "--by", "agent", "--json"]);
        run.expect_code(0);
        run.stdout.contains("\"tui\"")
    });
}
