//! An agent's life with real tmux and a 1 s heartbeat: alive while it runs, then
//! stale, then dead once its process is gone, with the sidecar gone too; and the
//! commands that end it, read it and clean up after it.
//!
//! Status changes are observed by polling `fleet ps` with bounded waits, never by
//! sleeping a fixed time. Where a test must see the short "stale" phase it widens it
//! with the configurable thresholds, so a slow machine cannot poll past it.

mod fleet_support;

use fleet_support::{pid_of, process_running, wait_until, FleetSandbox};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Stale after 2 intervals without a beat (the default), dead after 8.
fn widen_stale_phase(fleet: &FleetSandbox) {
    fleet.set_config("fleet.dead_after_intervals", "8");
}

#[test]
fn short_agent_goes_alive_then_stale_then_dead_and_its_sidecar_ends() {
    let fleet = FleetSandbox::new();
    widen_stale_phase(&fleet);
    let metadata = fleet.launch("brief", &["sleep", "3"]);
    let sidecar = pid_of(&metadata, "sidecar_pid");
    let pane_pid = pid_of(&metadata, "pane_pid");

    // The heartbeat appears and is rewritten.
    let first = fleet.heartbeat("brief").expect("the first beat")["beat_at"]
        .as_u64()
        .unwrap();
    wait_until("a second beat", || {
        fleet.heartbeat("brief").unwrap()["beat_at"]
            .as_u64()
            .unwrap()
            > first
    });
    assert_eq!(fleet.row("brief")["status"], "alive");

    let seen = fleet.wait_for_status("brief", "dead");
    assert_eq!(seen, ["alive", "stale", "dead"]);
    assert!(!process_running(pane_pid));
    wait_until("the sidecar to exit", || !process_running(sidecar));
    let row = fleet.row("brief");
    assert_eq!(row["pid_exists"], false);
    assert!(row["uptime_seconds"].is_null(), "{row}");
}

#[test]
fn killing_the_pane_process_makes_the_agent_stale_then_dead() {
    let fleet = FleetSandbox::new();
    widen_stale_phase(&fleet);
    let metadata = fleet.launch("victim", &["sleep", "1000"]);
    let pane_pid = pid_of(&metadata, "pane_pid");
    let sidecar = pid_of(&metadata, "sidecar_pid");
    assert_eq!(fleet.row("victim")["status"], "alive");
    kill(Pid::from_raw(pane_pid as i32), Signal::SIGKILL).unwrap();
    let seen = fleet.wait_for_status("victim", "dead");
    assert_eq!(seen.last().map(String::as_str), Some("dead"));
    assert!(seen.contains(&"stale".to_string()), "{seen:?}");
    wait_until("the sidecar to exit", || !process_running(sidecar));
}

#[test]
fn killing_the_tmux_server_ends_every_agent_and_sidecar() {
    let fleet = FleetSandbox::new();
    widen_stale_phase(&fleet);
    let sidecars: Vec<u32> = ["one", "two"]
        .iter()
        .map(|agent| pid_of(&fleet.launch(agent, &["sleep", "1000"]), "sidecar_pid"))
        .collect();
    assert!(fleet.tmux(&["kill-server"]).status.success());
    // Both at once: watching them one after the other would miss the second's
    // stale phase.
    let mut seen: [Vec<String>; 2] = Default::default();
    wait_until("both agents to become dead", || {
        let report = fleet.ps();
        for (index, agent) in ["one", "two"].iter().enumerate() {
            let row = report["agents"]
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["agent"] == *agent)
                .unwrap();
            let status = row["status"].as_str().unwrap().to_string();
            if seen[index].last() != Some(&status) {
                seen[index].push(status);
            }
        }
        seen.iter()
            .all(|statuses| statuses.last().map(String::as_str) == Some("dead"))
    });
    for statuses in &seen {
        assert!(statuses.contains(&"stale".to_string()), "{seen:?}");
    }
    for sidecar in sidecars {
        wait_until("the sidecars to exit", || !process_running(sidecar));
    }
}

#[test]
fn stop_asks_the_runtime_to_exit_and_marks_it_stopped() {
    let fleet = FleetSandbox::new();
    let metadata = fleet.launch("polite", &["sleep", "1000"]);
    let pane_pid = pid_of(&metadata, "pane_pid");
    let sidecar = pid_of(&metadata, "sidecar_pid");
    let run = fleet.run(&["fleet", "stop", "polite"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("stopped agent polite"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("asking agent `polite` to exit"),
        "{}",
        run.stderr
    );
    assert!(!fleet.has_session("mosaic-polite"));
    assert!(!process_running(pane_pid));
    wait_until("the sidecar to exit", || !process_running(sidecar));
    let row = fleet.row("polite");
    assert_eq!(row["status"], "stopped");
    assert!(row["stopped_at"].is_u64());

    // Stopping again is harmless; an unknown agent is an error.
    fleet.run(&["fleet", "stop", "polite"]).expect_code(0);
    let run = fleet.run(&["fleet", "stop", "nobody"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("no agent named `nobody`"),
        "{}",
        run.stderr
    );
}

#[test]
fn stop_force_kills_a_runtime_that_ignores_interrupts_and_hangups() {
    let fleet = FleetSandbox::new();
    let metadata = fleet.launch(
        "stubborn",
        &["bash", "-c", "trap '' INT HUP; while :; do sleep 1; done"],
    );
    let pane_pid = pid_of(&metadata, "pane_pid");
    let run = fleet.run(&["fleet", "stop", "stubborn", "--timeout", "1"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("did not exit within 1s"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert!(process_running(pane_pid), "it survives the polite stop");
    assert!(!fleet.has_session("mosaic-stubborn"));

    fleet
        .run(&["fleet", "stop", "stubborn", "--force"])
        .expect_code(0);
    assert!(!process_running(pane_pid));
}

#[test]
fn logs_print_the_pane() {
    let fleet = FleetSandbox::new();
    fleet.launch(
        "talker",
        &[
            "sh",
            "-c",
            "echo first line; echo second line; exec sleep 1000",
        ],
    );
    wait_until("the pane to show both lines", || {
        let run = fleet.run(&["fleet", "logs", "talker"]);
        run.code == 0 && run.stdout.contains("second line")
    });
    let run = fleet.run(&["fleet", "logs", "talker"]);
    assert_eq!(run.stdout, "first line\nsecond line\n");
    let run = fleet.run(&["fleet", "logs", "talker", "-n", "1"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "second line\n");
    let run = fleet.run(&["fleet", "logs", "talker", "-n", "0"]);
    run.expect_code(1);
    assert!(run.stderr.contains("--lines 0"), "{}", run.stderr);

    fleet
        .run(&["fleet", "stop", "talker", "--force"])
        .expect_code(0);
    let run = fleet.run(&["fleet", "logs", "talker"]);
    run.expect_code(1);
    assert!(run.stderr.contains("is not running"), "{}", run.stderr);
}

#[test]
fn attach_needs_a_terminal_and_a_running_agent() {
    let fleet = FleetSandbox::new();
    fleet.launch("remote", &["sleep", "1000"]);
    let run = fleet.run(&["fleet", "attach", "remote"]);
    run.expect_code(1);
    assert!(run.stderr.contains("needs a terminal"), "{}", run.stderr);
    assert!(
        run.stderr.contains("mosaic fleet logs remote"),
        "{}",
        run.stderr
    );
    let run = fleet.run(&["fleet", "attach", "ghost"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("no agent named `ghost`"),
        "{}",
        run.stderr
    );
}

#[test]
fn prune_removes_dead_agents_keeps_the_living_and_remembers() {
    let fleet = FleetSandbox::new();
    fleet.launch("done", &["sleep", "1"]);
    fleet.launch("working", &["sleep", "1000"]);
    // A dead heartbeat whose session still exists: its sidecar was killed.
    let orphan = fleet.launch("orphan", &["sleep", "1000"]);
    kill(
        Pid::from_raw(-(pid_of(&orphan, "sidecar_pid") as i32)),
        Signal::SIGKILL,
    )
    .unwrap();
    fleet.wait_for_status("done", "dead");
    fleet.wait_for_status("orphan", "dead");

    let run = fleet.run(&["fleet", "prune", "--dry-run"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "would prune done\n");
    assert!(fleet.metadata("done").is_some());

    let run = fleet.run(&["fleet", "prune"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "pruned done\n");
    assert!(run.stderr.contains("kept agent `orphan`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("mosaic fleet stop orphan"),
        "{}",
        run.stderr
    );
    for file in ["done.meta.json", "done.hb"] {
        assert!(!fleet.run_dir().join(file).exists(), "{file} is left");
    }
    let agents: Vec<String> = fleet.ps()["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["agent"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(agents, ["orphan", "working"]);

    let all = fleet.run(&["fleet", "ps", "--all", "--json"]).json();
    let pruned = all["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["agent"] == "done")
        .expect("the pruned agent in --all");
    assert_eq!(pruned["status"], "pruned");
    assert!(pruned["pruned_at"].is_u64());

    // Stopping the orphan lets prune take it.
    fleet
        .run(&["fleet", "stop", "orphan", "--force"])
        .expect_code(0);
    let run = fleet.run(&["fleet", "prune"]);
    assert_eq!(run.stdout, "pruned orphan\n");
}

#[test]
fn prune_sets_a_corrupt_history_aside_and_still_remembers_the_agent() {
    let fleet = FleetSandbox::new();
    fleet.launch("gone", &["sleep", "1000"]);
    fleet.run(&["fleet", "stop", "gone"]).expect_code(0);
    let history = fleet.run_dir().join("pruned-history.json");
    std::fs::write(&history, "{bad").unwrap();

    // ps --all still lists the agent and names the bad file once on stderr.
    let run = fleet.run(&["fleet", "ps", "--all"]);
    run.expect_code(0);
    assert!(run.stdout.contains("gone"), "{}", run.stdout);
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains(&format!("{}:1:2", history.display())),
        "{}",
        run.stderr
    );

    let run = fleet.run(&["fleet", "prune"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "pruned gone\n");
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].starts_with(&format!("warning: {}:1:2", history.display())),
        "{}",
        run.stderr
    );
    assert!(warnings[0].contains(".corrupt-"), "{}", run.stderr);
    for file in ["gone.meta.json", "gone.hb"] {
        assert!(!fleet.run_dir().join(file).exists(), "{file} is left");
    }
    let all = fleet.run(&["fleet", "ps", "--all", "--json"]);
    all.expect_code(0);
    assert_eq!(all.stderr, "");
    let rows = all.json()["agents"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["agent"], "gone");
    assert_eq!(rows[0]["status"], "pruned");
    assert_eq!(rows[0]["command"], serde_json::json!(["sleep", "1000"]));
    let set_aside: Vec<String> = std::fs::read_dir(fleet.run_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("pruned-history.json.corrupt-"))
        .collect();
    assert_eq!(set_aside.len(), 1, "{set_aside:?}");
}

#[test]
fn a_dead_agent_can_be_launched_again() {
    let fleet = FleetSandbox::new();
    fleet.launch("phoenix", &["sleep", "1"]);
    fleet.wait_for_status("phoenix", "dead");
    let metadata = fleet.launch("phoenix", &["sleep", "1000"]);
    assert_eq!(fleet.row("phoenix")["status"], "alive");
    assert_eq!(
        fleet.tmux_pane_pids("mosaic-phoenix"),
        vec![pid_of(&metadata, "pane_pid")]
    );
}
