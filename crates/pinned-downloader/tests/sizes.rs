//! Size limits while streaming, the digest, X-Linked-Etag.
use std::io::Write;
use std::sync::Arc;

use pinned_downloader::{ErrorKind, Request, Sha256Digest};

use crate::support::*;

/// A server whose one response is `headers` then `body`, ending with `end`.
fn raw(leaf: &Leaf, headers: Vec<(&'static str, String)>, body: Vec<u8>, cut: bool) -> Server {
    Server::start(
        leaf,
        Arc::new(move |_req: &Seen, tls: &mut Tls| {
            head(tls, "200 OK", &headers)?;
            tls.write_all(&body)?;
            Ok(if cut { End::Cut } else { End::Clean })
        }),
    )
}

fn run(
    server: &Server,
    pki: &Pki,
    leaf: &Leaf,
    req: impl FnOnce(Request) -> Request,
) -> (tempfile::TempDir, pinned_downloader::Error) {
    run_with(server, pki, leaf, |b| b, req)
}

fn run_with(
    server: &Server,
    pki: &Pki,
    leaf: &Leaf,
    cfg: impl FnOnce(pinned_downloader::DownloaderBuilder) -> pinned_downloader::DownloaderBuilder,
    req: impl FnOnce(Request) -> Request,
) -> (tempfile::TempDir, pinned_downloader::Error) {
    let (dir, target) = out_dir();
    let dl =
        cfg(builder(pki, &[("good.test", server.port)]).allow_pinned("good.test", pins(leaf.pin)))
            .build()
            .unwrap();
    let err = dl
        .download(
            req(Request::new(server.url("good.test", "/m.bin"))),
            &target,
        )
        .unwrap_err();
    assert!(!target.exists());
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    (dir, err)
}

fn digest(data: &[u8]) -> Sha256Digest {
    Sha256Digest::from_hex(&sha256_hex(data)).unwrap()
}

#[test]
fn content_length_larger_than_the_body_is_a_truncation() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = content(1000);
    for cut in [false, true] {
        let server = raw(
            &leaf,
            vec![("Content-Length", "2000".into())],
            body.clone(),
            cut,
        );
        let (_d, err) = run(&server, &pki, &leaf, |r| r);
        assert_eq!(
            *err.kind(),
            ErrorKind::SizeMismatch {
                expected: Some(2000),
                got: 1000,
                truncated: true
            },
            "{err}"
        );
        assert!(err.to_string().starts_with("size mismatch"), "{err}");
    }
}

#[test]
fn content_length_smaller_than_the_body_is_caught_by_size_or_digest() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = content(2000);
    let server = raw(
        &leaf,
        vec![("Content-Length", "1000".into())],
        body.clone(),
        false,
    );
    let (_d, err) = run(&server, &pki, &leaf, |r| r.expected_size(2000));
    assert_eq!(
        *err.kind(),
        ErrorKind::SizeMismatch {
            expected: Some(2000),
            got: 1000,
            truncated: false
        }
    );
    let (_d, err) = run(&server, &pki, &leaf, |r| r.sha256(digest(&body)));
    assert!(
        matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{err}"
    );
}

#[test]
fn an_endless_body_is_cut_at_the_limit() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    // No Content-Length: the body runs until the client hangs up.
    let server = Server::start(
        &leaf,
        Arc::new(|_req: &Seen, tls: &mut Tls| {
            head(tls, "200 OK", &[])?;
            let block = vec![b'x'; 64 << 10];
            for _ in 0..100_000 {
                tls.write_all(&block)?; // fails once the client is gone
            }
            Ok(End::Clean)
        }),
    );
    let (_d, err) = run_with(&server, &pki, &leaf, |b| b.max_size(1 << 20), |r| r);
    assert!(
        matches!(err.kind(), ErrorKind::TooLarge { max, got } if *max == 1 << 20 && *got == (1 << 20) + 1),
        "{err}"
    );
    assert!(err.to_string().starts_with("too large"));
    let (_d, err) = run(&server, &pki, &leaf, |r| r.expected_size(300_000));
    assert!(
        matches!(
            err.kind(),
            ErrorKind::SizeMismatch {
                expected: Some(300_000),
                truncated: false,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn an_announced_size_over_the_maximum_is_refused_before_the_body() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    // Headers only, then a stall: a client that waited for the body would
    // end in a timeout, not in a size refusal.
    let server = Server::start(
        &leaf,
        Arc::new(|_req: &Seen, tls: &mut Tls| {
            head(tls, "200 OK", &[("Content-Length", "5000".into())])?;
            tls.flush()?;
            let mut b = [0u8; 8];
            while matches!(std::io::Read::read(tls, &mut b), Ok(n) if n > 0) {}
            Ok(End::Cut)
        }),
    );
    let (_d, err) = run_with(&server, &pki, &leaf, |b| b.max_size(4999), |r| r);
    assert_eq!(
        *err.kind(),
        ErrorKind::TooLarge {
            max: 4999,
            got: 5000
        }
    );
    let (_d, err) = run(&server, &pki, &leaf, |r| r.expected_size(4000));
    assert!(matches!(
        err.kind(),
        ErrorKind::SizeMismatch {
            expected: Some(4000),
            got: 5000,
            ..
        }
    ));
}

#[test]
fn a_body_one_byte_short_is_refused() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = content(4096);
    let short = body[..4095].to_vec();
    // Honest Content-Length for the short body, caller expects the full size.
    let server = raw(
        &leaf,
        vec![("Content-Length", "4095".into())],
        short.clone(),
        false,
    );
    let (_d, err) = run(&server, &pki, &leaf, |r| r.expected_size(4096));
    assert!(matches!(
        err.kind(),
        ErrorKind::SizeMismatch {
            expected: Some(4096),
            got: 4095,
            ..
        }
    ));
    // Close-delimited body cut one byte short without close_notify.
    let server = raw(&leaf, vec![], short, true);
    let (_d, err) = run(&server, &pki, &leaf, |r| r.sha256(digest(&body)));
    assert!(
        matches!(
            err.kind(),
            ErrorKind::SizeMismatch {
                got: 4095,
                truncated: true,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn one_flipped_byte_with_the_right_size_is_a_checksum_mismatch() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = content(100_000);
    let mut flipped = body.clone();
    flipped[54_321] ^= 0x01;
    let server = raw(
        &leaf,
        vec![("Content-Length", "100000".into())],
        flipped.clone(),
        false,
    );
    let (_d, err) = run(&server, &pki, &leaf, |r| {
        r.expected_size(100_000).sha256(digest(&body))
    });
    assert_eq!(
        *err.kind(),
        ErrorKind::ChecksumMismatch {
            expected: sha256_hex(&body),
            got: sha256_hex(&flipped)
        }
    );
    assert!(err.to_string().starts_with("checksum mismatch"));
}

#[test]
fn linked_etag_is_used_only_when_opted_in() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = content(7000);
    let lying = raw(
        &leaf,
        vec![
            ("Content-Length", "7000".into()),
            (
                "X-Linked-Etag",
                format!("\"{}\"", sha256_hex(b"something else")),
            ),
            ("X-Linked-Size", "7000".into()),
        ],
        body.clone(),
        false,
    );
    // Opted in, no digest of its own: the announced digest is checked.
    let (_d, err) = run(&lying, &pki, &leaf, |r| r.trust_linked_etag(true));
    assert!(
        matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{err}"
    );
    // Opted in with a digest: a contradicting X-Linked-Etag is refused first.
    let (_d, err) = run(&lying, &pki, &leaf, |r| {
        r.trust_linked_etag(true).sha256(digest(&body))
    });
    assert!(err.to_string().contains("X-Linked-Etag"), "{err}");

    let honest = raw(
        &leaf,
        vec![
            ("Content-Length", "7000".into()),
            ("X-Linked-Etag", format!("\"{}\"", sha256_hex(&body))),
        ],
        body,
        false,
    );
    let (_dir, target) = out_dir();
    let dl = builder(&pki, &[("good.test", honest.port)])
        .allow_pinned("good.test", pins(leaf.pin))
        .build()
        .unwrap();
    let got = dl
        .download(
            Request::new(honest.url("good.test", "/m")).trust_linked_etag(true),
            &target,
        )
        .unwrap();
    assert!(got.sha256_verified);
    std::fs::remove_file(&target).unwrap();
    // Not opted in: the header is ignored (the lying one passes).
    let dl = builder(&pki, &[("good.test", lying.port)])
        .allow_pinned("good.test", pins(leaf.pin))
        .build()
        .unwrap();
    let got = dl
        .download(Request::new(lying.url("good.test", "/m")), &target)
        .unwrap();
    assert!(!got.sha256_verified);
}

#[test]
fn progress_reports_bytes_and_total() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = Arc::new(content(3 << 20));
    let server = Server::start(&leaf, file_handler(body, "\"v\"", false));
    let (_dir, target) = out_dir();
    let dl = builder(&pki, &[("good.test", server.port)])
        .allow_pinned("good.test", pins(leaf.pin))
        .build()
        .unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    dl.download(
        Request::new(server.url("good.test", "/m"))
            .on_progress(move |p| s2.lock().unwrap().push(*p)),
        &target,
    )
    .unwrap();
    let seen = seen.lock().unwrap();
    let last = seen.last().unwrap();
    assert_eq!(last.bytes, 3 << 20);
    assert_eq!(last.total, Some(3 << 20));
    assert!(seen.windows(2).all(|w| w[0].bytes <= w[1].bytes));
}

#[test]
fn an_existing_target_is_replaced_only_on_success() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = content(1000);
    let server = raw(
        &leaf,
        vec![("Content-Length", "1000".into())],
        body.clone(),
        false,
    );
    let (dir, target) = out_dir();
    std::fs::write(&target, b"old").unwrap();
    let dl = builder(&pki, &[("good.test", server.port)])
        .allow_pinned("good.test", pins(leaf.pin))
        .build()
        .unwrap();
    let err = dl
        .download(
            Request::new(server.url("good.test", "/m")).sha256(digest(b"nope")),
            &target,
        )
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::ChecksumMismatch { .. }));
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert_eq!(entries(dir.path()), ["model.bin"]);
    dl.download(
        Request::new(server.url("good.test", "/m")).sha256(digest(&body)),
        &target,
    )
    .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), body);
}

#[test]
fn the_output_directory_keeps_its_mode_and_the_file_is_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = content(1000);
    let server = raw(
        &leaf,
        vec![("Content-Length", "1000".into())],
        body.clone(),
        false,
    );
    let (dir, target) = out_dir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&target, b"old").unwrap();
    let dl = builder(&pki, &[("good.test", server.port)])
        .allow_pinned("good.test", pins(leaf.pin))
        .build()
        .unwrap();
    dl.download(
        Request::new(server.url("good.test", "/m")).sha256(digest(&body)),
        &target,
    )
    .unwrap();
    assert_eq!(mode(dir.path()), 0o755, "the user's directory was changed");
    assert_eq!(mode(&target), 0o600);
    assert_eq!(std::fs::read(&target).unwrap(), body);
    assert_eq!(entries(dir.path()), ["model.bin"]);

    // A missing directory is created 0700.
    let fresh = dir.path().join("new");
    dl.download(
        Request::new(server.url("good.test", "/m")).sha256(digest(&body)),
        fresh.join("model.bin"),
    )
    .unwrap();
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("model.bin")), 0o600);
}

#[test]
fn a_world_writable_output_directory_is_refused_and_left_as_is() {
    use std::os::unix::fs::PermissionsExt;
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let server = raw(
        &leaf,
        vec![("Content-Length", "1000".into())],
        content(1000),
        false,
    );
    let (dir, target) = out_dir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let dl = builder(&pki, &[("good.test", server.port)])
        .allow_pinned("good.test", pins(leaf.pin))
        .build()
        .unwrap();
    let err = dl
        .download(Request::new(server.url("good.test", "/m")), &target)
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Io { .. }), "{err}");
    assert!(err.to_string().contains("group or others"), "{err}");
    let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o777, "a refusal must not change the directory");
    assert!(entries(dir.path()).is_empty());
}
