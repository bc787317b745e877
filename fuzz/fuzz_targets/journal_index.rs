//! journal: the decoders of the app's own plaintexts (decrypted from the
//! keystore envelopes on disk): the index base (`decode_index`), an
//! index-log delta (`decode_delta`) and an entry file
//! (`decode_entry_plaintext`).
//!
//! Properties: no panic and no allocation beyond the input's size (a
//! count field is never trusted); each decoder is canonical: whatever
//! decodes re-encodes (`encode_index`, `encode_delta`, `Entry::encode`)
//! to exactly the input bytes. It does not reach the decoders through the
//! encryption (the keystore_unlock target covers envelopes and keys).
#![no_main]

use journal::entry::decode_entry_plaintext;
use journal::store::{decode_delta, decode_index, encode_delta, encode_index};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(snap) = decode_index(data) {
        let again = encode_index(&snap.base_id, snap.entries.iter());
        assert_eq!(again.as_slice(), data, "index base is not canonical");
    }
    if let Ok(d) = decode_delta(data) {
        assert_eq!(encode_delta(&d).as_slice(), data, "delta is not canonical");
    }
    if let Ok(e) = decode_entry_plaintext(data) {
        assert_eq!(e.encode().as_slice(), data, "entry is not canonical");
    }
});
