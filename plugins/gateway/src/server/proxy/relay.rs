//! Relaying answers: a stream (Server-Sent Events) frame by frame as it arrives,
//! read on the side for its usage; anything else whole. Each metered request ends
//! in exactly one usage record, whatever happens: a complete answer, an upstream
//! error, a stream cut or silent too long (the client gets an SSE `error` event),
//! or a client that went away (recorded with status [`CLIENT_CLOSED`]; dropping
//! the relay drops the upstream request, which cancels it).

use std::convert::Infallible;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::Sleep;

use super::errors::error_body;
use super::limits::Reservations;
use super::upstream::STREAM_IDLE_TIMEOUT;
use super::usage::{status_of_stream_error, Meter, SseUsage};
use crate::settings::prices::{ModelPrice, TokenCounts};
use crate::storage::keys::{ApiKey, UsageRecord};

/// The status recorded for a request whose client went away before the end
/// (nginx's convention; never sent to anyone).
pub const CLIENT_CLOSED: u16 = 499;

/// A request being metered: records itself once, at the latest when dropped.
pub struct PendingRecord {
    inner: Option<PendingInner>,
}

struct PendingInner {
    meter: Meter,
    started: Instant,
    at_ms: i64,
    key_id: i64,
    user_id: Option<i64>,
    agent: Option<String>,
    model: String,
    price: Option<ModelPrice>,
    counts: TokenCounts,
    reservations: Reservations,
}

impl PendingRecord {
    /// Starts metering a request of `key` for `model`, priced at `price`, that
    /// holds `reservations` on shared budgets (settled when it is recorded).
    pub fn start(
        meter: Meter,
        key: &ApiKey,
        model: String,
        price: Option<ModelPrice>,
        reservations: Reservations,
        started: Instant,
        at_ms: i64,
    ) -> PendingRecord {
        PendingRecord {
            inner: Some(PendingInner {
                meter,
                started,
                at_ms,
                key_id: key.id,
                user_id: key.user_id,
                agent: key.agent.clone(),
                model,
                price,
                counts: TokenCounts::default(),
                reservations,
            }),
        }
    }

    /// Remembers the counts seen so far (what a client that goes away is charged).
    pub fn observe(&mut self, counts: TokenCounts) {
        if let Some(inner) = &mut self.inner {
            inner.counts = counts;
        }
    }

    /// Records the request with `counts` and the `status` the client got.
    pub fn finish(mut self, counts: TokenCounts, status: u16) {
        self.observe(counts);
        self.record(status);
    }

    fn record(&mut self, status: u16) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let counts = inner.counts;
        let record = UsageRecord {
            at_ms: inner.at_ms,
            key_id: inner.key_id,
            user_id: inner.user_id,
            agent: inner.agent,
            model: inner.model,
            input_tokens: counts.input,
            output_tokens: counts.output,
            cache_read_tokens: counts.cache_read,
            cache_write_tokens: counts.cache_write,
            status,
            latency_ms: u32::try_from(inner.started.elapsed().as_millis()).unwrap_or(u32::MAX),
            cost_micros: inner.price.map_or(0, |price| price.cost_micros(&counts)),
        };
        tracing::debug!(
            key_id = record.key_id,
            model = %record.model,
            status,
            latency_ms = record.latency_ms,
            tokens = record.total_tokens(),
            "proxied"
        );
        inner
            .reservations
            .settle(record.total_tokens(), record.cost_micros);
        inner.meter.record(record);
    }
}

impl Drop for PendingRecord {
    fn drop(&mut self) {
        self.record(CLIENT_CLOSED);
    }
}

/// An SSE `error` event in Anthropic's shape.
pub fn error_event(kind: &str, message: &str) -> Bytes {
    Bytes::from(format!(
        "event: error\ndata: {}\n\n",
        error_body(kind, message)
    ))
}

/// The body of a streamed answer: the upstream's frames as they come, read on the
/// side for usage.
pub struct MeteredStream {
    upstream: Incoming,
    idle: Pin<Box<Sleep>>,
    usage: SseUsage,
    pending: Option<PendingRecord>,
    ended: bool,
    /// Ends the stream with a cut that the client is told about.
    status_if_cut: u16,
}

impl MeteredStream {
    /// Relays `upstream` (a `200 text/event-stream`), metering into `pending`.
    pub fn new(upstream: Incoming, pending: Option<PendingRecord>) -> Self {
        MeteredStream {
            upstream,
            idle: Box::pin(tokio::time::sleep(STREAM_IDLE_TIMEOUT)),
            usage: SseUsage::default(),
            pending,
            ended: false,
            status_if_cut: 502,
        }
    }

    fn finish(&mut self, status: u16) {
        self.ended = true;
        if let Some(pending) = self.pending.take() {
            pending.finish(self.usage.counts, status);
        }
    }

    /// Ends the stream with an SSE `error` event telling the client why.
    fn cut(
        &mut self,
        status: u16,
        kind: &str,
        message: &str,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.finish(status);
        Poll::Ready(Some(Ok(Frame::data(error_event(kind, message)))))
    }
}

impl Body for MeteredStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.upstream).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.usage.feed(data);
                    if let Some(pending) = &mut this.pending {
                        pending.observe(this.usage.counts);
                    }
                }
                let deadline = tokio::time::Instant::now() + STREAM_IDLE_TIMEOUT;
                this.idle.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                tracing::warn!("the stream from the Anthropic API broke: {error}");
                let status = this.status_if_cut;
                this.cut(
                    status,
                    "api_error",
                    &format!("the stream from the Anthropic API was cut: {error}"),
                )
            }
            Poll::Ready(None) => {
                if this.usage.complete {
                    this.finish(200);
                    return Poll::Ready(None);
                }
                if let Some(kind) = this.usage.error.clone() {
                    this.finish(status_of_stream_error(&kind));
                    return Poll::Ready(None);
                }
                tracing::warn!("the stream from the Anthropic API ended before message_stop");
                let status = this.status_if_cut;
                this.cut(
                    status,
                    "api_error",
                    "the stream from the Anthropic API ended before the message was complete",
                )
            }
            Poll::Pending => {
                if this.idle.as_mut().poll(cx).is_ready() {
                    tracing::warn!(
                        "the stream from the Anthropic API was silent for {} s; ending it",
                        STREAM_IDLE_TIMEOUT.as_secs()
                    );
                    return this.cut(
                        504,
                        "timeout_error",
                        &format!(
                            "the Anthropic API sent nothing for {} s; the stream was ended",
                            STREAM_IDLE_TIMEOUT.as_secs()
                        ),
                    );
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Reads a whole (non-streamed) upstream body.
pub async fn read_whole(body: Incoming) -> Result<Bytes, hyper::Error> {
    Ok(body.collect().await?.to_bytes())
}
