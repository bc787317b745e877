//! Word lists and tuning constants, in one place.
//!
//! Everything here is data the recognizers and the scanner read: the
//! context words that support each entity, the ambiguity words that lower
//! a score, month and weekday names, the abbreviations that do not end a
//! sentence, the pattern fragments for separators and month names, and the
//! constants that tune windows and context scoring. Changing a value here
//! changes accuracy: run `cargo xtask pii-eval --split dev` (never tune on
//! the test split).

use crate::EntityType;

// ---- limits and scores ----

/// Longest finding the scanner reports, in bytes. Longer candidates (a
/// multi-kilobyte URL) are dropped; streaming relies on this bound.
pub const MAX_FINDING_LEN: usize = 2048;

/// Default [`ScannerBuilder::min_score`](crate::ScannerBuilder::min_score).
pub const DEFAULT_MIN_SCORE: f64 = 0.5;

/// Bytes of text before a match searched for context words.
pub(crate) const CONTEXT_BEFORE: usize = 96;
/// Bytes of text after a match searched for context words.
pub(crate) const CONTEXT_AFTER: usize = 40;
/// Words before / after a match that count as its context.
pub(crate) const CONTEXT_WORDS_BEFORE: usize = 6;
pub(crate) const CONTEXT_WORDS_AFTER: usize = 2;
/// Score added by a supporting context word, and the floor it lifts to.
pub(crate) const CONTEXT_BOOST: f64 = 0.35;
pub(crate) const CONTEXT_FLOOR: f64 = 0.6;
/// Score taken off a context boost per word of distance from the match.
pub(crate) const CONTEXT_DISTANCE_STEP: f64 = 0.02;
/// Score taken away by an ambiguity word ("order", "isbn") with no support.
pub(crate) const NEGATIVE_PENALTY: f64 = 0.6;
/// The lowest score an ambiguity word can give a finding that a checksum or
/// structural validator confirmed (a Luhn-valid card, an SSN by the SSA
/// rules, a NANP number): the default [`DEFAULT_MIN_SCORE`], so that nobody
/// can hide such a value from the default scanner by writing "order" or
/// "reference" in front of it. A validated finding whose own score is lower
/// than this floor keeps its score.
pub const VALIDATED_FLOOR: f64 = DEFAULT_MIN_SCORE;
/// Bytes searched after a located candidate for further matches (a match
/// that reaches the window's end is extended by an anchored search).
pub(crate) const WINDOW: usize = 32;
/// Windows that overlap are merged up to this length; a longer run of
/// candidates (PII-dense text) is cut into windows of about this size, so
/// that each recognizer searches only near its candidates.
pub(crate) const MAX_MERGED_WINDOW: usize = 256;
/// Spans whose context words a window keeps (recognizers that matched the
/// same span share them).
pub(crate) const NEARS_KEPT: usize = 8;

/// Words that do not end a sentence when a `.` follows them ("passport
/// no. 123", "Dr. Patel", "e.g. the"), lower case.
pub(crate) const ABBREVIATIONS: &[&[u8]] = &[
    b"no", b"nr", b"nos", b"num", b"dr", b"mr", b"mrs", b"ms", b"prof", b"st", b"tel", b"ph",
    b"fax", b"acct", b"approx", b"vs", b"etc", b"e.g", b"i.e", b"ref", b"inc", b"ltd", b"jr",
    b"sr", b"apt", b"dept", b"ext",
];

// ---- which recognizers a validator confirms ----

/// Built-in recognizers whose matches no checksum or structure confirms:
/// numbers known only by their length (and IPv4 addresses, which versions
/// look exactly like). Ambiguity words may lower these below the threshold;
/// every other built-in is validated (see [`crate::VALIDATED_FLOOR`]).
pub(crate) const UNVALIDATED: &[&str] = &[
    "ipv4",
    "us-passport",
    "us-driver-license",
    "us-driver-license-digits",
    "us-bank-number",
];

/// Built-in recognizers whose check never scores a match above the
/// pattern's own score, which is under [`DEFAULT_MIN_SCORE`]: numbers that
/// only a context word makes likely (a nine-digit number passes the Dutch
/// eleven-test one time in eleven). The scanner does not search for them
/// in a window that has none of their supporting words nearby.
pub(crate) const CONTEXT_ONLY: &[&str] = &[
    "us-passport",
    "us-driver-license",
    "us-driver-license-digits",
    "us-bank-number",
    "pl-pesel",
    "nl-bsn",
    "de-tax-id",
    "de-id-card",
    "se-personnummer-digits",
    "be-national-number-digits",
    "in-aadhaar",
    "au-tfn",
    "au-abn-digits",
    "au-acn",
    "au-medicare-digits",
    "kr-rrn-digits",
];

// ---- context words ----

/// Words that make an entity more likely when they appear near a match.
pub(crate) fn context_words(e: &EntityType) -> &'static [&'static str] {
    match e {
        EntityType::CreditCard => &[
            "credit",
            "card",
            "visa",
            "mastercard",
            "cc",
            "amex",
            "discover",
            "jcb",
            "diners",
            "maestro",
            "debit",
            "cardholder",
            "payment",
        ],
        EntityType::Crypto => &[
            "wallet", "btc", "bitcoin", "crypto", "eth", "ethereum", "address",
        ],
        EntityType::DateTime => &[
            "date", "birthday", "born", "dob", "birth", "time", "on", "at", "since", "until",
        ],
        EntityType::EmailAddress => &["email", "mail", "contact", "address"],
        EntityType::IbanCode => &["iban", "bank", "transfer", "account", "swift"],
        EntityType::IpAddress => &[
            "ip", "ipv4", "ipv6", "address", "server", "host", "gateway", "subnet",
        ],
        EntityType::MacAddress => &[
            "mac", "hardware", "ethernet", "wifi", "device", "nic", "bssid",
        ],
        EntityType::PhoneNumber => &[
            "phone",
            "telephone",
            "cell",
            "cellphone",
            "mobile",
            "call",
            "tel",
            "fax",
            "whatsapp",
            "sms",
            "text",
            "reach",
            "dial",
        ],
        EntityType::Url => &["url", "link", "website", "site", "visit"],
        EntityType::UsSsn => &["ssn", "ssns", "social", "security"],
        EntityType::UsItin => &["itin", "taxpayer", "tax", "tin", "taxid"],
        EntityType::UsPassport => &["passport", "travel", "document"],
        EntityType::UsDriverLicense => &[
            "driver", "drivers", "license", "licence", "permit", "dl", "dmv",
        ],
        EntityType::UsBankNumber => &["bank", "account", "acct", "checking", "savings", "deposit"],
        EntityType::AbaRoutingNumber => &["aba", "routing", "rtn", "transit"],
        EntityType::UkNhs => &["nhs", "health", "patient", "national"],
        EntityType::UkNino => &["nino", "insurance", "ni", "national"],
        EntityType::MedicalLicense => &[
            "dea",
            "medical",
            "license",
            "licence",
            "prescriber",
            "physician",
            "registration",
        ],
        EntityType::EsNif => &["nif", "dni", "documento", "identidad", "fiscal"],
        EntityType::EsNie => &["nie", "extranjero", "foreigner", "identidad"],
        EntityType::ItFiscalCode => &["codice", "fiscale", "cf", "fiscal"],
        EntityType::PlPesel => &["pesel"],
        EntityType::FiPersonalIdentityCode => {
            &["hetu", "henkilötunnus", "henkilotunnus", "sotu", "personal"]
        }
        EntityType::NlBsn => &["bsn", "burgerservicenummer", "sofinummer", "sofi"],
        EntityType::DeTaxId => &[
            "steuer",
            "steuerid",
            "identifikationsnummer",
            "idnr",
            "steuernummer",
            "tin",
        ],
        EntityType::DeIdCard => &[
            "personalausweis",
            "ausweis",
            "ausweisnummer",
            "perso",
            "identity",
            "dokumentnummer",
        ],
        EntityType::FrNir => &["nir", "insee", "sécu", "secu", "sociale", "social"],
        EntityType::SePersonnummer => &[
            "personnummer",
            "personnr",
            "pnr",
            "samordningsnummer",
            "personal",
        ],
        EntityType::BeNationalNumber => &[
            "rijksregisternummer",
            "rijksregister",
            "insz",
            "niss",
            "national",
            "nationaal",
            "registre",
        ],
        EntityType::InAadhaar => &["aadhaar", "aadhar", "adhaar", "uid", "uidai", "आधार"],
        EntityType::InPan => &["pan", "permanent account", "income tax"],
        EntityType::AuTfn => &["tfn", "tax file"],
        EntityType::AuAbn => &["abn", "business number"],
        EntityType::AuAcn => &["acn", "company number"],
        EntityType::AuMedicare => &["medicare"],
        EntityType::SgNricFin => &["nric", "fin", "ic", "identity", "singapore"],
        EntityType::KrRrn => &[
            "rrn",
            "resident registration",
            "registration",
            "주민등록번호",
            "주민번호",
        ],
        EntityType::Custom(_) => &[],
    }
}

/// Words that make a numeric match ambiguous (an order number, an ISBN, a
/// version): they lower the score when no supporting context is present.
pub(crate) fn negative_words(e: &EntityType) -> &'static [&'static str] {
    const NUMERIC: &[&str] = &[
        "isbn",
        "issn",
        "order",
        "invoice",
        "tracking",
        "serial",
        "sku",
        "imei",
        "ref",
        "reference",
        "ticket",
        "version",
        "build",
        "release",
        "ver",
        "confirmation",
        "receipt",
        "item",
        "part",
        "model",
        "doi",
        "unix",
        "timestamp",
        "epoch",
        "ts",
        "commit",
        "hash",
        "uuid",
    ];
    const CARD: &[&str] = &[
        "isbn",
        "issn",
        "order",
        "invoice",
        "tracking",
        "serial",
        "sku",
        "imei",
        "ref",
        "reference",
        "ticket",
        "version",
        "build",
        "release",
        "confirmation",
        "receipt",
        "unix",
        "timestamp",
        "commit",
        "account",
        "acct",
        "savings",
        "checking",
        "deposit",
        "routing",
    ];
    match e {
        EntityType::EmailAddress | EntityType::Url | EntityType::Crypto | EntityType::IbanCode => {
            &[]
        }
        EntityType::IpAddress => &["version", "ver", "release", "build", "firmware", "v", "oid"],
        // A bank account number that happens to pass Luhn with a card prefix.
        EntityType::CreditCard => CARD,
        _ => NUMERIC,
    }
}

// ---- dates ----

/// Month names and abbreviations in English, German, French, Spanish,
/// Italian, Portuguese and Dutch, lower case, with their month number.
pub(crate) const MONTH_NAMES: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("jänner", 1),
    ("janvier", 1),
    ("janv", 1),
    ("enero", 1),
    ("ene", 1),
    ("gennaio", 1),
    ("gen", 1),
    ("janeiro", 1),
    ("januari", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("fevr", 2),
    ("febrero", 2),
    ("febbraio", 2),
    ("fevereiro", 2),
    ("fev", 2),
    ("februari", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("maerz", 3),
    ("mär", 3),
    ("mars", 3),
    ("marzo", 3),
    ("março", 3),
    ("marco", 3),
    ("maart", 3),
    ("mrt", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("avr", 4),
    ("abril", 4),
    ("abr", 4),
    ("aprile", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("maggio", 5),
    ("mag", 5),
    ("maio", 5),
    ("mei", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("giugno", 6),
    ("giu", 6),
    ("junho", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("juil", 7),
    ("julio", 7),
    ("luglio", 7),
    ("lug", 7),
    ("julho", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("aout", 8),
    ("agosto", 8),
    ("ago", 8),
    ("augustus", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("settembre", 9),
    ("set", 9),
    ("setembro", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("okt", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("ottobre", 10),
    ("ott", 10),
    ("outubro", 10),
    ("out", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("novembro", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("dez", 12),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
    ("diciembre", 12),
    ("dic", 12),
    ("dicembre", 12),
    ("dezembro", 12),
];

/// `{MONTHS}`: every name of [`MONTH_NAMES`], longest first.
pub(crate) const MONTHS_RE: &str = "septiembre|setiembre|septembre|settembre|september|noviembre|diciembre|fevereiro|november|augustus|december|febbraio|decembre|dezember|novembre|novembro|februari|february|dicembre|dezembro|décembre|setembro|juillet|october|fevrier|octubre|octobre|january|outubro|janeiro|febrero|février|ottobre|gennaio|januari|februar|oktober|janvier|agosto|aprile|januar|giugno|jänner|august|maggio|luglio|julho|maerz|marzo|enero|julio|abril|april|março|avril|march|maart|marco|junio|junho|maio|fevr|janv|juli|aout|févr|juin|sept|june|juni|août|mayo|july|mars|juil|märz|mag|gen|out|aug|feb|lug|ago|mrt|oct|giu|nov|mai|jul|mär|ene|dec|okt|fev|set|dic|mei|dez|ott|avr|jan|déc|abr|may|apr|mar|sep|jun";

/// `{WEEKDAYS}`: weekday names and abbreviations in the same languages.
pub(crate) const WEEKDAYS_RE: &str = "segunda-feira|quarta-feira|quinta-feira|terça-feira|terca-feira|sexta-feira|donnerstag|wednesday|sonnabend|miércoles|miercoles|mercoledì|mercoledi|donderdag|thursday|saturday|dienstag|mittwoch|mercredi|vendredi|dimanche|domenica|woensdag|zaterdag|tuesday|freitag|samstag|sonntag|viernes|domingo|martedì|martedi|giovedì|giovedi|venerdì|venerdi|maandag|dinsdag|vrijdag|monday|friday|sunday|montag|samedi|martes|jueves|sábado|sabado|lunedì|lunedi|sabato|zondag|thurs|lundi|mardi|jeudi|lunes|tues|thur|mon|tue|wed|thu|fri|sat|sun";

// ---- pattern fragments ----

/// `{MONTH}`: English month names and abbreviations as written.
pub(crate) const MONTH: &str = r"(?:[Jj]an(?:uary)?|[Ff]eb(?:ruary)?|[Mm]ar(?:ch)?|[Aa]pr(?:il)?|[Mm]ay|[Jj]une?|[Jj]uly?|[Aa]ug(?:ust)?|[Ss]ep(?:t(?:ember)?)?|[Oo]ct(?:ober)?|[Nn]ov(?:ember)?|[Dd]ec(?:ember)?|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)";

/// A separator between digit groups as real text has them: space, hyphen,
/// no-break, narrow no-break, thin and figure spaces, Unicode hyphens,
/// dashes and the minus sign (`{SEP}` in the patterns). Checks see them as
/// ASCII `' '` and `'-'` (see `recognizers::common::ascii_separators`).
pub(crate) const SEP: &str = r"[ \-\x{A0}\x{202F}\x{2009}\x{2007}\x{2010}-\x{2015}\x{2212}]";
