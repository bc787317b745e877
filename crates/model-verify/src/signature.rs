//! Signed manifests: DSSE envelopes in Sigstore bundle JSON, Ed25519 (ours)
//! and ECDSA P-256 / P-384 (OpenSSF model_signing's key-based method).

use std::fmt;

use data_encoding::BASE64;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::digest::Sha256Digest;
use crate::error::Error;

const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A public key that a signed manifest is checked against.
///
/// Key files are PEM, `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo),
/// as written by `openssl pkey -pubout`: Ed25519 for manifests signed by
/// this crate, ECDSA P-256 or P-384 for bundles made by `model_signing`.
#[derive(Clone)]
pub struct PublicKey(KeyKind);

#[derive(Clone)]
enum KeyKind {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Parses a PEM SubjectPublicKeyInfo key (Ed25519, P-256 or P-384).
    ///
    /// # Errors
    /// [`Error::Key`] when the text is not such a key.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
            return Ok(Self(KeyKind::Ed25519(k)));
        }
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(Self(KeyKind::P256(k)));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(Self(KeyKind::P384(k)));
        }
        Err(Error::Key {
            reason: "not a PEM public key of a supported type (Ed25519, ECDSA P-256, ECDSA P-384)"
                .to_owned(),
        })
    }

    /// The key as PEM SubjectPublicKeyInfo (LF line endings).
    #[must_use]
    pub fn to_pem(&self) -> String {
        let le = ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF;
        let r = match &self.0 {
            KeyKind::Ed25519(k) => k.to_public_key_pem(le),
            KeyKind::P256(k) => k.to_public_key_pem(le),
            KeyKind::P384(k) => k.to_public_key_pem(le),
        };
        // Encoding a valid key cannot fail.
        r.unwrap_or_default()
    }

    /// The key hint bundles carry: SHA-256 of the PEM text, in hex (the
    /// convention of `model_signing`).
    #[must_use]
    pub fn hint(&self) -> String {
        Sha256Digest::of(self.to_pem().as_bytes()).to_hex()
    }

    /// The algorithm, for messages: `"Ed25519"`, `"ECDSA P-256"`, `"ECDSA P-384"`.
    #[must_use]
    pub fn algorithm(&self) -> &'static str {
        match self.0 {
            KeyKind::Ed25519(_) => "Ed25519",
            KeyKind::P256(_) => "ECDSA P-256",
            KeyKind::P384(_) => "ECDSA P-384",
        }
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        match &self.0 {
            KeyKind::Ed25519(k) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| k.verify_strict(message, &s).is_ok()),
            KeyKind::P256(k) => {
                p256::ecdsa::Signature::from_der(sig).is_ok_and(|s| k.verify(message, &s).is_ok())
            }
            KeyKind::P384(k) => {
                p384::ecdsa::Signature::from_der(sig).is_ok_and(|s| k.verify(message, &s).is_ok())
            }
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm())
            .field("hint", &self.hint())
            .finish()
    }
}

/// A signing key for manifests: Ed25519, or ECDSA P-256 (SHA-256), the key
/// type OpenSSF `model_signing verify key` can check. Zeroized on drop (by
/// `ed25519-dalek` and `p256`), never printed.
///
/// Key files are unencrypted PEM, `-----BEGIN PRIVATE KEY-----` (PKCS#8),
/// or for P-256 also `-----BEGIN EC PRIVATE KEY-----` (SEC1):
///
/// ```text
/// openssl genpkey -algorithm ed25519 -out model-signing.key
/// openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out model-signing.key
/// openssl pkey -in model-signing.key -pubout -out model-signing.pub
/// ```
pub struct SigningKey(SignerKind);

enum SignerKind {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

/// Largest private key file read (a PEM private key is a few hundred bytes).
const MAX_KEY_FILE: usize = 64 << 10;

/// Reads a secret file into one buffer allocated once at its final size
/// and zeroized on drop: no growth, so no freed copy of the key is left
/// behind by a reallocation (as `read_to_string` into a growing `String`
/// would). Files over `max` bytes are refused without being read.
pub(crate) fn read_secret_file(
    path: &std::path::Path,
    max: usize,
) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = zeroize::Zeroizing::new(vec![0u8; max + 1]);
    let mut n = 0;
    loop {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                if n > max {
                    return Err(Error::Key {
                        reason: format!("{}: larger than {max} bytes", path.display()),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    // Shorten in place: the capacity, and so the allocation, stays.
    buf.truncate(n);
    Ok(buf)
}

impl SigningKey {
    /// A fresh Ed25519 key from the operating system's random number
    /// generator.
    ///
    /// # Errors
    /// [`Error::Key`] when the OS cannot supply randomness.
    pub fn generate() -> Result<Self, Error> {
        let mut seed = ed25519_dalek::SecretKey::default();
        getrandom::fill(&mut seed).map_err(|e| Error::Key {
            reason: format!("no randomness from the OS: {e}"),
        })?;
        let k = ed25519_dalek::SigningKey::from_bytes(&seed);
        zeroize::Zeroize::zeroize(&mut seed);
        Ok(Self(SignerKind::Ed25519(k)))
    }

    /// A fresh ECDSA P-256 key from the operating system's random number
    /// generator (bundles it signs verify with `model_signing verify key`).
    ///
    /// # Errors
    /// [`Error::Key`] when the OS cannot supply randomness.
    pub fn generate_p256() -> Result<Self, Error> {
        // Rejection sampling: a 32-byte string is a valid scalar unless it
        // is zero or at least the group order (probability about 2^-32).
        for _ in 0..64 {
            let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::fill(bytes.as_mut()).map_err(|e| Error::Key {
                reason: format!("no randomness from the OS: {e}"),
            })?;
            if let Ok(k) = p256::ecdsa::SigningKey::from_slice(bytes.as_ref()) {
                return Ok(Self(SignerKind::P256(k)));
            }
        }
        Err(Error::Key {
            reason: "could not draw a P-256 scalar".to_owned(),
        })
    }

    /// Parses an unencrypted PEM private key: PKCS#8 Ed25519 or P-256, or
    /// SEC1 (`EC PRIVATE KEY`) P-256.
    ///
    /// # Errors
    /// [`Error::Key`] when the text is not such a key (the message never
    /// contains key bytes).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, Error> {
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            return Ok(Self(SignerKind::Ed25519(k)));
        }
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            return Ok(Self(SignerKind::P256(k)));
        }
        if let Ok(k) = p256::SecretKey::from_sec1_pem(pem) {
            return Ok(Self(SignerKind::P256(k.into())));
        }
        Err(Error::Key {
            reason: "not an unencrypted PEM private key of a supported type (PKCS#8 Ed25519 or P-256, SEC1 P-256)"
                .to_owned(),
        })
    }

    /// Reads an unencrypted PEM private key file (see
    /// [`SigningKey::from_pkcs8_pem`]). The file is read into one buffer,
    /// allocated once and zeroized when done, so no copy of the key text is
    /// left in freed memory.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Key`] when it is
    /// larger than 64 KiB, not UTF-8, or not such a key.
    pub fn from_pem_file(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = read_secret_file(path, MAX_KEY_FILE)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::Key {
            reason: format!("{}: not a PEM text file", path.display()),
        })?;
        Self::from_pkcs8_pem(text)
    }

    /// The key as PEM PKCS#8, zeroized when dropped.
    ///
    /// # Errors
    /// [`Error::Key`] if encoding fails (it does not for valid keys).
    pub fn to_pkcs8_pem(&self) -> Result<zeroize::Zeroizing<String>, Error> {
        let le = ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF;
        let r = match &self.0 {
            SignerKind::Ed25519(k) => k.to_pkcs8_pem(le).map_err(|_| ()),
            SignerKind::P256(k) => EncodePrivateKey::to_pkcs8_pem(k, le).map_err(|_| ()),
        };
        r.map_err(|()| Error::Key {
            reason: "cannot encode the key".to_owned(),
        })
    }

    /// The matching public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        match &self.0 {
            SignerKind::Ed25519(k) => PublicKey(KeyKind::Ed25519(k.verifying_key())),
            SignerKind::P256(k) => PublicKey(KeyKind::P256(*k.verifying_key())),
        }
    }

    /// The algorithm, for messages: `"Ed25519"` or `"ECDSA P-256"`.
    #[must_use]
    pub fn algorithm(&self) -> &'static str {
        match self.0 {
            SignerKind::Ed25519(_) => "Ed25519",
            SignerKind::P256(_) => "ECDSA P-256",
        }
    }

    /// Signs `message`: Ed25519 (64 bytes), or ECDSA P-256 with SHA-256
    /// (DER, RFC 6979 deterministic nonces).
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.0 {
            SignerKind::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(message).to_bytes().to_vec()
            }
            SignerKind::P256(k) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

/// DSSE pre-authentication encoding (DSSE protocol v1).
fn pae(payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {PAYLOAD_TYPE} {} ",
        PAYLOAD_TYPE.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleJson {
    media_type: String,
    verification_material: VerificationMaterial,
    dsse_envelope: Envelope,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerificationMaterial {
    #[serde(default)]
    public_key: Option<KeyHint>,
    #[serde(default)]
    tlog_entries: Vec<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct KeyHint {
    #[serde(default)]
    hint: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Serialize, Deserialize)]
struct EnvelopeSignature {
    sig: String,
    #[serde(default)]
    keyid: String,
}

/// A parsed (not yet verified) bundle.
pub(crate) struct Bundle(BundleJson);

impl Bundle {
    /// Parses `bytes` as a bundle if it is JSON with a `dsseEnvelope`; returns
    /// `None` for other JSON (a plain statement).
    pub(crate) fn parse_if_bundle(bytes: &[u8]) -> Result<Option<Self>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            #[serde(default)]
            dsse_envelope: Option<serde::de::IgnoredAny>,
        }
        let probe: Probe = serde_json::from_slice(bytes)
            .map_err(|e| Error::manifest(format!("not valid JSON: {e}")))?;
        if probe.dsse_envelope.is_none() {
            return Ok(None);
        }
        let b: BundleJson = serde_json::from_slice(bytes)
            .map_err(|e| Error::manifest(format!("not a Sigstore bundle: {e}")))?;
        if !b
            .media_type
            .starts_with("application/vnd.dev.sigstore.bundle")
        {
            return Err(Error::manifest(format!(
                "bundle media type {:?} is not a Sigstore bundle",
                b.media_type
            )));
        }
        if b.dsse_envelope.payload_type != PAYLOAD_TYPE {
            return Err(Error::manifest(format!(
                "DSSE payload type {:?} is not {PAYLOAD_TYPE:?}",
                b.dsse_envelope.payload_type
            )));
        }
        Ok(Some(Self(b)))
    }

    /// The decoded payload and the signatures, unverified.
    pub(crate) fn payload(&self) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
        let payload = BASE64
            .decode(self.0.dsse_envelope.payload.as_bytes())
            .map_err(|_| Error::manifest("DSSE payload is not base64"))?;
        let sigs = self
            .0
            .dsse_envelope
            .signatures
            .iter()
            .map(|s| BASE64.decode(s.sig.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Error::manifest("DSSE signature is not base64"))?;
        Ok((payload, sigs))
    }

    /// Checks the key hint (when present) and that a signature verifies
    /// under `key`; returns the payload.
    pub(crate) fn verify(&self, key: &PublicKey) -> Result<Vec<u8>, Error> {
        if let Some(h) = &self.0.verification_material.public_key
            && !h.hint.is_empty()
            && !bool::from(h.hint.as_bytes().ct_eq(key.hint().as_bytes()))
        {
            return Err(Error::BadSignature);
        }
        let (payload, sigs) = self.payload()?;
        if sigs.is_empty() {
            return Err(Error::Unsigned);
        }
        let message = pae(&payload);
        if sigs.iter().any(|s| key.verify(&message, s)) {
            Ok(payload)
        } else {
            Err(Error::BadSignature)
        }
    }

    /// Signs `payload` with `key` and returns the bundle JSON.
    pub(crate) fn sign(payload: &[u8], key: &SigningKey) -> String {
        let sig = key.sign(&pae(payload));
        let b = BundleJson {
            media_type: BUNDLE_MEDIA_TYPE.to_owned(),
            verification_material: VerificationMaterial {
                public_key: Some(KeyHint {
                    hint: key.public_key().hint(),
                }),
                tlog_entries: Vec::new(),
            },
            dsse_envelope: Envelope {
                payload: BASE64.encode(payload),
                payload_type: PAYLOAD_TYPE.to_owned(),
                signatures: vec![EnvelopeSignature {
                    sig: BASE64.encode(&sig),
                    keyid: String::new(),
                }],
            },
        };
        let mut s = serde_json::to_string_pretty(&b).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The key file is read into one buffer of its final capacity: no
    /// reallocation leaves a freed, unzeroized copy of the key text.
    #[test]
    fn key_file_is_read_into_one_zeroizing_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let k = SigningKey::generate_p256().unwrap();
        let mut pem = k.to_pkcs8_pem().unwrap().to_string();
        // Long enough that a growing read would reallocate several times.
        pem.insert_str(0, &"# padding line\n".repeat(200));
        let path = dir.path().join("k.pem");
        std::fs::write(&path, &pem).unwrap();
        let buf = read_secret_file(&path, MAX_KEY_FILE).unwrap();
        assert_eq!(buf.len(), pem.len());
        assert_eq!(buf.capacity(), MAX_KEY_FILE + 1);
        // Oversized files are refused as a key error.
        std::fs::write(&path, vec![b'a'; MAX_KEY_FILE + 10]).unwrap();
        assert!(matches!(
            read_secret_file(&path, MAX_KEY_FILE),
            Err(Error::Key { .. })
        ));
        // PEM key files of both types load.
        let dir2 = tempfile::tempdir().unwrap();
        for key in [
            SigningKey::generate().unwrap(),
            SigningKey::generate_p256().unwrap(),
        ] {
            let p = dir2.path().join("k");
            std::fs::write(&p, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
            let again = SigningKey::from_pem_file(&p).unwrap();
            assert_eq!(again.public_key().to_pem(), key.public_key().to_pem());
            assert!(!format!("{again:?}").contains("PRIVATE"));
        }
    }

    #[test]
    fn pae_matches_dsse_spec_example() {
        // DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world")
        // = "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; same
        // layout with the in-toto type.
        assert_eq!(
            pae(b"hello world"),
            b"DSSEv1 28 application/vnd.in-toto+json 11 hello world".to_vec()
        );
    }

    #[test]
    fn signing_key_debug_and_pem_round_trip() {
        let k = SigningKey::generate().unwrap();
        assert_eq!(
            format!("{k:?}"),
            "SigningKey { algorithm: \"Ed25519\", .. }"
        );
        let pem = k.to_pkcs8_pem().unwrap();
        let k2 = SigningKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(k.public_key().to_pem(), k2.public_key().to_pem());
        let pk = PublicKey::from_pem(&k.public_key().to_pem()).unwrap();
        assert_eq!(pk.algorithm(), "Ed25519");
        assert!(SigningKey::from_pkcs8_pem("nope").is_err());
        let e = PublicKey::from_pem(&pem).unwrap_err().to_string();
        assert!(!e.contains("PRIVATE"), "{e}");
    }
}
