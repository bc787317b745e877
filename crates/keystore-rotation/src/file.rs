//! The keystore file: encoding, parsing, checksum and MAC (see FORMAT.md).

use std::path::Path;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::envelope::Algorithm;
use crate::error::{Check, Error, Format, Invalid, Malformed, Result};
use crate::kdf::KdfKind;
use crate::keystore::KeyState;
use crate::secret::KeyBytes;
use crate::secret::random_array;

pub(crate) const MAGIC: &[u8; 8] = b"KRSTORE\0";
pub(crate) const VERSION: u16 = 1;
const FORMAT: Format = Format::KeystoreFile;
/// The largest keystore file read or written (16 MiB, about 200,000 key
/// versions); a larger file is refused without being read.
pub const MAX_KEYSTORE_FILE_LEN: usize = 16 << 20;
/// Bytes before the first key version.
const FIXED_LEN: usize = 131;
/// MAC and checksum at the end.
const TRAILER_LEN: usize = 64;
/// A key version without its wrapped key.
const VERSION_FIXED_LEN: usize = 22;
/// nonce (12) || wrapped key (32) || tag (16)
pub(crate) const WRAP_LEN: usize = 60;

/// Everything the keystore file holds; no plaintext secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileState {
    pub(crate) keystore_id: [u8; 16],
    pub(crate) generation: u64,
    pub(crate) kdf: KdfKind,
    pub(crate) salt: [u8; 16],
    pub(crate) kek_wrap: [u8; WRAP_LEN],
    pub(crate) min_decrypt: u32,
    pub(crate) versions: Vec<VersionRecord>,
}

/// One key version as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VersionRecord {
    pub(crate) id: u32,
    pub(crate) algorithm: Algorithm,
    pub(crate) state: KeyState,
    /// Creation time, seconds since the Unix epoch.
    pub(crate) created: u64,
    /// Messages reserved (a persisted upper bound of messages encrypted).
    pub(crate) reserved: u64,
    /// `None` once destroyed.
    pub(crate) wrapped: Option<[u8; WRAP_LEN]>,
}

fn state_byte(s: KeyState) -> u8 {
    match s {
        KeyState::Primary => 1,
        KeyState::DecryptOnly => 2,
        KeyState::Destroyed => 3,
    }
}

fn state_from(b: u8) -> Option<KeyState> {
    match b {
        1 => Some(KeyState::Primary),
        2 => Some(KeyState::DecryptOnly),
        3 => Some(KeyState::Destroyed),
        _ => None,
    }
}

/// The KDF block: algorithm (1), salt (16), three parameters (4 each).
pub(crate) fn kdf_block(kdf: KdfKind, salt: &[u8; 16]) -> [u8; 29] {
    let (alg, p1, p2, p3) = kdf.encode();
    let mut b = [0u8; 29];
    b[0] = alg;
    b[1..17].copy_from_slice(salt);
    b[17..21].copy_from_slice(&p1.to_be_bytes());
    b[21..25].copy_from_slice(&p2.to_be_bytes());
    b[25..29].copy_from_slice(&p3.to_be_bytes());
    b
}

/// Associated data of the key-encryption key's wrap.
pub(crate) fn kek_ad(keystore_id: &[u8; 16], kdf: KdfKind, salt: &[u8; 16]) -> Vec<u8> {
    let mut ad = b"keystore-rotation v1 kek\0".to_vec();
    ad.extend_from_slice(keystore_id);
    ad.extend_from_slice(&kdf_block(kdf, salt));
    ad
}

/// Associated data of a data key's wrap.
pub(crate) fn data_key_ad(keystore_id: &[u8; 16], id: u32, alg: Algorithm) -> Vec<u8> {
    let mut ad = b"keystore-rotation v1 data key\0".to_vec();
    ad.extend_from_slice(keystore_id);
    ad.extend_from_slice(&id.to_be_bytes());
    ad.push(alg.id());
    ad
}

/// HKDF-SHA256(ikm = KEK, salt = keystore id, info = label).
pub(crate) fn kek_subkey(kek: &KeyBytes, keystore_id: &[u8; 16], label: &[u8]) -> KeyBytes {
    let mut out = KeyBytes::zero();
    let _ = Hkdf::<Sha256>::new(Some(keystore_id), kek.expose()).expand(label, out.expose_mut());
    out
}

pub(crate) const WRAP_LABEL: &[u8] = b"keystore-rotation v1 wrap";
pub(crate) const MAC_LABEL: &[u8] = b"keystore-rotation v1 file mac";

/// AES-256-GCM wrap of 32 key bytes under a fresh random nonce.
pub(crate) fn wrap_random(key: &KeyBytes, ad: &[u8], secret: &KeyBytes) -> Result<[u8; WRAP_LEN]> {
    wrap(key, &random_array()?, ad, secret)
}

/// AES-256-GCM wrap of 32 key bytes with the given nonce.
///
/// # Errors
/// [`Error::InvalidArgument`] if AES-GCM refuses to encrypt (it cannot for
/// 32 bytes and a short AD); the plaintext key is then wiped, never
/// returned.
pub(crate) fn wrap(
    key: &KeyBytes,
    nonce: &[u8; 12],
    ad: &[u8],
    secret: &KeyBytes,
) -> Result<[u8; WRAP_LEN]> {
    let cipher = Aes256Gcm::new(key.expose().into());
    let mut out = [0u8; WRAP_LEN];
    out[..12].copy_from_slice(nonce);
    out[12..44].copy_from_slice(secret.expose());
    let tag = cipher
        .encrypt_inout_detached(nonce.into(), ad, (&mut out[12..44]).into())
        .map(|t| -> [u8; 16] { t.into() });
    finish_wrap(out, tag.ok())
}

/// Appends the tag, or wipes the buffer (which may still hold the key in
/// the clear) and fails when encryption failed.
fn finish_wrap(mut out: [u8; WRAP_LEN], tag: Option<[u8; 16]>) -> Result<[u8; WRAP_LEN]> {
    match tag {
        Some(tag) => {
            out[44..].copy_from_slice(&tag);
            Ok(out)
        }
        None => {
            out.zeroize();
            Err(Error::invalid(Invalid::MessageTooLong))
        }
    }
}

/// Unwraps; `None` if the wrap does not authenticate.
pub(crate) fn unwrap(key: &KeyBytes, ad: &[u8], wrapped: &[u8; WRAP_LEN]) -> Option<KeyBytes> {
    let cipher = Aes256Gcm::new(key.expose().into());
    let mut out = KeyBytes::zero();
    out.expose_mut().copy_from_slice(&wrapped[12..44]);
    let nonce: &[u8; 12] = wrapped[..12].try_into().ok()?;
    let tag: &[u8; 16] = wrapped[44..].try_into().ok()?;
    cipher
        .decrypt_inout_detached(
            nonce.into(),
            ad,
            out.expose_mut().as_mut_slice().into(),
            tag.into(),
        )
        .ok()?;
    Some(out)
}

/// HMAC-SHA256 of `body` under `mac_key`.
pub(crate) fn mac(mac_key: &KeyBytes, body: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(mac_key.expose())
        .unwrap_or_else(|_| unreachable_hmac());
    m.update(body);
    m.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this is never reached.
    <Hmac<Sha256> as KeyInit>::new(&Default::default())
}

/// The hash a rollback anchor pins: SHA-256 of a label, the keystore id,
/// the KDF block and the KEK wrap (everything that decides whether a
/// credential unlocks the file).
pub(crate) fn header_hash(state: &FileState) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"keystore-rotation v1 header\0");
    h.update(state.keystore_id);
    h.update(kdf_block(state.kdf, &state.salt));
    h.update(state.kek_wrap);
    h.finalize().into()
}

/// The encoded length of `state`.
pub(crate) fn encoded_len(state: &FileState) -> usize {
    let wrapped = state
        .versions
        .iter()
        .filter(|v| v.wrapped.is_some())
        .count();
    FIXED_LEN + state.versions.len() * VERSION_FIXED_LEN + wrapped * WRAP_LEN + TRAILER_LEN
}

/// Serializes `state` and appends the MAC and the checksum.
pub(crate) fn encode(state: &FileState, mac_key: &KeyBytes) -> Vec<u8> {
    let mut b = Vec::with_capacity(FIXED_LEN + state.versions.len() * 82 + TRAILER_LEN);
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&VERSION.to_be_bytes());
    b.extend_from_slice(&state.keystore_id);
    b.extend_from_slice(&state.generation.to_be_bytes());
    b.extend_from_slice(&kdf_block(state.kdf, &state.salt));
    b.extend_from_slice(&state.kek_wrap);
    b.extend_from_slice(&state.min_decrypt.to_be_bytes());
    let count = u32::try_from(state.versions.len()).unwrap_or(u32::MAX);
    b.extend_from_slice(&count.to_be_bytes());
    for v in &state.versions {
        b.extend_from_slice(&v.id.to_be_bytes());
        b.push(v.algorithm.id());
        b.push(state_byte(v.state));
        b.extend_from_slice(&v.created.to_be_bytes());
        b.extend_from_slice(&v.reserved.to_be_bytes());
        if let Some(w) = &v.wrapped {
            b.extend_from_slice(w);
        }
    }
    let tag = mac(mac_key, &b);
    b.extend_from_slice(&tag);
    let sum = Sha256::digest(&b);
    b.extend_from_slice(&sum);
    b
}

/// Constant-time check of the MAC at the end of a parsed file.
pub(crate) fn verify_mac(mac_key: &KeyBytes, bytes: &[u8]) -> bool {
    if bytes.len() < FIXED_LEN + TRAILER_LEN {
        return false;
    }
    let body_end = bytes.len() - TRAILER_LEN;
    let expected = mac(mac_key, &bytes[..body_end]);
    bool::from(expected.ct_eq(&bytes[body_end..body_end + 32]))
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.arr::<1>()?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.arr()?))
    }
}

/// The start shared by every file format of this crate: an 8-byte magic
/// (else [`Malformed::BadMagic`]) and a big-endian `u16` version (else
/// [`Error::UnsupportedVersion`]).
pub(crate) fn check_magic_and_version(
    bytes: &[u8],
    magic: &[u8; 8],
    version: u16,
    format: Format,
) -> Result<()> {
    if bytes.len() < 10 || &bytes[..8] != magic {
        return Err(Error::malformed(format, Malformed::BadMagic));
    }
    let found = u16::from_be_bytes([bytes[8], bytes[9]]);
    if found != version {
        return Err(Error::UnsupportedVersion {
            format,
            version: found,
        });
    }
    Ok(())
}

/// Checks magic, version and checksum, then parses the structure. The MAC
/// is checked later, once the key-encryption key is known.
pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<FileState> {
    check_magic_and_version(bytes, MAGIC, VERSION, FORMAT)?;
    let tampered = |check| Error::tampered(path, check);
    if bytes.len() < FIXED_LEN + TRAILER_LEN {
        return Err(tampered(Check::Length));
    }
    let sum_at = bytes.len() - 32;
    let sum = Sha256::digest(&bytes[..sum_at]);
    if !bool::from(sum.as_slice().ct_eq(&bytes[sum_at..])) {
        return Err(tampered(Check::Checksum));
    }
    // The KDF parameters before anything else that could lead to running
    // the KDF: they are not authenticated until the MAC (whose key comes
    // out of the KDF) is checked, so parameters over the caps are refused
    // here rather than run.
    let kdf_params =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    if let Some(kdf) = KdfKind::decode(bytes[34], kdf_params(51), kdf_params(55), kdf_params(59))
        && kdf.check().is_err()
    {
        return Err(tampered(Check::KdfParameters));
    }
    parse_structure(&bytes[..bytes.len() - TRAILER_LEN]).ok_or_else(|| tampered(Check::Structure))
}

fn parse_structure(body: &[u8]) -> Option<FileState> {
    let mut r = Reader { b: body, pos: 10 };
    let keystore_id = r.arr::<16>()?;
    let generation = r.u64()?;
    let alg = r.u8()?;
    let salt = r.arr::<16>()?;
    let (p1, p2, p3) = (r.u32()?, r.u32()?, r.u32()?);
    let kdf = KdfKind::decode(alg, p1, p2, p3)?;
    kdf.check().ok()?;
    let kek_wrap = r.arr::<WRAP_LEN>()?;
    let min_decrypt = r.u32()?;
    let count = usize::try_from(r.u32()?).ok()?;
    if count == 0 || count > body.len() / VERSION_FIXED_LEN {
        return None;
    }
    let mut versions = Vec::with_capacity(count);
    let mut primaries = 0;
    for _ in 0..count {
        let id = r.u32()?;
        let algorithm = Algorithm::from_id(r.u8()?)?;
        let state = state_from(r.u8()?)?;
        let created = r.u64()?;
        // A creation time no clock of this platform can give (the writer
        // takes it from a `SystemTime`) is not ours.
        std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(created))?;
        let reserved = r.u64()?;
        let wrapped = match state {
            KeyState::Destroyed => None,
            _ => Some(r.arr::<WRAP_LEN>()?),
        };
        if state == KeyState::Primary {
            primaries += 1;
        }
        if id == 0 || versions.last().is_some_and(|p: &VersionRecord| p.id >= id) {
            return None;
        }
        versions.push(VersionRecord {
            id,
            algorithm,
            state,
            created,
            reserved,
            wrapped,
        });
    }
    let max_id = versions.last()?.id;
    if r.pos != body.len() || primaries != 1 || min_decrypt > max_id {
        return None;
    }
    Some(FileState {
        keystore_id,
        generation,
        kdf,
        salt,
        kek_wrap,
        min_decrypt,
        versions,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> FileState {
        FileState {
            keystore_id: [7; 16],
            generation: 3,
            kdf: KdfKind::Pbkdf2 { iterations: 1000 },
            salt: [9; 16],
            kek_wrap: [1; WRAP_LEN],
            min_decrypt: 0,
            versions: vec![
                VersionRecord {
                    id: 1,
                    algorithm: Algorithm::Aes256Gcm,
                    state: KeyState::Destroyed,
                    created: 10,
                    reserved: 5,
                    wrapped: None,
                },
                VersionRecord {
                    id: 2,
                    algorithm: Algorithm::XChaCha20Poly1305,
                    state: KeyState::Primary,
                    created: 20,
                    reserved: 65_536,
                    wrapped: Some([2; WRAP_LEN]),
                },
            ],
        }
    }

    #[test]
    fn encode_parse_round_trip_and_mac() {
        let key = KeyBytes::from_slice(&[3; 32]).unwrap();
        let bytes = encode(&sample(), &key);
        assert_eq!(bytes.len(), FIXED_LEN + 22 + 82 + TRAILER_LEN);
        assert_eq!(parse(&bytes, Path::new("k")).unwrap(), sample());
        assert!(verify_mac(&key, &bytes));
        assert!(!verify_mac(
            &KeyBytes::from_slice(&[4; 32]).unwrap(),
            &bytes
        ));
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let key = KeyBytes::from_slice(&[3; 32]).unwrap();
        let bytes = encode(&sample(), &key);
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            let r = parse(&b, Path::new("k"));
            assert!(
                r.is_err() || !verify_mac(&key, &b),
                "flip of bit {i} went unnoticed"
            );
        }
    }

    #[test]
    fn structure_is_checked_even_with_a_valid_checksum() {
        let key = KeyBytes::from_slice(&[3; 32]).unwrap();
        let mut two_primaries = sample();
        two_primaries.versions[0].state = KeyState::Primary;
        two_primaries.versions[0].wrapped = Some([5; WRAP_LEN]);
        let b = encode(&two_primaries, &key);
        assert!(matches!(
            parse(&b, Path::new("k")),
            Err(Error::Tampered {
                check: Check::Structure,
                ..
            })
        ));
        let mut unordered = sample();
        unordered.versions.swap(0, 1);
        let b = encode(&unordered, &key);
        assert!(matches!(
            parse(&b, Path::new("k")),
            Err(Error::Tampered {
                check: Check::Structure,
                ..
            })
        ));
    }

    #[test]
    fn kdf_parameters_over_the_caps_are_refused_before_any_kdf_runs() {
        let key = KeyBytes::from_slice(&[3; 32]).unwrap();
        for (kdf, accepted) in [
            (
                KdfKind::Pbkdf2 {
                    iterations: 10_000_000,
                },
                true,
            ),
            (
                KdfKind::Pbkdf2 {
                    iterations: 10_000_001,
                },
                false,
            ),
            (
                KdfKind::Pbkdf2 {
                    iterations: 100_000_000,
                },
                false,
            ),
            (
                KdfKind::Pbkdf2 {
                    iterations: u32::MAX,
                },
                false,
            ),
            (
                KdfKind::Argon2id {
                    m_kib: 256 << 10,
                    t: 4,
                    p: 4,
                },
                true,
            ),
            (
                KdfKind::Argon2id {
                    m_kib: 128 << 10,
                    t: 8,
                    p: 1,
                },
                true,
            ),
            // The old caps (1 GiB, 16 passes, 8 lanes): about 16 s and
            // 1 GiB per attempt on a desktop. Refused now.
            (
                KdfKind::Argon2id {
                    m_kib: 1 << 20,
                    t: 16,
                    p: 8,
                },
                false,
            ),
            (
                KdfKind::Argon2id {
                    m_kib: (256 << 10) + 1,
                    t: 2,
                    p: 1,
                },
                false,
            ),
            (
                KdfKind::Argon2id {
                    m_kib: 256 << 10,
                    t: 5,
                    p: 1,
                },
                false,
            ),
            (
                KdfKind::Argon2id {
                    m_kib: 19_456,
                    t: 9,
                    p: 1,
                },
                false,
            ),
            (
                KdfKind::Argon2id {
                    m_kib: 19_456,
                    t: 2,
                    p: 5,
                },
                false,
            ),
        ] {
            let mut state = sample();
            state.kdf = kdf;
            let r = parse(&encode(&state, &key), Path::new("k"));
            if accepted {
                assert_eq!(r.unwrap().kdf, kdf);
            } else {
                assert!(
                    matches!(
                        r,
                        Err(Error::Tampered {
                            check: Check::KdfParameters,
                            ..
                        })
                    ),
                    "{kdf:?}: {r:?}"
                );
            }
        }
    }

    #[test]
    fn a_failed_wrap_is_an_error_and_never_returns_the_key() {
        let mut buf = [0u8; WRAP_LEN];
        buf[..12].copy_from_slice(&[1; 12]);
        buf[12..44].copy_from_slice(&[0x5a; 32]); // the key in the clear
        assert!(matches!(
            finish_wrap(buf, None),
            Err(Error::InvalidArgument { .. })
        ));
        let ok = finish_wrap(buf, Some([7; 16])).unwrap();
        assert_eq!(ok[44..], [7; 16]);
    }

    #[test]
    fn wrap_round_trip_and_ad_binding() {
        let k = KeyBytes::from_slice(&[1; 32]).unwrap();
        let s = KeyBytes::from_slice(&[2; 32]).unwrap();
        let w = wrap(&k, &[0; 12], b"ad", &s).unwrap();
        assert_eq!(unwrap(&k, b"ad", &w).unwrap().expose(), s.expose());
        assert!(unwrap(&k, b"other", &w).is_none());
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        fn version() -> impl Strategy<Value = (u8, bool, u64, u64, [u8; WRAP_LEN])> {
            (
                1u8..4,
                any::<bool>(),
                0u64..(1 << 62),
                any::<u64>(),
                prop::array::uniform32(any::<u8>()),
            )
                .prop_map(|(gap, xchacha, created, reserved, half)| {
                    let mut w = [0u8; WRAP_LEN];
                    w[..32].copy_from_slice(&half);
                    w[28..].copy_from_slice(&half);
                    (gap, xchacha, created, reserved, w)
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            #[test]
            fn wrap_unwrap_round_trip(key in prop::array::uniform32(any::<u8>()),
                                      secret in prop::array::uniform32(any::<u8>()),
                                      nonce in prop::array::uniform12(any::<u8>()),
                                      ad in prop::collection::vec(any::<u8>(), 0..64),
                                      flip in 0usize..WRAP_LEN * 8) {
                let k = KeyBytes::from_slice(&key).unwrap();
                let s = KeyBytes::from_slice(&secret).unwrap();
                let w = wrap(&k, &nonce, &ad, &s).unwrap();
                let back = unwrap(&k, &ad, &w).unwrap();
                prop_assert_eq!(back.expose(), &secret);
                let mut bad = w;
                bad[flip / 8] ^= 1 << (flip % 8);
                prop_assert!(unwrap(&k, &ad, &bad).is_none());
            }

            #[test]
            fn encode_parse_round_trip(versions in prop::collection::vec(version(), 1..12),
                                       primary in any::<prop::sample::Index>(),
                                       destroyed in prop::collection::vec(any::<bool>(), 12),
                                       generation in any::<u64>(),
                                       argon in any::<bool>()) {
                let p = primary.index(versions.len());
                let mut id = 0u32;
                let versions: Vec<VersionRecord> = versions
                    .into_iter()
                    .enumerate()
                    .map(|(i, (gap, xchacha, created, reserved, w))| {
                        id += u32::from(gap);
                        let state = if i == p {
                            KeyState::Primary
                        } else if destroyed[i] {
                            KeyState::Destroyed
                        } else {
                            KeyState::DecryptOnly
                        };
                        VersionRecord {
                            id,
                            algorithm: if xchacha { Algorithm::XChaCha20Poly1305 } else { Algorithm::Aes256Gcm },
                            state,
                            created,
                            reserved,
                            wrapped: (state != KeyState::Destroyed).then_some(w),
                        }
                    })
                    .collect();
                let state = FileState {
                    keystore_id: [1; 16],
                    generation,
                    kdf: if argon {
                        KdfKind::Argon2id { m_kib: 19_456, t: 2, p: 1 }
                    } else {
                        KdfKind::Pbkdf2 { iterations: 600_000 }
                    },
                    salt: [2; 16],
                    kek_wrap: [3; WRAP_LEN],
                    min_decrypt: id / 2,
                    versions,
                };
                let key = KeyBytes::from_slice(&[9; 32]).unwrap();
                let bytes = encode(&state, &key);
                prop_assert_eq!(parse(&bytes, Path::new("k")).unwrap(), state);
                prop_assert!(verify_mac(&key, &bytes));
            }
        }
    }
}
