//! The host's guest seat: the one place in the conversation a guest's
//! connection holds while it lives.
//!
//! A guest is turned away as busy while the seat is taken, except the
//! seat's own guest coming back (it proved the seat's secret): it takes
//! the seat over at once, and the connection that held it is ended. That
//! connection may be long dead without the host knowing yet (a half-open
//! socket after a network change, a host that was suspended), and waiting
//! for the silence limit would leave the guest outside its own seat.
//!
//! A guest whose connection dropped (rather than left) keeps its place:
//! the seat is *away*, and a newcomer is turned away unless the host's
//! person lets it in ([`Seats::take_newcomer`]), so a stranger never
//! silently takes a lost guest's place.

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
    /// The seat's guest dropped and may come back: nobody else sits down
    /// without the host's consent.
    away: bool,
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

    /// Seats whose guest is away from the start: a restarted host waits
    /// for the guest of the conversation it carries on.
    pub fn away() -> Self {
        let seats = Self::default();
        seats.lock().away = true;
        seats
    }

    /// Takes the seat if nobody holds it and no lost guest may come back
    /// to it.
    pub fn take(&self) -> Option<Seat> {
        let mut state = self.lock();
        if state.holder.is_some() || state.away {
            return None;
        }
        Some(self.issue(&mut state))
    }

    /// Takes the seat for a newcomer the host's person let in, even if its
    /// lost guest may come back (that guest's place is given up); `None`
    /// if someone holds it (the lost guest came back meanwhile).
    pub fn take_newcomer(&self) -> Option<Seat> {
        let mut state = self.lock();
        if state.holder.is_some() {
            return None;
        }
        state.away = false;
        Some(self.issue(&mut state))
    }

    /// Whether the seat waits for a lost guest to come back.
    pub fn is_away(&self) -> bool {
        let state = self.lock();
        state.away && state.holder.is_none()
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
        state.away = false;
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

    /// The connection ended for `reason`: a drop keeps the seat for its
    /// guest to come back to (if it `deserves` to: it did not break the
    /// connection with what it sent); a goodbye frees it for anyone.
    pub fn vacate(self, reason: &LeftReason, deserves: bool) {
        let mut state = self.seats.lock();
        if state
            .holder
            .as_ref()
            .is_some_and(|(ticket, _)| *ticket == self.ticket)
        {
            state.away = deserves && reason.is_drop();
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
    fn a_dropped_guests_seat_waits_for_it_and_a_goodbye_frees_it() {
        let seats = Seats::default();
        let guest = seats.take().expect("free");
        guest.vacate(&LeftReason::Closed, true);
        assert!(seats.is_away());
        assert!(seats.take().is_none(), "kept for the lost guest");
        // It comes back (proved its place): the seat is its own again.
        let back = seats.take_over(&LeftReason::Closed);
        assert!(!seats.is_away());
        back.vacate(&LeftReason::Left, true);
        assert!(!seats.is_away(), "a goodbye frees the seat");
        let rude = seats.take().expect("free");
        rude.vacate(&LeftReason::Error("forged frame".into()), false);
        assert!(
            !seats.is_away(),
            "one that broke the connection keeps nothing"
        );
        assert!(seats.take().is_some());
    }

    #[test]
    fn only_the_hosts_consent_seats_a_newcomer_while_the_guest_is_away() {
        let seats = Seats::away();
        assert!(seats.take().is_none());
        let newcomer = seats.take_newcomer().expect("let in");
        assert!(!seats.is_away());
        assert!(seats.take_newcomer().is_none(), "busy now");
        drop(newcomer);
        assert!(seats.take().is_some());
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
