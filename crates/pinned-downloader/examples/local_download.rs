//! A complete pinned download, offline: makes a CA and a server certificate,
//! serves a file over TLS on 127.0.0.1, pins the server's key (plus a
//! backup), and downloads the file with `--resolve`-style name override,
//! an expected size and SHA-256, and a progress callback.
//!
//! `cargo run -p pinned-downloader --example local_download`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use pinned_downloader::{Downloader, Pin, PinSet, Request, Sha256Digest};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::Digest;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A CA and a certificate for "models.example.test".
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let cert =
        CertificateParams::new(vec!["models.example.test".to_string()])?.signed_by(&key, &ca)?;
    let pin = Pin::from_certificate_der(cert.der())?;

    // The file and a one-request TLS server for it.
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Sha256Digest(sha2::Sha256::digest(&body).into());
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    #[allow(deprecated)] // the ring provider, as the client uses
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )?,
    );
    let served = body.clone();
    let server = std::thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && tls.read(&mut b).unwrap() == 1 {
            head.push(b[0]);
        }
        let h = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            served.len()
        );
        tls.write_all(h.as_bytes()).unwrap();
        tls.write_all(&served).unwrap();
        tls.conn.send_close_notify();
        tls.flush().unwrap();
    });

    // The download: pinned host, private output directory.
    let downloader = Downloader::builder()
        .ca_pem(ca.pem().as_bytes())
        .allow_pinned(
            "models.example.test",
            PinSet::new([pin, Pin::from_spki_der(b"offline backup key")])?,
        )
        .resolve("models.example.test", port, "127.0.0.1".parse()?)
        .build()?;
    let out = tempfile::tempdir()?;
    let request = Request::new(format!("https://models.example.test:{port}/model.bin"))
        .expected_size(body.len() as u64)
        .sha256(digest)
        .on_progress(|p| println!("progress: {} / {:?} bytes", p.bytes, p.total));
    let done = downloader.download(request, out.path().join("model.bin"))?;
    server.join().expect("server thread");
    println!(
        "downloaded {} bytes to {}\nsha256 {} (verified: {})",
        done.size,
        done.path.display(),
        done.sha256,
        done.sha256_verified
    );
    for hop in &done.redirect_chain {
        println!("hop: {} {} ({:?})", hop.status, hop.url, hop.pin);
    }
    Ok(())
}
