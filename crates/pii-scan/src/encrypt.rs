//! The reversible `encrypt` operator and its `decrypt` (Presidio's pair).
//!
//! Token: `<ENTITY_TYPE:enc1:B64>`, where B64 is base64url without padding of
//! `nonce (24 bytes) || ciphertext || tag (16 bytes)`, sealed with
//! XChaCha20-Poly1305 under the caller's 256-bit key. The nonce comes from
//! the OS generator; the associated data is `pii-scan enc1\0` followed by the
//! entity type's name, so a token moved to another entity type fails to
//! decrypt.

use std::fmt;
use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::BASE64URL_NOPAD;
use zeroize::Zeroizing;

use crate::{EntityType, Error};

/// Version tag of the token format, after the entity type.
const TAG: &str = "enc1";
/// The associated data's prefix (the entity type's name follows).
const AD_PREFIX: &[u8] = b"pii-scan enc1\0";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// A 256-bit key for [`Operator::Encrypt`](crate::Operator::Encrypt) and
/// [`EncryptKey::decrypt`]: zeroized on drop, never printed. Cloning shares
/// the one copy of the key bytes.
#[derive(Clone)]
pub struct EncryptKey(Arc<Zeroizing<[u8; 32]>>);

impl EncryptKey {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    /// Wraps 32 key bytes (keep them in a keystore: without them the
    /// tokens cannot be decrypted).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] unless `bytes` is exactly 32 bytes long.
    pub fn new(bytes: &[u8]) -> Result<Self, Error> {
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != Self::LEN {
            return Err(Error::InvalidOption {
                option: "encrypt key",
                reason: format!("must be exactly {} bytes", Self::LEN),
            });
        }
        key.copy_from_slice(bytes);
        Ok(EncryptKey(Arc::new(key)))
    }

    /// A new random key from the operating system's generator.
    ///
    /// # Errors
    /// [`Error::Random`] when the generator fails.
    pub fn generate() -> Result<Self, Error> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut key[..]).map_err(|e| Error::Random(e.to_string()))?;
        Ok(EncryptKey(Arc::new(key)))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        let Ok(c) = XChaCha20Poly1305::new_from_slice(&self.0[..]) else {
            unreachable!("a 32-byte key is an XChaCha20-Poly1305 key")
        };
        c
    }

    /// The token for `value` of type `entity`: `<ENTITY_TYPE:enc1:B64>`.
    pub(crate) fn token(&self, entity: &EntityType, value: &str) -> Result<String, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| Error::Random(e.to_string()))?;
        let ad = associated_data(entity.as_str());
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: &ad,
                },
            )
            .map_err(|_| Error::InvalidOption {
                option: "encrypt",
                reason: "value too large to encrypt".into(),
            })?;
        let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&sealed);
        Ok(format!(
            "<{}:{TAG}:{}>",
            entity.as_str(),
            BASE64URL_NOPAD.encode(&body)
        ))
    }

    /// Decrypts one token made by [`Operator::Encrypt`](crate::Operator::Encrypt)
    /// under this key: its entity type and the original value.
    ///
    /// ```
    /// use pii_scan::{Anonymizer, EncryptKey, EntityType, Operator, Scanner};
    /// let key = EncryptKey::generate()?;
    /// let text = "mail ann@example.org";
    /// let out = Anonymizer::new(Operator::Encrypt(key.clone()))
    ///     .anonymize(text, &Scanner::new().scan(text))?;
    /// let token = out.strip_prefix("mail ").unwrap();
    /// assert!(token.starts_with("<EMAIL_ADDRESS:enc1:"));
    /// let (entity, value) = key.decrypt(token)?;
    /// assert_eq!((entity, value.as_str()), (EntityType::EmailAddress, "ann@example.org"));
    /// assert_eq!(key.decrypt_text(&out)?.as_str(), text);
    /// # Ok::<(), pii_scan::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Decrypt`] when `token` is not such a token, or it does not
    /// authenticate: another key, a changed token, or a changed entity type.
    /// The message never quotes the token.
    pub fn decrypt(&self, token: &str) -> Result<(EntityType, Zeroizing<String>), Error> {
        let bad = |reason: &'static str| Error::Decrypt { reason };
        let inner = token
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .ok_or(bad("not an encrypt token (`<ENTITY_TYPE:enc1:...>`)"))?;
        let (name, rest) = inner
            .split_once(':')
            .ok_or(bad("not an encrypt token (`<ENTITY_TYPE:enc1:...>`)"))?;
        let b64 = rest
            .strip_prefix(TAG)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or(bad("not an encrypt token of format enc1"))?;
        let entity: EntityType = name
            .parse()
            .map_err(|_| bad("the token's entity type is not a valid name"))?;
        let body = BASE64URL_NOPAD
            .decode(b64.as_bytes())
            .map_err(|_| bad("the token's body is not base64url"))?;
        if body.len() < NONCE_LEN + TAG_LEN {
            return Err(bad("the token is too short"));
        }
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(nonce);
        let ad = associated_data(entity.as_str());
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(
                    &XNonce::from(n),
                    Payload {
                        msg: sealed,
                        aad: &ad,
                    },
                )
                .map_err(|_| {
                    bad("the token does not authenticate (wrong key, or the token or its entity type was changed)")
                })?,
        );
        let value = std::str::from_utf8(&plain)
            .map_err(|_| bad("the decrypted value is not UTF-8"))?
            .to_owned();
        Ok((entity, Zeroizing::new(value)))
    }

    /// `text` with every `<ENTITY_TYPE:enc1:...>` token decrypted in place
    /// (the inverse of anonymizing with [`Operator::Encrypt`](crate::Operator::Encrypt)
    /// under this key). Text between tokens is copied as it is.
    ///
    /// # Errors
    /// [`Error::Decrypt`] when any token fails to decrypt; nothing is returned
    /// then.
    pub fn decrypt_text(&self, text: &str) -> Result<Zeroizing<String>, Error> {
        let marker = format!(":{TAG}:");
        let mut out = Zeroizing::new(String::with_capacity(text.len()));
        let mut copied = 0;
        let mut from = 0;
        while let Some(m) = text[from..].find(&marker).map(|i| from + i) {
            // The token starts at the `<` before the entity name and ends at
            // the next `>`.
            let start = text[copied..m].rfind('<').map(|i| copied + i);
            let end = text[m..].find('>').map(|i| m + i + 1);
            match (start, end) {
                (Some(s), Some(e)) if is_name(&text[s + 1..m]) => {
                    let (_, value) = self.decrypt(&text[s..e])?;
                    out.push_str(&text[copied..s]);
                    out.push_str(&value);
                    copied = e;
                    from = e;
                }
                _ => from = m + marker.len(),
            }
        }
        out.push_str(&text[copied..]);
        Ok(out)
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn associated_data(entity: &str) -> Vec<u8> {
    let mut ad = Vec::with_capacity(AD_PREFIX.len() + entity.len());
    ad.extend_from_slice(AD_PREFIX);
    ad.extend_from_slice(entity.as_bytes());
    ad
}

impl fmt::Debug for EncryptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptKey").finish_non_exhaustive()
    }
}
