//! The heartbeat sidecar: a small detached process per agent that rewrites
//! `<run>/<AGENT>.hb` every interval while the agent's pane process lives.
//!
//! # Why a `bash` loop and not a hidden `mosaic fleet heartbeat` command
//!
//! The sidecar lives as long as the agent, often for days, and `mosaic` may be
//! upgraded or uninstalled meanwhile. A `bash -c` loop (as in the original launcher
//! script) depends on nothing of Mosaic's: not on the `mosaic` binary, not on this
//! library, not on the plugin search path, the manifest cache or the ABI of whatever
//! `mosaic` is installed next. A hidden subcommand would keep running from the
//! replaced files too (`scripts/install.sh` renames new files over old ones, so a
//! running process keeps its mapping), but it would pay for the host, the plugin
//! loader and this library in every sidecar (more memory than the ~3.5 MB of a bash
//! loop), and an upgrade that changed the heartbeat format or removed the fleet
//! plugin would leave old sidecars that no current binary describes. The loop is
//! short enough to read in full below; its file format is pinned by the tests.
//!
//! Costs of the choice: it needs `bash` (found on `PATH`; without it the launch
//! warns and the agent runs without a heartbeat), and each beat forks `mv` and
//! `sleep`, a few milliseconds of CPU per interval.
//!
//! # Detaching
//!
//! The sidecar is spawned with, in the child before `exec`: `setsid()` (its own
//! session and process group, no controlling terminal, so a terminal hang-up or a
//! Ctrl-C in the launcher's terminal never reaches it), SIGHUP ignored (belt and
//! braces, like `nohup`), every descriptor above 2 marked close-on-exec (the host
//! or the caller may have leaked some without `CLOEXEC`), stdio on `/dev/null`, the
//! working directory `/`, and an environment of only `PATH`, `LC_ALL` and the
//! script itself. The script travels in [`SCRIPT_ENV`] and runs through `eval`, so
//! `ps` shows a short `bash -c eval… mosaic-fleet-heartbeat AGENT PID INTERVAL DIR`
//! rather than the whole program. Nothing waits for the launcher, so the sidecar
//! outlives it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mosaic_plugin_api::anyhow::{Context as _, Result};
use nix::sys::signal::Signal;

use crate::process::{process_running, signal_process_group};

/// `$0` of the sidecar's bash, so `ps` shows what it is and [`is_sidecar_of`] can
/// recognise it.
pub const SIDECAR_NAME: &str = "mosaic-fleet-heartbeat";

/// The PATH the sidecar gets when the caller's has none.
const FALLBACK_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The environment variable holding [`SCRIPT`] in the sidecar.
pub const SCRIPT_ENV: &str = "MOSAIC_FLEET_SIDECAR_SCRIPT";

/// What `bash -c` runs: the script from [`SCRIPT_ENV`], with the arguments.
const LAUNCHER: &str = "eval \"$MOSAIC_FLEET_SIDECAR_SCRIPT\"";

/// The sidecar's program; arguments `$1` agent, `$2` pane pid, `$3` interval, `$4`
/// run dir. Everything but `mv` and `sleep` is a bash builtin.
///
/// - Beats while `kill -0` finds the pane process and it is not a zombie (in a
///   container whose init does not reap, a dead pane process stays a zombie), and
///   while the agent's metadata exists (`fleet prune` removes it).
/// - Each beat is one JSON line written to a temporary file in the run dir and
///   renamed over the heartbeat, so readers never see a torn file.
/// - Files are created private (umask 077), like the rest of the run dir.
/// - The time comes from `printf '%(%s)T'` (bash 4.2+), else `date +%s`.
/// - If `sleep` fails it exits rather than spin.
pub const SCRIPT: &str = r#"umask 077
agent=$1 pid=$2 interval=$3 run_dir=$4
heartbeat="$run_dir/$agent.hb"
metadata="$run_dir/$agent.meta.json"
temporary="$run_dir/.$agent.hb.tmp.$$"
trap 'rm -f "$temporary"' EXIT
pane_alive() {
    kill -0 "$pid" 2>/dev/null || return 1
    local stat
    if read -r stat 2>/dev/null <"/proc/$pid/stat"; then
        stat=${stat##*) }
        [[ ${stat:0:1} != Z ]] || return 1
    fi
    return 0
}
while pane_alive && [[ -f $metadata ]]; do
    printf -v now '%(%s)T' -1 2>/dev/null || now=$(date +%s)
    if printf '{"agent":"%s","pane_pid":%s,"sidecar_pid":%s,"interval":%s,"beat_at":%s}\n' \
        "$agent" "$pid" "$$" "$interval" "$now" >"$temporary" 2>/dev/null; then
        mv -f "$temporary" "$heartbeat" 2>/dev/null
    fi
    sleep "$interval" || exit 1
done
"#;

/// What the sidecar watches and where it writes.
#[derive(Debug, Clone)]
pub struct SidecarRequest<'a> {
    /// The agent name (already validated: it is used in file names).
    pub agent: &'a str,
    /// The pane process to watch.
    pub pane_pid: u32,
    /// Seconds between beats.
    pub interval: u64,
    /// The fleet run directory.
    pub run_dir: &'a Path,
    /// The `PATH` the sidecar runs `sleep` and `mv` from.
    pub path: Option<&'a str>,
}

/// Starts the sidecar with `bash` and returns its pid; it is not waited for.
pub fn spawn(bash: &Path, request: &SidecarRequest<'_>) -> Result<u32> {
    let mut command = Command::new(bash);
    command
        .arg("-c")
        .arg(LAUNCHER)
        .arg(SIDECAR_NAME)
        .arg(request.agent)
        .arg(request.pane_pid.to_string())
        .arg(request.interval.to_string())
        .arg(request.run_dir)
        .env_clear()
        .env("PATH", request.path.unwrap_or(FALLBACK_PATH))
        .env("LC_ALL", "C")
        .env(SCRIPT_ENV, SCRIPT)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: `detach` runs between fork and exec and only makes async-signal-safe
    // system calls (setsid, signal, close_range/fcntl); it allocates nothing.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, detach);
    }
    let child = command.spawn().with_context(|| {
        format!(
            "cannot start the heartbeat sidecar ({} -c …) for agent `{}`",
            bash.display(),
            request.agent
        )
    })?;
    // Dropping `Child` neither waits for nor kills the process.
    Ok(child.id())
}

/// The child's side of spawning: leave the launcher's session and terminal, ignore
/// hang-ups, and let no descriptor but stdio survive `exec`.
fn detach() -> std::io::Result<()> {
    nix::unistd::setsid().map_err(std::io::Error::from)?;
    // SAFETY: setting a signal disposition to SIG_IGN is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
    mark_descriptors_close_on_exec();
    Ok(())
}

/// Marks every descriptor above 2 close-on-exec. Not closing them here keeps the
/// pipe std uses to report a failed `exec` working.
fn mark_descriptors_close_on_exec() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a raw system call with plain integer arguments.
        let marked = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if marked == 0 {
            return;
        }
    }
    // Kernels without close_range (before Linux 5.11) and other systems: one call per
    // possible descriptor, up to a sane bound.
    // SAFETY: sysconf and fcntl are async-signal-safe; fcntl on a closed descriptor
    // just fails with EBADF.
    unsafe {
        let limit = libc::sysconf(libc::_SC_OPEN_MAX).clamp(0, 65_536) as libc::c_int;
        for descriptor in 3..limit {
            libc::fcntl(descriptor, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}

/// Whether process `pid` is the heartbeat sidecar of `agent`, from its command line
/// in `/proc` (a pid recorded long ago may belong to another process by now).
/// `false` where `/proc` is not available.
pub fn is_sidecar_of(pid: u32, agent: &str) -> bool {
    let Ok(command_line) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let arguments: Vec<&[u8]> = command_line.split(|byte| *byte == 0).collect();
    arguments
        .iter()
        .position(|argument| *argument == SIDECAR_NAME.as_bytes())
        .is_some_and(|index| arguments.get(index + 1) == Some(&agent.as_bytes()))
}

/// Ends the agent's sidecar now (with the `sleep` it may be waiting in) if `pid`
/// is it and it still runs; returns whether it was signalled.
pub fn terminate(pid: u32, agent: &str) -> bool {
    if !process_running(pid) || !is_sidecar_of(pid, agent) {
        return false;
    }
    // The sidecar leads its own process group (setsid), which holds its `sleep`.
    signal_process_group(pid, Signal::SIGTERM)
}

/// Finds `bash` on `path`.
pub fn find_bash(path: Option<&str>) -> Option<PathBuf> {
    crate::process::find_program("bash", path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{read_heartbeat, AgentFiles};
    use crate::process::poll_until;
    use std::time::Duration;

    #[test]
    fn sidecar_beats_while_the_process_lives_and_then_exits() {
        let Some(bash) = find_bash(Some("/usr/bin:/bin")) else {
            panic!("the sidecar tests need bash in /usr/bin or /bin");
        };
        let directory = tempfile::tempdir().unwrap();
        let files = AgentFiles::new(directory.path(), "unit");
        std::fs::write(&files.metadata, "{}").unwrap();
        let mut watched = Command::new("sleep").arg("2").spawn().unwrap();
        let request = SidecarRequest {
            agent: "unit",
            pane_pid: watched.id(),
            interval: 1,
            run_dir: directory.path(),
            path: Some("/usr/bin:/bin"),
        };
        let sidecar = spawn(&bash, &request).unwrap();
        assert!(poll_until(
            Duration::from_secs(10),
            Duration::from_millis(20),
            || { read_heartbeat(&files.heartbeat).ok().flatten().is_some() }
        ));
        let heartbeat = read_heartbeat(&files.heartbeat).unwrap().unwrap();
        assert_eq!(heartbeat.agent, "unit");
        assert_eq!(heartbeat.pane_pid, watched.id());
        assert_eq!(heartbeat.sidecar_pid, sidecar);
        assert_eq!(heartbeat.interval, 1);
        assert!(is_sidecar_of(sidecar, "unit"));
        assert!(!is_sidecar_of(sidecar, "other"));
        assert!(!is_sidecar_of(std::process::id(), "unit"));
        watched.wait().unwrap();
        assert!(
            poll_until(Duration::from_secs(10), Duration::from_millis(50), || {
                !process_running(sidecar)
            }),
            "the sidecar should exit once the watched process is gone"
        );
    }

    #[test]
    fn sidecar_exits_when_the_metadata_is_removed_and_terminate_checks_identity() {
        let bash = find_bash(Some("/usr/bin:/bin")).unwrap();
        let directory = tempfile::tempdir().unwrap();
        let files = AgentFiles::new(directory.path(), "gone");
        std::fs::write(&files.metadata, "{}").unwrap();
        let mut watched = Command::new("sleep").arg("30").spawn().unwrap();
        let request = SidecarRequest {
            agent: "gone",
            pane_pid: watched.id(),
            interval: 1,
            run_dir: directory.path(),
            path: None,
        };
        let sidecar = spawn(&bash, &request).unwrap();
        assert!(poll_until(
            Duration::from_secs(10),
            Duration::from_millis(20),
            || { files.heartbeat.exists() }
        ));
        std::fs::remove_file(&files.metadata).unwrap();
        assert!(poll_until(
            Duration::from_secs(10),
            Duration::from_millis(50),
            || { !process_running(sidecar) }
        ));
        assert!(!terminate(sidecar, "gone"), "already gone");
        assert!(!terminate(watched.id(), "gone"), "not a sidecar");
        assert!(process_running(watched.id()));
        watched.kill().unwrap();
        watched.wait().unwrap();
    }
}
