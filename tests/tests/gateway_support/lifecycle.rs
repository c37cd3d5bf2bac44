//! Helpers of the lifecycle tests: starts racing each other, and a stop that
//! must be quick, truthful and complete.

use std::process::Stdio;
use std::time::{Duration, Instant};

use mosaic_tests::Run;

use super::GatewaySandbox;

/// How long `gateway stop` gives the daemon before SIGKILL (the plugin's
/// STOP_TIMEOUT); a stop that takes this long had to kill.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Sends `signal` to `pid` (a process that is gone already is fine).
pub fn signal(pid: i32, signal: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
}

/// Runs `gateway start` in `count` processes at once; returns their runs.
pub fn start_in_parallel(gateway: &GatewaySandbox, count: usize) -> Vec<Run> {
    let children: Vec<_> = (0..count)
        .map(|_| {
            gateway
                .sandbox
                .command(["gateway", "start"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("cannot run mosaic")
        })
        .collect();
    children
        .into_iter()
        .map(|child| Run::from_output(child.wait_with_output().unwrap()))
        .collect()
}

/// `gateway stop`, which must be quick, exit 0, stop everything and say what it
/// stopped without claiming a SIGKILL.
pub fn stop_everything(gateway: &GatewaySandbox) -> Run {
    let started = Instant::now();
    let stop = gateway.run(&["gateway", "stop"]);
    let took = started.elapsed();
    stop.expect_code(0);
    assert!(took < STOP_TIMEOUT, "stop took {took:?}: {}", stop.stderr);
    assert!(
        !stop.stdout.contains("SIGKILL") && !stop.stderr.contains("SIGKILL"),
        "no SIGKILL was needed: {}{}",
        stop.stdout,
        stop.stderr
    );
    assert!(gateway.daemon_processes().is_empty(), "a daemon is left");
    assert!(
        gateway.supervisor_processes().is_empty(),
        "a supervisor is left"
    );
    assert!(!gateway.healthy());
    stop
}
