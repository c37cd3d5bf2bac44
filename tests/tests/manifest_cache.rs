//! The manifest cache (`~/.cache/mosaic/plugin-manifests.bin`): a corrupt or
//! truncated cache is ignored and rebuilt; many processes starting at once with a
//! cold cache all work and leave a valid one; a warm cache means no library is
//! opened except the one that runs the command; a changed, added or removed plugin
//! file updates its own entry; a failure is not cached, so a plugin whose
//! `manifest()` failed for a reason in the environment works as soon as the reason
//! is gone.
//!
//! Whether a run opened a library to read its manifest is seen in its debug log
//! (`MOSAIC_LOG=debug`: "loading FILE to read its manifest"). The cache index is a
//! private binary file, so what it holds is checked from outside: a run that reads
//! no manifest found a valid entry for every file.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mosaic_tests::{fixture_plugin, hello_plugin, Run, Sandbox};

/// A slim sandbox with hello and the working fixture plugin in the scratch dir;
/// returns the sandbox and the two plugin files.
fn sandbox_with_two_plugins() -> (Sandbox, PathBuf, PathBuf) {
    let sandbox = Sandbox::with_plugins(&[]);
    let hello = sandbox.add_plugin(hello_plugin(), "hello");
    let fixture = sandbox.add_plugin(&fixture_plugin(None), "fixture");
    (sandbox, hello, fixture)
}

/// The manifest cache file of the sandbox.
fn cache_file(sandbox: &Sandbox) -> PathBuf {
    sandbox.cache_dir().join("plugin-manifests.bin")
}

/// Runs `mosaic --plugin-dir <scratch> ARGS` with `MOSAIC_LOG=debug`.
fn run_logged(sandbox: &Sandbox, args: &[&str]) -> Run {
    let mut command = sandbox.command([
        "--plugin-dir".as_ref(),
        sandbox.plugin_scratch().as_os_str(),
    ]);
    command.args(args).env("MOSAIC_LOG", "debug");
    Run::from_output(command.output().expect("cannot run mosaic"))
}

/// The plugin files a run opened to read their manifests, from its debug log.
fn manifests_read(run: &Run) -> Vec<PathBuf> {
    run.stderr
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("loading ")?;
            rest.strip_suffix(" to read its manifest")
                .map(PathBuf::from)
        })
        .collect()
}

/// What the cache holds, seen from outside: `plugins list --json` run with a debug
/// log must read no manifest (every file has a valid entry); returns each plugin's
/// status, sorted by path.
fn cached_statuses(sandbox: &Sandbox) -> Vec<(PathBuf, String)> {
    cached_statuses_in(sandbox, &[&sandbox.plugin_scratch()])
}

/// [`cached_statuses`] for plugins in the given directories.
fn cached_statuses_in(sandbox: &Sandbox, dirs: &[&Path]) -> Vec<(PathBuf, String)> {
    let mut command = sandbox.command(["plugins", "list", "--json"]);
    for dir in dirs {
        command.arg("--plugin-dir").arg(dir);
    }
    command.env("MOSAIC_LOG", "debug");
    let run = Run::from_output(command.output().expect("cannot run mosaic"));
    run.expect_code(0);
    assert_eq!(
        manifests_read(&run),
        Vec::<PathBuf>::new(),
        "every file is cached: {run:?}"
    );
    let listed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let mut statuses: Vec<(PathBuf, String)> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|row| {
            (
                PathBuf::from(row["path"].as_str().unwrap_or_default()),
                row["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    statuses.sort();
    statuses
}

/// The status `plugins list --json` gives the file at `path`, if it is listed.
fn listed_status(sandbox: &Sandbox, path: &Path) -> Option<String> {
    let run = sandbox.run_with_scratch(["plugins", "list", "--json"]);
    run.expect_code(0);
    run.plugin_row("path", &path.display().to_string())
        .map(|row| row["status"].as_str().unwrap_or_default().to_string())
}

/// Sets the modification time of `path`.
fn set_mtime(path: &Path, time: std::time::SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

#[test]
fn corrupt_or_truncated_cache_is_ignored_and_rebuilt() {
    let (sandbox, hello, fixture) = sandbox_with_two_plugins();
    let warm_up = run_logged(&sandbox, &["hello"]);
    warm_up.expect_code(0);
    let valid = fs::read(cache_file(&sandbox)).unwrap();
    let mut expected = vec![(hello, "ok".to_string()), (fixture, "ok".to_string())];
    expected.sort();
    assert_eq!(cached_statuses(&sandbox), expected);

    let corruptions: [(&str, Vec<u8>); 4] = [
        ("garbage", b"\x00\x01 this is no cache {{{".to_vec()),
        ("truncated", valid[..valid.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("wrong shape", b"[1, 2, 3]".to_vec()),
    ];
    for (what, bytes) in corruptions {
        fs::write(cache_file(&sandbox), &bytes).unwrap();
        let run = run_logged(&sandbox, &["hello"]);
        run.expect_code(0);
        assert_eq!(run.stdout, "Hello, world!\n", "{what}");
        assert!(!run.stderr.contains("warning"), "{what}: {run:?}");
        assert_eq!(
            manifests_read(&run).len(),
            2,
            "{what}: rebuilt from the files"
        );
        assert_eq!(cached_statuses(&sandbox), expected, "{what}: rewritten");
    }
}

#[test]
fn many_processes_starting_with_a_cold_cache_all_work() {
    let sandbox = Sandbox::with_plugins(&[]);
    let first_dir = sandbox.plugin_scratch();
    let second_dir = sandbox.root().join("more-plugins");
    fs::create_dir(&second_dir).unwrap();
    let hello = sandbox.add_plugin(hello_plugin(), "hello");
    let fixture = second_dir.join("libmosaic_fixture.so");
    fs::copy(fixture_plugin(None), &fixture).unwrap();

    // Half the processes see one plugin directory and half the other, so each
    // writer must merge with what the others wrote.
    let children: Vec<_> = (0..8)
        .map(|index| {
            let (dir, command) = if index % 2 == 0 {
                (&first_dir, "hello")
            } else {
                (&second_dir, "fixture")
            };
            let mut words = vec!["--plugin-dir", dir.to_str().unwrap(), command];
            if command == "fixture" {
                words.push("ok");
            }
            sandbox
                .command(words)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("cannot start mosaic")
        })
        .collect();
    for (index, child) in children.into_iter().enumerate() {
        let run = Run::from_output(child.wait_with_output().unwrap());
        run.expect_code(0);
        let expected = if index % 2 == 0 {
            "Hello, world!\n"
        } else {
            "fixture ran fixture ok\n"
        };
        assert_eq!(run.stdout, expected, "{run:?}");
        assert_eq!(run.stderr, "", "{run:?}");
    }

    let mut expected = vec![(hello, "ok".to_string()), (fixture, "ok".to_string())];
    expected.sort();
    assert_eq!(
        cached_statuses_in(&sandbox, &[&first_dir, &second_dir]),
        expected
    );
    let leftovers: Vec<_> = fs::read_dir(sandbox.cache_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp."))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
}

#[test]
fn warm_cache_opens_no_library_but_the_one_that_runs() {
    let (sandbox, hello, fixture) = sandbox_with_two_plugins();

    let cold = run_logged(&sandbox, &["plugins", "list"]);
    cold.expect_code(0);
    let mut read = manifests_read(&cold);
    read.sort();
    assert_eq!(read, vec![fixture.clone(), hello.clone()], "{cold:?}");

    for args in [&["plugins", "list"][..], &["--help"][..], &["hello"][..]] {
        let warm = run_logged(&sandbox, args);
        warm.expect_code(0);
        assert_eq!(manifests_read(&warm), Vec::<PathBuf>::new(), "{args:?}");
    }

    // Rewritten with the same size and mtime: the write still changed the ctime,
    // part of the cache key, so the file is read again and found broken.
    let modified = fs::metadata(&fixture).unwrap().modified().unwrap();
    let size = fs::metadata(&fixture).unwrap().len();
    fs::write(&fixture, vec![0u8; size as usize]).unwrap();
    set_mtime(&fixture, modified);
    let rewritten = run_logged(&sandbox, &["hello"]);
    rewritten.expect_code(0);
    assert_eq!(
        manifests_read(&rewritten),
        vec![fixture.clone()],
        "{rewritten:?}"
    );
    assert!(
        rewritten
            .stderr
            .contains("is broken: not a loadable library"),
        "{rewritten:?}"
    );

    // A new mtime invalidates the entry: the file is read again and found broken.
    set_mtime(&fixture, modified + Duration::from_secs(1));
    let touched = run_logged(&sandbox, &["hello"]);
    touched.expect_code(0);
    assert_eq!(
        manifests_read(&touched),
        vec![fixture.clone()],
        "{touched:?}"
    );
    assert!(
        touched.stderr.contains(&format!(
            "warning: plugin {} is broken: not a loadable library",
            fixture.display()
        )),
        "{touched:?}"
    );
    assert_eq!(listed_status(&sandbox, &fixture).as_deref(), Some("broken"));
}

#[test]
fn added_replaced_and_removed_plugin_files_update_their_entries() {
    let sandbox = Sandbox::with_plugins(&[]);
    let hello = sandbox.add_plugin(hello_plugin(), "hello");
    run_logged(&sandbox, &["hello"]).expect_code(0);

    let added = sandbox.add_plugin(&fixture_plugin(None), "fixture");
    let run = run_logged(&sandbox, &["fixture", "ok"]);
    run.expect_code(0);
    assert_eq!(manifests_read(&run), vec![added.clone()]);

    // Replaced the way installers do it: a new file renamed over the old one.
    let replacement = sandbox.plugin_scratch().join(".replacement");
    fs::copy(fixture_plugin(Some("future-host")), &replacement).unwrap();
    fs::rename(&replacement, &added).unwrap();
    let run = run_logged(&sandbox, &["hello"]);
    run.expect_code(0);
    assert_eq!(manifests_read(&run), vec![added.clone()]);
    assert_eq!(
        listed_status(&sandbox, &added).as_deref(),
        Some("incompatible")
    );

    fs::remove_file(&added).unwrap();
    let run = run_logged(&sandbox, &["hello"]);
    run.expect_code(0);
    assert_eq!(run.stderr.matches("warning").count(), 0, "{run:?}");
    assert_eq!(listed_status(&sandbox, &added), None);
    assert_eq!(cached_statuses(&sandbox), vec![(hello, "ok".to_string())]);
}

#[test]
fn a_failed_manifest_is_not_cached() {
    let mut sandbox = Sandbox::with_plugins(&[]);
    let hello = sandbox.add_plugin(hello_plugin(), "hello");
    let flaky = sandbox.add_plugin(&fixture_plugin(Some("flaky-manifest")), "flaky");
    let marker = sandbox.root().join("break-the-manifest");
    sandbox.env(
        "MOSAIC_FIXTURE_BREAK_MANIFEST",
        marker.to_str().expect("a UTF-8 path"),
    );
    let stamp = |path: &Path| {
        let metadata = fs::metadata(path).unwrap();
        (metadata.len(), metadata.modified().unwrap())
    };
    let flaky_before = stamp(&flaky);

    // Broken while the marker exists: the command is unknown, the file is broken, and
    // every run asks the library again (the failure is not cached).
    fs::write(&marker, "").unwrap();
    run_logged(&sandbox, &["hello"]).expect_code(0);
    for _ in 0..2 {
        let broken = run_logged(&sandbox, &["flaky"]);
        broken.expect_code(2);
        assert!(
            broken.stderr.contains(&format!(
                "warning: plugin {} is broken: manifest failed: panicked in manifest: fixture \
                 manifest panics while",
                flaky.display()
            )),
            "{broken:?}"
        );
        assert_eq!(manifests_read(&broken), vec![flaky.clone()], "{broken:?}");
    }
    assert_eq!(listed_status(&sandbox, &flaky).as_deref(), Some("broken"));

    // The cause is gone, the library untouched: the next run works.
    fs::remove_file(&marker).unwrap();
    let fixed = run_logged(&sandbox, &["flaky"]);
    fixed.expect_code(0);
    assert_eq!(fixed.stdout, "flaky ran flaky\n");
    assert!(!fixed.stderr.contains("warning"), "{fixed:?}");
    assert_eq!(manifests_read(&fixed), vec![flaky.clone()], "{fixed:?}");
    assert_eq!(stamp(&flaky), flaky_before, "the library was not touched");

    // Now the success is cached like any other.
    let mut expected = vec![(flaky, "ok".to_string()), (hello, "ok".to_string())];
    expected.sort();
    assert_eq!(cached_statuses(&sandbox), expected);
}
