//! Self-describing envelopes: `magic | version | algorithm | key id | nonce |
//! ciphertext | tag`, with the header and the caller's context bound as
//! associated data.

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use chacha20poly1305::XChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::Sha256;

use crate::error::{Error, Format, Invalid, Malformed, Result};
use crate::secret::{KeyBytes, Plaintext, fill_random};

/// First two bytes of every envelope.
pub(crate) const MAGIC: [u8; 2] = *b"KE";
/// The envelope format version this build writes and reads.
pub(crate) const VERSION: u8 = 1;
/// Length of the authentication tag of both algorithms.
pub(crate) const TAG_LEN: usize = 16;
const FORMAT: Format = Format::Envelope;

/// An AEAD algorithm for envelopes. Each key version has exactly one; a key
/// is never used with two algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// AES-256-GCM, 96-bit random nonces (the default: fastest with AES-NI,
    /// best for small records).
    #[default]
    Aes256Gcm,
    /// XChaCha20-Poly1305, 192-bit random nonces (constant-time without
    /// AES hardware).
    XChaCha20Poly1305,
}

impl Algorithm {
    /// The algorithm byte in envelopes and the keystore file.
    pub(crate) fn id(self) -> u8 {
        match self {
            Algorithm::Aes256Gcm => 1,
            Algorithm::XChaCha20Poly1305 => 2,
        }
    }

    pub(crate) fn from_id(b: u8) -> Option<Algorithm> {
        match b {
            1 => Some(Algorithm::Aes256Gcm),
            2 => Some(Algorithm::XChaCha20Poly1305),
            _ => None,
        }
    }

    /// Nonce length in bytes: 12 for AES-256-GCM, 24 for XChaCha20-Poly1305.
    pub fn nonce_len(self) -> usize {
        match self {
            Algorithm::Aes256Gcm => 12,
            Algorithm::XChaCha20Poly1305 => 24,
        }
    }

    /// Header length in bytes: magic (2), version (1), algorithm (1), key
    /// id (4), nonce.
    pub fn header_len(self) -> usize {
        8 + self.nonce_len()
    }

    /// Total bytes an envelope adds to its plaintext (header and tag).
    pub fn overhead(self) -> usize {
        self.header_len() + TAG_LEN
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Aes256Gcm => "AES-256-GCM",
            Algorithm::XChaCha20Poly1305 => "XChaCha20-Poly1305",
        })
    }
}

/// The identifier of one key version: 1 for the first key, then 2, 3, ...
/// Never reused within a keystore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(u32);

impl KeyId {
    /// The key id with this number.
    pub const fn new(n: u32) -> KeyId {
        KeyId(n)
    }
}

impl From<KeyId> for u32 {
    fn from(id: KeyId) -> u32 {
        id.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A parsed envelope header (borrowing the envelope).
#[derive(Debug)]
pub(crate) struct Header<'a> {
    pub(crate) algorithm: Algorithm,
    pub(crate) key_id: KeyId,
    /// The header bytes (associated data, with the context).
    pub(crate) bytes: &'a [u8],
    /// Ciphertext followed by the tag.
    pub(crate) body: &'a [u8],
}

/// Parses the header of `envelope`.
pub(crate) fn parse(envelope: &[u8]) -> Result<Header<'_>> {
    if envelope.len() < 4 {
        return Err(Error::malformed(FORMAT, Malformed::Truncated));
    }
    if envelope[..2] != MAGIC {
        return Err(Error::malformed(FORMAT, Malformed::BadMagic));
    }
    if envelope[2] != VERSION {
        return Err(Error::UnsupportedVersion {
            format: FORMAT,
            version: u16::from(envelope[2]),
        });
    }
    let algorithm = Algorithm::from_id(envelope[3])
        .ok_or(Error::malformed(FORMAT, Malformed::UnknownAlgorithm))?;
    let hlen = algorithm.header_len();
    if envelope.len() < hlen + TAG_LEN {
        return Err(Error::malformed(FORMAT, Malformed::Truncated));
    }
    let key_id = KeyId(u32::from_be_bytes([
        envelope[4],
        envelope[5],
        envelope[6],
        envelope[7],
    ]));
    let (bytes, body) = envelope.split_at(hlen);
    Ok(Header {
        algorithm,
        key_id,
        bytes,
        body,
    })
}

/// The key version an envelope was encrypted under, read from its header
/// without decrypting (for example to find envelopes that need
/// [`crate::Keystore::rewrap`]). The header is not authenticated until
/// decryption.
///
/// # Errors
/// [`Error::Malformed`] or [`Error::UnsupportedVersion`] if `envelope` is
/// not an envelope of this format.
pub fn envelope_key_id(envelope: &[u8]) -> Result<KeyId> {
    parse(envelope).map(|h| h.key_id)
}

/// An envelope cipher for one key version (the key schedule computed once).
pub(crate) enum Cipher {
    Aes(Box<Aes256Gcm>),
    XChaCha(Box<XChaCha20Poly1305>),
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

/// HKDF-SHA256 info prefix of envelope keys.
const ENVELOPE_INFO: &[u8] = b"keystore-rotation v1 envelope\0";

/// The envelope key of a data key: HKDF-SHA256(ikm = data key, no salt,
/// info = "keystore-rotation v1 envelope\0" || algorithm byte).
pub(crate) fn envelope_key(data_key: &KeyBytes, algorithm: Algorithm) -> KeyBytes {
    let mut info = [0u8; ENVELOPE_INFO.len() + 1];
    info[..ENVELOPE_INFO.len()].copy_from_slice(ENVELOPE_INFO);
    info[ENVELOPE_INFO.len()] = algorithm.id();
    let mut out = KeyBytes::zero();
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = Hkdf::<Sha256>::new(None, data_key.expose()).expand(&info, out.expose_mut());
    out
}

impl Cipher {
    /// The cipher of a key version, from its data key.
    pub(crate) fn new(data_key: &KeyBytes, algorithm: Algorithm) -> Cipher {
        let key = envelope_key(data_key, algorithm);
        match algorithm {
            Algorithm::Aes256Gcm => Cipher::Aes(Box::new(Aes256Gcm::new(key.expose().into()))),
            Algorithm::XChaCha20Poly1305 => {
                Cipher::XChaCha(Box::new(XChaCha20Poly1305::new(key.expose().into())))
            }
        }
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            Cipher::Aes(_) => Algorithm::Aes256Gcm,
            Cipher::XChaCha(_) => Algorithm::XChaCha20Poly1305,
        }
    }

    /// Seals `plaintext` with a fresh random nonce from the operating
    /// system's generator.
    pub(crate) fn seal(&self, key_id: KeyId, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 24];
        let n = self.algorithm().nonce_len();
        fill_random(&mut nonce[..n])?;
        self.seal_with_nonce(key_id, &nonce[..n], context, plaintext)
    }

    /// Seals with the given nonce. Only [`Cipher::seal`] and the
    /// test-vector tests call this: nonces are never chosen by callers.
    pub(crate) fn seal_with_nonce(
        &self,
        key_id: KeyId,
        nonce: &[u8],
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let alg = self.algorithm();
        let hlen = alg.header_len();
        let mut out = Vec::with_capacity(hlen + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(alg.id());
        out.extend_from_slice(&key_id.0.to_be_bytes());
        out.extend_from_slice(nonce);
        // Associated data = header || context. The header has a fixed
        // length for a given algorithm byte, so the split is unambiguous.
        let mut ad = Vec::with_capacity(hlen + context.len());
        ad.extend_from_slice(&out);
        ad.extend_from_slice(context);
        out.extend_from_slice(plaintext);
        let buf = &mut out[hlen..];
        let tag: [u8; TAG_LEN] = match self {
            Cipher::Aes(c) => c
                .encrypt_inout_detached(nonce.try_into().map_err(|_| nonce_err())?, &ad, buf.into())
                .map(Into::into),
            Cipher::XChaCha(c) => c
                .encrypt_inout_detached(nonce.try_into().map_err(|_| nonce_err())?, &ad, buf.into())
                .map(Into::into),
        }
        .map_err(|_| Error::invalid(Invalid::MessageTooLong))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Opens the body of a parsed envelope. The buffer is zeroized when
    /// dropped, on failure too.
    pub(crate) fn open(&self, header: &Header<'_>, context: &[u8]) -> Result<Plaintext> {
        if header.algorithm != self.algorithm() {
            return Err(Error::DecryptionFailed);
        }
        let hlen = header.bytes.len();
        let nonce = &header.bytes[8..];
        let ct_len = header.body.len() - TAG_LEN;
        let (ct, tag) = header.body.split_at(ct_len);
        let mut ad = Vec::with_capacity(hlen + context.len());
        ad.extend_from_slice(header.bytes);
        ad.extend_from_slice(context);
        let mut out = Plaintext::new(ct.to_vec());
        let ok = match self {
            Cipher::Aes(c) => c.decrypt_inout_detached(
                nonce.try_into().map_err(|_| nonce_err())?,
                &ad,
                out.as_mut_slice().into(),
                tag.try_into().map_err(|_| Error::DecryptionFailed)?,
            ),
            Cipher::XChaCha(c) => c.decrypt_inout_detached(
                nonce.try_into().map_err(|_| nonce_err())?,
                &ad,
                out.as_mut_slice().into(),
                tag.try_into().map_err(|_| Error::DecryptionFailed)?,
            ),
        };
        ok.map_err(|_| Error::DecryptionFailed)?;
        Ok(out)
    }
}

fn nonce_err() -> Error {
    Error::malformed(FORMAT, Malformed::WrongLength)
}
