//! The locator: where some recognizer may match, as the leftmost-first
//! matches of every recognizer's locator regex, in text order (exactly
//! what `regex-automata`'s meta regex over the same regexes reports with
//! `find_iter`).
//!
//! Walking the lazy DFA through the text is most of a scan of text with
//! little PII, and each step waits on the one before it (the next state is
//! read from the table at the current one). So text of [`PAIR_MIN`] bytes
//! or more is walked as two halves at once, in one loop: the steps of the
//! two walks are independent, and the processor overlaps them. The second
//! walk starts fresh at a point `mid` near the middle; when the first one
//! gets there in the very state the second one started in, with no match
//! under way, the two searches go on identically from there, and the first
//! one stops: its matches and the second one's are the whole text's. When
//! they do not meet so (a match under way across `mid`), the first walk
//! goes on alone to the end and the second one's matches are dropped: the
//! result is the same, only slower.
//!
//! Each match's start is then found as the meta regex finds it: a reverse
//! search, anchored at the match's end, down to where the search that found
//! the match began.
//!
//! The split point is chosen where a walk is most likely between matches:
//! after a space that follows a letter, where a short walk begun a little
//! earlier is in the starting state.
//!
//! When the lazy DFA cannot do a search (it quits on a non-ASCII byte for a
//! custom pattern with a Unicode word boundary), the meta regex does it
//! all. When its cache is cleared during the two walks (the state of the
//! walk that did not clear it is gone with it), the first walk goes on
//! alone.

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;

use regex_automata::hybrid::dfa::{self, DFA};
use regex_automata::hybrid::{LazyStateID, regex as hybrid_regex};
use regex_automata::meta::Regex;
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind};

/// One locator match: (pattern, start, end).
pub(super) type Located = (usize, usize, usize);

type CachePool = Pool<
    hybrid_regex::Cache,
    Box<dyn Fn() -> hybrid_regex::Cache + Send + Sync + UnwindSafe + RefUnwindSafe>,
>;

/// Text shorter than this is walked in one piece (splitting it gains
/// little). Fuzzing splits short texts too, so that the two walks are
/// fuzzed.
const PAIR_MIN: usize = if cfg!(fuzzing) { 64 } else { 4096 };

/// How far past the middle the split point may be looked for (it goes
/// after a space that follows a letter, where a walk is usually between
/// matches).
const SPLIT_SEARCH: usize = 256;

/// The lazy DFA caches' capacity (as the meta regex's).
const CACHE_CAPACITY: usize = 16 << 20;

/// Finds the locator's matches (see the module docs).
pub(super) struct Locator {
    /// Forward (leftmost-first) and reverse (all matches) lazy DFAs of the
    /// regexes; `None` when they did not build or when a regex may match
    /// the empty string or every match is anchored (the walks here handle
    /// neither).
    lazy: Option<(Arc<hybrid_regex::Regex>, CachePool)>,
    /// The meta regex of the same regexes, leftmost-first, for searches
    /// the lazy DFA cannot do: built only when there may be some (no lazy
    /// DFA, or one that quits at a Unicode word boundary).
    meta: Option<Regex>,
}
/// One forward search in progress.
struct Walk {
    sid: LazyStateID,
    /// The byte to read next.
    at: usize,
    /// Where the search began (the reverse search for a match's start goes
    /// down to here).
    from: usize,
    /// The last match seen (pattern, end) of a search still running.
    pending: Option<(usize, usize)>,
    done: bool,
}

/// A search the lazy DFA could not do.
struct Failed;

impl Locator {
    /// The locator of `sources` (one per recognizer); `meta` builds the
    /// meta regex of the same sources, leftmost-first (its error is the
    /// one returned).
    pub(super) fn build<E>(
        syntax: syntax::Config,
        sources: &[&str],
        meta: impl FnOnce() -> Result<Regex, E>,
    ) -> Result<Locator, E> {
        Locator::with_capacity(syntax, sources, meta, CACHE_CAPACITY)
    }

    /// [`Locator::build`] with lazy DFA caches of `capacity` bytes.
    fn with_capacity<E>(
        syntax: syntax::Config,
        sources: &[&str],
        meta: impl FnOnce() -> Result<Regex, E>,
        capacity: usize,
    ) -> Result<Locator, E> {
        let lazy = hybrid_regex::Regex::builder()
            .syntax(syntax)
            .thompson(thompson::Config::new().nfa_size_limit(Some(256 << 20)))
            .dfa(
                DFA::config()
                    .match_kind(MatchKind::LeftmostFirst)
                    .starts_for_each_pattern(true)
                    .unicode_word_boundary(true)
                    .cache_capacity(capacity),
            )
            .build_many(sources)
            .ok()
            .filter(|re| {
                let nfa = re.forward().get_nfa();
                !nfa.has_empty() && !nfa.is_always_start_anchored()
            });
        let quits = lazy.as_ref().is_none_or(|re| {
            re.forward()
                .get_nfa()
                .look_set_any()
                .contains_word_unicode()
        });
        let meta = if quits { Some(meta()?) } else { None };
        let lazy = lazy.map(|re| {
            let re = Arc::new(re);
            let for_pool = Arc::clone(&re);
            let create: Box<
                dyn Fn() -> hybrid_regex::Cache + Send + Sync + UnwindSafe + RefUnwindSafe,
            > = Box::new(move || for_pool.create_cache());
            (re, Pool::new(create))
        });
        Ok(Locator { lazy, meta })
    }

    /// Sets `out` to the matches in `text` from `from` on, in order.
    pub(super) fn find_all(&self, text: &str, from: usize, out: &mut Vec<Located>) {
        self.find_all_split(text, from, PAIR_MIN, out);
    }

    /// [`Locator::find_all`], walking text of `pair_min` bytes or more as
    /// two halves (the tests split small texts too).
    pub(super) fn find_all_split(
        &self,
        text: &str,
        from: usize,
        pair_min: usize,
        out: &mut Vec<Located>,
    ) -> Walked {
        out.clear();
        if let Some((re, caches)) = &self.lazy {
            let mut cache = caches.get();
            if let Ok(walked) = lazy_find_all(re, &mut cache, text, from, pair_min, out) {
                return walked;
            }
            out.clear();
        }
        // (With no meta regex, the lazy DFA never fails: see `build`.)
        if let Some(meta) = &self.meta {
            out.extend(
                meta.find_iter(Input::new(text).range(from..))
                    .map(|m| (m.pattern().as_usize(), m.start(), m.end())),
            );
        }
        Walked::Meta
    }
}

/// How [`Locator::find_all_split`] found its matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Walked {
    /// One walk through the text.
    Alone,
    /// Two walks, which met where the second one began.
    Met,
    /// Two walks that did not meet: the first one went on to the end.
    Apart,
    /// The meta regex.
    Meta,
}

fn lazy_find_all(
    re: &hybrid_regex::Regex,
    cache: &mut hybrid_regex::Cache,
    text: &str,
    from: usize,
    pair_min: usize,
    out: &mut Vec<Located>,
) -> Result<Walked, Failed> {
    let (fcache, rcache) = cache.as_parts_mut();
    let fwd = re.forward();
    // (pattern, where the search began, end) of each match.
    let mut ends: Vec<(usize, usize, usize)> = Vec::new();
    let mid = (text.len() - from >= pair_min)
        .then(|| split_point(fwd, fcache, text, from + (text.len() - from) / 2))
        .flatten();
    let a = start(fwd, fcache, text, from)?;
    let walked = match mid {
        Some(mid) => walk_pair(fwd, fcache, text, a, mid, &mut ends)?,
        None => {
            serial(fwd, fcache, text, a.from, &mut ends)?;
            Walked::Alone
        }
    };
    let rev = re.reverse();
    out.reserve(ends.len());
    for (pat, lo, end) in ends {
        let input = Input::new(text).span(lo..end).anchored(Anchored::Yes);
        let start = rev
            .try_search_rev(rcache, &input)
            .map_err(|_| Failed)?
            .map_or(lo, |h| h.offset());
        out.push((pat, start, end));
    }
    Ok(walked)
}

/// A split point at or after `at` (within [`SPLIT_SEARCH`] bytes): just
/// after a space that follows an ASCII letter, where a walk begun
/// [`PROBE`] bytes earlier is in the state a walk begun there starts in
/// (so that no match is likely to be under way there); failing that, the
/// first place after such a space.
fn split_point(fwd: &DFA, cache: &mut dfa::Cache, text: &str, at: usize) -> Option<usize> {
    let b = text.as_bytes();
    let end = (at + SPLIT_SEARCH).min(b.len());
    let mut spaces = (at.max(1)..end)
        .filter(|&i| b[i] == b' ' && b[i - 1].is_ascii_alphabetic())
        .map(|i| i + 1);
    let first = spaces.next()?;
    Some(
        std::iter::once(first)
            .chain(spaces)
            .find(|&mid| quiet(fwd, cache, text, mid))
            .unwrap_or(first),
    )
}

/// How far back [`split_point`]'s short walk begins.
const PROBE: usize = 64;

/// Whether a walk begun [`PROBE`] bytes before `mid` (at a character
/// boundary) is at `mid` in the state a walk begun there starts in,
/// having seen no match on the way.
fn quiet(fwd: &DFA, cache: &mut dfa::Cache, text: &str, mid: usize) -> bool {
    let from = super::floor_boundary(text, mid.saturating_sub(PROBE));
    let (Ok(mut sid), Ok(want)) = (
        fwd.start_state_forward(cache, &Input::new(text).range(from..)),
        fwd.start_state_forward(cache, &Input::new(text).range(mid..)),
    ) else {
        return false;
    };
    let clears = cache.clear_count();
    for &byte in &text.as_bytes()[from..mid] {
        match fwd.next_state(cache, sid, byte) {
            Ok(next) if !next.is_match() && !next.is_dead() && !next.is_quit() => sid = next,
            _ => return false,
        }
    }
    sid == want && cache.clear_count() == clears
}

/// A search beginning at `at`.
fn start(fwd: &DFA, cache: &mut dfa::Cache, text: &str, at: usize) -> Result<Walk, Failed> {
    let sid = fwd
        .start_state_forward(cache, &Input::new(text).range(at..))
        .map_err(|_| Failed)?;
    Ok(Walk {
        sid,
        at,
        from: at,
        pending: None,
        done: false,
    })
}

/// Reads the byte at `w.at` (or, at the end of the text, the end-of-input
/// transition), with every check: a match under way is noted; when the
/// search ends (dead state, or the end of the text), its match is pushed to
/// `ends` and a new search begins after it.
fn step(
    fwd: &DFA,
    cache: &mut dfa::Cache,
    text: &str,
    w: &mut Walk,
    ends: &mut Vec<(usize, usize, usize)>,
) -> Result<(), Failed> {
    let hay = text.as_bytes();
    let Some(&byte) = hay.get(w.at) else {
        let sid = fwd.next_eoi_state(cache, w.sid).map_err(|_| Failed)?;
        if sid.is_match() {
            w.pending = Some((fwd.match_pattern(cache, sid, 0).as_usize(), hay.len()));
        }
        match w.pending.take() {
            // A new search begins after the match (if it ended before the
            // end of the text).
            Some((pat, end)) => {
                ends.push((pat, w.from, end));
                *w = start(fwd, cache, text, end)?;
                w.done = end == hay.len();
            }
            None => w.done = true,
        }
        return Ok(());
    };
    let sid = fwd.next_state(cache, w.sid, byte).map_err(|_| Failed)?;
    w.sid = sid;
    if sid.is_tagged() {
        if sid.is_match() {
            w.pending = Some((fwd.match_pattern(cache, sid, 0).as_usize(), w.at));
        } else if sid.is_dead() {
            match w.pending.take() {
                Some((pat, end)) => {
                    ends.push((pat, w.from, end));
                    *w = start(fwd, cache, text, end)?;
                }
                None => w.done = true,
            }
            return Ok(());
        } else if sid.is_quit() {
            return Err(Failed);
        }
    }
    w.at += 1;
    Ok(())
}

/// The searches from `from` on, one after the other, by the lazy DFA's own
/// search (a walk that cannot meet another one goes on so, its current
/// search begun again: it finds the same matches).
fn serial(
    fwd: &DFA,
    cache: &mut dfa::Cache,
    text: &str,
    mut from: usize,
    ends: &mut Vec<(usize, usize, usize)>,
) -> Result<(), Failed> {
    while from < text.len() {
        let input = Input::new(text).range(from..);
        match fwd.try_search_fwd(cache, &input).map_err(|_| Failed)? {
            Some(m) => {
                ends.push((m.pattern().as_usize(), from, m.offset()));
                from = m.offset();
            }
            None => break,
        }
    }
    Ok(())
}

/// Runs `w` alone until it is done, or (when `stop` is before the end of
/// the text) until its next byte is at `stop`. A walk already past `stop`
/// goes on until it comes back to it (a new search that begins before it)
/// or is done.
fn walk_alone(
    fwd: &DFA,
    cache: &mut dfa::Cache,
    text: &str,
    w: &mut Walk,
    stop: usize,
    ends: &mut Vec<(usize, usize, usize)>,
) -> Result<(), Failed> {
    let hay = text.as_bytes();
    let len = hay.len();
    while !w.done {
        let lim = if w.at < stop { stop } else { len };
        // The common case: untagged states, one table read per byte.
        while w.at < lim && !w.sid.is_tagged() {
            let next = fwd.next_state_untagged(cache, w.sid, hay[w.at]);
            if next.is_tagged() {
                break;
            }
            w.sid = next;
            w.at += 1;
        }
        if w.at == stop && stop < len {
            return Ok(());
        }
        step(fwd, cache, text, w, ends)?;
    }
    Ok(())
}

/// Walks from `a` (the search from the scan's start) and from `mid` at
/// once (see the module docs), pushing every match to `ends` in order.
fn walk_pair(
    fwd: &DFA,
    cache: &mut dfa::Cache,
    text: &str,
    mut a: Walk,
    mid: usize,
    ends: &mut Vec<(usize, usize, usize)>,
) -> Result<Walked, Failed> {
    let hay = text.as_bytes();
    let len = hay.len();
    let mut b = start(fwd, cache, text, mid)?;
    let b_start = b.sid;
    let clears = cache.clear_count();
    let mut b_ends: Vec<(usize, usize, usize)> = Vec::new();
    loop {
        if a.at == mid && !a.done {
            // Where the second walk began: the first one stops if it is in
            // the same state there with no match under way.
            if a.sid == b_start && a.pending.is_none() && cache.clear_count() == clears {
                // The second walk's first search, which began at `mid`, is
                // the first walk's search, which began at `a.from`.
                match b_ends.first_mut() {
                    Some(first) => first.1 = a.from,
                    None => b.from = a.from,
                }
                break;
            }
            // They do not meet here: the first walk reads on.
            step(fwd, cache, text, &mut a, ends)?;
            if cache.clear_count() != clears {
                return serial(fwd, cache, text, a.from, ends).map(|()| Walked::Apart);
            }
            continue;
        }
        if a.done || a.from > mid {
            // The first walk is done, or its searches begin after `mid`:
            // the two never meet, and the first walk goes on alone.
            return serial(fwd, cache, text, a.from, ends).map(|()| Walked::Apart);
        }
        if b.done {
            walk_alone(fwd, cache, text, &mut a, mid, ends)?;
            continue;
        }
        let a_stop = if a.at < mid { mid } else { len };
        // Both walks in untagged states: one table read each per byte, in
        // one loop, so that the two reads overlap.
        while a.at < a_stop && b.at < len && !a.sid.is_tagged() && !b.sid.is_tagged() {
            let na = fwd.next_state_untagged(cache, a.sid, hay[a.at]);
            let nb = fwd.next_state_untagged(cache, b.sid, hay[b.at]);
            if na.is_tagged() || nb.is_tagged() {
                break;
            }
            a.sid = na;
            b.sid = nb;
            a.at += 1;
            b.at += 1;
        }
        if a.at != mid {
            step(fwd, cache, text, &mut a, ends)?;
            if cache.clear_count() != clears {
                // The second walk's state went with the cleared cache.
                return serial(fwd, cache, text, a.from, ends).map(|()| Walked::Apart);
            }
        }
        step(fwd, cache, text, &mut b, &mut b_ends)?;
        if cache.clear_count() != clears {
            // The first walk's state went with the cleared cache: its
            // current search begins again (it finds the same matches).
            return serial(fwd, cache, text, a.from, ends).map(|()| Walked::Apart);
        }
    }
    // The first walk has stopped at `mid`; the second one goes on to the end.
    walk_alone(fwd, cache, text, &mut b, len, &mut b_ends)?;
    ends.append(&mut b_ends);
    Ok(Walked::Met)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::scanner::window_set::tests::Random;
    use crate::scanner::{Scanner, floor_boundary};

    /// A cache capacity that the built-in regexes' lazy DFA fills (and
    /// clears) during the test.
    const SMALL_CACHE: usize = 1 << 20;

    /// The meta regex of `sources`, as the scanner builds it.
    fn meta(sources: &[&str]) -> Regex {
        Regex::builder()
            .syntax(syntax::Config::new().unicode(true).utf8(true))
            .configure(Regex::config().match_kind(MatchKind::LeftmostFirst))
            .build_many(sources)
            .unwrap()
    }

    /// A locator of `sources` as the scanner builds one, with caches of
    /// `capacity` bytes.
    fn locator(sources: &[&str], capacity: usize) -> Locator {
        let syntax = syntax::Config::new().unicode(true).utf8(true);
        Locator::with_capacity(syntax, sources, || Ok::<_, ()>(meta(sources)), capacity).unwrap()
    }

    /// The meta regex's matches.
    fn reference(meta: &Regex, text: &str, from: usize) -> Vec<Located> {
        meta.find_iter(Input::new(text).range(from..))
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect()
    }

    /// The built-in recognizers' locator regexes.
    fn builtins() -> Vec<String> {
        crate::recognizers::BUILTINS
            .iter()
            .map(|b| {
                crate::recognizers::expand(if b.locate.is_empty() {
                    b.regex
                } else {
                    b.locate
                })
            })
            .collect()
    }

    /// The matches of random texts (PII values, words, separators), from
    /// random starting points, walked as two halves: the meta regex's, in
    /// texts where the two walks meet and in texts where they do not.
    #[test]
    fn two_walks_find_what_the_meta_regex_finds() {
        let scanner = Scanner::new();
        let l = &scanner.locator;
        assert!(l.lazy.is_some() && l.meta.is_none());
        let sources = builtins();
        let meta = meta(&sources.iter().map(String::as_str).collect::<Vec<_>>());
        let mut random = Random(0x51_7C_C1_B7_27_22_0A_95);
        let (mut met, mut apart, mut found) = (0, 0, 0);
        let mut got = Vec::new();
        for _ in 0..3000 {
            let text = random.text(60);
            let from = floor_boundary(&text, random.below(text.len() / 4 + 1));
            let walked = l.find_all_split(&text, from, 0, &mut got);
            met += usize::from(walked == Walked::Met);
            apart += usize::from(walked == Walked::Apart);
            found += got.len();
            assert_eq!(got, reference(&meta, &text, from), "{text:?} from {from}");
        }
        assert!(
            met > 500 && apart > 50 && found > 10_000,
            "{met} {apart} {found}"
        );
    }

    /// A match under way across the split point (the second walk begins
    /// inside it, and finds a shorter match there): the first walk goes
    /// on, and the match found is the meta regex's, from its true start.
    #[test]
    fn a_match_under_way_across_the_split_is_found_whole() {
        let l = locator(&["(?:x )*y"], CACHE_CAPACITY);
        let meta = meta(&["(?:x )*y"]);
        let text = "a x x x x x x x x x x x x x x x x x x y b x y";
        let mut got = Vec::new();
        assert_eq!(l.find_all_split(text, 0, 0, &mut got), Walked::Apart);
        assert_eq!(got, vec![(0, 2, 39), (0, 42, 45)]);
        assert_eq!(got, reference(&meta, text, 0));
    }

    /// With caches so small that they are cleared during a walk, and with a
    /// Unicode word boundary on which the lazy DFA quits at a non-ASCII
    /// byte, the matches are still the meta regex's.
    #[test]
    fn cleared_caches_and_quitting_change_nothing() {
        let mut sources = builtins();
        let plain: Vec<&str> = sources.iter().map(String::as_str).collect();
        let (small, plain_meta) = (locator(&plain, SMALL_CACHE), meta(&plain));
        sources.push(r"\bcafé\b".to_owned());
        let unicode: Vec<&str> = sources.iter().map(String::as_str).collect();
        let (quits, unicode_meta) = (locator(&unicode, CACHE_CAPACITY), meta(&unicode));
        assert!(small.meta.is_none() && quits.meta.is_some());
        let mut random = Random(0x2545_F491_4F6C_DD1D);
        let mut got = Vec::new();
        let mut walked = Vec::new();
        for _ in 0..300 {
            let text = random.text(200);
            for (l, meta) in [(&small, &plain_meta), (&quits, &unicode_meta)] {
                walked.push(l.find_all_split(&text, 0, 0, &mut got));
                assert_eq!(got, reference(meta, &text, 0), "{text:?}");
            }
        }
        let cleared = small.lazy.as_ref().unwrap().1.get().forward().clear_count();
        assert!(cleared > 0, "{cleared}");
        assert!(walked.contains(&Walked::Meta), "{walked:?}");
    }
}
