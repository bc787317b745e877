//! The scanner: building it, scanning text, scanning streams.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind, PatternSet};

use crate::context::{ContextIndex, ListId};
use crate::custom::{CustomRecognizer, Validator};
use crate::recognizers::{self, BUILTINS, CheckFn};
use crate::{EntityType, Error};

mod stream;

#[cfg(any(test, fuzzing))]
pub(crate) use stream::MIN_STREAM_CHUNK;

use crate::data::{
    ABBREVIATIONS, CONTEXT_AFTER, CONTEXT_BEFORE, CONTEXT_BOOST, CONTEXT_DISTANCE_STEP,
    CONTEXT_FLOOR, CONTEXT_WORDS_AFTER, CONTEXT_WORDS_BEFORE, MAX_MERGED_WINDOW, NEARS_KEPT,
    NEGATIVE_PENALTY, WINDOW,
};
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

/// A pattern before compilation.
struct Def {
    name: String,
    entity: EntityType,
    src: String,
    /// The regex used by the locator and the pattern set.
    locate: String,
    score: f64,
    check: Check,
    context: Arc<[String]>,
    negative: &'static [&'static str],
    validated: bool,
    max_score: f64,
}

/// How a compiled pattern checks its matches.
enum Check {
    Builtin(CheckFn),
    /// Phone numbers, validated for these regions.
    Phone(Arc<[crate::phone::Region]>),
    Validator(Validator),
    Plain,
}

struct Compiled {
    name: Arc<str>,
    entity: EntityType,
    /// A match passed a checksum or structural validator: ambiguity words
    /// cannot push it under [`VALIDATED_FLOOR`].
    validated: bool,
    /// The locator finds the `@` of an e-mail address: the window starts at
    /// the beginning of the local part before it.
    lookback: bool,
    /// The locator searches for this pattern's own regex (not a cheaper
    /// stand-in), so its matches are the pattern's matches.
    own_locate: bool,
    /// The highest score the pattern's check gives before context words:
    /// below the scanner's minimum, a match is reported only with a
    /// supporting word near it, so the pattern is not even searched in a
    /// window that has none of its supporting words nearby.
    max_score: f64,
    regex: Regex,
    score: f64,
    check: Check,
    /// Supporting words (their list in the scanner's context index).
    support: ListId,
    /// Ambiguity words.
    ambiguity: ListId,
}

/// Configures and builds a [`Scanner`].
///
/// ```
/// use pii_scan::{EntityType, Scanner};
/// let scanner = Scanner::builder()
///     .entities([EntityType::EmailAddress, EntityType::PhoneNumber])
///     .min_score(0.4)
///     .allow(["support@example.com"])
///     .build()?;
/// let found = scanner.scan("write to support@example.com or ann@example.org");
/// assert_eq!(found.len(), 1);
/// # Ok::<(), pii_scan::Error>(())
/// ```
#[derive(Clone)]
pub struct ScannerBuilder {
    entities: Option<BTreeSet<EntityType>>,
    min_score: f64,
    allow: Vec<String>,
    deny: Vec<(EntityType, Vec<String>)>,
    custom: Vec<CustomRecognizer>,
    phone_regions: Option<Vec<String>>,
}

/// Shows settings and counts, never allow-list or deny-list values.
impl fmt::Debug for ScannerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let deny: Vec<(&str, usize)> = self
            .deny
            .iter()
            .map(|(e, values)| (e.as_str(), values.len()))
            .collect();
        f.debug_struct("ScannerBuilder")
            .field("entities", &self.entities)
            .field("min_score", &self.min_score)
            .field("allow_list_len", &self.allow.len())
            .field("deny_list_lens", &deny)
            .field("custom", &self.custom)
            .field("phone_regions", &self.phone_regions)
            .finish()
    }
}

impl Default for ScannerBuilder {
    fn default() -> Self {
        ScannerBuilder {
            entities: None,
            min_score: DEFAULT_MIN_SCORE,
            allow: Vec::new(),
            deny: Vec::new(),
            custom: Vec::new(),
            phone_regions: None,
        }
    }
}

impl ScannerBuilder {
    /// Reports only these entities (default: every built-in and custom one).
    #[must_use]
    pub fn entities<I: IntoIterator<Item = EntityType>>(mut self, entities: I) -> Self {
        self.entities = Some(entities.into_iter().collect());
        self
    }

    /// Drops findings scoring below `min_score` (default [`DEFAULT_MIN_SCORE`]).
    #[must_use]
    pub fn min_score(mut self, min_score: f64) -> Self {
        self.min_score = min_score;
        self
    }

    /// Values never reported, compared exactly with the found text.
    #[must_use]
    pub fn allow<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allow.extend(values.into_iter().map(Into::into));
        self
    }

    /// Values always reported as `entity` (case-insensitive, whole words),
    /// with score 1.0.
    #[must_use]
    pub fn deny<I, S>(mut self, entity: EntityType, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.deny
            .push((entity, values.into_iter().map(Into::into).collect()));
        self
    }

    /// Regions (ISO 3166-1 codes such as `"US"`, `"DE"`) whose national
    /// phone formats are recognized; a number written with `+` and a
    /// country code is recognized whatever its country. Default:
    /// [`DEFAULT_PHONE_REGIONS`](crate::DEFAULT_PHONE_REGIONS). The first
    /// region whose number plan accepts a number decides.
    #[must_use]
    pub fn phone_regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.phone_regions = Some(regions.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a custom pattern recognizer.
    #[must_use]
    pub fn recognizer(mut self, recognizer: CustomRecognizer) -> Self {
        self.custom.push(recognizer);
        self
    }

    /// Applies a TOML configuration (see [`crate::config`] for the format) on
    /// top of the settings made so far.
    ///
    /// # Errors
    /// [`Error::Config`] naming the line and field of the first problem.
    pub fn config_toml(self, toml_text: &str) -> Result<Self, Error> {
        crate::config::apply(self, toml_text)
    }

    /// Compiles the scanner.
    ///
    /// # Errors
    /// [`Error::InvalidScore`] for a score outside `0..=1`,
    /// [`Error::InvalidPattern`] for a pattern that does not compile,
    /// [`Error::UnknownEntity`] when a selected entity has no recognizer,
    /// [`Error::InvalidOption`] for an empty deny-list value.
    pub fn build(self) -> Result<Scanner, Error> {
        if !(0.0..=1.0).contains(&self.min_score) {
            return Err(Error::InvalidScore {
                what: "min_score".into(),
            });
        }
        let syntax = syntax::Config::new().unicode(true).utf8(true);
        let selected = |e: &EntityType| self.entities.as_ref().is_none_or(|set| set.contains(e));
        let mut defs: Vec<Def> = Vec::new();
        // Deny lists: values without whitespace go to one Aho-Corasick
        // automaton (a 20,000-entry list builds in milliseconds); values
        // with whitespace ("night jar", matching any run of whitespace)
        // become a regex, as custom patterns do.
        let mut deny_words: Vec<&str> = Vec::new();
        let mut deny_of: Vec<usize> = Vec::new();
        let mut deny_entities: Vec<EntityType> = Vec::new();
        for (entity, values) in &self.deny {
            if values.is_empty() || values.iter().any(|v| v.trim().is_empty()) {
                return Err(Error::InvalidOption {
                    option: "deny list",
                    reason: format!("the list for {entity} is empty or holds an empty value"),
                });
            }
            if !selected(entity) {
                // Still counts as a recognizer of its entity for the check below.
                deny_entities.push(entity.clone());
                continue;
            }
            let k = deny_entities.len();
            deny_entities.push(entity.clone());
            let alts: Vec<String> = values
                .iter()
                .filter(|val| {
                    if val.contains(char::is_whitespace) {
                        return true;
                    }
                    deny_words.push(val.as_str());
                    deny_of.push(k);
                    false
                })
                .map(|val| {
                    let start = if val.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                        r"(?-u:\b)"
                    } else {
                        ""
                    };
                    let end = if val.ends_with(|c: char| c.is_ascii_alphanumeric()) {
                        r"(?-u:\b)"
                    } else {
                        ""
                    };
                    format!("{start}{}{end}", escape(val.trim()))
                })
                .collect();
            if alts.is_empty() {
                continue;
            }
            defs.push(Def {
                name: format!("deny-list-{}", entity.as_str().to_ascii_lowercase()),
                entity: entity.clone(),
                src: format!("(?i:{})", alts.join("|")),
                locate: String::new(),
                score: 1.0,
                check: Check::Plain,
                context: Arc::from(Vec::new()),
                negative: &[],
                validated: true,
                max_score: 1.0,
            });
        }
        let deny = if deny_words.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(aho_corasick::MatchKind::Standard)
                .build(&deny_words)
                .map_err(|e| Error::InvalidOption {
                    option: "deny list",
                    reason: e.to_string(),
                })?;
            let bounds = deny_words
                .iter()
                .map(|w| {
                    (
                        w.starts_with(|c: char| c.is_ascii_alphanumeric()),
                        w.ends_with(|c: char| c.is_ascii_alphanumeric()),
                    )
                })
                .collect();
            Some(DenyList {
                ac,
                entity_of: deny_of,
                bounds,
                entities: deny_entities.clone(),
            })
        };
        for b in BUILTINS {
            let context: Vec<String> = crate::data::context_words(&b.entity)
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            defs.push(Def {
                name: b.name.to_owned(),
                entity: b.entity.clone(),
                src: recognizers::expand(b.regex),
                locate: recognizers::expand(b.locate),
                score: b.score,
                check: Check::Builtin(b.check),
                context: Arc::from(context),
                negative: crate::data::negative_words(&b.entity),
                validated: !crate::data::UNVALIDATED.contains(&b.name),
                max_score: if crate::data::CONTEXT_ONLY.contains(&b.name) {
                    b.score
                } else {
                    1.0
                },
            });
        }
        for c in &self.custom {
            if !(0.0..=1.0).contains(&c.score) {
                return Err(Error::InvalidScore {
                    what: format!("score of recognizer `{}`", c.name),
                });
            }
            let check = c.validator.map_or(Check::Plain, Check::Validator);
            let src = ascii_word_boundaries(&c.pattern);
            // Compiled here for the error: it names the caller's pattern,
            // not the rewritten one.
            if let Err(e) = Regex::builder().syntax(syntax).build(&src) {
                return Err(Error::InvalidPattern {
                    recognizer: c.name.clone(),
                    message: crate::error::regex_error(&c.pattern, &e),
                });
            }
            defs.push(Def {
                name: c.name.clone(),
                entity: c.entity.clone(),
                src,
                locate: String::new(),
                score: c.score,
                check,
                context: Arc::from(c.context.clone()),
                negative: &[],
                validated: c.validator.is_some(),
                max_score: 1.0,
            });
        }
        if let Some(set) = &self.entities {
            for e in set {
                if !defs.iter().any(|d| &d.entity == e) && !deny_entities.contains(e) {
                    return Err(Error::UnknownEntity {
                        name: e.as_str().to_owned(),
                    });
                }
            }
        }
        defs.retain(|d| selected(&d.entity));

        let one = |name: &str, src: &str| {
            Regex::builder()
                .syntax(syntax)
                .configure(Regex::config().match_kind(MatchKind::LeftmostFirst))
                .build(src)
                .map_err(|e| Error::InvalidPattern {
                    recognizer: name.to_owned(),
                    message: crate::error::regex_error(src, &e),
                })
        };
        let phone_regions: Arc<[crate::phone::Region]> = Arc::from(match &self.phone_regions {
            Some(list) => crate::phone::regions(list)?,
            None => crate::phone::regions(crate::phone::DEFAULT_PHONE_REGIONS)?,
        });
        let mut patterns = Vec::with_capacity(defs.len());
        let mut context_index = ContextIndex::default();
        for Def {
            name,
            entity,
            src,
            score,
            check,
            context,
            negative,
            validated,
            max_score,
            locate,
        } in &defs
        {
            patterns.push(Compiled {
                name: Arc::from(name.as_str()),
                entity: entity.clone(),
                validated: *validated,
                lookback: *entity == EntityType::EmailAddress && name == "email",
                own_locate: locate.is_empty(),
                max_score: *max_score,
                regex: one(name, src)?,
                score: *score,
                check: match check {
                    Check::Builtin(_) if name == "phone" => {
                        Check::Phone(Arc::clone(&phone_regions))
                    }
                    Check::Builtin(f) => Check::Builtin(*f),
                    Check::Phone(r) => Check::Phone(Arc::clone(r)),
                    Check::Validator(v) => Check::Validator(*v),
                    Check::Plain => Check::Plain,
                },
                support: context_index
                    .add(context)
                    .map_err(|m| Error::InvalidPattern {
                        recognizer: name.clone(),
                        message: m,
                    })?,
                ambiguity: context_index
                    .add(negative)
                    .map_err(|m| Error::InvalidPattern {
                        recognizer: name.clone(),
                        message: m,
                    })?,
            });
        }
        let sources: Vec<&str> = defs
            .iter()
            .map(|d| {
                if d.locate.is_empty() {
                    d.src.as_str()
                } else {
                    d.locate.as_str()
                }
            })
            .collect();
        let many = |kind: MatchKind| {
            Regex::builder()
                .syntax(syntax)
                .configure(
                    Regex::config()
                        .match_kind(kind)
                        .nfa_size_limit(Some(256 << 20))
                        .hybrid_cache_capacity(16 << 20)
                        .dfa_size_limit(Some(64 << 20)),
                )
                .build_many(&sources)
                .map_err(|e| Error::InvalidPattern {
                    recognizer: "(all patterns)".into(),
                    message: e.to_string(),
                })
        };
        let locator = many(MatchKind::LeftmostFirst)?;
        let set = many(MatchKind::All)?;
        let entities: BTreeSet<EntityType> = defs
            .iter()
            .map(|d| d.entity.clone())
            .chain(
                deny.iter()
                    .flat_map(|d| d.entities.iter().filter(|e| selected(e)).cloned()),
            )
            .collect();
        Ok(Scanner {
            locator,
            set,
            patterns,
            deny,
            context: context_index,
            min_score: self.min_score,
            allow: self.allow.into_iter().collect(),
            entities: entities.into_iter().collect(),
        })
    }
}

/// Escapes regex metacharacters in a literal.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        if c.is_whitespace() {
            out.push_str(r"\s+");
        } else {
            out.push(c);
        }
    }
    out
}

/// Rewrites unescaped `\b`, `\B` and `\b{start}`-style boundaries to their
/// ASCII forms (`(?-u:\b)`, ...): the Unicode ones make the lazy DFA give up
/// on non-ASCII text.
fn ascii_word_boundaries(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 16);
    let mut rest = src;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let Some(n) = rest.chars().next() else {
            out.push('\\');
            break;
        };
        rest = &rest[n.len_utf8()..];
        match n {
            'b' | 'B' => {
                // `\b{start}`, `\b{end}`, `\b{start-half}`, `\b{end-half}`.
                let special = (n == 'b')
                    .then(|| rest.strip_prefix('{')?.split_once('}'))
                    .flatten()
                    .filter(|(name, _)| {
                        !name.is_empty()
                            && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                    });
                out.push_str("(?-u:\\");
                out.push(n);
                if let Some((name, after)) = special {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                    rest = after;
                }
                out.push(')');
            }
            _ => {
                out.push('\\');
                out.push(n);
            }
        }
    }
    out.push_str(rest);
    out
}

/// Deny-list values on Aho-Corasick (ASCII case-insensitive, whole words).
struct DenyList {
    ac: AhoCorasick,
    /// The entity (index into `entities`) of each value.
    entity_of: Vec<usize>,
    /// Whether each value needs a word boundary before / after it.
    bounds: Vec<(bool, bool)>,
    entities: Vec<EntityType>,
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
    locator: Regex,
    set: Regex,
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

/// A stretch of text around located candidates, searched by every
/// recognizer that matches in it.
struct Window {
    span: (usize, usize),
    /// The first locator match in it: (pattern, start, end).
    first: (usize, usize, usize),
    /// How many locator matches it holds.
    matches: usize,
}

#[derive(Clone, Copy)]
struct Cand {
    start: usize,
    end: usize,
    score: f64,
    /// The score before context words.
    base: f64,
    pat: usize,
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
        self.scan_range(text, 0, &[])
    }

    /// Scans `text` for candidates starting at or after `from`; `fixed` are
    /// spans already reported (from an earlier chunk) that win every overlap.
    fn scan_range(&self, text: &str, from: usize, fixed: &[(usize, usize)]) -> Vec<Finding> {
        let mut cands: Vec<Cand> = Vec::new();
        // The window being gathered, and its locator matches: the first
        // one, and how many.
        let mut window: Option<Window> = None;
        let mut patset = PatternSet::new(self.patterns.len());
        let mut nears: Vec<Near<'_>> = Vec::with_capacity(NEARS_KEPT);
        for m in self.locator.find_iter(Input::new(text).range(from..)) {
            let pat = m.pattern().as_usize();
            let ws = if self.patterns[pat].lookback {
                local_part_start(text, m.start()).max(from)
            } else {
                m.start()
            };
            let we = ceil_boundary(text, m.end().saturating_add(WINDOW).min(text.len()));
            let fresh = Window {
                span: (ws, we),
                first: (pat, m.start(), m.end()),
                matches: 1,
            };
            window = match window {
                Some(w) if ws <= w.span.1 && w.span.1 - w.span.0 < MAX_MERGED_WINDOW => {
                    Some(Window {
                        span: (w.span.0.min(ws), w.span.1.max(we)),
                        matches: w.matches + 1,
                        ..w
                    })
                }
                Some(w) => {
                    self.scan_window(text, &w, &mut patset, &mut nears, &mut cands);
                    Some(fresh)
                }
                None => Some(fresh),
            };
        }
        if let Some(w) = window {
            self.scan_window(text, &w, &mut patset, &mut nears, &mut cands);
        }
        if let Some(deny) = &self.deny {
            let b = text.as_bytes();
            let word = |i: Option<usize>| {
                i.and_then(|i| b.get(i))
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            };
            for m in deny.ac.find_overlapping_iter(&text[from..]) {
                let (s, e) = (from + m.start(), from + m.end());
                let k = m.pattern().as_usize();
                let (need_start, need_end) = deny.bounds[k];
                if !(text.is_char_boundary(s) && text.is_char_boundary(e))
                    || (need_start && word(s.checked_sub(1)))
                    || (need_end && word(Some(e)))
                    || (!self.allow.is_empty() && self.allow.contains(&text[s..e]))
                {
                    continue;
                }
                cands.push(Cand {
                    start: s,
                    end: e,
                    score: 1.0,
                    base: 1.0,
                    pat: self.patterns.len() + deny.entity_of[k],
                });
            }
        }
        self.resolve(cands, fixed)
    }

    fn scan_window<'t>(
        &self,
        text: &'t str,
        window: &Window,
        patset: &mut PatternSet,
        nears: &mut Vec<Near<'t>>,
        out: &mut Vec<Cand>,
    ) {
        let (ws, we) = window.span;
        patset.clear();
        self.set
            .which_overlapping_matches(&Input::new(text).span(ws..we), patset);
        nears.clear();
        // The context lists with a word near the window, computed when a
        // pattern that needs a supporting word is among the matches.
        let mut near_window: Option<u128> = None;
        for pid in patset.iter() {
            let pat = pid.as_usize();
            let p = &self.patterns[pat];
            if p.max_score < self.min_score {
                let Some(bit) = p.support.map(|id| 1u128 << id) else {
                    continue;
                };
                let bits = *near_window.get_or_insert_with(|| {
                    self.context
                        .lists_near(text, ws, we, CONTEXT_BEFORE, CONTEXT_AFTER + WINDOW)
                });
                if bits & bit == 0 {
                    continue;
                }
            }
            // A window made of one locator match of this pattern (found
            // with the pattern itself) holds that match and no other of
            // the pattern: any further one would have been a locator
            // match too. No need to search again.
            let single = (window.matches == 1 && window.first.0 == pat && p.own_locate)
                .then_some(window.first);
            let searched = single
                .is_none()
                .then(|| p.regex.find_iter(Input::new(text).span(ws..we)));
            let spans = single
                .map(|(_, s, e)| (s, e))
                .into_iter()
                .chain(searched.into_iter().flatten().map(|m| (m.start(), m.end())));
            for (mut s, mut e) in spans {
                if e == we && we < text.len() {
                    // The window cut the match short: find its full extent.
                    if let Some(full) = p
                        .regex
                        .find(Input::new(text).range(s..).anchored(Anchored::Yes))
                    {
                        e = full.end();
                    }
                }
                if e <= s || e - s > MAX_FINDING_LEN {
                    continue;
                }
                let score = match &p.check {
                    Check::Builtin(f) => match f(text, s, e, p.score) {
                        Some((ns, ne, sc)) => {
                            (s, e) = (ns, ne);
                            sc
                        }
                        None => continue,
                    },
                    Check::Phone(regions) => match crate::phone::check(text, s, e, regions) {
                        Some((ns, ne, sc)) => {
                            (s, e) = (ns, ne);
                            sc
                        }
                        None => continue,
                    },
                    Check::Validator(val) => {
                        if !val.validate(&text[s..e]) {
                            continue;
                        }
                        1.0
                    }
                    Check::Plain => p.score,
                };
                if !(text.is_char_boundary(s) && text.is_char_boundary(e)) || s >= e {
                    continue;
                }
                if !self.allow.is_empty() && self.allow.contains(&text[s..e]) {
                    continue;
                }
                let base = score;
                // A pattern without ambiguity words whose score no
                // supporting word can raise needs no context.
                let score = if p.ambiguity.is_none() && (p.support.is_none() || score >= 1.0) {
                    score
                } else {
                    let near = match nears.iter().position(|n| n.span == (s, e)) {
                        Some(i) => &nears[i],
                        None => {
                            if nears.len() == NEARS_KEPT {
                                nears.remove(0);
                            }
                            nears.push(Near::new(text, s, e, &self.context));
                            &nears[nears.len() - 1]
                        }
                    };
                    self.adjust(near, score, p)
                };
                if score >= self.min_score {
                    out.push(Cand {
                        start: s,
                        end: e,
                        score,
                        base,
                        pat,
                    });
                }
            }
        }
    }

    /// Applies context words: support lifts the score, ambiguity lowers it.
    /// `near` holds the words around the candidate's span (shared by every
    /// recognizer that matched the same span, with the results for shared
    /// ambiguity lists).
    fn adjust(&self, near: &Near<'_>, score: f64, p: &Compiled) -> f64 {
        if p.support.is_none() && p.ambiguity.is_none() {
            return score;
        }
        let (before, after) = (&near.before[..near.nb], &near.after[..near.na]);
        let support = self.context.distance(p.support, before, after);
        // Ambiguity words count only before the match ("order 4111...").
        let ambiguous = self.context.distance(p.ambiguity, before, &[]);
        // With both, the nearer word decides.
        let (support, ambiguous) = match (support, ambiguous) {
            (Some(s), Some(a)) if a < s => (None, true),
            (Some(s), _) => (Some(s), false),
            (None, a) => (None, a.is_some()),
        };
        match (support, ambiguous) {
            (Some(d), _) => {
                // Nearer context wins when two recognizers compete for a span.
                let d = f64::from(u8::try_from(d).unwrap_or(u8::MAX));
                ((score + CONTEXT_BOOST).clamp(CONTEXT_FLOOR, 1.0) - CONTEXT_DISTANCE_STEP * d)
                    .max(score)
            }
            (None, true) if p.validated => {
                (score - NEGATIVE_PENALTY).max(score.min(VALIDATED_FLOOR))
            }
            (None, true) => (score - NEGATIVE_PENALTY).max(0.0),
            _ => score,
        }
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

    /// Picks non-overlapping findings: higher score, then longer, then
    /// earlier, then the recognizer listed first.
    fn resolve(&self, mut cands: Vec<Cand>, fixed: &[(usize, usize)]) -> Vec<Finding> {
        let n = self.patterns.len();
        cands.sort_unstable_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then((b.end - b.start).cmp(&(a.end - a.start)))
                .then(a.start.cmp(&b.start))
                // Deny lists first, as when they were patterns listed first.
                .then((b.pat >= n).cmp(&(a.pat >= n)))
                .then(a.pat.cmp(&b.pat))
        });
        let mut taken: BTreeMap<usize, usize> = fixed.iter().copied().collect();
        let mut chosen: Vec<Cand> = Vec::with_capacity(cands.len().min(64));
        for c in cands {
            let overlaps_prev = taken
                .range(..c.end)
                .next_back()
                .is_some_and(|(_, &e)| e > c.start);
            if overlaps_prev {
                continue;
            }
            taken.insert(c.start, c.end);
            chosen.push(c);
        }
        chosen.sort_by_key(|c| (c.start, c.end));
        chosen
            .into_iter()
            .filter_map(|c| {
                let entity_type = match (self.patterns.get(c.pat), &self.deny) {
                    (Some(p), _) => p.entity.clone(),
                    (None, Some(d)) => d.entities.get(c.pat - n)?.clone(),
                    (None, None) => return None,
                };
                let recognizer = match self.patterns.get(c.pat) {
                    Some(p) => Arc::clone(&p.name),
                    None => Arc::from(format!(
                        "deny-list-{}",
                        entity_type.as_str().to_ascii_lowercase()
                    )),
                };
                Some(Finding {
                    entity_type,
                    start: c.start,
                    end: c.end,
                    score: (c.score * 100.0).round() / 100.0,
                    recognizer,
                    base_score: c.base,
                })
            })
            .collect()
    }
}

/// The words around a candidate's span, nearest first, within its
/// sentence: [`CONTEXT_WORDS_BEFORE`] before and [`CONTEXT_WORDS_AFTER`]
/// after it. Computed once per span and shared by every recognizer that
/// matched it, with the results of the (shared) ambiguity lists.
struct Near<'t> {
    span: (usize, usize),
    /// (context lists holding the word, the word).
    before: [(u128, &'t str); CONTEXT_WORDS_BEFORE],
    nb: usize,
    after: [(u128, &'t str); CONTEXT_WORDS_AFTER],
    na: usize,
}

impl<'t> Near<'t> {
    fn new(text: &'t str, s: usize, e: usize, index: &ContextIndex) -> Near<'t> {
        let lo = floor_boundary(text, s.saturating_sub(CONTEXT_BEFORE));
        let hi = ceil_boundary(text, e.saturating_add(CONTEXT_AFTER).min(text.len()));
        // The words near the match, nearest first, without allocating; one
        // pass each way that stops at the sentence's end (context stays
        // within the sentence) or when enough words are seen.
        let b = text.as_bytes();
        let mut near_before = [""; CONTEXT_WORDS_BEFORE];
        let mut nb = 0;
        let mut word_end = s;
        let mut stopped = false;
        // Backwards over the bytes; a non-ASCII character is decoded from
        // its first byte. The character found occupies `j..i`.
        let mut i = s;
        while i > lo {
            let mut j = i - 1;
            let c = if b[j] < 0x80 {
                char::from(b[j])
            } else {
                while j > lo && b[j] & 0xC0 == 0x80 {
                    j -= 1;
                }
                text[j..i].chars().next().unwrap_or(' ')
            };
            if !is_word_char(c) {
                if word_end > i {
                    near_before[nb] = &text[i..word_end];
                    nb += 1;
                    if nb == CONTEXT_WORDS_BEFORE {
                        break;
                    }
                }
                word_end = j;
                if matches!(c, '.' | '!' | '?' | '\n') && end_at(b, j) {
                    stopped = true;
                    break;
                }
            }
            i = j;
        }
        if !stopped && nb < CONTEXT_WORDS_BEFORE && word_end > lo {
            near_before[nb] = &text[lo..word_end];
            nb += 1;
        }
        let mut near_after = [""; CONTEXT_WORDS_AFTER];
        let mut na = 0;
        let mut word_start = e;
        for (i, c) in text[e..hi].char_indices() {
            let i = e + i;
            if is_word_char(c) {
                continue;
            }
            if i > word_start {
                near_after[na] = &text[word_start..i];
                na += 1;
                if na == CONTEXT_WORDS_AFTER {
                    break;
                }
            }
            word_start = i + c.len_utf8();
            if matches!(c, '.' | '!' | '?' | '\n') && (end_at(b, i) || i + 1 == b.len()) {
                word_start = hi;
                break;
            }
        }
        if na < CONTEXT_WORDS_AFTER && hi > word_start {
            near_after[na] = &text[word_start..hi];
            na += 1;
        }
        let mut before = [(0u128, ""); CONTEXT_WORDS_BEFORE];
        for (slot, w) in before.iter_mut().zip(&near_before[..nb]) {
            *slot = (index.lookup(w), w);
        }
        let mut after = [(0u128, ""); CONTEXT_WORDS_AFTER];
        for (slot, w) in after.iter_mut().zip(&near_after[..na]) {
            *slot = (index.lookup(w), w);
        }
        Near {
            span: (s, e),
            before,
            nb,
            after,
            na,
        }
    }
}

/// A letter or digit (`char::is_alphanumeric`), with the common cases
/// first: ASCII, Latin letters with accents, Cyrillic and Arabic letters,
/// CJK ideographs (all letters) and emoji (none are).
pub(crate) fn is_word_char(c: char) -> bool {
    match c {
        '\0'..='\x7f' => c.is_ascii_alphanumeric(),
        '\u{c0}'..='\u{24f}' => c != '\u{d7}' && c != '\u{f7}',
        '\u{410}'..='\u{44f}' | '\u{621}'..='\u{64a}' | '\u{4e00}'..='\u{9fff}' => true,
        '\u{1f300}'..='\u{1faff}' => false,
        _ => c.is_alphanumeric(),
    }
}

/// Whether a sentence ends at `b[i]`: a newline, or `.`/`!`/`?` followed by
/// a space and a word that does not start with a lower-case letter or a
/// digit, after a word that is not a common abbreviation ("passport no.
/// 123", "NHS no. is", "Dr. Patel" and "e.g. the" do not end a sentence).
fn end_at(b: &[u8], i: usize) -> bool {
    if b[i] == b'\n' {
        return true;
    }
    if !matches!(b[i], b'.' | b'!' | b'?')
        || b.get(i + 1) != Some(&b' ')
        || b.get(i + 2)
            .is_some_and(|n| n.is_ascii_lowercase() || n.is_ascii_digit())
    {
        return false;
    }
    if b[i] == b'.' {
        let word_start = b[..i]
            .iter()
            .rposition(|c| !(c.is_ascii_alphabetic() || *c == b'.'))
            .map_or(0, |p| p + 1);
        let word = &b[word_start..i];
        if ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(word)) {
            return false;
        }
    }
    true
}

/// Whether a text word matches a context word: case-insensitive, and a
/// context word of four or more bytes also matches as a prefix ("passports").
pub(crate) fn word_matches(word: &str, cw: &str) -> bool {
    // Context words are lower case: a cheap first-byte test rejects most.
    if word.as_bytes().first().map(u8::to_ascii_lowercase) != cw.as_bytes().first().copied() {
        return false;
    }
    if word.len() == cw.len() {
        return word.eq_ignore_ascii_case(cw);
    }
    cw.len() >= 4
        && word.len() > cw.len()
        && word.is_char_boundary(cw.len())
        && word[..cw.len()].eq_ignore_ascii_case(cw)
}

/// Where the local part of an e-mail address whose `@` is at `at` starts:
/// the scan goes back over local-part characters (at most
/// [`MAX_FINDING_LEN`] bytes), so an over-long local part is still found
/// whole (and then rejected or reported by the recognizer as a whole).
fn local_part_start(text: &str, at: usize) -> usize {
    let b = text.as_bytes();
    let stop = at.saturating_sub(MAX_FINDING_LEN);
    let mut i = at;
    while i > stop {
        let c = b[i - 1];
        if c.is_ascii_alphanumeric() || c >= 0x80 || b"!#$%&'*+/=?^_`{|}~.-".contains(&c) {
            i -= 1;
        } else {
            break;
        }
    }
    floor_boundary(text, i)
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
    fn word_boundaries_rewritten() {
        assert_eq!(
            ascii_word_boundaries(r"\bEMP-\d+\b"),
            r"(?-u:\b)EMP-\d+(?-u:\b)"
        );
        assert_eq!(ascii_word_boundaries(r"a\\b"), r"a\\b");
        assert_eq!(ascii_word_boundaries(r"\Bx\B"), r"(?-u:\B)x(?-u:\B)");
        assert_eq!(
            ascii_word_boundaries(r"\b{start}x\b{end-half}é\b{2}\"),
            r"(?-u:\b{start})x(?-u:\b{end-half})é(?-u:\b){2}\"
        );
        // `\B` is the ASCII one: "é" is not a word character, so "éX1" has a
        // boundary before X and "aX1" has none.
        let scanner = Scanner::builder()
            .entities([EntityType::custom("INNER").unwrap()])
            .recognizer(CustomRecognizer::new(
                EntityType::custom("INNER").unwrap(),
                r"\BX\d{3}\b",
                0.9,
            ))
            .build()
            .unwrap();
        assert_eq!(scanner.scan("aX123").len(), 1);
        assert!(scanner.scan("éX123 東X123").is_empty());
        let scanner = Scanner::builder()
            .entities([EntityType::custom("START").unwrap()])
            .recognizer(CustomRecognizer::new(
                EntityType::custom("START").unwrap(),
                r"\b{start}X\d{3}",
                0.9,
            ))
            .build()
            .unwrap();
        assert_eq!(scanner.scan("éX123").len(), 1);
    }

    #[test]
    fn word_chars_agree_with_the_standard_library() {
        for c in (0..0x2_0000).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), c.is_alphanumeric(), "{c:?}");
        }
    }

    #[test]
    fn sentence_ends() {
        let ends = |s: &str| (0..s.len()).filter(|&i| end_at(s.as_bytes(), i)).count();
        assert_eq!(ends("It rained. Then it stopped."), 1);
        assert_eq!(ends("passport no. 123 and NHS no. is"), 0);
        assert_eq!(ends("Dr. Patel, e.g. this, Mr. Smith"), 0);
        assert_eq!(ends("Done! Next? Yes\nnew line"), 3);
    }

    #[test]
    fn context_word_matching() {
        assert!(word_matches("Passports", "passport"));
        assert!(word_matches("SSN", "ssn"));
        assert!(!word_matches("ssns2", "ssn"));
        assert!(!word_matches("tel", "telephone"));
    }

    #[test]
    fn char_offsets_count_scalars() {
        let text = "é 😀 a@b.co";
        let f = vec![Finding::new(EntityType::EmailAddress, 8, 14, 1.0)];
        assert_eq!(char_offsets(text, &f), vec![(4, 10)]);
    }
}
