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

/// One key's events and the window they were counted in (each key is swept by its
/// own window, not by the window of whoever triggers the sweep).
struct Window {
    length: Duration,
    events: VecDeque<Instant>,
}

/// In-memory sliding-window counters.
#[derive(Default)]
pub struct MemoryLimiter {
    windows: Mutex<HashMap<String, Window>>,
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
            windows.retain(|_, window| {
                window
                    .events
                    .back()
                    .is_some_and(|last| now.duration_since(*last) < window.length)
            });
        }
        let window = windows.entry(key.to_string()).or_insert_with(|| Window {
            length: limit.window,
            events: VecDeque::new(),
        });
        window.length = limit.window;
        let events = &mut window.events;
        while events
            .front()
            .is_some_and(|first| now.duration_since(*first) >= limit.window)
        {
            events.pop_front();
        }
        action(events)
    }

    /// `hit` at a given instant (the tests move time by hand).
    pub fn hit_at(&self, key: &str, limit: Limit, now: Instant) -> Result<(), Duration> {
        self.with_window(key, limit, now, |events| {
            over_limit(events, limit, now)?;
            events.push_back(now);
            Ok(())
        })
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
    async fn hit(&self, key: &str, limit: Limit) -> Result<(), Refusal> {
        self.hit_at(key, limit, Instant::now())
            .map_err(Refusal::Limited)
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
    fn reset_forgets_a_full_window() {
        let limiter = MemoryLimiter::default();
        let now = Instant::now();
        for _ in 0..3 {
            limiter.hit_at("email:a@b.io", LIMIT, now).unwrap();
        }
        assert!(limiter.hit_at("email:a@b.io", LIMIT, now).is_err());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(limiter.reset("email:a@b.io")).unwrap();
        assert!(limiter.hit_at("email:a@b.io", LIMIT, now).is_ok());
    }

    #[test]
    fn idle_keys_are_swept_by_their_own_window() {
        let limiter = MemoryLimiter::default();
        let start = Instant::now();
        let long = Limit {
            max: 3,
            window: Duration::from_secs(300),
        };
        limiter.hit_at("long-lived", long, start).unwrap();
        for index in 1..SWEEP_THRESHOLD {
            limiter.hit_at(&format!("k{index}"), LIMIT, start).unwrap();
        }
        // 61 s later a new key sweeps: the 60 s keys go, the 300 s one stays.
        limiter
            .hit_at("fresh", LIMIT, start + Duration::from_secs(61))
            .unwrap();
        let windows = limiter.windows.lock().unwrap();
        assert_eq!(windows.len(), 2);
        assert!(windows.contains_key("long-lived"));
    }
}
