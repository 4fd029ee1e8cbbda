//! The opening of every connection: preamble bytes and the errors of a
//! handshake that goes wrong.
//!
//! The guest speaks first with an 8-byte [`Preamble`]: the magic bytes
//! `DUPLEX` and a big-endian protocol version. The host answers with its own
//! preamble. Reading the magic first means a peer speaking another protocol
//! (a web browser, netcat, an old duplex) gets a clear error instead of a
//! confusing frame decode failure.

use super::codec::CodecError;
use super::crypto::CryptoError;

/// Magic bytes at the start of every duplex connection.
pub const MAGIC: [u8; 6] = *b"DUPLEX";

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;

/// The plain-text line sent to a client that is not duplex before closing it.
pub const NOT_DUPLEX_REPLY: &str = "This is a duplex chat host and it speaks only the duplex protocol. \
Connect with: duplex join <this address> -- or ask the host to start with --allow-plain \
to chat with plain text programs like this one.\r\n";

/// The first bytes each side sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preamble {
    /// Protocol version of the sender.
    pub version: u16,
}

impl Preamble {
    /// Length of a preamble on the wire.
    pub const LEN: usize = MAGIC.len() + 2;

    /// The preamble of this build.
    pub fn current() -> Self {
        Self {
            version: PROTOCOL_VERSION,
        }
    }

    /// Encodes the preamble.
    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let mut bytes = [0; Self::LEN];
        bytes[..MAGIC.len()].copy_from_slice(&MAGIC);
        bytes[MAGIC.len()..].copy_from_slice(&self.version.to_be_bytes());
        bytes
    }

    /// Parses a peer's preamble, checking the magic bytes and the version.
    pub fn parse(bytes: &[u8; Self::LEN]) -> Result<Self, HandshakeError> {
        if bytes[..MAGIC.len()] != MAGIC {
            return Err(HandshakeError::NotDuplex {
                first_bytes: describe_bytes(bytes),
            });
        }
        let version = u16::from_be_bytes([bytes[MAGIC.len()], bytes[MAGIC.len() + 1]]);
        if version != PROTOCOL_VERSION {
            return Err(HandshakeError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: version,
            });
        }
        Ok(Self { version })
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
    /// The peer speaks another version of the protocol.
    #[error(
        "the peer speaks duplex protocol version {theirs}, this program speaks version {ours}; \
         use the same duplex release on both sides"
    )]
    VersionMismatch {
        /// Our version.
        ours: u16,
        /// The peer's version.
        theirs: u16,
    },
    /// The peer did not finish the handshake in time.
    #[error("the peer did not complete the handshake within {0} seconds")]
    Timeout(u64),
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
    #[error("the host requires a secret code: give it with --secret CODE or DUPLEX_SECRET")]
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
        assert_eq!(Preamble::parse(&bytes).unwrap(), Preamble::current());
    }

    #[test]
    fn foreign_bytes_are_not_duplex() {
        let err = Preamble::parse(b"GET / HT").unwrap_err();
        assert!(matches!(err, HandshakeError::NotDuplex { .. }));
        assert!(err.to_string().contains("GET / HT"), "{err}");
    }

    #[test]
    fn control_bytes_are_escaped_in_errors() {
        let err = Preamble::parse(b"\x1b[2J\x07abc").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    }

    #[test]
    fn other_version_is_named() {
        let mut bytes = Preamble::current().to_bytes();
        bytes[7] = bytes[7].wrapping_add(1);
        let err = Preamble::parse(&bytes).unwrap_err();
        assert!(
            matches!(err, HandshakeError::VersionMismatch { theirs, .. } if theirs == PROTOCOL_VERSION + 1)
        );
    }
}
