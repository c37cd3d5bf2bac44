//! `mosaic fleet watch` in a real terminal: a tmux pane (its own server) runs the
//! view over agents on the fleet's private tmux server; the test types with
//! send-keys and reads the screen with capture-pane. Covered: the table and the
//! selected agent's pane lines, filter, sending a line, the diff key, stop,
//! attach and detach, resize, quitting with Ctrl-C and SIGTERM with the terminal
//! restored (same `stty` settings, alternate screen off), NO_COLOR, and the
//! per-refresh stats file.

mod fleet_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use fleet_support::{wait_until, FleetSandbox};
use mosaic_tests::{shell_quote, Terminal};

/// The view running in a terminal of its own; the shell around it records the
/// terminal settings before and after, and the exit code.
struct WatchTerminal {
    terminal: Terminal,
    directory: PathBuf,
}

impl WatchTerminal {
    /// Starts `mosaic fleet watch ARGS` with the sandbox's environment plus `extra`.
    fn start(fleet: &FleetSandbox, args: &[&str], extra: &[(&str, &str)]) -> WatchTerminal {
        // A directory (and so a tmux server) per view: a killed server may still
        // hold its socket for a moment.
        static VIEWS: AtomicUsize = AtomicUsize::new(0);
        let directory = fleet
            .sandbox
            .root()
            .join(format!("terminal-{}", VIEWS.fetch_add(1, Ordering::SeqCst)));
        std::fs::create_dir_all(&directory).unwrap();
        let mut command = fleet.sandbox.command(["fleet", "watch"]);
        command.args(args);
        let mut line = String::from("unset TMUX NO_COLOR; exec env");
        for (name, value) in command.get_envs() {
            if let Some(value) = value {
                line.push_str(&format!(
                    " {}={}",
                    name.to_str().unwrap(),
                    shell_quote(value.to_str().unwrap())
                ));
            }
        }
        for (name, value) in extra {
            line.push_str(&format!(" {name}={}", shell_quote(value)));
        }
        line.push_str(&format!(
            " {}",
            shell_quote(command.get_program().to_str().unwrap())
        ));
        for arg in command.get_args() {
            line.push_str(&format!(" {}", shell_quote(arg.to_str().unwrap())));
        }
        let dir = shell_quote(directory.to_str().unwrap());
        let script = format!(
            "cd {dir}; stty -g > before; (sh -c {}); echo \"watch exited $?\"; \
             stty -g > after; exec sleep 600",
            shell_quote(&line)
        );
        let terminal = Terminal::start(&directory, &script);
        WatchTerminal {
            terminal,
            directory,
        }
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(self.directory.join("tmux.sock"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The visible screen only (no scroll-back), with escape sequences when
    /// `escapes`.
    fn visible(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "main"];
        if escapes {
            args.push("-e");
        }
        String::from_utf8_lossy(&self.tmux(&args).stdout).into_owned()
    }

    /// Waits until the visible screen satisfies `check`.
    #[track_caller]
    fn wait_screen(&self, what: &str, check: impl Fn(&str) -> bool) {
        let mut last = String::new();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until(what, || {
                last = self.visible(false);
                check(&last)
            })
        }));
        if outcome.is_err() {
            panic!("the screen never showed {what}:\n{last}");
        }
    }

    /// Waits until the visible screen shows `text`.
    #[track_caller]
    fn expect(&self, text: &str) {
        self.wait_screen(&format!("{text:?}"), |screen| screen.contains(text));
    }

    /// Waits for the view to end, then checks the terminal is as it was.
    #[track_caller]
    fn expect_restored(&self) {
        self.terminal.expect("watch exited 0");
        let before = std::fs::read_to_string(self.directory.join("before")).unwrap();
        let mut after = String::new();
        wait_until("the shell to save the terminal settings", || {
            after = std::fs::read_to_string(self.directory.join("after")).unwrap_or_default();
            !after.is_empty()
        });
        assert_eq!(before, after, "stty settings are back");
        let alternate = self.tmux(&["display-message", "-p", "-t", "main", "#{alternate_on}"]);
        assert_eq!(
            String::from_utf8_lossy(&alternate.stdout).trim(),
            "0",
            "the alternate screen was left"
        );
    }
}

/// Launches `agent` running `sh -c LINE`.
fn launch_shell(fleet: &FleetSandbox, agent: &str, line: &str) {
    fleet.launch(agent, &["sh", "-c", line]);
}

/// The pid of the `mosaic` process that is a child of `parent` (or deeper).
fn find_watch_pid(parent: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        .unwrap_or_default();
    for child in children
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
    {
        let exe = std::fs::read_link(format!("/proc/{child}/exe")).unwrap_or_default();
        if exe.file_name().is_some_and(|name| name == "mosaic") {
            return Some(child);
        }
        if let Some(found) = find_watch_pid(child) {
            return Some(found);
        }
    }
    None
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn the_view_shows_agents_and_its_keys_act_on_them() {
    let fleet = FleetSandbox::new();
    launch_shell(&fleet, "alpha", "echo alpha-is-ready; exec cat");
    let typed = fleet.sandbox.root().join("beta.typed");
    launch_shell(
        &fleet,
        "beta",
        &format!("echo beta-is-ready; exec cat > '{}'", typed.display()),
    );
    let watch = WatchTerminal::start(&fleet, &[], &[]);

    // The table, with the first agent selected and its pane below.
    watch.expect("mosaic fleet watch - 2 agents (2 alive)");
    watch.expect("AGENT");
    watch.expect("alpha-is-ready");
    watch.expect("q quit");

    // Down selects beta: its pane shows.
    watch.terminal.send(&["Down"]);
    watch.expect("beta-is-ready");
    watch.expect(" beta - last lines ");

    // A line typed with `s` arrives as typed (with Enter), key names and all.
    watch.terminal.send(&["s"]);
    watch.expect("send to beta: _");
    watch.terminal.type_line("hi; $(x) 'C-c' Enter");
    watch.expect("sent to beta: hi; $(x) 'C-c' Enter");
    wait_until("the line to reach beta", || {
        read(&typed) == "hi; $(x) 'C-c' Enter\n"
    });

    // The diff key runs `fleet diff` and shows what it says.
    watch.terminal.send(&["d"]);
    watch.expect("has no worktree of its own");

    // A filter hides the rows that do not match, and Esc clears it.
    watch.terminal.send(&["/"]);
    watch.terminal.type_line("alp");
    watch.expect("filter \"alp\": 1 shown");
    watch.wait_screen("only alpha in the table", |screen| {
        !screen.lines().any(|line| line.contains("beta "))
    });
    watch.terminal.send(&["/"]);
    watch.terminal.send(&["Escape"]);
    watch.expect("2 agents (2 alive)");
    watch.wait_screen("no filter", |screen| !screen.contains("filter \""));

    // A resize redraws at the new size.
    watch.tmux(&["resize-window", "-t", "main", "-x", "90", "-y", "24"]);
    watch.wait_screen("a 90-column redraw", |screen| {
        screen.contains("2 agents") && screen.lines().all(|line| line.chars().count() <= 90)
    });

    // Attach puts the terminal on alpha's session; C-b d comes back to the view.
    watch.terminal.send(&["Home"]);
    watch.expect(" alpha - last lines ");
    watch.terminal.send(&["a"]);
    watch.wait_screen("alpha's own session", |screen| {
        screen.contains("alpha-is-ready") && !screen.contains("mosaic fleet watch")
    });
    watch.terminal.send(&["C-b", "d"]);
    watch.expect("mosaic fleet watch - 2 agents");

    // Stop asks first, then runs `fleet stop` while the view keeps drawing.
    watch.terminal.send(&["Down"]);
    watch.expect(" beta - last lines ");
    watch.terminal.send(&["x"]);
    watch.expect("stop agent beta? (y/n)");
    watch.terminal.send(&["y"]);
    watch.expect("stopped agent beta");
    watch.expect("1 alive, 1 stopped");
    assert!(!fleet.has_session("mosaic-beta"));

    // Ctrl-C quits and gives the terminal back as it was.
    watch.terminal.send(&["C-c"]);
    watch.expect_restored();
}

#[test]
fn no_color_sigterm_and_refresh_stats() {
    let fleet = FleetSandbox::new();
    launch_shell(&fleet, "gamma", "echo gamma-is-ready; exec cat");
    let stats = fleet.sandbox.root().join("stats.jsonl");

    // With colour, alive is green.
    let coloured = WatchTerminal::start(&fleet, &[], &[]);
    coloured.expect("gamma-is-ready");
    coloured.wait_screen("green", |_| {
        let screen = coloured.visible(true);
        screen.contains("\u{1b}[32m") || screen.contains("\u{1b}[38;5;2m")
    });
    coloured.terminal.send(&["q"]);
    coloured.expect_restored();
    drop(coloured);

    let watch = WatchTerminal::start(
        &fleet,
        &["--interval", "1"],
        &[
            ("NO_COLOR", "1"),
            ("MOSAIC_FLEET_WATCH_STATS", stats.to_str().unwrap()),
        ],
    );
    watch.expect("gamma-is-ready");
    let screen = watch.visible(true);
    for colour in 30..=37 {
        assert!(
            !screen.contains(&format!("\u{1b}[{colour}m")) && !screen.contains("\u{1b}[38;5;"),
            "no colour with NO_COLOR:\n{screen:?}"
        );
    }
    // One JSON line per refresh, every second.
    wait_until("three refreshes in the stats file", || {
        read(&stats).lines().count() >= 3
    });
    for line in read(&stats).lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(record["refresh_ms"].as_f64().unwrap() >= 0.0, "{line}");
        assert_eq!(record["agents"], 1, "{line}");
    }

    // SIGTERM from outside: the view ends cleanly too.
    let shell = watch.tmux(&["display-message", "-p", "-t", "main", "#{pane_pid}"]);
    let shell: u32 = String::from_utf8_lossy(&shell.stdout)
        .trim()
        .parse()
        .unwrap();
    let pid = find_watch_pid(shell).expect("the watch process");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    watch.expect_restored();
}

#[test]
fn the_view_ends_when_its_terminal_goes_away() {
    let fleet = FleetSandbox::new();
    let watch = WatchTerminal::start(&fleet, &[], &[]);
    watch.expect("fleet watch");
    let shell = watch.tmux(&["display-message", "-p", "-t", "main", "#{pane_pid}"]);
    let shell: u32 = String::from_utf8_lossy(&shell.stdout)
        .trim()
        .parse()
        .unwrap();
    let pid = find_watch_pid(shell).expect("the watch process");
    // Closing the tmux server hangs up the pane's terminal; crossterm alone would
    // read end-of-file from it in a busy loop for ever.
    watch.tmux(&["kill-server"]);
    let gone = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| stat.contains(") Z "))
            .unwrap_or(true)
    };
    wait_until("the view to end", || gone(pid));
}

#[test]
fn watch_needs_a_terminal() {
    let fleet = FleetSandbox::new();
    let run = fleet.run(&["fleet", "watch"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("needs a terminal") && run.stderr.contains("fleet ps"),
        "{}",
        run.stderr
    );
    let run = fleet.run(&["fleet", "watch", "--interval", "0"]);
    run.expect_code(1);
    assert!(run.stderr.contains("--interval 0"), "{}", run.stderr);
}
