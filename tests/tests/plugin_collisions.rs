//! Two parties declaring one command. The rule a user can predict: built-ins always
//! win; between plugins, the first on the search path wins (the user dir comes
//! before the prefix). So that a first-party command is never taken over by
//! accident, `plugins install` refuses a plugin whose commands collide with a
//! built-in or another installed plugin, naming both, unless `--force` is given.
//! Once a plugin takes a command from another, it is the one reported — in the
//! warning line of every run, `plugins list` and `plugins doctor` — not the plugin
//! it took the command from. A command lost to a built-in is reported at install
//! only, not on every run.
//!
//! The intruder is the fixture plugin `todo`, which declares `fleet` (with
//! `fleet ps`) and `config hooks` (with `config hooks list`) besides its own `todo`.

use std::path::{Path, PathBuf};

use mosaic_tests::{fixture_plugin, hello_plugin, Run, Sandbox};

/// A slim sandbox with the fleet and hooks plugins in its prefix; returns it and
/// the two first-party library files.
fn sandbox_with_fleet_and_hooks() -> (Sandbox, PathBuf, PathBuf) {
    let sandbox = Sandbox::with_plugins(&["fleet", "hooks"]);
    let plugin_dir = sandbox
        .binary()
        .parent()
        .and_then(Path::parent)
        .expect("PREFIX/bin/mosaic")
        .join("lib/mosaic/plugins");
    let fleet = plugin_dir.join("libmosaic_fleet.so");
    let hooks = plugin_dir.join("libmosaic_hooks.so");
    assert!(fleet.is_file() && hooks.is_file());
    (sandbox, fleet, hooks)
}

/// Runs `mosaic plugins install LIBRARY [--force]`.
fn install(sandbox: &Sandbox, library: &Path, force: bool) -> Run {
    let mut args = vec!["plugins".as_ref(), "install".as_ref(), library.as_os_str()];
    if force {
        args.push("--force".as_ref());
    }
    sandbox.run(args)
}

/// The `plugins list --json` row of the plugin named `name`.
#[track_caller]
fn row(list: &Run, name: &str) -> serde_json::Value {
    list.plugin_row("name", name)
        .unwrap_or_else(|| panic!("{name} is not listed:\n{}", list.stdout))
}

/// The `todo` fixture, copied to the scratch dir (which runs do not search) as
/// `libmosaic_todo.so`.
fn todo_library(sandbox: &Sandbox) -> PathBuf {
    sandbox.add_plugin(&fixture_plugin(Some("claims-first-party")), "todo")
}

#[test]
fn install_refuses_a_plugin_that_declares_first_party_commands() {
    let (sandbox, fleet, hooks) = sandbox_with_fleet_and_hooks();
    let todo = todo_library(&sandbox);

    let refused = install(&sandbox, &todo, false);
    refused.expect_code(1);
    assert_eq!(refused.stdout, "");
    assert_eq!(
        refused.stderr,
        format!(
            "error: {todo} cannot be installed: its command `fleet` is provided by plugin \
             fleet ({fleet}); its command `config hooks` is provided by plugin hooks \
             ({hooks}); use --force to install it anyway (then `mosaic fleet` runs this \
             plugin instead of plugin fleet, which no longer gets it; `mosaic config hooks` \
             runs this plugin instead of plugin hooks, which no longer gets it)\n",
            todo = todo.display(),
            fleet = fleet.display(),
            hooks = hooks.display(),
        )
    );
    assert!(!sandbox.user_plugin_dir().join("libmosaic_todo.so").exists());

    // Nothing changed: the first-party plugins keep their commands, no warning.
    let list = sandbox.run(["plugins", "list", "--json"]);
    list.expect_code(0);
    assert_eq!(row(&list, "fleet")["status"], "ok");
    assert_eq!(row(&list, "hooks")["status"], "ok");
    assert!(list.plugin_row("name", "todo").is_none(), "{}", list.stdout);
    let help = sandbox.run(["fleet", "--help"]);
    help.expect_code(0);
    assert_eq!(help.stderr, "");
}

#[test]
fn forced_install_takes_the_commands_and_every_message_names_the_taker() {
    let (sandbox, fleet, hooks) = sandbox_with_fleet_and_hooks();
    let todo = todo_library(&sandbox);
    let installed = sandbox.user_plugin_dir().join("libmosaic_todo.so");

    let forced = install(&sandbox, &todo, true);
    forced.expect_code(0);
    assert_eq!(
        forced.stdout,
        format!("installed todo 1.0.0 -> {}\n", installed.display())
    );
    assert!(
        forced.stderr.contains(&format!(
            "warning: its command `fleet` is provided by plugin fleet ({}) (--force): \
             `mosaic fleet` runs this plugin instead of plugin fleet",
            fleet.display()
        )),
        "{forced:?}"
    );

    // The user dir comes first on the search path: todo runs `fleet ps`, and the one
    // warning line names todo as the taker and fleet and hooks as what it takes from.
    let warning = format!(
        "warning: plugin `todo` ({}) takes `fleet` from plugin `fleet` ({}); takes \
         `config hooks` from plugin `hooks` ({}) (see `mosaic plugins doctor`)\n",
        installed.display(),
        fleet.display(),
        hooks.display()
    );
    let ps = sandbox.run(["fleet", "ps"]);
    ps.expect_code(0);
    assert_eq!(ps.stdout, "todo ran fleet ps\n");
    assert_eq!(ps.stderr, warning);
    let hooks_list = sandbox.run(["config", "hooks", "list"]);
    hooks_list.expect_code(0);
    assert_eq!(hooks_list.stdout, "todo ran hooks list\n");
    assert_eq!(hooks_list.stderr, warning);

    let list = sandbox.run(["plugins", "list", "--json"]);
    list.expect_code(0);
    let todo_row = row(&list, "todo");
    assert_eq!(todo_row["status"], "overrides", "{todo_row}");
    assert_eq!(
        todo_row["commands"],
        serde_json::json!(["todo", "fleet", "config hooks"])
    );
    assert_eq!(
        todo_row["takes"],
        serde_json::json!([
            {"command": "fleet", "from": "fleet", "from_path": fleet},
            {"command": "config hooks", "from": "hooks", "from_path": hooks},
        ])
    );
    for (name, words) in [("fleet", "fleet"), ("hooks", "config hooks")] {
        let lost = row(&list, name);
        assert_eq!(lost["status"], "shadowed", "{lost}");
        assert_eq!(lost["commands"], serde_json::json!([]), "{lost}");
        assert_eq!(lost["shadowed_commands"], serde_json::json!([words]));
        assert_eq!(
            lost["shadowed_by"],
            serde_json::json!([{
                "command": words,
                "holder": {"kind": "plugin", "name": "todo", "path": installed},
            }])
        );
        let problem = lost["problem"].as_str().unwrap_or_default();
        assert_eq!(
            problem,
            format!(
                "command not mounted: `{words}` is taken by plugin `todo` ({}), which comes \
                 first in the search path",
                installed.display()
            )
        );
    }
    let table = sandbox.run(["plugins", "list"]);
    table.expect_code(0);
    let line_of = |path: &Path| {
        table
            .stdout
            .lines()
            .find(|line| line.contains(&path.display().to_string()))
            .unwrap_or_else(|| panic!("no row for {}:\n{}", path.display(), table.stdout))
            .to_string()
    };
    let todo_line = line_of(&installed);
    assert!(todo_line.contains(" overrides "), "{todo_line}");
    assert!(
        todo_line.contains("todo, fleet (taken from fleet), config hooks (taken from hooks)"),
        "{todo_line}"
    );
    let fleet_line = line_of(&fleet);
    assert!(fleet_line.contains(" shadowed "), "{fleet_line}");
    assert!(
        fleet_line.contains("(fleet: taken by todo)"),
        "{fleet_line}"
    );

    let doctor = sandbox.run(["plugins", "doctor"]);
    doctor.expect_code(1);
    for text in [
        "0 plugin(s) ok, 3 with problems.".to_string(),
        "todo — overrides".to_string(),
        format!(
            "  problem: takes `fleet` from plugin `fleet` ({}); takes `config hooks` from \
             plugin `hooks` ({})",
            fleet.display(),
            hooks.display()
        ),
        "  fix:     plugin `todo` comes first in the search path, so it runs these commands; \
         if it should not, remove it (`mosaic plugins remove todo`"
            .to_string(),
        "fleet — shadowed".to_string(),
        format!(
            "  problem: command not mounted: `fleet` is taken by plugin `todo` ({})",
            installed.display()
        ),
        "  fix:     to run this plugin's `fleet`, remove plugin `todo`".to_string(),
    ] {
        assert!(doctor.stdout.contains(&text), "{text}:\n{}", doctor.stdout);
    }
    // The old message blamed fleet for "already providing" its own command.
    for run in [&ps, &list, &table, &doctor] {
        assert!(!run.stdout.contains("already provided"), "{run:?}");
        assert!(!run.stderr.contains("already provided"), "{run:?}");
    }

    // Removing the intruder gives the commands back.
    sandbox.run(["plugins", "remove", "todo"]).expect_code(0);
    let list = sandbox.run(["plugins", "list", "--json"]);
    assert_eq!(row(&list, "fleet")["status"], "ok");
    assert_eq!(row(&list, "hooks")["status"], "ok");
    let help = sandbox.run(["fleet", "ps", "--help"]);
    help.expect_code(0);
    assert_eq!(help.stderr, "");
    assert!(!help.stdout.contains("Say which plugin ran it"), "{help:?}");
}

#[test]
fn install_refuses_a_command_of_another_installed_plugin_that_would_keep_it() {
    let sandbox = Sandbox::with_plugins(&[]);
    install(&sandbox, hello_plugin(), false).expect_code(0);
    let hello = sandbox.user_plugin_dir().join("libmosaic_hello.so");
    let rival = sandbox.add_plugin(&fixture_plugin(Some("claims-hello")), "rival");

    let refused = install(&sandbox, &rival, false);
    refused.expect_code(1);
    assert_eq!(
        refused.stderr,
        format!(
            "error: {} cannot be installed: its command `hello` is provided by plugin hello \
             ({}); use --force to install it anyway (then plugin hello comes first in the \
             search path and keeps `hello`: this plugin's `hello` will not run)\n",
            rival.display(),
            hello.display()
        )
    );
    assert!(!sandbox
        .user_plugin_dir()
        .join("libmosaic_rival.so")
        .exists());
}

#[test]
fn the_first_plugin_on_the_search_path_takes_the_command() {
    let sandbox = Sandbox::with_plugins(&[]);
    let first_dir = sandbox.root().join("first");
    let second_dir = sandbox.root().join("second");
    for dir in [&first_dir, &second_dir] {
        std::fs::create_dir(dir).unwrap();
    }
    let rival = first_dir.join("libmosaic_rival.so");
    std::fs::copy(fixture_plugin(Some("claims-hello")), &rival).unwrap();
    let hello = second_dir.join("libmosaic_hello.so");
    std::fs::copy(hello_plugin(), &hello).unwrap();
    let run = |first: &Path, second: &Path, words: &[&str]| {
        let mut command = sandbox.command(["--plugin-dir".as_ref(), first.as_os_str()]);
        command.arg("--plugin-dir").arg(second).args(words);
        Run::from_output(command.output().expect("cannot run mosaic"))
    };

    // rival's directory first: rival takes `hello`, and is the one named.
    let taken = run(&first_dir, &second_dir, &["hello"]);
    taken.expect_code(0);
    assert_eq!(taken.stdout, "rival ran hello\n");
    assert_eq!(
        taken.stderr,
        format!(
            "warning: plugin `rival` ({}) takes `hello` from plugin `hello` ({}) (see \
             `mosaic plugins doctor`)\n",
            rival.display(),
            hello.display()
        )
    );
    let list = run(&first_dir, &second_dir, &["plugins", "list", "--json"]);
    assert_eq!(row(&list, "rival")["status"], "overrides");
    assert_eq!(row(&list, "hello")["status"], "shadowed");

    // The other order: hello keeps its command and takes it from rival.
    let kept = run(&second_dir, &first_dir, &["hello"]);
    kept.expect_code(0);
    assert_eq!(kept.stdout, "Hello, world!\n");
    assert_eq!(
        kept.stderr,
        format!(
            "warning: plugin `hello` ({}) takes `hello` from plugin `rival` ({}) (see \
             `mosaic plugins doctor`)\n",
            hello.display(),
            rival.display()
        )
    );
    let list = run(&second_dir, &first_dir, &["plugins", "list", "--json"]);
    assert_eq!(row(&list, "hello")["status"], "overrides");
    let rival_row = row(&list, "rival");
    assert_eq!(rival_row["status"], "shadowed");
    assert_eq!(rival_row["commands"], serde_json::json!([]));
    assert_eq!(rival_row["shadowed_commands"], serde_json::json!(["hello"]));
}

#[test]
fn a_built_in_collision_is_reported_at_install_and_not_on_every_run() {
    let sandbox = Sandbox::with_plugins(&[]);
    let usurper = sandbox.add_plugin(&fixture_plugin(Some("claims-builtins")), "usurper");

    let refused = install(&sandbox, &usurper, false);
    refused.expect_code(1);
    assert_eq!(
        refused.stderr,
        format!(
            "error: {} cannot be installed: its command `plugins` is a built-in command; its \
             command `config show` is a built-in command; use --force to install it anyway \
             (then the built-in `plugins` always wins: this plugin's `plugins` will never \
             run; the built-in `config show` always wins: this plugin's `config show` will \
             never run)\n",
            usurper.display()
        )
    );
    assert!(!sandbox
        .user_plugin_dir()
        .join("libmosaic_usurper.so")
        .exists());

    let forced = install(&sandbox, &usurper, true);
    forced.expect_code(0);
    assert_eq!(
        forced.stderr,
        "warning: its command `plugins` is a built-in command (--force): the built-in \
         `plugins` always wins: this plugin's `plugins` will never run\n\
         warning: its command `config show` is a built-in command (--force): the built-in \
         `config show` always wins: this plugin's `config show` will never run\n"
    );

    // Later runs: no warning; the built-ins and the plugin's own command work.
    for words in [&["usurp"][..], &["--help"][..], &["config", "path"][..]] {
        let run = sandbox.run(words);
        run.expect_code(0);
        assert_eq!(run.stderr, "", "{words:?}: {run:?}");
    }
    assert_eq!(sandbox.run(["usurp"]).stdout, "usurper ran usurp\n");
    // `plugins list` and `doctor` still show it.
    let list = sandbox.run(["plugins", "list", "--json"]);
    assert_eq!(row(&list, "usurper")["status"], "shadowed");
    let doctor = sandbox.run(["plugins", "doctor"]);
    doctor.expect_code(1);
    assert!(
        doctor.stdout.contains("usurper — shadowed")
            && doctor.stdout.contains("`plugins` is a built-in command"),
        "{}",
        doctor.stdout
    );
}
