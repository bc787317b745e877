//! A tour of keystore-rotation in a directory you name:
//!
//! ```text
//! cargo run -p keystore-rotation --example keystore_demo -- /tmp/keystore-demo
//! ```
//!
//! Creates (or opens) a keystore protected by a passphrase in `DIR/keys`,
//! with its rollback anchor in `DIR/anchor`, encrypts a record, rotates,
//! rewraps, takes a sub-key, changes the passphrase, replaces the
//! key-encryption key, destroys the old version and prints what it did.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints its tour"
)]

use std::process::ExitCode;
use std::sync::Arc;

use keystore_rotation::{Credential, Error, FileAnchor, Keystore, Options, envelope_key_id};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: keystore_demo DIR");
        return ExitCode::from(2);
    };
    match run(std::path::Path::new(&dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keystore_demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(root: &std::path::Path) -> Result<(), Error> {
    let dir = root.join("keys");
    // The anchor must live outside the keystore's directory (ideally on
    // other storage); its directory must be private (0700).
    let anchors = secure_fs::PrivateDir::create(root.join("anchor"))?;
    // The default KDF: PBKDF2-HMAC-SHA256 with 600,000 iterations.
    let options = Options::default().rollback_anchor(Arc::new(FileAnchor::new(
        anchors.path().join("keystore.anchor"),
    )));
    let dir = dir.as_path();
    let old = Credential::Passphrase(b"demo passphrase");
    let new = Credential::Passphrase(b"demo passphrase, changed");
    let ks = match Keystore::open(dir, old, &options) {
        Ok(ks) => ks,
        Err(Error::NotFound { .. }) => Keystore::create(dir, old, &options)?,
        Err(Error::WrongCredential) => Keystore::open(dir, new, &options)?,
        Err(e) => return Err(e),
    };
    println!(
        "keystore {} (generation {}, {:?})",
        ks.file_path().display(),
        ks.generation(),
        ks.kdf()
    );

    let sealed = ks.encrypt(b"record 1", b"a private note")?;
    println!(
        "encrypted under key {}: {} bytes",
        envelope_key_id(&sealed)?,
        sealed.len()
    );

    let primary = ks.rotate()?;
    let moved = ks.rewrap(b"record 1", &sealed)?;
    println!(
        "rotated to key {primary}; rewrapped the record to key {}",
        envelope_key_id(&moved)?
    );

    // A sub-key for another use, good for 1,000 messages (counted against
    // the primary's budget, so sub-key use drives rotation too).
    let names_key = ks.subkey("file-names", 1_000)?;
    println!(
        "sub-key 'file-names' derived from key {} (budget {})",
        names_key.key_id(),
        names_key.budget()
    );

    ks.change_passphrase(b"demo passphrase, changed")?;
    println!("passphrase changed; generation {}", ks.generation());
    // After a suspected leak of a keystore file (or together with the
    // passphrase change above, after a leaked passphrase): a fresh
    // key-encryption key, here keeping the current passphrase. Then rotate,
    // rewrap and destroy the versions that were in the leaked file.
    ks.rekey(new)?;
    println!(
        "key-encryption key replaced; generation {}",
        ks.generation()
    );
    for k in ks.keys() {
        println!(
            "  key {:>3}  {:<18}  {:?}  messages <= {}",
            k.id,
            k.algorithm.to_string(),
            k.state,
            k.messages
        );
    }
    // The record now lives under the primary: retire and destroy the
    // older versions (their bytes are overwritten on disk, not just
    // unlinked).
    ks.set_min_decryption_version(primary)?;
    for k in ks.keys() {
        if k.id < primary && k.state == keystore_rotation::KeyState::DecryptOnly {
            ks.destroy(k.id)?;
            println!("destroyed key {}", k.id);
        }
    }
    assert_eq!(ks.decrypt(b"record 1", &moved)?, b"a private note");
    Ok(())
}
