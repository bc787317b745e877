//! [`DownloaderBuilder`] → [`Downloader`], and the per-download
//! [`Request`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::host::{HostPattern, lookup, normalize_host};
use crate::pin::PinSet;
use crate::report::{PinStatus, Sha256Digest};

/// Default hard maximum size of a download: 50 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 50 << 30;
/// Default maximum number of redirects followed.
pub const DEFAULT_MAX_REDIRECTS: u32 = 5;
/// Default size of the chunks whose SHA-256 the resume sidecar records.
pub const DEFAULT_CHUNK_SIZE: u64 = 64 << 20;

/// Builds a [`Downloader`]. Every host the downloader may reach (the first
/// URL's and every redirect target's) must be allowed, either with a pin
/// set ([`allow_pinned`](Self::allow_pinned)) or explicitly without one
/// ([`allow_unpinned`](Self::allow_unpinned), where integrity rests on
/// the expected digest).
///
/// Setters never fail; the first problem (a bad host pattern, a host given
/// twice, an unreadable CA file) is reported by [`build`](Self::build).
#[derive(Debug)]
#[must_use]
pub struct DownloaderBuilder {
    hosts: Vec<(HostPattern, Option<PinSet>)>,
    problem: Option<Error>,
    extra_cas: Vec<CertificateDer<'static>>,
    webpki_roots: bool,
    max_size: u64,
    max_redirects: u32,
    connect_timeout: Duration,
    read_timeout: Duration,
    total_timeout: Option<Duration>,
    low_speed: Option<(u64, Duration)>,
    resolve: Vec<(String, u16, IpAddr)>,
    proxy: Option<String>,
    chunk_size: u64,
}

impl Default for DownloaderBuilder {
    fn default() -> Self {
        DownloaderBuilder {
            hosts: Vec::new(),
            problem: None,
            extra_cas: Vec::new(),
            webpki_roots: true,
            max_size: DEFAULT_MAX_SIZE,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            total_timeout: None,
            low_speed: Some((1024, Duration::from_secs(60))),
            resolve: Vec::new(),
            proxy: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

impl DownloaderBuilder {
    fn note(&mut self, e: Error) {
        if self.problem.is_none() {
            self.problem = Some(e);
        }
    }

    fn add_host(mut self, pattern: &str, pins: Option<PinSet>) -> Self {
        match HostPattern::parse(pattern) {
            Ok(p) => {
                if self.hosts.iter().any(|(q, _)| *q == p) {
                    self.note(Error::config(format!("host {p} is allowed twice")));
                } else {
                    self.hosts.push((p, pins));
                }
            }
            Err(e) => self.note(e),
        }
        self
    }

    /// Allows `host` (an exact name, or an explicit `*.example.com`) and
    /// pins it: its verified chain must contain a key of `pins`.
    pub fn allow_pinned(self, host: &str, pins: PinSet) -> Self {
        self.add_host(host, Some(pins))
    }

    /// Allows `host` without pins: WebPKI verification only. Use it for
    /// CDN hosts that rotate keys, and give every download from them an
    /// expected SHA-256.
    pub fn allow_unpinned(self, host: &str) -> Self {
        self.add_host(host, None)
    }

    /// Allows every host of a dated default list (see [`crate::defaults`]),
    /// without pins: the defaults carry none (see the README), so give each
    /// download an expected SHA-256.
    pub fn allow_defaults(mut self, hosts: &[crate::defaults::DefaultHost]) -> Self {
        for h in hosts {
            self = self.add_host(h.pattern, None);
        }
        self
    }

    /// Trusts the CA certificates of a PEM file in addition to Mozilla's
    /// roots (for private hosts and tests).
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        match std::fs::read(path) {
            Ok(pem) => return self.ca_pem(&pem),
            Err(e) => self.note(
                Error::config(format!("CA file {} cannot be read", path.display())).with_source(e),
            ),
        }
        self
    }

    /// Trusts the CA certificates of a PEM document in addition to
    /// Mozilla's roots.
    pub fn ca_pem(mut self, pem: &[u8]) -> Self {
        match crate::tls::parse_pem_certs(pem) {
            Ok(certs) => self.extra_cas.extend(certs),
            Err(e) => self.note(e),
        }
        self
    }

    /// Trusts only the CA certificates given with [`ca_file`](Self::ca_file)
    /// or [`ca_pem`](Self::ca_pem), not Mozilla's roots.
    pub fn only_extra_roots(mut self) -> Self {
        self.webpki_roots = false;
        self
    }

    /// The hard maximum size in bytes (default [`DEFAULT_MAX_SIZE`]).
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// How many redirects are followed at most (default
    /// [`DEFAULT_MAX_REDIRECTS`]); one more is refused.
    pub fn max_redirects(mut self, hops: u32) -> Self {
        self.max_redirects = hops;
        self
    }

    /// Time allowed to connect (TCP, proxy and TLS handshake); default 30 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed without receiving a byte; default 60 s.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Time allowed for a whole download, redirects and resume included;
    /// default none.
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = Some(timeout);
        self
    }

    /// Fails a transfer that receives fewer than `bytes_per_sec` on average
    /// over any `window` (a slow drip that never trips the idle timeout).
    /// Default: 1 KiB/s over 60 s. `None` turns the check off.
    pub fn low_speed_limit(mut self, limit: Option<(u64, Duration)>) -> Self {
        self.low_speed = limit;
        self
    }

    /// Connects to `addr` for `host:port` instead of resolving `host`, like
    /// curl's `--resolve`. TLS still verifies (and pins) `host`.
    pub fn resolve(mut self, host: &str, port: u16, addr: IpAddr) -> Self {
        match normalize_host(host) {
            Some(h) => self.resolve.push((h, port, addr)),
            None => self.note(Error::config(format!(
                "--resolve host {host:?} is not a host name"
            ))),
        }
        self
    }

    /// Parses curl's `HOST:PORT:ADDR` (ADDR may be `[v6]`) and adds it as
    /// [`resolve`](Self::resolve) does.
    pub fn resolve_spec(mut self, spec: &str) -> Self {
        match parse_resolve(spec) {
            Ok((h, port, addr)) => return self.resolve(&h, port, addr),
            Err(e) => self.note(e),
        }
        self
    }

    /// Sends every request through an HTTP proxy (`http://host:port`) with
    /// `CONNECT`: TLS, WebPKI and pins still run end to end against the
    /// origin, so the proxy sees only the host name and ciphertext.
    pub fn proxy(mut self, url: &str) -> Self {
        self.proxy = Some(url.to_owned());
        self
    }

    /// Uses `HTTPS_PROXY` (or `https_proxy`) from the environment, if set
    /// and not empty, as [`proxy`](Self::proxy).
    pub fn proxy_from_env(self) -> Self {
        let var = std::env::var("HTTPS_PROXY")
            .ok()
            .or_else(|| std::env::var("https_proxy").ok())
            .filter(|v| !v.trim().is_empty());
        match var {
            Some(url) => self.proxy(&url),
            None => self,
        }
    }

    /// The size of the chunks whose SHA-256 the resume sidecar records
    /// (default [`DEFAULT_CHUNK_SIZE`], 64 MiB; at least 4 KiB).
    pub fn resume_chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = bytes;
        self
    }

    /// Checks the configuration and builds the downloader.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`]: the first problem met by a setter, no
    /// allowed host, a chunk size below 4 KiB, a bad proxy URL, or no trust
    /// anchor.
    pub fn build(self) -> Result<Downloader> {
        if let Some(e) = self.problem {
            return Err(e);
        }
        if self.hosts.is_empty() {
            return Err(Error::config("no host is allowed"));
        }
        if self.chunk_size < 4096 {
            return Err(Error::config(
                "the resume chunk size must be at least 4096 bytes",
            ));
        }
        let proxy = match &self.proxy {
            Some(url) => Some(
                ureq::Proxy::new(url)
                    .map_err(|e| Error::config(format!("proxy {url:?} refused: {e}")))?,
            ),
            None => None,
        };
        let roots = crate::tls::root_store(self.webpki_roots, &self.extra_cas)?;
        let pins: Vec<(HostPattern, PinSet)> = self
            .hosts
            .iter()
            .filter_map(|(h, p)| p.clone().map(|p| (h.clone(), p)))
            .collect();
        Ok(Downloader {
            hosts: self.hosts,
            pins: Arc::new(pins),
            roots: Arc::new(roots),
            provider: Arc::new(ring_provider()),
            max_size: self.max_size,
            max_redirects: self.max_redirects,
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            total_timeout: self.total_timeout,
            low_speed: self.low_speed,
            resolve: Arc::new(self.resolve),
            proxy,
            chunk_size: self.chunk_size,
        })
    }
}

/// The *ring* crypto provider, the one ureq 2 is built with.
// rustls 0.23.48 deprecates it for lacking post-quantum key exchange
// (X25519MLKEM768). That protects confidentiality against later quantum
// decryption; what this crate protects is integrity and authenticity of
// (mostly public) files, which the classical handshake signature and the
// SHA-256 check still give. aws-lc-rs would add a C build to every
// machine; revisit when moving to a provider-agnostic ureq.
#[allow(deprecated)]
fn ring_provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

pub(crate) fn parse_resolve(spec: &str) -> Result<(String, u16, IpAddr)> {
    let bad = || Error::config(format!("--resolve {spec:?} is not HOST:PORT:ADDR"));
    let (host, rest) = spec.split_once(':').ok_or_else(bad)?;
    let (port, addr) = rest.split_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    Ok((host.to_owned(), port, addr))
}

/// Downloads files under a fixed policy: allowed hosts and their pins,
/// trust anchors, size and time limits. Reusable and shareable across
/// threads; every [`download`](Self::download) makes its own connections.
#[derive(Debug)]
pub struct Downloader {
    pub(crate) hosts: Vec<(HostPattern, Option<PinSet>)>,
    pub(crate) pins: Arc<Vec<(HostPattern, PinSet)>>,
    pub(crate) roots: Arc<RootCertStore>,
    pub(crate) provider: Arc<CryptoProvider>,
    pub(crate) max_size: u64,
    pub(crate) max_redirects: u32,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Duration,
    pub(crate) total_timeout: Option<Duration>,
    pub(crate) low_speed: Option<(u64, Duration)>,
    pub(crate) resolve: Arc<Vec<(String, u16, IpAddr)>>,
    pub(crate) proxy: Option<ureq::Proxy>,
    pub(crate) chunk_size: u64,
}

impl Downloader {
    /// Starts a [`DownloaderBuilder`].
    pub fn builder() -> DownloaderBuilder {
        DownloaderBuilder::default()
    }

    /// Whether `host` (normalized) is allowed, and how it is checked.
    pub(crate) fn host_status(&self, host: &str) -> Option<PinStatus> {
        lookup(&self.hosts, host).map(|pins| match pins {
            None => PinStatus::Unpinned,
            Some(set) if set.is_active_at(std::time::SystemTime::now()) => PinStatus::Matched,
            Some(_) => PinStatus::Expired,
        })
    }
}

/// `--resolve` overrides, then the system resolver.
#[derive(Debug)]
pub(crate) struct OverrideResolver(pub(crate) Arc<Vec<(String, u16, IpAddr)>>);

impl ureq::Resolver for OverrideResolver {
    fn resolve(&self, netloc: &str) -> std::io::Result<Vec<SocketAddr>> {
        if let Some((host, port)) = netloc.rsplit_once(':')
            && let (Some(host), Ok(port)) = (normalize_host(host), port.parse::<u16>())
            && let Some((_, _, addr)) = self.0.iter().find(|(h, p, _)| *h == host && *p == port)
        {
            return Ok(vec![SocketAddr::new(*addr, port)]);
        }
        std::net::ToSocketAddrs::to_socket_addrs(netloc).map(Iterator::collect)
    }
}

/// A secret header value (a bearer token, a cookie): zeroized on drop,
/// never shown by `Debug`, sent only to the first URL's origin.
pub struct Credential(Zeroizing<String>);

impl Credential {
    /// Wraps a header value.
    pub fn new(value: impl Into<String>) -> Self {
        Credential(Zeroizing::new(value.into()))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

/// Progress of a download, passed to the callback of
/// [`Request::on_progress`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Bytes of the file so far (a resumed download starts at its offset).
    pub bytes: u64,
    /// The total, when known.
    pub total: Option<u64>,
    /// Average transfer rate of this attempt, bytes per second.
    pub bytes_per_sec: f64,
}

/// The progress callback of a request.
pub(crate) type ProgressFn = Box<dyn FnMut(&Progress) + Send>;

/// What to fetch and what to expect of it.
#[must_use]
pub struct Request {
    pub(crate) url: String,
    pub(crate) sha256: Option<Sha256Digest>,
    pub(crate) expected_size: Option<u64>,
    pub(crate) resume: bool,
    pub(crate) trust_linked_etag: bool,
    pub(crate) authorization: Option<Credential>,
    pub(crate) cookie: Option<Credential>,
    pub(crate) progress: Option<ProgressFn>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("url", &self.url)
            .field("sha256", &self.sha256)
            .field("expected_size", &self.expected_size)
            .field("resume", &self.resume)
            .field("trust_linked_etag", &self.trust_linked_etag)
            .field("authorization", &self.authorization)
            .field("cookie", &self.cookie)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// A request for `url` (checked when the download starts).
    pub fn new(url: impl Into<String>) -> Self {
        Request {
            url: url.into(),
            sha256: None,
            expected_size: None,
            resume: false,
            trust_linked_etag: false,
            authorization: None,
            cookie: None,
            progress: None,
        }
    }

    /// The SHA-256 the file must have.
    pub fn sha256(mut self, digest: Sha256Digest) -> Self {
        self.sha256 = Some(digest);
        self
    }

    /// The size the file must have, in bytes.
    pub fn expected_size(mut self, bytes: u64) -> Self {
        self.expected_size = Some(bytes);
        self
    }

    /// Keeps an interrupted download as `NAME.part` with a sidecar of
    /// per-chunk digests, and continues it next time after re-checking
    /// those chunks (see FORMAT.md).
    pub fn resume(mut self, on: bool) -> Self {
        self.resume = on;
        self
    }

    /// When no SHA-256 is given, takes the expected digest (and size) from
    /// the `X-Linked-Etag` (and `X-Linked-Size`) headers that Hugging Face
    /// sends for large files; when one is given, a different
    /// `X-Linked-Etag` is refused before the body. The digest is then only
    /// as trustworthy as the allowed, verified host that sent it.
    pub fn trust_linked_etag(mut self, on: bool) -> Self {
        self.trust_linked_etag = on;
        self
    }

    /// An `Authorization` header value, sent to the first URL's origin
    /// (scheme, host, port) only, never to a redirect target elsewhere.
    pub fn authorization(mut self, value: Credential) -> Self {
        self.authorization = Some(value);
        self
    }

    /// A `Cookie` header value, origin-bound like
    /// [`authorization`](Self::authorization). Cookies set by servers are
    /// never stored or sent.
    pub fn cookie(mut self, value: Credential) -> Self {
        self.cookie = Some(value);
        self
    }

    /// Calls `f` as bytes arrive (at most about ten times a second, and
    /// once at the end).
    pub fn on_progress(mut self, f: impl FnMut(&Progress) + Send + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }
}
