//! The heartbeat sidecar, checked live: detached in its own session without a
//! terminal, stdio on /dev/null, no descriptor inherited from the launcher, the
//! right agent/pid/interval/dir, outliving the launcher and a hang-up, writing the
//! heartbeat by atomic replacement, and independent of the installed `mosaic`.

mod fleet_support;

use std::collections::BTreeSet;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use fleet_support::{pid_of, process_running, wait_until, FleetSandbox};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{getsid, Pid};

/// The descriptor the test leaks into the launcher (without close-on-exec).
const LEAKED_DESCRIPTOR: i32 = 9;

/// The sidecar pid from the agent's metadata.
fn sidecar_pid(fleet: &FleetSandbox, agent: &str) -> u32 {
    pid_of(&fleet.metadata(agent).unwrap(), "sidecar_pid")
}

/// Waits until the heartbeat's `beat_at` passes `after`.
fn wait_for_beat_after(fleet: &FleetSandbox, agent: &str, after: u64) -> u64 {
    let mut latest = 0;
    wait_until(&format!("a heartbeat of {agent} after {after}"), || {
        latest = fleet
            .heartbeat(agent)
            .and_then(|beat| beat["beat_at"].as_u64())
            .unwrap_or(0);
        latest > after
    });
    latest
}

#[test]
fn sidecar_is_detached_and_inherits_nothing_from_the_launcher() {
    let fleet = FleetSandbox::new();
    // Launch with a descriptor the launcher inherits without close-on-exec, and with
    // stdout/stderr on pipes: the sidecar must hold neither.
    let leaked = File::open("/etc/hostname").unwrap();
    let leaked_raw = leaked.as_raw_fd();
    let mut command = fleet
        .sandbox
        .command(["fleet", "launch", "probe", "--", "sleep", "1000"]);
    // SAFETY: dup2 is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            nix::unistd::dup2(leaked_raw, LEAKED_DESCRIPTOR)?;
            Ok(())
        });
    }
    let launcher = command.output().unwrap();
    assert!(
        launcher.status.success(),
        "{}",
        String::from_utf8_lossy(&launcher.stderr)
    );
    // `output()` returned: the launcher has exited, and its pipes reached EOF, so no
    // process (tmux server, sidecar) kept them open.

    let metadata = fleet.metadata("probe").unwrap();
    let pane_pid = pid_of(&metadata, "pane_pid");
    let sidecar = sidecar_pid(&fleet, "probe");
    assert!(
        process_running(sidecar),
        "the sidecar outlives the launcher"
    );

    // Its own session (it leads it), not the test's.
    let session = getsid(Some(Pid::from_raw(sidecar as i32))).unwrap();
    assert_eq!(session.as_raw(), sidecar as i32);
    assert_ne!(session, getsid(None).unwrap());
    // No controlling terminal: tty_nr (field 7 of /proc/PID/stat) is 0.
    let stat = std::fs::read_to_string(format!("/proc/{sidecar}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    assert_eq!(fields[4], "0", "tty_nr of {stat}");

    // Only 0-2, all on /dev/null.
    let descriptors: BTreeSet<String> = std::fs::read_dir(format!("/proc/{sidecar}/fd"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        descriptors,
        BTreeSet::from(["0".to_string(), "1".to_string(), "2".to_string()]),
        "the sidecar holds descriptors beyond stdio"
    );
    for descriptor in 0..3 {
        let target = std::fs::read_link(format!("/proc/{sidecar}/fd/{descriptor}")).unwrap();
        assert_eq!(target.to_str(), Some("/dev/null"), "fd {descriptor}");
    }

    // The right agent, pane pid, interval and run dir.
    let command_line = std::fs::read(format!("/proc/{sidecar}/cmdline")).unwrap();
    let arguments: Vec<String> = command_line
        .split(|byte| *byte == 0)
        .map(|argument| String::from_utf8_lossy(argument).into_owned())
        .collect();
    let start = arguments
        .iter()
        .position(|argument| argument == "mosaic-fleet-heartbeat")
        .unwrap_or_else(|| panic!("not a sidecar: {arguments:?}"));
    assert_eq!(
        arguments[start + 1..start + 5],
        [
            "probe".to_string(),
            pane_pid.to_string(),
            "1".to_string(),
            fleet.run_dir().display().to_string()
        ]
    );
    let beat = fleet.heartbeat("probe").expect("a first beat");
    assert_eq!(beat["agent"], "probe");
    assert_eq!(pid_of(&beat, "pane_pid"), pane_pid);
    assert_eq!(pid_of(&beat, "sidecar_pid"), sidecar);
    assert_eq!(beat["interval"], 1);

    // A hang-up does not end it; it keeps beating.
    kill(Pid::from_raw(sidecar as i32), Signal::SIGHUP).unwrap();
    let last = beat["beat_at"].as_u64().unwrap();
    wait_for_beat_after(&fleet, "probe", last + 1);
    assert!(process_running(sidecar));
    drop(leaked);
}

#[test]
fn heartbeat_is_replaced_atomically_never_torn() {
    let fleet = FleetSandbox::new();
    fleet.launch("atomic", &["sleep", "1000"]);
    let path = fleet.run_dir().join("atomic.hb");
    let mut inodes = BTreeSet::new();
    let mut beats = BTreeSet::new();
    let mut reads = 0;
    let deadline = Instant::now() + Duration::from_secs(40);
    // Read as fast as possible across several beats: every read is one whole beat.
    while beats.len() < 4 {
        assert!(
            Instant::now() < deadline,
            "fewer than 4 beats in 40 s: {beats:?}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let beat: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("torn heartbeat ({error}): {text:?}"));
        assert!(text.ends_with("}\n"), "{text:?}");
        assert_eq!(beat["agent"], "atomic");
        beats.insert(beat["beat_at"].as_u64().unwrap());
        inodes.insert(std::fs::metadata(&path).unwrap().ino());
        reads += 1;
    }
    assert!(reads > 10, "only {reads} reads");
    // Each beat is a new file renamed over the old one, not a rewrite in place.
    assert!(inodes.len() >= 3, "inodes: {inodes:?}");
    // No hidden file (write probe, lock) other than in-flight temporaries remains.
    let leftovers: Vec<String> = std::fs::read_dir(fleet.run_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.') && !name.contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn sidecar_keeps_beating_when_mosaic_is_upgraded_or_removed() {
    let fleet = FleetSandbox::new();
    fleet.launch("steady", &["sleep", "1000"]);
    let sidecar = sidecar_pid(&fleet, "steady");
    let binary = fleet.sandbox.binary();
    let plugin = binary
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("lib/mosaic/plugins/libmosaic_fleet.so");
    assert!(plugin.is_file(), "{}", plugin.display());

    // An upgrade the way scripts/install.sh does it: copy beside, rename over.
    for file in [&binary, &plugin] {
        let staged = file.with_extension("staged");
        std::fs::copy(file, &staged).unwrap();
        std::fs::rename(&staged, file).unwrap();
    }
    let now = fleet.heartbeat("steady").unwrap()["beat_at"]
        .as_u64()
        .unwrap();
    wait_for_beat_after(&fleet, "steady", now + 1);
    assert_eq!(fleet.row("steady")["status"], "alive");

    // Even with mosaic gone entirely the sidecar goes on.
    std::fs::remove_file(&plugin).unwrap();
    std::fs::remove_file(&binary).unwrap();
    let now = fleet.heartbeat("steady").unwrap()["beat_at"]
        .as_u64()
        .unwrap();
    wait_for_beat_after(&fleet, "steady", now + 1);
    assert!(process_running(sidecar));
}
