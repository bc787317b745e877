//! Pins: checked inside the handshake, after WebPKI, over the verified
//! chain; a backup pin required; expiry.
use std::sync::Arc;

use pinned_downloader::{ErrorKind, Pin, PinSet, PinStatus, Request};

use crate::support::*;

fn serve(pki: &Pki, leaf: &Leaf, body: &Arc<Vec<u8>>) -> Server {
    let _ = pki;
    Server::start(leaf, file_handler(body.clone(), "\"v1\"", false))
}

/// Downloads `/` from `good.test` (the server, on loopback) trusting
/// `pki`'s root and pinning `leaf`'s key (with a backup pin); the refusal.
fn download_pinned_to_leaf(
    pki: &Pki,
    server: &Server,
    leaf: &Leaf,
    target: &std::path::Path,
) -> pinned_downloader::Error {
    builder(pki, &[("good.test", server.port)])
        .allow_pinned("good.test", pins(leaf.pin))
        .build()
        .unwrap()
        .download(Request::new(server.url("good.test", "/")), target)
        .unwrap_err()
}

#[test]
fn leaf_intermediate_or_root_pin_matches() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = Arc::new(content(100_000));
    let server = serve(&pki, &leaf, &body);
    for pin in [leaf.pin, pki.inter_pin(), pki.root_pin()] {
        let (dir, target) = out_dir();
        let dl = builder(&pki, &[("good.test", server.port)])
            .allow_pinned("good.test", pins(pin))
            .build()
            .unwrap();
        let got = dl
            .download(Request::new(server.url("good.test", "/m.bin")), &target)
            .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), *body);
        assert_eq!(got.size, body.len() as u64);
        assert_eq!(got.sha256.to_hex(), sha256_hex(&body));
        assert!(!got.sha256_verified);
        assert_eq!(got.redirect_chain.len(), 1);
        assert_eq!(got.redirect_chain[0].pin, PinStatus::Matched);
        assert_eq!(got.redirect_chain[0].status, 200);
        assert_eq!(entries(dir.path()), ["model.bin"]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn valid_chain_with_another_key_fails_the_handshake_before_any_request() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = Arc::new(content(1000));
    let server = serve(&pki, &leaf, &body);
    let (dir, target) = out_dir();
    // A pin of another key from the same CA: WebPKI passes, the pin fails.
    let other = pki.leaf(&["good.test"]);
    let dl = builder(&pki, &[("good.test", server.port)])
        .allow_pinned("good.test", pins(other.pin))
        .build()
        .unwrap();
    let err = dl
        .download(Request::new(server.url("good.test", "/m.bin")), &target)
        .unwrap_err();
    match err.kind() {
        ErrorKind::PinMismatch { host, chain_pins } => {
            assert_eq!(host, "good.test");
            // leaf, intermediate, root: what the verified chain holds.
            assert_eq!(chain_pins.len(), 3);
            assert_eq!(chain_pins[0], leaf.pin.to_string());
        }
        other => panic!("expected a pin mismatch, got {other:?}"),
    }
    assert!(err.to_string().starts_with("pin mismatch"), "{err}");
    assert!(err.is_refusal());
    assert!(
        server.seen().is_empty(),
        "a request byte reached the server"
    );
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_pinned_ca_appended_to_the_chain_does_not_count() {
    // The attacker's chain is valid under another CA and carries the
    // pinned intermediate as an extra, unused certificate.
    let pki = Pki::new();
    let evil_pki = Pki::new();
    let mut leaf = evil_pki.leaf(&["good.test"]);
    leaf.chain.push(pki.leaf(&["x.test"]).chain[1].clone());
    let body = Arc::new(content(1000));
    let server = serve(&evil_pki, &leaf, &body);
    let (dir, target) = out_dir();
    let dl = builder(&pki, &[("good.test", server.port)])
        .ca_pem(evil_pki.ca_pem.as_bytes())
        .allow_pinned("good.test", pins(pki.inter_pin()))
        .build()
        .unwrap();
    let err = dl
        .download(Request::new(server.url("good.test", "/")), &target)
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::PinMismatch { .. }), "{err}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_pin_set_needs_a_backup_pin() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let err = PinSet::new([leaf.pin]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Config { .. }));
    assert!(err.to_string().contains("backup pin"), "{err}");
    let err = PinSet::parse(&format!("{};{}", leaf.pin, leaf.pin)).unwrap_err();
    assert!(err.to_string().contains("backup pin"), "{err}");
}

#[test]
fn an_expired_pin_set_falls_back_to_webpki() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = Arc::new(content(5000));
    let server = serve(&pki, &leaf, &body);
    let (_dir, target) = out_dir();
    let stale = PinSet::parse(&format!(
        "{};{};expires=2001-01-01",
        Pin::from_spki_der(b"old key"),
        backup_pin()
    ))
    .unwrap();
    let dl = builder(&pki, &[("good.test", server.port)])
        .allow_pinned("good.test", stale)
        .build()
        .unwrap();
    let got = dl
        .download(Request::new(server.url("good.test", "/")), &target)
        .unwrap();
    assert_eq!(got.redirect_chain[0].pin, PinStatus::Expired);
    assert_eq!(std::fs::read(&target).unwrap(), *body);
}

#[test]
fn an_expired_certificate_is_refused() {
    let pki = Pki::new();
    let leaf = pki.expired_leaf(&["good.test"]);
    let server = serve(&pki, &leaf, &Arc::new(content(10)));
    let (dir, target) = out_dir();
    let err = download_pinned_to_leaf(&pki, &server, &leaf, &target);
    match err.kind() {
        ErrorKind::CertificateInvalid { reason, .. } => {
            assert!(reason.contains("expired"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(server.seen().is_empty());
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["other.test"]);
    let server = serve(&pki, &leaf, &Arc::new(content(10)));
    let (dir, target) = out_dir();
    let err = download_pinned_to_leaf(&pki, &server, &leaf, &target);
    match err.kind() {
        ErrorKind::CertificateInvalid { host, reason } => {
            assert_eq!(host, "good.test");
            assert!(reason.contains("not valid for this host name"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn an_unknown_issuer_is_refused_even_with_a_matching_leaf_pin() {
    let pki = Pki::new();
    let stranger = Pki::new();
    let leaf = stranger.leaf(&["good.test"]);
    let server = serve(&stranger, &leaf, &Arc::new(content(10)));
    let (dir, target) = out_dir();
    let err = download_pinned_to_leaf(&pki, &server, &leaf, &target);
    match err.kind() {
        ErrorKind::CertificateInvalid { reason, .. } => {
            assert!(reason.contains("unknown issuer"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn pins_from_a_pem_file_match_the_keys() {
    let pki = Pki::new();
    let pins = Pin::from_pem_certificates(pki.ca_pem.as_bytes()).unwrap();
    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0].1, pki.root_pin());
    assert!(pins[0].0.contains("pinned test root"), "{}", pins[0].0);
}
