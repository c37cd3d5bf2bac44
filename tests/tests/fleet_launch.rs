//! `mosaic fleet launch` with real tmux (a private server per test): the agent runs
//! where and how it should, its pane pid is tmux's, and every refusal is clear and
//! leaves nothing behind.

mod fleet_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use fleet_support::{pid_of, process_running, FleetSandbox};

/// No tmux server exists on the private socket (nothing was ever started there).
fn assert_no_tmux_server(fleet: &FleetSandbox) {
    let output = fleet.tmux(&["list-sessions"]);
    assert!(
        !output.status.success(),
        "a tmux session was left behind: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// The run dir holds no agent file.
fn assert_no_agent_files(fleet: &FleetSandbox) {
    let names: Vec<String> = match std::fs::read_dir(fleet.run_dir()) {
        Ok(entries) => entries
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    assert!(names.is_empty(), "files left in the run dir: {names:?}");
}

#[test]
fn launched_agent_runs_in_its_session_and_is_alive() {
    let fleet = FleetSandbox::new();
    let workdir = fleet.sandbox.root().join("work");
    std::fs::create_dir_all(&workdir).unwrap();
    let run = fleet.run(&[
        "fleet",
        "launch",
        "a1",
        "--cwd",
        workdir.to_str().unwrap(),
        "--",
        "sleep",
        "1000",
    ]);
    run.expect_code(0);
    // No terminal: a summary instead of attaching.
    assert!(run.stdout.contains("launched agent a1"), "{}", run.stdout);
    assert!(
        run.stdout.contains("mosaic fleet attach a1"),
        "{}",
        run.stdout
    );

    let metadata = fleet.metadata("a1").unwrap();
    let pane_pid = pid_of(&metadata, "pane_pid");
    // The resolved pid is tmux's own #{pane_pid}, and it is alive.
    assert_eq!(fleet.tmux_pane_pids("mosaic-a1"), vec![pane_pid]);
    assert!(process_running(pane_pid));
    let command_line = std::fs::read(format!("/proc/{pane_pid}/cmdline")).unwrap();
    assert_eq!(command_line, b"sleep\x001000\x00");
    let environment = std::fs::read(format!("/proc/{pane_pid}/environ")).unwrap();
    assert!(
        environment
            .split(|byte| *byte == 0)
            .any(|entry| entry == b"MOSAIC_AGENT=a1"),
        "MOSAIC_AGENT is not in the pane's environment"
    );
    let cwd = std::fs::read_link(format!("/proc/{pane_pid}/cwd")).unwrap();
    assert_eq!(cwd, workdir.canonicalize().unwrap());
    assert_eq!(metadata["session"], "mosaic-a1");
    assert_eq!(metadata["runtime"], "sleep");
    assert_eq!(metadata["interval"], 1);
    assert_eq!(
        metadata["tmux_socket"].as_str(),
        fleet.socket().to_str(),
        "the server is recorded for later commands"
    );

    let row = fleet.row("a1");
    assert_eq!(row["status"], "alive", "{row}");
    assert_eq!(pid_of(&row, "pid"), pane_pid);
    assert_eq!(row["pid_exists"], true);
    let table = fleet.run(&["fleet", "ps"]);
    table.expect_code(0);
    let line = table.stdout.lines().nth(1).unwrap_or_default().to_string();
    for expected in ["a1", "sleep", &pane_pid.to_string(), "alive", "mosaic-a1"] {
        assert!(line.contains(expected), "{expected} missing from {line:?}");
    }
}

#[test]
fn launching_an_agent_that_is_alive_is_refused() {
    let fleet = FleetSandbox::new();
    let first = fleet.launch("twin", &["sleep", "1000"]);
    let run = fleet.run(&["fleet", "launch", "twin", "--detach", "--", "sleep", "5"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("agent `twin` is already running"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("mosaic fleet stop twin"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fleet.metadata("twin").unwrap(),
        first,
        "the record is untouched"
    );
    assert_eq!(fleet.tmux_pane_pids("mosaic-twin").len(), 1);
}

#[test]
fn invalid_agent_names_are_refused_and_leave_nothing() {
    let fleet = FleetSandbox::new();
    for name in ["bad/name", ".hidden", "a b", "é", &"x".repeat(65)] {
        let run = fleet.run(&["fleet", "launch", name, "--detach", "--", "sleep", "5"]);
        run.expect_code(1);
        assert!(
            run.stderr.contains("invalid agent name"),
            "{name}: {}",
            run.stderr
        );
    }
    assert_no_tmux_server(&fleet);
    assert_no_agent_files(&fleet);
}

#[test]
fn invalid_heartbeat_intervals_are_refused() {
    for value in ["0", "abc", "1.5", "-3"] {
        let mut fleet = FleetSandbox::new();
        fleet.sandbox.env("MOSAIC_HEARTBEAT_INTERVAL", value);
        let run = fleet.run(&["fleet", "launch", "a1", "--detach", "--", "sleep", "5"]);
        run.expect_code(1);
        assert!(
            run.stderr
                .contains(&format!("MOSAIC_HEARTBEAT_INTERVAL=\"{value}\"")),
            "{value}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("whole number of seconds"),
            "{}",
            run.stderr
        );
        assert_no_tmux_server(&fleet);
        assert_no_agent_files(&fleet);
    }
    // `config set` refuses the value (the plugin declares its check)…
    let fleet = FleetSandbox::new();
    let refused = fleet.run(&["config", "set", "fleet.heartbeat_interval", "0"]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("fleet.heartbeat_interval"),
        "{}",
        refused.stderr
    );
    // …and one written into config.json by hand is named with its file at launch.
    std::fs::create_dir_all(fleet.sandbox.config_dir()).unwrap();
    std::fs::write(
        fleet.sandbox.config_dir().join("config.json"),
        r#"{"fleet": {"heartbeat_interval": 0}}"#,
    )
    .unwrap();
    let mut command = fleet
        .sandbox
        .command(["fleet", "launch", "a1", "--detach", "--", "sleep", "5"]);
    command.env_remove("MOSAIC_HEARTBEAT_INTERVAL");
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("fleet.heartbeat_interval = 0 in"),
        "{stderr}"
    );
    assert!(stderr.contains("config.json"), "{stderr}");
    assert!(
        stderr.contains("mosaic config set fleet.heartbeat_interval 15"),
        "{stderr}"
    );
    assert_no_tmux_server(&fleet);
}

#[test]
fn missing_tmux_is_a_clear_error() {
    let mut fleet = FleetSandbox::new();
    let empty = fleet.sandbox.root().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    fleet.sandbox.env("PATH", empty.to_str().unwrap());
    let run = fleet.run(&["fleet", "launch", "a1", "--detach", "--", "sleep", "5"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("tmux is not installed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("apt-get install tmux"),
        "{}",
        run.stderr
    );
    assert_no_agent_files(&fleet);
}

#[test]
fn unwritable_run_dir_is_a_clear_error_and_starts_nothing() {
    let mut fleet = FleetSandbox::new();
    // A path below a regular file can be created by nobody, root included.
    let file = fleet.sandbox.root().join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let run_dir = file.join("run");
    fleet.sandbox.env("HB_RUN_DIR", run_dir.to_str().unwrap());
    let run = fleet.run(&["fleet", "launch", "a1", "--detach", "--", "sleep", "5"]);
    run.expect_code(1);
    assert!(run.stderr.contains("fleet run directory"), "{}", run.stderr);
    assert!(run.stderr.contains("HB_RUN_DIR"), "{}", run.stderr);
    assert_no_tmux_server(&fleet);

    // A directory without write permission, its owner's. Root ignores permissions,
    // so when the tests run as root, mosaic runs as an unprivileged user here.
    fleet.sandbox.run_unprivileged();
    let locked = fleet.sandbox.root().join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    fleet.sandbox.give_to_runner(&locked);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    fleet.sandbox.env("HB_RUN_DIR", locked.to_str().unwrap());
    let run = fleet.run(&["fleet", "launch", "a1", "--detach", "--", "sleep", "5"]);
    run.expect_code(1);
    assert!(run.stderr.contains("is not writable"), "{}", run.stderr);
    assert_no_tmux_server(&fleet);
}

#[test]
fn a_command_that_exits_at_once_is_reported_and_shown_dead() {
    let fleet = FleetSandbox::new();
    let run = fleet.run(&["fleet", "launch", "quick", "--detach", "--", "false"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("agent `quick` exited at once"),
        "{}",
        run.stderr
    );
    assert!(!fleet.has_session("mosaic-quick"));
    assert_eq!(fleet.row("quick")["status"], "dead");

    // Long enough for the sidecar's first beat, short enough to count as exiting at
    // once: the stray beat must not make ps call it alive.
    let run = fleet.run(&["fleet", "launch", "brief", "--detach", "--", "sleep", "0.3"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("agent `brief` exited at once"),
        "{}",
        run.stderr
    );
    assert_eq!(fleet.row("brief")["status"], "dead");
}

#[test]
fn unknown_runtimes_and_missing_programs_are_refused() {
    let fleet = FleetSandbox::new();
    let run = fleet.run(&["fleet", "launch", "a1", "--runtime", "nope", "--detach"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("unknown runtime `nope`"),
        "{}",
        run.stderr
    );
    let run = fleet.run(&[
        "fleet",
        "launch",
        "a1",
        "--detach",
        "--",
        "no-such-program-here",
    ]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("`no-such-program-here` was not found"),
        "{}",
        run.stderr
    );
    assert_no_tmux_server(&fleet);
    assert_no_agent_files(&fleet);
}

#[test]
fn without_bash_the_sidecar_is_skipped_with_a_warning_and_the_agent_runs() {
    let mut fleet = FleetSandbox::new();
    // A PATH with tmux and sleep but no bash.
    let bin = fleet.sandbox.root().join("bin-without-bash");
    std::fs::create_dir_all(&bin).unwrap();
    for program in ["tmux", "sleep"] {
        let found = which(program);
        std::os::unix::fs::symlink(&found, bin.join(program)).unwrap();
    }
    fleet.sandbox.env("PATH", bin.to_str().unwrap());
    let run = fleet.run(&[
        "fleet", "launch", "lonely", "--detach", "--", "sleep", "1000",
    ]);
    run.expect_code(0);
    assert!(run.stderr.contains("warning:"), "{}", run.stderr);
    assert!(run.stderr.contains("no `bash` on PATH"), "{}", run.stderr);
    assert!(fleet.has_session("mosaic-lonely"));
    let metadata = fleet.metadata("lonely").unwrap();
    assert!(metadata["sidecar_pid"].is_null());
    let row = fleet.row("lonely");
    assert_eq!(row["status"], "dead", "no heartbeat ever appears: {row}");
    assert_eq!(row["pid_exists"], true);
}

fn which(program: &str) -> std::path::PathBuf {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|directory| Path::new(directory).join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}
