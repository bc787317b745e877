//! The window set: which recognizers' set regexes match somewhere in a
//! candidate window.
//!
//! A multi-pattern search that reports every match (`MatchKind::All`)
//! answers this, but it stops at every (pattern, end) pair: a card number
//! holds a dozen ends of the phone stand-in alone, and each report costs a
//! call into the search. Here every pattern is compiled followed by
//! `(?s:.)*` into one lazy DFA: once a pattern has matched, its `.*`
//! thread stays alive to the window's end, so the DFA state at the end of
//! the window holds exactly the patterns that matched anywhere in it. The
//! window is walked byte by byte through the DFA's transitions, with no
//! report on the way, and the patterns are read off the last state.
//!
//! The lazy DFA is configured so that it neither quits nor gives up; if a
//! walk failed anyway, the window is searched with the reporting search
//! (compiled then), which finds the same patterns.

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{Arc, OnceLock};

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
    /// Every set regex followed by `(?s:.)*`, all matches; `None` when it
    /// could not be built (the reporting search is then used).
    walk: Option<(Arc<DFA>, CachePool)>,
    /// The set regexes, for the reporting search.
    sources: Vec<String>,
    syntax: syntax::Config,
    /// The reporting search, compiled when first needed.
    reporting: OnceLock<Result<Regex, String>>,
}

/// The lazy DFA's cache capacity (as the pattern set's before it).
const CACHE_CAPACITY: usize = 16 << 20;

impl WindowSet {
    /// Builds the set of `sources` (one per recognizer). `Err` with the
    /// regex error when they do not compile together.
    pub(super) fn build(syntax: syntax::Config, sources: &[&str]) -> Result<WindowSet, String> {
        let walked: Vec<String> = sources
            .iter()
            .map(|src| format!("(?:{src})(?s:.)*"))
            .collect();
        let walk = DFA::builder()
            .syntax(syntax)
            .thompson(
                thompson::Config::new()
                    .which_captures(WhichCaptures::None)
                    .nfa_size_limit(Some(256 << 20)),
            )
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(CACHE_CAPACITY),
            )
            .build_many(&walked)
            .ok()
            .map(|dfa| {
                let dfa = Arc::new(dfa);
                let for_pool = Arc::clone(&dfa);
                let create: Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe> =
                    Box::new(move || for_pool.create_cache());
                (dfa, Pool::new(create))
            });
        let set = WindowSet {
            walk,
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
            syntax,
            reporting: OnceLock::new(),
        };
        if set.walk.is_none() {
            // Its error is the one to give (the walk's DFA adds nothing
            // that could fail where it compiles).
            set.reporting()?;
        }
        Ok(set)
    }

    /// Sets `matched` to the recognizers whose set regex matches within
    /// `text[ws..we]`, in ascending order.
    pub(super) fn which(&self, text: &str, ws: usize, we: usize, matched: &mut Vec<usize>) {
        matched.clear();
        if let Some((dfa, caches)) = &self.walk {
            let mut cache = caches.get();
            if walk(dfa, &mut cache, text, ws, we, matched).is_some() {
                matched.sort_unstable();
                matched.dedup();
                return;
            }
            matched.clear();
        }
        if let Ok(set) = self.reporting() {
            let mut patset = PatternSet::new(self.sources.len());
            set.which_overlapping_matches(&Input::new(text).span(ws..we), &mut patset);
            matched.extend(patset.iter().map(|id| id.as_usize()));
        }
    }

    /// The reporting search (every match), compiled on first use.
    fn reporting(&self) -> Result<&Regex, String> {
        self.reporting
            .get_or_init(|| {
                Regex::builder()
                    .syntax(self.syntax)
                    .configure(
                        Regex::config()
                            .match_kind(MatchKind::All)
                            .nfa_size_limit(Some(256 << 20))
                            .hybrid_cache_capacity(CACHE_CAPACITY)
                            .dfa_size_limit(Some(64 << 20)),
                    )
                    .build_many(&self.sources)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Walks `text[ws..we]` through the DFA and adds the patterns of the state
/// after it (after the byte that follows the window, or the end of the
/// text: a DFA sees a match one byte late) to `matched`. `None` if the DFA
/// could not go on (which its configuration rules out).
fn walk(
    dfa: &DFA,
    cache: &mut Cache,
    text: &str,
    ws: usize,
    we: usize,
    matched: &mut Vec<usize>,
) -> Option<()> {
    let input = Input::new(text).span(ws..we);
    let mut sid = dfa.start_state_forward(cache, &input).ok()?;
    for &b in &text.as_bytes()[ws..we] {
        sid = dfa.next_state(cache, sid, b).ok()?;
        if sid.is_dead() || sid.is_quit() {
            // Neither happens in an unanchored search of this DFA.
            return None;
        }
    }
    sid = match text.as_bytes().get(we) {
        Some(&b) => dfa.next_state(cache, sid, b).ok()?,
        None => dfa.next_eoi_state(cache, sid).ok()?,
    };
    if sid.is_quit() {
        return None;
    }
    if sid.is_match() {
        for i in 0..dfa.match_len(cache, sid) {
            matched.push(dfa.match_pattern(cache, sid, i).as_usize());
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::scanner::{Scanner, ceil_boundary, floor_boundary};

    /// The patterns `which` finds, and those the reporting search finds.
    fn both(set: &WindowSet, text: &str, ws: usize, we: usize) -> (Vec<usize>, Vec<usize>) {
        let mut walked = vec![usize::MAX];
        set.which(text, ws, we, &mut walked);
        let mut reported = PatternSet::new(set.sources.len());
        set.reporting()
            .unwrap()
            .which_overlapping_matches(&Input::new(text).span(ws..we), &mut reported);
        (walked, reported.iter().map(|id| id.as_usize()).collect())
    }

    /// Walking a window through the DFA finds the patterns that the search
    /// reporting every match finds, on every built-in's set regex: random
    /// windows (ending inside the text and at its end) of random text made
    /// of the characters PII is written with, and of the bench's values.
    #[test]
    fn walk_finds_what_the_reporting_search_finds() {
        let scanner = Scanner::new();
        let set = &scanner.set;
        assert!(set.walk.is_some());
        let pieces = [
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
        let mut x = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = |m: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            usize::try_from(x % u64::try_from(m).unwrap()).unwrap()
        };
        let mut differ = Vec::new();
        let mut matched = 0;
        for _ in 0..400 {
            let mut text = String::new();
            for _ in 0..next(24) + 1 {
                text.push_str(pieces[next(pieces.len())]);
                if next(3) == 0 {
                    text.push(' ');
                }
            }
            for _ in 0..8 {
                let ws = floor_boundary(&text, next(text.len() + 1));
                let we = if next(4) == 0 {
                    text.len()
                } else {
                    ceil_boundary(&text, ws + next(text.len() - ws + 1))
                };
                let (walked, reported) = both(set, &text, ws, we);
                matched += usize::from(!reported.is_empty());
                if walked != reported {
                    differ.push((text.clone(), ws, we, walked, reported));
                }
            }
        }
        assert!(differ.is_empty(), "{:?}", &differ[..differ.len().min(3)]);
        assert!(matched > 1000, "{matched}");
    }

    /// Every window of a short text, ending inside it and at its end: a
    /// match ending in `\b` at the window's end needs the byte after the
    /// window ("4111111111111111x" is no card), which the walk reads as the
    /// search does.
    #[test]
    fn walk_agrees_on_every_window_of_a_short_text() {
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
                    let (walked, reported) = both(&scanner.set, text, ws, we);
                    assert_eq!(walked, reported, "{:?}", &text[ws..we]);
                }
            }
        }
    }
}
