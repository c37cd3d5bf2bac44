//! A local stand-in for the Anthropic Messages API, enough for Claude Code to run a
//! scripted conversation offline (`ANTHROPIC_BASE_URL=http://127.0.0.1:<port>`).
//!
//! `POST /v1/messages` is answered by the script: while the conversation holds
//! fewer `tool_result` blocks than there are scripted commands, the answer is a
//! `tool_use` of the Bash tool with the next command; then a text block ends the
//! turn. Requests without the Bash tool (Claude Code's side queries) get a short
//! text. Streaming requests (`"stream": true`) are answered as server-sent events
//! (message_start, content_block_start/delta/stop, message_delta, message_stop);
//! others as one JSON message. `count_tokens` gets a token count, any other request
//! (`HEAD /`, a `GET`) an empty success, so Claude Code never waits on the server.
//! Every request is recorded for the test to inspect.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`, `GET`, `HEAD`, …
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// The body, when it was JSON.
    pub body: Option<Value>,
}

/// The running stand-in; it stops serving when the test process ends.
pub struct StandIn {
    address: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl StandIn {
    /// Starts serving on a free local port; Bash runs `commands` in order.
    pub fn start(commands: &[&str]) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot listen on 127.0.0.1");
        let address = listener.local_addr().expect("listener address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let commands: Arc<Vec<String>> = Arc::new(commands.iter().map(|c| c.to_string()).collect());
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = Arc::clone(&recorded);
                let commands = Arc::clone(&commands);
                std::thread::spawn(move || serve(stream, &commands, &recorded));
            }
        });
        StandIn { address, requests }
    }

    /// The value for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests lock").clone()
    }

    /// The `tool_result` blocks Claude Code sent back, by tool use id, from the
    /// last Messages request that carried any: `(content as text, is_error)`.
    pub fn tool_results(&self) -> BTreeMap<String, (String, bool)> {
        let mut results = BTreeMap::new();
        for request in self.requests() {
            let Some(body) = request.body else { continue };
            for block in content_blocks(&body) {
                if block["type"] != "tool_result" {
                    continue;
                }
                let id = block["tool_use_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let text = match &block["content"] {
                    Value::String(text) => text.clone(),
                    Value::Array(parts) => parts
                        .iter()
                        .filter_map(|part| part["text"].as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                    other => other.to_string(),
                };
                let is_error = block["is_error"].as_bool().unwrap_or(false);
                results.insert(id, (text, is_error));
            }
        }
        results
    }
}

/// Every content block of every message of a Messages request.
fn content_blocks(body: &Value) -> Vec<Value> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|message| message["content"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The id of the `index`-th scripted tool use.
pub fn tool_use_id(index: usize) -> String {
    format!("toolu_mosaic_{index}")
}

fn serve(stream: TcpStream, commands: &[String], recorded: &Mutex<Vec<Recorded>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    // Keep-alive: one request after another until the client closes.
    while let Some((method, path, body)) = read_request(&mut reader) {
        let json_body: Option<Value> = serde_json::from_slice(&body).ok();
        recorded.lock().expect("requests lock").push(Recorded {
            method: method.clone(),
            path: path.clone(),
            body: json_body.clone(),
        });
        let (content_type, payload) = answer(&method, &path, json_body.as_ref(), commands);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             request-id: req_stand_in\r\nConnection: keep-alive\r\n\r\n",
            payload.len()
        );
        let body = if method == "HEAD" {
            Vec::new()
        } else {
            payload
        };
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
        let _ = writer.flush();
    }
}

/// Reads one HTTP/1.1 request: method, path and body (by Content-Length or chunked).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|value| value.contains("chunked"))
    {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line).ok()?;
            let size = usize::from_str_radix(size_line.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = headers.get("content-length") {
        body = vec![0; length.parse().ok()?];
        reader.read_exact(&mut body).ok()?;
    }
    Some((method, path, body))
}

/// The answer to one request: content type and payload.
fn answer(
    method: &str,
    path: &str,
    body: Option<&Value>,
    commands: &[String],
) -> (&'static str, Vec<u8>) {
    let Some(body) = body.filter(|_| method == "POST" && path.starts_with("/v1/messages")) else {
        return ("application/json", b"{}".to_vec());
    };
    if path.contains("count_tokens") {
        return ("application/json", br#"{"input_tokens": 12}"#.to_vec());
    }
    let model = body["model"]
        .as_str()
        .unwrap_or("claude-stand-in")
        .to_string();
    let offers_bash = body["tools"]
        .as_array()
        .is_some_and(|tools| tools.iter().any(|tool| tool["name"] == "Bash"));
    let results = content_blocks(body)
        .iter()
        .filter(|block| block["type"] == "tool_result")
        .count();
    let block = match commands.get(results).filter(|_| offers_bash) {
        Some(command) => json!({
            "type": "tool_use",
            "id": tool_use_id(results),
            "name": "Bash",
            "input": {"command": command, "description": "Run the scripted command"},
        }),
        None => json!({"type": "text", "text": "All done."}),
    };
    let stop_reason = if block["type"] == "tool_use" {
        "tool_use"
    } else {
        "end_turn"
    };
    if body["stream"] != true {
        let message = json!({
            "id": "msg_stand_in", "type": "message", "role": "assistant", "model": model,
            "content": [block], "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": 12, "output_tokens": 6},
        });
        return ("application/json", message.to_string().into_bytes());
    }
    let (start, delta) = if block["type"] == "tool_use" {
        let mut start = block.clone();
        start["input"] = json!({});
        let delta = json!({"type": "input_json_delta", "partial_json": block["input"].to_string()});
        (start, delta)
    } else {
        (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": block["text"]}),
        )
    };
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {
            "id": "msg_stand_in", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": start}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": 6}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let text: String = events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect();
    ("text/event-stream", text.into_bytes())
}
