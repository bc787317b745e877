//! Entity types, named as Microsoft Presidio names them.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::Error;

macro_rules! entities {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// The kind of personal data a [`Finding`](crate::Finding) is.
        ///
        /// Built-in types carry Presidio's names (`EMAIL_ADDRESS`, `US_SSN`, ...);
        /// [`EntityType::Custom`] names the entity of a custom recognizer or deny list;
        /// it is built with [`EntityType::custom`] (or [`str::parse`]), which
        /// refuses the names of built-in types, so that a custom entity can
        /// never pass for a built-in one:
        ///
        /// ```
        /// use pii_scan::EntityType;
        ///
        /// let id = EntityType::custom("EMPLOYEE_ID")?;
        /// assert_eq!(id.as_str(), "EMPLOYEE_ID");
        /// assert!(EntityType::custom("US_SSN").is_err());
        /// # Ok::<(), pii_scan::Error>(())
        /// ```
        ///
        /// The name inside `Custom` cannot be built directly:
        ///
        /// ```compile_fail
        /// let _ = pii_scan::EntityType::Custom("US_SSN".into());
        /// ```
        ///
        /// The order of the variants is the tie-break order when two findings
        /// overlap with the same score and length.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EntityType {
            $($(#[$doc])* $variant,)*
            /// An entity defined by a custom recognizer or a deny list.
            Custom(CustomName),
        }

        impl EntityType {
            /// Every built-in entity type, in tie-break order.
            pub const BUILTIN: &'static [EntityType] = &[$(EntityType::$variant,)*];

            /// The entity's name, for example `"EMAIL_ADDRESS"`.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(EntityType::$variant => $name,)*
                    EntityType::Custom(name) => name.as_str(),
                }
            }

            fn builtin(name: &str) -> Option<EntityType> {
                match name {
                    $($name => Some(EntityType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

entities! {
    /// Payment card number (Luhn, issuer prefix and length).
    CreditCard => "CREDIT_CARD",
    /// Bitcoin (base58check, bech32, bech32m) or Ethereum (EIP-55) address.
    Crypto => "CRYPTO",
    /// IBAN (per-country length, ISO 7064 mod 97).
    IbanCode => "IBAN_CODE",
    /// US Social Security number (SSA area/group/serial rules).
    UsSsn => "US_SSN",
    /// US Individual Taxpayer Identification Number.
    UsItin => "US_ITIN",
    /// UK NHS number (mod 11).
    UkNhs => "UK_NHS",
    /// UK National Insurance number.
    UkNino => "UK_NINO",
    /// DEA registration number (check digit).
    MedicalLicense => "MEDICAL_LICENSE",
    /// Spanish DNI/NIF (mod 23 letter).
    EsNif => "ES_NIF",
    /// Spanish NIE (mod 23 letter).
    EsNie => "ES_NIE",
    /// Italian codice fiscale (check character).
    ItFiscalCode => "IT_FISCAL_CODE",
    /// Polish PESEL (weighted checksum and birth date).
    PlPesel => "PL_PESEL",
    /// Finnish personal identity code (mod 31).
    FiPersonalIdentityCode => "FI_PERSONAL_IDENTITY_CODE",
    /// Dutch citizen service number, BSN (11-test; needs context words).
    NlBsn => "NL_BSN",
    /// German tax identification number, Steuer-IdNr (ISO 7064 MOD 11,10).
    DeTaxId => "DE_TAX_ID",
    /// German identity card (Personalausweis) number (7-3-1 check digit).
    DeIdCard => "DE_ID_CARD",
    /// French social security number, NIR (mod 97 key).
    FrNir => "FR_NIR",
    /// Swedish personal identity number, personnummer (date and Luhn).
    SePersonnummer => "SE_PERSONNUMMER",
    /// Belgian national register number (date and mod 97).
    BeNationalNumber => "BE_NATIONAL_NUMBER",
    /// Indian Aadhaar number (Verhoeff).
    InAadhaar => "IN_AADHAAR",
    /// Indian Permanent Account Number, PAN (structure).
    InPan => "IN_PAN",
    /// Australian tax file number (mod 11; needs context words).
    AuTfn => "AU_TFN",
    /// Australian Business Number (mod 89).
    AuAbn => "AU_ABN",
    /// Australian Company Number (mod 10; needs context words).
    AuAcn => "AU_ACN",
    /// Australian Medicare card number (check digit).
    AuMedicare => "AU_MEDICARE",
    /// Singapore NRIC / FIN (check letter).
    SgNricFin => "SG_NRIC_FIN",
    /// Korean resident registration number (date and check digit).
    KrRrn => "KR_RRN",
    /// E-mail address (RFC 5322 dot-atom, internationalized domains).
    EmailAddress => "EMAIL_ADDRESS",
    /// URL with a scheme or a `www.` host.
    Url => "URL",
    /// IPv4 or IPv6 address.
    IpAddress => "IP_ADDRESS",
    /// MAC (EUI-48) address.
    MacAddress => "MAC_ADDRESS",
    /// Phone number (NANP, E.164 international, common national forms).
    PhoneNumber => "PHONE_NUMBER",
    /// Date or time in a written form.
    DateTime => "DATE_TIME",
    /// US ABA routing number (weighted checksum).
    AbaRoutingNumber => "ABA_ROUTING_NUMBER",
    /// US passport number (needs context words).
    UsPassport => "US_PASSPORT",
    /// US driver's license number (needs context words).
    UsDriverLicense => "US_DRIVER_LICENSE",
    /// US bank account number (needs context words).
    UsBankNumber => "US_BANK_NUMBER",
}

/// The name of a custom entity: UPPER_SNAKE_CASE, at most 64 bytes, and
/// never the name of a built-in type. Made only by [`EntityType::custom`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomName(Arc<str>);

impl CustomName {
    /// The name, for example `"EMPLOYEE_ID"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl EntityType {
    /// A custom entity type named `name`.
    ///
    /// # Errors
    /// [`Error::ReservedEntityName`] when `name` is a built-in type's name
    /// (use that variant instead); [`Error::InvalidEntityName`] unless the
    /// name is made of `A-Z`, `0-9` and `_`, starts with a letter and is at
    /// most 64 bytes long.
    pub fn custom(name: &str) -> Result<EntityType, Error> {
        if EntityType::builtin(name).is_some() {
            return Err(Error::ReservedEntityName {
                name: name.to_owned(),
            });
        }
        let valid = name.len() <= 64
            && name.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(EntityType::Custom(CustomName(Arc::from(name))))
        } else {
            Err(Error::InvalidEntityName {
                name: name.chars().take(64).collect(),
            })
        }
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Parses a name: a built-in name gives its variant; any other name made of
/// `A-Z`, `0-9` and `_` (starting with a letter) gives [`EntityType::Custom`]
/// (see [`EntityType::custom`]).
impl FromStr for EntityType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match EntityType::builtin(s) {
            Some(e) => Ok(e),
            None => EntityType::custom(s),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in EntityType::BUILTIN {
            assert_eq!(&e.as_str().parse::<EntityType>().unwrap(), e);
        }
        assert_eq!(
            "EMPLOYEE_ID".parse::<EntityType>().unwrap(),
            EntityType::custom("EMPLOYEE_ID").unwrap()
        );
        assert!("email".parse::<EntityType>().is_err());
        assert!("".parse::<EntityType>().is_err());
    }

    #[test]
    fn custom_refuses_builtin_names() {
        for e in EntityType::BUILTIN {
            let err = EntityType::custom(e.as_str()).unwrap_err();
            assert!(
                matches!(&err, Error::ReservedEntityName { name } if name == e.as_str()),
                "{e}: {err:?}"
            );
            assert!(err.to_string().contains("built-in"), "{err}");
        }
        assert!(matches!(
            EntityType::custom("email"),
            Err(Error::InvalidEntityName { .. })
        ));
        let c = EntityType::custom("EMPLOYEE_ID").unwrap();
        assert!(matches!(&c, EntityType::Custom(n) if n.as_str() == "EMPLOYEE_ID"));
        assert!(!EntityType::BUILTIN.contains(&c));
    }
}
