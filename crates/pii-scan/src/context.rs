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

/// A set of byte pairs (and of single bytes).
struct StartBytes {
    pairs: [u64; 1024],
    singles: [u64; 4],
}

impl Default for StartBytes {
    fn default() -> Self {
        StartBytes {
            pairs: [0; 1024],
            singles: [0; 4],
        }
    }
}

impl StartBytes {
    fn insert(&mut self, word: &[u8]) {
        match *word {
            [] => {}
            [a] => self.singles[usize::from(a >> 6)] |= 1 << (a & 63),
            [a, b, ..] => {
                let k = usize::from(a) << 8 | usize::from(b);
                self.pairs[k >> 6] |= 1 << (k & 63);
            }
        }
    }

    /// Whether a context word may match `word` (lower case): one starting
    /// with its first two bytes, or equal to its one byte.
    fn may_match(&self, word: &[u8]) -> bool {
        match *word {
            [] => false,
            [a] => self.singles[usize::from(a >> 6)] & (1 << (a & 63)) != 0,
            [a, b, ..] => {
                let k = usize::from(a) << 8 | usize::from(b);
                self.pairs[k >> 6] & (1 << (k & 63)) != 0
            }
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
    /// The first two (lower-case) bytes of every context word (the first
    /// byte alone for one-byte words): most words of a text are rejected
    /// by this set before hashing.
    starts: Box<StartBytes>,
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
        let mut buf = [0u8; MAX_WORD];
        let lower = &mut buf[..b.len()];
        lower.copy_from_slice(b);
        lower.make_ascii_lowercase();
        if !self.starts.may_match(lower) {
            return 0;
        }
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
        let lo = crate::scanner::floor_boundary(text, start.saturating_sub(before));
        let hi = crate::scanner::ceil_boundary(text, end.saturating_add(after));
        let mut bits = 0;
        let mut word_start: Option<usize> = None;
        for (i, c) in text[lo..hi].char_indices() {
            let alnum = crate::scanner::is_word_char(c);
            match (alnum, word_start) {
                (true, None) => word_start = Some(lo + i),
                (false, Some(ws)) => {
                    bits |= self.lookup(&text[ws..lo + i]);
                    word_start = None;
                }
                _ => {}
            }
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
            let pos = |side: &[(u128, &str)]| {
                side.iter()
                    .position(|(_, t)| crate::scanner::word_matches(t, w))
            };
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
}
