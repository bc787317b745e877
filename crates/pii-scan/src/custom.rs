//! Custom recognizers supplied by the caller (or a TOML file) and the named
//! validators they can use.

use std::fmt;

use crate::{EntityType, Error, validate as v};

/// A named validator for custom recognizers (the `validator` field of a TOML
/// recognizer). A match whose validator fails is dropped; one that passes
/// scores 1.0, as in Presidio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Validator {
    /// Luhn mod 10 over the digits.
    Luhn,
    /// IBAN country length and ISO 7064 mod 97-10.
    Iban,
    /// UK NHS mod 11.
    UkNhs,
    /// DEA registration check digit.
    Dea,
    /// ABA routing number 3-7-1 weights.
    Aba,
    /// US SSN area/group/serial rules.
    UsSsn,
    /// Bitcoin base58check.
    Base58Check,
    /// Bitcoin bech32 / bech32m.
    Bech32,
    /// Spanish NIF letter.
    EsNif,
    /// Italian codice fiscale check character.
    ItFiscalCode,
    /// Polish PESEL checksum and date.
    PlPesel,
    /// Finnish personal identity code mod 31.
    FiPersonalIdentityCode,
}

impl Validator {
    /// Every validator's name, as accepted by [`Validator::from_name`].
    pub const NAMES: &'static [&'static str] = &[
        "luhn",
        "iban",
        "uk_nhs",
        "dea",
        "aba",
        "us_ssn",
        "base58check",
        "bech32",
        "es_nif",
        "it_fiscal_code",
        "pl_pesel",
        "fi_personal_identity_code",
    ];

    /// Looks a validator up by name (see [`Validator::NAMES`]).
    ///
    /// # Errors
    /// [`Error::UnknownValidator`] for any other name.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Ok(match name {
            "luhn" => Validator::Luhn,
            "iban" => Validator::Iban,
            "uk_nhs" => Validator::UkNhs,
            "dea" => Validator::Dea,
            "aba" => Validator::Aba,
            "us_ssn" => Validator::UsSsn,
            "base58check" => Validator::Base58Check,
            "bech32" => Validator::Bech32,
            "es_nif" => Validator::EsNif,
            "it_fiscal_code" => Validator::ItFiscalCode,
            "pl_pesel" => Validator::PlPesel,
            "fi_personal_identity_code" => Validator::FiPersonalIdentityCode,
            _ => {
                return Err(Error::UnknownValidator {
                    name: name.chars().take(64).collect(),
                });
            }
        })
    }

    /// Whether `value` passes this validator.
    #[must_use]
    pub fn validate(self, value: &str) -> bool {
        match self {
            Validator::Luhn => v::luhn(value),
            Validator::Iban => {
                let len = value.bytes().filter(u8::is_ascii_alphanumeric).count();
                value.as_bytes().get(..2).and_then(v::iban_length) == Some(len)
                    && v::iban_mod97(value)
            }
            Validator::UkNhs => v::nhs_ok(value),
            Validator::Dea => v::dea_ok(value),
            Validator::Aba => v::aba_ok(value),
            Validator::UsSsn => v::ssn_ok(value),
            Validator::Base58Check => v::base58check_ok(value),
            Validator::Bech32 => v::bech32_ok(value),
            Validator::EsNif => v::es_nif_ok(value),
            Validator::ItFiscalCode => v::it_fiscal_ok(value),
            Validator::PlPesel => v::pesel_ok(value),
            Validator::FiPersonalIdentityCode => v::fi_hetu_ok(value),
        }
    }
}

/// A pattern recognizer supplied by the caller (or a TOML file). Its
/// `Debug` output leaves the pattern and the context words out (a pattern
/// may spell out the very values it looks for).
#[derive(Clone)]
pub struct CustomRecognizer {
    pub(crate) name: String,
    pub(crate) entity: EntityType,
    pub(crate) pattern: String,
    pub(crate) score: f64,
    pub(crate) context: Vec<String>,
    pub(crate) validator: Option<Validator>,
}

impl fmt::Debug for CustomRecognizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomRecognizer")
            .field("name", &self.name)
            .field("entity", &self.entity)
            .field("score", &self.score)
            .field("context_words", &self.context.len())
            .field("validator", &self.validator)
            .finish_non_exhaustive()
    }
}

impl CustomRecognizer {
    /// A recognizer reporting `entity` wherever `pattern` (regex syntax of the
    /// `regex` crate) matches, with base `score`. `\b`, `\B` and `\b{start}`
    /// (and the other `\b{..}` forms) in the pattern are the ASCII word
    /// boundaries, as in the built-in recognizers.
    #[must_use]
    pub fn new(entity: EntityType, pattern: impl Into<String>, score: f64) -> Self {
        CustomRecognizer {
            name: format!("custom-{}", entity.as_str().to_ascii_lowercase()),
            entity,
            pattern: pattern.into(),
            score,
            context: Vec::new(),
            validator: None,
        }
    }

    /// Names the recognizer (used in error messages).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Context words that raise the score when found near a match.
    #[must_use]
    pub fn context<I, S>(mut self, words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.context = words.into_iter().map(Into::into).collect();
        self
    }

    /// A validator every match must pass.
    #[must_use]
    pub fn validator(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }
}
