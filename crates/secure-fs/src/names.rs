//! Keyed private file names: a listing reveals neither ids, dates nor order.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Domain separation, so that names never equal another HMAC of the same
/// key over the same bytes. Part of the name format (version 1).
const DOMAIN: &[u8] = b"secure-fs private-name v1\0";

/// Length in characters of every name [`PrivateNamer::name`] returns.
pub const PRIVATE_NAME_LEN: usize = 64;

/// Maps ids (entry UUIDs, dates, sequence numbers) to file names that are
/// fixed-length, file-name safe and unlinkable to the id without the key.
///
/// `name = lowercase_hex(HMAC-SHA256(key, "secure-fs private-name v1\0" || id))`,
/// 64 characters of `[0-9a-f]`: safe on every file system, including
/// case-insensitive ones. The same key and id always give the same name, so
/// a file can be found again; different ids never collide in practice
/// (256-bit output). Derive the key from your master key with a label of its
/// own (do not reuse an encryption key).
///
/// ```
/// use secure_fs::PrivateNamer;
///
/// let namer = PrivateNamer::new(&[7u8; 32]);
/// let name = namer.name(b"2026-11-22/entry-0001");
/// assert_eq!(name.len(), secure_fs::PRIVATE_NAME_LEN);
/// assert!(!name.contains("2026"));
/// assert_eq!(name, namer.name(b"2026-11-22/entry-0001"));
/// ```
pub struct PrivateNamer {
    key: Zeroizing<[u8; 32]>,
}

impl PrivateNamer {
    /// A namer keyed with a 256-bit secret. The key is copied and the copy
    /// is erased when the namer is dropped.
    pub fn new(key: &[u8; 32]) -> Self {
        PrivateNamer {
            key: Zeroizing::new(*key),
        }
    }

    /// The private name for `id`.
    pub fn name(&self, id: &[u8]) -> String {
        // HMAC accepts keys of any length; a 32-byte key cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.as_slice()) else {
            unreachable_key_length()
        };
        mac.update(DOMAIN);
        mac.update(id);
        // The tag becomes a public file name: not secret, nothing to erase.
        data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
    }
}

#[cold]
#[allow(clippy::panic)] // HMAC's new_from_slice never fails; this documents it.
fn unreachable_key_length() -> ! {
    panic!("HMAC-SHA256 rejected a 32-byte key")
}

impl fmt::Debug for PrivateNamer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateNamer").finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn format_v1_test_vector() {
        // key = 00 01 .. 1f, id = "entry-1"; computed independently with
        // Python: hmac.new(bytes(range(32)), b"secure-fs private-name v1\0entry-1", "sha256").hexdigest()
        let key: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap_or(0));
        let namer = PrivateNamer::new(&key);
        assert_eq!(
            namer.name(b"entry-1"),
            "b1e9b99405f49dcb5e5ea052f2f8cd64588c77f0bdc304b19cc1889d3e6c7bf2"
        );
    }

    #[test]
    fn names_differ_by_key_and_id_and_debug_hides_the_key() {
        let a = PrivateNamer::new(&[1; 32]);
        let b = PrivateNamer::new(&[2; 32]);
        assert_ne!(a.name(b"x"), b.name(b"x"));
        assert_ne!(a.name(b"x"), a.name(b"y"));
        assert_eq!(format!("{a:?}"), "PrivateNamer { .. }");
    }
}
