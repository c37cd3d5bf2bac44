//! A plugin index server for the tests: plain HTTP on 127.0.0.1, one thread per
//! connection, that serves files and misbehaves on demand (404, 500, stalls,
//! truncated bodies), and records which paths were asked for. Plus signing of
//! index releases in mosaic's format (host/src/distribution), so tests can publish
//! good and deliberately bad releases.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest, Sha256};

/// What the server does for one path.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with these bytes.
    Body(Vec<u8>),
    /// This status, with a short text body.
    Status(u16),
    /// 200 announcing all of these bytes, then only the first `sent` of them,
    /// then the connection closes.
    Truncated { body: Vec<u8>, sent: usize },
    /// 200 announcing these bytes, sends `sent` of them, then nothing, ever
    /// (until the server is dropped).
    Stall { body: Vec<u8>, sent: usize },
    /// 302 to this URL.
    Redirect(String),
}

struct State {
    routes: Mutex<HashMap<String, Reply>>,
    requests: Mutex<Vec<String>>,
    stopping: AtomicBool,
}

/// The server; stops (and lets stalled connections go) when dropped.
pub struct Server {
    port: u16,
    state: Arc<State>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server on a free loopback port.
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            routes: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
        });
        let shared = Arc::clone(&state);
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Server {
            port,
            state,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sets what `path` answers.
    pub fn set(&self, path: &str, reply: Reply) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), reply);
    }

    /// How many times `path` was asked for.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|asked| *asked == path)
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn serve(mut stream: TcpStream, state: &State) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    state.requests.lock().unwrap().push(path.clone());
    let reply = state
        .routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or(Reply::Status(404));
    let head = |status: u16, length: usize| {
        format!(
            "HTTP/1.1 {status} {}\r\nContent-Length: {length}\r\nContent-Type: \
             application/octet-stream\r\nConnection: close\r\n\r\n",
            if status == 200 { "OK" } else { "Error" }
        )
    };
    let _ = match reply {
        Reply::Body(body) => stream
            .write_all(head(200, body.len()).as_bytes())
            .and_then(|()| stream.write_all(&body)),
        Reply::Status(status) => {
            let text = format!("status {status}\n");
            stream
                .write_all(head(status, text.len()).as_bytes())
                .and_then(|()| stream.write_all(text.as_bytes()))
        }
        Reply::Redirect(location) => stream.write_all(
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            )
            .as_bytes(),
        ),
        Reply::Truncated { body, sent } => stream
            .write_all(head(200, body.len()).as_bytes())
            .and_then(|()| stream.write_all(&body[..sent])),
        Reply::Stall { body, sent } => {
            let _ = stream
                .write_all(head(200, body.len()).as_bytes())
                .and_then(|()| stream.write_all(&body[..sent]))
                .and_then(|()| stream.flush());
            while !state.stopping.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(())
        }
    };
    let _ = stream.flush();
}

/// A publisher key, in mosaic's formats.
pub struct Publisher {
    key: SigningKey,
}

impl Publisher {
    /// A key from a seed byte (tests want different, repeatable keys).
    pub fn new(seed: u8) -> Publisher {
        Publisher {
            key: SigningKey::from_bytes(&[seed; 32]),
        }
    }

    /// `mosaic-ed25519:<base64>`.
    pub fn public_text(&self) -> String {
        format!(
            "mosaic-ed25519:{}",
            STANDARD.encode(self.key.verifying_key().to_bytes())
        )
    }

    /// `SHA256:<base64, no padding>`.
    pub fn fingerprint(&self) -> String {
        format!(
            "SHA256:{}",
            STANDARD_NO_PAD.encode(Sha256::digest(self.key.verifying_key().to_bytes()))
        )
    }

    /// The secret key file text (`mosaic-secret-key-v1 <base64 seed>`).
    pub fn secret_file_text(&self) -> String {
        format!(
            "mosaic-secret-key-v1 {}\n",
            STANDARD.encode(self.key.to_bytes())
        )
    }

    /// The base64 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.key.sign(message).to_bytes())
    }
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// One release to put in an index; [`Release::json`] signs it.
#[derive(Clone, Debug)]
pub struct Release {
    pub name: String,
    pub description: String,
    pub version: String,
    pub host_requirement: String,
    pub api_version: String,
    pub target: String,
    pub url: String,
    pub size: u64,
    pub sha256: String,
    pub commands: Vec<String>,
}

impl Release {
    /// A release of `bytes` (its size and sha256) built for this host.
    pub fn of(name: &str, version: &str, bytes: &[u8], url: &str) -> Release {
        Release {
            name: name.to_string(),
            description: format!("The {name} plugin"),
            version: version.to_string(),
            host_requirement: ">=0.2.0, <0.3.0".to_string(),
            api_version: host_api_version().to_string(),
            target: host_target(),
            url: url.to_string(),
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            commands: vec![name.to_string()],
        }
    }

    /// The exact bytes a publisher signs.
    pub fn signed_message(&self) -> Vec<u8> {
        format!(
            "mosaic-plugin-release-v1\nname={}\nversion={}\ntarget={}\napi_version={}\n\
             host_requirement={}\nsize={}\nsha256={}\n",
            self.name,
            self.version,
            self.target,
            self.api_version,
            self.host_requirement,
            self.size,
            self.sha256
        )
        .into_bytes()
    }

    /// The release's JSON, signed by `publisher`.
    pub fn json(&self, publisher: &Publisher) -> serde_json::Value {
        self.json_with_signature(publisher, &publisher.sign(&self.signed_message()))
    }

    /// The release's JSON with `signature` as its signature.
    pub fn json_with_signature(&self, publisher: &Publisher, signature: &str) -> serde_json::Value {
        serde_json::json!({
            "version": self.version,
            "host_requirement": self.host_requirement,
            "api_version": self.api_version,
            "target": self.target,
            "url": self.url,
            "size": self.size,
            "sha256": self.sha256,
            "publisher_key": publisher.public_text(),
            "signature": signature,
            "commands": self.commands,
        })
    }
}

/// An index document of plugins (name, description, release JSONs).
pub fn index_json(plugins: &[(&str, &str, Vec<serde_json::Value>)]) -> String {
    let plugins: Vec<serde_json::Value> = plugins
        .iter()
        .map(|(name, description, releases)| {
            serde_json::json!({"name": name, "description": description, "releases": releases})
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "schema": "mosaic-plugin-index/1",
        "plugins": plugins,
    }))
    .unwrap()
}

/// The mosaic-plugin-api version of this workspace (what the host loads).
pub fn host_api_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        let manifest =
            std::fs::read_to_string(mosaic_tests::repo_root().join("plugin-api/Cargo.toml"))
                .unwrap();
        manifest
            .lines()
            .find_map(|line| line.strip_prefix("version = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .expect("plugin-api/Cargo.toml has a version")
            .to_string()
    })
}

/// The target triple of this machine, as the host was built for it.
pub fn host_target() -> String {
    let output = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV prints the host")
        .trim()
        .to_string()
}
