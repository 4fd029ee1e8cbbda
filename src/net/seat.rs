//! The host's guest seat: the one place in the conversation a guest's
//! connection holds while it lives.
//!
//! A guest is turned away as busy while the seat is taken, except the
//! seat's own guest coming back (it proved the seat's secret): it takes
//! the seat over at once, and the connection that held it is ended. That
//! connection may be long dead without the host knowing yet (a half-open
//! socket after a network change, a host that was suspended), and waiting
//! for the silence limit would leave the guest outside its own seat.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{LeftReason, PeerLink};

/// The seat, shared by every connection of one host. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Seats(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    /// Tickets handed out so far.
    issued: u64,
    /// Who holds the seat: its ticket, and its connection once it runs.
    holder: Option<(u64, Option<PeerLink>)>,
}

/// A connection's hold on the seat; dropping it frees the seat, unless it
/// was taken over meanwhile.
#[derive(Debug)]
pub struct Seat {
    seats: Seats,
    ticket: u64,
}

impl Seats {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the seat if nobody holds it.
    pub fn take(&self) -> Option<Seat> {
        let mut state = self.lock();
        if state.holder.is_some() {
            return None;
        }
        Some(self.issue(&mut state))
    }

    /// Takes the seat whoever holds it; the connection that held it is
    /// ended with `reason`.
    pub fn take_over(&self, reason: &LeftReason) -> Seat {
        let mut state = self.lock();
        if let Some((ticket, link)) = state.holder.take() {
            tracing::info!(
                ticket,
                "the seat's guest is back; ending its old connection"
            );
            if let Some(link) = link {
                link.abort(reason.clone());
            }
        }
        self.issue(&mut state)
    }

    /// Whether someone holds the seat.
    pub fn is_taken(&self) -> bool {
        self.lock().holder.is_some()
    }

    fn issue(&self, state: &mut State) -> Seat {
        state.issued += 1;
        state.holder = Some((state.issued, None));
        Seat {
            seats: self.clone(),
            ticket: state.issued,
        }
    }
}

impl Seat {
    /// Records the connection that holds the seat, so a take-over can end
    /// it. False if the seat was taken over already: the connection must
    /// not go on.
    pub fn hold(&self, link: &PeerLink) -> bool {
        let mut state = self.seats.lock();
        match &mut state.holder {
            Some((ticket, held)) if *ticket == self.ticket => {
                *held = Some(link.clone());
                true
            }
            _ => false,
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut state = self.seats.lock();
        if state
            .holder
            .as_ref()
            .is_some_and(|(ticket, _)| *ticket == self.ticket)
        {
            state.holder = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_freed_when_dropped() {
        let seats = Seats::default();
        let first = seats.take().expect("free");
        assert!(seats.take().is_none(), "busy");
        drop(first);
        assert!(seats.take().is_some(), "free again");
    }

    #[test]
    fn a_take_over_ends_the_old_holder_which_frees_nothing_when_it_goes() {
        let seats = Seats::default();
        let old = seats.take().expect("free");
        assert!(old.hold(&PeerLink::detached(1)));
        let new = seats.take_over(&LeftReason::Closed);
        // The old connection's end does not free the new one's seat.
        assert!(!old.hold(&PeerLink::detached(1)), "superseded");
        drop(old);
        assert!(seats.is_taken());
        assert!(seats.take().is_none());
        drop(new);
        assert!(!seats.is_taken());
    }
}
