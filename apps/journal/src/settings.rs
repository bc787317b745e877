//! The journal's settings file, `settings.json` in the data directory.
//!
//! It holds preferences only, never entry data, so it is kept as plain
//! JSON (0600 like every file): which PII entity types warn, the minimum
//! score, and the key rotation period. Example:
//!
//! ```json
//! {
//!   "version": 1,
//!   "pii_warn": ["CREDIT_CARD", "IBAN_CODE", "US_BANK_NUMBER", "US_SSN", "EMAIL_ADDRESS"],
//!   "pii_min_score": 0.5,
//!   "rotation_days": 30
//! }
//! ```
//!
//! Entity names are pii-scan's (Presidio's). `DATE_TIME` and `URL` may be
//! added by a user who wants them, but are off by default: a diary is full
//! of dates and the odd link.

use anyhow::Result;
use pii_scan::EntityType;
use secure_fs::PrivateDir;
use serde::{Deserialize, Serialize};

use crate::error::error;

/// The settings file's name.
pub const SETTINGS_FILE: &str = "settings.json";

/// The entity types that warn by default: identifiers whose leak does harm.
pub const DEFAULT_PII_WARN: &[&str] = &[
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_BANK_NUMBER",
    "ABA_ROUTING_NUMBER",
    "US_SSN",
    "US_ITIN",
    "UK_NHS",
    "UK_NINO",
    "ES_NIF",
    "ES_NIE",
    "IT_FISCAL_CODE",
    "PL_PESEL",
    "FI_PERSONAL_IDENTITY_CODE",
    "NL_BSN",
    "DE_TAX_ID",
    "DE_ID_CARD",
    "FR_NIR",
    "SE_PERSONNUMMER",
    "BE_NATIONAL_NUMBER",
    "IN_AADHAAR",
    "IN_PAN",
    "AU_TFN",
    "AU_MEDICARE",
    "SG_NRIC_FIN",
    "KR_RRN",
    // (AU_ABN and AU_ACN are left out: they identify businesses and are
    // public by design, like a company's registration number.)
    "US_PASSPORT",
    "US_DRIVER_LICENSE",
    "MEDICAL_LICENSE",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CRYPTO",
];

/// The journal's settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Format version (1).
    pub version: u32,
    /// Entity types that make `add`, `edit` and `import` warn.
    pub pii_warn: Vec<String>,
    /// The minimum score of a finding that warns (0.0 to 1.0).
    pub pii_min_score: f64,
    /// Rotate the data key after this many days.
    pub rotation_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            version: 1,
            pii_warn: DEFAULT_PII_WARN.iter().map(|s| (*s).to_owned()).collect(),
            pii_min_score: pii_scan::DEFAULT_MIN_SCORE,
            rotation_days: 30,
        }
    }
}

impl Settings {
    /// Reads the settings (defaults when the file is missing).
    ///
    /// # Errors
    /// Exit 1 naming the problem in a file that does not parse.
    pub fn load(dir: &PrivateDir) -> Result<Settings> {
        if !dir.exists(SETTINGS_FILE)? {
            return Ok(Settings::default());
        }
        let bytes = dir.read(SETTINGS_FILE)?;
        let s: Settings = serde_json::from_slice(&bytes)
            .map_err(|e| error(format!("{}: {e}", dir.path().join(SETTINGS_FILE).display())))?;
        if s.version != 1 {
            return Err(error(format!(
                "{}: unsupported settings version {}",
                SETTINGS_FILE, s.version
            )));
        }
        s.entities()?;
        if !(0.0..=1.0).contains(&s.pii_min_score) || s.rotation_days == 0 {
            return Err(error(format!(
                "{SETTINGS_FILE}: pii_min_score must be within 0..1 and rotation_days at least 1"
            )));
        }
        Ok(s)
    }

    /// Writes the settings.
    ///
    /// # Errors
    /// File-system errors.
    pub fn save(&self, dir: &PrivateDir) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(self)?;
        text.push(b'\n');
        dir.write_atomic(SETTINGS_FILE, &text)?;
        Ok(())
    }

    /// The entity types that warn.
    ///
    /// # Errors
    /// Exit 1 naming an unknown entity type.
    pub fn entities(&self) -> Result<Vec<EntityType>> {
        self.pii_warn
            .iter()
            .map(|n| {
                EntityType::BUILTIN
                    .iter()
                    .find(|e| e.as_str() == n)
                    .cloned()
                    .ok_or_else(|| {
                        error(format!(
                            "{SETTINGS_FILE}: unknown PII entity type `{}` in pii_warn",
                            n.escape_debug()
                        ))
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_name_known_entities_and_leave_dates_and_urls_out() {
        let s = Settings::default();
        let e = s.entities().unwrap();
        assert_eq!(e.len(), DEFAULT_PII_WARN.len());
        assert!(!e.contains(&EntityType::DateTime));
        assert!(!e.contains(&EntityType::Url));
    }

    #[test]
    fn national_identifiers_of_other_countries_warn_by_default() {
        let s = Settings::default();
        let scanner = crate::pii::warning_scanner(&s).unwrap();
        // Dutch BSN (the well-known 11-check-valid 111222333) and a
        // Singapore NRIC, each with its context word.
        for text in ["mijn BSN is 111222333", "NRIC S1234567D"] {
            assert!(
                !scanner.scan(text).is_empty(),
                "no warning for a national id in {text:?}"
            );
        }
    }
}
