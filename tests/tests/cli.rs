//! The command line as a whole: usage errors with clap's suggestions, commands of
//! first-party plugins that are not installed, shell completions that include
//! plugin commands, and the `-v` / `-q` flags.

use std::fs;

use mosaic_tests::{hello_plugin, Sandbox};

/// A slim sandbox with hello in the scratch plugin dir.
fn sandbox_with_hello() -> Sandbox {
    let sandbox = Sandbox::with_plugins(&[]);
    sandbox.add_plugin(hello_plugin(), "hello");
    sandbox
}

#[test]
fn unknown_command_gets_a_suggestion() {
    let sandbox = Sandbox::with_plugins(&[]);
    let run = sandbox.run(["plugin"]);
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("error: unrecognized subcommand 'plugin'"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("tip: a similar subcommand exists: 'plugins'"),
        "{run:?}"
    );

    let plugin_command = sandbox_with_hello().run_with_scratch(["helo"]);
    plugin_command.expect_code(2);
    let tip = plugin_command
        .stderr
        .lines()
        .find(|line| line.contains("tip:"))
        .unwrap_or_default();
    assert!(
        tip.contains("'hello'"),
        "plugin commands are suggested too: {plugin_command:?}"
    );
}

#[test]
fn command_of_a_first_party_plugin_that_is_not_installed_says_so() {
    let sandbox = sandbox_with_hello();
    for (args, command, plugin) in [
        (&["gateway", "status"][..], "gateway", "gateway"),
        (&["config", "hooks", "list"][..], "config hooks", "hooks"),
        (&["fleet", "ps"][..], "fleet", "fleet"),
        (&["wizard"][..], "wizard", "wizard"),
    ] {
        let run = sandbox.run_with_scratch(args);
        run.expect_code(2);
        assert_eq!(run.stdout, "");
        assert!(
            run.stderr.starts_with(&format!(
                "error: `{command}` is provided by the {plugin} plugin, which is not installed"
            )),
            "{args:?}: {run:?}"
        );
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    }
    // Other plugins and built-ins are unaffected.
    sandbox.run_with_scratch(["hello"]).expect_code(0);
    sandbox.run_with_scratch(["config", "path"]).expect_code(0);
}

#[test]
fn completions_include_plugin_commands() {
    let sandbox = sandbox_with_hello();
    for shell in ["bash", "zsh", "fish"] {
        let run = sandbox.run_with_scratch(["completions", shell]);
        run.expect_code(0);
        assert_eq!(run.stderr, "", "{shell}");
        for word in ["hello", "greeting", "plugins", "completions"] {
            assert!(run.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
    let without_plugin = Sandbox::with_plugins(&[]).run(["completions", "bash"]);
    without_plugin.expect_code(0);
    assert!(!without_plugin.stdout.contains("hello"));
}

#[test]
fn verbose_shows_the_plugin_tracing_events() {
    let sandbox = sandbox_with_hello();
    let quiet_by_default = sandbox.run_with_scratch(["hello"]);
    quiet_by_default.expect_code(0);
    assert_eq!(quiet_by_default.stderr, "");

    let verbose = sandbox.run_with_scratch(["-v", "hello"]);
    verbose.expect_code(0);
    assert_eq!(verbose.stdout, "Hello, world!\n");
    let line = verbose
        .stderr
        .lines()
        .find(|line| line.contains("greeted world"))
        .unwrap_or_else(|| panic!("no tracing line: {verbose:?}"));
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("plugin=\"hello\""), "{line}");
}

#[test]
fn quiet_hides_plugin_problem_warnings() {
    let sandbox = sandbox_with_hello();
    fs::write(
        sandbox.plugin_scratch().join("libmosaic_junk.so"),
        "not a library",
    )
    .unwrap();

    let warned = sandbox.run_with_scratch(["hello"]);
    warned.expect_code(0);
    assert!(
        warned.stderr.contains("libmosaic_junk.so is broken"),
        "{warned:?}"
    );

    let quiet = sandbox.run_with_scratch(["-q", "hello"]);
    quiet.expect_code(0);
    assert_eq!(quiet.stdout, "Hello, world!\n");
    assert_eq!(quiet.stderr, "");
}

#[test]
fn a_closed_pipe_ends_mosaic_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;

    // `mosaic config show | head -c 1` over a config whose table (~200 KB) is more
    // than a pipe holds, so mosaic is still writing when the reader goes away.
    let sandbox = Sandbox::with_plugins(&[]);
    fs::create_dir_all(sandbox.config_dir()).unwrap();
    let keys: serde_json::Map<String, serde_json::Value> = (0..4000)
        .map(|index| (format!("key_{index}"), serde_json::json!("some value")))
        .collect();
    fs::write(
        sandbox.config_dir().join("config.json"),
        serde_json::json!({ "section": keys }).to_string(),
    )
    .unwrap();
    let mut child = sandbox
        .command(["config", "show"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run mosaic");
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        status.signal(),
        Some(nix::sys::signal::Signal::SIGPIPE as i32),
        "{status:?}: {stderr}"
    );
}

#[test]
fn top_level_help_is_cached_and_follows_the_installed_plugins() {
    let mut sandbox = Sandbox::with_plugins(&[]);
    let rendered = sandbox.run(["--help"]);
    rendered.expect_code(0);
    let help_dir = sandbox.cache_dir().join("root-help");
    assert_eq!(fs::read_dir(&help_dir).unwrap().count(), 1, "kept once");
    let cached = sandbox.run(["--help"]);
    cached.expect_code(0);
    // clap itself renders it when anything else is on the command line.
    let direct = sandbox.run(["--no-color", "--help"]);
    assert_eq!(cached.stdout, rendered.stdout);
    assert_eq!(cached.stdout, direct.stdout);
    assert!(!rendered.stdout.contains("hello"), "{}", rendered.stdout);
    assert_eq!(
        sandbox.run(["-h"]).stdout,
        sandbox.run(["--no-color", "-h"]).stdout
    );

    sandbox
        .run([
            "plugins".as_ref(),
            "install".as_ref(),
            hello_plugin().as_os_str(),
        ])
        .expect_code(0);
    let after = sandbox.run(["--help"]);
    after.expect_code(0);
    assert!(after.stdout.contains("hello"), "{}", after.stdout);
    assert_eq!(after.stdout, sandbox.run(["--no-color", "--help"]).stdout);
    // A narrower terminal is another rendering, not the cached one.
    sandbox.env("COLUMNS", "60");
    let narrow = sandbox.run(["--help"]);
    assert_ne!(narrow.stdout, after.stdout);
    assert_eq!(narrow.stdout, sandbox.run(["-q", "--help"]).stdout);
}
