//! Limits on wrong secret codes, so guessing a code costs real time.
//!
//! Each wrong code is remembered for a window of time. A source address
//! with too many recent failures is refused outright, and so is everyone
//! once the failures from all sources together pass a second limit, which
//! stops a guesser who spreads over many addresses.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long a wrong attempt counts against its source.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Wrong attempts one address may make within [`WINDOW`].
pub const PER_SOURCE: usize = 3;

/// Wrong attempts all addresses together may make within [`WINDOW`].
pub const OVERALL: usize = 10;

/// Why an attempt is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Whether only this address is refused (otherwise everyone is).
    pub this_source_only: bool,
    /// When attempts will be allowed again.
    pub retry_after: Duration,
}

impl std::fmt::Display for Lockout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = if self.this_source_only {
            "from this address"
        } else {
            "overall"
        };
        write!(
            f,
            "too many wrong codes {who}; try again in {} s",
            self.retry_after.as_secs().max(1)
        )
    }
}

/// Remembers recent wrong attempts.
#[derive(Debug, Default)]
pub struct AttemptLimiter {
    per_source: HashMap<IpAddr, VecDeque<Instant>>,
    overall: VecDeque<Instant>,
}

impl AttemptLimiter {
    /// A limiter with no failures yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `ip` may try a code at `now`.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Result<(), Lockout> {
        self.forget_before(now);
        let retry = |oldest: Option<&Instant>| {
            oldest.map_or(WINDOW, |t| (*t + WINDOW).saturating_duration_since(now))
        };
        if let Some(failures) = self.per_source.get(&ip)
            && failures.len() >= PER_SOURCE
        {
            return Err(Lockout {
                this_source_only: true,
                retry_after: retry(failures.front()),
            });
        }
        if self.overall.len() >= OVERALL {
            return Err(Lockout {
                this_source_only: false,
                retry_after: retry(self.overall.front()),
            });
        }
        Ok(())
    }

    /// Records a wrong code from `ip`; returns how many tries `ip` has left.
    pub fn record_failure(&mut self, ip: IpAddr, now: Instant) -> usize {
        self.forget_before(now);
        let failures = self.per_source.entry(ip).or_default();
        failures.push_back(now);
        let left = PER_SOURCE.saturating_sub(failures.len());
        self.overall.push_back(now);
        left
    }

    fn forget_before(&mut self, now: Instant) {
        let expired = |t: &Instant| now.saturating_duration_since(*t) >= WINDOW;
        while self.overall.front().is_some_and(expired) {
            self.overall.pop_front();
        }
        self.per_source.retain(|_, failures| {
            while failures.front().is_some_and(expired) {
                failures.pop_front();
            }
            !failures.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn a_source_is_locked_out_after_its_limit_then_forgiven() {
        let mut limiter = AttemptLimiter::new();
        let start = Instant::now();
        for n in 0..PER_SOURCE {
            assert!(limiter.check(ip(1), start).is_ok(), "attempt {n}");
            limiter.record_failure(ip(1), start);
        }
        let lockout = limiter.check(ip(1), start).unwrap_err();
        assert!(lockout.this_source_only);
        assert_eq!(lockout.retry_after, WINDOW);
        assert!(limiter.check(ip(2), start).is_ok(), "others unaffected");
        assert!(limiter.check(ip(1), start + WINDOW).is_ok());
    }

    #[test]
    fn many_sources_together_lock_everyone_out() {
        let mut limiter = AttemptLimiter::new();
        let now = Instant::now();
        for n in 0..OVERALL {
            limiter.record_failure(ip(n as u8), now);
        }
        let lockout = limiter.check(ip(200), now).unwrap_err();
        assert!(!lockout.this_source_only);
        assert!(lockout.to_string().contains("overall"));
    }

    #[test]
    fn tries_left_counts_down() {
        let mut limiter = AttemptLimiter::new();
        let now = Instant::now();
        assert_eq!(limiter.record_failure(ip(1), now), PER_SOURCE - 1);
        assert_eq!(limiter.record_failure(ip(1), now), PER_SOURCE - 2);
    }
}
