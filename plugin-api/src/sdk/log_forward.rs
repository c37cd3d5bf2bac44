//! Forwards a plugin's `tracing` events to the host's subscriber.
//!
//! A plugin library links its own copy of `tracing`, with its own global dispatcher;
//! without this, `tracing::info!` in a plugin would go nowhere. During a run the SDK
//! points a tiny subscriber at the run's [`HostContext`]; it formats each event's
//! fields into one message and calls `HostContext::log`. Spans are not forwarded.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use std::sync::Once;

use abi_stable::std_types::RStr;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use crate::abi::{log_level, HostContext};

static ACTIVE_HOST: AtomicPtr<HostContext> = AtomicPtr::new(std::ptr::null_mut());
static MAX_LEVEL: AtomicU8 = AtomicU8::new(log_level::WARN);
static INSTALL: Once = Once::new();

/// Clears the forwarding target when the run ends.
pub struct Forwarding {
    previous: *mut HostContext,
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        ACTIVE_HOST.store(self.previous, Ordering::SeqCst);
    }
}

/// Sends this library's tracing events at `verbosity` (-1 quiet … 2 `-vv`) to `host`
/// until the guard is dropped. Nested runs (a plugin invoking itself through the
/// host) restore the outer target.
pub fn activate(host: &HostContext, verbosity: i8) -> Forwarding {
    INSTALL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(HostForwarder);
    });
    let level = match verbosity {
        i8::MIN..=-1 => log_level::ERROR,
        0 => log_level::WARN,
        1 => log_level::INFO,
        2 => log_level::DEBUG,
        _ => log_level::TRACE,
    };
    MAX_LEVEL.store(level, Ordering::SeqCst);
    let pointer = host as *const HostContext as *mut HostContext;
    Forwarding {
        previous: ACTIVE_HOST.swap(pointer, Ordering::SeqCst),
    }
}

fn level_number(level: &Level) -> u8 {
    match *level {
        Level::ERROR => log_level::ERROR,
        Level::WARN => log_level::WARN,
        Level::INFO => log_level::INFO,
        Level::DEBUG => log_level::DEBUG,
        Level::TRACE => log_level::TRACE,
    }
}

struct HostForwarder;

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

impl Subscriber for HostForwarder {
    // The answer depends on the run's verbosity, so never let tracing cache it.
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        level_number(metadata.level()) <= MAX_LEVEL.load(Ordering::Relaxed)
            && !ACTIVE_HOST.load(Ordering::Relaxed).is_null()
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let host = ACTIVE_HOST.load(Ordering::SeqCst);
        if host.is_null() {
            return;
        }
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let text = format!("{}{}", visitor.message, visitor.fields);
        // SAFETY: the pointer is set by `activate` from a reference that outlives the
        // guard, and cleared (restored) when the guard drops at the end of the run.
        let host = unsafe { &*host };
        (host.services.log())(
            host,
            level_number(event.metadata().level()),
            RStr::from(event.metadata().target()),
            RStr::from(text.as_str()),
        );
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}
