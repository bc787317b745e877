//! Real TLS servers on 127.0.0.1 for the tests, with certificates made by
//! rcgen at test time: a root CA, an intermediate, leaves; honest and
//! hostile handlers; a CONNECT proxy (tunnelling or substituting its own
//! certificate).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use pinned_downloader::{Downloader, DownloaderBuilder, Pin, PinSet};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A safety net: no server thread outlives a stuck test by much.
const SERVER_IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A test PKI: root CA → intermediate CA → leaves.
pub struct Pki {
    root: CertifiedIssuer<'static, KeyPair>,
    inter: CertifiedIssuer<'static, KeyPair>,
    pub ca_pem: String,
}

/// A server certificate chain and key.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
    /// `sha256//` pin of the leaf's key.
    pub pin: Pin,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p
}

impl Pki {
    pub fn new() -> Pki {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let root = CertifiedIssuer::self_signed(
            ca_params(&format!("pinned test root {n}")),
            KeyPair::generate().unwrap(),
        )
        .unwrap();
        let inter = CertifiedIssuer::signed_by(
            ca_params(&format!("pinned test intermediate {n}")),
            KeyPair::generate().unwrap(),
            &root,
        )
        .unwrap();
        let ca_pem = root.pem();
        Pki {
            root,
            inter,
            ca_pem,
        }
    }

    fn leaf_with(&self, names: &[&str], edit: impl FnOnce(&mut CertificateParams)) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name.push(DnType::CommonName, names[0]);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        edit(&mut p);
        let cert = p.signed_by(&key, &self.inter).unwrap();
        let pin = Pin::from_spki_der(&rcgen::PublicKeyData::subject_public_key_info(&key));
        Leaf {
            chain: vec![cert.der().clone(), self.inter.der().clone()],
            key_der: key.serialize_der(),
            pin,
        }
    }

    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_with(names, |_| {})
    }

    pub fn expired_leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_with(names, |p| {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        })
    }

    pub fn root_pin(&self) -> Pin {
        Pin::from_certificate_der(self.root.der()).unwrap()
    }

    pub fn inter_pin(&self) -> Pin {
        Pin::from_certificate_der(self.inter.der()).unwrap()
    }

    pub fn ca_file(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }
}

/// A pin nobody has: the backup in pin sets.
pub fn backup_pin() -> Pin {
    Pin::from_spki_der(b"offline backup key")
}

pub fn pins(primary: Pin) -> PinSet {
    PinSet::new([primary, backup_pin()]).unwrap()
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a handler ends its connection.
pub enum End {
    /// TLS close_notify, then close.
    Clean,
    /// Close the TCP connection without close_notify (a cut).
    Cut,
}

pub type Tls = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;
pub type Handler = Arc<dyn Fn(&Seen, &mut Tls) -> io::Result<End> + Send + Sync>;

/// A TLS server on 127.0.0.1 that answers each connection's first request
/// with its handler.
pub struct Server {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

pub fn server_config(leaf: &Leaf) -> Arc<rustls::ServerConfig> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone()));
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(leaf.chain.clone(), key)
            .unwrap(),
    )
}

fn read_head(tls: &mut Tls) -> io::Result<Option<Seen>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tls.read(&mut byte)? == 0 {
            return Ok(None);
        }
        head.push(byte[0]);
        if head.len() > 64 << 10 {
            return Ok(None);
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let path = first.split(' ').nth(1).unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Some(Seen { path, headers }))
}

/// Serves one accepted TCP connection with TLS and `handler`.
pub fn serve_tls(
    sock: TcpStream,
    config: Arc<rustls::ServerConfig>,
    handler: &Handler,
    seen: &Mutex<Vec<Seen>>,
) {
    let _ = sock.set_read_timeout(Some(SERVER_IO_TIMEOUT));
    let _ = sock.set_write_timeout(Some(SERVER_IO_TIMEOUT));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let Ok(Some(req)) = read_head(&mut tls) else {
        return;
    };
    seen.lock().unwrap().push(req.clone());
    match handler(&req, &mut tls) {
        Ok(End::Clean) => {
            tls.conn.send_close_notify();
            let _ = tls.flush();
            let _ = tls.sock.shutdown(Shutdown::Write);
        }
        Ok(End::Cut) | Err(_) => {
            let _ = tls.sock.shutdown(Shutdown::Both);
        }
    }
}

impl Server {
    pub fn start(leaf: &Leaf, handler: Handler) -> Server {
        Server::start_with(server_config(leaf), handler)
    }

    pub fn start_with(config: Arc<rustls::ServerConfig>, handler: Handler) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        thread::spawn(move || {
            for sock in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(sock) = sock else { continue };
                let (config, handler, seen) = (config.clone(), handler.clone(), seen2.clone());
                thread::spawn(move || serve_tls(sock, config, &handler, &seen));
            }
        });
        Server { port, seen, stop }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Writes a response head.
pub fn head(tls: &mut Tls, status: &str, headers: &[(&str, String)]) -> io::Result<()> {
    let mut h = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (n, v) in headers {
        h.push_str(&format!("{n}: {v}\r\n"));
    }
    h.push_str("\r\n");
    tls.write_all(h.as_bytes())
}

/// Serves `body` in full (200), or the asked range (206) when `ranges`.
pub fn file_handler(body: Arc<Vec<u8>>, etag: &'static str, ranges: bool) -> Handler {
    Arc::new(move |req: &Seen, tls: &mut Tls| {
        let total = body.len() as u64;
        if ranges && let Some(r) = req.header("range") {
            let validator_ok = req.header("if-range").is_none_or(|v| v == etag);
            let spec = r.trim_start_matches("bytes=");
            let (a, b) = spec.split_once('-').unwrap();
            let start: u64 = a.parse().unwrap();
            let end: u64 = if b.is_empty() {
                total - 1
            } else {
                b.parse().unwrap()
            };
            if validator_ok && start < total {
                let end = end.min(total - 1);
                head(
                    tls,
                    "206 Partial Content",
                    &[
                        ("Content-Length", (end - start + 1).to_string()),
                        ("Content-Range", format!("bytes {start}-{end}/{total}")),
                        ("ETag", etag.to_string()),
                    ],
                )?;
                tls.write_all(&body[start as usize..=end as usize])?;
                return Ok(End::Clean);
            }
        }
        head(
            tls,
            "200 OK",
            &[
                ("Content-Length", total.to_string()),
                ("ETag", etag.to_string()),
            ],
        )?;
        tls.write_all(&body)?;
        Ok(End::Clean)
    })
}

/// Redirects every request to `to`.
pub fn redirect_handler(status: &'static str, to: String) -> Handler {
    Arc::new(move |_req: &Seen, tls: &mut Tls| {
        head(
            tls,
            status,
            &[("Location", to.clone()), ("Content-Length", "0".into())],
        )?;
        Ok(End::Clean)
    })
}

/// Deterministic test content.
pub fn content(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let mut x: u32 = 0x1234_5678;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(data))
}

/// A builder trusting only the test PKI, with fast timeouts and
/// `name` resolved to 127.0.0.1 on each of `ports`.
pub fn builder(pki: &Pki, names: &[(&str, u16)]) -> DownloaderBuilder {
    let mut b = Downloader::builder()
        .ca_pem(pki.ca_pem.as_bytes())
        .only_extra_roots()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(5));
    for (name, port) in names {
        b = b.resolve(name, *port, "127.0.0.1".parse().unwrap());
    }
    b
}

/// A private output directory and a target path in it.
pub fn out_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.bin");
    (dir, target)
}

/// The names in `dir` (all of them, temporary files included).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A CONNECT proxy on 127.0.0.1. `Tunnel` forwards to 127.0.0.1 at the
/// asked port; `Substitute` answers 200 and then speaks TLS itself with
/// its own certificate, serving `body`.
pub enum ProxyMode {
    Tunnel,
    Substitute(Arc<rustls::ServerConfig>, Handler),
}

pub struct Proxy {
    pub port: u16,
    pub connects: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    pub fn start(mode: ProxyMode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connects = Arc::new(Mutex::new(Vec::new()));
        let c2 = connects.clone();
        let mode = Arc::new(mode);
        thread::spawn(move || {
            for sock in listener.incoming() {
                let Ok(sock) = sock else { continue };
                let (mode, connects) = (mode.clone(), c2.clone());
                thread::spawn(move || proxy_conn(sock, &mode, &connects));
            }
        });
        Proxy { port, connects }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn proxy_conn(sock: TcpStream, mode: &ProxyMode, connects: &Mutex<Vec<String>>) {
    let _ = sock.set_read_timeout(Some(SERVER_IO_TIMEOUT));
    let mut reader = BufReader::new(sock.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let target = first.split(' ').nth(1).unwrap_or_default().to_owned();
    connects.lock().unwrap().push(target.clone());
    let mut client = sock;
    match mode {
        ProxyMode::Tunnel => {
            let port: u16 = target.rsplit(':').next().unwrap().parse().unwrap();
            let Ok(upstream) = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))) else {
                return;
            };
            let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            let (mut up_r, mut up_w) = (upstream.try_clone().unwrap(), upstream);
            let mut client_w = client.try_clone().unwrap();
            let t = thread::spawn(move || {
                let _ = io::copy(&mut reader, &mut up_w);
                let _ = up_w.shutdown(Shutdown::Write);
            });
            let _ = io::copy(&mut up_r, &mut client_w);
            let _ = client_w.shutdown(Shutdown::Both);
            let _ = t.join();
        }
        ProxyMode::Substitute(config, handler) => {
            let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            let seen = Mutex::new(Vec::new());
            serve_tls(client, config.clone(), handler, &seen);
        }
    }
}
