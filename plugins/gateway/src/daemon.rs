//! `mosaic gateway run` itself: the foreground daemon.
//!
//! It reads its settings from `config.json` only (never the environment it was
//! started with), takes the pid-file lock, opens and migrates the storage (SQLite,
//! or for the team tier PostgreSQL + Valkey, where a dependency that is down makes
//! the daemon start degraded rather than fail), binds the port, writes the
//! bootstrap token when there is no admin yet, and serves until SIGTERM or SIGINT.
//! Then in-flight requests finish, the storage is closed cleanly and the pid file
//! is removed. Log lines (timestamped, via `tracing`) go to stderr, which the
//! service manager sends to the log file; the daemon rotates that file itself
//! ([`crate::service::log_rotation`]).

use std::cell::RefCell;
use std::io::Write;
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::broadcast;
use tracing::dispatcher::{self, DefaultGuard, Dispatch};
use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

use crate::layout::Layout;
use crate::pidfile::PidFile;
use crate::server::proxy::Proxy;
use crate::server::{self, AppState, BootstrapGate};
use crate::service::log_rotation::StderrRotation;
use crate::settings::{is_exposed, Settings, Tier};
use crate::storage::{Backend, ClusterEvent, StoreError};

thread_local! {
    /// Keeps the daemon's log subscriber active on each runtime thread.
    static THREAD_LOG_GUARD: RefCell<Option<DefaultGuard>> = const { RefCell::new(None) };
}

/// How the daemon logs.
#[derive(Debug, Clone, Copy)]
pub struct LogOptions {
    /// -1 quiet (warnings), 0 info, 1 debug, 2+ trace.
    pub verbosity: i8,
    /// Colours (only on a terminal).
    pub ansi: bool,
    /// The size at which the log file is rotated.
    pub max_bytes: u64,
}

/// stderr, and after each line the rotation check when stderr is the log file.
#[derive(Clone)]
struct LogWriter {
    rotation: Option<Arc<StderrRotation>>,
}

/// One log line being written; the rotation check runs when it is dropped.
struct LogLine<'a> {
    stderr: std::io::StderrLock<'static>,
    rotation: Option<&'a StderrRotation>,
}

impl Write for LogLine<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.stderr.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stderr.flush()
    }
}

impl Drop for LogLine<'_> {
    fn drop(&mut self) {
        if let Some(rotation) = self.rotation {
            rotation.rotate_if_full();
        }
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogLine<'a>;

    fn make_writer(&'a self) -> LogLine<'a> {
        LogLine {
            stderr: std::io::stderr().lock(),
            rotation: self.rotation.as_deref(),
        }
    }
}

/// The daemon's log subscriber: timestamped lines on stderr. The plugin's global
/// subscriber forwards to the host (meant for short commands, at warn level), so the
/// daemon sets its own as the default of every thread it runs.
fn log_dispatch(options: LogOptions, rotation: Option<StderrRotation>) -> Dispatch {
    let verbosity = options.verbosity;
    let level = match verbosity {
        i8::MIN..=-1 => Level::WARN,
        0 => Level::INFO,
        1 => Level::DEBUG,
        _ => Level::TRACE,
    };
    Dispatch::new(
        tracing_subscriber::fmt()
            .with_writer(LogWriter {
                rotation: rotation.map(Arc::new),
            })
            .with_ansi(options.ansi)
            .with_target(verbosity > 0)
            .with_max_level(level)
            .finish(),
    )
}

/// Keeps the idle daemon small. Each password hash allocates ~19 MiB; glibc's
/// default (a dynamic mmap threshold that grows after such a block is freed, and one
/// arena per thread) would keep that memory after the request. A fixed threshold
/// returns every large block to the system when it is freed.
fn limit_allocator_retention() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning parameters; it is called before
    // the runtime's threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// The `mosaic` host restores SIGPIPE's default (die quietly when a pipe reader
/// goes away, like any command-line tool). A server must not die because a peer
/// closed a connection, so the daemon ignores it and gets EPIPE errors instead.
fn ignore_broken_pipes() {
    // SAFETY: sets a signal disposition to "ignore"; no handler code runs.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigIgn,
        )
    };
}

/// File descriptors the daemon wants: every connection it serves, and for each
/// proxied request one upstream connection, plus room for the storage, the log and
/// the listener.
const WANTED_OPEN_FILES: libc::rlim_t =
    2 * server::connections::MAX_CONNECTIONS as libc::rlim_t + 256;

/// Raises the soft limit on open files to the hard limit. Many systems start
/// services with a soft limit of 1,024, which 2,000 proxied streams (two sockets
/// each) would exhaust long before [`server::connections::MAX_CONNECTIONS`]; the
/// hard limit is what an administrator allows, so the daemon takes all of it. When
/// even that is too low, a warning says how to raise it.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        tracing::warn!(
            "cannot read the open-files limit: {}",
            std::io::Error::last_os_error()
        );
        return;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads one rlimit struct we own; raising the soft limit
        // up to the hard limit needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::debug!(
                "open-files limit raised from {} to {}",
                limit.rlim_cur,
                raised.rlim_cur
            );
            limit = raised;
        } else {
            tracing::warn!(
                "cannot raise the open-files limit from {} to {}: {}",
                limit.rlim_cur,
                limit.rlim_max,
                std::io::Error::last_os_error()
            );
        }
    }
    let current = limit.rlim_cur;
    if current < WANTED_OPEN_FILES {
        tracing::warn!(
            "the open-files limit is {current}, below the {WANTED_OPEN_FILES} the gateway \
             needs for {} connections (each proxied one also opens an upstream socket); \
             requests may fail with `too many open files`: raise the hard limit \
             (LimitNOFILE= in a systemd unit, or `ulimit -Hn` before starting)",
            server::connections::MAX_CONNECTIONS
        );
    }
}

/// Runs the daemon until a shutdown signal; returns the exit code.
pub fn run(layout: &Layout, settings: &Settings, log: LogOptions) -> Result<i32> {
    ignore_broken_pipes();
    limit_allocator_retention();
    let rotation = StderrRotation::for_stderr(&layout.log_file(), log.max_bytes);
    let dispatch = log_dispatch(log, rotation);
    let _main_thread_log = dispatcher::set_default(&dispatch);
    raise_open_files_limit();
    let pid_file = PidFile::acquire(&layout.pid_file())?;
    let thread_dispatch = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(16)
        .thread_name("gateway")
        .on_thread_start(move || {
            let guard = dispatcher::set_default(&thread_dispatch);
            THREAD_LOG_GUARD.with(|slot| *slot.borrow_mut() = Some(guard));
        })
        .on_thread_stop(|| {
            THREAD_LOG_GUARD
                .with(|slot| slot.borrow_mut().take())
                .map_or((), drop)
        })
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(serve(layout, settings));
    drop(runtime);
    drop(pid_file);
    match &outcome {
        Ok(()) => tracing::info!("gateway stopped"),
        Err(error) => tracing::error!("gateway failed: {error:#}"),
    }
    outcome.map(|()| 0)
}

async fn serve(layout: &Layout, settings: &Settings) -> Result<()> {
    let database = layout.database_file();
    let backend = Backend::open(settings, &database)
        .await
        .context("opening the storage failed")?;
    let address = settings.bind_address();
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            let _ = backend.users.close().await;
            if error.kind() == std::io::ErrorKind::AddrInUse {
                bail!(
                    "port {} on {} is already in use by another program; choose another \
                     port with `mosaic gateway install --port N`",
                    address.port(),
                    address.ip()
                );
            }
            bail!("cannot listen on {address}: {error}");
        }
    };
    if is_exposed(settings.host) {
        tracing::warn!(
            "listening on {} — not a loopback address, so other machines can reach the gateway",
            settings.host
        );
    }
    let admin_exists = match backend.users.admin_exists().await {
        Ok(exists) => exists,
        // Team tier with PostgreSQL down: offer the token; creating the admin still
        // refuses (409) once one exists, and the token file goes with it.
        Err(error @ StoreError::Unavailable { .. }) => {
            tracing::warn!("cannot tell whether an admin exists yet: {error}");
            false
        }
        Err(error) => return Err(error.into()),
    };
    let bootstrap = BootstrapGate::prepare(&layout.bootstrap_token_file(), admin_exists)?;
    if !admin_exists {
        tracing::info!(
            "no admin yet: bootstrap token written to {}",
            layout.bootstrap_token_file().display()
        );
    }
    let storage = match settings.tier {
        Tier::Local => database.display().to_string(),
        Tier::Team => backend
            .health()
            .await
            .iter()
            .map(|health| format!("{} {}", health.dependency.as_str(), health.address))
            .collect::<Vec<_>>()
            .join(", "),
    };
    tracing::info!(
        pid = std::process::id(),
        tier = %settings.tier,
        storage = %storage,
        anthropic_key = if settings.anthropic_api_key.is_some() { "configured" } else { "not set" },
        "gateway {} listening on http://{address}",
        server::VERSION
    );
    let (proxy, usage_writer) = match Proxy::start(settings, backend.usage.clone()) {
        Ok(started) => started,
        Err(error) => {
            let _ = backend.users.close().await;
            return Err(error.context("cannot start the Anthropic API proxy"));
        }
    };
    if proxy_has_key(settings) {
        tracing::info!(
            "Anthropic API proxy on /v1/messages, calling {}",
            settings.anthropic_base_url
        );
    }
    let state = AppState::with_proxy(
        backend.clone(),
        settings.tier,
        settings.cors_origin.clone(),
        bootstrap,
        proxy,
    );
    if let Some(cluster) = &backend.cluster {
        tokio::spawn(follow_cluster_events(cluster.events(), state.clone()));
    }
    state.warm_up_password_checks().await;
    let served = server::serve(listener, state, shutdown_signal()).await;
    // Every answered request has its usage record queued: store them all before the
    // storage closes.
    if let Some(writer) = usage_writer {
        writer.finish().await;
        tracing::info!("usage records stored");
    }
    let closed = backend.users.close().await;
    served.context("the HTTP server failed")?;
    closed.context("closing the storage failed")?;
    tracing::info!("storage closed");
    Ok(())
}

fn proxy_has_key(settings: &Settings) -> bool {
    settings.anthropic_api_key.is_some()
}

/// Reacts to what other replicas announce: once an admin exists anywhere, this
/// replica's bootstrap token is void and its file is removed.
async fn follow_cluster_events(mut events: broadcast::Receiver<ClusterEvent>, state: AppState) {
    loop {
        match events.recv().await {
            Ok(ClusterEvent::AdminCreated) => state.bootstrap().consume(),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Completes on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    match (terminate, interrupt) {
        (Ok(mut terminate), Ok(mut interrupt)) => {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            tracing::info!("{name} received: finishing in-flight requests");
        }
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!("cannot listen for shutdown signals ({error}); stop with SIGKILL");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_files_limit() -> libc::rlimit {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit struct we own.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        limit
    }

    #[test]
    fn the_open_files_soft_limit_is_raised_to_the_hard_limit() {
        let before = open_files_limit();
        // Lower the soft limit a little (never below what the other tests of this
        // process may hold open), then let the daemon's start-up raise it again.
        let lowered = libc::rlimit {
            rlim_cur: before.rlim_max.saturating_sub(1).max(before.rlim_max / 2),
            rlim_max: before.rlim_max,
        };
        // SAFETY: setrlimit reads one rlimit struct we own.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0);
        assert!(open_files_limit().rlim_cur < before.rlim_max || before.rlim_max == 0);
        raise_open_files_limit();
        assert_eq!(open_files_limit().rlim_cur, before.rlim_max);
    }

    #[test]
    fn the_connection_cap_fits_two_thousand_proxied_streams() {
        // Issue 11: 2,000 concurrent open streams, each one client connection.
        const STREAMS: usize = 2_000;
        const {
            assert!(server::connections::MAX_CONNECTIONS >= STREAMS + STREAMS / 2);
            assert!(WANTED_OPEN_FILES >= 2 * STREAMS as libc::rlim_t);
        }
    }
}
