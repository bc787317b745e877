//! Context words, indexed once when the scanner is built.
//!
//! Every recognizer has a list of supporting words and a list of ambiguity
//! words; many share a list. Each distinct list gets a bit, and one table
//! maps a (lower-case) word to the bits of the lists that hold it, so the
//! words around a span are looked up once per span, whatever the number of
//! recognizers that matched it. A text word matches a context word when
//! they are equal ignoring ASCII case, or when the context word has four or
//! more bytes and starts the text word ("passports" for "passport").

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::data::{
    ABBREVIATIONS, CONTEXT_AFTER, CONTEXT_BEFORE, CONTEXT_BOOST, CONTEXT_DISTANCE_STEP,
    CONTEXT_FLOOR, CONTEXT_WORDS_AFTER, CONTEXT_WORDS_BEFORE, NEGATIVE_PENALTY, VALIDATED_FLOOR,
};
use crate::scanner::{ceil_boundary, floor_boundary};

/// A small multiply-rotate hasher for short word keys (the table is built
/// from the scanner's own word lists, never from scanned text, so flooding
/// is not a concern); std's SipHash costs more than the rest of a lookup.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

type WordMap<V> = HashMap<Box<[u8]>, V, BuildHasherDefault<WordHasher>>;

/// Longest word looked up (no context word is longer).
const MAX_WORD: usize = 32;

/// A filter of the words a context word may match (lower-case bytes):
/// one- and two-byte context words exactly, longer ones by their first
/// three bytes (hashed into a bit set). A text word of three or more bytes
/// matches a context word only if their first three bytes agree (equal
/// words, or a context word of four or more bytes that starts the text
/// word), so most words of a text are rejected here, before they are
/// copied and hashed.
struct StartBytes {
    singles: [u64; 4],
    pairs: Box<[u64; 1024]>,
    triples: Box<[u64; 1024]>,
}

impl Default for StartBytes {
    fn default() -> Self {
        StartBytes {
            singles: [0; 4],
            pairs: Box::new([0; 1024]),
            triples: Box::new([0; 1024]),
        }
    }
}

/// A bit (0..65536) for a pair of bytes.
fn pair_bit(a: u8, b: u8) -> usize {
    usize::from(a) << 8 | usize::from(b)
}

/// A bit (0..65536) for three bytes (hashed).
fn triple_bit(a: u8, b: u8, c: u8) -> usize {
    let k = u32::from_le_bytes([a, b, c, 0]).wrapping_mul(0x9E37_79B1) >> 16;
    usize::try_from(k).unwrap_or(0)
}

fn set(bits: &mut [u64], k: usize) {
    bits[k >> 6] |= 1 << (k & 63);
}

fn has(bits: &[u64], k: usize) -> bool {
    bits[k >> 6] & (1 << (k & 63)) != 0
}

impl StartBytes {
    fn insert(&mut self, word: &[u8]) {
        match *word {
            [] => {}
            [a] => set(&mut self.singles, usize::from(a)),
            [a, b] => set(&mut self.pairs[..], pair_bit(a, b)),
            [a, b, c, ..] => set(&mut self.triples[..], triple_bit(a, b, c)),
        }
    }

    /// Whether a context word may match `word` (its lower-case bytes, at
    /// least its first three).
    fn may_match(&self, word: &[u8]) -> bool {
        match *word {
            [] => false,
            [a] => has(&self.singles, usize::from(a)),
            [a, b] => has(&self.pairs[..], pair_bit(a, b)),
            [a, b, c, ..] => has(&self.triples[..], triple_bit(a, b, c)),
        }
    }
}

/// The index of context lists.
#[derive(Default)]
pub(crate) struct ContextIndex {
    /// Distinct lists, by content; a list's position is its bit.
    lists: Vec<Vec<String>>,
    /// Whether list `i` holds an entry of several words.
    multi: Vec<bool>,
    exact: WordMap<u128>,
    /// The first (lower-case) bytes of every context word: most words of
    /// a text are rejected by this filter before hashing.
    starts: StartBytes,
    /// Context words of four or more bytes by their first four bytes, to
    /// find those that start a longer text word.
    prefix: WordMap<Vec<(Box<[u8]>, u128)>>,
}

/// Which list a recognizer uses: its bit in the index, or `None` for an
/// empty list.
pub(crate) type ListId = Option<u8>;

impl ContextIndex {
    /// Registers a list (lists of several-word entries are matched word by
    /// word: an entry matches when all its words are near, and counts at the
    /// distance of the farthest). Returns its id; `Err` when more than 128
    /// distinct lists exist.
    pub(crate) fn add<S: AsRef<str>>(&mut self, words: &[S]) -> Result<ListId, String> {
        if words.is_empty() {
            return Ok(None);
        }
        let list: Vec<String> = words.iter().map(|w| w.as_ref().to_lowercase()).collect();
        if let Some(i) = self.lists.iter().position(|l| *l == list) {
            return Ok(Some(u8::try_from(i).map_err(|e| e.to_string())?));
        }
        let id = self.lists.len();
        if id >= 128 {
            return Err("more than 128 distinct context-word lists".into());
        }
        let bit = 1u128 << id;
        for entry in &list {
            for w in entry.split_whitespace() {
                let key: Box<[u8]> = w.as_bytes().into();
                self.starts.insert(&key);
                *self.exact.entry(key.clone()).or_default() |= bit;
                if w.len() >= 4 {
                    let entries = self.prefix.entry(w.as_bytes()[..4].into()).or_default();
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, bits)) => *bits |= bit,
                        None => entries.push((key, bit)),
                    }
                }
            }
        }
        self.multi.push(list.iter().any(|e| e.contains(' ')));
        self.lists.push(list);
        Ok(Some(u8::try_from(id).map_err(|e| e.to_string())?))
    }

    /// The bits of the lists holding a word that `word` matches.
    pub(crate) fn lookup(&self, word: &str) -> u128 {
        let b = word.as_bytes();
        if b.is_empty() || b.len() > MAX_WORD {
            return 0;
        }
        // Most words of a text match no context word's first bytes:
        // reject them before copying and hashing.
        let head = [
            b[0].to_ascii_lowercase(),
            b.get(1).map_or(0, u8::to_ascii_lowercase),
            b.get(2).map_or(0, u8::to_ascii_lowercase),
        ];
        if !self.starts.may_match(&head[..b.len().min(3)]) {
            return 0;
        }
        let mut buf = [0u8; MAX_WORD];
        let lower = &mut buf[..b.len()];
        lower.copy_from_slice(b);
        lower.make_ascii_lowercase();
        let mut bits = self.exact.get(&*lower).copied().unwrap_or(0);
        if lower.len() > 4
            && let Some(entries) = self.prefix.get(&lower[..4])
        {
            for (cw, b) in entries {
                if lower.len() > cw.len() && lower.starts_with(cw) {
                    bits |= b;
                }
            }
        }
        bits
    }

    /// The lists that hold a word matched by some word of `text` from
    /// `before` bytes before `start` to `after` bytes after `end` (a cheap
    /// superset of what [`crate::scanner`]'s per-span context sees: no
    /// sentence or word-count limits).
    pub(crate) fn lists_near(
        &self,
        text: &str,
        start: usize,
        end: usize,
        before: usize,
        after: usize,
    ) -> u128 {
        let lo = floor_boundary(text, start.saturating_sub(before));
        let hi = ceil_boundary(text, end.saturating_add(after));
        let b = text.as_bytes();
        let mut bits = 0;
        let mut word_start: Option<usize> = None;
        let mut i = lo;
        while i < hi {
            // ASCII bytes directly; other characters decoded.
            let (alnum, len) = if b[i] < 0x80 {
                (b[i].is_ascii_alphanumeric(), 1)
            } else {
                let c = text[i..].chars().next().unwrap_or(' ');
                (is_word_char(c), c.len_utf8())
            };
            match (alnum, word_start) {
                (true, None) => word_start = Some(i),
                (false, Some(ws)) => {
                    bits |= self.lookup(&text[ws..i]);
                    word_start = None;
                }
                _ => {}
            }
            i += len;
        }
        if let Some(ws) = word_start {
            bits |= self.lookup(&text[ws..hi]);
        }
        bits
    }

    /// Distance (in words, nearest first) of the nearest entry of list `id`
    /// among words whose lookups are `near` (before the match, then, when
    /// `after` holds any, after it). `words` are the same words' texts, for
    /// entries of several words.
    pub(crate) fn distance(
        &self,
        id: ListId,
        before: &[(u128, &str)],
        after: &[(u128, &str)],
    ) -> Option<usize> {
        let id = id?;
        let bit = 1u128 << id;
        let list = &self.lists[usize::from(id)];
        let nearest = |side: &[(u128, &str)]| side.iter().position(|(m, _)| m & bit != 0);
        let single = match (nearest(before), nearest(after)) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        if !self.multi[usize::from(id)] {
            return single;
        }
        // Lists with entries of several words: each entry needs all its
        // words near; single-word entries as above.
        let word_distance = |w: &str| {
            let pos = |side: &[(u128, &str)]| side.iter().position(|(_, t)| word_matches(t, w));
            match (pos(before), pos(after)) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            }
        };
        list.iter()
            .filter_map(|e| {
                e.split_whitespace()
                    .try_fold(0usize, |acc, w| word_distance(w).map(|d| acc.max(d)))
            })
            .min()
    }
}

/// The words around a candidate's span, nearest first, within its
/// sentence: [`CONTEXT_WORDS_BEFORE`] before and [`CONTEXT_WORDS_AFTER`]
/// after it. Computed once per span and shared by every recognizer that
/// matched it, with the results of the (shared) ambiguity lists.
pub(crate) struct Near<'t> {
    pub(crate) span: (usize, usize),
    /// (context lists holding the word, the word).
    pub(crate) before: [(u128, &'t str); CONTEXT_WORDS_BEFORE],
    pub(crate) nb: usize,
    pub(crate) after: [(u128, &'t str); CONTEXT_WORDS_AFTER],
    pub(crate) na: usize,
}

impl<'t> Near<'t> {
    pub(crate) fn new(text: &'t str, s: usize, e: usize, index: &ContextIndex) -> Near<'t> {
        let lo = floor_boundary(text, s.saturating_sub(CONTEXT_BEFORE));
        let hi = ceil_boundary(text, e.saturating_add(CONTEXT_AFTER).min(text.len()));
        // The words near the match, nearest first, without allocating; one
        // pass each way that stops at the sentence's end (context stays
        // within the sentence) or when enough words are seen. ASCII letters
        // and digits, most of the bytes, are stepped over first; other
        // characters are decoded.
        let b = text.as_bytes();
        let mut before = [(0u128, ""); CONTEXT_WORDS_BEFORE];
        let mut nb = 0;
        let mut word_end = s;
        let mut stopped = false;
        // Backwards over the bytes; a non-ASCII character is decoded from
        // its first byte. The character found occupies `j..i`.
        let mut i = s;
        while i > lo {
            let byte = b[i - 1];
            if byte.is_ascii_alphanumeric() {
                i -= 1;
                continue;
            }
            let mut j = i - 1;
            if byte >= 0x80 {
                while j > lo && b[j] & 0xC0 == 0x80 {
                    j -= 1;
                }
                if is_word_char(decode(&b[j..i])) {
                    i = j;
                    continue;
                }
            }
            if word_end > i {
                let w = &text[i..word_end];
                before[nb] = (index.lookup(w), w);
                nb += 1;
                if nb == CONTEXT_WORDS_BEFORE {
                    break;
                }
            }
            word_end = j;
            if matches!(byte, b'.' | b'!' | b'?' | b'\n') && end_at(b, j) {
                stopped = true;
                break;
            }
            i = j;
        }
        if !stopped && nb < CONTEXT_WORDS_BEFORE && word_end > lo {
            let w = &text[lo..word_end];
            before[nb] = (index.lookup(w), w);
            nb += 1;
        }
        let mut after = [(0u128, ""); CONTEXT_WORDS_AFTER];
        let mut na = 0;
        let mut word_start = e;
        let mut i = e;
        while i < hi {
            let byte = b[i];
            if byte.is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let len = if byte < 0x80 {
                1
            } else {
                let c = text[i..].chars().next().unwrap_or(' ');
                if is_word_char(c) {
                    i += c.len_utf8();
                    continue;
                }
                c.len_utf8()
            };
            if i > word_start {
                let w = &text[word_start..i];
                after[na] = (index.lookup(w), w);
                na += 1;
                if na == CONTEXT_WORDS_AFTER {
                    break;
                }
            }
            word_start = i + len;
            if matches!(byte, b'.' | b'!' | b'?' | b'\n') && (end_at(b, i) || i + 1 == b.len()) {
                word_start = hi;
                break;
            }
            i += len;
        }
        if na < CONTEXT_WORDS_AFTER && hi > word_start {
            let w = &text[word_start..hi];
            after[na] = (index.lookup(w), w);
            na += 1;
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

/// The character whose UTF-8 encoding is `bytes` (taken from a `str`, so
/// valid), decoded without slicing the text again.
fn decode(bytes: &[u8]) -> char {
    let cont = |k: usize| u32::from(bytes[k] & 0x3F);
    let code = match *bytes {
        [b0] => u32::from(b0),
        [b0, _] => (u32::from(b0) & 0x1F) << 6 | cont(1),
        [b0, _, _] => (u32::from(b0) & 0x0F) << 12 | cont(1) << 6 | cont(2),
        [b0, _, _, _] => (u32::from(b0) & 0x07) << 18 | cont(1) << 12 | cont(2) << 6 | cont(3),
        _ => return ' ',
    };
    char::from_u32(code).unwrap_or(' ')
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
impl ContextIndex {
    /// Applies context words to a candidate's `score`: a supporting word
    /// (list `support`) lifts it, an ambiguity word before it (list
    /// `ambiguity`) lowers it, the nearer of the two deciding; a candidate
    /// that a validator confirmed is never lowered under
    /// [`VALIDATED_FLOOR`]. `near` holds the words around the candidate's
    /// span (shared by every recognizer that matched the same span).
    pub(crate) fn score(
        &self,
        near: &Near<'_>,
        score: f64,
        support: ListId,
        ambiguity: ListId,
        validated: bool,
    ) -> f64 {
        if support.is_none() && ambiguity.is_none() {
            return score;
        }
        let (before, after) = (&near.before[..near.nb], &near.after[..near.na]);
        let support = self.distance(support, before, after);
        // Ambiguity words count only before the match ("order 4111...").
        let ambiguous = self.distance(ambiguity, before, &[]);
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
            (None, true) if validated => (score - NEGATIVE_PENALTY).max(score.min(VALIDATED_FLOOR)),
            (None, true) => (score - NEGATIVE_PENALTY).max(0.0),
            _ => score,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lists_share_bits_and_prefixes_match() {
        let mut ix = ContextIndex::default();
        let a = ix.add(&["passport", "travel"]).unwrap();
        let b = ix.add(&["Passport", "travel"]).unwrap();
        let c = ix.add(&["order", "ref"]).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(ix.add::<&str>(&[]).unwrap(), None);
        let near = [
            (ix.lookup("the"), "the"),
            (ix.lookup("Passports"), "Passports"),
        ];
        assert_eq!(ix.distance(a, &near, &[]), Some(1));
        assert_eq!(ix.distance(c, &near, &[]), None);
        // Three-byte words match only whole.
        assert_eq!(ix.distance(c, &[(ix.lookup("refs"), "refs")], &[]), None);
        assert_eq!(ix.distance(c, &[(ix.lookup("REF"), "REF")], &[]), Some(0));
        let m = ix.add(&["social security", "ssn"]).unwrap();
        let near = [
            (ix.lookup("security"), "security"),
            (ix.lookup("social"), "social"),
        ];
        assert_eq!(ix.distance(m, &near, &[]), Some(1));
        assert_eq!(ix.distance(m, &near[..1], &[]), None);
    }

    /// The filter in front of the hash lookup never rejects a word that
    /// matches a context word: every context word of the built-in lists,
    /// in other cases, as a prefix of longer words, cut short, and common
    /// words, looked up against a brute-force match over all lists.
    #[test]
    fn lookup_filter_rejects_no_match() {
        let mut ix = ContextIndex::default();
        let mut lists: Vec<Vec<String>> = Vec::new();
        for b in crate::recognizers::BUILTINS {
            for words in [
                crate::data::context_words(&b.entity),
                crate::data::negative_words(&b.entity),
            ] {
                let list: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
                if let Some(id) = ix.add(&list).unwrap()
                    && usize::from(id) == lists.len()
                {
                    lists.push(list);
                }
            }
        }
        assert!(lists.len() > 10, "{}", lists.len());
        let brute = |w: &str| -> u128 {
            let mut bits = 0;
            for (i, list) in lists.iter().enumerate() {
                if list
                    .iter()
                    .flat_map(|e| e.split_whitespace())
                    .any(|cw| word_matches(w, cw))
                {
                    bits |= 1 << i;
                }
            }
            bits
        };
        let mut words: Vec<String> = Vec::new();
        for cw in lists.iter().flatten().flat_map(|e| e.split_whitespace()) {
            words.push(cw.to_owned());
            words.push(cw.to_ascii_uppercase());
            words.push(format!("{cw}s"));
            words.push(format!("{}X9", cw.to_ascii_uppercase()));
            let mut cut = cw.len().saturating_sub(1);
            while !cw.is_char_boundary(cut) {
                cut -= 1;
            }
            words.push(cw[..cut].to_owned());
        }
        for w in "the a to of and phone call my is no nr tel it ok 7pm über café".split(' ') {
            words.push(w.to_owned());
        }
        let mut matched = 0;
        for w in words
            .iter()
            .filter(|w| !w.is_empty() && w.len() <= MAX_WORD)
        {
            let want = brute(w);
            assert_eq!(ix.lookup(w), want, "{w:?}");
            matched += usize::from(want != 0);
        }
        assert!(matched > 100, "{matched}");
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
    fn decode_agrees_with_the_standard_library() {
        for c in (0..0x11_0000).step_by(7).filter_map(char::from_u32) {
            let mut buf = [0u8; 4];
            assert_eq!(decode(c.encode_utf8(&mut buf).as_bytes()), c);
        }
    }

    #[test]
    fn word_chars_agree_with_the_standard_library() {
        for c in (0..0x2_0000).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), c.is_alphanumeric(), "{c:?}");
        }
    }
}
