//! The local tier's rate limiter: sliding windows of event times per key, in the
//! daemon's memory (one daemon serves the local tier, so nothing needs sharing).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Limit, RateLimiter, Refusal, StoreError};

/// Keys tracked before idle ones are swept, so a flood of distinct emails or
/// addresses cannot grow memory without bound.
const SWEEP_THRESHOLD: usize = 10_000;

/// In-memory sliding-window counters.
#[derive(Default)]
pub struct MemoryLimiter {
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl MemoryLimiter {
    fn with_window<T>(
        &self,
        key: &str,
        limit: Limit,
        now: Instant,
        action: impl FnOnce(&mut VecDeque<Instant>) -> T,
    ) -> T {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if windows.len() >= SWEEP_THRESHOLD && !windows.contains_key(key) {
            windows.retain(|_, events| {
                events
                    .back()
                    .is_some_and(|last| now.duration_since(*last) < limit.window)
            });
        }
        let events = windows.entry(key.to_string()).or_default();
        while events
            .front()
            .is_some_and(|first| now.duration_since(*first) >= limit.window)
        {
            events.pop_front();
        }
        action(events)
    }

    /// `check` at a given instant (the tests move time by hand).
    pub fn check_at(&self, key: &str, limit: Limit, now: Instant) -> Result<(), Duration> {
        self.with_window(key, limit, now, |events| over_limit(events, limit, now))
    }

    /// `hit` at a given instant.
    pub fn hit_at(&self, key: &str, limit: Limit, now: Instant) -> Result<(), Duration> {
        self.with_window(key, limit, now, |events| {
            over_limit(events, limit, now)?;
            events.push_back(now);
            Ok(())
        })
    }

    /// `record` at a given instant.
    pub fn record_at(&self, key: &str, limit: Limit, now: Instant) {
        self.with_window(key, limit, now, |events| {
            events.push_back(now);
            while events.len() > limit.max as usize {
                events.pop_front();
            }
        });
    }
}

/// `Err(time until the oldest event leaves the window)` when the window is full.
fn over_limit(events: &VecDeque<Instant>, limit: Limit, now: Instant) -> Result<(), Duration> {
    if events.len() < limit.max as usize {
        return Ok(());
    }
    let oldest = events.front().copied().unwrap_or(now);
    Err(limit.window.saturating_sub(now.duration_since(oldest)))
}

#[async_trait]
impl RateLimiter for MemoryLimiter {
    async fn check(&self, key: &str, limit: Limit) -> Result<(), Refusal> {
        self.check_at(key, limit, Instant::now())
            .map_err(Refusal::Limited)
    }

    async fn hit(&self, key: &str, limit: Limit) -> Result<(), Refusal> {
        self.hit_at(key, limit, Instant::now())
            .map_err(Refusal::Limited)
    }

    async fn record(&self, key: &str, limit: Limit) -> Result<(), StoreError> {
        self.record_at(key, limit, Instant::now());
        Ok(())
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.windows
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Limit = Limit {
        max: 3,
        window: Duration::from_secs(60),
    };

    #[test]
    fn hits_are_allowed_up_to_the_limit_then_refused_until_the_window_slides() {
        let limiter = MemoryLimiter::default();
        let start = Instant::now();
        for second in 0..3 {
            limiter
                .hit_at("client:1", LIMIT, start + Duration::from_secs(second))
                .unwrap();
        }
        let wait = limiter
            .hit_at("client:1", LIMIT, start + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        // A refused hit is not counted; other keys are independent.
        limiter.hit_at("client:2", LIMIT, start).unwrap();
        limiter
            .hit_at("client:1", LIMIT, start + Duration::from_secs(60))
            .unwrap();
    }

    #[test]
    fn recorded_failures_block_checks_and_reset_clears_them() {
        let limiter = MemoryLimiter::default();
        let now = Instant::now();
        for _ in 0..5 {
            limiter.record_at("email:a@b.io", LIMIT, now);
        }
        assert!(limiter.check_at("email:a@b.io", LIMIT, now).is_err());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(limiter.reset("email:a@b.io")).unwrap();
        assert!(limiter.check_at("email:a@b.io", LIMIT, now).is_ok());
    }

    #[test]
    fn idle_keys_are_swept() {
        let limiter = MemoryLimiter::default();
        let start = Instant::now();
        for index in 0..SWEEP_THRESHOLD {
            limiter.record_at(&format!("k{index}"), LIMIT, start);
        }
        limiter.record_at("fresh", LIMIT, start + Duration::from_secs(61));
        assert_eq!(limiter.windows.lock().unwrap().len(), 1);
    }
}
