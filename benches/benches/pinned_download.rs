//! pinned-downloader: throughput of a 1 GiB download over loopback TLS
//! against `curl` from the same server in the same run (DESIGN.md §5:
//! target >= 0.9).
//!
//! One rustls server on 127.0.0.1 (a certificate made by rcgen at start)
//! serves the file from memory to both clients. Ours runs with its full
//! policy: the host pinned (leaf key plus a backup), `--resolve`-style
//! override, expected size and SHA-256 checked (hashed on the writer
//! thread), atomic install. curl gets the same trust: `--cacert`,
//! `--pinnedpubkey` and `--resolve`; it does not hash. Both write into one
//! directory on tmpfs (/dev/shm when present) so that neither measures the
//! disk; the file is removed after each iteration.
//!
//! Groups: `pinned_download/ours` and `pinned_download/baseline_curl`
//! (criterion, flat sampling, 10 samples each). Criterion measures one
//! function's samples before the other's, so background load that drifts
//! skews the ratio; a paired measurement follows (the two alternated 5
//! times, medians via `benches::interleaved_medians`) and its throughput
//! ratio ours/curl is printed on stdout. `PINNED_BENCH_MIB` changes the size
//! (default 1024). Without `curl` on PATH, only ours is measured and the
//! bench says so (`apt-get install curl`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout)] // reason: the paired ratio is reported on stdout, next to criterion's output

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use pinned_downloader::{Downloader, Pin, PinSet, Request, Sha256Digest};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::Digest;

const HOST: &str = "bench.test";

fn size_bytes() -> u64 {
    std::env::var("PINNED_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1024)
        << 20
}

/// One MiB of pseudo-random bytes, served `size / 1 MiB` times.
fn block() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

struct Setup {
    port: u16,
    ca_file: PathBuf,
    pin: Pin,
    sha256: Sha256Digest,
    size: u64,
    out_dir: tempfile::TempDir,
    _work: tempfile::TempDir,
}

fn serve(sock: TcpStream, config: Arc<rustls::ServerConfig>, block: &[u8], size: u64) {
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tls.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return,
        }
    }
    let h = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n");
    if tls.write_all(h.as_bytes()).is_err() {
        return;
    }
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(block.len() as u64)).unwrap();
        if tls.write_all(&block[..n]).is_err() {
            return;
        }
        left -= n as u64;
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn setup() -> Setup {
    let size = size_bytes();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // Distinct subjects: OpenSSL takes a leaf whose issuer equals its
    // subject for self-signed.
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "pinned bench CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec![HOST.to_string()]).unwrap();
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, HOST);
    let cert = leaf_params.signed_by(&key, &ca).unwrap();
    let pin = Pin::from_certificate_der(cert.der()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let ca_file = work.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let shm = Path::new("/dev/shm");
    let out_dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };

    let block = Arc::new(block());
    let mut hasher = sha2::Sha256::new();
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(block.len() as u64)).unwrap();
        hasher.update(&block[..n]);
        left -= n as u64;
    }
    let sha256 = Sha256Digest(hasher.finalize().into());

    #[allow(deprecated)] // the ring provider, as the client uses
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let (config, block) = (config.clone(), block.clone());
            std::thread::spawn(move || serve(sock, config, &block, size));
        }
    });
    Setup {
        port,
        ca_file,
        pin,
        sha256,
        size,
        out_dir,
        _work: work,
    }
}

fn curl_available() -> bool {
    Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn bench(c: &mut Criterion) {
    // The server, its certificate and the 1 GiB digest only when the
    // filter selects this bench.
    if !benches::selected(&["pinned_download/ours", "pinned_download/baseline_curl"]) {
        return;
    }
    let s = setup();
    let url = format!("https://{HOST}:{}/model.bin", s.port);
    let target = s.out_dir.path().join("model.bin");
    let downloader = Downloader::builder()
        .ca_file(&s.ca_file)
        .only_extra_roots()
        .allow_pinned(
            HOST,
            PinSet::new([s.pin, Pin::from_spki_der(b"offline backup key")]).unwrap(),
        )
        .resolve(HOST, s.port, "127.0.0.1".parse().unwrap())
        .build()
        .unwrap();
    let mut ours = || {
        let done = downloader
            .download(
                Request::new(url.clone())
                    .expected_size(s.size)
                    .sha256(s.sha256),
                &target,
            )
            .unwrap();
        assert!(done.sha256_verified);
        std::fs::remove_file(&target).unwrap();
    };
    let have_curl = curl_available();
    let curl_target = s.out_dir.path().join("curl.bin");
    let mut curl = || {
        let status = Command::new("curl")
            .args(["-sS", "--fail", "--cacert"])
            .arg(&s.ca_file)
            .arg("--pinnedpubkey")
            .arg(s.pin.to_string())
            .arg("--resolve")
            .arg(format!("{HOST}:{}:127.0.0.1", s.port))
            .arg("-o")
            .arg(&curl_target)
            .arg(&url)
            .status()
            .unwrap();
        assert!(status.success(), "curl failed");
        assert_eq!(std::fs::metadata(&curl_target).unwrap().len(), s.size);
        std::fs::remove_file(&curl_target).unwrap();
    };

    let mut group = c.benchmark_group("pinned_download");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Bytes(s.size));
    group.bench_function("ours", |b| b.iter(&mut ours));
    if have_curl {
        group.bench_function("baseline_curl", |b| b.iter(&mut curl));
    }
    group.finish();

    if have_curl {
        let [t_ours, t_curl] = benches::interleaved_medians(5, &mut [&mut ours, &mut curl]);
        let mib = s.size as f64 / f64::from(1 << 20);
        benches::record_paired(
            "pinned-download",
            t_curl.as_secs_f64() / t_ours.as_secs_f64(),
        );
        println!(
            "pinned_download paired (5 rounds, medians): ours {:.0} MiB/s, curl {:.0} MiB/s, \
             throughput ratio ours/curl = {:.3} (target >= 0.9)",
            mib / t_ours.as_secs_f64(),
            mib / t_curl.as_secs_f64(),
            t_curl.as_secs_f64() / t_ours.as_secs_f64()
        );
    } else {
        println!("pinned_download: curl not found on PATH (apt-get install curl); no baseline");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
