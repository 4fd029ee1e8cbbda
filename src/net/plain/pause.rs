//! When to show a plain peer's line that has no newline yet: after the peer
//! has been quiet for a pause that adapts to its rhythm.
//!
//! Simple programs often send without newlines, and telnet in character
//! mode sends each key on its own, so an unfinished line is shown once the
//! peer is quiet for [`PLAIN_PAUSE`], or for twice the longest gap seen
//! between its chunks of an unfinished line if that is longer (at most
//! [`PLAIN_PAUSE_MAX`]): a peer that trickles its text in slowly is waited
//! for longer, rather than cut mid-word. A line still unfinished
//! [`PLAIN_PAUSE_CAP`] after it began is shown up to its last whitespace,
//! and its last word waits on. Pure: the caller gives the time.

use std::time::Duration;

use tokio::time::Instant;

/// The shortest quiet before an unfinished line is shown.
pub const PLAIN_PAUSE: Duration = Duration::from_millis(300);

/// The longest quiet waited for before an unfinished line is shown; a gap
/// longer than this is the peer pausing, not trickling.
pub const PLAIN_PAUSE_MAX: Duration = Duration::from_secs(2);

/// How long an unfinished line may wait in all before its words are shown.
pub const PLAIN_PAUSE_CAP: Duration = Duration::from_secs(5);

/// What to show when the pause is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// The peer went quiet: all of the waiting text.
    All,
    /// The text waited [`PLAIN_PAUSE_CAP`]: up to its last whitespace.
    Words,
}

/// The pause of one plain connection.
#[derive(Debug, Clone, Default)]
pub struct Pause {
    /// The longest gap seen between chunks that continued an unfinished
    /// line (up to [`PLAIN_PAUSE_MAX`]).
    rhythm: Duration,
    /// When the last chunk arrived, if it left a line unfinished.
    open_at: Option<Instant>,
    /// Since when the waiting text has waited, if any waits.
    waiting_since: Option<Instant>,
}

impl Pause {
    /// How long the peer must be quiet before its unfinished line is shown.
    pub fn quiet(&self) -> Duration {
        (self.rhythm * 2).clamp(PLAIN_PAUSE, PLAIN_PAUSE_MAX)
    }

    /// Bytes arrived at `now`. `completed`: they ended at least one line;
    /// `waiting`: text without a newline waits now.
    pub fn arrived(&mut self, now: Instant, completed: bool, waiting: bool) {
        if !completed && let Some(open) = self.open_at {
            let gap = now.saturating_duration_since(open);
            if gap <= PLAIN_PAUSE_MAX {
                self.rhythm = self.rhythm.max(gap);
            }
        }
        self.open_at = waiting.then_some(now);
        self.waiting_since = match (waiting, completed) {
            (false, _) => None,
            (true, true) => Some(now),
            (true, false) => Some(self.waiting_since.unwrap_or(now)),
        };
    }

    /// Some waiting text was shown at `now`; `waiting`: some still waits
    /// (its last word). The line stays unfinished: the next chunk
    /// continues it.
    pub fn shown(&mut self, now: Instant, waiting: bool) {
        self.waiting_since = waiting.then_some(now);
    }

    /// When to show the waiting text, and how much; `None` when none waits.
    pub fn deadline(&self) -> Option<(Instant, Show)> {
        let since = self.waiting_since?;
        let cap = since + PLAIN_PAUSE_CAP;
        let quiet = self.open_at.map_or(cap, |open| open + self.quiet());
        Some(if quiet <= cap {
            (quiet, Show::All)
        } else {
            (cap, Show::Words)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn an_unfinished_line_is_shown_after_the_shortest_pause_at_first() {
        let t0 = Instant::now();
        let mut pause = Pause::default();
        assert_eq!(pause.deadline(), None);
        pause.arrived(t0, false, true);
        assert_eq!(pause.deadline(), Some((t0 + PLAIN_PAUSE, Show::All)));
        // Each chunk that continues it moves the deadline on.
        pause.arrived(t0 + ms(100), false, true);
        assert_eq!(
            pause.deadline(),
            Some((t0 + ms(100) + PLAIN_PAUSE, Show::All))
        );
        // A newline with nothing after it: nothing waits.
        pause.arrived(t0 + ms(150), true, false);
        assert_eq!(pause.deadline(), None);
    }

    #[test]
    fn a_peer_that_trickles_slowly_is_waited_for_longer() {
        let t0 = Instant::now();
        let mut pause = Pause::default();
        pause.arrived(t0, false, true);
        // Shown at 300 ms (nothing was known of its rhythm yet) ...
        pause.shown(t0 + PLAIN_PAUSE, false);
        assert_eq!(pause.deadline(), None);
        // ... but the line went on 400 ms after its last chunk: from now on
        // the pause is twice that.
        pause.arrived(t0 + ms(400), false, true);
        assert_eq!(pause.quiet(), ms(800));
        assert_eq!(pause.deadline(), Some((t0 + ms(1200), Show::All)));
        // It stays so for the next lines of this peer.
        pause.arrived(t0 + ms(500), true, true);
        assert_eq!(pause.deadline(), Some((t0 + ms(1300), Show::All)));
    }

    #[test]
    fn the_pause_grows_no_longer_than_its_maximum() {
        let t0 = Instant::now();
        let mut pause = Pause::default();
        pause.arrived(t0, false, true);
        pause.arrived(t0 + ms(1500), false, true);
        assert_eq!(pause.quiet(), PLAIN_PAUSE_MAX);
        // A gap longer than the maximum is a pause, not a trickle.
        let mut pause = Pause::default();
        pause.arrived(t0, false, true);
        pause.shown(t0 + PLAIN_PAUSE, false);
        pause.arrived(t0 + ms(60_000), false, true);
        assert_eq!(pause.quiet(), PLAIN_PAUSE);
        // Gaps across a finished line do not count.
        let mut pause = Pause::default();
        pause.arrived(t0, true, false);
        pause.arrived(t0 + ms(900), false, true);
        assert_eq!(pause.quiet(), PLAIN_PAUSE);
    }

    #[test]
    fn a_line_that_never_ends_shows_its_words_at_the_cap() {
        let t0 = Instant::now();
        let mut pause = Pause::default();
        let mut now = t0;
        pause.arrived(now, false, true);
        // A chunk every 250 ms: the peer is never quiet long enough.
        while now < t0 + PLAIN_PAUSE_CAP - ms(250) {
            now += ms(250);
            pause.arrived(now, false, true);
        }
        assert_eq!(pause.deadline(), Some((t0 + PLAIN_PAUSE_CAP, Show::Words)));
        // Its last word waits on, for a cap of its own.
        let at = t0 + PLAIN_PAUSE_CAP;
        pause.shown(at, true);
        assert_eq!(pause.deadline(), Some((now + pause.quiet(), Show::All)));
    }
}
