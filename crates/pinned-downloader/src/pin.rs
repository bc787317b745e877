//! Public-key pins in curl's `sha256//BASE64` syntax and pin sets that
//! must carry a backup pin and may expire.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use data_encoding::BASE64;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The SHA-256 of a DER-encoded SubjectPublicKeyInfo (RFC 7469 §2.4),
/// written `sha256//BASE64` as curl's `--pinnedpubkey` and HPKP do.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pin([u8; 32]);

const PREFIX: &str = "sha256//";

impl Pin {
    /// Parses `sha256//` followed by the standard, padded base64 of 32
    /// bytes (44 characters).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming what is wrong (another hash, bad
    /// base64, wrong length).
    pub fn parse(text: &str) -> Result<Pin> {
        let text = text.trim();
        let Some(b64) = text.strip_prefix(PREFIX) else {
            return Err(Error::config(format!(
                "pin {text:?} must start with \"sha256//\" (only SHA-256 pins are supported)"
            )));
        };
        let bytes = BASE64
            .decode(b64.as_bytes())
            .map_err(|_| Error::config(format!("pin {text:?} is not valid base64")))?;
        let arr: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            Error::config(format!(
                "pin {text:?} decodes to {} bytes, a SHA-256 has 32",
                b.len()
            ))
        })?;
        Ok(Pin(arr))
    }

    /// The pin of a DER-encoded SubjectPublicKeyInfo.
    pub fn from_spki_der(spki: &[u8]) -> Pin {
        Pin(Sha256::digest(spki).into())
    }

    /// The pin of the public key of a DER-encoded X.509 certificate.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] if the certificate does not parse.
    pub fn from_certificate_der(cert: &[u8]) -> Result<Pin> {
        let (_, parsed) = x509_parser::parse_x509_certificate(cert)
            .map_err(|e| Error::config(format!("certificate does not parse: {e}")))?;
        Ok(Pin::from_spki_der(parsed.tbs_certificate.subject_pki.raw))
    }

    /// The pins of every certificate in a PEM file (leaf, intermediates,
    /// roots), with each certificate's subject, for writing pin sets.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] if the PEM holds no certificate or one
    /// that does not parse.
    pub fn from_pem_certificates(pem: &[u8]) -> Result<Vec<(String, Pin)>> {
        let certs = crate::tls::parse_pem_certs(pem)?;
        certs
            .iter()
            .map(|der| {
                let (_, parsed) = x509_parser::parse_x509_certificate(der)
                    .map_err(|e| Error::config(format!("certificate does not parse: {e}")))?;
                Ok((
                    parsed.subject().to_string(),
                    Pin::from_spki_der(parsed.tbs_certificate.subject_pki.raw),
                ))
            })
            .collect()
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", BASE64.encode(&self.0))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pin({self})")
    }
}

impl std::str::FromStr for Pin {
    type Err = Error;

    fn from_str(s: &str) -> Result<Pin> {
        Pin::parse(s)
    }
}

/// The pins of one host: at least two distinct keys (the one in use and a
/// backup kept offline, RFC 7469 §4.3), and optionally an expiry.
///
/// After its expiry a pin set is no longer enforced: WebPKI verification
/// and the expected digest still apply, and the hop reports
/// [`crate::PinStatus::Expired`]. This follows Android's network security
/// configuration: stale pins shipped in a program that is not updated must
/// not cut it off for good; an attacker gains nothing from expiry that
/// WebPKI and the digest do not still stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinSet {
    pins: Vec<Pin>,
    expires: Option<SystemTime>,
}

impl PinSet {
    /// A pin set of `pins` (duplicates removed).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] if fewer than two distinct pins are
    /// given: a pin set without a backup pin locks the caller out the day
    /// the key changes.
    pub fn new(pins: impl IntoIterator<Item = Pin>) -> Result<PinSet> {
        let mut pins: Vec<Pin> = pins.into_iter().collect();
        pins.sort_unstable();
        pins.dedup();
        if pins.len() < 2 {
            return Err(Error::config(format!(
                "a pin set needs a backup pin: {} distinct pin(s) given, at least 2 required",
                pins.len()
            )));
        }
        Ok(PinSet {
            pins,
            expires: None,
        })
    }

    /// Parses curl's list syntax: pins separated by `;`, optionally with one
    /// `expires=YYYY-MM-DD` item (the set expires at 00:00 UTC that day),
    /// e.g. `sha256//AAA...=;sha256//BBB...=;expires=2027-06-30`.
    ///
    /// # Errors
    /// As [`Pin::parse`] and [`PinSet::new`], or a bad expiry date.
    pub fn parse(text: &str) -> Result<PinSet> {
        let mut pins = Vec::new();
        let mut expires = None;
        for item in text.split(';').map(str::trim).filter(|i| !i.is_empty()) {
            if let Some(date) = item.strip_prefix("expires=") {
                if expires.is_some() {
                    return Err(Error::config("a pin set has at most one expires= item"));
                }
                expires = Some(parse_date(date)?);
            } else {
                pins.push(Pin::parse(item)?);
            }
        }
        let mut set = PinSet::new(pins)?;
        set.expires = expires;
        Ok(set)
    }

    /// This set, expiring at `when`.
    #[must_use]
    pub fn expires_at(mut self, when: SystemTime) -> PinSet {
        self.expires = Some(when);
        self
    }

    /// The pins, sorted.
    pub fn pins(&self) -> &[Pin] {
        &self.pins
    }

    /// When the set stops being enforced, if ever.
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires
    }

    /// Whether the set is enforced at `now`.
    pub fn is_active_at(&self, now: SystemTime) -> bool {
        self.expires.is_none_or(|e| now < e)
    }

    /// Whether `pin` is in the set.
    pub fn contains(&self, pin: &Pin) -> bool {
        self.pins.contains(pin)
    }
}

/// Parses `YYYY-MM-DD` as 00:00:00 UTC of that day.
fn parse_date(text: &str) -> Result<SystemTime> {
    let bad = || Error::config(format!("expiry {text:?} is not a date YYYY-MM-DD"));
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let y: i64 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    let d: u32 = d.parse().map_err(|_| bad())?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(bad());
    }
    let days = u64::try_from(days_from_civil(y, m, d)).map_err(|_| bad())?;
    Ok(UNIX_EPOCH + Duration::from_secs(days * 86_400))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(fuzzing)]
/// Fuzzing hook: pin and pin-set parsing round-trips through `Display`.
pub fn fuzz_pins(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pin) = Pin::parse(text) {
        assert_eq!(Pin::parse(&pin.to_string()).ok(), Some(pin));
    }
    if let Ok(set) = PinSet::parse(text) {
        let joined: Vec<String> = set.pins().iter().map(ToString::to_string).collect();
        let again = PinSet::parse(&joined.join(";")).expect("round trip");
        assert_eq!(again.pins(), set.pins());
        assert!(set.pins().len() >= 2);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const A: &str = "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const B: &str = "sha256//LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";

    #[test]
    fn pins_round_trip() {
        let p = Pin::parse(A).unwrap();
        assert_eq!(p.to_string(), A);
        assert_eq!(p, Pin::from_spki_der(b""));
    }

    #[test]
    fn bad_pins_name_the_problem() {
        let e = Pin::parse("sha1//AAAA").unwrap_err().to_string();
        assert!(e.contains("sha256//"), "{e}");
        let e = Pin::parse("sha256//not base64!").unwrap_err().to_string();
        assert!(e.contains("base64"), "{e}");
        let e = Pin::parse("sha256//AAAA").unwrap_err().to_string();
        assert!(e.contains("3 bytes"), "{e}");
    }

    #[test]
    fn a_pin_set_needs_a_backup() {
        let e = PinSet::parse(A).unwrap_err().to_string();
        assert!(e.contains("backup pin"), "{e}");
        let e = PinSet::parse(&format!("{A};{A}")).unwrap_err().to_string();
        assert!(e.contains("backup pin"), "{e}");
        let set = PinSet::parse(&format!("{A}; {B}")).unwrap();
        assert_eq!(set.pins().len(), 2);
        assert!(set.expires().is_none());
    }

    #[test]
    fn expiry_dates() {
        let set = PinSet::parse(&format!("{A};{B};expires=2000-03-01")).unwrap();
        let when = set.expires().unwrap();
        assert_eq!(
            when.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            951_868_800
        );
        assert!(!set.is_active_at(SystemTime::now()));
        assert!(set.is_active_at(UNIX_EPOCH));
        for bad in [
            "2027-02-30",
            "2027-13-01",
            "27-01-01",
            "2027-1-01",
            "x",
            "2027-01-01-01",
        ] {
            assert!(
                PinSet::parse(&format!("{A};{B};expires={bad}")).is_err(),
                "{bad}"
            );
        }
        assert!(PinSet::parse(&format!("{A};{B};expires=2028-02-29")).is_ok());
    }
}
