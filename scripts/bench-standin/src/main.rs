//! For `scripts/bench.sh`, the gateway proxy section (issue 11): a fast stand-in of
//! the Anthropic Messages API and a small load generator to measure a proxy in front
//! of it against the stand-in itself.
//!
//! ```text
//! bench-standin serve   [--port 0] [--threads 1]
//! bench-standin rate    --url URL [--header 'name: value']... [--header-file FILE] --body JSON
//!                       [--rate 1000] [--seconds 10] [--warmup 2]
//! bench-standin ttfb    --url URL [--header ...]... --body JSON [--count 200] [--warmup 20]
//! bench-standin streams --url URL [--header ...]... --body JSON [--count 2000]
//!                       [--pid PID] [--connect-concurrency 64] [--timeout 120]
//! ```
//!
//! `serve` prints `listening PORT` once it accepts connections, then answers
//! `POST /v1/messages`: a message with a usage block as JSON, or, when the body has
//! `"stream": true`, an SSE stream of Anthropic's events (`message_start` at once,
//! then `standin_events` text deltas — default 8 — and the closing events, each
//! `standin_gap_ms` apart — default 0; both read from the request body, which a
//! proxy passes on unchanged). `GET /health` answers `ok`.
//!
//! The three measuring commands print one JSON object on stdout:
//!
//! - `rate`: open loop at a fixed rate (requests are started on schedule whatever
//!   the answers do, over a pool of keep-alive connections); the latency of each
//!   request from its start to the end of its body; p50/p90/p99/max in ms.
//! - `ttfb`: one streamed request after the other; the time from the start of a
//!   request to the first byte of its body; p50/p90/p99 in ms.
//! - `streams`: `count` streamed requests open at once, one connection each; how
//!   many were open together at the peak, how many ended with `message_stop`, and
//!   (with `--pid`) that process's resident memory before and with all of them open
//!   (VmRSS from `/proc/PID/status`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Channel, Either, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};

type Options = HashMap<String, Vec<String>>;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        eprintln!("usage: bench-standin serve|rate|ttfb|streams [--option value]...");
        return ExitCode::from(2);
    };
    let options = match parse_options(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench-standin: {message}");
            return ExitCode::from(2);
        }
    };
    raise_open_files_limit();
    let result = match command.as_str() {
        "serve" => run_serve(&options),
        "rate" | "ttfb" | "streams" => run_client(&command, &options),
        other => Err(format!(
            "unknown command `{other}`: expected serve, rate, ttfb or streams"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench-standin {command}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `--name value` pairs; a name may repeat (`--header`).
fn parse_options(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let Some(name) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument `{arg}`"));
        };
        let value = args
            .next()
            .ok_or_else(|| format!("--{name} needs a value"))?;
        options.entry(name.to_string()).or_default().push(value);
    }
    Ok(options)
}

fn option<T: std::str::FromStr>(options: &Options, name: &str, default: T) -> Result<T, String> {
    match options.get(name).and_then(|values| values.last()) {
        None => Ok(default),
        Some(value) => value
            .parse()
            .map_err(|_| format!("--{name} `{value}` is not a valid value")),
    }
}

fn required<'a>(options: &'a Options, name: &str) -> Result<&'a str, String> {
    options
        .get(name)
        .and_then(|values| values.last())
        .map(String::as_str)
        .ok_or_else(|| format!("--{name} is required"))
}

/// Thousands of sockets need more than the common soft limit of 1,024 files.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

// ---------------------------------------------------------------------------
// The stand-in
// ---------------------------------------------------------------------------

/// Token counts of every answer.
const INPUT_TOKENS: u64 = 11;
const OUTPUT_TOKENS: u64 = 22;

type StandInBody = Either<Full<Bytes>, Channel<Bytes, Infallible>>;

fn run_serve(options: &Options) -> Result<(), String> {
    let port: u16 = option(options, "port", 0)?;
    let threads: usize = option(options, "threads", 1)?;
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(|error| format!("cannot start the runtime: {error}"))?;
    runtime.block_on(serve(port))
}

async fn serve(port: u16) -> Result<(), String> {
    let socket = tokio::net::TcpSocket::new_v4()
        .map_err(|error| format!("cannot open a socket: {error}"))?;
    socket
        .set_reuseaddr(true)
        .map_err(|error| format!("cannot set SO_REUSEADDR: {error}"))?;
    socket
        .bind(([127, 0, 0, 1], port).into())
        .map_err(|error| format!("cannot bind 127.0.0.1:{port}: {error}"))?;
    // A deep queue: thousands of streams connect within a second or two.
    let listener = socket
        .listen(4096)
        .map_err(|error| format!("cannot listen: {error}"))?;
    let bound = listener
        .local_addr()
        .map_err(|error| format!("no local address: {error}"))?;
    println!("listening {}", bound.port());
    let _ = std::io::stdout().flush();
    let message = Bytes::from(message_json().to_string());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(pair) => pair,
            Err(error) => {
                eprintln!("bench-standin serve: accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let message = message.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let message = message.clone();
                async move { Ok::<_, Infallible>(answer(request, message).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn message_json() -> Value {
    json!({
        "id": "msg_bench_standin",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hello from the stand-in."}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {
            "input_tokens": INPUT_TOKENS,
            "output_tokens": OUTPUT_TOKENS,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0
        }
    })
}

fn plain(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<StandInBody> {
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

async fn answer(request: Request<Incoming>, message: Bytes) -> Response<StandInBody> {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    if method == Method::GET && path == "/health" {
        return plain(StatusCode::OK, "text/plain", Bytes::from_static(b"ok"));
    }
    if method != Method::POST || path != "/v1/messages" {
        return plain(
            StatusCode::NOT_FOUND,
            "application/json",
            Bytes::from_static(
                br#"{"type":"error","error":{"type":"not_found_error","message":"not found"}}"#,
            ),
        );
    }
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(StatusCode::BAD_REQUEST, "text/plain", Bytes::new()),
    };
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "application/json",
            Bytes::from_static(
                br#"{"type":"error","error":{"type":"invalid_request_error","message":"body is not JSON"}}"#,
            ),
        );
    };
    if parsed["stream"] != Value::Bool(true) {
        return plain(StatusCode::OK, "application/json", message);
    }
    let deltas = parsed["standin_events"].as_u64().unwrap_or(8);
    let gap = Duration::from_millis(parsed["standin_gap_ms"].as_u64().unwrap_or(0));
    let (mut sender, channel) = Channel::<Bytes, Infallible>::new(4);
    tokio::spawn(async move {
        let mut events = Vec::new();
        events.push(sse(
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": "msg_bench_standin", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5", "content": [], "stop_reason": null,
                "stop_sequence": null,
                "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1,
                    "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}}}),
        ));
        events.push(sse(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
        ));
        for _ in 0..deltas {
            events.push(sse(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": "word "}}),
            ));
        }
        events.push(sse(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": 0}),
        ));
        events.push(sse(
            "message_delta",
            &json!({"type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": OUTPUT_TOKENS}}),
        ));
        events.push(sse("message_stop", &json!({"type": "message_stop"})));
        for (index, event) in events.into_iter().enumerate() {
            if index > 0 && !gap.is_zero() {
                tokio::time::sleep(gap).await;
            }
            if sender.send_data(event).await.is_err() {
                return;
            }
        }
    });
    let mut response = Response::new(Either::Right(channel));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response
}

fn sse(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

// ---------------------------------------------------------------------------
// The load generator
// ---------------------------------------------------------------------------

/// The request every measuring command sends.
#[derive(Clone)]
struct Target {
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Target {
    fn from_options(options: &Options) -> Result<Target, String> {
        let url = required(options, "url")?;
        let uri: Uri = url
            .parse()
            .map_err(|error| format!("--url `{url}`: {error}"))?;
        let mut headers = vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
        // --header-file: one `name: value` a line, for headers that hold a key
        // (kept out of the command line).
        let mut lines = Vec::new();
        for path in options.get("header-file").into_iter().flatten() {
            let text = std::fs::read_to_string(path)
                .map_err(|error| format!("--header-file {path}: {error}"))?;
            lines.extend(
                text.lines()
                    .filter(|line| !line.trim().is_empty())
                    .map(str::to_string),
            );
        }
        for header in options.get("header").into_iter().flatten().chain(&lines) {
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| format!("--header `{header}` is not `name: value`"))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|error| format!("--header name `{name}`: {error}"))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|error| format!("--header value of `{name}`: {error}"))?;
            headers.push((name, value));
        }
        let body = Bytes::from(required(options, "body")?.to_string());
        Ok(Target { uri, headers, body })
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        request
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(5))
        .build(connector)
}

fn run_client(command: &str, options: &Options) -> Result<(), String> {
    let target = Target::from_options(options)?;
    // One thread: the generator shares the machine with what it measures.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    let report = runtime.block_on(async {
        match command {
            "rate" => {
                rate(
                    &target,
                    option(options, "rate", 1000.0)?,
                    option(options, "seconds", 10.0)?,
                    option(options, "warmup", 2.0)?,
                )
                .await
            }
            "ttfb" => {
                ttfb(
                    &target,
                    option(options, "count", 200)?,
                    option(options, "warmup", 20)?,
                )
                .await
            }
            _ => {
                streams(
                    &target,
                    option(options, "count", 2000)?,
                    option(options, "pid", 0)?,
                    option(options, "connect-concurrency", 64)?,
                    Duration::from_secs(option(options, "timeout", 120)?),
                )
                .await
            }
        }
    })?;
    println!("{report}");
    Ok(())
}

/// Milliseconds with microsecond precision, for the JSON reports.
fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// The `q` quantile (0..=1) of sorted samples (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn summary(mut samples: Vec<Duration>) -> Value {
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    let mean = if samples.is_empty() {
        Duration::ZERO
    } else {
        total / samples.len() as u32
    };
    json!({
        "p50_ms": ms(quantile(&samples, 0.50)),
        "p90_ms": ms(quantile(&samples, 0.90)),
        "p99_ms": ms(quantile(&samples, 0.99)),
        "max_ms": ms(quantile(&samples, 1.0)),
        "mean_ms": ms(mean),
    })
}

/// Sends the target's request; the answer's head (the body still to read).
async fn send(client: &HttpClient, target: &Target) -> Result<Response<Incoming>, String> {
    client
        .request(target.request())
        .await
        .map_err(|error| format!("request failed: {error}"))
}

/// `HTTP STATUS: ` and the body's first 300 bytes: why a request failed.
fn http_failure(status: StatusCode, body: &[u8]) -> String {
    format!(
        "HTTP {status}: {}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    )
}

/// One whole request: its latency, or why it failed.
async fn one_request(client: &HttpClient, target: &Target) -> Result<Duration, String> {
    let started = Instant::now();
    let response = send(client, target).await?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|error| format!("body cut: {error}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(http_failure(status, &body));
    }
    Ok(started.elapsed())
}

/// Open loop: `rate` requests a second for `seconds`, whatever the answers do.
async fn rate(target: &Target, rate: f64, seconds: f64, warmup: f64) -> Result<Value, String> {
    if rate <= 0.0 || seconds <= 0.0 {
        return Err("--rate and --seconds must be positive".into());
    }
    let client = client();
    if warmup > 0.0 {
        open_loop(&client, target, rate, warmup).await;
    }
    let (samples, errors, elapsed, lag) = open_loop(&client, target, rate, seconds).await;
    let mut report = summary(samples.clone());
    report["requests"] = json!(samples.len() + errors.len());
    report["errors"] = json!(errors.len());
    report["first_error"] = json!(errors.first());
    report["target_rate"] = json!(rate);
    report["achieved_rate"] = json!(((samples.len() + errors.len()) as f64 / elapsed).round());
    report["max_schedule_lag_ms"] = json!(ms(lag));
    Ok(report)
}

/// Starts requests on schedule for `seconds`; the latencies, the errors, the time
/// the run took, and how late the schedule ran at worst.
async fn open_loop(
    client: &HttpClient,
    target: &Target,
    rate: f64,
    seconds: f64,
) -> (Vec<Duration>, Vec<String>, f64, Duration) {
    let total = (rate * seconds).round() as u64;
    let (results, mut received) = mpsc::unbounded_channel();
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0_u64;
    let mut worst_lag = Duration::ZERO;
    while sent < total {
        ticks.tick().await;
        let elapsed = started.elapsed();
        let due = ((elapsed.as_secs_f64() * rate) as u64 + 1).min(total);
        if due > sent + 1 {
            // Requests that should have started a while ago: the generator is late.
            let scheduled = Duration::from_secs_f64((sent + 1) as f64 / rate);
            worst_lag = worst_lag.max(elapsed.saturating_sub(scheduled));
        }
        while sent < due {
            let client = client.clone();
            let target = target.clone();
            let results = results.clone();
            tokio::spawn(async move {
                let _ = results.send(one_request(&client, &target).await);
            });
            sent += 1;
        }
    }
    drop(results);
    let mut samples = Vec::with_capacity(total as usize);
    let mut errors = Vec::new();
    while let Some(result) = received.recv().await {
        match result {
            Ok(latency) => samples.push(latency),
            Err(error) => errors.push(error),
        }
    }
    (samples, errors, started.elapsed().as_secs_f64(), worst_lag)
}

/// A streamed request: the time to the first byte of its body, whether it ended
/// with `message_stop`. `opened` runs once the first byte is in.
async fn one_stream(
    client: &HttpClient,
    target: &Target,
    opened: impl FnOnce(),
) -> Result<Duration, String> {
    let started = Instant::now();
    let response = send(client, target).await?;
    let status = response.status();
    let mut body = response.into_body();
    let mut seen = Vec::new();
    let mut first_byte = None;
    let mut opened = Some(opened);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| format!("stream cut: {error}"))?;
        if let Ok(data) = frame.into_data() {
            if data.is_empty() {
                continue;
            }
            if first_byte.is_none() {
                first_byte = Some(started.elapsed());
                if let Some(opened) = opened.take() {
                    opened();
                }
            }
            // Keep only the tail: enough to find the last event.
            seen.extend_from_slice(&data);
            if seen.len() > 4096 {
                seen.drain(..seen.len() - 1024);
            }
        }
    }
    if !status.is_success() {
        return Err(http_failure(status, &seen));
    }
    let tail = String::from_utf8_lossy(&seen);
    if !tail.contains("event: message_stop") {
        return Err("the stream ended without message_stop".into());
    }
    first_byte.ok_or_else(|| "an empty stream".to_string())
}

/// `count` streamed requests one after the other: time to first byte.
async fn ttfb(target: &Target, count: usize, warmup: usize) -> Result<Value, String> {
    let client = client();
    for _ in 0..warmup {
        one_stream(&client, target, || {}).await?;
    }
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        samples.push(one_stream(&client, target, || {}).await?);
    }
    let mut report = summary(samples);
    report["streams"] = json!(count);
    Ok(report)
}

/// Resident memory of `pid` in KiB (0 without a pid).
fn rss_kib(pid: u32) -> u64 {
    if pid == 0 {
        return 0;
    }
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `count` streams open at once, each on its own connection.
async fn streams(
    target: &Target,
    count: usize,
    pid: u32,
    connect_concurrency: usize,
    timeout: Duration,
) -> Result<Value, String> {
    // A pool that keeps no idle connection: every stream opens its own.
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(connector);
    let rss_before = rss_kib(pid);
    let started = Instant::now();
    let open_now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let first_opened = Arc::new(AtomicUsize::new(0));
    // Connecting is paced (a burst of thousands of SYNs overflows listen queues);
    // a stream gives its slot back once its first byte is in.
    let connecting = Arc::new(Semaphore::new(connect_concurrency.max(1)));
    let (results, mut received) = mpsc::unbounded_channel();
    for _ in 0..count {
        let client = client.clone();
        let target = target.clone();
        let results = results.clone();
        let (open_now, peak, first_opened) = (open_now.clone(), peak.clone(), first_opened.clone());
        let connecting = connecting.clone();
        tokio::spawn(async move {
            let slot = connecting.acquire_owned().await.expect("never closed");
            let mut slot = Some(slot);
            let mut counted = false;
            let result = one_stream(&client, &target, || {
                drop(slot.take());
                let now = open_now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                first_opened.fetch_add(1, Ordering::SeqCst);
                counted = true;
            })
            .await;
            if counted {
                open_now.fetch_sub(1, Ordering::SeqCst);
            }
            drop(slot);
            let _ = results.send(result);
        });
    }
    drop(results);
    // Sample the memory while the streams are open; note it when all are.
    let mut rss_all_open = 0;
    let mut rss_peak = rss_before;
    let mut all_open_after = None;
    let mut done = Vec::with_capacity(count);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut sampling = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            result = received.recv() => match result {
                Some(result) => done.push(result),
                None => break,
            },
            _ = sampling.tick() => {
                let rss = rss_kib(pid);
                rss_peak = rss_peak.max(rss);
                if all_open_after.is_none() && open_now.load(Ordering::SeqCst) == count {
                    all_open_after = Some(started.elapsed());
                    rss_all_open = rss;
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                return Err(format!(
                    "{} of {count} streams still running after {} s",
                    count - done.len(),
                    timeout.as_secs()
                ));
            }
        }
    }
    let failures: Vec<&String> = done
        .iter()
        .filter_map(|result| result.as_ref().err())
        .collect();
    let ttfb: Vec<Duration> = done
        .iter()
        .filter_map(|result| result.as_ref().ok().copied())
        .collect();
    Ok(json!({
        "streams": count,
        "completed": ttfb.len(),
        "failed": failures.len(),
        "first_failure": failures.first(),
        "peak_open": peak.load(Ordering::SeqCst),
        "all_open_after_s": all_open_after.map(|elapsed| elapsed.as_secs_f64()),
        "seconds": started.elapsed().as_secs_f64(),
        "rss_before_kib": rss_before,
        "rss_all_open_kib": rss_all_open,
        "rss_peak_kib": rss_peak,
        "ttfb": summary(ttfb),
    }))
}
