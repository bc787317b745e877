//! Signed checkpoints of the log's head (C2SP signed-note style).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const ORIGIN_PREFIX: &str = "encrypted-audit-log/";
const BASE64: data_encoding::Encoding = data_encoding::BASE64;

/// A signed checkpoint: the log's origin (its id), how many records it had
/// (`size`, so the last anchored record is `size - 1`), and the chain value
/// after that record, signed with Ed25519.
///
/// The text form follows C2SP's checkpoint and signed-note formats:
///
/// ```text
/// encrypted-audit-log/<32 hex digits of the log id>
/// <size>
/// <base64 of the 32-byte chain value>
/// verification-key <64 hex digits of the log's public key>
///
/// — <key name> <base64 of (4-byte key hash ‖ 64-byte signature)>
/// ```
///
/// where the key hash is the first 4 bytes of
/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)` and the signature covers the
/// first four lines (each ending in a newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    log_id: [u8; 16],
    size: u64,
    chain: [u8; 32],
    log_key: [u8; 32],
    text: String,
}

fn key_hash(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, 0x01]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn body(log_id: &[u8; 16], size: u64, chain: &[u8; 32], vk: &[u8; 32]) -> String {
    format!(
        "{ORIGIN_PREFIX}{}\n{size}\n{}\n{VK_PREFIX}{}\n",
        data_encoding::HEXLOWER.encode(log_id),
        BASE64.encode(chain),
        data_encoding::HEXLOWER.encode(vk)
    )
}

const VK_PREFIX: &str = "verification-key ";

impl Checkpoint {
    pub(crate) fn sign(
        log_id: &[u8; 16],
        size: u64,
        chain: &[u8; 32],
        log_key: &[u8; 32],
        key: &SigningKey,
        name: &str,
    ) -> Result<Checkpoint> {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
            return Err(Error::InvalidInput(
                "a checkpoint key name must be non-empty, without spaces or `+`".into(),
            ));
        }
        let body = body(log_id, size, chain, log_key);
        let sig: Signature = key.sign(body.as_bytes());
        let mut blob = key_hash(name, &key.verifying_key()).to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        let text = format!("{body}\n\u{2014} {name} {}\n", BASE64.encode(&blob));
        Ok(Checkpoint {
            log_id: *log_id,
            size,
            chain: *chain,
            log_key: *log_key,
            text,
        })
    }

    /// Parses `text` and checks that one of its signature lines is a valid
    /// signature by `key`.
    ///
    /// # Errors
    /// [`Error::BadAnchor`] naming what is wrong: the layout, the origin,
    /// the size, the hash, or no valid signature by `key`.
    pub fn verify(text: &str, key: &VerifyingKey) -> Result<Checkpoint> {
        let bad = |m: &str| Error::BadAnchor(m.to_owned());
        let Some(split) = text.find("\n\n") else {
            return Err(bad(
                "no blank line between the checkpoint body and its signatures",
            ));
        };
        let (body_text, sigs) = (&text[..=split], &text[split + 2..]);
        let mut lines = body_text.lines();
        let origin = lines.next().ok_or_else(|| bad("missing origin line"))?;
        let hex = origin
            .strip_prefix(ORIGIN_PREFIX)
            .ok_or_else(|| bad("origin is not an encrypted-audit-log"))?;
        let id = data_encoding::HEXLOWER
            .decode(hex.as_bytes())
            .ok()
            .and_then(|v| <[u8; 16]>::try_from(v).ok())
            .ok_or_else(|| bad("origin does not hold a 128-bit log id"))?;
        let size_line = lines.next().ok_or_else(|| bad("missing size line"))?;
        if size_line.is_empty()
            || !size_line.bytes().all(|b| b.is_ascii_digit())
            || (size_line.len() > 1 && size_line.starts_with('0'))
        {
            return Err(bad("size is not a decimal number"));
        }
        let size: u64 = size_line.parse().map_err(|_| bad("size is out of range"))?;
        let hash_line = lines.next().ok_or_else(|| bad("missing hash line"))?;
        let chain = BASE64
            .decode(hash_line.as_bytes())
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| bad("hash is not 32 bytes of base64"))?;
        let vk_line = lines
            .next()
            .ok_or_else(|| bad("missing verification-key line"))?;
        let log_key = vk_line
            .strip_prefix(VK_PREFIX)
            .and_then(|h| data_encoding::HEXLOWER.decode(h.as_bytes()).ok())
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| bad("verification-key line is not 32 bytes of hex"))?;
        if lines.next().is_some() {
            return Err(bad("unexpected extra lines in the checkpoint body"));
        }
        if body(&id, size, &chain, &log_key) != body_text {
            return Err(bad("checkpoint body is not in canonical form"));
        }
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return Err(bad(
                    "signature lines must start with an em dash and a space",
                ));
            };
            let Some((name, b64)) = rest.split_once(' ') else {
                return Err(bad("signature line lacks a key name or signature"));
            };
            let Ok(blob) = BASE64.decode(b64.as_bytes()) else {
                continue;
            };
            if blob.len() != 68 || blob[..4] != key_hash(name, key) {
                continue;
            }
            let Ok(sig) = Signature::from_slice(&blob[4..]) else {
                continue;
            };
            if key.verify_strict(body_text.as_bytes(), &sig).is_ok() {
                return Ok(Checkpoint {
                    log_id: id,
                    size,
                    chain,
                    log_key,
                    text: text.to_owned(),
                });
            }
            return Err(bad("the signature by this key does not verify"));
        }
        Err(bad("no signature by this key"))
    }

    /// The checkpoint text, to store elsewhere.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How many records the log had (the last anchored one is `size - 1`).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The log's id.
    pub fn log_id(&self) -> [u8; 16] {
        self.log_id
    }

    /// The log's public verification key, as the checkpoint states it.
    ///
    /// # Errors
    /// [`Error::BadAnchor`] if the bytes are not a valid Ed25519 key.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        VerifyingKey::from_bytes(&self.log_key)
            .map_err(|_| Error::BadAnchor("the verification key is not a valid key".into()))
    }

    pub(crate) fn chain(&self) -> [u8; 32] {
        self.chain
    }
}

impl std::fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_reject_edits() {
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let cp = Checkpoint::sign(&[1u8; 16], 42, &[2u8; 32], &[9u8; 32], &key, "me").unwrap();
        let back = Checkpoint::verify(cp.text(), &key.verifying_key()).unwrap();
        assert_eq!(back, cp);
        assert!(
            cp.text()
                .starts_with("encrypted-audit-log/01010101010101010101010101010101\n42\n")
        );
        let edited = cp.text().replace("\n42\n", "\n41\n");
        assert!(matches!(
            Checkpoint::verify(&edited, &key.verifying_key()),
            Err(Error::BadAnchor(_))
        ));
        let other = SigningKey::from_bytes(&[6u8; 32]);
        assert!(Checkpoint::verify(cp.text(), &other.verifying_key()).is_err());
        assert!(Checkpoint::verify("garbage", &key.verifying_key()).is_err());
        assert!(
            Checkpoint::sign(&[1u8; 16], 1, &[2u8; 32], &[9u8; 32], &key, "has space").is_err()
        );
    }
}
