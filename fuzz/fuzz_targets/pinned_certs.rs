//! pinned-downloader: certificates and digests a user hands over (PEM
//! files for `ca_pem` and pin generation, DER certificates, `--sha256`
//! hex) through the public API, and the builder that takes them.
//!
//! Properties: no panic; `Pin::from_pem_certificates` gives one pin per
//! `CERTIFICATE` block, each equal to `Pin::from_certificate_der` of that
//! block; a PEM the pin generator accepts is accepted by
//! `DownloaderBuilder::ca_pem` as parseable (a build may still refuse a
//! certificate as a trust anchor, but never panics); a SHA-256 digest that
//! parses prints as the same 64 lower-case hex digits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinned_downloader::{Downloader, Pin, Sha256Digest};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

fuzz_target!(|data: &[u8]| {
    let _ = Pin::from_certificate_der(data);
    if let Ok(pins) = Pin::from_pem_certificates(data) {
        let ders: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(data)
            .collect::<Result<_, _>>()
            .expect("the PEM parsed once");
        assert_eq!(pins.len(), ders.len());
        for ((_, pin), der) in pins.iter().zip(&ders) {
            assert_eq!(Pin::from_certificate_der(der).ok().as_ref(), Some(pin));
        }
        let built = Downloader::builder()
            .allow_unpinned("good.test")
            .only_extra_roots()
            .ca_pem(data)
            .build();
        if let Err(e) = built {
            assert!(!e.to_string().contains("PEM does not parse"), "{e}");
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(d) = Sha256Digest::from_hex(text)
    {
        assert_eq!(d.to_hex(), text.trim().to_ascii_lowercase());
        assert_eq!(Sha256Digest::from_hex(&d.to_hex()).ok(), Some(d));
    }
});
