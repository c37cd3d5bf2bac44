//! A stand-in of the Anthropic Messages API for the proxy's tests: a small HTTP/1.1
//! server on `127.0.0.1:0` in the test process (one thread per connection). It
//! answers `/v1/messages` as [`Mode`] says — a message with a usage block, an SSE
//! stream with a delay between events, an error status, or a stream cut in the
//! middle — or as Claude Code's agent loop needs ([`Mode::Agent`]: a tool call, then
//! a final text), answers `count_tokens` and `/v1/models`, and keeps every request
//! it saw (headers and body) and the token counts of every message it answered, so a
//! test can prove what reached it and what the gateway should have metered.

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
    /// Claude Code's agent loop, for any model, streamed or not: a request that
    /// offers the `Bash` tool and whose last message holds no `tool_result` is
    /// answered with a `tool_use` of `Bash` running `command`; every other request
    /// (the one carrying the tool's result, a title, a quota check) with a final
    /// text, [`AGENT_FINAL_TEXT`].
    Agent {
        /// The shell command the model asks to run.
        command: String,
    },
}

/// The final text of [`Mode::Agent`].
pub const AGENT_FINAL_TEXT: &str = "The stand-in saw the tool run.";
/// The id of the tool call of [`Mode::Agent`].
pub const AGENT_TOOL_USE_ID: &str = "toolu_standin_01";

/// Token counts of answered messages, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Messages answered with 200.
    pub messages: u64,
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Cache-read input tokens.
    pub cache_read: u64,
    /// Cache-write input tokens.
    pub cache_write: u64,
}

impl Tally {
    fn add(&mut self, (input, output, cache_read, cache_write): (u64, u64, u64, u64)) {
        self.messages += 1;
        self.input += input;
        self.output += output;
        self.cache_read += cache_read;
        self.cache_write += cache_write;
    }
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
    answered: Arc<Mutex<Tally>>,
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
        let answered = Arc::new(Mutex::new(Tally::default()));
        let (thread_mode, thread_seen, thread_answered) =
            (mode.clone(), seen.clone(), answered.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (mode, seen, answered) = (
                    thread_mode.clone(),
                    thread_seen.clone(),
                    thread_answered.clone(),
                );
                std::thread::spawn(move || {
                    let _ = serve(stream, &mode, &seen, &answered);
                });
            }
        });
        AnthropicStandIn {
            port,
            mode,
            seen,
            answered,
        }
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

    /// Asserts that it got requests and every one carried `real_key` (as
    /// `x-api-key`, no `Authorization`) and no Mosaic key anywhere.
    #[track_caller]
    pub fn assert_saw_only_key(&self, real_key: &str) {
        let seen = self.seen();
        assert!(!seen.is_empty());
        for request in seen {
            assert_eq!(request.header("x-api-key"), Some(real_key), "{request:?}");
            assert_eq!(request.header("authorization"), None, "{request:?}");
            let everything = format!("{:?}{}", request.headers, request.body);
            assert!(!everything.contains("mosaic_sk_"), "{request:?}");
        }
    }

    /// The token counts of every message answered with 200 so far (complete
    /// answers only; `count_tokens` and models are not messages).
    pub fn answered(&self) -> Tally {
        *self.answered.lock().unwrap()
    }
}

fn serve(
    stream: TcpStream,
    mode: &Mutex<Mode>,
    seen: &Mutex<Vec<Seen>>,
    answered: &Mutex<Tally>,
) -> std::io::Result<()> {
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
        if !answer(&mut writer, &request, &mode, answered)? {
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
fn answer(
    writer: &mut TcpStream,
    request: &Seen,
    mode: &Mode,
    answered: &Mutex<Tally>,
) -> std::io::Result<bool> {
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
    if let Mode::Agent { command } = mode {
        let counts = agent_answer(writer, request, command, streaming)?;
        answered.lock().unwrap().add(counts);
        return Ok(true);
    }
    if request.method == "POST" && !matches!(mode, Mode::Error { .. } | Mode::CutStream) {
        let (input, output, cache_read, cache_write) = USAGE;
        let output = if streaming {
            STREAM_OUTPUT_TOKENS
        } else {
            output
        };
        answered
            .lock()
            .unwrap()
            .add((input, output, cache_read, cache_write));
    }
    match mode {
        Mode::Error { status, body } => {
            write_whole(writer, *status, body)?;
            Ok(true)
        }
        Mode::Agent { .. } => unreachable!("answered above"),
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

/// Whether `body` (a Messages request) offers the `Bash` tool and its last message
/// holds no `tool_result`: the moment [`Mode::Agent`] asks for the tool.
fn wants_tool_call(body: &Value) -> bool {
    let offers_bash = body["tools"]
        .as_array()
        .is_some_and(|tools| tools.iter().any(|tool| tool["name"] == "Bash"));
    let last = body["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .cloned()
        .unwrap_or(Value::Null);
    let answers_a_tool = last["content"]
        .as_array()
        .is_some_and(|blocks| blocks.iter().any(|block| block["type"] == "tool_result"));
    offers_bash && !answers_a_tool
}

/// Answers a Messages request of [`Mode::Agent`] (whole or streamed, echoing the
/// request's model); returns the token counts it reported.
fn agent_answer(
    writer: &mut TcpStream,
    request: &Seen,
    command: &str,
    streaming: bool,
) -> std::io::Result<(u64, u64, u64, u64)> {
    let body = serde_json::from_str::<Value>(&request.body).unwrap_or(Value::Null);
    let model = body["model"]
        .as_str()
        .unwrap_or("claude-sonnet-4-5")
        .to_string();
    let (input, output, cache_read, cache_write) = USAGE;
    let tool_input = json!({"command": command, "description": "Write the proof file"});
    let (block, stop_reason) = if wants_tool_call(&body) {
        (
            json!({"type": "tool_use", "id": AGENT_TOOL_USE_ID, "name": "Bash",
                "input": tool_input}),
            "tool_use",
        )
    } else {
        (
            json!({"type": "text", "text": AGENT_FINAL_TEXT}),
            "end_turn",
        )
    };
    if !streaming {
        let answer = json!({"id": "msg_standin_agent", "type": "message", "role": "assistant",
            "model": model, "content": [block], "stop_reason": stop_reason,
            "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": output,
                "cache_read_input_tokens": cache_read,
                "cache_creation_input_tokens": cache_write}});
        write_whole(writer, 200, &answer.to_string())?;
        return Ok(USAGE);
    }
    let (start_block, delta) = if block["type"] == "tool_use" {
        (
            json!({"type": "tool_use", "id": AGENT_TOOL_USE_ID, "name": "Bash", "input": {}}),
            json!({"type": "input_json_delta", "partial_json": tool_input.to_string()}),
        )
    } else {
        (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": AGENT_FINAL_TEXT}),
        )
    };
    let events = [
        event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_standin_agent",
                "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input, "output_tokens": 1,
                    "cache_read_input_tokens": cache_read,
                    "cache_creation_input_tokens": cache_write}}}),
        ),
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": start_block}),
        ),
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        event(
            "message_delta",
            json!({"type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                "usage": {"output_tokens": STREAM_OUTPUT_TOKENS}}),
        ),
        event("message_stop", json!({"type": "message_stop"})),
    ];
    write!(
        writer,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_standin\r\n\
         transfer-encoding: chunked\r\n\r\n"
    )?;
    for event in &events {
        write_chunk(writer, event)?;
    }
    write!(writer, "0\r\n\r\n")?;
    writer.flush()?;
    Ok((input, STREAM_OUTPUT_TOKENS, cache_read, cache_write))
}
