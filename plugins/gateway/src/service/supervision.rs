//! What `mosaic gateway supervise` does: run the daemon, start it again when it
//! crashes, stop it when asked — the built-in counterpart of systemd's
//! `Restart=on-failure` and launchd's `KeepAlive`.
//!
//! - A crash is an exit with a non-zero code or by a signal. The daemon is started
//!   again after a pause that starts short (so a `kill -9` costs well under two
//!   seconds of downtime) and doubles with each crash of a burst, up to a cap
//!   ([`CrashPolicy`]).
//! - After [`CrashPolicy::max_crashes`] crashes within [`CrashPolicy::window`] the
//!   supervisor gives up, records that, and exits 1. A run that lasted longer than
//!   the window starts a new count.
//! - A daemon that exits with code 0 by itself is not started again; the
//!   supervisor exits 0.
//! - SIGTERM or SIGINT: forwarded to the daemon as SIGTERM (in-flight requests
//!   finish), the supervisor waits for it and exits 0.
//!
//! Each change is written to the state file ([`super::supervisor_state`]) that
//! `gateway status` reads, and one line goes to the log.

use std::collections::VecDeque;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::signal::unix::{signal, Signal as SignalStream, SignalKind};

use super::log_rotation::append_line;
use super::supervisor::spawn_daemon;
use super::supervisor_state::{DaemonExit, SupervisorPhase, SupervisorState};
use super::ServiceSpec;
use crate::clock::unix_now;
use crate::pidfile::PidFile;

/// When the supervisor restarts a crashed daemon and when it gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPolicy {
    /// Crashes are counted within this window.
    pub window: Duration,
    /// This many crashes within the window: give up.
    pub max_crashes: u32,
    /// The pause before the first restart of a burst.
    pub first_delay: Duration,
    /// The longest pause (the pause doubles with each crash of a burst).
    pub max_delay: Duration,
}

impl Default for CrashPolicy {
    fn default() -> CrashPolicy {
        CrashPolicy {
            window: Duration::from_secs(60),
            max_crashes: 5,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// What to do after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashDecision {
    /// Start the daemon again after this pause.
    Restart(Duration),
    /// Stop trying: this many crashes within the window.
    GiveUp(u32),
}

/// The recent crashes, for [`CrashPolicy`].
#[derive(Debug, Clone)]
pub struct CrashHistory {
    policy: CrashPolicy,
    crashes: VecDeque<Instant>,
}

impl CrashHistory {
    /// No crashes yet.
    pub fn new(policy: CrashPolicy) -> CrashHistory {
        CrashHistory {
            policy,
            crashes: VecDeque::new(),
        }
    }

    /// Records a crash at `now` of a run that lasted `run_length`, and decides.
    pub fn record_crash(&mut self, run_length: Duration, now: Instant) -> CrashDecision {
        let window = self.policy.window;
        if run_length >= window {
            self.crashes.clear();
        }
        self.crashes
            .retain(|crash| now.saturating_duration_since(*crash) < window);
        self.crashes.push_back(now);
        let crashes = self.crashes.len() as u32;
        if crashes >= self.policy.max_crashes {
            return CrashDecision::GiveUp(crashes);
        }
        let doubling = 2u32.saturating_pow(crashes - 1);
        let delay = self
            .policy
            .first_delay
            .saturating_mul(doubling)
            .min(self.policy.max_delay);
        CrashDecision::Restart(delay)
    }
}

/// The signals the supervisor listens to.
struct Signals {
    terminate: SignalStream,
    interrupt: SignalStream,
    child: SignalStream,
}

/// What ended a wait for the daemon.
enum Event {
    /// The daemon exited.
    Exited(ExitStatus),
    /// SIGTERM or SIGINT arrived (its name).
    StopRequested(&'static str),
}

/// Runs the supervisor until it is stopped, the daemon exits cleanly (exit 0) or
/// it gives up (exit 1). Takes the supervisor's pid-file lock first.
pub fn supervise(spec: &ServiceSpec, policy: CrashPolicy) -> Result<i32> {
    let _pid_file = PidFile::acquire_for(&spec.layout.supervisor_pid_file(), "gateway supervisor")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("cannot start the supervisor's event loop")?;
    runtime.block_on(supervise_until_done(spec, policy))
}

/// One line in the log, e.g. `--- mosaic gateway supervisor (unix time N): …`.
fn note(spec: &ServiceSpec, message: &str) {
    let line = format!(
        "--- mosaic gateway supervisor (unix time {}): {message}",
        unix_now()
    );
    // The log is the only place to report to; a failure to write it must not stop
    // the supervision.
    let _ = append_line(&spec.layout.log_file(), &line);
}

async fn supervise_until_done(spec: &ServiceSpec, policy: CrashPolicy) -> Result<i32> {
    let state_file = spec.layout.supervisor_state_file();
    let mut signals = Signals {
        terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
        child: signal(SignalKind::child()).context("cannot listen for SIGCHLD")?,
    };
    let mut state = SupervisorState::new(std::process::id() as i32);
    let mut history = CrashHistory::new(policy);
    note(spec, &format!("started (pid {})", state.supervisor_pid));
    loop {
        let mut child = match spawn_daemon(spec) {
            Ok(child) => child,
            Err(error) => {
                note(spec, &format!("giving up: {error:#}"));
                state.daemon_pid = None;
                state.phase = SupervisorPhase::GaveUp {
                    crashes: 0,
                    window_s: policy.window.as_secs(),
                };
                state.save(&state_file)?;
                return Ok(1);
            }
        };
        let daemon_pid = child.id() as i32;
        let started = Instant::now();
        state.daemon_pid = Some(daemon_pid);
        state.phase = SupervisorPhase::Running;
        state.save(&state_file)?;
        let status = match wait_for_daemon(&mut child, &mut signals).await? {
            Event::StopRequested(name) => {
                let _ = kill(Pid::from_raw(daemon_pid), Signal::SIGTERM);
                let exit = DaemonExit::from_status(wait_for_exit(&mut child, &mut signals).await?);
                note(
                    spec,
                    &format!(
                        "{name} received: stopped the daemon (pid {daemon_pid}, {})",
                        exit.describe()
                    ),
                );
                state.last_exit = Some(exit);
                state.daemon_pid = None;
                state.phase = SupervisorPhase::Stopped;
                state.save(&state_file)?;
                return Ok(0);
            }
            Event::Exited(status) => status,
        };
        let exit = DaemonExit::from_status(status);
        let described = exit.describe();
        let clean = exit.is_clean();
        state.last_exit = Some(exit);
        state.daemon_pid = None;
        if clean {
            note(
                spec,
                &format!("the daemon (pid {daemon_pid}) exited with code 0; not restarting it"),
            );
            state.phase = SupervisorPhase::Stopped;
            state.save(&state_file)?;
            return Ok(0);
        }
        match history.record_crash(started.elapsed(), Instant::now()) {
            CrashDecision::GiveUp(crashes) => {
                note(
                    spec,
                    &format!(
                        "the daemon (pid {daemon_pid}) crashed ({described}); that is {crashes} crashes \
                         within {} s, giving up (read `mosaic gateway logs`, fix the cause, \
                         then `mosaic gateway start`)",
                        policy.window.as_secs()
                    ),
                );
                state.phase = SupervisorPhase::GaveUp {
                    crashes,
                    window_s: policy.window.as_secs(),
                };
                state.save(&state_file)?;
                return Ok(1);
            }
            CrashDecision::Restart(delay) => {
                note(
                    spec,
                    &format!(
                        "the daemon (pid {daemon_pid}) crashed ({described}); restarting it in {:.1} s",
                        delay.as_secs_f64()
                    ),
                );
                state.phase = SupervisorPhase::Restarting {
                    delay_ms: delay.as_millis() as u64,
                };
                state.save(&state_file)?;
                let stop = tokio::select! {
                    _ = tokio::time::sleep(delay) => None,
                    _ = signals.terminate.recv() => Some("SIGTERM"),
                    _ = signals.interrupt.recv() => Some("SIGINT"),
                };
                if let Some(name) = stop {
                    note(
                        spec,
                        &format!("{name} received while waiting to restart; stopped"),
                    );
                    state.phase = SupervisorPhase::Stopped;
                    state.save(&state_file)?;
                    return Ok(0);
                }
                state.restarts += 1;
            }
        }
    }
}

/// Waits until the daemon exits or a stop is requested. The child is reaped only
/// here and in [`wait_for_exit`], so its pid cannot be reused while we may signal it.
async fn wait_for_daemon(child: &mut Child, signals: &mut Signals) -> Result<Event> {
    loop {
        if let Some(status) = child
            .try_wait()
            .context("cannot check the daemon process")?
        {
            return Ok(Event::Exited(status));
        }
        // SIGCHLD wakes us at once; the timer covers a signal that came between
        // the check above and this wait.
        tokio::select! {
            _ = signals.child.recv() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = signals.terminate.recv() => return Ok(Event::StopRequested("SIGTERM")),
            _ = signals.interrupt.recv() => return Ok(Event::StopRequested("SIGINT")),
        }
    }
}

/// Waits until the daemon exits (a repeated stop request changes nothing: the
/// daemon already has its SIGTERM, and `gateway stop` escalates by itself).
async fn wait_for_exit(child: &mut Child, signals: &mut Signals) -> Result<ExitStatus> {
    loop {
        if let Some(status) = child
            .try_wait()
            .context("cannot check the daemon process")?
        {
            return Ok(status);
        }
        tokio::select! {
            _ = signals.child.recv() => {}
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_back_off_and_a_burst_gives_up() {
        let policy = CrashPolicy::default();
        let mut history = CrashHistory::new(policy);
        let start = Instant::now();
        let short = Duration::from_secs(1);
        let decisions: Vec<CrashDecision> = (0..5)
            .map(|index| history.record_crash(short, start + Duration::from_secs(index)))
            .collect();
        assert_eq!(
            decisions,
            [
                CrashDecision::Restart(Duration::from_millis(100)),
                CrashDecision::Restart(Duration::from_millis(200)),
                CrashDecision::Restart(Duration::from_millis(400)),
                CrashDecision::Restart(Duration::from_millis(800)),
                CrashDecision::GiveUp(5),
            ]
        );
    }

    #[test]
    fn a_long_run_or_old_crashes_start_a_new_count() {
        let policy = CrashPolicy {
            max_crashes: 3,
            ..CrashPolicy::default()
        };
        let mut history = CrashHistory::new(policy);
        let start = Instant::now();
        let short = Duration::from_secs(1);
        history.record_crash(short, start);
        history.record_crash(short, start + Duration::from_secs(1));
        // A run longer than the window forgets the burst.
        assert_eq!(
            history.record_crash(Duration::from_secs(61), start + Duration::from_secs(70)),
            CrashDecision::Restart(Duration::from_millis(100))
        );
        // Crashes older than the window no longer count.
        assert_eq!(
            history.record_crash(short, start + Duration::from_secs(71)),
            CrashDecision::Restart(Duration::from_millis(200))
        );
        assert_eq!(
            history.record_crash(short, start + Duration::from_secs(200)),
            CrashDecision::Restart(Duration::from_millis(100))
        );
    }

    #[test]
    fn the_pause_is_capped() {
        let policy = CrashPolicy {
            max_crashes: 100,
            ..CrashPolicy::default()
        };
        let mut history = CrashHistory::new(policy);
        let start = Instant::now();
        let mut last = CrashDecision::GiveUp(0);
        for index in 0..20 {
            last = history.record_crash(Duration::ZERO, start + Duration::from_millis(index));
        }
        assert_eq!(last, CrashDecision::Restart(policy.max_delay));
    }
}
