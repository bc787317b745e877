//! Passphrase and master-key derivation of the unlock key.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;

use crate::error::{Error, Invalid, Result};
use crate::master_key::MasterKey;
use crate::secret::KeyBytes;

/// PBKDF2-HMAC-SHA256 iterations of [`Kdf::default`] (OWASP 2023).
pub const PBKDF2_DEFAULT_ITERATIONS: u32 = 600_000;
/// Argon2id memory cost of [`Kdf::argon2id`], in KiB (OWASP: 19 MiB).
pub const ARGON2_DEFAULT_M_KIB: u32 = 19_456;
/// Argon2id time cost (passes) of [`Kdf::argon2id`].
pub const ARGON2_DEFAULT_T: u32 = 2;
/// Argon2id parallelism of [`Kdf::argon2id`].
pub const ARGON2_DEFAULT_P: u32 = 1;

// Caps on KDF parameters, for those read from a file too. The KDF block is
// only covered by the checksum (anyone can recompute it) until the MAC is
// checked, and the MAC key comes out of the KDF, so an edited file could
// otherwise make an unlock run for minutes or allocate the machine's
// memory. A file over a cap is refused before the KDF runs. The caps are
// what a desktop computes in a few seconds: PBKDF2-HMAC-SHA256 runs about
// 8 million iterations a second on one core, Argon2id (one thread, as this
// crate runs it) about 1 GiB of memory passes a second.
/// The most PBKDF2 iterations accepted (10,000,000: about 1.3 s), from a
/// file too.
pub const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;
/// The largest Argon2id memory cost accepted, in KiB (256 MiB), from a file
/// too.
pub const ARGON2_MAX_M_KIB: u32 = 256 * 1024;
/// The most Argon2id passes accepted (8), from a file too.
pub const ARGON2_MAX_T: u32 = 8;
/// The most Argon2id lanes accepted (4), from a file too.
pub const ARGON2_MAX_P: u32 = 4;
/// The largest Argon2id work accepted, memory times passes, in KiB
/// (1 GiB: for example 256 MiB × 4 or 128 MiB × 8; a few seconds), from a
/// file too.
pub const ARGON2_MAX_WORK_KIB: u64 = 1024 * 1024;

pub(crate) const KDF_PBKDF2: u8 = 1;
pub(crate) const KDF_ARGON2ID: u8 = 2;
pub(crate) const KDF_MASTER_KEY: u8 = 3;

/// How a passphrase becomes the key that unlocks a keystore.
///
/// [`Kdf::default`] is PBKDF2-HMAC-SHA256 with 600,000 iterations;
/// [`Kdf::argon2id`] is Argon2id with m = 19,456 KiB, t = 2, p = 1. The
/// constructors refuse anything weaker. (Weaker parameters exist only
/// behind the crate's `test-util` feature, for tests and benchmarks: they
/// make unlocking cheap, and so make guessing cheap.)
///
/// A keystore opened with a stronger `Kdf` in its [`crate::Options`] than
/// the one stored in its file is upgraded at that unlock (see
/// [`crate::Keystore::open`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Kdf(KdfKind);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum KdfKind {
    Pbkdf2 { iterations: u32 },
    Argon2id { m_kib: u32, t: u32, p: u32 },
    MasterKey,
}

impl Default for Kdf {
    /// PBKDF2-HMAC-SHA256, 600,000 iterations.
    fn default() -> Self {
        Kdf(KdfKind::Pbkdf2 {
            iterations: PBKDF2_DEFAULT_ITERATIONS,
        })
    }
}

impl Kdf {
    /// PBKDF2-HMAC-SHA256 with `iterations`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] below 600,000 iterations or above
    /// [`PBKDF2_MAX_ITERATIONS`] (10,000,000).
    pub fn pbkdf2_sha256(iterations: u32) -> Result<Kdf> {
        if iterations < PBKDF2_DEFAULT_ITERATIONS {
            return Err(Error::invalid(Invalid::KdfTooWeak));
        }
        let k = Kdf(KdfKind::Pbkdf2 { iterations });
        k.0.check()?;
        Ok(k)
    }

    /// Argon2id with the recommended m = 19,456 KiB, t = 2, p = 1.
    pub fn argon2id() -> Kdf {
        Kdf(KdfKind::Argon2id {
            m_kib: ARGON2_DEFAULT_M_KIB,
            t: ARGON2_DEFAULT_T,
            p: ARGON2_DEFAULT_P,
        })
    }

    /// Argon2id with explicit costs: memory `m_kib` KiB, `t` passes, `p`
    /// lanes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if any cost is below the recommended
    /// minimum of [`Kdf::argon2id`] or above the caps
    /// [`ARGON2_MAX_M_KIB`] (256 MiB), [`ARGON2_MAX_T`] (8),
    /// [`ARGON2_MAX_P`] (4) and [`ARGON2_MAX_WORK_KIB`] (m × t, 1 GiB).
    pub fn argon2id_with(m_kib: u32, t: u32, p: u32) -> Result<Kdf> {
        if m_kib < ARGON2_DEFAULT_M_KIB || t < ARGON2_DEFAULT_T || p < ARGON2_DEFAULT_P {
            return Err(Error::invalid(Invalid::KdfTooWeak));
        }
        let k = Kdf(KdfKind::Argon2id { m_kib, t, p });
        k.0.check()?;
        Ok(k)
    }

    /// **Insecure** (feature `test-util`): PBKDF2-HMAC-SHA256 with any
    /// iteration count from 1. For tests and benchmarks that must not spend
    /// 75 ms per unlock. Never use it for a real keystore. A keystore
    /// written with it opens only with a lowered [`KdfFloor`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for 0 iterations or more than
    /// [`PBKDF2_MAX_ITERATIONS`].
    #[cfg(feature = "test-util")]
    pub fn insecure_pbkdf2_sha256(iterations: u32) -> Result<Kdf> {
        let k = Kdf(KdfKind::Pbkdf2 { iterations });
        k.0.check()?;
        Ok(k)
    }

    /// **Insecure** (feature `test-util`): Argon2id with any valid costs
    /// (m >= 8·p KiB). For tests only.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for costs Argon2 refuses or above the
    /// caps of [`Kdf::argon2id_with`].
    #[cfg(feature = "test-util")]
    pub fn insecure_argon2id(m_kib: u32, t: u32, p: u32) -> Result<Kdf> {
        let k = Kdf(KdfKind::Argon2id { m_kib, t, p });
        k.0.check()?;
        Ok(k)
    }

    /// The PBKDF2 iteration count, if this is PBKDF2.
    pub fn pbkdf2_iterations(&self) -> Option<u32> {
        match self.0 {
            KdfKind::Pbkdf2 { iterations } => Some(iterations),
            _ => None,
        }
    }

    /// The Argon2id costs `(m_kib, t, p)`, if this is Argon2id.
    pub fn argon2id_costs(&self) -> Option<(u32, u32, u32)> {
        match self.0 {
            KdfKind::Argon2id { m_kib, t, p } => Some((m_kib, t, p)),
            _ => None,
        }
    }

    /// Whether the keystore is unlocked by a [`MasterKey`] rather than a
    /// passphrase.
    pub fn is_master_key(&self) -> bool {
        self.0 == KdfKind::MasterKey
    }

    pub(crate) fn kind(&self) -> KdfKind {
        self.0
    }

    pub(crate) fn master_key() -> Kdf {
        Kdf(KdfKind::MasterKey)
    }

    pub(crate) fn from_kind(kind: KdfKind) -> Kdf {
        Kdf(kind)
    }

    /// Whether a keystore stored with `self` should be upgraded to `target`.
    ///
    /// Only a change that lowers no cost counts: PBKDF2 to more
    /// iterations; Argon2id to an m and a t that are both at least the
    /// stored ones, one of them larger, and a p at least the stored one;
    /// PBKDF2 to Argon2id. Argon2id is never "upgraded" to PBKDF2, and
    /// master keys are never touched. This is a strict partial order, so
    /// two option sets can never flip a keystore back and forth, and an
    /// upgrade never lowers the memory cost, the passes or the iterations.
    pub(crate) fn weaker_than(&self, target: &Kdf) -> bool {
        match (self.0, target.0) {
            (KdfKind::Pbkdf2 { iterations: a }, KdfKind::Pbkdf2 { iterations: b }) => a < b,
            (KdfKind::Pbkdf2 { .. }, KdfKind::Argon2id { .. }) => true,
            (
                KdfKind::Argon2id {
                    m_kib: m1,
                    t: t1,
                    p: p1,
                },
                KdfKind::Argon2id {
                    m_kib: m2,
                    t: t2,
                    p: p2,
                },
            ) => m2 >= m1 && t2 >= t1 && p2 >= p1 && (m2 > m1 || t2 > t1),
            _ => false,
        }
    }
}

/// The weakest KDF a keystore file may have: a stored passphrase KDF below
/// this floor is refused as [`crate::Check::KdfBelowFloor`] before any
/// derivation runs (an attacker who lowers the stored KDF and recomputes
/// the checksum would otherwise get a cheap guess at the passphrase from
/// whoever types it, and a tampered header would look like a wrong
/// passphrase).
///
/// The default is the crate's minimum: PBKDF2 with 600,000 iterations, or
/// Argon2id with m = 19,456 KiB, t = 2, p = 1. A stored Argon2id
/// passes with no cost below the floor's Argon2id costs; a stored PBKDF2
/// with at least the floor's iterations. Master-key keystores need no
/// stretching and are not subject to it. Raise it with
/// [`KdfFloor::new`] when your application only ever writes stronger
/// parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfFloor {
    pbkdf2_iterations: u32,
    argon2: (u32, u32, u32),
}

impl Default for KdfFloor {
    fn default() -> Self {
        KdfFloor {
            pbkdf2_iterations: PBKDF2_DEFAULT_ITERATIONS,
            argon2: (ARGON2_DEFAULT_M_KIB, ARGON2_DEFAULT_T, ARGON2_DEFAULT_P),
        }
    }
}

impl KdfFloor {
    /// A floor of at least `pbkdf2_iterations` PBKDF2 iterations, or of
    /// Argon2id costs of at least `argon2_m_kib` KiB, `argon2_t` passes and
    /// `argon2_p` lanes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] ([`Invalid::KdfTooWeak`]) below the
    /// default floor: lowering it is for tests only (feature `test-util`).
    pub fn new(
        pbkdf2_iterations: u32,
        argon2_m_kib: u32,
        argon2_t: u32,
        argon2_p: u32,
    ) -> Result<KdfFloor> {
        let d = KdfFloor::default();
        if pbkdf2_iterations < d.pbkdf2_iterations
            || argon2_m_kib < d.argon2.0
            || argon2_t < d.argon2.1
            || argon2_p < d.argon2.2
        {
            return Err(Error::invalid(Invalid::KdfTooWeak));
        }
        Ok(KdfFloor {
            pbkdf2_iterations,
            argon2: (argon2_m_kib, argon2_t, argon2_p),
        })
    }

    /// **Insecure** (feature `test-util`): admits any stored KDF, for
    /// keystores written with [`Kdf::insecure_pbkdf2_sha256`] or
    /// [`Kdf::insecure_argon2id`] in tests.
    #[cfg(feature = "test-util")]
    pub fn insecure_any() -> KdfFloor {
        KdfFloor {
            pbkdf2_iterations: 1,
            argon2: (0, 0, 0),
        }
    }

    /// A floor of `iterations` PBKDF2 iterations, for the crate's tests.
    #[cfg(test)]
    pub(crate) fn test_pbkdf2(iterations: u32) -> KdfFloor {
        KdfFloor {
            pbkdf2_iterations: iterations,
            argon2: (ARGON2_DEFAULT_M_KIB, ARGON2_DEFAULT_T, ARGON2_DEFAULT_P),
        }
    }

    /// Whether a stored KDF is at or above this floor.
    pub(crate) fn admits(&self, kind: KdfKind) -> bool {
        match kind {
            KdfKind::Pbkdf2 { iterations } => iterations >= self.pbkdf2_iterations,
            KdfKind::Argon2id { m_kib, t, p } => {
                let (fm, ft, fp) = self.argon2;
                m_kib >= fm && t >= ft && p >= fp
            }
            KdfKind::MasterKey => true,
        }
    }
}

impl fmt::Debug for Kdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            KdfKind::Pbkdf2 { iterations } => f
                .debug_struct("Pbkdf2Sha256")
                .field("iterations", &iterations)
                .finish(),
            KdfKind::Argon2id { m_kib, t, p } => f
                .debug_struct("Argon2id")
                .field("m_kib", &m_kib)
                .field("t", &t)
                .field("p", &p)
                .finish(),
            KdfKind::MasterKey => f.write_str("MasterKey"),
        }
    }
}

impl KdfKind {
    /// Checks parameters (also those read from a file).
    pub(crate) fn check(&self) -> Result<()> {
        match *self {
            KdfKind::Pbkdf2 { iterations } => {
                if iterations == 0 {
                    return Err(Error::invalid(Invalid::KdfOutOfRange));
                }
                if iterations > PBKDF2_MAX_ITERATIONS {
                    return Err(Error::invalid(Invalid::KdfOverCap));
                }
            }
            KdfKind::Argon2id { m_kib, t, p } => {
                if m_kib > ARGON2_MAX_M_KIB
                    || t > ARGON2_MAX_T
                    || p > ARGON2_MAX_P
                    || u64::from(m_kib) * u64::from(t) > ARGON2_MAX_WORK_KIB
                {
                    return Err(Error::invalid(Invalid::KdfOverCap));
                }
                argon2::Params::new(m_kib, t, p, Some(32))
                    .map_err(|_| Error::invalid(Invalid::KdfOutOfRange))?;
            }
            KdfKind::MasterKey => {}
        }
        Ok(())
    }

    /// (algorithm byte, p1, p2, p3) as stored in the file.
    pub(crate) fn encode(&self) -> (u8, u32, u32, u32) {
        match *self {
            KdfKind::Pbkdf2 { iterations } => (KDF_PBKDF2, iterations, 0, 0),
            KdfKind::Argon2id { m_kib, t, p } => (KDF_ARGON2ID, m_kib, t, p),
            KdfKind::MasterKey => (KDF_MASTER_KEY, 0, 0, 0),
        }
    }

    pub(crate) fn decode(alg: u8, p1: u32, p2: u32, p3: u32) -> Option<KdfKind> {
        match (alg, p1, p2, p3) {
            (KDF_PBKDF2, iterations, 0, 0) => Some(KdfKind::Pbkdf2 { iterations }),
            (KDF_ARGON2ID, m_kib, t, p) => Some(KdfKind::Argon2id { m_kib, t, p }),
            (KDF_MASTER_KEY, 0, 0, 0) => Some(KdfKind::MasterKey),
            _ => None,
        }
    }
}

/// What unlocks a keystore.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Credential<'a> {
    /// A passphrase (any bytes; UTF-8 text is typical). Stretched by the
    /// keystore's [`Kdf`].
    Passphrase(&'a [u8]),
    /// A random master key, typically read from a 0600 key file with
    /// [`MasterKey::read_file`]. No stretching is needed.
    MasterKey(&'a MasterKey),
}

impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Passphrase(_) => f.write_str("Passphrase(<redacted>)"),
            Credential::MasterKey(_) => f.write_str("MasterKey(<redacted>)"),
        }
    }
}

/// The initial SHA-256 state (FIPS 180-4 §5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) of one 32-byte block into `out`,
/// bit for bit what `pbkdf2::pbkdf2_hmac::<Sha256>` computes (a test
/// compares them), without its per-iteration costs.
///
/// Why not that call: it clones the whole HMAC object (two hash states and
/// a block buffer) for each of the 600,000 iterations, feeds the 32-byte
/// block through the buffer and pads it again every time. Compiled inside
/// this crate that copying ran about 10% slower than the same call in a
/// small binary (the profile showed the time in the clone's `memmove` and
/// the padding's `memset`, not in SHA-256). Here the HMAC key is absorbed
/// once into an inner and an outer state (RFC 2104), the one padded block
/// of each iteration is built once, and every iteration is exactly two
/// SHA-256 compressions (`sha2`'s `compress256`) on copies of two 32-byte
/// states. The first iteration, with the caller's salt, goes through the
/// `hmac` crate.
fn pbkdf2_sha256(password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8; 32]) {
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Digest;
    use sha2::block_api::compress256;
    use zeroize::Zeroizing;

    // The HMAC key block: the password, or its hash if longer than a block.
    let mut key = Zeroizing::new([0u8; 64]);
    if password.len() > 64 {
        // Into the zeroized key block directly: no copy of the hashed
        // password (the HMAC key) is left behind.
        let mut digest = Zeroizing::new([0u8; 32]);
        Sha256::new_with_prefix(password).finalize_into((&mut *digest).into());
        key[..32].copy_from_slice(&digest[..]);
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let mut pad = Zeroizing::new([[0u8; 64]; 1]);
    let mut inner = Zeroizing::new(SHA256_IV);
    let mut outer = Zeroizing::new(SHA256_IV);
    for (p, k) in pad[0].iter_mut().zip(key.iter()) {
        *p = k ^ 0x36;
    }
    compress256(&mut inner, &pad[..]);
    for (p, k) in pad[0].iter_mut().zip(key.iter()) {
        *p = k ^ 0x5c;
    }
    compress256(&mut outer, &pad[..]);

    // U_1 = HMAC(password, salt || INT(1)), keyed with the block-sized
    // key built above (HMAC pads shorter keys with zeros and hashes longer
    // ones first, so this is the same key; the fixed-size constructor
    // cannot fail).
    let mut mac = <Hmac<Sha256> as KeyInit>::new((&*key).into());
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let first = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
    out.copy_from_slice(&first[..]);

    // U_j = HMAC(password, U_{j-1}): a 32-byte message after a 64-byte
    // key block, so both hashes see one block: 32 bytes, 0x80, zeros, and
    // the bit length 8 * (64 + 32) = 768.
    let mut block = Zeroizing::new([[0u8; 64]; 1]);
    block[0][..32].copy_from_slice(&first[..]);
    block[0][32] = 0x80;
    block[0][56..].copy_from_slice(&768u64.to_be_bytes());
    let mut state = Zeroizing::new([0u32; 8]);
    for _ in 1..rounds {
        *state = *inner;
        compress256(&mut state, &block[..]);
        for (chunk, word) in block[0][..32].chunks_exact_mut(4).zip(state.iter()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        *state = *outer;
        compress256(&mut state, &block[..]);
        for ((chunk, word), o) in block[0][..32]
            .chunks_exact_mut(4)
            .zip(state.iter())
            .zip(out.chunks_exact_mut(4))
        {
            let bytes = word.to_be_bytes();
            chunk.copy_from_slice(&bytes);
            for (x, b) in o.iter_mut().zip(bytes) {
                *x ^= b;
            }
        }
    }
}

/// Derives the unlock key from the credential, the stored KDF and salt.
/// A credential of the wrong kind for the stored KDF is a wrong credential.
pub(crate) fn derive_unlock_key(
    credential: Credential<'_>,
    kdf: KdfKind,
    salt: &[u8; 16],
) -> Result<KeyBytes> {
    let mut out = KeyBytes::zero();
    match (credential, kdf) {
        (Credential::Passphrase(pw), KdfKind::Pbkdf2 { iterations }) => {
            pbkdf2_sha256(pw, salt, iterations, out.expose_mut());
        }
        (Credential::Passphrase(pw), KdfKind::Argon2id { m_kib, t, p }) => {
            let params = argon2::Params::new(m_kib, t, p, Some(32))
                .map_err(|_| Error::invalid(Invalid::KdfOutOfRange))?;
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_into(pw, salt, out.expose_mut())
                .map_err(|_| Error::invalid(Invalid::KdfOutOfRange))?;
        }
        (Credential::MasterKey(mk), KdfKind::MasterKey) => {
            // 32 bytes is always a valid HKDF-SHA256 output length.
            let _ = Hkdf::<Sha256>::new(Some(salt), mk.bytes().expose())
                .expand(b"keystore-rotation v1 master key unlock", out.expose_mut());
        }
        _ => return Err(Error::WrongCredential),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn default_is_pbkdf2_with_600000_iterations() {
        assert_eq!(Kdf::default().pbkdf2_iterations(), Some(600_000));
        assert_eq!(
            Kdf::default().kind(),
            KdfKind::Pbkdf2 {
                iterations: 600_000
            }
        );
    }

    #[test]
    fn checked_constructors_refuse_weak_parameters() {
        assert!(Kdf::pbkdf2_sha256(599_999).is_err());
        assert!(Kdf::pbkdf2_sha256(600_000).is_ok());
        assert!(Kdf::argon2id_with(19_455, 2, 1).is_err());
        assert!(Kdf::argon2id_with(19_456, 1, 1).is_err());
        assert_eq!(Kdf::argon2id().argon2id_costs(), Some((19_456, 2, 1)));
        assert!(Kdf::insecure_pbkdf2_sha256(0).is_err());
        assert!(Kdf::insecure_argon2id(1, 1, 1).is_err());
        assert!(
            KdfKind::Pbkdf2 {
                iterations: 200_000_000
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn parameters_above_the_caps_are_refused() {
        let pbkdf2 = |iterations| KdfKind::Pbkdf2 { iterations }.check().is_ok();
        assert!(pbkdf2(10_000_000));
        assert!(!pbkdf2(10_000_001));
        assert!(Kdf::pbkdf2_sha256(10_000_001).is_err());
        let argon = |m_kib, t, p| KdfKind::Argon2id { m_kib, t, p }.check().is_ok();
        // What a desktop does in a few seconds: 256 MiB, 8 passes, 4 lanes,
        // and at most 1 GiB of memory passes in all.
        assert!(argon(256 * 1024, 4, 4));
        assert!(argon(128 * 1024, 8, 1));
        assert!(!argon(256 * 1024, 5, 1));
        assert!(!argon(256 * 1024 + 1, 2, 1));
        // The old caps: 1 GiB and 16 passes per attempt.
        assert!(!argon(1024 * 1024, 16, 8));
        assert!(!argon(1024 * 1024, 2, 1));
        assert!(!argon(4 * 1024 * 1024, 64, 1));
        assert!(!argon(19_456, 9, 1));
        assert!(!argon(19_456, 2, 5));
        assert!(Kdf::argon2id_with(1024 * 1024, 2, 1).is_err());
        assert!(Kdf::argon2id_with(19_456, 16, 1).is_err());
        assert!(Kdf::argon2id_with(64 * 1024, 4, 1).is_ok());
        assert!(Kdf::insecure_argon2id(19_456, 64, 1).is_err());
    }

    #[test]
    fn weaker_than_orders_parameters() {
        let low = Kdf::insecure_pbkdf2_sha256(1000).unwrap();
        assert!(low.weaker_than(&Kdf::default()));
        assert!(!Kdf::default().weaker_than(&low));
        assert!(Kdf::default().weaker_than(&Kdf::argon2id()));
        assert!(!Kdf::argon2id().weaker_than(&Kdf::default()));
        assert!(!Kdf::master_key().weaker_than(&Kdf::default()));
    }

    #[test]
    fn an_upgrade_never_lowers_a_cost_and_never_flips_back() {
        let argon = |m, t, p| Kdf::insecure_argon2id(m, t, p).unwrap();
        // Stored m = 64 MiB, t = 1 is not "weaker" than the default
        // m = 19 MiB, t = 2: the upgrade would lower the memory cost.
        assert!(!argon(65_536, 1, 1).weaker_than(&Kdf::argon2id()));
        assert!(!Kdf::argon2id().weaker_than(&argon(65_536, 1, 1)));
        // More of one cost and no less of the others is an upgrade.
        assert!(Kdf::argon2id().weaker_than(&argon(65_536, 2, 1)));
        assert!(Kdf::argon2id().weaker_than(&argon(19_456, 3, 1)));
        // Parallelism alone changes no cost; a lower one is no upgrade.
        assert!(!Kdf::argon2id().weaker_than(&argon(19_456, 2, 2)));
        assert!(!argon(19_456, 2, 2).weaker_than(&argon(65_536, 2, 1)));
        // No pair of parameter sets upgrades both ways.
        let all = [
            argon(19_456, 2, 1),
            argon(65_536, 1, 1),
            argon(65_536, 2, 1),
            argon(19_456, 3, 1),
            argon(19_456, 2, 2),
            argon(32_768, 1, 4),
            Kdf::default(),
            Kdf::insecure_pbkdf2_sha256(1_000).unwrap(),
            Kdf::master_key(),
        ];
        for a in &all {
            assert!(!a.weaker_than(a), "{a:?} upgrades to itself");
            for b in &all {
                assert!(
                    !(a.weaker_than(b) && b.weaker_than(a)),
                    "{a:?} and {b:?} flip back and forth"
                );
            }
        }
    }

    #[test]
    fn pbkdf2_matches_the_rfc_7914_vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", c = 1, dkLen = 64),
        // first 32 bytes.
        let mut out = [0u8; 32];
        pbkdf2_sha256(b"passwd", b"salt", 1, &mut out);
        assert_eq!(
            data_encoding::HEXLOWER.encode(&out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn pbkdf2_matches_the_rfc_7914_vector_with_80000_iterations() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256("Password", "NaCl", c = 80000,
        // dkLen = 64), first 32 bytes.
        let mut out = [0u8; 32];
        pbkdf2_sha256(b"Password", b"NaCl", 80_000, &mut out);
        assert_eq!(
            data_encoding::HEXLOWER.encode(&out),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        );
    }

    #[test]
    fn our_pbkdf2_is_the_pbkdf2_crates() {
        // Passwords shorter than, equal to and longer than a SHA-256 block;
        // iteration counts 1, 2 and more.
        let long = [0x61u8; 100];
        let block = [0x62u8; 64];
        for (pw, rounds) in [
            (&b""[..], 1),
            (&b"passwd"[..], 1),
            (&b"passwd"[..], 2),
            (&b"correct horse battery staple"[..], 1000),
            (&block[..], 3),
            (&long[..], 17),
        ] {
            for salt in [[0u8; 16], [0xa5; 16], *b"0123456789abcdef"] {
                let mut ours = [0u8; 32];
                pbkdf2_sha256(pw, &salt, rounds, &mut ours);
                let mut theirs = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(pw, &salt, rounds, &mut theirs);
                assert_eq!(ours, theirs, "{} bytes, {rounds} rounds", pw.len());
            }
        }
    }

    /// Ours and the pbkdf2 crate's output for one input.
    fn both(pw: &[u8], salt: &[u8], rounds: u32) -> ([u8; 32], [u8; 32]) {
        let mut ours = [0u8; 32];
        pbkdf2_sha256(pw, salt, rounds, &mut ours);
        let mut theirs = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(pw, salt, rounds, &mut theirs);
        (ours, theirs)
    }

    #[test]
    fn our_pbkdf2_is_the_pbkdf2_crates_at_every_block_boundary() {
        // Passwords around the SHA-256 block (HMAC zero-pads up to 64
        // bytes and hashes longer keys), and salts that put `salt ||
        // INT(1)` on both sides of the 55- and 64-byte padding boundaries.
        for pw_len in [
            0usize, 1, 31, 32, 33, 55, 56, 63, 64, 65, 127, 128, 129, 1000,
        ] {
            let pw: Vec<u8> = (0..pw_len)
                .map(|i| u8::try_from((i * 7 + 1) % 256).unwrap_or_default())
                .collect();
            for salt_len in [0usize, 1, 16, 51, 52, 55, 56, 59, 60, 63, 64, 65, 200] {
                let salt: Vec<u8> = (0..salt_len)
                    .map(|i| u8::try_from((i * 13 + 5) % 256).unwrap_or_default())
                    .collect();
                for rounds in [1, 2, 3] {
                    let (ours, theirs) = both(&pw, &salt, rounds);
                    assert_eq!(
                        ours, theirs,
                        "password {pw_len} B, salt {salt_len} B, {rounds} rounds"
                    );
                }
            }
        }
    }

    mod prop {
        use super::both;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn our_pbkdf2_is_the_pbkdf2_crates_for_any_input(
                pw in proptest::collection::vec(any::<u8>(), 0..1100),
                salt in proptest::collection::vec(any::<u8>(), 0..300),
                rounds in 1u32..40,
            ) {
                let (ours, theirs) = both(&pw, &salt, rounds);
                prop_assert_eq!(ours, theirs);
            }
        }
    }

    #[test]
    fn wrong_kind_of_credential_is_a_wrong_credential() {
        let mk = MasterKey::generate().unwrap();
        let r = derive_unlock_key(
            Credential::MasterKey(&mk),
            KdfKind::Pbkdf2 { iterations: 1 },
            &[0; 16],
        );
        assert!(matches!(r, Err(Error::WrongCredential)));
        let r = derive_unlock_key(Credential::Passphrase(b"x"), KdfKind::MasterKey, &[0; 16]);
        assert!(matches!(r, Err(Error::WrongCredential)));
    }
}
