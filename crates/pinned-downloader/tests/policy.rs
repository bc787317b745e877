//! Allow-list and scheme on every hop, redirect limits, credentials bound
//! to their origin, the redirect chain.
use std::sync::Arc;

use pinned_downloader::{Credential, Downloader, ErrorKind, PinStatus, Request};

use crate::support::*;

#[test]
fn plain_http_is_refused_before_anything() {
    let (dir, target) = out_dir();
    let dl = Downloader::builder()
        .allow_unpinned("good.test")
        .build()
        .unwrap();
    let err = dl
        .download(Request::new("http://good.test/m.bin"), &target)
        .unwrap_err();
    assert_eq!(
        *err.kind(),
        ErrorKind::PlainHttp {
            scheme: "http".into()
        }
    );
    assert!(err.to_string().starts_with("plain http"), "{err}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_first_url_outside_the_list_is_refused() {
    let (dir, target) = out_dir();
    let dl = Downloader::builder()
        .allow_unpinned("good.test")
        .allow_unpinned("*.cdn.test")
        .build()
        .unwrap();
    for url in [
        "https://evil.test/m.bin",
        "https://good.test.evil.test/m.bin",
        "https://cdn.test/m.bin",
        "https://a.b.cdn.test/m.bin",
    ] {
        let err = dl.download(Request::new(url), &target).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::NotAllowedHost { .. }),
            "{url}: {err}"
        );
        assert!(err.to_string().starts_with("not allowed host"), "{err}");
    }
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn redirects_to_a_host_outside_the_list_or_to_http_are_refused() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let evil_leaf = pki.leaf(&["evil.test"]);
    let evil = Server::start(
        &evil_leaf,
        file_handler(Arc::new(content(10)), "\"e\"", false),
    );
    for (to, want) in [
        (evil.url("evil.test", "/x"), "not allowed host"),
        (format!("http://good.test:{}/x", evil.port), "plain http"),
    ] {
        let server = Server::start(&leaf, redirect_handler("302 Found", to));
        let (dir, target) = out_dir();
        let dl = builder(
            &pki,
            &[("good.test", server.port), ("evil.test", evil.port)],
        )
        .allow_pinned("good.test", pins(leaf.pin))
        .build()
        .unwrap();
        let err = dl
            .download(Request::new(server.url("good.test", "/m.bin")), &target)
            .unwrap_err();
        assert!(err.to_string().starts_with(want), "{err}");
        // The chain shows the redirect that was followed to the refusal.
        assert_eq!(err.redirect_chain().len(), 1);
        assert_eq!(err.redirect_chain()[0].status, 302);
        assert!(entries(dir.path()).is_empty());
    }
    assert!(evil.seen().is_empty(), "the refused host was contacted");
}

fn hop_server(leaf: &Leaf) -> Server {
    Server::start(
        leaf,
        Arc::new(|req: &Seen, tls: &mut Tls| {
            let n: u32 = req.path.trim_start_matches("/r/").parse().unwrap_or(99);
            if n == 0 {
                head(tls, "200 OK", &[("Content-Length", "5".into())])?;
                tls.write_all(b"hello")?;
            } else {
                head(
                    tls,
                    "307 Temporary Redirect",
                    &[
                        ("Location", format!("/r/{}", n - 1)),
                        ("Content-Length", "0".into()),
                    ],
                )?;
            }
            Ok(End::Clean)
        }),
    )
}

use std::io::Write;

#[test]
fn five_redirects_are_followed_and_a_sixth_is_refused() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let server = hop_server(&leaf);
    let dl = builder(&pki, &[("good.test", server.port)])
        .allow_pinned("good.test", pins(leaf.pin))
        .build()
        .unwrap();
    let (dir, target) = out_dir();
    let got = dl
        .download(Request::new(server.url("good.test", "/r/5")), &target)
        .unwrap();
    assert_eq!(got.redirect_chain.len(), 6);
    assert_eq!(got.redirect_chain[5].url, server.url("good.test", "/r/0"));
    assert!(got.redirect_chain[..5].iter().all(|h| h.status == 307));
    assert_eq!(std::fs::read(&target).unwrap(), b"hello");
    std::fs::remove_file(&target).unwrap();

    let err = dl
        .download(Request::new(server.url("good.test", "/r/6")), &target)
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::RedirectRefused { .. }),
        "{err}"
    );
    assert!(err.to_string().starts_with("redirect refused"), "{err}");
    assert_eq!(err.redirect_chain().len(), 6);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn credentials_never_cross_origins_and_the_chain_is_returned() {
    let pki = Pki::new();
    let cdn_leaf = pki.leaf(&["a.cdn.test"]);
    let body = Arc::new(content(3000));
    let cdn = Server::start(&cdn_leaf, file_handler(body.clone(), "\"c\"", false));
    let leaf = pki.leaf(&["good.test"]);
    // good.test → good.test (same origin, keeps credentials) → a.cdn.test.
    let cdn_url = cdn.url("a.cdn.test", "/blob?sig=secret");
    let origin = Server::start(
        &leaf,
        Arc::new(move |req: &Seen, tls: &mut Tls| {
            let to = if req.path == "/first" {
                "/second".to_string()
            } else {
                cdn_url.clone()
            };
            head(
                tls,
                "302 Found",
                &[("Location", to), ("Content-Length", "0".into())],
            )?;
            Ok(End::Clean)
        }),
    );
    let (_dir, target) = out_dir();
    let dl = builder(
        &pki,
        &[("good.test", origin.port), ("a.cdn.test", cdn.port)],
    )
    .allow_pinned("good.test", pins(leaf.pin))
    .allow_unpinned("*.cdn.test")
    .build()
    .unwrap();
    let got = dl
        .download(
            Request::new(origin.url("good.test", "/first"))
                .authorization(Credential::new("Bearer hf_topsecret"))
                .cookie(Credential::new("session=abc"))
                .sha256(pinned_downloader::Sha256Digest::from_hex(&sha256_hex(&body)).unwrap()),
            &target,
        )
        .unwrap();
    assert!(got.sha256_verified);
    let seen = origin.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.header("authorization"), Some("Bearer hf_topsecret"));
        assert_eq!(s.header("cookie"), Some("session=abc"));
    }
    let cdn_seen = cdn.seen();
    assert_eq!(cdn_seen.len(), 1);
    assert_eq!(cdn_seen[0].header("authorization"), None);
    assert_eq!(cdn_seen[0].header("cookie"), None);
    let chain: Vec<(u16, PinStatus)> = got
        .redirect_chain
        .iter()
        .map(|h| (h.status, h.pin))
        .collect();
    assert_eq!(
        chain,
        [
            (302, PinStatus::Matched),
            (302, PinStatus::Matched),
            (200, PinStatus::Unpinned)
        ]
    );
    assert_eq!(
        got.redirect_chain[2].url_without_query(),
        cdn.url("a.cdn.test", "/blob")
    );
    // Credentials never show in Debug output.
    let dbg = format!(
        "{:?}",
        Request::new("https://x").authorization(Credential::new("Bearer hf_topsecret"))
    );
    assert!(!dbg.contains("topsecret"), "{dbg}");
}

#[test]
fn the_same_host_on_another_port_is_another_origin() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let second = Server::start(&leaf, file_handler(Arc::new(content(10)), "\"c\"", false));
    let first = Server::start(
        &leaf,
        redirect_handler("302 Found", second.url("good.test", "/x")),
    );
    let (_dir, target) = out_dir();
    let dl = builder(
        &pki,
        &[("good.test", first.port), ("good.test", second.port)],
    )
    .allow_pinned("good.test", pins(leaf.pin))
    .build()
    .unwrap();
    dl.download(
        Request::new(first.url("good.test", "/")).authorization(Credential::new("Bearer t")),
        &target,
    )
    .unwrap();
    assert_eq!(first.seen()[0].header("authorization"), Some("Bearer t"));
    assert_eq!(second.seen()[0].header("authorization"), None);
}

#[test]
fn configuration_mistakes_are_named() {
    for (b, want) in [
        (Downloader::builder(), "no host is allowed"),
        (
            Downloader::builder().allow_unpinned("*.com"),
            "at least two labels",
        ),
        (
            Downloader::builder()
                .allow_unpinned("a.test")
                .allow_unpinned("A.test"),
            "allowed twice",
        ),
        (
            Downloader::builder()
                .allow_unpinned("a.test")
                .resolve_spec("a.test:x:1.2.3.4"),
            "HOST:PORT:ADDR",
        ),
        (
            Downloader::builder()
                .allow_unpinned("a.test")
                .ca_pem(b"nothing"),
            "no CERTIFICATE",
        ),
    ] {
        let err = b.build().unwrap_err();
        assert!(err.to_string().contains(want), "{err} lacks {want}");
    }
}

#[test]
fn a_redirect_target_is_held_to_its_own_pins() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let cdn_leaf = pki.leaf(&["cdn.test"]);
    let cdn = Server::start(
        &cdn_leaf,
        file_handler(Arc::new(content(10)), "\"c\"", false),
    );
    let origin = Server::start(
        &leaf,
        redirect_handler("302 Found", cdn.url("cdn.test", "/x")),
    );
    let (dir, target) = out_dir();
    let dl = builder(&pki, &[("good.test", origin.port), ("cdn.test", cdn.port)])
        .allow_pinned("good.test", pins(leaf.pin))
        // cdn.test is pinned to a key it does not serve.
        .allow_pinned("cdn.test", pins(leaf.pin))
        .build()
        .unwrap();
    let err = dl
        .download(Request::new(origin.url("good.test", "/m")), &target)
        .unwrap_err();
    match err.kind() {
        ErrorKind::PinMismatch { host, .. } => assert_eq!(host, "cdn.test"),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.redirect_chain().len(), 2);
    assert_eq!(err.redirect_chain()[1].status, 0);
    assert!(cdn.seen().is_empty());
    assert!(entries(dir.path()).is_empty());
}
