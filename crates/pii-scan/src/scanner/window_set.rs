//! The window set: which recognizers' set regexes match somewhere in a
//! candidate window, as a list in pattern order.
//!
//! One lazy DFA of every set regex reports every match (`MatchKind::All`),
//! as the pattern set of `regex-automata`'s meta regex did; driving it here
//! collects the patterns straight into a list as they are reported, instead
//! of filling a set of every pattern and then reading all of its slots
//! back (which cost more than the reports in PII-dense text). The DFA is
//! the one the meta regex builds for such a set (same patterns, same
//! match kind), so it explores the same states.
//!
//! Each pattern comes with the last position in the window where one of
//! its matches ends: every match of the pattern within the window ends
//! there or before, so its own search need not go further.
//!
//! The lazy DFA is configured so that it neither quits nor gives up; if a
//! search failed anyway, the window is searched with the meta regex's
//! pattern set (compiled then), which finds the same patterns (each with
//! the window's end as its last end).

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{Arc, OnceLock};

use super::CACHE_CAPACITY;

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::meta::Regex;
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet};

/// The lazy DFA caches, one per thread that scans.
type CachePool = Pool<Cache, Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe>>;

/// Which set regexes match in a window (see the module docs).
pub(super) struct WindowSet {
    /// Every set regex, all matches; `None` when it could not be built (the
    /// reporting search is then used).
    dfa: Option<(Arc<DFA>, CachePool)>,
    /// The set regexes, for the reporting search.
    sources: Vec<String>,
    syntax: syntax::Config,
    /// The reporting search, compiled when first needed.
    reporting: OnceLock<Result<Regex, String>>,
}

impl WindowSet {
    /// Builds the set of `sources` (one per recognizer). `Err` with the
    /// regex error when they do not compile together.
    pub(super) fn build(syntax: syntax::Config, sources: &[&str]) -> Result<WindowSet, String> {
        let dfa = DFA::builder()
            .syntax(syntax)
            .thompson(
                thompson::Config::new()
                    .which_captures(WhichCaptures::None)
                    .nfa_size_limit(Some(256 << 20)),
            )
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(CACHE_CAPACITY)
                    // Start states are told apart: the walk through a
                    // window may stop at one (see `walk`).
                    .specialize_start_states(true),
            )
            .build_many(sources)
            .ok()
            .map(|dfa| {
                let dfa = Arc::new(dfa);
                let for_pool = Arc::clone(&dfa);
                let create: Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe> =
                    Box::new(move || for_pool.create_cache());
                (dfa, Pool::new(create))
            });
        let set = WindowSet {
            dfa,
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
            syntax,
            reporting: OnceLock::new(),
        };
        if set.dfa.is_none() {
            // Its error is the one to give.
            set.reporting()?;
        }
        Ok(set)
    }

    /// Sets `matched` to the recognizers whose set regex matches within
    /// `text[ws..we]`, in ascending order, each with the last position
    /// where one of its matches in the window ends.
    ///
    /// `quiet_from`: a position from which on no match of any set regex
    /// starts in the window (the caller knows: see `search`), so that the
    /// search may stop once no match is under way there.
    pub(super) fn which(
        &self,
        text: &str,
        (ws, we): (usize, usize),
        quiet_from: Option<usize>,
        matched: &mut Vec<(usize, usize)>,
    ) {
        matched.clear();
        if let Some((dfa, caches)) = &self.dfa {
            let mut cache = caches.get();
            let quiet_from = quiet_from.unwrap_or(usize::MAX);
            if walk(dfa, &mut cache, text, (ws, we), quiet_from, matched).is_some() {
                matched.sort_unstable();
                return;
            }
            matched.clear();
        }
        if let Ok(set) = self.reporting() {
            let mut patset = PatternSet::new(self.sources.len());
            set.which_overlapping_matches(&Input::new(text).span(ws..we), &mut patset);
            matched.extend(patset.iter().map(|id| (id.as_usize(), we)));
        }
    }

    /// The reporting search (every match), compiled on first use.
    fn reporting(&self) -> Result<&Regex, String> {
        self.reporting
            .get_or_init(|| super::multi_regex(self.syntax, &self.sources, MatchKind::All))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Walks the all-matches DFA through `text[ws..we]`, then the byte after
/// it (or the end of the text) for look-ahead at the window's end, and
/// notes in `matched` every pattern of every match state it enters, with
/// the last position where that happens: entering a match state on the
/// byte at `at` means that each of its patterns has a match ending at
/// `at` (the lazy DFA reports matches one byte late), as the all-matches
/// search reports them one at a time. `None` if the search failed (which
/// the DFA's configuration rules out).
///
/// The walk stops early when, after the byte before `quiet_from` or a
/// later one, it is in a start state: no match is under way then, so any
/// further match would start there or later, and the caller knows that
/// none does.
fn walk(
    dfa: &DFA,
    cache: &mut Cache,
    text: &str,
    (ws, we): (usize, usize),
    quiet_from: usize,
    matched: &mut Vec<(usize, usize)>,
) -> Option<()> {
    let input = Input::new(text).span(ws..we);
    let hay = text.as_bytes();
    let mut sid = dfa.start_state_forward(cache, &input).ok()?;
    for at in ws..=we {
        sid = match hay.get(at) {
            Some(&byte) => dfa.next_state(cache, sid, byte),
            None => dfa.next_eoi_state(cache, sid),
        }
        .ok()?;
        if !sid.is_tagged() {
            continue;
        }
        if sid.is_match() {
            // Read now: a later transition may clear the cache.
            for i in 0..dfa.match_len(cache, sid) {
                let p = dfa.match_pattern(cache, sid, i).as_usize();
                match matched.iter_mut().find(|(q, _)| *q == p) {
                    Some(slot) => slot.1 = at,
                    None => matched.push((p, at)),
                }
            }
        } else if sid.is_start() {
            if at + 1 >= quiet_from {
                break;
            }
        } else if sid.is_dead() {
            break;
        } else if sid.is_quit() {
            return None;
        }
    }
    // (No `Cache::search_start`/`search_finish` bookkeeping: it serves only
    // `minimum_bytes_per_state`, which this DFA does not set.)
    Some(())
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::scanner::{Scanner, ceil_boundary, floor_boundary};
    use regex_automata::hybrid::dfa::OverlappingState;

    /// What the random texts are made of: PII values, words, characters
    /// PII is written with.
    const PIECES: &[&str] = &[
        "4111 1111 1111 1111",
        "(415) 555-0132",
        "+44 20 7946 0958",
        "536-90-4399",
        "jane.doe@example.com",
        "https://example.org/a?b=c",
        "192.168.10.20",
        "GB82 WEST 1234 5698 7654 32",
        "January 5, 2021",
        "00:1A:2B:3C:4D:5E",
        "7pm",
        "noon",
        "fe80::1",
        "2024-03-01T10:00Z",
        "12.03.2021",
        "AB123456C",
        "the",
        "café",
        "東京",
        "😀",
        " ",
        "-",
        ".",
        ":",
        "/",
        "@",
        "x",
        "Z",
        "0",
        "9",
        "\u{a0}",
        "\u{2010}",
        "\n",
        "ext. 12",
        "3rd of May",
        "Mai",
        "5. März 2021",
    ];

    /// A xorshift generator of numbers and of texts made of [`PIECES`].
    pub(in crate::scanner) struct Random(pub(in crate::scanner) u64);

    impl Random {
        /// A number below `m`.
        pub(in crate::scanner) fn below(&mut self, m: usize) -> usize {
            let x = &mut self.0;
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            usize::try_from(*x % u64::try_from(m).unwrap()).unwrap()
        }

        /// A text of one to `max` pieces, some followed by a space.
        pub(in crate::scanner) fn text(&mut self, max: usize) -> String {
            let mut text = String::new();
            for _ in 0..self.below(max) + 1 {
                text.push_str(PIECES[self.below(PIECES.len())]);
                if self.below(3) == 0 {
                    text.push(' ');
                }
            }
            text
        }
    }

    /// What `which` gives over a window (patterns with their last ends),
    /// the patterns the meta pattern set finds there, and the last end at
    /// which the all-matches search reports each pattern.
    type Found = (Vec<(usize, usize)>, Vec<usize>, Vec<(usize, usize)>);

    /// The [`Found`] of `text[ws..we]`.
    fn both(set: &WindowSet, text: &str, ws: usize, we: usize) -> Found {
        let mut listed = vec![(usize::MAX, 0)];
        set.which(text, (ws, we), None, &mut listed);
        let mut reported = PatternSet::new(set.sources.len());
        set.reporting()
            .unwrap()
            .which_overlapping_matches(&Input::new(text).span(ws..we), &mut reported);
        let (dfa, caches) = set.dfa.as_ref().unwrap();
        let mut cache = caches.get();
        let input = Input::new(text).span(ws..we);
        let mut state = OverlappingState::start();
        let mut ends: Vec<(usize, usize)> = Vec::new();
        loop {
            dfa.try_search_overlapping_fwd(&mut cache, &input, &mut state)
                .unwrap();
            let Some(m) = state.get_match() else { break };
            let p = m.pattern().as_usize();
            match ends.iter_mut().find(|(q, _)| *q == p) {
                Some(slot) => slot.1 = slot.1.max(m.offset()),
                None => ends.push((p, m.offset())),
            }
        }
        ends.sort_unstable();
        let reported = reported.iter().map(|id| id.as_usize()).collect();
        (listed, reported, ends)
    }

    /// Whether `which`'s list holds the patterns the pattern set finds,
    /// each with the last end the all-matches search reports.
    fn agree((listed, reported, ends): &Found) -> bool {
        listed.iter().map(|&(p, _)| p).eq(reported.iter().copied()) && listed == ends
    }

    /// The list finds the patterns that the meta regex's pattern set
    /// finds, on every built-in's set regex: random windows (ending inside
    /// the text and at its end) of random text made of the characters PII
    /// is written with, and of the bench's values.
    #[test]
    fn list_finds_what_the_pattern_set_finds() {
        let scanner = Scanner::new();
        let set = &scanner.set;
        assert!(set.dfa.is_some());
        let mut random = Random(0x2545_F491_4F6C_DD1D);
        let mut differ = Vec::new();
        let mut matched = 0;
        for _ in 0..400 {
            let text = random.text(24);
            for _ in 0..8 {
                let ws = floor_boundary(&text, random.below(text.len() + 1));
                let we = if random.below(4) == 0 {
                    text.len()
                } else {
                    ceil_boundary(&text, ws + random.below(text.len() - ws + 1))
                };
                let found = both(set, &text, ws, we);
                matched += usize::from(!found.1.is_empty());
                if !agree(&found) {
                    differ.push((text.clone(), ws, we, found));
                }
            }
        }
        assert!(differ.is_empty(), "{:?}", &differ[..differ.len().min(3)]);
        assert!(matched > 1000, "{matched}");
    }

    /// A clean window's search that stops once it is past the window's
    /// last locator match with no match under way finds what the whole
    /// search finds, with the same last ends: random texts, every window
    /// as the scanner makes it of one locator match whose next locator
    /// match starts after the window.
    #[test]
    fn stopping_after_the_last_locator_match_changes_nothing() {
        use crate::data::WINDOW;
        let scanner = Scanner::new();
        let mut random = Random(0x9E37_79B9_7F4A_7C15);
        let (mut windows, mut differ) = (0, Vec::new());
        for _ in 0..1000 {
            let text = random.text(30);
            let mut all = Vec::new();
            scanner.locator.find_all(&text, 0, &mut all);
            let located: Vec<(usize, usize)> = all.iter().map(|&(_, s, e)| (s, e)).collect();
            for (k, &(s, e)) in located.iter().enumerate() {
                let we = ceil_boundary(&text, (e + WINDOW).min(text.len()));
                if located.get(k + 1).is_some_and(|&(n, _)| n <= we) {
                    continue;
                }
                windows += 1;
                let (mut quick, mut whole) = (Vec::new(), Vec::new());
                scanner.set.which(&text, (s, we), Some(e), &mut quick);
                scanner.set.which(&text, (s, we), None, &mut whole);
                if quick != whole {
                    differ.push((text[s..we].to_owned(), quick, whole));
                }
            }
        }
        assert!(differ.is_empty(), "{:?}", &differ[..differ.len().min(3)]);
        assert!(windows > 800, "{windows}");
    }

    /// Every window of a short text, ending inside it and at its end (a
    /// match ending in `\b` at the window's end needs the byte after the
    /// window: "4111111111111111x" is no card).
    #[test]
    fn list_agrees_on_every_window_of_a_short_text() {
        let scanner = Scanner::new();
        for text in [
            "pay 4111111111111111x or 536-90-4399.",
            "a@b.co 7pm é 192.168.0.1",
        ] {
            let bounds: Vec<usize> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            for (k, &ws) in bounds.iter().enumerate() {
                for &we in &bounds[k..] {
                    let found = both(&scanner.set, text, ws, we);
                    assert!(agree(&found), "{:?}: {found:?}", &text[ws..we]);
                }
            }
        }
    }
}
