//! Item 7: SIGKILL at random moments during rotation, passphrase change
//! and KEK replacement (rekey).

use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

use keystore_rotation::{Credential, Error, Keystore};
use rand::RngExt;
use secure_fs::PrivateDir;

use crate::common::{self, PASS, PASS2, options};

const NAME: &str = "crash::sigkill_during_rotation_and_passphrase_change_loses_nothing";

/// Opens with whichever of the two passphrases is current; exactly one
/// must work.
fn open_either(path: &std::path::Path) -> (Keystore, bool) {
    match Keystore::open(path, PASS, &options()) {
        Ok(ks) => (ks, true),
        Err(Error::WrongCredential) => match Keystore::open(path, PASS2, &options()) {
            Ok(ks) => (ks, false),
            Err(e) => panic!("opens with neither passphrase: {e}"),
        },
        Err(e) => panic!("keystore does not open: {e}"),
    }
}

/// The step a line of the child reports: "ready", "rotated", "passwd" or
/// "stored" (libtest may print `test NAME ... ` before "ready").
fn step_of(line: &str) -> Option<&str> {
    let line = line.trim_end();
    if line.ends_with("ready") {
        return Some("ready");
    }
    let word = line.split(' ').next()?;
    ["rotated", "passwd", "stored"]
        .contains(&word)
        .then_some(word)
}

#[test]
fn sigkill_during_rotation_and_passphrase_change_loses_nothing() {
    if common::child_role().as_deref() == Some("worker") {
        // Child: rotate, change the passphrase to the other one, encrypt a
        // message and store it; again and again until killed.
        let root = common::child_arg();
        let (ks, mut first) = open_either(&root.join("keys"));
        let data = PrivateDir::open(root.join("data")).unwrap();
        let run = std::process::id();
        let parent = rustix::process::getppid();
        println!("ready");
        let mut i = 0u64;
        while rustix::process::getppid() == parent {
            i += 1;
            ks.rotate().unwrap();
            println!("rotated {i}");
            let next: &[u8] = if first {
                b"another passphrase"
            } else {
                b"correct horse battery staple"
            };
            // Every other time a KEK replacement instead of a plain
            // passphrase change: both switch the passphrase.
            if i.is_multiple_of(2) {
                ks.rekey(Credential::Passphrase(next)).unwrap();
            } else {
                ks.change_passphrase(next).unwrap();
            }
            first = !first;
            println!("passwd {i}");
            let name = format!("m-{run}-{i}");
            let sealed = ks.encrypt(name.as_bytes(), name.as_bytes()).unwrap();
            data.write_atomic(&name, &sealed).unwrap();
            println!("stored {i}");
        }
        return;
    }

    let (tmp, keys) = common::dir();
    drop(Keystore::create(&keys, PASS, &options()).unwrap());
    let data = PrivateDir::create(tmp.path().join("data")).unwrap();
    let mut rng = rand::rng();
    let mut last_generation = 0;
    let mut advanced = 0;
    // Kills that landed while the child was rotating, changing the
    // passphrase, storing a message (judged by the last step it reported).
    let mut during = [0u32; 3];
    for kill in 0..200 {
        let mut guard =
            common::KillOnDrop(common::child(NAME, "worker", tmp.path()).spawn().unwrap());
        let child = &mut guard.0;
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // Let the child finish a random number of steps (0 to 3: every
        // phase gets its share however fast or slow the machine is), then
        // a random moment more, and kill it.
        let steps = rng.random_range(0..4);
        let mut seen = 0;
        let mut last_step = String::new();
        let mut line = String::new();
        while seen <= steps {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "child exited early");
            if let Some(step) = step_of(&line) {
                last_step = step.to_owned();
                seen += 1;
            }
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..3_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        if let Some(step) = rest.lines().rev().find_map(step_of) {
            last_step = step.to_owned();
        }
        // The step after the last one reported is the one the kill hit.
        match last_step.as_str() {
            "rotated" => during[1] += 1,
            "passwd" => during[2] += 1,
            _ => during[0] += 1,
        }

        let (ks, first) = open_either(&keys);
        let opts = options().expect_generation(last_generation);
        drop(ks);
        // Re-open with the generation we know: no rollback, ever.
        let ks = Keystore::open(&keys, if first { PASS } else { PASS2 }, &opts)
            .unwrap_or_else(|e| panic!("kill {kill}: {e}"));
        if ks.generation() > last_generation {
            advanced += 1;
        }
        last_generation = ks.generation();
        // Everything ever stored decrypts.
        for name in data.entries().unwrap() {
            let name = name.into_string().unwrap();
            let sealed = data.read(&name).unwrap();
            let plain = ks
                .decrypt(name.as_bytes(), &sealed)
                .unwrap_or_else(|e| panic!("kill {kill}: {name}: {e}"));
            assert_eq!(plain, name.as_bytes());
        }
    }
    let stored = data.entries().unwrap().len();
    eprintln!(
        "kills while rotating/changing/storing: {during:?}; \
         runs that changed the keystore: {advanced}; messages stored: {stored}"
    );
    assert!(
        advanced >= 50,
        "only {advanced} of 200 runs changed the keystore"
    );
    assert!(
        during.iter().all(|&n| n >= 20),
        "kills while rotating/changing/storing: {during:?}"
    );
    assert!(stored >= 20, "only {stored} messages were stored");
}
