//! The scanner: its public face (findings, explanations, `scan`) over
//! four concerns, one module each: building it (`build`), candidate search
//! (`search`, with `window_set` listing the recognizers that match in a
//! window), validation (`validation`) and resolving overlaps
//! (`resolve`); context scoring lives in `crate::context`, streams in
//! `stream`.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::EntityType;
use crate::context::{ContextIndex, ListId, Near};

mod build;
mod locate;
mod resolve;
mod search;
mod stream;
mod validation;
mod window_set;

pub use build::ScannerBuilder;
use build::{Compiled, DenyList};
#[cfg(any(test, fuzzing))]
pub(crate) use locate::check_parts;
#[cfg(any(test, fuzzing))]
pub(crate) use stream::MIN_STREAM_CHUNK;

pub use crate::data::{DEFAULT_MIN_SCORE, MAX_FINDING_LEN, VALIDATED_FLOOR};

/// One piece of personal data found in a text.
///
/// `start` and `end` are UTF-8 byte offsets into the scanned text, always on
/// character boundaries; use [`char_offsets`] for character offsets.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Finding {
    /// What kind of data this is.
    pub entity_type: EntityType,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Confidence in `0.0..=1.0`.
    pub score: f64,
    /// The recognizer that found it (`"credit-card"`, `"phone"`,
    /// `"deny-list-codename"`, a custom recognizer's name, or `"external"`
    /// for findings made with [`Finding::new`]); [`Scanner::explain`] says
    /// how its score came about.
    pub recognizer: Arc<str>,
    /// The score before context words (pattern and validator).
    base_score: f64,
}

impl Finding {
    /// Creates a finding (for callers that bring their own, for example to
    /// anonymize with [`Anonymizer`](crate::Anonymizer)).
    #[must_use]
    pub fn new(entity_type: EntityType, start: usize, end: usize, score: f64) -> Self {
        Finding {
            entity_type,
            start,
            end,
            score,
            recognizer: Arc::from("external"),
            base_score: score,
        }
    }

    /// The found text, or `None` when the offsets do not fit `text`.
    #[must_use]
    pub fn text<'t>(&self, text: &'t str) -> Option<&'t str> {
        text.get(self.start..self.end)
    }
}

/// How a finding's score came about (see [`Scanner::explain`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Explanation {
    /// The recognizer's name.
    pub recognizer: Arc<str>,
    /// The score of the pattern and its validator, before context words.
    pub pattern_score: f64,
    /// Whether a checksum or structural validator confirmed the value: if
    /// so, ambiguity words cannot push it under [`VALIDATED_FLOOR`].
    pub validated: bool,
    /// The nearest word of the text that supports the entity, if any.
    pub supporting_word: Option<String>,
    /// The nearest ambiguity word before the value ("order", "ISBN"), if any.
    pub ambiguity_word: Option<String>,
    /// The final score.
    pub score: f64,
}

/// One line: `phone: pattern 0.55 (validated), context "call" -> 0.90`.
impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: pattern {:.2}", self.recognizer, self.pattern_score)?;
        if self.validated {
            f.write_str(" (validated)")?;
        }
        if let Some(w) = &self.supporting_word {
            write!(f, ", context {w:?}")?;
        }
        if let Some(w) = &self.ambiguity_word {
            write!(f, ", ambiguity {w:?}")?;
        }
        write!(f, " -> {:.2}", self.score)
    }
}

/// Character (Unicode scalar value) offsets of each finding, for callers that
/// index text by characters. `findings` must be sorted by `start`, as
/// [`Scanner::scan`] returns them; the work is one pass over the text.
#[must_use]
pub fn char_offsets(text: &str, findings: &[Finding]) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(findings.len());
    let (mut byte, mut chars) = (0usize, 0usize);
    let mut advance = |to: usize| {
        let to = to.min(text.len());
        if to >= byte {
            chars += text.get(byte..to).map_or(0, |s| s.chars().count());
            byte = to;
        } else {
            // Out of order: count from the start.
            byte = to;
            chars = text.get(..to).map_or(0, |s| s.chars().count());
        }
        chars
    };
    for f in findings {
        let s = advance(f.start);
        let e = advance(f.end);
        out.push((s, e));
    }
    out
}

/// A compiled, reusable PII scanner. `Send + Sync`: build it once and share it.
///
/// ```
/// let scanner = pii_scan::Scanner::new();
/// let text = "Card 4111 1111 1111 1111, mail jo@example.com";
/// for f in scanner.scan(text) {
///     println!("{} {:?} {:.2}", f.entity_type, f.text(text), f.score);
/// }
/// ```
pub struct Scanner {
    locator: locate::Locator,
    set: window_set::WindowSet,
    patterns: Vec<Compiled>,
    /// Deny-list values without whitespace.
    deny: Option<DenyList>,
    context: ContextIndex,
    min_score: f64,
    allow: HashSet<String>,
    entities: Vec<EntityType>,
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Allow-list values are not printed: they may be personal data.
        f.debug_struct("Scanner")
            .field("patterns", &self.patterns.len())
            .field("entities", &self.entities)
            .field("min_score", &self.min_score)
            .field("allow_list_len", &self.allow.len())
            .finish_non_exhaustive()
    }
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

impl Scanner {
    /// A scanner with every built-in recognizer and the default minimum score.
    ///
    /// # Panics
    /// Never: the built-in patterns are compiled by the tests.
    #[must_use]
    #[allow(
        clippy::expect_used,
        reason = "built-in patterns are fixed and covered by tests"
    )]
    pub fn new() -> Self {
        ScannerBuilder::default()
            .build()
            .expect("built-in patterns compile")
    }

    /// Starts configuring a scanner.
    #[must_use]
    pub fn builder() -> ScannerBuilder {
        ScannerBuilder::default()
    }

    /// The entity types this scanner can report.
    #[must_use]
    pub fn entities(&self) -> &[EntityType] {
        &self.entities
    }

    /// The minimum score of reported findings.
    #[must_use]
    pub fn min_score(&self) -> f64 {
        self.min_score
    }

    /// Finds personal data in `text`: non-overlapping findings sorted by start.
    #[must_use]
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        self.scan_range(text, 0, &[], None).0
    }

    /// Why `finding` (from [`Scanner::scan`] on `text`) scored what it did,
    /// as Presidio's decision process tells: the recognizer, the score of
    /// its pattern and validator, whether a checksum or structure confirmed
    /// the value, and the context words that raised or lowered it. `None`
    /// when the finding's recognizer is not one of this scanner's.
    #[must_use]
    pub fn explain(&self, text: &str, finding: &Finding) -> Option<Explanation> {
        let (s, e) = (finding.start, finding.end);
        text.get(s..e)?;
        let Some(p) = self.patterns.iter().find(|p| p.name == finding.recognizer) else {
            let deny = finding.recognizer.starts_with("deny-list-");
            return deny.then(|| Explanation {
                recognizer: Arc::clone(&finding.recognizer),
                pattern_score: 1.0,
                validated: true,
                supporting_word: None,
                ambiguity_word: None,
                score: finding.score,
            });
        };
        let near = Near::new(text, s, e, &self.context);
        let (before, after) = (&near.before[..near.nb], &near.after[..near.na]);
        let word = |id: ListId, after: &[(u128, &str)]| {
            let d = self.context.distance(id, before, after)?;
            let bit = 1u128 << id?;
            before
                .iter()
                .chain(after)
                .filter(|(m, _)| m & bit != 0)
                .map(|(_, w)| (*w).to_owned())
                .next()
                .or_else(|| before.get(d).map(|(_, w)| (*w).to_owned()))
        };
        Some(Explanation {
            recognizer: Arc::clone(&p.name),
            pattern_score: finding.base_score,
            validated: p.validated,
            supporting_word: word(p.support, after),
            ambiguity_word: word(p.ambiguity, &[]),
            score: finding.score,
        })
    }
}

/// The lazy DFA cache capacity of the scanner's multi-pattern regexes
/// (the locator's and the window set's).
const CACHE_CAPACITY: usize = 16 << 20;

/// The meta regex of every one of `sources` at once, with match kind
/// `kind`, as the scanner configures its multi-pattern regexes (the
/// locator's reference and fallback, the window set's reporting search).
fn multi_regex<P: AsRef<str>>(
    syntax: regex_automata::util::syntax::Config,
    sources: &[P],
    kind: regex_automata::MatchKind,
) -> Result<regex_automata::meta::Regex, String> {
    regex_automata::meta::Regex::builder()
        .syntax(syntax)
        .configure(
            regex_automata::meta::Regex::config()
                .match_kind(kind)
                .nfa_size_limit(Some(256 << 20))
                .hybrid_cache_capacity(CACHE_CAPACITY)
                .dfa_size_limit(Some(64 << 20)),
        )
        .build_many(sources)
        .map_err(|e| e.to_string())
}

pub(crate) fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub(crate) fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Error;
    use crate::custom::Validator;

    #[test]
    fn debug_never_shows_list_values() {
        let b = Scanner::builder().allow(["secret.allow@example.com"]).deny(
            EntityType::custom("PROJECT").unwrap(),
            ["Nightjar", "Bluebird"],
        );
        let shown = format!("{b:?}");
        assert!(!shown.contains("secret.allow"), "{shown}");
        assert!(
            !shown.contains("Nightjar") && !shown.contains("Bluebird"),
            "{shown}"
        );
        assert!(shown.contains("allow_list_len: 1"), "{shown}");
        assert!(shown.contains("(\"PROJECT\", 2)"), "{shown}");
        let shown = format!("{:?}", b.build().unwrap());
        assert!(
            !shown.contains("secret.allow") && !shown.contains("Nightjar"),
            "{shown}"
        );
    }

    #[test]
    fn smallest_chunks_cross_many_boundaries_and_match_whole_text() {
        let values = [
            "jane.doe@example.com",
            "4111 1111 1111 1111",
            "call (415) 555-0132",
            "ssn 536-90-4399",
            "https://example.org/a?b=c).",
            "GB82 WEST 1234 5698 7654 32",
            "東京 jörg@bücher.de",
        ];
        let mut text = String::new();
        let mut i = 0usize;
        while text.len() < 2 * MIN_STREAM_CHUNK {
            text.push_str(values[i % values.len()]);
            text.push_str(&" é".repeat(i % 13));
            text.push_str(if i.is_multiple_of(5) { ". " } else { " " });
            i += 1;
        }
        let scanner = Scanner::new();
        let whole = scanner.scan(&text);
        assert!(whole.len() > 100, "{}", whole.len());
        for chunk in [MIN_STREAM_CHUNK, MIN_STREAM_CHUNK + 333] {
            let mut got = Vec::new();
            let n = scanner
                .scan_stream(text.as_bytes(), chunk, |f, t| {
                    assert_eq!(f.text(&text), Some(t));
                    got.push(f);
                })
                .unwrap();
            assert_eq!(n, text.len() as u64);
            assert_eq!(got, whole, "chunk {chunk}");
        }
    }

    #[test]
    fn send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Scanner>();
    }

    #[test]
    fn validators_by_name() {
        let good = [
            "4111111111111111",
            "GB82WEST12345698765432",
            "9434765919",
            "AB1234563",
            "121000358",
            "536-90-4399",
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "12345678Z",
            "RSSMRA85T10A562S",
            "44051401359",
            "131052-308T",
        ];
        assert_eq!(good.len(), Validator::NAMES.len());
        for (name, value) in Validator::NAMES.iter().zip(good) {
            let v = Validator::from_name(name).unwrap();
            assert!(v.validate(value), "{name} rejects {value}");
            assert!(!v.validate("1111111111111111111111"), "{name} accepts ones");
        }
        assert!(matches!(
            Validator::from_name("crc32"),
            Err(Error::UnknownValidator { .. })
        ));
    }

    #[test]
    fn char_offsets_count_scalars() {
        let text = "é 😀 a@b.co";
        let f = vec![Finding::new(EntityType::EmailAddress, 8, 14, 1.0)];
        assert_eq!(char_offsets(text, &f), vec![(4, 10)]);
    }
}
