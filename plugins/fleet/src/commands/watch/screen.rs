//! The terminal while `fleet watch` runs: raw mode and the alternate screen on
//! entry, and the user's terminal back as it was on every way out — a normal
//! return, an error, a panic (the guard's drop runs while unwinding, and a panic
//! hook restores first, before anything reports the panic), and SIGINT, SIGTERM
//! or SIGHUP from outside (they only set a flag; the loop sees it and returns).
//!
//! Ctrl-C typed in the view is a key in raw mode, not a signal: the loop quits on
//! it the same way.

use std::io::Write;
use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossterm::cursor::{Hide, Show};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use mosaic_plugin_api::anyhow::{Context as _, Result};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Whether the view owns the terminal now (so restoring twice does nothing).
static SCREEN_ACTIVE: AtomicBool = AtomicBool::new(false);

/// Set by the signal handler; the loop quits when it is.
static QUIT_SIGNAL: AtomicBool = AtomicBool::new(false);

/// The signals that end the view (and would otherwise leave the terminal raw).
const QUIT_SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Switching the terminal into and out of the view. The real one is [`Tty`];
/// tests record the calls.
pub trait Screen {
    /// Raw mode, alternate screen, hidden cursor.
    fn enter(&mut self) -> Result<()>;
    /// Everything [`Screen::enter`] changed, undone; must not fail.
    fn leave(&mut self);
}

/// The process's terminal (stdout).
#[derive(Debug, Default, Clone, Copy)]
pub struct Tty;

impl Screen for Tty {
    fn enter(&mut self) -> Result<()> {
        enable_raw_mode().context("cannot put the terminal in raw mode")?;
        SCREEN_ACTIVE.store(true, Ordering::SeqCst);
        crossterm::execute!(std::io::stdout(), EnterAlternateScreen, Hide)
            .context("cannot switch to the alternate screen")?;
        Ok(())
    }

    fn leave(&mut self) {
        restore_tty();
    }
}

/// Puts the terminal back if the view has it; safe to call from a panic hook and
/// more than once.
fn restore_tty() {
    if SCREEN_ACTIVE.swap(false, Ordering::SeqCst) {
        let mut stdout = std::io::stdout();
        let _ = crossterm::execute!(stdout, Show, LeaveAlternateScreen);
        let _ = disable_raw_mode();
        let _ = stdout.flush();
    }
}

/// Holds the screen in the view until dropped (also while unwinding).
pub struct ScreenGuard<S: Screen> {
    screen: S,
    entered: bool,
}

impl<S: Screen> ScreenGuard<S> {
    /// Enters the view; on failure whatever was changed is undone.
    pub fn enter(mut screen: S) -> Result<ScreenGuard<S>> {
        if let Err(error) = screen.enter() {
            screen.leave();
            return Err(error);
        }
        Ok(ScreenGuard {
            screen,
            entered: true,
        })
    }

    /// Gives the terminal back for a while (to attach to an agent).
    pub fn suspend(&mut self) {
        if self.entered {
            self.screen.leave();
            self.entered = false;
        }
    }

    /// Takes the terminal again after [`ScreenGuard::suspend`].
    pub fn resume(&mut self) -> Result<()> {
        if !self.entered {
            self.screen.enter()?;
            self.entered = true;
        }
        Ok(())
    }
}

impl<S: Screen> Drop for ScreenGuard<S> {
    fn drop(&mut self) {
        if self.entered {
            self.screen.leave();
        }
    }
}

type PanicHook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// While alive: a panic restores the terminal before the previous panic hook
/// reports it, and SIGINT/SIGTERM/SIGHUP ask the loop to quit. Dropping it puts
/// the previous hook and signal handlers back.
pub struct QuitHandlers {
    previous_hook: Arc<PanicHook>,
    previous_actions: Vec<(Signal, SigAction)>,
}

extern "C" fn note_quit_signal(_signal: libc::c_int) {
    QUIT_SIGNAL.store(true, Ordering::SeqCst);
}

impl QuitHandlers {
    /// Installs the panic hook and the signal handlers.
    pub fn install() -> QuitHandlers {
        let previous_hook: Arc<PanicHook> = Arc::new(panic::take_hook());
        let chained = Arc::clone(&previous_hook);
        panic::set_hook(Box::new(move |info| {
            restore_tty();
            chained(info);
        }));
        QUIT_SIGNAL.store(false, Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(note_quit_signal),
            SaFlags::empty(),
            SigSet::empty(),
        );
        let previous_actions = QUIT_SIGNALS
            .iter()
            .filter_map(|&signal| {
                // SAFETY: the handler only stores to an atomic (async-signal-safe).
                unsafe { sigaction(signal, &action) }
                    .ok()
                    .map(|previous| (signal, previous))
            })
            .collect();
        QuitHandlers {
            previous_hook,
            previous_actions,
        }
    }

    /// Whether a quit signal arrived.
    pub fn quit_requested(&self) -> bool {
        QUIT_SIGNAL.load(Ordering::SeqCst)
    }
}

impl Drop for QuitHandlers {
    fn drop(&mut self) {
        for (signal, previous) in &self.previous_actions {
            // SAFETY: puts back the action that was there before `install`.
            let _ = unsafe { sigaction(*signal, previous) };
        }
        let previous = Arc::clone(&self.previous_hook);
        panic::set_hook(Box::new(move |info| previous(info)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Recording(Arc<Mutex<Vec<&'static str>>>);

    impl Screen for Recording {
        fn enter(&mut self) -> Result<()> {
            self.0.lock().unwrap().push("enter");
            Ok(())
        }
        fn leave(&mut self) {
            self.0.lock().unwrap().push("leave");
        }
    }

    #[test]
    fn the_screen_is_left_on_panic_and_once_after_suspend() {
        let calls = Recording::default();
        let inside = calls.clone();
        let outcome = panic::catch_unwind(move || {
            let _guard = ScreenGuard::enter(inside).unwrap();
            panic!("boom");
        });
        assert!(outcome.is_err());
        assert_eq!(*calls.0.lock().unwrap(), ["enter", "leave"]);

        let calls = Recording::default();
        {
            let mut guard = ScreenGuard::enter(calls.clone()).unwrap();
            guard.suspend();
            guard.suspend();
            guard.resume().unwrap();
        }
        assert_eq!(
            *calls.0.lock().unwrap(),
            ["enter", "leave", "enter", "leave"]
        );
    }

    #[test]
    fn a_quit_signal_is_noted_and_the_old_handler_comes_back() {
        {
            let handlers = QuitHandlers::install();
            assert!(!handlers.quit_requested());
            nix::sys::signal::raise(Signal::SIGHUP).unwrap();
            assert!(handlers.quit_requested());
        }
        // SAFETY: reads the current action back without changing it for long.
        let current = unsafe {
            sigaction(
                Signal::SIGHUP,
                &SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty()),
            )
        }
        .unwrap();
        assert_eq!(current.handler(), SigHandler::SigDfl);
    }
}

/// What the terminal has for the view within a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalInput {
    /// Bytes to read (crossterm turns them into events).
    Ready,
    /// Nothing within the wait.
    Quiet,
    /// The terminal is gone (its tmux pane or window closed): the view must end.
    /// crossterm would read end-of-file from it in a busy loop forever.
    Closed,
}

/// Waits up to `wait` for input on the terminal the view reads (stdin, which
/// `fleet watch` requires to be a terminal).
pub fn wait_for_input(wait: Duration) -> TerminalInput {
    let mut poll = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd for the duration of the call.
    let ready = unsafe { libc::poll(&mut poll, 1, millis) };
    if ready < 0 {
        // Interrupted by a signal (a quit signal or a resize): let the loop look.
        return TerminalInput::Quiet;
    }
    if poll.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        return TerminalInput::Closed;
    }
    if poll.revents & libc::POLLIN != 0 {
        TerminalInput::Ready
    } else {
        TerminalInput::Quiet
    }
}
