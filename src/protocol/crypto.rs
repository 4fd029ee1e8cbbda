//! Encryption of every duplex-to-duplex session, with no way to turn it off.
//!
//! - A Noise handshake (`Noise_NN_25519_ChaChaPoly_BLAKE2s`, fresh ephemeral
//!   keys each session) gives forward-secret keys. The bytes sent in the
//!   clear before it (both preambles and the host's policy byte) are its
//!   prologue, so a meddler who changes them breaks the handshake.
//! - When the host requires a secret code, both sides first run SPAKE2 on
//!   the code; its key becomes the Noise pre-shared key
//!   (`Noise_NNpsk0_...`). An eavesdropper learns nothing it can test guesses
//!   against offline, and a wrong code fails the handshake: one online try.
//! - Both sides derive the same [verification words](Keys::verification)
//!   from the handshake hash. Read aloud, they expose a man in the middle,
//!   whose two sessions have different hashes.
//! - The host makes its ephemeral key before it sees the guest's and sends
//!   a [commitment](Ephemeral::commitment) to it in the clear; the guest
//!   checks the key against it ([`Handshake::read_committed`]). So nobody
//!   playing the host can try key after key until the words match: each
//!   handshake gives it one chance in 2³².
//! - The right to resume a conversation is a secret both ends derive from
//!   the handshake hash ([`resume_secret`]) and never send. A guest that
//!   comes back proves it knows the secret of the last session with a
//!   [`resume_proof`] bound to the new session's hash, and the host answers
//!   with its own: a relay that runs its own sessions can neither make nor
//!   pass on a proof. Each session gives a new secret.
//! - Afterwards each frame is sealed with ChaCha20-Poly1305 under a counter
//!   nonce. The two directions keep separate counters, so the reader task
//!   and the writer task each own one half ([`Opener`], [`Sealer`]).

use std::sync::Arc;

use blake2::{Blake2s256, Digest};
use snow::{HandshakeState, StatelessTransportState};
use spake2::{Ed25519Group, Identity, Password, Spake2};

use crate::words::{SAS_WORDS, normalize_code, words_for};

/// Noise pattern without a secret code.
pub const NOISE_OPEN: &str = "Noise_NN_25519_ChaChaPoly_BLAKE2s";

/// Noise pattern with a secret code's key as pre-shared key.
pub const NOISE_WITH_CODE: &str = "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s";

/// Bytes the authentication tag adds to every sealed frame.
pub const TAG_LEN: usize = 16;

/// Longest Noise message.
pub const MAX_NOISE_MESSAGE: usize = 65535;

/// Identity both sides give SPAKE2, binding the key to this protocol.
const PAKE_IDENTITY: &[u8] = b"duplex secret code v1";

/// A BLAKE2s hash of `label` and `parts`, each part preceded by its length,
/// so that no two different inputs hash the same bytes.
fn derive(label: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Blake2s256::new();
    hasher.update(b"duplex v3 ");
    hasher.update(label.as_bytes());
    for part in parts {
        hasher.update((part.len() as u32).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The first 16 bytes of `bytes` as a number.
fn first_u128(bytes: &[u8; 32]) -> u128 {
    let mut head = [0; 16];
    head.copy_from_slice(&bytes[..16]);
    u128::from_be_bytes(head)
}

/// Which end makes a resume proof: the two ends' proofs differ, so one
/// cannot be sent back as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The guest, which asks to resume.
    Guest,
    /// The host, which answers.
    Host,
}

/// The secret that lets the two ends of the session whose handshake hash
/// is `binding` resume its conversation later. Both ends derive it; it is
/// never sent.
pub fn resume_secret(binding: &[u8]) -> u128 {
    first_u128(&derive("resume secret", &[binding]))
}

/// Proof, for the session whose handshake hash is `binding`, that `side`
/// knows `secret` (the resume secret of the conversation's last session).
/// Bound to the session: a proof made for one session means nothing in
/// another, so a relay that runs its own sessions cannot pass one on.
pub fn resume_proof(secret: u128, binding: &[u8], side: Side) -> u128 {
    let label = match side {
        Side::Guest => "resume proof guest",
        Side::Host => "resume proof host",
    };
    first_u128(&derive(label, &[&secret.to_be_bytes(), binding]))
}

/// Length of the host's commitment to its ephemeral key.
pub const COMMITMENT_LEN: usize = 32;

/// Length of a Curve25519 public key, which opens the host's Noise message.
const PUBLIC_KEY_LEN: usize = 32;

/// The commitment to the ephemeral public key `public`.
pub fn commit(public: &[u8]) -> [u8; COMMITMENT_LEN] {
    derive("ephemeral commitment", &[public])
}

/// The host's ephemeral key pair, made before the guest's key is seen.
pub struct Ephemeral {
    private: Vec<u8>,
    public: Vec<u8>,
}

impl std::fmt::Debug for Ephemeral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ephemeral")
    }
}

impl Ephemeral {
    /// A fresh key pair.
    pub fn generate() -> Result<Self, CryptoError> {
        let pair = snow::Builder::new(NOISE_OPEN.parse()?).generate_keypair()?;
        Ok(Self {
            private: pair.private,
            public: pair.public,
        })
    }

    /// What the host sends before it sees the guest's key.
    pub fn commitment(&self) -> [u8; COMMITMENT_LEN] {
        commit(&self.public)
    }
}

/// Why encryption failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The Noise library refused (malformed handshake message, bad state).
    #[error("encryption handshake failed: {0}")]
    Noise(#[from] snow::Error),
    /// A sealed frame did not verify: corrupted or forged.
    #[error("a frame failed authentication (corrupted or tampered with)")]
    Forged,
    /// The SPAKE2 message was malformed.
    #[error("the secret-code exchange failed: {0}")]
    Pake(String),
    /// The host's key is not the one it committed to: something tried to
    /// choose its key after seeing ours.
    #[error(
        "the host's key does not match the commitment it sent first \
         (someone in the middle tried to choose its key after seeing ours)"
    )]
    BrokenCommitment,
    /// The nonce counter ran out (after 2^64 frames).
    #[error("the session has sent too many frames")]
    Exhausted,
}

/// One side's part of the secret-code exchange.
pub struct CodeExchange {
    state: Spake2<Ed25519Group>,
    message: Vec<u8>,
}

impl std::fmt::Debug for CodeExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeExchange")
    }
}

impl CodeExchange {
    /// Starts the exchange for `code` (normalized first, so spacing and case
    /// do not matter).
    pub fn start(code: &str) -> Self {
        let password = Password::new(normalize_code(code).as_bytes());
        let (state, message) =
            Spake2::<Ed25519Group>::start_symmetric(&password, &Identity::new(PAKE_IDENTITY));
        Self { state, message }
    }

    /// The message to send to the peer.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// Finishes with the peer's message, giving the pre-shared key. A wrong
    /// code still gives a key, just a different one: the Noise handshake
    /// that uses it is what fails.
    pub fn finish(self, peer_message: &[u8]) -> Result<[u8; 32], CryptoError> {
        let key = self
            .state
            .finish(peer_message)
            .map_err(|err| CryptoError::Pake(format!("{err:?}")))?;
        key.try_into()
            .map_err(|_| CryptoError::Pake("unexpected key length".to_owned()))
    }
}

/// A Noise handshake in progress.
pub struct Handshake {
    state: HandshakeState,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handshake")
    }
}

impl Handshake {
    /// Starts a handshake. The guest is the initiator; `prologue` holds the
    /// bytes both sides exchanged in the clear; `psk` is the secret code's key.
    pub fn new(
        initiator: bool,
        prologue: &[u8],
        psk: Option<&[u8; 32]>,
    ) -> Result<Self, CryptoError> {
        let pattern = if psk.is_some() {
            NOISE_WITH_CODE
        } else {
            NOISE_OPEN
        };
        let mut builder = snow::Builder::new(pattern.parse()?).prologue(prologue)?;
        if let Some(psk) = psk {
            builder = builder.psk(0, psk)?;
        }
        let state = if initiator {
            builder.build_initiator()?
        } else {
            builder.build_responder()?
        };
        Ok(Self { state })
    }

    /// Starts the host's handshake with the ephemeral key it committed to.
    pub fn responder(
        prologue: &[u8],
        psk: Option<&[u8; 32]>,
        ephemeral: &Ephemeral,
    ) -> Result<Self, CryptoError> {
        let pattern = if psk.is_some() {
            NOISE_WITH_CODE
        } else {
            NOISE_OPEN
        };
        let mut builder = snow::Builder::new(pattern.parse()?)
            .prologue(prologue)?
            .fixed_ephemeral_key_for_testing_only(&ephemeral.private);
        if let Some(psk) = psk {
            builder = builder.psk(0, psk)?;
        }
        Ok(Self {
            state: builder.build_responder()?,
        })
    }

    /// Reads the host's message (the guest's side), first checking that
    /// the ephemeral key it opens with is the one `commitment` named.
    pub fn read_committed(
        &mut self,
        message: &[u8],
        commitment: &[u8; COMMITMENT_LEN],
    ) -> Result<(), CryptoError> {
        let key = message
            .get(..PUBLIC_KEY_LEN)
            .ok_or(CryptoError::BrokenCommitment)?;
        if commit(key) != *commitment {
            return Err(CryptoError::BrokenCommitment);
        }
        self.read(message)
    }

    /// The next handshake message to send.
    pub fn write(&mut self) -> Result<Vec<u8>, CryptoError> {
        let mut buf = vec![0; MAX_NOISE_MESSAGE];
        let len = self.state.write_message(&[], &mut buf)?;
        buf.truncate(len);
        Ok(buf)
    }

    /// Reads the peer's handshake message. Fails on a wrong secret code.
    pub fn read(&mut self, message: &[u8]) -> Result<(), CryptoError> {
        let mut buf = vec![0; MAX_NOISE_MESSAGE];
        self.state.read_message(message, &mut buf)?;
        Ok(())
    }

    /// Whether both messages have been exchanged.
    pub fn is_finished(&self) -> bool {
        self.state.is_handshake_finished()
    }

    /// Turns the finished handshake into session keys.
    pub fn finish(self) -> Result<Keys, CryptoError> {
        let hash = self.state.get_handshake_hash().to_vec();
        let transport = Arc::new(self.state.into_stateless_transport_mode()?);
        Ok(Keys { transport, hash })
    }
}

/// The keys of an established session.
pub struct Keys {
    transport: Arc<StatelessTransportState>,
    hash: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("verification", &self.verification())
            .finish()
    }
}

impl Keys {
    /// The words both sides show, e.g. `otter-violin-maple-cobalt`.
    pub fn verification(&self) -> String {
        words_for(&self.hash, SAS_WORDS)
    }

    /// The handshake hash: what binds anything to this session alone.
    pub fn binding(&self) -> &[u8] {
        &self.hash
    }

    /// Splits the keys into the sending and receiving halves.
    pub fn split(self) -> (Sealer, Opener) {
        (
            Sealer {
                transport: self.transport.clone(),
                nonce: 0,
            },
            Opener {
                transport: self.transport,
                nonce: 0,
            },
        )
    }
}

/// Seals outgoing frames (owned by the writer task).
pub struct Sealer {
    transport: Arc<StatelessTransportState>,
    nonce: u64,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("nonce", &self.nonce)
            .finish()
    }
}

impl Sealer {
    /// Encrypts `plaintext` (at most [`MAX_NOISE_MESSAGE`] − [`TAG_LEN`] bytes).
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = self.nonce;
        self.nonce = nonce.checked_add(1).ok_or(CryptoError::Exhausted)?;
        let mut out = vec![0; plaintext.len() + TAG_LEN];
        let len = self.transport.write_message(nonce, plaintext, &mut out)?;
        out.truncate(len);
        Ok(out)
    }
}

/// Opens incoming frames (owned by the reader task).
pub struct Opener {
    transport: Arc<StatelessTransportState>,
    nonce: u64,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener")
            .field("nonce", &self.nonce)
            .finish()
    }
}

impl Opener {
    /// Decrypts and authenticates the next frame.
    pub fn open(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if ciphertext.len() < TAG_LEN || ciphertext.len() > MAX_NOISE_MESSAGE {
            return Err(CryptoError::Forged);
        }
        let nonce = self.nonce;
        let mut out = vec![0; ciphertext.len()];
        let len = self
            .transport
            .read_message(nonce, ciphertext, &mut out)
            .map_err(|_| CryptoError::Forged)?;
        self.nonce = nonce.checked_add(1).ok_or(CryptoError::Exhausted)?;
        out.truncate(len);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a whole handshake in memory.
    fn pair(
        guest_psk: Option<&[u8; 32]>,
        host_psk: Option<&[u8; 32]>,
    ) -> Result<(Keys, Keys), CryptoError> {
        let mut guest = Handshake::new(true, b"prologue", guest_psk)?;
        let mut host = Handshake::new(false, b"prologue", host_psk)?;
        host.read(&guest.write()?)?;
        guest.read(&host.write()?)?;
        assert!(guest.is_finished() && host.is_finished());
        Ok((guest.finish()?, host.finish()?))
    }

    fn code_keys(a: &str, b: &str) -> ([u8; 32], [u8; 32]) {
        let x = CodeExchange::start(a);
        let y = CodeExchange::start(b);
        let (mx, my) = (x.message().to_vec(), y.message().to_vec());
        (x.finish(&my).unwrap(), y.finish(&mx).unwrap())
    }

    #[test]
    fn both_sides_see_the_same_verification_words() {
        let (guest, host) = pair(None, None).unwrap();
        assert_eq!(guest.verification(), host.verification());
        assert_eq!(guest.verification().split('-').count(), SAS_WORDS);
    }

    #[test]
    fn a_man_in_the_middle_shows_different_words() {
        // Two separate sessions, as a relay that decrypts would have.
        let (guest, _) = pair(None, None).unwrap();
        let (_, host) = pair(None, None).unwrap();
        assert_ne!(guest.verification(), host.verification());
    }

    #[test]
    fn frames_seal_and_open_in_both_directions() {
        let (guest, host) = pair(None, None).unwrap();
        let (mut guest_out, mut guest_in) = guest.split();
        let (mut host_out, mut host_in) = host.split();
        for text in ["one", "two", "三"] {
            let sealed = guest_out.seal(text.as_bytes()).unwrap();
            assert!(!sealed.windows(text.len()).any(|w| w == text.as_bytes()));
            assert_eq!(host_in.open(&sealed).unwrap(), text.as_bytes());
            let back = host_out.seal(text.as_bytes()).unwrap();
            assert_eq!(guest_in.open(&back).unwrap(), text.as_bytes());
        }
    }

    #[test]
    fn tampered_replayed_or_short_frames_are_refused() {
        let (guest, host) = pair(None, None).unwrap();
        let (mut out, _) = guest.split();
        let (_, mut inbound) = host.split();
        let mut sealed = out.seal(b"hello").unwrap();
        let replay = sealed.clone();
        sealed[0] ^= 1;
        assert!(matches!(inbound.open(&sealed), Err(CryptoError::Forged)));
        assert_eq!(inbound.open(&replay).unwrap(), b"hello");
        assert!(matches!(inbound.open(&replay), Err(CryptoError::Forged)));
        assert!(matches!(inbound.open(&[1, 2, 3]), Err(CryptoError::Forged)));
    }

    #[test]
    fn same_code_agrees_regardless_of_spacing() {
        let (a, b) = code_keys("amber otter violin", "Amber-Otter-Violin");
        assert_eq!(a, b);
        assert!(pair(Some(&a), Some(&b)).is_ok());
    }

    #[test]
    fn wrong_code_fails_the_handshake() {
        let (a, b) = code_keys("amber-otter-violin", "amber-otter-viola");
        assert_ne!(a, b);
        let mut guest = Handshake::new(true, b"p", Some(&a)).unwrap();
        let mut host = Handshake::new(false, b"p", Some(&b)).unwrap();
        assert!(host.read(&guest.write().unwrap()).is_err());
    }

    #[test]
    fn a_changed_prologue_fails_the_handshake() {
        let mut guest = Handshake::new(true, b"policy: code", None).unwrap();
        let mut host = Handshake::new(false, b"policy: open", None).unwrap();
        host.read(&guest.write().unwrap()).unwrap();
        assert!(guest.read(&host.write().unwrap()).is_err());
    }

    #[test]
    fn resume_proofs_are_bound_to_their_session_and_side() {
        let (guest, host) = pair(None, None).unwrap();
        let (other, _) = pair(None, None).unwrap();
        let secret = resume_secret(guest.binding());
        assert_eq!(secret, resume_secret(host.binding()));
        assert_ne!(secret, resume_secret(other.binding()));
        let proof = resume_proof(secret, guest.binding(), Side::Guest);
        assert_eq!(proof, resume_proof(secret, host.binding(), Side::Guest));
        assert_ne!(proof, resume_proof(secret, guest.binding(), Side::Host));
        assert_ne!(proof, resume_proof(secret, other.binding(), Side::Guest));
        assert_ne!(
            proof,
            resume_proof(secret ^ 1, guest.binding(), Side::Guest)
        );
    }

    #[test]
    fn the_host_uses_the_key_it_committed_to() {
        let ephemeral = Ephemeral::generate().unwrap();
        let commitment = ephemeral.commitment();
        let mut guest = Handshake::new(true, b"p", None).unwrap();
        let mut host = Handshake::responder(b"p", None, &ephemeral).unwrap();
        host.read(&guest.write().unwrap()).unwrap();
        guest
            .read_committed(&host.write().unwrap(), &commitment)
            .unwrap();
        let (guest, host) = (guest.finish().unwrap(), host.finish().unwrap());
        assert_eq!(guest.verification(), host.verification());
    }

    /// A host (or a man in the middle playing one) that answers with
    /// another key than the one it committed to, as it would to try keys
    /// until the words match, fails the guest's handshake.
    #[test]
    fn a_key_other_than_the_committed_one_fails_the_handshake() {
        let committed = Ephemeral::generate().unwrap();
        let chosen_later = Ephemeral::generate().unwrap();
        let mut guest = Handshake::new(true, b"p", None).unwrap();
        let mut host = Handshake::responder(b"p", None, &chosen_later).unwrap();
        host.read(&guest.write().unwrap()).unwrap();
        let answer = host.write().unwrap();
        assert!(matches!(
            guest.read_committed(&answer, &committed.commitment()),
            Err(CryptoError::BrokenCommitment)
        ));
        let mut short = Handshake::new(true, b"p", None).unwrap();
        short.write().unwrap();
        assert!(matches!(
            short.read_committed(&answer[..8], &committed.commitment()),
            Err(CryptoError::BrokenCommitment)
        ));
    }

    #[test]
    fn garbage_pake_message_is_an_error() {
        let x = CodeExchange::start("a-b-c");
        assert!(x.finish(&[0xff; 5]).is_err());
    }
}
