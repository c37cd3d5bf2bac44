//! `mosaic fleet send`: text typed into a real interactive program in a real tmux
//! pane (`cat` writing what it reads to a file) arrives exactly as written —
//! quotes, `;`, `$(…)`, backquotes, tmux key names, several lines — from arguments
//! and from stdin; `--no-enter`; and the one-line errors.

mod fleet_support;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use fleet_support::{wait_until, FleetSandbox};
use mosaic_tests::Run;

/// Launches `agent` running `cat > FILE` and returns FILE.
fn launch_cat(fleet: &FleetSandbox, agent: &str) -> std::path::PathBuf {
    let file = fleet.sandbox.root().join(format!("{agent}.typed"));
    let line = format!("cat > '{}'", file.display());
    fleet.launch(agent, &["sh", "-c", &line]);
    file
}

/// Waits until `file` holds exactly `expected` (cat writes each line as it reads
/// it).
fn wait_for_content(file: &Path, expected: &str) {
    let mut last = String::new();
    wait_until(&format!("{} to hold {expected:?}", file.display()), || {
        last = std::fs::read_to_string(file).unwrap_or_default();
        last == expected
    });
}

/// `mosaic fleet send ARGS` with `stdin` piped in.
fn send_stdin(fleet: &FleetSandbox, args: &[&str], stdin: &str) -> Run {
    let mut command = fleet.sandbox.command(args);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("cannot run mosaic");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    Run::from_output(child.wait_with_output().unwrap())
}

#[test]
fn text_arrives_exactly_as_typed() {
    let fleet = FleetSandbox::new();
    let file = launch_cat(&fleet, "typist");

    let tricky = r#"it's "quoted"; echo $(touch pwned) `date` C-c Enter M-x \ end"#;
    let run = fleet.run(&["fleet", "send", "typist", tricky]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("pressed Enter"),
        "says what it did: {}",
        run.stderr
    );
    let mut expected = format!("{tricky}\n");
    wait_for_content(&file, &expected);

    // Several words are joined with one space; `--` lets a text start with `-`.
    fleet
        .run(&["fleet", "send", "typist", "--", "-n", "two  words", ";"])
        .expect_code(0);
    expected.push_str("-n two  words ;\n");
    wait_for_content(&file, &expected);

    // Several lines from stdin, the trailing newline dropped (Enter is pressed once).
    let lines = "first line; C-c\n  second $(line) 'x'\n\tthird \"y\"\n";
    send_stdin(&fleet, &["fleet", "send", "typist"], lines).expect_code(0);
    expected.push_str(lines);
    wait_for_content(&file, &expected);

    // --no-enter types without submitting: the next send finishes the line.
    fleet
        .run(&["fleet", "send", "typist", "--no-enter", "half"])
        .expect_code(0);
    fleet
        .run(&["fleet", "send", "typist", " and the rest"])
        .expect_code(0);
    expected.push_str("half and the rest\n");
    wait_for_content(&file, &expected);
    assert!(
        !fleet.sandbox.root().join("pwned").exists() && !Path::new("pwned").exists(),
        "nothing was run"
    );
}

#[test]
fn sending_needs_a_running_agent_and_some_text() {
    let fleet = FleetSandbox::new();
    let run = fleet.run(&["fleet", "send", "ghost", "hello"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("no agent named `ghost`") && run.stderr.contains("fleet ps"),
        "{}",
        run.stderr
    );

    let file = launch_cat(&fleet, "quiet");
    // Empty stdin: just Enter.
    send_stdin(&fleet, &["fleet", "send", "quiet"], "").expect_code(0);
    wait_for_content(&file, "\n");

    fleet
        .run(&["fleet", "stop", "quiet", "--force"])
        .expect_code(0);
    let run = fleet.run(&["fleet", "send", "quiet", "hello"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("agent `quiet` is not running"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.trim().lines().count(),
        1,
        "one line: {}",
        run.stderr
    );
}
