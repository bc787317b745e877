//! The crate's one error type.

use std::fmt;
use std::io;

/// Everything that can go wrong building a scanner, reading input or anonymizing.
///
/// Messages never contain scanned text, allow-list or deny-list values.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A recognizer's regular expression does not compile.
    InvalidPattern {
        /// The recognizer's name.
        recognizer: String,
        /// What the regex compiler said.
        message: String,
    },
    /// An entity name is not `UPPER_SNAKE_CASE`.
    InvalidEntityName {
        /// The offending name (at most 64 characters).
        name: String,
    },
    /// An encrypt token could not be decrypted.
    Decrypt {
        /// Why (never the token itself).
        reason: &'static str,
    },
    /// The operating system's random generator failed.
    Random(String),
    /// A custom entity was given the name of a built-in entity type.
    ReservedEntityName {
        /// The built-in name.
        name: String,
    },
    /// An entity was selected that no recognizer of this scanner produces.
    UnknownEntity {
        /// The entity's name.
        name: String,
    },
    /// A validator name is not one of [`Validator`](crate::Validator)'s names.
    UnknownValidator {
        /// The name given.
        name: String,
    },
    /// A score or threshold outside `0.0..=1.0` (or not a number).
    InvalidScore {
        /// Which setting.
        what: String,
    },
    /// An option has an unusable value (an empty deny list, a too-short key, ...).
    InvalidOption {
        /// Which option.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration file is malformed.
    Config {
        /// 1-based line of the offending item (0 when unknown).
        line: usize,
        /// The field or table concerned (empty when unknown).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A finding given to the anonymizer lies outside the text or splits a character.
    InvalidSpan {
        /// Start byte offset.
        start: usize,
        /// End byte offset.
        end: usize,
    },
    /// Anonymizing would leave a found value in the output, because an
    /// operator's replacement contains it (or spells it with its
    /// neighbours). Choose another operator for this entity.
    LeakingReplacement {
        /// The entity whose value would survive.
        entity: String,
    },
    /// The input is not UTF-8.
    InvalidUtf8 {
        /// Byte offset of the first invalid byte in the stream.
        offset: u64,
    },
    /// Reading the input failed.
    Io(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidPattern {
                recognizer,
                message,
            } => {
                write!(f, "recognizer `{recognizer}`: invalid pattern: {message}")
            }
            Error::InvalidEntityName { name } => {
                write!(
                    f,
                    "invalid entity name `{name}`: use UPPER_SNAKE_CASE (A-Z, 0-9, _)"
                )
            }
            Error::Decrypt { reason } => write!(f, "cannot decrypt: {reason}"),
            Error::Random(e) => write!(f, "the random generator failed: {e}"),
            Error::ReservedEntityName { name } => write!(
                f,
                "`{name}` is a built-in entity type; a custom entity needs a name of its own"
            ),
            Error::UnknownEntity { name } => {
                write!(f, "unknown entity `{name}`: no recognizer produces it")
            }
            Error::UnknownValidator { name } => write!(
                f,
                "unknown validator `{name}` (known: {})",
                crate::Validator::NAMES.join(", ")
            ),
            Error::InvalidScore { what } => {
                write!(f, "{what} must be a number between 0.0 and 1.0")
            }
            Error::InvalidOption { option, reason } => write!(f, "{option}: {reason}"),
            Error::Config {
                line,
                field,
                message,
            } => match (line, field.is_empty()) {
                (0, true) => write!(f, "config: {message}"),
                (0, false) => write!(f, "config: field `{field}`: {message}"),
                (l, true) => write!(f, "config line {l}: {message}"),
                (l, false) => write!(f, "config line {l}: field `{field}`: {message}"),
            },
            Error::InvalidSpan { start, end } => {
                write!(
                    f,
                    "finding {start}..{end} is outside the text or not on character boundaries"
                )
            }
            Error::LeakingReplacement { entity } => write!(
                f,
                "anonymizing would leave a found `{entity}` value in the output \
                 (an operator's replacement contains it); use another operator"
            ),
            Error::InvalidUtf8 { offset } => {
                write!(f, "input is not valid UTF-8 (at byte {offset})")
            }
            Error::Io(e) => write!(f, "read failed: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// What is wrong with `pattern`, for error messages: the pattern (at most 100
/// characters of it) and the regex compiler's own explanation, on one line,
/// for example ``"`EMP-(\d{6}`: unclosed group"``.
pub(crate) fn regex_error(pattern: &str, e: &regex_automata::meta::BuildError) -> String {
    let mut shown: String = pattern.chars().take(100).collect();
    if shown.len() < pattern.len() {
        shown.push('…');
    }
    let why = if let Some(limit) = e.size_limit() {
        format!("the compiled pattern is larger than the limit of {limit} bytes")
    } else if let Some(syntax) = e.syntax_error() {
        // regex-syntax's message draws the pattern with a caret over several
        // lines and ends with the line `error: <what>`.
        let text = syntax.to_string();
        text.lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .map_or_else(|| text.replace('\n', " "), str::to_owned)
    } else {
        let mut why = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            why.push_str(": ");
            why.push_str(&s.to_string());
            source = s.source();
        }
        why
    };
    // Control characters (a newline in a pattern) are escaped; the rest of
    // the pattern is shown as written.
    let shown: String = shown
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    format!("`{shown}`: {why}")
}
