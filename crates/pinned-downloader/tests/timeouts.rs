//! Idle, low-speed (slow drip) and total timeouts. The hostile servers
//! stall or drip; the tests wait for the client's own limits to fire.
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use pinned_downloader::{ErrorKind, Request, TimeoutKind};

use crate::support::*;

/// Waits until the client hangs up (a read returns 0 or fails).
fn until_client_leaves(tls: &mut Tls) {
    let mut b = [0u8; 16];
    while matches!(tls.read(&mut b), Ok(n) if n > 0) {}
}

fn stalling(leaf: &Leaf, before_body: bool) -> Server {
    Server::start(
        leaf,
        Arc::new(move |_req: &Seen, tls: &mut Tls| {
            if !before_body {
                head(tls, "200 OK", &[("Content-Length", "100000".into())])?;
                tls.write_all(&[7u8; 1000])?;
                tls.flush()?;
            }
            until_client_leaves(tls);
            Ok(End::Cut)
        }),
    )
}

fn dripping(leaf: &Leaf) -> Server {
    Server::start(
        leaf,
        Arc::new(|_req: &Seen, tls: &mut Tls| {
            head(tls, "200 OK", &[("Content-Length", "100000".into())])?;
            // One byte every 20 ms, until the client gives up (bounded).
            for _ in 0..2000 {
                tls.write_all(b"x")?;
                tls.flush()?;
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(End::Clean)
        }),
    )
}

fn expect_timeout(
    server: &Server,
    pki: &Pki,
    leaf: &Leaf,
    cfg: impl FnOnce(pinned_downloader::DownloaderBuilder) -> pinned_downloader::DownloaderBuilder,
) -> TimeoutKind {
    let (dir, target) = out_dir();
    let dl =
        cfg(builder(pki, &[("good.test", server.port)]).allow_pinned("good.test", pins(leaf.pin)))
            .build()
            .unwrap();
    let err = dl
        .download(Request::new(server.url("good.test", "/m")), &target)
        .unwrap_err();
    assert!(err.to_string().starts_with("timeout"), "{err}");
    assert!(entries(dir.path()).is_empty());
    match err.kind() {
        ErrorKind::Timeout { what } => *what,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stall_in_the_body_hits_the_idle_timeout() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let server = stalling(&leaf, false);
    let what = expect_timeout(&server, &pki, &leaf, |b| {
        b.read_timeout(Duration::from_millis(300))
    });
    assert_eq!(what, TimeoutKind::Idle);
}

#[test]
fn a_stall_before_the_headers_hits_the_idle_timeout() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let server = stalling(&leaf, true);
    let what = expect_timeout(&server, &pki, &leaf, |b| {
        b.read_timeout(Duration::from_millis(300))
    });
    assert_eq!(what, TimeoutKind::Idle);
}

#[test]
fn a_slow_drip_hits_the_low_speed_limit() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let server = dripping(&leaf);
    // 50 bytes/s arrive, 1 KiB/s over 300 ms is required.
    let what = expect_timeout(&server, &pki, &leaf, |b| {
        b.low_speed_limit(Some((1024, Duration::from_millis(300))))
    });
    assert_eq!(what, TimeoutKind::LowSpeed);
}

#[test]
fn a_slow_drip_hits_the_total_timeout() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let server = dripping(&leaf);
    let what = expect_timeout(&server, &pki, &leaf, |b| {
        b.low_speed_limit(None)
            .total_timeout(Duration::from_millis(400))
    });
    assert_eq!(what, TimeoutKind::Total);
}

#[test]
fn a_server_that_never_answers_the_handshake_is_a_connect_timeout() {
    // Accepts TCP, then says nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut b = [0u8; 4096];
        // Reads the ClientHello, answers nothing, waits for the hang-up.
        while matches!(sock.read(&mut b), Ok(n) if n > 0) {}
    });
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let (dir, target) = out_dir();
    let dl = builder(&pki, &[("good.test", port)])
        .allow_pinned("good.test", pins(leaf.pin))
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = dl
        .download(Request::new(format!("https://good.test:{port}/m")), &target)
        .unwrap_err();
    assert_eq!(
        *err.kind(),
        ErrorKind::Timeout {
            what: TimeoutKind::Connect
        },
        "{err}"
    );
    assert!(entries(dir.path()).is_empty());
    drop(dl);
    holder.join().unwrap();
}
