//! A stand-in of the Anthropic Messages API for the proxy's tests: a small HTTP/1.1
//! server on `127.0.0.1:0` in the test process (one thread per connection). It
//! answers `/v1/messages` as [`Mode`] says — a message with a usage block, an SSE
//! stream with a delay between events, an error status, or a stream cut in the
//! middle — answers `count_tokens` and `/v1/models`, and keeps every request it saw
//! (headers and body) so a test can prove what reached it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// Token counts of every answer: input, output, cache read, cache write.
pub const USAGE: (u64, u64, u64, u64) = (11, 22, 3, 4);
/// The output tokens a stream's `message_delta` reports.
pub const STREAM_OUTPUT_TOKENS: u64 = 15;
/// The text deltas of a stream.
pub const STREAM_DELTAS: usize = 3;

/// How `/v1/messages` answers.
#[derive(Debug, Clone)]
pub enum Mode {
    /// 200: a message, or (`"stream": true`) an SSE stream with `delay` between events.
    Normal {
        /// The pause before each event after the first.
        delay: Duration,
    },
    /// This status with this body (`application/json` when it parses as JSON).
    Error {
        /// The status.
        status: u16,
        /// The body.
        body: String,
    },
    /// A stream that stops after `message_start` and one delta, without ending.
    CutStream,
}

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path with query.
    pub path: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Seen {
    /// The first header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The running stand-in; it stops with the test process.
pub struct AnthropicStandIn {
    /// Its port on 127.0.0.1.
    pub port: u16,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl AnthropicStandIn {
    /// Starts a stand-in answering normally without delays.
    pub fn start() -> AnthropicStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind the stand-in");
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(Mutex::new(Mode::Normal {
            delay: Duration::ZERO,
        }));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (thread_mode, thread_seen) = (mode.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (mode, seen) = (thread_mode.clone(), thread_seen.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &mode, &seen);
                });
            }
        });
        AnthropicStandIn { port, mode, seen }
    }

    /// Its base URL, for `gateway.anthropic_base_url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Changes how `/v1/messages` answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, mode: &Mutex<Mode>, seen: &Mutex<Vec<Seen>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let request = Seen {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        seen.lock().unwrap().push(request.clone());
        let mode = mode.lock().unwrap().clone();
        if !answer(&mut writer, &request, &mode)? {
            return Ok(());
        }
    }
}

fn write_whole(writer: &mut TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let content_type = if serde_json::from_str::<Value>(body).is_ok() {
        "application/json"
    } else {
        "text/html"
    };
    write!(
        writer,
        "HTTP/1.1 {status} Stand-in\r\ncontent-type: {content_type}\r\nrequest-id: req_standin\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )?;
    writer.flush()
}

fn write_chunk(writer: &mut TcpStream, data: &str) -> std::io::Result<()> {
    write!(writer, "{:x}\r\n{data}\r\n", data.len())?;
    writer.flush()
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The events of a streamed answer.
pub fn stream_events() -> Vec<String> {
    let (input, _, cache_read, cache_write) = USAGE;
    let mut events = vec![event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_standin", "type": "message",
            "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
            "usage": {"input_tokens": input, "output_tokens": 1,
                "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_write}}}),
    )];
    events.push(event(
        "content_block_start",
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ));
    for index in 0..STREAM_DELTAS {
        events.push(event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": format!("part {index} ")}}),
        ));
    }
    events.push(event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": STREAM_OUTPUT_TOKENS}}),
    ));
    events.push(event("message_stop", json!({"type": "message_stop"})));
    events
}

/// Answers one request; `false` when the connection must close.
fn answer(writer: &mut TcpStream, request: &Seen, mode: &Mode) -> std::io::Result<bool> {
    if request.path.starts_with("/v1/models") {
        write_whole(
            writer,
            200,
            &json!({"data": [{"type": "model", "id": "claude-sonnet-4-5"}], "has_more": false})
                .to_string(),
        )?;
        return Ok(true);
    }
    if request.path.starts_with("/v1/messages/count_tokens") {
        write_whole(writer, 200, &json!({"input_tokens": 42}).to_string())?;
        return Ok(true);
    }
    let streaming = serde_json::from_str::<Value>(&request.body)
        .is_ok_and(|body| body["stream"] == json!(true));
    match mode {
        Mode::Error { status, body } => {
            write_whole(writer, *status, body)?;
            Ok(true)
        }
        Mode::Normal { .. } | Mode::CutStream if !streaming => {
            let (input, output, cache_read, cache_write) = USAGE;
            let body = json!({"id": "msg_standin", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "Hello from the stand-in"}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": input, "output_tokens": output,
                    "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_write}});
            write_whole(writer, 200, &body.to_string())?;
            Ok(true)
        }
        Mode::Normal { delay } => {
            write!(
                writer,
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_standin\r\n\
                 transfer-encoding: chunked\r\n\r\n"
            )?;
            for (index, event) in stream_events().iter().enumerate() {
                if index > 0 {
                    std::thread::sleep(*delay);
                }
                write_chunk(writer, event)?;
            }
            write!(writer, "0\r\n\r\n")?;
            writer.flush()?;
            Ok(true)
        }
        Mode::CutStream => {
            write!(
                writer,
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                 transfer-encoding: chunked\r\n\r\n"
            )?;
            for event in stream_events().iter().take(3) {
                write_chunk(writer, event)?;
            }
            std::thread::sleep(Duration::from_millis(100));
            // Closed without the last chunk: the stream is cut.
            writer.shutdown(std::net::Shutdown::Both)?;
            Ok(false)
        }
    }
}
