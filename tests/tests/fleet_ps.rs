//! `mosaic fleet ps`: the ACTIVITY column from the hooks plugin's records, the
//! `--json` document, per-row reporting of unreadable files, and the configurable
//! status thresholds. Most cases use generated run-dir files (no tmux needed).

mod fleet_support;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use fleet_support::{pid_of, FleetSandbox};
use mosaic_plugin_api::sdk::activity::{write_activity, AgentActivity};
use serde_json::{json, Value};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Writes the files `fleet launch` and the sidecar would: metadata, and a beat
/// `age` seconds old (none for `None`).
fn write_agent(run_dir: &Path, agent: &str, interval: u64, age: Option<u64>) {
    std::fs::create_dir_all(run_dir).unwrap();
    let metadata = json!({
        "agent": agent,
        "runtime": "claude",
        "command": ["claude"],
        "cwd": "/",
        "session": format!("mosaic-{agent}"),
        "pane_pid": 999_999,
        "started_at": now() - 100,
        "interval": interval,
    });
    std::fs::write(
        run_dir.join(format!("{agent}.meta.json")),
        metadata.to_string(),
    )
    .unwrap();
    if let Some(age) = age {
        let beat = json!({
            "agent": agent,
            "pane_pid": 999_999,
            "sidecar_pid": 999_998,
            "interval": interval,
            "beat_at": now() - age,
        });
        std::fs::write(run_dir.join(format!("{agent}.hb")), beat.to_string()).unwrap();
    }
}

fn status_of(report: &Value, agent: &str) -> String {
    report["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["agent"] == agent)
        .unwrap_or_else(|| panic!("{agent} missing from {report}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn activity_column_shows_the_last_tool_or_idle_time() {
    let fleet = FleetSandbox::new();
    fleet.launch("worker", &["sleep", "1000"]);
    let mut activity = AgentActivity {
        agent: "worker".into(),
        session_id: Some("session-1".into()),
        last_event: "PostToolUse".into(),
        last_event_at: now() - 5,
        last_tool: Some("Bash".into()),
        last_tool_at: Some(now() - 5),
        ..AgentActivity::default()
    };
    write_activity(&fleet.run_dir(), &activity).unwrap();
    let table = fleet.run(&["fleet", "ps"]);
    table.expect_code(0);
    let header = table.stdout.lines().next().unwrap();
    let row = table.stdout.lines().nth(1).unwrap();
    let column = header.find("ACTIVITY").unwrap();
    assert!(
        row[column..].starts_with("Bash "),
        "ACTIVITY column of {row:?} under {header:?}"
    );
    assert!(row.contains("s ago"), "{row}");
    let json_row = fleet.row("worker");
    assert_eq!(json_row["activity"]["last_tool"], "Bash");
    assert_eq!(json_row["activity"]["session_id"], "session-1");

    activity.idle_since = Some(now() - 125);
    write_activity(&fleet.run_dir(), &activity).unwrap();
    let table = fleet.run(&["fleet", "ps"]);
    assert!(table.stdout.contains("idle 2m"), "{}", table.stdout);
}

#[test]
fn json_output_has_every_field() {
    let fleet = FleetSandbox::new();
    let metadata = fleet.launch("shape", &["sleep", "1000"]);
    let report = fleet.ps();
    assert!(report["now"].is_u64());
    assert_eq!(report["run_dir"], fleet.run_dir().display().to_string());
    let row = &report["agents"][0];
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "agent",
            "runtime",
            "command",
            "cwd",
            "branch",
            "worktree",
            "session",
            "pid",
            "pid_exists",
            "status",
            "state",
            "state_since",
            "state_seconds",
            "state_message",
            "interval",
            "last_beat_at",
            "last_beat_age_seconds",
            "started_at",
            "uptime_seconds",
            "stopped_at",
            "pruned_at",
            "activity",
            "gateway_key",
            "usage_today",
            "problems"
        ]
    );
    assert_eq!(row["agent"], "shape");
    assert_eq!(row["runtime"], "sleep");
    assert_eq!(row["command"], json!(["sleep", "1000"]));
    assert!(row["cwd"].is_string());
    assert!(row["branch"].is_null() && row["worktree"].is_null());
    assert_eq!(row["session"], "mosaic-shape");
    assert_eq!(pid_of(row, "pid"), pid_of(&metadata, "pane_pid"));
    assert_eq!(row["pid_exists"], true);
    assert_eq!(row["status"], "alive");
    assert_eq!(row["interval"], 1);
    assert!(row["last_beat_at"].is_u64());
    assert!(row["last_beat_age_seconds"].as_u64().unwrap() <= 2);
    assert!(row["started_at"].is_u64());
    assert!(row["uptime_seconds"].is_u64());
    assert!(row["activity"].is_null());
    assert_eq!(row["problems"], json!([]));
}

#[test]
fn unreadable_files_are_reported_in_their_row_and_the_others_still_show() {
    let fleet = FleetSandbox::new();
    let run_dir = fleet.run_dir();
    write_agent(&run_dir, "healthy", 15, Some(1));
    write_agent(&run_dir, "torn", 15, None);
    std::fs::write(run_dir.join("torn.hb"), "{\"agent\":\"torn\",").unwrap();
    write_agent(&run_dir, "scrambled", 15, Some(1));
    std::fs::write(run_dir.join("scrambled.meta.json"), "{oops}").unwrap();

    let run = fleet.run(&["fleet", "ps"]);
    run.expect_code(0);
    let rows: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{}", run.stdout);
    let row = |agent: &str| {
        *rows
            .iter()
            .find(|row| row.starts_with(agent))
            .unwrap_or_else(|| panic!("{agent} missing"))
    };
    assert!(row("healthy").contains("alive"));
    assert!(row("torn").contains("unknown"), "{}", row("torn"));
    assert!(row("torn").contains("unreadable"), "{}", row("torn"));
    assert!(
        row("scrambled").contains("alive"),
        "the heartbeat still tells"
    );
    assert!(
        row("scrambled").contains('?'),
        "runtime unknown: {}",
        row("scrambled")
    );
    assert!(run.stderr.contains("agent `torn`"), "{}", run.stderr);
    assert!(run.stderr.contains("torn.hb:1:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("scrambled.meta.json:1:2"),
        "{}",
        run.stderr
    );

    let report = fleet.ps();
    let torn = report["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["agent"] == "torn")
        .unwrap();
    assert!(torn["problems"][0].as_str().unwrap().contains("torn.hb"));
}

#[test]
fn thresholds_come_from_config_json() {
    let fleet = FleetSandbox::new();
    let run_dir = fleet.run_dir();
    write_agent(&run_dir, "quiet", 10, Some(35));
    write_agent(&run_dir, "silent", 10, Some(45));
    write_agent(&run_dir, "unborn", 10, None);
    let report = fleet.ps();
    assert_eq!(status_of(&report, "quiet"), "stale");
    assert_eq!(status_of(&report, "silent"), "dead");
    assert_eq!(status_of(&report, "unborn"), "dead");

    fleet.set_config("fleet.stale_after_intervals", "4");
    fleet.set_config("fleet.dead_after_intervals", "10");
    let report = fleet.ps();
    assert_eq!(status_of(&report, "quiet"), "alive");
    assert_eq!(status_of(&report, "silent"), "stale");

    fleet.set_config("fleet.dead_after_intervals", "3");
    let run = fleet.run(&["fleet", "ps"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("stale_after_intervals < dead_after_intervals"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("fleet.dead_after_intervals"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_empty_fleet_says_so() {
    let fleet = FleetSandbox::new();
    let run = fleet.run(&["fleet", "ps"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("no agents in"), "{}", run.stderr);
    assert_eq!(fleet.ps()["agents"], json!([]));
}
