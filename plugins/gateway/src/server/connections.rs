//! Accepting and serving TCP connections, with the limits that keep slow or idle
//! clients from holding the daemon: a header-read timeout (which is also the
//! keep-alive idle timeout), a cap on open connections, and a bound on the size of
//! a request head. Graceful shutdown lives here too.
//!
//! `axum::serve` sets none of these (it gives hyper no timer, so hyper's own
//! header-read timeout never runs), so each connection is served with hyper's
//! HTTP/1 builder directly. Not here: what a request means (the router, in the
//! parent module) and the request timeout (a router layer).
//!
//! Beyond [`MAX_CONNECTIONS`] open connections, a new one is answered at once with
//! 503 and closed, instead of waiting in the kernel's queue: a client learns
//! immediately that the gateway is saturated, and the daemon never holds more
//! sockets than the cap.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt as _;

/// How long a client may take to send a request's line and headers. The same
/// bound closes a keep-alive connection that sends no next request (hyper starts
/// this timer as soon as a connection is waiting for a request head).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are answered 503 and closed.
///
/// Sized for the Anthropic proxy (issue 11): a fleet keeps one streamed
/// `/v1/messages` open per running agent for as long as the model writes, and the
/// gateway must carry 2,000 such streams at once with room to spare. An open
/// connection costs a few KiB (a task, hyper's buffers, a socket), so 4,096 is
/// about 20–40 MB at worst; slow or idle clients are still cut off by
/// [`HEADER_READ_TIMEOUT`], so the cap bounds memory and file descriptors, not
/// abuse alone. Each proxied stream also holds an upstream socket: the daemon
/// raises its file-descriptor limit at start-up to fit (see `daemon.rs`).
pub const MAX_CONNECTIONS: usize = 4096;
/// The largest request head (request line and headers); larger ones get 431.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// How long in-flight requests may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The limits a server applies to its connections. The daemon always uses
/// [`ConnectionLimits::default`] (the constants above); in-process tests pass
/// shorter ones to run quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`MAX_HEAD_BYTES`] (at least 8192, hyper's smallest buffer).
    pub max_head_bytes: usize,
    /// See [`SHUTDOWN_GRACE`].
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            max_head_bytes: MAX_HEAD_BYTES,
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}

/// What a connection beyond the cap gets before it is closed: a 503 in the API's
/// error shape.
fn saturated_answer() -> String {
    let body = serde_json::json!({"error": {
        "code": "too_many_connections",
        "message": "the gateway has too many open connections; try again shortly",
    }})
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         connection: close\r\nretry-after: 1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then
/// lets open requests finish for up to `limits.shutdown_grace`.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let lingering = Arc::new(Semaphore::new(MAX_LINGERING));
    let (stopping, stop_signal) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refusing = false;
    loop {
        let (stream, client) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    pause_after_accept_error(&error).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if !refusing {
                tracing::warn!(
                    "{} connections are open, the most the gateway serves at once; refusing \
                     new ones with 503 until some close",
                    limits.max_connections
                );
                refusing = true;
            }
            refuse(stream, &lingering);
            continue;
        };
        if refusing {
            tracing::info!("accepting connections again");
            refusing = false;
        }
        tokio::spawn(serve_connection(
            stream,
            client,
            router.clone(),
            limits,
            stop_signal.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = stopping.send(true);
    // Every open connection holds a slot; all slots free means all are closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still open {} s after the shutdown signal; closing them",
            limits.shutdown_grace.as_secs()
        );
    }
    Ok(())
}

/// Accept errors are the client's (it reset the connection before we took it) or
/// the process's (out of file descriptors); for the latter, wait a little instead
/// of spinning.
async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind;
    let clients_fault = matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    );
    if !clients_fault {
        tracing::warn!("cannot accept a connection: {error}; retrying in 100 ms");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How long a refused connection is kept to let its 503 arrive (see [`refuse`]).
const REFUSAL_LINGER: Duration = Duration::from_millis(500);
/// Refused connections kept lingering at once; beyond, they are closed at once.
const MAX_LINGERING: usize = 64;

/// Answers 503 and closes the connection. A fresh socket's send buffer is empty,
/// so the one non-blocking write fits. Closing a socket whose request has not
/// been read makes the kernel send a reset, which can destroy the 503 before the
/// client reads it; so the refused connection first sends its end (FIN) and reads
/// and discards the request for a moment — a few of them at a time, so refusals
/// never cost more than a bounded number of sockets.
fn refuse(stream: TcpStream, lingering: &Arc<Semaphore>) {
    let _ = stream.try_write(saturated_answer().as_bytes());
    let Ok(permit) = lingering.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = stream;
        let _ = stream.shutdown().await;
        let mut discard = [0_u8; 4096];
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            while matches!(stream.read(&mut discard).await, Ok(read) if read > 0) {}
        })
        .await;
        drop(permit);
    });
}

/// Serves one connection until the client closes it, a limit closes it, or the
/// shutdown signal lets its current request finish.
async fn serve_connection(
    stream: TcpStream,
    client: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut stop_signal: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        // What `into_make_service_with_connect_info` would add: the login rate
        // limit counts attempts per client address.
        request.extensions_mut().insert(ConnectInfo(client));
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_head_bytes)
        .max_buf_size(limits.max_head_bytes.max(8192))
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let mut shutting_down = *stop_signal.borrow();
    if shutting_down {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    // Timeouts, resets and malformed requests: the client's doing.
                    tracing::debug!(client = %client, "connection closed: {error}");
                }
                return;
            }
            changed = stop_signal.changed(), if !shutting_down => {
                shutting_down = true;
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Short limits so each test takes a second or two; the daemon uses the
    /// defaults.
    fn quick_limits(max_connections: usize) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(1),
            max_connections,
            max_head_bytes: 8192,
            shutdown_grace: Duration::from_secs(1),
        }
    }

    /// Serves a router with `/health` on a free port; returns the address.
    async fn start(limits: ConnectionLimits) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new().route("/health", get(|| async { "ok" }));
        tokio::spawn(serve_router(
            listener,
            router,
            limits,
            std::future::pending(),
        ));
        address
    }

    async fn health(address: SocketAddr) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
            .await
            .expect("/health did not answer within 5 s")
            .unwrap();
        answer
    }

    /// Reads until the server closes the connection; how long that took.
    async fn wait_for_close(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        let mut buffer = [0u8; 1024];
        loop {
            match tokio::time::timeout(limit, stream.read(&mut buffer)).await {
                Err(_) => return None,
                Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
                Ok(Ok(_)) => {}
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn trickled_headers_are_cut_off_while_health_answers() {
        let address = start(quick_limits(64)).await;
        let mut slow = Vec::new();
        for _ in 0..20 {
            let mut stream = TcpStream::connect(address).await.unwrap();
            stream.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
            slow.push(stream);
        }
        // Keep trickling: a byte every 200 ms never completes the head in time.
        for _ in 0..3 {
            for stream in &mut slow {
                let _ = stream.write_all(b"X").await;
            }
            assert!(health(address).await.starts_with("HTTP/1.1 200"));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for stream in &mut slow {
            let closed = wait_for_close(stream, Duration::from_secs(5)).await;
            assert!(closed.is_some(), "a slow connection stayed open");
        }
        assert!(health(address).await.starts_with("HTTP/1.1 200"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idle_keep_alive_connection_is_closed() {
        let address = start(quick_limits(8)).await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buffer = [0u8; 1024];
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));
        let closed = wait_for_close(&mut stream, Duration::from_secs(5)).await;
        assert!(
            closed.is_some(),
            "an idle keep-alive connection stayed open"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_cap_connections_get_503_and_the_slots_come_back() {
        let address = start(quick_limits(4)).await;
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(TcpStream::connect(address).await.unwrap());
        }
        // The accept loop takes the four in its own time (slow on a loaded
        // machine); until it has, a fifth connection still finds a free slot.
        let deadline = Instant::now() + Duration::from_secs(10);
        let answer = loop {
            let answer = health(address).await;
            if answer.starts_with("HTTP/1.1 503") || Instant::now() >= deadline {
                break answer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("\"too_many_connections\""), "{answer}");
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if health(address).await.starts_with("HTTP/1.1 200") {
                break;
            }
            assert!(Instant::now() < deadline, "the slots never came back");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_oversized_head_gets_431() {
        let address = start(quick_limits(8)).await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = format!(
            "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(20_000)
        );
        let _ = stream.write_all(request.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        assert!(health(address).await.starts_with("HTTP/1.1 200"));
    }
}
