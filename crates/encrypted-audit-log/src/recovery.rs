//! Continuing after tampering without destroying the evidence.
//!
//! `recover_after_tamper` walks the log until the first problem, keeps
//! every byte from there on (the damaged segment and all later ones, and
//! the old head) as read-only `quarantine-*.eal` files, cuts the damaged
//! segment back to the last good record, and appends a quarantine record
//! naming the damage (kind, position), the quarantined files and their
//! SHA-256, and the seals that certify the keys from the last good epoch
//! to the writer's current one. The writer then seals at once, so the
//! quarantine record is signed. Verification reports the quarantine
//! forever after ("tampered at X, quarantined, continued at Y").

use std::os::unix::fs::PermissionsExt;
use std::time::SystemTime;

use ed25519_dalek::{Signature, VerifyingKey};
use secure_fs::{Access, PrivateDir};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::format::{
    self, FRAME_HEADER_LEN, FrameView, HEAD_FILE, Kind, QuarantineBody, SEAL_FRAME_LEN, STATE_FILE,
    STATE_SLOT_LEN, Seal,
};
use crate::keys::StateKey;
use crate::log::AuditLog;
use crate::options::Options;
use crate::walk::{self, QuarantineEvent, Walker};
use crate::writer::{self, Writer};

impl AuditLog {
    /// Opens a log that `open` refuses as tampered, and continues it
    /// without destroying the evidence: the damaged segment and every
    /// later one (and the old head) are kept read-only as
    /// `quarantine-*.eal` files, the damaged segment is cut back to its
    /// last good record, and a signed quarantine record names the damage,
    /// the kept files (with their SHA-256) and the seals that certify the
    /// keys from the last good epoch to the current one. A log that is not
    /// tampered is simply opened (the second value is then `None`).
    ///
    /// # Errors
    /// As [`AuditLog::open`]; [`Error::InvalidInput`] if the log cannot be
    /// continued verifiably: the damage reaches the first segment's header,
    /// or the seals certifying the current key were destroyed too (start a
    /// new log; this one can still be verified up to the damage and read).
    pub fn recover_after_tamper(
        path: impl AsRef<std::path::Path>,
        state_key: &StateKey,
        options: Options,
    ) -> Result<(AuditLog, Option<QuarantineEvent>)> {
        let (w, q) = recover(path.as_ref(), state_key, options)?;
        Ok((AuditLog::start(w)?, q))
    }
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

fn io(dir: &PrivateDir, name: &str) -> impl Fn(std::io::Error) -> Error {
    let p = dir.path().join(name);
    move |e| Error::io(&p, e)
}

/// Writes `bytes` as a new read-only (0400) file `name`.
fn keep(dir: &PrivateDir, name: &str, bytes: &[u8]) -> Result<()> {
    dir.write_atomic(name, bytes)?;
    let f = dir.open_file(name, Access::Read)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o400))
        .map_err(io(dir, name))?;
    Ok(())
}

fn recover(
    path: &std::path::Path,
    state_key: &StateKey,
    opts: Options,
) -> Result<(Writer, Option<QuarantineEvent>)> {
    let (dir, lock, wopts) = writer::open_existing(path, &opts)?;
    let mut walker = Walker::start(&dir, wopts).map_err(|e| match e {
        Error::Tampered(t) => Error::InvalidInput(format!(
            "cannot continue this log: the damage ({t}) is at its start; start a new log"
        )),
        other => other,
    })?;
    let failure = loop {
        match walker.next_step() {
            Ok(Some(_)) => {}
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    let s = walker.summary.clone();
    drop(walker);
    let tamper = match failure {
        None => return Ok((Writer::resume(dir, lock, &s, state_key, opts)?, None)),
        Some(Error::Tampered(t)) => t,
        Some(other) => return Err(other),
    };

    // The writer's current epoch and key (the newest valid slot).
    let cipher = state_key.cipher(&s.log_id);
    let state = walk::read_bounded(&dir, STATE_FILE, 2 * STATE_SLOT_LEN)?
        .filter(|b| b.len() == 2 * STATE_SLOT_LEN)
        .ok_or(Error::DecryptionFailed)?;
    let mut current: Option<(u32, VerifyingKey)> = None;
    for slot in state.chunks(STATE_SLOT_LEN) {
        if let Some((h, sec)) = writer::decode_slot(&cipher, slot)?
            && current.is_none_or(|(e, _)| h.epoch > e)
        {
            current = Some((h.epoch, sec.public()));
        }
    }
    let (k, pk_k) = current.ok_or(Error::DecryptionFailed)?;

    // Everything from the good point on is kept as evidence.
    let seq = s.state.next_seq;
    let (g_seg, g_off) = (s.last_segment, s.end_offset);
    let mut files = Vec::new();
    let mut evidence = Vec::new();
    if let Some(head) = walk::read_bounded(&dir, HEAD_FILE, format::HEAD_LEN)? {
        keep(&dir, &format::quarantine_file_name(seq, 0), &head)?;
        files.push((0, sha256(&head)));
    }
    let mut prefix = None;
    for seg in walk::list_segments(&dir)?
        .into_iter()
        .filter(|&n| n >= g_seg)
    {
        let name = format::segment_file_name(seg);
        let bytes = walk::read_bounded(&dir, &name, format::MAX_WHOLE_FILE)?.unwrap_or_default();
        if seg == g_seg && bytes.len() as u64 <= g_off {
            continue;
        }
        keep(&dir, &format::quarantine_file_name(seq, seg), &bytes)?;
        files.push((seg, sha256(&bytes)));
        if seg == g_seg {
            let cut = usize::try_from(g_off)
                .unwrap_or(bytes.len())
                .min(bytes.len());
            prefix = Some(bytes[..cut].to_vec());
        }
        evidence.push(bytes);
    }

    // The bridge: seals in the kept bytes certifying epoch j's key onward
    // to the writer's key.
    let mut bridge = Vec::new();
    let (mut epoch, mut key) = (s.state.epoch, s.state.epoch_key);
    'scan: for bytes in &evidence {
        let mut at = 0;
        while epoch < k && at + SEAL_FRAME_LEN <= bytes.len() {
            let f = &bytes[at..at + SEAL_FRAME_LEN];
            if format::le_u32(f, 0) as usize + 4 == SEAL_FRAME_LEN
                && f[4] == Kind::Seal as u8
                && format::le_u32(f, 5) == epoch
            {
                let v = FrameView::parse(f);
                if let Some(seal) = Seal::parse(v.body)
                    && format::chain_record(&seal.prev, v.covered) == v.chain
                    && key
                        .verify_strict(
                            &seal.message(&s.log_id, v.epoch, v.seq),
                            &Signature::from_bytes(&seal.signature),
                        )
                        .is_ok()
                    && let Ok(next) = VerifyingKey::from_bytes(&seal.next_key)
                {
                    bridge.push(f.to_vec());
                    key = next;
                    epoch += 1;
                    at += SEAL_FRAME_LEN;
                    continue;
                }
            }
            at += 1;
        }
        if epoch == k {
            break 'scan;
        }
    }
    if epoch != k || key != pk_k {
        return Err(Error::InvalidInput(format!(
            "cannot continue this log verifiably: the seals that certify the current key were \
             destroyed too ({tamper}); it verifies up to record {seq}; start a new log"
        )));
    }

    // Cut the damaged segment back to the good point (the original is
    // kept above), drop the later ones (kept above), then append the
    // quarantine record chained to the last good record.
    for (seg, _) in files.iter().filter(|(n, _)| *n > g_seg) {
        dir.remove_file(format::segment_file_name(*seg))?;
    }
    let body = QuarantineBody {
        time_ns: format::nanos(SystemTime::now()).max(s.state.last_time_ns),
        kind: tamper.kind.code(),
        segment: tamper.position.segment,
        offset: tamper.position.offset,
        seq: tamper.position.seq.unwrap_or(seq),
        resume_seq: seq,
        files: files.clone(),
        bridge,
    };
    let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + 256);
    let chain = format::build_frame(
        &mut frame,
        Kind::Quarantine,
        s.state.epoch,
        seq,
        &body.encode(),
        &s.state.chain,
    );
    let seg_name = format::segment_file_name(g_seg);
    let mut new_seg = match prefix {
        Some(p) => p,
        None => walk::read_bounded(&dir, &seg_name, format::MAX_WHOLE_FILE)?.unwrap_or_default(),
    };
    new_seg.extend_from_slice(&frame);
    dir.write_atomic(&seg_name, &new_seg)?;
    dir.sync()?;

    let mut s2 = s.clone();
    s2.state.next_seq = seq + 1;
    s2.state.chain = chain;
    s2.state.last_time_ns = body.time_ns;
    if !body.bridge.is_empty() {
        s2.state.epoch = k;
        s2.state.epoch_key = pk_k;
        s2.state.epoch_first_seq = seq + 1;
        s2.epoch_count = 0;
    } else {
        s2.epoch_count += 1;
    }
    s2.end_offset = new_seg.len() as u64;
    s2.torn = None;
    s2.head = None;
    let event = QuarantineEvent {
        record_seq: seq,
        kind_code: body.kind,
        segment: body.segment,
        offset: body.offset,
        continued_at: seq,
        files,
    };
    let mut w = Writer::resume(dir, lock, &s2, state_key, opts)?;
    // Sign the quarantine record now.
    let _ = w.seal_epoch()?;
    Ok((w, Some(event)))
}

/// The events that can still be read in a log's quarantine files (kept by
/// [`AuditLog::recover_after_tamper`]): every frame that decrypts with the
/// read key, in file order, damaged ones skipped. Nothing here is verified
/// (the chain is broken at the damage by definition): use it only for
/// facts that must not be lost with a quarantine, such as the highest
/// generation a record ever named, never as proof that something happened.
///
/// # Errors
/// I/O errors and files larger than this crate reads whole.
pub fn quarantined_events(
    path: impl AsRef<std::path::Path>,
    key: &crate::keys::ReadKey,
    log_id: &[u8; 16],
) -> Result<Vec<crate::event::Record>> {
    let dir = match PrivateDir::open(path.as_ref()) {
        Ok(d) => d,
        Err(e) if *e.kind() == secure_fs::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut names: Vec<String> = dir
        .entries()?
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .filter(|n| n.starts_with("quarantine-") && n.ends_with(".eal"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    // Record keys by epoch, derived once each.
    let mut ciphers: Vec<aes_gcm::Aes256Gcm> = Vec::new();
    let mut seed = key.seed();
    for name in names {
        let Some(bytes) = walk::read_bounded(&dir, &name, format::MAX_WHOLE_FILE)? else {
            continue;
        };
        let mut pos = format::SEGMENT_HEADER_LEN;
        while bytes.len().saturating_sub(pos) >= 4 + format::MIN_FRAME_LEN as usize {
            let len = format::le_u32(&bytes, pos) as usize;
            let fits = len >= format::MIN_FRAME_LEN as usize
                && len <= format::MAX_BODY + format::MIN_FRAME_LEN as usize
                && bytes.len() - pos - 4 >= len;
            if !fits {
                pos += 1; // resynchronize after a damaged length
                continue;
            }
            let f = FrameView::parse(&bytes[pos..pos + 4 + len]);
            let mut read = false;
            if Kind::from_u8(f.kind) == Some(Kind::Event)
                && f.epoch < (1 << 20)
                && f.body.len() >= format::NONCE_LEN + format::TAG_LEN
            {
                while ciphers.len() <= f.epoch as usize {
                    ciphers.push(crate::keys::record_cipher(&seed, log_id));
                    seed = crate::keys::evolve(&seed);
                }
                let aad = format::event_aad(log_id, f.header);
                let ct_end = f.body.len() - format::TAG_LEN;
                let mut pt = zeroize::Zeroizing::new(f.body[format::NONCE_LEN..ct_end].to_vec());
                if crate::keys::open_in_place(
                    &ciphers[f.epoch as usize],
                    &f.body[..format::NONCE_LEN],
                    &aad,
                    &mut pt,
                    &f.body[ct_end..],
                )
                .is_ok()
                    && let Some(r) = crate::event::Record::decode(f.seq, &pt)
                {
                    out.push(r);
                    read = true;
                }
            }
            // A frame that is not a readable event: step over it when its
            // kind is known, else look for the next frame byte by byte.
            if read || Kind::from_u8(f.kind).is_some() {
                pos += 4 + len;
            } else {
                pos += 1;
            }
        }
    }
    Ok(out)
}
