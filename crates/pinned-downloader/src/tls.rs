//! The certificate verifier that runs inside the TLS handshake: WebPKI
//! chain and host-name verification first, then the host's pin set over
//! the SPKI of every certificate of the verified path.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;

use crate::error::{Error, ErrorKind, Result};
use crate::host::{HostPattern, lookup, normalize_host};
use crate::pin::{Pin, PinSet};

/// What went wrong in a handshake, recorded by the verifier so that the
/// download can report it exactly (rustls errors cross ureq as strings).
#[derive(Debug, Clone)]
pub(crate) enum TlsFailure {
    Pin {
        host: String,
        chain_pins: Vec<String>,
    },
    Certificate {
        host: String,
        reason: String,
    },
}

impl TlsFailure {
    pub(crate) fn into_kind(self) -> ErrorKind {
        match self {
            TlsFailure::Pin { host, chain_pins } => ErrorKind::PinMismatch { host, chain_pins },
            TlsFailure::Certificate { host, reason } => {
                ErrorKind::CertificateInvalid { host, reason }
            }
        }
    }
}

/// Parses every `CERTIFICATE` block of a PEM document.
pub(crate) fn parse_pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::config(format!("PEM does not parse: {e}")))?;
    if certs.is_empty() {
        return Err(Error::config("PEM holds no CERTIFICATE block"));
    }
    Ok(certs)
}

/// Mozilla's roots (unless left out) plus the extra CA certificates.
pub(crate) fn root_store(
    webpki_roots: bool,
    extra: &[CertificateDer<'static>],
) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    if webpki_roots {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for cert in extra {
        store
            .add(cert.clone())
            .map_err(|e| Error::config(format!("extra CA certificate refused: {e}")))?;
    }
    if store.is_empty() {
        return Err(Error::config(
            "no trust anchor: no root store and no CA file",
        ));
    }
    Ok(store)
}

/// The verifier: one per download, so that the failure it records belongs
/// to that download alone.
#[derive(Debug)]
pub(crate) struct PinningVerifier {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    pins: Arc<Vec<(HostPattern, PinSet)>>,
    failure: Mutex<Option<TlsFailure>>,
}

impl PinningVerifier {
    pub(crate) fn new(
        roots: Arc<RootCertStore>,
        provider: Arc<CryptoProvider>,
        pins: Arc<Vec<(HostPattern, PinSet)>>,
    ) -> Self {
        PinningVerifier {
            roots,
            provider,
            pins,
            failure: Mutex::new(None),
        }
    }

    /// The failure of the last refused handshake, taken out.
    pub(crate) fn take_failure(&self) -> Option<TlsFailure> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn fail(&self, failure: TlsFailure) {
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(failure);
    }
}

fn unix_to_system(now: UnixTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(now.as_secs())
}

/// The pins of every certificate of a verified path, leaf first, anchor
/// last.
fn path_pins(path: &webpki::VerifiedPath<'_>) -> Vec<Pin> {
    let mut pins = vec![Pin::from_spki_der(
        path.end_entity().subject_public_key_info().as_ref(),
    )];
    pins.extend(
        path.intermediate_certificates()
            .map(|c| Pin::from_spki_der(c.subject_public_key_info().as_ref())),
    );
    pins.push(Pin::from_spki_der(
        webpki::spki_for_anchor(path.anchor()).as_ref(),
    ));
    pins
}

fn describe(e: &webpki::Error) -> (String, CertificateError) {
    use webpki::Error as W;
    match e {
        W::CertExpired { .. } => ("certificate expired".into(), CertificateError::Expired),
        W::CertNotValidYet { .. } => (
            "certificate not valid yet".into(),
            CertificateError::NotValidYet,
        ),
        W::UnknownIssuer => (
            "unknown issuer (no path to a trusted root)".into(),
            CertificateError::UnknownIssuer,
        ),
        W::CertNotValidForName(_) => (
            "certificate not valid for this host name".into(),
            CertificateError::NotValidForName,
        ),
        W::InvalidSignatureForPublicKey => (
            "bad signature in the chain".into(),
            CertificateError::BadSignature,
        ),
        other => (
            format!("certificate refused: {other}"),
            CertificateError::ApplicationVerificationFailure,
        ),
    }
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let host = normalize_host(&server_name.to_str()).unwrap_or_default();
        let refuse = |e: &webpki::Error| {
            let (reason, cert_error) = describe(e);
            self.fail(TlsFailure::Certificate {
                host: host.clone(),
                reason,
            });
            rustls::Error::InvalidCertificate(cert_error)
        };
        let ee = webpki::EndEntityCert::try_from(end_entity).map_err(|e| refuse(&e))?;
        let algs = self.provider.signature_verification_algorithms.all;
        // 1. WebPKI: a path to a trusted root, valid now, for server auth,
        //    and valid for the host name.
        let path = ee
            .verify_for_usage(
                algs,
                &self.roots.roots,
                intermediates,
                now,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )
            .map_err(|e| refuse(&e))?;
        ee.verify_is_valid_for_subject_name(server_name)
            .map_err(|e| refuse(&e))?;
        // 2. Pins, over the verified path only: a pinned CA certificate
        //    merely appended to what the server sends does not count.
        let Some(set) = lookup(&self.pins, &host).filter(|s| s.is_active_at(unix_to_system(now)))
        else {
            return Ok(ServerCertVerified::assertion());
        };
        let first_pins = path_pins(&path);
        if first_pins.iter().any(|p| set.contains(p)) {
            return Ok(ServerCertVerified::assertion());
        }
        // Another path through the same certificates (cross-signed
        // intermediates) may reach a pinned key: let path building try
        // them all with the pin check as its last condition.
        let pinned_path = |p: &webpki::VerifiedPath<'_>| {
            if path_pins(p).iter().any(|pin| set.contains(pin)) {
                Ok(())
            } else {
                Err(webpki::Error::UnknownIssuer)
            }
        };
        let other = ee.verify_for_usage(
            algs,
            &self.roots.roots,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            None,
            Some(&pinned_path),
        );
        if other.is_ok() {
            return Ok(ServerCertVerified::assertion());
        }
        self.fail(TlsFailure::Pin {
            host,
            chain_pins: first_pins.iter().map(ToString::to_string).collect(),
        });
        Err(rustls::Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure,
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A rustls client configuration around `verifier`: TLS 1.2 and 1.3,
/// the ring provider, no client certificate.
pub(crate) fn client_config(
    provider: Arc<CryptoProvider>,
    verifier: Arc<PinningVerifier>,
) -> Result<rustls::ClientConfig> {
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::config(format!("TLS configuration refused: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// Bytes asked of the kernel per read under TLS. rustls reads 4 KiB at a
/// time; a large buffer below it turns four or five `recv` calls per 16 KiB
/// record into one per 256 KiB.
const SOCKET_READ_BUF: usize = 256 << 10;

/// The socket (or proxy tunnel) under TLS, read through a large buffer.
struct BufferedIo {
    inner: Box<dyn ureq::ReadWrite>,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
}

impl std::io::Read for BufferedIo {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.len {
            self.pos = 0;
            self.len = 0;
            let n = self.inner.read(&mut self.buf)?;
            self.len = n;
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl std::io::Write for BufferedIo {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.inner.write(data)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A TLS stream handed to ureq after a completed (verified, pinned)
/// handshake.
struct TlsStream(rustls::StreamOwned<rustls::ClientConnection, BufferedIo>);

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream").finish_non_exhaustive()
    }
}

impl std::io::Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl std::io::Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl ureq::ReadWrite for TlsStream {
    fn socket(&self) -> Option<&std::net::TcpStream> {
        self.0.sock.inner.socket()
    }
}

/// Marks a TLS handshake that waited longer than the read timeout, so that
/// it is reported as a connect timeout, not an idle one.
#[derive(Debug)]
pub(crate) struct HandshakeTimeout;

impl std::fmt::Display for HandshakeTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TLS handshake timed out")
    }
}

impl std::error::Error for HandshakeTimeout {}

/// ureq's TLS step: our rustls configuration (and so our verifier), the
/// handshake completed here before ureq writes the request.
#[derive(Debug)]
pub(crate) struct PinnedTls(pub(crate) Arc<rustls::ClientConfig>);

impl ureq::TlsConnector for PinnedTls {
    fn connect(
        &self,
        dns_name: &str,
        io: Box<dyn ureq::ReadWrite>,
    ) -> std::result::Result<Box<dyn ureq::ReadWrite>, ureq::Error> {
        use std::io::{Error as IoError, ErrorKind as IoKind};
        let name = dns_name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(dns_name);
        let sni = ServerName::try_from(name.to_owned())
            .map_err(|e| IoError::new(IoKind::InvalidInput, e))?;
        let conn = rustls::ClientConnection::new(self.0.clone(), sni).map_err(IoError::other)?;
        let io = BufferedIo {
            inner: io,
            buf: vec![0u8; SOCKET_READ_BUF].into_boxed_slice(),
            pos: 0,
            len: 0,
        };
        let mut stream = rustls::StreamOwned::new(conn, io);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock).map_err(|e| {
                if matches!(e.kind(), IoKind::TimedOut | IoKind::WouldBlock) {
                    IoError::new(IoKind::TimedOut, HandshakeTimeout)
                } else {
                    e
                }
            })?;
        }
        Ok(Box::new(TlsStream(stream)))
    }
}
