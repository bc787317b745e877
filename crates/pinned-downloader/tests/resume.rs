//! Resume that verifies: chunks on disk re-checked, Range + If-Range, a
//! 200 answer restarts cleanly, a wrong 206 is refused.
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pinned_downloader::{Downloader, ErrorKind, Request, Sha256Digest};

use crate::support::*;

const CHUNK: u64 = 4096;
const LEN: usize = 40_000;

/// First request: the full Content-Length, cut after `cut_at` bytes.
/// Later requests: `then`.
fn cut_then(leaf: &Leaf, body: Arc<Vec<u8>>, cut_at: usize, then: Handler) -> Server {
    let n = Arc::new(AtomicUsize::new(0));
    Server::start(
        leaf,
        Arc::new(move |req: &Seen, tls: &mut Tls| {
            if n.fetch_add(1, Ordering::SeqCst) == 0 {
                head(
                    tls,
                    "200 OK",
                    &[
                        ("Content-Length", body.len().to_string()),
                        ("ETag", "\"v1\"".into()),
                    ],
                )?;
                tls.write_all(&body[..cut_at])?;
                return Ok(End::Cut);
            }
            then(req, tls)
        }),
    )
}

fn downloader(pki: &Pki, leaf: &Leaf, port: u16) -> Downloader {
    builder(pki, &[("good.test", port)])
        .allow_pinned("good.test", pins(leaf.pin))
        .resume_chunk_size(CHUNK)
        .build()
        .unwrap()
}

fn request(server: &Server, body: &[u8]) -> Request {
    Request::new(server.url("good.test", "/m.bin"))
        .resume(true)
        .sha256(Sha256Digest::from_hex(&sha256_hex(body)).unwrap())
}

/// Runs the cut first attempt and checks what it leaves.
fn first_attempt(dl: &Downloader, server: &Server, body: &[u8], target: &std::path::Path) {
    let err = dl.download(request(server, body), target).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::SizeMismatch {
                truncated: true,
                ..
            }
        ),
        "{err}"
    );
    assert!(!target.exists());
    let dir = target.parent().unwrap();
    assert_eq!(entries(dir), ["model.bin.part", "model.bin.part.resume"]);
}

#[test]
fn resume_after_a_cut_refetches_a_corrupted_chunk() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = Arc::new(content(LEN));
    let server = cut_then(
        &leaf,
        body.clone(),
        20_000,
        file_handler(body.clone(), "\"v1\"", true),
    );
    let dl = downloader(&pki, &leaf, server.port);
    let (dir, target) = out_dir();
    first_attempt(&dl, &server, &body, &target);
    // Chunks 0..=3 were recorded; corrupt one byte of chunk 1 on disk.
    let part = dir.path().join("model.bin.part");
    let mut bytes = std::fs::read(&part).unwrap();
    assert!(bytes.len() >= 4 * CHUNK as usize);
    bytes[5000] ^= 0xff;
    std::fs::write(&part, &bytes).unwrap();

    let got = dl.download(request(&server, &body), &target).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), *body);
    assert_eq!(got.refetched_chunks, [1]);
    assert_eq!(got.resumed_from, 4 * CHUNK);
    assert!(!got.restarted);
    assert!(got.sha256_verified);
    assert_eq!(entries(dir.path()), ["model.bin"]);
    let seen = server.seen();
    let ranges: Vec<(Option<&str>, Option<&str>)> = seen
        .iter()
        .map(|s| (s.header("range"), s.header("if-range")))
        .collect();
    assert_eq!(
        ranges,
        [
            (None, None),
            (Some("bytes=4096-8191"), Some("\"v1\"")),
            (Some("bytes=16384-"), Some("\"v1\"")),
        ]
    );
}

#[test]
fn a_server_that_ignores_range_restarts_cleanly() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = Arc::new(content(LEN));
    let server = cut_then(
        &leaf,
        body.clone(),
        30_000,
        file_handler(body.clone(), "\"v1\"", false),
    );
    let dl = downloader(&pki, &leaf, server.port);
    let (dir, target) = out_dir();
    first_attempt(&dl, &server, &body, &target);
    let got = dl.download(request(&server, &body), &target).unwrap();
    assert!(got.restarted);
    assert_eq!(std::fs::read(&target).unwrap(), *body);
    assert_eq!(entries(dir.path()), ["model.bin"]);
}

#[test]
fn a_changed_remote_file_restarts_cleanly() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let old = Arc::new(content(LEN));
    let mut new = content(LEN);
    new.reverse();
    let new = Arc::new(new);
    // If-Range "v1" no longer matches "v2": the server sends the whole new
    // file with 200.
    let server = cut_then(
        &leaf,
        old,
        20_000,
        file_handler(new.clone(), "\"v2\"", true),
    );
    let dl = downloader(&pki, &leaf, server.port);
    let (dir, target) = out_dir();
    let req = |s: &Server| Request::new(s.url("good.test", "/m.bin")).resume(true);
    let err = dl.download(req(&server), &target).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::SizeMismatch {
            truncated: true,
            ..
        }
    ));
    let got = dl.download(req(&server), &target).unwrap();
    assert!(got.restarted);
    assert_eq!(std::fs::read(&target).unwrap(), *new);
    assert_eq!(entries(dir.path()), ["model.bin"]);
}

#[test]
fn a_wrong_content_range_is_refused_and_the_part_discarded() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = Arc::new(content(LEN));
    let b2 = body.clone();
    let wrong: Handler = Arc::new(move |_req: &Seen, tls: &mut Tls| {
        // Asked for bytes=16384-, answers from 0.
        head(
            tls,
            "206 Partial Content",
            &[
                ("Content-Length", (LEN - 100).to_string()),
                ("Content-Range", format!("bytes 100-{}/{LEN}", LEN - 1)),
            ],
        )?;
        tls.write_all(&b2[100..])?;
        Ok(End::Clean)
    });
    let server = cut_then(&leaf, body.clone(), 20_000, wrong);
    let dl = downloader(&pki, &leaf, server.port);
    let (dir, target) = out_dir();
    first_attempt(&dl, &server, &body, &target);
    let err = dl.download(request(&server, &body), &target).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ResumeRefused { .. }),
        "{err}"
    );
    assert!(err.to_string().starts_with("resume refused"), "{err}");
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn a_checksum_mismatch_after_resume_discards_everything() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = Arc::new(content(LEN));
    let mut tail_flipped = (*body).clone();
    tail_flipped[LEN - 1] ^= 1;
    let server = cut_then(
        &leaf,
        body.clone(),
        20_000,
        file_handler(Arc::new(tail_flipped), "\"v1\"", true),
    );
    let dl = downloader(&pki, &leaf, server.port);
    let (dir, target) = out_dir();
    first_attempt(&dl, &server, &body, &target);
    let err = dl.download(request(&server, &body), &target).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{err}"
    );
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn an_orphan_or_foreign_part_is_not_trusted() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = Arc::new(content(LEN));
    let server = Server::start(&leaf, file_handler(body.clone(), "\"v1\"", true));
    let dl = downloader(&pki, &leaf, server.port);
    let (dir, target) = out_dir();
    // A part without a sidecar, full of garbage.
    std::fs::write(dir.path().join("model.bin.part"), vec![0u8; 30_000]).unwrap();
    let got = dl.download(request(&server, &body), &target).unwrap();
    assert_eq!(got.resumed_from, 0);
    assert_eq!(std::fs::read(&target).unwrap(), *body);
    // A sidecar of an unknown version is not guessed at.
    std::fs::remove_file(&target).unwrap();
    std::fs::write(dir.path().join("model.bin.part"), vec![0u8; 30_000]).unwrap();
    std::fs::write(
        dir.path().join("model.bin.part.resume"),
        br#"{"format":"pinned-downloader-resume","version":9}"#,
    )
    .unwrap();
    let got = dl.download(request(&server, &body), &target).unwrap();
    assert_eq!(got.resumed_from, 0);
    assert_eq!(entries(dir.path()), ["model.bin"]);
    assert!(server.seen().iter().all(|s| s.header("range").is_none()));
}
