//! Installing plugins by name from signed indexes: `plugins index-source`, `trust`,
//! `search`, `install NAME[@VERSION]`, `outdated`, `upgrade`, and every bad case of
//! issue 14 — each refused with one clear line, a non-zero exit, nothing installed
//! and an installed version left exactly as it was (same bytes, still running).
//!
//! Indexes and libraries are served by a loopback HTTP server that misbehaves on
//! demand (plugins_index_support), or read from file:// URLs. The plugin is the
//! hello example built out of tree (0.1.0, and a 0.2.0 derived from it).

mod plugins_index_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use mosaic_tests::{
    build_out_of_tree, derived_crate, hello_plugin, repo_root, running_in_ci, Run, Sandbox,
};
use plugins_index_support::{index_json, sha256_hex, Publisher, Release, Reply, Server};
use serde_json::Value;

const V1_PATH: &str = "/files/libmosaic_hello-0.1.0.so";
const V2_PATH: &str = "/files/libmosaic_hello-0.2.0.so";

/// hello 0.1.0's library bytes.
fn hello_v1() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| fs::read(hello_plugin()).unwrap())
}

/// hello 0.2.0 (the example with its version bumped), built out of tree.
fn hello_v2() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let api_path = format!("path = \"{}\"", repo_root().join("plugin-api").display());
        let crate_dir = derived_crate(
            &repo_root().join("examples/hello-plugin"),
            "hello-plugin-0.2.0",
            &[
                ("version = \"0.1.0\"", "version = \"0.2.0\""),
                ("path = \"../../plugin-api\"", &api_path),
                ("name = \"mosaic_hello\"", "name = \"mosaic_hello_0_2_0\""),
            ],
        );
        fs::read(build_out_of_tree(&crate_dir, "mosaic_hello_0_2_0", &[])).unwrap()
    })
}

/// A sandbox, an index server with hello 0.1.0 published, the index configured and
/// the publisher's key trusted.
struct World {
    sandbox: Sandbox,
    server: Server,
    publisher: Publisher,
}

impl World {
    fn new() -> World {
        Self::with_sandbox(Sandbox::with_plugins(&[]))
    }

    fn with_sandbox(sandbox: Sandbox) -> World {
        let server = Server::start();
        let publisher = Publisher::new(7);
        let world = World {
            sandbox,
            server,
            publisher,
        };
        world.server.set(V1_PATH, Reply::Body(hello_v1().to_vec()));
        world.publish(vec![world.v1()]);
        world
            .run(&[
                "plugins",
                "index-source",
                "add",
                &world.server.url("/index.json"),
            ])
            .expect_code(0);
        world
            .run(&[
                "plugins",
                "trust",
                "add",
                &world.publisher.public_text(),
                "--name",
                "acme",
            ])
            .expect_code(0);
        world
    }

    fn run(&self, args: &[&str]) -> Run {
        self.sandbox.run(args)
    }

    /// hello 0.1.0's release JSON (relative URL).
    fn v1(&self) -> Value {
        Release::of(
            "hello",
            "0.1.0",
            hello_v1(),
            "files/libmosaic_hello-0.1.0.so",
        )
        .json(&self.publisher)
    }

    /// hello 0.2.0's release (absolute URL), to sign or break.
    fn v2_release(&self) -> Release {
        Release::of("hello", "0.2.0", hello_v2(), &self.server.url(V2_PATH))
    }

    /// Serves an index listing these releases of hello.
    fn publish(&self, releases: Vec<Value>) {
        self.server.set(
            "/index.json",
            Reply::Body(index_json(&[("hello", "Greets people", releases)]).into_bytes()),
        );
    }

    fn installed_path(&self) -> PathBuf {
        self.sandbox.user_plugin_dir().join("libmosaic_hello.so")
    }

    /// Installs hello 0.1.0 by name.
    fn install_v1(&self) {
        let run = self.run(&["plugins", "install", "hello"]);
        run.expect_code(0);
        assert!(run.stdout.contains("installed hello 0.1.0 from"), "{run:?}");
        assert_eq!(
            sha256_hex(&fs::read(self.installed_path()).unwrap()),
            sha256_hex(hello_v1())
        );
    }

    /// hello's `provenance` in `plugins list --json`.
    fn provenance(&self) -> Value {
        let list = self.run(&["plugins", "list", "--json"]);
        list.expect_code(0);
        list.plugin_row("name", "hello").expect("hello is listed")["provenance"].clone()
    }

    /// hello 0.1.0 is installed exactly as before, still runs, and nothing else was
    /// left in the plugin directory.
    #[track_caller]
    fn assert_v1_untouched(&self) {
        assert_eq!(
            sha256_hex(&fs::read(self.installed_path()).unwrap()),
            sha256_hex(hello_v1()),
            "the installed hello changed"
        );
        let mut left: Vec<String> = fs::read_dir(self.sandbox.user_plugin_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec![".origin", "libmosaic_hello.so"]);
        self.run(&["hello"]).expect_code(0);
        assert_eq!(self.provenance()["version"], "0.1.0");
    }
}

/// Exit 1 and exactly one `error:` line, containing every one of `expected`.
#[track_caller]
fn assert_refused(run: &Run, expected: &[&str]) {
    run.expect_code(1);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line expected:\n{}", run.stderr);
    for text in expected {
        assert!(errors[0].contains(text), "`{text}` not in: {}", run.stderr);
    }
    assert!(!run.stderr.contains("Caused by"), "{}", run.stderr);
}

/// Publishes hello 0.1.0 and a broken 0.2.0, installs 0.1.0, and checks that
/// `upgrade hello` is refused with `expected` and leaves 0.1.0 as it was.
#[track_caller]
fn bad_upgrade(world: &World, broken_v2: Value, expected: &[&str]) {
    world.install_v1();
    world.publish(vec![world.v1(), broken_v2]);
    let run = world.run(&["plugins", "upgrade", "hello"]);
    assert_refused(&run, expected);
    world.assert_v1_untouched();
}

#[test]
fn install_by_name_then_outdated_upgrade_and_downgrade() {
    let world = World::new();
    let search = world.run(&["plugins", "search", "greets", "--json"]);
    search.expect_code(0);
    let found = search.json();
    assert_eq!(found[0]["name"], "hello", "{found}");
    assert_eq!(found[0]["version"], "0.1.0");
    assert_eq!(found[0]["loadable"], true);
    assert_eq!(found[0]["installed"], Value::Null);

    world.install_v1();
    world.run(&["hello"]).expect_code(0);
    let provenance = world.provenance();
    assert_eq!(provenance["version"], "0.1.0");
    assert_eq!(provenance["index"], world.server.url("/index.json"));
    assert_eq!(provenance["url"], world.server.url(V1_PATH));
    assert_eq!(provenance["signer"], world.publisher.fingerprint());
    assert_eq!(provenance["signer_name"], "acme");
    assert_eq!(provenance["sha256"], sha256_hex(hello_v1()));

    // 0.2.0 appears, and a 0.3.0 built for a plugin API this host does not load.
    world.server.set(V2_PATH, Reply::Body(hello_v2().to_vec()));
    let mut future = world.v2_release();
    future.version = "0.3.0".into();
    future.api_version = "0.99.0".into();
    world.publish(vec![
        world.v1(),
        world.v2_release().json(&world.publisher),
        future.json(&world.publisher),
    ]);
    let outdated = world.run(&["plugins", "outdated", "--json"]);
    outdated.expect_code(0);
    let updates = outdated.json();
    assert_eq!(updates.as_array().unwrap().len(), 1, "{updates}");
    assert_eq!(updates[0]["installed"], "0.1.0");
    assert_eq!(updates[0]["latest"], "0.2.0");
    assert!(
        updates[0]["skipped"][0]
            .as_str()
            .unwrap()
            .starts_with("skipped 0.3.0: built for plugin API 0.99.0"),
        "{updates}"
    );

    let upgrade = world.run(&["plugins", "upgrade", "hello"]);
    upgrade.expect_code(0);
    assert!(
        upgrade.stdout.contains("upgraded hello 0.1.0 -> 0.2.0"),
        "{upgrade:?}"
    );
    assert!(
        upgrade.stderr.contains("note: skipped 0.3.0"),
        "{upgrade:?}"
    );
    assert_eq!(
        sha256_hex(&fs::read(world.installed_path()).unwrap()),
        sha256_hex(hello_v2())
    );
    assert_eq!(world.provenance()["version"], "0.2.0");
    let outdated = world.run(&["plugins", "outdated", "--json"]);
    assert_eq!(outdated.json(), serde_json::json!([]));

    let refused = world.run(&["plugins", "install", "hello@0.1.0"]);
    assert_refused(&refused, &["hello 0.2.0 is installed", "--allow-downgrade"]);
    let refused = world.run(&["plugins", "upgrade", "hello@0.1.0"]);
    assert_refused(&refused, &["--allow-downgrade"]);
    assert_eq!(
        sha256_hex(&fs::read(world.installed_path()).unwrap()),
        sha256_hex(hello_v2())
    );
    let downgrade = world.run(&["plugins", "install", "hello@0.1.0", "--allow-downgrade"]);
    downgrade.expect_code(0);
    assert!(
        downgrade.stdout.contains("downgraded hello 0.2.0 -> 0.1.0"),
        "{downgrade:?}"
    );
    assert_eq!(
        sha256_hex(&fs::read(world.installed_path()).unwrap()),
        sha256_hex(hello_v1())
    );

    // Installed from a file, it no longer came from an index.
    let scratch = world.sandbox.plugin_scratch().join("libmosaic_hello.so");
    fs::write(&scratch, hello_v2()).unwrap();
    world
        .run(&["plugins", "install", scratch.to_str().unwrap()])
        .expect_code(0);
    assert_eq!(world.provenance(), Value::Null);
    let outdated = world.run(&["plugins", "outdated", "--json"]);
    assert_eq!(outdated.json(), serde_json::json!([]));
}

/// Writes a directory `dist` in the sandbox holding hello 0.1.0 and an index listing
/// it (relative URL), signed by `publisher`; returns the index's file:// URL.
fn file_index(sandbox: &Sandbox, publisher: &Publisher) -> String {
    let dist = sandbox.root().join("dist");
    fs::create_dir_all(&dist).unwrap();
    fs::write(dist.join("libmosaic_hello.so"), hello_v1()).unwrap();
    let release = Release::of("hello", "0.1.0", hello_v1(), "libmosaic_hello.so");
    fs::write(
        dist.join("index.json"),
        index_json(&[("hello", "Greets people", vec![release.json(publisher)])]),
    )
    .unwrap();
    format!("file://{}", dist.join("index.json").display())
}

#[test]
fn a_file_index_works_and_plain_http_to_another_host_is_refused() {
    let sandbox = Sandbox::with_plugins(&[]);
    let publisher = Publisher::new(3);
    let index_url = file_index(&sandbox, &publisher);

    for url in [
        "http://example.org/index.json",
        "http://10.1.2.3/index.json",
    ] {
        let run = sandbox.run(["plugins", "index-source", "add", url]);
        assert_refused(&run, &[url, "https://"]);
    }
    assert_refused(
        &sandbox.run(["plugins", "install", "hello"]),
        &["no plugin index is configured", "index-source add"],
    );
    sandbox
        .run(["plugins", "index-source", "add", &index_url])
        .expect_code(0);
    let list = sandbox.run(["plugins", "index-source", "list", "--json"]);
    assert_eq!(list.json(), serde_json::json!([index_url]));

    // Not trusted yet: refused headless, naming the fingerprint and the fix.
    let run = sandbox.run(["plugins", "install", "hello"]);
    assert_refused(
        &run,
        &[
            &publisher.fingerprint(),
            "not trusted",
            "mosaic plugins trust add",
        ],
    );
    assert!(!sandbox
        .user_plugin_dir()
        .join("libmosaic_hello.so")
        .exists());

    let key_file = sandbox.root().join("acme.pub");
    fs::write(&key_file, format!("{}\n", publisher.public_text())).unwrap();
    sandbox
        .run([
            "plugins",
            "trust",
            "add",
            key_file.to_str().unwrap(),
            "--name",
            "acme",
        ])
        .expect_code(0);
    let trusted = sandbox.run(["plugins", "trust", "list", "--json"]);
    assert_eq!(trusted.json()[0]["fingerprint"], publisher.fingerprint());
    let run = sandbox.run(["plugins", "install", "hello"]);
    run.expect_code(0);
    assert_eq!(
        sha256_hex(&fs::read(sandbox.user_plugin_dir().join("libmosaic_hello.so")).unwrap()),
        sha256_hex(hello_v1())
    );
    let search = sandbox.run(["plugins", "search", "--json"]);
    assert_eq!(search.json()[0]["installed"], "0.1.0");

    sandbox
        .run(["plugins", "trust", "remove", "acme"])
        .expect_code(0);
    sandbox
        .run(["plugins", "index-source", "remove", &index_url])
        .expect_code(0);
    let list = sandbox.run(["plugins", "index-source", "list", "--json"]);
    assert_eq!(list.json(), serde_json::json!([]));
}

#[test]
fn a_hash_mismatch_is_refused() {
    let world = World::new();
    let mut wrong = hello_v2().to_vec();
    let middle = wrong.len() / 2;
    wrong[middle] ^= 0xff;
    world.server.set(V2_PATH, Reply::Body(wrong));
    let release = world.v2_release().json(&world.publisher);
    bad_upgrade(&world, release, &["hello 0.2.0", "sha256 mismatch"]);
}

#[test]
fn a_bad_signature_is_refused() {
    let world = World::new();
    world.server.set(V2_PATH, Reply::Body(hello_v2().to_vec()));
    let release = world.v2_release();
    // Signed, but over other bytes (a release whose size was changed afterwards).
    let mut other = release.clone();
    other.size += 1;
    let signature = world.publisher.sign(&other.signed_message());
    let json = release.json_with_signature(&world.publisher, &signature);
    bad_upgrade(&world, json, &["hello 0.2.0", "bad signature"]);
    assert_eq!(world.server.hits(V2_PATH), 0, "nothing is downloaded");
}

#[test]
fn a_key_that_is_not_trusted_is_refused() {
    let world = World::new();
    world.server.set(V2_PATH, Reply::Body(hello_v2().to_vec()));
    let stranger = Publisher::new(99);
    let json = world.v2_release().json(&stranger);
    bad_upgrade(
        &world,
        json,
        &[&stranger.fingerprint(), "not trusted", "plugins trust add"],
    );
    assert_eq!(world.server.hits(V2_PATH), 0, "nothing is downloaded");
}

#[test]
fn a_truncated_download_is_refused() {
    let world = World::new();
    world.server.set(
        V2_PATH,
        Reply::Truncated {
            body: hello_v2().to_vec(),
            sent: hello_v2().len() / 3,
        },
    );
    let json = world.v2_release().json(&world.publisher);
    bad_upgrade(&world, json, &["hello 0.2.0", "truncated"]);
}

#[test]
fn http_404_and_500_are_refused() {
    let world = World::new();
    let json = world.v2_release().json(&world.publisher);
    bad_upgrade(&world, json.clone(), &["HTTP 404", V2_PATH]);
    world.server.set(V2_PATH, Reply::Status(500));
    let run = world.run(&["plugins", "upgrade", "hello"]);
    assert_refused(&run, &["HTTP 500", V2_PATH]);
    world.assert_v1_untouched();
}

#[test]
fn a_plain_http_server_is_never_followed_elsewhere() {
    let world = World::new();
    world.server.set(
        V2_PATH,
        Reply::Redirect("http://plugins.example.org/libmosaic_hello.so".to_string()),
    );
    let json = world.v2_release().json(&world.publisher);
    bad_upgrade(&world, json, &["redirects elsewhere", V2_PATH]);
}

#[test]
fn a_server_that_stalls_times_out() {
    let mut sandbox = Sandbox::with_plugins(&[]);
    sandbox.env("MOSAIC_DOWNLOAD_TIMEOUT_SECS", "2");
    let world = World::with_sandbox(sandbox);
    world.server.set(
        V2_PATH,
        Reply::Stall {
            body: hello_v2().to_vec(),
            sent: 4096,
        },
    );
    let json = world.v2_release().json(&world.publisher);
    bad_upgrade(&world, json, &["timed out", "MOSAIC_DOWNLOAD_TIMEOUT_SECS"]);
    // An index that stalls too.
    world.server.set(
        "/index.json",
        Reply::Stall {
            body: b"{}".to_vec(),
            sent: 0,
        },
    );
    let run = world.run(&["plugins", "search"]);
    assert_refused(&run, &["/index.json", "timed out"]);
}

#[test]
fn an_index_that_is_not_json_or_has_another_schema_is_refused() {
    let world = World::new();
    world.install_v1();
    let index_url = world.server.url("/index.json");
    world.server.set(
        "/index.json",
        Reply::Body(b"<html>not an index</html>".to_vec()),
    );
    for args in [
        &["plugins", "upgrade", "hello"][..],
        &["plugins", "install", "hello"],
        &["plugins", "search"],
        &["plugins", "outdated"],
    ] {
        assert_refused(&world.run(args), &[&index_url, "invalid JSON"]);
    }
    world.server.set(
        "/index.json",
        Reply::Body(br#"{"schema": "mosaic-plugin-index/9", "plugins": []}"#.to_vec()),
    );
    assert_refused(
        &world.run(&["plugins", "upgrade", "hello"]),
        &[&index_url, "mosaic-plugin-index/9"],
    );
    world.assert_v1_untouched();
}

#[test]
fn a_release_for_another_target_or_plugin_api_only_is_refused() {
    let world = World::new();
    let mut other_target = Release::of("other", "0.2.0", b"x", "files/x.so");
    other_target.target = "sparc-unknown-none".into();
    let mut other_api = Release::of("other", "0.3.0", b"x", "files/x.so");
    other_api.api_version = "0.99.0".into();
    world.server.set(
        "/index.json",
        Reply::Body(
            index_json(&[
                ("hello", "Greets people", vec![world.v1()]),
                (
                    "other",
                    "Built elsewhere",
                    vec![
                        other_target.json(&world.publisher),
                        other_api.json(&world.publisher),
                    ],
                ),
            ])
            .into_bytes(),
        ),
    );
    let run = world.run(&["plugins", "install", "other"]);
    assert_refused(
        &run,
        &[
            "has no release this mosaic",
            "skipped 0.3.0: built for plugin API 0.99.0",
            "skipped 0.2.0: built for sparc-unknown-none",
        ],
    );
    let search = world.run(&["plugins", "search", "other", "--json"]);
    assert_eq!(search.json()[0]["loadable"], false);
    assert!(!world
        .sandbox
        .user_plugin_dir()
        .join("libmosaic_other.so")
        .exists());
}

#[test]
fn a_library_that_fails_vetting_is_refused_and_the_old_version_keeps_working() {
    let world = World::new();
    // Properly signed, right size and hash — but not a plugin this host can load.
    let junk = vec![0x7f_u8; 64 * 1024];
    world.server.set(V2_PATH, Reply::Body(junk.clone()));
    let release = Release::of("hello", "0.2.0", &junk, &world.server.url(V2_PATH));
    bad_upgrade(
        &world,
        release.json(&world.publisher),
        &["hello 0.2.0 cannot be installed", "not a loadable library"],
    );
    assert_eq!(world.server.hits(V2_PATH), 1);
}

#[test]
fn a_command_of_a_built_in_or_another_plugin_is_refused_before_downloading() {
    let world = World::with_sandbox(Sandbox::with_plugins(&["fleet"]));
    world.install_v1();
    world.server.set(V2_PATH, Reply::Body(hello_v2().to_vec()));
    for (command, holder) in [
        ("plugins", "is a built-in command"),
        ("fleet", "is provided by plugin fleet"),
        ("hello", "is provided by plugin hello"),
    ] {
        let mut release = Release::of("greeter", "1.0.0", hello_v2(), &world.server.url(V2_PATH));
        release.commands = vec![command.to_string()];
        world.server.set(
            "/index.json",
            Reply::Body(
                index_json(&[
                    ("hello", "Greets people", vec![world.v1()]),
                    (
                        "greeter",
                        "Greets too",
                        vec![release.json(&world.publisher)],
                    ),
                ])
                .into_bytes(),
            ),
        );
        let run = world.run(&["plugins", "install", "greeter"]);
        assert_refused(
            &run,
            &["greeter 1.0.0 cannot be installed", holder, "--force"],
        );
    }
    assert_eq!(world.server.hits(V2_PATH), 0, "nothing is downloaded");
    assert!(!world
        .sandbox
        .user_plugin_dir()
        .join("libmosaic_greeter.so")
        .exists());
    world.assert_v1_untouched();
}

/// Unmounts a tmpfs when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_refused_and_leaves_the_old_version() {
    if !nix::unistd::geteuid().is_root() {
        assert!(
            !running_in_ci(),
            "mounting a small tmpfs needs root, and CI runs the suite as root"
        );
        eprintln!("skipped: mounting a small tmpfs needs root (CI runs as root)");
        return;
    }
    let world = World::new();
    let directory = world.sandbox.user_plugin_dir();
    fs::create_dir_all(&directory).unwrap();
    // Room for hello 0.1.0 and a little more, not for 0.2.0 besides it.
    let size = hello_v1().len() + 256 * 1024;
    let status = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0755"),
            "tmpfs",
        ])
        .arg(&directory)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cannot mount a tmpfs on {}",
        directory.display()
    );
    let _mounted = Mounted(directory.clone());
    world.server.set(V2_PATH, Reply::Body(hello_v2().to_vec()));
    let json = world.v2_release().json(&world.publisher);
    bad_upgrade(&world, json, &["hello 0.2.0", "No space left on device"]);
}

#[test]
fn a_read_only_plugin_directory_is_refused_and_leaves_the_old_version() {
    let mut sandbox = Sandbox::with_plugins(&[]);
    sandbox.run_unprivileged();
    let world = World::with_sandbox(sandbox);
    world.install_v1();
    let directory = world.sandbox.user_plugin_dir();
    fs::set_permissions(&directory, fs::Permissions::from_mode(0o555)).unwrap();
    world.server.set(V2_PATH, Reply::Body(hello_v2().to_vec()));
    world.publish(vec![world.v1(), world.v2_release().json(&world.publisher)]);
    let run = world.run(&["plugins", "upgrade", "hello"]);
    assert_refused(
        &run,
        &[&directory.display().to_string(), "Permission denied"],
    );
    fs::set_permissions(&directory, fs::Permissions::from_mode(0o755)).unwrap();
    world.assert_v1_untouched();
}

#[test]
fn a_release_published_with_keygen_and_index_add_installs_by_name() {
    let sandbox = Sandbox::with_plugins(&[]);
    let dist = sandbox.root().join("dist");
    fs::create_dir_all(&dist).unwrap();
    fs::write(dist.join("libmosaic_hello.so"), hello_v1()).unwrap();
    let keys = sandbox.root().join("keys");
    fs::create_dir_all(&keys).unwrap();
    let dir = |path: &PathBuf| path.to_str().unwrap().to_string();
    sandbox
        .run([
            "plugins",
            "keygen",
            "--output",
            &dir(&keys),
            "--name",
            "acme",
        ])
        .expect_code(0);
    let index = dist.join("index.json");
    sandbox
        .run([
            "plugins",
            "index",
            "add",
            &dir(&index),
            &dir(&dist.join("libmosaic_hello.so")),
            "--url",
            "libmosaic_hello.so",
            "--key",
            &dir(&keys.join("acme.key")),
        ])
        .expect_code(0);
    let index_url = format!("file://{}", index.display());
    sandbox
        .run(["plugins", "index-source", "add", &index_url])
        .expect_code(0);
    sandbox
        .run([
            "plugins",
            "trust",
            "add",
            &dir(&keys.join("acme.pub")),
            "--name",
            "acme",
        ])
        .expect_code(0);
    let run = sandbox.run(["plugins", "install", "hello"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("installed hello 0.1.0 from file://"),
        "{run:?}"
    );
    sandbox.run(["hello"]).expect_code(0);
    let list = sandbox.run(["plugins", "list", "--json"]);
    let row = list.plugin_row("name", "hello").unwrap();
    assert_eq!(row["provenance"]["signer_name"], "acme");
    assert_eq!(row["provenance"]["index"], index_url);

    // Removing the plugin removes the record of where it came from.
    let origin = sandbox.user_plugin_dir().join(".origin/hello.json");
    assert!(origin.exists());
    sandbox.run(["plugins", "remove", "hello"]).expect_code(0);
    assert!(!origin.exists(), "{} is left behind", origin.display());
}

#[test]
fn an_unknown_key_is_asked_about_at_a_terminal() {
    if mosaic_tests::tool_or_skip("an_unknown_key_is_asked_about_at_a_terminal", "tmux").is_none() {
        return;
    }
    let sandbox = Sandbox::with_plugins(&[]);
    let publisher = Publisher::new(11);
    let index_url = file_index(&sandbox, &publisher);
    sandbox
        .run(["plugins", "index-source", "add", &index_url])
        .expect_code(0);
    let script = |marker: &str| {
        format!(
            "env -i HOME={home} PATH={path} NO_COLOR=1 TERM=xterm {mosaic} plugins install \
             hello; echo \"{marker} EXIT=$?\"; sleep 600",
            home = mosaic_tests::shell_quote(&sandbox.home().display().to_string()),
            path = mosaic_tests::shell_quote(&std::env::var("PATH").unwrap_or_default()),
            mosaic = mosaic_tests::shell_quote(&sandbox.binary().display().to_string()),
        )
    };
    let installed = sandbox.user_plugin_dir().join("libmosaic_hello.so");

    let terminal = mosaic_tests::Terminal::start(sandbox.root(), &script("FIRST"));
    terminal.expect(&publisher.fingerprint());
    terminal.expect("Trust this publisher key");
    terminal.send(&["n"]);
    terminal.expect("FIRST EXIT=");
    assert!(
        terminal.screen().contains("FIRST EXIT=1"),
        "{}",
        terminal.screen()
    );
    assert!(
        terminal.screen().contains("chose not to trust"),
        "{}",
        terminal.screen()
    );
    drop(terminal);
    assert!(!installed.exists());

    // A tmux server of its own (the first one's socket may linger a moment).
    let second = sandbox.root().join("second-terminal");
    fs::create_dir_all(&second).unwrap();
    let terminal = mosaic_tests::Terminal::start(&second, &script("SECOND"));
    terminal.expect("Trust this publisher key");
    terminal.send(&["y"]);
    terminal.expect("SECOND EXIT=");
    assert!(
        terminal.screen().contains("SECOND EXIT=0"),
        "{}",
        terminal.screen()
    );
    drop(terminal);
    assert!(installed.exists());
    let trusted = sandbox.run(["plugins", "trust", "list", "--json"]);
    assert_eq!(trusted.json()[0]["fingerprint"], publisher.fingerprint());
    assert_eq!(trusted.json()[0]["name"], "publisher of hello");
}

#[test]
fn trust_add_names_a_bad_key_and_never_echoes_a_secret_one() {
    let sandbox = Sandbox::with_plugins(&[]);
    let run = sandbox.run(["plugins", "trust", "add", "garbage"]);
    run.expect_code(1);
    assert!(run.stderr.contains("`garbage` is neither"), "{run:?}");

    // A secret key, given as text or as its file, is refused without being shown.
    let keys = sandbox.root().join("keys");
    let keys_arg = keys.to_str().unwrap();
    sandbox
        .run(["plugins", "keygen", "--output", keys_arg, "--name", "k"])
        .expect_code(0);
    let secret_file = keys.join("k.key");
    let secret_text = fs::read_to_string(&secret_file).unwrap();
    let seed = secret_text.split_whitespace().nth(1).unwrap();
    for argument in [secret_text.trim(), secret_file.to_str().unwrap()] {
        let run = sandbox.run(["plugins", "trust", "add", argument]);
        run.expect_code(1);
        assert!(run.stderr.contains("SECRET key"), "{run:?}");
        assert!(!run.stderr.contains(seed) && !run.stdout.contains(seed));
    }
    let trusted = sandbox.run(["--json", "plugins", "trust", "list"]);
    assert_eq!(trusted.json(), serde_json::json!([]));

    // Nothing came from an index: outdated says so instead of counting zero.
    let outdated = sandbox.run(["plugins", "outdated"]);
    outdated.expect_code(0);
    assert!(
        outdated
            .stderr
            .contains("No plugin here was installed from an index"),
        "{outdated:?}"
    );
}
