//! Helpers shared by the `gateway_*` end-to-end tests: free ports, a tiny HTTP/1.1
//! client (so the tests need no HTTP crate), a sandbox whose gateway daemon is
//! always killed when the test ends, pass or fail, and ([`services`]) throwaway
//! PostgreSQL and Valkey servers for the team tier.
//!
//! Each test file uses only some of these helpers.
#![allow(dead_code)]

pub mod lifecycle;
pub mod services;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mosaic_tests::{Run, Sandbox};
use serde_json::Value;

/// The admin every headless test installs.
pub const ADMIN_NAME: &str = "Ada Admin";
/// Its email.
pub const ADMIN_EMAIL: &str = "ada@example.com";
/// Its password.
pub const ADMIN_PASSWORD: &str = "correct horse battery";

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("cannot bind an ephemeral port")
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Response {
    /// The first header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.body))
    }
}

/// Sends one request to `127.0.0.1:port` and reads the whole answer
/// (`Connection: close`), with a 30 s bound on every read and write. Panics on a
/// connection error.
#[track_caller]
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    match send(port, method, path, headers, body) {
        Ok(response) => response,
        Err(error) => panic!("{method} http://127.0.0.1:{port}{path} failed: {error}"),
    }
}

/// Like [`http`], with connection errors returned.
pub fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    if let Some(body) = body {
        request.push_str(body);
    }
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text}")))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_string(),
    })
}

/// `Bearer TOKEN`, for the `Authorization` header.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The body of a small `POST /v1/messages` (`claude-sonnet-4-5`, "Hello").
pub fn message_body(stream: bool) -> String {
    serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": stream,
        "messages": [{"role": "user", "content": "Hello"}]})
    .to_string()
}

/// `POST /v1/messages` of [`message_body`] with `x-api-key: key`.
pub fn post_message(port: u16, key: &str, stream: bool) -> Response {
    http(
        port,
        "POST",
        "/v1/messages",
        &[("x-api-key", key), ("anthropic-version", "2023-06-01")],
        Some(&message_body(stream)),
    )
}

/// `POST path` with a JSON body.
pub fn post_json(port: u16, path: &str, headers: &[(&str, &str)], body: &Value) -> Response {
    http(port, "POST", path, headers, Some(&body.to_string()))
}

/// Logs in; returns the answer (token in `json()["token"]` on success).
pub fn login(port: u16, email: &str, password: &str) -> Response {
    post_json(
        port,
        "/api/auth/login",
        &[],
        &serde_json::json!({"email": email, "password": password}),
    )
}

/// Logs in and returns the session token, failing the test otherwise.
#[track_caller]
pub fn token(port: u16, email: &str, password: &str) -> String {
    let response = login(port, email, password);
    assert_eq!(
        response.status, 200,
        "login of {email} failed: {}",
        response.body
    );
    response.json()["token"].as_str().unwrap().to_string()
}

/// A sandbox with a gateway on its own port; the daemon is killed on drop.
pub struct GatewaySandbox {
    /// The sandbox (temp HOME, installed mosaic).
    pub sandbox: Sandbox,
    /// The gateway's port.
    pub port: u16,
}

impl GatewaySandbox {
    /// A sandbox set up for headless installs with the built-in supervisor.
    pub fn new() -> GatewaySandbox {
        GatewaySandbox::in_sandbox(Sandbox::new())
    }

    /// `sandbox` (which must have the gateway plugin) set up like
    /// [`GatewaySandbox::new`].
    pub fn in_sandbox(mut sandbox: Sandbox) -> GatewaySandbox {
        sandbox
            .env("MOSAIC_SERVICE_MANAGER", "supervisor")
            .env("MOSAIC_ASSUME_YES", "1");
        GatewaySandbox {
            sandbox,
            port: free_port(),
        }
    }

    /// A new sandbox whose gateway is installed (and running) holding `real_key`
    /// and calling the Anthropic API at `api_url` (a stand-in).
    #[track_caller]
    pub fn calling(real_key: &str, api_url: &str) -> GatewaySandbox {
        let gateway = GatewaySandbox::new();
        gateway
            .install_with(&[
                ("MOSAIC_ANTHROPIC_API_KEY", real_key),
                ("MOSAIC_ANTHROPIC_BASE_URL", api_url),
            ])
            .expect_code(0);
        gateway
    }

    /// `gateway install` in the team tier, on `postgres` and `valkey`.
    pub fn install_team(&self, postgres: &services::Postgres, valkey: &services::Valkey) -> Run {
        self.install_with(&[
            ("MOSAIC_STORAGE_TIER", "team"),
            ("MOSAIC_DATABASE_URL", &postgres.url()),
            ("MOSAIC_VALKEY_URL", &valkey.url()),
        ])
    }

    /// `gateway keys create NAME FLAGS --json`: what it printed (the key in `key`,
    /// its id in `id`).
    #[track_caller]
    pub fn create_key(&self, name: &str, flags: &[&str]) -> Value {
        let mut args = vec!["gateway", "keys", "create", name];
        args.extend_from_slice(flags);
        args.push("--json");
        let run = self.run(&args);
        run.expect_code(0);
        let created = run.json();
        let key = created["key"].as_str().unwrap();
        assert!(key.starts_with("mosaic_sk_"), "{key}");
        created
    }

    /// Like [`GatewaySandbox::create_key`]; only the key.
    #[track_caller]
    pub fn create_key_text(&self, name: &str, flags: &[&str]) -> String {
        self.create_key(name, flags)["key"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// `gateway usage --by BY --json` once `reached` holds for it (the daemon stores
    /// usage a moment after the answer); fails the test after 20 s, naming `what`.
    #[track_caller]
    pub fn usage_once(
        &self,
        by: &str,
        what: &str,
        mut reached: impl FnMut(&Value) -> bool,
    ) -> Value {
        let mut last = Value::Null;
        let stored = wait_for(Duration::from_secs(20), || {
            let run = self.run(&["gateway", "usage", "--by", by, "--json"]);
            if run.code != 0 {
                return false;
            }
            last = run.json();
            reached(&last)
        });
        assert!(stored, "{what} never came: {last}");
        last
    }

    /// The usage by key once its total reaches `requests` requests.
    #[track_caller]
    pub fn usage_with_total(&self, requests: u64) -> Value {
        self.usage_once(
            "key",
            &format!("a usage total of {requests} requests"),
            |usage| usage["total"]["requests"].as_u64() == Some(requests),
        )
    }

    /// Runs `mosaic ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.sandbox.run(args)
    }

    /// `gateway install --port PORT` headless with the admin variables set.
    pub fn install(&self) -> Run {
        self.install_with(&[])
    }

    /// Like [`GatewaySandbox::install`] with more environment variables (e.g. the
    /// team tier's `MOSAIC_STORAGE_TIER`, `MOSAIC_DATABASE_URL`, `MOSAIC_VALKEY_URL`).
    pub fn install_with(&self, environment: &[(&str, &str)]) -> Run {
        let port = self.port.to_string();
        let output = self
            .sandbox
            .command(["gateway", "install", "--port", &port])
            .env("MOSAIC_ADMIN_NAME", ADMIN_NAME)
            .env("MOSAIC_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("MOSAIC_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .envs(environment.iter().copied())
            .output()
            .expect("cannot run mosaic");
        Run::from_output(output)
    }

    /// `config.json` of the sandbox.
    pub fn config_file(&self) -> PathBuf {
        self.sandbox.config_dir().join("config.json")
    }

    /// The daemon's pid file.
    pub fn pid_file(&self) -> PathBuf {
        self.sandbox.config_dir().join("run/gateway/gateway.pid")
    }

    /// The daemon's log file.
    pub fn log_file(&self) -> PathBuf {
        self.sandbox
            .home()
            .join(".local/share/mosaic/gateway/gateway.log")
    }

    /// The pid in the pid file, if any.
    pub fn daemon_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.pid_file())
            .ok()
            .and_then(|text| text.trim().parse().ok())
    }

    /// `GET /health` answers.
    pub fn healthy(&self) -> bool {
        send(self.port, "GET", "/health", &[], None).is_ok_and(|answer| answer.status == 200)
    }

    /// Every process of this sandbox that runs `gateway run` (found by its HOME).
    pub fn daemon_processes(&self) -> Vec<i32> {
        self.processes_running("gateway run")
    }

    /// Every process of this sandbox that runs the built-in supervisor
    /// (`gateway supervise`).
    pub fn supervisor_processes(&self) -> Vec<i32> {
        self.processes_running("gateway supervise")
    }

    /// The built-in supervisor's state file (restarts, last exit).
    pub fn supervisor_state_file(&self) -> PathBuf {
        self.sandbox
            .config_dir()
            .join("run/gateway/supervisor.json")
    }

    /// Every process whose command line contains `command` and whose HOME is this
    /// sandbox's (zombies, which have no command line, are not counted).
    pub fn processes_running(&self, command: &str) -> Vec<i32> {
        let home = format!("HOME={}", self.sandbox.home().display());
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let command_line = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let environment = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let command_line = String::from_utf8_lossy(&command_line).replace('\0', " ");
            let environment = String::from_utf8_lossy(&environment);
            if command_line.contains(command) && environment.split('\0').any(|pair| pair == home) {
                found.push(pid);
            }
        }
        found
    }
}

impl Drop for GatewaySandbox {
    fn drop(&mut self) {
        let kill = |pid: i32| {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        };
        // The supervisor first, so it cannot start the daemon again; a daemon it
        // was starting at that moment is caught by the second look.
        let supervisors = self.supervisor_processes();
        supervisors.iter().copied().for_each(kill);
        if !supervisors.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
        self.daemon_processes().into_iter().for_each(kill);
    }
}

/// Polls `ready` every 50 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ready()
}
