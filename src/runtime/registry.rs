//! The connection registry: which connections are open and how to reach
//! them. Only the runtime keeps it; who the conversation is with is the
//! app's business alone.

use std::collections::HashMap;

use crate::domain::{Capabilities, ConnId, LeftReason};
use crate::net::{Knock, Lane, NetEvent, PeerLink, SendError};
use crate::protocol::Frame;

/// Why a frame was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The connection could not take it.
    #[error(transparent)]
    Link(#[from] SendError),
    /// The peer did not announce the capability the frame needs.
    #[error("the peer did not announce '{0}'")]
    NotAnnounced(&'static str),
}

/// The open connections, by id, with what each peer announced.
#[derive(Debug, Default)]
pub struct Registry {
    links: HashMap<ConnId, (PeerLink, Capabilities)>,
    /// Newcomers waiting for the host's person to answer, by knock id.
    knocks: HashMap<u64, Knock>,
}

impl Registry {
    /// Keeps track of connections as they open and close.
    pub fn observe(&mut self, event: &NetEvent) {
        match event {
            NetEvent::Joined { info, link } => {
                self.links
                    .insert(info.id, (link.clone(), info.caps.clone()));
            }
            NetEvent::Left { from, .. } => {
                self.links.remove(from);
            }
            NetEvent::Knock(knock) => {
                // Only the newest newcomer is asked about: one before it
                // that is still waiting is turned away.
                for (_, earlier) in self.knocks.drain() {
                    earlier.answer(false);
                }
                self.knocks.insert(knock.id, knock.clone());
            }
            _ => {}
        }
    }

    /// The link of a connection.
    pub fn link(&self, id: ConnId) -> Option<&PeerLink> {
        self.links.get(&id).map(|(link, _)| link)
    }

    /// Queues a frame for a connection: never one that needs a capability
    /// the peer did not announce.
    pub fn send(&self, to: ConnId, frame: Frame) -> Result<(), Refused> {
        let (link, caps) = self.links.get(&to).ok_or(SendError::Closed)?;
        if let Some(needed) = frame.capability()
            && !caps.has(needed)
        {
            return Err(Refused::NotAnnounced(needed));
        }
        // A file's chunks (and the hash that follows them) wait behind
        // every chat line.
        let lane = match &frame {
            Frame::Transfer(transfer) if transfer.is_bulk() => Lane::Bulk,
            _ => Lane::Conversation,
        };
        Ok(link.send_on(lane, frame)?)
    }

    /// Answers a newcomer's knock (nothing if it gave up or was answered).
    pub fn answer(&mut self, knock: u64, admit: bool) {
        if let Some(knock) = self.knocks.remove(&knock) {
            knock.answer(admit);
        }
    }

    /// Ends a connection at once; its reader reports `reason`.
    pub fn disconnect(&mut self, id: ConnId, reason: LeftReason) {
        if let Some((link, _)) = self.links.remove(&id) {
            link.abort(reason);
        }
    }

    /// Flushes and closes every connection, for a clean exit.
    pub async fn close_all(&mut self) {
        let closing = self
            .links
            .drain()
            .map(|(_, (link, _))| async move { link.close().await });
        futures::future::join_all(closing).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PeerInfo, Security};

    fn joined(id: ConnId, caps: &[&str]) -> NetEvent {
        NetEvent::Joined {
            info: PeerInfo {
                id,
                name: "bob".into(),
                addr: "127.0.0.1:5000".parse().unwrap(),
                security: Security::Encrypted {
                    verification: String::new(),
                    with_code: false,
                },
                resumed: false,
                resume: None,
                caps: Capabilities::from_names(caps.iter().copied()),
            },
            link: PeerLink::detached(id),
        }
    }

    /// An older peer that did not announce `nick` is never sent a name
    /// change; one that did may be.
    #[test]
    fn a_frame_is_sent_only_to_a_peer_that_announced_its_capability() {
        let mut registry = Registry::default();
        registry.observe(&joined(1, &[]));
        registry.observe(&joined(2, &[crate::protocol::frame::NICK]));
        let nick = || Frame::Nick {
            name: "ally".into(),
        };
        assert_eq!(registry.send(1, nick()), Err(Refused::NotAnnounced("nick")));
        assert_ne!(registry.send(2, nick()), Err(Refused::NotAnnounced("nick")));
        // Frames of the version itself need nothing.
        assert_ne!(
            registry.send(1, Frame::Heartbeat),
            Err(Refused::NotAnnounced("nick"))
        );
    }
}
