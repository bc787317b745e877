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
        /// [`EntityType::Custom`] names the entity of a custom recognizer or deny list.
        /// The order of the variants is the tie-break order when two findings
        /// overlap with the same score and length.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EntityType {
            $($(#[$doc])* $variant,)*
            /// An entity defined by a custom recognizer or a deny list.
            Custom(Arc<str>),
        }

        impl EntityType {
            /// Every built-in entity type, in tie-break order.
            pub const BUILTIN: &'static [EntityType] = &[$(EntityType::$variant,)*];

            /// The entity's name, for example `"EMAIL_ADDRESS"`.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(EntityType::$variant => $name,)*
                    EntityType::Custom(name) => name,
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

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Parses a name: a built-in name gives its variant; any other name made of
/// `A-Z`, `0-9` and `_` (starting with a letter) gives [`EntityType::Custom`].
impl FromStr for EntityType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if let Some(e) = EntityType::builtin(s) {
            return Ok(e);
        }
        let valid = s.len() <= 64
            && s.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(EntityType::Custom(Arc::from(s)))
        } else {
            Err(Error::InvalidEntityName {
                name: s.chars().take(64).collect(),
            })
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
            EntityType::Custom("EMPLOYEE_ID".into())
        );
        assert!("email".parse::<EntityType>().is_err());
        assert!("".parse::<EntityType>().is_err());
    }
}
