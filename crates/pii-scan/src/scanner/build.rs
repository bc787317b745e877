//! Building a scanner: the built-in and custom patterns compiled once
//! (each alone, the locator over all of them, and the pattern set), their
//! context words indexed, deny lists on Aho-Corasick.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

use aho_corasick::AhoCorasick;
use regex_automata::MatchKind;
use regex_automata::meta::Regex;
use regex_automata::util::syntax;

use super::Scanner;
use super::validation::Check;
use super::window_set::WindowSet;
use crate::context::{ContextIndex, ListId};
use crate::custom::CustomRecognizer;
use crate::data::DEFAULT_MIN_SCORE;
use crate::recognizers::{self, BUILTINS};
use crate::{EntityType, Error};

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
    /// The regex, when it was compiled already (a custom pattern, compiled
    /// for its error message).
    compiled: Option<Regex>,
}

/// A compiled pattern.
pub(super) struct Compiled {
    pub(super) name: Arc<str>,
    pub(super) entity: EntityType,
    /// A match passed a checksum or structural validator: ambiguity words
    /// cannot push it under [`VALIDATED_FLOOR`].
    pub(super) validated: bool,
    /// The locator finds the `@` of an e-mail address: the window starts at
    /// the beginning of the local part before it.
    pub(super) lookback: bool,
    /// The locator searches for this pattern's own regex (not a cheaper
    /// stand-in), so its matches are the pattern's matches.
    pub(super) own_locate: bool,
    /// The highest score the pattern's check gives before context words:
    /// below the scanner's minimum, a match is reported only with a
    /// supporting word near it, so the pattern is not even searched in a
    /// window that has none of its supporting words nearby.
    pub(super) max_score: f64,
    pub(super) regex: LazyPattern,
    pub(super) score: f64,
    pub(super) check: Check,
    /// Supporting words (their list in the scanner's context index).
    pub(super) support: ListId,
    /// Ambiguity words.
    pub(super) ambiguity: ListId,
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
        let syntax = syntax_config();
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
                compiled: None,
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
                compiled: None,
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
            // not the rewritten one. Kept: it is the recognizer's regex.
            let compiled = match one_builder().build(&src) {
                Ok(r) => r,
                Err(e) => {
                    return Err(Error::InvalidPattern {
                        recognizer: c.name.clone(),
                        message: crate::error::regex_error(&c.pattern, &e),
                    });
                }
            };
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
                compiled: Some(compiled),
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

        let phone_regions = Arc::new(crate::phone::Regions::new(match &self.phone_regions {
            Some(list) => crate::phone::regions(list)?,
            None => crate::phone::regions(crate::phone::DEFAULT_PHONE_REGIONS)?,
        }));
        let mut patterns = Vec::with_capacity(defs.len());
        let mut context_index = ContextIndex::default();
        for Def {
            name,
            compiled,
            entity,
            src,
            score,
            check,
            context,
            negative,
            validated,
            max_score,
            locate,
        } in &mut defs
        {
            patterns.push(Compiled {
                name: Arc::from(name.as_str()),
                entity: entity.clone(),
                validated: *validated,
                lookback: *entity == EntityType::EmailAddress && name == "email",
                own_locate: locate.is_empty(),
                max_score: *max_score,
                regex: LazyPattern::new(src, compiled.take()),
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
        let locator = super::locate::Locator::build(syntax, &sources).map_err(|message| {
            Error::InvalidPattern {
                recognizer: "(all patterns)".into(),
                message,
            }
        })?;
        let set = WindowSet::build(syntax, &sources).map_err(|message| Error::InvalidPattern {
            recognizer: "(all patterns)".into(),
            message,
        })?;
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

/// The syntax every pattern is compiled with.
fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(true).utf8(true)
}

/// The builder of one recognizer's pattern (leftmost-first, as the
/// locator).
fn one_builder() -> regex_automata::meta::Builder {
    let mut b = Regex::builder();
    b.syntax(syntax_config()).configure(
        Regex::config()
            .match_kind(MatchKind::LeftmostFirst)
            .auto_prefilter(false),
    );
    b
}

/// A recognizer's own regex, compiled when a window first needs it: most
/// scans run few of the recognizers (a window runs only those the pattern
/// set finds there), and compiling all of them up front was most of the
/// cost of building a scanner. The locator and the pattern set, which
/// every scan needs, are still compiled by [`ScannerBuilder::build`], and
/// they check every pattern's syntax; a test compiles each built-in
/// pattern alone.
pub(super) struct LazyPattern {
    src: Box<str>,
    /// The regex, and whether every match of it is non-empty.
    compiled: OnceLock<Option<(Regex, bool)>>,
}

impl LazyPattern {
    fn new(src: &str, compiled: Option<Regex>) -> LazyPattern {
        let cell = OnceLock::new();
        if let Some(r) = compiled {
            let _ = cell.set(Some((r, never_empty(src))));
        }
        LazyPattern {
            src: src.into(),
            compiled: cell,
        }
    }

    /// The compiled regex (`None` only if the pattern does not compile
    /// alone, which the tests rule out for the built-in ones; custom
    /// patterns are compiled when the scanner is built), and whether none
    /// of its matches is empty.
    pub(super) fn get(&self) -> Option<(&Regex, bool)> {
        self.compiled
            .get_or_init(|| {
                let regex = one_builder().build(&self.src).ok()?;
                Some((regex, never_empty(&self.src)))
            })
            .as_ref()
            .map(|(r, nonempty)| (r, *nonempty))
    }
}

/// Whether no match of the regex `src` is empty (as far as its syntax
/// tells: `false` when in doubt).
fn never_empty(src: &str) -> bool {
    syntax::parse_with(src, &syntax_config())
        .ok()
        .and_then(|hir| hir.properties().minimum_len())
        .is_some_and(|n| n > 0)
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
pub(super) fn ascii_word_boundaries(src: &str) -> String {
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
pub(super) struct DenyList {
    pub(super) ac: AhoCorasick,
    /// The entity (index into `entities`) of each value.
    pub(super) entity_of: Vec<usize>,
    /// Whether each value needs a word boundary before / after it.
    pub(super) bounds: Vec<(bool, bool)>,
    pub(super) entities: Vec<EntityType>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Building compiles the locator and the pattern set only: each
    /// recognizer's own regex waits for a window that needs it (building
    /// every one was most of a build's cost), and a scan compiles only
    /// those.
    #[test]
    fn build_compiles_no_recognizer_regex() {
        let scanner = Scanner::builder()
            .entities([EntityType::EmailAddress, EntityType::CreditCard])
            .build()
            .unwrap();
        let compiled = |s: &Scanner| {
            s.patterns
                .iter()
                .filter(|p| p.regex.compiled.get().is_some())
                .map(|p| p.name.to_string())
                .collect::<Vec<_>>()
        };
        assert!(compiled(&scanner).is_empty(), "{:?}", compiled(&scanner));
        // A window with an e-mail address searches with its regex (the
        // locator found only its `@`); nothing else is compiled.
        assert_eq!(scanner.scan("mail ann@example.com").len(), 1);
        assert_eq!(compiled(&scanner), ["email"]);
        // A custom pattern is compiled by the build (for its error).
        let id = EntityType::custom("EMPLOYEE_ID").unwrap();
        let scanner = Scanner::builder()
            .entities([id.clone()])
            .recognizer(CustomRecognizer::new(id, r"\bE\d{7}\b", 0.9))
            .build()
            .unwrap();
        assert_eq!(compiled(&scanner), ["custom-employee_id"]);
    }

    /// Every built-in pattern compiles alone (they are compiled lazily, on
    /// first use in a scan).
    #[test]
    fn every_builtin_pattern_compiles() {
        let scanner = Scanner::new();
        assert!(scanner.patterns.len() >= BUILTINS.len());
        for p in &scanner.patterns {
            assert!(p.regex.get().is_some(), "{}", p.name);
            assert!(
                p.regex.get().is_some_and(|(_, nonempty)| nonempty),
                "{}",
                p.name
            );
        }
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
}
