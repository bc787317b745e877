#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod anchor;
mod envelope;
mod error;
mod file;
mod kdf;
mod keystore;
mod master_key;
mod secret;
mod storage;
#[cfg(test)]
mod vectors;

// The public interface is:
pub use crate::anchor::{ANCHOR_LEN, Anchor, FileAnchor, RollbackAnchor};
pub use crate::envelope::{Algorithm, KeyId, envelope_key_id};
pub use crate::error::{
    Check, Error, Format, Invalid, Malformed, RandomError, Result, StorageError, StorageKind,
};
pub use crate::file::MAX_KEYSTORE_FILE_LEN;
pub use crate::kdf::{
    ARGON2_DEFAULT_M_KIB, ARGON2_DEFAULT_P, ARGON2_DEFAULT_T, ARGON2_MAX_M_KIB, ARGON2_MAX_P,
    ARGON2_MAX_T, ARGON2_MAX_WORK_KIB, Credential, Kdf, KdfFloor, PBKDF2_DEFAULT_ITERATIONS,
    PBKDF2_MAX_ITERATIONS,
};
pub use crate::keystore::{
    BACKUP_FILE, COUNTER_BLOCK, COUNTER_BLOCK_MAX, Clock, DEFAULT_MAX_AGE, DEFAULT_MAX_MESSAGES,
    KEYSTORE_FILE, KeyInfo, KeyState, Keystore, MAX_MESSAGES_LIMIT, Options, RotationPolicy,
    SystemClock,
};
pub use crate::master_key::MasterKey;
pub use crate::secret::{Plaintext, Subkey};
/// Re-exported for [`Plaintext::into_zeroizing`].
pub use zeroize::Zeroizing;

/// Test and benchmark support (feature `test-util`); not part of the
/// stable API.
#[cfg(feature = "test-util")]
#[doc(hidden)]
pub mod test_util {
    /// The keystore file's MAC check, as [`crate::Keystore::open`] runs it:
    /// HMAC-SHA256 over everything but the last 64 bytes, compared in
    /// constant time with the 32 bytes that follow. For the dudect bench.
    pub fn verify_file_mac(mac_key: &[u8; 32], file: &[u8]) -> bool {
        crate::file::verify_mac(
            &crate::secret::KeyBytes::from_slice(mac_key)
                .unwrap_or_else(crate::secret::KeyBytes::zero),
            file,
        )
    }

    /// HMAC-SHA256 of `body`, the MAC `verify_file_mac` expects.
    pub fn file_mac(mac_key: &[u8; 32], body: &[u8]) -> [u8; 32] {
        crate::file::mac(
            &crate::secret::KeyBytes::from_slice(mac_key)
                .unwrap_or_else(crate::secret::KeyBytes::zero),
            body,
        )
    }
}

/// Fuzzing entry points (`cfg(fuzzing)`, used by `fuzz/`): keystore
/// files (checksum recomputed, and made authentic to reach the open path
/// behind the MAC), envelopes, anchor and master key files.
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub mod fuzz;
