//! Limits on wrong secret codes, so guessing a code costs real time.
//!
//! Each attempt is charged when it *starts* (before its code is evaluated)
//! and remembered for a window of time; only an attempt that got in, or
//! that ended before its code was evaluated, is forgiven. So however many
//! attempts run at once, a source address gets at most [`PER_SOURCE`]
//! evaluated guesses per window, and all addresses together at most
//! [`OVERALL`], which stops a guesser who spreads over many addresses.

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

/// Remembers recent attempts (in progress or wrong).
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

    /// Charges an attempt from `ip` at `now` if it may make one: the
    /// attempt counts against `ip` and against everyone from now on, until
    /// [`forgive`](Self::forgive)n.
    pub fn reserve(&mut self, ip: IpAddr, now: Instant) -> Result<Instant, Lockout> {
        self.check(ip, now)?;
        self.per_source.entry(ip).or_default().push_back(now);
        self.overall.push_back(now);
        Ok(now)
    }

    /// Takes back the attempt `ip` reserved at `at` (it got in, or ended
    /// before its code was evaluated).
    pub fn forgive(&mut self, ip: IpAddr, at: Instant) {
        if let Some(attempts) = self.per_source.get_mut(&ip)
            && let Some(pos) = attempts.iter().rposition(|t| *t == at)
        {
            attempts.remove(pos);
            if attempts.is_empty() {
                self.per_source.remove(&ip);
            }
            if let Some(pos) = self.overall.iter().rposition(|t| *t == at) {
                self.overall.remove(pos);
            }
        }
    }

    /// How many attempts `ip` has left at `now`.
    pub fn tries_left(&mut self, ip: IpAddr, now: Instant) -> usize {
        self.forget_before(now);
        PER_SOURCE.saturating_sub(self.per_source.get(&ip).map_or(0, VecDeque::len))
    }

    /// Whether `ip` may try a code at `now`.
    fn check(&mut self, ip: IpAddr, now: Instant) -> Result<(), Lockout> {
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
            assert!(limiter.reserve(ip(1), start).is_ok(), "attempt {n}");
        }
        let lockout = limiter.reserve(ip(1), start).unwrap_err();
        assert!(lockout.this_source_only);
        assert_eq!(lockout.retry_after, WINDOW);
        assert!(limiter.reserve(ip(2), start).is_ok(), "others unaffected");
        assert!(limiter.reserve(ip(1), start + WINDOW).is_ok());
    }

    #[test]
    fn attempts_in_progress_count_before_their_outcome() {
        // Three attempts started at once, none finished: the fourth waits.
        let mut limiter = AttemptLimiter::new();
        let now = Instant::now();
        let started: Vec<_> = (0..PER_SOURCE)
            .map(|_| limiter.reserve(ip(1), now).unwrap())
            .collect();
        assert!(limiter.reserve(ip(1), now).is_err());
        // One got in: its attempt is forgiven, and another may start.
        limiter.forgive(ip(1), started[0]);
        assert!(limiter.reserve(ip(1), now).is_ok());
        assert!(limiter.reserve(ip(1), now).is_err());
    }

    #[test]
    fn successes_are_never_charged() {
        let mut limiter = AttemptLimiter::new();
        let now = Instant::now();
        for _ in 0..10 * OVERALL {
            let at = limiter.reserve(ip(1), now).unwrap();
            limiter.forgive(ip(1), at);
        }
        assert_eq!(limiter.tries_left(ip(1), now), PER_SOURCE);
        // Forgiving what was never reserved changes nothing.
        limiter.reserve(ip(1), now).unwrap();
        limiter.forgive(ip(2), now);
        assert_eq!(limiter.tries_left(ip(1), now), PER_SOURCE - 1);
    }

    #[test]
    fn many_sources_together_lock_everyone_out() {
        let mut limiter = AttemptLimiter::new();
        let now = Instant::now();
        for n in 0..OVERALL {
            limiter.reserve(ip(n as u8), now).unwrap();
        }
        let lockout = limiter.reserve(ip(200), now).unwrap_err();
        assert!(!lockout.this_source_only);
        assert!(lockout.to_string().contains("overall"));
    }

    #[test]
    fn tries_left_counts_down() {
        let mut limiter = AttemptLimiter::new();
        let now = Instant::now();
        limiter.reserve(ip(1), now).unwrap();
        assert_eq!(limiter.tries_left(ip(1), now), PER_SOURCE - 1);
        limiter.reserve(ip(1), now).unwrap();
        assert_eq!(limiter.tries_left(ip(1), now), PER_SOURCE - 2);
    }
}
