//! Master-key mode for an unattended service: no passphrase, a random key
//! in a 0600 file kept apart from the keystore.
//!
//! ```text
//! cargo run -p keystore-rotation --example keyfile_service -- /tmp/service-demo
//! ```
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints what it does"
)]

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use keystore_rotation::{Credential, Error, FileAnchor, Keystore, MasterKey, Options};

fn main() -> ExitCode {
    let Some(root) = std::env::args_os().nth(1) else {
        eprintln!("usage: keyfile_service DIR");
        return ExitCode::from(2);
    };
    match run(Path::new(&root)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyfile_service: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(root: &Path) -> Result<(), Error> {
    // The key file and the keystore live in different private directories
    // (in production: different volumes or a secrets mount).
    let secrets = secure_fs::PrivateDir::create(root.join("secrets"))?;
    let key_path = secrets.path().join("master.key");
    let keys = root.join("keys");
    // The rollback anchor lives with the key file, outside the keystore's
    // directory: an old copy of the keystore put back is refused.
    let options = Options::default().rollback_anchor(Arc::new(FileAnchor::new(
        secrets.path().join("keystore.anchor"),
    )));

    let master = if key_path.exists() {
        MasterKey::read_file(&key_path)?
    } else {
        let mk = MasterKey::generate()?;
        mk.write_new_file(&key_path)?;
        println!("wrote a new master key to {}", key_path.display());
        mk
    };
    let ks = match Keystore::open(&keys, Credential::MasterKey(&master), &options) {
        Err(Error::NotFound { .. }) => {
            Keystore::create(&keys, Credential::MasterKey(&master), &options)?
        }
        other => other?,
    };
    if let Some(id) = ks.rotate_if_due()? {
        println!("rotated to key {id}");
    }
    let sealed = ks.encrypt(b"job 1", b"service secret")?;
    assert_eq!(ks.decrypt(b"job 1", &sealed)?, b"service secret");
    println!(
        "keystore generation {}, primary key {}, {} bytes sealed",
        ks.generation(),
        ks.primary(),
        sealed.len()
    );
    Ok(())
}
