//! keystore-rotation under power loss: after every cut of a run of
//! rotations, encryptions, passphrase changes (and a rekey) and destroys, the keystore
//! opens (with the last acknowledged passphrase, or the one being set),
//! its rollback anchor agrees, every acknowledged key version decrypts
//! what it encrypted, and no acknowledged destroy is undone.

use std::path::Path;
use std::sync::Arc;

use keystore_rotation::{Credential, Error, FileAnchor, Kdf, KdfFloor, KeyId, Keystore, Options};
use powerloss::explore;
use secure_fs::PrivateDir;

use crate::common;

const TEST: &str = "keystore_rotate_passphrase_change_and_destroy_survive_every_cut";
const ROUNDS: usize = 8;

fn options(root: &Path) -> Options {
    Options::default()
        .kdf(Kdf::insecure_pbkdf2_sha256(100).unwrap())
        .kdf_floor(KdfFloor::insecure_any())
        .rollback_anchor(Arc::new(FileAnchor::new(root.join("anchors/keys.anchor"))))
}

fn passphrase(i: usize) -> Vec<u8> {
    format!("passphrase number {i}").into_bytes()
}

/// What the workload did, in the order of its markers.
#[derive(Debug, Clone)]
enum Step {
    Created,
    Rotated(KeyId),
    Encrypted {
        key: KeyId,
        context: Vec<u8>,
        envelope: Vec<u8>,
    },
    Passphrase(usize),
    Destroyed(KeyId),
}

fn label(step: &Step) -> String {
    match step {
        Step::Created => "created".to_owned(),
        Step::Rotated(k) => format!("rotated {k}"),
        Step::Encrypted { key, .. } => format!("encrypted under {key}"),
        Step::Passphrase(i) => format!("passphrase {i}"),
        Step::Destroyed(k) => format!("destroyed {k}"),
    }
}

#[test]
fn keystore_rotate_passphrase_change_and_destroy_survive_every_cut() {
    let Some(rec) = common::recorder(TEST) else {
        return;
    };
    let root = rec.path().to_path_buf();
    drop(PrivateDir::create(root.join("anchors")).unwrap());
    rec.mark("setup");
    let opts = options(&root);
    let mut steps = Vec::new();
    let mut step = |s: Step| {
        rec.mark(label(&s));
        steps.push(s);
    };
    let ks = Keystore::create(
        root.join("keys"),
        Credential::Passphrase(&passphrase(0)),
        &opts,
    )
    .unwrap();
    step(Step::Created);
    let mut keys = vec![ks.primary()];
    for r in 0..ROUNDS {
        let context = format!("entry {r}").into_bytes();
        let envelope = ks
            .encrypt(&context, format!("secret {r}").as_bytes())
            .unwrap();
        step(Step::Encrypted {
            key: ks.primary(),
            context,
            envelope,
        });
        let new = ks.rotate().unwrap();
        keys.push(new);
        step(Step::Rotated(new));
        if r == 4 {
            // A fresh key-encryption key (one wrap per version) under a new
            // passphrase: the same acknowledgement rules as a change.
            ks.rekey(Credential::Passphrase(&passphrase(100 + r)))
                .unwrap();
            step(Step::Passphrase(100 + r));
        } else if r % 2 == 1 {
            ks.change_passphrase(&passphrase(r)).unwrap();
            step(Step::Passphrase(r));
        }
        if r >= 2 {
            let old = keys[r - 2];
            ks.destroy(old).unwrap();
            step(Step::Destroyed(old));
        }
    }
    drop(ks);
    let trace = rec.finish().unwrap();
    let start = trace.position_after_mark("setup").unwrap();
    let report = explore(
        &trace,
        &common::explore_options(TEST).start(start),
        |case| {
            let done = case.marks.len() - 1; // minus "setup"
            check(case.root, &steps[..done], steps.get(done))
        },
    )
    .unwrap();
    common::assert_clean(TEST, &report);
}

/// Checks one crash state against the acknowledged steps (`done`) and the
/// one in flight at the cut.
fn check(root: &Path, done: &[Step], in_flight: Option<&Step>) -> Result<(), String> {
    if done.is_empty() {
        return Ok(()); // creation not acknowledged: anything goes
    }
    let opts = options(root);
    let acked_pass = done
        .iter()
        .rev()
        .find_map(|s| match s {
            Step::Passphrase(i) => Some(*i),
            _ => None,
        })
        .unwrap_or(0);
    let mut candidates = vec![acked_pass];
    if let Some(Step::Passphrase(i)) = in_flight {
        candidates.push(*i);
    }
    let mut last_err = None;
    let mut ks = None;
    for p in candidates {
        match Keystore::open(
            root.join("keys"),
            Credential::Passphrase(&passphrase(p)),
            &opts,
        ) {
            Ok(k) => {
                ks = Some(k);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let ks = ks.ok_or_else(|| {
        format!(
            "does not open after {} acknowledged steps (last: {}): {}",
            done.len(),
            label(&done[done.len() - 1]),
            last_err.map_or_else(String::new, |e| e.to_string())
        )
    })?;
    let destroying = match in_flight {
        Some(Step::Destroyed(k)) => Some(*k),
        _ => None,
    };
    for s in done {
        match s {
            Step::Rotated(k) => {
                if !ks.keys().iter().any(|info| info.id == *k) {
                    return Err(format!("acknowledged key version {k} is gone"));
                }
            }
            Step::Encrypted {
                key,
                context,
                envelope,
            } => {
                let destroyed = done
                    .iter()
                    .any(|d| matches!(d, Step::Destroyed(x) if x == key));
                match ks.decrypt(context, envelope) {
                    Ok(_) if destroyed => {
                        return Err(format!("destroyed key version {key} decrypts again"));
                    }
                    Ok(_) => {}
                    Err(Error::KeyDestroyed { .. }) if destroyed || destroying == Some(*key) => {}
                    Err(e) => {
                        return Err(format!(
                            "data under acknowledged key {key} does not decrypt: {e}"
                        ));
                    }
                }
            }
            Step::Created | Step::Passphrase(_) | Step::Destroyed(_) => {}
        }
    }
    Ok(())
}

/// `MasterKey::write_new_file` under power loss: a key file is either
/// absent (not yet acknowledged) or whole and readable, never short or
/// empty (which would block every later init with `AlreadyExists`), and
/// every acknowledged key reads back as written.
#[test]
fn master_key_files_appear_whole_or_not_at_all() {
    use keystore_rotation::MasterKey;
    use subtle::ConstantTimeEq;

    const MASTER_TEST: &str = "master_key_files_appear_whole_or_not_at_all";
    const KEYS: usize = 40;
    let Some(rec) = common::recorder(MASTER_TEST) else {
        return;
    };
    let keys: Vec<MasterKey> = (0..KEYS).map(|_| MasterKey::generate().unwrap()).collect();
    drop(PrivateDir::create(rec.path().join("keys")).unwrap());
    rec.mark("created");
    for (i, key) in keys.iter().enumerate() {
        key.write_new_file(rec.path().join(format!("keys/master-{i}")))
            .unwrap();
        rec.mark(format!("key {i}"));
    }
    let trace = rec.finish().unwrap();
    let report = explore(&trace, &common::explore_options(MASTER_TEST), |case| {
        if case.marks.is_empty() {
            return Ok(());
        }
        let acked = case.marks.len() - 1;
        for (i, key) in keys.iter().enumerate() {
            let path = case.root.join(format!("keys/master-{i}"));
            let present = path.symlink_metadata().is_ok();
            if !present {
                if i < acked {
                    return Err(format!("acknowledged key {i} is gone"));
                }
                continue;
            }
            if i > acked {
                return Err(format!("key {i} exists before it was written"));
            }
            let read = MasterKey::read_file(&path)
                .map_err(|e| format!("key file {i} is present but unreadable: {e}"))?;
            if !bool::from(read.ct_eq(key)) {
                return Err(format!("key file {i} holds another key"));
            }
        }
        Ok(())
    })
    .unwrap();
    common::assert_clean(MASTER_TEST, &report);
    assert!(
        report.lossy > 0,
        "{MASTER_TEST}: no crash state lost anything"
    );
}
