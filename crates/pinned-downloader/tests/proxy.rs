//! HTTPS_PROXY through CONNECT: pins still checked end to end.
use std::sync::Arc;

use pinned_downloader::{ErrorKind, Request};

use crate::support::*;

#[test]
fn a_tunnelling_proxy_carries_a_pinned_download() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    let body = Arc::new(content(50_000));
    let server = Server::start(&leaf, file_handler(body.clone(), "\"v\"", false));
    let proxy = Proxy::start(ProxyMode::Tunnel);
    let (_dir, target) = out_dir();
    let dl = builder(&pki, &[])
        .allow_pinned("good.test", pins(leaf.pin))
        .proxy(&proxy.url())
        .build()
        .unwrap();
    dl.download(Request::new(server.url("good.test", "/m")), &target)
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), *body);
    assert_eq!(
        *proxy.connects.lock().unwrap(),
        [format!("good.test:{}", server.port)]
    );
}

#[test]
fn a_proxy_substituting_its_certificate_is_refused() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["good.test"]);
    // The proxy holds a certificate for good.test from a CA the client
    // trusts (a corporate interception CA added to the trust store): WebPKI
    // passes, the pin does not.
    let proxy_leaf = pki.leaf(&["good.test"]);
    let proxy = Proxy::start(ProxyMode::Substitute(
        server_config(&proxy_leaf),
        file_handler(Arc::new(content(100)), "\"p\"", false),
    ));
    let (dir, target) = out_dir();
    let dl = builder(&pki, &[])
        .allow_pinned("good.test", pins(leaf.pin))
        .proxy(&proxy.url())
        .build()
        .unwrap();
    let err = dl
        .download(Request::new("https://good.test:9/m"), &target)
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::PinMismatch { .. }), "{err}");
    assert!(entries(dir.path()).is_empty());

    // A proxy certificate from an untrusted CA fails WebPKI first.
    let stranger = Pki::new();
    let proxy = Proxy::start(ProxyMode::Substitute(
        server_config(&stranger.leaf(&["good.test"])),
        file_handler(Arc::new(content(100)), "\"p\"", false),
    ));
    let dl = builder(&pki, &[])
        .allow_pinned("good.test", pins(leaf.pin))
        .proxy(&proxy.url())
        .build()
        .unwrap();
    let err = dl
        .download(Request::new("https://good.test:9/m"), &target)
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CertificateInvalid { .. }),
        "{err}"
    );
    assert!(entries(dir.path()).is_empty());
}
