//! Ctrl-C during the wizard: exit 130 with nothing half-applied.
//!
//! While questions are asked nothing has changed yet, so SIGINT restores the terminal
//! (echo and cursor, which password and menu prompts turn off) and exits 130 at once.
//! Once steps are being applied, SIGINT only sets a flag: the step under way finishes
//! (a step is one `invoke` and must not be cut in half), the wizard reports what was
//! applied, and then exits 130. The previous SIGINT disposition is restored when the
//! guard is dropped.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static APPLYING: AtomicBool = AtomicBool::new(false);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static mut SAVED_TERMINAL: Option<libc::termios> = None;

const ABORT_MESSAGE: &[u8] = b"\x1b[?25h\nwizard: interrupted, nothing was changed\n";

extern "C" fn on_interrupt(_signal: libc::c_int) {
    if APPLYING.load(Ordering::SeqCst) {
        INTERRUPTED.store(true, Ordering::SeqCst);
        return;
    }
    // SAFETY: only async-signal-safe calls (tcsetattr, write, _exit); the saved
    // terminal state is written once before the handler is installed.
    unsafe {
        #[allow(static_mut_refs)]
        if let Some(saved) = SAVED_TERMINAL.as_ref() {
            libc::tcsetattr(0, libc::TCSANOW, saved);
        }
        libc::write(2, ABORT_MESSAGE.as_ptr().cast(), ABORT_MESSAGE.len());
        libc::_exit(130);
    }
}

/// Installed SIGINT handling; restores the previous one when dropped.
pub struct InterruptGuard {
    previous: Option<SigAction>,
}

impl InterruptGuard {
    /// Installs the handler, remembering the terminal settings to restore.
    pub fn install() -> InterruptGuard {
        // SAFETY: tcgetattr fills the struct on success; it is stored before the
        // handler that reads it is installed.
        unsafe {
            let mut terminal: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut terminal) == 0 {
                SAVED_TERMINAL = Some(terminal);
            }
        }
        APPLYING.store(false, Ordering::SeqCst);
        INTERRUPTED.store(false, Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(on_interrupt),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler only uses async-signal-safe functions and atomics.
        let previous = unsafe { sigaction(Signal::SIGINT, &action) }.ok();
        InterruptGuard { previous }
    }

    /// From now on Ctrl-C lets the current step finish.
    pub fn start_applying(&self) {
        APPLYING.store(true, Ordering::SeqCst);
    }

    /// Whether Ctrl-C was pressed while applying.
    pub fn interrupted(&self) -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        if let Some(previous) = &self.previous {
            // SAFETY: restoring the disposition that was in place before.
            let _ = unsafe { sigaction(Signal::SIGINT, previous) };
        }
    }
}
