//! Metering: the token counts of an answer (its `usage` block, or a stream's
//! `message_start` and `message_delta` events), and the [`Meter`] that hands each
//! request's [`UsageRecord`] to a writer task off the hot path.
//!
//! The writer stores what arrived every [`FLUSH_INTERVAL`] in one batch. Records
//! sent but not yet stored stay in an in-memory ledger, so budgets and tpm limits
//! count them too ([`Meter::pending_since`]). [`MeterWriter::finish`] stores every
//! record left (the daemon calls it after the server stops).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use crate::settings::prices::TokenCounts;
use crate::storage::keys::{Spent, UsageRecord, UsageStore};

/// How often the writer stores what arrived.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// Records waiting for the writer at most; beyond, senders wait for room.
pub const CHANNEL_CAPACITY: usize = 65_536;
/// Records kept for a retry while the store fails; beyond, the oldest are dropped
/// (and counted in the log).
const MAX_UNSTORED: usize = 1_000_000;

/// A `usage` block of the Messages API.
#[derive(Debug, Default, Deserialize)]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl Usage {
    /// Sets the counts this block has (a later event overrides an earlier one).
    fn apply_to(&self, counts: &mut TokenCounts) {
        if let Some(tokens) = self.input_tokens {
            counts.input = tokens;
        }
        if let Some(tokens) = self.output_tokens {
            counts.output = tokens;
        }
        if let Some(tokens) = self.cache_creation_input_tokens {
            counts.cache_write = tokens;
        }
        if let Some(tokens) = self.cache_read_input_tokens {
            counts.cache_read = tokens;
        }
    }
}

#[derive(Deserialize)]
struct MessageBody {
    #[serde(default)]
    usage: Option<Usage>,
}

/// The token counts in a non-streamed answer's body (zero when it has none).
pub fn counts_of_message(body: &[u8]) -> TokenCounts {
    let mut counts = TokenCounts::default();
    if let Ok(MessageBody { usage: Some(usage) }) = serde_json::from_slice(body) {
        usage.apply_to(&mut counts);
    }
    counts
}

#[derive(Deserialize)]
struct StreamEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<MessageBody>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<StreamError>,
}

#[derive(Deserialize)]
struct StreamError {
    #[serde(rename = "type", default)]
    kind: String,
}

/// The longest line kept while parsing a stream; longer ones (a huge text delta)
/// are skipped, they never hold usage.
const MAX_LINE: usize = 1 << 20;

/// Reads a Server-Sent Events stream on the side, as it is relayed, for its usage:
/// `message_start` (input and cache tokens), `message_delta` (output tokens),
/// `message_stop` (the answer is complete) and `error` events.
#[derive(Debug, Default)]
pub struct SseUsage {
    line: Vec<u8>,
    skipping_line: bool,
    /// The event named by the last `event:` line.
    event: String,
    /// The counts so far.
    pub counts: TokenCounts,
    /// Whether `message_stop` arrived.
    pub complete: bool,
    /// The type of an `error` event, if one arrived.
    pub error: Option<String>,
}

impl SseUsage {
    /// Feeds the next bytes of the stream.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|byte| *byte == b'\n') {
            if !self.skipping_line {
                self.line.extend_from_slice(&bytes[..end]);
                let line = std::mem::take(&mut self.line);
                self.on_line(&line);
                self.line = line;
            }
            self.line.clear();
            self.skipping_line = false;
            bytes = &bytes[end + 1..];
        }
        if !self.skipping_line {
            if self.line.len() + bytes.len() > MAX_LINE {
                self.line.clear();
                self.skipping_line = true;
            } else {
                self.line.extend_from_slice(bytes);
            }
        }
    }

    fn on_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(name) = line.strip_prefix(b"event:") {
            self.event = String::from_utf8_lossy(name).trim().to_string();
            return;
        }
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let interesting = matches!(
            self.event.as_str(),
            "message_start" | "message_delta" | "message_stop" | "error" | ""
        );
        if !interesting {
            return;
        }
        let Ok(event) = serde_json::from_slice::<StreamEvent>(data) else {
            return;
        };
        match event.kind.as_str() {
            "message_start" => {
                if let Some(usage) = event.message.and_then(|message| message.usage) {
                    usage.apply_to(&mut self.counts);
                }
            }
            "message_delta" => {
                if let Some(usage) = event.usage {
                    usage.apply_to(&mut self.counts);
                }
            }
            "message_stop" => self.complete = true,
            "error" => {
                self.error = Some(event.error.map(|error| error.kind).unwrap_or_default());
            }
            _ => {}
        }
    }
}

/// The HTTP status an in-stream `error` event of this type stands for.
pub fn status_of_stream_error(kind: &str) -> u16 {
    match kind {
        "overloaded_error" => super::errors::OVERLOADED,
        "rate_limit_error" => 429,
        "invalid_request_error" => 400,
        "timeout_error" => 504,
        _ => 500,
    }
}

/// One record with its place in the ledger.
struct Sent {
    sequence: u64,
    record: UsageRecord,
}

enum Message {
    Record(Sent),
    /// Store everything left, answer, stop.
    Finish(oneshot::Sender<()>),
}

/// A record in the ledger: counted by budgets until the writer stored it.
#[derive(Debug, Clone, Copy)]
struct Pending {
    sequence: u64,
    at_ms: i64,
    tokens: u64,
    cost_micros: i64,
}

#[derive(Default)]
struct Ledger {
    next_sequence: u64,
    by_key: HashMap<i64, Vec<Pending>>,
}

/// Hands usage records to the writer; cheap to clone.
#[derive(Clone)]
pub struct Meter {
    sender: mpsc::Sender<Message>,
    ledger: Arc<Mutex<Ledger>>,
}

/// The writer task's handle, to flush it at shutdown.
pub struct MeterWriter {
    sender: mpsc::Sender<Message>,
    task: tokio::task::JoinHandle<()>,
}

impl Meter {
    /// Starts the writer task (on the current runtime) storing into `store`.
    pub fn start(store: Arc<dyn UsageStore>) -> (Meter, MeterWriter) {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let task = tokio::spawn(write_batches(receiver, store, ledger.clone()));
        (
            Meter {
                sender: sender.clone(),
                ledger,
            },
            MeterWriter { sender, task },
        )
    }

    /// Records one request: into the ledger at once, to the writer without waiting
    /// (when the channel is full, a task waits for room).
    pub fn record(&self, record: UsageRecord) {
        let sequence = {
            let mut ledger = self
                .ledger
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            ledger.next_sequence += 1;
            let sequence = ledger.next_sequence;
            ledger
                .by_key
                .entry(record.key_id)
                .or_default()
                .push(Pending {
                    sequence,
                    at_ms: record.at_ms,
                    tokens: record.total_tokens(),
                    cost_micros: record.cost_micros,
                });
            sequence
        };
        let message = Message::Record(Sent { sequence, record });
        match self.sender.try_send(message) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(message)) => {
                let sender = self.sender.clone();
                tokio::spawn(async move {
                    if sender.send(message).await.is_err() {
                        tracing::error!("usage writer stopped: a usage record was lost");
                    }
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("usage writer stopped: a usage record was lost");
            }
        }
    }

    /// What `key_id` used from `since_ms` on in records not stored yet.
    pub fn pending_since(&self, key_id: i64, since_ms: i64) -> Spent {
        let ledger = self
            .ledger
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let mut spent = Spent::default();
        for pending in ledger.by_key.get(&key_id).into_iter().flatten() {
            if pending.at_ms >= since_ms {
                spent.tokens += pending.tokens;
                spent.cost_micros += pending.cost_micros;
            }
        }
        spent
    }
}

impl MeterWriter {
    /// Stores every record sent so far and stops the writer.
    pub async fn finish(self) {
        let (done, finished) = oneshot::channel();
        if self.sender.send(Message::Finish(done)).await.is_ok() {
            let _ = finished.await;
        }
        let _ = self.task.await;
    }
}

async fn write_batches(
    mut receiver: mpsc::Receiver<Message>,
    store: Arc<dyn UsageStore>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut unstored: Vec<Sent> = Vec::new();
    let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let finish = tokio::select! {
            _ = ticker.tick() => None,
            message = receiver.recv() => match message {
                Some(Message::Record(sent)) => {
                    unstored.push(sent);
                    continue;
                }
                Some(Message::Finish(done)) => Some(Some(done)),
                None => Some(None),
            },
        };
        // Take everything already queued into this batch.
        let mut finish = finish;
        while finish.is_none() {
            match receiver.try_recv() {
                Ok(Message::Record(sent)) => unstored.push(sent),
                Ok(Message::Finish(done)) => finish = Some(Some(done)),
                Err(_) => break,
            }
        }
        if !unstored.is_empty() {
            store_batch(&*store, &ledger, &mut unstored).await;
        }
        if let Some(done) = finish {
            if !unstored.is_empty() {
                // One last try: the store failed on the first.
                store_batch(&*store, &ledger, &mut unstored).await;
                if !unstored.is_empty() {
                    tracing::error!(
                        "{} usage records could not be stored before the gateway stopped",
                        unstored.len()
                    );
                }
            }
            if let Some(done) = done {
                let _ = done.send(());
            }
            return;
        }
    }
}

/// Stores `unstored` in one batch; on success empties it and removes its records
/// from the ledger, on failure keeps them for the next tick.
async fn store_batch(store: &dyn UsageStore, ledger: &Mutex<Ledger>, unstored: &mut Vec<Sent>) {
    let records: Vec<UsageRecord> = unstored.iter().map(|sent| sent.record.clone()).collect();
    match store.record(&records).await {
        Ok(()) => {
            let stored: HashSet<u64> = unstored.iter().map(|sent| sent.sequence).collect();
            let mut ledger = ledger.lock().unwrap_or_else(|poison| poison.into_inner());
            ledger.by_key.retain(|_, pending| {
                pending.retain(|entry| !stored.contains(&entry.sequence));
                !pending.is_empty()
            });
            unstored.clear();
        }
        Err(error) => {
            tracing::warn!(
                "cannot store {} usage records yet ({error}); retrying",
                unstored.len()
            );
            if unstored.len() > MAX_UNSTORED {
                let dropped = unstored.len() - MAX_UNSTORED;
                unstored.drain(..dropped);
                tracing::error!("dropped {dropped} usage records the store would not take");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::keys::{UsageQuery, UsageRow};
    use crate::storage::StoreError;
    use async_trait::async_trait;

    #[test]
    fn a_message_body_gives_its_usage() {
        let body = br#"{"id":"m","usage":{"input_tokens":12,"output_tokens":34,
            "cache_creation_input_tokens":5,"cache_read_input_tokens":6}}"#;
        assert_eq!(
            counts_of_message(body),
            TokenCounts {
                input: 12,
                output: 34,
                cache_write: 5,
                cache_read: 6
            }
        );
        assert_eq!(counts_of_message(b"not json"), TokenCounts::default());
    }

    #[test]
    fn a_stream_gives_its_usage_whatever_the_chunking() {
        let stream = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":\
            {\"usage\":{\"input_tokens\":25,\"output_tokens\":1,\"cache_read_input_tokens\":7}}}\r\n\r\n\
            event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"hi\"}}\n\n\
            event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n\
            event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        for chunk in [1, 3, 7, 64, stream.len()] {
            let mut usage = SseUsage::default();
            for piece in stream.as_bytes().chunks(chunk) {
                usage.feed(piece);
            }
            assert_eq!(usage.counts.input, 25, "chunk {chunk}");
            assert_eq!(usage.counts.output, 15);
            assert_eq!(usage.counts.cache_read, 7);
            assert!(usage.complete);
            assert_eq!(usage.error, None);
        }
        let mut failed = SseUsage::default();
        failed.feed(b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"x\"}}\n\n");
        assert_eq!(failed.error.as_deref(), Some("overloaded_error"));
        assert_eq!(status_of_stream_error("overloaded_error"), 529);
    }

    /// Stores records in memory; fails while `failing` is set.
    #[derive(Default)]
    struct MemoryUsage {
        stored: Mutex<Vec<UsageRecord>>,
        failing: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl UsageStore for MemoryUsage {
        async fn record(&self, records: &[UsageRecord]) -> Result<(), StoreError> {
            if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(StoreError::KeyNotFound);
            }
            self.stored.lock().unwrap().extend_from_slice(records);
            Ok(())
        }
        async fn summarize(&self, _: &UsageQuery) -> Result<Vec<UsageRow>, StoreError> {
            Ok(Vec::new())
        }
        async fn spent(&self, _: i64, _: i64) -> Result<Spent, StoreError> {
            Ok(Spent::default())
        }
    }

    fn record(key_id: i64, at_ms: i64, tokens: u64) -> UsageRecord {
        UsageRecord {
            at_ms,
            key_id,
            user_id: None,
            agent: None,
            model: "claude-sonnet-4-5".into(),
            input_tokens: tokens,
            output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            status: 200,
            latency_ms: 1,
            cost_micros: 10,
        }
    }

    #[tokio::test]
    async fn records_are_stored_in_batches_and_leave_the_ledger() {
        let store = Arc::new(MemoryUsage::default());
        let (meter, writer) = Meter::start(store.clone());
        meter.record(record(1, 1_000, 5));
        meter.record(record(1, 2_000, 7));
        meter.record(record(2, 2_000, 100));
        // Counted at once, before the writer stored anything.
        assert_eq!(meter.pending_since(1, 0).tokens, 12);
        assert_eq!(meter.pending_since(1, 1_500).tokens, 7);
        assert_eq!(meter.pending_since(1, 1_500).cost_micros, 10);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.stored.lock().unwrap().len() < 3 {
            assert!(std::time::Instant::now() < deadline, "never flushed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(meter.pending_since(1, 0), Spent::default());
        writer.finish().await;
    }

    #[tokio::test]
    async fn finishing_stores_everything_even_after_failures() {
        let store = Arc::new(MemoryUsage::default());
        store
            .failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let (meter, writer) = Meter::start(store.clone());
        for index in 0..1_000 {
            meter.record(record(1, index, 1));
        }
        tokio::time::sleep(FLUSH_INTERVAL * 2).await;
        assert!(store.stored.lock().unwrap().is_empty());
        assert_eq!(meter.pending_since(1, 0).tokens, 1_000);
        store
            .failing
            .store(false, std::sync::atomic::Ordering::SeqCst);
        writer.finish().await;
        assert_eq!(store.stored.lock().unwrap().len(), 1_000);
    }
}
