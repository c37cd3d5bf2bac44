//! The publisher's side of plugin distribution: `mosaic plugins keygen` and
//! `mosaic plugins index add`. The index written is checked here independently of
//! mosaic's own code: its fields against the library's bytes and manifest, and its
//! signature with ed25519 over the documented message.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use mosaic_tests::{fixture_plugin, hello_plugin, Run, Sandbox};
use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};

/// Runs `mosaic ARGS` in `sandbox`.
fn mosaic(sandbox: &Sandbox, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let mut command = sandbox.command(std::iter::empty::<&str>());
    for arg in args {
        command.arg(arg);
    }
    Run::from_output(command.output().expect("cannot run mosaic"))
}

/// `mosaic plugins keygen --output <sandbox>/keys --name NAME EXTRA…`.
fn run_keygen(sandbox: &Sandbox, name: &str, extra: &[&str]) -> Run {
    let mut command = sandbox.command(["plugins", "keygen", "--output"]);
    command
        .arg(sandbox.root().join("keys"))
        .args(["--name", name])
        .args(extra);
    Run::from_output(command.output().expect("cannot run mosaic"))
}

/// A key pair made with `plugins keygen` in `<sandbox>/keys`: the secret key
/// file and the public key text.
fn keygen(sandbox: &Sandbox, name: &str) -> (PathBuf, String) {
    let run = run_keygen(sandbox, name, &[]);
    run.expect_code(0);
    let public = run.stdout.lines().next().unwrap().to_string();
    (
        sandbox.root().join("keys").join(format!("{name}.key")),
        public,
    )
}

/// `mosaic plugins index add INDEX FILE --url URL --key KEY EXTRA…`.
fn index_add(sandbox: &Sandbox, index: &Path, file: &Path, key: &Path, extra: &[&str]) -> Run {
    let mut command = sandbox.command(["plugins", "index", "add"]);
    command
        .arg(index)
        .arg(file)
        .args(["--url", "libmosaic_hello-0.1.0.so", "--key"])
        .arg(key)
        .args(extra);
    Run::from_output(command.output().expect("cannot run mosaic"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The ed25519 key of a `mosaic-ed25519:<base64>` text.
fn verifying_key(text: &str) -> VerifyingKey {
    let encoded = text.strip_prefix("mosaic-ed25519:").expect("key prefix");
    let bytes: [u8; 32] = STANDARD.decode(encoded).unwrap().try_into().unwrap();
    VerifyingKey::from_bytes(&bytes).unwrap()
}

/// Checks a release's signature over the message the index format documents.
fn assert_signed(name: &str, release: &serde_json::Value) {
    let text = |field: &str| release[field].as_str().unwrap().to_string();
    let message = format!(
        "mosaic-plugin-release-v1\nname={name}\nversion={}\ntarget={}\napi_version={}\n\
         host_requirement={}\nsize={}\nsha256={}\n",
        text("version"),
        text("target"),
        text("api_version"),
        text("host_requirement"),
        release["size"],
        text("sha256")
    );
    let signature: [u8; 64] = STANDARD
        .decode(text("signature"))
        .unwrap()
        .try_into()
        .unwrap();
    verifying_key(&text("publisher_key"))
        .verify_strict(message.as_bytes(), &Signature::from_bytes(&signature))
        .expect("the release signature verifies");
}

#[test]
fn keygen_writes_a_private_key_and_prints_only_the_public_one() {
    let sandbox = Sandbox::with_plugins(&[]);
    let keys = sandbox.root().join("keys");
    let run = run_keygen(&sandbox, "acme", &[]);
    run.expect_code(0);
    let secret = keys.join("acme.key");
    let public = keys.join("acme.pub");
    assert_eq!(
        fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let secret_text = fs::read_to_string(&secret).unwrap();
    let seed = secret_text
        .strip_prefix("mosaic-secret-key-v1 ")
        .expect("secret key format")
        .trim();
    assert!(!run.stdout.contains(seed) && !run.stderr.contains(seed));
    let public_text = fs::read_to_string(&public).unwrap();
    assert_eq!(run.stdout.lines().next().unwrap(), public_text.trim());
    // The public key belongs to the secret one, and the fingerprint is ssh-style.
    let seed: [u8; 32] = STANDARD.decode(seed).unwrap().try_into().unwrap();
    let derived = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    assert_eq!(verifying_key(public_text.trim()), derived);
    let fingerprint = format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(Sha256::digest(derived.as_bytes()))
    );
    assert!(
        run.stdout.contains(&format!("fingerprint: {fingerprint}")),
        "{run:?}"
    );

    // Never overwritten.
    let again = run_keygen(&sandbox, "acme", &[]);
    again.expect_code(1);
    assert!(
        again.stderr.contains("acme.key already exists"),
        "{again:?}"
    );
    assert_eq!(fs::read_to_string(&secret).unwrap(), secret_text);

    let json = run_keygen(&sandbox, "second", &["--json"]);
    json.expect_code(0);
    let value = json.json();
    assert!(value["public_key"]
        .as_str()
        .unwrap()
        .starts_with("mosaic-ed25519:"));
    assert!(value["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("SHA256:"));
    assert_eq!(
        value["secret_key_file"],
        keys.join("second.key").display().to_string()
    );
}

#[test]
fn index_add_publishes_a_vetted_signed_release_read_from_the_library() {
    let sandbox = Sandbox::with_plugins(&[]);
    let (key, public) = keygen(&sandbox, "acme");
    let site = sandbox.root().join("site");
    fs::create_dir_all(&site).unwrap();
    let index = site.join("index.json");
    let library = hello_plugin();

    let run = index_add(&sandbox, &index, library, &key, &[]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("added hello 0.1.0 for "), "{run:?}");
    let bytes = fs::read(library).unwrap();
    let document: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&index).unwrap()).unwrap();
    assert_eq!(document["schema"], "mosaic-plugin-index/1");
    let plugin = &document["plugins"][0];
    assert_eq!(plugin["name"], "hello");
    assert_eq!(plugin["description"], "Greets people (an example plugin)");
    let release = &plugin["releases"][0];
    assert_eq!(release["version"], "0.1.0");
    assert_eq!(release["host_requirement"], ">=0.2.0, <0.3.0");
    assert_eq!(release["api_version"], mosaic_plugin_api::API_VERSION);
    assert_eq!(release["url"], "libmosaic_hello-0.1.0.so");
    assert_eq!(release["size"], bytes.len() as u64);
    assert_eq!(release["sha256"], sha256_hex(&bytes));
    assert_eq!(release["publisher_key"], public.as_str());
    assert_eq!(release["commands"], serde_json::json!(["hello"]));
    let target = release["target"].as_str().unwrap();
    assert!(target.split('-').count() >= 3, "{target}");
    assert_signed("hello", release);

    // The same version and target again: refused, the index untouched.
    let before = fs::read(&index).unwrap();
    let again = index_add(&sandbox, &index, library, &key, &[]);
    again.expect_code(1);
    assert!(
        again.stderr.contains("hello 0.1.0 for")
            && again.stderr.contains("is already listed; use --replace"),
        "{again:?}"
    );
    assert_eq!(fs::read(&index).unwrap(), before);

    // --replace replaces it; fields mosaic does not know survive the rewrite; a
    // second plugin is added beside the first.
    let mut edited = document.clone();
    edited["mirror_note"] = serde_json::json!("kept");
    fs::write(&index, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let replaced = index_add(&sandbox, &index, library, &key, &["--replace", "--json"]);
    replaced.expect_code(0);
    assert_eq!(replaced.json()["replaced"], true);
    let fixture = fixture_plugin(None);
    index_add(&sandbox, &index, &fixture, &key, &[]).expect_code(0);
    let document: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&index).unwrap()).unwrap();
    assert_eq!(document["mirror_note"], "kept");
    let names: Vec<&str> = document["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|plugin| plugin["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hello", "fixture"]);
    assert_eq!(
        document["plugins"][0]["releases"].as_array().unwrap().len(),
        1
    );
    for plugin in document["plugins"].as_array().unwrap() {
        assert_signed(plugin["name"].as_str().unwrap(), &plugin["releases"][0]);
    }
}

#[test]
fn a_library_that_fails_vetting_is_refused_and_the_index_untouched() {
    let sandbox = Sandbox::with_plugins(&[]);
    let (key, _) = keygen(&sandbox, "acme");
    let index = sandbox.root().join("index.json");
    let broken = sandbox.root().join("libmosaic_broken.so");
    fs::write(&broken, b"not a shared library").unwrap();

    let run = index_add(&sandbox, &index, &broken, &key, &[]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "{} cannot be installed: not a loadable library",
            broken.display()
        )),
        "{run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(!index.exists(), "no index was created");

    index_add(&sandbox, &index, hello_plugin(), &key, &[]).expect_code(0);
    let before = fs::read(&index).unwrap();
    index_add(&sandbox, &index, &broken, &key, &[]).expect_code(1);
    assert_eq!(fs::read(&index).unwrap(), before);
}

#[test]
fn bad_key_files_are_refused_before_anything_is_written() {
    let sandbox = Sandbox::with_plugins(&[]);
    let index = sandbox.root().join("index.json");
    let garbage = sandbox.root().join("garbage.key");
    fs::write(&garbage, "this is not a key\n").unwrap();
    fs::set_permissions(&garbage, fs::Permissions::from_mode(0o600)).unwrap();
    let run = index_add(&sandbox, &index, hello_plugin(), &garbage, &[]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "{} is not a mosaic secret key: expected `mosaic-secret-key-v1",
            garbage.display()
        )),
        "{run:?}"
    );

    let (key, _) = keygen(&sandbox, "acme");
    let public = key.with_extension("pub");
    let run = index_add(&sandbox, &index, hello_plugin(), &public, &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("is a public key"), "{run:?}");

    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let run = index_add(&sandbox, &index, hello_plugin(), &key, &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("chmod 600"), "{run:?}");

    let missing = sandbox.root().join("missing.key");
    let run = index_add(&sandbox, &index, hello_plugin(), &missing, &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("missing.key"), "{run:?}");
    assert!(!index.exists());
}

#[test]
fn an_index_that_is_not_a_valid_index_is_never_added_to() {
    let sandbox = Sandbox::with_plugins(&[]);
    let (key, _) = keygen(&sandbox, "acme");
    let index = sandbox.root().join("index.json");
    for (text, expected) in [
        ("{ broken", "invalid JSON"),
        (
            r#"{"schema": "mosaic-plugin-index/9", "plugins": []}"#,
            "`mosaic-plugin-index/9` is not supported",
        ),
    ] {
        fs::write(&index, text).unwrap();
        let run = index_add(&sandbox, &index, hello_plugin(), &key, &[]);
        run.expect_code(1);
        assert!(
            run.stderr.contains(&index.display().to_string()) && run.stderr.contains(expected),
            "{run:?}"
        );
        assert_eq!(fs::read_to_string(&index).unwrap(), text);
    }
}

#[test]
fn index_add_waits_for_another_publisher_and_keeps_their_release() {
    let sandbox = Sandbox::with_plugins(&[]);
    let (key, _) = keygen(&sandbox, "acme");
    // What the other publisher writes: an index with the fixture plugin.
    let theirs = sandbox.root().join("theirs.json");
    index_add(&sandbox, &theirs, &fixture_plugin(None), &key, &[]).expect_code(0);

    // The other publisher holds the index's lock (the file `index add` locks).
    let index = sandbox.root().join("index.json");
    let lock_file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(sandbox.root().join(".index.json.lock"))
        .unwrap();
    let lock = Flock::lock(lock_file, FlockArg::LockExclusive).unwrap();
    let mut command = sandbox.command(["plugins", "index", "add"]);
    command
        .arg(&index)
        .arg(hello_plugin())
        .args(["--url", "lib.so", "--key"])
        .arg(&key);
    let mut publisher = command.spawn().unwrap();
    // Wait (generously) until it is blocked on that lock: /proc/locks lists a
    // waiter as `N: -> FLOCK  ADVISORY  WRITE <pid> …`.
    let waiter = format!(" {} ", publisher.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let locks = fs::read_to_string("/proc/locks").unwrap();
        if locks
            .lines()
            .any(|line| line.contains("-> FLOCK") && line.contains(&waiter))
        {
            break;
        }
        assert!(
            publisher.try_wait().unwrap().is_none(),
            "index add finished without waiting for the lock"
        );
        assert!(
            Instant::now() < deadline,
            "index add never waited for the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The other publisher writes, then lets go.
    fs::copy(&theirs, &index).unwrap();
    drop(lock);
    assert!(publisher.wait().unwrap().success());
    let document: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&index).unwrap()).unwrap();
    let names: Vec<&str> = document["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|plugin| plugin["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fixture", "hello"]);
}

#[test]
fn a_published_release_installs_by_name_from_a_file_index() {
    let sandbox = Sandbox::with_plugins(&[]);
    let (key, _) = keygen(&sandbox, "acme");
    let site = sandbox.root().join("site");
    fs::create_dir_all(&site).unwrap();
    let index = site.join("index.json");
    // A relative URL: the library is served beside the index.
    index_add(&sandbox, &index, hello_plugin(), &key, &[]).expect_code(0);
    fs::copy(hello_plugin(), site.join("libmosaic_hello-0.1.0.so")).unwrap();

    let index_url = format!("file://{}", index.display());
    mosaic(&sandbox, &[&"plugins", &"index-source", &"add", &index_url]).expect_code(0);
    mosaic(
        &sandbox,
        &[&"plugins", &"trust", &"add", &key.with_extension("pub")],
    )
    .expect_code(0);
    mosaic(&sandbox, &[&"plugins", &"install", &"hello"]).expect_code(0);
    let run = sandbox.run(["hello", "Ada"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "Hello, Ada!\n");
}
