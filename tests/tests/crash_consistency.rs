//! Crash consistency of the installed binary: `kill -9` at random moments while
//! `mosaic config set`, `mosaic config hooks install`/`uninstall` and `mosaic fleet
//! launch` write their files. After every kill each file parses and holds the old or
//! the new state (never a mix, never empty, the user's own keys kept), and after the
//! next successful write of a file no temporary file of a killed writer is left
//! beside it (they are swept; see `plugin-api/src/sdk/fs.rs`).
//!
//! The delays before the kill are random, from 0 to a bit more than one whole run
//! of the command as measured first on this machine, so the kills land all over it,
//! the writes included. The seed is printed; `MOSAIC_CRASH_SEED=N` replays a run.

mod fleet_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleet_support::FleetSandbox;
use mosaic_tests::{tool_or_skip, Sandbox};
use serde_json::{json, Value};

/// A small deterministic random number generator (xorshift64*), seeded from the
/// clock or `MOSAIC_CRASH_SEED`.
struct Random(u64);

impl Random {
    fn new(test: &str) -> Random {
        let seed = std::env::var("MOSAIC_CRASH_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("{test}: MOSAIC_CRASH_SEED={seed}");
        // xorshift stays at 0 forever.
        Random(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A delay from 0 to `max`, in microseconds steps.
    fn delay(&mut self, max: Duration) -> Duration {
        let micros = max.as_micros().max(1) as u64;
        Duration::from_micros(self.next() % (micros + 1))
    }
}

/// Runs `command` for `delay`, then kills it with SIGKILL (if it still runs) and
/// reaps it. Returns whether it was killed (rather than finished first).
fn run_and_kill(mut command: Command, delay: Duration) -> bool {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot run mosaic");
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    child.wait().unwrap();
    !finished
}

/// How long one run of `command` takes here (the slowest of three), at least 1 ms.
fn measure(mut make_command: impl FnMut() -> Command) -> Duration {
    let mut slowest = Duration::from_millis(1);
    for _ in 0..3 {
        let started = Instant::now();
        let status = make_command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("cannot run mosaic");
        assert!(status.success(), "the command to measure failed");
        slowest = slowest.max(started.elapsed());
    }
    slowest
}

/// The temporary files (`.<name>.tmp.<pid>.<n>`) in `directory`.
fn temp_files(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.') && name.contains(".tmp."))
        .collect();
    names.sort();
    names
}

/// The inode of `path` (a rename over it gives it a new one).
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map_or(0, |metadata| metadata.ino())
}

/// Fails the test when `directory` holds temporary files.
#[track_caller]
fn assert_no_temp_files(directory: &Path, iteration: usize) {
    assert_eq!(
        temp_files(directory),
        Vec::<String>::new(),
        "iteration {iteration}: temporary files left in {directory:?} after a successful write"
    );
}

/// The PID of a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Leaves a temporary file of `file` as a writer killed long ago would have (its
/// PID is no process's), which the next write of `file` must remove.
fn plant_stale_temp_file(file: &Path) -> PathBuf {
    let name = file.file_name().unwrap().to_string_lossy();
    let planted = file.with_file_name(format!(".{name}.tmp.{}.0", dead_pid()));
    std::fs::write(&planted, "{\"torn\":").unwrap();
    planted
}

/// The file parsed as JSON; fails the test naming the iteration when it does not
/// parse (torn, empty).
#[track_caller]
fn parse(path: &Path, iteration: usize) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("iteration {iteration}: cannot read {path:?}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| {
        panic!("iteration {iteration}: {path:?} is not JSON ({error}): {text:?}")
    })
}

#[test]
fn config_set_killed_at_random_moments_keeps_config_json_whole() {
    const ITERATIONS: usize = 200;
    let sandbox = Sandbox::with_plugins(&[]);
    let config = sandbox.config_dir().join("config.json");
    // Other keys of the user's, which every state keeps.
    for (key, value) in [
        ("user.name", "Ada"),
        ("user.editor", "vim"),
        ("other.port", "8080"),
    ] {
        sandbox.run(["config", "set", key, value]).expect_code(0);
    }
    let values = ["alpha", "beta"];
    sandbox
        .run(["config", "set", "target.value", values[0]])
        .expect_code(0);
    let state_of = |value: &str| {
        json!({
            "user": {"name": "Ada", "editor": "vim"},
            "other": {"port": 8080},
            "target": {"value": value}
        })
    };
    let mut current = state_of(values[0]);
    assert_eq!(parse(&config, 0), current);

    let max_delay =
        measure(|| sandbox.command(["config", "set", "target.value", values[0]])).mul_f64(1.5);
    let mut random = Random::new("config set");
    let mut killed = 0;
    let mut leftovers = 0;
    for iteration in 1..=ITERATIONS {
        let value = values[iteration % 2];
        let target = state_of(value);
        let command = sandbox.command(["config", "set", "target.value", value]);
        killed += usize::from(run_and_kill(command, random.delay(max_delay)));
        let found = parse(&config, iteration);
        assert!(
            found == current || found == target,
            "iteration {iteration}: config.json holds neither the old nor the new state: \
             {found}"
        );
        leftovers += temp_files(&sandbox.config_dir()).len();
        // The next write completes the change, and sweeps what the killed one left
        // (when it writes: the killed run may have finished the change already).
        let before = inode(&config);
        sandbox
            .run(["config", "set", "target.value", value])
            .expect_code(0);
        assert_eq!(parse(&config, iteration), target, "iteration {iteration}");
        if inode(&config) != before {
            assert_no_temp_files(&sandbox.config_dir(), iteration);
        }
        if iteration % 10 == 0 {
            // Two writes that surely happen, after a planted leftover.
            plant_stale_temp_file(&config);
            let other = values[(iteration + 1) % 2];
            for value in [other, value] {
                sandbox
                    .run(["config", "set", "target.value", value])
                    .expect_code(0);
            }
            assert_no_temp_files(&sandbox.config_dir(), iteration);
        }
        current = target;
    }
    eprintln!(
        "config set: {killed} of {ITERATIONS} runs killed, {leftovers} temporary files left \
         by them (all swept)"
    );
}

/// The settings.json of a user with hooks and settings of their own.
fn users_settings() -> Value {
    json!({
        "model": "opus",
        "permissions": {"allow": ["Bash(ls:*)"], "deny": ["Read(./.env)"]},
        "env": {"FOO": "bar"},
        "hooks": {
            "PreToolUse": [
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "echo mine"}]}
            ],
            "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]
        }
    })
}

#[test]
fn hooks_install_and_uninstall_killed_at_random_moments_keep_settings_whole() {
    const ITERATIONS: usize = 200;
    let sandbox = Sandbox::with_plugins(&["hooks"]);
    let claude_home = sandbox.claude_home();
    std::fs::create_dir_all(&claude_home).unwrap();
    let settings = claude_home.join("settings.json");
    let record = claude_home.join("hooks-config.json");
    let original = users_settings();
    std::fs::write(
        &settings,
        serde_json::to_string_pretty(&original).unwrap() + "\n",
    )
    .unwrap();

    // The two states: installed and not.
    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    let installed = parse(&settings, 0);
    let installed_record = parse(&record, 0);
    assert_ne!(installed, original);
    sandbox.run(["config", "hooks", "uninstall"]).expect_code(0);
    assert_eq!(
        parse(&settings, 0),
        original,
        "uninstall restores the user's file"
    );
    let uninstalled_record = record.exists().then(|| parse(&record, 0));

    let max_delay = measure(|| sandbox.command(["config", "hooks", "install"])).mul_f64(1.5);
    sandbox.run(["config", "hooks", "uninstall"]).expect_code(0);
    let mut random = Random::new("hooks install/uninstall");
    let mut killed = 0;
    let mut leftovers = 0;
    for iteration in 1..=ITERATIONS {
        let install = iteration % 2 == 1;
        let action = if install { "install" } else { "uninstall" };
        let command = sandbox.command(["config", "hooks", action]);
        killed += usize::from(run_and_kill(command, random.delay(max_delay)));

        let found = parse(&settings, iteration);
        assert!(
            found == original || found == installed,
            "iteration {iteration} ({action} killed): settings.json holds neither the \
             user's own settings nor them with Mosaic's hooks: {found}"
        );
        if record.exists() {
            let found = parse(&record, iteration);
            assert!(
                found == installed_record || Some(&found) == uninstalled_record.as_ref(),
                "iteration {iteration} ({action} killed): hooks-config.json is a mix: {found}"
            );
        }
        leftovers += temp_files(&claude_home).len();

        let before = inode(&settings);
        sandbox.run(["config", "hooks", action]).expect_code(0);
        let expected = if install { &installed } else { &original };
        assert_eq!(
            &parse(&settings, iteration),
            expected,
            "iteration {iteration}: {action} after a killed {action}"
        );
        if inode(&settings) != before {
            assert_no_temp_files(&claude_home, iteration);
        }
        if iteration % 10 == 0 {
            // Writes that surely happen, after planted leftovers.
            plant_stale_temp_file(&settings);
            plant_stale_temp_file(&record);
            let opposite = if install { "uninstall" } else { "install" };
            for action in [opposite, action] {
                sandbox.run(["config", "hooks", action]).expect_code(0);
            }
            assert_no_temp_files(&claude_home, iteration);
        }
    }
    eprintln!(
        "hooks: {killed} of {ITERATIONS} runs killed, {leftovers} temporary files left by \
         them (all swept)"
    );
}

#[test]
fn fleet_launch_killed_at_random_moments_leaves_whole_records() {
    const ITERATIONS: usize = 40;
    if tool_or_skip("crash_consistency (fleet launch)", "tmux").is_none() {
        return;
    }
    let fleet = FleetSandbox::new();
    let run_dir = fleet.run_dir();
    let metadata = run_dir.join("a.meta.json");
    let launch = || {
        fleet
            .sandbox
            .command(["fleet", "launch", "a", "--detach", "--", "sleep", "1000"])
    };
    // One whole launch (it waits to see the agent settle) and its clean-up, which
    // also leaves a pruned-history.json for the kills to keep whole.
    let started = Instant::now();
    fleet.launch("a", &["sleep", "1000"]);
    let whole_launch = started.elapsed();
    fleet.run(&["fleet", "stop", "--force", "a"]).expect_code(0);
    fleet.run(&["fleet", "prune"]).expect_code(0);
    let history = run_dir.join("pruned-history.json");
    let mut history_before = parse(&history, 0);
    // The writes happen early in a launch; most kills land before the settle wait.
    let max_delay = whole_launch.mul_f64(0.3).max(Duration::from_millis(20));

    let mut random = Random::new("fleet launch");
    let mut killed = 0;
    let mut leftovers = 0;
    let mut recorded = 0;
    for iteration in 1..=ITERATIONS {
        killed += usize::from(run_and_kill(launch(), random.delay(max_delay)));

        if metadata.exists() {
            recorded += 1;
            let found = parse(&metadata, iteration);
            assert_eq!(found["agent"], "a", "iteration {iteration}: {found}");
            assert_eq!(
                found["command"],
                json!(["sleep", "1000"]),
                "iteration {iteration}: {found}"
            );
            assert!(
                found["pane_pid"].is_u64() || found["pane_pid"].is_null(),
                "iteration {iteration}: {found}"
            );
            assert!(
                found["sidecar_pid"].is_u64() || found["sidecar_pid"].is_null(),
                "iteration {iteration}: {found}"
            );
        }
        let heartbeat = run_dir.join("a.hb");
        if heartbeat.exists() {
            let found = parse(&heartbeat, iteration);
            assert_eq!(found["agent"], "a", "iteration {iteration}: {found}");
        }
        assert_eq!(
            parse(&history, iteration),
            history_before,
            "iteration {iteration}: pruned-history.json changed"
        );
        let ps = fleet.run(&["fleet", "ps", "--json"]);
        ps.expect_code(0);
        ps.json();
        leftovers += temp_files(&run_dir).len();

        // Clean up for the next launch: stop what runs, forget the agent, and end a
        // session whose launch was killed before it recorded anything.
        if metadata.exists() {
            fleet.run(&["fleet", "stop", "--force", "a"]);
        }
        let _ = fleet.tmux(&["kill-session", "-t", "=mosaic-a"]);
        fleet.run(&["fleet", "prune"]).expect_code(0);
        history_before = parse(&history, iteration);
    }

    // The next successful launch (metadata written twice) and stop sweep what the
    // killed launches left of the agent's files, and write probes of killed launches.
    plant_stale_temp_file(&metadata);
    let probe = run_dir.join(format!(".write-probe.{}", dead_pid()));
    std::fs::write(&probe, "").unwrap();
    fleet.launch("a", &["sleep", "1000"]);
    fleet.run(&["fleet", "stop", "--force", "a"]).expect_code(0);
    let left: Vec<String> = std::fs::read_dir(&run_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".a.meta.json.tmp.") || name.starts_with(".write-probe."))
        .collect();
    assert_eq!(
        left,
        Vec::<String>::new(),
        "temporary metadata files or write probes left after a successful launch"
    );
    eprintln!(
        "fleet launch: {killed} of {ITERATIONS} launches killed, {recorded} after recording \
         the agent, {leftovers} temporary files seen after them"
    );
}
