//! Forward security after a break-in (issue 11, item 2).
//!
//! The thief copies everything at epoch `k`: every file, the caller's
//! state key, and so the current epoch's signing key and record-key seed.
//! With all of it, the thief rewrites the sealed epoch `k - 1` in every
//! way we could think of (re-chain, re-sign seals with the stolen key,
//! drop / reorder / insert / alter records, forge a tombstone, forge a
//! head, truncate). Verification with the public key must report each one,
//! at or before the seal of the epoch that was rewritten, and `open` must
//! refuse each one. Controls prove the tools work: the same pipeline with
//! no change verifies, and the same rewrite of the *current* epoch `k`
//! (which the thief's key legitimately signs) verifies too, which is the
//! documented limit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};

use crate::error::{Error, TamperKind};
use crate::format::{
    self, HEAD_FILE, Head, Kind, NONCE_LEN, SEGMENT_HEADER_LEN, STATE_FILE, STATE_SLOT_LEN, Seal,
    Tombstone,
};
use crate::keys::{self, StateKey};
use crate::options::Options;
use crate::read::{Filter, LogReader};
use crate::writer::Writer;
use crate::{AuditLog, Event};

const EPOCH: u64 = 3;

/// One frame, decoded far enough to rebuild it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frame {
    kind: u8,
    epoch: u32,
    seq: u64,
    body: Vec<u8>,
}

fn parse_segment(b: &[u8]) -> ([u8; SEGMENT_HEADER_LEN], Vec<Frame>) {
    let mut hdr = [0u8; SEGMENT_HEADER_LEN];
    hdr.copy_from_slice(&b[..SEGMENT_HEADER_LEN]);
    let mut at = SEGMENT_HEADER_LEN;
    let mut out = Vec::new();
    while at < b.len() {
        let len = format::le_u32(b, at) as usize + 4;
        let f = format::FrameView::parse(&b[at..at + len]);
        out.push(Frame {
            kind: f.kind,
            epoch: f.epoch,
            seq: f.seq,
            body: f.body.to_vec(),
        });
        at += len;
    }
    (hdr, out)
}

/// Rebuilds a segment, recomputing every chain field from `prev` (what
/// anyone can do: the chain is public).
fn build_segment(hdr: &[u8; SEGMENT_HEADER_LEN], frames: &[Frame]) -> (Vec<u8>, [u8; 32]) {
    let (body, chain) = build_segment_from(format::chain_segment(hdr), frames);
    let mut out = hdr.to_vec();
    out.extend_from_slice(&body);
    (out, chain)
}

/// The frames' bytes, chained after `chain`.
fn build_segment_from(mut chain: [u8; 32], frames: &[Frame]) -> (Vec<u8>, [u8; 32]) {
    let mut out = Vec::new();
    for f in frames {
        let start = out.len();
        let mut h = Vec::new();
        format::push_frame_header(
            &mut h,
            Kind::from_u8(f.kind).unwrap_or(Kind::Event),
            f.epoch,
            f.seq,
            f.body.len(),
        );
        h[4] = f.kind;
        out.extend_from_slice(&h);
        out.extend_from_slice(&f.body);
        chain = format::finish_frame(&mut out, start, &chain);
    }
    (out, chain)
}

/// Everything the thief holds at epoch `k`.
struct Thief {
    log_id: [u8; 16],
    epoch: u32,
    signing: SigningKey,
    seed: zeroize::Zeroizing<[u8; 32]>,
}

fn steal(dir: &Path, state_key: &StateKey, log_id: [u8; 16]) -> Thief {
    let bytes = std::fs::read(dir.join(STATE_FILE)).unwrap();
    let cipher = state_key.cipher(&log_id);
    let mut found = None;
    for slot in 0..2 {
        if let Some((h, s)) = crate::writer::decode_slot(
            &cipher,
            &bytes[slot * STATE_SLOT_LEN..(slot + 1) * STATE_SLOT_LEN],
        )
        .unwrap()
        {
            found = Some((h.epoch, s));
        }
    }
    let (epoch, s) = found.expect("a state slot");
    Thief {
        log_id,
        epoch,
        signing: s.signing.clone(),
        seed: zeroize::Zeroizing::new(*s.seed),
    }
}

impl Thief {
    /// Re-signs a seal body with the stolen key (after changing it).
    fn resign_seal(&self, f: &mut Frame, prev: [u8; 32]) {
        let mut s = Seal::parse(&f.body).unwrap();
        s.prev = prev;
        s.signature = self
            .signing
            .sign(&s.message(&self.log_id, f.epoch, f.seq))
            .to_bytes();
        f.body = s.body();
    }

    /// Writes a head for the end of `seg` (its last frame), signed with the
    /// stolen key, claiming whatever the walk would find there.
    fn forge_head(
        &self,
        dir: &Path,
        seg: u32,
        seg_bytes: &[u8],
        next_seq: u64,
        chain: [u8; 32],
        epoch: u32,
    ) {
        let old = Head::parse(&std::fs::read(dir.join(HEAD_FILE)).unwrap()).unwrap();
        let mut h = Head {
            segment: seg,
            offset: seg_bytes.len() as u64,
            epoch,
            next_seq,
            chain,
            epoch_key: self.signing.verifying_key().to_bytes(),
            time_ns: old.time_ns + 1,
            ..old
        };
        h.signature = self.signing.sign(&h.message()).to_bytes();
        std::fs::write(dir.join(HEAD_FILE), h.encode()).unwrap();
    }

    /// An event encrypted under the stolen (current) record key, as it
    /// would sit at `seq` of `epoch`.
    fn forged_event(&self, epoch: u32, seq: u64) -> Frame {
        let cipher = keys::record_cipher(&self.seed, &self.log_id);
        let mut pt = keys::SecretBuf::default();
        crate::event::encode_plaintext("forged", 1, &serde_json::json!({"x": 1}), &mut pt).unwrap();
        let mut body = vec![0u8; NONCE_LEN];
        body.extend_from_slice(pt.as_slice());
        let mut hdr = Vec::new();
        format::push_frame_header(&mut hdr, Kind::Event, epoch, seq, body.len() + 16);
        let aad = format::event_aad(&self.log_id, &hdr);
        let tag =
            keys::seal_in_place(&cipher, &[0; NONCE_LEN], &aad, &mut body[NONCE_LEN..]).unwrap();
        body.extend_from_slice(&tag);
        Frame {
            kind: Kind::Event as u8,
            epoch,
            seq,
            body,
        }
    }
}

/// A log in one segment: epochs 0..k-1 sealed (3 events each), epoch k
/// holding 2 unsealed events; the writer "crashes" (is dropped without
/// closing) so the copy is the state at epoch k.
fn make_log(
    root: &Path,
) -> (
    PathBuf,
    [u8; 16],
    ed25519_dalek::VerifyingKey,
    crate::ReadKey,
) {
    let dir = root.join("log");
    let opts = Options::default().epoch(EPOCH, Duration::from_secs(3600));
    let (mut w, created) = Writer::create(&dir, &StateKey::from_bytes([0x5a; 32]), opts).unwrap();
    for i in 0..11u64 {
        let _ = w.append(&Event::new("test.event").with("i", i)).unwrap();
    }
    w.write_head().unwrap();
    drop(w);
    (dir, created.log_id, created.verifying_key, created.read_key)
}

fn copy_dir(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() != ".lock" {
            let _ = std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Verifies a copy after the attack: `Ok` if it verifies, else the finding.
fn check(
    dir: &Path,
    vk: &ed25519_dalek::VerifyingKey,
) -> (Result<(), TamperKind>, Option<u64>, bool) {
    let r = LogReader::open(dir, vk).unwrap().verify();
    // Open a copy: opening (and closing) a log that verifies seals it.
    let again = dir.with_extension("opened");
    copy_dir(dir, &again);
    let opened = AuditLog::open(
        &again,
        &StateKey::from_bytes([0x5a; 32]),
        Options::default(),
    );
    let open_refused = opened.is_err();
    drop(opened);
    match r {
        Ok(_) => (Ok(()), None, open_refused),
        Err(Error::Tampered(t)) => (Err(t.kind), t.position.seq, open_refused),
        Err(e) => panic!("verification failed with a non-tamper error: {e}"),
    }
}

#[test]
fn a_thief_at_epoch_k_cannot_rewrite_epoch_k_minus_1() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, log_id, vk, _read) = make_log(tmp.path());
    let thief = steal(&dir, &StateKey::from_bytes([0x5a; 32]), log_id);
    let k = thief.epoch;
    assert_eq!(k, 3, "11 events in epochs of 3: epochs 0, 1, 2 sealed");
    let seg_bytes = std::fs::read(dir.join(format::segment_file_name(1))).unwrap();
    let (hdr, frames) = parse_segment(&seg_bytes);
    // Epoch k-1's records and its seal.
    let prev_epoch: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i].epoch == k - 1)
        .collect();
    let seal_idx = *prev_epoch.last().unwrap();
    assert_eq!(frames[seal_idx].kind, Kind::Seal as u8);
    let seal_seq = frames[seal_idx].seq;
    let first_ev = prev_epoch[0];

    type Attack<'a> = Box<dyn Fn(&mut Vec<Frame>) + 'a>;
    // (name, attack, caught?, reported at or before epoch k-1's seal?)
    // Each attack edits the frames; then the whole segment is re-chained
    // and, where the attack says so, later seals are re-signed with the
    // stolen key, and the head is re-signed with the stolen key.
    let thief_ref = &thief;
    let renumber = |fs: &mut Vec<Frame>| {
        let base = fs[0].seq;
        for (i, f) in fs.iter_mut().enumerate() {
            f.seq = base + i as u64;
        }
    };
    let attacks: Vec<(&str, Attack<'_>, bool)> = vec![
        (
            "control: no change",
            Box::new(|_fs: &mut Vec<Frame>| {}),
            false,
        ),
        (
            "alter an event's ciphertext, re-chain",
            Box::new(|fs: &mut Vec<Frame>| fs[first_ev].body[NONCE_LEN] ^= 1),
            true,
        ),
        (
            "replace an event with one under the stolen record key",
            Box::new(|fs: &mut Vec<Frame>| {
                fs[first_ev] = thief.forged_event(k - 1, fs[first_ev].seq);
            }),
            true,
        ),
        (
            "drop a record, renumber, re-chain, re-sign the seal",
            Box::new(move |fs: &mut Vec<Frame>| {
                let _ = fs.remove(first_ev);
                renumber(fs);
                let i = fs
                    .iter()
                    .position(|f| f.kind == Kind::Seal as u8 && f.epoch == k - 1)
                    .unwrap();
                let mut s = Seal::parse(&fs[i].body).unwrap();
                s.count -= 1;
                fs[i].body = s.body();
            }),
            true,
        ),
        (
            "swap two records, re-chain",
            Box::new(|fs: &mut Vec<Frame>| {
                fs.swap(first_ev, first_ev + 1);
                let (a, b) = (fs[first_ev].seq, fs[first_ev + 1].seq);
                fs[first_ev].seq = b;
                fs[first_ev + 1].seq = a;
            }),
            true,
        ),
        (
            "insert a forged record, renumber, re-chain",
            Box::new(move |fs: &mut Vec<Frame>| {
                let f = thief_ref.forged_event(k - 1, 0);
                fs.insert(first_ev, f);
                renumber(fs);
                let i = fs
                    .iter()
                    .position(|f| f.kind == Kind::Seal as u8 && f.epoch == k - 1)
                    .unwrap();
                let mut s = Seal::parse(&fs[i].body).unwrap();
                s.count += 1;
                fs[i].body = s.body();
            }),
            true,
        ),
        (
            "change the seal's time (nothing-happened-until), re-sign",
            Box::new(move |fs: &mut Vec<Frame>| {
                let mut s = Seal::parse(&fs[seal_idx].body).unwrap();
                s.time_ns += 3_600_000_000_000;
                fs[seal_idx].body = s.body();
            }),
            true,
        ),
        (
            "certify the thief's own key for epoch k (re-sign the seal)",
            Box::new(move |fs: &mut Vec<Frame>| {
                let mut s = Seal::parse(&fs[seal_idx].body).unwrap();
                s.next_key = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
                fs[seal_idx].body = s.body();
            }),
            true,
        ),
        (
            "drop epoch k-1's seal and merge it into epoch k",
            Box::new(move |fs: &mut Vec<Frame>| {
                let _ = fs.remove(seal_idx);
                for f in fs.iter_mut().filter(|f| f.epoch == k - 1) {
                    f.epoch = k;
                }
                renumber(fs);
            }),
            true,
        ),
        (
            "forge a tombstone in epoch k pruning nothing but claiming retention 0",
            Box::new(move |fs: &mut Vec<Frame>| {
                let t = Tombstone {
                    time_ns: u64::MAX / 2,
                    genesis_ns: 0,
                    retention_secs: 0,
                    ranges: vec![format::PrunedRange {
                        first_segment: 1,
                        last_segment: 1,
                        first_seq: 0,
                        last_seq: seal_seq,
                        sealed_ns: 0,
                        pruned_ns: u64::MAX / 2,
                    }],
                };
                let seq = fs.last().unwrap().seq + 1;
                fs.push(Frame {
                    kind: Kind::Tombstone as u8,
                    epoch: k,
                    seq,
                    body: t.encode(),
                });
            }),
            true,
        ),
    ];

    for (name, attack, expect_caught) in &attacks {
        let copy = tmp.path().join(format!(
            "attack-{}",
            name.len() + name.as_bytes()[0] as usize * 1000
        ));
        let _ = std::fs::remove_dir_all(&copy);
        copy_dir(&dir, &copy);
        let mut fs = frames.clone();
        attack(&mut fs);
        // Re-chain, re-sign every seal with the stolen key where its prev
        // changed (the thief cannot do better: older keys are gone).
        let mut chain = format::chain_segment(&hdr);
        let mut rebuilt = Vec::new();
        for f in &fs {
            let mut f = f.clone();
            if f.kind == Kind::Seal as u8 {
                let s = Seal::parse(&f.body).unwrap();
                if s.prev != chain || !frames.contains(&f) {
                    thief.resign_seal(&mut f, chain);
                }
            }
            let (_, c) = build_segment_from(chain, std::slice::from_ref(&f));
            chain = c;
            rebuilt.push(f);
        }
        let (bytes, end_chain) = build_segment(&hdr, &rebuilt);
        std::fs::write(copy.join(format::segment_file_name(1)), &bytes).unwrap();
        let next_seq = rebuilt.last().unwrap().seq + 1;
        let epoch = rebuilt.last().unwrap().epoch;
        thief.forge_head(&copy, 1, &bytes, next_seq, end_chain, epoch);
        let (res, seq, open_refused) = check(&copy, &vk);
        if *expect_caught {
            let kind = res.expect_err(&format!("attack not detected: {name}"));
            // A forged tombstone lives in epoch k: it is reported where it is.
            let in_past = !name.contains("tombstone");
            assert!(
                !in_past || seq.is_some_and(|s| s <= seal_seq + 1),
                "{name}: reported {kind:?} at record {seq:?}, after epoch k-1's seal (record {seal_seq})"
            );
            assert!(open_refused, "{name}: open accepted the rewritten log");
        } else {
            assert_eq!(res, Ok(()), "control failed: {name}");
            assert!(!open_refused, "control: open refused");
        }
    }
}

#[test]
fn a_forged_head_or_truncation_into_the_sealed_past_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, log_id, vk, _read) = make_log(tmp.path());
    let thief = steal(&dir, &StateKey::from_bytes([0x5a; 32]), log_id);
    let k = thief.epoch;
    let seg_bytes = std::fs::read(dir.join(format::segment_file_name(1))).unwrap();
    let (hdr, frames) = parse_segment(&seg_bytes);
    // Cut the log in the middle of epoch k-1, or right after its seal, or
    // after epoch k-2's seal, and sign a head there with the stolen key.
    let seal_k1 = frames
        .iter()
        .position(|f| f.kind == Kind::Seal as u8 && f.epoch == k - 1)
        .unwrap();
    let seal_k2 = frames
        .iter()
        .position(|f| f.kind == Kind::Seal as u8 && f.epoch == k - 2)
        .unwrap();
    for (name, cut) in [
        ("mid epoch k-1", seal_k1 - 1),
        ("after epoch k-2's seal", seal_k2 + 1),
        ("after epoch k-1's seal", seal_k1 + 1),
    ] {
        let copy = tmp.path().join(format!("cut-{cut}"));
        copy_dir(&dir, &copy);
        let (bytes, chain) = build_segment(&hdr, &frames[..cut]);
        std::fs::write(copy.join(format::segment_file_name(1)), &bytes).unwrap();
        let last = &frames[cut - 1];
        let epoch = if last.kind == Kind::Seal as u8 {
            last.epoch + 1
        } else {
            last.epoch
        };
        thief.forge_head(&copy, 1, &bytes, last.seq + 1, chain, epoch);
        let (res, _, open_refused) = check(&copy, &vk);
        if cut == seal_k1 + 1 {
            // Dropping only the unsealed epoch k: the thief's own key signs
            // that head. The documented limit; the report shows the log
            // sealed exactly through epoch k-1, nothing of it lost.
            assert_eq!(res, Ok(()), "{name}");
            let rep = LogReader::open(&copy, &vk).unwrap().verify().unwrap();
            assert_eq!(rep.sealed.unwrap().seq, frames[seal_k1].seq);
            continue;
        }
        assert!(
            matches!(res, Err(TamperKind::BadSignature { .. })),
            "{name}: {res:?}"
        );
        assert!(open_refused, "{name}");
    }
    // Deleting the head instead is reported as such.
    let copy = tmp.path().join("no-head");
    copy_dir(&dir, &copy);
    std::fs::remove_file(copy.join(HEAD_FILE)).unwrap();
    assert_eq!(check(&copy, &vk).0, Err(TamperKind::MissingHead));
}

#[test]
fn the_thief_rewrites_only_the_current_epoch_and_reads_only_from_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, log_id, vk, read_key) = make_log(tmp.path());
    let thief = steal(&dir, &StateKey::from_bytes([0x5a; 32]), log_id);
    let k = thief.epoch;
    let seg_bytes = std::fs::read(dir.join(format::segment_file_name(1))).unwrap();
    let (hdr, mut frames) = parse_segment(&seg_bytes);
    // The documented limit: the unsealed current epoch is the thief's.
    let i = frames.iter().position(|f| f.epoch == k).unwrap();
    frames[i] = thief.forged_event(k, frames[i].seq);
    let copy = tmp.path().join("current");
    copy_dir(&dir, &copy);
    let (bytes, chain) = build_segment(&hdr, &frames);
    std::fs::write(copy.join(format::segment_file_name(1)), &bytes).unwrap();
    thief.forge_head(&copy, 1, &bytes, frames.last().unwrap().seq + 1, chain, k);
    let rep = LogReader::open(&copy, &vk).unwrap().verify().unwrap();
    assert_eq!(
        rep.unsealed_records, 2,
        "the rewritten records are reported unsealed"
    );

    // Confidentiality: the stolen seed decrypts epoch k, not epoch k-1.
    let stolen = keys::record_cipher(&thief.seed, &log_id);
    let try_decrypt = |f: &Frame| {
        let mut hdr = Vec::new();
        format::push_frame_header(&mut hdr, Kind::Event, f.epoch, f.seq, f.body.len());
        let aad = format::event_aad(&log_id, &hdr);
        let n = f.body.len() - 16;
        let mut pt = f.body[NONCE_LEN..n].to_vec();
        keys::open_in_place(&stolen, &f.body[..NONCE_LEN], &aad, &mut pt, &f.body[n..]).is_ok()
    };
    let (_, orig) = parse_segment(&seg_bytes);
    let in_k = orig
        .iter()
        .find(|f| f.epoch == k && f.kind == Kind::Event as u8)
        .unwrap();
    let in_k1 = orig
        .iter()
        .find(|f| f.epoch == k - 1 && f.kind == Kind::Event as u8)
        .unwrap();
    assert!(
        try_decrypt(in_k),
        "control: the stolen key decrypts the current epoch"
    );
    assert!(
        !try_decrypt(in_k1),
        "the stolen key decrypted an earlier epoch"
    );
    // The owner's read key decrypts everything.
    let n = LogReader::open(&dir, &vk)
        .unwrap()
        .records(&read_key, Filter::all())
        .unwrap()
        .count();
    assert_eq!(n, 11);
}

#[test]
fn old_epoch_secrets_are_erased_from_the_state_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, log_id, _vk, _read) = make_log(tmp.path());
    let bytes = std::fs::read(dir.join(STATE_FILE)).unwrap();
    let cipher = StateKey::from_bytes([0x5a; 32]).cipher(&log_id);
    let slots: Vec<_> = (0..2)
        .filter_map(|s| {
            crate::writer::decode_slot(
                &cipher,
                &bytes[s * STATE_SLOT_LEN..(s + 1) * STATE_SLOT_LEN],
            )
            .unwrap()
        })
        .collect();
    assert_eq!(slots.len(), 1, "exactly one epoch's secrets on disk");
    assert_eq!(slots[0].0.epoch, 3);
    let zero_slots = (0..2)
        .filter(|s| {
            bytes[s * STATE_SLOT_LEN..(s + 1) * STATE_SLOT_LEN]
                .iter()
                .all(|&b| b == 0)
        })
        .count();
    assert_eq!(zero_slots, 1, "the previous slot is overwritten with zeros");
}
