//! The [`Plugin`] trait and the glue behind [`crate::export_plugin!`].
//!
//! A plugin says who it is ([`Plugin::manifest`]) and lists its commands once
//! ([`Plugin::commands`]); the glue derives the manifest's command specs and the
//! dispatch from that one list. It is where the ABI meets ordinary Rust: it decodes
//! the invocation JSON, builds a [`Context`], runs the command inside `catch_unwind`
//! (a panic must never unwind through `extern "C"`), flushes output, and turns the
//! outcome into the ABI's `RResult`. It also forwards the plugin's `tracing` events
//! to the host.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use abi_stable::library::RootModule;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RResult, RStr, RString};
use anyhow::{Context as _, Result};

use crate::abi::{HostContext, PluginMod, PluginModRef, RunFailure};
use crate::command::Commands;
use crate::sdk::context::Context;
use crate::sdk::log_forward;
use crate::spec::{Invocation, Manifest};

/// What a plugin implements. One value is created (with `Default`) per call.
pub trait Plugin: Default + 'static {
    /// The plugin's name, version, description, host requirement and config keys
    /// (`Manifest::new(…)` and its builder methods). Leave `commands` empty: the SDK
    /// fills it from [`Plugin::commands`].
    fn manifest(&self) -> Manifest;

    /// Every command of the plugin, each declared once with its handler
    /// (see [`crate::command`]).
    fn commands(&self) -> Commands;
}

/// The manifest the host sees: [`Plugin::manifest`] with the specs of
/// [`Plugin::commands`]. Commands an author put in `Manifest::commands` by hand are
/// kept first, so the validator reports them as duplicates rather than losing them.
pub fn full_manifest<P: Plugin>(plugin: &P) -> Manifest {
    let mut manifest = plugin.manifest();
    manifest.commands.extend(plugin.commands().specs());
    manifest
}

thread_local! {
    /// The message and location of the last panic on this thread, captured by our
    /// panic hook so the host can report it in one line.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether this thread is inside [`catch_panic`]; other panics (a failing
    /// assertion in a plugin's test) go to the previous hook as usual.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
}

static QUIET_PANIC_HOOK: Once = Once::new();

/// Replaces the default "thread panicked at" printout of this library's copy of
/// `std` with a capture, for panics inside [`catch_panic`]; the host prints the
/// one-line report instead.
fn install_panic_capture() {
    QUIET_PANIC_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CAPTURING.with(Cell::get) {
                return previous(info);
            }
            let message = if let Some(text) = info.payload().downcast_ref::<&str>() {
                text.to_string()
            } else if let Some(text) = info.payload().downcast_ref::<String>() {
                text.clone()
            } else {
                "panic with a non-string payload".to_string()
            };
            let located = match info.location() {
                Some(location) => format!("{message} (at {}:{})", location.file(), location.line()),
                None => message,
            };
            LAST_PANIC.with(|slot| *slot.borrow_mut() = Some(located));
        }));
    });
}

fn take_panic_message() -> String {
    LAST_PANIC
        .with(|slot| slot.borrow_mut().take())
        .unwrap_or_else(|| "panic".to_string())
}

/// Runs `body`, converting a panic into `Err(message)`.
pub(crate) fn catch_panic<T>(body: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_capture();
    let outer = CAPTURING.with(|capturing| capturing.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(body));
    CAPTURING.with(|capturing| capturing.set(outer));
    outcome.map_err(|_| take_panic_message())
}

#[doc(hidden)]
pub extern "C" fn manifest_entry<P: Plugin>() -> RResult<RString, RString> {
    let outcome = catch_panic(|| serde_json::to_string(&full_manifest(&P::default())));
    match outcome {
        Ok(Ok(json)) => RResult::ROk(RString::from(json)),
        Ok(Err(error)) => RResult::RErr(RString::from(format!("cannot encode manifest: {error}"))),
        Err(panic) => RResult::RErr(RString::from(format!("panicked in manifest: {panic}"))),
    }
}

/// Decodes the invocation and runs the plugin's command with the given context.
pub(crate) fn run_with_context<P: Plugin>(
    context: &Context<'_>,
    invocation_json: &str,
) -> Result<i32> {
    let invocation: Invocation =
        serde_json::from_str(invocation_json).context("the host sent an invalid invocation")?;
    dispatch::<P>(context, &invocation)
}

/// Runs the command an invocation names through the plugin's command table.
pub fn dispatch<P: Plugin>(context: &Context<'_>, invocation: &Invocation) -> Result<i32> {
    let handler = P::default().commands().handler_for(invocation)?;
    handler(context, invocation)
}

#[doc(hidden)]
pub extern "C" fn run_entry<P: Plugin>(
    host: &HostContext,
    invocation_json: RStr<'_>,
) -> RResult<i32, RunFailure> {
    // A panicking manifest is reported by the host when it reads the manifest; here
    // the run goes on without config keys and fails where it needs one.
    let config_keys = catch_panic(|| P::default().manifest().config).unwrap_or_default();
    let context = Context::new(host, config_keys);
    let _forwarding = log_forward::activate(host, context.verbosity());
    let outcome = catch_panic(|| run_with_context::<P>(&context, invocation_json.as_str()));
    context.flush();
    match outcome {
        Ok(Ok(code)) => RResult::ROk(code),
        Ok(Err(error)) => RResult::RErr(RunFailure {
            panicked: false,
            message: RString::from(format!("{error:#}")),
        }),
        Err(panic) => RResult::RErr(RunFailure {
            panicked: true,
            message: RString::from(panic),
        }),
    }
}

#[doc(hidden)]
pub fn root_module<P: Plugin>() -> PluginModRef {
    PluginMod {
        manifest: manifest_entry::<P>,
        run: run_entry::<P>,
    }
    .leak_into_prefix()
}

/// Re-exports used by [`crate::export_plugin!`]; not part of the public API.
#[doc(hidden)]
pub mod private {
    pub use super::root_module;
    pub use crate::abi::PluginModRef;
    pub use abi_stable::library::{
        __call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult,
    };

    /// Makes sure the root module type implements `RootModule` at compile time.
    pub const fn assert_root_module<M: super::RootModule>() {}
}

/// Exports a [`Plugin`] implementation as the library's root module.
///
/// ```ignore
/// #[derive(Default)]
/// struct Hello;
/// impl mosaic_plugin_api::Plugin for Hello { /* manifest, run */ }
/// mosaic_plugin_api::export_plugin!(Hello);
/// ```
///
/// The crate must be built as a `cdylib` named `mosaic_<plugin name>`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        // The symbol abi_stable looks for; pinned by a unit test in mosaic-plugin-api.
        #[doc(hidden)]
        #[export_name = "_1as_0lib_1header_0root_bmodule_bloader"]
        pub static MOSAIC_PLUGIN_LIB_HEADER: $crate::sdk::plugin::private::LibHeader = {
            extern "C" fn construct_root_module() -> $crate::sdk::plugin::private::RootModuleResult
            {
                $crate::sdk::plugin::private::__call_root_module_loader(
                    $crate::sdk::plugin::private::root_module::<$plugin>,
                )
            }
            $crate::sdk::plugin::private::assert_root_module::<
                $crate::sdk::plugin::private::PluginModRef,
            >();
            // SAFETY: `construct_root_module` returns the `PluginModRef` built by
            // `root_module`, which is what `from_constructor::<PluginModRef>` requires.
            unsafe {
                $crate::sdk::plugin::private::LibHeader::from_constructor::<
                    $crate::sdk::plugin::private::PluginModRef,
                >(
                    construct_root_module,
                    $crate::sdk::plugin::private::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_panics_inside_catch_panic_are_captured() {
        let inside = catch_panic(|| panic!("inside a run"));
        assert!(inside.unwrap_err().starts_with("inside a run"));
        // A panic elsewhere (a failing assertion in a plugin's test) reaches the
        // previous hook, which prints it, instead of vanishing into the capture.
        let outside = panic::catch_unwind(|| panic!("outside a run"));
        assert!(outside.is_err());
        assert_eq!(LAST_PANIC.with(|slot| slot.borrow_mut().take()), None);
    }
}
