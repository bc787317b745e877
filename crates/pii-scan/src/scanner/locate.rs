//! The locator: where some recognizer may match, as the leftmost-first
//! matches of every recognizer's locator regex, in text order (exactly
//! what `regex-automata`'s meta regex over the same regexes reports with
//! `find_iter`).
//!
//! Walking the lazy DFA through the text is most of a scan of text with
//! little PII, and each step waits on the one before it (the next state is
//! read from the table at the current one). So text of [`SPLIT_MIN`] bytes
//! or more is walked in [`WALKS`] parts at once, in one loop: the steps of
//! the walks are independent, and the processor overlaps their reads. Each
//! part's walk starts fresh where the part begins; when the walk of the
//! part before gets there in the very state that walk started in, with no
//! match under way, the two searches go on identically from there, and the
//! earlier walk stops: its matches and the later one's are the whole
//! text's (the later walk's first match is given the earlier search's
//! beginning, down to which its start is looked for). When they do not
//! meet so (a match under way across the part's beginning), the earlier
//! walk goes on in the later one's place and the later one's matches are
//! dropped: the result is the same, only slower.
//!
//! Each match's start is then found as the meta regex finds it: a reverse
//! search, anchored at the match's end, down to where the search that found
//! the match began.
//!
//! A part begins where a walk is most likely between matches: after a
//! space that follows a letter, where a short walk begun a little earlier
//! is in the starting state.
//!
//! When the lazy DFA cannot do a search (it quits on a non-ASCII byte for a
//! custom pattern with a Unicode word boundary), the meta regex does it
//! all. When the lazy DFA's cache is cleared during the walks (the states
//! of the other walks go with it), the searches go on one after the other
//! from the first part not yet met.

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{Arc, OnceLock};

use regex_automata::hybrid::dfa::{self, DFA};
use regex_automata::hybrid::{LazyStateID, regex as hybrid_regex};
use regex_automata::meta::Regex;
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind};

use super::CACHE_CAPACITY;

/// One locator match: (pattern, start, end).
pub(super) type Located = (usize, usize, usize);

type CachePool = Pool<
    hybrid_regex::Cache,
    Box<dyn Fn() -> hybrid_regex::Cache + Send + Sync + UnwindSafe + RefUnwindSafe>,
>;

/// How many parts a long text is walked in at once.
const WALKS: usize = 4;

/// Text shorter than this is walked in one piece (splitting it gains
/// little). Fuzzing splits short texts too, so that the walks in parts are
/// fuzzed.
const SPLIT_MIN: usize = if cfg!(fuzzing) { 64 } else { 4096 };

/// How far past the middle the split point may be looked for (it goes
/// after a space that follows a letter, where a walk is usually between
/// matches).
const SPLIT_SEARCH: usize = 256;

/// Finds the locator's matches (see the module docs).
pub(super) struct Locator {
    /// Forward (leftmost-first) and reverse (all matches) lazy DFAs of the
    /// regexes; `None` when they did not build or when a regex may match
    /// the empty string or every match is anchored (the walks here handle
    /// neither).
    lazy: Option<(Arc<hybrid_regex::Regex>, CachePool)>,
    /// The meta regex of the same regexes, leftmost-first, for searches
    /// the lazy DFA cannot do: built with the locator when there may be
    /// some (no lazy DFA, or one that quits at a Unicode word boundary),
    /// otherwise should one fail all the same.
    meta: OnceLock<Option<Regex>>,
    syntax: syntax::Config,
    sources: Box<[String]>,
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
    /// The locator of `sources` (one per recognizer). `Err` with the meta
    /// regex's error when they do not compile together.
    pub(super) fn build(syntax: syntax::Config, sources: &[&str]) -> Result<Locator, String> {
        Locator::with_capacity(syntax, sources, CACHE_CAPACITY)
    }

    /// [`Locator::build`] with lazy DFA caches of `capacity` bytes.
    fn with_capacity(
        syntax: syntax::Config,
        sources: &[&str],
        capacity: usize,
    ) -> Result<Locator, String> {
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
        let cell = OnceLock::new();
        if quits {
            let _ = cell.set(Some(meta_regex(syntax, sources)?));
        }
        let lazy = lazy.map(|re| {
            let re = Arc::new(re);
            let for_pool = Arc::clone(&re);
            let create: Box<
                dyn Fn() -> hybrid_regex::Cache + Send + Sync + UnwindSafe + RefUnwindSafe,
            > = Box::new(move || for_pool.create_cache());
            (re, Pool::new(create))
        });
        Ok(Locator {
            lazy,
            meta: cell,
            syntax,
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// Sets `out` to the matches in `text` from `from` on, in order.
    pub(super) fn find_all(&self, text: &str, from: usize, out: &mut Vec<Located>) {
        self.find_all_split(text, from, SPLIT_MIN, out);
    }

    /// [`Locator::find_all`], walking text of `split_min` bytes or more in
    /// parts (the tests split short texts too).
    pub(super) fn find_all_split(
        &self,
        text: &str,
        from: usize,
        split_min: usize,
        out: &mut Vec<Located>,
    ) -> Walked {
        out.clear();
        if let Some((re, caches)) = &self.lazy {
            let mut cache = caches.get();
            if let Ok(walked) = lazy_find_all(re, &mut cache, text, from, split_min, out) {
                return walked;
            }
            out.clear();
        }
        let meta = self
            .meta
            .get_or_init(|| meta_regex(self.syntax, &self.sources).ok());
        if let Some(meta) = meta {
            out.extend(
                meta.find_iter(Input::new(text).range(from..))
                    .map(|m| (m.pattern().as_usize(), m.start(), m.end())),
            );
        }
        Walked::Meta
    }
}

/// The meta regex of `sources`, leftmost-first (as the scanner built its
/// locator before this module).
fn meta_regex<P: AsRef<str>>(syntax: syntax::Config, sources: &[P]) -> Result<Regex, String> {
    super::multi_regex(syntax, sources, MatchKind::LeftmostFirst)
}

/// How [`Locator::find_all_split`] found its matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Walked {
    /// One walk through the text.
    Alone,
    /// Walks in parts, each of which met the next part's walk.
    Met,
    /// Walks in parts, some of which did not meet the next part's walk
    /// (and went on in its place), or the searches one after the other
    /// after a cache clear.
    Apart,
    /// The meta regex.
    Meta,
}

/// The lazy DFAs' matches (see the module docs), into `out`: `Err` when
/// a search could not be done (the caller then uses the meta regex).
fn lazy_find_all(
    re: &hybrid_regex::Regex,
    cache: &mut hybrid_regex::Cache,
    text: &str,
    from: usize,
    split_min: usize,
    out: &mut Vec<Located>,
) -> Result<Walked, Failed> {
    let (fcache, rcache) = cache.as_parts_mut();
    let fwd = re.forward();
    // (pattern, where the search began, end) of each match; the start
    // replaces where its search began below, and the list becomes `out`.
    let mut ends: Vec<(usize, usize, usize)> = std::mem::take(out);
    ends.clear();
    let mut mids: Vec<usize> = Vec::new();
    if text.len() - from >= split_min {
        let part = (text.len() - from) / WALKS;
        for k in 1..WALKS {
            if let Some(mid) = split_point(fwd, fcache, text, from + k * part)
                && mid > mids.last().copied().unwrap_or(from)
            {
                mids.push(mid);
            }
        }
    }
    let walked = if mids.is_empty() {
        serial(fwd, fcache, text, from, &mut ends)?;
        Walked::Alone
    } else {
        walk_parts(fwd, fcache, text, from, &mids, &mut ends)?
    };
    let rev = re.reverse();
    for (_, lo, end) in &mut ends {
        let input = Input::new(text).span(*lo..*end).anchored(Anchored::Yes);
        if let Some(start) = rev.try_search_rev(rcache, &input).map_err(|_| Failed)? {
            *lo = start.offset();
        }
    }
    *out = ends;
    Ok(walked)
}

/// A split point at or after `at` (within [`SPLIT_SEARCH`] bytes): just
/// after a space that follows an ASCII letter, where a walk begun
/// [`PROBE`] bytes earlier is in the state a walk begun there starts in
/// (so that no match is likely to be under way there), among the first
/// [`PROBES`] such places; failing that, the first of them.
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
            .take(PROBES)
            .find(|&mid| quiet(fwd, cache, text, mid))
            .unwrap_or(first),
    )
}

/// How far back [`split_point`]'s short walk begins.
const PROBE: usize = 64;

/// How many places [`split_point`] tries (each a short walk).
const PROBES: usize = 4;

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

/// What became of a part's walk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Walking,
    /// It met the walk it was to meet (or reached the end of the text):
    /// its matches are final.
    Done,
    /// An earlier walk did not meet it: its matches are dropped.
    Dropped,
}

/// One part of the text and the walk through it.
struct Part {
    walk: Walk,
    /// Where the part begins, and the state its walk began in there.
    begin: usize,
    begin_sid: LazyStateID,
    /// The part whose beginning the walk is to reach (the number of parts
    /// for the end of the text).
    target: usize,
    ends: Vec<(usize, usize, usize)>,
    role: Role,
}

/// Walks the parts of the text that begin at `from` and at each of `mids`
/// at once (see the module docs), pushing every match to `ends` in order.
fn walk_parts(
    fwd: &DFA,
    cache: &mut dfa::Cache,
    text: &str,
    from: usize,
    mids: &[usize],
    ends: &mut Vec<(usize, usize, usize)>,
) -> Result<Walked, Failed> {
    let len = text.len();
    let mut parts: Vec<Part> = Vec::with_capacity(mids.len() + 1);
    for (k, &begin) in std::iter::once(&from).chain(mids).enumerate() {
        let walk = start(fwd, cache, text, begin)?;
        parts.push(Part {
            begin_sid: walk.sid,
            walk,
            begin,
            target: k + 1,
            // (Room for a match every 64 bytes, up to 65,536, so that the
            // list seldom moves; capacity never written costs no memory
            // pages.)
            ends: Vec::with_capacity((text.len() / WALKS / 64).min(1 << 16)),
            role: Role::Walking,
        });
    }
    let n = parts.len();
    let clears = cache.clear_count();
    let mut apart = false;
    loop {
        // Meetings, and parts passed for good.
        let mut walking = [0usize; WALKS];
        let mut k = 0;
        for j in 0..n {
            if parts[j].role != Role::Walking {
                continue;
            }
            while parts[j].target < n {
                let t = parts[j].target;
                if !(parts[j].walk.done || parts[j].walk.from > parts[t].begin) {
                    break;
                }
                // The walk is done, or its searches begin after part `t`'s
                // beginning: it never meets that part's walk, and goes on
                // in its place.
                parts[t].role = Role::Dropped;
                parts[t].ends.clear();
                parts[j].target = parts[t].target;
                apart = true;
            }
            if parts[j].walk.done {
                parts[j].role = Role::Done;
                continue;
            }
            let t = parts[j].target;
            if t < n && parts[j].walk.at == parts[t].begin {
                let w = &parts[j].walk;
                if w.sid == parts[t].begin_sid
                    && w.pending.is_none()
                    && cache.clear_count() == clears
                {
                    // Part `t`'s first search, which began at its
                    // beginning, is this walk's search, which began at
                    // `w.from`.
                    let lo = w.from;
                    match parts[t].ends.first_mut() {
                        Some(first) => first.1 = lo,
                        None => parts[t].walk.from = lo,
                    }
                    parts[j].role = Role::Done;
                    continue;
                }
                // They do not meet here: this walk reads on.
                let part = &mut parts[j];
                step(fwd, cache, text, &mut part.walk, &mut part.ends)?;
                if cache.clear_count() != clears {
                    return cleared(fwd, cache, text, parts, ends);
                }
                continue;
            }
            // Through tagged states (a match under way, a search's end, the
            // end of the text) one step at a time, with every check.
            let stop = parts_begin(&parts, t, len);
            loop {
                let w = &parts[j].walk;
                if w.done || (w.at == stop && stop < len) || !(w.sid.is_tagged() || w.at == len) {
                    break;
                }
                let part = &mut parts[j];
                step(fwd, cache, text, &mut part.walk, &mut part.ends)?;
                if cache.clear_count() != clears {
                    return cleared(fwd, cache, text, parts, ends);
                }
            }
            let w = &parts[j].walk;
            if !w.done && w.at != stop && !w.sid.is_tagged() {
                walking[k] = j;
                k += 1;
            }
        }
        if parts.iter().all(|p| p.role != Role::Walking) {
            break;
        }
        // The walks in untagged states: one table read each per byte, in
        // one loop, so that the reads overlap; each stops at the part it
        // is to meet (or, past it with a match under way, at the end).
        let mut lim = [len; WALKS];
        for (l, &j) in lim.iter_mut().zip(&walking[..k]) {
            let stop = parts_begin(&parts, parts[j].target, len);
            if parts[j].walk.at < stop {
                *l = stop;
            }
        }
        let tagged = match k {
            4 => fast::<4>(fwd, cache, text, &mut parts, walking, lim),
            3 => fast::<3>(fwd, cache, text, &mut parts, walking, lim),
            2 => fast::<2>(fwd, cache, text, &mut parts, walking, lim),
            1 => fast::<1>(fwd, cache, text, &mut parts, walking, lim),
            _ => None,
        };
        // The walk whose next state is tagged reads that byte with every
        // check (and goes on so while its states are tagged, above).
        if let Some(j) = tagged {
            let part = &mut parts[j];
            step(fwd, cache, text, &mut part.walk, &mut part.ends)?;
            if cache.clear_count() != clears {
                return cleared(fwd, cache, text, parts, ends);
            }
        }
    }
    for part in parts.iter_mut().filter(|p| p.role == Role::Done) {
        ends.append(&mut part.ends);
    }
    Ok(if apart { Walked::Apart } else { Walked::Met })
}

/// Where part `t` begins (the end of the text for `t` past the last).
fn parts_begin(parts: &[Part], t: usize, len: usize) -> usize {
    parts.get(t).map_or(len, |p| p.begin)
}

/// Steps the walks of parts `walking[..K]` (in untagged states) while all
/// are short of their limits, `K` table reads a step; the walks move
/// together (one count of steps, and all or none take each step). Returns
/// the part whose walk's next state is tagged, if that stopped them.
fn fast<const K: usize>(
    fwd: &DFA,
    cache: &dfa::Cache,
    text: &str,
    parts: &mut [Part],
    walking: [usize; WALKS],
    lim: [usize; WALKS],
) -> Option<usize> {
    let hay = text.as_bytes();
    let mut sid = [LazyStateID::default(); K];
    let mut steps = usize::MAX;
    let mut from = [0usize; K];
    for i in 0..K {
        let w = &parts[walking[i]].walk;
        sid[i] = w.sid;
        from[i] = w.at;
        steps = steps.min(lim[i].saturating_sub(w.at));
    }
    let bytes: [&[u8]; K] = std::array::from_fn(|i| &hay[from[i]..from[i] + steps]);
    let mut done = 0;
    let mut tagged = None;
    while done < steps {
        let mut next = sid;
        let mut any = false;
        for i in 0..K {
            next[i] = fwd.next_state_untagged(cache, sid[i], bytes[i][done]);
            any |= next[i].is_tagged();
        }
        if any {
            tagged = next.iter().position(|s| s.is_tagged()).map(|i| walking[i]);
            break;
        }
        sid = next;
        done += 1;
    }
    for i in 0..K {
        let w = &mut parts[walking[i]].walk;
        (w.sid, w.at) = (sid[i], from[i] + done);
    }
    tagged
}

/// After a cache clear (every walk's state but one is gone with it): the
/// matches of the parts met so far and of the first part still walking
/// stand; that part's current search begins again, and the searches go on
/// one after the other.
fn cleared(
    fwd: &DFA,
    cache: &mut dfa::Cache,
    text: &str,
    mut parts: Vec<Part>,
    ends: &mut Vec<(usize, usize, usize)>,
) -> Result<Walked, Failed> {
    for part in &mut parts {
        match part.role {
            Role::Done => ends.append(&mut part.ends),
            Role::Dropped => {}
            Role::Walking => {
                ends.append(&mut part.ends);
                serial(fwd, cache, text, part.walk.from, ends)?;
                break;
            }
        }
    }
    Ok(Walked::Apart)
}

/// The meta regex of the built-in recognizers' locator regexes, built once
/// (the fuzz target's reference).
#[cfg(any(test, fuzzing))]
fn builtin_meta() -> Result<&'static Regex, String> {
    static META: OnceLock<Result<Regex, String>> = OnceLock::new();
    META.get_or_init(|| {
        meta_regex(
            syntax::Config::new().unicode(true).utf8(true),
            &builtin_sources(),
        )
        .map_err(|e| format!("built-in locator regexes: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The built-in recognizers' locator regexes (each one's stand-in, or its
/// own regex), as the scanner builds its locator of them.
#[cfg(any(test, fuzzing))]
fn builtin_sources() -> Vec<String> {
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

/// For the fuzz target: the matches of a scanner of the built-in
/// recognizers' locator in `text`, walked in parts however short the text
/// (from its start and from a third of the way in), are the meta regex's.
///
/// # Errors
/// The first difference.
#[cfg(any(test, fuzzing))]
pub(crate) fn check_parts(scanner: &super::Scanner, text: &str) -> Result<(), String> {
    let meta = builtin_meta()?;
    let mut got = Vec::new();
    for from in [0, super::floor_boundary(text, text.len() / 3)] {
        scanner.locator.find_all_split(text, from, 0, &mut got);
        let want: Vec<Located> = meta
            .find_iter(Input::new(text).range(from..))
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect();
        if got != want {
            return Err(format!(
                "locator from {from}: {got:?}, meta regex: {want:?}"
            ));
        }
    }
    Ok(())
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
        meta_regex(syntax::Config::new().unicode(true).utf8(true), sources).unwrap()
    }

    /// A locator of `sources` as the scanner builds one, with caches of
    /// `capacity` bytes.
    fn locator(sources: &[&str], capacity: usize) -> Locator {
        let syntax = syntax::Config::new().unicode(true).utf8(true);
        Locator::with_capacity(syntax, sources, capacity).unwrap()
    }

    /// The meta regex's matches.
    fn reference(meta: &Regex, text: &str, from: usize) -> Vec<Located> {
        meta.find_iter(Input::new(text).range(from..))
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect()
    }

    /// The matches of random texts (PII values, words, separators), from
    /// random starting points, walked in parts however short: the meta
    /// regex's, in texts where every walk meets the next part's and in
    /// texts where some do not.
    #[test]
    fn walks_in_parts_find_what_the_meta_regex_finds() {
        let scanner = Scanner::new();
        let l = &scanner.locator;
        assert!(l.lazy.is_some() && l.meta.get().is_none());
        let meta = builtin_meta().unwrap();
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
            assert_eq!(got, reference(meta, &text, from), "{text:?} from {from}");
        }
        assert!(
            met > 500 && apart > 50 && found > 10_000,
            "{met} {apart} {found}"
        );
    }

    /// A match under way across the parts' beginnings (their walks begin
    /// inside it, and find shorter matches there): the first walk goes on
    /// in their place, and the match found is the meta regex's, from its
    /// true start.
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
        let mut sources = builtin_sources();
        let plain: Vec<&str> = sources.iter().map(String::as_str).collect();
        let (small, plain_meta) = (locator(&plain, SMALL_CACHE), meta(&plain));
        sources.push(r"\bcafé\b".to_owned());
        let unicode: Vec<&str> = sources.iter().map(String::as_str).collect();
        let (quits, unicode_meta) = (locator(&unicode, CACHE_CAPACITY), meta(&unicode));
        assert!(small.meta.get().is_none() && quits.meta.get().is_some_and(Option::is_some));
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
