//! A small WebDriver client: Debian's `chromedriver` on a free loopback port, and
//! headless Chromium sessions driven through its W3C HTTP API (navigate, find,
//! click, type, read, run scripts, screenshots, and Chrome DevTools commands through
//! `goog/cdp/execute`).
//!
//! Not a general client: it speaks only what the dashboard tests need and fails
//! the test with the driver's own message when a command fails. It has its own
//! tiny HTTP/1.1 exchange because chromedriver answers `Connection: close` yet
//! keeps the connection open: the answer ends where `Content-Length` says.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::gateway_support::{free_port, wait_for};

/// The key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a wait on the page lasts before the test fails.
pub const PAGE_WAIT: Duration = Duration::from_secs(30);

/// A running `chromedriver`, killed (with every browser it started) on drop.
pub struct ChromeDriver {
    process: Child,
    port: u16,
    /// Where the sessions' Chromium profiles go.
    profiles: PathBuf,
}

impl ChromeDriver {
    /// Starts `chromedriver` (the one found on PATH) on a free port, in a process
    /// group of its own so that the browsers it starts can be ended with it; the
    /// sessions' profiles live under `profiles`.
    pub fn start(chromedriver: &Path, profiles: &Path) -> ChromeDriver {
        for _attempt in 0..3 {
            let port = free_port();
            let process = Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|error| panic!("cannot start {}: {error}", chromedriver.display()));
            let mut driver = ChromeDriver {
                process,
                port,
                profiles: profiles.to_path_buf(),
            };
            let ready = wait_for(Duration::from_secs(20), || {
                send(port, "GET", "/status", None)
                    .is_ok_and(|(_, body)| body.contains("\"ready\":true"))
            });
            if ready {
                return driver;
            }
            // Another process took the port first, or the driver died: try again.
            driver.end();
        }
        panic!("chromedriver did not become ready on any of three free ports");
    }

    /// A new headless Chromium session with a fresh profile, 1280x900.
    pub fn new_browser(&self, name: &str) -> Browser {
        let profile = self.profiles.join(format!("chromium-{name}"));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--hide-scrollbars", "--force-device-scale-factor=1",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let answer = request(self.port, "POST", "/session", Some(&capabilities));
        let session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {answer}"))
            .to_string();
        Browser {
            port: self.port,
            session,
        }
    }

    /// Kills the driver's process group (the driver and any browser left behind)
    /// and reaps the driver.
    fn end(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.process.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.process.wait();
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        self.end();
    }
}

/// Sends one request to chromedriver at `127.0.0.1:port`; returns the status and
/// the body, read up to its `Content-Length`.
fn send(port: u16, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    // Starting a browser or loading a page can take a while on a busy machine.
    stream.set_read_timeout(Some(Duration::from_secs(90)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {status_line:?}")))?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut bytes = vec![0; length];
    reader.read_exact(&mut bytes)?;
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// One WebDriver command; the answer's `value`. Fails the test when the driver
/// answers with an error.
#[track_caller]
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body_text = body.map(Value::to_string);
    let (status, answer) = send(port, method, path, body_text.as_deref())
        .unwrap_or_else(|error| panic!("WebDriver {method} {path} failed: {error}"));
    let document: Value = serde_json::from_str(&answer).unwrap_or_else(|error| {
        panic!("WebDriver {method} {path} answered {status} with no JSON ({error}): {answer}")
    });
    let value = document["value"].clone();
    if status >= 400 {
        panic!(
            "WebDriver {method} {path} failed ({status}): {}: {}",
            value["error"].as_str().unwrap_or("?"),
            value["message"].as_str().unwrap_or("")
        );
    }
    value
}

/// A browser session; deleted (its Chromium quits) on drop.
pub struct Browser {
    port: u16,
    session: String,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element {
    id: String,
}

impl Browser {
    #[track_caller]
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        request(self.port, method, &path, body.as_ref())
    }

    /// Opens `url` and waits for the document to load.
    #[track_caller]
    pub fn open(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// The address of the current page.
    #[track_caller]
    pub fn url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Reloads the page.
    #[track_caller]
    pub fn reload(&self) {
        self.command("POST", "/refresh", Some(json!({})));
    }

    /// Every element matching the CSS `selector`.
    #[track_caller]
    pub fn find_all(&self, selector: &str) -> Vec<Element> {
        let found = self.command(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": selector})),
        );
        elements(&found)
    }

    /// The first element matching `selector`, if any.
    #[track_caller]
    pub fn try_find(&self, selector: &str) -> Option<Element> {
        self.find_all(selector).into_iter().next()
    }

    /// The first element matching `selector`; fails the test when there is none.
    #[track_caller]
    pub fn find(&self, selector: &str) -> Element {
        self.try_find(selector).unwrap_or_else(|| {
            panic!(
                "no element matches `{selector}` on {}:\n{}",
                self.url(),
                self.body_text()
            )
        })
    }

    /// The element that has the keyboard focus.
    #[track_caller]
    pub fn focused(&self) -> Element {
        let found = self.command("GET", "/element/active", None);
        elements(&json!([found]))
            .into_iter()
            .next()
            .expect("an element has the focus")
    }

    /// Clicks `element` (as a user would: it must be visible and not covered).
    #[track_caller]
    pub fn click(&self, element: &Element) {
        self.command(
            "POST",
            &format!("/element/{}/click", element.id),
            Some(json!({})),
        );
    }

    /// Empties an input field.
    #[track_caller]
    pub fn clear(&self, element: &Element) {
        self.command(
            "POST",
            &format!("/element/{}/clear", element.id),
            Some(json!({})),
        );
    }

    /// Types `text` into `element`.
    #[track_caller]
    pub fn type_text(&self, element: &Element, text: &str) {
        self.command(
            "POST",
            &format!("/element/{}/value", element.id),
            Some(json!({ "text": text })),
        );
    }

    /// Empties the field `selector` and types `text` into it.
    #[track_caller]
    pub fn fill(&self, selector: &str, text: &str) {
        let field = self.find(selector);
        self.clear(&field);
        if !text.is_empty() {
            self.type_text(&field, text);
        }
    }

    /// The rendered text of `element`.
    #[track_caller]
    pub fn text(&self, element: &Element) -> String {
        self.command("GET", &format!("/element/{}/text", element.id), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The text of the first element matching `selector`.
    #[track_caller]
    pub fn text_of(&self, selector: &str) -> String {
        let element = self.find(selector);
        self.text(&element)
    }

    /// An attribute of `element` (`None` when it has none).
    #[track_caller]
    pub fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.command(
            "GET",
            &format!("/element/{}/attribute/{name}", element.id),
            None,
        )
        .as_str()
        .map(str::to_string)
    }

    /// Whether `element` is shown.
    #[track_caller]
    pub fn displayed(&self, element: &Element) -> bool {
        self.command("GET", &format!("/element/{}/displayed", element.id), None)
            .as_bool()
            .unwrap_or(false)
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns what
    /// it returns.
    #[track_caller]
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs `script` asynchronously: it must call `arguments[arguments.length - 1]`
    /// with its result.
    #[track_caller]
    pub fn script_async(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// The text of the whole page (for failure messages).
    pub fn body_text(&self) -> String {
        let path = format!("/session/{}/execute/sync", self.session);
        let body =
            json!({"script": "return document.body ? document.body.innerText : ''", "args": []});
        send(self.port, "POST", &path, Some(&body.to_string()))
            .ok()
            .and_then(|(_, answer)| serde_json::from_str::<Value>(&answer).ok())
            .and_then(|document| document["value"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Polls the JavaScript expression `condition` every 100 ms until it is true;
    /// fails the test after [`PAGE_WAIT`], naming `what` and showing the page.
    #[track_caller]
    pub fn wait_until(&self, what: &str, condition: &str) {
        let script = format!("return Boolean({condition});");
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            if self.script(&script, json!([])) == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {PAGE_WAIT:?} waiting for {what} (`{condition}`) on {}:\n{}",
                    self.url(),
                    self.body_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until an element matches the CSS `selector`; fails naming `what`.
    #[track_caller]
    pub fn wait_for_element(&self, what: &str, selector: &str) {
        let condition = format!("document.querySelector({}) !== null", json!(selector));
        self.wait_until(what, &condition);
    }

    /// Waits until the page at `path_prefix` has rendered its data
    /// (`body[data-ready="1"]`, which the dashboard's script sets).
    #[track_caller]
    pub fn wait_ready(&self, path_prefix: &str) {
        self.wait_until(
            &format!("{path_prefix} to render"),
            &format!(
                "location.pathname.startsWith({}) && document.body && document.body.dataset.ready === '1'",
                json!(path_prefix)
            ),
        );
    }

    /// A PNG screenshot of the viewport.
    #[track_caller]
    pub fn screenshot(&self) -> Vec<u8> {
        let encoded = self.command("GET", "/screenshot", None);
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("a base64 screenshot"))
            .expect("WebDriver screenshots are standard base64")
    }

    /// Runs a Chrome DevTools Protocol command (e.g. `Emulation.setEmulatedMedia`).
    #[track_caller]
    pub fn devtools(&self, command: &str, params: Value) -> Value {
        self.command(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": command, "params": params})),
        )
    }

    /// The browser console's messages since the last call (level and text).
    #[track_caller]
    pub fn console_messages(&self) -> Vec<(String, String)> {
        let entries = self.command("POST", "/se/log", Some(json!({"type": "browser"})));
        entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                (
                    entry["level"].as_str().unwrap_or_default().to_string(),
                    entry["message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Quits this Chromium; errors do not matter any more (the driver's process
        // group is killed after this anyway).
        let path = format!("/session/{}", self.session);
        let _ = send(self.port, "DELETE", &path, None);
    }
}

fn elements(found: &Value) -> Vec<Element> {
    found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|reference| reference[ELEMENT_KEY].as_str())
        .map(|id| Element { id: id.to_string() })
        .collect()
}
