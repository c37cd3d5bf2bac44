//! The built-in supervisor through the installed binary: a killed daemon is back
//! within two seconds and `status` shows the restart; a daemon that keeps crashing
//! makes the supervisor give up, and `status` says so; the log is rotated at its
//! cap and `logs -n` reads across the rotated file; starts and stops racing each
//! other end with one daemon and one supervisor, or none.

mod gateway_support;

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use gateway_support::lifecycle::*;
use gateway_support::*;
use mosaic_tests::Run;
use nix::sys::signal::Signal;
use serde_json::json;

/// Appends 1000 lines (~50 kB) starting with `text` to the log.
fn fill(log_file: &Path, text: &str) {
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(log_file)
        .unwrap();
    for index in 0..1000 {
        writeln!(
            log,
            "{text} {index} ----------------------------------------"
        )
        .unwrap();
    }
}

#[test]
fn a_killed_daemon_is_healthy_again_within_two_seconds_and_status_shows_the_restart() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    let supervisor = gateway.supervisor_processes();
    assert_eq!(supervisor.len(), 1, "one supervisor: {supervisor:?}");
    let pid = gateway.daemon_pid().unwrap();

    signal(pid, Signal::SIGKILL);
    let killed = Instant::now();
    // Wait until the old one is gone, then until the new one answers.
    assert!(wait_for(Duration::from_secs(10), || gateway
        .daemon_pid()
        .is_some_and(|new| new != pid)
        && gateway.healthy()));
    let back_after = killed.elapsed();
    assert!(
        back_after < Duration::from_secs(2),
        "healthy again only after {back_after:?}"
    );
    assert_eq!(gateway.supervisor_processes(), supervisor);
    assert_eq!(gateway.daemon_processes().len(), 1);

    let status = gateway.run(&["--json", "gateway", "status"]);
    status.expect_code(0);
    let status = status.json();
    assert_eq!(status["restarts"], json!(1), "{status}");
    assert_eq!(status["last_exit"], json!("killed by SIGKILL"), "{status}");
    assert_eq!(status["supervisor"]["state"], json!("running"), "{status}");
    assert_eq!(
        status["supervisor"]["pid"],
        json!(supervisor[0]),
        "{status}"
    );
    let human = gateway.run(&["gateway", "status"]);
    human.expect_code(0);
    assert!(
        human
            .stdout
            .contains("1 restart; last exit: killed by SIGKILL"),
        "{}",
        human.stdout
    );
    // The data survived.
    token(gateway.port, ADMIN_EMAIL, ADMIN_PASSWORD);

    // A daemon that exits cleanly (SIGTERM) is not restarted; the supervisor ends.
    let pid = gateway.daemon_pid().unwrap();
    signal(pid, Signal::SIGTERM);
    assert!(wait_for(Duration::from_secs(20), || gateway
        .supervisor_processes()
        .is_empty()
        && gateway.daemon_processes().is_empty()));
    let status = gateway.run(&["--json", "gateway", "status"]);
    status.expect_code(3);
    assert_eq!(status.json()["last_exit"], json!("exited with code 0"));
    assert_eq!(status.json()["supervisor"]["state"], json!("stopped"));
}

#[test]
fn a_daemon_that_keeps_crashing_makes_the_supervisor_give_up_and_status_says_so() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    gateway.run(&["gateway", "stop"]).expect_code(0);
    // Another program takes the port: every run of the daemon fails at once.
    let _squatter = TcpListener::bind(("127.0.0.1", gateway.port)).unwrap();

    let start = gateway.run(&["gateway", "start"]);
    start.expect_code(1);
    assert!(
        start
            .stderr
            .contains("the gateway crashed 5 times within 60 s while starting"),
        "{}",
        start.stderr
    );
    assert!(
        start.stderr.contains("already in use by another program"),
        "the log tail shows the cause: {}",
        start.stderr
    );
    assert!(wait_for(Duration::from_secs(10), || gateway
        .supervisor_processes()
        .is_empty()));
    assert!(gateway.daemon_processes().is_empty());

    let status = gateway.run(&["gateway", "status"]);
    status.expect_code(3);
    assert!(
        status.stdout.contains(
            "gateway: not running: the supervisor gave up after 5 crashes within 60 s \
             (last time the daemon exited with code 1)"
        ),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("`mosaic gateway logs`")
            && status.stdout.contains("`mosaic gateway start`"),
        "{}",
        status.stdout
    );
    let json = gateway.run(&["--json", "gateway", "status"]);
    json.expect_code(3);
    let json = json.json();
    assert_eq!(json["supervisor"]["state"], json!("gave_up"), "{json}");
    assert_eq!(json["supervisor"]["gave_up"], json!(true));
    assert_eq!(json["restarts"], json!(4));
    assert_eq!(json["last_exit"], json!("exited with code 1"));
    let log = std::fs::read_to_string(gateway.log_file()).unwrap();
    assert!(log.contains("giving up"), "{log}");
}

#[test]
fn the_log_is_rotated_at_its_cap_and_logs_reads_across_the_rotated_file() {
    const CAP: u64 = 20_000;
    let cap = CAP.to_string();
    let gateway = GatewaySandbox::new();
    gateway
        .install_with(&[("MOSAIC_GATEWAY_LOG_MAX_BYTES", &cap)])
        .expect_code(0);
    gateway.run(&["gateway", "stop"]).expect_code(0);
    // Fill the log past the cap; the daemon's next line rotates it.
    fill(&gateway.log_file(), "filler line");
    assert!(std::fs::metadata(gateway.log_file()).unwrap().len() > CAP);
    let start = Run::from_output(
        gateway
            .sandbox
            .command(["gateway", "start"])
            .env("MOSAIC_GATEWAY_LOG_MAX_BYTES", &cap)
            .output()
            .unwrap(),
    );
    start.expect_code(0);

    let rotated = gateway.log_file().with_extension("log.1");
    assert!(
        wait_for(Duration::from_secs(10), || rotated.exists()),
        "no rotated log"
    );
    let current = std::fs::read_to_string(gateway.log_file()).unwrap();
    assert!(
        (current.len() as u64) < CAP,
        "the current log has {} bytes",
        current.len()
    );
    assert!(!current.contains("filler line"), "{current}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("filler line 999"), "{old}");

    // The daemon and the supervisor both write to the new file: the supervisor's
    // note about a crash and the restarted daemon's lines land there.
    let pid = gateway.daemon_pid().unwrap();
    signal(pid, Signal::SIGKILL);
    assert!(wait_for(Duration::from_secs(10), || gateway
        .daemon_pid()
        .is_some_and(|new| new != pid)
        && gateway.healthy()));
    let current = std::fs::read_to_string(gateway.log_file()).unwrap();
    assert!(
        current.contains(&format!(
            "the daemon (pid {pid}) crashed (killed by SIGKILL)"
        )),
        "{current}"
    );
    let new_pid = gateway.daemon_pid().unwrap();
    assert!(
        current.contains(&format!("listening on http://127.0.0.1:{}", gateway.port))
            && current.contains(&format!("pid={new_pid}")),
        "{current}"
    );
    assert!((current.len() as u64) < CAP);

    // Filled past the cap again, the next line of the daemon (a failed login)
    // rotates again, and `.1` moves to `.2`.
    fill(&gateway.log_file(), "second filler");
    let answer = login(gateway.port, "nobody@example.com", "wrong password");
    assert_eq!(answer.status, 401, "{}", answer.body);
    let oldest = gateway.log_file().with_extension("log.2");
    assert!(
        wait_for(Duration::from_secs(10), || oldest.exists()),
        "no second rotation"
    );
    assert!(std::fs::read_to_string(&oldest)
        .unwrap()
        .contains("filler line 999"));
    assert!(std::fs::read_to_string(&rotated)
        .unwrap()
        .contains("second filler 999"));
    assert!(std::fs::metadata(gateway.log_file()).unwrap().len() < CAP);

    // `logs -n` continues into the rotated files when the current one is short.
    let lines_now = std::fs::read_to_string(gateway.log_file())
        .unwrap()
        .lines()
        .count();
    let wanted = lines_now + 5;
    let logs = gateway.run(&["gateway", "logs", "-n", &wanted.to_string()]);
    logs.expect_code(0);
    assert_eq!(logs.stdout.lines().count(), wanted, "{}", logs.stdout);
}

#[test]
fn parallel_starts_start_one_daemon_and_stop_stops_all_of_it() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    stop_everything(&gateway);
    for count in [2, 5] {
        let runs = start_in_parallel(&gateway, count);
        for run in &runs {
            run.expect_code(0);
        }
        let started = runs
            .iter()
            .filter(|run| run.stdout.contains(" started (pid "))
            .count();
        let already = runs
            .iter()
            .filter(|run| run.stdout.contains("gateway already running (pid "))
            .count();
        assert_eq!(
            (started, already),
            (1, count - 1),
            "{:?}",
            runs.iter().map(|run| &run.stdout).collect::<Vec<_>>()
        );
        assert!(gateway.healthy());
        let daemons = gateway.daemon_processes();
        assert_eq!(daemons.len(), 1, "{count} starts: daemons {daemons:?}");
        assert_eq!(gateway.supervisor_processes().len(), 1);
        let stop = stop_everything(&gateway);
        let daemon = daemons[0];
        assert!(
            stop.stdout.contains(&format!(
                "gateway stopped (daemon pid {daemon}, supervisor pid "
            )),
            "{}",
            stop.stdout
        );
        let again = gateway.run(&["gateway", "stop"]);
        again.expect_code(0);
        assert_eq!(again.stdout.trim(), "gateway was not running");
    }
}

#[test]
fn parallel_start_and_stop_end_in_a_consistent_state() {
    let gateway = GatewaySandbox::new();
    gateway.install().expect_code(0);
    for _ in 0..4 {
        let children: Vec<_> = ["start", "stop", "start", "stop"]
            .iter()
            .map(|command| {
                gateway
                    .sandbox
                    .command(["gateway", command])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("cannot run mosaic")
            })
            .collect();
        for child in children {
            Run::from_output(child.wait_with_output().unwrap()).expect_code(0);
        }
        let daemons = gateway.daemon_processes();
        let supervisors = gateway.supervisor_processes();
        let status = gateway.run(&["--json", "gateway", "status"]);
        if daemons.is_empty() {
            assert!(supervisors.is_empty(), "a supervisor without a daemon");
            status.expect_code(3);
            assert!(!gateway.healthy());
        } else {
            assert_eq!(daemons.len(), 1, "daemons {daemons:?}");
            assert_eq!(supervisors.len(), 1, "supervisors {supervisors:?}");
            status.expect_code(0);
            assert_eq!(status.json()["pid"], json!(daemons[0]));
            assert!(gateway.healthy());
        }
    }
    stop_everything(&gateway);
}
