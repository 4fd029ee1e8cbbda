//! The opening of every connection: preamble bytes, the version both sides
//! use, and the errors of a handshake that goes wrong.
//!
//! Each side sends a 10-byte [`Preamble`]: the magic bytes `DUPLEX`, then
//! the highest and the lowest protocol version it speaks (big-endian
//! `u16`s). Both then use the highest version in common. The highest
//! version comes first so that a peer of protocol version 1, whose preamble
//! was the magic and one version (8 bytes), is recognised from its first 8
//! bytes and told which versions each side speaks instead of waiting for
//! bytes that never come. Reading the magic first means a peer speaking
//! another protocol (a web browser, netcat) gets a clear error instead of a
//! confusing frame decode failure.

use super::codec::CodecError;
use super::crypto::CryptoError;

/// Magic bytes at the start of every duplex connection.
pub const MAGIC: [u8; 6] = *b"DUPLEX";

/// The newest protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 3;

/// The oldest protocol version this build speaks.
pub const MIN_PROTOCOL_VERSION: u16 = 3;

/// The not-duplex reply sent to a client that is not duplex before closing it.
pub const NOT_DUPLEX_REPLY: &str = "This is a duplex chat host and it speaks only the duplex protocol. \
Connect with: duplex join <this address> -- or ask the host to start with --allow-plain \
to chat with plain text programs like this one.\r\n";

/// The protocol versions one side speaks, lowest to highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// The oldest version spoken.
    pub min: u16,
    /// The newest version spoken.
    pub max: u16,
}

impl Versions {
    /// What this build speaks.
    pub const CURRENT: Versions = Versions {
        min: MIN_PROTOCOL_VERSION,
        max: PROTOCOL_VERSION,
    };

    /// The highest version both speak, if any.
    pub fn common(self, theirs: Versions) -> Option<u16> {
        let version = self.max.min(theirs.max);
        (version >= self.min.max(theirs.min)).then_some(version)
    }
}

impl std::fmt::Display for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.min == self.max {
            write!(f, "version {}", self.max)
        } else {
            write!(f, "versions {} to {}", self.min, self.max)
        }
    }
}

/// The first bytes each side sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preamble {
    /// The versions the sender speaks.
    pub versions: Versions,
}

impl Preamble {
    /// Length of a preamble on the wire.
    pub const LEN: usize = MAGIC.len() + 4;

    /// Length of the part every version shares: the magic and the highest
    /// version (all a version 1 peer sends).
    pub const HEAD_LEN: usize = MAGIC.len() + 2;

    /// The preamble of this build.
    pub fn current() -> Self {
        Self {
            versions: Versions::CURRENT,
        }
    }

    /// Encodes the preamble.
    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let mut bytes = [0; Self::LEN];
        bytes[..MAGIC.len()].copy_from_slice(&MAGIC);
        bytes[MAGIC.len()..Self::HEAD_LEN].copy_from_slice(&self.versions.max.to_be_bytes());
        bytes[Self::HEAD_LEN..].copy_from_slice(&self.versions.min.to_be_bytes());
        bytes
    }

    /// Reads the head of a peer's preamble: checks the magic and returns
    /// the highest version it speaks. A peer whose highest version is below
    /// [`MIN_PROTOCOL_VERSION`] sends nothing more (version 1 sent only
    /// this), and shares no version with us: that is an error naming both.
    pub fn parse_head(bytes: &[u8; Self::HEAD_LEN]) -> Result<u16, HandshakeError> {
        if bytes[..MAGIC.len()] != MAGIC {
            return Err(HandshakeError::NotDuplex {
                first_bytes: describe_bytes(bytes),
            });
        }
        let max = u16::from_be_bytes([bytes[MAGIC.len()], bytes[MAGIC.len() + 1]]);
        if max < MIN_PROTOCOL_VERSION {
            return Err(HandshakeError::VersionMismatch {
                ours: Versions::CURRENT,
                theirs: Versions { min: max, max },
            });
        }
        Ok(max)
    }

    /// Completes a preamble from its head's highest version and the two
    /// bytes of the lowest, and checks that both sides share a version.
    /// Returns the preamble and the version to use.
    pub fn parse_rest(max: u16, rest: [u8; 2]) -> Result<(Self, u16), HandshakeError> {
        let min = u16::from_be_bytes(rest);
        let theirs = Versions { min, max };
        if min > max {
            return Err(HandshakeError::BadPreamble(theirs));
        }
        let version = Versions::CURRENT
            .common(theirs)
            .ok_or(HandshakeError::VersionMismatch {
                ours: Versions::CURRENT,
                theirs,
            })?;
        Ok((Self { versions: theirs }, version))
    }

    /// Parses a whole preamble (both parts); see [`Preamble::parse_head`].
    pub fn parse(bytes: &[u8; Self::LEN]) -> Result<(Self, u16), HandshakeError> {
        let mut head = [0; Self::HEAD_LEN];
        head.copy_from_slice(&bytes[..Self::HEAD_LEN]);
        let max = Self::parse_head(&head)?;
        Self::parse_rest(max, [bytes[Self::HEAD_LEN], bytes[Self::HEAD_LEN + 1]])
    }
}

/// Shows unknown bytes safely: printable ASCII as is, everything else escaped.
fn describe_bytes(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// The host's policy byte, sent right after its preamble: anyone may join.
pub const POLICY_OPEN: u8 = 0;
/// The host's policy byte: a secret code is required.
pub const POLICY_CODE: u8 = 1;
/// The host's policy byte: code attempts are refused for now (too many wrong ones).
pub const POLICY_LOCKED: u8 = 2;

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The peer's first bytes were not a duplex preamble.
    #[error("the peer does not speak the duplex protocol (it sent \"{first_bytes}\")")]
    NotDuplex {
        /// The peer's first bytes, escaped for display.
        first_bytes: String,
    },
    /// The host answered with something that is not a duplex preamble: a
    /// plain text server, most likely.
    #[error(
        "the server does not speak the duplex protocol (it sent \"{first_bytes}\"): \
         to chat with a plain text server, use duplex join --plain"
    )]
    PlainServer {
        /// The server's first bytes, escaped for display.
        first_bytes: String,
    },
    /// The peer speaks no protocol version that we speak.
    #[error(
        "the peer speaks duplex protocol {theirs}, this program speaks {ours}; \
         update the older duplex"
    )]
    VersionMismatch {
        /// What we speak.
        ours: Versions,
        /// What the peer speaks.
        theirs: Versions,
    },
    /// The peer's preamble makes no sense (lowest version above highest).
    #[error("the peer sent a malformed preamble ({0})")]
    BadPreamble(Versions),
    /// The peer did not finish the handshake in time.
    #[error("the peer did not complete the handshake within {}", crate::domain::seconds(*.0))]
    Timeout(std::time::Duration),
    /// The host sent nothing at all in time, where a duplex host answers
    /// at once: a silent plain text server (nc -l), most likely.
    #[error(
        "the host sent nothing within {}, where a duplex host answers at once: \
         if it is a plain text server such as nc -l, use duplex join --plain",
        crate::domain::seconds(*.0)
    )]
    SilentHost(std::time::Duration),
    /// The peer closed the connection during the handshake.
    #[error("the peer closed the connection during the handshake (is it a duplex program?)")]
    Closed,
    /// The host turned us away.
    #[error("the host refused the connection: {0}")]
    Refused(String),
    /// The peer sent a frame that does not belong in the handshake.
    #[error("the peer sent a {0} frame during the handshake")]
    UnexpectedFrame(&'static str),
    /// The guest hung up instead of giving the secret code (it may ask its user).
    #[error("the guest left without giving the secret code")]
    NoCodeGiven,
    /// The host requires a secret code and none was given.
    #[error(
        "the host requires a secret code: join with DUPLEX_SECRET=CODE, or from a terminal to be asked for it"
    )]
    CodeRequired,
    /// A code was given but the host does not use one.
    #[error(
        "the host does not use a secret code; join without --secret, or ask the host to start with --secret"
    )]
    HostHasNoCode,
    /// The secret code did not match.
    #[error("wrong code{}", tries_left.map(|n| format!(" ({n} more tries from this address before a pause)")).unwrap_or_default())]
    WrongCode {
        /// Attempts left before the source is locked out (host side).
        tries_left: Option<usize>,
    },
    /// The host refuses code attempts for now.
    #[error("{0}")]
    LockedOut(String),
    /// The host sent a policy this build does not know.
    #[error(
        "the host asked for something this duplex does not understand (policy {0}); update duplex"
    )]
    UnknownPolicy(u8),
    /// The encryption handshake failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A frame could not be read.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

impl From<std::io::Error> for HandshakeError {
    fn from(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::UnexpectedEof {
            HandshakeError::Closed
        } else {
            HandshakeError::Codec(CodecError::Io(err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preamble_round_trips() {
        let bytes = Preamble::current().to_bytes();
        assert_eq!(&bytes[..6], b"DUPLEX");
        assert_eq!(
            Preamble::parse(&bytes).unwrap(),
            (Preamble::current(), PROTOCOL_VERSION)
        );
    }

    #[test]
    fn foreign_bytes_are_not_duplex() {
        let err = Preamble::parse_head(b"GET / HT").unwrap_err();
        assert!(matches!(err, HandshakeError::NotDuplex { .. }));
        assert!(err.to_string().contains("GET / HT"), "{err}");
    }

    #[test]
    fn control_bytes_are_escaped_in_errors() {
        let err = Preamble::parse_head(b"\x1b[2J\x07abc").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    }

    #[test]
    fn a_version_1_peer_is_named_from_its_eight_bytes() {
        let err = Preamble::parse_head(b"DUPLEX\x00\x01").unwrap_err();
        assert!(
            matches!(err, HandshakeError::VersionMismatch { theirs, .. } if theirs.max == 1),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "the peer speaks duplex protocol version 1, this program speaks version 3; \
             update the older duplex"
        );
    }

    #[test]
    fn both_use_the_highest_version_in_common() {
        let newer = Versions { min: 2, max: 5 };
        assert_eq!(Versions::CURRENT.common(newer), Some(PROTOCOL_VERSION));
        assert_eq!(newer.common(Versions::CURRENT), Some(PROTOCOL_VERSION));
        let far = Versions { min: 4, max: 5 };
        assert_eq!(Versions::CURRENT.common(far), None);
        let older = Versions { min: 2, max: 2 };
        assert_eq!(Versions::CURRENT.common(older), None);
        let mut bytes = Preamble { versions: far }.to_bytes();
        let err = Preamble::parse(&bytes).unwrap_err();
        assert!(err.to_string().contains("versions 4 to 5"), "{err}");
        bytes[9] = 9; // lowest above highest
        assert!(matches!(
            Preamble::parse(&bytes),
            Err(HandshakeError::BadPreamble(_))
        ));
        let (preamble, version) =
            Preamble::parse(&Preamble { versions: newer }.to_bytes()).unwrap();
        assert_eq!((preamble.versions, version), (newer, PROTOCOL_VERSION));
    }
}
